//! `maat-sdk`: what CI pipelines and auditors use to talk to Maat.
//!
//! - [`client`]: [`client::Client`], one async client for a node's JSON-RPC (HTTP or WebSocket)
//!   and gRPC APIs, chosen by URL scheme: submit certificates, wait for finality, fetch finality
//!   proofs, checkpoints and consistency proofs, subscribe to finalized transactions. Its module
//!   docs show the CI flow end to end.
//! - [`proof`]: [`verify_finality_proof`] and checkpoint verification, offline, with only the
//!   chain's genesis file (`docs/FINALITY-PROOFS.md`, `docs/CHECKPOINTS.md`).
//! - [`spec`] (the `deploy.toml` description `maat cert build` signs into a certificate),
//!   [`registry_file`] (an offline stand-in for the chain's identity and policy registry, for
//!   `maat cert check --rule-set maat-v1`), [`workload`] (valid identity, policy and certificate
//!   transaction streams for tests and load).
//!
//! The `maat` binary (`src/bin/maat/`) is a thin CLI over these.

pub mod client;
pub mod proof;
pub mod registry_file;
pub mod spec;
mod tomljson;
pub mod workload;

pub use proof::verify_finality_proof;
