//! Audit records (PROTOCOL.md "AuditRecord"): the record hash, the per-field data commitments
//! and the stateless rules, shared by the ledger, the SDK and offline verifiers.
//!
//! An agent identity appends [`v1::AuditRecordTx`] records to its own hash chain. Each record
//! names its predecessor by **record hash**:
//!
//! ```text
//! field_salt(name)   = blake3("maat/audit-field-salt/v1" || 0x00 || salt (32 B) || name)
//! commitment(name)   = blake3("maat/audit-field/v1" || 0x00 || field_salt(name) || canon(value))
//! record_hash        = blake3("maat/audit-record/v1" || 0x00 || canonical AuditRecordCommitment)
//! AuditRecordCommitment = { chain_id, agent_id, session_id, event_type, risk, timestamp_ms,
//!                           sequence, previous_hash, fields: [(name, commitment)] sorted by name }
//! ```
//!
//! where `name` runs over the top-level keys of the data object and `canon(value)` is the
//! canonical JSON (CERTIFICATE.md 3.1) of its value. So an export may replace any top-level
//! field by its commitment (`--redact FIELD`) and a verifier still recomputes the record hash
//! from [`commitment_hash`]; revealing one field (its value and its `field_salt`) reveals
//! nothing about the other fields' salts. Byte layouts: `docs/PROTOCOL-ENCODING.md`.

use maat_certificate::json::{self, ParseMode, Value};
use maat_proto::{Message, v1};

/// The event types a record may carry.
pub const EVENT_TYPES: [&str; 4] = [
    "intent_evaluated",
    "gate_decision",
    "escalation_created",
    "escalation_resolved",
];

/// The risk levels a record may carry.
pub const RISK_LEVELS: [&str; 4] = ["low", "medium", "high", "critical"];

/// The `previous_hash` of an agent's first record.
pub const GENESIS_PREVIOUS_HASH: [u8; 32] = [0; 32];

/// Id kind of record hashes (`maat/audit-record/v1`).
pub const RECORD_HASH_KIND: &str = "audit-record";
/// Id kind of data field commitments (`maat/audit-field/v1`).
pub const FIELD_COMMITMENT_KIND: &str = "audit-field";
/// Id kind of per-field salts (`maat/audit-field-salt/v1`).
pub const FIELD_SALT_KIND: &str = "audit-field-salt";

/// Why a record's `data_json` is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditDataError {
    /// Not JSON (or a duplicate key, a lone surrogate, too deep, ...).
    #[error("data is not valid JSON: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("data must be a JSON object, got {0}")]
    NotObject(&'static str),
    /// An object, but not in canonical form (sorted keys, no whitespace, canonical numbers).
    #[error("data is not canonical JSON (CERTIFICATE.md 3.1: sorted keys, no whitespace)")]
    NotCanonical,
}

/// Why a record is refused before any state is read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditRecordError {
    /// `event_type` is not one of [`EVENT_TYPES`].
    #[error("unknown audit event type `{0}`")]
    EventTypeUnknown(String),
    /// `risk` is not one of [`RISK_LEVELS`].
    #[error("invalid audit risk level `{0}`")]
    RiskInvalid(String),
    /// `data_json` is refused.
    #[error(transparent)]
    Data(#[from] AuditDataError),
    /// Another field is malformed: its name and the reason.
    #[error("invalid field `{0}`: {1}")]
    Field(&'static str, String),
}

/// The salt of data field `name` in a record salted with `record_salt`.
#[must_use]
pub fn field_salt(record_salt: &[u8], name: &str) -> [u8; 32] {
    let mut h = maat_crypto::hash::IdHasher::new(FIELD_SALT_KIND);
    h.update(record_salt).update(name.as_bytes());
    h.finalize()
}

/// The commitment to a data field whose value has canonical JSON `canonical_value`.
#[must_use]
pub fn field_commitment(field_salt: &[u8; 32], canonical_value: &[u8]) -> [u8; 32] {
    let mut h = maat_crypto::hash::IdHasher::new(FIELD_COMMITMENT_KIND);
    h.update(field_salt).update(canonical_value);
    h.finalize()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses `data_json` (a canonical JSON object) into its top-level fields, in key order.
///
/// # Errors
/// [`AuditDataError`].
pub fn data_fields(data_json: &[u8]) -> Result<Vec<(String, Value)>, AuditDataError> {
    let v = json::parse(data_json, ParseMode::Strict)
        .map_err(|e| AuditDataError::Json(e.to_string()))?;
    let Value::Object(obj) = &v else {
        return Err(AuditDataError::NotObject(json_type(&v)));
    };
    if json::canon_bytes(&v) != data_json {
        return Err(AuditDataError::NotCanonical);
    }
    // Canonical form sorts the keys (code point order = UTF-8 byte order) and forbids
    // duplicates (strict parse), so the fields come out sorted and unique.
    Ok(obj.iter().map(|(k, v)| (k.to_owned(), v.clone())).collect())
}

/// The sorted field commitments of `data_json` under `record_salt`.
///
/// # Errors
/// [`AuditDataError`].
pub fn data_commitments(
    record_salt: &[u8],
    data_json: &[u8],
) -> Result<Vec<v1::AuditFieldCommitment>, AuditDataError> {
    Ok(data_fields(data_json)?
        .into_iter()
        .map(|(name, value)| {
            let c = field_commitment(&field_salt(record_salt, &name), &json::canon_bytes(&value));
            v1::AuditFieldCommitment {
                name,
                commitment: c.to_vec(),
            }
        })
        .collect())
}

/// Checks every stateless rule of a record (everything except the agent/submitter binding,
/// the chain position and the time) and returns the commitment its hash is over.
///
/// # Errors
/// [`AuditRecordError`].
pub fn commitment(
    chain_id: &str,
    record: &v1::AuditRecordTx,
) -> Result<v1::AuditRecordCommitment, AuditRecordError> {
    if !EVENT_TYPES.contains(&record.event_type.as_str()) {
        return Err(AuditRecordError::EventTypeUnknown(
            record.event_type.clone(),
        ));
    }
    if !RISK_LEVELS.contains(&record.risk.as_str()) {
        return Err(AuditRecordError::RiskInvalid(record.risk.clone()));
    }
    let field = |name, reason: String| AuditRecordError::Field(name, reason);
    if record.sequence == 0 {
        return Err(field("sequence", "starts at 1".into()));
    }
    if record.timestamp_ms == 0 {
        return Err(field("timestamp_ms", "must be positive".into()));
    }
    if record.previous_hash.len() != 32 {
        return Err(field(
            "previous_hash",
            format!("is {} bytes, must be 32", record.previous_hash.len()),
        ));
    }
    if record.salt.len() != 32 {
        return Err(field(
            "salt",
            format!("is {} bytes, must be 32", record.salt.len()),
        ));
    }
    let fields = data_commitments(&record.salt, &record.data_json)?;
    Ok(v1::AuditRecordCommitment {
        chain_id: chain_id.to_owned(),
        agent_id: record.agent_id.clone(),
        session_id: record.session_id.clone(),
        event_type: record.event_type.clone(),
        risk: record.risk.clone(),
        timestamp_ms: record.timestamp_ms,
        sequence: record.sequence,
        previous_hash: record.previous_hash.clone(),
        fields,
    })
}

/// The record hash of a commitment (what an offline verifier of a redacted record calls).
#[must_use]
pub fn commitment_hash(commitment: &v1::AuditRecordCommitment) -> [u8; 32] {
    maat_crypto::blake3_id(RECORD_HASH_KIND, &commitment.encode_to_vec())
}

/// The record hash of `record` on chain `chain_id`: the next record's `previous_hash`.
///
/// # Errors
/// [`AuditRecordError`] when the record breaks a stateless rule (it has no hash then).
pub fn record_hash(
    chain_id: &str,
    record: &v1::AuditRecordTx,
) -> Result<[u8; 32], AuditRecordError> {
    Ok(commitment_hash(&commitment(chain_id, record)?))
}

/// The chain id and audit record of a transaction's canonical bytes (`None`: the bytes are
/// not a transaction, or its body is not an audit record). For readers of committed
/// transactions (node queries, offline verifiers); the ledger's own checks decode strictly.
#[must_use]
pub fn record_of_tx(tx_bytes: &[u8]) -> Option<(String, v1::AuditRecordTx)> {
    let tx = v1::Transaction::decode(tx_bytes).ok()?;
    let payload = tx.payload?;
    match payload.body?.kind? {
        v1::tx_body::Kind::AuditRecord(r) => Some((payload.chain_id, r)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(data: &str) -> v1::AuditRecordTx {
        v1::AuditRecordTx {
            agent_id: "agent".into(),
            session_id: "s-1".into(),
            event_type: "gate_decision".into(),
            risk: "low".into(),
            timestamp_ms: 1,
            sequence: 1,
            previous_hash: GENESIS_PREVIOUS_HASH.to_vec(),
            data_json: data.as_bytes().to_vec(),
            salt: vec![9; 32],
        }
    }

    #[test]
    fn data_rules() {
        assert!(data_fields(b"{}").unwrap().is_empty());
        let f = data_fields(br#"{"a":1,"b":{"c":[true,null]}}"#).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(
            data_fields(br#"{"b":1,"a":2}"#),
            Err(AuditDataError::NotCanonical)
        );
        assert_eq!(
            data_fields(br#"{"a": 1}"#),
            Err(AuditDataError::NotCanonical)
        );
        assert_eq!(
            data_fields(b"[]"),
            Err(AuditDataError::NotObject("an array"))
        );
        assert_eq!(
            data_fields(br#""x""#),
            Err(AuditDataError::NotObject("a string"))
        );
        assert!(matches!(
            data_fields(br#"{"a":1,"a":2}"#),
            Err(AuditDataError::Json(_))
        ));
        assert!(matches!(data_fields(b"{"), Err(AuditDataError::Json(_))));
    }

    #[test]
    fn a_redacted_record_has_the_same_hash() {
        let r = rec(r#"{"reason":"ok","secret":"hunter2"}"#);
        let full = record_hash("c", &r).unwrap();
        // The verifier is given `reason` in clear (value + its field salt) and `secret` as
        // its commitment only.
        let mut c = commitment("c", &r).unwrap();
        let reason_salt = field_salt(&r.salt, "reason");
        c.fields[0].commitment = field_commitment(&reason_salt, br#""ok""#).to_vec();
        assert_eq!(commitment_hash(&c), full);
        // A different revealed value does not match.
        c.fields[0].commitment = field_commitment(&reason_salt, br#""no""#).to_vec();
        assert_ne!(commitment_hash(&c), full);
    }

    #[test]
    fn the_hash_covers_every_field() {
        let base = rec(r#"{"a":1}"#);
        let h = record_hash("c", &base).unwrap();
        assert_ne!(record_hash("d", &base).unwrap(), h);
        let edits: [fn(&mut v1::AuditRecordTx); 9] = [
            |r| r.agent_id.push('x'),
            |r| r.session_id.push('x'),
            |r| r.event_type = "intent_evaluated".into(),
            |r| r.risk = "high".into(),
            |r| r.timestamp_ms += 1,
            |r| r.sequence += 1,
            |r| r.previous_hash[0] = 1,
            |r| r.data_json = br#"{"a":2}"#.to_vec(),
            |r| r.salt[0] = 1,
        ];
        for e in edits {
            let mut r = base.clone();
            e(&mut r);
            assert_ne!(record_hash("c", &r).unwrap(), h);
        }
    }

    #[test]
    fn stateless_rules() {
        let mut r = rec("{}");
        r.event_type = "deploy".into();
        assert_eq!(
            record_hash("c", &r),
            Err(AuditRecordError::EventTypeUnknown("deploy".into()))
        );
        let mut r = rec("{}");
        r.risk = "LOW".into();
        assert!(matches!(
            record_hash("c", &r),
            Err(AuditRecordError::RiskInvalid(_))
        ));
        for (edit, name) in [
            (
                (|r: &mut v1::AuditRecordTx| r.sequence = 0) as fn(&mut v1::AuditRecordTx),
                "sequence",
            ),
            (|r| r.timestamp_ms = 0, "timestamp_ms"),
            (
                |r| r.previous_hash.pop().map(drop).unwrap_or(()),
                "previous_hash",
            ),
            (|r| r.salt.clear(), "salt"),
        ] {
            let mut r = rec("{}");
            edit(&mut r);
            assert!(
                matches!(record_hash("c", &r), Err(AuditRecordError::Field(n, _)) if n == name),
                "{name}"
            );
        }
    }
}
