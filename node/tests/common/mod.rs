//! A local network of real `maatd` processes on 127.0.0.1 for the integration tests: generated
//! genesis and homes in a temp dir, free ports, start / SIGKILL / SIGTERM, JSON-RPC and
//! metrics clients, and the committed chains read back from each node's RocksDB.
//!
//! Every process is killed and every directory removed when the [`Testnet`] drops, also when
//! a test fails (then the tail of each node's log is printed).

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use maat_crypto::keyfile::load_key_file;
use maat_crypto::sig::KeyPair;
use maat_ledger::{ChainParams, Genesis};
use maat_node::home::{self, TestnetOptions};
use maat_rpc::NodeStatus;
use maat_sdk::client::NodeClient;
use maat_storage::{Store, StoreOptions};
use tempfile::TempDir;

/// Upper bound for anything a test waits for: a failure guard on a shared, noisy machine,
/// not a performance assertion.
pub const PATIENCE: Duration = Duration::from_secs(300);

pub struct Node {
    pub index: usize,
    pub home: PathBuf,
    pub p2p_port: u16,
    pub rpc_port: u16,
    pub grpc_port: u16,
    pub metrics_port: u16,
    pub peer_id: String,
    pub bootstrap: String,
    /// Extra `maatd start` arguments (fault injection).
    pub extra: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

impl Node {
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    pub fn grpc_url(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.grpc_port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "node {} already runs", self.index);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_maatd"))
            .arg("start")
            .arg("--home")
            .arg(&self.home)
            .args([
                "--p2p-listen",
                &format!("/ip4/127.0.0.1/tcp/{}", self.p2p_port),
            ])
            .args(["--rpc-listen", &format!("127.0.0.1:{}", self.rpc_port)])
            .args(["--grpc-listen", &format!("127.0.0.1:{}", self.grpc_port)])
            .args([
                "--metrics-listen",
                &format!("127.0.0.1:{}", self.metrics_port),
            ])
            .args(["--bootstrap", &self.bootstrap])
            // The tests query hard from one address; the per-client rate limit is tested in
            // maat-rpc's own tests.
            .args([
                "--set",
                "rpc.rate_per_sec=1000000",
                "--set",
                "rpc.burst=1000000",
            ])
            .args(&self.extra)
            .env(
                "RUST_LOG",
                std::env::var("MAAT_TESTNET_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn maatd");
        self.child = Some(child);
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("node not running");
        // The shell's builtin `kill`: no dependency on procps being installed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", c.id())])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        c.wait().expect("wait for maatd")
    }

    /// Panics (with the log) if the process exited on its own.
    pub fn assert_alive(&mut self) {
        if let Some(c) = self.child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            panic!(
                "node {} exited with {status}:\n{}",
                self.index,
                tail(&self.log, 60)
            );
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /metrics` over a plain socket.
    pub fn metrics(&self) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.metrics_port)).expect("metrics port");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        write!(s, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("request");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("response");
        out
    }

    /// A metric's value (first sample whose name matches exactly), 0 if absent.
    pub fn metric(&self, name: &str) -> f64 {
        let text = self.metrics();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                let (n, v) = l.split_once(' ')?;
                (n == name).then(|| v.trim().parse().ok()).flatten()
            })
            .unwrap_or(0.0)
    }

    /// The committed chain in this node's database (node stopped): block bytes by height.
    pub fn committed_chain(&self, genesis: &Genesis) -> Vec<Vec<u8>> {
        let store = Store::open(self.home.join("data"), &StoreOptions::new(genesis.hash()))
            .expect("open the node's store");
        let head = store.meta().expect("meta").expect("a committed head");
        (0..=head.height)
            .map(|h| store.block(h).expect("read").expect("block present").bytes)
            .collect()
    }
}

pub struct Testnet {
    pub dir: TempDir,
    pub nodes: Vec<Node>,
    pub genesis: Genesis,
    pub admin: KeyPair,
}

fn free_ports(n: usize) -> Vec<u16> {
    // Hold all listeners at once so the ports are distinct; the OS does not hand them out
    // again soon after they close.
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

fn tail(path: &PathBuf, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Testnet {
    /// `n` validator homes sharing a generated genesis (1 s initial round timeout, 250 ms
    /// empty-block interval), every node bootstrapping from node 0 (node 0 from node 1).
    pub fn generate(n: usize) -> Testnet {
        Self::generate_with(n, |_| {})
    }

    /// As [`Self::generate`], with the genesis parameters adjusted by `tweak`.
    pub fn generate_with(n: usize, tweak: impl FnOnce(&mut ChainParams)) -> Testnet {
        let dir = tempfile::Builder::new()
            .prefix("maat-it-")
            .tempdir()
            .expect("temp dir");
        let mut params = ChainParams::default();
        params.timeouts.initial_round_ms = 1_000;
        params.timeouts.max_round_ms = 8_000;
        params.empty_block_interval_ms = 250;
        tweak(&mut params);
        let seed = *blake3::hash(dir.path().to_string_lossy().as_bytes()).as_bytes();
        let (homes, genesis) = home::testnet(
            dir.path(),
            &TestnetOptions {
                validators: n,
                chain_id: "maat-it-1".into(),
                seed,
                genesis_time_ms: home::now_ms() - 60_000,
                params,
                // Ports in the files are placeholders; `start` passes the real ones as flags.
                p2p_base_port: 1,
                rpc_base_port: 1,
                grpc_base_port: 1,
                metrics_base_port: 1,
            },
        )
        .expect("testnet homes");
        let ports = free_ports(4 * n);
        let mut nodes: Vec<Node> = homes
            .into_iter()
            .enumerate()
            .map(|(i, h)| Node {
                index: i,
                log: dir.path().join(format!("node{i}.log")),
                home: h.home,
                p2p_port: ports[4 * i],
                rpc_port: ports[4 * i + 1],
                grpc_port: ports[4 * i + 2],
                metrics_port: ports[4 * i + 3],
                peer_id: h.peer_id,
                bootstrap: String::new(),
                extra: Vec::new(),
                child: None,
            })
            .collect();
        for i in 0..n {
            let b = if i == 0 { 1 % n } else { 0 };
            nodes[i].bootstrap = format!(
                "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                nodes[b].p2p_port, nodes[b].peer_id
            );
        }
        let admin = load_key_file(dir.path().join("admin.json"))
            .expect("admin key")
            .key_pair;
        Testnet {
            dir,
            nodes,
            genesis,
            admin,
        }
    }

    /// Adds a full node: a home made by `maatd init --genesis` (fresh keys, not in the validator
    /// set) for this network's genesis, bootstrapping from node 0. Returns its index.
    pub fn add_full_node(&mut self) -> usize {
        let index = self.nodes.len();
        let home_dir = self.dir.path().join(format!("full{index}"));
        // The very file the validators use (the chain's identity is its hash).
        let genesis_file = self.nodes[0].home.join("genesis.json");
        home::init(
            &home_dir,
            &home::InitOptions {
                genesis: Some(genesis_file),
                chain_id: self.genesis.chain_id().to_owned(),
                config: maat_node::config::NodeConfig::default(),
            },
        )
        .expect("full node home");
        let p2p = load_key_file(home_dir.join("keys/p2p.json"))
            .expect("p2p key")
            .key_pair;
        let mut ed = [0u8; 32];
        ed.copy_from_slice(p2p.public().as_bytes());
        let ports = free_ports(4);
        let bootstrap = format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            self.nodes[0].p2p_port, self.nodes[0].peer_id
        );
        self.nodes.push(Node {
            index,
            log: self.dir.path().join(format!("node{index}.log")),
            home: home_dir,
            p2p_port: ports[0],
            rpc_port: ports[1],
            grpc_port: ports[2],
            metrics_port: ports[3],
            peer_id: maat_ledger::genesis::peer_id_from_ed25519(&ed),
            bootstrap,
            extra: Vec::new(),
            child: None,
        });
        index
    }

    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.start();
        }
    }

    pub async fn client(&self, i: usize) -> NodeClient {
        NodeClient::connect(&self.nodes[i].rpc_url()).expect("rpc client")
    }

    /// Polls node `i`'s status until `pred` holds (the other process gives no event to await).
    pub async fn wait_status(
        &mut self,
        i: usize,
        what: &str,
        pred: impl Fn(&NodeStatus) -> bool,
    ) -> NodeStatus {
        let client = self.client(i).await;
        let start = std::time::Instant::now();
        loop {
            self.nodes[i].assert_alive();
            if let Ok(s) = client.status().await
                && pred(&s)
            {
                return s;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "node {i}: gave up waiting for {what}:\n{}",
                tail(&self.nodes[i].log, 40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_ready(&mut self, i: usize) -> NodeStatus {
        self.wait_status(i, "RPC to answer", |_| true).await
    }

    pub async fn wait_height(&mut self, i: usize, height: u64) -> NodeStatus {
        self.wait_status(i, &format!("height {height}"), |s| s.height >= height)
            .await
    }

    /// Panics unless node `node` reports every transaction finalized.
    pub async fn assert_all_finalized(&self, node: usize, ids: &[maat_proto::TxId]) {
        let client = self.client(node).await;
        for id in ids {
            match client.tx_status(*id).await.expect("getTx") {
                maat_rpc::TxStatus::Finalized { .. } => {}
                other => panic!("{} is {other:?} on node {node}", id.to_hex()),
            }
        }
    }

    pub fn running(&self) -> Vec<usize> {
        self.nodes
            .iter()
            .filter(|n| n.is_running())
            .map(|n| n.index)
            .collect()
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
        if std::thread::panicking() {
            for n in &self.nodes {
                eprintln!(
                    "---- node {} log (tail) ----\n{}",
                    n.index,
                    tail(&n.log, 40)
                );
            }
        }
        // For debugging a run: keep the homes and logs.
        if std::env::var_os("MAAT_TESTNET_KEEP").is_some() {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            eprintln!("kept {}", kept.keep().display());
        }
    }
}
