//! Genesis files: loading (JSON, TOML), validation errors, the hash, generation, the
//! initial state.

use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::genesis::{check_peer_id, derive_seed};
use maat_ledger::state::identity_record;
use maat_ledger::{Genesis, GenesisError, GenesisSpec, MemoryState};

fn generated() -> Genesis {
    Genesis::generate(&GenesisSpec::new(4, [1; 32]))
        .unwrap()
        .genesis
}

fn problems(text: &str) -> Vec<String> {
    match Genesis::from_json(text) {
        Err(GenesisError::Invalid(p)) => p,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn json_value() -> serde_json::Value {
    serde_json::from_str(&generated().to_json_pretty()).unwrap()
}

#[test]
fn load_json_and_toml_files() {
    let g = generated();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("genesis.json");
    std::fs::write(&json, g.to_json_pretty()).unwrap();
    let loaded = Genesis::load(&json).unwrap();
    assert_eq!(loaded, g);
    assert_eq!(loaded.hash(), g.hash());
    let toml_path = dir.path().join("genesis.toml");
    std::fs::write(&toml_path, toml::to_string(&g.to_file()).unwrap()).unwrap();
    assert_eq!(Genesis::load(&toml_path).unwrap().hash(), g.hash());
    match Genesis::load(dir.path().join("missing.json")) {
        Err(e @ GenesisError::Io { .. }) => assert!(e.to_string().contains("missing.json")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hash_ignores_formatting_and_covers_content() {
    let g = generated();
    let v = json_value();
    // Compact, reordered keys, params omitted where default, time with explicit millis.
    let mut compact = v.clone();
    compact["genesis_time"] = "2026-01-01T00:00:00.000Z".into();
    compact.as_object_mut().unwrap().remove("params");
    let text = serde_json::to_string(&compact).unwrap();
    assert_eq!(Genesis::from_json(&text).unwrap().hash(), g.hash());
    assert_eq!(
        Genesis::from_canonical_bytes(&g.canonical_bytes()).unwrap(),
        g
    );
    for edit in [
        |v: &mut serde_json::Value| v["chain_id"] = "other".into(),
        |v: &mut serde_json::Value| v["genesis_time"] = "2026-01-01T00:00:01Z".into(),
        |v: &mut serde_json::Value| v["validators"][0]["voting_power"] = 2.into(),
        |v: &mut serde_json::Value| v["params"]["max_clock_skew_secs"] = 31.into(),
        |v: &mut serde_json::Value| v["params"]["timeouts"]["backoff"] = 2.0.into(),
        |v: &mut serde_json::Value| v["admins"][0]["roles"] = serde_json::json!(["admin", "x"]),
    ] {
        let mut e = v.clone();
        edit(&mut e);
        let other = Genesis::from_json(&e.to_string()).unwrap();
        assert_ne!(other.hash(), g.hash(), "{e}");
    }
    // Validator order is leader order: it counts.
    let mut swapped = v.clone();
    swapped["validators"].as_array_mut().unwrap().swap(0, 1);
    assert_ne!(
        Genesis::from_json(&swapped.to_string()).unwrap().hash(),
        g.hash()
    );
}

#[test]
fn syntax_errors() {
    let mut v = json_value();
    v["surprise"] = 1.into();
    assert!(
        matches!(Genesis::from_json(&v.to_string()), Err(GenesisError::Syntax(m)) if m.contains("surprise"))
    );
    let mut v = json_value();
    v["params"]["max_blok_bytes"] = 1.into();
    assert!(matches!(
        Genesis::from_json(&v.to_string()),
        Err(GenesisError::Syntax(_))
    ));
    let dup =
        json_value()
            .to_string()
            .replacen("\"chain_id\"", "\"chain_id\":\"a\",\"chain_id\"", 1);
    assert!(
        matches!(Genesis::from_json(&dup), Err(GenesisError::Syntax(m)) if m.contains("duplicate"))
    );
    assert!(matches!(
        Genesis::from_json("[]"),
        Err(GenesisError::Syntax(_))
    ));
    let mut v = json_value();
    v["params"]["timeouts"]["backoff"] = 0.5.into();
    assert!(
        matches!(Genesis::from_json(&v.to_string()), Err(GenesisError::Syntax(m)) if m.contains("backoff"))
    );
    assert!(matches!(
        Genesis::from_toml("chain_id = 1"),
        Err(GenesisError::Syntax(_))
    ));
}

#[test]
fn validation_errors_are_all_reported_with_their_field() {
    let mut v = json_value();
    let ed = KeyPair::from_seed(Algorithm::Ed25519, &[3; 32])
        .public()
        .to_text();
    v["chain_id"] = "bad chain".into();
    v["genesis_time"] = "yesterday".into();
    v["validators"][0]["public_key"] = ed.clone().into();
    v["validators"][1]["id"] = v["validators"][2]["id"].clone();
    v["validators"][2]["peer_id"] = "not-a-peer-id".into();
    v["validators"][3]["voting_power"] = 0.into();
    v["admins"][0]["public_key"] = "ed25519:AAAA".into();
    v["params"]["max_tx_bytes"] = (1u64 << 40).into();
    let p = problems(&v.to_string());
    // Key text problems are found first (conversion), the rest in validation.
    assert!(p.iter().any(|m| m.starts_with("genesis_time:")), "{p:?}");
    assert!(
        p.iter().any(|m| m.starts_with("admins[0].public_key:")),
        "{p:?}"
    );
    v["genesis_time"] = "2026-01-01T00:00:00Z".into();
    v["admins"][0]["public_key"] = ed.into();
    let p = problems(&v.to_string());
    for prefix in [
        "chain_id:",
        "validators[0].public_key: validators sign with mldsa65",
        "validators[2].id: `validator-2` is used twice",
        "validators[2].peer_id:",
        "validators[3].voting_power:",
        "params.max_tx_bytes:",
    ] {
        assert!(
            p.iter().any(|m| m.starts_with(prefix)),
            "missing {prefix}: {p:?}"
        );
    }
    let msg = GenesisError::Invalid(p).to_string();
    assert!(msg.starts_with("invalid genesis: "));
}

#[test]
fn empty_sets_and_duplicates_are_invalid() {
    let mut v = json_value();
    v["validators"] = serde_json::json!([]);
    v["admins"] = serde_json::json!([]);
    let p = problems(&v.to_string());
    assert!(p.iter().any(|m| m.starts_with("validators: at least one")));
    assert!(p.iter().any(|m| m.starts_with("admins: at least one")));
    let mut v = json_value();
    let first = v["validators"][0].clone();
    v["validators"].as_array_mut().unwrap().push(first);
    let p = problems(&v.to_string());
    assert!(
        p.iter().any(|m| m.contains("used by another validator")),
        "{p:?}"
    );
    let mut v = json_value();
    v["admins"][0]["roles"] = serde_json::json!(["not ok"]);
    assert!(
        problems(&v.to_string())
            .iter()
            .any(|m| m.starts_with("admins[0].roles:"))
    );
    let mut v = json_value();
    v["params"]["timeouts"]["initial_round_ms"] = 100_000.into();
    v["params"]["max_block_txs"] = 0.into();
    let p = problems(&v.to_string());
    assert!(
        p.iter()
            .any(|m| m.starts_with("params.timeouts.initial_round_ms")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|m| m.starts_with("params.max_block_txs")),
        "{p:?}"
    );
}

#[test]
fn generation_is_deterministic_and_valid() {
    let a = Genesis::generate(&GenesisSpec::new(4, [9; 32])).unwrap();
    let b = Genesis::generate(&GenesisSpec::new(4, [9; 32])).unwrap();
    let other = Genesis::generate(&GenesisSpec::new(4, [8; 32])).unwrap();
    assert_eq!(a.genesis.hash(), b.genesis.hash());
    assert_ne!(a.genesis.hash(), other.genesis.hash());
    let g = &a.genesis;
    assert_eq!(g.validators().len(), 4);
    for (i, v) in g.validators().iter().enumerate() {
        assert_eq!(v.public_key, a.validator_keys[i].public());
        assert_eq!(v.public_key.algorithm(), Algorithm::MlDsa65);
        assert!(v.peer_id.starts_with("12D3KooW"));
        assert_eq!(check_peer_id(&v.peer_id), Ok(()));
        assert_eq!(a.validator_p2p_seeds[i], derive_seed(&[9; 32], "p2p", i));
    }
    assert_eq!(g.admins()[0].public_key, a.admin_keys[0].public());
    assert_eq!(g.params(), &maat_ledger::ChainParams::default());
    assert!(Genesis::generate(&GenesisSpec::new(0, [9; 32])).is_err());
    // Round trip through the file form.
    assert_eq!(Genesis::from_json(&g.to_json_pretty()).unwrap(), *g);
}

#[test]
fn initial_state_registers_the_admins() {
    let g = generated();
    let mut s = MemoryState::new();
    s.apply(&g.initial_state());
    assert_eq!(s.len(), 1);
    let rec = identity_record(&s, "admin-0").unwrap().unwrap();
    assert_eq!(rec.roles, ["admin"]);
    let mut v = json_value();
    v["admins"][0]["roles"] = serde_json::json!(["owner:checkout"]);
    let g = Genesis::from_json(&v.to_string()).unwrap();
    assert_eq!(g.admins()[0].roles, ["admin", "owner:checkout"]);
}
