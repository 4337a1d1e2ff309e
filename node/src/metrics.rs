//! Prometheus metrics (`GET /metrics`, OpenMetrics text) on their own port.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Every metric the node exports (names get the `maat_` prefix).
pub struct NodeMetrics {
    registry: Registry,
    /// Height of the last committed block.
    pub height: Gauge,
    /// This node's validator index; -1 for a full node (the node's role).
    pub validator: Gauge,
    /// Current consensus round.
    pub round: Gauge,
    /// Transactions committed.
    pub committed_txs: Counter,
    /// Blocks committed.
    pub committed_blocks: Counter,
    /// Transactions pending in the mempool.
    pub mempool_txs: Gauge,
    /// Bytes pending in the mempool.
    pub mempool_bytes: Gauge,
    /// Connected peers.
    pub peers: Gauge,
    /// Proposals signed.
    pub proposals: Counter,
    /// Votes signed.
    pub votes: Counter,
    /// Timeouts signed.
    pub timeouts: Counter,
    /// Rounds that ended in a timeout certificate instead of a QC.
    pub missed_rounds: Counter,
    /// Proposals this validator refused to vote for (a transaction failed the replayed checks).
    pub blocks_refused: Counter,
    /// Equivocations detected (two signed proposals or votes in one round by one validator).
    pub equivocations: Counter,
    /// Checkpoints that reached 2f+1 cosignatures here.
    pub checkpoints: Counter,
    /// Consensus messages dropped (bad signature, malformed, stale...).
    pub rejected_messages: Counter,
    /// Block fetches (sync requests) sent.
    pub fetches: Counter,
    /// Committed blocks received by forward sync (ranges with their QCs).
    pub synced_blocks: Counter,
    /// Transactions admitted to the mempool.
    pub txs_admitted: Counter,
    /// Transactions refused by the mempool.
    pub txs_refused: Counter,
    /// Seconds from a transaction's submission to this node until its block committed here.
    pub commit_latency: Histogram,
}

impl NodeMetrics {
    /// A fresh registry.
    #[must_use]
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("maat");
        let commit_latency = Histogram::new([
            0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0,
        ]);
        let m = NodeMetrics {
            height: Gauge::default(),
            validator: Gauge::default(),
            round: Gauge::default(),
            committed_txs: Counter::default(),
            committed_blocks: Counter::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            peers: Gauge::default(),
            proposals: Counter::default(),
            votes: Counter::default(),
            timeouts: Counter::default(),
            missed_rounds: Counter::default(),
            blocks_refused: Counter::default(),
            equivocations: Counter::default(),
            checkpoints: Counter::default(),
            rejected_messages: Counter::default(),
            fetches: Counter::default(),
            synced_blocks: Counter::default(),
            txs_admitted: Counter::default(),
            txs_refused: Counter::default(),
            commit_latency,
            registry: Registry::default(),
        };
        registry.register(
            "height",
            "Height of the last committed block",
            m.height.clone(),
        );
        registry.register(
            "validator",
            "This node's validator index, -1 for a full node",
            m.validator.clone(),
        );
        registry.register("round", "Current consensus round", m.round.clone());
        registry.register(
            "committed_txs",
            "Transactions committed",
            m.committed_txs.clone(),
        );
        registry.register(
            "committed_blocks",
            "Blocks committed",
            m.committed_blocks.clone(),
        );
        registry.register(
            "mempool_txs",
            "Transactions pending in the mempool",
            m.mempool_txs.clone(),
        );
        registry.register(
            "mempool_bytes",
            "Bytes pending in the mempool",
            m.mempool_bytes.clone(),
        );
        registry.register("peers", "Connected libp2p peers", m.peers.clone());
        registry.register("proposals", "Proposals signed", m.proposals.clone());
        registry.register("votes", "Votes signed", m.votes.clone());
        registry.register("timeouts", "Round timeouts signed", m.timeouts.clone());
        registry.register(
            "missed_rounds",
            "Rounds that ended in a timeout certificate",
            m.missed_rounds.clone(),
        );
        registry.register(
            "blocks_refused",
            "Proposals refused after replaying the ledger checks",
            m.blocks_refused.clone(),
        );
        registry.register(
            "equivocations",
            "Equivocations detected",
            m.equivocations.clone(),
        );
        registry.register(
            "checkpoints_final",
            "Transparency-log checkpoints that reached 2f+1 cosignatures",
            m.checkpoints.clone(),
        );
        registry.register(
            "rejected_messages",
            "Consensus messages dropped",
            m.rejected_messages.clone(),
        );
        registry.register("fetches", "Block fetch requests sent", m.fetches.clone());
        registry.register(
            "synced_blocks",
            "Committed blocks received by forward sync",
            m.synced_blocks.clone(),
        );
        registry.register(
            "txs_admitted",
            "Transactions admitted to the mempool",
            m.txs_admitted.clone(),
        );
        registry.register(
            "txs_refused",
            "Transactions refused by the mempool",
            m.txs_refused.clone(),
        );
        registry.register(
            "commit_latency_seconds",
            "Submission to this node until commit here",
            m.commit_latency.clone(),
        );
        Arc::new(NodeMetrics { registry, ..m })
    }

    /// The OpenMetrics text of every metric.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Serves `GET /metrics` on `addr` until the task is dropped; returns the bound address.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<NodeMetrics>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let metrics = metrics.clone();
                    async move {
                        if req.uri().path() == "/metrics" {
                            Response::builder()
                                .header(
                                    "content-type",
                                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                )
                                .body(Full::new(Bytes::from(metrics.render())))
                        } else {
                            Response::builder()
                                .status(StatusCode::NOT_FOUND)
                                .body(Full::new(Bytes::from_static(b"try /metrics\n")))
                        }
                    }
                });
                if let Err(e) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %e, "metrics connection");
                }
            });
        }
    });
    Ok((local, task))
}
