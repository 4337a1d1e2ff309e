//! The reference's JSONL deployment ledger (section 6): the line `append` writes, and
//! `replay_verify` over a ledger's text.

use super::config::Keys;
use super::doc::V;
use super::py::{self, py_dict, py_float};
use super::{CheckerConfig, Mode, check_value_with};
use crate::json::{self, Object, ParseMode, Value, canon_string};
use crate::report::{Component, Failure, Report};

/// Why a ledger line cannot be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// `append` refuses reports that were not accepted.
    #[error("only accepted certificates may be appended")]
    NotAccepted,
}

/// `AcceptanceReport.to_dict()`.
pub fn report_to_value(r: &Report) -> Value {
    let failures: Vec<Value> = r
        .failures
        .iter()
        .map(|f| {
            Value::Object(obj([
                ("component", Value::from(f.component.as_str())),
                ("code", Value::from(f.code.as_str())),
                ("message", Value::from(f.message.as_str())),
            ]))
        })
        .collect();
    Value::Object(obj([
        ("accepted", Value::Bool(r.accepted)),
        (
            "certificate_digest",
            Value::from(r.certificate_digest.as_str()),
        ),
        ("wf_policy", Value::Bool(r.wf_policy)),
        ("auth_evidence", Value::Bool(r.auth_evidence)),
        ("check_proof", Value::Bool(r.check_proof)),
        ("quorum", Value::Bool(r.quorum)),
        ("evidence_root", Value::from(r.evidence_root.as_str())),
        ("proof_root", Value::from(r.proof_root.as_str())),
        ("policy_root", Value::from(r.policy_root.as_str())),
        ("failures", Value::Array(failures)),
    ]))
}

fn obj<const N: usize>(members: [(&str, Value); N]) -> Object {
    members
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// The line `JsonlDeploymentLedger.append` writes: `canon(entry)` and `\n`. `environment` is
/// the certificate's `request.environment`; `timestamp` is supplied by the caller.
pub fn ledger_line(
    report: &Report,
    environment: &Value,
    timestamp: f64,
) -> Result<String, LedgerError> {
    if !report.accepted {
        return Err(LedgerError::NotAccepted);
    }
    let entry = Value::Object(obj([
        (
            "certificate_digest",
            Value::from(report.certificate_digest.as_str()),
        ),
        ("policy_hash", Value::from(report.policy_root.as_str())),
        ("evidence_root", Value::from(report.evidence_root.as_str())),
        ("proof_root", Value::from(report.proof_root.as_str())),
        ("finality_result", report_to_value(report)),
        ("environment", environment.clone()),
        ("timestamp", Value::Float(timestamp)),
    ]));
    let mut line = canon_string(&entry);
    line.push('\n');
    Ok(line)
}

/// Splits text into lines as Python's universal-newline reading does (`\n`, `\r\n`, `\r`).
fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = rest.get(..end).unwrap_or("");
        let skip = match rest.get(end..end + 2) {
            Some("\r\n") => 2,
            _ if end < rest.len() => 1,
            _ => 0,
        };
        rest = rest.get(end + skip..).unwrap_or("");
        Some(line)
    })
}

/// `LedgerEntry.from_dict(json.loads(line))`: the stored digest, or `None` where Python raises.
fn entry_digest(line: &str) -> Option<Value> {
    let v = json::parse(line.as_bytes(), ParseMode::Python).ok()?;
    let o = v.as_object()?;
    for k in [
        "certificate_digest",
        "policy_hash",
        "evidence_root",
        "proof_root",
        "environment",
    ] {
        o.get(k)?;
    }
    py_dict(V::J(o.get("finality_result")?)).ok()?;
    py_float(V::J(o.get("timestamp")?)).ok()?;
    o.get("certificate_digest").cloned()
}

/// `JsonlDeploymentLedger.replay_verify`: the full `accept` (quorum included, whatever
/// `config.mode` says), then `Ledger/LEDGER_ENTRY_MISSING` unless a line of `ledger_text` has
/// this certificate's digest. Blank lines are skipped. A line the reference cannot load makes
/// it raise: that gives `Ledger/LEDGER_MALFORMED`. The stored roots and result are not compared
/// (as in the reference).
pub fn replay_verify(certificate: &[u8], config: &CheckerConfig, ledger_text: &str) -> Report {
    let keys = Keys::new(config);
    let mut report = match json::parse(certificate, ParseMode::Python) {
        Ok(v) => check_value_with(&v, config, &keys, Mode::Accept),
        Err(_) => Report {
            failures: vec![Failure::new(Component::Parse, "CERTIFICATE_JSON_MALFORMED")],
            ..Report::default()
        },
    };
    if report.certificate_digest.is_empty() {
        // The certificate could not be loaded; the reference would have raised already.
        return report;
    }
    let mut digests = Vec::new();
    for line in universal_lines(ledger_text) {
        if line
            .trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
            .is_empty()
        {
            continue;
        }
        match entry_digest(line) {
            Some(d) => digests.push(d),
            None => {
                report
                    .failures
                    .push(Failure::new(Component::Ledger, "LEDGER_MALFORMED"));
                report.accepted = false;
                return report;
            }
        }
    }
    let found = digests
        .iter()
        .any(|d| py::eq_str(V::J(d), &report.certificate_digest));
    if !found {
        report
            .failures
            .push(Failure::new(Component::Ledger, "LEDGER_ENTRY_MISSING"));
        report.accepted = false;
    }
    report
}
