//! Four real `maatd` processes on 127.0.0.1 (issue 5): discovery from one bootstrap address,
//! 1,000 finalized certificates with byte-identical chains, a SIGKILLed validator catching up,
//! a stall without 2f+1 and its recovery, and Byzantine leaders (a certificate failing CheckR;
//! equivocation).
//!
//! The scenarios run one at a time (each is four validators signing with ML-DSA-65 on a
//! two-core machine); every wait has a generous failure guard, never a timing assertion.

mod common;

use std::collections::HashSet;
use std::sync::Mutex;

use common::Testnet;
use maat_proto::TxId;
use maat_rpc::TxStatus;
use maat_sdk::workload::Workload;

/// One scenario at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> u64 {
    maat_node::home::now_ms()
}

fn workload(net: &Testnet) -> Workload {
    let admin =
        maat_crypto::sig::KeyPair::from_seed(net.admin.algorithm(), net.admin.secret_seed());
    Workload::new(net.genesis.chain_id(), admin, [7; 32])
}

/// Submits the setup transactions (identities, policy) to node 0 and waits until they are final.
async fn setup(net: &mut Testnet, w: &Workload) -> u64 {
    let client = net.client(0).await;
    let txs = w.setup_txs();
    let mut last = TxId([0u8; 32]);
    for tx in &txs {
        last = client.submit_tx(tx).await.expect("setup tx admitted");
    }
    client
        .wait_finalized(last, common::PATIENCE)
        .await
        .expect("setup finalized");
    txs.len() as u64
}

/// Submits certificates `range` with submitter `s` going to node `s % nodes.len()` (so each
/// submitter's nonces arrive in order), all nodes in parallel. Returns the ids.
async fn submit_certificates(
    net: &Testnet,
    w: &Workload,
    range: std::ops::Range<u64>,
    nodes: &[usize],
) -> Vec<TxId> {
    let now = now_ms();
    let mut per_node: Vec<Vec<Vec<u8>>> = vec![Vec::new(); nodes.len()];
    for i in range {
        per_node[w.submitter_index(i) % nodes.len()].push(w.certificate_tx(i, now));
    }
    let mut tasks = Vec::new();
    for (k, txs) in per_node.into_iter().enumerate() {
        let client = net.client(nodes[k]).await;
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for tx in txs {
                ids.push(client.submit_tx(&tx).await.expect("certificate admitted"));
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.expect("submitter task"));
    }
    ids
}

/// Stops every running node with SIGTERM (each must exit cleanly) and checks that all
/// databases hold the same committed blocks, byte for byte, up to the lowest head.
fn stop_and_compare_chains(net: &mut Testnet) -> usize {
    for n in &mut net.nodes {
        if n.is_running() {
            let status = n.terminate();
            assert!(
                status.success(),
                "node {} exited with {status} on SIGTERM",
                n.index
            );
        }
    }
    let chains: Vec<Vec<Vec<u8>>> = net
        .nodes
        .iter()
        .map(|n| n.committed_chain(&net.genesis))
        .collect();
    let common = chains.iter().map(Vec::len).min().expect("nodes");
    for (i, c) in chains.iter().enumerate().skip(1) {
        assert_eq!(
            &c[..common],
            &chains[0][..common],
            "node {i}'s committed chain differs from node 0's"
        );
    }
    common
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_discover_each_other_and_finalize_1000_certificates() {
    let _g = serial();
    let mut net = Testnet::generate(4);
    net.start_all();
    // Every node was given one bootstrap address; Kademlia finds the other two.
    for i in 0..4 {
        net.wait_status(i, "3 peers", |s| s.peers >= 3).await;
    }
    let w = workload(&net);
    let n_setup = setup(&mut net, &w).await;
    let ids = submit_certificates(&net, &w, 0..1000, &[0, 1, 2, 3]).await;
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1000);
    let expected = n_setup + 1000;
    for i in 0..4 {
        net.wait_status(i, "all certificates in the log", |s| s.log_size >= expected)
            .await;
    }
    for i in 0..4 {
        net.assert_all_finalized(i, &ids).await;
    }
    let blocks = stop_and_compare_chains(&mut net);
    assert!(blocks > 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_validator_catches_up_and_nothing_final_is_lost() {
    let _g = serial();
    // Empty blocks every 20 ms and short round timeouts (every fourth round times out while
    // validator 3 is down): the chain runs more than one fetch range (256 blocks) ahead, so
    // the restarted node needs the forward sync.
    let mut net = Testnet::generate_with(4, |p| {
        p.empty_block_interval_ms = 20;
        p.timeouts.initial_round_ms = 400;
        p.timeouts.max_round_ms = 1_600;
    });
    net.start_all();
    for i in 0..4 {
        net.wait_ready(i).await;
    }
    let w = workload(&net);
    let n_setup = setup(&mut net, &w).await;
    let first = submit_certificates(&net, &w, 0..200, &[0, 1, 2, 3]).await;
    net.wait_status(3, "first batch", |s| s.log_size >= n_setup + 200)
        .await;

    net.nodes[3].kill();
    // The other three keep committing while it is down.
    let down_at = net.wait_ready(0).await.height;
    let second = submit_certificates(&net, &w, 200..400, &[0, 1, 2]).await;
    let mut reached = 0;
    for i in 0..3 {
        reached = net
            .wait_status(i, "second batch and 300 blocks while node 3 is down", |s| {
                s.log_size >= n_setup + 400 && s.height >= down_at + 300
            })
            .await
            .height;
    }

    net.nodes[3].start();
    let caught_up = net.wait_height(3, reached).await;
    assert!(caught_up.log_size >= n_setup + 400);
    // More than one range behind: it caught up through committed ranges with their QCs.
    assert!(net.nodes[3].metric("maat_synced_blocks_total") >= 256.0);
    // It rejoins consensus: new transactions submitted to it are finalized everywhere.
    let third = submit_certificates(&net, &w, 400..440, &[3]).await;
    for i in 0..4 {
        net.wait_status(i, "third batch", |s| s.log_size >= n_setup + 440)
            .await;
    }
    for ids in [&first, &second, &third] {
        net.assert_all_finalized(3, ids).await;
    }
    let common = stop_and_compare_chains(&mut net);
    assert!(common as u64 > reached);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_four_down_stalls_and_one_returning_resumes() {
    let _g = serial();
    let mut net = Testnet::generate(4);
    net.start_all();
    for i in 0..4 {
        net.wait_ready(i).await;
    }
    let w = workload(&net);
    setup(&mut net, &w).await;
    net.nodes[2].kill();
    net.nodes[3].kill();
    // Votes already in flight may still complete one QC; after two of node 0's own round
    // timeouts nothing is in flight any more.
    wait_for_timeouts(&mut net, 0, 2.0).await;
    let stalled = net.wait_ready(0).await;
    let ids = submit_certificates(&net, &w, 0..10, &[0, 1]).await;
    // Rounds keep timing out, but without 2f+1 nothing commits.
    wait_for_timeouts(&mut net, 0, 3.0).await;
    for i in 0..2 {
        let s = net.client(i).await.status().await.expect("status");
        assert_eq!(
            s.height, stalled.height,
            "node {i} kept committing without 2f+1"
        );
        assert_eq!(
            s.log_size, stalled.log_size,
            "node {i} committed transactions without 2f+1"
        );
    }
    let client = net.client(0).await;
    assert!(!matches!(
        client.tx_status(ids[0]).await.expect("getTx"),
        TxStatus::Finalized { .. }
    ));

    net.nodes[2].start();
    for i in 0..3 {
        net.wait_status(i, "progress after node 2 returned", |s| {
            s.log_size >= stalled.log_size + 10
        })
        .await;
    }
    net.assert_all_finalized(0, &ids).await;
    // Node 3 never came back: the others' chains extend its prefix.
    stop_and_compare_chains(&mut net);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byzantine_leader_with_a_failing_certificate_is_never_committed() {
    let _g = serial();
    let mut net = Testnet::generate(4);
    let w = workload(&net);
    // Validator 3 adds a certificate that fails CheckR to every block it proposes.
    let bad = w.invalid_certificate_tx(now_ms());
    let bad_id = maat_mempool::envelope_tx_id(&bad).expect("envelope");
    let bad_path = net.dir.path().join("bad.tx");
    std::fs::write(&bad_path, &bad).unwrap();
    net.nodes[3].extra = vec![
        "--set".into(),
        "fault.mode=invalid-certificate".into(),
        "--set".into(),
        format!("fault.invalid_tx_file={}", bad_path.display()),
    ];
    net.start_all();
    for i in 0..4 {
        net.wait_ready(i).await;
    }
    let n_setup = setup(&mut net, &w).await;
    // Keep transactions flowing so every leader has something to propose.
    let mut ids = Vec::new();
    let mut next = 0;
    let start = std::time::Instant::now();
    loop {
        ids.extend(submit_certificates(&net, &w, next..next + 8, &[0, 1, 2]).await);
        next += 8;
        // Every honest validator refused at least one of the faulty leader's blocks.
        let refused = (0..3).all(|i| net.nodes[i].metric("maat_blocks_refused_total") >= 1.0);
        let proposals = net.nodes[3].metric("maat_proposals_total");
        if refused && proposals >= 2.0 {
            break;
        }
        assert!(
            start.elapsed() < common::PATIENCE,
            "the faulty leader never proposed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    for i in 0..3 {
        net.wait_status(i, "all honest certificates", |s| {
            s.log_size >= n_setup + next
        })
        .await;
        net.assert_all_finalized(i, &ids).await;
        let client = net.client(i).await;
        assert!(
            !matches!(
                client.tx_status(bad_id).await.unwrap(),
                TxStatus::Finalized { .. }
            ),
            "the failing certificate was committed"
        );
    }
    assert!(net.nodes[3].log_text().contains("fault injection"));
    let h = net.wait_ready(0).await.height;
    assert!(stop_and_compare_chains(&mut net) as u64 > h.saturating_sub(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocating_leader_is_recorded_and_the_chain_goes_on() {
    let _g = serial();
    let mut net = Testnet::generate(4);
    net.nodes[3].extra = vec!["--set".into(), "fault.mode=equivocate".into()];
    net.start_all();
    for i in 0..4 {
        net.wait_ready(i).await;
    }
    let w = workload(&net);
    setup(&mut net, &w).await;
    let start = std::time::Instant::now();
    let mut next = 0;
    while (0..3)
        .map(|i| net.nodes[i].metric("maat_equivocations_total"))
        .sum::<f64>()
        < 1.0
    {
        submit_certificates(&net, &w, next..next + 4, &[0, 1, 2]).await;
        next += 4;
        assert!(
            start.elapsed() < common::PATIENCE,
            "no equivocation recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let h = net.wait_ready(0).await.height;
    for i in 0..3 {
        net.wait_height(i, h + 3).await;
    }
    // The equivocator was banned by the others: its chain is a prefix of theirs.
    stop_and_compare_chains(&mut net);
}

/// Waits until node `i` has signed `n` more round timeouts than now.
async fn wait_for_timeouts(net: &mut Testnet, i: usize, n: f64) {
    let t0 = net.nodes[i].metric("maat_timeouts_total");
    let start = std::time::Instant::now();
    while net.nodes[i].metric("maat_timeouts_total") < t0 + n {
        net.nodes[i].assert_alive();
        assert!(
            start.elapsed() < common::PATIENCE,
            "node {i}: no round timeouts"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
