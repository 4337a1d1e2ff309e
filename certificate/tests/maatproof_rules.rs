//! Targeted tests of `maatproof-v1` rules that the shipped vectors do not pin down: Python
//! dict semantics, JSON-order iteration, `int()`/`float()` coercions, truthiness, quorum
//! arithmetic, the `*_MALFORMED` replacements of reference crashes (CERTIFICATE.md 9b), and
//! that no input makes the checker panic or accept a body other than the one attested.

use std::collections::BTreeMap;
use std::path::Path;

use maat_certificate::Report;
use maat_certificate::codes::{explain, is_malformed};
use maat_certificate::json::{self, Object, ParseMode, Value, to_json_string};
use maat_certificate::maatproof_v1::{
    self as mp, Checker, CheckerConfig, ConfigError, Mode, QuorumRule, digests, replay_verify,
    sign_attestation, sign_evidence, simulate_validators,
};
use proptest::prelude::*;

const NOW: f64 = 1_700_000_100.0;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/maatproof")
        .join(name);
    json::parse(&std::fs::read(path).unwrap(), ParseMode::Python).unwrap()
}

/// Vector 002's certificate and checker.
fn base() -> (Value, CheckerConfig) {
    let v = load("002_valid_float_freshness.json");
    let cfg = CheckerConfig::from_vector_json(v.get("checker").unwrap()).unwrap();
    (v.get("certificate").unwrap().clone(), cfg)
}

fn base_digest() -> String {
    digests(&base().0).unwrap().certificate_digest
}

/// Mutable access along a path of object keys and array indices.
fn at<'v>(v: &'v mut Value, path: &[&str]) -> &'v mut Value {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(o) => &mut o.entries.iter_mut().find(|(k, _)| k == p).unwrap().1,
            Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
            _ => panic!("no {p}"),
        };
    }
    cur
}

fn set(v: &mut Value, path: &[&str], x: Value) {
    let (last, parent) = path.split_last().unwrap();
    match at(v, parent) {
        Value::Object(o) => o.insert(*last, x),
        Value::Array(a) => a[last.parse::<usize>().unwrap()] = x,
        _ => panic!("not a container"),
    }
}

fn remove(v: &mut Value, path: &[&str]) {
    let (last, parent) = path.split_last().unwrap();
    if let Value::Object(o) = at(v, parent) {
        o.entries.retain(|(k, _)| k != last);
    }
}

fn j(s: &str) -> Value {
    json::parse(s.as_bytes(), ParseMode::Python).unwrap()
}

/// Index of the evidence object with this id in vector 002 (input order = sorted order).
fn ev(id: &str) -> String {
    [
        "artifact", "commit", "env", "human", "rollback", "scan", "test",
    ]
    .iter()
    .position(|x| *x == id)
    .unwrap()
    .to_string()
}

/// Re-signs every evidence object (as the producer would, in memory) and the attestations.
fn resign(cert: &mut Value, cfg: &CheckerConfig) {
    let objs = at(cert, &["evidence", "objects"]);
    if let Value::Array(a) = objs {
        for o in a.iter_mut() {
            *o = sign_evidence(o, &cfg.evidence_key).unwrap();
        }
    }
    resign_attestations(cert, cfg);
}

/// Re-signs the attestations where the reference could (it raises on malformed input).
fn resign_attestations(cert: &mut Value, cfg: &CheckerConfig) {
    if let Ok(atts) = simulate_validators(cert, cfg, &cfg.validator_keys, NOW, None) {
        set(cert, &["attestations"], Value::Array(atts));
    }
}

/// Checks through the byte path (compact JSON in input order).
fn check(cert: &Value, cfg: &CheckerConfig) -> Report {
    mp::check(to_json_string(cert).as_bytes(), cfg)
}

fn codes(r: &Report) -> Vec<String> {
    r.failures
        .iter()
        .map(|f| format!("{}/{}", f.component, f.code))
        .collect()
}

fn without_quorum(cfg: &CheckerConfig) -> CheckerConfig {
    CheckerConfig {
        mode: Mode::AcceptWithoutQuorum,
        ..cfg.clone()
    }
}

#[test]
fn base_vector_is_accepted_and_resigning_is_faithful() {
    let (mut cert, cfg) = base();
    let r = check(&cert, &cfg);
    assert!(r.accepted, "{:?}", codes(&r));
    // simulate_validators reproduces the vector's attestations byte for byte.
    let before = json::canon_string(cert.get("attestations").unwrap());
    resign(&mut cert, &cfg);
    assert_eq!(
        json::canon_string(cert.get("attestations").unwrap()),
        before
    );
}

// ---------------------------------------------------------------------------------------------
// JSON semantics
// ---------------------------------------------------------------------------------------------

#[test]
fn duplicate_keys_keep_last_value_at_first_position() {
    let (cert, cfg) = base();
    let text = to_json_string(&cert);
    // The last `passed` wins: the signed value (true) survives, so nothing changes.
    let same = text.replace(
        r#""suite":"unit","passed":true"#,
        r#""passed":false,"suite":"unit","passed":true"#,
    );
    assert_ne!(same, text);
    let r = mp::check(same.as_bytes(), &cfg);
    assert!(r.accepted, "{:?}", codes(&r));
    // The last `passed` is false: the stored hash no longer matches.
    let flipped = text.replace(
        r#""suite":"unit","passed":true"#,
        r#""passed":true,"suite":"unit","passed":false"#,
    );
    let r = mp::check(flipped.as_bytes(), &cfg);
    assert!(
        codes(&r).contains(&"Auth(E)/EVIDENCE_HASH_INVALID:test".to_owned()),
        "{:?}",
        codes(&r)
    );

    // Position: a repeated freshness key stays first, so it is walked first.
    let mut stale_cfg = without_quorum(&cfg);
    stale_cfg.now = Some(NOW + 10.0);
    let fresh = |json_text: &str| {
        let t = text.replace(
            r#""freshness_seconds":{"human_attestation":3600.0,"scan_report":3600.0}"#,
            json_text,
        );
        assert_ne!(t, text);
        codes(&mp::check(t.as_bytes(), &stale_cfg))
    };
    assert_eq!(
        fresh(
            r#""freshness_seconds":{"scan_report":1.0,"human_attestation":1.0,"scan_report":2.0}"#
        ),
        [
            "Auth(E)/EVIDENCE_STALE:scan",
            "Auth(E)/EVIDENCE_STALE:human"
        ]
    );
    assert_eq!(
        fresh(r#""freshness_seconds":{"human_attestation":1.0,"scan_report":1.0}"#),
        [
            "Auth(E)/EVIDENCE_STALE:human",
            "Auth(E)/EVIDENCE_STALE:scan"
        ]
    );
    // Freshness limits: strict comparison, the JSON number class does not matter.
    assert!(fresh(r#""freshness_seconds":{"human_attestation":10,"scan_report":10.0}"#).is_empty());
    assert_eq!(
        fresh(r#""freshness_seconds":{"human_attestation":9,"scan_report":true}"#),
        [
            "Auth(E)/EVIDENCE_STALE:human",
            "Auth(E)/EVIDENCE_STALE:scan"
        ]
    );
}

#[test]
fn freshness_failures_follow_json_order_not_sorted_order() {
    let (mut cert, cfg) = base();
    set(
        &mut cert,
        &["policy", "freshness_seconds"],
        j(r#"{"scan_report":0.5,"human_attestation":-1}"#),
    );
    let r = check(&cert, &without_quorum(&cfg));
    assert_eq!(
        codes(&r),
        [
            "WF(P)/POLICY_FRESHNESS_INVALID:human_attestation",
            "Auth(E)/EVIDENCE_STALE:human",
        ]
    );
    let mut later = without_quorum(&cfg);
    later.now = Some(NOW + 1.0);
    assert_eq!(
        codes(&check(&cert, &later)),
        [
            "WF(P)/POLICY_FRESHNESS_INVALID:human_attestation",
            "Auth(E)/EVIDENCE_STALE:scan",
            "Auth(E)/EVIDENCE_STALE:human",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Coercions
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_version_goes_through_int() {
    let (cert, cfg) = base();
    let cfg = without_quorum(&cfg);
    let with = |v: &str| {
        let mut c = cert.clone();
        set(&mut c, &["policy", "version"], j(v));
        c
    };
    // int(1.9) == int(True) == int(" 1 ") == 1: the digest is vector 002's.
    for v in ["1.9", "true", "\" 1 \"", "\"+1\"", "\"0_1\""] {
        let c = with(v);
        assert_eq!(
            digests(&c).unwrap().certificate_digest,
            base_digest(),
            "{v}"
        );
        assert!(check(&c, &cfg).accepted, "{v}");
    }
    assert!(
        digests(&with("\"2\""))
            .unwrap()
            .canonical_body
            .contains("\"version\":2")
    );
    for v in ["0.5", "\"-3\"", "false"] {
        assert_eq!(
            codes(&check(&with(v), &cfg)),
            ["WF(P)/POLICY_VERSION_INVALID"],
            "{v}"
        );
    }
    for v in ["\"abc\"", "\"1.0\"", "null", "[1]", "1e300"] {
        let r = check(&with(v), &cfg);
        if v == "1e300" {
            // int(1e300) is a 301-digit int: valid, and hashed exactly.
            assert!(r.accepted, "{v}");
            assert!(digests(&with(v)).unwrap().canonical_body.contains("\"version\":1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160"));
            continue;
        }
        assert!(
            !r.accepted && codes(&r) == ["WF(P)/POLICY_MALFORMED:version"],
            "{v}: {:?}",
            codes(&r)
        );
        assert!(r.certificate_digest.is_empty());
    }
}

#[test]
fn vulnerability_counts_go_through_int() {
    let (cert, cfg) = base();
    let cfg = without_quorum(&cfg);
    let scan = ev("scan");
    let with = |count: &str| {
        let mut c = cert.clone();
        set(
            &mut c,
            &[
                "evidence",
                "objects",
                &scan,
                "value",
                "vulnerabilities",
                "critical",
            ],
            j(count),
        );
        resign(&mut c, &cfg);
        codes(&check(&c, &cfg))
    };
    for ok in ["0", "\"0\"", "0.9", "-0.9", "false", "\" -2 \"", "-5"] {
        assert!(with(ok).is_empty(), "{ok}: {:?}", with(ok));
    }
    for bad in ["1.5", "true", "\"1\"", "2"] {
        assert_eq!(
            with(bad),
            ["Auth(E)/EVIDENCE_VULN_THRESHOLD_EXCEEDED:critical"],
            "{bad}"
        );
    }
    for crash in ["\"x\"", "null", "[]", "{}", "\"1.0\""] {
        assert_eq!(
            with(crash),
            ["Auth(E)/EVIDENCE_VALUE_MALFORMED:scan"],
            "{crash}"
        );
    }
    // A missing severity counts as 0.
    let mut c = cert.clone();
    set(
        &mut c,
        &["evidence", "objects", &scan, "value", "vulnerabilities"],
        j(r#"{"high":9}"#),
    );
    resign(&mut c, &cfg);
    assert!(check(&c, &cfg).accepted);
    // `vulnerabilities` that is not an object crashes the reference (vector 121).
    for v in ["[]", "\"none\"", "null", "0"] {
        let mut c = cert.clone();
        set(
            &mut c,
            &["evidence", "objects", &scan, "value", "vulnerabilities"],
            j(v),
        );
        resign(&mut c, &cfg);
        assert_eq!(
            codes(&check(&c, &cfg)),
            ["Auth(E)/EVIDENCE_VALUE_MALFORMED:scan"],
            "{v}"
        );
    }
}

#[test]
fn vuln_threshold_and_operator_python_semantics() {
    let (cert, cfg) = base();
    let cfg = without_quorum(&cfg);
    let with = |params: &str| {
        let mut c = cert.clone();
        set(&mut c, &["policy", "predicates", "1", "params"], j(params));
        codes(&check(&c, &cfg))
    };
    // bool is an int: `0 <= True` (vector 118).
    assert!(with(r#"{"severity":"critical","operator":"<=","threshold":true}"#).is_empty());
    // A float threshold fails WF but is still compared in Auth(E).
    assert_eq!(
        with(r#"{"severity":"critical","operator":"<=","threshold":0.5}"#),
        ["WF(P)/POLICY_VULN_THRESHOLD_INVALID"]
    );
    assert_eq!(
        with(r#"{"severity":"critical","operator":"==","threshold":0.0}"#),
        ["WF(P)/POLICY_VULN_THRESHOLD_INVALID"]
    );
    // `0 <= "0"` raises TypeError; `0 == "0"` is merely false.
    assert_eq!(
        with(r#"{"severity":"critical","operator":"<=","threshold":"0"}"#),
        [
            "WF(P)/POLICY_VULN_THRESHOLD_INVALID",
            "WF(P)/POLICY_PREDICATE_MALFORMED:vuln_count"
        ]
    );
    assert_eq!(
        with(r#"{"severity":"critical","operator":"==","threshold":"0"}"#),
        [
            "WF(P)/POLICY_VULN_THRESHOLD_INVALID",
            "Auth(E)/EVIDENCE_VULN_THRESHOLD_EXCEEDED:critical"
        ]
    );
    // An unhashable operator raises in WF(P); a missing key raises in Auth(E).
    assert_eq!(
        with(r#"{"severity":"critical","operator":["<="],"threshold":0}"#),
        [
            "WF(P)/POLICY_PREDICATE_MALFORMED:vuln_count",
            "Auth(E)/EVIDENCE_VULN_THRESHOLD_EXCEEDED:critical"
        ]
    );
    assert_eq!(
        with(r#"{"severity":"critical","threshold":0}"#),
        [
            "WF(P)/POLICY_VULN_OPERATOR_INVALID",
            "WF(P)/POLICY_PREDICATE_MALFORMED:vuln_count"
        ]
    );
    // A non-string severity is formatted with str().
    assert_eq!(
        with(r#"{"severity":null,"operator":"==","threshold":1}"#),
        [
            "WF(P)/POLICY_VULN_SEVERITY_INVALID",
            "Auth(E)/EVIDENCE_VULN_THRESHOLD_EXCEEDED:None"
        ]
    );
}

#[test]
fn timestamps_and_stakes_go_through_float() {
    let (cert, cfg) = base();
    // Evidence timestamps are coerced before hashing, so any spelling of the signed float is
    // accepted, and the digest does not change.
    for t in [
        "1700000100",
        "\"1700000100\"",
        "\" 1.7000001e9 \"",
        "1.7000001E9",
    ] {
        let mut c = cert.clone();
        set(
            &mut c,
            &["evidence", "objects", &ev("env"), "timestamp"],
            j(t),
        );
        let r = check(&c, &cfg);
        assert!(r.accepted, "{t}: {:?}", codes(&r));
        assert_eq!(r.certificate_digest, base_digest());
    }
    // Stakes are coerced before the signature check.
    for s in ["1", "\"1.0\"", "true"] {
        let mut c = cert.clone();
        set(&mut c, &["attestations", "0", "stake"], j(s));
        assert!(check(&c, &cfg).accepted, "{s}");
    }
    // float("nan") is a float: the signed payload says NaN and no longer verifies.
    let mut c = cert.clone();
    set(&mut c, &["attestations", "0", "stake"], j("\"nan\""));
    assert_eq!(
        codes(&check(&c, &cfg)),
        ["Quorum(A)/QUORUM_SIGNATURE_INVALID:validator-a"]
    );
    for bad in ["null", "\"soon\"", "[]"] {
        let mut c = cert.clone();
        set(
            &mut c,
            &["evidence", "objects", &ev("env"), "timestamp"],
            j(bad),
        );
        assert_eq!(
            codes(&check(&c, &cfg)),
            ["Auth(E)/EVIDENCE_OBJECT_MALFORMED:env:timestamp"],
            "{bad}"
        );
        let mut c = cert.clone();
        set(&mut c, &["attestations", "1", "stake"], j(bad));
        assert_eq!(
            codes(&check(&c, &cfg)),
            ["Quorum(A)/QUORUM_ATTESTATION_MALFORMED:validator-b:stake"],
            "{bad}"
        );
    }
    // float(int) overflows above ~1.8e308.
    let mut c = cert.clone();
    set(
        &mut c,
        &["evidence", "objects", "0", "timestamp"],
        j(&format!("1{}", "0".repeat(400))),
    );
    assert_eq!(
        codes(&check(&c, &cfg)),
        ["Auth(E)/EVIDENCE_OBJECT_MALFORMED:artifact:timestamp"]
    );
}

// ---------------------------------------------------------------------------------------------
// Truthiness and identity
// ---------------------------------------------------------------------------------------------

#[test]
fn truthiness_of_evidence_values() {
    let (cert, cfg) = base();
    let cfg = without_quorum(&cfg);
    let rollback = ev("rollback");
    for (plan, truthy) in [
        ("null", false),
        ("false", false),
        ("0", false),
        ("0.0", false),
        ("-0.0", false),
        ("\"\"", false),
        ("[]", false),
        ("{}", false),
        ("\"x\"", true),
        ("[0]", true),
        ("{\"a\":null}", true),
        ("1", true),
        ("-1", true),
        ("0.5", true),
        ("true", true),
        ("\" \"", true),
    ] {
        let mut c = cert.clone();
        set(
            &mut c,
            &["evidence", "objects", &rollback, "value", "rollback_plan"],
            j(plan),
        );
        resign(&mut c, &cfg);
        let want: Vec<String> = if truthy {
            vec![]
        } else {
            vec!["Auth(E)/EVIDENCE_ROLLBACK_MISSING:checkout".into()]
        };
        assert_eq!(codes(&check(&c, &cfg)), want, "{plan}");
    }
    // `passed` must be exactly true for Auth(E) but only truthy for TEST_PASS.
    for (passed, want) in [
        ("1", vec!["Auth(E)/EVIDENCE_TEST_NOT_PASSED:unit"]),
        (
            "0.0",
            vec![
                "Auth(E)/EVIDENCE_TEST_NOT_PASSED:unit",
                "CheckR/VRP_TEST_PASS_UNSUPPORTED:test-pass",
            ],
        ),
        ("true", vec![]),
    ] {
        let mut c = cert.clone();
        set(
            &mut c,
            &["evidence", "objects", &ev("test"), "value", "passed"],
            j(passed),
        );
        resign(&mut c, &cfg);
        assert_eq!(codes(&check(&c, &cfg)), want, "{passed}");
    }
}

#[test]
fn deployment_binding_uses_python_equality() {
    let (cert, cfg) = base();
    let cfg = without_quorum(&cfg);
    for (d, mismatch) in [
        ("\"deploy-123\"", false),
        ("null", false),
        ("\"\"", true),
        ("123", true),
    ] {
        let mut c = cert.clone();
        set(
            &mut c,
            &[
                "evidence",
                "objects",
                &ev("commit"),
                "value",
                "deployment_id",
            ],
            j(d),
        );
        resign(&mut c, &cfg);
        let want: Vec<String> = if mismatch {
            vec!["Auth(E)/EVIDENCE_DEPLOYMENT_MISMATCH:commit".into()]
        } else {
            vec![]
        };
        assert_eq!(codes(&check(&c, &cfg)), want, "{d}");
    }
    // Numbers compare across int/float/bool as in Python: request id 1 matches evidence 1.0.
    let mut c = cert.clone();
    set(&mut c, &["request", "deployment_id"], j("1"));
    set(
        &mut c,
        &["proof", "final_conclusion"],
        j("\"deploy_authorized:1\""),
    );
    set(
        &mut c,
        &["proof", "steps", "6", "conclusion"],
        j("\"deploy_authorized:1\""),
    );
    if let Value::Array(objs) = at(&mut c, &["evidence", "objects"]) {
        for o in objs {
            set(o, &["value", "deployment_id"], j("1.0"));
        }
    }
    resign(&mut c, &cfg);
    let r = check(&c, &cfg);
    assert!(r.accepted, "{:?}", codes(&r));
}

#[test]
fn proof_rules_self_premise_forward_reference_and_refs() {
    let (cert, cfg) = base();
    let cfg = without_quorum(&cfg);
    // A step may cite itself (its id is known before premises are checked).
    let mut c = cert.clone();
    set(
        &mut c,
        &["proof", "steps", "5", "premises"],
        j(r#"["policy"]"#),
    );
    assert!(check(&c, &cfg).accepted);
    // A forward reference is reported as missing.
    let mut c = cert.clone();
    set(
        &mut c,
        &["proof", "steps", "5", "premises"],
        j(r#"["deploy"]"#),
    );
    assert_eq!(
        codes(&check(&c, &cfg)),
        ["CheckR/VRP_PREMISE_MISSING:policy:deploy"]
    );
    // DEPLOY_AUTH accepts any conclusion containing policy_satisfied (then the final step
    // mismatches); list and dict conclusions use membership; numbers crash the reference.
    for (conclusion, want) in [
        (
            "\"not policy_satisfied\"",
            vec!["CheckR/VRP_FINAL_STEP_MISMATCH"],
        ),
        (
            "[\"policy_satisfied\"]",
            vec!["CheckR/VRP_FINAL_STEP_MISMATCH"],
        ),
        (
            "{\"policy_satisfied\":1}",
            vec!["CheckR/VRP_FINAL_STEP_MISMATCH"],
        ),
        (
            "[\"x\"]",
            vec![
                "CheckR/VRP_DEPLOY_AUTH_CONCLUSION_INVALID:deploy",
                "CheckR/VRP_FINAL_STEP_MISMATCH",
            ],
        ),
        (
            "5",
            vec![
                "CheckR/PROOF_STEP_MALFORMED:deploy:conclusion",
                "CheckR/VRP_FINAL_STEP_MISMATCH",
            ],
        ),
    ] {
        let mut c = cert.clone();
        set(
            &mut c,
            &["proof", "steps", "6", "conclusion"],
            j(conclusion),
        );
        assert_eq!(codes(&check(&c, &cfg)), want, "{conclusion}");
    }
    // `list("test")` is ['t','e','s','t'] (hashed sorted), and those ids do not exist.
    let mut c = cert.clone();
    set(
        &mut c,
        &["proof", "steps", "0", "evidence_refs"],
        j("\"test\""),
    );
    let d = digests(&c).unwrap();
    assert!(
        d.canonical_body
            .contains(r#""evidence_refs":["e","s","t","t"]"#)
    );
    let r = check(&c, &cfg);
    assert_eq!(r.failures.len(), 5, "{:?}", codes(&r));
    assert_eq!(codes(&r)[4], "CheckR/VRP_TEST_PASS_UNSUPPORTED:test-pass");
}

// ---------------------------------------------------------------------------------------------
// Quorum arithmetic
// ---------------------------------------------------------------------------------------------

fn with_votes(decisions: &[(&str, &str, f64)], rule: QuorumRule) -> Report {
    let (mut cert, mut cfg) = base();
    cfg.quorum = rule;
    let digest = base_digest();
    let atts: Vec<Value> = decisions
        .iter()
        .map(|(id, decision, stake)| {
            let mut a = Object::new();
            a.insert("validator_id", Value::from(*id));
            a.insert("decision", Value::from(*decision));
            a.insert("certificate_digest", Value::from(digest.as_str()));
            a.insert("timestamp", Value::Float(NOW));
            a.insert("stake", Value::Float(*stake));
            a.insert("reason", Value::from(""));
            sign_attestation(&Value::Object(a), &cfg.validator_keys[*id]).unwrap()
        })
        .collect();
    set(&mut cert, &["attestations"], Value::Array(atts));
    check(&cert, &cfg)
}

#[test]
fn quorum_rules_match_python_arithmetic() {
    use QuorumRule::*;
    let abc = |a: &'static str, b: &'static str, c: &'static str| {
        vec![
            ("validator-a", a, 1.0),
            ("validator-b", b, 1.0),
            ("validator-c", c, 1.0),
        ]
    };
    let ok = |r: &Report| r.quorum && r.accepted;
    let short = |r: &Report| codes(r) == ["Quorum(A)/QUORUM_INSUFFICIENT_ACCEPT_WEIGHT"];
    // 2/3 of 3.0 is exactly 2.0; a threshold of 0 means 2/3 (vector 104).
    assert!(ok(&with_votes(
        &abc("accept", "accept", "reject"),
        Supermajority(None)
    )));
    assert!(ok(&with_votes(
        &abc("accept", "accept", "reject"),
        Supermajority(Some(0.0))
    )));
    assert!(short(&with_votes(
        &abc("accept", "accept", "reject"),
        Supermajority(Some(0.9))
    )));
    assert!(short(&with_votes(
        &abc("accept", "reject", "dispute"),
        Supermajority(None)
    )));
    // Majority is strict.
    assert!(short(&with_votes(
        &[
            ("validator-a", "accept", 1.0),
            ("validator-b", "reject", 1.0)
        ],
        Majority
    )));
    // Weighted threshold: absolute weight; None/0 means 0, so all-reject still finalizes.
    assert!(short(&with_votes(
        &abc("accept", "accept", "reject"),
        WeightedThreshold(Some(2.5))
    )));
    assert!(ok(&with_votes(
        &abc("reject", "reject", "dispute"),
        WeightedThreshold(None)
    )));
    // Negative stake is counted (vector 100); zero total is "no valid attestations".
    assert!(ok(&with_votes(
        &[
            ("validator-a", "accept", 1.0),
            ("validator-b", "reject", -0.5)
        ],
        Majority
    )));
    assert_eq!(
        codes(&with_votes(
            &[
                ("validator-a", "accept", 1.0),
                ("validator-b", "reject", -5.0)
            ],
            Majority
        )),
        ["Quorum(A)/QUORUM_NO_VALID_ATTESTATIONS"]
    );
    assert_eq!(
        codes(&with_votes(&[("validator-a", "accept", 0.0)], Majority)),
        [
            "Quorum(A)/QUORUM_NO_VALID_ATTESTATIONS",
            "Quorum(A)/QUORUM_INSUFFICIENT_ACCEPT_WEIGHT"
        ]
    );
    // An invalid decision is reported and skipped.
    assert_eq!(
        codes(&with_votes(&abc("accept", "accept", "maybe"), Majority)),
        ["Quorum(A)/QUORUM_DECISION_INVALID:validator-c"]
    );
    assert_eq!(
        QuorumRule::from_kind("unanimous", None),
        Err(ConfigError::UnknownQuorumKind("unanimous".into()))
    );
    assert!(
        QuorumRule::from_kind("unanimous", None)
            .unwrap_err()
            .to_string()
            .contains("unanimous")
    );
}

// ---------------------------------------------------------------------------------------------
// Reference crashes become *_MALFORMED rejections
// ---------------------------------------------------------------------------------------------

fn assert_malformed(r: &Report, want: &str) {
    assert!(!r.accepted, "accepted: {:?}", codes(r));
    assert!(
        codes(r).iter().any(|c| c == want),
        "want {want}, got {:?}",
        codes(r)
    );
    assert!(r.failures.iter().any(|f| is_malformed(&f.code)));
    for f in &r.failures {
        assert_ne!(explain(&f.code), "unknown failure code", "{}", f.code);
    }
}

#[test]
fn unparseable_json_is_certificate_json_malformed() {
    let (cert, cfg) = base();
    let text = to_json_string(&cert);
    for (from, to) in [
        (r#""critical":0"#, r#""critical":NaN"#),
        (r#""critical":0"#, r#""critical":-Infinity"#),
        (r#""critical":0"#, r#""critical":1e400"#),
        (r#""source":"git""#, r#""source":"\ud800""#),
        (r#""source":"git""#, r#""source":"\udc00\ud800""#),
        (r#""source":"git""#, "\"source\":\"g\u{1}t\""),
    ] {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text);
        let r = mp::check(bad.as_bytes(), &cfg);
        assert_eq!(codes(&r), ["Parse/CERTIFICATE_JSON_MALFORMED"], "{to}");
        assert!(!r.accepted && r.certificate_digest.is_empty());
    }
    for bad in [&b""[..], b"{", b"[]", b"\xff", b"{} {}", b"null"] {
        let r = mp::check(bad, &cfg);
        assert!(
            !r.accepted && r.failures.iter().all(|f| f.component.as_str() == "Parse"),
            "{bad:?}"
        );
    }
}

#[test]
fn wrong_shapes_are_malformed_in_their_component() {
    let (cert, cfg) = base();
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["policy"], Some("\"strict\""), "WF(P)/POLICY_MALFORMED"),
        (
            vec!["policy", "policy_id"],
            None,
            "WF(P)/POLICY_MALFORMED:policy_id",
        ),
        (
            vec!["policy", "freshness_seconds"],
            Some("[[\"a\",1]]"),
            "WF(P)/POLICY_MALFORMED:freshness_seconds",
        ),
        (
            vec!["policy", "predicates"],
            Some("7"),
            "WF(P)/POLICY_MALFORMED:predicates",
        ),
        (
            vec!["policy", "predicates", "0", "name"],
            None,
            "WF(P)/POLICY_PREDICATE_MALFORMED:#0",
        ),
        (
            vec!["policy", "predicates", "0"],
            Some("\"test_passed\""),
            "WF(P)/POLICY_PREDICATE_MALFORMED:#0",
        ),
        (
            vec!["policy", "predicates", "0", "params"],
            Some("null"),
            "WF(P)/POLICY_PREDICATE_MALFORMED:test_passed",
        ),
        (
            vec!["policy", "predicates", "0", "name"],
            Some("[\"x\"]"),
            "WF(P)/POLICY_PREDICATE_MALFORMED:#0",
        ),
        (
            vec!["policy", "predicates", "0"],
            Some(
                r#"{"name":"or","params":{"children":[{"name":"and","params":{"children":[{"params":{}}]}}]}}"#,
            ),
            "WF(P)/POLICY_PREDICATE_MALFORMED:#0.0.0",
        ),
        (
            vec!["policy", "predicates", "0", "params", "suite"],
            None,
            "WF(P)/POLICY_PREDICATE_MALFORMED:test_passed",
        ),
        (vec!["request"], Some("[]"), "Certificate/REQUEST_MALFORMED"),
        (
            vec!["request", "service"],
            None,
            "Certificate/REQUEST_MALFORMED:service",
        ),
        (vec!["evidence"], None, "Auth(E)/EVIDENCE_MALFORMED"),
        (
            vec!["evidence", "objects"],
            Some("{\"a\":1}"),
            "Auth(E)/EVIDENCE_MALFORMED:objects",
        ),
        (
            vec!["evidence", "objects", "2"],
            Some("5"),
            "Auth(E)/EVIDENCE_OBJECT_MALFORMED:#2",
        ),
        (
            vec!["evidence", "objects", "2", "source"],
            None,
            "Auth(E)/EVIDENCE_OBJECT_MALFORMED:env:source",
        ),
        (
            vec!["evidence", "objects", "2", "value"],
            Some("\"x\""),
            "Auth(E)/EVIDENCE_OBJECT_MALFORMED:env:value",
        ),
        (
            vec!["evidence", "objects", "2", "evidence_id"],
            Some("[\"env\"]"),
            "Auth(E)/EVIDENCE_OBJECT_MALFORMED:#2:evidence_id",
        ),
        (
            vec!["evidence", "objects", "0", "dependencies"],
            Some("[\"a\",1]"),
            "Auth(E)/EVIDENCE_OBJECT_MALFORMED:artifact:dependencies",
        ),
        (
            vec!["evidence", "objects", "0", "dependencies"],
            Some("[null,null]"),
            "Auth(E)/EVIDENCE_OBJECT_MALFORMED:artifact:dependencies",
        ),
        (
            vec!["evidence", "objects", "0", "evidence_id"],
            Some("7"),
            "Auth(E)/EVIDENCE_MALFORMED:evidence_id",
        ),
        (vec!["proof"], Some("null"), "CheckR/PROOF_MALFORMED"),
        (
            vec!["proof", "final_conclusion"],
            None,
            "CheckR/PROOF_MALFORMED:final_conclusion",
        ),
        (
            vec!["proof", "steps", "1", "rule"],
            None,
            "CheckR/PROOF_STEP_MALFORMED:scan-ok:rule",
        ),
        (
            vec!["proof", "steps", "1", "rule"],
            Some("{}"),
            "CheckR/PROOF_STEP_MALFORMED:scan-ok:rule",
        ),
        (
            vec!["proof", "steps", "1", "premises"],
            Some("[[]]"),
            "CheckR/PROOF_STEP_MALFORMED:scan-ok:premises",
        ),
        (
            vec!["proof", "steps", "1", "evidence_refs"],
            Some("5"),
            "CheckR/PROOF_STEP_MALFORMED:scan-ok:evidence_refs",
        ),
        (
            vec!["attestations"],
            Some("null"),
            "Quorum(A)/QUORUM_ATTESTATIONS_MALFORMED",
        ),
        (
            vec!["attestations", "0"],
            Some("[]"),
            "Quorum(A)/QUORUM_ATTESTATION_MALFORMED:#0",
        ),
        (
            vec!["attestations", "1", "decision"],
            None,
            "Quorum(A)/QUORUM_ATTESTATION_MALFORMED:validator-b:decision",
        ),
        (
            vec!["attestations", "1", "timestamp"],
            Some("{}"),
            "Quorum(A)/QUORUM_ATTESTATION_MALFORMED:validator-b:timestamp",
        ),
    ];
    for (path, value, want) in cases {
        let mut c = cert.clone();
        match value {
            Some(v) => set(&mut c, &path, j(v)),
            None => remove(&mut c, &path),
        }
        let r = check(&c, &cfg);
        assert_malformed(&r, want);
        // Every check is also reachable through check_value.
        assert_eq!(mp::check_value(&c, &cfg), r);
    }
    let r = mp::check(b"[1,2]", &cfg);
    assert_eq!(codes(&r), ["Parse/CERTIFICATE_MALFORMED"]);
}

#[test]
fn crashes_inside_checks_are_malformed_in_place() {
    let (cert, cfg) = base();
    // Non-numeric freshness limit: TypeError only when `now` is set and such evidence exists.
    let mut c = cert.clone();
    set(
        &mut c,
        &["policy", "freshness_seconds", "scan_report"],
        j("\"3600\""),
    );
    let mut nq = without_quorum(&cfg);
    assert_eq!(
        codes(&check(&c, &nq)),
        [
            "WF(P)/POLICY_FRESHNESS_INVALID:scan_report",
            "WF(P)/POLICY_FRESHNESS_MALFORMED:scan_report"
        ]
    );
    nq.now = None;
    assert_eq!(
        codes(&check(&c, &nq)),
        ["WF(P)/POLICY_FRESHNESS_INVALID:scan_report"]
    );
    let mut c2 = c.clone();
    set(
        &mut c2,
        &["policy", "freshness_seconds"],
        j(r#"{"rollout_spec":"soon"}"#),
    );
    assert_eq!(
        codes(&check(&c2, &without_quorum(&cfg))),
        ["WF(P)/POLICY_FRESHNESS_INVALID:rollout_spec"]
    );

    // Evidence signatures that compare_digest refuses; a falsy one is just missing.
    for (sig, want) in [
        ("\"\u{e9}\"", "Auth(E)/EVIDENCE_SIGNATURE_MALFORMED:test"),
        ("5", "Auth(E)/EVIDENCE_SIGNATURE_MALFORMED:test"),
        ("[\"a\"]", "Auth(E)/EVIDENCE_SIGNATURE_MALFORMED:test"),
        ("0", "Auth(E)/EVIDENCE_SIGNATURE_MISSING:test"),
        ("null", "Auth(E)/EVIDENCE_SIGNATURE_MISSING:test"),
        ("\"zz\"", "Auth(E)/EVIDENCE_SIGNATURE_INVALID:test"),
    ] {
        let mut c = cert.clone();
        set(
            &mut c,
            &["evidence", "objects", &ev("test"), "signature"],
            j(sig),
        );
        let r = check(&c, &without_quorum(&cfg));
        assert_eq!(codes(&r), [want], "{sig}");
    }
    // The signature is not examined when the hash is wrong.
    let mut c = cert.clone();
    set(
        &mut c,
        &["evidence", "objects", &ev("test"), "signature"],
        j("\"\u{e9}\""),
    );
    set(
        &mut c,
        &["evidence", "objects", &ev("test"), "hash"],
        j("\"00\""),
    );
    assert_eq!(
        codes(&check(&c, &without_quorum(&cfg))),
        ["Auth(E)/EVIDENCE_HASH_INVALID:test"]
    );

    // Attestation signatures likewise; and an unhashable decision once the signature verifies.
    let mut c = cert.clone();
    set(
        &mut c,
        &["attestations", "0", "signature"],
        j("\"\u{e9}t\u{e9}\""),
    );
    assert_eq!(
        codes(&check(&c, &cfg)),
        ["Quorum(A)/QUORUM_SIGNATURE_MALFORMED:validator-a"]
    );
    let mut c = cert.clone();
    let mut att = c.get("attestations").unwrap().as_array().unwrap()[2].clone();
    set(&mut att, &["decision"], j("[\"accept\"]"));
    let signed = sign_attestation(&att, &cfg.validator_keys["validator-c"]).unwrap();
    set(&mut c, &["attestations", "2"], signed);
    assert_eq!(
        codes(&check(&c, &cfg)),
        ["Quorum(A)/QUORUM_ATTESTATION_MALFORMED:validator-c:decision"]
    );
    // Without quorum, attestations are not examined at all.
    assert!(check(&c, &without_quorum(&cfg)).accepted);
}

#[test]
fn python_iterables_and_empty_containers() {
    let (cert, cfg) = base();
    // `attestations: ""` and `{}` iterate as empty lists (no crash).
    for empty in ["\"\"", "{}", "[]"] {
        let mut c = cert.clone();
        set(&mut c, &["attestations"], j(empty));
        assert_eq!(
            codes(&check(&c, &cfg)),
            [
                "Quorum(A)/QUORUM_NO_VALID_ATTESTATIONS",
                "Quorum(A)/QUORUM_INSUFFICIENT_ACCEPT_WEIGHT"
            ],
            "{empty}"
        );
    }
    // `dict([])` and `dict("")` are {}: evidence value and params may be given that way.
    let mut c = cert.clone();
    set(
        &mut c,
        &["policy", "predicates", "0"],
        j(r#"{"name":"and","params":[]}"#),
    );
    let d = digests(&c).unwrap();
    assert!(
        d.canonical_body
            .contains(r#"{"name":"and","params":{"children":[]}}"#)
    );
    assert_eq!(
        codes(&check(&c, &without_quorum(&cfg))),
        ["WF(P)/POLICY_AND_CHILDREN_REQUIRED"]
    );
    // Unknown fields are dropped and not covered by the digest (vector 061), except in request.
    let mut c = cert.clone();
    set(&mut c, &["policy", "note"], j("\"ignored\""));
    set(&mut c, &["evidence", "objects", "0", "extra"], j("[1,2]"));
    set(&mut c, &["proof", "steps", "0", "why"], j("null"));
    set(&mut c, &["policy", "predicates", "0", "comment"], j("1"));
    set(&mut c, &["extra_top_level"], j("{}"));
    let r = check(&c, &cfg);
    assert!(r.accepted, "{:?}", codes(&r));
    assert_eq!(r.certificate_digest, base_digest());
}

// ---------------------------------------------------------------------------------------------
// Configuration, ledger, helpers
// ---------------------------------------------------------------------------------------------

#[test]
fn configuration_errors() {
    let (_, cfg) = base();
    assert!(Checker::new(cfg.clone()).is_ok());
    assert_eq!(
        Checker::new(CheckerConfig::new(Vec::new())).err(),
        Some(ConfigError::EmptyKey("evidence".into()))
    );
    let mut bad = cfg.clone();
    bad.validator_keys.insert("validator-z".into(), Vec::new());
    assert!(matches!(
        Checker::new(bad.clone()),
        Err(ConfigError::EmptyKey(_))
    ));
    // The one-shot path fails closed with an unusable key instead.
    let mut c = base().0;
    let att = sign_attestation(
        &j(&format!(
            r#"{{"validator_id":"validator-z","decision":"accept","certificate_digest":"{}","timestamp":1.0}}"#,
            base_digest()
        )),
        b"k",
    )
    .unwrap();
    set(&mut c, &["attestations"], Value::Array(vec![att]));
    assert_eq!(
        codes(&check(&c, &bad)),
        [
            "Quorum(A)/QUORUM_SIGNATURE_INVALID:validator-z",
            "Quorum(A)/QUORUM_NO_VALID_ATTESTATIONS",
            "Quorum(A)/QUORUM_INSUFFICIENT_ACCEPT_WEIGHT"
        ]
    );
    let v = j(
        r#"{"evidence_secret_key_utf8":"k","quorum_rule":{"kind":"supermajority","threshold":0.75},"now":null,"mode":"accept_without_quorum"}"#,
    );
    let c = CheckerConfig::from_vector_json(&v).unwrap();
    assert_eq!(
        (c.quorum, c.now, c.mode),
        (
            QuorumRule::Supermajority(Some(0.75)),
            None,
            Mode::AcceptWithoutQuorum
        )
    );
    let v = j(r#"{"evidence_secret_key_utf8":"k","mode":"sometimes"}"#);
    assert_eq!(
        CheckerConfig::from_vector_json(&v),
        Err(ConfigError::UnknownMode("sometimes".into()))
    );
}

#[test]
fn ledger_replay_edge_cases() {
    let v = load("203_jsonl_ledger.json");
    let cfg = CheckerConfig::from_vector_json(v.get("checker").unwrap()).unwrap();
    let cert = to_json_string(v.get("certificate").unwrap());
    let line = v.get("jsonl_line").unwrap().as_str().unwrap();
    let ok = |ledger: &str| replay_verify(cert.as_bytes(), &cfg, ledger);
    assert!(ok(line).accepted);
    assert!(ok(&format!("\n  \n{}\r\n\r\n", line.trim_end())).accepted);
    let other = line.replace("34827e22", "00000000");
    assert!(ok(&format!("{other}{line}")).accepted);
    assert_eq!(codes(&ok(&other)), ["Ledger/LEDGER_ENTRY_MISSING"]);
    // A line the reference cannot load makes replay fail, even after the matching line.
    for junk in ["{", "[]", "{\"certificate_digest\":\"x\"}"] {
        let r = ok(&format!("{line}{junk}\n"));
        assert!(!r.accepted);
        assert_eq!(codes(&r), ["Ledger/LEDGER_MALFORMED"]);
    }
    // Replay always runs the quorum check, whatever the configured mode.
    let mut nq = cfg.clone();
    nq.mode = Mode::AcceptWithoutQuorum;
    let mut c = v.get("certificate").unwrap().clone();
    set(&mut c, &["attestations"], j("[]"));
    let r = replay_verify(to_json_string(&c).as_bytes(), &nq, line);
    assert!(!r.accepted && !r.quorum);
}

#[test]
fn simulate_validators_signs_rejections_with_reasons() {
    let (mut cert, cfg) = base();
    set(
        &mut cert,
        &["proof", "final_conclusion"],
        j("\"deploy_authorized:other\""),
    );
    let mut stakes = BTreeMap::new();
    stakes.insert("validator-b".to_owned(), 2.5);
    let atts = simulate_validators(&cert, &cfg, &cfg.validator_keys, NOW, Some(&stakes)).unwrap();
    assert_eq!(atts.len(), 3);
    assert_eq!(atts[0].get("decision"), Some(&Value::from("reject")));
    assert_eq!(
        atts[0].get("reason"),
        Some(&Value::from("VRP_FINAL_CONCLUSION_MISMATCH"))
    );
    assert_eq!(atts[1].get("stake"), Some(&Value::Float(2.5)));
    set(&mut cert, &["attestations"], Value::Array(atts));
    let r = check(&cert, &cfg);
    assert_eq!(
        codes(&r),
        [
            "CheckR/VRP_FINAL_CONCLUSION_MISMATCH",
            "Quorum(A)/QUORUM_INSUFFICIENT_ACCEPT_WEIGHT"
        ]
    );
    // Python raises on a certificate it cannot load; so do we.
    set(&mut cert, &["request"], j("5"));
    assert!(simulate_validators(&cert, &cfg, &cfg.validator_keys, NOW, None).is_err());
}

// ---------------------------------------------------------------------------------------------
// Robustness: never panic, never accept another body
// ---------------------------------------------------------------------------------------------

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|i| Value::from(i64::from(i))),
        (-1e20f64..1e20).prop_map(Value::Float),
        "[a-z\u{e9} ]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every (path, value) position in a JSON tree.
fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter() {
                prefix.push(k.to_owned());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(i.to_string());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn byte_mutations_never_panic_nor_accept_another_body(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
    ) {
        let (cert, cfg) = base();
        let mut bytes = to_json_string(&cert).into_bytes();
        for (i, b) in edits {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        let r = mp::check(&bytes, &cfg);
        if r.accepted {
            prop_assert_eq!(r.certificate_digest, base_digest());
        }
    }

    #[test]
    fn value_replacements_never_panic_nor_accept_another_body(
        pick in any::<prop::sample::Index>(),
        replacement in arb_json(),
    ) {
        let (cert, cfg) = base();
        let mut all = Vec::new();
        paths(&cert, &mut Vec::new(), &mut all);
        let path = &all[pick.index(all.len())];
        let mut c = cert.clone();
        if path.is_empty() {
            c = replacement;
        } else {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            set(&mut c, &p, replacement);
        }
        let r = check(&c, &cfg);
        prop_assert_eq!(&mp::check_value(&c, &cfg), &r);
        if r.accepted {
            prop_assert_eq!(r.certificate_digest, base_digest());
        }
        for f in &r.failures {
            prop_assert_ne!(explain(&f.code), "unknown failure code", "{}", f.code);
        }
        let _ = digests(&c);
    }
}

#[test]
fn values_built_in_memory_deeper_than_the_parser_allows_are_rejected() {
    let (mut cert, cfg) = base();
    let mut deep = Value::Null;
    for _ in 0..100_000 {
        deep = Value::Array(vec![deep]);
    }
    set(&mut cert, &["evidence", "objects", "0", "value", "x"], deep);
    let r = mp::check_value(&cert, &cfg);
    assert_eq!(codes(&r), ["Parse/CERTIFICATE_JSON_MALFORMED"]);
    assert!(digests(&cert).is_err());
    // Dropping such a value recursively would overflow the stack: unwind it by hand.
    let mut stack = vec![cert];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.entries.into_iter().map(|(_, x)| x)),
            _ => {}
        }
    }
}
