//! Throughput of the `maatproof-v1` checker on vector 002 (the reference fixture with float
//! freshness), parsing included. Target: >= 68,000 certificates/s on one core (~14.7 us each).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maat_certificate::json::{self, ParseMode, to_json_string};
use maat_certificate::maatproof_v1::{self as mp, Checker, CheckerConfig};

/// The `certificate` member of the vector file exactly as stored (pretty-printed), found by
/// bracket matching (strings in the fixture contain no brackets or escaped quotes).
fn raw_member<'a>(file: &'a [u8], key: &str) -> &'a [u8] {
    let needle = format!("\"{key}\": ");
    let start = file
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("member")
        + needle.len();
    let (mut depth, mut in_str, mut end) = (0usize, false, start);
    for (i, &c) in file[start..].iter().enumerate() {
        match (in_str, c) {
            (true, b'"') => in_str = false,
            (true, _) => {}
            (false, b'"') => in_str = true,
            (false, b'{' | b'[') => depth += 1,
            (false, b'}' | b']') => {
                depth -= 1;
                if depth == 0 {
                    end = start + i + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    &file[start..end]
}

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/maatproof/002_valid_float_freshness.json");
    let raw = std::fs::read(path).expect("vector 002");
    let v = json::parse(&raw, ParseMode::Python).expect("vector parses");
    let config =
        CheckerConfig::from_vector_json(v.get("checker").expect("checker")).expect("config");
    // As a producer would send it: compact JSON in the vector's member order (4,970 bytes).
    let compact = to_json_string(v.get("certificate").expect("certificate")).into_bytes();
    // As stored in the vector file: indented (more whitespace to skip).
    let pretty = raw_member(&raw, "certificate").to_vec();

    let checker = Checker::new(config.clone()).expect("valid config");
    for bytes in [&compact, &pretty] {
        let r = checker.check(bytes);
        assert!(r.accepted, "vector 002 must be accepted: {:?}", r.failures);
    }
    let mut g = c.benchmark_group("maatproof_v1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("check_002_compact", |b| {
        b.iter(|| checker.check(black_box(&compact)))
    });
    g.bench_function("check_002_pretty", |b| {
        b.iter(|| checker.check(black_box(&pretty)))
    });
    g.bench_function("check_002_compact_oneshot_config", |b| {
        b.iter(|| mp::check(black_box(&compact), &config))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
