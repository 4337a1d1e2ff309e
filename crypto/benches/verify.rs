//! Signature and Merkle log costs on the validators' hot path.
//!
//! `cargo bench -p maat-crypto --bench verify`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use maat_crypto::merkle::{MerkleLog, leaf_hash, verify_inclusion};
use maat_crypto::sig::{Algorithm, KeyPair, PublicKey};

const DOMAIN: &[u8] = b"maat/bench/v1\n";

fn signatures(c: &mut Criterion) {
    let msg = [0x42u8; 100];
    for alg in Algorithm::ALL {
        let kp = KeyPair::from_seed(alg, &[7; 32]);
        let pk = kp.public();
        let sig = kp.sign(DOMAIN, &msg);
        pk.verify(DOMAIN, &msg, &sig).expect("valid signature");

        c.bench_function(&format!("{alg}/verify (cached key)"), |b| {
            b.iter(|| pk.verify(black_box(DOMAIN), black_box(&msg), black_box(&sig)))
        });
        // What a verifier pays without the cache: decode (and for ML-DSA expand) the key.
        c.bench_function(&format!("{alg}/parse key + verify"), |b| {
            b.iter(|| {
                let pk = PublicKey::from_bytes(alg, black_box(pk.as_bytes())).expect("key");
                pk.verify(DOMAIN, &msg, &sig)
            })
        });
        c.bench_function(&format!("{alg}/sign"), |b| {
            b.iter(|| kp.sign(black_box(DOMAIN), black_box(&msg)))
        });
        c.bench_function(&format!("{alg}/keypair from seed"), |b| {
            b.iter(|| KeyPair::from_seed(alg, black_box(&[9; 32])))
        });
    }
}

fn merkle(c: &mut Criterion) {
    const N: u64 = 100_000;
    let mut log = MerkleLog::new();
    for i in 0..N {
        log.append(&i.to_be_bytes()).expect("append");
    }
    let root = log.root();

    // Appends keep growing this copy; the cost per append does not depend on the size.
    let mut growing = MerkleLog::open(log.store().clone()).expect("open");
    c.bench_function("merkle/append 1 leaf (100k+ log)", |b| {
        b.iter(|| growing.append(black_box(b"tx bytes")))
    });
    c.bench_function("merkle/inclusion proof (100k log)", |b| {
        b.iter(|| log.inclusion_proof(black_box(31_337), N))
    });
    c.bench_function("merkle/consistency proof (100k log)", |b| {
        b.iter(|| log.consistency_proof(black_box(65_537), N))
    });
    let proof = log.inclusion_proof(31_337, N).expect("proof");
    let leaf = leaf_hash(&31_337u64.to_be_bytes());
    c.bench_function("merkle/verify inclusion (100k log)", |b| {
        b.iter(|| verify_inclusion(black_box(&leaf), 31_337, N, &proof, &root))
    });
}

criterion_group!(benches, signatures, merkle);
criterion_main!(benches);
