//! Blocks: applying a block's transactions in order ([`Ledger::apply_block`]), building one
//! from candidates ([`Ledger::build_block`]), and the application header that the proposer
//! puts in the block and every validator rebuilds ([`build_app_header`],
//! [`Ledger::verify_block`]).
//!
//! A block is valid only if **every** transaction passes its check, in order, at the state
//! left by the previous ones; the proposer includes only transactions that pass in sequence.
//! Each committed transaction appends one leaf, `SHA-256(0x00 || tx bytes)`, to the
//! transparency log (RFC 6962).

use maat_crypto::hash::Hash32;
use maat_crypto::merkle::{Frontier, leaf_hash};
use maat_proto::v1;
use maat_proto::{Message, TxId};

use crate::rejection::{Rejection, TxError};
use crate::state::{Overlay, StateError, StateView, Write, keys};
use crate::tx::{Ledger, TxEffects, TxSubject};

/// Signatures a caller already verified (typically the mempool's [`crate::VerifiedTx`]
/// tokens), so a validator does not verify them again. Keyed by the **full transaction
/// bytes** (signature included): a proposer cannot swap in another signature for a known
/// TxId.
pub trait KnownSignatures {
    /// The fingerprint of the key under which the signature of exactly `tx_bytes` verified.
    fn verified_key(&self, tx_bytes: &[u8]) -> Option<[u8; 32]>;
}

/// Nothing known: verify every signature.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoKnownSignatures;

impl KnownSignatures for NoKnownSignatures {
    fn verified_key(&self, _: &[u8]) -> Option<[u8; 32]> {
        None
    }
}

/// Why a block is invalid (or could not be evaluated).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// More transactions than `max_block_txs`.
    #[error("block has {count} transactions, at most {max}")]
    TooManyTxs {
        /// The block's.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More transaction bytes than `max_block_bytes`.
    #[error("block has {bytes} bytes of transactions, at most {max}")]
    TooLarge {
        /// The block's.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A transaction fails its check at its position.
    #[error("transaction {index} ({}) is rejected: {rejection}", tx_id.map_or_else(|| "undecodable".to_owned(), |id| id.to_hex()))]
    TxRejected {
        /// Position in the block.
        index: usize,
        /// Its id, when it decoded.
        tx_id: Option<TxId>,
        /// Why.
        rejection: Rejection,
    },
    /// The proposer's application header is not the one the block produces.
    #[error("app header field `{field}` differs: block says {claimed}, execution gives {computed}")]
    HeaderMismatch {
        /// The first differing field.
        field: &'static str,
        /// The proposer's value (hex for bytes).
        claimed: String,
        /// The recomputed value.
        computed: String,
    },
    /// The transparency log cannot grow (2^64 - 1 leaves).
    #[error("the transparency log is full")]
    LogFull,
    /// The state could not be read: no verdict.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One applied transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedTx {
    /// Checks passed and state changes made.
    pub effects: TxEffects,
    /// Its index in the transparency log.
    pub log_index: u64,
    /// `SHA-256(0x00 || tx bytes)`.
    pub leaf_hash: Hash32,
    /// Its encoded size.
    pub size: usize,
}

/// Everything the node needs to commit a block in one storage batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The block time it was applied at.
    pub block_time_ms: u64,
    /// The transactions, in block order.
    pub txs: Vec<AppliedTx>,
    /// The block's state changes, sorted by key, one per key.
    pub writes: Vec<Write>,
    /// The log leaves appended, in order (also in `txs`).
    pub log_leaves: Vec<Hash32>,
    /// The log after the block.
    pub log: Frontier,
    /// The application header.
    pub header: v1::AppHeader,
}

impl BlockOutcome {
    /// The header's canonical bytes.
    #[must_use]
    pub fn header_bytes(&self) -> Vec<u8> {
        self.header.encode_to_vec()
    }

    /// The transaction ids in block order.
    #[must_use]
    pub fn tx_ids(&self) -> Vec<TxId> {
        self.txs.iter().map(|t| t.effects.tx_id).collect()
    }
}

/// A block a proposer assembled from candidates.
#[derive(Clone, Debug)]
pub struct BuiltBlock {
    /// The included transactions, in block order.
    pub txs: Vec<Vec<u8>>,
    /// Their outcome (with the header to propose).
    pub outcome: BlockOutcome,
    /// Candidates refused, by their index among the candidates (drop them from the mempool).
    /// Candidates that merely did not fit are neither included nor listed.
    pub rejected: Vec<(usize, Rejection)>,
}

/// The application header of a block with these transaction ids, this log after the block
/// and these (sorted) state writes. The one definition both proposer and validators use.
#[must_use]
pub fn build_app_header(tx_ids: &[TxId], log: &Frontier, writes: &[Write]) -> v1::AppHeader {
    v1::AppHeader {
        tx_root: tx_root(tx_ids).0.to_vec(),
        tx_count: tx_ids.len() as u64,
        log_size: log.size(),
        log_root: log.root().0.to_vec(),
        state_writes_hash: state_writes_hash(writes).to_vec(),
    }
}

/// RFC 6962 Merkle root (SHA-256) with the 32-byte TxIds as leaf data, in block order, so
/// that `maat_crypto::merkle` proves a transaction's membership in a block. The empty block's
/// root is SHA-256 of the empty string.
#[must_use]
pub fn tx_root(tx_ids: &[TxId]) -> Hash32 {
    let mut f = Frontier::new();
    for id in tx_ids {
        // Cannot fail below 2^64 - 1 leaves.
        let _ = f.push(leaf_hash(id.as_bytes()));
    }
    f.root()
}

/// `blake3("maat/state-writes/v1" || 0x00 || canonical StateWrites)` of sorted writes.
#[must_use]
pub fn state_writes_hash(writes: &[Write]) -> [u8; 32] {
    let msg = v1::StateWrites {
        writes: writes
            .iter()
            .map(|(k, v)| v1::StateWrite {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
    };
    maat_crypto::blake3_id(maat_proto::ids::kind::STATE_WRITES, &msg.encode_to_vec())
}

/// Compares a proposed header with the recomputed one, field by field.
///
/// # Errors
/// [`BlockError::HeaderMismatch`] naming the first differing field.
pub fn verify_app_header(
    claimed: &v1::AppHeader,
    computed: &v1::AppHeader,
) -> Result<(), BlockError> {
    let mismatch = |field: &'static str, a: String, b: String| BlockError::HeaderMismatch {
        field,
        claimed: a,
        computed: b,
    };
    if claimed.tx_root != computed.tx_root {
        return Err(mismatch(
            "tx_root",
            hex::encode(&claimed.tx_root),
            hex::encode(&computed.tx_root),
        ));
    }
    if claimed.tx_count != computed.tx_count {
        return Err(mismatch(
            "tx_count",
            claimed.tx_count.to_string(),
            computed.tx_count.to_string(),
        ));
    }
    if claimed.log_size != computed.log_size {
        return Err(mismatch(
            "log_size",
            claimed.log_size.to_string(),
            computed.log_size.to_string(),
        ));
    }
    if claimed.log_root != computed.log_root {
        return Err(mismatch(
            "log_root",
            hex::encode(&claimed.log_root),
            hex::encode(&computed.log_root),
        ));
    }
    if claimed.state_writes_hash != computed.state_writes_hash {
        return Err(mismatch(
            "state_writes_hash",
            hex::encode(&claimed.state_writes_hash),
            hex::encode(&computed.state_writes_hash),
        ));
    }
    // Equal fields but unequal messages cannot happen today; stay exact if fields are added.
    if claimed != computed {
        return Err(mismatch(
            "header",
            format!("{claimed:?}"),
            format!("{computed:?}"),
        ));
    }
    Ok(())
}

/// Applies transactions one by one over a view; shared by apply and build.
struct Builder<'a> {
    ledger: &'a Ledger,
    overlay: Overlay<&'a dyn StateView>,
    log: Frontier,
    block_time_ms: u64,
    txs: Vec<AppliedTx>,
    leaves: Vec<Hash32>,
    bytes: usize,
}

impl<'a> Builder<'a> {
    fn new(
        ledger: &'a Ledger,
        view: &'a dyn StateView,
        block_time_ms: u64,
        log: &Frontier,
    ) -> Self {
        Builder {
            ledger,
            overlay: Overlay::new(view),
            log: log.clone(),
            block_time_ms,
            txs: Vec::new(),
            leaves: Vec::new(),
            bytes: 0,
        }
    }

    /// Checks and applies one transaction; on error nothing changes.
    fn push(
        &mut self,
        bytes: &[u8],
        known: &dyn KnownSignatures,
    ) -> Result<(), (Option<TxId>, TxError)> {
        let tx = self.ledger.decode(bytes).map_err(|r| (None, r.into()))?;
        let verified = known.verified_key(bytes);
        let mut effects = self
            .ledger
            .apply(
                &mut self.overlay,
                &tx,
                verified.as_ref(),
                self.block_time_ms,
            )
            .map_err(|e| (Some(tx.id()), e))?;
        let leaf = leaf_hash(bytes);
        let log_index = self.log.size();
        if let TxSubject::Attestation {
            predicate_type,
            subjects,
            signers,
            statement_sha256,
        } = &effects.subject
        {
            // Only block application knows log indexes: certificates cite attestations by one.
            let rec = v1::AttestationRecord {
                log_index,
                tx_id: effects.tx_id.0.to_vec(),
                predicate_type: predicate_type.clone(),
                subjects: subjects.clone(),
                signers: signers.clone(),
                statement_sha256: statement_sha256.to_vec(),
            };
            let write = (keys::attestation(log_index), Some(rec.encode_to_vec()));
            self.overlay.extend([write.clone()]);
            effects.writes.push(write);
        }
        // Unreachable before 2^64 - 1 leaves; then the block cannot be applied at all.
        self.log.push(leaf).map_err(|_| {
            (
                Some(tx.id()),
                TxError::State(StateError::Read("the transparency log is full".into())),
            )
        })?;
        self.leaves.push(leaf);
        self.bytes += bytes.len();
        self.txs.push(AppliedTx {
            effects,
            log_index,
            leaf_hash: leaf,
            size: bytes.len(),
        });
        Ok(())
    }

    fn finish(self) -> BlockOutcome {
        let writes = self.overlay.into_writes();
        let ids: Vec<TxId> = self.txs.iter().map(|t| t.effects.tx_id).collect();
        let header = build_app_header(&ids, &self.log, &writes);
        BlockOutcome {
            block_time_ms: self.block_time_ms,
            txs: self.txs,
            writes,
            log_leaves: self.leaves,
            log: self.log,
            header,
        }
    }
}

impl Ledger {
    fn block_limits(&self) -> (usize, usize) {
        let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        (
            to_usize(self.params().max_block_txs),
            to_usize(self.params().max_block_bytes),
        )
    }

    /// Applies a block's transactions in order at `view` (the state after the block's
    /// parent: committed state, or an [`Overlay`] stack over it for pending ancestors) and
    /// the log `log` after the parent.
    ///
    /// # Errors
    /// [`BlockError`]: the block is invalid (do not vote for it) or the state unreadable.
    pub fn apply_block<T: AsRef<[u8]>>(
        &self,
        view: &dyn StateView,
        block_time_ms: u64,
        txs: &[T],
        log: &Frontier,
    ) -> Result<BlockOutcome, BlockError> {
        self.apply_block_with(view, block_time_ms, txs, log, &NoKnownSignatures)
    }

    /// As [`Self::apply_block`], skipping signatures `known` already verified.
    ///
    /// # Errors
    /// See [`Self::apply_block`].
    pub fn apply_block_with<T: AsRef<[u8]>>(
        &self,
        view: &dyn StateView,
        block_time_ms: u64,
        txs: &[T],
        log: &Frontier,
        known: &dyn KnownSignatures,
    ) -> Result<BlockOutcome, BlockError> {
        let (max_txs, max_bytes) = self.block_limits();
        if txs.len() > max_txs {
            return Err(BlockError::TooManyTxs {
                count: txs.len(),
                max: max_txs,
            });
        }
        let total: usize = txs
            .iter()
            .map(|t| t.as_ref().len())
            .fold(0, usize::saturating_add);
        if total > max_bytes {
            return Err(BlockError::TooLarge {
                bytes: total,
                max: max_bytes,
            });
        }
        if log
            .size()
            .checked_add(txs.len() as u64)
            .is_none_or(|n| n == u64::MAX)
        {
            return Err(BlockError::LogFull);
        }
        let mut b = Builder::new(self, view, block_time_ms, log);
        for (index, tx) in txs.iter().enumerate() {
            b.push(tx.as_ref(), known).map_err(|(tx_id, e)| match e {
                TxError::Rejected(rejection) => BlockError::TxRejected {
                    index,
                    tx_id,
                    rejection,
                },
                TxError::State(s) => BlockError::State(s),
            })?;
        }
        Ok(b.finish())
    }

    /// Applies a proposed block and checks the proposer's application header against the
    /// result: what a validator runs before voting.
    ///
    /// # Errors
    /// As [`Self::apply_block`], plus [`BlockError::HeaderMismatch`].
    pub fn verify_block<T: AsRef<[u8]>>(
        &self,
        view: &dyn StateView,
        block_time_ms: u64,
        txs: &[T],
        log: &Frontier,
        claimed: &v1::AppHeader,
        known: &dyn KnownSignatures,
    ) -> Result<BlockOutcome, BlockError> {
        let outcome = self.apply_block_with(view, block_time_ms, txs, log, known)?;
        verify_app_header(claimed, &outcome.header)?;
        Ok(outcome)
    }

    /// Builds a block from `candidates` in order: each one that passes at the state left by
    /// those already included is included, until the block's count or byte limit; one that
    /// fails is reported in [`BuiltBlock::rejected`]; one that does not fit is skipped.
    ///
    /// # Errors
    /// [`BlockError::State`] or [`BlockError::LogFull`] only: no candidate makes the block
    /// invalid.
    pub fn build_block<I>(
        &self,
        view: &dyn StateView,
        block_time_ms: u64,
        candidates: I,
        log: &Frontier,
        known: &dyn KnownSignatures,
    ) -> Result<BuiltBlock, BlockError>
    where
        I: IntoIterator<Item = Vec<u8>>,
    {
        let (max_txs, max_bytes) = self.block_limits();
        let mut b = Builder::new(self, view, block_time_ms, log);
        let mut included = Vec::new();
        let mut rejected = Vec::new();
        for (i, tx) in candidates.into_iter().enumerate() {
            if included.len() >= max_txs {
                break;
            }
            if b.bytes.saturating_add(tx.len()) > max_bytes {
                continue;
            }
            if b.log.size() >= u64::MAX - 1 {
                return Err(BlockError::LogFull);
            }
            match b.push(&tx, known) {
                Ok(()) => included.push(tx),
                Err((_, TxError::Rejected(r))) => rejected.push((i, r)),
                Err((_, TxError::State(s))) => return Err(BlockError::State(s)),
            }
        }
        Ok(BuiltBlock {
            txs: included,
            outcome: b.finish(),
            rejected,
        })
    }
}
