//! `maat-sdk`: what CI pipelines and auditors use to talk to Maat.
//!
//! Today: [`spec`] (the `deploy.toml` description `maat cert build` signs into a certificate),
//! [`registry_file`] (an offline stand-in for the chain's identity and policy registry, for
//! `maat cert check --rule-set maat-v1`), [`client`] (the node's JSON-RPC API over HTTP) and
//! [`workload`] (a valid stream of identity, policy and certificate transactions for tests
//! and load). Finality-proof verification and subscriptions arrive with the rest of the API.

pub mod client;
pub mod registry_file;
pub mod spec;
mod tomljson;
pub mod workload;
