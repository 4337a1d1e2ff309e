//! Transparency-log checkpoints in the C2SP `tlog-checkpoint` signed-note format, cosigned by
//! validators (PROTOCOL.md, "Finality proofs and the transparency log").
//!
//! A checkpoint note, byte for byte (`docs/CHECKPOINTS.md` is the full description):
//!
//! ```text
//! <origin>\n                      the chain id
//! <tree size>\n                   ASCII decimal, no leading zeros
//! <base64 root>\n                 standard padded base64 of the 32-byte RFC 6962 root
//! \n                              the blank line that ends the note text
//! — <key name> <base64(key ID || signature)>\n      one line per cosignature
//! ```
//!
//! - Note format: c2sp.org/signed-note. Body format: c2sp.org/tlog-checkpoint, with no extension
//!   lines.
//! - Validators cosign with ML-DSA-65. That algorithm has no signed-note type byte (`0x06` is the
//!   *timestamped ML-DSA-44* cosignature of c2sp.org/tlog-cosignature, a different algorithm and
//!   message), so Maat uses the spec's escape for unassigned types: `0xff` followed by the
//!   identifier [`MLDSA65_TYPE_ID`] (see [`SIG_TYPE_MLDSA65`]).
//! - The ML-DSA-65 signature is FIPS 204 `ML-DSA.Sign` with an empty context over
//!   [`CHECKPOINT_DOMAIN`]` || note text`, the same domain-prefix convention as every other
//!   Maat signature, so a cosignature can never be replayed as a vote, timeout, proposal,
//!   transaction or evidence signature (the domains differ right after `maat/`).
//! - Ed25519 (type `0x01`, signature over the bare note text) is supported for verification and
//!   key ids, so ordinary signed notes (the Go checksum database's, the C2SP examples) verify
//!   with the same code; [`cosign`] only signs with ML-DSA-65.
//! - A cosigner's key name is [`cosigner_key_name`]`(origin, validator id)` =
//!   `<origin>/<validator id>` with `%` and `+` percent-escaped.
//! - [`verify_cosigned`] counts the voting power of distinct known keys with a valid signature;
//!   the checkpoint is final when that power reaches the quorum (2f+1 by power:
//!   [`bft_quorum_power`]).
//!
//! Everything here is pure and deterministic except [`cosign`] (hedged ML-DSA signing, see
//! [`KeyPair::sign`]); [`cosign_deterministic`] gives reproducible bytes. Parsing never panics:
//! every malformed input is an `Err`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::hash::sha256;
use crate::sig::{Algorithm, KeyPair, PublicKey, Signature};

/// Domain prepended to the note text before ML-DSA-65 signing: the signed message is
/// `"maat/checkpoint/v1\n" || note text` (FIPS 204 context string empty). Prefix-free with the
/// other Maat domains (`maat/vote/v1\0`, `maat/tx/v1\n`, `maat/evidence/v1\n`, ...).
pub const CHECKPOINT_DOMAIN: &[u8] = b"maat/checkpoint/v1\n";

/// Signed-note signature type byte of Ed25519 (c2sp.org/signed-note, "Signature types").
pub const SIG_TYPE_ED25519: u8 = 0x01;

/// The identifier that follows `0xff` in Maat's ML-DSA-65 signature type.
pub const MLDSA65_TYPE_ID: &[u8] = b"maat/checkpoint/mldsa65/v1";

/// Maat's signed-note signature type for ML-DSA-65 cosignatures: `0xff || MLDSA65_TYPE_ID`
/// (`0xff` is "reserved for signature types without an identifier byte assigned by this
/// specification ... followed by a longer identifier that is unlikely to collide").
pub const SIG_TYPE_MLDSA65: &[u8] = b"\xffmaat/checkpoint/mldsa65/v1";

/// Largest note [`SignedNote::parse`] accepts, in bytes. A quorum of the largest validator set
/// (1024, the genesis limit) is 683 ML-DSA-65 lines of about 4.5 KB each (3 MB); 8 MiB leaves
/// room for every validator and for foreign (witness) cosignatures.
pub const MAX_NOTE_BYTES: usize = 8 << 20;

/// Most signature lines [`SignedNote::parse`] accepts (the spec asks for at least 16). Twice the
/// genesis validator limit.
pub const MAX_NOTE_SIGNATURES: usize = 2048;

/// Longest origin [`Checkpoint::parse_body`] accepts, in bytes (chain ids are at most 128).
pub const MAX_ORIGIN_BYTES: usize = 1024;

/// The em dash and space that start every signature line (U+2014 U+0020).
const SIG_PREFIX: &str = "\u{2014} ";

/// Length of the base64 encoding of a 32-byte root hash.
const ROOT_B64_LEN: usize = 44;

/// Errors from parsing, signing and verifying checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note, checkpoint body, key name or verifier key is not in the required form; the
    /// string says what is wrong (it never echoes more than a few characters of the input).
    #[error("malformed checkpoint note: {0}")]
    Malformed(String),
    /// The checkpoint is for another log.
    #[error("checkpoint origin {got:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// The origin the caller expected (the chain id).
        expected: String,
        /// The origin line of the note (truncated to 64 characters).
        got: String,
    },
    /// A signature line from a known key (matching name and key id) does not verify.
    #[error("the signature by known key {key_name:?} does not verify")]
    BadSignature {
        /// The key name of the failing line.
        key_name: String,
    },
    /// The valid cosignatures of known keys carry less than the quorum power.
    #[error("cosignatures carry voting power {have}, {need} is needed")]
    BelowQuorum {
        /// Voting power of the distinct known keys whose signatures verified.
        have: u64,
        /// The quorum the caller asked for.
        need: u64,
    },
    /// The verifier set passed to [`verify_cosigned`] is unusable (two entries for one key, a
    /// total power that overflows, a zero quorum).
    #[error("invalid verifier set: {0}")]
    InvalidVerifierSet(String),
    /// [`cosign`] was given a key of an algorithm validators do not cosign with.
    #[error("cannot cosign with a {0} key: checkpoints are cosigned with ML-DSA-65")]
    UnsupportedKey(Algorithm),
}

fn malformed(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Malformed(reason.into())
}

fn truncate(s: &str, max_chars: usize) -> String {
    let mut out: String = s.chars().take(max_chars).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The quorum for a total voting power: strictly more than two thirds, `floor(2 * total / 3) + 1`
/// (the same rule as consensus QCs; 3 of 4 equal powers).
#[must_use]
pub fn bft_quorum_power(total_power: u64) -> u64 {
    // Below 2^64 for every u64 total: 2 * (2^64 - 1) / 3 + 1 < 2^64.
    ((u128::from(total_power) * 2) / 3 + 1) as u64
}

// ---------------------------------------------------------------------------------------------
// Names

/// Checks a signed-note key name: non-empty, no Unicode white space, no `+`, no control
/// characters (c2sp.org/signed-note, "Format"; the spec forbids controls below U+0020 in the
/// whole note, Maat refuses every `char::is_control` in names it creates or parses).
///
/// # Errors
/// [`CheckpointError::Malformed`] saying which rule failed.
pub fn validate_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty() {
        return Err(malformed("empty key name"));
    }
    if name.chars().any(char::is_whitespace) {
        return Err(malformed("key name contains white space"));
    }
    if name.contains('+') {
        return Err(malformed("key name contains '+'"));
    }
    if name.chars().any(char::is_control) {
        return Err(malformed("key name contains a control character"));
    }
    Ok(())
}

/// Checks a checkpoint origin: 1 to [`MAX_ORIGIN_BYTES`] bytes, no control characters, no
/// leading or trailing white space and no white space other than U+0020 inside.
///
/// tlog-checkpoint only requires a non-empty origin and recommends one without spaces; Maat's
/// origins (chain ids, `[A-Za-z0-9._:@+-]`) have none, and inner spaces are still accepted so
/// that existing logs' checkpoints (`go.sum database tree`) parse.
///
/// # Errors
/// [`CheckpointError::Malformed`] saying which rule failed.
pub fn validate_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(malformed("empty origin"));
    }
    if origin.len() > MAX_ORIGIN_BYTES {
        return Err(malformed(format!(
            "origin longer than {MAX_ORIGIN_BYTES} bytes"
        )));
    }
    if origin.chars().any(char::is_control) {
        return Err(malformed("origin contains a control character"));
    }
    if origin.starts_with(char::is_whitespace) || origin.ends_with(char::is_whitespace) {
        return Err(malformed("origin starts or ends with white space"));
    }
    if origin.chars().any(|c| c.is_whitespace() && c != ' ') {
        return Err(malformed("origin contains white space other than U+0020"));
    }
    Ok(())
}

/// The key name of a validator's cosigning key: `<origin>/<validator id>`, where every `%` is
/// written `%25` and every `+` is written `%2B` (key names may not contain `+`; chain ids and
/// validator ids may). The escaping is injective and the validator id contains no `/`, so
/// distinct `(origin, validator id)` pairs give distinct names.
///
/// # Errors
/// [`CheckpointError::Malformed`] if the origin is invalid ([`validate_origin`]), contains a
/// space (key names cannot), or the validator id is empty or contains `/`, white space or a
/// control character.
pub fn cosigner_key_name(origin: &str, validator_id: &str) -> Result<String, CheckpointError> {
    validate_origin(origin)?;
    if validator_id.is_empty() {
        return Err(malformed("empty validator id"));
    }
    if validator_id.contains('/') {
        return Err(malformed("validator id contains '/'"));
    }
    if validator_id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(malformed(
            "validator id contains white space or a control character",
        ));
    }
    let mut name = String::with_capacity(origin.len() + validator_id.len() + 8);
    for c in origin.chars().chain(['/']).chain(validator_id.chars()) {
        match c {
            '%' => name.push_str("%25"),
            '+' => name.push_str("%2B"),
            c => name.push(c),
        }
    }
    validate_key_name(&name)?;
    Ok(name)
}

// ---------------------------------------------------------------------------------------------
// Checkpoint body

/// A checkpoint: the log's origin (Maat: the chain id), its size and its RFC 6962 root.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The origin line (the chain id). See [`validate_origin`].
    pub origin: String,
    /// Number of leaves in the log.
    pub tree_size: u64,
    /// RFC 6962 Merkle tree hash of the first `tree_size` leaves.
    pub root: [u8; 32],
}

impl Checkpoint {
    /// A checkpoint with a validated origin.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] if the origin is invalid ([`validate_origin`]).
    pub fn new(
        origin: impl Into<String>,
        tree_size: u64,
        root: [u8; 32],
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        validate_origin(&origin)?;
        Ok(Self {
            origin,
            tree_size,
            root,
        })
    }

    /// The note text: `<origin>\n<tree size>\n<base64 root>\n`.
    ///
    /// This does not validate `origin` (the field is public); [`cosign`] does.
    #[must_use]
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            B64.encode(self.root)
        )
    }

    /// Parses a note text that is exactly a checkpoint body: three lines, each ending in `\n`,
    /// no extension lines.
    ///
    /// Rejected: a missing final newline, fewer or more than three lines, an invalid origin
    /// ([`validate_origin`]), a tree size that is not canonical ASCII decimal (empty, a sign,
    /// leading zeros, non-digits, above `u64::MAX`), and a root that is not exactly the 44
    /// characters of the canonical padded base64 of 32 bytes.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] saying which rule failed.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        // origin (<= 1024) + size (<= 20) + root (44) + 3 newlines.
        if text.len() > MAX_ORIGIN_BYTES + 20 + ROOT_B64_LEN + 3 {
            return Err(malformed("checkpoint body too long"));
        }
        let Some(content) = text.strip_suffix('\n') else {
            return Err(malformed("checkpoint body does not end with a newline"));
        };
        let mut lines = content.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed(
                "checkpoint body has fewer than three lines (origin, size, root)",
            ));
        };
        if lines.next().is_some() {
            return Err(malformed(
                "checkpoint body has extension lines (Maat checkpoints have none)",
            ));
        }
        validate_origin(origin)?;
        let tree_size = parse_decimal_u64(size)?;
        let root = parse_root(root)?;
        Ok(Self {
            origin: origin.to_string(),
            tree_size,
            root,
        })
    }
}

fn parse_decimal_u64(s: &str) -> Result<u64, CheckpointError> {
    if s.is_empty() {
        return Err(malformed("empty tree size"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("tree size is not ASCII decimal digits"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(malformed("tree size has a leading zero"));
    }
    if s.len() > 20 {
        return Err(malformed("tree size exceeds 2^64 - 1"));
    }
    s.parse::<u64>()
        .map_err(|_| malformed("tree size exceeds 2^64 - 1"))
}

fn parse_root(s: &str) -> Result<[u8; 32], CheckpointError> {
    if s.len() != ROOT_B64_LEN {
        return Err(malformed(
            "root hash is not 44 base64 characters (32 bytes, padded)",
        ));
    }
    let bytes = B64
        .decode(s)
        .map_err(|_| malformed("root hash is not canonical standard base64"))?;
    let root: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| malformed("root hash is not 32 bytes"))?;
    // The engine already refuses non-zero trailing bits and non-canonical padding; re-encoding
    // makes "one root, one spelling" explicit.
    if B64.encode(root) != s {
        return Err(malformed("root hash is not canonical standard base64"));
    }
    Ok(root)
}

// ---------------------------------------------------------------------------------------------
// Keys

/// The signed-note signature type bytes for a key algorithm: `[0x01]` for Ed25519,
/// [`SIG_TYPE_MLDSA65`] for ML-DSA-65.
#[must_use]
pub fn signature_type(alg: Algorithm) -> &'static [u8] {
    match alg {
        Algorithm::Ed25519 => &[SIG_TYPE_ED25519],
        Algorithm::MlDsa65 => SIG_TYPE_MLDSA65,
    }
}

/// A key a note verifier trusts: a key name and a public key. Its key id is
/// `SHA-256(name || 0x0A || signature type || public key)[:4]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteVerifierKey {
    /// The key name in signature lines (see [`cosigner_key_name`] for validators).
    pub name: String,
    /// The public key: ML-DSA-65 for validators; Ed25519 for ordinary signed notes.
    pub public_key: PublicKey,
}

impl NoteVerifierKey {
    /// A verifier key with a validated name.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] if the name is invalid ([`validate_key_name`]).
    pub fn new(name: impl Into<String>, public_key: PublicKey) -> Result<Self, CheckpointError> {
        let name = name.into();
        validate_key_name(&name)?;
        Ok(Self { name, public_key })
    }

    /// The verifier key of validator `validator_id` of the chain `origin`: name
    /// [`cosigner_key_name`]`(origin, validator_id)`.
    ///
    /// # Errors
    /// See [`cosigner_key_name`].
    pub fn for_validator(
        origin: &str,
        validator_id: &str,
        public_key: PublicKey,
    ) -> Result<Self, CheckpointError> {
        Ok(Self {
            name: cosigner_key_name(origin, validator_id)?,
            public_key,
        })
    }

    /// The signature type bytes ([`signature_type`] of the key's algorithm).
    #[must_use]
    pub fn signature_type(&self) -> &'static [u8] {
        signature_type(self.public_key.algorithm())
    }

    /// `SHA-256(name || 0x0A || signature type || public key)[:4]`, the first four bytes of the
    /// decoded signature (the big-endian `uint32` key id of the spec).
    #[must_use]
    pub fn key_id(&self) -> [u8; 4] {
        let pk = self.public_key.as_bytes();
        let ty = self.signature_type();
        let mut input = Vec::with_capacity(self.name.len() + 1 + ty.len() + pk.len());
        input.extend_from_slice(self.name.as_bytes());
        input.push(b'\n');
        input.extend_from_slice(ty);
        input.extend_from_slice(pk);
        let h = sha256(&input);
        [h[0], h[1], h[2], h[3]]
    }

    /// The signed-note verifier key text `<name>+<8 lowercase hex key id>+<base64(type ||
    /// public key)>` (e.g. `PeterNeumann+c74f20a3+ARpc2QcU...`).
    #[must_use]
    pub fn to_vkey(&self) -> String {
        let mut material = self.signature_type().to_vec();
        material.extend_from_slice(self.public_key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            B64.encode(material)
        )
    }

    /// Parses a verifier key text (see [`NoteVerifierKey::to_vkey`]): type `0x01` with a 32-byte
    /// Ed25519 key or [`SIG_TYPE_MLDSA65`] with a 1952-byte ML-DSA-65 key. The key id must be 8
    /// lowercase hex digits and equal the one computed from the name and key.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] for any deviation, including other signature types.
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        if vkey.len() > 8192 {
            return Err(malformed("verifier key too long"));
        }
        // The name has no '+', the key id has none, the base64 may: split twice from the left.
        let (name, rest) = vkey
            .split_once('+')
            .ok_or_else(|| malformed("verifier key is not <name>+<key id>+<key>"))?;
        let (id_hex, material_b64) = rest
            .split_once('+')
            .ok_or_else(|| malformed("verifier key is not <name>+<key id>+<key>"))?;
        validate_key_name(name)?;
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(malformed("verifier key id is not 8 lowercase hex digits"));
        }
        let material = B64
            .decode(material_b64)
            .map_err(|_| malformed("verifier key material is not canonical standard base64"))?;
        let (alg, pk) = if let Some(pk) = material.strip_prefix(SIG_TYPE_MLDSA65) {
            (Algorithm::MlDsa65, pk)
        } else if let Some(pk) = material.strip_prefix(&[SIG_TYPE_ED25519]) {
            (Algorithm::Ed25519, pk)
        } else {
            return Err(malformed("verifier key has an unsupported signature type"));
        };
        let public_key = PublicKey::from_bytes(alg, pk)
            .map_err(|e| malformed(format!("verifier key material: {e}")))?;
        let key = Self {
            name: name.to_string(),
            public_key,
        };
        if hex::encode(key.key_id()) != id_hex {
            return Err(malformed(
                "verifier key id does not match the name and public key",
            ));
        }
        Ok(key)
    }

    /// Whether a signature line names this key (same key name and key id).
    #[must_use]
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.key_name == self.name && sig.key_id == self.key_id()
    }

    /// Checks that `sig` is this key's signature of the note text `text` (the body, including
    /// its final newline). Ed25519: RFC 8032 (strict) over `text`. ML-DSA-65: FIPS 204, empty
    /// context, over [`CHECKPOINT_DOMAIN`]` || text`.
    ///
    /// # Errors
    /// [`CheckpointError::BadSignature`] if the line does not name this key, has the wrong
    /// length for the algorithm, or does not verify.
    pub fn verify(&self, text: &str, sig: &NoteSignature) -> Result<(), CheckpointError> {
        let bad = || CheckpointError::BadSignature {
            key_name: truncate(&sig.key_name, 64),
        };
        if !self.matches(sig) {
            return Err(bad());
        }
        let alg = self.public_key.algorithm();
        let signature = Signature::from_bytes(alg, &sig.signature).map_err(|_| bad())?;
        let domain: &[u8] = match alg {
            Algorithm::Ed25519 => b"",
            Algorithm::MlDsa65 => CHECKPOINT_DOMAIN,
        };
        self.public_key
            .verify(domain, text.as_bytes(), &signature)
            .map_err(|_| bad())
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures and notes

/// One signature line: `— <key name> <base64(key id || signature)>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    /// The key name.
    pub key_name: String,
    /// The key id (first four bytes of the decoded signature).
    pub key_id: [u8; 4],
    /// The signature bytes after the key id (3309 bytes for ML-DSA-65, 64 for Ed25519; any
    /// non-empty length for keys this code does not know).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line, with its final newline: `— <key name> <base64(key id || signature)>\n`.
    #[must_use]
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.key_name, B64.encode(blob))
    }

    /// Parses one line without its newline.
    fn parse_line(line: &str) -> Result<Self, CheckpointError> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
            malformed("signature line does not start with an em dash and a space")
        })?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| malformed("signature line is not '— <name> <base64>'"))?;
        validate_key_name(name)?;
        if b64.is_empty() {
            return Err(malformed("empty signature"));
        }
        let blob = B64
            .decode(b64)
            .map_err(|_| malformed("signature is not canonical standard base64"))?;
        if blob.len() < 5 {
            return Err(malformed("signature shorter than a key id and one byte"));
        }
        if B64.encode(&blob) != b64 {
            return Err(malformed("signature is not canonical standard base64"));
        }
        Ok(Self {
            key_name: name.to_string(),
            key_id: [blob[0], blob[1], blob[2], blob[3]],
            signature: blob[4..].to_vec(),
        })
    }
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSignature")
            .field("key_name", &self.key_name)
            .field("key_id", &hex::encode(self.key_id))
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

/// A signed note: the note text and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignedNote {
    /// The note text, ending in `\n` (for checkpoints: [`Checkpoint::body`]).
    pub body: String,
    /// The signature lines in order, unknown keys included.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// A note with the checkpoint's body and no signatures yet.
    #[must_use]
    pub fn from_checkpoint(checkpoint: &Checkpoint) -> Self {
        Self {
            body: checkpoint.body(),
            signatures: Vec::new(),
        }
    }

    /// `body || "\n" || every signature line`. With no signatures this is not a valid note
    /// (the format needs at least one line) and [`SignedNote::parse`] refuses it.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out =
            String::with_capacity(self.body.len() + 1 + self.signatures.len() * (4500 + 64));
        out.push_str(&self.body);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }

    /// Parses a signed note (c2sp.org/signed-note, "Format"), strictly: at most
    /// [`MAX_NOTE_BYTES`] bytes and [`MAX_NOTE_SIGNATURES`] lines; no control character other
    /// than newline; the text is everything up to and including the newline before the *last*
    /// blank line; after it, one or more lines `— <name> <base64>\n` with a valid key name and
    /// canonical padded base64 of at least five bytes. The body is not interpreted here (see
    /// [`Checkpoint::parse_body`]). `parse(text)?.to_text() == text` for every accepted `text`.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] saying which rule failed.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(malformed(format!(
                "note longer than {MAX_NOTE_BYTES} bytes"
            )));
        }
        if text.bytes().any(|b| b < 0x20 && b != b'\n') {
            return Err(malformed(
                "note contains a control character other than newline",
            ));
        }
        let split = text
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line between the text and the signatures"))?;
        let body = &text[..=split];
        let sigs = &text[split + 2..];
        if sigs.is_empty() {
            return Err(malformed("note has no signature lines"));
        }
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(malformed("note does not end with a newline"));
        };
        let mut signatures = Vec::new();
        for (i, line) in sigs.split('\n').enumerate() {
            if i >= MAX_NOTE_SIGNATURES {
                return Err(malformed(format!(
                    "more than {MAX_NOTE_SIGNATURES} signature lines"
                )));
            }
            let sig = NoteSignature::parse_line(line).map_err(|e| match e {
                CheckpointError::Malformed(m) => {
                    malformed(format!("signature line {}: {m}", i + 1))
                }
                other => other,
            })?;
            signatures.push(sig);
        }
        Ok(Self {
            body: body.to_string(),
            signatures,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Cosigning and verification

fn cosign_with(
    checkpoint: &Checkpoint,
    key_name: &str,
    key: &KeyPair,
    deterministic: bool,
) -> Result<NoteSignature, CheckpointError> {
    if key.algorithm() != Algorithm::MlDsa65 {
        return Err(CheckpointError::UnsupportedKey(key.algorithm()));
    }
    validate_key_name(key_name)?;
    let body = checkpoint.body();
    // Never sign what a verifier would refuse to parse (e.g. an origin with a newline).
    if Checkpoint::parse_body(&body)? != *checkpoint {
        return Err(malformed("checkpoint does not round-trip through its body"));
    }
    let signature = if deterministic {
        key.sign_deterministic(CHECKPOINT_DOMAIN, body.as_bytes())
    } else {
        key.sign(CHECKPOINT_DOMAIN, body.as_bytes())
    };
    let verifier = NoteVerifierKey {
        name: key_name.to_string(),
        public_key: key.public(),
    };
    Ok(NoteSignature {
        key_name: key_name.to_string(),
        key_id: verifier.key_id(),
        signature: signature.as_bytes().to_vec(),
    })
}

/// A validator's cosignature of `checkpoint`: ML-DSA-65 (hedged, see [`KeyPair::sign`]) over
/// [`CHECKPOINT_DOMAIN`]` || checkpoint.body()`, under the key name `key_name` (for validators,
/// [`cosigner_key_name`]).
///
/// # Errors
/// [`CheckpointError::UnsupportedKey`] for a non-ML-DSA-65 key; [`CheckpointError::Malformed`]
/// for an invalid key name or origin.
pub fn cosign(
    checkpoint: &Checkpoint,
    key_name: &str,
    key: &KeyPair,
) -> Result<NoteSignature, CheckpointError> {
    cosign_with(checkpoint, key_name, key, false)
}

/// [`cosign`] with deterministic ML-DSA-65 ([`KeyPair::sign_deterministic`]): the same inputs
/// always give the same bytes. For fixtures and known-answer tests.
///
/// # Errors
/// As [`cosign`].
pub fn cosign_deterministic(
    checkpoint: &Checkpoint,
    key_name: &str,
    key: &KeyPair,
) -> Result<NoteSignature, CheckpointError> {
    cosign_with(checkpoint, key_name, key, true)
}

/// A checkpoint whose cosignatures reached the quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Indexes into the verifier set of the keys whose signatures verified, ascending, each once.
    pub signers: Vec<usize>,
    /// Their total voting power.
    pub power: u64,
}

/// Verifies a cosigned checkpoint note for the log `origin` against a verifier set of
/// `(key, voting power)` and returns it if the valid cosignatures carry at least
/// `quorum_power` (for 2f+1: [`bft_quorum_power`] of the total).
///
/// Steps, in order:
/// 1. The set: `quorum_power > 0`, no two entries with the same key name and key id or the same
///    public key, total power fits in a `u64`.
/// 2. [`SignedNote::parse`], then [`Checkpoint::parse_body`] on its text.
/// 3. The origin line must equal `origin`.
/// 4. Each signature line whose (key name, key id) is in the set: the first line per key is
///    verified, and one that fails is an error (the whole note is rejected, as the spec
///    recommends); later lines of a key already seen are ignored, as in Go's `note.Open`, so a
///    key counts once and verification work is bounded by the set size. Lines of unknown keys
///    (even if they share a name or a key id, but not both, with a known key) are ignored.
/// 5. The power of the distinct verified keys must reach `quorum_power`.
///
/// # Errors
/// [`CheckpointError::InvalidVerifierSet`], [`CheckpointError::Malformed`],
/// [`CheckpointError::WrongOrigin`], [`CheckpointError::BadSignature`] or
/// [`CheckpointError::BelowQuorum`] (also when no known key signed).
pub fn verify_cosigned(
    note_text: &str,
    origin: &str,
    validators: &[(NoteVerifierKey, u64)],
    quorum_power: u64,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    if quorum_power == 0 {
        return Err(CheckpointError::InvalidVerifierSet(
            "quorum power must be positive".into(),
        ));
    }
    let mut by_id: HashMap<(&str, [u8; 4]), usize> = HashMap::with_capacity(validators.len());
    // Keyed by (algorithm, bytes): `PublicKey` caches its decoded form inside.
    let mut keys: HashSet<(Algorithm, &[u8])> = HashSet::with_capacity(validators.len());
    let mut total: u64 = 0;
    for (i, (key, power)) in validators.iter().enumerate() {
        if by_id.insert((key.name.as_str(), key.key_id()), i).is_some() {
            return Err(CheckpointError::InvalidVerifierSet(format!(
                "entry {i} repeats the key name and key id of an earlier entry"
            )));
        }
        if !keys.insert((key.public_key.algorithm(), key.public_key.as_bytes())) {
            return Err(CheckpointError::InvalidVerifierSet(format!(
                "entry {i} repeats the public key of an earlier entry"
            )));
        }
        total = total.checked_add(*power).ok_or_else(|| {
            CheckpointError::InvalidVerifierSet("total voting power overflows u64".into())
        })?;
    }

    let note = SignedNote::parse(note_text)?;
    let checkpoint = Checkpoint::parse_body(&note.body)?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::WrongOrigin {
            expected: truncate(origin, 64),
            got: truncate(&checkpoint.origin, 64),
        });
    }

    let mut seen = vec![false; validators.len()];
    let mut signers = Vec::new();
    let mut power: u64 = 0;
    for sig in &note.signatures {
        let Some(&i) = by_id.get(&(sig.key_name.as_str(), sig.key_id)) else {
            continue;
        };
        if seen[i] {
            continue;
        }
        seen[i] = true;
        let (key, key_power) = &validators[i];
        key.verify(&note.body, sig)?;
        signers.push(i);
        // Cannot overflow: distinct entries, and the total fits.
        power = power.saturating_add(*key_power);
    }
    signers.sort_unstable();
    if power < quorum_power {
        return Err(CheckpointError::BelowQuorum {
            have: power,
            need: quorum_power,
        });
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        signers,
        power,
    })
}
