//! The `maat-v1` checker: `Accept(C) = WF(P) && Auth(E) && CheckR(pi) && Quorum(A) && !dup`,
//! every check always run, failures in that order (section 4 and 10).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use maat_crypto::sig::Signature;

use crate::json::Value;
use crate::report::{Component, Failure, Report};

use super::canon::{self, Digests, EVIDENCE_SIGNATURE_DOMAIN};
use super::logic::{self, LeafIndex, ObjectFacts, PolicyModel, SupportEnv};
use super::model::{Certificate, EvidenceObject, VALID_RULES};
use super::parse::parse_certificate;
use super::registry::{IdentityRecord, RegisteredPolicy, Registry};

/// The evidence types every certificate must carry (the request bindings).
const BASE_TYPES: [&str; 3] = [
    "build_artifact",
    "commit_snapshot",
    "environment_descriptor",
];

/// Where and when a certificate is checked. `now` is always the block timestamp (10.4).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckContext {
    /// The timestamp of the block being voted on, in POSIX seconds.
    pub block_time: f64,
    /// How far (seconds) evidence may be dated after `block_time` (chain parameter).
    pub max_clock_skew: f64,
}

impl CheckContext {
    /// The chain's default `max_clock_skew`.
    pub const DEFAULT_MAX_CLOCK_SKEW: f64 = 30.0;

    /// A context at `block_time` with the default clock skew.
    pub fn at(block_time: f64) -> Self {
        CheckContext {
            block_time,
            max_clock_skew: Self::DEFAULT_MAX_CLOCK_SKEW,
        }
    }

    fn is_valid(&self) -> bool {
        // A NaN block time would make every time comparison false, i.e. fail open.
        self.block_time.is_finite() && self.max_clock_skew.is_finite() && self.max_clock_skew >= 0.0
    }
}

/// Failures by component, concatenated in report order at the end.
#[derive(Default)]
struct Out {
    certificate: Vec<Failure>,
    wf: Vec<Failure>,
    auth: Vec<Failure>,
    checkr: Vec<Failure>,
    quorum: Vec<Failure>,
    ledger: Vec<Failure>,
}

fn failure(component: Component, code: String, message: String) -> Failure {
    Failure {
        component,
        code,
        message,
    }
}

impl Out {
    fn push(&mut self, component: Component, code: impl Into<String>, message: impl Into<String>) {
        let f = failure(component, code.into(), message.into());
        match component {
            Component::WfPolicy => self.wf.push(f),
            Component::AuthEvidence => self.auth.push(f),
            Component::CheckR => self.checkr.push(f),
            Component::Quorum => self.quorum.push(f),
            Component::Ledger => self.ledger.push(f),
            Component::Parse | Component::Certificate => self.certificate.push(f),
        }
    }
}

/// Checks certificate bytes under `maat-v1` against the registry at the block's state.
/// Never panics; any problem is a rejection with a stable code.
pub fn check(bytes: &[u8], registry: &dyn Registry, ctx: &CheckContext) -> Report {
    if !ctx.is_valid() {
        return rejected_early(failure(
            Component::Certificate,
            "CHECK_CONTEXT_INVALID".into(),
            format!(
                "the block time ({}) and max clock skew ({}) must be finite, the skew >= 0",
                ctx.block_time, ctx.max_clock_skew
            ),
        ));
    }
    match parse_certificate(bytes) {
        Ok(cert) => check_certificate(&cert, registry, ctx),
        Err(e) => rejected_early(failure(Component::Parse, e.code(), e.to_string())),
    }
}

fn rejected_early(f: Failure) -> Report {
    Report {
        failures: vec![f],
        ..Report::default()
    }
}

/// Checks a certificate produced by [`parse_certificate`] (its invariants: limits, finite
/// timestamps). Use [`check`] on bytes.
pub(crate) fn check_certificate(
    c: &Certificate,
    registry: &dyn Registry,
    ctx: &CheckContext,
) -> Report {
    if !ctx.is_valid() {
        return rejected_early(failure(
            Component::Certificate,
            "CHECK_CONTEXT_INVALID".into(),
            "the block time and max clock skew must be finite, the skew >= 0".into(),
        ));
    }
    let digests = canon::digests(c);
    let mut out = Out::default();
    request_fields(c, &mut out);
    let registered = registry.policy(&c.request.service, &c.request.environment);
    let model = wf_policy(c, registered.as_deref(), &digests, &mut out);
    let env = SupportEnv {
        request: &c.request,
        policy_environment: &c.policy.environment,
    };
    let auth = auth_evidence(
        c,
        registry,
        registered.as_deref(),
        &digests,
        ctx,
        &model,
        &env,
        &mut out,
    );
    check_proof(c, &model, &auth, &env, &mut out);
    if c.attestations > 0 {
        out.push(
            Component::Quorum,
            "CERTIFICATE_ATTESTATIONS_FORBIDDEN",
            format!(
                "a submitted certificate carries no attestations ({} found): its quorum is the \
                 commit certificate of the block that finalizes it",
                c.attestations
            ),
        );
    }
    if registry.deployment_finalized(&c.request.deployment_id) {
        out.push(
            Component::Ledger,
            "DEPLOYMENT_DUPLICATE",
            format!(
                "deployment `{}` was already finalized on this chain",
                c.request.deployment_id
            ),
        );
    }
    let wf_policy = out.wf.is_empty();
    let auth_evidence = out.auth.is_empty();
    let check_proof = out.checkr.is_empty();
    let quorum = out.quorum.is_empty();
    let mut failures = out.certificate;
    failures.extend(out.wf);
    failures.extend(out.auth);
    failures.extend(out.checkr);
    failures.extend(out.quorum);
    failures.extend(out.ledger);
    Report {
        accepted: failures.is_empty(),
        wf_policy,
        auth_evidence,
        check_proof,
        quorum,
        failures,
        certificate_digest: digests.certificate_digest,
        policy_root: digests.policy_root,
        evidence_root: digests.evidence_root,
        proof_root: digests.proof_root,
    }
}

/// `REQUEST_FIELD_REQUIRED:<field>`: every request field is bound or looked up by something,
/// so none may be empty.
fn request_fields(c: &Certificate, out: &mut Out) {
    let r = &c.request;
    let fields = [
        ("deployment_id", &r.deployment_id),
        ("service", &r.service),
        ("environment", &r.environment),
        ("commit_sha", &r.commit_sha),
        ("artifact_hash", &r.artifact_hash),
        ("requested_by", &r.requested_by),
    ];
    for (name, v) in fields {
        if v.is_empty() {
            out.push(
                Component::Certificate,
                format!("REQUEST_FIELD_REQUIRED:{name}"),
                format!("request.{name} is empty"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// WF(P)
// ---------------------------------------------------------------------------------------------

fn wf_policy(
    c: &Certificate,
    registered: Option<&RegisteredPolicy>,
    digests: &Digests,
    out: &mut Out,
) -> PolicyModel {
    let mut findings = Vec::new();
    let model = logic::well_formed(&c.policy, &mut findings);
    for (code, msg) in findings {
        out.push(Component::WfPolicy, code, msg);
    }
    if c.policy.environment != c.request.environment {
        out.push(
            Component::WfPolicy,
            "POLICY_ENVIRONMENT_MISMATCH",
            format!(
                "the policy is for environment `{}` but the request deploys to `{}`",
                c.policy.environment, c.request.environment
            ),
        );
    }
    match registered {
        None => out.push(
            Component::WfPolicy,
            "POLICY_NOT_REGISTERED",
            format!(
                "no policy is registered for service `{}` in environment `{}`",
                c.request.service, c.request.environment
            ),
        ),
        Some(rp) if rp.policy_root != digests.policy_root => out.push(
            Component::WfPolicy,
            "POLICY_MISMATCH",
            format!(
                "the certificate's policy (root {}) is not the registered one (root {})",
                digests.policy_root, rp.policy_root
            ),
        ),
        Some(_) => {}
    }
    model
}

// ---------------------------------------------------------------------------------------------
// Auth(E)
// ---------------------------------------------------------------------------------------------

/// What CheckR needs from Auth(E).
struct AuthResult<'c> {
    /// `evidence_id -> index` of its first occurrence.
    by_id: HashMap<&'c str, usize>,
    /// Per object (input order): hash valid, signature valid under an active key of an
    /// authorised, unrevoked signer, and not a duplicate id; for an `attestation_ref`, also a
    /// well-formed value citing a finalized attestation that matches it (step 5b).
    authenticated: Vec<bool>,
    /// Per object: the signer's record when it was found.
    signers: Vec<Option<Arc<IdentityRecord>>>,
    /// Per object: what it can support, extracted once.
    facts: Vec<ObjectFacts<'c>>,
    /// Truth value of each leaf of the policy model.
    truth: Vec<bool>,
}

impl AuthResult<'_> {
    fn signer_has_role(&self, i: usize, role: &str) -> bool {
        self.signers
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|r| r.has_role(role))
    }
}

/// How an evidence signature fared.
enum SigOutcome {
    Valid,
    Invalid(String),
    Unauthorized(String),
}

/// Verifies once under the active keys; the rotated-out keys are tried only to tell an
/// outdated key from a bad signature (failure path only).
fn verify_evidence_signature(
    obj: &EvidenceObject,
    rec: &IdentityRecord,
    registry: &dyn Registry,
) -> SigOutcome {
    let sig = match Signature::from_text(&obj.signature) {
        Ok(s) => s,
        Err(e) => return SigOutcome::Invalid(format!("the signature does not decode: {e}")),
    };
    let alg = sig.algorithm();
    let msg = obj.hash.as_bytes();
    let ok = |keys: &[maat_crypto::sig::PublicKey]| {
        keys.iter()
            .filter(|k| k.algorithm() == alg)
            .any(|k| k.verify(EVIDENCE_SIGNATURE_DOMAIN, msg, &sig).is_ok())
    };
    // Signatures verified earlier (mempool admission) are not verified again on the voting path.
    let active_ok = rec
        .active_keys
        .iter()
        .filter(|k| k.algorithm() == alg)
        .any(|k| {
            registry.evidence_signature_verified(k, msg, &sig)
                || (k.verify(EVIDENCE_SIGNATURE_DOMAIN, msg, &sig).is_ok() && {
                    registry.remember_evidence_signature(k, msg, &sig);
                    true
                })
        });
    if active_ok {
        SigOutcome::Valid
    } else if ok(&rec.rotated_out_keys) {
        SigOutcome::Unauthorized(format!(
            "it is signed with a key that identity `{}` rotated out",
            rec.id
        ))
    } else {
        SigOutcome::Invalid(format!(
            "the {alg} signature does not verify under any active key of `{}` over \
             \"maat/evidence/v1\\n\" || hash",
            rec.id
        ))
    }
}

#[allow(clippy::too_many_arguments)]
fn auth_evidence<'c>(
    c: &'c Certificate,
    registry: &dyn Registry,
    registered: Option<&RegisteredPolicy>,
    digests: &Digests,
    ctx: &CheckContext,
    model: &PolicyModel,
    env: &SupportEnv<'_>,
    out: &mut Out,
) -> AuthResult<'c> {
    let n = c.evidence.len();
    let mut res = AuthResult {
        by_id: HashMap::with_capacity(n),
        authenticated: vec![false; n],
        signers: vec![None; n],
        facts: Vec::new(),
        truth: Vec::new(),
    };
    const A: Component = Component::AuthEvidence;

    // 1. Identity, hash, signer, signature: one signature verification per object.
    for (i, o) in c.evidence.iter().enumerate() {
        let id = &o.evidence_id;
        let fresh_id = !res.by_id.contains_key(id.as_str());
        if fresh_id {
            res.by_id.insert(id, i);
        } else {
            out.push(
                A,
                format!("EVIDENCE_DUPLICATE_ID:{id}"),
                format!("evidence id `{id}` appears more than once"),
            );
        }
        let hash_ok = if o.hash.is_empty() {
            out.push(
                A,
                format!("EVIDENCE_HASH_MISSING:{id}"),
                format!("evidence `{id}` has no hash"),
            );
            false
        } else if digests.evidence_hashes.get(i) != Some(&o.hash) {
            out.push(
                A,
                format!("EVIDENCE_HASH_INVALID:{id}"),
                format!("evidence `{id}`: the stored hash is not the hash of its payload"),
            );
            false
        } else {
            true
        };
        if o.signature.is_empty() {
            out.push(
                A,
                format!("EVIDENCE_SIGNATURE_MISSING:{id}"),
                format!("evidence `{id}` is not signed"),
            );
            continue;
        }
        let Some(rec) = registry.identity(&o.signer) else {
            out.push(
                A,
                format!("EVIDENCE_SIGNER_UNKNOWN:{id}"),
                format!(
                    "evidence `{id}` names signer `{}`, which is not a registered identity",
                    o.signer
                ),
            );
            continue;
        };
        let unauthorized = |reason: String, out: &mut Out| {
            out.push(
                A,
                format!("EVIDENCE_SIGNER_UNAUTHORIZED:{id}"),
                format!("evidence `{id}`: {reason}"),
            );
        };
        if rec.revoked {
            unauthorized(format!("identity `{}` is revoked", rec.id), out);
            continue;
        }
        // Without a registered policy nothing authorises anyone; WF(P) already rejects.
        if let Some(rp) = registered
            && !rp.authorizes(&o.evidence_type, &rec)
        {
            unauthorized(
                format!(
                    "the registered policy does not authorise `{}` to sign {} evidence",
                    rec.id, o.evidence_type
                ),
                out,
            );
            continue;
        }
        // A signature over a wrong hash proves nothing; it is not verified.
        if hash_ok {
            match verify_evidence_signature(o, &rec, registry) {
                SigOutcome::Valid => {
                    if let Some(slot) = res.authenticated.get_mut(i) {
                        *slot = fresh_id;
                    }
                }
                SigOutcome::Invalid(why) => {
                    out.push(
                        A,
                        format!("EVIDENCE_SIGNATURE_INVALID:{id}"),
                        format!("evidence `{id}`: {why}"),
                    );
                }
                SigOutcome::Unauthorized(why) => unauthorized(why, out),
            }
        }
        if let Some(slot) = res.signers.get_mut(i) {
            *slot = Some(rec);
        }
    }

    // 2. Dependencies name existing objects.
    for o in &c.evidence {
        for dep in &o.dependencies {
            if !res.by_id.contains_key(dep.as_str()) {
                out.push(
                    A,
                    format!("EVIDENCE_DEPENDENCY_MISSING:{}:{dep}", o.evidence_id),
                    format!(
                        "evidence `{}` depends on `{dep}`, which is not in the bundle",
                        o.evidence_id
                    ),
                );
            }
        }
    }

    // 3. The binding types are always required.
    let types: HashSet<&str> = c
        .evidence
        .iter()
        .map(|o| o.evidence_type.as_str())
        .collect();
    for ty in BASE_TYPES {
        if !types.contains(ty) {
            out.push(
                A,
                format!("EVIDENCE_REQUIRED_MISSING:{ty}"),
                format!("the bundle has no {ty} evidence"),
            );
        }
    }

    // 4. Time, always against the block time: not from the future, not stale.
    let freshness: HashMap<&str, f64> = c
        .policy
        .freshness_seconds
        .iter()
        .filter_map(|(k, v)| logic::freshness_value(v).map(|x| (k.as_str(), x)))
        .collect();
    for o in &c.evidence {
        let id = &o.evidence_id;
        if o.timestamp - ctx.block_time > ctx.max_clock_skew {
            out.push(
                A,
                format!("EVIDENCE_FROM_FUTURE:{id}"),
                format!(
                    "evidence `{id}` is dated {} s after the block time (max clock skew {} s)",
                    o.timestamp - ctx.block_time,
                    ctx.max_clock_skew
                ),
            );
        }
        if let Some(&max_age) = freshness.get(o.evidence_type.as_str())
            && ctx.block_time - o.timestamp > max_age
        {
            out.push(
                A,
                format!("EVIDENCE_STALE:{id}"),
                format!(
                    "evidence `{id}` is {} s old at the block time; {} evidence may be at most \
                     {max_age} s old",
                    ctx.block_time - o.timestamp,
                    o.evidence_type
                ),
            );
        }
    }

    // 5. Bindings: every object of a binding type, and every deployment_id.
    let r = &c.request;
    for o in &c.evidence {
        let id = &o.evidence_id;
        let binding = match o.evidence_type.as_str() {
            "commit_snapshot" => Some((
                "commit_sha",
                r.commit_sha.as_str(),
                "EVIDENCE_COMMIT_MISMATCH",
            )),
            "build_artifact" => Some((
                "artifact_hash",
                r.artifact_hash.as_str(),
                "EVIDENCE_ARTIFACT_MISMATCH",
            )),
            "environment_descriptor" => Some((
                "environment",
                r.environment.as_str(),
                "EVIDENCE_ENVIRONMENT_MISMATCH",
            )),
            _ => None,
        };
        if let Some((field, want, code)) = binding
            && o.value.get(field).and_then(Value::as_str) != Some(want)
        {
            out.push(
                A,
                format!("{code}:{id}"),
                format!("evidence `{id}`: value.{field} is not the request's `{want}`"),
            );
        }
        match o.value.get("deployment_id") {
            None | Some(Value::Null) => {}
            Some(v) if v.as_str() == Some(r.deployment_id.as_str()) => {}
            Some(_) => out.push(
                A,
                format!("EVIDENCE_DEPLOYMENT_MISMATCH:{id}"),
                format!(
                    "evidence `{id}` is bound to another deployment than `{}`",
                    r.deployment_id
                ),
            ),
        }
    }

    // 5b. Attestation references, against the finalized attestations in the registry. A
    // reference that fails is not usable evidence, whatever its signature.
    for (i, o) in c.evidence.iter().enumerate() {
        if o.evidence_type != "attestation_ref" {
            continue;
        }
        let id = &o.evidence_id;
        let failed = match logic::attestation_ref(&o.value) {
            Err(why) => Some((
                format!("EVIDENCE_ATTESTATION_REF_INVALID:{id}"),
                format!("evidence `{id}`: {why}"),
            )),
            Ok(r) => match registry.attestation(r.log_index) {
                None => Some((
                    format!("EVIDENCE_ATTESTATION_NOT_FOUND:{id}"),
                    format!(
                        "evidence `{id}` cites log index {}, where no attestation is finalized",
                        r.log_index
                    ),
                )),
                Some(entry) if entry.predicate_type != r.predicate_type => Some((
                    format!("EVIDENCE_ATTESTATION_MISMATCH:{id}"),
                    format!(
                        "evidence `{id}` claims predicate type `{}`, but the attestation at log \
                         index {} has `{}`",
                        r.predicate_type, r.log_index, entry.predicate_type
                    ),
                )),
                Some(entry) if !entry.subjects.iter().any(|s| s == r.subject) => Some((
                    format!("EVIDENCE_ATTESTATION_MISMATCH:{id}"),
                    format!(
                        "evidence `{id}` claims subject `{}`, which the attestation at log index \
                         {} does not list",
                        r.subject, r.log_index
                    ),
                )),
                Some(_) => None,
            },
        };
        if let Some((code, msg)) = failed {
            out.push(A, code, msg);
            if let Some(slot) = res.authenticated.get_mut(i) {
                *slot = false;
            }
        }
    }

    // 6. The policy as logic over the leaves' truth values.
    res.facts = c
        .evidence
        .iter()
        .enumerate()
        .map(|(i, o)| ObjectFacts::of(o, env, &|role| res.signer_has_role(i, role)))
        .collect();
    let index = LeafIndex::build(&res.facts, &|i| {
        res.authenticated.get(i).copied().unwrap_or(false)
    });
    res.truth = model.leaves.iter().map(|l| index.truth(l, env)).collect();
    let mut wrong = Vec::new();
    for root in &model.roots {
        logic::explain_false(root, true, &res.truth, &mut wrong);
    }
    let mut seen = HashSet::new();
    for (leaf_idx, want) in wrong {
        let Some(leaf) = model.leaves.get(leaf_idx) else {
            continue;
        };
        let (code, msg) = if want {
            leaf.false_code()
        } else {
            let label = leaf.label();
            (
                format!("EVIDENCE_NEGATED_LEAF_HOLDS:{label}"),
                format!("the policy needs `{label}` to be false, and the evidence shows it holds"),
            )
        };
        if seen.insert(code.clone()) {
            out.push(A, code, msg);
        }
    }
    let satisfied = model.roots.iter().all(|r| logic::eval(r, &res.truth));
    if !satisfied && out.auth.is_empty() && out.wf.is_empty() {
        // Unreachable by construction (a false policy always explains itself); never fail open.
        out.push(
            A,
            "EVIDENCE_POLICY_NOT_SATISFIED",
            "the policy does not hold on the evidence",
        );
    }
    res
}

// ---------------------------------------------------------------------------------------------
// CheckR
// ---------------------------------------------------------------------------------------------

fn check_proof(
    c: &Certificate,
    model: &PolicyModel,
    auth: &AuthResult<'_>,
    env: &SupportEnv<'_>,
    out: &mut Out,
) {
    const R: Component = Component::CheckR;
    let steps = &c.proof.steps;
    let expected = format!("deploy_authorized:{}", c.request.deployment_id);
    if steps.is_empty() {
        out.push(R, "VRP_STEPS_REQUIRED", "the derivation has no steps");
    }
    // First occurrence of each step id, for premise classification in O(1).
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        first.entry(s.step_id.as_str()).or_insert(i);
    }
    // Backward premise edges only: the derivation is a DAG by construction.
    let mut edges: Vec<Vec<usize>> = Vec::with_capacity(steps.len());
    // The leaf each valid leaf step proves.
    let mut proves: Vec<Option<usize>> = vec![None; steps.len()];
    let mut seen_ids: HashSet<&str> = HashSet::with_capacity(steps.len());

    for (i, s) in steps.iter().enumerate() {
        let sid = &s.step_id;
        if sid.is_empty() {
            out.push(
                R,
                "VRP_STEP_ID_REQUIRED",
                format!("step {i} has an empty step_id"),
            );
        } else if !seen_ids.insert(sid) {
            out.push(
                R,
                format!("VRP_STEP_DUPLICATE:{sid}"),
                format!("step id `{sid}` is used twice"),
            );
        }
        if !VALID_RULES.contains(&s.rule.as_str()) {
            out.push(
                R,
                format!("VRP_RULE_UNKNOWN:{}", s.rule),
                format!("step `{sid}` uses unknown rule `{}`", s.rule),
            );
        }
        let mut back = Vec::with_capacity(s.premises.len());
        let mut cycle = false;
        for p in &s.premises {
            match first.get(p.as_str()) {
                Some(&j) if j < i => back.push(j),
                Some(_) => cycle = true,
                None => out.push(
                    R,
                    format!("VRP_PREMISE_MISSING:{sid}:{p}"),
                    format!("step `{sid}` cites premise `{p}`, which is no step"),
                ),
            }
        }
        if cycle {
            out.push(
                R,
                format!("VRP_PREMISE_CYCLE:{sid}"),
                format!(
                    "step `{sid}` cites itself or a later step; premises must name earlier steps"
                ),
            );
        }
        let mut refs: Vec<usize> = Vec::with_capacity(s.evidence_refs.len());
        for r in &s.evidence_refs {
            match auth.by_id.get(r.as_str()) {
                Some(&j) => refs.push(j),
                None => out.push(
                    R,
                    format!("VRP_EVIDENCE_REF_MISSING:{sid}:{r}"),
                    format!("step `{sid}` cites evidence `{r}`, which is not in the bundle"),
                ),
            }
        }
        let rule = s.rule.as_str();
        match rule {
            "TEST_PASS" | "VULN_OK" | "HUMAN_ATTESTED" | "ROLLBACK_READY" | "CANARY_READY"
            | "ENVIRONMENT_MATCH" | "ARTIFACT_ATTESTED" => {
                if rule == "ENVIRONMENT_MATCH" && c.policy.environment != c.request.environment {
                    out.push(
                        R,
                        format!("VRP_ENVIRONMENT_POLICY_MISMATCH:{sid}"),
                        format!("step `{sid}`: the policy's environment is not the request's"),
                    );
                }
                let leaf_idx = model
                    .labels
                    .get(s.conclusion.as_str())
                    .copied()
                    .filter(|&l| model.leaves.get(l).is_some_and(|leaf| leaf.rule() == rule));
                let Some((l, leaf)) = leaf_idx.and_then(|l| model.leaves.get(l).map(|x| (l, x)))
                else {
                    out.push(
                        R,
                        format!("VRP_STEP_CONCLUSION_INVALID:{sid}"),
                        format!(
                            "step `{sid}` ({rule}) concludes `{}`, which is not a {rule} leaf of the policy",
                            s.conclusion
                        ),
                    );
                    edges.push(back);
                    continue;
                };
                let supported = refs.iter().any(|&j| {
                    auth.authenticated.get(j).copied().unwrap_or(false)
                        && auth.facts.get(j).is_some_and(|f| f.supports(leaf, env))
                });
                if supported {
                    if let Some(slot) = proves.get_mut(i) {
                        *slot = Some(l);
                    }
                } else {
                    out.push(
                        R,
                        leaf.unsupported_code(sid),
                        format!(
                            "step `{sid}` concludes `{}` but cites no authenticated {} that supports it",
                            s.conclusion,
                            leaf.evidence_type()
                        ),
                    );
                }
            }
            "SIGNATURE_VALID" if refs.is_empty() => {
                out.push(
                    R,
                    format!("VRP_SIGNATURE_REF_REQUIRED:{sid}"),
                    format!("step `{sid}` cites no resolvable evidence"),
                );
            }
            "EVIDENCE_BOUND" => {
                if s.evidence_refs.is_empty() {
                    out.push(
                        R,
                        format!("VRP_EVIDENCE_BOUND_REF_REQUIRED:{sid}"),
                        format!("step `{sid}` cites no evidence"),
                    );
                }
                for &j in &refs {
                    let bound = auth.facts.get(j).is_some_and(|f| f.bound_to_request);
                    if !bound {
                        out.push(
                            R,
                            format!("VRP_EVIDENCE_NOT_BOUND:{sid}"),
                            format!(
                                "step `{sid}` cites evidence that does not name deployment `{}`",
                                c.request.deployment_id
                            ),
                        );
                    }
                }
            }
            "POLICY_SATISFIED" => {
                if s.premises.is_empty() {
                    out.push(
                        R,
                        format!("VRP_POLICY_PREMISES_REQUIRED:{sid}"),
                        format!("step `{sid}` has no premises"),
                    );
                }
                if s.conclusion != "policy_satisfied" {
                    out.push(
                        R,
                        format!("VRP_POLICY_CONCLUSION_INVALID:{sid}"),
                        format!("step `{sid}` must conclude exactly `policy_satisfied`"),
                    );
                }
            }
            "DEPLOY_AUTH" => {
                if s.conclusion != expected {
                    out.push(
                        R,
                        format!("VRP_DEPLOY_AUTH_CONCLUSION_INVALID:{sid}"),
                        format!("step `{sid}` must conclude exactly `{expected}`"),
                    );
                }
                let on_policy = back
                    .iter()
                    .any(|&j| steps.get(j).is_some_and(|p| p.rule == "POLICY_SATISFIED"));
                if !on_policy {
                    out.push(
                        R,
                        format!("VRP_DEPLOY_AUTH_PREMISE_REQUIRED:{sid}"),
                        format!("step `{sid}` must cite an earlier POLICY_SATISFIED step"),
                    );
                }
            }
            _ => {}
        }
        edges.push(back);
    }

    if c.proof.final_conclusion != expected {
        out.push(
            R,
            "VRP_FINAL_CONCLUSION_MISMATCH",
            format!("final_conclusion must be exactly `{expected}`"),
        );
    }
    let last = steps.last();
    if !last.is_some_and(|s| s.rule == "DEPLOY_AUTH" && s.conclusion == expected) {
        out.push(
            R,
            "VRP_FINAL_STEP_MISMATCH",
            format!("the last step must be a DEPLOY_AUTH step concluding `{expected}`"),
        );
    }

    // Coverage: the leaves proved by steps that the POLICY_SATISFIED premises of the final
    // DEPLOY_AUTH step depend on (transitively).
    let mut covered = vec![false; model.leaves.len()];
    if let Some(last_idx) = steps
        .len()
        .checked_sub(1)
        .filter(|_| last.is_some_and(|s| s.rule == "DEPLOY_AUTH"))
    {
        let mut visited = vec![false; steps.len()];
        let mut stack: Vec<usize> = edges
            .get(last_idx)
            .map(|b| {
                b.iter()
                    .copied()
                    .filter(|&j| steps.get(j).is_some_and(|s| s.rule == "POLICY_SATISFIED"))
                    .collect()
            })
            .unwrap_or_default();
        while let Some(k) = stack.pop() {
            if visited.get(k).copied().unwrap_or(true) {
                continue;
            }
            if let Some(v) = visited.get_mut(k) {
                *v = true;
            }
            if let Some(Some(l)) = proves.get(k)
                && let Some(cv) = covered.get_mut(*l)
            {
                *cv = true;
            }
            if let Some(b) = edges.get(k) {
                stack.extend(b.iter().copied());
            }
        }
    }
    let mut uncovered = Vec::new();
    for root in &model.roots {
        logic::explain_uncovered(root, true, &auth.truth, &covered, &mut uncovered);
    }
    let mut seen = HashSet::new();
    for l in uncovered {
        if let Some(leaf) = model.leaves.get(l) {
            let label = leaf.label();
            if seen.insert(l) {
                out.push(
                    R,
                    format!("VRP_POLICY_NOT_COVERED:{label}"),
                    format!(
                        "the policy needs `{label}`, and no valid {} step that the final POLICY_SATISFIED step depends on concludes it",
                        leaf.rule()
                    ),
                );
            }
        }
    }
}
