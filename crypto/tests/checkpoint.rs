//! Checkpoints in the C2SP signed-note format: known answers from independent sources (the C2SP
//! specs, Go's `golang.org/x/mod/sumdb/note`, a real `sum.golang.org` checkpoint), round trips,
//! quorum counting, every error path, and mutated inputs (no panic, no forgery).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use maat_crypto::checkpoint::{
    CHECKPOINT_DOMAIN, Checkpoint, CheckpointError, MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES,
    MLDSA65_TYPE_ID, NoteSignature, NoteVerifierKey, SIG_TYPE_MLDSA65, SignedNote,
    bft_quorum_power, cosign, cosign_deterministic, cosigner_key_name, validate_key_name,
    validate_origin, verify_cosigned,
};
use maat_crypto::sig::{Algorithm, KeyPair};

// ---------------------------------------------------------------------------------------------
// Independent known answers, copied verbatim from their sources.

/// c2sp.org/tlog-checkpoint, the example checkpoint's note text.
const TLOG_EXAMPLE_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

/// c2sp.org/signed-note, "Verifier keys" example key and the example note it signs.
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

/// golang.org/x/mod/sumdb/note, package documentation ("Example") and note_test.go: the signer
/// key `PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 || seed)>`, its verifier key, the text,
/// and the signature line `note.Sign` prints; a second key (EnochRoot) signing the same text.
const GO_SKEY_MATERIAL: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const GO_ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// The Go checksum database's published verifier key (built into the `go` command) and a real
/// signed tree head of that log (quoted in google/trillian-examples' `TestSumDBNoteParsing`).
const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_NOTE: &str = "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n\u{2014} sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";

// ---------------------------------------------------------------------------------------------
// Helpers

const CHAIN: &str = "maat-testnet-1";

fn validator_key(i: u8) -> KeyPair {
    KeyPair::from_seed(Algorithm::MlDsa65, &[i + 1; 32])
}

struct Net {
    keys: Vec<KeyPair>,
    set: Vec<(NoteVerifierKey, u64)>,
}

/// `n` validators with equal power 1, ids `validator-<i>`.
fn net(n: u8) -> Net {
    let keys: Vec<KeyPair> = (0..n).map(validator_key).collect();
    let set = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                NoteVerifierKey::for_validator(CHAIN, &format!("validator-{i}"), k.public())
                    .unwrap(),
                1,
            )
        })
        .collect();
    Net { keys, set }
}

impl Net {
    fn cosign(&self, cp: &Checkpoint, i: usize) -> NoteSignature {
        cosign(cp, &self.set[i].0.name, &self.keys[i]).unwrap()
    }

    fn note(&self, cp: &Checkpoint, signers: &[usize]) -> String {
        let mut note = SignedNote::from_checkpoint(cp);
        for &i in signers {
            note.signatures.push(self.cosign(cp, i));
        }
        note.to_text()
    }
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new(CHAIN, 1234, maat_crypto::sha256(b"some root")).unwrap()
}

fn malformed<T: std::fmt::Debug>(r: Result<T, CheckpointError>) -> String {
    match r {
        Err(CheckpointError::Malformed(m)) => m,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Known answers

#[test]
fn body_format_matches_tlog_checkpoint_example() {
    let root: [u8; 32] = B64
        .decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
        .unwrap()
        .try_into()
        .unwrap();
    let cp = Checkpoint::new("example.com/behind-the-sofa", 20_852_163, root).unwrap();
    assert_eq!(cp.body(), TLOG_EXAMPLE_BODY);
    assert_eq!(Checkpoint::parse_body(TLOG_EXAMPLE_BODY).unwrap(), cp);
    // The empty tree is "0".
    let empty = Checkpoint::new("o", 0, maat_crypto::sha256(b"")).unwrap();
    assert_eq!(
        empty.body(),
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    );
    assert_eq!(Checkpoint::parse_body(&empty.body()).unwrap(), empty);
    let max = Checkpoint::new("o", u64::MAX, [0xff; 32]).unwrap();
    assert_eq!(Checkpoint::parse_body(&max.body()).unwrap(), max);
}

#[test]
fn c2sp_signed_note_example_key_id_and_signature() {
    let key = NoteVerifierKey::from_vkey(SPEC_VKEY).unwrap();
    assert_eq!(key.name, "example.com/foo");
    assert_eq!(key.public_key.algorithm(), Algorithm::Ed25519);
    assert_eq!(hex::encode(key.key_id()), "530d903a");
    assert_eq!(key.to_vkey(), SPEC_VKEY);

    let note = SignedNote::parse(SPEC_NOTE).unwrap();
    assert_eq!(note.body, "This is an example message.\n");
    assert_eq!(note.signatures.len(), 1);
    assert!(key.matches(&note.signatures[0]));
    key.verify(&note.body, &note.signatures[0]).unwrap();
    assert_eq!(note.to_text(), SPEC_NOTE);
    assert!(matches!(
        key.verify("This is an example massage.\n", &note.signatures[0]),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn go_note_example_reproduced_byte_for_byte() {
    // The signer key material is 0x01 || the 32-byte Ed25519 seed.
    let material = B64.decode(GO_SKEY_MATERIAL).unwrap();
    assert_eq!(material[0], 0x01);
    let kp = KeyPair::from_seed(Algorithm::Ed25519, &material[1..].try_into().unwrap());

    let ours = NoteVerifierKey::new("PeterNeumann", kp.public()).unwrap();
    assert_eq!(hex::encode(ours.key_id()), "c74f20a3");
    assert_eq!(ours.to_vkey(), GO_VKEY);
    assert_eq!(NoteVerifierKey::from_vkey(GO_VKEY).unwrap(), ours);

    // Ed25519 is deterministic: signing the text (empty domain, type 0x01 signs the bare text)
    // must give exactly the line `note.Sign` printed.
    let sig = NoteSignature {
        key_name: ours.name.clone(),
        key_id: ours.key_id(),
        signature: kp.sign(b"", GO_TEXT.as_bytes()).as_bytes().to_vec(),
    };
    assert_eq!(sig.to_line(), GO_PETER_SIG);
    let note = SignedNote {
        body: GO_TEXT.into(),
        signatures: vec![sig],
    };
    let text = format!("{GO_TEXT}\n{GO_PETER_SIG}");
    assert_eq!(note.to_text(), text);

    // A note with both Go test signatures: each verifies under its own key, and neither key
    // matches the other's line.
    let both = format!("{GO_TEXT}\n{GO_PETER_SIG}{GO_ENOCH_SIG}");
    let parsed = SignedNote::parse(&both).unwrap();
    assert_eq!(parsed.to_text(), both);
    let enoch = NoteVerifierKey::from_vkey(GO_ENOCH_VKEY).unwrap();
    assert_eq!(hex::encode(enoch.key_id()), "af0cfe78");
    ours.verify(&parsed.body, &parsed.signatures[0]).unwrap();
    enoch.verify(&parsed.body, &parsed.signatures[1]).unwrap();
    assert!(!ours.matches(&parsed.signatures[1]));
    assert!(!enoch.matches(&parsed.signatures[0]));
}

#[test]
fn real_go_checksum_database_checkpoint_verifies() {
    let key = NoteVerifierKey::from_vkey(SUMDB_VKEY).unwrap();
    assert_eq!(hex::encode(key.key_id()), "033de0ae");
    let v = verify_cosigned(SUMDB_NOTE, "go.sum database tree", &[(key.clone(), 1)], 1).unwrap();
    assert_eq!(v.checkpoint.origin, "go.sum database tree");
    assert_eq!(v.checkpoint.tree_size, 6_476_701);
    assert_eq!(
        B64.encode(v.checkpoint.root),
        "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="
    );
    assert_eq!((v.signers, v.power), (vec![0], 1));
    let note = SignedNote::parse(SUMDB_NOTE).unwrap();
    assert_eq!(v.checkpoint.body(), note.body);
    assert_eq!(note.to_text(), SUMDB_NOTE);
    // One digit of the size changed: the log's signature no longer verifies.
    let forged = SUMDB_NOTE.replace("6476701", "6476702");
    assert_eq!(
        verify_cosigned(&forged, "go.sum database tree", &[(key, 1)], 1),
        Err(CheckpointError::BadSignature {
            key_name: "sum.golang.org".into()
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Cosigning, round trips, quorum

#[test]
fn cosigned_note_round_trip() {
    let net = net(4);
    let cp = checkpoint();
    let text = net.note(&cp, &[0, 1, 2, 3]);
    let note = SignedNote::parse(&text).unwrap();
    assert_eq!(note.body, cp.body());
    assert_eq!(note.to_text(), text);
    assert_eq!(note.signatures.len(), 4);
    for (i, s) in note.signatures.iter().enumerate() {
        assert_eq!(s.key_name, format!("{CHAIN}/validator-{i}"));
        assert_eq!(s.key_id, net.set[i].0.key_id());
        assert_eq!(s.signature.len(), 3309);
        assert!(
            s.to_line()
                .starts_with("\u{2014} maat-testnet-1/validator-")
        );
    }
    let v = verify_cosigned(&text, CHAIN, &net.set, 3).unwrap();
    assert_eq!(v.checkpoint, cp);
    assert_eq!(v.signers, vec![0, 1, 2, 3]);
    assert_eq!(v.power, 4);
}

#[test]
fn quorum_two_of_four_not_final_three_of_four_final() {
    let net = net(4);
    let cp = checkpoint();
    let need = bft_quorum_power(4);
    assert_eq!(need, 3);
    assert_eq!(
        verify_cosigned(&net.note(&cp, &[0, 3]), CHAIN, &net.set, need),
        Err(CheckpointError::BelowQuorum { have: 2, need: 3 })
    );
    let v = verify_cosigned(&net.note(&cp, &[3, 0, 2]), CHAIN, &net.set, need).unwrap();
    assert_eq!((v.signers, v.power), (vec![0, 2, 3], 3));
    // No known signature at all.
    let stranger = KeyPair::from_seed(Algorithm::MlDsa65, &[99; 32]);
    let mut note = SignedNote::from_checkpoint(&cp);
    note.signatures
        .push(cosign(&cp, "witness.example/w1", &stranger).unwrap());
    assert_eq!(
        verify_cosigned(&note.to_text(), CHAIN, &net.set, need),
        Err(CheckpointError::BelowQuorum { have: 0, need: 3 })
    );
}

#[test]
fn unequal_powers_are_summed() {
    let mut net = net(4);
    for (i, p) in [5u64, 1, 1, 2].into_iter().enumerate() {
        net.set[i].1 = p;
    }
    let cp = checkpoint();
    let need = bft_quorum_power(9); // 7
    assert_eq!(need, 7);
    assert_eq!(
        verify_cosigned(&net.note(&cp, &[0, 1]), CHAIN, &net.set, need),
        Err(CheckpointError::BelowQuorum { have: 6, need: 7 })
    );
    let v = verify_cosigned(&net.note(&cp, &[0, 3]), CHAIN, &net.set, need).unwrap();
    assert_eq!(v.power, 7);
}

#[test]
fn duplicate_signatures_count_once() {
    let net = net(4);
    let cp = checkpoint();
    let s0 = net.cosign(&cp, 0);
    let s0_again = net.cosign(&cp, 0); // hedged: different bytes, same key
    assert_ne!(s0.signature, s0_again.signature);
    let s1 = net.cosign(&cp, 1);
    let note = SignedNote {
        body: cp.body(),
        signatures: vec![s0.clone(), s1.clone(), s0.clone(), s0_again, s1],
    };
    assert_eq!(
        verify_cosigned(&note.to_text(), CHAIN, &net.set, 3),
        Err(CheckpointError::BelowQuorum { have: 2, need: 3 })
    );
    // As in Go's note.Open, only a key's first line is verified; a later copy is ignored even
    // if it is garbage. The first one failing rejects the note.
    let mut garbage = s0.clone();
    garbage.signature[10] ^= 1;
    let later = SignedNote {
        body: cp.body(),
        signatures: vec![
            s0.clone(),
            garbage.clone(),
            net.cosign(&cp, 2),
            net.cosign(&cp, 3),
        ],
    };
    assert_eq!(
        verify_cosigned(&later.to_text(), CHAIN, &net.set, 3)
            .unwrap()
            .signers,
        vec![0, 2, 3]
    );
    let first = SignedNote {
        body: cp.body(),
        signatures: vec![garbage, s0, net.cosign(&cp, 2), net.cosign(&cp, 3)],
    };
    assert_eq!(
        verify_cosigned(&first.to_text(), CHAIN, &net.set, 3),
        Err(CheckpointError::BadSignature {
            key_name: format!("{CHAIN}/validator-0")
        })
    );
}

#[test]
fn foreign_keys_are_ignored() {
    let net = net(4);
    let cp = checkpoint();
    let stranger = KeyPair::from_seed(Algorithm::MlDsa65, &[99; 32]);
    let mut note = SignedNote::from_checkpoint(&cp);
    // A witness with its own name; a stranger using validator 1's name (same name, other key
    // id); a line with validator 2's key id under another name; garbage from an unknown key.
    note.signatures
        .push(cosign(&cp, "witness.example/w1", &stranger).unwrap());
    note.signatures
        .push(cosign(&cp, &net.set[1].0.name, &stranger).unwrap());
    let mut renamed = net.cosign(&cp, 2);
    renamed.key_name = "someone-else".into();
    note.signatures.push(renamed);
    note.signatures.push(NoteSignature {
        key_name: "unknown.example".into(),
        key_id: [1, 2, 3, 4],
        signature: vec![0; 7],
    });
    assert_eq!(
        verify_cosigned(&note.to_text(), CHAIN, &net.set, 3),
        Err(CheckpointError::BelowQuorum { have: 0, need: 3 })
    );
    for i in [0, 1, 3] {
        note.signatures.push(net.cosign(&cp, i));
    }
    let text = note.to_text();
    assert_eq!(SignedNote::parse(&text).unwrap(), note);
    let v = verify_cosigned(&text, CHAIN, &net.set, 3).unwrap();
    assert_eq!((v.signers, v.power), (vec![0, 1, 3], 3));
}

#[test]
fn tampered_body_is_rejected() {
    let net = net(4);
    let cp = checkpoint();
    let text = net.note(&cp, &[0, 1, 2]);
    let mut other = cp.clone();
    other.tree_size += 1;
    let forged = text.replacen(&cp.body(), &other.body(), 1);
    assert_ne!(forged, text);
    assert_eq!(
        verify_cosigned(&forged, CHAIN, &net.set, 3),
        Err(CheckpointError::BadSignature {
            key_name: format!("{CHAIN}/validator-0")
        })
    );
    let mut root = cp.clone();
    root.root[31] ^= 1;
    let forged = text.replacen(&cp.body(), &root.body(), 1);
    assert!(matches!(
        verify_cosigned(&forged, CHAIN, &net.set, 3),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn tampered_signature_from_known_key_is_rejected() {
    let net = net(4);
    let cp = checkpoint();
    let mut note = SignedNote::from_checkpoint(&cp);
    for i in 0..4 {
        note.signatures.push(net.cosign(&cp, i));
    }
    // Even with a quorum of other valid signatures, one bad signature of a known key rejects.
    note.signatures[2].signature[100] ^= 0x40;
    assert_eq!(
        verify_cosigned(&note.to_text(), CHAIN, &net.set, 3),
        Err(CheckpointError::BadSignature {
            key_name: format!("{CHAIN}/validator-2")
        })
    );
    // Truncated: the wrong length for ML-DSA-65 is a bad signature too.
    note.signatures[2] = net.cosign(&cp, 2);
    note.signatures[2].signature.truncate(64);
    assert!(matches!(
        verify_cosigned(&note.to_text(), CHAIN, &net.set, 3),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn wrong_origin_is_rejected() {
    let net = net(4);
    let cp = Checkpoint::new("maat-other-chain", 1, [7; 32]).unwrap();
    let text = net.note(&cp, &[0, 1, 2]);
    assert_eq!(
        verify_cosigned(&text, CHAIN, &net.set, 3),
        Err(CheckpointError::WrongOrigin {
            expected: CHAIN.into(),
            got: "maat-other-chain".into()
        })
    );
}

#[test]
fn verifier_set_is_checked() {
    let net = net(4);
    let cp = checkpoint();
    let text = net.note(&cp, &[0, 1, 2]);
    assert!(matches!(
        verify_cosigned(&text, CHAIN, &net.set, 0),
        Err(CheckpointError::InvalidVerifierSet(_))
    ));
    let mut dup = net.set.clone();
    dup.push(net.set[1].clone());
    assert!(matches!(
        verify_cosigned(&text, CHAIN, &dup, 3),
        Err(CheckpointError::InvalidVerifierSet(_))
    ));
    // One key under two names would count twice: refused.
    let mut same_key = net.set.clone();
    same_key.push((
        NoteVerifierKey::new("alias", net.keys[0].public()).unwrap(),
        1,
    ));
    assert!(matches!(
        verify_cosigned(&text, CHAIN, &same_key, 3),
        Err(CheckpointError::InvalidVerifierSet(_))
    ));
    let mut overflow = net.set.clone();
    overflow[0].1 = u64::MAX;
    assert!(matches!(
        verify_cosigned(&text, CHAIN, &overflow, 3),
        Err(CheckpointError::InvalidVerifierSet(_))
    ));
    // An empty set verifies nothing.
    assert_eq!(
        verify_cosigned(&text, CHAIN, &[], 1),
        Err(CheckpointError::BelowQuorum { have: 0, need: 1 })
    );
}

#[test]
fn bft_quorum_is_more_than_two_thirds() {
    for (total, q) in [
        (1, 1),
        (3, 3),
        (4, 3),
        (5, 4),
        (6, 5),
        (7, 5),
        (10, 7),
        (100, 67),
    ] {
        assert_eq!(bft_quorum_power(total), q, "total {total}");
    }
    assert_eq!(bft_quorum_power(0), 1);
    assert!(bft_quorum_power(u64::MAX) > u64::MAX / 3 * 2);
}

// ---------------------------------------------------------------------------------------------
// Signing details: determinism, domain separation, key names, verifier keys

#[test]
fn deterministic_cosignature_is_reproducible_and_hedged_is_not() {
    let net = net(1);
    let cp = checkpoint();
    let name = &net.set[0].0.name;
    let a = cosign_deterministic(&cp, name, &net.keys[0]).unwrap();
    let b = cosign_deterministic(&cp, name, &net.keys[0]).unwrap();
    assert_eq!(a, b);
    let c = cosign(&cp, name, &net.keys[0]).unwrap();
    assert_ne!(a.signature, c.signature);
    for s in [&a, &c] {
        net.set[0].0.verify(&cp.body(), s).unwrap();
    }
    // The deterministic bytes are FIPS 204 deterministic ML-DSA-65 of domain || body.
    let direct = net.keys[0].sign_deterministic(CHECKPOINT_DOMAIN, cp.body().as_bytes());
    assert_eq!(a.signature, direct.as_bytes());
}

#[test]
fn cosignatures_are_domain_separated() {
    let net = net(1);
    let cp = checkpoint();
    let key = &net.set[0].0;
    let body = cp.body();
    let cosig = cosign(&cp, &key.name, &net.keys[0]).unwrap();
    let as_sig = maat_crypto::Signature::from_bytes(Algorithm::MlDsa65, &cosig.signature).unwrap();
    // Not a signature of the bare body, nor of the body under another Maat domain.
    for domain in [
        &b""[..],
        b"maat/vote/v1\0",
        b"maat/tx/v1\n",
        b"maat/evidence/v1\n",
    ] {
        assert!(
            key.public_key
                .verify(domain, body.as_bytes(), &as_sig)
                .is_err()
        );
    }
    // A signature of the body under another domain is not a cosignature.
    for domain in [&b""[..], b"maat/vote/v1\0"] {
        let other = net.keys[0].sign(domain, body.as_bytes());
        let line = NoteSignature {
            signature: other.as_bytes().to_vec(),
            ..cosig.clone()
        };
        assert!(matches!(
            key.verify(&body, &line),
            Err(CheckpointError::BadSignature { .. })
        ));
    }
}

#[test]
fn cosign_refuses_bad_inputs() {
    let cp = checkpoint();
    let ed = KeyPair::from_seed(Algorithm::Ed25519, &[1; 32]);
    assert_eq!(
        cosign(&cp, "a/b", &ed),
        Err(CheckpointError::UnsupportedKey(Algorithm::Ed25519))
    );
    let k = validator_key(0);
    for name in [
        "",
        "a b",
        "a+b",
        "a\nb",
        "a\u{a0}b",
        "a\u{2003}b",
        "a\u{7f}b",
    ] {
        malformed(cosign(&cp, name, &k));
    }
    // The fields are public: an origin that would break the body is refused at signing time.
    for origin in ["", "a\nb", " a", "a\tb"] {
        let bad = Checkpoint {
            origin: origin.into(),
            ..cp.clone()
        };
        malformed(cosign(&bad, "a/b", &k));
    }
}

#[test]
fn key_names_and_origins() {
    assert_eq!(
        cosigner_key_name("maat-testnet-1", "validator-0").unwrap(),
        "maat-testnet-1/validator-0"
    );
    // '+' is valid in chain and validator ids but not in key names; '%' is escaped too, so the
    // mapping is injective.
    assert_eq!(
        cosigner_key_name("chain+1", "v+%").unwrap(),
        "chain%2B1/v%2B%25"
    );
    assert_ne!(
        cosigner_key_name("a%2B", "v").unwrap(),
        cosigner_key_name("a+", "v").unwrap()
    );
    for (origin, id) in [
        ("", "v"),
        ("c", ""),
        ("c", "a/b"),
        ("c", "a b"),
        ("c", "a\u{0}"),
        ("c d", "v"),
        (" c", "v"),
    ] {
        malformed(cosigner_key_name(origin, id));
    }
    for ok in [
        "a",
        "example.com/log42",
        "go.sum database tree",
        "chain+1",
        "é",
    ] {
        validate_origin(ok).unwrap();
    }
    for bad in [
        "",
        " a",
        "a ",
        "a\tb",
        "a\u{a0}b",
        "a\u{2028}b",
        "a\u{85}b",
        "a\u{1}",
    ] {
        malformed(validate_origin(bad));
    }
    malformed(validate_origin(&"a".repeat(1025)));
    validate_origin(&"a".repeat(1024)).unwrap();
    for ok in ["a", "example.com/foo", "PeterNeumann", "oid/1.2.3", "%2B"] {
        validate_key_name(ok).unwrap();
    }
    for bad in ["", "a b", "a+b", "a\u{3000}b", "a\u{9f}b"] {
        malformed(validate_key_name(bad));
    }
}

#[test]
fn mldsa_verifier_key_text_round_trip() {
    let k = validator_key(0);
    let key = NoteVerifierKey::for_validator(CHAIN, "validator-0", k.public()).unwrap();
    assert_eq!(key.signature_type(), SIG_TYPE_MLDSA65);
    assert_eq!(SIG_TYPE_MLDSA65, [&[0xff][..], MLDSA65_TYPE_ID].concat());
    let vkey = key.to_vkey();
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, material) = rest.split_once('+').unwrap();
    assert_eq!(name, "maat-testnet-1/validator-0");
    assert_eq!(id, hex::encode(key.key_id()));
    let material = B64.decode(material).unwrap();
    assert_eq!(&material[..SIG_TYPE_MLDSA65.len()], SIG_TYPE_MLDSA65);
    assert_eq!(&material[SIG_TYPE_MLDSA65.len()..], k.public().as_bytes());
    assert_eq!(NoteVerifierKey::from_vkey(&vkey).unwrap(), key);
    // Key id by hand: SHA-256(name || 0x0A || 0xff || identifier || public key)[:4].
    let mut input = b"maat-testnet-1/validator-0\n".to_vec();
    input.extend_from_slice(b"\xffmaat/checkpoint/mldsa65/v1");
    input.extend_from_slice(k.public().as_bytes());
    assert_eq!(key.key_id(), maat_crypto::sha256(&input)[..4]);
    // Same key, other name: other id.
    let renamed = NoteVerifierKey::new("other", k.public()).unwrap();
    assert_ne!(renamed.key_id(), key.key_id());
}

#[test]
fn bad_verifier_keys_are_rejected() {
    let good = GO_VKEY;
    let cases = [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=",
        // Type 0x02 (ECDSA) and 0x04 (cosignature/v1) are not supported.
        "PeterNeumann+c74f20a3+Alpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    ];
    for c in cases {
        malformed(NoteVerifierKey::from_vkey(c));
    }
    NoteVerifierKey::from_vkey(good).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Strict parsing

#[test]
fn parse_body_is_strict() {
    let r = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases = [
        format!("o\n1\n{r}"),                       // missing final newline
        format!("o\n1\n{r}\n\n"),                   // trailing empty line
        format!("o\n1\n{r}\next\n"),                // extension line
        "o\n1\n".to_string(),                       // missing root
        "o\n".to_string(),                          // missing size and root
        String::new(),                              // empty
        format!("\n1\n{r}\n"),                      // empty origin
        format!(" o\n1\n{r}\n"),                    // leading space
        format!("o \n1\n{r}\n"),                    // trailing space
        format!("o\t1\n1\n{r}\n"),                  // tab in origin
        format!("o\r\n1\n{r}\n"),                   // CR
        format!("o\n01\n{r}\n"),                    // leading zero
        format!("o\n00\n{r}\n"),                    // leading zero
        format!("o\n+1\n{r}\n"),                    // sign
        format!("o\n-1\n{r}\n"),                    // sign
        format!("o\n 1\n{r}\n"),                    // space
        format!("o\n1 \n{r}\n"),                    // space
        format!("o\n\n{r}\n"),                      // empty size
        format!("o\n0x1\n{r}\n"),                   // hex
        format!("o\n١\n{r}\n"),                     // non-ASCII digit
        format!("o\n18446744073709551616\n{r}\n"),  // 2^64
        format!("o\n100000000000000000000\n{r}\n"), // 21 digits
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".to_string(), // no padding
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".to_string(), // trailing bits
        "o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n".to_string(), // URL alphabet
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I==\n".to_string(), // extra padding
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n".to_string(), // short
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=AAAA\n".to_string(), // long
        format!("o\n1\n {r}\n"),                    // space before root
    ];
    for c in &cases {
        malformed(Checkpoint::parse_body(c));
    }
    malformed(Checkpoint::parse_body(&format!(
        "{}\n1\n{r}\n",
        "a".repeat(1025)
    )));
    Checkpoint::parse_body(&format!(
        "{}\n18446744073709551615\n{r}\n",
        "a".repeat(1024)
    ))
    .unwrap();
    malformed(Checkpoint::new("a\nb", 1, [0; 32]));
}

#[test]
fn signed_note_parse_is_strict() {
    let body = checkpoint().body();
    let line = "\u{2014} k AAAAAAA=\n"; // key id 0 and 2 signature bytes
    let good = format!("{body}\n{line}");
    SignedNote::parse(&good).unwrap();
    let cases = [
        body.clone(),                                    // no signatures
        format!("{body}\n"),                             // blank line, no signatures
        format!("{body}{line}"),                         // no blank line
        format!("{body}\n{}", line.trim_end()),          // no final newline
        format!("{body}\n{line}\n"),                     // trailing blank line
        format!("{body}\n- k AAAAAAA=\n"),               // hyphen
        format!("{body}\n\u{2013} k AAAAAAA=\n"),        // en dash
        format!("{body}\n\u{2014}k AAAAAAA=\n"),         // no space after the dash
        format!("{body}\n\u{2014}  k AAAAAAA=\n"),       // empty name
        format!("{body}\n\u{2014} k+1 AAAAAAA=\n"),      // '+' in name
        format!("{body}\n\u{2014} k\u{a0}x AAAAAAA=\n"), // NBSP in name
        format!("{body}\n\u{2014} k \n"),                // empty signature
        format!("{body}\n\u{2014} k\n"),                 // no signature
        format!("{body}\n\u{2014} k AAAAAA==\n"),        // 4 bytes: key id only
        format!("{body}\n\u{2014} k AAAAAAA\n"),         // unpadded
        format!("{body}\n\u{2014} k AAAAAAB=\n"),        // non-canonical trailing bits
        format!("{body}\n\u{2014} k AAAA AAA=\n"),       // space in base64
        format!("{body}\n\u{2014} k AAAAAAA= \n"),       // trailing space
        format!("{body}\n\u{2014} k AAAAAAA=\r\n"),      // CR
        format!("{body}\t\n{line}"),                     // tab in text
        format!("{body}\u{0}\n{line}"),                  // NUL in text
    ];
    for c in &cases {
        malformed(SignedNote::parse(c));
    }
    // A note whose text has empty lines splits at the last blank line.
    let n = SignedNote::parse(&format!("a\n\nb\n\n{line}")).unwrap();
    assert_eq!(n.body, "a\n\nb\n");

    // Limits.
    let many = format!("{body}\n{}", line.repeat(MAX_NOTE_SIGNATURES));
    assert_eq!(
        SignedNote::parse(&many).unwrap().signatures.len(),
        MAX_NOTE_SIGNATURES
    );
    let too_many = format!("{body}\n{}", line.repeat(MAX_NOTE_SIGNATURES + 1));
    malformed(SignedNote::parse(&too_many));
    let pad = "x".repeat(MAX_NOTE_BYTES);
    malformed(SignedNote::parse(&format!("{pad}\n\n{line}")));
}

// ---------------------------------------------------------------------------------------------
// Mutated inputs: never a panic, never a different accepted checkpoint.

/// xorshift64*: a fixed, dependency-free sequence so the campaign is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: [char; 20] = [
    '\n', ' ', '\u{2014}', '+', '=', '/', 'A', 'a', '0', '1', '9', '\t', '\u{0}', '\r', 'é',
    '\u{a0}', '-', '%', 'Z', '\u{2028}',
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        if chars.is_empty() {
            chars.push('x');
        }
        let i = rng.below(chars.len());
        match rng.below(7) {
            0 => chars[i] = ALPHABET[rng.below(ALPHABET.len())],
            1 => chars.insert(i, ALPHABET[rng.below(ALPHABET.len())]),
            2 => {
                let end = (i + 1 + rng.below(8)).min(chars.len());
                chars.drain(i..end);
            }
            3 => chars.truncate(i),
            4 => {
                // Flip a low bit of an ASCII character (stays ASCII).
                if chars[i].is_ascii() {
                    chars[i] = char::from(chars[i] as u8 ^ (1 << rng.below(7)));
                } else {
                    chars.remove(i);
                }
            }
            5 => {
                // Duplicate or drop a whole line.
                let text: String = chars.iter().collect();
                let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
                let j = rng.below(lines.len());
                if rng.below(2) == 0 {
                    let l = lines[j];
                    lines.insert(j, l);
                } else {
                    lines.remove(j);
                }
                chars = lines.concat().chars().collect();
            }
            _ => {
                // Swap two characters.
                let j = rng.below(chars.len());
                chars.swap(i, j);
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_inputs_never_panic_and_never_forge() {
    let net = net(4);
    let cp = checkpoint();
    let stranger = KeyPair::from_seed(Algorithm::MlDsa65, &[99; 32]);
    let mut note = SignedNote::from_checkpoint(&cp);
    note.signatures.push(net.cosign(&cp, 0));
    note.signatures
        .push(cosign(&cp, "witness.example/w1", &stranger).unwrap());
    note.signatures.push(net.cosign(&cp, 1));
    note.signatures.push(net.cosign(&cp, 2));
    let text = note.to_text();
    let body = cp.body();
    let vkey = net.set[0].0.to_vkey();
    let go_note = format!("{GO_TEXT}\n{GO_PETER_SIG}{GO_ENOCH_SIG}");
    verify_cosigned(&text, CHAIN, &net.set, 3).unwrap();

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut rejected, mut accepted) = (0u32, 0u32);
    for _ in 0..1500 {
        let m = mutate(&mut rng, &text);
        match verify_cosigned(&m, CHAIN, &net.set, 3) {
            Err(_) => rejected += 1,
            Ok(v) => {
                // Only harmless edits survive (a dropped foreign line, a duplicated line, ...):
                // the accepted checkpoint is always the signed one.
                assert_eq!(v.checkpoint, cp, "forged acceptance of {m:?}");
                assert!(v.power >= 3);
                accepted += 1;
            }
        }
        if let Ok(n) = SignedNote::parse(&m) {
            assert_eq!(n.to_text(), m, "parse/to_text must be exact");
        }
    }
    eprintln!(
        "mutated notes: {rejected} rejected, {accepted} accepted (all with the signed checkpoint)"
    );
    assert!(
        rejected > 1200,
        "mutations too weak: {rejected} rejected, {accepted} accepted"
    );
    for _ in 0..3000 {
        let m = mutate(&mut rng, &body);
        if let Ok(c) = Checkpoint::parse_body(&m) {
            assert_eq!(c.body(), m, "parse_body/body must be exact");
        }
        let m = mutate(&mut rng, &go_note);
        if let Ok(n) = SignedNote::parse(&m) {
            assert_eq!(n.to_text(), m);
        }
        let _ = NoteVerifierKey::from_vkey(&mutate(&mut rng, &vkey));
        let _ = NoteVerifierKey::from_vkey(&mutate(&mut rng, GO_VKEY));
    }
    // Prefixes of a valid note: every one ending at a newline, and a spread of others.
    let ends = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain((0..text.len()).step_by(13));
    for end in ends {
        if text.is_char_boundary(end) && end < text.len() {
            assert!(verify_cosigned(&text[..end], CHAIN, &net.set, 3).is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Interoperability: an independent FIPS 204 implementation, and the docs/CHECKPOINTS.md example

/// Splits a note by hand (no use of this crate's parser) into text and decoded signature blobs.
fn split_by_hand(note: &str) -> (&str, Vec<(String, Vec<u8>)>) {
    let cut = note.rfind("\n\n").unwrap();
    let lines = note[cut + 2..]
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("\u{2014} ").unwrap();
            let (name, b64) = rest.split_once(' ').unwrap();
            (name.to_string(), B64.decode(b64).unwrap())
        })
        .collect();
    (&note[..=cut], lines)
}

#[test]
fn independent_fips204_implementation_interoperates() {
    use fips204::ml_dsa_65;
    use fips204::traits::{KeyGen as _, SerDes as _, Signer as _, Verifier as _};

    let net = net(4);
    let cp = checkpoint();
    let text = net.note(&cp, &[0, 1, 2]);
    let (body, lines) = split_by_hand(&text);
    assert_eq!(body, cp.body());
    for (i, (name, blob)) in lines.iter().enumerate() {
        // The key id by hand: SHA-256(name || 0x0A || 0xff || identifier || public key)[:4].
        let (their_pk, _) = ml_dsa_65::KG::keygen_from_seed(&[i as u8 + 1; 32]);
        let pk_bytes = their_pk.into_bytes();
        let mut input = name.as_bytes().to_vec();
        input.push(b'\n');
        input.push(0xff);
        input.extend_from_slice(b"maat/checkpoint/mldsa65/v1");
        input.extend_from_slice(&pk_bytes);
        assert_eq!(blob[..4], maat_crypto::sha256(&input)[..4]);
        // The signature: FIPS 204 ML-DSA-65, empty context, over the domain and the note text.
        let their_pk = ml_dsa_65::PublicKey::try_from_bytes(pk_bytes).unwrap();
        let sig: [u8; 3309] = blob[4..].try_into().unwrap();
        let msg = [b"maat/checkpoint/v1\n".as_slice(), body.as_bytes()].concat();
        assert!(their_pk.verify(&msg, &sig, b""));
        assert!(!their_pk.verify(body.as_bytes(), &sig, b""));
    }

    // The other way: validator 3 signs with fips204 (deterministic variant, rnd = 0^32); the
    // line, assembled by hand, completes the quorum and equals our deterministic cosignature.
    let (_, their_sk) = ml_dsa_65::KG::keygen_from_seed(&[4; 32]);
    let msg = [CHECKPOINT_DOMAIN, cp.body().as_bytes()].concat();
    let sig = their_sk.try_sign_with_seed(&[0; 32], &msg, b"").unwrap();
    let key = &net.set[3].0;
    let blob = [key.key_id().as_slice(), sig.as_slice()].concat();
    let line = format!("\u{2014} {} {}\n", key.name, B64.encode(blob));
    let ours = cosign_deterministic(&cp, &key.name, &net.keys[3]).unwrap();
    assert_eq!(line, ours.to_line());
    let two = net.note(&cp, &[1, 2]);
    assert_eq!(
        verify_cosigned(&format!("{two}{line}"), CHAIN, &net.set, 3)
            .unwrap()
            .signers,
        vec![1, 2, 3]
    );
}

/// The example of docs/CHECKPOINTS.md: validators `validator-<i>` of `maat-testnet-1` with
/// ML-DSA-65 seeds `[i + 1; 32]`, deterministic cosignatures of validators 0, 1, 2.
#[test]
fn docs_example_vector() {
    let net = net(4);
    let cp = Checkpoint::new(CHAIN, 1234, maat_crypto::sha256(b"some root")).unwrap();
    assert_eq!(
        cp.body(),
        "maat-testnet-1\n1234\ngYUzhjibHpMWpIpvJtex5i7OQKT/xxhLNm6N9ibtbPU=\n"
    );
    let ids: Vec<String> = net
        .set
        .iter()
        .map(|(k, _)| hex::encode(k.key_id()))
        .collect();
    assert_eq!(ids, ["6806336f", "e82e2646", "d48ec9d6", "f42eb9b5"]);
    assert_eq!(
        hex::encode(maat_crypto::sha256(net.keys[0].public().as_bytes())),
        "83ee80fcbcaf4872ed023e55cb10d7a2b4f1336a182115ea9c000f7449a7a9b0"
    );
    assert!(
        net.set[0].0.to_vkey().starts_with(
            "maat-testnet-1/validator-0+6806336f+/21hYXQvY2hlY2twb2ludC9tbGRzYTY1L3Yx"
        )
    );
    let mut note = SignedNote::from_checkpoint(&cp);
    for i in 0..3 {
        note.signatures
            .push(cosign_deterministic(&cp, &net.set[i].0.name, &net.keys[i]).unwrap());
    }
    let text = note.to_text();
    assert_eq!(text.len(), 13_422);
    assert!(text.contains("\n\n\u{2014} maat-testnet-1/validator-0 aAYzb/nDFQAPBt4NOal/++GKiDcoM"));
    assert_eq!(
        hex::encode(maat_crypto::sha256(text.as_bytes())),
        "d0ae8c3b86d12c69ecb3f9c69ec5c9d57ae402a5269f4c3ed3ee89c46537d5a6"
    );
    let v = verify_cosigned(&text, CHAIN, &net.set, bft_quorum_power(4)).unwrap();
    assert_eq!((v.signers, v.power), (vec![0, 1, 2], 3));
}
