//! `NodeClient` against a fake node served by `maat-rpc` (the test is of the client: calls,
//! error mapping, `wait_finalized` polling and its bounds).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use maat_proto::TxId;
use maat_rpc::{
    ApiError, BlockInfo, NodeApi, NodeStatus, RpcServer, SubmitReceipt, TxStatus, codes,
};
use maat_sdk::client::{ClientError, Finalized, NodeClient};

/// Tx id [1; 32] becomes final after three polls; [2; 32] is rejected; [3; 32] stays
/// pending; [4; 32] makes the node fail.
#[derive(Default)]
struct FakeNode {
    polls: AtomicU32,
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
        match tx_id[0] {
            1 if self.polls.fetch_add(1, Ordering::SeqCst) >= 2 => Ok(TxStatus::Finalized {
                height: 4,
                position: 2,
                log_index: 17,
            }),
            1 | 3 => Ok(TxStatus::Pending),
            2 => Ok(TxStatus::Rejected {
                code: "CERTIFICATE_REJECTED".into(),
                numeric_code: 1401,
                details: vec!["PREDICATE_FAILED:test_passed".into()],
            }),
            4 => Err(ApiError::internal("disk on fire")),
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

    async fn block(&self, height: u64) -> Result<Option<BlockInfo>, ApiError> {
        Ok((height <= 4).then(|| BlockInfo {
            height,
            block_id: [u8::try_from(height).unwrap_or(0); 32],
            bytes: vec![1, 2, 3],
            tx_ids: vec![[1; 32]],
            timestamp_ms: 1000 * height,
        }))
    }
}

async fn serve() -> (RpcServer, NodeClient) {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let server = RpcServer::start(addr, Arc::new(FakeNode::default()))
        .await
        .expect("start");
    let client = NodeClient::connect(&format!("http://{}", server.local_addr()))
        .expect("client")
        .with_poll_interval(Duration::from_millis(5));
    (server, client)
}

#[tokio::test]
async fn calls_and_typed_errors() {
    let (server, client) = serve().await;
    client.health().await.expect("health");
    assert_eq!(
        client.submit_tx(&[7, 7]).await.expect("submit"),
        TxId([7; 32])
    );
    assert_eq!(client.status().await.expect("status").log_size, 18);
    assert_eq!(
        client.block(4).await.expect("block").expect("some").height,
        4
    );
    assert_eq!(client.block(5).await.expect("block"), None);
    assert_eq!(
        client.tx_status(TxId([3; 32])).await.expect("status"),
        TxStatus::Pending
    );

    let e = client.submit_tx(&[0xff]).await.expect_err("rejected");
    let r = e.rejection().expect("rejection");
    assert_eq!(
        (r.code.as_str(), r.numeric_code),
        ("TX_NONCE_INVALID", 1103)
    );
    match client.submit_tx(&[]).await {
        Err(ClientError::Api(api)) => assert_eq!(api.code, codes::UNAVAILABLE),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn wait_finalized_polls_until_final_or_timeout() {
    let (server, client) = serve().await;
    let t = Duration::from_secs(5);
    assert_eq!(
        client
            .wait_finalized(TxId([1; 32]), t)
            .await
            .expect("final"),
        Finalized {
            height: 4,
            position: 2,
            log_index: 17
        }
    );
    let e = client
        .wait_finalized(TxId([2; 32]), t)
        .await
        .expect_err("rejected");
    let r = e.rejection().expect("rejection");
    assert_eq!(r.codes, ["PREDICATE_FAILED:test_passed"]);
    match client.wait_finalized(TxId([4; 32]), t).await {
        Err(ClientError::Api(api)) => assert_eq!(api.code, codes::INTERNAL),
        other => panic!("{other:?}"),
    }
    let start = std::time::Instant::now();
    match client
        .wait_finalized(TxId([3; 32]), Duration::from_millis(200))
        .await
    {
        Err(ClientError::Timeout { last, .. }) => assert_eq!(last, Some(TxStatus::Pending)),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2));
    server.stop().await;
}

#[tokio::test]
async fn unreachable_node_and_bad_url() {
    let (server, client) = serve().await;
    server.stop().await;
    assert!(matches!(
        client.status().await,
        Err(ClientError::Transport(_))
    ));
    // Transport errors are retried until the timeout.
    match client
        .wait_finalized(TxId([1; 32]), Duration::from_millis(100))
        .await
    {
        Err(ClientError::Timeout { last: None, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        NodeClient::connect("not a url"),
        Err(ClientError::InvalidUrl { .. })
    ));
}
