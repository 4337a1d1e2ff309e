//! Supply-chain attestations as validators check them: DSSE envelopes
//! (<https://github.com/secure-systems-lab/dsse>, protocol v1) over in-toto Statements v1
//! (<https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>).
//!
//! Pure: no IO, no clock, no randomness except inside [`KeyPair::sign`].
//!
//! # Envelope
//!
//! Every signature covers DSSE's pre-authentication encoding exactly ([`pae`]):
//! `"DSSEv1" SP LEN(payloadType) SP payloadType SP LEN(payload) SP payload`, with LEN the ASCII
//! decimal byte length. Nothing is prepended (the Maat signature domain is empty): PAE starts
//! with `DSSEv1 `, which no Maat domain does, so it separates itself, and signatures made by
//! any standard DSSE tool verify. `keyid` is the signing identity's id; the chain verifies the
//! signature under that identity's active key.
//!
//! On the chain an envelope is the `AttestationTx` protobuf (raw bytes, no base64). Off the
//! chain it is DSSE's JSON form ([`Envelope::from_json`], [`Envelope::to_json`]):
//! `{"payload": <base64>, "payloadType": <string>, "signatures": [{"keyid": <string>,
//! "sig": <base64>}]}`. Decisions for the JSON input:
//! - base64: standard or URL-safe alphabet (the DSSE spec allows either; one alphabet per
//!   string), padded or unpadded (if padded, correctly), no whitespace, unused trailing bits
//!   zero. Output is standard padded base64.
//! - unknown fields (e.g. `publicKey`, which some tools add) are **ignored**: the JSON is only
//!   an input format, the chain stores the protobuf, which cannot carry them, and they are not
//!   signed, so dropping them changes nothing that is verified.
//! - duplicate keys are rejected (anywhere in the document).
//! - a missing `keyid` (DSSE makes it optional) reads as `""`, which [`Envelope::check_shape`]
//!   then rejects, so a tool can fill it in before submitting.
//!
//! [`Envelope::check_shape`] (stateless): payload type [`PAYLOAD_TYPE_IN_TOTO`], 1 to
//! [`MAX_SIGNATURES`] signatures, keyids unique and valid identity names
//! ([`crate::names::name_problem`]), each `sig` as long as an Ed25519 (64 B) or ML-DSA-65
//! (3309 B) signature.
//!
//! # Statement profile (strict)
//!
//! [`parse_statement`] accepts a payload that is:
//! - one JSON object (UTF-8, RFC 8259) with **no duplicate keys anywhere** (parsed with
//!   `maat_certificate::json` in strict mode, nesting at most 128 deep), with exactly the
//!   fields `_type`, `subject`, `predicateType`, `predicate`; any other top-level field is
//!   rejected;
//! - `_type` = [`STATEMENT_TYPE_V1`];
//! - `subject`: 1 to [`MAX_SUBJECTS`] resource descriptors (ResourceDescriptor v1), each an
//!   object with only the fields `name`, `uri`, `digest`, `content`, `downloadLocation`,
//!   `mediaType`, `annotations`:
//!   - `digest` required: an object of 1 to [`MAX_DIGESTS_PER_SUBJECT`] entries, algorithm name
//!     `[A-Za-z0-9_-]{1,32}`, value lowercase hex. Exact lengths: `sha1` 40, `sha224` 56,
//!     `sha256` 64, `sha384` 96, `sha512` 128, `sha512_224` 56, `sha512_256` 64, `sha3_224` 56,
//!     `sha3_256` 64, `sha3_384` 96, `sha3_512` 128, `md5` 32, `ripemd160` 40, `sm3` 64,
//!     `gitCommit`/`gitTree`/`gitBlob`/`gitTag` 40 or 64; any other algorithm an even length
//!     of 2 to 256. A different capitalisation of a known name (`SHA256`) is rejected, so every
//!     digest has one spelling in the index. (Non-hex digest kinds such as `goModuleH1` are
//!     therefore not accepted.)
//!   - `name` optional: a string of at most 1024 bytes; `uri`, `content`, `downloadLocation`,
//!     `mediaType` optional strings; `annotations` an optional object.
//! - `predicateType`: a string of 1 to 512 bytes that looks like a URI: a scheme
//!   (`[A-Za-z][A-Za-z0-9+.-]*`), `:`, at least one more character, no whitespace or control
//!   characters;
//! - `predicate`: **required and a JSON object** (in-toto makes it optional; Maat's profile
//!   does not: an attestation without a claim says nothing).
//!
//! The chain indexes [`Statement::subject_digests`]: every `"<alg>:<hex>"`, sorted, unique.
//! [`normalize_digest_ref`] turns a user's query into the same form.
//!
//! # Known predicates ([`check_predicate`])
//!
//! Unknown predicate types pass (whether they are allowed is the chain's parameter, not this
//! module's).
//!
//! **SLSA provenance v1** ([`PREDICATE_SLSA_PROVENANCE_V1`], <https://slsa.dev/spec/v1.0/provenance>):
//! `buildDefinition` object with `buildType` a non-empty string, `externalParameters` an
//! object, optional `internalParameters` object and `resolvedDependencies` array of resource
//! descriptors; `runDetails` object with `builder` an object whose `id` is a non-empty string
//! (optional `version` object of strings, `builderDependencies` array of resource
//! descriptors), optional `metadata` object (`invocationId`, `startedOn`, `finishedOn`
//! strings if present) and `byproducts` array of resource descriptors. Resource descriptors
//! here: objects whose known fields have the right JSON type and which name at least one of
//! `uri`, `digest`, `content`. Unknown fields inside the predicate are ignored (SLSA lets
//! producers extend it).
//!
//! **Maat agent session v1** ([`PREDICATE_AGENT_SESSION_V1`], [`AgentSessionPredicate`]): what
//! an AI agent session produced. The subjects are the session's output files. All fields are
//! required except `runner`; no other field is allowed (at any level):
//!
//! | field | type | meaning and rule |
//! |---|---|---|
//! | `agentId` | string | the agent's identity id (a Maat name: `[A-Za-z0-9._:@+-]{1,128}`) |
//! | `sessionId` | string | the session's id (a Maat name) |
//! | `intentChain.entries` | integer ≥ 0 | number of requests the agent made in the session |
//! | `intentChain.head` | 64 lowercase hex | head of the session's intent hash chain (below) |
//! | `intentChain.requestSha256` | array of 64 lowercase hex | the request hashes `r_1..r_n` in order; may be empty (withheld); if not empty it must hold exactly `entries` hashes and chain to `head`. May be omitted (= empty). |
//! | `taskParametersSha256` | 64 lowercase hex | SHA-256 of the task specification file's bytes |
//! | `artifacts` | integer ≥ 0 | number of output files (each is a subject) |
//! | `startedOn` | RFC 3339 UTC | `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, a real calendar date and time |
//! | `finishedOn` | RFC 3339 UTC | same form, not before `startedOn` |
//! | `runner` | string, optional | what ran the agent (e.g. `maat attest run 0.4.0`): 1 to 256 bytes, no control characters |
//!
//! Intent hash chain: the agent keeps a local JSONL log, one line per request, each with the
//! request's SHA-256 `r_i` (32 bytes) and the running head `h_i`, where `h_0` is 32 zero bytes
//! and `h_i = SHA-256(h_{i-1} || r_i)`. `head` is `h_n` (so 64 zeros when `entries` = 0);
//! [`intent_chain_head`] computes it.
//!
//! # Errors
//!
//! [`AttestationError::code`] is stable: `ATTESTATION_ENVELOPE_INVALID`,
//! `ATTESTATION_PAYLOAD_TYPE_INVALID`, `ATTESTATION_STATEMENT_INVALID`,
//! `ATTESTATION_PREDICATE_INVALID`, `ATTESTATION_SIGNATURE_INVALID`, and
//! `ATTESTATION_DIGEST_REF_INVALID` (only from [`normalize_digest_ref`], a query helper). The
//! message names the field path, e.g. `subject[2].digest.sha256: expected 64 lowercase hex
//! characters`.

use std::collections::HashSet;

use base64::Engine as _;
use maat_certificate::json::{self as cjson, JsonInt, ParseMode};
use maat_crypto::sig::{Algorithm, KeyPair, PublicKey, Signature};
use serde::{Deserialize, Serialize};

use crate::names::name_problem;

/// The DSSE payload type of an in-toto Statement.
pub const PAYLOAD_TYPE_IN_TOTO: &str = "application/vnd.in-toto+json";
/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE_V1: &str = "https://in-toto.io/Statement/v1";
/// SLSA provenance v1 predicate type.
pub const PREDICATE_SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// Maat's agent-session predicate type (see the module docs).
pub const PREDICATE_AGENT_SESSION_V1: &str = "https://maat.dev/attestation/agent-session/v1";
/// Most subjects in one Statement.
pub const MAX_SUBJECTS: usize = 1024;
/// Most digests in one subject's digest set.
pub const MAX_DIGESTS_PER_SUBJECT: usize = 8;
/// Most signatures on one envelope.
pub const MAX_SIGNATURES: usize = 8;
/// Longest subject `name` in bytes.
pub const MAX_SUBJECT_NAME_LEN: usize = 1024;
/// Longest `predicateType` in bytes.
pub const MAX_PREDICATE_TYPE_LEN: usize = 512;
/// Longest digest algorithm name in bytes.
pub const MAX_DIGEST_ALGORITHM_LEN: usize = 32;
/// Longest hex digest value of an algorithm without a fixed length.
pub const MAX_DIGEST_HEX_LEN: usize = 256;
/// Longest agent-session `runner` in bytes.
pub const MAX_RUNNER_LEN: usize = 256;

/// The fields a v1 ResourceDescriptor may have.
const DESCRIPTOR_FIELDS: [&str; 7] = [
    "name",
    "uri",
    "digest",
    "content",
    "downloadLocation",
    "mediaType",
    "annotations",
];

/// Why an attestation is refused. [`AttestationError::code`] is the stable code.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AttestationError {
    /// The envelope (or its JSON form) is malformed: `ATTESTATION_ENVELOPE_INVALID`.
    #[error("invalid DSSE envelope: {path}: {reason}")]
    Envelope {
        /// Where, e.g. `signatures[1].keyid`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The payload type is not [`PAYLOAD_TYPE_IN_TOTO`]: `ATTESTATION_PAYLOAD_TYPE_INVALID`.
    #[error(
        "invalid DSSE envelope: payloadType: {found:?} is not supported, expected {expected:?}"
    )]
    PayloadType {
        /// The payload type found (at most 64 characters of it).
        found: String,
        /// The payload type required.
        expected: &'static str,
    },
    /// The payload is not a valid in-toto Statement v1: `ATTESTATION_STATEMENT_INVALID`.
    #[error("invalid in-toto statement: {path}: {reason}")]
    Statement {
        /// Where, e.g. `subject[2].digest.sha256`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A known predicate is malformed: `ATTESTATION_PREDICATE_INVALID`.
    #[error("invalid {predicate_type} predicate: {path}: {reason}")]
    Predicate {
        /// The predicate type.
        predicate_type: String,
        /// Where, e.g. `predicate.runDetails.builder.id`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A signature does not verify: `ATTESTATION_SIGNATURE_INVALID`.
    #[error("signature {index} (keyid {keyid:?}) does not verify: {reason}")]
    Signature {
        /// Index in `signatures`.
        index: usize,
        /// Its keyid.
        keyid: String,
        /// Why.
        reason: String,
    },
    /// A digest reference given to [`normalize_digest_ref`] is malformed:
    /// `ATTESTATION_DIGEST_REF_INVALID`.
    #[error("invalid digest reference {input:?}: {reason}")]
    DigestRef {
        /// The input (at most 64 characters of it).
        input: String,
        /// What is wrong.
        reason: String,
    },
}

impl AttestationError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            AttestationError::Envelope { .. } => "ATTESTATION_ENVELOPE_INVALID",
            AttestationError::PayloadType { .. } => "ATTESTATION_PAYLOAD_TYPE_INVALID",
            AttestationError::Statement { .. } => "ATTESTATION_STATEMENT_INVALID",
            AttestationError::Predicate { .. } => "ATTESTATION_PREDICATE_INVALID",
            AttestationError::Signature { .. } => "ATTESTATION_SIGNATURE_INVALID",
            AttestationError::DigestRef { .. } => "ATTESTATION_DIGEST_REF_INVALID",
        }
    }
}

fn envelope_err(path: impl Into<String>, reason: impl Into<String>) -> AttestationError {
    AttestationError::Envelope {
        path: path.into(),
        reason: reason.into(),
    }
}

fn statement_err(path: impl Into<String>, reason: impl Into<String>) -> AttestationError {
    AttestationError::Statement {
        path: path.into(),
        reason: reason.into(),
    }
}

/// Caps text echoed into errors, so a huge input cannot make a huge message.
fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// `parent.key`, or `parent["key"]` when the key is not a plain identifier.
fn member_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match (plain, parent.is_empty()) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => format!("{parent}[{:?}]", clip(key)),
    }
}

// ---------------------------------------------------------------------------------------------
// PAE and base64

/// DSSE v1 pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
/// (LEN = ASCII decimal byte length).
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let t = payload_type.as_bytes();
    let mut out = Vec::with_capacity(32 + t.len() + payload.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(t.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(t);
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Standard, padded base64 (RFC 4648 section 4).
fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard or URL-safe base64 (one alphabet per string: the other's characters are
/// invalid), padded or not, unused trailing bits zero (one encoding per byte string).
fn b64_decode(s: &str) -> Result<Vec<u8>, &'static str> {
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let alphabet = if s.contains(['-', '_']) {
        &URL_SAFE
    } else {
        &STANDARD
    };
    GeneralPurpose::new(alphabet, config)
        .decode(s)
        .map_err(|_| "not base64 (standard or URL-safe alphabet, padding optional, no whitespace)")
}

// ---------------------------------------------------------------------------------------------
// Envelope

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// DSSE `payloadType`.
    pub payload_type: String,
    /// The payload bytes, exactly as signed.
    pub payload: Vec<u8>,
    /// The signatures, in order.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The signing identity's id.
    pub keyid: String,
    /// The raw signature bytes.
    pub sig: Vec<u8>,
}

impl Envelope {
    /// Signs `payload` as DSSE with `key`, keyid = the identity id.
    #[must_use]
    pub fn sign(payload_type: &str, payload: Vec<u8>, keyid: &str, key: &KeyPair) -> Envelope {
        let mut envelope = Envelope {
            payload_type: payload_type.to_owned(),
            payload,
            signatures: Vec::new(),
        };
        envelope.add_signature(keyid, key);
        envelope
    }

    /// Adds a signature by `key` under `keyid`, replacing an existing one with the same keyid
    /// (re-signing must not produce a duplicate keyid, which [`Envelope::check_shape`] refuses).
    pub fn add_signature(&mut self, keyid: &str, key: &KeyPair) {
        let sig = key.sign(b"", &self.pae()).as_bytes().to_vec();
        match self.signatures.iter_mut().find(|s| s.keyid == keyid) {
            Some(existing) => existing.sig = sig,
            None => self.signatures.push(EnvelopeSignature {
                keyid: keyid.to_owned(),
                sig,
            }),
        }
    }

    /// The bytes every signature covers: [`pae`] of this envelope.
    #[must_use]
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// The standard DSSE JSON form `{"payload": base64, "payloadType": .., "signatures":
    /// [{"keyid": .., "sig": base64}]}`. Accepts standard or URL-safe base64, padded or not;
    /// ignores unknown fields; rejects duplicate keys; a missing `keyid` reads as `""` (module
    /// docs). Shape rules are [`Envelope::check_shape`]'s, not checked here.
    ///
    /// # Errors
    /// [`AttestationError::Envelope`] naming the field.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, AttestationError> {
        let doc = cjson::parse(bytes, ParseMode::Strict)
            .map_err(|e| envelope_err("envelope", format!("not valid JSON: {e}")))?;
        let obj = doc
            .as_object()
            .ok_or_else(|| envelope_err("envelope", "must be a JSON object"))?;
        let payload = b64_field(obj, "", "payload")?;
        let payload_type = str_field(obj, "", "payloadType")?.to_owned();
        let sigs = match obj.get("signatures") {
            None => return Err(envelope_err("signatures", "is missing")),
            Some(v) => v
                .as_array()
                .ok_or_else(|| envelope_err("signatures", "must be an array"))?,
        };
        let mut signatures = Vec::with_capacity(sigs.len().min(MAX_SIGNATURES));
        for (i, s) in sigs.iter().enumerate() {
            let at = format!("signatures[{i}]");
            let s = s
                .as_object()
                .ok_or_else(|| envelope_err(&at, "must be a JSON object"))?;
            let keyid = match s.get("keyid") {
                None => String::new(),
                Some(_) => str_field(s, &at, "keyid")?.to_owned(),
            };
            let sig = b64_field(s, &at, "sig")?;
            signatures.push(EnvelopeSignature { keyid, sig });
        }
        Ok(Envelope {
            payload_type,
            payload,
            signatures,
        })
    }

    /// The standard DSSE JSON form, base64 standard and padded.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let signatures: Vec<serde_json::Value> = self
            .signatures
            .iter()
            .map(|s| serde_json::json!({"keyid": s.keyid, "sig": b64_encode(&s.sig)}))
            .collect();
        serde_json::json!({
            "payload": b64_encode(&self.payload),
            "payloadType": self.payload_type,
            "signatures": signatures,
        })
    }

    /// From the transaction message (no checks; see [`Envelope::check_shape`]).
    #[must_use]
    pub fn from_proto(tx: &maat_proto::v1::AttestationTx) -> Envelope {
        Envelope {
            payload_type: tx.payload_type.clone(),
            payload: tx.payload.clone(),
            signatures: tx
                .signatures
                .iter()
                .map(|s| EnvelopeSignature {
                    keyid: s.keyid.clone(),
                    sig: s.sig.clone(),
                })
                .collect(),
        }
    }

    /// The transaction message.
    #[must_use]
    pub fn to_proto(&self) -> maat_proto::v1::AttestationTx {
        maat_proto::v1::AttestationTx {
            payload_type: self.payload_type.clone(),
            payload: self.payload.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|s| maat_proto::v1::DsseSignature {
                    keyid: s.keyid.clone(),
                    sig: s.sig.clone(),
                })
                .collect(),
        }
    }

    /// Stateless shape checks: payload type is [`PAYLOAD_TYPE_IN_TOTO`], 1 to
    /// [`MAX_SIGNATURES`] signatures, keyids unique and valid identity names, each `sig` the
    /// length of an Ed25519 or ML-DSA-65 signature.
    ///
    /// # Errors
    /// [`AttestationError::PayloadType`] or [`AttestationError::Envelope`].
    pub fn check_shape(&self) -> Result<(), AttestationError> {
        if self.payload_type != PAYLOAD_TYPE_IN_TOTO {
            return Err(AttestationError::PayloadType {
                found: clip(&self.payload_type),
                expected: PAYLOAD_TYPE_IN_TOTO,
            });
        }
        if self.signatures.is_empty() {
            return Err(envelope_err(
                "signatures",
                "must hold at least one signature",
            ));
        }
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(envelope_err(
                "signatures",
                format!(
                    "holds {} signatures, at most {MAX_SIGNATURES}",
                    self.signatures.len()
                ),
            ));
        }
        let mut seen = HashSet::with_capacity(self.signatures.len());
        for (i, s) in self.signatures.iter().enumerate() {
            if let Some(p) = name_problem(&s.keyid) {
                return Err(envelope_err(
                    format!("signatures[{i}].keyid"),
                    format!("{:?} is not an identity id: {p}", clip(&s.keyid)),
                ));
            }
            if !seen.insert(s.keyid.as_str()) {
                return Err(envelope_err(
                    format!("signatures[{i}].keyid"),
                    format!("{:?} signs more than once", s.keyid),
                ));
            }
            if !Algorithm::ALL
                .iter()
                .any(|a| a.signature_len() == s.sig.len())
            {
                return Err(envelope_err(
                    format!("signatures[{i}].sig"),
                    format!(
                        "is {} bytes; an Ed25519 signature is {} and an ML-DSA-65 one {}",
                        s.sig.len(),
                        Algorithm::Ed25519.signature_len(),
                        Algorithm::MlDsa65.signature_len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Verifies signature `index` under `key` over PAE.
    ///
    /// # Errors
    /// [`AttestationError::Envelope`] if there is no such signature,
    /// [`AttestationError::Signature`] if it has the wrong length for `key` or does not verify.
    pub fn verify_signature(&self, index: usize, key: &PublicKey) -> Result<(), AttestationError> {
        let s = self.signatures.get(index).ok_or_else(|| {
            envelope_err(
                format!("signatures[{index}]"),
                format!("no such signature ({} present)", self.signatures.len()),
            )
        })?;
        let fail = |reason: String| AttestationError::Signature {
            index,
            keyid: clip(&s.keyid),
            reason,
        };
        let sig =
            Signature::from_bytes(key.algorithm(), &s.sig).map_err(|e| fail(e.to_string()))?;
        key.verify(b"", &self.pae(), &sig)
            .map_err(|e| fail(e.to_string()))
    }

    /// Every stateless check, in the order a validator runs them: [`Envelope::check_shape`],
    /// [`parse_statement`], [`check_predicate`]. Signatures need the registry and are not
    /// checked.
    ///
    /// # Errors
    /// The first failing check's error.
    pub fn check_stateless(&self) -> Result<Statement, AttestationError> {
        self.check_shape()?;
        let statement = parse_statement(&self.payload)?;
        check_predicate(&statement.predicate_type, &statement.predicate)?;
        check_session_claims(&statement, self)?;
        Ok(statement)
    }
}

/// The agent-session claims that involve the envelope and the subjects, not the predicate
/// alone: `agentId` is one of the signers (every signature must verify on chain, so the
/// agent really signed its session) and `artifacts` is the number of subjects. Other
/// predicate types: `Ok`.
///
/// # Errors
/// [`AttestationError::Predicate`].
pub fn check_session_claims(
    statement: &Statement,
    envelope: &Envelope,
) -> Result<(), AttestationError> {
    if statement.predicate_type != PREDICATE_AGENT_SESSION_V1 {
        return Ok(());
    }
    let p = AgentSessionPredicate::parse(&statement.predicate)?;
    let bad = |path: &str, reason: String| AttestationError::Predicate {
        predicate_type: PREDICATE_AGENT_SESSION_V1.to_owned(),
        path: path.to_owned(),
        reason,
    };
    if !envelope.signatures.iter().any(|s| s.keyid == p.agent_id) {
        return Err(bad(
            "predicate.agentId",
            format!("`{}` did not sign the envelope", p.agent_id),
        ));
    }
    if p.artifacts != statement.subjects.len() as u64 {
        return Err(bad(
            "predicate.artifacts",
            format!(
                "is {} but the statement has {} subjects",
                p.artifacts,
                statement.subjects.len()
            ),
        ));
    }
    Ok(())
}

fn str_field<'a>(
    obj: &'a cjson::Object,
    parent: &str,
    key: &str,
) -> Result<&'a str, AttestationError> {
    let path = member_path(parent, key);
    match obj.get(key) {
        None => Err(envelope_err(path, "is missing")),
        Some(v) => v
            .as_str()
            .ok_or_else(|| envelope_err(path, format!("must be a string, not {}", json_kind(v)))),
    }
}

fn b64_field(obj: &cjson::Object, parent: &str, key: &str) -> Result<Vec<u8>, AttestationError> {
    let text = str_field(obj, parent, key)?;
    b64_decode(text).map_err(|e| envelope_err(member_path(parent, key), e))
}

fn json_kind(v: &cjson::Value) -> &'static str {
    match v {
        cjson::Value::Null => "null",
        cjson::Value::Bool(_) => "a boolean",
        cjson::Value::Int(_) | cjson::Value::Float(_) => "a number",
        cjson::Value::String(_) => "a string",
        cjson::Value::Array(_) => "an array",
        cjson::Value::Object(_) => "an object",
    }
}

fn serde_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// Digests

/// Exact hex lengths of the digest algorithms with a fixed output size.
const KNOWN_DIGESTS: [(&str, &[usize]); 18] = [
    ("sha1", &[40]),
    ("sha224", &[56]),
    ("sha256", &[64]),
    ("sha384", &[96]),
    ("sha512", &[128]),
    ("sha512_224", &[56]),
    ("sha512_256", &[64]),
    ("sha3_224", &[56]),
    ("sha3_256", &[64]),
    ("sha3_384", &[96]),
    ("sha3_512", &[128]),
    ("md5", &[32]),
    ("ripemd160", &[40]),
    ("sm3", &[64]),
    // Git object ids: SHA-1 or SHA-256 repositories.
    ("gitCommit", &[40, 64]),
    ("gitTree", &[40, 64]),
    ("gitBlob", &[40, 64]),
    ("gitTag", &[40, 64]),
];

/// The canonical spelling of a known algorithm named in any capitalisation.
fn known_digest(alg: &str) -> Option<(&'static str, &'static [usize])> {
    KNOWN_DIGESTS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(alg))
        .copied()
}

/// Why a digest algorithm name is refused (as written in a Statement), or `None`.
fn digest_algorithm_problem(alg: &str) -> Option<String> {
    if alg.is_empty() || alg.len() > MAX_DIGEST_ALGORITHM_LEN {
        return Some(format!(
            "a digest algorithm name is 1 to {MAX_DIGEST_ALGORITHM_LEN} bytes"
        ));
    }
    if !alg
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Some("a digest algorithm name is made of A-Z a-z 0-9 _ -".into());
    }
    match known_digest(alg) {
        Some((canonical, _)) if canonical != alg => Some(format!("must be spelled {canonical}")),
        _ => None,
    }
}

/// Why a digest value is refused for `alg` (canonically spelled), or `None`.
fn digest_value_problem(alg: &str, value: &str) -> Option<String> {
    let is_hex = value
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let expected = match known_digest(alg) {
        Some((_, [n])) => format!("{n} lowercase hex characters"),
        Some((_, lens)) => {
            let lens: Vec<String> = lens.iter().map(ToString::to_string).collect();
            format!("{} lowercase hex characters", lens.join(" or "))
        }
        None => format!("an even number (2 to {MAX_DIGEST_HEX_LEN}) of lowercase hex characters"),
    };
    let length_ok = match known_digest(alg) {
        Some((_, lens)) => lens.contains(&value.len()),
        None => !value.is_empty() && value.len() <= MAX_DIGEST_HEX_LEN && value.len() % 2 == 0,
    };
    if is_hex && length_ok {
        None
    } else {
        Some(format!("expected {expected}"))
    }
}

/// Normalizes a user-given digest reference (`"sha256:ABC.."` -> `"sha256:abc.."`; a known
/// algorithm in any capitalisation gets its canonical spelling), rejecting malformed ones.
///
/// # Errors
/// [`AttestationError::DigestRef`].
pub fn normalize_digest_ref(s: &str) -> Result<String, AttestationError> {
    let fail = |reason: String| AttestationError::DigestRef {
        input: clip(s),
        reason,
    };
    let (alg, value) = s
        .split_once(':')
        .ok_or_else(|| fail("expected \"<algorithm>:<hex>\", e.g. \"sha256:…\"".into()))?;
    let alg = known_digest(alg).map_or(alg, |(canonical, _)| canonical);
    if let Some(p) = digest_algorithm_problem(alg) {
        return Err(fail(p));
    }
    let value = value.to_ascii_lowercase();
    if let Some(p) = digest_value_problem(alg, &value) {
        return Err(fail(format!("{alg}: {p}")));
    }
    Ok(format!("{alg}:{value}"))
}

// ---------------------------------------------------------------------------------------------
// Statement

/// One subject (resource descriptor) of a Statement, as the chain sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// The descriptor's `name`, if any.
    pub name: Option<String>,
    /// `(algorithm, lowercase hex)`, in JSON key order.
    pub digests: Vec<(String, String)>,
}

impl Subject {
    /// `"<alg>:<hex>"` for each digest.
    pub fn digest_refs(&self) -> impl Iterator<Item = String> + '_ {
        self.digests.iter().map(|(alg, hex)| format!("{alg}:{hex}"))
    }
}

/// A validated in-toto Statement v1.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The subjects, in order.
    pub subjects: Vec<Subject>,
    /// `predicateType`.
    pub predicate_type: String,
    /// `predicate` (always a JSON object once parsed). Integers must fit in 64 bits (signed or
    /// unsigned): a statement holding a larger one is invalid.
    pub predicate: serde_json::Value,
}

impl Statement {
    /// Every subject digest as `"<alg>:<hex>"`, sorted and deduplicated (what the chain
    /// indexes).
    #[must_use]
    pub fn subject_digests(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .subjects
            .iter()
            .flat_map(Subject::digest_refs)
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Builds the JSON payload bytes (keys sorted at every level, compact, UTF-8) for a new
    /// statement: `{"_type":STATEMENT_TYPE_V1,"predicate":..,"predicateType":..,"subject":[..]}`.
    #[must_use]
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let subjects: Vec<cjson::Value> = self
            .subjects
            .iter()
            .map(|s| {
                let mut digest = cjson::Object::new();
                for (alg, hex) in &s.digests {
                    digest.insert(alg.clone(), cjson::Value::from(hex.as_str()));
                }
                let mut o = cjson::Object::new();
                o.insert("digest", cjson::Value::Object(digest));
                if let Some(name) = &s.name {
                    o.insert("name", cjson::Value::from(name.as_str()));
                }
                cjson::Value::Object(o)
            })
            .collect();
        let mut root = cjson::Object::new();
        root.insert("_type", cjson::Value::from(STATEMENT_TYPE_V1));
        root.insert("subject", cjson::Value::Array(subjects));
        root.insert(
            "predicateType",
            cjson::Value::from(self.predicate_type.as_str()),
        );
        root.insert("predicate", from_serde(&self.predicate));
        // The canonical writer sorts keys itself, whatever serde_json's map order is.
        cjson::canon_bytes(&cjson::Value::Object(root))
    }
}

fn from_serde(v: &serde_json::Value) -> cjson::Value {
    match v {
        serde_json::Value::Null => cjson::Value::Null,
        serde_json::Value::Bool(b) => cjson::Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                cjson::Value::Int(JsonInt::from_i64(i))
            } else if let Some(u) = n.as_u64() {
                cjson::Value::Int(JsonInt {
                    text: u.to_string().into_boxed_str(),
                })
            } else {
                // serde_json numbers are always finite.
                cjson::Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => cjson::Value::String(s.clone()),
        serde_json::Value::Array(a) => cjson::Value::Array(a.iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => {
            cjson::Value::Object(o.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect())
        }
    }
}

fn to_serde(v: &cjson::Value) -> Result<serde_json::Value, &'static str> {
    Ok(match v {
        cjson::Value::Null => serde_json::Value::Null,
        cjson::Value::Bool(b) => serde_json::Value::Bool(*b),
        // An explicit 64-bit rule: what serde_json accepts depends on its build features, and
        // validity must not.
        cjson::Value::Int(i) => match (i.text.parse::<u64>(), i.text.parse::<i64>()) {
            (Ok(u), _) => serde_json::Value::from(u),
            (_, Ok(s)) => serde_json::Value::from(s),
            _ => return Err("holds an integer beyond 64 bits"),
        },
        cjson::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or("holds a non-finite number")?,
        cjson::Value::String(s) => serde_json::Value::String(s.clone()),
        cjson::Value::Array(a) => {
            serde_json::Value::Array(a.iter().map(to_serde).collect::<Result<_, _>>()?)
        }
        cjson::Value::Object(o) => serde_json::Value::Object(
            o.iter()
                .map(|(k, v)| Ok((k.to_owned(), to_serde(v)?)))
                .collect::<Result<_, &'static str>>()?,
        ),
    })
}

/// Parses and validates an in-toto Statement v1 payload (strict; the profile is in the module
/// docs).
///
/// # Errors
/// [`AttestationError::Statement`] naming the first offending field.
pub fn parse_statement(payload: &[u8]) -> Result<Statement, AttestationError> {
    let doc = cjson::parse(payload, ParseMode::Strict)
        .map_err(|e| statement_err("payload", format!("not valid JSON: {e}")))?;
    let root = doc.as_object().ok_or_else(|| {
        statement_err(
            "payload",
            format!("must be a JSON object, not {}", json_kind(&doc)),
        )
    })?;
    const FIELDS: [&str; 4] = ["_type", "subject", "predicateType", "predicate"];
    if let Some(k) = root.keys().find(|k| !FIELDS.contains(k)) {
        return Err(statement_err(
            member_path("", k),
            "unknown field; a Statement v1 has only _type, subject, predicateType and predicate",
        ));
    }

    match root.get("_type") {
        None => return Err(statement_err("_type", "is missing")),
        Some(cjson::Value::String(t)) if t == STATEMENT_TYPE_V1 => {}
        Some(cjson::Value::String(t)) => {
            return Err(statement_err(
                "_type",
                format!("is {:?}, expected {STATEMENT_TYPE_V1:?}", clip(t)),
            ));
        }
        Some(v) => {
            return Err(statement_err(
                "_type",
                format!("must be a string, not {}", json_kind(v)),
            ));
        }
    }

    let subjects = match root.get("subject") {
        None => return Err(statement_err("subject", "is missing")),
        Some(v) => v.as_array().ok_or_else(|| {
            statement_err("subject", format!("must be an array, not {}", json_kind(v)))
        })?,
    };
    if subjects.is_empty() {
        return Err(statement_err("subject", "must name at least one subject"));
    }
    if subjects.len() > MAX_SUBJECTS {
        return Err(statement_err(
            "subject",
            format!("has {} subjects, at most {MAX_SUBJECTS}", subjects.len()),
        ));
    }
    let subjects = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| parse_subject(&format!("subject[{i}]"), s))
        .collect::<Result<Vec<_>, _>>()?;

    let predicate_type = match root.get("predicateType") {
        None => return Err(statement_err("predicateType", "is missing")),
        Some(v) => v.as_str().ok_or_else(|| {
            statement_err(
                "predicateType",
                format!("must be a string, not {}", json_kind(v)),
            )
        })?,
    };
    if let Some(p) = predicate_type_problem(predicate_type) {
        return Err(statement_err("predicateType", p));
    }

    let predicate = match root.get("predicate") {
        None => {
            return Err(statement_err(
                "predicate",
                "is missing (Maat requires a predicate object)",
            ));
        }
        Some(v @ cjson::Value::Object(_)) => {
            to_serde(v).map_err(|e| statement_err("predicate", e))?
        }
        Some(v) => {
            return Err(statement_err(
                "predicate",
                format!("must be a JSON object, not {}", json_kind(v)),
            ));
        }
    };

    Ok(Statement {
        subjects,
        predicate_type: predicate_type.to_owned(),
        predicate,
    })
}

fn parse_subject(at: &str, v: &cjson::Value) -> Result<Subject, AttestationError> {
    let o = v.as_object().ok_or_else(|| {
        statement_err(
            at,
            format!("must be a resource descriptor object, not {}", json_kind(v)),
        )
    })?;
    if let Some(k) = o.keys().find(|k| !DESCRIPTOR_FIELDS.contains(k)) {
        return Err(statement_err(
            member_path(at, k),
            "unknown field; a resource descriptor has only name, uri, digest, content, \
             downloadLocation, mediaType and annotations",
        ));
    }
    for key in ["name", "uri", "content", "downloadLocation", "mediaType"] {
        if let Some(v) = o.get(key)
            && !matches!(v, cjson::Value::String(_))
        {
            return Err(statement_err(
                member_path(at, key),
                format!("must be a string, not {}", json_kind(v)),
            ));
        }
    }
    if let Some(v) = o.get("annotations")
        && !matches!(v, cjson::Value::Object(_))
    {
        return Err(statement_err(
            member_path(at, "annotations"),
            format!("must be an object, not {}", json_kind(v)),
        ));
    }
    let name = o.get("name").and_then(cjson::Value::as_str);
    if let Some(n) = name
        && n.len() > MAX_SUBJECT_NAME_LEN
    {
        return Err(statement_err(
            member_path(at, "name"),
            format!("is {} bytes, at most {MAX_SUBJECT_NAME_LEN}", n.len()),
        ));
    }

    let digest_at = member_path(at, "digest");
    let digest = match o.get("digest") {
        None => {
            return Err(statement_err(
                digest_at,
                "is missing (every subject needs a digest)",
            ));
        }
        Some(v) => v.as_object().ok_or_else(|| {
            statement_err(
                &digest_at,
                format!("must be an object, not {}", json_kind(v)),
            )
        })?,
    };
    if digest.is_empty() {
        return Err(statement_err(digest_at, "must hold at least one digest"));
    }
    if digest.len() > MAX_DIGESTS_PER_SUBJECT {
        return Err(statement_err(
            digest_at,
            format!(
                "holds {} digests, at most {MAX_DIGESTS_PER_SUBJECT}",
                digest.len()
            ),
        ));
    }
    let mut digests = Vec::with_capacity(digest.len());
    for (alg, value) in digest.iter() {
        let path = member_path(&digest_at, alg);
        if let Some(p) = digest_algorithm_problem(alg) {
            return Err(statement_err(path, p));
        }
        let value = value.as_str().ok_or_else(|| {
            statement_err(
                &path,
                format!("must be a hex string, not {}", json_kind(value)),
            )
        })?;
        if let Some(p) = digest_value_problem(alg, value) {
            return Err(statement_err(path, p));
        }
        digests.push((alg.to_owned(), value.to_owned()));
    }
    Ok(Subject {
        name: name.map(str::to_owned),
        digests,
    })
}

fn predicate_type_problem(t: &str) -> Option<String> {
    if t.is_empty() {
        return Some("must not be empty".into());
    }
    if t.len() > MAX_PREDICATE_TYPE_LEN {
        return Some(format!(
            "is {} bytes, at most {MAX_PREDICATE_TYPE_LEN}",
            t.len()
        ));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain whitespace or control characters".into());
    }
    let uri_like = t.split_once(':').is_some_and(|(scheme, rest)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.is_empty()
    });
    if uri_like {
        None
    } else {
        Some(format!(
            "{:?} is not a URI (expected a scheme such as \"https:\")",
            clip(t)
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Predicates

/// Structural check of a known predicate (SLSA provenance v1; Maat agent session v1); unknown
/// types: `Ok(())` (whether they are allowed is the chain's decision, not this module's).
///
/// # Errors
/// [`AttestationError::Predicate`] naming the field, e.g. `predicate.runDetails.builder.id`.
pub fn check_predicate(
    predicate_type: &str,
    predicate: &serde_json::Value,
) -> Result<(), AttestationError> {
    let result = match predicate_type {
        PREDICATE_SLSA_PROVENANCE_V1 => check_slsa_provenance(predicate),
        PREDICATE_AGENT_SESSION_V1 => AgentSessionPredicate::from_value(predicate)
            .and_then(|p| p.problem().map_or(Ok(()), Err)),
        _ => Ok(()),
    };
    result.map_err(|(path, reason)| AttestationError::Predicate {
        predicate_type: predicate_type.to_owned(),
        path,
        reason,
    })
}

type Problem = (String, String);

fn problem(path: impl Into<String>, reason: impl Into<String>) -> Problem {
    (path.into(), reason.into())
}

fn obj_of<'a>(
    v: &'a serde_json::Value,
    path: &str,
) -> Result<&'a serde_json::Map<String, serde_json::Value>, Problem> {
    v.as_object()
        .ok_or_else(|| problem(path, format!("must be an object, not {}", serde_kind(v))))
}

fn required<'a>(
    o: &'a serde_json::Map<String, serde_json::Value>,
    parent: &str,
    key: &str,
) -> Result<&'a serde_json::Value, Problem> {
    o.get(key)
        .ok_or_else(|| problem(member_path(parent, key), "is missing"))
}

fn non_empty_string(v: &serde_json::Value, path: &str) -> Result<(), Problem> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Ok(()),
        serde_json::Value::String(_) => Err(problem(path, "must not be empty")),
        other => Err(problem(
            path,
            format!("must be a string, not {}", serde_kind(other)),
        )),
    }
}

fn optional_of(
    o: &serde_json::Map<String, serde_json::Value>,
    parent: &str,
    key: &str,
    check: impl Fn(&serde_json::Value, &str) -> Result<(), Problem>,
) -> Result<(), Problem> {
    match o.get(key) {
        None => Ok(()),
        Some(v) => check(v, &member_path(parent, key)),
    }
}

fn is_object(v: &serde_json::Value, path: &str) -> Result<(), Problem> {
    obj_of(v, path).map(|_| ())
}

fn is_string(v: &serde_json::Value, path: &str) -> Result<(), Problem> {
    match v {
        serde_json::Value::String(_) => Ok(()),
        other => Err(problem(
            path,
            format!("must be a string, not {}", serde_kind(other)),
        )),
    }
}

fn is_string_map(v: &serde_json::Value, path: &str) -> Result<(), Problem> {
    for (k, v) in obj_of(v, path)? {
        is_string(v, &member_path(path, k))?;
    }
    Ok(())
}

/// An SLSA resource descriptor: known fields well-typed, at least one of uri, digest, content.
fn is_descriptor(v: &serde_json::Value, path: &str) -> Result<(), Problem> {
    let o = obj_of(v, path)?;
    for key in ["name", "uri", "content", "downloadLocation", "mediaType"] {
        optional_of(o, path, key, is_string)?;
    }
    optional_of(o, path, "digest", is_string_map)?;
    optional_of(o, path, "annotations", is_object)?;
    if !["uri", "digest", "content"]
        .iter()
        .any(|k| o.contains_key(*k))
    {
        return Err(problem(
            path,
            "a resource descriptor needs at least one of uri, digest, content",
        ));
    }
    Ok(())
}

fn is_descriptor_list(v: &serde_json::Value, path: &str) -> Result<(), Problem> {
    let items = v
        .as_array()
        .ok_or_else(|| problem(path, format!("must be an array, not {}", serde_kind(v))))?;
    for (i, item) in items.iter().enumerate() {
        is_descriptor(item, &format!("{path}[{i}]"))?;
    }
    Ok(())
}

fn check_slsa_provenance(predicate: &serde_json::Value) -> Result<(), Problem> {
    let p = obj_of(predicate, "predicate")?;

    let at = "predicate.buildDefinition";
    let bd = obj_of(required(p, "predicate", "buildDefinition")?, at)?;
    non_empty_string(
        required(bd, at, "buildType")?,
        &member_path(at, "buildType"),
    )?;
    is_object(
        required(bd, at, "externalParameters")?,
        &member_path(at, "externalParameters"),
    )?;
    optional_of(bd, at, "internalParameters", is_object)?;
    optional_of(bd, at, "resolvedDependencies", is_descriptor_list)?;

    let at = "predicate.runDetails";
    let rd = obj_of(required(p, "predicate", "runDetails")?, at)?;
    let builder_at = member_path(at, "builder");
    let builder = obj_of(required(rd, at, "builder")?, &builder_at)?;
    non_empty_string(
        required(builder, &builder_at, "id")?,
        &member_path(&builder_at, "id"),
    )?;
    optional_of(builder, &builder_at, "version", is_string_map)?;
    optional_of(
        builder,
        &builder_at,
        "builderDependencies",
        is_descriptor_list,
    )?;
    optional_of(rd, at, "metadata", |v, path| {
        let m = obj_of(v, path)?;
        for key in ["invocationId", "startedOn", "finishedOn"] {
            optional_of(m, path, key, is_string)?;
        }
        Ok(())
    })?;
    optional_of(rd, at, "byproducts", is_descriptor_list)?;
    Ok(())
}

/// The intent hash chain of an agent session (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntentChain {
    /// Number of requests in the chain.
    pub entries: u64,
    /// `h_n` as 64 lowercase hex ([`intent_chain_head`]).
    pub head: String,
    /// The request hashes `r_1..r_n` as 64 lowercase hex, or empty when withheld.
    #[serde(default)]
    pub request_sha256: Vec<String>,
}

/// The Maat agent-session predicate ([`PREDICATE_AGENT_SESSION_V1`]; fields and rules in the
/// module docs), used by `maat attest run` and by [`check_predicate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentSessionPredicate {
    /// The agent's identity id.
    pub agent_id: String,
    /// The session's id.
    pub session_id: String,
    /// The session's intent hash chain.
    pub intent_chain: IntentChain,
    /// SHA-256 of the task specification file's bytes, 64 lowercase hex.
    pub task_parameters_sha256: String,
    /// Number of output files (the Statement's subjects).
    pub artifacts: u64,
    /// When the session started, `YYYY-MM-DDTHH:MM:SS[.f]Z`.
    pub started_on: String,
    /// When the session finished, same form, not before `started_on`.
    pub finished_on: String,
    /// What ran the agent, if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
}

/// `h_n` of the intent hash chain: `h_0` = 32 zero bytes, `h_i = SHA-256(h_{i-1} || r_i)`.
#[must_use]
pub fn intent_chain_head(request_hashes: &[[u8; 32]]) -> [u8; 32] {
    let mut head = [0u8; 32];
    let mut buf = [0u8; 64];
    for r in request_hashes {
        buf[..32].copy_from_slice(&head);
        buf[32..].copy_from_slice(r);
        head = maat_crypto::sha256(&buf);
    }
    head
}

impl AgentSessionPredicate {
    /// The predicate as a JSON value (for [`Statement::predicate`]).
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        // Only strings, integers, arrays and objects: serialisation cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Reads and checks an agent-session predicate.
    ///
    /// # Errors
    /// [`AttestationError::Predicate`] naming the field.
    pub fn parse(predicate: &serde_json::Value) -> Result<Self, AttestationError> {
        let wrap = |(path, reason): Problem| AttestationError::Predicate {
            predicate_type: PREDICATE_AGENT_SESSION_V1.to_owned(),
            path,
            reason,
        };
        let p = Self::from_value(predicate).map_err(wrap)?;
        p.check()?;
        Ok(p)
    }

    /// Checks the rules beyond the JSON types (module docs).
    ///
    /// # Errors
    /// [`AttestationError::Predicate`] naming the field.
    pub fn check(&self) -> Result<(), AttestationError> {
        self.problem().map_or(Ok(()), |(path, reason)| {
            Err(AttestationError::Predicate {
                predicate_type: PREDICATE_AGENT_SESSION_V1.to_owned(),
                path,
                reason,
            })
        })
    }

    fn from_value(v: &serde_json::Value) -> Result<Self, Problem> {
        obj_of(v, "predicate")?;
        // Deserialise the nested object on its own first, so its errors get its path.
        if let Some(ic) = v.get("intentChain") {
            IntentChain::deserialize(ic)
                .map_err(|e| problem("predicate.intentChain", e.to_string()))?;
        }
        Self::deserialize(v).map_err(|e| problem("predicate", e.to_string()))
    }

    fn problem(&self) -> Option<Problem> {
        for (key, id) in [("agentId", &self.agent_id), ("sessionId", &self.session_id)] {
            if let Some(p) = name_problem(id) {
                return Some(problem(
                    format!("predicate.{key}"),
                    format!("{:?} is not a valid name: {p}", clip(id)),
                ));
            }
        }
        let ic = &self.intent_chain;
        let head = match parse_sha256_hex(&ic.head) {
            Some(h) => h,
            None => {
                return Some(problem(
                    "predicate.intentChain.head",
                    "expected 64 lowercase hex characters",
                ));
            }
        };
        let mut requests = Vec::with_capacity(ic.request_sha256.len());
        for (i, r) in ic.request_sha256.iter().enumerate() {
            match parse_sha256_hex(r) {
                Some(r) => requests.push(r),
                None => {
                    return Some(problem(
                        format!("predicate.intentChain.requestSha256[{i}]"),
                        "expected 64 lowercase hex characters",
                    ));
                }
            }
        }
        if ic.entries == 0 && head != [0u8; 32] {
            return Some(problem(
                "predicate.intentChain.head",
                "must be 64 zeros when entries is 0",
            ));
        }
        if !requests.is_empty() {
            if u64::try_from(requests.len()).ok() != Some(ic.entries) {
                return Some(problem(
                    "predicate.intentChain.requestSha256",
                    format!(
                        "holds {} hashes but entries is {}; list all of them or none",
                        requests.len(),
                        ic.entries
                    ),
                ));
            }
            if intent_chain_head(&requests) != head {
                return Some(problem(
                    "predicate.intentChain.head",
                    "is not the hash chain of requestSha256",
                ));
            }
        }
        if parse_sha256_hex(&self.task_parameters_sha256).is_none() {
            return Some(problem(
                "predicate.taskParametersSha256",
                "expected 64 lowercase hex characters",
            ));
        }
        let started = match parse_utc_timestamp(&self.started_on) {
            Ok(t) => t,
            Err(e) => return Some(problem("predicate.startedOn", e)),
        };
        let finished = match parse_utc_timestamp(&self.finished_on) {
            Ok(t) => t,
            Err(e) => return Some(problem("predicate.finishedOn", e)),
        };
        if finished < started {
            return Some(problem(
                "predicate.finishedOn",
                format!(
                    "{} is before startedOn {}",
                    clip(&self.finished_on),
                    clip(&self.started_on)
                ),
            ));
        }
        if let Some(r) = &self.runner
            && (r.is_empty() || r.len() > MAX_RUNNER_LEN || r.chars().any(char::is_control))
        {
            return Some(problem(
                "predicate.runner",
                format!("must be 1 to {MAX_RUNNER_LEN} bytes without control characters"),
            ));
        }
        None
    }
}

/// 64 lowercase hex characters as 32 bytes.
fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// A parsed `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, ordered by time.
type UtcTimestamp = (u32, u32, u32, u32, u32, u32, u32);

/// Parses an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` with a real calendar date
/// (no leap seconds, no offsets other than `Z`).
fn parse_utc_timestamp(s: &str) -> Result<UtcTimestamp, String> {
    let bad = || {
        format!(
            "{:?} is not an RFC 3339 UTC time YYYY-MM-DDTHH:MM:SS[.fff]Z",
            clip(s)
        )
    };
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits.iter().try_fold(0u32, |acc, d| {
            acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        })
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return Err(bad());
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return Err(bad());
    };
    let rest = b.get(19..).ok_or_else(bad)?;
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', frac @ .., b'Z']
            if (1..=9).contains(&frac.len()) && frac.iter().all(u8::is_ascii_digit) =>
        {
            // Right-pad to nanoseconds so ".5" and ".500" compare equal.
            let mut n = 0u32;
            for i in 0..9 {
                n = n * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
            }
            n
        }
        _ => return Err(bad()),
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("{:?}: month {month} does not exist", clip(s))),
    };
    if day == 0 || day > days_in_month {
        return Err(format!(
            "{:?}: day {day} does not exist in that month",
            clip(s)
        ));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("{:?}: time of day out of range", clip(s)));
    }
    Ok((year, month, day, hour, minute, second, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_variants() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = b64_encode(&data);
            assert_eq!(b64_decode(&text).unwrap(), data, "{text}");
            let unpadded = text.trim_end_matches('=');
            assert_eq!(b64_decode(unpadded).unwrap(), data);
            let url = unpadded.replace('+', "-").replace('/', "_");
            assert_eq!(b64_decode(&url).unwrap(), data);
        }
        assert_eq!(b64_encode(b"hello world"), "aGVsbG8gd29ybGQ=");
        assert_eq!(b64_encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(b64_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        // Valid unpadded, as the DSSE spec's URL-safe examples are.
        assert_eq!(b64_decode("aGVsbG8gd29ybGQ").unwrap(), b"hello world");
        for bad in [
            "+_8=",               // mixed alphabets
            "aGVsbG8gd29ybGR=",   // unused trailing bits set
            "a",                  // one character left over
            "aa=",                // padded but not a multiple of 4
            "a=aa",               // padding in the middle
            "aG Vs",              // whitespace
            "aGVsbG8gd29ybGQ===", // too much padding
        ] {
            assert!(b64_decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        let ok = [
            "2024-02-29T23:59:59Z",
            "2000-02-29T00:00:00.5Z",
            "2025-12-31T12:00:00.123456789Z",
        ];
        for s in ok {
            assert!(parse_utc_timestamp(s).is_ok(), "{s}");
        }
        let bad = [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+00:00",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-1-01T00:00:00Z",
            "+024-01-01T00:00:00Z",
            "",
        ];
        for s in bad {
            assert!(parse_utc_timestamp(s).is_err(), "{s}");
        }
        assert_eq!(
            parse_utc_timestamp("2024-01-01T00:00:00.5Z"),
            parse_utc_timestamp("2024-01-01T00:00:00.500Z")
        );
        assert!(
            parse_utc_timestamp("2024-01-01T00:00:00.09Z").unwrap()
                < parse_utc_timestamp("2024-01-01T00:00:00.1Z").unwrap()
        );
    }

    #[test]
    fn digest_rules() {
        let h = |n: usize| "a".repeat(n);
        assert_eq!(digest_value_problem("sha256", &h(64)), None);
        assert!(digest_value_problem("sha256", &h(62)).is_some());
        assert!(digest_value_problem("sha256", &"A".repeat(64)).is_some());
        assert_eq!(digest_value_problem("gitCommit", &h(40)), None);
        assert_eq!(digest_value_problem("gitCommit", &h(64)), None);
        assert!(digest_value_problem("gitCommit", &h(50)).is_some());
        assert_eq!(digest_value_problem("blake2b", &h(2)), None);
        assert!(digest_value_problem("blake2b", &h(3)).is_some());
        assert!(digest_value_problem("blake2b", "").is_some());
        assert!(digest_value_problem("blake2b", &h(258)).is_some());
        assert_eq!(digest_algorithm_problem("dirHash"), None);
        assert!(digest_algorithm_problem("SHA256").is_some());
        assert!(digest_algorithm_problem("sha 256").is_some());
        assert!(digest_algorithm_problem(&"x".repeat(33)).is_some());
    }

    #[test]
    fn member_paths() {
        assert_eq!(member_path("", "subject"), "subject");
        assert_eq!(member_path("subject[0]", "digest"), "subject[0].digest");
        assert_eq!(member_path("a", "b.c"), "a[\"b.c\"]");
    }
}
