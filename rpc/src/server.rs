//! The JSON-RPC method table ([`MaatRpcServer`], generated with [`MaatRpcClient`]) over a
//! [`NodeApi`], and [`RpcServer`] (jsonrpsee, HTTP + WebSocket on one port, with
//! [`RpcLimits`]).

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::middleware::{
    Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceBuilder, RpcServiceT,
};
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::server::{
    MethodResponse, Methods, PendingSubscriptionSink, Server, ServerConfig, ServerHandle,
    StopHandle, SubscriptionMessage, serve_with_graceful_shutdown, stop_channel,
};
use jsonrpsee::types::{ErrorObjectOwned, Id, Request};
use maat_ledger::finality::FinalityProof;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use crate::api::NodeApi;
use crate::error::ApiError;
use crate::hex_serde;
use crate::limits::{RateLimiter, RpcLimits};
use crate::rest::{Rest, is_rest_path};
use crate::types::{
    AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification, AuditRecordInfo,
    BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo, EventFilter,
    InclusionProof, NodeEvent, NodeStatus, PageCursor, SubmitReceipt, SubscriptionKind, TxStatus,
    ValidatorInfo,
};

/// The JSON-RPC methods (namespace `maat`, e.g. `maat_submitTx`). jsonrpsee generates
/// `MaatRpcServer` (implemented here over a [`NodeApi`]) and [`MaatRpcClient`] (typed calls,
/// implemented for every jsonrpsee client, e.g. `jsonrpsee::http_client::HttpClient`; the
/// subscription needs a WebSocket client). Parameters may be given by position or by name (the
/// argument names below).
#[rpc(server, client, namespace = "maat")]
pub trait MaatRpc {
    /// `maat_submitTx(tx_hex)`: submits canonical `Transaction` bytes (hex).
    #[method(name = "submitTx")]
    async fn submit_tx(&self, tx_hex: String) -> RpcResult<SubmitReceipt>;

    /// `maat_submitCertificate(tx_hex)`: as `maat_submitTx`, but invalid params unless the
    /// transaction's body is a certificate.
    #[method(name = "submitCertificate")]
    async fn submit_certificate(&self, tx_hex: String) -> RpcResult<SubmitReceipt>;

    /// `maat_getTx(tx_id_hex)`: the status of a transaction (64 hex characters).
    #[method(name = "getTx")]
    async fn get_tx(&self, tx_id_hex: String) -> RpcResult<TxStatus>;

    /// `maat_status()`: the node's status.
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<NodeStatus>;

    /// `maat_getBlock(block)`: the committed block at a height (integer), with an id (64 hex
    /// characters) or `"latest"`; null when there is none.
    #[method(name = "getBlock")]
    async fn get_block(&self, block: BlockRef) -> RpcResult<Option<BlockInfo>>;

    /// `maat_getLatestBlock()`: the last committed block.
    #[method(name = "getLatestBlock")]
    async fn get_latest_block(&self) -> RpcResult<Option<BlockInfo>>;

    /// `maat_getFinalityProof(tx_id_hex)`: the transaction's finality proof, null if it is not
    /// finalized.
    #[method(name = "getFinalityProof")]
    async fn get_finality_proof(&self, tx_id_hex: String) -> RpcResult<Option<FinalityProof>>;

    /// `maat_getCheckpoint(tree_size?)`: the log checkpoint at `tree_size` (omitted or null:
    /// the latest final one), null if there is none.
    #[method(name = "getCheckpoint")]
    async fn get_checkpoint(&self, tree_size: Option<u64>) -> RpcResult<Option<CheckpointInfo>>;

    /// `maat_getConsistencyProof(old_size, new_size)`.
    #[method(name = "getConsistencyProof")]
    async fn get_consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> RpcResult<ConsistencyProof>;

    /// `maat_getInclusionProof(leaf_index, tree_size)`.
    #[method(name = "getInclusionProof")]
    async fn get_inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> RpcResult<InclusionProof>;

    /// `maat_getDeployment(deployment_id)`: null if unknown.
    #[method(name = "getDeployment")]
    async fn get_deployment(&self, deployment_id: String) -> RpcResult<Option<DeploymentInfo>>;

    /// `maat_getIdentity(id)`: the identity's record, null if unknown.
    #[method(name = "getIdentity")]
    async fn get_identity(&self, id: String) -> RpcResult<Option<serde_json::Value>>;

    /// `maat_getPolicy(service, environment)`: the registered policy, null if none.
    #[method(name = "getPolicy")]
    async fn get_policy(
        &self,
        service: String,
        environment: String,
    ) -> RpcResult<Option<serde_json::Value>>;

    /// `maat_validators()`: the validator set.
    #[method(name = "validators")]
    async fn validators(&self) -> RpcResult<Vec<ValidatorInfo>>;

    /// `maat_getAuditRecord(tx_id_hex)`: the committed audit record carried by that
    /// transaction, with its finality proof; null if there is none.
    #[method(name = "getAuditRecord")]
    async fn get_audit_record(&self, tx_id_hex: String) -> RpcResult<Option<AuditRecordInfo>>;

    /// `maat_getAuditChain(agent_id, from_sequence?, limit?)`: records of an agent's chain in
    /// sequence order from `from_sequence` (default 1), at most `limit` (default and maximum
    /// 1000).
    #[method(name = "getAuditChain")]
    async fn get_audit_chain(
        &self,
        agent_id: String,
        from_sequence: Option<u64>,
        limit: Option<u32>,
    ) -> RpcResult<AuditChainPage>;

    /// `maat_verifyAuditChain(agent_id, to_sequence?)`: re-checks the chain end to end, from
    /// record 1 to `to_sequence` (default: the last).
    #[method(name = "verifyAuditChain")]
    async fn verify_audit_chain(
        &self,
        agent_id: String,
        to_sequence: Option<u64>,
    ) -> RpcResult<AuditChainVerification>;

    /// `maat_getAttestation(log_index)`: the attestation at that log index, null if that
    /// entry is not one.
    #[method(name = "getAttestation")]
    async fn get_attestation(&self, log_index: u64) -> RpcResult<Option<AttestationInfo>>;

    /// `maat_getAttestationsBySubject(subject, after?, limit?)`: every committed attestation
    /// naming the digest `subject` (`"sha256:<hex>"`), oldest first, `limit` per page
    /// (default and maximum 100); pass the page's `next` as `after`.
    #[method(name = "getAttestationsBySubject")]
    async fn get_attestations_by_subject(
        &self,
        subject: String,
        after: Option<PageCursor>,
        limit: Option<u32>,
    ) -> RpcResult<AttestationPage>;

    /// `maat_health()`: `"ok"` while the server runs.
    ///
    /// # Errors
    /// None on the server side (the `Result` is the framework's; a client sees transport
    /// errors).
    #[method(name = "health")]
    fn health(&self) -> RpcResult<String>;

    /// `maat_subscribe(kind, filter?)` (WebSocket only): notifications `maat_subscription`
    /// carrying [`NodeEvent`]s of `kind`; `filter` only for `"finalizedTxs"`. Ended by
    /// `maat_unsubscribe(subscription_id)`. A subscriber that falls behind gets an error
    /// notification (`{"code": -32004, ...}`) and the subscription is closed.
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = NodeEvent)]
    async fn subscribe_events(
        &self,
        kind: SubscriptionKind,
        filter: Option<EventFilter>,
    ) -> SubscriptionResult;
}

/// Most records per `maat_getAuditChain` page (also the default).
pub const MAX_AUDIT_CHAIN_PAGE: u32 = 1000;
/// Most attestations per `maat_getAttestationsBySubject` page (also the default).
pub const MAX_ATTESTATION_PAGE: u32 = 100;

/// A page size: `None` is `max`; 0 or above `max` is invalid.
pub(crate) fn page_limit(limit: Option<u32>, max: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(max),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid_params(format!(
            "`limit`: {n} is outside 1..={max}"
        ))),
    }
}

/// Serves a [`NodeApi`] as the [`MaatRpcServer`] methods.
struct Handler {
    api: Arc<dyn NodeApi>,
}

fn param<T>(r: Result<T, String>, name: &str) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid_params(format!("`{name}`: {e}")))
}

/// Checks that `tx` decodes to a `Transaction` whose body is a certificate.
///
/// # Errors
/// [`crate::codes::INVALID_PARAMS`] naming the problem.
pub(crate) fn check_certificate_tx(tx: &[u8]) -> Result<(), ApiError> {
    use maat_proto::Message as _;
    use maat_proto::v1::{Transaction, tx_body::Kind};
    let decoded = Transaction::decode(tx)
        .map_err(|e| ApiError::invalid_params(format!("`tx_hex`: not a Transaction: {e}")))?;
    let kind = decoded
        .payload
        .as_ref()
        .and_then(|p| p.body.as_ref())
        .and_then(|b| b.kind.as_ref());
    match kind {
        Some(Kind::Certificate(_)) => Ok(()),
        Some(other) => {
            let name = match other {
                Kind::Certificate(_) => "certificate",
                Kind::IdentityOp(_) => "identity_op",
                Kind::PolicyOp(_) => "policy_op",
                Kind::AuditRecord(_) => "audit_record",
                Kind::Attestation(_) => "attestation",
            };
            Err(ApiError::invalid_params(format!(
                "`tx_hex`: the transaction's body is {name}, not a certificate (use maat_submitTx)"
            )))
        }
        None => Err(ApiError::invalid_params(
            "`tx_hex`: the transaction has no body",
        )),
    }
}

/// The JSON of a subscription's closing error notification.
fn subscription_error(e: &ApiError) -> jsonrpsee::core::SubscriptionError {
    let obj = serde_json::json!({"code": e.code, "message": e.message});
    match serde_json::value::to_raw_value(&obj) {
        Ok(raw) => jsonrpsee::core::SubscriptionError::from_json(raw),
        Err(_) => e.message.clone().into(),
    }
}

#[async_trait]
impl MaatRpcServer for Handler {
    async fn submit_tx(&self, tx_hex: String) -> RpcResult<SubmitReceipt> {
        let tx = param(hex_serde::decode(&tx_hex), "tx_hex")?;
        Ok(self.api.submit_tx(tx).await?)
    }

    async fn submit_certificate(&self, tx_hex: String) -> RpcResult<SubmitReceipt> {
        let tx = param(hex_serde::decode(&tx_hex), "tx_hex")?;
        check_certificate_tx(&tx)?;
        Ok(self.api.submit_tx(tx).await?)
    }

    async fn get_tx(&self, tx_id_hex: String) -> RpcResult<TxStatus> {
        let id = param(hex_serde::decode32(&tx_id_hex), "tx_id_hex")?;
        Ok(self.api.tx_status(id).await?)
    }

    async fn status(&self) -> RpcResult<NodeStatus> {
        Ok(self.api.status().await?)
    }

    async fn get_block(&self, block: BlockRef) -> RpcResult<Option<BlockInfo>> {
        Ok(self.api.block(block).await?)
    }

    async fn get_latest_block(&self) -> RpcResult<Option<BlockInfo>> {
        Ok(self.api.block(BlockRef::Latest).await?)
    }

    async fn get_finality_proof(&self, tx_id_hex: String) -> RpcResult<Option<FinalityProof>> {
        let id = param(hex_serde::decode32(&tx_id_hex), "tx_id_hex")?;
        Ok(self.api.finality_proof(id).await?)
    }

    async fn get_checkpoint(&self, tree_size: Option<u64>) -> RpcResult<Option<CheckpointInfo>> {
        Ok(self.api.checkpoint(tree_size).await?)
    }

    async fn get_consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> RpcResult<ConsistencyProof> {
        Ok(self.api.consistency_proof(old_size, new_size).await?)
    }

    async fn get_inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> RpcResult<InclusionProof> {
        Ok(self.api.inclusion_proof(leaf_index, tree_size).await?)
    }

    async fn get_deployment(&self, deployment_id: String) -> RpcResult<Option<DeploymentInfo>> {
        Ok(self.api.deployment(deployment_id).await?)
    }

    async fn get_identity(&self, id: String) -> RpcResult<Option<serde_json::Value>> {
        Ok(self.api.identity(id).await?)
    }

    async fn get_policy(
        &self,
        service: String,
        environment: String,
    ) -> RpcResult<Option<serde_json::Value>> {
        Ok(self.api.policy(service, environment).await?)
    }

    async fn validators(&self) -> RpcResult<Vec<ValidatorInfo>> {
        Ok(self.api.validators().await?)
    }

    fn health(&self) -> RpcResult<String> {
        Ok("ok".to_owned())
    }

    async fn get_audit_record(&self, tx_id_hex: String) -> RpcResult<Option<AuditRecordInfo>> {
        let id = param(hex_serde::decode32(&tx_id_hex), "tx_id_hex")?;
        Ok(self.api.audit_record(id).await?)
    }

    async fn get_audit_chain(
        &self,
        agent_id: String,
        from_sequence: Option<u64>,
        limit: Option<u32>,
    ) -> RpcResult<AuditChainPage> {
        let limit = page_limit(limit, MAX_AUDIT_CHAIN_PAGE)?;
        Ok(self
            .api
            .audit_chain(agent_id, from_sequence.unwrap_or(1), limit)
            .await?)
    }

    async fn verify_audit_chain(
        &self,
        agent_id: String,
        to_sequence: Option<u64>,
    ) -> RpcResult<AuditChainVerification> {
        Ok(self.api.verify_audit_chain(agent_id, to_sequence).await?)
    }

    async fn get_attestation(&self, log_index: u64) -> RpcResult<Option<AttestationInfo>> {
        Ok(self.api.attestation(log_index).await?)
    }

    async fn get_attestations_by_subject(
        &self,
        subject: String,
        after: Option<PageCursor>,
        limit: Option<u32>,
    ) -> RpcResult<AttestationPage> {
        let limit = page_limit(limit, MAX_ATTESTATION_PAGE)?;
        Ok(self
            .api
            .attestations_by_subject(subject, after, limit)
            .await?)
    }

    async fn subscribe_events(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
        filter: Option<EventFilter>,
    ) -> SubscriptionResult {
        let filter = filter.unwrap_or_default();
        if kind != SubscriptionKind::FinalizedTxs && !filter.is_empty() {
            pending
                .reject(ApiError::invalid_params(format!(
                    "`filter`: only \"finalizedTxs\" subscriptions take a filter, not {:?}",
                    kind.as_str()
                )))
                .await;
            return Ok(());
        }
        // The receiver exists before the client learns the subscription id: no event sent
        // after the subscription is confirmed is missed.
        let mut events = self.api.events();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                () = sink.closed() => return Ok(()),
                event = events.recv() => match event {
                    Ok(event) => {
                        if !filter.matches(kind, &event) {
                            continue;
                        }
                        let raw = serde_json::value::to_raw_value(&event)?;
                        if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "JSON-RPC subscriber lagged; closing it");
                        return Err(subscription_error(&ApiError::subscription_lagged(missed)));
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(subscription_error(&ApiError::unavailable(
                            "the node's event feed closed (shutting down)",
                        )));
                    }
                },
            }
        }
    }
}

/// The remote IP address of the connection a request came on (an HTTP request extension,
/// propagated by jsonrpsee into every JSON-RPC call's extensions).
#[derive(Clone, Copy, Debug)]
struct RemoteIp(IpAddr);

/// Whether a request came on a WebSocket connection (subscriptions need one).
#[derive(Clone, Copy, Debug)]
struct WebSocket(bool);

/// Holds a connection slot while any request of the connection (or its WebSocket session) lives.
#[derive(Clone)]
struct ConnectionSlot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// RPC middleware: the per-client rate limit and the request timeout.
#[derive(Clone)]
struct Limit<S> {
    inner: S,
    limiter: Arc<RateLimiter>,
    timeout: Duration,
}

/// The subscription methods (over plain HTTP they are refused with a clear error).
const SUBSCRIPTION_METHODS: [&str; 2] = ["maat_subscribe", "maat_unsubscribe"];

impl<S> Limit<S> {
    fn allowed(&self, req: &Request<'_>) -> bool {
        req.extensions()
            .get::<RemoteIp>()
            .is_none_or(|ip| self.limiter.try_acquire(ip.0, 1))
    }
}

impl<S> RpcServiceT for Limit<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let allowed = self.allowed(&req);
        let inner = self.inner.clone();
        let timeout = self.timeout;
        async move {
            if !allowed {
                return MethodResponse::error(
                    req.id,
                    ErrorObjectOwned::from(ApiError::rate_limited()),
                );
            }
            let on_http = req.extensions().get::<WebSocket>().is_some_and(|ws| !ws.0);
            if on_http && SUBSCRIPTION_METHODS.contains(&req.method_name()) {
                let e = ApiError::new(
                    crate::codes::INVALID_REQUEST,
                    "subscriptions need a WebSocket connection (ws://), not plain HTTP",
                );
                return MethodResponse::error(req.id, ErrorObjectOwned::from(e));
            }
            let id = req.id.clone();
            match tokio::time::timeout(timeout, inner.call(req)).await {
                Ok(rp) => rp,
                Err(_) => {
                    MethodResponse::error(id, ErrorObjectOwned::from(ApiError::timeout(timeout)))
                }
            }
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        for entry in batch.iter_mut() {
            if let Ok(BatchEntry::Call(req)) = entry
                && !self.allowed(req)
            {
                *entry = Err(BatchEntryErr::new(
                    req.id.clone(),
                    ErrorObjectOwned::from(ApiError::rate_limited()),
                ));
            }
        }
        let inner = self.inner.clone();
        let timeout = self.timeout;
        async move {
            match tokio::time::timeout(timeout, inner.batch(batch)).await {
                Ok(rp) => rp,
                Err(_) => MethodResponse::error(
                    Id::Null,
                    ErrorObjectOwned::from(ApiError::timeout(timeout)),
                ),
            }
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot bind the RPC server to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The IO error.
        source: std::io::Error,
    },
    /// The bound address could not be read back.
    #[error("cannot read the RPC server's local address: {0}")]
    LocalAddr(std::io::Error),
    /// The gRPC services could not be set up.
    #[error("cannot set up the gRPC server: {0}")]
    Grpc(String),
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

/// How long a refused connection may take to send its request head before it is closed.
const REFUSE_READ_TIMEOUT: Duration = Duration::from_secs(1);
/// Refusals in progress at once; past this, extra connections are closed without an answer.
const MAX_REFUSALS: usize = 64;

/// Answers a connection over the limit with HTTP 429 and closes it. Reads (a bounded part of)
/// the request first, so the answer is not lost to a reset.
async fn refuse(mut sock: TcpStream) {
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(REFUSE_READ_TIMEOUT, async {
        while let Ok(n) = sock.read(&mut buf).await {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if seen.windows(4).any(|w| w == b"\r\n\r\n") || seen.len() > 16 * 1024 {
                break;
            }
        }
    })
    .await;
    let body = "too many connections; retry later\n";
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(response.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// The [`Limit`] middleware as a layer.
#[derive(Clone)]
struct LimitLayer {
    limiter: Arc<RateLimiter>,
    timeout: Duration,
}

impl<S> tower::Layer<S> for LimitLayer {
    type Service = Limit<S>;

    fn layer(&self, inner: S) -> Limit<S> {
        Limit {
            inner,
            limiter: self.limiter.clone(),
            timeout: self.timeout,
        }
    }
}

type Builder = jsonrpsee::server::TowerServiceBuilder<
    tower::layer::util::Stack<LimitLayer, tower::layer::util::Identity>,
    tower::layer::util::Identity,
>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The service for one connection: `/v1/...` paths go to the REST handler, everything else to
/// jsonrpsee, tagged with the connection's [`RemoteIp`] and [`ConnectionSlot`].
#[derive(Clone)]
struct PerRequest {
    service: jsonrpsee::server::TowerService<
        tower::layer::util::Stack<LimitLayer, tower::layer::util::Identity>,
        tower::layer::util::Identity,
    >,
    rest: Arc<Rest>,
    ip: RemoteIp,
    slot: ConnectionSlot,
}

impl tower::Service<jsonrpsee::server::HttpRequest<hyper::body::Incoming>> for PerRequest {
    type Response = jsonrpsee::server::HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(
        &mut self,
        mut req: jsonrpsee::server::HttpRequest<hyper::body::Incoming>,
    ) -> Self::Future {
        if is_rest_path(req.uri().path()) {
            let rest = self.rest.clone();
            let ip = self.ip.0;
            return Box::pin(async move { Ok(rest.handle(req, ip).await) });
        }
        let ws = WebSocket(jsonrpsee::server::ws::is_upgrade_request(&req));
        req.extensions_mut().insert(ws);
        req.extensions_mut().insert(self.ip);
        req.extensions_mut().insert(self.slot.clone());
        tower::Service::call(&mut self.service, req)
    }
}

async fn accept_loop(
    listener: TcpListener,
    builder: Builder,
    methods: Methods,
    rest: Arc<Rest>,
    stop: StopHandle,
    max_connections: u32,
) {
    let slots = Arc::new(Semaphore::new(max_connections as usize));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    loop {
        let (sock, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::debug!(error = %e, "JSON-RPC accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = stop.clone().shutdown() => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "JSON-RPC connection over the limit refused");
            if let Ok(permit) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(sock).await;
                    drop(permit);
                });
            }
            continue;
        };
        let _ = sock.set_nodelay(true);
        let slot = ConnectionSlot(Arc::new(slot));
        let ip = RemoteIp(remote.ip());
        let per_request = PerRequest {
            service: builder.clone().build(methods.clone(), stop.clone()),
            rest: rest.clone(),
            ip,
            slot,
        };
        let stopped = stop.clone().shutdown();
        tokio::spawn(async move {
            if let Err(e) = serve_with_graceful_shutdown(sock, per_request, stopped).await {
                tracing::debug!(%remote, error = %e, "JSON-RPC connection ended with an error");
            }
        });
    }
}

impl RpcServer {
    /// Binds `addr` (port 0: any free port, see [`Self::local_addr`]) and serves `api` on the
    /// current tokio runtime, within `limits`.
    ///
    /// # Errors
    /// [`RpcError`].
    pub async fn start(
        addr: SocketAddr,
        api: Arc<dyn NodeApi>,
        limits: RpcLimits,
    ) -> Result<RpcServer, RpcError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RpcError::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(RpcError::LocalAddr)?;
        let config = ServerConfig::builder()
            .max_request_body_size(limits.max_request_bytes)
            .max_response_body_size(limits.max_response_bytes)
            .max_connections(limits.max_connections)
            .build();
        // One bucket per client for JSON-RPC and REST on this port.
        let limiter = Arc::new(RateLimiter::new(&limits));
        let rest = Arc::new(Rest::new(api.clone(), limiter.clone(), &limits));
        let layer = LimitLayer {
            limiter,
            timeout: limits.request_timeout,
        };
        let builder = Server::builder()
            .set_config(config)
            .set_rpc_middleware(RpcServiceBuilder::new().layer(layer))
            .to_service_builder();
        let methods: Methods = Handler { api }.into_rpc().into();
        let (stop, handle) = stop_channel();
        tokio::spawn(accept_loop(
            listener,
            builder,
            methods,
            rest,
            stop,
            limits.max_connections,
        ));
        tracing::info!(%local_addr, "JSON-RPC server listening (HTTP and WebSocket)");
        Ok(RpcServer { handle, local_addr })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, closes the open ones (WebSocket subscriptions end) and
    /// waits until every connection has finished.
    pub async fn stop(self) {
        // An error means it already stopped.
        let _ = self.handle.stop();
        self.handle.clone().stopped().await;
        tracing::info!(local_addr = %self.local_addr, "JSON-RPC server stopped");
    }
}
