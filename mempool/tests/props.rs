//! Property tests: random submissions (valid, duplicate, wrong nonce, over quota),
//! proposals, commits (of selected batches, of foreign transactions, of revocations) against
//! a small pool. After every step: count and bytes within every bound, no duplicate id, each
//! submitter's pending chain gapless from its committed nonce and valid in sequence, nothing
//! pending from a revoked submitter; every selected batch within its limits, in nonce order,
//! and applying cleanly with the ledger (every signature verified).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::{ADMIN, Chain, POLICY, register_body};
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::genesis::derive_seed;
use maat_ledger::state::{identity_record, policy_record};
use maat_ledger::{ChainParams, Overlay, StateView};
use maat_mempool::{Mempool, MempoolConfig, Usage};
use maat_proto::TxId;
use maat_proto::tx::{body, key_fingerprint, key_from_proto};
use maat_proto::v1::tx_body::Kind;
use proptest::prelude::*;

const SUBMITTERS: usize = 4;

#[derive(Clone, Copy, Debug)]
enum TxSel {
    /// Register a fresh identity (every submitter is an admin).
    Register { roles: usize, pad: usize },
    /// Rotate the submitter's own key.
    Rotate { mldsa: bool },
    /// Register policy variant `variant` for (checkout, production).
    Policy { variant: usize },
    /// A certificate under the policy in force, or under the other one (rejected).
    Certificate { wrong_policy: bool },
}

#[derive(Clone, Debug)]
enum Op {
    /// A transaction from `admin-<who>` with nonce `next + delta`.
    Submit { who: usize, delta: i64, tx: TxSel },
    /// One of the transactions generated so far, again.
    Resubmit { pick: usize },
    /// Select a batch; commit it if `commit`.
    Propose {
        max_txs: usize,
        max_bytes: usize,
        commit: bool,
    },
    /// A transaction of `admin-<who>` committed without this pool (another node's).
    Foreign { who: usize },
    /// admin-0 revokes `admin-<who>` (committed).
    Revoke { who: usize },
}

fn tx_sel() -> impl Strategy<Value = TxSel> {
    prop_oneof![
        6 => (0usize..6, 0usize..60).prop_map(|(roles, pad)| TxSel::Register { roles, pad }),
        1 => any::<bool>().prop_map(|mldsa| TxSel::Rotate { mldsa }),
        1 => (0usize..2).prop_map(|variant| TxSel::Policy { variant }),
        3 => prop_oneof![5 => Just(false), 1 => Just(true)]
            .prop_map(|wrong_policy| TxSel::Certificate { wrong_policy }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (0..SUBMITTERS, prop_oneof![6 => Just(0i64), 1 => -2i64..=2], tx_sel())
            .prop_map(|(who, delta, tx)| Op::Submit { who, delta, tx }),
        2 => any::<usize>().prop_map(|pick| Op::Resubmit { pick }),
        4 => (1usize..6, 100usize..90_000, prop_oneof![3 => Just(true), 1 => Just(false)])
            .prop_map(|(max_txs, max_bytes, commit)| Op::Propose { max_txs, max_bytes, commit }),
        2 => (0..SUBMITTERS).prop_map(|who| Op::Foreign { who }),
        1 => (1..SUBMITTERS).prop_map(|who| Op::Revoke { who }),
    ]
}

/// The two policies a submitter may register; certificates embed one of them.
fn policy_json(variant: usize) -> String {
    if variant == 0 {
        POLICY.to_owned()
    } else {
        POLICY.replace("\"version\": 1", "\"version\": 2")
    }
}

fn policy_op(variant: usize) -> Kind {
    let admins: Vec<String> = (0..SUBMITTERS).map(name).collect();
    let ids: Vec<&str> = admins.iter().map(String::as_str).collect();
    let types = [
        "build_artifact",
        "commit_snapshot",
        "environment_descriptor",
        "rollback_spec",
        "rollout_spec",
        "scan_report",
        "test_result",
    ];
    let mut signers: Vec<(&str, &[&str], &[&str])> = types
        .iter()
        .map(|t| (*t, ids.as_slice(), &[][..]))
        .collect();
    signers.push(("human_attestation", &[], &["release-manager"]));
    body::policy(
        "checkout",
        "production",
        policy_json(variant).into_bytes(),
        &signers,
    )
}

fn small_config(c: &Chain) -> MempoolConfig {
    MempoolConfig {
        // ML-DSA-signed certificates are ~40 kB, Ed25519 ones ~5 kB, identity ops ~0.2-1 kB.
        max_txs: 8,
        max_bytes: 120_000,
        max_txs_per_submitter: 4,
        max_bytes_per_submitter: 60_000,
        max_tx_bytes: 40_000,
        ..MempoolConfig::for_chain(c.ledger.params())
    }
}

fn name(who: usize) -> String {
    format!("admin-{who}")
}

fn revoked(c: &Chain, id: &str) -> bool {
    identity_record(&c.state, id)
        .expect("state")
        .is_some_and(|r| r.revoked)
}

/// The documented share: max(count / max_txs, bytes / max_bytes), scaled.
fn load(cfg: &MempoolConfig, u: Usage) -> u128 {
    (u.txs as u128 * cfg.max_bytes as u128).max(u.bytes as u128 * cfg.max_txs as u128)
}

/// How a transaction changes its submitter's context.
#[derive(Clone, Copy, Debug)]
enum Effect {
    None,
    Rotate([u8; 32]),
    Policy(usize),
}

impl Ctx {
    fn then(self, effect: Effect) -> Ctx {
        match effect {
            Effect::None => self,
            Effect::Rotate(key) => Ctx { key, ..self },
            Effect::Policy(policy) => Ctx { policy, ..self },
        }
    }
}

/// What a submitter's next transaction is checked against: its active key and the policy in
/// force, after its pending transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ctx {
    key: [u8; 32],
    policy: usize,
}

struct Run {
    c: Chain,
    pool: Mempool,
    generated: Vec<(Vec<u8>, String, Effect)>,
    fresh: usize,
    keys: HashMap<[u8; 32], KeyPair>,
    /// What each admitted transaction changes in its submitter's context.
    effects: HashMap<TxId, Effect>,
    rotations: u64,
}

impl Run {
    fn new() -> Self {
        let mut c = Chain::with(ChainParams::default(), SUBMITTERS);
        let setup = c.tx(ADMIN, 1, policy_op(0));
        c.commit(&[setup]);
        // The generated admins' keys (Chain::with uses seed [7; 32]).
        let keys = (0..SUBMITTERS)
            .map(|i| {
                let kp = KeyPair::from_seed(Algorithm::Ed25519, &derive_seed(&[7; 32], "admin", i));
                (key_fingerprint(&kp.public()), kp)
            })
            .collect();
        let pool = Mempool::new(small_config(&c), c.ledger.clone()).expect("config");
        Run {
            c,
            pool,
            generated: Vec::new(),
            fresh: 0,
            keys,
            effects: HashMap::new(),
            rotations: 0,
        }
    }

    fn fresh_id(&mut self) -> String {
        self.fresh += 1;
        format!("u{}", self.fresh)
    }

    /// The committed context of `who`.
    fn committed_ctx(&self, who: &str) -> Ctx {
        let rec = identity_record(&self.c.state, who)
            .expect("state")
            .expect("registered");
        let key = key_from_proto(rec.active_key.as_ref().expect("key")).expect("key");
        let policy = policy_record(&self.c.state, "checkout", "production")
            .expect("state")
            .expect("policy");
        let variant = usize::from(policy.policy_json != POLICY.as_bytes());
        Ctx {
            key: key_fingerprint(&key),
            policy: variant,
        }
    }

    /// The context the pool checks `who`'s next transaction in: the committed one changed by
    /// `who`'s pending transactions.
    fn ctx(&self, who: &str) -> Ctx {
        self.pool
            .pending_of(who)
            .iter()
            .map(|id| {
                *self
                    .effects
                    .get(id)
                    .expect("effect of a pending transaction")
            })
            .fold(self.committed_ctx(who), Ctx::then)
    }

    fn key(&self, fingerprint: &[u8; 32]) -> &KeyPair {
        self.keys.get(fingerprint).expect("known key")
    }

    fn commit_block<T: AsRef<[u8]>>(&mut self, txs: &[T]) {
        let outcome = self.c.commit(txs);
        let report = self.pool.on_commit(&outcome, &self.c.state, self.c.time_ms);
        for id in outcome.tx_ids() {
            assert!(!self.pool.contains(&id), "committed {id} still pending");
        }
        assert!(
            report
                .committed
                .iter()
                .all(|id| outcome.tx_ids().contains(id))
        );
        assert!(report.state_error.is_none());
    }

    fn submit(&mut self, who: usize, delta: i64, sel: TxSel) -> Result<(), TestCaseError> {
        let who = name(who);
        if identity_record(&self.c.state, &who)
            .expect("state")
            .is_none()
        {
            return Ok(());
        }
        let next = self.pool.next_nonce(&self.c.state, &who).expect("state");
        let Some(nonce) = next.checked_add_signed(delta).filter(|n| *n > 0) else {
            return Ok(());
        };
        let ctx = self.ctx(&who);
        let mut effect = Effect::None;
        let mut wrong = false;
        let kind = match sel {
            TxSel::Register { roles, pad } => {
                let key = self.c.new_key(Algorithm::Ed25519);
                register_body(&self.fresh_id(), &key, roles, pad)
            }
            TxSel::Rotate { mldsa } => {
                let alg = if mldsa {
                    Algorithm::MlDsa65
                } else {
                    Algorithm::Ed25519
                };
                let key = self.c.new_key(alg);
                let fingerprint = key_fingerprint(&key.public());
                effect = Effect::Rotate(fingerprint);
                let kind = body::rotate(&who, &key.public());
                self.keys.insert(fingerprint, key);
                kind
            }
            TxSel::Policy { variant } => {
                effect = Effect::Policy(variant);
                policy_op(variant)
            }
            TxSel::Certificate { wrong_policy } => {
                wrong = wrong_policy;
                let variant = if wrong_policy {
                    1 - ctx.policy
                } else {
                    ctx.policy
                };
                let dep = self.fresh_id();
                let json = self.c.certificate_json_signed(
                    self.key(&ctx.key),
                    &who,
                    &dep,
                    &policy_json(variant),
                );
                body::certificate(json)
            }
        };
        let tx = self.c.tx_signed_by(self.key(&ctx.key), &who, nonce, kind);
        self.generated.push((tx.clone(), who.clone(), effect));

        let cfg = self.pool.config().clone();
        let before = self.pool.usage(&who);
        let others: Vec<(String, Usage)> = self
            .pool
            .submitters()
            .map(|(s, u)| (s.to_owned(), u))
            .collect();
        let owners: BTreeMap<TxId, (String, usize, u64)> = others
            .iter()
            .flat_map(|(s, _)| {
                self.pool
                    .pending_of(s)
                    .into_iter()
                    .map(move |id| (id, s.clone()))
            })
            .filter_map(|(id, s)| {
                self.pool
                    .get(&id)
                    .map(|t| (id, (s, t.bytes().len(), t.nonce())))
            })
            .collect();
        let (len, bytes) = (self.pool.len(), self.pool.bytes());
        // Only a policy operation can repeat a payload (the others name fresh ids).
        let duplicate = maat_mempool::envelope_tx_id(&tx).is_some_and(|id| self.pool.contains(&id));
        let result = self.pool.admit(&tx, &self.c.state, self.c.time_ms);

        let quota = before.txs >= cfg.max_txs_per_submitter
            || before.bytes + tx.len() > cfg.max_bytes_per_submitter;
        let room = len < cfg.max_txs && bytes + tx.len() <= cfg.max_bytes;
        let is_revoked = revoked(&self.c, &who);
        let after_usage = Usage {
            txs: before.txs + 1,
            bytes: before.bytes + tx.len(),
        };
        let heavier = others
            .iter()
            .any(|(s, u)| *s != who && load(&cfg, *u) > load(&cfg, after_usage));
        // Room would be made by evicting one transaction of a heavier submitter.
        let one_eviction = len == cfg.max_txs && bytes + tx.len() <= cfg.max_bytes;
        let valid = delta == 0 && !is_revoked && !wrong;
        match &result {
            Ok(a) => {
                prop_assert!(!duplicate);
                prop_assert!(
                    valid && !quota,
                    "admitted: delta {} revoked {} wrong {}",
                    delta,
                    is_revoked,
                    wrong
                );
                prop_assert_eq!(a.evicted.is_empty(), room);
                self.effects.insert(a.tx_id, effect);
                if matches!(sel, TxSel::Rotate { .. }) {
                    self.rotations += 1;
                }
                // Each victim: another submitter's newest, while its share was larger than
                // the newcomer's would be.
                let mut held: BTreeMap<String, Usage> = others.iter().cloned().collect();
                for victim in &a.evicted {
                    let (owner, size, nonce) =
                        owners.get(victim).expect("victim was pending").clone();
                    prop_assert_ne!(&owner, &who);
                    let u = held.get_mut(&owner).expect("owner");
                    prop_assert!(load(&cfg, *u) > load(&cfg, after_usage));
                    u.txs -= 1;
                    u.bytes -= size;
                    prop_assert!(!self.pool.contains(victim));
                    for id in self.pool.pending_of(&owner) {
                        prop_assert!(self.pool.get(&id).is_some_and(|t| t.nonce() < nonce));
                    }
                }
            }
            Err(e) if tx.len() > cfg.max_tx_bytes => prop_assert_eq!(e.code(), "TX_TOO_LARGE"),
            Err(e) if duplicate => prop_assert_eq!(e.code(), "TX_ALREADY_PENDING"),
            Err(e) => {
                prop_assert_eq!((self.pool.len(), self.pool.bytes()), (len, bytes));
                let code = e.code();
                prop_assert_eq!(quota, code == "SUBMITTER_QUOTA_EXCEEDED", "{}", e);
                match code {
                    "SUBMITTER_QUOTA_EXCEEDED" => {}
                    "MEMPOOL_FULL" => {
                        prop_assert!(!room);
                        prop_assert!(
                            !(heavier && one_eviction),
                            "a heavier submitter could lose one"
                        );
                    }
                    "SUBMITTER_REVOKED" => prop_assert!(is_revoked),
                    "TX_NONCE_INVALID" => prop_assert!(delta != 0 && !is_revoked),
                    "CERTIFICATE_REJECTED" => prop_assert!(wrong && delta == 0, "{}", e),
                    other => prop_assert!(false, "unexpected {}: {}", other, e),
                }
                if valid && !quota && room {
                    prop_assert!(false, "a valid transaction with room was refused: {}", e);
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Submit { who, delta, tx } => self.submit(who, delta, tx)?,
            Op::Resubmit { pick } => {
                if self.generated.is_empty() {
                    return Ok(());
                }
                let (tx, who, effect) = self.generated[pick % self.generated.len()].clone();
                let id = maat_mempool::envelope_tx_id(&tx).expect("envelope");
                let pending = self.pool.contains(&id);
                let result = self.pool.admit(&tx, &self.c.state, self.c.time_ms);
                if pending {
                    prop_assert_eq!(result.map_err(|e| e.code()), Err("TX_ALREADY_PENDING"));
                } else if let Ok(a) = result {
                    // Back after an eviction or a drop.
                    prop_assert_eq!(&a.submitter, &who);
                    self.effects.insert(a.tx_id, effect);
                }
            }
            Op::Propose {
                max_txs,
                max_bytes,
                commit,
            } => {
                let batch = self
                    .pool
                    .select_batch(max_bytes, max_txs, &self.c.state, self.c.time_ms)
                    .expect("state");
                prop_assert!(batch.txs.len() <= max_txs);
                prop_assert!(batch.bytes <= max_bytes);
                prop_assert_eq!(
                    batch.bytes,
                    batch.txs.iter().map(|t| t.bytes.len()).sum::<usize>()
                );
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
                let plain = self.c.ledger.apply_block(
                    &self.c.state,
                    self.c.time_ms,
                    &batch.txs,
                    &self.c.log,
                );
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
                let signer = self.key(&self.committed_ctx(&who).key);
                let tx = self.c.tx_signed_by(
                    signer,
                    &who,
                    self.c.next_nonce(&who),
                    body::register(&id, &key.public(), &[]),
                );
                self.commit_block(&[tx]);
            }
            Op::Revoke { who } => {
                let who = name(who);
                if revoked(&self.c, &who) || revoked(&self.c, ADMIN) {
                    return Ok(());
                }
                let signer = self.key(&self.committed_ctx(ADMIN).key);
                let tx = self.c.tx_signed_by(
                    signer,
                    ADMIN,
                    self.c.next_nonce(ADMIN),
                    body::revoke(&who),
                );
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
            let mut held = 0;
            let first = self.c.next_nonce(submitter);
            for (nonce, id) in (first..).zip(self.pool.pending_of(submitter)) {
                prop_assert!(seen.insert(id), "duplicate {}", id);
                let tx = self.pool.get(&id).expect("pending");
                prop_assert_eq!(tx.nonce(), nonce);
                prop_assert_eq!(tx.submitter(), submitter);
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
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_pool_stays_bounded_consistent_and_its_batches_apply(ops in prop::collection::vec(op(), 1..80)) {
        let mut run = Run::new();
        for op in &ops {
            run.step(op)?;
        }
        // Draining: everything pending is eventually committed through batches (or dropped).
        for _ in 0..20 {
            if run.pool.is_empty() {
                break;
            }
            run.step(&Op::Propose { max_txs: 3, max_bytes: 120_000, commit: true })?;
        }
        prop_assert!(run.pool.is_empty(), "left pending: {}", run.pool.len());
        // Signatures: one verification per admission; none for refusals before the signature,
        // proposals, or re-checks after commits while keys do not change under a pending
        // transaction. A key changes under one only when a pending rotation is replaced by a
        // foreign transaction: the next one is verified again and dropped.
        let stats = run.pool.stats();
        // Refusals after the signature: a bad signature, or a certificate the checker rejects.
        let late = ["TX_SIGNATURE_INVALID", "CERTIFICATE_REJECTED"]
            .iter()
            .map(|c| stats.rejected_by_code.get(c).copied().unwrap_or(0))
            .sum::<u64>();
        if run.rotations == 0 {
            prop_assert_eq!(stats.signature_verifications, stats.admitted + late);
        } else {
            prop_assert!(stats.signature_verifications >= stats.admitted);
            prop_assert!(stats.signature_verifications <= stats.admitted + late + stats.dropped);
        }
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
