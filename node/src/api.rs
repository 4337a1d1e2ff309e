//! The node's side of the RPC interface: committed data straight from RocksDB, pending data
//! and submissions through the driver.

use std::sync::Arc;

use maat_consensus::{Block, Decode as _, Encode as _};
use maat_crypto::checkpoint::verify_cosigned;
use maat_ledger::finality::{FINALITY_PROOF_VERSION, FinalityProof, checkpoint_keys};
use maat_ledger::{Genesis, state};
use maat_rpc::{
    ApiError, AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification,
    AuditRecordInfo, BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo,
    InclusionProof, NodeApi, NodeEvent, NodeStatus, PageCursor, SubmitReceipt, TxRef, TxStatus,
    ValidatorInfo, codes,
};
use maat_storage::{Store, TxQuery};
use serde_json::json;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::api_proof;
use crate::driver::{Command, PendingStatus, StatusSnapshot};
use crate::exec::StoreView;

/// [`NodeApi`] of a running node.
pub struct NodeRpc {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) store: Arc<Store>,
    pub(crate) status: watch::Receiver<StatusSnapshot>,
    pub(crate) genesis: Arc<Genesis>,
    pub(crate) validator: Option<u32>,
    pub(crate) events: broadcast::Sender<NodeEvent>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e.to_string())
}

/// The driver has stopped: a client should retry elsewhere or later, as for any unavailable
/// node (the chaos run found clients giving up on the former `INTERNAL` answer).
fn shutting_down() -> ApiError {
    ApiError::unavailable("the node is shutting down")
}

impl NodeRpc {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| shutting_down())?;
        rx.await.map_err(|_| shutting_down())
    }
}

#[async_trait::async_trait]
impl NodeApi for NodeRpc {
    async fn submit_tx(&self, tx: Vec<u8>) -> Result<SubmitReceipt, ApiError> {
        match self.ask(|reply| Command::Submit { tx, reply }).await? {
            Ok(tx_id) => Ok(SubmitReceipt { tx_id: tx_id.0 }),
            Err(e) => Err(ApiError::tx_rejected(
                e.to_string(),
                e.code(),
                e.numeric_code(),
                e.detail_codes().into_iter().map(str::to_owned).collect(),
            )),
        }
    }

    async fn tx_status(&self, tx_id: [u8; 32]) -> Result<TxStatus, ApiError> {
        if let Some(rec) = self.store.tx(&tx_id).map_err(internal)? {
            return Ok(TxStatus::Finalized {
                height: rec.pos.height,
                position: rec.pos.position,
                log_index: rec.log_index,
            });
        }
        let id = maat_proto::TxId(tx_id);
        Ok(
            match self
                .ask(|reply| Command::Pending { tx_id: id, reply })
                .await?
            {
                PendingStatus::Unknown => TxStatus::Unknown,
                PendingStatus::Pending => TxStatus::Pending,
                PendingStatus::Rejected(r) => TxStatus::Rejected {
                    code: r.code().to_owned(),
                    numeric_code: r.numeric_code(),
                    details: r.detail_codes().into_iter().map(str::to_owned).collect(),
                },
            },
        )
    }

    async fn status(&self) -> Result<NodeStatus, ApiError> {
        let s = self.status.borrow().clone();
        Ok(NodeStatus {
            chain_id: self.genesis.chain_id().to_owned(),
            genesis_hash: self.genesis.hash(),
            height: s.height,
            round: s.round,
            peers: s.peers,
            syncing: s.syncing,
            validator: self.validator,
            mempool_txs: s.mempool_txs,
            log_size: s.log_size,
        })
    }

    async fn block(&self, at: BlockRef) -> Result<Option<BlockInfo>, ApiError> {
        let stored = match at {
            BlockRef::Height(h) => self.store.block(h),
            BlockRef::Id(id) => self.store.block_by_id(&id),
            BlockRef::Latest => match self.store.meta().map_err(internal)? {
                Some(m) => self.store.block(m.height),
                None => Ok(None),
            },
        }
        .map_err(internal)?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let block = Block::decode(&stored.bytes).map_err(|e| internal(format!("{e:?}")))?;
        let app = app_header(&block)?;
        let tx_ids = self
            .store
            .block_txs(stored.height)
            .map_err(internal)?
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.tx_id)
            .collect();
        Ok(Some(BlockInfo {
            height: stored.height,
            block_id: stored.block_id,
            round: block.round,
            parent: block.parent.0,
            proposer: block.proposer.0,
            timestamp_ms: block.timestamp_ms,
            log_size: app.0,
            log_root: app.1,
            tx_ids,
            bytes: stored.bytes,
        }))
    }

    async fn finality_proof(&self, tx_id: [u8; 32]) -> Result<Option<FinalityProof>, ApiError> {
        let Some(rec) = self.store.tx(&tx_id).map_err(internal)? else {
            return Ok(None);
        };
        let Some((anchor_height, record)) = self
            .store
            .finality_at_or_above(rec.pos.height)
            .map_err(internal)?
        else {
            return Err(ApiError::new(
                codes::UNAVAILABLE,
                "the transaction is committed but no block at or above it has its commit \
                 proof stored yet; retry after the next commit",
            ));
        };
        let stored = self
            .store
            .block(anchor_height)
            .map_err(internal)?
            .ok_or_else(|| internal(format!("anchor block {anchor_height} missing")))?;
        let block = Block::decode(&stored.bytes).map_err(|e| internal(format!("{e:?}")))?;
        let (tree_size, _) = app_header(&block)?;
        let path = self
            .store
            .inclusion_proof(rec.log_index, tree_size)
            .map_err(internal)?;
        Ok(Some(FinalityProof {
            version: FINALITY_PROOF_VERSION,
            chain_id: self.genesis.chain_id().to_owned(),
            genesis_hash: self.genesis.hash(),
            tx: rec.bytes,
            log_index: rec.log_index,
            block_height: rec.pos.height,
            tree_size,
            inclusion_path: path.into_iter().map(|h| h.0).collect(),
            header: block.header().encode(),
            child_header: record.child_header,
            child_qc: record.child_qc,
        }))
    }

    async fn checkpoint(&self, tree_size: Option<u64>) -> Result<Option<CheckpointInfo>, ApiError> {
        let Some((size, note)) = self.store.checkpoint(tree_size).map_err(internal)? else {
            return Ok(None);
        };
        let keys = checkpoint_keys(&self.genesis).map_err(internal)?;
        let total: u64 = keys.iter().map(|(_, p)| *p).sum();
        let quorum = maat_crypto::checkpoint::bft_quorum_power(total);
        let verified = verify_cosigned(&note, self.genesis.chain_id(), &keys, quorum)
            .map_err(|e| internal(format!("stored checkpoint {size} does not verify: {e}")))?;
        Ok(Some(CheckpointInfo {
            tree_size: size,
            root: verified.checkpoint.root,
            note,
            cosigners: verified.signers.len() as u32,
            quorum: u32::try_from(quorum).unwrap_or(u32::MAX),
            is_final: true,
        }))
    }

    async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ApiError> {
        let size = self.store.log_size().map_err(internal)?;
        if old_size > new_size || new_size > size {
            return Err(ApiError::invalid_params(format!(
                "need old_size <= new_size <= {size} (the committed log size); got {old_size}, \
                 {new_size}"
            )));
        }
        let path = self
            .store
            .consistency_proof(old_size, new_size)
            .map_err(internal)?;
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path: path.into_iter().map(|h| h.0).collect(),
        })
    }

    async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ApiError> {
        let size = self.store.log_size().map_err(internal)?;
        if leaf_index >= tree_size || tree_size > size {
            return Err(ApiError::invalid_params(format!(
                "need leaf_index < tree_size <= {size} (the committed log size); got \
                 {leaf_index}, {tree_size}"
            )));
        }
        let path = self
            .store
            .inclusion_proof(leaf_index, tree_size)
            .map_err(internal)?;
        Ok(InclusionProof {
            leaf_index,
            tree_size,
            path: path.into_iter().map(|h| h.0).collect(),
        })
    }

    async fn deployment(&self, deployment_id: String) -> Result<Option<DeploymentInfo>, ApiError> {
        let view = StoreView(self.store.clone());
        let Some(r) = state::deployment_record(&view, &deployment_id).map_err(internal)? else {
            return Ok(None);
        };
        let page = self
            .store
            .txs_by_deployment(
                &deployment_id,
                &TxQuery {
                    limit: 1000,
                    ..TxQuery::default()
                },
            )
            .map_err(internal)?;
        let txs = page
            .txs
            .into_iter()
            .map(|t| TxRef {
                tx_id: t.tx_id,
                height: t.pos.height,
                position: t.pos.position,
                log_index: t.log_index,
            })
            .collect();
        Ok(Some(DeploymentInfo {
            deployment_id,
            record: json!({
                "deployment_id": r.deployment_id,
                "tx_id": hex::encode(&r.tx_id),
                "service": r.service,
                "environment": r.environment,
                "policy_root": r.policy_root,
                "certificate_digest": r.certificate_digest,
                "submitter": r.submitter,
                "block_time_ms": r.block_time_ms,
            }),
            txs,
        }))
    }

    async fn identity(&self, id: String) -> Result<Option<serde_json::Value>, ApiError> {
        let view = StoreView(self.store.clone());
        let Some(r) = state::identity_record(&view, &id).map_err(internal)? else {
            return Ok(None);
        };
        let key = |k: &maat_proto::v1::PublicKey| {
            maat_proto::tx::key_from_proto(k)
                .map_or_else(|e| format!("invalid: {e}"), |k| k.to_text())
        };
        let last_nonce = state::last_nonce(&view, &id).map_err(internal)?;
        Ok(Some(json!({
            "id": r.id,
            "last_nonce": last_nonce,
            "active_key": r.active_key.as_ref().map(key),
            "rotated_out_keys": r.rotated_out_keys.iter().map(key).collect::<Vec<_>>(),
            "revoked": r.revoked,
            "roles": r.roles,
            "registered_by_tx": hex::encode(&r.registered_by_tx),
        })))
    }

    async fn policy(
        &self,
        service: String,
        environment: String,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        let view = StoreView(self.store.clone());
        let Some(r) = state::policy_record(&view, &service, &environment).map_err(internal)? else {
            return Ok(None);
        };
        let policy: serde_json::Value = serde_json::from_slice(&r.policy_json)
            .unwrap_or_else(|_| serde_json::Value::String(hex::encode(&r.policy_json)));
        Ok(Some(json!({
            "service": r.service,
            "environment": r.environment,
            "version": r.version,
            "policy": policy,
            "policy_root": r.policy_root,
            "signers": r.signers.iter().map(|s| json!({
                "evidence_type": s.evidence_type,
                "identities": s.identities,
                "roles": s.roles,
            })).collect::<Vec<_>>(),
            "tx_id": hex::encode(&r.tx_id),
        })))
    }

    async fn validators(&self) -> Result<Vec<ValidatorInfo>, ApiError> {
        Ok(self
            .genesis
            .validators()
            .iter()
            .enumerate()
            .map(|(i, v)| ValidatorInfo {
                index: i as u32,
                id: v.id.clone(),
                public_key: v.public_key.to_text(),
                peer_id: v.peer_id.clone(),
                voting_power: v.voting_power,
            })
            .collect())
    }

    async fn audit_record(&self, tx_id: [u8; 32]) -> Result<Option<AuditRecordInfo>, ApiError> {
        let Some(rec) = self.store.tx(&tx_id).map_err(internal)? else {
            return Ok(None);
        };
        let Some(mut info) = api_proof::audit_record_info(rec)? else {
            return Ok(None);
        };
        info.finality_proof = self.finality_proof(tx_id).await?;
        Ok(Some(info))
    }

    async fn audit_chain(
        &self,
        agent_id: String,
        from_sequence: u64,
        limit: u32,
    ) -> Result<AuditChainPage, ApiError> {
        let store = Arc::clone(&self.store);
        blocking(move || api_proof::audit_chain(&store, &agent_id, from_sequence, limit)).await
    }

    async fn verify_audit_chain(
        &self,
        agent_id: String,
        to_sequence: Option<u64>,
    ) -> Result<AuditChainVerification, ApiError> {
        let store = Arc::clone(&self.store);
        let chain = self.genesis.chain_id().to_owned();
        // The scan stops when the caller goes away (request timeout, closed connection).
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _guard = StopOnDrop(Arc::clone(&stop));
        blocking(move || {
            api_proof::verify_audit_chain(&store, &chain, &agent_id, to_sequence, &stop)
        })
        .await
    }

    async fn attestation(&self, log_index: u64) -> Result<Option<AttestationInfo>, ApiError> {
        let store = Arc::clone(&self.store);
        blocking(move || api_proof::attestation(&store, log_index)).await
    }

    async fn attestations_by_subject(
        &self,
        subject: String,
        after: Option<PageCursor>,
        limit: u32,
    ) -> Result<AttestationPage, ApiError> {
        let store = Arc::clone(&self.store);
        blocking(move || api_proof::attestations_by_subject(&store, &subject, after, limit)).await
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }
}

/// Sets its flag when dropped: a blocking scan polls it to stop once nobody waits for it.
struct StopOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs a long store scan off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(format!("query task failed: {e}")))?
}

/// The log size and root a block's app header commits to.
fn app_header(block: &Block) -> Result<(u64, [u8; 32]), ApiError> {
    let app: maat_proto::v1::AppHeader =
        maat_proto::decode_canonical(&block.app_header, block.app_header.len())
            .map_err(|e| internal(format!("stored app header: {e}")))?;
    let root = <[u8; 32]>::try_from(app.log_root.as_slice())
        .map_err(|_| internal("stored app header: log root is not 32 bytes"))?;
    Ok((app.log_size, root))
}
