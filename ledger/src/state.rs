//! The ledger state as the state machine sees it: a key-value map read through
//! [`StateView`], layered with [`Overlay`]s for blocks that are not committed yet.
//!
//! Keys are 32-byte ids `blake3("maat/state-key/v1" || 0x00 || canonical StateKey)` (see
//! [`keys`]); values are canonical protobuf records (`maat_proto::v1::{IdentityRecord,
//! NonceRecord, PolicyRecord, DeploymentRecord, AuditHeadRecord, AttestationRecord}`). Storage persists them as
//! plain bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use maat_proto::v1::{self, state_key::Key};
use maat_proto::{CanonicalError, Message, decode_canonical};

/// A state read that failed. Never the transaction's fault: the node must not treat it as a
/// rejection (it would make its verdict differ from the other validators').
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The backend could not read (IO error, closed database, ...).
    #[error("state read failed: {0}")]
    Read(String),
    /// A stored record does not decode: the database is corrupt or was written by another
    /// version.
    #[error("state record {key} is corrupt: {reason}")]
    Corrupt {
        /// Lowercase hex state key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// Read access to the state at some block.
pub trait StateView {
    /// The value stored under `key`, if any.
    ///
    /// # Errors
    /// [`StateError::Read`] when the backend fails.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

impl<T: StateView + ?Sized> StateView for &T {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get(key)
    }
}

impl<T: StateView + ?Sized> StateView for Arc<T> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get(key)
    }
}

impl<T: StateView + ?Sized> StateView for Box<T> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get(key)
    }
}

/// One state change: `(key, Some(value))` sets, `(key, None)` deletes.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// A write set over a base view: reads see the writes first, then the base.
///
/// Stack one per pending block (`Overlay<Arc<Overlay<...>>>`, or `Arc<dyn StateView>` links)
/// so that checking a block whose ancestors are not committed sees their effects.
#[derive(Clone, Debug)]
pub struct Overlay<B> {
    base: B,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<B: StateView> Overlay<B> {
    /// An empty overlay over `base`.
    pub fn new(base: B) -> Self {
        Overlay {
            base,
            writes: BTreeMap::new(),
        }
    }

    /// An overlay holding `writes` (later entries for one key win) over `base`.
    pub fn with_writes(base: B, writes: impl IntoIterator<Item = Write>) -> Self {
        Overlay {
            base,
            writes: writes.into_iter().collect(),
        }
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    /// Deletes `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Applies `writes` in order.
    pub fn extend(&mut self, writes: impl IntoIterator<Item = Write>) {
        self.writes.extend(writes);
    }

    /// The write set, sorted by key.
    pub fn writes(&self) -> &BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        &self.writes
    }

    /// The base view.
    pub fn base(&self) -> &B {
        &self.base
    }

    /// The write set as a sorted list, one entry per key.
    pub fn into_writes(self) -> Vec<Write> {
        self.writes.into_iter().collect()
    }
}

impl<B: StateView> StateView for Overlay<B> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }
}

/// A state held in memory: the committed state of tests, tools and benches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryState {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryState {
    /// An empty state.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies writes (commit).
    pub fn apply<'a>(&mut self, writes: impl IntoIterator<Item = &'a Write>) {
        for (k, v) in writes {
            match v {
                Some(v) => {
                    self.map.insert(k.clone(), v.clone());
                }
                None => {
                    self.map.remove(k);
                }
            }
        }
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no key is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every `(key, value)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }
}

impl StateView for MemoryState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.map.get(key).cloned())
    }
}

/// State keys.
pub mod keys {
    use super::{Key, Message, v1};

    /// The stored key of a [`v1::StateKey`].
    #[must_use]
    pub fn of(key: Key) -> Vec<u8> {
        let k = v1::StateKey { key: Some(key) };
        maat_crypto::blake3_id(maat_proto::ids::kind::STATE_KEY, &k.encode_to_vec()).to_vec()
    }

    /// The identity record of `id`.
    #[must_use]
    pub fn identity(id: &str) -> Vec<u8> {
        of(Key::Identity(id.to_owned()))
    }

    /// The last committed nonce of `submitter`.
    #[must_use]
    pub fn nonce(submitter: &str) -> Vec<u8> {
        of(Key::Nonce(submitter.to_owned()))
    }

    /// The current policy of `(service, environment)`.
    #[must_use]
    pub fn policy(service: &str, environment: &str) -> Vec<u8> {
        of(Key::Policy(v1::PolicyKey {
            service: service.to_owned(),
            environment: environment.to_owned(),
        }))
    }

    /// Version `version` of the policy of `(service, environment)`.
    #[must_use]
    pub fn policy_version(service: &str, environment: &str, version: u64) -> Vec<u8> {
        of(Key::PolicyVersion(v1::PolicyVersionKey {
            service: service.to_owned(),
            environment: environment.to_owned(),
            version,
        }))
    }

    /// The finalized deployment `deployment_id`.
    #[must_use]
    pub fn deployment(deployment_id: &str) -> Vec<u8> {
        of(Key::Deployment(deployment_id.to_owned()))
    }

    /// The head (last record) of agent `agent_id`'s audit chain.
    #[must_use]
    pub fn audit_head(agent_id: &str) -> Vec<u8> {
        of(Key::AuditHead(agent_id.to_owned()))
    }

    /// The attestation committed at transparency-log index `log_index`.
    #[must_use]
    pub fn attestation(log_index: u64) -> Vec<u8> {
        of(Key::Attestation(log_index))
    }
}

/// Largest stored record decoded (a policy record holds at most a policy op's bytes).
const MAX_RECORD_BYTES: usize = 4 << 20;

/// Reads and decodes the record under `key`.
///
/// # Errors
/// [`StateError::Read`] from the view, [`StateError::Corrupt`] if the bytes are not the
/// canonical encoding of `M`.
pub fn read_record<M: Message + Default>(
    view: &dyn StateView,
    key: &[u8],
) -> Result<Option<M>, StateError> {
    match view.get(key)? {
        None => Ok(None),
        Some(bytes) => decode_record(key, &bytes).map(Some),
    }
}

pub(crate) fn decode_record<M: Message + Default>(
    key: &[u8],
    bytes: &[u8],
) -> Result<M, StateError> {
    decode_canonical(bytes, MAX_RECORD_BYTES).map_err(|e: CanonicalError| corrupt(key, e))
}

pub(crate) fn corrupt(key: &[u8], reason: impl std::fmt::Display) -> StateError {
    StateError::Corrupt {
        key: hex::encode(key),
        reason: reason.to_string(),
    }
}

/// The record of identity `id`.
///
/// # Errors
/// See [`read_record`].
pub fn identity_record(
    view: &dyn StateView,
    id: &str,
) -> Result<Option<v1::IdentityRecord>, StateError> {
    read_record(view, &keys::identity(id))
}

/// The last committed nonce of `submitter` (0 if it never submitted).
///
/// # Errors
/// See [`read_record`].
pub fn last_nonce(view: &dyn StateView, submitter: &str) -> Result<u64, StateError> {
    Ok(read_record::<v1::NonceRecord>(view, &keys::nonce(submitter))?.map_or(0, |r| r.last_nonce))
}

/// The current policy record of `(service, environment)`.
///
/// # Errors
/// See [`read_record`].
pub fn policy_record(
    view: &dyn StateView,
    service: &str,
    environment: &str,
) -> Result<Option<v1::PolicyRecord>, StateError> {
    read_record(view, &keys::policy(service, environment))
}

/// The record of finalized deployment `deployment_id`.
///
/// # Errors
/// See [`read_record`].
pub fn deployment_record(
    view: &dyn StateView,
    deployment_id: &str,
) -> Result<Option<v1::DeploymentRecord>, StateError> {
    read_record(view, &keys::deployment(deployment_id))
}

/// The head of agent `agent_id`'s audit chain (`None` before its first record).
///
/// # Errors
/// See [`read_record`].
pub fn audit_head(
    view: &dyn StateView,
    agent_id: &str,
) -> Result<Option<v1::AuditHeadRecord>, StateError> {
    read_record(view, &keys::audit_head(agent_id))
}

/// The attestation committed at transparency-log index `log_index` (`None`: the entry there is
/// not an attestation, or does not exist).
///
/// # Errors
/// See [`read_record`].
pub fn attestation_record(
    view: &dyn StateView,
    log_index: u64,
) -> Result<Option<v1::AttestationRecord>, StateError> {
    read_record(view, &keys::attestation(log_index))
}
