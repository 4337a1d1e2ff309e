//! `maat-node`: the validator node `maatd`.
//!
//! - [`config`]: `config.toml` with every default, `MAAT_` variables and `--set` flags.
//! - [`home`]: `maatd init` / `maatd testnet` home directories, loading keys and genesis.
//! - [`driver`]: the consensus driver, one task owning the sans-IO consensus core, the
//!   executor and the mempool; it executes the core's actions in order (persist before send).
//! - [`exec`]: block execution on the ledger (the replayed checks before a vote, proposals,
//!   commit batches).
//! - `maat_consensus::wire`: the bytes validators exchange over `maat-p2p`, decoded strictly.
//! - [`metrics`]: Prometheus metrics; [`api`]: the RPC interface of a running node.
//!
//! [`run`] wires RocksDB, the ledger, the mempool, libp2p, JSON-RPC and metrics together and
//! runs until the shutdown future resolves (SIGTERM or SIGINT in `maatd`).

#![deny(missing_docs)]

pub mod api;
mod api_proof;
pub mod checkpoints;
pub mod config;
pub mod driver;
pub mod exec;
pub mod home;
pub mod metrics;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use maat_consensus::{
    Block, BlockId, Config, Core, Decode as _, Encode as _, Qc, Recovered, Root, SafetyData,
    SigningDomain, ValidatorIndex,
};
use maat_ledger::{Genesis, Ledger};
use maat_mempool::{Mempool, MempoolConfig};
use maat_p2p::{P2pConfig, PeerId};
use maat_storage::{Store, StoreOptions};
use tokio::sync::{broadcast, mpsc, watch};
use tracing::info;

use crate::checkpoints::CheckpointBook;
use crate::config::NodeConfig;
use crate::driver::{Driver, Fault, Feeds};
use crate::exec::Executor;
use maat_ledger::signing::MlDsaSigner;

/// Why the node could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Home directory, keys or genesis.
    #[error(transparent)]
    Home(#[from] home::HomeError),
    /// A setting that cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// The database.
    #[error("storage: {0}")]
    Storage(#[from] maat_storage::StoreError),
    /// Stored consensus data that does not decode.
    #[error("stored consensus data is corrupt: {0}")]
    Corrupt(String),
    /// Networking.
    #[error("p2p: {0}")]
    P2p(String),
    /// A listener could not be bound.
    #[error("{what} on {addr}: {source}")]
    Bind {
        /// Which service.
        what: &'static str,
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The RPC server.
    #[error("rpc: {0}")]
    Rpc(String),
    /// The driver stopped because continuing would be unsafe.
    #[error(transparent)]
    Fatal(#[from] driver::Fatal),
}

/// Addresses a started node actually listens on (ports may have been 0).
#[derive(Debug, Clone, Default)]
pub struct BoundAddrs {
    /// JSON-RPC.
    pub rpc: Option<SocketAddr>,
    /// gRPC.
    pub grpc: Option<SocketAddr>,
    /// Metrics.
    pub metrics: Option<SocketAddr>,
}

/// The consensus parameters of a genesis.
#[must_use]
pub fn consensus_config(genesis: &Genesis) -> Config {
    let p = genesis.params();
    Config {
        chain_id: genesis.hash(),
        genesis_time_ms: genesis.genesis_time_ms(),
        round_timeout_ms: p.timeouts.initial_round_ms,
        round_timeout_backoff_percent: p.timeouts.backoff_permille / 10,
        max_round_timeout_ms: p.timeouts.max_round_ms,
        empty_block_interval_ms: p.empty_block_interval_ms,
        max_clock_skew_ms: p.max_clock_skew_secs.saturating_mul(1000),
        max_fetch_blocks: maat_consensus::wire::MAX_FETCH_BLOCKS as usize,
        ..Config::default()
    }
}

/// Opens the database (committing the genesis state on first use) and reads back what the
/// consensus core resumes from.
fn recover(
    store: &Store,
    genesis: &Genesis,
    config: &Config,
) -> Result<(Recovered, HashMap<BlockId, u64>), NodeError> {
    let corrupt =
        |what: &str, e: maat_consensus::DecodeError| NodeError::Corrupt(format!("{what}: {e:?}"));
    let meta = match store.meta()? {
        Some(m) => m,
        None => {
            let root = Root::genesis(config);
            let batch = exec::genesis_batch(&root.block, root.qc.encode(), genesis.initial_state());
            store.commit(&batch)?
        }
    };
    let stored = store
        .block(meta.height)?
        .ok_or_else(|| NodeError::Corrupt(format!("head block {} missing", meta.height)))?;
    let block = Block::decode(&stored.bytes).map_err(|e| corrupt("head block", e))?;
    let qc_bytes = store
        .qc(meta.height)?
        .ok_or_else(|| NodeError::Corrupt(format!("QC of head block {} missing", meta.height)))?;
    let qc = Qc::decode(&qc_bytes).map_err(|e| corrupt("head QC", e))?;
    let root = Root {
        block: Arc::new(block),
        qc,
    };
    let safety = match store.safety()? {
        Some(bytes) => SafetyData::decode(&bytes).map_err(|e| corrupt("safety data", e))?,
        None => SafetyData::new(0, root.qc.clone()),
    };
    let mut blocks = Vec::new();
    let mut persisted = HashMap::new();
    for (id, bytes) in store.all_pending()? {
        let b = Block::decode(&bytes).map_err(|e| corrupt("pending block", e))?;
        if b.height <= meta.height {
            store.delete_pending(&id)?;
            continue;
        }
        persisted.insert(BlockId(id), b.height);
        blocks.push(Arc::new(b));
    }
    Ok((
        Recovered {
            root,
            safety,
            blocks,
        },
        persisted,
    ))
}

fn parse_addrs(list: &[String], what: &str) -> Result<Vec<maat_p2p::Multiaddr>, NodeError> {
    list.iter()
        .map(|a| {
            a.parse()
                .map_err(|e| NodeError::Config(format!("{what} `{a}`: {e}")))
        })
        .collect()
}

/// Runs a validator, or a full node when the home's key is not in the genesis validator set,
/// from `home` until `shutdown` resolves. `on_ready` gets the bound addresses
/// once every service listens.
///
/// # Errors
/// [`NodeError`].
pub async fn run(
    home: &Path,
    config: NodeConfig,
    shutdown: impl std::future::Future<Output = ()>,
    on_ready: impl FnOnce(&BoundAddrs),
) -> Result<(), NodeError> {
    let loaded = home::load(home, &config)?;
    let genesis = loaded.genesis;
    let params = genesis.params().clone();
    if (config.p2p.max_message_bytes as u64) < params.max_block_bytes.saturating_add(1 << 20) {
        return Err(NodeError::Config(format!(
            "p2p.max_message_bytes ({}) must exceed the genesis max_block_bytes ({}) by 1 MiB",
            config.p2p.max_message_bytes, params.max_block_bytes
        )));
    }
    let fault = fault_of(&config, home)?;
    let ccfg = consensus_config(&genesis);
    // `None`: a full node (its key is not in the genesis validator set).
    let me = loaded.validator_index.map(ValidatorIndex);

    let data_dir = NodeConfig::resolve(home, &config.node.data_dir);
    let store = Arc::new(Store::open(&data_dir, &StoreOptions::new(genesis.hash()))?);
    if !store.proof_indexes_complete()? {
        // A database from before the audit and subject indexes: build them once.
        let entries = store.rebuild_proof_indexes(api_proof::index_entries)?;
        info!(
            entries,
            "rebuilt the audit chain and attestation subject indexes"
        );
    }
    let (recovered, persisted) = recover(&store, &genesis, &ccfg)?;
    let root_id = recovered.root.block.id();
    let root_height = recovered.root.block.height;
    info!(
        chain = genesis.chain_id(),
        role = match me {
            Some(v) => format!("validator {}", v.0),
            None => "full node".to_owned(),
        },
        height = root_height,
        pending_blocks = recovered.blocks.len(),
        "resuming"
    );

    // The same validator set and keys an offline verifier derives from the genesis file.
    let chain = maat_ledger::finality::ChainKeys::from_genesis(&genesis)
        .map_err(|e| NodeError::Config(format!("validator set: {e}")))?;
    let validator_key = Arc::new(loaded.validator_key);
    let signer = MlDsaSigner(validator_key.clone());
    let core = match me {
        Some(me) => Core::new(
            ccfg.clone(),
            chain.validators,
            me,
            signer.clone(),
            chain.verifier,
            recovered,
        ),
        None => Core::new_observer(ccfg.clone(), chain.validators, chain.verifier, recovered),
    }
    .map_err(|e| match e {
        maat_consensus::InitError::NotAValidator => {
            NodeError::Config("this node's key is not in the validator set".into())
        }
        other => NodeError::Corrupt(format!("recovered consensus state: {other:?}")),
    })?;

    let ledger = Arc::new(Ledger::new(&genesis));
    let mut mcfg = MempoolConfig::for_chain(&params);
    if config.mempool.max_txs > 0 {
        mcfg.max_txs = config.mempool.max_txs;
    }
    if config.mempool.max_bytes > 0 {
        mcfg.max_bytes = config.mempool.max_bytes;
    }
    let mempool = Mempool::new(mcfg, ledger.clone())
        .map_err(|e| NodeError::Config(format!("mempool: {e}")))?;
    let exec = Executor::new(ledger, store.clone(), root_id, root_height)?;

    let peers: Vec<PeerId> = genesis
        .validators()
        .iter()
        .map(|v| {
            v.peer_id
                .parse()
                .map_err(|e| NodeError::Config(format!("genesis peer id {}: {e}", v.peer_id)))
        })
        .collect::<Result<_, _>>()?;
    let (p2p, events) = maat_p2p::spawn(P2pConfig {
        key_seed: loaded.p2p_seed,
        listen: parse_addrs(&config.p2p.listen, "p2p.listen")?,
        bootstrap: parse_addrs(&config.p2p.bootstrap, "p2p.bootstrap")?,
        chain_hash: genesis.hash(),
        // Every validator but ourselves; a full node stays connected to all of them.
        keep_connected: peers
            .iter()
            .enumerate()
            .filter(|(i, _)| me.is_none_or(|m| *i != m.0 as usize))
            .map(|(_, p)| *p)
            .collect(),
        max_message_bytes: config.p2p.max_message_bytes,
        request_timeout: Duration::from_millis(config.p2p.request_timeout_ms),
        ban_duration: Duration::from_secs(config.p2p.ban_secs),
        discovery_interval: Duration::from_millis(config.p2p.discovery_interval_ms),
    })
    .map_err(|e| NodeError::P2p(e.to_string()))?;

    let metrics = metrics::NodeMetrics::new();
    metrics.height.set(root_height as i64);
    metrics.validator.set(me.map_or(-1, |v| i64::from(v.0)));
    let mut bound = BoundAddrs::default();
    let mut metrics_task = None;
    if !config.metrics.listen.is_empty() {
        let addr: SocketAddr = config
            .metrics
            .listen
            .parse()
            .map_err(|e| NodeError::Config(format!("metrics.listen: {e}")))?;
        let (local, task) = metrics::serve(addr, metrics.clone())
            .await
            .map_err(|source| NodeError::Bind {
                what: "metrics",
                addr: addr.to_string(),
                source,
            })?;
        bound.metrics = Some(local);
        metrics_task = Some(task);
    }

    let (status_tx, status_rx) = watch::channel(driver::StatusSnapshot::default());
    let (cmd_tx, cmd_rx) = mpsc::channel(1024);
    let genesis = Arc::new(genesis);
    let (events_tx, _) = broadcast::channel(EVENT_BUFFER);
    let limits = rpc_limits(&config);
    let api: Arc<dyn maat_rpc::NodeApi> = Arc::new(api::NodeRpc {
        commands: cmd_tx.clone(),
        store: store.clone(),
        status: status_rx,
        genesis: genesis.clone(),
        validator: me.map(|v| v.0),
        events: events_tx.clone(),
    });
    let mut rpc_server = None;
    if let Some(addr) = listen_addr("rpc.listen", &config.rpc.listen)? {
        let server = maat_rpc::RpcServer::start(addr, api.clone(), limits.clone())
            .await
            .map_err(|e| NodeError::Rpc(e.to_string()))?;
        bound.rpc = Some(server.local_addr());
        rpc_server = Some(server);
    }
    let mut grpc_server = None;
    if let Some(addr) = listen_addr("rpc.grpc_listen", &config.rpc.grpc_listen)? {
        let server = maat_rpc::GrpcServer::start(addr, api.clone(), limits)
            .await
            .map_err(|e| NodeError::Rpc(e.to_string()))?;
        bound.grpc = Some(server.local_addr());
        grpc_server = Some(server);
    }
    // A full node cosigns nothing but still collects the validators' cosignatures.
    let checkpoints = CheckpointBook::new(&genesis, me.map(|v| (v.0 as usize, validator_key)))
        .map_err(|e| NodeError::Config(format!("checkpoint keys: {e}")))?;

    let domain = SigningDomain {
        chain_id: genesis.hash(),
        epoch: 0,
    };
    let driver = Driver::new(
        core,
        exec,
        mempool,
        store.clone(),
        p2p.clone(),
        peers,
        metrics,
        status_tx,
        signer,
        domain,
        persisted,
        fault,
        config.p2p.max_message_bytes.saturating_sub(1024),
        Feeds {
            checkpoints,
            events: events_tx,
        },
    );
    on_ready(&bound);
    info!(rpc = ?bound.rpc, grpc = ?bound.grpc, metrics = ?bound.metrics, "node started");
    let result = driver.run(events, cmd_rx, shutdown).await;

    // Stop accepting work, then let the network go; RocksDB closes when the last handle drops
    // (every commit was already synced).
    if let Some(s) = rpc_server {
        s.stop().await;
    }
    if let Some(s) = grpc_server {
        s.stop().await;
    }
    if let Some(t) = metrics_task {
        t.abort();
    }
    p2p.shutdown();
    drop(cmd_tx);
    result.map_err(NodeError::from)
}

/// Node events buffered per subscriber; a subscriber further behind is disconnected.
const EVENT_BUFFER: usize = 4096;

fn listen_addr(name: &str, value: &str) -> Result<Option<SocketAddr>, NodeError> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|e| NodeError::Config(format!("{name}: {e}")))
}

/// The RPC servers' limits from `[rpc]`.
fn rpc_limits(config: &NodeConfig) -> maat_rpc::RpcLimits {
    let r = &config.rpc;
    maat_rpc::RpcLimits {
        max_request_bytes: r.max_request_bytes,
        max_response_bytes: r.max_response_bytes,
        max_connections: r.max_connections,
        rate_per_sec: r.rate_per_sec,
        burst: r.burst,
        request_timeout: Duration::from_millis(r.request_timeout_ms),
    }
}

fn fault_of(config: &NodeConfig, home: &Path) -> Result<Fault, NodeError> {
    match config.fault.mode.as_str() {
        "none" => Ok(Fault::None),
        #[cfg(feature = "fault-injection")]
        "equivocate" => Ok(Fault::Equivocate),
        #[cfg(feature = "fault-injection")]
        "invalid-certificate" => {
            let path = NodeConfig::resolve(home, &config.fault.invalid_tx_file);
            let tx = std::fs::read(&path).map_err(|e| {
                NodeError::Config(format!("fault.invalid_tx_file {}: {e}", path.display()))
            })?;
            Ok(Fault::InvalidCertificate(tx))
        }
        other => {
            let _ = home;
            Err(NodeError::Config(format!(
                "fault.mode `{other}` needs a build with the `fault-injection` feature"
            )))
        }
    }
}
