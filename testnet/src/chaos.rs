//! Faults on a schedule while open-loop load runs, then the end-of-run check.
//!
//! One validator at a time (a 3f+1 network tolerates f faulty, and one keeps every size from 4
//! up live) gets one of: **kill** (SIGKILL, down for a while, restarted), **pause** (SIGSTOP for a
//! while, then SIGCONT: a frozen process whose sockets stay open) or **restart** (SIGTERM, started
//! again at once). After each heal the healed node's catch-up time is measured (until it reaches
//! the height the network had at the heal). When the load has drained, every node is stopped and
//! its RocksDB opened: the committed chains must agree block for block on their common prefix and
//! every acknowledged transaction must be in every node's chain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use maat_node::config::NodeConfig;
use maat_storage::{Store, StoreOptions};
use nix::sys::signal::Signal;
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;
use tokio::time::Instant;

use crate::TestnetError;
use crate::load::{self, LoadOptions, LoadReport};
use crate::net::{NodeEntry, ProcState, Role, Testnet};

/// A fault kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// SIGKILL, restart after the fault duration.
    Kill,
    /// SIGSTOP, SIGCONT after the fault duration.
    Pause,
    /// SIGTERM, restart at once.
    Restart,
}

impl FaultKind {
    const ALL: [FaultKind; 3] = [FaultKind::Kill, FaultKind::Pause, FaultKind::Restart];
}

/// The schedule.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    /// The load (its duration is the run's).
    pub load: LoadOptions,
    /// Time between the end of one fault's recovery and the next fault.
    pub interval: Duration,
    /// Shortest fault (kill and pause).
    pub fault_min: Duration,
    /// Longest fault.
    pub fault_max: Duration,
    /// Seed of the schedule (which node, which fault, how long).
    pub seed: u64,
    /// The `maatd` used for restarts.
    pub maatd: PathBuf,
}

/// One injected fault.
#[derive(Clone, Debug, Serialize)]
pub struct FaultRecord {
    /// Seconds since the start of the run.
    pub at_s: f64,
    /// The node.
    pub node: String,
    /// What.
    pub kind: FaultKind,
    /// How long the node was out (s).
    pub out_s: f64,
    /// From the heal until it reached the network's height at the heal (s); `None`: not
    /// within two minutes.
    pub caught_up_s: Option<f64>,
}

/// What a chaos run found.
#[derive(Clone, Debug, Serialize)]
pub struct ChaosReport {
    /// Seconds of load and faults.
    pub duration_s: f64,
    /// Every fault.
    pub faults: Vec<FaultRecord>,
    /// Faults by kind.
    pub fault_counts: BTreeMap<String, u64>,
    /// The load's own report.
    pub load: LoadReport,
    /// Acknowledged transactions missing from at least one node's chain (hex ids).
    pub lost: Vec<String>,
    /// Whether all committed chains agree on their common prefix.
    pub chains_agree: bool,
    /// Each node's committed height at the end.
    pub heights: BTreeMap<String, u64>,
    /// Longest catch-up after a heal (s).
    pub longest_stall_after_heal_s: f64,
    /// Longest time in the run with no new block committed anywhere (s).
    pub longest_commit_gap_s: f64,
}

impl ChaosReport {
    /// Whether the run passed: nothing lost, chains agree.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.chains_agree
    }

    /// A few human lines.
    #[must_use]
    pub fn summary(&self) -> String {
        let counts: Vec<String> = self
            .fault_counts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        format!(
            "chaos       {:.0} s, {} faults ({})\n{}\n\
             lost        {} acknowledged transactions missing from some node\n\
             chains      {} (heights {:?})\n\
             stalls      longest catch-up after a heal {:.1} s; longest network-wide commit gap {:.1} s\n\
             verdict     {}",
            self.duration_s,
            self.faults.len(),
            counts.join(", "),
            self.load.summary(),
            self.lost.len(),
            if self.chains_agree {
                "identical on the common prefix"
            } else {
                "DIVERGE"
            },
            self.heights,
            self.longest_stall_after_heal_s,
            self.longest_commit_gap_s,
            if self.passed() { "PASS" } else { "FAIL" }
        )
    }
}

async fn inject(
    net: &Testnet,
    node: &NodeEntry,
    kind: FaultKind,
    out: Duration,
    maatd: &std::path::Path,
) -> Result<(), TestnetError> {
    match kind {
        FaultKind::Kill => {
            net.kill(node)?;
            tokio::time::sleep(out).await;
            net.start(node, maatd)?;
        }
        FaultKind::Pause => {
            net.signal(node, Signal::SIGSTOP)?;
            tokio::time::sleep(out).await;
            net.signal(node, Signal::SIGCONT)?;
        }
        FaultKind::Restart => {
            net.stop(node, Duration::from_secs(20))?;
            net.start(node, maatd)?;
        }
    }
    Ok(())
}

async fn height_of(net: &Testnet, node: &NodeEntry) -> Option<u64> {
    let c = net.client(node).ok()?;
    c.status().await.ok().map(|s| s.height)
}

async fn network_height(net: &Testnet) -> u64 {
    let mut h = 0;
    for node in &net.manifest.nodes {
        if let ProcState::Running(_) = net.state(node)
            && let Some(x) = height_of(net, node).await
        {
            h = h.max(x);
        }
    }
    h
}

/// Runs load with faults; stops the network at the end for the storage check.
///
/// # Errors
/// [`TestnetError`] on setup failures; the verdict is in the report.
pub async fn run(net: &Testnet, opts: &ChaosOptions) -> Result<ChaosReport, TestnetError> {
    let validators: Vec<NodeEntry> = net.validators_running();
    let all_running = net
        .manifest
        .nodes
        .iter()
        .all(|n| matches!(net.state(n), ProcState::Running(_)));
    if validators.len() < 4 || !all_running {
        return Err(TestnetError::Config(
            "chaos needs every node of the testnet running, at least 4 validators (`maat-testnet up`)"
                .into(),
        ));
    }
    let entry = validators[0].clone();
    let prepared = load::prepare(net, &entry, &opts.load).await?;
    let t0 = Instant::now();
    let end = t0 + opts.load.duration;
    let load_net = net.clone();
    let load_opts = opts.load.clone();
    let load_task = tokio::spawn(async move { load::run(&load_net, prepared, &load_opts).await });

    // Network-wide commit gaps, sampled every 100 ms.
    let done = Arc::new(AtomicBool::new(false));
    let gap_task = {
        let net = net.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let (mut best, mut since, mut longest) = (0u64, Instant::now(), Duration::ZERO);
            while !done.load(Ordering::Relaxed) {
                let h = network_height(&net).await;
                let now = Instant::now();
                if h > best {
                    best = h;
                    since = now;
                } else {
                    longest = longest.max(now.duration_since(since));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            longest
        })
    };

    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let mut faults = Vec::new();
    tokio::time::sleep(opts.interval.min(opts.load.duration / 4)).await;
    while Instant::now() + opts.fault_max < end {
        let node = validators[rng.gen_range(0..validators.len())].clone();
        let kind = FaultKind::ALL[rng.gen_range(0..FaultKind::ALL.len())];
        let out = Duration::from_secs_f64(
            rng.gen_range(opts.fault_min.as_secs_f64()..=opts.fault_max.as_secs_f64()),
        );
        let at = t0.elapsed().as_secs_f64();
        tracing::info!(node = %node.name, ?kind, out_s = out.as_secs_f64(), "fault");
        let began = Instant::now();
        if let Err(e) = inject(net, &node, kind, out, &opts.maatd).await {
            // Leave no node frozen or down behind, and no load running.
            let _ = net.signal(&node, Signal::SIGCONT);
            let _ = net.start(&node, &opts.maatd);
            load_task.abort();
            done.store(true, Ordering::Relaxed);
            return Err(e);
        }
        let out_s = began.elapsed().as_secs_f64();
        let healed = Instant::now();
        let target = network_height(net).await;
        let mut caught_up_s = None;
        while healed.elapsed() < Duration::from_secs(120) {
            if height_of(net, &node).await.is_some_and(|h| h >= target) {
                caught_up_s = Some(healed.elapsed().as_secs_f64());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        faults.push(FaultRecord {
            at_s: at,
            node: node.name.clone(),
            kind,
            out_s,
            caught_up_s,
        });
        let rest = opts
            .interval
            .min(end.saturating_duration_since(Instant::now()));
        tokio::time::sleep(rest).await;
    }
    let load = load_task
        .await
        .map_err(|e| TestnetError::Config(format!("load task: {e}")))??;
    done.store(true, Ordering::Relaxed);
    let longest_gap = gap_task.await.unwrap_or_default();

    // Let every node commit what the others have (a healed node may still be catching up)
    // before stopping them: the check compares complete chains.
    let target = network_height(net).await;
    let settle = Instant::now() + Duration::from_secs(120);
    for node in &net.manifest.nodes {
        while Instant::now() < settle && height_of(net, node).await.is_none_or(|h| h < target) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    net.down(Duration::from_secs(20))?;
    let (chains_agree, heights, lost) = check_stores(net, &load)?;
    let mut fault_counts = BTreeMap::new();
    for f in &faults {
        *fault_counts
            .entry(format!("{:?}", f.kind).to_lowercase())
            .or_default() += 1;
    }
    let longest_stall = faults
        .iter()
        .map(|f| f.caught_up_s.unwrap_or(f64::INFINITY))
        .fold(0.0, f64::max);
    Ok(ChaosReport {
        duration_s: opts.load.duration.as_secs_f64(),
        faults,
        fault_counts,
        load,
        lost,
        chains_agree,
        heights,
        longest_stall_after_heal_s: longest_stall,
        longest_commit_gap_s: longest_gap.as_secs_f64(),
    })
}

/// Opens every (stopped) node's database: do the chains agree, and is every acknowledged
/// transaction in each?
///
/// # Errors
/// [`TestnetError::Store`].
pub fn check_stores(
    net: &Testnet,
    load: &LoadReport,
) -> Result<(bool, BTreeMap<String, u64>, Vec<String>), TestnetError> {
    let genesis = net.genesis()?;
    let mut stores = Vec::new();
    for node in &net.manifest.nodes {
        let home = net.home(node);
        let err = |reason: String| TestnetError::Store {
            node: node.name.clone(),
            reason,
        };
        let config = NodeConfig::load(&home.join("config.toml"), std::iter::empty(), &[])
            .map_err(|e| err(e.to_string()))?;
        let data = NodeConfig::resolve(&home, &config.node.data_dir);
        if !data.join("CURRENT").exists() {
            return Err(err(format!(
                "{} holds no database (never started?)",
                data.display()
            )));
        }
        let store = Store::open(&data, &StoreOptions::new(genesis.hash()))
            .map_err(|e| err(e.to_string()))?;
        let height = store
            .meta()
            .map_err(|e| err(e.to_string()))?
            .map_or(0, |m| m.height);
        stores.push((node.name.clone(), store, height));
    }
    // Every height any node has: all nodes that have it must agree (a node that stopped early
    // must not hide a split above its head).
    let top = stores.iter().map(|s| s.2).max().unwrap_or(0);
    let mut agree = true;
    'heights: for h in 0..=top {
        let mut first = None;
        for (name, store, height) in &stores {
            if h > *height {
                continue;
            }
            let id = store
                .block(h)
                .map_err(|e| TestnetError::Store {
                    node: name.clone(),
                    reason: e.to_string(),
                })?
                .map(|b| b.block_id);
            match (&first, id) {
                (None, id) => first = Some(id),
                (Some(a), b) if *a != b => {
                    tracing::error!(height = h, node = %name, "committed chains diverge");
                    agree = false;
                    break 'heights;
                }
                _ => {}
            }
        }
    }
    let mut lost = Vec::new();
    for id in &load.acknowledged_ids {
        for (name, store, _) in &stores {
            let found = store.tx(&id.0).map_err(|e| TestnetError::Store {
                node: name.clone(),
                reason: e.to_string(),
            })?;
            if found.is_none() {
                lost.push(id.to_hex());
                break;
            }
        }
    }
    let heights = stores.iter().map(|(n, _, h)| (n.clone(), *h)).collect();
    Ok((agree, heights, lost))
}

impl Testnet {
    /// Validators whose process runs.
    #[must_use]
    pub fn validators_running(&self) -> Vec<NodeEntry> {
        self.manifest
            .nodes
            .iter()
            .filter(|n| n.role == Role::Validator && matches!(self.state(n), ProcState::Running(_)))
            .cloned()
            .collect()
    }
}
