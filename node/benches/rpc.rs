//! Read requests per second on one node: `getTx` and `getFinalityProof` over JSON-RPC (HTTP)
//! and gRPC, against one release `maatd` validator (a 1-validator testnet from the integration
//! tests' harness; it bootstraps from itself, which the swarm skips).
//!
//! The node's per-IP rate limit is raised out of the way (`rpc.rate_per_sec`, `rpc.burst`); the
//! setup transactions and `MAAT_BENCH_TXS` (default 200) certificates are submitted and waited
//! for until final, then, per transport and concurrency C, C client tasks (each its own
//! [`Client`], so its own connection) loop over the finalized ids calling `tx_status` for a
//! 1 s warm-up and `MAAT_BENCH_SECS` (default 5) measured seconds. Every answer must be
//! `Finalized` (any error or other answer fails the bench). `getFinalityProof` runs at C = 8.
//!
//! The client tasks (a 2-worker tokio runtime) and the node share the machine's cores, so the
//! figures are for the pair; the CPU seconds each side used are printed per run.
//!
//! Run: `cargo bench -p maat-node --bench rpc` (release build of maatd).
//! `MAAT_BENCH_CONCURRENCY` (default `1,8,32`) sets the concurrencies of the `getTx` runs.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Testnet;
use maat_proto::TxId;
use maat_rpc::TxStatus;
use maat_sdk::client::Client;
use maat_sdk::workload::Workload;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn concurrencies() -> Vec<usize> {
    match std::env::var("MAAT_BENCH_CONCURRENCY") {
        Ok(v) => {
            let cs: Vec<usize> = v
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .expect("MAAT_BENCH_CONCURRENCY: comma-separated numbers")
                })
                .collect();
            assert!(cs.iter().all(|&c| c > 0), "concurrency must be at least 1");
            cs
        }
        Err(_) => vec![1, 8, 32],
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// CPU seconds (user + system) of a process from `/proc/<pid>/stat` (USER_HZ = 100).
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        f[11].parse::<f64>().unwrap_or(f64::NAN) + f[12].parse::<f64>().unwrap_or(f64::NAN);
    ticks / 100.0
}

/// The pid of the `maatd` running from `home` (the harness keeps the child private).
fn maatd_pid(home: &std::path::Path) -> Option<String> {
    let home = home.to_string_lossy();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd);
            if cmd.contains("maatd") && cmd.split('\0').any(|a| a == home) {
                return Some(name);
            }
        }
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    GetTx,
    GetFinalityProof,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::GetTx => "getTx",
            Call::GetFinalityProof => "getFinalityProof",
        }
    }
}

struct RunResult {
    requests: u64,
    secs: f64,
    lat_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    node_cpu: f64,
    bench_cpu: f64,
}

async fn one_call(client: &Client, call: Call, id: TxId) -> Result<(), String> {
    match call {
        Call::GetTx => match client.tx_status(id).await {
            Ok(TxStatus::Finalized { .. }) => Ok(()),
            Ok(other) => Err(format!("{} is {other:?}", id.to_hex())),
            Err(e) => Err(e.to_string()),
        },
        Call::GetFinalityProof => match client.finality_proof(id).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(format!("no finality proof for {}", id.to_hex())),
            Err(e) => Err(e.to_string()),
        },
    }
}

async fn run_load(
    url: &str,
    call: Call,
    concurrency: usize,
    ids: Arc<Vec<TxId>>,
    warmup: Duration,
    measure: Duration,
    node_pid: Option<&str>,
) -> RunResult {
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        clients.push(Client::connect(url).await.expect("client connects"));
    }
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + warmup;
    let end = measure_from + measure;
    let mut tasks = Vec::new();
    let mut cpu0 = (f64::NAN, f64::NAN);
    for (t, client) in clients.into_iter().enumerate() {
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            // Tasks start at different ids so they do not walk the same keys in lockstep.
            let mut k = t * ids.len() / concurrency.max(1);
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let id = ids[k % ids.len()];
                k += 1;
                let r = one_call(&client, call, id).await;
                if t0 >= measure_from {
                    match r {
                        Ok(()) => lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                } else if let Err(e) = r {
                    errors += 1;
                    first_error.get_or_insert(format!("during warm-up: {e}"));
                }
            }
            (lat, errors, first_error)
        }));
    }
    // CPU counters over the measured window only.
    tokio::time::sleep_until(measure_from.into()).await;
    if let Some(pid) = node_pid {
        cpu0 = (cpu_seconds(pid), cpu_seconds("self"));
    }
    tokio::time::sleep_until(end.into()).await;
    let cpu1 = match node_pid {
        Some(pid) => (cpu_seconds(pid), cpu_seconds("self")),
        None => (f64::NAN, f64::NAN),
    };
    let mut lat_us = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        let (l, e, f) = t.await.expect("client task");
        lat_us.extend(l);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    lat_us.sort_unstable();
    RunResult {
        requests: lat_us.len() as u64,
        secs: measure.as_secs_f64(),
        lat_us,
        errors,
        first_error,
        node_cpu: cpu1.0 - cpu0.0,
        bench_cpu: cpu1.1 - cpu0.1,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let n_certs = env_u64("MAAT_BENCH_TXS", 200);
    let secs = env_u64("MAAT_BENCH_SECS", 5);
    let cs = concurrencies();
    let warmup = Duration::from_secs(1);
    let measure = Duration::from_secs(secs);

    let mut net = Testnet::generate(1);
    net.nodes[0].extra = vec![
        "--set".into(),
        "rpc.rate_per_sec=100000000".into(),
        "--set".into(),
        "rpc.burst=100000000".into(),
    ];
    net.start_all();
    net.wait_status(0, "a committed block", |s| s.height >= 1)
        .await;

    let admin =
        maat_crypto::sig::KeyPair::from_seed(net.admin.algorithm(), net.admin.secret_seed());
    let w = Workload::new(net.genesis.chain_id(), admin, [11; 32]);
    let c0 = net.client(0).await;
    let mut last = None;
    for tx in w.setup_txs() {
        last = Some(c0.submit_tx(&tx).await.expect("setup tx admitted"));
    }
    c0.wait_finalized(last.expect("setup txs"), common::PATIENCE)
        .await
        .expect("setup final");
    let txs = w.certificate_txs(0..n_certs, maat_node::home::now_ms());
    let mut ids = Vec::with_capacity(txs.len());
    // One node: every submitter's nonces arrive in order.
    for tx in &txs {
        ids.push(c0.submit_tx(tx).await.expect("certificate admitted"));
    }
    for id in &ids {
        c0.wait_finalized(*id, common::PATIENCE)
            .await
            .expect("certificate final");
    }
    let status = c0.status().await.expect("status");
    let status_json = serde_json::to_vec(&c0.tx_status(ids[0]).await.expect("getTx"))
        .expect("json")
        .len();
    let proof_json = serde_json::to_vec(
        &c0.finality_proof(ids[0])
            .await
            .expect("getFinalityProof")
            .expect("a proof"),
    )
    .expect("json")
    .len();
    let ids = Arc::new(ids);

    let node_pid = maatd_pid(&net.nodes[0].home);
    let rpc_url = net.nodes[0].rpc_url();
    let grpc_url = net.nodes[0].grpc_url();
    println!(
        "one maatd validator (release), height {} log_size {}; {} finalized certificate ids \
         queried round-robin; {}s measured after 1s warm-up per row",
        status.height,
        status.log_size,
        ids.len(),
        secs
    );
    println!(
        "result sizes (serde JSON of the typed result): getTx {status_json} B, \
         getFinalityProof {proof_json} B"
    );
    println!(
        "client tasks (2-worker tokio runtime, one Client = one connection per task) and the \
         node share the machine's {} cores; cpu columns are CPU-seconds per measured second",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!();
    println!(
        "| transport | method | concurrency | requests | requests/s | p50 µs | p99 µs | max µs | node cpu | bench cpu |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut runs: Vec<(&str, &str, Call, usize)> = Vec::new();
    for (name, url) in [
        ("JSON-RPC/HTTP", rpc_url.as_str()),
        ("gRPC", grpc_url.as_str()),
    ] {
        for &c in &cs {
            runs.push((name, url, Call::GetTx, c));
        }
    }
    for (name, url) in [
        ("JSON-RPC/HTTP", rpc_url.as_str()),
        ("gRPC", grpc_url.as_str()),
    ] {
        runs.push((name, url, Call::GetFinalityProof, 8));
    }
    let mut failures = Vec::new();
    for (name, url, call, c) in runs {
        let r = run_load(
            url,
            call,
            c,
            ids.clone(),
            warmup,
            measure,
            node_pid.as_deref(),
        )
        .await;
        net.nodes[0].assert_alive();
        let (p50, p99, max) = if r.lat_us.is_empty() {
            (0, 0, 0)
        } else {
            (
                percentile(&r.lat_us, 0.5),
                percentile(&r.lat_us, 0.99),
                r.lat_us[r.lat_us.len() - 1],
            )
        };
        println!(
            "| {name} | {} | {c} | {} | {:.0} | {p50} | {p99} | {max} | {:.2} | {:.2} |",
            call.name(),
            r.requests,
            r.requests as f64 / r.secs,
            r.node_cpu / r.secs,
            r.bench_cpu / r.secs,
        );
        if r.errors > 0 {
            let msg = format!(
                "{name} {} C={c}: {} failed requests, first: {}",
                call.name(),
                r.errors,
                r.first_error.unwrap_or_default()
            );
            eprintln!("ERROR {msg}");
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "requests failed:\n{}",
        failures.join("\n")
    );
    // The Testnet's Drop kills the node and removes its directory.
}
