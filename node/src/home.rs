//! The home directory: `maatd init` (one node), `maatd testnet` (N validators sharing one
//! generated genesis), and loading what `maatd start` needs from it.
//!
//! ```text
//! <home>/config.toml          settings (NodeConfig), every default written out
//! <home>/genesis.json         the chain
//! <home>/keys/validator.json  ML-DSA-65 consensus key (0600)
//! <home>/keys/p2p.json        Ed25519 libp2p identity (0600)
//! <home>/keys/admin.json      the genesis admin key, when init generated the genesis
//! <home>/data/                RocksDB
//! ```

use std::path::{Path, PathBuf};

use maat_crypto::keyfile::{KeyFileError, load_key_file, write_key_file};
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::genesis::peer_id_from_ed25519;
use maat_ledger::{ChainParams, Genesis, GenesisError, GenesisSpec};

use crate::config::NodeConfig;

/// Why a home directory could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// The directory already holds a configuration (nothing is overwritten).
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file problem.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: KeyFileError,
    },
    /// The genesis file is invalid.
    #[error("genesis {path}: {source}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// Why.
        source: GenesisError,
    },
    /// The keys do not fit the genesis.
    #[error("{0}")]
    Mismatch(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HomeError + '_ {
    move |source| HomeError::Io {
        path: path.to_owned(),
        source,
    }
}

fn write_key(path: &Path, key: &KeyPair, id: &str) -> Result<(), HomeError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    write_key_file(path, key, Some(id)).map_err(|source| HomeError::Key {
        path: path.to_owned(),
        source,
    })
}

fn write_new(path: &Path, text: &str) -> Result<(), HomeError> {
    if path.exists() {
        return Err(HomeError::Exists(path.to_owned()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

/// What `maatd init` does.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Use this genesis file (copied into the home); `None` generates a one-validator chain
    /// with this node as its validator and a fresh admin key in `keys/admin.json`.
    pub genesis: Option<PathBuf>,
    /// Chain id of a generated genesis.
    pub chain_id: String,
    /// Settings written to `config.toml`.
    pub config: NodeConfig,
}

/// Creates a node home: keys, genesis, documented config. Refuses to overwrite anything.
///
/// # Errors
/// [`HomeError`].
pub fn init(home: &Path, opts: &InitOptions) -> Result<(), HomeError> {
    let config_path = home.join("config.toml");
    if config_path.exists() {
        return Err(HomeError::Exists(config_path));
    }
    let config = &opts.config;
    let genesis_path = NodeConfig::resolve(home, &config.node.genesis);
    match &opts.genesis {
        Some(src) => {
            let text = std::fs::read_to_string(src).map_err(io(src))?;
            // Validate before copying, so a broken file is reported at init, not at start.
            Genesis::load(src).map_err(|source| HomeError::Genesis {
                path: src.clone(),
                source,
            })?;
            write_new(&genesis_path, &text)?;
            write_key(
                &NodeConfig::resolve(home, &config.node.validator_key),
                &KeyPair::generate(Algorithm::MlDsa65),
                "validator",
            )?;
            write_key(
                &NodeConfig::resolve(home, &config.node.p2p_key),
                &KeyPair::generate(Algorithm::Ed25519),
                "p2p",
            )?;
        }
        None => {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(KeyPair::generate(Algorithm::Ed25519).secret_seed());
            let spec = GenesisSpec {
                chain_id: opts.chain_id.clone(),
                genesis_time_ms: now_ms(),
                n_validators: 1,
                n_admins: 1,
                seed,
                params: ChainParams::default(),
            };
            let g = Genesis::generate(&spec).map_err(|source| HomeError::Genesis {
                path: genesis_path.clone(),
                source,
            })?;
            write_new(&genesis_path, &g.genesis.to_json_pretty())?;
            write_key(
                &NodeConfig::resolve(home, &config.node.validator_key),
                &g.validator_keys[0],
                "validator-0",
            )?;
            write_key(
                &NodeConfig::resolve(home, &config.node.p2p_key),
                &KeyPair::from_seed(Algorithm::Ed25519, &g.validator_p2p_seeds[0]),
                "p2p",
            )?;
            write_key(&home.join("keys/admin.json"), &g.admin_keys[0], "admin-0")?;
        }
    }
    write_new(&config_path, &config.documented_toml())
}

/// What `maatd testnet` generates.
#[derive(Debug, Clone)]
pub struct TestnetOptions {
    /// Number of validators.
    pub validators: usize,
    /// Chain id.
    pub chain_id: String,
    /// Every key derives from this seed (a testnet is reproducible; never use for value).
    pub seed: [u8; 32],
    /// Genesis time (ms since the Unix epoch).
    pub genesis_time_ms: u64,
    /// Chain parameters.
    pub params: ChainParams,
    /// Validator `i` listens for p2p on `127.0.0.1:<p2p_base_port + i>`.
    pub p2p_base_port: u16,
    /// ... for JSON-RPC on `rpc_base_port + i` ...
    pub rpc_base_port: u16,
    /// ... for gRPC on `grpc_base_port + i` ...
    pub grpc_base_port: u16,
    /// ... and for metrics on `metrics_base_port + i`.
    pub metrics_base_port: u16,
}

/// One generated validator home.
#[derive(Debug, Clone)]
pub struct TestnetNode {
    /// Its home directory.
    pub home: PathBuf,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its p2p address (with `/p2p/<peer id>`).
    pub p2p_addr: String,
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// gRPC URL (`grpc://127.0.0.1:<port>`).
    pub grpc_url: String,
    /// Metrics address.
    pub metrics_addr: String,
}

/// Writes `out/node<i>` for every validator (all bootstrapping from node 0, node 0 from node 1)
/// and `out/admin.json` (the genesis admin key). Returns the nodes and the genesis.
///
/// # Errors
/// [`HomeError`].
pub fn testnet(
    out: &Path,
    opts: &TestnetOptions,
) -> Result<(Vec<TestnetNode>, Genesis), HomeError> {
    let g = Genesis::generate(&GenesisSpec {
        chain_id: opts.chain_id.clone(),
        genesis_time_ms: opts.genesis_time_ms,
        n_validators: opts.validators,
        n_admins: 1,
        seed: opts.seed,
        params: opts.params.clone(),
    })
    .map_err(|source| HomeError::Genesis {
        path: out.to_owned(),
        source,
    })?;
    let port = |base: u16, i: usize| -> Result<u16, HomeError> {
        u16::try_from(i)
            .ok()
            .and_then(|i| base.checked_add(i))
            .ok_or_else(|| HomeError::Mismatch(format!("port {base} + {i} is out of range")))
    };
    let mut nodes = Vec::new();
    for (i, v) in g.genesis.validators().iter().enumerate() {
        let p2p_port = port(opts.p2p_base_port, i)?;
        nodes.push(TestnetNode {
            home: out.join(format!("node{i}")),
            peer_id: v.peer_id.clone(),
            p2p_addr: format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{}", v.peer_id),
            rpc_url: format!("http://127.0.0.1:{}", port(opts.rpc_base_port, i)?),
            grpc_url: format!("grpc://127.0.0.1:{}", port(opts.grpc_base_port, i)?),
            metrics_addr: format!("127.0.0.1:{}", port(opts.metrics_base_port, i)?),
        });
    }
    for (i, node) in nodes.iter().enumerate() {
        let mut config = NodeConfig::default();
        config.p2p.listen = vec![format!(
            "/ip4/127.0.0.1/tcp/{}",
            port(opts.p2p_base_port, i)?
        )];
        let boot = if i == 0 { 1 } else { 0 };
        if let Some(b) = nodes.get(boot) {
            config.p2p.bootstrap = vec![b.p2p_addr.clone()];
        }
        config.rpc.listen = node.rpc_url.trim_start_matches("http://").to_owned();
        config.rpc.grpc_listen = node.grpc_url.trim_start_matches("grpc://").to_owned();
        config.metrics.listen = node.metrics_addr.clone();
        write_new(&node.home.join("genesis.json"), &g.genesis.to_json_pretty())?;
        write_key(
            &node.home.join("keys/validator.json"),
            &g.validator_keys[i],
            &format!("validator-{i}"),
        )?;
        write_key(
            &node.home.join("keys/p2p.json"),
            &KeyPair::from_seed(Algorithm::Ed25519, &g.validator_p2p_seeds[i]),
            "p2p",
        )?;
        write_new(&node.home.join("config.toml"), &config.documented_toml())?;
    }
    write_key(&out.join("admin.json"), &g.admin_keys[0], "admin-0")?;
    Ok((nodes, g.genesis))
}

/// What `maatd start` loads from the home directory.
pub struct LoadedHome {
    /// The chain.
    pub genesis: Genesis,
    /// The consensus key (unused by a full node, which never signs).
    pub validator_key: KeyPair,
    /// Its position in the validator set; `None`: the key is not in the genesis validator set,
    /// and the node runs as a full node (follows the chain, never votes).
    pub validator_index: Option<u32>,
    /// The libp2p Ed25519 secret seed.
    pub p2p_seed: [u8; 32],
}

/// Loads genesis and keys and checks they fit: a validator's p2p key is the peer id the genesis
/// lists for it; a key outside the validator set makes a full node, whose p2p key must not be
/// a validator's (it would take that validator's place on the network).
///
/// # Errors
/// [`HomeError`].
pub fn load(home: &Path, config: &NodeConfig) -> Result<LoadedHome, HomeError> {
    let genesis_path = NodeConfig::resolve(home, &config.node.genesis);
    let genesis = Genesis::load(&genesis_path).map_err(|source| HomeError::Genesis {
        path: genesis_path.clone(),
        source,
    })?;
    let key_path = NodeConfig::resolve(home, &config.node.validator_key);
    let validator_key = load_key_file(&key_path)
        .map_err(|source| HomeError::Key {
            path: key_path.clone(),
            source,
        })?
        .key_pair;
    let p2p_path = NodeConfig::resolve(home, &config.node.p2p_key);
    let p2p_key = load_key_file(&p2p_path)
        .map_err(|source| HomeError::Key {
            path: p2p_path.clone(),
            source,
        })?
        .key_pair;
    if p2p_key.algorithm() != Algorithm::Ed25519 {
        return Err(HomeError::Mismatch(format!(
            "{}: the p2p key must be Ed25519",
            p2p_path.display()
        )));
    }
    let public = validator_key.public();
    let index = genesis
        .validators()
        .iter()
        .position(|v| v.public_key == public);
    let mut ed = [0u8; 32];
    ed.copy_from_slice(p2p_key.public().as_bytes());
    let peer_id = peer_id_from_ed25519(&ed);
    match index {
        Some(index) => {
            let listed = &genesis.validators()[index].peer_id;
            if &peer_id != listed {
                return Err(HomeError::Mismatch(format!(
                    "{}: peer id {peer_id} differs from the genesis entry of validator {index} \
                     ({listed})",
                    p2p_path.display()
                )));
            }
        }
        None => {
            if let Some(v) = genesis
                .validators()
                .iter()
                .position(|v| v.peer_id == peer_id)
            {
                return Err(HomeError::Mismatch(format!(
                    "{}: peer id {peer_id} is validator {v}'s, but {} is not its consensus key \
                     (a full node needs its own p2p key)",
                    p2p_path.display(),
                    key_path.display()
                )));
            }
        }
    }
    Ok(LoadedHome {
        validator_index: index.map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
        p2p_seed: *p2p_key.secret_seed(),
        genesis,
        validator_key,
    })
}

/// Milliseconds since the Unix epoch (the block timestamps' clock).
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testnet_opts() -> TestnetOptions {
        TestnetOptions {
            validators: 1,
            chain_id: "maat-home-test".into(),
            seed: [3; 32],
            genesis_time_ms: 1_000,
            params: ChainParams::default(),
            p2p_base_port: 1,
            rpc_base_port: 1,
            grpc_base_port: 1,
            metrics_base_port: 1,
        }
    }

    #[test]
    fn a_key_outside_the_set_loads_as_a_full_node_with_its_own_p2p_key() {
        let dir = tempfile::tempdir().unwrap();
        let (nodes, _) = testnet(&dir.path().join("net"), &testnet_opts()).unwrap();
        let config = NodeConfig::default();
        assert_eq!(
            load(&nodes[0].home, &config).unwrap().validator_index,
            Some(0)
        );

        let full = dir.path().join("full");
        init(
            &full,
            &InitOptions {
                genesis: Some(nodes[0].home.join("genesis.json")),
                chain_id: String::new(),
                config: config.clone(),
            },
        )
        .unwrap();
        assert_eq!(load(&full, &config).unwrap().validator_index, None);

        // A full node with a validator's p2p key would impersonate it on the network.
        std::fs::copy(
            nodes[0].home.join("keys/p2p.json"),
            full.join("keys/p2p.json"),
        )
        .unwrap();
        match load(&full, &config) {
            Err(HomeError::Mismatch(m)) => assert!(m.contains("validator 0's"), "{m}"),
            other => panic!("expected a mismatch, got {:?}", other.err()),
        }
    }
}
