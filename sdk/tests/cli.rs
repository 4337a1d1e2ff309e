//! End-to-end tests of the `maat` binary: real processes, temp dirs, the repository's data.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn maat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maat"))
        .args(args)
        .output()
        .expect("run maat")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn vectors_dir() -> PathBuf {
    repo().join("certificate/tests/vectors/maatproof")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn every_certificate_vector_is_reproduced_by_cert_check_vector_json() {
    let mut checked = 0;
    for entry in std::fs::read_dir(vectors_dir()).expect("vectors dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let vector: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("vector JSON");
        if vector["kind"] != "certificate" {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = maat(&[
            "cert",
            "check",
            "--vector",
            path.to_str().unwrap(),
            "--json",
        ]);
        let expected = &vector["expected"];
        if let Some(exc) = expected.get("python_exception") {
            if exc
                .as_str()
                .unwrap_or("")
                .starts_with("ValueError: unsupported quorum rule")
            {
                // An unknown quorum kind is a configuration error (CERTIFICATE.md 9b).
                assert_eq!(code(&out), 2, "{name}: {}", stderr(&out));
                let kind = vector["checker"]["quorum_rule"]["kind"].as_str().unwrap();
                assert!(
                    stderr(&out).contains(kind),
                    "{name}: stderr must name `{kind}`"
                );
            } else {
                assert_eq!(
                    code(&out),
                    1,
                    "{name}: a reference crash must be a rejection"
                );
                let report: serde_json::Value =
                    serde_json::from_str(&stdout(&out)).expect("report");
                assert_eq!(report["accepted"], false, "{name}");
                assert!(
                    report["failures"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|f| f["code"]
                            .as_str()
                            .unwrap()
                            .split(':')
                            .next()
                            .unwrap()
                            .ends_with("_MALFORMED")),
                    "{name}: expected a *_MALFORMED code, got {}",
                    report["failures"]
                );
            }
            checked += 1;
            continue;
        }
        let report: serde_json::Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{name}: report is not JSON ({e}): {}", stdout(&out)));
        for key in [
            "accepted",
            "wf_policy",
            "auth_evidence",
            "check_proof",
            "quorum",
            "certificate_digest",
            "policy_root",
            "evidence_root",
            "proof_root",
        ] {
            assert_eq!(report[key], expected[key], "{name}: {key}");
        }
        let ours: Vec<(String, String)> = report["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["component"].as_str().unwrap().to_owned(),
                    f["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let theirs: Vec<(String, String)> = expected["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["component"].as_str().unwrap().to_owned(),
                    f["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{name}: failures");
        let want_exit = if expected["accepted"] == true { 0 } else { 1 };
        assert_eq!(code(&out), want_exit, "{name}: exit code");
        checked += 1;
    }
    assert!(checked >= 61, "only {checked} certificate vectors found");
}

#[test]
fn human_output_explains_each_failure_code() {
    let v = vectors_dir().join("032_test_failed.json");
    let out = maat(&["cert", "check", "--vector", v.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("REJECTED"), "{text}");
    assert!(text.contains("EVIDENCE_TEST_NOT_PASSED:unit"), "{text}");
    // The line after each code is the human sentence from the codes table.
    let explained = maat_certificate::codes::explain("EVIDENCE_TEST_NOT_PASSED:unit");
    assert!(text.contains(explained), "{text}");
    assert!(
        text.contains("matches the vector's expected report"),
        "{text}"
    );
}

/// A scratch copy of examples/checkout with a fresh key for `ci-bot`.
struct Example {
    dir: tempfile::TempDir,
}

impl Example {
    fn new(alg: &str) -> Example {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["deploy.toml", "policy.json", "registry.toml"] {
            std::fs::copy(repo().join("examples/checkout").join(f), dir.path().join(f))
                .expect("copy");
        }
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        let key = dir.path().join("keys/ci.json");
        let out = maat(&[
            "keygen",
            "--alg",
            alg,
            "--id",
            "ci-bot",
            "--out",
            key.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with(&format!("{alg}:")),
            "public key on stdout"
        );
        Example { dir }
    }

    fn path(&self, p: &str) -> String {
        self.dir.path().join(p).to_str().unwrap().to_owned()
    }

    fn build(&self) -> Output {
        maat(&[
            "cert",
            "build",
            "--spec",
            &self.path("deploy.toml"),
            "--key",
            &self.path("keys/ci.json"),
            "--out",
            &self.path("cert.json"),
        ])
    }

    fn check(&self) -> Output {
        maat(&[
            "cert",
            "check",
            &self.path("cert.json"),
            "--rule-set",
            "maat-v1",
            "--registry",
            &self.path("registry.toml"),
            "--json",
        ])
    }
}

fn failure_codes(out: &Output) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&stdout(out)).expect("report JSON");
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn readme_example_round_trips_under_maat_v1_with_both_algorithms() {
    for alg in ["ed25519", "mldsa65"] {
        let ex = Example::new(alg);
        let built = ex.build();
        assert_eq!(code(&built), 0, "{alg}: {}", stderr(&built));
        let out = ex.check();
        assert_eq!(code(&out), 0, "{alg}: {} {}", stdout(&out), stderr(&out));
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(report["accepted"], true);
        let cert = std::fs::read_to_string(ex.path("cert.json")).unwrap();
        assert!(
            cert.contains(&format!("\"signature\":\"{alg}:")),
            "{alg} signatures in the certificate"
        );
    }
}

#[test]
fn tampered_evidence_is_rejected_with_its_code() {
    let ex = Example::new("ed25519");
    assert_eq!(code(&ex.build()), 0);
    let cert = std::fs::read_to_string(ex.path("cert.json")).unwrap();
    // The scan report claimed zero criticals; claim one instead (hash no longer matches).
    let tampered = cert.replacen("\"critical\":0", "\"critical\":1", 1);
    assert_ne!(cert, tampered);
    std::fs::write(ex.path("cert.json"), tampered).unwrap();
    let out = ex.check();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        failure_codes(&out).contains(&"EVIDENCE_HASH_INVALID:scan".to_owned()),
        "{:?}",
        failure_codes(&out)
    );
}

#[test]
fn a_signer_the_registry_does_not_authorise_is_rejected() {
    let ex = Example::new("ed25519");
    assert_eq!(code(&ex.build()), 0);
    let reg = std::fs::read_to_string(ex.path("registry.toml")).unwrap();
    let reg = reg.replace("test_result = [\"role:ci\"]", "test_result = [\"role:qa\"]");
    std::fs::write(ex.path("registry.toml"), reg).unwrap();
    let out = ex.check();
    assert_eq!(code(&out), 1);
    assert!(
        failure_codes(&out).contains(&"EVIDENCE_SIGNER_UNAUTHORIZED:test".to_owned()),
        "{:?}",
        failure_codes(&out)
    );
}

#[test]
fn key_files_are_private_and_never_overwritten() {
    let ex = Example::new("ed25519");
    let key = ex.path("keys/ci.json");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = maat(&["keygen", "--out", &key]);
    assert_eq!(code(&again), 2, "must refuse to overwrite");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let built = ex.build();
    assert_eq!(code(&built), 2);
    assert!(stderr(&built).contains("ci.json"), "{}", stderr(&built));
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let ex = Example::new("ed25519");
    assert_eq!(code(&ex.build()), 0);
    let no_registry = maat(&[
        "cert",
        "check",
        &ex.path("cert.json"),
        "--rule-set",
        "maat-v1",
    ]);
    assert_eq!(code(&no_registry), 2);
    assert!(stderr(&no_registry).contains("--registry"));
    let bad_quorum = maat(&[
        "cert",
        "check",
        &ex.path("cert.json"),
        "--rule-set",
        "maatproof-v1",
        "--hmac-key",
        "00",
        "--quorum",
        "unanimous",
    ]);
    assert_eq!(code(&bad_quorum), 2);
    assert!(stderr(&bad_quorum).contains("unanimous"));
    let bad_rule_set = maat(&["cert", "check", &ex.path("cert.json"), "--rule-set", "v0"]);
    assert_eq!(code(&bad_rule_set), 2);
}
