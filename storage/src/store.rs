//! [`Store`]: opening, the atomic commit, and the reads.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use maat_crypto::Hash32;
use maat_crypto::merkle::{MerkleError, MerkleLog};
use rocksdb::{
    BlockBasedOptions, BottommostLevelCompaction, ColumnFamilyDescriptor, CompactOptions, DB,
    DBCompressionType, DBRecoveryMode, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

use crate::codec::{
    self, FORMAT, META_FORMAT, META_GENESIS, META_HEAD, META_PROOF_INDEXES, SAFETY_KEY, decode_pos,
    height_key, index_key, pos_key,
};
use crate::error::{Result, StoreError};
use crate::nodes::{NodeStoreError, RocksNodes};
use crate::types::{
    AuditIndexEntry, CommitBatch, CommitMeta, DiskUsage, FinalityRecord, Id, Order, StoreOptions,
    StoredBlock, TxPage, TxPos, TxQuery, TxRecord, VerifyReport,
};
use crate::verify;
use crate::{
    ALL_CFS, CF_BLOCK_IDS, CF_BLOCKS, CF_CHECKPOINTS, CF_FINALITY, CF_IDX_AUDIT, CF_IDX_DEPLOYMENT,
    CF_IDX_SERVICE_ENV, CF_IDX_SUBJECT, CF_LOG, CF_META, CF_PENDING, CF_QCS, CF_SAFETY, CF_STATE,
    CF_TX_IDS, CF_TXS, cf,
};

/// The node's database: committed blocks, their QCs, transactions and indexes, ledger state,
/// the transparency log, and consensus safety data. See the crate docs for the layout.
///
/// Reads take `&self` and may run on any thread; commits are serialised by an internal lock.
pub struct Store {
    db: Arc<DB>,
    path: PathBuf,
    state: Mutex<CommitState>,
}

/// What the commit path keeps in memory: the head and the log's right edge.
struct CommitState {
    head: Option<CommitMeta>,
    log: MerkleLog<RocksNodes>,
    /// Set when a failed write left `log` ahead of the database and it could not be reloaded.
    broken: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Every write that matters is synced: an acknowledged commit or safety record survives a crash.
fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

fn cf_options(name: &str, write_buffer_size: Option<usize>) -> Options {
    let mut o = Options::default();
    // LZ4 is cheap; RocksDB stores a block uncompressed when compression does not pay, so the
    // incompressible parts (signatures, hashes) cost nothing extra.
    o.set_compression_type(DBCompressionType::Lz4);
    if let Some(size) = write_buffer_size {
        o.set_write_buffer_size(size);
        o.set_target_file_size_base(size as u64);
        o.set_max_bytes_for_level_base(size as u64 * 4);
    }
    // Point lookups by random 32-byte ids (and the duplicate check on every commit) mostly miss
    // or hit once: a bloom filter saves a disk read per miss. `idx_audit` is probed for every
    // audit record committed (the duplicate check), and almost always misses.
    if matches!(
        name,
        CF_TX_IDS | CF_BLOCK_IDS | CF_STATE | CF_PENDING | CF_IDX_AUDIT
    ) {
        let mut t = BlockBasedOptions::default();
        t.set_bloom_filter(10.0, false);
        o.set_block_based_table_factory(&t);
    }
    o
}

/// Maps a log error: a missing or unreadable node is corruption, other errors stay log errors.
fn log_error(e: MerkleError) -> StoreError {
    match e {
        MerkleError::MissingNode(id) => StoreError::corrupted(format!(
            "transparency log node (level {}, index {}) is missing",
            id.level, id.index
        )),
        MerkleError::Store(inner) => match inner.downcast::<NodeStoreError>() {
            Ok(b) => match *b {
                NodeStoreError::Db(e) => StoreError::Db(e),
                NodeStoreError::Corrupt(id) => StoreError::corrupted(format!(
                    "transparency log node (level {}, index {}) is not a 32-byte hash",
                    id.level, id.index
                )),
            },
            Err(other) => StoreError::corrupted(format!("transparency log: {other}")),
        },
        other => StoreError::Log(other),
    }
}

impl Store {
    /// Opens (or creates) the database at `path` for the chain with `options.genesis_hash`.
    ///
    /// A new database records the genesis hash. An existing one must carry the same genesis hash
    /// and pass the consistency check (head block present and matching, nothing above it,
    /// transparency-log size and root matching the head); otherwise it is refused.
    ///
    /// # Errors
    /// [`StoreError::ForeignGenesis`], [`StoreError::Corrupted`],
    /// [`StoreError::UnsupportedFormat`], or [`StoreError::Db`] (e.g. another process holds the
    /// database).
    pub fn open(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_paranoid_checks(true);
        // With every write synced, a crash can only tear a write that was never acknowledged;
        // point-in-time recovery replays the log up to the last intact write batch.
        db_opts.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
        // The small column families (meta, safety) rarely fill a memtable, and a write-ahead
        // log file is kept until every column family with data in it is flushed: cap the log so
        // that RocksDB flushes them instead of keeping gigabytes of old log.
        db_opts.set_max_total_wal_size(128 << 20);
        db_opts.set_keep_log_file_num(4);
        db_opts.set_max_log_file_size(4 << 20);
        let descriptors = std::iter::once("default")
            .chain(ALL_CFS.iter().copied())
            .map(|name| {
                ColumnFamilyDescriptor::new(name, cf_options(name, options.write_buffer_size))
            });
        let db = Arc::new(DB::open_cf_descriptors(&db_opts, &path, descriptors)?);

        let meta = cf(&db, CF_META)?;
        let format = db.get_cf(meta, META_FORMAT)?;
        let genesis = db.get_cf(meta, META_GENESIS)?;
        let head = match (format, genesis) {
            (None, None) => {
                verify::check_no_data(&db, "the database has no genesis record")?;
                let mut wb = WriteBatch::default();
                wb.put_cf(meta, META_FORMAT, FORMAT.as_bytes());
                wb.put_cf(meta, META_GENESIS, options.genesis_hash);
                wb.put_cf(meta, META_PROOF_INDEXES, []);
                db.write_opt(wb, &synced())?;
                None
            }
            (Some(format), Some(genesis)) => {
                if format != FORMAT.as_bytes() {
                    return Err(StoreError::UnsupportedFormat {
                        found: String::from_utf8_lossy(&format).into_owned(),
                        supported: FORMAT,
                    });
                }
                let stored = codec::decode_id(&genesis, "meta record 'genesis'")?;
                if stored != options.genesis_hash {
                    return Err(StoreError::ForeignGenesis {
                        path,
                        stored: Hash32(stored),
                        expected: Hash32(options.genesis_hash),
                    });
                }
                db.get_cf(meta, META_HEAD)?
                    .map(|v| codec::decode_head(&v))
                    .transpose()?
            }
            (Some(_), None) => {
                return Err(StoreError::corrupted("meta record 'genesis' is missing"));
            }
            (None, Some(_)) => {
                return Err(StoreError::corrupted("meta record 'format' is missing"));
            }
        };

        verify::check_head(&db, head.as_ref())?;
        let log_size = head.map_or(0, |h| h.log_size);
        let log = MerkleLog::open(RocksNodes::new(db.clone(), log_size)).map_err(log_error)?;
        let expected_root = head.map_or(maat_crypto::merkle::EMPTY_ROOT, |h| h.log_root);
        if log.root() != expected_root {
            return Err(StoreError::corrupted(format!(
                "transparency log root {} recomputed from the stored nodes differs from the \
                 committed root {expected_root} (size {log_size})",
                log.root()
            )));
        }
        Ok(Self {
            db,
            path,
            state: Mutex::new(CommitState {
                head,
                log,
                broken: false,
            }),
        })
    }

    /// The database directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<MutexGuard<'_, CommitState>> {
        self.state.lock().map_err(|_| StoreError::Poisoned)
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily> {
        cf(&self.db, name)
    }

    // -----------------------------------------------------------------------------------------
    // Commit

    /// Commits one block: block, QC, transactions and their indexes, state changes,
    /// transparency-log nodes and the new head, in one atomic write batch, synced before this
    /// returns. Either all of it is durable or none of it.
    ///
    /// # Errors
    /// [`StoreError::HeightMismatch`], [`StoreError::DuplicateBlock`],
    /// [`StoreError::DuplicateTx`], [`StoreError::InvalidBatch`] (also for an audit record
    /// `(agent, sequence)` already committed or twice in the batch; nothing written), or a
    /// database error.
    pub fn commit(&self, b: &CommitBatch) -> Result<CommitMeta> {
        let mut st = self.lock()?;
        if st.broken {
            return Err(StoreError::Poisoned);
        }
        self.validate(&st, b)?;

        let h = b.height;
        let mut wb = WriteBatch::default();
        let block_len = u32::try_from(b.block_bytes.len())
            .map_err(|_| StoreError::InvalidBatch("block larger than 4 GiB".into()))?;
        let tx_count = u32::try_from(b.txs.len())
            .map_err(|_| StoreError::InvalidBatch("more than 2^32 transactions".into()))?;
        // Transactions are stored once, in `txs`; the block keeps only what is around them.
        let (cuts, skeleton) = codec::cut_block(
            &b.block_bytes,
            (0u32..).zip(b.txs.iter().map(|t| t.tx_bytes.as_slice())),
        );
        wb.put_cf(
            self.cf(CF_BLOCKS)?,
            height_key(h),
            codec::encode_block(&b.block_id, block_len, tx_count, &cuts, &skeleton),
        );
        wb.put_cf(self.cf(CF_BLOCK_IDS)?, b.block_id, height_key(h));
        wb.put_cf(self.cf(CF_QCS)?, height_key(h), &b.commit_qc_bytes);
        if let Some(f) = &b.finality {
            wb.put_cf(
                self.cf(CF_FINALITY)?,
                height_key(h),
                codec::encode_finality(&f.child_header, &f.child_qc)?,
            );
        }

        let (txs, tx_ids) = (self.cf(CF_TXS)?, self.cf(CF_TX_IDS)?);
        let (by_dep, by_svc) = (self.cf(CF_IDX_DEPLOYMENT)?, self.cf(CF_IDX_SERVICE_ENV)?);
        let (by_audit, by_subject) = (self.cf(CF_IDX_AUDIT)?, self.cf(CF_IDX_SUBJECT)?);
        for (position, tx) in (0u32..).zip(&b.txs) {
            let pos = TxPos {
                height: h,
                position,
            };
            wb.put_cf(
                txs,
                pos_key(pos),
                codec::encode_tx(&tx.tx_id, tx.log_index, &tx.tx_bytes),
            );
            wb.put_cf(tx_ids, tx.tx_id, pos_key(pos));
            if let Some(dep) = &tx.deployment_id {
                wb.put_cf(by_dep, index_key(&codec::deployment_prefix(dep)?, pos), []);
            }
            if let Some((service, env)) = &tx.service_env {
                let prefix = codec::service_env_prefix(service, env)?;
                wb.put_cf(by_svc, index_key(&prefix, pos), []);
            }
            if let Some(a) = &tx.audit_record {
                let key = codec::audit_key(&codec::audit_prefix(&a.agent_id)?, a.sequence);
                wb.put_cf(by_audit, key, pos_key(pos));
            }
            // A digest listed twice in one transaction is one index entry.
            let mut subjects: Vec<&str> = tx.subjects.iter().map(String::as_str).collect();
            subjects.sort_unstable();
            subjects.dedup();
            for digest in subjects {
                wb.put_cf(
                    by_subject,
                    index_key(&codec::subject_prefix(digest)?, pos),
                    [],
                );
            }
        }

        let state = self.cf(CF_STATE)?;
        for (key, value) in &b.state_changes {
            match value {
                Some(v) => wb.put_cf(state, key, v),
                None => wb.delete_cf(state, key),
            }
        }
        let pending = self.cf(CF_PENDING)?;
        for id in &b.remove_pending {
            wb.delete_cf(pending, id);
        }

        // The log's new nodes are staged by `RocksNodes` and written in this same batch.
        let old_size = st.log.size();
        st.log
            .append_leaf_hashes(&b.log_leaves)
            .map_err(log_error)?;
        let log_cf = self.cf(CF_LOG)?;
        for (id, hash) in st.log.store().take_staged() {
            wb.put_cf(log_cf, codec::node_key(id), hash.0);
        }
        let meta = CommitMeta {
            height: h,
            block_id: b.block_id,
            log_size: st.log.size(),
            log_root: st.log.root(),
            first_height: st.head.map_or(h, |m| m.first_height),
            tx_count: st.head.map_or(0, |m| m.tx_count) + u64::from(tx_count),
        };
        wb.put_cf(self.cf(CF_META)?, META_HEAD, codec::encode_head(&meta));

        match self.db.write_opt(wb, &synced()) {
            Ok(()) => {
                st.head = Some(meta);
                Ok(meta)
            }
            Err(e) => {
                // The log in memory is ahead of the database: reload it from what is stored.
                match MerkleLog::open(RocksNodes::new(self.db.clone(), old_size)) {
                    Ok(log) => st.log = log,
                    Err(_) => st.broken = true,
                }
                Err(e.into())
            }
        }
    }

    /// Checks a batch before anything is written; every refusal leaves the store unchanged.
    fn validate(&self, st: &CommitState, b: &CommitBatch) -> Result<()> {
        if let Some(head) = st.head {
            let expected = head
                .height
                .checked_add(1)
                .ok_or_else(|| StoreError::InvalidBatch("height overflow".into()))?;
            if b.height != expected {
                return Err(StoreError::HeightMismatch {
                    expected,
                    got: b.height,
                });
            }
        }
        if self
            .db
            .get_pinned_cf(self.cf(CF_BLOCK_IDS)?, b.block_id)?
            .is_some()
        {
            return Err(StoreError::DuplicateBlock(Hash32(b.block_id)));
        }
        let tx_ids = self.cf(CF_TX_IDS)?;
        let mut seen = HashSet::with_capacity(b.txs.len());
        for tx in &b.txs {
            if !seen.insert(tx.tx_id) || self.db.get_pinned_cf(tx_ids, tx.tx_id)?.is_some() {
                return Err(StoreError::DuplicateTx(Hash32(tx.tx_id)));
            }
        }
        // An audit chain position names one record forever: never overwrite one.
        let by_audit = self.cf(CF_IDX_AUDIT)?;
        let mut chain_keys = HashSet::new();
        for a in b.txs.iter().filter_map(|t| t.audit_record.as_ref()) {
            let key = codec::audit_key(&codec::audit_prefix(&a.agent_id)?, a.sequence);
            let why = if self.db.get_pinned_cf(by_audit, &key)?.is_some() {
                "is already committed"
            } else if !chain_keys.insert(key) {
                "occurs twice in the batch"
            } else {
                continue;
            };
            return Err(StoreError::InvalidBatch(format!(
                "audit record {} of agent {:?} {why}",
                a.sequence, a.agent_id
            )));
        }
        let old_size = st.log.size();
        let leaves = u64::try_from(b.log_leaves.len()).unwrap_or(u64::MAX);
        let new_size = old_size
            .checked_add(leaves)
            .ok_or_else(|| StoreError::InvalidBatch("transparency log overflow".into()))?;
        // Log indexes are assigned in block order from the log's current size.
        let mut next = old_size;
        for tx in &b.txs {
            if tx.log_index < next || tx.log_index >= new_size {
                return Err(StoreError::InvalidBatch(format!(
                    "transaction {} has log index {}, expected one in [{next}, {new_size})",
                    Hash32(tx.tx_id),
                    tx.log_index
                )));
            }
            next = tx.log_index + 1;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Finality records and checkpoints

    /// The lowest committed block at or above `height` that was committed directly, with its
    /// [`FinalityRecord`]: the anchor of a finality proof for anything at `height`.
    ///
    /// # Errors
    /// A database error, or a damaged record.
    pub fn finality_at_or_above(&self, height: u64) -> Result<Option<(u64, FinalityRecord)>> {
        let cf = self.cf(CF_FINALITY)?;
        let key = height_key(height);
        let mut it = self
            .db
            .iterator_cf(cf, IteratorMode::From(&key, Direction::Forward));
        match it.next() {
            None => Ok(None),
            Some(item) => {
                let (k, v) = item?;
                let h = codec::decode_height_key(&k, "finality key")?;
                let (child_header, child_qc) = codec::decode_finality(&v)?;
                Ok(Some((
                    h,
                    FinalityRecord {
                        child_header,
                        child_qc,
                    },
                )))
            }
        }
    }

    /// Stores a cosigned checkpoint for `tree_size` (replacing one with fewer cosignatures),
    /// synced.
    ///
    /// # Errors
    /// A database error.
    pub fn put_checkpoint(&self, tree_size: u64, note: &str) -> Result<()> {
        self.db.put_cf_opt(
            self.cf(CF_CHECKPOINTS)?,
            height_key(tree_size),
            note.as_bytes(),
            &synced(),
        )?;
        Ok(())
    }

    /// The stored checkpoint for exactly `tree_size`, or with `None` the one with the largest
    /// tree size: `(tree size, note)`.
    ///
    /// # Errors
    /// A database error, or a note that is not UTF-8.
    pub fn checkpoint(&self, tree_size: Option<u64>) -> Result<Option<(u64, String)>> {
        let cf = self.cf(CF_CHECKPOINTS)?;
        let item = match tree_size {
            Some(size) => self
                .db
                .get_cf(cf, height_key(size))?
                .map(|v| (height_key(size).to_vec(), v)),
            None => match self.db.iterator_cf(cf, IteratorMode::End).next() {
                None => None,
                Some(item) => {
                    let (k, v) = item?;
                    Some((k.to_vec(), v.to_vec()))
                }
            },
        };
        let Some((k, v)) = item else {
            return Ok(None);
        };
        let size = codec::decode_height_key(&k, "checkpoint key")?;
        let note = String::from_utf8(v)
            .map_err(|_| StoreError::corrupted(format!("checkpoint {size} is not UTF-8")))?;
        Ok(Some((size, note)))
    }

    // -----------------------------------------------------------------------------------------
    // Safety data and pending records

    /// Stores the consensus safety record, synced: when this returns, a crash cannot lose it.
    ///
    /// # Errors
    /// A database error.
    pub fn put_safety(&self, bytes: &[u8]) -> Result<()> {
        let mut wb = WriteBatch::default();
        wb.put_cf(self.cf(CF_SAFETY)?, SAFETY_KEY, bytes);
        Ok(self.db.write_opt(wb, &synced())?)
    }

    /// The last stored safety record.
    ///
    /// # Errors
    /// A database error.
    pub fn safety(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_SAFETY)?, SAFETY_KEY)?)
    }

    /// Stores an uncommitted record (a pending block or QC) under its id, synced.
    ///
    /// # Errors
    /// A database error.
    pub fn put_pending(&self, id: &Id, bytes: &[u8]) -> Result<()> {
        let mut wb = WriteBatch::default();
        wb.put_cf(self.cf(CF_PENDING)?, id, bytes);
        Ok(self.db.write_opt(wb, &synced())?)
    }

    /// A pending record by id.
    ///
    /// # Errors
    /// A database error.
    pub fn pending(&self, id: &Id) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_PENDING)?, id)?)
    }

    /// Deletes a pending record, synced.
    ///
    /// # Errors
    /// A database error.
    pub fn delete_pending(&self, id: &Id) -> Result<()> {
        let mut wb = WriteBatch::default();
        wb.delete_cf(self.cf(CF_PENDING)?, id);
        Ok(self.db.write_opt(wb, &synced())?)
    }

    /// Every pending record, by id order (to reload the consensus block tree after a restart).
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] for a key that is not an id, or a database error.
    pub fn all_pending(&self) -> Result<Vec<(Id, Vec<u8>)>> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_PENDING)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            out.push((codec::decode_id(&k, "pending record key")?, v.into_vec()));
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Blocks and QCs

    /// The last committed block's summary (`None` before the first commit).
    ///
    /// # Errors
    /// [`StoreError::Poisoned`].
    pub fn meta(&self) -> Result<Option<CommitMeta>> {
        Ok(self.lock()?.head)
    }

    /// The block at `height`, its bytes exactly as committed.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] when its record or a transaction of it is damaged or missing.
    pub fn block(&self, height: u64) -> Result<Option<StoredBlock>> {
        let Some(value) = self
            .db
            .get_pinned_cf(self.cf(CF_BLOCKS)?, height_key(height))?
        else {
            return Ok(None);
        };
        let b = codec::decode_block(&value)?;
        let txs = self.txs_of(height, b.tx_count)?;
        let bytes = codec::rebuild_block(height, &b, |p| {
            txs.get(usize::try_from(p).ok()?)
                .map(|t| t.bytes.as_slice())
        })?;
        Ok(Some(StoredBlock {
            height,
            block_id: b.block_id,
            bytes,
        }))
    }

    /// The height of the committed block with this id.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] or a database error.
    pub fn block_height(&self, block_id: &Id) -> Result<Option<u64>> {
        self.db
            .get_pinned_cf(self.cf(CF_BLOCK_IDS)?, block_id)?
            .map(|v| codec::decode_height_key(&v, "block id index value"))
            .transpose()
    }

    /// The committed block with this id.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] (also when the id index points to a missing block).
    pub fn block_by_id(&self, block_id: &Id) -> Result<Option<StoredBlock>> {
        let Some(height) = self.block_height(block_id)? else {
            return Ok(None);
        };
        let block = self.block(height)?.ok_or_else(|| {
            StoreError::corrupted(format!(
                "block id {} points to height {height}, which has no block",
                Hash32(*block_id)
            ))
        })?;
        if block.block_id != *block_id {
            return Err(StoreError::corrupted(format!(
                "block id {} points to height {height}, which holds block {}",
                Hash32(*block_id),
                Hash32(block.block_id)
            )));
        }
        Ok(Some(block))
    }

    /// The QC that certifies the block at `height`.
    ///
    /// # Errors
    /// A database error.
    pub fn qc(&self, height: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_QCS)?, height_key(height))?)
    }

    /// The QC that certifies the committed block with this id.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] or a database error.
    pub fn qc_of_block(&self, block_id: &Id) -> Result<Option<Vec<u8>>> {
        match self.block_height(block_id)? {
            None => Ok(None),
            Some(h) => self
                .qc(h)?
                .map(Some)
                .ok_or_else(|| StoreError::corrupted(format!("the block at height {h} has no QC"))),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Transactions and indexes

    /// The transactions of the block at `height`, in block order (`None`: no such block).
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] or a database error.
    pub fn block_txs(&self, height: u64) -> Result<Option<Vec<TxRecord>>> {
        let Some(value) = self
            .db
            .get_pinned_cf(self.cf(CF_BLOCKS)?, height_key(height))?
        else {
            return Ok(None);
        };
        let b = codec::decode_block(&value)?;
        self.txs_of(height, b.tx_count).map(Some)
    }

    /// Reads the `count` transactions stored for `height`, checking there are exactly those.
    fn txs_of(&self, height: u64, count: u32) -> Result<Vec<TxRecord>> {
        let start = pos_key(TxPos {
            height,
            position: 0,
        });
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 16));
        let iter = self.db.iterator_cf(
            self.cf(CF_TXS)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            let pos = decode_pos(&k, "transaction key")?;
            if pos.height != height {
                break;
            }
            if u64::from(pos.position) != out.len() as u64 || pos.position >= count {
                return Err(StoreError::corrupted(format!(
                    "block at height {height} has an unexpected transaction at position {} \
                     (it has {count})",
                    pos.position
                )));
            }
            let t = codec::decode_tx(&v)?;
            out.push(TxRecord {
                tx_id: t.tx_id,
                pos,
                log_index: t.log_index,
                bytes: t.bytes.to_vec(),
            });
        }
        if out.len() as u64 != u64::from(count) {
            return Err(StoreError::corrupted(format!(
                "block at height {height} has {} of its {count} transactions",
                out.len()
            )));
        }
        Ok(out)
    }

    /// The transaction at a position.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] or a database error.
    pub fn tx_at(&self, pos: TxPos) -> Result<Option<TxRecord>> {
        let Some(v) = self.db.get_pinned_cf(self.cf(CF_TXS)?, pos_key(pos))? else {
            return Ok(None);
        };
        let t = codec::decode_tx(&v)?;
        Ok(Some(TxRecord {
            tx_id: t.tx_id,
            pos,
            log_index: t.log_index,
            bytes: t.bytes.to_vec(),
        }))
    }

    /// The committed transaction with this id: bytes, height, position, log index.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] (also when the id index and the transaction disagree).
    pub fn tx(&self, tx_id: &Id) -> Result<Option<TxRecord>> {
        let Some(v) = self.db.get_pinned_cf(self.cf(CF_TX_IDS)?, tx_id)? else {
            return Ok(None);
        };
        let pos = decode_pos(&v, "transaction id index value")?;
        match self.tx_at(pos)? {
            Some(rec) if rec.tx_id == *tx_id => Ok(Some(rec)),
            _ => Err(StoreError::corrupted(format!(
                "transaction {} is indexed at height {} position {}, which holds another or none",
                Hash32(*tx_id),
                pos.height,
                pos.position
            ))),
        }
    }

    /// Certificate transactions indexed under a deployment id, one page at a time.
    ///
    /// # Errors
    /// [`StoreError::InvalidBatch`] for an id longer than 65535 bytes, [`StoreError::Corrupted`],
    /// or a database error.
    pub fn txs_by_deployment(&self, deployment_id: &str, q: &TxQuery) -> Result<TxPage> {
        let prefix = codec::deployment_prefix(deployment_id)?;
        self.index_page(CF_IDX_DEPLOYMENT, &prefix, q)
    }

    /// Certificate transactions indexed under `(service, environment)`, one page at a time.
    ///
    /// # Errors
    /// As [`Store::txs_by_deployment`].
    pub fn txs_by_service_env(
        &self,
        service: &str,
        environment: &str,
        q: &TxQuery,
    ) -> Result<TxPage> {
        let prefix = codec::service_env_prefix(service, environment)?;
        self.index_page(CF_IDX_SERVICE_ENV, &prefix, q)
    }

    /// Transactions indexed under an attestation subject digest (as given at commit, e.g.
    /// `sha256:<hex>`), one page at a time.
    ///
    /// # Errors
    /// As [`Store::txs_by_deployment`].
    pub fn txs_by_subject(&self, digest: &str, q: &TxQuery) -> Result<TxPage> {
        let prefix = codec::subject_prefix(digest)?;
        self.index_page(CF_IDX_SUBJECT, &prefix, q)
    }

    /// The audit records of `agent_id` with sequence `>= from_sequence`, in sequence order, at
    /// most `limit` of them (at least one when any): `(sequence, record)`. Gaps in the sequence
    /// are returned as they are stored; the next page starts after the last sequence returned.
    ///
    /// # Errors
    /// [`StoreError::InvalidBatch`] for an agent id longer than 65535 bytes,
    /// [`StoreError::Corrupted`] (also for an entry pointing to no transaction), or a database
    /// error.
    pub fn audit_chain(
        &self,
        agent_id: &str,
        from_sequence: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TxRecord)>> {
        let prefix = codec::audit_prefix(agent_id)?;
        let seek = codec::audit_key(&prefix, from_sequence);
        let iter = self.db.iterator_cf(
            self.cf(CF_IDX_AUDIT)?,
            IteratorMode::From(&seek, Direction::Forward),
        );
        let limit = limit.max(1);
        let mut out = Vec::new();
        for item in iter {
            if out.len() == limit {
                break;
            }
            let (k, v) = item?;
            // The agent prefix is length-delimited: its keys are contiguous and no other's.
            let Some(suffix) = k.strip_prefix(prefix.as_slice()) else {
                break;
            };
            let sequence = codec::decode_audit_sequence(suffix)?;
            out.push((sequence, self.audit_target(agent_id, sequence, &v)?));
        }
        Ok(out)
    }

    /// The audit record of `agent_id` with exactly this sequence.
    ///
    /// # Errors
    /// As [`Store::audit_chain`].
    pub fn audit_record_at(&self, agent_id: &str, sequence: u64) -> Result<Option<TxRecord>> {
        let key = codec::audit_key(&codec::audit_prefix(agent_id)?, sequence);
        match self.db.get_pinned_cf(self.cf(CF_IDX_AUDIT)?, key)? {
            None => Ok(None),
            Some(v) => self.audit_target(agent_id, sequence, &v).map(Some),
        }
    }

    /// Whether the agent audit and subject indexes cover every stored transaction. False for a
    /// database created before those indexes existed, until [`Store::rebuild_proof_indexes`].
    ///
    /// # Errors
    /// A database error.
    pub fn proof_indexes_complete(&self) -> Result<bool> {
        Ok(self
            .db
            .get_cf(self.cf(CF_META)?, META_PROOF_INDEXES)?
            .is_some())
    }

    /// Rebuilds the agent audit and subject indexes from the stored transactions: `classify`
    /// says, for a transaction's bytes, its audit chain position and its subject digests (the
    /// store does not decode transactions). Idempotent; marks the indexes complete at the end.
    /// Holds the commit lock, so no commit interleaves. Returns the entries written.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] for an undecodable record, or a database error.
    pub fn rebuild_proof_indexes(
        &self,
        classify: impl Fn(&[u8]) -> (Option<AuditIndexEntry>, Vec<String>),
    ) -> Result<u64> {
        let _commits = self.lock()?;
        let (by_audit, by_subject) = (self.cf(CF_IDX_AUDIT)?, self.cf(CF_IDX_SUBJECT)?);
        let mut wb = WriteBatch::default();
        let mut entries = 0u64;
        for item in self.db.iterator_cf(self.cf(CF_TXS)?, IteratorMode::Start) {
            let (k, v) = item?;
            let pos = decode_pos(&k, "transaction key")?;
            let tx = codec::decode_tx(&v)?;
            let (audit, mut subjects) = classify(tx.bytes);
            if let Some(a) = audit {
                let key = codec::audit_key(&codec::audit_prefix(&a.agent_id)?, a.sequence);
                wb.put_cf(by_audit, key, pos_key(pos));
                entries += 1;
            }
            subjects.sort_unstable();
            subjects.dedup();
            for digest in subjects {
                wb.put_cf(
                    by_subject,
                    index_key(&codec::subject_prefix(&digest)?, pos),
                    [],
                );
                entries += 1;
            }
            if wb.len() >= 10_000 {
                self.db.write_opt(std::mem::take(&mut wb), &synced())?;
            }
        }
        wb.put_cf(self.cf(CF_META)?, META_PROOF_INDEXES, []);
        self.db.write_opt(wb, &synced())?;
        Ok(entries)
    }

    /// The highest sequence stored for `agent_id` (0 when it has none): the chain's length when
    /// its sequences start at 1 without gaps. One reverse seek.
    ///
    /// # Errors
    /// As [`Store::audit_chain`].
    pub fn audit_chain_length(&self, agent_id: &str) -> Result<u64> {
        let prefix = codec::audit_prefix(agent_id)?;
        let seek = codec::audit_key(&prefix, u64::MAX);
        let mut iter = self.db.iterator_cf(
            self.cf(CF_IDX_AUDIT)?,
            IteratorMode::From(&seek, Direction::Reverse),
        );
        match iter.next() {
            None => Ok(0),
            Some(item) => {
                let (k, _) = item?;
                match k.strip_prefix(prefix.as_slice()) {
                    Some(suffix) => codec::decode_audit_sequence(suffix),
                    None => Ok(0),
                }
            }
        }
    }

    /// The transaction an `idx_audit` value points to; one pointing nowhere is corruption.
    fn audit_target(&self, agent_id: &str, sequence: u64, value: &[u8]) -> Result<TxRecord> {
        let pos = decode_pos(value, "audit index value")?;
        self.tx_at(pos)?.ok_or_else(|| {
            StoreError::corrupted(format!(
                "audit record {sequence} of agent {agent_id:?} points to height {} position {}, \
                 which has no transaction",
                pos.height, pos.position
            ))
        })
    }

    fn index_page(&self, cf_name: &str, prefix: &[u8], q: &TxQuery) -> Result<TxPage> {
        let empty = TxPage {
            txs: Vec::new(),
            next: None,
        };
        let limit = q.limit.max(1);
        let mut lo = TxPos {
            height: *q.heights.start(),
            position: 0,
        };
        let mut hi = TxPos {
            height: *q.heights.end(),
            position: u32::MAX,
        };
        match (q.order, q.after) {
            (_, None) => {}
            (Order::Ascending, Some(a)) => match a.next() {
                Some(n) => lo = lo.max(n),
                None => return Ok(empty),
            },
            (Order::Descending, Some(a)) => match a.prev() {
                Some(p) => hi = hi.min(p),
                None => return Ok(empty),
            },
        }
        if lo > hi {
            return Ok(empty);
        }
        let seek = index_key(prefix, if q.order == Order::Ascending { lo } else { hi });
        let dir = match q.order {
            Order::Ascending => Direction::Forward,
            Order::Descending => Direction::Reverse,
        };
        let iter = self
            .db
            .iterator_cf(self.cf(cf_name)?, IteratorMode::From(&seek, dir));
        let mut txs = Vec::new();
        let mut more = false;
        for item in iter {
            let (k, _) = item?;
            // Keys with this prefix are contiguous; the prefix is length-delimited.
            let Some(suffix) = k.strip_prefix(prefix) else {
                break;
            };
            let pos = decode_pos(suffix, "index key")?;
            if pos < lo || pos > hi {
                break;
            }
            if txs.len() == limit {
                more = true;
                break;
            }
            let rec = self.tx_at(pos)?.ok_or_else(|| {
                StoreError::corrupted(format!(
                    "index {cf_name} points to height {} position {}, which has no transaction",
                    pos.height, pos.position
                ))
            })?;
            txs.push(rec);
        }
        let next = if more {
            txs.last().map(|t| t.pos)
        } else {
            None
        };
        Ok(TxPage { txs, next })
    }

    // -----------------------------------------------------------------------------------------
    // State

    /// The committed value of a state key.
    ///
    /// # Errors
    /// A database error.
    pub fn state_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_STATE)?, key)?)
    }

    /// Up to `limit` state entries whose key starts with `prefix`, in key order, strictly after
    /// `after` when given (pass the last key of the previous page).
    ///
    /// # Errors
    /// A database error.
    pub fn state_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = match after {
            Some(a) if a > prefix => a,
            _ => prefix,
        };
        let iter = self.db.iterator_cf(
            self.cf(CF_STATE)?,
            IteratorMode::From(start, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            if after.is_some_and(|a| *k <= *a) {
                continue;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Transparency log

    /// Number of log entries committed.
    ///
    /// # Errors
    /// [`StoreError::Poisoned`].
    pub fn log_size(&self) -> Result<u64> {
        Ok(self.lock()?.log.size())
    }

    /// The committed log's right edge: what the next block's log leaves are appended to.
    ///
    /// # Errors
    /// [`StoreError::Poisoned`].
    pub fn log_frontier(&self) -> Result<maat_crypto::merkle::Frontier> {
        Ok(self.lock()?.log.frontier().clone())
    }

    /// The committed log root.
    ///
    /// # Errors
    /// [`StoreError::Poisoned`].
    pub fn log_root(&self) -> Result<Hash32> {
        Ok(self.lock()?.log.root())
    }

    /// The root of the log's first `size` entries.
    ///
    /// # Errors
    /// [`StoreError::Log`] for a size above the log's, [`StoreError::Corrupted`].
    pub fn log_root_at(&self, size: u64) -> Result<Hash32> {
        self.lock()?.log.root_at(size).map_err(log_error)
    }

    /// The leaf hash of log entry `index`.
    ///
    /// # Errors
    /// [`StoreError::Log`] for an index out of range, [`StoreError::Corrupted`].
    pub fn log_leaf(&self, index: u64) -> Result<Hash32> {
        self.lock()?.log.leaf_hash_at(index).map_err(log_error)
    }

    /// RFC 6962 inclusion proof of entry `index` in the tree of the first `size` entries.
    ///
    /// # Errors
    /// [`StoreError::Log`] for an index or size out of range, [`StoreError::Corrupted`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash32>> {
        self.lock()?
            .log
            .inclusion_proof(index, size)
            .map_err(log_error)
    }

    /// RFC 6962 consistency proof between the trees of `old_size` and `new_size` entries.
    ///
    /// # Errors
    /// [`StoreError::Log`] for sizes out of order or range, [`StoreError::Corrupted`].
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash32>> {
        self.lock()?
            .log
            .consistency_proof(old_size, new_size)
            .map_err(log_error)
    }

    // -----------------------------------------------------------------------------------------
    // Maintenance

    /// Reads back everything committed and checks it: every block from the first to the head
    /// rebuilds, every transaction is indexed by id where it is, every index entry resolves, and
    /// the transparency log recomputed from its leaves matches every stored node and the head's
    /// root. O(database size): for tests, audits and `--verify` style tools, not for each start.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] naming the first inconsistency, or a database error.
    pub fn verify_full(&self) -> Result<VerifyReport> {
        // Holding the commit lock keeps the head and the records in step while they are read.
        let st = self.lock()?;
        verify::verify_full(self, &self.db, st.head.as_ref())
    }

    /// Flushes memtables and compacts every column family into its final level, so that
    /// [`Store::disk_usage`] reports the settled on-disk size.
    ///
    /// # Errors
    /// A database error.
    pub fn compact(&self) -> Result<()> {
        let mut opts = CompactOptions::default();
        opts.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        for name in ALL_CFS {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf)?;
            self.db
                .compact_range_cf_opt(cf, None::<&[u8]>, None::<&[u8]>, &opts);
        }
        Ok(())
    }

    /// Live SST bytes per column family and bytes still in memtables.
    ///
    /// # Errors
    /// A database error.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let mut per_cf = Vec::with_capacity(ALL_CFS.len());
        let mut memtable_bytes = 0;
        for name in ALL_CFS {
            let cf = self.cf(name)?;
            let sst = self
                .db
                .property_int_value_cf(cf, "rocksdb.live-sst-files-size")?
                .unwrap_or(0);
            memtable_bytes += self
                .db
                .property_int_value_cf(cf, "rocksdb.cur-size-all-mem-tables")?
                .unwrap_or(0);
            per_cf.push((*name, sst));
        }
        Ok(DiskUsage {
            per_cf,
            memtable_bytes,
        })
    }
}
