//! Consistency checks: the cheap one run on every open, and the full one.

use maat_crypto::Hash32;
use maat_crypto::merkle::{MerkleLog, NodeId, NodeStore as _};
use rocksdb::{DB, Direction, IteratorMode};

use crate::codec::{self, decode_pos, height_key, node_key, pos_key};
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::types::{CommitMeta, TxPos, VerifyReport};
use crate::{
    ALL_CFS, CF_BLOCK_IDS, CF_BLOCKS, CF_IDX_AUDIT, CF_IDX_DEPLOYMENT, CF_IDX_SERVICE_ENV,
    CF_IDX_SUBJECT, CF_LOG, CF_PENDING, CF_QCS, CF_TX_IDS, CF_TXS, cf,
};

/// Column families that hold committed data (everything the head summarises).
const COMMITTED_CFS: &[&str] = &[
    CF_BLOCKS,
    CF_BLOCK_IDS,
    CF_QCS,
    CF_TXS,
    CF_TX_IDS,
    CF_IDX_DEPLOYMENT,
    CF_IDX_SERVICE_ENV,
    CF_IDX_AUDIT,
    CF_IDX_SUBJECT,
    crate::CF_STATE,
    CF_LOG,
];

fn first_key(db: &DB, cf_name: &str) -> Result<Option<Box<[u8]>>> {
    match db.iterator_cf(cf(db, cf_name)?, IteratorMode::Start).next() {
        None => Ok(None),
        Some(item) => Ok(Some(item?.0)),
    }
}

fn last_key(db: &DB, cf_name: &str) -> Result<Option<Box<[u8]>>> {
    match db.iterator_cf(cf(db, cf_name)?, IteratorMode::End).next() {
        None => Ok(None),
        Some(item) => Ok(Some(item?.0)),
    }
}

/// The last key `<= key` in a column family.
fn last_key_at_or_before(db: &DB, cf_name: &str, key: &[u8]) -> Result<Option<Box<[u8]>>> {
    let mode = IteratorMode::From(key, Direction::Reverse);
    match db.iterator_cf(cf(db, cf_name)?, mode).next() {
        None => Ok(None),
        Some(item) => Ok(Some(item?.0)),
    }
}

/// A database without a genesis record must be empty: anything else is not ours, or lost its
/// meta records.
pub(crate) fn check_no_data(db: &DB, why: &str) -> Result<()> {
    for name in std::iter::once("default").chain(ALL_CFS.iter().copied()) {
        if first_key(db, name)?.is_some() {
            return Err(StoreError::corrupted(format!(
                "{why}, but column family '{name}' holds data (not a Maat database, or its meta \
                 records were lost)"
            )));
        }
    }
    Ok(())
}

/// The check run on every open, O(log n) reads plus the head block's transactions: the head
/// record matches the last block, nothing was written above it, and the transparency log has
/// exactly `head.log_size` leaves with every level's node count matching.
pub(crate) fn check_head(db: &DB, head: Option<&CommitMeta>) -> Result<()> {
    let Some(h) = head else {
        for name in COMMITTED_CFS {
            if first_key(db, name)?.is_some() {
                return Err(StoreError::corrupted(format!(
                    "no block is committed, but column family '{name}' holds data"
                )));
            }
        }
        return Ok(());
    };

    // Blocks: the last one is the head, the first one is the recorded first height.
    let last = last_key(db, CF_BLOCKS)?
        .ok_or_else(|| StoreError::corrupted(format!("the head block {} is missing", h.height)))?;
    let last = codec::decode_height_key(&last, "block key")?;
    if last != h.height {
        return Err(StoreError::corrupted(format!(
            "the last stored block is at height {last}, but the committed head is {}",
            h.height
        )));
    }
    if let Some(first) = first_key(db, CF_BLOCKS)? {
        let first = codec::decode_height_key(&first, "block key")?;
        if first != h.first_height {
            return Err(StoreError::corrupted(format!(
                "the first stored block is at height {first}, but the head says {}",
                h.first_height
            )));
        }
    }
    let value = db
        .get_pinned_cf(cf(db, CF_BLOCKS)?, height_key(h.height))?
        .ok_or_else(|| StoreError::corrupted("the head block is missing"))?;
    let block = codec::decode_block(&value)?;
    if block.block_id != h.block_id {
        return Err(StoreError::corrupted(format!(
            "the block at the head height {} is {}, but the head says {}",
            h.height,
            Hash32(block.block_id),
            Hash32(h.block_id)
        )));
    }
    let indexed = db.get_pinned_cf(cf(db, CF_BLOCK_IDS)?, h.block_id)?;
    if indexed.as_deref() != Some(&height_key(h.height)[..]) {
        return Err(StoreError::corrupted(
            "the head block is not indexed by its id",
        ));
    }
    let last_qc = last_key(db, CF_QCS)?
        .map(|k| codec::decode_height_key(&k, "QC key"))
        .transpose()?;
    if last_qc != Some(h.height) {
        return Err(StoreError::corrupted(format!(
            "the last stored QC is for height {last_qc:?}, but the committed head is {}",
            h.height
        )));
    }

    // Transactions: none above the head; the head block's are all there and indexed.
    if let Some(k) = last_key(db, CF_TXS)? {
        let pos = decode_pos(&k, "transaction key")?;
        if pos.height > h.height {
            return Err(StoreError::corrupted(format!(
                "a transaction is stored at height {}, above the committed head {}",
                pos.height, h.height
            )));
        }
    }
    let tx_ids = cf(db, CF_TX_IDS)?;
    let txs = cf(db, CF_TXS)?;
    let mut last_log_index = None;
    for position in 0..block.tx_count {
        let pos = TxPos {
            height: h.height,
            position,
        };
        let v = db.get_pinned_cf(txs, pos_key(pos))?.ok_or_else(|| {
            StoreError::corrupted(format!(
                "transaction {position} of the head block {} is missing",
                h.height
            ))
        })?;
        let t = codec::decode_tx(&v)?;
        let at = db.get_pinned_cf(tx_ids, t.tx_id)?;
        if at.as_deref() != Some(&pos_key(pos)[..]) {
            return Err(StoreError::corrupted(format!(
                "transaction {} of the head block is not indexed by its id",
                Hash32(t.tx_id)
            )));
        }
        last_log_index = Some(t.log_index);
    }
    if let Some(i) = last_log_index
        && i >= h.log_size
    {
        return Err(StoreError::corrupted(format!(
            "the head block's last transaction has log index {i}, but the log has {} entries",
            h.log_size
        )));
    }

    // Log: level l holds exactly size >> l complete subtrees.
    for level in 0..64u8 {
        let expected = h.log_size >> level;
        let probe = node_key(NodeId {
            level,
            index: u64::MAX,
        });
        let found = match last_key_at_or_before(db, CF_LOG, &probe)? {
            Some(k) => {
                let id = codec::decode_node_key(&k)?;
                (id.level == level).then_some(id.index)
            }
            None => None,
        };
        let ok = match found {
            None => expected == 0,
            Some(index) => index.checked_add(1) == Some(expected),
        };
        if !ok {
            return Err(StoreError::corrupted(format!(
                "transparency log level {level} should hold {expected} nodes for size {}, but \
                 its last node is {found:?}",
                h.log_size
            )));
        }
    }
    Ok(())
}

fn count_keys(db: &DB, cf_name: &str) -> Result<u64> {
    let mut n = 0u64;
    for item in db.iterator_cf(cf(db, cf_name)?, IteratorMode::Start) {
        item?;
        n += 1;
    }
    Ok(n)
}

/// Splits an index key into its position after checking the length-delimited strings.
fn index_key_pos(key: &[u8], strings: usize, what: &str) -> Result<TxPos> {
    let mut r = codec::Reader::new(key, what);
    for _ in 0..strings {
        let len = r.u16()?;
        let s = r.take(usize::from(len))?;
        if std::str::from_utf8(s).is_err() {
            return Err(StoreError::corrupted(format!("{what} holds invalid UTF-8")));
        }
    }
    decode_pos(r.rest(), what)
}

/// Splits an `idx_audit` key into its agent id and sequence.
fn audit_key_parts(key: &[u8]) -> Result<(&str, u64)> {
    let mut r = codec::Reader::new(key, "audit index key");
    let len = r.u16()?;
    let agent_id = std::str::from_utf8(r.take(usize::from(len))?)
        .map_err(|_| StoreError::corrupted("audit index key holds invalid UTF-8"))?;
    Ok((agent_id, codec::decode_audit_sequence(r.rest())?))
}

/// See [`Store::verify_full`].
pub(crate) fn verify_full(
    store: &Store,
    db: &DB,
    head: Option<&CommitMeta>,
) -> Result<VerifyReport> {
    check_head(db, head)?;
    let Some(h) = head else {
        return Ok(VerifyReport::default());
    };
    let mut report = VerifyReport::default();

    // Blocks, contiguous from the first height to the head, each rebuilt with its transactions.
    let mut expected_height = h.first_height;
    let mut next_log_index = None::<u64>;
    let block_ids = cf(db, CF_BLOCK_IDS)?;
    let tx_ids = cf(db, CF_TX_IDS)?;
    let qcs = cf(db, CF_QCS)?;
    for item in db.iterator_cf(cf(db, CF_BLOCKS)?, IteratorMode::Start) {
        let (k, v) = item?;
        let height = codec::decode_height_key(&k, "block key")?;
        if height != expected_height {
            return Err(StoreError::corrupted(format!(
                "blocks are not contiguous: found height {height}, expected {expected_height}"
            )));
        }
        let b = codec::decode_block(&v)?;
        if db.get_pinned_cf(block_ids, b.block_id)?.as_deref() != Some(&k[..]) {
            return Err(StoreError::corrupted(format!(
                "block {} at height {height} is not indexed by its id",
                Hash32(b.block_id)
            )));
        }
        if db.get_pinned_cf(qcs, &k)?.is_none() {
            return Err(StoreError::corrupted(format!(
                "the block at height {height} has no QC"
            )));
        }
        let block = store
            .block(height)?
            .ok_or_else(|| StoreError::corrupted(format!("block {height} vanished")))?;
        if block.block_id != b.block_id {
            return Err(StoreError::corrupted(format!(
                "block {height} changed while read"
            )));
        }
        for tx in store.block_txs(height)?.unwrap_or_default() {
            if db.get_pinned_cf(tx_ids, tx.tx_id)?.as_deref() != Some(&pos_key(tx.pos)[..]) {
                return Err(StoreError::corrupted(format!(
                    "transaction {} at height {height} is not indexed by its id",
                    Hash32(tx.tx_id)
                )));
            }
            if next_log_index.is_some_and(|n| tx.log_index < n) || tx.log_index >= h.log_size {
                return Err(StoreError::corrupted(format!(
                    "transaction {} has log index {} out of order or beyond the log",
                    Hash32(tx.tx_id),
                    tx.log_index
                )));
            }
            next_log_index = Some(tx.log_index + 1);
            report.txs += 1;
        }
        report.blocks += 1;
        expected_height = height.saturating_add(1);
    }
    if report.blocks == 0 || expected_height != h.height.saturating_add(1) {
        return Err(StoreError::corrupted(format!(
            "blocks end at height {}, but the committed head is {}",
            expected_height.saturating_sub(1),
            h.height
        )));
    }
    // Every index holds exactly the committed records.
    for (name, expected) in [
        (CF_TX_IDS, report.txs),
        (CF_TXS, report.txs),
        (CF_BLOCK_IDS, report.blocks),
        (CF_QCS, report.blocks),
    ] {
        let n = count_keys(db, name)?;
        if n != expected {
            return Err(StoreError::corrupted(format!(
                "column family '{name}' holds {n} records, expected {expected}"
            )));
        }
    }
    if report.txs != h.tx_count {
        return Err(StoreError::corrupted(format!(
            "{} transactions are stored, but the head counts {}",
            report.txs, h.tx_count
        )));
    }
    for (name, strings) in [
        (CF_IDX_DEPLOYMENT, 1),
        (CF_IDX_SERVICE_ENV, 2),
        (CF_IDX_SUBJECT, 1),
    ] {
        for item in db.iterator_cf(cf(db, name)?, IteratorMode::Start) {
            let (k, _) = item?;
            let pos = index_key_pos(&k, strings, "index key")?;
            if store.tx_at(pos)?.is_none() {
                return Err(StoreError::corrupted(format!(
                    "index '{name}' points to height {} position {}, which has no transaction",
                    pos.height, pos.position
                )));
            }
            report.index_entries += 1;
        }
    }
    // Audit chain entries: key agent id || sequence, value the record's position.
    for item in db.iterator_cf(cf(db, CF_IDX_AUDIT)?, IteratorMode::Start) {
        let (k, v) = item?;
        let (agent_id, sequence) = audit_key_parts(&k)?;
        let pos = decode_pos(&v, "audit index value")?;
        if store.tx_at(pos)?.is_none() {
            return Err(StoreError::corrupted(format!(
                "index '{CF_IDX_AUDIT}' entry {sequence} of agent {agent_id:?} points to height \
                 {} position {}, which has no transaction",
                pos.height, pos.position
            )));
        }
        report.index_entries += 1;
    }

    // The log, recomputed from its leaves, must match every stored node and the head's root.
    let mut memory = MerkleLog::new();
    let log_cf = cf(db, CF_LOG)?;
    let mut stored_nodes = 0u64;
    for item in db.iterator_cf(log_cf, IteratorMode::Start) {
        let (k, v) = item?;
        let id = codec::decode_node_key(&k)?;
        stored_nodes += 1;
        if id.level != 0 {
            continue;
        }
        if id.index != memory.size() {
            return Err(StoreError::corrupted(format!(
                "transparency log leaf {} found where leaf {} was expected",
                id.index,
                memory.size()
            )));
        }
        let leaf = codec::decode_id(&v, "transparency log leaf")?;
        memory.append_leaf_hash(Hash32(leaf))?;
    }
    if memory.size() != h.log_size || memory.root() != h.log_root {
        return Err(StoreError::corrupted(format!(
            "transparency log recomputed from {} leaves has root {}, the head says size {} root {}",
            memory.size(),
            memory.root(),
            h.log_size,
            h.log_root
        )));
    }
    for item in db.iterator_cf(log_cf, IteratorMode::Start) {
        let (k, v) = item?;
        let id = codec::decode_node_key(&k)?;
        let want = memory.store().get(id).ok().flatten();
        if want.map(|w| w.0.to_vec()) != Some(v.to_vec()) {
            return Err(StoreError::corrupted(format!(
                "transparency log node (level {}, index {}) does not match its recomputed hash",
                id.level, id.index
            )));
        }
    }
    if stored_nodes != memory.store().node_count() as u64 {
        return Err(StoreError::corrupted(format!(
            "the transparency log stores {stored_nodes} nodes, its leaves make {}",
            memory.store().node_count()
        )));
    }
    report.log_leaves = memory.size();

    // Pending records are opaque; only their keys (ids) have a shape to check.
    for item in db.iterator_cf(cf(db, CF_PENDING)?, IteratorMode::Start) {
        codec::decode_id(&item?.0, "pending record key")?;
    }
    Ok(report)
}
