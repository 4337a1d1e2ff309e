//! Verification of quorum and timeout certificates (pure functions, usable by light clients).

use std::fmt;

use crate::keys::Verifier;
use crate::types::{BlockId, Qc, SigningDomain, Tc, ValidatorIndex, ValidatorSet};

/// Why a certificate is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertError {
    /// A round-0 QC that is not the genesis QC, or a genesis QC with signatures.
    BadGenesis,
    /// A signer outside the validator set.
    UnknownSigner(ValidatorIndex),
    /// Signers not sorted by strictly increasing index (or repeated).
    UnsortedSigners,
    /// A signature that does not verify.
    BadSignature(ValidatorIndex),
    /// The signers' voting power is below the quorum.
    NoQuorum,
    /// A TC whose high QC round is not the highest reported round, or not below the TC round.
    BadHighQc,
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::BadGenesis => write!(f, "bad genesis certificate"),
            CertError::UnknownSigner(v) => write!(f, "unknown signer {v}"),
            CertError::UnsortedSigners => write!(f, "signers not strictly increasing"),
            CertError::BadSignature(v) => write!(f, "bad signature from {v}"),
            CertError::NoQuorum => write!(f, "signers below quorum power"),
            CertError::BadHighQc => write!(f, "TC high QC inconsistent with its signatures"),
        }
    }
}

/// Checks a QC: 2f+1 (by power) distinct validators of `validators` signed the vote bytes of
/// `(block_id, round, height)`. The genesis QC (round 0, no signatures) is valid only for
/// `genesis_id`.
pub fn verify_qc<V: Verifier + ?Sized>(
    qc: &Qc,
    validators: &ValidatorSet,
    verifier: &V,
    domain: &SigningDomain,
    genesis_id: &BlockId,
) -> Result<(), CertError> {
    if qc.round == 0 {
        return if qc.block_id == *genesis_id && qc.height == 0 && qc.signatures.is_empty() {
            Ok(())
        } else {
            Err(CertError::BadGenesis)
        };
    }
    let mut power: u64 = 0;
    let mut prev: Option<ValidatorIndex> = None;
    for (v, _) in &qc.signatures {
        if prev.is_some_and(|p| p >= *v) {
            return Err(CertError::UnsortedSigners);
        }
        prev = Some(*v);
        power = power.saturating_add(validators.power(*v).ok_or(CertError::UnknownSigner(*v))?);
    }
    if power < validators.quorum_power() {
        return Err(CertError::NoQuorum);
    }
    let msg = domain.vote_bytes(&qc.block_id, qc.round, qc.height);
    for (v, s) in &qc.signatures {
        if !verifier.verify(*v, &msg, s) {
            return Err(CertError::BadSignature(*v));
        }
    }
    Ok(())
}

/// Checks a TC: 2f+1 (by power) distinct validators signed the timeout bytes of
/// `(round, their high QC round)`, the carried high QC is the highest of those rounds, lies below
/// the TC's round, and is itself valid.
pub fn verify_tc<V: Verifier + ?Sized>(
    tc: &Tc,
    validators: &ValidatorSet,
    verifier: &V,
    domain: &SigningDomain,
    genesis_id: &BlockId,
) -> Result<(), CertError> {
    verify_tc_signatures(tc, validators, verifier, domain)?;
    verify_qc(&tc.high_qc, validators, verifier, domain, genesis_id)
}

/// [`verify_tc`] without verifying the carried high QC (the caller checks it, e.g. from a cache).
pub(crate) fn verify_tc_signatures<V: Verifier + ?Sized>(
    tc: &Tc,
    validators: &ValidatorSet,
    verifier: &V,
    domain: &SigningDomain,
) -> Result<(), CertError> {
    let mut power: u64 = 0;
    let mut prev: Option<ValidatorIndex> = None;
    let mut max_hqc = 0;
    for s in &tc.signatures {
        if prev.is_some_and(|p| p >= s.signer) {
            return Err(CertError::UnsortedSigners);
        }
        prev = Some(s.signer);
        power = power.saturating_add(
            validators
                .power(s.signer)
                .ok_or(CertError::UnknownSigner(s.signer))?,
        );
        max_hqc = max_hqc.max(s.high_qc_round);
    }
    if power < validators.quorum_power() {
        return Err(CertError::NoQuorum);
    }
    if tc.high_qc.round != max_hqc || tc.high_qc.round >= tc.round {
        return Err(CertError::BadHighQc);
    }
    for s in &tc.signatures {
        let msg = domain.timeout_bytes(tc.round, s.high_qc_round);
        if !verifier.verify(s.signer, &msg, &s.signature) {
            return Err(CertError::BadSignature(s.signer));
        }
    }
    Ok(())
}
