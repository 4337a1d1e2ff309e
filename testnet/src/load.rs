//! Open-loop load: transactions are sent at their scheduled times whatever the network does,
//! and latency is measured from the **scheduled** time to the client seeing the transaction
//! finalized (a `finalized_txs` subscription), so a slow network shows as latency, not as a
//! lower offered rate (no coordinated omission).
//!
//! Ordering: a submitter's nonces must arrive in order, so each of the `K` submitters has one
//! task sending its transactions one after another (to node `j mod n`, the next node when one
//! does not answer). Acknowledged transactions that are not final after `resubmit_after` are sent
//! again (same bytes, same id): a node killed between acknowledging and gossiping loses its
//! mempool, and a client that wants its transaction final resubmits it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use maat_proto::TxId;
use maat_rpc::{EventFilter, NodeEvent, SubscriptionKind};
use maat_sdk::client::{Client, ClientError};
use maat_sdk::workload::{self, Workload};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::TestnetError;
use crate::net::{NodeEntry, Testnet};

/// What the transactions are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadKind {
    /// maat-v1 certificates (7 Ed25519-signed evidence objects, ≈5 KB).
    Certificate,
    /// Agent audit records (≈0.5 KB).
    Audit,
}

impl std::str::FromStr for LoadKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "certificate" => Ok(LoadKind::Certificate),
            "audit" => Ok(LoadKind::Audit),
            other => Err(format!("unknown kind `{other}` (certificate or audit)")),
        }
    }
}

/// How to load the network.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Offered transactions per second.
    pub rate: f64,
    /// How long transactions are offered.
    pub duration: Duration,
    /// What they are.
    pub kind: LoadKind,
    /// Submitters `K` (default: rate / 10, between 16 and 1,000).
    pub submitters: Option<usize>,
    /// After the offered window, how long to wait for acknowledged transactions to finalize.
    pub drain: Duration,
    /// Acknowledged but not final after this long: send again.
    pub resubmit_after: Duration,
    /// Seed of the workload's keys (a fresh one per run keeps identities distinct).
    pub seed: [u8; 32],
    /// Nodes to submit to (by name; empty: every node in the testnet).
    pub targets: Vec<String>,
    /// The first part of the window left out of the sustained rate (ramp-up).
    pub warmup: Duration,
}

impl LoadOptions {
    /// Defaults for `rate` over `duration`.
    #[must_use]
    pub fn new(rate: f64, duration: Duration, kind: LoadKind, seed: [u8; 32]) -> LoadOptions {
        LoadOptions {
            rate,
            duration,
            kind,
            submitters: None,
            drain: Duration::from_secs(60),
            resubmit_after: Duration::from_secs(15),
            seed,
            targets: Vec::new(),
            warmup: duration.mul_f64(0.2).min(Duration::from_secs(5)),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    fn of(mut ms: Vec<f64>) -> Latency {
        if ms.is_empty() {
            return Latency::default();
        }
        ms.sort_by(f64::total_cmp);
        let at = |p: f64| ms[(((ms.len() - 1) as f64) * p).round() as usize];
        Latency {
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: ms[ms.len() - 1],
        }
    }
}

/// What a load run measured.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Transaction kind.
    pub kind: LoadKind,
    /// Offered rate (tx/s).
    pub offered_rate: f64,
    /// Offered window (s).
    pub duration_s: f64,
    /// Submitters.
    pub submitters: usize,
    /// Transactions offered.
    pub offered: u64,
    /// Acknowledged by a node (submit returned the id, or "already pending"), or seen final.
    pub acknowledged: u64,
    /// Refused for good, by code.
    pub refused: BTreeMap<String, u64>,
    /// Neither acknowledged nor refused before the end (no node answered in time).
    pub unacknowledged: u64,
    /// Acknowledged and seen finalized.
    pub finalized: u64,
    /// Acknowledged but not finalized by the end of the drain.
    pub not_finalized: u64,
    /// Resubmissions of acknowledged transactions.
    pub resubmitted: u64,
    /// Finalized per second inside the window, after the warm-up.
    pub sustained_finalized_per_s: f64,
    /// Finalized per second from the first scheduled send to the last finalization.
    pub overall_finalized_per_s: f64,
    /// Scheduled send to finalized (all finalized transactions).
    pub latency: Latency,
    /// Blocks that carried these transactions.
    pub blocks: u64,
    /// Seconds from the end of the window until the last one finalized (backlog).
    pub backlog_drain_s: f64,
    /// The acknowledged transactions (for the chaos check).
    #[serde(skip)]
    pub acknowledged_ids: Vec<TxId>,
}

impl LoadReport {
    /// A few human lines.
    #[must_use]
    pub fn summary(&self) -> String {
        let refused: Vec<String> = self
            .refused
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        format!(
            "offered     {} {:?} txs at {:.0}/s for {:.0} s ({} submitters)\n\
             acknowledged {} (refused {}{}, unacknowledged {}, resubmitted {})\n\
             finalized   {} (not finalized: {}), in {} blocks\n\
             throughput  {:.1} finalized/s sustained (after warm-up), {:.1}/s overall; backlog drained {:.1} s after the window\n\
             latency     p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms (scheduled send to finalized)",
            self.offered,
            self.kind,
            self.offered_rate,
            self.duration_s,
            self.submitters,
            self.acknowledged,
            self.refused.values().sum::<u64>(),
            if refused.is_empty() {
                String::new()
            } else {
                format!(": {}", refused.join(", "))
            },
            self.unacknowledged,
            self.resubmitted,
            self.finalized,
            self.not_finalized,
            self.blocks,
            self.sustained_finalized_per_s,
            self.overall_finalized_per_s,
            self.backlog_drain_s,
            self.latency.p50_ms,
            self.latency.p90_ms,
            self.latency.p99_ms,
            self.latency.max_ms,
        )
    }
}

/// Generated transactions, ready to send.
pub struct Prepared {
    txs: Vec<Arc<Vec<u8>>>,
    ids: Vec<TxId>,
    submitters: usize,
}

impl Prepared {
    /// How many.
    #[must_use]
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }
}

/// A workload of `k` submitters and `k` audit agents, signed by the genesis's first admin,
/// whose nonces continue from what the chain (through `client`) has committed.
///
/// # Errors
/// [`TestnetError`] if the genesis has no admin or the node cannot be asked.
pub(crate) async fn admin_workload(
    net: &Testnet,
    client: &Client,
    seed: [u8; 32],
    k: usize,
) -> Result<Workload, TestnetError> {
    let genesis = net.genesis()?;
    let admin = genesis
        .admins()
        .first()
        .map(|a| a.id.clone())
        .ok_or_else(|| TestnetError::Config("the genesis has no admin".into()))?;
    let identity = client
        .identity(&admin)
        .await?
        .ok_or_else(|| TestnetError::Config(format!("the chain has no identity `{admin}`")))?;
    let last = identity
        .get("last_nonce")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    Workload::new(genesis.chain_id(), net.admin_key()?, seed)
        .with_submitters(k)
        .and_then(|w| w.with_agents(k))
        .and_then(|w| w.with_admin(admin, last + 1))
        .map_err(|e| TestnetError::Config(e.to_string()))
}

/// The nodes to submit to: `opts.targets` by name (each must exist), or every node.
fn targets(net: &Testnet, opts: &LoadOptions) -> Result<Vec<NodeEntry>, TestnetError> {
    if opts.targets.is_empty() {
        return Ok(net.manifest.nodes.clone());
    }
    opts.targets
        .iter()
        .map(|name| net.node(name).cloned())
        .collect()
}

/// Largest number of transactions one run builds (they are held in memory).
pub const MAX_TXS: f64 = 5_000_000.0;

/// Registers the workload's identities (and policy) through `entry` and waits until final;
/// then builds `rate × duration` transactions on every core.
///
/// # Errors
/// [`TestnetError`].
pub async fn prepare(
    net: &Testnet,
    entry: &NodeEntry,
    opts: &LoadOptions,
) -> Result<Prepared, TestnetError> {
    let total = opts.rate * opts.duration.as_secs_f64();
    if !(opts.rate > 0.0 && total.is_finite() && total <= MAX_TXS) {
        return Err(TestnetError::Config(format!(
            "rate × duration must be positive and at most {MAX_TXS} transactions"
        )));
    }
    // Certificates are signed once, before the clock starts; their evidence is fresh for the
    // policy's hour.
    if opts.kind == LoadKind::Certificate
        && opts.duration + opts.drain > Duration::from_secs(50 * 60)
    {
        return Err(TestnetError::Config(
            "certificate load: duration + drain must stay under 50 minutes (the evidence's \
             freshness window is one hour)"
                .into(),
        ));
    }
    let n = total.round() as u64;
    let k = opts
        .submitters
        .unwrap_or_else(|| ((opts.rate / 10.0) as usize).clamp(16, 1000))
        .max(1);
    let client = net.client(entry)?;
    let w = admin_workload(net, &client, opts.seed, k).await?;
    // Audit agents' admin nonces follow the submitters' registrations: both, in order.
    let mut setup = w.setup_txs();
    if opts.kind == LoadKind::Audit {
        setup.extend(w.audit_setup_txs());
    }
    let mut last = None;
    for tx in setup {
        last = Some(client.submit_tx(&tx).await?);
    }
    if let Some(id) = last {
        client
            .wait_for_finality(id, Duration::from_secs(120))
            .await?;
    }
    let now = maat_node::home::now_ms();
    // Built on every core (the workload parallelizes signing); one `now` for the whole stream.
    let txs = match opts.kind {
        LoadKind::Certificate => w.certificate_txs(0..n, now),
        LoadKind::Audit => w.audit_record_txs(0..n, now),
    };
    let ids = txs
        .iter()
        .map(|t| workload::tx_id(t).ok_or_else(|| TestnetError::Config("bad generated tx".into())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Prepared {
        txs: txs.into_iter().map(Arc::new).collect(),
        ids,
        submitters: k,
    })
}

/// Submit outcomes and finalizations, reported to the collector.
enum Note {
    Acked(usize, Instant),
    Refused(usize, String),
    Resent,
    Finalized(TxId, u64, Instant),
}

/// Work for a submitter's task.
enum Job {
    Send(usize),
    Resend(usize),
}

/// Codes after which the same transaction may be admitted later.
const BACKPRESSURE: [&str; 3] = [
    "MEMPOOL_FULL",
    "SUBMITTER_QUOTA_EXCEEDED",
    "STATE_UNAVAILABLE",
];

struct Shared {
    txs: Vec<Arc<Vec<u8>>>,
    ids: Vec<TxId>,
    clients: Vec<Client>,
    finalized: Mutex<HashSet<TxId>>,
    notes: mpsc::UnboundedSender<Note>,
    stop_at: Instant,
}

impl Shared {
    fn is_final(&self, i: usize) -> bool {
        self.finalized
            .lock()
            .map(|f| f.contains(&self.ids[i]))
            .unwrap_or(false)
    }
}

/// Whether `i` is already final according to `client` (a resubmission of a committed
/// transaction is refused with `TX_NONCE_INVALID`: the nonce is used).
async fn committed(shared: &Shared, client: &Client, i: usize) -> bool {
    matches!(
        client.tx_status(shared.ids[i]).await,
        Ok(maat_rpc::TxStatus::Finalized { .. })
    )
}

/// One submitter: its transactions in order, to its node, the next node on transport errors.
async fn submitter(shared: Arc<Shared>, j: usize, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let n = shared.clients.len();
    let mut node = j % n;
    // This submitter's acknowledged transactions, for the re-send after a nonce gap.
    let mut acked: Vec<usize> = Vec::new();
    while let Some(job) = jobs.recv().await {
        let (i, resend) = match job {
            Job::Send(i) => (i, false),
            Job::Resend(i) => (i, true),
        };
        if resend {
            if shared.is_final(i) {
                continue;
            }
            let _ = shared.notes.send(Note::Resent);
            match shared.clients[node].submit_tx(&shared.txs[i]).await {
                Err(ClientError::Rejected { rejection, .. })
                    if rejection.code == "TX_NONCE_INVALID" =>
                {
                    // Final already, and the watcher missed its event (a node it followed
                    // was killed at that moment): the node's status says so.
                    if let Ok(maat_rpc::TxStatus::Finalized { height, .. }) =
                        shared.clients[node].tx_status(shared.ids[i]).await
                    {
                        let _ = shared.notes.send(Note::Finalized(
                            shared.ids[i],
                            height,
                            Instant::now(),
                        ));
                        continue;
                    }
                    // The node lacks this submitter's earlier pending transactions (it
                    // restarted): give it all of them, in order.
                    acked.retain(|&a| !shared.is_final(a));
                    for &a in &acked {
                        let _ = shared.clients[node].submit_tx(&shared.txs[a]).await;
                    }
                }
                Err(e) if e.is_transient() => node = (node + 1) % n,
                _ => {}
            }
            continue;
        }
        let mut backoff = Duration::from_millis(20);
        let mut gaps = 0u32;
        loop {
            if Instant::now() > shared.stop_at {
                break;
            }
            let client = &shared.clients[node];
            match client.submit_tx(&shared.txs[i]).await {
                Ok(_) => {
                    let _ = shared.notes.send(Note::Acked(i, Instant::now()));
                    acked.push(i);
                    break;
                }
                Err(ClientError::Rejected { rejection, .. }) => {
                    let code = rejection.code.as_str();
                    if code == "TX_ALREADY_PENDING" {
                        let _ = shared.notes.send(Note::Acked(i, Instant::now()));
                        acked.push(i);
                        break;
                    }
                    if BACKPRESSURE.contains(&code) {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                    if code == "TX_NONCE_INVALID" {
                        // Either an earlier attempt that timed out was admitted and is final
                        // by now, or this node lacks earlier transactions of ours (it restarted
                        // with an empty mempool): give them to it, in order, then try again.
                        if committed(&shared, client, i).await {
                            let _ = shared.notes.send(Note::Acked(i, Instant::now()));
                            acked.push(i);
                            break;
                        }
                        if gaps < 8 {
                            gaps += 1;
                            acked.retain(|&a| !shared.is_final(a));
                            for &a in &acked {
                                let _ = client.submit_tx(&shared.txs[a]).await;
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(1));
                            if gaps % 3 == 0 {
                                node = (node + 1) % n;
                            }
                            continue;
                        }
                    }
                    let _ = shared.notes.send(Note::Refused(i, code.to_owned()));
                    break;
                }
                Err(e) if e.is_transient() => {
                    node = (node + 1) % n;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(e) => {
                    let _ = shared.notes.send(Note::Refused(i, format!("error: {e}")));
                    break;
                }
            }
        }
    }
}

/// A subscription that has delivered nothing for this long is presumed stuck (its node may be
/// paused: a stopped process keeps its sockets open, so the stream neither ends nor fails).
const SILENT_STREAM: Duration = Duration::from_secs(5);

/// Follows `finalized_txs` on some node; after a broken or silent subscription, resubscribes
/// on the next node and reads the blocks committed since the last one seen, so no
/// finalization is missed. `from_height`: the committed height before the load started.
async fn watcher(shared: Arc<Shared>, nodes: Vec<NodeEntry>, from_height: u64) {
    // Every block above `seen` is read (backfill) or streamed.
    let mut seen = from_height;
    let mut at = 0usize;
    loop {
        if Instant::now() > shared.stop_at {
            return;
        }
        let k = at % nodes.len();
        at += 1;
        let node = &nodes[k];
        let Ok(ws) = Client::connect_with_timeout(&node.ws_url(), Duration::from_secs(2)).await
        else {
            continue;
        };
        let subscribed = tokio::time::timeout(
            Duration::from_secs(2),
            ws.subscribe(SubscriptionKind::FinalizedTxs, EventFilter::default()),
        )
        .await;
        let Ok(Ok(mut stream)) = subscribed else {
            continue;
        };
        // Blocks committed while no subscription was open (on the first pass: none, unless
        // the load already started).
        let http = &shared.clients[k];
        let Ok(status) = http.status().await else {
            continue;
        };
        let mut complete = true;
        for h in seen + 1..=status.height {
            match http.block(h).await {
                Ok(Some(b)) => {
                    let now = Instant::now();
                    for id in b.tx_ids {
                        let _ = shared.notes.send(Note::Finalized(TxId(id), h, now));
                    }
                    seen = h;
                }
                _ => {
                    complete = false;
                    break;
                }
            }
        }
        if !complete {
            continue;
        }
        loop {
            let deadline = shared.stop_at.min(Instant::now() + SILENT_STREAM);
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(NodeEvent::FinalizedTx { tx_id, height, .. }))) => {
                    // Events come in commit order; a block is complete once a later one shows.
                    seen = seen.max(height.saturating_sub(1));
                    let _ = shared
                        .notes
                        .send(Note::Finalized(TxId(tx_id), height, Instant::now()));
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => break,
                Err(_) if Instant::now() >= shared.stop_at => return,
                // Silent: resubscribe (elsewhere) and backfill.
                Err(_) => break,
            }
        }
    }
}

/// Runs prepared load against the testnet.
///
/// # Errors
/// [`TestnetError`] if no node can be reached.
pub async fn run(
    net: &Testnet,
    prepared: Prepared,
    opts: &LoadOptions,
) -> Result<LoadReport, TestnetError> {
    let nodes = targets(net, opts)?;
    let clients = nodes
        .iter()
        .map(|n| Client::new_with_timeout(&n.rpc_url(), Duration::from_secs(5)))
        .collect::<Result<Vec<_>, _>>()?;
    let n = prepared.len();
    let k = prepared.submitters;
    let rate = opts.rate.max(0.001);
    let start = Instant::now() + Duration::from_millis(200);
    let window_end = start + opts.duration;
    let stop_at = window_end + opts.drain;
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        txs: prepared.txs,
        ids: prepared.ids,
        clients,
        finalized: Mutex::new(HashSet::new()),
        notes: notes_tx,
        stop_at,
    });
    let mut from_height = None;
    for c in &shared.clients {
        if let Ok(st) = c.status().await {
            from_height = Some(st.height);
            break;
        }
    }
    let from_height =
        from_height.ok_or_else(|| TestnetError::Config("no target node answers its RPC".into()))?;
    let watch = tokio::spawn(watcher(shared.clone(), nodes.clone(), from_height));
    let mut queues = Vec::with_capacity(k);
    let mut tasks = Vec::with_capacity(k);
    for j in 0..k {
        let (tx, rx) = mpsc::unbounded_channel();
        queues.push(tx);
        tasks.push(tokio::spawn(submitter(shared.clone(), j, rx)));
    }
    let scheduled = |i: usize| start + Duration::from_secs_f64(i as f64 / rate);
    let id_index: HashMap<TxId, usize> = shared
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();

    let mut acked_at: Vec<Option<Instant>> = vec![None; n];
    let mut last_sent: Vec<Option<Instant>> = vec![None; n];
    let mut final_at: Vec<Option<Instant>> = vec![None; n];
    let mut heights: HashSet<u64> = HashSet::new();
    // A refusal can be overtaken by a finalization (an earlier attempt that timed out was
    // admitted after all): final wins.
    let mut refused: Vec<Option<String>> = vec![None; n];
    let mut refused_n = 0u64;
    let mut resent = 0u64;
    let mut final_n = 0u64;
    let mut next = 0usize;
    let mut resend_tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        // Dispatch everything due.
        let now = Instant::now();
        while next < n && scheduled(next) <= now {
            let _ = queues[next % k].send(Job::Send(next));
            next += 1;
        }
        let settled = next >= n && final_n + refused_n >= n as u64;
        if settled || now >= stop_at {
            break;
        }
        let wake = if next < n { scheduled(next) } else { stop_at };
        tokio::select! {
            note = notes.recv() => match note {
                Some(Note::Acked(i, at)) => {
                    acked_at[i].get_or_insert(at);
                    last_sent[i] = Some(at);
                }
                Some(Note::Refused(i, code)) => {
                    if final_at[i].is_none() && refused[i].is_none() {
                        refused_n += 1;
                    }
                    refused[i].get_or_insert(code);
                }
                Some(Note::Resent) => resent += 1,
                Some(Note::Finalized(id, h, at)) => {
                    if let Some(&i) = id_index.get(&id)
                        && final_at[i].is_none()
                    {
                        final_at[i] = Some(at);
                        final_n += 1;
                        if refused[i].is_some() {
                            refused_n -= 1;
                        }
                        heights.insert(h);
                        if let Ok(mut f) = shared.finalized.lock() {
                            f.insert(id);
                        }
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep_until(wake) => {}
            _ = resend_tick.tick() => {
                let now = Instant::now();
                for i in 0..next {
                    if final_at[i].is_none()
                        && let Some(sent) = last_sent[i]
                        && now.duration_since(sent) > opts.resubmit_after
                    {
                        last_sent[i] = Some(now);
                        let _ = queues[i % k].send(Job::Resend(i));
                    }
                }
            }
        }
    }
    watch.abort();
    for t in tasks {
        t.abort();
    }

    let warm = start + opts.warmup;
    let mut lat = Vec::new();
    let mut in_window = 0u64;
    let mut last_final = start;
    let mut acknowledged_ids = Vec::new();
    let mut not_final = 0u64;
    let mut refused_codes: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..n {
        if final_at[i].is_none()
            && let Some(code) = &refused[i]
        {
            *refused_codes.entry(code.clone()).or_default() += 1;
        }
        if acked_at[i].is_some() || final_at[i].is_some() {
            acknowledged_ids.push(shared.ids[i]);
        }
        match final_at[i] {
            Some(f) => {
                lat.push(f.saturating_duration_since(scheduled(i)).as_secs_f64() * 1e3);
                if f >= warm && f <= window_end {
                    in_window += 1;
                }
                last_final = last_final.max(f);
            }
            None if acked_at[i].is_some() => not_final += 1,
            None => {}
        }
    }
    let window = window_end.saturating_duration_since(warm).as_secs_f64();
    let overall = last_final.saturating_duration_since(start).as_secs_f64();
    Ok(LoadReport {
        kind: opts.kind,
        offered_rate: opts.rate,
        duration_s: opts.duration.as_secs_f64(),
        submitters: k,
        offered: n as u64,
        acknowledged: acknowledged_ids.len() as u64,
        refused: refused_codes,
        unacknowledged: (n as u64).saturating_sub(acknowledged_ids.len() as u64 + refused_n),
        finalized: final_n,
        not_finalized: not_final,
        resubmitted: resent,
        sustained_finalized_per_s: if window > 0.0 {
            in_window as f64 / window
        } else {
            0.0
        },
        overall_finalized_per_s: if overall > 0.0 {
            final_n as f64 / overall
        } else {
            0.0
        },
        latency: Latency::of(lat),
        blocks: heights.len() as u64,
        backlog_drain_s: last_final
            .saturating_duration_since(window_end)
            .as_secs_f64(),
        acknowledged_ids,
    })
}
