//! The `deploy.toml` certificate description read by `maat cert build`.
//!
//! ```toml
//! policy_file = "policy.json"      # or an inline [policy] table
//! [request]                        # the six DeploymentRequest fields, all strings
//! deployment_id = "deploy-123"
//! service = "checkout"
//! environment = "production"
//! commit_sha = "abc123"
//! artifact_hash = "sha256:artifact"
//! requested_by = "agent:planner"
//! [[evidence]]
//! id = "test"
//! type = "test_result"
//! source = "pytest"
//! value = { suite = "unit", passed = true }   # or value_file = "test.json"
//! dependencies = ["artifact"]                 # optional
//! timestamp = 1700000100.0                    # optional, POSIX seconds; default: build time
//! key = "keys/ci.json"                        # optional; default: the --key file
//! ```
//! The proof is the covering derivation `maat_v1::standard_proof` builds from the policy.
//! Relative paths are resolved against the spec file's folder. Unknown keys are errors, so a
//! typo never silently drops evidence.

use std::path::{Path, PathBuf};

use maat_certificate::json::{self, ParseMode, Value};
use serde::Deserialize;

use crate::tomljson::{TomlJsonError, to_json};

/// Why a spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
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
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: json::JsonError,
    },
    #[error("{0}")]
    Value(#[from] TomlJsonError),
    #[error("{0}")]
    Invalid(String),
}

/// The six request fields, in the reference's order.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    pub deployment_id: String,
    pub service: String,
    pub environment: String,
    pub commit_sha: String,
    pub artifact_hash: String,
    pub requested_by: String,
}

/// One evidence object to sign.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceSpec {
    pub id: String,
    pub evidence_type: String,
    pub source: String,
    pub value: Value,
    pub dependencies: Vec<String>,
    /// POSIX seconds; `None` means "the build time".
    pub timestamp: Option<f64>,
    /// Key file that signs this item; `None` means the `--key` given on the command line.
    pub key: Option<PathBuf>,
}

/// A loaded `deploy.toml`: everything but the signatures.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploySpec {
    pub request: RequestSpec,
    pub policy: Value,
    pub evidence: Vec<EvidenceSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    policy_file: Option<PathBuf>,
    policy: Option<toml::Value>,
    request: RequestSpec,
    #[serde(default)]
    evidence: Vec<RawEvidence>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    id: String,
    #[serde(rename = "type")]
    evidence_type: String,
    source: String,
    value: Option<toml::Value>,
    value_file: Option<PathBuf>,
    #[serde(default)]
    dependencies: Vec<String>,
    timestamp: Option<toml::Value>,
    key: Option<PathBuf>,
}

fn read(path: &Path) -> Result<Vec<u8>, SpecError> {
    std::fs::read(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a JSON file keeping the int/float distinction the hashes depend on.
fn read_json(path: &Path) -> Result<Value, SpecError> {
    json::parse(&read(path)?, ParseMode::Strict).map_err(|source| SpecError::Json {
        path: path.to_path_buf(),
        source,
    })
}

impl DeploySpec {
    /// Loads a spec file and the JSON files it names.
    pub fn load(path: &Path) -> Result<DeploySpec, SpecError> {
        let text = String::from_utf8(read(path)?)
            .map_err(|_| SpecError::Invalid(format!("{}: not UTF-8", path.display())))?;
        let raw: RawSpec = toml::from_str(&text).map_err(|source| SpecError::Toml {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_raw(raw, base)
    }

    fn from_raw(raw: RawSpec, base: &Path) -> Result<DeploySpec, SpecError> {
        let policy = match (raw.policy_file, raw.policy) {
            (Some(f), None) => read_json(&base.join(f))?,
            (None, Some(t)) => to_json(&t, "policy")?,
            (Some(_), Some(_)) => {
                return Err(SpecError::Invalid(
                    "give either policy_file or [policy], not both".into(),
                ));
            }
            (None, None) => {
                return Err(SpecError::Invalid("missing policy_file or [policy]".into()));
            }
        };
        let mut evidence = Vec::with_capacity(raw.evidence.len());
        for (i, e) in raw.evidence.into_iter().enumerate() {
            let at = format!("evidence[{i}] ({})", e.id);
            let value = match (e.value, e.value_file) {
                (Some(v), None) => to_json(&v, &format!("{at}.value"))?,
                (None, Some(f)) => read_json(&base.join(f))?,
                (None, None) => Value::Object(Default::default()),
                (Some(_), Some(_)) => {
                    return Err(SpecError::Invalid(format!(
                        "{at}: give value or value_file, not both"
                    )));
                }
            };
            let timestamp = match e.timestamp {
                None => None,
                Some(toml::Value::Integer(s)) => Some(s as f64),
                Some(toml::Value::Float(s)) if s.is_finite() => Some(s),
                Some(_) => {
                    return Err(SpecError::Invalid(format!(
                        "{at}: timestamp must be a number of seconds"
                    )));
                }
            };
            evidence.push(EvidenceSpec {
                id: e.id,
                evidence_type: e.evidence_type,
                source: e.source,
                value,
                dependencies: e.dependencies,
                timestamp,
                key: e.key.map(|k| base.join(k)),
            });
        }
        if evidence.is_empty() {
            return Err(SpecError::Invalid("no [[evidence]] items".into()));
        }
        Ok(DeploySpec {
            request: raw.request,
            policy,
            evidence,
        })
    }
}
