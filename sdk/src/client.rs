//! [`Client`]: typed calls to one node's API (the methods and codes of `docs/RPC.md`) over the
//! transport the URL names: JSON-RPC over HTTP (`http://`, `https://`), JSON-RPC over WebSocket
//! (`ws://`, `wss://`) or gRPC (`grpc://host:port`). Every call means the same on every
//! transport; subscriptions need WebSocket or gRPC.
//!
//! [`Client::connect`] opens the connection (WebSocket, gRPC) and fails early when the node is
//! unreachable; [`Client::new`] makes no IO (the first call connects). [`NodeClient`] is the
//! earlier, synchronous-`connect` name of the same client.
//!
//! The CI use case: submit a certificate, wait until it is final, keep its finality proof.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use maat_proto::tx::{body, payload, sign};
//! use maat_sdk::client::Client;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = maat_crypto::keyfile::load_key_file("ci-key.json")?;
//! // Canonical certificate JSON, e.g. from `maat cert build`.
//! let certificate = std::fs::read("cert.json")?;
//!
//! let client = Client::connect("grpc://127.0.0.1:9090").await?; // or "http://127.0.0.1:26657"
//! let chain_id = client.status().await?.chain_id;
//! let nonce = 1; // the submitter's last committed nonce + 1
//! let tx = sign(
//!     payload(&chain_id, "ci-bot", nonce, body::certificate(certificate)),
//!     &key.key_pair,
//! );
//! let tx_id = client.submit_certificate(&maat_proto::encode(&tx)).await?;
//! let at = client.wait_for_finality(tx_id, Duration::from_secs(60)).await?;
//! println!("{tx_id} final in block {} at log index {}", at.height, at.log_index);
//! let proof = client.finality_proof(tx_id).await?.ok_or("not finalized")?;
//! std::fs::write("proof.json", serde_json::to_vec_pretty(&proof)?)?;
//! # Ok(())
//! # }
//! ```
//!
//! Rejections come back as [`ClientError::Rejected`] with the stable codes (and the checker's
//! failure codes), on every transport.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use jsonrpsee::core::client::Error as JsonRpcError;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use maat_proto::TxId;
use maat_rpc::grpc::node_api_client::NodeApiClient;
use maat_rpc::grpc::tonic::codegen::http::Uri;
use maat_rpc::grpc::tonic::transport::{Channel, Endpoint};
use maat_rpc::grpc::tonic::{Code, Status};
use maat_rpc::grpc::{self as pb, ConvertError};
use maat_rpc::{
    ApiError, AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification,
    AuditRecordInfo, BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo,
    EventFilter, FinalityProof, InclusionProof, MAX_REQUEST_BODY_BYTES, MAX_RESPONSE_BODY_BYTES,
    MaatRpcClient, NodeEvent, NodeStatus, PageCursor, RejectionData, SubscriptionKind, TxStatus,
    ValidatorInfo, codes,
};

/// How often [`Client::wait_for_finality`] polls by default.
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
    /// The node could not be reached, or the exchange failed (connection refused, request
    /// timeout, HTTP status, gRPC `UNAVAILABLE`). Possibly transient.
    #[error("transport error talking to the node: {0}")]
    Transport(String),
    /// The transaction was rejected: at submission (error -32001) or, in
    /// [`Client::wait_for_finality`], by the node's status report.
    #[error("transaction rejected: {message} ({})", rejection.code)]
    Rejected {
        /// The node's sentence.
        message: String,
        /// The stable codes.
        rejection: RejectionData,
    },
    /// Any other error from the node (invalid params, internal error, rate limited, ...), with
    /// its JSON-RPC code (also for gRPC: the `maat-error-code` metadata).
    #[error("node error: {0}")]
    Api(ApiError),
    /// The node's answer does not have the documented shape.
    #[error("unexpected response from the node: {0}")]
    Decode(String),
    /// [`Client::wait_for_finality`] gave up.
    #[error("transaction {tx_id} not final after {after:?} (last status: {last:?})")]
    Timeout {
        /// The transaction.
        tx_id: TxId,
        /// The time waited.
        after: Duration,
        /// The last status read (`None`: no read succeeded).
        last: Option<TxStatus>,
    },
    /// The transport cannot do this (subscriptions over plain HTTP).
    #[error("not supported over this transport: {0}")]
    Unsupported(String),
    /// The node ended a subscription (it is shutting down, or the connection dropped).
    #[error("subscription closed: {0}")]
    SubscriptionClosed(String),
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

    /// The JSON-RPC error code of an error the node reported ([`ClientError::Rejected`]:
    /// [`codes::TX_REJECTED`]; [`ClientError::Api`]: its code).
    #[must_use]
    pub fn code(&self) -> Option<i32> {
        match self {
            ClientError::Rejected { .. } => Some(codes::TX_REJECTED),
            ClientError::Api(api) => Some(api.code),
            _ => None,
        }
    }

    /// Whether retrying later may succeed: transport errors, and the node's "unavailable",
    /// "timeout" and "rate limited".
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::Api(api) => matches!(
                api.code,
                codes::UNAVAILABLE | codes::TIMEOUT | codes::RATE_LIMITED
            ),
            _ => false,
        }
    }

    fn from_api(api: ApiError) -> ClientError {
        match api.rejection() {
            Some(rejection) => ClientError::Rejected {
                message: api.message,
                rejection,
            },
            None => ClientError::Api(api),
        }
    }
}

impl From<JsonRpcError> for ClientError {
    fn from(e: JsonRpcError) -> Self {
        match e {
            JsonRpcError::Call(obj) => ClientError::from_api(ApiError::from(obj)),
            JsonRpcError::ParseError(e) => ClientError::Decode(e.to_string()),
            other => ClientError::Transport(other.to_string()),
        }
    }
}

impl From<Status> for ClientError {
    /// A status from the Maat service carries `maat-error-code` (and maybe `maat-error-data`):
    /// the node's error. Others come from the gRPC framework or the transport.
    fn from(s: Status) -> Self {
        if let Some(api) = pb::api_error_from_status(&s) {
            return ClientError::from_api(api);
        }
        let message = format!("gRPC {:?}: {}", s.code(), s.message());
        let code = match s.code() {
            Code::Unavailable
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Unknown
            | Code::Aborted => return ClientError::Transport(message),
            Code::InvalidArgument => codes::INVALID_PARAMS,
            Code::Unimplemented => codes::METHOD_NOT_FOUND,
            Code::OutOfRange => codes::OVERSIZED_RESPONSE,
            Code::ResourceExhausted => codes::RATE_LIMITED,
            _ => codes::INTERNAL,
        };
        ClientError::Api(ApiError::new(code, message))
    }
}

impl From<ConvertError> for ClientError {
    fn from(e: ConvertError) -> Self {
        ClientError::Decode(e.0)
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

/// A live feed of node events ([`Client::subscribe`]). It yields the events in order; an error
/// item ends it (the node closed the subscription: a lagging subscriber gets
/// [`ClientError::Api`] with [`codes::SUBSCRIPTION_LAGGED`] over gRPC, or
/// [`ClientError::SubscriptionClosed`] over WebSocket). Dropping it unsubscribes.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<NodeEvent, ClientError>> + Send>>;

/// A WebSocket connection, opened on first use and reopened when it dropped.
struct WsTransport {
    url: String,
    request_timeout: Duration,
    client: tokio::sync::Mutex<Option<Arc<WsClient>>>,
}

impl WsTransport {
    async fn get(&self) -> Result<Arc<WsClient>, ClientError> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref()
            && client.is_connected()
        {
            return Ok(client.clone());
        }
        let client = WsClientBuilder::default()
            .max_request_size(MAX_REQUEST_BODY_BYTES)
            .max_response_size(MAX_RESPONSE_BODY_BYTES)
            .request_timeout(self.request_timeout)
            .connection_timeout(self.request_timeout)
            .build(&self.url)
            .await
            .map_err(ClientError::from)?;
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok(client)
    }
}

/// A gRPC channel, created on first use (it reconnects by itself).
struct GrpcTransport {
    endpoint: Endpoint,
    channel: OnceLock<Channel>,
}

impl GrpcTransport {
    fn client(&self) -> NodeApiClient<Channel> {
        let channel = self
            .channel
            .get_or_init(|| self.endpoint.connect_lazy())
            .clone();
        NodeApiClient::new(channel)
            .max_decoding_message_size(MAX_RESPONSE_BODY_BYTES as usize)
            .max_encoding_message_size(MAX_REQUEST_BODY_BYTES as usize)
    }
}

enum Transport {
    Http(HttpClient),
    Ws(WsTransport),
    Grpc(Box<GrpcTransport>),
}

/// A client of one node. Cheap to clone (clones share the connection); calls may run
/// concurrently. A dropped connection is reopened by the next call.
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
    url: String,
    poll_interval: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// A [`Client`] made with a synchronous `connect` (no IO: the first call connects), the
/// client's earlier name; every [`Client`] method is available through `Deref`.
#[derive(Clone, Debug)]
pub struct NodeClient(Client);

impl NodeClient {
    /// [`Client::new`].
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn connect(url: &str) -> Result<NodeClient, ClientError> {
        Client::new(url).map(NodeClient)
    }

    /// [`Client::new_with_timeout`].
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn connect_with_timeout(
        url: &str,
        request_timeout: Duration,
    ) -> Result<NodeClient, ClientError> {
        Client::new_with_timeout(url, request_timeout).map(NodeClient)
    }

    /// [`Client::with_poll_interval`].
    #[must_use]
    pub fn with_poll_interval(self, interval: Duration) -> Self {
        NodeClient(self.0.with_poll_interval(interval))
    }

    /// The [`Client`].
    #[must_use]
    pub fn into_client(self) -> Client {
        self.0
    }
}

impl std::ops::Deref for NodeClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.0
    }
}

impl From<NodeClient> for Client {
    fn from(c: NodeClient) -> Client {
        c.0
    }
}

/// One call on whichever transport the client has: `json` with `$c` a jsonrpsee client
/// ([`MaatRpcClient`] methods), `grpc` with `$g` a [`NodeApiClient`] (an async block
/// returning `Result<_, ClientError>`).
macro_rules! call {
    ($self:ident, json: |$c:ident| $json:expr, grpc: |$g:ident| $grpc:expr $(,)?) => {
        match &*$self.transport {
            Transport::Http($c) => $json.await.map_err(ClientError::from),
            Transport::Ws(ws) => {
                let client = ws.get().await?;
                let $c = &*client;
                $json.await.map_err(ClientError::from)
            }
            Transport::Grpc(grpc) => {
                #[allow(unused_mut)]
                let mut $g = grpc.client();
                $grpc.await
            }
        }
    };
}

/// An error and its sources, `: `-separated (tonic's transport errors say little at the top).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn invalid_url(url: &str, reason: impl Into<String>) -> ClientError {
    ClientError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

impl Client {
    /// A client for the node at `url`: `http://host:port` or `https://...` (JSON-RPC over
    /// HTTP), `ws://host:port` or `wss://...` (JSON-RPC over WebSocket), `grpc://host:port`
    /// (gRPC, plaintext HTTP/2). Opens the WebSocket or gRPC connection now (HTTP: no request
    /// is made).
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`]; [`ClientError::Transport`] when the node cannot be reached
    /// (WebSocket, gRPC).
    pub async fn connect(url: &str) -> Result<Client, ClientError> {
        Self::connect_with_timeout(url, DEFAULT_REQUEST_TIMEOUT).await
    }

    /// As [`Self::connect`], with a per-request timeout (also the connection timeout).
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub async fn connect_with_timeout(
        url: &str,
        request_timeout: Duration,
    ) -> Result<Client, ClientError> {
        let client = Self::new_with_timeout(url, request_timeout)?;
        match &*client.transport {
            Transport::Http(_) => {}
            Transport::Ws(ws) => {
                ws.get().await?;
            }
            Transport::Grpc(grpc) => {
                let channel = grpc.endpoint.connect().await.map_err(|e| {
                    ClientError::Transport(format!("cannot connect to {url}: {}", error_chain(&e)))
                })?;
                let _ = grpc.channel.set(channel);
            }
        }
        Ok(client)
    }

    /// A client for the node at `url` (the schemes of [`Self::connect`]) that makes no IO
    /// until the first call: an unreachable node shows up as [`ClientError::Transport`] then.
    /// Needs no async context.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn new(url: &str) -> Result<Client, ClientError> {
        Self::new_with_timeout(url, DEFAULT_REQUEST_TIMEOUT)
    }

    /// As [`Self::new`], with a per-request timeout.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn new_with_timeout(url: &str, request_timeout: Duration) -> Result<Client, ClientError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid_url(url, "no scheme (http://, ws:// or grpc://)"))?;
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => Transport::Http(
                HttpClientBuilder::default()
                    .max_request_size(MAX_REQUEST_BODY_BYTES)
                    .max_response_size(MAX_RESPONSE_BODY_BYTES)
                    .request_timeout(request_timeout)
                    .build(url)
                    .map_err(|e| invalid_url(url, e.to_string()))?,
            ),
            "ws" | "wss" => {
                let uri: Uri = url.parse().map_err(|e| invalid_url(url, format!("{e}")))?;
                if uri.host().is_none_or(str::is_empty) {
                    return Err(invalid_url(url, "no host"));
                }
                Transport::Ws(WsTransport {
                    url: url.to_owned(),
                    request_timeout,
                    client: tokio::sync::Mutex::new(None),
                })
            }
            "grpc" => {
                let authority = rest.trim_end_matches('/');
                if authority.is_empty() || authority.contains('/') {
                    return Err(invalid_url(url, "expected grpc://host:port"));
                }
                let endpoint = Endpoint::from_shared(format!("http://{authority}"))
                    .map_err(|e| invalid_url(url, e.to_string()))?
                    .timeout(request_timeout)
                    .connect_timeout(request_timeout.min(Duration::from_secs(10)));
                Transport::Grpc(Box::new(GrpcTransport {
                    endpoint,
                    channel: OnceLock::new(),
                }))
            }
            "grpcs" => return Err(invalid_url(url, "gRPC over TLS is not supported yet")),
            other => {
                return Err(invalid_url(
                    url,
                    format!("unsupported scheme `{other}` (http, https, ws, wss or grpc)"),
                ));
            }
        };
        Ok(Client {
            transport: Arc::new(transport),
            url: url.to_owned(),
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }

    /// Sets the polling interval of [`Self::wait_for_finality`] (at least 1 ms).
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
        call!(self,
            json: |c| c.submit_tx(hex::encode(tx)),
            grpc: |g| async move {
                let r = g.submit_tx(pb::SubmitTxRequest { tx: tx.to_vec() }).await?;
                Ok(maat_rpc::SubmitReceipt::try_from(r.into_inner())?)
            },
        )
        .map(|r| r.id())
    }

    /// Submits a certificate transaction (`maat_submitCertificate`): as [`Self::submit_tx`],
    /// but the node refuses (invalid params) anything that is not a certificate.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] when the node refuses it; [`ClientError::Api`] with
    /// [`codes::INVALID_PARAMS`] for a transaction of another kind; other [`ClientError`]s.
    pub async fn submit_certificate(&self, tx: &[u8]) -> Result<TxId, ClientError> {
        call!(self,
            json: |c| c.submit_certificate(hex::encode(tx)),
            grpc: |g| async move {
                let r = g.submit_certificate(pb::SubmitTxRequest { tx: tx.to_vec() }).await?;
                Ok(maat_rpc::SubmitReceipt::try_from(r.into_inner())?)
            },
        )
        .map(|r| r.id())
    }

    /// The status of a transaction (`maat_getTx`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn tx_status(&self, tx_id: TxId) -> Result<TxStatus, ClientError> {
        call!(self,
            json: |c| c.get_tx(tx_id.to_hex()),
            grpc: |g| async move {
                let r = g.get_tx(pb::GetTxRequest { tx_id: tx_id.0.to_vec() }).await?;
                Ok(TxStatus::try_from(r.into_inner())?)
            },
        )
    }

    /// The node's status (`maat_status`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        call!(self,
            json: |c| c.status(),
            grpc: |g| async move {
                let r = g.status(pb::StatusRequest {}).await?;
                Ok(NodeStatus::try_from(r.into_inner())?)
            },
        )
    }

    /// The committed block at a height (`u64`), with an id (`[u8; 32]`) or
    /// [`BlockRef::Latest`] (`maat_getBlock`); `None` when there is none.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn block(&self, at: impl Into<BlockRef>) -> Result<Option<BlockInfo>, ClientError> {
        let at = at.into();
        call!(self,
            json: |c| c.get_block(at),
            grpc: |g| async move {
                let r = g.get_block(pb::GetBlockRequest::from(at)).await?;
                Ok(Option::<BlockInfo>::try_from(r.into_inner())?)
            },
        )
    }

    /// The last committed block (`maat_getLatestBlock`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn latest_block(&self) -> Result<Option<BlockInfo>, ClientError> {
        call!(self,
            json: |c| c.get_latest_block(),
            grpc: |g| async move {
                let r = g.get_latest_block(pb::GetLatestBlockRequest {}).await?;
                Ok(Option::<BlockInfo>::try_from(r.into_inner())?)
            },
        )
    }

    /// The finality proof of a transaction (`maat_getFinalityProof`); `None` while it is not
    /// finalized.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn finality_proof(&self, tx_id: TxId) -> Result<Option<FinalityProof>, ClientError> {
        call!(self,
            json: |c| c.get_finality_proof(tx_id.to_hex()),
            grpc: |g| async move {
                let r = g
                    .get_finality_proof(pb::GetFinalityProofRequest { tx_id: tx_id.0.to_vec() })
                    .await?;
                Ok(Option::<FinalityProof>::try_from(r.into_inner())?)
            },
        )
    }

    /// The log checkpoint at `tree_size` (`None`: the latest final one) (`maat_getCheckpoint`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn checkpoint(
        &self,
        tree_size: Option<u64>,
    ) -> Result<Option<CheckpointInfo>, ClientError> {
        call!(self,
            json: |c| c.get_checkpoint(tree_size),
            grpc: |g| async move {
                let r = g.get_checkpoint(pb::GetCheckpointRequest { tree_size }).await?;
                Ok(Option::<CheckpointInfo>::try_from(r.into_inner())?)
            },
        )
    }

    /// A consistency proof between two log sizes (`maat_getConsistencyProof`).
    ///
    /// # Errors
    /// [`ClientError`] ([`codes::INVALID_PARAMS`] for sizes out of range).
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ClientError> {
        call!(self,
            json: |c| c.get_consistency_proof(old_size, new_size),
            grpc: |g| async move {
                let request = pb::GetConsistencyProofRequest { old_size, new_size };
                let r = g.get_consistency_proof(request).await?;
                Ok(ConsistencyProof::try_from(r.into_inner())?)
            },
        )
    }

    /// An inclusion proof of log entry `leaf_index` in the log of `tree_size` entries
    /// (`maat_getInclusionProof`).
    ///
    /// # Errors
    /// [`ClientError`] ([`codes::INVALID_PARAMS`] for an index or size out of range).
    pub async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ClientError> {
        call!(self,
            json: |c| c.get_inclusion_proof(leaf_index, tree_size),
            grpc: |g| async move {
                let request = pb::GetInclusionProofRequest { leaf_index, tree_size };
                let r = g.get_inclusion_proof(request).await?;
                Ok(InclusionProof::try_from(r.into_inner())?)
            },
        )
    }

    /// A deployment's record and transactions (`maat_getDeployment`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn deployment(
        &self,
        deployment_id: &str,
    ) -> Result<Option<DeploymentInfo>, ClientError> {
        call!(self,
            json: |c| c.get_deployment(deployment_id.to_owned()),
            grpc: |g| async move {
                let request = pb::GetDeploymentRequest { deployment_id: deployment_id.to_owned() };
                let r = g.get_deployment(request).await?;
                Ok(Option::<DeploymentInfo>::try_from(r.into_inner())?)
            },
        )
    }

    /// An identity's registry record (`maat_getIdentity`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn identity(&self, id: &str) -> Result<Option<serde_json::Value>, ClientError> {
        call!(self,
            json: |c| c.get_identity(id.to_owned()),
            grpc: |g| async move {
                let r = g.get_identity(pb::GetIdentityRequest { id: id.to_owned() }).await?;
                Ok(Option::<serde_json::Value>::try_from(r.into_inner())?)
            },
        )
    }

    /// The policy registered for (`service`, `environment`) (`maat_getPolicy`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn policy(
        &self,
        service: &str,
        environment: &str,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        call!(self,
            json: |c| c.get_policy(service.to_owned(), environment.to_owned()),
            grpc: |g| async move {
                let request = pb::GetPolicyRequest {
                    service: service.to_owned(),
                    environment: environment.to_owned(),
                };
                let r = g.get_policy(request).await?;
                Ok(Option::<serde_json::Value>::try_from(r.into_inner())?)
            },
        )
    }

    /// The validator set (`maat_validators`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn validators(&self) -> Result<Vec<ValidatorInfo>, ClientError> {
        call!(self,
            json: |c| c.validators(),
            grpc: |g| async move {
                let r = g.validators(pb::ValidatorsRequest {}).await?;
                Ok(r.into_inner().validators.into_iter().map(Into::into).collect())
            },
        )
    }

    /// The committed audit record carried by `tx_id`, with its finality proof
    /// (`maat_getAuditRecord`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn audit_record(&self, tx_id: TxId) -> Result<Option<AuditRecordInfo>, ClientError> {
        call!(self,
            json: |c| c.get_audit_record(tx_id.to_hex()),
            grpc: |g| async move {
                let request = pb::GetAuditRecordRequest { tx_id: tx_id.0.to_vec() };
                let r = g.get_audit_record(request).await?;
                Ok(Option::<AuditRecordInfo>::try_from(r.into_inner())?)
            },
        )
    }

    /// A page of `agent_id`'s audit chain from `from_sequence` (`maat_getAuditChain`;
    /// `limit` `None`: the node's maximum, 1000).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn audit_chain(
        &self,
        agent_id: &str,
        from_sequence: u64,
        limit: Option<u32>,
    ) -> Result<AuditChainPage, ClientError> {
        call!(self,
            json: |c| c.get_audit_chain(agent_id.to_owned(), Some(from_sequence), limit),
            grpc: |g| async move {
                let request = pb::GetAuditChainRequest {
                    agent_id: agent_id.to_owned(),
                    from_sequence: Some(from_sequence),
                    limit,
                };
                let r = g.get_audit_chain(request).await?;
                Ok(AuditChainPage::try_from(r.into_inner())?)
            },
        )
    }

    /// The node's end-to-end check of `agent_id`'s chain up to `to_sequence`
    /// (`maat_verifyAuditChain`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn verify_audit_chain(
        &self,
        agent_id: &str,
        to_sequence: Option<u64>,
    ) -> Result<AuditChainVerification, ClientError> {
        call!(self,
            json: |c| c.verify_audit_chain(agent_id.to_owned(), to_sequence),
            grpc: |g| async move {
                let request = pb::VerifyAuditChainRequest {
                    agent_id: agent_id.to_owned(),
                    to_sequence,
                };
                let r = g.verify_audit_chain(request).await?;
                Ok(AuditChainVerification::try_from(r.into_inner())?)
            },
        )
    }

    /// The attestation at `log_index` (`maat_getAttestation`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn attestation(
        &self,
        log_index: u64,
    ) -> Result<Option<AttestationInfo>, ClientError> {
        call!(self,
            json: |c| c.get_attestation(log_index),
            grpc: |g| async move {
                let r = g.get_attestation(pb::GetAttestationRequest { log_index }).await?;
                Ok(Option::<AttestationInfo>::try_from(r.into_inner())?)
            },
        )
    }

    /// One page of the attestations naming `subject` (`maat_getAttestationsBySubject`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn attestations_by_subject(
        &self,
        subject: &str,
        after: Option<PageCursor>,
        limit: Option<u32>,
    ) -> Result<AttestationPage, ClientError> {
        call!(self,
            json: |c| c.get_attestations_by_subject(subject.to_owned(), after, limit),
            grpc: |g| async move {
                let request = pb::GetAttestationsBySubjectRequest {
                    subject: subject.to_owned(),
                    after: after.map(Into::into),
                    limit,
                };
                let r = g.get_attestations_by_subject(request).await?;
                Ok(AttestationPage::try_from(r.into_inner())?)
            },
        )
    }

    /// Whether the node answers (`maat_health`).
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Decode`] if the answer is not `"ok"`.
    pub async fn health(&self) -> Result<(), ClientError> {
        let answer = call!(self,
            json: |c| c.health(),
            grpc: |g| async move {
                Ok(g.health(pb::HealthRequest {}).await?.into_inner().status)
            },
        )?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(ClientError::Decode(format!(
                "maat_health answered {answer:?}"
            )))
        }
    }

    /// Subscribes to node events of `kind` (`filter`: only for
    /// [`SubscriptionKind::FinalizedTxs`]; every field given must match). Over WebSocket
    /// (`maat_subscribe`) or gRPC (`Subscribe`); events sent after this returns are not missed.
    ///
    /// # Errors
    /// [`ClientError::Unsupported`] over plain HTTP; [`ClientError::Api`] with
    /// [`codes::INVALID_PARAMS`] for a filter on another kind; other [`ClientError`]s.
    pub async fn subscribe(
        &self,
        kind: SubscriptionKind,
        filter: EventFilter,
    ) -> Result<EventStream, ClientError> {
        match &*self.transport {
            Transport::Http(_) => Err(ClientError::Unsupported(
                "subscriptions need a WebSocket (ws://) or gRPC (grpc://) URL".into(),
            )),
            Transport::Ws(ws) => {
                let client = ws.get().await?;
                let filter = (!filter.is_empty()).then_some(filter);
                let sub = client.subscribe_events(kind, filter).await?;
                // The client (the connection) lives as long as the stream.
                let state = (sub, client, false);
                Ok(Box::pin(futures::stream::unfold(
                    state,
                    |(mut sub, client, ended)| async move {
                        if ended {
                            return None;
                        }
                        match sub.next().await {
                            Some(Ok(event)) => Some((Ok(event), (sub, client, false))),
                            Some(Err(e)) => Some((
                                Err(ClientError::Decode(e.to_string())),
                                (sub, client, false),
                            )),
                            None => {
                                let reason = match sub.close_reason() {
                                    Some(
                                        jsonrpsee::core::client::SubscriptionCloseReason::Lagged,
                                    ) => "this client fell behind its notification buffer",
                                    _ => {
                                        "the node closed it (the subscriber lagged behind, or the \
                                         node is shutting down) or the connection dropped"
                                    }
                                };
                                let e = ClientError::SubscriptionClosed(reason.into());
                                Some((Err(e), (sub, client, true)))
                            }
                        }
                    },
                )))
            }
            Transport::Grpc(grpc) => {
                let request = pb::subscribe_request(kind, filter);
                let stream = grpc.client().subscribe(request).await?.into_inner();
                Ok(Box::pin(futures::stream::unfold(
                    (stream, false),
                    |(mut stream, ended)| async move {
                        if ended {
                            return None;
                        }
                        match stream.next().await {
                            Some(Ok(event)) => {
                                let item = NodeEvent::try_from(event).map_err(ClientError::from);
                                Some((item, (stream, false)))
                            }
                            Some(Err(status)) => Some((Err(status.into()), (stream, true))),
                            None => {
                                let e = ClientError::SubscriptionClosed(
                                    "the node ended the stream (shutting down)".into(),
                                );
                                Some((Err(e), (stream, true)))
                            }
                        }
                    },
                )))
            }
        }
    }

    /// Polls the transaction's status every poll interval until it is finalized or rejected,
    /// or `timeout` has passed. Transient errors ([`ClientError::is_transient`]: transport,
    /// unavailable, rate limited) are retried until the timeout (a node may be restarting);
    /// other errors end the wait.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] if the node reports it rejected,
    /// [`ClientError::Timeout`], or the first non-transient error.
    pub async fn wait_for_finality(
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
                Ok(Err(e)) if e.is_transient() => {
                    tracing::debug!(%tx_id, error = %e, "wait_for_finality: transient error, retrying");
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

    /// [`Self::wait_for_finality`] (its earlier name).
    ///
    /// # Errors
    /// As [`Self::wait_for_finality`].
    pub async fn wait_finalized(
        &self,
        tx_id: TxId,
        timeout: Duration,
    ) -> Result<Finalized, ClientError> {
        self.wait_for_finality(tx_id, timeout).await
    }
}
