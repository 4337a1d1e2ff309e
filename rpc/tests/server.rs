//! The JSON-RPC server over a fake `NodeApi` (`common`), served on 127.0.0.1:0 and called over
//! real HTTP and WebSocket clients: every method, parameters, error codes, subscriptions with
//! filters, lagging subscribers, and the limits (rate, connections, sizes, timeout).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use jsonrpsee::core::client::{ClientT, Error as ClientError, SubscriptionClientT};
use jsonrpsee::core::params::ObjectParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use maat_rpc::{
    ApiError, BlockRef, ConsistencyProof, EventFilter, InclusionProof, MaatRpcClient, NodeEvent,
    RpcLimits, RpcServer, SubscriptionKind, TxStatus, codes,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::TokioAsyncReadCompatExt as _;

async fn serve_with(node: Arc<FakeNode>, limits: RpcLimits) -> (RpcServer, HttpClient) {
    let server = RpcServer::start(localhost(), node, limits)
        .await
        .expect("start");
    assert_ne!(server.local_addr().port(), 0);
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.local_addr()))
        .expect("client");
    (server, client)
}

async fn serve() -> (RpcServer, HttpClient) {
    serve_with(FakeNode::new(16), RpcLimits::default()).await
}

async fn ws(server: &RpcServer) -> WsClient {
    WsClientBuilder::default()
        .build(format!("ws://{}", server.local_addr()))
        .await
        .expect("ws client")
}

fn call_error(r: Result<impl std::fmt::Debug, ClientError>) -> ApiError {
    match r {
        Err(ClientError::Call(e)) => ApiError::from(e),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// Sends one raw HTTP/1.1 request on a new connection; the whole response (the server closes).
async fn raw_http(server: &RpcServer, body: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        server.local_addr(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut out))
        .await
        .expect("response in time")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
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

    // submitCertificate: a certificate transaction goes through.
    let receipt = client
        .submit_certificate(hex::encode(certificate_tx()))
        .await
        .expect("certificate");
    assert_eq!(receipt.tx_id, [certificate_tx()[0]; 32]);

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

    // status
    assert_eq!(client.status().await.expect("status"), status());
    let raw: Value = client
        .request("maat_status", rpc_params![])
        .await
        .expect("raw");
    assert_eq!(raw["genesis_hash"], json!(hex::encode([0xab; 32])));
    assert_eq!(raw["validator"], json!(2));

    // getBlock: by height, by id, "latest", above the head, node failure; getLatestBlock.
    for at in [
        BlockRef::Height(1),
        BlockRef::Id(BLOCK1_ID),
        BlockRef::Latest,
    ] {
        assert_eq!(client.get_block(at).await.expect("block"), Some(block1()));
    }
    assert_eq!(
        client.get_block(BlockRef::Height(2)).await.expect("block"),
        None
    );
    assert_eq!(
        client
            .get_block(BlockRef::Id([9; 32]))
            .await
            .expect("block"),
        None
    );
    assert_eq!(
        client.get_latest_block().await.expect("latest"),
        Some(block1())
    );
    let expected = json!({
        "height": 1,
        "block_id": hex::encode(BLOCK1_ID),
        "bytes": "0001fe",
        "tx_ids": [hex::encode(FINALIZED), hex::encode([3; 32])],
        "timestamp_ms": 1_767_225_601_000_u64,
        "round": 4,
        "parent": hex::encode([0xb0; 32]),
        "proposer": 3,
        "log_size": 42,
        "log_root": hex::encode([0x42; 32]),
    });
    for param in [
        json!(1),
        json!(hex::encode(BLOCK1_ID).to_uppercase()),
        json!("latest"),
    ] {
        let raw: Value = client
            .request("maat_getBlock", rpc_params![param.clone()])
            .await
            .expect("raw");
        assert_eq!(raw, expected, "{param}");
    }
    let raw: Value = client
        .request("maat_getLatestBlock", rpc_params![])
        .await
        .expect("raw");
    assert_eq!(raw, expected);
    let raw: Value = client
        .request("maat_getBlock", rpc_params![2])
        .await
        .expect("raw");
    assert_eq!(raw, Value::Null);
    let e = call_error(client.get_block(BlockRef::Height(u64::MAX)).await);
    assert_eq!(e.code, codes::INTERNAL);
    assert_eq!(e.message, "storage read failed");

    // getFinalityProof: the proof's own JSON, or null.
    assert_eq!(
        client
            .get_finality_proof(hex::encode(FINALIZED))
            .await
            .expect("proof"),
        Some(proof())
    );
    let raw: Value = client
        .request("maat_getFinalityProof", rpc_params![hex::encode(FINALIZED)])
        .await
        .expect("raw");
    assert_eq!(raw, serde_json::to_value(proof()).expect("json"));
    assert_eq!(raw["inclusion_path"][0], json!(hex::encode([5; 32])));
    assert_eq!(
        client
            .get_finality_proof(hex::encode([9; 32]))
            .await
            .expect("proof"),
        None
    );

    // getCheckpoint: latest (no param or null), by size, none.
    assert_eq!(
        client.get_checkpoint(None).await.expect("cp"),
        Some(checkpoint(42))
    );
    let raw: Value = client
        .request("maat_getCheckpoint", rpc_params![])
        .await
        .expect("no param");
    assert_eq!(raw["tree_size"], json!(42));
    assert_eq!(raw["root"], json!(hex::encode([0x42; 32])));
    assert_eq!(raw["note"], json!(checkpoint(42).note));
    assert_eq!(raw["is_final"], json!(true));
    assert_eq!(
        client.get_checkpoint(Some(10)).await.expect("cp"),
        Some(checkpoint(10))
    );
    assert_eq!(client.get_checkpoint(Some(43)).await.expect("cp"), None);

    // Proofs.
    assert_eq!(
        client.get_consistency_proof(10, 42).await.expect("proof"),
        ConsistencyProof {
            old_size: 10,
            new_size: 42,
            path: path(10, 42)
        }
    );
    let e = call_error(client.get_consistency_proof(42, 10).await);
    assert_eq!(e.code, codes::INVALID_PARAMS);
    assert_eq!(
        client.get_inclusion_proof(3, 42).await.expect("proof"),
        InclusionProof {
            leaf_index: 3,
            tree_size: 42,
            path: path(3, 42)
        }
    );
    let raw: Value = client
        .request("maat_getInclusionProof", rpc_params![3, 42])
        .await
        .expect("raw");
    assert_eq!(raw["path"][1], json!(hex::encode([42; 32])));

    // Registry reads.
    assert_eq!(
        client.get_deployment("dep-1".into()).await.expect("dep"),
        Some(deployment())
    );
    assert_eq!(
        client.get_deployment("nope".into()).await.expect("dep"),
        None
    );
    let raw: Value = client
        .request("maat_getDeployment", rpc_params!["dep-1"])
        .await
        .expect("raw");
    assert_eq!(raw["record"]["version"], json!(1.5));
    assert_eq!(raw["txs"][0]["tx_id"], json!(hex::encode(FINALIZED)));
    assert_eq!(
        client.get_identity("alice".into()).await.expect("id"),
        Some(identity())
    );
    assert_eq!(client.get_identity("bob".into()).await.expect("id"), None);
    assert_eq!(
        client
            .get_policy("web".into(), "prod".into())
            .await
            .expect("policy"),
        Some(policy())
    );
    assert_eq!(
        client
            .get_policy("web".into(), "dev".into())
            .await
            .expect("policy"),
        None
    );
    assert_eq!(client.validators().await.expect("validators"), validators());
    let raw: Value = client
        .request("maat_validators", rpc_params![])
        .await
        .expect("raw");
    assert_eq!(raw[1]["public_key"], json!("mldsa65:AAA1"));

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
    p.insert("block", 1).expect("param");
    let raw: Value = client.request("maat_getBlock", p).await.expect("named");
    assert_eq!(raw["height"], json!(1));
    let mut p = ObjectParams::new();
    p.insert("tx_hex", "05").expect("param");
    let raw: Value = client.request("maat_submitTx", p).await.expect("named");
    assert_eq!(raw["tx_id"], json!(hex::encode([5; 32])));
    let mut p = ObjectParams::new();
    p.insert("service", "web").expect("param");
    p.insert("environment", "prod").expect("param");
    let raw: Value = client.request("maat_getPolicy", p).await.expect("named");
    assert_eq!(raw, policy());
    let mut p = ObjectParams::new();
    p.insert("old_size", 1).expect("param");
    p.insert("new_size", 2).expect("param");
    let raw: Value = client
        .request("maat_getConsistencyProof", p)
        .await
        .expect("named");
    assert_eq!(raw["new_size"], json!(2));
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
        let e = call_error(client.get_finality_proof(bad.clone()).await);
        assert_eq!(e.code, codes::INVALID_PARAMS, "{bad}: {e}");
    }
    // submitCertificate: only certificate transactions.
    let e = call_error(client.submit_certificate(hex::encode(identity_tx())).await);
    assert_eq!(e.code, codes::INVALID_PARAMS);
    assert!(e.message.contains("identity_op"), "{}", e.message);
    let e = call_error(client.submit_certificate("ff00".into()).await);
    assert_eq!(e.code, codes::INVALID_PARAMS, "{e}");
    // Wrong JSON types and missing parameters.
    let bad_calls: [(&str, Vec<Value>); 9] = [
        ("maat_submitTx", vec![json!(12)]),
        ("maat_getTx", vec![]),
        ("maat_getBlock", vec![json!("one")]),
        ("maat_getBlock", vec![json!(-1)]),
        ("maat_getBlock", vec![json!(1.5)]),
        ("maat_getBlock", vec![json!(hex::encode([1; 31]))]),
        ("maat_getCheckpoint", vec![json!("x")]),
        ("maat_getInclusionProof", vec![json!(1)]),
        ("maat_getPolicy", vec![json!("web")]),
    ];
    for (method, params) in bad_calls {
        let mut p = jsonrpsee::core::params::ArrayParams::new();
        for v in &params {
            p.insert(v).expect("param");
        }
        let e = call_error(client.request::<Value, _>(method, p).await);
        assert_eq!(e.code, codes::INVALID_PARAMS, "{method} {params:?}");
    }
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

/// One port serves WebSocket too: the upgrade handshake succeeds, and every method works.
#[tokio::test]
async fn websocket_on_the_same_port() {
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

    let ws = ws(&server).await;
    assert_eq!(ws.status().await.expect("status"), status());
    assert_eq!(
        ws.get_block(BlockRef::Latest).await.expect("block"),
        Some(block1())
    );
    let e = call_error(ws.submit_tx("ff".into()).await);
    assert_eq!(e.code, codes::TX_REJECTED);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn stop_closes_the_port_and_bind_errors_are_typed() {
    let (server, client) = serve().await;
    let addr = server.local_addr();
    // A second server on the same port fails to bind.
    let err = RpcServer::start(addr, FakeNode::new(1), RpcLimits::default())
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

async fn next_event(sub: &mut jsonrpsee::core::client::Subscription<NodeEvent>) -> NodeEvent {
    tokio::time::timeout(PATIENCE, sub.next())
        .await
        .expect("an event in time")
        .expect("subscription open")
        .expect("event decodes")
}

#[tokio::test]
async fn websocket_subscriptions_with_filters() {
    let node = FakeNode::new(64);
    let (server, http) = serve_with(node.clone(), RpcLimits::default()).await;
    let ws = ws(&server).await;

    let mut blocks = ws
        .subscribe_events(SubscriptionKind::NewBlocks, None)
        .await
        .expect("newBlocks");
    let mut all_txs = ws
        .subscribe_events(SubscriptionKind::FinalizedTxs, None)
        .await
        .expect("finalizedTxs");
    let web = EventFilter {
        service: Some("web".into()),
        ..EventFilter::default()
    };
    let mut web_txs = ws
        .subscribe_events(SubscriptionKind::FinalizedTxs, Some(web))
        .await
        .expect("finalizedTxs web");
    let web_prod = EventFilter {
        service: Some("web".into()),
        environment: Some("prod".into()),
        agent: Some("ci".into()),
    };
    let mut web_prod_txs = ws
        .subscribe_events(SubscriptionKind::FinalizedTxs, Some(web_prod))
        .await
        .expect("finalizedTxs web/prod/ci");
    // A raw subscription with the filter as JSON.
    let mut raw_txs: jsonrpsee::core::client::Subscription<Value> = ws
        .subscribe(
            "maat_subscribe",
            rpc_params!["finalizedTxs", json!({"environment": "staging"})],
            "maat_unsubscribe",
        )
        .await
        .expect("raw subscribe");
    let mut equivocations = ws
        .subscribe_events(SubscriptionKind::Equivocations, None)
        .await
        .expect("equivocations");
    // Every subscription holds a receiver before its id is returned.
    assert_eq!(node.events.receiver_count(), 6);

    let web_prod_ci = finalized(10, Some("web"), Some("prod"), Some("ci"));
    let web_staging = finalized(11, Some("web"), Some("staging"), None);
    let api_prod = finalized(12, Some("api"), Some("prod"), Some("ci"));
    let bare = finalized(13, None, None, None);
    let web_prod_other = finalized(14, Some("web"), Some("prod"), Some("bot"));
    for e in [
        new_block(1),
        web_prod_ci.clone(),
        web_staging.clone(),
        api_prod.clone(),
        bare.clone(),
        web_prod_other.clone(),
        equivocation(3),
    ] {
        assert_eq!(node.emit(e), 6);
    }
    // Sentinels: the next event each subscription sees proves what it skipped.
    let sentinel = finalized(99, Some("web"), Some("staging"), Some("ci"));
    node.emit(new_block(2));
    node.emit(sentinel.clone());
    node.emit(equivocation(4));

    assert_eq!(next_event(&mut blocks).await, new_block(1));
    assert_eq!(next_event(&mut blocks).await, new_block(2));
    for want in [
        &web_prod_ci,
        &web_staging,
        &api_prod,
        &bare,
        &web_prod_other,
        &sentinel,
    ] {
        assert_eq!(&next_event(&mut all_txs).await, want);
    }
    for want in [&web_prod_ci, &web_staging, &web_prod_other, &sentinel] {
        assert_eq!(&next_event(&mut web_txs).await, want);
    }
    assert_eq!(next_event(&mut web_prod_txs).await, web_prod_ci);
    // Not the sentinel (staging): nothing more for web/prod/ci until one more event.
    let last = finalized(100, Some("web"), Some("prod"), Some("ci"));
    node.emit(last.clone());
    assert_eq!(next_event(&mut web_prod_txs).await, last);
    assert_eq!(next_event(&mut equivocations).await, equivocation(3));
    assert_eq!(next_event(&mut equivocations).await, equivocation(4));
    // The raw notification is the event's JSON, tagged by `type`, ids in hex.
    let raw = tokio::time::timeout(PATIENCE, raw_txs.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("json");
    assert_eq!(
        raw,
        json!({
            "type": "finalized_tx", "tx_id": hex::encode([11; 32]), "height": 1, "position": 0,
            "log_index": 11, "kind": "certificate", "submitter": "alice", "service": "web",
            "environment": "staging", "agent": null,
        })
    );

    // maat_unsubscribe answers true.
    let jsonrpsee::core::client::SubscriptionKind::Subscription(raw_id) = raw_txs.kind().clone()
    else {
        panic!("a subscription id");
    };
    let done: bool = ws
        .request("maat_unsubscribe", rpc_params![raw_id])
        .await
        .expect("unsubscribe");
    assert!(done);

    // Unsubscribing releases the server's receiver.
    blocks.unsubscribe().await.expect("unsubscribe");
    let released = tokio::time::timeout(PATIENCE, async {
        while node.events.receiver_count() != 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        released.is_ok(),
        "{} receivers",
        node.events.receiver_count()
    );

    // Bad subscriptions are refused with invalid params.
    for params in [
        rpc_params!["blocks"],
        rpc_params!["newBlocks", json!({"service": "web"})],
        rpc_params!["finalizedTxs", json!({"servce": "web"})],
        rpc_params![],
    ] {
        let r: Result<jsonrpsee::core::client::Subscription<Value>, _> = ws
            .subscribe("maat_subscribe", params, "maat_unsubscribe")
            .await;
        assert_eq!(call_error(r).code, codes::INVALID_PARAMS);
    }
    // Over plain HTTP: a clear error, not a hang.
    let e = call_error(
        http.request::<Value, _>("maat_subscribe", rpc_params!["newBlocks"])
            .await,
    );
    assert_eq!(e.code, codes::INVALID_REQUEST);
    assert!(e.message.contains("WebSocket"), "{}", e.message);

    drop(ws);
    server.stop().await;
}

/// A subscriber that falls behind the node's event channel gets an error notification with
/// code -32004 and its subscription is closed (not silently skipped ahead).
#[tokio::test]
async fn lagging_subscriber_is_closed_with_an_error() {
    let node = FakeNode::new(4);
    let (server, _http) = serve_with(node.clone(), RpcLimits::default()).await;

    // A raw WebSocket client, to see the error notification itself.
    let stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    let mut handshake = soketto::handshake::Client::new(stream.compat(), "127.0.0.1", "/");
    match handshake.handshake().await.expect("handshake") {
        soketto::handshake::ServerResponse::Accepted { .. } => {}
        other => panic!("{other:?}"),
    }
    let (mut sender, mut receiver) = handshake.into_builder().finish();
    let mut read = async || -> Value {
        let mut data = Vec::new();
        tokio::time::timeout(PATIENCE, receiver.receive_data(&mut data))
            .await
            .expect("a message in time")
            .expect("receive");
        serde_json::from_slice(&data).expect("json")
    };
    sender
        .send_text(r#"{"jsonrpc":"2.0","id":1,"method":"maat_subscribe","params":["newBlocks"]}"#)
        .await
        .expect("send");
    sender.flush().await.expect("flush");
    let confirmed = read().await;
    let sub_id = confirmed["result"].clone();
    assert!(sub_id.is_string() || sub_id.is_number(), "{confirmed}");

    // Also a jsonrpsee client's subscription.
    let ws = ws(&server).await;
    let mut typed = ws
        .subscribe_events(SubscriptionKind::NewBlocks, None)
        .await
        .expect("subscribe");

    // Ten events into a channel of four, before any subscriber task runs (current-thread
    // runtime, no await in between): every subscriber lags.
    for h in 1..=10 {
        node.emit(new_block(h));
    }
    let closing = read().await;
    assert_eq!(closing["method"], json!("maat_subscription"), "{closing}");
    assert_eq!(closing["params"]["subscription"], sub_id);
    assert_eq!(
        closing["params"]["error"]["code"],
        json!(codes::SUBSCRIPTION_LAGGED)
    );
    assert!(
        closing["params"]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("missed 6 events")),
        "{closing}"
    );
    // The typed subscription ends (no event skipped into).
    let end = tokio::time::timeout(PATIENCE, typed.next())
        .await
        .expect("closed in time");
    assert!(end.is_none(), "{end:?}");
    // The server dropped both receivers.
    let released = tokio::time::timeout(PATIENCE, async {
        while node.events.receiver_count() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(released.is_ok());
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_per_client() {
    let limits = RpcLimits {
        rate_per_sec: 1,
        burst: 5,
        ..RpcLimits::default()
    };
    let (server, client) = serve_with(FakeNode::new(1), limits).await;
    for i in 0..5 {
        client
            .health()
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
    let e = call_error(client.status().await);
    assert_eq!(e.code, codes::RATE_LIMITED);
    assert_eq!(e.code, -32005);
    // The bucket is per address, not per connection or transport.
    let ws = ws(&server).await;
    assert_eq!(call_error(ws.health().await).code, codes::RATE_LIMITED);
    drop(ws);
    server.stop().await;

    // Batch entries count one each.
    let limits = RpcLimits {
        rate_per_sec: 1,
        burst: 3,
        ..RpcLimits::default()
    };
    let (server, _client) = serve_with(FakeNode::new(1), limits).await;
    let batch: Vec<Value> = (0..5)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "maat_health", "params": []}))
        .collect();
    let response = raw_http(&server, &Value::from(batch).to_string()).await;
    let body = &response[response.find("\r\n\r\n").expect("head") + 4..];
    let answers: Vec<Value> = serde_json::from_str(body).expect("batch response");
    let ok = answers
        .iter()
        .filter(|a| a["result"] == json!("ok"))
        .count();
    let limited = answers
        .iter()
        .filter(|a| a["error"]["code"] == json!(codes::RATE_LIMITED))
        .count();
    assert_eq!((ok, limited), (3, 2), "{answers:?}");
    server.stop().await;
}

#[tokio::test]
async fn connection_limit() {
    let limits = RpcLimits {
        max_connections: 2,
        ..RpcLimits::default()
    };
    let (server, _client) = serve_with(FakeNode::new(1), limits).await;
    let a = ws(&server).await;
    let b = ws(&server).await;
    a.health().await.expect("a");
    b.health().await.expect("b");
    // A third WebSocket client and a plain HTTP request are refused with 429.
    let third = WsClientBuilder::default()
        .build(format!("ws://{}", server.local_addr()))
        .await;
    assert!(third.is_err(), "third connection accepted");
    let response = raw_http(
        &server,
        r#"{"jsonrpc":"2.0","id":1,"method":"maat_health"}"#,
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 429"), "{response}");

    // Closing one frees its slot (once the server has seen the close).
    drop(a);
    let reopened = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(c) = WsClientBuilder::default()
                .build(format!("ws://{}", server.local_addr()))
                .await
            {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a slot frees up");
    reopened.health().await.expect("reopened");
    b.health().await.expect("b still served");
    drop((b, reopened));
    server.stop().await;
}

#[tokio::test]
async fn oversized_requests_and_responses_are_refused() {
    let limits = RpcLimits {
        max_request_bytes: 1024,
        max_response_bytes: 2048,
        ..RpcLimits::default()
    };
    let (server, client) = serve_with(FakeNode::new(1), limits).await;
    // A body over the limit: HTTP 413 with a JSON-RPC error.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "maat_submitTx",
                      "params": [hex::encode([7u8; 1000])]})
    .to_string();
    let response = raw_http(&server, &body).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(&format!("\"code\":{}", codes::OVERSIZED_REQUEST)),
        "{response}"
    );
    // Just under the limit is fine.
    client
        .submit_tx(hex::encode([7u8; 400]))
        .await
        .expect("small enough");
    // A response over the limit: -32008.
    let e = call_error(client.get_block(BlockRef::Height(BIG_BLOCK)).await);
    assert_eq!(e.code, codes::OVERSIZED_RESPONSE);
    server.stop().await;
}

#[tokio::test]
async fn slow_requests_time_out() {
    let limits = RpcLimits {
        request_timeout: Duration::from_millis(200),
        ..RpcLimits::default()
    };
    let (server, client) = serve_with(FakeNode::new(1), limits).await;
    let e = call_error(client.get_identity(SLOW_ID.into()).await);
    assert_eq!(e.code, codes::TIMEOUT);
    // Others are unaffected.
    assert_eq!(
        client.get_identity("alice".into()).await.expect("fast"),
        Some(identity())
    );
    server.stop().await;
}
