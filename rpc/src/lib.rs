//! `maat-rpc`: JSON-RPC 2.0 and gRPC over one `NodeApi` trait (issue 6).
