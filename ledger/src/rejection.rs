//! Why a transaction is refused: [`Rejection`], with a stable string code and a stable
//! numeric code per variant (the RPC error code), and [`TxError`], which separates the
//! transaction's faults from state read failures.

use std::fmt;

use crate::state::StateError;

/// A transaction kind, as named in rejections and indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxKind {
    /// A maat-v1 deployment certificate.
    Certificate,
    /// Identity register, rotate or revoke.
    IdentityOp,
    /// Policy registration or update.
    PolicyOp,
    /// Agent audit record (one link of an agent's hash chain).
    AuditRecord,
    /// Supply-chain attestation (a DSSE envelope over an in-toto Statement v1).
    Attestation,
}

impl TxKind {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TxKind::Certificate => "certificate",
            TxKind::IdentityOp => "identity_op",
            TxKind::PolicyOp => "policy_op",
            TxKind::AuditRecord => "audit_record",
            TxKind::Attestation => "attestation",
        }
    }
}

impl fmt::Display for TxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One maat-v1 checker failure carried by [`Rejection::CertificateRejected`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFailure {
    /// The report component (`Parse`, `WF(P)`, `Auth(E)`, `CheckR`, ...).
    pub component: String,
    /// The stable maat-v1 code, with its `:<param>` suffixes.
    pub code: String,
    /// A human sentence.
    pub message: String,
}

/// A transaction the ledger refuses. Codes (`code()`) and numbers (`numeric_code()`) are
/// stable: clients match on them. Messages are for humans and may change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The transaction (or, with `kind`, the transaction of that kind) is larger than the
    /// chain's limit. Checked before decoding for the global limit.
    #[error("transaction of {size} bytes exceeds the {} limit of {max} bytes", kind.map_or("transaction", TxKind::as_str))]
    TooLarge {
        /// `None` for the global `max_tx_bytes`, else the kind whose limit applies.
        kind: Option<TxKind>,
        /// The transaction's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a protobuf `Transaction`, or a required part (payload, body) is missing.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Decodes, but not from its canonical encoding (ids must not be malleable).
    #[error("the transaction is not canonically encoded")]
    NonCanonical,
    /// Signed for another chain.
    #[error("transaction for chain `{got}`, this chain is `{expected}`")]
    ChainIdMismatch {
        /// This chain's id.
        expected: String,
        /// The transaction's.
        got: String,
    },
    /// The body has no kind set.
    #[error("the transaction body has no kind")]
    KindMissing,
    /// A reserved kind that this version does not process yet.
    #[error("transaction kind `{0}` is not supported yet")]
    KindUnsupported(TxKind),
    /// A field has a value the ledger never accepts (syntax, ordering, missing part).
    #[error("invalid field `{field}`: {reason}")]
    FieldInvalid {
        /// The field's path, e.g. `identity_op.register.roles`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The submitter is not a registered identity.
    #[error("submitter `{0}` is not a registered identity")]
    SubmitterUnknown(String),
    /// The submitter was revoked.
    #[error("submitter `{0}` is revoked")]
    SubmitterRevoked(String),
    /// The nonce is not the submitter's last committed nonce + 1 (a replay, a gap, or a
    /// transaction that another one with the same nonce already used).
    #[error("nonce {got} is invalid: expected {expected}")]
    NonceInvalid {
        /// The only nonce accepted now.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The envelope signature does not verify under the submitter's active key.
    #[error("the transaction signature does not verify under the active key of `{0}`")]
    SignatureInvalid(String),
    /// The operation needs an admin (identity holding role `admin`).
    #[error("`{0}` is not an admin")]
    NotAdmin(String),
    /// The submitter may not perform this operation on this identity (rotating another
    /// identity's key, revoking another identity without being an admin).
    #[error("`{submitter}` may not {action} identity `{target}`")]
    NotAuthorized {
        /// The submitter.
        submitter: String,
        /// `rotate` or `revoke`.
        action: String,
        /// The identity operated on.
        target: String,
    },
    /// An identity with this id exists (or existed: ids are never reused).
    #[error("identity `{0}` already exists")]
    IdentityExists(String),
    /// No identity with this id.
    #[error("identity `{0}` is not registered")]
    IdentityUnknown(String),
    /// The identity operated on is revoked.
    #[error("identity `{0}` is revoked")]
    IdentityRevoked(String),
    /// A public key in the body is unusable.
    #[error("invalid public key in `{field}`: {reason}")]
    KeyInvalid {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A rotation to the active key or to a key the identity rotated out.
    #[error("identity `{0}` already used this key")]
    KeyReused(String),
    /// A policy operation by an identity that is neither an admin nor an owner of the
    /// service (role `owner:<service>`).
    #[error(
        "`{submitter}` is neither an admin nor an owner of service `{service}` (role `owner:{service}`)"
    )]
    NotAdminOrOwner {
        /// The submitter.
        submitter: String,
        /// The service.
        service: String,
    },
    /// The policy does not parse strictly or fails WF(P); `failures` are the maat-v1 codes.
    #[error("the policy is invalid: {}", failures.join(", "))]
    PolicyInvalid {
        /// maat-v1 codes (`CERTIFICATE_JSON_MALFORMED`, `POLICY_VERSION_INVALID`, ...).
        failures: Vec<String>,
    },
    /// The maat-v1 checker rejected the certificate; `failures` is its report, in order.
    #[error("the certificate is rejected: {}", failures.iter().map(|f| f.code.as_str()).collect::<Vec<_>>().join(", "))]
    CertificateRejected {
        /// The checker's failures.
        failures: Vec<CertificateFailure>,
    },
    /// The certificate's `request.requested_by` is not the transaction's submitter.
    #[error("request.requested_by `{requested_by}` is not the submitter `{submitter}`")]
    RequestedByMismatch {
        /// The certificate's.
        requested_by: String,
        /// The envelope's.
        submitter: String,
    },
    /// A certificate for this deployment id is already finalized (or earlier in the pending
    /// chain).
    #[error("deployment `{0}` is already finalized on this chain")]
    DeploymentDuplicate(String),
    /// An audit record's `agent_id` is not the transaction's submitter (an agent appends only
    /// to its own chain, signing with its own key).
    #[error("audit record agent `{agent_id}` is not the submitter `{submitter}`")]
    AuditAgentMismatch {
        /// The record's.
        agent_id: String,
        /// The envelope's.
        submitter: String,
    },
    /// The record's sequence is not the agent's last + 1 (a gap, a replay, or a fork at an
    /// existing position).
    #[error("audit record sequence {got} of agent `{agent_id}` is invalid: expected {expected}")]
    AuditSequenceInvalid {
        /// The agent.
        agent_id: String,
        /// The only sequence accepted now.
        expected: u64,
        /// The record's.
        got: u64,
    },
    /// The record's `previous_hash` is not the record hash of the agent's last record (all
    /// zero for the first): a fork.
    #[error(
        "audit record previous_hash {got} of agent `{agent_id}` is not the chain head {expected}"
    )]
    AuditPreviousHashMismatch {
        /// The agent.
        agent_id: String,
        /// Lowercase hex of the head's record hash.
        expected: String,
        /// Lowercase hex of the record's `previous_hash`.
        got: String,
    },
    /// The event type is not one of `audit::EVENT_TYPES`.
    #[error("unknown audit event type `{0}`")]
    AuditEventTypeUnknown(String),
    /// The risk level is not one of `audit::RISK_LEVELS`.
    #[error("invalid audit risk level `{0}` (low, medium, high or critical)")]
    AuditRiskInvalid(String),
    /// The record's data is not a canonical JSON object.
    #[error("invalid audit record data: {0}")]
    AuditDataInvalid(String),
    /// The record's timestamp is before its predecessor's or too far after the block time.
    #[error("audit record timestamp {timestamp_ms} is outside [{min_ms}, {max_ms}]")]
    AuditTimestampInvalid {
        /// The record's.
        timestamp_ms: u64,
        /// The earliest accepted: the agent's previous record's timestamp (1 for the first).
        min_ms: u64,
        /// The latest accepted: the block time plus the chain's clock skew.
        max_ms: u64,
    },
    /// The DSSE envelope is malformed (no signature, too many, duplicate or invalid keyid,
    /// empty signature). The message is the attestation module's sentence, which names the
    /// field (the same for the three variants below).
    #[error("{0}")]
    AttestationEnvelopeInvalid(String),
    /// The envelope's payload type is not `application/vnd.in-toto+json`.
    #[error("{0}")]
    AttestationPayloadTypeInvalid(String),
    /// The payload is not a valid in-toto Statement v1 (docs/ATTESTATIONS.md).
    #[error("{0}")]
    AttestationStatementInvalid(String),
    /// The chain's `attestation_predicate_types` does not admit this predicate type.
    #[error("predicate type `{0}` is not accepted on this chain")]
    AttestationPredicateForbidden(String),
    /// A known predicate type whose predicate does not have that type's shape.
    #[error("{0}")]
    AttestationPredicateInvalid(String),
    /// A DSSE signature's keyid names no registered identity.
    #[error("attestation signer `{0}` is not a registered identity")]
    AttestationSignerUnknown(String),
    /// A DSSE signature's keyid names a revoked identity.
    #[error("attestation signer `{0}` is revoked")]
    AttestationSignerRevoked(String),
    /// A DSSE signature does not verify over PAE(payload type, payload) under its keyid's
    /// active key.
    #[error("the DSSE signature of `{0}` does not verify under its active key")]
    AttestationSignatureInvalid(String),
}

impl Rejection {
    /// Every variant's `(code, numeric code)`, for documentation and tests.
    pub const CODES: [(&'static str, u32); 38] = [
        ("TX_TOO_LARGE", 1001),
        ("TX_MALFORMED", 1002),
        ("TX_NON_CANONICAL", 1003),
        ("TX_CHAIN_ID_MISMATCH", 1004),
        ("TX_KIND_MISSING", 1005),
        ("KIND_UNSUPPORTED", 1006),
        ("TX_FIELD_INVALID", 1007),
        ("SUBMITTER_UNKNOWN", 1101),
        ("SUBMITTER_REVOKED", 1102),
        ("TX_NONCE_INVALID", 1103),
        ("TX_SIGNATURE_INVALID", 1104),
        ("NOT_ADMIN", 1201),
        ("NOT_AUTHORIZED", 1202),
        ("IDENTITY_EXISTS", 1203),
        ("IDENTITY_UNKNOWN", 1204),
        ("IDENTITY_REVOKED", 1205),
        ("KEY_INVALID", 1206),
        ("KEY_REUSED", 1207),
        ("NOT_ADMIN_OR_OWNER", 1301),
        ("POLICY_INVALID", 1302),
        ("CERTIFICATE_REJECTED", 1401),
        ("REQUESTED_BY_MISMATCH", 1402),
        ("DEPLOYMENT_DUPLICATE", 1403),
        ("AUDIT_AGENT_MISMATCH", 1601),
        ("AUDIT_SEQUENCE_INVALID", 1602),
        ("AUDIT_PREVIOUS_HASH_MISMATCH", 1603),
        ("AUDIT_EVENT_TYPE_UNKNOWN", 1604),
        ("AUDIT_RISK_INVALID", 1605),
        ("AUDIT_DATA_INVALID", 1606),
        ("AUDIT_TIMESTAMP_INVALID", 1607),
        ("ATTESTATION_ENVELOPE_INVALID", 1701),
        ("ATTESTATION_PAYLOAD_TYPE_INVALID", 1702),
        ("ATTESTATION_STATEMENT_INVALID", 1703),
        ("ATTESTATION_PREDICATE_FORBIDDEN", 1704),
        ("ATTESTATION_PREDICATE_INVALID", 1705),
        ("ATTESTATION_SIGNER_UNKNOWN", 1706),
        ("ATTESTATION_SIGNER_REVOKED", 1707),
        ("ATTESTATION_SIGNATURE_INVALID", 1708),
    ];

    fn index(&self) -> usize {
        match self {
            Rejection::TooLarge { .. } => 0,
            Rejection::Malformed(_) => 1,
            Rejection::NonCanonical => 2,
            Rejection::ChainIdMismatch { .. } => 3,
            Rejection::KindMissing => 4,
            Rejection::KindUnsupported(_) => 5,
            Rejection::FieldInvalid { .. } => 6,
            Rejection::SubmitterUnknown(_) => 7,
            Rejection::SubmitterRevoked(_) => 8,
            Rejection::NonceInvalid { .. } => 9,
            Rejection::SignatureInvalid(_) => 10,
            Rejection::NotAdmin(_) => 11,
            Rejection::NotAuthorized { .. } => 12,
            Rejection::IdentityExists(_) => 13,
            Rejection::IdentityUnknown(_) => 14,
            Rejection::IdentityRevoked(_) => 15,
            Rejection::KeyInvalid { .. } => 16,
            Rejection::KeyReused(_) => 17,
            Rejection::NotAdminOrOwner { .. } => 18,
            Rejection::PolicyInvalid { .. } => 19,
            Rejection::CertificateRejected { .. } => 20,
            Rejection::RequestedByMismatch { .. } => 21,
            Rejection::DeploymentDuplicate(_) => 22,
            Rejection::AuditAgentMismatch { .. } => 23,
            Rejection::AuditSequenceInvalid { .. } => 24,
            Rejection::AuditPreviousHashMismatch { .. } => 25,
            Rejection::AuditEventTypeUnknown(_) => 26,
            Rejection::AuditRiskInvalid(_) => 27,
            Rejection::AuditDataInvalid(_) => 28,
            Rejection::AuditTimestampInvalid { .. } => 29,
            Rejection::AttestationEnvelopeInvalid(_) => 30,
            Rejection::AttestationPayloadTypeInvalid(_) => 31,
            Rejection::AttestationStatementInvalid(_) => 32,
            Rejection::AttestationPredicateForbidden(_) => 33,
            Rejection::AttestationPredicateInvalid(_) => 34,
            Rejection::AttestationSignerUnknown(_) => 35,
            Rejection::AttestationSignerRevoked(_) => 36,
            Rejection::AttestationSignatureInvalid(_) => 37,
        }
    }

    /// The stable string code, e.g. `TX_NONCE_INVALID`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        Self::CODES[self.index()].0
    }

    /// The stable numeric code (the JSON-RPC / gRPC error code of this rejection).
    #[must_use]
    pub fn numeric_code(&self) -> u32 {
        Self::CODES[self.index()].1
    }

    /// The detail codes carried: the maat-v1 failure codes of a rejected certificate or an
    /// invalid policy; empty otherwise.
    #[must_use]
    pub fn detail_codes(&self) -> Vec<&str> {
        match self {
            Rejection::CertificateRejected { failures } => {
                failures.iter().map(|f| f.code.as_str()).collect()
            }
            Rejection::PolicyInvalid { failures } => failures.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// The outcome of checking a transaction when it is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The transaction is invalid at this state and time.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The state could not be read: no verdict.
    #[error(transparent)]
    State(#[from] StateError),
}

impl TxError {
    /// The rejection, if this is one.
    #[must_use]
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            TxError::Rejected(r) => Some(r),
            TxError::State(_) => None,
        }
    }
}
