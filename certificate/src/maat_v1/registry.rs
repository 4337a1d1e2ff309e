//! The on-chain registry of identities and policies, as the `maat-v1` checker sees it.
//!
//! The ledger implements [`Registry`] over its state at the block being checked (10.2); tests,
//! the CLI and the benches use [`InMemoryRegistry`]. Lookups return `Arc`s so an implementation
//! can keep decoded records (and the public keys' expanded verifying keys, which
//! `maat_crypto::PublicKey` caches and shares between clones) in a cache and hand them out at
//! the cost of a reference-count increment.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use maat_crypto::sig::{PublicKey, Signature};

use super::canon;
use super::model::Policy;
use super::parse::{ParseError, parse_policy};

/// A registered identity (`did:maat:<id>`, PROTOCOL.md `IdentityOp`) and its key status.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct IdentityRecord {
    /// The identity id, as evidence `signer` names it.
    pub id: String,
    /// Keys that may sign now (normally one; more during an overlap the ledger allows).
    pub active_keys: Vec<PublicKey>,
    /// Keys replaced by a rotation. A signature under one of them is
    /// `EVIDENCE_SIGNER_UNAUTHORIZED`, never accepted.
    pub rotated_out_keys: Vec<PublicKey>,
    /// A revoked identity signs nothing, whatever its keys.
    pub revoked: bool,
    /// Roles held (for example `release-manager`).
    pub roles: BTreeSet<String>,
}

impl IdentityRecord {
    /// True if the identity holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }
}

/// Who may sign evidence of one type under a registered policy: listed identity ids, or any
/// identity holding one of the listed roles.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SignerRule {
    pub identities: BTreeSet<String>,
    pub roles: BTreeSet<String>,
}

impl SignerRule {
    /// A rule allowing the given identity ids.
    pub fn identities<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SignerRule {
            identities: ids.into_iter().map(Into::into).collect(),
            roles: BTreeSet::new(),
        }
    }

    /// A rule allowing any identity with one of the given roles.
    pub fn roles<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SignerRule {
            identities: BTreeSet::new(),
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }

    /// True if `identity` is allowed by this rule (by id or by one of its roles).
    pub fn allows(&self, identity: &IdentityRecord) -> bool {
        self.identities.contains(&identity.id)
            || identity.roles.iter().any(|r| self.roles.contains(r))
    }
}

/// The policy registered for a `(service, environment)` pair (PROTOCOL.md `PolicyOp`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RegisteredPolicy {
    /// Lowercase hex `policy_root` of the registered policy; a certificate's policy must hash
    /// to exactly this.
    pub policy_root: String,
    /// Per evidence type, who may sign it. A type with no entry may be signed by nobody.
    pub signers: HashMap<String, SignerRule>,
}

impl RegisteredPolicy {
    /// True if `identity` may sign evidence of `evidence_type` under this policy.
    pub fn authorizes(&self, evidence_type: &str, identity: &IdentityRecord) -> bool {
        self.signers
            .get(evidence_type)
            .is_some_and(|rule| rule.allows(identity))
    }
}

/// A finalized supply-chain attestation (an `Attestation` transaction: a DSSE envelope over
/// an in-toto Statement v1) as the ledger stores it at its transparency-log index. An
/// `attestation_ref` evidence object cites one by `log_index`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AttestationEntry {
    /// The transparency-log index the attestation was committed at.
    pub log_index: u64,
    /// The in-toto `predicateType` URI (for example `https://slsa.dev/provenance/v1`).
    pub predicate_type: String,
    /// The statement's subject digests, each `<alg>:<lowercase hex>` (e.g. `sha256:ab12...`).
    pub subjects: Vec<String>,
    /// The registered identity ids that signed the envelope.
    pub signers: Vec<String>,
}

/// Read access to the chain state the `maat-v1` checker needs. Object-safe; every method is
/// expected to be a map lookup.
pub trait Registry {
    /// The identity registered under `id`, if any.
    fn identity(&self, id: &str) -> Option<Arc<IdentityRecord>>;
    /// The policy registered for `(service, environment)`, if any.
    fn policy(&self, service: &str, environment: &str) -> Option<Arc<RegisteredPolicy>>;
    /// True if a certificate for `deployment_id` was already finalized on this chain (10.7).
    fn deployment_finalized(&self, deployment_id: &str) -> bool;

    /// The finalized attestation stored at transparency-log index `log_index`, if any.
    /// Default: none (a registry without attestations rejects every `attestation_ref`).
    fn attestation(&self, _log_index: u64) -> Option<Arc<AttestationEntry>> {
        None
    }

    /// True if this exact evidence signature (key, signed hash, signature bytes) already
    /// verified, e.g. at mempool admission, so validators need not verify it again before
    /// voting. Only the cryptography is cached: whether the key still counts (revoked, rotated,
    /// authorised) is read from the state on every check. Default: no cache.
    fn evidence_signature_verified(
        &self,
        _key: &PublicKey,
        _hash: &[u8],
        _sig: &Signature,
    ) -> bool {
        false
    }

    /// Records that an evidence signature verified (see [`Self::evidence_signature_verified`]).
    fn remember_evidence_signature(&self, _key: &PublicKey, _hash: &[u8], _sig: &Signature) {}
}

/// A [`Registry`] held in memory, built with the methods below.
#[derive(Clone, Debug, Default)]
pub struct InMemoryRegistry {
    identities: HashMap<String, Arc<IdentityRecord>>,
    /// `service -> environment -> policy`: nested so lookups borrow `&str` keys.
    policies: HashMap<String, HashMap<String, Arc<RegisteredPolicy>>>,
    finalized: HashSet<String>,
    attestations: HashMap<u64, Arc<AttestationEntry>>,
}

impl InMemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) an identity with one active key and the given roles.
    pub fn with_identity(mut self, id: &str, key: PublicKey, roles: &[&str]) -> Self {
        self.add_identity(id, key, roles);
        self
    }

    /// Registers (or replaces) an identity with one active key and the given roles.
    pub fn add_identity(&mut self, id: &str, key: PublicKey, roles: &[&str]) -> &mut Self {
        prepare(&key);
        let record = IdentityRecord {
            id: id.to_owned(),
            active_keys: vec![key],
            rotated_out_keys: Vec::new(),
            revoked: false,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        self.identities.insert(id.to_owned(), Arc::new(record));
        self
    }

    /// Registers (or replaces) a full identity record.
    pub fn add_identity_record(&mut self, record: IdentityRecord) -> &mut Self {
        record
            .active_keys
            .iter()
            .chain(&record.rotated_out_keys)
            .for_each(prepare);
        self.identities.insert(record.id.clone(), Arc::new(record));
        self
    }

    /// Rotates an identity's keys: the active keys become rotated-out, `new_key` becomes the
    /// only active key. Returns false if the identity is unknown.
    pub fn rotate_key(&mut self, id: &str, new_key: PublicKey) -> bool {
        prepare(&new_key);
        match self.identities.get_mut(id) {
            Some(rec) => {
                let rec = Arc::make_mut(rec);
                let old = std::mem::replace(&mut rec.active_keys, vec![new_key]);
                rec.rotated_out_keys.extend(old);
                true
            }
            None => false,
        }
    }

    /// Revokes an identity. Returns false if the identity is unknown.
    pub fn revoke(&mut self, id: &str) -> bool {
        match self.identities.get_mut(id) {
            Some(rec) => {
                Arc::make_mut(rec).revoked = true;
                true
            }
            None => false,
        }
    }

    /// Registers (or replaces) the policy for `(service, environment)` by its root.
    pub fn add_policy_root(
        &mut self,
        service: &str,
        environment: &str,
        policy_root: &str,
        signers: HashMap<String, SignerRule>,
    ) -> &mut Self {
        let rp = RegisteredPolicy {
            policy_root: policy_root.to_owned(),
            signers,
        };
        self.policies
            .entry(service.to_owned())
            .or_default()
            .insert(environment.to_owned(), Arc::new(rp));
        self
    }

    /// Registers (or replaces) `policy` for `(service, environment)`; returns its root.
    pub fn add_policy(
        &mut self,
        service: &str,
        environment: &str,
        policy: &Policy,
        signers: HashMap<String, SignerRule>,
    ) -> String {
        let root = canon::policy_root(policy);
        self.add_policy_root(service, environment, &root, signers);
        root
    }

    /// Registers the policy given as JSON (strictly parsed, as in a certificate); returns its
    /// root.
    ///
    /// # Errors
    /// The [`ParseError`] of the policy JSON.
    pub fn add_policy_json(
        &mut self,
        service: &str,
        environment: &str,
        policy_json: &[u8],
        signers: HashMap<String, SignerRule>,
    ) -> Result<String, ParseError> {
        let policy = parse_policy(policy_json)?;
        Ok(self.add_policy(service, environment, &policy, signers))
    }

    /// Marks `deployment_id` as finalized.
    pub fn finalize_deployment(&mut self, deployment_id: &str) -> &mut Self {
        self.finalized.insert(deployment_id.to_owned());
        self
    }

    /// Stores (or replaces) a finalized attestation at its `log_index`.
    pub fn add_attestation(&mut self, entry: AttestationEntry) -> &mut Self {
        self.attestations.insert(entry.log_index, Arc::new(entry));
        self
    }

    /// Stores (or replaces) a finalized attestation at its `log_index`.
    pub fn with_attestation(mut self, entry: AttestationEntry) -> Self {
        self.add_attestation(entry);
        self
    }
}

/// Decodes the key's verifying key now (for ML-DSA-65, expands the public matrix) so that no
/// check pays for it; `PublicKey` caches it and shares it between clones.
fn prepare(key: &PublicKey) {
    let _ = key.verifier();
}

impl Registry for InMemoryRegistry {
    fn identity(&self, id: &str) -> Option<Arc<IdentityRecord>> {
        self.identities.get(id).cloned()
    }

    fn policy(&self, service: &str, environment: &str) -> Option<Arc<RegisteredPolicy>> {
        self.policies
            .get(service)
            .and_then(|m| m.get(environment))
            .cloned()
    }

    fn deployment_finalized(&self, deployment_id: &str) -> bool {
        self.finalized.contains(deployment_id)
    }

    fn attestation(&self, log_index: u64) -> Option<Arc<AttestationEntry>> {
        self.attestations.get(&log_index).cloned()
    }
}
