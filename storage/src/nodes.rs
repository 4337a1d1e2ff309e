//! The transparency log's [`NodeStore`] over the `log` column family.
//!
//! [`MerkleLog::append_leaf_hashes`](maat_crypto::merkle::MerkleLog::append_leaf_hashes) hands
//! the new nodes to [`NodeStore::append`]; this store only *stages* them, and the commit puts
//! the staged nodes into the block's write batch, so log nodes become durable in the same atomic
//! write as the block that adds them.

use std::cell::RefCell;
use std::sync::Arc;

use maat_crypto::Hash32;
use maat_crypto::merkle::{NodeId, NodeStore};
use rocksdb::DB;

use crate::codec::node_key;
use crate::{CF_LOG, cf};

/// Why a node read failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeStoreError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// A stored node is not 32 bytes, or the column family is missing.
    #[error("transparency log node {0:?} is not a 32-byte hash")]
    Corrupt(NodeId),
}

/// Complete-subtree hashes in the `log` column family (key: level || big-endian index).
pub(crate) struct RocksNodes {
    db: Arc<DB>,
    size: u64,
    /// Nodes appended since the last [`RocksNodes::take_staged`], not yet in the database.
    /// A `RefCell` because `MerkleLog` only lends its store by shared reference.
    staged: RefCell<Vec<(NodeId, Hash32)>>,
}

impl RocksNodes {
    /// The log of `size` leaves stored in `db`.
    pub(crate) fn new(db: Arc<DB>, size: u64) -> Self {
        Self {
            db,
            size,
            staged: RefCell::new(Vec::new()),
        }
    }

    /// Hands over the staged nodes (to be written in the commit's batch).
    pub(crate) fn take_staged(&self) -> Vec<(NodeId, Hash32)> {
        std::mem::take(&mut *self.staged.borrow_mut())
    }
}

impl NodeStore for RocksNodes {
    type Error = NodeStoreError;

    fn tree_size(&self) -> Result<u64, NodeStoreError> {
        Ok(self.size)
    }

    fn get(&self, id: NodeId) -> Result<Option<Hash32>, NodeStoreError> {
        let cf = cf(&self.db, CF_LOG).map_err(|_| NodeStoreError::Corrupt(id))?;
        match self.db.get_pinned_cf(cf, node_key(id))? {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(&*v)
                .map(|h| Some(Hash32(h)))
                .map_err(|_| NodeStoreError::Corrupt(id)),
        }
    }

    fn append(&mut self, new_size: u64, nodes: &[(NodeId, Hash32)]) -> Result<(), NodeStoreError> {
        self.staged.get_mut().extend_from_slice(nodes);
        self.size = new_size;
        Ok(())
    }
}
