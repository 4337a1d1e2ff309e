//! The workload against the real ledger: setup, then certificate blocks that must all pass;
//! the invalid certificate is refused by the maat-v1 check while its envelope verifies.

use std::collections::HashSet;
use std::time::Instant;

use maat_crypto::merkle::Frontier;
use maat_crypto::sig::KeyPair;
use maat_ledger::state::audit_head;
use maat_ledger::{
    BlockError, BlockOutcome, Genesis, GenesisSpec, Ledger, MemoryState, Rejection, TxError,
};
use maat_ledger::{TxKind, TxSubject};
use maat_sdk::workload::{self, DEFAULT_AGENTS, DEFAULT_SUBMITTERS, Workload};

/// A one-hour-old chain: evidence signed "now", blocks a second apart after it.
const HOUR_MS: u64 = 3_600_000;

struct Chain {
    genesis: Genesis,
    ledger: Ledger,
    state: MemoryState,
    log: Frontier,
    time: u64,
}

impl Chain {
    fn new() -> (Chain, KeyPair) {
        let mut g = Genesis::generate(&GenesisSpec::new(4, [42; 32])).expect("genesis");
        let admin = g.admin_keys.remove(0);
        let mut state = MemoryState::new();
        state.apply(&g.genesis.initial_state());
        let time = g.genesis.proto().genesis_time_ms;
        let chain = Chain {
            ledger: Ledger::new(&g.genesis),
            genesis: g.genesis,
            state,
            log: Frontier::new(),
            time,
        };
        (chain, admin)
    }

    fn chain_id(&self) -> String {
        self.genesis.chain_id().to_owned()
    }

    /// Applies a block one second after the previous one and commits it.
    fn commit(&mut self, txs: &[Vec<u8>]) -> BlockOutcome {
        self.time += 1000;
        let out = self
            .ledger
            .apply_block(&self.state, self.time, txs, &self.log)
            .unwrap_or_else(|e| panic!("block rejected: {e}"));
        assert_eq!(out.txs.len(), txs.len());
        self.state.apply(&out.writes);
        self.log = out.log.clone();
        out
    }
}

fn setup(seed: [u8; 32]) -> (Chain, Workload) {
    let (mut c, admin) = Chain::new();
    let w = Workload::new(c.chain_id(), admin, seed);
    let setup = w.setup_txs();
    assert_eq!(setup.len(), DEFAULT_SUBMITTERS + 4);
    c.commit(&setup);
    c.time += HOUR_MS;
    (c, w)
}

#[test]
fn setup_then_200_certificates_in_blocks_of_50() {
    let (mut c, w) = setup([5; 32]);
    let now = c.time;
    let txs = w.certificate_txs(0..200, now);
    assert_eq!(txs.len(), 200);
    let mut ids = HashSet::new();
    for block in txs.chunks(50) {
        let out = c.commit(block);
        for (t, id) in block.iter().zip(out.tx_ids()) {
            assert_eq!(workload::tx_id(t), Some(id));
            assert!(ids.insert(id), "duplicate tx id");
        }
        // Mixed submitters in every block.
        let submitters: HashSet<_> = out
            .txs
            .iter()
            .map(|t| t.effects.submitter.clone())
            .collect();
        assert_eq!(submitters.len(), DEFAULT_SUBMITTERS);
    }
    assert_eq!(c.log.size(), (DEFAULT_SUBMITTERS + 4 + 200) as u64);
    // Every submitter used nonces 1..=25.
    for j in 0..DEFAULT_SUBMITTERS {
        let id = w.submitter_id(j).expect("submitter");
        assert_eq!(
            c.ledger.next_nonce(&c.state, id).expect("state"),
            26,
            "{id}"
        );
    }
    // The stream continues where it stopped; a replayed transaction does not pass.
    let next = w.certificate_tx(200, now);
    c.ledger
        .check_bytes(&c.state, &next, c.time + 1000)
        .expect("certificate 200 is valid next");
    assert!(
        c.ledger
            .check_bytes(&c.state, &txs[0], c.time + 1000)
            .is_err()
    );
}

#[test]
fn one_thousand_certificates_build_fast_and_pass_with_k_7() {
    let (c0, admin) = Chain::new();
    let mut c = c0;
    let w = Workload::new(c.chain_id(), admin, [6; 32])
        .with_submitters(7)
        .expect("k");
    c.commit(&w.setup_txs());
    c.time += HOUR_MS;
    let start = Instant::now();
    let txs = w.certificate_txs(0..1000, c.time);
    let built = start.elapsed();
    eprintln!("built 1000 certificate txs in {built:?}");
    assert_eq!(txs.len(), 1000);
    for block in txs.chunks(250) {
        c.commit(block);
    }
    for j in 0..7 {
        let expect = (0..1000u64).filter(|i| w.submitter_index(*i) == j).count() as u64 + 1;
        let id = w.submitter_id(j).expect("submitter");
        assert_eq!(c.ledger.next_nonce(&c.state, id).expect("state"), expect);
    }
}

#[test]
fn invalid_certificate_fails_the_check_but_its_envelope_verifies() {
    let (mut c, w) = setup([7; 32]);
    let now = c.time;
    let bad = w.invalid_certificate_tx(now);
    let decoded = c.ledger.decode(&bad).expect("well-formed");
    c.ledger
        .verify_signature(&c.state, decoded)
        .expect("the envelope signature verifies");
    let rejection = match c.ledger.check_bytes(&c.state, &bad, now + 1000) {
        Err(TxError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    };
    let Rejection::CertificateRejected { failures } = &rejection else {
        panic!("expected a certificate rejection, got {rejection:?}");
    };
    assert_eq!(rejection.code(), "CERTIFICATE_REJECTED");
    assert_eq!(rejection.numeric_code(), 1401);
    assert!(!failures.is_empty());
    eprintln!("maat-v1 failure codes: {:?}", rejection.detail_codes());
    assert!(
        rejection
            .detail_codes()
            .iter()
            .any(|code| code.contains("test_passed")),
        "{:?}",
        rejection.detail_codes()
    );

    // In a block (a Byzantine leader's proposal), the block is invalid at its position.
    let good = w.certificate_tx(0, now);
    c.time += 1000;
    match c
        .ledger
        .apply_block(&c.state, c.time, &[good.clone(), bad.clone()], &c.log)
    {
        Err(BlockError::TxRejected { index, tx_id, .. }) => {
            assert_eq!(index, 1);
            assert_eq!(tx_id, workload::tx_id(&bad));
        }
        other => panic!("expected an invalid block, got {other:?}"),
    }

    // Valid traffic goes on, and the invalid transaction stays a certificate failure (its
    // nonce never advances).
    c.commit(&w.certificate_txs(0..16, now));
    let again = w.invalid_certificate_tx(now + 5);
    assert!(matches!(
        c.ledger.check_bytes(&c.state, &again, c.time + 1000),
        Err(TxError::Rejected(Rejection::CertificateRejected { .. }))
    ));
}

#[test]
fn two_workloads_share_a_chain_and_building_is_deterministic() {
    let (mut c, w1) = setup([8; 32]);
    let (_, admin) = Chain::new();
    let next = c.ledger.next_nonce(&c.state, "admin-0").expect("state");
    let w2 = Workload::new(c.chain_id(), admin, [9; 32])
        .with_admin("admin-0", next)
        .expect("nonce");
    c.commit(&w2.setup_txs());
    let now = c.time;
    let mut txs = w1.certificate_txs(0..10, now);
    txs.extend(w2.certificate_txs(0..10, now));
    c.commit(&txs);

    assert_eq!(w1.certificate_tx(3, now), w1.certificate_tx(3, now));
    assert_ne!(w1.deployment_id(3), w2.deployment_id(3));
    assert_ne!(w1.submitter_id(0), w2.submitter_id(0));
}

fn audit_setup(seed: [u8; 32], agents: usize) -> (Chain, Workload) {
    let (mut c, admin) = Chain::new();
    let w = Workload::new(c.chain_id(), admin, seed)
        .with_agents(agents)
        .expect("agents");
    let mut setup = w.setup_txs();
    let audit = w.audit_setup_txs();
    assert_eq!(audit.len(), agents);
    setup.extend(audit);
    c.commit(&setup);
    (c, w)
}

#[test]
fn audit_records_stream_through_blocks_in_order() {
    let (mut c, w) = audit_setup([10; 32], DEFAULT_AGENTS);
    let now = c.time;
    let txs = w.audit_record_txs(0..200, now);
    assert_eq!(txs.len(), 200);
    for t in &txs {
        assert!(t.len() < 600, "a small record: {} bytes", t.len());
    }
    // The single-record builder gives the same bytes (Ed25519 signing is deterministic).
    for i in [0, 7, 8, 123] {
        assert_eq!(w.audit_record_tx(i, now), txs[i as usize], "{i}");
    }
    for block in txs.chunks(50) {
        let out = c.commit(block);
        for applied in &out.txs {
            assert_eq!(applied.effects.kind, TxKind::AuditRecord);
            assert!(matches!(
                applied.effects.subject,
                TxSubject::AuditRecord { .. }
            ));
        }
    }
    for j in 0..DEFAULT_AGENTS {
        let id = w.agent_id(j).expect("agent");
        let head = audit_head(&c.state, id).expect("state").expect("head");
        assert_eq!(head.sequence, 25, "{id}");
        assert_eq!(c.ledger.next_nonce(&c.state, id).expect("state"), 26);
    }
    // The stream continues (in a later block, with the same `now`); a replay does not pass.
    let next = w.audit_record_txs(200..208, now);
    c.commit(&next);
    assert!(
        c.ledger
            .check_bytes(&c.state, &txs[5], c.time + 1000)
            .is_err()
    );
    // Certificates and audit records of one workload mix in a block.
    c.time += HOUR_MS;
    let mut mixed = w.certificate_txs(0..16, c.time);
    mixed.extend(w.audit_record_txs(208..224, now));
    c.commit(&mixed);
}

#[test]
fn audit_records_out_of_order_are_rejected() {
    let (c, w) = audit_setup([11; 32], 3);
    let now = c.time;
    assert_eq!(
        (0..7)
            .map(|i| (w.agent_index(i), w.audit_sequence(i)))
            .collect::<Vec<_>>(),
        [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2), (0, 3)]
    );
    let txs = w.audit_record_txs(0..6, now);
    // Agent 0's second record before its first: the block is invalid.
    let swapped = [txs[3].clone(), txs[0].clone()];
    match c
        .ledger
        .apply_block(&c.state, c.time + 1000, &swapped, &c.log)
    {
        Err(BlockError::TxRejected { index, .. }) => assert_eq!(index, 0),
        other => panic!("expected an invalid block, got {other:?}"),
    }
    let reject = |t: &[u8]| match c.ledger.check_bytes(&c.state, t, c.time + 1000) {
        Err(TxError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    };
    assert_eq!(reject(&txs[3]).code(), "TX_NONCE_INVALID");
    // Built from a stream with another `now`, record 3 links to a record that never existed.
    let other_now = w.audit_record_tx(3, now + 1);
    let mut o = maat_ledger::Overlay::new(&c.state);
    let first = c.ledger.decode(&txs[0]).expect("decodes");
    c.ledger
        .apply(&mut o, &first, None, c.time + 1000)
        .expect("record 0");
    let bad = c.ledger.decode(&other_now).expect("decodes");
    match c.ledger.check(&o, &bad, c.time + 1000) {
        Err(TxError::Rejected(r)) => assert_eq!(r.code(), "AUDIT_PREVIOUS_HASH_MISMATCH"),
        other => panic!("expected a fork, got {other:?}"),
    }
    // In order, everything passes.
    c.ledger
        .apply_block(&c.state, c.time + 1000, &txs, &c.log)
        .expect("in order");
    assert_eq!(
        Workload::new(
            c.chain_id(),
            KeyPair::from_seed(maat_crypto::sig::Algorithm::Ed25519, &[1; 32]),
            [1; 32]
        )
        .with_agents(0)
        .err(),
        Some(workload::WorkloadError::NoAgents)
    );
}
