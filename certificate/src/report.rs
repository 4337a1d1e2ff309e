//! The acceptance report shared by both rule sets (CERTIFICATE.md section 4).

use std::fmt;

/// Which check produced a failure. The strings are the wire names of the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// The certificate could not be parsed at all (`CERTIFICATE_JSON_MALFORMED`, ...).
    Parse,
    /// Fields of the certificate that belong to no single check (request shape, size limits).
    Certificate,
    WfPolicy,
    AuthEvidence,
    CheckR,
    Quorum,
    Ledger,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Parse => "Parse",
            Component::Certificate => "Certificate",
            Component::WfPolicy => "WF(P)",
            Component::AuthEvidence => "Auth(E)",
            Component::CheckR => "CheckR",
            Component::Quorum => "Quorum(A)",
            Component::Ledger => "Ledger",
        }
    }

    pub fn from_wire(s: &str) -> Option<Component> {
        Some(match s {
            "Parse" => Component::Parse,
            "Certificate" => Component::Certificate,
            "WF(P)" => Component::WfPolicy,
            "Auth(E)" => Component::AuthEvidence,
            "CheckR" => Component::CheckR,
            "Quorum(A)" => Component::Quorum,
            "Ledger" => Component::Ledger,
            _ => return None,
        })
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failure: the component, the stable code (with its `:<param>` suffixes) and a message.
/// `message` is empty under `maatproof-v1` (wire compatibility); see [`crate::codes::explain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub component: Component,
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(component: Component, code: impl Into<String>) -> Self {
        Failure {
            component,
            code: code.into(),
            message: String::new(),
        }
    }
}

/// The report of one check, in the reference's field set.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Report {
    pub accepted: bool,
    pub wf_policy: bool,
    pub auth_evidence: bool,
    pub check_proof: bool,
    pub quorum: bool,
    pub failures: Vec<Failure>,
    /// Lowercase hex SHA-256 digests; empty when the certificate could not be parsed.
    pub certificate_digest: String,
    pub policy_root: String,
    pub evidence_root: String,
    pub proof_root: String,
}

impl Report {
    /// The codes only, in emission order.
    pub fn codes(&self) -> Vec<&str> {
        self.failures.iter().map(|f| f.code.as_str()).collect()
    }
}
