//! `maat-ledger`: the deterministic state machine of Maat (PROTOCOL.md "Transactions").
//!
//! - [`Genesis`]: the genesis file (validators, admins, parameters), its hash and the
//!   initial state.
//! - [`Ledger`]: one implementation of every transaction check. [`Ledger::decode`] (stateless),
//!   [`Ledger::verify_signature`] (the mempool's [`VerifiedTx`] token),
//!   [`Ledger::check`] / [`Ledger::check_verified`] (mempool, validators) and
//!   [`Ledger::apply`] (check + writes into an [`Overlay`]).
//! - Blocks: [`Ledger::apply_block`], [`Ledger::verify_block`], [`Ledger::build_block`];
//!   [`BlockOutcome`] holds what storage commits in one batch (state writes, log leaves, tx
//!   index data) and the [`build_app_header`] application header.
//! - State: [`StateView`], [`Overlay`] (stackable, for pending blocks), [`MemoryState`],
//!   [`state::keys`]; [`StateRegistry`] implements the maat-v1 `Registry` over a view.
//! - [`Rejection`]: typed, with stable string and numeric codes.
//! - [`attestation`]: DSSE envelopes over in-toto Statements v1 (attestation transactions),
//!   shared with the SDK and offline verifiers.
//! - [`audit`]: audit records' record hash and per-field data commitments (shared with the
//!   SDK and offline verifiers).
//!
//! Pure: no IO except [`Genesis::load`], no clock (the block time is an argument), no
//! randomness. Byte layouts: `docs/PROTOCOL-ENCODING.md`.

#![deny(missing_docs)]

pub mod attestation;
pub mod audit;
pub mod block;
pub mod finality;
pub mod genesis;
pub mod names;
pub mod registry;
pub mod rejection;
pub mod signing;
pub mod state;
pub mod tx;

pub use block::{
    AppliedTx, BlockError, BlockOutcome, BuiltBlock, KnownSignatures, NoKnownSignatures,
    build_app_header, state_writes_hash, tx_root, verify_app_header,
};
pub use genesis::{
    ChainParams, DEFAULT_MAX_ATTESTATION_TX_BYTES, DEFAULT_MAX_AUDIT_RECORD_TX_BYTES,
    GeneratedGenesis, Genesis, GenesisError, GenesisFile, GenesisSpec,
};
pub use registry::{DecodeCache, Identity, StateRegistry};
pub use rejection::{CertificateFailure, Rejection, TxError, TxKind};
pub use state::{MemoryState, Overlay, StateError, StateView, Write};
pub use tx::{DecodedTx, Ledger, TxEffects, TxSubject, VerifiedTx};
