//! The block tree: the last committed block (root), every pending block descending from it,
//! the QCs known for them, and orphans waiting for a missing ancestor.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::types::{Block, BlockId, Height, Qc};

/// A block whose parent is not in the tree yet.
#[derive(Clone, Debug)]
pub(crate) struct Orphan {
    pub id: BlockId,
    pub block: Arc<Block>,
    /// Arrived as a signed proposal (may be voted for), not through a fetch.
    pub proposed: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Insert {
    Added,
    Known,
    BelowRoot,
    Orphan,
    OrphansFull,
}

/// The chain from the root (exclusive) to a block (inclusive), if it can be built.
pub(crate) enum PathToRoot {
    Chain(Vec<(BlockId, Arc<Block>)>),
    /// An ancestor is missing: fetch it.
    Missing(BlockId, Height),
    /// The block does not descend from the root.
    Conflict,
}

#[derive(Debug)]
pub(crate) struct BlockTree {
    root_id: BlockId,
    root_qc: Qc,
    blocks: BTreeMap<BlockId, Arc<Block>>,
    certified: BTreeMap<BlockId, Qc>,
    orphans: BTreeMap<BlockId, Vec<Orphan>>,
    orphan_ids: BTreeSet<BlockId>,
    max_orphans: usize,
}

impl BlockTree {
    pub fn new(root: Arc<Block>, root_qc: Qc, max_orphans: usize) -> Self {
        let root_id = root_qc.block_id;
        let mut blocks = BTreeMap::new();
        blocks.insert(root_id, root);
        let mut certified = BTreeMap::new();
        certified.insert(root_id, root_qc.clone());
        BlockTree {
            root_id,
            root_qc,
            blocks,
            certified,
            orphans: BTreeMap::new(),
            orphan_ids: BTreeSet::new(),
            max_orphans,
        }
    }

    pub fn root(&self) -> &Arc<Block> {
        // The root is never removed from `blocks`.
        &self.blocks[&self.root_id]
    }

    pub fn root_qc(&self) -> &Qc {
        &self.root_qc
    }

    pub fn root_height(&self) -> Height {
        self.root().height
    }

    pub fn get(&self, id: &BlockId) -> Option<&Arc<Block>> {
        self.blocks.get(id)
    }

    pub fn contains(&self, id: &BlockId) -> bool {
        self.blocks.contains_key(id)
    }

    pub fn is_orphan(&self, id: &BlockId) -> bool {
        self.orphan_ids.contains(id)
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn orphan_count(&self) -> usize {
        self.orphan_ids.len()
    }

    pub fn qc_for(&self, id: &BlockId) -> Option<&Qc> {
        self.certified.get(id)
    }

    /// Records a verified QC (the first one seen for a block is kept).
    pub fn add_qc(&mut self, qc: &Qc) {
        if qc.height > self.root_height() || qc.block_id == self.root_id {
            self.certified
                .entry(qc.block_id)
                .or_insert_with(|| qc.clone());
        }
    }

    /// Inserts a block whose id the caller computed.
    pub fn insert(&mut self, id: BlockId, block: Arc<Block>, proposed: bool) -> Insert {
        if self.blocks.contains_key(&id) || self.orphan_ids.contains(&id) {
            return Insert::Known;
        }
        if block.height <= self.root_height() {
            return Insert::BelowRoot;
        }
        match self.blocks.get(&block.parent) {
            Some(parent) if parent.height.saturating_add(1) == block.height => {
                self.blocks.insert(id, block);
                Insert::Added
            }
            // A parent at the wrong height cannot be: ids bind heights. Treat as unusable.
            Some(_) => Insert::BelowRoot,
            None => {
                if self.orphan_ids.len() >= self.max_orphans {
                    return Insert::OrphansFull;
                }
                self.orphan_ids.insert(id);
                self.orphans.entry(block.parent).or_default().push(Orphan {
                    id,
                    block,
                    proposed,
                });
                Insert::Orphan
            }
        }
    }

    /// Removes and returns the orphans waiting for `parent`.
    pub fn take_orphans(&mut self, parent: &BlockId) -> Vec<Orphan> {
        let list = self.orphans.remove(parent).unwrap_or_default();
        for o in &list {
            self.orphan_ids.remove(&o.id);
        }
        list
    }

    pub fn path_from_root(&self, id: &BlockId) -> PathToRoot {
        let mut chain = Vec::new();
        let mut cur = *id;
        let root_height = self.root_height();
        loop {
            if cur == self.root_id {
                chain.reverse();
                return PathToRoot::Chain(chain);
            }
            let Some(b) = self.blocks.get(&cur) else {
                let h = chain
                    .last()
                    .map(|(_, b): &(BlockId, Arc<Block>)| b.height.saturating_sub(1))
                    .unwrap_or(0);
                return PathToRoot::Missing(cur, h);
            };
            if b.height <= root_height {
                return PathToRoot::Conflict;
            }
            chain.push((cur, b.clone()));
            cur = b.parent;
        }
    }

    /// Makes `new_root` (a descendant of the root, certified by `qc`) the root and prunes every
    /// block that does not descend from it.
    pub fn commit(&mut self, new_root: BlockId, qc: Qc) {
        let Some(root_block) = self.blocks.get(&new_root).cloned() else {
            return;
        };
        let root_height = root_block.height;
        let mut by_height: Vec<(Height, BlockId, BlockId)> = self
            .blocks
            .iter()
            .filter(|(_, b)| b.height > root_height)
            .map(|(id, b)| (b.height, *id, b.parent))
            .collect();
        by_height.sort();
        let mut keep: BTreeSet<BlockId> = BTreeSet::new();
        keep.insert(new_root);
        for (_, id, parent) in by_height {
            if keep.contains(&parent) {
                keep.insert(id);
            }
        }
        self.blocks.retain(|id, _| keep.contains(id));
        self.certified.retain(|id, _| keep.contains(id));
        self.certified.insert(new_root, qc.clone());
        self.root_id = new_root;
        self.root_qc = qc;
        // Orphans at or below the new root can never attach.
        let mut dropped = Vec::new();
        self.orphans.retain(|_, list| {
            list.retain(|o| {
                let keep =
                    o.block.height > root_height.saturating_add(1) || o.block.parent == new_root;
                if !keep {
                    dropped.push(o.id);
                }
                keep
            });
            !list.is_empty()
        });
        for id in dropped {
            self.orphan_ids.remove(&id);
        }
    }

    /// `id` and its ancestors above `stop_height`, highest first, at most `max`.
    pub fn ancestors(&self, id: &BlockId, stop_height: Height, max: usize) -> Vec<Arc<Block>> {
        let mut out = Vec::new();
        let mut cur = *id;
        while out.len() < max {
            match self.blocks.get(&cur) {
                Some(b) if b.height > stop_height => {
                    out.push(b.clone());
                    cur = b.parent;
                }
                _ => break,
            }
        }
        out
    }
}
