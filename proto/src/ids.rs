//! Ids and signature domains.
//!
//! Ids are `blake3("maat/<kind>/v1" || 0x00 || canonical bytes)` ([`maat_crypto::blake3_id`]).
//! Signatures are over `domain || canonical bytes`, with domains that are prefix-free among
//! all Maat domains (each ends in `\n`, which no domain contains elsewhere).

use std::fmt;
use std::str::FromStr;

use maat_crypto::hash::{Hash32, ParseHashError};

/// Signature domain of transactions: the submitter signs `"maat/tx/v1\n" || payload bytes`.
pub const TX_SIGNATURE_DOMAIN: &[u8] = b"maat/tx/v1\n";

/// Id kinds (the `<kind>` of `maat/<kind>/v1`).
pub mod kind {
    /// Transaction ids: over the canonical `TxPayload`.
    pub const TX: &str = maat_crypto::hash::kind::TX;
    /// Ledger state keys: over the canonical `StateKey`.
    pub const STATE_KEY: &str = maat_crypto::hash::kind::STATE_KEY;
    /// The chain id hash: over the canonical `Genesis`.
    pub const GENESIS: &str = maat_crypto::hash::kind::GENESIS;
    /// A block's state changes: over the canonical `StateWrites`.
    pub const STATE_WRITES: &str = "state-writes";
}

/// A transaction id: BLAKE3 over the canonical bytes of the transaction's unsigned payload.
/// Text form: 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TxId(pub [u8; 32]);

impl TxId {
    /// The id of a payload given its canonical bytes.
    #[must_use]
    pub fn of_payload_bytes(payload_bytes: &[u8]) -> Self {
        TxId(maat_crypto::blake3_id(kind::TX, payload_bytes))
    }

    /// The id bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The id from a 32-byte slice (as stored in state records).
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(TxId)
    }

    /// Lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<TxId> for Hash32 {
    fn from(id: TxId) -> Self {
        Hash32(id.0)
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxId({})", self.to_hex())
    }
}

impl FromStr for TxId {
    type Err = ParseHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(TxId(s.parse::<Hash32>()?.0))
    }
}
