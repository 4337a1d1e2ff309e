//! Throughput, message cost and commit latency of the consensus core, measured in the
//! deterministic simulator (fault-free, fixed message delay δ, a leader that always has
//! transactions).
//!
//! ```text
//! cargo bench -p maat-consensus --features sim --bench sim_throughput
//! ```
//!
//! - rounds committed per CPU-second: committed heights / CPU time of the whole simulation
//!   (all n validators on one thread) and / time spent inside `Core::handle` only;
//! - messages and bytes per committed block (every validator's sends, per recipient), with 32-byte
//!   stand-in signatures and with ML-DSA-65-sized ones (3309 bytes);
//! - commit latency from a proposal's broadcast to each validator's commit, in units of δ.

use std::time::Instant;

use maat_consensus::sim::{RunOptions, Scenario, run};

/// CPU time of this thread in nanoseconds (Linux), or `None`.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

struct Row {
    n: usize,
    heights: u64,
    cpu_s: f64,
    core_s: f64,
    msgs_per_block: f64,
    by_kind: [f64; 4],
    bytes_per_block_32: f64,
    bytes_per_block_mldsa: f64,
    latency_delta: (f64, f64, f64, f64),
}

fn measure(n: usize, target: u64, delta: u64) -> Row {
    let opts = RunOptions {
        stop_at_height: Some(target),
        latencies: true,
        ..RunOptions::default()
    };
    let sc = Scenario::benchmark(n, delta, 32);
    let (cpu0, wall0) = (thread_cpu_ns(), Instant::now());
    let out = run(&sc, &opts);
    let cpu_ns = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => b - a,
        _ => wall0.elapsed().as_nanos() as u64,
    };
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let s = &out.stats;
    let heights = s.height;
    let per = |x: u64| x as f64 / heights as f64;
    // Bytes with ML-DSA-65-sized signatures: a separate, shorter run (same message pattern).
    let mldsa_target = (target / 10).max(50);
    let big = run(
        &Scenario::benchmark(n, delta, 3309),
        &RunOptions {
            stop_at_height: Some(mldsa_target),
            ..RunOptions::default()
        },
    );
    assert!(big.violations.is_empty(), "{:?}", big.violations);
    let mut lat: Vec<u64> = out.latencies_ms.clone();
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] as f64 / delta as f64;
    Row {
        n,
        heights,
        cpu_s: cpu_ns as f64 / 1e9,
        core_s: s.core_nanos as f64 / 1e9,
        msgs_per_block: per(s.messages - s.fetch_messages),
        by_kind: s.messages_by_kind.map(per),
        bytes_per_block_32: per(s.bytes),
        bytes_per_block_mldsa: big.stats.bytes as f64 / big.stats.height as f64,
        latency_delta: (q(0.0), q(0.5), q(0.9), q(1.0)),
    }
}

fn main() {
    // `cargo bench` passes --bench; anything else (e.g. `cargo test --benches`) runs it small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let delta = 10;
    println!("fault-free, fixed delay δ = {delta} ms, leader always has transactions\n");
    println!(
        "| n | blocks | CPU s (sim) | blocks/CPU-s (sim) | blocks/CPU-s (core only) | msgs/block (prop/vote/timeout/sync) | bytes/block (32 B sigs) | bytes/block (ML-DSA-65 sigs) | commit latency δ (min/median/p90/max) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (n, target) in [(4, 20_000), (10, 5_000), (31, 1_000)] {
        let target = if quick { target / 100 } else { target };
        let r = measure(n, target, delta);
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.0} | {:.1} ({:.1}/{:.1}/{:.1}/{:.1}) | {:.0} | {:.0} | {:.1}/{:.1}/{:.1}/{:.1} |",
            r.n,
            r.heights,
            r.cpu_s,
            r.heights as f64 / r.cpu_s,
            r.heights as f64 / r.core_s,
            r.msgs_per_block,
            r.by_kind[0],
            r.by_kind[1],
            r.by_kind[2],
            r.by_kind[3],
            r.bytes_per_block_32,
            r.bytes_per_block_mldsa,
            r.latency_delta.0,
            r.latency_delta.1,
            r.latency_delta.2,
            r.latency_delta.3,
        );
    }
}
