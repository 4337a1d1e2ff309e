//! Certificate transactions: maat-v1 at the block time against the chain's registry,
//! `requested_by` bound to the submitter, one finalization per deployment id (also across
//! pending blocks), revocations in pending blocks seen.

mod common;

use common::*;
use maat_certificate::maat_v1::Registry;
use maat_ledger::state::deployment_record;
use maat_ledger::{BlockError, Rejection, TxKind, TxSubject};
use maat_proto::tx::body;

fn codes(r: &Rejection) -> Vec<String> {
    match r {
        Rejection::CertificateRejected { failures } => {
            failures.iter().map(|f| f.code.clone()).collect()
        }
        other => panic!("expected CERTIFICATE_REJECTED, got {other:?}"),
    }
}

#[test]
fn certificate_is_accepted_and_recorded() {
    let (mut c, a) = deploy_chain();
    let t = cert_tx(&c, &a, "deploy-1", 1);
    let out = c.commit(BLOCK_MS, &[t]);
    let e = &out.txs[0].effects;
    assert_eq!(e.kind, TxKind::Certificate);
    let TxSubject::Deployment {
        deployment_id,
        service,
        environment,
        certificate_digest,
    } = &e.subject
    else {
        panic!("not a deployment: {:?}", e.subject)
    };
    assert_eq!(
        (
            deployment_id.as_str(),
            service.as_str(),
            environment.as_str()
        ),
        ("deploy-1", "checkout", "production")
    );
    let rec = deployment_record(&c.state, "deploy-1")
        .unwrap()
        .expect("recorded");
    assert_eq!(rec.tx_id, e.tx_id.0.to_vec());
    assert_eq!(&rec.certificate_digest, certificate_digest);
    assert_eq!(rec.submitter, "deployer");
    assert_eq!(rec.block_time_ms, BLOCK_MS);
    assert!(c.ledger.registry(&c.state).deployment_finalized("deploy-1"));
    assert!(!c.ledger.registry(&c.state).deployment_finalized("deploy-2"));
}

#[test]
fn checker_failures_are_carried_with_their_codes() {
    let (c, a) = deploy_chain();
    // Evidence signed by an unregistered key under a registered name.
    let cert = certificate("deploy-1", "deployer", EVIDENCE_T, &a.ci, &ed(77));
    let t = c.tx(&a.deployer, "deployer", 1, body::certificate(cert));
    let r = c.reject(&t, BLOCK_MS);
    assert_eq!(r.code(), "CERTIFICATE_REJECTED");
    assert_eq!(r.numeric_code(), 1401);
    let got = codes(&r);
    assert!(
        got.contains(&"EVIDENCE_SIGNATURE_INVALID:scan".to_owned()),
        "{got:?}"
    );
    assert_eq!(r.detail_codes().len(), got.len());
    // Evidence dated after the block time + skew, and stale evidence.
    let future = certificate(
        "deploy-1",
        "deployer",
        (BLOCK_MS / 1000) as f64 + 31.0,
        &a.ci,
        &a.scanner,
    );
    let got = codes(&c.reject(
        &c.tx(&a.deployer, "deployer", 1, body::certificate(future)),
        BLOCK_MS,
    ));
    assert!(
        got.contains(&"EVIDENCE_FROM_FUTURE:scan".to_owned()),
        "{got:?}"
    );
    let stale_time = BLOCK_MS + 3_601_000;
    let got = codes(&c.reject(&cert_tx(&c, &a, "deploy-1", 1), stale_time));
    assert_eq!(got, ["EVIDENCE_STALE:scan"]);
    // An unparsable certificate is refused while decoding.
    let t = c.tx(&a.deployer, "deployer", 1, body::certificate(b"{".to_vec()));
    assert_eq!(
        codes(&c.reject(&t, BLOCK_MS)),
        ["CERTIFICATE_JSON_MALFORMED"]
    );
}

#[test]
fn certificate_needs_the_registered_policy() {
    let (c, a) = deploy_chain();
    let cert = certificate("deploy-1", "deployer", EVIDENCE_T, &a.ci, &a.scanner);
    let staging = String::from_utf8(cert).unwrap().replace(
        r#""environment":"production""#,
        r#""environment":"staging""#,
    );
    let t = c.tx(
        &a.deployer,
        "deployer",
        1,
        body::certificate(staging.into_bytes()),
    );
    let got = codes(&c.reject(&t, BLOCK_MS));
    assert!(got.contains(&"POLICY_NOT_REGISTERED".to_owned()), "{got:?}");
}

#[test]
fn requested_by_must_be_the_submitter() {
    let (c, a) = deploy_chain();
    let cert = certificate("deploy-1", "ci-bot", EVIDENCE_T, &a.ci, &a.scanner);
    let t = c.tx(&a.deployer, "deployer", 1, body::certificate(cert));
    let r = c.reject(&t, BLOCK_MS);
    assert_eq!(
        r,
        Rejection::RequestedByMismatch {
            requested_by: "ci-bot".into(),
            submitter: "deployer".into()
        }
    );
    assert_eq!(r.code(), "REQUESTED_BY_MISMATCH");
}

#[test]
fn duplicate_deployment_is_rejected_committed_in_block_and_across_pending_blocks() {
    let (mut c, a) = deploy_chain();
    // Committed.
    let mut c2 = deploy_chain().0;
    c2.commit(BLOCK_MS, &[cert_tx(&c2, &a, "deploy-1", 1)]);
    let r = c2.reject(&cert_tx(&c2, &a, "deploy-1", 2), BLOCK_MS);
    assert_eq!(r, Rejection::DeploymentDuplicate("deploy-1".into()));
    // Inside one block: the block is invalid at index 1.
    let txs = [
        cert_tx(&c, &a, "deploy-1", 1),
        cert_tx(&c, &a, "deploy-1", 2),
    ];
    match c.ledger.apply_block(&c.state, BLOCK_MS, &txs, &c.log) {
        Err(BlockError::TxRejected {
            index: 1,
            rejection: Rejection::DeploymentDuplicate(d),
            ..
        }) => {
            assert_eq!(d, "deploy-1");
        }
        other => panic!("{other:?}"),
    }
    // Across the pending chain: block A (not committed) finalizes deploy-1, block B over it.
    let pending = c.overlay(&c.state, BLOCK_MS, &[cert_tx(&c, &a, "deploy-1", 1)]);
    let b = [cert_tx(&c, &a, "deploy-1", 2)];
    match c.ledger.apply_block(&pending, BLOCK_MS, &b, &c.log) {
        Err(BlockError::TxRejected {
            index: 0,
            rejection,
            ..
        }) => {
            assert_eq!(rejection.code(), "DEPLOYMENT_DUPLICATE");
        }
        other => panic!("{other:?}"),
    }
    // Another id is fine there, and the committed state still allows deploy-1.
    assert!(
        c.ledger
            .apply_block(
                &pending,
                BLOCK_MS,
                &[cert_tx(&c, &a, "deploy-2", 2)],
                &c.log
            )
            .is_ok()
    );
    c.commit(BLOCK_MS, &[cert_tx(&c, &a, "deploy-1", 1)]);
}

#[test]
fn revoked_evidence_signer_inside_the_pending_chain_is_caught() {
    let (c, a) = deploy_chain();
    let t = cert_tx(&c, &a, "deploy-1", 1);
    assert!(c.check(&t, BLOCK_MS).is_ok());
    // A pending block revokes the scanner; the certificate in the next block must fail.
    let pending = c.overlay(&c.state, BLOCK_MS, &[c.admin_tx(body::revoke("scanner"))]);
    let r = rejection(c.ledger.check_bytes(&pending, &t, BLOCK_MS));
    assert!(
        codes(&r).contains(&"EVIDENCE_SIGNER_UNAUTHORIZED:scan".to_owned()),
        "{r:?}"
    );
}

#[test]
fn rotated_out_evidence_key_is_unauthorized_and_the_new_key_works() {
    let (mut c, a) = deploy_chain();
    let new_scanner = ed(55);
    c.commit(
        BLOCK_MS,
        &[c.tx(
            &a.scanner,
            "scanner",
            1,
            body::rotate("scanner", &new_scanner.public()),
        )],
    );
    let r = c.reject(&cert_tx(&c, &a, "deploy-1", 1), BLOCK_MS);
    let got = codes(&r);
    assert_eq!(got[0], "EVIDENCE_SIGNER_UNAUTHORIZED:scan", "{got:?}");
    // The scan report no longer counts, so the vulnerability leaf is unproven too.
    assert!(
        got.contains(&"VRP_VULN_OK_UNSUPPORTED:vuln_count:critical<=0".to_owned()),
        "{got:?}"
    );
    let cert = certificate("deploy-1", "deployer", EVIDENCE_T, &a.ci, &new_scanner);
    assert!(
        c.check(
            &c.tx(&a.deployer, "deployer", 1, body::certificate(cert)),
            BLOCK_MS
        )
        .is_ok()
    );
}

#[test]
fn clock_skew_comes_from_the_genesis_params() {
    let spec = maat_ledger::GenesisSpec {
        genesis_time_ms: GENESIS_MS,
        params: maat_ledger::ChainParams {
            max_clock_skew_secs: 120,
            ..Default::default()
        },
        ..maat_ledger::GenesisSpec::new(1, [42; 32])
    };
    let mut c = Chain::with_spec(spec);
    let a = Actors::new();
    let txs = setup_txs(&c, &a);
    c.commit(GENESIS_MS, &txs);
    let t = (BLOCK_MS / 1000) as f64 + 100.0;
    let cert = certificate("deploy-1", "deployer", t, &a.ci, &a.scanner);
    assert!(
        c.check(
            &c.tx(&a.deployer, "deployer", 1, body::certificate(cert)),
            BLOCK_MS
        )
        .is_ok()
    );
}

#[test]
fn evidence_signatures_verified_at_admission_are_not_verified_again_before_voting() {
    let (c, a) = deploy_chain();
    let t = cert_tx(&c, &a, "deploy-1", 1);
    let signatures = t.windows(13).filter(|w| w == b"\"signature\":\"").count() as u64;
    assert!(
        signatures >= 7,
        "the certificate carries its evidence signatures"
    );
    let hits = || c.ledger.cache().evidence_signature_hits();
    // Admission verifies every evidence signature.
    assert!(c.check(&t, BLOCK_MS).is_ok());
    assert_eq!(hits(), 0);
    // The pre-vote replay of the block finds each one verified already.
    let pending = c.overlay(&c.state, BLOCK_MS, &[]);
    assert!(c.ledger.check_bytes(&pending, &t, BLOCK_MS).is_ok());
    assert_eq!(hits(), signatures);
    // The state-dependent part is still read every time: revoking a signer in a pending block
    // rejects the certificate although its signatures are cached.
    let revoked = c.overlay(&c.state, BLOCK_MS, &[c.admin_tx(body::revoke("scanner"))]);
    let r = rejection(c.ledger.check_bytes(&revoked, &t, BLOCK_MS));
    assert!(
        codes(&r).contains(&"EVIDENCE_SIGNER_UNAUTHORIZED:scan".to_owned()),
        "{r:?}"
    );
}
