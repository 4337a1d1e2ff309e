//! ML-DSA-65 behind the consensus core's [`Signer`] / [`Verifier`] traits.
//!
//! The core already passes complete, domain-separated signing bytes (`maat/vote/v1\0`,
//! `maat/timeout/v1\0`, `maat/proposal/v1\0` followed by the chain id and epoch), so no further
//! domain is prepended: those prefixes are disjoint from every other signed kind in Maat.

use std::sync::Arc;

use maat_consensus::{SigBytes, Signer, ValidatorIndex, Verifier};
use maat_crypto::sig::{Algorithm, KeyPair, PublicKey, Signature};

/// This validator's consensus key.
#[derive(Clone)]
pub struct MlDsaSigner(pub Arc<KeyPair>);

impl Signer for MlDsaSigner {
    fn sign(&self, msg: &[u8]) -> SigBytes {
        SigBytes(self.0.sign(b"", msg).as_bytes().to_vec())
    }
}

/// The validator set's consensus keys, in validator order.
#[derive(Clone)]
pub struct MlDsaVerifier(pub Arc<Vec<PublicKey>>);

impl Verifier for MlDsaVerifier {
    fn verify(&self, validator: ValidatorIndex, msg: &[u8], sig: &SigBytes) -> bool {
        let Some(key) = self.0.get(validator.0 as usize) else {
            return false;
        };
        match Signature::from_bytes(Algorithm::MlDsa65, &sig.0) {
            Ok(sig) => key.verify(b"", msg, &sig).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_per_validator() {
        let a = KeyPair::from_seed(Algorithm::MlDsa65, &[1; 32]);
        let b = KeyPair::from_seed(Algorithm::MlDsa65, &[2; 32]);
        let verifier = MlDsaVerifier(Arc::new(vec![a.public(), b.public()]));
        let sig = MlDsaSigner(Arc::new(a)).sign(b"maat/vote/v1\0msg");
        assert_eq!(sig.0.len(), 3309);
        assert!(verifier.verify(ValidatorIndex(0), b"maat/vote/v1\0msg", &sig));
        assert!(!verifier.verify(ValidatorIndex(1), b"maat/vote/v1\0msg", &sig));
        assert!(!verifier.verify(ValidatorIndex(0), b"maat/vote/v1\0msh", &sig));
        assert!(!verifier.verify(ValidatorIndex(2), b"maat/vote/v1\0msg", &sig));
        assert!(!verifier.verify(ValidatorIndex(0), b"x", &SigBytes(vec![0; 5])));
    }
}
