//! A synthetic but fully real finality proof, built without a network: a generated genesis with
//! `n` ML-DSA-65 validators, an in-memory transparency log of canonical signed transactions, an
//! anchor block whose app header commits to that log, its child one round later (whose `justify`
//! certifies the anchor) and a QC over the child, every QC signed with the validators' genesis
//! keys over `SigningDomain::vote_bytes`.
//!
//! Shared by `tests/finality.rs` and `benches/finality.rs` (both include it with `#[path]`).
#![allow(dead_code)]

use std::sync::Arc;

use maat_consensus::wire::encode_payload;
use maat_consensus::{Block, BlockId, Encode as _, Qc, SigBytes, Signer as _, ValidatorIndex};
use maat_crypto::merkle::{MemoryNodeStore, MerkleLog};
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::finality::{ChainKeys, FINALITY_PROOF_VERSION, FinalityProof};
use maat_ledger::signing::MlDsaSigner;
use maat_ledger::{Genesis, GenesisSpec, build_app_header};
use maat_proto::tx::{self, body};
use maat_proto::{TxId, v1};

/// Genesis time of every fixture chain (2026-01-01T00:00:00Z).
pub const GENESIS_MS: u64 = 1_767_225_600_000;
/// Height of the anchor block.
pub const ANCHOR_HEIGHT: u64 = 5;
/// Round of the anchor block (its child is in `ANCHOR_ROUND + 1`).
pub const ANCHOR_ROUND: u64 = 7;
/// Transactions in the log before the anchor block.
pub const EARLIER_TXS: usize = 4;
/// Transactions in the anchor block (appended to the log by it).
pub const ANCHOR_TXS: usize = 3;
/// The log index the default proof is for (the anchor block's second transaction).
pub const TX_INDEX: u64 = 5;

/// A chain's genesis with its secret material, in the forms the fixture needs.
pub struct Chain {
    /// The genesis.
    pub genesis: Genesis,
    /// Validator `i`'s consensus signer (its genesis ML-DSA-65 key).
    pub signers: Vec<MlDsaSigner>,
    /// `admin-0`'s Ed25519 key (signs the log's transactions).
    pub admin: KeyPair,
    /// The consensus view of the genesis.
    pub keys: ChainKeys,
}

impl Chain {
    /// `Genesis::generate` with `n` validators (voting power 1 each) from a seed of `seed` bytes.
    pub fn generate(n: usize, seed: u8) -> Self {
        let g = Genesis::generate(&GenesisSpec::new(n, [seed; 32])).expect("generate genesis");
        let keys = ChainKeys::from_genesis(&g.genesis).expect("chain keys");
        let mut admins = g.admin_keys.into_iter();
        Chain {
            genesis: g.genesis,
            signers: g
                .validator_keys
                .into_iter()
                .map(|k| MlDsaSigner(Arc::new(k)))
                .collect(),
            admin: admins.next().expect("one admin"),
            keys,
        }
    }

    /// Validator `i`'s key pair.
    pub fn key(&self, i: usize) -> &KeyPair {
        &self.signers[i].0
    }

    /// The smallest prefix `0..k` of the validators that reaches the quorum (2f+1 for equal
    /// powers).
    pub fn quorum(&self) -> Vec<u32> {
        let need = self.keys.validators.quorum_power();
        let mut power = 0;
        let mut out = Vec::new();
        for v in self.keys.validators.indices() {
            if power >= need {
                break;
            }
            power += self.keys.validators.power(v).expect("in set");
            out.push(v.0);
        }
        out
    }

    /// Validator `v`'s vote signature for `(id, round, height)`.
    pub fn vote(&self, v: u32, id: &BlockId, round: u64, height: u64) -> SigBytes {
        self.signers[v as usize].sign(&self.keys.domain.vote_bytes(id, round, height))
    }

    /// A QC for `(id, round, height)` signed by `signers` (sorted ascending by the caller).
    pub fn qc(&self, id: BlockId, round: u64, height: u64, signers: &[u32]) -> Qc {
        Qc {
            block_id: id,
            round,
            height,
            signatures: signers
                .iter()
                .map(|&v| (ValidatorIndex(v), self.vote(v, &id, round, height)))
                .collect(),
        }
    }

    /// A QC for `block` signed by `signers`.
    pub fn qc_for(&self, block: &Block, signers: &[u32]) -> Qc {
        self.qc(block.id(), block.round, block.height, signers)
    }

    /// The canonical bytes of `admin-0`'s transaction with `nonce`, registering `user-<nonce>`.
    pub fn tx(&self, nonce: u64) -> Vec<u8> {
        let user = KeyPair::from_seed(Algorithm::Ed25519, &[nonce as u8; 32]);
        let payload = tx::payload(
            self.genesis.chain_id(),
            "admin-0",
            nonce,
            body::register(&format!("user-{nonce}"), &user.public(), &["deployer"]),
        );
        maat_proto::encode(&tx::sign_deterministic(payload, &self.admin))
    }

    /// A block at `(height, round)` after `parent`, certified by `justify`, the leader of
    /// `round` as proposer.
    pub fn block(
        &self,
        height: u64,
        round: u64,
        justify: Qc,
        payload: Vec<u8>,
        app_header: Vec<u8>,
    ) -> Block {
        Block {
            height,
            round,
            parent: justify.block_id,
            timestamp_ms: GENESIS_MS + round * 1_000,
            proposer: self.keys.validators.leader(round),
            payload,
            app_header,
            justify,
            tc: None,
        }
    }
}

/// The id of a transaction given its canonical bytes.
pub fn tx_id_of(tx_bytes: &[u8]) -> TxId {
    let tx: v1::Transaction = maat_proto::decode_canonical(tx_bytes, usize::MAX).expect("tx");
    tx::tx_id(tx.payload.as_ref().expect("payload"))
}

/// Everything a finality proof is cut from.
pub struct Fixture {
    /// The chain.
    pub chain: Chain,
    /// The log's entries (canonical transactions), in log order.
    pub txs: Vec<Vec<u8>>,
    /// The transparency log after the anchor block.
    pub log: MerkleLog<MemoryNodeStore>,
    /// The anchor block (height [`ANCHOR_HEIGHT`], round [`ANCHOR_ROUND`]).
    pub anchor: Block,
    /// The anchor's child (round [`ANCHOR_ROUND`] + 1), `justify` = a quorum QC of the anchor.
    pub child: Block,
    /// A quorum QC of the child.
    pub child_qc: Qc,
}

impl Fixture {
    /// A fixture on a fresh chain of `n` validators.
    pub fn new(n: usize) -> Self {
        Self::on(Chain::generate(n, 7))
    }

    /// A fixture on `chain`, every QC signed by [`Chain::quorum`].
    pub fn on(chain: Chain) -> Self {
        let quorum = chain.quorum();
        let txs: Vec<Vec<u8>> = (1..=(EARLIER_TXS + ANCHOR_TXS) as u64)
            .map(|n| chain.tx(n))
            .collect();
        let mut log = MerkleLog::new();
        for t in &txs {
            log.append(t).expect("append");
        }
        let block_txs = &txs[EARLIER_TXS..];
        let ids: Vec<TxId> = block_txs.iter().map(|t| tx_id_of(t)).collect();
        let app_header = maat_proto::encode(&build_app_header(&ids, log.frontier(), &[]));

        // The anchor's parent: any block the validators certified (its contents are not part of
        // the proof, only its id through the anchor's header).
        let parent = chain.block(
            ANCHOR_HEIGHT - 1,
            ANCHOR_ROUND - 1,
            chain.qc(
                BlockId([0xa5; 32]),
                ANCHOR_ROUND - 2,
                ANCHOR_HEIGHT - 2,
                &quorum,
            ),
            Vec::new(),
            Vec::new(),
        );
        let anchor = chain.block(
            ANCHOR_HEIGHT,
            ANCHOR_ROUND,
            chain.qc_for(&parent, &quorum),
            encode_payload(block_txs),
            app_header,
        );
        let child = Self::child_of(&chain, &anchor, ANCHOR_ROUND + 1, &quorum);
        let child_qc = chain.qc_for(&child, &quorum);
        Fixture {
            chain,
            txs,
            log,
            anchor,
            child,
            child_qc,
        }
    }

    /// An empty child of `anchor` in `round`, its `justify` a QC of `anchor` by `signers`.
    pub fn child_of(chain: &Chain, anchor: &Block, round: u64, signers: &[u32]) -> Block {
        let app_header = anchor.app_header.clone(); // an empty block leaves the log as it was
        chain.block(
            anchor.height + 1,
            round,
            chain.qc_for(anchor, signers),
            Vec::new(),
            app_header,
        )
    }

    /// The proof of log entry `index` (in a block at `block_height`) from `anchor`, `child` and
    /// `child_qc`.
    pub fn proof_from(
        &self,
        anchor: &Block,
        child: &Block,
        child_qc: &Qc,
        index: u64,
        block_height: u64,
    ) -> FinalityProof {
        let size = self.log.size();
        FinalityProof {
            version: FINALITY_PROOF_VERSION,
            chain_id: self.chain.genesis.chain_id().to_owned(),
            genesis_hash: self.chain.genesis.hash(),
            tx: self.txs[index as usize].clone(),
            log_index: index,
            block_height,
            tree_size: size,
            inclusion_path: self
                .log
                .inclusion_proof(index, size)
                .expect("inclusion proof")
                .into_iter()
                .map(|h| h.0)
                .collect(),
            header: anchor.header().encode(),
            child_header: child.header().encode(),
            child_qc: child_qc.encode(),
        }
    }

    /// The proof of log entry [`TX_INDEX`] (in the anchor block).
    pub fn proof(&self) -> FinalityProof {
        self.proof_from(
            &self.anchor,
            &self.child,
            &self.child_qc,
            TX_INDEX,
            ANCHOR_HEIGHT,
        )
    }

    /// The default proof with another child and child QC.
    pub fn proof_with_child(&self, child: &Block, child_qc: &Qc) -> FinalityProof {
        self.proof_from(&self.anchor, child, child_qc, TX_INDEX, ANCHOR_HEIGHT)
    }
}
