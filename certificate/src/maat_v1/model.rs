//! The typed `maat-v1` certificate: what [`super::parse_certificate`] produces and what the
//! builder and the canonical writer consume.
//!
//! The structs are the *normalised* form of section 3.3: evidence `dependencies` and step
//! `evidence_refs` are kept sorted, evidence objects are kept in input order (the canonical
//! writer sorts them by `evidence_id`), predicates, steps and premises keep their order.
//! Open-ended JSON (evidence `value`, leaf predicate `params`, `freshness_seconds` values) is
//! kept as [`Value`] so that it hashes exactly as given (int/float identity, section 3.2).

use crate::json::{JsonInt, Object, Value};

/// `request` (section 2.1). Every field is a required string.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Request {
    pub deployment_id: String,
    pub service: String,
    pub environment: String,
    pub commit_sha: String,
    pub artifact_hash: String,
    pub requested_by: String,
}

/// `policy` (section 2.2). Every field is required.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub policy_id: String,
    /// Kept exactly (an integer literal); WF(P) requires it to be > 0.
    pub version: JsonInt,
    pub environment: String,
    pub rule_set_id: String,
    /// `evidence_type -> max age in seconds`, sorted by key (the canonical order). Values are
    /// raw JSON; WF(P) requires a positive number.
    pub freshness_seconds: Vec<(String, Value)>,
    pub predicates: Vec<Predicate>,
}

/// One predicate `{name, params}` (section 2.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    pub name: String,
    pub params: PredicateParams,
}

/// The `params` of a predicate, typed by the predicate's name.
#[derive(Clone, Debug, PartialEq)]
pub enum PredicateParams {
    /// `and` / `or`: `{"children": [...]}`; `None` when `params` is `{}`.
    Children(Option<Vec<Predicate>>),
    /// `not`: `{"child": {...}}`; `None` when `params` is `{}`.
    Child(Option<Box<Predicate>>),
    /// A known leaf (`test_passed`, ...): only its own parameter keys, values as given.
    Leaf(Object),
    /// An unknown predicate name: params kept as given (WF(P) rejects the name).
    Unknown(Object),
}

/// One evidence object (section 2.4 plus `signer`, section 10.1).
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceObject {
    pub evidence_id: String,
    pub evidence_type: String,
    pub value: Object,
    pub source: String,
    /// POSIX seconds, always a float (section 3.2), always finite.
    pub timestamp: f64,
    /// Sorted (section 3.3).
    pub dependencies: Vec<String>,
    /// The registered identity id that signed this object.
    pub signer: String,
    /// Lowercase hex SHA-256 of the hash payload (see the module docs).
    pub hash: String,
    /// `<alg>:<base64>` over `"maat/evidence/v1\n" || hash`.
    pub signature: String,
}

/// One proof step (section 2.6).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProofStep {
    pub step_id: String,
    pub rule: String,
    pub conclusion: String,
    /// Sorted (section 3.3).
    pub evidence_refs: Vec<String>,
    /// In order; each must name an earlier step.
    pub premises: Vec<String>,
}

/// `proof` (section 2.6).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Proof {
    pub steps: Vec<ProofStep>,
    pub final_conclusion: String,
}

/// A parsed `maat-v1` certificate. A submitted certificate carries no attestations (10.6);
/// `attestations` counts the entries found so the checker can reject them.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    pub request: Request,
    pub policy: Policy,
    /// In input order.
    pub evidence: Vec<EvidenceObject>,
    pub proof: Proof,
    /// Number of entries in the (forbidden) `attestations` list; 0 when absent or empty.
    pub attestations: usize,
}

/// The rule names a step may use. `CANARY_READY` is new in `maat-v1`: the reference has no
/// rule that concludes `canary_enabled`, so that leaf could never be covered.
/// `ARTIFACT_ATTESTED` (also new) concludes `artifact_attested` from an `attestation_ref`.
pub const VALID_RULES: [&str; 11] = [
    "TEST_PASS",
    "VULN_OK",
    "SIGNATURE_VALID",
    "EVIDENCE_BOUND",
    "ENVIRONMENT_MATCH",
    "ROLLBACK_READY",
    "CANARY_READY",
    "HUMAN_ATTESTED",
    "ARTIFACT_ATTESTED",
    "POLICY_SATISFIED",
    "DEPLOY_AUTH",
];

/// The parameter keys of each known leaf predicate, and the rule whose steps conclude it.
pub(crate) fn leaf_param_keys(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "test_passed" => &["suite"],
        "vuln_count" => &["severity", "operator", "threshold"],
        "human_attested" => &["role"],
        "rollback_defined" | "canary_enabled" => &["service"],
        "environment_matches" => &["target"],
        "artifact_attested" => &["predicate_type"],
        _ => return None,
    })
}
