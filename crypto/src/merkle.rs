//! The transparency log's Merkle tree: RFC 6962 / RFC 9162 with SHA-256.
//!
//! - leaf hash `SHA-256(0x00 || data)`, interior node `SHA-256(0x01 || left || right)`, and the
//!   root of the empty tree `SHA-256("")`;
//! - the tree over `n` leaves splits at the largest power of two below `n` (RFC 6962 section 2.1),
//!   so any RFC 6962/9162 verifier can check our proofs.
//!
//! # Storage
//!
//! [`MerkleLog`] keeps only the hashes of *complete* subtrees in a [`NodeStore`], addressed by
//! [`NodeId`] `(level, index)`: the node at level `l`, index `i` covers leaves
//! `[i * 2^l, (i + 1) * 2^l)`. Complete subtrees never change in an append-only log, so stored
//! nodes are written once and never updated, which suits a key-value store such as RocksDB.
//! Each append writes the new leaf and the subtrees it completes (amortised two nodes) in one
//! [`NodeStore::append`] call together with the new size, which a database implements as one
//! atomic batch. The right edge of the tree (one hash per set bit of the size) is kept in memory
//! as a [`Frontier`], so the current root costs no reads, and `root_at`, `inclusion_proof` and
//! `consistency_proof` read O(log n) nodes.
//!
//! # Verification
//!
//! [`verify_inclusion`] and [`verify_consistency`] follow RFC 9162 sections 2.1.3.2 and 2.1.4.2
//! step by step, and need nothing but the hashes.

use sha2::{Digest as _, Sha256};

use crate::hash::Hash32;

/// Root of the empty tree: `SHA-256("")`.
pub const EMPTY_ROOT: Hash32 = Hash32([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// `SHA-256(0x00 || data)`: the hash of a log entry.
#[must_use]
pub fn leaf_hash(data: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash32(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
#[must_use]
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash32(h.finalize().into())
}

/// Address of a complete subtree: level `level` (0 = leaves), index `index` within the level.
/// It covers leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves; a leaf is level 0.
    pub level: u8,
    /// Position within the level, from the left.
    pub index: u64,
}

/// Errors of [`MerkleLog`] operations.
#[derive(Debug, thiserror::Error)]
pub enum MerkleError {
    /// A leaf index that is not below the tree size it was asked against.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A tree size larger than the log, or zero where a non-empty tree is needed.
    #[error("tree size {size} is not available (the log has {tree_size} leaves)")]
    SizeOutOfRange {
        /// The requested size.
        size: u64,
        /// The log's size.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger to a smaller size.
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// A node that must exist for the log's size is missing: the store is inconsistent.
    #[error("node store is missing node {0:?}")]
    MissingNode(NodeId),
    /// The log has 2^64 - 1 leaves.
    #[error("the log is full")]
    Full,
    /// The node store failed.
    #[error("node store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// `index >= size` (RFC 9162 2.1.3.2 step 1).
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// `old_size > new_size`.
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof has more hashes than the tree shape allows.
    #[error("proof is too long")]
    ProofTooLong,
    /// The proof has fewer hashes than the tree shape requires (or is empty).
    #[error("proof is too short")]
    ProofTooShort,
    /// The inclusion proof leads to another root.
    #[error("computed root does not match")]
    RootMismatch,
    /// The consistency proof does not lead to the old root.
    #[error("computed old root does not match")]
    OldRootMismatch,
    /// The consistency proof does not lead to the new root.
    #[error("computed new root does not match")]
    NewRootMismatch,
}

// ---------------------------------------------------------------------------------------------
// Storage

/// Storage of complete-subtree hashes. A RocksDB column family (key = level || big-endian index)
/// implements it in the storage crate; [`MemoryNodeStore`] is the in-memory one.
pub trait NodeStore {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Number of leaves the stored nodes describe (0 for a new store).
    ///
    /// # Errors
    /// When the store fails.
    fn tree_size(&self) -> Result<u64, Self::Error>;

    /// The hash of a complete subtree, or `None` if it is not stored.
    ///
    /// # Errors
    /// When the store fails.
    fn get(&self, id: NodeId) -> Result<Option<Hash32>, Self::Error>;

    /// Adds `nodes` (the new leaves and the subtrees they complete) and sets the size to
    /// `new_size`, all or nothing. Nodes come in append order and never replace stored ones.
    ///
    /// # Errors
    /// When the store fails; the log is then unchanged.
    fn append(&mut self, new_size: u64, nodes: &[(NodeId, Hash32)]) -> Result<(), Self::Error>;
}

/// Error of [`MemoryNodeStore`]: nodes must arrive in append order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node {0:?} appended out of order")]
pub struct OutOfOrder(pub NodeId);

/// An in-memory [`NodeStore`]: one vector of hashes per level.
#[derive(Debug, Clone, Default)]
pub struct MemoryNodeStore {
    levels: Vec<Vec<Hash32>>,
    size: u64,
}

impl MemoryNodeStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored nodes, all levels together.
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }
}

impl NodeStore for MemoryNodeStore {
    type Error = OutOfOrder;

    fn tree_size(&self) -> Result<u64, OutOfOrder> {
        Ok(self.size)
    }

    fn get(&self, id: NodeId) -> Result<Option<Hash32>, OutOfOrder> {
        let level = self.levels.get(usize::from(id.level));
        let index = usize::try_from(id.index).ok();
        Ok(level.zip(index).and_then(|(l, i)| l.get(i)).copied())
    }

    fn append(&mut self, new_size: u64, nodes: &[(NodeId, Hash32)]) -> Result<(), OutOfOrder> {
        // Validate everything first so a bad batch changes nothing.
        let mut lens: Vec<usize> = self.levels.iter().map(Vec::len).collect();
        for (id, _) in nodes {
            let l = usize::from(id.level);
            if lens.len() <= l {
                lens.resize(l + 1, 0);
            }
            if usize::try_from(id.index).ok() != Some(lens[l]) {
                return Err(OutOfOrder(*id));
            }
            lens[l] += 1;
        }
        for (id, h) in nodes {
            let l = usize::from(id.level);
            if self.levels.len() <= l {
                self.levels.resize_with(l + 1, Vec::new);
            }
            self.levels[l].push(*h);
        }
        self.size = new_size;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Frontier

/// The right edge of a tree: the roots of its complete subtrees from left to right, one per set
/// bit of the size (largest first). Enough to append and to compute the root, with no storage.
///
/// Clone it to compute the log root after a speculative block without touching the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash32>,
}

impl Frontier {
    /// The frontier of the empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree root ([`EMPTY_ROOT`] for size 0).
    #[must_use]
    pub fn root(&self) -> Hash32 {
        // RFC 6962 splits at the largest power of two, so the root is the complete subtrees
        // combined from the right.
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else {
            return EMPTY_ROOT;
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Appends a leaf hash.
    ///
    /// # Errors
    /// [`MerkleError::Full`] at 2^64 - 1 leaves.
    pub fn push(&mut self, leaf: Hash32) -> Result<(), MerkleError> {
        self.push_recording(leaf, &mut Vec::new())
    }

    /// Appends a leaf hash and records the leaf and every subtree it completes.
    fn push_recording(
        &mut self,
        leaf: Hash32,
        out: &mut Vec<(NodeId, Hash32)>,
    ) -> Result<(), MerkleError> {
        let new_size = self.size.checked_add(1).ok_or(MerkleError::Full)?;
        let mut id = NodeId {
            level: 0,
            index: self.size,
        };
        let mut cur = leaf;
        out.push((id, cur));
        // A right child completes its parent; the left sibling is the last frontier entry.
        while id.index & 1 == 1 {
            let Some(left) = self.nodes.pop() else {
                // Unreachable for a consistent frontier (a set low bit means an entry exists).
                return Err(MerkleError::MissingNode(NodeId {
                    level: id.level,
                    index: id.index - 1,
                }));
            };
            cur = node_hash(&left, &cur);
            id = NodeId {
                level: id.level + 1,
                index: id.index >> 1,
            };
            out.push((id, cur));
        }
        self.nodes.push(cur);
        self.size = new_size;
        Ok(())
    }

    /// Reads the frontier of a tree of `size` leaves from a store.
    fn load<S: NodeStore>(store: &S, size: u64) -> Result<Self, MerkleError> {
        let nodes = perfect_pieces(0, size)
            .map(|id| get_node(store, id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { size, nodes })
    }
}

/// The complete subtrees that make up leaves `[start, start + len)`, left to right, largest
/// first. `start` must be a multiple of the largest power of two not above `len`, which holds
/// for every range the RFC 6962 recursion visits.
fn perfect_pieces(start: u64, len: u64) -> impl Iterator<Item = NodeId> {
    let mut offset = start;
    (0..64u8).rev().filter_map(move |level| {
        let width = 1u64 << level;
        if len & width == 0 {
            return None;
        }
        let id = NodeId {
            level,
            index: offset >> level,
        };
        offset = offset.wrapping_add(width);
        Some(id)
    })
}

/// The largest power of two strictly below `n` (`n >= 2`): RFC 6962's split point `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

fn get_node<S: NodeStore>(store: &S, id: NodeId) -> Result<Hash32, MerkleError> {
    store
        .get(id)
        .map_err(|e| MerkleError::Store(Box::new(e)))?
        .ok_or(MerkleError::MissingNode(id))
}

// ---------------------------------------------------------------------------------------------
// The log

/// An append-only RFC 6962 Merkle tree over a [`NodeStore`].
#[derive(Debug)]
pub struct MerkleLog<S> {
    store: S,
    frontier: Frontier,
}

impl MerkleLog<MemoryNodeStore> {
    /// An empty in-memory log.
    #[must_use]
    pub fn new() -> Self {
        Self {
            store: MemoryNodeStore::new(),
            frontier: Frontier::new(),
        }
    }
}

impl Default for MerkleLog<MemoryNodeStore> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: NodeStore> MerkleLog<S> {
    /// Opens the log held by `store` (reads one node per set bit of its size).
    ///
    /// # Errors
    /// [`MerkleError::Store`] or [`MerkleError::MissingNode`].
    pub fn open(store: S) -> Result<Self, MerkleError> {
        let size = store
            .tree_size()
            .map_err(|e| MerkleError::Store(Box::new(e)))?;
        let frontier = Frontier::load(&store, size)?;
        Ok(Self { store, frontier })
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root ([`EMPTY_ROOT`] when empty). No store reads.
    #[must_use]
    pub fn root(&self) -> Hash32 {
        self.frontier.root()
    }

    /// The right edge of the current tree; clone it to compute roots of speculative appends.
    #[must_use]
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The underlying store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    #[must_use]
    pub fn into_store(self) -> S {
        self.store
    }

    /// Appends an entry (hashed as a leaf: `SHA-256(0x00 || data)`) and returns its index.
    ///
    /// # Errors
    /// [`MerkleError::Store`] (the log is then unchanged) or [`MerkleError::Full`].
    pub fn append(&mut self, leaf_data: &[u8]) -> Result<u64, MerkleError> {
        self.append_leaf_hashes(&[leaf_hash(leaf_data)])
    }

    /// Appends an already computed leaf hash and returns its index.
    ///
    /// # Errors
    /// As [`MerkleLog::append`].
    pub fn append_leaf_hash(&mut self, leaf: Hash32) -> Result<u64, MerkleError> {
        self.append_leaf_hashes(&[leaf])
    }

    /// Appends leaf hashes in one store write (e.g. a block's transactions) and returns the index
    /// of the first.
    ///
    /// # Errors
    /// As [`MerkleLog::append`].
    pub fn append_leaf_hashes(&mut self, leaves: &[Hash32]) -> Result<u64, MerkleError> {
        let first = self.frontier.size();
        // Work on a copy so a failed store write leaves the log as it was.
        let mut next = self.frontier.clone();
        let mut nodes = Vec::with_capacity(leaves.len() * 2 + 64);
        for leaf in leaves {
            next.push_recording(*leaf, &mut nodes)?;
        }
        self.store
            .append(next.size(), &nodes)
            .map_err(|e| MerkleError::Store(Box::new(e)))?;
        self.frontier = next;
        Ok(first)
    }

    /// The leaf hash at `index`.
    ///
    /// # Errors
    /// [`MerkleError::IndexOutOfRange`], [`MerkleError::Store`] or [`MerkleError::MissingNode`].
    pub fn leaf_hash_at(&self, index: u64) -> Result<Hash32, MerkleError> {
        if index >= self.size() {
            return Err(MerkleError::IndexOutOfRange {
                index,
                size: self.size(),
            });
        }
        get_node(&self.store, NodeId { level: 0, index })
    }

    /// The root of the tree of the first `size` leaves (`MTH(D[0:size])`).
    ///
    /// # Errors
    /// [`MerkleError::SizeOutOfRange`] if `size > self.size()`, or a store error.
    pub fn root_at(&self, size: u64) -> Result<Hash32, MerkleError> {
        self.check_size(size)?;
        if size == self.size() {
            return Ok(self.root());
        }
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        self.range_hash(0, size)
    }

    /// The RFC 6962 audit path (`PATH(index, D[0:size])`) of leaf `index` in the tree of the
    /// first `size` leaves, from the leaf's sibling upwards.
    ///
    /// # Errors
    /// [`MerkleError::IndexOutOfRange`] if `index >= size`, [`MerkleError::SizeOutOfRange`] if
    /// `size > self.size()`, or a store error.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash32>, MerkleError> {
        self.check_size(size)?;
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        // PATH(m, D[n]) recursion unrolled top-down; siblings are collected root-first and
        // reversed at the end.
        let (mut start, mut n, mut m) = (0u64, size, index);
        let mut path = Vec::new();
        while n > 1 {
            let k = split_point(n);
            if m < k {
                path.push(self.range_hash(start + k, n - k)?);
                n = k;
            } else {
                path.push(self.range_hash(start, k)?);
                start += k;
                m -= k;
                n -= k;
            }
        }
        path.reverse();
        Ok(path)
    }

    /// The RFC 6962 consistency proof (`PROOF(old_size, D[0:new_size])`) between the trees of
    /// the first `old_size` and `new_size` leaves. Empty when `old_size` is 0 or equals
    /// `new_size`.
    ///
    /// # Errors
    /// [`MerkleError::SizesOutOfOrder`] if `old_size > new_size`,
    /// [`MerkleError::SizeOutOfRange`] if `new_size > self.size()`, or a store error.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash32>, MerkleError> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(MerkleError::SizesOutOfOrder {
                old: old_size,
                new: new_size,
            });
        }
        if old_size == 0 || old_size == new_size {
            return Ok(Vec::new());
        }
        // SUBPROOF(m, D[n], b) unrolled top-down, as in `inclusion_proof`.
        let (mut start, mut n, mut m, mut b) = (0u64, new_size, old_size, true);
        let mut proof = Vec::new();
        loop {
            if m == n {
                if !b {
                    proof.push(self.range_hash(start, m)?);
                }
                break;
            }
            let k = split_point(n);
            if m <= k {
                proof.push(self.range_hash(start + k, n - k)?);
                n = k;
            } else {
                proof.push(self.range_hash(start, k)?);
                start += k;
                m -= k;
                n -= k;
                b = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        if size > self.size() {
            return Err(MerkleError::SizeOutOfRange {
                size,
                tree_size: self.size(),
            });
        }
        Ok(())
    }

    /// `MTH(D[start:start+len])` from stored complete subtrees (one read per set bit of `len`).
    fn range_hash(&self, start: u64, len: u64) -> Result<Hash32, MerkleError> {
        let pieces = perfect_pieces(start, len)
            .map(|id| get_node(&self.store, id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut it = pieces.iter().rev();
        let Some(last) = it.next() else {
            return Ok(EMPTY_ROOT);
        };
        Ok(it.fold(*last, |acc, left| node_hash(left, &acc)))
    }
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 9162)

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`,
/// following RFC 9162 section 2.1.3.2.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::ProofTooLong`], [`ProofError::ProofTooShort`]
/// or [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf_hash: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
    root: &Hash32,
) -> Result<(), ProofError> {
    // 1. leaf_index >= tree_size fails.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // 2. fn = leaf_index, sn = tree_size - 1.
    let (mut fn_, mut sn) = (index, size - 1);
    // 3. r = hash.
    let mut r = *leaf_hash;
    // 4. For each p in inclusion_path:
    for p in proof {
        // a. sn == 0: fail.
        if sn == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // b. LSB(fn) set or fn == sn:
        if fn_ & 1 == 1 || fn_ == sn {
            // i. r = HASH(0x01 || p || r)
            r = node_hash(p, &r);
            // ii. if LSB(fn) not set, shift until LSB(fn) set or fn == 0.
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            // r = HASH(0x01 || r || p)
            r = node_hash(&r, p);
        }
        // c. Shift both once.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. sn == 0 and r == root.
    if sn != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root`, following RFC 9162 section 2.1.4.2.
///
/// RFC 9162 defines the algorithm for `0 < old_size < new_size`. The other cases are decided
/// without a proof: equal sizes need equal roots, and the empty tree (whose root must be
/// [`EMPTY_ROOT`]) is a prefix of every tree; in both cases the proof must be empty.
///
/// # Errors
/// [`ProofError::SizesOutOfOrder`], [`ProofError::ProofTooLong`], [`ProofError::ProofTooShort`],
/// [`ProofError::OldRootMismatch`] or [`ProofError::NewRootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash32,
    new_root: &Hash32,
    proof: &[Hash32],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::ProofTooLong);
        }
        if old_size == 0 && *old_root != EMPTY_ROOT {
            return Err(ProofError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::NewRootMismatch);
        }
        return Ok(());
    }
    // 1. Empty consistency_path fails.
    if proof.is_empty() {
        return Err(ProofError::ProofTooShort);
    }
    // 2. If first is an exact power of 2, prepend first_hash.
    let prepended: Option<Hash32> = old_size.is_power_of_two().then_some(*old_root);
    let mut path = prepended.iter().chain(proof.iter());
    // 3. fn = first - 1, sn = second - 1.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // 4. If LSB(fn) is set, shift both until it is not.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. fr = sr = first value.
    let Some(first) = path.next() else {
        return Err(ProofError::ProofTooShort);
    };
    let (mut fr, mut sr) = (*first, *first);
    // 6. For each subsequent value c:
    for c in path {
        // a. sn == 0: fail.
        if sn == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // b. LSB(fn) set or fn == sn:
        if fn_ & 1 == 1 || fn_ == sn {
            // i, ii. fr = HASH(0x01 || c || fr), sr = HASH(0x01 || c || sr)
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            // iii. if LSB(fn) not set, shift until LSB(fn) set or fn == 0.
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            // sr = HASH(0x01 || sr || c)
            sr = node_hash(&sr, c);
        }
        // c. Shift both once.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7. fr == first_hash, sr == second_hash, sn == 0.
    if sn != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}
