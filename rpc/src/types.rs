//! The results of the API: what [`crate::NodeApi`] returns and what goes over the wire
//! (serde: ids and bytes as hex).

use maat_proto::TxId;
use serde::{Deserialize, Serialize};

use crate::hex_serde;

/// The receipt of an admitted transaction (`maat_submitTx`): `{"tx_id": hex}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitReceipt {
    /// The transaction id (BLAKE3 over the canonical payload).
    #[serde(with = "hex_serde::id")]
    pub tx_id: [u8; 32],
}

impl SubmitReceipt {
    /// The id as a [`TxId`].
    #[must_use]
    pub fn id(&self) -> TxId {
        TxId(self.tx_id)
    }
}

impl From<TxId> for SubmitReceipt {
    fn from(id: TxId) -> Self {
        SubmitReceipt { tx_id: id.0 }
    }
}

/// Where a transaction is (`maat_getTx`). On the wire: an object tagged by `status`
/// (`"unknown"`, `"pending"`, `"finalized"`, `"rejected"`) with the variant's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// The node knows nothing of this id (never seen, or a rejection it no longer remembers).
    Unknown,
    /// In this node's mempool, not committed yet.
    Pending,
    /// Committed: in block `height` at `position`, appended to the log at `log_index`.
    Finalized {
        /// The block height.
        height: u64,
        /// The index in the block's transaction list.
        position: u32,
        /// The index in the chain's append-only log.
        log_index: u64,
    },
    /// Refused (reported only while the node remembers it).
    Rejected {
        /// The stable string code (a ledger or mempool code, e.g. `CERTIFICATE_REJECTED`).
        code: String,
        /// The stable numeric code (e.g. 1401).
        numeric_code: u32,
        /// Detail codes (the maat-v1 checker's failure codes); on the wire `codes`.
        #[serde(rename = "codes", default)]
        details: Vec<String>,
    },
}

impl TxStatus {
    /// Whether the status is final (`Finalized` or `Rejected`).
    #[must_use]
    pub fn is_final(&self) -> bool {
        matches!(self, TxStatus::Finalized { .. } | TxStatus::Rejected { .. })
    }
}

/// The node's view of the chain (`maat_status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The chain id.
    pub chain_id: String,
    /// The genesis hash (hex on the wire).
    #[serde(with = "hex_serde::id")]
    pub genesis_hash: [u8; 32],
    /// The height of the last committed block (0: genesis only).
    pub height: u64,
    /// The consensus round the node is in.
    pub round: u64,
    /// Connected peers.
    pub peers: u32,
    /// Whether the node is catching up.
    pub syncing: bool,
    /// The node's validator index, `None` (null) for a full node.
    pub validator: Option<u32>,
    /// Transactions in the mempool.
    pub mempool_txs: u64,
    /// Entries in the committed log.
    pub log_size: u64,
}

/// A committed block (`maat_getBlock`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// The height.
    pub height: u64,
    /// The block id (hex on the wire).
    #[serde(with = "hex_serde::id")]
    pub block_id: [u8; 32],
    /// The block's canonical bytes (hex on the wire).
    #[serde(with = "hex_serde::bytes")]
    pub bytes: Vec<u8>,
    /// The ids of its transactions, in block order (hex on the wire).
    #[serde(with = "hex_serde::ids")]
    pub tx_ids: Vec<[u8; 32]>,
    /// The block timestamp (ms since the UNIX epoch).
    pub timestamp_ms: u64,
}
