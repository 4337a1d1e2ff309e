//! The consensus driver: one task that owns the consensus core, the executor and the mempool,
//! feeds the core events (peer messages, timers, payloads, validation verdicts, fetched
//! blocks) and executes its actions **in order**: safety data and voted-for blocks are
//! written and synced before the next action, so before any vote or timeout leaves.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use maat_consensus::{
    Action, Block, BlockId, Core, Decode as _, Encode, Equivocation, Event, Message, RejectReason,
    Round, Timer, ValidatorIndex,
};
use maat_ledger::Rejection;
use maat_mempool::{Mempool, MempoolError};
use maat_p2p::{Misbehaviour, P2pEvent, P2pHandle, PeerId, Topic, Verdict};
use maat_proto::TxId;
use maat_storage::Store;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::checkpoints::{CheckpointBook, Received};
use crate::exec::{ExecError, Executor};
use crate::home::now_ms;
use crate::metrics::NodeMetrics;
use maat_consensus::wire::{MAX_FETCH_BLOCKS, NetRequest, NetResponse, decode_proposal_gossip};
use maat_ledger::signing::{MlDsaSigner, MlDsaVerifier};
use maat_rpc::NodeEvent;

/// The consensus core as the node runs it.
pub type NodeCore = Core<MlDsaSigner, MlDsaVerifier>;

/// What the RPC side asks the driver.
pub enum Command {
    /// Admit a transaction and gossip it.
    Submit {
        /// Canonical transaction bytes.
        tx: Vec<u8>,
        /// The answer.
        reply: oneshot::Sender<Result<TxId, MempoolError>>,
    },
    /// Whether a transaction is pending here, or was refused recently.
    Pending {
        /// The id.
        tx_id: TxId,
        /// The answer.
        reply: oneshot::Sender<PendingStatus>,
    },
}

/// A transaction not (yet) committed, as this node knows it.
#[derive(Debug, Clone)]
pub enum PendingStatus {
    /// Never seen, or forgotten.
    Unknown,
    /// In the mempool.
    Pending,
    /// Refused at admission or dropped from the mempool.
    Rejected(Rejection),
}

/// A snapshot for `status` queries, published after every step.
#[derive(Debug, Clone, Default)]
pub struct StatusSnapshot {
    /// Last committed height.
    pub height: u64,
    /// Current round.
    pub round: u64,
    /// Connected peers.
    pub peers: u32,
    /// Blocks wait for missing ancestors (the node is catching up).
    pub syncing: bool,
    /// Mempool transactions.
    pub mempool_txs: u64,
    /// Transparency-log size.
    pub log_size: u64,
}

/// Byzantine behaviour for tests (`fault-injection` feature).
#[derive(Debug, Clone, Default)]
pub enum Fault {
    /// Honest.
    #[default]
    None,
    /// As leader, add this transaction (it fails CheckR) to every proposal.
    InvalidCertificate(Vec<u8>),
    /// As leader, sign a second block for the round and send it to everyone directly.
    Equivocate,
}

/// Refused transactions remembered for `getTx`.
const REMEMBERED_REJECTIONS: usize = 10_000;
/// Locally submitted transactions whose commit latency is measured.
const MAX_TRACKED_SUBMISSIONS: usize = 100_000;
/// Block fetches this node has outstanding at once.
const MAX_FETCHES_IN_FLIGHT: usize = 16;

/// Everything the driver owns.
pub struct Driver {
    pub(crate) core: NodeCore,
    pub(crate) exec: Executor,
    pub(crate) mempool: Mempool,
    pub(crate) store: Arc<Store>,
    pub(crate) p2p: P2pHandle,
    pub(crate) peers: Vec<PeerId>,
    pub(crate) peer_index: HashMap<PeerId, ValidatorIndex>,
    pub(crate) metrics: Arc<NodeMetrics>,
    pub(crate) status: watch::Sender<StatusSnapshot>,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(crate) fault: Fault,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(crate) signer: MlDsaSigner,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(crate) domain: maat_consensus::SigningDomain,
    /// Pending blocks persisted with `PersistBlock`, by height, deleted once committed past.
    pub(crate) persisted: HashMap<BlockId, u64>,
    timers: HashMap<std::mem::Discriminant<Timer>, (Timer, Instant)>,
    queue: VecDeque<Event>,
    /// The round a leader waits in with an empty payload (new transactions re-offer one).
    awaiting_payload: Option<(Round, BlockId, u64)>,
    /// The block this node built last, reused when the core asks to validate it.
    built: Option<(BlockId, u64, Vec<u8>, Arc<crate::exec::Executed>)>,
    rejections: HashMap<TxId, Rejection>,
    rejection_order: VecDeque<TxId>,
    submitted: HashMap<TxId, Instant>,
    connected: usize,
    last_core_metrics: maat_consensus::Metrics,
    last_round: Round,
    /// Set by a `Reject` of the message being handled (for gossip verdicts).
    input_rejected: Option<RejectReason>,
    /// Answers of block fetches (`BlocksFetched` / `ChainFetched`), from the fetch tasks.
    fetch_results: mpsc::Sender<Event>,
    fetch_rx: Option<mpsc::Receiver<Event>>,
    /// Fetches in flight (bounded: a peer cannot make this node open unlimited requests).
    fetches_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// Largest response frame (the p2p limit, minus room for framing).
    max_response_bytes: usize,
    /// What this node tells the outside: checkpoint cosignatures and subscription events.
    feeds: Feeds,
    fatal: Option<String>,
}

/// The driver's outputs besides consensus: checkpoint cosigning and the event feed that RPC
/// subscriptions read.
pub struct Feeds {
    /// Collected checkpoint cosignatures.
    pub checkpoints: CheckpointBook,
    /// New blocks, finalized transactions, equivocations (no receiver is fine).
    pub events: broadcast::Sender<NodeEvent>,
}

/// The driver stopped because continuing would be unsafe.
#[derive(Debug, thiserror::Error)]
#[error("fatal: {0}")]
pub struct Fatal(pub String);

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        core: NodeCore,
        exec: Executor,
        mempool: Mempool,
        store: Arc<Store>,
        p2p: P2pHandle,
        peers: Vec<PeerId>,
        metrics: Arc<NodeMetrics>,
        status: watch::Sender<StatusSnapshot>,
        signer: MlDsaSigner,
        domain: maat_consensus::SigningDomain,
        persisted: HashMap<BlockId, u64>,
        fault: Fault,
        max_response_bytes: usize,
        feeds: Feeds,
    ) -> Self {
        let peer_index = peers
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, ValidatorIndex(i as u32)))
            .collect();
        let (fetch_results, fetch_rx) = mpsc::channel(MAX_FETCHES_IN_FLIGHT);
        let last_round = core.round();
        Driver {
            core,
            exec,
            mempool,
            store,
            p2p,
            peers,
            peer_index,
            metrics,
            status,
            fault,
            signer,
            domain,
            persisted,
            timers: HashMap::new(),
            queue: VecDeque::new(),
            awaiting_payload: None,
            built: None,
            rejections: HashMap::new(),
            rejection_order: VecDeque::new(),
            submitted: HashMap::new(),
            connected: 0,
            last_core_metrics: maat_consensus::Metrics::default(),
            last_round,
            input_rejected: None,
            fetch_results,
            fetch_rx: Some(fetch_rx),
            fetches_in_flight: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            max_response_bytes,
            feeds,
            fatal: None,
        }
    }

    /// Runs until `shutdown` resolves, the p2p layer stops, or a fatal error.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<P2pEvent>,
        mut commands: mpsc::Receiver<Command>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), Fatal> {
        let mut fetch_rx = self.fetch_rx.take().expect("taken once");
        tokio::pin!(shutdown);
        self.step(Event::Start);
        loop {
            if let Some(f) = self.fatal.take() {
                return Err(Fatal(f));
            }
            let next_timer = self.timers.values().map(|(_, at)| *at).min();
            let sleep = tokio::time::sleep_until(
                next_timer.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)),
            );
            tokio::select! {
                () = &mut shutdown => {
                    info!("shutting down");
                    return Ok(());
                }
                ev = events.recv() => match ev {
                    Some(ev) => self.on_p2p(ev),
                    None => return Err(Fatal("the p2p layer stopped".into())),
                },
                Some(cmd) = commands.recv() => self.on_command(cmd),
                Some(answer) = fetch_rx.recv() => self.step(answer),
                () = sleep, if next_timer.is_some() => {
                    let now = Instant::now();
                    let due: Vec<Timer> = self
                        .timers
                        .values()
                        .filter(|(_, at)| *at <= now)
                        .map(|(t, _)| *t)
                        .collect();
                    self.timers.retain(|_, (_, at)| *at > now);
                    for t in due {
                        self.step(Event::TimerFired(t));
                    }
                }
            }
        }
    }

    // ---- inputs ----------------------------------------------------------------------------

    fn on_p2p(&mut self, ev: P2pEvent) {
        match ev {
            P2pEvent::Gossip {
                topic: Topic::Transactions,
                propagation_source,
                id,
                data,
                ..
            } => {
                // A rejected verdict also scores the forwarder down (in maat-p2p).
                let verdict = match self.admit(&data, false) {
                    Ok(_) => Verdict::Accept,
                    Err(e) if is_garbage(&e) => Verdict::Reject,
                    Err(_) => Verdict::Ignore,
                };
                self.p2p.gossip_verdict(id, propagation_source, verdict);
                if verdict == Verdict::Accept {
                    self.after_new_tx();
                }
            }
            P2pEvent::Gossip {
                topic: Topic::Proposals,
                source,
                propagation_source,
                id,
                data,
            } => match decode_proposal_gossip(&data) {
                Ok(message) => {
                    let from = source
                        .and_then(|s| self.peer_index.get(&s).copied())
                        .or_else(|| match &message {
                            Message::Proposal(p) => Some(p.block.proposer),
                            _ => None,
                        })
                        .unwrap_or_default();
                    self.input_rejected = None;
                    self.step(Event::Message { from, message });
                    let verdict = match self.input_rejected.take() {
                        None => Verdict::Accept,
                        Some(r) if is_misbehaviour(&r).is_some() => {
                            self.p2p
                                .report(propagation_source, Misbehaviour::BadSignature);
                            Verdict::Reject
                        }
                        Some(_) => Verdict::Ignore,
                    };
                    self.p2p.gossip_verdict(id, propagation_source, verdict);
                }
                Err(e) => {
                    debug!(peer = %propagation_source, error = %e, "undecodable proposal gossip");
                    self.p2p
                        .gossip_verdict(id, propagation_source, Verdict::Reject);
                }
            },
            P2pEvent::Gossip {
                topic: Topic::Checkpoints,
                propagation_source,
                id,
                data,
                ..
            } => {
                let verdict = match std::str::from_utf8(&data)
                    .map_err(|_| "not UTF-8".to_owned())
                    .and_then(|t| self.feeds.checkpoints.receive(t).map_err(|e| e.to_string()))
                {
                    Ok(Received::Final(size, note)) => {
                        self.checkpoint_final(size, &note);
                        Verdict::Accept
                    }
                    Ok(Received::Counted) => Verdict::Accept,
                    Ok(Received::Duplicate) => Verdict::Ignore,
                    Err(e) => {
                        debug!(peer = %propagation_source, error = %e, "cosignature refused");
                        Verdict::Reject
                    }
                };
                self.p2p.gossip_verdict(id, propagation_source, verdict);
            }
            P2pEvent::Request {
                peer,
                data,
                channel,
            } => match NetRequest::decode(&data) {
                Ok(NetRequest::Consensus(message)) => {
                    self.p2p.respond(channel, NetResponse::Ack.encode());
                    let Some(from) = self.peer_index.get(&peer).copied() else {
                        debug!(%peer, "consensus message from a non-validator ignored");
                        return;
                    };
                    self.input_rejected = None;
                    self.step(Event::Message { from, message });
                    if let Some(m) = self
                        .input_rejected
                        .take()
                        .as_ref()
                        .and_then(is_misbehaviour)
                    {
                        self.p2p.report(peer, m);
                    }
                }
                Ok(NetRequest::FetchBlocks {
                    block_id,
                    stop_height,
                    max,
                }) => {
                    let answer = self.serve_fetch(block_id, stop_height, max);
                    self.p2p.respond(channel, answer.encode());
                }
                Err(e) => {
                    debug!(%peer, error = %e, "undecodable request");
                    self.p2p.report(peer, Misbehaviour::Malformed);
                }
            },
            P2pEvent::PeerConnected(peer) => {
                self.connected += 1;
                debug!(%peer, "peer connected");
                self.publish_status();
            }
            P2pEvent::PeerDisconnected(peer) => {
                self.connected = self.connected.saturating_sub(1);
                debug!(%peer, "peer disconnected");
                self.publish_status();
            }
            P2pEvent::Listening(addr) => info!(%addr, "p2p listening"),
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Submit { tx, reply } => {
                let result = self.admit(&tx, true);
                let admitted = result.is_ok();
                if admitted {
                    self.p2p.publish(Topic::Transactions, tx);
                }
                let _ = reply.send(result);
                if admitted {
                    self.after_new_tx();
                }
            }
            Command::Pending { tx_id, reply } => {
                let status = if self.mempool.contains(&tx_id) {
                    PendingStatus::Pending
                } else if let Some(r) = self.rejections.get(&tx_id) {
                    PendingStatus::Rejected(r.clone())
                } else {
                    PendingStatus::Unknown
                };
                let _ = reply.send(status);
            }
        }
    }

    /// Mempool admission. For a `local` submission (RPC) the commit latency is tracked and a
    /// refusal remembered for `getTx`; a gossiped one may fail here only for now (an early
    /// nonce) and pass elsewhere, so its refusal is not reported as the transaction's fate.
    fn admit(&mut self, tx: &[u8], local: bool) -> Result<TxId, MempoolError> {
        let committed = self.exec.committed();
        let result = self.mempool.admit(tx, &committed, now_ms());
        match &result {
            Ok(a) => {
                self.metrics.txs_admitted.inc();
                for gone in &a.evicted {
                    self.submitted.remove(gone);
                }
                if local && self.submitted.len() < MAX_TRACKED_SUBMISSIONS {
                    self.submitted.insert(a.tx_id, Instant::now());
                }
            }
            Err(e) => {
                self.metrics.txs_refused.inc();
                if local
                    && let (Some(r), Some(id)) = (e.rejection(), maat_mempool::envelope_tx_id(tx))
                {
                    self.remember_rejection(id, r.clone());
                }
            }
        }
        self.metrics.mempool_txs.set(self.mempool.len() as i64);
        result.map(|a| a.tx_id)
    }

    fn remember_rejection(&mut self, id: TxId, r: Rejection) {
        if self.rejections.insert(id, r).is_none() {
            self.rejection_order.push_back(id);
            if self.rejection_order.len() > REMEMBERED_REJECTIONS
                && let Some(old) = self.rejection_order.pop_front()
            {
                self.rejections.remove(&old);
            }
        }
    }

    /// A leader waiting with an empty payload proposes as soon as transactions arrive.
    fn after_new_tx(&mut self) {
        if let Some((round, parent, height)) = self.awaiting_payload
            && !self.mempool.is_empty()
        {
            if self.core.round() != round {
                self.awaiting_payload = None;
                return;
            }
            if let Some(ev) = self.build_payload(round, parent, height) {
                self.step(ev);
            }
        }
    }

    /// Answers a fetch: `block_id` and its ancestors down to `stop_height` (backward), or, when
    /// the requester is more than a response behind, committed blocks upward from its
    /// `stop_height` with their QCs (forward sync). Every answer fits one frame.
    fn serve_fetch(&self, block_id: BlockId, stop_height: u64, max: u32) -> NetResponse {
        let max = max.min(MAX_FETCH_BLOCKS) as usize;
        let budget = self.max_response_bytes;
        let height = self
            .core
            .block(&block_id)
            .map(|b| b.height)
            .or_else(|| self.store.block_height(&block_id.0).ok().flatten());
        let Some(height) = height else {
            return NetResponse::Blocks(Vec::new());
        };
        let committed = self.exec.root_height();
        if height.saturating_sub(stop_height) > max as u64 && stop_height < committed {
            let mut items = Vec::new();
            let mut bytes = 5usize;
            for h in stop_height + 1..=committed.min(stop_height + max as u64) {
                let (Ok(Some(stored)), Ok(Some(qc_bytes))) =
                    (self.store.block(h), self.store.qc(h))
                else {
                    break;
                };
                let size = stored.bytes.len() + qc_bytes.len() + 8;
                if bytes + size > budget && !items.is_empty() {
                    break;
                }
                match (
                    Block::decode(&stored.bytes),
                    maat_consensus::Qc::decode(&qc_bytes),
                ) {
                    (Ok(b), Ok(qc)) => items.push((Arc::new(b), qc)),
                    _ => {
                        error!(height = h, "stored block or QC does not decode");
                        break;
                    }
                }
                bytes += size;
            }
            return NetResponse::Chain(items);
        }
        let mut out = Vec::new();
        let mut bytes = 5usize;
        let mut push = |b: Arc<Block>, size: usize, out: &mut Vec<Arc<Block>>| {
            if out.len() >= max || (bytes + size + 4 > budget && !out.is_empty()) {
                return false;
            }
            bytes += size + 4;
            out.push(b);
            true
        };
        for b in self.core.ancestors(&block_id, stop_height, max) {
            let size = b.encode().len();
            if !push(b, size, &mut out) {
                return NetResponse::Blocks(out);
            }
        }
        // Below the in-memory tree, committed blocks come from storage.
        let mut next = match out.last() {
            Some(b) => b.height.checked_sub(1),
            None => Some(height),
        };
        while let Some(h) = next.filter(|h| *h > stop_height) {
            let Ok(Some(stored)) = self.store.block(h) else {
                break;
            };
            let Ok(b) = Block::decode(&stored.bytes) else {
                error!(height = h, "stored block does not decode");
                break;
            };
            if !push(Arc::new(b), stored.bytes.len(), &mut out) {
                break;
            }
            next = h.checked_sub(1);
        }
        NetResponse::Blocks(out)
    }

    // ---- the core loop -----------------------------------------------------------------------

    /// Feeds `event` and everything it causes locally to the core, executing actions in order.
    pub(crate) fn step(&mut self, event: Event) {
        self.queue.push_back(event);
        while let Some(ev) = self.queue.pop_front() {
            if self.fatal.is_some() {
                self.queue.clear();
                break;
            }
            let actions = self.core.handle(now_ms(), ev);
            for action in actions {
                if self.fatal.is_some() {
                    break;
                }
                self.execute(action);
            }
        }
        self.sync_metrics();
        self.publish_status();
    }

    fn execute(&mut self, action: Action) {
        match action {
            Action::PersistSafety(data) => {
                if let Err(e) = self.store.put_safety(&data.encode()) {
                    // Sending after a failed persist could let a restart double-vote.
                    self.fail(format!("persisting safety data: {e}"));
                }
            }
            Action::PersistBlock { block_id, block } => {
                if let Err(e) = self.store.put_pending(&block_id.0, &block.encode()) {
                    self.fail(format!("persisting pending block {block_id}: {e}"));
                } else {
                    self.persisted.insert(block_id, block.height);
                }
            }
            Action::Send { to, message } => self.send(to, message),
            Action::Broadcast { message } => self.broadcast(message),
            Action::SetTimer { timer, deadline_ms } => {
                let wait = deadline_ms.saturating_sub(now_ms());
                let at = Instant::now() + Duration::from_millis(wait);
                self.timers
                    .insert(std::mem::discriminant(&timer), (timer, at));
            }
            Action::RequestPayload {
                round,
                parent,
                height,
            } => {
                if let Some(ev) = self.build_payload(round, parent, height) {
                    self.queue.push_back(ev);
                }
            }
            Action::ValidateBlock { block_id, block } => {
                // A state read failure is no verdict on the block: stop rather than refuse it.
                match self.validate(block_id, &block) {
                    Some(valid) => self
                        .queue
                        .push_back(Event::BlockValidated { block_id, valid }),
                    None => self.fail(format!("state unreadable while validating {block_id}")),
                }
            }
            Action::FetchBlocks {
                from,
                block_id,
                stop_height,
            } => self.fetch(from, block_id, stop_height),
            Action::Commit {
                blocks,
                qc,
                commit_qc,
                certified,
            } => self.commit(blocks, qc, &commit_qc, &certified),
            Action::ReportEquivocation(e) => self.equivocation(&e),
            Action::Reject { from, reason } => {
                debug!(?from, %reason, "consensus input dropped");
                if self.input_rejected.is_none() {
                    self.input_rejected = Some(reason);
                }
            }
        }
    }

    fn fail(&mut self, why: String) {
        error!(reason = %why, "stopping the node");
        self.fatal = Some(why);
    }

    fn send(&mut self, to: ValidatorIndex, message: Message) {
        if Some(to) == self.core.me() {
            self.queue.push_back(Event::Message { from: to, message });
            return;
        }
        if let Some(peer) = self.peers.get(to.0 as usize) {
            self.p2p
                .send(*peer, NetRequest::Consensus(message).encode());
        }
    }

    fn broadcast(&mut self, message: Message) {
        if let Message::Proposal(p) = &message {
            #[cfg(feature = "fault-injection")]
            if matches!(self.fault, Fault::Equivocate) {
                self.equivocate(p);
            }
            debug!(round = p.block.round, height = p.block.height, "proposing");
            // Proposed: transactions arriving now wait for the next round.
            self.awaiting_payload = None;
            self.p2p.publish(Topic::Proposals, message.encode());
            return;
        }
        let bytes = NetRequest::Consensus(message).encode();
        let me = self.core.me().map(|v| v.0 as usize);
        for (i, peer) in self.peers.iter().enumerate() {
            if Some(i) != me {
                self.p2p.send(*peer, bytes.clone());
            }
        }
    }

    /// Signs a second, different block for the proposal's round (bypassing the safety rules)
    /// and sends it to every validator directly, while the first goes out by gossip.
    #[cfg(feature = "fault-injection")]
    fn equivocate(&mut self, p: &maat_consensus::Proposal) {
        use maat_consensus::{Proposal, SigBytes, Signer as _};
        let mut twin = (*p.block).clone();
        twin.timestamp_ms += 1;
        let id = twin.id();
        let SigBytes(sig) = self
            .signer
            .sign(&self.domain.proposal_bytes(&id, twin.round));
        let twin = Message::Proposal(Proposal {
            block: Arc::new(twin),
            signature: SigBytes(sig),
        });
        warn!(round = p.block.round, "fault injection: equivocating");
        let bytes = NetRequest::Consensus(twin).encode();
        let me = self.core.me().map(|v| v.0 as usize);
        for (i, peer) in self.peers.iter().enumerate() {
            if Some(i) != me {
                self.p2p.send(*peer, bytes.clone());
            }
        }
    }

    /// The payload for a proposal, executed at `max(clock, parent + 1)`: that time goes to the
    /// core with the payload and becomes the block's timestamp, so the header it computed is
    /// the header of the block it signs (the core's own clock is not moved by it).
    fn build_payload(&mut self, round: Round, parent: BlockId, height: u64) -> Option<Event> {
        let parent_ts = self.core.block(&parent).map_or(0, |b| b.timestamp_ms);
        let time = now_ms().max(parent_ts.saturating_add(1));
        let params = self.mempool.ledger().params().clone();
        let max_bytes = usize::try_from(params.max_block_bytes).unwrap_or(usize::MAX);
        let max_txs = usize::try_from(params.max_block_txs).unwrap_or(usize::MAX);
        if let Err(e) = self.ensure_executed(parent) {
            warn!(error = %e, %parent, "cannot build on this parent");
            return None;
        }
        let candidates = match self.exec.state_after(&parent) {
            Ok((view, _)) => match self.mempool.select_batch(max_bytes, max_txs, &view, time) {
                Ok(batch) => batch.txs.into_iter().map(|t| t.bytes).collect(),
                Err(e) => {
                    error!(error = %e, "selecting a batch");
                    Vec::new()
                }
            },
            Err(e) => {
                warn!(error = %e, %parent, "cannot build on this parent");
                return None;
            }
        };
        let (payload, app_header, executed) =
            match self
                .exec
                .build(&parent, height, time, candidates, &self.mempool)
            {
                Ok(b) => b,
                Err(e) => {
                    error!(error = %e, "building a block");
                    return None;
                }
            };
        #[cfg(feature = "fault-injection")]
        let payload = match &self.fault {
            Fault::InvalidCertificate(bad) => {
                warn!(
                    round,
                    "fault injection: proposing a certificate that fails CheckR"
                );
                let mut txs = executed.txs.clone();
                txs.push(bad.clone());
                maat_consensus::wire::encode_payload(&txs)
            }
            _ => payload,
        };
        self.awaiting_payload = if payload.is_empty() {
            Some((round, parent, height))
        } else {
            None
        };
        self.built = Some((parent, time, app_header.clone(), executed));
        Some(Event::PayloadReady {
            round,
            payload,
            app_header,
            timestamp_ms: Some(time),
        })
    }

    /// Replays every transaction of a proposal before the core may vote for it.
    /// `None` when the state could not be read (no verdict).
    fn validate(&mut self, block_id: BlockId, block: &Arc<Block>) -> Option<bool> {
        if let Some((parent, time, header, executed)) = self.built.take() {
            let own = Some(block.proposer) == self.core.me()
                && block.parent == parent
                && block.timestamp_ms == time
                && block.app_header == header;
            if own {
                #[cfg(feature = "fault-injection")]
                if matches!(self.fault, Fault::InvalidCertificate(_)) {
                    // The faulty leader vouches for its own bad block.
                    return Some(true);
                }
                if maat_consensus::wire::encode_payload(&executed.txs) == block.payload
                    || (executed.txs.is_empty() && block.payload.is_empty())
                {
                    self.exec.insert_own(block_id, executed);
                    return Some(true);
                }
            }
        }
        let result = self.ensure_executed(block.parent).and_then(|()| {
            self.exec
                .execute(block_id, block, &self.mempool)
                .map(|_| ())
        });
        match result {
            Ok(()) => Some(true),
            Err(ExecError::State(e)) => {
                error!(block = %block_id, error = %e, "state unreadable");
                None
            }
            Err(ExecError::MissingAncestor(a)) => {
                warn!(block = %block_id, ancestor = %a, "cannot validate: an ancestor is unknown");
                Some(false)
            }
            Err(e) => {
                self.metrics.blocks_refused.inc();
                warn!(
                    block = %block_id,
                    height = block.height,
                    round = block.round,
                    proposer = block.proposer.0,
                    error = %e,
                    "refusing to vote: the block fails the replayed checks"
                );
                Some(false)
            }
        }
    }

    /// Executes `id` and its pending ancestors that this node has not executed yet (blocks
    /// received by sync, or pending blocks reloaded after a restart), lowest first.
    fn ensure_executed(&mut self, id: BlockId) -> Result<(), ExecError> {
        let mut missing = Vec::new();
        let mut cur = id;
        while !self.exec.has_state_after(&cur) {
            let b = self
                .core
                .block(&cur)
                .cloned()
                .ok_or(ExecError::MissingAncestor(cur))?;
            if b.height <= self.exec.root_height() {
                return Err(ExecError::MissingAncestor(cur));
            }
            cur = b.parent;
            missing.push(b);
        }
        for b in missing.into_iter().rev() {
            self.exec.execute(b.id(), &b, &self.mempool)?;
        }
        Ok(())
    }

    fn fetch(&mut self, from: ValidatorIndex, block_id: BlockId, stop_height: u64) {
        use std::sync::atomic::Ordering;
        self.metrics.fetches.inc();
        let Some(peer) = self.peers.get(from.0 as usize).copied() else {
            return;
        };
        let results = self.fetch_results.clone();
        if self.fetches_in_flight.load(Ordering::Relaxed) >= MAX_FETCHES_IN_FLIGHT {
            // Dropped: the core asks again after its round timer (an empty answer now would
            // only make it ask the next peer at once, and hit the same limit).
            debug!(%block_id, "too many fetches in flight");
            return;
        }
        self.fetches_in_flight.fetch_add(1, Ordering::Relaxed);
        let in_flight = self.fetches_in_flight.clone();
        let metrics = self.metrics.clone();
        let p2p = self.p2p.clone();
        let request = NetRequest::FetchBlocks {
            block_id,
            stop_height,
            max: MAX_FETCH_BLOCKS,
        }
        .encode();
        debug!(%block_id, stop_height, from = from.0, "fetching blocks");
        tokio::spawn(async move {
            let answer = match p2p.request(peer, request).await {
                Ok(bytes) => match NetResponse::decode(&bytes) {
                    Ok(NetResponse::Blocks(blocks)) => Event::BlocksFetched { from, blocks },
                    Ok(NetResponse::Chain(blocks)) => {
                        debug!(%peer, blocks = blocks.len(), "forward sync range");
                        metrics.synced_blocks.inc_by(blocks.len() as u64);
                        Event::ChainFetched { from, blocks }
                    }
                    Ok(NetResponse::Ack) => Event::BlocksFetched {
                        from,
                        blocks: Vec::new(),
                    },
                    Err(e) => {
                        debug!(%peer, error = %e, "undecodable fetch response");
                        p2p.report(peer, Misbehaviour::Malformed);
                        Event::BlocksFetched {
                            from,
                            blocks: Vec::new(),
                        }
                    }
                },
                Err(e) => {
                    debug!(%peer, error = %e, "fetch failed");
                    Event::BlocksFetched {
                        from,
                        blocks: Vec::new(),
                    }
                }
            };
            in_flight.fetch_sub(1, Ordering::Relaxed);
            // An empty answer lets the core ask the next peer.
            let _ = results.send(answer).await;
        });
    }

    fn commit(
        &mut self,
        blocks: Vec<(BlockId, Arc<Block>)>,
        qc: maat_consensus::Qc,
        commit_qc: &maat_consensus::Qc,
        certified: &Arc<Block>,
    ) {
        let n = blocks.len();
        let log_before = self.exec.committed_log_size();
        for i in 0..n {
            let (id, block) = &blocks[i];
            // The QC certifying block i is the next block's justify, or `qc` for the last.
            let certifying = match blocks.get(i + 1) {
                Some((_, child)) => child.justify.clone(),
                None => qc.clone(),
            };
            if self.exec.get(id).is_none()
                && let Err(e) = self.exec.execute(*id, block, &self.mempool)
            {
                // 2f+1 validators certified a block this node cannot execute: its state has
                // diverged from theirs; continuing would serve a wrong state.
                self.fail(format!(
                    "committed block {id} at height {} does not execute here: {e}",
                    block.height
                ));
                return;
            }
            let obsolete: Vec<[u8; 32]> = self
                .persisted
                .iter()
                .filter(|(_, h)| **h <= block.height)
                .map(|(id, _)| id.0)
                .collect();
            let Some(mut batch) =
                self.exec
                    .commit_batch(id, block.encode(), certifying.encode(), obsolete.clone())
            else {
                self.fail(format!("no execution for committed block {id}"));
                return;
            };
            // The last block is committed directly by its child: keep what proves it.
            if i + 1 == n && certified.parent == *id {
                batch.finality = Some(maat_storage::FinalityRecord {
                    child_header: certified.header().encode(),
                    child_qc: commit_qc.encode(),
                });
            }
            if let Err(e) = self.store.commit(&batch) {
                self.fail(format!(
                    "committing block {id} at height {}: {e}",
                    block.height
                ));
                return;
            }
            for o in &obsolete {
                self.persisted.remove(&BlockId(*o));
            }
            let Some(executed) = self.exec.advance_root(*id) else {
                return;
            };
            let committed = self.exec.committed();
            let report = self
                .mempool
                .on_commit(&executed.outcome, &committed, now_ms());
            for d in report.dropped {
                self.submitted.remove(&d.tx_id);
                self.remember_rejection(d.tx_id, d.rejection);
            }
            let now = Instant::now();
            for t in &executed.outcome.txs {
                if let Some(at) = self.submitted.remove(&t.effects.tx_id) {
                    self.metrics
                        .commit_latency
                        .observe(now.duration_since(at).as_secs_f64());
                }
            }
            self.metrics.committed_blocks.inc();
            self.metrics
                .committed_txs
                .inc_by(executed.outcome.txs.len() as u64);
            self.metrics.height.set(block.height as i64);
            self.publish_commit(block.height, *id, block.timestamp_ms, &batch, &executed);
            info!(
                height = block.height,
                round = block.round,
                block = %id,
                txs = executed.outcome.txs.len(),
                log_size = executed.outcome.log.size(),
                "committed"
            );
        }
        debug!(
            commit_qc_round = commit_qc.round,
            "commit certified by the child's QC"
        );
        let (size, root) = self.exec.committed_log();
        if size > log_before {
            self.cosign_checkpoint(size, root);
        }
    }

    /// Subscription events for one committed block.
    fn publish_commit(
        &self,
        height: u64,
        id: BlockId,
        timestamp_ms: u64,
        batch: &maat_storage::CommitBatch,
        executed: &crate::exec::Executed,
    ) {
        if self.feeds.events.receiver_count() == 0 {
            return;
        }
        let _ = self.feeds.events.send(NodeEvent::NewBlock {
            height,
            block_id: id.0,
            tx_count: batch.txs.len() as u32,
            timestamp_ms,
            log_size: executed.outcome.log.size(),
        });
        for ((position, tx), applied) in (0u32..).zip(&batch.txs).zip(&executed.outcome.txs) {
            let (service, environment) = match &tx.service_env {
                Some((s, e)) => (Some(s.clone()), Some(e.clone())),
                None => (None, None),
            };
            let _ = self.feeds.events.send(NodeEvent::FinalizedTx {
                tx_id: tx.tx_id,
                height,
                position,
                log_index: tx.log_index,
                kind: applied.effects.kind.to_string(),
                submitter: applied.effects.submitter.clone(),
                service,
                environment,
                // A certificate's requester is its submitter, an audit record's agent too.
                agent: (tx.service_env.is_some() || tx.audit_record.is_some())
                    .then(|| applied.effects.submitter.clone()),
            });
        }
    }

    /// Cosigns the committed log's checkpoint and gossips the cosignature.
    fn cosign_checkpoint(&mut self, size: u64, root: [u8; 32]) {
        match self.feeds.checkpoints.cosign_own(size, root) {
            Ok((gossip, done)) => {
                if let Some(text) = gossip {
                    self.p2p.publish(Topic::Checkpoints, text.into_bytes());
                }
                if let Some((size, note)) = done {
                    self.checkpoint_final(size, &note);
                }
            }
            Err(e) => warn!(error = %e, "cannot cosign the checkpoint"),
        }
    }

    /// Keeps a checkpoint that reached the quorum.
    fn checkpoint_final(&mut self, size: u64, note: &str) {
        match self.store.put_checkpoint(size, note) {
            Ok(()) => {
                self.metrics.checkpoints.inc();
                debug!(tree_size = size, "checkpoint final");
            }
            Err(e) => self.fail(format!("storing checkpoint {size}: {e}")),
        }
    }

    fn equivocation(&mut self, e: &Equivocation) {
        warn!(
            culprit = e.culprit().0,
            round = e.round(),
            kind = match e {
                Equivocation::Vote { .. } => "vote",
                Equivocation::Proposal { .. } => "proposal",
            },
            "equivocation detected; evidence kept"
        );
        if let Some(peer) = self.peers.get(e.culprit().0 as usize).copied() {
            self.p2p.report(peer, Misbehaviour::BadSignature);
        }
        let (kind, first, second) = match e {
            Equivocation::Vote { first, second } => ("vote", first.encode(), second.encode()),
            Equivocation::Proposal { first, second } => {
                ("proposal", first.encode(), second.encode())
            }
        };
        // Evidence: both signed messages, each as u32 (big-endian) length then canonical bytes.
        let mut evidence = Vec::with_capacity(8 + first.len() + second.len());
        for m in [&first, &second] {
            evidence.extend_from_slice(&(m.len() as u32).to_be_bytes());
            evidence.extend_from_slice(m);
        }
        let _ = self.feeds.events.send(NodeEvent::Equivocation {
            culprit: e.culprit().0,
            round: e.round(),
            kind: kind.to_owned(),
            evidence,
        });
    }

    fn sync_metrics(&mut self) {
        let m = self.core.metrics().clone();
        let last = &self.last_core_metrics;
        for (counter, now, before) in [
            (
                &self.metrics.proposals,
                m.proposals_sent,
                last.proposals_sent,
            ),
            (&self.metrics.votes, m.votes_sent, last.votes_sent),
            (&self.metrics.timeouts, m.timeouts_sent, last.timeouts_sent),
            (
                &self.metrics.equivocations,
                m.equivocations,
                last.equivocations,
            ),
            (&self.metrics.rejected_messages, m.rejected, last.rejected),
        ] {
            counter.inc_by(now.saturating_sub(before));
        }
        self.last_core_metrics = m;
        let round = self.core.round();
        if round > self.last_round {
            // Entered through a TC of the previous round: that round produced no QC.
            if self.core.high_tc().is_some_and(|tc| tc.round + 1 == round) {
                self.metrics.missed_rounds.inc();
            }
            self.last_round = round;
        }
        self.metrics.round.set(round as i64);
        self.metrics.mempool_txs.set(self.mempool.len() as i64);
        self.metrics.mempool_bytes.set(self.mempool.bytes() as i64);
        self.metrics.peers.set(self.connected as i64);
    }

    fn publish_status(&self) {
        let snapshot = StatusSnapshot {
            height: self.exec.root_height(),
            round: self.core.round(),
            peers: u32::try_from(self.connected).unwrap_or(u32::MAX),
            syncing: self.core.orphan_count() > 0,
            mempool_txs: self.mempool.len() as u64,
            log_size: self.store.log_size().unwrap_or(0),
        };
        self.status.send_replace(snapshot);
    }
}

/// Mempool refusals that only a broken or hostile peer sends (not state-dependent ones).
fn is_garbage(e: &MempoolError) -> bool {
    matches!(
        e.rejection(),
        Some(
            Rejection::Malformed(_)
                | Rejection::NonCanonical
                | Rejection::TooLarge { .. }
                | Rejection::ChainIdMismatch { .. }
                | Rejection::KindMissing
        )
    )
}

/// Consensus drops that show the sender misbehaved (not stale or early messages).
fn is_misbehaviour(r: &RejectReason) -> Option<Misbehaviour> {
    match r {
        RejectReason::BadSignature
        | RejectReason::InvalidQc(_)
        | RejectReason::InvalidTc(_)
        | RejectReason::WrongLeader { .. }
        | RejectReason::UnknownValidator(_) => Some(Misbehaviour::BadSignature),
        RejectReason::Malformed(_) => Some(Misbehaviour::Malformed),
        _ => None,
    }
}
