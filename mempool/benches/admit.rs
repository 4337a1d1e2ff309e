//! Mempool admissions per second.
//!
//! `cargo bench -p maat-mempool --bench admit`
//!
//! - `admit/certificate`: a `maat-v1` certificate transaction like `examples/checkout` (Ed25519
//!   envelope, seven Ed25519-signed evidence objects): size, dedup, decode (protobuf and
//!   certificate JSON), quota, envelope signature, the full checker at the committed state.
//!   16 submitters, 4 consecutive nonces each, into an empty pool per batch.
//! - `admit/identity_op`: a register operation (envelope signature, state checks).
//! - `admit/duplicate certificate`: a copy of a pending certificate (what gossip delivers
//!   most), refused before decoding.
//! - `select_batch + apply_block_with + on_commit/64 certificates`: the proposer's selection,
//!   the block's execution with the pool's known signatures, and the commit's
//!   removal of the same 64 certificates.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::{ADMIN, Chain, register_body};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use maat_crypto::sig::Algorithm;
use maat_mempool::{Mempool, MempoolConfig};

const SUBMITTERS: usize = 16;
const PER_SUBMITTER: u64 = 4;

fn setup() -> (Chain, Vec<Vec<u8>>) {
    let mut c = Chain::new();
    let ids: Vec<String> = (0..SUBMITTERS).map(|i| format!("ci-{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    c.setup_checkout(&refs);
    let mut txs = Vec::new();
    for n in 0..PER_SUBMITTER {
        for id in &ids {
            let nonce = c.next_nonce(id) + n;
            txs.push(c.certificate_tx(id, nonce, &format!("deploy-{id}-{n}")));
        }
    }
    (c, txs)
}

fn config(c: &Chain) -> MempoolConfig {
    MempoolConfig {
        max_txs: 100_000,
        max_bytes: 1 << 30,
        max_txs_per_submitter: 10_000,
        max_bytes_per_submitter: 1 << 28,
        ..MempoolConfig::for_chain(c.ledger.params())
    }
}

fn admit_all(pool: &mut Mempool, c: &Chain, txs: &[Vec<u8>]) {
    for tx in txs {
        let admitted = pool.admit(black_box(tx), &c.state, c.time_ms);
        assert!(admitted.is_ok(), "{admitted:?}");
    }
}

fn admissions(cr: &mut Criterion) {
    let (c, certs) = setup();
    let mean = certs.iter().map(Vec::len).sum::<usize>() / certs.len();
    eprintln!(
        "certificate transactions: {} of {mean} bytes on average",
        certs.len()
    );

    let mut g = cr.benchmark_group("admit");
    g.throughput(Throughput::Elements(certs.len() as u64));
    g.bench_function("certificate", |b| {
        b.iter_batched(
            || c.mempool(Some(config(&c))),
            |mut pool| admit_all(&mut pool, &c, &certs),
            BatchSize::LargeInput,
        );
    });

    let mut c2 = Chain::with(maat_ledger::ChainParams::default(), 1);
    let ops: Vec<Vec<u8>> = (0..64u64)
        .map(|i| {
            let key = c2.new_key(Algorithm::Ed25519);
            c2.tx(
                ADMIN,
                i + 1,
                register_body(&format!("user-{i}"), &key, 1, 8),
            )
        })
        .collect();
    g.throughput(Throughput::Elements(ops.len() as u64));
    g.bench_function("identity_op", |b| {
        b.iter_batched(
            || c2.mempool(Some(config(&c2))),
            |mut pool| admit_all(&mut pool, &c2, &ops),
            BatchSize::LargeInput,
        );
    });

    let mut full = c.mempool(Some(config(&c)));
    admit_all(&mut full, &c, &certs);
    g.throughput(Throughput::Elements(certs.len() as u64));
    g.bench_function("duplicate certificate", |b| {
        b.iter(|| {
            for tx in &certs {
                assert!(full.admit(black_box(tx), &c.state, c.time_ms).is_err());
            }
        });
    });
    g.finish();

    let mut g = cr.benchmark_group("select_batch + apply_block_with + on_commit");
    g.throughput(Throughput::Elements(certs.len() as u64));
    g.bench_function("64 certificates", |b| {
        b.iter_batched(
            || {
                let mut pool = c.mempool(Some(config(&c)));
                admit_all(&mut pool, &c, &certs);
                pool
            },
            |mut pool| {
                let batch = pool
                    .select_batch(usize::MAX, usize::MAX, &c.state, c.time_ms)
                    .expect("state");
                assert_eq!(batch.txs.len(), certs.len());
                let outcome = c
                    .ledger
                    .apply_block_with(&c.state, c.time_ms, &batch.txs, &c.log, &pool)
                    .expect("valid");
                let mut state = c.state.clone();
                state.apply(&outcome.writes);
                pool.on_commit(&outcome, &state, c.time_ms);
                assert!(pool.is_empty());
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(benches, admissions);
criterion_main!(benches);
