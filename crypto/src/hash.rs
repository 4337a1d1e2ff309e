//! Hashes: SHA-256 (transparency log, interoperability) and BLAKE3 object ids (everything else).
//!
//! Object ids are `blake3("maat/<kind>/v1" || 0x00 || bytes)` (PROTOCOL.md, "Keys, hashes,
//! signatures"). The kind names the object type, so equal bytes of two kinds never share an id.
//! Kinds may not contain `0x00` or `/`, which keeps the prefix self-delimiting: no
//! `(kind, bytes)` pair can produce the hashed input of another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

/// SHA-256 of `bytes`.
#[must_use]
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

/// A 32-byte digest (SHA-256 or BLAKE3) whose text form is 64 lowercase hex characters.
///
/// `Display` and `FromStr` use that form; parsing accepts lowercase only, so every digest has one
/// text form. Serde uses the text form too.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

/// A SHA-256 digest; the same type as [`Hash32`], named for readability where SHA-256 is meant.
pub type Sha256Digest = Hash32;

impl Hash32 {
    /// The digest bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// SHA-256 of `bytes` as a [`Hash32`].
    #[must_use]
    pub fn sha256(bytes: &[u8]) -> Self {
        Self(sha256(bytes))
    }

    /// Lowercase hex, 64 characters.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<[u8; 32]> for Hash32 {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<Hash32> for [u8; 32] {
    fn from(h: Hash32) -> Self {
        h.0
    }
}

impl AsRef<[u8]> for Hash32 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

/// Why a string is not a [`Hash32`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    /// The string is not 64 characters long.
    #[error("a 32-byte hash is 64 hex characters, got {0}")]
    WrongLength(usize),
    /// A character is not a lowercase hex digit.
    #[error("a hash is lowercase hex (0-9, a-f)")]
    InvalidChar,
}

impl FromStr for Hash32 {
    type Err = ParseHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(ParseHashError::WrongLength(s.len()));
        }
        // Uppercase is refused so that the text form is canonical (it appears in signed JSON).
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ParseHashError::InvalidChar);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| ParseHashError::InvalidChar)?;
        Ok(Self(out))
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Well-known object kinds for [`blake3_id`]. Other crates may use their own kinds; each kind
/// must be a distinct string of `[a-z0-9_-]`.
pub mod kind {
    /// Transaction ids (`TxId`).
    pub const TX: &str = "tx";
    /// Block ids (`BlockId`).
    pub const BLOCK: &str = "block";
    /// Keys of the ledger state.
    pub const STATE_KEY: &str = "state-key";
    /// The genesis file; its id identifies the chain.
    pub const GENESIS: &str = "genesis";
}

/// Whether `kind` is usable in a domain string: non-empty, `[a-z0-9_-]` only.
///
/// The restriction is stricter than needed (only `0x00` would break the encoding) so kinds stay
/// readable in `maat/<kind>/v1` and in docs.
#[must_use]
pub fn is_valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

/// `blake3("maat/<kind>/v1" || 0x00 || bytes)`: the id of an object of kind `kind`.
///
/// # Panics
/// If `kind` is not a valid kind (see [`is_valid_kind`]). Kinds are compile-time constants of the
/// calling code, never external input, so this is a programming error caught by any test.
#[must_use]
pub fn blake3_id(kind: &str, bytes: &[u8]) -> [u8; 32] {
    let mut h = IdHasher::new(kind);
    h.update(bytes);
    h.finalize()
}

/// Streaming form of [`blake3_id`], for callers that produce canonical bytes piecewise.
///
/// `IdHasher::new(kind)`, then `update` with the pieces in order, then `finalize`, gives the
/// same id as `blake3_id(kind, &all_pieces_concatenated)`. It also implements
/// [`std::io::Write`], so an encoder can write into it directly.
#[derive(Clone)]
pub struct IdHasher {
    inner: blake3::Hasher,
}

impl IdHasher {
    /// Starts an id of kind `kind`.
    ///
    /// # Panics
    /// If `kind` is not a valid kind (see [`is_valid_kind`]); see [`blake3_id`].
    #[must_use]
    pub fn new(kind: &str) -> Self {
        assert!(
            is_valid_kind(kind),
            "invalid object kind {kind:?}: use [a-z0-9_-]+"
        );
        let mut inner = blake3::Hasher::new();
        inner.update(b"maat/");
        inner.update(kind.as_bytes());
        inner.update(b"/v1\x00");
        Self { inner }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        self.inner.update(bytes);
        self
    }

    /// The id of everything fed so far. The hasher can keep being fed afterwards.
    #[must_use]
    pub fn finalize(&self) -> [u8; 32] {
        *self.inner.finalize().as_bytes()
    }
}

impl std::io::Write for IdHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for IdHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdHasher").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn sha256_known_answers() {
        // FIPS 180-2 appendix B.1 and the empty string.
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn blake3_id_is_the_documented_construction() {
        // Built by hand from the published construction with the plain blake3 API.
        let mut input = b"maat/tx/v1".to_vec();
        input.push(0);
        input.extend_from_slice(b"payload");
        assert_eq!(
            blake3_id(kind::TX, b"payload"),
            *blake3::hash(&input).as_bytes()
        );
        // BLAKE3 of the empty input is a published constant: a different context must not give it.
        assert_ne!(
            hex::encode(blake3_id(kind::TX, b"")),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn kinds_separate_domains() {
        let ids = [kind::TX, kind::BLOCK, kind::STATE_KEY, kind::GENESIS]
            .map(|k| blake3_id(k, b"same bytes"));
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                assert_ne!(ids[i], ids[j]);
            }
        }
    }

    #[test]
    fn streaming_matches_one_shot() {
        let mut h = IdHasher::new(kind::BLOCK);
        h.update(b"he").update(b"ll");
        h.write_all(b"o").unwrap();
        assert_eq!(h.finalize(), blake3_id(kind::BLOCK, b"hello"));
        assert_ne!(h.finalize(), blake3_id(kind::BLOCK, b"hell"));
    }

    #[test]
    fn kind_validation() {
        assert!(is_valid_kind("audit-record_2"));
        for bad in ["", "Tx", "a/b", "a\0b", "é", "a b"] {
            assert!(!is_valid_kind(bad), "{bad:?}");
        }
        assert!(std::panic::catch_unwind(|| IdHasher::new("a\0b")).is_err());
    }

    #[test]
    fn hash32_text_round_trip_and_errors() {
        let h = Hash32::sha256(b"abc");
        let s = h.to_string();
        assert_eq!(
            s,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(s.parse::<Hash32>(), Ok(h));
        assert_eq!(
            s.to_uppercase().parse::<Hash32>(),
            Err(ParseHashError::InvalidChar)
        );
        assert_eq!(
            s[..63].parse::<Hash32>(),
            Err(ParseHashError::WrongLength(63))
        );
        let mut g = s.clone();
        g.replace_range(0..1, "g");
        assert_eq!(g.parse::<Hash32>(), Err(ParseHashError::InvalidChar));
        // Multi-byte characters must not slip through the length check.
        let mut u = s[..62].to_string();
        u.push('é');
        assert_eq!(u.parse::<Hash32>(), Err(ParseHashError::InvalidChar));

        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Hash32>(&json).unwrap(), h);
        assert!(serde_json::from_str::<Hash32>("\"00\"").is_err());
    }
}
