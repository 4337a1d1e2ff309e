//! `maat-storage`: the node's RocksDB database.
//!
//! It holds committed blocks, the QCs that certify them, transactions with their indexes, the
//! ledger state, the transparency log's Merkle nodes, consensus safety data and pending
//! (uncommitted) consensus records. The API is plain data: blocks, QCs and transactions are
//! opaque canonical bytes with their 32-byte ids, state changes are `(key, Option<value>)`, so
//! the ledger and the node wire their own types to it.
//!
//! # Guarantees
//!
//! - **Atomic, durable commits.** [`Store::commit`] writes a block, its QC, its transactions and
//!   their indexes (deployment, service/environment, agent audit chain, subject digest), the
//!   state changes, the transparency-log nodes and the new head record in one RocksDB
//!   `WriteBatch`, with `sync` set: when it returns the block survives a crash (of
//!   the process; of the machine too, as far as the disk honours `fsync`), and a crash before it
//!   returns leaves the previous head with nothing of the block.
//! - **Synced safety data.** [`Store::put_safety`] returns only once the record is on disk, so
//!   a restarted validator never votes twice in a round.
//! - **Checked on open.** [`Store::open`] refuses a database made for another genesis
//!   ([`StoreError::ForeignGenesis`], naming both hashes) and one whose records contradict each
//!   other ([`StoreError::Corrupted`]): the head block must be the last block and match the head
//!   record, nothing may lie above it, the log must hold exactly `size >> l` nodes on every level
//!   `l`, and the log root recomputed from the stored frontier must equal the committed root.
//!   [`Store::verify_full`] reads everything back for a deeper check.
//! - **No panics on disk data.** Every decoder checks lengths; damage is a typed error.
//!
//! # Layout
//!
//! One column family per kind of record. Integers are big-endian (so byte order is numeric
//! order); `pos` is `height (u64) || position in block (u32)`; `str16` is a `u16` length then
//! UTF-8 bytes (length-delimited, so one id's prefix never matches another id).
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | `"format"` / `"genesis"` / `"head"` | format tag `maat-storage/1` / genesis hash (32) / head: version, height, block id, log size, log root, first height, tx count |
//! | `blocks` | height | version, block id, block length, tx count, cuts `(offset, position)*`, skeleton (block bytes minus its transactions) |
//! | `block_ids` | block id | height |
//! | `qcs` | height | the QC certifying that block |
//! | `txs` | pos | tx id, log index, tx bytes |
//! | `tx_ids` | tx id | pos |
//! | `idx_deployment` | `str16` deployment id, pos | empty |
//! | `idx_service_env` | `str16` service, `str16` environment, pos | empty |
//! | `idx_audit` | `str16` agent id, sequence (u64) | pos |
//! | `idx_subject` | `str16` subject digest, pos | empty |
//! | `state` | ledger key | ledger value |
//! | `log` | level (u8), index (u64) | SHA-256 of that complete subtree (RFC 6962) |
//! | `safety` | `"safety"` | the consensus safety record |
//! | `pending` | record id | a pending block or QC |
//! | `finality` | height | the child header and child QC that commit that block directly (u32-length-prefixed header, then the QC) |
//! | `checkpoints` | tree size | a cosigned checkpoint (C2SP signed note, UTF-8) |
//!
//! `idx_audit` holds each `(agent id, sequence)` at most once: a commit repeating one is refused.
//! A database written before `idx_audit` and `idx_subject` existed opens as is: missing column
//! families are created empty on open, so blocks committed before have no entries there (the
//! store cannot derive them from opaque transaction bytes).
//!
//! **Transactions are stored once.** A block's bytes contain its transactions; on commit each
//! transaction whose bytes occur verbatim in the block bytes (as they do for an embedded
//! canonical message) is cut out, and the block keeps only the *skeleton* and the cut offsets.
//! Reading a block splices the transactions back (one range scan of `txs`) and checks the
//! length. A transaction not found verbatim simply stays in the skeleton too: correct, only
//! stored twice.
//!
//! Measured (`cargo bench -p maat-storage --bench commit`, 100-transaction blocks of 4,800-byte
//! incompressible certificate transactions, after compaction): 5,427 bytes on disk per
//! certificate, 1.13 times its size: the transaction record 4,888 (its bytes, tx id, log
//! index, key, SST index), block skeleton 115 and QC 101 (two QCs of three ML-DSA-65
//! signatures shared by 100 transactions), tx id index 44, deployment and service indexes 11,
//! log nodes 90, and the deployment record the ledger keeps in `state` 178. Real certificate
//! JSON compresses under LZ4: 3,267 bytes per 4,933-byte certificate (0.66 times).
//!
//! The transparency log is [`maat_crypto::merkle::MerkleLog`] over the `log` column family: its
//! appends are staged and written in the commit's batch, so log and blocks never disagree.
//!
//! # Not here (yet)
//! Pruning old blocks (the head records `first_height` for it) and state snapshots.

#![deny(missing_docs)]

mod codec;
mod error;
mod nodes;
mod store;
mod types;
mod verify;

pub use error::{Result, StoreError};
pub use nodes::NodeStoreError;
pub use store::Store;
pub use types::{
    AuditIndexEntry, CommitBatch, CommitMeta, CommittedTx, DiskUsage, FinalityRecord, Id, Order,
    StoreOptions, StoredBlock, TxPage, TxPos, TxQuery, TxRecord, VerifyReport,
};

/// Column family `meta`: format, genesis hash, head record.
pub const CF_META: &str = "meta";
/// Column family `blocks`: block skeletons by height.
pub const CF_BLOCKS: &str = "blocks";
/// Column family `block_ids`: block id to height.
pub const CF_BLOCK_IDS: &str = "block_ids";
/// Column family `qcs`: the certifying QC by height.
pub const CF_QCS: &str = "qcs";
/// Column family `txs`: transactions by (height, position).
pub const CF_TXS: &str = "txs";
/// Column family `tx_ids`: transaction id to (height, position).
pub const CF_TX_IDS: &str = "tx_ids";
/// Column family `idx_deployment`: certificates by deployment id.
pub const CF_IDX_DEPLOYMENT: &str = "idx_deployment";
/// Column family `idx_service_env`: certificates by (service, environment).
pub const CF_IDX_SERVICE_ENV: &str = "idx_service_env";
/// Column family `idx_audit`: agent audit records by (agent id, sequence); the value is the
/// record's position.
pub const CF_IDX_AUDIT: &str = "idx_audit";
/// Column family `idx_subject`: transactions by attestation subject digest.
pub const CF_IDX_SUBJECT: &str = "idx_subject";
/// Column family `state`: the ledger's committed state.
pub const CF_STATE: &str = "state";
/// Column family `log`: transparency-log complete-subtree hashes.
pub const CF_LOG: &str = "log";
/// Column family `safety`: the consensus safety record.
pub const CF_SAFETY: &str = "safety";
/// Column family `pending`: uncommitted consensus records by id.
pub const CF_PENDING: &str = "pending";

/// Column family `finality`: for a block committed directly by the two-chain rule, its child's
/// header and the child's QC (the second half of a finality proof).
pub const CF_FINALITY: &str = "finality";
/// Column family `checkpoints`: cosigned transparency-log checkpoints by tree size.
pub const CF_CHECKPOINTS: &str = "checkpoints";

/// Every column family the store uses (besides RocksDB's `default`, which stays empty).
pub const ALL_CFS: &[&str] = &[
    CF_META,
    CF_BLOCKS,
    CF_BLOCK_IDS,
    CF_QCS,
    CF_TXS,
    CF_TX_IDS,
    CF_IDX_DEPLOYMENT,
    CF_IDX_SERVICE_ENV,
    CF_IDX_AUDIT,
    CF_IDX_SUBJECT,
    CF_STATE,
    CF_LOG,
    CF_SAFETY,
    CF_PENDING,
    CF_FINALITY,
    CF_CHECKPOINTS,
];

/// A column family handle; every one is created on open, so a missing one is corruption.
fn cf<'a>(db: &'a rocksdb::DB, name: &str) -> Result<&'a rocksdb::ColumnFamily> {
    db.cf_handle(name)
        .ok_or_else(|| StoreError::corrupted(format!("column family '{name}' is missing")))
}
