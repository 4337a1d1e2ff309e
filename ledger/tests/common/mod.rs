//! Shared fixture: a one-validator chain with admin `admin-0`, a deployer, two evidence
//! signers and the checkout/production policy; helpers to sign transactions and build
//! certificates.
#![allow(dead_code)]

use maat_certificate::json::{self, Object, ParseMode, Value};
use maat_certificate::maat_v1::{CertificateBuilder, EvidenceItem, Request};
use maat_crypto::merkle::Frontier;
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::{
    BlockOutcome, Genesis, GenesisSpec, Ledger, MemoryState, Overlay, Rejection, StateView, TxError,
};
use maat_proto::Message;
use maat_proto::tx::{self, body};
use maat_proto::v1::tx_body::Kind;

/// Genesis time: 2026-01-01T00:00:00Z.
pub const GENESIS_MS: u64 = 1_767_225_600_000;
/// A block time one hour after genesis.
pub const BLOCK_MS: u64 = GENESIS_MS + 3_600_000;
/// Evidence timestamp: 10 s before [`BLOCK_MS`].
pub const EVIDENCE_T: f64 = (BLOCK_MS / 1000) as f64 - 10.0;

/// The example policy (examples/checkout/policy.json).
pub const POLICY: &str = r#"{"policy_id":"checkout-prod","version":1,"environment":"production","rule_set_id":"pod-v1","freshness_seconds":{"human_attestation":3600,"scan_report":3600},"predicates":[{"name":"test_passed","params":{"suite":"unit"}},{"name":"vuln_count","params":{"severity":"critical","operator":"<=","threshold":0}},{"name":"environment_matches","params":{"target":"production"}},{"name":"rollback_defined","params":{"service":"checkout"}},{"name":"or","params":{"children":[{"name":"human_attested","params":{"role":"release-manager"}},{"name":"canary_enabled","params":{"service":"checkout"}}]}}]}"#;

pub fn key(alg: Algorithm, n: u8) -> KeyPair {
    KeyPair::from_seed(alg, &[n; 32])
}

pub fn ed(n: u8) -> KeyPair {
    key(Algorithm::Ed25519, n)
}

/// A chain: ledger, committed state, committed log, and the admin key.
pub struct Chain {
    pub genesis: Genesis,
    pub ledger: Ledger,
    pub state: MemoryState,
    pub log: Frontier,
    pub admin: KeyPair,
}

impl Chain {
    /// Genesis only.
    pub fn new() -> Chain {
        Self::with_spec(GenesisSpec {
            genesis_time_ms: GENESIS_MS,
            ..GenesisSpec::new(1, [42; 32])
        })
    }

    pub fn with_spec(spec: GenesisSpec) -> Chain {
        let mut g = Genesis::generate(&spec).expect("genesis");
        let admin = g.admin_keys.remove(0);
        let mut state = MemoryState::new();
        state.apply(&g.genesis.initial_state());
        Chain {
            ledger: Ledger::new(&g.genesis),
            genesis: g.genesis,
            state,
            log: Frontier::new(),
            admin,
        }
    }

    pub fn chain_id(&self) -> String {
        self.genesis.chain_id().to_owned()
    }

    /// A signed transaction's bytes.
    pub fn tx(&self, signer: &KeyPair, submitter: &str, nonce: u64, body: Kind) -> Vec<u8> {
        tx::sign(
            tx::payload(&self.chain_id(), submitter, nonce, body),
            signer,
        )
        .encode_to_vec()
    }

    /// The next nonce of `submitter` at the committed state.
    pub fn nonce(&self, submitter: &str) -> u64 {
        self.ledger
            .next_nonce(&self.state, submitter)
            .expect("state")
    }

    /// An admin transaction with the next admin nonce (committed state only).
    pub fn admin_tx(&self, body: Kind) -> Vec<u8> {
        self.tx(&self.admin, "admin-0", self.nonce("admin-0"), body)
    }

    /// Applies a block at `time` over the committed state and commits it.
    pub fn commit(&mut self, time: u64, txs: &[Vec<u8>]) -> BlockOutcome {
        let out = self
            .ledger
            .apply_block(&self.state, time, txs, &self.log)
            .unwrap_or_else(|e| panic!("block rejected: {e}"));
        self.state.apply(&out.writes);
        self.log = out.log.clone();
        out
    }

    /// Checks one transaction at the committed state.
    pub fn check(&self, bytes: &[u8], time: u64) -> Result<maat_ledger::TxEffects, TxError> {
        self.ledger.check_bytes(&self.state, bytes, time)
    }

    /// The rejection of one transaction at the committed state (panics if accepted).
    pub fn reject(&self, bytes: &[u8], time: u64) -> Rejection {
        rejection(self.check(bytes, time))
    }

    /// Applies `txs` over `view` without committing.
    pub fn overlay<'a>(
        &self,
        view: &'a dyn StateView,
        time: u64,
        txs: &[Vec<u8>],
    ) -> Overlay<&'a dyn StateView> {
        let out = self
            .ledger
            .apply_block(view, time, txs, &self.log)
            .unwrap_or_else(|e| panic!("block rejected: {e}"));
        Overlay::with_writes(view, out.writes)
    }
}

pub fn rejection<T: std::fmt::Debug>(r: Result<T, TxError>) -> Rejection {
    match r {
        Err(TxError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The fixture's identities: `deployer` (submits certificates), `ci-bot` (role `ci`, signs
/// most evidence), `scanner` (role `scanner`, signs scan reports).
pub struct Actors {
    pub deployer: KeyPair,
    pub ci: KeyPair,
    pub scanner: KeyPair,
}

impl Actors {
    pub fn new() -> Actors {
        Actors {
            deployer: ed(10),
            ci: ed(11),
            scanner: ed(12),
        }
    }
}

/// The signer rules of the checkout/production policy.
pub const SIGNERS: [(&str, &[&str], &[&str]); 7] = [
    ("build_artifact", &[], &["ci"]),
    ("commit_snapshot", &[], &["ci"]),
    ("environment_descriptor", &[], &["ci"]),
    ("rollback_spec", &[], &["ci"]),
    ("rollout_spec", &[], &["ci"]),
    ("scan_report", &[], &["scanner"]),
    ("test_result", &["ci-bot"], &[]),
];

pub fn policy_body() -> Kind {
    body::policy(
        "checkout",
        "production",
        POLICY.as_bytes().to_vec(),
        &SIGNERS,
    )
}

/// The admin's transactions that register the actors and the checkout/production policy.
pub fn setup_txs(c: &Chain, a: &Actors) -> Vec<Vec<u8>> {
    let reg = |nonce, id, key: &KeyPair, roles: &[&str]| {
        c.tx(
            &c.admin,
            "admin-0",
            nonce,
            body::register(id, &key.public(), roles),
        )
    };
    vec![
        reg(1, "deployer", &a.deployer, &[]),
        reg(2, "ci-bot", &a.ci, &["ci"]),
        reg(3, "scanner", &a.scanner, &["scanner"]),
        c.tx(&c.admin, "admin-0", 4, policy_body()),
    ]
}

/// A chain with the actors registered and the policy registered (committed at
/// `GENESIS_MS + 1000`).
pub fn deploy_chain() -> (Chain, Actors) {
    let mut c = Chain::new();
    let a = Actors::new();
    let txs = setup_txs(&c, &a);
    c.commit(GENESIS_MS + 1000, &txs);
    (c, a)
}

pub fn obj(text: &str) -> Object {
    match json::parse(text.as_bytes(), ParseMode::Strict) {
        Ok(Value::Object(o)) => o,
        other => panic!("not an object: {other:?}"),
    }
}

/// A certificate for `deployment_id` requested by `requested_by`, evidence at `t` signed by
/// `ci-bot` (`ci`) and `scanner` (`scanner`).
pub fn certificate(
    deployment_id: &str,
    requested_by: &str,
    t: f64,
    ci: &KeyPair,
    scanner: &KeyPair,
) -> Vec<u8> {
    let request = Request {
        deployment_id: deployment_id.into(),
        service: "checkout".into(),
        environment: "production".into(),
        commit_sha: "abc123".into(),
        artifact_hash: "sha256:artifact".into(),
        requested_by: requested_by.into(),
    };
    let mut b = CertificateBuilder::from_policy_json(request, POLICY.as_bytes()).expect("policy");
    let d = deployment_id;
    let items = [
        (
            "commit",
            "commit_snapshot",
            format!(r#"{{"deployment_id":"{d}","commit_sha":"abc123"}}"#),
            "ci-bot",
        ),
        (
            "artifact",
            "build_artifact",
            format!(r#"{{"deployment_id":"{d}","artifact_hash":"sha256:artifact"}}"#),
            "ci-bot",
        ),
        (
            "env",
            "environment_descriptor",
            format!(r#"{{"deployment_id":"{d}","environment":"production"}}"#),
            "ci-bot",
        ),
        (
            "test",
            "test_result",
            format!(r#"{{"deployment_id":"{d}","suite":"unit","passed":true}}"#),
            "ci-bot",
        ),
        (
            "scan",
            "scan_report",
            format!(r#"{{"deployment_id":"{d}","vulnerabilities":{{"critical":0,"high":1}}}}"#),
            "scanner",
        ),
        (
            "rollback",
            "rollback_spec",
            format!(
                r#"{{"deployment_id":"{d}","service":"checkout","rollback_plan":"restore previous image"}}"#
            ),
            "ci-bot",
        ),
        (
            "canary",
            "rollout_spec",
            format!(r#"{{"deployment_id":"{d}","service":"checkout","canary_enabled":true}}"#),
            "ci-bot",
        ),
    ];
    for (id, ty, value, signer) in items {
        let kp = if signer == "scanner" { scanner } else { ci };
        b.add_evidence(
            EvidenceItem::new(id, ty, obj(&value), "test", t),
            signer,
            kp,
        )
        .expect("evidence");
    }
    b.build()
}

/// A certificate transaction from `deployer` with `nonce`.
pub fn cert_tx(c: &Chain, a: &Actors, deployment_id: &str, nonce: u64) -> Vec<u8> {
    let cert = certificate(deployment_id, "deployer", EVIDENCE_T, &a.ci, &a.scanner);
    c.tx(&a.deployer, "deployer", nonce, body::certificate(cert))
}
