//! The agent-session attestation flow without a node: intent chain, manifest, statement and
//! envelope, offline bundles, the verification checks, a validator's acceptance of what
//! `maat attest run` builds, and the `maat attest` binary. (The node-level end-to-end test with
//! a receipt lives with the node tests.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use maat_crypto::keyfile::{LoadedKey, load_key_file, write_key_file};
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::attestation::{self, Envelope, PREDICATE_AGENT_SESSION_V1};
use maat_ledger::finality::FinalityProof;
use maat_ledger::{Genesis, GenesisSpec, Ledger, MemoryState, Rejection, TxError};
use maat_proto::tx::body;
use maat_proto::v1;
use maat_sdk::attest::{
    AttestError, AttestReceipt, BUNDLE_FORMAT, IntentChain, ManifestEntry, OfflineBundle,
    RECEIPT_FORMAT, SessionInput, build_statement, check_artifacts, check_intents_against_chain,
    manifest, sign_statement, verify_offline_bundle, verify_receipt,
};

const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, bytes).expect("write");
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(maat_crypto::sha256(bytes))
}

fn agent_key(dir: &Path) -> LoadedKey {
    let path = dir.join("agent.json");
    write_key_file(
        &path,
        &KeyPair::generate(Algorithm::Ed25519),
        Some("agent-1"),
    )
    .expect("key");
    load_key_file(&path).expect("load key")
}

/// An artifact directory with nested files.
fn artifacts(root: &Path) -> PathBuf {
    let dir = root.join("out");
    write(&dir, "report.md", b"# report\n");
    write(&dir, "src/main.rs", b"fn main() {}\n");
    write(&dir, "src/lib/util.rs", b"pub fn f() {}\n");
    dir
}

fn session(chain: &IntentChain, withhold: bool) -> SessionInput {
    SessionInput {
        agent_id: "agent-1".into(),
        session_id: None,
        intents: chain.entries().to_vec(),
        withhold_requests: withhold,
        task_parameters_sha256: maat_crypto::sha256(b"task = 1\n"),
        started_ms: None,
        finished_ms: T0 + 60_000,
        runner: Some("test".into()),
    }
}

/// A signed bundle over `dir` with two intents, and the key.
fn bundle_for(root: &Path, dir: &Path) -> (OfflineBundle, LoadedKey) {
    let key = agent_key(root);
    let mut chain = IntentChain::open(root.join("intents.jsonl")).expect("chain");
    chain.append_at(b"write a parser", T0).expect("append");
    chain.append_at(b"add tests", T0 + 1000).expect("append");
    let files = manifest(dir).expect("manifest");
    let statement = build_statement(&files, &session(&chain, false)).expect("statement");
    let envelope = sign_statement(&statement, "agent-1", &key.key_pair).expect("sign");
    let bundle = OfflineBundle::new(&envelope, "agent-1", &key.key_pair.public(), files);
    (bundle, key)
}

// ---------------------------------------------------------------------------------------------
// Intent chain

#[test]
fn intent_chain_appends_links_and_reopens() {
    let root = tmp();
    let path = root.path().join("nested/.maat/intents.jsonl");
    let mut chain = IntentChain::open(&path).expect("a missing file is an empty chain");
    assert!(chain.entries().is_empty());
    assert_eq!(chain.head(), [0u8; 32]);

    let requests: [&[u8]; 3] = [b"first request", b"second\nrequest", b""];
    for (i, r) in requests.iter().enumerate() {
        let e = chain.append_at(r, T0 + i as u64).expect("append");
        assert_eq!(e.seq, i as u64 + 1);
        assert_eq!(e.request_sha256, sha(r));
    }
    let text = fs::read_to_string(&path).expect("read");
    assert_eq!(text.lines().count(), 3);
    assert!(
        !text.contains("first request"),
        "the request text is never stored"
    );
    assert!(text.contains("\"time\":\"2026-01-01T00:00:00Z\""), "{text}");

    let reopened = IntentChain::open(&path).expect("reopen");
    assert_eq!(reopened.entries(), chain.entries());
    let hashes: Vec<[u8; 32]> = requests.iter().map(|r| maat_crypto::sha256(r)).collect();
    // The file's head is the ledger's intent-chain head, so `run` can publish it.
    assert_eq!(reopened.head(), attestation::intent_chain_head(&hashes));
    assert_eq!(reopened.entries()[1].prev, reopened.entries()[0].entry);
    assert_eq!(reopened.entries()[0].prev, "0".repeat(64));
}

#[test]
fn a_tampered_intent_chain_is_refused_and_not_extended() {
    let root = tmp();
    let path = root.path().join("intents.jsonl");
    let mut chain = IntentChain::open(&path).expect("chain");
    for i in 0..3u64 {
        chain
            .append_at(format!("request {i}").as_bytes(), T0 + i)
            .expect("append");
    }
    let good = fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = good.lines().collect();

    let expect_bad_line = |text: &str, line: usize| {
        fs::write(&path, text).expect("write");
        match IntentChain::open(&path) {
            Err(AttestError::IntentChain { line: l, .. }) => assert_eq!(l, line, "{text}"),
            other => panic!("expected a bad line {line}, got {other:?}"),
        }
        // `append` re-reads under the lock and refuses too, leaving the file as it was.
        let mut stale = chain.clone();
        assert!(stale.append_at(b"more", T0 + 9).is_err());
        assert_eq!(fs::read_to_string(&path).expect("read"), text);
    };

    // A request hash replaced (the entry no longer matches).
    let swapped = good.replacen(
        &chain.entries()[1].request_sha256,
        &sha(b"something else"),
        1,
    );
    expect_bad_line(&swapped, 2);
    // A line removed: seq and prev break.
    expect_bad_line(&format!("{}\n{}\n", lines[0], lines[2]), 2);
    // Lines reordered.
    expect_bad_line(&format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]), 1);
    // An interrupted append (no final newline).
    expect_bad_line(&good[..good.len() - 5], 3);
    // An unknown field.
    let extra = good.replacen("{\"seq\":1,", "{\"seq\":1,\"text\":\"hi\",", 1);
    expect_bad_line(&extra, 1);
    // A bad time.
    let bad_time = good.replacen("2026-01-01T00:00:00Z", "yesterday", 1);
    expect_bad_line(&bad_time, 1);

    fs::write(&path, &good).expect("restore");
    IntentChain::open(&path).expect("the original verifies");
}

// ---------------------------------------------------------------------------------------------
// Manifest

#[test]
fn manifest_hashes_nested_files_sorted_by_path() {
    let root = tmp();
    let dir = root.path().join("out");
    write(&dir, "b.txt", b"b");
    write(&dir, "a/z.txt", b"z");
    write(&dir, "a/b/c.txt", b"c");
    write(&dir, "A.txt", b"A");
    write(&dir, "a-b.txt", b"dash");
    fs::create_dir_all(dir.join("empty/dir")).expect("mkdir");
    let m = manifest(&dir).expect("manifest");
    let names: Vec<&str> = m.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["A.txt", "a-b.txt", "a/b/c.txt", "a/z.txt", "b.txt"]);
    assert_eq!(m[2].sha256, sha(b"c"));
}

#[test]
fn manifest_refuses_empty_dirs_links_and_missing_dirs() {
    let root = tmp();
    let empty = root.path().join("empty");
    fs::create_dir_all(empty.join("sub")).expect("mkdir");
    assert!(matches!(
        manifest(&empty),
        Err(AttestError::Manifest { .. })
    ));

    let linked = root.path().join("linked");
    write(&linked, "real.txt", b"x");
    std::os::unix::fs::symlink(linked.join("real.txt"), linked.join("link.txt")).expect("link");
    match manifest(&linked) {
        Err(AttestError::Manifest { reason, .. }) => {
            assert!(reason.contains("link.txt"), "{reason}")
        }
        other => panic!("a symbolic link must be refused, got {other:?}"),
    }

    assert!(matches!(
        manifest(&root.path().join("nope")),
        Err(AttestError::Io { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Statement, bundle, verification

#[test]
fn the_statement_is_an_agent_session_over_the_manifest() {
    let root = tmp();
    let dir = artifacts(root.path());
    let (bundle, _) = bundle_for(root.path(), &dir);
    let envelope = bundle.envelope().expect("envelope");
    let statement = envelope
        .check_stateless()
        .expect("the validators' stateless checks pass");
    assert_eq!(statement.predicate_type, PREDICATE_AGENT_SESSION_V1);
    let names: Vec<_> = statement
        .subjects
        .iter()
        .map(|s| s.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["report.md", "src/lib/util.rs", "src/main.rs"]);
    let p = attestation::AgentSessionPredicate::parse(&statement.predicate).expect("predicate");
    assert_eq!(p.agent_id, "agent-1");
    assert_eq!(p.artifacts, 3);
    assert_eq!(p.intent_chain.entries, 2);
    assert_eq!(
        p.intent_chain.request_sha256,
        [sha(b"write a parser"), sha(b"add tests")]
    );
    assert_eq!(p.task_parameters_sha256, sha(b"task = 1\n"));
    assert_eq!(
        p.started_on, "2026-01-01T00:00:00Z",
        "the first intent's time"
    );
    assert_eq!(p.finished_on, "2026-01-01T00:01:00Z");
    assert_eq!(p.session_id.len(), 32);
}

#[test]
fn withheld_requests_and_the_local_chain_check() {
    let root = tmp();
    let path = root.path().join("intents.jsonl");
    let mut chain = IntentChain::open(&path).expect("chain");
    chain.append_at(b"one", T0).expect("append");
    chain.append_at(b"two", T0 + 1).expect("append");
    let dir = artifacts(root.path());
    let statement =
        build_statement(&manifest(&dir).expect("manifest"), &session(&chain, true)).expect("s");
    let p = attestation::AgentSessionPredicate::parse(&statement.predicate).expect("predicate");
    assert!(p.intent_chain.request_sha256.is_empty());
    assert_eq!(p.intent_chain.head, hex::encode(chain.head()));

    // The agent keeps logging after the run: the attested intents are still a prefix.
    chain.append_at(b"three", T0 + 2).expect("append");
    check_intents_against_chain(&p.intent_chain, &chain).expect("prefix");
    // Another session's chain does not match.
    let mut other = IntentChain::open(root.path().join("other.jsonl")).expect("chain");
    other.append_at(b"one", T0).expect("append");
    other.append_at(b"deux", T0).expect("append");
    assert!(matches!(
        check_intents_against_chain(&p.intent_chain, &other),
        Err(AttestError::Claims(_))
    ));
}

#[test]
fn a_start_after_the_end_is_refused() {
    let root = tmp();
    let dir = artifacts(root.path());
    let chain = IntentChain::open(root.path().join("none.jsonl")).expect("chain");
    let mut input = session(&chain, false);
    input.started_ms = Some(input.finished_ms + 1);
    assert!(matches!(
        build_statement(&manifest(&dir).expect("manifest"), &input),
        Err(AttestError::Input(_))
    ));
    // No intents and no start: the session is instantaneous.
    input.started_ms = None;
    let s = build_statement(&manifest(&dir).expect("manifest"), &input).expect("statement");
    assert_eq!(s.predicate["startedOn"], s.predicate["finishedOn"]);
    assert_eq!(s.predicate["intentChain"]["entries"], 0);
}

#[test]
fn offline_bundle_round_trips_and_verifies() {
    let root = tmp();
    let dir = artifacts(root.path());
    let (bundle, key) = bundle_for(root.path(), &dir);
    assert_eq!(bundle.format, BUNDLE_FORMAT);
    let text = serde_json::to_string_pretty(&bundle).expect("json");
    let read: OfflineBundle = serde_json::from_str(&text).expect("parse");
    assert_eq!(read, bundle);

    let report = verify_offline_bundle(&read, &key.key_pair.public(), &dir).expect("verifies");
    assert_eq!(report.signer, "agent-1");
    assert_eq!(report.statement.artifacts, 3);
    let session = report.statement.session.expect("agent session");
    assert_eq!(session.intent_chain.entries, 2);

    // Under a key the verifier trusts, not the one the bundle names.
    let stranger = KeyPair::generate(Algorithm::Ed25519).public();
    assert!(matches!(
        verify_offline_bundle(&read, &stranger, &dir),
        Err(AttestError::Signature(_))
    ));
}

#[test]
fn verification_names_changed_missing_and_extra_files() {
    let root = tmp();
    let dir = artifacts(root.path());
    let (bundle, key) = bundle_for(root.path(), &dir);
    let public = key.key_pair.public();

    write(&dir, "src/main.rs", b"fn main() { evil() }\n");
    fs::remove_file(dir.join("report.md")).expect("rm");
    write(&dir, "src/new.rs", b"// new\n");
    match verify_offline_bundle(&bundle, &public, &dir) {
        Err(AttestError::ArtifactMismatch(d)) => {
            assert_eq!(d.changed, ["src/main.rs"]);
            assert_eq!(d.missing, ["report.md"]);
            assert_eq!(d.extra, ["src/new.rs"]);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // Also when everything is gone.
    fs::remove_dir_all(&dir).expect("rm");
    fs::create_dir(&dir).expect("mkdir");
    match check_artifacts(&bundle.manifest, &dir) {
        Err(AttestError::ArtifactMismatch(d)) => assert_eq!(d.missing.len(), 3),
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn a_tampered_envelope_or_manifest_does_not_verify() {
    let root = tmp();
    let dir = artifacts(root.path());
    let (bundle, key) = bundle_for(root.path(), &dir);
    let public = key.key_pair.public();

    // Re-attest a changed file under the old signature.
    let envelope = bundle.envelope().expect("envelope");
    let payload = String::from_utf8(envelope.payload.clone()).expect("utf-8");
    let forged = payload.replace(&sha(b"fn main() {}\n"), &sha(b"fn main() { evil() }\n"));
    assert_ne!(forged, payload);
    let forged_envelope = Envelope {
        payload: forged.into_bytes(),
        ..envelope.clone()
    };
    let mut tampered = bundle.clone();
    tampered.envelope = forged_envelope.to_json();
    write(&dir, "src/main.rs", b"fn main() { evil() }\n");
    assert!(matches!(
        verify_offline_bundle(&tampered, &public, &dir),
        Err(AttestError::Signature(_))
    ));
    write(&dir, "src/main.rs", b"fn main() {}\n");

    // A manifest that disagrees with the signed subjects.
    let mut tampered = bundle.clone();
    tampered.manifest.push(ManifestEntry {
        name: "bonus.bin".into(),
        sha256: sha(b"bonus"),
    });
    assert!(matches!(
        verify_offline_bundle(&tampered, &public, &dir),
        Err(AttestError::Inconsistent(_))
    ));

    // Another format.
    let mut tampered = bundle.clone();
    tampered.format = RECEIPT_FORMAT.into();
    assert!(matches!(
        verify_offline_bundle(&tampered, &public, &dir),
        Err(AttestError::Malformed { .. })
    ));

    verify_offline_bundle(&bundle, &public, &dir).expect("the original still verifies");
}

#[test]
fn a_receipt_for_another_chain_or_format_is_refused_before_anything_else() {
    let root = tmp();
    let dir = artifacts(root.path());
    let (bundle, _) = bundle_for(root.path(), &dir);
    let genesis = Genesis::generate(&GenesisSpec::new(4, [3; 32]))
        .expect("genesis")
        .genesis;
    let mut receipt = AttestReceipt {
        format: RECEIPT_FORMAT.into(),
        chain_id: "another-chain".into(),
        genesis_hash: hex::encode(genesis.hash()),
        tx_id: "00".repeat(32),
        tx: String::new(),
        log_index: 0,
        envelope: bundle.envelope.clone(),
        manifest: bundle.manifest.clone(),
        finality_proof: FinalityProof {
            version: 1,
            chain_id: genesis.chain_id().into(),
            genesis_hash: genesis.hash(),
            tx: Vec::new(),
            log_index: 0,
            block_height: 1,
            tree_size: 1,
            inclusion_path: Vec::new(),
            header: Vec::new(),
            child_header: Vec::new(),
            child_qc: Vec::new(),
        },
        checkpoint: String::new(),
        inclusion_path: Vec::new(),
    };
    assert!(matches!(
        verify_receipt(&receipt, &genesis, &dir),
        Err(AttestError::WrongChain { .. })
    ));
    receipt.chain_id = genesis.chain_id().into();
    // A proof with no headers does not verify.
    let err = verify_receipt(&receipt, &genesis, &dir).expect_err("bogus proof");
    assert!(matches!(err, AttestError::Finality(_)), "{err:?}");
    assert!(err.is_verification_failure());
    receipt.format = "maat-attest-receipt/v0".into();
    assert!(matches!(
        verify_receipt(&receipt, &genesis, &dir),
        Err(AttestError::Malformed { .. })
    ));
    // The receipt format round-trips and refuses unknown fields.
    let text = serde_json::to_string(&receipt).expect("json");
    assert_eq!(
        serde_json::from_str::<AttestReceipt>(&text).expect("parse"),
        receipt
    );
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["extra"] = serde_json::json!(1);
    assert!(serde_json::from_value::<AttestReceipt>(v).is_err());
}

/// What `maat attest run` builds passes a validator's full check: stateless profile, the
/// chain's predicate types, and the DSSE signature under the registered identity's key.
#[test]
fn a_validator_accepts_the_attestation_and_rejects_a_forged_one() {
    let root = tmp();
    let dir = artifacts(root.path());
    let (bundle, key) = bundle_for(root.path(), &dir);
    let envelope = bundle.envelope().expect("envelope");

    let mut g = Genesis::generate(&GenesisSpec::new(4, [9; 32])).expect("genesis");
    let admin = g.admin_keys.remove(0);
    let genesis = g.genesis;
    let chain_id = genesis.chain_id().to_owned();
    let ledger = Ledger::new(&genesis);
    let mut state = MemoryState::new();
    state.apply(&genesis.initial_state());
    let mut time = genesis.genesis_time_ms() + 1000;
    let register = maat_proto::tx::payload(
        &chain_id,
        "admin-0",
        1,
        body::register("agent-1", &key.key_pair.public(), &[]),
    );
    let register = maat_proto::encode(&maat_proto::tx::sign(register, &admin));
    let out = ledger
        .apply_block(
            &state,
            time,
            &[register],
            &maat_crypto::merkle::Frontier::new(),
        )
        .expect("block");
    assert_eq!(out.txs.len(), 1, "the agent is registered");
    state.apply(&out.writes);
    time += 1000;

    let attest_tx = |env: &Envelope| {
        let p = maat_proto::tx::payload(
            &chain_id,
            "agent-1",
            1,
            v1::tx_body::Kind::Attestation(env.to_proto()),
        );
        maat_proto::encode(&maat_proto::tx::sign(p, &key.key_pair))
    };
    ledger
        .check_bytes(&state, &attest_tx(&envelope), time)
        .expect("the validators accept the attestation");

    let mut forged = envelope.clone();
    forged.payload = String::from_utf8(forged.payload)
        .expect("utf-8")
        .replace(&sha(b"# report\n"), &sha(b"# forged\n"))
        .into_bytes();
    match ledger.check_bytes(&state, &attest_tx(&forged), time) {
        Err(TxError::Rejected(Rejection::AttestationSignatureInvalid(id))) => {
            assert_eq!(id, "agent-1");
        }
        other => panic!("expected ATTESTATION_SIGNATURE_INVALID, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The binary

fn maat(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maat"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("run maat")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn cli_intent_appends_from_argument_and_stdin() {
    let root = tmp();
    let cwd = root.path();
    let out = maat(cwd, &["attest", "intent", "refactor the parser"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let first = stdout(&out).trim().to_owned();
    let expected = maat_sdk::attest::intent_entry_hash(
        &[0u8; 32],
        &maat_crypto::sha256(b"refactor the parser"),
    );
    assert_eq!(first, hex::encode(expected));

    let mut child = Command::new(env!("CARGO_BIN_EXE_maat"))
        .current_dir(cwd)
        .args(["attest", "intent", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"now add tests\n").expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(line["seq"], 2);
    assert_eq!(line["prev"], first);
    assert_eq!(line["request_sha256"], sha(b"now add tests\n"));

    let chain = IntentChain::open(cwd.join(".maat/intents.jsonl")).expect("chain");
    assert_eq!(chain.entries().len(), 2);

    // A corrupted chain is refused with exit 2 and left alone.
    let path = cwd.join(".maat/intents.jsonl");
    let text = fs::read_to_string(&path).expect("read");
    let broken = text.replacen("\"seq\":2", "\"seq\":3", 1);
    fs::write(&path, &broken).expect("write");
    let out = maat(cwd, &["attest", "intent", "more"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&path).expect("read"), broken);
}

#[test]
fn cli_run_offline_then_verify() {
    let root = tmp();
    let cwd = root.path();
    let dir = artifacts(cwd);
    write(cwd, "task.toml", b"goal = \"parser\"\n");
    let out = maat(cwd, &["keygen", "--out", "agent.json", "--id", "agent-1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let public_key = stdout(&out).trim().to_owned();
    assert_eq!(
        code(&maat(cwd, &["attest", "intent", "write the parser"])),
        0
    );

    let run = [
        "attest",
        "run",
        "--spec",
        "task.toml",
        "--artifacts",
        "out",
        "--key",
        "agent.json",
        "--offline",
    ];
    let out = maat(cwd, &run);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(cwd.join("attest-bundle.json").exists(), "{}", stdout(&out));
    // Never overwritten by accident.
    let again = maat(cwd, &run);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    let verify = |extra: &[&str]| {
        let mut args = vec![
            "attest",
            "verify",
            "attest-bundle.json",
            "--artifacts",
            "out",
        ];
        args.extend_from_slice(extra);
        maat(cwd, &args)
    };
    let out = verify(&["--public-key", &public_key]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("VERIFIED"), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 request,"), "{}", stdout(&out));
    // A key file works too, and so does the local intent chain check.
    let out = verify(&[
        "--public-key",
        "agent.json",
        "--chain",
        ".maat/intents.jsonl",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(report["verified"], true);
    assert_eq!(report["report"]["signer"], "agent-1");
    assert_eq!(report["report"]["statement"]["artifacts"], 3);
    assert_eq!(
        report["report"]["statement"]["session"]["taskParametersSha256"],
        sha(b"goal = \"parser\"\n")
    );

    // Without a trusted key: a usage error, not a verdict.
    let out = verify(&[]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--public-key"), "{}", stderr(&out));

    // A changed file: not verified, named.
    write(&dir, "src/main.rs", b"fn main() { evil() }\n");
    let out = verify(&["--public-key", &public_key, "--json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(report["verified"], false);
    assert_eq!(report["error"], "artifact_mismatch");
    assert_eq!(report["changed"], serde_json::json!(["src/main.rs"]));
    let out = verify(&["--public-key", &public_key]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("changed  src/main.rs"),
        "{}",
        stdout(&out)
    );

    // Missing artifact directory: usage error.
    let out = maat(
        cwd,
        &[
            "attest",
            "verify",
            "attest-bundle.json",
            "--artifacts",
            "nope",
            "--public-key",
            &public_key,
        ],
    );
    assert_eq!(code(&out), 2);

    // A receipt needs the genesis file.
    let mut doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(cwd.join("attest-bundle.json")).expect("read"))
            .expect("json");
    doc["format"] = serde_json::json!(RECEIPT_FORMAT);
    fs::write(cwd.join("receipt.json"), doc.to_string()).expect("write");
    let out = maat(
        cwd,
        &["attest", "verify", "receipt.json", "--artifacts", "out"],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--genesis"), "{}", stderr(&out));
}

#[test]
fn cli_run_refuses_a_key_without_id_and_an_empty_directory() {
    let root = tmp();
    let cwd = root.path();
    write(cwd, "task.toml", b"x = 1\n");
    fs::create_dir(cwd.join("empty")).expect("mkdir");
    assert_eq!(code(&maat(cwd, &["keygen", "--out", "anon.json"])), 0);
    assert_eq!(
        code(&maat(
            cwd,
            &["keygen", "--out", "agent.json", "--id", "agent-1"]
        )),
        0
    );
    let out = maat(
        cwd,
        &[
            "attest",
            "run",
            "--spec",
            "task.toml",
            "--artifacts",
            "empty",
            "--key",
            "agent.json",
            "--offline",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    write(cwd, "out/a.txt", b"a");
    let out = maat(
        cwd,
        &[
            "attest",
            "run",
            "--spec",
            "task.toml",
            "--artifacts",
            "out",
            "--key",
            "anon.json",
            "--offline",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--id"), "{}", stderr(&out));
}
