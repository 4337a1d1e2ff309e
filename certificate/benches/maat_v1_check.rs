//! Cost of the `maat-v1` checker on a certificate equivalent to vector 002 (7 evidence
//! objects, the same 5 predicates, the standard derivation) signed by 7 registered identities,
//! once with Ed25519 keys and once with ML-DSA-65 keys.
//!
//! Target: (a) the full check, parsing included, costs at most 1.3x (b) verifying the 7
//! evidence signatures alone (pre-decoded keys and signatures).

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use maat_certificate::json::{self, Object, ParseMode, Value};
use maat_certificate::maat_v1::{
    CertificateBuilder, CheckContext, EVIDENCE_SIGNATURE_DOMAIN, EvidenceItem, InMemoryRegistry,
    Request, SignerRule, check, parse_certificate,
};
use maat_crypto::sig::{Algorithm, KeyPair, PublicKey, Signature};

const T: f64 = 1_700_000_100.0;

const POLICY_002: &str = r#"{"policy_id":"checkout-prod","version":1,"environment":"production","rule_set_id":"pod-v1","freshness_seconds":{"human_attestation":3600.0,"scan_report":3600.0},"predicates":[{"name":"test_passed","params":{"suite":"unit"}},{"name":"vuln_count","params":{"severity":"critical","operator":"<=","threshold":0}},{"name":"environment_matches","params":{"target":"production"}},{"name":"rollback_defined","params":{"service":"checkout"}},{"name":"human_attested","params":{"role":"release-manager"}}]}"#;

/// `(evidence_id, type, value, source, dependencies, signer, roles of the signer)`.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
);

const EVIDENCE: [Row; 7] = [
    (
        "artifact",
        "build_artifact",
        r#"{"deployment_id":"deploy-123","artifact_hash":"sha256:artifact"}"#,
        "builder",
        &["commit"],
        "builder",
        &[],
    ),
    (
        "commit",
        "commit_snapshot",
        r#"{"deployment_id":"deploy-123","commit_sha":"abc123"}"#,
        "git",
        &[],
        "git-bot",
        &[],
    ),
    (
        "env",
        "environment_descriptor",
        r#"{"deployment_id":"deploy-123","environment":"production"}"#,
        "cluster",
        &[],
        "cluster",
        &[],
    ),
    (
        "human",
        "human_attestation",
        r#"{"deployment_id":"deploy-123","role":"release-manager","approved":true}"#,
        "approvals",
        &[],
        "alice",
        &["release-manager"],
    ),
    (
        "rollback",
        "rollback_spec",
        r#"{"deployment_id":"deploy-123","service":"checkout","rollback_plan":"restore previous image"}"#,
        "deploy-plan",
        &[],
        "deployer",
        &[],
    ),
    (
        "scan",
        "scan_report",
        r#"{"deployment_id":"deploy-123","vulnerabilities":{"critical":0,"high":1}}"#,
        "scanner",
        &["artifact"],
        "scanner",
        &[],
    ),
    (
        "test",
        "test_result",
        r#"{"deployment_id":"deploy-123","suite":"unit","passed":true}"#,
        "pytest",
        &["artifact"],
        "ci",
        &[],
    ),
];

fn object(text: &str) -> Object {
    match json::parse(text.as_bytes(), ParseMode::Strict) {
        Ok(Value::Object(o)) => o,
        other => panic!("not an object: {other:?}"),
    }
}

/// The certificate bytes and a registry that knows its 7 signers and the policy.
fn fixture(alg: Algorithm) -> (Vec<u8>, InMemoryRegistry) {
    let request = Request {
        deployment_id: "deploy-123".into(),
        service: "checkout".into(),
        environment: "production".into(),
        commit_sha: "abc123".into(),
        artifact_hash: "sha256:artifact".into(),
        requested_by: "agent:planner".into(),
    };
    let mut builder =
        CertificateBuilder::from_policy_json(request, POLICY_002.as_bytes()).expect("policy");
    let mut registry = InMemoryRegistry::new();
    let mut rules = HashMap::new();
    for (n, (id, ty, value, source, deps, signer, roles)) in EVIDENCE.into_iter().enumerate() {
        let kp = KeyPair::from_seed(alg, &[u8::try_from(n + 1).expect("small"); 32]);
        registry.add_identity(signer, kp.public(), roles);
        rules.insert(ty.to_owned(), SignerRule::identities([signer]));
        let item =
            EvidenceItem::new(id, ty, object(value), source, T).depends_on(deps.iter().copied());
        builder.add_evidence(item, signer, &kp).expect("signs");
    }
    registry
        .add_policy_json("checkout", "production", POLICY_002.as_bytes(), rules)
        .expect("policy");
    (builder.build(), registry)
}

fn bench(c: &mut Criterion) {
    let ctx = CheckContext::at(T);
    for (alg, name) in [
        (Algorithm::Ed25519, "ed25519"),
        (Algorithm::MlDsa65, "mldsa65"),
    ] {
        let (cert, registry) = fixture(alg);
        let report = check(&cert, &registry, &ctx);
        assert!(report.accepted, "{:?}", report.failures);

        // (b): the 7 signatures, keys and signatures already decoded.
        let parsed = parse_certificate(&cert).expect("parses");
        let sigs: Vec<(PublicKey, Signature, String)> = parsed
            .evidence
            .iter()
            .map(|o| {
                let n = EVIDENCE
                    .iter()
                    .position(|e| e.0 == o.evidence_id)
                    .expect("known id");
                let kp = KeyPair::from_seed(alg, &[u8::try_from(n + 1).expect("small"); 32]);
                (
                    kp.public(),
                    Signature::from_text(&o.signature).expect("sig"),
                    o.hash.clone(),
                )
            })
            .collect();

        let mut g = c.benchmark_group(format!("maat_v1/{name}"));
        g.bench_function("a_full_check", |b| {
            b.iter(|| check(black_box(&cert), &registry, &ctx))
        });
        g.bench_function("b_verify_7_signatures", |b| {
            b.iter(|| {
                for (pk, sig, hash) in &sigs {
                    let ok = pk.verify(EVIDENCE_SIGNATURE_DOMAIN, black_box(hash.as_bytes()), sig);
                    assert!(ok.is_ok());
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
