//! Certificate parsing and checking under both rule sets, on arbitrary bytes.
//!
//! The first input byte picks a mode: even = the rest is a certificate as is (both rule sets);
//! odd = the rest is a list of (offset, byte) edits applied to a valid, signed `maat-v1`
//! certificate, so the fuzzer reaches the deep checks (signatures, logic, coverage) that random
//! bytes never get past the parser to. Properties: no panic, no unbounded allocation
//! (libFuzzer's -rss_limit_mb / -malloc_limit_mb), and no fail-open acceptance.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use maat_certificate::json::{self, ParseMode, Value};
use maat_certificate::maat_v1::{
    self, CertificateBuilder, CheckContext, EvidenceItem, InMemoryRegistry, Request, SignerRule,
};
use maat_certificate::maatproof_v1::{Checker, CheckerConfig, Mode};
use maat_crypto::sig::{Algorithm, KeyPair};

const BLOCK_TIME: f64 = 1_700_000_100.0;
const POLICY: &str = include_str!("../../examples/checkout/policy.json");

fn maatproof_checker() -> &'static Checker {
    static C: OnceLock<Checker> = OnceLock::new();
    C.get_or_init(|| {
        let mut config = CheckerConfig::new(b"evidence-secret".to_vec());
        for v in ["validator-a", "validator-b", "validator-c"] {
            config
                .validator_keys
                .insert(v.to_owned(), format!("{v}-secret").into_bytes());
        }
        config.now = Some(BLOCK_TIME);
        config.mode = Mode::Accept;
        Checker::new(config).expect("valid fuzz config")
    })
}

struct MaatV1Fixture {
    registry: InMemoryRegistry,
    cert: Vec<u8>,
    evidence_root: String,
    policy_root: String,
}

fn obj(text: &str) -> maat_certificate::json::Object {
    match json::parse(text.as_bytes(), ParseMode::Strict) {
        Ok(Value::Object(o)) => o,
        _ => panic!("fixture value {text}"),
    }
}

/// The README example, signed by a fixed-seed Ed25519 identity `ci-bot` with role `ci`.
fn fixture() -> &'static MaatV1Fixture {
    static F: OnceLock<MaatV1Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = KeyPair::from_seed(Algorithm::Ed25519, &[7u8; 32]);
        let mut registry = InMemoryRegistry::new();
        registry.add_identity("ci-bot", key.public(), &["ci"]);
        let types = [
            "commit_snapshot",
            "build_artifact",
            "environment_descriptor",
            "test_result",
            "scan_report",
            "rollback_spec",
            "rollout_spec",
        ];
        let signers: HashMap<String, SignerRule> = types
            .iter()
            .map(|t| (t.to_string(), SignerRule::roles(["ci"])))
            .collect();
        let policy_root = registry
            .add_policy_json("checkout", "production", POLICY.as_bytes(), signers)
            .expect("policy");
        let request = Request {
            deployment_id: "deploy-123".into(),
            service: "checkout".into(),
            environment: "production".into(),
            commit_sha: "abc123".into(),
            artifact_hash: "sha256:artifact".into(),
            requested_by: "agent:planner".into(),
        };
        let mut b =
            CertificateBuilder::from_policy_json(request, POLICY.as_bytes()).expect("policy");
        let d = r#""deployment_id":"deploy-123""#;
        let items = [
            (
                "commit",
                "commit_snapshot",
                format!(r#"{{{d},"commit_sha":"abc123"}}"#),
                vec![],
            ),
            (
                "artifact",
                "build_artifact",
                format!(r#"{{{d},"artifact_hash":"sha256:artifact"}}"#),
                vec!["commit"],
            ),
            (
                "env",
                "environment_descriptor",
                format!(r#"{{{d},"environment":"production"}}"#),
                vec![],
            ),
            (
                "test",
                "test_result",
                format!(r#"{{{d},"suite":"unit","passed":true}}"#),
                vec!["artifact"],
            ),
            (
                "scan",
                "scan_report",
                format!(r#"{{{d},"vulnerabilities":{{"critical":0,"high":1}}}}"#),
                vec!["artifact"],
            ),
            (
                "rollback",
                "rollback_spec",
                format!(r#"{{{d},"service":"checkout","rollback_plan":"restore"}}"#),
                vec![],
            ),
            (
                "canary",
                "rollout_spec",
                format!(r#"{{{d},"service":"checkout","canary_enabled":true}}"#),
                vec![],
            ),
        ];
        for (id, ty, value, deps) in items {
            let item = EvidenceItem::new(id, ty, obj(&value), "ci", BLOCK_TIME).depends_on(deps);
            b.add_evidence(item, "ci-bot", &key).expect("sign");
        }
        let cert = b.build();
        let report = maat_v1::check(&cert, &registry, &CheckContext::at(BLOCK_TIME));
        assert!(
            report.accepted,
            "fixture must be valid: {:?}",
            report.failures
        );
        MaatV1Fixture {
            registry,
            cert,
            evidence_root: report.evidence_root,
            policy_root,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let ctx = CheckContext::at(BLOCK_TIME);
    if mode % 2 == 0 {
        let r = maatproof_checker().check(rest);
        assert_eq!(
            r.accepted,
            r.failures.is_empty() && r.wf_policy && r.auth_evidence && r.check_proof && r.quorum
        );
        let r = maat_v1::check(rest, &f.registry, &ctx);
        assert_eq!(r.accepted, r.failures.is_empty());
        if r.accepted {
            // Only content signed by ci-bot under the registered policy can be accepted.
            assert_eq!(r.evidence_root, f.evidence_root);
        }
        return;
    }
    let mut cert = f.cert.clone();
    for edit in rest.chunks_exact(3) {
        let at = u16::from_le_bytes([edit[0], edit[1]]) as usize % cert.len();
        cert[at] = edit[2];
    }
    let r = maat_v1::check(&cert, &f.registry, &ctx);
    if r.accepted {
        // Edits may reshape the unsigned proof or request metadata, never the signed evidence
        // or the registered policy.
        assert_eq!(r.evidence_root, f.evidence_root, "edited evidence accepted");
        assert_eq!(r.policy_root, f.policy_root, "edited policy accepted");
    }
});
