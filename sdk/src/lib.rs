//! `maat-sdk`: what CI pipelines and auditors use to talk to Maat.
//!
//! Today: [`spec`] (the `deploy.toml` description `maat cert build` signs into a certificate)
//! and [`registry_file`] (an offline stand-in for the chain's identity and policy registry, for
//! `maat cert check --rule-set maat-v1`). The network client, finality-proof verification and
//! subscriptions arrive with the RPC work.

pub mod registry_file;
pub mod spec;
mod tomljson;
