//! gRPC: the messages and service generated from `proto/proto/maat/v1/node_api.proto` (package
//! `maat.node.v1`), conversions between them and the serde types of [`crate`], the error
//! mapping ([`status_from_api_error`], [`api_error_from_status`]) and [`GrpcServer`].
//!
//! Clients: [`node_api_client::NodeApiClient`] (generated, over a `tonic::transport::Channel`);
//! the SDK's `maat_sdk::client::Client` wraps it.

#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    unreachable_pub,
    rustdoc::invalid_html_tags
)]

include!(concat!(env!("OUT_DIR"), "/maat.node.v1.rs"));

mod convert;
mod server;
mod status;

pub use convert::{ConvertError, subscribe_request};
pub use server::GrpcServer;
pub use status::{
    ERROR_CODE_KEY, ERROR_DATA_KEY, api_error_from_status, grpc_code, status_from_api_error,
};
/// The tonic version the generated code uses (for `tonic::transport::Channel`, `Status`, ...).
pub use tonic;

/// The encoded `FileDescriptorSet` of `node_api.proto` (what the reflection service serves).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/node_api_descriptor.bin"));

/// The gRPC service's full name (also its name in the health service).
pub const SERVICE_NAME: &str = "maat.node.v1.NodeApi";
