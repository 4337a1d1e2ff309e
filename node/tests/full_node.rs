//! A full node (a `maatd` whose key is not in the genesis validator set, home made by
//! `maatd init --genesis`) following four real validators: it accepts transactions and gossips
//! them, serves the same finality proofs and checkpoints, never signs, catches up after a
//! SIGKILL, and the validators commit without it.

mod common;

use common::{PATIENCE, Testnet};
use maat_ledger::finality::verify_checkpoint;
use maat_proto::TxId;
use maat_sdk::workload::Workload;

const FULL: usize = 4;

fn workload(net: &Testnet) -> Workload {
    let admin =
        maat_crypto::sig::KeyPair::from_seed(net.admin.algorithm(), net.admin.secret_seed());
    Workload::new(net.genesis.chain_id(), admin, [11; 32])
}

/// Submits `txs` to node `node`, in order (one submitter's nonces must arrive in order).
async fn submit(net: &Testnet, node: usize, txs: &[Vec<u8>]) -> Vec<TxId> {
    let client = net.client(node).await;
    let mut ids = Vec::new();
    for tx in txs {
        ids.push(client.submit_tx(tx).await.expect("admitted"));
    }
    ids
}

/// Polls node `node` for a checkpoint with 2f+1 cosignatures covering `min_size` entries.
async fn wait_checkpoint(net: &mut Testnet, node: usize, min_size: u64) -> String {
    let client = net.client(node).await;
    let start = std::time::Instant::now();
    loop {
        net.nodes[node].assert_alive();
        if let Ok(Some(cp)) = client.checkpoint(None).await
            && cp.tree_size >= min_size
        {
            return cp.note;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "node {node}: no checkpoint of size {min_size}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_node_follows_serves_proofs_and_catches_up() {
    let mut net = Testnet::generate(4);
    assert_eq!(net.add_full_node(), FULL);
    net.start_all();
    // Validators accept the non-validator peer: it reaches all four, and each of them has it.
    let s = net
        .wait_status(FULL, "4 validator peers", |s| s.peers >= 4)
        .await;
    assert_eq!(s.validator, None, "a full node reports no validator index");
    for i in 0..4 {
        let s = net.wait_status(i, "4 peers", |s| s.peers >= 4).await;
        assert_eq!(s.validator, Some(i as u32));
    }

    // Everything goes through the full node's RPC: it admits and gossips to the validators.
    let w = workload(&net);
    let setup = w.setup_txs();
    let setup_ids = submit(&net, FULL, &setup).await;
    net.client(FULL)
        .await
        .wait_finalized(*setup_ids.last().expect("setup txs"), PATIENCE)
        .await
        .expect("setup finalized, as seen on the full node");
    let n_setup = setup.len() as u64;
    let now = maat_node::home::now_ms();
    let certs: Vec<Vec<u8>> = (0..60).map(|i| w.certificate_tx(i, now)).collect();
    let first = submit(&net, FULL, &certs).await;
    for node in [FULL, 0] {
        net.wait_status(node, "the certificates in the log", |s| {
            s.log_size >= n_setup + 60
        })
        .await;
        net.assert_all_finalized(node, &first).await;
    }

    // A finality proof from the full node verifies offline with the genesis alone.
    let last = *first.last().expect("certificates");
    let proof = net
        .client(FULL)
        .await
        .finality_proof(last)
        .await
        .expect("finalityProof")
        .expect("a proof for a finalized tx");
    let finalized = maat_sdk::proof::verify_finality_proof(&proof, &net.genesis)
        .expect("the full node's proof verifies");
    assert_eq!(finalized.tx_id, last);
    // ... and it collected the validators' cosignatures into a final checkpoint.
    let note = wait_checkpoint(&mut net, FULL, n_setup + 60).await;
    let cp = verify_checkpoint(&note, &net.genesis).expect("checkpoint verifies");
    assert!(cp.signers.len() >= 3, "{} cosigners", cp.signers.len());

    // It never signed anything.
    let full = &net.nodes[FULL];
    assert_eq!(full.metric("maat_validator"), -1.0);
    for m in [
        "maat_votes_total",
        "maat_proposals_total",
        "maat_timeouts_total",
    ] {
        assert_eq!(full.metric(m), 0.0, "{m} on the full node");
    }
    assert!(net.nodes[0].metric("maat_votes_total") > 0.0);

    // Down: the four validators keep committing (the full node holds no vote).
    net.nodes[FULL].kill();
    let down_at = net.wait_ready(0).await.height;
    let now = maat_node::home::now_ms();
    let certs: Vec<Vec<u8>> = (60..100).map(|i| w.certificate_tx(i, now)).collect();
    let second = submit(&net, 1, &certs).await;
    let mut reached = 0;
    for i in 0..4 {
        reached = net
            .wait_status(
                i,
                "the second batch and 40 blocks without the full node",
                |s| s.log_size >= n_setup + 100 && s.height >= down_at + 40,
            )
            .await
            .height;
    }

    // Back: it catches up by block sync and finds the second batch final.
    net.nodes[FULL].start();
    let s = net.wait_height(FULL, reached).await;
    assert!(s.log_size >= n_setup + 100);
    net.assert_all_finalized(FULL, &second).await;
    assert!(net.nodes[FULL].metric("maat_fetches_total") > 0.0);
    // It follows live again: a transaction submitted to it now is final on both sides.
    let next = submit(
        &net,
        FULL,
        &[w.certificate_tx(100, maat_node::home::now_ms())],
    )
    .await;
    for node in [FULL, 2] {
        net.wait_status(node, "the last certificate", |s| {
            s.log_size >= n_setup + 101
        })
        .await;
        net.assert_all_finalized(node, &next).await;
    }

    // Same committed blocks, byte for byte, on the full node and every validator.
    for n in &mut net.nodes {
        let status = n.terminate();
        assert!(status.success(), "node {} exited with {status}", n.index);
    }
    let chains: Vec<Vec<Vec<u8>>> = net
        .nodes
        .iter()
        .map(|n| n.committed_chain(&net.genesis))
        .collect();
    let common = chains.iter().map(Vec::len).min().expect("nodes");
    assert!(common as u64 > reached, "{common} blocks in common");
    for (i, c) in chains.iter().enumerate().take(4) {
        assert_eq!(
            &c[..common],
            &chains[FULL][..common],
            "validator {i}'s committed chain differs from the full node's"
        );
    }
}
