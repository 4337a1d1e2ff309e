//! Serde helpers for bytes as hex strings (lowercase when written; either case accepted),
//! used by the wire types with `#[serde(with = "...")]`.

use serde::{Deserialize, Deserializer, Serializer};

/// Decodes hex (either case, no `0x` prefix).
///
/// # Errors
/// A sentence naming the problem (odd length, a non-hex character).
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("invalid hex: {e}"))
}

/// Decodes exactly 32 bytes of hex (64 characters).
///
/// # Errors
/// A sentence naming the problem (not hex, wrong length).
pub fn decode32(text: &str) -> Result<[u8; 32], String> {
    let bytes = decode(text)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "expected 32 bytes (64 hex characters), got {} characters",
            text.len()
        )
    })
}

/// `Vec<u8>` as a hex string.
pub mod bytes {
    use super::{Deserialize, Deserializer, Serializer};

    /// Writes lowercase hex.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Reads hex.
    ///
    /// # Errors
    /// Not a string, or not hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::decode(&text).map_err(serde::de::Error::custom)
    }
}

/// `[u8; 32]` as 64 hex characters.
pub mod id {
    use super::{Deserialize, Deserializer, Serializer};

    /// Writes lowercase hex.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Reads 64 hex characters.
    ///
    /// # Errors
    /// Not a string, not hex, or not 32 bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        super::decode32(&text).map_err(serde::de::Error::custom)
    }
}

/// `Vec<[u8; 32]>` as a list of 64-character hex strings.
pub mod ids {
    use serde::ser::SerializeSeq;

    use super::{Deserialize, Deserializer, Serializer};

    /// Writes a list of lowercase hex strings.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for id in v {
            seq.serialize_element(&hex::encode(id))?;
        }
        seq.end()
    }

    /// Reads a list of 64-character hex strings.
    ///
    /// # Errors
    /// Not a list of strings, or an element that is not 32 bytes of hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|t| super::decode32(t).map_err(serde::de::Error::custom))
            .collect()
    }
}
