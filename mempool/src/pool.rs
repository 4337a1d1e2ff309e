//! [`Mempool`]: admission, eviction, re-checking after commits, batch selection.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use maat_ledger::{
    BlockOutcome, DecodedTx, KnownSignatures, Ledger, Overlay, Rejection, StateError, StateView,
    TxError, TxKind, VerifiedTx, Write,
};
use maat_proto::TxId;

use crate::config::{ConfigError, MempoolConfig};
use crate::envelope::envelope_tx_id;
use crate::error::MempoolError;

/// State writes by key (last write wins).
type WriteSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A transaction [`Mempool::admit`] accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// Its id.
    pub tx_id: TxId,
    /// Its kind.
    pub kind: TxKind,
    /// Its submitter.
    pub submitter: String,
    /// Its nonce.
    pub nonce: u64,
    /// Its encoded size.
    pub size: usize,
    /// Transactions evicted to make room for it (their submitters may resubmit later).
    pub evicted: Vec<TxId>,
}

/// How much of the pool a submitter holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Pending transactions.
    pub txs: usize,
    /// Their encoded bytes.
    pub bytes: usize,
}

/// A pending transaction removed by a re-check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// Its id.
    pub tx_id: TxId,
    /// Its submitter.
    pub submitter: String,
    /// Why it no longer applies.
    pub rejection: Rejection,
}

/// What a commit did to the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitReport {
    /// Committed transactions that were pending here (removed).
    pub committed: Vec<TxId>,
    /// Pending transactions that no longer apply (removed), in re-check order.
    pub dropped: Vec<Dropped>,
    /// Pending transactions checked again.
    pub rechecked: usize,
    /// A state read failed during re-checking: the transactions not re-checked stay and are
    /// re-checked at the next commit.
    pub state_error: Option<StateError>,
}

/// One transaction of a [`Batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedTx {
    /// Its id.
    pub tx_id: TxId,
    /// Its submitter.
    pub submitter: String,
    /// Its nonce.
    pub nonce: u64,
    /// Its canonical bytes (what the block carries).
    pub bytes: Vec<u8>,
}

impl AsRef<[u8]> for SelectedTx {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Transactions for a proposal, from [`Mempool::select_batch`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// In block order; they apply in sequence at the view they were selected at.
    pub txs: Vec<SelectedTx>,
    /// Sum of their sizes.
    pub bytes: usize,
    /// Pending transactions that failed at their turn (and their submitter's later ones were
    /// not tried). They stay pending: a commit's re-check decides whether they go.
    pub skipped: Vec<(TxId, Rejection)>,
}

/// Counters for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MempoolStats {
    /// Transactions admitted.
    pub admitted: u64,
    /// Admissions refused (all codes).
    pub rejected: u64,
    /// Admissions refused, by code.
    pub rejected_by_code: BTreeMap<&'static str, u64>,
    /// Pending transactions evicted for fairness.
    pub evicted: u64,
    /// Pending transactions removed because a block committed them.
    pub committed: u64,
    /// Pending transactions removed because they no longer applied after a commit.
    pub dropped: u64,
    /// Re-checks of pending transactions after commits.
    pub rechecked: u64,
    /// Envelope signature verifications this pool caused (admissions, and re-checks or
    /// selections after the submitter's key changed).
    pub signature_verifications: u64,
}

/// A pending transaction.
#[derive(Debug)]
struct Entry {
    token: VerifiedTx,
    /// Arrival order, pool-wide.
    seq: u64,
    /// Its state changes at its last check (the submitter's later transactions are checked
    /// over them).
    writes: Vec<Write>,
    /// Every state key its last check read, sorted and unique.
    reads: Vec<Vec<u8>>,
    /// The block time of its last check.
    checked_at_ms: u64,
    /// Its last re-check could not finish (state read error).
    needs_recheck: bool,
}

impl Entry {
    fn tx(&self) -> &DecodedTx {
        self.token.tx()
    }

    fn size(&self) -> usize {
        self.tx().bytes().len()
    }
}

/// A submitter's pending transactions, in nonce order (consecutive nonces).
#[derive(Debug, Default)]
struct Account {
    chain: VecDeque<TxId>,
    bytes: usize,
}

/// What a check of one transaction produced.
struct Checked {
    token: VerifiedTx,
    writes: Vec<Write>,
    reads: Vec<Vec<u8>>,
}

enum Candidate {
    /// Never verified.
    Fresh(DecodedTx),
    /// Verified under the token's key.
    Known(VerifiedTx),
}

/// A view that records every key read, so that a commit re-checks only what it affects.
struct Recorder<'a> {
    inner: &'a dyn StateView,
    keys: RefCell<Vec<Vec<u8>>>,
}

impl<'a> Recorder<'a> {
    fn new(inner: &'a dyn StateView) -> Self {
        Recorder {
            inner,
            keys: RefCell::new(Vec::new()),
        }
    }

    fn into_keys(self) -> Vec<Vec<u8>> {
        let mut keys = self.keys.into_inner();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

impl StateView for Recorder<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.keys.borrow_mut().push(key.to_vec());
        self.inner.get(key)
    }
}

/// The pending transactions of one node. Sans-IO and synchronous; see the crate docs for the
/// rules. Wrap it in a lock to share it.
#[derive(Debug)]
pub struct Mempool {
    ledger: Arc<Ledger>,
    config: MempoolConfig,
    entries: HashMap<TxId, Entry>,
    accounts: BTreeMap<String, Account>,
    bytes: usize,
    next_seq: u64,
    stats: MempoolStats,
    // Atomic: `select_batch` takes `&self`.
    signature_verifications: AtomicU64,
}

impl Mempool {
    /// An empty pool for the chain of `ledger`.
    ///
    /// # Errors
    /// [`ConfigError`] if `config` is inconsistent ([`MempoolConfig::validate`]).
    pub fn new(config: MempoolConfig, ledger: Arc<Ledger>) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Mempool {
            ledger,
            config,
            entries: HashMap::new(),
            accounts: BTreeMap::new(),
            bytes: 0,
            next_seq: 0,
            stats: MempoolStats::default(),
            signature_verifications: AtomicU64::new(0),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    /// The ledger.
    #[must_use]
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Pending transactions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pending bytes.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// True if `tx_id` is pending.
    #[must_use]
    pub fn contains(&self, tx_id: &TxId) -> bool {
        self.entries.contains_key(tx_id)
    }

    /// The pending transaction `tx_id`.
    #[must_use]
    pub fn get(&self, tx_id: &TxId) -> Option<&DecodedTx> {
        self.entries.get(tx_id).map(Entry::tx)
    }

    /// What `submitter` holds.
    #[must_use]
    pub fn usage(&self, submitter: &str) -> Usage {
        self.accounts
            .get(submitter)
            .map_or_else(Usage::default, |a| Usage {
                txs: a.chain.len(),
                bytes: a.bytes,
            })
    }

    /// Every submitter with pending transactions and what it holds, by submitter id.
    pub fn submitters(&self) -> impl Iterator<Item = (&str, Usage)> + '_ {
        self.accounts.iter().map(|(s, a)| {
            (
                s.as_str(),
                Usage {
                    txs: a.chain.len(),
                    bytes: a.bytes,
                },
            )
        })
    }

    /// `submitter`'s pending transaction ids in nonce order.
    #[must_use]
    pub fn pending_of(&self, submitter: &str) -> Vec<TxId> {
        self.accounts
            .get(submitter)
            .map(|a| a.chain.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The nonce `submitter`'s next transaction must carry to be admitted: one past its last
    /// pending transaction, or the ledger's next nonce at `committed`.
    ///
    /// # Errors
    /// [`StateError`].
    pub fn next_nonce(
        &self,
        committed: &dyn StateView,
        submitter: &str,
    ) -> Result<u64, StateError> {
        let last_pending = self
            .accounts
            .get(submitter)
            .and_then(|a| a.chain.back())
            .and_then(|id| self.entries.get(id));
        match last_pending {
            Some(e) => Ok(e.tx().nonce().saturating_add(1)),
            None => self.ledger.next_nonce(committed, submitter),
        }
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> MempoolStats {
        let mut s = self.stats.clone();
        s.signature_verifications = self.signature_verifications.load(Ordering::Relaxed);
        s
    }

    // ------------------------------------------------------------------------------------
    // Admission

    /// Admits `tx_bytes` if the pool has room for it and the ledger accepts it at
    /// `committed` (the latest committed state) extended by the submitter's pending
    /// transactions, at `block_time_ms` (an estimate of the next block's time).
    ///
    /// Order: size; duplicate id (before decoding); decoding; the submitter's quota; room
    /// (possibly by eviction, decided before and done after the check); the ledger's check
    /// (submitter, nonce, envelope signature, the kind's checks).
    ///
    /// # Errors
    /// [`MempoolError`]; nothing changes then.
    pub fn admit(
        &mut self,
        tx_bytes: &[u8],
        committed: &dyn StateView,
        block_time_ms: u64,
    ) -> Result<Admitted, MempoolError> {
        let result = self.try_admit(tx_bytes, committed, block_time_ms);
        match &result {
            Ok(a) => {
                self.stats.admitted += 1;
                self.stats.evicted += a.evicted.len() as u64;
            }
            Err(e) => {
                self.stats.rejected += 1;
                *self.stats.rejected_by_code.entry(e.code()).or_default() += 1;
            }
        }
        result
    }

    fn try_admit(
        &mut self,
        tx_bytes: &[u8],
        committed: &dyn StateView,
        block_time_ms: u64,
    ) -> Result<Admitted, MempoolError> {
        let size = tx_bytes.len();
        if size > self.config.max_tx_bytes {
            return Err(Rejection::TooLarge {
                kind: None,
                size,
                max: self.config.max_tx_bytes,
            }
            .into());
        }
        // Gossip delivers each transaction several times: refuse a copy before decoding it.
        if let Some(id) = envelope_tx_id(tx_bytes)
            && self.entries.contains_key(&id)
        {
            return Err(MempoolError::AlreadyPending(id));
        }
        let tx = self.ledger.decode(tx_bytes)?;
        let tx_id = tx.id();
        if self.entries.contains_key(&tx_id) {
            return Err(MempoolError::AlreadyPending(tx_id));
        }
        let held = self.usage(tx.submitter());
        if held.txs >= self.config.max_txs_per_submitter
            || held.bytes.saturating_add(size) > self.config.max_bytes_per_submitter
        {
            return Err(MempoolError::SubmitterQuotaExceeded {
                submitter: tx.submitter().to_owned(),
                txs: held.txs,
                bytes: held.bytes,
                max_txs: self.config.max_txs_per_submitter,
                max_bytes: self.config.max_bytes_per_submitter,
            });
        }
        let victims =
            self.plan_eviction(tx.submitter(), size)
                .ok_or_else(|| MempoolError::Full {
                    submitter: tx.submitter().to_owned(),
                    txs: self.entries.len(),
                    bytes: self.bytes,
                })?;
        let checked = {
            let overlay = self.chain_overlay(committed, tx.submitter());
            self.evaluate(&overlay, Candidate::Fresh(tx), block_time_ms)?
        };
        for id in &victims {
            self.remove(id);
        }
        let tx = checked.token.tx();
        let admitted = Admitted {
            tx_id,
            kind: tx.kind(),
            submitter: tx.submitter().to_owned(),
            nonce: tx.nonce(),
            size,
            evicted: victims,
        };
        self.insert(checked, block_time_ms);
        Ok(admitted)
    }

    /// `committed` plus the state changes of `submitter`'s pending transactions.
    fn chain_overlay<'a>(
        &self,
        committed: &'a dyn StateView,
        submitter: &str,
    ) -> Overlay<&'a dyn StateView> {
        let mut overlay = Overlay::new(committed);
        if let Some(account) = self.accounts.get(submitter) {
            for e in account.chain.iter().filter_map(|id| self.entries.get(id)) {
                overlay.extend(e.writes.iter().cloned());
            }
        }
        overlay
    }

    /// A submitter's share of the pool, scaled by `max_txs * max_bytes`: the larger of its
    /// count share and its byte share (dominant share).
    fn load(&self, txs: usize, bytes: usize) -> u128 {
        let by_count = txs as u128 * self.config.max_bytes as u128;
        let by_bytes = bytes as u128 * self.config.max_txs as u128;
        by_count.max(by_bytes)
    }

    /// The transactions to evict so that `submitter`'s new transaction of `size` bytes fits,
    /// or `None` if it may not have room (see the crate docs: only a submitter whose share
    /// stays larger than the newcomer's loses its newest transactions).
    fn plan_eviction(&self, submitter: &str, size: usize) -> Option<Vec<TxId>> {
        let mut excess_txs = (self.entries.len() + 1).saturating_sub(self.config.max_txs);
        let mut excess_bytes = (self.bytes + size).saturating_sub(self.config.max_bytes);
        let mut victims = Vec::new();
        if excess_txs == 0 && excess_bytes == 0 {
            return Some(victims);
        }
        let own = self.usage(submitter);
        let newcomer = self.load(own.txs + 1, own.bytes + size);
        // Heaviest other submitter first; ties go to the larger byte holding, then to the
        // smaller id (deterministic).
        let mut heap: BinaryHeap<(u128, usize, Reverse<&str>, usize)> = self
            .accounts
            .iter()
            .filter(|(s, a)| s.as_str() != submitter && !a.chain.is_empty())
            .map(|(s, a)| {
                (
                    self.load(a.chain.len(), a.bytes),
                    a.bytes,
                    Reverse(s.as_str()),
                    0,
                )
            })
            .collect();
        while excess_txs > 0 || excess_bytes > 0 {
            let (load, bytes, Reverse(victim), taken) = heap.pop()?;
            if load <= newcomer {
                return None;
            }
            let account = self.accounts.get(victim)?;
            let id = *account.chain.iter().rev().nth(taken)?;
            let freed = self.entries.get(&id)?.size();
            victims.push(id);
            excess_txs = excess_txs.saturating_sub(1);
            excess_bytes = excess_bytes.saturating_sub(freed);
            let left_txs = account.chain.len() - taken - 1;
            if left_txs > 0 {
                let left_bytes = bytes - freed;
                heap.push((
                    self.load(left_txs, left_bytes),
                    left_bytes,
                    Reverse(victim),
                    taken + 1,
                ));
            }
        }
        Some(victims)
    }

    /// Checks `candidate` at `view`, verifying its signature only if it was never verified
    /// or its submitter's active key changed since.
    fn evaluate(
        &self,
        view: &dyn StateView,
        candidate: Candidate,
        block_time_ms: u64,
    ) -> Result<Checked, TxError> {
        let tx = match &candidate {
            Candidate::Fresh(tx) => tx,
            Candidate::Known(v) => v.tx(),
        };
        let active = self
            .ledger
            .cache()
            .identity(view, tx.submitter())?
            .filter(|i| !i.record.revoked)
            .map(|i| i.active_fingerprint);
        let token = match candidate {
            Candidate::Known(v) if Some(v.key_fingerprint()) == active => v,
            other => {
                let tx = match other {
                    Candidate::Fresh(tx) => tx,
                    Candidate::Known(v) => v.into_tx(),
                };
                // The ledger refuses an unknown or revoked submitter and a wrong nonce before
                // looking at the signature: get its verdict without verifying anything.
                if active.is_none() || self.ledger.next_nonce(view, tx.submitter())? != tx.nonce() {
                    self.ledger.check(view, &tx, block_time_ms)?;
                }
                self.signature_verifications.fetch_add(1, Ordering::Relaxed);
                self.ledger.verify_signature(view, tx)?
            }
        };
        let recorder = Recorder::new(view);
        let effects = self
            .ledger
            .check_verified(&recorder, &token, block_time_ms)?;
        Ok(Checked {
            token,
            writes: effects.writes,
            reads: recorder.into_keys(),
        })
    }

    fn insert(&mut self, checked: Checked, block_time_ms: u64) {
        let tx = checked.token.tx();
        let (id, size) = (tx.id(), tx.bytes().len());
        let account = self.accounts.entry(tx.submitter().to_owned()).or_default();
        account.chain.push_back(id);
        account.bytes += size;
        self.bytes += size;
        self.next_seq += 1;
        self.entries.insert(
            id,
            Entry {
                token: checked.token,
                seq: self.next_seq,
                writes: checked.writes,
                reads: checked.reads,
                checked_at_ms: block_time_ms,
                needs_recheck: false,
            },
        );
    }

    fn remove(&mut self, id: &TxId) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        let size = entry.size();
        self.bytes -= size;
        let submitter = entry.tx().submitter();
        if let Some(account) = self.accounts.get_mut(submitter) {
            account.bytes -= size;
            // Commits take from the front, evictions from the back.
            if account.chain.front() == Some(id) {
                account.chain.pop_front();
            } else if account.chain.back() == Some(id) {
                account.chain.pop_back();
            } else {
                account.chain.retain(|x| x != id);
            }
            if account.chain.is_empty() {
                self.accounts.remove(submitter);
            }
        }
        Some(entry)
    }

    // ------------------------------------------------------------------------------------
    // Commits

    /// After `outcome`'s block is committed (`committed` includes it): removes its
    /// transactions and re-checks, at `block_time_ms`, every pending transaction whose view
    /// it may change (a state key it read was written, or its submitter's earlier
    /// transactions changed), plus those last checked `recheck_interval_ms` ago or more.
    /// Those that fail are dropped, with the submitter's later ones that then fail.
    ///
    /// Call it for every committed block, in order; when a block's writes are unknown, use
    /// [`Self::on_commit_ids`].
    pub fn on_commit(
        &mut self,
        outcome: &BlockOutcome,
        committed: &dyn StateView,
        block_time_ms: u64,
    ) -> CommitReport {
        let written: HashMap<&[u8], &Option<Vec<u8>>> = outcome
            .writes
            .iter()
            .map(|(k, v)| (k.as_slice(), v))
            .collect();
        self.commit(&outcome.tx_ids(), Some(&written), committed, block_time_ms)
    }

    /// As [`Self::on_commit`] when only the committed ids are known (after a restart or a
    /// sync): every pending transaction is re-checked.
    pub fn on_commit_ids(
        &mut self,
        committed_ids: &[TxId],
        committed: &dyn StateView,
        block_time_ms: u64,
    ) -> CommitReport {
        self.commit(committed_ids, None, committed, block_time_ms)
    }

    fn commit(
        &mut self,
        ids: &[TxId],
        written: Option<&HashMap<&[u8], &Option<Vec<u8>>>>,
        committed: &dyn StateView,
        block_time_ms: u64,
    ) -> CommitReport {
        let mut report = CommitReport::default();
        // Per submitter: the writes this pool expected from its committed transactions, and
        // whether they were the front of its chain (then its other transactions were
        // checked over exactly those writes).
        let mut expected: HashMap<String, (WriteSet, bool)> = HashMap::new();
        for id in ids {
            let Some(entry) = self.entries.get(id) else {
                continue;
            };
            let submitter = entry.tx().submitter().to_owned();
            let front = self.accounts.get(&submitter).and_then(|a| a.chain.front()) == Some(id);
            let Some(entry) = self.remove(id) else {
                continue;
            };
            let slot = expected
                .entry(submitter)
                .or_insert_with(|| (BTreeMap::new(), true));
            slot.0.extend(entry.writes);
            slot.1 &= front;
            report.committed.push(*id);
        }
        let submitters: Vec<String> = self.accounts.keys().cloned().collect();
        let empty = (BTreeMap::new(), true);
        for submitter in submitters {
            let (expected_writes, front) = expected.get(&submitter).unwrap_or(&empty);
            let written = written.filter(|_| *front);
            self.recheck_chain(
                &submitter,
                written,
                expected_writes,
                committed,
                block_time_ms,
                &mut report,
            );
        }
        self.stats.committed += report.committed.len() as u64;
        self.stats.dropped += report.dropped.len() as u64;
        self.stats.rechecked += report.rechecked as u64;
        report
    }

    /// Re-checks `submitter`'s chain from its first transaction whose view may have changed
    /// (all of it when `written` is `None`).
    fn recheck_chain(
        &mut self,
        submitter: &str,
        written: Option<&HashMap<&[u8], &Option<Vec<u8>>>>,
        expected: &WriteSet,
        committed: &dyn StateView,
        block_time_ms: u64,
        report: &mut CommitReport,
    ) {
        let Some(account) = self.accounts.get(submitter) else {
            return;
        };
        let chain: Vec<TxId> = account.chain.iter().copied().collect();
        let interval = self.config.recheck_interval_ms;
        let first = match written {
            None => 0,
            Some(written) => chain
                .iter()
                .position(|id| {
                    self.entries.get(id).is_none_or(|e| {
                        e.needs_recheck
                            || block_time_ms.saturating_sub(e.checked_at_ms) >= interval
                            || e.reads.iter().any(|k| key_changed(k, written, expected))
                    })
                })
                .unwrap_or(chain.len()),
        };
        let Some(todo) = chain.get(first..).filter(|t| !t.is_empty()) else {
            return;
        };
        let mut overlay = Overlay::new(committed);
        for e in chain[..first].iter().filter_map(|id| self.entries.get(id)) {
            overlay.extend(e.writes.iter().cloned());
        }
        for (i, id) in todo.iter().enumerate() {
            let Some(token) = self.entries.get(id).map(|e| e.token.clone()) else {
                continue;
            };
            report.rechecked += 1;
            match self.evaluate(&overlay, Candidate::Known(token), block_time_ms) {
                Ok(checked) => {
                    overlay.extend(checked.writes.iter().cloned());
                    if let Some(e) = self.entries.get_mut(id) {
                        e.token = checked.token;
                        e.writes = checked.writes;
                        e.reads = checked.reads;
                        e.checked_at_ms = block_time_ms;
                        e.needs_recheck = false;
                    }
                }
                Err(TxError::Rejected(rejection)) => {
                    self.remove(id);
                    report.dropped.push(Dropped {
                        tx_id: *id,
                        submitter: submitter.to_owned(),
                        rejection,
                    });
                }
                Err(TxError::State(e)) => {
                    for id in &todo[i..] {
                        if let Some(e) = self.entries.get_mut(id) {
                            e.needs_recheck = true;
                        }
                    }
                    report.state_error.get_or_insert(e);
                    return;
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // Proposals

    /// Transactions for a block at `view` (the state after the new block's parent) and
    /// `block_time_ms`, at most `max_bytes` and `max_txs` (and the chain's block limits).
    ///
    /// Round robin between submitters, oldest pending transaction first; each submitter's
    /// transactions in nonce order, skipping those whose nonce `view` already consumed
    /// (included in a pending ancestor). Each is applied over the previous ones, so the
    /// batch applies in sequence at `view`. A submitter whose next transaction does not fit
    /// or fails is done for this batch. Envelope signatures are not verified again (the
    /// keys they verified under are still active).
    ///
    /// The proposer then executes the batch for its header with
    /// `ledger.apply_block_with(view, block_time_ms, &batch.txs, log, &mempool)`, which
    /// succeeds for the same view and time.
    ///
    /// # Errors
    /// [`StateError`] if `view` cannot be read.
    pub fn select_batch(
        &self,
        max_bytes: usize,
        max_txs: usize,
        view: &dyn StateView,
        block_time_ms: u64,
    ) -> Result<Batch, StateError> {
        let params = self.ledger.params();
        let max_bytes =
            max_bytes.min(usize::try_from(params.max_block_bytes).unwrap_or(usize::MAX));
        let max_txs = max_txs.min(usize::try_from(params.max_block_txs).unwrap_or(usize::MAX));
        // Each queue: the submitter's entries still to try, oldest chain first.
        let mut queues: Vec<(u64, VecDeque<&Entry>)> = Vec::new();
        for (submitter, account) in &self.accounts {
            let next = self.ledger.next_nonce(view, submitter)?;
            let queue: VecDeque<&Entry> = account
                .chain
                .iter()
                .filter_map(|id| self.entries.get(id))
                .skip_while(|e| e.tx().nonce() < next)
                .collect();
            if let Some(head) = queue.front() {
                queues.push((head.seq, queue));
            }
        }
        queues.sort_unstable_by_key(|(seq, _)| *seq);
        let mut batch = Batch::default();
        let mut overlay = Overlay::new(view);
        while batch.txs.len() < max_txs && !queues.is_empty() {
            let mut still = Vec::with_capacity(queues.len());
            for (seq, mut queue) in queues {
                if batch.txs.len() >= max_txs {
                    break;
                }
                let Some(e) = queue.pop_front() else {
                    continue;
                };
                if batch.bytes + e.size() > max_bytes {
                    continue;
                }
                let fingerprint = e.token.key_fingerprint();
                let active = self
                    .ledger
                    .cache()
                    .identity(&overlay, e.tx().submitter())?
                    .map(|i| i.active_fingerprint);
                if active.is_some_and(|a| a != fingerprint) {
                    self.signature_verifications.fetch_add(1, Ordering::Relaxed);
                }
                match self
                    .ledger
                    .apply(&mut overlay, e.tx(), Some(&fingerprint), block_time_ms)
                {
                    Ok(_) => {
                        batch.bytes += e.size();
                        batch.txs.push(SelectedTx {
                            tx_id: e.tx().id(),
                            submitter: e.tx().submitter().to_owned(),
                            nonce: e.tx().nonce(),
                            bytes: e.tx().bytes().to_vec(),
                        });
                        if !queue.is_empty() {
                            still.push((seq, queue));
                        }
                    }
                    Err(TxError::Rejected(r)) => batch.skipped.push((e.tx().id(), r)),
                    Err(TxError::State(s)) => return Err(s),
                }
            }
            queues = still;
        }
        Ok(batch)
    }
}

/// Whether a state key may read differently for a submitter's remaining transactions: they
/// were checked over `expected` (the writes of its transactions that were just committed)
/// on the old committed state, and now read the new committed state (`written` changed).
fn key_changed(
    key: &[u8],
    written: &HashMap<&[u8], &Option<Vec<u8>>>,
    expected: &WriteSet,
) -> bool {
    match (expected.get(key), written.get(key)) {
        (None, None) => false,
        (Some(assumed), Some(now)) => assumed != *now,
        _ => true,
    }
}

/// Signatures this pool verified, keyed by the exact transaction bytes: a validator passes
/// the pool to [`Ledger::verify_block`] / [`Ledger::apply_block_with`] so that transactions
/// it already holds are not verified again before voting.
impl KnownSignatures for Mempool {
    fn verified_key(&self, tx_bytes: &[u8]) -> Option<[u8; 32]> {
        let entry = self.entries.get(&envelope_tx_id(tx_bytes)?)?;
        (entry.tx().bytes() == tx_bytes).then(|| entry.token.key_fingerprint())
    }
}
