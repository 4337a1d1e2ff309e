//! Attestations: DSSE envelopes over in-toto Statements v1 (PAE, signatures with both
//! algorithms and from Python's `cryptography`, JSON and protobuf forms, the strict Statement
//! profile, the SLSA provenance v1 and Maat agent-session v1 predicates).
//!
//! Test names start with `attestation_` so `cargo test -- attestation` selects them.

use maat_crypto::sig::{Algorithm, KeyPair, PublicKey};
use maat_ledger::attestation::{
    AgentSessionPredicate, AttestationError, Envelope, EnvelopeSignature, IntentChain,
    MAX_DIGESTS_PER_SUBJECT, MAX_SIGNATURES, MAX_SUBJECTS, PAYLOAD_TYPE_IN_TOTO,
    PREDICATE_AGENT_SESSION_V1, PREDICATE_SLSA_PROVENANCE_V1, STATEMENT_TYPE_V1, Statement,
    Subject, check_predicate, intent_chain_head, normalize_digest_ref, pae, parse_statement,
};
use serde_json::{Value, json};

const SHA_A: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SHA_B: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn key(alg: Algorithm, byte: u8) -> KeyPair {
    KeyPair::from_seed(alg, &[byte; 32])
}

fn statement_json() -> Value {
    json!({
        "_type": STATEMENT_TYPE_V1,
        "subject": [
            {"name": "dist/app.tar.gz", "digest": {"sha256": SHA_A}},
            {"name": "dist/app.sbom.json", "digest": {"sha256": SHA_B, "gitCommit": "a".repeat(40)}}
        ],
        "predicateType": "https://example.com/custom/v1",
        "predicate": {"note": "hello"}
    })
}

fn bytes_of(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// The statement error for `v`, with its code checked.
fn statement_error(payload: &[u8]) -> String {
    let e = parse_statement(payload).expect_err("must be rejected");
    assert_eq!(e.code(), "ATTESTATION_STATEMENT_INVALID", "{e}");
    e.to_string()
}

fn mutated(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = statement_json();
    f(&mut v);
    bytes_of(&v)
}

#[test]
fn attestation_pae_known_answer() {
    // The example of the DSSE protocol spec (protocol.md, "Test vectors").
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    // Lengths are bytes, not characters.
    assert_eq!(
        pae("t", "é".as_bytes()),
        "DSSEv1 1 t 2 é".as_bytes().to_vec()
    );
}

#[test]
fn attestation_sign_verify_round_trip_both_algorithms() {
    for alg in Algorithm::ALL {
        let signer = key(alg, 1);
        let payload = bytes_of(&statement_json());
        let env = Envelope::sign(PAYLOAD_TYPE_IN_TOTO, payload.clone(), "ci-bot", &signer);
        assert_eq!(env.signatures.len(), 1);
        assert_eq!(env.signatures[0].keyid, "ci-bot");
        assert_eq!(env.signatures[0].sig.len(), alg.signature_len());
        let statement = env.check_stateless().unwrap();
        assert_eq!(statement.subject_digests().len(), 3);
        env.verify_signature(0, &signer.public()).unwrap();

        // The signature is over PAE exactly, with no domain prefix.
        let sig = maat_crypto::sig::Signature::from_bytes(alg, &env.signatures[0].sig).unwrap();
        signer
            .public()
            .verify(b"", &pae(PAYLOAD_TYPE_IN_TOTO, &payload), &sig)
            .unwrap();

        // Another key does not verify it.
        let e = env.verify_signature(0, &key(alg, 2).public()).unwrap_err();
        assert_eq!(e.code(), "ATTESTATION_SIGNATURE_INVALID");

        // A tampered payload fails.
        let mut tampered = env.clone();
        let last = tampered.payload.len() - 2;
        tampered.payload[last] ^= 1;
        let e = tampered.verify_signature(0, &signer.public()).unwrap_err();
        assert_eq!(e.code(), "ATTESTATION_SIGNATURE_INVALID", "{e}");

        // The payload type is signed too.
        let mut retyped = env.clone();
        retyped.payload_type = "application/json".into();
        assert!(retyped.verify_signature(0, &signer.public()).is_err());

        // A flipped signature bit fails.
        let mut bad_sig = env.clone();
        bad_sig.signatures[0].sig[5] ^= 0x40;
        assert!(bad_sig.verify_signature(0, &signer.public()).is_err());

        // No such signature: an envelope error, not a panic.
        let e = env.verify_signature(1, &signer.public()).unwrap_err();
        assert_eq!(e.code(), "ATTESTATION_ENVELOPE_INVALID");
    }
}

#[test]
fn attestation_multiple_signers_and_wrong_algorithm() {
    let a = key(Algorithm::Ed25519, 3);
    let b = key(Algorithm::MlDsa65, 4);
    let mut env = Envelope::sign(
        PAYLOAD_TYPE_IN_TOTO,
        bytes_of(&statement_json()),
        "alice",
        &a,
    );
    env.add_signature("bob", &b);
    env.check_shape().unwrap();
    env.verify_signature(0, &a.public()).unwrap();
    env.verify_signature(1, &b.public()).unwrap();
    // An Ed25519 signature checked against an ML-DSA key: wrong length, a signature error.
    let e = env.verify_signature(0, &b.public()).unwrap_err();
    assert_eq!(e.code(), "ATTESTATION_SIGNATURE_INVALID");
    // Re-signing with the same keyid replaces rather than duplicates.
    env.add_signature("alice", &a);
    assert_eq!(env.signatures.len(), 2);
    env.check_shape().unwrap();
}

#[test]
fn attestation_python_cryptography_signature_verifies() {
    // Made with Python `cryptography` 48 (Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    // signing b"DSSEv1 %d %s %d %s" % (len(pt), pt, len(payload), payload)), standard base64.
    const PUBLIC: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const ENVELOPE: &str = r#"{"payloadType": "application/vnd.in-toto+json", "payload": "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbeyJuYW1lIjoiYXBwLnRhci5neiIsImRpZ2VzdCI6eyJzaGEyNTYiOiJlM2IwYzQ0Mjk4ZmMxYzE0OWFmYmY0Yzg5OTZmYjkyNDI3YWU0MWU0NjQ5YjkzNGNhNDk1OTkxYjc4NTJiODU1In19XSwicHJlZGljYXRlVHlwZSI6Imh0dHBzOi8vZXhhbXBsZS5jb20vdGVzdC92MSIsInByZWRpY2F0ZSI6eyJvayI6dHJ1ZX19", "signatures": [{"keyid": "ci-bot", "sig": "hhv38NcOw/p18QjZU2SSz01k2r1UauGjH5AhYdZzEophU9oXaDqXzp6HkYsEw1aDER4YVRwTo2WSX5ydXHw0BQ=="}]}"#;
    let public = PublicKey::from_bytes(Algorithm::Ed25519, &hex::decode(PUBLIC).unwrap()).unwrap();
    let env = Envelope::from_json(ENVELOPE.as_bytes()).unwrap();
    let statement = env.check_stateless().unwrap();
    assert_eq!(statement.subject_digests(), vec![format!("sha256:{SHA_A}")]);
    assert_eq!(statement.subjects[0].name.as_deref(), Some("app.tar.gz"));
    env.verify_signature(0, &public).unwrap();

    // The same seed in Rust gives the same key and (Ed25519 being deterministic) the same
    // signature bytes.
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let ours = KeyPair::from_seed(Algorithm::Ed25519, &seed);
    assert_eq!(ours.public(), public);
    let resigned = Envelope::sign(PAYLOAD_TYPE_IN_TOTO, env.payload.clone(), "ci-bot", &ours);
    assert_eq!(resigned, env);
}

#[test]
fn attestation_json_round_trip() {
    let mut env = Envelope::sign(
        PAYLOAD_TYPE_IN_TOTO,
        bytes_of(&statement_json()),
        "ci-bot",
        &key(Algorithm::Ed25519, 5),
    );
    env.add_signature("release-bot", &key(Algorithm::MlDsa65, 6));
    let json = env.to_json();
    assert_eq!(json["payloadType"], PAYLOAD_TYPE_IN_TOTO);
    assert_eq!(json["signatures"][1]["keyid"], "release-bot");
    let text = serde_json::to_vec(&json).unwrap();
    assert_eq!(Envelope::from_json(&text).unwrap(), env);

    // Proto round trip.
    assert_eq!(Envelope::from_proto(&env.to_proto()), env);
    assert_eq!(env.to_proto().signatures[0].sig, env.signatures[0].sig);

    // URL-safe and unpadded base64 decode to the same envelope.
    let mut url = json.clone();
    for field in ["payload"] {
        let s = url[field]
            .as_str()
            .unwrap()
            .replace('+', "-")
            .replace('/', "_");
        url[field] = Value::String(s.trim_end_matches('=').to_owned());
    }
    let s = url["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .replace('+', "-")
        .replace('/', "_");
    url["signatures"][0]["sig"] = Value::String(s);
    assert_eq!(Envelope::from_json(&bytes_of(&url)).unwrap(), env);

    // Unknown fields are ignored.
    let mut extra = json.clone();
    extra["signatures"][0]["publicKey"] = json!("whatever");
    extra["comment"] = json!(1);
    assert_eq!(Envelope::from_json(&bytes_of(&extra)).unwrap(), env);

    // A missing keyid reads as "", which check_shape refuses.
    let mut no_keyid = json.clone();
    no_keyid["signatures"][0]
        .as_object_mut()
        .unwrap()
        .remove("keyid");
    let parsed = Envelope::from_json(&bytes_of(&no_keyid)).unwrap();
    assert_eq!(parsed.signatures[0].keyid, "");
    assert_eq!(
        parsed.check_shape().unwrap_err().code(),
        "ATTESTATION_ENVELOPE_INVALID"
    );
}

#[test]
fn attestation_json_rejections() {
    let env = Envelope::sign(
        PAYLOAD_TYPE_IN_TOTO,
        bytes_of(&statement_json()),
        "ci-bot",
        &key(Algorithm::Ed25519, 5),
    );
    let good = env.to_json();
    let sig = good["signatures"][0]["sig"].as_str().unwrap().to_owned();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "envelope"),
        (b"[]".to_vec(), "envelope"),
        (
            br#"{"payload":"","payload":"","payloadType":"x","signatures":[]}"#.to_vec(),
            "envelope",
        ),
        (
            bytes_of(&json!({"payloadType": "x", "signatures": []})),
            "payload",
        ),
        (
            bytes_of(&json!({"payload": "", "payloadType": 1, "signatures": []})),
            "payloadType",
        ),
        (
            bytes_of(&json!({"payload": "", "payloadType": "x", "signatures": {}})),
            "signatures",
        ),
        (
            bytes_of(&json!({"payload": "a b", "payloadType": "x", "signatures": []})),
            "payload",
        ),
        (
            bytes_of(&json!({"payload": "", "payloadType": "x", "signatures": [{"keyid": "k"}]})),
            "signatures[0].sig",
        ),
        (
            bytes_of(
                &json!({"payload": "", "payloadType": "x", "signatures": [{"keyid": "k", "sig": format!("{sig}\n")}]}),
            ),
            "signatures[0].sig",
        ),
        (
            bytes_of(
                &json!({"payload": "", "payloadType": "x", "signatures": [{"keyid": 7, "sig": sig}]}),
            ),
            "signatures[0].keyid",
        ),
    ];
    for (input, path) in cases {
        let e = Envelope::from_json(&input).expect_err(&String::from_utf8_lossy(&input));
        assert_eq!(e.code(), "ATTESTATION_ENVELOPE_INVALID");
        assert!(
            e.to_string().contains(&format!(" {path}: ")),
            "{e} should name {path}"
        );
    }
}

#[test]
fn attestation_check_shape() {
    let signer = key(Algorithm::Ed25519, 7);
    let good = Envelope::sign(
        PAYLOAD_TYPE_IN_TOTO,
        bytes_of(&statement_json()),
        "ci-bot",
        &signer,
    );
    good.check_shape().unwrap();

    let mut e = good.clone();
    e.payload_type = "application/json".into();
    let err = e.check_shape().unwrap_err();
    assert_eq!(err.code(), "ATTESTATION_PAYLOAD_TYPE_INVALID");
    assert!(err.to_string().contains("application/json"), "{err}");

    let mut e = good.clone();
    e.signatures.clear();
    assert_eq!(
        e.check_shape().unwrap_err().code(),
        "ATTESTATION_ENVELOPE_INVALID"
    );

    let mut e = good.clone();
    for i in 0..MAX_SIGNATURES {
        e.signatures.push(EnvelopeSignature {
            keyid: format!("signer-{i}"),
            sig: vec![0; 64],
        });
    }
    assert_eq!(e.signatures.len(), MAX_SIGNATURES + 1);
    assert_eq!(
        e.check_shape().unwrap_err().code(),
        "ATTESTATION_ENVELOPE_INVALID"
    );
    e.signatures.pop();
    e.check_shape().unwrap();

    let mut e = good.clone();
    e.signatures.push(e.signatures[0].clone());
    let err = e.check_shape().unwrap_err();
    assert!(err.to_string().contains("signatures[1].keyid"), "{err}");

    for bad_keyid in ["", "has space", "a/b"] {
        let mut e = good.clone();
        e.signatures[0].keyid = bad_keyid.into();
        let err = e.check_shape().unwrap_err();
        assert!(err.to_string().contains("signatures[0].keyid"), "{err}");
    }

    for bad_len in [0, 63, 65, 3308] {
        let mut e = good.clone();
        e.signatures[0].sig = vec![1; bad_len];
        let err = e.check_shape().unwrap_err();
        assert!(err.to_string().contains("signatures[0].sig"), "{err}");
    }
}

#[test]
fn attestation_statement_parse_accepts_and_indexes() {
    let st = parse_statement(&bytes_of(&statement_json())).unwrap();
    assert_eq!(st.predicate_type, "https://example.com/custom/v1");
    assert_eq!(st.predicate, json!({"note": "hello"}));
    assert_eq!(
        st.subjects[1],
        Subject {
            name: Some("dist/app.sbom.json".into()),
            // serde_json's map may reorder keys; parse_statement keeps the bytes' order.
            digests: {
                let v = statement_json();
                v["subject"][1]["digest"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect()
            },
        }
    );
    assert_eq!(
        st.subject_digests(),
        vec![
            format!("gitCommit:{}", "a".repeat(40)),
            format!("sha256:{SHA_B}"),
            format!("sha256:{SHA_A}"),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );

    // Digest order inside a subject follows the payload bytes.
    let raw = format!(
        r#"{{"_type":"{STATEMENT_TYPE_V1}","subject":[{{"digest":{{"sha512":"{}","sha256":"{SHA_A}"}}}}],"predicateType":"https://x.example/p","predicate":{{}}}}"#,
        "b".repeat(128)
    );
    let st = parse_statement(raw.as_bytes()).unwrap();
    assert_eq!(st.subjects[0].digests[0].0, "sha512");
    assert_eq!(st.subjects[0].name, None);
    let refs: Vec<String> = st.subjects[0].digest_refs().collect();
    assert_eq!(
        refs,
        vec![
            format!("sha512:{}", "b".repeat(128)),
            format!("sha256:{SHA_A}")
        ]
    );

    // Duplicate digests across subjects are indexed once.
    let dup = mutated(|v| {
        v["subject"][1] = json!({"digest": {"sha256": SHA_A}});
    });
    assert_eq!(
        parse_statement(&dup).unwrap().subject_digests(),
        vec![format!("sha256:{SHA_A}")]
    );

    // Every optional descriptor field of the v1 spec is accepted.
    let full = mutated(|v| {
        v["subject"][0] = json!({
            "name": "x", "uri": "pkg:npm/x@1", "digest": {"sha256": SHA_A},
            "content": "aGk=", "downloadLocation": "https://example.com/x",
            "mediaType": "application/gzip", "annotations": {"k": [1, 2]}
        });
    });
    parse_statement(&full).unwrap();

    // Limits are inclusive.
    let max = mutated(|v| {
        v["subject"] = Value::Array(
            (0..MAX_SUBJECTS)
                .map(|i| json!({"digest": {"sha256": format!("{i:064x}")}}))
                .collect(),
        );
    });
    assert_eq!(parse_statement(&max).unwrap().subjects.len(), MAX_SUBJECTS);
}

#[test]
fn attestation_statement_rejections() {
    let h = |n: usize| "a".repeat(n);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not JSON", b"{".to_vec(), "payload: not valid JSON"),
        (
            "not an object",
            b"[1]".to_vec(),
            "payload: must be a JSON object",
        ),
        (
            "wrong _type",
            mutated(|v| v["_type"] = json!("https://in-toto.io/Statement/v0.1")),
            "_type: is \"https://in-toto.io/Statement/v0.1\"",
        ),
        (
            "missing _type",
            mutated(|v| {
                v.as_object_mut().unwrap().remove("_type");
            }),
            "_type: is missing",
        ),
        (
            "missing subject",
            mutated(|v| {
                v.as_object_mut().unwrap().remove("subject");
            }),
            "subject: is missing",
        ),
        (
            "empty subject",
            mutated(|v| v["subject"] = json!([])),
            "subject: must name at least one subject",
        ),
        (
            "subject not an array",
            mutated(|v| v["subject"] = json!({"digest": {"sha256": SHA_A}})),
            "subject: must be an array",
        ),
        (
            "too many subjects",
            mutated(|v| {
                v["subject"] = Value::Array(
                    (0..=MAX_SUBJECTS)
                        .map(|i| json!({"digest": {"sha256": format!("{i:064x}")}}))
                        .collect(),
                );
            }),
            "subject: has 1025 subjects, at most 1024",
        ),
        (
            "subject without digest",
            mutated(|v| v["subject"][1] = json!({"name": "x", "uri": "https://x"})),
            "subject[1].digest: is missing",
        ),
        (
            "empty digest",
            mutated(|v| v["subject"][0]["digest"] = json!({})),
            "subject[0].digest: must hold at least one digest",
        ),
        (
            "too many digests",
            mutated(|v| {
                let mut d = serde_json::Map::new();
                for i in 0..=MAX_DIGESTS_PER_SUBJECT {
                    d.insert(format!("alg{i}"), json!("abcd"));
                }
                v["subject"][0]["digest"] = Value::Object(d);
            }),
            "subject[0].digest: holds 9 digests, at most 8",
        ),
        (
            "short sha256",
            mutated(|v| v["subject"][1]["digest"]["sha256"] = json!(h(62))),
            "subject[1].digest.sha256: expected 64 lowercase hex characters",
        ),
        (
            "long sha1",
            mutated(|v| v["subject"][0]["digest"] = json!({"sha1": h(41)})),
            "subject[0].digest.sha1: expected 40 lowercase hex characters",
        ),
        (
            "upper-case hex",
            mutated(|v| v["subject"][0]["digest"]["sha256"] = json!(SHA_A.to_uppercase())),
            "subject[0].digest.sha256: expected 64 lowercase hex characters",
        ),
        (
            "non-hex",
            mutated(|v| v["subject"][0]["digest"]["sha256"] = json!(format!("{}g", h(63)))),
            "subject[0].digest.sha256: expected 64",
        ),
        (
            "gitCommit of 50",
            mutated(|v| v["subject"][0]["digest"] = json!({"gitCommit": h(50)})),
            "subject[0].digest.gitCommit: expected 40 or 64 lowercase hex characters",
        ),
        (
            "odd-length unknown algorithm",
            mutated(|v| v["subject"][0]["digest"] = json!({"blake2b": h(7)})),
            "subject[0].digest.blake2b: expected an even number",
        ),
        (
            "digest value not a string",
            mutated(|v| v["subject"][0]["digest"] = json!({"sha256": 5})),
            "subject[0].digest.sha256: must be a hex string",
        ),
        (
            "known algorithm miscapitalised",
            mutated(|v| v["subject"][0]["digest"] = json!({"SHA256": SHA_A})),
            "subject[0].digest.SHA256: must be spelled sha256",
        ),
        (
            "algorithm with a bad character",
            mutated(|v| v["subject"][0]["digest"] = json!({"sha/256": SHA_A})),
            "subject[0].digest[\"sha/256\"]: a digest algorithm name",
        ),
        (
            "unknown descriptor field",
            mutated(|v| v["subject"][0]["size"] = json!(12)),
            "subject[0].size: unknown field",
        ),
        (
            "name not a string",
            mutated(|v| v["subject"][0]["name"] = json!(1)),
            "subject[0].name: must be a string",
        ),
        (
            "name too long",
            mutated(|v| v["subject"][0]["name"] = json!("n".repeat(1025))),
            "subject[0].name: is 1025 bytes, at most 1024",
        ),
        (
            "annotations not an object",
            mutated(|v| v["subject"][0]["annotations"] = json!("x")),
            "subject[0].annotations: must be an object",
        ),
        (
            "unknown top-level field",
            mutated(|v| v["metadata"] = json!({})),
            "metadata: unknown field",
        ),
        (
            "missing predicate",
            mutated(|v| {
                v.as_object_mut().unwrap().remove("predicate");
            }),
            "predicate: is missing",
        ),
        (
            "predicate not an object",
            mutated(|v| v["predicate"] = json!([1])),
            "predicate: must be a JSON object",
        ),
        (
            "missing predicateType",
            mutated(|v| {
                v.as_object_mut().unwrap().remove("predicateType");
            }),
            "predicateType: is missing",
        ),
        (
            "predicateType empty",
            mutated(|v| v["predicateType"] = json!("")),
            "predicateType: must not be empty",
        ),
        (
            "predicateType not a URI",
            mutated(|v| v["predicateType"] = json!("provenance")),
            "predicateType: \"provenance\" is not a URI",
        ),
        (
            "predicateType with a space",
            mutated(|v| v["predicateType"] = json!("https://x.example/a b")),
            "predicateType: must not contain whitespace",
        ),
        (
            "predicateType too long",
            mutated(|v| v["predicateType"] = json!(format!("https://{}", "x".repeat(505)))),
            "predicateType: is 513 bytes, at most 512",
        ),
    ];
    for (what, payload, expected) in cases {
        let msg = statement_error(&payload);
        assert!(
            msg.contains(expected),
            "{what}: {msg:?} should contain {expected:?}"
        );
    }

    // The example message of the brief, verbatim.
    let e = parse_statement(&mutated(|v| {
        v["subject"] = json!([
            {"digest": {"sha256": SHA_A}},
            {"digest": {"sha256": SHA_B}},
            {"digest": {"sha256": "abc"}}
        ]);
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid in-toto statement: subject[2].digest.sha256: expected 64 lowercase hex characters"
    );
}

#[test]
fn attestation_statement_duplicate_keys_rejected() {
    let ok = format!(
        r#"{{"_type":"{STATEMENT_TYPE_V1}","subject":[{{"digest":{{"sha256":"{SHA_A}"}}}}],"predicateType":"https://x.example/p","predicate":{{"a":1}}}}"#
    );
    parse_statement(ok.as_bytes()).unwrap();
    let variants = [
        // Top level: serde_json would keep the last `_type` silently.
        ok.replacen("{\"_type\"", &format!("{{\"_type\":\"x\",\"_type\""), 1),
        // Inside a digest set: two different sha256 values for one subject.
        ok.replacen(
            "{\"sha256\"",
            &format!("{{\"sha256\":\"{SHA_B}\",\"sha256\""),
            1,
        ),
        // Deep inside the predicate.
        ok.replace(r#"{"a":1}"#, r#"{"a":{"b":1,"b":2}}"#),
    ];
    for v in variants {
        let msg = statement_error(v.as_bytes());
        assert!(msg.contains("duplicate"), "{msg}");
    }
}

#[test]
fn attestation_statement_to_json_bytes_round_trip() {
    let st = Statement {
        subjects: vec![
            Subject {
                name: Some("out/ü.bin".into()),
                digests: vec![("sha256".into(), SHA_A.into())],
            },
            Subject {
                name: None,
                digests: vec![
                    ("sha512".into(), "c".repeat(128)),
                    ("gitCommit".into(), "d".repeat(40)),
                ],
            },
        ],
        predicate_type: PREDICATE_SLSA_PROVENANCE_V1.into(),
        predicate: slsa_provenance(),
    };
    let bytes = st.to_json_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.starts_with(&format!(
            "{{\"_type\":\"{STATEMENT_TYPE_V1}\",\"predicate\":{{\"buildDefinition\":"
        )),
        "{text}"
    );
    assert!(!text.contains(": ") && !text.contains('\n'));
    assert!(text.contains("out/ü.bin"), "UTF-8, not escaped");
    let back = parse_statement(&bytes).unwrap();
    // Digest keys come back sorted (the canonical form sorts every object).
    let mut expected = st.clone();
    expected.subjects[1].digests.sort();
    assert_eq!(back, expected);
    check_predicate(&back.predicate_type, &back.predicate).unwrap();
    // Deterministic.
    assert_eq!(back.to_json_bytes(), bytes);
}

/// A realistic SLSA v1 provenance of a GitHub Actions build (the shape the
/// slsa-github-generator and `actions/attest-build-provenance` produce).
fn slsa_provenance() -> Value {
    json!({
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {
                "workflow": {
                    "ref": "refs/tags/v1.4.2",
                    "repository": "https://github.com/example-org/payments",
                    "path": ".github/workflows/release.yml"
                }
            },
            "internalParameters": {
                "github": {
                    "event_name": "push",
                    "repository_id": "712345678",
                    "repository_owner_id": "98765432",
                    "runner_environment": "github-hosted"
                }
            },
            "resolvedDependencies": [
                {
                    "uri": "git+https://github.com/example-org/payments@refs/tags/v1.4.2",
                    "digest": {"gitCommit": "7d9e3a1f0b2c4d5e6f708192a3b4c5d6e7f80912"}
                }
            ]
        },
        "runDetails": {
            "builder": {
                "id": "https://github.com/example-org/payments/.github/workflows/release.yml@refs/tags/v1.4.2"
            },
            "metadata": {
                "invocationId": "https://github.com/example-org/payments/actions/runs/9876543210/attempts/1"
            }
        }
    })
}

#[test]
fn attestation_slsa_provenance_v1_real_example_accepted() {
    let statement = json!({
        "_type": STATEMENT_TYPE_V1,
        "subject": [
            {"name": "payments-1.4.2-linux-amd64.tar.gz", "digest": {"sha256": SHA_A}},
            {"name": "payments-1.4.2-linux-arm64.tar.gz", "digest": {"sha256": SHA_B}}
        ],
        "predicateType": PREDICATE_SLSA_PROVENANCE_V1,
        "predicate": slsa_provenance()
    });
    let env = Envelope::sign(
        PAYLOAD_TYPE_IN_TOTO,
        bytes_of(&statement),
        "ci-bot",
        &key(Algorithm::Ed25519, 9),
    );
    let st = env.check_stateless().unwrap();
    assert_eq!(st.predicate_type, PREDICATE_SLSA_PROVENANCE_V1);
    assert_eq!(st.subject_digests().len(), 2);

    // Optional fields present with the right types are accepted; unknown ones ignored.
    let mut richer = slsa_provenance();
    richer["runDetails"]["builder"]["version"] = json!({"github-actions": "2.319.1"});
    richer["runDetails"]["builder"]["builderDependencies"] =
        json!([{"uri": "https://github.com/actions/runner", "digest": {"sha256": SHA_B}}]);
    richer["runDetails"]["metadata"]["startedOn"] = json!("2024-05-01T10:00:00Z");
    richer["runDetails"]["metadata"]["finishedOn"] = json!("2024-05-01T10:07:31Z");
    richer["runDetails"]["byproducts"] = json!([{"name": "build.log", "content": "b2s="}]);
    richer["futureField"] = json!(true);
    check_predicate(PREDICATE_SLSA_PROVENANCE_V1, &richer).unwrap();
}

#[test]
fn attestation_slsa_provenance_v1_rejections() {
    let cases: Vec<(fn(&mut Value), &str)> = vec![
        (
            |p| {
                p["runDetails"]["builder"]
                    .as_object_mut()
                    .unwrap()
                    .remove("id");
            },
            "predicate.runDetails.builder.id: is missing",
        ),
        (
            |p| p["runDetails"]["builder"]["id"] = json!(""),
            "predicate.runDetails.builder.id: must not be empty",
        ),
        (
            |p| {
                p["runDetails"].as_object_mut().unwrap().remove("builder");
            },
            "predicate.runDetails.builder: is missing",
        ),
        (
            |p| {
                p.as_object_mut().unwrap().remove("runDetails");
            },
            "predicate.runDetails: is missing",
        ),
        (
            |p| {
                p.as_object_mut().unwrap().remove("buildDefinition");
            },
            "predicate.buildDefinition: is missing",
        ),
        (
            |p| p["buildDefinition"]["buildType"] = json!(3),
            "predicate.buildDefinition.buildType: must be a string",
        ),
        (
            |p| {
                p["buildDefinition"]
                    .as_object_mut()
                    .unwrap()
                    .remove("externalParameters");
            },
            "predicate.buildDefinition.externalParameters: is missing",
        ),
        (
            |p| p["buildDefinition"]["externalParameters"] = json!([]),
            "predicate.buildDefinition.externalParameters: must be an object",
        ),
        (
            |p| p["buildDefinition"]["internalParameters"] = json!("x"),
            "predicate.buildDefinition.internalParameters: must be an object",
        ),
        (
            |p| p["buildDefinition"]["resolvedDependencies"] = json!({}),
            "predicate.buildDefinition.resolvedDependencies: must be an array",
        ),
        (
            |p| p["buildDefinition"]["resolvedDependencies"] = json!([{"name": "only a name"}]),
            "predicate.buildDefinition.resolvedDependencies[0]: a resource descriptor needs",
        ),
        (
            |p| p["buildDefinition"]["resolvedDependencies"][0]["digest"] = json!({"sha1": 1}),
            "predicate.buildDefinition.resolvedDependencies[0].digest.sha1: must be a string",
        ),
        (
            |p| p["runDetails"]["metadata"] = json!({"startedOn": 5}),
            "predicate.runDetails.metadata.startedOn: must be a string",
        ),
        (
            |p| p["runDetails"]["byproducts"] = json!(["x"]),
            "predicate.runDetails.byproducts[0]: must be an object",
        ),
    ];
    for (mutate, expected) in cases {
        let mut p = slsa_provenance();
        mutate(&mut p);
        let e = check_predicate(PREDICATE_SLSA_PROVENANCE_V1, &p).unwrap_err();
        assert_eq!(e.code(), "ATTESTATION_PREDICATE_INVALID");
        assert!(
            e.to_string().contains(expected),
            "{e} should contain {expected:?}"
        );
    }
    // The same predicate under an unknown type is not this module's business.
    check_predicate("https://example.com/other/v1", &json!({})).unwrap();
}

fn agent_session() -> AgentSessionPredicate {
    let requests = [[1u8; 32], [2u8; 32], [3u8; 32]];
    AgentSessionPredicate {
        agent_id: "agent:planner".into(),
        session_id: "sess-2024-05-01.0001".into(),
        intent_chain: IntentChain {
            entries: 3,
            head: hex::encode(intent_chain_head(&requests)),
            request_sha256: requests.iter().map(hex::encode).collect(),
        },
        task_parameters_sha256: SHA_A.into(),
        artifacts: 2,
        started_on: "2024-05-01T10:00:00Z".into(),
        finished_on: "2024-05-01T10:42:17.250Z".into(),
        runner: Some("maat attest run 0.4.0".into()),
    }
}

#[test]
fn attestation_agent_session_v1() {
    let p = agent_session();
    let value = p.to_value();
    // camelCase field names, as documented.
    for field in [
        "agentId",
        "sessionId",
        "intentChain",
        "taskParametersSha256",
        "artifacts",
        "startedOn",
        "finishedOn",
        "runner",
    ] {
        assert!(value.get(field).is_some(), "{field}");
    }
    assert!(value["intentChain"].get("requestSha256").is_some());
    check_predicate(PREDICATE_AGENT_SESSION_V1, &value).unwrap();
    assert_eq!(AgentSessionPredicate::parse(&value).unwrap(), p);

    // The head formula: h_i = SHA-256(h_{i-1} || r_i), h_0 = zeros.
    let h1 = maat_crypto::sha256(&[[0u8; 32], [1u8; 32]].concat());
    assert_eq!(intent_chain_head(&[[1u8; 32]]), h1);
    assert_eq!(intent_chain_head(&[]), [0u8; 32]);

    // Withheld request hashes and no runner are fine; so is an empty session.
    let mut q = p.clone();
    q.intent_chain.request_sha256.clear();
    q.runner = None;
    let mut v = q.to_value();
    assert!(v.get("runner").is_none());
    check_predicate(PREDICATE_AGENT_SESSION_V1, &v).unwrap();
    v["intentChain"]
        .as_object_mut()
        .unwrap()
        .remove("requestSha256");
    check_predicate(PREDICATE_AGENT_SESSION_V1, &v).unwrap();
    let mut empty = p.clone();
    empty.intent_chain = IntentChain {
        entries: 0,
        head: "0".repeat(64),
        request_sha256: vec![],
    };
    empty.finished_on = empty.started_on.clone();
    check_predicate(PREDICATE_AGENT_SESSION_V1, &empty.to_value()).unwrap();

    // Inside a signed statement.
    let statement = json!({
        "_type": STATEMENT_TYPE_V1,
        "subject": [
            {"name": "src/planner.rs", "digest": {"sha256": SHA_A}},
            {"name": "docs/plan.md", "digest": {"sha256": SHA_B}}
        ],
        "predicateType": PREDICATE_AGENT_SESSION_V1,
        "predicate": value
    });
    Envelope::sign(
        PAYLOAD_TYPE_IN_TOTO,
        bytes_of(&statement),
        "agent:planner",
        &key(Algorithm::MlDsa65, 10),
    )
    .check_stateless()
    .unwrap();
}

#[test]
fn attestation_agent_session_v1_rejections() {
    let cases: Vec<(fn(&mut Value), &str)> = vec![
        (
            |v| v["finishedOn"] = json!("2024-05-01T09:59:59.999Z"),
            "predicate.finishedOn: 2024-05-01T09:59:59.999Z is before startedOn",
        ),
        (
            |v| v["startedOn"] = json!("2024-05-01 10:00:00"),
            "predicate.startedOn: \"2024-05-01 10:00:00\" is not an RFC 3339 UTC time",
        ),
        (
            |v| v["finishedOn"] = json!("2024-02-30T00:00:00Z"),
            "predicate.finishedOn: \"2024-02-30T00:00:00Z\": day 30 does not exist",
        ),
        (
            |v| v["extra"] = json!(1),
            "predicate: unknown field `extra`",
        ),
        (
            |v| v["intentChain"]["extra"] = json!(1),
            "predicate.intentChain: unknown field `extra`",
        ),
        (
            |v| {
                v.as_object_mut().unwrap().remove("agentId");
            },
            "predicate: missing field `agentId`",
        ),
        (
            |v| v["artifacts"] = json!(-1),
            "predicate: invalid value: integer `-1`",
        ),
        (
            |v| v["agentId"] = json!("agent planner"),
            "predicate.agentId: \"agent planner\" is not a valid name",
        ),
        (
            |v| v["sessionId"] = json!(""),
            "predicate.sessionId: \"\" is not a valid name",
        ),
        (
            |v| v["taskParametersSha256"] = json!(SHA_A.to_uppercase()),
            "predicate.taskParametersSha256: expected 64 lowercase hex characters",
        ),
        (
            |v| v["intentChain"]["head"] = json!("ab"),
            "predicate.intentChain.head: expected 64 lowercase hex characters",
        ),
        (
            |v| v["intentChain"]["requestSha256"][1] = json!("zz"),
            "predicate.intentChain.requestSha256[1]: expected 64 lowercase hex characters",
        ),
        (
            |v| v["intentChain"]["entries"] = json!(4),
            "predicate.intentChain.requestSha256: holds 3 hashes but entries is 4",
        ),
        (
            |v| v["intentChain"]["head"] = json!(SHA_A),
            "predicate.intentChain.head: is not the hash chain of requestSha256",
        ),
        (
            |v| {
                v["intentChain"] = json!({"entries": 0, "head": SHA_A, "requestSha256": []});
            },
            "predicate.intentChain.head: must be 64 zeros when entries is 0",
        ),
        (
            |v| v["runner"] = json!(""),
            "predicate.runner: must be 1 to 256 bytes",
        ),
        (|v| *v = json!([1]), "predicate: must be an object"),
    ];
    for (mutate, expected) in cases {
        let mut v = agent_session().to_value();
        mutate(&mut v);
        let e = check_predicate(PREDICATE_AGENT_SESSION_V1, &v).unwrap_err();
        assert_eq!(e.code(), "ATTESTATION_PREDICATE_INVALID");
        assert!(
            e.to_string().contains(expected),
            "{e} should contain {expected:?}"
        );
        assert!(AgentSessionPredicate::parse(&v).is_err());
    }
}

#[test]
fn attestation_normalize_digest_ref() {
    assert_eq!(
        normalize_digest_ref(&format!("sha256:{}", SHA_A.to_uppercase())).unwrap(),
        format!("sha256:{SHA_A}")
    );
    assert_eq!(
        normalize_digest_ref(&format!("SHA256:{SHA_A}")).unwrap(),
        format!("sha256:{SHA_A}")
    );
    assert_eq!(
        normalize_digest_ref(&format!("gitcommit:{}", "A".repeat(40))).unwrap(),
        format!("gitCommit:{}", "a".repeat(40))
    );
    assert_eq!(
        normalize_digest_ref("blake2b:ABCD").unwrap(),
        "blake2b:abcd"
    );
    for bad in [
        "",
        SHA_A,
        "sha256:",
        "sha256:abc",
        &format!("sha256:{SHA_A}0"),
        &format!("sha256: {SHA_A}"),
        &format!("sha 256:{SHA_A}"),
        "blake2b:abc",
        &format!(":{SHA_A}"),
    ] {
        let e = normalize_digest_ref(bad).expect_err(bad);
        assert_eq!(e.code(), "ATTESTATION_DIGEST_REF_INVALID");
    }
}

#[test]
fn attestation_error_codes_are_stable() {
    let errors = [
        (
            AttestationError::Envelope {
                path: "signatures".into(),
                reason: "r".into(),
            },
            "ATTESTATION_ENVELOPE_INVALID",
        ),
        (
            AttestationError::PayloadType {
                found: "x".into(),
                expected: PAYLOAD_TYPE_IN_TOTO,
            },
            "ATTESTATION_PAYLOAD_TYPE_INVALID",
        ),
        (
            AttestationError::Statement {
                path: "subject".into(),
                reason: "r".into(),
            },
            "ATTESTATION_STATEMENT_INVALID",
        ),
        (
            AttestationError::Predicate {
                predicate_type: "t".into(),
                path: "predicate".into(),
                reason: "r".into(),
            },
            "ATTESTATION_PREDICATE_INVALID",
        ),
        (
            AttestationError::Signature {
                index: 0,
                keyid: "k".into(),
                reason: "r".into(),
            },
            "ATTESTATION_SIGNATURE_INVALID",
        ),
    ];
    for (e, code) in errors {
        assert_eq!(e.code(), code);
    }
}

#[test]
fn attestation_predicate_integers_must_fit_in_64_bits() {
    let with = |n: &str| {
        let text = String::from_utf8(bytes_of(&statement_json())).unwrap();
        text.replace(r#""note":"hello""#, &format!(r#""n":{n}"#))
            .into_bytes()
    };
    for fits in ["18446744073709551615", "-9223372036854775808", "0"] {
        let s = parse_statement(&with(fits)).expect(fits);
        assert!(s.predicate["n"].is_number(), "{fits}");
    }
    // Beyond 64 bits: invalid on every build (serde_json's own limit depends on its features).
    for big in [
        "18446744073709551616",
        "-9223372036854775809",
        &"9".repeat(400),
    ] {
        let e = statement_error(&with(big));
        assert!(e.contains("beyond 64 bits"), "{big}: {e}");
    }
}
