//! Interoperability: a generic gRPC client in another language (Python `grpcio` with
//! `grpcio-reflection`, no generated stubs) lists the services through reflection, builds the
//! request from the served descriptors and calls `Status`. Fails (does not skip) when the
//! Python modules are missing: `.ci/run` installs them.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;
use maat_rpc::{GrpcServer, RpcLimits};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_reflection_client_calls_status() {
    let server = GrpcServer::start(localhost(), FakeNode::new(1), RpcLimits::default())
        .await
        .expect("start");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/grpc_reflection.py");
    let child = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(server.local_addr().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the script finishes within 60 s")
        .expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}); python3 needs grpcio and grpcio-reflection (see .ci/run)\n\
         stdout:\n{stdout}\nstderr:\n{stderr}",
        script.display(),
        out.status
    );
    for line in [
        "service: maat.node.v1.NodeApi",
        "service: grpc.health.v1.Health",
        "chain_id: maat-test",
        "height: 1",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no `{line}` in:\n{stdout}"
        );
    }
    server.stop().await;
}
