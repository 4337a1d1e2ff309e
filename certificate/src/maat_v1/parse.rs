//! Strict parsing of a `maat-v1` certificate (section 10.5) with the size limits of 10.8.
//!
//! Two layers: [`crate::json::parse`] in [`ParseMode::Strict`] rejects duplicate keys,
//! NaN/Infinity, overflowing numbers, lone surrogates and bad UTF-8; this module then moves
//! the [`Value`] tree into the typed [`Certificate`] without copying strings, rejecting
//! unknown fields, missing fields and wrong JSON types on the way. The first problem found
//! ends parsing (one failure is reported).
//!
//! Field paths (`CERTIFICATE_FIELD_UNKNOWN:<path>`, `CERTIFICATE_FIELD_MISSING:<path>`) are
//! written from the certificate root: object keys joined with `.`, array positions as `[i]`
//! (0-based, input order), e.g. `evidence.objects[2].value_x` or
//! `policy.predicates[0].params.children[1].params.suite`. A key that is not made only of
//! ASCII letters, digits, `_` and `-` is written as a canonical JSON string in brackets, e.g.
//! `request["a.b"]`, so a path can always be read back unambiguously.

use crate::json::{self, CanonWriter, JsonInt, Object, ParseMode, Value};

use super::limits::{
    MAX_CERTIFICATE_BYTES, MAX_EVIDENCE_OBJECTS, MAX_PREDICATE_DEPTH, MAX_PREDICATES,
    MAX_PROOF_STEPS,
};
use super::model::{
    Certificate, EvidenceObject, Policy, Predicate, PredicateParams, Proof, ProofStep, Request,
    leaf_param_keys,
};

/// Which size limit of section 10.8 was exceeded (the `:<param>` of `CERTIFICATE_TOO_LARGE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// More than [`MAX_CERTIFICATE_BYTES`] of JSON.
    Bytes,
    /// More than [`MAX_EVIDENCE_OBJECTS`] evidence objects.
    Evidence,
    /// More than [`MAX_PROOF_STEPS`] proof steps.
    Steps,
    /// More than [`MAX_PREDICATES`] predicates (every node counts, combinators included).
    Predicates,
    /// Predicates nested more than [`MAX_PREDICATE_DEPTH`] deep (a top-level predicate is at
    /// depth 1).
    Depth,
}

impl Limit {
    /// The code parameter: `bytes`, `evidence`, `steps`, `predicates`, `depth`.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Bytes => "bytes",
            Limit::Evidence => "evidence",
            Limit::Steps => "steps",
            Limit::Predicates => "predicates",
            Limit::Depth => "depth",
        }
    }

    /// The limit's value.
    pub fn max(self) -> usize {
        match self {
            Limit::Bytes => MAX_CERTIFICATE_BYTES,
            Limit::Evidence => MAX_EVIDENCE_OBJECTS,
            Limit::Steps => MAX_PROOF_STEPS,
            Limit::Predicates => MAX_PREDICATES,
            Limit::Depth => MAX_PREDICATE_DEPTH,
        }
    }
}

/// Why a certificate could not be parsed. Every variant is reported under component `Parse`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// `CERTIFICATE_TOO_LARGE:<limit>`.
    #[error("the certificate exceeds the {} limit of {}", .0.as_str(), .0.max())]
    TooLarge(Limit),
    /// `CERTIFICATE_JSON_MALFORMED`: not JSON, a duplicate key, NaN/Infinity, a lone
    /// surrogate, a wrong JSON type, a non-finite timestamp.
    #[error("malformed certificate JSON at {path}: {reason}")]
    Malformed {
        /// Field path (see the module docs), or `byte <n>` for a JSON syntax error.
        path: String,
        reason: String,
    },
    /// `CERTIFICATE_FIELD_UNKNOWN:<path>`.
    #[error("unknown field {0}")]
    FieldUnknown(String),
    /// `CERTIFICATE_FIELD_MISSING:<path>`.
    #[error("missing field {0}")]
    FieldMissing(String),
}

impl ParseError {
    /// The failure code, with its parameter.
    pub fn code(&self) -> String {
        match self {
            ParseError::TooLarge(l) => format!("CERTIFICATE_TOO_LARGE:{}", l.as_str()),
            ParseError::Malformed { .. } => "CERTIFICATE_JSON_MALFORMED".to_owned(),
            ParseError::FieldUnknown(p) => format!("CERTIFICATE_FIELD_UNKNOWN:{p}"),
            ParseError::FieldMissing(p) => format!("CERTIFICATE_FIELD_MISSING:{p}"),
        }
    }
}

/// Parses certificate bytes strictly into the typed model. Never panics.
pub fn parse_certificate(bytes: &[u8]) -> Result<Certificate, ParseError> {
    // Checked before any parsing work, so an oversized input costs nothing.
    if bytes.len() > MAX_CERTIFICATE_BYTES {
        return Err(ParseError::TooLarge(Limit::Bytes));
    }
    let root = json::parse(bytes, ParseMode::Strict).map_err(|e| ParseError::Malformed {
        path: format!("byte {}", e.offset),
        reason: e.reason,
    })?;
    certificate(root, &Path::ROOT)
}

/// Parses a policy object alone (the `policy` member of a certificate), for registries and
/// builders that need its `policy_root`.
pub fn parse_policy(bytes: &[u8]) -> Result<Policy, ParseError> {
    if bytes.len() > MAX_CERTIFICATE_BYTES {
        return Err(ParseError::TooLarge(Limit::Bytes));
    }
    let root = json::parse(bytes, ParseMode::Strict).map_err(|e| ParseError::Malformed {
        path: format!("byte {}", e.offset),
        reason: e.reason,
    })?;
    policy(root, &Path::ROOT.key("policy"))
}

// ---------------------------------------------------------------------------------------------
// Paths: a stack-allocated chain, rendered only when an error is reported.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

#[derive(Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };

    fn key<'b>(&'b self, k: &'b str) -> Path<'b> {
        Path {
            parent: Some(self),
            seg: Seg::Key(k),
        }
    }

    fn index(&self, i: usize) -> Path<'_> {
        Path {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }

    fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) if is_plain_key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Key(k) => {
                    let mut buf = Vec::new();
                    CanonWriter::new(&mut buf).string(k);
                    out.push('[');
                    out.push_str(&String::from_utf8_lossy(&buf));
                    out.push(']');
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        if out.is_empty() {
            "(root)".to_owned()
        } else {
            out
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> ParseError {
        ParseError::Malformed {
            path: self.render(),
            reason: reason.into(),
        }
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

// ---------------------------------------------------------------------------------------------
// Field extraction
// ---------------------------------------------------------------------------------------------

/// Moves the members of an object into slots named by `names`; any other key is an error.
fn fields<const N: usize>(
    v: Value,
    names: [&str; N],
    path: &Path<'_>,
) -> Result<[Option<Value>; N], ParseError> {
    let Value::Object(obj) = v else {
        return Err(path.malformed(format!("expected an object, found {}", kind(&v))));
    };
    let mut slots: [Option<Value>; N] = std::array::from_fn(|_| None);
    for (k, val) in obj.entries {
        match names.iter().position(|n| *n == k) {
            Some(i) => {
                if let Some(slot) = slots.get_mut(i) {
                    *slot = Some(val);
                }
            }
            None => return Err(ParseError::FieldUnknown(path.key(&k).render())),
        }
    }
    Ok(slots)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a float",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn required(slot: Option<Value>, name: &str, path: &Path<'_>) -> Result<Value, ParseError> {
    slot.ok_or_else(|| ParseError::FieldMissing(path.key(name).render()))
}

fn string(slot: Option<Value>, name: &str, path: &Path<'_>) -> Result<String, ParseError> {
    match required(slot, name, path)? {
        Value::String(s) => Ok(s),
        other => Err(path
            .key(name)
            .malformed(format!("expected a string, found {}", kind(&other)))),
    }
}

fn array(slot: Option<Value>, name: &str, path: &Path<'_>) -> Result<Vec<Value>, ParseError> {
    match required(slot, name, path)? {
        Value::Array(a) => Ok(a),
        other => Err(path
            .key(name)
            .malformed(format!("expected an array, found {}", kind(&other)))),
    }
}

fn object(slot: Option<Value>, name: &str, path: &Path<'_>) -> Result<Object, ParseError> {
    match required(slot, name, path)? {
        Value::Object(o) => Ok(o),
        other => Err(path
            .key(name)
            .malformed(format!("expected an object, found {}", kind(&other)))),
    }
}

fn string_list(
    slot: Option<Value>,
    name: &str,
    path: &Path<'_>,
) -> Result<Vec<String>, ParseError> {
    let items = array(slot, name, path)?;
    let p = path.key(name);
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::String(s) => out.push(s),
            other => {
                return Err(p
                    .index(i)
                    .malformed(format!("expected a string, found {}", kind(&other))));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The certificate
// ---------------------------------------------------------------------------------------------

fn certificate(root: Value, path: &Path<'_>) -> Result<Certificate, ParseError> {
    let [request_v, policy_v, evidence_v, proof_v, attestations_v] = fields(
        root,
        ["request", "policy", "evidence", "proof", "attestations"],
        path,
    )?;
    let request = request(required(request_v, "request", path)?, &path.key("request"))?;
    let policy = policy(required(policy_v, "policy", path)?, &path.key("policy"))?;
    let evidence = evidence(
        required(evidence_v, "evidence", path)?,
        &path.key("evidence"),
    )?;
    let proof = proof(required(proof_v, "proof", path)?, &path.key("proof"))?;
    // Optional, and only its length matters: the checker rejects any entry (10.6).
    let attestations = match attestations_v {
        None => 0,
        Some(Value::Array(a)) => a.len(),
        Some(other) => {
            return Err(path
                .key("attestations")
                .malformed(format!("expected an array, found {}", kind(&other))));
        }
    };
    Ok(Certificate {
        request,
        policy,
        evidence,
        proof,
        attestations,
    })
}

fn request(v: Value, path: &Path<'_>) -> Result<Request, ParseError> {
    const NAMES: [&str; 6] = [
        "deployment_id",
        "service",
        "environment",
        "commit_sha",
        "artifact_hash",
        "requested_by",
    ];
    let [a, b, c, d, e, f] = fields(v, NAMES, path)?;
    Ok(Request {
        deployment_id: string(a, NAMES[0], path)?,
        service: string(b, NAMES[1], path)?,
        environment: string(c, NAMES[2], path)?,
        commit_sha: string(d, NAMES[3], path)?,
        artifact_hash: string(e, NAMES[4], path)?,
        requested_by: string(f, NAMES[5], path)?,
    })
}

fn policy(v: Value, path: &Path<'_>) -> Result<Policy, ParseError> {
    const NAMES: [&str; 6] = [
        "policy_id",
        "version",
        "environment",
        "rule_set_id",
        "freshness_seconds",
        "predicates",
    ];
    let [id, version, env, rule_set, fresh, preds] = fields(v, NAMES, path)?;
    let policy_id = string(id, NAMES[0], path)?;
    let version: JsonInt = match required(version, NAMES[1], path)? {
        Value::Int(i) => i,
        other => {
            return Err(path
                .key(NAMES[1])
                .malformed(format!("expected an integer, found {}", kind(&other))));
        }
    };
    let environment = string(env, NAMES[2], path)?;
    let rule_set_id = string(rule_set, NAMES[3], path)?;
    let mut freshness_seconds = object(fresh, NAMES[4], path)?.entries;
    // Canonical order; strict parsing already excluded duplicate keys.
    freshness_seconds.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let items = array(preds, NAMES[5], path)?;
    let preds_path = path.key(NAMES[5]);
    let mut count = 0usize;
    let mut predicates = Vec::with_capacity(items.len().min(MAX_PREDICATES));
    for (i, item) in items.into_iter().enumerate() {
        predicates.push(predicate(item, &preds_path.index(i), 1, &mut count)?);
    }
    Ok(Policy {
        policy_id,
        version,
        environment,
        rule_set_id,
        freshness_seconds,
        predicates,
    })
}

/// One predicate at nesting `depth` (1 = top level); `count` counts every node seen so far.
fn predicate(
    v: Value,
    path: &Path<'_>,
    depth: usize,
    count: &mut usize,
) -> Result<Predicate, ParseError> {
    // Limits first, before descending: the cost of a rejected policy stays bounded.
    if depth > MAX_PREDICATE_DEPTH {
        return Err(ParseError::TooLarge(Limit::Depth));
    }
    *count += 1;
    if *count > MAX_PREDICATES {
        return Err(ParseError::TooLarge(Limit::Predicates));
    }
    let [name_v, params_v] = fields(v, ["name", "params"], path)?;
    let name = string(name_v, "name", path)?;
    let params = object(params_v, "params", path)?;
    let ppath = path.key("params");
    let params = match name.as_str() {
        "and" | "or" => {
            let [children] = fields(Value::Object(params), ["children"], &ppath)?;
            match children {
                None => PredicateParams::Children(None),
                Some(c) => {
                    let items = array(Some(c), "children", &ppath)?;
                    let cpath = ppath.key("children");
                    let mut out = Vec::with_capacity(items.len().min(MAX_PREDICATES));
                    for (i, item) in items.into_iter().enumerate() {
                        out.push(predicate(item, &cpath.index(i), depth + 1, count)?);
                    }
                    PredicateParams::Children(Some(out))
                }
            }
        }
        "not" => {
            let [child] = fields(Value::Object(params), ["child"], &ppath)?;
            match child {
                None => PredicateParams::Child(None),
                Some(c) => PredicateParams::Child(Some(Box::new(predicate(
                    c,
                    &ppath.key("child"),
                    depth + 1,
                    count,
                )?))),
            }
        }
        other => match leaf_param_keys(other) {
            Some(keys) => {
                // Values are validated by WF(P) (they hash as given); keys are checked here.
                if let Some((k, _)) = params
                    .entries
                    .iter()
                    .find(|(k, _)| !keys.contains(&k.as_str()))
                {
                    return Err(ParseError::FieldUnknown(ppath.key(k).render()));
                }
                PredicateParams::Leaf(params)
            }
            None => PredicateParams::Unknown(params),
        },
    };
    Ok(Predicate { name, params })
}

fn evidence(v: Value, path: &Path<'_>) -> Result<Vec<EvidenceObject>, ParseError> {
    let [objects] = fields(v, ["objects"], path)?;
    let items = array(objects, "objects", path)?;
    if items.len() > MAX_EVIDENCE_OBJECTS {
        return Err(ParseError::TooLarge(Limit::Evidence));
    }
    let opath = path.key("objects");
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        out.push(evidence_object(item, &opath.index(i))?);
    }
    Ok(out)
}

fn evidence_object(v: Value, path: &Path<'_>) -> Result<EvidenceObject, ParseError> {
    const NAMES: [&str; 9] = [
        "evidence_id",
        "evidence_type",
        "value",
        "source",
        "timestamp",
        "dependencies",
        "signer",
        "hash",
        "signature",
    ];
    let [id, ty, value, source, ts, deps, signer, hash, sig] = fields(v, NAMES, path)?;
    let evidence_id = string(id, NAMES[0], path)?;
    let evidence_type = string(ty, NAMES[1], path)?;
    let value = object(value, NAMES[2], path)?;
    let source = string(source, NAMES[3], path)?;
    // Coerced to float (section 3.2); a huge integer literal would become infinite.
    let timestamp = match required(ts, NAMES[4], path)? {
        Value::Float(f) => f,
        Value::Int(i) => i.to_f64(),
        other => {
            return Err(path
                .key(NAMES[4])
                .malformed(format!("expected a number, found {}", kind(&other))));
        }
    };
    if !timestamp.is_finite() {
        return Err(path
            .key(NAMES[4])
            .malformed("the timestamp is not a finite number"));
    }
    let mut dependencies = string_list(deps, NAMES[5], path)?;
    dependencies.sort_unstable();
    Ok(EvidenceObject {
        evidence_id,
        evidence_type,
        value,
        source,
        timestamp,
        dependencies,
        signer: string(signer, NAMES[6], path)?,
        hash: string(hash, NAMES[7], path)?,
        signature: string(sig, NAMES[8], path)?,
    })
}

fn proof(v: Value, path: &Path<'_>) -> Result<Proof, ParseError> {
    let [steps_v, fin] = fields(v, ["steps", "final_conclusion"], path)?;
    let items = array(steps_v, "steps", path)?;
    if items.len() > MAX_PROOF_STEPS {
        return Err(ParseError::TooLarge(Limit::Steps));
    }
    let spath = path.key("steps");
    let mut steps = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        steps.push(step(item, &spath.index(i))?);
    }
    let final_conclusion = string(fin, "final_conclusion", path)?;
    Ok(Proof {
        steps,
        final_conclusion,
    })
}

fn step(v: Value, path: &Path<'_>) -> Result<ProofStep, ParseError> {
    const NAMES: [&str; 5] = ["step_id", "rule", "conclusion", "evidence_refs", "premises"];
    let [id, rule, concl, refs, prem] = fields(v, NAMES, path)?;
    // Fields are read in NAMES order, so the first missing one is reported.
    let step_id = string(id, NAMES[0], path)?;
    let rule = string(rule, NAMES[1], path)?;
    let conclusion = string(concl, NAMES[2], path)?;
    let mut evidence_refs = string_list(refs, NAMES[3], path)?;
    evidence_refs.sort_unstable();
    let premises = string_list(prem, NAMES[4], path)?;
    Ok(ProofStep {
        step_id,
        rule,
        conclusion,
        evidence_refs,
        premises,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_keys_indices_and_quoted_keys() {
        let root = Path::ROOT;
        let ev = root.key("evidence");
        let objs = ev.key("objects");
        let two = objs.index(2);
        assert_eq!(two.key("value_x").render(), "evidence.objects[2].value_x");
        assert_eq!(two.key("a.b").render(), "evidence.objects[2][\"a.b\"]");
        assert_eq!(root.render(), "(root)");
        assert_eq!(root.key("x").render(), "x");
    }
}
