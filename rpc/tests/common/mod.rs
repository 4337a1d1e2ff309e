//! A fake `NodeApi` shared by the RPC tests (the tests are of the RPC layer: routing,
//! parameters, encodings, error codes, limits, subscriptions), and helpers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use maat_proto::Message as _;
use maat_proto::v1::{
    CertificateTx, IdentityOp, RevokeIdentity, Transaction, TxBody, TxPayload, identity_op, tx_body,
};
use maat_rpc::{
    ApiError, BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo, FinalityProof,
    InclusionProof, NodeApi, NodeEvent, NodeStatus, SubmitReceipt, TxRef, TxStatus, ValidatorInfo,
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

/// Transactions whose first byte is 0xff are "rejected"; others are admitted, id = first
/// byte repeated. Block 1 exists (also by id and as the latest); block `u64::MAX` fails
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

pub fn path(a: u64, b: u64) -> Vec<[u8; 32]> {
    vec![
        [u8::try_from(a % 256).unwrap_or(0); 32],
        [u8::try_from(b % 256).unwrap_or(0); 32],
    ]
}

#[async_trait::async_trait]
impl NodeApi for FakeNode {
    async fn submit_tx(&self, tx: Vec<u8>) -> Result<SubmitReceipt, ApiError> {
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
