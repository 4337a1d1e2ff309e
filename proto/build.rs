//! Compiles `proto/maat/v1/*.proto` with protox (pure Rust, no `protoc` needed) and generates
//! the prost code into `OUT_DIR`.

use std::path::PathBuf;

const FILES: [&str; 4] = [
    "proto/maat/v1/common.proto",
    "proto/maat/v1/tx.proto",
    "proto/maat/v1/ledger.proto",
    "proto/maat/v1/genesis.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for f in FILES {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(FILES, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    prost_build::Config::new().out_dir(&out).compile_fds(fds)?;
    Ok(())
}
