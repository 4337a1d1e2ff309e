//! [`MempoolError`]: why a transaction is not admitted, with a stable string and numeric code
//! per variant (what the RPC returns).

use maat_ledger::{Rejection, StateError, TxError};
use maat_proto::TxId;

/// Why [`crate::Mempool::admit`] refused a transaction.
///
/// [`Self::code`] and [`Self::numeric_code`] are stable (clients match on them); the
/// messages are for humans. A ledger [`Rejection`] keeps its own codes (1001-1499, see
/// [`Rejection::CODES`]); the mempool's own codes are [`MempoolError::CODES`] (1501-1599).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The ledger refuses the transaction at the latest committed state (plus the
    /// submitter's own pending transactions).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A transaction with this id (same payload, whatever its signature) is already pending.
    #[error("transaction {0} is already pending")]
    AlreadyPending(TxId),
    /// The submitter already holds its maximum share of the pool.
    #[error(
        "submitter `{submitter}` holds {txs} pending transactions ({bytes} bytes); a submitter may hold at most {max_txs} ({max_bytes} bytes)"
    )]
    SubmitterQuotaExceeded {
        /// The submitter.
        submitter: String,
        /// Its pending transactions.
        txs: usize,
        /// Their bytes.
        bytes: usize,
        /// The per-submitter count limit.
        max_txs: usize,
        /// The per-submitter byte limit.
        max_bytes: usize,
    },
    /// The pool is full and no other submitter holds a larger share than this submitter
    /// would after admission, so nothing is evicted for it (see the crate docs).
    #[error(
        "the mempool is full ({txs} transactions, {bytes} bytes) and no submitter holds a larger share than `{submitter}` would"
    )]
    Full {
        /// The refused transaction's submitter.
        submitter: String,
        /// Pending transactions.
        txs: usize,
        /// Pending bytes.
        bytes: usize,
    },
    /// The committed state could not be read: no verdict (not the transaction's fault).
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<TxError> for MempoolError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Rejected(r) => MempoolError::Rejected(r),
            TxError::State(s) => MempoolError::State(s),
        }
    }
}

impl MempoolError {
    /// The mempool's own `(code, numeric code)` pairs, for documentation and tests.
    pub const CODES: [(&'static str, u32); 4] = [
        ("TX_ALREADY_PENDING", 1501),
        ("SUBMITTER_QUOTA_EXCEEDED", 1502),
        ("MEMPOOL_FULL", 1503),
        ("STATE_UNAVAILABLE", 1504),
    ];

    /// The stable string code: the ledger's for [`Self::Rejected`], else one of
    /// [`Self::CODES`].
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self.own_code() {
            Some((code, _)) => code,
            None => self.rejection().map_or("", Rejection::code),
        }
    }

    /// The stable numeric code (the JSON-RPC / gRPC error code).
    #[must_use]
    pub fn numeric_code(&self) -> u32 {
        match self.own_code() {
            Some((_, n)) => n,
            None => self.rejection().map_or(0, Rejection::numeric_code),
        }
    }

    /// The mempool's own code; `None` for a ledger rejection.
    fn own_code(&self) -> Option<(&'static str, u32)> {
        let i = match self {
            MempoolError::Rejected(_) => return None,
            MempoolError::AlreadyPending(_) => 0,
            MempoolError::SubmitterQuotaExceeded { .. } => 1,
            MempoolError::Full { .. } => 2,
            MempoolError::State(_) => 3,
        };
        Self::CODES.get(i).copied()
    }

    /// The ledger rejection, if this is one.
    #[must_use]
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            MempoolError::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// The detail codes (the maat-v1 failure codes of a rejected certificate or policy).
    #[must_use]
    pub fn detail_codes(&self) -> Vec<&str> {
        self.rejection()
            .map(Rejection::detail_codes)
            .unwrap_or_default()
    }

    /// True when the same transaction may be admitted later without change: the pool or
    /// the submitter's share is full, or the state was unreadable. (A ledger rejection may
    /// also stop applying after a commit, e.g. a nonce gap closing, but is not retried
    /// blindly.)
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MempoolError::SubmitterQuotaExceeded { .. }
                | MempoolError::Full { .. }
                | MempoolError::State(_)
        )
    }
}
