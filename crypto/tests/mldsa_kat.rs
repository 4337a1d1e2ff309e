//! ML-DSA-65 interoperability with two independent FIPS 204 implementations:
//!
//! - `kat/mldsa65_dilithium_py.json`, made once by `kat/gen_mldsa65_kat.py` with dilithium-py
//!   (pure Python): public keys from fixed seeds and deterministic signatures over
//!   `domain || msg` (pure ML-DSA, empty context, rnd = 0^32);
//! - the `fips204` crate (a separate Rust implementation), both directions.

use fips204::ml_dsa_65;
use fips204::traits::{KeyGen as _, SerDes as _, Signer as _, Verifier as _};
use maat_crypto::sig::{Algorithm, KeyPair, PublicKey, SigError, Signature};
use serde::Deserialize;

#[derive(Deserialize)]
struct KatFile {
    generator: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    seed_name: String,
    seed: String,
    public_key: String,
    domain: String,
    msg: String,
    signature: String,
}

fn kat() -> KatFile {
    serde_json::from_str(include_str!("kat/mldsa65_dilithium_py.json")).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn seed32(s: &str) -> [u8; 32] {
    unhex(s).try_into().unwrap()
}

#[test]
fn kat_file_is_what_the_script_describes() {
    let k = kat();
    assert!(k.generator.starts_with("dilithium-py"));
    assert_eq!(k.vectors.len(), 16);
    let seeds: std::collections::BTreeSet<_> = k.vectors.iter().map(|v| v.seed.clone()).collect();
    assert_eq!(seeds.len(), 4);
    // The seeds are the documented ones, recomputed here.
    assert!(seeds.contains(&hex::encode((0u8..32).collect::<Vec<_>>())));
    assert!(seeds.contains(&"ff".repeat(32)));
    assert!(seeds.contains(&hex::encode(maat_crypto::sha256(b"maat-kat-1"))));
    assert!(seeds.contains(&hex::encode(maat_crypto::sha256(b"maat-kat-2"))));
}

#[test]
fn dilithium_py_public_keys_are_reproduced_from_seeds() {
    for v in kat().vectors {
        let kp = KeyPair::from_seed(Algorithm::MlDsa65, &seed32(&v.seed));
        assert_eq!(
            hex::encode(kp.public().as_bytes()),
            v.public_key,
            "public key for seed {}",
            v.seed_name
        );
    }
}

#[test]
fn dilithium_py_signatures_verify_with_ours() {
    for v in kat().vectors {
        let pk = PublicKey::from_bytes(Algorithm::MlDsa65, &unhex(&v.public_key)).unwrap();
        let sig = Signature::from_bytes(Algorithm::MlDsa65, &unhex(&v.signature)).unwrap();
        let (domain, msg) = (unhex(&v.domain), unhex(&v.msg));
        pk.verify(&domain, &msg, &sig)
            .unwrap_or_else(|e| panic!("{}: {e}", v.seed_name));
        // Same bytes split differently: only `domain || msg` is signed.
        let mut all = domain.clone();
        all.extend_from_slice(&msg);
        pk.verify(b"", &all, &sig).unwrap();
        // And a changed message fails, so the check above is not vacuous.
        all.push(0);
        assert_eq!(
            pk.verify(b"", &all, &sig),
            Err(SigError::InvalidSignature(Algorithm::MlDsa65))
        );
    }
}

/// Our deterministic signatures are byte-identical to dilithium-py's, so dilithium-py's verifier
/// accepts ours (it accepted exactly these bytes when the file was made).
#[test]
fn our_deterministic_signatures_equal_dilithium_py() {
    for v in kat().vectors {
        let kp = KeyPair::from_seed(Algorithm::MlDsa65, &seed32(&v.seed));
        let sig = kp.sign_deterministic(&unhex(&v.domain), &unhex(&v.msg));
        assert_eq!(
            hex::encode(sig.as_bytes()),
            v.signature,
            "signature for seed {}, msg {} bytes",
            v.seed_name,
            v.msg.len() / 2
        );
    }
}

#[test]
fn fips204_crate_cross_verification() {
    let seeds = [
        [0u8; 32],
        [0x42; 32],
        maat_crypto::sha256(b"fips204 cross-check"),
    ];
    let messages: [(&[u8], &[u8]); 3] = [
        (b"", b""),
        (b"maat/evidence/v1\n", b"0123456789abcdef"),
        (b"maat/vote/v1\n", &[0xa5; 100]),
    ];
    for seed in seeds {
        let ours = KeyPair::from_seed(Algorithm::MlDsa65, &seed);
        let (their_pk, their_sk) = ml_dsa_65::KG::keygen_from_seed(&seed);
        // Same public key from the same seed.
        assert_eq!(
            ours.public().as_bytes(),
            their_pk.clone().into_bytes().as_slice()
        );
        let their_pk_bytes = their_pk.into_bytes();
        let their_pk = ml_dsa_65::PublicKey::try_from_bytes(their_pk_bytes).unwrap();
        for (domain, msg) in messages {
            let mut all = domain.to_vec();
            all.extend_from_slice(msg);

            // Ours (hedged and deterministic) verify under fips204 with an empty context.
            for sig in [ours.sign(domain, msg), ours.sign_deterministic(domain, msg)] {
                let arr: [u8; 3309] = sig.as_bytes().try_into().unwrap();
                assert!(
                    their_pk.verify(&all, &arr, b""),
                    "fips204 rejects our signature"
                );
                assert!(!their_pk.verify(&all, &arr, b"ctx"), "context must matter");
            }

            // Theirs (deterministic, rnd = 0^32) equal ours byte for byte...
            let det = their_sk.try_sign_with_seed(&[0u8; 32], &all, b"").unwrap();
            assert_eq!(
                ours.sign_deterministic(domain, msg).as_bytes(),
                det.as_slice()
            );
            // ...and theirs (hedged) verify under ours.
            let hedged = their_sk.try_sign(&all, b"").unwrap();
            for s in [det, hedged] {
                let sig = Signature::from_bytes(Algorithm::MlDsa65, &s).unwrap();
                ours.public().verify(domain, msg, &sig).unwrap();
                assert!(ours.public().verify(domain, b"other", &sig).is_err());
            }

            // A signature with a non-empty context is not ours: we sign pure ML-DSA, ctx = "".
            let with_ctx = their_sk.try_sign(&all, b"ctx").unwrap();
            let sig = Signature::from_bytes(Algorithm::MlDsa65, &with_ctx).unwrap();
            assert_eq!(
                ours.public().verify(domain, msg, &sig),
                Err(SigError::InvalidSignature(Algorithm::MlDsa65))
            );
        }
    }
}
