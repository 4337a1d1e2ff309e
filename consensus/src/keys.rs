//! The two signature traits the core needs, and an insecure deterministic stand-in.
//!
//! The node plugs ML-DSA-65 (`maat_crypto::sig`) in behind [`Signer`] and [`Verifier`]; the
//! simulator and the examples use [`TestKeys`], a keyed BLAKE3 tag per validator, so thousands of
//! scenarios run per second.

use crate::types::{SigBytes, ValidatorIndex};

/// Signs domain-separated bytes with this validator's consensus key.
pub trait Signer {
    /// The signature of `msg` (the core always passes complete signing bytes).
    fn sign(&self, msg: &[u8]) -> SigBytes;
}

/// Verifies signatures of the validators of the current set.
pub trait Verifier {
    /// Whether `sig` is `validator`'s signature of `msg`. Unknown validators verify nothing.
    fn verify(&self, validator: ValidatorIndex, msg: &[u8], sig: &SigBytes) -> bool;
}

impl<T: Signer + ?Sized> Signer for &T {
    fn sign(&self, msg: &[u8]) -> SigBytes {
        (**self).sign(msg)
    }
}

impl<T: Verifier + ?Sized> Verifier for &T {
    fn verify(&self, validator: ValidatorIndex, msg: &[u8], sig: &SigBytes) -> bool {
        (**self).verify(validator, msg, sig)
    }
}

impl<T: Signer + ?Sized> Signer for std::sync::Arc<T> {
    fn sign(&self, msg: &[u8]) -> SigBytes {
        (**self).sign(msg)
    }
}

impl<T: Verifier + ?Sized> Verifier for std::sync::Arc<T> {
    fn verify(&self, validator: ValidatorIndex, msg: &[u8], sig: &SigBytes) -> bool {
        (**self).verify(validator, msg, sig)
    }
}

/// **Insecure** deterministic keys for tests, examples and the simulator: validator `i`'s
/// "signature" is a keyed BLAKE3 XOF of the message under a key anyone can derive from `i`.
/// It has the shape of a signature scheme (and catches every protocol bug a real one would) but
/// proves nothing.
#[derive(Clone, Debug)]
pub struct TestKeys {
    keys: Vec<[u8; 32]>,
    sig_len: usize,
}

impl TestKeys {
    /// Keys for validators `0..n`, producing `sig_len`-byte signatures (32 is cheap; 3309 has the
    /// size of ML-DSA-65 for byte counts).
    pub fn new(n: usize, sig_len: usize) -> Self {
        let keys = (0..n as u32)
            .map(|i| blake3::derive_key("maat consensus test keys v1", &i.to_le_bytes()))
            .collect();
        TestKeys {
            keys,
            sig_len: sig_len.max(1),
        }
    }

    /// The signer of validator `v` (`None` if `v` is out of range).
    pub fn signer(&self, v: ValidatorIndex) -> Option<TestSigner> {
        Some(TestSigner {
            key: *self.keys.get(v.0 as usize)?,
            sig_len: self.sig_len,
        })
    }

    fn tag(key: &[u8; 32], msg: &[u8], len: usize) -> SigBytes {
        let mut out = vec![0u8; len];
        blake3::Hasher::new_keyed(key)
            .update(msg)
            .finalize_xof()
            .fill(&mut out);
        SigBytes(out)
    }
}

impl Verifier for TestKeys {
    fn verify(&self, validator: ValidatorIndex, msg: &[u8], sig: &SigBytes) -> bool {
        match self.keys.get(validator.0 as usize) {
            Some(key) => sig.0.len() == self.sig_len && Self::tag(key, msg, self.sig_len) == *sig,
            None => false,
        }
    }
}

/// One validator's [`TestKeys`] signer.
#[derive(Clone, Debug)]
pub struct TestSigner {
    key: [u8; 32],
    sig_len: usize,
}

impl Signer for TestSigner {
    fn sign(&self, msg: &[u8]) -> SigBytes {
        TestKeys::tag(&self.key, msg, self.sig_len)
    }
}
