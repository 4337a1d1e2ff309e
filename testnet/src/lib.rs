//! `maat-testnet`: a local network of real `maatd` processes on 127.0.0.1, for newcomers
//! (`demo`), operators trying things (`init`, `up`, `status`, `down`) and measurements (`load`,
//! `chaos`, the `load` bench). The binary is `src/bin/maat-testnet.rs`; see `docs/TESTNET.md`.
//!
//! - [`net`]: the testnet directory (manifest, homes, ports) and the node processes.
//! - [`load`]: an open-loop load generator that measures submit-to-finalized latency from the
//!   client side and resubmits what a crashed node may have lost.
//! - [`chaos`]: faults (SIGKILL, SIGSTOP/SIGCONT, restarts) on a schedule while load runs, then
//!   the check that every node holds the same chain and no acknowledged transaction is missing.
//! - [`demo`]: the first-run walkthrough ending with an offline-verified receipt.
//! - [`compose`]: the Docker Compose file for a testnet directory.

pub mod chaos;
pub mod compose;
pub mod demo;
pub mod load;
pub mod net;

use std::path::PathBuf;

/// Why a testnet operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TestnetError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A node home could not be written or read.
    #[error(transparent)]
    Home(#[from] maat_node::home::HomeError),
    /// The testnet directory or an option is not usable.
    #[error("{0}")]
    Config(String),
    /// `maatd` could not be started.
    #[error("cannot start {path}: {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A signal could not be sent.
    #[error("{node}: {reason}")]
    Signal {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// A node exited on its own.
    #[error("{node} exited; the end of its log:\n{log_tail}")]
    Exited {
        /// The node.
        node: String,
        /// The last lines of its log.
        log_tail: String,
    },
    /// A node API call failed.
    #[error(transparent)]
    Rpc(#[from] maat_sdk::client::ClientError),
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A node's database could not be read for the end-of-run check.
    #[error("{node}: reading its database: {reason}")]
    Store {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// A finality proof did not verify.
    #[error("the finality proof does not verify: {0}")]
    Proof(String),
}
