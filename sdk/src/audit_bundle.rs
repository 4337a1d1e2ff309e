//! Audit bundles: an agent's audit chain exported with everything needed to check it offline
//! (`maat audit export` / `maat audit verify`). Format: `docs/AUDIT-BUNDLES.md`.
//!
//! A bundle holds one cosigned checkpoint (final once 2f+1 of the genesis validators' voting
//! power signed it) and, per record, either the full transaction with its RFC 6962 inclusion
//! proof against that checkpoint, or, when a data field is redacted, the record's commitment
//! form: revealed fields with their own derived salts, redacted fields as commitments. A
//! redacted record cannot be proven by its log leaf (the leaf hashes the full transaction); it
//! is proven by the next record, whose signed and logged `previous_hash` names its record hash.
//! So the **last** record of a bundle must be unredacted.

use maat_certificate::json::{self, ParseMode};
use maat_crypto::Hash32;
use maat_crypto::merkle::{leaf_hash, verify_inclusion};
use maat_ledger::Genesis;
use maat_ledger::audit::{self, GENESIS_PREVIOUS_HASH};
use maat_ledger::finality::verify_checkpoint;
use maat_proto::v1;
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError};

/// The `format` of a bundle this version writes and reads.
pub const AUDIT_BUNDLE_FORMAT: &str = "maat-audit-bundle/v1";

/// An exported audit chain (or a contiguous range of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditBundle {
    /// [`AUDIT_BUNDLE_FORMAT`].
    pub format: String,
    /// The chain id.
    pub chain_id: String,
    /// BLAKE3 hash of the genesis file, lowercase hex.
    pub genesis_hash: String,
    /// The agent.
    pub agent_id: String,
    /// The cosigned checkpoint (C2SP signed note) every inclusion proof is against.
    pub checkpoint: String,
    /// Data fields exported as commitments only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted_fields: Vec<String>,
    /// The records, in sequence order, contiguous.
    pub records: Vec<BundleRecord>,
}

/// One record of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleRecord {
    /// Position in the agent's chain.
    pub sequence: u64,
    /// Its transparency-log index.
    pub log_index: u64,
    /// The full canonical transaction, hex (absent when redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// Inclusion proof of the transaction against the bundle's checkpoint, hex hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inclusion_path: Vec<String>,
    /// The commitment form, when a field is redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<RedactedRecord>,
}

/// A record with some data fields shown only as commitments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactedRecord {
    /// The session.
    pub session_id: String,
    /// The event type.
    pub event_type: String,
    /// The risk level.
    pub risk: String,
    /// The agent's timestamp (ms).
    pub timestamp_ms: u64,
    /// The previous record's hash, hex.
    pub previous_hash: String,
    /// Every top-level data field, sorted by name.
    pub fields: Vec<RedactedField>,
}

/// One data field of a [`RedactedRecord`]: revealed (`value_json` and its `field_salt`) or
/// redacted (`commitment`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactedField {
    /// The field name.
    pub name: String,
    /// The value's canonical JSON text (revealed fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_json: Option<String>,
    /// The field's derived salt, hex (revealed fields): it discloses nothing about the other
    /// fields' salts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_salt: Option<String>,
    /// The field's commitment, hex (redacted fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
}

/// What [`verify_audit_bundle`] established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditBundleReport {
    /// The agent.
    pub agent_id: String,
    /// The chain id.
    pub chain_id: String,
    /// First and last sequence in the bundle.
    pub first_sequence: u64,
    /// Last sequence.
    pub last_sequence: u64,
    /// Records checked.
    pub records: u64,
    /// Records shown redacted (proven by their successor's link).
    pub redacted_records: u64,
    /// The last record's hash, hex.
    pub head_record_hash: String,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// The checkpoint's cosigners' total voting power.
    pub checkpoint_power: u64,
    /// True when the bundle starts at the chain's first record (so the whole history up to
    /// `last_sequence` is shown).
    pub from_genesis: bool,
}

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
pub enum AuditBundleError {
    /// Not a bundle of this format, another chain, or structurally wrong.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// The checkpoint is not final under the genesis validator set.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A record fails a check; `sequence` names it.
    #[error("record {sequence}: {reason}")]
    Record {
        /// The record's sequence.
        sequence: u64,
        /// What is wrong.
        reason: String,
    },
    /// Exporting failed at the node.
    #[error("node: {0}")]
    Node(#[from] ClientError),
}

fn record_err(sequence: u64, reason: impl Into<String>) -> AuditBundleError {
    AuditBundleError::Record {
        sequence,
        reason: reason.into(),
    }
}

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// First sequence (default 1).
    pub from_sequence: Option<u64>,
    /// Last sequence (default: the chain's last record covered by the latest checkpoint).
    pub to_sequence: Option<u64>,
    /// Data fields to export as commitments only.
    pub redact: Vec<String>,
}

/// Exports `agent_id`'s chain from a node: the records, the latest final checkpoint and an
/// inclusion proof per shown transaction against it. Records committed after that checkpoint
/// are left out unless `to_sequence` asks for them (then the call fails: wait for the next
/// checkpoint).
///
/// # Errors
/// [`AuditBundleError`].
pub async fn export_audit_bundle(
    client: &Client,
    genesis: &Genesis,
    agent_id: &str,
    options: &ExportOptions,
) -> Result<AuditBundle, AuditBundleError> {
    let checkpoint = client.checkpoint(None).await?.ok_or_else(|| {
        AuditBundleError::Checkpoint("the node has no final checkpoint yet".into())
    })?;
    let tree_size = checkpoint.tree_size;
    let from = options.from_sequence.unwrap_or(1).max(1);
    let mut records = Vec::new();
    let mut next = Some(from);
    while let Some(seq) = next {
        let page = client.audit_chain(agent_id, seq, None).await?;
        if page.length == 0 {
            return Err(AuditBundleError::Malformed(format!(
                "agent `{agent_id}` has no committed audit record"
            )));
        }
        for r in page.records {
            if options.to_sequence.is_some_and(|to| r.sequence > to) {
                next = None;
                break;
            }
            if r.log_index >= tree_size {
                if options.to_sequence.is_some() {
                    return Err(record_err(
                        r.sequence,
                        format!(
                            "committed after the latest checkpoint (log index {} >= tree size \
                             {tree_size}); retry once the next checkpoint is cosigned",
                            r.log_index
                        ),
                    ));
                }
                next = None;
                break;
            }
            records.push(export_record(client, &r, tree_size, &options.redact).await?);
        }
        if next.is_some() {
            next = page.next;
        }
    }
    if let Some(to) = options.to_sequence {
        let last = records.last().map_or(0, |r| r.sequence);
        if last < to {
            return Err(record_err(to, "not committed (the chain is shorter)"));
        }
    }
    if records.is_empty() {
        return Err(AuditBundleError::Malformed(
            "no record in the range is covered by the latest checkpoint yet".into(),
        ));
    }
    let bundle = AuditBundle {
        format: AUDIT_BUNDLE_FORMAT.to_owned(),
        chain_id: genesis.chain_id().to_owned(),
        genesis_hash: hex::encode(genesis.hash()),
        agent_id: agent_id.to_owned(),
        checkpoint: checkpoint.note,
        redacted_fields: options.redact.clone(),
        records,
    };
    if bundle.records.last().is_some_and(|r| r.tx.is_none()) {
        return Err(AuditBundleError::Malformed(format!(
            "the last exported record (sequence {}) has a redacted field, and only an \
             unredacted successor can prove a redacted record: export up to an earlier \
             --to, or let the agent append a record without that field first",
            bundle.records.last().map_or(0, |r| r.sequence)
        )));
    }
    Ok(bundle)
}

async fn export_record(
    client: &Client,
    r: &maat_rpc::AuditRecordInfo,
    tree_size: u64,
    redact: &[String],
) -> Result<BundleRecord, AuditBundleError> {
    let (_, rec) = audit::record_of_tx(&r.tx)
        .ok_or_else(|| record_err(r.sequence, "the node returned a non-audit transaction"))?;
    let fields =
        audit::data_fields(&rec.data_json).map_err(|e| record_err(r.sequence, e.to_string()))?;
    if !fields.iter().any(|(name, _)| redact.contains(name)) {
        let proof = client.inclusion_proof(r.log_index, tree_size).await?;
        return Ok(BundleRecord {
            sequence: r.sequence,
            log_index: r.log_index,
            tx: Some(hex::encode(&r.tx)),
            inclusion_path: proof.path.iter().map(hex::encode).collect(),
            redacted: None,
        });
    }
    let fields = fields
        .into_iter()
        .map(|(name, value)| {
            let salt = audit::field_salt(&rec.salt, &name);
            let canon = json::canon_bytes(&value);
            if redact.contains(&name) {
                RedactedField {
                    commitment: Some(hex::encode(audit::field_commitment(&salt, &canon))),
                    name,
                    value_json: None,
                    field_salt: None,
                }
            } else {
                RedactedField {
                    name,
                    value_json: Some(String::from_utf8_lossy(&canon).into_owned()),
                    field_salt: Some(hex::encode(salt)),
                    commitment: None,
                }
            }
        })
        .collect();
    Ok(BundleRecord {
        sequence: r.sequence,
        log_index: r.log_index,
        tx: None,
        inclusion_path: Vec::new(),
        redacted: Some(RedactedRecord {
            session_id: rec.session_id,
            event_type: rec.event_type,
            risk: rec.risk,
            timestamp_ms: rec.timestamp_ms,
            previous_hash: hex::encode(&rec.previous_hash),
            fields,
        }),
    })
}

fn hex32(sequence: u64, what: &str, text: &str) -> Result<[u8; 32], AuditBundleError> {
    hex::decode(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| record_err(sequence, format!("{what} is not 32 bytes of hex")))
}

/// The record hash and `previous_hash` of a shown record, after its inclusion proof.
fn check_full(
    bundle: &AuditBundle,
    r: &BundleRecord,
    tx_hex: &str,
    tree_size: u64,
    root: &Hash32,
) -> Result<([u8; 32], [u8; 32], u64), AuditBundleError> {
    let seq = r.sequence;
    let tx = hex::decode(tx_hex).map_err(|_| record_err(seq, "tx is not hex"))?;
    let path = r
        .inclusion_path
        .iter()
        .map(|h| hex32(seq, "an inclusion path hash", h).map(Hash32))
        .collect::<Result<Vec<_>, _>>()?;
    verify_inclusion(&leaf_hash(&tx), r.log_index, tree_size, &path, root).map_err(|e| {
        record_err(
            seq,
            format!(
                "not in the log at index {} of the checkpoint: {e}",
                r.log_index
            ),
        )
    })?;
    let (chain_id, rec) = audit::record_of_tx(&tx)
        .ok_or_else(|| record_err(seq, "not an audit record transaction"))?;
    if chain_id != bundle.chain_id || rec.agent_id != bundle.agent_id {
        return Err(record_err(
            seq,
            format!("a record of agent `{}` on chain `{chain_id}`", rec.agent_id),
        ));
    }
    if rec.sequence != seq {
        return Err(record_err(
            seq,
            format!("the transaction says sequence {}", rec.sequence),
        ));
    }
    let hash = audit::record_hash(&chain_id, &rec).map_err(|e| record_err(seq, e.to_string()))?;
    let prev = <[u8; 32]>::try_from(rec.previous_hash.as_slice())
        .map_err(|_| record_err(seq, "previous_hash is not 32 bytes"))?;
    Ok((hash, prev, rec.timestamp_ms))
}

/// The record hash and `previous_hash` of a redacted record, from its commitment form.
fn check_redacted(
    bundle: &AuditBundle,
    seq: u64,
    red: &RedactedRecord,
) -> Result<([u8; 32], [u8; 32], u64), AuditBundleError> {
    let prev = hex32(seq, "previous_hash", &red.previous_hash)?;
    let mut fields = Vec::with_capacity(red.fields.len());
    for f in &red.fields {
        let commitment = match (&f.value_json, &f.field_salt, &f.commitment) {
            (Some(value), Some(salt), None) => {
                let v = json::parse(value.as_bytes(), ParseMode::Strict)
                    .map_err(|e| record_err(seq, format!("field `{}`: {e}", f.name)))?;
                if json::canon_bytes(&v) != value.as_bytes() {
                    return Err(record_err(
                        seq,
                        format!("field `{}` is not canonical JSON", f.name),
                    ));
                }
                let salt = hex32(seq, "a field salt", salt)?;
                audit::field_commitment(&salt, value.as_bytes())
            }
            (None, None, Some(c)) => hex32(seq, "a field commitment", c)?,
            _ => {
                return Err(record_err(
                    seq,
                    format!(
                        "field `{}` must have either value_json and field_salt, or commitment",
                        f.name
                    ),
                ));
            }
        };
        fields.push(v1::AuditFieldCommitment {
            name: f.name.clone(),
            commitment: commitment.to_vec(),
        });
    }
    if fields.windows(2).any(|w| w[0].name >= w[1].name) {
        return Err(record_err(seq, "fields are not sorted by name, each once"));
    }
    let c = v1::AuditRecordCommitment {
        chain_id: bundle.chain_id.clone(),
        agent_id: bundle.agent_id.clone(),
        session_id: red.session_id.clone(),
        event_type: red.event_type.clone(),
        risk: red.risk.clone(),
        timestamp_ms: red.timestamp_ms,
        sequence: seq,
        previous_hash: prev.to_vec(),
        fields,
    };
    Ok((audit::commitment_hash(&c), prev, red.timestamp_ms))
}

/// Verifies `bundle` against `genesis` with no network access: the checkpoint's cosignatures
/// (2f+1 of the genesis voting power), each shown transaction's inclusion in the log at that
/// checkpoint, each record's hash recomputed (from commitments for redacted ones), sequences
/// contiguous, every `previous_hash` naming its predecessor's hash (zeros before record 1),
/// timestamps non-decreasing, and the last record shown in full.
///
/// # Errors
/// [`AuditBundleError`] naming the first failing record.
pub fn verify_audit_bundle(
    bundle: &AuditBundle,
    genesis: &Genesis,
) -> Result<AuditBundleReport, AuditBundleError> {
    if bundle.format != AUDIT_BUNDLE_FORMAT {
        return Err(AuditBundleError::Malformed(format!(
            "format `{}`, expected `{AUDIT_BUNDLE_FORMAT}`",
            bundle.format
        )));
    }
    if bundle.chain_id != genesis.chain_id() || bundle.genesis_hash != hex::encode(genesis.hash()) {
        return Err(AuditBundleError::Malformed(format!(
            "bundle of chain `{}` (genesis {}), this genesis is `{}` ({})",
            bundle.chain_id,
            bundle.genesis_hash,
            genesis.chain_id(),
            hex::encode(genesis.hash())
        )));
    }
    let cp = verify_checkpoint(&bundle.checkpoint, genesis)
        .map_err(|e| AuditBundleError::Checkpoint(e.to_string()))?;
    let (tree_size, root) = (cp.checkpoint.tree_size, Hash32(cp.checkpoint.root));
    let (Some(first), Some(last)) = (bundle.records.first(), bundle.records.last()) else {
        return Err(AuditBundleError::Malformed("no records".into()));
    };
    if last.tx.is_none() {
        return Err(record_err(
            last.sequence,
            "the last record is redacted: nothing proves it (only a successor's link can)",
        ));
    }
    let mut expected_prev: Option<[u8; 32]> =
        (first.sequence == 1).then_some(GENESIS_PREVIOUS_HASH);
    let mut last_time = 0;
    let mut redacted = 0;
    let mut head = [0; 32];
    for (k, r) in bundle.records.iter().enumerate() {
        let seq = r.sequence;
        if seq != first.sequence.saturating_add(k as u64) {
            return Err(record_err(seq, "sequences are not contiguous"));
        }
        let (hash, prev, time) = match (&r.tx, &r.redacted) {
            (Some(tx), None) => check_full(bundle, r, tx, tree_size, &root)?,
            (None, Some(red)) => {
                redacted += 1;
                check_redacted(bundle, seq, red)?
            }
            _ => return Err(record_err(seq, "needs exactly one of tx and redacted")),
        };
        if let Some(want) = expected_prev {
            if prev != want {
                return Err(record_err(
                    seq,
                    format!(
                        "previous_hash {} does not name record {}'s hash {}",
                        hex::encode(prev),
                        seq - 1,
                        hex::encode(want)
                    ),
                ));
            }
        }
        if time < last_time {
            return Err(record_err(seq, "dated before its predecessor"));
        }
        last_time = time;
        expected_prev = Some(hash);
        head = hash;
    }
    Ok(AuditBundleReport {
        agent_id: bundle.agent_id.clone(),
        chain_id: bundle.chain_id.clone(),
        first_sequence: first.sequence,
        last_sequence: last.sequence,
        records: bundle.records.len() as u64,
        redacted_records: redacted,
        head_record_hash: hex::encode(head),
        tree_size,
        checkpoint_power: cp.power,
        from_genesis: first.sequence == 1,
    })
}
