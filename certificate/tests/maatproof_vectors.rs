//! Replays every `maatproof-v1` vector in `tests/vectors/maatproof/` (CERTIFICATE.md and the
//! vectors' INDEX.md). A vector dropped into that directory later is checked too; an unknown
//! `kind` fails the test so it cannot be skipped silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use maat_certificate::codes::is_malformed;
use maat_certificate::json::{
    self, ParseMode, Value, canon_sha256_hex, canon_string, canon_write_ascii,
};
use maat_certificate::maatproof_v1::{
    self as mp, CheckerConfig, ConfigError, ledger_line, reasoning_step_hash, replay_verify,
    sign_attestation, sign_evidence, trace_to_evidence_bundle,
};
use maat_certificate::{Component, Report};
use sha2::{Digest, Sha256};

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/maatproof")
}

/// Byte spans of the top-level members of a JSON object, found without validating the values
/// (so a certificate that our parser must reject, e.g. with a lone surrogate, can still be
/// handed to the checker as raw bytes).
fn top_level_spans(b: &[u8]) -> BTreeMap<String, (usize, usize)> {
    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            i += 1;
        }
        i
    }
    fn end_of_string(b: &[u8], mut i: usize) -> usize {
        i += 1;
        while let Some(&c) = b.get(i) {
            match c {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        i
    }
    fn end_of_value(b: &[u8], mut i: usize) -> usize {
        let mut depth = 0usize;
        loop {
            match b.get(i) {
                None => return i,
                Some(b'"') => i = end_of_string(b, i),
                Some(b'{' | b'[') => {
                    depth += 1;
                    i += 1;
                }
                Some(b'}' | b']') => {
                    if depth == 0 {
                        return i;
                    }
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        return i;
                    }
                }
                Some(b',') if depth == 0 => return i,
                Some(_) => i += 1,
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut i = skip_ws(b, 0);
    assert_eq!(b.get(i), Some(&b'{'), "vector is not a JSON object");
    i += 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            break;
        }
        let ke = end_of_string(b, i);
        let key: String = serde_json::from_slice(&b[i..ke]).expect("member name");
        i = skip_ws(b, ke);
        assert_eq!(b.get(i), Some(&b':'));
        let vs = skip_ws(b, i + 1);
        let ve = end_of_value(b, vs);
        out.insert(key, (vs, ve));
        i = skip_ws(b, ve);
        if b.get(i) == Some(&b',') {
            i += 1;
        }
    }
    out
}

struct Vector {
    name: String,
    raw: Vec<u8>,
    spans: BTreeMap<String, (usize, usize)>,
    members: BTreeMap<String, Value>,
}

impl Vector {
    fn load(path: &Path) -> Vector {
        let raw = std::fs::read(path).expect("read vector");
        let spans = top_level_spans(&raw);
        let mut members = BTreeMap::new();
        for (k, &(s, e)) in &spans {
            // A member our parser rejects (only ever the certificate) stays raw.
            if let Ok(v) = json::parse(&raw[s..e], ParseMode::Python) {
                members.insert(k.clone(), v);
            }
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        Vector {
            name,
            raw,
            spans,
            members,
        }
    }
    fn get(&self, k: &str) -> &Value {
        self.members
            .get(k)
            .unwrap_or_else(|| panic!("{}: missing or unparseable {k}", self.name))
    }
    fn raw_member(&self, k: &str) -> &[u8] {
        let (s, e) = self.spans[k];
        &self.raw[s..e]
    }
    fn str(&self, k: &str) -> &str {
        self.get(k)
            .as_str()
            .unwrap_or_else(|| panic!("{}: {k} not a string", self.name))
    }
}

fn hexkey(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex key")).expect("hex")
}

type Errors = Vec<String>;

fn expect_eq<T: PartialEq + std::fmt::Debug>(errs: &mut Errors, what: &str, got: T, want: T) {
    if got != want {
        errs.push(format!("{what}: got {got:?}, want {want:?}"));
    }
}

fn failure_list(r: &Report) -> Vec<(String, String)> {
    r.failures
        .iter()
        .map(|f| (f.component.as_str().to_owned(), f.code.clone()))
        .collect()
}

fn expected_failures(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("failures")
        .iter()
        .map(|f| {
            let c = f
                .get("component")
                .and_then(Value::as_str)
                .expect("component");
            assert!(Component::from_wire(c).is_some(), "unknown component {c}");
            (
                c.to_owned(),
                f.get("code")
                    .and_then(Value::as_str)
                    .expect("code")
                    .to_owned(),
            )
        })
        .collect()
}

fn diff_failures(got: &[(String, String)], want: &[(String, String)]) -> String {
    let mut s = String::from("failures differ (- expected, + got):\n");
    let n = got.len().max(want.len());
    for i in 0..n {
        match (want.get(i), got.get(i)) {
            (Some(w), Some(g)) if w == g => s += &format!("    {}/{}\n", w.0, w.1),
            (w, g) => {
                if let Some(w) = w {
                    s += &format!("  - {}/{}\n", w.0, w.1);
                }
                if let Some(g) = g {
                    s += &format!("  + {}/{}\n", g.0, g.1);
                }
            }
        }
    }
    s
}

fn compare_report(errs: &mut Errors, got: &Report, want: &Value) {
    let b = |k: &str| {
        want.get(k)
            .and_then(Value::as_bool)
            .unwrap_or_else(|| panic!("expected.{k}"))
    };
    let s = |k: &str| {
        want.get(k)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("expected.{k}"))
    };
    expect_eq(errs, "accepted", got.accepted, b("accepted"));
    expect_eq(errs, "wf_policy", got.wf_policy, b("wf_policy"));
    expect_eq(errs, "auth_evidence", got.auth_evidence, b("auth_evidence"));
    expect_eq(errs, "check_proof", got.check_proof, b("check_proof"));
    expect_eq(errs, "quorum", got.quorum, b("quorum"));
    let (g, w) = (
        failure_list(got),
        expected_failures(want.get("failures").expect("failures")),
    );
    if g != w {
        errs.push(diff_failures(&g, &w));
    }
    expect_eq(
        errs,
        "certificate_digest",
        got.certificate_digest.as_str(),
        s("certificate_digest"),
    );
    expect_eq(
        errs,
        "policy_root",
        got.policy_root.as_str(),
        s("policy_root"),
    );
    expect_eq(
        errs,
        "evidence_root",
        got.evidence_root.as_str(),
        s("evidence_root"),
    );
    expect_eq(errs, "proof_root", got.proof_root.as_str(), s("proof_root"));
}

fn certificate_vector(v: &Vector, errs: &mut Errors) {
    let expected = v.get("expected");
    let cert_bytes = v.raw_member("certificate");
    let config = CheckerConfig::from_vector_json(v.get("checker"));
    if let Some(exc) = expected.get("python_exception") {
        let exc = exc.as_str().unwrap_or_default();
        match config {
            Err(e) => {
                // Only a configuration the reference refuses may fail here (vector 105).
                let kind = v
                    .get("checker")
                    .get("quorum_rule")
                    .and_then(|q| q.get("kind"));
                let kind = kind.and_then(Value::as_str).unwrap_or_default().to_owned();
                expect_eq(
                    errs,
                    "config error",
                    e.clone(),
                    ConfigError::UnknownQuorumKind(kind.clone()),
                );
                if !e.to_string().contains(&kind) || !exc.contains(&kind) {
                    errs.push(format!("config error {e} does not name {kind}"));
                }
            }
            Ok(config) => {
                let r = mp::check(cert_bytes, &config);
                if r.accepted || !r.failures.iter().any(|f| is_malformed(&f.code)) {
                    errs.push(format!(
                        "reference raises ({exc}); want a _MALFORMED rejection, got accepted={} {:?}",
                        r.accepted,
                        failure_list(&r)
                    ));
                }
                // Where we can still build the model, the digest must be Python's; where we
                // cannot, section 9b allows empty digests.
                if let Some(want) = v.members.get("canonical_body_sha256")
                    && let Ok(cert) = json::parse(cert_bytes, ParseMode::Python)
                    && let Ok(d) = mp::digests(&cert)
                {
                    expect_eq(
                        errs,
                        "canonical_body_sha256",
                        d.certificate_digest.as_str(),
                        want.as_str().unwrap_or_default(),
                    );
                }
            }
        }
        return;
    }
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            errs.push(format!("config: {e}"));
            return;
        }
    };
    let r = mp::check(cert_bytes, &config);
    compare_report(errs, &r, expected);
    // The pre-keyed checker and check_value agree with the one-shot path.
    let checker = mp::Checker::new(config.clone()).expect("valid config");
    expect_eq(errs, "Checker::check", &checker.check(cert_bytes), &r);
    let cert = json::parse(cert_bytes, ParseMode::Python).expect("certificate parses");
    expect_eq(errs, "check_value", &mp::check_value(&cert, &config), &r);
    match mp::digests(&cert) {
        Ok(d) => {
            expect_eq(
                errs,
                "canonical_body",
                d.canonical_body.as_str(),
                v.str("canonical_body"),
            );
            let sha = hex::encode(Sha256::digest(d.canonical_body.as_bytes()));
            expect_eq(
                errs,
                "sha256(canonical_body)",
                sha.as_str(),
                d.certificate_digest.as_str(),
            );
        }
        Err(f) => errs.push(format!("digests failed: {f:?}")),
    }
}

fn canonical_vector(v: &Vector, errs: &mut Errors) {
    for (i, case) in v.get("cases").as_array().expect("cases").iter().enumerate() {
        let input = case
            .get("input_json")
            .and_then(Value::as_str)
            .expect("input_json");
        let parsed = json::parse(input.as_bytes(), ParseMode::Python).expect("input parses");
        let want = case
            .get("canonical")
            .and_then(Value::as_str)
            .expect("canonical");
        expect_eq(
            errs,
            &format!("case {i} canonical"),
            canon_string(&parsed).as_str(),
            want,
        );
        let sha = case.get("sha256").and_then(Value::as_str).expect("sha256");
        expect_eq(
            errs,
            &format!("case {i} sha256"),
            canon_sha256_hex(&parsed).as_str(),
            sha,
        );
        // Canonical text is a fixed point.
        let again = json::parse(want.as_bytes(), ParseMode::Strict).expect("canonical parses");
        expect_eq(
            errs,
            &format!("case {i} reparse"),
            canon_string(&again).as_str(),
            want,
        );
    }
    for (i, case) in v
        .get("hmac_cases")
        .as_array()
        .expect("hmac_cases")
        .iter()
        .enumerate()
    {
        let key = hexkey(case.get("key_hex").expect("key_hex"));
        let input = case
            .get("input_json")
            .and_then(Value::as_str)
            .expect("input_json");
        let parsed = json::parse(input.as_bytes(), ParseMode::Python).expect("input parses");
        let msg = canon_string(&parsed);
        let want_msg = case
            .get("message")
            .and_then(Value::as_str)
            .expect("message");
        expect_eq(
            errs,
            &format!("hmac case {i} message"),
            msg.as_str(),
            want_msg,
        );
        let mut m = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        m.update(msg.as_bytes());
        let tag = hex::encode(m.finalize().into_bytes());
        let want = case
            .get("hmac_sha256")
            .and_then(Value::as_str)
            .expect("hmac");
        expect_eq(errs, &format!("hmac case {i}"), tag.as_str(), want);
    }
}

fn evidence_object_vector(v: &Vector, errs: &mut Errors) {
    let key = hexkey(v.get("key_hex"));
    let obj = v.get("object");
    let signed = sign_evidence(obj, &key).expect("signs");
    expect_eq(
        errs,
        "signed object",
        canon_string(&signed),
        canon_string(obj),
    );
    expect_eq(
        errs,
        "hash",
        signed.get("hash"),
        Some(&Value::from(v.str("hash"))),
    );
    expect_eq(
        errs,
        "signature",
        signed.get("signature"),
        Some(&Value::from(v.str("signature"))),
    );
    let mut payload = obj.as_object().expect("object").clone();
    payload
        .entries
        .retain(|(k, _)| k != "hash" && k != "signature");
    let payload = Value::Object(payload);
    expect_eq(
        errs,
        "payload_canonical",
        canon_string(&payload).as_str(),
        v.str("payload_canonical"),
    );
    expect_eq(
        errs,
        "hash of payload",
        canon_sha256_hex(&payload).as_str(),
        v.str("hash"),
    );
    let msg = canon_string(&Value::from(v.str("hash")));
    expect_eq(
        errs,
        "signed_message",
        msg.as_str(),
        v.str("signed_message"),
    );
}

fn attestation_vector(v: &Vector, errs: &mut Errors) {
    let key = hexkey(v.get("key_hex"));
    let att = v.get("attestation");
    let signed = sign_attestation(att, &key).expect("signs");
    expect_eq(
        errs,
        "signature",
        signed.get("signature"),
        Some(&Value::from(v.str("signature"))),
    );
    expect_eq(errs, "wire form", canon_string(&signed), canon_string(att));
    let mut payload = att.as_object().expect("object").clone();
    payload.entries.retain(|(k, _)| k != "signature");
    expect_eq(
        errs,
        "signed_message",
        canon_string(&Value::Object(payload)).as_str(),
        v.str("signed_message"),
    );
}

fn ledger_vector(v: &Vector, errs: &mut Errors) {
    let config = CheckerConfig::from_vector_json(v.get("checker")).expect("config");
    let cert_bytes = v.raw_member("certificate");
    let cert = v.get("certificate");
    let report = mp::check(cert_bytes, &config);
    let env = cert
        .get("request")
        .and_then(|r| r.get("environment"))
        .expect("environment");
    let ts = v
        .get("append_timestamp")
        .as_f64()
        .expect("append_timestamp");
    match ledger_line(&report, env, ts) {
        Ok(line) => expect_eq(errs, "jsonl_line", line.as_str(), v.str("jsonl_line")),
        Err(e) => errs.push(format!("ledger_line: {e}")),
    }
    let with = replay_verify(cert_bytes, &config, v.str("jsonl_line"));
    compare_report(errs, &with, v.get("replay_with_entry"));
    let without = replay_verify(cert_bytes, &config, "");
    compare_report(errs, &without, v.get("replay_without_entry"));
    let rejected = Report {
        accepted: false,
        ..report
    };
    if ledger_line(&rejected, env, ts).is_ok() {
        errs.push("ledger_line accepted a rejected report".into());
    }
}

fn avm_vector(v: &Vector, errs: &mut Errors) {
    let key = hexkey(v.get("key_hex"));
    match trace_to_evidence_bundle(v.get("trace"), &key) {
        Ok(bundle) => {
            expect_eq(
                errs,
                "evidence_bundle",
                canon_string(&bundle),
                canon_string(v.get("evidence_bundle")),
            );
            expect_eq(
                errs,
                "evidence_root",
                canon_sha256_hex(&bundle).as_str(),
                v.str("evidence_root"),
            );
        }
        Err(e) => errs.push(format!("trace_to_evidence_bundle: {e}")),
    }
}

fn reasoning_vector(v: &Vector, errs: &mut Errors) {
    let step = v.get("step");
    let prev = v.str("previous_hash");
    match reasoning_step_hash(step, prev) {
        Ok(h) => expect_eq(
            errs,
            "python_step_hash",
            h.as_str(),
            v.str("python_step_hash"),
        ),
        Err(e) => errs.push(format!("reasoning_step_hash: {e}")),
    }
    let mut o = step.as_object().expect("step").clone();
    o.insert("previous_hash", Value::from(prev));
    let mut text = Vec::new();
    canon_write_ascii(&Value::Object(o.clone()), &mut text);
    expect_eq(
        errs,
        "python_hashed_text",
        String::from_utf8(text).unwrap().as_str(),
        v.str("python_hashed_text"),
    );
    expect_eq(
        errs,
        "unescaped_text",
        canon_string(&Value::Object(o)).as_str(),
        v.str("unescaped_text"),
    );
}

#[test]
fn every_maatproof_vector() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("vector directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut failed = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for path in &paths {
        let v = Vector::load(path);
        let kind = v.str("kind").to_owned();
        *kinds.entry(kind.clone()).or_default() += 1;
        let mut errs = Errors::new();
        match kind.as_str() {
            "certificate" => certificate_vector(&v, &mut errs),
            "canonical" => canonical_vector(&v, &mut errs),
            "evidence_object" => evidence_object_vector(&v, &mut errs),
            "attestation" => attestation_vector(&v, &mut errs),
            "ledger" => ledger_vector(&v, &mut errs),
            "avm_trace" => avm_vector(&v, &mut errs),
            "reasoning_step" => reasoning_vector(&v, &mut errs),
            other => errs.push(format!("unknown vector kind {other:?}")),
        }
        if !errs.is_empty() {
            failed.push(format!("{}:\n  {}", v.name, errs.join("\n  ")));
        }
    }
    eprintln!("checked {} vectors: {kinds:?}", paths.len());
    assert!(
        kinds.get("certificate").copied().unwrap_or(0) >= 61,
        "vectors missing: {kinds:?}"
    );
    assert!(
        failed.is_empty(),
        "{} vector(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
