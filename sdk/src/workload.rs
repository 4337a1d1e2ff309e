//! [`Workload`]: a realistic, valid transaction stream for a chain whose genesis has an
//! Ed25519 admin, for tests, CI and load generation.
//!
//! - [`Workload::setup_txs`]: the admin registers `K` submitters (no roles), a CI evidence
//!   signer (role `ci`), a scanner (role `scanner`), a "rogue" submitter used only by
//!   [`Workload::invalid_certificate_tx`], and the `examples/checkout` policy for
//!   `(checkout, production)` with role-based signer rules (every evidence type by role
//!   `ci`, `scan_report` by role `scanner`). Admin nonces are consecutive from
//!   [`Workload::with_admin`]'s `next_nonce` (default: `admin-0`, nonce 1): commit them in
//!   order (one block is fine).
//! - [`Workload::certificate_tx`]`(i, now_ms)`: a maat-v1 certificate with 7 evidence items
//!   signed at `now_ms` (fresh for the policy's 3600 s), deployment id unique per `i`
//!   ([`Workload::deployment_id`]), submitted by submitter `i % K` with nonce `i / K + 1`.
//!   Certificates `0..n` therefore all pass in any interleaving that keeps each submitter's
//!   transactions in increasing `i`: the ledger (and a mempool) takes a submitter's nonces
//!   only in order, so when submitting to several nodes, send all transactions of one
//!   submitter ([`Workload::submitter_index`]) to the same node, in increasing `i`.
//! - [`Workload::invalid_certificate_tx`]: a well-formed transaction with a valid envelope
//!   signature (the rogue submitter, nonce 1, which never advances) whose certificate fails
//!   the maat-v1 check (the unit tests failed, so `test_passed` does not hold).
//! - Audit records: [`Workload::audit_setup_txs`] registers `A` agent identities
//!   ([`DEFAULT_AGENTS`], [`Workload::with_agents`]; admin nonces continue after
//!   [`Workload::setup_txs`]: commit it first). [`Workload::audit_record_txs`]`(range, now_ms)`
//!   / [`Workload::audit_record_tx`]`(i, now_ms)`: record `i` is a `gate_decision` with about
//!   200 bytes of data, appended by agent `i % A` ([`Workload::agent_index`]) at sequence
//!   and nonce `i / A + 1` ([`Workload::audit_sequence`]), linked to the agent's previous
//!   record `i - A`. Every record carries `timestamp_ms = now_ms`, and the links cover it:
//!   **build a whole stream with one `now_ms`** (the run's start). Records are valid in
//!   blocks timed from `now_ms` minus the chain's clock skew on, with no upper bound. Same
//!   ordering contract as certificates: send each agent's records to one node, in increasing
//!   `i`.
//!
//! Every key is Ed25519, derived from the seed; identity names carry a tag derived from the
//! seed (`wl-<tag>-...`), so workloads with different seeds can run on one chain (the policy
//! they register is the same). Building is deterministic: same seed, same bytes.

use std::ops::Range;

use maat_certificate::json::{JsonInt, Object, Value};
use maat_certificate::maat_v1::{CertificateBuilder, EvidenceItem, Policy, Request, parse_policy};
use maat_crypto::blake3_id;
use maat_crypto::sig::{Algorithm, KeyPair};
use maat_ledger::audit::{self, GENESIS_PREVIOUS_HASH, RISK_LEVELS};
use maat_proto::tx::{self, body};
use maat_proto::v1::tx_body::Kind;
use maat_proto::{Message, TxId, v1};

/// The `examples/checkout` policy (freshness 3600 s for scan reports and human attestations).
pub const POLICY_JSON: &str = r#"{"policy_id":"checkout-prod","version":1,"environment":"production","rule_set_id":"pod-v1","freshness_seconds":{"human_attestation":3600,"scan_report":3600},"predicates":[{"name":"test_passed","params":{"suite":"unit"}},{"name":"vuln_count","params":{"severity":"critical","operator":"<=","threshold":0}},{"name":"environment_matches","params":{"target":"production"}},{"name":"rollback_defined","params":{"service":"checkout"}},{"name":"or","params":{"children":[{"name":"human_attested","params":{"role":"release-manager"}},{"name":"canary_enabled","params":{"service":"checkout"}}]}}]}"#;
/// The service the policy is registered for.
pub const SERVICE: &str = "checkout";
/// The environment the policy is registered for.
pub const ENVIRONMENT: &str = "production";
/// The role of the CI evidence signer.
pub const CI_ROLE: &str = "ci";
/// The role of the scanner evidence signer.
pub const SCANNER_ROLE: &str = "scanner";
/// Default number of submitters `K`.
pub const DEFAULT_SUBMITTERS: usize = 8;
/// Default number of audit agents `A`.
pub const DEFAULT_AGENTS: usize = 8;
/// The event type of the workload's audit records.
pub const AUDIT_EVENT_TYPE: &str = "gate_decision";

/// Who may sign each evidence type: `(type, identities, roles)`.
const SIGNERS: [(&str, &[&str], &[&str]); 7] = [
    ("build_artifact", &[], &[CI_ROLE]),
    ("commit_snapshot", &[], &[CI_ROLE]),
    ("environment_descriptor", &[], &[CI_ROLE]),
    ("rollback_spec", &[], &[CI_ROLE]),
    ("rollout_spec", &[], &[CI_ROLE]),
    ("scan_report", &[], &[SCANNER_ROLE]),
    ("test_result", &[], &[CI_ROLE]),
];

/// Why a workload cannot be configured this way.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// `K` must be at least 1.
    #[error("a workload needs at least one submitter")]
    NoSubmitters,
    /// Nonces start at 1.
    #[error("the admin's next nonce must be at least 1")]
    ZeroNonce,
    /// `A` must be at least 1.
    #[error("a workload needs at least one audit agent")]
    NoAgents,
}

/// One evidence item to sign: id, type, value fields (after `deployment_id`), signer.
type Item<'a> = (&'a str, &'a str, Vec<(&'a str, Value)>, &'a Actor);

/// A named Ed25519 identity.
struct Actor {
    id: String,
    key: KeyPair,
}

/// Builds the transactions of a workload (see the module docs). `Send + Sync`: build from
/// several threads, or use [`Workload::certificate_txs`].
pub struct Workload {
    chain_id: String,
    admin: Actor,
    admin_next_nonce: u64,
    seed: [u8; 32],
    tag: String,
    submitters: Vec<Actor>,
    agents: Vec<Actor>,
    ci: Actor,
    scanner: Actor,
    rogue: Actor,
    policy: Policy,
}

fn derive_key(seed: &[u8; 32], purpose: &str, index: u64) -> KeyPair {
    let mut input = Vec::with_capacity(32 + purpose.len() + 9);
    input.extend_from_slice(seed);
    input.extend_from_slice(purpose.as_bytes());
    input.push(0);
    input.extend_from_slice(&index.to_be_bytes());
    KeyPair::from_seed(Algorithm::Ed25519, &blake3_id("workload-key", &input))
}

impl Workload {
    /// A workload for `chain_id` whose admin is `admin-0` holding `admin` (next nonce 1),
    /// with [`DEFAULT_SUBMITTERS`] submitters, every other key derived from `seed`.
    ///
    /// # Panics
    /// Never: the only fallible step parses the constant [`POLICY_JSON`] (tested).
    #[must_use]
    pub fn new(chain_id: impl Into<String>, admin: KeyPair, seed: [u8; 32]) -> Workload {
        let tag = hex::encode(&blake3_id("workload-tag", &seed)[..3]);
        let actor = |role: &str, index: u64| Actor {
            id: format!("wl-{tag}-{role}"),
            key: derive_key(&seed, role, index),
        };
        let mut w = Workload {
            chain_id: chain_id.into(),
            admin: Actor {
                id: "admin-0".into(),
                key: admin,
            },
            admin_next_nonce: 1,
            ci: actor("ci", 0),
            scanner: actor("scanner", 0),
            rogue: actor("rogue", 0),
            submitters: Vec::new(),
            agents: Vec::new(),
            seed,
            tag,
            // Invariant: POLICY_JSON is a constant that parses (unit test `policy_parses`).
            policy: parse_policy(POLICY_JSON.as_bytes()).expect("POLICY_JSON is valid"),
        };
        w.set_submitters(DEFAULT_SUBMITTERS);
        w.set_agents(DEFAULT_AGENTS);
        w
    }

    fn set_agents(&mut self, a: usize) {
        self.agents = (0..a as u64)
            .map(|j| Actor {
                id: format!("wl-{}-agent-{j}", self.tag),
                key: derive_key(&self.seed, "agent", j),
            })
            .collect();
    }

    /// Uses `a` audit agents instead of [`DEFAULT_AGENTS`] (agent `j` is the same identity
    /// for every `a > j`).
    ///
    /// # Errors
    /// [`WorkloadError::NoAgents`] for `a == 0`.
    pub fn with_agents(mut self, a: usize) -> Result<Workload, WorkloadError> {
        if a == 0 {
            return Err(WorkloadError::NoAgents);
        }
        self.set_agents(a);
        Ok(self)
    }

    /// `A`, the number of audit agents.
    #[must_use]
    pub fn agents(&self) -> usize {
        self.agents.len()
    }

    /// The agent of audit record `i`: `i % A`.
    #[must_use]
    pub fn agent_index(&self, i: u64) -> usize {
        usize::try_from(i % self.a()).unwrap_or(0)
    }

    /// The identity id of agent `j` (`None` for `j >= A`).
    #[must_use]
    pub fn agent_id(&self, j: usize) -> Option<&str> {
        self.agents.get(j).map(|a| a.id.as_str())
    }

    /// The signing key of agent `j` (`None` for `j >= A`).
    #[must_use]
    pub fn agent_key(&self, j: usize) -> Option<&KeyPair> {
        self.agents.get(j).map(|a| &a.key)
    }

    /// The sequence number, and nonce, of audit record `i`: `i / A + 1`.
    #[must_use]
    pub fn audit_sequence(&self, i: u64) -> u64 {
        i / self.a() + 1
    }

    fn a(&self) -> u64 {
        (self.agents.len() as u64).max(1)
    }

    fn set_submitters(&mut self, k: usize) {
        self.submitters = (0..k as u64)
            .map(|j| Actor {
                id: format!("wl-{}-submitter-{j}", self.tag),
                key: derive_key(&self.seed, "submitter", j),
            })
            .collect();
    }

    /// Uses `k` submitters instead of [`DEFAULT_SUBMITTERS`] (submitter `j` is the same
    /// identity for every `k > j`).
    ///
    /// # Errors
    /// [`WorkloadError::NoSubmitters`] for `k == 0`.
    pub fn with_submitters(mut self, k: usize) -> Result<Workload, WorkloadError> {
        if k == 0 {
            return Err(WorkloadError::NoSubmitters);
        }
        self.set_submitters(k);
        Ok(self)
    }

    /// The admin's identity id and the nonce of its first setup transaction.
    ///
    /// # Errors
    /// [`WorkloadError::ZeroNonce`].
    pub fn with_admin(
        mut self,
        admin_id: impl Into<String>,
        next_nonce: u64,
    ) -> Result<Workload, WorkloadError> {
        if next_nonce == 0 {
            return Err(WorkloadError::ZeroNonce);
        }
        self.admin.id = admin_id.into();
        self.admin_next_nonce = next_nonce;
        Ok(self)
    }

    /// The chain id.
    #[must_use]
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// `K`, the number of submitters.
    #[must_use]
    pub fn submitters(&self) -> usize {
        self.submitters.len()
    }

    /// The submitter of certificate `i`: `i % K`.
    #[must_use]
    pub fn submitter_index(&self, i: u64) -> usize {
        // The remainder is below K, which is a usize.
        usize::try_from(i % self.k()).unwrap_or(0)
    }

    /// The identity id of submitter `j` (`None` for `j >= K`).
    #[must_use]
    pub fn submitter_id(&self, j: usize) -> Option<&str> {
        self.submitters.get(j).map(|a| a.id.as_str())
    }

    /// The signing key of submitter `j` (`None` for `j >= K`): write it to a key file for
    /// `maat cert submit`.
    #[must_use]
    pub fn submitter_key(&self, j: usize) -> Option<&KeyPair> {
        self.submitters.get(j).map(|a| &a.key)
    }

    /// The certificate JSON that [`Self::certificate_tx`]`(i, now_ms)` carries (requested by
    /// submitter [`Self::submitter_index`]`(i)`).
    #[must_use]
    pub fn certificate_json(&self, i: u64, now_ms: u64) -> Vec<u8> {
        let submitter = &self.submitters[self.submitter_index(i)];
        self.certificate(&self.deployment_id(i), &submitter.id, now_ms, true)
    }

    /// The nonce of certificate `i`: `i / K + 1`.
    #[must_use]
    pub fn nonce(&self, i: u64) -> u64 {
        i / self.k() + 1
    }

    /// The deployment id of certificate `i` (`checkout-<tag>-<i>`).
    #[must_use]
    pub fn deployment_id(&self, i: u64) -> String {
        format!("{SERVICE}-{}-{i}", self.tag)
    }

    fn k(&self) -> u64 {
        (self.submitters.len() as u64).max(1)
    }

    fn sign(&self, signer: &Actor, nonce: u64, body: Kind) -> Vec<u8> {
        tx::sign(
            tx::payload(&self.chain_id, &signer.id, nonce, body),
            &signer.key,
        )
        .encode_to_vec()
    }

    /// The admin's setup transactions, nonces consecutive from the admin's next nonce:
    /// register the CI signer, the scanner, the rogue submitter and the `K` submitters, then
    /// the policy. `K + 4` transactions.
    #[must_use]
    pub fn setup_txs(&self) -> Vec<Vec<u8>> {
        let mut bodies = vec![
            body::register(&self.ci.id, &self.ci.key.public(), &[CI_ROLE]),
            body::register(
                &self.scanner.id,
                &self.scanner.key.public(),
                &[SCANNER_ROLE],
            ),
            body::register(&self.rogue.id, &self.rogue.key.public(), &[]),
        ];
        bodies.extend(
            self.submitters
                .iter()
                .map(|s| body::register(&s.id, &s.key.public(), &[])),
        );
        bodies.push(body::policy(
            SERVICE,
            ENVIRONMENT,
            POLICY_JSON.as_bytes().to_vec(),
            &SIGNERS,
        ));
        bodies
            .into_iter()
            .zip(self.admin_next_nonce..)
            .map(|(b, nonce)| self.sign(&self.admin, nonce, b))
            .collect()
    }

    /// The admin's transactions registering the `A` agents (no roles), with the admin nonces
    /// that follow [`Self::setup_txs`]'s (commit that first). `A` transactions.
    #[must_use]
    pub fn audit_setup_txs(&self) -> Vec<Vec<u8>> {
        let first = self
            .admin_next_nonce
            .saturating_add(self.submitters.len() as u64 + 4);
        self.agents
            .iter()
            .zip(first..)
            .map(|(a, nonce)| {
                self.sign(
                    &self.admin,
                    nonce,
                    body::register(&a.id, &a.key.public(), &[]),
                )
            })
            .collect()
    }

    /// The audit records `range` (unsigned), every timestamp `now_ms`. Builds each agent's
    /// chain from its first record (hashing only): linear in `range.end`.
    #[must_use]
    pub fn audit_records(&self, range: Range<u64>, now_ms: u64) -> Vec<v1::AuditRecordTx> {
        let mut heads = vec![GENESIS_PREVIOUS_HASH; self.agents.len()];
        let mut out = Vec::new();
        for i in 0..range.end {
            let j = self.agent_index(i);
            let Some(head) = heads.get_mut(j) else {
                break;
            };
            let rec = self.audit_record_at(i, now_ms, *head);
            // Every field is valid by construction, so the hash always exists.
            *head = audit::record_hash(&self.chain_id, &rec).unwrap_or_default();
            if i >= range.start {
                out.push(rec);
            }
        }
        out
    }

    fn audit_record_at(&self, i: u64, now_ms: u64, previous_hash: [u8; 32]) -> v1::AuditRecordTx {
        let j = self.agent_index(i);
        let agent = self.agent_id(j).unwrap_or_default();
        let mut salt_input = self.seed.to_vec();
        salt_input.extend_from_slice(&i.to_be_bytes());
        // Keys in canonical (sorted) order, ASCII values without escapes: canonical JSON.
        let data = format!(
            concat!(
                r#"{{"decision":"{}","gate":"deploy-gate","intent":"deploy {} to {}","#,
                r#""policy":"checkout-prod","reason":"policy satisfied; evidence complete; "#,
                r#"no critical findings","request":"req-{}-{}"}}"#
            ),
            if i % 5 == 4 { "escalate" } else { "allow" },
            SERVICE,
            ENVIRONMENT,
            self.tag,
            i
        );
        v1::AuditRecordTx {
            agent_id: agent.to_owned(),
            session_id: format!("wl-{}-session-{j}", self.tag),
            event_type: AUDIT_EVENT_TYPE.into(),
            risk: RISK_LEVELS[usize::try_from(i % 4).unwrap_or(0)].into(),
            timestamp_ms: now_ms.max(1),
            sequence: self.audit_sequence(i),
            previous_hash: previous_hash.to_vec(),
            data_json: data.into_bytes(),
            salt: blake3_id("workload-audit-salt", &salt_input).to_vec(),
        }
    }

    fn sign_audit(&self, i: u64, rec: v1::AuditRecordTx) -> Vec<u8> {
        let agent = &self.agents[self.agent_index(i)];
        self.sign(agent, self.audit_sequence(i), body::audit_record(rec))
    }

    /// Audit record transaction `i` (see the module docs: one `now_ms` per stream). Costs a
    /// hash per earlier record of the same agent; prefer [`Self::audit_record_txs`] for a
    /// stream.
    #[must_use]
    pub fn audit_record_tx(&self, i: u64, now_ms: u64) -> Vec<u8> {
        let rec = self
            .audit_records(i..i.saturating_add(1), now_ms)
            .pop()
            .unwrap_or_default();
        self.sign_audit(i, rec)
    }

    /// Audit record transactions for every `i` in `range`, in order (chains hashed on one
    /// core, signed on all cores).
    #[must_use]
    pub fn audit_record_txs(&self, range: Range<u64>, now_ms: u64) -> Vec<Vec<u8>> {
        let recs = self.audit_records(range.clone(), now_ms);
        let start = range.start;
        par_build(range, |i| {
            let k = usize::try_from(i - start).unwrap_or(usize::MAX);
            self.sign_audit(i, recs.get(k).cloned().unwrap_or_default())
        })
    }

    /// Certificate transaction `i`, evidence signed at `now_ms` (ms since the UNIX epoch):
    /// valid in blocks timed from `now_ms` (minus the chain's clock skew) to `now_ms` + 1 h.
    #[must_use]
    pub fn certificate_tx(&self, i: u64, now_ms: u64) -> Vec<u8> {
        let submitter = &self.submitters[self.submitter_index(i)];
        let cert = self.certificate(&self.deployment_id(i), &submitter.id, now_ms, true);
        self.sign(submitter, self.nonce(i), body::certificate(cert))
    }

    /// Certificate transactions for every `i` in `range`, in order, built on all cores.
    #[must_use]
    pub fn certificate_txs(&self, range: Range<u64>, now_ms: u64) -> Vec<Vec<u8>> {
        par_build(range, |i| self.certificate_tx(i, now_ms))
    }

    /// A transaction with a valid envelope (the rogue submitter, nonce 1) whose certificate
    /// fails the maat-v1 check: its test result says the unit tests failed, so the policy's
    /// `test_passed` predicate does not hold. The ledger rejects it with
    /// `CERTIFICATE_REJECTED`; a block containing it is invalid.
    #[must_use]
    pub fn invalid_certificate_tx(&self, now_ms: u64) -> Vec<u8> {
        let d = format!("{SERVICE}-{}-invalid-{now_ms}", self.tag);
        let cert = self.certificate(&d, &self.rogue.id, now_ms, false);
        self.sign(&self.rogue, 1, body::certificate(cert))
    }

    fn certificate(&self, d: &str, requested_by: &str, now_ms: u64, passed: bool) -> Vec<u8> {
        let s = |v: &str| Value::String(v.to_owned());
        let request = Request {
            deployment_id: d.to_owned(),
            service: SERVICE.into(),
            environment: ENVIRONMENT.into(),
            commit_sha: "abc123".into(),
            artifact_hash: "sha256:artifact".into(),
            requested_by: requested_by.to_owned(),
        };
        #[allow(clippy::cast_precision_loss)] // ms since 1970 fit a double exactly until 2255
        let t = now_ms as f64 / 1000.0;
        let mut b = CertificateBuilder::new(request, self.policy.clone());
        let mut vulns = Object::new();
        vulns.insert("critical", Value::Int(JsonInt::from_i64(0)));
        vulns.insert("high", Value::Int(JsonInt::from_i64(1)));
        let items: [Item<'_>; 7] = [
            (
                "commit",
                "commit_snapshot",
                vec![("commit_sha", s("abc123"))],
                &self.ci,
            ),
            (
                "artifact",
                "build_artifact",
                vec![("artifact_hash", s("sha256:artifact"))],
                &self.ci,
            ),
            (
                "env",
                "environment_descriptor",
                vec![("environment", s(ENVIRONMENT))],
                &self.ci,
            ),
            (
                "test",
                "test_result",
                vec![("suite", s("unit")), ("passed", Value::Bool(passed))],
                &self.ci,
            ),
            (
                "scan",
                "scan_report",
                vec![("vulnerabilities", Value::Object(vulns))],
                &self.scanner,
            ),
            (
                "rollback",
                "rollback_spec",
                vec![
                    ("service", s(SERVICE)),
                    ("rollback_plan", s("restore previous image")),
                ],
                &self.ci,
            ),
            (
                "canary",
                "rollout_spec",
                vec![
                    ("service", s(SERVICE)),
                    ("canary_enabled", Value::Bool(true)),
                ],
                &self.ci,
            ),
        ];
        for (id, ty, fields, signer) in items {
            let mut value = Object::new();
            value.insert("deployment_id", s(d));
            for (k, v) in fields {
                value.insert(k, v);
            }
            // Invariant: the ids above are distinct and `t` is finite, the only two errors.
            b.add_evidence(
                EvidenceItem::new(id, ty, value, "maat-workload", t),
                &signer.id,
                &signer.key,
            )
            .expect("distinct evidence ids and a finite timestamp");
        }
        b.build()
    }
}

/// `build(i)` for every `i` in `range`, in order, on all cores.
fn par_build<F>(range: Range<u64>, build: F) -> Vec<Vec<u8>>
where
    F: Fn(u64) -> Vec<u8> + Sync,
{
    let build = &build;
    let n = usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(usize::MAX);
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(n.div_ceil(16))
        .max(1);
    if threads == 1 {
        return range.map(build).collect();
    }
    let chunk = (n.div_ceil(threads)) as u64;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                let start = range
                    .start
                    .saturating_add(t.saturating_mul(chunk))
                    .min(range.end);
                let end = start.saturating_add(chunk).min(range.end);
                s.spawn(move || (start..end).map(build).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// The id of a transaction given its bytes (`None` if they do not decode to a transaction
/// with a payload). Does not check canonical encoding or the signature.
#[must_use]
pub fn tx_id(tx_bytes: &[u8]) -> Option<TxId> {
    let tx = v1::Transaction::decode(tx_bytes).ok()?;
    Some(tx::tx_id(tx.payload.as_ref()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_parses() {
        assert!(parse_policy(POLICY_JSON.as_bytes()).is_ok());
    }

    #[test]
    fn submitter_and_nonce_schedule() {
        let w = Workload::new(
            "c",
            KeyPair::from_seed(Algorithm::Ed25519, &[1; 32]),
            [2; 32],
        )
        .with_submitters(3)
        .expect("k");
        let got: Vec<(usize, u64)> = (0..7).map(|i| (w.submitter_index(i), w.nonce(i))).collect();
        assert_eq!(
            got,
            [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2), (0, 3)]
        );
        assert!(w.submitter_id(2).is_some() && w.submitter_id(3).is_none());
        assert_eq!(
            w.certificate_txs(0..3, 1_000_000),
            (0..3)
                .map(|i| w.certificate_tx(i, 1_000_000))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn bad_configuration_is_an_error() {
        let w = || {
            Workload::new(
                "c",
                KeyPair::from_seed(Algorithm::Ed25519, &[1; 32]),
                [2; 32],
            )
        };
        assert_eq!(
            w().with_submitters(0).err(),
            Some(WorkloadError::NoSubmitters)
        );
        assert_eq!(w().with_admin("a", 0).err(), Some(WorkloadError::ZeroNonce));
    }
}
