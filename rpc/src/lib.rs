//! `maat-rpc`: the node's JSON-RPC 2.0 API over one [`NodeApi`] trait.
//!
//! The node implements [`NodeApi`]; [`RpcServer::start`] serves it with jsonrpsee over HTTP POST
//! and WebSocket on one port. The method names, parameters, results and error codes are listed
//! in `docs/RPC.md`; the same serde types ([`SubmitReceipt`], [`TxStatus`], [`NodeStatus`],
//! [`BlockInfo`]) are the wire format on both sides, so clients (the SDK) deserialize results
//! into them. [`MaatRpcClient`] (generated) gives typed calls over any jsonrpsee client.
//!
//! Bytes travel as hex (lowercase out; either case in), 32-byte ids as exactly 64 hex
//! characters. Parameters may be given by position or by name.
//!
//! gRPC and the rest of the API (proofs, subscriptions, registry reads) come later (issue 6).

#![deny(missing_docs)]

mod error;
pub mod hex_serde;
mod server;
mod types;

pub use error::{ApiError, RejectionData, codes};
pub use server::{
    MAX_REQUEST_BODY_BYTES, MAX_RESPONSE_BODY_BYTES, MaatRpcClient, MaatRpcServer, NodeApi,
    RpcError, RpcServer,
};
pub use types::{BlockInfo, NodeStatus, SubmitReceipt, TxStatus};
