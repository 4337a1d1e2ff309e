//! Canonical encoding: the documented bytes, every kind of non-canonical input refused, size
//! limits before decoding, round trips of arbitrary messages, ids over the unsigned payload.

use maat_crypto::sig::{Algorithm, KeyPair};
use maat_proto::prost::encoding;
use maat_proto::tx::{self, body};
use maat_proto::v1::{self, tx_body::Kind};
use maat_proto::{CanonicalError, Message, TX_SIGNATURE_DOMAIN, TxId, decode_canonical};
use proptest::prelude::*;

#[test]
fn worked_example_bytes() {
    // docs/PROTOCOL-ENCODING.md, "Worked example".
    let p = tx::payload("c", "a", 1, body::revoke("a"));
    let want = [
        0x0a, 0x01, b'c', 0x12, 0x01, b'a', 0x18, 0x01, 0x22, 0x07, 0x12, 0x05, 0x1a, 0x03, 0x0a,
        0x01, b'a',
    ];
    assert_eq!(p.encode_to_vec(), want);
    assert_eq!(decode_canonical::<v1::TxPayload>(&want, 100), Ok(p.clone()));
    assert_eq!(tx::tx_id(&p), TxId(maat_crypto::blake3_id("tx", &want)));
}

fn payload() -> v1::TxPayload {
    tx::payload(
        "maat-test",
        "alice",
        7,
        body::register(
            "bob",
            &KeyPair::from_seed(Algorithm::Ed25519, &[1; 32]).public(),
            &["a", "b"],
        ),
    )
}

#[test]
fn non_canonical_inputs_are_refused() {
    let p = payload();
    let good = p.encode_to_vec();
    assert!(decode_canonical::<v1::TxPayload>(&good, 1000).is_ok());
    let nc = |bytes: &[u8]| decode_canonical::<v1::TxPayload>(bytes, 1000);

    // Fields out of order: nonce (3) before chain_id (1).
    let mut reordered = Vec::new();
    encoding::uint64::encode(3, &p.nonce, &mut reordered);
    encoding::string::encode(1, &p.chain_id, &mut reordered);
    encoding::string::encode(2, &p.submitter, &mut reordered);
    encoding::message::encode(4, p.body.as_ref().unwrap(), &mut reordered);
    assert_eq!(nc(&reordered), Err(CanonicalError::NonCanonical));

    // A field given twice.
    let mut twice = good.clone();
    encoding::uint64::encode(3, &p.nonce, &mut twice);
    assert_eq!(nc(&twice), Err(CanonicalError::NonCanonical));

    // An explicit default value (nonce 0 written out).
    let mut zero = p.clone();
    zero.nonce = 0;
    let mut explicit = Vec::new();
    encoding::string::encode(1, &zero.chain_id, &mut explicit);
    encoding::string::encode(2, &zero.submitter, &mut explicit);
    encoding::uint64::encode(3, &0, &mut explicit);
    encoding::message::encode(4, zero.body.as_ref().unwrap(), &mut explicit);
    assert_eq!(nc(&explicit), Err(CanonicalError::NonCanonical));
    assert_eq!(explicit.len(), zero.encode_to_vec().len() + 2);

    // An over-long varint: nonce 7 as 0x87 0x00.
    let pos = good.windows(2).position(|w| w == [0x18, 0x07]).unwrap();
    let mut long = good.clone();
    long.splice(pos + 1..pos + 2, [0x87, 0x00]);
    assert_eq!(nc(&long), Err(CanonicalError::NonCanonical));

    // An unknown field.
    let mut unknown = good.clone();
    encoding::bytes::encode(99, &b"x".to_vec(), &mut unknown);
    assert_eq!(nc(&unknown), Err(CanonicalError::NonCanonical));

    // A bool written as 2 (IdentityRecord.revoked).
    let rec = v1::IdentityRecord {
        id: "a".into(),
        revoked: true,
        ..Default::default()
    };
    let mut b = rec.encode_to_vec();
    let last = b.len() - 1;
    assert_eq!(b[last], 1);
    b[last] = 2;
    assert_eq!(
        decode_canonical::<v1::IdentityRecord>(&b, 100),
        Err(CanonicalError::NonCanonical)
    );

    // Garbage.
    assert!(matches!(
        nc(&[0x0a, 0x05, 0x01]),
        Err(CanonicalError::Malformed(_))
    ));
}

#[test]
fn size_limit_comes_before_decoding() {
    // Malformed and too large: reported as too large (nothing was decoded).
    assert_eq!(
        decode_canonical::<v1::Transaction>(&[0xff; 11], 10),
        Err(CanonicalError::TooLarge { len: 11, max: 10 })
    );
    let ok = payload().encode_to_vec();
    assert!(decode_canonical::<v1::TxPayload>(&ok, ok.len()).is_ok());
    assert!(matches!(
        decode_canonical::<v1::TxPayload>(&ok, ok.len() - 1),
        Err(CanonicalError::TooLarge { .. })
    ));
}

#[test]
fn tx_id_covers_the_payload_not_the_signature() {
    let k = KeyPair::from_seed(Algorithm::MlDsa65, &[2; 32]);
    let a = tx::sign(payload(), &k);
    let b = tx::sign(payload(), &k);
    assert_ne!(a.signature, b.signature, "ML-DSA signing is hedged");
    assert_eq!(
        tx::tx_id(a.payload.as_ref().unwrap()),
        tx::tx_id(b.payload.as_ref().unwrap())
    );
    // The signature verifies over the domain and the payload bytes.
    let sig = maat_crypto::Signature::from_bytes(Algorithm::MlDsa65, &a.signature).unwrap();
    assert!(
        k.public()
            .verify(
                TX_SIGNATURE_DOMAIN,
                &tx::payload_bytes(a.payload.as_ref().unwrap()),
                &sig
            )
            .is_ok()
    );
    assert!(
        k.public()
            .verify(
                b"maat/evidence/v1\n",
                &tx::payload_bytes(a.payload.as_ref().unwrap()),
                &sig
            )
            .is_err()
    );
    // Another chain, another id.
    let mut other = payload();
    other.chain_id = "other".into();
    assert_ne!(tx::tx_id(&other), tx::tx_id(&payload()));
    // Deterministic signing for fixtures.
    assert_eq!(
        tx::sign_deterministic(payload(), &k),
        tx::sign_deterministic(payload(), &k)
    );
}

#[test]
fn keys_convert_both_ways() {
    for alg in Algorithm::ALL {
        let pk = KeyPair::from_seed(alg, &[3; 32]).public();
        let wire = tx::key_to_proto(&pk);
        assert_eq!(tx::key_from_proto(&wire), Ok(pk.clone()));
        assert_eq!(tx::algorithm_from_proto(wire.algorithm), Some(alg));
    }
    assert!(matches!(
        tx::key_from_proto(&v1::PublicKey {
            algorithm: 0,
            key: vec![0; 32]
        }),
        Err(tx::KeyError::UnknownAlgorithm(0))
    ));
    assert!(matches!(
        tx::key_from_proto(&v1::PublicKey {
            algorithm: 7,
            key: vec![0; 32]
        }),
        Err(tx::KeyError::UnknownAlgorithm(7))
    ));
    assert!(matches!(
        tx::key_from_proto(&v1::PublicKey {
            algorithm: 2,
            key: vec![0; 32]
        }),
        Err(tx::KeyError::Invalid(_))
    ));
    let a = KeyPair::from_seed(Algorithm::Ed25519, &[3; 32]).public();
    let b = KeyPair::from_seed(Algorithm::Ed25519, &[4; 32]).public();
    assert_ne!(tx::key_fingerprint(&a), tx::key_fingerprint(&b));
}

#[test]
fn attestation_layout() {
    // docs/PROTOCOL-ENCODING.md, "AttestationTx": tag 5 of TxBody, fields in tag order.
    let env = v1::AttestationTx {
        payload_type: "t".into(),
        payload: b"{}".to_vec(),
        signatures: vec![v1::DsseSignature {
            keyid: "k".into(),
            sig: vec![7],
        }],
    };
    let body = v1::TxBody {
        kind: Some(Kind::Attestation(env.clone())),
    };
    let bytes = body.encode_to_vec();
    let inner = [
        &[0x0a, 1, b't'][..],
        &[0x12, 2, b'{', b'}'],
        &[0x1a, 6, 0x0a, 1, b'k', 0x12, 1, 7],
    ]
    .concat();
    let mut want = vec![0x2a, u8::try_from(inner.len()).unwrap()];
    want.extend_from_slice(&inner);
    assert_eq!(bytes, want);
    assert_eq!(decode_canonical::<v1::TxBody>(&bytes, 100), Ok(body));
}

#[test]
fn audit_record_layout() {
    // docs/PROTOCOL-ENCODING.md, "AuditRecordTx": tag 4 of TxBody, fields in tag order.
    let rec = v1::AuditRecordTx {
        agent_id: "a".into(),
        session_id: "s".into(),
        event_type: "gate_decision".into(),
        risk: "low".into(),
        timestamp_ms: 5,
        sequence: 1,
        previous_hash: vec![0; 32],
        data_json: b"{}".to_vec(),
        salt: vec![7; 32],
    };
    let body = v1::TxBody {
        kind: Some(body::audit_record(rec.clone())),
    }
    .encode_to_vec();
    let inner = rec.encode_to_vec();
    assert_eq!(body[0], 0x22, "TxBody field 4, length-delimited");
    assert_eq!(&body[2..], &inner[..]);
    let mut want = vec![0x0a, 1, b'a', 0x12, 1, b's', 0x1a, 13];
    want.extend_from_slice(b"gate_decision");
    want.extend_from_slice(&[0x22, 3]);
    want.extend_from_slice(b"low");
    want.extend_from_slice(&[0x28, 5, 0x30, 1, 0x3a, 32]);
    want.extend_from_slice(&[0; 32]);
    want.extend_from_slice(&[0x42, 2, b'{', b'}', 0x4a, 32]);
    want.extend_from_slice(&[7; 32]);
    assert_eq!(inner, want);
    assert_eq!(decode_canonical::<v1::AuditRecordTx>(&inner, 1000), Ok(rec));
}

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9:._-]{0,12}"
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(body::certificate),
        (
            name(),
            any::<[u8; 32]>(),
            proptest::collection::vec(name(), 0..4)
        )
            .prop_map(|(id, k, roles)| {
                Kind::IdentityOp(v1::IdentityOp {
                    op: Some(v1::identity_op::Op::Register(v1::RegisterIdentity {
                        id,
                        public_key: Some(v1::PublicKey {
                            algorithm: 1,
                            key: k.to_vec(),
                        }),
                        roles,
                    })),
                })
            }),
        name().prop_map(|id| body::revoke(&id)),
        (
            name(),
            name(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(s, e, j)| {
                body::policy(&s, &e, j, &[("a", &["x"], &[]), ("b", &[], &["r"])])
            }),
        (
            name(),
            proptest::collection::vec(any::<u8>(), 0..64),
            name(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(payload_type, payload, keyid, sig)| {
                Kind::Attestation(v1::AttestationTx {
                    payload_type,
                    payload,
                    signatures: vec![v1::DsseSignature { keyid, sig }],
                })
            }),
        (
            name(),
            name(),
            any::<u64>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(
                |(agent_id, session_id, timestamp_ms, sequence, h, data_json)| {
                    body::audit_record(v1::AuditRecordTx {
                        agent_id,
                        session_id,
                        event_type: "gate_decision".into(),
                        risk: "low".into(),
                        timestamp_ms,
                        sequence,
                        previous_hash: h.to_vec(),
                        data_json,
                        salt: h.to_vec(),
                    })
                }
            ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the content, the encoding decodes canonically to the same value.
    #[test]
    fn encodings_round_trip(chain in name(), sub in name(), nonce in any::<u64>(), kind in kind(), sig in proptest::collection::vec(any::<u8>(), 0..80)) {
        let t = v1::Transaction { payload: Some(tx::payload(&chain, &sub, nonce, kind)), signature: sig };
        let bytes = t.encode_to_vec();
        prop_assert_eq!(decode_canonical::<v1::Transaction>(&bytes, usize::MAX), Ok(t));
    }

    /// Arbitrary bytes never panic, and whatever decodes canonically re-encodes to itself.
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(t) = decode_canonical::<v1::Transaction>(&bytes, 1024) {
            prop_assert_eq!(t.encode_to_vec(), bytes);
        }
    }
}
