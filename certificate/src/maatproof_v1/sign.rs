//! Producing signatures as the reference does: `EvidenceObject.sign`,
//! `ValidatorAttestation.sign` and `simulate_validators` (section 4.5). These work on the
//! in-memory form, so values keep the JSON type they are given (an integer timestamp is hashed
//! as an integer, as vectors 112 and 113 show).

use std::collections::BTreeMap;

use hmac::Mac;

use super::config::{CheckerConfig, HmacSha256, Keys};
use super::doc::V;
use super::py::{none, sorted_order};
use super::{Mode, check_value_with};
use crate::json::{CanonWriter, Object, Value, canon_sha256_hex};

/// Why something could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// HMAC keys must be non-empty (`secret_key must not be empty`).
    #[error("empty HMAC key")]
    EmptyKey,
    /// The input lacks a field or has one the reference cannot process.
    #[error("malformed input: {0}")]
    Malformed(String),
}

fn mac(key: &[u8]) -> Result<HmacSha256, SignError> {
    if key.is_empty() {
        return Err(SignError::EmptyKey);
    }
    HmacSha256::new_from_slice(key).map_err(|_| SignError::EmptyKey)
}

/// `hmac_sign(key, x)`: lowercase hex HMAC-SHA256 over `canon(x)`.
pub(crate) fn hmac_sign_value(key: &[u8], v: &Value) -> Result<String, SignError> {
    let mut m = mac(key)?;
    {
        let mut w = CanonWriter::new(&mut m);
        w.value(v);
        w.finish();
    }
    Ok(hex::encode(m.finalize().into_bytes()))
}

fn field<'v>(o: &'v Object, k: &str) -> Result<&'v Value, SignError> {
    o.get(k)
        .ok_or_else(|| SignError::Malformed(format!("missing {k}")))
}

/// `EvidenceObject(...).sign(key)`: returns the wire form (`to_dict` order: `evidence_id,
/// evidence_type, value, source, timestamp, dependencies` (sorted), `hash, signature`).
/// Input: an object with `evidence_id`, `evidence_type`, `source`, `timestamp`, and optional
/// `value` (default `{}`) and `dependencies` (default `[]`); other members are ignored.
pub fn sign_evidence(obj: &Value, key: &[u8]) -> Result<Value, SignError> {
    let o = obj
        .as_object()
        .ok_or_else(|| SignError::Malformed("not an object".into()))?;
    let deps = match o.get("dependencies") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(SignError::Malformed("dependencies".into())),
    };
    let order = sorted_order(deps.len(), |i| deps.get(i).map_or(none(), V::J))
        .map_err(|_| SignError::Malformed("dependencies are not sortable".into()))?;
    let sorted: Vec<Value> = order.iter().filter_map(|i| deps.get(i).cloned()).collect();
    let value = match o.get("value") {
        None => Value::Object(Object::new()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(SignError::Malformed("value".into())),
    };
    let payload: Object = [
        ("evidence_id", field(o, "evidence_id")?.clone()),
        ("evidence_type", field(o, "evidence_type")?.clone()),
        ("value", value),
        ("source", field(o, "source")?.clone()),
        ("timestamp", field(o, "timestamp")?.clone()),
        ("dependencies", Value::Array(sorted)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let payload = Value::Object(payload);
    let hash = canon_sha256_hex(&payload);
    let signature = hmac_sign_value(key, &Value::String(hash.clone()))?;
    let Value::Object(mut out) = payload else {
        return Err(SignError::Malformed("payload".into()));
    };
    out.insert("hash", Value::String(hash));
    out.insert("signature", Value::String(signature));
    Ok(Value::Object(out))
}

/// `ValidatorAttestation(...).sign(key)`: returns the wire form (`validator_id, decision,
/// certificate_digest, timestamp, stake, reason, signature`). `stake` defaults to `1.0` and
/// `reason` to `""`; values are signed with the JSON type they have.
pub fn sign_attestation(att: &Value, key: &[u8]) -> Result<Value, SignError> {
    let o = att
        .as_object()
        .ok_or_else(|| SignError::Malformed("not an object".into()))?;
    let payload: Object = [
        ("validator_id", field(o, "validator_id")?.clone()),
        ("decision", field(o, "decision")?.clone()),
        (
            "certificate_digest",
            field(o, "certificate_digest")?.clone(),
        ),
        ("timestamp", field(o, "timestamp")?.clone()),
        (
            "stake",
            o.get("stake").cloned().unwrap_or(Value::Float(1.0)),
        ),
        (
            "reason",
            o.get("reason").cloned().unwrap_or_else(|| Value::from("")),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let payload = Value::Object(payload);
    let signature = hmac_sign_value(key, &payload)?;
    let Value::Object(mut out) = payload else {
        return Err(SignError::Malformed("payload".into()));
    };
    out.insert("signature", Value::String(signature));
    Ok(Value::Object(out))
}

/// `simulate_validators`: each validator (ascending id) replays the certificate with
/// `accept_without_quorum` under `checker` and signs `accept`, or `reject` with the failure
/// codes joined by `,` as the reason. Stakes default to `1.0`. Fails where the reference would
/// raise (a `*_MALFORMED` certificate, an empty key).
pub fn simulate_validators(
    certificate: &Value,
    checker: &CheckerConfig,
    validator_keys: &BTreeMap<String, Vec<u8>>,
    timestamp: f64,
    stakes: Option<&BTreeMap<String, f64>>,
) -> Result<Vec<Value>, SignError> {
    let keys = Keys::new(checker);
    let report = check_value_with(certificate, checker, &keys, Mode::AcceptWithoutQuorum);
    if let Some(bad) = report
        .failures
        .iter()
        .find(|f| crate::codes::is_malformed(&f.code))
    {
        return Err(SignError::Malformed(bad.code.clone()));
    }
    let (decision, reason) = if report.accepted {
        ("accept", String::new())
    } else {
        ("reject", report.codes().join(","))
    };
    let mut out = Vec::with_capacity(validator_keys.len());
    for (id, key) in validator_keys {
        let stake = stakes.and_then(|s| s.get(id)).copied().unwrap_or(1.0);
        let att: Object = [
            ("validator_id", Value::from(id.as_str())),
            ("decision", Value::from(decision)),
            (
                "certificate_digest",
                Value::from(report.certificate_digest.as_str()),
            ),
            ("timestamp", Value::Float(timestamp)),
            ("stake", Value::Float(stake)),
            ("reason", Value::from(reason.as_str())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        out.push(sign_attestation(&Value::Object(att), key)?);
    }
    Ok(out)
}
