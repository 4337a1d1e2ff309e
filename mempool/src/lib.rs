//! `maat-mempool`: admission, dedup, fairness and batch selection (ARCHITECTURE.md "A
//! transaction's path", steps 2, 3 and 5).
//!
//! [`Mempool`] is sans-IO and synchronous. The node calls:
//! - [`Mempool::admit`] with a transaction's bytes, the latest committed state and an
//!   estimate of the next block's time (RPC submissions and gossip);
//! - [`Mempool::select_batch`] when it proposes;
//! - [`Mempool::on_commit`] after each committed block;
//! - and passes the pool as [`maat_ledger::KnownSignatures`] to
//!   [`maat_ledger::Ledger::verify_block`] so that signatures verified at admission are not
//!   verified again before voting.
//!
//! # Admission
//! In this order, cheapest first: size (the configured `max_tx_bytes`, before decoding);
//! duplicate id, read from the envelope before decoding; the ledger's stateless decoding; the
//! submitter's quota; room in the pool (eviction is decided here but done only once the
//! transaction is accepted); then the ledger's check at the latest committed state **plus
//! the submitter's own pending transactions**: submitter registered and not revoked, nonce,
//! envelope signature (verified once, kept as a [`maat_ledger::VerifiedTx`] token), and the
//! kind's checks (for a certificate the full `maat-v1` checker at the given time; for an audit
//! record the agent's chain position over the same pending chain).
//!
//! # Error codes
//! Every refusal is a [`MempoolError`] with a stable string code ([`MempoolError::code`]) and
//! numeric code ([`MempoolError::numeric_code`], the JSON-RPC / gRPC error code). Ledger
//! rejections keep the ledger's codes ([`maat_ledger::Rejection::CODES`]):
//!
//! | code | number | | code | number |
//! |---|---|---|---|---|
//! | `TX_TOO_LARGE` | 1001 | | `NOT_ADMIN` | 1201 |
//! | `TX_MALFORMED` | 1002 | | `NOT_AUTHORIZED` | 1202 |
//! | `TX_NON_CANONICAL` | 1003 | | `IDENTITY_EXISTS` | 1203 |
//! | `TX_CHAIN_ID_MISMATCH` | 1004 | | `IDENTITY_UNKNOWN` | 1204 |
//! | `TX_KIND_MISSING` | 1005 | | `IDENTITY_REVOKED` | 1205 |
//! | `KIND_UNSUPPORTED` | 1006 | | `KEY_INVALID` | 1206 |
//! | `TX_FIELD_INVALID` | 1007 | | `KEY_REUSED` | 1207 |
//! | `SUBMITTER_UNKNOWN` | 1101 | | `NOT_ADMIN_OR_OWNER` | 1301 |
//! | `SUBMITTER_REVOKED` | 1102 | | `POLICY_INVALID` | 1302 |
//! | `TX_NONCE_INVALID` | 1103 | | `CERTIFICATE_REJECTED` | 1401 |
//! | `TX_SIGNATURE_INVALID` | 1104 | | `REQUESTED_BY_MISMATCH` | 1402 |
//! | | | | `DEPLOYMENT_DUPLICATE` | 1403 |
//! | `AUDIT_AGENT_MISMATCH` | 1601 | | `AUDIT_RISK_INVALID` | 1605 |
//! | `AUDIT_SEQUENCE_INVALID` | 1602 | | `AUDIT_DATA_INVALID` | 1606 |
//! | `AUDIT_PREVIOUS_HASH_MISMATCH` | 1603 | | `AUDIT_TIMESTAMP_INVALID` | 1607 |
//! | `AUDIT_EVENT_TYPE_UNKNOWN` | 1604 | | `ATTESTATION_PREDICATE_FORBIDDEN` | 1704 |
//! | `ATTESTATION_ENVELOPE_INVALID` | 1701 | | `ATTESTATION_PREDICATE_INVALID` | 1705 |
//! | `ATTESTATION_PAYLOAD_TYPE_INVALID` | 1702 | | `ATTESTATION_SIGNER_UNKNOWN` | 1706 |
//! | `ATTESTATION_STATEMENT_INVALID` | 1703 | | `ATTESTATION_SIGNER_REVOKED` | 1707 |
//! | | | | `ATTESTATION_SIGNATURE_INVALID` | 1708 |
//!
//! The mempool's own codes ([`MempoolError::CODES`]):
//!
//! | code | number | meaning |
//! |---|---|---|
//! | `TX_ALREADY_PENDING` | 1501 | a transaction with this id (same payload, any signature) is pending |
//! | `SUBMITTER_QUOTA_EXCEEDED` | 1502 | the submitter holds `max_txs_per_submitter` or would exceed `max_bytes_per_submitter` |
//! | `MEMPOOL_FULL` | 1503 | the pool is full and nobody holds a larger share than the submitter would |
//! | `STATE_UNAVAILABLE` | 1504 | the committed state could not be read; no verdict, retry |
//!
//! A transaction larger than the mempool's `max_tx_bytes` is the ledger's `TX_TOO_LARGE`
//! (same meaning, one code). Certificate and policy rejections carry the `maat-v1` failure
//! codes as details ([`MempoolError::detail_codes`]).
//!
//! # Nonces
//! A submitter may have several transactions pending, with consecutive nonces: each is
//! checked over the committed state **plus the state changes of the submitter's pending
//! transactions** (so `n+2` is admitted while `n+1` is pending, a second certificate for a
//! deployment id already pending is `DEPLOYMENT_DUPLICATE`, a transaction after a pending key
//! rotation must be signed with the new key). No gap is accepted: a nonce other than the next
//! one ([`Mempool::next_nonce`]) is `TX_NONCE_INVALID`, whose `expected` is that next nonce.
//! Other submitters' pending transactions are not taken into account (an identity whose
//! registration is pending cannot submit yet).
//!
//! # Capacity, eviction and fairness
//! The pool holds at most `max_txs` transactions and `max_bytes` bytes; one submitter at most
//! `max_txs_per_submitter` and `max_bytes_per_submitter` (refused with
//! `SUBMITTER_QUOTA_EXCEEDED`), so one submitter can never fill the pool.
//!
//! A submitter's **share** is the larger of its fraction of `max_txs` and its fraction of
//! `max_bytes` (its dominant share). When a valid transaction does not fit, the pool evicts
//! the **newest** (highest nonce, so chains stay gapless) transaction of the submitter with
//! the **largest share**, repeatedly, as long as that submitter's share is strictly larger
//! than the newcomer's submitter would hold after admission. If it cannot make room that way,
//! the transaction is refused with `MEMPOOL_FULL` and nothing is evicted. So a submitter
//! holding less than the others always gets in, and eviction can never go back and forth
//! (an evicted submitter holds at least as much as the one that evicted it). Ties: the larger
//! byte holding, then the smaller submitter id.
//!
//! Batch selection is round robin between submitters, starting with the submitter whose
//! pending transaction is the oldest; each submitter's transactions in nonce order.
//!
//! # After a commit
//! [`Mempool::on_commit`] removes the committed transactions and re-checks the others whose
//! result may have changed: each pending transaction remembers the state keys its check read;
//! it is re-checked when the block wrote one of them (with a value other than the one its
//! submitter's committed transactions were expected to write), when its last check is
//! `recheck_interval_ms` old (certificate evidence goes stale with time alone), or when its
//! submitter's chain was committed out of order. A re-check that fails drops the transaction
//! (revoked submitter, consumed nonce, duplicate deployment, ...), and the submitter's later
//! transactions then fail on their nonce. A re-check verifies the envelope signature only if
//! the submitter's active key is no longer the one it was verified under.
//!
//! [`MempoolStats::signature_verifications`] counts every verification the pool causes.

#![deny(missing_docs)]

mod config;
mod envelope;
mod error;
mod pool;

pub use config::{ConfigError, MempoolConfig};
pub use envelope::envelope_tx_id;
pub use error::MempoolError;
pub use pool::{Admitted, Batch, CommitReport, Dropped, Mempool, MempoolStats, SelectedTx, Usage};
