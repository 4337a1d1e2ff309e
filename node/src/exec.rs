//! Execution of blocks against the ledger: the committed state in RocksDB, the executed pending
//! blocks above it (an overlay per ancestor), building a proposal's payload, validating a
//! peer's proposal before voting, and turning a final block into one storage batch.

use std::collections::HashMap;
use std::sync::Arc;

use maat_consensus::{Block, BlockId, Height};
use maat_crypto::merkle::Frontier;
use maat_ledger::{
    BlockError, BlockOutcome, KnownSignatures, Ledger, Overlay, StateError, StateView, TxSubject,
};
use maat_proto::v1;
use maat_storage::{AuditIndexEntry, CommitBatch, CommittedTx, Store};

use maat_consensus::wire::{WireError, decode_payload, encode_payload};

/// The committed state, read from RocksDB.
#[derive(Clone)]
pub struct StoreView(pub Arc<Store>);

impl StateView for StoreView {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.0
            .state_get(key)
            .map_err(|e| StateError::Read(e.to_string()))
    }
}

/// A block this node executed: what its commit writes and what its children build on.
#[derive(Debug)]
pub struct Executed {
    /// Its height.
    pub height: Height,
    /// Its parent.
    pub parent: BlockId,
    /// Its transactions.
    pub txs: Vec<Vec<u8>>,
    /// Writes, log leaves, log after it, header.
    pub outcome: BlockOutcome,
}

/// A block built by [`Executor::build`]: payload, application header, execution.
pub type Built = (Vec<u8>, Vec<u8>, Arc<Executed>);

/// Why a block cannot be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The payload or application header does not decode.
    #[error("undecodable block: {0}")]
    Undecodable(String),
    /// The ledger refused the block (a transaction fails, or the header differs). Boxed: the
    /// rare, large variant would otherwise size every `Result` of the executor.
    #[error(transparent)]
    Invalid(Box<BlockError>),
    /// An ancestor is neither committed nor executed here.
    #[error("ancestor {0} is unknown")]
    MissingAncestor(BlockId),
    /// The state could not be read: no verdict.
    #[error("state unreadable: {0}")]
    State(StateError),
}

impl From<BlockError> for ExecError {
    fn from(e: BlockError) -> Self {
        match e {
            BlockError::State(s) => ExecError::State(s),
            other => ExecError::Invalid(Box::new(other)),
        }
    }
}

impl From<WireError> for ExecError {
    fn from(e: WireError) -> Self {
        ExecError::Undecodable(e.to_string())
    }
}

/// The committed root and the executed pending blocks above it.
pub struct Executor {
    ledger: Arc<Ledger>,
    store: Arc<Store>,
    root_id: BlockId,
    root_height: Height,
    frontier: Frontier,
    executed: HashMap<BlockId, Arc<Executed>>,
}

impl Executor {
    /// Starts from the committed head.
    pub fn new(
        ledger: Arc<Ledger>,
        store: Arc<Store>,
        root_id: BlockId,
        root_height: Height,
    ) -> Result<Self, maat_storage::StoreError> {
        let frontier = store.log_frontier()?;
        Ok(Executor {
            ledger,
            store,
            root_id,
            root_height,
            frontier,
            executed: HashMap::new(),
        })
    }

    /// The committed transparency log's size.
    pub fn committed_log_size(&self) -> u64 {
        self.frontier.size()
    }

    /// The committed transparency log's size and root.
    pub fn committed_log(&self) -> (u64, [u8; 32]) {
        (self.frontier.size(), self.frontier.root().0)
    }

    /// The committed state.
    pub fn committed(&self) -> StoreView {
        StoreView(self.store.clone())
    }

    /// The committed root's height.
    pub fn root_height(&self) -> Height {
        self.root_height
    }

    /// The executed block `id`, if any.
    pub fn get(&self, id: &BlockId) -> Option<&Arc<Executed>> {
        self.executed.get(id)
    }

    /// Whether the state after `id` is available (committed root or executed).
    pub fn has_state_after(&self, id: &BlockId) -> bool {
        *id == self.root_id || self.executed.contains_key(id)
    }

    /// The state and log after block `parent` (the root or an executed pending block).
    pub fn state_after(
        &self,
        parent: &BlockId,
    ) -> Result<(Overlay<StoreView>, Frontier), ExecError> {
        let mut chain = Vec::new();
        let mut cur = *parent;
        while cur != self.root_id {
            let e = self
                .executed
                .get(&cur)
                .ok_or(ExecError::MissingAncestor(cur))?;
            chain.push(e.clone());
            cur = e.parent;
        }
        let log = chain
            .first()
            .map_or_else(|| self.frontier.clone(), |e| e.outcome.log.clone());
        let mut view = Overlay::new(self.committed());
        for e in chain.iter().rev() {
            view.extend(e.outcome.writes.iter().cloned());
        }
        Ok((view, log))
    }

    /// Replays every transaction of `block` at its timestamp on the state after its parent
    /// and checks the proposer's application header: what a validator does before voting.
    pub fn execute(
        &mut self,
        id: BlockId,
        block: &Block,
        known: &dyn KnownSignatures,
    ) -> Result<Arc<Executed>, ExecError> {
        if let Some(e) = self.executed.get(&id) {
            return Ok(e.clone());
        }
        let max_txs = u32::try_from(self.ledger.params().max_block_txs).unwrap_or(u32::MAX);
        let txs = decode_payload(&block.payload, max_txs)?;
        let header: v1::AppHeader =
            maat_proto::decode_canonical(&block.app_header, block.app_header.len())
                .map_err(|e| ExecError::Undecodable(format!("app header: {e}")))?;
        let (view, log) = self.state_after(&block.parent)?;
        let outcome =
            self.ledger
                .verify_block(&view, block.timestamp_ms, &txs, &log, &header, known)?;
        let e = Arc::new(Executed {
            height: block.height,
            parent: block.parent,
            txs: txs.into_iter().map(<[u8]>::to_vec).collect(),
            outcome,
        });
        self.executed.insert(id, e.clone());
        Ok(e)
    }

    /// Records a block this node built itself (its outcome is already known).
    pub fn insert_own(&mut self, id: BlockId, e: Arc<Executed>) {
        self.executed.insert(id, e);
    }

    /// Builds a block on `parent` at `time_ms` from `candidates` (already selected in order
    /// by the mempool): the payload, the application header and the execution.
    pub fn build(
        &self,
        parent: &BlockId,
        height: Height,
        time_ms: u64,
        candidates: Vec<Vec<u8>>,
        known: &dyn KnownSignatures,
    ) -> Result<Built, ExecError> {
        let (view, log) = self.state_after(parent)?;
        let built = self
            .ledger
            .build_block(&view, time_ms, candidates, &log, known)?;
        let payload = if built.txs.is_empty() {
            Vec::new()
        } else {
            encode_payload(&built.txs)
        };
        let header = built.outcome.header_bytes();
        let e = Arc::new(Executed {
            height,
            parent: *parent,
            txs: built.txs,
            outcome: built.outcome,
        });
        Ok((payload, header, e))
    }

    /// The storage batch committing executed block `id` with `qc_bytes` (the QC that
    /// certifies it), making the pending records in `remove_pending` obsolete.
    pub fn commit_batch(
        &self,
        id: &BlockId,
        block_bytes: Vec<u8>,
        qc_bytes: Vec<u8>,
        remove_pending: Vec<[u8; 32]>,
    ) -> Option<CommitBatch> {
        let e = self.executed.get(id)?;
        let txs = e
            .txs
            .iter()
            .zip(&e.outcome.txs)
            .map(|(bytes, applied)| {
                let (deployment_id, service_env) = match &applied.effects.subject {
                    TxSubject::Deployment {
                        deployment_id,
                        service,
                        environment,
                        ..
                    } => (
                        Some(deployment_id.clone()),
                        Some((service.clone(), environment.clone())),
                    ),
                    _ => (None, None),
                };
                let audit_record = match &applied.effects.subject {
                    TxSubject::AuditRecord {
                        agent_id, sequence, ..
                    } => Some(AuditIndexEntry {
                        agent_id: agent_id.clone(),
                        sequence: *sequence,
                    }),
                    _ => None,
                };
                let subjects = match &applied.effects.subject {
                    TxSubject::Attestation { subjects, .. } => subjects.clone(),
                    _ => Vec::new(),
                };
                CommittedTx {
                    tx_id: applied.effects.tx_id.0,
                    tx_bytes: bytes.clone(),
                    log_index: applied.log_index,
                    deployment_id,
                    service_env,
                    audit_record,
                    subjects,
                }
            })
            .collect();
        Some(CommitBatch {
            height: e.height,
            block_id: id.0,
            block_bytes,
            commit_qc_bytes: qc_bytes,
            txs,
            state_changes: e.outcome.writes.clone(),
            log_leaves: e.outcome.log_leaves.clone(),
            remove_pending,
            finality: None,
        })
    }

    /// After `id` was committed: it is the new root; executions at or below its height go.
    pub fn advance_root(&mut self, id: BlockId) -> Option<Arc<Executed>> {
        let e = self.executed.remove(&id)?;
        self.root_id = id;
        self.root_height = e.height;
        self.frontier = e.outcome.log.clone();
        let h = self.root_height;
        self.executed.retain(|_, x| x.height > h);
        Some(e)
    }

    /// Number of executed pending blocks.
    pub fn len(&self) -> usize {
        self.executed.len()
    }

    /// Whether no pending block is executed.
    pub fn is_empty(&self) -> bool {
        self.executed.is_empty()
    }
}

/// The first commit of a new database: the genesis block with the genesis state.
pub fn genesis_batch(
    block: &Block,
    qc_bytes: Vec<u8>,
    state: Vec<maat_ledger::Write>,
) -> CommitBatch {
    use maat_consensus::Encode as _;
    CommitBatch {
        height: 0,
        block_id: block.id().0,
        block_bytes: block.encode(),
        commit_qc_bytes: qc_bytes,
        txs: Vec::new(),
        state_changes: state,
        log_leaves: Vec::new(),
        remove_pending: Vec::new(),
        finality: None,
    }
}
