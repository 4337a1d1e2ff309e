//! `maat-rpc`: the node's API over one [`NodeApi`] trait, served twice.
//!
//! - [`RpcServer`]: JSON-RPC 2.0 over HTTP POST and WebSocket on one port (jsonrpsee), the
//!   [`MaatRpcServer`] methods (`maat_submitTx`, `maat_getBlock`, ..., `maat_subscribe`).
//!   [`MaatRpcClient`] (generated) gives typed calls over any jsonrpsee client.
//! - [`GrpcServer`]: the gRPC service `maat.node.v1.NodeApi` (tonic; [`grpc`] has the
//!   generated messages and [`grpc::node_api_client::NodeApiClient`]) beside the standard
//!   reflection and health services.
//!
//! Both enforce [`RpcLimits`] (body sizes, connections, a per-client token bucket, a request
//! timeout) and report errors with the stable codes of [`codes`]: JSON-RPC error objects, or
//! gRPC statuses carrying the same code in the `maat-error-code` metadata
//! ([`grpc::status_from_api_error`]). The serde types ([`TxStatus`], [`BlockInfo`],
//! [`NodeEvent`], ...) are the JSON wire format on both sides. Method tables, parameters, error
//! codes and limits: `docs/RPC.md`.
//!
//! Bytes travel as hex in JSON (lowercase out; either case in; 32-byte ids as exactly 64
//! characters) and as raw bytes in gRPC.

#![deny(missing_docs)]

mod api;
mod error;
pub mod grpc;
pub mod hex_serde;
mod limits;
mod rest;
mod server;
mod types;

pub use api::NodeApi;
pub use error::{ApiError, RejectionData, codes};
pub use grpc::GrpcServer;
pub use limits::{MAX_REQUEST_BODY_BYTES, MAX_RESPONSE_BODY_BYTES, RpcLimits};
/// A transaction's finality proof (the type [`NodeApi::finality_proof`] returns).
pub use maat_ledger::finality::FinalityProof;
pub use server::{
    MAX_ATTESTATION_PAGE, MAX_AUDIT_CHAIN_PAGE, MaatRpcClient, MaatRpcServer, RpcError, RpcServer,
};
pub use types::{
    AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification, AuditRecordInfo,
    BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo, EventFilter,
    InclusionProof, NodeEvent, NodeStatus, PageCursor, SubmitReceipt, SubscriptionKind, TxRef,
    TxStatus, ValidatorInfo,
};
