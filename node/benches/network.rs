//! Four `maatd` processes on loopback (the integration tests' harness), measured:
//!
//! 1. submit-to-finalized latency at light load: one certificate at a time (the next is
//!    submitted when the previous is final), rotating over the four nodes; latency is from
//!    `maat_submitTx` returning to `maat_getTx` saying finalized (polled every 5 ms, so up to
//!    5 ms of the figure is polling);
//! 2. catch-up speed: validator 3 is SIGKILLed, the others commit `MAAT_BENCH_BEHIND` (default
//!    500) blocks, it restarts, and the time from its RPC answering again to reaching the
//!    others' height gives blocks per second (fetch, QC checks, replay, RocksDB commit).
//!
//! Run: `cargo bench -p maat-node --bench network` (release build of maatd).
//! `MAAT_BENCH_SAMPLES` (default 200) sets the number of latency samples.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Testnet;
use maat_rpc::TxStatus;
use maat_sdk::workload::Workload;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let samples = env_u64("MAAT_BENCH_SAMPLES", 200);
    let behind = env_u64("MAAT_BENCH_BEHIND", 500);
    let mut net = Testnet::generate(4);
    net.start_all();
    for i in 0..4 {
        net.wait_status(i, "3 peers", |s| s.peers >= 3).await;
    }
    let admin =
        maat_crypto::sig::KeyPair::from_seed(net.admin.algorithm(), net.admin.secret_seed());
    let w = Workload::new(net.genesis.chain_id(), admin, [9; 32]);
    let c0 = net.client(0).await;
    let mut last = None;
    for tx in w.setup_txs() {
        last = Some(c0.submit_tx(&tx).await.expect("setup"));
    }
    c0.wait_finalized(last.expect("setup txs"), common::PATIENCE)
        .await
        .expect("setup final");

    // 1. Latency at light load.
    let clients = [
        net.client(0).await,
        net.client(1).await,
        net.client(2).await,
        net.client(3).await,
    ];
    let mut lat = Vec::new();
    let mut next = 0u64;
    for _ in 0..samples {
        let i = next;
        next += 1;
        let tx = w.certificate_tx(i, common_now());
        // Submitter j always goes to node j % 4: its nonces arrive in order.
        let client = &clients[w.submitter_index(i) % 4];
        let id = client.submit_tx(&tx).await.expect("admitted");
        let t0 = Instant::now();
        loop {
            match client.tx_status(id).await.expect("getTx") {
                TxStatus::Finalized { .. } => break,
                TxStatus::Rejected { code, .. } => panic!("rejected: {code}"),
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "latency_ms samples={} p50={:.1} p90={:.1} p99={:.1} max={:.1}",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );

    // 2. Catch-up.
    net.nodes[3].kill();
    let h_kill = net.wait_ready(0).await.height;
    let target = h_kill + behind;
    while net.wait_ready(0).await.height < target {
        let now = common_now();
        for _ in 0..6 {
            let i = next;
            next += 1;
            // Node 3 is down: its submitters go to node 0 (each submitter stays on one node,
            // so its nonces arrive in order).
            let node = match w.submitter_index(i) % 4 {
                3 => 0,
                n => n,
            };
            clients[node]
                .submit_tx(&w.certificate_tx(i, now))
                .await
                .expect("admitted");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let target = net.wait_ready(0).await.height;
    net.nodes[3].start();
    let start = net.wait_ready(3).await;
    let t0 = Instant::now();
    let end = net.wait_height(3, target).await;
    let secs = t0.elapsed().as_secs_f64();
    let txs = end.log_size - start.log_size;
    println!(
        "catch_up blocks={} txs={txs} seconds={secs:.2} blocks_per_second={:.1} txs_per_second={:.0}",
        end.height - start.height,
        (end.height - start.height) as f64 / secs,
        txs as f64 / secs
    );
}

fn common_now() -> u64 {
    maat_node::home::now_ms()
}
