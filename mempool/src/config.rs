//! [`MempoolConfig`]: the pool's bounds.

use maat_ledger::ChainParams;

/// The pool's bounds. Sizes are encoded transaction bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most pending transactions.
    pub max_txs: usize,
    /// Most pending bytes.
    pub max_bytes: usize,
    /// Most pending transactions of one submitter.
    pub max_txs_per_submitter: usize,
    /// Most pending bytes of one submitter.
    pub max_bytes_per_submitter: usize,
    /// Largest transaction admitted, checked before decoding: the genesis `max_tx_bytes`
    /// (a node may set less; more is pointless, the ledger refuses it).
    pub max_tx_bytes: usize,
    /// A pending transaction whose last successful check is this old is checked again at the
    /// next commit even if no state it read changed (certificate evidence goes stale with
    /// time alone).
    pub recheck_interval_ms: u64,
}

/// Why a [`MempoolConfig`] is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid mempool configuration: {0}")]
pub struct ConfigError(pub String);

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl MempoolConfig {
    /// Defaults for a chain: 10,000 transactions and 64 MiB in all (at least 8 blocks'
    /// worth), a submitter at most a tenth of the count and an eighth of the bytes (but at
    /// least one largest transaction), `max_tx_bytes` from the genesis, re-check after 60 s.
    #[must_use]
    pub fn for_chain(params: &ChainParams) -> Self {
        let max_tx_bytes = to_usize(params.max_tx_bytes);
        let max_bytes = (64usize << 20).max(to_usize(params.max_block_bytes).saturating_mul(8));
        let max_txs = 10_000;
        MempoolConfig {
            max_txs,
            max_bytes,
            max_txs_per_submitter: max_txs / 10,
            max_bytes_per_submitter: (max_bytes / 8).max(max_tx_bytes),
            max_tx_bytes,
            recheck_interval_ms: 60_000,
        }
    }

    /// Checks that the bounds are consistent: all positive, per-submitter bounds within the
    /// pool's, and one largest transaction fitting a submitter's share.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError(m.to_owned()));
        if self.max_txs == 0 || self.max_bytes == 0 || self.max_tx_bytes == 0 {
            return err("max_txs, max_bytes and max_tx_bytes must be positive");
        }
        if self.max_txs_per_submitter == 0 || self.max_txs_per_submitter > self.max_txs {
            return err("max_txs_per_submitter must be in 1..=max_txs");
        }
        if self.max_bytes_per_submitter > self.max_bytes {
            return err("max_bytes_per_submitter must not exceed max_bytes");
        }
        if self.max_tx_bytes > self.max_bytes_per_submitter {
            return err("max_tx_bytes must not exceed max_bytes_per_submitter");
        }
        Ok(())
    }
}
