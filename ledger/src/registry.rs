//! The `maat-v1` [`Registry`] over a ledger [`StateView`], and the cache of decoded records.
//!
//! Records are decoded lazily, on first lookup, and cached by the BLAKE3 hash of their bytes:
//! a cached entry is valid for any view that holds those bytes, whichever block it belongs to,
//! so one cache serves the mempool (committed state) and every pending block. Public keys are
//! parsed once and keep their expanded verifying key (ML-DSA-65 expansion is the expensive
//! part of a verification).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use maat_certificate::maat_v1::{
    AttestationEntry, IdentityRecord, RegisteredPolicy, Registry, SignerRule,
};
use maat_crypto::sig::{PublicKey, Signature};
use maat_proto::tx::{key_fingerprint, key_from_proto};
use maat_proto::v1;

use crate::names::ADMIN_ROLE;
use crate::state::{StateError, StateView, corrupt, decode_record, keys};

/// A registered identity, decoded.
#[derive(Debug)]
pub struct Identity {
    /// The stored record.
    pub record: v1::IdentityRecord,
    /// The checker's view of it (keys parsed and prepared).
    pub checker: Arc<IdentityRecord>,
    /// The active key.
    pub active_key: PublicKey,
    /// [`key_fingerprint`] of the active key.
    pub active_fingerprint: [u8; 32],
}

impl Identity {
    /// True for an unrevoked identity holding role `admin`.
    #[must_use]
    pub fn is_admin(&self) -> bool {
        !self.record.revoked && self.has_role(ADMIN_ROLE)
    }

    /// True if it holds `role` (revocation aside).
    #[must_use]
    pub fn has_role(&self, role: &str) -> bool {
        self.record.roles.iter().any(|r| r == role)
    }

    fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, StateError> {
        let record: v1::IdentityRecord = decode_record(key, bytes)?;
        let parse = |k: &v1::PublicKey| key_from_proto(k).map_err(|e| corrupt(key, e));
        let active_key = parse(
            record
                .active_key
                .as_ref()
                .ok_or_else(|| corrupt(key, "no active key"))?,
        )?;
        let rotated = record
            .rotated_out_keys
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        // Expand now, once: every later verification reuses it through the shared cache.
        let _ = active_key.verifier();
        let checker = IdentityRecord {
            id: record.id.clone(),
            active_keys: vec![active_key.clone()],
            rotated_out_keys: rotated,
            revoked: record.revoked,
            roles: record.roles.iter().cloned().collect::<BTreeSet<_>>(),
        };
        Ok(Identity {
            active_fingerprint: key_fingerprint(&active_key),
            active_key,
            checker: Arc::new(checker),
            record,
        })
    }
}

/// Cached decoded records, shared by every view (see the module docs). Thread-safe.
#[derive(Debug)]
pub struct DecodeCache {
    identities: Mutex<HashMap<[u8; 32], Arc<Identity>>>,
    policies: Mutex<HashMap<[u8; 32], Arc<RegisteredPolicy>>>,
    /// Evidence signatures that verified, by [`evidence_signature_id`]: a certificate admitted
    /// to the mempool is not verified again when its block is checked before voting.
    evidence_signatures: Mutex<Generations>,
    /// Evidence signature verifications skipped thanks to the cache (for tests and metrics).
    evidence_signature_hits: std::sync::atomic::AtomicU64,
    capacity: usize,
}

/// The cache key of a verified evidence signature: algorithm, public key, signed hash and
/// signature bytes, each length-prefixed so no two triples share an encoding.
fn evidence_signature_id(key: &PublicKey, hash: &[u8], sig: &Signature) -> [u8; 32] {
    let mut h = maat_crypto::hash::IdHasher::new("verified-evidence-signature");
    for part in [
        key.algorithm().as_str().as_bytes(),
        key.as_bytes(),
        hash,
        sig.as_bytes(),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize()
}

/// A bounded set that forgets its oldest half, not everything, when full: the current
/// generation and the one before. Clearing all at once made every certificate still pending
/// (admitted, not yet in a block) pay its signature verifications again at the next replay,
/// all at the same moment, under exactly the load that filled the set.
#[derive(Debug, Default)]
struct Generations {
    current: HashSet<[u8; 32]>,
    previous: HashSet<[u8; 32]>,
}

impl Generations {
    fn contains(&self, id: &[u8; 32]) -> bool {
        self.current.contains(id) || self.previous.contains(id)
    }

    fn insert(&mut self, id: [u8; 32], generation_size: usize) {
        if self.current.len() >= generation_size {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id);
    }
}

impl Default for DecodeCache {
    fn default() -> Self {
        Self::with_capacity(16_384)
    }
}

fn content_id(bytes: &[u8]) -> [u8; 32] {
    maat_crypto::blake3_id("state-record", bytes)
}

fn cached<T>(
    map: &Mutex<HashMap<[u8; 32], Arc<T>>>,
    capacity: usize,
    bytes: &[u8],
    decode: impl FnOnce() -> Result<T, StateError>,
) -> Result<Arc<T>, StateError> {
    let id = content_id(bytes);
    // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
    if let Some(hit) = map.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return Ok(Arc::clone(hit));
    }
    let value = Arc::new(decode()?);
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    // Crude bound: forget everything when full (entries are cheap to rebuild).
    if m.len() >= capacity {
        m.clear();
    }
    m.insert(id, Arc::clone(&value));
    Ok(value)
}

impl DecodeCache {
    /// A cache holding at most `capacity` records of each type.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        DecodeCache {
            identities: Mutex::new(HashMap::new()),
            policies: Mutex::new(HashMap::new()),
            evidence_signatures: Mutex::new(Generations::default()),
            evidence_signature_hits: std::sync::atomic::AtomicU64::new(0),
            capacity: capacity.max(1),
        }
    }

    /// How many evidence signature verifications the cache has saved so far.
    pub fn evidence_signature_hits(&self) -> u64 {
        self.evidence_signature_hits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn evidence_signature_verified(&self, key: &PublicKey, hash: &[u8], sig: &Signature) -> bool {
        let id = evidence_signature_id(key, hash, sig);
        let hit = self
            .evidence_signatures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id);
        if hit {
            self.evidence_signature_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        hit
    }

    fn remember_evidence_signature(&self, key: &PublicKey, hash: &[u8], sig: &Signature) {
        let id = evidence_signature_id(key, hash, sig);
        let mut set = self
            .evidence_signatures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Up to 2 × 4 × capacity signatures (~18,700 certificates per generation by default).
        set.insert(id, self.capacity * 4);
    }

    /// The identity `id` at `view`.
    ///
    /// # Errors
    /// [`StateError`] on a failed read or a corrupt record.
    pub fn identity(
        &self,
        view: &dyn StateView,
        id: &str,
    ) -> Result<Option<Arc<Identity>>, StateError> {
        let key = keys::identity(id);
        let Some(bytes) = view.get(&key)? else {
            return Ok(None);
        };
        cached(&self.identities, self.capacity, &bytes, || {
            Identity::decode(&key, &bytes)
        })
        .map(Some)
    }

    /// The policy registered for `(service, environment)` at `view`, as the checker sees it.
    ///
    /// # Errors
    /// [`StateError`] on a failed read or a corrupt record.
    pub fn policy(
        &self,
        view: &dyn StateView,
        service: &str,
        environment: &str,
    ) -> Result<Option<Arc<RegisteredPolicy>>, StateError> {
        let key = keys::policy(service, environment);
        let Some(bytes) = view.get(&key)? else {
            return Ok(None);
        };
        cached(&self.policies, self.capacity, &bytes, || {
            let rec: v1::PolicyRecord = decode_record(&key, &bytes)?;
            Ok(registered_policy(&rec))
        })
        .map(Some)
    }
}

/// The checker's form of a policy record.
#[must_use]
pub fn registered_policy(rec: &v1::PolicyRecord) -> RegisteredPolicy {
    RegisteredPolicy {
        policy_root: rec.policy_root.clone(),
        signers: rec
            .signers
            .iter()
            .map(|s| {
                (
                    s.evidence_type.clone(),
                    SignerRule {
                        identities: s.identities.iter().cloned().collect(),
                        roles: s.roles.iter().cloned().collect(),
                    },
                )
            })
            .collect(),
    }
}

/// The `maat-v1` registry at a state view. The `Registry` trait cannot fail, so a state read
/// error is remembered (the lookup answers "absent") and must be collected with
/// [`StateRegistry::take_error`] after checking: a verdict reached with an error is void.
pub struct StateRegistry<'a> {
    view: &'a dyn StateView,
    cache: &'a DecodeCache,
    error: RefCell<Option<StateError>>,
}

impl<'a> StateRegistry<'a> {
    /// The registry at `view`.
    #[must_use]
    pub fn new(view: &'a dyn StateView, cache: &'a DecodeCache) -> Self {
        StateRegistry {
            view,
            cache,
            error: RefCell::new(None),
        }
    }

    /// The first state error met by a lookup, if any.
    pub fn take_error(&self) -> Option<StateError> {
        self.error.borrow_mut().take()
    }

    fn remember<T>(&self, r: Result<Option<T>, StateError>) -> Option<T> {
        match r {
            Ok(v) => v,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

impl Registry for StateRegistry<'_> {
    fn identity(&self, id: &str) -> Option<Arc<IdentityRecord>> {
        self.remember(self.cache.identity(self.view, id))
            .map(|i| Arc::clone(&i.checker))
    }

    fn policy(&self, service: &str, environment: &str) -> Option<Arc<RegisteredPolicy>> {
        self.remember(self.cache.policy(self.view, service, environment))
    }

    fn deployment_finalized(&self, deployment_id: &str) -> bool {
        self.remember(self.view.get(&keys::deployment(deployment_id)))
            .is_some()
    }

    fn attestation(&self, log_index: u64) -> Option<Arc<AttestationEntry>> {
        let rec = self.remember(crate::state::attestation_record(self.view, log_index))?;
        Some(Arc::new(AttestationEntry {
            log_index: rec.log_index,
            predicate_type: rec.predicate_type,
            subjects: rec.subjects,
            signers: rec.signers,
        }))
    }

    fn evidence_signature_verified(&self, key: &PublicKey, hash: &[u8], sig: &Signature) -> bool {
        self.cache.evidence_signature_verified(key, hash, sig)
    }

    fn remember_evidence_signature(&self, key: &PublicKey, hash: &[u8], sig: &Signature) {
        self.cache.remember_evidence_signature(key, hash, sig);
    }
}
