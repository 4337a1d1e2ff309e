//! The envelope: size, canonical encoding, chain id, kinds, submitter, nonce, signature.

mod common;

use common::*;
use maat_crypto::sig::Algorithm;
use maat_ledger::{ChainParams, GenesisSpec, Rejection, TxKind};
use maat_proto::tx::{self, body};
use maat_proto::v1::{self, tx_body::Kind};
use maat_proto::{Message, TxId};

fn register_tx(c: &Chain, nonce: u64) -> Vec<u8> {
    c.tx(
        &c.admin,
        "admin-0",
        nonce,
        body::register("alice", &ed(1).public(), &[]),
    )
}

#[test]
fn accepted_transaction_bumps_the_nonce_and_its_id_ignores_the_signature() {
    let mut c = Chain::new();
    assert_eq!(c.nonce("admin-0"), 1);
    let bytes = register_tx(&c, 1);
    let effects = c.check(&bytes, BLOCK_MS).expect("accepted");
    assert_eq!(effects.kind, TxKind::IdentityOp);
    assert_eq!(effects.nonce, 1);
    let payload = tx::payload(
        &c.chain_id(),
        "admin-0",
        1,
        body::register("alice", &ed(1).public(), &[]),
    );
    assert_eq!(effects.tx_id, tx::tx_id(&payload));
    c.commit(BLOCK_MS, &[bytes]);
    assert_eq!(c.nonce("admin-0"), 2);
}

#[test]
fn ml_dsa_submitters_sign_hedged_and_keep_one_tx_id() {
    let mut c = Chain::new();
    let k = key(Algorithm::MlDsa65, 3);
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("pq", &k.public(), &[]))],
    );
    let p = tx::payload(&c.chain_id(), "pq", 1, body::revoke("pq"));
    let a = tx::sign(p.clone(), &k).encode_to_vec();
    let b = tx::sign(p, &k).encode_to_vec();
    assert_ne!(a, b, "hedged signatures differ");
    let (ea, eb) = (
        c.check(&a, BLOCK_MS).unwrap(),
        c.check(&b, BLOCK_MS).unwrap(),
    );
    assert_eq!(ea.tx_id, eb.tx_id);
}

#[test]
fn bad_signature_is_rejected() {
    let c = Chain::new();
    let mut t = v1::Transaction::decode(register_tx(&c, 1).as_slice()).unwrap();
    if let Some(b) = t.signature.first_mut() {
        *b ^= 1;
    }
    let r = c.reject(&t.encode_to_vec(), BLOCK_MS);
    assert_eq!(r, Rejection::SignatureInvalid("admin-0".into()));
    assert_eq!(r.code(), "TX_SIGNATURE_INVALID");
    // Wrong length and wrong key.
    t.signature.truncate(10);
    assert_eq!(
        c.reject(&t.encode_to_vec(), BLOCK_MS).code(),
        "TX_SIGNATURE_INVALID"
    );
    let other = c.tx(&ed(99), "admin-0", 1, body::revoke("x"));
    assert_eq!(c.reject(&other, BLOCK_MS).code(), "TX_SIGNATURE_INVALID");
    // An ML-DSA signature for an Ed25519 key.
    let pq = c.tx(&key(Algorithm::MlDsa65, 1), "admin-0", 1, body::revoke("x"));
    assert_eq!(c.reject(&pq, BLOCK_MS).code(), "TX_SIGNATURE_INVALID");
}

#[test]
fn wrong_nonce_and_replay_are_rejected() {
    let mut c = Chain::new();
    for n in [0, 2, u64::MAX] {
        assert_eq!(
            c.reject(&register_tx(&c, n), BLOCK_MS),
            Rejection::NonceInvalid {
                expected: 1,
                got: n
            }
        );
    }
    let t = register_tx(&c, 1);
    c.commit(BLOCK_MS, std::slice::from_ref(&t));
    // The same bytes again: a replay.
    let r = c.reject(&t, BLOCK_MS);
    assert_eq!(
        r,
        Rejection::NonceInvalid {
            expected: 2,
            got: 1
        }
    );
    assert_eq!(r.code(), "TX_NONCE_INVALID");
    assert_eq!(r.numeric_code(), 1103);
}

#[test]
fn unknown_and_revoked_submitters_are_rejected() {
    let mut c = Chain::new();
    let k = ed(5);
    let t = c.tx(&k, "nobody", 1, body::revoke("nobody"));
    assert_eq!(
        c.reject(&t, BLOCK_MS),
        Rejection::SubmitterUnknown("nobody".into())
    );
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("bob", &k.public(), &[]))],
    );
    c.commit(BLOCK_MS, &[c.admin_tx(body::revoke("bob"))]);
    let t = c.tx(&k, "bob", 1, body::revoke("bob"));
    assert_eq!(
        c.reject(&t, BLOCK_MS),
        Rejection::SubmitterRevoked("bob".into())
    );
}

#[test]
fn another_chains_transaction_is_rejected() {
    let c = Chain::new();
    let t = tx::sign(
        tx::payload("other-chain", "admin-0", 1, body::revoke("x")),
        &c.admin,
    );
    assert_eq!(
        c.reject(&t.encode_to_vec(), BLOCK_MS),
        Rejection::ChainIdMismatch {
            expected: "maat-test".into(),
            got: "other-chain".into()
        }
    );
    // The chain id is signed: changing it after signing breaks the signature.
    let mut t2 = tx::sign(
        tx::payload("other-chain", "admin-0", 1, body::revoke("x")),
        &c.admin,
    );
    if let Some(p) = t2.payload.as_mut() {
        p.chain_id = "maat-test".into();
    }
    assert_eq!(
        c.reject(&t2.encode_to_vec(), BLOCK_MS).code(),
        "TX_SIGNATURE_INVALID"
    );
}

#[test]
fn size_limits_are_checked_before_decoding_and_per_kind() {
    let params = ChainParams {
        max_tx_bytes: 4000,
        max_identity_op_tx_bytes: 300,
        max_policy_op_tx_bytes: 4000,
        max_certificate_tx_bytes: 3000,
        ..ChainParams::default()
    };
    let c = Chain::with_spec(GenesisSpec {
        params,
        ..GenesisSpec::new(1, [42; 32])
    });
    // Garbage larger than the limit: too large, not malformed (never decoded).
    let junk = vec![0xff; 4001];
    assert_eq!(
        c.reject(&junk, BLOCK_MS),
        Rejection::TooLarge {
            kind: None,
            size: 4001,
            max: 4000
        }
    );
    let junk = vec![0xff; 4000];
    assert_eq!(c.reject(&junk, BLOCK_MS).code(), "TX_MALFORMED");
    // An identity op under the global limit but over its kind's.
    let roles: Vec<String> = (0..20).map(|i| format!("role-{i:02}")).collect();
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let t = c.tx(
        &c.admin,
        "admin-0",
        1,
        body::register("alice", &ed(1).public(), &roles),
    );
    assert!(t.len() > 300 && t.len() <= 4000);
    let r = c.reject(&t, BLOCK_MS);
    assert_eq!(
        r,
        Rejection::TooLarge {
            kind: Some(TxKind::IdentityOp),
            size: t.len(),
            max: 300
        }
    );
    assert_eq!(r.code(), "TX_TOO_LARGE");
    // A certificate over the certificate limit.
    let cert = c.tx(&c.admin, "admin-0", 1, body::certificate(vec![b' '; 3500]));
    assert!(matches!(
        c.reject(&cert, BLOCK_MS),
        Rejection::TooLarge {
            kind: Some(TxKind::Certificate),
            ..
        }
    ));
}

#[test]
fn malformed_and_non_canonical_encodings_are_rejected() {
    let c = Chain::new();
    let good = register_tx(&c, 1);
    assert!(c.check(&good, BLOCK_MS).is_ok());
    assert_eq!(
        c.reject(&[0x0a, 0x05, 0x01], BLOCK_MS).code(),
        "TX_MALFORMED"
    );
    // Unknown field appended (field 15, varint 1).
    let mut unknown = good.clone();
    unknown.extend_from_slice(&[0x78, 0x01]);
    assert_eq!(c.reject(&unknown, BLOCK_MS), Rejection::NonCanonical);
    // Fields out of order: signature (2) before payload (1).
    let t = v1::Transaction::decode(good.as_slice()).unwrap();
    let mut swapped = Vec::new();
    maat_proto::prost::encoding::bytes::encode(2, &t.signature, &mut swapped);
    maat_proto::prost::encoding::message::encode(1, t.payload.as_ref().unwrap(), &mut swapped);
    assert_eq!(c.reject(&swapped, BLOCK_MS).code(), "TX_NON_CANONICAL");
    // The signature field twice (last one wins when decoding).
    let mut twice = good.clone();
    maat_proto::prost::encoding::bytes::encode(2, &t.signature, &mut twice);
    assert_eq!(c.reject(&twice, BLOCK_MS).code(), "TX_NON_CANONICAL");
    // An empty transaction has no payload.
    assert_eq!(
        c.reject(&[], BLOCK_MS),
        Rejection::Malformed("the payload is missing".into())
    );
}

#[test]
fn missing_kinds_are_rejected() {
    let c = Chain::new();
    let mut p = tx::payload(&c.chain_id(), "admin-0", 1, body::revoke("x"));
    p.body = Some(v1::TxBody { kind: None });
    let t = tx::sign(p.clone(), &c.admin).encode_to_vec();
    assert_eq!(c.reject(&t, BLOCK_MS), Rejection::KindMissing);
    p.body = None;
    let t = tx::sign(p, &c.admin).encode_to_vec();
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "TX_KIND_MISSING");
    // An attestation kind with an empty envelope is no longer "unsupported": it is checked.
    let t = c.tx(
        &c.admin,
        "admin-0",
        1,
        Kind::Attestation(v1::AttestationTx::default()),
    );
    assert_eq!(
        c.reject(&t, BLOCK_MS).code(),
        "ATTESTATION_PAYLOAD_TYPE_INVALID"
    );
}

#[test]
fn submitter_syntax_is_checked() {
    let c = Chain::new();
    let t = c.tx(&c.admin, "bad id", 1, body::revoke("x"));
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "TX_FIELD_INVALID");
}

#[test]
fn verified_token_skips_the_signature_only_while_the_key_is_unchanged() {
    let mut c = Chain::new();
    let k = ed(5);
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("bob", &k.public(), &[]))],
    );
    let t = c.tx(&k, "bob", 2, body::revoke("bob"));
    let decoded = c.ledger.decode(&t).unwrap();
    let verified = c
        .ledger
        .verify_signature(&c.state, decoded)
        .expect("verifies");
    // Nonce 2 is not next yet; after bob's nonce 1 it is.
    assert_eq!(
        c.ledger
            .check_verified(&c.state, &verified, BLOCK_MS)
            .unwrap_err()
            .rejection()
            .unwrap()
            .code(),
        "TX_NONCE_INVALID"
    );
    let new = ed(6);
    c.commit(
        BLOCK_MS,
        &[c.tx(&k, "bob", 1, body::rotate("bob", &new.public()))],
    );
    // The key changed: the token no longer counts and the old signature fails.
    let r = c
        .ledger
        .check_verified(&c.state, &verified, BLOCK_MS)
        .unwrap_err();
    assert_eq!(r.rejection().unwrap().code(), "TX_SIGNATURE_INVALID");
    // A token for the current key is honoured (proved by a tampered signature passing).
    let good = c.tx(&new, "bob", 2, body::revoke("bob"));
    let v = c
        .ledger
        .verify_signature(&c.state, c.ledger.decode(&good).unwrap())
        .unwrap();
    assert!(c.ledger.check_verified(&c.state, &v, BLOCK_MS).is_ok());
    let mut tampered = v1::Transaction::decode(good.as_slice()).unwrap();
    if let Some(b) = tampered.signature.first_mut() {
        *b ^= 1;
    }
    let tampered = c.ledger.decode(&tampered.encode_to_vec()).unwrap();
    let mut o = maat_ledger::Overlay::new(&c.state);
    assert!(
        c.ledger
            .apply(&mut o, &tampered, Some(&v.key_fingerprint()), BLOCK_MS)
            .is_ok()
    );
    let mut o = maat_ledger::Overlay::new(&c.state);
    assert_eq!(
        common::rejection(c.ledger.apply(&mut o, &tampered, None, BLOCK_MS)).code(),
        "TX_SIGNATURE_INVALID"
    );
    assert!(
        o.writes().is_empty(),
        "a rejected transaction writes nothing"
    );
}

#[test]
fn codes_are_unique_and_stable() {
    let mut names = std::collections::HashSet::new();
    let mut nums = std::collections::HashSet::new();
    for (name, num) in Rejection::CODES {
        assert!(names.insert(name) && nums.insert(num), "{name}");
    }
    assert_eq!(Rejection::NonCanonical.code(), "TX_NON_CANONICAL");
    assert_eq!(
        Rejection::DeploymentDuplicate("d".into()).numeric_code(),
        1403
    );
    let id: TxId = TxId([7; 32]);
    assert_eq!(id.to_string().parse::<TxId>().unwrap(), id);
}
