//! Ed25519 and ML-DSA-65 (FIPS 204) keys and signatures over domain-separated bytes.
//!
//! Every signature covers `domain || msg`. Domains are fixed byte strings chosen per message kind
//! (see [`domain`]), and they must be prefix-free (each ends in a terminator such as `\n` that does
//! not occur inside it), so a signature of one kind can never verify as another kind.
//!
//! Text form of keys and signatures: `"<alg>:<base64>"` with `alg` one of `ed25519`, `mldsa65` and
//! standard, padded base64 (RFC 4648 section 4), e.g. `"ed25519:5VZDAMNgrHKQhuLMgG6CioSHfx64..."`.
//! This is what certificate evidence, genesis files and the CLI carry.
//!
//! Sizes: Ed25519 public key 32 B, signature 64 B; ML-DSA-65 public key 1952 B, signature 3309 B.
//! Parsing checks them and never panics, whatever the input bytes.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ml_dsa::MlDsa65;
use ml_dsa::signature::{
    MultipartSigner as _, MultipartVerifier as _, RandomizedMultipartSigner as _,
};
use rand::RngCore as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// Signature domains used by more than one crate. A domain is prepended to the message before
/// signing; see the module docs for the prefix-free rule.
pub mod domain {
    /// Certificate evidence objects: the signer signs `"maat/evidence/v1\n" || hash`
    /// (CERTIFICATE.md, "Signatures").
    pub const EVIDENCE: &[u8] = b"maat/evidence/v1\n";
}

/// Ed25519 public key length in bytes.
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;
/// Ed25519 signature length in bytes.
pub const ED25519_SIGNATURE_LEN: usize = 64;
/// ML-DSA-65 public key length in bytes (FIPS 204, table 2).
pub const MLDSA65_PUBLIC_KEY_LEN: usize = 1952;
/// ML-DSA-65 signature length in bytes (FIPS 204, table 2).
pub const MLDSA65_SIGNATURE_LEN: usize = 3309;
/// Length of the secret seed of either algorithm.
pub const SEED_LEN: usize = 32;

/// Longest base64 body `from_text` decodes. The longest valid one (an ML-DSA-65 signature) is
/// 4412 characters; anything much longer is refused before allocating.
const MAX_TEXT_BODY: usize = 8192;

/// A signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), verified strictly (no malleable or small-order inputs).
    Ed25519,
    /// ML-DSA-65 (FIPS 204), pure mode with an empty context string.
    MlDsa65,
}

impl Algorithm {
    /// Every algorithm, in a fixed order.
    pub const ALL: [Algorithm; 2] = [Algorithm::Ed25519, Algorithm::MlDsa65];

    /// The name used in text forms and key files: `"ed25519"` or `"mldsa65"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::MlDsa65 => "mldsa65",
        }
    }

    /// Public key length in bytes.
    #[must_use]
    pub const fn public_key_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => ED25519_PUBLIC_KEY_LEN,
            Algorithm::MlDsa65 => MLDSA65_PUBLIC_KEY_LEN,
        }
    }

    /// Signature length in bytes.
    #[must_use]
    pub const fn signature_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => ED25519_SIGNATURE_LEN,
            Algorithm::MlDsa65 => MLDSA65_SIGNATURE_LEN,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = SigError;

    /// Exact, case-sensitive names only, so each algorithm has one spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ed25519" => Ok(Algorithm::Ed25519),
            "mldsa65" => Ok(Algorithm::MlDsa65),
            other => Err(SigError::UnknownAlgorithm(truncate_for_error(other))),
        }
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a [`SigError::WrongLength`] was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    /// A public key.
    PublicKey,
    /// A signature.
    Signature,
}

impl fmt::Display for KeyPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyPart::PublicKey => "public key",
            KeyPart::Signature => "signature",
        })
    }
}

/// Errors from parsing keys and signatures and from verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// The text is not `"<alg>:<base64>"` (no `:`, bad base64, or far too long).
    #[error("malformed key or signature text: {0}")]
    MalformedText(&'static str),
    /// The algorithm name is not one of `ed25519`, `mldsa65`.
    #[error("unknown signature algorithm {0:?} (expected \"ed25519\" or \"mldsa65\")")]
    UnknownAlgorithm(String),
    /// The decoded bytes have the wrong length for the algorithm.
    #[error("{alg} {part} must be {expected} bytes, got {got}")]
    WrongLength {
        /// The algorithm named in the input.
        alg: Algorithm,
        /// Whether a key or a signature was being parsed.
        part: KeyPart,
        /// The length the algorithm requires.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// The key and the signature are of different algorithms.
    #[error("algorithm mismatch: the key is {key}, the signature is {signature}")]
    AlgorithmMismatch {
        /// The key's algorithm.
        key: Algorithm,
        /// The signature's algorithm.
        signature: Algorithm,
    },
    /// The bytes are the right length but not a usable public key (an Ed25519 point that does
    /// not decode, or one of small order).
    #[error("invalid {0} public key")]
    InvalidPublicKey(Algorithm),
    /// The signature does not verify (or does not even decode) for this key, domain and message.
    #[error("invalid {0} signature")]
    InvalidSignature(Algorithm),
    /// The operating system's random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Rng(String),
}

fn truncate_for_error(s: &str) -> String {
    // Error messages echo the input; cap it so a huge input cannot make a huge error.
    s.chars().take(32).collect()
}

/// Splits `"<alg>:<base64>"` and decodes the body.
fn parse_text(text: &str) -> Result<(Algorithm, Vec<u8>), SigError> {
    let (alg, body) = text
        .split_once(':')
        .ok_or(SigError::MalformedText("expected \"<alg>:<base64>\""))?;
    let alg: Algorithm = alg.parse()?;
    if body.len() > MAX_TEXT_BODY {
        return Err(SigError::MalformedText("base64 body too long"));
    }
    let bytes = B64
        .decode(body)
        .map_err(|_| SigError::MalformedText("invalid base64 (standard alphabet, padded)"))?;
    Ok((alg, bytes))
}

fn to_text(alg: Algorithm, bytes: &[u8]) -> String {
    format!("{}:{}", alg.as_str(), B64.encode(bytes))
}

// ---------------------------------------------------------------------------------------------
// Signature

/// A signature: algorithm plus encoded bytes, whose length matches the algorithm.
///
/// Text form `"<alg>:<base64>"` (also its `Display`, `FromStr` and serde form).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature {
    alg: Algorithm,
    bytes: Box<[u8]>,
}

impl Signature {
    /// A signature from its encoded bytes; only the length is checked here, the rest at
    /// verification.
    ///
    /// # Errors
    /// [`SigError::WrongLength`] if `bytes` is not `alg.signature_len()` long.
    pub fn from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Self, SigError> {
        if bytes.len() != alg.signature_len() {
            return Err(SigError::WrongLength {
                alg,
                part: KeyPart::Signature,
                expected: alg.signature_len(),
                got: bytes.len(),
            });
        }
        Ok(Self {
            alg,
            bytes: bytes.into(),
        })
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The encoded signature bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `"<alg>:<base64>"`.
    #[must_use]
    pub fn to_text(&self) -> String {
        to_text(self.alg, &self.bytes)
    }

    /// Parses `"<alg>:<base64>"`.
    ///
    /// # Errors
    /// [`SigError::MalformedText`], [`SigError::UnknownAlgorithm`] or [`SigError::WrongLength`].
    pub fn from_text(text: &str) -> Result<Self, SigError> {
        let (alg, bytes) = parse_text(text)?;
        Self::from_bytes(alg, &bytes)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", abbreviate(&self.to_text()))
    }
}

impl FromStr for Signature {
    type Err = SigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_text(s)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_text(&s).map_err(serde::de::Error::custom)
    }
}

fn abbreviate(text: &str) -> String {
    // ML-DSA text forms are kilobytes long; debug output shows a recognisable prefix.
    if text.len() <= 64 {
        text.to_string()
    } else {
        format!("{}…({} chars)", &text[..48], text.len())
    }
}

// ---------------------------------------------------------------------------------------------
// Verifying keys and public keys

/// A decoded, ready-to-use verifying key. Decoding an ML-DSA-65 key expands the public matrix
/// (tens of microseconds), so [`PublicKey`] caches one of these and verification reuses it.
#[derive(Clone)]
pub enum VerifyingKey {
    /// A decompressed Ed25519 point.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// An ML-DSA-65 key with its expanded matrix `Â` and `tr` precomputed.
    MlDsa65(ml_dsa::VerifyingKey<MlDsa65>),
}

impl VerifyingKey {
    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self {
            VerifyingKey::Ed25519(_) => Algorithm::Ed25519,
            VerifyingKey::MlDsa65(_) => Algorithm::MlDsa65,
        }
    }

    /// Checks that `sig` signs `domain || msg` under this key.
    ///
    /// Ed25519 uses `verify_strict`: it rejects non-canonical encodings and small-order
    /// components, so every validator accepts exactly the same set of signatures and none is
    /// malleable. ML-DSA-65 is FIPS 204 `ML-DSA.Verify` with an empty context.
    ///
    /// # Errors
    /// [`SigError::AlgorithmMismatch`] or [`SigError::InvalidSignature`].
    pub fn verify(&self, domain: &[u8], msg: &[u8], sig: &Signature) -> Result<(), SigError> {
        if sig.alg != self.algorithm() {
            return Err(SigError::AlgorithmMismatch {
                key: self.algorithm(),
                signature: sig.alg,
            });
        }
        match self {
            VerifyingKey::Ed25519(vk) => {
                let bytes: &[u8; ED25519_SIGNATURE_LEN] = sig
                    .as_bytes()
                    .try_into()
                    .map_err(|_| SigError::InvalidSignature(Algorithm::Ed25519))?;
                let s = ed25519_dalek::Signature::from_bytes(bytes);
                // Ed25519 hashes the message twice (nonce check and challenge), so it needs one
                // contiguous buffer; messages here are small.
                let mut m = Vec::with_capacity(domain.len() + msg.len());
                m.extend_from_slice(domain);
                m.extend_from_slice(msg);
                vk.verify_strict(&m, &s)
                    .map_err(|_| SigError::InvalidSignature(Algorithm::Ed25519))
            }
            VerifyingKey::MlDsa65(vk) => {
                let s = ml_dsa::Signature::<MlDsa65>::try_from(sig.as_bytes())
                    .map_err(|_| SigError::InvalidSignature(Algorithm::MlDsa65))?;
                // Multipart: domain and message are absorbed in turn, no concatenation.
                vk.multipart_verify(&[domain, msg], &s)
                    .map_err(|_| SigError::InvalidSignature(Algorithm::MlDsa65))
            }
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.algorithm())
    }
}

// The size difference between the variants is irrelevant: a `PkInner` lives behind an `Arc`.
#[allow(clippy::large_enum_variant)]
enum PkInner {
    // Decoded eagerly: point decompression is cheap and is where invalid keys are found.
    Ed25519 {
        bytes: [u8; ED25519_PUBLIC_KEY_LEN],
        vk: VerifyingKey,
    },
    // Every 1952-byte string is a valid ML-DSA-65 key encoding (pkDecode cannot fail), so
    // parsing only checks the length and expansion waits until the first verification.
    MlDsa65 {
        enc: ml_dsa::EncodedVerifyingKey<MlDsa65>,
        vk: OnceLock<VerifyingKey>,
    },
}

/// A public key: algorithm plus encoded bytes, with a cached [`VerifyingKey`].
///
/// Cloning is cheap and clones share the cache. Equality, ordering and hashing use
/// `(algorithm, bytes)` only. Text form `"<alg>:<base64>"` (also its `Display`, `FromStr` and
/// serde form).
#[derive(Clone)]
pub struct PublicKey {
    inner: Arc<PkInner>,
}

impl PublicKey {
    /// A public key from its encoded bytes.
    ///
    /// # Errors
    /// [`SigError::WrongLength`]; for Ed25519 also [`SigError::InvalidPublicKey`] if the bytes do
    /// not decode to a curve point or the point has small order (no signature could verify).
    pub fn from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Self, SigError> {
        if bytes.len() != alg.public_key_len() {
            return Err(SigError::WrongLength {
                alg,
                part: KeyPart::PublicKey,
                expected: alg.public_key_len(),
                got: bytes.len(),
            });
        }
        let inner = match alg {
            Algorithm::Ed25519 => {
                let arr: [u8; ED25519_PUBLIC_KEY_LEN] = bytes
                    .try_into()
                    .map_err(|_| SigError::InvalidPublicKey(alg))?;
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map_err(|_| SigError::InvalidPublicKey(alg))?;
                if vk.is_weak() {
                    return Err(SigError::InvalidPublicKey(alg));
                }
                PkInner::Ed25519 {
                    bytes: arr,
                    vk: VerifyingKey::Ed25519(vk),
                }
            }
            Algorithm::MlDsa65 => PkInner::MlDsa65 {
                enc: ml_dsa::EncodedVerifyingKey::<MlDsa65>::try_from(bytes).map_err(|_| {
                    SigError::WrongLength {
                        alg,
                        part: KeyPart::PublicKey,
                        expected: alg.public_key_len(),
                        got: bytes.len(),
                    }
                })?,
                vk: OnceLock::new(),
            },
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// A public key whose verifying key is already known (saves re-expanding it).
    fn from_verifying_key(vk: VerifyingKey) -> Self {
        let inner = match vk {
            VerifyingKey::Ed25519(k) => PkInner::Ed25519 {
                bytes: k.to_bytes(),
                vk: VerifyingKey::Ed25519(k),
            },
            VerifyingKey::MlDsa65(k) => PkInner::MlDsa65 {
                enc: k.encode(),
                vk: OnceLock::from(VerifyingKey::MlDsa65(k)),
            },
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match &*self.inner {
            PkInner::Ed25519 { .. } => Algorithm::Ed25519,
            PkInner::MlDsa65 { .. } => Algorithm::MlDsa65,
        }
    }

    /// The encoded public key bytes (32 or 1952).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match &*self.inner {
            PkInner::Ed25519 { bytes, .. } => bytes,
            PkInner::MlDsa65 { enc, .. } => enc.as_slice(),
        }
    }

    /// The decoded verifying key, computed on first use and cached (shared by clones).
    #[must_use]
    pub fn verifier(&self) -> &VerifyingKey {
        match &*self.inner {
            PkInner::Ed25519 { vk, .. } => vk,
            PkInner::MlDsa65 { enc, vk } => {
                vk.get_or_init(|| VerifyingKey::MlDsa65(ml_dsa::VerifyingKey::decode(enc)))
            }
        }
    }

    /// Checks that `sig` signs `domain || msg` under this key. See [`VerifyingKey::verify`].
    ///
    /// # Errors
    /// [`SigError::AlgorithmMismatch`] or [`SigError::InvalidSignature`].
    pub fn verify(&self, domain: &[u8], msg: &[u8], sig: &Signature) -> Result<(), SigError> {
        // Check the algorithm before the (possibly expensive) first expansion of the key.
        if sig.alg != self.algorithm() {
            return Err(SigError::AlgorithmMismatch {
                key: self.algorithm(),
                signature: sig.alg,
            });
        }
        self.verifier().verify(domain, msg, sig)
    }

    /// `"<alg>:<base64>"`.
    #[must_use]
    pub fn to_text(&self) -> String {
        to_text(self.algorithm(), self.as_bytes())
    }

    /// Parses `"<alg>:<base64>"`.
    ///
    /// # Errors
    /// [`SigError::MalformedText`], [`SigError::UnknownAlgorithm`], [`SigError::WrongLength`] or
    /// [`SigError::InvalidPublicKey`].
    pub fn from_text(text: &str) -> Result<Self, SigError> {
        let (alg, bytes) = parse_text(text)?;
        Self::from_bytes(alg, &bytes)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm() == other.algorithm() && self.as_bytes() == other.as_bytes()
    }
}

impl Eq for PublicKey {}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.algorithm().hash(state);
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.algorithm(), self.as_bytes()).cmp(&(other.algorithm(), other.as_bytes()))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", abbreviate(&self.to_text()))
    }
}

impl FromStr for PublicKey {
    type Err = SigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_text(s)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_text(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Key pairs

// Key pairs are created once and borrowed, not moved around: no need to box the Ed25519 key.
#[allow(clippy::large_enum_variant)]
enum Secret {
    // Both types wipe themselves on drop (ed25519-dalek's and ml-dsa's `zeroize` features).
    Ed25519(ed25519_dalek::SigningKey),
    MlDsa65(Box<ml_dsa::ExpandedSigningKey<MlDsa65>>),
}

/// A secret key with its public key. The 32-byte seed is the whole secret: Ed25519's secret key,
/// or ML-DSA-65's FIPS 204 key-generation seed ξ. Secret material is wiped on drop.
pub struct KeyPair {
    seed: Zeroizing<[u8; SEED_LEN]>,
    secret: Secret,
    public: PublicKey,
}

impl KeyPair {
    /// A fresh key pair from the operating system's random number generator.
    ///
    /// # Panics
    /// If the OS random number generator fails, as `rand::thread_rng` would; use
    /// [`KeyPair::try_generate`] to handle that case.
    #[must_use]
    pub fn generate(alg: Algorithm) -> Self {
        match Self::try_generate(alg) {
            Ok(kp) => kp,
            Err(e) => panic!("{e}"),
        }
    }

    /// A fresh key pair from the operating system's random number generator.
    ///
    /// # Errors
    /// [`SigError::Rng`] if the OS random number generator fails.
    pub fn try_generate(alg: Algorithm) -> Result<Self, SigError> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        rand::rngs::OsRng
            .try_fill_bytes(&mut seed[..])
            .map_err(|e| SigError::Rng(e.to_string()))?;
        Ok(Self::from_seed(alg, &seed))
    }

    /// The key pair derived from a 32-byte seed: the Ed25519 secret key (RFC 8032), or the
    /// ML-DSA-65 seed ξ of FIPS 204 `ML-DSA.KeyGen_internal` (Algorithm 6).
    #[must_use]
    pub fn from_seed(alg: Algorithm, seed: &[u8; SEED_LEN]) -> Self {
        let (secret, vk) = match alg {
            Algorithm::Ed25519 => {
                let sk = ed25519_dalek::SigningKey::from_bytes(seed);
                let vk = VerifyingKey::Ed25519(sk.verifying_key());
                (Secret::Ed25519(sk), vk)
            }
            Algorithm::MlDsa65 => {
                let xi = Zeroizing::new(ml_dsa::B32::from(*seed));
                let sk = ml_dsa::ExpandedSigningKey::<MlDsa65>::from_seed(&xi);
                let vk = VerifyingKey::MlDsa65(sk.verifying_key());
                (Secret::MlDsa65(Box::new(sk)), vk)
            }
        };
        Self {
            seed: Zeroizing::new(*seed),
            secret,
            public: PublicKey::from_verifying_key(vk),
        }
    }

    /// The public key.
    #[must_use]
    pub fn public(&self) -> PublicKey {
        self.public.clone()
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The secret seed, for writing key files.
    pub(crate) fn seed(&self) -> &[u8; SEED_LEN] {
        &self.seed
    }

    /// The 32-byte secret seed (the whole secret). For deriving another library's key from
    /// the same secret, e.g. the libp2p identity of a node's Ed25519 key file.
    #[must_use]
    pub fn secret_seed(&self) -> &[u8; SEED_LEN] {
        &self.seed
    }

    /// Signs `domain || msg`.
    ///
    /// Ed25519 is deterministic by construction. ML-DSA-65 uses the *hedged* variant of FIPS 204
    /// `ML-DSA.Sign` (fresh 32-byte `rnd` from the OS), which FIPS 204 section 3.4 recommends:
    /// the deterministic variant reuses the same internal randomness for the same message, which
    /// makes fault-injection and side-channel attacks on a validator's long-lived key easier.
    /// Nothing in Maat relies on signatures being reproducible; callers must not derive ids
    /// from signature bytes expecting them to be unique per message. If the OS RNG fails, the
    /// signature falls back to the deterministic variant, which is still a valid FIPS 204
    /// signature. Use [`KeyPair::sign_deterministic`] where reproducibility is needed (tests,
    /// known-answer vectors).
    ///
    /// # Panics
    /// Never in practice: ML-DSA's rejection sampling would have to fail about 13,000 times in a
    /// row (probability far below 2^-1000).
    #[must_use]
    pub fn sign(&self, domain: &[u8], msg: &[u8]) -> Signature {
        match &self.secret {
            Secret::Ed25519(_) => self.sign_deterministic(domain, msg),
            Secret::MlDsa65(sk) => {
                let mut rng = ml_dsa::common::getrandom::SysRng;
                match sk.try_multipart_sign_with_rng(&mut rng, &[domain, msg]) {
                    Ok(sig) => mldsa_signature(&sig),
                    Err(_) => self.sign_deterministic(domain, msg),
                }
            }
        }
    }

    /// Signs `domain || msg` deterministically: Ed25519 (RFC 8032), or the deterministic variant
    /// of FIPS 204 `ML-DSA.Sign` (`rnd` = 32 zero bytes, empty context). The same key and input
    /// always give the same bytes, as any other FIPS 204 implementation computes them.
    ///
    /// # Panics
    /// Never in practice; see [`KeyPair::sign`].
    #[must_use]
    pub fn sign_deterministic(&self, domain: &[u8], msg: &[u8]) -> Signature {
        match &self.secret {
            Secret::Ed25519(sk) => {
                use ed25519_dalek::Signer as _;
                let mut m = Vec::with_capacity(domain.len() + msg.len());
                m.extend_from_slice(domain);
                m.extend_from_slice(msg);
                Signature {
                    alg: Algorithm::Ed25519,
                    bytes: sk.sign(&m).to_bytes().to_vec().into_boxed_slice(),
                }
            }
            Secret::MlDsa65(sk) => {
                let sig = sk.try_multipart_sign(&[domain, msg]).unwrap_or_else(|_| {
                    panic!("ML-DSA-65 rejection sampling exhausted its attempt bound")
                });
                mldsa_signature(&sig)
            }
        }
    }
}

fn mldsa_signature(sig: &ml_dsa::Signature<MlDsa65>) -> Signature {
    Signature {
        alg: Algorithm::MlDsa65,
        bytes: sig.encode().as_slice().into(),
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
