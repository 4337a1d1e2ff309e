//! `config.toml`: every setting with its default, and how flags and `MAAT_` variables override
//! them.
//!
//! Precedence, lowest first: built-in defaults, the file, environment variables
//! `MAAT_<SECTION>_<KEY>` (e.g. `MAAT_P2P_LISTEN`, `MAAT_RPC_LISTEN`), then `--set
//! section.key=value` flags (and the named flags of `maatd start`, which are shorthands for
//! `--set`). Values are TOML literals (`26657`, `["a", "b"]`, `true`); anything that is not a
//! TOML literal is taken as a string, and a comma-separated string sets a list.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Files and directories.
    pub node: NodeSection,
    /// Peer-to-peer networking.
    pub p2p: P2pSection,
    /// JSON-RPC server.
    pub rpc: RpcSection,
    /// Prometheus metrics endpoint.
    pub metrics: MetricsSection,
    /// Mempool limits.
    pub mempool: MempoolSection,
    /// Logging.
    pub log: LogSection,
    /// Byzantine behaviour for tests (honoured only by builds with the `fault-injection`
    /// feature; any other build refuses to start with a mode other than `none`).
    pub fault: FaultSection,
}

/// `[node]`: paths are relative to the home directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// The genesis file (JSON, or TOML by extension).
    pub genesis: PathBuf,
    /// The ML-DSA-65 consensus key file.
    pub validator_key: PathBuf,
    /// The Ed25519 key file of the libp2p identity.
    pub p2p_key: PathBuf,
    /// The RocksDB directory.
    pub data_dir: PathBuf,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            genesis: "genesis.json".into(),
            validator_key: "keys/validator.json".into(),
            p2p_key: "keys/p2p.json".into(),
            data_dir: "data".into(),
        }
    }
}

/// `[p2p]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pSection {
    /// libp2p listen multiaddrs.
    pub listen: Vec<String>,
    /// Bootstrap peers (multiaddrs ending in `/p2p/<peer id>`).
    pub bootstrap: Vec<String>,
    /// Largest gossip message or request/response frame.
    pub max_message_bytes: usize,
    /// How long a request waits for its response.
    pub request_timeout_ms: u64,
    /// How long a misbehaving peer stays banned.
    pub ban_secs: u64,
    /// Interval of DHT lookups for validators not connected.
    pub discovery_interval_ms: u64,
}

impl Default for P2pSection {
    fn default() -> Self {
        P2pSection {
            listen: vec!["/ip4/0.0.0.0/tcp/26656".into()],
            bootstrap: Vec::new(),
            max_message_bytes: 16 << 20,
            request_timeout_ms: 10_000,
            ban_secs: 600,
            discovery_interval_ms: 5_000,
        }
    }
}

/// `[rpc]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcSection {
    /// JSON-RPC (HTTP and WebSocket) address; empty disables it. Loopback by default.
    pub listen: String,
    /// gRPC address (with reflection and health); empty disables it. Loopback by default.
    pub grpc_listen: String,
    /// Most open connections per server.
    pub max_connections: u32,
    /// Requests per second allowed per client IP (token bucket refill).
    pub rate_per_sec: u32,
    /// Burst allowed per client IP (token bucket size).
    pub burst: u32,
    /// Longest a request may run, in ms.
    pub request_timeout_ms: u64,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_bytes: u32,
}

impl Default for RpcSection {
    fn default() -> Self {
        RpcSection {
            listen: "127.0.0.1:26657".into(),
            grpc_listen: "127.0.0.1:9090".into(),
            max_connections: 256,
            rate_per_sec: 200,
            burst: 400,
            request_timeout_ms: 30_000,
            max_request_bytes: 4 << 20,
            max_response_bytes: 20 << 20,
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Prometheus endpoint address (`GET /metrics`); empty disables it.
    pub listen: String,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            listen: "127.0.0.1:26660".into(),
        }
    }
}

/// `[mempool]`: 0 keeps the default derived from the genesis parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolSection {
    /// Most pending transactions.
    pub max_txs: usize,
    /// Most pending bytes.
    pub max_bytes: usize,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A `tracing` filter (`info`, `maat_node=debug,info`); `RUST_LOG` wins when set.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// `[fault]` (tests only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSection {
    /// `none`, `invalid-certificate` (as leader, propose a block holding the transaction in
    /// `invalid_tx_file`, which fails CheckR) or `equivocate` (as leader, sign two different
    /// blocks for one round and send each to half of the validators).
    pub mode: String,
    /// Canonical transaction bytes (binary file) for `invalid-certificate`.
    pub invalid_tx_file: PathBuf,
}

impl Default for FaultSection {
    fn default() -> Self {
        FaultSection {
            mode: "none".into(),
            invalid_tx_file: PathBuf::new(),
        }
    }
}

/// A configuration that could not be read or applied.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped settings.
    #[error("{origin}: {message}")]
    Invalid {
        /// File, variable or flag.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(origin: impl Into<String>, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.into(),
        message: message.to_string(),
    }
}

impl NodeConfig {
    /// Reads `path` (a missing file is an error), then applies `MAAT_` variables from `env`
    /// and `sets` (`section.key=value`), in that order.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, variable or flag at fault.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
        sets: &[String],
    ) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_parts(&text, &path.display().to_string(), env, sets)
    }

    /// As [`Self::load`] from text.
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn from_parts(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
        sets: &[String],
    ) -> Result<NodeConfig, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| invalid(origin, e))?;
        let defaults =
            toml::Table::try_from(NodeConfig::default()).map_err(|e| invalid(origin, e))?;
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        env.sort();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("MAAT_") else {
                continue;
            };
            let lower = rest.to_ascii_lowercase();
            // Only variables naming one of our sections are settings; others (MAAT_SIM_*) are
            // someone else's.
            let Some((section, key)) = lower.split_once('_') else {
                continue;
            };
            if !defaults.contains_key(section) {
                continue;
            }
            set(&mut table, &defaults, section, key, &value, &name)?;
        }
        for s in sets {
            let (path, value) = s
                .split_once('=')
                .ok_or_else(|| invalid(format!("--set {s}"), "expected section.key=value"))?;
            let (section, key) = path
                .split_once('.')
                .ok_or_else(|| invalid(format!("--set {s}"), "expected section.key=value"))?;
            set(
                &mut table,
                &defaults,
                section,
                key,
                value,
                &format!("--set {s}"),
            )?;
        }
        let config: NodeConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e| invalid(origin, e))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that deserialize but cannot work.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("rpc.listen", &self.rpc.listen),
            ("rpc.grpc_listen", &self.rpc.grpc_listen),
            ("metrics.listen", &self.metrics.listen),
        ] {
            if !value.is_empty() && value.parse::<SocketAddr>().is_err() {
                return Err(invalid(
                    name,
                    format!("`{value}` is not an ip:port address"),
                ));
            }
        }
        if self.p2p.listen.is_empty() {
            return Err(invalid(
                "p2p.listen",
                "at least one listen address is needed",
            ));
        }
        if self.p2p.max_message_bytes < 64 << 10 {
            return Err(invalid("p2p.max_message_bytes", "below 64 KiB"));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "expected `text` or `json`"));
        }
        if !matches!(
            self.fault.mode.as_str(),
            "none" | "invalid-certificate" | "equivocate"
        ) {
            return Err(invalid(
                "fault.mode",
                "expected `none`, `invalid-certificate` or `equivocate`",
            ));
        }
        for (name, value) in [
            ("rpc.max_connections", self.rpc.max_connections),
            ("rpc.rate_per_sec", self.rpc.rate_per_sec),
            ("rpc.burst", self.rpc.burst),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be positive"));
            }
        }
        if self.rpc.request_timeout_ms == 0 {
            return Err(invalid("rpc.request_timeout_ms", "must be positive"));
        }
        if self.rpc.max_request_bytes < 64 << 10 || self.rpc.max_response_bytes < 64 << 10 {
            return Err(invalid(
                "rpc.max_request_bytes / rpc.max_response_bytes",
                "below 64 KiB",
            ));
        }
        Ok(())
    }

    /// Resolves a configured path against the home directory.
    #[must_use]
    pub fn resolve(home: &Path, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            home.join(p)
        }
    }

    /// The file `maatd init` writes: every setting, with its default and what it does.
    #[must_use]
    pub fn documented_toml(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let list = |v: &[String]| {
            toml::Value::Array(v.iter().map(|s| toml::Value::String(s.clone())).collect())
                .to_string()
        };
        let path = |p: &Path| q(&p.display().to_string());
        format!(
            r#"# maatd configuration. Every setting can be overridden by an environment variable
# MAAT_<SECTION>_<KEY> (e.g. MAAT_RPC_LISTEN=127.0.0.1:36657) or by a flag
# `maatd start --set section.key=value`; flags win over variables, variables over this file.
# Relative paths are relative to the home directory.

[node]
# Genesis file (JSON, or TOML by extension); its BLAKE3 hash identifies the chain.
genesis = {}
# ML-DSA-65 consensus key (mode 0600). Its public key must be in the genesis validator set.
validator_key = {}
# Ed25519 libp2p identity key (mode 0600); its peer id is the one in the genesis file.
p2p_key = {}
# RocksDB directory (blocks, state, transparency log, consensus safety data).
data_dir = {}

[p2p]
# libp2p listen addresses (default port 26656).
listen = {}
# Bootstrap peers: multiaddrs ending in /p2p/<peer id>. Kademlia finds the others.
bootstrap = {}
# Largest gossip message or request/response frame, in bytes.
max_message_bytes = {}
# How long a request to a peer waits for its answer.
request_timeout_ms = {}
# How long a peer that sent garbage or invalid signatures stays banned.
ban_secs = {}
# Interval of DHT lookups for validators that are not connected.
discovery_interval_ms = {}

[rpc]
# JSON-RPC over HTTP and WebSocket; "" disables. Binds to loopback unless told otherwise.
listen = {}
# gRPC (with the reflection and health services); "" disables. Loopback unless told otherwise.
grpc_listen = {}
# Limits, per server: open connections; requests per second and burst per client IP (over
# them: JSON-RPC error -32005 / gRPC RESOURCE_EXHAUSTED); request run time; body sizes.
max_connections = {}
rate_per_sec = {}
burst = {}
request_timeout_ms = {}
max_request_bytes = {}
max_response_bytes = {}

[metrics]
# Prometheus endpoint (GET /metrics); "" disables.
listen = {}

[mempool]
# Most pending transactions and bytes; 0 = derived from the genesis block limits.
max_txs = {}
max_bytes = {}

[log]
# tracing filter, e.g. "info" or "maat_node=debug,info" (RUST_LOG wins when set).
level = {}
# "text" or "json".
format = {}

[fault]
# Test builds only (cargo feature fault-injection): "none", "invalid-certificate", "equivocate".
mode = {}
invalid_tx_file = {}
"#,
            path(&self.node.genesis),
            path(&self.node.validator_key),
            path(&self.node.p2p_key),
            path(&self.node.data_dir),
            list(&self.p2p.listen),
            list(&self.p2p.bootstrap),
            self.p2p.max_message_bytes,
            self.p2p.request_timeout_ms,
            self.p2p.ban_secs,
            self.p2p.discovery_interval_ms,
            q(&self.rpc.listen),
            q(&self.rpc.grpc_listen),
            self.rpc.max_connections,
            self.rpc.rate_per_sec,
            self.rpc.burst,
            self.rpc.request_timeout_ms,
            self.rpc.max_request_bytes,
            self.rpc.max_response_bytes,
            q(&self.metrics.listen),
            self.mempool.max_txs,
            self.mempool.max_bytes,
            q(&self.log.level),
            q(&self.log.format),
            q(&self.fault.mode),
            path(&self.fault.invalid_tx_file),
        )
    }
}

fn set(
    table: &mut toml::Table,
    defaults: &toml::Table,
    section: &str,
    key: &str,
    raw: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    let Some(toml::Value::Table(default_section)) = defaults.get(section) else {
        return Err(invalid(origin, format!("unknown section `{section}`")));
    };
    let Some(default_value) = default_section.get(key) else {
        return Err(invalid(
            origin,
            format!("unknown setting `{section}.{key}`"),
        ));
    };
    let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"));
    let value = match (parsed, default_value) {
        (Some(v), _) if v.same_type(default_value) => v,
        (_, toml::Value::Array(_)) => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
        (_, toml::Value::String(_)) => toml::Value::String(raw.to_owned()),
        (_, other) => {
            return Err(invalid(
                origin,
                format!(
                    "`{raw}` is not a {} for `{section}.{key}`",
                    other.type_str()
                ),
            ));
        }
    };
    let entry = table
        .entry(section.to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(t) = entry else {
        return Err(invalid(
            origin,
            format!("`{section}` is not a table in the file"),
        ));
    };
    t.insert(key.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn documented_file_parses_back_to_the_defaults() {
        let d = NodeConfig::default();
        let c = NodeConfig::from_parts(&d.documented_toml(), "f", env(&[]), &[]).unwrap();
        assert_eq!(c, d);
        assert_eq!(NodeConfig::from_parts("", "f", env(&[]), &[]).unwrap(), d);
    }

    #[test]
    fn env_then_flags_override_the_file() {
        let file = "[rpc]\nlisten = \"127.0.0.1:1\"\n[p2p]\nban_secs = 5\n";
        let c = NodeConfig::from_parts(
            file,
            "f",
            env(&[
                ("MAAT_RPC_LISTEN", "127.0.0.1:2"),
                (
                    "MAAT_P2P_BOOTSTRAP",
                    "/ip4/127.0.0.1/tcp/1/p2p/a, /ip4/127.0.0.1/tcp/2/p2p/b",
                ),
                ("MAAT_P2P_MAX_MESSAGE_BYTES", "1048576"),
                ("MAAT_SIM_SCENARIOS", "10"), // not ours
                ("PATH", "/bin"),
            ]),
            &["rpc.listen=127.0.0.1:3".into()],
        )
        .unwrap();
        assert_eq!(c.rpc.listen, "127.0.0.1:3");
        assert_eq!(c.p2p.ban_secs, 5);
        assert_eq!(c.p2p.max_message_bytes, 1 << 20);
        assert_eq!(
            c.p2p.bootstrap,
            vec!["/ip4/127.0.0.1/tcp/1/p2p/a", "/ip4/127.0.0.1/tcp/2/p2p/b"]
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = NodeConfig::from_parts("", "f", env(&[("MAAT_RPC_LISTN", "x")]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MAAT_RPC_LISTN") && e.contains("rpc.listn"),
            "{e}"
        );
        let e = NodeConfig::from_parts("", "f", env(&[]), &["p2p.ban_secs=soon".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("integer"), "{e}");
        let e = NodeConfig::from_parts("[rpc]\nlisten = \"nowhere\"\n", "f", env(&[]), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("rpc.listen"), "{e}");
        let e = NodeConfig::from_parts("[rpc]\nport = 1\n", "cfg.toml", env(&[]), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cfg.toml") && e.contains("port"), "{e}");
    }
}
