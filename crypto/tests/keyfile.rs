//! Key files: permissions, atomic creation, refusal of insecure files, mismatch detection and
//! malformed JSON.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use maat_crypto::keyfile::{
    KeyFileError, load_key_file, load_public_key, write_key_file, write_public_key_file,
};
use maat_crypto::sig::{Algorithm, KeyPair};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, m: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(m)).unwrap();
}

/// Writes a secret key file by hand (not with the code under test), mode 0600.
fn hand_written(dir: &Path, name: &str, json: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    fs::write(&p, json).unwrap();
    set_mode(&p, 0o600);
    p
}

#[test]
fn written_with_mode_0600_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    for alg in Algorithm::ALL {
        let kp = KeyPair::generate(alg);
        let path = dir.path().join(format!("{alg}.json"));
        write_key_file(&path, &kp, Some("validator-0")).unwrap();
        assert_eq!(mode(&path), 0o600);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "{names:?}");

        // The JSON has exactly the documented fields, checked independently of the loader.
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["alg", "id", "public_key", "secret_seed"]);
        assert_eq!(obj["alg"], alg.as_str());
        assert_eq!(obj["id"], "validator-0");
        assert_eq!(
            B64.decode(obj["public_key"].as_str().unwrap()).unwrap(),
            kp.public().as_bytes()
        );
        let seed: [u8; 32] = B64
            .decode(obj["secret_seed"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(KeyPair::from_seed(alg, &seed).public(), kp.public());

        let loaded = load_key_file(&path).unwrap();
        assert_eq!(loaded.id.as_deref(), Some("validator-0"));
        assert_eq!(loaded.key_pair.public(), kp.public());
        // The loaded key signs like the original.
        let sig = loaded.key_pair.sign(b"d\n", b"m");
        kp.public().verify(b"d\n", b"m", &sig).unwrap();
        // The public part can be read from the secret file too.
        assert_eq!(load_public_key(&path).unwrap().public_key, kp.public());
    }
}

#[test]
fn loads_a_file_written_by_hand_without_id() {
    let dir = tempfile::tempdir().unwrap();
    // RFC 8032 TEST 1 key, base64 computed outside this crate.
    let p = hand_written(
        dir.path(),
        "k.json",
        r#"{"alg":"ed25519",
            "public_key":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "secret_seed":"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="}"#,
    );
    let k = load_key_file(&p).unwrap();
    assert_eq!(k.id, None);
    assert_eq!(
        hex::encode(k.key_pair.public().as_bytes()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
}

#[test]
fn refuses_group_or_world_accessible_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    write_key_file(&path, &KeyPair::generate(Algorithm::Ed25519), None).unwrap();
    for m in [
        0o644,
        0o640,
        0o604,
        0o660,
        0o606,
        0o610,
        0o601,
        0o700 | 0o004,
    ] {
        set_mode(&path, m);
        match load_key_file(&path) {
            Err(KeyFileError::InsecurePermissions { path: p, mode }) => {
                assert_eq!(p, path);
                assert_eq!(mode, m);
            }
            other => panic!("mode {m:o}: {other:?}"),
        }
        let msg = load_key_file(&path).unwrap_err().to_string();
        assert!(
            msg.contains("k.json") && msg.contains(&format!("{m:04o}")),
            "{msg}"
        );
        // Public data may still be read.
        load_public_key(&path).unwrap();
    }
    for m in [0o600, 0o400, 0o700] {
        set_mode(&path, m);
        load_key_file(&path).unwrap();
    }
}

#[test]
fn never_overwrites_an_existing_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let first = KeyPair::generate(Algorithm::Ed25519);
    write_key_file(&path, &first, None).unwrap();
    let err = write_key_file(&path, &KeyPair::generate(Algorithm::Ed25519), None).unwrap_err();
    assert!(matches!(err, KeyFileError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(
        load_key_file(&path).unwrap().key_pair.public(),
        first.public()
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn detects_public_key_that_does_not_match_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    for alg in Algorithm::ALL {
        let a = KeyPair::from_seed(alg, &[1; 32]);
        let b = KeyPair::from_seed(alg, &[2; 32]);
        let json = format!(
            r#"{{"alg":"{alg}","public_key":"{}","secret_seed":"{}"}}"#,
            B64.encode(b.public().as_bytes()),
            B64.encode([1u8; 32])
        );
        let p = hand_written(dir.path(), &format!("{alg}-mismatch.json"), &json);
        assert!(
            matches!(load_key_file(&p), Err(KeyFileError::KeyMismatch { .. })),
            "{alg}"
        );
        // The matching file loads, so the refusal above is about the mismatch.
        let json = format!(
            r#"{{"alg":"{alg}","public_key":"{}","secret_seed":"{}"}}"#,
            B64.encode(a.public().as_bytes()),
            B64.encode([1u8; 32])
        );
        let p = hand_written(dir.path(), &format!("{alg}-ok.json"), &json);
        load_key_file(&p).unwrap();
    }
}

#[test]
fn malformed_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pk = B64.encode(
        KeyPair::from_seed(Algorithm::Ed25519, &[1; 32])
            .public()
            .as_bytes(),
    );
    let seed = B64.encode([1u8; 32]);
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "malformed"),
        ("not json", "alg=ed25519".into(), "malformed"),
        (
            "truncated",
            format!(r#"{{"alg":"ed25519","public_key":"{pk}""#),
            "malformed",
        ),
        ("array", "[]".into(), "malformed"),
        (
            "missing seed",
            format!(r#"{{"alg":"ed25519","public_key":"{pk}"}}"#),
            "secret_seed",
        ),
        (
            "missing pk",
            format!(r#"{{"alg":"ed25519","secret_seed":"{seed}"}}"#),
            "public_key",
        ),
        (
            "unknown field",
            format!(r#"{{"alg":"ed25519","public_key":"{pk}","secret_seed":"{seed}","x":1}}"#),
            "unknown field",
        ),
        (
            "bad alg",
            format!(r#"{{"alg":"rsa","public_key":"{pk}","secret_seed":"{seed}"}}"#),
            "`alg`",
        ),
        (
            "bad base64 seed",
            format!(r#"{{"alg":"ed25519","public_key":"{pk}","secret_seed":"***"}}"#),
            "`secret_seed`",
        ),
        (
            "short seed",
            format!(r#"{{"alg":"ed25519","public_key":"{pk}","secret_seed":"AAAA"}}"#),
            "`secret_seed`",
        ),
        (
            "short public key",
            format!(r#"{{"alg":"ed25519","public_key":"AAAA","secret_seed":"{seed}"}}"#),
            "`public_key`",
        ),
        (
            "wrong type",
            format!(r#"{{"alg":5,"public_key":"{pk}","secret_seed":"{seed}"}}"#),
            "malformed",
        ),
    ];
    for (i, (name, json, needle)) in cases.iter().enumerate() {
        let p = hand_written(dir.path(), &format!("case{i}.json"), json);
        let err = load_key_file(&p).expect_err(name);
        let msg = err.to_string();
        assert!(msg.contains(&format!("case{i}.json")), "{name}: {msg}");
        assert!(msg.contains(needle), "{name}: {msg}");
        assert!(
            !msg.contains(&seed),
            "{name}: the error must not echo the seed"
        );
        assert!(
            matches!(
                err,
                KeyFileError::MalformedJson { .. } | KeyFileError::InvalidField { .. }
            ),
            "{name}: {err:?}"
        );
    }
    // Not a file, missing file, oversized file.
    assert!(matches!(
        load_key_file(dir.path()),
        Err(KeyFileError::NotAFile { .. })
    ));
    assert!(matches!(
        load_key_file(dir.path().join("absent.json")),
        Err(KeyFileError::Io { .. })
    ));
    let big = hand_written(dir.path(), "big.json", &" ".repeat(70_000));
    assert!(matches!(
        load_key_file(&big),
        Err(KeyFileError::TooLarge { .. })
    ));
}

#[test]
fn public_key_files() {
    let dir = tempfile::tempdir().unwrap();
    for alg in Algorithm::ALL {
        let pk = KeyPair::generate(alg).public();
        let path = dir.path().join(format!("{alg}.pub.json"));
        write_public_key_file(&path, &pk, Some("ci-bot")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert!(v.get("secret_seed").is_none());
        assert_eq!(v["alg"], alg.as_str());
        // No permission requirement for public files.
        set_mode(&path, 0o644);
        let loaded = load_public_key(&path).unwrap();
        assert_eq!(loaded.public_key, pk);
        assert_eq!(loaded.id.as_deref(), Some("ci-bot"));
        // A public file is not a secret key file.
        set_mode(&path, 0o600);
        assert!(matches!(
            load_key_file(&path),
            Err(KeyFileError::MalformedJson { .. })
        ));
        // Replacing a public key file is allowed.
        let other = KeyPair::generate(alg).public();
        write_public_key_file(&path, &other, None).unwrap();
        assert_eq!(load_public_key(&path).unwrap().public_key, other);
    }
    assert!(matches!(
        write_public_key_file("/", &KeyPair::generate(Algorithm::Ed25519).public(), None),
        Err(KeyFileError::InvalidPath { .. })
    ));
}
