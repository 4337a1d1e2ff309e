//! Finality proofs end to end, offline: a real proof (generated genesis, ML-DSA-65 QCs, an
//! RFC 6962 log in memory) verifies, and every kind of tampering is refused with its own
//! `FinalityError` (docs/FINALITY-PROOFS.md, section 4). Also checkpoint cosignatures.

#[path = "common/finality_fixture.rs"]
mod fixture;

use std::sync::OnceLock;

use fixture::{ANCHOR_HEIGHT, ANCHOR_ROUND, Chain, EARLIER_TXS, Fixture, TX_INDEX, tx_id_of};
use maat_consensus::{Encode as _, Qc, SigBytes, ValidatorIndex};
use maat_crypto::checkpoint::{Checkpoint, CheckpointError, SignedNote, cosign};
use maat_crypto::merkle::ProofError;
use maat_ledger::finality::{
    FinalityError, FinalityProof, QcRole, checkpoint_keys, verify_checkpoint,
};

/// The 4-validator fixture, built once (ML-DSA-65 key generation and signing dominate).
fn fx() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| Fixture::new(4))
}

/// A second chain with the same chain id and validator count, from another seed.
fn other_chain() -> &'static Chain {
    static OTHER: OnceLock<Chain> = OnceLock::new();
    OTHER.get_or_init(|| Chain::generate(4, 8))
}

fn verify(proof: &FinalityProof) -> Result<maat_ledger::finality::Finalized, FinalityError> {
    proof.verify(&fx().chain.genesis)
}

fn err(proof: &FinalityProof) -> FinalityError {
    verify(proof).expect_err("the proof must be refused")
}

// ---- the valid proof -------------------------------------------------------------------------

#[test]
fn valid_proof_verifies_with_the_right_facts() {
    let f = fx();
    assert_eq!(f.chain.quorum(), vec![0, 1, 2]);
    let proof = f.proof();
    let fin = verify(&proof).expect("valid proof");
    assert_eq!(fin.tx_id, tx_id_of(&f.txs[TX_INDEX as usize]));
    assert_eq!(fin.log_index, TX_INDEX);
    assert_eq!(fin.block_height, ANCHOR_HEIGHT);
    assert_eq!(fin.anchor_height, ANCHOR_HEIGHT);
    assert_eq!(fin.anchor_id, f.anchor.id());
    assert_eq!(fin.anchor_id, f.anchor.header().id());
    assert_eq!(fin.anchor_timestamp_ms, f.anchor.timestamp_ms);
    assert_eq!(fin.tree_size, f.log.size());
    assert_eq!(fin.tree_size, 7);
    assert_eq!(fin.log_root, f.log.root().0);
    assert_eq!(fin.signers, vec![0, 1, 2]);
    // `verify_with` and prebuilt keys give the same answer.
    assert_eq!(proof.verify_with(&f.chain.genesis, &f.chain.keys), Ok(fin));
}

#[test]
fn every_log_entry_verifies_against_a_later_anchor() {
    let f = fx();
    for index in 0..f.log.size() {
        // Entries before the anchor block sit in earlier blocks: a later anchor proves them too.
        let block_height = if index < EARLIER_TXS as u64 {
            ANCHOR_HEIGHT - 1
        } else {
            ANCHOR_HEIGHT
        };
        let proof = f.proof_from(&f.anchor, &f.child, &f.child_qc, index, block_height);
        let fin = verify(&proof).unwrap_or_else(|e| panic!("entry {index}: {e}"));
        assert_eq!(fin.log_index, index);
        assert_eq!(fin.block_height, block_height);
        assert_eq!(fin.tx_id, tx_id_of(&f.txs[index as usize]));
    }
}

#[test]
fn all_signers_and_a_height_one_anchor_after_the_genesis_qc_verify() {
    let f = fx();
    // A QC with every validator (more than the quorum).
    let all = [0, 1, 2, 3];
    let child = Fixture::child_of(&f.chain, &f.anchor, ANCHOR_ROUND + 1, &all);
    let child_qc = f.chain.qc_for(&child, &all);
    let fin = verify(&f.proof_with_child(&child, &child_qc)).expect("valid");
    assert_eq!(fin.signers, vec![0, 1, 2, 3]);

    // Anchor at height 1, round 1, whose justify is the genesis QC.
    let mut anchor = f.anchor.clone();
    anchor.height = 1;
    anchor.round = 1;
    anchor.justify = Qc::genesis(f.chain.keys.genesis_block_id);
    anchor.parent = f.chain.keys.genesis_block_id;
    let quorum = f.chain.quorum();
    let child = Fixture::child_of(&f.chain, &anchor, 2, &quorum);
    let child_qc = f.chain.qc_for(&child, &quorum);
    let fin = verify(&f.proof_from(&anchor, &child, &child_qc, 0, 1)).expect("valid");
    assert_eq!((fin.anchor_height, fin.anchor_id), (1, anchor.id()));
}

// ---- one test per rejection ------------------------------------------------------------------

#[test]
fn wrong_version_is_unsupported() {
    for version in [0, 2, u32::MAX] {
        let mut proof = fx().proof();
        proof.version = version;
        assert_eq!(err(&proof), FinalityError::UnsupportedVersion(version));
    }
}

#[test]
fn another_genesis_is_wrong_genesis() {
    let f = fx();
    let other = other_chain();
    assert_eq!(other.genesis.chain_id(), f.chain.genesis.chain_id());
    assert_ne!(other.genesis.hash(), f.chain.genesis.hash());
    let proof = f.proof();
    let expected = FinalityError::WrongGenesis {
        expected_chain: "maat-test".into(),
        expected_hash: hex::encode(other.genesis.hash()),
        got_chain: "maat-test".into(),
        got_hash: hex::encode(f.chain.genesis.hash()),
    };
    assert_eq!(proof.verify(&other.genesis), Err(expected));

    // Another chain id with this genesis hash is refused as well.
    let mut renamed = proof.clone();
    renamed.chain_id = "maat-other".into();
    assert!(matches!(
        err(&renamed),
        FinalityError::WrongGenesis { got_chain, .. } if got_chain == "maat-other"
    ));

    // A proof made entirely on the other chain (its own keys, QCs and log) verifies there only.
    let theirs = Fixture::on(Chain::generate(4, 8)).proof();
    assert!(theirs.verify(&other.genesis).is_ok());
    assert!(matches!(err(&theirs), FinalityError::WrongGenesis { .. }));
    // Relabelled as ours, its QCs do not verify under our keys.
    let mut relabelled = theirs;
    relabelled.genesis_hash = fx().chain.genesis.hash();
    assert_eq!(
        err(&relabelled),
        FinalityError::QcBadSignature(QcRole::Anchor, 0)
    );
}

#[test]
fn tampered_tx_byte_is_not_included() {
    let proof = fx().proof();
    for i in [0, proof.tx.len() / 2, proof.tx.len() - 1] {
        let mut p = proof.clone();
        p.tx[i] ^= 0x01;
        assert_eq!(
            err(&p),
            FinalityError::NotIncluded {
                index: TX_INDEX,
                reason: ProofError::RootMismatch
            },
            "byte {i}"
        );
    }
    // Another index, a tampered path, a missing or extra path entry.
    let mut p = proof.clone();
    p.log_index = TX_INDEX - 1;
    assert!(matches!(err(&p), FinalityError::NotIncluded { index, .. } if index == TX_INDEX - 1));
    let mut p = proof.clone();
    p.inclusion_path[0][31] ^= 0x80;
    assert!(matches!(
        err(&p),
        FinalityError::NotIncluded {
            reason: ProofError::RootMismatch,
            ..
        }
    ));
    let mut p = proof.clone();
    p.inclusion_path.pop();
    assert!(matches!(
        err(&p),
        FinalityError::NotIncluded {
            reason: ProofError::ProofTooShort,
            ..
        }
    ));
    let mut p = proof.clone();
    p.inclusion_path.push([0; 32]);
    assert!(matches!(
        err(&p),
        FinalityError::NotIncluded {
            reason: ProofError::ProofTooLong,
            ..
        }
    ));
    let mut p = proof;
    p.log_index = p.tree_size;
    assert!(matches!(
        err(&p),
        FinalityError::NotIncluded {
            reason: ProofError::IndexOutOfRange { .. },
            ..
        }
    ));
}

#[test]
fn tampered_header_byte_is_not_linked() {
    let proof = fx().proof();
    // height (0), round (8), parent (16), timestamp (48), proposer (56), payload hash (60),
    // the app header's contents (96..): each still decodes, and changes the id.
    for i in [0, 8, 16, 48, 56, 60, 96, 100] {
        let mut p = proof.clone();
        p.header[i] ^= 0x01;
        assert!(
            matches!(err(&p), FinalityError::HeaderNotLinked(_)),
            "byte {i}: {:?}",
            err(&p)
        );
    }
    // Every single-byte change anywhere in the header is refused, either as not linked or,
    // when it breaks the encoding (a length, a signer order, the option tag), as malformed.
    for i in 0..proof.header.len() {
        let mut p = proof.clone();
        p.header[i] ^= 0x01;
        match err(&p) {
            FinalityError::HeaderNotLinked(_) => {}
            FinalityError::Malformed {
                field: "header", ..
            } => {}
            other => panic!("byte {i}: {other:?}"),
        }
    }
    // The child's link to the header, also tampered on the child side (its parent field).
    let mut p = proof;
    p.child_header[16] ^= 0x01;
    assert!(matches!(err(&p), FinalityError::HeaderNotLinked(_)));
}

#[test]
fn child_justify_for_another_height_is_not_linked() {
    let f = fx();
    let quorum = f.chain.quorum();
    // The child's justify names the anchor's id but another height.
    let mut child = f.child.clone();
    child.justify = f
        .chain
        .qc(f.anchor.id(), ANCHOR_ROUND, ANCHOR_HEIGHT + 1, &quorum);
    let child_qc = f.chain.qc_for(&child, &quorum);
    assert!(matches!(
        err(&f.proof_with_child(&child, &child_qc)),
        FinalityError::HeaderNotLinked(_)
    ));
    // The child skips a height.
    let mut child = f.child.clone();
    child.height += 1;
    let child_qc = f.chain.qc_for(&child, &quorum);
    assert!(matches!(
        err(&f.proof_with_child(&child, &child_qc)),
        FinalityError::HeaderNotLinked(_)
    ));
}

#[test]
fn child_round_not_anchor_round_plus_one_is_not_committed() {
    let f = fx();
    let quorum = f.chain.quorum();
    // A child two rounds later, otherwise perfectly signed: the anchor is certified but not
    // committed by the two-chain rule.
    let child = Fixture::child_of(&f.chain, &f.anchor, ANCHOR_ROUND + 2, &quorum);
    let child_qc = f.chain.qc_for(&child, &quorum);
    assert_eq!(
        err(&f.proof_with_child(&child, &child_qc)),
        FinalityError::NotCommitted {
            round: ANCHOR_ROUND,
            child_round: ANCHOR_ROUND + 2
        }
    );
    // The same round as the anchor.
    let child = Fixture::child_of(&f.chain, &f.anchor, ANCHOR_ROUND, &quorum);
    let child_qc = f.chain.qc_for(&child, &quorum);
    assert_eq!(
        err(&f.proof_with_child(&child, &child_qc)),
        FinalityError::NotCommitted {
            round: ANCHOR_ROUND,
            child_round: ANCHOR_ROUND
        }
    );
}

#[test]
fn child_qc_for_another_block_is_refused() {
    let f = fx();
    let quorum = f.chain.quorum();
    // A validly signed QC for a sibling of the child (same height and round, another timestamp).
    let mut sibling = f.child.clone();
    sibling.timestamp_ms += 1;
    let sibling_qc = f.chain.qc_for(&sibling, &quorum);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &sibling_qc)),
        FinalityError::QcForAnotherBlock
    );
    // The child's id, but another round or height.
    let qc = f
        .chain
        .qc(f.child.id(), f.child.round + 1, f.child.height, &quorum);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &qc)),
        FinalityError::QcForAnotherBlock
    );
    let qc = f
        .chain
        .qc(f.child.id(), f.child.round, f.child.height + 1, &quorum);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &qc)),
        FinalityError::QcForAnotherBlock
    );
    // The anchor's QC passed off as the child's.
    assert_eq!(
        err(&f.proof_with_child(&f.child, &f.child.justify)),
        FinalityError::QcForAnotherBlock
    );
}

#[test]
fn too_few_signatures_is_below_quorum() {
    let f = fx();
    let quorum = f.chain.quorum();
    let short = &quorum[..quorum.len() - 1];
    // The child's QC with 2f signatures.
    let child_qc = f.chain.qc_for(&f.child, short);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &child_qc)),
        FinalityError::QcBelowQuorum(QcRole::Child)
    );
    // Two of them, but another two.
    let child_qc = f.chain.qc_for(&f.child, &[1, 3]);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &child_qc)),
        FinalityError::QcBelowQuorum(QcRole::Child)
    );
    // No signatures at all.
    let child_qc = f.chain.qc_for(&f.child, &[]);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &child_qc)),
        FinalityError::QcBelowQuorum(QcRole::Child)
    );
    // The anchor's QC (the child's justify) with 2f signatures; the child's QC is fine.
    let child = Fixture::child_of(&f.chain, &f.anchor, ANCHOR_ROUND + 1, short);
    let child_qc = f.chain.qc_for(&child, &quorum);
    assert_eq!(
        err(&f.proof_with_child(&child, &child_qc)),
        FinalityError::QcBelowQuorum(QcRole::Anchor)
    );
}

#[test]
fn signature_by_a_non_genesis_key_is_bad_signature() {
    let f = fx();
    let other = other_chain();
    let quorum = f.chain.quorum();
    // Validator 1's slot signed by the other genesis's validator 1, over our exact vote bytes.
    let forge = |qc: &Qc, slot: usize| {
        let mut qc = qc.clone();
        let (v, _) = qc.signatures[slot];
        let msg = f
            .chain
            .keys
            .domain
            .vote_bytes(&qc.block_id, qc.round, qc.height);
        qc.signatures[slot].1 = maat_consensus::Signer::sign(&other.signers[v.0 as usize], &msg);
        qc
    };
    let child_qc = forge(&f.child_qc, 1);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &child_qc)),
        FinalityError::QcBadSignature(QcRole::Child, 1)
    );
    let mut child = f.child.clone();
    child.justify = forge(&child.justify, 2);
    let child_qc = f.chain.qc_for(&child, &quorum);
    assert_eq!(
        err(&f.proof_with_child(&child, &child_qc)),
        FinalityError::QcBadSignature(QcRole::Anchor, 2)
    );

    // A genesis validator's genesis signature, moved to another validator's slot.
    let mut child_qc = f.child_qc.clone();
    child_qc.signatures[0].1 = child_qc.signatures[1].1.clone();
    assert_eq!(
        err(&f.proof_with_child(&f.child, &child_qc)),
        FinalityError::QcBadSignature(QcRole::Child, 0)
    );
    // A signature over another chain's vote bytes (same block, round, height).
    let mut child_qc = f.child_qc.clone();
    let msg = other
        .keys
        .domain
        .vote_bytes(&child_qc.block_id, child_qc.round, child_qc.height);
    child_qc.signatures[2].1 = maat_consensus::Signer::sign(&f.chain.signers[2], &msg);
    assert_eq!(
        err(&f.proof_with_child(&f.child, &child_qc)),
        FinalityError::QcBadSignature(QcRole::Child, 2)
    );
    // Garbage bytes and an empty signature.
    for bad in [vec![0u8; 3309], Vec::new()] {
        let mut child_qc = f.child_qc.clone();
        child_qc.signatures[1].1 = SigBytes(bad);
        assert_eq!(
            err(&f.proof_with_child(&f.child, &child_qc)),
            FinalityError::QcBadSignature(QcRole::Child, 1)
        );
    }
}

#[test]
fn signer_outside_the_set_is_unknown() {
    let f = fx();
    let n = f.chain.signers.len() as u32;
    // A quorum plus a signer index past the set (with a real signature from the other chain).
    for role in [QcRole::Child, QcRole::Anchor] {
        for outside in [n, u32::MAX] {
            let extend = |qc: &Qc| {
                let mut qc = qc.clone();
                let sig = other_chain().vote(0, &qc.block_id, qc.round, qc.height);
                qc.signatures.push((ValidatorIndex(outside), sig));
                qc
            };
            let (child, child_qc) = match role {
                QcRole::Child => (f.child.clone(), extend(&f.child_qc)),
                QcRole::Anchor => {
                    let mut child = f.child.clone();
                    child.justify = extend(&child.justify);
                    let qc = f.chain.qc_for(&child, &f.chain.quorum());
                    (child, qc)
                }
            };
            assert_eq!(
                err(&f.proof_with_child(&child, &child_qc)),
                FinalityError::QcUnknownSigner(role, outside)
            );
        }
    }
}

#[test]
fn tree_size_mismatch_is_refused() {
    let f = fx();
    for tree_size in [f.log.size() - 1, f.log.size() + 1, 0] {
        let mut p = f.proof();
        p.tree_size = tree_size;
        assert_eq!(
            err(&p),
            FinalityError::TreeSizeMismatch {
                proof: tree_size,
                header: f.log.size()
            }
        );
    }
}

#[test]
fn block_height_above_the_anchor_is_refused() {
    let mut p = fx().proof();
    p.block_height = ANCHOR_HEIGHT + 1;
    assert_eq!(
        err(&p),
        FinalityError::HeightAboveAnchor {
            block_height: ANCHOR_HEIGHT + 1,
            header_height: ANCHOR_HEIGHT
        }
    );
    // Any height up to the anchor's is accepted (it is informational).
    p.block_height = 0;
    assert_eq!(verify(&p).expect("valid").block_height, 0);
}

#[test]
fn malformed_canonical_bytes_are_refused() {
    let f = fx();
    let proof = f.proof();
    let malformed = |p: &FinalityProof| match err(p) {
        FinalityError::Malformed { field, .. } => field,
        other => panic!("{other:?}"),
    };
    // Trailing bytes and truncation.
    let mut p = proof.clone();
    p.header.push(0);
    assert_eq!(malformed(&p), "header");
    let mut p = proof.clone();
    p.child_header.pop();
    assert_eq!(malformed(&p), "child_header");
    let mut p = proof.clone();
    p.child_qc.push(0);
    assert_eq!(malformed(&p), "child_qc");
    let mut p = proof.clone();
    p.child_qc.clear();
    assert_eq!(malformed(&p), "child_qc");
    // QC signers out of order.
    let mut qc = f.child_qc.clone();
    qc.signatures.swap(0, 1);
    let mut p = proof.clone();
    p.child_qc = qc.encode();
    assert_eq!(malformed(&p), "child_qc");
    // A transaction that is in the log but is not a canonical Transaction: the inclusion holds,
    // the decoding does not.
    let mut fx2 = Fixture::new(4);
    let junk = b"not a transaction".to_vec();
    fx2.txs.push(junk.clone());
    fx2.log.append(&junk).expect("append");
    let mut anchor = fx2.anchor.clone();
    anchor.app_header =
        maat_proto::encode(&maat_ledger::build_app_header(&[], fx2.log.frontier(), &[]));
    let quorum = fx2.chain.quorum();
    let child = Fixture::child_of(&fx2.chain, &anchor, ANCHOR_ROUND + 1, &quorum);
    let child_qc = fx2.chain.qc_for(&child, &quorum);
    let index = fx2.log.size() - 1;
    let p = fx2.proof_from(&anchor, &child, &child_qc, index, ANCHOR_HEIGHT);
    assert!(matches!(
        p.verify(&fx2.chain.genesis),
        Err(FinalityError::Malformed { field: "tx", .. })
    ));
    // The same anchor proves the earlier (real) entries.
    let p = fx2.proof_from(&anchor, &child, &child_qc, TX_INDEX, ANCHOR_HEIGHT);
    assert!(p.verify(&fx2.chain.genesis).is_ok());
}

// ---- JSON ------------------------------------------------------------------------------------

#[test]
fn json_round_trip_is_stable() {
    let proof = fx().proof();
    let json = serde_json::to_string(&proof).expect("serialize");
    let back: FinalityProof = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, proof);
    assert_eq!(serde_json::to_string(&back).expect("serialize"), json);
    let pretty = serde_json::to_string_pretty(&proof).expect("serialize");
    assert_eq!(
        serde_json::from_str::<FinalityProof>(&pretty).expect("deserialize"),
        proof
    );
    assert!(back.verify(&fx().chain.genesis).is_ok());

    // The documented shape: these keys, in this order; hex lowercase.
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = vec![
        "version",
        "chain_id",
        "genesis_hash",
        "tx",
        "log_index",
        "block_height",
        "tree_size",
        "inclusion_path",
        "header",
        "child_header",
        "child_qc",
    ];
    sorted.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, sorted);
    assert_eq!(value["version"], 1);
    assert_eq!(value["genesis_hash"], hex::encode(proof.genesis_hash));
    assert!(!json.chars().any(|c| c.is_ascii_uppercase()));

    // Hex in upper case is read too.
    let mut upper = value.clone();
    upper["header"] = serde_json::Value::String(hex::encode_upper(&proof.header));
    let back: FinalityProof = serde_json::from_value(upper).expect("upper-case hex");
    assert_eq!(back, proof);
}

#[test]
fn malformed_json_is_refused_by_serde() {
    let proof = fx().proof();
    let good: serde_json::Value = serde_json::to_value(&proof).expect("json");
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        edit(&mut v);
        let text = serde_json::to_string(&v).expect("json");
        serde_json::from_str::<FinalityProof>(&text).expect_err("must be refused")
    };
    // Unknown field (deny_unknown_fields).
    let e = refused(&|v| {
        v["extra"] = 1.into();
    });
    assert!(e.to_string().contains("unknown field"), "{e}");
    // Missing field.
    let e = refused(&|v| {
        v.as_object_mut().expect("object").remove("child_qc");
    });
    assert!(e.to_string().contains("missing field"), "{e}");
    // Odd-length hex, a non-hex character.
    refused(&|v| {
        let s = v["tx"].as_str().expect("str").to_owned();
        v["tx"] = format!("{s}0").into();
    });
    refused(&|v| {
        let s = v["header"].as_str().expect("str").replacen('0', "g", 1);
        v["header"] = s.into();
    });
    refused(&|v| {
        v["child_qc"] = "0x00".into();
    });
    // A genesis hash or path entry that is not 32 bytes.
    let e = refused(&|v| {
        let s = v["genesis_hash"].as_str().expect("str")[2..].to_owned();
        v["genesis_hash"] = s.into();
    });
    assert!(e.to_string().contains("32 bytes"), "{e}");
    let e = refused(&|v| {
        v["inclusion_path"][0] = "00".repeat(33).into();
    });
    assert!(e.to_string().contains("32 bytes"), "{e}");
    // Wrong types.
    refused(&|v| {
        v["version"] = "1".into();
    });
    refused(&|v| {
        v["log_index"] = (-1).into();
    });
    refused(&|v| {
        v["inclusion_path"] = "00".into();
    });
    // Not JSON at all, or not an object.
    assert!(serde_json::from_str::<FinalityProof>("").is_err());
    assert!(serde_json::from_str::<FinalityProof>("[]").is_err());
    assert!(serde_json::from_str::<FinalityProof>("{").is_err());
}

// ---- checkpoints -----------------------------------------------------------------------------

fn cosigned_note(chain: &Chain, checkpoint: &Checkpoint, signers: &[usize]) -> String {
    let names = checkpoint_keys(&chain.genesis).expect("checkpoint keys");
    let mut note = SignedNote::from_checkpoint(checkpoint);
    for &i in signers {
        note.signatures
            .push(cosign(checkpoint, &names[i].0.name, chain.key(i)).expect("cosign"));
    }
    note.to_text()
}

#[test]
fn checkpoint_with_three_of_four_cosignatures_verifies() {
    let f = fx();
    let genesis = &f.chain.genesis;
    let keys = checkpoint_keys(genesis).expect("keys");
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[0].0.name, "maat-test/validator-0");
    assert!(keys.iter().all(|(_, p)| *p == 1));
    let checkpoint =
        Checkpoint::new("maat-test", f.log.size(), f.log.root().0).expect("checkpoint");

    let v = verify_checkpoint(&cosigned_note(&f.chain, &checkpoint, &[0, 1, 3]), genesis)
        .expect("3 of 4");
    assert_eq!(v.checkpoint, checkpoint);
    assert_eq!(v.signers, vec![0, 1, 3]);
    assert_eq!(v.power, 3);
    // Signed in any order, all four.
    let v = verify_checkpoint(
        &cosigned_note(&f.chain, &checkpoint, &[3, 2, 1, 0]),
        genesis,
    )
    .expect("4 of 4");
    assert_eq!((v.signers, v.power), (vec![0, 1, 2, 3], 4));
}

#[test]
fn checkpoint_with_two_of_four_is_below_quorum() {
    let f = fx();
    let genesis = &f.chain.genesis;
    let checkpoint =
        Checkpoint::new("maat-test", f.log.size(), f.log.root().0).expect("checkpoint");
    assert_eq!(
        verify_checkpoint(&cosigned_note(&f.chain, &checkpoint, &[1, 2]), genesis),
        Err(CheckpointError::BelowQuorum { have: 2, need: 3 })
    );
    // A repeated cosignature counts once.
    assert_eq!(
        verify_checkpoint(&cosigned_note(&f.chain, &checkpoint, &[1, 2, 2]), genesis),
        Err(CheckpointError::BelowQuorum { have: 2, need: 3 })
    );
    // Another genesis's validators (same names, other keys) count for nothing here.
    assert_eq!(
        verify_checkpoint(
            &cosigned_note(other_chain(), &checkpoint, &[0, 1, 2, 3]),
            genesis
        ),
        Err(CheckpointError::BelowQuorum { have: 0, need: 3 })
    );
    // A checkpoint of another origin.
    let theirs = Checkpoint::new("maat-other", 1, [0; 32]).expect("checkpoint");
    assert!(matches!(
        verify_checkpoint(&cosigned_note(&f.chain, &theirs, &[0, 1, 2]), genesis),
        Err(CheckpointError::WrongOrigin { .. })
    ));
    // A tampered tree size in a 3-of-4 note: the first known signature fails.
    let text = cosigned_note(&f.chain, &checkpoint, &[0, 1, 2]).replacen("\n7\n", "\n8\n", 1);
    assert!(matches!(
        verify_checkpoint(&text, genesis),
        Err(CheckpointError::BadSignature { .. })
    ));
}
