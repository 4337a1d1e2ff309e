//! `maat-proto`: the wire and on-disk messages of Maat, their canonical encoding, and the ids
//! derived from them.
//!
//! - [`v1`]: the prost code generated from `proto/maat/v1/*.proto` (transactions, ledger state
//!   records, the block's application header, genesis).
//! - [`canonical`]: the canonical encoding (prost's, for messages without maps, fields in tag
//!   order) and [`decode_canonical`], which refuses any input that does not re-encode to the same
//!   bytes, with the size limit checked before decoding.
//! - [`ids`]: [`TxId`], the signature domains, and the id kinds.
//! - [`tx`]: building, signing and identifying transactions; converting keys.
//!
//! Byte layouts: `docs/PROTOCOL-ENCODING.md`.

#![deny(missing_docs)]

pub mod canonical;
pub mod ids;
pub mod tx;

/// Generated messages of package `maat.v1` (see the `.proto` files for field documentation).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/maat.v1.rs"));
}

pub use canonical::{CanonicalError, decode_canonical, encode};
pub use ids::{TX_SIGNATURE_DOMAIN, TxId};
/// The prost version the generated code uses (for `prost::encoding` helpers).
pub use prost;
pub use prost::Message;
