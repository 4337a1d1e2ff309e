//! Offline verification of a finality proof (`maat proof verify`), for 4 and 10 ML-DSA-65
//! validators, each QC carrying the 2f+1 signatures of a quorum (3 of 4, 7 of 10). The proof is
//! the synthetic but fully real one of `tests/common/finality_fixture.rs`: a 7-entry log, an
//! anchor block, its child one round later and the child's QC.
//!
//! - `verify/N`: `FinalityProof::verify` with `ChainKeys` built from the genesis every time, as
//!   the CLI does for one proof;
//! - `verify_with_keys/N`: `FinalityProof::verify_with`, keys built once (a verifier of many);
//! - `parse_json_and_verify/N`: the proof's JSON text parsed, then `verify`.
//!
//! The proof's size (canonical bytes: tx + header + child header + child QC + 32 bytes per path
//! entry; and its JSON length) is printed once per N.
//! Run: `cargo bench -p maat-ledger --bench finality`.

#[path = "../tests/common/finality_fixture.rs"]
mod fixture;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fixture::Fixture;
use maat_ledger::finality::FinalityProof;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("finality_proof");
    group.sample_size(50);
    for n in [4usize, 10] {
        let f = Fixture::new(n);
        let proof = f.proof();
        let genesis = &f.chain.genesis;
        let fin = proof.verify(genesis).expect("the bench proof is valid");
        let json = serde_json::to_string(&proof).expect("serialize");
        let canonical = proof.tx.len()
            + proof.header.len()
            + proof.child_header.len()
            + proof.child_qc.len()
            + 32 * proof.inclusion_path.len();
        eprintln!(
            "finality proof, {n} validators, {} signatures per QC: canonical {canonical} bytes \
             (tx {}, header {}, child_header {}, child_qc {}, path {}x32), JSON {} bytes \
             (pretty {})",
            fin.signers.len(),
            proof.tx.len(),
            proof.header.len(),
            proof.child_header.len(),
            proof.child_qc.len(),
            proof.inclusion_path.len(),
            json.len(),
            serde_json::to_string_pretty(&proof)
                .expect("serialize")
                .len(),
        );

        group.bench_function(format!("verify/{n}"), |b| {
            b.iter(|| black_box(&proof).verify(genesis).expect("valid"))
        });
        group.bench_function(format!("verify_with_keys/{n}"), |b| {
            b.iter(|| {
                black_box(&proof)
                    .verify_with(genesis, &f.chain.keys)
                    .expect("valid")
            })
        });
        group.bench_function(format!("parse_json_and_verify/{n}"), |b| {
            b.iter(|| {
                serde_json::from_str::<FinalityProof>(black_box(&json))
                    .expect("json")
                    .verify(genesis)
                    .expect("valid")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
