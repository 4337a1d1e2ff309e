//! Running many seeded scenarios (on all cores; each scenario is deterministic on its own).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{FaultMix, RunOptions, Scenario, Violation, run};
use crate::safety::Mutation;

/// What to run.
#[derive(Clone, Debug)]
pub struct CampaignConfig {
    /// Seed of the first scenario; scenario `i` uses `first_seed + i`.
    pub first_seed: u64,
    /// Number of scenarios.
    pub scenarios: u64,
    /// Broken safety rules to inject (to show the campaign catches them).
    pub mutation: Mutation,
    /// Stop at the first failing scenario.
    pub stop_on_first: bool,
    /// Worker threads (at least 1).
    pub threads: usize,
}

/// A failing scenario.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Its seed (replay with `MAAT_SIM_SEED`).
    pub seed: u64,
    /// The scenario's parameters.
    pub scenario: String,
    /// What went wrong.
    pub violations: Vec<Violation>,
}

/// Per-bucket totals.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    /// Scenarios run.
    pub scenarios: u64,
    /// Simulator events.
    pub events: u64,
    /// Heights committed (sum over scenarios of the honest height).
    pub heights: u64,
    /// Rounds (sum of the highest honest round).
    pub rounds: u64,
    /// Equivocations reported.
    pub equivocations: u64,
    /// Crashes.
    pub crashes: u64,
    /// Byzantine forks below a TC's highest QC.
    pub forks: u64,
}

/// The outcome of a campaign.
#[derive(Clone, Debug, Default)]
pub struct CampaignReport {
    /// Scenarios run.
    pub run: u64,
    /// Failing scenarios, by seed.
    pub failures: Vec<Failure>,
    /// Totals by fault mix.
    pub by_mix: BTreeMap<FaultMix, Bucket>,
    /// Totals by validator count.
    pub by_n: BTreeMap<usize, Bucket>,
    /// Wall time.
    pub elapsed: Duration,
}

impl CampaignReport {
    /// A human summary (one line per bucket).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} scenarios in {:.1}s, {} failing\n",
            self.run,
            self.elapsed.as_secs_f64(),
            self.failures.len()
        );
        let line = |s: &mut String, name: String, b: &Bucket| {
            let k = b.scenarios.max(1);
            let _ = writeln!(
                s,
                "  {name:<12} {:>6} runs, avg {:>6} events, {:>5.1} heights, {:>5.1} rounds, {} equivocations, {} crashes, {} forks",
                b.scenarios,
                b.events / k,
                b.heights as f64 / k as f64,
                b.rounds as f64 / k as f64,
                b.equivocations,
                b.crashes,
                b.forks
            );
        };
        for (m, b) in &self.by_mix {
            line(&mut s, format!("{m:?}"), b);
        }
        for (n, b) in &self.by_n {
            line(&mut s, format!("n={n}"), b);
        }
        for f in self.failures.iter().take(10) {
            let _ = writeln!(s, "  FAIL {}: {:?}", f.scenario, f.violations);
        }
        s
    }
}

/// Runs the campaign on `threads` workers.
pub fn run_campaign(cfg: &CampaignConfig) -> CampaignReport {
    let start = Instant::now();
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let report = Mutex::new(CampaignReport::default());
    let opts = RunOptions {
        mutation: cfg.mutation,
        ..RunOptions::default()
    };
    std::thread::scope(|scope| {
        for _ in 0..cfg.threads.max(1) {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cfg.scenarios {
                        break;
                    }
                    let seed = cfg.first_seed.wrapping_add(i);
                    let sc = Scenario::generate(seed);
                    let out = run(&sc, &opts);
                    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                    r.run += 1;
                    add(r.by_mix.entry(sc.mix).or_default(), &out.stats);
                    add(r.by_n.entry(sc.n).or_default(), &out.stats);
                    if !out.violations.is_empty() {
                        r.failures.push(Failure {
                            seed,
                            scenario: sc.describe(),
                            violations: out.violations,
                        });
                        if cfg.stop_on_first {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let mut r = report.into_inner().unwrap_or_else(|e| e.into_inner());
    r.failures.sort_by_key(|f| f.seed);
    r.elapsed = start.elapsed();
    r
}

fn add(b: &mut Bucket, s: &super::Stats) {
    b.scenarios += 1;
    b.events += s.events;
    b.heights += s.height;
    b.rounds += s.max_round;
    b.equivocations += s.equivocations;
    b.crashes += s.crashes;
    b.forks += s.forks;
}
