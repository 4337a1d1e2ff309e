//! Throughput of the `maatproof-v1` checker on vector 002 (the reference fixture with float
//! freshness), parsing included. Target: >= 68,000 certificates/s on one core (~14.7 us each).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maat_certificate::json::{self, ParseMode, to_json_string};
use maat_certificate::maatproof_v1::{self as mp, Checker, CheckerConfig};

fn vector_002() -> (CheckerConfig, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/maatproof/002_valid_float_freshness.json");
    let raw = std::fs::read(path).expect("vector 002");
    let v = json::parse(&raw, ParseMode::Python).expect("vector parses");
    let config = CheckerConfig::from_vector_json(v.get("checker").expect("checker")).expect("config");
    // The certificate as a producer would send it: compact JSON in the vector's member order.
    let cert = to_json_string(v.get("certificate").expect("certificate")).into_bytes();
    (config, cert)
}

fn bench(c: &mut Criterion) {
    let (config, cert) = vector_002();
    let checker = Checker::new(config.clone()).expect("valid config");
    assert!(checker.check(&cert).accepted, "vector 002 must be accepted");
    let mut g = c.benchmark_group("maatproof_v1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("check_002_prekeyed", |b| b.iter(|| checker.check(black_box(&cert))));
    g.bench_function("check_002_oneshot", |b| b.iter(|| mp::check(black_box(&cert), &config)));
    g.bench_function("parse_002", |b| {
        b.iter(|| json::parse(black_box(&cert), ParseMode::Python))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
