//! The agent-session attestation flow behind `maat attest` (`docs/ATTESTATIONS.md`):
//!
//! 1. [`IntentChain`]: the agent's local JSONL log of request hashes (`maat attest intent`).
//!    The request text is hashed and never stored.
//! 2. [`manifest`]: SHA-256 of every regular file of an output directory, sorted by relative
//!    path.
//! 3. [`build_statement`]: an in-toto Statement v1 whose subjects are the manifest and whose
//!    predicate is Maat's agent-session predicate ([`PREDICATE_AGENT_SESSION_V1`]);
//!    [`sign_statement`] wraps it in a DSSE envelope.
//! 4. [`attest_and_wait`] (or [`submit_envelope_and_wait`] for an envelope signed earlier):
//!    submits the envelope as an Attestation transaction, waits for finality and a cosigned
//!    checkpoint covering it, and returns an [`AttestReceipt`]. Without a node,
//!    [`OfflineBundle`] holds the signed envelope and the signer's public key.
//! 5. [`verify_receipt`] / [`verify_offline_bundle`]: offline, with only the genesis file (or
//!    a trusted public key) and the artifact directory.
//!
//! ```no_run
//! # fn main() -> Result<(), maat_sdk::attest::AttestError> {
//! use maat_sdk::attest::{AttestReceipt, verify_receipt};
//! use maat_sdk::proof::Genesis;
//! let genesis = Genesis::load("genesis.json").expect("genesis");
//! let receipt = AttestReceipt::load("attest-receipt.json")?;
//! let report = verify_receipt(&receipt, &genesis, "out".as_ref())?;
//! println!("{} artifacts, log index {}", report.statement.artifacts, report.log_index);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use maat_crypto::Hash32;
use maat_crypto::checkpoint::VerifiedCheckpoint;
use maat_crypto::keyfile::LoadedKey;
use maat_crypto::merkle::{leaf_hash, verify_inclusion};
use maat_crypto::sig::{KeyPair, PublicKey};
use maat_ledger::Genesis;
use maat_ledger::attestation::{
    self, AgentSessionPredicate, AttestationError, Envelope, MAX_SUBJECT_NAME_LEN, MAX_SUBJECTS,
    PAYLOAD_TYPE_IN_TOTO, PREDICATE_AGENT_SESSION_V1, Statement, Subject,
};
use maat_ledger::finality::{FinalityError, FinalityProof, verify_checkpoint};
use maat_ledger::genesis::{format_rfc3339_ms, parse_rfc3339_ms};
use maat_proto::v1;
use maat_rpc::RejectionData;
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError};

/// `format` of a receipt ([`AttestReceipt`]).
pub const RECEIPT_FORMAT: &str = "maat-attest-receipt/v1";
/// `format` of an offline bundle ([`OfflineBundle`]).
pub const BUNDLE_FORMAT: &str = "maat-attest-bundle/v1";
/// Where `maat attest` keeps the intent chain unless told otherwise.
pub const DEFAULT_INTENT_CHAIN: &str = ".maat/intents.jsonl";
/// The digest algorithm of every manifest entry and subject.
pub const DIGEST_ALGORITHM: &str = "sha256";

/// Why an attestation step failed. [`AttestError::kind`] is a stable name per variant;
/// [`AttestError::is_verification_failure`] separates "the evidence does not verify" from
/// "the command could not run".
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of the intent chain file does not verify (the file is left untouched).
    #[error("intent chain {}: line {line}: {reason}", path.display())]
    IntentChain {
        /// The chain file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The artifact directory cannot be attested as it is (empty, symbolic link, name not
    /// UTF-8, too many files).
    #[error("artifacts {}: {reason}", dir.display())]
    Manifest {
        /// The artifact directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An argument is unusable (key without an id, time in the wrong form, ...).
    #[error("{0}")]
    Input(String),
    /// The envelope or the Statement breaks the profile the chain enforces.
    #[error("{} ({})", .0, .0.code())]
    Attestation(#[from] AttestationError),
    /// The files on disk are not exactly the attested subjects.
    #[error("the artifacts do not match the attestation: {0}")]
    ArtifactMismatch(ArtifactDiff),
    /// A receipt or bundle is not of the expected form.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// `receipt` or `bundle`.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No DSSE signature verifies under the key.
    #[error("signature: {0}")]
    Signature(String),
    /// The receipt is for another chain than the genesis file's.
    #[error("the receipt is for chain {found}, the genesis file is for {expected}")]
    WrongChain {
        /// The genesis file's chain id and hash.
        expected: String,
        /// The receipt's.
        found: String,
    },
    /// The finality proof does not verify against the genesis file.
    #[error("finality proof: {0}")]
    Finality(#[from] FinalityError),
    /// The checkpoint is not final under the genesis validators, does not cover the entry, or
    /// the inclusion path does not lead to its root.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The parts of a receipt disagree (the transaction is not the proof's, its body is not
    /// the envelope, the manifest is not the subjects).
    #[error("inconsistent receipt: {0}")]
    Inconsistent(String),
    /// The Statement's claims contradict themselves (artifact count, agent not a signer).
    #[error("statement: {0}")]
    Claims(String),
    /// The node refused or failed (a rejection carries its stable code: [`AttestError::rejection`]).
    #[error("node: {0}")]
    Node(#[from] ClientError),
    /// The node did not produce what was waited for in time.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl AttestError {
    /// A stable name per kind of failure (`--json` prints it; scripts match on it).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            AttestError::Io { .. } => "io",
            AttestError::IntentChain { .. } => "intent_chain",
            AttestError::Manifest { .. } => "manifest",
            AttestError::Input(_) => "input",
            AttestError::Attestation(_) => "statement_invalid",
            AttestError::ArtifactMismatch(_) => "artifact_mismatch",
            AttestError::Malformed { .. } => "malformed",
            AttestError::Signature(_) => "signature_invalid",
            AttestError::WrongChain { .. } => "wrong_chain",
            AttestError::Finality(_) => "finality_proof_invalid",
            AttestError::Checkpoint(_) => "checkpoint_invalid",
            AttestError::Inconsistent(_) => "receipt_inconsistent",
            AttestError::Claims(_) => "claims_inconsistent",
            AttestError::Node(e) if e.rejection().is_some() => "rejected",
            AttestError::Node(_) => "node",
            AttestError::Timeout(_) => "timeout",
        }
    }

    /// True when the evidence was read and does not verify (exit 1), false when the check
    /// could not run (a file could not be read, a bad argument: exit 2).
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        !matches!(
            self,
            AttestError::Io { .. }
                | AttestError::Input(_)
                | AttestError::Node(_)
                | AttestError::Timeout(_)
                | AttestError::IntentChain { .. }
        )
    }

    /// The chain's rejection, when the node refused the transaction.
    #[must_use]
    pub fn rejection(&self) -> Option<&RejectionData> {
        match self {
            AttestError::Node(e) => e.rejection(),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AttestError + '_ {
    move |source| AttestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn manifest_err(dir: &Path, reason: impl Into<String>) -> AttestError {
    AttestError::Manifest {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// Milliseconds since the UNIX epoch, now.
///
/// # Errors
/// [`AttestError::Input`] if the clock is before 1970.
pub fn now_ms() -> Result<u64, AttestError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| AttestError::Input("the system clock is before 1970".into()))?;
    u64::try_from(since.as_millis())
        .map_err(|_| AttestError::Input("the system clock is out of range".into()))
}

// ---------------------------------------------------------------------------------------------
// Intent chain

/// One line of the intent chain file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// SHA-256 of the raw request bytes, 64 lowercase hex.
    pub request_sha256: String,
    /// The previous line's `entry` (64 zeros on the first line).
    pub prev: String,
    /// `SHA-256(prev || request_sha256)` over the raw 32-byte values, 64 lowercase hex: the
    /// chain's head after this request.
    pub entry: String,
    /// When it was appended, RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SS[.sss]Z`).
    pub time: String,
}

/// The head after `request_sha256` given the previous head: `SHA-256(prev || request_sha256)`,
/// the step of [`attestation::intent_chain_head`], so a chain file's last `entry` is the
/// predicate's `intentChain.head`.
#[must_use]
pub fn intent_entry_hash(prev: &[u8; 32], request_sha256: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(prev);
    buf[32..].copy_from_slice(request_sha256);
    maat_crypto::sha256(&buf)
}

/// 64 lowercase hex characters as 32 bytes.
fn hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// The agent's local intent hash chain: a JSONL file, one [`IntentEntry`] per request, each
/// linked to the previous by its hash. One file is one session: `maat attest run` attests all
/// of its entries.
#[derive(Clone, Debug)]
pub struct IntentChain {
    path: PathBuf,
    entries: Vec<IntentEntry>,
}

impl IntentChain {
    /// Reads and verifies the chain at `path`; a missing file is an empty chain.
    ///
    /// # Errors
    /// [`AttestError::Io`], or [`AttestError::IntentChain`] naming the first bad line.
    pub fn open(path: impl AsRef<Path>) -> Result<IntentChain, AttestError> {
        let path = path.as_ref();
        let text = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(path)(e)),
        };
        Self::parse(path, &text)
    }

    /// Verifies chain file contents (`path` only names the file in errors).
    ///
    /// # Errors
    /// [`AttestError::IntentChain`] naming the first bad line.
    pub fn parse(path: impl AsRef<Path>, bytes: &[u8]) -> Result<IntentChain, AttestError> {
        let path = path.as_ref().to_path_buf();
        let err = |line: usize, reason: String| AttestError::IntentChain {
            path: path.clone(),
            line,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            err(line, "not UTF-8".into())
        })?;
        let mut entries = Vec::new();
        if !text.is_empty() {
            let Some(body) = text.strip_suffix('\n') else {
                // A line without its newline is an interrupted append: refuse rather than guess.
                let line = text.split('\n').count();
                return Err(err(
                    line,
                    "the last line has no newline (interrupted write?)".into(),
                ));
            };
            for (i, line) in body.split('\n').enumerate() {
                let entry: IntentEntry = serde_json::from_str(line)
                    .map_err(|e| err(i + 1, format!("not an intent entry: {e}")))?;
                entries.push(entry);
            }
        }
        let chain = IntentChain { path, entries };
        chain.verify()?;
        Ok(chain)
    }

    /// Checks every entry: `seq` counts from 1, `prev` is the previous `entry` (zeros first),
    /// `entry` is `SHA-256(prev || request_sha256)`, `time` is RFC 3339 UTC.
    ///
    /// # Errors
    /// [`AttestError::IntentChain`] naming the first bad line.
    pub fn verify(&self) -> Result<(), AttestError> {
        let mut head = [0u8; 32];
        for (i, e) in self.entries.iter().enumerate() {
            let err = |reason: String| AttestError::IntentChain {
                path: self.path.clone(),
                line: i + 1,
                reason,
            };
            let expected_seq = i as u64 + 1;
            if e.seq != expected_seq {
                return Err(err(format!("seq is {}, expected {expected_seq}", e.seq)));
            }
            let request = hex32(&e.request_sha256)
                .ok_or_else(|| err("request_sha256: expected 64 lowercase hex".into()))?;
            if hex32(&e.prev) != Some(head) {
                return Err(err(format!(
                    "prev is not the previous entry's hash {}",
                    hex::encode(head)
                )));
            }
            head = intent_entry_hash(&head, &request);
            if hex32(&e.entry) != Some(head) {
                return Err(err("entry is not SHA-256(prev || request_sha256)".into()));
            }
            parse_rfc3339_ms(&e.time).map_err(|m| err(format!("time: {m}")))?;
        }
        Ok(())
    }

    /// Appends the SHA-256 of `request` (the text itself is not stored), timestamped now.
    /// Creates the file and its directory if needed.
    ///
    /// # Errors
    /// As [`IntentChain::append_at`].
    pub fn append(&mut self, request: &[u8]) -> Result<IntentEntry, AttestError> {
        self.append_at(request, now_ms()?)
    }

    /// Appends the SHA-256 of `request` with time `time_ms`. The file is locked and re-read
    /// first, so concurrent appenders serialise and a file that no longer verifies is never
    /// extended.
    ///
    /// # Errors
    /// [`AttestError::Io`], or [`AttestError::IntentChain`] if the file does not verify.
    pub fn append_at(&mut self, request: &[u8], time_ms: u64) -> Result<IntentEntry, AttestError> {
        let path = self.path.clone();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        // Held until `file` drops: another `maat attest intent` waits instead of forking the chain.
        file.lock().map_err(io_err(&path))?;
        let mut current = Vec::new();
        file.read_to_end(&mut current).map_err(io_err(&path))?;
        let chain = Self::parse(&path, &current)?;
        let prev = chain.head();
        let request_sha256 = maat_crypto::sha256(request);
        let entry = IntentEntry {
            seq: chain.entries.len() as u64 + 1,
            request_sha256: hex::encode(request_sha256),
            prev: hex::encode(prev),
            entry: hex::encode(intent_entry_hash(&prev, &request_sha256)),
            time: format_rfc3339_ms(time_ms),
        };
        let mut line = serde_json::to_string(&entry)
            .map_err(|e| AttestError::Input(format!("encoding the intent entry: {e}")))?;
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(io_err(&path))?;
        file.sync_data().map_err(io_err(&path))?;
        self.entries = chain.entries;
        self.entries.push(entry.clone());
        Ok(entry)
    }

    /// The entries, in order.
    #[must_use]
    pub fn entries(&self) -> &[IntentEntry] {
        &self.entries
    }

    /// The chain file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The head: the last entry's hash, 32 zero bytes when empty.
    #[must_use]
    pub fn head(&self) -> [u8; 32] {
        self.entries
            .last()
            .and_then(|e| hex32(&e.entry))
            .unwrap_or([0u8; 32])
    }
}

/// The predicate's `intentChain` for `entries` (a whole chain, from its first line):
/// `entries`, `head`, and the request hashes unless `withhold_requests`.
///
/// # Errors
/// [`AttestError::Input`] if the entries are not a verified chain from its start.
pub fn predicate_intent_chain(
    entries: &[IntentEntry],
    withhold_requests: bool,
) -> Result<attestation::IntentChain, AttestError> {
    let requests = entries
        .iter()
        .map(|e| hex32(&e.request_sha256))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| AttestError::Input("an intent entry has a malformed hash".into()))?;
    let head = attestation::intent_chain_head(&requests);
    if entries
        .last()
        .is_some_and(|e| hex32(&e.entry) != Some(head))
    {
        return Err(AttestError::Input(
            "the intent entries are not one chain from its first line".into(),
        ));
    }
    Ok(attestation::IntentChain {
        entries: entries.len() as u64,
        head: hex::encode(head),
        request_sha256: if withhold_requests {
            Vec::new()
        } else {
            entries.iter().map(|e| e.request_sha256.clone()).collect()
        },
    })
}

/// Checks that a predicate's intent chain is a prefix of the local `chain` (the agent may
/// have logged more requests since the run): its `head` is the `entry` of line `entries`.
///
/// # Errors
/// [`AttestError::Claims`].
pub fn check_intents_against_chain(
    claimed: &attestation::IntentChain,
    chain: &IntentChain,
) -> Result<(), AttestError> {
    let n = usize::try_from(claimed.entries).unwrap_or(usize::MAX);
    let local_head = match n {
        0 => hex::encode([0u8; 32]),
        _ => match chain.entries().get(n - 1) {
            Some(e) => e.entry.clone(),
            None => {
                return Err(AttestError::Claims(format!(
                    "the statement claims {n} intents, {} holds only {}",
                    chain.path().display(),
                    chain.entries().len()
                )));
            }
        },
    };
    if local_head != claimed.head {
        return Err(AttestError::Claims(format!(
            "intentChain.head {} is not line {n} of {} ({local_head})",
            claimed.head,
            chain.path().display()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Manifest

/// One output file: its path relative to the artifact directory (`/`-separated) and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Relative path, `/` separators, UTF-8.
    pub name: String,
    /// SHA-256 of the file's bytes, 64 lowercase hex.
    pub sha256: String,
}

/// The manifest of `dir`: every regular file below it, recursively, sorted by name (byte
/// order). Symbolic links (to files or directories) and special files are refused, not
/// followed or skipped: a link's target can change without the link changing, and skipping
/// would silently drop an output. `dir` itself may be a link.
///
/// # Errors
/// [`AttestError::Manifest`] (no files, a link or special file, a non-UTF-8 name, a name over
/// [`MAX_SUBJECT_NAME_LEN`] bytes, more than [`MAX_SUBJECTS`] files) or [`AttestError::Io`].
pub fn manifest(dir: &Path) -> Result<Vec<ManifestEntry>, AttestError> {
    let entries = scan_files(dir)?;
    if entries.is_empty() {
        return Err(manifest_err(
            dir,
            "no files to attest (the directory is empty)",
        ));
    }
    if entries.len() > MAX_SUBJECTS {
        return Err(manifest_err(
            dir,
            format!(
                "{} files; one attestation holds at most {MAX_SUBJECTS} (archive them, or \
                 attest subdirectories separately)",
                entries.len()
            ),
        ));
    }
    Ok(entries)
}

/// Every regular file below `dir` with its hash, sorted; empty is allowed (see [`manifest`]).
fn scan_files(dir: &Path) -> Result<Vec<ManifestEntry>, AttestError> {
    let meta = fs::metadata(dir).map_err(io_err(dir))?;
    if !meta.is_dir() {
        return Err(manifest_err(dir, "not a directory"));
    }
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = pending.pop() {
        for item in fs::read_dir(&path).map_err(io_err(&path))? {
            let item = item.map_err(io_err(&path))?;
            let file_name = item.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(manifest_err(
                    dir,
                    format!("{}: the file name is not UTF-8", item.path().display()),
                ));
            };
            let name = if prefix.is_empty() {
                file_name.to_owned()
            } else {
                format!("{prefix}/{file_name}")
            };
            // `DirEntry::file_type` does not follow symbolic links.
            let kind = item.file_type().map_err(io_err(&item.path()))?;
            if kind.is_symlink() {
                return Err(manifest_err(
                    dir,
                    format!("{name} is a symbolic link; copy the file in instead"),
                ));
            } else if kind.is_dir() {
                pending.push((item.path(), name));
            } else if kind.is_file() {
                if name.len() > MAX_SUBJECT_NAME_LEN {
                    return Err(manifest_err(
                        dir,
                        format!(
                            "{}…: the path is longer than {MAX_SUBJECT_NAME_LEN} bytes",
                            name.chars().take(64).collect::<String>()
                        ),
                    ));
                }
                let bytes = fs::read(item.path()).map_err(io_err(&item.path()))?;
                out.push(ManifestEntry {
                    name,
                    sha256: hex::encode(maat_crypto::sha256(&bytes)),
                });
            } else {
                return Err(manifest_err(
                    dir,
                    format!("{name} is neither a regular file nor a directory"),
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What differs between the attested manifest and the files on disk, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ArtifactDiff {
    /// Attested, not on disk.
    pub missing: Vec<String>,
    /// On disk, not attested.
    pub extra: Vec<String>,
    /// On disk with another SHA-256.
    pub changed: Vec<String>,
}

impl ArtifactDiff {
    /// True when nothing differs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.changed.is_empty()
    }
}

impl fmt::Display for ArtifactDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (what, names) in [
            ("missing", &self.missing),
            ("extra", &self.extra),
            ("changed", &self.changed),
        ] {
            if !names.is_empty() {
                parts.push(format!("{} {what} ({})", names.len(), names.join(", ")));
            }
        }
        f.write_str(&parts.join(", "))
    }
}

/// Compares an attested manifest with the files found.
#[must_use]
pub fn compare_manifests(attested: &[ManifestEntry], found: &[ManifestEntry]) -> ArtifactDiff {
    let attested: BTreeMap<&str, &str> = attested
        .iter()
        .map(|e| (e.name.as_str(), e.sha256.as_str()))
        .collect();
    let found: BTreeMap<&str, &str> = found
        .iter()
        .map(|e| (e.name.as_str(), e.sha256.as_str()))
        .collect();
    let mut diff = ArtifactDiff::default();
    for (name, digest) in &attested {
        match found.get(name) {
            None => diff.missing.push((*name).to_owned()),
            Some(d) if d != digest => diff.changed.push((*name).to_owned()),
            Some(_) => {}
        }
    }
    diff.extra = found
        .keys()
        .filter(|n| !attested.contains_key(*n))
        .map(|n| (*n).to_owned())
        .collect();
    diff
}

/// Re-hashes `dir` and requires exactly `attested`.
///
/// # Errors
/// [`AttestError::ArtifactMismatch`] listing missing, extra and changed files;
/// [`AttestError::Manifest`] (a link or special file in `dir`) or [`AttestError::Io`].
pub fn check_artifacts(attested: &[ManifestEntry], dir: &Path) -> Result<(), AttestError> {
    let found = scan_files(dir)?;
    let diff = compare_manifests(attested, &found);
    if diff.is_empty() {
        Ok(())
    } else {
        Err(AttestError::ArtifactMismatch(diff))
    }
}

/// The manifest a Statement attests: each subject's `name` and `sha256` digest, sorted.
///
/// # Errors
/// [`AttestError::Claims`] if a subject has no name, no `sha256` digest, or a name twice.
pub fn manifest_of_statement(statement: &Statement) -> Result<Vec<ManifestEntry>, AttestError> {
    let mut out = Vec::with_capacity(statement.subjects.len());
    let mut names = BTreeSet::new();
    for (i, s) in statement.subjects.iter().enumerate() {
        let name = s
            .name
            .clone()
            .ok_or_else(|| AttestError::Claims(format!("subject[{i}] has no name")))?;
        let sha256 = s
            .digests
            .iter()
            .find(|(alg, _)| alg == DIGEST_ALGORITHM)
            .map(|(_, hex)| hex.clone())
            .ok_or_else(|| AttestError::Claims(format!("subject {name:?} has no sha256 digest")))?;
        if !names.insert(name.clone()) {
            return Err(AttestError::Claims(format!(
                "subject {name:?} is named twice"
            )));
        }
        out.push(ManifestEntry { name, sha256 });
    }
    out.sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Statement and envelope

/// What `maat attest run` puts in the agent-session predicate besides the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInput {
    /// The agent's identity id (the signing key's id).
    pub agent_id: String,
    /// The session id; `None`: [`default_session_id`].
    pub session_id: Option<String>,
    /// The session's intents: a whole chain from its first line.
    pub intents: Vec<IntentEntry>,
    /// Publish only the count and head of the intent chain, not the request hashes (hashes of
    /// short requests can be guessed by trying candidates).
    pub withhold_requests: bool,
    /// SHA-256 of the task specification file's bytes.
    pub task_parameters_sha256: [u8; 32],
    /// Start (ms since the epoch); `None`: the first intent's time, else `finished_ms`.
    pub started_ms: Option<u64>,
    /// End (ms since the epoch), normally now.
    pub finished_ms: u64,
    /// What ran the agent, e.g. `maat attest run 0.1.0`.
    pub runner: Option<String>,
}

/// A session id when none is given: 32 hex characters of
/// `SHA-256("maat/session/v1\n" || agent_id || "\n" || started_on || "\n" || head hex)`, so
/// one agent's sessions started at different times or with different intents differ.
#[must_use]
pub fn default_session_id(agent_id: &str, started_on: &str, intent_head: &str) -> String {
    let text = format!("maat/session/v1\n{agent_id}\n{started_on}\n{intent_head}");
    hex::encode(maat_crypto::sha256(text.as_bytes()))[..32].to_owned()
}

/// The agent-session predicate for `input` over `artifacts` output files, checked by the
/// same rules the validators apply.
///
/// # Errors
/// [`AttestError::Input`] (start after end, an intent with a bad time) or
/// [`AttestError::Attestation`] (e.g. an agent id that is not a Maat name).
pub fn build_predicate(
    input: &SessionInput,
    artifacts: u64,
) -> Result<AgentSessionPredicate, AttestError> {
    let started_ms = match (input.started_ms, input.intents.first()) {
        (Some(ms), _) => ms,
        (None, Some(first)) => parse_rfc3339_ms(&first.time)
            .map_err(|e| AttestError::Input(format!("the first intent's time: {e}")))?,
        (None, None) => input.finished_ms,
    };
    if started_ms > input.finished_ms {
        return Err(AttestError::Input(format!(
            "the session starts at {} but finishes at {} (clock moved back?)",
            format_rfc3339_ms(started_ms),
            format_rfc3339_ms(input.finished_ms)
        )));
    }
    let intent_chain = predicate_intent_chain(&input.intents, input.withhold_requests)?;
    let started_on = format_rfc3339_ms(started_ms);
    let session_id = input
        .session_id
        .clone()
        .unwrap_or_else(|| default_session_id(&input.agent_id, &started_on, &intent_chain.head));
    let predicate = AgentSessionPredicate {
        agent_id: input.agent_id.clone(),
        session_id,
        intent_chain,
        task_parameters_sha256: hex::encode(input.task_parameters_sha256),
        artifacts,
        started_on,
        finished_on: format_rfc3339_ms(input.finished_ms),
        runner: input.runner.clone(),
    };
    predicate.check()?;
    Ok(predicate)
}

/// The in-toto Statement: one subject per manifest entry (`name`, `digest.sha256`), in
/// manifest order, and the agent-session predicate with `artifacts` = the entry count.
///
/// # Errors
/// As [`build_predicate`].
pub fn build_statement(
    manifest: &[ManifestEntry],
    input: &SessionInput,
) -> Result<Statement, AttestError> {
    let predicate = build_predicate(input, manifest.len() as u64)?;
    Ok(Statement {
        subjects: manifest
            .iter()
            .map(|e| Subject {
                name: Some(e.name.clone()),
                digests: vec![(DIGEST_ALGORITHM.to_owned(), e.sha256.clone())],
            })
            .collect(),
        predicate_type: PREDICATE_AGENT_SESSION_V1.to_owned(),
        predicate: predicate.to_value(),
    })
}

/// Signs the Statement as DSSE (payload type [`PAYLOAD_TYPE_IN_TOTO`], keyid = `keyid`) and
/// runs every stateless check a validator runs, so a malformed statement fails here rather
/// than on the chain.
///
/// # Errors
/// [`AttestError::Attestation`].
pub fn sign_statement(
    statement: &Statement,
    keyid: &str,
    key: &KeyPair,
) -> Result<Envelope, AttestError> {
    let envelope = Envelope::sign(PAYLOAD_TYPE_IN_TOTO, statement.to_json_bytes(), keyid, key);
    envelope.check_stateless()?;
    Ok(envelope)
}

/// The key file's `id`, required as DSSE keyid, agent id and submitter.
///
/// # Errors
/// [`AttestError::Input`] when the key file has no `id`.
pub fn key_id(key: &LoadedKey) -> Result<&str, AttestError> {
    key.id.as_deref().ok_or_else(|| {
        AttestError::Input(
            "the key file has no `id`: create it with `maat keygen --id <identity>`".into(),
        )
    })
}

/// A DSSE envelope in its JSON form, as stored in receipts and bundles.
///
/// # Errors
/// [`AttestError::Malformed`] (`what`) or [`AttestError::Attestation`].
fn envelope_from_value(
    value: &serde_json::Value,
    what: &'static str,
) -> Result<Envelope, AttestError> {
    let bytes = serde_json::to_vec(value).map_err(|e| AttestError::Malformed {
        what,
        reason: format!("envelope: {e}"),
    })?;
    Ok(Envelope::from_json(&bytes)?)
}

/// What a verified Statement says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementSummary {
    /// The predicate type.
    pub predicate_type: String,
    /// The envelope's signers (keyids), in order.
    pub signers: Vec<String>,
    /// Number of subjects (= files checked).
    pub artifacts: usize,
    /// The agent-session predicate, when it is one.
    pub session: Option<AgentSessionPredicate>,
}

/// The checks on a signed envelope that need no chain: the profile (shape, Statement,
/// predicate), the manifest stored beside it equals the subjects, and for an agent session:
/// `artifacts` = the subject count and `agentId` is one of the signers.
///
/// # Errors
/// [`AttestError::Attestation`], [`AttestError::Inconsistent`] or [`AttestError::Claims`].
pub fn check_statement(
    envelope: &Envelope,
    stored_manifest: &[ManifestEntry],
) -> Result<(Statement, StatementSummary), AttestError> {
    let statement = envelope.check_stateless()?;
    let attested = manifest_of_statement(&statement)?;
    let mut stored = stored_manifest.to_vec();
    stored.sort();
    if stored != attested {
        return Err(AttestError::Inconsistent(
            "the manifest is not the statement's subjects".into(),
        ));
    }
    let signers: Vec<String> = envelope
        .signatures
        .iter()
        .map(|s| s.keyid.clone())
        .collect();
    // `check_stateless` ran the chain's own session claims (agent signed, artifact count).
    let session = if statement.predicate_type == PREDICATE_AGENT_SESSION_V1 {
        Some(AgentSessionPredicate::parse(&statement.predicate)?)
    } else {
        None
    };
    let summary = StatementSummary {
        predicate_type: statement.predicate_type.clone(),
        signers,
        artifacts: statement.subjects.len(),
        session,
    };
    Ok((statement, summary))
}

/// Finds a signature of `envelope` that verifies under `key` and returns its keyid.
///
/// # Errors
/// [`AttestError::Signature`] when none does.
pub fn verify_envelope_signature(
    envelope: &Envelope,
    key: &PublicKey,
) -> Result<String, AttestError> {
    let mut reasons = Vec::new();
    for (i, s) in envelope.signatures.iter().enumerate() {
        match envelope.verify_signature(i, key) {
            Ok(()) => return Ok(s.keyid.clone()),
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(AttestError::Signature(if reasons.is_empty() {
        "the envelope has no signature".into()
    } else {
        format!(
            "none verifies under {}: {}",
            key.to_text(),
            reasons.join("; ")
        )
    }))
}

// ---------------------------------------------------------------------------------------------
// Offline bundle

/// A signed attestation written without a node (`maat attest run --offline`): the envelope,
/// the manifest and the signer's public key. It proves who signed what, not that the chain
/// accepted it; `maat attest submit` turns it into a receipt later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineBundle {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// The signer's identity id (the envelope's keyid).
    pub signer: String,
    /// The signer's public key, `<alg>:<base64>`. Informative: a verifier checks the
    /// signature under a key it trusts, not under this one.
    pub public_key: String,
    /// The DSSE envelope, JSON form.
    pub envelope: serde_json::Value,
    /// The attested files (= the subjects).
    pub manifest: Vec<ManifestEntry>,
}

impl OfflineBundle {
    /// A bundle for an envelope signed by `key` as `signer`.
    #[must_use]
    pub fn new(
        envelope: &Envelope,
        signer: &str,
        key: &PublicKey,
        manifest: Vec<ManifestEntry>,
    ) -> OfflineBundle {
        OfflineBundle {
            format: BUNDLE_FORMAT.to_owned(),
            signer: signer.to_owned(),
            public_key: key.to_text(),
            envelope: envelope.to_json(),
            manifest,
        }
    }

    /// The envelope.
    ///
    /// # Errors
    /// [`AttestError::Malformed`] or [`AttestError::Attestation`].
    pub fn envelope(&self) -> Result<Envelope, AttestError> {
        envelope_from_value(&self.envelope, "bundle")
    }
}

/// What [`verify_offline_bundle`] established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    /// The keyid whose signature verified under the trusted key.
    pub signer: String,
    /// The trusted key, `<alg>:<base64>`.
    pub public_key: String,
    /// The Statement.
    pub statement: StatementSummary,
}

/// Verifies an offline bundle: a DSSE signature verifies under `trusted_key` (not the
/// bundle's own key, which anyone can replace), the Statement passes [`check_statement`], and
/// `dir` holds exactly the attested files.
///
/// # Errors
/// [`AttestError`]; [`AttestError::is_verification_failure`] tells a failed check from an IO
/// problem.
pub fn verify_offline_bundle(
    bundle: &OfflineBundle,
    trusted_key: &PublicKey,
    dir: &Path,
) -> Result<BundleReport, AttestError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(AttestError::Malformed {
            what: "bundle",
            reason: format!("format {:?}, expected {BUNDLE_FORMAT:?}", bundle.format),
        });
    }
    let envelope = bundle.envelope()?;
    // Offline, only the trusted key's signature can be checked: a second, unverifiable
    // signature would still be reported as a signer (and could name the session's agent).
    if envelope.signatures.len() != 1 {
        return Err(AttestError::Signature(format!(
            "an offline bundle carries exactly one signature (the trusted key's), this one {}",
            envelope.signatures.len()
        )));
    }
    let signer = verify_envelope_signature(&envelope, trusted_key).map_err(|e| {
        if bundle.public_key == trusted_key.to_text() {
            e
        } else {
            AttestError::Signature(format!(
                "{e} (the bundle names another key, {})",
                bundle.public_key
            ))
        }
    })?;
    let (statement, summary) = check_statement(&envelope, &bundle.manifest)?;
    check_artifacts(&manifest_of_statement(&statement)?, dir)?;
    Ok(BundleReport {
        signer,
        public_key: trusted_key.to_text(),
        statement: summary,
    })
}

// ---------------------------------------------------------------------------------------------
// Receipt

/// Everything needed to check an attested artifact set offline (`maat attest run` with a
/// node): the transaction, its finality proof, a cosigned checkpoint and the transaction's
/// inclusion path under that checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestReceipt {
    /// [`RECEIPT_FORMAT`].
    pub format: String,
    /// The chain id.
    pub chain_id: String,
    /// The genesis hash, lowercase hex.
    pub genesis_hash: String,
    /// The transaction id, lowercase hex.
    pub tx_id: String,
    /// The canonical transaction bytes, lowercase hex (the log leaf's data).
    pub tx: String,
    /// The transaction's index in the transparency log.
    pub log_index: u64,
    /// The DSSE envelope (JSON form) the transaction carries.
    pub envelope: serde_json::Value,
    /// The attested files (= the subjects).
    pub manifest: Vec<ManifestEntry>,
    /// The finality proof (`docs/FINALITY-PROOFS.md`).
    pub finality_proof: FinalityProof,
    /// A cosigned checkpoint note covering `log_index` (`docs/CHECKPOINTS.md`).
    pub checkpoint: String,
    /// RFC 6962 inclusion path of the transaction's leaf under the checkpoint's root, leaf to
    /// root, lowercase hex.
    pub inclusion_path: Vec<String>,
}

impl AttestReceipt {
    /// Reads a receipt file.
    ///
    /// # Errors
    /// [`AttestError::Io`] or [`AttestError::Malformed`].
    pub fn load(path: impl AsRef<Path>) -> Result<AttestReceipt, AttestError> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(io_err(path))?;
        serde_json::from_slice(&bytes).map_err(|e| AttestError::Malformed {
            what: "receipt",
            reason: e.to_string(),
        })
    }

    /// The envelope.
    ///
    /// # Errors
    /// [`AttestError::Malformed`] or [`AttestError::Attestation`].
    pub fn envelope(&self) -> Result<Envelope, AttestError> {
        envelope_from_value(&self.envelope, "receipt")
    }
}

/// What [`verify_receipt`] established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptReport {
    /// The chain id.
    pub chain_id: String,
    /// The transaction id.
    pub tx_id: String,
    /// The transaction's submitter.
    pub submitter: String,
    /// Its log index.
    pub log_index: u64,
    /// The height of its block.
    pub block_height: u64,
    /// The validators (indexes) whose signatures certify the finality proof's block.
    pub finality_signers: Vec<u32>,
    /// The checkpoint's tree size.
    pub checkpoint_tree_size: u64,
    /// How many validators' cosignatures on the checkpoint verified.
    pub checkpoint_cosigners: usize,
    /// Their voting power.
    pub checkpoint_power: u64,
    /// The Statement.
    pub statement: StatementSummary,
}

/// Decodes canonical transaction bytes and requires an Attestation body equal (as protobuf)
/// to `envelope`; returns the submitter.
///
/// # Errors
/// [`AttestError::Inconsistent`].
pub fn check_tx_carries_envelope(tx: &[u8], envelope: &Envelope) -> Result<String, AttestError> {
    let tx: v1::Transaction = maat_proto::decode_canonical(tx, tx.len()).map_err(|e| {
        AttestError::Inconsistent(format!("tx is not a canonical transaction: {e}"))
    })?;
    let payload = tx
        .payload
        .ok_or_else(|| AttestError::Inconsistent("the transaction has no payload".into()))?;
    match payload.body.and_then(|b| b.kind) {
        Some(v1::tx_body::Kind::Attestation(a)) if a == envelope.to_proto() => {
            Ok(payload.submitter)
        }
        Some(v1::tx_body::Kind::Attestation(_)) => Err(AttestError::Inconsistent(
            "the transaction carries another envelope than the receipt's".into(),
        )),
        _ => Err(AttestError::Inconsistent(
            "the transaction is not an attestation".into(),
        )),
    }
}

/// Checks that `tx` is leaf `log_index` of the log of `tree_size` entries with `root`, given
/// the hex inclusion path.
///
/// # Errors
/// [`AttestError::Checkpoint`].
pub fn check_inclusion(
    tx: &[u8],
    log_index: u64,
    tree_size: u64,
    root: &[u8; 32],
    path_hex: &[String],
) -> Result<(), AttestError> {
    let path = path_hex
        .iter()
        .map(|h| hex32(h).map(Hash32))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            AttestError::Checkpoint("inclusion_path: expected 64 lowercase hex per hash".into())
        })?;
    verify_inclusion(&leaf_hash(tx), log_index, tree_size, &path, &Hash32(*root)).map_err(|e| {
        AttestError::Checkpoint(format!(
            "the transaction is not entry {log_index} of the checkpoint's log: {e}"
        ))
    })
}

/// The chain part of [`verify_receipt`]: the receipt is for `genesis`'s chain, the finality
/// proof verifies and is for the receipt's transaction at its log index, the transaction
/// carries the receipt's envelope, the checkpoint is cosigned by 2f+1 of the genesis voting
/// power and the inclusion path proves the transaction under its root. Returns the envelope,
/// the submitter and the report's chain fields.
///
/// # Errors
/// [`AttestError`] naming the first failing check.
pub fn verify_receipt_chain(
    receipt: &AttestReceipt,
    genesis: &Genesis,
) -> Result<(Envelope, ReceiptChainFacts), AttestError> {
    if receipt.format != RECEIPT_FORMAT {
        return Err(AttestError::Malformed {
            what: "receipt",
            reason: format!("format {:?}, expected {RECEIPT_FORMAT:?}", receipt.format),
        });
    }
    let genesis_hash = hex::encode(genesis.hash());
    if receipt.chain_id != genesis.chain_id() || receipt.genesis_hash != genesis_hash {
        return Err(AttestError::WrongChain {
            expected: format!("{} (genesis {genesis_hash})", genesis.chain_id()),
            found: format!("{} (genesis {})", receipt.chain_id, receipt.genesis_hash),
        });
    }
    let finalized = receipt.finality_proof.verify(genesis)?;
    let tx = hex::decode(&receipt.tx).map_err(|_| AttestError::Malformed {
        what: "receipt",
        reason: "tx: not hex".into(),
    })?;
    if receipt.finality_proof.tx != tx {
        return Err(AttestError::Inconsistent(
            "the finality proof is for another transaction".into(),
        ));
    }
    if finalized.tx_id.to_hex() != receipt.tx_id {
        return Err(AttestError::Inconsistent(format!(
            "tx_id {} is not the transaction's id {}",
            receipt.tx_id,
            finalized.tx_id.to_hex()
        )));
    }
    if finalized.log_index != receipt.log_index {
        return Err(AttestError::Inconsistent(format!(
            "log_index {} but the finality proof says {}",
            receipt.log_index, finalized.log_index
        )));
    }
    let envelope = receipt.envelope()?;
    let submitter = check_tx_carries_envelope(&tx, &envelope)?;
    let checkpoint = verify_checkpoint(&receipt.checkpoint, genesis)
        .map_err(|e| AttestError::Checkpoint(e.to_string()))?;
    let cp = &checkpoint.checkpoint;
    if cp.tree_size <= receipt.log_index {
        return Err(AttestError::Checkpoint(format!(
            "tree size {} does not cover log index {}",
            cp.tree_size, receipt.log_index
        )));
    }
    // Both commit to the same append-only log; equal sizes must mean equal roots.
    if cp.tree_size == finalized.tree_size && cp.root != finalized.log_root {
        return Err(AttestError::Checkpoint(
            "its root differs from the finality proof's log root at the same size".into(),
        ));
    }
    check_inclusion(
        &tx,
        receipt.log_index,
        cp.tree_size,
        &cp.root,
        &receipt.inclusion_path,
    )?;
    Ok((
        envelope,
        ReceiptChainFacts {
            submitter,
            block_height: finalized.block_height,
            finality_signers: finalized.signers,
            checkpoint: checkpoint_facts(&checkpoint),
        },
    ))
}

/// What the chain checks of a receipt established (see [`verify_receipt_chain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptChainFacts {
    /// The transaction's submitter.
    pub submitter: String,
    /// The block height.
    pub block_height: u64,
    /// Validators whose signatures certify the block.
    pub finality_signers: Vec<u32>,
    /// Tree size, cosigner count, cosigning power of the checkpoint.
    pub checkpoint: (u64, usize, u64),
}

fn checkpoint_facts(v: &VerifiedCheckpoint) -> (u64, usize, u64) {
    (v.checkpoint.tree_size, v.signers.len(), v.power)
}

/// Verifies a receipt offline against the chain's genesis file and the artifact directory:
/// [`verify_receipt_chain`], then [`check_statement`], then [`check_artifacts`].
///
/// # Errors
/// [`AttestError`]; [`AttestError::is_verification_failure`] tells a failed check from an IO
/// problem.
pub fn verify_receipt(
    receipt: &AttestReceipt,
    genesis: &Genesis,
    dir: &Path,
) -> Result<ReceiptReport, AttestError> {
    let (envelope, facts) = verify_receipt_chain(receipt, genesis)?;
    let (statement, summary) = check_statement(&envelope, &receipt.manifest)?;
    check_artifacts(&manifest_of_statement(&statement)?, dir)?;
    let (checkpoint_tree_size, checkpoint_cosigners, checkpoint_power) = facts.checkpoint;
    Ok(ReceiptReport {
        chain_id: receipt.chain_id.clone(),
        tx_id: receipt.tx_id.clone(),
        submitter: facts.submitter,
        log_index: receipt.log_index,
        block_height: facts.block_height,
        finality_signers: facts.finality_signers,
        checkpoint_tree_size,
        checkpoint_cosigners,
        checkpoint_power,
        statement: summary,
    })
}

// ---------------------------------------------------------------------------------------------
// Submitting

/// How often [`submit_envelope_and_wait`] polls for the proof and the checkpoint.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Signs `statement` as `key`'s identity and submits it: [`sign_statement`], then
/// [`submit_envelope_and_wait`].
///
/// # Errors
/// As [`submit_envelope_and_wait`]; [`AttestError::Input`] if the key has no id.
pub async fn attest_and_wait(
    client: &Client,
    key: &LoadedKey,
    statement: &Statement,
    timeout: Duration,
) -> Result<AttestReceipt, AttestError> {
    let envelope = sign_statement(statement, key_id(key)?, &key.key_pair)?;
    submit_envelope_and_wait(client, key, &envelope, timeout).await
}

/// Submits `envelope` in an Attestation transaction from `submitter`'s identity (nonce: its
/// last committed nonce + 1), waits until it is final, then for its finality proof and a
/// final checkpoint covering its log index, fetches the inclusion proof under that checkpoint
/// and returns the receipt. Everything must happen within `timeout`.
///
/// # Errors
/// [`AttestError::Node`] (a rejection: [`AttestError::rejection`]), [`AttestError::Timeout`],
/// [`AttestError::Input`], [`AttestError::Attestation`], or [`AttestError::Inconsistent`] if
/// the node's answers do not fit together.
pub async fn submit_envelope_and_wait(
    client: &Client,
    submitter: &LoadedKey,
    envelope: &Envelope,
    timeout: Duration,
) -> Result<AttestReceipt, AttestError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let statement = envelope.check_stateless()?;
    let manifest = manifest_of_statement(&statement)?;
    check_statement(envelope, &manifest)?;
    let submitter_id = key_id(submitter)?;
    let status = client.status().await?;
    let identity = client.identity(submitter_id).await?.ok_or_else(|| {
        AttestError::Input(format!(
            "`{submitter_id}` is not a registered identity on {}",
            status.chain_id
        ))
    })?;
    let nonce = identity
        .get("last_nonce")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| {
            AttestError::Input(format!(
                "the node did not report `{submitter_id}`'s last nonce"
            ))
        })?
        + 1;
    let payload = maat_proto::tx::payload(
        &status.chain_id,
        submitter_id,
        nonce,
        v1::tx_body::Kind::Attestation(envelope.to_proto()),
    );
    let tx = maat_proto::encode(&maat_proto::tx::sign(payload, &submitter.key_pair));
    let tx_id = client.submit_tx(&tx).await?;
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    let finalized = client.wait_for_finality(tx_id, remaining).await?;

    // The proof and a checkpoint covering the entry follow the commit within moments; a node
    // that is briefly unavailable is retried until the deadline.
    let proof = loop {
        match client.finality_proof(tx_id).await {
            Ok(Some(p)) => break p,
            Ok(None) => {}
            Err(e) if e.is_transient() => {}
            Err(e) => return Err(e.into()),
        }
        wait_or_give_up(deadline, "the finality proof").await?;
    };
    let checkpoint = loop {
        match client.checkpoint(None).await {
            Ok(Some(c)) if c.is_final && c.tree_size > finalized.log_index => break c,
            Ok(_) => {}
            Err(e) if e.is_transient() => {}
            Err(e) => return Err(e.into()),
        }
        wait_or_give_up(deadline, "a final checkpoint covering the entry").await?;
    };
    let inclusion = client
        .inclusion_proof(finalized.log_index, checkpoint.tree_size)
        .await?;
    if proof.tx != tx || proof.log_index != finalized.log_index {
        return Err(AttestError::Inconsistent(
            "the node's finality proof is for another transaction or log index".into(),
        ));
    }
    let inclusion_path: Vec<String> = inclusion.path.iter().map(hex::encode).collect();
    // The node's answers must already fit; the genesis-anchored checks are the verifier's.
    check_inclusion(
        &tx,
        finalized.log_index,
        checkpoint.tree_size,
        &checkpoint.root,
        &inclusion_path,
    )?;
    Ok(AttestReceipt {
        format: RECEIPT_FORMAT.to_owned(),
        chain_id: status.chain_id,
        genesis_hash: hex::encode(status.genesis_hash),
        tx_id: tx_id.to_hex(),
        tx: hex::encode(&tx),
        log_index: finalized.log_index,
        envelope: envelope.to_json(),
        manifest,
        finality_proof: proof,
        checkpoint: checkpoint.note,
        inclusion_path,
    })
}

async fn wait_or_give_up(deadline: tokio::time::Instant, what: &str) -> Result<(), AttestError> {
    let now = tokio::time::Instant::now();
    if now >= deadline {
        return Err(AttestError::Timeout(format!(
            "the transaction is final but the node did not serve {what} in time"
        )));
    }
    tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use maat_crypto::merkle::MerkleLog;
    use maat_crypto::sig::Algorithm;

    #[test]
    fn intent_entry_hash_is_the_ledger_chain_step() {
        let r1 = maat_crypto::sha256(b"one");
        let r2 = maat_crypto::sha256(b"two");
        let h1 = intent_entry_hash(&[0u8; 32], &r1);
        assert_eq!(
            intent_entry_hash(&h1, &r2),
            attestation::intent_chain_head(&[r1, r2])
        );
    }

    #[test]
    fn inclusion_is_checked_against_the_root() {
        let mut log = MerkleLog::new();
        let leaves: Vec<Vec<u8>> = (0..7u8).map(|i| vec![i; 10]).collect();
        for l in &leaves {
            log.append(l).unwrap();
        }
        let root = log.root().0;
        let path: Vec<String> = log
            .inclusion_proof(3, 7)
            .unwrap()
            .iter()
            .map(|h| h.to_hex())
            .collect();
        check_inclusion(&leaves[3], 3, 7, &root, &path).unwrap();
        assert!(check_inclusion(&leaves[4], 3, 7, &root, &path).is_err());
        assert!(check_inclusion(&leaves[3], 2, 7, &root, &path).is_err());
        assert!(check_inclusion(&leaves[3], 3, 7, &[0u8; 32], &path).is_err());
        let mut bad = path.clone();
        bad[0] = "zz".into();
        assert!(check_inclusion(&leaves[3], 3, 7, &root, &bad).is_err());
    }

    fn envelope(key: &KeyPair) -> Envelope {
        let input = SessionInput {
            agent_id: "agent-1".into(),
            session_id: Some("s1".into()),
            intents: Vec::new(),
            withhold_requests: false,
            task_parameters_sha256: [7u8; 32],
            started_ms: Some(1_700_000_000_000),
            finished_ms: 1_700_000_001_000,
            runner: None,
        };
        let manifest = vec![ManifestEntry {
            name: "a.txt".into(),
            sha256: hex::encode([1u8; 32]),
        }];
        sign_statement(&build_statement(&manifest, &input).unwrap(), "agent-1", key).unwrap()
    }

    #[test]
    fn a_transaction_must_carry_exactly_the_envelope() {
        let key = KeyPair::generate(Algorithm::Ed25519);
        let env = envelope(&key);
        let payload = maat_proto::tx::payload(
            "chain",
            "agent-1",
            1,
            v1::tx_body::Kind::Attestation(env.to_proto()),
        );
        let tx = maat_proto::encode(&maat_proto::tx::sign(payload, &key));
        assert_eq!(check_tx_carries_envelope(&tx, &env).unwrap(), "agent-1");

        // The same statement signed by another key is another envelope.
        let mut other = env.clone();
        other.add_signature("agent-1", &KeyPair::generate(Algorithm::Ed25519));
        assert!(matches!(
            check_tx_carries_envelope(&tx, &other),
            Err(AttestError::Inconsistent(_))
        ));

        let cert = maat_proto::tx::payload(
            "chain",
            "agent-1",
            1,
            maat_proto::tx::body::certificate(b"{}".to_vec()),
        );
        let cert = maat_proto::encode(&maat_proto::tx::sign(cert, &key));
        assert!(check_tx_carries_envelope(&cert, &env).is_err());
        assert!(check_tx_carries_envelope(b"\x01\x02", &env).is_err());
    }

    #[test]
    fn statement_claims_are_cross_checked() {
        let key = KeyPair::generate(Algorithm::Ed25519);
        let env = envelope(&key);
        let stored = vec![ManifestEntry {
            name: "a.txt".into(),
            sha256: hex::encode([1u8; 32]),
        }];
        let (_, summary) = check_statement(&env, &stored).unwrap();
        assert_eq!(summary.artifacts, 1);
        assert_eq!(summary.signers, vec!["agent-1".to_owned()]);
        assert!(matches!(
            check_statement(&env, &[]),
            Err(AttestError::Inconsistent(_))
        ));
        // Signed by someone else than the agent it names.
        let mut by_other = env.clone();
        by_other.signatures.clear();
        by_other.add_signature("agent-2", &key);
        assert!(matches!(
            check_statement(&by_other, &stored),
            Err(AttestError::Attestation(e)) if e.code() == "ATTESTATION_PREDICATE_INVALID"
        ));
    }
}
