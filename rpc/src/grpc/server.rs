//! [`GrpcServer`]: the `maat.node.v1.NodeApi` service over a [`NodeApi`], with the standard
//! reflection (v1 and v1alpha) and health services, within [`RpcLimits`].

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::future::{Either, Ready, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};
use tokio::task::JoinHandle;
use tonic::codegen::http;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::{Request, Response, Status};

use crate::api::NodeApi;
use crate::error::ApiError;
use crate::grpc as pb;
use crate::grpc::convert::id32;
use crate::grpc::node_api_server::{NodeApi as GrpcNodeApi, NodeApiServer};
use crate::grpc::status::status_from_api_error;
use crate::limits::{RateLimiter, RpcLimits};
use crate::server::{
    MAX_ATTESTATION_PAGE, MAX_AUDIT_CHAIN_PAGE, RpcError, check_certificate_tx, page_limit,
};
use crate::types::{BlockRef, EventFilter, NodeEvent, SubscriptionKind};

/// The service implementation over a [`NodeApi`].
struct Service {
    api: Arc<dyn NodeApi>,
    timeout: Duration,
    shutdown: watch::Receiver<bool>,
}

fn invalid(e: impl fmt::Display) -> Status {
    status_from_api_error(&ApiError::invalid_params(e.to_string()))
}

impl Service {
    /// Runs one API call within the request timeout; errors become statuses.
    async fn run<T>(&self, call: impl Future<Output = Result<T, ApiError>>) -> Result<T, Status> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(status_from_api_error(&e)),
            Err(_) => Err(status_from_api_error(&ApiError::timeout(self.timeout))),
        }
    }
}

/// A subscription's event stream.
type EventStream = Pin<Box<dyn Stream<Item = Result<pb::NodeEvent, Status>> + Send>>;

struct Subscription {
    events: broadcast::Receiver<NodeEvent>,
    kind: SubscriptionKind,
    filter: EventFilter,
    shutdown: watch::Receiver<bool>,
    ended: bool,
}

/// The next event of `sub` that passes its filter; a final error when it lagged or the feed
/// closed; the end when the server stops.
async fn next_event(
    mut sub: Subscription,
) -> Option<(Result<pb::NodeEvent, Status>, Subscription)> {
    if sub.ended {
        return None;
    }
    loop {
        let received = tokio::select! {
            _ = sub.shutdown.wait_for(|stop| *stop) => return None,
            event = sub.events.recv() => event,
        };
        match received {
            Ok(event) => {
                if sub.filter.matches(sub.kind, &event) {
                    return Some((Ok(event.into()), sub));
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "gRPC subscriber lagged; closing it");
                sub.ended = true;
                let status = status_from_api_error(&ApiError::subscription_lagged(missed));
                return Some((Err(status), sub));
            }
            Err(broadcast::error::RecvError::Closed) => {
                sub.ended = true;
                let status = status_from_api_error(&ApiError::unavailable(
                    "the node's event feed closed (shutting down)",
                ));
                return Some((Err(status), sub));
            }
        }
    }
}

#[tonic::async_trait]
impl GrpcNodeApi for Service {
    async fn submit_tx(
        &self,
        request: Request<pb::SubmitTxRequest>,
    ) -> Result<Response<pb::SubmitTxResponse>, Status> {
        let tx = request.into_inner().tx;
        let receipt = self.run(self.api.submit_tx(tx)).await?;
        Ok(Response::new(receipt.into()))
    }

    async fn submit_certificate(
        &self,
        request: Request<pb::SubmitTxRequest>,
    ) -> Result<Response<pb::SubmitTxResponse>, Status> {
        let tx = request.into_inner().tx;
        check_certificate_tx(&tx).map_err(|e| status_from_api_error(&e))?;
        let receipt = self.run(self.api.submit_tx(tx)).await?;
        Ok(Response::new(receipt.into()))
    }

    async fn get_tx(
        &self,
        request: Request<pb::GetTxRequest>,
    ) -> Result<Response<pb::TxStatus>, Status> {
        let id = id32(&request.into_inner().tx_id, "tx_id").map_err(invalid)?;
        let status = self.run(self.api.tx_status(id)).await?;
        Ok(Response::new(status.into()))
    }

    async fn status(
        &self,
        _request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::NodeStatus>, Status> {
        let status = self.run(self.api.status()).await?;
        Ok(Response::new(status.into()))
    }

    async fn get_block(
        &self,
        request: Request<pb::GetBlockRequest>,
    ) -> Result<Response<pb::BlockResponse>, Status> {
        let at = BlockRef::try_from(request.into_inner()).map_err(invalid)?;
        let block = self.run(self.api.block(at)).await?;
        Ok(Response::new(block.into()))
    }

    async fn get_latest_block(
        &self,
        _request: Request<pb::GetLatestBlockRequest>,
    ) -> Result<Response<pb::BlockResponse>, Status> {
        let block = self.run(self.api.block(BlockRef::Latest)).await?;
        Ok(Response::new(block.into()))
    }

    async fn get_finality_proof(
        &self,
        request: Request<pb::GetFinalityProofRequest>,
    ) -> Result<Response<pb::FinalityProofResponse>, Status> {
        let id = id32(&request.into_inner().tx_id, "tx_id").map_err(invalid)?;
        let proof = self.run(self.api.finality_proof(id)).await?;
        let response =
            pb::FinalityProofResponse::try_from(proof).map_err(|e| status_from_api_error(&e))?;
        Ok(Response::new(response))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::CheckpointResponse>, Status> {
        let size = request.into_inner().tree_size;
        let checkpoint = self.run(self.api.checkpoint(size)).await?;
        Ok(Response::new(pb::CheckpointResponse {
            checkpoint: checkpoint.map(Into::into),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let r = request.into_inner();
        let proof = self
            .run(self.api.consistency_proof(r.old_size, r.new_size))
            .await?;
        Ok(Response::new(proof.into()))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let r = request.into_inner();
        let proof = self
            .run(self.api.inclusion_proof(r.leaf_index, r.tree_size))
            .await?;
        Ok(Response::new(proof.into()))
    }

    async fn get_deployment(
        &self,
        request: Request<pb::GetDeploymentRequest>,
    ) -> Result<Response<pb::DeploymentResponse>, Status> {
        let id = request.into_inner().deployment_id;
        let deployment = self.run(self.api.deployment(id)).await?;
        Ok(Response::new(pb::DeploymentResponse {
            deployment: deployment.map(Into::into),
        }))
    }

    async fn get_identity(
        &self,
        request: Request<pb::GetIdentityRequest>,
    ) -> Result<Response<pb::JsonResponse>, Status> {
        let id = request.into_inner().id;
        let identity = self.run(self.api.identity(id)).await?;
        Ok(Response::new(identity.into()))
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::JsonResponse>, Status> {
        let r = request.into_inner();
        let policy = self.run(self.api.policy(r.service, r.environment)).await?;
        Ok(Response::new(policy.into()))
    }

    async fn validators(
        &self,
        _request: Request<pb::ValidatorsRequest>,
    ) -> Result<Response<pb::ValidatorsResponse>, Status> {
        let validators = self.run(self.api.validators()).await?;
        Ok(Response::new(pb::ValidatorsResponse {
            validators: validators.into_iter().map(Into::into).collect(),
        }))
    }

    async fn health(
        &self,
        _request: Request<pb::HealthRequest>,
    ) -> Result<Response<pb::HealthResponse>, Status> {
        Ok(Response::new(pb::HealthResponse {
            status: "ok".into(),
        }))
    }

    async fn get_audit_record(
        &self,
        request: Request<pb::GetAuditRecordRequest>,
    ) -> Result<Response<pb::AuditRecordResponse>, Status> {
        let id = id32(&request.into_inner().tx_id, "tx_id").map_err(invalid)?;
        let record = self.run(self.api.audit_record(id)).await?;
        let response =
            pb::AuditRecordResponse::try_from(record).map_err(|e| status_from_api_error(&e))?;
        Ok(Response::new(response))
    }

    async fn get_audit_chain(
        &self,
        request: Request<pb::GetAuditChainRequest>,
    ) -> Result<Response<pb::AuditChainPage>, Status> {
        let r = request.into_inner();
        let limit =
            page_limit(r.limit, MAX_AUDIT_CHAIN_PAGE).map_err(|e| status_from_api_error(&e))?;
        let from = r.from_sequence.unwrap_or(1);
        let page = self
            .run(self.api.audit_chain(r.agent_id, from, limit))
            .await?;
        let response = pb::AuditChainPage::try_from(page).map_err(|e| status_from_api_error(&e))?;
        Ok(Response::new(response))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::AuditChainVerification>, Status> {
        let r = request.into_inner();
        let verification = self
            .run(self.api.verify_audit_chain(r.agent_id, r.to_sequence))
            .await?;
        Ok(Response::new(verification.into()))
    }

    async fn get_attestation(
        &self,
        request: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::AttestationResponse>, Status> {
        let log_index = request.into_inner().log_index;
        let attestation = self.run(self.api.attestation(log_index)).await?;
        Ok(Response::new(attestation.into()))
    }

    async fn get_attestations_by_subject(
        &self,
        request: Request<pb::GetAttestationsBySubjectRequest>,
    ) -> Result<Response<pb::AttestationPage>, Status> {
        let r = request.into_inner();
        let limit =
            page_limit(r.limit, MAX_ATTESTATION_PAGE).map_err(|e| status_from_api_error(&e))?;
        let after = r.after.map(Into::into);
        let page = self
            .run(self.api.attestations_by_subject(r.subject, after, limit))
            .await?;
        Ok(Response::new(page.into()))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let (kind, filter) = request.into_inner().try_into().map_err(invalid)?;
        let sub = Subscription {
            events: self.api.events(),
            kind,
            filter,
            shutdown: self.shutdown.clone(),
            ended: false,
        };
        let stream: EventStream = Box::pin(futures::stream::unfold(sub, next_event));
        Ok(Response::new(stream))
    }
}

/// An accepted TCP connection holding one of the `max_connections` slots.
struct LimitedConn {
    stream: TcpStream,
    info: TcpConnectInfo,
    _slot: OwnedSemaphorePermit,
}

impl Connected for LimitedConn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for LimitedConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Accepted connections within the limit; connections over it are closed at once.
fn incoming(
    listener: TcpListener,
    max_connections: u32,
) -> impl Stream<Item = Result<LimitedConn, io::Error>> {
    let slots = Arc::new(Semaphore::new(max_connections as usize));
    futures::stream::unfold((listener, slots), |(listener, slots)| async move {
        loop {
            match listener.accept().await {
                Ok((stream, remote)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let _ = stream.set_nodelay(true);
                        let info = TcpConnectInfo {
                            local_addr: stream.local_addr().ok(),
                            remote_addr: Some(remote),
                        };
                        let conn = LimitedConn {
                            stream,
                            info,
                            _slot: slot,
                        };
                        return Some((Ok(conn), (listener, slots)));
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "gRPC connection over the limit closed");
                        drop(stream);
                    }
                },
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::debug!(error = %e, "gRPC accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    })
}

/// Tower layer: the per-client rate limit, in front of every service (reflection and health
/// included). Over the limit: `RESOURCE_EXHAUSTED` with `maat-error-code` -32005.
#[derive(Clone)]
struct RateLimitLayer(Arc<RateLimiter>);

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            inner,
            limiter: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct RateLimited<S> {
    inner: S,
    limiter: Arc<RateLimiter>,
}

impl<S, B, R> tower::Service<http::Request<B>> for RateLimited<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Either<Ready<Result<http::Response<R>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let ip = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
            .map(|a| a.ip());
        if let Some(ip) = ip
            && !self.limiter.try_acquire(ip, 1)
        {
            let status = status_from_api_error(&ApiError::rate_limited());
            return Either::Left(ready(Ok(status.into_http())));
        }
        Either::Right(self.inner.call(request))
    }
}

/// A running gRPC server (`maat.node.v1.NodeApi`, `grpc.reflection.v1` and `v1alpha`,
/// `grpc.health.v1`). Dropping it without [`GrpcServer::stop`] also stops it, without waiting.
pub struct GrpcServer {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// Binds `addr` (port 0: any free port, see [`Self::local_addr`]) and serves `api` on the
    /// current tokio runtime, within `limits`.
    ///
    /// # Errors
    /// [`RpcError`].
    pub async fn start(
        addr: SocketAddr,
        api: Arc<dyn NodeApi>,
        limits: RpcLimits,
    ) -> Result<GrpcServer, RpcError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RpcError::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(RpcError::LocalAddr)?;

        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection()
            .build_v1()
            .map_err(|e| RpcError::Grpc(e.to_string()))?;
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .map_err(|e| RpcError::Grpc(e.to_string()))?;
        let (health_reporter, health) = tonic_health::server::health_reporter();

        let (shutdown, shutdown_rx) = watch::channel(false);
        let service = Service {
            api,
            timeout: limits.request_timeout,
            shutdown: shutdown_rx.clone(),
        };
        let node_api = NodeApiServer::new(service)
            .max_decoding_message_size(limits.max_request_bytes as usize)
            .max_encoding_message_size(limits.max_response_bytes as usize);
        health_reporter
            .set_serving::<NodeApiServer<Service>>()
            .await;

        let router = tonic::transport::Server::builder()
            .layer(RateLimitLayer(Arc::new(RateLimiter::new(&limits))))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(node_api);
        let mut stop = shutdown_rx;
        let signal = async move {
            // Err: the sender is gone (the server was dropped): stop too.
            let _ = stop.wait_for(|stop| *stop).await;
        };
        let task = tokio::spawn(
            router.serve_with_incoming_shutdown(incoming(listener, limits.max_connections), signal),
        );
        tracing::info!(%local_addr, "gRPC server listening");
        Ok(GrpcServer {
            local_addr,
            shutdown,
            task,
        })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, ends the subscription streams and waits until every
    /// connection has finished.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "gRPC server ended with an error"),
            Err(e) => tracing::warn!(error = %e, "gRPC server task failed"),
        }
        tracing::info!(local_addr = %self.local_addr, "gRPC server stopped");
    }
}
