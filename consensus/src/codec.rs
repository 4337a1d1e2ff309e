//! Canonical byte encoding of every consensus message, written by hand.
//!
//! Layout rules (one encoding per value, so ids and signatures are not malleable):
//! - integers are fixed width little-endian (`u8`, `u32`, `u64`);
//! - ids are 32 raw bytes;
//! - byte strings are a `u32` length followed by the bytes;
//! - lists are a `u32` count followed by the items;
//! - an `Option` is a tag byte `0` (none) or `1` (some) followed by the value;
//! - signer lists are sorted by strictly increasing validator index.
//!
//! The decoder rejects anything the encoder would not produce (unknown tags, unsorted signers,
//! trailing bytes), so `encode(decode(b)) == b` for every accepted `b`. It never panics and never
//! allocates more than the input length justifies.

use std::fmt;

/// Longest signature accepted on the wire (ML-DSA-65 signatures are 3309 bytes).
pub const MAX_SIGNATURE_LEN: usize = 16 * 1024;
/// Most signers a certificate may carry.
pub const MAX_SIGNERS: usize = 1 << 16;

/// Why bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside a field.
    UnexpectedEnd,
    /// Bytes were left after the value.
    TrailingBytes,
    /// An enum or option tag that no encoding produces.
    BadTag(u8),
    /// A length or count larger than the input or a protocol limit.
    TooLarge,
    /// A well-formed but non-canonical value (e.g. signers not sorted).
    NonCanonical(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnexpectedEnd => write!(f, "unexpected end of input"),
            DecodeError::TrailingBytes => write!(f, "trailing bytes after value"),
            DecodeError::BadTag(t) => write!(f, "unknown tag {t}"),
            DecodeError::TooLarge => write!(f, "length or count too large"),
            DecodeError::NonCanonical(what) => write!(f, "non-canonical encoding: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A value with a canonical byte encoding.
pub trait Encode {
    /// Appends the canonical bytes of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The canonical bytes of `self`.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// A value that can be read back from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly one value: trailing bytes are an error.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_len(out: &mut Vec<u8>, len: usize) {
    // Lengths above u32::MAX cannot be produced by a valid message; saturate rather than wrap so
    // the (oversized) encoding is rejected by every decoder instead of being misread.
    put_u32(out, u32::try_from(len).unwrap_or(u32::MAX));
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

pub(crate) fn put_option<T: Encode>(out: &mut Vec<u8>, v: &Option<T>) {
    match v {
        None => put_u8(out, 0),
        Some(v) => {
            put_u8(out, 1);
            v.encode_to(out);
        }
    }
}

/// A cursor over input bytes; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    pub(crate) fn array32(&mut self) -> Result<[u8; 32], DecodeError> {
        let mut b = [0u8; 32];
        b.copy_from_slice(self.take(32)?);
        Ok(b)
    }

    /// A length-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes(&mut self, max: usize) -> Result<Vec<u8>, DecodeError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(DecodeError::TooLarge);
        }
        Ok(self.take(len)?.to_vec())
    }

    /// A list count, checked against the bytes left so a hostile count cannot make us allocate:
    /// every item needs at least `min_item_len` bytes.
    pub(crate) fn count(&mut self, max: usize, min_item_len: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n > max || n.saturating_mul(min_item_len.max(1)) > self.remaining() {
            return Err(DecodeError::TooLarge);
        }
        Ok(n)
    }

    pub(crate) fn option_tag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            t => Err(DecodeError::BadTag(t)),
        }
    }

    pub(crate) fn option<T: Decode>(&mut self) -> Result<Option<T>, DecodeError> {
        if self.option_tag()? {
            Ok(Some(T::decode_from(self)?))
        } else {
            Ok(None)
        }
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}
