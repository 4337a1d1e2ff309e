//! `maat-consensus`: a sans-IO two-chain HotStuff core (HotStuff-2 / Jolteon family) and a
//! deterministic Byzantine simulator.
//!
//! # The core
//!
//! [`Core`] is a pure state machine: it reads no clock, draws no randomness and does no IO.
//! The driver (the node, the simulator, a test) feeds it [`Event`]s with the local time and
//! executes the [`Action`]s it returns:
//!
//! | [`Event`] | meaning |
//! |---|---|
//! | `Start` | (re)start: arm the round timer, propose if leader |
//! | `Message { from, message }` | a [`Proposal`], [`Vote`], [`TimeoutMsg`] or [`SyncInfo`] (QC/TC) from a peer |
//! | `TimerFired(timer)` | a [`Timer`] set by `SetTimer` expired |
//! | `PayloadReady { round, payload, app_header, timestamp_ms }` | the application's payload for our proposal (executed at that block time) |
//! | `ChainFetched { from, blocks }` | committed blocks with their QCs (forward sync of a node far behind) |
//! | `BlockValidated { block_id, valid }` | the application's verdict on a proposal's payload |
//! | `BlocksFetched { from, blocks }` | the answer to `FetchBlocks` |
//!
//! | [`Action`] | the driver must |
//! |---|---|
//! | `PersistSafety(data)` | durably store [`SafetyData`] **before executing the next action** |
//! | `PersistBlock { block_id, block }` | durably store a pending block (about to be voted for) before the next action |
//! | `Send { to, message }` / `Broadcast { message }` | send to one validator / all others |
//! | `SetTimer { timer, deadline_ms }` | fire `TimerFired(timer)` at that local time (replaces the pending timer of the kind) |
//! | `RequestPayload { round, parent, height }` | build a payload and answer `PayloadReady` |
//! | `ValidateBlock { block_id, block }` | replay the ledger's checks and answer `BlockValidated` |
//! | `FetchBlocks { from, block_id, stop_height }` | ask `from` for the blocks, answer `BlocksFetched` |
//! | `Commit { blocks, qc, commit_qc }` | execute and persist the final blocks |
//! | `ReportEquivocation(evidence)` | keep / expose the [`Equivocation`] |
//! | `Reject { from, reason }` | log or score the peer ([`RejectReason`]) |
//!
//! **Actions must be executed in order.** The persistence contract depends on it: every vote,
//! timeout and proposal is preceded by the `PersistSafety` it depends on, so a validator restarted
//! from its last persisted [`SafetyData`] can never sign two votes in one round. A vote is also
//! preceded by a `PersistBlock` of the block: a certified block then survives on the disk of an
//! honest voter even if every validator restarts (the simulator found that without it, a QC whose
//! block every validator lost blocks the chain forever, since the lock forbids abandoning it).
//! A restarted core is built with [`Core::new`] from [`Recovered`]: exactly the committed
//! [`Root`], the last `SafetyData` and the persisted pending blocks.
//!
//! A full node runs an **observer** core ([`Core::new_observer`]): it validates proposals,
//! learns QCs and TCs from them, fetches and commits exactly like a validator, but has no key:
//! it never votes, proposes, times out or sends a consensus message, and it is nobody's leader.
//!
//! # Protocol (PROTOCOL.md, "Consensus")
//!
//! - Leader of round `r` is `validators[r mod n]`; votes go to the next leader; 2f+1 (by voting
//!   power, [`ValidatorSet`]) votes form a [`Qc`] (per-signer signatures, no aggregation).
//! - [`safety`] holds the vote rule, timeout rule, lock and commit rule, and is the only code that
//!   signs.
//! - Pacemaker: the round timer starts at `round_timeout_ms` and grows ×1.5 per round without a
//!   QC up to `max_round_timeout_ms`; on expiry the validator broadcasts a timeout carrying its
//!   highest QC; 2f+1 timeouts form a [`Tc`]; f+1 timeouts for the current round make a validator
//!   time out at once. A leader holding the QC (or TC) of the previous round proposes at once
//!   (optimistic responsiveness).
//! - Empty-block policy: the leader asks the application for a payload
//!   ([`Action::RequestPayload`]); it proposes at once if the payload is non-empty or the parent /
//!   grandparent / an uncommitted ancestor carries a payload (it needs descendants to commit),
//!   otherwise it waits `empty_block_interval_ms` (a later non-empty `PayloadReady` for the
//!   same round proposes at once). While the chain is idle the round timer is extended by that
//!   interval so validators do not time out a waiting leader.
//! - Validation hook: a proposal is voted for only after the application answered
//!   `BlockValidated { valid: true }` (validators replay CheckR there), the timestamp is after the
//!   parent's and at most `max_clock_skew_ms` ahead of local time.
//! - Block tree: pending blocks above the committed root, their QCs, orphans waiting for a parent
//!   (fetched with [`Action::FetchBlocks`] from the peer that referenced it, then from the next
//!   peer when the answer lacks it or a round times out), pruning of everything that does not
//!   extend a new commit. Fetched blocks are accepted only when hash-linked to a block named by a
//!   verified QC or proposal. A node far behind catches up through the same fetches, in ranges
//!   of `max_fetch_blocks`.
//! - Equivocation: two signed proposals or votes by one validator for different blocks in one
//!   round are kept ([`Core::evidence`]) and reported; only the first proposal of a round enters
//!   the tree (a flood of signed variants cannot grow memory).
//! - Commits: [`Action::Commit`] carries the blocks in height order, the QC of the last one and
//!   the QC of its child: with the child's header, the finality proof of PROTOCOL.md.
//! - Inputs from the network never panic the core: malformed, badly signed or wrong-round
//!   messages are dropped with an [`Action::Reject`] and counted in [`Metrics`].
//!
//! # Encoding
//!
//! Every message has a canonical, hand-written byte encoding ([`codec`]): fixed-width
//! little-endian integers, `u32`-length-prefixed byte strings, signer lists sorted by index.
//! Block ids are `blake3("maat/block/v1" || 0x00 || header bytes)`, where the header
//! ([`BlockHeader`]) is the block with its payload replaced by
//! `blake3("maat/block-payload/v1" || 0x00 || payload)`, so a light client can check a header's id
//! without the transactions; signatures cover
//! domain-separated bytes (`maat/vote/v1`, `maat/timeout/v1`, `maat/proposal/v1`, each followed by
//! `0x00`, the chain id and the epoch), see [`SigningDomain`]. Signatures are abstracted by the
//! [`Signer`] / [`Verifier`] traits: the node plugs in ML-DSA-65; [`TestKeys`] is an insecure
//! keyed-BLAKE3 stand-in for tests and the simulator.
//!
//! # Example: driving four cores
//!
//! A toy driver with an instant network, an application that accepts everything and a clock
//! stuck at 0 (no timer needs to fire when nobody fails):
//!
//! ```
//! use std::collections::VecDeque;
//! use maat_consensus::{
//!     Action, Config, Core, Event, Recovered, TestKeys, ValidatorIndex, ValidatorSet,
//! };
//!
//! let config = Config::default();
//! let validators = ValidatorSet::equal(0, 4).unwrap();
//! let keys = TestKeys::new(4, 32);
//! let mut nodes: Vec<_> = validators
//!     .indices()
//!     .map(|v| {
//!         // A new validator starts from genesis; a restarted one from what it persisted.
//!         let disk = Recovered::genesis(&config, validators.epoch());
//!         let signer = keys.signer(v).unwrap();
//!         Core::new(config.clone(), validators.clone(), v, signer, keys.clone(), disk).unwrap()
//!     })
//!     .collect();
//!
//! let mut queue: VecDeque<(usize, Event)> = (0..4).map(|i| (i, Event::Start)).collect();
//! let mut committed = Vec::new();
//! while let Some((i, event)) = queue.pop_front() {
//!     let me = ValidatorIndex(i as u32);
//!     // Execute the actions in order.
//!     for action in nodes[i].handle(0, event) {
//!         match action {
//!             Action::PersistSafety(_) | Action::PersistBlock { .. } => {
//!                 // write and fsync before executing the next action
//!             }
//!             Action::Send { to, message } => {
//!                 queue.push_back((to.0 as usize, Event::Message { from: me, message }))
//!             }
//!             Action::Broadcast { message } => {
//!                 for j in (0..4).filter(|j| *j != i) {
//!                     let message = message.clone();
//!                     queue.push_back((j, Event::Message { from: me, message }));
//!                 }
//!             }
//!             Action::RequestPayload { round, .. } => queue.push_back((
//!                 i,
//!                 Event::PayloadReady { round, payload: b"tx".to_vec(), app_header: vec![], timestamp_ms: None },
//!             )),
//!             Action::ValidateBlock { block_id, .. } => {
//!                 queue.push_back((i, Event::BlockValidated { block_id, valid: true }))
//!             }
//!             Action::Commit { blocks, .. } if i == 0 => {
//!                 committed.extend(blocks.iter().map(|(_, b)| b.height))
//!             }
//!             _ => {} // timers, fetches, evidence and diagnostics are not needed here
//!         }
//!     }
//!     if committed.len() >= 5 {
//!         break;
//!     }
//! }
//! assert_eq!(committed, vec![1, 2, 3, 4, 5]);
//! ```
//!
//! # The simulator
//!
//! `sim` (feature `sim`, always compiled for the crate's own tests) runs n validators on a
//! simulated network with delay, reordering, loss, partitions, crashes and restarts, and twins,
//! and checks agreement, prefix consistency, the locking lemma, no double votes (across
//! restarts), liveness after GST and that invalid payloads are never committed. `cargo test`
//! runs a campaign of 10,000 seeded scenarios; see the module docs to replay a seed or run a
//! longer campaign.
//!
//! To show the campaign can fail, [`Mutation`] breaks one rule on purpose (vote twice in a round,
//! vote without validation, commit on one chain, send before persisting, ignore the TC lock);
//! its variants exist only in the crate's tests and under the `mutants` feature, and a test per
//! mutant asserts the campaign finds a violation.
//!
//! # Benchmarks
//!
//! `cargo bench -p maat-consensus --features sim --bench sim_throughput`: blocks committed per
//! CPU-second for n = 4, 10, 31, messages and bytes per committed block, and commit latency in
//! message delays, all in the simulator (fault-free, fixed delay).

#![deny(missing_docs)]

/// Whether a deliberate bug is switched on. Compiles to `false` outside tests and the
/// `mutants` feature, where the mutation variants do not exist.
macro_rules! mutated {
    ($m:expr, $variant:ident) => {{
        #[cfg(any(test, feature = "mutants"))]
        let hit = $m == $crate::safety::Mutation::$variant;
        #[cfg(not(any(test, feature = "mutants")))]
        let hit = {
            let _ = $m;
            false
        };
        hit
    }};
}

pub mod codec;
mod collect;
mod core;
pub mod keys;
pub mod safety;
mod tree;
pub mod types;
pub mod verify;
pub mod wire;

#[cfg(any(test, feature = "sim"))]
pub mod sim;
#[cfg(test)]
mod tests;

pub use crate::codec::{Decode, DecodeError, Encode};
pub use crate::core::{
    Action, Config, Core, Event, InitError, Metrics, Recovered, RejectReason, Root, Timer,
};
pub use crate::keys::{Signer, TestKeys, TestSigner, Verifier};
pub use crate::safety::{Mutation, SafetyData, SafetyError, SafetyRules};
pub use crate::types::payload_hash;
pub use crate::types::{
    Block, BlockHeader, BlockId, Equivocation, Height, Message, Proposal, Qc, Round, SigBytes,
    SigningDomain, SyncInfo, Tc, TcSignature, TimeoutMsg, ValidatorIndex, ValidatorSet, Vote,
};
pub use crate::verify::{CertError, verify_qc, verify_tc};
