//! `maat-certificate`: the Proof-of-Deploy certificate model, canonical JSON and the two
//! rule sets of `CERTIFICATE.md`:
//! - [`maatproof_v1`]: byte- and code-exact with the MaatProof reference (HMAC evidence).
//! - [`maat_v1`]: what validators replay before voting (public-key evidence, registry-backed
//!   policies, real logic, strict parsing, block time as the clock).
//!
//! Everything here is pure: no IO, no clock, no randomness.

pub mod codes;
pub mod json;
pub mod maat_v1;
pub mod maatproof_v1;
pub mod report;

pub use report::{Component, Failure, Report};
