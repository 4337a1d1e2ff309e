//! The policy as logic: validated leaves, the `and`/`or`/`not` tree, which evidence supports
//! which leaf, truth values, and the two explanations (why the policy is false; which true
//! leaves the derivation fails to cover).
//!
//! Used by the checker and by the builder, so both agree on what supports a leaf.

use std::collections::{HashMap, HashSet};

use crate::json::{self, Object, Value};

use super::model::{EvidenceObject, Policy, Predicate, PredicateParams, Request};

/// The comparison of a `vuln_count` leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VulnOp {
    /// `<=`
    AtMost,
    /// `==`
    Exactly,
}

impl VulnOp {
    fn as_str(self) -> &'static str {
        match self {
            VulnOp::AtMost => "<=",
            VulnOp::Exactly => "==",
        }
    }

    fn holds(self, count: u64, threshold: u64) -> bool {
        match self {
            VulnOp::AtMost => count <= threshold,
            VulnOp::Exactly => count == threshold,
        }
    }
}

/// A well-formed leaf predicate with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Leaf {
    TestPassed {
        suite: String,
    },
    VulnCount {
        severity: String,
        op: VulnOp,
        threshold: u64,
    },
    HumanAttested {
        role: String,
    },
    RollbackDefined {
        service: String,
    },
    CanaryEnabled {
        service: String,
    },
    EnvironmentMatches {
        target: String,
    },
    /// A finalized supply-chain attestation of `predicate_type` names the request's artifact.
    ArtifactAttested {
        predicate_type: String,
    },
}

impl Leaf {
    /// The leaf's label, which is also the exact conclusion of the step that covers it:
    /// `test_passed:<suite>`, `vuln_count:<severity><op><threshold>`, `human_attested:<role>`,
    /// `rollback_defined:<service>`, `canary_enabled:<service>`, `environment_matches:<target>`,
    /// `artifact_attested:<predicate_type>`.
    pub fn label(&self) -> String {
        match self {
            Leaf::TestPassed { suite } => format!("test_passed:{suite}"),
            Leaf::VulnCount {
                severity,
                op,
                threshold,
            } => {
                format!("vuln_count:{severity}{}{threshold}", op.as_str())
            }
            Leaf::HumanAttested { role } => format!("human_attested:{role}"),
            Leaf::RollbackDefined { service } => format!("rollback_defined:{service}"),
            Leaf::CanaryEnabled { service } => format!("canary_enabled:{service}"),
            Leaf::EnvironmentMatches { target } => format!("environment_matches:{target}"),
            Leaf::ArtifactAttested { predicate_type } => {
                format!("artifact_attested:{predicate_type}")
            }
        }
    }

    /// The proof rule whose steps conclude this leaf.
    pub fn rule(&self) -> &'static str {
        match self {
            Leaf::TestPassed { .. } => "TEST_PASS",
            Leaf::VulnCount { .. } => "VULN_OK",
            Leaf::HumanAttested { .. } => "HUMAN_ATTESTED",
            Leaf::RollbackDefined { .. } => "ROLLBACK_READY",
            Leaf::CanaryEnabled { .. } => "CANARY_READY",
            Leaf::EnvironmentMatches { .. } => "ENVIRONMENT_MATCH",
            Leaf::ArtifactAttested { .. } => "ARTIFACT_ATTESTED",
        }
    }

    /// The evidence type that can support this leaf.
    pub fn evidence_type(&self) -> &'static str {
        match self {
            Leaf::TestPassed { .. } => "test_result",
            Leaf::VulnCount { .. } => "scan_report",
            Leaf::HumanAttested { .. } => "human_attestation",
            Leaf::RollbackDefined { .. } => "rollback_spec",
            Leaf::CanaryEnabled { .. } => "rollout_spec",
            Leaf::EnvironmentMatches { .. } => "environment_descriptor",
            Leaf::ArtifactAttested { .. } => "attestation_ref",
        }
    }

    /// The Auth(E) code when the policy needs this leaf true and it is false.
    pub(crate) fn false_code(&self) -> (String, String) {
        match self {
            Leaf::TestPassed { suite } => (
                format!("EVIDENCE_TEST_NOT_PASSED:{suite}"),
                format!("no authenticated test_result shows suite `{suite}` with passed: true"),
            ),
            Leaf::VulnCount {
                severity,
                op,
                threshold,
            } => (
                format!("EVIDENCE_VULN_THRESHOLD_EXCEEDED:{severity}"),
                format!(
                    "no authenticated scan_report has a `{severity}` count {} {threshold}",
                    op.as_str()
                ),
            ),
            Leaf::HumanAttested { role } => (
                format!("EVIDENCE_HUMAN_ATTESTATION_MISSING:{role}"),
                format!(
                    "no authenticated human_attestation approves this deployment for role \
                     `{role}`, signed by an identity that holds that role"
                ),
            ),
            Leaf::RollbackDefined { service } => (
                format!("EVIDENCE_ROLLBACK_MISSING:{service}"),
                format!("no authenticated rollback_spec gives a rollback plan for `{service}`"),
            ),
            Leaf::CanaryEnabled { service } => (
                format!("EVIDENCE_CANARY_MISSING:{service}"),
                format!("no authenticated rollout_spec enables a canary for `{service}`"),
            ),
            Leaf::EnvironmentMatches { target } => (
                format!("EVIDENCE_ENVIRONMENT_TARGET_MISMATCH:{target}"),
                format!(
                    "target `{target}` is not the policy's and the request's environment, or no \
                     authenticated environment_descriptor names it"
                ),
            ),
            Leaf::ArtifactAttested { predicate_type } => (
                format!("EVIDENCE_ARTIFACT_ATTESTATION_MISSING:{predicate_type}"),
                format!(
                    "no authenticated attestation_ref cites a finalized `{predicate_type}` \
                     attestation whose subject is the request's artifact"
                ),
            ),
        }
    }

    /// The CheckR code when a step of this leaf's rule cites no supporting evidence.
    pub(crate) fn unsupported_code(&self, step_id: &str) -> String {
        let bare = match self {
            Leaf::TestPassed { .. } => "VRP_TEST_PASS_UNSUPPORTED",
            Leaf::VulnCount { .. } => "VRP_VULN_OK_UNSUPPORTED",
            Leaf::HumanAttested { .. } => "VRP_HUMAN_ATTESTATION_REF_MISSING",
            Leaf::RollbackDefined { .. } => "VRP_ROLLBACK_REF_MISSING",
            Leaf::CanaryEnabled { .. } => "VRP_CANARY_REF_MISSING",
            Leaf::EnvironmentMatches { .. } => "VRP_ENVIRONMENT_REF_MISSING",
            Leaf::ArtifactAttested { .. } => "VRP_ARTIFACT_ATTESTATION_REF_MISSING",
        };
        format!("{bare}:{step_id}")
    }
}

/// A node of the validated predicate tree. Leaves index [`PolicyModel::leaves`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Leaf(usize),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Failed WF(P): evaluates to false and explains nothing (WF(P) already failed).
    Invalid,
}

/// The policy after WF(P): unique leaves, their labels, and the tree.
#[derive(Clone, Debug, Default)]
pub struct PolicyModel {
    pub leaves: Vec<Leaf>,
    /// `label -> index into leaves`.
    pub labels: HashMap<String, usize>,
    /// The top-level predicates (an implicit `and`).
    pub roots: Vec<Node>,
}

/// A WF(P) failure: `(code, message)`.
pub(crate) type Finding = (String, String);

/// Validates the policy (section 4.1 steps 1-8, with `maat-v1` typing) and builds its model.
/// Findings are appended to `out` in the order of 4.1.
pub(crate) fn well_formed(policy: &Policy, out: &mut Vec<Finding>) -> PolicyModel {
    if policy.policy_id.is_empty() {
        out.push(("POLICY_ID_REQUIRED".into(), "policy_id is empty".into()));
    }
    if policy.version.is_negative() || policy.version.is_zero() {
        out.push((
            "POLICY_VERSION_INVALID".into(),
            "version must be a positive integer".into(),
        ));
    }
    if policy.environment.is_empty() {
        out.push((
            "POLICY_ENVIRONMENT_REQUIRED".into(),
            "the policy's environment is empty".into(),
        ));
    }
    if policy.rule_set_id != "pod-v1" {
        out.push((
            "POLICY_RULE_SET_UNSUPPORTED".into(),
            format!("rule_set_id `{}` is not `pod-v1`", policy.rule_set_id),
        ));
    }
    if policy.predicates.is_empty() {
        out.push((
            "POLICY_PREDICATES_REQUIRED".into(),
            "the policy has no predicates".into(),
        ));
    }
    let mut model = PolicyModel::default();
    let mut targets: Vec<Option<&str>> = Vec::new();
    let roots = policy
        .predicates
        .iter()
        .map(|p| node(p, &mut model, &mut targets, out))
        .collect();
    model.roots = roots;
    if !targets.is_empty() && !targets.contains(&Some(policy.environment.as_str())) {
        out.push((
            "POLICY_ENVIRONMENT_CONTRADICTION".into(),
            format!(
                "no environment_matches predicate targets the policy's environment `{}`",
                policy.environment
            ),
        ));
    }
    for (ty, v) in &policy.freshness_seconds {
        if ty.is_empty() {
            out.push((
                "POLICY_FRESHNESS_TYPE_INVALID".into(),
                "freshness_seconds has an empty evidence type".into(),
            ));
        }
        if freshness_value(v).is_none() {
            out.push((
                format!("POLICY_FRESHNESS_INVALID:{ty}"),
                format!("freshness_seconds[{ty}] must be a positive number"),
            ));
        }
    }
    model
}

/// A valid freshness limit: a positive number.
pub(crate) fn freshness_value(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Int(i) => i.to_f64(),
        Value::Float(f) => *f,
        _ => return None,
    };
    (x.is_finite() && x > 0.0).then_some(x)
}

fn non_empty_str<'a>(params: &'a json::Object, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Pre-order: WF codes of this node, then of its children.
fn node<'p>(
    p: &'p Predicate,
    model: &mut PolicyModel,
    targets: &mut Vec<Option<&'p str>>,
    out: &mut Vec<Finding>,
) -> Node {
    match (&p.params, p.name.as_str()) {
        (PredicateParams::Children(children), name @ ("and" | "or")) => {
            let children = children.as_deref().unwrap_or_default();
            let bad = children.is_empty();
            if bad {
                let code = if name == "and" {
                    "POLICY_AND_CHILDREN_REQUIRED"
                } else {
                    "POLICY_OR_CHILDREN_REQUIRED"
                };
                out.push((
                    code.into(),
                    format!("`{name}` needs a non-empty children list"),
                ));
            }
            let nodes: Vec<Node> = children
                .iter()
                .map(|c| node(c, model, targets, out))
                .collect();
            match (bad, name) {
                (true, _) => Node::Invalid,
                (false, "and") => Node::And(nodes),
                (false, _) => Node::Or(nodes),
            }
        }
        (PredicateParams::Child(child), _) => match child {
            Some(c) => Node::Not(Box::new(node(c, model, targets, out))),
            None => {
                out.push((
                    "POLICY_NOT_CHILD_REQUIRED".into(),
                    "`not` needs a child predicate".into(),
                ));
                Node::Invalid
            }
        },
        (PredicateParams::Leaf(params), name) => match leaf(name, params, targets, out) {
            Some(l) => {
                let label = l.label();
                let idx = match model.labels.get(&label) {
                    Some(&i) => i,
                    None => {
                        model.leaves.push(l);
                        let i = model.leaves.len() - 1;
                        model.labels.insert(label, i);
                        i
                    }
                };
                Node::Leaf(idx)
            }
            None => Node::Invalid,
        },
        (_, name) => {
            out.push((
                format!("POLICY_PREDICATE_UNKNOWN:{name}"),
                format!("`{name}` is not a known predicate"),
            ));
            Node::Invalid
        }
    }
}

fn leaf<'p>(
    name: &str,
    params: &'p json::Object,
    targets: &mut Vec<Option<&'p str>>,
    out: &mut Vec<Finding>,
) -> Option<Leaf> {
    let need = |key: &str, code: &str, out: &mut Vec<Finding>| {
        let v = non_empty_str(params, key);
        if v.is_none() {
            out.push((
                code.into(),
                format!("`{name}` needs a non-empty string `{key}`"),
            ));
        }
        v.map(str::to_owned)
    };
    match name {
        "test_passed" => {
            need("suite", "POLICY_TEST_SUITE_INVALID", out).map(|suite| Leaf::TestPassed { suite })
        }
        "vuln_count" => {
            let severity = need("severity", "POLICY_VULN_SEVERITY_INVALID", out);
            let op = match params.get("operator").and_then(Value::as_str) {
                Some("<=") => Some(VulnOp::AtMost),
                Some("==") => Some(VulnOp::Exactly),
                _ => {
                    out.push((
                        "POLICY_VULN_OPERATOR_INVALID".into(),
                        "`vuln_count` needs operator `<=` or `==`".into(),
                    ));
                    None
                }
            };
            // An integer literal only (no booleans, no floats), non-negative, within u64.
            let threshold = params
                .get("threshold")
                .and_then(Value::as_int)
                .filter(|i| !i.is_negative())
                .and_then(|i| i.text.parse::<u64>().ok());
            if threshold.is_none() {
                out.push((
                    "POLICY_VULN_THRESHOLD_INVALID".into(),
                    "`vuln_count` needs an integer threshold >= 0".into(),
                ));
            }
            match (severity, op, threshold) {
                (Some(severity), Some(op), Some(threshold)) => Some(Leaf::VulnCount {
                    severity,
                    op,
                    threshold,
                }),
                _ => None,
            }
        }
        "human_attested" => {
            need("role", "POLICY_HUMAN_ROLE_INVALID", out).map(|role| Leaf::HumanAttested { role })
        }
        "rollback_defined" => need("service", "POLICY_ROLLBACK_DEFINED_SERVICE_INVALID", out)
            .map(|service| Leaf::RollbackDefined { service }),
        "canary_enabled" => need("service", "POLICY_CANARY_ENABLED_SERVICE_INVALID", out)
            .map(|service| Leaf::CanaryEnabled { service }),
        "environment_matches" => {
            let t = need("target", "POLICY_ENVIRONMENT_TARGET_INVALID", out);
            targets.push(non_empty_str(params, "target"));
            t.map(|target| Leaf::EnvironmentMatches { target })
        }
        "artifact_attested" => need(
            "predicate_type",
            "POLICY_ARTIFACT_ATTESTED_PREDICATE_INVALID",
            out,
        )
        .map(|predicate_type| Leaf::ArtifactAttested { predicate_type }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Evidence support
// ---------------------------------------------------------------------------------------------

/// What a leaf's truth may depend on besides the evidence object itself.
pub(crate) struct SupportEnv<'a> {
    pub request: &'a Request,
    pub policy_environment: &'a str,
}

/// The `value` of an `attestation_ref` evidence object: which finalized attestation it cites
/// (by transparency-log index) and what it claims that attestation says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AttestationRef<'o> {
    /// `value.log_index`: an integer literal in `0..=u64::MAX`.
    pub log_index: u64,
    /// `value.subject`: `<alg>:<lowercase hex>`, a subject digest of the attestation.
    pub subject: &'o str,
    /// `value.predicate_type`: a non-empty string, the attestation's in-toto predicate type.
    pub predicate_type: &'o str,
}

/// Reads an `attestation_ref` value. Other keys are allowed, as in every evidence value
/// (`deployment_id`, for one, binds any object). `Err` says which field is unusable.
pub(crate) fn attestation_ref(value: &Object) -> Result<AttestationRef<'_>, &'static str> {
    // An integer literal only (no floats, no strings), as for `vuln_count` thresholds.
    let log_index = value
        .get("log_index")
        .and_then(Value::as_int)
        .filter(|i| !i.is_negative())
        .and_then(|i| i.text.parse::<u64>().ok())
        .ok_or("value.log_index must be an integer in 0..=2^64-1")?;
    let subject = value
        .get("subject")
        .and_then(Value::as_str)
        .filter(|s| is_subject_digest(s))
        .ok_or("value.subject must be a digest `<alg>:<lowercase hex>`")?;
    let predicate_type = value
        .get("predicate_type")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("value.predicate_type must be a non-empty string")?;
    Ok(AttestationRef {
        log_index,
        subject,
        predicate_type,
    })
}

/// `<alg>:<hex>` as the ledger records in-toto subjects: `alg` non-empty lowercase ASCII
/// letters, digits or `-`/`_`, the digest non-empty lowercase hex.
fn is_subject_digest(s: &str) -> bool {
    // Algorithm names as the ledger records them: lowercase or lowerCamel (`sha256`,
    // `gitCommit`), so `SHA256:` is a clear error, not a silent mismatch; hex lowercase.
    s.split_once(':').is_some_and(|(alg, hex)| {
        (1..=32).contains(&alg.len())
            && alg.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && alg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !hex.is_empty()
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// True if `subject` names the request's artifact: exactly `artifact_hash` when that has an
/// algorithm prefix (contains `:`), else `"sha256:" + artifact_hash` ASCII-lowercased (a bare
/// hex digest is taken as SHA-256, in either case).
pub(crate) fn subject_is_artifact(subject: &str, artifact_hash: &str) -> bool {
    if artifact_hash.contains(':') {
        return subject == artifact_hash;
    }
    subject.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == artifact_hash.len()
            && hex
                .bytes()
                .eq(artifact_hash.bytes().map(|b| b.to_ascii_lowercase()))
    })
}

fn str_field<'o>(obj: &'o EvidenceObject, key: &str) -> Option<&'o str> {
    obj.value.get(key).and_then(Value::as_str)
}

fn is_true(obj: &EvidenceObject, key: &str) -> bool {
    matches!(obj.value.get(key), Some(Value::Bool(true)))
}

/// A count in `vulnerabilities`: a non-negative integer literal within u64.
fn count_value(v: &Value) -> Option<u64> {
    v.as_int()
        .filter(|i| !i.is_negative())
        .and_then(|i| i.text.parse().ok())
}

/// The kinds of leaf whose support is decided by one string key of the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum KeyedKind {
    Test,
    Human,
    Rollback,
    Canary,
    Environment,
    Artifact,
}

fn leaf_key(leaf: &Leaf) -> Option<(KeyedKind, &str)> {
    match leaf {
        Leaf::TestPassed { suite } => Some((KeyedKind::Test, suite)),
        Leaf::HumanAttested { role } => Some((KeyedKind::Human, role)),
        Leaf::RollbackDefined { service } => Some((KeyedKind::Rollback, service)),
        Leaf::CanaryEnabled { service } => Some((KeyedKind::Canary, service)),
        Leaf::EnvironmentMatches { target } => Some((KeyedKind::Environment, target)),
        Leaf::ArtifactAttested { predicate_type } => Some((KeyedKind::Artifact, predicate_type)),
        Leaf::VulnCount { .. } => None,
    }
}

/// Conditions of a leaf that do not depend on evidence.
fn leaf_static_ok(leaf: &Leaf, env: &SupportEnv<'_>) -> bool {
    match leaf {
        Leaf::EnvironmentMatches { target } => {
            *target == env.request.environment && target == env.policy_environment
        }
        _ => true,
    }
}

/// What one evidence object can support, extracted once (one pass over its `value`), so
/// that every later question about it costs O(1) however often a proof cites it.
///
/// An object supports a leaf as follows:
/// - `test_passed{suite}`: a `test_result` with `suite == suite` and `passed` exactly `true`;
/// - `vuln_count{severity, op, threshold}`: a `scan_report` whose `vulnerabilities` is an
///   object with a count for `severity` (missing = 0, otherwise a non-negative integer
///   literal; anything else supports nothing) such that `count <op> threshold`;
/// - `human_attested{role}`: a `human_attestation` with `role == role`, `deployment_id ==`
///   the request's, `approved` exactly `true`, signed by an identity holding `role`;
/// - `rollback_defined{service}`: a `rollback_spec` with `service == service` and a truthy
///   `rollback_plan`;
/// - `canary_enabled{service}`: a `rollout_spec` with `service == service` and
///   `canary_enabled` exactly `true`;
/// - `environment_matches{target}`: `target` equals the policy's and the request's
///   environment, and the object is an `environment_descriptor` with `environment == target`;
/// - `artifact_attested{predicate_type}`: an `attestation_ref` whose value is well formed (see
///   [`attestation_ref`]) with `predicate_type == predicate_type` and a `subject` naming the
///   request's artifact (see [`subject_is_artifact`]). That the cited attestation is on chain
///   and says so is Auth(E)'s check against the registry: an object failing it is not usable.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectFacts<'o> {
    /// For the string-keyed kinds: the key under which the object supports a leaf.
    keyed: Option<(KeyedKind, &'o str)>,
    /// For a scan report with a `vulnerabilities` object: severity -> count (`None` when the
    /// count is malformed).
    scan: Option<HashMap<&'o str, Option<u64>>>,
    /// `value.deployment_id` is exactly the request's deployment id.
    pub(crate) bound_to_request: bool,
}

impl<'o> ObjectFacts<'o> {
    /// Extracts the facts of `obj`; `signer_has_role` tells whether its signer holds a role.
    pub(crate) fn of(
        obj: &'o EvidenceObject,
        env: &SupportEnv<'_>,
        signer_has_role: &dyn Fn(&str) -> bool,
    ) -> Self {
        let bound_to_request =
            str_field(obj, "deployment_id") == Some(env.request.deployment_id.as_str());
        let keyed = match obj.evidence_type.as_str() {
            "test_result" if is_true(obj, "passed") => {
                str_field(obj, "suite").map(|s| (KeyedKind::Test, s))
            }
            "human_attestation" if is_true(obj, "approved") && bound_to_request => {
                str_field(obj, "role")
                    .filter(|r| signer_has_role(r))
                    .map(|r| (KeyedKind::Human, r))
            }
            "rollback_spec" if obj.value.get("rollback_plan").is_some_and(json::is_truthy) => {
                str_field(obj, "service").map(|s| (KeyedKind::Rollback, s))
            }
            "rollout_spec" if is_true(obj, "canary_enabled") => {
                str_field(obj, "service").map(|s| (KeyedKind::Canary, s))
            }
            "environment_descriptor" => {
                str_field(obj, "environment").map(|e| (KeyedKind::Environment, e))
            }
            "attestation_ref" => attestation_ref(&obj.value)
                .ok()
                .filter(|r| subject_is_artifact(r.subject, &env.request.artifact_hash))
                .map(|r| (KeyedKind::Artifact, r.predicate_type)),
            _ => None,
        };
        let scan = match obj.evidence_type.as_str() {
            "scan_report" => obj
                .value
                .get("vulnerabilities")
                .and_then(Value::as_object)
                .map(|v| v.iter().map(|(sev, c)| (sev, count_value(c))).collect()),
            _ => None,
        };
        ObjectFacts {
            keyed,
            scan,
            bound_to_request,
        }
    }

    /// The count of `severity` in this scan report, if usable (a missing severity is 0).
    fn scan_count(&self, severity: &str) -> Option<u64> {
        let m = self.scan.as_ref()?;
        match m.get(severity) {
            None => Some(0),
            Some(c) => *c,
        }
    }

    /// True if this object supports `leaf` (see the type docs).
    pub(crate) fn supports(&self, leaf: &Leaf, env: &SupportEnv<'_>) -> bool {
        if !leaf_static_ok(leaf, env) {
            return false;
        }
        match leaf {
            Leaf::VulnCount {
                severity,
                op,
                threshold,
            } => self
                .scan_count(severity)
                .is_some_and(|c| op.holds(c, *threshold)),
            other => leaf_key(other).is_some_and(|k| self.keyed == Some(k)),
        }
    }
}

#[derive(Default)]
struct SeverityStats {
    /// Usable reports that list the severity at all.
    present: usize,
    min: Option<u64>,
    counts: HashSet<u64>,
}

/// Truth values of leaves, from one pass over the facts of the usable objects (linear in
/// their size), answering "does some usable object support this leaf" in O(1).
pub(crate) struct LeafIndex<'o> {
    keyed: HashSet<(KeyedKind, &'o str)>,
    /// Scan reports whose `vulnerabilities` is an object.
    usable_reports: usize,
    severities: HashMap<&'o str, SeverityStats>,
}

impl<'o> LeafIndex<'o> {
    /// Indexes the facts of the objects `i` for which `usable(i)` holds.
    pub(crate) fn build(facts: &[ObjectFacts<'o>], usable: &dyn Fn(usize) -> bool) -> Self {
        let mut idx = LeafIndex {
            keyed: HashSet::new(),
            usable_reports: 0,
            severities: HashMap::new(),
        };
        for (i, f) in facts.iter().enumerate() {
            if !usable(i) {
                continue;
            }
            if let Some(k) = f.keyed {
                idx.keyed.insert(k);
            }
            if let Some(scan) = &f.scan {
                idx.usable_reports += 1;
                for (sev, c) in scan {
                    let st = idx.severities.entry(sev).or_default();
                    st.present += 1;
                    if let Some(c) = *c {
                        st.min = Some(st.min.map_or(c, |m| m.min(c)));
                        st.counts.insert(c);
                    }
                }
            }
        }
        idx
    }

    /// True if some indexed object supports `leaf` (same meaning as
    /// [`ObjectFacts::supports`]).
    pub(crate) fn truth(&self, leaf: &Leaf, env: &SupportEnv<'_>) -> bool {
        if !leaf_static_ok(leaf, env) {
            return false;
        }
        match leaf {
            Leaf::VulnCount {
                severity,
                op,
                threshold,
            } => {
                let st = self.severities.get(severity.as_str());
                let present = st.map_or(0, |s| s.present);
                // Reports that do not list the severity count it as 0.
                let has_zero = self.usable_reports > present;
                match op {
                    VulnOp::AtMost => {
                        has_zero || st.and_then(|s| s.min).is_some_and(|m| m <= *threshold)
                    }
                    VulnOp::Exactly => {
                        (has_zero && *threshold == 0)
                            || st.is_some_and(|s| s.counts.contains(threshold))
                    }
                }
            }
            other => leaf_key(other).is_some_and(|k| self.keyed.contains(&k)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation and explanations
// ---------------------------------------------------------------------------------------------

/// The value of a node given leaf truths.
pub(crate) fn eval(n: &Node, truth: &[bool]) -> bool {
    match n {
        Node::Leaf(i) => truth.get(*i).copied().unwrap_or(false),
        Node::And(c) => c.iter().all(|x| eval(x, truth)),
        Node::Or(c) => c.iter().any(|x| eval(x, truth)),
        Node::Not(c) => !eval(c, truth),
        Node::Invalid => false,
    }
}

/// Why `n` is not `want`: `(leaf, wanted value)` pairs, the leaves that would have to change.
/// A node that already has the wanted value explains nothing, so a false leaf under a
/// satisfied `or` is never reported. Alternatives (an `or` wanted true, an `and` wanted false)
/// list every child that could fix it.
pub(crate) fn explain_false(n: &Node, want: bool, truth: &[bool], out: &mut Vec<(usize, bool)>) {
    if eval(n, truth) == want {
        return;
    }
    match n {
        Node::Leaf(i) => out.push((*i, want)),
        Node::And(c) | Node::Or(c) => {
            for x in c {
                explain_false(x, want, truth, out);
            }
        }
        Node::Not(c) => explain_false(c, !want, truth, out),
        Node::Invalid => {}
    }
}

/// True if `n` has value `want` *and* the derivation proves it: a leaf needed true must be
/// covered; a leaf needed false is checked from the evidence directly (no rule concludes a
/// negative fact).
pub(crate) fn proven(n: &Node, want: bool, truth: &[bool], covered: &[bool]) -> bool {
    match n {
        Node::Leaf(i) => {
            let t = truth.get(*i).copied().unwrap_or(false);
            if want {
                t && covered.get(*i).copied().unwrap_or(false)
            } else {
                !t
            }
        }
        Node::And(c) if want => c.iter().all(|x| proven(x, true, truth, covered)),
        Node::And(c) => c.iter().any(|x| proven(x, false, truth, covered)),
        Node::Or(c) if want => c.iter().any(|x| proven(x, true, truth, covered)),
        Node::Or(c) => c.iter().all(|x| proven(x, false, truth, covered)),
        Node::Not(c) => proven(c, !want, truth, covered),
        Node::Invalid => false,
    }
}

/// For a node whose value is `want` but that is not [`proven`]: the true leaves that lack a
/// covering step. Where any one of several alternatives would do, every true alternative is
/// listed.
pub(crate) fn explain_uncovered(
    n: &Node,
    want: bool,
    truth: &[bool],
    covered: &[bool],
    out: &mut Vec<usize>,
) {
    if eval(n, truth) != want || proven(n, want, truth, covered) {
        return;
    }
    match n {
        Node::Leaf(i) => out.push(*i),
        Node::And(c) | Node::Or(c) => {
            for x in c {
                explain_uncovered(x, want, truth, covered, out);
            }
        }
        Node::Not(c) => explain_uncovered(c, !want, truth, covered, out),
        Node::Invalid => {}
    }
}

/// The leaves a standard derivation covers: a minimal witness that `n` has value `want`
/// (all children of an `and` wanted true, the first true child of an `or`, ...). When `n`
/// does not have that value, the leaves that would need to be true are returned anyway so the
/// builder still emits steps and the checker reports what is missing.
pub(crate) fn witness(n: &Node, want: bool, truth: &[bool], out: &mut Vec<usize>) {
    match n {
        Node::Leaf(i) => {
            if want {
                out.push(*i);
            }
        }
        Node::And(c) if want => c.iter().for_each(|x| witness(x, true, truth, out)),
        Node::Or(c) if !want => c.iter().for_each(|x| witness(x, false, truth, out)),
        // One child suffices: the first that has the wanted value, else the first.
        Node::And(c) | Node::Or(c) => {
            let pick = c
                .iter()
                .find(|x| eval(x, truth) == want)
                .or_else(|| c.first());
            if let Some(x) = pick {
                witness(x, want, truth, out);
            }
        }
        Node::Not(c) => witness(c, !want, truth, out),
        Node::Invalid => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{JsonInt, Object};

    fn scan(id: usize, vulns: Option<Vec<(&str, Value)>>) -> EvidenceObject {
        let mut value = Object::new();
        if let Some(v) = vulns {
            value.insert(
                "vulnerabilities",
                Value::Object(v.into_iter().map(|(k, x)| (k.to_owned(), x)).collect()),
            );
        }
        EvidenceObject {
            evidence_id: format!("s{id}"),
            evidence_type: "scan_report".into(),
            value,
            source: String::new(),
            timestamp: 0.0,
            dependencies: Vec::new(),
            signer: String::new(),
            hash: String::new(),
            signature: String::new(),
        }
    }

    /// The index answers exactly "some usable object supports the leaf", over every
    /// combination of up to three reports drawn from well-formed, missing and malformed counts.
    #[test]
    fn leaf_index_agrees_with_per_object_support() {
        let counts: Vec<Option<Value>> = vec![
            None,
            Some(Value::Int(JsonInt::from_i64(0))),
            Some(Value::Int(JsonInt::from_i64(1))),
            Some(Value::Int(JsonInt::from_i64(3))),
            Some(Value::Int(JsonInt::from_i64(-1))),
            Some(Value::Float(1.0)),
            Some(Value::String("1".into())),
        ];
        let mut reports = vec![scan(0, None)];
        for (n, c) in counts.iter().enumerate() {
            let mut v = vec![("high", Value::Int(JsonInt::from_i64(2)))];
            if let Some(c) = c {
                v.push(("critical", c.clone()));
            }
            reports.push(scan(n + 1, Some(v)));
        }
        let request = Request::default();
        let env = SupportEnv {
            request: &request,
            policy_environment: "",
        };
        let mut leaves = Vec::new();
        for op in [VulnOp::AtMost, VulnOp::Exactly] {
            for threshold in 0..4 {
                for severity in ["critical", "high", "low"] {
                    leaves.push(Leaf::VulnCount {
                        severity: severity.into(),
                        op,
                        threshold,
                    });
                }
            }
        }
        let n = reports.len();
        let mut checked = 0;
        for a in 0..n {
            for b in a..n {
                for c in b..n {
                    let set: Vec<EvidenceObject> = [a, b, c]
                        .iter()
                        .filter_map(|&i| reports.get(i).cloned())
                        .collect();
                    let facts: Vec<ObjectFacts<'_>> = set
                        .iter()
                        .map(|o| ObjectFacts::of(o, &env, &|_| true))
                        .collect();
                    for mask in 0u8..8 {
                        let usable = |i: usize| mask & (1 << i) != 0;
                        let idx = LeafIndex::build(&facts, &usable);
                        for leaf in &leaves {
                            let brute = facts
                                .iter()
                                .enumerate()
                                .any(|(i, f)| usable(i) && f.supports(leaf, &env));
                            assert_eq!(
                                idx.truth(leaf, &env),
                                brute,
                                "{leaf:?} over {a},{b},{c} mask {mask}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000);
    }

    /// A bare artifact hash is `sha256:` + its ASCII-lowercase form; a prefixed one is exact.
    #[test]
    fn subject_names_the_artifact() {
        assert!(subject_is_artifact("sha256:ab12", "ab12"));
        assert!(subject_is_artifact("sha256:ab12", "AB12"));
        assert!(subject_is_artifact("sha256:ab12", "sha256:ab12"));
        assert!(!subject_is_artifact("sha256:ab12", "sha256:AB12"));
        assert!(!subject_is_artifact("sha512:ab12", "ab12"));
        assert!(!subject_is_artifact("sha256:ab12", "ab1"));
        assert!(!subject_is_artifact("sha256:ab1", "ab12"));
        assert!(subject_is_artifact("sha512:ab12", "sha512:ab12"));
    }

    #[test]
    fn attestation_ref_values() {
        let v = |text: &str| match json::parse(text.as_bytes(), json::ParseMode::Strict) {
            Ok(Value::Object(o)) => o,
            other => panic!("not an object: {other:?}"),
        };
        let ok = v(
            r#"{"log_index":18446744073709551615,"subject":"sha3-256:0f","predicate_type":"p","x":1}"#,
        );
        assert_eq!(
            attestation_ref(&ok),
            Ok(AttestationRef {
                log_index: u64::MAX,
                subject: "sha3-256:0f",
                predicate_type: "p",
            })
        );
        // In-toto's lowerCamel algorithm names, as the ledger indexes them.
        let git = v(r#"{"log_index":1,"subject":"gitCommit:0f","predicate_type":"p"}"#);
        assert!(attestation_ref(&git).is_ok());
        for bad in [
            r#"{"log_index":-1,"subject":"sha256:0f","predicate_type":"p"}"#,
            r#"{"log_index":1e2,"subject":"sha256:0f","predicate_type":"p"}"#,
            r#"{"log_index":1,"subject":"sha256:0g","predicate_type":"p"}"#,
            r#"{"log_index":1,"subject":"Sha256:0f","predicate_type":"p"}"#,
            r#"{"log_index":1,"subject":"sha256:0f:0f","predicate_type":"p"}"#,
            r#"{"log_index":1,"subject":"sha256:0f","predicate_type":""}"#,
            r#"{}"#,
        ] {
            assert!(attestation_ref(&v(bad)).is_err(), "{bad}");
        }
    }

    /// A false leaf under a satisfied `or` explains nothing; `not` flips what is wanted.
    #[test]
    fn explanations_follow_the_logic() {
        let or = Node::Or(vec![Node::Leaf(0), Node::Leaf(1)]);
        let mut out = Vec::new();
        explain_false(&or, true, &[true, false], &mut out);
        assert!(out.is_empty());
        explain_false(&or, true, &[false, false], &mut out);
        assert_eq!(out, [(0, true), (1, true)]);
        let not = Node::Not(Box::new(Node::And(vec![Node::Leaf(0), Node::Leaf(1)])));
        out.clear();
        explain_false(&not, true, &[true, true], &mut out);
        assert_eq!(out, [(0, false), (1, false)]);
        // Coverage: one covered true alternative proves the `or`.
        assert!(proven(&or, true, &[true, true], &[false, true]));
        let mut unc = Vec::new();
        explain_uncovered(&or, true, &[true, true], &[false, false], &mut unc);
        assert_eq!(unc, [0, 1]);
        // A negated leaf needs no step.
        assert!(proven(
            &Node::Not(Box::new(Node::Leaf(0))),
            true,
            &[false],
            &[false]
        ));
    }
}
