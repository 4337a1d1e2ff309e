//! Admission (every accept and reject path, with its stable code), dedup, nonce sequencing,
//! quotas, eviction, batch selection and commits, on a real chain (generated genesis, real
//! keys, the real ledger).

mod common;

use std::collections::BTreeSet;

use common::{ADMIN, Chain, POLICY, policy_body, register_body};
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::attestation::{Envelope, PAYLOAD_TYPE_IN_TOTO, PREDICATE_SLSA_PROVENANCE_V1};
use maat_ledger::state::keys;
use maat_ledger::{
    ChainParams, KnownSignatures, MemoryState, Overlay, Rejection, StateError, StateView, TxKind,
};
use maat_mempool::{Mempool, MempoolConfig, MempoolError};
use maat_proto::tx::{body, key_to_proto, payload, sign};
use maat_proto::v1::{self, tx_body::Kind};
use maat_proto::{Message, TxId};

/// A chain with the checkout policy, CI identities `ci-0` and `ci-1`, a plain identity
/// `alice`, a revoked identity `gone`, and deployment `dep-done` finalized.
fn fixture() -> Chain {
    let mut c = Chain::new();
    c.setup_checkout(&["ci-0", "ci-1"]);
    c.register("alice", Algorithm::Ed25519, &[]);
    c.register("gone", Algorithm::Ed25519, &[]);
    let revoke = c.tx(ADMIN, c.next_nonce(ADMIN), body::revoke("gone"));
    c.commit(&[revoke]);
    let done = c.certificate_tx("ci-1", c.next_nonce("ci-1"), "dep-done");
    c.commit(&[done]);
    c
}

fn config(c: &Chain) -> MempoolConfig {
    MempoolConfig::for_chain(c.ledger.params())
}

fn admit(pool: &mut Mempool, c: &Chain, tx: &[u8]) -> Result<maat_mempool::Admitted, MempoolError> {
    pool.admit(tx, &c.state, c.time_ms)
}

fn code(r: Result<maat_mempool::Admitted, MempoolError>) -> &'static str {
    match r {
        Ok(a) => panic!("admitted {a:?}, expected a rejection"),
        Err(e) => e.code(),
    }
}

/// Agent `agent`'s audit record at `sequence` after `previous_hash`, dated `time_ms`.
fn audit_rec(
    agent: &str,
    sequence: u64,
    previous_hash: [u8; 32],
    time_ms: u64,
) -> v1::AuditRecordTx {
    v1::AuditRecordTx {
        agent_id: agent.into(),
        session_id: "s-1".into(),
        event_type: "gate_decision".into(),
        risk: "high".into(),
        timestamp_ms: time_ms,
        sequence,
        previous_hash: previous_hash.to_vec(),
        data_json: br#"{"decision":"deny"}"#.to_vec(),
        salt: vec![sequence as u8; 32],
    }
}

/// `audit_rec(agent, 1, zero, time_ms)` edited by `edit`, as a body.
fn first_audit(agent: &str, time_ms: u64, edit: impl FnOnce(&mut v1::AuditRecordTx)) -> Kind {
    let mut r = audit_rec(agent, 1, [0; 32], time_ms);
    edit(&mut r);
    body::audit_record(r)
}

/// A state whose reads fail.
struct Broken;

impl StateView for Broken {
    fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Err(StateError::Read("disk on fire".into()))
    }
}

// ---------------------------------------------------------------------------------------------
// Accept paths, one per kind and operation, each committed through a selected batch.

#[test]
fn every_kind_is_admitted_selected_and_applies() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    let new_key = c.new_key(Algorithm::MlDsa65);
    let rotate_to = c.new_key(Algorithm::Ed25519);
    let admin_n = c.next_nonce(ADMIN);
    let alice_n = c.next_nonce("alice");
    let ci_n = c.next_nonce("ci-0");
    // Two audit records of ci-0's chain: the second is admitted while the first is pending.
    let rec1 = audit_rec("ci-0", 1, [0; 32], c.time_ms);
    let h1 = maat_ledger::audit::record_hash(&c.chain_id(), &rec1).expect("valid");
    let rec2 = audit_rec("ci-0", 2, h1, c.time_ms);
    let txs = [
        (c.certificate_tx("ci-0", ci_n, "dep-1"), TxKind::Certificate),
        (
            c.tx("ci-0", ci_n + 1, body::audit_record(rec1)),
            TxKind::AuditRecord,
        ),
        (
            c.tx("ci-0", ci_n + 2, body::audit_record(rec2)),
            TxKind::AuditRecord,
        ),
        (
            c.tx(
                ADMIN,
                admin_n,
                body::register("bob", &new_key.public(), &["ci"]),
            ),
            TxKind::IdentityOp,
        ),
        (
            c.tx(
                ADMIN,
                admin_n + 1,
                policy_body(&POLICY.replace("\"version\": 1", "\"version\": 2")),
            ),
            TxKind::PolicyOp,
        ),
        (
            c.tx("alice", alice_n, body::rotate("alice", &rotate_to.public())),
            TxKind::IdentityOp,
        ),
        (
            c.tx_signed_by(&rotate_to, "alice", alice_n + 1, body::revoke("alice")),
            TxKind::IdentityOp,
        ),
        (
            c.tx(ADMIN, admin_n + 2, body::revoke("ci-1")),
            TxKind::IdentityOp,
        ),
    ];
    for (tx, kind) in &txs {
        let a = admit(&mut pool, &c, tx).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(a.kind, *kind);
        assert_eq!(a.size, tx.len());
        assert!(a.evicted.is_empty());
    }
    assert_eq!(pool.len(), txs.len());
    let batch = pool
        .select_batch(usize::MAX, usize::MAX, &c.state, c.time_ms)
        .expect("state");
    assert_eq!(batch.txs.len(), txs.len(), "skipped: {:?}", batch.skipped);
    let outcome = c.commit(&batch.txs);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    assert_eq!(report.committed.len(), txs.len());
    assert!(pool.is_empty() && pool.bytes() == 0);
    assert_eq!(c.next_nonce(ADMIN), admin_n + 3);
}

// ---------------------------------------------------------------------------------------------
// Reject paths: every code the RPC can return, each produced by a real transaction.

/// An in-toto Statement v1 with a SLSA Provenance v1 predicate (compact JSON).
const SLSA_STATEMENT: &str = concat!(
    r#"{"_type":"https://in-toto.io/Statement/v1","#,
    r#""subject":[{"name":"app.tar","digest":{"sha256":"#,
    r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}],"#,
    r#""predicateType":"https://slsa.dev/provenance/v1","#,
    r#""predicate":{"buildDefinition":{"buildType":"https://ci.example.com/build/v1","#,
    r#""externalParameters":{}},"runDetails":{"builder":{"id":"https://ci.example.com/builder"}}}}"#
);

fn attestation_envelope(
    statement: &str,
    payload_type: &str,
    keyid: &str,
    key: &KeyPair,
) -> Envelope {
    Envelope::sign(payload_type, statement.as_bytes().to_vec(), keyid, key)
}

fn attestation(statement: &str, payload_type: &str, keyid: &str, key: &KeyPair) -> Kind {
    Kind::Attestation(attestation_envelope(statement, payload_type, keyid, key).to_proto())
}

fn reject_cases(c: &mut Chain) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let admin_n = c.next_nonce(ADMIN);
    let alice_n = c.next_nonce("alice");
    let ci_n = c.next_nonce("ci-0");
    let stranger = KeyPair::from_seed(Algorithm::Ed25519, &[99; 32]);
    let some_key = c.new_key(Algorithm::Ed25519);
    let chain_id = c.chain_id();
    let now = c.time_ms;

    let non_canonical = {
        let mut tx = c.tx(ADMIN, admin_n, body::revoke("alice"));
        tx.extend_from_slice(&[0x18, 0x01]); // an unknown field 3
        tx
    };
    let other_chain = sign(
        payload("other-chain", ADMIN, admin_n, body::revoke("alice")),
        c.key(ADMIN),
    )
    .encode_to_vec();
    let no_kind = sign(
        v1::TxPayload {
            chain_id: chain_id.clone(),
            submitter: ADMIN.into(),
            nonce: admin_n,
            body: Some(v1::TxBody { kind: None }),
        },
        c.key(ADMIN),
    )
    .encode_to_vec();
    let bad_key = Kind::IdentityOp(v1::IdentityOp {
        op: Some(v1::identity_op::Op::Register(v1::RegisterIdentity {
            id: "carol".into(),
            public_key: Some(v1::PublicKey {
                algorithm: key_to_proto(&some_key.public()).algorithm,
                key: vec![1, 2, 3],
            }),
            roles: vec![],
        })),
    });
    let alice_key = c.key("alice").public();
    let other_cert = c.certificate_json("ci-1", "dep-x");
    vec![
        (
            "TX_TOO_LARGE",
            "identity op over its kind's limit",
            c.tx(ADMIN, admin_n, register_body("big", &some_key, 200, 120)),
        ),
        ("TX_MALFORMED", "not protobuf", vec![0xff, 0xff, 0xff]),
        ("TX_NON_CANONICAL", "unknown field appended", non_canonical),
        ("TX_CHAIN_ID_MISMATCH", "other chain", other_chain),
        ("TX_KIND_MISSING", "empty body", no_kind),
        (
            "TX_FIELD_INVALID",
            "id with a space",
            c.tx(
                ADMIN,
                admin_n,
                body::register("bad id", &some_key.public(), &[]),
            ),
        ),
        (
            "SUBMITTER_UNKNOWN",
            "unregistered",
            c.tx_signed_by(&stranger, "nobody", 1, body::revoke("nobody")),
        ),
        (
            "SUBMITTER_REVOKED",
            "revoked",
            c.tx("gone", 1, body::revoke("gone")),
        ),
        (
            "TX_NONCE_INVALID",
            "gap",
            c.tx(ADMIN, admin_n + 1, body::revoke("alice")),
        ),
        (
            "TX_NONCE_INVALID",
            "replay of a consumed nonce",
            c.tx(ADMIN, admin_n - 1, body::revoke("alice")),
        ),
        (
            "TX_SIGNATURE_INVALID",
            "signed by another key",
            c.tx_signed_by(&stranger, ADMIN, admin_n, body::revoke("alice")),
        ),
        (
            "NOT_ADMIN",
            "register by a non-admin",
            c.tx(
                "alice",
                alice_n,
                body::register("carol", &some_key.public(), &[]),
            ),
        ),
        (
            "NOT_AUTHORIZED",
            "rotate another identity",
            c.tx("alice", alice_n, body::rotate("ci-0", &some_key.public())),
        ),
        (
            "NOT_AUTHORIZED",
            "revoke another identity",
            c.tx("alice", alice_n, body::revoke("ci-0")),
        ),
        (
            "IDENTITY_EXISTS",
            "register twice",
            c.tx(
                ADMIN,
                admin_n,
                body::register("alice", &some_key.public(), &[]),
            ),
        ),
        (
            "IDENTITY_EXISTS",
            "ids are never reused",
            c.tx(
                ADMIN,
                admin_n,
                body::register("gone", &some_key.public(), &[]),
            ),
        ),
        (
            "IDENTITY_UNKNOWN",
            "revoke nobody",
            c.tx(ADMIN, admin_n, body::revoke("nobody")),
        ),
        (
            "IDENTITY_REVOKED",
            "revoke twice",
            c.tx(ADMIN, admin_n, body::revoke("gone")),
        ),
        ("KEY_INVALID", "3-byte key", c.tx(ADMIN, admin_n, bad_key)),
        (
            "KEY_REUSED",
            "rotate to the active key",
            c.tx("alice", alice_n, body::rotate("alice", &alice_key)),
        ),
        (
            "NOT_ADMIN_OR_OWNER",
            "policy by a non-owner",
            c.tx("alice", alice_n, policy_body(POLICY)),
        ),
        (
            "POLICY_INVALID",
            "empty policy",
            c.tx(ADMIN, admin_n, policy_body("{}")),
        ),
        (
            "CERTIFICATE_REJECTED",
            "not JSON",
            c.tx("ci-0", ci_n, body::certificate(b"not json".to_vec())),
        ),
        (
            "CERTIFICATE_REJECTED",
            "evidence signer lacks role ci",
            c.tx(
                "alice",
                alice_n,
                body::certificate(c.certificate_json("alice", "dep-a")),
            ),
        ),
        (
            "REQUESTED_BY_MISMATCH",
            "certificate of another requester",
            c.tx("ci-0", ci_n, body::certificate(other_cert)),
        ),
        (
            "DEPLOYMENT_DUPLICATE",
            "already finalized",
            c.certificate_tx("ci-0", ci_n, "dep-done"),
        ),
        (
            "AUDIT_AGENT_MISMATCH",
            "a record for another agent's chain",
            c.tx("alice", alice_n, first_audit("ci-0", now, |_| ())),
        ),
        (
            "AUDIT_SEQUENCE_INVALID",
            "a gap",
            c.tx(
                "alice",
                alice_n,
                first_audit("alice", now, |r| r.sequence = 2),
            ),
        ),
        (
            "AUDIT_PREVIOUS_HASH_MISMATCH",
            "a first record naming a predecessor",
            c.tx(
                "alice",
                alice_n,
                first_audit("alice", now, |r| r.previous_hash = vec![1; 32]),
            ),
        ),
        (
            "AUDIT_EVENT_TYPE_UNKNOWN",
            "event type `deploy`",
            c.tx(
                "alice",
                alice_n,
                first_audit("alice", now, |r| r.event_type = "deploy".into()),
            ),
        ),
        (
            "AUDIT_RISK_INVALID",
            "risk `severe`",
            c.tx(
                "alice",
                alice_n,
                first_audit("alice", now, |r| r.risk = "severe".into()),
            ),
        ),
        (
            "AUDIT_DATA_INVALID",
            "data is an array",
            c.tx(
                "alice",
                alice_n,
                first_audit("alice", now, |r| r.data_json = b"[]".to_vec()),
            ),
        ),
        (
            "AUDIT_TIMESTAMP_INVALID",
            "dated an hour after the block",
            c.tx(
                "alice",
                alice_n,
                first_audit("alice", now + 3_600_000, |_| ()),
            ),
        ),
        (
            "ATTESTATION_ENVELOPE_INVALID",
            "no signature",
            c.tx(ADMIN, admin_n, {
                let mut env = attestation_envelope(
                    SLSA_STATEMENT,
                    PAYLOAD_TYPE_IN_TOTO,
                    "alice",
                    c.key("alice"),
                );
                env.signatures.clear();
                Kind::Attestation(env.to_proto())
            }),
        ),
        (
            "ATTESTATION_PAYLOAD_TYPE_INVALID",
            "plain JSON payload type",
            c.tx(
                ADMIN,
                admin_n,
                attestation(SLSA_STATEMENT, "application/json", "alice", c.key("alice")),
            ),
        ),
        (
            "ATTESTATION_STATEMENT_INVALID",
            "empty statement",
            c.tx(
                ADMIN,
                admin_n,
                attestation("{}", PAYLOAD_TYPE_IN_TOTO, "alice", c.key("alice")),
            ),
        ),
        (
            "ATTESTATION_PREDICATE_FORBIDDEN",
            "predicate type the chain does not admit",
            c.tx(
                ADMIN,
                admin_n,
                attestation(
                    &SLSA_STATEMENT
                        .replace(PREDICATE_SLSA_PROVENANCE_V1, "https://example.com/other/v1"),
                    PAYLOAD_TYPE_IN_TOTO,
                    "alice",
                    c.key("alice"),
                ),
            ),
        ),
        (
            "ATTESTATION_PREDICATE_INVALID",
            "SLSA provenance without a builder id",
            c.tx(
                ADMIN,
                admin_n,
                attestation(
                    &SLSA_STATEMENT.replace(
                        r#""id":"https://ci.example.com/builder""#,
                        r#""version":{}"#,
                    ),
                    PAYLOAD_TYPE_IN_TOTO,
                    "alice",
                    c.key("alice"),
                ),
            ),
        ),
        (
            "ATTESTATION_SIGNER_UNKNOWN",
            "keyid of no identity",
            c.tx(
                ADMIN,
                admin_n,
                attestation(SLSA_STATEMENT, PAYLOAD_TYPE_IN_TOTO, "nobody", &stranger),
            ),
        ),
        (
            "ATTESTATION_SIGNER_REVOKED",
            "keyid of a revoked identity",
            c.tx(
                ADMIN,
                admin_n,
                attestation(SLSA_STATEMENT, PAYLOAD_TYPE_IN_TOTO, "gone", c.key("gone")),
            ),
        ),
        (
            "ATTESTATION_SIGNATURE_INVALID",
            "alice's keyid, another key's signature",
            c.tx(
                ADMIN,
                admin_n,
                attestation(SLSA_STATEMENT, PAYLOAD_TYPE_IN_TOTO, "alice", &stranger),
            ),
        ),
    ]
}

#[test]
fn every_ledger_rejection_is_returned_with_its_stable_code() {
    let mut c = fixture();
    let mut seen = BTreeSet::new();
    for (want, what, tx) in reject_cases(&mut c) {
        let mut pool = c.mempool(None);
        let err = admit(&mut pool, &c, &tx).expect_err(what);
        assert_eq!(err.code(), want, "{what}: {err}");
        let rejection = err
            .rejection()
            .unwrap_or_else(|| panic!("{what}: not a ledger rejection"));
        assert_eq!(err.numeric_code(), rejection.numeric_code());
        assert!(pool.is_empty(), "{what}");
        assert_eq!(pool.stats().rejected_by_code.get(want), Some(&1), "{what}");
        seen.insert(want);
    }
    // KIND_UNSUPPORTED is reserved for kinds added later: every kind of this version is
    // supported, so no transaction can produce it.
    let all: BTreeSet<&str> = Rejection::CODES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| *c != "KIND_UNSUPPORTED")
        .collect();
    assert_eq!(seen, all, "every ledger code has an admission test");
}

#[test]
fn rejected_certificates_carry_the_checker_codes() {
    let c = fixture();
    let mut pool = c.mempool(None);
    let tx = c.tx(
        "alice",
        c.next_nonce("alice"),
        body::certificate(c.certificate_json("alice", "dep-a")),
    );
    let err = admit(&mut pool, &c, &tx).expect_err("unauthorized signer");
    assert!(
        err.detail_codes()
            .iter()
            .any(|d| d.starts_with("EVIDENCE_SIGNER_UNAUTHORIZED")),
        "{:?}",
        err.detail_codes()
    );
    // Evidence too old for the policy's freshness window at the block time.
    let tx = c.certificate_tx("ci-0", c.next_nonce("ci-0"), "dep-b");
    let err = pool
        .admit(&tx, &c.state, c.time_ms + 4000 * 1000)
        .expect_err("stale scan report");
    assert_eq!(err.code(), "CERTIFICATE_REJECTED");
    assert!(!err.detail_codes().is_empty());
}

#[test]
fn mempool_codes_are_stable_and_distinct_from_the_ledger() {
    assert_eq!(
        MempoolError::CODES,
        [
            ("TX_ALREADY_PENDING", 1501),
            ("SUBMITTER_QUOTA_EXCEEDED", 1502),
            ("MEMPOOL_FULL", 1503),
            ("STATE_UNAVAILABLE", 1504),
        ]
    );
    for (code, n) in MempoolError::CODES {
        assert!(Rejection::CODES.iter().all(|(c, m)| *c != code && *m != n));
    }
}

#[test]
fn oversized_transactions_are_refused_before_decoding() {
    let c = fixture();
    let mut cfg = config(&c);
    cfg.max_tx_bytes = 100;
    let mut pool = Mempool::new(cfg, c.ledger.clone()).expect("config");
    // Not even a transaction: refused on size alone.
    let err = admit(&mut pool, &c, &[0u8; 101]).expect_err("too large");
    assert_eq!((err.code(), err.numeric_code()), ("TX_TOO_LARGE", 1001));
    assert_eq!(
        err,
        MempoolError::Rejected(Rejection::TooLarge {
            kind: None,
            size: 101,
            max: 100
        })
    );
}

#[test]
fn state_read_failures_are_not_rejections() {
    let c = fixture();
    let mut pool = c.mempool(None);
    let tx = c.tx(ADMIN, 1, body::revoke("alice"));
    let err = pool.admit(&tx, &Broken, c.time_ms).expect_err("unreadable");
    assert_eq!(
        (err.code(), err.numeric_code()),
        ("STATE_UNAVAILABLE", 1504)
    );
    assert!(err.rejection().is_none() && err.is_transient());
    assert!(pool.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Dedup

#[test]
fn a_resubmission_is_a_duplicate_whatever_its_signature() {
    let mut c = fixture();
    c.register("pq", Algorithm::MlDsa65, &[]);
    let mut pool = c.mempool(None);
    let n = c.next_nonce("pq");
    // ML-DSA signing is hedged: two signatures of one payload differ, the id does not.
    let first = c.tx("pq", n, body::revoke("pq"));
    let second = c.tx("pq", n, body::revoke("pq"));
    assert_ne!(first, second);
    let a = admit(&mut pool, &c, &first).expect("first");
    assert_eq!(
        admit(&mut pool, &c, &first),
        Err(MempoolError::AlreadyPending(a.tx_id))
    );
    assert_eq!(
        admit(&mut pool, &c, &second),
        Err(MempoolError::AlreadyPending(a.tx_id))
    );
    // Even with a signature that does not verify: refused as a duplicate, before any work.
    let forged = c.tx_signed_by(c.key(ADMIN), "pq", n, body::revoke("pq"));
    let err = admit(&mut pool, &c, &forged).expect_err("dup");
    assert_eq!(
        (err.code(), err.numeric_code()),
        ("TX_ALREADY_PENDING", 1501)
    );
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.stats().signature_verifications, 1);
}

// ---------------------------------------------------------------------------------------------
// Nonces

#[test]
fn consecutive_nonces_are_admitted_while_earlier_ones_are_pending() {
    let c = fixture();
    let mut pool = c.mempool(None);
    let n = c.next_nonce("ci-0");
    for i in 0..4 {
        let tx = c.certificate_tx("ci-0", n + i, &format!("dep-{i}"));
        admit(&mut pool, &c, &tx).unwrap_or_else(|e| panic!("nonce {}: {e}", n + i));
        assert_eq!(pool.next_nonce(&c.state, "ci-0"), Ok(n + i + 1));
    }
    // A gap, a reused pending nonce, a consumed nonce: the ledger's TX_NONCE_INVALID, whose
    // `expected` is the next usable nonce.
    for bad in [n + 5, n + 2, n - 1] {
        let tx = c.certificate_tx("ci-0", bad, "dep-other");
        assert_eq!(
            admit(&mut pool, &c, &tx),
            Err(MempoolError::Rejected(Rejection::NonceInvalid {
                expected: n + 4,
                got: bad
            }))
        );
    }
    // Own pending state counts: a second certificate for a pending deployment is a duplicate.
    let again = c.certificate_tx("ci-0", n + 4, "dep-2");
    assert_eq!(code(admit(&mut pool, &c, &again)), "DEPLOYMENT_DUPLICATE");
    assert_eq!(pool.pending_of("ci-0").len(), 4);
}

#[test]
fn after_a_pending_rotation_the_new_key_signs() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    let n = c.next_nonce("alice");
    let new = c.new_key(Algorithm::MlDsa65);
    admit(
        &mut pool,
        &c,
        &c.tx("alice", n, body::rotate("alice", &new.public())),
    )
    .expect("rotate");
    // Signed by the key that is active in the committed state.
    let by_old = c.tx("alice", n + 1, body::revoke("alice"));
    assert_eq!(code(admit(&mut pool, &c, &by_old)), "TX_SIGNATURE_INVALID");
    let by_new = c.tx_signed_by(&new, "alice", n + 1, body::revoke("alice"));
    admit(&mut pool, &c, &by_new).expect("signed by the new key");
    let verifications = pool.stats().signature_verifications;
    // Committing the rotation keeps the next one and does not verify it again.
    let batch = pool
        .select_batch(usize::MAX, 1, &c.state, c.time_ms)
        .expect("state");
    let outcome = c.commit(&batch.txs);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    assert!(report.dropped.is_empty(), "{report:?}");
    assert_eq!(pool.len(), 1);
    let report = pool.on_commit_ids(&[], &c.state, c.time_ms);
    assert_eq!((report.rechecked, report.dropped.len()), (1, 0));
    assert_eq!(pool.stats().signature_verifications, verifications);
}

// ---------------------------------------------------------------------------------------------
// Quotas, eviction, fairness

fn small_pool(c: &Chain, max_txs: usize, per_submitter: usize) -> Mempool {
    let mut cfg = config(c);
    cfg.max_txs = max_txs;
    cfg.max_txs_per_submitter = per_submitter;
    Mempool::new(cfg, c.ledger.clone()).expect("config")
}

/// `count` register operations from `admin`, consecutive nonces from the committed one.
fn registrations(c: &mut Chain, admin: &str, count: usize, roles: usize) -> Vec<Vec<u8>> {
    let n = c.next_nonce(admin);
    (0..count)
        .map(|i| {
            let key = c.new_key(Algorithm::Ed25519);
            c.tx(
                admin,
                n + i as u64,
                register_body(&format!("{admin}-u{i}"), &key, roles, 8),
            )
        })
        .collect()
}

#[test]
fn one_submitter_cannot_exceed_its_quota_and_others_still_get_in() {
    let mut c = Chain::with(ChainParams::default(), 3);
    let mut pool = small_pool(&c, 20, 5);
    let flood = registrations(&mut c, "admin-0", 12, 0);
    for (i, tx) in flood.iter().enumerate() {
        let r = admit(&mut pool, &c, tx);
        if i < 5 {
            r.expect("within quota");
        } else {
            let err = r.expect_err("over quota");
            assert_eq!(
                (err.code(), err.numeric_code()),
                ("SUBMITTER_QUOTA_EXCEEDED", 1502)
            );
            assert!(err.is_transient());
        }
    }
    assert_eq!(pool.usage("admin-0").txs, 5);
    for admin in ["admin-1", "admin-2"] {
        for tx in registrations(&mut c, admin, 2, 0) {
            admit(&mut pool, &c, &tx).expect("others get in");
        }
    }
    assert_eq!(pool.len(), 9);
    // Byte quota too.
    let mut cfg = config(&c);
    cfg.max_tx_bytes = 1000;
    cfg.max_bytes_per_submitter = 1000;
    let mut pool = Mempool::new(cfg, c.ledger.clone()).expect("config");
    let (mut held, mut refused) = (0, 0);
    for tx in registrations(&mut c, "admin-0", 9, 0) {
        match admit(&mut pool, &c, &tx) {
            Ok(a) => held += a.size,
            Err(e) => {
                assert_eq!(e.code(), "SUBMITTER_QUOTA_EXCEEDED");
                refused += 1;
            }
        }
    }
    assert!(refused > 0 && held > 0);
    assert_eq!(pool.usage("admin-0").bytes, held);
    assert!(held <= 1000);
}

#[test]
fn a_full_pool_evicts_the_newest_of_the_largest_holder_only_for_a_smaller_one() {
    let mut c = Chain::with(ChainParams::default(), 3);
    let mut pool = small_pool(&c, 6, 4);
    let a0 = registrations(&mut c, "admin-0", 4, 0);
    let a1 = registrations(&mut c, "admin-1", 3, 0);
    let a2 = registrations(&mut c, "admin-2", 3, 0);
    for tx in a0.iter().chain(&a1[..2]) {
        admit(&mut pool, &c, tx).expect("room");
    }
    assert_eq!(pool.len(), 6);
    let ids0 = pool.pending_of("admin-0");
    // admin-2 (holding 0, would hold 1) evicts admin-0's newest (admin-0 holds 4).
    let a = admit(&mut pool, &c, &a2[0]).expect("evicts");
    assert_eq!(a.evicted, vec![ids0[3]]);
    // admin-2 (would hold 2) evicts admin-0's newest again (admin-0 holds 3).
    let a = admit(&mut pool, &c, &a2[1]).expect("evicts");
    assert_eq!(a.evicted, vec![ids0[2]]);
    assert_eq!(pool.pending_of("admin-0"), ids0[..2].to_vec());
    // Now everybody holds 2: nobody holds more than a newcomer would (3), so nothing moves.
    for tx in [&a2[2], &a1[2], &a0[2]] {
        let err = admit(&mut pool, &c, tx).expect_err("full");
        assert_eq!((err.code(), err.numeric_code()), ("MEMPOOL_FULL", 1503));
    }
    assert_eq!(pool.len(), 6);
    let stats = pool.stats();
    assert_eq!((stats.evicted, stats.admitted), (2, 8));
    // The chain left is still gapless and applies.
    let batch = pool
        .select_batch(usize::MAX, usize::MAX, &c.state, c.time_ms)
        .expect("state");
    assert_eq!(batch.txs.len(), 6);
    c.ledger
        .apply_block(&c.state, c.time_ms, &batch.txs, &c.log)
        .expect("applies");
}

#[test]
fn eviction_never_goes_back_and_forth() {
    let mut c = Chain::with(ChainParams::default(), 3);
    let mut pool = small_pool(&c, 4, 2);
    let a0 = registrations(&mut c, "admin-0", 2, 0);
    let a1 = registrations(&mut c, "admin-1", 2, 0);
    let a2 = registrations(&mut c, "admin-2", 1, 0);
    for tx in a0.iter().chain(&a1) {
        admit(&mut pool, &c, tx).expect("room");
    }
    let ids0 = pool.pending_of("admin-0");
    // admin-2 would hold 1, admin-0 holds 2 (tie with admin-1; the smaller id loses).
    assert_eq!(
        admit(&mut pool, &c, &a2[0]).expect("evicts").evicted,
        vec![ids0[1]]
    );
    // admin-0 wants its transaction back: it would hold 2, as much as admin-1 holds: refused.
    assert_eq!(code(admit(&mut pool, &c, &a0[1])), "MEMPOOL_FULL");
    assert_eq!(pool.usage("admin-0").txs, 1);
    assert_eq!(pool.usage("admin-1").txs, 2);
    assert_eq!(pool.usage("admin-2").txs, 1);
}

#[test]
fn eviction_by_bytes_takes_from_the_largest_byte_holder() {
    let mut c = Chain::with(ChainParams::default(), 2);
    let big = registrations(&mut c, "admin-0", 3, 30);
    let small = registrations(&mut c, "admin-1", 2, 0);
    let mut cfg = config(&c);
    cfg.max_bytes = big.iter().map(Vec::len).sum::<usize>() + small[0].len();
    cfg.max_bytes_per_submitter = cfg.max_bytes;
    cfg.max_tx_bytes = cfg.max_bytes;
    let mut pool = Mempool::new(cfg, c.ledger.clone()).expect("config");
    for tx in big.iter().chain(&small[..1]) {
        admit(&mut pool, &c, tx).expect("room");
    }
    let ids0 = pool.pending_of("admin-0");
    let a = admit(&mut pool, &c, &small[1]).expect("a small holder gets in");
    assert_eq!(a.evicted, vec![ids0[2]]);
    assert!(pool.bytes() <= pool.config().max_bytes);
}

// ---------------------------------------------------------------------------------------------
// Batch selection

#[test]
fn batches_round_robin_between_submitters_in_nonce_order() {
    let mut c = Chain::with(ChainParams::default(), 3);
    let mut pool = c.mempool(None);
    let a0 = registrations(&mut c, "admin-0", 5, 0);
    let a1 = registrations(&mut c, "admin-1", 2, 0);
    let a2 = registrations(&mut c, "admin-2", 1, 0);
    // admin-0 floods first; the others arrive later.
    for tx in a0.iter().chain(&a1).chain(&a2) {
        admit(&mut pool, &c, tx).expect("room");
    }
    let batch = pool
        .select_batch(usize::MAX, 6, &c.state, c.time_ms)
        .expect("state");
    let order: Vec<(&str, u64)> = batch
        .txs
        .iter()
        .map(|t| (t.submitter.as_str(), t.nonce))
        .collect();
    assert_eq!(
        order,
        [
            ("admin-0", 1),
            ("admin-1", 1),
            ("admin-2", 1),
            ("admin-0", 2),
            ("admin-1", 2),
            ("admin-0", 3)
        ]
    );
    assert!(batch.skipped.is_empty());
    assert_eq!(
        batch.bytes,
        batch.txs.iter().map(|t| t.bytes.len()).sum::<usize>()
    );
    c.ledger
        .apply_block(&c.state, c.time_ms, &batch.txs, &c.log)
        .expect("applies in sequence");
}

#[test]
fn batches_respect_the_byte_limit_and_let_smaller_transactions_through() {
    let mut c = Chain::with(ChainParams::default(), 2);
    let mut pool = c.mempool(None);
    let big = registrations(&mut c, "admin-0", 2, 30);
    let small = registrations(&mut c, "admin-1", 3, 0);
    for tx in big.iter().chain(&small) {
        admit(&mut pool, &c, tx).expect("room");
    }
    let limit = big[0].len() + small[0].len() + small[1].len();
    let batch = pool
        .select_batch(limit, usize::MAX, &c.state, c.time_ms)
        .expect("state");
    let order: Vec<(&str, u64)> = batch
        .txs
        .iter()
        .map(|t| (t.submitter.as_str(), t.nonce))
        .collect();
    // admin-0's second does not fit: admin-0 is done, admin-1 continues.
    assert_eq!(order, [("admin-0", 1), ("admin-1", 1), ("admin-1", 2)]);
    assert!(batch.bytes <= limit);
    // The chain's own limits apply as well.
    let params = ChainParams {
        max_block_txs: 2,
        ..ChainParams::default()
    };
    let mut c2 = Chain::with(params, 1);
    let mut pool2 = c2.mempool(None);
    for tx in registrations(&mut c2, "admin-0", 3, 0) {
        admit(&mut pool2, &c2, &tx).expect("room");
    }
    let batch = pool2
        .select_batch(usize::MAX, usize::MAX, &c2.state, c2.time_ms)
        .expect("state");
    assert_eq!(batch.txs.len(), 2);
}

#[test]
fn batches_skip_what_pending_ancestors_include() {
    let mut c = Chain::with(ChainParams::default(), 1);
    let mut pool = c.mempool(None);
    for tx in registrations(&mut c, ADMIN, 4, 0) {
        admit(&mut pool, &c, &tx).expect("room");
    }
    let first = pool
        .select_batch(usize::MAX, 2, &c.state, c.time_ms)
        .expect("state");
    // The parent block (not committed) holds the first two: the child takes the next two.
    let parent = c
        .ledger
        .apply_block(&c.state, c.time_ms, &first.txs, &c.log)
        .expect("parent");
    let after_parent = Overlay::with_writes(&c.state, parent.writes.clone());
    let second = pool
        .select_batch(usize::MAX, usize::MAX, &after_parent, c.time_ms + 1)
        .expect("state");
    let nonces: Vec<u64> = second.txs.iter().map(|t| t.nonce).collect();
    assert_eq!(nonces, [3, 4]);
    assert!(second.skipped.is_empty());
    c.ledger
        .apply_block(&after_parent, c.time_ms + 1, &second.txs, &parent.log)
        .expect("child applies");
}

#[test]
fn a_failing_transaction_is_skipped_with_its_submitters_later_ones() {
    let c = fixture();
    let mut pool = c.mempool(None);
    let n = c.next_nonce("ci-0");
    for i in 0..3 {
        admit(
            &mut pool,
            &c,
            &c.certificate_tx("ci-0", n + i, &format!("dep-{i}")),
        )
        .expect("room");
    }
    admit(
        &mut pool,
        &c,
        &c.certificate_tx("ci-1", c.next_nonce("ci-1"), "dep-9"),
    )
    .expect("room");
    // An admin revokes ci-0 in the pending parent: ci-0's transactions are skipped, ci-1's
    // goes in; nothing leaves the pool (the parent may never commit).
    let revoke = c.tx(ADMIN, c.next_nonce(ADMIN), body::revoke("ci-0"));
    let parent = c
        .ledger
        .apply_block(&c.state, c.time_ms, &[revoke], &c.log)
        .expect("parent");
    let view = Overlay::with_writes(&c.state, parent.writes.clone());
    let batch = pool
        .select_batch(usize::MAX, usize::MAX, &view, c.time_ms)
        .expect("state");
    assert_eq!(batch.txs.len(), 1);
    assert_eq!(batch.txs[0].submitter, "ci-1");
    assert_eq!(batch.skipped.len(), 1);
    assert_eq!(batch.skipped[0].1.code(), "SUBMITTER_REVOKED");
    assert_eq!(pool.len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Commits

#[test]
fn commits_remove_included_and_drop_consumed_nonces() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    let n = c.next_nonce("ci-0");
    let mine: Vec<Vec<u8>> = (0..3)
        .map(|i| c.certificate_tx("ci-0", n + i, &format!("dep-{i}")))
        .collect();
    for tx in &mine {
        admit(&mut pool, &c, tx).expect("room");
    }
    let ids = pool.pending_of("ci-0");
    // ci-0's nonce n is used by another transaction (submitted through another node).
    let elsewhere = c.certificate_tx("ci-0", n, "dep-elsewhere");
    let outcome = c.commit(&[elsewhere]);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    assert!(report.committed.is_empty());
    let dropped: Vec<(TxId, &str)> = report
        .dropped
        .iter()
        .map(|d| (d.tx_id, d.rejection.code()))
        .collect();
    // Its nonce-n transaction is consumed; the later ones now follow the committed nonce.
    assert_eq!(dropped, [(ids[0], "TX_NONCE_INVALID")]);
    assert_eq!(pool.pending_of("ci-0"), ids[1..].to_vec());
    assert_eq!(pool.usage("ci-0").bytes, mine[1].len() + mine[2].len());
    let batch = pool
        .select_batch(usize::MAX, usize::MAX, &c.state, c.time_ms)
        .expect("state");
    assert_eq!(batch.txs.len(), 2);
    let outcome = c.commit(&batch.txs);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    assert_eq!(report.committed, ids[1..].to_vec());
    assert!(pool.is_empty() && pool.bytes() == 0);
    assert_eq!(pool.usage("ci-0"), maat_mempool::Usage::default());
}

#[test]
fn commits_drop_a_revoked_submitters_transactions_and_keep_others_unchecked() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    let n0 = c.next_nonce("ci-0");
    for i in 0..2 {
        admit(
            &mut pool,
            &c,
            &c.certificate_tx("ci-0", n0 + i, &format!("dep-{i}")),
        )
        .expect("room");
    }
    admit(
        &mut pool,
        &c,
        &c.certificate_tx("ci-1", c.next_nonce("ci-1"), "dep-9"),
    )
    .expect("room");
    let verifications = pool.stats().signature_verifications;
    let outcome = c.commit(&[c.tx(ADMIN, c.next_nonce(ADMIN), body::revoke("ci-0"))]);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    let codes: Vec<&str> = report.dropped.iter().map(|d| d.rejection.code()).collect();
    assert_eq!(codes, ["SUBMITTER_REVOKED", "SUBMITTER_REVOKED"]);
    // ci-1's certificate read nothing the block wrote: not checked again.
    assert_eq!(report.rechecked, 2);
    assert_eq!(pool.pending_of("ci-1").len(), 1);
    assert_eq!(pool.stats().signature_verifications, verifications);
}

#[test]
fn commits_drop_a_deployment_finalized_by_someone_else() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    admit(
        &mut pool,
        &c,
        &c.certificate_tx("ci-0", c.next_nonce("ci-0"), "dep-7"),
    )
    .expect("room");
    let outcome = c.commit(&[c.certificate_tx("ci-1", c.next_nonce("ci-1"), "dep-7")]);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(report.dropped[0].rejection.code(), "DEPLOYMENT_DUPLICATE");
    assert!(pool.is_empty());
}

#[test]
fn committing_the_head_of_a_chain_does_not_recheck_the_rest() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    let n = c.next_nonce("ci-0");
    for i in 0..4 {
        admit(
            &mut pool,
            &c,
            &c.certificate_tx("ci-0", n + i, &format!("dep-{i}")),
        )
        .expect("room");
    }
    let verifications = pool.stats().signature_verifications;
    assert_eq!(verifications, 4);
    let batch = pool
        .select_batch(usize::MAX, 2, &c.state, c.time_ms)
        .expect("state");
    let outcome = c.commit(&batch.txs);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    assert_eq!(
        (
            report.committed.len(),
            report.rechecked,
            report.dropped.len()
        ),
        (2, 0, 0)
    );
    assert_eq!(pool.pending_of("ci-0").len(), 2);
    // Nor re-verifies signatures when everything is checked again (restart, sync).
    let report = pool.on_commit_ids(&[], &c.state, c.time_ms);
    assert_eq!((report.rechecked, report.dropped.len()), (2, 0));
    let batch = pool
        .select_batch(usize::MAX, usize::MAX, &c.state, c.time_ms)
        .expect("state");
    assert_eq!(batch.txs.len(), 2);
    assert_eq!(pool.stats().signature_verifications, verifications);
}

#[test]
fn stale_transactions_are_rechecked_after_the_interval_and_dropped() {
    let mut c = fixture();
    let mut cfg = config(&c);
    cfg.recheck_interval_ms = 10 * 60 * 1000;
    let mut pool = Mempool::new(cfg, c.ledger.clone()).expect("config");
    admit(
        &mut pool,
        &c,
        &c.certificate_tx("ci-0", c.next_nonce("ci-0"), "dep-1"),
    )
    .expect("room");
    let outcome = c.commit(&[c.tx(ADMIN, c.next_nonce(ADMIN), body::revoke("alice"))]);
    // A minute later: nothing it read changed, not due yet.
    let report = pool.on_commit(&outcome, &c.state, c.time_ms + 60_000);
    assert_eq!(report.rechecked, 0);
    // Two hours later its scan report is older than the policy's freshness window.
    let outcome = c.commit::<Vec<u8>>(&[]);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms + 2 * 3600 * 1000);
    assert_eq!(report.rechecked, 1);
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(report.dropped[0].rejection.code(), "CERTIFICATE_REJECTED");
}

#[test]
fn a_changed_key_is_verified_again() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    admit(
        &mut pool,
        &c,
        &c.tx("alice", c.next_nonce("alice"), body::revoke("alice")),
    )
    .expect("room");
    assert_eq!(pool.stats().signature_verifications, 1);
    // The committed state gives alice another key (as a state sync would): her pending
    // transaction's signature is checked again, under the new key, and fails.
    let new = c.new_key(Algorithm::Ed25519);
    let rec = v1::IdentityRecord {
        id: "alice".into(),
        active_key: Some(key_to_proto(&new.public())),
        rotated_out_keys: vec![key_to_proto(&c.key("alice").public())],
        revoked: false,
        roles: vec![],
        registered_by_tx: vec![],
    };
    let mut state: MemoryState = c.state.clone();
    state.apply(&[(keys::identity("alice"), Some(rec.encode_to_vec()))]);
    let report = pool.on_commit_ids(&[], &state, c.time_ms);
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(report.dropped[0].rejection.code(), "TX_SIGNATURE_INVALID");
    assert_eq!(pool.stats().signature_verifications, 2);
}

#[test]
fn a_state_error_during_a_recheck_keeps_the_transactions() {
    let mut c = fixture();
    let mut pool = c.mempool(None);
    admit(
        &mut pool,
        &c,
        &c.certificate_tx("ci-0", c.next_nonce("ci-0"), "dep-1"),
    )
    .expect("room");
    let report = pool.on_commit_ids(&[], &Broken, c.time_ms);
    assert!(report.state_error.is_some());
    assert!(report.dropped.is_empty());
    assert_eq!(pool.len(), 1);
    // Re-checked at the next commit even though nothing it read changed.
    let outcome = c.commit(&[c.tx(ADMIN, c.next_nonce(ADMIN), body::revoke("alice"))]);
    let report = pool.on_commit(&outcome, &c.state, c.time_ms);
    assert_eq!((report.rechecked, report.dropped.len()), (1, 0));
    assert!(
        pool.select_batch(usize::MAX, usize::MAX, &Broken, c.time_ms)
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// Signatures known to validators

#[test]
fn validators_reuse_the_pools_verified_signatures() {
    let mut c = fixture();
    c.register("pq", Algorithm::MlDsa65, &[]);
    let mut pool = c.mempool(None);
    let n = c.next_nonce("pq");
    let tx = c.tx("pq", n, body::revoke("pq"));
    admit(&mut pool, &c, &tx).expect("room");
    let fingerprint = maat_proto::tx::key_fingerprint(&c.key("pq").public());
    assert_eq!(pool.verified_key(&tx), Some(fingerprint));
    // Another signature of the same payload is not the verified one.
    let other = c.tx("pq", n, body::revoke("pq"));
    assert_ne!(other, tx);
    assert_eq!(pool.verified_key(&other), None);
    assert_eq!(pool.verified_key(b"junk"), None);
    // A block verified with the pool's signatures gives the same outcome as without.
    let batch = pool
        .select_batch(usize::MAX, usize::MAX, &c.state, c.time_ms)
        .expect("state");
    let plain = c
        .ledger
        .apply_block(&c.state, c.time_ms, &batch.txs, &c.log)
        .expect("valid");
    let known = c
        .ledger
        .verify_block(
            &c.state,
            c.time_ms,
            &batch.txs,
            &c.log,
            &plain.header,
            &pool,
        )
        .expect("valid");
    assert_eq!(plain, known);
    // The forged variant in a block still fails: the pool vouches for exact bytes only.
    let forged = c.tx_signed_by(c.key(ADMIN), "pq", n, body::revoke("pq"));
    assert!(
        c.ledger
            .apply_block_with(&c.state, c.time_ms, &[forged], &c.log, &pool)
            .is_err()
    );
}

#[test]
fn the_pool_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Mempool>();
}

#[test]
fn inconsistent_configs_are_refused() {
    let c = Chain::new();
    let good = config(&c);
    assert_eq!(good.validate(), Ok(()));
    let mut bad = good.clone();
    bad.max_bytes_per_submitter = bad.max_tx_bytes - 1;
    assert!(Mempool::new(bad, c.ledger.clone()).is_err());
    let mut bad = good.clone();
    bad.max_txs_per_submitter = bad.max_txs + 1;
    assert!(bad.validate().is_err());
    let mut bad = good;
    bad.max_txs = 0;
    assert!(bad.validate().is_err());
}
