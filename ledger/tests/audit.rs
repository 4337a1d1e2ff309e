//! Audit records: agents append to their own hash chains; the ledger refuses gaps, forks,
//! replays, foreign or revoked signers, unknown event types and risk levels, bad data and
//! out-of-range timestamps.

mod common;

use common::*;
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::audit::{self, GENESIS_PREVIOUS_HASH};
use maat_ledger::state::{audit_head, keys};
use maat_ledger::{
    ChainParams, DEFAULT_MAX_AUDIT_RECORD_TX_BYTES, Genesis, GenesisSpec, Overlay, Rejection,
    TxKind, TxSubject,
};
use maat_proto::tx::body;
use maat_proto::v1;

const T0: u64 = GENESIS_MS + 1000;

/// An agent identity and where its chain stands (as the agent tracks it).
struct Agent {
    id: &'static str,
    key: KeyPair,
    nonce: u64,
    sequence: u64,
    head: [u8; 32],
    time: u64,
}

impl Agent {
    fn new(id: &'static str, key: KeyPair) -> Agent {
        Agent {
            id,
            key,
            nonce: 1,
            sequence: 1,
            head: GENESIS_PREVIOUS_HASH,
            time: BLOCK_MS - 5000,
        }
    }

    /// The agent's next record (not yet signed).
    fn next(&self, data: &str) -> v1::AuditRecordTx {
        v1::AuditRecordTx {
            agent_id: self.id.into(),
            session_id: "session-1".into(),
            event_type: "gate_decision".into(),
            risk: "medium".into(),
            timestamp_ms: self.time,
            sequence: self.sequence,
            previous_hash: self.head.to_vec(),
            data_json: data.as_bytes().to_vec(),
            salt: [self.sequence as u8; 32].to_vec(),
        }
    }

    /// Signs `rec` with the agent's key and next nonce.
    fn sign(&self, c: &Chain, rec: v1::AuditRecordTx) -> Vec<u8> {
        c.tx(&self.key, self.id, self.nonce, body::audit_record(rec))
    }

    /// Signs `rec` and advances the agent's view of its chain as if it were accepted.
    fn push(&mut self, c: &Chain, rec: v1::AuditRecordTx) -> Vec<u8> {
        let t = self.sign(c, rec.clone());
        self.head = audit::record_hash(&c.chain_id(), &rec).expect("valid record");
        self.sequence += 1;
        self.nonce += 1;
        self.time += 1;
        t
    }

    fn append(&mut self, c: &Chain, data: &str) -> Vec<u8> {
        let rec = self.next(data);
        self.push(c, rec)
    }
}

const DATA: &str = r#"{"decision":"allow","gate":"deploy","reason":"policy satisfied"}"#;

/// A chain with agents `agent-a` (Ed25519) and `agent-b` (ML-DSA-65) registered.
fn agents() -> (Chain, Agent, Agent) {
    agents_with(ChainParams::default())
}

fn agents_with(params: ChainParams) -> (Chain, Agent, Agent) {
    let mut c = Chain::with_spec(GenesisSpec {
        genesis_time_ms: GENESIS_MS,
        params,
        ..GenesisSpec::new(1, [42; 32])
    });
    let a = Agent::new("agent-a", ed(20));
    let b = Agent::new("agent-b", key(Algorithm::MlDsa65, 21));
    let txs = vec![
        c.tx(
            &c.admin,
            "admin-0",
            1,
            body::register(a.id, &a.key.public(), &[]),
        ),
        c.tx(
            &c.admin,
            "admin-0",
            2,
            body::register(b.id, &b.key.public(), &["agent"]),
        ),
    ];
    c.commit(T0, &txs);
    (c, a, b)
}

#[test]
fn records_extend_each_agents_chain() {
    let (mut c, mut a, mut b) = agents();
    let t1 = a.append(&c, DATA);
    let h1 = a.head;
    let t2 = a.append(&c, "{}");
    let t3 = b.append(&c, DATA);
    let t4 = a.append(&c, r#"{"n":1.5,"nested":{"k":[1,"x",null]}}"#);
    let out = c.commit(BLOCK_MS, &[t1.clone(), t2, t3, t4]);
    assert_eq!(out.txs.len(), 4);
    let e = &out.txs[0].effects;
    assert_eq!(e.kind, TxKind::AuditRecord);
    assert_eq!(
        e.subject,
        TxSubject::AuditRecord {
            agent_id: "agent-a".into(),
            session_id: "session-1".into(),
            event_type: "gate_decision".into(),
            sequence: 1,
            record_hash: h1,
        }
    );
    assert_eq!(
        c.ledger.decode(&t1).expect("decodes").audit_record_hash(),
        Some(h1)
    );
    let head = audit_head(&c.state, "agent-a").unwrap().expect("head");
    assert_eq!(head.sequence, 3);
    assert_eq!(head.record_hash, a.head.to_vec());
    assert_eq!(head.timestamp_ms, a.time - 1);
    assert_eq!(head.tx_id, out.txs[3].effects.tx_id.0.to_vec());
    let head_b = audit_head(&c.state, "agent-b").unwrap().expect("head");
    assert_eq!((head_b.sequence, head_b.record_hash), (1, b.head.to_vec()));
    // The chain continues in a later block; every event type and risk level is accepted.
    let mut next = Vec::new();
    for (ev, risk) in audit::EVENT_TYPES.iter().zip(audit::RISK_LEVELS) {
        let mut rec = a.next(DATA);
        rec.event_type = (*ev).into();
        rec.risk = risk.into();
        next.push(a.push(&c, rec));
    }
    c.commit(BLOCK_MS + 1000, &next);
    assert_eq!(
        audit_head(&c.state, "agent-a").unwrap().unwrap().sequence,
        7
    );
    // Both kinds of state the record writes: the nonce and the head, nothing else.
    let writes = &c
        .ledger
        .check_bytes(&c.state, &a.append(&c, "{}"), BLOCK_MS + 2000)
        .expect("valid")
        .writes;
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[1].0, keys::audit_head("agent-a"));
}

#[test]
fn a_pending_record_is_the_head_for_the_next_one() {
    let (c, mut a, _) = agents();
    let t1 = a.append(&c, DATA);
    let t2 = a.append(&c, DATA);
    assert_eq!(
        c.reject(&t2, BLOCK_MS).code(),
        "TX_NONCE_INVALID",
        "not before its predecessor"
    );
    let pending = c.overlay(&c.state, BLOCK_MS, &[t1]);
    c.ledger
        .check_bytes(&pending, &t2, BLOCK_MS)
        .expect("valid after the pending record");
}

#[test]
fn a_gap_is_refused() {
    let (mut c, mut a, _) = agents();
    let mut rec = a.next(DATA);
    rec.sequence = 2;
    assert_eq!(
        c.reject(&a.sign(&c, rec), BLOCK_MS),
        Rejection::AuditSequenceInvalid {
            agent_id: "agent-a".into(),
            expected: 1,
            got: 2,
        }
    );
    let t = a.append(&c, DATA);
    c.commit(BLOCK_MS, &[t]);
    let mut rec = a.next(DATA);
    rec.sequence = 3;
    let r = c.reject(&a.sign(&c, rec), BLOCK_MS + 1000);
    assert_eq!(r.code(), "AUDIT_SEQUENCE_INVALID");
    assert_eq!(r.numeric_code(), 1602);
    assert!(r.to_string().contains("expected 2"), "{r}");
}

#[test]
fn a_fork_is_refused() {
    let (mut c, mut a, _) = agents();
    // The first record must name the all-zero hash.
    let mut rec = a.next(DATA);
    rec.previous_hash = vec![1; 32];
    let r = c.reject(&a.sign(&c, rec), BLOCK_MS);
    assert_eq!(
        r,
        Rejection::AuditPreviousHashMismatch {
            agent_id: "agent-a".into(),
            expected: hex::encode([0u8; 32]),
            got: hex::encode([1u8; 32]),
        }
    );
    let first = a.next(DATA);
    let t1 = a.push(&c, first.clone());
    c.commit(BLOCK_MS, &[t1]);
    // A second record at position 1 (a fresh nonce, another content).
    let mut other = first.clone();
    other.data_json = b"{}".to_vec();
    let r = c.reject(&a.sign(&c, other), BLOCK_MS + 1000);
    assert_eq!(r.code(), "AUDIT_SEQUENCE_INVALID");
    // Position 2, but linked to something other than record 1.
    let mut rec = a.next(DATA);
    rec.previous_hash = GENESIS_PREVIOUS_HASH.to_vec();
    let r = c.reject(&a.sign(&c, rec), BLOCK_MS + 1000);
    assert_eq!(r.code(), "AUDIT_PREVIOUS_HASH_MISMATCH");
    assert_eq!(r.numeric_code(), 1603);
    // Linked to a record whose hash is computed on another chain.
    let mut rec = a.next(DATA);
    rec.previous_hash = audit::record_hash("other-chain", &first).unwrap().to_vec();
    assert_eq!(
        c.reject(&a.sign(&c, rec), BLOCK_MS + 1000).code(),
        "AUDIT_PREVIOUS_HASH_MISMATCH"
    );
    // The right link passes.
    let t2 = a.append(&c, DATA);
    c.check(&t2, BLOCK_MS + 1000).expect("valid");
}

#[test]
fn a_replay_is_refused() {
    let (mut c, mut a, _) = agents();
    let t = a.append(&c, DATA);
    // Twice in one block: the second is refused.
    let mut o = Overlay::new(&c.state);
    let d = c.ledger.decode(&t).unwrap();
    c.ledger.apply(&mut o, &d, None, BLOCK_MS).expect("first");
    assert_eq!(
        rejection(c.ledger.apply(&mut o, &d, None, BLOCK_MS)).code(),
        "TX_NONCE_INVALID"
    );
    assert!(
        c.ledger
            .apply_block(&c.state, BLOCK_MS, &[t.clone(), t.clone()], &c.log)
            .is_err()
    );
    c.commit(BLOCK_MS, std::slice::from_ref(&t));
    assert_eq!(c.reject(&t, BLOCK_MS + 1000).code(), "TX_NONCE_INVALID");
    // The same position re-signed with a fresh nonce is the fork case: refused too.
    let mut rec = a.next(DATA);
    rec.sequence = 1;
    rec.previous_hash = GENESIS_PREVIOUS_HASH.to_vec();
    rec.salt = vec![1; 32];
    rec.timestamp_ms = BLOCK_MS - 5000;
    assert_eq!(
        c.reject(&a.sign(&c, rec), BLOCK_MS + 1000).code(),
        "AUDIT_SEQUENCE_INVALID"
    );
}

#[test]
fn only_the_agents_active_key_signs() {
    let (c, mut a, b) = agents();
    let rec = a.next(DATA);
    // Signed by another key in the agent's name.
    let forged = c.tx(&ed(99), a.id, 1, body::audit_record(rec.clone()));
    assert_eq!(
        c.reject(&forged, BLOCK_MS),
        Rejection::SignatureInvalid("agent-a".into())
    );
    // Signed by agent-b with agent-b's key, for agent-a's chain.
    let foreign = c.tx(&b.key, b.id, 1, body::audit_record(rec.clone()));
    assert_eq!(
        c.reject(&foreign, BLOCK_MS),
        Rejection::AuditAgentMismatch {
            agent_id: "agent-a".into(),
            submitter: "agent-b".into(),
        }
    );
    // An agent that is not a registered identity.
    let mut ghost = Agent::new("ghost", ed(98));
    let t = ghost.append(&c, DATA);
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "SUBMITTER_UNKNOWN");
    // After a rotation, the old key no longer signs records.
    let mut c = c;
    let new_key = ed(30);
    let rot = c.tx(&a.key, a.id, 1, body::rotate(a.id, &new_key.public()));
    c.commit(BLOCK_MS, &[rot]);
    a.nonce = 2;
    let old = a.sign(&c, a.next(DATA));
    assert_eq!(
        c.reject(&old, BLOCK_MS + 1000).code(),
        "TX_SIGNATURE_INVALID"
    );
    a.key = new_key;
    let t = a.append(&c, DATA);
    c.check(&t, BLOCK_MS + 1000)
        .expect("signed with the new key");
}

#[test]
fn a_revoked_agent_appends_nothing() {
    let (mut c, mut a, mut b) = agents();
    let t = a.append(&c, DATA);
    c.commit(BLOCK_MS, &[t]);
    // Revoked by an admin; agent-b revokes itself.
    let revoke_a = c.tx(&c.admin, "admin-0", 3, body::revoke(a.id));
    let revoke_b = c.tx(&b.key, b.id, 1, body::revoke(b.id));
    b.nonce = 2;
    c.commit(BLOCK_MS + 1000, &[revoke_a, revoke_b]);
    let t = a.append(&c, DATA);
    assert_eq!(
        c.reject(&t, BLOCK_MS + 2000),
        Rejection::SubmitterRevoked("agent-a".into())
    );
    let t = b.append(&c, DATA);
    assert_eq!(c.reject(&t, BLOCK_MS + 2000).code(), "SUBMITTER_REVOKED");
}

#[test]
fn event_type_and_risk_are_checked() {
    let (c, a, _) = agents();
    for ev in ["", "deploy", "Gate_Decision", "gate_decision "] {
        let mut rec = a.next(DATA);
        rec.event_type = ev.into();
        let r = c.reject(&a.sign(&c, rec), BLOCK_MS);
        assert_eq!(r, Rejection::AuditEventTypeUnknown(ev.into()), "{ev:?}");
        assert_eq!(r.numeric_code(), 1604);
    }
    for risk in ["", "severe", "LOW", "0"] {
        let mut rec = a.next(DATA);
        rec.risk = risk.into();
        let r = c.reject(&a.sign(&c, rec), BLOCK_MS);
        assert_eq!(r, Rejection::AuditRiskInvalid(risk.into()), "{risk:?}");
        assert_eq!(r.code(), "AUDIT_RISK_INVALID");
    }
}

#[test]
fn data_must_be_a_canonical_json_object() {
    let (c, a, _) = agents();
    for bad in [
        "[]",
        "1",
        "\"x\"",
        "null",
        "",
        "{",
        r#"{"b":1,"a":2}"#,
        r#"{"a": 1}"#,
        " {}",
        r#"{"a":1,"a":1}"#,
        r#"{"a":1.50}"#,
        r#"{"a":1E2}"#,
        "{}\n",
    ] {
        let rec = a.next(bad);
        let r = c.reject(&a.sign(&c, rec), BLOCK_MS);
        assert_eq!(r.code(), "AUDIT_DATA_INVALID", "{bad:?}: {r}");
        assert_eq!(r.numeric_code(), 1606);
    }
    for good in ["{}", r#"{"a":1.5,"b":100.0,"c":"é","d":[]}"#] {
        c.check(&a.sign(&c, a.next(good)), BLOCK_MS)
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn the_kind_size_limit_comes_from_the_genesis() {
    let (c, a, _) = agents();
    // The default limit: 64 KiB.
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(70_000));
    let r = c.reject(&a.sign(&c, a.next(&big)), BLOCK_MS);
    assert_eq!(
        r,
        Rejection::TooLarge {
            kind: Some(TxKind::AuditRecord),
            size: r_size(&r),
            max: DEFAULT_MAX_AUDIT_RECORD_TX_BYTES as usize,
        }
    );
    let fits = format!(r#"{{"blob":"{}"}}"#, "x".repeat(60_000));
    c.check(&a.sign(&c, a.next(&fits)), BLOCK_MS)
        .expect("under 64 KiB");
    // A chain with a 2000-byte limit.
    let (c, a, _) = agents_with(ChainParams {
        max_audit_record_tx_bytes: 2000,
        ..ChainParams::default()
    });
    let medium = format!(r#"{{"blob":"{}"}}"#, "x".repeat(2000));
    let r = c.reject(&a.sign(&c, a.next(&medium)), BLOCK_MS);
    assert_eq!(r.code(), "TX_TOO_LARGE");
    assert!(r.to_string().contains("audit_record limit of 2000"), "{r}");
    c.check(&a.sign(&c, a.next(DATA)), BLOCK_MS)
        .expect("small record");
}

fn r_size(r: &Rejection) -> usize {
    match r {
        Rejection::TooLarge { size, .. } => *size,
        _ => 0,
    }
}

#[test]
fn timestamps_are_bounded_by_the_block_time_and_the_predecessor() {
    let (mut c, mut a, _) = agents();
    let skew_ms = c.ledger.params().max_clock_skew_secs * 1000;
    let mut rec = a.next(DATA);
    rec.timestamp_ms = BLOCK_MS + skew_ms + 1;
    let r = c.reject(&a.sign(&c, rec), BLOCK_MS);
    assert_eq!(
        r,
        Rejection::AuditTimestampInvalid {
            timestamp_ms: BLOCK_MS + skew_ms + 1,
            min_ms: 1,
            max_ms: BLOCK_MS + skew_ms,
        }
    );
    assert_eq!(r.numeric_code(), 1607);
    // Exactly at the skew is fine; an old timestamp is fine for the first record.
    let mut rec = a.next(DATA);
    rec.timestamp_ms = BLOCK_MS + skew_ms;
    c.check(&a.sign(&c, rec), BLOCK_MS).expect("at the bound");
    let mut rec = a.next(DATA);
    rec.timestamp_ms = 1;
    c.check(&a.sign(&c, rec), BLOCK_MS)
        .expect("old first record");
    // Zero is a malformed field.
    let mut rec = a.next(DATA);
    rec.timestamp_ms = 0;
    assert_eq!(
        c.reject(&a.sign(&c, rec), BLOCK_MS).code(),
        "TX_FIELD_INVALID"
    );
    // After a record at time T: T again is fine, T - 1 is not.
    a.time = BLOCK_MS;
    let t = a.append(&c, DATA);
    c.commit(BLOCK_MS, &[t]);
    let mut rec = a.next(DATA);
    rec.timestamp_ms = BLOCK_MS - 1;
    assert_eq!(
        c.reject(&a.sign(&c, rec), BLOCK_MS + 1000),
        Rejection::AuditTimestampInvalid {
            timestamp_ms: BLOCK_MS - 1,
            min_ms: BLOCK_MS,
            max_ms: BLOCK_MS + 1000 + skew_ms,
        }
    );
    let mut rec = a.next(DATA);
    rec.timestamp_ms = BLOCK_MS;
    c.check(&a.sign(&c, rec), BLOCK_MS + 1000)
        .expect("same millisecond");
}

#[test]
fn malformed_fields_are_refused() {
    let (c, a, _) = agents();
    type Edit = fn(&mut v1::AuditRecordTx);
    let cases: [(&str, Edit); 8] = [
        ("audit_record.agent_id", |r| r.agent_id = String::new()),
        ("audit_record.session_id", |r| r.session_id = String::new()),
        ("audit_record.session_id", |r| r.session_id = "a b".into()),
        ("audit_record.sequence", |r| r.sequence = 0),
        ("audit_record.previous_hash", |r| r.previous_hash = vec![]),
        ("audit_record.previous_hash", |r| {
            r.previous_hash = vec![0; 33]
        }),
        ("audit_record.salt", |r| r.salt = vec![1; 31]),
        ("audit_record.salt", |r| r.salt = vec![]),
    ];
    for (field, edit) in cases {
        let mut rec = a.next(DATA);
        edit(&mut rec);
        match c.reject(&a.sign(&c, rec), BLOCK_MS) {
            Rejection::FieldInvalid { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // Not even an AuditRecordTx message.
    let mut p = maat_proto::tx::payload(&c.chain_id(), a.id, 1, body::audit_record(a.next(DATA)));
    p.body = Some(v1::TxBody {
        kind: Some(v1::tx_body::Kind::AuditRecord(v1::AuditRecordTx::default())),
    });
    let t = maat_proto::Message::encode_to_vec(&maat_proto::tx::sign(p, &a.key));
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "TX_FIELD_INVALID");
}

#[test]
fn the_record_hash_is_what_the_next_record_names() {
    // An offline verifier recomputes the head from the transactions alone, and from a
    // redacted commitment.
    let (mut c, mut a, _) = agents();
    let recs: Vec<v1::AuditRecordTx> = (0..3)
        .map(|i| {
            let r = a.next(&format!(r#"{{"i":{i},"secret":"s{i}"}}"#));
            a.push(&c, r.clone());
            r
        })
        .collect();
    let mut a2 = Agent::new("agent-a", ed(20));
    let txs: Vec<Vec<u8>> = recs.iter().map(|r| a2.push(&c, r.clone())).collect();
    c.commit(BLOCK_MS, &txs);
    let mut prev = GENESIS_PREVIOUS_HASH;
    for r in &recs {
        assert_eq!(r.previous_hash, prev.to_vec());
        let full = audit::commitment(&c.chain_id(), r).unwrap();
        assert_eq!(
            audit::commitment_hash(&full),
            audit::record_hash(&c.chain_id(), r).unwrap()
        );
        // A redacted export: `i` revealed (its value and its field salt), `secret` given as
        // its commitment only. The verifier rebuilds the commitment message.
        let i_salt = audit::field_salt(&r.salt, "i");
        let i_value = format!("{}", r.sequence - 1);
        let secret = full.fields[1].commitment.clone();
        let rebuilt = v1::AuditRecordCommitment {
            chain_id: c.chain_id(),
            agent_id: r.agent_id.clone(),
            session_id: r.session_id.clone(),
            event_type: r.event_type.clone(),
            risk: r.risk.clone(),
            timestamp_ms: r.timestamp_ms,
            sequence: r.sequence,
            previous_hash: r.previous_hash.clone(),
            fields: vec![
                v1::AuditFieldCommitment {
                    name: "i".into(),
                    commitment: audit::field_commitment(&i_salt, i_value.as_bytes()).to_vec(),
                },
                v1::AuditFieldCommitment {
                    name: "secret".into(),
                    commitment: secret,
                },
            ],
        };
        prev = audit::commitment_hash(&rebuilt);
        assert_eq!(prev, audit::record_hash(&c.chain_id(), r).unwrap());
    }
    let head = audit_head(&c.state, "agent-a").unwrap().unwrap();
    assert_eq!(head.record_hash, prev.to_vec());
}

#[test]
fn genesis_files_without_the_audit_limit_keep_their_hash() {
    let g = Genesis::generate(&GenesisSpec::new(1, [42; 32]))
        .unwrap()
        .genesis;
    assert_eq!(
        g.params().max_audit_record_tx_bytes,
        DEFAULT_MAX_AUDIT_RECORD_TX_BYTES
    );
    // The default is not written into the canonical genesis.
    assert_eq!(
        g.proto().params.as_ref().unwrap().max_audit_record_tx_bytes,
        0
    );
    let mut file: serde_json::Value = serde_json::from_str(&g.to_json_pretty()).unwrap();
    let params = file["params"].as_object_mut().unwrap();
    // Stated explicitly or left out: one hash.
    params.insert("max_audit_record_tx_bytes".into(), 65536.into());
    assert_eq!(
        Genesis::from_json(&file.to_string()).unwrap().hash(),
        g.hash()
    );
    file["params"]
        .as_object_mut()
        .unwrap()
        .remove("max_audit_record_tx_bytes");
    let old = Genesis::from_json(&file.to_string()).unwrap();
    assert_eq!(old.hash(), g.hash());
    // Another value is a different chain, and it survives the round trip.
    file["params"]["max_audit_record_tx_bytes"] = 4096.into();
    let other = Genesis::from_json(&file.to_string()).unwrap();
    assert_ne!(other.hash(), g.hash());
    assert_eq!(other.params().max_audit_record_tx_bytes, 4096);
    let again = Genesis::from_canonical_bytes(&other.canonical_bytes()).unwrap();
    assert_eq!(again.params().max_audit_record_tx_bytes, 4096);
    assert_eq!(
        Genesis::from_json(&other.to_json_pretty()).unwrap().hash(),
        other.hash()
    );
    // Zero is refused, not read as the default.
    file["params"]["max_audit_record_tx_bytes"] = 0.into();
    assert!(Genesis::from_json(&file.to_string()).is_err());
    let spec = GenesisSpec {
        params: ChainParams {
            max_audit_record_tx_bytes: 0,
            ..ChainParams::default()
        },
        ..GenesisSpec::new(1, [42; 32])
    };
    assert!(Genesis::generate(&spec).is_err());
}
