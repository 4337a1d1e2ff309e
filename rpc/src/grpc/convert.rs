//! Conversions between the generated gRPC messages and the serde types of the API: `From` from
//! the API types (what the server sends), `TryFrom` back (what a client receives; a 32-byte id
//! of another length, a missing `oneof` or bad JSON is a [`ConvertError`]).

use maat_ledger::finality::FinalityProof;

use crate::error::ApiError;
use crate::grpc as pb;
use crate::types::{
    AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification, AuditRecordInfo,
    BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo, EventFilter,
    InclusionProof, NodeEvent, NodeStatus, PageCursor, SubmitReceipt, SubscriptionKind, TxRef,
    TxStatus, ValidatorInfo,
};

/// A gRPC message that does not have the documented shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String);

impl From<ConvertError> for ApiError {
    fn from(e: ConvertError) -> Self {
        ApiError::invalid_params(e.0)
    }
}

/// Exactly 32 bytes.
///
/// # Errors
/// [`ConvertError`] naming `what`.
pub(crate) fn id32(bytes: &[u8], what: &str) -> Result<[u8; 32], ConvertError> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| ConvertError(format!("`{what}`: expected 32 bytes, got {}", bytes.len())))
}

fn ids32(list: &[Vec<u8>], what: &str) -> Result<Vec<[u8; 32]>, ConvertError> {
    list.iter().map(|b| id32(b, what)).collect()
}

fn to_vecs(ids: &[[u8; 32]]) -> Vec<Vec<u8>> {
    ids.iter().map(|id| id.to_vec()).collect()
}

fn json(text: &str, what: &str) -> Result<serde_json::Value, ConvertError> {
    serde_json::from_str(text).map_err(|e| ConvertError(format!("`{what}`: invalid JSON: {e}")))
}

// --- results (server: From; client: TryFrom) ---

impl From<SubmitReceipt> for pb::SubmitTxResponse {
    fn from(r: SubmitReceipt) -> Self {
        pb::SubmitTxResponse {
            tx_id: r.tx_id.to_vec(),
        }
    }
}

impl TryFrom<pb::SubmitTxResponse> for SubmitReceipt {
    type Error = ConvertError;
    fn try_from(r: pb::SubmitTxResponse) -> Result<Self, ConvertError> {
        Ok(SubmitReceipt {
            tx_id: id32(&r.tx_id, "tx_id")?,
        })
    }
}

impl From<TxStatus> for pb::TxStatus {
    fn from(s: TxStatus) -> Self {
        use pb::tx_status::{Finalized, Pending, Rejected, Status, Unknown};
        let status = match s {
            TxStatus::Unknown => Status::Unknown(Unknown {}),
            TxStatus::Pending => Status::Pending(Pending {}),
            TxStatus::Finalized {
                height,
                position,
                log_index,
            } => Status::Finalized(Finalized {
                height,
                position,
                log_index,
            }),
            TxStatus::Rejected {
                code,
                numeric_code,
                details,
            } => Status::Rejected(Rejected {
                code,
                numeric_code,
                codes: details,
            }),
        };
        pb::TxStatus {
            status: Some(status),
        }
    }
}

impl TryFrom<pb::TxStatus> for TxStatus {
    type Error = ConvertError;
    fn try_from(s: pb::TxStatus) -> Result<Self, ConvertError> {
        use pb::tx_status::Status;
        Ok(match s.status {
            None => return Err(ConvertError("TxStatus: no status set".into())),
            Some(Status::Unknown(_)) => TxStatus::Unknown,
            Some(Status::Pending(_)) => TxStatus::Pending,
            Some(Status::Finalized(f)) => TxStatus::Finalized {
                height: f.height,
                position: f.position,
                log_index: f.log_index,
            },
            Some(Status::Rejected(r)) => TxStatus::Rejected {
                code: r.code,
                numeric_code: r.numeric_code,
                details: r.codes,
            },
        })
    }
}

impl From<NodeStatus> for pb::NodeStatus {
    fn from(s: NodeStatus) -> Self {
        pb::NodeStatus {
            chain_id: s.chain_id,
            genesis_hash: s.genesis_hash.to_vec(),
            height: s.height,
            round: s.round,
            peers: s.peers,
            syncing: s.syncing,
            validator: s.validator,
            mempool_txs: s.mempool_txs,
            log_size: s.log_size,
        }
    }
}

impl TryFrom<pb::NodeStatus> for NodeStatus {
    type Error = ConvertError;
    fn try_from(s: pb::NodeStatus) -> Result<Self, ConvertError> {
        Ok(NodeStatus {
            chain_id: s.chain_id,
            genesis_hash: id32(&s.genesis_hash, "genesis_hash")?,
            height: s.height,
            round: s.round,
            peers: s.peers,
            syncing: s.syncing,
            validator: s.validator,
            mempool_txs: s.mempool_txs,
            log_size: s.log_size,
        })
    }
}

impl From<BlockInfo> for pb::Block {
    fn from(b: BlockInfo) -> Self {
        pb::Block {
            height: b.height,
            block_id: b.block_id.to_vec(),
            bytes: b.bytes,
            tx_ids: to_vecs(&b.tx_ids),
            timestamp_ms: b.timestamp_ms,
            round: b.round,
            parent: b.parent.to_vec(),
            proposer: b.proposer,
            log_size: b.log_size,
            log_root: b.log_root.to_vec(),
        }
    }
}

impl TryFrom<pb::Block> for BlockInfo {
    type Error = ConvertError;
    fn try_from(b: pb::Block) -> Result<Self, ConvertError> {
        Ok(BlockInfo {
            height: b.height,
            block_id: id32(&b.block_id, "block_id")?,
            bytes: b.bytes,
            tx_ids: ids32(&b.tx_ids, "tx_ids")?,
            timestamp_ms: b.timestamp_ms,
            round: b.round,
            parent: id32(&b.parent, "parent")?,
            proposer: b.proposer,
            log_size: b.log_size,
            log_root: id32(&b.log_root, "log_root")?,
        })
    }
}

impl From<Option<BlockInfo>> for pb::BlockResponse {
    fn from(b: Option<BlockInfo>) -> Self {
        pb::BlockResponse {
            block: b.map(Into::into),
        }
    }
}

impl TryFrom<pb::BlockResponse> for Option<BlockInfo> {
    type Error = ConvertError;
    fn try_from(r: pb::BlockResponse) -> Result<Self, ConvertError> {
        r.block.map(BlockInfo::try_from).transpose()
    }
}

impl TryFrom<Option<FinalityProof>> for pb::FinalityProofResponse {
    type Error = ApiError;
    fn try_from(p: Option<FinalityProof>) -> Result<Self, ApiError> {
        let proof_json = p
            .map(|p| serde_json::to_string(&p))
            .transpose()
            .map_err(|e| ApiError::internal(format!("cannot encode the finality proof: {e}")))?;
        Ok(pb::FinalityProofResponse { proof_json })
    }
}

impl TryFrom<pb::FinalityProofResponse> for Option<FinalityProof> {
    type Error = ConvertError;
    fn try_from(r: pb::FinalityProofResponse) -> Result<Self, ConvertError> {
        r.proof_json
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| ConvertError(format!("`proof_json`: not a finality proof: {e}")))
            })
            .transpose()
    }
}

impl From<CheckpointInfo> for pb::Checkpoint {
    fn from(c: CheckpointInfo) -> Self {
        pb::Checkpoint {
            tree_size: c.tree_size,
            root: c.root.to_vec(),
            note: c.note,
            cosigners: c.cosigners,
            quorum: c.quorum,
            is_final: c.is_final,
        }
    }
}

impl TryFrom<pb::Checkpoint> for CheckpointInfo {
    type Error = ConvertError;
    fn try_from(c: pb::Checkpoint) -> Result<Self, ConvertError> {
        Ok(CheckpointInfo {
            tree_size: c.tree_size,
            root: id32(&c.root, "root")?,
            note: c.note,
            cosigners: c.cosigners,
            quorum: c.quorum,
            is_final: c.is_final,
        })
    }
}

impl TryFrom<pb::CheckpointResponse> for Option<CheckpointInfo> {
    type Error = ConvertError;
    fn try_from(r: pb::CheckpointResponse) -> Result<Self, ConvertError> {
        r.checkpoint.map(CheckpointInfo::try_from).transpose()
    }
}

impl From<ConsistencyProof> for pb::ConsistencyProof {
    fn from(p: ConsistencyProof) -> Self {
        pb::ConsistencyProof {
            old_size: p.old_size,
            new_size: p.new_size,
            path: to_vecs(&p.path),
        }
    }
}

impl TryFrom<pb::ConsistencyProof> for ConsistencyProof {
    type Error = ConvertError;
    fn try_from(p: pb::ConsistencyProof) -> Result<Self, ConvertError> {
        Ok(ConsistencyProof {
            old_size: p.old_size,
            new_size: p.new_size,
            path: ids32(&p.path, "path")?,
        })
    }
}

impl From<InclusionProof> for pb::InclusionProof {
    fn from(p: InclusionProof) -> Self {
        pb::InclusionProof {
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            path: to_vecs(&p.path),
        }
    }
}

impl TryFrom<pb::InclusionProof> for InclusionProof {
    type Error = ConvertError;
    fn try_from(p: pb::InclusionProof) -> Result<Self, ConvertError> {
        Ok(InclusionProof {
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            path: ids32(&p.path, "path")?,
        })
    }
}

impl From<TxRef> for pb::TxRef {
    fn from(t: TxRef) -> Self {
        pb::TxRef {
            tx_id: t.tx_id.to_vec(),
            height: t.height,
            position: t.position,
            log_index: t.log_index,
        }
    }
}

impl TryFrom<pb::TxRef> for TxRef {
    type Error = ConvertError;
    fn try_from(t: pb::TxRef) -> Result<Self, ConvertError> {
        Ok(TxRef {
            tx_id: id32(&t.tx_id, "tx_id")?,
            height: t.height,
            position: t.position,
            log_index: t.log_index,
        })
    }
}

impl From<DeploymentInfo> for pb::Deployment {
    fn from(d: DeploymentInfo) -> Self {
        pb::Deployment {
            deployment_id: d.deployment_id,
            record_json: d.record.to_string(),
            txs: d.txs.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::Deployment> for DeploymentInfo {
    type Error = ConvertError;
    fn try_from(d: pb::Deployment) -> Result<Self, ConvertError> {
        Ok(DeploymentInfo {
            deployment_id: d.deployment_id,
            record: json(&d.record_json, "record_json")?,
            txs: d
                .txs
                .into_iter()
                .map(TxRef::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl TryFrom<pb::DeploymentResponse> for Option<DeploymentInfo> {
    type Error = ConvertError;
    fn try_from(r: pb::DeploymentResponse) -> Result<Self, ConvertError> {
        r.deployment.map(DeploymentInfo::try_from).transpose()
    }
}

impl From<Option<serde_json::Value>> for pb::JsonResponse {
    fn from(v: Option<serde_json::Value>) -> Self {
        pb::JsonResponse {
            json: v.map(|v| v.to_string()),
        }
    }
}

impl TryFrom<pb::JsonResponse> for Option<serde_json::Value> {
    type Error = ConvertError;
    fn try_from(r: pb::JsonResponse) -> Result<Self, ConvertError> {
        r.json.map(|text| json(&text, "json")).transpose()
    }
}

impl From<ValidatorInfo> for pb::Validator {
    fn from(v: ValidatorInfo) -> Self {
        pb::Validator {
            index: v.index,
            id: v.id,
            public_key: v.public_key,
            peer_id: v.peer_id,
            voting_power: v.voting_power,
        }
    }
}

impl From<pb::Validator> for ValidatorInfo {
    fn from(v: pb::Validator) -> Self {
        ValidatorInfo {
            index: v.index,
            id: v.id,
            public_key: v.public_key,
            peer_id: v.peer_id,
            voting_power: v.voting_power,
        }
    }
}

impl From<NodeEvent> for pb::NodeEvent {
    fn from(e: NodeEvent) -> Self {
        use pb::node_event::Event;
        let event = match e {
            NodeEvent::NewBlock {
                height,
                block_id,
                tx_count,
                timestamp_ms,
                log_size,
            } => Event::NewBlock(pb::NewBlock {
                height,
                block_id: block_id.to_vec(),
                tx_count,
                timestamp_ms,
                log_size,
            }),
            NodeEvent::FinalizedTx {
                tx_id,
                height,
                position,
                log_index,
                kind,
                submitter,
                service,
                environment,
                agent,
            } => Event::FinalizedTx(pb::FinalizedTx {
                tx_id: tx_id.to_vec(),
                height,
                position,
                log_index,
                kind,
                submitter,
                service,
                environment,
                agent,
            }),
            NodeEvent::Equivocation {
                culprit,
                round,
                kind,
                evidence,
            } => Event::Equivocation(pb::Equivocation {
                culprit,
                round,
                kind,
                evidence,
            }),
        };
        pb::NodeEvent { event: Some(event) }
    }
}

impl TryFrom<pb::NodeEvent> for NodeEvent {
    type Error = ConvertError;
    fn try_from(e: pb::NodeEvent) -> Result<Self, ConvertError> {
        use pb::node_event::Event;
        Ok(match e.event {
            None => return Err(ConvertError("NodeEvent: no event set".into())),
            Some(Event::NewBlock(b)) => NodeEvent::NewBlock {
                height: b.height,
                block_id: id32(&b.block_id, "block_id")?,
                tx_count: b.tx_count,
                timestamp_ms: b.timestamp_ms,
                log_size: b.log_size,
            },
            Some(Event::FinalizedTx(t)) => NodeEvent::FinalizedTx {
                tx_id: id32(&t.tx_id, "tx_id")?,
                height: t.height,
                position: t.position,
                log_index: t.log_index,
                kind: t.kind,
                submitter: t.submitter,
                service: t.service,
                environment: t.environment,
                agent: t.agent,
            },
            Some(Event::Equivocation(q)) => NodeEvent::Equivocation {
                culprit: q.culprit,
                round: q.round,
                kind: q.kind,
                evidence: q.evidence,
            },
        })
    }
}

fn proof_json(p: &FinalityProof) -> Result<String, ApiError> {
    serde_json::to_string(p)
        .map_err(|e| ApiError::internal(format!("cannot encode the finality proof: {e}")))
}

fn proof_from_json(text: &str, what: &str) -> Result<FinalityProof, ConvertError> {
    serde_json::from_str(text)
        .map_err(|e| ConvertError(format!("`{what}`: not a finality proof: {e}")))
}

impl TryFrom<AuditRecordInfo> for pb::AuditRecord {
    type Error = ApiError;
    fn try_from(r: AuditRecordInfo) -> Result<Self, ApiError> {
        Ok(pb::AuditRecord {
            tx_id: r.tx_id.to_vec(),
            height: r.height,
            log_index: r.log_index,
            agent_id: r.agent_id,
            session_id: r.session_id,
            event_type: r.event_type,
            risk: r.risk,
            timestamp_ms: r.timestamp_ms,
            sequence: r.sequence,
            previous_hash: r.previous_hash.to_vec(),
            record_hash: r.record_hash.to_vec(),
            data_json: r.data_json,
            tx: r.tx,
            finality_proof_json: r.finality_proof.as_ref().map(proof_json).transpose()?,
        })
    }
}

impl TryFrom<pb::AuditRecord> for AuditRecordInfo {
    type Error = ConvertError;
    fn try_from(r: pb::AuditRecord) -> Result<Self, ConvertError> {
        Ok(AuditRecordInfo {
            tx_id: id32(&r.tx_id, "tx_id")?,
            height: r.height,
            log_index: r.log_index,
            agent_id: r.agent_id,
            session_id: r.session_id,
            event_type: r.event_type,
            risk: r.risk,
            timestamp_ms: r.timestamp_ms,
            sequence: r.sequence,
            previous_hash: id32(&r.previous_hash, "previous_hash")?,
            record_hash: id32(&r.record_hash, "record_hash")?,
            data: serde_json::from_str(&r.data_json).unwrap_or(serde_json::Value::Null),
            data_json: r.data_json,
            tx: r.tx,
            finality_proof: r
                .finality_proof_json
                .map(|text| proof_from_json(&text, "finality_proof_json"))
                .transpose()?,
        })
    }
}

impl TryFrom<Option<AuditRecordInfo>> for pb::AuditRecordResponse {
    type Error = ApiError;
    fn try_from(r: Option<AuditRecordInfo>) -> Result<Self, ApiError> {
        Ok(pb::AuditRecordResponse {
            record: r.map(pb::AuditRecord::try_from).transpose()?,
        })
    }
}

impl TryFrom<pb::AuditRecordResponse> for Option<AuditRecordInfo> {
    type Error = ConvertError;
    fn try_from(r: pb::AuditRecordResponse) -> Result<Self, ConvertError> {
        r.record.map(AuditRecordInfo::try_from).transpose()
    }
}

impl TryFrom<AuditChainPage> for pb::AuditChainPage {
    type Error = ApiError;
    fn try_from(p: AuditChainPage) -> Result<Self, ApiError> {
        Ok(pb::AuditChainPage {
            agent_id: p.agent_id,
            length: p.length,
            records: p
                .records
                .into_iter()
                .map(pb::AuditRecord::try_from)
                .collect::<Result<_, _>>()?,
            next: p.next,
        })
    }
}

impl TryFrom<pb::AuditChainPage> for AuditChainPage {
    type Error = ConvertError;
    fn try_from(p: pb::AuditChainPage) -> Result<Self, ConvertError> {
        Ok(AuditChainPage {
            agent_id: p.agent_id,
            length: p.length,
            records: p
                .records
                .into_iter()
                .map(AuditRecordInfo::try_from)
                .collect::<Result<_, _>>()?,
            next: p.next,
        })
    }
}

impl From<AuditChainVerification> for pb::AuditChainVerification {
    fn from(v: AuditChainVerification) -> Self {
        pb::AuditChainVerification {
            agent_id: v.agent_id,
            to_sequence: v.to_sequence,
            records_checked: v.records_checked,
            valid: v.valid,
            head_record_hash: v.head_record_hash.to_vec(),
            problems: v.problems,
        }
    }
}

impl TryFrom<pb::AuditChainVerification> for AuditChainVerification {
    type Error = ConvertError;
    fn try_from(v: pb::AuditChainVerification) -> Result<Self, ConvertError> {
        Ok(AuditChainVerification {
            agent_id: v.agent_id,
            to_sequence: v.to_sequence,
            records_checked: v.records_checked,
            valid: v.valid,
            head_record_hash: id32(&v.head_record_hash, "head_record_hash")?,
            problems: v.problems,
        })
    }
}

impl From<AttestationInfo> for pb::Attestation {
    fn from(a: AttestationInfo) -> Self {
        pb::Attestation {
            tx_id: a.tx_id.to_vec(),
            height: a.height,
            log_index: a.log_index,
            predicate_type: a.predicate_type,
            subjects: a.subjects,
            signers: a.signers,
            envelope_json: a.envelope.to_string(),
        }
    }
}

impl TryFrom<pb::Attestation> for AttestationInfo {
    type Error = ConvertError;
    fn try_from(a: pb::Attestation) -> Result<Self, ConvertError> {
        Ok(AttestationInfo {
            tx_id: id32(&a.tx_id, "tx_id")?,
            height: a.height,
            log_index: a.log_index,
            predicate_type: a.predicate_type,
            subjects: a.subjects,
            signers: a.signers,
            envelope: json(&a.envelope_json, "envelope_json")?,
        })
    }
}

impl From<Option<AttestationInfo>> for pb::AttestationResponse {
    fn from(a: Option<AttestationInfo>) -> Self {
        pb::AttestationResponse {
            attestation: a.map(Into::into),
        }
    }
}

impl TryFrom<pb::AttestationResponse> for Option<AttestationInfo> {
    type Error = ConvertError;
    fn try_from(r: pb::AttestationResponse) -> Result<Self, ConvertError> {
        r.attestation.map(AttestationInfo::try_from).transpose()
    }
}

impl From<PageCursor> for pb::PageCursor {
    fn from(c: PageCursor) -> Self {
        pb::PageCursor {
            height: c.height,
            position: c.position,
        }
    }
}

impl From<pb::PageCursor> for PageCursor {
    fn from(c: pb::PageCursor) -> Self {
        PageCursor {
            height: c.height,
            position: c.position,
        }
    }
}

impl From<AttestationPage> for pb::AttestationPage {
    fn from(p: AttestationPage) -> Self {
        pb::AttestationPage {
            subject: p.subject,
            attestations: p.attestations.into_iter().map(Into::into).collect(),
            next: p.next.map(Into::into),
        }
    }
}

impl TryFrom<pb::AttestationPage> for AttestationPage {
    type Error = ConvertError;
    fn try_from(p: pb::AttestationPage) -> Result<Self, ConvertError> {
        Ok(AttestationPage {
            subject: p.subject,
            attestations: p
                .attestations
                .into_iter()
                .map(AttestationInfo::try_from)
                .collect::<Result<_, _>>()?,
            next: p.next.map(Into::into),
        })
    }
}

// --- requests (client: From; server: TryFrom) ---

impl From<BlockRef> for pb::GetBlockRequest {
    fn from(at: BlockRef) -> Self {
        use pb::get_block_request::At;
        pb::GetBlockRequest {
            at: Some(match at {
                BlockRef::Height(h) => At::Height(h),
                BlockRef::Id(id) => At::Id(id.to_vec()),
                BlockRef::Latest => At::Latest(true),
            }),
        }
    }
}

impl TryFrom<pb::GetBlockRequest> for BlockRef {
    type Error = ConvertError;
    fn try_from(r: pb::GetBlockRequest) -> Result<Self, ConvertError> {
        use pb::get_block_request::At;
        match r.at {
            None | Some(At::Latest(true)) => Ok(BlockRef::Latest),
            Some(At::Latest(false)) => Err(ConvertError(
                "`latest`: must be true when set (or set `height` or `id`)".into(),
            )),
            Some(At::Height(h)) => Ok(BlockRef::Height(h)),
            Some(At::Id(id)) => Ok(BlockRef::Id(id32(&id, "id")?)),
        }
    }
}

impl From<SubscriptionKind> for pb::EventKind {
    fn from(k: SubscriptionKind) -> Self {
        match k {
            SubscriptionKind::NewBlocks => pb::EventKind::NewBlocks,
            SubscriptionKind::FinalizedTxs => pb::EventKind::FinalizedTxs,
            SubscriptionKind::Equivocations => pb::EventKind::Equivocations,
        }
    }
}

/// The request of a subscription of `kind` with `filter`.
#[must_use]
pub fn subscribe_request(kind: SubscriptionKind, filter: EventFilter) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        kind: pb::EventKind::from(kind).into(),
        service: filter.service,
        environment: filter.environment,
        agent: filter.agent,
    }
}

impl TryFrom<pb::SubscribeRequest> for (SubscriptionKind, EventFilter) {
    type Error = ConvertError;
    fn try_from(r: pb::SubscribeRequest) -> Result<Self, ConvertError> {
        let kind = match pb::EventKind::try_from(r.kind) {
            Ok(pb::EventKind::NewBlocks) => SubscriptionKind::NewBlocks,
            Ok(pb::EventKind::FinalizedTxs) => SubscriptionKind::FinalizedTxs,
            Ok(pb::EventKind::Equivocations) => SubscriptionKind::Equivocations,
            Ok(pb::EventKind::Unspecified) | Err(_) => {
                return Err(ConvertError(format!(
                    "`kind`: {} is not an event kind (NEW_BLOCKS, FINALIZED_TXS, EQUIVOCATIONS)",
                    r.kind
                )));
            }
        };
        let filter = EventFilter {
            service: r.service,
            environment: r.environment,
            agent: r.agent,
        };
        if kind != SubscriptionKind::FinalizedTxs && !filter.is_empty() {
            return Err(ConvertError(
                "filters are only for EVENT_KIND_FINALIZED_TXS subscriptions".into(),
            ));
        }
        Ok((kind, filter))
    }
}
