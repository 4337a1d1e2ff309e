//! Policy operations: by an admin or an owner of the service, WF(P), signers, versions.

mod common;

use common::*;
use maat_certificate::maat_v1::{Registry, parse_policy, policy_root};
use maat_ledger::state::{keys, policy_record, read_record};
use maat_ledger::{Rejection, TxSubject};
use maat_proto::tx::body;
use maat_proto::v1::{self, tx_body::Kind};

#[test]
fn admin_registers_and_updates_a_policy() {
    let mut c = Chain::new();
    let out = c.commit(BLOCK_MS, &[c.admin_tx(policy_body())]);
    assert_eq!(
        out.txs[0].effects.subject,
        TxSubject::Policy {
            service: "checkout".into(),
            environment: "production".into(),
            version: 1
        }
    );
    let rec = policy_record(&c.state, "checkout", "production")
        .unwrap()
        .unwrap();
    let root = policy_root(&parse_policy(POLICY.as_bytes()).unwrap());
    assert_eq!(rec.version, 1);
    assert_eq!(rec.policy_root, root);
    assert_eq!(rec.signers.len(), SIGNERS.len());
    let reg = c.ledger.registry(&c.state);
    let rp = reg.policy("checkout", "production").expect("registered");
    assert_eq!(rp.policy_root, root);
    assert!(rp.signers["test_result"].identities.contains("ci-bot"));
    assert!(rp.signers["scan_report"].roles.contains("scanner"));
    assert!(reg.policy("checkout", "staging").is_none());

    // Version 2 with other signers; version 1 stays readable.
    let v2 = body::policy(
        "checkout",
        "production",
        POLICY.as_bytes().to_vec(),
        &[("test_result", &[], &["qa"])],
    );
    c.commit(BLOCK_MS, &[c.admin_tx(v2)]);
    let rec = policy_record(&c.state, "checkout", "production")
        .unwrap()
        .unwrap();
    assert_eq!(rec.version, 2);
    let old: v1::PolicyRecord =
        read_record(&c.state, &keys::policy_version("checkout", "production", 1))
            .unwrap()
            .unwrap();
    assert_eq!(old.version, 1);
    assert_eq!(old.signers.len(), SIGNERS.len());
}

#[test]
fn owners_register_their_service_only() {
    let mut c = Chain::new();
    let (o, p) = (ed(1), ed(2));
    c.commit(
        BLOCK_MS,
        &[
            c.tx(
                &c.admin,
                "admin-0",
                1,
                body::register("owner", &o.public(), &["owner:checkout"]),
            ),
            c.tx(
                &c.admin,
                "admin-0",
                2,
                body::register("plain", &p.public(), &["checkout"]),
            ),
        ],
    );
    assert!(
        c.check(&c.tx(&o, "owner", 1, policy_body()), BLOCK_MS)
            .is_ok()
    );
    let other = body::policy(
        "billing",
        "production",
        POLICY.as_bytes().to_vec(),
        &SIGNERS,
    );
    let r = c.reject(&c.tx(&o, "owner", 1, other), BLOCK_MS);
    assert_eq!(
        r,
        Rejection::NotAdminOrOwner {
            submitter: "owner".into(),
            service: "billing".into()
        }
    );
    assert_eq!(r.code(), "NOT_ADMIN_OR_OWNER");
    assert_eq!(
        c.reject(&c.tx(&p, "plain", 1, policy_body()), BLOCK_MS)
            .code(),
        "NOT_ADMIN_OR_OWNER"
    );
}

fn policy_failures(c: &Chain, env: &str, json: &str) -> Vec<String> {
    let t = c.admin_tx(body::policy(
        "checkout",
        env,
        json.as_bytes().to_vec(),
        &SIGNERS,
    ));
    match c.reject(&t, BLOCK_MS) {
        Rejection::PolicyInvalid { failures } => failures,
        other => panic!("expected POLICY_INVALID, got {other:?}"),
    }
}

#[test]
fn policies_must_pass_wf() {
    let c = Chain::new();
    let bad_version = POLICY.replace(r#""version":1"#, r#""version":0"#);
    assert_eq!(
        policy_failures(&c, "production", &bad_version),
        ["POLICY_VERSION_INVALID"]
    );
    let bad_rule_set = POLICY.replace("pod-v1", "pod-v9");
    assert_eq!(
        policy_failures(&c, "production", &bad_rule_set),
        ["POLICY_RULE_SET_UNSUPPORTED"]
    );
    let unknown_predicate = POLICY.replace(r#""name":"test_passed""#, r#""name":"tests_passed""#);
    let f = policy_failures(&c, "production", &unknown_predicate);
    assert!(
        f.iter().any(|c| c.starts_with("POLICY_PREDICATE_UNKNOWN")),
        "{f:?}"
    );
    // The policy's environment must be the operation's.
    assert_eq!(
        policy_failures(&c, "staging", POLICY),
        ["POLICY_ENVIRONMENT_MISMATCH"]
    );
    // Strict parsing.
    assert_eq!(
        policy_failures(&c, "production", "{not json"),
        ["CERTIFICATE_JSON_MALFORMED"]
    );
    let unknown_field = POLICY.replacen('{', r#"{"extra":1,"#, 1);
    assert_eq!(
        policy_failures(&c, "production", &unknown_field),
        ["CERTIFICATE_FIELD_UNKNOWN:policy.extra"]
    );
    let r = c.reject(
        &c.admin_tx(body::policy(
            "checkout",
            "production",
            b"[]".to_vec(),
            &SIGNERS,
        )),
        BLOCK_MS,
    );
    assert_eq!(r.code(), "POLICY_INVALID");
    assert_eq!(r.numeric_code(), 1302);
}

#[test]
fn policy_fields_are_validated() {
    let c = Chain::new();
    let op = |service: &str, signers: Vec<v1::EvidenceSigners>| {
        c.admin_tx(Kind::PolicyOp(v1::PolicyOp {
            service: service.into(),
            environment: "production".into(),
            policy_json: POLICY.as_bytes().to_vec(),
            signers,
        }))
    };
    let s = |ty: &str, ids: &[&str], roles: &[&str]| v1::EvidenceSigners {
        evidence_type: ty.into(),
        identities: ids.iter().map(|x| (*x).to_owned()).collect(),
        roles: roles.iter().map(|x| (*x).to_owned()).collect(),
    };
    assert!(
        c.check(
            &op("checkout", vec![s("a", &["x"], &[]), s("b", &[], &["r"])]),
            BLOCK_MS
        )
        .is_ok()
    );
    assert!(
        c.check(&op("checkout", vec![]), BLOCK_MS).is_ok(),
        "no signers: nobody may sign"
    );
    for bad in [
        op("check out", vec![]),
        op("checkout", vec![s("b", &["x"], &[]), s("a", &["x"], &[])]),
        op("checkout", vec![s("a", &["x"], &[]), s("a", &["y"], &[])]),
        op("checkout", vec![s("a", &[], &[])]),
        op("checkout", vec![s("a", &["y", "x"], &[])]),
        op("checkout", vec![s("a", &[], &["r", "r"])]),
        op("checkout", vec![s("", &["x"], &[])]),
    ] {
        assert_eq!(c.reject(&bad, BLOCK_MS).code(), "TX_FIELD_INVALID");
    }
}
