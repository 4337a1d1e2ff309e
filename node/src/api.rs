//! The node's side of the RPC interface: committed data straight from RocksDB, pending data
//! and submissions through the driver.

use std::sync::Arc;

use maat_consensus::{Block, Decode as _};
use maat_rpc::{ApiError, BlockInfo, NodeApi, NodeStatus, SubmitReceipt, TxStatus};
use maat_storage::Store;
use tokio::sync::{mpsc, oneshot, watch};

use crate::driver::{Command, PendingStatus, StatusSnapshot};

/// [`NodeApi`] of a running node.
pub struct NodeRpc {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) store: Arc<Store>,
    pub(crate) status: watch::Receiver<StatusSnapshot>,
    pub(crate) chain_id: String,
    pub(crate) genesis_hash: [u8; 32],
    pub(crate) validator: Option<u32>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e.to_string())
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
            .map_err(|_| internal("the node is shutting down"))?;
        rx.await.map_err(|_| internal("the node is shutting down"))
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
            chain_id: self.chain_id.clone(),
            genesis_hash: self.genesis_hash,
            height: s.height,
            round: s.round,
            peers: s.peers,
            syncing: s.syncing,
            validator: self.validator,
            mempool_txs: s.mempool_txs,
            log_size: s.log_size,
        })
    }

    async fn block(&self, height: u64) -> Result<Option<BlockInfo>, ApiError> {
        let Some(stored) = self.store.block(height).map_err(internal)? else {
            return Ok(None);
        };
        let block = Block::decode(&stored.bytes).map_err(|e| internal(format!("{e:?}")))?;
        let tx_ids = self
            .store
            .block_txs(height)
            .map_err(internal)?
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.tx_id)
            .collect();
        Ok(Some(BlockInfo {
            height,
            block_id: stored.block_id,
            timestamp_ms: block.timestamp_ms,
            tx_ids,
            bytes: stored.bytes,
        }))
    }
}
