//! Blocks: outcome (writes, log leaves, log root), the app header (build and verify), block
//! limits, the proposer's builder, determinism.

mod common;

use common::*;
use maat_crypto::hash::Hash32;
use maat_crypto::merkle::{MerkleLog, leaf_hash, verify_inclusion};
use maat_ledger::{
    BlockError, ChainParams, GenesisSpec, Ledger, MemoryState, NoKnownSignatures, Overlay,
    StateView, build_app_header, tx_root, verify_app_header,
};
use maat_proto::tx::body;
use maat_proto::{Message, TxId};

fn sample_block(c: &Chain, a: &Actors) -> Vec<Vec<u8>> {
    vec![
        cert_tx(c, a, "deploy-1", 1),
        c.admin_tx(body::register("zoe", &ed(30).public(), &[])),
        cert_tx(c, a, "deploy-2", 2),
    ]
}

#[test]
fn outcome_has_writes_log_leaves_and_header() {
    let (mut c, a) = deploy_chain();
    let log_before = c.log.clone();
    let txs = sample_block(&c, &a);
    let out = c.commit(BLOCK_MS, &txs);
    assert_eq!(out.txs.len(), 3);
    // One log leaf per transaction, SHA-256(0x00 || bytes), continuing the log.
    assert_eq!(log_before.size(), 4, "the setup block's four transactions");
    for (i, (t, applied)) in txs.iter().zip(&out.txs).enumerate() {
        assert_eq!(applied.leaf_hash, leaf_hash(t));
        assert_eq!(out.log_leaves[i], leaf_hash(t));
        assert_eq!(applied.log_index, 4 + i as u64);
        assert_eq!(applied.size, t.len());
    }
    assert_eq!(out.header.log_size, 7);
    assert_eq!(out.header.log_root, out.log.root().0.to_vec());
    // The log root is an RFC 6962 root: inclusion proofs from crypto verify against it.
    let mut full = MerkleLog::new();
    let mut c0 = Chain::new();
    let setup = deploy_chain_txs(&mut c0);
    for t in setup.iter().chain(&txs) {
        full.append(t).unwrap();
    }
    assert_eq!(full.root(), out.log.root());
    let proof = full.inclusion_proof(5, 7).unwrap();
    assert!(verify_inclusion(&leaf_hash(&txs[1]), 5, 7, &proof, &out.log.root()).is_ok());
    // tx_root: RFC 6962 over TxIds.
    let ids = out.tx_ids();
    assert_eq!(out.header.tx_root, tx_root(&ids).0.to_vec());
    assert_eq!(out.header.tx_count, 3);
    let mut tl = MerkleLog::new();
    for id in &ids {
        tl.append(id.as_bytes()).unwrap();
    }
    assert_eq!(tl.root().0.to_vec(), out.header.tx_root);
    // Writes are sorted, one per key, and committing them gives the state that sequential
    // application gives.
    assert!(out.writes.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(out.header, build_app_header(&ids, &out.log, &out.writes));
}

/// The setup block of `deploy_chain`, replayed on `c` (returns its transactions).
fn deploy_chain_txs(c: &mut Chain) -> Vec<Vec<u8>> {
    let a = Actors::new();
    let txs = setup_txs(c, &a);
    c.commit(GENESIS_MS + 1000, &txs);
    txs
}

#[test]
fn empty_block() {
    let c = Chain::new();
    let out = c
        .ledger
        .apply_block::<Vec<u8>>(&c.state, BLOCK_MS, &[], &c.log)
        .unwrap();
    assert!(out.txs.is_empty() && out.writes.is_empty());
    assert_eq!(
        out.header.tx_root,
        maat_crypto::merkle::EMPTY_ROOT.0.to_vec()
    );
    assert_eq!(out.header.log_size, 0);
    assert_eq!(Hash32::sha256(b"").0.to_vec(), out.header.log_root);
}

#[test]
fn header_verification_names_the_differing_field() {
    let (c, a) = deploy_chain();
    let txs = sample_block(&c, &a);
    let out = c
        .ledger
        .apply_block(&c.state, BLOCK_MS, &txs, &c.log)
        .unwrap();
    let ok = c.ledger.verify_block(
        &c.state,
        BLOCK_MS,
        &txs,
        &c.log,
        &out.header,
        &NoKnownSignatures,
    );
    assert_eq!(ok.unwrap(), out);
    type Edit = fn(&mut maat_proto::v1::AppHeader);
    let edits: [(&str, Edit); 5] = [
        ("tx_root", |h| h.tx_root[0] ^= 1),
        ("tx_count", |h| h.tx_count += 1),
        ("log_size", |h| h.log_size -= 1),
        ("log_root", |h| h.log_root[31] ^= 1),
        ("state_writes_hash", |h| h.state_writes_hash.clear()),
    ];
    for (name, edit) in edits {
        let mut bad = out.header.clone();
        edit(&mut bad);
        match c
            .ledger
            .verify_block(&c.state, BLOCK_MS, &txs, &c.log, &bad, &NoKnownSignatures)
        {
            Err(BlockError::HeaderMismatch { field, .. }) => assert_eq!(field, name),
            other => panic!("{name}: {other:?}"),
        }
        assert!(verify_app_header(&bad, &out.header).is_err());
    }
    // Reordered transactions: another header (and here, an invalid block: nonces).
    let swapped = [txs[2].clone(), txs[1].clone(), txs[0].clone()];
    assert!(
        c.ledger
            .verify_block(
                &c.state,
                BLOCK_MS,
                &swapped,
                &c.log,
                &out.header,
                &NoKnownSignatures
            )
            .is_err()
    );
}

#[test]
fn a_failing_transaction_invalidates_the_block() {
    let (c, a) = deploy_chain();
    let txs = vec![
        cert_tx(&c, &a, "deploy-1", 1),
        cert_tx(&c, &a, "deploy-2", 3),
    ];
    match c.ledger.apply_block(&c.state, BLOCK_MS, &txs, &c.log) {
        Err(BlockError::TxRejected {
            index: 1,
            tx_id: Some(_),
            rejection,
        }) => {
            assert_eq!(rejection.code(), "TX_NONCE_INVALID");
        }
        other => panic!("{other:?}"),
    }
    let junk = vec![vec![1, 2, 3]];
    assert!(matches!(
        c.ledger.apply_block(&c.state, BLOCK_MS, &junk, &c.log),
        Err(BlockError::TxRejected {
            index: 0,
            tx_id: None,
            ..
        })
    ));
}

#[test]
fn block_limits() {
    let params = ChainParams {
        max_block_txs: 2,
        max_block_bytes: 2000,
        max_tx_bytes: 1500,
        max_certificate_tx_bytes: 1500,
        max_identity_op_tx_bytes: 1500,
        max_policy_op_tx_bytes: 1500,
        ..ChainParams::default()
    };
    let c = Chain::with_spec(GenesisSpec {
        params,
        ..GenesisSpec::new(1, [42; 32])
    });
    let reg = |n: u64, id: &str| {
        c.tx(
            &c.admin,
            "admin-0",
            n,
            body::register(id, &ed(1).public(), &[]),
        )
    };
    let three = vec![reg(1, "a"), reg(2, "b"), reg(3, "c")];
    assert_eq!(
        c.ledger.apply_block(&c.state, BLOCK_MS, &three, &c.log),
        Err(BlockError::TooManyTxs { count: 3, max: 2 })
    );
    let big = vec![vec![0u8; 1200], vec![0u8; 1200]];
    assert_eq!(
        c.ledger.apply_block(&c.state, BLOCK_MS, &big, &c.log),
        Err(BlockError::TooLarge {
            bytes: 2400,
            max: 2000
        })
    );
    // The builder stops at the limits instead.
    let built = c
        .ledger
        .build_block(
            &c.state,
            BLOCK_MS,
            three.clone(),
            &c.log,
            &NoKnownSignatures,
        )
        .unwrap();
    assert_eq!(built.txs, three[..2].to_vec());
}

#[test]
fn builder_includes_what_passes_in_sequence() {
    let (c, a) = deploy_chain();
    let candidates = vec![
        cert_tx(&c, &a, "deploy-1", 1),
        cert_tx(&c, &a, "deploy-1", 2), // duplicate of the first
        vec![9, 9, 9],                  // garbage
        cert_tx(&c, &a, "deploy-2", 2), // nonce 2 is next after the first
        cert_tx(&c, &a, "deploy-3", 9), // nonce gap
    ];
    let built = c
        .ledger
        .build_block(
            &c.state,
            BLOCK_MS,
            candidates.clone(),
            &c.log,
            &NoKnownSignatures,
        )
        .unwrap();
    assert_eq!(
        built.txs,
        vec![candidates[0].clone(), candidates[3].clone()]
    );
    let rejected: Vec<(usize, &str)> = built.rejected.iter().map(|(i, r)| (*i, r.code())).collect();
    assert_eq!(
        rejected,
        [
            (1, "DEPLOYMENT_DUPLICATE"),
            (2, "TX_MALFORMED"),
            (4, "TX_NONCE_INVALID")
        ]
    );
    // What the validators compute from the included transactions is what the proposer got.
    let replay = c
        .ledger
        .verify_block(
            &c.state,
            BLOCK_MS,
            &built.txs,
            &c.log,
            &built.outcome.header,
            &NoKnownSignatures,
        )
        .unwrap();
    assert_eq!(replay, built.outcome);
}

#[test]
fn outcomes_are_deterministic() {
    let (c, a) = deploy_chain();
    let txs = sample_block(&c, &a);
    let first = c
        .ledger
        .apply_block(&c.state, BLOCK_MS, &txs, &c.log)
        .unwrap();
    // Warm cache, same ledger.
    let again = c
        .ledger
        .apply_block(&c.state, BLOCK_MS, &txs, &c.log)
        .unwrap();
    // A fresh ledger (cold cache) from the same genesis.
    let fresh = Ledger::new(&c.genesis)
        .apply_block(&c.state, BLOCK_MS, &txs, &c.log)
        .unwrap();
    // The same state seen through stacked empty overlays, and as a boxed trait object.
    let o1 = Overlay::new(&c.state);
    let o2 = Overlay::new(&o1);
    let boxed: Box<dyn StateView> = Box::new(c.state.clone());
    let stacked = c.ledger.apply_block(&o2, BLOCK_MS, &txs, &c.log).unwrap();
    let via_box = c
        .ledger
        .apply_block(&boxed, BLOCK_MS, &txs, &c.log)
        .unwrap();
    for o in [&again, &fresh, &stacked, &via_box] {
        assert_eq!(o, &first);
        assert_eq!(o.header_bytes(), first.header_bytes());
    }
    // Another block time changes the recorded deployments, hence the state hash.
    let later = c
        .ledger
        .apply_block(&c.state, BLOCK_MS + 1, &txs, &c.log)
        .unwrap();
    assert_ne!(
        later.header.state_writes_hash,
        first.header.state_writes_hash
    );
    assert_eq!(later.header.tx_root, first.header.tx_root);
}

#[test]
fn pending_chain_then_commit_matches_sequential_commits() {
    let (c, a) = deploy_chain();
    let b1 = vec![cert_tx(&c, &a, "deploy-1", 1)];
    let b2 = vec![
        cert_tx(&c, &a, "deploy-2", 2),
        c.admin_tx(body::revoke("scanner")),
    ];
    // Pending: b2 over an overlay of b1.
    let o1 = c
        .ledger
        .apply_block(&c.state, BLOCK_MS, &b1, &c.log)
        .unwrap();
    let pending = Overlay::with_writes(&c.state, o1.writes.clone());
    let o2 = c
        .ledger
        .apply_block(&pending, BLOCK_MS + 1000, &b2, &o1.log)
        .unwrap();
    // Committed one after the other.
    let mut state: MemoryState = c.state.clone();
    state.apply(&o1.writes);
    let o2c = c
        .ledger
        .apply_block(&state, BLOCK_MS + 1000, &b2, &o1.log)
        .unwrap();
    assert_eq!(o2, o2c);
    state.apply(&o2.writes);
    let mut flat = c.state.clone();
    let mut both = Overlay::with_writes(&c.state, o1.writes);
    both.extend(o2.writes.clone());
    flat.apply(&both.into_writes());
    assert_eq!(flat, state);
    let ids: Vec<TxId> = o2.tx_ids();
    assert_eq!(ids.len(), 2);
    assert_eq!(o2.header.encode_to_vec(), o2c.header.encode_to_vec());
}
