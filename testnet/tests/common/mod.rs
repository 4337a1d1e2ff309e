//! Shared by the testnet crate's integration tests: run `maat-testnet` (and `maat`) as a user
//! does, in a temp directory whose nodes are stopped when the test ends.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_maat-testnet");

pub fn maatd() -> PathBuf {
    let p = Path::new(BIN).with_file_name("maatd");
    assert!(
        p.is_file(),
        "{} is missing: `cargo test --workspace` builds it, or run `cargo build --bin maatd`",
        p.display()
    );
    p
}

pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("MAATD", maatd())
        .env_remove("MAAT_TESTNET_DIR")
        .output()
        .expect("run maat-testnet")
}

pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "maat-testnet {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A testnet directory whose nodes are stopped (and the directory removed) when the test ends,
/// also when it fails.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::Builder::new()
                .prefix("maat-testnet-it-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &str {
        self.tmp.path().to_str().expect("utf-8 temp path")
    }

    /// `init` on a free port range: a random base, retried while the range is taken.
    pub fn init(&self, extra: &[&str]) {
        for attempt in 0..20 {
            // 400-port ranges below the ephemeral range (32768..), apart for parallel tests.
            let base = 20_000 + (rand_u16() % 30) * 400;
            let base = base.to_string();
            let mut args = vec!["init", "--dir", self.path(), "--base-port", &base];
            args.extend_from_slice(extra);
            let out = run(&args);
            if out.status.success() {
                return;
            }
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("in use"), "init failed: {err}");
            assert!(attempt < 19, "no free port range: {err}");
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if self.tmp.path().join("testnet.json").exists() {
            let _ = run(&["down", "--dir", self.path(), "--grace", "5"]);
        }
        if std::thread::panicking() {
            for entry in std::fs::read_dir(self.tmp.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let log = entry.path().join("maatd.log");
                if let Ok(text) = std::fs::read_to_string(&log) {
                    let lines: Vec<&str> = text.lines().collect();
                    eprintln!(
                        "---- {} (tail) ----\n{}",
                        log.display(),
                        lines[lines.len().saturating_sub(30)..].join("\n")
                    );
                }
            }
        }
    }
}

pub fn rand_u16() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.subsec_nanos() ^ std::process::id()) as u16
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The `maat` CLI built next to `maat-testnet`.
pub fn maat_bin() -> PathBuf {
    let p = Path::new(BIN).with_file_name("maat");
    assert!(
        p.is_file(),
        "{} is missing: `cargo test --workspace` builds it",
        p.display()
    );
    p
}

/// Runs `maat` with `args`; returns its exit code and standard output.
pub fn maat(args: &[&str]) -> (i32, String) {
    let out = Command::new(maat_bin())
        .args(args)
        .env_remove("MAAT_NODE")
        .output()
        .expect("run maat");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        eprintln!(
            "maat {args:?} exited {}:\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (out.status.code().unwrap_or(-1), stdout)
}
