//! Profiling harness for the `maatproof-v1` checker (kept for performance work; the criterion
//! bench `maatproof_check` gives the throughput figure). It checks vector 002's certificate
//! (compact JSON, parse included) N times and prints the mean wall time:
//!
//! ```text
//! cargo build --release -p maat-certificate --example maatproof_profile
//! valgrind --tool=callgrind target/release/examples/maatproof_profile 2000
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>
//! ```
//!
//! Divide instruction counts by N (a run with N=0 gives the setup cost). Under valgrind the CPU
//! reports no SHA extensions, so `sha2` runs its portable compressor there (~660k instructions
//! per check); natively it uses SHA-NI. Read the non-SHA functions from the profile, and wall
//! time (this program, `perf`, criterion) for the SHA share.

use std::hint::black_box;
use std::path::Path;

use maat_certificate::json::{self, ParseMode, to_json_string};
use maat_certificate::maatproof_v1::{Checker, CheckerConfig};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/maatproof/002_valid_float_freshness.json");
    let raw = std::fs::read(path).expect("vector 002");
    let v = json::parse(&raw, ParseMode::Python).expect("vector parses");
    let config =
        CheckerConfig::from_vector_json(v.get("checker").expect("checker")).expect("config");
    let compact = to_json_string(v.get("certificate").expect("certificate")).into_bytes();
    let checker = Checker::new(config).expect("valid config");
    let mut accepted = 0usize;
    let t = std::time::Instant::now();
    for _ in 0..n {
        accepted += usize::from(checker.check(black_box(&compact)).accepted);
    }
    let el = t.elapsed();
    assert_eq!(accepted, n, "vector 002 must be accepted");
    if n > 0 {
        eprintln!(
            "{n} checks, {:.3} us each",
            el.as_secs_f64() * 1e6 / n as f64
        );
    }
}
