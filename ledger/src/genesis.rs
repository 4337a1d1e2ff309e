//! The genesis file: chain id, genesis time, validators, admins and chain parameters.
//!
//! The file is JSON (or TOML, by extension `.toml`), parsed strictly (unknown fields and
//! duplicate keys are errors), converted to the canonical [`v1::Genesis`] message and
//! validated. `genesis_hash = blake3("maat/genesis/v1" || 0x00 || canonical bytes)`: it
//! identifies the chain and does not depend on the file's formatting, key order or time
//! notation. The file format is documented in `docs/PROTOCOL-ENCODING.md`.
//!
//! ```json
//! {
//!   "chain_id": "maat-testnet-1",
//!   "genesis_time": "2026-01-01T00:00:00Z",
//!   "validators": [{"id": "validator-0", "public_key": "mldsa65:...",
//!                   "peer_id": "12D3KooW...", "voting_power": 1}],
//!   "admins": [{"id": "admin-0", "public_key": "ed25519:...", "roles": []}],
//!   "params": {"max_block_bytes": 8388608, "max_clock_skew_secs": 30,
//!              "timeouts": {"initial_round_ms": 1000, "backoff": 1.5, "max_round_ms": 60000}}
//! }
//! ```
//! Every `params` field is optional (defaults: [`ChainParams::default`]). The genesis admins
//! become registered identities holding role `admin` (added if missing) plus their `roles`.

use std::collections::HashSet;
use std::path::Path;

use maat_crypto::sig::{Algorithm, KeyPair, PublicKey};
use maat_proto::tx::{key_from_proto, key_to_proto};
use maat_proto::v1;
use maat_proto::{Message, decode_canonical};
use serde::{Deserialize, Serialize};

use crate::names::{ADMIN_ROLE, MAX_ROLES, name_problem, sorted_names_problem};
use crate::state::{Write, keys};

/// Why a genesis file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read genesis file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not valid JSON/TOML of the genesis shape (syntax, unknown or duplicate
    /// field, wrong type).
    #[error("genesis file does not parse: {0}")]
    Syntax(String),
    /// The content is invalid; every problem found, each prefixed by its field path.
    #[error("invalid genesis: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Chain parameters (genesis `params`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainParams {
    /// Largest sum of transaction bytes in one block.
    pub max_block_bytes: u64,
    /// Most transactions in one block.
    pub max_block_txs: u64,
    /// Largest transaction of any kind, checked before decoding.
    pub max_tx_bytes: u64,
    /// Largest certificate transaction (the certificate JSON itself is limited to 1 MiB by
    /// maat-v1).
    pub max_certificate_tx_bytes: u64,
    /// Largest identity operation transaction.
    pub max_identity_op_tx_bytes: u64,
    /// Largest policy operation transaction.
    pub max_policy_op_tx_bytes: u64,
    /// How far evidence and audit records may be dated after the block time, and a block's
    /// timestamp ahead of a validator's clock.
    pub max_clock_skew_secs: u64,
    /// The pacemaker's round timer.
    pub timeouts: Timeouts,
    /// How long a leader waits before proposing an empty block.
    pub empty_block_interval_ms: u64,
    /// Largest audit record transaction (the global `max_tx_bytes` applies first, so the
    /// smaller of the two is the effective limit). Canonical genesis field 10, written only
    /// when it differs from the default ([`DEFAULT_MAX_AUDIT_RECORD_TX_BYTES`]), so genesis
    /// files from before this parameter keep their hash.
    pub max_audit_record_tx_bytes: u64,
    /// Largest attestation transaction. Canonical genesis field 11, written only when it
    /// differs from the default ([`DEFAULT_MAX_ATTESTATION_TX_BYTES`]).
    pub max_attestation_tx_bytes: u64,
    /// The in-toto predicate types an attestation may carry; `"*"` admits any. Canonical
    /// genesis field 12, written only when it differs from the default
    /// ([`default_attestation_predicate_types`]).
    pub attestation_predicate_types: Vec<String>,
}

/// The default `max_attestation_tx_bytes`: 256 KiB.
pub const DEFAULT_MAX_ATTESTATION_TX_BYTES: u64 = 256 << 10;

/// The default `attestation_predicate_types`: SLSA Provenance v1 and Maat's agent session v1.
#[must_use]
pub fn default_attestation_predicate_types() -> Vec<String> {
    vec![
        crate::attestation::PREDICATE_SLSA_PROVENANCE_V1.to_owned(),
        crate::attestation::PREDICATE_AGENT_SESSION_V1.to_owned(),
    ]
}

/// The `attestation_predicate_types` entry that admits every predicate type.
pub const ANY_PREDICATE_TYPE: &str = "*";

/// The default `max_audit_record_tx_bytes`: 64 KiB.
pub const DEFAULT_MAX_AUDIT_RECORD_TX_BYTES: u64 = 64 << 10;

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            max_block_bytes: 8 << 20,
            max_block_txs: 10_000,
            max_tx_bytes: (1 << 20) + (64 << 10),
            max_certificate_tx_bytes: (1 << 20) + (64 << 10),
            max_identity_op_tx_bytes: 16 << 10,
            max_policy_op_tx_bytes: 128 << 10,
            max_clock_skew_secs: 30,
            timeouts: Timeouts::default(),
            empty_block_interval_ms: 1000,
            max_audit_record_tx_bytes: DEFAULT_MAX_AUDIT_RECORD_TX_BYTES,
            max_attestation_tx_bytes: DEFAULT_MAX_ATTESTATION_TX_BYTES,
            attestation_predicate_types: default_attestation_predicate_types(),
        }
    }
}

/// The pacemaker's round timer: `initial_round_ms`, multiplied by `backoff` per consecutive
/// timeout, capped at `max_round_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// The first round's timeout.
    pub initial_round_ms: u64,
    /// The multiplier in thousandths (1500 = x1.5). Written `"backoff": 1.5` in the file.
    #[serde(rename = "backoff", with = "permille")]
    pub backoff_permille: u64,
    /// The cap.
    pub max_round_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            initial_round_ms: 1000,
            backoff_permille: 1500,
            max_round_ms: 60_000,
        }
    }
}

/// `backoff` is a decimal in the file and thousandths everywhere else (no floats in the
/// canonical genesis).
mod permille {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        #[allow(clippy::cast_precision_loss)]
        s.serialize_f64(*v as f64 / 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let x = f64::deserialize(d)?;
        let scaled = x * 1000.0;
        if !(1.0..=100.0).contains(&x) || (scaled - scaled.round()).abs() > 1e-6 {
            return Err(D::Error::custom(format!(
                "backoff must be in [1, 100] with at most 3 decimals, got {x}"
            )));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(scaled.round() as u64)
    }
}

impl ChainParams {
    fn to_proto(&self) -> v1::ChainParams {
        v1::ChainParams {
            max_block_bytes: self.max_block_bytes,
            max_block_txs: self.max_block_txs,
            max_tx_bytes: self.max_tx_bytes,
            max_certificate_tx_bytes: self.max_certificate_tx_bytes,
            max_identity_op_tx_bytes: self.max_identity_op_tx_bytes,
            max_policy_op_tx_bytes: self.max_policy_op_tx_bytes,
            max_clock_skew_secs: self.max_clock_skew_secs,
            timeouts: Some(v1::Timeouts {
                initial_round_ms: self.timeouts.initial_round_ms,
                backoff_permille: self.timeouts.backoff_permille,
                max_round_ms: self.timeouts.max_round_ms,
            }),
            empty_block_interval_ms: self.empty_block_interval_ms,
            // The default is written as absent (0): see the field's documentation.
            max_audit_record_tx_bytes: if self.max_audit_record_tx_bytes
                == DEFAULT_MAX_AUDIT_RECORD_TX_BYTES
            {
                0
            } else {
                self.max_audit_record_tx_bytes
            },
            max_attestation_tx_bytes: if self.max_attestation_tx_bytes
                == DEFAULT_MAX_ATTESTATION_TX_BYTES
            {
                0
            } else {
                self.max_attestation_tx_bytes
            },
            attestation_predicate_types: if self.attestation_predicate_types
                == default_attestation_predicate_types()
            {
                Vec::new()
            } else {
                self.attestation_predicate_types.clone()
            },
        }
    }

    /// True if an attestation may carry `predicate_type` on this chain.
    #[must_use]
    pub fn predicate_type_allowed(&self, predicate_type: &str) -> bool {
        self.attestation_predicate_types
            .iter()
            .any(|t| t == ANY_PREDICATE_TYPE || t == predicate_type)
    }

    /// Problems that the canonical form cannot show (a 0 there means the default).
    fn pre_encoding_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_audit_record_tx_bytes == 0 {
            out.push("params.max_audit_record_tx_bytes: must be positive".into());
        }
        if self.max_attestation_tx_bytes == 0 {
            out.push("params.max_attestation_tx_bytes: must be positive".into());
        }
        if self.attestation_predicate_types.is_empty() {
            out.push(
                "params.attestation_predicate_types: must name at least one type (\"*\" for any)"
                    .into(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.attestation_predicate_types.iter().enumerate() {
            let uri_like = t.len() <= 512 && t.contains(':') && !t.chars().any(char::is_whitespace);
            if t != ANY_PREDICATE_TYPE && !uri_like {
                out.push(format!(
                    "params.attestation_predicate_types[{i}]: `{t}` is neither a URI nor \"*\""
                ));
            }
            if !seen.insert(t) {
                out.push(format!(
                    "params.attestation_predicate_types[{i}]: `{t}` is listed twice"
                ));
            }
        }
        out
    }

    fn from_proto(p: &v1::ChainParams) -> Self {
        let t = p.timeouts.unwrap_or_default();
        ChainParams {
            max_block_bytes: p.max_block_bytes,
            max_block_txs: p.max_block_txs,
            max_tx_bytes: p.max_tx_bytes,
            max_certificate_tx_bytes: p.max_certificate_tx_bytes,
            max_identity_op_tx_bytes: p.max_identity_op_tx_bytes,
            max_policy_op_tx_bytes: p.max_policy_op_tx_bytes,
            max_clock_skew_secs: p.max_clock_skew_secs,
            timeouts: Timeouts {
                initial_round_ms: t.initial_round_ms,
                backoff_permille: t.backoff_permille,
                max_round_ms: t.max_round_ms,
            },
            empty_block_interval_ms: p.empty_block_interval_ms,
            max_audit_record_tx_bytes: if p.max_audit_record_tx_bytes == 0 {
                DEFAULT_MAX_AUDIT_RECORD_TX_BYTES
            } else {
                p.max_audit_record_tx_bytes
            },
            max_attestation_tx_bytes: if p.max_attestation_tx_bytes == 0 {
                DEFAULT_MAX_ATTESTATION_TX_BYTES
            } else {
                p.max_attestation_tx_bytes
            },
            attestation_predicate_types: if p.attestation_predicate_types.is_empty() {
                default_attestation_predicate_types()
            } else {
                p.attestation_predicate_types.clone()
            },
        }
    }

    fn problems(&self, out: &mut Vec<String>) {
        let positive = [
            ("max_block_bytes", self.max_block_bytes),
            ("max_block_txs", self.max_block_txs),
            ("max_tx_bytes", self.max_tx_bytes),
            ("max_certificate_tx_bytes", self.max_certificate_tx_bytes),
            ("max_identity_op_tx_bytes", self.max_identity_op_tx_bytes),
            ("max_policy_op_tx_bytes", self.max_policy_op_tx_bytes),
            ("timeouts.initial_round_ms", self.timeouts.initial_round_ms),
            ("timeouts.max_round_ms", self.timeouts.max_round_ms),
            ("empty_block_interval_ms", self.empty_block_interval_ms),
        ];
        for (name, v) in positive {
            if v == 0 {
                out.push(format!("params.{name}: must be positive"));
            }
        }
        if self.max_tx_bytes > self.max_block_bytes {
            out.push("params.max_tx_bytes: must not exceed max_block_bytes".into());
        }
        // Limits are used as usize; a 32-bit host must still represent them.
        if usize::try_from(self.max_block_bytes).is_err() {
            out.push("params.max_block_bytes: too large for this platform".into());
        }
        for (name, v) in [
            ("max_certificate_tx_bytes", self.max_certificate_tx_bytes),
            ("max_identity_op_tx_bytes", self.max_identity_op_tx_bytes),
            ("max_policy_op_tx_bytes", self.max_policy_op_tx_bytes),
        ] {
            if v > self.max_tx_bytes {
                out.push(format!("params.{name}: must not exceed max_tx_bytes"));
            }
        }
        if self.max_clock_skew_secs > 3600 {
            out.push("params.max_clock_skew_secs: at most 3600".into());
        }
        if !(1000..=100_000).contains(&self.timeouts.backoff_permille) {
            out.push("params.timeouts.backoff: must be in [1, 100]".into());
        }
        if self.timeouts.initial_round_ms > self.timeouts.max_round_ms {
            out.push("params.timeouts.initial_round_ms: must not exceed max_round_ms".into());
        }
    }
}

/// A validator entry of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
    /// The validator's name.
    pub id: String,
    /// `mldsa65:<base64>`.
    pub public_key: String,
    /// The libp2p peer id (`12D3KooW...`).
    pub peer_id: String,
    /// Voting power (positive).
    pub voting_power: u64,
}

/// An admin entry of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminEntry {
    /// The identity id.
    pub id: String,
    /// `ed25519:<base64>` or `mldsa65:<base64>`.
    pub public_key: String,
    /// Extra roles (`admin` is always added).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The genesis file as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisFile {
    /// The chain id (a name: `[A-Za-z0-9._:@+-]{1,128}`).
    pub chain_id: String,
    /// RFC 3339 UTC time, `YYYY-MM-DDTHH:MM:SS[.sss]Z`.
    pub genesis_time: String,
    /// The validator set, in leader order.
    pub validators: Vec<ValidatorEntry>,
    /// The admin identities.
    pub admins: Vec<AdminEntry>,
    /// Chain parameters; every field optional.
    #[serde(default)]
    pub params: ChainParams,
}

impl GenesisFile {
    /// The canonical message, or every problem converting it.
    fn to_proto(&self) -> Result<v1::Genesis, Vec<String>> {
        let mut problems = self.params.pre_encoding_problems();
        let genesis_time_ms = parse_rfc3339_ms(&self.genesis_time).unwrap_or_else(|e| {
            problems.push(format!("genesis_time: {e}"));
            0
        });
        let mut key = |field: String, text: &str| match PublicKey::from_text(text) {
            Ok(k) => Some(key_to_proto(&k)),
            Err(e) => {
                problems.push(format!("{field}: {e}"));
                None
            }
        };
        let validators = self
            .validators
            .iter()
            .enumerate()
            .map(|(i, v)| v1::GenesisValidator {
                id: v.id.clone(),
                public_key: key(format!("validators[{i}].public_key"), &v.public_key),
                peer_id: v.peer_id.clone(),
                voting_power: v.voting_power,
            })
            .collect();
        let admins = self
            .admins
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut roles = a.roles.clone();
                roles.push(ADMIN_ROLE.to_owned());
                roles.sort_unstable();
                roles.dedup();
                v1::GenesisAdmin {
                    id: a.id.clone(),
                    public_key: key(format!("admins[{i}].public_key"), &a.public_key),
                    roles,
                }
            })
            .collect();
        let g = v1::Genesis {
            chain_id: self.chain_id.clone(),
            genesis_time_ms,
            validators,
            admins,
            params: Some(self.params.to_proto()),
        };
        if problems.is_empty() {
            Ok(g)
        } else {
            Err(problems)
        }
    }
}

/// A validator of the genesis set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Its name.
    pub id: String,
    /// Its ML-DSA-65 consensus key.
    pub public_key: PublicKey,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its voting power.
    pub voting_power: u64,
}

/// A genesis admin identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    /// The identity id.
    pub id: String,
    /// Its key.
    pub public_key: PublicKey,
    /// Sorted, unique, containing `admin`.
    pub roles: Vec<String>,
}

/// A validated genesis.
#[derive(Clone, Debug, PartialEq)]
pub struct Genesis {
    proto: v1::Genesis,
    hash: [u8; 32],
    validators: Vec<Validator>,
    admins: Vec<Admin>,
    params: ChainParams,
}

/// Most validators in a genesis set.
pub const MAX_VALIDATORS: usize = 1024;
/// Most genesis admins.
pub const MAX_ADMINS: usize = 256;

impl Genesis {
    /// Reads and validates a genesis file: TOML if the name ends in `.toml`, JSON otherwise.
    ///
    /// # Errors
    /// [`GenesisError`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, GenesisError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if path.extension().is_some_and(|e| e == "toml") {
            Self::from_toml(&text)
        } else {
            Self::from_json(&text)
        }
    }

    /// Parses and validates genesis JSON.
    ///
    /// # Errors
    /// [`GenesisError::Syntax`] or [`GenesisError::Invalid`].
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        let file: GenesisFile =
            serde_json::from_str(text).map_err(|e| GenesisError::Syntax(e.to_string()))?;
        Self::from_file(&file)
    }

    /// Parses and validates genesis TOML (same fields as JSON).
    ///
    /// # Errors
    /// [`GenesisError::Syntax`] or [`GenesisError::Invalid`].
    pub fn from_toml(text: &str) -> Result<Self, GenesisError> {
        let file: GenesisFile =
            toml::from_str(text).map_err(|e| GenesisError::Syntax(e.to_string()))?;
        Self::from_file(&file)
    }

    /// Validates a parsed file.
    ///
    /// # Errors
    /// [`GenesisError::Invalid`].
    pub fn from_file(file: &GenesisFile) -> Result<Self, GenesisError> {
        let proto = file.to_proto().map_err(GenesisError::Invalid)?;
        Self::from_proto(proto)
    }

    /// Decodes and validates the canonical bytes (as a node stores them).
    ///
    /// # Errors
    /// [`GenesisError::Syntax`] if the bytes are not canonical, else as [`Self::from_proto`].
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, GenesisError> {
        let proto = decode_canonical::<v1::Genesis>(bytes, 16 << 20)
            .map_err(|e| GenesisError::Syntax(e.to_string()))?;
        Self::from_proto(proto)
    }

    /// Validates the canonical message.
    ///
    /// # Errors
    /// [`GenesisError::Invalid`] listing every problem.
    pub fn from_proto(proto: v1::Genesis) -> Result<Self, GenesisError> {
        let mut p = Vec::new();
        if let Some(e) = name_problem(&proto.chain_id) {
            p.push(format!("chain_id: {e}"));
        }
        if proto.genesis_time_ms == 0 {
            p.push("genesis_time: must be after 1970-01-01T00:00:00Z".into());
        }
        let validators = validate_validators(&proto.validators, &mut p);
        let admins = validate_admins(&proto.admins, &mut p);
        let params = match &proto.params {
            Some(params) => ChainParams::from_proto(params),
            None => {
                p.push("params: missing".into());
                ChainParams::default()
            }
        };
        params.problems(&mut p);
        if !p.is_empty() {
            return Err(GenesisError::Invalid(p));
        }
        let hash = maat_crypto::blake3_id(maat_proto::ids::kind::GENESIS, &proto.encode_to_vec());
        Ok(Genesis {
            proto,
            hash,
            validators,
            admins,
            params,
        })
    }

    /// The genesis hash: the chain's identity.
    #[must_use]
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The canonical message.
    #[must_use]
    pub fn proto(&self) -> &v1::Genesis {
        &self.proto
    }

    /// The canonical bytes (what the hash covers).
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.proto.encode_to_vec()
    }

    /// The chain id.
    #[must_use]
    pub fn chain_id(&self) -> &str {
        &self.proto.chain_id
    }

    /// Genesis time, milliseconds since the UNIX epoch.
    #[must_use]
    pub fn genesis_time_ms(&self) -> u64 {
        self.proto.genesis_time_ms
    }

    /// The validator set in leader order.
    #[must_use]
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The admins.
    #[must_use]
    pub fn admins(&self) -> &[Admin] {
        &self.admins
    }

    /// The chain parameters.
    #[must_use]
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The file form (for writing a generated genesis).
    #[must_use]
    pub fn to_file(&self) -> GenesisFile {
        GenesisFile {
            chain_id: self.proto.chain_id.clone(),
            genesis_time: format_rfc3339_ms(self.proto.genesis_time_ms),
            validators: self
                .validators
                .iter()
                .map(|v| ValidatorEntry {
                    id: v.id.clone(),
                    public_key: v.public_key.to_text(),
                    peer_id: v.peer_id.clone(),
                    voting_power: v.voting_power,
                })
                .collect(),
            admins: self
                .admins
                .iter()
                .map(|a| AdminEntry {
                    id: a.id.clone(),
                    public_key: a.public_key.to_text(),
                    roles: a.roles.clone(),
                })
                .collect(),
            params: self.params.clone(),
        }
    }

    /// Pretty JSON of [`Self::to_file`].
    #[must_use]
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain strings and integers cannot fail.
        serde_json::to_string_pretty(&self.to_file()).unwrap_or_default()
    }

    /// The state before the first block: every admin registered as an identity.
    #[must_use]
    pub fn initial_state(&self) -> Vec<Write> {
        let mut writes: Vec<Write> = self
            .admins
            .iter()
            .map(|a| {
                let rec = v1::IdentityRecord {
                    id: a.id.clone(),
                    active_key: Some(key_to_proto(&a.public_key)),
                    rotated_out_keys: Vec::new(),
                    revoked: false,
                    roles: a.roles.clone(),
                    registered_by_tx: Vec::new(),
                };
                (keys::identity(&a.id), Some(rec.encode_to_vec()))
            })
            .collect();
        writes.sort();
        writes
    }

    /// A genesis for tests and local testnets, with every key derived from `spec.seed`
    /// (see [`derive_seed`]): validators `validator-<i>` (ML-DSA-65, voting power 1, libp2p
    /// Ed25519 identity from the seed `p2p`/i), admins `admin-<i>` (Ed25519).
    ///
    /// # Errors
    /// [`GenesisError::Invalid`] (for example zero validators or admins, or bad params).
    pub fn generate(spec: &GenesisSpec) -> Result<GeneratedGenesis, GenesisError> {
        let problems = spec.params.pre_encoding_problems();
        if !problems.is_empty() {
            return Err(GenesisError::Invalid(problems));
        }
        let mut validator_keys = Vec::new();
        let mut validator_p2p_seeds = Vec::new();
        let mut validators = Vec::new();
        for i in 0..spec.n_validators {
            let kp =
                KeyPair::from_seed(Algorithm::MlDsa65, &derive_seed(&spec.seed, "validator", i));
            let p2p_seed = derive_seed(&spec.seed, "p2p", i);
            let p2p_public = KeyPair::from_seed(Algorithm::Ed25519, &p2p_seed).public();
            let mut ed = [0u8; 32];
            ed.copy_from_slice(p2p_public.as_bytes());
            validators.push(v1::GenesisValidator {
                id: format!("validator-{i}"),
                public_key: Some(key_to_proto(&kp.public())),
                peer_id: peer_id_from_ed25519(&ed),
                voting_power: 1,
            });
            validator_keys.push(kp);
            validator_p2p_seeds.push(p2p_seed);
        }
        let mut admin_keys = Vec::new();
        let mut admins = Vec::new();
        for i in 0..spec.n_admins {
            let kp = KeyPair::from_seed(Algorithm::Ed25519, &derive_seed(&spec.seed, "admin", i));
            admins.push(v1::GenesisAdmin {
                id: format!("admin-{i}"),
                public_key: Some(key_to_proto(&kp.public())),
                roles: vec![ADMIN_ROLE.to_owned()],
            });
            admin_keys.push(kp);
        }
        let genesis = Genesis::from_proto(v1::Genesis {
            chain_id: spec.chain_id.clone(),
            genesis_time_ms: spec.genesis_time_ms,
            validators,
            admins,
            params: Some(spec.params.to_proto()),
        })?;
        Ok(GeneratedGenesis {
            genesis,
            validator_keys,
            validator_p2p_seeds,
            admin_keys,
        })
    }
}

/// What [`Genesis::generate`] builds.
#[derive(Clone, Debug)]
pub struct GenesisSpec {
    /// The chain id.
    pub chain_id: String,
    /// Genesis time (ms since the UNIX epoch).
    pub genesis_time_ms: u64,
    /// Number of validators.
    pub n_validators: usize,
    /// Number of admins.
    pub n_admins: usize,
    /// The seed every key is derived from.
    pub seed: [u8; 32],
    /// Chain parameters.
    pub params: ChainParams,
}

impl GenesisSpec {
    /// `n_validators` validators, one admin, default params, chain `maat-test`, genesis at
    /// 2026-01-01T00:00:00Z.
    #[must_use]
    pub fn new(n_validators: usize, seed: [u8; 32]) -> Self {
        GenesisSpec {
            chain_id: "maat-test".into(),
            genesis_time_ms: 1_767_225_600_000,
            n_validators,
            n_admins: 1,
            seed,
            params: ChainParams::default(),
        }
    }
}

/// A generated genesis with its secret material.
pub struct GeneratedGenesis {
    /// The genesis.
    pub genesis: Genesis,
    /// Validator `i`'s ML-DSA-65 key pair.
    pub validator_keys: Vec<KeyPair>,
    /// Validator `i`'s libp2p Ed25519 secret key seed (its peer id is in the genesis).
    pub validator_p2p_seeds: Vec<[u8; 32]>,
    /// Admin `i`'s Ed25519 key pair.
    pub admin_keys: Vec<KeyPair>,
}

/// `blake3("maat/testnet-seed/v1" || 0x00 || seed || purpose || 0x00 || index as u64 BE)`.
#[must_use]
pub fn derive_seed(seed: &[u8; 32], purpose: &str, index: usize) -> [u8; 32] {
    let mut h = maat_crypto::hash::IdHasher::new("testnet-seed");
    h.update(seed)
        .update(purpose.as_bytes())
        .update(&[0])
        .update(&(index as u64).to_be_bytes());
    h.finalize()
}

fn validate_validators(vs: &[v1::GenesisValidator], p: &mut Vec<String>) -> Vec<Validator> {
    if vs.is_empty() {
        p.push("validators: at least one validator is required".into());
    }
    if vs.len() > MAX_VALIDATORS {
        p.push(format!("validators: at most {MAX_VALIDATORS}"));
    }
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    let mut peers = HashSet::new();
    let mut total: u64 = 0;
    let mut out = Vec::new();
    for (i, v) in vs.iter().enumerate() {
        let at = format!("validators[{i}]");
        if let Some(e) = name_problem(&v.id) {
            p.push(format!("{at}.id: {e}"));
        } else if !ids.insert(v.id.as_str()) {
            p.push(format!("{at}.id: `{}` is used twice", v.id));
        }
        let key = match v.public_key.as_ref().map(key_from_proto) {
            None => {
                p.push(format!("{at}.public_key: missing"));
                None
            }
            Some(Err(e)) => {
                p.push(format!("{at}.public_key: {e}"));
                None
            }
            Some(Ok(k)) if k.algorithm() != Algorithm::MlDsa65 => {
                p.push(format!(
                    "{at}.public_key: validators sign with mldsa65, got {}",
                    k.algorithm()
                ));
                None
            }
            Some(Ok(k)) => {
                if !keys.insert(k.as_bytes().to_vec()) {
                    p.push(format!("{at}.public_key: used by another validator"));
                }
                Some(k)
            }
        };
        if let Err(e) = check_peer_id(&v.peer_id) {
            p.push(format!("{at}.peer_id: {e}"));
        } else if !peers.insert(v.peer_id.as_str()) {
            p.push(format!("{at}.peer_id: used by another validator"));
        }
        if v.voting_power == 0 {
            p.push(format!("{at}.voting_power: must be positive"));
        }
        match total.checked_add(v.voting_power) {
            Some(t) => total = t,
            None => p.push(format!("{at}.voting_power: the total overflows")),
        }
        if let Some(public_key) = key {
            out.push(Validator {
                id: v.id.clone(),
                public_key,
                peer_id: v.peer_id.clone(),
                voting_power: v.voting_power,
            });
        }
    }
    // Quorum arithmetic multiplies the total by small constants.
    if total > u64::MAX / 4 {
        p.push("validators: total voting power is too large".into());
    }
    out
}

fn validate_admins(admins: &[v1::GenesisAdmin], p: &mut Vec<String>) -> Vec<Admin> {
    if admins.is_empty() {
        p.push("admins: at least one admin is required".into());
    }
    if admins.len() > MAX_ADMINS {
        p.push(format!("admins: at most {MAX_ADMINS}"));
    }
    let mut ids = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in admins.iter().enumerate() {
        let at = format!("admins[{i}]");
        if let Some(e) = name_problem(&a.id) {
            p.push(format!("{at}.id: {e}"));
        } else if !ids.insert(a.id.as_str()) {
            p.push(format!("{at}.id: `{}` is used twice", a.id));
        }
        if let Some(e) = sorted_names_problem(&a.roles, MAX_ROLES) {
            p.push(format!("{at}.roles: {e}"));
        }
        if !a.roles.iter().any(|r| r == ADMIN_ROLE) {
            p.push(format!("{at}.roles: must contain `{ADMIN_ROLE}`"));
        }
        match a.public_key.as_ref().map(key_from_proto) {
            None => p.push(format!("{at}.public_key: missing")),
            Some(Err(e)) => p.push(format!("{at}.public_key: {e}")),
            Some(Ok(public_key)) => out.push(Admin {
                id: a.id.clone(),
                public_key,
                roles: a.roles.clone(),
            }),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// RFC 3339 times

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC, at most millisecond precision) into
/// milliseconds since the UNIX epoch.
///
/// # Errors
/// A description of what is wrong.
pub fn parse_rfc3339_ms(s: &str) -> Result<u64, String> {
    let err = || format!("`{s}` is not an RFC 3339 UTC time YYYY-MM-DDTHH:MM:SS[.sss]Z");
    let b = s.as_bytes();
    let (main, frac) = match s.strip_suffix('Z') {
        Some(rest) => match rest.split_once('.') {
            Some((m, f)) => (m, Some(f)),
            None => (rest, None),
        },
        None => return Err(err()),
    };
    let m = main.as_bytes();
    if m.len() != 19 || b.len() < 20 {
        return Err(err());
    }
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| m.get(i) != Some(&c)) {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u64, String> {
        let part = main.get(r).ok_or_else(err)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        part.parse::<u64>().map_err(|_| err())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(err());
    }
    let millis = match frac {
        None => 0,
        Some(f) if (1..=3).contains(&f.len()) && f.bytes().all(|c| c.is_ascii_digit()) => {
            let padded = format!("{f:0<3}");
            padded.parse::<u64>().map_err(|_| err())?
        }
        Some(_) => return Err(format!("{}: at most millisecond precision", err())),
    };
    let days = days_from_civil(year, month, day);
    Ok(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

/// Formats milliseconds since the UNIX epoch as `YYYY-MM-DDTHH:MM:SS[.sss]Z`.
#[must_use]
pub fn format_rfc3339_ms(ms: u64) -> String {
    let days = ms / 86_400_000;
    let rem = ms % 86_400_000;
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    if milli == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
    }
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date in 1970..=9999 (H. Hinnant's algorithm, unsigned form).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

// ---------------------------------------------------------------------------------------------
// libp2p peer ids

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    // Base-58 digits, least significant first.
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for d in &mut digits {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = "1".repeat(zeros);
    out.extend(
        digits
            .iter()
            .rev()
            .map(|&d| char::from(BASE58.get(usize::from(d)).copied().unwrap_or(b'1'))),
    );
    out
}

fn base58_decode(s: &str) -> Option<Vec<u8>> {
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    // Bytes, least significant first.
    let mut bytes: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let mut carry = u32::try_from(BASE58.iter().position(|&a| a == c)?).ok()?;
        for b in &mut bytes {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Some(out)
}

/// The libp2p peer id of an Ed25519 public key: base58btc of the identity multihash of the
/// protobuf-encoded libp2p public key (`12D3KooW...`).
#[must_use]
pub fn peer_id_from_ed25519(public_key: &[u8; 32]) -> String {
    // libp2p PublicKey { Type: Ed25519 (1), Data: 32 bytes } = 08 01 12 20 <key>;
    // identity multihash = 00 <len 36> <that>.
    let mut mh = vec![0x00, 36, 0x08, 0x01, 0x12, 0x20];
    mh.extend_from_slice(public_key);
    base58_encode(&mh)
}

/// Checks that `peer_id` is a base58btc multihash libp2p peer id: an identity multihash of
/// at most 42 bytes (inlined key) or a SHA-256 multihash.
///
/// # Errors
/// A description of what is wrong.
pub fn check_peer_id(peer_id: &str) -> Result<(), String> {
    if peer_id.is_empty() || peer_id.len() > 128 {
        return Err("must be 1 to 128 characters".into());
    }
    let bytes = base58_decode(peer_id).ok_or("not base58btc")?;
    match bytes.as_slice() {
        [0x00, len, rest @ ..] if usize::from(*len) == rest.len() && rest.len() <= 42 => Ok(()),
        [0x12, 32, rest @ ..] if rest.len() == 32 => Ok(()),
        _ => Err("not an identity or sha2-256 multihash".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for (s, ms) in [
            ("1970-01-01T00:00:00.001Z", 1),
            ("2026-01-01T00:00:00Z", 1_767_225_600_000),
            ("2000-02-29T12:34:56.789Z", 951_827_696_789),
            ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ] {
            assert_eq!(parse_rfc3339_ms(s), Ok(ms), "{s}");
            assert_eq!(format_rfc3339_ms(ms), s);
        }
        assert_eq!(
            parse_rfc3339_ms("2026-01-01T00:00:00.5Z"),
            Ok(1_767_225_600_500)
        );
        for bad in [
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00+00:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00.0001Z",
            "1969-12-31T23:59:59Z",
            "+026-01-01T00:00:00Z",
            "2026-01-01T00:00:0aZ",
            "",
        ] {
            assert!(parse_rfc3339_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base58_round_trips() {
        for v in [&b""[..], b"\0\0abc", b"hello world", &[0xff; 40]] {
            assert_eq!(base58_decode(&base58_encode(v)).as_deref(), Some(v));
        }
        // Bitcoin's published example.
        assert_eq!(base58_encode(b"hello world"), "StV1DL6CwTryKyV");
        assert_eq!(base58_decode("0OIl"), None);
    }

    #[test]
    fn peer_ids() {
        let id = peer_id_from_ed25519(&[7; 32]);
        assert!(id.starts_with("12D3KooW"), "{id}");
        assert_eq!(check_peer_id(&id), Ok(()));
        // A SHA-256 (RSA-style) peer id.
        let mut mh = vec![0x12, 32];
        mh.extend_from_slice(&[9; 32]);
        let qm = base58_encode(&mh);
        assert!(qm.starts_with("Qm"));
        assert_eq!(check_peer_id(&qm), Ok(()));
        for bad in [
            "",
            "12D3KooW",
            "not-base58-0",
            &base58_encode(&[0x12, 31, 1]),
        ] {
            assert!(check_peer_id(bad).is_err(), "{bad}");
        }
    }
}
