//! Offline verification: finality proofs and checkpoints need only the genesis file.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use maat_sdk::proof::{FinalityProof, Genesis, verify_finality_proof};
//! let genesis = Genesis::load("genesis.json")?;
//! let proof: FinalityProof = serde_json::from_str(&std::fs::read_to_string("proof.json")?)?;
//! let finalized = verify_finality_proof(&proof, &genesis)?;
//! println!("{} is entry {} of the log", finalized.tx_id.to_hex(), finalized.log_index);
//! # Ok(()) }
//! ```

pub use maat_ledger::Genesis;
pub use maat_ledger::finality::{
    ChainKeys, FinalityError, FinalityProof, Finalized, QcRole, checkpoint_keys, verify_checkpoint,
};

/// Verifies `proof` against `genesis` with no network access: the header chain, the two-chain
/// commit rule, both quorum certificates (2f+1 of the genesis validators' voting power,
/// ML-DSA-65), and the RFC 6962 inclusion of the transaction in the log the header commits to.
/// The format, byte for byte: `docs/FINALITY-PROOFS.md`.
///
/// # Errors
/// A [`FinalityError`]; each kind of tampering has its own variant.
pub fn verify_finality_proof(
    proof: &FinalityProof,
    genesis: &Genesis,
) -> Result<Finalized, FinalityError> {
    proof.verify(genesis)
}
