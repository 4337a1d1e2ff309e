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

/// Which block (`maat_getBlock`): by height, by id, or the latest committed one. On the wire: an
/// integer (a height), a 64-character hex string (an id), or the string `"latest"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockRef {
    /// The committed block at this height.
    Height(u64),
    /// The committed block with this id.
    Id([u8; 32]),
    /// The last committed block.
    Latest,
}

impl From<u64> for BlockRef {
    fn from(height: u64) -> Self {
        BlockRef::Height(height)
    }
}

impl From<[u8; 32]> for BlockRef {
    fn from(id: [u8; 32]) -> Self {
        BlockRef::Id(id)
    }
}

impl std::fmt::Display for BlockRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockRef::Height(h) => write!(f, "{h}"),
            BlockRef::Id(id) => f.write_str(&hex::encode(id)),
            BlockRef::Latest => f.write_str("latest"),
        }
    }
}

impl Serialize for BlockRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BlockRef::Height(h) => s.serialize_u64(*h),
            BlockRef::Id(id) => s.serialize_str(&hex::encode(id)),
            BlockRef::Latest => s.serialize_str("latest"),
        }
    }
}

impl<'de> Deserialize<'de> for BlockRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = BlockRef;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a block height (an integer >= 0), a block id (64 hex characters) or \"latest\"",
                )
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<BlockRef, E> {
                Ok(BlockRef::Height(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<BlockRef, E> {
                u64::try_from(v)
                    .map(BlockRef::Height)
                    .map_err(|_| E::custom(format!("a block height cannot be negative: {v}")))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BlockRef, E> {
                if v == "latest" {
                    return Ok(BlockRef::Latest);
                }
                hex_serde::decode32(v).map(BlockRef::Id).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A committed block (`maat_getBlock`, `maat_getLatestBlock`).
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
    /// The consensus round it was proposed in.
    pub round: u64,
    /// The parent block's id (hex on the wire).
    #[serde(with = "hex_serde::id")]
    pub parent: [u8; 32],
    /// The proposer's validator index.
    pub proposer: u32,
    /// The size of the transparency log after this block.
    pub log_size: u64,
    /// The log's root after this block (hex on the wire).
    #[serde(with = "hex_serde::id")]
    pub log_root: [u8; 32],
}

/// A checkpoint of the transparency log (`maat_getCheckpoint`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// The number of log entries it commits to.
    pub tree_size: u64,
    /// The RFC 6962 root over those entries (hex on the wire).
    #[serde(with = "hex_serde::id")]
    pub root: [u8; 32],
    /// The C2SP signed note: the note body and its signature lines.
    pub note: String,
    /// How many validators signed it.
    pub cosigners: u32,
    /// How many signatures make it final (2f+1).
    pub quorum: u32,
    /// Whether it has a quorum of signatures.
    pub is_final: bool,
}

/// An RFC 6962 consistency proof between two log sizes (`maat_getConsistencyProof`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older size.
    pub old_size: u64,
    /// The newer size.
    pub new_size: u64,
    /// The proof's hashes (hex on the wire).
    #[serde(with = "hex_serde::ids")]
    pub path: Vec<[u8; 32]>,
}

/// An RFC 6962 inclusion proof (`maat_getInclusionProof`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The entry's index in the log.
    pub leaf_index: u64,
    /// The log size the proof is for.
    pub tree_size: u64,
    /// The audit path, leaf to root (hex on the wire).
    #[serde(with = "hex_serde::ids")]
    pub path: Vec<[u8; 32]>,
}

/// Where a committed transaction is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRef {
    /// The transaction id (hex on the wire).
    #[serde(with = "hex_serde::id")]
    pub tx_id: [u8; 32],
    /// The block height.
    pub height: u64,
    /// The index in the block.
    pub position: u32,
    /// The index in the log.
    pub log_index: u64,
}

/// A deployment (`maat_getDeployment`): its ledger record and the transactions about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentInfo {
    /// The deployment id.
    pub deployment_id: String,
    /// The ledger's record of the deployment (JSON).
    pub record: serde_json::Value,
    /// The transactions concerning it, in log order.
    pub txs: Vec<TxRef>,
}

/// A validator (`maat_validators`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// The validator index.
    pub index: u32,
    /// The validator's name in the genesis file.
    pub id: String,
    /// Its consensus key, `"mldsa65:<base64>"`.
    pub public_key: String,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its voting power.
    pub voting_power: u64,
}

/// A node event, pushed to subscribers (`maat_subscribe`, gRPC `Subscribe`). On the wire: an
/// object tagged by `type` (`"new_block"`, `"finalized_tx"`, `"equivocation"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeEvent {
    /// A block was committed.
    NewBlock {
        /// Its height.
        height: u64,
        /// Its id (hex on the wire).
        #[serde(with = "hex_serde::id")]
        block_id: [u8; 32],
        /// Its number of transactions.
        tx_count: u32,
        /// Its timestamp (ms since the UNIX epoch).
        timestamp_ms: u64,
        /// The log size after it.
        log_size: u64,
    },
    /// A transaction was committed.
    FinalizedTx {
        /// The transaction id (hex on the wire).
        #[serde(with = "hex_serde::id")]
        tx_id: [u8; 32],
        /// The block height.
        height: u64,
        /// The index in the block.
        position: u32,
        /// The index in the log.
        log_index: u64,
        /// The body kind, the ledger's `TxKind` name: `"certificate"`, `"identity_op"`,
        /// `"policy_op"`.
        kind: String,
        /// The submitter's identity id.
        submitter: String,
        /// The service a certificate or policy is about.
        service: Option<String>,
        /// The environment a certificate or policy is about.
        environment: Option<String>,
        /// The agent: a certificate's requester or an audit record's agent (both are the
        /// submitter).
        agent: Option<String>,
    },
    /// A validator signed two conflicting messages for one round.
    Equivocation {
        /// The culprit's validator index.
        culprit: u32,
        /// The round.
        round: u64,
        /// `"vote"` or `"proposal"`.
        kind: String,
        /// The two signed messages (canonical bytes, hex on the wire).
        #[serde(with = "hex_serde::bytes")]
        evidence: Vec<u8>,
    },
}

/// What a subscription delivers (`maat_subscribe`'s `kind`): `"newBlocks"`, `"finalizedTxs"`
/// or `"equivocations"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionKind {
    /// [`NodeEvent::NewBlock`].
    NewBlocks,
    /// [`NodeEvent::FinalizedTx`], optionally filtered ([`EventFilter`]).
    FinalizedTxs,
    /// [`NodeEvent::Equivocation`].
    Equivocations,
}

impl SubscriptionKind {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::NewBlocks => "newBlocks",
            SubscriptionKind::FinalizedTxs => "finalizedTxs",
            SubscriptionKind::Equivocations => "equivocations",
        }
    }
}

/// A filter of `finalizedTxs` subscriptions: every field given must equal the event's (an event
/// without that field does not match). `{}` (or no filter) matches every transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// The service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

impl EventFilter {
    /// Whether no field is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.service.is_none() && self.environment.is_none() && self.agent.is_none()
    }

    /// Whether `event` belongs to a subscription of `kind` with this filter.
    #[must_use]
    pub fn matches(&self, kind: SubscriptionKind, event: &NodeEvent) -> bool {
        fn field(want: Option<&String>, have: Option<&String>) -> bool {
            want.is_none_or(|w| have == Some(w))
        }
        match (kind, event) {
            (SubscriptionKind::NewBlocks, NodeEvent::NewBlock { .. })
            | (SubscriptionKind::Equivocations, NodeEvent::Equivocation { .. }) => true,
            (
                SubscriptionKind::FinalizedTxs,
                NodeEvent::FinalizedTx {
                    service,
                    environment,
                    agent,
                    ..
                },
            ) => {
                field(self.service.as_ref(), service.as_ref())
                    && field(self.environment.as_ref(), environment.as_ref())
                    && field(self.agent.as_ref(), agent.as_ref())
            }
            _ => false,
        }
    }
}

/// Where an index page continues: the block position of the last entry returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub position: u32,
}

/// One committed audit record (`maat_getAuditRecord`, `maat_getAuditChain`, REST
/// `GET /v1/proof/{id}`): the transaction's fields, its record hash, and where it is in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecordInfo {
    /// The transaction id.
    #[serde(with = "hex_serde::id")]
    pub tx_id: [u8; 32],
    /// The block height.
    pub height: u64,
    /// The transparency-log index.
    pub log_index: u64,
    /// The agent identity.
    pub agent_id: String,
    /// The session.
    pub session_id: String,
    /// `intent_evaluated`, `gate_decision`, `escalation_created` or `escalation_resolved`.
    pub event_type: String,
    /// `low`, `medium`, `high` or `critical`.
    pub risk: String,
    /// The agent's timestamp, milliseconds since the UNIX epoch.
    pub timestamp_ms: u64,
    /// Position in the agent's chain, from 1.
    pub sequence: u64,
    /// The previous record's record hash (zeros for the first).
    #[serde(with = "hex_serde::id")]
    pub previous_hash: [u8; 32],
    /// This record's hash (what the next record's `previous_hash` names).
    #[serde(with = "hex_serde::id")]
    pub record_hash: [u8; 32],
    /// The record's data object, parsed; `null` when a number in it is beyond what a 64-bit
    /// float holds (the ledger accepts any canonical JSON number): `data_json` is authoritative.
    pub data: serde_json::Value,
    /// The record's data exactly as signed: canonical JSON text.
    pub data_json: String,
    /// The canonical transaction bytes (what the log leaf hashes).
    #[serde(with = "hex_serde::bytes")]
    pub tx: Vec<u8>,
    /// The finality proof (only in `maat_getAuditRecord` / `GET /v1/proof/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finality_proof: Option<maat_ledger::finality::FinalityProof>,
}

/// A page of an agent's audit chain (`maat_getAuditChain`), in sequence order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditChainPage {
    /// The agent.
    pub agent_id: String,
    /// The chain's length (its last committed sequence; 0: no record).
    pub length: u64,
    /// The records, from the requested sequence on.
    pub records: Vec<AuditRecordInfo>,
    /// The sequence to ask for next, if the chain goes on.
    pub next: Option<u64>,
}

/// The node's end-to-end check of an agent's chain (`maat_verifyAuditChain`, REST
/// `GET /v1/proof/verify/{id}`): every record from 1 to `to` decoded again, its record hash
/// recomputed, sequence and link checked, its log leaf recomputed against the stored log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChainVerification {
    /// The agent.
    pub agent_id: String,
    /// The last sequence checked.
    pub to_sequence: u64,
    /// Records checked.
    pub records_checked: u64,
    /// True when no problem was found.
    pub valid: bool,
    /// The record hash of record `to_sequence`.
    #[serde(with = "hex_serde::id")]
    pub head_record_hash: [u8; 32],
    /// What is wrong, each naming the sequence; empty when valid.
    pub problems: Vec<String>,
}

/// One committed attestation (`maat_getAttestation`, `maat_getAttestationsBySubject`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttestationInfo {
    /// The transaction id.
    #[serde(with = "hex_serde::id")]
    pub tx_id: [u8; 32],
    /// The block height.
    pub height: u64,
    /// The transparency-log index (what a certificate's `attestation_ref` cites).
    pub log_index: u64,
    /// The in-toto predicate type.
    pub predicate_type: String,
    /// Every subject digest, `<algorithm>:<hex>`, sorted.
    pub subjects: Vec<String>,
    /// The identities whose DSSE signatures verified, sorted.
    pub signers: Vec<String>,
    /// The DSSE envelope in its standard JSON form.
    pub envelope: serde_json::Value,
}

/// A page of the attestations naming one subject digest (`maat_getAttestationsBySubject`),
/// oldest first. Complete: the index is written in the block's commit batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttestationPage {
    /// The normalized digest asked for.
    pub subject: String,
    /// The attestations.
    pub attestations: Vec<AttestationInfo>,
    /// Pass as `after` for the next page; null when there is no more.
    pub next: Option<PageCursor>,
}
