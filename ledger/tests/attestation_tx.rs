//! Attestation transactions on a chain: every accept and reject path of an `Attestation` tx
//! with real signatures, the `AttestationRecord` block application writes at the tx's log
//! index, maat-v1 certificates citing a committed attestation (`attestation_ref`), and
//! envelopes made by in-toto's reference Python tooling (ledger/tests/intoto/).
//!
//! Test names start with `attestation_` so `cargo test -- attestation` selects them.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use maat_certificate::maat_v1::{CertificateBuilder, EvidenceItem, Registry, Request};
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::attestation::{
    AgentSessionPredicate, Envelope, EnvelopeSignature, IntentChain, MAX_SIGNATURES,
    PAYLOAD_TYPE_IN_TOTO, PREDICATE_AGENT_SESSION_V1, PREDICATE_SLSA_PROVENANCE_V1,
    STATEMENT_TYPE_V1, intent_chain_head,
};
use maat_ledger::state::{attestation_record, keys};
use maat_ledger::{
    BlockError, ChainParams, DEFAULT_MAX_ATTESTATION_TX_BYTES, GenesisSpec, NoKnownSignatures,
    Rejection, TxKind, TxSubject,
};
use maat_proto::tx::body;
use maat_proto::v1::{self, tx_body::Kind};
use serde_json::{Value, json};

const SHA_A: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SHA_B: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const SHA_C: &str = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7";
const GIT: &str = "7d9e3a1f0b2c4d5e6f708192a3b4c5d6e7f80912";
/// A predicate type no default chain admits.
const CUSTOM: &str = "https://example.com/attestation/custom/v1";

/// When the identities are registered.
const SETUP_MS: u64 = GENESIS_MS + 1000;

fn sha(hex: &str) -> String {
    format!("sha256:{hex}")
}

/// The chain's identities: `submitter` submits attestation transactions; the others sign
/// envelopes. `retired` and `rotating` are for the revocation and rotation cases.
struct Ids {
    submitter: KeyPair,
    builder: KeyPair,
    release: KeyPair,
    pq: KeyPair,
    retired: KeyPair,
    rotating: KeyPair,
}

impl Ids {
    fn new() -> Ids {
        Ids {
            submitter: ed(20),
            builder: ed(21),
            release: ed(22),
            pq: key(Algorithm::MlDsa65, 23),
            retired: ed(24),
            rotating: ed(25),
        }
    }

    fn all(&self) -> [(&'static str, &KeyPair); 6] {
        [
            ("submitter", &self.submitter),
            ("builder", &self.builder),
            ("release-bot", &self.release),
            ("pq-signer", &self.pq),
            ("retired", &self.retired),
            ("rotating", &self.rotating),
        ]
    }
}

/// A chain with `params` and the identities registered at [`SETUP_MS`].
fn chain_with(params: ChainParams) -> (Chain, Ids) {
    let mut c = Chain::with_spec(GenesisSpec {
        genesis_time_ms: GENESIS_MS,
        params,
        ..GenesisSpec::new(1, [42; 32])
    });
    let ids = Ids::new();
    let txs: Vec<Vec<u8>> = (1u64..)
        .zip(ids.all())
        .map(|(nonce, (id, kp))| {
            c.tx(
                &c.admin,
                "admin-0",
                nonce,
                body::register(id, &kp.public(), &[]),
            )
        })
        .collect();
    c.commit(SETUP_MS, &txs);
    (c, ids)
}

fn chain() -> (Chain, Ids) {
    chain_with(ChainParams::default())
}

/// A realistic SLSA provenance v1 predicate (GitHub Actions shape).
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
            "resolvedDependencies": [{
                "uri": "git+https://github.com/example-org/payments@refs/tags/v1.4.2",
                "digest": {"gitCommit": GIT}
            }]
        },
        "runDetails": {
            "builder": {
                "id": "https://github.com/example-org/payments/.github/workflows/release.yml@refs/tags/v1.4.2"
            },
            "metadata": {"invocationId": "https://github.com/example-org/payments/actions/runs/1"}
        }
    })
}

/// An agent-session predicate of `agent` (which must sign) over `artifacts` subjects.
fn agent_session(agent: &str, artifacts: u64) -> Value {
    let requests = [[1u8; 32], [2u8; 32]];
    AgentSessionPredicate {
        agent_id: agent.into(),
        session_id: "session-0001".into(),
        intent_chain: IntentChain {
            entries: 2,
            head: hex::encode(intent_chain_head(&requests)),
            request_sha256: requests.iter().map(hex::encode).collect(),
        },
        task_parameters_sha256: SHA_C.into(),
        artifacts,
        started_on: "2026-01-01T00:10:00Z".into(),
        finished_on: "2026-01-01T00:42:17.250Z".into(),
        runner: Some("maat attest run 0.4.0".into()),
    }
    .to_value()
}

/// A Statement v1 with one subject per digest set.
fn statement(subjects: Value, predicate_type: &str, predicate: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": STATEMENT_TYPE_V1,
        "subject": subjects,
        "predicateType": predicate_type,
        "predicate": predicate,
    }))
    .expect("JSON")
}

/// SLSA provenance of two artifacts, `SHA_A` and `SHA_B`.
fn slsa_statement() -> Vec<u8> {
    statement(
        json!([
            {"name": "payments-1.4.2-linux-amd64.tar.gz", "digest": {"sha256": SHA_A}},
            {"name": "payments-1.4.2-linux-arm64.tar.gz", "digest": {"sha256": SHA_B}}
        ]),
        PREDICATE_SLSA_PROVENANCE_V1,
        slsa_provenance(),
    )
}

fn sign(payload: Vec<u8>, keyid: &str, kp: &KeyPair) -> Envelope {
    Envelope::sign(PAYLOAD_TYPE_IN_TOTO, payload, keyid, kp)
}

/// An attestation transaction carrying `env` from `submitter` with its next committed nonce.
fn att_tx(c: &Chain, submitter: &str, kp: &KeyPair, env: &Envelope) -> Vec<u8> {
    att_tx_nonce(c, submitter, kp, env, c.nonce(submitter))
}

fn att_tx_nonce(c: &Chain, submitter: &str, kp: &KeyPair, env: &Envelope, nonce: u64) -> Vec<u8> {
    c.tx(kp, submitter, nonce, Kind::Attestation(env.to_proto()))
}

/// `env` submitted by `submitter`.
fn from_submitter(c: &Chain, ids: &Ids, env: &Envelope) -> Vec<u8> {
    att_tx(c, "submitter", &ids.submitter, env)
}

/// The attestation subject of an accepted transaction.
fn accepted_subject(c: &Chain, t: &[u8]) -> TxSubject {
    let e = c
        .check(t, BLOCK_MS)
        .unwrap_or_else(|e| panic!("rejected: {e}"));
    assert_eq!(e.kind, TxKind::Attestation);
    e.subject
}

/// The rejection of `t`, with its code and number checked.
fn rejected(c: &Chain, t: &[u8], code: &str, number: u32) -> Rejection {
    let r = c.reject(t, BLOCK_MS);
    assert_eq!((r.code(), r.numeric_code()), (code, number), "{r}");
    r
}

/// As [`rejected`], and also refused by the stateless decode (no state needed).
fn rejected_stateless(c: &Chain, t: &[u8], code: &str, number: u32) -> Rejection {
    let r = rejected(c, t, code, number);
    let d = c.ledger.decode(t).expect_err("refused while decoding");
    assert_eq!(d, r);
    r
}

// ---------------------------------------------------------------------------------------------
// Accepted
// ---------------------------------------------------------------------------------------------

#[test]
fn attestation_tx_slsa_provenance_signed_by_another_identity_is_accepted() {
    let (mut c, ids) = chain();
    let payload = slsa_statement();
    let env = sign(payload.clone(), "builder", &ids.builder);
    let t = from_submitter(&c, &ids, &env);
    let expected = TxSubject::Attestation {
        predicate_type: PREDICATE_SLSA_PROVENANCE_V1.into(),
        subjects: vec![sha(SHA_B), sha(SHA_A)],
        signers: vec!["builder".into()],
        statement_sha256: maat_crypto::sha256(&payload),
    };
    assert_eq!(accepted_subject(&c, &t), expected);
    let out = c.commit(BLOCK_MS, std::slice::from_ref(&t));
    let e = &out.txs[0].effects;
    assert_eq!(
        (e.kind, e.submitter.as_str(), e.nonce),
        (TxKind::Attestation, "submitter", 1)
    );
    assert_eq!(e.subject, expected);
    assert_eq!(c.nonce("submitter"), 2);
    // The signer may also submit its own attestation.
    let own = att_tx(&c, "builder", &ids.builder, &env);
    assert_eq!(accepted_subject(&c, &own), expected);
}

#[test]
fn attestation_tx_agent_session_predicate_is_accepted() {
    let (c, ids) = chain();
    let payload = statement(
        json!([
            {"name": "src/planner.rs", "digest": {"sha256": SHA_A}},
            {"name": "docs/plan.md", "digest": {"sha256": SHA_B}}
        ]),
        PREDICATE_AGENT_SESSION_V1,
        agent_session("builder", 2),
    );
    let t = from_submitter(&c, &ids, &sign(payload, "builder", &ids.builder));
    let TxSubject::Attestation {
        predicate_type,
        subjects,
        ..
    } = accepted_subject(&c, &t)
    else {
        panic!("not an attestation")
    };
    assert_eq!(predicate_type, PREDICATE_AGENT_SESSION_V1);
    assert_eq!(subjects, [sha(SHA_B), sha(SHA_A)]);
}

#[test]
fn attestation_tx_two_signers_and_subjects_are_sorted_and_unique() {
    let (c, ids) = chain();
    // Subjects out of order, one digest listed twice, a subject with two digests.
    let payload = statement(
        json!([
            {"name": "c", "digest": {"sha256": SHA_C}},
            {"name": "a", "digest": {"sha256": SHA_A, "gitCommit": GIT}},
            {"name": "a-again", "digest": {"sha256": SHA_A}},
            {"name": "b", "digest": {"sha256": SHA_B}}
        ]),
        PREDICATE_SLSA_PROVENANCE_V1,
        slsa_provenance(),
    );
    // Keyids not in order in the envelope.
    let mut env = sign(payload.clone(), "release-bot", &ids.release);
    env.add_signature("builder", &ids.builder);
    assert_eq!(env.signatures[0].keyid, "release-bot");
    let t = from_submitter(&c, &ids, &env);
    assert_eq!(
        accepted_subject(&c, &t),
        TxSubject::Attestation {
            predicate_type: PREDICATE_SLSA_PROVENANCE_V1.into(),
            subjects: vec![
                format!("gitCommit:{GIT}"),
                sha(SHA_B),
                sha(SHA_C),
                sha(SHA_A),
            ],
            signers: vec!["builder".into(), "release-bot".into()],
            statement_sha256: maat_crypto::sha256(&payload),
        }
    );
    // Both must verify: a good first signature does not carry a bad second one.
    let mut bad_second = env.clone();
    bad_second.signatures[1].sig = sign(payload, "builder", &ed(99)).signatures[0].sig.clone();
    let r = rejected(
        &c,
        &from_submitter(&c, &ids, &bad_second),
        "ATTESTATION_SIGNATURE_INVALID",
        1708,
    );
    assert_eq!(r, Rejection::AttestationSignatureInvalid("builder".into()));
}

#[test]
fn attestation_tx_ml_dsa_65_signer_is_accepted() {
    let (c, ids) = chain();
    let env = sign(slsa_statement(), "pq-signer", &ids.pq);
    assert_eq!(
        env.signatures[0].sig.len(),
        Algorithm::MlDsa65.signature_len()
    );
    let TxSubject::Attestation { signers, .. } =
        accepted_subject(&c, &from_submitter(&c, &ids, &env))
    else {
        panic!("not an attestation")
    };
    assert_eq!(signers, ["pq-signer"]);
    // With an Ed25519 co-signer.
    let mut both = env.clone();
    both.add_signature("builder", &ids.builder);
    let TxSubject::Attestation { signers, .. } =
        accepted_subject(&c, &from_submitter(&c, &ids, &both))
    else {
        panic!("not an attestation")
    };
    assert_eq!(signers, ["builder", "pq-signer"]);
    // An Ed25519 signature under the ML-DSA identity's keyid: a well-formed envelope whose
    // signature cannot verify under that key.
    let wrong_alg = sign(slsa_statement(), "pq-signer", &ids.builder);
    rejected(
        &c,
        &from_submitter(&c, &ids, &wrong_alg),
        "ATTESTATION_SIGNATURE_INVALID",
        1708,
    );
}

#[test]
fn attestation_tx_records_are_written_at_their_log_index() {
    let (mut c, ids) = chain();
    let first = sign(slsa_statement(), "builder", &ids.builder);
    let second_payload = statement(
        json!([{"digest": {"sha256": SHA_C}}]),
        PREDICATE_AGENT_SESSION_V1,
        agent_session("release-bot", 1),
    );
    let mut second = sign(second_payload.clone(), "release-bot", &ids.release);
    second.add_signature("pq-signer", &ids.pq);
    // Block: a non-attestation tx, then the two attestations.
    let register = c.admin_tx(body::register("late", &ed(30).public(), &[]));
    let txs = vec![
        register,
        att_tx_nonce(&c, "submitter", &ids.submitter, &first, 1),
        att_tx_nonce(&c, "submitter", &ids.submitter, &second, 2),
    ];
    let start = c.log.size();
    let out = c.commit(BLOCK_MS, &txs);
    let indexes: Vec<u64> = out.txs.iter().map(|t| t.log_index).collect();
    assert_eq!(indexes, [start, start + 1, start + 2]);

    assert_eq!(attestation_record(&c.state, start).unwrap(), None);
    let expect = [
        (
            &out.txs[1],
            PREDICATE_SLSA_PROVENANCE_V1,
            vec![sha(SHA_B), sha(SHA_A)],
            vec!["builder".to_owned()],
            maat_crypto::sha256(&first.payload),
        ),
        (
            &out.txs[2],
            PREDICATE_AGENT_SESSION_V1,
            vec![sha(SHA_C)],
            vec!["pq-signer".to_owned(), "release-bot".to_owned()],
            maat_crypto::sha256(&second_payload),
        ),
    ];
    for (applied, predicate_type, subjects, signers, statement_sha256) in expect {
        let rec = attestation_record(&c.state, applied.log_index)
            .unwrap()
            .unwrap_or_else(|| panic!("no record at {}", applied.log_index));
        assert_eq!(
            rec,
            v1::AttestationRecord {
                log_index: applied.log_index,
                tx_id: applied.effects.tx_id.0.to_vec(),
                predicate_type: predicate_type.into(),
                subjects,
                signers,
                statement_sha256: statement_sha256.to_vec(),
            }
        );
        // The record is one of the tx's own state writes (what the node persists).
        let key = keys::attestation(applied.log_index);
        assert!(
            applied.effects.writes.iter().any(|(k, _)| *k == key),
            "the record write is not among the tx's writes"
        );
    }
    // Nothing past the log, nothing at the setup block's indexes.
    assert_eq!(attestation_record(&c.state, start + 3).unwrap(), None);
    for i in 0..start {
        assert_eq!(attestation_record(&c.state, i).unwrap(), None, "index {i}");
    }
    // The registry the maat-v1 checker reads sees the same entry.
    let entry = c
        .ledger
        .registry(&c.state)
        .attestation(start + 2)
        .expect("registry entry");
    assert_eq!(entry.log_index, start + 2);
    assert_eq!(entry.predicate_type, PREDICATE_AGENT_SESSION_V1);
    assert_eq!(entry.subjects, [sha(SHA_C)]);
    assert_eq!(entry.signers, ["pq-signer", "release-bot"]);
    assert!(c.ledger.registry(&c.state).attestation(start).is_none());
}

#[test]
fn attestation_tx_proposer_skips_a_rejected_candidate_and_indexes_the_rest() {
    let (mut c, ids) = chain();
    let good1 = sign(slsa_statement(), "builder", &ids.builder);
    let unknown = sign(slsa_statement(), "nobody", &ed(99));
    let good2 = sign(slsa_statement(), "release-bot", &ids.release);
    let candidates = vec![
        att_tx_nonce(&c, "submitter", &ids.submitter, &good1, 1),
        att_tx_nonce(&c, "submitter", &ids.submitter, &unknown, 2),
        // Nonce 2: the refused candidate did not use it.
        att_tx_nonce(&c, "submitter", &ids.submitter, &good2, 2),
    ];
    let built = c
        .ledger
        .build_block(
            &c.state,
            BLOCK_MS,
            candidates.clone(),
            &c.log,
            &NoKnownSignatures,
        )
        .unwrap();
    assert_eq!(built.txs, [candidates[0].clone(), candidates[2].clone()]);
    let refused: Vec<(usize, &str)> = built.rejected.iter().map(|(i, r)| (*i, r.code())).collect();
    assert_eq!(refused, [(1, "ATTESTATION_SIGNER_UNKNOWN")]);
    let start = c.log.size();
    let indexes: Vec<u64> = built.outcome.txs.iter().map(|t| t.log_index).collect();
    assert_eq!(indexes, [start, start + 1]);
    // The validators' replay computes the same records (they are in the header's state hash).
    let replay = c
        .ledger
        .verify_block(
            &c.state,
            BLOCK_MS,
            &built.txs,
            &c.log,
            &built.outcome.header,
            &NoKnownSignatures,
        )
        .unwrap();
    assert_eq!(replay, built.outcome);
    c.state.apply(&replay.writes);
    let signers = |i: u64| {
        attestation_record(&c.state, i)
            .unwrap()
            .expect("record")
            .signers
    };
    assert_eq!(signers(start), ["builder"]);
    assert_eq!(signers(start + 1), ["release-bot"]);
    assert_eq!(attestation_record(&c.state, start + 2).unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// Rejected: signatures and signers
// ---------------------------------------------------------------------------------------------

#[test]
fn attestation_tx_payload_tampered_after_signing_is_rejected() {
    let (c, ids) = chain();
    let env = sign(slsa_statement(), "builder", &ids.builder);
    // Another valid Statement: one subject digest changed.
    let mut tampered = env.clone();
    let text = String::from_utf8(tampered.payload.clone()).unwrap();
    tampered.payload = text.replacen(SHA_A, SHA_C, 1).into_bytes();
    assert_ne!(tampered.payload, env.payload);
    tampered.check_stateless().expect("still a valid statement");
    let r = rejected(
        &c,
        &from_submitter(&c, &ids, &tampered),
        "ATTESTATION_SIGNATURE_INVALID",
        1708,
    );
    assert_eq!(r, Rejection::AttestationSignatureInvalid("builder".into()));
    // A flipped signature bit.
    let mut flipped = env.clone();
    flipped.signatures[0].sig[10] ^= 0x01;
    rejected(
        &c,
        &from_submitter(&c, &ids, &flipped),
        "ATTESTATION_SIGNATURE_INVALID",
        1708,
    );
    // The original is fine.
    accepted_subject(&c, &from_submitter(&c, &ids, &env));
}

#[test]
fn attestation_tx_signature_by_another_key_is_rejected() {
    let (c, ids) = chain();
    // Under `builder`'s keyid: a stranger's key, then another registered identity's key.
    for kp in [&ed(99), &ids.release] {
        let env = sign(slsa_statement(), "builder", kp);
        let r = rejected(
            &c,
            &from_submitter(&c, &ids, &env),
            "ATTESTATION_SIGNATURE_INVALID",
            1708,
        );
        assert_eq!(r, Rejection::AttestationSignatureInvalid("builder".into()));
    }
    // The Maat transaction-signing domain is not DSSE's: a signature of PAE under the tx
    // domain does not verify.
    let mut env = sign(slsa_statement(), "builder", &ids.builder);
    env.signatures[0].sig = ids
        .builder
        .sign(maat_proto::TX_SIGNATURE_DOMAIN, &env.pae())
        .as_bytes()
        .to_vec();
    rejected(
        &c,
        &from_submitter(&c, &ids, &env),
        "ATTESTATION_SIGNATURE_INVALID",
        1708,
    );
}

#[test]
fn attestation_tx_unknown_signer_is_rejected() {
    let (c, ids) = chain();
    let env = sign(slsa_statement(), "nobody", &ed(99));
    let r = rejected(
        &c,
        &from_submitter(&c, &ids, &env),
        "ATTESTATION_SIGNER_UNKNOWN",
        1706,
    );
    assert_eq!(r, Rejection::AttestationSignerUnknown("nobody".into()));
    // One unknown signer among known ones is enough.
    let mut env = sign(slsa_statement(), "builder", &ids.builder);
    env.add_signature("nobody", &ed(99));
    let r = rejected(
        &c,
        &from_submitter(&c, &ids, &env),
        "ATTESTATION_SIGNER_UNKNOWN",
        1706,
    );
    assert_eq!(r, Rejection::AttestationSignerUnknown("nobody".into()));
}

#[test]
fn attestation_tx_revoked_signer_is_rejected() {
    let (mut c, ids) = chain();
    let env = sign(slsa_statement(), "retired", &ids.retired);
    accepted_subject(&c, &from_submitter(&c, &ids, &env));
    let revoke = c.admin_tx(body::revoke("retired"));
    c.commit(BLOCK_MS - 1000, &[revoke]);
    let r = rejected(
        &c,
        &from_submitter(&c, &ids, &env),
        "ATTESTATION_SIGNER_REVOKED",
        1707,
    );
    assert_eq!(r, Rejection::AttestationSignerRevoked("retired".into()));
    // A revocation earlier in the same block counts too.
    let (c, ids) = chain();
    let txs = [
        c.admin_tx(body::revoke("retired")),
        from_submitter(&c, &ids, &env),
    ];
    match c.ledger.apply_block(&c.state, BLOCK_MS, &txs, &c.log) {
        Err(BlockError::TxRejected {
            index: 1,
            rejection,
            ..
        }) => assert_eq!(rejection.code(), "ATTESTATION_SIGNER_REVOKED"),
        other => panic!("expected the attestation to be rejected: {other:?}"),
    }
}

#[test]
fn attestation_tx_rotated_out_key_is_rejected() {
    let (mut c, ids) = chain();
    let old = sign(slsa_statement(), "rotating", &ids.rotating);
    accepted_subject(&c, &from_submitter(&c, &ids, &old));
    let new_key = ed(26);
    let rotate = c.tx(
        &ids.rotating,
        "rotating",
        c.nonce("rotating"),
        body::rotate("rotating", &new_key.public()),
    );
    c.commit(BLOCK_MS - 1000, &[rotate]);
    // Signed with the rotated-out key (before or after the rotation: the bytes are the same).
    let r = rejected(
        &c,
        &from_submitter(&c, &ids, &old),
        "ATTESTATION_SIGNATURE_INVALID",
        1708,
    );
    assert_eq!(r, Rejection::AttestationSignatureInvalid("rotating".into()));
    let new = sign(slsa_statement(), "rotating", &new_key);
    accepted_subject(&c, &from_submitter(&c, &ids, &new));
}

// ---------------------------------------------------------------------------------------------
// Rejected: envelope, statement, predicate (stateless)
// ---------------------------------------------------------------------------------------------

#[test]
fn attestation_tx_wrong_payload_type_is_rejected() {
    let (c, ids) = chain();
    for payload_type in [
        "application/json",
        "application/vnd.in-toto+json; charset=utf-8",
        "",
    ] {
        // Properly signed over PAE with that type: only the type is wrong.
        let env = Envelope::sign(payload_type, slsa_statement(), "builder", &ids.builder);
        let r = rejected_stateless(
            &c,
            &from_submitter(&c, &ids, &env),
            "ATTESTATION_PAYLOAD_TYPE_INVALID",
            1702,
        );
        assert!(
            matches!(r, Rejection::AttestationPayloadTypeInvalid(_)),
            "{r:?}"
        );
    }
}

#[test]
fn attestation_tx_malformed_envelope_is_rejected() {
    let (c, ids) = chain();
    let good = sign(slsa_statement(), "builder", &ids.builder);
    let mut cases: Vec<(&str, Envelope)> = Vec::new();

    let mut e = good.clone();
    e.signatures.clear();
    cases.push(("no signatures", e));

    let mut e = good.clone();
    e.signatures.push(e.signatures[0].clone());
    cases.push(("duplicate keyid", e));

    let mut e = good.clone();
    let other = sign(good.payload.clone(), "builder", &ed(98));
    e.signatures.push(other.signatures[0].clone());
    cases.push(("duplicate keyid, different signatures", e));

    let mut e = good.clone();
    for i in 0..MAX_SIGNATURES {
        e.signatures.push(EnvelopeSignature {
            keyid: format!("signer-{i}"),
            sig: vec![0; 64],
        });
    }
    cases.push(("too many signatures", e));

    for (what, keyid) in [("empty keyid", ""), ("keyid with a space", "the builder")] {
        let mut e = good.clone();
        e.signatures[0].keyid = keyid.into();
        cases.push((what, e));
    }

    for (what, len) in [("empty sig", 0), ("short sig", 63), ("long sig", 65)] {
        let mut e = good.clone();
        e.signatures[0].sig = vec![7; len];
        cases.push((what, e));
    }

    for (what, env) in cases {
        let t = from_submitter(&c, &ids, &env);
        let r = c.reject(&t, BLOCK_MS);
        assert_eq!(
            (r.code(), r.numeric_code()),
            ("ATTESTATION_ENVELOPE_INVALID", 1701),
            "{what}: {r}"
        );
        assert_eq!(c.ledger.decode(&t).expect_err(what), r, "{what}");
    }
    // An empty AttestationTx message.
    let t = c.tx(
        &ids.submitter,
        "submitter",
        1,
        Kind::Attestation(v1::AttestationTx::default()),
    );
    rejected_stateless(&c, &t, "ATTESTATION_PAYLOAD_TYPE_INVALID", 1702);
}

#[test]
fn attestation_tx_invalid_statements_are_rejected() {
    let (c, ids) = chain();
    let good: Value = serde_json::from_slice(&slsa_statement()).unwrap();
    let mutated = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let good_text = String::from_utf8(slsa_statement()).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty payload", Vec::new(), "payload"),
        ("not JSON", b"{\"_type\":".to_vec(), "payload"),
        ("not an object", b"[]".to_vec(), "payload"),
        (
            "Statement v0.1",
            mutated(&|v| v["_type"] = json!("https://in-toto.io/Statement/v0.1")),
            "_type",
        ),
        (
            "no subject",
            mutated(&|v| {
                v.as_object_mut().unwrap().remove("subject");
            }),
            "subject",
        ),
        (
            "empty subject",
            mutated(&|v| v["subject"] = json!([])),
            "subject",
        ),
        (
            "subject without digest",
            mutated(&|v| v["subject"][1] = json!({"name": "x"})),
            "subject[1].digest",
        ),
        (
            "short sha256",
            mutated(&|v| v["subject"][0]["digest"]["sha256"] = json!("abc")),
            "subject[0].digest.sha256",
        ),
        (
            "upper-case sha256",
            mutated(&|v| v["subject"][0]["digest"]["sha256"] = json!(SHA_A.to_uppercase())),
            "subject[0].digest.sha256",
        ),
        (
            "unknown top-level field",
            mutated(&|v| v["signer"] = json!("builder")),
            "signer",
        ),
        (
            "no predicate",
            mutated(&|v| {
                v.as_object_mut().unwrap().remove("predicate");
            }),
            "predicate",
        ),
        (
            "predicate not an object",
            mutated(&|v| v["predicate"] = json!("provenance")),
            "predicate",
        ),
        (
            "predicateType not a URI",
            mutated(&|v| v["predicateType"] = json!("provenance")),
            "predicateType",
        ),
        (
            "duplicate key",
            good_text
                .replacen(
                    "{\"sha256\":",
                    &format!("{{\"sha256\":\"{SHA_C}\",\"sha256\":"),
                    1,
                )
                .into_bytes(),
            "duplicate",
        ),
    ];
    for (what, payload, mention) in cases {
        // Properly signed: only the Statement is wrong.
        let env = sign(payload, "builder", &ids.builder);
        let t = from_submitter(&c, &ids, &env);
        let r = c.reject(&t, BLOCK_MS);
        assert_eq!(
            (r.code(), r.numeric_code()),
            ("ATTESTATION_STATEMENT_INVALID", 1703),
            "{what}: {r}"
        );
        assert!(
            r.to_string().contains(mention),
            "{what}: {r} should mention {mention:?}"
        );
        assert_eq!(c.ledger.decode(&t).expect_err(what), r, "{what}");
    }
}

#[test]
fn attestation_tx_predicate_type_not_admitted_is_rejected() {
    let (c, ids) = chain();
    for predicate_type in [
        CUSTOM,
        "https://in-toto.io/attestation/vulns/v0.1",
        // Close to an admitted type is not the type.
        "https://slsa.dev/provenance/v0.2",
        "https://slsa.dev/provenance/v1/",
    ] {
        let payload = statement(
            json!([{"digest": {"sha256": SHA_A}}]),
            predicate_type,
            json!({"anything": true}),
        );
        let env = sign(payload, "builder", &ids.builder);
        let r = rejected_stateless(
            &c,
            &from_submitter(&c, &ids, &env),
            "ATTESTATION_PREDICATE_FORBIDDEN",
            1704,
        );
        assert_eq!(
            r,
            Rejection::AttestationPredicateForbidden(predicate_type.into())
        );
    }
    // Checked before the signers: an unknown signer does not hide it.
    let payload = statement(json!([{"digest": {"sha256": SHA_A}}]), CUSTOM, json!({}));
    let env = sign(payload, "nobody", &ed(99));
    rejected(
        &c,
        &from_submitter(&c, &ids, &env),
        "ATTESTATION_PREDICATE_FORBIDDEN",
        1704,
    );
}

#[test]
fn attestation_tx_predicate_types_admitted_by_genesis_params() {
    let custom = statement(
        json!([{"digest": {"sha256": SHA_A}}]),
        CUSTOM,
        json!({"note": "anything goes under an unknown type"}),
    );
    let slsa_env = |ids: &Ids| sign(slsa_statement(), "builder", &ids.builder);

    // A chain that lists only the custom type: it is admitted, the defaults no longer are.
    let (c, ids) = chain_with(ChainParams {
        attestation_predicate_types: vec![CUSTOM.into()],
        ..ChainParams::default()
    });
    let TxSubject::Attestation { predicate_type, .. } = accepted_subject(
        &c,
        &from_submitter(&c, &ids, &sign(custom.clone(), "builder", &ids.builder)),
    ) else {
        panic!("not an attestation")
    };
    assert_eq!(predicate_type, CUSTOM);
    let r = rejected(
        &c,
        &from_submitter(&c, &ids, &slsa_env(&ids)),
        "ATTESTATION_PREDICATE_FORBIDDEN",
        1704,
    );
    assert_eq!(
        r,
        Rejection::AttestationPredicateForbidden(PREDICATE_SLSA_PROVENANCE_V1.into())
    );

    // "*" admits any type, and known types are still checked.
    let (mut c, ids) = chain_with(ChainParams {
        attestation_predicate_types: vec!["*".into()],
        ..ChainParams::default()
    });
    let custom_tx = att_tx_nonce(
        &c,
        "submitter",
        &ids.submitter,
        &sign(custom, "builder", &ids.builder),
        1,
    );
    let slsa_tx = att_tx_nonce(&c, "submitter", &ids.submitter, &slsa_env(&ids), 2);
    let out = c.commit(BLOCK_MS, &[custom_tx, slsa_tx]);
    assert_eq!(out.txs.len(), 2);
    let rec = attestation_record(&c.state, out.txs[0].log_index)
        .unwrap()
        .expect("recorded");
    assert_eq!(rec.predicate_type, CUSTOM);
    let mut broken = slsa_provenance();
    broken["runDetails"]["builder"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    let payload = statement(
        json!([{"digest": {"sha256": SHA_A}}]),
        PREDICATE_SLSA_PROVENANCE_V1,
        broken,
    );
    rejected_stateless(
        &c,
        &from_submitter(&c, &ids, &sign(payload, "builder", &ids.builder)),
        "ATTESTATION_PREDICATE_INVALID",
        1705,
    );
}

#[test]
fn attestation_tx_malformed_known_predicates_are_rejected() {
    let (c, ids) = chain();
    type Mutation = fn(&mut Value);
    let slsa: Vec<(Mutation, &str)> = vec![
        (
            |p| {
                p["runDetails"]["builder"]
                    .as_object_mut()
                    .unwrap()
                    .remove("id");
            },
            "predicate.runDetails.builder.id",
        ),
        (
            |p| p["buildDefinition"]["buildType"] = json!(""),
            "predicate.buildDefinition.buildType",
        ),
        (
            |p| p["buildDefinition"]["externalParameters"] = json!([]),
            "predicate.buildDefinition.externalParameters",
        ),
        (
            |p| {
                p.as_object_mut().unwrap().remove("runDetails");
            },
            "predicate.runDetails",
        ),
    ];
    let agent: Vec<(Mutation, &str)> = vec![
        (
            |p| p["finishedOn"] = json!("2025-12-31T23:59:59Z"),
            "predicate.finishedOn",
        ),
        (
            |p| p["intentChain"]["head"] = json!(SHA_A),
            "predicate.intentChain.head",
        ),
        (|p| p["extra"] = json!(1), "extra"),
    ];
    let cases = slsa
        .into_iter()
        .map(|(m, path)| (PREDICATE_SLSA_PROVENANCE_V1, slsa_provenance(), m, path))
        .chain(agent.into_iter().map(|(m, path)| {
            (
                PREDICATE_AGENT_SESSION_V1,
                agent_session("builder", 2),
                m,
                path,
            )
        }));
    for (predicate_type, mut predicate, mutate, path) in cases {
        mutate(&mut predicate);
        let payload = statement(
            json!([{"digest": {"sha256": SHA_A}}]),
            predicate_type,
            predicate,
        );
        let env = sign(payload, "builder", &ids.builder);
        let r = rejected_stateless(
            &c,
            &from_submitter(&c, &ids, &env),
            "ATTESTATION_PREDICATE_INVALID",
            1705,
        );
        assert!(
            r.to_string().contains(path) && r.to_string().contains(predicate_type),
            "{r} should name {predicate_type} and {path}"
        );
    }
}

#[test]
fn attestation_tx_over_the_size_limit_is_rejected() {
    let size = |r: &Rejection| match r {
        Rejection::TooLarge { size, .. } => *size,
        other => panic!("not TX_TOO_LARGE: {other:?}"),
    };
    let padded = |n: usize| {
        let mut p = slsa_provenance();
        p["buildDefinition"]["externalParameters"]["padding"] = json!("x".repeat(n));
        statement(
            json!([{"digest": {"sha256": SHA_A}}]),
            PREDICATE_SLSA_PROVENANCE_V1,
            p,
        )
    };

    let (c, ids) = chain_with(ChainParams {
        max_attestation_tx_bytes: 2000,
        ..ChainParams::default()
    });
    let big = from_submitter(&c, &ids, &sign(padded(2000), "builder", &ids.builder));
    let r = rejected(&c, &big, "TX_TOO_LARGE", 1001);
    assert_eq!(
        r,
        Rejection::TooLarge {
            kind: Some(TxKind::Attestation),
            size: big.len(),
            max: 2000,
        }
    );
    assert_eq!(size(&r), big.len());
    assert!(r.to_string().contains("attestation limit of 2000"), "{r}");
    // The limit counts the whole transaction, signatures included: an ML-DSA-65 signature
    // (3309 bytes) alone exceeds 2000.
    let pq = from_submitter(&c, &ids, &sign(padded(0), "pq-signer", &ids.pq));
    assert!(pq.len() > 2000);
    rejected(&c, &pq, "TX_TOO_LARGE", 1001);
    // Under the limit.
    let small = from_submitter(&c, &ids, &sign(padded(0), "builder", &ids.builder));
    assert!(small.len() <= 2000, "{}", small.len());
    accepted_subject(&c, &small);
    // Exactly at the limit is accepted, one byte over is not (padding adds one byte per
    // character while no length prefix grows, which holds between ~700 and 2000 bytes).
    let n = 2000 - small.len();
    let padded_tx = |n: usize| from_submitter(&c, &ids, &sign(padded(n), "builder", &ids.builder));
    let exact = padded_tx(n);
    assert_eq!(exact.len(), 2000);
    accepted_subject(&c, &exact);
    let over = padded_tx(n + 1);
    assert_eq!(over.len(), 2001);
    rejected(&c, &over, "TX_TOO_LARGE", 1001);

    // The default limit: 256 KiB.
    let (c, ids) = chain();
    assert_eq!(
        c.ledger.params().max_attestation_tx_bytes,
        DEFAULT_MAX_ATTESTATION_TX_BYTES
    );
    let big = from_submitter(&c, &ids, &sign(padded(300_000), "builder", &ids.builder));
    assert!(big.len() < c.ledger.params().max_tx_bytes as usize);
    let r = rejected(&c, &big, "TX_TOO_LARGE", 1001);
    assert_eq!(
        r,
        Rejection::TooLarge {
            kind: Some(TxKind::Attestation),
            size: big.len(),
            max: DEFAULT_MAX_ATTESTATION_TX_BYTES as usize,
        }
    );
    let fits = from_submitter(&c, &ids, &sign(padded(200_000), "builder", &ids.builder));
    accepted_subject(&c, &fits);
}

#[test]
fn attestation_tx_replay_is_rejected() {
    let (mut c, ids) = chain();
    let env = sign(slsa_statement(), "builder", &ids.builder);
    let t = from_submitter(&c, &ids, &env);
    // Twice in one block.
    match c
        .ledger
        .apply_block(&c.state, BLOCK_MS, &[t.clone(), t.clone()], &c.log)
    {
        Err(BlockError::TxRejected {
            index: 1,
            rejection,
            ..
        }) => assert_eq!(
            rejection,
            Rejection::NonceInvalid {
                expected: 2,
                got: 1
            }
        ),
        other => panic!("expected the second copy to be rejected: {other:?}"),
    }
    // Committed, then submitted again.
    let out = c.commit(BLOCK_MS, std::slice::from_ref(&t));
    let first_index = out.txs[0].log_index;
    let r = rejected(&c, &t, "TX_NONCE_INVALID", 1103);
    assert_eq!(
        r,
        Rejection::NonceInvalid {
            expected: 2,
            got: 1
        }
    );
    // Replay protection is per transaction (nonce): the same envelope in a new transaction is
    // a new log entry with its own record.
    let again = from_submitter(&c, &ids, &env);
    let out = c.commit(BLOCK_MS + 1000, &[again]);
    let second_index = out.txs[0].log_index;
    assert!(second_index > first_index);
    let a = attestation_record(&c.state, first_index).unwrap().unwrap();
    let b = attestation_record(&c.state, second_index).unwrap().unwrap();
    assert_ne!(a.tx_id, b.tx_id);
    assert_eq!(a.statement_sha256, b.statement_sha256);
}

// ---------------------------------------------------------------------------------------------
// Evidence from attestations: maat-v1 certificates citing a committed attestation
// ---------------------------------------------------------------------------------------------

/// The request's artifact: its SHA-256 in the form the chain records subjects.
const ARTIFACT: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

/// Environment check plus `artifact_attested{SLSA provenance v1}`.
fn attested_policy() -> String {
    format!(
        r#"{{"policy_id":"checkout-prod","version":1,"environment":"production","rule_set_id":"pod-v1","freshness_seconds":{{}},"predicates":[{{"name":"environment_matches","params":{{"target":"production"}}}},{{"name":"artifact_attested","params":{{"predicate_type":"{PREDICATE_SLSA_PROVENANCE_V1}"}}}}]}}"#
    )
}

/// Who may sign what under [`attested_policy`].
const ATTESTED_SIGNERS: [(&str, &[&str], &[&str]); 4] = [
    ("attestation_ref", &["provenance-bot"], &[]),
    ("build_artifact", &["builder"], &[]),
    ("commit_snapshot", &["builder"], &[]),
    ("environment_descriptor", &["builder"], &[]),
];

struct EvidenceFx {
    c: Chain,
    ids: Ids,
    deployer: KeyPair,
    provenance: KeyPair,
    /// The log index of the SLSA provenance of the artifact.
    attestation_index: u64,
    /// The log index of a non-attestation transaction in the attestation's block.
    other_index: u64,
}

/// The identities, `deployer` (requests deployments), `provenance-bot` (signs
/// `attestation_ref` evidence) and the [`attested_policy`] for checkout/production, committed;
/// no attestation yet (both indexes 0).
fn evidence_setup() -> EvidenceFx {
    let (mut c, ids) = chain();
    let deployer = ed(40);
    let provenance = ed(41);
    let nonce = c.nonce("admin-0");
    let setup = vec![
        c.tx(
            &c.admin,
            "admin-0",
            nonce,
            body::register("deployer", &deployer.public(), &[]),
        ),
        c.tx(
            &c.admin,
            "admin-0",
            nonce + 1,
            body::register("provenance-bot", &provenance.public(), &[]),
        ),
        c.tx(
            &c.admin,
            "admin-0",
            nonce + 2,
            body::policy(
                "checkout",
                "production",
                attested_policy().into_bytes(),
                &ATTESTED_SIGNERS,
            ),
        ),
    ];
    c.commit(SETUP_MS + 1000, &setup);
    EvidenceFx {
        c,
        ids,
        deployer,
        provenance,
        attestation_index: 0,
        other_index: 0,
    }
}

/// The SLSA provenance of `sha256:ARTIFACT` and `SHA_B`, signed by `builder`, from `submitter`.
fn artifact_provenance_tx(fx: &EvidenceFx) -> Vec<u8> {
    let payload = statement(
        json!([
            {"name": "checkout.tar.gz", "digest": {"sha256": ARTIFACT}},
            {"name": "checkout.sbom.json", "digest": {"sha256": SHA_B}}
        ]),
        PREDICATE_SLSA_PROVENANCE_V1,
        slsa_provenance(),
    );
    from_submitter(&fx.c, &fx.ids, &sign(payload, "builder", &fx.ids.builder))
}

/// [`evidence_setup`], then a block with an identity registration and
/// [`artifact_provenance_tx`].
fn evidence_fixture() -> EvidenceFx {
    let mut fx = evidence_setup();
    let block = vec![
        fx.c.admin_tx(body::register("unrelated", &ed(42).public(), &[])),
        artifact_provenance_tx(&fx),
    ];
    let out = fx.c.commit(BLOCK_MS - 60_000, &block);
    assert_eq!(out.txs[1].effects.kind, TxKind::Attestation);
    fx.other_index = out.txs[0].log_index;
    fx.attestation_index = out.txs[1].log_index;
    fx
}

impl EvidenceFx {
    /// A certificate transaction from `deployer` for `sha256:ARTIFACT` whose `attestation_ref`
    /// `prov` has `value`.
    fn cert_tx(&self, ref_value: &str) -> Vec<u8> {
        let d = "deploy-att-1";
        let artifact_hash = sha(ARTIFACT);
        let request = Request {
            deployment_id: d.into(),
            service: "checkout".into(),
            environment: "production".into(),
            commit_sha: "abc123".into(),
            artifact_hash: artifact_hash.clone(),
            requested_by: "deployer".into(),
        };
        let mut b = CertificateBuilder::from_policy_json(request, attested_policy().as_bytes())
            .unwrap_or_else(|e| panic!("policy: {e}"));
        let items = [
            (
                "artifact",
                "build_artifact",
                format!(r#"{{"deployment_id":"{d}","artifact_hash":"{artifact_hash}"}}"#),
                "builder",
            ),
            (
                "commit",
                "commit_snapshot",
                format!(r#"{{"deployment_id":"{d}","commit_sha":"abc123"}}"#),
                "builder",
            ),
            (
                "env",
                "environment_descriptor",
                format!(r#"{{"deployment_id":"{d}","environment":"production"}}"#),
                "builder",
            ),
            (
                "prov",
                "attestation_ref",
                ref_value.to_owned(),
                "provenance-bot",
            ),
        ];
        for (id, ty, value, signer) in items {
            let kp = if signer == "builder" {
                &self.ids.builder
            } else {
                &self.provenance
            };
            b.add_evidence(
                EvidenceItem::new(id, ty, obj(&value), "test", EVIDENCE_T),
                signer,
                kp,
            )
            .unwrap_or_else(|e| panic!("evidence {id}: {e}"));
        }
        let cert = b.build();
        self.c.tx(
            &self.deployer,
            "deployer",
            self.c.nonce("deployer"),
            body::certificate(cert),
        )
    }
}

fn ref_value(log_index: u64, subject: &str, predicate_type: &str) -> String {
    format!(
        r#"{{"log_index":{log_index},"subject":"{subject}","predicate_type":"{predicate_type}"}}"#
    )
}

fn certificate_codes(r: &Rejection) -> Vec<String> {
    match r {
        Rejection::CertificateRejected { failures } => {
            failures.iter().map(|f| f.code.clone()).collect()
        }
        other => panic!("expected CERTIFICATE_REJECTED, got {other:?}"),
    }
}

#[test]
fn attestation_evidence_certificate_citing_a_committed_attestation_is_accepted() {
    let mut fx = evidence_fixture();
    let l = fx.attestation_index;
    let entry =
        fx.c.ledger
            .registry(&fx.c.state)
            .attestation(l)
            .expect("the checker's registry sees the attestation");
    assert_eq!(entry.subjects, [sha(SHA_B), sha(ARTIFACT)]);
    let t = fx.cert_tx(&ref_value(l, &sha(ARTIFACT), PREDICATE_SLSA_PROVENANCE_V1));
    let out = fx.c.commit(BLOCK_MS, &[t]);
    let TxSubject::Deployment { deployment_id, .. } = &out.txs[0].effects.subject else {
        panic!("not a deployment: {:?}", out.txs[0].effects.subject)
    };
    assert_eq!(deployment_id, "deploy-att-1");
}

#[test]
fn attestation_evidence_not_yet_committed_then_committed() {
    // The attestation's log index is known before it commits: a certificate citing it is
    // refused until then, and accepted after (nothing about the miss is cached).
    let mut fx = evidence_setup();
    let l = fx.c.log.size();
    let cert = fx.cert_tx(&ref_value(l, &sha(ARTIFACT), PREDICATE_SLSA_PROVENANCE_V1));
    let codes = certificate_codes(&fx.c.reject(&cert, BLOCK_MS));
    assert!(
        codes.contains(&"EVIDENCE_ATTESTATION_NOT_FOUND:prov".to_owned()),
        "{codes:?}"
    );
    let att = artifact_provenance_tx(&fx);
    let out = fx.c.commit(BLOCK_MS - 60_000, &[att]);
    assert_eq!(out.txs[0].log_index, l);
    fx.c.check(&cert, BLOCK_MS)
        .unwrap_or_else(|e| panic!("the same certificate after the attestation commits: {e}"));
}

#[test]
fn attestation_evidence_wrong_log_index_is_rejected() {
    let fx = evidence_fixture();
    let l = fx.attestation_index;
    let beyond = fx.c.log.size() + 100;
    for (what, index) in [
        ("past the log", beyond),
        ("an identity registration in its block", fx.other_index),
        ("the first setup transaction", 0),
    ] {
        let t = fx.cert_tx(&ref_value(
            index,
            &sha(ARTIFACT),
            PREDICATE_SLSA_PROVENANCE_V1,
        ));
        let r = fx.c.reject(&t, BLOCK_MS);
        assert_eq!(r.code(), "CERTIFICATE_REJECTED", "{what}: {r}");
        let codes = certificate_codes(&r);
        assert!(
            codes.contains(&"EVIDENCE_ATTESTATION_NOT_FOUND:prov".to_owned()),
            "{what} (index {index}, attestation at {l}): {codes:?}"
        );
        // The leaf then has no support.
        assert!(
            codes.contains(&format!(
                "EVIDENCE_ARTIFACT_ATTESTATION_MISSING:{PREDICATE_SLSA_PROVENANCE_V1}"
            )),
            "{what}: {codes:?}"
        );
    }
}

#[test]
fn attestation_evidence_subject_or_predicate_mismatch_is_rejected() {
    let fx = evidence_fixture();
    let l = fx.attestation_index;
    for (what, value) in [
        (
            "a digest the attestation does not list",
            ref_value(l, &sha(SHA_C), PREDICATE_SLSA_PROVENANCE_V1),
        ),
        (
            "another predicate type",
            ref_value(l, &sha(ARTIFACT), PREDICATE_AGENT_SESSION_V1),
        ),
    ] {
        let codes = certificate_codes(&fx.c.reject(&fx.cert_tx(&value), BLOCK_MS));
        assert!(
            codes.contains(&"EVIDENCE_ATTESTATION_MISMATCH:prov".to_owned()),
            "{what}: {codes:?}"
        );
    }
    // Another subject of the same attestation is a valid reference, but not for this artifact.
    let codes = certificate_codes(&fx.c.reject(
        &fx.cert_tx(&ref_value(l, &sha(SHA_B), PREDICATE_SLSA_PROVENANCE_V1)),
        BLOCK_MS,
    ));
    assert!(
        !codes.iter().any(|c| c.starts_with("EVIDENCE_ATTESTATION_")),
        "{codes:?}"
    );
    assert!(
        codes.contains(&format!(
            "EVIDENCE_ARTIFACT_ATTESTATION_MISSING:{PREDICATE_SLSA_PROVENANCE_V1}"
        )),
        "{codes:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// in-toto interop: envelopes made by the reference Python tooling
// ---------------------------------------------------------------------------------------------

const PYTHON_HINT: &str = "this test needs python3 with the `in-toto-attestation` and \
    `cryptography` packages: run .ci/run, or `python3 -m pip install --user \
    in-toto-attestation==0.9.3 cryptography`";

/// Runs ledger/tests/intoto/make_attestation.py; fails (never skips) without Python or its
/// packages.
fn python_envelope(seed: &[u8; 32], keyid: &str) -> Envelope {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/intoto/make_attestation.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--seed", &hex::encode(seed), "--keyid", keyid])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}; {PYTHON_HINT}"));
    assert!(
        out.status.success(),
        "{} failed ({}); {PYTHON_HINT}\nstderr:\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Envelope::from_json(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the script's output is not a DSSE envelope: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The script's default subjects: SHA-256 of these bytes.
const PY_SUBJECT_BYTES: [&[u8]; 2] = [b"app-1.0.tar.gz bytes", b"app-1.0.sbom.json bytes"];

/// A chain with `py-builder` (the Ed25519 key of `seed`) and `submitter` registered.
fn python_chain(seed: &[u8; 32]) -> (Chain, KeyPair) {
    let mut c = Chain::new();
    let signer = KeyPair::from_seed(Algorithm::Ed25519, seed);
    let submitter = ed(20);
    let setup = [
        c.tx(
            &c.admin,
            "admin-0",
            1,
            body::register("py-builder", &signer.public(), &[]),
        ),
        c.tx(
            &c.admin,
            "admin-0",
            2,
            body::register("submitter", &submitter.public(), &[]),
        ),
    ];
    c.commit(SETUP_MS, &setup);
    (c, submitter)
}

#[test]
fn attestation_intoto_python_envelope_is_accepted_and_indexed() {
    let seed = [7u8; 32];
    let signer = KeyPair::from_seed(Algorithm::Ed25519, &seed);
    let (mut c, submitter) = python_chain(&seed);

    let env = python_envelope(&seed, "py-builder");
    assert_eq!(env.payload_type, PAYLOAD_TYPE_IN_TOTO);
    assert_eq!(env.signatures.len(), 1);
    assert_eq!(env.signatures[0].keyid, "py-builder");
    // Ed25519 is deterministic: our signature over the same PAE is the same bytes.
    assert_eq!(
        sign(env.payload.clone(), "py-builder", &signer),
        env,
        "Python's DSSE signature differs from ours over the same payload"
    );

    let mut subjects: Vec<String> = PY_SUBJECT_BYTES
        .iter()
        .map(|b| sha(&hex::encode(maat_crypto::sha256(b))))
        .collect();
    subjects.sort();
    let t = att_tx(&c, "submitter", &submitter, &env);
    let out = c.commit(BLOCK_MS, std::slice::from_ref(&t));
    let applied = &out.txs[0];
    assert_eq!(
        applied.effects.subject,
        TxSubject::Attestation {
            predicate_type: PREDICATE_SLSA_PROVENANCE_V1.into(),
            subjects: subjects.clone(),
            signers: vec!["py-builder".into()],
            statement_sha256: maat_crypto::sha256(&env.payload),
        }
    );
    let rec = attestation_record(&c.state, applied.log_index)
        .unwrap()
        .expect("recorded");
    assert_eq!(rec.subjects, subjects);
    assert_eq!(rec.signers, ["py-builder"]);
    assert_eq!(rec.predicate_type, PREDICATE_SLSA_PROVENANCE_V1);
    assert_eq!(rec.tx_id, applied.effects.tx_id.0.to_vec());
}

#[test]
fn attestation_intoto_python_envelope_with_modified_payload_is_rejected() {
    let seed = [8u8; 32];
    let (c, submitter) = python_chain(&seed);
    let env = python_envelope(&seed, "py-builder");
    c.check(&att_tx(&c, "submitter", &submitter, &env), BLOCK_MS)
        .expect("the unmodified envelope is accepted");

    let text = String::from_utf8(env.payload.clone()).expect("UTF-8 payload");
    let digest = hex::encode(maat_crypto::sha256(PY_SUBJECT_BYTES[0]));
    let modifications = [
        // Another artifact's digest: still a valid Statement.
        text.replacen(&digest, SHA_A, 1),
        // Another source ref inside the predicate.
        text.replace("refs/tags/v1.0.0", "refs/tags/v6.6.6"),
        // Re-serialized without the whitespace: same JSON value, other bytes.
        serde_json::to_string(&serde_json::from_str::<Value>(&text).unwrap()).unwrap(),
    ];
    for modified in modifications {
        assert_ne!(modified, text);
        let mut tampered = env.clone();
        tampered.payload = modified.into_bytes();
        tampered.check_stateless().expect("a valid statement");
        let r = c.reject(&att_tx(&c, "submitter", &submitter, &tampered), BLOCK_MS);
        assert_eq!(
            r,
            Rejection::AttestationSignatureInvalid("py-builder".into())
        );
        assert_eq!(r.numeric_code(), 1708);
    }
}

#[test]
fn attestation_tx_rejection_messages_are_not_prefixed_twice() {
    let (c, ids) = chain();
    let mut e = sign(slsa_statement(), "builder", &ids.builder);
    e.signatures.clear();
    let msg = c
        .reject(&from_submitter(&c, &ids, &e), BLOCK_MS)
        .to_string();
    assert_eq!(msg.matches("invalid DSSE envelope").count(), 1, "{msg}");
}

#[test]
fn attestation_tx_agent_session_claims_bind_signers_and_subjects() {
    let (c, ids) = chain();
    let two = json!([
        {"name": "a", "digest": {"sha256": SHA_A}},
        {"name": "b", "digest": {"sha256": SHA_B}}
    ]);
    // Someone else's session: the named agent did not sign it.
    let payload = statement(
        two.clone(),
        PREDICATE_AGENT_SESSION_V1,
        agent_session("release-bot", 2),
    );
    let t = from_submitter(&c, &ids, &sign(payload, "builder", &ids.builder));
    let r = rejected_stateless(&c, &t, "ATTESTATION_PREDICATE_INVALID", 1705);
    assert!(r.to_string().contains("agentId"), "{r}");
    // The artifact count is the number of subjects.
    let payload = statement(two, PREDICATE_AGENT_SESSION_V1, agent_session("builder", 3));
    let t = from_submitter(&c, &ids, &sign(payload, "builder", &ids.builder));
    let r = rejected_stateless(&c, &t, "ATTESTATION_PREDICATE_INVALID", 1705);
    assert!(r.to_string().contains("artifacts"), "{r}");
}
