//! Property tests: random submissions (valid, duplicate, wrong nonce, over quota),
//! proposals, commits (of selected batches, of foreign transactions, of revocations) against
//! a small pool. After every step: count and bytes within every bound, no duplicate id, each
//! submitter's pending chain gapless from its committed nonce and valid in sequence, nothing
//! pending from a revoked submitter; every selected batch within its limits, in nonce order,
//! and applying cleanly with the ledger (every signature verified).

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{ADMIN, Chain, register_body};
use maat_crypto::sig::Algorithm;
use maat_ledger::state::identity_record;
use maat_ledger::{ChainParams, Overlay, StateView};
use maat_mempool::{Mempool, MempoolConfig, Usage};
use maat_proto::TxId;
use maat_proto::tx::body;
use proptest::prelude::*;

const SUBMITTERS: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    /// A register operation from `admin-<who>` with nonce `next + delta`.
    Submit { who: usize, delta: i64, roles: usize, pad: usize },
    /// One of the transactions generated so far, again.
    Resubmit { pick: usize },
    /// Select a batch; commit it if `commit`.
    Propose { max_txs: usize, max_bytes: usize, commit: bool },
    /// A transaction of `admin-<who>` committed without this pool (another node's).
    Foreign { who: usize },
    /// admin-0 revokes `admin-<who>` (committed).
    Revoke { who: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (0..SUBMITTERS, prop_oneof![6 => Just(0i64), 1 => -2i64..=2], 0usize..6, 0usize..60)
            .prop_map(|(who, delta, roles, pad)| Op::Submit { who, delta, roles, pad }),
        2 => any::<usize>().prop_map(|pick| Op::Resubmit { pick }),
        4 => (1usize..6, 100usize..3000, prop_oneof![3 => Just(true), 1 => Just(false)])
            .prop_map(|(max_txs, max_bytes, commit)| Op::Propose { max_txs, max_bytes, commit }),
        2 => (0..SUBMITTERS).prop_map(|who| Op::Foreign { who }),
        1 => (1..SUBMITTERS).prop_map(|who| Op::Revoke { who }),
    ]
}

fn small_config(c: &Chain) -> MempoolConfig {
    MempoolConfig {
        max_txs: 8,
        max_bytes: 3000,
        max_txs_per_submitter: 4,
        max_bytes_per_submitter: 1500,
        max_tx_bytes: 1500,
        ..MempoolConfig::for_chain(c.ledger.params())
    }
}

fn name(who: usize) -> String {
    format!("admin-{who}")
}

fn revoked(c: &Chain, id: &str) -> bool {
    identity_record(&c.state, id).expect("state").is_some_and(|r| r.revoked)
}

/// The documented share: max(count / max_txs, bytes / max_bytes), scaled.
fn load(cfg: &MempoolConfig, u: Usage) -> u128 {
    (u.txs as u128 * cfg.max_bytes as u128).max(u.bytes as u128 * cfg.max_txs as u128)
}

struct Run {
    c: Chain,
    pool: Mempool,
    generated: Vec<Vec<u8>>,
    fresh: usize,
}

impl Run {
    fn new() -> Self {
        let c = Chain::with(ChainParams::default(), SUBMITTERS);
        let pool = Mempool::new(small_config(&c), c.ledger.clone()).expect("config");
        Run { c, pool, generated: Vec::new(), fresh: 0 }
    }

    fn fresh_id(&mut self) -> String {
        self.fresh += 1;
        format!("u{}", self.fresh)
    }

    fn commit_block<T: AsRef<[u8]>>(&mut self, txs: &[T]) {
        let outcome = self.c.commit(txs);
        let report = self.pool.on_commit(&outcome, &self.c.state, self.c.time_ms);
        for id in outcome.tx_ids() {
            assert!(!self.pool.contains(&id), "committed {id} still pending");
        }
        assert!(report.committed.iter().all(|id| outcome.tx_ids().contains(id)));
        assert!(report.state_error.is_none());
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Submit { who, delta, roles, pad } => {
                let who = name(who);
                let next = self.pool.next_nonce(&self.c.state, &who).expect("state");
                let Some(nonce) = next.checked_add_signed(delta).filter(|n| *n > 0) else {
                    return Ok(());
                };
                let key = self.c.new_key(Algorithm::Ed25519);
                let id = self.fresh_id();
                let tx = self.c.tx(&who, nonce, register_body(&id, &key, roles, pad));
                self.generated.push(tx.clone());
                let before = self.pool.usage(&who);
                let others: Vec<(String, Usage)> =
                    self.pool.submitters().map(|(s, u)| (s.to_owned(), u)).collect();
                let (len, bytes) = (self.pool.len(), self.pool.bytes());
                let owners: BTreeMap<TxId, (String, usize, u64)> = others
                    .iter()
                    .flat_map(|(s, _)| self.pool.pending_of(s).into_iter().map(move |id| (id, s.clone())))
                    .filter_map(|(id, s)| self.pool.get(&id).map(|t| (id, (s, t.bytes().len(), t.nonce()))))
                    .collect();
                let cfg = self.pool.config().clone();
                let result = self.pool.admit(&tx, &self.c.state, self.c.time_ms);
                let quota = before.txs >= cfg.max_txs_per_submitter
                    || before.bytes + tx.len() > cfg.max_bytes_per_submitter;
                let room = len < cfg.max_txs && bytes + tx.len() <= cfg.max_bytes;
                match &result {
                    Ok(a) => {
                        prop_assert_eq!(delta, 0);
                        prop_assert!(!quota && !revoked(&self.c, &who));
                        prop_assert_eq!(a.evicted.is_empty(), room);
                        // Each victim belonged to another submitter whose share, when it
                        // lost that transaction, was larger than the newcomer's would be.
                        let after = Usage { txs: before.txs + 1, bytes: before.bytes + tx.len() };
                        let mut held: BTreeMap<String, Usage> = others.iter().cloned().collect();
                        for victim in &a.evicted {
                            let (owner, size, nonce) = owners.get(victim).expect("victim was pending").clone();
                            prop_assert_ne!(&owner, &who);
                            let u = held.get_mut(&owner).expect("owner");
                            prop_assert!(load(&cfg, *u) > load(&cfg, after));
                            u.txs -= 1;
                            u.bytes -= size;
                            // The newest: nothing of its owner's is pending after it.
                            prop_assert!(!self.pool.contains(victim));
                            for id in self.pool.pending_of(&owner) {
                                prop_assert!(self.pool.get(&id).is_some_and(|t| t.nonce() < nonce));
                            }
                        }
                    }
                    Err(e) => {
                        let code = e.code();
                        if delta != 0 {
                            prop_assert!(
                                matches!(code, "TX_NONCE_INVALID" | "SUBMITTER_QUOTA_EXCEEDED" | "MEMPOOL_FULL" | "SUBMITTER_REVOKED"),
                                "{}", e
                            );
                        } else if revoked(&self.c, &who) {
                            prop_assert!(matches!(code, "SUBMITTER_REVOKED" | "SUBMITTER_QUOTA_EXCEEDED" | "MEMPOOL_FULL"), "{}", e);
                        } else if quota {
                            prop_assert_eq!(code, "SUBMITTER_QUOTA_EXCEEDED");
                        } else {
                            // Refused for room only; and never when evicting the newest
                            // transaction of one heavier submitter would have been enough.
                            prop_assert_eq!(code, "MEMPOOL_FULL", "{}", e);
                            prop_assert!(!room);
                            let after = Usage { txs: before.txs + 1, bytes: before.bytes + tx.len() };
                            let heavier = others
                                .iter()
                                .any(|(s, u)| *s != who && load(&cfg, *u) > load(&cfg, after));
                            let one_by_count = len == cfg.max_txs && bytes + tx.len() <= cfg.max_bytes;
                            prop_assert!(!(heavier && one_by_count), "someone heavier could have been evicted");
                        }
                        prop_assert_eq!((self.pool.len(), self.pool.bytes()), (len, bytes));
                    }
                }
            }
            Op::Resubmit { pick } => {
                if self.generated.is_empty() {
                    return Ok(());
                }
                let tx = self.generated[pick % self.generated.len()].clone();
                let id = maat_mempool::envelope_tx_id(&tx).expect("envelope");
                let pending = self.pool.contains(&id);
                let result = self.pool.admit(&tx, &self.c.state, self.c.time_ms);
                if pending {
                    prop_assert_eq!(result.map_err(|e| e.code()), Err("TX_ALREADY_PENDING"));
                }
            }
            Op::Propose { max_txs, max_bytes, commit } => {
                let batch = self
                    .pool
                    .select_batch(max_bytes, max_txs, &self.c.state, self.c.time_ms)
                    .expect("state");
                prop_assert!(batch.txs.len() <= max_txs);
                prop_assert!(batch.bytes <= max_bytes);
                prop_assert_eq!(batch.bytes, batch.txs.iter().map(|t| t.bytes.len()).sum::<usize>());
                let mut next: BTreeMap<&str, u64> = BTreeMap::new();
                for t in &batch.txs {
                    prop_assert!(self.pool.contains(&t.tx_id));
                    let n = next
                        .entry(t.submitter.as_str())
                        .or_insert_with(|| self.c.next_nonce(&t.submitter));
                    prop_assert_eq!(t.nonce, *n, "nonce order of {}", t.submitter);
                    *n += 1;
                }
                // Every signature verified again by the ledger: the batch applies as is.
                let plain = self
                    .c
                    .ledger
                    .apply_block(&self.c.state, self.c.time_ms, &batch.txs, &self.c.log);
                prop_assert!(plain.is_ok(), "{:?}", plain.err());
                if commit {
                    self.commit_block(&batch.txs);
                }
            }
            Op::Foreign { who } => {
                let who = name(who);
                if revoked(&self.c, &who) {
                    return Ok(());
                }
                let key = self.c.new_key(Algorithm::Ed25519);
                let id = self.fresh_id();
                let tx = self.c.tx(&who, self.c.next_nonce(&who), body::register(&id, &key.public(), &[]));
                self.commit_block(&[tx]);
            }
            Op::Revoke { who } => {
                let who = name(who);
                if revoked(&self.c, &who) {
                    return Ok(());
                }
                let tx = self.c.tx(ADMIN, self.c.next_nonce(ADMIN), body::revoke(&who));
                self.commit_block(&[tx]);
                prop_assert_eq!(self.pool.usage(&who), Usage::default());
            }
        }
        self.invariants()
    }

    fn invariants(&self) -> Result<(), TestCaseError> {
        let cfg = self.pool.config();
        prop_assert!(self.pool.len() <= cfg.max_txs);
        prop_assert!(self.pool.bytes() <= cfg.max_bytes);
        let (mut txs, mut bytes) = (0, 0);
        let mut seen = HashSet::<TxId>::new();
        for (submitter, usage) in self.pool.submitters() {
            prop_assert!(usage.txs > 0);
            prop_assert!(usage.txs <= cfg.max_txs_per_submitter);
            prop_assert!(usage.bytes <= cfg.max_bytes_per_submitter);
            prop_assert!(!revoked(&self.c, submitter), "{} is revoked", submitter);
            txs += usage.txs;
            bytes += usage.bytes;
            // Gapless from the committed nonce, and valid in sequence (signatures verified).
            let mut overlay = Overlay::new(&self.c.state as &dyn StateView);
            let mut nonce = self.c.next_nonce(submitter);
            let mut held = 0;
            for id in self.pool.pending_of(submitter) {
                prop_assert!(seen.insert(id), "duplicate {}", id);
                let tx = self.pool.get(&id).expect("pending");
                prop_assert_eq!(tx.nonce(), nonce);
                prop_assert_eq!(tx.submitter(), submitter);
                nonce += 1;
                held += tx.bytes().len();
                let applied = self.c.ledger.apply(&mut overlay, tx, None, self.c.time_ms);
                prop_assert!(applied.is_ok(), "{:?}", applied.err());
            }
            prop_assert_eq!(held, usage.bytes);
        }
        prop_assert_eq!((txs, bytes), (self.pool.len(), self.pool.bytes()));
        prop_assert_eq!(seen.len(), self.pool.len());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_pool_stays_bounded_consistent_and_its_batches_apply(ops in prop::collection::vec(op(), 1..80)) {
        let mut run = Run::new();
        for op in &ops {
            run.step(op)?;
        }
        // Draining: everything pending is eventually committed through batches.
        for _ in 0..run.pool.config().max_txs {
            if run.pool.is_empty() {
                break;
            }
            run.step(&Op::Propose { max_txs: 3, max_bytes: 3000, commit: true })?;
        }
        prop_assert!(run.pool.is_empty(), "left pending: {}", run.pool.len());
        // Signatures: exactly one verification per admission; none for refusals (all refused
        // before the signature here), proposals or re-checks after commits (no key changes).
        let stats = run.pool.stats();
        prop_assert_eq!(stats.signature_verifications, stats.admitted);
    }

    #[test]
    fn a_flooding_submitter_keeps_to_its_share_and_others_get_in(
        flood in 0usize..20,
        others in prop::collection::vec((1..SUBMITTERS, 1usize..4), 1..8),
    ) {
        let mut c = Chain::with(ChainParams::default(), SUBMITTERS);
        let cfg = MempoolConfig { max_txs: 9, max_txs_per_submitter: 5, ..MempoolConfig::for_chain(c.ledger.params()) };
        let mut pool = Mempool::new(cfg.clone(), c.ledger.clone()).expect("config");
        let submit = |c: &mut Chain, pool: &mut Mempool, who: &str| {
            let key = c.new_key(Algorithm::Ed25519);
            let nonce = pool.next_nonce(&c.state, who).expect("state");
            let id = format!("{who}-{nonce}");
            let tx = c.tx(who, nonce, body::register(&id, &key.public(), &[]));
            pool.admit(&tx, &c.state, c.time_ms)
        };
        for i in 0..flood {
            let r = submit(&mut c, &mut pool, "admin-0");
            prop_assert_eq!(r.is_ok(), i < cfg.max_txs_per_submitter);
        }
        prop_assert!(pool.usage("admin-0").txs <= cfg.max_txs_per_submitter);
        for (who, count) in others {
            let who = name(who);
            for _ in 0..count {
                let before = pool.usage(&who);
                let top = pool.submitters().filter(|(s, _)| *s != who).map(|(_, u)| u.txs).max().unwrap_or(0);
                let r = submit(&mut c, &mut pool, &who);
                match r {
                    Ok(_) => prop_assert!(before.txs < cfg.max_txs_per_submitter),
                    Err(e) if e.code() == "MEMPOOL_FULL" => {
                        // Refused only if nobody holds more than this submitter would.
                        prop_assert!(top <= before.txs + 1, "top {} before {}", top, before.txs);
                    }
                    Err(e) => prop_assert_eq!(e.code(), "SUBMITTER_QUOTA_EXCEEDED"),
                }
                prop_assert!(pool.len() <= cfg.max_txs);
            }
        }
    }
}
