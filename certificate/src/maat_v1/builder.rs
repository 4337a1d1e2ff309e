//! Building `maat-v1` certificates: hash and sign evidence, derive the standard covering
//! proof, emit canonical JSON. Used by tests, benches and `maat cert build`.

use std::collections::HashSet;

use maat_crypto::sig::KeyPair;

use crate::json::Object;

use super::canon::{self, EVIDENCE_SIGNATURE_DOMAIN};
use super::logic::{self, LeafIndex, ObjectFacts, SupportEnv};
use super::model::{Certificate, EvidenceObject, Policy, Proof, ProofStep, Request};
use super::parse::{ParseError, parse_policy};

/// Why a certificate could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The policy JSON does not parse strictly.
    #[error("policy: {0}")]
    Policy(#[from] ParseError),
    /// An evidence timestamp is NaN or infinite.
    #[error("evidence `{0}`: the timestamp is not finite")]
    TimestampNotFinite(String),
    /// Two evidence objects with one id.
    #[error("evidence id `{0}` is used twice")]
    DuplicateEvidenceId(String),
}

/// One fact to sign: the evidence payload without `signer`, `hash` and `signature`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceItem {
    pub evidence_id: String,
    pub evidence_type: String,
    pub value: Object,
    pub source: String,
    /// POSIX seconds.
    pub timestamp: f64,
    pub dependencies: Vec<String>,
}

impl EvidenceItem {
    /// An item without dependencies.
    pub fn new(
        evidence_id: impl Into<String>,
        evidence_type: impl Into<String>,
        value: Object,
        source: impl Into<String>,
        timestamp: f64,
    ) -> Self {
        EvidenceItem {
            evidence_id: evidence_id.into(),
            evidence_type: evidence_type.into(),
            value,
            source: source.into(),
            timestamp,
            dependencies: Vec::new(),
        }
    }

    /// Sets the dependencies (evidence ids).
    pub fn depends_on<I, S>(mut self, deps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dependencies = deps.into_iter().map(Into::into).collect();
        self
    }
}

/// Hashes `item` with `signer` in the payload and signs `"maat/evidence/v1\n" || hash` with
/// `key` (which must be an active key of the identity `signer`).
///
/// # Errors
/// [`BuildError::TimestampNotFinite`].
pub fn sign_evidence(
    item: EvidenceItem,
    signer: &str,
    key: &KeyPair,
) -> Result<EvidenceObject, BuildError> {
    if !item.timestamp.is_finite() {
        return Err(BuildError::TimestampNotFinite(item.evidence_id));
    }
    let mut dependencies = item.dependencies;
    dependencies.sort_unstable();
    let mut obj = EvidenceObject {
        evidence_id: item.evidence_id,
        evidence_type: item.evidence_type,
        value: item.value,
        source: item.source,
        timestamp: item.timestamp,
        dependencies,
        signer: signer.to_owned(),
        hash: String::new(),
        signature: String::new(),
    };
    obj.hash = canon::evidence_hash(&obj);
    obj.signature = key
        .sign(EVIDENCE_SIGNATURE_DOMAIN, obj.hash.as_bytes())
        .to_text();
    Ok(obj)
}

/// The standard derivation for `policy` over `evidence`: one step per leaf of a minimal
/// witness that the policy holds (every child of an `and`, the first true child of an `or`,
/// through `not` the leaves needed false are not stepped), each citing the first supporting
/// object in `evidence_id` order; then `POLICY_SATISFIED` citing those steps and
/// `DEPLOY_AUTH` citing it. Step ids are the leaf labels, `policy` and `deploy`.
///
/// Signatures and the registry are not consulted (every object is taken as authenticated,
/// every signer as holding the roles it claims, every `attestation_ref` as citing a finalized
/// attestation that matches it); the checker decides. If the policy does not
/// hold, steps are still emitted for the leaves it would need, so checking reports what is
/// missing.
pub fn standard_proof(request: &Request, policy: &Policy, evidence: &[EvidenceObject]) -> Proof {
    let mut findings = Vec::new();
    let model = logic::well_formed(policy, &mut findings);
    let env = SupportEnv {
        request,
        policy_environment: &policy.environment,
    };
    let facts: Vec<ObjectFacts<'_>> = evidence
        .iter()
        .map(|o| ObjectFacts::of(o, &env, &|_| true))
        .collect();
    let index = LeafIndex::build(&facts, &|_| true);
    let truth: Vec<bool> = model.leaves.iter().map(|l| index.truth(l, &env)).collect();
    let mut needed = Vec::new();
    for root in &model.roots {
        logic::witness(root, true, &truth, &mut needed);
    }
    let order = canon::sorted_order(evidence);
    let mut steps = Vec::new();
    let mut seen = HashSet::new();
    for l in needed {
        let Some(leaf) = model.leaves.get(l) else {
            continue;
        };
        if !seen.insert(l) {
            continue;
        }
        let objs = || {
            order
                .iter()
                .filter_map(|&i| Some((evidence.get(i)?, facts.get(i)?)))
        };
        let cite = objs()
            .find(|(_, f)| f.supports(leaf, &env))
            .or_else(|| objs().find(|(o, _)| o.evidence_type == leaf.evidence_type()))
            .map(|(o, _)| o);
        let label = leaf.label();
        steps.push(ProofStep {
            step_id: label.clone(),
            rule: leaf.rule().to_owned(),
            conclusion: label,
            evidence_refs: cite
                .map(|o| vec![o.evidence_id.clone()])
                .unwrap_or_default(),
            premises: Vec::new(),
        });
    }
    if steps.is_empty() {
        // A policy needing no true leaf still needs a premise for POLICY_SATISFIED.
        let mut refs: Vec<String> = evidence.iter().map(|o| o.evidence_id.clone()).collect();
        refs.sort_unstable();
        steps.push(ProofStep {
            step_id: "signatures".into(),
            rule: "SIGNATURE_VALID".into(),
            conclusion: "signatures_valid".into(),
            evidence_refs: refs,
            premises: Vec::new(),
        });
    }
    let premises = steps.iter().map(|s| s.step_id.clone()).collect();
    steps.push(ProofStep {
        step_id: "policy".into(),
        rule: "POLICY_SATISFIED".into(),
        conclusion: "policy_satisfied".into(),
        evidence_refs: Vec::new(),
        premises,
    });
    let fin = format!("deploy_authorized:{}", request.deployment_id);
    steps.push(ProofStep {
        step_id: "deploy".into(),
        rule: "DEPLOY_AUTH".into(),
        conclusion: fin.clone(),
        evidence_refs: Vec::new(),
        premises: vec!["policy".into()],
    });
    Proof {
        steps,
        final_conclusion: fin,
    }
}

/// Assembles a certificate: request, policy, signed evidence, and a proof (the
/// [`standard_proof`] unless one is set).
#[derive(Clone, Debug)]
pub struct CertificateBuilder {
    request: Request,
    policy: Policy,
    evidence: Vec<EvidenceObject>,
    proof: Option<Proof>,
}

impl CertificateBuilder {
    /// A builder for `request` under `policy`.
    pub fn new(request: Request, policy: Policy) -> Self {
        CertificateBuilder {
            request,
            policy,
            evidence: Vec::new(),
            proof: None,
        }
    }

    /// A builder whose policy is given as JSON (parsed strictly).
    ///
    /// # Errors
    /// [`BuildError::Policy`].
    pub fn from_policy_json(request: Request, policy_json: &[u8]) -> Result<Self, BuildError> {
        Ok(Self::new(request, parse_policy(policy_json)?))
    }

    /// Signs `item` as `signer` with `key` and adds it.
    ///
    /// # Errors
    /// [`BuildError::TimestampNotFinite`], [`BuildError::DuplicateEvidenceId`].
    pub fn add_evidence(
        &mut self,
        item: EvidenceItem,
        signer: &str,
        key: &KeyPair,
    ) -> Result<&mut Self, BuildError> {
        if self
            .evidence
            .iter()
            .any(|o| o.evidence_id == item.evidence_id)
        {
            return Err(BuildError::DuplicateEvidenceId(item.evidence_id));
        }
        let obj = sign_evidence(item, signer, key)?;
        self.evidence.push(obj);
        Ok(self)
    }

    /// Adds an already signed object as is.
    pub fn add_signed(&mut self, obj: EvidenceObject) -> &mut Self {
        self.evidence.push(obj);
        self
    }

    /// Uses `proof` instead of the standard derivation.
    pub fn proof(&mut self, proof: Proof) -> &mut Self {
        self.proof = Some(proof);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The certificate.
    pub fn certificate(&self) -> Certificate {
        let proof = match &self.proof {
            Some(p) => p.clone(),
            None => standard_proof(&self.request, &self.policy, &self.evidence),
        };
        Certificate {
            request: self.request.clone(),
            policy: self.policy.clone(),
            evidence: self.evidence.clone(),
            proof,
            attestations: 0,
        }
    }

    /// The certificate as canonical JSON bytes (what `maat cert build` prints).
    pub fn build(&self) -> Vec<u8> {
        self.certificate().to_canonical_bytes()
    }
}
