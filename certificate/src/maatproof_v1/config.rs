//! Checker configuration (CERTIFICATE.md section 1): keys, quorum rule, clock and mode.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::json::Value;

/// A configuration the reference would refuse (it raises `ValueError`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `quorum_rule.kind` is not `majority`, `supermajority` or `weighted_threshold`.
    #[error("unsupported quorum rule: {0}")]
    UnknownQuorumKind(String),
    /// The mode is not `accept` or `accept_without_quorum`.
    #[error("unsupported checker mode: {0}")]
    UnknownMode(String),
    /// An HMAC key is empty (`secret_key must not be empty`).
    #[error("empty HMAC key for {0}")]
    EmptyKey(String),
    /// A field of a configuration document is missing or has the wrong type.
    #[error("invalid checker configuration: {0}")]
    Invalid(String),
}

/// The finality rule of Quorum(A) (section 4.4).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum QuorumRule {
    /// Strict majority of the submitted valid weight.
    #[default]
    Majority,
    /// `total * threshold`; `None` or `0` means 2/3.
    Supermajority(Option<f64>),
    /// An absolute accept weight; `None` or `0` means 0.
    WeightedThreshold(Option<f64>),
}

impl QuorumRule {
    /// From the reference's `{kind, threshold}`. An unknown kind is a [`ConfigError`].
    pub fn from_kind(kind: &str, threshold: Option<f64>) -> Result<Self, ConfigError> {
        match kind {
            "majority" => Ok(QuorumRule::Majority),
            "supermajority" => Ok(QuorumRule::Supermajority(threshold)),
            "weighted_threshold" => Ok(QuorumRule::WeightedThreshold(threshold)),
            other => Err(ConfigError::UnknownQuorumKind(other.to_owned())),
        }
    }

    /// `_required_weight(rule, total)`, in the same f64 operations as Python.
    pub fn required_weight(&self, total: f64) -> f64 {
        // Python `x or d` replaces a falsy threshold (None or 0.0; NaN is truthy).
        let or = |t: Option<f64>, d: f64| match t {
            Some(x) if x != 0.0 || x.is_nan() => x,
            _ => d,
        };
        match self {
            QuorumRule::Majority => total / 2.0 + 1e-12,
            QuorumRule::Supermajority(t) => total * or(*t, 2.0 / 3.0),
            QuorumRule::WeightedThreshold(t) => or(*t, 0.0),
        }
    }
}

/// Which checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// All four checks.
    #[default]
    Accept,
    /// Quorum(A) is skipped and counted as true.
    AcceptWithoutQuorum,
}

impl Mode {
    /// `accept` or `accept_without_quorum`.
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        match name {
            "accept" => Ok(Mode::Accept),
            "accept_without_quorum" => Ok(Mode::AcceptWithoutQuorum),
            other => Err(ConfigError::UnknownMode(other.to_owned())),
        }
    }
}

/// What the checker is configured with, from outside the certificate.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CheckerConfig {
    /// The shared HMAC key of every evidence object.
    pub evidence_key: Vec<u8>,
    /// Registered validators and their HMAC keys.
    pub validator_keys: BTreeMap<String, Vec<u8>>,
    /// How Quorum(A) turns valid attestations into finality.
    pub quorum: QuorumRule,
    /// Verification time (POSIX seconds); `None` turns freshness checks off.
    pub now: Option<f64>,
    /// Whether Quorum(A) runs.
    pub mode: Mode,
}

impl CheckerConfig {
    /// A configuration with no validators, majority quorum, no clock and mode `accept`.
    pub fn new(evidence_key: impl Into<Vec<u8>>) -> Self {
        CheckerConfig {
            evidence_key: evidence_key.into(),
            ..Default::default()
        }
    }

    /// Rejects what the reference would raise on: empty HMAC keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.evidence_key.is_empty() {
            return Err(ConfigError::EmptyKey("evidence".to_owned()));
        }
        if let Some((id, _)) = self.validator_keys.iter().find(|(_, k)| k.is_empty()) {
            return Err(ConfigError::EmptyKey(format!("validator {id}")));
        }
        Ok(())
    }

    /// From the `checker` object of a test vector: `evidence_secret_key_hex` (or `_utf8`),
    /// `validator_secret_keys: {id: {hex|utf8}}`, `quorum_rule: {kind, threshold}`, `now`,
    /// `mode`.
    pub fn from_vector_json(v: &Value) -> Result<Self, ConfigError> {
        let o = v
            .as_object()
            .ok_or_else(|| ConfigError::Invalid("not an object".into()))?;
        let evidence_key = key_of(
            o.get("evidence_secret_key_hex"),
            o.get("evidence_secret_key_utf8"),
        )
        .ok_or_else(|| ConfigError::Invalid("evidence_secret_key".into()))?;
        let mut validator_keys = BTreeMap::new();
        if let Some(vk) = o.get("validator_secret_keys") {
            let vk = vk
                .as_object()
                .ok_or_else(|| ConfigError::Invalid("validator_secret_keys".into()))?;
            for (id, k) in vk.iter() {
                let key = match k {
                    Value::String(s) => Some(s.as_bytes().to_vec()),
                    Value::Object(ko) => key_of(ko.get("hex"), ko.get("utf8")),
                    _ => None,
                }
                .ok_or_else(|| ConfigError::Invalid(format!("validator key {id}")))?;
                validator_keys.insert(id.to_owned(), key);
            }
        }
        let quorum = match o.get("quorum_rule") {
            None | Some(Value::Null) => QuorumRule::Majority,
            Some(q) => {
                let kind = q.get("kind").and_then(Value::as_str).unwrap_or("majority");
                let threshold = match q.get("threshold") {
                    None | Some(Value::Null) => None,
                    Some(t) => Some(
                        number(t).ok_or_else(|| ConfigError::Invalid("quorum threshold".into()))?,
                    ),
                };
                QuorumRule::from_kind(kind, threshold)?
            }
        };
        let now = match o.get("now") {
            None | Some(Value::Null) => None,
            Some(t) => Some(number(t).ok_or_else(|| ConfigError::Invalid("now".into()))?),
        };
        let mode = match o.get("mode") {
            None | Some(Value::Null) => Mode::Accept,
            Some(Value::String(s)) => Mode::from_name(s)?,
            Some(_) => return Err(ConfigError::Invalid("mode".into())),
        };
        Ok(CheckerConfig {
            evidence_key,
            validator_keys,
            quorum,
            now,
            mode,
        })
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        other => other.as_f64().filter(|f| f.is_finite()),
    }
}

fn key_of(hex_v: Option<&Value>, utf8: Option<&Value>) -> Option<Vec<u8>> {
    match (hex_v.and_then(Value::as_str), utf8.and_then(Value::as_str)) {
        (Some(h), _) => hex::decode(h).ok(),
        (None, Some(u)) => Some(u.as_bytes().to_vec()),
        _ => None,
    }
}

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// HMAC states keyed once. An empty key yields `None`: nothing signed with it verifies
/// (the reference raises instead; the checker fails closed).
pub(crate) struct Keys {
    pub evidence: Option<HmacSha256>,
    pub validators: Vec<(String, Option<HmacSha256>)>,
}

fn keyed(k: &[u8]) -> Option<HmacSha256> {
    if k.is_empty() {
        None
    } else {
        HmacSha256::new_from_slice(k).ok()
    }
}

impl Keys {
    pub fn new(cfg: &CheckerConfig) -> Keys {
        Keys {
            evidence: keyed(&cfg.evidence_key),
            validators: cfg
                .validator_keys
                .iter()
                .map(|(id, k)| (id.clone(), keyed(k)))
                .collect(),
        }
    }

    /// `validator_secret_keys.get(id)`: `Some(None)` for a registered id with an unusable key.
    pub fn validator(&self, id: &str) -> Option<Option<&HmacSha256>> {
        self.validators
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()
            .and_then(|i| self.validators.get(i))
            .map(|(_, m)| m.as_ref())
    }
}
