//! The API of a running 4-validator network (issue 6): `maat cert submit --wait` returns a
//! receipt and `maat proof verify` accepts its proof offline with only the genesis file, and
//! rejects tampered proofs with a distinct error each; inclusion and consistency proofs served
//! by a node verify under an independent RFC 9162 implementation (`ct-merkle`); checkpoints are
//! cosigned by 2f+1 validators; gRPC serves the same data as JSON-RPC; WebSocket subscriptions
//! deliver finalized transactions.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{PATIENCE, Testnet};
use futures::StreamExt as _;
use maat_consensus::{Decode as _, Encode as _, Qc, SigBytes};
use maat_ledger::finality::{FinalityProof, verify_checkpoint};
use maat_proto::TxId;
use maat_rpc::{BlockRef, EventFilter, NodeEvent, SubscriptionKind};
use maat_sdk::client::Client;
use maat_sdk::workload::Workload;
use serde_json::Value;

/// The `maat` CLI, built next to `maatd` by `cargo test --workspace` (the SDK's own tests need
/// it). Run `cargo build -p maat-sdk --bin maat` first when testing this crate alone.
fn maat_bin() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_maatd"))
        .parent()
        .expect("target dir");
    let bin = dir.join("maat");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p maat-sdk --bin maat` (cargo test \
         --workspace does)",
        bin.display()
    );
    bin
}

/// Runs `maat args...`, returns (exit code, stdout).
fn maat(args: &[&str]) -> (i32, String) {
    let out = Command::new(maat_bin())
        .args(args)
        .output()
        .expect("run maat");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or(-1);
    if code == 2 {
        panic!(
            "maat {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (code, stdout)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn workload(net: &Testnet) -> Workload {
    let admin =
        maat_crypto::sig::KeyPair::from_seed(net.admin.algorithm(), net.admin.secret_seed());
    Workload::new(net.genesis.chain_id(), admin, [9; 32])
}

/// `maat proof verify` on a modified copy of `proof`; returns the error kind it reports.
fn verify_error(dir: &Path, genesis: &Path, proof: &FinalityProof, name: &str) -> String {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string(proof).unwrap()).unwrap();
    let (code, out) = maat(&[
        "proof",
        "verify",
        path.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1, "{name}: a tampered proof must be rejected: {out}");
    let v = json_of(&out);
    assert_eq!(v["valid"], false, "{name}: {out}");
    v["error"].as_str().expect("error kind").to_owned()
}

fn concat(path: &[[u8; 32]]) -> Vec<u8> {
    path.iter().flatten().copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_receipt_offline_proofs_checkpoints_grpc_and_subscriptions() {
    let mut net = Testnet::generate(4);
    net.start_all();
    for i in 0..4 {
        net.wait_status(i, "3 peers", |s| s.peers >= 3).await;
    }
    let w = workload(&net);
    let client = net.client(0).await;
    let mut last = TxId([0; 32]);
    for tx in w.setup_txs() {
        last = client.submit_tx(&tx).await.expect("setup tx admitted");
    }
    client
        .wait_finalized(last, PATIENCE)
        .await
        .expect("setup final");
    // The submission below goes to node 1: it must have committed the setup too.
    let setup_log = client.status().await.expect("status").log_size;
    net.wait_status(1, "the setup committed", |s| s.log_size >= setup_log)
        .await;

    // ---- maat cert submit --wait, against node 1, then maat proof verify offline ---------------
    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("submitter.json");
    maat_crypto::keyfile::write_key_file(
        &key_path,
        w.submitter_key(0).expect("submitter 0"),
        w.submitter_id(0),
    )
    .expect("key file");
    let cert_path = dir.path().join("cert.json");
    std::fs::write(&cert_path, w.certificate_json(0, maat_node::home::now_ms()))
        .expect("cert file");
    let proof_path = dir.path().join("proof.json");
    let genesis_path = net.nodes[0].home.join("genesis.json");
    let node1 = net.nodes[1].rpc_url();
    let (code, out) = maat(&[
        "cert",
        "submit",
        cert_path.to_str().unwrap(),
        "--key",
        key_path.to_str().unwrap(),
        "--node",
        &node1,
        "--wait",
        "--timeout",
        "300s",
        "--proof-out",
        proof_path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "cert submit: {out}");
    let receipt = json_of(&out);
    assert_eq!(receipt["status"], "finalized", "{out}");
    let tx_hex = receipt["tx_id"].as_str().expect("tx id").to_owned();
    let log_index = receipt["log_index"].as_u64().expect("log index");
    let checkpoint_size = receipt["checkpoint"]["tree_size"]
        .as_u64()
        .unwrap_or_else(|| panic!("the receipt names no checkpoint: {out}"));
    assert!(checkpoint_size > log_index);
    assert!(receipt["checkpoint"]["cosigners"].as_u64().unwrap() >= 3);

    let (code, out) = maat(&[
        "proof",
        "verify",
        proof_path.to_str().unwrap(),
        "--genesis",
        genesis_path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "proof verify: {out}");
    let verified = json_of(&out);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["tx_id"], tx_hex.as_str());
    assert_eq!(verified["log_index"], log_index);
    assert!(verified["signers"].as_array().unwrap().len() >= 3);

    // The human forms too: a receipt-like summary and the tx status.
    let (code, out) = maat(&["tx", "status", &tx_hex, "--node", &node1]);
    assert_eq!(code, 0);
    assert!(out.starts_with("finalized:"), "{out}");
    let (code, out) = maat(&["status", "--node", &net.nodes[2].grpc_url()]);
    assert_eq!(code, 0);
    assert!(out.contains("maat-it-1"), "{out}");

    // ---- tampering: each defect its own error ---------------------------------------------------
    let proof: FinalityProof =
        serde_json::from_str(&std::fs::read_to_string(&proof_path).unwrap()).unwrap();
    let d = dir.path();
    let g = genesis_path.as_path();
    let mut p = proof.clone();
    let last_byte = p.tx.len() - 1;
    p.tx[last_byte] ^= 1;
    assert_eq!(verify_error(d, g, &p, "tx"), "not_included");

    let mut p = proof.clone();
    p.header[48] ^= 1; // a byte of the timestamp: still decodes, another block id
    assert_eq!(verify_error(d, g, &p, "header"), "header_not_linked");

    let mut p = proof.clone();
    let mut qc = Qc::decode(&p.child_qc).unwrap();
    qc.signatures.truncate(2);
    p.child_qc = qc.encode();
    assert_eq!(verify_error(d, g, &p, "few"), "qc_below_quorum");

    let mut p = proof.clone();
    let mut qc = Qc::decode(&p.child_qc).unwrap();
    let foreign =
        maat_crypto::sig::KeyPair::from_seed(maat_crypto::sig::Algorithm::MlDsa65, &[3; 32]);
    let signer = qc.signatures[0].0;
    qc.signatures[0].1 = SigBytes(
        foreign
            .sign(b"", b"maat/vote/v1\0forged")
            .as_bytes()
            .to_vec(),
    );
    p.child_qc = qc.encode();
    assert_eq!(verify_error(d, g, &p, "foreign"), "qc_bad_signature");
    assert!(signer.0 < 4);

    let other = Testnet::generate(4);
    let other_genesis = other.nodes[0].home.join("genesis.json");
    assert_eq!(
        verify_error(d, &other_genesis, &proof, "genesis"),
        "wrong_genesis"
    );

    // ---- an independent RFC 9162 verifier (ct-merkle) on proofs served by the node ----------
    let grpc = Client::connect(&net.nodes[2].grpc_url())
        .await
        .expect("gRPC client");
    let head = client
        .block(BlockRef::Latest)
        .await
        .expect("latest block")
        .expect("a head");
    let incl = grpc
        .inclusion_proof(log_index, head.log_size)
        .await
        .expect("inclusion proof");
    type Sha = sha2_011::Sha256;
    let root = ct_merkle::RootHash::<Sha>::new(head.log_root.into(), head.log_size);
    root.verify_inclusion(
        &proof.tx,
        log_index,
        &ct_merkle::InclusionProof::from_bytes(concat(&incl.path)),
    )
    .expect("ct-merkle accepts the inclusion proof");
    let mut forged = proof.tx.clone();
    forged[0] ^= 1;
    assert!(
        root.verify_inclusion(
            &forged,
            log_index,
            &ct_merkle::InclusionProof::from_bytes(concat(&incl.path))
        )
        .is_err()
    );
    // Consistency from the block that held the setup transactions to the head.
    let early = client
        .block(BlockRef::Height(1))
        .await
        .expect("block 1")
        .expect("exists");
    let mut old = early;
    let mut h = 1;
    while old.log_size == 0 {
        h += 1;
        old = client
            .block(BlockRef::Height(h))
            .await
            .expect("block")
            .expect("exists");
    }
    let cons = client
        .consistency_proof(old.log_size, head.log_size)
        .await
        .expect("consistency proof");
    let old_root = ct_merkle::RootHash::<Sha>::new(old.log_root.into(), old.log_size);
    root.verify_consistency(
        &old_root,
        &ct_merkle::ConsistencyProof::try_from_bytes(concat(&cons.path)).unwrap(),
    )
    .expect("ct-merkle accepts the consistency proof");

    // ---- checkpoints: cosigned by 2f+1, verifiable with the genesis alone --------------------
    let cp = grpc
        .checkpoint(None)
        .await
        .expect("checkpoint")
        .expect("one exists");
    let v = verify_checkpoint(&cp.note, &net.genesis).expect("checkpoint verifies");
    assert!(v.signers.len() >= 3, "{} cosigners", v.signers.len());
    assert_eq!(v.checkpoint.tree_size, cp.tree_size);
    assert!(cp.note.starts_with("maat-it-1\n"));

    // ---- a generic gRPC client (Python, reflection only, no stubs) against the real node ------
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../rpc/tests/interop/grpc_reflection.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(format!("127.0.0.1:{}", net.nodes[2].grpc_port))
        .output()
        .expect("run python3 (CI installs grpcio and grpcio-reflection)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "reflection client failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("service: maat.node.v1.NodeApi"), "{text}");
    assert!(text.contains("service: grpc.health.v1.Health"), "{text}");
    assert!(text.contains("chain_id: maat-it-1"), "{text}");

    // ---- gRPC and JSON-RPC agree; a subscription delivers a finalized transaction -----------
    let tx_id = TxId::from_slice(&hex::decode(&tx_hex).unwrap()).unwrap();
    assert_eq!(
        grpc.finality_proof(tx_id).await.unwrap(),
        client.finality_proof(tx_id).await.unwrap()
    );
    let ws_url = net.nodes[3].rpc_url().replace("http://", "ws://");
    let ws = Client::connect(&ws_url).await.expect("ws client");
    let mut events = ws
        .subscribe(
            SubscriptionKind::FinalizedTxs,
            EventFilter {
                service: Some(maat_sdk::workload::SERVICE.into()),
                ..EventFilter::default()
            },
        )
        .await
        .expect("subscribe");
    let next = w.certificate_tx(1, maat_node::home::now_ms());
    let next_id = client.submit_tx(&next).await.expect("admitted");
    let delivered = tokio::time::timeout(PATIENCE, async {
        while let Some(ev) = events.next().await {
            if let Ok(NodeEvent::FinalizedTx { tx_id, .. }) = ev
                && tx_id == next_id.0
            {
                return true;
            }
        }
        false
    })
    .await
    .expect("the subscription delivered before the guard");
    assert!(delivered, "the subscription ended without the transaction");
}
