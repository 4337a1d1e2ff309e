//! A fake `NodeApi` shared by the RPC tests (the tests are of the RPC layer: routing,
//! parameters, encodings, error codes, limits, subscriptions), and helpers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use maat_proto::Message as _;
use maat_proto::v1::{
    AuditRecordTx, CertificateTx, IdentityOp, RevokeIdentity, Transaction, TxBody, TxPayload,
    identity_op, tx_body,
};
use maat_rpc::{
    ApiError, AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification,
    AuditRecordInfo, BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo,
    FinalityProof, InclusionProof, NodeApi, NodeEvent, NodeStatus, PageCursor, SubmitReceipt,
    TxRef, TxStatus, ValidatorInfo,
};
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub const FINALIZED: [u8; 32] = [1; 32];
pub const REJECTED: [u8; 32] = [2; 32];
pub const BLOCK1_ID: [u8; 32] = [0xb1; 32];
/// `block(Height(BIG_BLOCK))` returns a block of 4 KiB.
pub const BIG_BLOCK: u64 = 7;
/// `identity(SLOW_ID)` never answers (for the request timeout).
pub const SLOW_ID: &str = "slow";
/// `audit_record(AUDIT_TX)` is [`audit_record()`], of agent [`AUDIT_AGENT`].
pub const AUDIT_TX: [u8; 32] = [0xa1; 32];
/// `audit_record(SLOW_AUDIT_TX)` never answers.
pub const SLOW_AUDIT_TX: [u8; 32] = [0xa2; 32];
/// `audit_record(UNAVAILABLE_AUDIT_TX)` fails with -32002.
pub const UNAVAILABLE_AUDIT_TX: [u8; 32] = [0xa3; 32];
/// `audit_record(FAILING_AUDIT_TX)` fails with -32603.
pub const FAILING_AUDIT_TX: [u8; 32] = [0xa4; 32];
/// The only agent with an audit chain (3 records).
pub const AUDIT_AGENT: &str = "agent-1";
/// The subject digest of both of the fake's attestations.
pub const ATTESTED_SUBJECT: &str =
    "sha256:abababababababababababababababababababababababababababababababab";

/// Transactions whose first byte is 0xff are "rejected"; others are admitted, id = first
/// byte repeated, except audit records of the agents `rejected` (-32001), `unavailable`
/// (-32002) and `slow` (never answers). Block 1 exists (also by id and as the latest); block `u64::MAX` fails
/// internally. Events are whatever the test sends on `events`.
pub struct FakeNode {
    submitted: Mutex<HashMap<[u8; 32], Vec<u8>>>,
    pub events: broadcast::Sender<NodeEvent>,
}

impl FakeNode {
    /// A node whose event channel holds `capacity` events per subscriber.
    pub fn new(capacity: usize) -> Arc<FakeNode> {
        Arc::new(FakeNode {
            submitted: Mutex::new(HashMap::new()),
            events: broadcast::channel(capacity).0,
        })
    }

    /// Sends `event` to every subscriber; the number of subscribers.
    pub fn emit(&self, event: NodeEvent) -> usize {
        self.events.send(event).unwrap_or(0)
    }
}

pub fn status() -> NodeStatus {
    NodeStatus {
        chain_id: "maat-test".into(),
        genesis_hash: [0xab; 32],
        height: 1,
        round: 7,
        peers: 3,
        syncing: false,
        validator: Some(2),
        mempool_txs: 5,
        log_size: 42,
    }
}

pub fn block1() -> BlockInfo {
    BlockInfo {
        height: 1,
        block_id: BLOCK1_ID,
        bytes: vec![0, 1, 0xfe],
        tx_ids: vec![FINALIZED, [3; 32]],
        timestamp_ms: 1_767_225_601_000,
        round: 4,
        parent: [0xb0; 32],
        proposer: 3,
        log_size: 42,
        log_root: [0x42; 32],
    }
}

pub fn proof() -> FinalityProof {
    FinalityProof {
        version: 1,
        chain_id: "maat-test".into(),
        genesis_hash: [0xab; 32],
        tx: vec![1, 2, 3],
        log_index: 41,
        block_height: 1,
        tree_size: 42,
        inclusion_path: vec![[5; 32], [6; 32]],
        header: vec![0xaa; 10],
        child_header: vec![0xbb; 10],
        child_qc: vec![0xcc; 10],
    }
}

pub fn checkpoint(tree_size: u64) -> CheckpointInfo {
    CheckpointInfo {
        tree_size,
        root: [0x42; 32],
        note: format!("maat-test\n{tree_size}\nQkJC\n\n— v0 AAAA\n"),
        cosigners: 3,
        quorum: 3,
        is_final: true,
    }
}

pub fn deployment() -> DeploymentInfo {
    DeploymentInfo {
        deployment_id: "dep-1".into(),
        record: json!({"service": "web", "environment": "prod", "version": 1.5}),
        txs: vec![TxRef {
            tx_id: FINALIZED,
            height: 1,
            position: 0,
            log_index: 41,
        }],
    }
}

pub fn identity() -> Value {
    json!({"id": "alice", "roles": ["admin"], "revoked": false})
}

pub fn policy() -> Value {
    json!({"environment": "prod", "rules": [{"require": "test_passed"}]})
}

pub fn validators() -> Vec<ValidatorInfo> {
    (0..2)
        .map(|i| ValidatorInfo {
            index: i,
            id: format!("v{i}"),
            public_key: format!("mldsa65:AAA{i}"),
            peer_id: format!("12D3KooW{i}"),
            voting_power: 1,
        })
        .collect()
}

/// The committed audit record `AUDIT_TX`: sequence 3 of `AUDIT_AGENT`, with a finality proof.
pub fn audit_record() -> AuditRecordInfo {
    AuditRecordInfo {
        tx_id: AUDIT_TX,
        height: 1,
        log_index: 40,
        agent_id: AUDIT_AGENT.into(),
        session_id: "s-1".into(),
        event_type: "gate_decision".into(),
        risk: "low".into(),
        timestamp_ms: 1_767_225_600_000,
        sequence: 3,
        previous_hash: [0x33; 32],
        record_hash: [0x44; 32],
        data: json!({"decision": "allow", "score": 0.25}),
        data_json: r#"{"decision":"allow","score":0.25}"#.into(),
        tx: vec![0x0a, 0x01, 0x02],
        finality_proof: Some(proof()),
    }
}

/// The fake's verification of `AUDIT_AGENT`'s chain up to `to`.
pub fn verification(to: u64) -> AuditChainVerification {
    AuditChainVerification {
        agent_id: AUDIT_AGENT.into(),
        to_sequence: to,
        records_checked: to,
        valid: true,
        head_record_hash: [u8::try_from(to % 256).unwrap_or(0); 32],
        problems: Vec::new(),
    }
}

/// The fake's attestations, at log indexes 7 and 8 (height = log index, position 0), both
/// naming `ATTESTED_SUBJECT`.
pub fn attestations() -> Vec<AttestationInfo> {
    [7u64, 8]
        .into_iter()
        .map(|i| AttestationInfo {
            tx_id: [u8::try_from(i).unwrap_or(0); 32],
            height: i,
            log_index: i,
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            subjects: vec![ATTESTED_SUBJECT.into()],
            signers: vec!["builder".into()],
            envelope: json!({"payloadType": "application/vnd.in-toto+json", "payload": "e30=",
                             "signatures": [{"keyid": "builder", "sig": "AAAA"}]}),
        })
        .collect()
}

pub fn path(a: u64, b: u64) -> Vec<[u8; 32]> {
    vec![
        [u8::try_from(a % 256).unwrap_or(0); 32],
        [u8::try_from(b % 256).unwrap_or(0); 32],
    ]
}

#[async_trait::async_trait]
impl NodeApi for FakeNode {
    async fn submit_tx(&self, tx: Vec<u8>) -> Result<SubmitReceipt, ApiError> {
        if let Some((_, record)) = maat_ledger::audit::record_of_tx(&tx) {
            match record.agent_id.as_str() {
                "rejected" => {
                    return Err(ApiError::tx_rejected(
                        "the audit record's sequence is not the next one",
                        "AUDIT_SEQUENCE_INVALID",
                        1602,
                        vec![],
                    ));
                }
                "unavailable" => return Err(ApiError::unavailable("the node is starting")),
                "slow" => std::future::pending::<()>().await,
                _ => {}
            }
        }
        match tx.first() {
            None => Err(ApiError::tx_rejected(
                "malformed transaction",
                "TX_MALFORMED",
                1002,
                vec![],
            )),
            Some(0xff) => Err(ApiError::tx_rejected(
                "the certificate is rejected",
                "CERTIFICATE_REJECTED",
                1401,
                vec![
                    "PREDICATE_FAILED:test_passed".into(),
                    "PROOF_INVALID".into(),
                ],
            )),
            Some(&b) => {
                let id = [b; 32];
                self.submitted.lock().expect("lock").insert(id, tx);
                Ok(SubmitReceipt { tx_id: id })
            }
        }
    }

    async fn tx_status(&self, tx_id: [u8; 32]) -> Result<TxStatus, ApiError> {
        Ok(match tx_id {
            FINALIZED => TxStatus::Finalized {
                height: 1,
                position: 0,
                log_index: 41,
            },
            REJECTED => TxStatus::Rejected {
                code: "TX_NONCE_INVALID".into(),
                numeric_code: 1103,
                details: vec![],
            },
            id if self.submitted.lock().expect("lock").contains_key(&id) => TxStatus::Pending,
            _ => TxStatus::Unknown,
        })
    }

    async fn status(&self) -> Result<NodeStatus, ApiError> {
        Ok(status())
    }

    async fn block(&self, at: BlockRef) -> Result<Option<BlockInfo>, ApiError> {
        match at {
            BlockRef::Height(1) | BlockRef::Id(BLOCK1_ID) | BlockRef::Latest => Ok(Some(block1())),
            BlockRef::Height(BIG_BLOCK) => Ok(Some(BlockInfo {
                height: BIG_BLOCK,
                bytes: vec![7; 4096],
                ..block1()
            })),
            BlockRef::Height(u64::MAX) => Err(ApiError::internal("storage read failed")),
            _ => Ok(None),
        }
    }

    async fn finality_proof(&self, tx_id: [u8; 32]) -> Result<Option<FinalityProof>, ApiError> {
        Ok((tx_id == FINALIZED).then(proof))
    }

    async fn checkpoint(&self, tree_size: Option<u64>) -> Result<Option<CheckpointInfo>, ApiError> {
        Ok(match tree_size {
            None => Some(checkpoint(42)),
            Some(n) if n <= 42 => Some(checkpoint(n)),
            Some(_) => None,
        })
    }

    async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ApiError> {
        if old_size > new_size || new_size > 42 {
            return Err(ApiError::invalid_params(format!(
                "no consistency proof from {old_size} to {new_size}"
            )));
        }
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path: path(old_size, new_size),
        })
    }

    async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ApiError> {
        if leaf_index >= tree_size || tree_size > 42 {
            return Err(ApiError::invalid_params(format!(
                "no entry {leaf_index} in a log of {tree_size}"
            )));
        }
        Ok(InclusionProof {
            leaf_index,
            tree_size,
            path: path(leaf_index, tree_size),
        })
    }

    async fn deployment(&self, deployment_id: String) -> Result<Option<DeploymentInfo>, ApiError> {
        Ok((deployment_id == "dep-1").then(deployment))
    }

    async fn identity(&self, id: String) -> Result<Option<Value>, ApiError> {
        if id == SLOW_ID {
            std::future::pending::<()>().await;
        }
        Ok((id == "alice").then(identity))
    }

    async fn policy(
        &self,
        service: String,
        environment: String,
    ) -> Result<Option<Value>, ApiError> {
        Ok((service == "web" && environment == "prod").then(policy))
    }

    async fn validators(&self) -> Result<Vec<ValidatorInfo>, ApiError> {
        Ok(validators())
    }

    async fn audit_record(&self, tx_id: [u8; 32]) -> Result<Option<AuditRecordInfo>, ApiError> {
        match tx_id {
            AUDIT_TX => Ok(Some(audit_record())),
            SLOW_AUDIT_TX => std::future::pending().await,
            UNAVAILABLE_AUDIT_TX => Err(ApiError::unavailable("the node is starting")),
            FAILING_AUDIT_TX => Err(ApiError::internal("storage read failed")),
            _ => Ok(None),
        }
    }

    async fn audit_chain(
        &self,
        agent_id: String,
        from_sequence: u64,
        limit: u32,
    ) -> Result<AuditChainPage, ApiError> {
        if agent_id != AUDIT_AGENT {
            return Ok(AuditChainPage {
                agent_id,
                length: 0,
                records: Vec::new(),
                next: None,
            });
        }
        let length = audit_record().sequence;
        let last = from_sequence
            .saturating_add(u64::from(limit))
            .saturating_sub(1)
            .min(length);
        let records = (from_sequence.max(1)..=last)
            .map(|sequence| AuditRecordInfo {
                sequence,
                finality_proof: None,
                ..audit_record()
            })
            .collect();
        Ok(AuditChainPage {
            agent_id,
            length,
            records,
            next: (last < length).then_some(last + 1),
        })
    }

    async fn verify_audit_chain(
        &self,
        agent_id: String,
        to_sequence: Option<u64>,
    ) -> Result<AuditChainVerification, ApiError> {
        if agent_id != AUDIT_AGENT {
            return Err(ApiError::invalid_params(format!(
                "agent `{agent_id}` has no committed audit record"
            )));
        }
        let to = to_sequence.unwrap_or(audit_record().sequence);
        Ok(verification(to))
    }

    async fn attestation(&self, log_index: u64) -> Result<Option<AttestationInfo>, ApiError> {
        Ok(attestations()
            .into_iter()
            .find(|a| a.log_index == log_index))
    }

    async fn attestations_by_subject(
        &self,
        subject: String,
        after: Option<PageCursor>,
        limit: u32,
    ) -> Result<AttestationPage, ApiError> {
        if !subject.starts_with("sha256:") {
            return Err(ApiError::invalid_params(format!(
                "`subject`: {subject:?} is not sha256:<hex>"
            )));
        }
        // The fake's attestations are at (height, position) = (log_index, 0).
        let matching: Vec<AttestationInfo> = attestations()
            .into_iter()
            .filter(|a| a.subjects.contains(&subject))
            .filter(|a| after.is_none_or(|c| a.height > c.height))
            .collect();
        let page: Vec<AttestationInfo> = matching.iter().take(limit as usize).cloned().collect();
        let next = (matching.len() > page.len())
            .then(|| {
                page.last().map(|a| PageCursor {
                    height: a.height,
                    position: 0,
                })
            })
            .flatten();
        Ok(AttestationPage {
            subject,
            attestations: page,
            next,
        })
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }
}

pub fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

/// A transaction with `body` (unsigned: the RPC layer only looks at the body kind).
fn tx_with(body: tx_body::Kind) -> Vec<u8> {
    Transaction {
        payload: Some(TxPayload {
            chain_id: "maat-test".into(),
            submitter: "alice".into(),
            nonce: 1,
            body: Some(TxBody { kind: Some(body) }),
        }),
        signature: vec![9; 4],
    }
    .encode_to_vec()
}

/// A certificate transaction (first byte 0x0a: admitted by the fake, id [0x0a; 32]).
pub fn certificate_tx() -> Vec<u8> {
    tx_with(tx_body::Kind::Certificate(CertificateTx {
        certificate_json: b"{}".to_vec(),
    }))
}

/// An audit record transaction of `agent` (first byte 0x0a: admitted by the fake with id
/// [0x0a; 32] unless `agent` is one of the special ones of [`FakeNode`]).
pub fn audit_record_tx(agent: &str) -> Vec<u8> {
    tx_with(tx_body::Kind::AuditRecord(AuditRecordTx {
        agent_id: agent.into(),
        session_id: "s-1".into(),
        event_type: "gate_decision".into(),
        risk: "low".into(),
        timestamp_ms: 1_767_225_600_000,
        sequence: 1,
        previous_hash: vec![0; 32],
        data_json: br#"{"decision":"allow"}"#.to_vec(),
        salt: vec![7; 32],
    }))
}

/// An identity operation transaction.
pub fn identity_tx() -> Vec<u8> {
    tx_with(tx_body::Kind::IdentityOp(IdentityOp {
        op: Some(identity_op::Op::Revoke(RevokeIdentity { id: "bob".into() })),
    }))
}

pub fn new_block(height: u64) -> NodeEvent {
    NodeEvent::NewBlock {
        height,
        block_id: [u8::try_from(height % 256).unwrap_or(0); 32],
        tx_count: 2,
        timestamp_ms: 1000 * height,
        log_size: 40 + height,
    }
}

pub fn finalized(
    tag: u8,
    service: Option<&str>,
    environment: Option<&str>,
    agent: Option<&str>,
) -> NodeEvent {
    NodeEvent::FinalizedTx {
        tx_id: [tag; 32],
        height: 1,
        position: 0,
        log_index: u64::from(tag),
        kind: "certificate".into(),
        submitter: "alice".into(),
        service: service.map(Into::into),
        environment: environment.map(Into::into),
        agent: agent.map(Into::into),
    }
}

pub fn equivocation(culprit: u32) -> NodeEvent {
    NodeEvent::Equivocation {
        culprit,
        round: 9,
        kind: "vote".into(),
        evidence: vec![1, 2, 3],
    }
}

/// A generous bound for anything a test awaits (a hang fails instead of blocking CI).
pub const PATIENCE: Duration = Duration::from_secs(10);
