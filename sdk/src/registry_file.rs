//! An offline registry file: the identities and registered policies that validators read from
//! the chain, written down so `maat cert check --rule-set maat-v1` can run without a node.
//!
//! ```toml
//! finalized_deployments = ["deploy-001"]   # optional: ids already finalized (replay check)
//!
//! [[identity]]
//! id = "ci-bot"
//! roles = ["ci"]                           # optional
//! key_file = "keys/ci.json"                # a maat key file (only its public key is read), or
//! # public_key = "ed25519:<base64>"        # the key in text form
//! # rotated_out_keys = ["ed25519:<base64>"] # keys that no longer count
//! # revoked = true                         # a revoked identity's signatures never count
//!
//! [[policy]]
//! service = "checkout"
//! environment = "production"
//! file = "policy.json"                     # the registered policy (its policy_root is compared)
//! [policy.signers]                         # evidence type -> identity ids or "role:<role>"
//! test_result = ["ci-bot"]
//! scan_report = ["role:scanner"]
//!
//! [[attestation]]                          # a finalized attestation `attestation_ref` cites
//! log_index = 7                            # (`maat_getAttestation` on a node shows these)
//! predicate_type = "https://slsa.dev/provenance/v1"
//! subjects = ["sha256:<hex>"]
//! signers = ["builder"]                    # optional
//! ```
//! Relative paths are resolved against the registry file's folder; unknown keys are errors.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use maat_certificate::maat_v1::{AttestationEntry, IdentityRecord, InMemoryRegistry, SignerRule};
use maat_crypto::keyfile::load_public_key;
use maat_crypto::sig::PublicKey;
use serde::Deserialize;

/// Why a registry file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("identity `{id}`: {reason}")]
    Identity { id: String, reason: String },
    #[error("policy for ({service}, {environment}): {reason}")]
    Policy {
        service: String,
        environment: String,
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    #[serde(default)]
    finalized_deployments: Vec<String>,
    #[serde(default)]
    identity: Vec<RawIdentity>,
    #[serde(default)]
    policy: Vec<RawPolicy>,
    #[serde(default)]
    attestation: Vec<RawAttestation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttestation {
    log_index: u64,
    predicate_type: String,
    subjects: Vec<String>,
    #[serde(default)]
    signers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    id: String,
    #[serde(default)]
    roles: Vec<String>,
    key_file: Option<PathBuf>,
    public_key: Option<String>,
    #[serde(default)]
    rotated_out_keys: Vec<String>,
    #[serde(default)]
    revoked: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    service: String,
    environment: String,
    file: PathBuf,
    #[serde(default)]
    signers: HashMap<String, Vec<String>>,
}

/// Loads a registry file into an [`InMemoryRegistry`].
pub fn load_registry(path: &Path) -> Result<InMemoryRegistry, RegistryFileError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| RegistryFileError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let raw: RawRegistry = toml::from_str(&text).map_err(|source| RegistryFileError::Toml {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));

    let mut reg = InMemoryRegistry::new();
    for ident in raw.identity {
        let id = ident.id.clone();
        let bad = |reason: String| RegistryFileError::Identity {
            id: id.clone(),
            reason,
        };
        let key = match (&ident.key_file, &ident.public_key) {
            (Some(f), None) => {
                load_public_key(base.join(f))
                    .map_err(|e| bad(e.to_string()))?
                    .public_key
            }
            (None, Some(t)) => PublicKey::from_text(t).map_err(|e| bad(e.to_string()))?,
            _ => return Err(bad("give exactly one of key_file or public_key".into())),
        };
        let rotated_out_keys = ident
            .rotated_out_keys
            .iter()
            .map(|t| PublicKey::from_text(t).map_err(|e| bad(format!("rotated_out_keys: {e}"))))
            .collect::<Result<_, _>>()?;
        reg.add_identity_record(IdentityRecord {
            id: ident.id,
            active_keys: vec![key],
            rotated_out_keys,
            revoked: ident.revoked,
            roles: ident.roles.into_iter().collect(),
        });
    }
    for pol in raw.policy {
        let bad = |reason: String| RegistryFileError::Policy {
            service: pol.service.clone(),
            environment: pol.environment.clone(),
            reason,
        };
        let file = base.join(&pol.file);
        let policy_json = read(&file)?;
        let signers = pol
            .signers
            .iter()
            .map(|(evidence_type, names)| (evidence_type.clone(), signer_rule(names)))
            .collect();
        reg.add_policy_json(&pol.service, &pol.environment, &policy_json, signers)
            .map_err(|e| bad(format!("{}: {e}", file.display())))?;
    }
    for a in raw.attestation {
        reg.add_attestation(AttestationEntry {
            log_index: a.log_index,
            predicate_type: a.predicate_type,
            subjects: a.subjects,
            signers: a.signers,
        });
    }
    for d in raw.finalized_deployments {
        reg.finalize_deployment(&d);
    }
    Ok(reg)
}

/// `["ci-bot", "role:scanner"]` -> identities {ci-bot}, roles {scanner}.
fn signer_rule(names: &[String]) -> SignerRule {
    let mut identities = BTreeSet::new();
    let mut roles = BTreeSet::new();
    for n in names {
        match n.strip_prefix("role:") {
            Some(r) => roles.insert(r.to_string()),
            None => identities.insert(n.clone()),
        };
    }
    SignerRule { identities, roles }
}
