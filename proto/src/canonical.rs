//! Canonical protobuf encoding.
//!
//! Every Maat message is proto3 without maps, and every `.proto` file declares its fields in
//! tag order. prost encodes fields in tag order, omits default scalar values and writes
//! minimal varints, so [`encode`] gives exactly one byte string per message value. A message
//! has many *other* encodings that decode to the same value (fields out of order, a field
//! repeated, a default value written out, an over-long varint, an unknown field, a packed list
//! split in two). [`decode_canonical`] accepts only the canonical one: it decodes, re-encodes
//! and compares, so an id computed over received bytes can never differ for equal content
//! (non-malleable ids).

use prost::Message;

/// Why bytes are not the canonical encoding of a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// Longer than the caller's limit; nothing was decoded.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The input's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a valid protobuf encoding of the message.
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    /// Decodes, but is not the canonical encoding of what it decodes to.
    #[error("not the canonical encoding (re-encoding gives different bytes)")]
    NonCanonical,
}

/// The canonical bytes of `msg`.
#[must_use]
pub fn encode<M: Message>(msg: &M) -> Vec<u8> {
    msg.encode_to_vec()
}

/// Decodes `bytes` as `M` if and only if they are at most `max_len` long and are exactly the
/// canonical encoding of the decoded value.
///
/// # Errors
/// [`CanonicalError::TooLarge`] (checked first, before any decoding work),
/// [`CanonicalError::Malformed`], [`CanonicalError::NonCanonical`].
pub fn decode_canonical<M: Message + Default>(
    bytes: &[u8],
    max_len: usize,
) -> Result<M, CanonicalError> {
    if bytes.len() > max_len {
        return Err(CanonicalError::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    let msg = M::decode(bytes).map_err(|e| CanonicalError::Malformed(e.to_string()))?;
    // The length check is cheap and catches most non-canonical inputs without allocating.
    if msg.encoded_len() != bytes.len() || msg.encode_to_vec() != bytes {
        return Err(CanonicalError::NonCanonical);
    }
    Ok(msg)
}
