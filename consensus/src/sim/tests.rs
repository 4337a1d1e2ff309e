//! The simulation campaign, replay of one seed, and the mutants that must be caught.
//!
//! - `campaign`: `MAAT_SIM_SCENARIOS` scenarios (default 10,000) from `MAAT_SIM_FIRST_SEED`
//!   (default 0) on all cores; fails with the seeds, their violations and a trace.
//! - `replay`: one seed (`MAAT_SIM_SEED`, default a fixed one) with a full trace, optionally under
//!   a mutation (`MAAT_SIM_MUTATION=VoteTwiceInRound`, ...); `MAAT_SIM_TRACE=all` prints it all.
//! - `mutant_*`: the campaign run against deliberately broken safety rules must fail.

use super::*;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn threads() -> usize {
    env_u64("MAAT_SIM_THREADS")
        .map(|t| t.max(1) as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn mutation_from_env() -> Mutation {
    let Ok(name) = std::env::var("MAAT_SIM_MUTATION") else {
        return Mutation::None;
    };
    Mutation::ALL
        .into_iter()
        .find(|m| format!("{m:?}") == name)
        .unwrap_or_else(|| {
            panic!(
                "unknown MAAT_SIM_MUTATION {name}; one of {:?}",
                Mutation::ALL
            )
        })
}

/// Replays a failing seed with tracing on and prints how to reproduce it.
fn explain(seed: u64, mutation: Mutation) -> String {
    let sc = Scenario::generate(seed);
    let out = run(
        &sc,
        &RunOptions {
            trace: true,
            mutation,
            ..RunOptions::default()
        },
    );
    let path = std::env::temp_dir().join(format!("maat-sim-{seed}.trace"));
    let written = std::fs::write(&path, out.trace.join("\n")).is_ok();
    let tail = 150.min(out.trace.len());
    let mut s = format!(
        "\n=== seed {seed} ({}) ===\nviolations: {:?}\nlast {tail} trace lines:\n",
        sc.describe(),
        out.violations
    );
    for l in &out.trace[out.trace.len() - tail..] {
        s.push_str(l);
        s.push('\n');
    }
    if written {
        s.push_str(&format!(
            "full trace ({} lines): {}\n",
            out.trace.len(),
            path.display()
        ));
    }
    let m = if mutation == Mutation::None {
        String::new()
    } else {
        format!("MAAT_SIM_MUTATION={mutation:?} ")
    };
    s.push_str(&format!(
        "replay: {m}MAAT_SIM_SEED={seed} cargo test -p maat-consensus --lib sim::tests::replay -- --nocapture\n"
    ));
    s
}

#[test]
fn campaign() {
    let cfg = CampaignConfig {
        first_seed: env_u64("MAAT_SIM_FIRST_SEED").unwrap_or(0),
        scenarios: env_u64("MAAT_SIM_SCENARIOS").unwrap_or(10_000),
        mutation: Mutation::None,
        stop_on_first: false,
        threads: threads(),
    };
    let report = run_campaign(&cfg);
    eprintln!("simulation campaign: {}", report.summary());
    let explained: String = report
        .failures
        .iter()
        .take(3)
        .map(|f| explain(f.seed, Mutation::None))
        .collect();
    assert!(
        report.failures.is_empty(),
        "{} of {} scenarios failed; first seeds: {:?}{explained}",
        report.failures.len(),
        report.run,
        report
            .failures
            .iter()
            .take(20)
            .map(|f| f.seed)
            .collect::<Vec<_>>()
    );
    assert_eq!(report.run, cfg.scenarios);
}

#[test]
fn replay() {
    let seed = env_u64("MAAT_SIM_SEED").unwrap_or(3);
    let mutation = mutation_from_env();
    let sc = Scenario::generate(seed);
    let opts = RunOptions {
        trace: true,
        mutation,
        ..RunOptions::default()
    };
    let out = run(&sc, &opts);
    if std::env::var("MAAT_SIM_TRACE").is_ok_and(|v| v == "all") {
        for l in &out.trace {
            println!("{l}");
        }
    }
    println!(
        "{}\n{:?}\nviolations: {:?}",
        sc.describe(),
        out.stats,
        out.violations
    );
    // Same seed, same run: the trace is identical.
    let again = run(&sc, &opts);
    assert_eq!(out.trace, again.trace);
    assert_eq!(out.stats, again.stats);
    if mutation == Mutation::None {
        assert!(out.violations.is_empty(), "{}", explain(seed, mutation));
    }
}

#[test]
fn every_mix_and_size_makes_progress() {
    // A small sweep that looks at what happened, not only at the absence of violations.
    let mut seen = std::collections::BTreeSet::new();
    let mut seed = 1_000_000;
    while seen.len() < FaultMix::ALL.len() * 3 && seed < 1_002_000 {
        let sc = Scenario::generate(seed);
        seed += 1;
        if !seen.insert((sc.mix, sc.n)) {
            continue;
        }
        let out = run(&sc, &RunOptions::default());
        assert!(
            out.violations.is_empty(),
            "{}",
            explain(sc.seed, Mutation::None)
        );
        assert!(out.stats.height >= 2, "{}: {:?}", sc.describe(), out.stats);
    }
    assert_eq!(seen.len(), FaultMix::ALL.len() * 3);
}

fn mutant_is_caught(mutation: Mutation, budget: u64) {
    // MAAT_SIM_MUTANT_RATE=1 runs the whole budget and reports how many seeds catch the mutant.
    let rate = std::env::var("MAAT_SIM_MUTANT_RATE").is_ok();
    let report = run_campaign(&CampaignConfig {
        first_seed: 0,
        scenarios: budget,
        mutation,
        stop_on_first: !rate,
        threads: threads(),
    });
    if rate {
        eprintln!(
            "mutant {mutation:?}: {} of {} scenarios catch it",
            report.failures.len(),
            report.run
        );
    }
    assert!(
        !report.failures.is_empty(),
        "mutant {mutation:?} survived {} scenarios: the simulator cannot see this bug",
        report.run
    );
    let f = &report.failures[0];
    eprintln!(
        "mutant {mutation:?} caught after {} scenarios by seed {}: {:?}\n  replay: MAAT_SIM_MUTATION={mutation:?} MAAT_SIM_SEED={} cargo test -p maat-consensus --lib sim::tests::replay -- --nocapture",
        report.run, f.seed, f.violations, f.seed
    );
}

#[test]
fn mutant_vote_twice_in_round_is_caught() {
    mutant_is_caught(Mutation::VoteTwiceInRound, 2_000);
}

#[test]
fn mutant_vote_without_validation_is_caught() {
    mutant_is_caught(Mutation::VoteWithoutValidation, 2_000);
}

#[test]
fn mutant_commit_on_one_chain_is_caught() {
    mutant_is_caught(Mutation::CommitOnOneChain, 2_000);
}

#[test]
fn mutant_send_before_persist_is_caught() {
    mutant_is_caught(Mutation::SendBeforePersist, 2_000);
}

#[test]
fn mutant_ignore_tc_lock_is_caught() {
    mutant_is_caught(Mutation::IgnoreTcLock, 2_000);
}
