//! Compiles `../proto/proto/maat/v1/node_api.proto` with protox (pure Rust, no `protoc` needed),
//! generates the tonic service and prost messages into `OUT_DIR`, and writes the encoded
//! `FileDescriptorSet` the reflection service serves.

use std::path::PathBuf;

use prost::Message;

const PROTO: &str = "../proto/proto/maat/v1/node_api.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO}");
    let fds = protox::compile([PROTO], ["../proto/proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("node_api_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .out_dir(&out)
        .compile_fds(fds)?;
    Ok(())
}
