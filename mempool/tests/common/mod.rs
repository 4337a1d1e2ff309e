//! A small chain for tests and benches: a generated genesis, real keys, the ledger, a
//! committed in-memory state, and builders for every transaction kind (certificates like
//! `examples/checkout`). Shared by the integration tests and `benches/admit.rs`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use maat_certificate::json::{self, Object, ParseMode, Value};
use maat_certificate::maat_v1::{CertificateBuilder, EvidenceItem, Request};
use maat_crypto::merkle::Frontier;
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::{BlockOutcome, ChainParams, Genesis, GenesisSpec, Ledger, MemoryState};
use maat_mempool::{Mempool, MempoolConfig};
use maat_proto::tx::{body, payload, sign};
use maat_proto::v1::tx_body::Kind;
use maat_proto::{Message, v1};

/// The policy of `examples/checkout/policy.json`.
pub const POLICY: &str = r#"{
  "policy_id": "checkout-prod",
  "version": 1,
  "environment": "production",
  "rule_set_id": "pod-v1",
  "freshness_seconds": {"human_attestation": 3600, "scan_report": 3600},
  "predicates": [
    {"name": "test_passed", "params": {"suite": "unit"}},
    {"name": "vuln_count", "params": {"severity": "critical", "operator": "<=", "threshold": 0}},
    {"name": "environment_matches", "params": {"target": "production"}},
    {"name": "rollback_defined", "params": {"service": "checkout"}},
    {"name": "or", "params": {"children": [
      {"name": "human_attested", "params": {"role": "release-manager"}},
      {"name": "canary_enabled", "params": {"service": "checkout"}}
    ]}}
  ]
}"#;

/// The evidence types of the policy and who may sign them (`examples/checkout/registry.toml`).
pub const SIGNERS: [(&str, &[&str], &[&str]); 8] = [
    ("build_artifact", &[], &["ci"]),
    ("commit_snapshot", &[], &["ci"]),
    ("environment_descriptor", &[], &["ci"]),
    ("human_attestation", &[], &["release-manager"]),
    ("rollback_spec", &[], &["ci"]),
    ("rollout_spec", &[], &["ci"]),
    ("scan_report", &[], &["ci"]),
    ("test_result", &[], &["ci"]),
];

pub const ADMIN: &str = "admin-0";

fn obj(text: &str) -> Object {
    match json::parse(text.as_bytes(), ParseMode::Strict) {
        Ok(Value::Object(o)) => o,
        other => panic!("fixture JSON is not an object: {other:?}"),
    }
}

/// A chain at some committed state.
pub struct Chain {
    pub ledger: Arc<Ledger>,
    pub state: MemoryState,
    pub log: Frontier,
    /// The time of the next block (ms).
    pub time_ms: u64,
    pub keys: BTreeMap<String, KeyPair>,
    key_seed: u32,
}

impl Chain {
    /// Default parameters, one admin.
    pub fn new() -> Self {
        Self::with(ChainParams::default(), 1)
    }

    /// `params`, admins `admin-0..n_admins`.
    pub fn with(params: ChainParams, n_admins: usize) -> Self {
        let mut spec = GenesisSpec::new(1, [7; 32]);
        spec.params = params;
        spec.n_admins = n_admins;
        let generated = Genesis::generate(&spec).expect("genesis");
        let mut state = MemoryState::new();
        state.apply(&generated.genesis.initial_state());
        let keys = generated
            .admin_keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| (format!("admin-{i}"), k))
            .collect();
        Chain {
            ledger: Arc::new(Ledger::new(&generated.genesis)),
            time_ms: generated.genesis.genesis_time_ms() + 60_000,
            state,
            log: Frontier::new(),
            keys,
            key_seed: 0,
        }
    }

    pub fn chain_id(&self) -> String {
        self.ledger.chain_id().to_owned()
    }

    pub fn key(&self, id: &str) -> &KeyPair {
        self.keys
            .get(id)
            .unwrap_or_else(|| panic!("no key for {id}"))
    }

    /// A fresh key pair (deterministic per chain).
    pub fn new_key(&mut self, alg: Algorithm) -> KeyPair {
        self.key_seed += 1;
        let mut seed = [0xa5; 32];
        seed[..4].copy_from_slice(&self.key_seed.to_le_bytes());
        KeyPair::from_seed(alg, &seed)
    }

    /// A mempool over this chain with `config` (or the chain's defaults).
    pub fn mempool(&self, config: Option<MempoolConfig>) -> Mempool {
        let config = config.unwrap_or_else(|| MempoolConfig::for_chain(self.ledger.params()));
        Mempool::new(config, Arc::clone(&self.ledger)).expect("config")
    }

    /// The committed next nonce of `submitter`.
    pub fn next_nonce(&self, submitter: &str) -> u64 {
        self.ledger
            .next_nonce(&self.state, submitter)
            .expect("state")
    }

    /// `body` from `submitter` with `nonce`, signed with `submitter`'s key.
    pub fn tx(&self, submitter: &str, nonce: u64, body: Kind) -> Vec<u8> {
        self.tx_signed_by(self.key(submitter), submitter, nonce, body)
    }

    /// `body` from `submitter` with `nonce`, signed with `key`.
    pub fn tx_signed_by(&self, key: &KeyPair, submitter: &str, nonce: u64, body: Kind) -> Vec<u8> {
        sign(payload(&self.chain_id(), submitter, nonce, body), key).encode_to_vec()
    }

    /// The raw transaction message for edits.
    pub fn tx_message(&self, submitter: &str, nonce: u64, body: Kind) -> v1::Transaction {
        sign(
            payload(&self.chain_id(), submitter, nonce, body),
            self.key(submitter),
        )
    }

    /// Applies `txs` as the next block (panics if it is invalid), commits its writes and
    /// advances the time by a second.
    pub fn commit<T: AsRef<[u8]>>(&mut self, txs: &[T]) -> BlockOutcome {
        let outcome = self
            .ledger
            .apply_block(&self.state, self.time_ms, txs, &self.log)
            .unwrap_or_else(|e| panic!("block: {e}"));
        self.state.apply(&outcome.writes);
        self.log = outcome.log.clone();
        self.time_ms += 1000;
        outcome
    }

    /// Registers `id` (by admin-0, committed) with a new key of `alg` and `roles`.
    pub fn register(&mut self, id: &str, alg: Algorithm, roles: &[&str]) {
        let key = self.new_key(alg);
        let tx = self.tx(
            ADMIN,
            self.next_nonce(ADMIN),
            body::register(id, &key.public(), roles),
        );
        self.commit(&[tx]);
        self.keys.insert(id.to_owned(), key);
    }

    /// Registers the checkout policy and CI identities `ci_ids` (role `ci`, Ed25519).
    pub fn setup_checkout(&mut self, ci_ids: &[&str]) {
        let mut txs = Vec::new();
        let mut nonce = self.next_nonce(ADMIN);
        txs.push(self.tx(ADMIN, nonce, policy_body(POLICY)));
        for id in ci_ids {
            nonce += 1;
            let key = self.new_key(Algorithm::Ed25519);
            txs.push(self.tx(ADMIN, nonce, body::register(id, &key.public(), &["ci"])));
            self.keys.insert((*id).to_owned(), key);
        }
        self.commit(&txs);
    }

    /// Canonical certificate JSON for `deployment_id`, requested by and with every evidence
    /// object signed by `submitter` (which must hold role `ci`), dated a minute ago.
    pub fn certificate_json(&self, submitter: &str, deployment_id: &str) -> Vec<u8> {
        self.certificate_json_signed(self.key(submitter), submitter, deployment_id, POLICY)
    }

    /// As [`Self::certificate_json`], evidence signed with `key`, under `policy`.
    pub fn certificate_json_signed(
        &self,
        key: &KeyPair,
        submitter: &str,
        deployment_id: &str,
        policy: &str,
    ) -> Vec<u8> {
        let request = Request {
            deployment_id: deployment_id.into(),
            service: "checkout".into(),
            environment: "production".into(),
            commit_sha: "abc123".into(),
            artifact_hash: "sha256:artifact".into(),
            requested_by: submitter.into(),
        };
        let mut b =
            CertificateBuilder::from_policy_json(request, policy.as_bytes()).expect("policy");
        #[allow(clippy::cast_precision_loss)]
        let t = (self.time_ms / 1000) as f64 - 60.0;
        let d = deployment_id;
        let items = [
            (
                "commit",
                "commit_snapshot",
                format!(r#"{{"deployment_id":"{d}","commit_sha":"abc123"}}"#),
                "git",
                vec![],
            ),
            (
                "artifact",
                "build_artifact",
                format!(r#"{{"deployment_id":"{d}","artifact_hash":"sha256:artifact"}}"#),
                "builder",
                vec!["commit"],
            ),
            (
                "env",
                "environment_descriptor",
                format!(r#"{{"deployment_id":"{d}","environment":"production"}}"#),
                "cluster",
                vec![],
            ),
            (
                "test",
                "test_result",
                format!(r#"{{"deployment_id":"{d}","suite":"unit","passed":true}}"#),
                "pytest",
                vec!["artifact"],
            ),
            (
                "scan",
                "scan_report",
                format!(r#"{{"deployment_id":"{d}","vulnerabilities":{{"critical":0,"high":1}}}}"#),
                "scanner",
                vec!["artifact"],
            ),
            (
                "rollback",
                "rollback_spec",
                format!(
                    r#"{{"deployment_id":"{d}","service":"checkout","rollback_plan":"restore previous image"}}"#
                ),
                "deploy-plan",
                vec![],
            ),
            (
                "canary",
                "rollout_spec",
                format!(r#"{{"deployment_id":"{d}","service":"checkout","canary_enabled":true}}"#),
                "deploy-plan",
                vec![],
            ),
        ];
        for (id, ty, value, source, deps) in items {
            let item = EvidenceItem::new(id, ty, obj(&value), source, t).depends_on(deps);
            b.add_evidence(item, submitter, key).expect("evidence");
        }
        b.build()
    }

    /// A certificate transaction for `deployment_id` from `submitter` with `nonce`.
    pub fn certificate_tx(&self, submitter: &str, nonce: u64, deployment_id: &str) -> Vec<u8> {
        let json = self.certificate_json(submitter, deployment_id);
        self.tx(submitter, nonce, body::certificate(json))
    }
}

/// A policy operation for (checkout, production) with the fixture's signers.
pub fn policy_body(policy_json: &str) -> Kind {
    body::policy(
        "checkout",
        "production",
        policy_json.as_bytes().to_vec(),
        &SIGNERS,
    )
}

/// A register operation whose size grows with `roles` (each role name `pad` bytes long).
pub fn register_body(id: &str, key: &KeyPair, roles: usize, pad: usize) -> Kind {
    let names: Vec<String> = (0..roles)
        .map(|i| format!("r{i:03}{}", "x".repeat(pad)))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    body::register(id, &key.public(), &refs)
}
