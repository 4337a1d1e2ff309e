//! [`NodeClient`]: typed calls to a node's JSON-RPC API over HTTP (the methods and codes of
//! `docs/RPC.md`), and [`NodeClient::wait_finalized`].

use std::time::Duration;

use jsonrpsee::core::client::Error as JsonRpcError;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use maat_proto::TxId;
use maat_rpc::{
    ApiError, BlockInfo, MAX_REQUEST_BODY_BYTES, MAX_RESPONSE_BODY_BYTES, MaatRpcClient,
    NodeStatus, RejectionData, TxStatus,
};

/// How often [`NodeClient::wait_finalized`] polls by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long one request may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not usable (syntax, scheme).
    #[error("invalid node URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The node could not be reached, or the HTTP exchange failed (connection refused,
    /// request timeout, HTTP status). Possibly transient.
    #[error("transport error talking to the node: {0}")]
    Transport(String),
    /// The transaction was rejected: at submission (JSON-RPC error -32001) or, in
    /// [`NodeClient::wait_finalized`], by the node's status report.
    #[error("transaction rejected: {message} ({})", rejection.code)]
    Rejected {
        /// The node's sentence.
        message: String,
        /// The stable codes.
        rejection: RejectionData,
    },
    /// Any other JSON-RPC error from the node (invalid params, internal error, ...).
    #[error("node error: {0}")]
    Api(ApiError),
    /// The node's answer does not have the documented shape.
    #[error("unexpected response from the node: {0}")]
    Decode(String),
    /// [`NodeClient::wait_finalized`] gave up.
    #[error("transaction {tx_id} not final after {after:?} (last status: {last:?})")]
    Timeout {
        /// The transaction.
        tx_id: TxId,
        /// The time waited.
        after: Duration,
        /// The last status read (`None`: no read succeeded).
        last: Option<TxStatus>,
    },
}

impl ClientError {
    /// The rejection codes, for [`ClientError::Rejected`].
    #[must_use]
    pub fn rejection(&self) -> Option<&RejectionData> {
        match self {
            ClientError::Rejected { rejection, .. } => Some(rejection),
            _ => None,
        }
    }
}

impl From<JsonRpcError> for ClientError {
    fn from(e: JsonRpcError) -> Self {
        match e {
            JsonRpcError::Call(obj) => {
                let api = ApiError::from(obj);
                match api.rejection() {
                    Some(rejection) => ClientError::Rejected {
                        message: api.message,
                        rejection,
                    },
                    None => ClientError::Api(api),
                }
            }
            JsonRpcError::ParseError(e) => ClientError::Decode(e.to_string()),
            other => ClientError::Transport(other.to_string()),
        }
    }
}

/// Where a finalized transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finalized {
    /// The block height.
    pub height: u64,
    /// The index in the block.
    pub position: u32,
    /// The index in the chain's log.
    pub log_index: u64,
}

/// A client of one node's JSON-RPC API over HTTP. Cheap to clone; calls may run
/// concurrently.
#[derive(Clone, Debug)]
pub struct NodeClient {
    client: HttpClient,
    url: String,
    poll_interval: Duration,
}

impl NodeClient {
    /// A client for the node at `url` (e.g. `http://127.0.0.1:26657`). No request is made:
    /// an unreachable node shows up as [`ClientError::Transport`] on the first call.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn connect(url: &str) -> Result<NodeClient, ClientError> {
        Self::connect_with_timeout(url, DEFAULT_REQUEST_TIMEOUT)
    }

    /// As [`Self::connect`], with a per-request timeout.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn connect_with_timeout(
        url: &str,
        request_timeout: Duration,
    ) -> Result<NodeClient, ClientError> {
        let client = HttpClientBuilder::default()
            .max_request_size(MAX_REQUEST_BODY_BYTES)
            .max_response_size(MAX_RESPONSE_BODY_BYTES)
            .request_timeout(request_timeout)
            .build(url)
            .map_err(|e| ClientError::InvalidUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(NodeClient {
            client,
            url: url.to_owned(),
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }

    /// Sets the polling interval of [`Self::wait_finalized`] (at least 1 ms).
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The node's URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Submits canonical `Transaction` bytes (`maat_submitTx`); the id on admission.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] when the node refuses it; other [`ClientError`]s.
    pub async fn submit_tx(&self, tx: &[u8]) -> Result<TxId, ClientError> {
        let receipt = self.client.submit_tx(hex::encode(tx)).await?;
        Ok(receipt.id())
    }

    /// The status of a transaction (`maat_getTx`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn tx_status(&self, tx_id: TxId) -> Result<TxStatus, ClientError> {
        Ok(self.client.get_tx(tx_id.to_hex()).await?)
    }

    /// The node's status (`maat_status`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        Ok(self.client.status().await?)
    }

    /// The committed block at `height` (`maat_getBlock`); `None` above the head.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn block(&self, height: u64) -> Result<Option<BlockInfo>, ClientError> {
        Ok(self.client.get_block(height).await?)
    }

    /// Whether the node answers (`maat_health`).
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Decode`] if the answer is not `"ok"`.
    pub async fn health(&self) -> Result<(), ClientError> {
        let answer = self.client.health().await?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(ClientError::Decode(format!(
                "maat_health answered {answer:?}"
            )))
        }
    }

    /// Polls `maat_getTx` every poll interval until the transaction is finalized or
    /// rejected, or `timeout` has passed. Transport errors are retried until the timeout (a
    /// node may be restarting); other errors end the wait.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] if the node reports it rejected,
    /// [`ClientError::Timeout`], or the first non-transport error.
    pub async fn wait_finalized(
        &self,
        tx_id: TxId,
        timeout: Duration,
    ) -> Result<Finalized, ClientError> {
        let start = tokio::time::Instant::now();
        let deadline = start + timeout;
        let mut last = None;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let poll = tokio::time::timeout(remaining, self.tx_status(tx_id)).await;
            match poll {
                Ok(Ok(TxStatus::Finalized {
                    height,
                    position,
                    log_index,
                })) => {
                    return Ok(Finalized {
                        height,
                        position,
                        log_index,
                    });
                }
                Ok(Ok(TxStatus::Rejected {
                    code,
                    numeric_code,
                    details,
                })) => {
                    return Err(ClientError::Rejected {
                        message: format!("the node reports transaction {tx_id} rejected"),
                        rejection: RejectionData {
                            code,
                            numeric_code,
                            codes: details,
                        },
                    });
                }
                Ok(Ok(status)) => last = Some(status),
                Ok(Err(ClientError::Transport(e))) => {
                    tracing::debug!(%tx_id, error = %e, "wait_finalized: transport error, retrying");
                }
                Ok(Err(e)) => return Err(e),
                Err(_elapsed) => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ClientError::Timeout {
                    tx_id,
                    after: now.duration_since(start),
                    last,
                });
            }
            tokio::time::sleep(self.poll_interval.min(deadline - now)).await;
        }
    }
}
