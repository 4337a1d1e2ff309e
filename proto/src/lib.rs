//! `maat-proto`: wire and on-disk message schemas and their canonical encoding.
//!
//! Filled in by the consensus and ledger work (issues 3 and 4): deterministic protobuf
//! encodings, `TxId`/`BlockId` as domain-separated BLAKE3 ids.
