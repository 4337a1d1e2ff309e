//! Property tests: every kind's accept and reject paths under random inputs.
//!
//! - any bytes: decoding never panics, and nothing but the exact signed bytes is accepted
//!   (single-byte edits of valid transactions of every kind);
//! - nonces: exactly `last + 1` is accepted;
//! - identity operations against a model (register / rotate / revoke by random actors with
//!   current or stale keys), one transaction per block or all in one block, same codes;
//! - names: an id is accepted iff it has the documented syntax;
//! - non-canonical encodings (an unknown field appended) are rejected;
//! - certificate times: accepted iff `-skew <= block - evidence <= freshness`.

mod common;

use common::*;
use maat_crypto::sig::KeyPair;
use maat_ledger::names::name_problem;
use maat_ledger::{MemoryState, Rejection, TxError};
use maat_proto::tx::body;
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let c = Chain::new();
        let _ = c.ledger.decode(&bytes);
        let _ = c.check(&bytes, BLOCK_MS);
    }

    #[test]
    fn nonce_must_be_last_plus_one(n in any::<u64>(), done in 0u64..4) {
        let mut c = Chain::new();
        for i in 0..done {
            let t = c.admin_tx(body::register(&format!("id-{i}"), &ed(1).public(), &[]));
            c.commit(BLOCK_MS, &[t]);
        }
        let t = c.tx(&c.admin, "admin-0", n, body::register("x", &ed(1).public(), &[]));
        let r = c.check(&t, BLOCK_MS);
        if n == done + 1 {
            prop_assert!(r.is_ok());
        } else {
            prop_assert_eq!(rejection(r), Rejection::NonceInvalid { expected: done + 1, got: n });
        }
    }

    #[test]
    fn identity_ids_follow_the_name_syntax(id in "[ -~]{0,20}|[a-z:._@+-]{120,130}") {
        let c = Chain::new();
        let t = c.admin_tx(body::register(&id, &ed(1).public(), &[]));
        let r = c.check(&t, BLOCK_MS);
        if name_problem(&id).is_none() && id != "admin-0" {
            prop_assert!(r.is_ok(), "{id:?}: {r:?}");
        } else {
            prop_assert!(r.is_err());
        }
    }

    #[test]
    fn appended_unknown_fields_are_non_canonical(tag in 6u32..1000, value in any::<u64>()) {
        let c = Chain::new();
        let mut t = c.admin_tx(body::revoke("admin-0"));
        maat_proto::prost::encoding::uint64::encode(tag, &value, &mut t);
        prop_assert_eq!(c.reject(&t, BLOCK_MS), Rejection::NonCanonical);
    }
}

/// Valid transactions of every kind at the deploy chain's state.
fn valid_txs() -> (Chain, Vec<Vec<u8>>) {
    let (c, a) = deploy_chain();
    let txs = vec![
        cert_tx(&c, &a, "deploy-1", 1),
        c.admin_tx(body::register("zoe", &ed(40).public(), &["r"])),
        c.tx(&a.ci, "ci-bot", 1, body::rotate("ci-bot", &ed(41).public())),
        c.tx(&a.ci, "ci-bot", 1, body::revoke("ci-bot")),
        c.admin_tx(policy_body()),
    ];
    for t in &txs {
        assert!(c.check(t, BLOCK_MS).is_ok());
    }
    (c, txs)
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply_edit(bytes: &[u8], e: &Edit) -> Vec<u8> {
    let mut v = bytes.to_vec();
    match e {
        // An earlier truncation may have emptied it: nothing to flip or delete then.
        Edit::Flip(i, b) if !v.is_empty() => {
            let i = i.index(v.len());
            v[i] ^= b;
        }
        Edit::Insert(i, b) => v.insert(i.index(v.len() + 1), *b),
        Edit::Delete(i) if !v.is_empty() => {
            v.remove(i.index(v.len()));
        }
        Edit::Truncate(i) if !v.is_empty() => v.truncate(i.index(v.len())),
        Edit::Flip(..) | Edit::Delete(_) | Edit::Truncate(_) => {}
    }
    v
}

proptest! {
    #![proptest_config(config(48))]

    /// An edited transaction is never accepted: the id, the signature and the canonical
    /// encoding together pin the bytes.
    #[test]
    fn edited_transactions_of_every_kind_are_rejected(
        which in 0usize..5,
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let (c, txs) = valid_txs();
        let original = &txs[which];
        let mut bytes = original.clone();
        for e in &edits {
            bytes = apply_edit(&bytes, e);
        }
        prop_assume!(&bytes != original);
        match c.check(&bytes, BLOCK_MS) {
            Err(TxError::Rejected(_)) => {}
            other => prop_assert!(false, "edited tx not rejected: {other:?}"),
        }
    }

    /// Evidence age against the block time: accepted iff within skew (30 s) and freshness
    /// (3600 s for scan reports).
    #[test]
    fn certificate_time_window(offset in -100i64..3700) {
        let (c, a) = deploy_chain();
        let block_secs = (BLOCK_MS / 1000) as i64;
        let t = (block_secs - offset) as f64;
        let cert = certificate("deploy-1", "deployer", t, &a.ci, &a.scanner);
        let r = c.check(&c.tx(&a.deployer, "deployer", 1, body::certificate(cert)), BLOCK_MS);
        if (-30..=3600).contains(&offset) {
            prop_assert!(r.is_ok(), "offset {offset}: {r:?}");
        } else {
            let r = rejection(r);
            let codes = r.detail_codes().join(",");
            let want = if offset < 0 { "EVIDENCE_FROM_FUTURE:" } else { "EVIDENCE_STALE:scan" };
            prop_assert!(codes.contains(want), "offset {offset}: {codes}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Identity operations against a model.

#[derive(Debug, Clone)]
enum Op {
    Register {
        actor: usize,
        target: usize,
        admin_role: bool,
    },
    Rotate {
        actor: usize,
        target: usize,
    },
    Revoke {
        actor: usize,
        target: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..5, 1usize..5, any::<bool>()).prop_map(|(actor, target, admin_role)| {
            Op::Register {
                actor,
                target,
                admin_role,
            }
        }),
        (0usize..5, 0usize..5).prop_map(|(actor, target)| Op::Rotate { actor, target }),
        (0usize..5, 0usize..5).prop_map(|(actor, target)| Op::Revoke { actor, target }),
    ]
}

/// Identity 0 is `admin-0`; 1..5 are `u1`..`u4`.
#[derive(Clone, Default)]
struct Model {
    exists: [bool; 5],
    revoked: [bool; 5],
    admin: [bool; 5],
    key_gen: [u8; 5],
    nonce: [u64; 5],
}

fn name(i: usize) -> String {
    if i == 0 {
        "admin-0".into()
    } else {
        format!("u{i}")
    }
}

fn key_of(c: &Chain, i: usize, generation: u8) -> KeyPair {
    if i == 0 && generation == 0 {
        KeyPair::from_seed(
            maat_crypto::sig::Algorithm::Ed25519,
            &maat_ledger::genesis::derive_seed(&[42; 32], "admin", 0),
        )
    } else {
        let _ = c;
        ed(100 + (i as u8) * 20 + generation)
    }
}

impl Model {
    fn new() -> Model {
        let mut m = Model::default();
        m.exists[0] = true;
        m.admin[0] = true;
        m
    }

    /// The transaction and the expected code (`None` = accepted), updating the model.
    fn step(&mut self, c: &Chain, op: &Op) -> (Vec<u8>, Option<&'static str>) {
        let actor = match op {
            Op::Register { actor, .. } | Op::Rotate { actor, .. } | Op::Revoke { actor, .. } => {
                *actor
            }
        };
        let key = key_of(c, actor, self.key_gen[actor]);
        let nonce = self.nonce[actor] + 1;
        let (body, expect) = match *op {
            Op::Register {
                target, admin_role, ..
            } => {
                let roles: &[&str] = if admin_role { &["admin"] } else { &[] };
                let b = body::register(&name(target), &key_of(c, target, 0).public(), roles);
                let e = if !self.exists[actor] {
                    Some("SUBMITTER_UNKNOWN")
                } else if self.revoked[actor] {
                    Some("SUBMITTER_REVOKED")
                } else if !self.admin[actor] {
                    Some("NOT_ADMIN")
                } else if self.exists[target] {
                    Some("IDENTITY_EXISTS")
                } else {
                    None
                };
                if e.is_none() {
                    self.exists[target] = true;
                    self.admin[target] = admin_role;
                }
                (b, e)
            }
            Op::Rotate { target, .. } => {
                let b = body::rotate(
                    &name(target),
                    &key_of(c, target, self.key_gen[target] + 1).public(),
                );
                let e = if !self.exists[actor] {
                    Some("SUBMITTER_UNKNOWN")
                } else if self.revoked[actor] {
                    Some("SUBMITTER_REVOKED")
                } else if actor != target {
                    Some("NOT_AUTHORIZED")
                } else {
                    None
                };
                if e.is_none() {
                    self.key_gen[target] += 1;
                }
                (b, e)
            }
            Op::Revoke { target, .. } => {
                let b = body::revoke(&name(target));
                let e = if !self.exists[actor] {
                    Some("SUBMITTER_UNKNOWN")
                } else if self.revoked[actor] {
                    Some("SUBMITTER_REVOKED")
                } else if actor != target && !self.admin[actor] {
                    Some("NOT_AUTHORIZED")
                } else if !self.exists[target] {
                    Some("IDENTITY_UNKNOWN")
                } else if self.revoked[target] {
                    Some("IDENTITY_REVOKED")
                } else {
                    None
                };
                if e.is_none() {
                    self.revoked[target] = true;
                }
                (b, e)
            }
        };
        if expect.is_none() {
            self.nonce[actor] = nonce;
        }
        (c.tx(&key, &name(actor), nonce, body), expect)
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn identity_operations_follow_the_model(ops in proptest::collection::vec(op(), 1..24)) {
        let mut c = Chain::new();
        let mut m = Model::new();
        let mut accepted = Vec::new();
        for op in &ops {
            let (t, expect) = m.step(&c, op);
            let r = c.check(&t, BLOCK_MS);
            match expect {
                None => {
                    prop_assert!(r.is_ok(), "{op:?}: {r:?}");
                    c.commit(BLOCK_MS, std::slice::from_ref(&t));
                    accepted.push(t);
                }
                Some(code) => prop_assert_eq!(rejection(r).code(), code, "{:?}", op),
            }
        }
        // The accepted transactions as one block give the same state.
        let fresh = Chain::new();
        let one = fresh.ledger.apply_block(&fresh.state, BLOCK_MS, &accepted, &fresh.log).unwrap();
        let mut s: MemoryState = fresh.state.clone();
        s.apply(&one.writes);
        prop_assert_eq!(s, c.state);
        prop_assert_eq!(one.log.root(), c.log.root());
    }
}
