//! The properties checked on every simulated run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::types::{Block, BlockId, Height, Round, ValidatorIndex};

/// A property violation found by the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two honest validators committed different blocks at one height.
    Agreement {
        /// The height.
        height: Height,
        /// Block committed first (by anyone honest).
        first: BlockId,
        /// The conflicting block and who committed it.
        second: BlockId,
        /// Simulator slot of the second committer.
        slot: usize,
    },
    /// A QC certifies a block at a committed height that is not the committed block, with a
    /// round at least that of the lowest block directly committed (by the two-chain rule) at or
    /// above that height. Two-chain HotStuff forbids it: a directly committed block is the only
    /// certified block of its round, and certified blocks of later rounds extend it.
    ConflictingQc {
        /// The height.
        height: Height,
        /// The committed block.
        committed: BlockId,
        /// The certified block.
        certified: BlockId,
    },
    /// The locking lemma of two-chain HotStuff failed: f+1 honest validators voted, in round
    /// `k + 1`, for a child of a block certified in round `k` (so at least one of them is in every
    /// later TC), yet a block certified in a round above `k + 1` does not extend it.
    LockBroken {
        /// The locked block.
        locked: BlockId,
        /// Its round.
        round: Round,
        /// The certified block that does not extend it.
        certified: BlockId,
        /// Its round.
        certified_round: Round,
    },
    /// A validator's committed chain is not a chain extending its previous commits.
    NotAPrefix {
        /// Simulator slot.
        slot: usize,
        /// What went wrong.
        detail: String,
    },
    /// An honest validator released votes for two different blocks in one round.
    DoubleVote {
        /// The validator.
        validator: ValidatorIndex,
        /// The round.
        round: Round,
    },
    /// An honest validator voted in a round after timing it out.
    VoteAfterTimeout {
        /// The validator.
        validator: ValidatorIndex,
        /// The round.
        round: Round,
    },
    /// An honest validator signed two different proposals for one round.
    DoubleProposal {
        /// The validator.
        validator: ValidatorIndex,
        /// The round.
        round: Round,
    },
    /// An honest validator persisted safety data that went backwards.
    SafetyDataRegressed {
        /// Simulator slot.
        slot: usize,
    },
    /// A block the application marks invalid was committed.
    InvalidCommitted {
        /// Its height.
        height: Height,
        /// Simulator slot that committed it.
        slot: usize,
    },
    /// Equivocation evidence against an honest validator, or evidence that does not verify.
    BadEvidence {
        /// Who reported it.
        slot: usize,
        /// Detail.
        detail: String,
    },
    /// After GST an honest validator did not commit a new block within the bound.
    Liveness {
        /// Simulator slot.
        slot: usize,
        /// Its committed height at the end.
        height: Height,
        /// Highest honest committed height at GST.
        gst_height: Height,
    },
    /// A message failed to survive its own encoding.
    Codec(String),
    /// The simulated system misbehaved in another way (runaway event count, a restart that
    /// failed or resumed below the last round voted in).
    Internal(String),
    /// The core reported a conflicting commit (more than f faults, or a bug).
    CoreConflict {
        /// Simulator slot.
        slot: usize,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The application's validity rule in the simulator: the payload does not start with `0xFF`
/// and the application header chains the parent's header with the payload.
pub fn block_is_valid(parent_app_header: &[u8], block: &Block) -> bool {
    block.payload.first() != Some(&0xFF)
        && block.app_header == app_header(parent_app_header, &block.payload)
}

/// The simulated application header: a hash chain over payloads (stands for the log root).
pub fn app_header(parent_app_header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut h = blake3::Hasher::new();
    h.update(parent_app_header);
    h.update(payload);
    h.finalize().as_bytes()[..16].to_vec()
}

/// Global property state of one run.
#[derive(Default)]
pub(crate) struct Checker {
    honest: Vec<bool>,
    /// Honest commits by height: (id, app header, round).
    chain: Vec<(BlockId, Vec<u8>, Round)>,
    /// QCs seen on the wire, by height: (round, block).
    qcs: BTreeMap<Height, BTreeSet<(Round, BlockId)>>,
    /// The same QCs by round (rechecks after a new lock or commit look only at later rounds).
    qcs_by_round: BTreeMap<Round, Vec<(BlockId, Height)>>,
    /// Blocks committed directly by the two-chain rule (by honest validators): height -> round.
    direct: BTreeMap<Height, Round>,
    /// Every proposed block: id -> (parent, height, round, parent QC round).
    blocks: BTreeMap<BlockId, (BlockId, Height, Round, Round)>,
    /// Honest voters, in round `k + 1`, for a child of each block certified in round `k`.
    lock_votes: BTreeMap<BlockId, BTreeSet<ValidatorIndex>>,
    /// Blocks with f+1 such voters: round -> (block, height).
    locked: BTreeMap<Round, (BlockId, Height)>,
    f: usize,
    /// Per slot: last committed (height, id).
    slot_tip: Vec<(Height, BlockId)>,
    votes: BTreeMap<(ValidatorIndex, Round), BlockId>,
    timeouts: BTreeSet<(ValidatorIndex, Round)>,
    proposals: BTreeMap<(ValidatorIndex, Round), BlockId>,
    persisted: Vec<(Round, Round)>,
    pub violations: Vec<Violation>,
}

impl Checker {
    pub fn new(honest: Vec<bool>, slots: usize, genesis: &Block, genesis_id: BlockId) -> Self {
        let f = (honest.len().saturating_sub(1)) / 3;
        Checker {
            f,
            honest,
            chain: vec![(genesis_id, genesis.app_header.clone(), 0)],
            slot_tip: vec![(0, genesis_id); slots],
            persisted: vec![(0, 0); slots],
            ..Default::default()
        }
    }

    fn push(&mut self, v: Violation) {
        if self.violations.len() < 32 && !self.violations.contains(&v) {
            self.violations.push(v);
        }
    }

    pub fn is_honest(&self, v: ValidatorIndex) -> bool {
        self.honest.get(v.0 as usize).copied().unwrap_or(false)
    }

    /// Highest height committed by any honest validator.
    pub fn honest_height(&self) -> Height {
        (self.chain.len() - 1) as Height
    }

    pub fn slot_height(&self, slot: usize) -> Height {
        self.slot_tip[slot].0
    }

    pub fn on_commit(&mut self, slot: usize, honest: bool, blocks: &[(BlockId, Arc<Block>)]) {
        for (id, b) in blocks {
            let (tip_h, tip_id) = self.slot_tip[slot];
            if b.height != tip_h + 1 || b.parent != tip_id {
                self.push(Violation::NotAPrefix {
                    slot,
                    detail: format!(
                        "committed h{} (parent {:?}) on top of h{} {:?}",
                        b.height, b.parent, tip_h, tip_id
                    ),
                });
            }
            self.slot_tip[slot] = (b.height, *id);
            if !honest {
                continue;
            }
            let h = b.height as usize;
            if h < self.chain.len() {
                if self.chain[h].0 != *id {
                    let first = self.chain[h].0;
                    self.push(Violation::Agreement {
                        height: b.height,
                        first,
                        second: *id,
                        slot,
                    });
                }
            } else if h == self.chain.len() {
                let valid = block_is_valid(&self.chain[h - 1].1, b);
                if !valid {
                    self.push(Violation::InvalidCommitted {
                        height: b.height,
                        slot,
                    });
                }
                self.chain.push((*id, b.app_header.clone(), b.round));
            } else {
                self.push(Violation::NotAPrefix {
                    slot,
                    detail: format!(
                        "committed h{} above the honest chain h{}",
                        h,
                        self.chain.len() - 1
                    ),
                });
            }
        }
    }

    /// A QC seen on the wire (in a proposal, timeout or sync message).
    pub fn on_qc(&mut self, block_id: BlockId, round: Round, height: Height) {
        if self
            .qcs
            .entry(height)
            .or_default()
            .insert((round, block_id))
        {
            self.qcs_by_round
                .entry(round)
                .or_default()
                .push((block_id, height));
            self.check_qc(block_id, round, height);
            if let Some((&k, &(locked, _))) =
                self.locked.range(..round.saturating_sub(1)).next_back()
            {
                self.check_lock(locked, k, block_id, round, height);
            }
        }
    }

    /// A proposed block (any proposer, forks included).
    pub fn on_block(&mut self, id: BlockId, b: &Block) {
        self.blocks
            .entry(id)
            .or_insert((b.parent, b.height, b.round, b.justify.round));
    }

    /// `id`'s ancestor at height `h`, if the chain down to it was proposed on the wire.
    fn ancestor(&self, mut id: BlockId, h: Height) -> Option<BlockId> {
        loop {
            let &(parent, height, _, _) = self.blocks.get(&id)?;
            if height == h {
                return Some(id);
            }
            if height < h {
                return None;
            }
            id = parent;
        }
    }

    fn check_lock(&mut self, locked: BlockId, k: Round, id: BlockId, round: Round, height: Height) {
        let Some(&(_, locked_height, _, _)) = self.blocks.get(&locked) else {
            return;
        };
        let extends = if height <= locked_height {
            false
        } else {
            match self.ancestor(id, locked_height) {
                Some(a) => a == locked,
                None => return, // part of its chain never went over the wire
            }
        };
        if !extends {
            self.push(Violation::LockBroken {
                locked,
                round: k,
                certified: id,
                certified_round: round,
            });
        }
    }

    /// An honest vote: counts toward the lock on the voted block's parent when the two rounds
    /// are consecutive.
    fn lock_vote(&mut self, voter: ValidatorIndex, block_id: BlockId) {
        let Some(&(parent, _, round, justify_round)) = self.blocks.get(&block_id) else {
            return;
        };
        if justify_round + 1 != round {
            return;
        }
        let voters = self.lock_votes.entry(parent).or_default();
        voters.insert(voter);
        if voters.len() != self.f + 1 {
            return;
        }
        let Some(&(_, parent_height, _, _)) = self.blocks.get(&parent) else {
            return;
        };
        self.locked.insert(justify_round, (parent, parent_height));
        let later: Vec<(BlockId, Round, Height)> = self
            .qcs_by_round
            .range(justify_round + 2..)
            .flat_map(|(r, list)| list.iter().map(move |(id, h)| (*id, *r, *h)))
            .collect();
        for (id, r, h) in later {
            self.check_lock(parent, justify_round, id, r, h);
        }
    }

    fn check_qc(&mut self, block_id: BlockId, round: Round, height: Height) {
        let Some((_, &cover)) = self.direct.range(height..).next() else {
            return;
        };
        if let Some((committed, _, _)) = self.chain.get(height as usize)
            && round >= cover
            && block_id != *committed
        {
            let committed = *committed;
            self.push(Violation::ConflictingQc {
                height,
                committed,
                certified: block_id,
            });
        }
    }

    /// The block an honest validator committed directly (the last of a commit batch).
    pub fn on_direct_commit(&mut self, height: Height, round: Round) {
        let known = self.direct.range(height..).next().map(|(_, r)| *r);
        if known.is_some_and(|r| r <= round) {
            return;
        }
        self.direct.insert(height, round);
        // Re-check the QCs at or below this height against the new bound.
        let seen: Vec<(Height, Round, BlockId)> = self
            .qcs_by_round
            .range(round..)
            .flat_map(|(r, list)| list.iter().map(move |(id, h)| (*h, *r, *id)))
            .filter(|(h, _, _)| *h <= height)
            .collect();
        for (h, r, id) in seen {
            self.check_qc(id, r, h);
        }
    }

    /// A vote released by an honest validator (sent, or seen inside a QC).
    pub fn on_vote(&mut self, voter: ValidatorIndex, round: Round, block_id: BlockId) {
        if !self.is_honest(voter) {
            return;
        }
        if self.timeouts.contains(&(voter, round)) {
            self.push(Violation::VoteAfterTimeout {
                validator: voter,
                round,
            });
        }
        self.lock_vote(voter, block_id);
        match self.votes.get(&(voter, round)) {
            Some(b) if *b != block_id => self.push(Violation::DoubleVote {
                validator: voter,
                round,
            }),
            Some(_) => {}
            None => {
                self.votes.insert((voter, round), block_id);
            }
        }
    }

    /// A vote seen in a QC: released, but possibly long after a later timeout was sent, so only
    /// the double-vote rule applies.
    pub fn on_qc_vote(&mut self, voter: ValidatorIndex, round: Round, block_id: BlockId) {
        if !self.is_honest(voter) {
            return;
        }
        self.lock_vote(voter, block_id);
        match self.votes.get(&(voter, round)) {
            Some(b) if *b != block_id => self.push(Violation::DoubleVote {
                validator: voter,
                round,
            }),
            Some(_) => {}
            None => {
                self.votes.insert((voter, round), block_id);
            }
        }
    }

    pub fn on_timeout(&mut self, sender: ValidatorIndex, round: Round) {
        if self.is_honest(sender) {
            self.timeouts.insert((sender, round));
        }
    }

    pub fn on_proposal(&mut self, proposer: ValidatorIndex, round: Round, id: BlockId) {
        if !self.is_honest(proposer) {
            return;
        }
        match self.proposals.get(&(proposer, round)) {
            Some(b) if *b != id => self.push(Violation::DoubleProposal {
                validator: proposer,
                round,
            }),
            Some(_) => {}
            None => {
                self.proposals.insert((proposer, round), id);
            }
        }
    }

    pub fn on_persist(
        &mut self,
        slot: usize,
        honest: bool,
        last_voted: Round,
        last_proposed: Round,
    ) {
        let (v, p) = self.persisted[slot];
        if honest && (last_voted < v || last_proposed < p) {
            self.push(Violation::SafetyDataRegressed { slot });
        }
        self.persisted[slot] = (last_voted, last_proposed);
    }

    pub fn violation(&mut self, v: Violation) {
        self.push(v);
    }
}
