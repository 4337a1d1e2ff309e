//! Signatures: RFC 8032 vectors, text forms, every `SigError` path, domain separation, and
//! robustness against arbitrary input bytes.

use maat_crypto::sig::{
    Algorithm, KeyPair, KeyPart, PublicKey, SigError, Signature, VerifyingKey, domain,
};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn seed(b: u8) -> [u8; 32] {
    [b; 32]
}

/// RFC 8032 section 7.1, TEST 1-3: secret key, public key, message, signature.
const RFC8032: [(&str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

#[test]
fn ed25519_rfc8032_vectors() {
    for (sk, pk, msg, sig) in RFC8032 {
        let kp = KeyPair::from_seed(Algorithm::Ed25519, &unhex(sk).try_into().unwrap());
        assert_eq!(kp.public().as_bytes(), unhex(pk).as_slice());
        let msg = unhex(msg);
        // Empty domain: the signed bytes are exactly the RFC's message.
        let ours = kp.sign(b"", &msg);
        assert_eq!(ours.as_bytes(), unhex(sig).as_slice());
        assert_eq!(kp.sign_deterministic(b"", &msg), ours);
        let theirs = Signature::from_bytes(Algorithm::Ed25519, &unhex(sig)).unwrap();
        let public = PublicKey::from_bytes(Algorithm::Ed25519, &unhex(pk)).unwrap();
        public.verify(b"", &msg, &theirs).unwrap();
        // The split between domain and message is invisible to the signature: only the
        // concatenation is signed, which is why domains must be prefix-free.
        if msg.len() == 2 {
            public.verify(&msg[..1], &msg[1..], &theirs).unwrap();
        }
        let mut other = msg.clone();
        other.push(0);
        assert_eq!(
            public.verify(b"", &other, &theirs),
            Err(SigError::InvalidSignature(Algorithm::Ed25519))
        );
    }
}

#[test]
fn sign_verify_round_trip_both_algorithms() {
    for alg in Algorithm::ALL {
        let kp = KeyPair::generate(alg);
        assert_eq!(kp.algorithm(), alg);
        let pk = kp.public();
        assert_eq!(pk.algorithm(), alg);
        assert_eq!(pk.as_bytes().len(), alg.public_key_len());
        let msg = [0x5au8; 100];
        let sig = kp.sign(domain::EVIDENCE, &msg);
        assert_eq!(sig.as_bytes().len(), alg.signature_len());
        pk.verify(domain::EVIDENCE, &msg, &sig).unwrap();
        let det = kp.sign_deterministic(domain::EVIDENCE, &msg);
        pk.verify(domain::EVIDENCE, &msg, &det).unwrap();
        assert_eq!(det, kp.sign_deterministic(domain::EVIDENCE, &msg));
        // A key parsed from bytes (no cached verifier yet) verifies too.
        let reparsed = PublicKey::from_bytes(alg, pk.as_bytes()).unwrap();
        assert_eq!(reparsed, pk);
        reparsed.verify(domain::EVIDENCE, &msg, &sig).unwrap();
        // Two generated keys differ.
        assert_ne!(KeyPair::generate(alg).public(), pk);
    }
}

#[test]
fn mldsa_signing_is_hedged_and_deterministic_variant_is_stable() {
    let kp = KeyPair::from_seed(Algorithm::MlDsa65, &seed(7));
    let a = kp.sign(b"d\n", b"m");
    let b = kp.sign(b"d\n", b"m");
    assert_ne!(a, b, "hedged ML-DSA signatures use fresh randomness");
    let d1 = kp.sign_deterministic(b"d\n", b"m");
    assert_eq!(d1, kp.sign_deterministic(b"d\n", b"m"));
    assert_ne!(a, d1);
    for s in [&a, &b, &d1] {
        kp.public().verify(b"d\n", b"m", s).unwrap();
    }
}

#[test]
fn from_seed_is_deterministic_and_seed_sensitive() {
    for alg in Algorithm::ALL {
        let a = KeyPair::from_seed(alg, &seed(1));
        assert_eq!(a.public(), KeyPair::from_seed(alg, &seed(1)).public());
        assert_ne!(a.public(), KeyPair::from_seed(alg, &seed(2)).public());
    }
}

#[test]
fn domain_separation() {
    for alg in Algorithm::ALL {
        let kp = KeyPair::from_seed(alg, &seed(3));
        let pk = kp.public();
        let sig = kp.sign(b"maat/a/v1\n", b"payload");
        pk.verify(b"maat/a/v1\n", b"payload", &sig).unwrap();
        for (d, m) in [
            (&b"maat/b/v1\n"[..], &b"payload"[..]),
            (b"", b"payload"),
            (b"maat/a/v1\n", b"payloaD"),
            (b"maat/a/v1", b"\npayload!"),
        ] {
            assert_eq!(
                pk.verify(d, m, &sig),
                Err(SigError::InvalidSignature(alg)),
                "{alg}: {d:?} {m:?}"
            );
        }
    }
}

#[test]
fn text_round_trips() {
    for alg in Algorithm::ALL {
        assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        assert_eq!(alg.to_string(), alg.as_str());
        let kp = KeyPair::from_seed(alg, &seed(9));
        let pk = kp.public();
        let sig = kp.sign(domain::EVIDENCE, b"h");
        let (pkt, sigt) = (pk.to_text(), sig.to_text());
        assert!(pkt.starts_with(&format!("{}:", alg.as_str())));
        assert!(sigt.starts_with(&format!("{}:", alg.as_str())));
        assert_eq!(PublicKey::from_text(&pkt).unwrap(), pk);
        assert_eq!(Signature::from_text(&sigt).unwrap(), sig);
        assert_eq!(pkt.parse::<PublicKey>().unwrap(), pk);
        assert_eq!(sigt.parse::<Signature>().unwrap(), sig);
        assert_eq!(pk.to_string(), pkt);
        assert_eq!(sig.to_string(), sigt);
        // Serde uses the same text.
        let json = serde_json::to_string(&(&pk, &sig, alg)).unwrap();
        assert_eq!(json, format!("[\"{pkt}\",\"{sigt}\",\"{alg}\"]"));
        let (pk2, sig2, alg2): (PublicKey, Signature, Algorithm) =
            serde_json::from_str(&json).unwrap();
        assert_eq!((pk2, sig2, alg2), (pk.clone(), sig.clone(), alg));
        // Debug output stays short for ML-DSA and never panics.
        assert!(format!("{pk:?}").len() < 120);
        assert!(format!("{sig:?}").len() < 120);
        assert!(!format!("{kp:?}").contains(&hex::encode(seed(9))));
    }
    // The exact text of a known Ed25519 key and signature (RFC 8032 TEST 1), as evidence
    // carries it; the base64 was computed with Python's `base64` module.
    let (_, _, _, sig) = RFC8032[0];
    let s = Signature::from_bytes(Algorithm::Ed25519, &unhex(sig)).unwrap();
    let (_, pk, _, _) = RFC8032[0];
    let k = PublicKey::from_bytes(Algorithm::Ed25519, &unhex(pk)).unwrap();
    assert_eq!(
        k.to_text(),
        "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    );
    assert_eq!(
        s.to_text(),
        "ed25519:5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="
    );
}

#[test]
fn every_sig_error_path() {
    let ed = KeyPair::from_seed(Algorithm::Ed25519, &seed(4));
    let ml = KeyPair::from_seed(Algorithm::MlDsa65, &seed(4));

    // Malformed text.
    for bad in [
        "",
        "ed25519",
        "ed25519 AAAA",
        "ed25519:not base64!",
        "ed25519:AAA",
        "ed25519:AAAA=",
        "ed25519: AAAA",
    ] {
        assert!(
            matches!(PublicKey::from_text(bad), Err(SigError::MalformedText(_))),
            "{bad:?}"
        );
        assert!(
            matches!(Signature::from_text(bad), Err(SigError::MalformedText(_))),
            "{bad:?}"
        );
    }
    let huge = format!("mldsa65:{}", "A".repeat(100_000));
    assert!(matches!(
        Signature::from_text(&huge),
        Err(SigError::MalformedText(_))
    ));
    // Non-canonical base64 (non-zero trailing bits) is refused: one text per key.
    let pk_text = ed.public().to_text();
    let body = pk_text.strip_prefix("ed25519:").unwrap();
    assert!(body.ends_with('='));
    let last = body.as_bytes()[body.len() - 2];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pos = alphabet.iter().position(|&c| c == last).unwrap();
    let mut tweaked = body.as_bytes().to_vec();
    tweaked[body.len() - 2] = alphabet[pos ^ 1];
    let tweaked = format!("ed25519:{}", String::from_utf8(tweaked).unwrap());
    assert!(matches!(
        PublicKey::from_text(&tweaked),
        Err(SigError::MalformedText(_))
    ));

    // Unknown algorithm, including case variants and the hyphenated spelling.
    for bad in ["rsa:AAAA", "Ed25519:AAAA", "ml-dsa-65:AAAA", ":AAAA"] {
        assert!(
            matches!(
                PublicKey::from_text(bad),
                Err(SigError::UnknownAlgorithm(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        "MLDSA65".parse::<Algorithm>(),
        Err(SigError::UnknownAlgorithm(_))
    ));

    // Wrong lengths, for each algorithm and both kinds.
    assert_eq!(
        PublicKey::from_bytes(Algorithm::Ed25519, &[1; 31]).unwrap_err(),
        SigError::WrongLength {
            alg: Algorithm::Ed25519,
            part: KeyPart::PublicKey,
            expected: 32,
            got: 31
        }
    );
    assert_eq!(
        PublicKey::from_bytes(Algorithm::MlDsa65, ed.public().as_bytes()).unwrap_err(),
        SigError::WrongLength {
            alg: Algorithm::MlDsa65,
            part: KeyPart::PublicKey,
            expected: 1952,
            got: 32
        }
    );
    assert_eq!(
        Signature::from_bytes(Algorithm::MlDsa65, &[0; 3310]).unwrap_err(),
        SigError::WrongLength {
            alg: Algorithm::MlDsa65,
            part: KeyPart::Signature,
            expected: 3309,
            got: 3310
        }
    );
    // A key's text labelled with the other algorithm.
    let relabelled = ed.public().to_text().replacen("ed25519", "mldsa65", 1);
    assert!(matches!(
        PublicKey::from_text(&relabelled),
        Err(SigError::WrongLength {
            alg: Algorithm::MlDsa65,
            ..
        })
    ));
    let sig_relabelled = ed
        .sign(b"", b"m")
        .to_text()
        .replacen("ed25519", "mldsa65", 1);
    assert!(matches!(
        Signature::from_text(&sig_relabelled),
        Err(SigError::WrongLength {
            part: KeyPart::Signature,
            ..
        })
    ));

    // Algorithm mismatch between key and signature.
    let ml_sig = ml.sign(b"", b"m");
    assert_eq!(
        ed.public().verify(b"", b"m", &ml_sig),
        Err(SigError::AlgorithmMismatch {
            key: Algorithm::Ed25519,
            signature: Algorithm::MlDsa65
        })
    );
    assert_eq!(
        ml.public()
            .verifier()
            .verify(b"", b"m", &ed.sign(b"", b"m")),
        Err(SigError::AlgorithmMismatch {
            key: Algorithm::MlDsa65,
            signature: Algorithm::Ed25519
        })
    );

    // Invalid public keys: not a curve point; a small-order point.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2; // y = 2 has no matching x on edwards25519
    assert_eq!(
        PublicKey::from_bytes(Algorithm::Ed25519, &not_a_point).unwrap_err(),
        SigError::InvalidPublicKey(Algorithm::Ed25519)
    );
    let mut identity = [0u8; 32];
    identity[0] = 1; // the neutral element, order 1
    assert_eq!(
        PublicKey::from_bytes(Algorithm::Ed25519, &identity).unwrap_err(),
        SigError::InvalidPublicKey(Algorithm::Ed25519)
    );

    // Invalid signatures: flipped bits; undecodable ML-DSA signature (hint section garbage).
    for kp in [&ed, &ml] {
        let alg = kp.algorithm();
        let sig = kp.sign(b"d\n", b"m");
        for pos in [0, sig.as_bytes().len() / 2, sig.as_bytes().len() - 1] {
            let mut b = sig.as_bytes().to_vec();
            b[pos] ^= 0x01;
            let t = Signature::from_bytes(alg, &b).unwrap();
            assert_eq!(
                kp.public().verify(b"d\n", b"m", &t),
                Err(SigError::InvalidSignature(alg)),
                "{alg} flip at {pos}"
            );
        }
        let ones = Signature::from_bytes(alg, &vec![0xff; alg.signature_len()]).unwrap();
        assert_eq!(
            kp.public().verify(b"d\n", b"m", &ones),
            Err(SigError::InvalidSignature(alg))
        );
        // Signed by another key of the same algorithm.
        let other = KeyPair::from_seed(alg, &seed(5)).sign(b"d\n", b"m");
        assert_eq!(
            kp.public().verify(b"d\n", b"m", &other),
            Err(SigError::InvalidSignature(alg))
        );
    }

    // Ed25519 malleability: s + L (non-canonical scalar) is refused by strict verification.
    let sig = ed.sign(b"", b"m");
    let mut b = sig.as_bytes().to_vec();
    let l: [u8; 32] = unhex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
        .try_into()
        .unwrap();
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(b[32 + i]) + u16::from(l[i]) + carry;
        b[32 + i] = v as u8;
        carry = v >> 8;
    }
    let malleated = Signature::from_bytes(Algorithm::Ed25519, &b).unwrap();
    assert_eq!(
        ed.public().verify(b"", b"m", &malleated),
        Err(SigError::InvalidSignature(Algorithm::Ed25519))
    );
}

/// A small deterministic generator so the robustness test covers the same inputs every run.
struct XorShift(u64);
impl XorShift {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 24) as u8
            })
            .collect()
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let ml = KeyPair::from_seed(Algorithm::MlDsa65, &seed(6)).public();
    for round in 0..300 {
        for alg in Algorithm::ALL {
            // Random keys: Ed25519 ones may or may not decode, ML-DSA ones always do.
            if let Ok(pk) = PublicKey::from_bytes(alg, &rng.bytes(alg.public_key_len())) {
                let sig = Signature::from_bytes(alg, &rng.bytes(alg.signature_len())).unwrap();
                assert!(pk.verify(b"d", b"m", &sig).is_err());
            }
        }
        // Random signatures against a real key.
        let sig = Signature::from_bytes(Algorithm::MlDsa65, &rng.bytes(3309)).unwrap();
        assert!(ml.verify(b"d", b"m", &sig).is_err());
        // Random text.
        let len = round % 50;
        let text = String::from_utf8_lossy(&rng.bytes(len)).into_owned();
        let _ = PublicKey::from_text(&text);
        let _ = Signature::from_text(&text);
        let _ = PublicKey::from_text(&format!("ed25519:{text}"));
        let _ = Signature::from_text(&format!("mldsa65:{text}"));
    }
}

#[test]
fn verifier_is_cached_and_shared_by_clones() {
    let kp = KeyPair::from_seed(Algorithm::MlDsa65, &seed(8));
    let pk = PublicKey::from_bytes(Algorithm::MlDsa65, kp.public().as_bytes()).unwrap();
    let clone = pk.clone();
    let a: *const VerifyingKey = pk.verifier();
    let b: *const VerifyingKey = clone.verifier();
    assert!(std::ptr::eq(a, b), "clones share one expanded key");
    assert_eq!(pk.verifier().algorithm(), Algorithm::MlDsa65);
    let sig = kp.sign(b"", b"m");
    pk.verifier().verify(b"", b"m", &sig).unwrap();
    // Usable from several threads at once.
    std::thread::scope(|s| {
        for _ in 0..4 {
            let pk = pk.clone();
            let sig = sig.clone();
            s.spawn(move || pk.verify(b"", b"m", &sig).unwrap());
        }
    });
}
