//! `maat-testnet` end to end, as a user runs it: real `maatd` processes on 127.0.0.1 in a temp
//! directory. `maatd` is the one built next to `maat-testnet` (`cargo test --workspace` builds
//! both; alone: `cargo build --bin maatd` first).

mod common;

use common::{Dir, json, ok, run};
use maat_ledger::Genesis;
use maat_ledger::finality::FinalityProof;

#[test]
fn demo_ends_with_a_receipt_whose_proof_verifies_offline() {
    let dir = Dir::new();
    dir.init(&[]);
    let receipt = json(&ok(&["demo", "--dir", dir.path(), "--stop", "--json"]));

    // Check the files it wrote ourselves, against the genesis file only.
    let genesis = Genesis::load(dir.tmp.path().join("genesis.json")).expect("genesis");
    let proof_path = receipt["proof_file"].as_str().expect("proof_file");
    let proof: FinalityProof =
        serde_json::from_str(&std::fs::read_to_string(proof_path).expect("proof file"))
            .expect("proof JSON");
    let verified = proof.verify(&genesis).expect("the proof verifies");
    assert_eq!(verified.tx_id.to_hex(), receipt["tx_id"].as_str().unwrap());
    assert_eq!(verified.log_index, receipt["log_index"].as_u64().unwrap());
    let cert = std::fs::read(receipt["certificate_file"].as_str().unwrap()).expect("cert file");
    assert!(
        proof.tx.windows(cert.len()).any(|w| w == cert.as_slice()),
        "the proven transaction carries the certificate the demo wrote"
    );
    let note = std::fs::read_to_string(receipt["checkpoint_file"].as_str().unwrap()).unwrap();
    let cp = maat_ledger::finality::verify_checkpoint(&note, &genesis).expect("checkpoint");
    assert!(cp.checkpoint.tree_size > verified.log_index);

    // --stop: nothing runs any more.
    let status = json(&ok(&["status", "--dir", dir.path(), "--json"]));
    for node in status.as_array().expect("array") {
        assert_eq!(node["state"], "stopped", "{node}");
    }
}

#[test]
fn load_then_chaos_loses_nothing() {
    let dir = Dir::new();
    dir.init(&["--validators", "4", "--empty-block-interval-ms", "250"]);
    ok(&["up", "--dir", dir.path()]);
    let status = json(&ok(&["status", "--dir", dir.path(), "--json"]));
    assert_eq!(status.as_array().unwrap().len(), 4);
    for node in status.as_array().unwrap() {
        assert_eq!(node["state"], "running", "{node}");
    }

    let load = json(&ok(&[
        "load",
        "--dir",
        dir.path(),
        "--rate",
        "40",
        "--duration",
        "8s",
        "--json",
    ]));
    assert_eq!(load["offered"], 320);
    assert_eq!(load["acknowledged"], 320, "{load}");
    assert_eq!(load["finalized"], 320, "{load}");
    assert!(load["latency"]["p50_ms"].as_f64().unwrap() > 0.0);

    let out = run(&[
        "chaos",
        "--dir",
        dir.path(),
        "--rate",
        "25",
        "--duration",
        "45s",
        "--interval",
        "2",
        "--fault-min",
        "1",
        "--fault-max",
        "3",
        "--seed",
        "7",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = json(&stdout);
    assert!(
        out.status.success(),
        "chaos failed: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report["faults"].as_array().unwrap().len() >= 3, "{report}");
    assert_eq!(report["lost"].as_array().unwrap().len(), 0);
    assert_eq!(report["chains_agree"], true);
    let acked = report["load"]["acknowledged"].as_u64().unwrap();
    assert!(
        acked > 0 && report["load"]["finalized"].as_u64().unwrap() == acked,
        "{report}"
    );
    // The check stopped the network.
    let status = json(&ok(&["status", "--dir", dir.path(), "--json"]));
    for node in status.as_array().unwrap() {
        assert_eq!(node["state"], "stopped", "{node}");
    }
}

#[test]
fn commands_on_a_missing_testnet_say_how_to_create_one() {
    let dir = Dir::new();
    let missing = dir.tmp.path().join("nothing-here");
    let missing = missing.to_str().unwrap();
    for cmd in ["up", "status", "down", "load"] {
        let out = run(&[cmd, "--dir", missing]);
        assert!(
            !out.status.success(),
            "{cmd} succeeded on a missing testnet"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("maat-testnet init"), "{cmd}: {err}");
    }
    // A second init refuses to overwrite.
    dir.init(&[]);
    let out = run(&["init", "--dir", dir.path(), "--base-port", "20000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a testnet"));
}
