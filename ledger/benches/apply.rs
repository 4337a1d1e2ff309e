//! Check + apply of a block of 100 certificate transactions (each a maat-v1 certificate like
//! examples/checkout: 7 Ed25519-signed evidence objects, the standard derivation), submitted
//! by 100 Ed25519 identities (nonce 1 each), against a state holding those identities, the
//! two evidence signers and the registered policy.
//!
//! `apply_block_100_certs` is what a validator does before voting (every envelope signature
//! and every certificate verified); `throughput` reports certificates/s.
//! Run: `cargo bench -p maat-ledger --bench apply`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use maat_certificate::json::{self, Object, ParseMode, Value};
use maat_certificate::maat_v1::{CertificateBuilder, EvidenceItem, Request};
use maat_crypto::merkle::Frontier;
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::{Genesis, GenesisSpec, Ledger, MemoryState};
use maat_proto::Message;
use maat_proto::tx::{self, body};

const GENESIS_MS: u64 = 1_767_225_600_000;
const BLOCK_MS: u64 = GENESIS_MS + 3_600_000;
const N: usize = 100;

const POLICY: &str = r#"{"policy_id":"checkout-prod","version":1,"environment":"production","rule_set_id":"pod-v1","freshness_seconds":{"human_attestation":3600,"scan_report":3600},"predicates":[{"name":"test_passed","params":{"suite":"unit"}},{"name":"vuln_count","params":{"severity":"critical","operator":"<=","threshold":0}},{"name":"environment_matches","params":{"target":"production"}},{"name":"rollback_defined","params":{"service":"checkout"}},{"name":"or","params":{"children":[{"name":"human_attested","params":{"role":"release-manager"}},{"name":"canary_enabled","params":{"service":"checkout"}}]}}]}"#;

fn obj(text: &str) -> Object {
    match json::parse(text.as_bytes(), ParseMode::Strict) {
        Ok(Value::Object(o)) => o,
        other => panic!("not an object: {other:?}"),
    }
}

fn certificate(d: &str, requested_by: &str, ci: &KeyPair, scanner: &KeyPair) -> Vec<u8> {
    let request = Request {
        deployment_id: d.into(),
        service: "checkout".into(),
        environment: "production".into(),
        commit_sha: "abc123".into(),
        artifact_hash: "sha256:artifact".into(),
        requested_by: requested_by.into(),
    };
    let t = (BLOCK_MS / 1000) as f64 - 10.0;
    let mut b = CertificateBuilder::from_policy_json(request, POLICY.as_bytes()).expect("policy");
    let items = [
        (
            "commit",
            "commit_snapshot",
            format!(r#"{{"deployment_id":"{d}","commit_sha":"abc123"}}"#),
        ),
        (
            "artifact",
            "build_artifact",
            format!(r#"{{"deployment_id":"{d}","artifact_hash":"sha256:artifact"}}"#),
        ),
        (
            "env",
            "environment_descriptor",
            format!(r#"{{"deployment_id":"{d}","environment":"production"}}"#),
        ),
        (
            "test",
            "test_result",
            format!(r#"{{"deployment_id":"{d}","suite":"unit","passed":true}}"#),
        ),
        (
            "scan",
            "scan_report",
            format!(r#"{{"deployment_id":"{d}","vulnerabilities":{{"critical":0,"high":1}}}}"#),
        ),
        (
            "rollback",
            "rollback_spec",
            format!(
                r#"{{"deployment_id":"{d}","service":"checkout","rollback_plan":"restore previous image"}}"#
            ),
        ),
        (
            "canary",
            "rollout_spec",
            format!(r#"{{"deployment_id":"{d}","service":"checkout","canary_enabled":true}}"#),
        ),
    ];
    for (id, ty, value) in items {
        let (signer, kp) = if ty == "scan_report" {
            ("scanner", scanner)
        } else {
            ("ci-bot", ci)
        };
        b.add_evidence(
            EvidenceItem::new(id, ty, obj(&value), "bench", t),
            signer,
            kp,
        )
        .expect("evidence");
    }
    b.build()
}

fn bench(c: &mut Criterion) {
    let mut g = Genesis::generate(&GenesisSpec {
        genesis_time_ms: GENESIS_MS,
        ..GenesisSpec::new(1, [7; 32])
    })
    .expect("genesis");
    let admin = g.admin_keys.remove(0);
    let chain = g.genesis.chain_id().to_owned();
    let ledger = Ledger::new(&g.genesis);
    let mut state = MemoryState::new();
    state.apply(&g.genesis.initial_state());
    let ci = KeyPair::from_seed(Algorithm::Ed25519, &[1; 32]);
    let scanner = KeyPair::from_seed(Algorithm::Ed25519, &[2; 32]);
    let deployers: Vec<KeyPair> = (0..N)
        .map(|i| {
            KeyPair::from_seed(
                Algorithm::Ed25519,
                &[u8::try_from(i + 10).expect("small"); 32],
            )
        })
        .collect();

    // Setup block: signers, deployers, policy.
    let mut nonce = 0;
    let mut admin_tx = |kind| {
        nonce += 1;
        tx::sign(tx::payload(&chain, "admin-0", nonce, kind), &admin).encode_to_vec()
    };
    let mut setup = vec![
        admin_tx(body::register("ci-bot", &ci.public(), &["ci"])),
        admin_tx(body::register("scanner", &scanner.public(), &["scanner"])),
    ];
    for (i, d) in deployers.iter().enumerate() {
        setup.push(admin_tx(body::register(
            &format!("deployer-{i}"),
            &d.public(),
            &[],
        )));
    }
    setup.push(admin_tx(body::policy(
        "checkout",
        "production",
        POLICY.as_bytes().to_vec(),
        &[
            ("build_artifact", &[], &["ci"]),
            ("commit_snapshot", &[], &["ci"]),
            ("environment_descriptor", &[], &["ci"]),
            ("rollback_spec", &[], &["ci"]),
            ("rollout_spec", &[], &["ci"]),
            ("scan_report", &[], &["scanner"]),
            ("test_result", &[], &["ci"]),
        ],
    )));
    let out = ledger
        .apply_block(&state, GENESIS_MS, &setup, &Frontier::new())
        .expect("setup block");
    state.apply(&out.writes);
    let log = out.log;

    let txs: Vec<Vec<u8>> = deployers
        .iter()
        .enumerate()
        .map(|(i, kp)| {
            let submitter = format!("deployer-{i}");
            let cert = certificate(&format!("deploy-{i}"), &submitter, &ci, &scanner);
            tx::sign(
                tx::payload(&chain, &submitter, 1, body::certificate(cert)),
                kp,
            )
            .encode_to_vec()
        })
        .collect();
    let total: usize = txs.iter().map(Vec::len).sum();
    let check = ledger
        .apply_block(&state, BLOCK_MS, &txs, &log)
        .expect("the bench block is valid");
    assert_eq!(check.txs.len(), N);
    eprintln!("block: {N} certificate txs, {total} bytes");

    let mut group = c.benchmark_group("ledger");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    // Cold: a fresh ledger (empty caches) verifies every signature, as at mempool admission.
    group.bench_function("apply_block_100_certs_cold", |b| {
        b.iter_batched(
            || Ledger::new(&g.genesis),
            |fresh| {
                fresh
                    .apply_block(black_box(&state), BLOCK_MS, black_box(&txs), &log)
                    .expect("valid")
            },
            BatchSize::SmallInput,
        )
    });
    // Warm: the pre-vote replay, evidence signatures already verified at admission.
    group.bench_function("apply_block_100_certs", |b| {
        b.iter(|| {
            ledger
                .apply_block(black_box(&state), BLOCK_MS, black_box(&txs), &log)
                .expect("valid")
        })
    });
    group.bench_function("check_100_certs_mempool", |b| {
        b.iter(|| {
            for t in &txs {
                ledger
                    .check_bytes(&state, black_box(t), BLOCK_MS)
                    .expect("valid");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
