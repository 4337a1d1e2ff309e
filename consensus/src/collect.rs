//! Vote and timeout aggregation into QCs and TCs.

use std::collections::BTreeMap;

use crate::types::{
    BlockId, Equivocation, Qc, Round, Tc, TcSignature, TimeoutMsg, ValidatorIndex, ValidatorSet,
    Vote,
};

pub(crate) enum VoteOutcome {
    Added,
    Duplicate,
    Equivocation(Box<Equivocation>),
    Quorum(Qc),
}

#[derive(Default)]
struct RoundVotes {
    by_voter: BTreeMap<ValidatorIndex, Vote>,
    power: BTreeMap<(BlockId, u64), u64>,
    formed: bool,
}

#[derive(Default)]
pub(crate) struct VoteCollector {
    rounds: BTreeMap<Round, RoundVotes>,
}

impl VoteCollector {
    /// Adds a verified vote; returns the QC the first time a block reaches quorum.
    pub fn add(&mut self, vote: Vote, validators: &ValidatorSet) -> VoteOutcome {
        let Some(power) = validators.power(vote.voter) else {
            return VoteOutcome::Duplicate;
        };
        let rv = self.rounds.entry(vote.round).or_default();
        if let Some(first) = rv.by_voter.get(&vote.voter) {
            return if first.block_id == vote.block_id && first.height == vote.height {
                VoteOutcome::Duplicate
            } else {
                VoteOutcome::Equivocation(Box::new(Equivocation::Vote {
                    first: first.clone(),
                    second: vote,
                }))
            };
        }
        let block_id = vote.block_id;
        let (round, height) = (vote.round, vote.height);
        rv.by_voter.insert(vote.voter, vote);
        let total = rv.power.entry((block_id, height)).or_insert(0);
        *total = total.saturating_add(power);
        if rv.formed || *total < validators.quorum_power() {
            return VoteOutcome::Added;
        }
        rv.formed = true;
        // `by_voter` iterates in index order, so the signer list comes out sorted.
        let signatures = rv
            .by_voter
            .values()
            .filter(|v| v.block_id == block_id && v.height == height)
            .map(|v| (v.voter, v.signature.clone()))
            .collect();
        VoteOutcome::Quorum(Qc {
            block_id,
            round,
            height,
            signatures,
        })
    }

    /// Forgets rounds below `min_round`.
    pub fn prune(&mut self, min_round: Round) {
        self.rounds = self.rounds.split_off(&min_round);
    }
}

#[derive(Default)]
struct RoundTimeouts {
    by_sender: BTreeMap<ValidatorIndex, TimeoutMsg>,
    power: u64,
    formed: bool,
}

#[derive(Default)]
pub(crate) struct TimeoutCollector {
    rounds: BTreeMap<Round, RoundTimeouts>,
}

pub(crate) enum TimeoutOutcome {
    Added { power: u64 },
    Duplicate,
    Quorum(Tc),
}

impl TimeoutCollector {
    /// Adds a verified timeout; returns the TC the first time its round reaches quorum.
    pub fn add(&mut self, msg: &TimeoutMsg, validators: &ValidatorSet) -> TimeoutOutcome {
        let Some(power) = validators.power(msg.sender) else {
            return TimeoutOutcome::Duplicate;
        };
        let rt = self.rounds.entry(msg.round).or_default();
        if rt.by_sender.contains_key(&msg.sender) {
            return TimeoutOutcome::Duplicate;
        }
        rt.by_sender.insert(msg.sender, msg.clone());
        rt.power = rt.power.saturating_add(power);
        if rt.formed || rt.power < validators.quorum_power() {
            return TimeoutOutcome::Added { power: rt.power };
        }
        rt.formed = true;
        let mut high_qc = &msg.high_qc;
        for t in rt.by_sender.values() {
            if t.high_qc.round > high_qc.round {
                high_qc = &t.high_qc;
            }
        }
        let signatures = rt
            .by_sender
            .values()
            .map(|t| TcSignature {
                signer: t.sender,
                high_qc_round: t.high_qc.round,
                signature: t.signature.clone(),
            })
            .collect();
        TimeoutOutcome::Quorum(Tc {
            round: msg.round,
            high_qc: high_qc.clone(),
            signatures,
        })
    }

    pub fn prune(&mut self, min_round: Round) {
        self.rounds = self.rounds.split_off(&min_round);
    }
}
