//! The four acceptance checks in emission order (CERTIFICATE.md section 4), over the model of
//! `model.rs`. Where the reference raises during a check, a `*_MALFORMED` code takes the place
//! of the crash (section 9b) and the check goes on, so the report still says everything else.

use std::cmp::Ordering;
use std::collections::HashMap;

use hmac::Mac;

use super::config::{CheckerConfig, Keys};
use super::doc::{K, Obj, V, str_eq};
use super::model::{
    BUILD_ARTIFACT, COMMIT_SNAPSHOT, Canon, Cert, ENVIRONMENT_DESCRIPTOR, Evidence,
    HUMAN_ATTESTATION, KNOWN_TYPES, Param, Pred, ROLLBACK_SPEC, ROLLOUT_SPEC, SCAN_REPORT, Step,
    TEST_RESULT, hex_string, hex64, known_type, write_attestation_payload,
};
use super::py::{
    self, Num, eq_str, integral_float_text, is_hashable, num, num_cmp, num_le_zero, py_eq, py_int,
    py_str, truthy as is_truthy,
};
use crate::report::{Component, Failure, Report};

/// `name in VALID_PREDICATES` (a `match` compiles to a length switch, not nine `memcmp`s).
fn is_valid_predicate(name: &str) -> bool {
    matches!(
        name,
        "test_passed"
            | "vuln_count"
            | "human_attested"
            | "rollback_defined"
            | "canary_enabled"
            | "environment_matches"
            | "and"
            | "or"
            | "not"
    )
}

/// `rule in VALID_RULES`.
fn is_valid_rule(rule: &str) -> bool {
    matches!(
        rule,
        "TEST_PASS"
            | "VULN_OK"
            | "SIGNATURE_VALID"
            | "EVIDENCE_BOUND"
            | "ENVIRONMENT_MATCH"
            | "ROLLBACK_READY"
            | "HUMAN_ATTESTED"
            | "POLICY_SATISFIED"
            | "DEPLOY_AUTH"
    )
}

/// Above this many keys, [`PyMap`] switches from linear `==` scans to hash maps.
const LINEAR_MAX: usize = 16;

/// A Python dict/set keyed by hashable JSON values (`1`, `1.0` and `true` are one key).
/// Linear for the usual handful of keys; hashed beyond that so hostile inputs stay linear-time.
struct PyMap<'c, T> {
    /// Linear mode: each key with its string form (strings only ever equal strings).
    small: Vec<(Option<&'c str>, V<'c>, T)>,
    strs: HashMap<&'c str, T>,
    others: HashMap<String, T>,
    big: bool,
}

/// Hash key of a hashable non-string value, equal exactly when Python's `==` is.
fn other_key(v: V<'_>) -> String {
    match v.kind() {
        K::Null => "n".to_owned(),
        K::Bool(b) => format!("i{}", u8::from(b)),
        K::Int(t) => format!("i{t}"),
        K::Float(f) if f.is_finite() && f.fract() == 0.0 => format!("i{}", integral_float_text(f)),
        K::Float(f) => format!("f{:x}", f.to_bits()),
        K::Str(s) => format!("s{s}"),
        // Unhashable; callers check first.
        K::Arr(_) | K::Obj(_) => "u".to_owned(),
    }
}

impl<'c, T: Copy> PyMap<'c, T> {
    /// A map for about `n` keys: one allocation up front instead of growing push by push.
    fn with_capacity(n: usize) -> Self {
        PyMap {
            small: Vec::with_capacity(n.min(LINEAR_MAX + 1)),
            strs: HashMap::new(),
            others: HashMap::new(),
            big: false,
        }
    }

    fn get(&self, k: V<'_>) -> Option<T> {
        if !self.big {
            let found = match k.as_str() {
                Some(s) => self
                    .small
                    .iter()
                    .find(|(xs, _, _)| xs.is_some_and(|x| str_eq(x, s))),
                None => self
                    .small
                    .iter()
                    .find(|(xs, x, _)| xs.is_none() && py_eq(*x, k)),
            };
            return found.map(|(_, _, t)| *t);
        }
        match k.kind() {
            K::Str(s) => self.strs.get(s).copied(),
            _ => self.others.get(&other_key(k)).copied(),
        }
    }

    fn contains(&self, k: V<'_>) -> bool {
        self.get(k).is_some()
    }

    /// `d[k] = t` (an existing key keeps its slot, the value is replaced).
    fn insert(&mut self, k: V<'c>, t: T) {
        if !self.big {
            let ks = k.as_str();
            let slot = match ks {
                Some(s) => self
                    .small
                    .iter_mut()
                    .find(|(xs, _, _)| xs.is_some_and(|x| str_eq(x, s))),
                None => self
                    .small
                    .iter_mut()
                    .find(|(xs, x, _)| xs.is_none() && py_eq(*x, k)),
            };
            if let Some(slot) = slot {
                slot.2 = t;
                return;
            }
            self.small.push((ks, k, t));
            if self.small.len() > LINEAR_MAX {
                self.big = true;
                for (_, key, val) in std::mem::take(&mut self.small) {
                    self.insert(key, val);
                }
            }
            return;
        }
        match k.kind() {
            K::Str(s) => {
                self.strs.insert(s, t);
            }
            _ => {
                self.others.insert(other_key(k), t);
            }
        }
    }
}

/// Everything the checks share.
struct Ctx<'c, 'a> {
    cert: &'c Cert<'a>,
    flat: Vec<&'c Pred<'a>>,
    /// `evidence.by_id()`: the last object per id.
    by_id: PyMap<'c, usize>,
}

impl<'c, 'a> Ctx<'c, 'a> {
    fn ev(&self, i: usize) -> Option<&'c Evidence<'a>> {
        self.cert.evidence.get(i)
    }

    /// `of_type(t)`: objects of a type, in sorted-id order.
    fn of_type<'s>(&'s self, t: &'s str) -> impl Iterator<Item = &'c Evidence<'a>> + 's {
        let code = known_type(t);
        self.cert
            .sorted
            .iter()
            .filter_map(|&i| self.ev(i))
            .filter(move |e| match code {
                Some(c) => e.type_is_code(c),
                None => py::eq_str(e.evidence_type, t),
            })
    }

    /// `of_type(KNOWN_TYPES[code])`.
    fn of_code(&self, code: u8) -> impl Iterator<Item = &'c Evidence<'a>> + '_ {
        self.cert
            .sorted
            .iter()
            .filter_map(|&i| self.ev(i))
            .filter(move |e| e.type_is_code(code))
    }
}

/// Runs the checks and assembles the report.
pub(crate) fn run(
    cert: &Cert<'_>,
    canon: &Canon,
    keys: &Keys,
    cfg: &CheckerConfig,
    include_quorum: bool,
) -> Report {
    let certificate_digest = hex_string(&canon.sha256(&(0..canon.body.len())));
    let mut flat = Vec::with_capacity(cert.policy.predicates.len());
    cert.policy
        .predicates
        .iter()
        .for_each(|p| p.walk(&mut flat));
    let mut by_id = PyMap::with_capacity(cert.evidence.len());
    for (i, e) in cert.evidence.iter().enumerate() {
        by_id.insert(e.evidence_id, i);
    }
    let ctx = Ctx { cert, flat, by_id };

    let mut wf = well_formed(&ctx);
    let mut wf_extra = Vec::new();
    let auth = authenticate(&ctx, canon, keys, cfg.now, &mut wf_extra);
    wf.append(&mut wf_extra);
    let proof = check_derivation(&ctx);
    let quorum = if include_quorum {
        quorum_finality(cert, &certificate_digest, keys, cfg)
    } else {
        Vec::new()
    };

    let (wf_ok, auth_ok, proof_ok, quorum_ok) = (
        wf.is_empty(),
        auth.is_empty(),
        proof.is_empty(),
        quorum.is_empty(),
    );
    let mut failures = Vec::with_capacity(wf.len() + auth.len() + proof.len() + quorum.len());
    for (component, codes) in [
        (Component::WfPolicy, wf),
        (Component::AuthEvidence, auth),
        (Component::CheckR, proof),
        (Component::Quorum, quorum),
    ] {
        failures.extend(codes.into_iter().map(|c| Failure::new(component, c)));
    }
    Report {
        accepted: wf_ok && auth_ok && proof_ok && quorum_ok,
        wf_policy: wf_ok,
        auth_evidence: auth_ok,
        check_proof: proof_ok,
        quorum: quorum_ok,
        failures,
        certificate_digest,
        policy_root: hex_string(&canon.sha256(&canon.policy)),
        evidence_root: hex_string(&canon.sha256(&canon.evidence)),
        proof_root: hex_string(&canon.sha256(&canon.proof)),
    }
}

// ---------------------------------------------------------------------------------------------
// WF(P)
// ---------------------------------------------------------------------------------------------

/// Non-empty string parameter (`isinstance(x, str) and x`).
fn nonempty_str(v: Option<V<'_>>) -> bool {
    v.and_then(V::as_str).is_some_and(|s| !s.is_empty())
}

fn well_formed(ctx: &Ctx<'_, '_>) -> Vec<String> {
    let p = &ctx.cert.policy;
    let mut f: Vec<String> = Vec::new();
    if !is_truthy(p.policy_id) {
        f.push("POLICY_ID_REQUIRED".into());
    }
    if num_le_zero(&Num::Int(p.version.clone())) {
        f.push("POLICY_VERSION_INVALID".into());
    }
    if !is_truthy(p.environment) {
        f.push("POLICY_ENVIRONMENT_REQUIRED".into());
    }
    if !eq_str(p.rule_set_id, "pod-v1") {
        f.push("POLICY_RULE_SET_UNSUPPORTED".into());
    }
    if p.predicates.is_empty() {
        f.push("POLICY_PREDICATES_REQUIRED".into());
    }
    for pred in &ctx.flat {
        validate_predicate(pred, &mut f);
    }
    // `environment not in targets`, the `params.get("target")` of every environment_matches
    // (missing ones as None), when there is any.
    let (mut any_target, mut env_targeted) = (false, false);
    for pr in ctx
        .flat
        .iter()
        .filter(|pr| pr.name_is("environment_matches"))
    {
        any_target = true;
        env_targeted |= py_eq(pr.raw("target").unwrap_or(py::none()), p.environment);
    }
    if any_target && !env_targeted {
        f.push("POLICY_ENVIRONMENT_CONTRADICTION".into());
    }
    for (t, seconds) in p.freshness.iter() {
        if t.is_empty() {
            f.push("POLICY_FRESHNESS_TYPE_INVALID".into());
        }
        // `isinstance(seconds, (int, float)) and seconds > 0`; bool is an int.
        if num(seconds).is_none_or(|n| num_le_zero(&n)) {
            f.push(format!("POLICY_FRESHNESS_INVALID:{t}"));
        }
    }
    f
}

fn validate_predicate(pred: &Pred<'_>, f: &mut Vec<String>) {
    let name = match pred.name.as_str() {
        Some(n) if is_valid_predicate(n) => n,
        _ => {
            f.push(format!("POLICY_PREDICATE_UNKNOWN:{}", py_str(pred.name)));
            return;
        }
    };
    match name {
        "test_passed" if !nonempty_str(pred.raw("suite")) => {
            f.push("POLICY_TEST_SUITE_INVALID".into());
        }
        "vuln_count" => {
            if !nonempty_str(pred.raw("severity")) {
                f.push("POLICY_VULN_SEVERITY_INVALID".into());
            }
            let op = pred.raw("operator").unwrap_or(py::none());
            if !is_hashable(op) {
                // `operator not in {"<=", "=="}` raises TypeError on a list or dict.
                f.push("POLICY_PREDICATE_MALFORMED:vuln_count".into());
            } else if !(eq_str(op, "<=") || eq_str(op, "==")) {
                f.push("POLICY_VULN_OPERATOR_INVALID".into());
            }
            // `isinstance(threshold, int) and threshold >= 0`; bool is an int.
            let threshold_ok = pred.raw("threshold").is_some_and(|t| {
                matches!(t.kind(), K::Int(_) | K::Bool(_))
                    && num(t)
                        .is_some_and(|n| num_cmp(&n, &Num::Int("0".into())) != Some(Ordering::Less))
            });
            if !threshold_ok {
                f.push("POLICY_VULN_THRESHOLD_INVALID".into());
            }
        }
        "human_attested" if !nonempty_str(pred.raw("role")) => {
            f.push("POLICY_HUMAN_ROLE_INVALID".into());
        }
        "rollback_defined" if !nonempty_str(pred.raw("service")) => {
            f.push("POLICY_ROLLBACK_DEFINED_SERVICE_INVALID".into());
        }
        "canary_enabled" if !nonempty_str(pred.raw("service")) => {
            f.push("POLICY_CANARY_ENABLED_SERVICE_INVALID".into());
        }
        "environment_matches" if !nonempty_str(pred.raw("target")) => {
            f.push("POLICY_ENVIRONMENT_TARGET_INVALID".into());
        }
        "and" | "or" => {
            let empty = match pred.rebuilt("children") {
                Some(Param::Children(k)) => k.is_empty(),
                _ => true,
            };
            if empty {
                f.push(format!(
                    "POLICY_{}_CHILDREN_REQUIRED",
                    name.to_ascii_uppercase()
                ));
            }
        }
        "not" if !matches!(pred.rebuilt("child"), Some(Param::Child(_))) => {
            f.push("POLICY_NOT_CHILD_REQUIRED".into());
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Auth(E)
// ---------------------------------------------------------------------------------------------

/// `hmac.compare_digest(MAC(key, hash_string), signature)`: `Err` where Python raises
/// (a non-string or non-ASCII signature).
fn evidence_signature_ok(keys: &Keys, hash_hex: &[u8; 64], sig: V<'_>) -> Result<bool, ()> {
    let Some(s) = sig.as_str().filter(|s| s.is_ascii()) else {
        return Err(());
    };
    let Some(mac) = &keys.evidence else {
        return Ok(false);
    };
    let mut m = mac.clone();
    m.update(b"\"");
    m.update(hash_hex);
    m.update(b"\"");
    let tag = hex64(&m.finalize().into_bytes().into());
    Ok(ct_eq(&tag, s.as_bytes()))
}

/// Constant-time equality of a computed hex tag and a claimed signature (like
/// `hmac.compare_digest`, only the length may show in the timing). Eight bytes per step.
fn ct_eq(tag: &[u8; 64], sig: &[u8]) -> bool {
    if sig.len() != tag.len() {
        return false;
    }
    let word = |c: &[u8]| <[u8; 8]>::try_from(c).map_or(0, u64::from_ne_bytes);
    let diff = tag
        .chunks_exact(8)
        .zip(sig.chunks_exact(8))
        .fold(0u64, |acc, (a, b)| acc | (word(a) ^ word(b)));
    std::hint::black_box(diff) == 0
}

fn authenticate(
    ctx: &Ctx<'_, '_>,
    canon: &Canon,
    keys: &Keys,
    now: Option<f64>,
    wf_extra: &mut Vec<String>,
) -> Vec<String> {
    let cert = ctx.cert;
    let req = &cert.request;
    let mut f: Vec<String> = Vec::new();

    // 1. Ids, hashes and signatures, input order.
    let mut seen: PyMap<'_, ()> = PyMap::with_capacity(cert.evidence.len());
    for (i, e) in cert.evidence.iter().enumerate() {
        let id = py_str(e.evidence_id);
        if seen.contains(e.evidence_id) {
            f.push(format!("EVIDENCE_DUPLICATE_ID:{id}"));
        }
        seen.insert(e.evidence_id, ());
        let computed = canon.payload_hash_hex(i);
        let hash_valid = e
            .hash
            .as_str()
            .is_some_and(|h| h.as_bytes() == computed.as_slice());
        if !is_truthy(e.hash) {
            f.push(format!("EVIDENCE_HASH_MISSING:{id}"));
        } else if !hash_valid {
            f.push(format!("EVIDENCE_HASH_INVALID:{id}"));
        }
        if !is_truthy(e.signature) {
            f.push(format!("EVIDENCE_SIGNATURE_MISSING:{id}"));
        } else if hash_valid {
            match evidence_signature_ok(keys, &computed, e.signature) {
                Ok(true) => {}
                Ok(false) => f.push(format!("EVIDENCE_SIGNATURE_INVALID:{id}")),
                Err(()) => f.push(format!("EVIDENCE_SIGNATURE_MALFORMED:{id}")),
            }
        }
    }

    // 2. Dependencies.
    for e in &cert.evidence {
        for dep in e.deps.iter() {
            if !ctx.by_id.contains(dep) {
                f.push(format!(
                    "EVIDENCE_DEPENDENCY_MISSING:{}:{}",
                    py_str(e.evidence_id),
                    py_str(dep)
                ));
            }
        }
    }

    // 3. Required types.
    for (code, t) in required_evidence_types(&ctx.flat) {
        if ctx.of_code(code).next().is_none() {
            f.push(format!("EVIDENCE_REQUIRED_MISSING:{t}"));
        }
    }

    // 4. Freshness, JSON key order.
    if let Some(now) = now {
        for (t, max_age) in cert.policy.freshness.iter() {
            for e in ctx.of_type(t) {
                // `now - timestamp > max_age` raises TypeError on a non-number limit.
                let Some(limit) = num(max_age) else {
                    wf_extra.push(format!("POLICY_FRESHNESS_MALFORMED:{t}"));
                    break;
                };
                if num_cmp(&Num::Float(now - e.timestamp), &limit) == Some(Ordering::Greater) {
                    f.push(format!("EVIDENCE_STALE:{}", py_str(e.evidence_id)));
                }
            }
        }
    }

    // 5. Request bindings: the first object of each type only, then every deployment_id.
    let bindings: [(u8, &str, V<'_>, &str); 3] = [
        (
            COMMIT_SNAPSHOT,
            "commit_sha",
            req.commit_sha,
            "EVIDENCE_COMMIT_MISMATCH",
        ),
        (
            BUILD_ARTIFACT,
            "artifact_hash",
            req.artifact_hash,
            "EVIDENCE_ARTIFACT_MISMATCH",
        ),
        (
            ENVIRONMENT_DESCRIPTOR,
            "environment",
            req.environment,
            "EVIDENCE_ENVIRONMENT_MISMATCH",
        ),
    ];
    for (t, key, want, code) in bindings {
        if let Some(first) = ctx.of_code(t).next()
            && !py_eq(first.get(key), want)
        {
            f.push(code.into());
        }
    }
    for e in cert.sorted.iter().filter_map(|&i| ctx.ev(i)) {
        let d = e.get("deployment_id");
        if !d.is_null() && !py_eq(d, req.deployment_id) {
            f.push(format!(
                "EVIDENCE_DEPLOYMENT_MISMATCH:{}",
                py_str(e.evidence_id)
            ));
        }
    }

    // 6. Leaf predicates, pre-order.
    for pred in &ctx.flat {
        leaf_check(ctx, pred, &mut f, wf_extra);
    }
    f
}

/// `required_evidence_types()`, sorted ascending.
fn required_evidence_types(flat: &[&Pred<'_>]) -> impl Iterator<Item = (u8, &'static str)> {
    // The three binding types are always required.
    let mut need = [true, true, true, false, false, false, false, false];
    for p in flat {
        let i = match p.name.as_str() {
            Some("test_passed") => 7,
            Some("vuln_count") => 6,
            Some("human_attested") => 3,
            Some("rollback_defined") => 4,
            Some("canary_enabled") => 5,
            _ => continue,
        };
        if let Some(slot) = need.get_mut(i) {
            *slot = true;
        }
    }
    (0u8..)
        .zip(KNOWN_TYPES)
        .zip(need)
        .filter_map(|(t, n)| n.then_some(t))
}

/// One leaf of `_check_policy_predicates`. A missing parameter key (Python: KeyError) becomes
/// `POLICY_PREDICATE_MALFORMED:<name>` in WF(P), where the bad input sits.
fn leaf_check(ctx: &Ctx<'_, '_>, pred: &Pred<'_>, f: &mut Vec<String>, wf_extra: &mut Vec<String>) {
    let Some(name) = pred.name.as_str() else {
        return;
    };
    let req = &ctx.cert.request;
    let policy = &ctx.cert.policy;
    let keys: &[&str] = match name {
        "test_passed" => &["suite"],
        "vuln_count" => &["severity", "threshold", "operator"],
        "human_attested" => &["role"],
        "rollback_defined" | "canary_enabled" => &["service"],
        "environment_matches" => &["target"],
        _ => return,
    };
    let mut vals: [V<'_>; 3] = [py::none(); 3];
    for (slot, k) in vals.iter_mut().zip(keys) {
        match pred.raw(k) {
            Some(v) => *slot = v,
            None => {
                wf_extra.push(format!("POLICY_PREDICATE_MALFORMED:{name}"));
                return;
            }
        }
    }
    let [p0, p1, p2] = vals;
    let truthy_get = |e: &Evidence<'_>, k: &str| is_truthy(e.get(k));
    match name {
        "test_passed" => {
            let ok = ctx
                .of_code(TEST_RESULT)
                .any(|e| py_eq(e.get("suite"), p0) && e.get("passed").is_true());
            if !ok {
                f.push(format!("EVIDENCE_TEST_NOT_PASSED:{}", py_str(p0)));
            }
        }
        "vuln_count" => vuln_count(ctx, p0, p1, p2, f, wf_extra),
        "human_attested" => {
            let ok = ctx.of_code(HUMAN_ATTESTATION).any(|e| {
                py_eq(e.get("role"), p0)
                    && py_eq(e.get("deployment_id"), req.deployment_id)
                    && e.get("approved").is_true()
            });
            if !ok {
                f.push(format!("EVIDENCE_HUMAN_ATTESTATION_MISSING:{}", py_str(p0)));
            }
        }
        "rollback_defined" => {
            let ok = ctx
                .of_code(ROLLBACK_SPEC)
                .any(|e| py_eq(e.get("service"), p0) && truthy_get(e, "rollback_plan"));
            if !ok {
                f.push(format!("EVIDENCE_ROLLBACK_MISSING:{}", py_str(p0)));
            }
        }
        "canary_enabled" => {
            let ok = ctx
                .of_code(ROLLOUT_SPEC)
                .any(|e| py_eq(e.get("service"), p0) && truthy_get(e, "canary_enabled"));
            if !ok {
                f.push(format!("EVIDENCE_CANARY_MISSING:{}", py_str(p0)));
            }
        }
        "environment_matches" if !py_eq(p0, policy.environment) || !py_eq(p0, req.environment) => {
            f.push(format!(
                "EVIDENCE_ENVIRONMENT_TARGET_MISMATCH:{}",
                py_str(p0)
            ));
        }
        _ => {}
    }
}

/// `_vuln_count_ok`: the first scan report (sorted-id order) that satisfies the bound wins.
fn vuln_count(
    ctx: &Ctx<'_, '_>,
    severity: V<'_>,
    threshold: V<'_>,
    operator: V<'_>,
    f: &mut Vec<String>,
    wf_extra: &mut Vec<String>,
) {
    for e in ctx.of_code(SCAN_REPORT) {
        // `value.get("vulnerabilities", {})` must be a dict (AttributeError otherwise).
        let counts: Obj<'_> = match e.value.get("vulnerabilities").map(V::as_obj) {
            None => Obj::J(&py::EMPTY_OBJECT),
            Some(Some(o)) => o,
            Some(None) => {
                f.push(format!(
                    "EVIDENCE_VALUE_MALFORMED:{}",
                    py_str(e.evidence_id)
                ));
                return;
            }
        };
        if !is_hashable(severity) {
            wf_extra.push("POLICY_PREDICATE_MALFORMED:vuln_count".into());
            return;
        }
        // Keys are strings, so only a string severity can hit.
        let raw = match severity.as_str() {
            Some(s) => counts.get(s).unwrap_or(py::zero()),
            None => py::zero(),
        };
        let Ok(count) = py_int(raw) else {
            f.push(format!(
                "EVIDENCE_VALUE_MALFORMED:{}",
                py_str(e.evidence_id)
            ));
            return;
        };
        let count = Num::Int(count);
        if eq_str(operator, "<=") {
            // `count <= threshold` raises TypeError unless the threshold is a number.
            let Some(t) = num(threshold) else {
                wf_extra.push("POLICY_PREDICATE_MALFORMED:vuln_count".into());
                return;
            };
            if matches!(num_cmp(&count, &t), Some(Ordering::Less | Ordering::Equal)) {
                return;
            }
        }
        if eq_str(operator, "==")
            && num(threshold).is_some_and(|t| num_cmp(&count, &t) == Some(Ordering::Equal))
        {
            return;
        }
    }
    f.push(format!(
        "EVIDENCE_VULN_THRESHOLD_EXCEEDED:{}",
        py_str(severity)
    ));
}

// ---------------------------------------------------------------------------------------------
// CheckR
// ---------------------------------------------------------------------------------------------

/// The conclusion the proof must end with: `"deploy_authorized:" + str(deployment_id)`.
#[derive(Clone, Copy)]
struct ExpectedFinal<'s>(&'s str);

impl ExpectedFinal<'_> {
    /// `v == f"deploy_authorized:{deployment_id}"`.
    fn is(self, v: V<'_>) -> bool {
        v.as_str()
            .and_then(|s| s.strip_prefix("deploy_authorized:"))
            .is_some_and(|rest| rest == self.0)
    }
}

fn check_derivation(ctx: &Ctx<'_, '_>) -> Vec<String> {
    let cert = ctx.cert;
    let proof = &cert.proof;
    let mut f: Vec<String> = Vec::new();
    let mut known: PyMap<'_, ()> = PyMap::with_capacity(proof.steps.len());
    if proof.steps.is_empty() {
        f.push("VRP_STEPS_REQUIRED".into());
    }
    // `f"deploy_authorized:{deployment_id}"`, compared without building the string.
    let deployment = py_str(cert.request.deployment_id);
    let expected_final = ExpectedFinal(&deployment);
    let human_required = ctx.flat.iter().any(|p| p.name_is("human_attested"));
    for step in &proof.steps {
        let sid = py_str(step.step_id);
        if !is_truthy(step.step_id) {
            f.push("VRP_STEP_ID_REQUIRED".into());
        }
        if known.contains(step.step_id) {
            f.push(format!("VRP_STEP_DUPLICATE:{sid}"));
        }
        known.insert(step.step_id, ());
        if !step.rule.as_str().is_some_and(is_valid_rule) {
            f.push(format!("VRP_RULE_UNKNOWN:{}", py_str(step.rule)));
        }
        for p in step.premises.iter() {
            if !known.contains(p) {
                f.push(format!("VRP_PREMISE_MISSING:{sid}:{}", py_str(p)));
            }
        }
        for r in step.refs.iter() {
            if !ctx.by_id.contains(r) {
                f.push(format!("VRP_EVIDENCE_REF_MISSING:{sid}:{}", py_str(r)));
            }
        }
        rule_semantics(ctx, step, &sid, expected_final, human_required, &mut f);
    }
    if !expected_final.is(proof.final_conclusion) {
        f.push("VRP_FINAL_CONCLUSION_MISMATCH".into());
    }
    if !proof
        .steps
        .last()
        .is_some_and(|s| expected_final.is(s.conclusion))
    {
        f.push("VRP_FINAL_STEP_MISMATCH".into());
    }
    f
}

fn rule_semantics(
    ctx: &Ctx<'_, '_>,
    step: &Step<'_>,
    sid: &str,
    expected_final: ExpectedFinal<'_>,
    human_required: bool,
    f: &mut Vec<String>,
) {
    let cert = ctx.cert;
    let req = &cert.request;
    // Resolved refs in stored order (each id to its last object), lazily: no allocation.
    let refs = || {
        step.refs
            .iter()
            .filter_map(|r| ctx.by_id.get(r))
            .filter_map(|i| ctx.ev(i))
    };
    let any_type = |code: u8| refs().any(|e| e.type_is_code(code));
    let Some(rule) = step.rule.as_str() else {
        return;
    };
    match rule {
        "TEST_PASS"
            if !refs().any(|e| e.type_is_code(TEST_RESULT) && is_truthy(e.get("passed"))) =>
        {
            f.push(format!("VRP_TEST_PASS_UNSUPPORTED:{sid}"));
        }
        "VULN_OK" if !any_type(SCAN_REPORT) => f.push(format!("VRP_VULN_OK_UNSUPPORTED:{sid}")),
        "SIGNATURE_VALID" if refs().next().is_none() => {
            f.push(format!("VRP_SIGNATURE_REF_REQUIRED:{sid}"))
        }
        "EVIDENCE_BOUND" => {
            if refs().next().is_none() {
                f.push(format!("VRP_EVIDENCE_BOUND_REF_REQUIRED:{sid}"));
            }
            for e in refs() {
                let d = e.get("deployment_id");
                if !d.is_null() && !py_eq(d, req.deployment_id) {
                    f.push(format!("VRP_EVIDENCE_NOT_BOUND:{sid}"));
                }
            }
        }
        "ENVIRONMENT_MATCH" => {
            if !py_eq(cert.policy.environment, req.environment) {
                f.push(format!("VRP_ENVIRONMENT_POLICY_MISMATCH:{sid}"));
            }
            let ok = refs().any(|e| {
                e.type_is_code(ENVIRONMENT_DESCRIPTOR)
                    && py_eq(e.get("environment"), req.environment)
            });
            if !ok {
                f.push(format!("VRP_ENVIRONMENT_REF_MISSING:{sid}"));
            }
        }
        "ROLLBACK_READY" if !any_type(ROLLBACK_SPEC) => {
            f.push(format!("VRP_ROLLBACK_REF_MISSING:{sid}"));
        }
        "HUMAN_ATTESTED" => {
            let ok =
                refs().any(|e| e.type_is_code(HUMAN_ATTESTATION) && e.get("approved").is_true());
            if human_required && !ok {
                f.push(format!("VRP_HUMAN_ATTESTATION_REF_MISSING:{sid}"));
            }
        }
        "POLICY_SATISFIED" => {
            if step.premises.is_empty() {
                f.push(format!("VRP_POLICY_PREMISES_REQUIRED:{sid}"));
            }
            if !eq_str(step.conclusion, "policy_satisfied") {
                f.push(format!("VRP_POLICY_CONCLUSION_INVALID:{sid}"));
            }
        }
        "DEPLOY_AUTH" => {
            // `"policy_satisfied" in conclusion`: substring, list or dict-key membership;
            // other types raise TypeError.
            let contains = match step.conclusion.kind() {
                K::Str(s) => s.contains("policy_satisfied"),
                K::Arr(a) => a.iter().any(|x| eq_str(x, "policy_satisfied")),
                K::Obj(o) => o.contains_key("policy_satisfied"),
                _ => {
                    f.push(format!("PROOF_STEP_MALFORMED:{sid}:conclusion"));
                    return;
                }
            };
            if !contains && !expected_final.is(step.conclusion) {
                f.push(format!("VRP_DEPLOY_AUTH_CONCLUSION_INVALID:{sid}"));
            }
            if step.premises.is_empty() {
                f.push(format!("VRP_DEPLOY_AUTH_PREMISE_REQUIRED:{sid}"));
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Quorum(A)
// ---------------------------------------------------------------------------------------------

fn quorum_finality(cert: &Cert<'_>, digest: &str, keys: &Keys, cfg: &CheckerConfig) -> Vec<String> {
    let mut f: Vec<String> = Vec::new();
    let mut seen: PyMap<'_, ()> = PyMap::with_capacity(cert.attestations.len());
    let mut payload: Vec<u8> = Vec::with_capacity(512);
    let (mut acc, mut total) = (0.0f64, 0.0f64);
    for (i, a) in cert.attestations.iter().enumerate() {
        let vid = py_str(a.validator_id);
        if !is_hashable(a.validator_id) {
            // `validator_id in seen` raises TypeError.
            f.push(format!("QUORUM_ATTESTATION_MALFORMED:#{i}:validator_id"));
            continue;
        }
        if seen.contains(a.validator_id) {
            f.push(format!("QUORUM_DUPLICATE_VALIDATOR:{vid}"));
            continue;
        }
        seen.insert(a.validator_id, ());
        if !eq_str(a.certificate_digest, digest) {
            f.push(format!("QUORUM_DIGEST_MISMATCH:{vid}"));
            continue;
        }
        let Some(mac) = a.validator_id.as_str().and_then(|id| keys.validator(id)) else {
            f.push(format!("QUORUM_VALIDATOR_UNKNOWN:{vid}"));
            continue;
        };
        if !is_truthy(a.signature) {
            f.push(format!("QUORUM_SIGNATURE_INVALID:{vid}"));
            continue;
        }
        // `compare_digest` raises TypeError on non-ASCII or non-string input.
        let Some(sig) = a.signature.as_str().filter(|s| s.is_ascii()) else {
            f.push(format!("QUORUM_SIGNATURE_MALFORMED:{vid}"));
            continue;
        };
        let valid = mac.is_some_and(|mac| {
            // Encode into a reused buffer, then one MAC update (no staging through the
            // writer's buffer into the MAC's block buffer).
            payload.clear();
            write_attestation_payload(&mut payload, a);
            let mut m = mac.clone();
            m.update(&payload);
            let tag = hex64(&m.finalize().into_bytes().into());
            ct_eq(&tag, sig.as_bytes())
        });
        if !valid {
            f.push(format!("QUORUM_SIGNATURE_INVALID:{vid}"));
            continue;
        }
        if !is_hashable(a.decision) {
            // `decision not in {...}` raises TypeError.
            f.push(format!("QUORUM_ATTESTATION_MALFORMED:{vid}:decision"));
            continue;
        }
        let accept = eq_str(a.decision, "accept");
        if !(accept || eq_str(a.decision, "reject") || eq_str(a.decision, "dispute")) {
            f.push(format!("QUORUM_DECISION_INVALID:{vid}"));
            continue;
        }
        total += a.stake;
        if accept {
            acc += a.stake;
        }
    }
    if total <= 0.0 {
        f.push("QUORUM_NO_VALID_ATTESTATIONS".into());
    }
    if acc < cfg.quorum.required_weight(total) {
        f.push("QUORUM_INSUFFICIENT_ACCEPT_WEIGHT".into());
    }
    f
}
