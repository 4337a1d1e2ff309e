//! Safety rules: the only code that signs votes, timeouts and proposals (as in Aptos'
//! `safety-rules`), kept small so it can be read against the protocol in one sitting.
//!
//! - **Vote rule**: `round > last_voted_round`, and `round == qc.round + 1` or
//!   (`round == tc.round + 1` and `qc.round >= tc.highest_qc_round`); the application validated the
//!   payload; the timestamp is after the parent's and at most `max_clock_skew` ahead of local time.
//! - **Timeout rule**: `round >= last_voted_round`, the carried QC is at least the lock, and the
//!   round is justified by it (`round == qc.round + 1`) or by the TC of the previous round. Signing
//!   a timeout raises `last_voted_round` to its round, so no vote follows in that round.
//! - **Lock**: the highest QC seen ([`SafetyData::high_qc`]); its round is the lock round.
//! - **Commit rule** ([`commit_rule`]): a certified block `B'` whose parent `B` has round
//!   `round(B') - 1` commits `B` and its ancestors.
//!
//! **Persistence contract**: every signing method returns the [`SafetyData`] that must be
//! durably stored *before* the signed message leaves the process; the core emits
//! [`crate::Action::PersistSafety`] ahead of the matching send. A validator restarted from its
//! last persisted `SafetyData` can therefore never sign a conflicting vote.

use std::fmt;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_option, put_u8, put_u64};
use crate::keys::Signer;
use crate::types::{
    Block, BlockId, Proposal, Qc, Round, SigningDomain, Tc, TimeoutMsg, ValidatorIndex, Vote,
};

/// What a validator must persist before any vote or timeout it signs is released.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SafetyData {
    /// Validator-set epoch these rounds belong to.
    pub epoch: u64,
    /// Highest round this validator voted or timed out in.
    pub last_voted_round: Round,
    /// Highest round this validator proposed in (so a restarted leader cannot equivocate).
    pub last_proposed_round: Round,
    /// Highest QC seen: the lock (its round) and where a restarted validator resumes.
    pub high_qc: Qc,
    /// Highest TC seen: with `high_qc`, justifies the round a restarted validator resumes in
    /// (never below `last_voted_round`).
    pub high_tc: Option<Tc>,
    /// The last vote signed, re-sent as is if the same block is proposed again.
    pub last_vote: Option<Vote>,
    /// The last timeout signed, re-broadcast as is while its round lasts.
    pub last_timeout: Option<TimeoutMsg>,
}

impl SafetyData {
    /// The safety data of a validator that never signed anything, starting from `root_qc` (the
    /// genesis QC for a new chain).
    pub fn new(epoch: u64, root_qc: Qc) -> Self {
        SafetyData {
            epoch,
            last_voted_round: 0,
            last_proposed_round: 0,
            high_qc: root_qc,
            high_tc: None,
            last_vote: None,
            last_timeout: None,
        }
    }

    /// The lock round (round of the highest QC seen).
    pub fn lock_round(&self) -> Round {
        self.high_qc.round
    }
}

impl Encode for SafetyData {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_u8(out, 1); // format version
        put_u64(out, self.epoch);
        put_u64(out, self.last_voted_round);
        put_u64(out, self.last_proposed_round);
        self.high_qc.encode_to(out);
        put_option(out, &self.high_tc);
        put_option(out, &self.last_vote);
        put_option(out, &self.last_timeout);
    }
}

impl Decode for SafetyData {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            1 => {}
            t => return Err(DecodeError::BadTag(t)),
        }
        Ok(SafetyData {
            epoch: r.u64()?,
            last_voted_round: r.u64()?,
            last_proposed_round: r.u64()?,
            high_qc: Qc::decode_from(r)?,
            high_tc: r.option()?,
            last_vote: r.option()?,
            last_timeout: r.option()?,
        })
    }
}

/// A deliberate bug, injected to prove the simulator catches broken safety rules. Only
/// [`Mutation::None`] exists outside the crate's tests and the `mutants` feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mutation {
    /// The correct rules.
    #[default]
    None,
    /// Vote rule without `round > last_voted_round`: votes twice in a round, or after timing out.
    #[cfg(any(test, feature = "mutants"))]
    VoteTwiceInRound,
    /// Vote without waiting for the application's verdict on the payload.
    #[cfg(any(test, feature = "mutants"))]
    VoteWithoutValidation,
    /// One-chain commit rule: commit a block as soon as it has a QC.
    #[cfg(any(test, feature = "mutants"))]
    CommitOnOneChain,
    /// Release votes and timeouts before the safety data they depend on is persisted.
    #[cfg(any(test, feature = "mutants"))]
    SendBeforePersist,
    /// Vote after a TC for a block extending a QC below the TC's highest QC (ignores the lock).
    #[cfg(any(test, feature = "mutants"))]
    IgnoreTcLock,
}

impl Mutation {
    /// Every mutation (for campaigns against each of them).
    #[cfg(any(test, feature = "mutants"))]
    pub const ALL: [Mutation; 5] = [
        Mutation::VoteTwiceInRound,
        Mutation::VoteWithoutValidation,
        Mutation::CommitOnOneChain,
        Mutation::SendBeforePersist,
        Mutation::IgnoreTcLock,
    ];
}

/// Why the safety rules refused to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SafetyError {
    /// The message belongs to another epoch.
    WrongEpoch,
    /// Not this validator's block, or not its turn.
    NotOwnProposal,
    /// Already voted or timed out in this round (or a later one).
    RoundNotAfterLastVote {
        /// The round asked for.
        round: Round,
        /// The last round voted or timed out in.
        last_voted_round: Round,
    },
    /// Already proposed in this round.
    AlreadyProposed(Round),
    /// Neither `round == qc.round + 1` nor (`round == tc.round + 1` and `qc.round >= tc hqc`).
    NotSafeToVote {
        /// The block's round.
        round: Round,
        /// Its parent QC's round.
        qc_round: Round,
        /// The carried TC's round and highest QC round, if any.
        tc: Option<(Round, Round)>,
    },
    /// The application has not validated the payload (or found it invalid).
    PayloadNotValid,
    /// The timestamp is not after the parent's.
    TimestampNotAfterParent,
    /// The timestamp is more than `max_clock_skew` ahead of local time.
    TimestampTooFarAhead,
    /// The timeout's QC is below the lock.
    HighQcBelowLock,
    /// The timeout round is not justified by its QC or TC.
    NotSafeToTimeout(Round),
    /// A timeout for this round was already signed (re-broadcast it instead).
    AlreadyTimedOut(Round),
}

impl fmt::Display for SafetyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// What the vote rule looks at, gathered by the core.
#[derive(Clone, Copy, Debug)]
pub struct VoteInput<'a> {
    /// The proposed block.
    pub block: &'a Block,
    /// Its id.
    pub block_id: BlockId,
    /// The parent's timestamp.
    pub parent_timestamp_ms: u64,
    /// Local time from the latest event.
    pub local_now_ms: u64,
    /// Largest accepted lead of a block timestamp over local time.
    pub max_clock_skew_ms: u64,
    /// The application's verdict on the payload (`false` until it answered "valid").
    pub payload_valid: bool,
}

/// The safety rules of one validator, holding its [`SafetyData`].
#[derive(Clone, Debug)]
pub struct SafetyRules {
    me: ValidatorIndex,
    domain: SigningDomain,
    data: SafetyData,
    mutation: Mutation,
}

impl SafetyRules {
    /// Rules for validator `me`, resuming from `data`.
    pub fn new(
        me: ValidatorIndex,
        domain: SigningDomain,
        data: SafetyData,
        mutation: Mutation,
    ) -> Self {
        SafetyRules {
            me,
            domain,
            data,
            mutation,
        }
    }

    /// The current safety data (what the last `PersistSafety` carried, plus QCs seen since).
    pub fn data(&self) -> &SafetyData {
        &self.data
    }

    /// The injected mutation ([`Mutation::None`] in production).
    pub fn mutation(&self) -> Mutation {
        self.mutation
    }

    /// Raises the lock to `qc` if it is higher. Kept in memory; persisted with the next signature
    /// (nothing released depends on a lock that was not yet used to sign).
    pub fn observe_qc(&mut self, qc: &Qc) {
        if qc.round > self.data.high_qc.round {
            self.data.high_qc = qc.clone();
        }
    }

    /// Records a verified TC if it is the highest seen (in memory, persisted with the next
    /// signature like the lock).
    pub fn observe_tc(&mut self, tc: &Tc) {
        if self
            .data
            .high_tc
            .as_ref()
            .is_none_or(|h| tc.round > h.round)
        {
            self.data.high_tc = Some(tc.clone());
        }
    }

    /// The vote rule, without side effects.
    pub fn check_vote(&self, input: &VoteInput<'_>) -> Result<(), SafetyError> {
        let block = input.block;
        if !mutated!(self.mutation, VoteTwiceInRound) && block.round <= self.data.last_voted_round {
            return Err(SafetyError::RoundNotAfterLastVote {
                round: block.round,
                last_voted_round: self.data.last_voted_round,
            });
        }
        safe_to_vote(block, self.mutation)?;
        if !input.payload_valid && !mutated!(self.mutation, VoteWithoutValidation) {
            return Err(SafetyError::PayloadNotValid);
        }
        if block.timestamp_ms <= input.parent_timestamp_ms {
            return Err(SafetyError::TimestampNotAfterParent);
        }
        if block.timestamp_ms > input.local_now_ms.saturating_add(input.max_clock_skew_ms) {
            return Err(SafetyError::TimestampTooFarAhead);
        }
        Ok(())
    }

    /// Applies the vote rule and, if it passes, signs the vote. Returns the vote and the safety
    /// data to persist before sending it.
    pub fn sign_vote<S: Signer + ?Sized>(
        &mut self,
        input: &VoteInput<'_>,
        signer: &S,
    ) -> Result<(Vote, SafetyData), SafetyError> {
        self.check_vote(input)?;
        let block = input.block;
        let signature = signer.sign(&self.domain.vote_bytes(
            &input.block_id,
            block.round,
            block.height,
        ));
        let vote = Vote {
            block_id: input.block_id,
            round: block.round,
            height: block.height,
            voter: self.me,
            signature,
        };
        self.data.last_voted_round = self.data.last_voted_round.max(block.round);
        self.observe_qc(&block.justify);
        self.data.last_vote = Some(vote.clone());
        Ok((vote, self.data.clone()))
    }

    /// The timeout rule, without side effects.
    pub fn check_timeout(
        &self,
        round: Round,
        high_qc: &Qc,
        last_tc: Option<&Tc>,
    ) -> Result<(), SafetyError> {
        if self
            .data
            .last_timeout
            .as_ref()
            .is_some_and(|t| t.round >= round)
        {
            return Err(SafetyError::AlreadyTimedOut(round));
        }
        if round < self.data.last_voted_round {
            return Err(SafetyError::RoundNotAfterLastVote {
                round,
                last_voted_round: self.data.last_voted_round,
            });
        }
        if high_qc.round < self.data.lock_round() {
            return Err(SafetyError::HighQcBelowLock);
        }
        let by_qc = round == high_qc.round.saturating_add(1);
        let by_tc = last_tc.is_some_and(|tc| round == tc.round.saturating_add(1));
        if !(by_qc || by_tc) {
            return Err(SafetyError::NotSafeToTimeout(round));
        }
        Ok(())
    }

    /// Applies the timeout rule and signs a timeout carrying `high_qc` (and `last_tc` when the
    /// round was entered through it). Returns the message and the safety data to persist first.
    pub fn sign_timeout<S: Signer + ?Sized>(
        &mut self,
        round: Round,
        high_qc: &Qc,
        last_tc: Option<&Tc>,
        signer: &S,
    ) -> Result<(TimeoutMsg, SafetyData), SafetyError> {
        self.check_timeout(round, high_qc, last_tc)?;
        let signature = signer.sign(&self.domain.timeout_bytes(round, high_qc.round));
        let msg = TimeoutMsg {
            round,
            high_qc: high_qc.clone(),
            // Only carried when needed to justify the round.
            last_tc: if round == high_qc.round.saturating_add(1) {
                None
            } else {
                last_tc.cloned()
            },
            sender: self.me,
            signature,
        };
        self.data.last_voted_round = self.data.last_voted_round.max(round);
        self.observe_qc(high_qc);
        self.data.last_timeout = Some(msg.clone());
        Ok((msg, self.data.clone()))
    }

    /// Signs this validator's own proposal: once per round, never in a round it already voted or
    /// timed out in, and only for a block honest validators may vote for.
    pub fn sign_proposal<S: Signer + ?Sized>(
        &mut self,
        block: std::sync::Arc<Block>,
        block_id: BlockId,
        signer: &S,
    ) -> Result<(Proposal, SafetyData), SafetyError> {
        if block.proposer != self.me {
            return Err(SafetyError::NotOwnProposal);
        }
        if block.round <= self.data.last_voted_round {
            return Err(SafetyError::RoundNotAfterLastVote {
                round: block.round,
                last_voted_round: self.data.last_voted_round,
            });
        }
        if block.round <= self.data.last_proposed_round {
            return Err(SafetyError::AlreadyProposed(block.round));
        }
        safe_to_vote(&block, Mutation::None)?;
        let signature = signer.sign(&self.domain.proposal_bytes(&block_id, block.round));
        self.data.last_proposed_round = block.round;
        self.observe_qc(&block.justify);
        Ok((Proposal { block, signature }, self.data.clone()))
    }
}

/// `round == qc.round + 1`, or `round == tc.round + 1` and `qc.round >= tc.highest_qc_round`.
fn safe_to_vote(block: &Block, mutation: Mutation) -> Result<(), SafetyError> {
    let qc_round = block.justify.round;
    if block.round == qc_round.saturating_add(1) {
        return Ok(());
    }
    if let Some(tc) = &block.tc {
        let lock_ok = qc_round >= tc.highest_qc_round() || mutated!(mutation, IgnoreTcLock);
        if block.round == tc.round.saturating_add(1) && lock_ok {
            return Ok(());
        }
    }
    Err(SafetyError::NotSafeToVote {
        round: block.round,
        qc_round,
        tc: block
            .tc
            .as_ref()
            .map(|tc| (tc.round, tc.highest_qc_round())),
    })
}

/// The two-chain commit rule. Given a block `certified` (id `certified_id`) that has a QC, returns
/// the block it commits: its parent when the two rounds are consecutive.
pub fn commit_rule(
    certified: &Block,
    certified_id: BlockId,
    mutation: Mutation,
) -> Option<BlockId> {
    if mutated!(mutation, CommitOnOneChain) {
        return Some(certified_id);
    }
    if certified.height > 0 && certified.round == certified.justify.round.saturating_add(1) {
        Some(certified.parent)
    } else {
        None
    }
}
