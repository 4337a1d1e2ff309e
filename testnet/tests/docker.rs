//! The Docker files, checked without a Docker engine: `docker/compose.yaml` is what
//! `maat-testnet compose` generates, `docker-compose config` accepts it, and the bootstrap
//! addresses in it are the peer ids the Compose `init` service's command really produces.
//! (The Dockerfile's build step, `docker/build.sh`, runs in `.ci/run` after the tests.)

use std::path::Path;
use std::process::Command;

use maat_testnet::compose::{self, ComposeSpec};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

#[test]
fn compose_file_is_generated_and_current() {
    let kept = std::fs::read_to_string(repo().join("docker/compose.yaml")).expect("compose.yaml");
    let generated = compose::render(&ComposeSpec::default()).expect("render");
    assert!(
        kept == generated,
        "docker/compose.yaml is stale: regenerate it with \
         `maat-testnet compose --validators 4 --full-nodes 1 --out docker/compose.yaml`"
    );
    assert_eq!(kept.matches("\n  node").count(), 4);
    assert_eq!(kept.matches("\n  full").count(), 1);
}

#[test]
fn docker_compose_config_accepts_it() {
    let out = Command::new("docker-compose")
        .args(["-f", "docker/compose.yaml", "config", "-q"])
        .current_dir(repo())
        .output()
        .expect(
            "docker-compose is not installed (Debian package `docker-compose`; .ci/run installs it)",
        );
    assert!(
        out.status.success(),
        "docker-compose config rejects docker/compose.yaml:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compose_bootstrap_peers_are_what_init_generates() {
    let spec = ComposeSpec::default();
    let yaml = compose::render(&spec).expect("render");
    // Run the init service's command (the image's maat-testnet) outside Docker.
    let dir = tempfile::tempdir().expect("temp dir");
    let testnet = dir.path().join("testnet");
    let mut out = None;
    for base in (30_000u16..60_000).step_by(1_000) {
        let o = Command::new(env!("CARGO_BIN_EXE_maat-testnet"))
            .args([
                "init",
                "--dir",
                testnet.to_str().unwrap(),
                "--validators",
                &spec.validators.to_string(),
                "--full-nodes",
                &spec.full_nodes.to_string(),
                "--chain-id",
                &spec.chain_id,
                "--seed",
                &hex::encode(spec.seed),
                "--base-port",
                &base.to_string(),
            ])
            .output()
            .expect("maat-testnet init");
        // Init refuses a port range in use; any free one will do (nothing is started).
        if o.status.success() || !String::from_utf8_lossy(&o.stderr).contains("in use") {
            out = Some(o);
            break;
        }
    }
    let out = out.expect("a free port range");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testnet.join("testnet.json")).expect("manifest"),
    )
    .expect("manifest JSON");
    let nodes = manifest["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), spec.validators + spec.full_nodes);
    for (i, n) in nodes.iter().take(2).enumerate() {
        let addr = format!(
            "/ip4/172.28.0.{}/tcp/26656/p2p/{}",
            10 + i,
            n["peer_id"].as_str().unwrap()
        );
        assert!(yaml.contains(&addr), "compose lacks {addr}");
    }
    assert_eq!(nodes.last().unwrap()["role"], "full_node");
}
