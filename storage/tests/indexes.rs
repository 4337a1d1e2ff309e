//! The agent audit chain index and the subject digest index against a real RocksDB in a
//! temporary directory: reads by range and page, the duplicate refusal, pagination in both
//! orders, reopening, full verification, and databases made before these indexes existed.

use std::path::Path;

use maat_crypto::merkle::leaf_hash;
use maat_crypto::sha256;
use maat_storage::{
    ALL_CFS, AuditIndexEntry, CF_IDX_AUDIT, CF_IDX_SUBJECT, CommitBatch, CommittedTx, Order, Store,
    StoreError, StoreOptions, TxPos, TxQuery,
};

const GENESIS: [u8; 32] = [2; 32];

fn opts() -> StoreOptions {
    StoreOptions::new(GENESIS)
}

/// What one test transaction is indexed under.
#[derive(Default, Clone)]
struct Spec {
    audit: Option<(&'static str, u64)>,
    subjects: Vec<String>,
}

fn audit(agent: &'static str, sequence: u64) -> Spec {
    Spec {
        audit: Some((agent, sequence)),
        subjects: Vec::new(),
    }
}

fn subjects(digests: &[&str]) -> Spec {
    Spec {
        audit: None,
        subjects: digests.iter().map(|d| (*d).to_owned()).collect(),
    }
}

fn tx_bytes(height: u64, position: usize) -> Vec<u8> {
    format!("tx-{height}-{position}").into_bytes()
}

/// A block at `height` whose transactions (embedded verbatim) are indexed as `specs` say.
fn batch(height: u64, log_start: u64, specs: &[Spec]) -> CommitBatch {
    let mut block_bytes = format!("header {height};").into_bytes();
    let mut txs = Vec::new();
    for (p, spec) in specs.iter().enumerate() {
        let bytes = tx_bytes(height, p);
        block_bytes.extend_from_slice(&bytes);
        txs.push(CommittedTx {
            tx_id: sha256(&bytes),
            log_index: log_start + p as u64,
            audit_record: spec.audit.map(|(agent, sequence)| AuditIndexEntry {
                agent_id: agent.to_owned(),
                sequence,
            }),
            subjects: spec.subjects.clone(),
            tx_bytes: bytes,
            ..CommittedTx::default()
        });
    }
    CommitBatch {
        height,
        block_id: sha256(&block_bytes),
        log_leaves: txs.iter().map(|t| leaf_hash(&t.tx_bytes)).collect(),
        block_bytes,
        commit_qc_bytes: format!("qc {height}").into_bytes(),
        txs,
        ..CommitBatch::default()
    }
}

/// Commits one block per entry of `blocks`, from height 0.
fn commit_all(store: &Store, blocks: &[Vec<Spec>]) {
    let mut log = store.log_size().unwrap();
    let first = store.meta().unwrap().map_or(0, |m| m.height + 1);
    for (h, specs) in (first..).zip(blocks) {
        log = store.commit(&batch(h, log, specs)).unwrap().log_size;
    }
}

fn pos(height: u64, position: u32) -> TxPos {
    TxPos { height, position }
}

fn corrupted(e: StoreError) -> String {
    match e {
        StoreError::Corrupted { what } => what,
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

/// Opens the database with plain RocksDB (every column family) to change it behind the store.
fn raw(path: &Path) -> rocksdb::DB {
    let cfs = std::iter::once("default").chain(ALL_CFS.iter().copied());
    rocksdb::DB::open_cf(&rocksdb::Options::default(), path, cfs).unwrap()
}

/// Six blocks of four transactions: positions 0 and 1 continue `agent-a`'s chain (sequences
/// 1..=12), position 2 continues `agent`'s (a name that is a prefix of the other), position 3
/// has no audit record.
fn audit_blocks() -> Vec<Vec<Spec>> {
    (0..6u64)
        .map(|h| {
            vec![
                audit("agent-a", 2 * h + 1),
                audit("agent-a", 2 * h + 2),
                audit("agent", h + 1),
                Spec::default(),
            ]
        })
        .collect()
}

/// Where `agent-a`'s record `sequence` is in [`audit_blocks`].
fn agent_a_pos(sequence: u64) -> TxPos {
    pos((sequence - 1) / 2, ((sequence - 1) % 2) as u32)
}

#[test]
fn audit_chain_reads_by_range_across_blocks_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    commit_all(&store, &audit_blocks());

    // Pages of five, each starting after the last sequence of the previous one.
    let mut from = 1;
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    loop {
        let page = store.audit_chain("agent-a", from, 5).unwrap();
        let Some(&(last, _)) = page.last() else {
            break;
        };
        sizes.push(page.len());
        for (sequence, rec) in page {
            assert_eq!(rec.pos, agent_a_pos(sequence));
            assert_eq!(
                rec.bytes,
                tx_bytes(rec.pos.height, rec.pos.position as usize)
            );
            seen.push(sequence);
        }
        from = last + 1;
    }
    assert_eq!(sizes, [5, 5, 2]);
    assert_eq!(seen, (1..=12).collect::<Vec<_>>());

    // A range in the middle; a limit of 0 still returns one record.
    let mid: Vec<u64> = store
        .audit_chain("agent-a", 4, 3)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(mid, [4, 5, 6]);
    assert_eq!(store.audit_chain("agent-a", 9, 0).unwrap().len(), 1);
    assert_eq!(store.audit_chain("agent-a", 0, 100).unwrap().len(), 12);
    assert!(store.audit_chain("agent-a", 13, 100).unwrap().is_empty());

    // Agents whose names share a prefix never see each other's records.
    let other: Vec<(u64, TxPos)> = store
        .audit_chain("agent", 0, 100)
        .unwrap()
        .into_iter()
        .map(|(s, r)| (s, r.pos))
        .collect();
    assert_eq!(
        other,
        (1..=6).map(|s| (s, pos(s - 1, 2))).collect::<Vec<_>>()
    );
    assert!(store.audit_chain("agent-", 0, 100).unwrap().is_empty());
    assert!(store.audit_chain("nobody", 0, 100).unwrap().is_empty());

    assert_eq!(
        store.audit_record_at("agent-a", 7).unwrap().unwrap().pos,
        agent_a_pos(7)
    );
    assert_eq!(store.audit_record_at("agent-a", 13).unwrap(), None);
    assert_eq!(store.audit_record_at("agent", 7).unwrap(), None);
    assert_eq!(store.audit_chain_length("agent-a").unwrap(), 12);
    assert_eq!(store.audit_chain_length("agent").unwrap(), 6);
    assert_eq!(store.audit_chain_length("agent-").unwrap(), 0);
    assert_eq!(store.audit_chain_length("nobody").unwrap(), 0);

    // The length is the highest sequence stored, gaps and the largest sequence included.
    commit_all(
        &store,
        &[vec![
            audit("gappy", 5),
            audit("gappy", 100),
            audit("max", u64::MAX),
        ]],
    );
    assert_eq!(store.audit_chain_length("gappy").unwrap(), 100);
    assert_eq!(store.audit_chain_length("max").unwrap(), u64::MAX);
    let after_gap: Vec<u64> = store
        .audit_chain("gappy", 6, 10)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(after_gap, [100]);
    assert_eq!(
        store.audit_chain("max", u64::MAX, 10).unwrap()[0].1.pos,
        pos(6, 2)
    );
}

#[test]
fn a_duplicate_audit_record_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    commit_all(&store, &[vec![audit("agent-a", 1), audit("agent-a", 2)]]);
    let before = store.meta().unwrap();

    let tagged = |spec: Spec| Spec {
        subjects: vec!["sha256:refused".to_owned()],
        ..spec
    };
    // Already committed, and twice in one batch (another agent's sequence 2 is fine).
    let again = batch(1, 2, &[audit("agent-b", 2), tagged(audit("agent-a", 2))]);
    let twice = batch(1, 2, &[tagged(audit("agent-a", 3)), audit("agent-a", 3)]);
    for refused in [&again, &twice] {
        let e = store.commit(refused).unwrap_err();
        assert!(matches!(e, StoreError::InvalidBatch(_)), "{e:?}");
        assert_eq!(store.meta().unwrap(), before);
        assert_eq!(store.log_size().unwrap(), 2);
        assert_eq!(store.block(1).unwrap(), None);
        for tx in &refused.txs {
            assert_eq!(store.tx(&tx.tx_id).unwrap(), None);
        }
        assert_eq!(store.audit_chain_length("agent-a").unwrap(), 2);
        assert_eq!(store.audit_chain_length("agent-b").unwrap(), 0);
        let page = store
            .txs_by_subject("sha256:refused", &TxQuery::default())
            .unwrap();
        assert!(page.txs.is_empty());
    }
    assert_eq!(
        store.audit_record_at("agent-a", 2).unwrap().unwrap().pos,
        pos(0, 1)
    );

    // An agent id too long for the key is refused too, before anything is written.
    let mut long = batch(1, 2, &[audit("agent-c", 1)]);
    if let Some(a) = long.txs[0].audit_record.as_mut() {
        a.agent_id = "a".repeat(70_000);
    }
    assert!(matches!(
        store.commit(&long),
        Err(StoreError::InvalidBatch(_))
    ));
    assert_eq!(store.meta().unwrap(), before);

    store
        .commit(&batch(1, 2, &[audit("agent-a", 3), audit("agent-b", 2)]))
        .unwrap();
    assert_eq!(store.audit_chain_length("agent-a").unwrap(), 3);
    assert_eq!(store.verify_full().unwrap().index_entries, 4);
}

const D: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const E: &str = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
/// A prefix of `D` as a string: must not match it.
const F: &str = "sha256:aaaa";

/// Eight blocks of three transactions: `D` at positions 0 and 1, position 1 also under `E`,
/// position 2 under `F` listed twice.
fn subject_blocks() -> Vec<Vec<Spec>> {
    (0..8)
        .map(|_| vec![subjects(&[D]), subjects(&[E, D]), subjects(&[F, F])])
        .collect()
}

/// Every page of a subject query: the positions of each page and each page's `next`.
fn pages(store: &Store, digest: &str, mut q: TxQuery) -> Vec<(Vec<TxPos>, Option<TxPos>)> {
    let mut out = Vec::new();
    loop {
        let page = store.txs_by_subject(digest, &q).unwrap();
        let positions = page.txs.iter().map(|t| t.pos).collect();
        out.push((positions, page.next));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return out,
        }
    }
}

#[test]
fn subject_index_paginates_in_both_orders() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &opts()).unwrap();
    commit_all(&store, &subject_blocks());
    let under_d: Vec<TxPos> = (0..8).flat_map(|h| [pos(h, 0), pos(h, 1)]).collect();

    let asc = pages(
        &store,
        D,
        TxQuery {
            limit: 5,
            ..TxQuery::default()
        },
    );
    assert_eq!(
        asc.iter().map(|(p, _)| p.len()).collect::<Vec<_>>(),
        [5, 5, 5, 1]
    );
    for (positions, next) in &asc[..3] {
        assert_eq!(*next, positions.last().copied());
    }
    assert_eq!(asc[3].1, None);
    assert_eq!(flatten(&asc), under_d);

    let desc = pages(
        &store,
        D,
        TxQuery {
            limit: 3,
            order: Order::Descending,
            ..TxQuery::default()
        },
    );
    let mut reversed = under_d.clone();
    reversed.reverse();
    assert_eq!(flatten(&desc), reversed);
    assert!(desc.iter().all(|(p, _)| p.len() <= 3));

    // `after` within a height range, both orders.
    let window = store
        .txs_by_subject(
            D,
            &TxQuery {
                heights: 2..=4,
                after: Some(pos(2, 1)),
                ..TxQuery::default()
            },
        )
        .unwrap();
    let got: Vec<TxPos> = window.txs.iter().map(|t| t.pos).collect();
    assert_eq!(got, [pos(3, 0), pos(3, 1), pos(4, 0), pos(4, 1)]);
    assert_eq!(window.next, None);
    let window = store
        .txs_by_subject(
            D,
            &TxQuery {
                heights: 2..=4,
                after: Some(pos(4, 0)),
                order: Order::Descending,
                limit: 2,
            },
        )
        .unwrap();
    let got: Vec<TxPos> = window.txs.iter().map(|t| t.pos).collect();
    assert_eq!(got, [pos(3, 1), pos(3, 0)]);
    assert_eq!(window.next, Some(pos(3, 0)));

    // A transaction with two subjects is found under both; a repeated digest is one entry; a
    // digest that is a string prefix of another matches only itself.
    let all = TxQuery::default();
    let under_e = store.txs_by_subject(E, &all).unwrap();
    assert_eq!(
        under_e.txs.iter().map(|t| t.pos).collect::<Vec<_>>(),
        (0..8).map(|h| pos(h, 1)).collect::<Vec<_>>()
    );
    assert_eq!(under_e.txs[3].bytes, tx_bytes(3, 1));
    let under_f = store.txs_by_subject(F, &all).unwrap();
    assert_eq!(
        under_f.txs.iter().map(|t| t.pos).collect::<Vec<_>>(),
        (0..8).map(|h| pos(h, 2)).collect::<Vec<_>>()
    );
    assert!(
        store
            .txs_by_subject("sha256:", &all)
            .unwrap()
            .txs
            .is_empty()
    );
    // 16 under D, 8 under E, 8 under F (not 16).
    assert_eq!(store.verify_full().unwrap().index_entries, 32);
}

/// The positions of every page, in page order.
fn flatten(pages: &[(Vec<TxPos>, Option<TxPos>)]) -> Vec<TxPos> {
    pages.iter().flat_map(|(p, _)| p.iter().copied()).collect()
}

#[test]
fn indexes_survive_reopen_and_full_verification_resolves_them() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), &opts()).unwrap();
        commit_all(&store, &audit_blocks());
        commit_all(&store, &subject_blocks());
    }
    let store = Store::open(dir.path(), &opts()).unwrap();
    assert_eq!(store.audit_chain_length("agent-a").unwrap(), 12);
    let chain: Vec<(u64, TxPos)> = store
        .audit_chain("agent-a", 3, 4)
        .unwrap()
        .into_iter()
        .map(|(s, r)| (s, r.pos))
        .collect();
    assert_eq!(
        chain,
        (3..=6).map(|s| (s, agent_a_pos(s))).collect::<Vec<_>>()
    );
    // The subject blocks follow the six audit blocks.
    let under_e = store.txs_by_subject(E, &TxQuery::default()).unwrap();
    assert_eq!(under_e.txs.len(), 8);
    assert_eq!(under_e.txs[0].pos, pos(6, 1));
    // 12 + 6 audit entries, 32 subject entries.
    let report = store.verify_full().unwrap();
    assert_eq!((report.blocks, report.index_entries), (14, 50));
    drop(store);

    // An audit entry pointing nowhere: found by the read and by full verification.
    {
        let db = raw(dir.path());
        let mut key = 7u16.to_be_bytes().to_vec();
        key.extend_from_slice(b"agent-a");
        key.extend_from_slice(&13u64.to_be_bytes());
        let mut nowhere = 99u64.to_be_bytes().to_vec();
        nowhere.extend_from_slice(&0u32.to_be_bytes());
        db.put_cf(db.cf_handle(CF_IDX_AUDIT).unwrap(), key, nowhere)
            .unwrap();
    }
    let store = Store::open(dir.path(), &opts()).unwrap();
    corrupted(store.audit_record_at("agent-a", 13).unwrap_err());
    corrupted(store.audit_chain("agent-a", 12, 5).unwrap_err());
    let what = corrupted(store.verify_full().unwrap_err());
    assert!(what.contains(CF_IDX_AUDIT), "{what}");
    drop(store);

    // A subject entry pointing nowhere.
    {
        let db = raw(dir.path());
        let mut key = 7u16.to_be_bytes().to_vec();
        key.extend_from_slice(b"agent-a");
        key.extend_from_slice(&13u64.to_be_bytes());
        db.delete_cf(db.cf_handle(CF_IDX_AUDIT).unwrap(), key)
            .unwrap();
        let mut key = (E.len() as u16).to_be_bytes().to_vec();
        key.extend_from_slice(E.as_bytes());
        key.extend_from_slice(&99u64.to_be_bytes());
        key.extend_from_slice(&0u32.to_be_bytes());
        db.put_cf(db.cf_handle(CF_IDX_SUBJECT).unwrap(), key, [])
            .unwrap();
    }
    let store = Store::open(dir.path(), &opts()).unwrap();
    corrupted(store.txs_by_subject(E, &TxQuery::default()).unwrap_err());
    let what = corrupted(store.verify_full().unwrap_err());
    assert!(what.contains(CF_IDX_SUBJECT), "{what}");
}

#[test]
fn index_entries_without_any_committed_block_are_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), &opts()).unwrap());
    {
        let db = raw(dir.path());
        db.put_cf(db.cf_handle(CF_IDX_SUBJECT).unwrap(), b"x", [])
            .unwrap();
    }
    let e = Store::open(dir.path(), &opts()).unwrap_err();
    assert!(corrupted(e).contains(CF_IDX_SUBJECT));
}

#[test]
fn a_database_made_before_the_new_indexes_opens_and_indexes_new_commits() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), &opts()).unwrap();
        commit_all(
            &store,
            &[vec![Spec::default(); 3], vec![Spec::default(); 2]],
        );
    }
    // Make it what an older build left: the same data without the two column families.
    {
        let mut db = raw(dir.path());
        db.drop_cf(CF_IDX_AUDIT).unwrap();
        db.drop_cf(CF_IDX_SUBJECT).unwrap();
    }
    let listed = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir.path()).unwrap();
    assert!(
        !listed
            .iter()
            .any(|c| c == CF_IDX_AUDIT || c == CF_IDX_SUBJECT)
    );

    {
        let store = Store::open(dir.path(), &opts()).unwrap();
        assert_eq!(store.meta().unwrap().unwrap().height, 1);
        assert_eq!(store.block_txs(0).unwrap().unwrap().len(), 3);
        assert_eq!(store.audit_chain_length("agent-a").unwrap(), 0);
        commit_all(
            &store,
            &[vec![
                Spec {
                    audit: Some(("agent-a", 1)),
                    subjects: vec![D.to_owned()],
                },
                Spec::default(),
            ]],
        );
        assert_eq!(store.verify_full().unwrap().index_entries, 2);
    }
    let listed = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir.path()).unwrap();
    assert!(listed.iter().any(|c| c == CF_IDX_AUDIT));
    assert!(listed.iter().any(|c| c == CF_IDX_SUBJECT));
    let store = Store::open(dir.path(), &opts()).unwrap();
    assert_eq!(
        store.audit_record_at("agent-a", 1).unwrap().unwrap().pos,
        pos(2, 0)
    );
    let under_d = store.txs_by_subject(D, &TxQuery::default()).unwrap();
    assert_eq!(under_d.txs.len(), 1);
    assert_eq!(under_d.txs[0].pos, pos(2, 0));
    let report = store.verify_full().unwrap();
    assert_eq!((report.blocks, report.txs, report.index_entries), (3, 7, 2));
}

#[test]
fn an_older_database_gets_its_proof_indexes_rebuilt_from_the_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let blocks = vec![
        vec![audit("agent-a", 1), subjects(&[D]), Spec::default()],
        vec![audit("agent-a", 2), audit("agent-b", 1)],
    ];
    {
        let store = Store::open(dir.path(), &opts()).unwrap();
        assert!(
            store.proof_indexes_complete().unwrap(),
            "a new database is complete"
        );
        commit_all(&store, &blocks);
    }
    // What a build before these indexes left: no index entries, no completeness mark.
    {
        let mut db = raw(dir.path());
        db.drop_cf(CF_IDX_AUDIT).unwrap();
        db.drop_cf(CF_IDX_SUBJECT).unwrap();
        let meta = db.cf_handle(maat_storage::CF_META).unwrap();
        db.delete_cf(meta, b"proof-indexes/1").unwrap();
    }
    let store = Store::open(dir.path(), &opts()).unwrap();
    assert!(!store.proof_indexes_complete().unwrap());
    assert_eq!(store.audit_chain_length("agent-a").unwrap(), 0);

    // The node classifies transactions by decoding them; here the specs say what each is.
    let classify = |bytes: &[u8]| {
        let text = std::str::from_utf8(bytes).unwrap();
        let mut parts = text.trim_start_matches("tx-").split('-');
        let h: usize = parts.next().unwrap().parse().unwrap();
        let p: usize = parts.next().unwrap().parse().unwrap();
        let spec = &blocks[h][p];
        let audit = spec.audit.map(|(agent, sequence)| AuditIndexEntry {
            agent_id: agent.to_owned(),
            sequence,
        });
        (audit, spec.subjects.clone())
    };
    assert_eq!(store.rebuild_proof_indexes(classify).unwrap(), 4);
    assert!(store.proof_indexes_complete().unwrap());
    assert_eq!(store.audit_chain_length("agent-a").unwrap(), 2);
    assert_eq!(
        store.audit_record_at("agent-b", 1).unwrap().unwrap().pos,
        pos(1, 1)
    );
    assert_eq!(
        store.txs_by_subject(D, &TxQuery::default()).unwrap().txs[0].pos,
        pos(0, 1)
    );
    assert_eq!(store.verify_full().unwrap().index_entries, 4);
    // Idempotent.
    assert_eq!(store.rebuild_proof_indexes(classify).unwrap(), 4);
    assert_eq!(store.verify_full().unwrap().index_entries, 4);
}
