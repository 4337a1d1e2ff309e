//! The RPC layer over a fake `NodeApi` (the test is of the RPC layer: routing, parameters,
//! hex, error codes), served on 127.0.0.1:0 and called over a real HTTP client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::ObjectParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use maat_rpc::{
    ApiError, BlockInfo, MaatRpcClient, NodeApi, NodeStatus, RpcServer, SubmitReceipt, TxStatus,
    codes,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FINALIZED: [u8; 32] = [1; 32];
const REJECTED: [u8; 32] = [2; 32];

/// Transactions whose first byte is 0xff are "rejected"; others are admitted, id = first
/// byte repeated. Block 1 exists; above it, nothing; block `u64::MAX` fails internally.
#[derive(Default)]
struct FakeNode {
    submitted: Mutex<HashMap<[u8; 32], Vec<u8>>>,
}

fn status() -> NodeStatus {
    NodeStatus {
        chain_id: "maat-test".into(),
        genesis_hash: [0xab; 32],
        height: 1,
        round: 7,
        peers: 3,
        syncing: false,
        validator: Some(2),
        mempool_txs: 5,
        log_size: 42,
    }
}

fn block1() -> BlockInfo {
    BlockInfo {
        height: 1,
        block_id: [0xb1; 32],
        bytes: vec![0, 1, 0xfe],
        tx_ids: vec![FINALIZED, [3; 32]],
        timestamp_ms: 1_767_225_601_000,
    }
}

#[async_trait::async_trait]
impl NodeApi for FakeNode {
    async fn submit_tx(&self, tx: Vec<u8>) -> Result<SubmitReceipt, ApiError> {
        match tx.first() {
            None => Err(ApiError::tx_rejected(
                "malformed transaction",
                "TX_MALFORMED",
                1002,
                vec![],
            )),
            Some(0xff) => Err(ApiError::tx_rejected(
                "the certificate is rejected",
                "CERTIFICATE_REJECTED",
                1401,
                vec![
                    "PREDICATE_FAILED:test_passed".into(),
                    "PROOF_INVALID".into(),
                ],
            )),
            Some(&b) => {
                let id = [b; 32];
                self.submitted.lock().expect("lock").insert(id, tx);
                Ok(SubmitReceipt { tx_id: id })
            }
        }
    }

    async fn tx_status(&self, tx_id: [u8; 32]) -> Result<TxStatus, ApiError> {
        Ok(match tx_id {
            FINALIZED => TxStatus::Finalized {
                height: 1,
                position: 0,
                log_index: 41,
            },
            REJECTED => TxStatus::Rejected {
                code: "TX_NONCE_INVALID".into(),
                numeric_code: 1103,
                details: vec![],
            },
            id if self.submitted.lock().expect("lock").contains_key(&id) => TxStatus::Pending,
            _ => TxStatus::Unknown,
        })
    }

    async fn status(&self) -> Result<NodeStatus, ApiError> {
        Ok(status())
    }

    async fn block(&self, height: u64) -> Result<Option<BlockInfo>, ApiError> {
        match height {
            1 => Ok(Some(block1())),
            u64::MAX => Err(ApiError::internal("storage read failed")),
            _ => Ok(None),
        }
    }
}

async fn serve() -> (RpcServer, HttpClient) {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let server = RpcServer::start(addr, Arc::new(FakeNode::default()))
        .await
        .expect("start");
    assert_ne!(server.local_addr().port(), 0);
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.local_addr()))
        .expect("client");
    (server, client)
}

fn call_error(r: Result<impl std::fmt::Debug, ClientError>) -> ApiError {
    match r {
        Err(ClientError::Call(e)) => ApiError::from(e),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_method_round_trips() {
    let (server, client) = serve().await;

    assert_eq!(client.health().await.expect("health"), "ok");
    let raw: Value = client
        .request("maat_health", rpc_params![])
        .await
        .expect("raw");
    assert_eq!(raw, json!("ok"));

    // submitTx, then getTx sees it pending.
    let receipt = client
        .submit_tx(hex::encode([7, 1, 2, 3]))
        .await
        .expect("submit");
    assert_eq!(receipt.tx_id, [7; 32]);
    let raw: Value = client
        .request("maat_submitTx", rpc_params!["0A0B"])
        .await
        .expect("uppercase hex is accepted");
    assert_eq!(raw, json!({ "tx_id": hex::encode([10; 32]) }));
    assert_eq!(
        client.get_tx(hex::encode([7; 32])).await.expect("getTx"),
        TxStatus::Pending
    );

    // getTx: every status, typed and raw.
    assert_eq!(
        client.get_tx(hex::encode(FINALIZED)).await.expect("getTx"),
        TxStatus::Finalized {
            height: 1,
            position: 0,
            log_index: 41
        }
    );
    assert_eq!(
        client.get_tx(hex::encode([9; 32])).await.expect("getTx"),
        TxStatus::Unknown
    );
    let raw: Value = client
        .request("maat_getTx", rpc_params![hex::encode(FINALIZED)])
        .await
        .expect("raw");
    assert_eq!(
        raw,
        json!({"status": "finalized", "height": 1, "position": 0, "log_index": 41})
    );
    let raw: Value = client
        .request("maat_getTx", rpc_params![hex::encode(REJECTED)])
        .await
        .expect("raw");
    assert_eq!(
        raw,
        json!({"status": "rejected", "code": "TX_NONCE_INVALID", "numeric_code": 1103, "codes": []})
    );
    let raw: Value = client
        .request("maat_getTx", rpc_params![hex::encode([9; 32])])
        .await
        .expect("raw");
    assert_eq!(raw, json!({"status": "unknown"}));

    // status
    assert_eq!(client.status().await.expect("status"), status());
    let raw: Value = client
        .request("maat_status", rpc_params![])
        .await
        .expect("raw");
    assert_eq!(raw["genesis_hash"], json!(hex::encode([0xab; 32])));
    assert_eq!(raw["validator"], json!(2));

    // getBlock: present, above the head, node failure.
    assert_eq!(client.get_block(1).await.expect("block"), Some(block1()));
    assert_eq!(client.get_block(2).await.expect("block"), None);
    let raw: Value = client
        .request("maat_getBlock", rpc_params![1])
        .await
        .expect("raw");
    assert_eq!(
        raw,
        json!({
            "height": 1,
            "block_id": hex::encode([0xb1; 32]),
            "bytes": "0001fe",
            "tx_ids": [hex::encode(FINALIZED), hex::encode([3; 32])],
            "timestamp_ms": 1_767_225_601_000_u64,
        })
    );
    let raw: Value = client
        .request("maat_getBlock", rpc_params![2])
        .await
        .expect("raw");
    assert_eq!(raw, Value::Null);
    let e = call_error(client.get_block(u64::MAX).await);
    assert_eq!(e.code, codes::INTERNAL);
    assert_eq!(e.message, "storage read failed");

    server.stop().await;
}

#[tokio::test]
async fn named_params_are_accepted() {
    let (server, client) = serve().await;
    let mut p = ObjectParams::new();
    p.insert("tx_id_hex", hex::encode(FINALIZED))
        .expect("param");
    let raw: Value = client.request("maat_getTx", p).await.expect("named");
    assert_eq!(raw["status"], json!("finalized"));
    let mut p = ObjectParams::new();
    p.insert("height", 1).expect("param");
    let raw: Value = client.request("maat_getBlock", p).await.expect("named");
    assert_eq!(raw["height"], json!(1));
    let mut p = ObjectParams::new();
    p.insert("tx_hex", "05").expect("param");
    let raw: Value = client.request("maat_submitTx", p).await.expect("named");
    assert_eq!(raw["tx_id"], json!(hex::encode([5; 32])));
    server.stop().await;
}

#[tokio::test]
async fn bad_params_are_invalid_params() {
    let (server, client) = serve().await;
    for bad in ["zz", "abc", "0x00"] {
        let e = call_error(client.submit_tx(bad.into()).await);
        assert_eq!(e.code, codes::INVALID_PARAMS, "{bad}: {e}");
        assert!(e.message.contains("tx_hex"), "{}", e.message);
    }
    for bad in ["zz".to_owned(), hex::encode([1; 31]), hex::encode([1; 33])] {
        let e = call_error(client.get_tx(bad.clone()).await);
        assert_eq!(e.code, codes::INVALID_PARAMS, "{bad}: {e}");
    }
    // Wrong JSON types and missing parameters.
    let e = call_error(
        client
            .request::<Value, _>("maat_submitTx", rpc_params![12])
            .await,
    );
    assert_eq!(e.code, codes::INVALID_PARAMS);
    let e = call_error(
        client
            .request::<Value, _>("maat_getTx", rpc_params![])
            .await,
    );
    assert_eq!(e.code, codes::INVALID_PARAMS);
    let e = call_error(
        client
            .request::<Value, _>("maat_getBlock", rpc_params!["one"])
            .await,
    );
    assert_eq!(e.code, codes::INVALID_PARAMS);
    let e = call_error(
        client
            .request::<Value, _>("maat_getBlock", rpc_params![-1])
            .await,
    );
    assert_eq!(e.code, codes::INVALID_PARAMS);
    server.stop().await;
}

#[tokio::test]
async fn rejected_tx_carries_codes() {
    let (server, client) = serve().await;
    let e = call_error(client.submit_tx("ff00".into()).await);
    assert_eq!(e.code, codes::TX_REJECTED);
    assert_eq!(e.code, -32001);
    assert_eq!(
        e.data,
        Some(json!({
            "code": "CERTIFICATE_REJECTED",
            "numeric_code": 1401,
            "codes": ["PREDICATE_FAILED:test_passed", "PROOF_INVALID"],
        }))
    );
    let r = e.rejection().expect("rejection data");
    assert_eq!(r.code, "CERTIFICATE_REJECTED");
    assert_eq!(r.numeric_code, 1401);
    assert_eq!(r.codes.len(), 2);

    let e = call_error(client.submit_tx(String::new()).await);
    assert_eq!(e.code, codes::TX_REJECTED);
    let r = e.rejection().expect("rejection data");
    assert_eq!((r.code.as_str(), r.numeric_code), ("TX_MALFORMED", 1002));
    assert!(r.codes.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let (server, client) = serve().await;
    for m in ["maat_nope", "submitTx", "maat_submittx"] {
        let e = call_error(client.request::<Value, _>(m, rpc_params![]).await);
        assert_eq!(e.code, codes::METHOD_NOT_FOUND, "{m}");
    }
    server.stop().await;
}

/// One port serves WebSocket too: the upgrade handshake succeeds.
#[tokio::test]
async fn websocket_upgrade_on_the_same_port() {
    let (server, _client) = serve().await;
    let mut s = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    let req = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.local_addr()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 512];
    let n = s.read(&mut buf).await.expect("read");
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    drop(s);
    server.stop().await;
}

#[tokio::test]
async fn stop_closes_the_port_and_bind_errors_are_typed() {
    let (server, client) = serve().await;
    let addr = server.local_addr();
    // A second server on the same port fails to bind.
    let err = RpcServer::start(addr, Arc::new(FakeNode::default()))
        .await
        .expect_err("port in use");
    assert!(matches!(err, maat_rpc::RpcError::Bind { .. }), "{err}");
    server.stop().await;
    let r = client.health().await;
    assert!(
        matches!(r, Err(ClientError::Transport(_))),
        "after stop: {r:?}"
    );
}
