//! The PROOF layer's queries over RocksDB: audit records and chains, attestations by log index
//! and by subject digest. Served by [`crate::api::NodeRpc`].

use maat_ledger::attestation::{Envelope, normalize_digest_ref};
use maat_ledger::{audit, state};
use maat_proto::Message as _;
use maat_rpc::{
    ApiError, AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification,
    AuditRecordInfo, PageCursor,
};
use maat_storage::{AuditIndexEntry, Order, Store, TxPos, TxQuery, TxRecord};

use crate::exec::StoreView;

/// What the store indexes a committed transaction under: its audit chain position and its
/// attestation subject digests (what `exec` derives from the ledger's `TxSubject` at commit).
pub(crate) fn index_entries(tx_bytes: &[u8]) -> (Option<AuditIndexEntry>, Vec<String>) {
    if let Some((_, r)) = audit::record_of_tx(tx_bytes) {
        let entry = AuditIndexEntry {
            agent_id: r.agent_id,
            sequence: r.sequence,
        };
        return (Some(entry), Vec::new());
    }
    let Ok(tx) = maat_proto::v1::Transaction::decode(tx_bytes) else {
        return (None, Vec::new());
    };
    match tx.payload.and_then(|p| p.body).and_then(|b| b.kind) {
        Some(maat_proto::v1::tx_body::Kind::Attestation(a)) => {
            // Committed, so it parsed when applied; the digests come out the same way.
            match maat_ledger::attestation::parse_statement(&a.payload) {
                Ok(s) => (None, s.subject_digests()),
                Err(_) => (None, Vec::new()),
            }
        }
        _ => (None, Vec::new()),
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e.to_string())
}

fn agent_param(agent_id: &str) -> Result<(), ApiError> {
    match maat_ledger::names::name_problem(agent_id) {
        Some(p) => Err(ApiError::invalid_params(format!("`agent_id`: {p}"))),
        None => Ok(()),
    }
}

/// The record a committed transaction carries, checked again: a stored transaction that is
/// not an audit record, or whose record hash does not compute, is `None` / an internal error.
pub(crate) fn audit_record_info(rec: TxRecord) -> Result<Option<AuditRecordInfo>, ApiError> {
    let Some((chain_id, r)) = audit::record_of_tx(&rec.bytes) else {
        return Ok(None);
    };
    let record_hash = audit::record_hash(&chain_id, &r).map_err(|e| {
        internal(format!(
            "stored audit record {}: {e}",
            hex::encode(rec.tx_id)
        ))
    })?;
    let previous_hash = <[u8; 32]>::try_from(r.previous_hash.as_slice())
        .map_err(|_| internal("stored audit record: previous_hash is not 32 bytes"))?;
    // Canonical JSON allows numbers serde_json cannot hold: the text is authoritative.
    let data = serde_json::from_slice(&r.data_json).unwrap_or(serde_json::Value::Null);
    let data_json = String::from_utf8(r.data_json)
        .map_err(|_| internal("stored audit record data is not UTF-8"))?;
    Ok(Some(AuditRecordInfo {
        tx_id: rec.tx_id,
        height: rec.pos.height,
        log_index: rec.log_index,
        agent_id: r.agent_id,
        session_id: r.session_id,
        event_type: r.event_type,
        risk: r.risk,
        timestamp_ms: r.timestamp_ms,
        sequence: r.sequence,
        previous_hash,
        record_hash,
        data,
        data_json,
        tx: rec.bytes,
        finality_proof: None,
    }))
}

pub(crate) fn audit_chain(
    store: &Store,
    agent_id: &str,
    from_sequence: u64,
    limit: u32,
) -> Result<AuditChainPage, ApiError> {
    agent_param(agent_id)?;
    let from = from_sequence.max(1);
    let mut records = Vec::new();
    for (_, rec) in store
        .audit_chain(agent_id, from, limit as usize)
        .map_err(internal)?
    {
        let info = audit_record_info(rec)?
            .ok_or_else(|| internal("the audit index points to a non-audit transaction"))?;
        records.push(info);
    }
    // Read after the page: a record committed in between is then counted, not missed.
    let length = store.audit_chain_length(agent_id).map_err(internal)?;
    let next = records
        .last()
        .map(|r| r.sequence + 1)
        .filter(|n| *n <= length);
    Ok(AuditChainPage {
        agent_id: agent_id.to_owned(),
        length,
        records,
        next,
    })
}

/// Re-reads the chain from record 1: each transaction decoded again, record hash recomputed,
/// sequence and link checked, and its log leaf recomputed against the stored log.
pub(crate) fn verify_audit_chain(
    store: &Store,
    chain: &str,
    agent_id: &str,
    to_sequence: Option<u64>,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<AuditChainVerification, ApiError> {
    agent_param(agent_id)?;
    let length = store.audit_chain_length(agent_id).map_err(internal)?;
    if length == 0 {
        return Err(ApiError::invalid_params(format!(
            "agent `{agent_id}` has no committed audit record"
        )));
    }
    let to = to_sequence.unwrap_or(length);
    if to == 0 || to > length {
        return Err(ApiError::invalid_params(format!(
            "`to_sequence`: {to} is outside 1..={length} (the chain's length)"
        )));
    }
    let mut problems = Vec::new();
    let mut expected_prev = audit::GENESIS_PREVIOUS_HASH;
    let mut last_time = 0;
    let mut checked = 0u64;
    let mut next = 1u64;
    while next <= to {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ApiError::unavailable(
                "the chain check was abandoned by its caller",
            ));
        }
        let page = store.audit_chain(agent_id, next, 1000).map_err(internal)?;
        if page.is_empty() {
            problems.push(format!("record {next}: missing from the index"));
            break;
        }
        for (seq, rec) in page {
            if seq > to {
                break;
            }
            if seq != next {
                problems.push(format!(
                    "record {next}: missing (the index continues at {seq})"
                ));
            }
            next = seq + 1;
            checked += 1;
            let leaf = maat_crypto::merkle::leaf_hash(&rec.bytes);
            match store.log_leaf(rec.log_index) {
                Ok(stored) if stored == leaf => {}
                Ok(_) => problems.push(format!("record {seq}: its log leaf does not match")),
                Err(e) => problems.push(format!("record {seq}: log leaf unreadable: {e}")),
            }
            let Some((chain_id, r)) = audit::record_of_tx(&rec.bytes) else {
                problems.push(format!("record {seq}: not an audit record transaction"));
                continue;
            };
            if chain_id != chain || r.agent_id != agent_id {
                problems.push(format!(
                    "record {seq}: belongs to agent `{}` on chain `{chain_id}`",
                    r.agent_id
                ));
            }
            if r.sequence != seq {
                problems.push(format!("record {seq}: carries sequence {}", r.sequence));
            }
            if r.previous_hash != expected_prev {
                problems.push(format!(
                    "record {seq}: previous_hash {} does not name record {}'s hash {}",
                    hex::encode(&r.previous_hash),
                    seq - 1,
                    hex::encode(expected_prev)
                ));
            }
            if r.timestamp_ms < last_time {
                problems.push(format!("record {seq}: dated before its predecessor"));
            }
            last_time = r.timestamp_ms;
            match audit::record_hash(&chain_id, &r) {
                Ok(h) => expected_prev = h,
                Err(e) => {
                    problems.push(format!("record {seq}: {e}"));
                    break;
                }
            }
        }
    }
    Ok(AuditChainVerification {
        agent_id: agent_id.to_owned(),
        to_sequence: to,
        records_checked: checked,
        valid: problems.is_empty() && checked == to,
        head_record_hash: expected_prev,
        problems,
    })
}

/// The attestation a committed transaction carries, with what the chain recorded of it.
fn attestation_info(
    rec: TxRecord,
    record: &maat_proto::v1::AttestationRecord,
) -> Result<AttestationInfo, ApiError> {
    let tx = maat_proto::v1::Transaction::decode(rec.bytes.as_slice()).map_err(internal)?;
    let Some(maat_proto::v1::tx_body::Kind::Attestation(a)) =
        tx.payload.and_then(|p| p.body).and_then(|b| b.kind)
    else {
        return Err(internal(format!(
            "log entry {} is indexed as an attestation but is not one",
            rec.log_index
        )));
    };
    Ok(AttestationInfo {
        tx_id: rec.tx_id,
        height: rec.pos.height,
        log_index: rec.log_index,
        predicate_type: record.predicate_type.clone(),
        subjects: record.subjects.clone(),
        signers: record.signers.clone(),
        envelope: Envelope::from_proto(&a).to_json(),
    })
}

pub(crate) fn attestation(
    store: &std::sync::Arc<Store>,
    log_index: u64,
) -> Result<Option<AttestationInfo>, ApiError> {
    let view = StoreView(std::sync::Arc::clone(store));
    let Some(record) = state::attestation_record(&view, log_index).map_err(internal)? else {
        return Ok(None);
    };
    let tx_id = <[u8; 32]>::try_from(record.tx_id.as_slice())
        .map_err(|_| internal("attestation record: tx_id is not 32 bytes"))?;
    let rec = store.tx(&tx_id).map_err(internal)?.ok_or_else(|| {
        internal(format!(
            "attestation {log_index}: its transaction is missing"
        ))
    })?;
    attestation_info(rec, &record).map(Some)
}

pub(crate) fn attestations_by_subject(
    store: &std::sync::Arc<Store>,
    subject: &str,
    after: Option<PageCursor>,
    limit: u32,
) -> Result<AttestationPage, ApiError> {
    let subject = normalize_digest_ref(subject)
        .map_err(|e| ApiError::invalid_params(format!("`subject`: {e}")))?;
    let page = store
        .txs_by_subject(
            &subject,
            &TxQuery {
                after: after.map(|c| TxPos {
                    height: c.height,
                    position: c.position,
                }),
                limit: limit as usize,
                order: Order::Ascending,
                ..TxQuery::default()
            },
        )
        .map_err(internal)?;
    let view = StoreView(std::sync::Arc::clone(store));
    let mut attestations = Vec::with_capacity(page.txs.len());
    for rec in page.txs {
        let record = state::attestation_record(&view, rec.log_index)
            .map_err(internal)?
            .ok_or_else(|| {
                internal(format!(
                    "log entry {} is indexed under {subject} but has no attestation record",
                    rec.log_index
                ))
            })?;
        attestations.push(attestation_info(rec, &record)?);
    }
    Ok(AttestationPage {
        subject,
        attestations,
        next: page.next.map(|p| PageCursor {
            height: p.height,
            position: p.position,
        }),
    })
}
