//! Finality proofs: everything an auditor needs, with only the genesis file, to check that a
//! transaction was finalized by 2f+1 validators and sits at a given index of the transparency log.
//! The byte layout is documented in `docs/FINALITY-PROOFS.md`.

use std::sync::Arc;

use maat_consensus::{
    Block, BlockHeader, BlockId, CertError, Decode as _, Qc, SigningDomain, ValidatorSet, verify_qc,
};
use maat_crypto::Hash32;
use maat_crypto::checkpoint::{
    CheckpointError, NoteVerifierKey, VerifiedCheckpoint, bft_quorum_power, verify_cosigned,
};
use maat_crypto::merkle::{ProofError, leaf_hash, verify_inclusion};
use maat_proto::{TxId, v1};

use crate::Genesis;
use crate::signing::MlDsaVerifier;
use serde::{Deserialize, Serialize};

/// The version written into every proof (`"version": 1`).
pub const FINALITY_PROOF_VERSION: u32 = 1;

/// A transaction's finality proof (JSON on the wire and in files; bytes as lowercase hex).
///
/// `header` is the anchor block's header (the block with the payload replaced by its hash); the
/// inclusion proof is against the log root in its app header. `child_header` is the header of the
/// anchor's child, whose `justify` is the anchor's QC; `child_qc` certifies the child. Together
/// they are the two-chain commit rule: `child.round == anchor.round + 1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalityProof {
    /// [`FINALITY_PROOF_VERSION`].
    pub version: u32,
    /// The chain id (the genesis file's `chain_id`).
    pub chain_id: String,
    /// The genesis hash (hex).
    #[serde(with = "hex_bytes::id")]
    pub genesis_hash: [u8; 32],
    /// The transaction's canonical bytes (hex).
    #[serde(with = "hex_bytes::bytes")]
    pub tx: Vec<u8>,
    /// Its index in the transparency log.
    pub log_index: u64,
    /// The height of the block that contains it (at most the anchor's height).
    pub block_height: u64,
    /// The log size the inclusion proof is for: the anchor header's `log_size`.
    pub tree_size: u64,
    /// The RFC 6962 inclusion path, leaf to root (hex, 32 bytes each).
    #[serde(with = "hex_bytes::ids")]
    pub inclusion_path: Vec<[u8; 32]>,
    /// The anchor block's canonical header bytes (hex).
    #[serde(with = "hex_bytes::bytes")]
    pub header: Vec<u8>,
    /// The anchor's child's canonical header bytes (hex); its `justify` certifies the anchor.
    #[serde(with = "hex_bytes::bytes")]
    pub child_header: Vec<u8>,
    /// The canonical QC bytes certifying the child (hex).
    #[serde(with = "hex_bytes::bytes")]
    pub child_qc: Vec<u8>,
}

/// What a genesis file fixes for consensus: the validator set, their keys, the signing domain and
/// the genesis block. Built the same way by validators and by offline verifiers.
#[derive(Clone)]
pub struct ChainKeys {
    /// Voting powers, in genesis order (epoch 0).
    pub validators: ValidatorSet,
    /// The validators' ML-DSA-65 keys, in the same order.
    pub verifier: MlDsaVerifier,
    /// Chain id = genesis hash, epoch 0.
    pub domain: SigningDomain,
    /// The id of the genesis block (height 0).
    pub genesis_block_id: BlockId,
}

impl std::fmt::Debug for ChainKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKeys")
            .field("validators", &self.validators.len())
            .field("genesis_block_id", &self.genesis_block_id)
            .finish_non_exhaustive()
    }
}

impl ChainKeys {
    /// The consensus view of `genesis`.
    ///
    /// # Errors
    /// [`FinalityError::BadGenesis`] when the voting powers do not form a validator set (a
    /// validated [`Genesis`] always does).
    pub fn from_genesis(genesis: &Genesis) -> Result<Self, FinalityError> {
        let validators = ValidatorSet::new(
            0,
            genesis
                .validators()
                .iter()
                .map(|v| v.voting_power)
                .collect(),
        )
        .map_err(|e| FinalityError::BadGenesis(format!("{e:?}")))?;
        let keys = genesis
            .validators()
            .iter()
            .map(|v| v.public_key.clone())
            .collect();
        Ok(ChainKeys {
            validators,
            verifier: MlDsaVerifier(Arc::new(keys)),
            domain: SigningDomain {
                chain_id: genesis.hash(),
                epoch: 0,
            },
            genesis_block_id: Block::genesis(genesis.hash(), genesis.genesis_time_ms()).id(),
        })
    }

    fn check_qc(&self, qc: &Qc, which: QcRole) -> Result<(), FinalityError> {
        verify_qc(
            qc,
            &self.validators,
            &self.verifier,
            &self.domain,
            &self.genesis_block_id,
        )
        .map_err(|e| match e {
            CertError::NoQuorum => FinalityError::QcBelowQuorum(which),
            CertError::UnknownSigner(v) => FinalityError::QcUnknownSigner(which, v.0),
            CertError::BadSignature(v) => FinalityError::QcBadSignature(which, v.0),
            other => FinalityError::QcMalformed(which, other.to_string()),
        })
    }
}

/// Which QC of a proof an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QcRole {
    /// The QC of the anchor block (the child header's `justify`).
    Anchor,
    /// The QC of the child (`child_qc`).
    Child,
}

impl std::fmt::Display for QcRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QcRole::Anchor => "the header's QC (child.justify)",
            QcRole::Child => "the child's QC",
        })
    }
}

/// Why a finality proof does not verify. Each kind of tampering has its own variant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    /// The genesis file does not yield a validator set.
    #[error("the genesis file has no usable validator set: {0}")]
    BadGenesis(String),
    /// A proof format this verifier does not know.
    #[error("unsupported finality proof version {0} (this verifier knows version 1)")]
    UnsupportedVersion(u32),
    /// The proof is for another chain than the genesis file given.
    #[error(
        "the proof is for chain {got_chain} (genesis {got_hash}), not {expected_chain} (genesis {expected_hash})"
    )]
    WrongGenesis {
        /// The given genesis's chain id.
        expected_chain: String,
        /// The given genesis's hash (hex).
        expected_hash: String,
        /// The proof's chain id.
        got_chain: String,
        /// The proof's genesis hash (hex).
        got_hash: String,
    },
    /// A field does not decode (canonical consensus or protobuf bytes).
    #[error("malformed {field}: {reason}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The child header does not point at the header (a tampered header or child).
    #[error("the child header does not extend the header (tampered header?): {0}")]
    HeaderNotLinked(String),
    /// The two blocks do not satisfy the two-chain commit rule.
    #[error("the child's round {child_round} is not the header's round {round} + 1: not a commit")]
    NotCommitted {
        /// The header's round.
        round: u64,
        /// The child's round.
        child_round: u64,
    },
    /// `child_qc` certifies another block than the child header.
    #[error("the child's QC certifies another block than the child header")]
    QcForAnotherBlock,
    /// A QC's signers carry less than the quorum of voting power.
    #[error("{0} has too few signatures for a quorum")]
    QcBelowQuorum(QcRole),
    /// A QC names a signer outside the genesis validator set.
    #[error("{0} is signed by v{1}, who is not in the genesis validator set")]
    QcUnknownSigner(QcRole, u32),
    /// A QC carries a signature that does not verify under the genesis key.
    #[error("{0} carries a signature by v{1} that does not verify (foreign or forged)")]
    QcBadSignature(QcRole, u32),
    /// Any other QC defect (unsorted signers, genesis QC).
    #[error("{0} is invalid: {1}")]
    QcMalformed(QcRole, String),
    /// `tree_size` differs from the header's log size.
    #[error("the proof's tree size {proof} is not the header's log size {header}")]
    TreeSizeMismatch {
        /// The proof's tree size.
        proof: u64,
        /// The header's log size.
        header: u64,
    },
    /// The transaction is not at `log_index` of the log the header commits to (a tampered
    /// transaction, index or path).
    #[error("the transaction is not in the header's log at index {index}: {reason}")]
    NotIncluded {
        /// The claimed log index.
        index: u64,
        /// The inclusion check's error.
        reason: ProofError,
    },
    /// `block_height` lies above the anchor header.
    #[error("block height {block_height} lies above the header's height {header_height}")]
    HeightAboveAnchor {
        /// The claimed block height.
        block_height: u64,
        /// The header's height.
        header_height: u64,
    },
}

/// What a verified finality proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalized {
    /// The transaction's id.
    pub tx_id: TxId,
    /// Its index in the log.
    pub log_index: u64,
    /// The height of its block (as claimed; at most `anchor_height`).
    pub block_height: u64,
    /// The height of the header the proof anchors to.
    pub anchor_height: u64,
    /// The anchor block's id.
    pub anchor_id: BlockId,
    /// The anchor block's timestamp (ms since the UNIX epoch).
    pub anchor_timestamp_ms: u64,
    /// The log size and root the header commits to.
    pub tree_size: u64,
    /// The log root.
    pub log_root: [u8; 32],
    /// Signers of the child's QC (validator indexes).
    pub signers: Vec<u32>,
}

fn malformed(field: &'static str) -> impl Fn(maat_consensus::DecodeError) -> FinalityError {
    move |e| FinalityError::Malformed {
        field,
        reason: format!("{e:?}"),
    }
}

impl FinalityProof {
    /// Verifies the proof offline against `genesis`: chain, header link, commit rule, both QCs
    /// (2f+1 of the genesis validators by power, ML-DSA-65), the log size and root in the
    /// header's app header, and the RFC 6962 inclusion of `SHA-256(0x00 || tx)` at `log_index`.
    ///
    /// # Errors
    /// The first [`FinalityError`] found, in the order above.
    pub fn verify(&self, genesis: &Genesis) -> Result<Finalized, FinalityError> {
        self.verify_with(genesis, &ChainKeys::from_genesis(genesis)?)
    }

    /// [`Self::verify`] with the [`ChainKeys`] already built (verifying many proofs).
    ///
    /// # Errors
    /// As [`Self::verify`].
    pub fn verify_with(
        &self,
        genesis: &Genesis,
        keys: &ChainKeys,
    ) -> Result<Finalized, FinalityError> {
        if self.version != FINALITY_PROOF_VERSION {
            return Err(FinalityError::UnsupportedVersion(self.version));
        }
        if self.genesis_hash != genesis.hash() || self.chain_id != genesis.chain_id() {
            return Err(FinalityError::WrongGenesis {
                expected_chain: genesis.chain_id().to_owned(),
                expected_hash: hex::encode(genesis.hash()),
                got_chain: self.chain_id.clone(),
                got_hash: hex::encode(self.genesis_hash),
            });
        }
        let header = BlockHeader::decode(&self.header).map_err(malformed("header"))?;
        let child = BlockHeader::decode(&self.child_header).map_err(malformed("child_header"))?;
        let child_qc = Qc::decode(&self.child_qc).map_err(malformed("child_qc"))?;

        let anchor_id = header.id();
        if child.parent != anchor_id || child.justify.block_id != anchor_id {
            return Err(FinalityError::HeaderNotLinked(format!(
                "header id {anchor_id}, child parent {}, child justify {}",
                child.parent, child.justify.block_id
            )));
        }
        if child.justify.round != header.round
            || child.justify.height != header.height
            || header.height.checked_add(1) != Some(child.height)
        {
            return Err(FinalityError::HeaderNotLinked(
                "the child's justify names another round or height than the header".into(),
            ));
        }
        if header.round.checked_add(1) != Some(child.round) {
            return Err(FinalityError::NotCommitted {
                round: header.round,
                child_round: child.round,
            });
        }
        if child_qc.block_id != child.id()
            || child_qc.round != child.round
            || child_qc.height != child.height
        {
            return Err(FinalityError::QcForAnotherBlock);
        }
        keys.check_qc(&child.justify, QcRole::Anchor)?;
        keys.check_qc(&child_qc, QcRole::Child)?;

        let app: v1::AppHeader =
            maat_proto::decode_canonical(&header.app_header, header.app_header.len()).map_err(
                |e| FinalityError::Malformed {
                    field: "header.app_header",
                    reason: e.to_string(),
                },
            )?;
        let log_root: [u8; 32] =
            app.log_root
                .as_slice()
                .try_into()
                .map_err(|_| FinalityError::Malformed {
                    field: "header.app_header.log_root",
                    reason: format!("{} bytes, expected 32", app.log_root.len()),
                })?;
        if self.tree_size != app.log_size {
            return Err(FinalityError::TreeSizeMismatch {
                proof: self.tree_size,
                header: app.log_size,
            });
        }
        let path: Vec<Hash32> = self.inclusion_path.iter().map(|h| Hash32(*h)).collect();
        verify_inclusion(
            &leaf_hash(&self.tx),
            self.log_index,
            self.tree_size,
            &path,
            &Hash32(log_root),
        )
        .map_err(|reason| FinalityError::NotIncluded {
            index: self.log_index,
            reason,
        })?;
        if self.block_height > header.height {
            return Err(FinalityError::HeightAboveAnchor {
                block_height: self.block_height,
                header_height: header.height,
            });
        }
        // The log holds canonical transactions only; a leaf that is not one cannot have been
        // appended by honest validators, but say so rather than report a bogus id.
        let tx: v1::Transaction =
            maat_proto::decode_canonical(&self.tx, self.tx.len()).map_err(|e| {
                FinalityError::Malformed {
                    field: "tx",
                    reason: e.to_string(),
                }
            })?;
        let payload = tx.payload.ok_or(FinalityError::Malformed {
            field: "tx",
            reason: "no payload".into(),
        })?;
        Ok(Finalized {
            tx_id: maat_proto::tx::tx_id(&payload),
            log_index: self.log_index,
            block_height: self.block_height,
            anchor_height: header.height,
            anchor_id,
            anchor_timestamp_ms: header.timestamp_ms,
            tree_size: self.tree_size,
            log_root,
            signers: child_qc.signatures.iter().map(|(v, _)| v.0).collect(),
        })
    }
}

/// The validators' checkpoint cosigning keys (`docs/CHECKPOINTS.md`), in validator order, with
/// their voting power.
///
/// # Errors
/// A chain or validator id that makes no valid signed-note key name.
pub fn checkpoint_keys(genesis: &Genesis) -> Result<Vec<(NoteVerifierKey, u64)>, CheckpointError> {
    genesis
        .validators()
        .iter()
        .map(|v| {
            NoteVerifierKey::for_validator(genesis.chain_id(), &v.id, v.public_key.clone())
                .map(|k| (k, v.voting_power))
        })
        .collect()
}

/// Verifies a cosigned checkpoint note offline: origin = the chain id, cosignatures by genesis
/// validators carrying 2f+1 of the voting power.
///
/// # Errors
/// [`CheckpointError`] (malformed note, wrong origin, bad signature, below quorum).
pub fn verify_checkpoint(
    note: &str,
    genesis: &Genesis,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let keys = checkpoint_keys(genesis)?;
    let total = keys.iter().map(|(_, p)| *p).fold(0u64, u64::saturating_add);
    verify_cosigned(note, genesis.chain_id(), &keys, bft_quorum_power(total))
}

/// Serde helpers: bytes as lowercase hex strings.
mod hex_bytes {
    /// `Vec<u8>`.
    pub mod bytes {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&hex::encode(v))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let text = String::deserialize(d)?;
            hex::decode(text).map_err(serde::de::Error::custom)
        }
    }

    /// `[u8; 32]`.
    pub mod id {
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&hex::encode(v))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
            let bytes = super::bytes::deserialize(d)?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| serde::de::Error::custom("expected 32 bytes (64 hex characters)"))
        }
    }

    /// `Vec<[u8; 32]>`.
    pub mod ids {
        use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

        pub fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for id in v {
                seq.serialize_element(&hex::encode(id))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
            let texts = Vec::<String>::deserialize(d)?;
            texts
                .iter()
                .map(|t| {
                    let b = hex::decode(t).map_err(serde::de::Error::custom)?;
                    <[u8; 32]>::try_from(b.as_slice()).map_err(|_| {
                        serde::de::Error::custom("expected 32 bytes (64 hex characters)")
                    })
                })
                .collect()
        }
    }
}
