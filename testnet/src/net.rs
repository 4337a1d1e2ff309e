//! A testnet directory and the `maatd` processes running from it.
//!
//! ```text
//! <dir>/testnet.json        the manifest: chain, nodes, roles, ports (written by `init`)
//! <dir>/admin.json          the genesis admin key (Ed25519, 0600)
//! <dir>/genesis.json        the chain (every home holds a copy)
//! <dir>/node<i>/            validator homes (`maatd start --home`), `maatd.log`, `maatd.pid`
//! <dir>/full<k>/            full-node homes (keys not in the validator set)
//! ```
//!
//! Processes are started in their own process group (a Ctrl-C in the launcher's terminal does not
//! reach them) with stdout and stderr appended to `<home>/maatd.log`; the pid is in
//! `<home>/maatd.pid`, and a pid counts as this node only while `/proc/<pid>/cmdline` names its
//! home (pids are reused).

use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use maat_ledger::{ChainParams, Genesis};
use maat_node::config::NodeConfig;
use maat_node::home::{self, InitOptions, TestnetOptions};
use maat_rpc::NodeStatus;
use maat_sdk::client::Client;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::TestnetError;

/// The manifest file name in a testnet directory.
pub const MANIFEST: &str = "testnet.json";
/// Ports per node: p2p, JSON-RPC (+ WebSocket), gRPC, metrics, each in its own block of 100.
const PORT_BLOCK: u16 = 100;
/// Most nodes one directory may hold (the port blocks are 100 wide).
pub const MAX_NODES: usize = PORT_BLOCK as usize;

/// What a node does in consensus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Votes and proposes (its key is in the genesis validator set).
    Validator,
    /// Follows, verifies and serves the chain without voting.
    FullNode,
}

impl Role {
    /// `validator` / `full_node`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::FullNode => "full_node",
        }
    }
}

/// One node of the testnet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeEntry {
    /// `node<i>` or `full<k>`: also the home's directory name.
    pub name: String,
    /// Validator or full node.
    pub role: Role,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// p2p port on 127.0.0.1.
    pub p2p_port: u16,
    /// JSON-RPC (HTTP and WebSocket) port.
    pub rpc_port: u16,
    /// gRPC port.
    pub grpc_port: u16,
    /// Prometheus metrics port.
    pub metrics_port: u16,
}

impl NodeEntry {
    /// `http://127.0.0.1:<rpc port>`.
    #[must_use]
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// `ws://127.0.0.1:<rpc port>` (subscriptions).
    #[must_use]
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// `grpc://127.0.0.1:<grpc port>`.
    #[must_use]
    pub fn grpc_url(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.grpc_port)
    }

    /// Its p2p address with `/p2p/<peer id>`.
    #[must_use]
    pub fn p2p_addr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", self.p2p_port, self.peer_id)
    }
}

/// `testnet.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The chain id.
    pub chain_id: String,
    /// The genesis hash (hex).
    pub genesis_hash: String,
    /// First port of the four blocks.
    pub base_port: u16,
    /// Validators first (`node0..`), then full nodes (`full0..`).
    pub nodes: Vec<NodeEntry>,
}

impl Manifest {
    /// The validators' entries.
    pub fn validators(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.iter().filter(|n| n.role == Role::Validator)
    }
}

/// What `maat-testnet init` creates.
#[derive(Clone, Debug)]
pub struct InitSpec {
    /// Number of validators (at least 1).
    pub validators: usize,
    /// Number of full nodes.
    pub full_nodes: usize,
    /// Chain id.
    pub chain_id: String,
    /// Key seed (every validator and admin key derives from it).
    pub seed: [u8; 32],
    /// First port: p2p `base+i`, JSON-RPC `base+100+i`, gRPC `base+200+i`, metrics `base+300+i`.
    pub base_port: u16,
    /// Genesis parameters.
    pub params: ChainParams,
}

impl InitSpec {
    /// Defaults for a local network of `validators`: the chain parameters' defaults, except
    /// a 500 ms empty-block interval so an idle network still finalizes promptly.
    #[must_use]
    pub fn new(validators: usize, seed: [u8; 32]) -> InitSpec {
        let mut params = ChainParams::default();
        params.empty_block_interval_ms = 500;
        InitSpec {
            validators,
            full_nodes: 0,
            chain_id: "maat-testnet-1".into(),
            seed,
            base_port: 26600,
            params,
        }
    }
}

/// A testnet directory (after `init`).
#[derive(Clone, Debug)]
pub struct Testnet {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TestnetError + '_ {
    move |source| TestnetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Every port `init` would use, in order (p2p, rpc, grpc, metrics blocks).
fn ports(base: u16, i: usize) -> Result<[u16; 4], TestnetError> {
    let at = |block: u16| {
        u16::try_from(i)
            .ok()
            .and_then(|i| base.checked_add(block * PORT_BLOCK)?.checked_add(i))
            .ok_or_else(|| {
                TestnetError::Config(format!(
                    "--base-port {base}: the ports of node {i} exceed 65535"
                ))
            })
    };
    Ok([at(0)?, at(1)?, at(2)?, at(3)?])
}

/// Creates `dir` with `spec.validators` validator homes and `spec.full_nodes` full-node homes,
/// every port on 127.0.0.1 checked free now. Refuses a directory that already has a manifest.
///
/// # Errors
/// [`TestnetError`].
pub fn init(dir: &Path, spec: &InitSpec) -> Result<Testnet, TestnetError> {
    let total = spec.validators.saturating_add(spec.full_nodes);
    if spec.validators == 0 {
        return Err(TestnetError::Config(
            "at least one validator is needed".into(),
        ));
    }
    if total > MAX_NODES {
        return Err(TestnetError::Config(format!(
            "{total} nodes; one testnet directory holds at most {MAX_NODES}"
        )));
    }
    if dir.join(MANIFEST).exists() {
        return Err(TestnetError::Config(format!(
            "{} already holds a testnet ({MANIFEST}); `down` it and remove the directory, or use another --dir",
            dir.display()
        )));
    }
    let mut busy = Vec::new();
    for i in 0..total {
        for p in ports(spec.base_port, i)? {
            if TcpListener::bind(("127.0.0.1", p)).is_err() {
                busy.push(p);
            }
        }
    }
    if !busy.is_empty() {
        return Err(TestnetError::Config(format!(
            "ports {busy:?} on 127.0.0.1 are in use; choose another --base-port (this testnet uses base..base+{})",
            3 * PORT_BLOCK + PORT_BLOCK - 1
        )));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // Absolute: a node's process is recognized by its `--home` argument, whatever the
    // working directory of a later command.
    let dir = &std::fs::canonicalize(dir).map_err(io(dir))?;
    let (homes, genesis) = home::testnet(
        dir,
        &TestnetOptions {
            validators: spec.validators,
            chain_id: spec.chain_id.clone(),
            seed: spec.seed,
            genesis_time_ms: home::now_ms(),
            params: spec.params.clone(),
            p2p_base_port: spec.base_port,
            rpc_base_port: spec.base_port + PORT_BLOCK,
            grpc_base_port: spec.base_port + 2 * PORT_BLOCK,
            metrics_base_port: spec.base_port + 3 * PORT_BLOCK,
        },
    )?;
    let genesis_path = dir.join("genesis.json");
    std::fs::write(&genesis_path, genesis.to_json_pretty()).map_err(io(&genesis_path))?;
    let mut nodes = Vec::new();
    for (i, h) in homes.iter().enumerate() {
        let [p2p, rpc, grpc, metrics] = ports(spec.base_port, i)?;
        nodes.push(NodeEntry {
            name: format!("node{i}"),
            role: Role::Validator,
            peer_id: h.peer_id.clone(),
            p2p_port: p2p,
            rpc_port: rpc,
            grpc_port: grpc,
            metrics_port: metrics,
        });
        tune_config(&h.home, |_| {})?;
    }
    let bootstrap: Vec<String> = nodes.iter().take(2).map(NodeEntry::p2p_addr).collect();
    for k in 0..spec.full_nodes {
        let i = spec.validators + k;
        let [p2p, rpc, grpc, metrics] = ports(spec.base_port, i)?;
        let name = format!("full{k}");
        let home_dir = dir.join(&name);
        let mut config = NodeConfig::default();
        config.p2p.listen = vec![format!("/ip4/127.0.0.1/tcp/{p2p}")];
        config.p2p.bootstrap = bootstrap.clone();
        config.rpc.listen = format!("127.0.0.1:{rpc}");
        config.rpc.grpc_listen = format!("127.0.0.1:{grpc}");
        config.metrics.listen = format!("127.0.0.1:{metrics}");
        home::init(
            &home_dir,
            &InitOptions {
                genesis: Some(genesis_path.clone()),
                chain_id: spec.chain_id.clone(),
                config,
            },
        )?;
        tune_config(&home_dir, |_| {})?;
        let p2p_key = maat_crypto::keyfile::load_key_file(home_dir.join("keys/p2p.json"))
            .map_err(|e| TestnetError::Config(format!("{name}: p2p key: {e}")))?
            .key_pair;
        let mut ed = [0u8; 32];
        ed.copy_from_slice(p2p_key.public().as_bytes());
        nodes.push(NodeEntry {
            name,
            role: Role::FullNode,
            peer_id: maat_ledger::genesis::peer_id_from_ed25519(&ed),
            p2p_port: p2p,
            rpc_port: rpc,
            grpc_port: grpc,
            metrics_port: metrics,
        });
    }
    let manifest = Manifest {
        chain_id: genesis.chain_id().to_owned(),
        genesis_hash: hex::encode(genesis.hash()),
        base_port: spec.base_port,
        nodes,
    };
    let path = dir.join(MANIFEST);
    let mut text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| TestnetError::Config(format!("manifest: {e}")))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(io(&path))?;
    Ok(Testnet {
        dir: dir.to_owned(),
        manifest,
    })
}

/// Local-testnet settings on top of the defaults: the load generator and the demo submit from
/// one address, so the per-client RPC rate limit is raised (a public node keeps the default).
fn tune_config(home_dir: &Path, more: impl FnOnce(&mut NodeConfig)) -> Result<(), TestnetError> {
    let path = home_dir.join("config.toml");
    let mut config = NodeConfig::load(&path, std::iter::empty(), &[])
        .map_err(|e| TestnetError::Config(format!("{}: {e}", path.display())))?;
    config.rpc.rate_per_sec = 1_000_000;
    config.rpc.burst = 1_000_000;
    more(&mut config);
    std::fs::write(&path, config.documented_toml()).map_err(io(&path))
}

/// What one node's process is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// No process (never started, stopped, or killed).
    Stopped,
    /// Running (or sleeping).
    Running(u32),
    /// Stopped by SIGSTOP.
    Paused(u32),
}

impl ProcState {
    /// The pid, if a process exists.
    #[must_use]
    pub fn pid(self) -> Option<u32> {
        match self {
            ProcState::Stopped => None,
            ProcState::Running(p) | ProcState::Paused(p) => Some(p),
        }
    }
}

impl std::fmt::Display for ProcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcState::Stopped => f.write_str("stopped"),
            ProcState::Running(p) => write!(f, "running (pid {p})"),
            ProcState::Paused(p) => write!(f, "paused (pid {p})"),
        }
    }
}

impl Testnet {
    /// Opens a directory made by [`init`].
    ///
    /// # Errors
    /// [`TestnetError`] if there is no readable manifest.
    pub fn open(dir: &Path) -> Result<Testnet, TestnetError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                TestnetError::Config(format!(
                    "{} has no testnet; create one with `maat-testnet init --dir {}`",
                    dir.display(),
                    dir.display()
                ))
            } else {
                TestnetError::Io {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let manifest = serde_json::from_str(&text)
            .map_err(|e| TestnetError::Config(format!("{}: {e}", path.display())))?;
        Ok(Testnet {
            dir: std::fs::canonicalize(dir).map_err(io(dir))?,
            manifest,
        })
    }

    /// The genesis (`<dir>/genesis.json`).
    ///
    /// # Errors
    /// [`TestnetError::Config`] if it does not load.
    pub fn genesis(&self) -> Result<Genesis, TestnetError> {
        let path = self.dir.join("genesis.json");
        Genesis::load(&path).map_err(|e| TestnetError::Config(format!("{}: {e}", path.display())))
    }

    /// The genesis admin key (`<dir>/admin.json`).
    ///
    /// # Errors
    /// [`TestnetError::Config`] if it does not load.
    pub fn admin_key(&self) -> Result<maat_crypto::sig::KeyPair, TestnetError> {
        let path = self.dir.join("admin.json");
        Ok(maat_crypto::keyfile::load_key_file(&path)
            .map_err(|e| TestnetError::Config(format!("{}: {e}", path.display())))?
            .key_pair)
    }

    /// A node's home directory.
    #[must_use]
    pub fn home(&self, node: &NodeEntry) -> PathBuf {
        self.dir.join(&node.name)
    }

    fn pid_file(&self, node: &NodeEntry) -> PathBuf {
        self.home(node).join("maatd.pid")
    }

    /// A node's log file.
    #[must_use]
    pub fn log_file(&self, node: &NodeEntry) -> PathBuf {
        self.home(node).join("maatd.log")
    }

    /// The node by name.
    ///
    /// # Errors
    /// [`TestnetError::Config`] for an unknown name.
    pub fn node(&self, name: &str) -> Result<&NodeEntry, TestnetError> {
        self.manifest
            .nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| TestnetError::Config(format!("no node `{name}` in this testnet")))
    }

    /// The process state of `node` (from its pid file and `/proc`).
    #[must_use]
    pub fn state(&self, node: &NodeEntry) -> ProcState {
        let Ok(text) = std::fs::read_to_string(self.pid_file(node)) else {
            return ProcState::Stopped;
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            return ProcState::Stopped;
        };
        let home = self.home(node);
        proc_state(pid, &home)
    }

    /// Starts `node` unless it runs; returns its pid.
    ///
    /// # Errors
    /// [`TestnetError`] if `maatd` cannot be spawned.
    pub fn start(&self, node: &NodeEntry, maatd: &Path) -> Result<u32, TestnetError> {
        match self.state(node) {
            ProcState::Running(pid) => return Ok(pid),
            ProcState::Paused(pid) => {
                self.signal(node, Signal::SIGCONT)?;
                return Ok(pid);
            }
            ProcState::Stopped => {}
        }
        let home = self.home(node);
        let log_path = self.log_file(node);
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io(&log_path))?;
        let _ = writeln!(log, "---- maat-testnet: starting {} ----", node.name);
        let err = log.try_clone().map_err(io(&log_path))?;
        let mut child = Command::new(maatd)
            .arg("start")
            .arg("--home")
            .arg(&home)
            .env_remove("MAAT_HOME")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            // Its own process group: a Ctrl-C aimed at the launcher does not stop the network.
            .process_group(0)
            .spawn()
            .map_err(|source| TestnetError::Spawn {
                path: maatd.to_owned(),
                source,
            })?;
        let pid = child.id();
        let pid_path = self.pid_file(node);
        std::fs::write(&pid_path, format!("{pid}\n")).map_err(io(&pid_path))?;
        // Reap it when it exits while this launcher still runs (no zombies in `status`).
        std::thread::spawn(move || child.wait());
        Ok(pid)
    }

    /// Sends `sig` to `node`'s process, if it has one; returns whether it had.
    ///
    /// # Errors
    /// [`TestnetError::Signal`].
    pub fn signal(&self, node: &NodeEntry, sig: Signal) -> Result<bool, TestnetError> {
        let Some(pid) = self.state(node).pid() else {
            return Ok(false);
        };
        let raw = i32::try_from(pid).map_err(|_| TestnetError::Signal {
            node: node.name.clone(),
            reason: format!("pid {pid} out of range"),
        })?;
        match signal::kill(Pid::from_raw(raw), sig) {
            Ok(()) => Ok(true),
            // It exited between the check and the signal.
            Err(nix::errno::Errno::ESRCH) => Ok(false),
            Err(e) => Err(TestnetError::Signal {
                node: node.name.clone(),
                reason: format!("{sig}: {e}"),
            }),
        }
    }

    /// Stops `node`: SIGTERM (after SIGCONT, in case it is paused), then SIGKILL if it has not
    /// exited after `grace`. Returns whether it had to be killed.
    ///
    /// # Errors
    /// [`TestnetError::Signal`].
    pub fn stop(&self, node: &NodeEntry, grace: Duration) -> Result<bool, TestnetError> {
        let Some(pid) = self.state(node).pid() else {
            let _ = std::fs::remove_file(self.pid_file(node));
            return Ok(false);
        };
        let _ = self.signal(node, Signal::SIGCONT);
        self.signal(node, Signal::SIGTERM)?;
        let home = self.home(node);
        let killed = if wait_gone(pid, &home, grace) {
            false
        } else {
            self.signal(node, Signal::SIGKILL)?;
            wait_gone(pid, &home, Duration::from_secs(10));
            true
        };
        let _ = std::fs::remove_file(self.pid_file(node));
        Ok(killed)
    }

    /// SIGKILL, and wait until the process is gone.
    ///
    /// # Errors
    /// [`TestnetError::Signal`].
    pub fn kill(&self, node: &NodeEntry) -> Result<(), TestnetError> {
        if let Some(pid) = self.state(node).pid() {
            self.signal(node, Signal::SIGKILL)?;
            wait_gone(pid, &self.home(node), Duration::from_secs(10));
        }
        let _ = std::fs::remove_file(self.pid_file(node));
        Ok(())
    }

    /// A client of `node`'s JSON-RPC endpoint.
    ///
    /// # Errors
    /// [`TestnetError::Rpc`] (only for a malformed URL).
    pub fn client(&self, node: &NodeEntry) -> Result<Client, TestnetError> {
        Ok(Client::new_with_timeout(
            &node.rpc_url(),
            Duration::from_secs(10),
        )?)
    }

    /// Starts every node that is not running and waits until each answers and has committed a
    /// block since (or `timeout` passes, or a node exits: its log tail is in the error).
    ///
    /// # Errors
    /// [`TestnetError`].
    pub async fn up(&self, maatd: &Path, timeout: Duration) -> Result<(), TestnetError> {
        for node in &self.manifest.nodes {
            self.start(node, maatd)?;
        }
        self.wait_committing(&self.manifest.nodes, timeout).await
    }

    /// Waits until each of `nodes` answers and commits a new block; one that is not running
    /// (it exited at startup) is an error with its log's tail.
    ///
    /// # Errors
    /// [`TestnetError::Timeout`] or [`TestnetError::Exited`].
    pub async fn wait_committing(
        &self,
        nodes: &[NodeEntry],
        timeout: Duration,
    ) -> Result<(), TestnetError> {
        let deadline = Instant::now() + timeout;
        for node in nodes {
            let client = self.client(node)?;
            let mut first: Option<u64> = None;
            loop {
                if self.state(node) == ProcState::Stopped {
                    return Err(TestnetError::Exited {
                        node: node.name.clone(),
                        log_tail: tail(&self.log_file(node), 30),
                    });
                }
                if let Ok(s) = client.status().await {
                    match first {
                        None => first = Some(s.height),
                        Some(h) if s.height > h => break,
                        Some(_) => {}
                    }
                }
                if Instant::now() > deadline {
                    return Err(TestnetError::Timeout(format!(
                        "{} did not commit a block within {timeout:?}; its log: {}",
                        node.name,
                        self.log_file(node).display()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Stops every node (SIGTERM, SIGKILL after `grace`).
    ///
    /// # Errors
    /// [`TestnetError::Signal`].
    pub fn down(&self, grace: Duration) -> Result<Vec<(String, bool)>, TestnetError> {
        let mut out = Vec::new();
        let mut first_error = None;
        // Every node gets its stop, whatever happened to the previous one.
        for node in &self.manifest.nodes {
            let was = self.state(node) != ProcState::Stopped;
            match self.stop(node, grace) {
                Ok(killed) if was => out.push((node.name.clone(), killed)),
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Each node's process state and, if it answers, its status.
    pub async fn status(&self) -> Vec<(NodeEntry, ProcState, Option<NodeStatus>)> {
        let mut out = Vec::new();
        for node in &self.manifest.nodes {
            let state = self.state(node);
            let status = match (state, self.client(node)) {
                (ProcState::Running(_), Ok(c)) => c.status().await.ok(),
                _ => None,
            };
            out.push((node.clone(), state, status));
        }
        out
    }
}

/// Whether `pid` is a live `maatd` of `home`, and its state.
fn proc_state(pid: u32, home: &Path) -> ProcState {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return ProcState::Stopped;
    };
    let home = home.to_string_lossy();
    let ours = cmdline.split(|b| *b == 0).any(|arg| arg == home.as_bytes());
    if !ours {
        return ProcState::Stopped;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Field 3, after the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("");
    match state {
        "Z" | "X" | "x" | "" => ProcState::Stopped,
        "T" | "t" => ProcState::Paused(pid),
        _ => ProcState::Running(pid),
    }
}

/// Polls `/proc` until `pid` is gone (another process's exit gives no event to await).
fn wait_gone(pid: u32, home: &Path, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    loop {
        if proc_state(pid, home) == ProcState::Stopped {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last `lines` lines of a file.
#[must_use]
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The `maatd` binary: `explicit`, else `$MAATD`, else next to this executable (also one level
/// up, for test and bench executables in `target/<profile>/deps`), else `maatd` on `PATH`.
///
/// # Errors
/// [`TestnetError::Config`] when none exists.
pub fn locate_maatd(explicit: Option<&Path>) -> Result<PathBuf, TestnetError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_owned())
        } else {
            Err(TestnetError::Config(format!(
                "--maatd {}: no such file",
                p.display()
            )))
        };
    }
    if let Some(p) = std::env::var_os("MAATD") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(TestnetError::Config(format!(
                "MAATD={}: no such file",
                p.display()
            )))
        };
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let p = dir.join("maatd");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("maatd");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(TestnetError::Config(
        "cannot find `maatd`: build it (`cargo build --bin maatd`), or pass --maatd PATH or set MAATD"
            .into(),
    ))
}
