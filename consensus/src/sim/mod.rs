//! A deterministic, seeded simulator for the consensus core (in the spirit of TigerBeetle's VOPR
//! and FoundationDB's simulation): n validators, a simulated network with delay, reordering,
//! duplication, loss and partitions, crashes and restarts (a restarted validator gets back only
//! what it persisted: [`SafetyData`], the blocks it voted for, its committed root; crashes often
//! hit between two actions of one batch), and twins (Bano et al.): up to f validators run twice
//! with the same keys, in different partitions, so they equivocate. Seven fault mixes
//! ([`FaultMix`]) over n = 4, 7 and 10.
//!
//! Every run checks ([`Violation`]):
//! - agreement: no two honest validators commit different blocks at one height, and every
//!   validator's commits extend its previous ones (committed chains are prefixes of each other);
//! - the two safety lemmas behind it, on every QC seen on the wire: a block directly committed in
//!   round `k` is the only certified block of its round and every block certified later extends
//!   it; and once f+1 honest validators voted in round `k + 1` for a child of a block certified in
//!   round `k`, every block certified after round `k + 1` extends that block (this catches a
//!   broken lock long before it turns into two conflicting commits);
//! - no honest validator releases votes for two blocks in one round (across restarts), votes in a
//!   round after timing it out, or signs two proposals for one round; persisted safety data never
//!   goes backwards; a restart never resumes below the last round voted in; equivocation evidence
//!   verifies and never accuses an honest validator;
//! - liveness: after GST (partitions healed, loss stopped, crashed validators restarted) every
//!   honest validator commits [`Scenario::liveness_blocks`] new blocks within
//!   [`Scenario::liveness_bound_ms`];
//! - a block the application marks invalid is never committed;
//! - every message survives its canonical encoding (decoded from bytes at every delivery).
//!
//! Byzantine behaviour: twins (same keys, separate state, usually in different partitions) make
//! up to f validators equivocate with honest code; in addition a twin that leads a round entered
//! through a TC may replace its proposal by a fork extending a QC below its own (the move the
//! TC lock exists for).
//!
//! A scenario is a pure function of its seed ([`Scenario::generate`]), so a failing seed replays
//! exactly, with a trace of every event and action ([`RunOptions::trace`]).
//!
//! From the command line (the tests in `sim::tests`; the campaign uses every core, or
//! `MAAT_SIM_THREADS`):
//! ```text
//! # the CI campaign: 10,000 scenarios (also part of `cargo test --workspace`)
//! cargo test -p maat-consensus --lib sim::tests::campaign -- --nocapture
//! # a longer one, from another first seed
//! MAAT_SIM_SCENARIOS=1000000 MAAT_SIM_FIRST_SEED=5000000 \
//!     cargo test -p maat-consensus --release --lib sim::tests::campaign -- --nocapture
//! # one seed, with its trace (MAAT_SIM_TRACE=all prints every line; a failing campaign prints
//! # the tail and writes the whole trace to a file)
//! MAAT_SIM_SEED=12345 MAAT_SIM_TRACE=all cargo test -p maat-consensus --lib sim::tests::replay -- --nocapture
//! # the same seed under a deliberately broken rule
//! MAAT_SIM_MUTATION=IgnoreTcLock MAAT_SIM_SEED=5 cargo test -p maat-consensus --lib sim::tests::replay -- --nocapture
//! ```

mod campaign;
pub mod check;
pub mod rng;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::sync::Arc;

pub use campaign::{CampaignConfig, CampaignReport, Failure, run_campaign};
pub use check::{Violation, app_header, block_is_valid};
pub use rng::Rng;

use check::Checker;

use crate::codec::{Decode, Encode};
use crate::core::{Action, Config, Core, Event, Recovered, RejectReason, Root, Timer};
use crate::keys::{Signer, TestKeys, TestSigner, Verifier};
use crate::safety::{Mutation, SafetyData};
use crate::types::{
    Block, BlockId, Equivocation, Height, Message, Proposal, Round, SigningDomain, ValidatorIndex,
    ValidatorSet,
};

/// The fault families a campaign cycles through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultMix {
    /// Random delays only.
    Clean,
    /// Loss, duplication, long delays (heavy reordering).
    Lossy,
    /// Shifting partitions.
    Partitions,
    /// Crashes and restarts, some in the middle of executing a batch of actions.
    Crashes,
    /// f twins in shifting partitions.
    Twins,
    /// Many crashes, most inside a batch of actions, with short outages, while twins that are
    /// not partitioned equivocate every time they lead (what the persistence contract guards).
    Recovery,
    /// Everything at once.
    Chaos,
}

impl FaultMix {
    /// All mixes.
    pub const ALL: [FaultMix; 7] = [
        FaultMix::Clean,
        FaultMix::Lossy,
        FaultMix::Partitions,
        FaultMix::Crashes,
        FaultMix::Twins,
        FaultMix::Recovery,
        FaultMix::Chaos,
    ];
}

/// Everything that defines a run. [`Scenario::generate`] derives one from a seed.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Seed of every random choice in the run.
    pub seed: u64,
    /// Validators.
    pub n: usize,
    /// The fault family.
    pub mix: FaultMix,
    /// Validators that run twice (Byzantine).
    pub twins: Vec<ValidatorIndex>,
    /// Message delay range (ms), before and after GST.
    pub delay_ms: (u64, u64),
    /// Before GST: chance (‰) a message is lost.
    pub loss_permille: u32,
    /// Before GST: chance (‰) a message is duplicated.
    pub dup_permille: u32,
    /// Before GST: chance (‰) a message gets an extra delay up to `slow_ms`.
    pub slow_permille: u32,
    /// Largest extra delay.
    pub slow_ms: u64,
    /// Partitions shift before GST.
    pub partitions: bool,
    /// Range of the time between partition changes (ms).
    pub partition_churn_ms: (u64, u64),
    /// Crashes before GST.
    pub crashes: u32,
    /// Outage after a crash (ms); half of the crashes use the lower tenth of the range.
    pub downtime_ms: (u64, u64),
    /// Chance (‰) a crash hits in the middle of a batch of actions.
    pub mid_action_permille: u32,
    /// Chance (‰) a twin leader that entered its round through a TC proposes a fork extending a
    /// QC below the TC's highest QC (a Byzantine move the lock must neutralise).
    pub fork_permille: u32,
    /// Chance (‰) a leader's application proposes an invalid payload (before GST).
    pub invalid_permille: u32,
    /// Chance (‰) a leader has transactions when asked.
    pub tx_permille: u32,
    /// Largest clock offset of a validator (ms).
    pub clock_skew_ms: u64,
    /// Global stabilization time (ms).
    pub gst_ms: u64,
    /// Time after GST by which every honest validator must have committed new blocks.
    pub liveness_bound_ms: u64,
    /// New blocks each honest validator must commit after GST.
    pub liveness_blocks: u64,
    /// Largest delay of the application's answers (payloads, validation verdicts), ms.
    pub app_delay_ms: u64,
    /// Signature length of the test keys.
    pub sig_len: usize,
    /// Encode and decode every consensus message.
    pub wire: bool,
    /// Consensus parameters.
    pub config: Config,
}

impl Scenario {
    /// The consensus configuration the simulator uses (times scaled to the simulated network).
    pub fn sim_config() -> Config {
        Config {
            chain_id: *blake3::hash(b"maat sim chain").as_bytes(),
            genesis_time_ms: 0,
            round_timeout_ms: 1_000,
            round_timeout_backoff_percent: 150,
            max_round_timeout_ms: 3_000,
            empty_block_interval_ms: 300,
            max_clock_skew_ms: 500,
            max_future_rounds: 1_000,
            max_fetch_blocks: 64,
            max_orphans: 256,
        }
    }

    /// The campaign's scenario for `seed`: validator count, fault mix and every parameter are
    /// drawn from it.
    pub fn generate(seed: u64) -> Scenario {
        let mut r = Rng::new(seed);
        let n = *r.pick(&[4usize, 4, 4, 7, 7, 10]);
        let f = (n - 1) / 3;
        let mix = *r.pick(&FaultMix::ALL);
        let dmax = r.range(2, 40);
        let mut s = Scenario {
            seed,
            n,
            mix,
            twins: Vec::new(),
            delay_ms: (1, dmax),
            loss_permille: 0,
            dup_permille: 0,
            slow_permille: 0,
            slow_ms: 0,
            partitions: false,
            partition_churn_ms: (200, 1_500),
            crashes: 0,
            downtime_ms: (1, 2_000),
            mid_action_permille: 0,
            fork_permille: 0,
            invalid_permille: *r.pick(&[0, 30, 100]),
            tx_permille: r.range(200, 900) as u32,
            clock_skew_ms: r.range(0, 100),
            gst_ms: r.range(1_500, 5_000),
            liveness_bound_ms: 0,
            liveness_blocks: 2,
            app_delay_ms: 5,
            sig_len: 32,
            wire: true,
            config: Self::sim_config(),
        };
        let lossy = |s: &mut Scenario, r: &mut Rng| {
            s.loss_permille = r.range(10, 250) as u32;
            s.dup_permille = r.range(0, 50) as u32;
            s.slow_permille = r.range(20, 200) as u32;
            s.slow_ms = r.range(100, 2_500);
        };
        let crashy = |s: &mut Scenario, r: &mut Rng| {
            s.crashes = r.range(1, 2 * f as u64 + 1) as u32;
            s.mid_action_permille = *r.pick(&[0, 500, 1000]);
        };
        let twins = |s: &mut Scenario, r: &mut Rng, k: usize| {
            let mut all: Vec<u32> = (0..n as u32).collect();
            for _ in 0..k {
                let i = r.below(all.len() as u64) as usize;
                s.twins.push(ValidatorIndex(all.remove(i)));
            }
            s.twins.sort();
            s.partitions = true;
            s.fork_permille = *r.pick(&[500, 1000]);
            // Partitions that last a few round timeouts: long enough for TCs to form on one
            // side while the other side's locks differ, which is what a forking leader needs.
            s.partition_churn_ms = *r.pick(&[(300, 2_000), (1_000, 5_000)]);
            s.gst_ms = r.range(3_000, 10_000);
        };
        match mix {
            FaultMix::Clean => {}
            FaultMix::Lossy => lossy(&mut s, &mut r),
            FaultMix::Partitions => {
                s.partitions = true;
                if r.chance(500) {
                    s.loss_permille = r.range(0, 50) as u32;
                }
            }
            FaultMix::Crashes => crashy(&mut s, &mut r),
            FaultMix::Twins => {
                let k = r.range(1, f as u64) as usize;
                twins(&mut s, &mut r, k);
                if r.chance(500) {
                    s.loss_permille = r.range(0, 200) as u32;
                }
            }
            FaultMix::Recovery => {
                let k = r.range(1, f as u64) as usize;
                twins(&mut s, &mut r, k);
                s.partitions = false;
                s.fork_permille = 0;
                s.crashes = r.range(5, 30) as u32;
                s.mid_action_permille = 1000;
                s.downtime_ms = (1, 50);
                s.slow_permille = r.range(100, 300) as u32;
                s.slow_ms = r.range(10, 200);
            }
            FaultMix::Chaos => {
                let k = r.range(0, f as u64) as usize;
                twins(&mut s, &mut r, k);
                lossy(&mut s, &mut r);
                s.loss_permille /= 2;
                crashy(&mut s, &mut r);
            }
        }
        s.liveness_bound_ms = s.default_liveness_bound();
        s
    }

    /// A fault-free scenario with a fixed message delay and a leader that always has
    /// transactions: what the throughput and latency benchmarks run.
    pub fn benchmark(n: usize, delay_ms: u64, sig_len: usize) -> Scenario {
        Scenario {
            seed: 1,
            n,
            mix: FaultMix::Clean,
            twins: Vec::new(),
            delay_ms: (delay_ms, delay_ms),
            loss_permille: 0,
            dup_permille: 0,
            slow_permille: 0,
            slow_ms: 0,
            partitions: false,
            partition_churn_ms: (200, 1_500),
            crashes: 0,
            downtime_ms: (1, 2_000),
            mid_action_permille: 0,
            fork_permille: 0,
            invalid_permille: 0,
            tx_permille: 1000,
            clock_skew_ms: 0,
            gst_ms: 0,
            liveness_bound_ms: u64::MAX / 4,
            liveness_blocks: u64::MAX / 4,
            app_delay_ms: 0,
            sig_len,
            wire: true,
            config: Self::sim_config(),
        }
    }

    /// After GST: rounds resynchronise within two capped timer periods, and among any n + 3
    /// consecutive rounds three have honest leaders in a row (enough to commit); each round
    /// lasts at most a capped timer, the empty-block wait and a few message delays.
    fn default_liveness_bound(&self) -> u64 {
        let c = &self.config;
        let round = c.max_round_timeout_ms + c.empty_block_interval_ms + 4 * self.delay_ms.1;
        (self.n as u64 + 6) * round + 2 * round
    }

    /// One line describing the scenario.
    pub fn describe(&self) -> String {
        format!(
            "seed={} n={} mix={:?} twins={:?} delay={:?} loss={}‰ dup={}‰ slow={}‰/{}ms partitions={}/{:?}ms \
             crashes={}/{:?}ms mid-action={}‰ fork={}‰ invalid={}‰ tx={}‰ skew={}ms gst={}ms bound={}ms",
            self.seed,
            self.n,
            self.mix,
            self.twins,
            self.delay_ms,
            self.loss_permille,
            self.dup_permille,
            self.slow_permille,
            self.slow_ms,
            self.partitions,
            self.partition_churn_ms,
            self.crashes,
            self.downtime_ms,
            self.mid_action_permille,
            self.fork_permille,
            self.invalid_permille,
            self.tx_permille,
            self.clock_skew_ms,
            self.gst_ms,
            self.liveness_bound_ms
        )
    }
}

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Record a line for every event, action and dropped message.
    pub trace: bool,
    /// Broken safety rules to inject into every validator.
    pub mutation: Mutation,
    /// Stop once every honest validator committed this height (benchmarks).
    pub stop_at_height: Option<Height>,
    /// Record commit latencies and the time spent inside `Core::handle` (benchmarks; the only
    /// use of a clock in the simulator, and it does not influence the run).
    pub latencies: bool,
}

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Simulator events processed.
    pub events: u64,
    /// Messages put on the network (per recipient).
    pub messages: u64,
    /// Consensus messages by kind: proposal, vote, timeout, sync (per recipient).
    pub messages_by_kind: [u64; 4],
    /// Fetch requests and responses (per recipient).
    pub fetch_messages: u64,
    /// Encoded bytes of consensus messages (per recipient).
    pub bytes: u64,
    /// Messages dropped by loss or partitions.
    pub dropped: u64,
    /// Highest height committed by an honest validator.
    pub height: Height,
    /// Highest round reached by an honest validator.
    pub max_round: Round,
    /// Crashes.
    pub crashes: u64,
    /// Equivocations reported.
    pub equivocations: u64,
    /// Inputs rejected by cores.
    pub rejects: u64,
    /// Timeout certificates formed.
    pub tcs: u64,
    /// Byzantine fork proposals below the TC's highest QC.
    pub forks: u64,
    /// Simulated time at the end (ms).
    pub sim_time_ms: u64,
    /// Wall-clock nanoseconds spent inside `Core::handle` (only with `RunOptions::latencies`).
    pub core_nanos: u64,
}

/// Result of one run.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Property violations (empty on success).
    pub violations: Vec<Violation>,
    /// Counters.
    pub stats: Stats,
    /// The trace, if requested.
    pub trace: Vec<String>,
    /// Commit latencies: simulated ms from a proposal's broadcast to each honest commit of it.
    pub latencies_ms: Vec<u64>,
}

type SimCore = Core<TestSigner, Arc<TestKeys>>;

struct Slot {
    index: ValidatorIndex,
    honest: bool,
    core: Option<SimCore>,
    incarnation: u32,
    offset: u64,
    persisted: SafetyData,
    root: Root,
    store: BTreeMap<BlockId, Arc<Block>>,
    pending: BTreeMap<BlockId, Arc<Block>>,
    timers: [Option<(Timer, u64)>; 2],
    crash_pending: bool,
    group: u32,
    rng: Rng,
    payloads: u64,
}

#[derive(Clone)]
enum Payload {
    Msg(Message),
    Wire(Arc<Vec<u8>>, &'static str),
    FetchReq {
        block_id: BlockId,
        stop_height: Height,
        reply_to: usize,
    },
    FetchResp(Vec<Arc<Block>>),
}

enum Ev {
    Deliver {
        to: usize,
        from: ValidatorIndex,
        payload: Payload,
    },
    Timer {
        slot: usize,
        incarnation: u32,
        timer: Timer,
        deadline: u64,
    },
    App {
        slot: usize,
        incarnation: u32,
        event: Event,
    },
    Crash {
        slot: usize,
    },
    Restart {
        slot: usize,
    },
    Repartition,
    Gst,
}

struct Queued {
    time: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Events before a run is declared runaway (a message storm is a bug too).
const MAX_EVENTS: u64 = 3_000_000;

struct Sim<'a> {
    sc: &'a Scenario,
    opts: &'a RunOptions,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Queued>,
    slots: Vec<Slot>,
    vset: ValidatorSet,
    keys: Arc<TestKeys>,
    domain: SigningDomain,
    net: Rng,
    faults: Rng,
    checker: Checker,
    gst: bool,
    gst_height: Height,
    stats: Stats,
    trace: Vec<String>,
    proposed_at: BTreeMap<BlockId, u64>,
    latencies: Vec<u64>,
    done: bool,
}

/// Runs one scenario to completion and checks every property.
pub fn run(sc: &Scenario, opts: &RunOptions) -> Outcome {
    let mut sim = Sim::new(sc, opts);
    sim.run();
    sim.finish()
}

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario, opts: &'a RunOptions) -> Self {
        let mut rng = Rng::new(sc.seed);
        // Skip the draws Scenario::generate made, so the run's streams are independent of them.
        let net = rng.fork(1);
        let mut faults = rng.fork(2);
        let vset = ValidatorSet::equal(0, sc.n).expect("n >= 1");
        let keys = Arc::new(TestKeys::new(sc.n, sc.sig_len));
        let genesis_root = Root::genesis(&sc.config);
        let genesis = genesis_root.block.clone();
        let genesis_id = genesis_root.qc.block_id;
        let domain = SigningDomain {
            chain_id: sc.config.chain_id,
            epoch: 0,
        };
        let mut slot_indices: Vec<ValidatorIndex> = vset.indices().collect();
        slot_indices.extend(sc.twins.iter().copied());
        let honest: Vec<bool> = vset.indices().map(|v| !sc.twins.contains(&v)).collect();
        let slots = slot_indices
            .iter()
            .enumerate()
            .map(|(i, &index)| Slot {
                index,
                honest: honest[index.0 as usize],
                core: None,
                incarnation: 0,
                offset: faults.range(0, sc.clock_skew_ms),
                persisted: SafetyData::new(0, genesis_root.qc.clone()),
                root: genesis_root.clone(),
                store: BTreeMap::new(),
                pending: BTreeMap::new(),
                timers: [None, None],
                crash_pending: false,
                group: 0,
                rng: rng.fork(100 + i as u64),
                payloads: 0,
            })
            .collect::<Vec<_>>();
        let nslots = slots.len();
        let mut sim = Sim {
            sc,
            opts,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            slots,
            vset,
            keys,
            domain,
            net,
            faults,
            checker: Checker::new(honest, nslots, &genesis, genesis_id),
            gst: false,
            gst_height: 0,
            stats: Stats::default(),
            trace: Vec::new(),
            proposed_at: BTreeMap::new(),
            latencies: Vec::new(),
            done: false,
        };
        for s in 0..nslots {
            sim.boot(s);
        }
        for s in 0..nslots {
            let t = sim.faults.range(0, 20);
            sim.push(
                t,
                Ev::App {
                    slot: s,
                    incarnation: 0,
                    event: Event::Start,
                },
            );
        }
        if sc.partitions {
            let t = sim.faults.range(0, sc.gst_ms / 3);
            sim.push(t, Ev::Repartition);
        }
        for _ in 0..sc.crashes {
            let t = sim.faults.range(100, sc.gst_ms.max(101));
            let slot = sim.faults.below(nslots as u64) as usize;
            sim.push(t, Ev::Crash { slot });
        }
        sim.push(sc.gst_ms, Ev::Gst);
        sim
    }

    fn push(&mut self, time: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Queued {
            time,
            seq: self.seq,
            ev,
        });
    }

    fn log(&mut self, line: impl FnOnce() -> String) {
        if self.opts.trace {
            let l = line();
            self.trace.push(format!("{:>7} {}", self.now, l));
        }
    }

    fn boot(&mut self, s: usize) {
        let slot = &mut self.slots[s];
        let signer = self.keys.signer(slot.index).expect("index in range");
        let core = Core::with_mutation(
            self.sc.config.clone(),
            self.vset.clone(),
            slot.index,
            signer,
            self.keys.clone(),
            Recovered {
                root: slot.root.clone(),
                safety: slot.persisted.clone(),
                blocks: slot.pending.values().cloned().collect(),
            },
            self.opts.mutation,
        );
        match core {
            Ok(c) => slot.core = Some(c),
            Err(e) => self
                .checker
                .violation(Violation::Internal(format!("restart failed: {e:?}"))),
        }
    }

    fn run(&mut self) {
        let end = self.sc.gst_ms.saturating_add(self.sc.liveness_bound_ms);
        while let Some(q) = self.queue.pop() {
            if q.time > end {
                break;
            }
            self.now = q.time;
            self.stats.events += 1;
            if self.stats.events > MAX_EVENTS {
                self.checker.violation(Violation::Internal(format!(
                    "runaway: more than {MAX_EVENTS} events"
                )));
                break;
            }
            self.dispatch(q.ev);
            if self.done {
                break;
            }
        }
    }

    fn finish(mut self) -> Outcome {
        if self.opts.stop_at_height.is_none() && !self.done {
            let need = self.gst_height + self.sc.liveness_blocks;
            for s in 0..self.slots.len() {
                if self.slots[s].honest && self.checker.slot_height(s) < need {
                    let height = self.checker.slot_height(s);
                    self.checker.violation(Violation::Liveness {
                        slot: s,
                        height,
                        gst_height: self.gst_height,
                    });
                }
            }
        }
        self.stats.height = self.checker.honest_height();
        self.stats.sim_time_ms = self.now;
        for s in &self.slots {
            if let Some(c) = &s.core {
                if s.honest {
                    self.stats.max_round = self.stats.max_round.max(c.round());
                }
                self.stats.tcs += c.metrics().tcs_formed;
            }
        }
        Outcome {
            violations: std::mem::take(&mut self.checker.violations),
            stats: self.stats,
            trace: self.trace,
            latencies_ms: self.latencies,
        }
    }

    fn check_done(&mut self) {
        if let Some(h) = self.opts.stop_at_height {
            let all = (0..self.slots.len())
                .all(|s| !self.slots[s].honest || self.checker.slot_height(s) >= h);
            if all {
                self.done = true;
            }
            return;
        }
        if !self.gst {
            return;
        }
        let need = self.gst_height + self.sc.liveness_blocks;
        if (0..self.slots.len())
            .all(|s| !self.slots[s].honest || self.checker.slot_height(s) >= need)
        {
            self.done = true;
        }
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver { to, from, payload } => self.deliver(to, from, payload),
            Ev::Timer {
                slot,
                incarnation,
                timer,
                deadline,
            } => {
                let k = timer_kind(timer);
                let s = &mut self.slots[slot];
                if s.incarnation == incarnation && s.timers[k] == Some((timer, deadline)) {
                    s.timers[k] = None;
                    self.feed(slot, Event::TimerFired(timer));
                }
            }
            Ev::App {
                slot,
                incarnation,
                event,
            } => {
                if self.slots[slot].incarnation == incarnation {
                    self.feed(slot, event);
                }
            }
            Ev::Crash { slot } => {
                if self.slots[slot].core.is_none() || self.gst {
                    return;
                }
                if self.faults.chance(self.sc.mid_action_permille) {
                    // The outage starts when the crash actually hits (see `feed`).
                    self.log(|| format!("s{slot} will crash inside its next batch of persists"));
                    self.slots[slot].crash_pending = true;
                } else {
                    self.crash(slot);
                    self.schedule_restart(slot);
                }
            }
            Ev::Restart { slot } => self.restart(slot),
            Ev::Repartition => {
                if self.gst {
                    return;
                }
                self.repartition();
                let (lo, hi) = self.sc.partition_churn_ms;
                let next = self.now + self.faults.range(lo, hi);
                if next < self.sc.gst_ms {
                    self.push(next, Ev::Repartition);
                }
            }
            Ev::Gst => {
                self.gst = true;
                self.gst_height = self.checker.honest_height();
                self.log(|| "GST: partitions healed, loss stopped, everyone restarted".to_string());
                for s in 0..self.slots.len() {
                    self.slots[s].group = 0;
                    self.restart(s);
                }
                self.check_done();
            }
        }
    }

    fn crash(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if s.core.is_none() {
            return;
        }
        s.core = None;
        s.incarnation += 1;
        s.timers = [None, None];
        s.crash_pending = false;
        self.stats.crashes += 1;
        self.log(|| format!("s{slot} CRASH"));
    }

    fn restart(&mut self, slot: usize) {
        if self.slots[slot].crash_pending {
            self.crash(slot);
        }
        if self.slots[slot].core.is_some() {
            return;
        }
        self.log(|| format!("s{slot} RESTART from persisted safety data and committed root"));
        self.boot(slot);
        let resumed = self.slots[slot].core.as_ref().map(|c| c.round());
        let last_voted = self.slots[slot].persisted.last_voted_round;
        if resumed.is_some_and(|r| r < last_voted) {
            self.checker.violation(Violation::Internal(format!(
                "s{slot} resumed in round {resumed:?} below its last voted round {last_voted}"
            )));
        }
        self.feed(slot, Event::Start);
    }

    fn repartition(&mut self) {
        let nslots = self.slots.len();
        if self.faults.chance(300) {
            for s in &mut self.slots {
                s.group = 0;
            }
            self.log(|| "partition healed".to_string());
            return;
        }
        let k = self.faults.range(2, 3) as u32;
        for s in 0..nslots {
            self.slots[s].group = self.faults.below(k as u64) as u32;
        }
        // Twin instances (slots n..) never share a partition with their first instance.
        for s in self.sc.n..nslots {
            let first = self.slots[s].index.0 as usize;
            let g = self.slots[first].group;
            self.slots[s].group = (g + 1 + self.faults.below(k as u64 - 1) as u32) % k;
        }
        if self.opts.trace {
            let groups: Vec<u32> = self.slots.iter().map(|s| s.group).collect();
            self.log(|| format!("partition {groups:?} (group per slot)"));
        }
    }

    fn deliver(&mut self, to: usize, from: ValidatorIndex, payload: Payload) {
        if self.slots[to].core.is_none() {
            return;
        }
        match payload {
            Payload::Msg(message) => self.feed(to, Event::Message { from, message }),
            Payload::Wire(bytes, kind) => match Message::decode(&bytes) {
                Ok(message) => self.feed(to, Event::Message { from, message }),
                Err(e) => self
                    .checker
                    .violation(Violation::Codec(format!("{kind} does not decode: {e}"))),
            },
            Payload::FetchReq {
                block_id,
                stop_height,
                reply_to,
            } => {
                let blocks = self.serve(to, block_id, stop_height);
                self.log(|| {
                    format!(
                        "s{to} serves {} blocks from {block_id:?} to s{reply_to}",
                        blocks.len()
                    )
                });
                let index = self.slots[to].index;
                self.net_send(to, reply_to, index, Payload::FetchResp(blocks));
            }
            Payload::FetchResp(blocks) => self.feed(to, Event::BlocksFetched { from, blocks }),
        }
    }

    fn serve(&self, slot: usize, block_id: BlockId, stop_height: Height) -> Vec<Arc<Block>> {
        let s = &self.slots[slot];
        let Some(core) = &s.core else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut cur = block_id;
        while out.len() < self.sc.config.max_fetch_blocks {
            let b = core
                .block(&cur)
                .cloned()
                .or_else(|| s.store.get(&cur).cloned());
            match b {
                Some(b) if b.height > stop_height => {
                    cur = b.parent;
                    out.push(b);
                }
                _ => break,
            }
        }
        out
    }

    fn feed(&mut self, slot: usize, event: Event) {
        let local = self.now + self.slots[slot].offset;
        if self.opts.trace {
            let d = describe_event(&event);
            let idx = self.slots[slot].index;
            self.log(|| format!("s{slot}({idx}) <- {d}"));
        }
        let Some(core) = self.slots[slot].core.as_mut() else {
            return;
        };
        let actions = if self.opts.latencies {
            let t = std::time::Instant::now();
            let a = core.handle(local, event);
            self.stats.core_nanos += t.elapsed().as_nanos() as u64;
            a
        } else {
            core.handle(local, event)
        };
        // A pending crash hits inside the next batch that persists something: the moment the
        // persistence contract is about.
        let persists = actions
            .iter()
            .any(|a| matches!(a, Action::PersistSafety(_) | Action::PersistBlock { .. }));
        let cut = if self.slots[slot].crash_pending && persists {
            Some(self.faults.below(actions.len() as u64 + 1) as usize)
        } else {
            None
        };
        for (i, a) in actions.into_iter().enumerate() {
            if cut == Some(i) {
                break;
            }
            if self.opts.trace {
                let d = describe_action(&a);
                self.log(|| format!("    s{slot} -> {d}"));
            }
            self.execute(slot, a);
        }
        if cut.is_some() {
            self.crash(slot);
            self.schedule_restart(slot);
        }
    }

    fn schedule_restart(&mut self, slot: usize) {
        // Short outages matter most: messages of the same round are still in flight.
        let (lo, hi) = self.sc.downtime_ms;
        let down = if self.faults.chance(500) {
            self.faults.range(lo, lo + (hi - lo) / 10)
        } else {
            self.faults.range(lo, hi)
        };
        let at = (self.now + down).min(self.sc.gst_ms);
        self.push(at, Ev::Restart { slot });
    }

    fn execute(&mut self, slot: usize, action: Action) {
        let index = self.slots[slot].index;
        let honest = self.slots[slot].honest;
        match action {
            Action::PersistSafety(data) => {
                self.checker.on_persist(
                    slot,
                    honest,
                    data.last_voted_round,
                    data.last_proposed_round,
                );
                self.slots[slot].persisted = *data;
            }
            Action::PersistBlock { block_id, block } => {
                self.slots[slot].pending.insert(block_id, block);
            }
            Action::Send { to, message } => {
                if let Message::Vote(v) = &message {
                    self.checker.on_vote(v.voter, v.round, v.block_id);
                }
                let payload = self.wrap(message);
                for j in 0..self.slots.len() {
                    if j != slot && self.slots[j].index == to {
                        self.net_send(slot, j, index, payload.clone());
                    }
                }
            }
            Action::Broadcast { mut message } => {
                if !honest
                    && let Message::Proposal(p) = &message
                    && p.block.tc.is_some()
                    && self.faults.chance(self.sc.fork_permille)
                    && let Some(fork) = self.forge_fork(slot, p)
                {
                    self.log(|| format!("    s{slot} BYZANTINE: replaces its proposal by a fork below the TC's QC"));
                    let tc_hqc = fork.block.tc.as_ref().map_or(0, |tc| tc.high_qc.round);
                    if fork.block.justify.round < tc_hqc {
                        self.stats.forks += 1;
                    }
                    message = Message::Proposal(fork);
                }
                match &message {
                    Message::Timeout(t) => {
                        self.checker.on_timeout(t.sender, t.round);
                        let qc = &t.high_qc;
                        self.checker.on_qc(qc.block_id, qc.round, qc.height);
                    }
                    Message::Proposal(p) => {
                        let id = p.block.id();
                        self.checker.on_block(id, &p.block);
                        self.checker
                            .on_proposal(p.block.proposer, p.block.round, id);
                        let qc = &p.block.justify;
                        self.checker.on_qc(qc.block_id, qc.round, qc.height);
                        for (v, _) in &qc.signatures {
                            self.checker.on_qc_vote(*v, qc.round, qc.block_id);
                        }
                        if self.opts.latencies {
                            self.proposed_at.entry(id).or_insert(self.now);
                        }
                    }
                    _ => {}
                }
                let payload = self.wrap(message);
                for j in 0..self.slots.len() {
                    if self.slots[j].index != index {
                        self.net_send(slot, j, index, payload.clone());
                    }
                }
            }
            Action::SetTimer { timer, deadline_ms } => {
                let s = &mut self.slots[slot];
                s.timers[timer_kind(timer)] = Some((timer, deadline_ms));
                let at = deadline_ms.saturating_sub(s.offset).max(self.now);
                let incarnation = s.incarnation;
                self.push(
                    at,
                    Ev::Timer {
                        slot,
                        incarnation,
                        timer,
                        deadline: deadline_ms,
                    },
                );
            }
            Action::RequestPayload { round, parent, .. } => self.app_payload(slot, round, parent),
            Action::ValidateBlock { block_id, block } => {
                let s = &mut self.slots[slot];
                let parent_header = s
                    .core
                    .as_ref()
                    .and_then(|c| c.block(&block.parent))
                    .map(|p| p.app_header.clone());
                let valid = parent_header.is_some_and(|h| block_is_valid(&h, &block));
                let delay = s.rng.range(0, self.sc.app_delay_ms);
                let incarnation = s.incarnation;
                self.push(
                    self.now + delay,
                    Ev::App {
                        slot,
                        incarnation,
                        event: Event::BlockValidated { block_id, valid },
                    },
                );
            }
            Action::FetchBlocks {
                from,
                block_id,
                stop_height,
            } => {
                for j in 0..self.slots.len() {
                    if j != slot && self.slots[j].index == from {
                        self.net_send(
                            slot,
                            j,
                            index,
                            Payload::FetchReq {
                                block_id,
                                stop_height,
                                reply_to: slot,
                            },
                        );
                    }
                }
            }
            Action::Commit { blocks, qc, .. } => {
                self.checker.on_commit(slot, honest, &blocks);
                if honest && let Some((_, last)) = blocks.last() {
                    self.checker.on_direct_commit(last.height, last.round);
                }
                if self.opts.latencies && honest {
                    for (id, _) in &blocks {
                        if let Some(t) = self.proposed_at.get(id) {
                            self.latencies.push(self.now - t);
                        }
                    }
                }
                let s = &mut self.slots[slot];
                for (id, b) in &blocks {
                    s.store.insert(*id, b.clone());
                }
                if let Some((_, last)) = blocks.last() {
                    let h = last.height;
                    s.pending.retain(|_, b| b.height > h);
                    s.root = Root {
                        block: last.clone(),
                        qc,
                    };
                }
                self.check_done();
            }
            Action::ReportEquivocation(e) => {
                self.stats.equivocations += 1;
                self.check_evidence(slot, &e);
            }
            Action::Reject { reason, .. } => {
                self.stats.rejects += 1;
                if reason == RejectReason::ConflictingCommit && honest {
                    self.checker.violation(Violation::CoreConflict { slot });
                }
            }
        }
    }

    /// A proposal for the same round that extends an ancestor of the parent (at a random depth)
    /// instead of the parent: below the TC's highest QC whenever the TC reports the parent's QC.
    fn forge_fork(&mut self, slot: usize, p: &Proposal) -> Option<Proposal> {
        let core = self.slots[slot].core.as_ref()?;
        // Certificates of the ancestors of the parent, nearest first: (QC, certified block).
        let mut candidates = Vec::new();
        let mut cur = core.block(&p.block.parent)?.clone();
        while let Some(grand) = core.block(&cur.justify.block_id) {
            if cur.height == 0 {
                break;
            }
            candidates.push((cur.justify.clone(), grand.clone()));
            cur = grand.clone();
        }
        if candidates.is_empty() {
            return None;
        }
        let depth = self.faults.below(candidates.len().min(4) as u64) as usize;
        let (qc, grand) = candidates.swap_remove(depth);
        if qc.round + 1 >= p.block.round {
            return None;
        }
        let payload = vec![slot as u8, 0xAB, p.block.round as u8];
        let block = Block {
            height: qc.height + 1,
            round: p.block.round,
            parent: qc.block_id,
            timestamp_ms: p.block.timestamp_ms.max(grand.timestamp_ms + 1),
            proposer: p.block.proposer,
            app_header: app_header(&grand.app_header, &payload),
            payload,
            justify: qc,
            tc: p.block.tc.clone(),
        };
        let id = block.id();
        let signer = self.keys.signer(p.block.proposer)?;
        let signature = signer.sign(&self.domain.proposal_bytes(&id, block.round));
        Some(Proposal {
            block: Arc::new(block),
            signature,
        })
    }

    fn check_evidence(&mut self, slot: usize, e: &Equivocation) {
        let ok = match e {
            Equivocation::Vote { first, second } => {
                first.voter == second.voter
                    && first.round == second.round
                    && first.block_id != second.block_id
                    && [first, second].iter().all(|v| {
                        let msg = self.domain.vote_bytes(&v.block_id, v.round, v.height);
                        self.keys.verify(v.voter, &msg, &v.signature)
                    })
            }
            Equivocation::Proposal { first, second } => {
                let (a, b) = (first.block.id(), second.block.id());
                first.block.proposer == second.block.proposer
                    && first.block.round == second.block.round
                    && a != b
                    && [(first, a), (second, b)].iter().all(|(p, id)| {
                        let msg = self.domain.proposal_bytes(id, p.block.round);
                        self.keys.verify(p.block.proposer, &msg, &p.signature)
                    })
            }
        };
        if !ok {
            self.checker.violation(Violation::BadEvidence {
                slot,
                detail: format!("evidence does not hold up: {e:?}"),
            });
        } else if self.checker.is_honest(e.culprit()) {
            self.checker.violation(Violation::BadEvidence {
                slot,
                detail: format!("honest {} accused in round {}", e.culprit(), e.round()),
            });
        }
    }

    fn app_payload(&mut self, slot: usize, round: Round, parent: BlockId) {
        let gst = self.gst;
        let app_delay = self.sc.app_delay_ms;
        let (tx, invalid, interval) = (
            self.sc.tx_permille,
            self.sc.invalid_permille,
            self.sc.config.empty_block_interval_ms,
        );
        let s = &mut self.slots[slot];
        let parent_header = s
            .core
            .as_ref()
            .and_then(|c| c.block(&parent))
            .map(|p| p.app_header.clone())
            .unwrap_or_default();
        let make = |s: &mut Slot| {
            s.payloads += 1;
            let mut p = vec![slot as u8, s.incarnation as u8];
            p.extend_from_slice(&s.payloads.to_le_bytes());
            p.extend_from_slice(&s.rng.next_u64().to_le_bytes()[..(s.rng.below(8) as usize)]);
            p
        };
        let mut payload = if s.rng.chance(tx) {
            make(s)
        } else {
            Vec::new()
        };
        let mut header = app_header(&parent_header, &payload);
        if !gst && s.rng.chance(invalid) {
            // A leader whose application proposes something the ledger rejects.
            if s.rng.chance(500) {
                payload = vec![0xFF, slot as u8];
                header = app_header(&parent_header, &payload);
            } else {
                payload = make(s);
                header = vec![0xEE; 16];
            }
        }
        let incarnation = s.incarnation;
        let later = payload.is_empty() && s.rng.chance(tx / 2);
        let delay = s.rng.range(0, app_delay);
        let late = if later {
            let p = make(s);
            let h = app_header(&parent_header, &p);
            Some((s.rng.range(1, interval.max(2)), p, h))
        } else {
            None
        };
        self.push(
            self.now + delay,
            Ev::App {
                slot,
                incarnation,
                event: Event::PayloadReady {
                    round,
                    payload,
                    app_header: header,
                    timestamp_ms: None,
                },
            },
        );
        if let Some((d, payload, app_header)) = late {
            // Transactions arriving while the leader waits for the empty-block interval.
            self.push(
                self.now + d,
                Ev::App {
                    slot,
                    incarnation,
                    event: Event::PayloadReady {
                        round,
                        payload,
                        app_header,
                        timestamp_ms: None,
                    },
                },
            );
        }
    }

    fn wrap(&mut self, message: Message) -> Payload {
        if self.sc.wire {
            let kind = message.kind();
            let bytes = message.encode();
            Payload::Wire(Arc::new(bytes), kind)
        } else {
            Payload::Msg(message)
        }
    }

    fn net_send(
        &mut self,
        from_slot: usize,
        to_slot: usize,
        from: ValidatorIndex,
        payload: Payload,
    ) {
        self.stats.messages += 1;
        match &payload {
            Payload::Wire(bytes, kind) => {
                self.stats.bytes += bytes.len() as u64;
                let k = match *kind {
                    "proposal" => 0,
                    "vote" => 1,
                    "timeout" => 2,
                    _ => 3,
                };
                self.stats.messages_by_kind[k] += 1;
            }
            Payload::Msg(m) => {
                let k = match m {
                    Message::Proposal(_) => 0,
                    Message::Vote(_) => 1,
                    Message::Timeout(_) => 2,
                    Message::Sync(_) => 3,
                };
                self.stats.messages_by_kind[k] += 1;
            }
            Payload::FetchReq { .. } | Payload::FetchResp(_) => self.stats.fetch_messages += 1,
        }
        let sc = self.sc;
        if !self.gst {
            let cut = self.slots[from_slot].group != self.slots[to_slot].group;
            if cut || self.net.chance(sc.loss_permille) {
                self.stats.dropped += 1;
                if self.opts.trace {
                    let why = if cut { "partition" } else { "loss" };
                    self.log(|| format!("    drop s{from_slot} -> s{to_slot} ({why})"));
                }
                return;
            }
        }
        let copies = if !self.gst && self.net.chance(sc.dup_permille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut delay = self.net.range(sc.delay_ms.0, sc.delay_ms.1);
            if !self.gst && self.net.chance(sc.slow_permille) {
                delay += self.net.range(0, sc.slow_ms);
            }
            self.push(
                self.now + delay,
                Ev::Deliver {
                    to: to_slot,
                    from,
                    payload: payload.clone(),
                },
            );
        }
    }
}

fn timer_kind(t: Timer) -> usize {
    match t {
        Timer::Round(_) => 0,
        Timer::EmptyBlock(_) => 1,
    }
}

fn describe_message(m: &Message) -> String {
    match m {
        Message::Proposal(p) => {
            let b = &p.block;
            let mut s = format!(
                "proposal r{} h{} {:?} by {} parent {:?} qc r{}",
                b.round,
                b.height,
                b.id(),
                b.proposer,
                b.parent,
                b.justify.round
            );
            if let Some(tc) = &b.tc {
                let _ = write!(s, " tc r{} (hqc r{})", tc.round, tc.high_qc.round);
            }
            if b.payload.first() == Some(&0xFF) {
                s.push_str(" INVALID-PAYLOAD");
            } else if !b.payload.is_empty() {
                let _ = write!(s, " payload {}B", b.payload.len());
            }
            s
        }
        Message::Vote(v) => format!("vote r{} {:?} by {}", v.round, v.block_id, v.voter),
        Message::Timeout(t) => format!(
            "timeout r{} by {} hqc r{}{}",
            t.round,
            t.sender,
            t.high_qc.round,
            t.last_tc
                .as_ref()
                .map(|tc| format!(" tc r{}", tc.round))
                .unwrap_or_default()
        ),
        Message::Sync(s) => format!(
            "sync hqc r{} {:?}{}",
            s.high_qc.round,
            s.high_qc.block_id,
            s.high_tc
                .as_ref()
                .map(|tc| format!(" tc r{}", tc.round))
                .unwrap_or_default()
        ),
    }
}

fn describe_event(e: &Event) -> String {
    match e {
        Event::Start => "start".into(),
        Event::Message { from, message } => format!("from {from}: {}", describe_message(message)),
        Event::TimerFired(t) => format!("timer {t:?}"),
        Event::PayloadReady { round, payload, .. } => {
            format!("payload for r{round}: {}B", payload.len())
        }
        Event::BlockValidated { block_id, valid } => format!("validated {block_id:?}: {valid}"),
        Event::BlocksFetched { from, blocks } => {
            let hs: Vec<Height> = blocks.iter().map(|b| b.height).collect();
            format!("fetched from {from}: heights {hs:?}")
        }
        Event::ChainFetched { from, blocks } => {
            let hs: Vec<Height> = blocks.iter().map(|(b, _)| b.height).collect();
            format!("chain fetched from {from}: heights {hs:?}")
        }
    }
}

fn describe_action(a: &Action) -> String {
    match a {
        Action::PersistBlock { block_id, block } => {
            format!(
                "persist block r{} h{} {block_id:?}",
                block.round, block.height
            )
        }
        Action::PersistSafety(d) => format!(
            "persist lvr={} lpr={} lock=r{}{}{}",
            d.last_voted_round,
            d.last_proposed_round,
            d.high_qc.round,
            d.last_vote
                .as_ref()
                .map(|v| format!(" vote r{} {:?}", v.round, v.block_id))
                .unwrap_or_default(),
            d.last_timeout
                .as_ref()
                .map(|t| format!(" timeout r{}", t.round))
                .unwrap_or_default()
        ),
        Action::Send { to, message } => format!("send to {to}: {}", describe_message(message)),
        Action::Broadcast { message } => format!("broadcast: {}", describe_message(message)),
        Action::SetTimer { timer, deadline_ms } => format!("timer {timer:?} at {deadline_ms}"),
        Action::RequestPayload {
            round,
            parent,
            height,
        } => {
            format!("request payload r{round} h{height} on {parent:?}")
        }
        Action::ValidateBlock { block_id, block } => {
            format!("validate r{} h{} {block_id:?}", block.round, block.height)
        }
        Action::FetchBlocks {
            from,
            block_id,
            stop_height,
        } => format!("fetch {block_id:?} from {from} (above h{stop_height})"),
        Action::Commit {
            blocks, commit_qc, ..
        } => {
            let hs: Vec<String> = blocks
                .iter()
                .map(|(id, b)| format!("h{} {id:?}", b.height))
                .collect();
            format!("COMMIT [{}] by qc r{}", hs.join(", "), commit_qc.round)
        }
        Action::ReportEquivocation(e) => {
            format!("EQUIVOCATION by {} in r{}", e.culprit(), e.round())
        }
        Action::Reject { from, reason } => format!("reject from {from:?}: {reason}"),
    }
}
