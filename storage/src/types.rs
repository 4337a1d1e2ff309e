//! The plain data the store takes and returns: no consensus or ledger types, only bytes and ids.

use std::ops::RangeInclusive;

use maat_crypto::Hash32;

/// A 32-byte object id (block id, transaction id, genesis hash).
pub type Id = [u8; 32];

/// How to open a [`crate::Store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// BLAKE3 hash of the genesis file: recorded by a new database, checked by an existing one.
    pub genesis_hash: Id,
    /// Memtable size per column family in bytes (`None`: RocksDB's default, 64 MiB). Tests use a
    /// small one so that flushes and compactions happen while they crash the process.
    pub write_buffer_size: Option<usize>,
}

impl StoreOptions {
    /// Options for the chain with this genesis hash, everything else default.
    #[must_use]
    pub fn new(genesis_hash: Id) -> Self {
        Self {
            genesis_hash,
            write_buffer_size: None,
        }
    }
}

/// One committed transaction of a [`CommitBatch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommittedTx {
    /// The transaction id.
    pub tx_id: Id,
    /// Its canonical bytes (as they occur in the block bytes, so they can be stored once).
    pub tx_bytes: Vec<u8>,
    /// Its index in the transparency log.
    pub log_index: u64,
    /// For a certificate: the deployment id to index it under.
    pub deployment_id: Option<String>,
    /// For a certificate: the `(service, environment)` to index it under.
    pub service_env: Option<(String, String)>,
    /// For an agent audit record: its place in the agent's audit chain. At most one
    /// transaction may ever hold a given `(agent_id, sequence)`.
    pub audit_record: Option<AuditIndexEntry>,
    /// Attestation subject digests (e.g. `sha256:<hex>`, normalised by the caller) to index the
    /// transaction under; a digest listed twice is indexed once.
    pub subjects: Vec<String>,
}

/// A transaction's place in an agent's audit chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AuditIndexEntry {
    /// The agent whose chain the record belongs to.
    pub agent_id: String,
    /// The record's sequence number in that chain.
    pub sequence: u64,
}

/// Everything one block's commit writes, in one atomic, synced RocksDB write batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitBatch {
    /// The block's height: the last committed height + 1 (any height for the first commit).
    pub height: u64,
    /// The block id.
    pub block_id: Id,
    /// The block's canonical bytes (they contain the transactions).
    pub block_bytes: Vec<u8>,
    /// The quorum certificate that certifies this block.
    pub commit_qc_bytes: Vec<u8>,
    /// The block's transactions, in block order.
    pub txs: Vec<CommittedTx>,
    /// State writes (`Some`) and deletions (`None`), applied in order.
    pub state_changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Leaf hashes appended to the transparency log, in order.
    pub log_leaves: Vec<Hash32>,
    /// Ids of pending records (see [`crate::Store::put_pending`]) the commit makes obsolete.
    pub remove_pending: Vec<Id>,
    /// For the last block of a commit: the child header and QC that commit it directly.
    pub finality: Option<FinalityRecord>,
}

/// What commits a block directly (the two-chain rule): its child's header, whose `justify`
/// certifies the block, and the QC that certifies the child. Opaque canonical bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinalityRecord {
    /// The child's canonical header bytes.
    pub child_header: Vec<u8>,
    /// The child's canonical QC bytes.
    pub child_qc: Vec<u8>,
}

/// Summary of the last committed block, stored in the same batch as the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitMeta {
    /// Height of the last committed block.
    pub height: u64,
    /// Its id.
    pub block_id: Id,
    /// Transparency-log size after it.
    pub log_size: u64,
    /// Transparency-log root after it.
    pub log_root: Hash32,
    /// Height of the first block this database holds.
    pub first_height: u64,
    /// Number of committed transactions.
    pub tx_count: u64,
}

/// A transaction's place: block height and position in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxPos {
    /// Block height.
    pub height: u64,
    /// Position in the block, from 0.
    pub position: u32,
}

impl TxPos {
    /// The next position in key order (`None` after the last).
    #[must_use]
    pub fn next(self) -> Option<Self> {
        match self.position.checked_add(1) {
            Some(position) => Some(Self { position, ..self }),
            None => Some(Self {
                height: self.height.checked_add(1)?,
                position: 0,
            }),
        }
    }

    /// The previous position in key order (`None` before the first).
    #[must_use]
    pub fn prev(self) -> Option<Self> {
        match self.position.checked_sub(1) {
            Some(position) => Some(Self { position, ..self }),
            None => Some(Self {
                height: self.height.checked_sub(1)?,
                position: u32::MAX,
            }),
        }
    }
}

/// A committed transaction as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    /// The transaction id.
    pub tx_id: Id,
    /// Where it is.
    pub pos: TxPos,
    /// Its transparency-log index.
    pub log_index: u64,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
}

/// A committed block as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlock {
    /// Its height.
    pub height: u64,
    /// Its id.
    pub block_id: Id,
    /// Its canonical bytes, exactly as committed.
    pub bytes: Vec<u8>,
}

/// Order of an index query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first.
    #[default]
    Ascending,
    /// Newest first.
    Descending,
}

/// A page request over a transaction index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxQuery {
    /// Block heights to look in (inclusive).
    pub heights: RangeInclusive<u64>,
    /// Continue after this position (in query order): the `next` of the previous page.
    pub after: Option<TxPos>,
    /// Most transactions to return (at least one is returned when any match).
    pub limit: usize,
    /// Oldest or newest first.
    pub order: Order,
}

impl Default for TxQuery {
    fn default() -> Self {
        Self {
            heights: 0..=u64::MAX,
            after: None,
            limit: 100,
            order: Order::Ascending,
        }
    }
}

/// One page of an index query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxPage {
    /// The matching transactions, in query order.
    pub txs: Vec<TxRecord>,
    /// `Some` when more may follow: pass it as [`TxQuery::after`].
    pub next: Option<TxPos>,
}

/// Bytes on disk per column family (live SST files, after [`crate::Store::compact`] the exact
/// on-disk size of the data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskUsage {
    /// `(column family, live SST bytes)`.
    pub per_cf: Vec<(&'static str, u64)>,
    /// Bytes not yet flushed to SST files (in memtables, so also in the write-ahead log).
    pub memtable_bytes: u64,
}

impl DiskUsage {
    /// Sum of the SST bytes of every column family.
    #[must_use]
    pub fn sst_total(&self) -> u64 {
        self.per_cf.iter().map(|(_, b)| b).sum()
    }
}

/// What [`crate::Store::verify_full`] checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Blocks read back and rebuilt.
    pub blocks: u64,
    /// Transactions checked against the id index.
    pub txs: u64,
    /// Transparency-log leaves rehashed.
    pub log_leaves: u64,
    /// Deployment, service/environment, audit chain and subject index entries resolved.
    pub index_entries: u64,
}
