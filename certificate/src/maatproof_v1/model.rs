//! The object model as the reference's `from_dict` builds it (CERTIFICATE.md section 2), held
//! as borrows into the parsed JSON, and its canonical encoding (section 3).
//!
//! Building never panics: every input on which Python's `from_dict` (or the always-executed
//! sorting and hashing that follow it) would raise is reported as a `*_MALFORMED` failure in the
//! component where the input sits.

use std::borrow::Cow;
use std::ops::Range;

use sha2::{Digest, Sha256};

use super::doc::{Arr, K, List, Node, Obj, V};
use super::py::{
    self, Order, PyResult, empty_dict, empty_list, empty_str, is_hashable, none, pod_v1, py_dict,
    py_float, py_int, py_iter_dicts, py_list, sorted_order,
};
use crate::json::{CanonSink, CanonWriter};
use crate::report::{Component, Failure};

/// Request field names in `to_dict` order.
pub(crate) const REQUEST_FIELDS: [&str; 6] = [
    "deployment_id",
    "service",
    "environment",
    "commit_sha",
    "artifact_hash",
    "requested_by",
];

/// `DeploymentRequest`: six values of any JSON type (the reference does not validate them).
pub(crate) struct Request<'a> {
    pub deployment_id: V<'a>,
    pub service: V<'a>,
    pub environment: V<'a>,
    pub commit_sha: V<'a>,
    pub artifact_hash: V<'a>,
    pub requested_by: V<'a>,
}

/// A rebuilt predicate parameter.
pub(crate) enum Param<'a> {
    /// `and`/`or` `children`, always a list after `from_dict`.
    Children(Vec<Pred<'a>>),
    /// `not` `child` when it was an object.
    Child(Box<Pred<'a>>),
}

/// `PolicyPredicate{name, params}` as rebuilt by `from_dict`: the `params` object as given,
/// plus the one member `from_dict` rebuilds (no per-predicate copy of the params).
pub(crate) struct Pred<'a> {
    pub name: V<'a>,
    /// `params` as read.
    raw: Obj<'a>,
    /// `children` (and/or) or `child` (not) after `from_dict`: `params[key] = rebuilt`, so it
    /// takes the place of the first raw member of that name, or is added after them.
    rebuilt: Option<(&'static str, Param<'a>)>,
}

impl<'a> Pred<'a> {
    #[inline]
    pub fn name_is(&self, s: &str) -> bool {
        py::eq_str(self.name, s)
    }

    /// The rebuilt `children` / `child` parameter, if `key` names it.
    pub fn rebuilt(&self, key: &str) -> Option<&Param<'a>> {
        match &self.rebuilt {
            Some((k, p)) if *k == key => Some(p),
            _ => None,
        }
    }

    /// `params.get(key)` for a raw (JSON) parameter; rebuilt ones are not JSON values.
    #[inline]
    pub fn raw(&self, key: &str) -> Option<V<'a>> {
        match &self.rebuilt {
            Some((k, _)) if *k == key => None,
            _ => self.raw.get(key),
        }
    }

    /// The params in `dict` order: each raw member, the rebuilt one in its place.
    fn members<'s>(&'s self, mut f: impl FnMut(&'a str, ParamRef<'s, 'a>)) {
        let mut pending = self.rebuilt.as_ref();
        for (k, v) in self.raw.iter() {
            match pending {
                Some((rk, p)) if *rk == k => {
                    f(k, ParamRef::Rebuilt(p));
                    pending = None;
                }
                _ => f(k, ParamRef::Raw(v)),
            }
        }
        if let Some((rk, p)) = pending {
            f(rk, ParamRef::Rebuilt(p));
        }
    }

    /// Pre-order walk (`_walk_predicates`): the node, then its children or child.
    pub fn walk<'s>(&'s self, out: &mut Vec<&'s Pred<'a>>) {
        out.push(self);
        if self.name_is("and") || self.name_is("or") {
            if let Some(Param::Children(kids)) = self.rebuilt("children") {
                kids.iter().for_each(|k| k.walk(out));
            }
        } else if self.name_is("not")
            && let Some(Param::Child(kid)) = self.rebuilt("child")
        {
            kid.walk(out);
        }
    }
}

/// A parameter while writing: a raw JSON value or the rebuilt member.
#[derive(Clone, Copy)]
enum ParamRef<'s, 'a> {
    Raw(V<'a>),
    Rebuilt(&'s Param<'a>),
}

/// `DeploymentPolicy`.
pub(crate) struct Policy<'a> {
    pub policy_id: V<'a>,
    /// `int(version)`, canonical decimal.
    pub version: Cow<'a, str>,
    pub environment: V<'a>,
    pub rule_set_id: V<'a>,
    pub freshness: Obj<'a>,
    pub predicates: Vec<Pred<'a>>,
}

/// `EvidenceObject`.
pub(crate) struct Evidence<'a> {
    pub evidence_id: V<'a>,
    pub evidence_type: V<'a>,
    pub value: Obj<'a>,
    pub source: V<'a>,
    /// `float(timestamp)`.
    pub timestamp: f64,
    /// Stored order (the checks walk it); `deps_order` is the sorted permutation for hashing.
    pub deps: List<'a>,
    pub deps_order: Order,
    pub hash: V<'a>,
    pub signature: V<'a>,
    /// `known_type(evidence_type)`, computed once.
    pub type_code: Option<u8>,
}

/// Every evidence type a policy can require, in ascending order; an object's
/// [`Evidence::type_code`] indexes this list.
pub(crate) const KNOWN_TYPES: [&str; 8] = [
    "build_artifact",
    "commit_snapshot",
    "environment_descriptor",
    "human_attestation",
    "rollback_spec",
    "rollout_spec",
    "scan_report",
    "test_result",
];
pub(crate) const BUILD_ARTIFACT: u8 = 0;
pub(crate) const COMMIT_SNAPSHOT: u8 = 1;
pub(crate) const ENVIRONMENT_DESCRIPTOR: u8 = 2;
pub(crate) const HUMAN_ATTESTATION: u8 = 3;
pub(crate) const ROLLBACK_SPEC: u8 = 4;
pub(crate) const ROLLOUT_SPEC: u8 = 5;
pub(crate) const SCAN_REPORT: u8 = 6;
pub(crate) const TEST_RESULT: u8 = 7;

/// The index of a known evidence type name (a `match`: length dispatch, no loop of
/// `memcmp` calls).
pub(crate) fn known_type(t: &str) -> Option<u8> {
    Some(match t {
        "build_artifact" => BUILD_ARTIFACT,
        "commit_snapshot" => COMMIT_SNAPSHOT,
        "environment_descriptor" => ENVIRONMENT_DESCRIPTOR,
        "human_attestation" => HUMAN_ATTESTATION,
        "rollback_spec" => ROLLBACK_SPEC,
        "rollout_spec" => ROLLOUT_SPEC,
        "scan_report" => SCAN_REPORT,
        "test_result" => TEST_RESULT,
        _ => return None,
    })
}

impl<'a> Evidence<'a> {
    /// `evidence_type == KNOWN_TYPES[code]`, without comparing strings.
    pub fn type_is_code(&self, code: u8) -> bool {
        self.type_code == Some(code)
    }
    /// `value.get(key)`.
    #[inline]
    pub fn get(&self, key: &str) -> V<'a> {
        py::get(self.value, key)
    }
}

/// `ProofStep`.
pub(crate) struct Step<'a> {
    pub step_id: V<'a>,
    pub rule: V<'a>,
    pub conclusion: V<'a>,
    pub refs: List<'a>,
    pub refs_order: Order,
    pub premises: List<'a>,
}

/// `ProofDerivation`.
pub(crate) struct Proof<'a> {
    pub steps: Vec<Step<'a>>,
    pub final_conclusion: V<'a>,
}

/// `ValidatorAttestation`.
pub(crate) struct Attestation<'a> {
    pub validator_id: V<'a>,
    pub decision: V<'a>,
    pub certificate_digest: V<'a>,
    pub timestamp: f64,
    pub stake: f64,
    pub reason: V<'a>,
    pub signature: V<'a>,
}

/// `DeploymentCertificate`.
pub(crate) struct Cert<'a> {
    pub request: Request<'a>,
    pub policy: Policy<'a>,
    /// Input order.
    pub evidence: Vec<Evidence<'a>>,
    /// `sorted_objects()`: `evidence` indices sorted by id (stable).
    pub sorted: Vec<usize>,
    pub proof: Proof<'a>,
    pub attestations: Vec<Attestation<'a>>,
}

/// Collects `*_MALFORMED` failures while building.
#[derive(Default)]
pub(crate) struct Malformed(pub Vec<Failure>);

impl Malformed {
    fn push(&mut self, c: Component, code: impl Into<String>) {
        self.0.push(Failure::new(c, code));
    }
}

/// `evidence_id`-style label for codes: the string itself, else `#<index>`.
fn label(v: Option<V<'_>>, index: usize) -> String {
    match v.and_then(V::as_str) {
        Some(s) => s.to_owned(),
        None => format!("#{index}"),
    }
}

impl<'a> Cert<'a> {
    /// `DeploymentCertificate.from_dict` plus the checks Python performs unconditionally
    /// before any verdict (sorting for the digest, hashability of ids used as set/dict keys).
    pub fn from_value(v: V<'a>) -> Result<Cert<'a>, Vec<Failure>> {
        let mut m = Malformed::default();
        let Some(top) = v.as_obj() else {
            m.push(Component::Parse, "CERTIFICATE_MALFORMED");
            return Err(m.0);
        };
        let request = build_request(top.get("request"), &mut m);
        let policy = build_policy(top.get("policy"), &mut m);
        let evidence = build_evidence(top.get("evidence"), &mut m);
        let proof = build_proof(top.get("proof"), &mut m);
        let attestations = build_attestations(top.get("attestations"), &mut m);
        match (request, policy, evidence, proof, attestations) {
            (Some(request), Some(policy), Some((evidence, sorted)), Some(proof), Some(atts))
                if m.0.is_empty() =>
            {
                Ok(Cert {
                    request,
                    policy,
                    evidence,
                    sorted,
                    proof,
                    attestations: atts,
                })
            }
            _ => Err(m.0),
        }
    }
}

fn build_request<'a>(v: Option<V<'a>>, m: &mut Malformed) -> Option<Request<'a>> {
    const C: Component = Component::Certificate;
    let Some(o) = v.and_then(V::as_obj) else {
        m.push(C, "REQUEST_MALFORMED");
        return None;
    };
    // `cls(**data)`: an unexpected keyword or a missing argument is a TypeError.
    let mut ok = true;
    for (k, _) in o.iter() {
        if !REQUEST_FIELDS.contains(&k) {
            m.push(C, format!("REQUEST_MALFORMED:{k}"));
            ok = false;
        }
    }
    let mut field = |name: &str| match o.get(name) {
        Some(x) => x,
        None => {
            m.push(C, format!("REQUEST_MALFORMED:{name}"));
            ok = false;
            none()
        }
    };
    let r = Request {
        deployment_id: field("deployment_id"),
        service: field("service"),
        environment: field("environment"),
        commit_sha: field("commit_sha"),
        artifact_hash: field("artifact_hash"),
        requested_by: field("requested_by"),
    };
    ok.then_some(r)
}

fn build_policy<'a>(v: Option<V<'a>>, m: &mut Malformed) -> Option<Policy<'a>> {
    const C: Component = Component::WfPolicy;
    let Some(o) = v.and_then(V::as_obj) else {
        m.push(C, "POLICY_MALFORMED");
        return None;
    };
    let before = m.0.len();
    let required = |name: &str, m: &mut Malformed| match o.get(name) {
        Some(x) => x,
        None => {
            m.push(C, format!("POLICY_MALFORMED:{name}"));
            none()
        }
    };
    let policy_id = required("policy_id", m);
    let version = match o.get("version") {
        Some(raw) => py_int(raw).unwrap_or_else(|_| {
            m.push(C, "POLICY_MALFORMED:version");
            Cow::Borrowed("0")
        }),
        None => {
            m.push(C, "POLICY_MALFORMED:version");
            Cow::Borrowed("0")
        }
    };
    let environment = required("environment", m);
    let rule_set_id = o.get("rule_set_id").unwrap_or(pod_v1());
    let freshness =
        py_dict(o.get("freshness_seconds").unwrap_or(empty_dict())).unwrap_or_else(|_| {
            m.push(C, "POLICY_MALFORMED:freshness_seconds");
            Obj::J(&py::EMPTY_OBJECT)
        });
    let mut predicates = Vec::new();
    match py_iter_dicts(o.get("predicates").unwrap_or(empty_list())) {
        Ok(items) => {
            predicates.reserve(items.len());
            for (i, p) in items.iter().enumerate() {
                let path = PredPath {
                    index: i,
                    parent: None,
                };
                if let Some(pred) = build_pred(p, &path, m) {
                    predicates.push(pred);
                }
            }
        }
        Err(_) => m.push(C, "POLICY_MALFORMED:predicates"),
    }
    (m.0.len() == before).then_some(Policy {
        policy_id,
        version,
        environment,
        rule_set_id,
        freshness,
        predicates,
    })
}

/// Where a predicate sits (`predicates[i]`, then `children[j]` ...), as a chain of parents on
/// the stack: only a failure code needs it spelled out.
#[derive(Clone, Copy)]
pub(crate) struct PredPath<'p> {
    index: usize,
    parent: Option<&'p PredPath<'p>>,
}

impl PredPath<'_> {
    fn indices(&self) -> Vec<usize> {
        let mut v = vec![self.index];
        let mut at = self.parent;
        while let Some(p) = at {
            v.push(p.index);
            at = p.parent;
        }
        v.reverse();
        v
    }
}

/// `PolicyPredicate.from_dict`, recursively. `path` locates the predicate for codes when it
/// has no string name.
fn build_pred<'a>(v: V<'a>, path: &PredPath<'_>, m: &mut Malformed) -> Option<Pred<'a>> {
    let Some(d) = v.as_obj() else {
        // `data.get` on a non-dict: AttributeError.
        m.push(Component::WfPolicy, pred_code(None, &path.indices()));
        return None;
    };
    let name = d.get("name");
    let fail = |m: &mut Malformed| {
        m.push(Component::WfPolicy, pred_code(name, &path.indices()));
    };
    let Ok(params) = py_dict(d.get("params").unwrap_or(empty_dict())) else {
        fail(m);
        return None;
    };
    // `data.get("name") in {"and", "or"}` needs a hashable name.
    if !is_hashable(name.unwrap_or(none())) {
        fail(m);
        return None;
    }
    let mut rebuilt = None;
    let is = |s: &str| name.is_some_and(|n| py::eq_str(n, s));
    if is("and") || is("or") {
        let Ok(items) = py_iter_dicts(params.get("children").unwrap_or(empty_list())) else {
            fail(m);
            return None;
        };
        let mut kids = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, c) in items.iter().enumerate() {
            let here = PredPath {
                index: i,
                parent: Some(path),
            };
            match build_pred(c, &here, m) {
                Some(k) => kids.push(k),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        rebuilt = Some(("children", Param::Children(kids)));
    } else if is("not")
        && let Some(child) = params.get("child").filter(|c| c.as_obj().is_some())
    {
        let here = PredPath {
            index: 0,
            parent: Some(path),
        };
        let kid = build_pred(child, &here, m);
        rebuilt = Some(("child", Param::Child(Box::new(kid?))));
    }
    let Some(name) = name else {
        // `data["name"]`: KeyError.
        fail(m);
        return None;
    };
    Some(Pred {
        name,
        raw: params,
        rebuilt,
    })
}

/// `POLICY_PREDICATE_MALFORMED:<name>`, or `:#<path>` when the name is not a string.
pub(crate) fn pred_code(name: Option<V<'_>>, path: &[usize]) -> String {
    match name.and_then(V::as_str) {
        Some(s) => format!("POLICY_PREDICATE_MALFORMED:{s}"),
        None => {
            let p: Vec<String> = path.iter().map(usize::to_string).collect();
            format!("POLICY_PREDICATE_MALFORMED:#{}", p.join("."))
        }
    }
}

type EvidenceParts<'a> = (Vec<Evidence<'a>>, Vec<usize>);

fn build_evidence<'a>(v: Option<V<'a>>, m: &mut Malformed) -> Option<EvidenceParts<'a>> {
    const C: Component = Component::AuthEvidence;
    let Some(e) = v.and_then(V::as_obj) else {
        m.push(C, "EVIDENCE_MALFORMED");
        return None;
    };
    let Ok(items) = py_iter_dicts(e.get("objects").unwrap_or(empty_list())) else {
        m.push(C, "EVIDENCE_MALFORMED:objects");
        return None;
    };
    let before = m.0.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(d) = item.as_obj() else {
            m.push(C, format!("EVIDENCE_OBJECT_MALFORMED:#{i}"));
            continue;
        };
        let [
            evidence_id,
            evidence_type,
            value,
            source,
            timestamp,
            deps,
            hash,
            signature,
        ] = fields(d, |k| {
            Some(match k {
                "evidence_id" => 0,
                "evidence_type" => 1,
                "value" => 2,
                "source" => 3,
                "timestamp" => 4,
                "dependencies" => 5,
                "hash" => 6,
                "signature" => 7,
                _ => return None,
            })
        });
        let bad = |field: &str, m: &mut Malformed| {
            m.push(
                C,
                format!(
                    "EVIDENCE_OBJECT_MALFORMED:{}:{field}",
                    label(evidence_id, i)
                ),
            );
        };
        let req = |v: Option<V<'a>>, name: &str, m: &mut Malformed| {
            if v.is_none() {
                bad(name, m);
            }
            v
        };
        let evidence_id = req(evidence_id, "evidence_id", m);
        let evidence_type = req(evidence_type, "evidence_type", m);
        let source = req(source, "source", m);
        let timestamp = req(timestamp, "timestamp", m).map(py_float);
        let value = py_dict(value.unwrap_or(empty_dict()));
        if value.is_err() {
            bad("value", m);
        }
        if let Some(Err(_)) = timestamp {
            bad("timestamp", m);
        }
        // Used as a dict key (`objects_by_id`) by Auth(E): unhashable ids raise.
        if evidence_id.is_some_and(|id| !is_hashable(id)) {
            bad("evidence_id", m);
        }
        let deps = py_list(deps.unwrap_or(empty_list())).map(List::new);
        let deps_order = deps
            .as_ref()
            .ok()
            .and_then(|list| check_key_list(list).ok());
        if deps_order.is_none() {
            bad("dependencies", m);
        }
        if let (
            Some(evidence_id),
            Some(evidence_type),
            Some(source),
            Some(Ok(timestamp)),
            Ok(value),
            Ok(deps),
            Some(deps_order),
        ) = (
            evidence_id,
            evidence_type,
            source,
            timestamp,
            value,
            deps,
            deps_order,
        ) {
            out.push(Evidence {
                evidence_id,
                evidence_type,
                value,
                source,
                timestamp,
                deps,
                deps_order,
                hash: hash.unwrap_or(empty_str()),
                signature: signature.unwrap_or(empty_str()),
                type_code: evidence_type.as_str().and_then(known_type),
            });
        }
    }
    if m.0.len() != before {
        return None;
    }
    // `sorted(objects, key=evidence_id)` for the digest.
    let Ok(order) = sorted_order(out.len(), |i| out.get(i).map_or(none(), |e| e.evidence_id))
    else {
        m.push(C, "EVIDENCE_MALFORMED:evidence_id");
        return None;
    };
    let sorted = order.iter().collect();
    Some((out, sorted))
}

/// A list of ids that Python both sorts (for the digest) and looks up in a set or dict: every
/// element must be hashable and the list sortable. Returns the sorted order.
fn check_key_list(list: &List<'_>) -> PyResult<Order> {
    if !list.iter().all(is_hashable) {
        return Err(py::PyError);
    }
    sorted_order(list.len(), |i| list.get(i).unwrap_or(none()))
}

fn build_proof<'a>(v: Option<V<'a>>, m: &mut Malformed) -> Option<Proof<'a>> {
    const C: Component = Component::CheckR;
    let Some(p) = v.and_then(V::as_obj) else {
        m.push(C, "PROOF_MALFORMED");
        return None;
    };
    let before = m.0.len();
    let mut steps = Vec::new();
    match py_iter_dicts(p.get("steps").unwrap_or(empty_list())) {
        Ok(items) => {
            steps.reserve(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(s) = build_step(item, i, m) {
                    steps.push(s);
                }
            }
        }
        Err(_) => m.push(C, "PROOF_MALFORMED:steps"),
    }
    let final_conclusion = p.get("final_conclusion");
    if final_conclusion.is_none() {
        m.push(C, "PROOF_MALFORMED:final_conclusion");
    }
    match final_conclusion {
        Some(final_conclusion) if m.0.len() == before => Some(Proof {
            steps,
            final_conclusion,
        }),
        _ => None,
    }
}

fn build_step<'a>(item: V<'a>, i: usize, m: &mut Malformed) -> Option<Step<'a>> {
    const C: Component = Component::CheckR;
    let Some(d) = item.as_obj() else {
        m.push(C, format!("PROOF_STEP_MALFORMED:#{i}"));
        return None;
    };
    let before = m.0.len();
    let [step_id, rule, conclusion, refs, premises] = fields(d, |k| {
        Some(match k {
            "step_id" => 0,
            "rule" => 1,
            "conclusion" => 2,
            "evidence_refs" => 3,
            "premises" => 4,
            _ => return None,
        })
    });
    let bad = |field: &str, m: &mut Malformed| {
        m.push(
            C,
            format!("PROOF_STEP_MALFORMED:{}:{field}", label(step_id, i)),
        );
    };
    let req = |v: Option<V<'a>>, name: &str, m: &mut Malformed| {
        if v.is_none() {
            bad(name, m);
        }
        v
    };
    let step_id = req(step_id, "step_id", m);
    let rule = req(rule, "rule", m);
    let conclusion = req(conclusion, "conclusion", m);
    // CheckR tests `step_id in known_steps` and `rule not in VALID_RULES` for every step.
    if step_id.is_some_and(|s| !is_hashable(s)) {
        bad("step_id", m);
    }
    if rule.is_some_and(|r| !is_hashable(r)) {
        bad("rule", m);
    }
    let refs = py_list(refs.unwrap_or(empty_list())).map(List::new);
    let refs_order = refs
        .as_ref()
        .ok()
        .and_then(|list| check_key_list(list).ok());
    if refs_order.is_none() {
        bad("evidence_refs", m);
    }
    let premises = py_list(premises.unwrap_or(empty_list())).map(List::new);
    // Each premise is looked up in a set.
    if !premises.as_ref().is_ok_and(|p| p.iter().all(is_hashable)) {
        bad("premises", m);
    }
    if m.0.len() != before {
        return None;
    }
    match (step_id, rule, conclusion, refs, refs_order, premises) {
        (Some(step_id), Some(rule), Some(conclusion), Ok(refs), Some(refs_order), Ok(premises)) => {
            Some(Step {
                step_id,
                rule,
                conclusion,
                refs,
                refs_order,
                premises,
            })
        }
        _ => None,
    }
}

/// Looks up several members in one pass over the object; `slot` maps a member name to its
/// place in the result (a `match` on the name: a length switch, not a scan of the names).
fn fields<'a, const N: usize>(
    o: Obj<'a>,
    slot: impl Fn(&str) -> Option<usize>,
) -> [Option<V<'a>>; N] {
    let mut out = [None; N];
    for (k, v) in o.iter() {
        if let Some(place) = slot(k).and_then(|i| out.get_mut(i)) {
            *place = Some(v);
        }
    }
    out
}

fn build_attestations<'a>(v: Option<V<'a>>, m: &mut Malformed) -> Option<Vec<Attestation<'a>>> {
    const C: Component = Component::Quorum;
    let Ok(items) = py_iter_dicts(v.unwrap_or(empty_list())) else {
        m.push(C, "QUORUM_ATTESTATIONS_MALFORMED");
        return None;
    };
    let before = m.0.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(d) = item.as_obj() else {
            m.push(C, format!("QUORUM_ATTESTATION_MALFORMED:#{i}"));
            continue;
        };
        let [
            validator_id,
            decision,
            certificate_digest,
            timestamp,
            stake,
            reason,
            signature,
        ] = fields(d, |k| {
            Some(match k {
                "validator_id" => 0,
                "decision" => 1,
                "certificate_digest" => 2,
                "timestamp" => 3,
                "stake" => 4,
                "reason" => 5,
                "signature" => 6,
                _ => return None,
            })
        });
        let bad = |field: &str, m: &mut Malformed| {
            m.push(
                C,
                format!(
                    "QUORUM_ATTESTATION_MALFORMED:{}:{field}",
                    label(validator_id, i)
                ),
            );
        };
        let req = |v: Option<V<'a>>, name: &str, m: &mut Malformed| {
            if v.is_none() {
                bad(name, m);
            }
            v
        };
        let validator_id = req(validator_id, "validator_id", m);
        let decision = req(decision, "decision", m);
        let certificate_digest = req(certificate_digest, "certificate_digest", m);
        let timestamp = req(timestamp, "timestamp", m).map(py_float);
        if let Some(Err(_)) = timestamp {
            bad("timestamp", m);
        }
        let stake = stake.map_or(Ok(1.0), py_float);
        if stake.is_err() {
            bad("stake", m);
        }
        if let (
            Some(validator_id),
            Some(decision),
            Some(certificate_digest),
            Some(Ok(timestamp)),
            Ok(stake),
        ) = (validator_id, decision, certificate_digest, timestamp, stake)
        {
            out.push(Attestation {
                validator_id,
                decision,
                certificate_digest,
                timestamp,
                stake,
                reason: reason.unwrap_or(empty_str()),
                signature: signature.unwrap_or(empty_str()),
            });
        }
    }
    (m.0.len() == before).then_some(out)
}

// ---------------------------------------------------------------------------------------------
// Canonical encoding
// ---------------------------------------------------------------------------------------------

/// `canon(body)` with the byte ranges of its parts, so every digest is a hash over a slice of
/// one buffer: each evidence object is encoded once and serves its payload hash, the evidence
/// root and the certificate digest.
pub(crate) struct Canon {
    pub body: Vec<u8>,
    pub evidence: Range<usize>,
    pub policy: Range<usize>,
    pub proof: Range<usize>,
    /// Per evidence object (input order): the payload is `body[a] ++ body[b]` (the object
    /// without its `hash` and `signature` members).
    pub payload: Vec<(Range<usize>, Range<usize>)>,
}

fn pos(w: &mut CanonWriter<'_, Vec<u8>>) -> usize {
    w.sink().len()
}

impl Canon {
    pub fn encode(c: &Cert<'_>, size_hint: usize) -> Canon {
        let mut body = Vec::with_capacity(size_hint.max(1024));
        let mut payload = vec![(0..0, 0..0); c.evidence.len()];
        let (evidence, policy, proof);
        {
            let mut w = CanonWriter::new(&mut body);
            w.raw(b"{\"evidence\":");
            let e0 = pos(&mut w);
            w.raw(b"{\"objects\":[");
            for (n, &i) in c.sorted.iter().enumerate() {
                if n > 0 {
                    w.raw(b",");
                }
                if let (Some(e), Some(slot)) = (c.evidence.get(i), payload.get_mut(i)) {
                    *slot = write_evidence(&mut w, e);
                }
            }
            w.raw(b"]}");
            evidence = e0..pos(&mut w);
            w.raw(b",\"policy\":");
            let p0 = pos(&mut w);
            write_policy(&mut w, &c.policy);
            policy = p0..pos(&mut w);
            w.raw(b",\"proof\":");
            let q0 = pos(&mut w);
            write_proof(&mut w, &c.proof);
            proof = q0..pos(&mut w);
            w.raw(b",\"request\":");
            write_request(&mut w, &c.request);
            w.raw(b"}");
            w.finish();
        }
        Canon {
            body,
            evidence,
            policy,
            proof,
            payload,
        }
    }

    fn slice(&self, r: &Range<usize>) -> &[u8] {
        self.body.get(r.clone()).unwrap_or_default()
    }

    pub fn sha256(&self, r: &Range<usize>) -> [u8; 32] {
        Sha256::digest(self.slice(r)).into()
    }

    /// SHA-256 of the evidence object's payload (hex).
    pub fn payload_hash_hex(&self, i: usize) -> [u8; 64] {
        let mut h = Sha256::new();
        if let Some((a, b)) = self.payload.get(i) {
            h.update(self.slice(a));
            h.update(self.slice(b));
        }
        hex64(&h.finalize().into())
    }
}

/// The two lowercase hex digits of every byte value.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    t
};

/// Lowercase hex of a 32-byte digest without allocating (one table load per byte).
pub(crate) fn hex64(d: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &byte) in out.chunks_exact_mut(2).zip(d) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
    out
}

/// Hex digest as a `String`.
pub(crate) fn hex_string(d: &[u8; 32]) -> String {
    // ASCII by construction; `from_utf8` only checks it (no lossy re-scan).
    String::from_utf8(hex64(d).to_vec()).unwrap_or_default()
}

/// Writes any view canonically (keys sorted by code point at every level).
#[inline]
pub(crate) fn write_v<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, v: V<'_>) {
    match v {
        // Owned values have their own writer.
        V::J(j) => w.value(j),
        // The common leaves of a parsed document, without going through `kind`.
        V::D(_, Node::Str(s)) => w.plain_string(s),
        V::D(_, Node::Int(t)) => w.raw(t.as_bytes()),
        V::D(_, Node::Float(f)) => w.float(*f),
        _ => write_other(w, v),
    }
}

fn write_other<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, v: V<'_>) {
    match v {
        V::J(j) => w.value(j),
        _ => match v.kind() {
            K::Null => w.raw(b"null"),
            K::Bool(true) => w.raw(b"true"),
            K::Bool(false) => w.raw(b"false"),
            K::Int(t) => w.raw(t.as_bytes()),
            K::Float(f) => w.float(f),
            K::Str(s) => match v.plain_str() {
                Some(plain) => w.plain_string(plain),
                None => w.string(s),
            },
            K::Arr(a) => write_arr(w, a),
            K::Obj(o) => write_obj(w, o),
        },
    }
}

fn write_arr<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, a: Arr<'_>) {
    w.raw(b"[");
    for (n, item) in a.iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        write_v(w, item);
    }
    w.raw(b"]");
}

/// Objects up to this size sort their members on the stack.
const SMALL_SORT: usize = 32;

pub(crate) fn write_obj<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, o: Obj<'_>) {
    if let Obj::J(j) = o {
        w.object(j);
        return;
    }
    let n = o.len();
    let key = |i: usize| o.entry(i).map_or("", |(k, _)| k);
    let sorted = (1..n).all(|i| key(i - 1).as_bytes() <= key(i).as_bytes());
    let member = |w: &mut CanonWriter<'_, S>, nth: usize, i: usize| {
        if let Some((k, v)) = o.entry_v(i) {
            if nth > 0 {
                w.raw(b",");
            }
            write_v(w, k);
            w.raw(b":");
            write_v(w, v);
        }
    };
    w.raw(b"{");
    if sorted {
        (0..n).for_each(|i| member(w, i, i));
    } else if n <= SMALL_SORT {
        // u8 indices: a 32-byte scratch array to clear, not 256 bytes.
        let mut idx = [0u8; SMALL_SORT];
        for (slot, i) in idx.iter_mut().zip(0..=u8::MAX).take(n) {
            *slot = i;
        }
        let idx = idx.get_mut(..n).unwrap_or_default();
        idx.sort_unstable_by(|&a, &b| {
            key(usize::from(a))
                .as_bytes()
                .cmp(key(usize::from(b)).as_bytes())
        });
        idx.iter()
            .enumerate()
            .for_each(|(nth, &i)| member(w, nth, usize::from(i)));
    } else {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_unstable_by(|&a, &b| key(a).as_bytes().cmp(key(b).as_bytes()));
        idx.iter()
            .enumerate()
            .for_each(|(nth, &i)| member(w, nth, i));
    }
    w.raw(b"}");
}

fn write_request<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, r: &Request<'_>) {
    w.raw(b"{\"artifact_hash\":");
    write_v(w, r.artifact_hash);
    w.raw(b",\"commit_sha\":");
    write_v(w, r.commit_sha);
    w.raw(b",\"deployment_id\":");
    write_v(w, r.deployment_id);
    w.raw(b",\"environment\":");
    write_v(w, r.environment);
    w.raw(b",\"requested_by\":");
    write_v(w, r.requested_by);
    w.raw(b",\"service\":");
    write_v(w, r.service);
    w.raw(b"}");
}

fn write_policy<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, p: &Policy<'_>) {
    w.raw(b"{\"environment\":");
    write_v(w, p.environment);
    w.raw(b",\"freshness_seconds\":");
    write_obj(w, p.freshness);
    w.raw(b",\"policy_id\":");
    write_v(w, p.policy_id);
    w.raw(b",\"predicates\":[");
    for (n, pr) in p.predicates.iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        write_pred(w, pr);
    }
    w.raw(b"],\"rule_set_id\":");
    write_v(w, p.rule_set_id);
    w.raw(b",\"version\":");
    w.raw(p.version.as_bytes());
    w.raw(b"}");
}

fn write_pred<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, p: &Pred<'_>) {
    w.raw(b"{\"name\":");
    write_v(w, p.name);
    w.raw(b",\"params\":{");
    // The members, then sorted by key (on the stack for the usual handful).
    const SMALL: usize = 4;
    let mut small: [Option<(&str, ParamRef<'_, '_>)>; SMALL] = [None; SMALL];
    let mut big = Vec::new();
    let mut n = 0;
    p.members(|k, param| {
        match small.get_mut(n) {
            Some(slot) => *slot = Some((k, param)),
            None => {
                if big.is_empty() {
                    big.extend(small.iter().flatten().copied());
                }
                big.push((k, param));
            }
        }
        n += 1;
    });
    let mut small_members: [(&str, ParamRef<'_, '_>); SMALL] =
        small.map(|m| m.unwrap_or(("", ParamRef::Raw(none()))));
    let members: &mut [(&str, ParamRef<'_, '_>)] = if n <= SMALL {
        small_members.get_mut(..n).unwrap_or_default()
    } else {
        &mut big
    };
    // Most params objects have one key, or arrive sorted: skip the sort then.
    if !members.windows(2).all(|w| match w {
        [a, b] => a.0.as_bytes() <= b.0.as_bytes(),
        _ => true,
    }) {
        members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
    for (nth, &(k, param)) in members.iter().enumerate() {
        if nth > 0 {
            w.raw(b",");
        }
        w.key(k);
        match param {
            ParamRef::Raw(v) => write_v(w, v),
            ParamRef::Rebuilt(Param::Children(kids)) => {
                w.raw(b"[");
                for (j, kid) in kids.iter().enumerate() {
                    if j > 0 {
                        w.raw(b",");
                    }
                    write_pred(w, kid);
                }
                w.raw(b"]");
            }
            ParamRef::Rebuilt(Param::Child(kid)) => write_pred(w, kid),
        }
    }
    w.raw(b"}}");
}

fn write_sorted_list<S: CanonSink + ?Sized>(
    w: &mut CanonWriter<'_, S>,
    list: &List<'_>,
    order: &Order,
) {
    w.raw(b"[");
    for (n, i) in order.iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        if let Some(v) = list.get(i) {
            write_v(w, v);
        }
    }
    w.raw(b"]");
}

/// Writes one evidence object; returns the payload's two ranges.
fn write_evidence(
    w: &mut CanonWriter<'_, Vec<u8>>,
    e: &Evidence<'_>,
) -> (Range<usize>, Range<usize>) {
    let start = pos(w);
    w.raw(b"{\"dependencies\":");
    write_sorted_list(w, &e.deps, &e.deps_order);
    w.raw(b",\"evidence_id\":");
    write_v(w, e.evidence_id);
    w.raw(b",\"evidence_type\":");
    write_v(w, e.evidence_type);
    let a = pos(w);
    w.raw(b",\"hash\":");
    write_v(w, e.hash);
    w.raw(b",\"signature\":");
    write_v(w, e.signature);
    let b = pos(w);
    w.raw(b",\"source\":");
    write_v(w, e.source);
    w.raw(b",\"timestamp\":");
    w.float(e.timestamp);
    w.raw(b",\"value\":");
    write_obj(w, e.value);
    w.raw(b"}");
    let end = pos(w);
    (start..a, b..end)
}

fn write_proof<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, p: &Proof<'_>) {
    w.raw(b"{\"final_conclusion\":");
    write_v(w, p.final_conclusion);
    w.raw(b",\"steps\":[");
    for (n, s) in p.steps.iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        w.raw(b"{\"conclusion\":");
        write_v(w, s.conclusion);
        w.raw(b",\"evidence_refs\":");
        write_sorted_list(w, &s.refs, &s.refs_order);
        w.raw(b",\"premises\":[");
        for (j, p) in s.premises.iter().enumerate() {
            if j > 0 {
                w.raw(b",");
            }
            write_v(w, p);
        }
        w.raw(b"]");
        w.raw(b",\"rule\":");
        write_v(w, s.rule);
        w.raw(b",\"step_id\":");
        write_v(w, s.step_id);
        w.raw(b"}");
    }
    w.raw(b"]}");
}

/// Streams an attestation's signed payload (`{certificate_digest, decision, reason, stake,
/// timestamp, validator_id}`) into `sink`.
pub(crate) fn write_attestation_payload<S: CanonSink + ?Sized>(sink: &mut S, a: &Attestation<'_>) {
    let mut w = CanonWriter::new(sink);
    w.raw(b"{\"certificate_digest\":");
    write_v(&mut w, a.certificate_digest);
    w.raw(b",\"decision\":");
    write_v(&mut w, a.decision);
    w.raw(b",\"reason\":");
    write_v(&mut w, a.reason);
    w.raw(b",\"stake\":");
    w.float(a.stake);
    w.raw(b",\"timestamp\":");
    w.float(a.timestamp);
    w.raw(b",\"validator_id\":");
    write_v(&mut w, a.validator_id);
    w.raw(b"}");
    w.finish();
}
