//! The sans-IO consensus state machine: [`Core::handle`] takes an [`Event`] and the local time,
//! and returns the [`Action`]s the driver must execute **in order**.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::collect::{TimeoutCollector, TimeoutOutcome, VoteCollector, VoteOutcome};
use crate::keys::{Signer, Verifier};
use crate::safety::{self, Mutation, SafetyData, SafetyRules, VoteInput};
use crate::tree::{BlockTree, Insert, PathToRoot};
use crate::types::{
    Block, BlockId, Equivocation, Height, Message, Proposal, Qc, Round, SigningDomain, SyncInfo,
    Tc, TimeoutMsg, ValidatorIndex, ValidatorSet, Vote,
};
use crate::verify::{CertError, verify_qc, verify_tc_signatures};

/// Most evidence records kept in memory (they are also emitted as actions).
const MAX_EVIDENCE: usize = 1024;
/// Fetch attempts per validator before a wanted block is given up on.
const MAX_FETCH_ATTEMPTS: u32 = 3;

/// Consensus parameters (from the genesis file and node configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Chain id (hash of the genesis file); bound into every signature and the genesis block.
    pub chain_id: [u8; 32],
    /// Genesis time (timestamp of the genesis block), ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// First round timer duration.
    pub round_timeout_ms: u64,
    /// Backoff factor per round without a QC, in percent (150 = x1.5).
    pub round_timeout_backoff_percent: u64,
    /// Cap of the round timer.
    pub max_round_timeout_ms: u64,
    /// How long a leader with nothing to commit waits before proposing an empty block.
    pub empty_block_interval_ms: u64,
    /// Largest lead of a block timestamp over the local clock that still gets a vote.
    pub max_clock_skew_ms: u64,
    /// Votes for rounds further than this ahead of the local round are dropped.
    pub max_future_rounds: u64,
    /// Most blocks accepted in one fetch response (and a hint for how many to serve).
    pub max_fetch_blocks: usize,
    /// Most blocks kept while waiting for a missing ancestor.
    pub max_orphans: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            chain_id: [0; 32],
            genesis_time_ms: 0,
            round_timeout_ms: 1_000,
            round_timeout_backoff_percent: 150,
            max_round_timeout_ms: 10_000,
            empty_block_interval_ms: 1_000,
            max_clock_skew_ms: 2_000,
            max_future_rounds: 1_000,
            max_fetch_blocks: 256,
            max_orphans: 1_024,
        }
    }
}

impl Config {
    /// The genesis block this configuration defines.
    pub fn genesis_block(&self) -> Block {
        Block::genesis(self.chain_id, self.genesis_time_ms)
    }
}

/// The last committed block and the QC that certifies it: where a (re)started core resumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// The block.
    pub block: Arc<Block>,
    /// Its QC (`qc.block_id == block.id()`).
    pub qc: Qc,
}

impl Root {
    /// The genesis root of `config`'s chain.
    pub fn genesis(config: &Config) -> Root {
        let block = config.genesis_block();
        let qc = Qc::genesis(block.id());
        Root {
            block: Arc::new(block),
            qc,
        }
    }
}

/// Everything a validator gets back from its disk when it (re)starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The last committed block and its QC.
    pub root: Root,
    /// The last persisted safety data.
    pub safety: SafetyData,
    /// The pending blocks persisted with [`Action::PersistBlock`] (those above the root).
    pub blocks: Vec<Arc<Block>>,
}

impl Recovered {
    /// The state of a validator joining a new chain at genesis.
    pub fn genesis(config: &Config, epoch: u64) -> Recovered {
        let root = Root::genesis(config);
        let safety = SafetyData::new(epoch, root.qc.clone());
        Recovered {
            root,
            safety,
            blocks: Vec::new(),
        }
    }
}

/// The two timers the core asks for. Each new [`Action::SetTimer`] replaces the pending timer
/// of the same kind; a fired timer for an old round is ignored, so drivers need not cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The round timer: on expiry the validator times out (and re-broadcasts its timeout).
    Round(Round),
    /// The leader's wait before proposing an empty block.
    EmptyBlock(Round),
}

/// An input to the core.
#[derive(Clone, Debug)]
pub enum Event {
    /// Start (or restart): arms the round timer and, as leader, starts proposing. Any other
    /// event starts the core implicitly.
    Start,
    /// A message from a peer (`from` is the transport-level sender; identities inside messages
    /// are checked by signature).
    Message {
        /// Who sent it.
        from: ValidatorIndex,
        /// What it is.
        message: Message,
    },
    /// A timer set by [`Action::SetTimer`] fired.
    TimerFired(Timer),
    /// The application's payload for a proposal requested by [`Action::RequestPayload`]. May be
    /// sent again for the same round (e.g. when transactions arrive while the leader waits).
    PayloadReady {
        /// The round it was requested for.
        round: Round,
        /// Transactions (empty for an empty block).
        payload: Vec<u8>,
        /// Application header fields for the block.
        app_header: Vec<u8>,
        /// The block timestamp the application executed the payload at (raised to the
        /// parent's + 1 if lower); `None`: the event's `now`. Lets a driver whose header
        /// depends on the block time fix that time without moving the core's clock.
        timestamp_ms: Option<u64>,
    },
    /// The application's verdict on a block requested by [`Action::ValidateBlock`].
    BlockValidated {
        /// The block.
        block_id: BlockId,
        /// Every transaction passed the ledger's checks against the parent's state.
        valid: bool,
    },
    /// Committed blocks, each with the QC that certifies it, answering [`Action::FetchBlocks`]
    /// from a peer that found us far behind: blocks from our root upward, each accepted when
    /// its parent is known and its QC verifies (the forward sync of PROTOCOL.md, in ranges).
    ChainFetched {
        /// The peer that answered.
        from: ValidatorIndex,
        /// `(block, QC of that block)`, any order.
        blocks: Vec<(Arc<Block>, Qc)>,
    },
    /// Blocks answering [`Action::FetchBlocks`] (any order; unrequested ones are ignored).
    BlocksFetched {
        /// The peer that answered.
        from: ValidatorIndex,
        /// The blocks.
        blocks: Vec<Arc<Block>>,
    },
}

/// An output of the core. Execute them in the order returned: a
/// [`PersistSafety`](Action::PersistSafety) must be durable before any later action runs.
#[derive(Clone, Debug)]
pub enum Action {
    /// Durably store the safety data (fsync) before executing the following actions. (Boxed:
    /// it is the largest action and the rarest.)
    PersistSafety(Box<SafetyData>),
    /// Durably store a pending block before executing the following actions (the core is about
    /// to vote for it: every certified block then survives on the disks of its honest voters,
    /// even if every validator restarts). Hand it back in [`Recovered::blocks`]; drop it once
    /// the committed root reaches its height.
    PersistBlock {
        /// Its id.
        block_id: BlockId,
        /// The block.
        block: Arc<Block>,
    },
    /// Send a message to one validator.
    Send {
        /// Recipient.
        to: ValidatorIndex,
        /// Message.
        message: Message,
    },
    /// Send a message to every other validator (the core has already handled its own copy).
    Broadcast {
        /// Message.
        message: Message,
    },
    /// Fire [`Event::TimerFired`] with `timer` at local time `deadline_ms`, replacing the pending
    /// timer of the same kind.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// When (local ms).
        deadline_ms: u64,
    },
    /// As leader of `round`: build a payload on top of `parent` and answer with
    /// [`Event::PayloadReady`]. Empty means "nothing to propose"; the core then waits
    /// `empty_block_interval` unless a block must be proposed at once.
    RequestPayload {
        /// The round to propose in.
        round: Round,
        /// The block to extend (in the tree: see [`Core::block`]).
        parent: BlockId,
        /// Height of the new block.
        height: Height,
    },
    /// Check the block's payload against the state after its ancestors (all in the tree) and
    /// answer with [`Event::BlockValidated`]. The core does not vote before the answer.
    ValidateBlock {
        /// Its id.
        block_id: BlockId,
        /// The block.
        block: Arc<Block>,
    },
    /// Ask `from` for `block_id` and its ancestors down to (excluding) `stop_height`; answer
    /// with [`Event::BlocksFetched`].
    FetchBlocks {
        /// Peer to ask.
        from: ValidatorIndex,
        /// The highest block wanted.
        block_id: BlockId,
        /// Height of our committed root: no need to send blocks at or below it.
        stop_height: Height,
    },
    /// These blocks are final, in height order. `qc` certifies the last of them; `commit_qc`
    /// certifies its child (in the tree), whose round is one more: together the proof of
    /// finality. Persist them (with `qc` as the new root) before relying on them.
    Commit {
        /// `(id, block)` from the lowest height up.
        blocks: Vec<(BlockId, Arc<Block>)>,
        /// QC of the last block.
        qc: Qc,
        /// QC of the last block's child.
        commit_qc: Qc,
        /// The block `commit_qc` certifies: the last block's child. Its header (whose
        /// `justify` is `qc`) and `commit_qc` are what a finality proof carries.
        certified: Arc<Block>,
    },
    /// A validator signed two conflicting messages; the evidence holds both.
    ReportEquivocation(Equivocation),
    /// A message was dropped (diagnostic; also counted in [`Metrics::rejected`]).
    Reject {
        /// Transport sender, if the input came from the network.
        from: Option<ValidatorIndex>,
        /// Why.
        reason: RejectReason,
    },
}

/// Why an input was dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// Signed by an index outside the validator set.
    UnknownValidator(ValidatorIndex),
    /// A proposal from a validator that does not lead its round.
    WrongLeader {
        /// The block's round.
        round: Round,
        /// Its claimed proposer.
        proposer: ValidatorIndex,
    },
    /// A signature that does not verify.
    BadSignature,
    /// A structurally invalid message.
    Malformed(&'static str),
    /// An invalid QC.
    InvalidQc(CertError),
    /// An invalid TC.
    InvalidTc(CertError),
    /// Too old to matter.
    StaleRound {
        /// The message's round.
        round: Round,
        /// Ours.
        current: Round,
    },
    /// Too far ahead to buffer.
    FutureRound {
        /// The message's round.
        round: Round,
        /// Ours.
        current: Round,
    },
    /// A timeout whose round its certificates do not justify.
    UnjustifiedRound(Round),
    /// The orphan buffer is full.
    TooManyOrphans,
    /// A fetch response larger than `max_fetch_blocks`.
    TooManyBlocks,
    /// Fetched blocks nobody asked for.
    UnrequestedBlocks,
    /// A commit that does not extend the committed chain: more than f validators are faulty.
    ConflictingCommit,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Counters for metrics (monotone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Proposals signed.
    pub proposals_sent: u64,
    /// Votes sent (including re-sends after a restart).
    pub votes_sent: u64,
    /// Timeouts broadcast (including re-broadcasts).
    pub timeouts_sent: u64,
    /// QCs formed from votes.
    pub qcs_formed: u64,
    /// TCs formed from timeouts.
    pub tcs_formed: u64,
    /// Blocks committed.
    pub blocks_committed: u64,
    /// Inputs dropped (see [`Action::Reject`]).
    pub rejected: u64,
    /// Equivocations detected.
    pub equivocations: u64,
    /// Votes the safety rules refused (e.g. invalid payload, already voted).
    pub votes_refused: u64,
    /// Fetch requests issued.
    pub fetches: u64,
}

/// Why a core could not be constructed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitError {
    /// `me` is not in the validator set.
    NotAValidator,
    /// The root QC does not certify the root block.
    RootQcMismatch,
    /// The safety data belongs to another epoch.
    EpochMismatch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Validation {
    Pending,
    Valid,
    Invalid,
}

#[derive(Debug)]
struct ProposerState {
    round: Round,
    parent: BlockId,
    requested: bool,
    /// May propose an empty block now (urgent chain, or the empty-block wait expired).
    may_propose_empty: bool,
    held: Option<(Vec<u8>, Vec<u8>, Option<u64>)>,
    done: bool,
}

#[derive(Debug)]
struct Want {
    height: Height,
    peer: ValidatorIndex,
    attempts: u32,
}

/// One node's consensus state machine: a validator's ([`Core::new`]) or a full node's
/// ([`Core::new_observer`]). See the crate docs for how to drive it.
pub struct Core<S, V> {
    cfg: Config,
    vset: ValidatorSet,
    /// This validator and its key; `None` for an observer (a full node), which follows the
    /// chain through the proposals and certificates it sees but never signs or leads.
    me: Option<(ValidatorIndex, S)>,
    verifier: V,
    domain: SigningDomain,
    genesis_id: BlockId,
    now: u64,
    started: bool,
    safety: SafetyRules,
    tree: BlockTree,
    round: Round,
    votes: VoteCollector,
    timeouts: TimeoutCollector,
    proposer: Option<ProposerState>,
    validation: BTreeMap<BlockId, Validation>,
    /// First proposal per (round, proposer), and whether an equivocation was reported.
    proposals_seen: BTreeMap<(Round, ValidatorIndex), (BlockId, Proposal, bool)>,
    wanted: BTreeMap<BlockId, Want>,
    pending_commit: Option<Qc>,
    recovered_qcs: Vec<Qc>,
    evidence: Vec<Equivocation>,
    metrics: Metrics,
    out: Vec<Action>,
}

impl<S: Signer, V: Verifier> Core<S, V> {
    /// A core for validator `me`, resuming from what its disk holds: [`Recovered::genesis`] for a
    /// new validator, or the last committed [`Root`], the last persisted [`SafetyData`] and the
    /// persisted pending blocks after a restart.
    pub fn new(
        config: Config,
        validators: ValidatorSet,
        me: ValidatorIndex,
        signer: S,
        verifier: V,
        recovered: Recovered,
    ) -> Result<Self, InitError> {
        Self::with_mutation(
            config,
            validators,
            me,
            signer,
            verifier,
            recovered,
            Mutation::None,
        )
    }

    /// A core for a full node: it validates and commits the blocks the validators certify
    /// (from proposals, their QCs and TCs, and block fetches) exactly like a validator, but
    /// never votes, proposes, times out or sends a consensus message. `recovered` is what its
    /// disk holds, as for [`Core::new`] (an observer persists no safety data or pending
    /// blocks: [`SafetyData::new`] over the committed root and no blocks are enough).
    pub fn new_observer(
        config: Config,
        validators: ValidatorSet,
        verifier: V,
        recovered: Recovered,
    ) -> Result<Self, InitError> {
        Self::build(
            config,
            validators,
            None,
            verifier,
            recovered,
            Mutation::None,
        )
    }

    /// Like [`Core::new`], with deliberately broken safety rules (only [`Mutation::None`] exists
    /// outside tests and the `mutants` feature).
    pub fn with_mutation(
        config: Config,
        validators: ValidatorSet,
        me: ValidatorIndex,
        signer: S,
        verifier: V,
        recovered: Recovered,
        mutation: Mutation,
    ) -> Result<Self, InitError> {
        if validators.power(me).is_none() {
            return Err(InitError::NotAValidator);
        }
        Self::build(
            config,
            validators,
            Some((me, signer)),
            verifier,
            recovered,
            mutation,
        )
    }

    fn build(
        config: Config,
        validators: ValidatorSet,
        me: Option<(ValidatorIndex, S)>,
        verifier: V,
        recovered: Recovered,
        mutation: Mutation,
    ) -> Result<Self, InitError> {
        let Recovered {
            root,
            safety,
            blocks,
        } = recovered;
        if root.block.id() != root.qc.block_id
            || root.block.round != root.qc.round
            || root.block.height != root.qc.height
        {
            return Err(InitError::RootQcMismatch);
        }
        if safety.epoch != validators.epoch() {
            return Err(InitError::EpochMismatch);
        }
        let domain = SigningDomain {
            chain_id: config.chain_id,
            epoch: validators.epoch(),
        };
        let genesis_id = config.genesis_block().id();
        // An observer's rules only track the lock and high TC: it has no key to sign with, so
        // the index they would sign as is never used.
        let rules_me = me.as_ref().map_or(ValidatorIndex(u32::MAX), |(v, _)| *v);
        let mut rules = SafetyRules::new(rules_me, domain, safety, mutation);
        rules.observe_qc(&root.qc);
        let mut tree = BlockTree::new(root.block, root.qc, config.max_orphans.max(blocks.len()));
        // Our own disk is trusted: these blocks were checked before we voted for them.
        let mut blocks: Vec<(BlockId, Arc<Block>)> =
            blocks.into_iter().map(|b| (b.id(), b)).collect();
        blocks.sort_by_key(|(_, b)| b.height);
        let mut recovered_qcs = Vec::new();
        for (id, b) in blocks {
            recovered_qcs.push(b.justify.clone());
            // An orphan here attaches once its parent is fetched.
            let _ = tree.insert(id, b, false);
        }
        let round = rules
            .data()
            .high_qc
            .round
            .max(rules.data().high_tc.as_ref().map_or(0, |tc| tc.round))
            .saturating_add(1);
        Ok(Core {
            cfg: config,
            vset: validators,
            me,
            verifier,
            domain,
            genesis_id,
            now: 0,
            started: false,
            safety: rules,
            tree,
            round,
            votes: VoteCollector::default(),
            timeouts: TimeoutCollector::default(),
            proposer: None,
            validation: BTreeMap::new(),
            proposals_seen: BTreeMap::new(),
            wanted: BTreeMap::new(),
            pending_commit: None,
            recovered_qcs,
            evidence: Vec::new(),
            metrics: Metrics::default(),
            out: Vec::new(),
        })
    }

    /// Handles one event at local time `now_ms` (taken as monotone: an earlier time than
    /// already seen counts as the latest one). Returns the actions to execute, in order.
    pub fn handle(&mut self, now_ms: u64, event: Event) -> Vec<Action> {
        self.now = self.now.max(now_ms);
        if !self.started {
            self.started = true;
            // Commits the recovered blocks allow, and fetches of what they miss.
            for qc in std::mem::take(&mut self.recovered_qcs) {
                self.note_qc(&qc, None);
            }
            self.enter_round(self.round);
        }
        match event {
            Event::Start => {}
            Event::Message { from, message } => match message {
                Message::Proposal(p) => self.on_proposal(Some(from), p),
                Message::Vote(v) => self.on_vote(Some(from), v),
                Message::Timeout(t) => self.on_timeout(Some(from), t),
                Message::Sync(s) => self.on_sync(from, s),
            },
            Event::TimerFired(Timer::Round(r)) => self.on_round_timer(r),
            Event::TimerFired(Timer::EmptyBlock(r)) => self.on_empty_block_timer(r),
            Event::PayloadReady {
                round,
                payload,
                app_header,
                timestamp_ms,
            } => self.on_payload(round, payload, app_header, timestamp_ms),
            Event::BlockValidated { block_id, valid } => self.on_validated(block_id, valid),
            Event::BlocksFetched { from, blocks } => self.on_fetched(from, blocks),
            Event::ChainFetched { from, blocks } => self.on_chain_fetched(from, blocks),
        }
        std::mem::take(&mut self.out)
    }

    // ---- accessors ---------------------------------------------------------------------------

    /// This validator; `None` for an observer (a full node).
    pub fn me(&self) -> Option<ValidatorIndex> {
        self.me.as_ref().map(|(v, _)| *v)
    }

    /// Whether this core only observes (a full node: it never signs).
    pub fn is_observer(&self) -> bool {
        self.me.is_none()
    }

    /// The validator set.
    pub fn validators(&self) -> &ValidatorSet {
        &self.vset
    }

    /// The current round.
    pub fn round(&self) -> Round {
        self.round
    }

    /// The highest QC seen (the lock).
    pub fn high_qc(&self) -> &Qc {
        &self.safety.data().high_qc
    }

    /// The highest TC seen.
    pub fn high_tc(&self) -> Option<&Tc> {
        self.safety.data().high_tc.as_ref()
    }

    /// The current safety data (the last persisted one plus QCs seen since).
    pub fn safety_data(&self) -> &SafetyData {
        self.safety.data()
    }

    /// The last committed block.
    pub fn root(&self) -> Root {
        Root {
            block: self.tree.root().clone(),
            qc: self.tree.root_qc().clone(),
        }
    }

    /// A block of the tree (the root or a pending block).
    pub fn block(&self, id: &BlockId) -> Option<&Arc<Block>> {
        self.tree.get(id)
    }

    /// `id` and its ancestors in the tree above `stop_height`, highest first, at most `max`:
    /// what to serve for a fetch request (committed blocks below the root come from storage).
    pub fn ancestors(&self, id: &BlockId, stop_height: Height, max: usize) -> Vec<Arc<Block>> {
        self.tree.ancestors(id, stop_height, max)
    }

    /// Number of blocks in the tree (root included).
    pub fn tree_len(&self) -> usize {
        self.tree.len()
    }

    /// Number of blocks waiting for a missing ancestor.
    pub fn orphan_count(&self) -> usize {
        self.tree.orphan_count()
    }

    /// Equivocation evidence collected so far (the most recent 1024 records).
    pub fn evidence(&self) -> &[Equivocation] {
        &self.evidence
    }

    /// Counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The leader of `round`.
    pub fn leader(&self, round: Round) -> ValidatorIndex {
        self.vset.leader(round)
    }

    // ---- small helpers -----------------------------------------------------------------------

    fn reject(&mut self, from: Option<ValidatorIndex>, reason: RejectReason) {
        self.metrics.rejected += 1;
        self.out.push(Action::Reject { from, reason });
    }

    fn hqc(&self) -> &Qc {
        &self.safety.data().high_qc
    }

    fn mutated_send_before_persist(&self) -> bool {
        mutated!(self.safety.mutation(), SendBeforePersist)
    }

    /// The persistence contract: the safety data a signed message depends on is handed out
    /// before the message itself (reversed only by the `SendBeforePersist` mutant).
    fn persist_then_broadcast(&mut self, data: SafetyData, message: Message) {
        let persist = Action::PersistSafety(Box::new(data));
        let bcast = Action::Broadcast { message };
        if self.mutated_send_before_persist() {
            self.out.extend([bcast, persist]);
        } else {
            self.out.extend([persist, bcast]);
        }
    }

    /// QC check with a cache: a QC equal to one already verified is not verified again.
    fn check_qc(&self, qc: &Qc) -> Result<(), CertError> {
        if self.tree.qc_for(&qc.block_id) == Some(qc) || self.hqc() == qc {
            return Ok(());
        }
        verify_qc(
            qc,
            &self.vset,
            &self.verifier,
            &self.domain,
            &self.genesis_id,
        )
    }

    fn check_tc(&self, tc: &Tc) -> Result<(), CertError> {
        if self.high_tc() == Some(tc) {
            return Ok(());
        }
        verify_tc_signatures(tc, &self.vset, &self.verifier, &self.domain)?;
        self.check_qc(&tc.high_qc)
    }

    fn some_peer(&self, hint: Option<ValidatorIndex>) -> ValidatorIndex {
        let me = self.me();
        match hint {
            Some(p) if Some(p) != me && self.vset.power(p).is_some() => p,
            // An observer is no validator: any of them may serve it.
            _ => ValidatorIndex(me.map_or(0, |m| (m.0 + 1) % self.vset.len() as u32)),
        }
    }

    fn want(&mut self, id: BlockId, height: Height, from: Option<ValidatorIndex>) {
        if self.tree.contains(&id)
            || height <= self.tree.root_height()
            || self.wanted.contains_key(&id)
        {
            return;
        }
        let peer = self.some_peer(from);
        self.wanted.insert(
            id,
            Want {
                height,
                peer,
                attempts: 0,
            },
        );
        self.metrics.fetches += 1;
        self.out.push(Action::FetchBlocks {
            from: peer,
            block_id: id,
            stop_height: self.tree.root_height(),
        });
    }

    // ---- rounds and the pacemaker --------------------------------------------------------------

    /// Records a verified QC: lock, tree, commits, fetch if its block is unknown.
    fn note_qc(&mut self, qc: &Qc, from: Option<ValidatorIndex>) {
        self.safety.observe_qc(qc);
        self.tree.add_qc(qc);
        if self.tree.contains(&qc.block_id) {
            self.try_commit(qc);
        } else {
            let hint = from.or_else(|| qc.signatures.first().map(|(v, _)| *v));
            self.want(qc.block_id, qc.height, hint);
        }
    }

    fn note_tc(&mut self, tc: &Tc, from: Option<ValidatorIndex>) {
        self.note_qc(&tc.high_qc, from);
        self.safety.observe_tc(tc);
    }

    /// Enters `max(high QC round, high TC round) + 1` if that is ahead of the current round.
    fn advance(&mut self) {
        let target = self
            .hqc()
            .round
            .max(self.high_tc().map_or(0, |tc| tc.round))
            .saturating_add(1);
        if target > self.round {
            self.enter_round(target);
        }
    }

    fn enter_round(&mut self, round: Round) {
        self.round = round;
        // Votes of the previous round may still complete its QC; older ones cannot matter.
        self.votes.prune(round.saturating_sub(1));
        self.timeouts.prune(round);
        self.proposals_seen = self
            .proposals_seen
            .split_off(&(round.saturating_sub(2), ValidatorIndex(0)));
        self.arm_round_timer();
        self.proposer = None;
        if Some(self.vset.leader(round)) == self.me() {
            self.start_proposing();
        }
    }

    /// Round timer: `initial * backoff^k` (k = rounds since the last QC), capped; plus the
    /// empty-block interval when the leader may legitimately wait that long before proposing.
    fn round_duration(&self) -> u64 {
        let k = self
            .round
            .saturating_sub(self.hqc().round.saturating_add(1));
        let cap = self.cfg.max_round_timeout_ms.max(1);
        let mut d = self.cfg.round_timeout_ms.min(cap);
        for _ in 0..k {
            d = d.saturating_mul(self.cfg.round_timeout_backoff_percent) / 100;
            if d >= cap {
                d = cap;
                break;
            }
        }
        if !self.chain_needs_commit(&self.hqc().block_id) {
            d = d.saturating_add(self.cfg.empty_block_interval_ms);
        }
        d
    }

    fn arm_round_timer(&mut self) {
        let deadline_ms = self.now.saturating_add(self.round_duration());
        self.out.push(Action::SetTimer {
            timer: Timer::Round(self.round),
            deadline_ms,
        });
    }

    /// Empty-block policy: a block extending `parent` must be proposed at once when the parent
    /// or grandparent, or any uncommitted ancestor, carries a payload (it needs descendants with
    /// QCs to commit).
    fn chain_needs_commit(&self, parent: &BlockId) -> bool {
        let root_height = self.tree.root_height();
        let mut cur = *parent;
        let mut depth = 0;
        while let Some(b) = self.tree.get(&cur) {
            if b.height == 0 {
                break;
            }
            if !b.payload.is_empty() && (depth < 2 || b.height > root_height) {
                return true;
            }
            if depth >= 1 && b.height <= root_height {
                break;
            }
            cur = b.parent;
            depth += 1;
        }
        false
    }

    fn on_round_timer(&mut self, round: Round) {
        if round != self.round {
            return;
        }
        self.local_timeout();
        if self.round == round {
            self.arm_round_timer();
        }
    }

    fn local_timeout(&mut self) {
        // A round that times out may be stuck on a missing block: ask other peers.
        self.retry_fetches();
        let Some((_, signer)) = self.me.as_ref() else {
            // An observer waits for the validators' TC, which the next proposal carries.
            return;
        };
        let round = self.round;
        if let Some(t) = self
            .safety
            .data()
            .last_timeout
            .as_ref()
            .filter(|t| t.round == round)
        {
            // Already signed: re-broadcast the same message (lossy links, lagging peers).
            let message = Message::Timeout(t.clone());
            self.metrics.timeouts_sent += 1;
            self.out.push(Action::Broadcast { message });
            return;
        }
        let hqc = self.hqc().clone();
        let last_tc = self
            .high_tc()
            .filter(|tc| tc.round.saturating_add(1) == round)
            .cloned();
        // The round was entered through `hqc` or `last_tc` and is at least `last_voted_round`
        // (restarts resume from the persisted high QC / TC), so the rule does not refuse here.
        let Ok((msg, data)) = self
            .safety
            .sign_timeout(round, &hqc, last_tc.as_ref(), signer)
        else {
            return;
        };
        self.metrics.timeouts_sent += 1;
        self.persist_then_broadcast(data, Message::Timeout(msg.clone()));
        self.on_timeout(None, msg);
    }

    /// Re-requests every wanted block from the next peer (lossy links, peers that are down).
    fn retry_fetches(&mut self) {
        let ids: Vec<BlockId> = self.wanted.keys().copied().collect();
        for id in ids {
            self.refetch(id);
        }
    }

    /// Asks the next peer (round-robin) for a wanted block, or gives up on it after every peer
    /// was asked a few times (it is wanted again as soon as something references it).
    fn refetch(&mut self, id: BlockId) {
        let n = self.vset.len() as u32;
        let stop_height = self.tree.root_height();
        let Some(w) = self.wanted.get_mut(&id) else {
            return;
        };
        if w.height <= stop_height || w.attempts >= MAX_FETCH_ATTEMPTS.saturating_mul(n) {
            self.wanted.remove(&id);
            return;
        }
        w.attempts += 1;
        let mut p = (w.peer.0 + 1) % n;
        if self.me.as_ref().is_some_and(|(m, _)| m.0 == p) {
            p = (p + 1) % n;
        }
        w.peer = ValidatorIndex(p);
        self.metrics.fetches += 1;
        self.out.push(Action::FetchBlocks {
            from: w.peer,
            block_id: id,
            stop_height,
        });
    }

    // ---- proposing ---------------------------------------------------------------------------

    fn start_proposing(&mut self) {
        let parent = self.hqc().block_id;
        self.proposer = Some(ProposerState {
            round: self.round,
            parent,
            requested: false,
            may_propose_empty: false,
            held: None,
            done: false,
        });
        if self.tree.contains(&parent) {
            self.request_payload();
        } else {
            let (h, hint) = (
                self.hqc().height,
                self.hqc().signatures.first().map(|(v, _)| *v),
            );
            self.want(parent, h, hint);
        }
    }

    fn request_payload(&mut self) {
        let Some(st) = self.proposer.as_ref() else {
            return;
        };
        let (round, parent) = (st.round, st.parent);
        let Some(height) = self.tree.get(&parent).map(|b| b.height.saturating_add(1)) else {
            return;
        };
        let urgent = self.chain_needs_commit(&parent);
        if let Some(st) = self.proposer.as_mut() {
            st.requested = true;
            st.may_propose_empty = urgent;
        }
        self.out.push(Action::RequestPayload {
            round,
            parent,
            height,
        });
        if !urgent {
            self.out.push(Action::SetTimer {
                timer: Timer::EmptyBlock(round),
                deadline_ms: self.now.saturating_add(self.cfg.empty_block_interval_ms),
            });
        }
    }

    fn on_payload(
        &mut self,
        round: Round,
        payload: Vec<u8>,
        app_header: Vec<u8>,
        timestamp_ms: Option<u64>,
    ) {
        let Some(st) = self.proposer.as_mut() else {
            return;
        };
        if st.round != round || round != self.round || st.done || !st.requested {
            return;
        }
        if payload.is_empty() && !st.may_propose_empty {
            st.held = Some((payload, app_header, timestamp_ms));
            return;
        }
        self.propose(payload, app_header, timestamp_ms);
    }

    fn on_empty_block_timer(&mut self, round: Round) {
        let Some(st) = self.proposer.as_mut() else {
            return;
        };
        if st.round != round || st.done {
            return;
        }
        st.may_propose_empty = true;
        if let Some((payload, app_header, timestamp_ms)) = st.held.take() {
            self.propose(payload, app_header, timestamp_ms);
        }
    }

    fn propose(&mut self, payload: Vec<u8>, app_header: Vec<u8>, timestamp_ms: Option<u64>) {
        let Some(st) = self.proposer.as_mut() else {
            return;
        };
        let round = st.round;
        let parent_id = st.parent;
        let hqc = self.safety.data().high_qc.clone();
        if hqc.block_id != parent_id {
            // A higher QC arrived within the round: build on it instead.
            st.parent = hqc.block_id;
            st.requested = false;
            st.held = None;
            if self.tree.contains(&hqc.block_id) {
                self.request_payload();
            } else {
                let hint = hqc.signatures.first().map(|(v, _)| *v);
                self.want(hqc.block_id, hqc.height, hint);
            }
            return;
        }
        st.done = true;
        let Some(parent) = self.tree.get(&parent_id).cloned() else {
            return;
        };
        let tc = if hqc.round.saturating_add(1) == round {
            None
        } else {
            match self
                .high_tc()
                .filter(|tc| tc.round.saturating_add(1) == round)
                .cloned()
            {
                Some(tc) => Some(tc),
                None => return, // cannot justify the round (not reachable: we entered it)
            }
        };
        let Some((me, signer)) = self.me.as_ref() else {
            return; // an observer never leads (start_proposing is not reached)
        };
        let block = Block {
            height: parent.height.saturating_add(1),
            round,
            parent: parent_id,
            timestamp_ms: timestamp_ms
                .unwrap_or(self.now)
                .max(parent.timestamp_ms.saturating_add(1)),
            proposer: *me,
            payload,
            app_header,
            justify: hqc,
            tc,
        };
        let id = block.id();
        let Ok((proposal, data)) = self.safety.sign_proposal(Arc::new(block), id, signer) else {
            return;
        };
        self.metrics.proposals_sent += 1;
        self.persist_then_broadcast(data, Message::Proposal(proposal.clone()));
        self.on_proposal(None, proposal);
    }

    // ---- proposals, blocks, validation, votes ---------------------------------------------------

    fn on_proposal(&mut self, from: Option<ValidatorIndex>, p: Proposal) {
        let b = p.block.clone();
        if b.round == 0 {
            return self.reject(from, RejectReason::Malformed("proposal in round 0"));
        }
        if self.vset.power(b.proposer).is_none() {
            return self.reject(from, RejectReason::UnknownValidator(b.proposer));
        }
        if self.vset.leader(b.round) != b.proposer {
            return self.reject(
                from,
                RejectReason::WrongLeader {
                    round: b.round,
                    proposer: b.proposer,
                },
            );
        }
        if b.parent != b.justify.block_id
            || b.height != b.justify.height.saturating_add(1)
            || b.round <= b.justify.round
        {
            return self.reject(
                from,
                RejectReason::Malformed("block does not extend its QC"),
            );
        }
        match &b.tc {
            None if b.justify.round.saturating_add(1) != b.round => {
                return self.reject(from, RejectReason::Malformed("round skipped without TC"));
            }
            Some(tc)
                if b.justify.round.saturating_add(1) == b.round
                    || tc.round.saturating_add(1) != b.round =>
            {
                return self.reject(
                    from,
                    RejectReason::Malformed("TC not for the previous round"),
                );
            }
            _ => {}
        }
        let id = b.id();
        if self.tree.contains(&id) || self.tree.is_orphan(&id) {
            return; // duplicate
        }
        if from.is_some() {
            let msg = self.domain.proposal_bytes(&id, b.round);
            if !self.verifier.verify(b.proposer, &msg, &p.signature) {
                return self.reject(from, RejectReason::BadSignature);
            }
            if let Err(e) = self.check_qc(&b.justify) {
                return self.reject(from, RejectReason::InvalidQc(e));
            }
            if let Some(tc) = &b.tc
                && let Err(e) = self.check_tc(tc)
            {
                return self.reject(from, RejectReason::InvalidTc(e));
            }
        }
        // Equivocation: a second, different signed proposal for the same round. Only the first
        // one enters the tree (a flood of signed variants must not grow memory); if another one
        // gets certified, its QC makes us fetch it.
        let equivocation = match self.proposals_seen.get_mut(&(b.round, b.proposer)) {
            Some(seen) if seen.0 != id => {
                let report = !seen.2;
                seen.2 = true;
                Some(report.then(|| Equivocation::Proposal {
                    first: seen.1.clone(),
                    second: p.clone(),
                }))
            }
            Some(_) => None,
            None => {
                if b.round.saturating_add(2) >= self.round {
                    self.proposals_seen
                        .insert((b.round, b.proposer), (id, p.clone(), false));
                }
                None
            }
        };
        self.note_qc(&b.justify, from);
        if let Some(tc) = &b.tc {
            self.note_tc(tc, from);
        }
        self.advance();
        match equivocation {
            Some(evidence) => {
                if let Some(e) = evidence {
                    self.report(e);
                }
            }
            None => self.add_block(id, b, true, from),
        }
    }

    fn report(&mut self, e: Equivocation) {
        self.metrics.equivocations += 1;
        if self.evidence.len() >= MAX_EVIDENCE {
            self.evidence.remove(0);
        }
        self.evidence.push(e.clone());
        self.out.push(Action::ReportEquivocation(e));
    }

    fn add_block(
        &mut self,
        id: BlockId,
        block: Arc<Block>,
        proposed: bool,
        from: Option<ValidatorIndex>,
    ) {
        let (parent, height) = (block.parent, block.height);
        match self.tree.insert(id, block, proposed) {
            Insert::Added => self.on_block_added(id, proposed),
            Insert::Orphan => self.want(parent, height.saturating_sub(1), from),
            Insert::OrphansFull => self.reject(from, RejectReason::TooManyOrphans),
            Insert::Known | Insert::BelowRoot => {}
        }
    }

    /// A block joined the tree: retry commits, ask for validation, serve a waiting proposer,
    /// attach orphans waiting for it.
    fn on_block_added(&mut self, id: BlockId, proposed: bool) {
        let mut work = vec![(id, proposed)];
        while let Some((id, proposed)) = work.pop() {
            self.wanted.remove(&id);
            let Some(block) = self.tree.get(&id).cloned() else {
                continue;
            };
            if let Some(qc) = self.tree.qc_for(&id).cloned() {
                self.try_commit(&qc);
            }
            self.try_commit(&block.justify);
            if proposed && block.round == self.round {
                self.request_validation(id, block.clone());
            }
            if self
                .proposer
                .as_ref()
                .is_some_and(|st| st.parent == id && !st.requested && !st.done)
            {
                self.request_payload();
            }
            for o in self.tree.take_orphans(&id) {
                if self.tree.insert(o.id, o.block, o.proposed) == Insert::Added {
                    work.push((o.id, o.proposed));
                }
            }
        }
        if let Some(qc) = self.pending_commit.take() {
            self.try_commit(&qc);
        }
    }

    fn request_validation(&mut self, id: BlockId, block: Arc<Block>) {
        if self.validation.contains_key(&id) {
            return;
        }
        if block.round <= self.safety.data().last_voted_round
            && !mutated!(self.safety.mutation(), VoteTwiceInRound)
        {
            // After a restart the same proposal may come again: re-send the persisted vote.
            if let Some(v) = self
                .safety
                .data()
                .last_vote
                .clone()
                .filter(|v| v.block_id == id)
            {
                self.validation.insert(id, Validation::Valid);
                self.send_vote(v);
            }
            return;
        }
        self.validation.insert(id, Validation::Pending);
        self.out.push(Action::ValidateBlock {
            block_id: id,
            block,
        });
    }

    fn on_validated(&mut self, id: BlockId, valid: bool) {
        match self.validation.get_mut(&id) {
            Some(v) if *v == Validation::Pending => {
                *v = if valid {
                    Validation::Valid
                } else {
                    Validation::Invalid
                };
            }
            _ => return,
        }
        if valid || mutated!(self.safety.mutation(), VoteWithoutValidation) {
            self.try_vote(id);
        }
    }

    fn try_vote(&mut self, id: BlockId) {
        let Some(block) = self.tree.get(&id).cloned() else {
            return;
        };
        if block.round != self.round {
            return;
        }
        let Some(parent_ts) = self.tree.get(&block.parent).map(|p| p.timestamp_ms) else {
            return;
        };
        let input = VoteInput {
            block: &block,
            block_id: id,
            parent_timestamp_ms: parent_ts,
            local_now_ms: self.now,
            max_clock_skew_ms: self.cfg.max_clock_skew_ms,
            payload_valid: self.validation.get(&id) == Some(&Validation::Valid),
        };
        let Some((_, signer)) = self.me.as_ref() else {
            return; // an observer validates blocks (replaying the ledger) but never votes
        };
        match self.safety.sign_vote(&input, signer) {
            Ok((vote, data)) => {
                self.out.push(Action::PersistBlock {
                    block_id: id,
                    block: block.clone(),
                });
                if self.mutated_send_before_persist() {
                    self.send_vote(vote);
                    self.out.push(Action::PersistSafety(Box::new(data)));
                } else {
                    self.out.push(Action::PersistSafety(Box::new(data)));
                    self.send_vote(vote);
                }
            }
            Err(_) => self.metrics.votes_refused += 1,
        }
    }

    fn send_vote(&mut self, vote: Vote) {
        self.metrics.votes_sent += 1;
        let leader = self.vset.leader(vote.round.saturating_add(1));
        if Some(leader) == self.me() {
            self.on_vote(None, vote);
        } else {
            self.out.push(Action::Send {
                to: leader,
                message: Message::Vote(vote),
            });
        }
    }

    fn on_vote(&mut self, from: Option<ValidatorIndex>, vote: Vote) {
        if self.vset.power(vote.voter).is_none() {
            return self.reject(from, RejectReason::UnknownValidator(vote.voter));
        }
        if vote.round.saturating_add(1) < self.round {
            return self.reject(
                from,
                RejectReason::StaleRound {
                    round: vote.round,
                    current: self.round,
                },
            );
        }
        if vote.round > self.round.saturating_add(self.cfg.max_future_rounds) {
            return self.reject(
                from,
                RejectReason::FutureRound {
                    round: vote.round,
                    current: self.round,
                },
            );
        }
        if from.is_some() {
            let msg = self
                .domain
                .vote_bytes(&vote.block_id, vote.round, vote.height);
            if !self.verifier.verify(vote.voter, &msg, &vote.signature) {
                return self.reject(from, RejectReason::BadSignature);
            }
        }
        let voter = vote.voter;
        match self.votes.add(vote, &self.vset) {
            VoteOutcome::Quorum(qc) => {
                self.metrics.qcs_formed += 1;
                self.note_qc(&qc, Some(voter));
                self.advance();
            }
            VoteOutcome::Equivocation(e) => self.report(*e),
            VoteOutcome::Added | VoteOutcome::Duplicate => {}
        }
    }

    // ---- timeouts and sync ---------------------------------------------------------------------

    fn on_timeout(&mut self, from: Option<ValidatorIndex>, msg: TimeoutMsg) {
        if self.vset.power(msg.sender).is_none() {
            return self.reject(from, RejectReason::UnknownValidator(msg.sender));
        }
        let by_qc = msg.round == msg.high_qc.round.saturating_add(1);
        let by_tc = msg
            .last_tc
            .as_ref()
            .is_some_and(|tc| tc.round.saturating_add(1) == msg.round);
        if msg.high_qc.round >= msg.round || (by_qc && msg.last_tc.is_some()) {
            return self.reject(from, RejectReason::Malformed("timeout certificates"));
        }
        if !(by_qc || by_tc) {
            return self.reject(from, RejectReason::UnjustifiedRound(msg.round));
        }
        if from.is_some() {
            let bytes = self.domain.timeout_bytes(msg.round, msg.high_qc.round);
            if !self.verifier.verify(msg.sender, &bytes, &msg.signature) {
                return self.reject(from, RejectReason::BadSignature);
            }
            if let Err(e) = self.check_qc(&msg.high_qc) {
                return self.reject(from, RejectReason::InvalidQc(e));
            }
            if let Some(tc) = &msg.last_tc
                && let Err(e) = self.check_tc(tc)
            {
                return self.reject(from, RejectReason::InvalidTc(e));
            }
        }
        self.note_qc(&msg.high_qc, from);
        if let Some(tc) = &msg.last_tc {
            self.note_tc(tc, from);
        }
        self.advance();
        if msg.round < self.round {
            // The sender is behind: hand it the certificates of our round (an observer sends
            // nothing: validators ignore consensus messages from non-validators).
            if let Some(to) = from.filter(|_| !self.is_observer()) {
                let high_tc = self
                    .high_tc()
                    .filter(|tc| tc.round > self.hqc().round)
                    .cloned();
                let message = Message::Sync(SyncInfo {
                    high_qc: self.hqc().clone(),
                    high_tc,
                });
                self.out.push(Action::Send { to, message });
            }
            return;
        }
        match self.timeouts.add(&msg, &self.vset) {
            TimeoutOutcome::Quorum(tc) => {
                self.metrics.tcs_formed += 1;
                self.note_tc(&tc, from);
                self.advance();
            }
            TimeoutOutcome::Added { power } => {
                // f+1 timeouts include an honest one: join them instead of waiting for our timer.
                let timed_out = self
                    .safety
                    .data()
                    .last_timeout
                    .as_ref()
                    .is_some_and(|t| t.round >= self.round);
                if msg.round == self.round && power >= self.vset.validity_power() && !timed_out {
                    self.local_timeout();
                }
            }
            TimeoutOutcome::Duplicate => {}
        }
    }

    fn on_sync(&mut self, from: ValidatorIndex, info: SyncInfo) {
        if let Err(e) = self.check_qc(&info.high_qc) {
            return self.reject(Some(from), RejectReason::InvalidQc(e));
        }
        if let Some(tc) = &info.high_tc
            && let Err(e) = self.check_tc(tc)
        {
            return self.reject(Some(from), RejectReason::InvalidTc(e));
        }
        self.note_qc(&info.high_qc, Some(from));
        if let Some(tc) = &info.high_tc {
            self.note_tc(tc, Some(from));
        }
        self.advance();
    }

    // ---- commits and fetched blocks --------------------------------------------------------------

    /// Applies the commit rule to the block `qc` certifies.
    fn try_commit(&mut self, qc: &Qc) {
        let Some(certified) = self.tree.get(&qc.block_id).cloned() else {
            return;
        };
        let Some(target) = safety::commit_rule(&certified, qc.block_id, self.safety.mutation())
        else {
            return;
        };
        let target_qc = if target == qc.block_id {
            qc.clone()
        } else {
            certified.justify.clone()
        };
        if target_qc.height <= self.tree.root_height() {
            return;
        }
        match self.tree.path_from_root(&target) {
            PathToRoot::Chain(blocks) => {
                self.metrics.blocks_committed += blocks.len() as u64;
                self.tree.commit(target, target_qc.clone());
                let root_height = self.tree.root_height();
                self.validation.retain(|id, _| self.tree.contains(id));
                if self
                    .pending_commit
                    .as_ref()
                    .is_some_and(|p| p.height <= root_height.saturating_add(1))
                {
                    self.pending_commit = None;
                }
                self.out.push(Action::Commit {
                    blocks,
                    qc: target_qc,
                    commit_qc: qc.clone(),
                    certified,
                });
            }
            PathToRoot::Missing(id, height) => {
                if self
                    .pending_commit
                    .as_ref()
                    .is_none_or(|p| p.round < qc.round)
                {
                    self.pending_commit = Some(qc.clone());
                }
                self.want(id, height, qc.signatures.first().map(|(v, _)| *v));
            }
            PathToRoot::Conflict => self.reject(None, RejectReason::ConflictingCommit),
        }
    }

    fn on_fetched(&mut self, from: ValidatorIndex, blocks: Vec<Arc<Block>>) {
        if blocks.len() > self.cfg.max_fetch_blocks {
            return self.reject(Some(from), RejectReason::TooManyBlocks);
        }
        let mut by_id: BTreeMap<BlockId, Arc<Block>> =
            blocks.into_iter().map(|b| (b.id(), b)).collect();
        // What we asked this peer for and it did not have: ask the next one at once.
        let missing: Vec<BlockId> = self
            .wanted
            .iter()
            .filter(|(id, w)| w.peer == from && !by_id.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        for id in missing {
            self.refetch(id);
        }
        // Only blocks hash-linked to a wanted id are accepted: wanted ids are certified (named by
        // a verified QC or a verified proposal), so the chain below them is authentic.
        let starts: Vec<BlockId> = by_id
            .keys()
            .filter(|id| self.wanted.contains_key(id))
            .copied()
            .collect();
        let mut accepted: Vec<(BlockId, Arc<Block>)> = Vec::new();
        for start in starts {
            let mut cur = start;
            while let Some(b) = by_id.remove(&cur) {
                if self.tree.contains(&cur) {
                    break;
                }
                let id = cur;
                cur = b.parent;
                accepted.push((id, b));
            }
        }
        if accepted.is_empty() {
            // Late answers to requests already served by another peer are normal; blocks we
            // neither have nor asked for are not.
            if by_id.keys().any(|id| !self.tree.contains(id)) {
                self.reject(Some(from), RejectReason::UnrequestedBlocks);
            }
            return;
        }
        accepted.sort_by_key(|(_, b)| b.height);
        for (id, b) in accepted {
            if !extends_its_qc(&b) {
                return self.reject(
                    Some(from),
                    RejectReason::Malformed("fetched block does not extend its QC"),
                );
            }
            // The parent QC of a certified block was verified by the honest voters of that block.
            self.tree.add_qc(&b.justify);
            self.safety.observe_qc(&b.justify);
            self.add_block(id, b, false, Some(from));
        }
        self.advance();
    }

    /// Forward sync: committed blocks with their QCs, linked to the tree from below.
    fn on_chain_fetched(&mut self, from: ValidatorIndex, mut blocks: Vec<(Arc<Block>, Qc)>) {
        if blocks.len() > self.cfg.max_fetch_blocks {
            return self.reject(Some(from), RejectReason::TooManyBlocks);
        }
        blocks.sort_by_key(|(b, _)| b.height);
        let mut progress = false;
        let mut news = false;
        for (b, qc) in blocks {
            let id = b.id();
            if qc.block_id != id || qc.height != b.height || qc.round != b.round {
                return self.reject(
                    Some(from),
                    RejectReason::Malformed("fetched QC does not certify its block"),
                );
            }
            if b.height <= self.tree.root_height() || self.tree.contains(&id) {
                continue;
            }
            news = true;
            if !self.tree.contains(&b.parent) {
                break; // not linked to what we have: the rest cannot be either
            }
            if !extends_its_qc(&b) {
                return self.reject(
                    Some(from),
                    RejectReason::Malformed("fetched block does not extend its QC"),
                );
            }
            // Both certificates are checked: the block is authentic because 2f+1 voted for it.
            if let Err(e) = self.check_qc(&b.justify).and_then(|()| self.check_qc(&qc)) {
                return self.reject(Some(from), RejectReason::InvalidQc(e));
            }
            self.tree.add_qc(&b.justify);
            self.safety.observe_qc(&b.justify);
            self.add_block(id, b, false, Some(from));
            self.note_qc(&qc, Some(from));
            progress = true;
        }
        if progress {
            // One range serves every wanted block: ask the same peer for the next one, once,
            // for the highest block still missing.
            let stop_height = self.tree.root_height();
            let next = self
                .wanted
                .iter()
                .filter(|(_, w)| w.height > stop_height)
                .max_by_key(|(_, w)| w.height)
                .map(|(id, _)| *id);
            if let Some(id) = next {
                if let Some(w) = self.wanted.get_mut(&id) {
                    w.attempts = 0;
                    w.peer = from;
                }
                self.metrics.fetches += 1;
                self.out.push(Action::FetchBlocks {
                    from,
                    block_id: id,
                    stop_height,
                });
            }
            self.advance();
        } else if news {
            // Blocks that do not link to ours: ask another peer.
            let missing: Vec<BlockId> = self
                .wanted
                .iter()
                .filter(|(_, w)| w.peer == from)
                .map(|(id, _)| *id)
                .collect();
            for id in missing {
                self.refetch(id);
            }
        }
        // Otherwise a duplicate answer (several wanted blocks were served by one range): ignore.
    }
}

/// A block's parent is the block its QC certifies, one height below and in an earlier round.
fn extends_its_qc(b: &Block) -> bool {
    b.parent == b.justify.block_id
        && b.height == b.justify.height.saturating_add(1)
        && b.round > b.justify.round
}

impl<S, V> fmt::Debug for Core<S, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("me", &self.me.as_ref().map(|(v, _)| *v))
            .field("round", &self.round)
            .field("high_qc_round", &self.safety.data().high_qc.round)
            .field("root_height", &self.tree.root_height())
            .finish_non_exhaustive()
    }
}
