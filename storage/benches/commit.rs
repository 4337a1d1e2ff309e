//! Commit throughput and bytes on disk per certificate.
//!
//! `cargo bench -p maat-storage --bench commit` commits `MAAT_BENCH_BLOCKS` (default 200)
//! blocks of 100 certificate-sized transactions with synced write batches, then compacts and
//! measures the database. Each transaction is 4,800 random (incompressible) bytes, the size of
//! the `examples/checkout` certificate; `MAAT_BENCH_CERT=cert.json` uses that certificate's
//! JSON instead (made unique per transaction), to see what compression gains on real ones.
//!
//! Per block it also writes what the node will: an application header, the parent QC inside the
//! block and the block's own QC (three ML-DSA-65 signatures each, for four validators), a
//! deployment index entry and a `(service, environment)` entry per certificate, a deployment
//! record and a nonce in the state, and one transparency-log leaf per transaction.

use std::path::Path;
use std::time::Instant;

use maat_crypto::merkle::leaf_hash;
use maat_crypto::sha256;
use maat_storage::{CommitBatch, CommittedTx, Store, StoreOptions};
use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};

const TXS_PER_BLOCK: usize = 100;
const CERT_SIZE: usize = 4_800;
/// ML-DSA-65 signature bytes (FIPS 204).
const MLDSA_SIG: usize = 3_309;
/// Signatures in a QC of four validators (2f + 1, f = 1).
const QC_SIGS: usize = 3;

fn random(rng: &mut StdRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn certificate(rng: &mut StdRng, template: Option<&[u8]>, height: u64, pos: usize) -> Vec<u8> {
    match template {
        None => random(rng, CERT_SIZE),
        Some(t) => {
            // The real certificate with a unique deployment id and a fresh 64-byte signature
            // around it, as a transaction envelope would carry.
            let text = String::from_utf8_lossy(t)
                .replace("deploy-123", &format!("deploy-{height:06}-{pos:03}"));
            let mut v = text.into_bytes();
            v.extend_from_slice(&random(rng, 64));
            v
        }
    }
}

fn make_batch(rng: &mut StdRng, template: Option<&[u8]>, height: u64, log: u64) -> CommitBatch {
    let mut block = random(rng, 200); // header fields, tx root, log root
    block.extend_from_slice(&random(rng, QC_SIGS * MLDSA_SIG + 100)); // parent QC
    let mut txs = Vec::with_capacity(TXS_PER_BLOCK);
    let mut state_changes = Vec::with_capacity(2 * TXS_PER_BLOCK);
    for p in 0..TXS_PER_BLOCK {
        let bytes = certificate(rng, template, height, p);
        block.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        block.extend_from_slice(&bytes);
        let dep = format!("deploy-{height:06}-{p:03}");
        state_changes.push((
            format!("deployment/{dep}").into_bytes(),
            Some(random(rng, 160)),
        ));
        state_changes.push((
            format!("nonce/ci-bot-{}", p % 10).into_bytes(),
            Some(height.to_be_bytes().to_vec()),
        ));
        txs.push(CommittedTx {
            tx_id: sha256(&bytes),
            log_index: log + p as u64,
            deployment_id: Some(dep),
            service_env: Some((format!("service-{}", p % 20), "production".into())),
            audit_record: None,
            subjects: Vec::new(),
            tx_bytes: bytes,
        });
    }
    CommitBatch {
        height,
        block_id: sha256(&block),
        log_leaves: txs.iter().map(|t| leaf_hash(&t.tx_bytes)).collect(),
        block_bytes: block,
        commit_qc_bytes: random(rng, QC_SIGS * MLDSA_SIG + 100),
        txs,
        state_changes,
        remove_pending: Vec::new(),
        finality: None,
    }
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let blocks: u64 = std::env::var("MAAT_BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let template = std::env::var("MAAT_BENCH_CERT")
        .ok()
        .map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}")));
    let mut rng = StdRng::seed_from_u64(42);
    let dir = match std::env::var("MAAT_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d),
        Err(_) => tempfile::tempdir(),
    }
    .expect("temp dir");
    let store = Store::open(dir.path(), &StoreOptions::new([0x42; 32])).expect("open");

    let mut log = 0;
    let batches: Vec<CommitBatch> = (0..blocks)
        .map(|h| {
            let b = make_batch(&mut rng, template.as_deref(), h, log);
            log += b.txs.len() as u64;
            b
        })
        .collect();
    let tx_bytes: u64 = batches
        .iter()
        .flat_map(|b| &b.txs)
        .map(|t| t.tx_bytes.len() as u64)
        .sum();
    let n_txs = blocks * TXS_PER_BLOCK as u64;

    let mut latencies = Vec::with_capacity(batches.len());
    let start = Instant::now();
    for b in &batches {
        let t = Instant::now();
        store.commit(b).expect("commit");
        latencies.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let secs = elapsed.as_secs_f64();
    println!(
        "tx kind: {}",
        if template.is_some() {
            "certificate JSON template"
        } else {
            "random 4800 B"
        }
    );
    println!(
        "{blocks} synced commits of {TXS_PER_BLOCK} txs ({:.1} MB of txs) in {secs:.2} s",
        tx_bytes as f64 / 1e6
    );
    println!(
        "  {:.1} commits/s, {:.0} certificates/s, {:.1} MB/s of txs; commit latency p50 {:?} \
         p99 {:?} max {:?}",
        blocks as f64 / secs,
        n_txs as f64 / secs,
        tx_bytes as f64 / 1e6 / secs,
        pct(0.5),
        pct(0.99),
        pct(1.0),
    );

    store.verify_full().expect("verify");
    store.compact().expect("compact");
    let usage = store.disk_usage().expect("usage");
    let avg_tx = tx_bytes as f64 / n_txs as f64;
    println!("after compaction (average certificate tx {avg_tx:.0} B):");
    for (cf, bytes) in &usage.per_cf {
        if *bytes > 0 {
            println!(
                "  {cf:<16} {:>12} B  {:>8.1} B/cert",
                bytes,
                *bytes as f64 / n_txs as f64
            );
        }
    }
    let sst = usage.sst_total();
    let per_cert = sst as f64 / n_txs as f64;
    println!(
        "  SST total        {sst:>12} B  {per_cert:>8.1} B/cert = {:.3} x the certificate tx",
        per_cert / avg_tx
    );
    let all = dir_size(dir.path());
    println!(
        "  whole directory  {all:>12} B  {:>8.1} B/cert = {:.3} x (WAL, MANIFEST, LOG files \
         included; memtables {} B)",
        all as f64 / n_txs as f64,
        all as f64 / n_txs as f64 / avg_tx,
        usage.memtable_bytes
    );
}
