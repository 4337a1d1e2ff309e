//! The `maatproof-v1` rule set (CERTIFICATE.md sections 1-9b): byte- and code-exact with the
//! MaatProof Python reference checker, quirks included, except that every input on which the
//! reference raises is rejected with a `*_MALFORMED` failure instead (section 9b).
//!
//! Entry points: [`check`] / [`check_value`] with a [`CheckerConfig`], or a pre-keyed
//! [`Checker`] for throughput. Helpers reproduce the reference's other outputs: signing
//! ([`sign_evidence`], [`sign_attestation`], [`simulate_validators`]), the JSONL ledger
//! ([`ledger_line`], [`replay_verify`]), AVM traces ([`trace_to_evidence_bundle`]) and the legacy
//! reasoning-step hash ([`reasoning_step_hash`]).
//!
//! `*_MALFORMED` codes and where they go:
//! - `Parse`: `CERTIFICATE_JSON_MALFORMED` (not JSON, NaN/Infinity, overflow, lone surrogate,
//!   invalid UTF-8, nesting deeper than `json::MAX_DEPTH`), `CERTIFICATE_MALFORMED` (the top
//!   level is not an object).
//! - `Certificate`: `REQUEST_MALFORMED[:<field>]`. The request belongs to no single check, and
//!   the report's `Certificate` component exists for request shape; Python raises `TypeError`
//!   on a missing or extra field.
//! - `WF(P)`: `POLICY_MALFORMED[:<field>]`, `POLICY_PREDICATE_MALFORMED:<name|#path>` (also for a
//!   leaf missing its parameter key, which crashes Python in Auth(E): the bad input is in the
//!   policy), `POLICY_FRESHNESS_MALFORMED:<type>`.
//! - `Auth(E)`: `EVIDENCE_MALFORMED[:<field>]`, `EVIDENCE_OBJECT_MALFORMED:<id|#i>[:<field>]`,
//!   `EVIDENCE_VALUE_MALFORMED:<id>`, `EVIDENCE_SIGNATURE_MALFORMED:<id>`.
//! - `CheckR`: `PROOF_MALFORMED[:<field>]`, `PROOF_STEP_MALFORMED:<id|#i>[:<field>]`.
//! - `Quorum(A)`: `QUORUM_ATTESTATIONS_MALFORMED`, `QUORUM_ATTESTATION_MALFORMED:<id|#i>[:<field>]`,
//!   `QUORUM_SIGNATURE_MALFORMED:<v>`.
//!
//! When `from_dict` itself would raise, the checks cannot run: the report then holds only the
//! `*_MALFORMED` failures, all four booleans are false and the digests are empty. When the
//! reference would raise later, inside a check, the code replaces the crash in place and the
//! other checks report as usual.

mod avm;
mod check;
mod config;
mod doc;
mod ledger;
mod model;
mod py;
mod sign;

pub use avm::{reasoning_proof_signature, reasoning_step_hash, trace_to_evidence_bundle};
pub use config::{CheckerConfig, ConfigError, Mode, QuorumRule};
pub use ledger::{LedgerError, ledger_line, replay_verify, report_to_value};
pub use sign::{SignError, sign_attestation, sign_evidence, simulate_validators};

use crate::json::Value;
use crate::report::{Component, Failure, Report};
use config::Keys;
use doc::{V, parse_doc};
use model::{Canon, Cert, hex_string};

/// A checker with its HMAC keys pre-processed once (the fast path for many certificates).
pub struct Checker {
    config: CheckerConfig,
    keys: Keys,
}

impl Checker {
    /// Validates the configuration (non-empty keys) and keys the HMAC states.
    pub fn new(config: CheckerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let keys = Keys::new(&config);
        Ok(Checker { config, keys })
    }

    /// The configuration.
    pub fn config(&self) -> &CheckerConfig {
        &self.config
    }

    /// Parses (Python semantics) and checks a certificate.
    pub fn check(&self, bytes: &[u8]) -> Report {
        check_bytes_with(bytes, &self.config, &self.keys, self.config.mode)
    }

    /// Checks an already parsed certificate.
    pub fn check_value(&self, v: &Value) -> Report {
        check_value_with(v, &self.config, &self.keys, self.config.mode)
    }
}

/// Parses (Python semantics: duplicate keys keep the last value) and checks a certificate.
/// Unparseable input yields `Parse/CERTIFICATE_JSON_MALFORMED`. Never panics.
pub fn check(bytes: &[u8], config: &CheckerConfig) -> Report {
    check_bytes_with(bytes, config, &Keys::new(config), config.mode)
}

/// Checks an already parsed certificate.
pub fn check_value(v: &Value, config: &CheckerConfig) -> Report {
    check_value_with(v, config, &Keys::new(config), config.mode)
}

fn check_bytes_with(bytes: &[u8], config: &CheckerConfig, keys: &Keys, mode: Mode) -> Report {
    match parse_doc(bytes) {
        Ok(doc) => check_view(doc.root(), bytes.len(), config, keys, mode),
        Err(_) => json_malformed(),
    }
}

pub(crate) fn check_value_with(
    v: &Value,
    config: &CheckerConfig,
    keys: &Keys,
    mode: Mode,
) -> Report {
    if too_deep(v) {
        return json_malformed();
    }
    check_view(V::J(v), 4096, config, keys, mode)
}

/// A value built in memory can nest deeper than `parse` allows; the recursive checks must not
/// follow it (measured without recursion).
fn too_deep(v: &Value) -> bool {
    let mut stack = vec![(v, 0usize)];
    while let Some((x, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match x {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.entries.iter().map(|(_, c)| c)),
            _ => continue,
        };
        if depth + 1 > crate::json::MAX_DEPTH {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

fn json_malformed() -> Report {
    malformed_report(vec![Failure::new(
        Component::Parse,
        "CERTIFICATE_JSON_MALFORMED",
    )])
}

fn check_view(
    v: V<'_>,
    size_hint: usize,
    config: &CheckerConfig,
    keys: &Keys,
    mode: Mode,
) -> Report {
    match Cert::from_value(v) {
        Ok(cert) => {
            let canon = Canon::encode(&cert, size_hint);
            check::run(&cert, &canon, keys, config, mode == Mode::Accept)
        }
        Err(failures) => malformed_report(failures),
    }
}

/// The report for a certificate the reference could not even load.
fn malformed_report(failures: Vec<Failure>) -> Report {
    Report {
        failures,
        ..Report::default()
    }
}

/// The digests of section 3.4 and the exact text hashed for `certificate_digest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    /// `H(body)`: what validators sign.
    pub certificate_digest: String,
    /// `H(policy)` (`policy_hash` in the ledger).
    pub policy_root: String,
    /// `H({"objects": sorted objects})`.
    pub evidence_root: String,
    /// `H(proof)`.
    pub proof_root: String,
    /// `canon(body)`: `{"evidence", "policy", "proof", "request"}`.
    pub canonical_body: String,
}

/// Loads a certificate as the reference does and computes its digests, or returns the
/// `*_MALFORMED` failures that stop it.
pub fn digests(v: &Value) -> Result<Digests, Vec<Failure>> {
    if too_deep(v) {
        return Err(json_malformed().failures);
    }
    let cert = Cert::from_value(V::J(v))?;
    let canon = Canon::encode(&cert, 4096);
    Ok(Digests {
        certificate_digest: hex_string(&canon.sha256(&(0..canon.body.len()))),
        policy_root: hex_string(&canon.sha256(&canon.policy)),
        evidence_root: hex_string(&canon.sha256(&canon.evidence)),
        proof_root: hex_string(&canon.sha256(&canon.proof)),
        canonical_body: String::from_utf8_lossy(&canon.body).into_owned(),
    })
}
