//! The store against a real RocksDB in a temporary directory: commits and every read, the
//! commit rules, indexes and pagination, state, safety and pending records, log proofs, and the
//! refusals on open (foreign genesis, corruption).

use std::path::Path;

use maat_crypto::Hash32;
use maat_crypto::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use maat_crypto::sha256;
use maat_storage::{
    ALL_CFS, CF_BLOCKS, CF_LOG, CF_META, CF_TXS, CommitBatch, CommitMeta, CommittedTx,
    FinalityRecord, Order, Store, StoreError, StoreOptions, TxPos, TxQuery,
};

const GENESIS: [u8; 32] = [1; 32];

fn opts() -> StoreOptions {
    StoreOptions::new(GENESIS)
}

fn tx_bytes(height: u64, position: u64) -> Vec<u8> {
    format!(
        "tx-{height}-{position}-{}",
        "x".repeat((position as usize * 37) % 300)
    )
    .into_bytes()
}

/// A block with `n` transactions embedded verbatim (length-prefixed), certificates at even
/// positions indexed under `dep-<h>-<p>` and `(svc, prod|staging)`.
fn batch(height: u64, log_start: u64, n: u64) -> CommitBatch {
    let mut block_bytes = format!("header {height};").into_bytes();
    let mut txs = Vec::new();
    for p in 0..n {
        let bytes = tx_bytes(height, p);
        block_bytes.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        block_bytes.extend_from_slice(&bytes);
        let cert = p % 2 == 0;
        txs.push(CommittedTx {
            tx_id: sha256(&bytes),
            log_index: log_start + p,
            deployment_id: cert.then(|| format!("dep-{height}-{p}")),
            service_env: cert.then(|| {
                let env = if height.is_multiple_of(2) {
                    "prod"
                } else {
                    "staging"
                };
                ("svc".to_owned(), env.to_owned())
            }),
            audit_record: None,
            subjects: Vec::new(),
            tx_bytes: bytes,
        });
    }
    block_bytes.extend_from_slice(b";trailer");
    CommitBatch {
        height,
        block_id: sha256(&block_bytes),
        log_leaves: txs.iter().map(|t| leaf_hash(&t.tx_bytes)).collect(),
        block_bytes,
        commit_qc_bytes: format!("qc {height}").into_bytes(),
        txs,
        state_changes: vec![
            (format!("k/{height}").into_bytes(), Some(vec![height as u8])),
            (b"k/last".to_vec(), Some(height.to_be_bytes().to_vec())),
        ],
        remove_pending: Vec::new(),
        // Heights divisible by 3 are committed directly (carry their child's header and QC).
        finality: height.is_multiple_of(3).then(|| FinalityRecord {
            child_header: format!("child header {height}").into_bytes(),
            child_qc: vec![height as u8; 5],
        }),
    }
}

/// Commits heights `0..blocks` with 3 transactions each; returns the batches.
fn fill(store: &Store, blocks: u64) -> Vec<CommitBatch> {
    let mut out = Vec::new();
    let mut log = store.log_size().unwrap();
    for h in 0..blocks {
        let b = batch(h, log, 3);
        let meta = store.commit(&b).unwrap();
        log = meta.log_size;
        out.push(b);
    }
    out
}

fn corrupted(e: StoreError) -> String {
    match e {
        StoreError::Corrupted { what } => what,
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

/// Opens the database with plain RocksDB (all column families) to damage it.
fn raw(path: &Path) -> rocksdb::DB {
    let cfs = std::iter::once("default").chain(ALL_CFS.iter().copied());
    rocksdb::DB::open_cf(&rocksdb::Options::default(), path, cfs).unwrap()
}

fn open_err(path: &Path) -> StoreError {
    Store::open(path, &opts()).expect_err("the store must refuse this database")
}

#[test]
fn finality_records_and_checkpoints_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), &opts()).unwrap();
        fill(&store, 8);
        assert_eq!(store.checkpoint(None).unwrap(), None);
        store.put_checkpoint(6, "note six\n").unwrap();
        store.put_checkpoint(21, "note twenty-one\n").unwrap();
        store.put_checkpoint(9, "note nine\n").unwrap();
    }
    let store = Store::open(dir.path(), &opts()).unwrap();
    // The anchor of a height is the lowest directly committed height at or above it.
    for (h, anchor) in [(0, 0), (1, 3), (3, 3), (4, 6), (6, 6), (7, 7 + 2)] {
        let got = store.finality_at_or_above(h).unwrap();
        if anchor > 7 {
            assert_eq!(got, None, "height {h}");
            continue;
        }
        let (at, rec) = got.unwrap_or_else(|| panic!("no anchor for {h}"));
        assert_eq!(at, anchor, "height {h}");
        assert_eq!(
            rec.child_header,
            format!("child header {anchor}").into_bytes()
        );
        assert_eq!(rec.child_qc, vec![anchor as u8; 5]);
    }
    assert_eq!(
        store.checkpoint(None).unwrap(),
        Some((21, "note twenty-one\n".to_owned()))
    );
    assert_eq!(
        store.checkpoint(Some(9)).unwrap(),
        Some((9, "note nine\n".to_owned()))
    );
    assert_eq!(store.checkpoint(Some(10)).unwrap(), None);
}

#[test]
fn commits_read_back_identically_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let batches = {
        let store = Store::open(dir.path(), &opts()).unwrap();
        assert_eq!(store.meta().unwrap(), None);
        fill(&store, 5)
    };
    let store = Store::open(dir.path(), &opts()).unwrap();
    let meta = store.meta().unwrap().unwrap();
    assert_eq!(
        (
            meta.height,
            meta.block_id,
            meta.log_size,
            meta.first_height,
            meta.tx_count
        ),
        (4, batches[4].block_id, 15, 0, 15)
    );
    for b in &batches {
        let got = store.block(b.height).unwrap().unwrap();
        assert_eq!(got.bytes, b.block_bytes);
        assert_eq!(got.block_id, b.block_id);
        assert_eq!(store.block_by_id(&b.block_id).unwrap().unwrap(), got);
        assert_eq!(store.block_height(&b.block_id).unwrap(), Some(b.height));
        assert_eq!(store.qc(b.height).unwrap().unwrap(), b.commit_qc_bytes);
        assert_eq!(
            store.qc_of_block(&b.block_id).unwrap().unwrap(),
            b.commit_qc_bytes
        );
        let txs = store.block_txs(b.height).unwrap().unwrap();
        assert_eq!(txs.len(), b.txs.len());
        for (p, (rec, tx)) in txs.iter().zip(&b.txs).enumerate() {
            assert_eq!(rec.bytes, tx.tx_bytes);
            assert_eq!(rec.log_index, tx.log_index);
            assert_eq!(
                rec.pos,
                TxPos {
                    height: b.height,
                    position: p as u32
                }
            );
            assert_eq!(store.tx(&tx.tx_id).unwrap().as_ref(), Some(rec));
            assert_eq!(
                store.log_leaf(tx.log_index).unwrap(),
                leaf_hash(&tx.tx_bytes)
            );
        }
    }
    assert_eq!(store.block(5).unwrap(), None);
    assert_eq!(store.block_by_id(&[9; 32]).unwrap(), None);
    assert_eq!(store.tx(&[9; 32]).unwrap(), None);
    assert_eq!(store.qc_of_block(&[9; 32]).unwrap(), None);
    assert_eq!(store.verify_full().unwrap().blocks, 5);
}

#[test]
fn transactions_are_stored_once_and_blocks_stay_exact_when_they_are_not_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    let mut b = batch(0, 0, 4);
    // A transaction whose bytes do not occur in the block (e.g. another encoding): kept twice.
    b.txs[1].tx_bytes = b"not in the block".to_vec();
    b.txs[1].tx_id = sha256(b"other");
    b.log_leaves[1] = leaf_hash(b"not in the block");
    store.commit(&b).unwrap();
    let big = {
        let mut b = batch(1, 4, 100);
        for t in &mut b.txs {
            t.deployment_id = None;
        }
        b
    };
    store.commit(&big).unwrap();
    assert_eq!(store.block(0).unwrap().unwrap().bytes, b.block_bytes);
    assert_eq!(store.block(1).unwrap().unwrap().bytes, big.block_bytes);
    assert_eq!(
        store.tx(&sha256(b"other")).unwrap().unwrap().bytes,
        b"not in the block"
    );

    // On disk the 100-transaction block costs its transactions once, not twice.
    store.compact().unwrap();
    let usage = store.disk_usage().unwrap();
    let tx_total: usize = big.txs.iter().map(|t| t.tx_bytes.len()).sum();
    let blocks_cf = usage
        .per_cf
        .iter()
        .find(|(n, _)| *n == CF_BLOCKS)
        .unwrap()
        .1;
    assert!(
        (blocks_cf as usize) < tx_total / 4,
        "blocks column family holds {blocks_cf} bytes for {tx_total} bytes of transactions"
    );
}

#[test]
fn commit_rules_refuse_bad_batches_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    // The first commit may have any height (0 for a chain, later for a database started from
    // a snapshot); the next ones must follow it.
    store.commit(&batch(7, 0, 2)).unwrap();
    let before = store.meta().unwrap();

    let e = store.commit(&batch(9, 2, 1)).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::HeightMismatch {
                expected: 8,
                got: 9
            }
        ),
        "{e:?}"
    );

    let mut dup_block = batch(8, 2, 1);
    dup_block.block_id = batch(7, 0, 2).block_id;
    assert!(matches!(
        store.commit(&dup_block),
        Err(StoreError::DuplicateBlock(_))
    ));

    let mut dup_tx = batch(8, 2, 1);
    dup_tx.txs[0].tx_id = batch(7, 0, 2).txs[1].tx_id;
    assert!(matches!(
        store.commit(&dup_tx),
        Err(StoreError::DuplicateTx(_))
    ));

    let mut twice = batch(8, 2, 2);
    twice.txs[1].tx_id = twice.txs[0].tx_id;
    assert!(matches!(
        store.commit(&twice),
        Err(StoreError::DuplicateTx(_))
    ));

    let mut bad_index = batch(8, 2, 2);
    bad_index.txs[1].log_index = 2;
    assert!(matches!(
        store.commit(&bad_index),
        Err(StoreError::InvalidBatch(_))
    ));
    let mut beyond = batch(8, 2, 2);
    beyond.log_leaves.pop();
    assert!(matches!(
        store.commit(&beyond),
        Err(StoreError::InvalidBatch(_))
    ));
    let mut long_id = batch(8, 2, 1);
    long_id.txs[0].deployment_id = Some("d".repeat(70_000));
    assert!(matches!(
        store.commit(&long_id),
        Err(StoreError::InvalidBatch(_))
    ));

    assert_eq!(store.meta().unwrap(), before);
    assert_eq!(store.log_size().unwrap(), 2);
    assert_eq!(store.block(8).unwrap(), None);
    let meta = store.commit(&batch(8, 2, 1)).unwrap();
    assert_eq!((meta.height, meta.first_height, meta.log_size), (8, 7, 3));
    drop(store);
    let store = Store::open(dir.path(), &opts()).unwrap();
    assert_eq!(store.verify_full().unwrap().txs, 3);
}

#[test]
fn indexes_paginate_by_height_range_in_both_orders() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    let mut log = 0;
    for h in 0..10u64 {
        let mut b = batch(h, log, 4);
        for t in &mut b.txs {
            // Every transaction is a certificate of one deployment id and one service.
            t.deployment_id = Some("deploy-1".into());
            t.service_env = Some(("api".into(), "prod".into()));
        }
        if h == 3 {
            // Ids that share a prefix with another must not leak into its results.
            b.txs[0].deployment_id = Some("deploy-10".into());
            b.txs[1].service_env = Some(("api".into(), "prod-eu".into()));
        }
        log = store.commit(&b).unwrap().log_size;
    }
    let all = |order| {
        let mut q = TxQuery {
            limit: 3,
            order,
            ..TxQuery::default()
        };
        let mut out = Vec::new();
        loop {
            let page = store.txs_by_deployment("deploy-1", &q).unwrap();
            assert!(page.txs.len() <= 3);
            out.extend(page.txs.iter().map(|t| t.pos));
            match page.next {
                Some(n) => q.after = Some(n),
                None => return out,
            }
        }
    };
    let asc = all(Order::Ascending);
    assert_eq!(asc.len(), 39);
    assert!(asc.windows(2).all(|w| w[0] < w[1]));
    let mut desc = all(Order::Descending);
    desc.reverse();
    assert_eq!(asc, desc);

    let ten = store
        .txs_by_deployment("deploy-10", &TxQuery::default())
        .unwrap();
    assert_eq!(ten.txs.len(), 1);
    assert_eq!(
        ten.txs[0].pos,
        TxPos {
            height: 3,
            position: 0
        }
    );
    assert!(
        store
            .txs_by_deployment("deploy", &TxQuery::default())
            .unwrap()
            .txs
            .is_empty()
    );

    let q = TxQuery {
        heights: 2..=4,
        ..TxQuery::default()
    };
    let page = store.txs_by_service_env("api", "prod", &q).unwrap();
    assert_eq!(page.txs.len(), 11);
    assert!(page.txs.iter().all(|t| (2..=4).contains(&t.pos.height)));
    assert_eq!(page.next, None);
    let q = TxQuery {
        heights: 2..=4,
        order: Order::Descending,
        limit: 2,
        ..TxQuery::default()
    };
    let page = store.txs_by_service_env("api", "prod", &q).unwrap();
    let got: Vec<_> = page.txs.iter().map(|t| t.pos).collect();
    assert_eq!(
        got,
        vec![
            TxPos {
                height: 4,
                position: 3
            },
            TxPos {
                height: 4,
                position: 2
            }
        ]
    );
    assert_eq!(
        page.next,
        Some(TxPos {
            height: 4,
            position: 2
        })
    );
    let eu = store
        .txs_by_service_env("api", "prod-eu", &TxQuery::default())
        .unwrap();
    assert_eq!(eu.txs.len(), 1);
    assert!(
        store
            .txs_by_service_env("ap", "iprod", &TxQuery::default())
            .unwrap()
            .txs
            .is_empty()
    );
    // An empty height range (start above end) matches nothing.
    let (start, end) = (5, 4);
    let empty = TxQuery {
        heights: start..=end,
        ..TxQuery::default()
    };
    let page = store.txs_by_service_env("api", "prod", &empty).unwrap();
    assert!(page.txs.is_empty());
}

#[test]
fn state_changes_apply_in_order_and_scan_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    let mut b = batch(0, 0, 0);
    b.state_changes = vec![
        (b"a/1".to_vec(), Some(b"one".to_vec())),
        (b"a/2".to_vec(), Some(b"two".to_vec())),
        (b"a/3".to_vec(), Some(b"three".to_vec())),
        (b"b/1".to_vec(), Some(b"other".to_vec())),
        (b"a/2".to_vec(), None),
        (b"a/3".to_vec(), Some(b"THREE".to_vec())),
    ];
    store.commit(&b).unwrap();
    assert_eq!(store.state_get(b"a/2").unwrap(), None);
    assert_eq!(store.state_get(b"a/3").unwrap(), Some(b"THREE".to_vec()));
    let a = store.state_scan(b"a/", None, 10).unwrap();
    assert_eq!(
        a,
        vec![
            (b"a/1".to_vec(), b"one".to_vec()),
            (b"a/3".to_vec(), b"THREE".to_vec())
        ]
    );
    assert_eq!(store.state_scan(b"a/", None, 1).unwrap().len(), 1);
    assert_eq!(
        store.state_scan(b"a/", Some(b"a/1"), 10).unwrap()[0].0,
        b"a/3"
    );
    assert!(
        store
            .state_scan(b"a/", Some(b"a/3"), 10)
            .unwrap()
            .is_empty()
    );
    let mut b1 = batch(1, 0, 0);
    b1.state_changes = vec![(b"a/1".to_vec(), None)];
    store.commit(&b1).unwrap();
    drop(store);
    let store = Store::open(dir.path(), &opts()).unwrap();
    assert_eq!(store.state_scan(b"a/", None, 10).unwrap().len(), 1);
    assert_eq!(store.state_scan(b"", None, 10).unwrap().len(), 2);
}

#[test]
fn log_proofs_verify_against_committed_roots() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    let mut metas: Vec<CommitMeta> = Vec::new();
    let mut log = 0;
    for h in 0..12u64 {
        let meta = store.commit(&batch(h, log, h % 4)).unwrap();
        log = meta.log_size;
        metas.push(meta);
    }
    let size = store.log_size().unwrap();
    assert_eq!(size, 18);
    let store = {
        drop(store);
        Store::open(dir.path(), &opts()).unwrap()
    };
    for m in &metas {
        assert_eq!(store.log_root_at(m.log_size).unwrap(), m.log_root);
        for i in 0..m.log_size {
            let proof = store.inclusion_proof(i, m.log_size).unwrap();
            verify_inclusion(
                &store.log_leaf(i).unwrap(),
                i,
                m.log_size,
                &proof,
                &m.log_root,
            )
            .unwrap();
        }
        let proof = store.consistency_proof(m.log_size, size).unwrap();
        verify_consistency(
            m.log_size,
            size,
            &m.log_root,
            &store.log_root().unwrap(),
            &proof,
        )
        .unwrap();
    }
    assert!(matches!(
        store.inclusion_proof(18, 18),
        Err(StoreError::Log(_))
    ));
    assert!(matches!(
        store.consistency_proof(5, 19),
        Err(StoreError::Log(_))
    ));
}

#[test]
fn safety_and_pending_records_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), &opts()).unwrap();
        assert_eq!(store.safety().unwrap(), None);
        store.put_safety(b"round 1").unwrap();
        store.put_safety(b"round 2").unwrap();
        store.put_pending(&[1; 32], b"block a").unwrap();
        store.put_pending(&[2; 32], b"block b").unwrap();
        store.put_pending(&[3; 32], b"qc c").unwrap();
        store.delete_pending(&[3; 32]).unwrap();
        let mut b = batch(0, 0, 1);
        b.remove_pending = vec![[1; 32]];
        store.commit(&b).unwrap();
    }
    let store = Store::open(dir.path(), &opts()).unwrap();
    assert_eq!(store.safety().unwrap().unwrap(), b"round 2");
    assert_eq!(store.pending(&[1; 32]).unwrap(), None);
    assert_eq!(store.pending(&[2; 32]).unwrap().unwrap(), b"block b");
    assert_eq!(
        store.all_pending().unwrap(),
        vec![([2; 32], b"block b".to_vec())]
    );
}

#[test]
fn reads_from_other_threads_see_whole_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| fill(&store, 30));
        s.spawn(|| {
            // Whatever head a reader sees, the block and its transactions are all there.
            for _ in 0..200 {
                if let Some(m) = store.meta().unwrap() {
                    let block = store.block(m.height).unwrap().unwrap();
                    assert_eq!(block.block_id, m.block_id);
                    assert_eq!(store.block_txs(m.height).unwrap().unwrap().len(), 3);
                }
            }
        });
    });
    assert_eq!(store.verify_full().unwrap().blocks, 30);
}

// ---------------------------------------------------------------------------------------------
// Refusals on open

#[test]
fn a_database_of_another_genesis_is_refused_naming_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 1);
    let other = [2; 32];
    let e = Store::open(dir.path(), &StoreOptions::new(other)).unwrap_err();
    let msg = e.to_string();
    match e {
        StoreError::ForeignGenesis {
            stored, expected, ..
        } => {
            assert_eq!((stored, expected), (Hash32(GENESIS), Hash32(other)));
        }
        other => panic!("expected ForeignGenesis, got {other:?}"),
    }
    assert!(msg.contains(&Hash32(GENESIS).to_hex()), "{msg}");
    assert!(msg.contains(&Hash32(other).to_hex()), "{msg}");
    // And the right genesis still opens it.
    Store::open(dir.path(), &opts()).unwrap();
}

#[test]
fn a_foreign_rocksdb_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut o = rocksdb::Options::default();
        o.create_if_missing(true);
        let db = rocksdb::DB::open(&o, dir.path()).unwrap();
        db.put(b"someone else's", b"data").unwrap();
    }
    let what = corrupted(open_err(dir.path()));
    assert!(what.contains("no genesis record"), "{what}");
}

#[test]
fn an_unknown_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 1);
    {
        let db = raw(dir.path());
        db.put_cf(
            db.cf_handle(CF_META).unwrap(),
            b"format",
            b"maat-storage/99",
        )
        .unwrap();
    }
    assert!(matches!(
        open_err(dir.path()),
        StoreError::UnsupportedFormat { .. }
    ));
}

#[test]
fn a_missing_head_block_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 4);
    {
        let db = raw(dir.path());
        db.delete_cf(db.cf_handle(CF_BLOCKS).unwrap(), 3u64.to_be_bytes())
            .unwrap();
    }
    let what = corrupted(open_err(dir.path()));
    assert!(what.contains("head"), "{what}");
}

#[test]
fn a_garbled_head_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 2);
    {
        let db = raw(dir.path());
        db.put_cf(db.cf_handle(CF_META).unwrap(), b"head", b"\x01short")
            .unwrap();
    }
    let what = corrupted(open_err(dir.path()));
    assert!(what.contains("truncated"), "{what}");
}

#[test]
fn a_block_above_the_head_is_refused() {
    // What a non-atomic commit would leave behind: the block without the head moving.
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 2);
    {
        let db = raw(dir.path());
        db.put_cf(
            db.cf_handle(CF_TXS).unwrap(),
            [0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0],
            [0; 40],
        )
        .unwrap();
    }
    let what = corrupted(open_err(dir.path()));
    assert!(what.contains("above the committed head"), "{what}");
}

#[test]
fn a_changed_log_node_fails_the_root_check() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 4); // 12 leaves: frontier nodes (3,0), (2,2)
    {
        let db = raw(dir.path());
        let mut key = vec![3u8];
        key.extend_from_slice(&0u64.to_be_bytes());
        db.put_cf(db.cf_handle(CF_LOG).unwrap(), key, [7u8; 32])
            .unwrap();
    }
    let what = corrupted(open_err(dir.path()));
    assert!(what.contains("root"), "{what}");
}

#[test]
fn a_lost_log_leaf_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 4);
    {
        let db = raw(dir.path());
        let mut key = vec![0u8];
        key.extend_from_slice(&11u64.to_be_bytes());
        db.delete_cf(db.cf_handle(CF_LOG).unwrap(), key).unwrap();
    }
    let what = corrupted(open_err(dir.path()));
    assert!(what.contains("level 0"), "{what}");
}

#[test]
fn damage_to_old_records_is_found_by_reads_and_full_verification() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 4);
    {
        let db = raw(dir.path());
        let txs = db.cf_handle(CF_TXS).unwrap();
        // Height 1, position 1 deleted; height 2, position 0 truncated; an old leaf changed.
        db.delete_cf(txs, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])
            .unwrap();
        db.put_cf(txs, [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0], [1, 2, 3])
            .unwrap();
        let mut key = vec![0u8];
        key.extend_from_slice(&0u64.to_be_bytes());
        db.put_cf(db.cf_handle(CF_LOG).unwrap(), key, [9u8; 32])
            .unwrap();
    }
    // The open check covers the head; older damage shows on read, never as a panic.
    let store = Store::open(dir.path(), &opts()).unwrap();
    corrupted(store.block(1).unwrap_err());
    corrupted(store.block_txs(2).unwrap_err());
    corrupted(store.tx(&batch(2, 0, 3).txs[0].tx_id).unwrap_err());
    corrupted(store.tx(&batch(1, 0, 3).txs[1].tx_id).unwrap_err());
    assert!(store.block(3).unwrap().is_some());
    corrupted(store.verify_full().unwrap_err());
}

#[test]
fn full_verification_finds_a_changed_interior_log_node() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Store::open(dir.path(), &opts()).unwrap(), 4);
    {
        let db = raw(dir.path());
        // (1, 0) is not on the frontier of a 12-leaf tree: only the full check can see it.
        let mut key = vec![1u8];
        key.extend_from_slice(&0u64.to_be_bytes());
        db.put_cf(db.cf_handle(CF_LOG).unwrap(), key, [9u8; 32])
            .unwrap();
    }
    let store = Store::open(dir.path(), &opts()).unwrap();
    let what = corrupted(store.verify_full().unwrap_err());
    assert!(what.contains("level 1, index 0"), "{what}");
}
