//! `maat-sdk`: what CI pipelines and auditors use to talk to Maat.
//!
//! - [`client`]: [`client::Client`], one async client for a node's JSON-RPC (HTTP or WebSocket)
//!   and gRPC APIs, chosen by URL scheme: submit certificates, wait for finality, fetch finality
//!   proofs, checkpoints and consistency proofs, subscribe to finalized transactions. Its module
//!   docs show the CI flow end to end.
//! - [`proof`]: [`verify_finality_proof`] and checkpoint verification, offline, with only the
//!   chain's genesis file (`docs/FINALITY-PROOFS.md`, `docs/CHECKPOINTS.md`).
//! - [`audit_bundle`]: export an agent's audit chain as a bundle (records, one cosigned
//!   checkpoint, inclusion proofs; `--redact` fields as salted commitments) and verify it
//!   offline (`docs/AUDIT-BUNDLES.md`).
//! - [`attest`]: the agent-session flow: local intent hash chain, artifact manifest, the
//!   agent-session in-toto statement signed as DSSE, receipts and offline bundles and their
//!   verification (`docs/ATTESTATIONS.md`).
//! - [`spec`] (the `deploy.toml` description `maat cert build` signs into a certificate),
//!   [`registry_file`] (an offline stand-in for the chain's identity and policy registry, for
//!   `maat cert check --rule-set maat-v1`), [`workload`] (valid identity, policy and certificate
//!   transaction streams for tests and load).
//!
//! The `maat` binary (`src/bin/maat/`) is a thin CLI over these.

pub mod attest;
pub mod audit_bundle;
pub mod client;
pub mod proof;
pub mod registry_file;
pub mod spec;
mod tomljson;
pub mod workload;

pub use proof::verify_finality_proof;
