//! Typed errors of the store.

use std::path::PathBuf;

use maat_crypto::Hash32;
use maat_crypto::merkle::MerkleError;

/// Everything a [`crate::Store`] operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB itself failed (IO error, lock held by another process, background error).
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),

    /// The database was created for another chain.
    #[error(
        "database at {} belongs to another chain: it was created for genesis {stored}, but this \
         node runs genesis {expected}; refusing to open it (use an empty data directory for this \
         chain, or start the node with the genesis file this database was made for)",
        path.display()
    )]
    ForeignGenesis {
        /// The database directory.
        path: PathBuf,
        /// The genesis hash recorded in the database.
        stored: Hash32,
        /// The genesis hash the store was opened with.
        expected: Hash32,
    },

    /// Stored data contradicts itself or does not decode: the database must not be used.
    #[error(
        "storage is corrupted: {what}; refusing to run on it (restore a backup or resync into an \
         empty data directory)"
    )]
    Corrupted {
        /// What is wrong, naming the record.
        what: String,
    },

    /// The database was written by an incompatible version of this crate.
    #[error("database format {found:?} is not supported (this build reads {supported:?})")]
    UnsupportedFormat {
        /// The stored format tag.
        found: String,
        /// The format this build reads and writes.
        supported: &'static str,
    },

    /// A commit whose height does not follow the last committed one.
    #[error("commit of height {got} refused: the next height is {expected}")]
    HeightMismatch {
        /// The height the store expects.
        expected: u64,
        /// The height of the refused batch.
        got: u64,
    },

    /// A commit of a block id that is already stored.
    #[error("block {0} is already committed")]
    DuplicateBlock(Hash32),

    /// A commit containing a transaction id that is already stored (or twice in the batch).
    #[error("transaction {0} is already committed")]
    DuplicateTx(Hash32),

    /// A commit batch that is malformed (a caller bug): nothing was written.
    #[error("invalid commit batch: {0}")]
    InvalidBatch(String),

    /// The transparency log refused an operation (e.g. a proof for a size it does not have).
    #[error("transparency log: {0}")]
    Log(#[from] MerkleError),

    /// A previous operation panicked while holding the commit lock; reopen the store.
    #[error("the store's commit state was poisoned by a panic; reopen the store")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn corrupted(what: impl Into<String>) -> Self {
        Self::Corrupted { what: what.into() }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
