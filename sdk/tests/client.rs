//! `Client` against a fake node served by `maat-rpc` on every transport (JSON-RPC over HTTP and
//! WebSocket, gRPC): calls, error mapping, `wait_for_finality` polling and its bounds,
//! subscriptions. The test is of the client; the servers have their own tests in `rpc/tests/`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use maat_proto::TxId;
use maat_proto::tx::{body, payload};
use maat_proto::v1::Transaction;
use maat_rpc::{
    ApiError, BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo, EventFilter,
    FinalityProof, GrpcServer, InclusionProof, NodeApi, NodeEvent, NodeStatus, RpcLimits,
    RpcServer, SubmitReceipt, SubscriptionKind, TxRef, TxStatus, ValidatorInfo, codes,
};
use maat_sdk::client::{Client, ClientError, Finalized, NodeClient};
use serde_json::{Value, json};
use tokio::sync::broadcast;

const PATIENCE: Duration = Duration::from_secs(10);

/// Tx id [1; 32] becomes final after three polls; [2; 32] is rejected; [3; 32] stays
/// pending; [4; 32] makes the node fail; [5; 32] is "unavailable" twice, then final.
struct FakeNode {
    polls: AtomicU32,
    unavailable: AtomicU32,
    events: broadcast::Sender<NodeEvent>,
}

impl FakeNode {
    fn new(capacity: usize) -> Arc<FakeNode> {
        Arc::new(FakeNode {
            polls: AtomicU32::new(0),
            unavailable: AtomicU32::new(0),
            events: broadcast::channel(capacity).0,
        })
    }
}

fn block(height: u64) -> BlockInfo {
    let b = u8::try_from(height).unwrap_or(0);
    BlockInfo {
        height,
        block_id: [b; 32],
        bytes: vec![1, 2, 3],
        tx_ids: vec![[1; 32]],
        timestamp_ms: 1000 * height,
        round: height + 1,
        parent: [b.wrapping_sub(1); 32],
        proposer: 1,
        log_size: 18,
        log_root: [0x18; 32],
    }
}

fn proof() -> FinalityProof {
    FinalityProof {
        version: 1,
        chain_id: "maat-test".into(),
        genesis_hash: [9; 32],
        tx: vec![0xaa],
        log_index: 17,
        block_height: 4,
        tree_size: 18,
        inclusion_path: vec![[3; 32]],
        header: vec![1],
        child_header: vec![2],
        child_qc: vec![3],
    }
}

fn checkpoint(tree_size: u64) -> CheckpointInfo {
    CheckpointInfo {
        tree_size,
        root: [0x18; 32],
        note: "maat-test\n18\nGBgY\n\n— v0 AAAA\n".into(),
        cosigners: 3,
        quorum: 3,
        is_final: true,
    }
}

fn deployment() -> DeploymentInfo {
    DeploymentInfo {
        deployment_id: "dep-1".into(),
        record: json!({"service": "web", "environment": "prod"}),
        txs: vec![TxRef {
            tx_id: [1; 32],
            height: 4,
            position: 2,
            log_index: 17,
        }],
    }
}

fn validators() -> Vec<ValidatorInfo> {
    vec![ValidatorInfo {
        index: 0,
        id: "v0".into(),
        public_key: "mldsa65:AAAA".into(),
        peer_id: "12D3KooW".into(),
        voting_power: 1,
    }]
}

#[async_trait::async_trait]
impl NodeApi for FakeNode {
    async fn submit_tx(&self, tx: Vec<u8>) -> Result<SubmitReceipt, ApiError> {
        match tx.as_slice() {
            [0xff, ..] => Err(ApiError::tx_rejected(
                "nonce 5 is invalid: expected 1",
                "TX_NONCE_INVALID",
                1103,
                vec![],
            )),
            [b, ..] => Ok(SubmitReceipt { tx_id: [*b; 32] }),
            [] => Err(ApiError::unavailable("starting")),
        }
    }

    async fn tx_status(&self, tx_id: [u8; 32]) -> Result<TxStatus, ApiError> {
        let finalized = TxStatus::Finalized {
            height: 4,
            position: 2,
            log_index: 17,
        };
        match tx_id[0] {
            1 if self.polls.fetch_add(1, Ordering::SeqCst) >= 2 => Ok(finalized),
            1 | 3 => Ok(TxStatus::Pending),
            2 => Ok(TxStatus::Rejected {
                code: "CERTIFICATE_REJECTED".into(),
                numeric_code: 1401,
                details: vec!["PREDICATE_FAILED:test_passed".into()],
            }),
            4 => Err(ApiError::internal("disk on fire")),
            5 if self.unavailable.fetch_add(1, Ordering::SeqCst) < 2 => {
                Err(ApiError::unavailable("restarting"))
            }
            5 => Ok(finalized),
            _ => Ok(TxStatus::Unknown),
        }
    }

    async fn status(&self) -> Result<NodeStatus, ApiError> {
        Ok(NodeStatus {
            chain_id: "maat-test".into(),
            genesis_hash: [9; 32],
            height: 4,
            round: 5,
            peers: 3,
            syncing: false,
            validator: None,
            mempool_txs: 0,
            log_size: 18,
        })
    }

    async fn block(&self, at: BlockRef) -> Result<Option<BlockInfo>, ApiError> {
        Ok(match at {
            BlockRef::Height(h) if h <= 4 => Some(block(h)),
            BlockRef::Id(id) if id[0] <= 4 && id.iter().all(|b| *b == id[0]) => {
                Some(block(u64::from(id[0])))
            }
            BlockRef::Latest => Some(block(4)),
            _ => None,
        })
    }

    async fn finality_proof(&self, tx_id: [u8; 32]) -> Result<Option<FinalityProof>, ApiError> {
        Ok((tx_id == [1; 32]).then(proof))
    }

    async fn checkpoint(&self, tree_size: Option<u64>) -> Result<Option<CheckpointInfo>, ApiError> {
        Ok(match tree_size {
            None => Some(checkpoint(18)),
            Some(n) if n <= 18 => Some(checkpoint(n)),
            Some(_) => None,
        })
    }

    async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ApiError> {
        if old_size > new_size {
            return Err(ApiError::invalid_params("old_size > new_size"));
        }
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path: vec![[7; 32]],
        })
    }

    async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ApiError> {
        Ok(InclusionProof {
            leaf_index,
            tree_size,
            path: vec![[8; 32], [9; 32]],
        })
    }

    async fn deployment(&self, deployment_id: String) -> Result<Option<DeploymentInfo>, ApiError> {
        Ok((deployment_id == "dep-1").then(deployment))
    }

    async fn identity(&self, id: String) -> Result<Option<Value>, ApiError> {
        Ok((id == "alice").then(|| json!({"id": "alice"})))
    }

    async fn policy(
        &self,
        service: String,
        environment: String,
    ) -> Result<Option<Value>, ApiError> {
        Ok((service == "web" && environment == "prod").then(|| json!({"environment": "prod"})))
    }

    async fn validators(&self) -> Result<Vec<ValidatorInfo>, ApiError> {
        Ok(validators())
    }

    async fn audit_record(
        &self,
        _tx_id: [u8; 32],
    ) -> Result<Option<maat_rpc::AuditRecordInfo>, ApiError> {
        Ok(None)
    }

    async fn audit_chain(
        &self,
        agent_id: String,
        _from_sequence: u64,
        _limit: u32,
    ) -> Result<maat_rpc::AuditChainPage, ApiError> {
        Ok(maat_rpc::AuditChainPage {
            agent_id,
            length: 0,
            records: Vec::new(),
            next: None,
        })
    }

    async fn verify_audit_chain(
        &self,
        agent_id: String,
        _to_sequence: Option<u64>,
    ) -> Result<maat_rpc::AuditChainVerification, ApiError> {
        Err(ApiError::invalid_params(format!(
            "agent `{agent_id}` has no committed audit record"
        )))
    }

    async fn attestation(
        &self,
        _log_index: u64,
    ) -> Result<Option<maat_rpc::AttestationInfo>, ApiError> {
        Ok(None)
    }

    async fn attestations_by_subject(
        &self,
        subject: String,
        _after: Option<maat_rpc::PageCursor>,
        _limit: u32,
    ) -> Result<maat_rpc::AttestationPage, ApiError> {
        Ok(maat_rpc::AttestationPage {
            subject,
            attestations: Vec::new(),
            next: None,
        })
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }
}

/// Both servers over one node.
struct Servers {
    rpc: RpcServer,
    grpc: GrpcServer,
    node: Arc<FakeNode>,
}

impl Servers {
    async fn start_with(node: Arc<FakeNode>, limits: RpcLimits) -> Servers {
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let rpc = RpcServer::start(addr, node.clone(), limits.clone())
            .await
            .expect("rpc");
        let grpc = GrpcServer::start(addr, node.clone(), limits)
            .await
            .expect("grpc");
        Servers { rpc, grpc, node }
    }

    async fn start() -> Servers {
        Self::start_with(FakeNode::new(16), RpcLimits::default()).await
    }

    fn urls(&self) -> [String; 3] {
        [
            format!("http://{}", self.rpc.local_addr()),
            format!("ws://{}", self.rpc.local_addr()),
            format!("grpc://{}", self.grpc.local_addr()),
        ]
    }

    /// Connected clients: HTTP, WebSocket, gRPC.
    async fn clients(&self) -> Vec<Client> {
        let mut clients = Vec::new();
        for url in self.urls() {
            let client = Client::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            clients.push(client.with_poll_interval(Duration::from_millis(5)));
        }
        clients
    }

    async fn stop(self) {
        self.rpc.stop().await;
        self.grpc.stop().await;
    }
}

fn tx(kind: maat_proto::v1::tx_body::Kind) -> Vec<u8> {
    maat_proto::encode(&Transaction {
        payload: Some(payload("maat-test", "ci-bot", 1, kind)),
        signature: vec![1; 8],
    })
}

/// The client and its futures can move across tasks.
#[test]
fn client_and_futures_are_send() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}
    let client = Client::new("grpc://127.0.0.1:1").expect("client");
    send_sync(&client);
    send(client.status());
    send(client.submit_certificate(&[]));
    send(client.wait_for_finality(TxId([0; 32]), Duration::ZERO));
    send(client.subscribe(SubscriptionKind::NewBlocks, EventFilter::default()));
}

#[tokio::test]
async fn calls_and_typed_errors_on_every_transport() {
    let servers = Servers::start().await;
    for client in servers.clients().await {
        let url = client.url().to_owned();
        client.health().await.expect("health");
        assert_eq!(
            client.submit_tx(&[7, 7]).await.expect("submit"),
            TxId([7; 32]),
            "{url}"
        );
        assert_eq!(client.status().await.expect("status").log_size, 18);
        assert_eq!(
            client.block(4).await.expect("block"),
            Some(block(4)),
            "{url}"
        );
        assert_eq!(client.block(5).await.expect("block"), None);
        assert_eq!(client.block([3; 32]).await.expect("block"), Some(block(3)));
        assert_eq!(
            client.block(BlockRef::Latest).await.expect("block"),
            Some(block(4))
        );
        assert_eq!(client.latest_block().await.expect("latest"), Some(block(4)));
        assert_eq!(
            client.tx_status(TxId([3; 32])).await.expect("status"),
            TxStatus::Pending
        );

        let cert = tx(body::certificate(b"{}".to_vec()));
        assert_eq!(
            client.submit_certificate(&cert).await.expect("certificate"),
            TxId([cert[0]; 32])
        );
        let e = client
            .submit_certificate(&tx(body::revoke("bob")))
            .await
            .expect_err("not a certificate");
        assert_eq!(e.code(), Some(codes::INVALID_PARAMS), "{url}: {e}");

        assert_eq!(
            client.finality_proof(TxId([1; 32])).await.expect("proof"),
            Some(proof()),
            "{url}"
        );
        assert_eq!(
            client.finality_proof(TxId([3; 32])).await.expect("proof"),
            None
        );
        assert_eq!(
            client.checkpoint(None).await.expect("cp"),
            Some(checkpoint(18))
        );
        assert_eq!(
            client.checkpoint(Some(5)).await.expect("cp"),
            Some(checkpoint(5))
        );
        assert_eq!(client.checkpoint(Some(19)).await.expect("cp"), None);
        assert_eq!(
            client.consistency_proof(3, 18).await.expect("proof").path,
            vec![[7; 32]]
        );
        let e = client
            .consistency_proof(18, 3)
            .await
            .expect_err("bad sizes");
        assert_eq!(e.code(), Some(codes::INVALID_PARAMS), "{url}");
        assert_eq!(
            client.inclusion_proof(2, 18).await.expect("proof"),
            InclusionProof {
                leaf_index: 2,
                tree_size: 18,
                path: vec![[8; 32], [9; 32]]
            }
        );
        assert_eq!(
            client.deployment("dep-1").await.expect("dep"),
            Some(deployment()),
            "{url}"
        );
        assert_eq!(client.deployment("dep-2").await.expect("dep"), None);
        assert_eq!(
            client.identity("alice").await.expect("id"),
            Some(json!({"id": "alice"}))
        );
        assert_eq!(client.identity("bob").await.expect("id"), None);
        assert_eq!(
            client.policy("web", "prod").await.expect("policy"),
            Some(json!({"environment": "prod"}))
        );
        assert_eq!(client.policy("web", "dev").await.expect("policy"), None);
        assert_eq!(client.validators().await.expect("validators"), validators());

        let e = client.submit_tx(&[0xff]).await.expect_err("rejected");
        let r = e.rejection().expect("rejection");
        assert_eq!(
            (r.code.as_str(), r.numeric_code),
            ("TX_NONCE_INVALID", 1103),
            "{url}"
        );
        match client.submit_tx(&[]).await {
            Err(ClientError::Api(api)) => assert_eq!(api.code, codes::UNAVAILABLE, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    servers.stop().await;
}

#[tokio::test]
async fn wait_for_finality_polls_until_final_or_timeout() {
    for i in 0..3 {
        let servers = Servers::start().await;
        let client = servers.clients().await.swap_remove(i);
        let url = client.url().to_owned();
        let t = Duration::from_secs(5);
        let final_at = Finalized {
            height: 4,
            position: 2,
            log_index: 17,
        };
        assert_eq!(
            client
                .wait_for_finality(TxId([1; 32]), t)
                .await
                .expect("final"),
            final_at,
            "{url}"
        );
        // "Unavailable" is transient: retried.
        assert_eq!(
            client
                .wait_finalized(TxId([5; 32]), t)
                .await
                .expect("final"),
            final_at,
            "{url}"
        );
        let e = client
            .wait_for_finality(TxId([2; 32]), t)
            .await
            .expect_err("rejected");
        let r = e.rejection().expect("rejection");
        assert_eq!(r.codes, ["PREDICATE_FAILED:test_passed"]);
        match client.wait_for_finality(TxId([4; 32]), t).await {
            Err(ClientError::Api(api)) => assert_eq!(api.code, codes::INTERNAL, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
        let start = std::time::Instant::now();
        match client
            .wait_for_finality(TxId([3; 32]), Duration::from_millis(200))
            .await
        {
            Err(ClientError::Timeout { last, .. }) => assert_eq!(last, Some(TxStatus::Pending)),
            other => panic!("{url}: {other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(2));
        servers.stop().await;
    }
}

#[tokio::test]
async fn unreachable_node_and_bad_url() {
    let servers = Servers::start().await;
    let clients = servers.clients().await;
    servers.stop().await;
    for client in clients {
        let url = client.url().to_owned();
        let r = client.status().await;
        assert!(matches!(r, Err(ClientError::Transport(_))), "{url}: {r:?}");
        // Transport errors are retried until the timeout.
        match client
            .wait_for_finality(TxId([1; 32]), Duration::from_millis(100))
            .await
        {
            Err(ClientError::Timeout { last: None, .. }) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
    // `connect` opens WebSocket and gRPC connections (HTTP makes no request); `NodeClient` and
    // `Client::new` make no IO.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    for url in [format!("ws://{dead}"), format!("grpc://{dead}")] {
        match Client::connect(&url).await {
            Err(ClientError::Transport(_)) => {}
            other => panic!("{url}: {other:?}"),
        }
        let lazy = NodeClient::connect(&url).expect("no IO");
        assert!(matches!(
            lazy.status().await,
            Err(ClientError::Transport(_))
        ));
        let lazy = Client::new(&url).expect("no IO");
        assert!(matches!(
            lazy.health().await,
            Err(ClientError::Transport(_))
        ));
    }
    let http = Client::connect(&format!("http://{dead}"))
        .await
        .expect("no request yet");
    assert!(matches!(
        http.status().await,
        Err(ClientError::Transport(_))
    ));
    for bad in [
        "not a url",
        "ftp://127.0.0.1:1",
        "grpc://",
        "grpc://host:1/path",
        "grpcs://127.0.0.1:1",
        "ws://",
        "http://",
    ] {
        assert!(
            matches!(
                NodeClient::connect(bad),
                Err(ClientError::InvalidUrl { .. })
            ),
            "{bad}"
        );
        assert!(
            matches!(
                Client::connect(bad).await,
                Err(ClientError::InvalidUrl { .. })
            ),
            "{bad}"
        );
    }
}

fn finalized(tag: u8, service: &str) -> NodeEvent {
    NodeEvent::FinalizedTx {
        tx_id: [tag; 32],
        height: 4,
        position: 0,
        log_index: u64::from(tag),
        kind: "certificate".into(),
        submitter: "ci-bot".into(),
        service: Some(service.into()),
        environment: Some("prod".into()),
        agent: None,
    }
}

fn new_block(height: u64) -> NodeEvent {
    NodeEvent::NewBlock {
        height,
        block_id: [1; 32],
        tx_count: 1,
        timestamp_ms: height,
        log_size: height,
    }
}

async fn next(stream: &mut maat_sdk::client::EventStream) -> Result<NodeEvent, ClientError> {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an item in time")
        .expect("stream open")
}

#[tokio::test]
async fn subscriptions_over_websocket_and_grpc() {
    let servers = Servers::start().await;
    let [http, ws, grpc]: [Client; 3] = servers.clients().await.try_into().expect("three");
    match http
        .subscribe(SubscriptionKind::NewBlocks, EventFilter::default())
        .await
    {
        Err(ClientError::Unsupported(_)) => {}
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a subscription over plain HTTP"),
    }
    for client in [ws, grpc] {
        let url = client.url().to_owned();
        let mut blocks = client
            .subscribe(SubscriptionKind::NewBlocks, EventFilter::default())
            .await
            .expect("blocks");
        let web = EventFilter {
            service: Some("web".into()),
            ..EventFilter::default()
        };
        let mut web_txs = client
            .subscribe(SubscriptionKind::FinalizedTxs, web.clone())
            .await
            .expect("txs");
        let Err(e) = client.subscribe(SubscriptionKind::NewBlocks, web).await else {
            panic!("{url}: a filter on blocks accepted");
        };
        assert_eq!(e.code(), Some(codes::INVALID_PARAMS), "{url}: {e}");

        for e in [
            new_block(5),
            finalized(1, "api"),
            finalized(2, "web"),
            new_block(6),
        ] {
            servers.node.events.send(e).expect("subscribers");
        }
        assert_eq!(
            next(&mut blocks).await.expect("event"),
            new_block(5),
            "{url}"
        );
        assert_eq!(next(&mut blocks).await.expect("event"), new_block(6));
        assert_eq!(
            next(&mut web_txs).await.expect("event"),
            finalized(2, "web")
        );
        drop((blocks, web_txs));
    }
    servers.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn lagging_subscription_ends_with_an_error() {
    let servers = Servers::start_with(FakeNode::new(2), RpcLimits::default()).await;
    let [_, ws, grpc]: [Client; 3] = servers.clients().await.try_into().expect("three");
    for client in [ws, grpc] {
        let url = client.url().to_owned();
        let mut blocks = client
            .subscribe(SubscriptionKind::NewBlocks, EventFilter::default())
            .await
            .expect("blocks");
        // More events than the channel holds, before the server's subscription task runs.
        for h in 0..8 {
            servers.node.events.send(new_block(h)).expect("subscribers");
        }
        let e = next(&mut blocks).await.expect_err("closed");
        match &e {
            ClientError::SubscriptionClosed(_) => assert!(url.starts_with("ws://"), "{url}"),
            ClientError::Api(api) => {
                assert_eq!(api.code, codes::SUBSCRIPTION_LAGGED, "{url}");
                assert!(url.starts_with("grpc://"), "{url}");
            }
            other => panic!("{url}: {other:?}"),
        }
        let end = tokio::time::timeout(PATIENCE, blocks.next())
            .await
            .expect("ended in time");
        assert!(end.is_none(), "{url}: {end:?}");
    }
    servers.stop().await;
}

#[tokio::test]
async fn rate_limited_is_the_same_error_everywhere() {
    let limits = RpcLimits {
        rate_per_sec: 1,
        burst: 2,
        ..RpcLimits::default()
    };
    for i in 0..3 {
        let servers = Servers::start_with(FakeNode::new(1), limits.clone()).await;
        let client = servers.clients().await.swap_remove(i);
        client.health().await.expect("1");
        client.health().await.expect("2");
        let e = client.status().await.expect_err("limited");
        assert_eq!(e.code(), Some(codes::RATE_LIMITED), "{}: {e}", client.url());
        assert!(e.is_transient());
        servers.stop().await;
    }
}
