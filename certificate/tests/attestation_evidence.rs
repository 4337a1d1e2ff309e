//! `maat-v1` evidence from finalized supply-chain attestations: an `attestation_ref` evidence
//! object cites an attestation by transparency-log index, Auth(E) checks it against the
//! registry, and the leaf `artifact_attested{predicate_type}` is concluded by an
//! `ARTIFACT_ATTESTED` step citing it. One accepted certificate, then each rejection.

use std::collections::HashMap;
use std::sync::Arc;

use maat_certificate::Report;
use maat_certificate::json::{self, Object, ParseMode, Value};
use maat_certificate::maat_v1::{
    AttestationEntry, CertificateBuilder, CheckContext, EvidenceItem, IdentityRecord,
    InMemoryRegistry, Proof, ProofStep, RegisteredPolicy, Registry, Request, SignerRule,
    VALID_RULES, check,
};
use maat_crypto::sig::{Algorithm, KeyPair};

const T: f64 = 1_700_000_100.0;

const SLSA: &str = "https://slsa.dev/provenance/v1";
const VULNS: &str = "https://in-toto.io/attestation/vulns/v0.1";

/// The request's artifact: a bare SHA-256 hex digest.
const ARTIFACT: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";
/// Another digest, listed by the attestation at [`LOG_INDEX`] next to the artifact.
const OTHER: &str = "sha256:cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34";

/// Where the SLSA provenance of [`ARTIFACT`] is finalized.
const LOG_INDEX: u64 = 7;
/// An SLSA provenance that lists only [`OTHER`].
const LOG_INDEX_OTHER_ONLY: u64 = 9;

fn subject() -> String {
    format!("sha256:{ARTIFACT}")
}

fn policy_json(leaf_params: &str) -> String {
    format!(
        r#"{{"policy_id":"checkout-prod","version":1,"environment":"production","rule_set_id":"pod-v1","freshness_seconds":{{}},"predicates":[{{"name":"environment_matches","params":{{"target":"production"}}}},{{"name":"artifact_attested","params":{leaf_params}}}]}}"#
    )
}

fn policy() -> String {
    policy_json(&format!(r#"{{"predicate_type":"{SLSA}"}}"#))
}

fn label() -> String {
    format!("artifact_attested:{SLSA}")
}

/// Identities in signing order; `mallory` is registered but authorised for nothing.
const IDENTITIES: [&str; 5] = ["git-bot", "builder", "cluster", "provenance-bot", "mallory"];

fn signer_rules() -> HashMap<String, SignerRule> {
    let ids = |s: &str| SignerRule::identities([s]);
    HashMap::from([
        ("commit_snapshot".to_owned(), ids("git-bot")),
        ("build_artifact".to_owned(), ids("builder")),
        ("environment_descriptor".to_owned(), ids("cluster")),
        ("attestation_ref".to_owned(), ids("provenance-bot")),
    ])
}

fn obj(text: &str) -> Object {
    match json::parse(text.as_bytes(), ParseMode::Strict) {
        Ok(Value::Object(o)) => o,
        other => panic!("test JSON is not an object: {other:?}"),
    }
}

fn request_with(artifact_hash: &str) -> Request {
    Request {
        deployment_id: "deploy-123".into(),
        service: "checkout".into(),
        environment: "production".into(),
        commit_sha: "abc123".into(),
        artifact_hash: artifact_hash.into(),
        requested_by: "agent:planner".into(),
    }
}

fn request() -> Request {
    request_with(ARTIFACT)
}

struct Fx {
    keys: HashMap<&'static str, KeyPair>,
    registry: InMemoryRegistry,
}

impl Fx {
    /// Identities, the policy of [`policy()`] registered for `(checkout, production)`, and two
    /// finalized SLSA provenance attestations.
    fn new() -> Fx {
        let mut keys = HashMap::new();
        let mut registry = InMemoryRegistry::new();
        for (i, id) in IDENTITIES.iter().enumerate() {
            let seed = [u8::try_from(i + 1).unwrap_or(255); 32];
            let kp = KeyPair::from_seed(Algorithm::Ed25519, &seed);
            registry.add_identity(id, kp.public(), &[]);
            keys.insert(*id, kp);
        }
        registry
            .add_attestation(AttestationEntry {
                log_index: LOG_INDEX,
                predicate_type: SLSA.into(),
                subjects: vec![subject(), OTHER.into()],
                signers: vec!["builder".into()],
            })
            .add_attestation(AttestationEntry {
                log_index: LOG_INDEX_OTHER_ONLY,
                predicate_type: SLSA.into(),
                subjects: vec![OTHER.into()],
                signers: vec!["builder".into()],
            });
        let mut fx = Fx { keys, registry };
        fx.register(&policy());
        fx
    }

    fn register(&mut self, policy: &str) {
        let r = self.registry.add_policy_json(
            "checkout",
            "production",
            policy.as_bytes(),
            signer_rules(),
        );
        assert!(r.is_ok(), "fixture policy must parse: {r:?}");
    }

    fn builder(
        &self,
        request: Request,
        policy: &str,
        items: Vec<(EvidenceItem, &str)>,
    ) -> CertificateBuilder {
        let mut b = CertificateBuilder::from_policy_json(request, policy.as_bytes())
            .unwrap_or_else(|e| panic!("policy: {e}"));
        for (item, signer) in items {
            let kp = self
                .keys
                .get(signer)
                .unwrap_or_else(|| panic!("no fixture key {signer}"));
            b.add_evidence(item, signer, kp)
                .unwrap_or_else(|e| panic!("evidence: {e}"));
        }
        b
    }

    /// The certificate built with the standard derivation (what `maat cert build` emits).
    fn build(&self, request: Request, policy: &str, items: Vec<(EvidenceItem, &str)>) -> Vec<u8> {
        self.builder(request, policy, items).build()
    }

    fn check(&self, bytes: &[u8]) -> Report {
        check(bytes, &self.registry, &CheckContext::at(T))
    }
}

fn item(id: &str, ty: &str, value: &str) -> EvidenceItem {
    EvidenceItem::new(id, ty, obj(value), "test", T)
}

/// The three binding objects every certificate carries.
fn base_items(artifact_hash: &str) -> Vec<(EvidenceItem, &'static str)> {
    vec![
        (
            item(
                "artifact",
                "build_artifact",
                &format!(r#"{{"deployment_id":"deploy-123","artifact_hash":"{artifact_hash}"}}"#),
            ),
            "builder",
        ),
        (
            item(
                "commit",
                "commit_snapshot",
                r#"{"deployment_id":"deploy-123","commit_sha":"abc123"}"#,
            ),
            "git-bot",
        ),
        (
            item(
                "env",
                "environment_descriptor",
                r#"{"deployment_id":"deploy-123","environment":"production"}"#,
            ),
            "cluster",
        ),
    ]
}

fn ref_value(log_index: u64, subject: &str, predicate_type: &str) -> String {
    format!(
        r#"{{"log_index":{log_index},"subject":"{subject}","predicate_type":"{predicate_type}"}}"#
    )
}

/// The base objects plus one `attestation_ref` with id `prov`, signed by `signer`.
fn items_with_ref(value: &str, signer: &'static str) -> Vec<(EvidenceItem, &'static str)> {
    let mut items = base_items(ARTIFACT);
    items.push((item("prov", "attestation_ref", value), signer));
    items
}

fn valid_items() -> Vec<(EvidenceItem, &'static str)> {
    items_with_ref(&ref_value(LOG_INDEX, &subject(), SLSA), "provenance-bot")
}

fn codes(r: &Report) -> Vec<&str> {
    r.failures.iter().map(|f| f.code.as_str()).collect()
}

fn assert_codes(r: &Report, want: &[&str]) {
    assert!(!r.accepted, "expected a rejection with {want:?}");
    assert_eq!(codes(r), want);
    for f in &r.failures {
        assert_ne!(
            maat_certificate::codes::explain(&f.code),
            "unknown failure code",
            "{}",
            f.code
        );
    }
}

/// The codes when the only `attestation_ref` is not usable and the standard derivation still
/// cites it for the leaf.
fn unusable_ref_codes(auth_code: &str) -> Vec<String> {
    let mut v = Vec::new();
    if !auth_code.is_empty() {
        v.push(auth_code.to_owned());
    }
    v.push(format!("EVIDENCE_ARTIFACT_ATTESTATION_MISSING:{SLSA}"));
    v.push(format!("VRP_ARTIFACT_ATTESTATION_REF_MISSING:{}", label()));
    v
}

fn assert_codes_owned(r: &Report, want: &[String]) {
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_codes(r, &want);
}

// ---------------------------------------------------------------------------------------------
// Accepted
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_attestation_ref_is_accepted_with_the_standard_derivation() {
    let fx = Fx::new();
    let b = fx.builder(request(), &policy(), valid_items());
    let steps = b.certificate().proof.steps;
    let step = steps
        .iter()
        .find(|s| s.rule == "ARTIFACT_ATTESTED")
        .unwrap_or_else(|| panic!("the builder derives no ARTIFACT_ATTESTED step: {steps:?}"));
    assert_eq!(step.conclusion, label());
    assert_eq!(step.evidence_refs, ["prov"]);
    let policy_step = steps.iter().find(|s| s.rule == "POLICY_SATISFIED");
    assert!(policy_step.is_some_and(|p| p.premises.contains(&step.step_id)));

    let r = fx.check(&b.build());
    assert!(r.accepted, "{:?}", r.failures);
    assert!(r.wf_policy && r.auth_evidence && r.check_proof && r.quorum);
}

#[test]
fn rule_and_leaf_are_registered() {
    assert!(VALID_RULES.contains(&"ARTIFACT_ATTESTED"));
}

/// A bare hex `artifact_hash` is compared as `sha256:` + its lowercase form.
#[test]
fn bare_artifact_hash_is_compared_as_lowercase_sha256() {
    let fx = Fx::new();
    let upper = ARTIFACT.to_ascii_uppercase();
    let mut items = base_items(&upper);
    items.push((
        item(
            "prov",
            "attestation_ref",
            &ref_value(LOG_INDEX, &subject(), SLSA),
        ),
        "provenance-bot",
    ));
    let r = fx.check(&fx.build(request_with(&upper), &policy(), items));
    assert!(r.accepted, "{:?}", r.failures);
}

/// An `artifact_hash` with an algorithm prefix is compared exactly.
#[test]
fn prefixed_artifact_hash_is_compared_exactly() {
    let fx = Fx::new();
    let prefixed = subject();
    let mut items = base_items(&prefixed);
    items.push((
        item(
            "prov",
            "attestation_ref",
            &ref_value(LOG_INDEX, &prefixed, SLSA),
        ),
        "provenance-bot",
    ));
    let r = fx.check(&fx.build(request_with(&prefixed), &policy(), items));
    assert!(r.accepted, "{:?}", r.failures);

    // Exactly: an uppercase prefixed hash does not name the (lowercase) subject.
    let upper = format!("sha256:{}", ARTIFACT.to_ascii_uppercase());
    let mut items = base_items(&upper);
    items.push((
        item(
            "prov",
            "attestation_ref",
            &ref_value(LOG_INDEX, &prefixed, SLSA),
        ),
        "provenance-bot",
    ));
    let r = fx.check(&fx.build(request_with(&upper), &policy(), items));
    assert_codes_owned(&r, &unusable_ref_codes(""));
}

/// Evidence values are open-ended: extra keys are allowed and hashed, and `deployment_id`
/// binds an `attestation_ref` like any object.
#[test]
fn extra_value_keys_are_allowed_and_deployment_id_binds() {
    let fx = Fx::new();
    let with_note = format!(
        r#"{{"log_index":{LOG_INDEX},"subject":"{}","predicate_type":"{SLSA}","note":"from CI","deployment_id":"deploy-123"}}"#,
        subject()
    );
    let r = fx.check(&fx.build(
        request(),
        &policy(),
        items_with_ref(&with_note, "provenance-bot"),
    ));
    assert!(r.accepted, "{:?}", r.failures);

    let other_deploy = format!(
        r#"{{"log_index":{LOG_INDEX},"subject":"{}","predicate_type":"{SLSA}","deployment_id":"deploy-999"}}"#,
        subject()
    );
    let r = fx.check(&fx.build(
        request(),
        &policy(),
        items_with_ref(&other_deploy, "provenance-bot"),
    ));
    assert_codes(&r, &["EVIDENCE_DEPLOYMENT_MISMATCH:prov"]);
}

/// Under `or`, a missing attestation is not a failure when the other branch holds.
#[test]
fn artifact_attested_under_or_is_evaluated_as_logic() {
    let mut fx = Fx::new();
    let policy = format!(
        r#"{{"policy_id":"checkout-prod","version":1,"environment":"production","rule_set_id":"pod-v1","freshness_seconds":{{}},"predicates":[{{"name":"or","params":{{"children":[{{"name":"artifact_attested","params":{{"predicate_type":"{VULNS}"}}}},{{"name":"environment_matches","params":{{"target":"production"}}}}]}}}}]}}"#
    );
    fx.register(&policy);
    let r = fx.check(&fx.build(request(), &policy, base_items(ARTIFACT)));
    assert!(r.accepted, "{:?}", r.failures);
}

// ---------------------------------------------------------------------------------------------
// Auth(E): the registry check
// ---------------------------------------------------------------------------------------------

#[test]
fn attestation_not_found_is_rejected() {
    let fx = Fx::new();
    let value = ref_value(8, &subject(), SLSA);
    let r = fx.check(&fx.build(
        request(),
        &policy(),
        items_with_ref(&value, "provenance-bot"),
    ));
    assert_codes_owned(
        &r,
        &unusable_ref_codes("EVIDENCE_ATTESTATION_NOT_FOUND:prov"),
    );
}

/// The ref claims the predicate type the policy wants, but the attestation at that index is
/// of another type.
#[test]
fn attestation_predicate_mismatch_is_rejected() {
    let mut fx = Fx::new();
    let policy = policy_json(&format!(r#"{{"predicate_type":"{VULNS}"}}"#));
    fx.register(&policy);
    let value = ref_value(LOG_INDEX, &subject(), VULNS);
    let r = fx.check(&fx.build(request(), &policy, items_with_ref(&value, "provenance-bot")));
    assert_codes(
        &r,
        &[
            "EVIDENCE_ATTESTATION_MISMATCH:prov",
            &format!("EVIDENCE_ARTIFACT_ATTESTATION_MISSING:{VULNS}"),
            &format!("VRP_ARTIFACT_ATTESTATION_REF_MISSING:artifact_attested:{VULNS}"),
        ],
    );
}

/// The ref names the request's artifact, but the attestation it cites does not list it.
#[test]
fn attestation_subject_not_listed_is_rejected() {
    let fx = Fx::new();
    let value = ref_value(LOG_INDEX_OTHER_ONLY, &subject(), SLSA);
    let r = fx.check(&fx.build(
        request(),
        &policy(),
        items_with_ref(&value, "provenance-bot"),
    ));
    assert_codes_owned(
        &r,
        &unusable_ref_codes("EVIDENCE_ATTESTATION_MISMATCH:prov"),
    );
}

/// The ref is true to the chain, but its subject is another artifact than the request's.
#[test]
fn attestation_of_another_artifact_does_not_support_the_leaf() {
    let fx = Fx::new();
    let value = ref_value(LOG_INDEX, OTHER, SLSA);
    let r = fx.check(&fx.build(
        request(),
        &policy(),
        items_with_ref(&value, "provenance-bot"),
    ));
    assert_codes_owned(&r, &unusable_ref_codes(""));
}

#[test]
fn attestation_ref_signer_must_be_authorized_for_the_type() {
    let fx = Fx::new();
    let r = fx.check(&fx.build(
        request(),
        &policy(),
        items_with_ref(&ref_value(LOG_INDEX, &subject(), SLSA), "mallory"),
    ));
    assert_codes_owned(&r, &unusable_ref_codes("EVIDENCE_SIGNER_UNAUTHORIZED:prov"));

    // An identity authorised for other types only is not authorised for attestation_ref.
    let r = fx.check(&fx.build(
        request(),
        &policy(),
        items_with_ref(&ref_value(LOG_INDEX, &subject(), SLSA), "builder"),
    ));
    assert_codes_owned(&r, &unusable_ref_codes("EVIDENCE_SIGNER_UNAUTHORIZED:prov"));
}

#[test]
fn malformed_attestation_ref_value_is_rejected() {
    let fx = Fx::new();
    let s = subject();
    let cases = [
        format!(r#"{{"subject":"{s}","predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":-1,"subject":"{s}","predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":7.0,"subject":"{s}","predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":"7","subject":"{s}","predicate_type":"{SLSA}"}}"#),
        format!(
            r#"{{"log_index":18446744073709551616,"subject":"{s}","predicate_type":"{SLSA}"}}"#
        ),
        format!(r#"{{"log_index":7,"predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":7,"subject":"{ARTIFACT}","predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":7,"subject":"sha256:","predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":7,"subject":":{ARTIFACT}","predicate_type":"{SLSA}"}}"#),
        format!(
            r#"{{"log_index":7,"subject":"sha256:{}","predicate_type":"{SLSA}"}}"#,
            ARTIFACT.to_ascii_uppercase()
        ),
        format!(r#"{{"log_index":7,"subject":"SHA256:{ARTIFACT}","predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":7,"subject":["{s}"],"predicate_type":"{SLSA}"}}"#),
        format!(r#"{{"log_index":7,"subject":"{s}"}}"#),
        format!(r#"{{"log_index":7,"subject":"{s}","predicate_type":""}}"#),
        format!(r#"{{"log_index":7,"subject":"{s}","predicate_type":1}}"#),
    ];
    for value in &cases {
        let r = fx.check(&fx.build(
            request(),
            &policy(),
            items_with_ref(value, "provenance-bot"),
        ));
        let want = unusable_ref_codes("EVIDENCE_ATTESTATION_REF_INVALID:prov");
        assert_eq!(codes(&r), want, "value {value}");
        assert!(!r.accepted);
    }
}

/// A registry that does not implement `attestation` (the trait default) finds nothing.
#[test]
fn registry_default_finds_no_attestation() {
    struct NoAttestations(InMemoryRegistry);
    impl Registry for NoAttestations {
        fn identity(&self, id: &str) -> Option<Arc<IdentityRecord>> {
            self.0.identity(id)
        }
        fn policy(&self, service: &str, environment: &str) -> Option<Arc<RegisteredPolicy>> {
            self.0.policy(service, environment)
        }
        fn deployment_finalized(&self, deployment_id: &str) -> bool {
            self.0.deployment_finalized(deployment_id)
        }
    }
    let fx = Fx::new();
    assert!(fx.registry.attestation(LOG_INDEX).is_some());
    let reg = NoAttestations(fx.registry.clone());
    assert!(reg.attestation(LOG_INDEX).is_none());
    let bytes = fx.build(request(), &policy(), valid_items());
    let r = check(&bytes, &reg, &CheckContext::at(T));
    assert_codes_owned(
        &r,
        &unusable_ref_codes("EVIDENCE_ATTESTATION_NOT_FOUND:prov"),
    );
}

/// Every `attestation_ref` is checked, even one no step cites and no leaf needs.
#[test]
fn every_attestation_ref_is_checked_against_the_registry() {
    let fx = Fx::new();
    let mut items = valid_items();
    items.push((
        item("prov-2", "attestation_ref", &ref_value(8, &subject(), SLSA)),
        "provenance-bot",
    ));
    let r = fx.check(&fx.build(request(), &policy(), items));
    assert_codes(&r, &["EVIDENCE_ATTESTATION_NOT_FOUND:prov-2"]);
}

// ---------------------------------------------------------------------------------------------
// WF(P)
// ---------------------------------------------------------------------------------------------

#[test]
fn artifact_attested_needs_a_non_empty_predicate_type() {
    for params in [
        r#"{"predicate_type":""}"#,
        r#"{"predicate_type":1}"#,
        r#"{"predicate_type":null}"#,
        "{}",
    ] {
        let mut fx = Fx::new();
        let policy = policy_json(params);
        fx.register(&policy);
        let r = fx.check(&fx.build(
            request(),
            &policy,
            items_with_ref(&ref_value(LOG_INDEX, &subject(), SLSA), "provenance-bot"),
        ));
        assert!(!r.accepted && !r.wf_policy, "{params}");
        assert_eq!(
            codes(&r),
            ["POLICY_ARTIFACT_ATTESTED_PREDICATE_INVALID"],
            "{params}"
        );
    }
}

#[test]
fn artifact_attested_unknown_param_key_is_a_parse_error() {
    let fx = Fx::new();
    let policy = policy_json(&format!(r#"{{"predicate_type":"{SLSA}","subject":"x"}}"#));
    let built = CertificateBuilder::from_policy_json(request(), policy.as_bytes());
    assert!(
        built.is_err(),
        "strict parsing must reject an unknown param"
    );
    let text =
        String::from_utf8(fx.build(request(), &self::policy(), valid_items())).unwrap_or_default();
    let needle = format!(r#""predicate_type":"{SLSA}"}}"#);
    let edited = text.replacen(
        &needle,
        &format!(r#""predicate_type":"{SLSA}","subject":"x"}}"#),
        1,
    );
    assert_ne!(edited, text);
    let r = fx.check(edited.as_bytes());
    assert_codes(
        &r,
        &["CERTIFICATE_FIELD_UNKNOWN:policy.predicates[1].params.subject"],
    );
}

// ---------------------------------------------------------------------------------------------
// CheckR
// ---------------------------------------------------------------------------------------------

/// The standard derivation of the valid certificate, edited by `edit`.
fn check_with_proof(fx: &Fx, edit: impl FnOnce(&mut Proof)) -> Report {
    let mut b = fx.builder(request(), &policy(), valid_items());
    let mut proof = b.certificate().proof;
    edit(&mut proof);
    b.proof(proof);
    fx.check(&b.build())
}

#[test]
fn proof_without_the_artifact_attested_step_is_not_covered() {
    let fx = Fx::new();
    let lbl = label();
    let r = check_with_proof(&fx, |p| {
        p.steps.retain(|s| s.rule != "ARTIFACT_ATTESTED");
        for s in &mut p.steps {
            s.premises.retain(|x| *x != lbl);
        }
    });
    assert_codes(&r, &[&format!("VRP_POLICY_NOT_COVERED:{lbl}")]);
}

/// An ARTIFACT_ATTESTED step that cites no `attestation_ref` proves nothing.
#[test]
fn artifact_attested_step_must_cite_a_supporting_ref() {
    let fx = Fx::new();
    let lbl = label();
    for refs in [vec![], vec!["artifact".to_owned()]] {
        let r = check_with_proof(&fx, |p| {
            for s in &mut p.steps {
                if s.rule == "ARTIFACT_ATTESTED" {
                    s.evidence_refs = refs.clone();
                }
            }
        });
        assert_codes(
            &r,
            &[
                &format!("VRP_ARTIFACT_ATTESTATION_REF_MISSING:{lbl}"),
                &format!("VRP_POLICY_NOT_COVERED:{lbl}"),
            ],
        );
    }
}

/// The step's conclusion must be exactly a policy leaf of its rule (the predicate type is
/// matched), and another rule cannot conclude the leaf.
#[test]
fn artifact_attested_step_conclusion_is_matched() {
    let fx = Fx::new();
    let lbl = label();
    let r = check_with_proof(&fx, |p| {
        for s in &mut p.steps {
            if s.rule == "ARTIFACT_ATTESTED" {
                s.conclusion = format!("artifact_attested:{VULNS}");
            }
        }
    });
    assert_codes(
        &r,
        &[
            &format!("VRP_STEP_CONCLUSION_INVALID:{lbl}"),
            &format!("VRP_POLICY_NOT_COVERED:{lbl}"),
        ],
    );

    let r = check_with_proof(&fx, |p| {
        for s in &mut p.steps {
            if s.rule == "ARTIFACT_ATTESTED" {
                s.rule = "HUMAN_ATTESTED".into();
            }
        }
    });
    assert_codes(
        &r,
        &[
            &format!("VRP_STEP_CONCLUSION_INVALID:{lbl}"),
            &format!("VRP_POLICY_NOT_COVERED:{lbl}"),
        ],
    );
}

/// A hand-written derivation with its own step ids is accepted like the standard one.
#[test]
fn hand_written_derivation_is_accepted() {
    let fx = Fx::new();
    let step =
        |id: &str, rule: &str, conclusion: &str, refs: &[&str], premises: &[&str]| ProofStep {
            step_id: id.into(),
            rule: rule.into(),
            conclusion: conclusion.into(),
            evidence_refs: refs.iter().map(|s| (*s).to_owned()).collect(),
            premises: premises.iter().map(|s| (*s).to_owned()).collect(),
        };
    let proof = Proof {
        steps: vec![
            step(
                "env-ok",
                "ENVIRONMENT_MATCH",
                "environment_matches:production",
                &["env"],
                &[],
            ),
            step("provenance", "ARTIFACT_ATTESTED", &label(), &["prov"], &[]),
            step(
                "policy",
                "POLICY_SATISFIED",
                "policy_satisfied",
                &[],
                &["env-ok", "provenance"],
            ),
            step(
                "deploy",
                "DEPLOY_AUTH",
                "deploy_authorized:deploy-123",
                &[],
                &["policy"],
            ),
        ],
        final_conclusion: "deploy_authorized:deploy-123".into(),
    };
    let mut b = fx.builder(request(), &policy(), valid_items());
    b.proof(proof);
    let r = fx.check(&b.build());
    assert!(r.accepted, "{:?}", r.failures);
}
