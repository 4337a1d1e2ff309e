//! Transactions: stateless decoding ([`Ledger::decode`]), the submitter signature
//! ([`Ledger::verify_signature`]), and the one state-dependent check that both the mempool
//! ([`Ledger::check`]) and block application ([`Ledger::apply`]) run.
//!
//! Order of checks (cheap before expensive, stateless before stateful):
//! 1. decode: global size (before decoding), canonical protobuf, payload and body present,
//!    chain id, kind supported, per-kind size, field syntax; for a policy: strict parse and
//!    WF(P); for a certificate: strict parse (so `request` can be read); for an audit record:
//!    `agent_id == submitter`, event type, risk, data, and the record hash;
//! 2. submitter registered and not revoked, nonce = last + 1, envelope signature under the
//!    submitter's active key (skipped when a [`VerifiedTx`] token names that very key);
//! 3. the kind's own checks, which produce the state writes.

use std::sync::Arc;

use maat_certificate::maat_v1::{
    self, Certificate, CheckContext, Proof, RegisteredPolicy, Registry, Request, parse_certificate,
    parse_policy, policy_root,
};
use maat_certificate::{Component, maat_v1::IdentityRecord};
use maat_crypto::sig::{PublicKey, Signature};
use maat_proto::tx::{KeyError, key_from_proto, key_to_proto};
use maat_proto::v1::{self, identity_op::Op, tx_body::Kind};
use maat_proto::{CanonicalError, Message, TX_SIGNATURE_DOMAIN, TxId, decode_canonical};

use crate::attestation::{
    AttestationError, Envelope, check_predicate, check_session_claims, parse_statement,
};
use crate::audit::{self, AuditRecordError};
use crate::genesis::{ChainParams, Genesis};
use crate::names::{
    MAX_ROLES, MAX_SIGNER_TYPES, MAX_SIGNERS_PER_TYPE, name_problem, owner_role,
    sorted_names_problem,
};
use crate::registry::{DecodeCache, Identity, StateRegistry};
use crate::rejection::{CertificateFailure, Rejection, TxError, TxKind};
use crate::state::{
    Overlay, StateError, StateView, Write, audit_head, keys, last_nonce, policy_record,
};

/// Keys replaced by rotation that an identity record keeps (newest first). A signature by an
/// older one is simply invalid instead of "rotated out"; both are rejections.
pub const MAX_ROTATED_OUT_KEYS: usize = 8;

/// The ledger's state machine for one chain: its parameters and the shared decode cache.
/// Pure: the same view, transaction and block time give the same result on every machine.
/// `Send + Sync`; share one per node.
#[derive(Debug)]
pub struct Ledger {
    chain_id: String,
    params: ChainParams,
    cache: DecodeCache,
}

/// A transaction that passed the stateless checks.
#[derive(Clone, Debug)]
pub struct DecodedTx {
    bytes: Vec<u8>,
    payload_range: std::ops::Range<usize>,
    id: TxId,
    submitter: String,
    nonce: u64,
    signature: Vec<u8>,
    body: Body,
}

#[derive(Clone, Debug)]
enum Body {
    Certificate {
        json: Vec<u8>,
        request: Box<Request>,
    },
    Register {
        id: String,
        key: PublicKey,
        roles: Vec<String>,
    },
    Rotate {
        id: String,
        key: PublicKey,
    },
    Revoke {
        id: String,
    },
    Policy {
        service: String,
        environment: String,
        policy_json: Vec<u8>,
        policy_root: String,
        signers: Vec<v1::EvidenceSigners>,
    },
    Audit(Box<AuditBody>),
    Attestation(Box<AttestationBody>),
}

#[derive(Clone, Debug)]
struct AttestationBody {
    envelope: Envelope,
    predicate_type: String,
    subjects: Vec<String>,
    statement_sha256: [u8; 32],
}

#[derive(Clone, Debug)]
struct AuditBody {
    agent_id: String,
    session_id: String,
    event_type: String,
    sequence: u64,
    previous_hash: [u8; 32],
    timestamp_ms: u64,
    record_hash: [u8; 32],
}

impl DecodedTx {
    /// The transaction id (over the unsigned payload).
    #[must_use]
    pub fn id(&self) -> TxId {
        self.id
    }

    /// The canonical transaction bytes (what blocks carry and the log commits to).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, consuming the transaction.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The submitter identity id.
    #[must_use]
    pub fn submitter(&self) -> &str {
        &self.submitter
    }

    /// The nonce.
    #[must_use]
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The kind.
    #[must_use]
    pub fn kind(&self) -> TxKind {
        match self.body {
            Body::Certificate { .. } => TxKind::Certificate,
            Body::Register { .. } | Body::Rotate { .. } | Body::Revoke { .. } => TxKind::IdentityOp,
            Body::Policy { .. } => TxKind::PolicyOp,
            Body::Audit(_) => TxKind::AuditRecord,
            Body::Attestation(_) => TxKind::Attestation,
        }
    }

    /// The record hash of an audit record transaction (what the agent's next record names
    /// as `previous_hash`; [`audit::record_hash`]).
    #[must_use]
    pub fn audit_record_hash(&self) -> Option<[u8; 32]> {
        match &self.body {
            Body::Audit(a) => Some(a.record_hash),
            _ => None,
        }
    }

    /// The certificate's `request.deployment_id`, for a certificate transaction.
    #[must_use]
    pub fn deployment_id(&self) -> Option<&str> {
        match &self.body {
            Body::Certificate { request, .. } => Some(&request.deployment_id),
            _ => None,
        }
    }

    fn payload_bytes(&self) -> &[u8] {
        self.bytes
            .get(self.payload_range.clone())
            .unwrap_or_default()
    }
}

/// A decoded transaction whose signature was verified under a given key of its submitter.
///
/// The mempool keeps these: re-checking one against a newer state skips the signature
/// verification as long as the submitter's active key is still the one recorded here (same
/// [`key_fingerprint`](maat_proto::tx::key_fingerprint)); after a rotation it verifies again.
#[derive(Clone, Debug)]
pub struct VerifiedTx {
    tx: DecodedTx,
    key_fingerprint: [u8; 32],
}

impl VerifiedTx {
    /// The transaction.
    #[must_use]
    pub fn tx(&self) -> &DecodedTx {
        &self.tx
    }

    /// The fingerprint of the key the signature verified under.
    #[must_use]
    pub fn key_fingerprint(&self) -> [u8; 32] {
        self.key_fingerprint
    }

    /// The transaction, dropping the token.
    #[must_use]
    pub fn into_tx(self) -> DecodedTx {
        self.tx
    }
}

/// What a transaction is about, for the node's indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxSubject {
    /// A finalized deployment.
    Deployment {
        /// `request.deployment_id`.
        deployment_id: String,
        /// `request.service`.
        service: String,
        /// `request.environment`.
        environment: String,
        /// Lowercase hex maat-v1 certificate digest.
        certificate_digest: String,
    },
    /// An identity registered, rotated or revoked.
    Identity {
        /// The identity.
        id: String,
        /// `register`, `rotate` or `revoke`.
        op: &'static str,
    },
    /// A policy version registered.
    Policy {
        /// The service.
        service: String,
        /// The environment.
        environment: String,
        /// The new version.
        version: u64,
    },
    /// An audit record appended to an agent's chain.
    AuditRecord {
        /// The agent (the submitter).
        agent_id: String,
        /// The record's session.
        session_id: String,
        /// The record's event type.
        event_type: String,
        /// Its position in the agent's chain (1 for the first).
        sequence: u64,
        /// Its record hash.
        record_hash: [u8; 32],
    },
    /// A supply-chain attestation. Block application also records it in the state at its
    /// log index ([`crate::state::keys::attestation`]).
    Attestation {
        /// The in-toto predicate type.
        predicate_type: String,
        /// Every subject digest, `<algorithm>:<lowercase hex>`, sorted, unique.
        subjects: Vec<String>,
        /// The identities whose DSSE signatures verified, sorted.
        signers: Vec<String>,
        /// SHA-256 of the Statement's JSON bytes.
        statement_sha256: [u8; 32],
    },
}

/// The result of an accepted transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxEffects {
    /// The id.
    pub tx_id: TxId,
    /// The kind.
    pub kind: TxKind,
    /// The submitter.
    pub submitter: String,
    /// The nonce it used.
    pub nonce: u64,
    /// Its state changes, in the order applied.
    pub writes: Vec<Write>,
    /// What it is about.
    pub subject: TxSubject,
}

fn field(field: &str, reason: impl Into<String>) -> Rejection {
    Rejection::FieldInvalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn check_name(path: &str, s: &str) -> Result<(), Rejection> {
    match name_problem(s) {
        Some(p) => Err(field(path, p)),
        None => Ok(()),
    }
}

fn parse_key(path: &str, key: Option<&v1::PublicKey>) -> Result<PublicKey, Rejection> {
    let invalid = |reason: String| Rejection::KeyInvalid {
        field: path.to_owned(),
        reason,
    };
    let key = key.ok_or_else(|| invalid("missing".into()))?;
    key_from_proto(key).map_err(|e: KeyError| invalid(e.to_string()))
}

fn as_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl Ledger {
    /// The ledger of the chain `genesis` starts.
    #[must_use]
    pub fn new(genesis: &Genesis) -> Self {
        Self::with_params(genesis.chain_id(), genesis.params().clone())
    }

    /// A ledger for `chain_id` with `params` (tests and tools).
    #[must_use]
    pub fn with_params(chain_id: &str, params: ChainParams) -> Self {
        Ledger {
            chain_id: chain_id.to_owned(),
            params,
            cache: DecodeCache::default(),
        }
    }

    /// The chain id.
    #[must_use]
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The chain parameters.
    #[must_use]
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The decode cache.
    #[must_use]
    pub fn cache(&self) -> &DecodeCache {
        &self.cache
    }

    /// The maat-v1 registry at `view` (identities, policies, finalized deployments).
    #[must_use]
    pub fn registry<'a>(&'a self, view: &'a dyn StateView) -> StateRegistry<'a> {
        StateRegistry::new(view, &self.cache)
    }

    /// The nonce `submitter`'s next transaction must carry at `view`.
    ///
    /// # Errors
    /// [`StateError`].
    pub fn next_nonce(&self, view: &dyn StateView, submitter: &str) -> Result<u64, StateError> {
        Ok(last_nonce(view, submitter)?.saturating_add(1))
    }

    /// The stateless checks: size (before decoding), canonical encoding, chain id, kind,
    /// per-kind size, field syntax, policy WF(P), certificate parse.
    ///
    /// # Errors
    /// The [`Rejection`].
    pub fn decode(&self, bytes: &[u8]) -> Result<DecodedTx, Rejection> {
        let tx: v1::Transaction = decode_canonical(bytes, as_usize(self.params.max_tx_bytes))
            .map_err(|e| match e {
                CanonicalError::TooLarge { len, max } => Rejection::TooLarge {
                    kind: None,
                    size: len,
                    max,
                },
                CanonicalError::Malformed(m) => Rejection::Malformed(m),
                CanonicalError::NonCanonical => Rejection::NonCanonical,
            })?;
        let payload = tx
            .payload
            .ok_or_else(|| Rejection::Malformed("the payload is missing".into()))?;
        // Canonical encoding: field 1 (tag byte 0x0a), its length varint, then the payload.
        let payload_len = payload.encoded_len();
        let start = 1 + prost_varint_len(payload_len);
        let payload_range = start..start + payload_len;
        if payload.chain_id != self.chain_id {
            return Err(Rejection::ChainIdMismatch {
                expected: self.chain_id.clone(),
                got: payload.chain_id,
            });
        }
        let kind = payload
            .body
            .and_then(|b| b.kind)
            .ok_or(Rejection::KindMissing)?;
        let (tx_kind, limit) = match &kind {
            Kind::Certificate(_) => (TxKind::Certificate, self.params.max_certificate_tx_bytes),
            Kind::IdentityOp(_) => (TxKind::IdentityOp, self.params.max_identity_op_tx_bytes),
            Kind::PolicyOp(_) => (TxKind::PolicyOp, self.params.max_policy_op_tx_bytes),
            Kind::AuditRecord(_) => (TxKind::AuditRecord, self.params.max_audit_record_tx_bytes),
            Kind::Attestation(_) => (TxKind::Attestation, self.params.max_attestation_tx_bytes),
        };
        if bytes.len() > as_usize(limit) {
            return Err(Rejection::TooLarge {
                kind: Some(tx_kind),
                size: bytes.len(),
                max: as_usize(limit),
            });
        }
        check_name("submitter", &payload.submitter)?;
        let body = decode_body(kind, &self.chain_id, &payload.submitter, &self.params)?;
        let id = TxId::of_payload_bytes(bytes.get(payload_range.clone()).unwrap_or_default());
        Ok(DecodedTx {
            bytes: bytes.to_vec(),
            payload_range,
            id,
            submitter: payload.submitter,
            nonce: payload.nonce,
            signature: tx.signature,
            body,
        })
    }

    /// Verifies the envelope signature under the submitter's active key at `view` (also
    /// refusing an unknown or revoked submitter), and returns the token the mempool keeps.
    ///
    /// # Errors
    /// [`Rejection::SubmitterUnknown`], [`Rejection::SubmitterRevoked`],
    /// [`Rejection::SignatureInvalid`], or a [`StateError`].
    pub fn verify_signature(
        &self,
        view: &dyn StateView,
        tx: DecodedTx,
    ) -> Result<VerifiedTx, TxError> {
        let submitter = self.submitter(view, &tx)?;
        verify_envelope(&tx, &submitter)?;
        Ok(VerifiedTx {
            key_fingerprint: submitter.active_fingerprint,
            tx,
        })
    }

    /// Checks a decoded transaction at `view` and block time `block_time_ms` (milliseconds
    /// since the UNIX epoch), verifying its signature. Nothing is written.
    ///
    /// # Errors
    /// [`TxError`].
    pub fn check(
        &self,
        view: &dyn StateView,
        tx: &DecodedTx,
        block_time_ms: u64,
    ) -> Result<TxEffects, TxError> {
        self.execute(view, tx, None, block_time_ms)
    }

    /// As [`Self::check`], skipping the signature when the submitter's active key is still
    /// the one the token was verified under.
    ///
    /// # Errors
    /// [`TxError`].
    pub fn check_verified(
        &self,
        view: &dyn StateView,
        tx: &VerifiedTx,
        block_time_ms: u64,
    ) -> Result<TxEffects, TxError> {
        self.execute(view, &tx.tx, Some(&tx.key_fingerprint), block_time_ms)
    }

    /// [`Self::decode`] then [`Self::check`].
    ///
    /// # Errors
    /// [`TxError`].
    pub fn check_bytes(
        &self,
        view: &dyn StateView,
        bytes: &[u8],
        block_time_ms: u64,
    ) -> Result<TxEffects, TxError> {
        let tx = self.decode(bytes)?;
        self.check(view, &tx, block_time_ms)
    }

    /// Checks `tx` at `overlay` and, if accepted, writes its effects into `overlay`. With
    /// `verified_key` (a [`VerifiedTx::key_fingerprint`] of this very transaction's
    /// bytes), the signature is not verified again while that key is active.
    ///
    /// # Errors
    /// [`TxError`]; the overlay is unchanged then.
    pub fn apply<B: StateView>(
        &self,
        overlay: &mut Overlay<B>,
        tx: &DecodedTx,
        verified_key: Option<&[u8; 32]>,
        block_time_ms: u64,
    ) -> Result<TxEffects, TxError> {
        let effects = self.execute(&*overlay, tx, verified_key, block_time_ms)?;
        overlay.extend(effects.writes.iter().cloned());
        Ok(effects)
    }

    fn submitter(&self, view: &dyn StateView, tx: &DecodedTx) -> Result<Arc<Identity>, TxError> {
        let submitter = self
            .cache
            .identity(view, &tx.submitter)?
            .ok_or_else(|| Rejection::SubmitterUnknown(tx.submitter.clone()))?;
        if submitter.record.revoked {
            return Err(Rejection::SubmitterRevoked(tx.submitter.clone()).into());
        }
        Ok(submitter)
    }

    /// The one implementation behind check and apply: every check, and the writes.
    fn execute(
        &self,
        view: &dyn StateView,
        tx: &DecodedTx,
        verified_key: Option<&[u8; 32]>,
        block_time_ms: u64,
    ) -> Result<TxEffects, TxError> {
        let submitter = self.submitter(view, tx)?;
        let last = last_nonce(view, &tx.submitter)?;
        // At u64::MAX the submitter can send nothing more (no expected nonce exists).
        if last == u64::MAX || tx.nonce != last + 1 {
            return Err(Rejection::NonceInvalid {
                expected: last.saturating_add(1),
                got: tx.nonce,
            }
            .into());
        }
        if verified_key != Some(&submitter.active_fingerprint) {
            verify_envelope(tx, &submitter)?;
        }
        let mut writes = vec![(
            keys::nonce(&tx.submitter),
            Some(
                v1::NonceRecord {
                    last_nonce: tx.nonce,
                }
                .encode_to_vec(),
            ),
        )];
        let subject = match &tx.body {
            Body::Certificate { json, request } => {
                self.certificate(view, tx, json, request, block_time_ms, &mut writes)?
            }
            Body::Register { id, key, roles } => {
                if !submitter.is_admin() {
                    return Err(Rejection::NotAdmin(tx.submitter.clone()).into());
                }
                if view.get(&keys::identity(id))?.is_some() {
                    return Err(Rejection::IdentityExists(id.clone()).into());
                }
                let rec = v1::IdentityRecord {
                    id: id.clone(),
                    active_key: Some(key_to_proto(key)),
                    rotated_out_keys: Vec::new(),
                    revoked: false,
                    roles: roles.clone(),
                    registered_by_tx: tx.id.0.to_vec(),
                };
                writes.push((keys::identity(id), Some(rec.encode_to_vec())));
                TxSubject::Identity {
                    id: id.clone(),
                    op: "register",
                }
            }
            Body::Rotate { id, key } => {
                // The envelope was verified under the identity's current key: only the
                // identity itself can rotate.
                if *id != tx.submitter {
                    return Err(not_authorized(tx, "rotate", id));
                }
                let mut rec = submitter.record.clone();
                let new = key_to_proto(key);
                if rec.active_key.as_ref() == Some(&new) || rec.rotated_out_keys.contains(&new) {
                    return Err(Rejection::KeyReused(id.clone()).into());
                }
                if let Some(old) = rec.active_key.replace(new) {
                    rec.rotated_out_keys.insert(0, old);
                }
                rec.rotated_out_keys.truncate(MAX_ROTATED_OUT_KEYS);
                writes.push((keys::identity(id), Some(rec.encode_to_vec())));
                TxSubject::Identity {
                    id: id.clone(),
                    op: "rotate",
                }
            }
            Body::Revoke { id } => {
                if *id != tx.submitter && !submitter.is_admin() {
                    return Err(not_authorized(tx, "revoke", id));
                }
                let target = if *id == tx.submitter {
                    Arc::clone(&submitter)
                } else {
                    self.cache
                        .identity(view, id)?
                        .ok_or_else(|| Rejection::IdentityUnknown(id.clone()))?
                };
                if target.record.revoked {
                    return Err(Rejection::IdentityRevoked(id.clone()).into());
                }
                let mut rec = target.record.clone();
                rec.revoked = true;
                writes.push((keys::identity(id), Some(rec.encode_to_vec())));
                TxSubject::Identity {
                    id: id.clone(),
                    op: "revoke",
                }
            }
            Body::Audit(a) => self.audit_record(view, tx, a, block_time_ms, &mut writes)?,
            Body::Attestation(a) => self.attestation(view, a)?,
            Body::Policy {
                service,
                environment,
                policy_json,
                policy_root,
                signers,
            } => {
                if !(submitter.is_admin() || submitter.has_role(&owner_role(service))) {
                    return Err(Rejection::NotAdminOrOwner {
                        submitter: tx.submitter.clone(),
                        service: service.clone(),
                    }
                    .into());
                }
                let version = match policy_record(view, service, environment)? {
                    None => 1,
                    Some(prev) => prev.version.checked_add(1).ok_or_else(|| {
                        field("policy_op", "the policy version counter is exhausted")
                    })?,
                };
                let rec = v1::PolicyRecord {
                    service: service.clone(),
                    environment: environment.clone(),
                    version,
                    policy_json: policy_json.clone(),
                    policy_root: policy_root.clone(),
                    signers: signers.clone(),
                    tx_id: tx.id.0.to_vec(),
                };
                let bytes = rec.encode_to_vec();
                writes.push((keys::policy(service, environment), Some(bytes.clone())));
                writes.push((
                    keys::policy_version(service, environment, version),
                    Some(bytes),
                ));
                TxSubject::Policy {
                    service: service.clone(),
                    environment: environment.clone(),
                    version,
                }
            }
        };
        Ok(TxEffects {
            tx_id: tx.id,
            kind: tx.kind(),
            submitter: tx.submitter.clone(),
            nonce: tx.nonce,
            writes,
            subject,
        })
    }

    fn certificate(
        &self,
        view: &dyn StateView,
        tx: &DecodedTx,
        json: &[u8],
        request: &Request,
        block_time_ms: u64,
        writes: &mut Vec<Write>,
    ) -> Result<TxSubject, TxError> {
        // Nothing in the certificate binds `requested_by`; the envelope signature does.
        if request.requested_by != tx.submitter {
            return Err(Rejection::RequestedByMismatch {
                requested_by: request.requested_by.clone(),
                submitter: tx.submitter.clone(),
            }
            .into());
        }
        // Cheap, and refuses a replayed certificate before any signature work.
        if view
            .get(&keys::deployment(&request.deployment_id))?
            .is_some()
        {
            return Err(Rejection::DeploymentDuplicate(request.deployment_id.clone()).into());
        }
        #[allow(clippy::cast_precision_loss)]
        let ctx = CheckContext {
            block_time: block_time_ms as f64 / 1000.0,
            max_clock_skew: self.params.max_clock_skew_secs as f64,
        };
        let registry = self.registry(view);
        let report = maat_v1::check(json, &registry, &ctx);
        if let Some(e) = registry.take_error() {
            return Err(e.into());
        }
        if !report.accepted {
            return Err(Rejection::CertificateRejected {
                failures: report
                    .failures
                    .into_iter()
                    .map(|f| CertificateFailure {
                        component: f.component.as_str().to_owned(),
                        code: f.code,
                        message: f.message,
                    })
                    .collect(),
            }
            .into());
        }
        let rec = v1::DeploymentRecord {
            deployment_id: request.deployment_id.clone(),
            tx_id: tx.id.0.to_vec(),
            service: request.service.clone(),
            environment: request.environment.clone(),
            policy_root: report.policy_root,
            certificate_digest: report.certificate_digest.clone(),
            submitter: tx.submitter.clone(),
            block_time_ms,
        };
        writes.push((
            keys::deployment(&request.deployment_id),
            Some(rec.encode_to_vec()),
        ));
        Ok(TxSubject::Deployment {
            deployment_id: request.deployment_id.clone(),
            service: request.service.clone(),
            environment: request.environment.clone(),
            certificate_digest: report.certificate_digest,
        })
    }
}

impl Ledger {
    /// The chain rules of an audit record: the next position of the agent's chain, linked to
    /// its head, not dated before the head nor beyond the block time plus the clock skew.
    fn audit_record(
        &self,
        view: &dyn StateView,
        tx: &DecodedTx,
        a: &AuditBody,
        block_time_ms: u64,
        writes: &mut Vec<Write>,
    ) -> Result<TxSubject, TxError> {
        let head = audit_head(view, &a.agent_id)?;
        let (last, head_hash, head_time) = match &head {
            None => (0, audit::GENESIS_PREVIOUS_HASH, 1),
            Some(h) => {
                let hash: [u8; 32] = h.record_hash.as_slice().try_into().map_err(|_| {
                    crate::state::corrupt(&keys::audit_head(&a.agent_id), "record_hash length")
                })?;
                (h.sequence, hash, h.timestamp_ms)
            }
        };
        if last == u64::MAX || a.sequence != last + 1 {
            return Err(Rejection::AuditSequenceInvalid {
                agent_id: a.agent_id.clone(),
                expected: last.saturating_add(1),
                got: a.sequence,
            }
            .into());
        }
        if a.previous_hash != head_hash {
            return Err(Rejection::AuditPreviousHashMismatch {
                agent_id: a.agent_id.clone(),
                expected: hex::encode(head_hash),
                got: hex::encode(a.previous_hash),
            }
            .into());
        }
        let max_ms =
            block_time_ms.saturating_add(self.params.max_clock_skew_secs.saturating_mul(1000));
        if a.timestamp_ms < head_time || a.timestamp_ms > max_ms {
            return Err(Rejection::AuditTimestampInvalid {
                timestamp_ms: a.timestamp_ms,
                min_ms: head_time,
                max_ms,
            }
            .into());
        }
        let rec = v1::AuditHeadRecord {
            sequence: a.sequence,
            record_hash: a.record_hash.to_vec(),
            timestamp_ms: a.timestamp_ms,
            tx_id: tx.id.0.to_vec(),
        };
        writes.push((keys::audit_head(&a.agent_id), Some(rec.encode_to_vec())));
        Ok(TxSubject::AuditRecord {
            agent_id: a.agent_id.clone(),
            session_id: a.session_id.clone(),
            event_type: a.event_type.clone(),
            sequence: a.sequence,
            record_hash: a.record_hash,
        })
    }
}

impl Ledger {
    /// Every DSSE signature must be by a registered, unrevoked identity (its keyid) and verify
    /// over PAE under that identity's active key.
    fn attestation(&self, view: &dyn StateView, a: &AttestationBody) -> Result<TxSubject, TxError> {
        let mut signers = Vec::with_capacity(a.envelope.signatures.len());
        for (i, sig) in a.envelope.signatures.iter().enumerate() {
            let signer = self
                .cache
                .identity(view, &sig.keyid)?
                .ok_or_else(|| Rejection::AttestationSignerUnknown(sig.keyid.clone()))?;
            if signer.record.revoked {
                return Err(Rejection::AttestationSignerRevoked(sig.keyid.clone()).into());
            }
            a.envelope
                .verify_signature(i, &signer.active_key)
                .map_err(|_| Rejection::AttestationSignatureInvalid(sig.keyid.clone()))?;
            signers.push(sig.keyid.clone());
        }
        signers.sort();
        Ok(TxSubject::Attestation {
            predicate_type: a.predicate_type.clone(),
            subjects: a.subjects.clone(),
            signers,
            statement_sha256: a.statement_sha256,
        })
    }
}

fn not_authorized(tx: &DecodedTx, action: &str, target: &str) -> TxError {
    Rejection::NotAuthorized {
        submitter: tx.submitter.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
    }
    .into()
}

fn verify_envelope(tx: &DecodedTx, submitter: &Identity) -> Result<(), Rejection> {
    let key = &submitter.active_key;
    let ok = Signature::from_bytes(key.algorithm(), &tx.signature)
        .and_then(|sig| key.verify(TX_SIGNATURE_DOMAIN, tx.payload_bytes(), &sig));
    ok.map_err(|_| Rejection::SignatureInvalid(tx.submitter.clone()))
}

/// Length of prost's varint encoding of `v`.
fn prost_varint_len(v: usize) -> usize {
    maat_proto::prost::encoding::encoded_len_varint(v as u64)
}

fn decode_body(
    kind: Kind,
    chain_id: &str,
    submitter: &str,
    params: &ChainParams,
) -> Result<Body, Rejection> {
    match kind {
        Kind::Certificate(c) => {
            let request = match parse_certificate(&c.certificate_json) {
                Ok(cert) => cert.request,
                Err(e) => {
                    return Err(Rejection::CertificateRejected {
                        failures: vec![CertificateFailure {
                            component: Component::Parse.as_str().to_owned(),
                            code: e.code(),
                            message: e.to_string(),
                        }],
                    });
                }
            };
            Ok(Body::Certificate {
                json: c.certificate_json,
                request: Box::new(request),
            })
        }
        Kind::IdentityOp(op) => match op.op {
            None => Err(field("identity_op", "no operation is set")),
            Some(Op::Register(r)) => {
                check_name("identity_op.register.id", &r.id)?;
                let key = parse_key("identity_op.register.public_key", r.public_key.as_ref())?;
                if let Some(p) = sorted_names_problem(&r.roles, MAX_ROLES) {
                    return Err(field("identity_op.register.roles", p));
                }
                Ok(Body::Register {
                    id: r.id,
                    key,
                    roles: r.roles,
                })
            }
            Some(Op::Rotate(r)) => {
                check_name("identity_op.rotate.id", &r.id)?;
                let key = parse_key("identity_op.rotate.new_key", r.new_key.as_ref())?;
                Ok(Body::Rotate { id: r.id, key })
            }
            Some(Op::Revoke(r)) => {
                check_name("identity_op.revoke.id", &r.id)?;
                Ok(Body::Revoke { id: r.id })
            }
        },
        Kind::PolicyOp(p) => {
            check_name("policy_op.service", &p.service)?;
            check_name("policy_op.environment", &p.environment)?;
            check_signers(&p.signers)?;
            let policy_root = wf_policy(&p.service, &p.environment, &p.policy_json)
                .map_err(|failures| Rejection::PolicyInvalid { failures })?;
            Ok(Body::Policy {
                service: p.service,
                environment: p.environment,
                policy_json: p.policy_json,
                policy_root,
                signers: p.signers,
            })
        }
        Kind::AuditRecord(r) => decode_audit(&r, chain_id, submitter),
        Kind::Attestation(a) => decode_attestation(&a, params),
    }
}

fn attestation_rejection(e: &AttestationError) -> Rejection {
    let msg = e.to_string();
    match e.code() {
        "ATTESTATION_PAYLOAD_TYPE_INVALID" => Rejection::AttestationPayloadTypeInvalid(msg),
        "ATTESTATION_STATEMENT_INVALID" => Rejection::AttestationStatementInvalid(msg),
        "ATTESTATION_PREDICATE_INVALID" => Rejection::AttestationPredicateInvalid(msg),
        "ATTESTATION_SIGNATURE_INVALID" => Rejection::AttestationSignatureInvalid(msg),
        _ => Rejection::AttestationEnvelopeInvalid(msg),
    }
}

/// The stateless checks of an attestation: envelope shape, payload type, the Statement, the
/// chain's predicate types, the predicate's shape for known types. Signatures need the
/// registry, so they are checked with the state.
fn decode_attestation(a: &v1::AttestationTx, params: &ChainParams) -> Result<Body, Rejection> {
    let envelope = Envelope::from_proto(a);
    envelope
        .check_shape()
        .map_err(|e| attestation_rejection(&e))?;
    let statement = parse_statement(&envelope.payload).map_err(|e| attestation_rejection(&e))?;
    if !params.predicate_type_allowed(&statement.predicate_type) {
        return Err(Rejection::AttestationPredicateForbidden(
            statement.predicate_type,
        ));
    }
    check_predicate(&statement.predicate_type, &statement.predicate)
        .map_err(|e| attestation_rejection(&e))?;
    check_session_claims(&statement, &envelope).map_err(|e| attestation_rejection(&e))?;
    Ok(Body::Attestation(Box::new(AttestationBody {
        subjects: statement.subject_digests(),
        predicate_type: statement.predicate_type,
        statement_sha256: maat_crypto::sha256(&envelope.payload),
        envelope,
    })))
}

/// The stateless checks of an audit record, cheapest first, and its record hash.
fn decode_audit(r: &v1::AuditRecordTx, chain_id: &str, submitter: &str) -> Result<Body, Rejection> {
    check_name("audit_record.agent_id", &r.agent_id)?;
    if r.agent_id != submitter {
        return Err(Rejection::AuditAgentMismatch {
            agent_id: r.agent_id.clone(),
            submitter: submitter.to_owned(),
        });
    }
    check_name("audit_record.session_id", &r.session_id)?;
    let commitment = audit::commitment(chain_id, r).map_err(|e| match e {
        AuditRecordError::EventTypeUnknown(t) => Rejection::AuditEventTypeUnknown(t),
        AuditRecordError::RiskInvalid(t) => Rejection::AuditRiskInvalid(t),
        AuditRecordError::Data(d) => Rejection::AuditDataInvalid(d.to_string()),
        AuditRecordError::Field(name, reason) => field(&format!("audit_record.{name}"), reason),
    })?;
    let previous_hash: [u8; 32] = r
        .previous_hash
        .as_slice()
        .try_into()
        .map_err(|_| field("audit_record.previous_hash", "must be 32 bytes"))?;
    Ok(Body::Audit(Box::new(AuditBody {
        agent_id: r.agent_id.clone(),
        session_id: r.session_id.clone(),
        event_type: r.event_type.clone(),
        sequence: r.sequence,
        previous_hash,
        timestamp_ms: r.timestamp_ms,
        record_hash: audit::commitment_hash(&commitment),
    })))
}

fn check_signers(signers: &[v1::EvidenceSigners]) -> Result<(), Rejection> {
    if signers.len() > MAX_SIGNER_TYPES {
        return Err(field(
            "policy_op.signers",
            format!(
                "{} evidence types, at most {MAX_SIGNER_TYPES}",
                signers.len()
            ),
        ));
    }
    for (i, s) in signers.iter().enumerate() {
        let at = format!("policy_op.signers[{i}]");
        check_name(&format!("{at}.evidence_type"), &s.evidence_type)?;
        if s.identities.is_empty() && s.roles.is_empty() {
            return Err(field(&at, "names no identity and no role"));
        }
        if s.identities.len() + s.roles.len() > MAX_SIGNERS_PER_TYPE {
            return Err(field(
                &at,
                format!("more than {MAX_SIGNERS_PER_TYPE} identities and roles"),
            ));
        }
        for (name, list) in [("identities", &s.identities), ("roles", &s.roles)] {
            if let Some(p) = sorted_names_problem(list, MAX_SIGNERS_PER_TYPE) {
                return Err(field(&format!("{at}.{name}"), p));
            }
        }
    }
    if signers
        .windows(2)
        .any(|w| w.first().map(|a| &a.evidence_type) >= w.get(1).map(|b| &b.evidence_type))
    {
        return Err(field(
            "policy_op.signers",
            "must be sorted by evidence_type, each type once",
        ));
    }
    Ok(())
}

/// Strictly parses the policy and runs WF(P) on it, plus the check that the policy's
/// `environment` is the operation's; returns its `policy_root` or the maat-v1 codes.
///
/// The checker exposes WF(P) only through [`maat_v1::check`], so this checks a certificate
/// that carries the policy with no evidence and no proof against a registry holding exactly
/// that policy, and keeps the `Parse` and `WF(P)` failures (the others are expected).
fn wf_policy(service: &str, environment: &str, json: &[u8]) -> Result<String, Vec<String>> {
    let policy = parse_policy(json).map_err(|e| vec![e.code()])?;
    let root = policy_root(&policy);
    let cert = Certificate {
        request: Request {
            deployment_id: "wf-check".into(),
            service: service.to_owned(),
            environment: environment.to_owned(),
            commit_sha: "wf-check".into(),
            artifact_hash: "wf-check".into(),
            requested_by: "wf-check".into(),
        },
        policy,
        evidence: Vec::new(),
        proof: Proof::default(),
        attestations: 0,
    };
    let registry = OnePolicy(Arc::new(RegisteredPolicy {
        policy_root: root.clone(),
        signers: std::collections::HashMap::new(),
    }));
    let report = maat_v1::check(
        &cert.to_canonical_bytes(),
        &registry,
        &CheckContext::at(0.0),
    );
    let failures: Vec<String> = report
        .failures
        .into_iter()
        .filter(|f| matches!(f.component, Component::Parse | Component::WfPolicy))
        .map(|f| f.code)
        .collect();
    if failures.is_empty() {
        Ok(root)
    } else {
        Err(failures)
    }
}

struct OnePolicy(Arc<RegisteredPolicy>);

impl Registry for OnePolicy {
    fn identity(&self, _: &str) -> Option<Arc<IdentityRecord>> {
        None
    }

    fn policy(&self, _: &str, _: &str) -> Option<Arc<RegisteredPolicy>> {
        Some(Arc::clone(&self.0))
    }

    fn deployment_finalized(&self, _: &str) -> bool {
        false
    }
}
