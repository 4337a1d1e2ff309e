//! Identity operations: register (admins only), rotate (by the identity, with its current
//! key), revoke (by the identity or an admin).

mod common;

use common::*;
use maat_crypto::sig::Algorithm;
use maat_ledger::state::identity_record;
use maat_ledger::{Rejection, TxSubject};
use maat_proto::tx::{body, key_to_proto};
use maat_proto::v1::{self, identity_op::Op, tx_body::Kind};

#[test]
fn admin_registers_an_identity() {
    let mut c = Chain::new();
    let k = key(Algorithm::MlDsa65, 1);
    let t = c.admin_tx(body::register(
        "alice",
        &k.public(),
        &["release-manager", "ci"],
    ));
    let out = c.commit(BLOCK_MS, &[t]);
    assert_eq!(
        out.txs[0].effects.subject,
        TxSubject::Identity {
            id: "alice".into(),
            op: "register"
        }
    );
    let rec = identity_record(&c.state, "alice")
        .unwrap()
        .expect("registered");
    assert_eq!(rec.roles, ["ci", "release-manager"]);
    assert_eq!(rec.active_key, Some(key_to_proto(&k.public())));
    assert!(!rec.revoked);
    assert_eq!(rec.registered_by_tx, out.txs[0].effects.tx_id.0.to_vec());
    // The maat-v1 registry sees it.
    use maat_certificate::maat_v1::Registry;
    let reg = c.ledger.registry(&c.state);
    let r = reg.identity("alice").expect("in registry");
    assert!(r.has_role("ci") && r.active_keys == vec![k.public()]);
    assert!(reg.take_error().is_none());
}

#[test]
fn genesis_admin_is_registered_with_role_admin() {
    let c = Chain::new();
    let rec = identity_record(&c.state, "admin-0").unwrap().unwrap();
    assert_eq!(rec.roles, ["admin"]);
    assert!(rec.registered_by_tx.is_empty());
}

#[test]
fn non_admin_cannot_register() {
    let mut c = Chain::new();
    let k = ed(1);
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("alice", &k.public(), &["owner:checkout"]))],
    );
    let t = c.tx(&k, "alice", 1, body::register("eve", &ed(2).public(), &[]));
    let r = c.reject(&t, BLOCK_MS);
    assert_eq!(r, Rejection::NotAdmin("alice".into()));
    assert_eq!(r.code(), "NOT_ADMIN");
}

#[test]
fn an_admin_can_make_admins() {
    let mut c = Chain::new();
    let k = ed(1);
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("admin-1", &k.public(), &["admin"]))],
    );
    let t = c.tx(
        &k,
        "admin-1",
        1,
        body::register("eve", &ed(2).public(), &[]),
    );
    assert!(c.check(&t, BLOCK_MS).is_ok());
}

#[test]
fn ids_are_never_reused() {
    let mut c = Chain::new();
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("alice", &ed(1).public(), &[]))],
    );
    let again = c.admin_tx(body::register("alice", &ed(2).public(), &[]));
    assert_eq!(
        c.reject(&again, BLOCK_MS),
        Rejection::IdentityExists("alice".into())
    );
    c.commit(BLOCK_MS, &[c.admin_tx(body::revoke("alice"))]);
    let again = c.admin_tx(body::register("alice", &ed(2).public(), &[]));
    assert_eq!(c.reject(&again, BLOCK_MS).code(), "IDENTITY_EXISTS");
    // Admins exist from genesis.
    let t = c.admin_tx(body::register("admin-0", &ed(2).public(), &[]));
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "IDENTITY_EXISTS");
}

#[test]
fn register_fields_are_validated() {
    let c = Chain::new();
    let reg = |id: &str, key: Option<v1::PublicKey>, roles: Vec<String>| {
        c.admin_tx(Kind::IdentityOp(v1::IdentityOp {
            op: Some(Op::Register(v1::RegisterIdentity {
                id: id.into(),
                public_key: key,
                roles,
            })),
        }))
    };
    let good = Some(key_to_proto(&ed(1).public()));
    assert!(
        c.check(&reg("alice", good.clone(), vec![]), BLOCK_MS)
            .is_ok()
    );
    assert_eq!(
        c.reject(&reg("", good.clone(), vec![]), BLOCK_MS).code(),
        "TX_FIELD_INVALID"
    );
    assert_eq!(
        c.reject(&reg("a/b", good.clone(), vec![]), BLOCK_MS).code(),
        "TX_FIELD_INVALID"
    );
    let unsorted = vec!["b".to_owned(), "a".to_owned()];
    assert!(matches!(
        c.reject(&reg("alice", good.clone(), unsorted), BLOCK_MS),
        Rejection::FieldInvalid { field, .. } if field == "identity_op.register.roles"
    ));
    let dup = vec!["a".to_owned(), "a".to_owned()];
    assert_eq!(
        c.reject(&reg("alice", good, dup), BLOCK_MS).code(),
        "TX_FIELD_INVALID"
    );
    assert_eq!(
        c.reject(&reg("alice", None, vec![]), BLOCK_MS).code(),
        "KEY_INVALID"
    );
    let unspecified = v1::PublicKey {
        algorithm: 0,
        key: vec![1; 32],
    };
    assert_eq!(
        c.reject(&reg("alice", Some(unspecified), vec![]), BLOCK_MS)
            .code(),
        "KEY_INVALID"
    );
    let short = v1::PublicKey {
        algorithm: 1,
        key: vec![1; 31],
    };
    assert_eq!(
        c.reject(&reg("alice", Some(short), vec![]), BLOCK_MS)
            .code(),
        "KEY_INVALID"
    );
    // The Ed25519 identity point has small order: refused.
    let mut weak = vec![0u8; 32];
    weak[0] = 1;
    let weak = v1::PublicKey {
        algorithm: 1,
        key: weak,
    };
    assert_eq!(
        c.reject(&reg("alice", Some(weak), vec![]), BLOCK_MS).code(),
        "KEY_INVALID"
    );
    let empty = Kind::IdentityOp(v1::IdentityOp { op: None });
    assert_eq!(
        c.reject(&c.admin_tx(empty), BLOCK_MS).code(),
        "TX_FIELD_INVALID"
    );
}

#[test]
fn rotation_retires_the_old_key() {
    let mut c = Chain::new();
    let (old, new) = (ed(1), key(Algorithm::MlDsa65, 2));
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("alice", &old.public(), &[]))],
    );
    let rot = c.tx(&old, "alice", 1, body::rotate("alice", &new.public()));
    let out = c.commit(BLOCK_MS, &[rot]);
    assert_eq!(
        out.txs[0].effects.subject,
        TxSubject::Identity {
            id: "alice".into(),
            op: "rotate"
        }
    );
    let rec = identity_record(&c.state, "alice").unwrap().unwrap();
    assert_eq!(rec.active_key, Some(key_to_proto(&new.public())));
    assert_eq!(rec.rotated_out_keys, vec![key_to_proto(&old.public())]);
    // The old key no longer signs transactions; the new one does.
    let by_old = c.tx(&old, "alice", 2, body::revoke("alice"));
    assert_eq!(
        c.reject(&by_old, BLOCK_MS),
        Rejection::SignatureInvalid("alice".into())
    );
    let by_new = c.tx(&new, "alice", 2, body::revoke("alice"));
    assert!(c.check(&by_new, BLOCK_MS).is_ok());
    // The checker sees the old key as rotated out.
    use maat_certificate::maat_v1::Registry;
    let r = c.ledger.registry(&c.state).identity("alice").unwrap();
    assert_eq!(r.rotated_out_keys, vec![old.public()]);
    assert_eq!(r.active_keys, vec![new.public()]);
}

#[test]
fn rotation_rules() {
    let mut c = Chain::new();
    let (a, b) = (ed(1), ed(2));
    c.commit(
        BLOCK_MS,
        &[
            c.tx(
                &c.admin,
                "admin-0",
                1,
                body::register("alice", &a.public(), &[]),
            ),
            c.tx(
                &c.admin,
                "admin-0",
                2,
                body::register("bob", &b.public(), &[]),
            ),
        ],
    );
    // Only the identity itself rotates its key, not even an admin.
    let other = c.tx(&a, "alice", 1, body::rotate("bob", &ed(3).public()));
    assert_eq!(
        c.reject(&other, BLOCK_MS),
        Rejection::NotAuthorized {
            submitter: "alice".into(),
            action: "rotate".into(),
            target: "bob".into()
        }
    );
    let by_admin = c.admin_tx(body::rotate("bob", &ed(3).public()));
    assert_eq!(c.reject(&by_admin, BLOCK_MS).code(), "NOT_AUTHORIZED");
    // Same key, or a key used before.
    let same = c.tx(&a, "alice", 1, body::rotate("alice", &a.public()));
    assert_eq!(
        c.reject(&same, BLOCK_MS),
        Rejection::KeyReused("alice".into())
    );
    let a2 = ed(4);
    c.commit(
        BLOCK_MS,
        &[c.tx(&a, "alice", 1, body::rotate("alice", &a2.public()))],
    );
    let back = c.tx(&a2, "alice", 2, body::rotate("alice", &a.public()));
    assert_eq!(c.reject(&back, BLOCK_MS).code(), "KEY_REUSED");
    let bad_key = c.tx(
        &a2,
        "alice",
        2,
        Kind::IdentityOp(v1::IdentityOp {
            op: Some(Op::Rotate(v1::RotateKey {
                id: "alice".into(),
                new_key: Some(v1::PublicKey {
                    algorithm: 2,
                    key: vec![0; 10],
                }),
            })),
        }),
    );
    assert_eq!(c.reject(&bad_key, BLOCK_MS).code(), "KEY_INVALID");
}

#[test]
fn rotated_out_keys_are_bounded() {
    let mut c = Chain::new();
    let mut cur = ed(100);
    c.commit(
        BLOCK_MS,
        &[c.admin_tx(body::register("alice", &cur.public(), &[]))],
    );
    for i in 0..12u8 {
        let next = ed(101 + i);
        let n = c.nonce("alice");
        c.commit(
            BLOCK_MS,
            &[c.tx(&cur, "alice", n, body::rotate("alice", &next.public()))],
        );
        cur = next;
    }
    let rec = identity_record(&c.state, "alice").unwrap().unwrap();
    assert_eq!(
        rec.rotated_out_keys.len(),
        maat_ledger::tx::MAX_ROTATED_OUT_KEYS
    );
    assert_eq!(
        rec.rotated_out_keys[0],
        key_to_proto(&ed(111).public()),
        "newest first"
    );
}

#[test]
fn revocation_rules() {
    let mut c = Chain::new();
    let (a, b) = (ed(1), ed(2));
    c.commit(
        BLOCK_MS,
        &[
            c.tx(
                &c.admin,
                "admin-0",
                1,
                body::register("alice", &a.public(), &[]),
            ),
            c.tx(
                &c.admin,
                "admin-0",
                2,
                body::register("bob", &b.public(), &[]),
            ),
        ],
    );
    // Another identity, not an admin: refused, whether the target exists or not.
    let t = c.tx(&a, "alice", 1, body::revoke("bob"));
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "NOT_AUTHORIZED");
    let t = c.tx(&a, "alice", 1, body::revoke("ghost"));
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "NOT_AUTHORIZED");
    // An admin: unknown target.
    assert_eq!(
        c.reject(&c.admin_tx(body::revoke("ghost")), BLOCK_MS),
        Rejection::IdentityUnknown("ghost".into())
    );
    // Self-revocation.
    let out = c.commit(BLOCK_MS, &[c.tx(&a, "alice", 1, body::revoke("alice"))]);
    assert_eq!(
        out.txs[0].effects.subject,
        TxSubject::Identity {
            id: "alice".into(),
            op: "revoke"
        }
    );
    assert!(identity_record(&c.state, "alice").unwrap().unwrap().revoked);
    assert_eq!(
        c.reject(&c.tx(&a, "alice", 2, body::revoke("alice")), BLOCK_MS)
            .code(),
        "SUBMITTER_REVOKED"
    );
    // Admin revokes bob; twice is refused.
    c.commit(BLOCK_MS, &[c.admin_tx(body::revoke("bob"))]);
    assert_eq!(
        c.reject(&c.admin_tx(body::revoke("bob")), BLOCK_MS),
        Rejection::IdentityRevoked("bob".into())
    );
    use maat_certificate::maat_v1::Registry;
    assert!(c.ledger.registry(&c.state).identity("bob").unwrap().revoked);
}

#[test]
fn revoked_key_inside_the_pending_chain_is_seen() {
    let c = Chain::new();
    let k = ed(1);
    let base = c.overlay(
        &c.state,
        BLOCK_MS,
        &[c.admin_tx(body::register("alice", &k.public(), &[]))],
    );
    // Pending block 2 revokes alice (admin nonce 2); block 3 over both has alice submitting.
    let b2 = c.overlay(
        &base,
        BLOCK_MS,
        &[c.tx(&c.admin, "admin-0", 2, body::revoke("alice"))],
    );
    let t = c.tx(&k, "alice", 1, body::revoke("alice"));
    assert!(
        c.ledger.check_bytes(&base, &t, BLOCK_MS).is_ok(),
        "fine before the revocation"
    );
    assert_eq!(
        rejection(c.ledger.check_bytes(&b2, &t, BLOCK_MS)),
        Rejection::SubmitterRevoked("alice".into())
    );
    // The committed state has seen none of it.
    assert_eq!(c.reject(&t, BLOCK_MS).code(), "SUBMITTER_UNKNOWN");
}
