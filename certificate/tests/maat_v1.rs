//! `maat-v1` (CERTIFICATE.md section 10): a valid certificate is accepted under Ed25519,
//! ML-DSA-65 and mixed signers; every weakness of section 9 has a test named after it showing
//! the rejection; registry, parsing and size-limit rejections; digests against values computed
//! independently (Python `json.dumps(sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)` + SHA-256, and the reference vector 002).

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use maat_certificate::Report;
use maat_certificate::json::{self, Object, ParseMode, Value};
use maat_certificate::maat_v1::{
    CertificateBuilder, CheckContext, EvidenceItem, InMemoryRegistry, Proof, ProofStep, Request,
    SignerRule, check, parse_certificate, sign_evidence,
};
use maat_certificate::report::Component;
use maat_crypto::sig::{Algorithm, KeyPair, PublicKey, Signature};
use sha2::Sha256;

const T: f64 = 1_700_000_100.0;

/// An edit of the certificate as generic JSON.
type JsonEdit = Box<dyn Fn(&mut serde_json::Value)>;

/// The policy of reference vector 002 (float freshness), as the vector writes it.
const POLICY_002: &str = r#"{"policy_id": "checkout-prod", "version": 1, "environment": "production", "rule_set_id": "pod-v1", "freshness_seconds": {"human_attestation": 3600.0, "scan_report": 3600.0}, "predicates": [{"name": "test_passed", "params": {"suite": "unit"}}, {"name": "vuln_count", "params": {"severity": "critical", "operator": "<=", "threshold": 0}}, {"name": "environment_matches", "params": {"target": "production"}}, {"name": "rollback_defined", "params": {"service": "checkout"}}, {"name": "human_attested", "params": {"role": "release-manager"}}]}"#;

/// Identities of the fixture and their roles, in signing order.
const IDENTITIES: [(&str, &[&str]); 7] = [
    ("git-bot", &[]),
    ("builder", &[]),
    ("cluster", &[]),
    ("ci", &[]),
    ("scanner", &[]),
    ("alice", &["release-manager"]),
    ("deployer", &[]),
];

fn obj(text: &str) -> Object {
    match json::parse(text.as_bytes(), ParseMode::Strict) {
        Ok(Value::Object(o)) => o,
        other => panic!("test JSON is not an object: {other:?}"),
    }
}

fn seed(i: usize) -> [u8; 32] {
    [u8::try_from(i + 1).unwrap_or(255); 32]
}

fn signer_rules() -> HashMap<String, SignerRule> {
    let mut m = HashMap::new();
    let ids = |s: &str| SignerRule::identities([s]);
    m.insert("commit_snapshot".to_owned(), ids("git-bot"));
    m.insert("build_artifact".to_owned(), ids("builder"));
    m.insert("environment_descriptor".to_owned(), ids("cluster"));
    m.insert("test_result".to_owned(), ids("ci"));
    m.insert("scan_report".to_owned(), ids("scanner"));
    m.insert(
        "human_attestation".to_owned(),
        SignerRule::roles(["release-manager"]),
    );
    m.insert("rollback_spec".to_owned(), ids("deployer"));
    m.insert("rollout_spec".to_owned(), ids("deployer"));
    m
}

struct Fx {
    keys: HashMap<&'static str, KeyPair>,
    registry: InMemoryRegistry,
}

impl Fx {
    /// Identities with keys of `alg(i)`, the vector-002 policy registered for
    /// `(checkout, production)`.
    fn new(alg: impl Fn(usize) -> Algorithm) -> Fx {
        let mut keys = HashMap::new();
        let mut registry = InMemoryRegistry::new();
        for (i, (id, roles)) in IDENTITIES.iter().enumerate() {
            let kp = KeyPair::from_seed(alg(i), &seed(i));
            registry.add_identity(id, kp.public(), roles);
            keys.insert(*id, kp);
        }
        let mut fx = Fx { keys, registry };
        fx.register(POLICY_002);
        fx
    }

    fn ed25519() -> Fx {
        Fx::new(|_| Algorithm::Ed25519)
    }

    fn register(&mut self, policy: &str) {
        self.register_with(policy, signer_rules());
    }

    fn register_with(&mut self, policy: &str, rules: HashMap<String, SignerRule>) {
        let r = self
            .registry
            .add_policy_json("checkout", "production", policy.as_bytes(), rules);
        assert!(r.is_ok(), "fixture policy must parse: {r:?}");
    }

    fn key(&self, id: &str) -> &KeyPair {
        self.keys
            .get(id)
            .unwrap_or_else(|| panic!("no fixture key {id}"))
    }

    fn build(
        &self,
        policy: &str,
        items: Vec<(EvidenceItem, &str)>,
        proof: Option<Proof>,
    ) -> Vec<u8> {
        let mut b = CertificateBuilder::from_policy_json(request(), policy.as_bytes())
            .unwrap_or_else(|e| panic!("policy: {e}"));
        for (item, signer) in items {
            let key_owner = signer;
            let kp = self.key(key_owner);
            b.add_evidence(item, signer, kp)
                .unwrap_or_else(|e| panic!("evidence: {e}"));
        }
        if let Some(p) = proof {
            b.proof(p);
        }
        b.build()
    }

    fn valid(&self) -> Vec<u8> {
        self.build(POLICY_002, items(), None)
    }

    fn check(&self, bytes: &[u8]) -> Report {
        check(bytes, &self.registry, &CheckContext::at(T))
    }
}

fn request() -> Request {
    Request {
        deployment_id: "deploy-123".into(),
        service: "checkout".into(),
        environment: "production".into(),
        commit_sha: "abc123".into(),
        artifact_hash: "sha256:artifact".into(),
        requested_by: "agent:planner".into(),
    }
}

fn item(id: &str, ty: &str, value: &str, source: &str, deps: &[&str]) -> EvidenceItem {
    EvidenceItem::new(id, ty, obj(value), source, T).depends_on(deps.iter().copied())
}

/// The seven evidence objects of vector 002, each with its authorised signer.
fn items() -> Vec<(EvidenceItem, &'static str)> {
    vec![
        (
            item(
                "artifact",
                "build_artifact",
                r#"{"deployment_id":"deploy-123","artifact_hash":"sha256:artifact"}"#,
                "builder",
                &["commit"],
            ),
            "builder",
        ),
        (
            item(
                "commit",
                "commit_snapshot",
                r#"{"deployment_id":"deploy-123","commit_sha":"abc123"}"#,
                "git",
                &[],
            ),
            "git-bot",
        ),
        (
            item(
                "env",
                "environment_descriptor",
                r#"{"deployment_id":"deploy-123","environment":"production"}"#,
                "cluster",
                &[],
            ),
            "cluster",
        ),
        (
            item(
                "human",
                "human_attestation",
                r#"{"deployment_id":"deploy-123","role":"release-manager","approved":true}"#,
                "approvals",
                &[],
            ),
            "alice",
        ),
        (
            item(
                "rollback",
                "rollback_spec",
                r#"{"deployment_id":"deploy-123","service":"checkout","rollback_plan":"restore previous image"}"#,
                "deploy-plan",
                &[],
            ),
            "deployer",
        ),
        (
            item(
                "scan",
                "scan_report",
                r#"{"deployment_id":"deploy-123","vulnerabilities":{"critical":0,"high":1}}"#,
                "scanner",
                &["artifact"],
            ),
            "scanner",
        ),
        (
            item(
                "test",
                "test_result",
                r#"{"deployment_id":"deploy-123","suite":"unit","passed":true}"#,
                "pytest",
                &["artifact"],
            ),
            "ci",
        ),
    ]
}

/// `items()` with the object `id` replaced.
fn with_item(
    id: &str,
    replacement: (EvidenceItem, &'static str),
) -> Vec<(EvidenceItem, &'static str)> {
    let mut v = items();
    let pos = v
        .iter()
        .position(|(i, _)| i.evidence_id == id)
        .unwrap_or_else(|| panic!("no item {id}"));
    v[pos] = replacement;
    v
}

fn codes(r: &Report) -> Vec<String> {
    r.failures.iter().map(|f| f.code.clone()).collect()
}

fn assert_codes(r: &Report, expected: &[&str]) {
    assert_eq!(codes(r), expected, "failures: {:#?}", r.failures);
    assert_eq!(r.accepted, expected.is_empty());
}

fn assert_accepted(r: &Report) {
    assert_codes(r, &[]);
    assert!(r.wf_policy && r.auth_evidence && r.check_proof && r.quorum);
}

/// Edits the certificate as generic JSON (serde_json) and re-serialises it.
fn edit_json(bytes: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).expect("valid JSON");
    f(&mut v);
    serde_json::to_vec(&v).expect("serialise")
}

/// Edits the typed certificate and re-serialises it canonically.
fn edit_cert(bytes: &[u8], f: impl FnOnce(&mut maat_certificate::maat_v1::Certificate)) -> Vec<u8> {
    let mut c = parse_certificate(bytes).expect("the fixture parses");
    f(&mut c);
    c.to_canonical_bytes()
}

fn edit_proof(bytes: &[u8], f: impl FnOnce(&mut Proof)) -> Vec<u8> {
    edit_cert(bytes, |c| f(&mut c.proof))
}

fn step<'a>(p: &'a mut Proof, id: &str) -> &'a mut ProofStep {
    p.steps
        .iter_mut()
        .find(|s| s.step_id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn replace_once(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = std::str::from_utf8(bytes).expect("utf-8");
    assert!(s.contains(from), "fixture lacks {from}");
    s.replacen(from, to, 1).into_bytes()
}

/// The policy of vector 002 with its predicate list replaced by `predicates` (JSON text).
fn policy_with(predicates: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(POLICY_002).expect("policy");
    v["predicates"] = serde_json::from_str(predicates).expect("predicates");
    v.to_string()
}

const LEAVES_002: &str = r#"{"name":"vuln_count","params":{"severity":"critical","operator":"<=","threshold":0}},{"name":"environment_matches","params":{"target":"production"}},{"name":"rollback_defined","params":{"service":"checkout"}},{"name":"human_attested","params":{"role":"release-manager"}}"#;

// ---------------------------------------------------------------------------------------------
// Valid certificates and independent digests
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_certificate_signed_with_ed25519_is_accepted() {
    let fx = Fx::ed25519();
    let r = fx.check(&fx.valid());
    assert_accepted(&r);
    assert_eq!(r.certificate_digest.len(), 64);
    // The registered policy is vector 002's: its root is the reference value.
    assert_eq!(
        r.policy_root,
        "acfb9e76adc3def65f0667193b0a04e830302323e67ed716f5861f4691d0b1cd"
    );
}

#[test]
fn valid_certificate_signed_with_mldsa65_is_accepted() {
    let fx = Fx::new(|_| Algorithm::MlDsa65);
    assert_accepted(&fx.check(&fx.valid()));
}

#[test]
fn valid_certificate_with_mixed_algorithms_is_accepted() {
    let fx = Fx::new(|i| {
        if i % 2 == 0 {
            Algorithm::Ed25519
        } else {
            Algorithm::MlDsa65
        }
    });
    let bytes = fx.valid();
    assert_accepted(&fx.check(&bytes));
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.contains("\"signature\":\"ed25519:") && text.contains("\"signature\":\"mldsa65:"));
}

#[test]
fn evidence_signatures_verify_with_plain_crypto_over_the_domain_separated_hash() {
    let fx = Fx::new(|i| {
        if i < 3 {
            Algorithm::MlDsa65
        } else {
            Algorithm::Ed25519
        }
    });
    let cert = parse_certificate(&fx.valid()).expect("parses");
    assert_eq!(cert.evidence.len(), 7);
    for o in &cert.evidence {
        let sig = Signature::from_text(&o.signature).expect("signature text");
        let pk: PublicKey = fx.key(&o.signer).public();
        assert!(
            pk.verify(b"maat/evidence/v1\n", o.hash.as_bytes(), &sig)
                .is_ok(),
            "{}",
            o.evidence_id
        );
        assert!(
            pk.verify(b"", o.hash.as_bytes(), &sig).is_err(),
            "{}",
            o.evidence_id
        );
    }
}

#[test]
fn evidence_hash_is_the_reference_payload_plus_signer_as_python_computes_it() {
    // Python: json.dumps({evidence_id, evidence_type, value, source, timestamp,
    // dependencies: sorted, signer}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).
    let item = EvidenceItem::new(
        "test",
        "test_result",
        obj("{\"deployment_id\":\"deploy-123\",\"suite\":\"unit\",\"passed\":true,\"note\":\"na\u{ef}ve \u{2713} \u{2028} \\\"q\\\"\\n\"}"),
        "pytest",
        T,
    )
    .depends_on(["commit", "artifact"]);
    let kp = KeyPair::from_seed(Algorithm::Ed25519, &seed(0));
    let o = sign_evidence(item, "ci", &kp).expect("signs");
    assert_eq!(
        o.hash,
        "8833c760e0250ff775c74e0d457b259d7910a0d37914b021a429382fe2ebefc5"
    );
    assert_eq!(o.dependencies, ["artifact", "commit"]);
}

#[test]
fn digests_match_independent_values() {
    // Vector 002's request, policy and proof with an empty bundle: policy_root and proof_root
    // are the vector's; evidence_root and certificate_digest were computed with Python.
    let proof = r#"{"steps":[{"step_id":"test-pass","rule":"TEST_PASS","conclusion":"test_passed:unit","evidence_refs":["test"],"premises":[]},{"step_id":"scan-ok","rule":"VULN_OK","conclusion":"vuln_count:critical<=0","evidence_refs":["scan"],"premises":[]},{"step_id":"env-ok","rule":"ENVIRONMENT_MATCH","conclusion":"environment_matches","evidence_refs":["env"],"premises":[]},{"step_id":"rollback-ok","rule":"ROLLBACK_READY","conclusion":"rollback_defined","evidence_refs":["rollback"],"premises":[]},{"step_id":"human-ok","rule":"HUMAN_ATTESTED","conclusion":"human_attested:release-manager","evidence_refs":["human"],"premises":[]},{"step_id":"policy","rule":"POLICY_SATISFIED","conclusion":"policy_satisfied","evidence_refs":[],"premises":["test-pass","scan-ok","env-ok","rollback-ok","human-ok"]},{"step_id":"deploy","rule":"DEPLOY_AUTH","conclusion":"deploy_authorized:deploy-123","evidence_refs":[],"premises":["policy"]}],"final_conclusion":"deploy_authorized:deploy-123"}"#;
    let req = r#"{"deployment_id":"deploy-123","service":"checkout","environment":"production","commit_sha":"abc123","artifact_hash":"sha256:artifact","requested_by":"agent:planner"}"#;
    let cert = format!(
        r#"{{"request":{req},"policy":{POLICY_002},"evidence":{{"objects":[]}},"proof":{proof}}}"#
    );
    let d = parse_certificate(cert.as_bytes())
        .expect("parses")
        .digests();
    assert_eq!(
        d.policy_root,
        "acfb9e76adc3def65f0667193b0a04e830302323e67ed716f5861f4691d0b1cd"
    );
    assert_eq!(
        d.proof_root,
        "d368d71e462a542355584dbe78d74daaa8060e54db979a3827d638bcad6521a4"
    );
    assert_eq!(
        d.evidence_root,
        "736520c9db846d6eb9b018e064d7db14c108b04d27d92032fe34dd4a34710741"
    );
    assert_eq!(
        d.certificate_digest,
        "637adb175ba7fdcd11ee130781e3e8d26e968eb2a6104ae5bcf6aca10ccc3bf9"
    );

    // Objects out of id order, unsorted dependencies, exotic numbers: sorted and written as
    // Python would (1e-05, 1e+16, exact big integers).
    let objects = r#"{"objects": [{"evidence_id": "zeta", "evidence_type": "commit_snapshot", "value": {"commit_sha": "abc123", "n": 3, "f": 1e-05, "big": 12345678901234567890123}, "source": "git", "timestamp": 1700000100.5, "dependencies": ["b", "a"], "signer": "git-bot", "hash": "h1", "signature": "ed25519:AAAA"}, {"evidence_id": "alpha", "evidence_type": "build_artifact", "value": {}, "source": "b", "timestamp": 1e+16, "dependencies": [], "signer": "builder", "hash": "h2", "signature": "s2"}]}"#;
    let cert = format!(
        r#"{{"request":{req},"policy":{POLICY_002},"evidence":{objects},"proof":{proof}}}"#
    );
    let d = parse_certificate(cert.as_bytes())
        .expect("parses")
        .digests();
    assert_eq!(
        d.evidence_root,
        "3dc3aee7e96ad5b6fee161b8fe4c530fde30e32b11a388c7aafca9f2e9875561"
    );
}

#[test]
fn failures_carry_a_human_message_and_their_component() {
    let fx = Fx::ed25519();
    let bytes = edit_proof(&fx.valid(), |p| {
        p.steps.retain(|s| s.rule == "DEPLOY_AUTH");
    });
    let r = fx.check(&bytes);
    assert!(!r.accepted && r.wf_policy && r.auth_evidence && !r.check_proof && r.quorum);
    assert!(!r.failures.is_empty());
    for f in &r.failures {
        assert_eq!(f.component, Component::CheckR, "{f:?}");
        assert!(f.message.len() > 20 && f.message.contains(' '), "{f:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Section 9, one test per weakness
// ---------------------------------------------------------------------------------------------

/// 057: `or` acted as `and`. Now one true branch suffices and the false one is not reported.
#[test]
fn weakness_057_or_is_evaluated_as_logic() {
    let mut fx = Fx::ed25519();
    let policy = policy_with(&format!(
        r#"[{{"name":"or","params":{{"children":[{{"name":"test_passed","params":{{"suite":"unit"}}}},{{"name":"test_passed","params":{{"suite":"integration"}}}}]}}}},{LEAVES_002}]"#
    ));
    fx.register(&policy);
    // Only `unit` passed; no integration result at all.
    assert_accepted(&fx.check(&fx.build(&policy, items(), None)));

    // Only `integration` passed: the other branch satisfies the `or`.
    let integ = item(
        "test",
        "test_result",
        r#"{"deployment_id":"deploy-123","suite":"integration","passed":true}"#,
        "pytest",
        &[],
    );
    assert_accepted(&fx.check(&fx.build(&policy, with_item("test", (integ, "ci")), None)));

    // Neither: both alternatives are reported; the derivation's step for the first is
    // unsupported.
    let failed = item(
        "test",
        "test_result",
        r#"{"deployment_id":"deploy-123","suite":"unit","passed":false}"#,
        "pytest",
        &[],
    );
    let r = fx.check(&fx.build(&policy, with_item("test", (failed, "ci")), None));
    assert_codes(
        &r,
        &[
            "EVIDENCE_TEST_NOT_PASSED:unit",
            "EVIDENCE_TEST_NOT_PASSED:integration",
            "VRP_TEST_PASS_UNSUPPORTED:test_passed:unit",
        ],
    );
}

/// 058: `not(X)` acted as `X`. Now it is negation.
#[test]
fn weakness_058_not_is_evaluated_as_negation() {
    let mut fx = Fx::ed25519();
    let policy = policy_with(&format!(
        r#"[{{"name":"test_passed","params":{{"suite":"unit"}}}},{LEAVES_002},{{"name":"not","params":{{"child":{{"name":"test_passed","params":{{"suite":"flaky"}}}}}}}}]"#
    ));
    fx.register(&policy);
    let flaky = |passed: bool| {
        let v = format!(r#"{{"deployment_id":"deploy-123","suite":"flaky","passed":{passed}}}"#);
        (item("flaky", "test_result", &v, "pytest", &[]), "ci")
    };
    // The negated leaf is false: accepted (no step can or needs to conclude a negative fact).
    let mut ok = items();
    ok.push(flaky(false));
    assert_accepted(&fx.check(&fx.build(&policy, ok, None)));
    // Without any `flaky` result the negation holds too.
    assert_accepted(&fx.check(&fx.build(&policy, items(), None)));
    // The negated leaf holds: rejected.
    let mut bad = items();
    bad.push(flaky(true));
    assert_codes(
        &fx.check(&fx.build(&policy, bad, None)),
        &["EVIDENCE_NEGATED_LEAF_HOLDS:test_passed:flaky"],
    );
}

/// 072: a step could cite itself. Premises must name earlier steps.
#[test]
fn weakness_072_self_premise_is_a_cycle() {
    let fx = Fx::ed25519();
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "policy").premises.push("policy".into())
    });
    assert_codes(&fx.check(&bytes), &["VRP_PREMISE_CYCLE:policy"]);

    // A forward reference is a cycle too (A cites later B, B cites A).
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "test_passed:unit").premises.push("policy".into())
    });
    assert_codes(&fx.check(&bytes), &["VRP_PREMISE_CYCLE:test_passed:unit"]);

    // A premise naming no step is missing, not a cycle.
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "policy").premises.push("nope".into())
    });
    assert_codes(&fx.check(&bytes), &["VRP_PREMISE_MISSING:policy:nope"]);
}

/// 080: a single DEPLOY_AUTH step was a valid derivation. It covers nothing now.
#[test]
fn weakness_080_one_step_proof_is_rejected() {
    let fx = Fx::ed25519();
    let proof = Proof {
        steps: vec![ProofStep {
            step_id: "deploy".into(),
            rule: "DEPLOY_AUTH".into(),
            conclusion: "deploy_authorized:deploy-123".into(),
            evidence_refs: vec!["test".into()],
            premises: vec![],
        }],
        final_conclusion: "deploy_authorized:deploy-123".into(),
    };
    let r = fx.check(&fx.build(POLICY_002, items(), Some(proof)));
    assert_codes(
        &r,
        &[
            "VRP_DEPLOY_AUTH_PREMISE_REQUIRED:deploy",
            "VRP_POLICY_NOT_COVERED:test_passed:unit",
            "VRP_POLICY_NOT_COVERED:vuln_count:critical<=0",
            "VRP_POLICY_NOT_COVERED:environment_matches:production",
            "VRP_POLICY_NOT_COVERED:rollback_defined:checkout",
            "VRP_POLICY_NOT_COVERED:human_attested:release-manager",
        ],
    );
}

/// POLICY_SATISFIED must depend on the covering steps: a dangling leaf step does not count,
/// a transitive one does.
#[test]
fn coverage_requires_policy_satisfied_to_depend_on_the_leaf_steps() {
    let fx = Fx::ed25519();
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "policy")
            .premises
            .retain(|x| x != "test_passed:unit")
    });
    assert_codes(
        &fx.check(&bytes),
        &["VRP_POLICY_NOT_COVERED:test_passed:unit"],
    );

    // Through an intermediate step: still covered.
    let bytes = edit_proof(&fx.valid(), |p| {
        let leaves: Vec<String> = p
            .steps
            .iter()
            .filter(|s| s.step_id.contains(':'))
            .map(|s| s.step_id.clone())
            .collect();
        let mid = ProofStep {
            step_id: "sigs".into(),
            rule: "SIGNATURE_VALID".into(),
            conclusion: "all leaf evidence is signed".into(),
            evidence_refs: vec!["test".into(), "scan".into()],
            premises: leaves,
        };
        let pos = p
            .steps
            .iter()
            .position(|s| s.step_id == "policy")
            .unwrap_or(0);
        p.steps.insert(pos, mid);
        step(p, "policy").premises = vec!["sigs".into()];
    });
    assert_accepted(&fx.check(&bytes));
}

/// 044/045: only the first object per binding type was compared. Now every one is.
#[test]
fn weakness_044_045_every_binding_object_is_checked() {
    let fx = Fx::ed25519();
    let cases = [
        (
            "commit2",
            "commit_snapshot",
            r#"{"commit_sha":"evil"}"#,
            "git-bot",
            "EVIDENCE_COMMIT_MISMATCH:commit2",
        ),
        (
            "artifact2",
            "build_artifact",
            r#"{"artifact_hash":"sha256:evil"}"#,
            "builder",
            "EVIDENCE_ARTIFACT_MISMATCH:artifact2",
        ),
        (
            "env2",
            "environment_descriptor",
            r#"{"environment":"staging"}"#,
            "cluster",
            "EVIDENCE_ENVIRONMENT_MISMATCH:env2",
        ),
    ];
    for (id, ty, value, signer, code) in cases {
        let mut v = items();
        v.push((item(id, ty, value, "x", &[]), signer));
        assert_codes(&fx.check(&fx.build(POLICY_002, v, None)), &[code]);
    }
}

/// 042: future-dated evidence was accepted. Beyond max_clock_skew of the block time it is not.
#[test]
fn weakness_042_future_dated_evidence_is_rejected() {
    let fx = Fx::ed25519();
    let at = |ts: f64| {
        let mut it = item(
            "scan",
            "scan_report",
            r#"{"deployment_id":"deploy-123","vulnerabilities":{"critical":0}}"#,
            "scanner",
            &[],
        );
        it.timestamp = ts;
        fx.build(POLICY_002, with_item("scan", (it, "scanner")), None)
    };
    assert_codes(&fx.check(&at(T + 31.0)), &["EVIDENCE_FROM_FUTURE:scan"]);
    assert_accepted(&fx.check(&at(T + 30.0)));
    // The skew is the chain's parameter.
    let strict = CheckContext {
        block_time: T,
        max_clock_skew: 5.0,
    };
    assert_eq!(
        codes(&check(&at(T + 6.0), &fx.registry, &strict)),
        ["EVIDENCE_FROM_FUTURE:scan"]
    );
}

/// 043: `now = null` turned freshness off. `now` is the block time, always.
#[test]
fn weakness_043_freshness_is_always_checked_at_block_time() {
    let fx = Fx::ed25519();
    let human_at = |ts: f64| {
        let mut it = item(
            "human",
            "human_attestation",
            r#"{"deployment_id":"deploy-123","role":"release-manager","approved":true}"#,
            "approvals",
            &[],
        );
        it.timestamp = ts;
        fx.build(POLICY_002, with_item("human", (it, "alice")), None)
    };
    assert_codes(&fx.check(&human_at(T - 3601.0)), &["EVIDENCE_STALE:human"]);
    assert_accepted(&fx.check(&human_at(T - 3600.0)));
    // Replaying yesterday's valid certificate at a later block: stale.
    let later = CheckContext::at(T + 3601.0);
    assert_eq!(
        codes(&check(&fx.valid(), &fx.registry, &later)),
        ["EVIDENCE_STALE:human", "EVIDENCE_STALE:scan"]
    );
    // There is no "no clock": a non-finite block time rejects instead of skipping checks.
    for bad in [f64::NAN, f64::INFINITY] {
        let r = check(&fx.valid(), &fx.registry, &CheckContext::at(bad));
        assert_codes(&r, &["CHECK_CONTEXT_INVALID"]);
    }
    let r = check(
        &fx.valid(),
        &fx.registry,
        &CheckContext {
            block_time: T,
            max_clock_skew: f64::NAN,
        },
    );
    assert_codes(&r, &["CHECK_CONTEXT_INVALID"]);
}

/// 096/100/090: quorum over submitted attestations only, negative stake, stray attestation.
/// A submitted certificate carries none; its quorum is the chain's commit certificate.
#[test]
fn weakness_096_100_090_submitted_attestations_are_forbidden() {
    let fx = Fx::ed25519();
    let valid = fx.valid();
    let digest = fx.check(&valid).certificate_digest;
    let att = serde_json::json!({
        "validator_id": "validator-a", "decision": "accept", "certificate_digest": digest,
        "timestamp": T, "stake": -1.0, "reason": "", "signature": "b973c44fd94f7cb2"
    });
    let with = edit_json(&valid, |v| v["attestations"] = serde_json::json!([att]));
    let r = fx.check(&with);
    assert_codes(&r, &["CERTIFICATE_ATTESTATIONS_FORBIDDEN"]);
    assert!(!r.quorum && r.wf_policy && r.auth_evidence && r.check_proof);
    assert_eq!(r.failures[0].component, Component::Quorum);
    // Attestations are not part of the digest, whatever they say.
    assert_eq!(r.certificate_digest, digest);
    // An explicit empty list is the same as none.
    assert_accepted(&fx.check(&edit_json(&valid, |v| {
        v["attestations"] = serde_json::json!([])
    })));
}

/// 081: DEPLOY_AUTH accepted any conclusion containing `policy_satisfied`.
#[test]
fn weakness_081_deploy_auth_needs_the_exact_conclusion() {
    let fx = Fx::ed25519();
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "deploy").conclusion = "policy_satisfied => deploy_authorized:deploy-123".into();
    });
    assert_codes(
        &fx.check(&bytes),
        &[
            "VRP_DEPLOY_AUTH_CONCLUSION_INVALID:deploy",
            "VRP_FINAL_STEP_MISMATCH",
        ],
    );
    // Another deployment's authorization is no better.
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "deploy").conclusion = "deploy_authorized:deploy-999".into();
        p.final_conclusion = "deploy_authorized:deploy-999".into();
    });
    assert_codes(
        &fx.check(&bytes),
        &[
            "VRP_DEPLOY_AUTH_CONCLUSION_INVALID:deploy",
            "VRP_FINAL_CONCLUSION_MISMATCH",
            "VRP_FINAL_STEP_MISMATCH",
        ],
    );
}

/// 031: HUMAN_ATTESTED ignored the role. Now the cited attestation must approve for the
/// policy's role, for this deployment, signed by an identity holding that role.
#[test]
fn weakness_031_human_attested_checks_role() {
    let mut fx = Fx::ed25519();
    let human = |value: &str| {
        (
            item("human", "human_attestation", value, "approvals", &[]),
            "alice",
        )
    };
    let expected = [
        "EVIDENCE_HUMAN_ATTESTATION_MISSING:release-manager",
        "VRP_HUMAN_ATTESTATION_REF_MISSING:human_attested:release-manager",
    ];
    // Wrong role in the attestation.
    let wrong_role = human(r#"{"deployment_id":"deploy-123","role":"qa","approved":true}"#);
    assert_codes(
        &fx.check(&fx.build(POLICY_002, with_item("human", wrong_role), None)),
        &expected,
    );
    // Not approved (truthy is not enough).
    let not_true =
        human(r#"{"deployment_id":"deploy-123","role":"release-manager","approved":"yes"}"#);
    assert_codes(
        &fx.check(&fx.build(POLICY_002, with_item("human", not_true), None)),
        &expected,
    );

    // A `qa` identity may sign attestations but claims the release-manager role it lacks.
    let bob = KeyPair::from_seed(Algorithm::Ed25519, &[42; 32]);
    fx.registry.add_identity("bob", bob.public(), &["qa"]);
    fx.keys.insert("bob", bob);
    let mut rules = signer_rules();
    rules.insert(
        "human_attestation".into(),
        SignerRule::roles(["release-manager", "qa"]),
    );
    fx.register_with(POLICY_002, rules);
    let claim = (
        item(
            "human",
            "human_attestation",
            r#"{"deployment_id":"deploy-123","role":"release-manager","approved":true}"#,
            "approvals",
            &[],
        ),
        "bob",
    );
    assert_codes(
        &fx.check(&fx.build(POLICY_002, with_item("human", claim), None)),
        &expected,
    );
}

/// 033: TEST_PASS ignored the suite. Now the step must cite a passed result of the policy's
/// suite and conclude exactly that leaf.
#[test]
fn weakness_033_test_pass_checks_suite() {
    let fx = Fx::ed25519();
    let other_suite = (
        item(
            "test",
            "test_result",
            r#"{"deployment_id":"deploy-123","suite":"lint","passed":true}"#,
            "pytest",
            &[],
        ),
        "ci",
    );
    assert_codes(
        &fx.check(&fx.build(POLICY_002, with_item("test", other_suite), None)),
        &[
            "EVIDENCE_TEST_NOT_PASSED:unit",
            "VRP_TEST_PASS_UNSUPPORTED:test_passed:unit",
        ],
    );
    // A step concluding a leaf the policy does not have covers nothing.
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "test_passed:unit").conclusion = "test_passed:lint".into()
    });
    assert_codes(
        &fx.check(&bytes),
        &[
            "VRP_STEP_CONCLUSION_INVALID:test_passed:unit",
            "VRP_POLICY_NOT_COVERED:test_passed:unit",
        ],
    );
    // The same for VULN_OK: severity and threshold are checked.
    let scan = (
        item(
            "scan",
            "scan_report",
            r#"{"deployment_id":"deploy-123","vulnerabilities":{"critical":1}}"#,
            "scanner",
            &[],
        ),
        "scanner",
    );
    assert_codes(
        &fx.check(&fx.build(POLICY_002, with_item("scan", scan), None)),
        &[
            "EVIDENCE_VULN_THRESHOLD_EXCEEDED:critical",
            "VRP_VULN_OK_UNSUPPORTED:vuln_count:critical<=0",
        ],
    );
    // A step with the right conclusion citing evidence of another leaf is unsupported.
    let bytes = edit_proof(&fx.valid(), |p| {
        step(p, "test_passed:unit").evidence_refs = vec!["scan".into()]
    });
    assert_codes(
        &fx.check(&bytes),
        &[
            "VRP_TEST_PASS_UNSUPPORTED:test_passed:unit",
            "VRP_POLICY_NOT_COVERED:test_passed:unit",
        ],
    );
}

/// 061: unknown fields were dropped and not covered by the digest. Now they reject.
#[test]
fn weakness_061_unknown_fields_are_rejected() {
    let fx = Fx::ed25519();
    let valid = fx.valid();
    let cases: Vec<(JsonEdit, &str)> = vec![
        (
            Box::new(|v| v["policy"]["predicates"][0]["extra"] = 1.into()),
            "CERTIFICATE_FIELD_UNKNOWN:policy.predicates[0].extra",
        ),
        (
            Box::new(|v| v["policy"]["predicates"][0]["params"]["color"] = "red".into()),
            "CERTIFICATE_FIELD_UNKNOWN:policy.predicates[0].params.color",
        ),
        (
            Box::new(|v| v["evidence"]["objects"][2]["value_x"] = 1.into()),
            "CERTIFICATE_FIELD_UNKNOWN:evidence.objects[2].value_x",
        ),
        (
            Box::new(|v| v["request"]["priority"] = "high".into()),
            "CERTIFICATE_FIELD_UNKNOWN:request.priority",
        ),
        (
            Box::new(|v| v["proof"]["steps"][1]["note"] = "x".into()),
            "CERTIFICATE_FIELD_UNKNOWN:proof.steps[1].note",
        ),
        (
            Box::new(|v| v["evidence"]["extra"] = serde_json::json!([])),
            "CERTIFICATE_FIELD_UNKNOWN:evidence.extra",
        ),
        (
            Box::new(|v| v["a.b"] = 1.into()),
            "CERTIFICATE_FIELD_UNKNOWN:[\"a.b\"]",
        ),
    ];
    for (edit, code) in cases {
        let r = fx.check(&edit_json(&valid, edit));
        assert_codes(&r, &[code]);
        assert_eq!(r.failures[0].component, Component::Parse);
        assert!(r.certificate_digest.is_empty());
    }
    // Nested predicates are strict too.
    let mut v: serde_json::Value = serde_json::from_slice(&valid).expect("json");
    v["policy"]["predicates"] = serde_json::json!([{"name":"and","params":{"children":[{"name":"test_passed","params":{"suite":"unit"},"weight":2}]}}]);
    let r = fx.check(&serde_json::to_vec(&v).expect("json"));
    assert_codes(
        &r,
        &["CERTIFICATE_FIELD_UNKNOWN:policy.predicates[0].params.children[0].weight"],
    );
}

/// No domain separation: an HMAC of the reference, a signature over the bare hash, over the
/// quoted hash, or under another domain does not verify.
#[test]
fn weakness_no_domain_separation_foreign_signatures_fail() {
    let fx = Fx::ed25519();
    let valid = fx.valid();
    let hash = parse_certificate(&valid)
        .expect("parses")
        .evidence
        .iter()
        .find(|o| o.evidence_id == "commit")
        .map(|o| o.hash.clone())
        .expect("commit");
    let kp = fx.key("git-bot");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"evidence-secret").expect("hmac key");
    mac.update(format!("\"{hash}\"").as_bytes());
    let hmac_sig = hex::encode(mac.finalize().into_bytes());
    let forged = [
        hmac_sig,
        kp.sign(b"", hash.as_bytes()).to_text(),
        kp.sign(b"maat/evidence/v1\n", format!("\"{hash}\"").as_bytes())
            .to_text(),
        kp.sign(b"maat/tx/v1\n", hash.as_bytes()).to_text(),
        kp.sign(b"maat/evidence/v1", hash.as_bytes()).to_text(),
    ];
    for sig in forged {
        let bytes = edit_cert(&valid, |c| {
            if let Some(o) = c.evidence.iter_mut().find(|o| o.evidence_id == "commit") {
                o.signature = sig.clone();
            }
        });
        assert_codes(&fx.check(&bytes), &["EVIDENCE_SIGNATURE_INVALID:commit"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Identities and keys
// ---------------------------------------------------------------------------------------------

#[test]
fn revoked_identity_is_unauthorized() {
    let mut fx = Fx::ed25519();
    let bytes = fx.valid();
    assert!(fx.registry.revoke("git-bot"));
    assert_codes(&fx.check(&bytes), &["EVIDENCE_SIGNER_UNAUTHORIZED:commit"]);
}

#[test]
fn rotated_out_key_is_unauthorized_and_the_new_key_works() {
    let mut fx = Fx::new(|_| Algorithm::MlDsa65);
    let old = fx.valid();
    let new = KeyPair::from_seed(Algorithm::Ed25519, &[99; 32]);
    assert!(fx.registry.rotate_key("git-bot", new.public()));
    assert_codes(&fx.check(&old), &["EVIDENCE_SIGNER_UNAUTHORIZED:commit"]);
    fx.keys.insert("git-bot", new);
    assert_accepted(&fx.check(&fx.valid()));
}

#[test]
fn signer_not_authorised_for_the_evidence_type_is_unauthorized() {
    let fx = Fx::ed25519();
    // `ci` is registered and its signature is valid, but commits are git-bot's.
    let commit = (
        item(
            "commit",
            "commit_snapshot",
            r#"{"deployment_id":"deploy-123","commit_sha":"abc123"}"#,
            "git",
            &[],
        ),
        "ci",
    );
    assert_codes(
        &fx.check(&fx.build(POLICY_002, with_item("commit", commit), None)),
        &["EVIDENCE_SIGNER_UNAUTHORIZED:commit"],
    );
    // A type the registered policy names nobody for.
    let mut v = items();
    v.push((item("extra", "sbom", r#"{}"#, "x", &[]), "ci"));
    assert_codes(
        &fx.check(&fx.build(POLICY_002, v, None)),
        &["EVIDENCE_SIGNER_UNAUTHORIZED:extra"],
    );
}

#[test]
fn unknown_signer_and_impersonation_are_rejected() {
    let mut fx = Fx::ed25519();
    fx.keys
        .insert("mallory", KeyPair::from_seed(Algorithm::Ed25519, &[7; 32]));
    let commit = |signer| {
        (
            item(
                "commit",
                "commit_snapshot",
                r#"{"deployment_id":"deploy-123","commit_sha":"abc123"}"#,
                "git",
                &[],
            ),
            signer,
        )
    };
    assert_codes(
        &fx.check(&fx.build(POLICY_002, with_item("commit", commit("mallory")), None)),
        &["EVIDENCE_SIGNER_UNKNOWN:commit"],
    );

    // Names git-bot as signer but signs with ci's key.
    let mut b =
        CertificateBuilder::from_policy_json(request(), POLICY_002.as_bytes()).expect("policy");
    for (it, signer) in items() {
        let kp = if it.evidence_id == "commit" {
            fx.key("ci")
        } else {
            fx.key(signer)
        };
        b.add_evidence(it, signer, kp).expect("adds");
    }
    assert_codes(
        &fx.check(&b.build()),
        &["EVIDENCE_SIGNATURE_INVALID:commit"],
    );

    // The signer is bound by the hash: relabelling it after signing breaks the hash.
    let bytes = edit_cert(&fx.valid(), |c| {
        if let Some(o) = c.evidence.iter_mut().find(|o| o.evidence_id == "commit") {
            o.signer = "ci".into();
        }
    });
    assert_codes(
        &fx.check(&bytes),
        &[
            "EVIDENCE_HASH_INVALID:commit",
            "EVIDENCE_SIGNER_UNAUTHORIZED:commit",
        ],
    );
}

#[test]
fn tampered_evidence_breaks_the_hash() {
    let fx = Fx::ed25519();
    let bytes = edit_cert(&fx.valid(), |c| {
        if let Some(o) = c.evidence.iter_mut().find(|o| o.evidence_id == "commit") {
            o.source = "elsewhere".into();
        }
    });
    assert_codes(&fx.check(&bytes), &["EVIDENCE_HASH_INVALID:commit"]);
}

// ---------------------------------------------------------------------------------------------
// Policy from the chain, replay
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_not_registered_is_rejected() {
    let fx = Fx::ed25519();
    let empty = InMemoryRegistry::new();
    let mut reg = empty;
    for (i, (id, roles)) in IDENTITIES.iter().enumerate() {
        reg.add_identity(
            id,
            KeyPair::from_seed(Algorithm::Ed25519, &seed(i)).public(),
            roles,
        );
    }
    let r = check(&fx.valid(), &reg, &CheckContext::at(T));
    assert_codes(&r, &["POLICY_NOT_REGISTERED"]);
    assert!(!r.wf_policy && r.auth_evidence);
}

#[test]
fn laxer_policy_than_registered_is_a_mismatch() {
    let fx = Fx::ed25519();
    // Drops the human approval; everything else is valid and covered.
    let lax = policy_with(
        r#"[{"name":"test_passed","params":{"suite":"unit"}},{"name":"vuln_count","params":{"severity":"critical","operator":"<=","threshold":0}},{"name":"environment_matches","params":{"target":"production"}},{"name":"rollback_defined","params":{"service":"checkout"}}]"#,
    );
    let r = fx.check(&fx.build(&lax, items(), None));
    assert_codes(&r, &["POLICY_MISMATCH"]);
    // Even the same policy with 3600 (int) instead of 3600.0 is another policy.
    let int_fresh = POLICY_002.replace("3600.0", "3600");
    assert_codes(
        &fx.check(&fx.build(&int_fresh, items(), None)),
        &["POLICY_MISMATCH"],
    );
}

#[test]
fn deployment_duplicate_is_rejected() {
    let mut fx = Fx::ed25519();
    let bytes = fx.valid();
    assert_accepted(&fx.check(&bytes));
    fx.registry.finalize_deployment("deploy-123");
    let r = fx.check(&bytes);
    assert_codes(&r, &["DEPLOYMENT_DUPLICATE"]);
    assert_eq!(r.failures[0].component, Component::Ledger);
}

#[test]
fn canary_leaf_is_covered_by_canary_ready() {
    let mut fx = Fx::ed25519();
    let policy = policy_with(&format!(
        r#"[{{"name":"test_passed","params":{{"suite":"unit"}}}},{LEAVES_002},{{"name":"canary_enabled","params":{{"service":"checkout"}}}}]"#
    ));
    fx.register(&policy);
    let rollout = |flag: &str| {
        let v = format!(
            r#"{{"deployment_id":"deploy-123","service":"checkout","canary_enabled":{flag}}}"#
        );
        (
            item("rollout", "rollout_spec", &v, "deploy-plan", &[]),
            "deployer",
        )
    };
    let mut v = items();
    v.push(rollout("true"));
    assert_accepted(&fx.check(&fx.build(&policy, v, None)));
    let mut v = items();
    v.push(rollout("\"true\""));
    assert_codes(
        &fx.check(&fx.build(&policy, v, None)),
        &[
            "EVIDENCE_CANARY_MISSING:checkout",
            "VRP_CANARY_REF_MISSING:canary_enabled:checkout",
        ],
    );
}

#[test]
fn vuln_count_exact_operator_and_missing_severity() {
    let mut fx = Fx::ed25519();
    let policy = policy_with(&format!(
        r#"[{{"name":"test_passed","params":{{"suite":"unit"}}}},{LEAVES_002},{{"name":"vuln_count","params":{{"severity":"high","operator":"==","threshold":1}}}}]"#
    ));
    fx.register(&policy);
    assert_accepted(&fx.check(&fx.build(&policy, items(), None)));
    // A report without `high` counts 0 high, which is not == 1.
    let scan = (
        item(
            "scan",
            "scan_report",
            r#"{"deployment_id":"deploy-123","vulnerabilities":{"critical":0}}"#,
            "scanner",
            &[],
        ),
        "scanner",
    );
    assert_codes(
        &fx.check(&fx.build(&policy, with_item("scan", scan), None)),
        &[
            "EVIDENCE_VULN_THRESHOLD_EXCEEDED:high",
            "VRP_VULN_OK_UNSUPPORTED:vuln_count:high==1",
        ],
    );
    // A float count is malformed and supports nothing (never read as 0).
    let scan = (
        item(
            "scan",
            "scan_report",
            r#"{"deployment_id":"deploy-123","vulnerabilities":{"critical":0.0,"high":1}}"#,
            "scanner",
            &[],
        ),
        "scanner",
    );
    assert_codes(
        &fx.check(&fx.build(&policy, with_item("scan", scan), None)),
        &[
            "EVIDENCE_VULN_THRESHOLD_EXCEEDED:critical",
            "VRP_VULN_OK_UNSUPPORTED:vuln_count:critical<=0",
        ],
    );
}

#[test]
fn missing_binding_evidence_and_empty_request_fields_are_rejected() {
    let fx = Fx::ed25519();
    let mut v = items();
    v.retain(|(i, _)| i.evidence_id != "commit");
    assert_codes(
        &fx.check(&fx.build(POLICY_002, v, None)),
        &[
            "EVIDENCE_DEPENDENCY_MISSING:artifact:commit",
            "EVIDENCE_REQUIRED_MISSING:commit_snapshot",
        ],
    );
    let bytes = edit_cert(&fx.valid(), |c| c.request.requested_by = String::new());
    assert_codes(&fx.check(&bytes), &["REQUEST_FIELD_REQUIRED:requested_by"]);
}

// ---------------------------------------------------------------------------------------------
// Strict parsing and size limits
// ---------------------------------------------------------------------------------------------

#[test]
fn duplicate_json_key_is_malformed() {
    let fx = Fx::ed25519();
    let valid = fx.valid();
    for bytes in [
        replace_once(
            &valid,
            "\"commit_sha\":\"abc123\"",
            "\"commit_sha\":\"abc123\",\"commit_sha\":\"evil\"",
        ),
        replace_once(&valid, "{\"evidence\":", "{\"proof\":{},\"evidence\":"),
    ] {
        let r = fx.check(&bytes);
        assert_codes(&r, &["CERTIFICATE_JSON_MALFORMED"]);
        assert_eq!(r.failures[0].component, Component::Parse);
    }
}

#[test]
fn nan_infinity_and_lone_surrogates_are_malformed() {
    let fx = Fx::ed25519();
    let valid = fx.valid();
    for (from, to) in [
        ("\"timestamp\":1700000100.0", "\"timestamp\":NaN"),
        ("\"timestamp\":1700000100.0", "\"timestamp\":Infinity"),
        ("\"timestamp\":1700000100.0", "\"timestamp\":1e400"),
        ("\"source\":\"git\"", "\"source\":\"\\ud800\""),
    ] {
        assert_codes(
            &fx.check(&replace_once(&valid, from, to)),
            &["CERTIFICATE_JSON_MALFORMED"],
        );
    }
    for junk in [&b""[..], b"null", b"[]", b"{", b"\xff\xfe"] {
        assert_codes(&fx.check(junk), &["CERTIFICATE_JSON_MALFORMED"]);
    }
}

#[test]
fn wrong_json_types_and_missing_fields_are_rejected() {
    let fx = Fx::ed25519();
    let valid = fx.valid();
    let malformed: Vec<JsonEdit> = vec![
        Box::new(|v| v["evidence"]["objects"][0]["timestamp"] = "1700000100".into()),
        Box::new(|v| v["policy"]["version"] = 1.5.into()),
        Box::new(|v| v["policy"]["predicates"] = serde_json::json!({})),
        Box::new(|v| v["request"]["service"] = serde_json::Value::Null),
        Box::new(|v| v["proof"]["steps"][0]["premises"] = serde_json::json!([1])),
        Box::new(|v| v["attestations"] = serde_json::json!({})),
        Box::new(|v| v["evidence"]["objects"][0]["value"] = serde_json::json!([])),
    ];
    for edit in malformed {
        assert_codes(
            &fx.check(&edit_json(&valid, edit)),
            &["CERTIFICATE_JSON_MALFORMED"],
        );
    }
    let r = fx.check(&edit_json(&valid, |v| {
        if let Some(o) = v["evidence"]["objects"][3].as_object_mut() {
            o.remove("signer");
        }
    }));
    assert_codes(
        &r,
        &["CERTIFICATE_FIELD_MISSING:evidence.objects[3].signer"],
    );
    let r = fx.check(&edit_json(&valid, |v| {
        if let Some(o) = v.as_object_mut() {
            o.remove("proof");
        }
    }));
    assert_codes(&r, &["CERTIFICATE_FIELD_MISSING:proof"]);
}

#[test]
fn size_limit_bytes() {
    let fx = Fx::ed25519();
    let mut bytes = fx.valid();
    // Padding to exactly 1 MiB is fine (whitespace is JSON), one byte more is not.
    bytes.resize(1 << 20, b' ');
    assert_accepted(&fx.check(&bytes));
    bytes.push(b' ');
    assert_codes(&fx.check(&bytes), &["CERTIFICATE_TOO_LARGE:bytes"]);
}

#[test]
fn size_limit_evidence_objects() {
    let fx = Fx::ed25519();
    // 256 objects: a real, accepted certificate.
    let mut v = items();
    for n in 0..249 {
        let val = format!(r#"{{"deployment_id":"deploy-123","suite":"s{n}","passed":true}}"#);
        v.push((
            item(&format!("t{n:03}"), "test_result", &val, "pytest", &[]),
            "ci",
        ));
    }
    let bytes = fx.build(POLICY_002, v, None);
    assert_accepted(&fx.check(&bytes));
    // 257: rejected before the objects are even looked at.
    let too_many = edit_json(&bytes, |v| {
        if let Some(a) = v["evidence"]["objects"].as_array_mut() {
            a.push(serde_json::json!({}));
        }
    });
    assert_codes(&fx.check(&too_many), &["CERTIFICATE_TOO_LARGE:evidence"]);
}

#[test]
fn size_limit_proof_steps() {
    let fx = Fx::ed25519();
    let valid = fx.valid();
    let with_steps = |n: usize| {
        edit_json(&valid, |v| {
            v["proof"]["steps"] = serde_json::Value::Array(vec![serde_json::json!({}); n])
        })
    };
    assert_codes(
        &fx.check(&with_steps(257)),
        &["CERTIFICATE_TOO_LARGE:steps"],
    );
    assert_codes(
        &fx.check(&with_steps(256)),
        &["CERTIFICATE_FIELD_MISSING:proof.steps[0].step_id"],
    );
}

#[test]
fn size_limit_predicates_and_depth() {
    let mut fx = Fx::ed25519();
    let unit = r#"{"name":"test_passed","params":{"suite":"unit"}}"#;
    let many = |n: usize| policy_with(&format!("[{}]", vec![unit; n].join(",")));
    let nested = |depth: usize| {
        // `depth` predicates: (depth - 1) nested `and`s around one leaf.
        let mut p = unit.to_owned();
        for _ in 1..depth {
            p = format!(r#"{{"name":"and","params":{{"children":[{p}]}}}}"#);
        }
        policy_with(&format!("[{p},{LEAVES_002}]"))
    };
    let parse_code = |policy: &str| {
        let v = edit_json(&fx.valid(), |v| {
            v["policy"] = serde_json::from_str(policy).expect("policy")
        });
        codes(&fx.check(&v)).first().cloned().unwrap_or_default()
    };
    assert_eq!(parse_code(&many(65)), "CERTIFICATE_TOO_LARGE:predicates");
    assert_eq!(parse_code(&nested(9)), "CERTIFICATE_TOO_LARGE:depth");
    // At the limits: parsed, and (once registered) accepted.
    for policy in [many(64), nested(8)] {
        assert_eq!(parse_code(&policy), "POLICY_MISMATCH");
    }
    let deep = nested(8);
    fx.register(&deep);
    assert_accepted(&fx.check(&fx.build(&deep, items(), None)));
}

// ---------------------------------------------------------------------------------------------
// Mutation robustness
// ---------------------------------------------------------------------------------------------

mod mutation {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    struct Base {
        fx: Fx,
        bytes: Vec<u8>,
        digest: String,
        /// Byte ranges bound by nothing in the certificate (documented): the `requested_by`
        /// value and the final step's id.
        unbound: Vec<std::ops::Range<usize>>,
    }

    fn value_range(text: &str, marker: &str) -> std::ops::Range<usize> {
        let start = text.find(marker).map(|i| i + marker.len()).expect("marker");
        let len = text
            .get(start..)
            .and_then(|t| t.find('"'))
            .expect("closing quote");
        start..start + len
    }

    fn base() -> &'static Base {
        static BASE: OnceLock<Base> = OnceLock::new();
        BASE.get_or_init(|| {
            let fx = Fx::ed25519();
            let bytes = fx.valid();
            let r = fx.check(&bytes);
            assert!(r.accepted);
            let text = String::from_utf8(bytes.clone()).expect("utf-8");
            let unbound = vec![
                value_range(&text, "\"requested_by\":\""),
                value_range(&text, "\"rule\":\"DEPLOY_AUTH\",\"step_id\":\""),
            ];
            Base {
                fx,
                bytes,
                digest: r.certificate_digest,
                unbound,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Any single-byte change never panics and is accepted only if it leaves the same
        /// certificate (same digest, e.g. `1700000100.0` -> `1700000100e0`) or touches a
        /// field that nothing binds.
        #[test]
        fn single_byte_mutation_is_never_accepted(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let b = base();
            let i = pos.index(b.bytes.len());
            prop_assume!(b.bytes[i] != byte);
            let mut m = b.bytes.clone();
            m[i] = byte;
            let r = b.fx.check(&m);
            if r.accepted {
                prop_assert!(
                    r.certificate_digest == b.digest || b.unbound.iter().any(|u| u.contains(&i)),
                    "mutation at {} to {:#04x} accepted with another digest", i, byte
                );
            } else {
                prop_assert!(!r.failures.is_empty());
            }
        }
    }
}

#[test]
fn every_maat_v1_code_has_an_explanation() {
    for code in [
        "CERTIFICATE_TOO_LARGE:bytes",
        "CERTIFICATE_FIELD_UNKNOWN:request.x",
        "CERTIFICATE_FIELD_MISSING:proof",
        "CERTIFICATE_JSON_MALFORMED",
        "CERTIFICATE_ATTESTATIONS_FORBIDDEN",
        "CHECK_CONTEXT_INVALID",
        "REQUEST_FIELD_REQUIRED:service",
        "POLICY_ENVIRONMENT_MISMATCH",
        "POLICY_NOT_REGISTERED",
        "POLICY_MISMATCH",
        "EVIDENCE_SIGNER_UNKNOWN:x",
        "EVIDENCE_SIGNER_UNAUTHORIZED:x",
        "EVIDENCE_FROM_FUTURE:x",
        "EVIDENCE_NEGATED_LEAF_HOLDS:test_passed:x",
        "EVIDENCE_POLICY_NOT_SATISFIED",
        "VRP_PREMISE_CYCLE:s",
        "VRP_POLICY_NOT_COVERED:test_passed:unit",
        "VRP_STEP_CONCLUSION_INVALID:s",
        "VRP_CANARY_REF_MISSING:s",
        "POLICY_ARTIFACT_ATTESTED_PREDICATE_INVALID",
        "EVIDENCE_ATTESTATION_REF_INVALID:x",
        "EVIDENCE_ATTESTATION_NOT_FOUND:x",
        "EVIDENCE_ATTESTATION_MISMATCH:x",
        "EVIDENCE_ARTIFACT_ATTESTATION_MISSING:https://slsa.dev/provenance/v1",
        "VRP_ARTIFACT_ATTESTATION_REF_MISSING:s",
        "DEPLOYMENT_DUPLICATE",
    ] {
        assert_ne!(
            maat_certificate::codes::explain(code),
            "unknown failure code",
            "{code}"
        );
    }
}
