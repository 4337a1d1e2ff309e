//! [`NodeApi`]: what the node implements; both servers ([`crate::RpcServer`] for JSON-RPC,
//! [`crate::GrpcServer`] for gRPC) serve it.

use async_trait::async_trait;
use maat_ledger::finality::FinalityProof;
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::types::{
    AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification, AuditRecordInfo,
    BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo, InclusionProof,
    NodeEvent, NodeStatus, PageCursor, SubmitReceipt, TxStatus, ValidatorInfo,
};

/// What the node offers the API. Every method may be called concurrently. "Not found" is
/// `Ok(None)`, never an error; errors carry the codes of [`crate::codes`].
#[async_trait]
pub trait NodeApi: Send + Sync + 'static {
    /// Mempool admission of canonical `Transaction` bytes.
    ///
    /// # Errors
    /// [`crate::codes::TX_REJECTED`] (with [`crate::RejectionData`]) when the transaction is
    /// not admitted; any other [`ApiError`] on a node failure.
    async fn submit_tx(&self, tx: Vec<u8>) -> Result<SubmitReceipt, ApiError>;

    /// Where the transaction `tx_id` is.
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn tx_status(&self, tx_id: [u8; 32]) -> Result<TxStatus, ApiError>;

    /// The node's status.
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn status(&self) -> Result<NodeStatus, ApiError>;

    /// The committed block `at` a height, with an id, or the latest (`None`: no such block).
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn block(&self, at: BlockRef) -> Result<Option<BlockInfo>, ApiError>;

    /// The finality proof of a committed transaction (`None`: not finalized).
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn finality_proof(&self, tx_id: [u8; 32]) -> Result<Option<FinalityProof>, ApiError>;

    /// The checkpoint of the log at `tree_size` (`None`: the latest final one); `Ok(None)`
    /// when there is none.
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn checkpoint(&self, tree_size: Option<u64>) -> Result<Option<CheckpointInfo>, ApiError>;

    /// The consistency proof from `old_size` to `new_size`.
    ///
    /// # Errors
    /// [`crate::codes::INVALID_PARAMS`] for sizes out of range; an [`ApiError`] on a node
    /// failure.
    async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ApiError>;

    /// The inclusion proof of entry `leaf_index` in the log of `tree_size` entries.
    ///
    /// # Errors
    /// [`crate::codes::INVALID_PARAMS`] for an index or size out of range; an [`ApiError`] on a
    /// node failure.
    async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ApiError>;

    /// A deployment's record and transactions.
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn deployment(&self, deployment_id: String) -> Result<Option<DeploymentInfo>, ApiError>;

    /// An identity's registry record (JSON).
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn identity(&self, id: String) -> Result<Option<serde_json::Value>, ApiError>;

    /// The policy registered for (`service`, `environment`) (JSON).
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn policy(
        &self,
        service: String,
        environment: String,
    ) -> Result<Option<serde_json::Value>, ApiError>;

    /// The validator set.
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn validators(&self) -> Result<Vec<ValidatorInfo>, ApiError>;

    /// The committed audit record carried by transaction `tx_id`, with its finality proof
    /// (`None`: no such committed audit record).
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn audit_record(&self, tx_id: [u8; 32]) -> Result<Option<AuditRecordInfo>, ApiError>;

    /// Up to `limit` records of `agent_id`'s chain from sequence `from_sequence` on.
    ///
    /// # Errors
    /// [`crate::codes::INVALID_PARAMS`] for a bad agent id or limit; an [`ApiError`] on a
    /// node failure.
    async fn audit_chain(
        &self,
        agent_id: String,
        from_sequence: u64,
        limit: u32,
    ) -> Result<AuditChainPage, ApiError>;

    /// Re-checks `agent_id`'s chain from its first record to `to_sequence` (`None`: its
    /// last).
    ///
    /// # Errors
    /// [`crate::codes::INVALID_PARAMS`] for an unknown agent chain or a sequence beyond its
    /// end; an [`ApiError`] on a node failure.
    async fn verify_audit_chain(
        &self,
        agent_id: String,
        to_sequence: Option<u64>,
    ) -> Result<AuditChainVerification, ApiError>;

    /// The attestation committed at `log_index` (`None`: that entry is not an attestation).
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn attestation(&self, log_index: u64) -> Result<Option<AttestationInfo>, ApiError>;

    /// Every committed attestation with a subject digest `subject` (`<algorithm>:<hex>`), a
    /// page at a time, oldest first.
    ///
    /// # Errors
    /// [`crate::codes::INVALID_PARAMS`] for a malformed digest; an [`ApiError`] on a node
    /// failure.
    async fn attestations_by_subject(
        &self,
        subject: String,
        after: Option<PageCursor>,
        limit: u32,
    ) -> Result<AttestationPage, ApiError>;

    /// A live feed of node events for subscriptions; each subscriber gets its own receiver.
    /// A receiver that lags behind the channel's capacity has its subscription closed with
    /// [`crate::codes::SUBSCRIPTION_LAGGED`].
    fn events(&self) -> broadcast::Receiver<NodeEvent>;
}
