//! Building, signing and identifying transactions, and converting keys between
//! `maat_crypto` and the wire form.

use maat_crypto::sig::{Algorithm, KeyPair, PublicKey, SigError};

use crate::ids::{TX_SIGNATURE_DOMAIN, TxId};
use crate::v1;

/// The wire enum value of an algorithm.
#[must_use]
pub fn algorithm_to_proto(alg: Algorithm) -> v1::SigAlgorithm {
    match alg {
        Algorithm::Ed25519 => v1::SigAlgorithm::Ed25519,
        Algorithm::MlDsa65 => v1::SigAlgorithm::Mldsa65,
    }
}

/// The algorithm of a wire enum value; `None` for `UNSPECIFIED` and unknown values.
#[must_use]
pub fn algorithm_from_proto(value: i32) -> Option<Algorithm> {
    match v1::SigAlgorithm::try_from(value).ok()? {
        v1::SigAlgorithm::Ed25519 => Some(Algorithm::Ed25519),
        v1::SigAlgorithm::Mldsa65 => Some(Algorithm::MlDsa65),
        v1::SigAlgorithm::Unspecified => None,
    }
}

/// Why a wire public key is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The algorithm is `UNSPECIFIED` or unknown.
    #[error("unknown or unspecified signature algorithm {0}")]
    UnknownAlgorithm(i32),
    /// The bytes are not a key of that algorithm.
    #[error(transparent)]
    Invalid(#[from] SigError),
}

/// The wire form of a public key.
#[must_use]
pub fn key_to_proto(key: &PublicKey) -> v1::PublicKey {
    v1::PublicKey {
        algorithm: algorithm_to_proto(key.algorithm()) as i32,
        key: key.as_bytes().to_vec(),
    }
}

/// A usable public key from its wire form (length and, for Ed25519, point validity checked).
///
/// # Errors
/// [`KeyError`].
pub fn key_from_proto(key: &v1::PublicKey) -> Result<PublicKey, KeyError> {
    let alg =
        algorithm_from_proto(key.algorithm).ok_or(KeyError::UnknownAlgorithm(key.algorithm))?;
    Ok(PublicKey::from_bytes(alg, &key.key)?)
}

/// A 32-byte fingerprint of a public key: `blake3("maat/key/v1" || 0x00 || alg || bytes)`
/// where `alg` is the wire enum value as one byte. Used to tell whether a key changed.
#[must_use]
pub fn key_fingerprint(key: &PublicKey) -> [u8; 32] {
    let mut h = maat_crypto::hash::IdHasher::new("key");
    let alg = algorithm_to_proto(key.algorithm()) as u8;
    h.update(&[alg]).update(key.as_bytes());
    h.finalize()
}

/// The canonical bytes of a payload: what the TxId hashes and the submitter signs (after
/// [`TX_SIGNATURE_DOMAIN`]).
#[must_use]
pub fn payload_bytes(payload: &v1::TxPayload) -> Vec<u8> {
    crate::encode(payload)
}

/// The id of a transaction with this payload.
#[must_use]
pub fn tx_id(payload: &v1::TxPayload) -> TxId {
    TxId::of_payload_bytes(&payload_bytes(payload))
}

/// Signs `payload` with `key` (hedged: two calls give different ML-DSA signatures, the same
/// [`TxId`]).
#[must_use]
pub fn sign(payload: v1::TxPayload, key: &KeyPair) -> v1::Transaction {
    let sig = key.sign(TX_SIGNATURE_DOMAIN, &payload_bytes(&payload));
    v1::Transaction {
        payload: Some(payload),
        signature: sig.as_bytes().to_vec(),
    }
}

/// Signs deterministically (for fixtures and known-answer tests only).
#[must_use]
pub fn sign_deterministic(payload: v1::TxPayload, key: &KeyPair) -> v1::Transaction {
    let sig = key.sign_deterministic(TX_SIGNATURE_DOMAIN, &payload_bytes(&payload));
    v1::Transaction {
        payload: Some(payload),
        signature: sig.as_bytes().to_vec(),
    }
}

/// A payload for `chain_id`, from `submitter` with `nonce`, carrying `body`.
#[must_use]
pub fn payload(
    chain_id: &str,
    submitter: &str,
    nonce: u64,
    body: v1::tx_body::Kind,
) -> v1::TxPayload {
    v1::TxPayload {
        chain_id: chain_id.to_owned(),
        submitter: submitter.to_owned(),
        nonce,
        body: Some(v1::TxBody { kind: Some(body) }),
    }
}

/// Body constructors.
pub mod body {
    use super::{PublicKey, key_to_proto, v1};
    use v1::tx_body::Kind;

    /// A certificate transaction over canonical certificate JSON.
    #[must_use]
    pub fn certificate(json: Vec<u8>) -> Kind {
        Kind::Certificate(v1::CertificateTx {
            certificate_json: json,
        })
    }

    /// An audit record (see `maat_ledger::audit` for the record hash and the data rules).
    #[must_use]
    pub fn audit_record(record: v1::AuditRecordTx) -> Kind {
        Kind::AuditRecord(record)
    }

    fn identity(op: v1::identity_op::Op) -> Kind {
        Kind::IdentityOp(v1::IdentityOp { op: Some(op) })
    }

    /// Registers `id` with `key` and `roles` (sorted and deduplicated here).
    #[must_use]
    pub fn register(id: &str, key: &PublicKey, roles: &[&str]) -> Kind {
        let mut roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        roles.sort_unstable();
        roles.dedup();
        identity(v1::identity_op::Op::Register(v1::RegisterIdentity {
            id: id.to_owned(),
            public_key: Some(key_to_proto(key)),
            roles,
        }))
    }

    /// Rotates `id` to `new_key`.
    #[must_use]
    pub fn rotate(id: &str, new_key: &PublicKey) -> Kind {
        identity(v1::identity_op::Op::Rotate(v1::RotateKey {
            id: id.to_owned(),
            new_key: Some(key_to_proto(new_key)),
        }))
    }

    /// Revokes `id`.
    #[must_use]
    pub fn revoke(id: &str) -> Kind {
        identity(v1::identity_op::Op::Revoke(v1::RevokeIdentity {
            id: id.to_owned(),
        }))
    }

    /// Registers `policy_json` for `(service, environment)`; `signers` is
    /// `(evidence_type, identities, roles)`, sorted and deduplicated here.
    #[must_use]
    pub fn policy(
        service: &str,
        environment: &str,
        policy_json: Vec<u8>,
        signers: &[(&str, &[&str], &[&str])],
    ) -> Kind {
        let sorted = |v: &[&str]| {
            let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut signers: Vec<v1::EvidenceSigners> = signers
            .iter()
            .map(|(ty, ids, roles)| v1::EvidenceSigners {
                evidence_type: (*ty).to_owned(),
                identities: sorted(ids),
                roles: sorted(roles),
            })
            .collect();
        signers.sort_by(|a, b| a.evidence_type.cmp(&b.evidence_type));
        Kind::PolicyOp(v1::PolicyOp {
            service: service.to_owned(),
            environment: environment.to_owned(),
            policy_json,
            signers,
        })
    }
}
