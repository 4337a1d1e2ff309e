//! `maat-crypto`: the cryptographic primitives every other Maat crate builds on.
//!
//! - [`hash`]: SHA-256, and BLAKE3 object ids with per-kind domain separation
//!   (`blake3("maat/<kind>/v1" || 0x00 || bytes)`).
//! - [`sig`]: Ed25519 and ML-DSA-65 (FIPS 204) key pairs, public keys, signatures over
//!   domain-separated bytes, and their `"<alg>:<base64>"` text form.
//! - [`keyfile`]: JSON key files, written `0600` atomically; world-readable secret keys are refused.
//! - [`merkle`]: the RFC 6962 / RFC 9162 Merkle tree of the transparency log, with inclusion and
//!   consistency proofs and the RFC 9162 verifiers.
//!
//! The crate is pure except for [`keyfile`] (file IO) and key generation / hedged signing (OS
//! randomness).

#![deny(missing_docs)]

pub mod checkpoint;
pub mod hash;
pub mod keyfile;
pub mod merkle;
pub mod sig;

pub use hash::{Hash32, Sha256Digest, blake3_id, sha256};
pub use sig::{Algorithm, KeyPair, PublicKey, SigError, Signature};
