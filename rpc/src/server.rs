//! [`NodeApi`] (what the node implements), the JSON-RPC method table ([`MaatRpcServer`],
//! generated with [`MaatRpcClient`]) and [`RpcServer`] (jsonrpsee, HTTP + WebSocket on one
//! port).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::server::{Server, ServerConfig, ServerHandle};

use crate::error::ApiError;
use crate::hex_serde;
use crate::types::{BlockInfo, NodeStatus, SubmitReceipt, TxStatus};

/// Largest JSON-RPC request body: a maximal transaction (about 1.06 MiB) is twice that in
/// hex, plus the envelope.
pub const MAX_REQUEST_BODY_BYTES: u32 = 4 << 20;
/// Largest JSON-RPC response body: a maximal block (8 MiB) is twice that in hex, plus its
/// transaction ids.
pub const MAX_RESPONSE_BODY_BYTES: u32 = 20 << 20;

/// What the node offers the API. Every method may be called concurrently.
#[async_trait]
pub trait NodeApi: Send + Sync + 'static {
    /// Mempool admission of canonical `Transaction` bytes.
    ///
    /// # Errors
    /// [`crate::codes::TX_REJECTED`] (with [`crate::RejectionData`]) when the transaction is
    /// not admitted; any other [`ApiError`] on a node failure.
    async fn submit_tx(&self, tx: Vec<u8>) -> Result<SubmitReceipt, ApiError>;

    /// Where the transaction `tx_id` is.
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn tx_status(&self, tx_id: [u8; 32]) -> Result<TxStatus, ApiError>;

    /// The node's status.
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn status(&self) -> Result<NodeStatus, ApiError>;

    /// The committed block at `height` (`None` above the head).
    ///
    /// # Errors
    /// An [`ApiError`] on a node failure.
    async fn block(&self, height: u64) -> Result<Option<BlockInfo>, ApiError>;
}

/// The JSON-RPC methods (namespace `maat`, e.g. `maat_submitTx`). jsonrpsee generates
/// `MaatRpcServer` (implemented here over a [`NodeApi`]) and [`MaatRpcClient`] (typed calls,
/// implemented for every jsonrpsee client, e.g. `jsonrpsee::http_client::HttpClient`).
/// Parameters may be given by position or by name (the argument names below).
#[rpc(server, client, namespace = "maat")]
pub trait MaatRpc {
    /// `maat_submitTx(tx_hex)`: submits canonical `Transaction` bytes (hex).
    #[method(name = "submitTx")]
    async fn submit_tx(&self, tx_hex: String) -> RpcResult<SubmitReceipt>;

    /// `maat_getTx(tx_id_hex)`: the status of a transaction (64 hex characters).
    #[method(name = "getTx")]
    async fn get_tx(&self, tx_id_hex: String) -> RpcResult<TxStatus>;

    /// `maat_status()`: the node's status.
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<NodeStatus>;

    /// `maat_getBlock(height)`: the committed block at `height`, or null above the head.
    #[method(name = "getBlock")]
    async fn get_block(&self, height: u64) -> RpcResult<Option<BlockInfo>>;

    /// `maat_health()`: `"ok"` while the server runs.
    ///
    /// # Errors
    /// None on the server side (the `Result` is the framework's; a client sees transport
    /// errors).
    #[method(name = "health")]
    fn health(&self) -> RpcResult<String>;
}

/// Serves a [`NodeApi`] as the [`MaatRpcServer`] methods.
struct Handler {
    api: Arc<dyn NodeApi>,
}

fn param<T>(r: Result<T, String>, name: &str) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid_params(format!("`{name}`: {e}")))
}

#[async_trait]
impl MaatRpcServer for Handler {
    async fn submit_tx(&self, tx_hex: String) -> RpcResult<SubmitReceipt> {
        let tx = param(hex_serde::decode(&tx_hex), "tx_hex")?;
        Ok(self.api.submit_tx(tx).await?)
    }

    async fn get_tx(&self, tx_id_hex: String) -> RpcResult<TxStatus> {
        let id = param(hex_serde::decode32(&tx_id_hex), "tx_id_hex")?;
        Ok(self.api.tx_status(id).await?)
    }

    async fn status(&self) -> RpcResult<NodeStatus> {
        Ok(self.api.status().await?)
    }

    async fn get_block(&self, height: u64) -> RpcResult<Option<BlockInfo>> {
        Ok(self.api.block(height).await?)
    }

    fn health(&self) -> RpcResult<String> {
        Ok("ok".to_owned())
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot bind the JSON-RPC server to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The IO error.
        source: std::io::Error,
    },
    /// The bound address could not be read back.
    #[error("cannot read the JSON-RPC server's local address: {0}")]
    LocalAddr(std::io::Error),
}

/// A running JSON-RPC server (HTTP POST and WebSocket on one port). Dropping it without
/// [`RpcServer::stop`] also stops it, without waiting.
pub struct RpcServer {
    handle: ServerHandle,
    local_addr: SocketAddr,
}

impl fmt::Debug for RpcServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl RpcServer {
    /// Binds `addr` (port 0: any free port, see [`Self::local_addr`]) and serves `api` on the
    /// current tokio runtime.
    ///
    /// # Errors
    /// [`RpcError`].
    pub async fn start(addr: SocketAddr, api: Arc<dyn NodeApi>) -> Result<RpcServer, RpcError> {
        let config = ServerConfig::builder()
            .max_request_body_size(MAX_REQUEST_BODY_BYTES)
            .max_response_body_size(MAX_RESPONSE_BODY_BYTES)
            .build();
        let server = Server::builder()
            .set_config(config)
            .build(addr)
            .await
            .map_err(|source| RpcError::Bind { addr, source })?;
        let local_addr = server.local_addr().map_err(RpcError::LocalAddr)?;
        let handle = server.start(Handler { api }.into_rpc());
        tracing::info!(%local_addr, "JSON-RPC server listening (HTTP and WebSocket)");
        Ok(RpcServer { handle, local_addr })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits until the server has stopped.
    pub async fn stop(self) {
        // An error means it already stopped.
        let _ = self.handle.stop();
        self.handle.stopped().await;
        tracing::info!(local_addr = %self.local_addr, "JSON-RPC server stopped");
    }
}
