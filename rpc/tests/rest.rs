//! The REST routes (`/v1/...`) beside JSON-RPC on the `RpcServer` port, over the fake `NodeApi`
//! (`common`), called over real TCP on 127.0.0.1: every route and status code, the error body,
//! the limits shared with JSON-RPC (body size, rate, timeout, response size, connections),
//! JSON-RPC still served on the same port, and the OpenAPI document served and consistent with
//! the router.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use maat_rpc::{
    ApiError, AttestationPage, AuditChainPage, MaatRpcClient, PageCursor, RpcLimits, RpcServer,
    codes,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The REST-only "not found" code (docs/RPC.md, REST).
const NOT_FOUND: i64 = -32020;

async fn serve_with(node: Arc<FakeNode>, limits: RpcLimits) -> (RpcServer, HttpClient) {
    let server = RpcServer::start(localhost(), node, limits)
        .await
        .expect("start");
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.local_addr()))
        .expect("client");
    (server, client)
}

async fn serve() -> (RpcServer, HttpClient) {
    serve_with(FakeNode::new(4), RpcLimits::default()).await
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?} (status {})",
                String::from_utf8_lossy(&self.body),
                self.status
            )
        })
    }

    /// The `error.code` of an error body (and checks its shape).
    fn error_code(&self) -> i64 {
        let body = self.json();
        assert!(body["error"]["message"].is_string(), "{body}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        body["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code in {body}"))
    }
}

/// Decodes a `transfer-encoding: chunked` body.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("chunk size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn parse(raw: &[u8]) -> Reply {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        unchunk(rest)
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Sends raw request bytes on a new connection; the whole response (`connection: close`).
async fn exchange(server: &RpcServer, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut out))
        .await
        .expect("response in time")
        .expect("read");
    parse(&out)
}

/// One HTTP/1.1 request with a `content-length` body.
async fn http(
    server: &RpcServer,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Reply {
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        server.local_addr(),
        body.len()
    );
    if let Some(ct) = content_type {
        req.push_str(&format!("content-type: {ct}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    exchange(server, &bytes).await
}

async fn get(server: &RpcServer, target: &str) -> Reply {
    http(server, "GET", target, None, b"").await
}

async fn post_log(server: &RpcServer, body: &Value) -> Reply {
    http(
        server,
        "POST",
        "/v1/proof/log",
        Some("application/json"),
        body.to_string().as_bytes(),
    )
    .await
}

fn call_error(r: Result<impl std::fmt::Debug, ClientError>) -> ApiError {
    match r {
        Err(ClientError::Call(e)) => ApiError::from(e),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn post_proof_log_submits_audit_records() {
    let (server, _client) = serve().await;

    let r = post_log(
        &server,
        &json!({"tx": hex::encode(audit_record_tx(AUDIT_AGENT))}),
    )
    .await;
    assert_eq!(r.status, 202, "{r:?}");
    let id = hex::encode([audit_record_tx(AUDIT_AGENT)[0]; 32]);
    assert_eq!(r.json(), json!({ "tx_id": id }));
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/proof/{id}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Uppercase hex and a charset parameter are fine.
    let r = http(
        &server,
        "POST",
        "/v1/proof/log",
        Some("Application/JSON; charset=utf-8"),
        json!({"tx": hex::encode_upper(audit_record_tx("agent-2"))})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(r.status, 202, "{r:?}");

    // Not an audit record: 400, -32602, naming the body kind.
    for (tx, kind) in [
        (certificate_tx(), "certificate"),
        (identity_tx(), "identity_op"),
    ] {
        let r = post_log(&server, &json!({ "tx": hex::encode(tx) })).await;
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(r.error_code(), i64::from(codes::INVALID_PARAMS));
        let message = r.json()["error"]["message"].to_string();
        assert!(message.contains(kind), "{message}");
    }
    // Bad bodies: 400 with the matching code.
    let bad: [(&[u8], Option<&str>, i32); 8] = [
        (
            br#"{"tx": "zz"}"#,
            Some("application/json"),
            codes::INVALID_PARAMS,
        ),
        (
            br#"{"tx": "ff00"}"#,
            Some("application/json"),
            codes::INVALID_PARAMS,
        ),
        (
            br#"{"tx": 12}"#,
            Some("application/json"),
            codes::INVALID_PARAMS,
        ),
        (br#"{}"#, Some("application/json"), codes::INVALID_PARAMS),
        (
            br#"{"tx": "00", "extra": 1}"#,
            Some("application/json"),
            codes::INVALID_PARAMS,
        ),
        (b"tx=00", Some("application/json"), codes::PARSE_ERROR),
        (b"", Some("application/json"), codes::PARSE_ERROR),
        (
            br#"{"tx": "00"}"#,
            Some("text/plain"),
            codes::INVALID_REQUEST,
        ),
    ];
    for (body, ct, code) in bad {
        let r = http(&server, "POST", "/v1/proof/log", ct, body).await;
        assert_eq!(r.status, 400, "{:?}: {r:?}", String::from_utf8_lossy(body));
        assert_eq!(
            r.error_code(),
            i64::from(code),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    let r = http(&server, "POST", "/v1/proof/log", None, br#"{"tx": "00"}"#).await;
    assert_eq!(r.status, 400, "no content type: {r:?}");

    // Rejected by the node: 422 with the rejection data, as in JSON-RPC.
    let r = post_log(
        &server,
        &json!({"tx": hex::encode(audit_record_tx("rejected"))}),
    )
    .await;
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(r.error_code(), i64::from(codes::TX_REJECTED));
    assert_eq!(
        r.json()["error"]["data"],
        json!({"code": "AUDIT_SEQUENCE_INVALID", "numeric_code": 1602, "codes": []})
    );
    // Unavailable: 503.
    let r = post_log(
        &server,
        &json!({"tx": hex::encode(audit_record_tx("unavailable"))}),
    )
    .await;
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.error_code(), i64::from(codes::UNAVAILABLE));
    assert!(r.json()["error"].get("data").is_none(), "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn get_proof_and_verify() {
    let (server, _client) = serve().await;
    let id = hex::encode(AUDIT_TX);

    let r = get(&server, &format!("/v1/proof/{id}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body, serde_json::to_value(audit_record()).expect("json"));
    assert!(
        body["finality_proof"]["inclusion_path"].is_array(),
        "{body}"
    );
    let typed: maat_rpc::AuditRecordInfo = serde_json::from_value(body).expect("typed");
    assert_eq!(typed, audit_record());
    // Either case of hex.
    let r = get(&server, &format!("/v1/proof/{}", id.to_uppercase())).await;
    assert_eq!(r.status, 200, "{r:?}");

    // Verification up to the record's sequence (3).
    let r = get(&server, &format!("/v1/proof/verify/{id}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        serde_json::to_value(verification(3)).expect("json")
    );

    // No such record: 404 with -32020, on both.
    let unknown = hex::encode([0x99; 32]);
    for target in [
        format!("/v1/proof/{unknown}"),
        format!("/v1/proof/verify/{unknown}"),
    ] {
        let r = get(&server, &target).await;
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert_eq!(r.error_code(), NOT_FOUND, "{target}");
    }
    // Malformed ids: 400.
    for bad in [
        "zz".to_owned(),
        hex::encode([1; 31]),
        hex::encode([1; 33]),
        "verify".into(),
    ] {
        for target in [
            format!("/v1/proof/{bad}"),
            format!("/v1/proof/verify/{bad}"),
        ] {
            let r = get(&server, &target).await;
            assert_eq!(r.status, 400, "{target}: {r:?}");
            assert_eq!(r.error_code(), i64::from(codes::INVALID_PARAMS), "{target}");
        }
    }
    // A query parameter these routes do not take: 400.
    let r = get(&server, &format!("/v1/proof/{id}?full=1")).await;
    assert_eq!(r.status, 400, "{r:?}");
    // Node failures: 503 and 500 with their codes.
    let r = get(
        &server,
        &format!("/v1/proof/{}", hex::encode(UNAVAILABLE_AUDIT_TX)),
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (503, i64::from(codes::UNAVAILABLE))
    );
    let r = get(
        &server,
        &format!("/v1/proof/verify/{}", hex::encode(FAILING_AUDIT_TX)),
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (500, i64::from(codes::INTERNAL))
    );
    server.stop().await;
}

#[tokio::test]
async fn attestations_by_subject_pages() {
    let (server, _client) = serve().await;
    let subject = ATTESTED_SUBJECT.replace(':', "%3A");

    let r = get(
        &server,
        &format!("/v1/attestations?subject={subject}&limit=1"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let page: AttestationPage = serde_json::from_value(r.json()).expect("page");
    assert_eq!(page.subject, ATTESTED_SUBJECT);
    assert_eq!(page.attestations, attestations()[..1].to_vec());
    assert_eq!(
        page.next,
        Some(PageCursor {
            height: 7,
            position: 0
        })
    );
    // The next page, with an unencoded colon this time.
    let r = get(
        &server,
        &format!("/v1/attestations?subject={ATTESTED_SUBJECT}&after_height=7&after_position=0"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    assert_eq!(body["next"], Value::Null, "{body}");
    let page: AttestationPage = serde_json::from_value(body).expect("page");
    assert_eq!(page.attestations, attestations()[1..].to_vec());
    // Default limit: both.
    let r = get(&server, &format!("/v1/attestations?subject={subject}")).await;
    let page: AttestationPage = serde_json::from_value(r.json()).expect("page");
    assert_eq!(page.attestations, attestations());

    for bad in [
        String::from("/v1/attestations"),
        format!("/v1/attestations?subject={subject}&after_height=7"),
        format!("/v1/attestations?subject={subject}&after_position=0"),
        format!("/v1/attestations?subject={subject}&limit=0"),
        format!("/v1/attestations?subject={subject}&limit=101"),
        format!("/v1/attestations?subject={subject}&limit=x"),
        format!("/v1/attestations?subject={subject}&after_height=-1&after_position=0"),
        format!("/v1/attestations?subject={subject}&subject={subject}"),
        format!("/v1/attestations?subject={subject}&page=2"),
        String::from("/v1/attestations?subject=md5%3Aabcd"),
        String::from("/v1/attestations?subject=%zz"),
    ] {
        let r = get(&server, &bad).await;
        assert_eq!(r.status, 400, "{bad}: {r:?}");
        assert_eq!(r.error_code(), i64::from(codes::INVALID_PARAMS), "{bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let (server, _client) = serve().await;
    let id = hex::encode(AUDIT_TX);
    for target in [
        "/v1/",
        "/v1/nothing",
        "/v1/proof",
        "/v1/proof/",
        "/v1/proof/log/extra",
        "/v1/attestations/x",
    ] {
        let r = get(&server, target).await;
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert_eq!(
            r.error_code(),
            i64::from(codes::METHOD_NOT_FOUND),
            "{target}"
        );
    }
    let r = get(&server, &format!("/v1/proof/{id}/")).await;
    assert_eq!(r.status, 404, "{r:?}");

    let wrong: [(&str, String, &str); 5] = [
        ("GET", "/v1/proof/log".into(), "POST"),
        ("PUT", "/v1/proof/log".into(), "POST"),
        ("POST", format!("/v1/proof/{id}"), "GET"),
        ("DELETE", format!("/v1/proof/verify/{id}"), "GET"),
        ("POST", "/v1/openapi.json".into(), "GET"),
    ];
    for (method, target, allow) in wrong {
        let r = http(&server, method, &target, Some("application/json"), b"{}").await;
        assert_eq!(r.status, 405, "{method} {target}: {r:?}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {target}");
        assert_eq!(r.error_code(), i64::from(codes::METHOD_NOT_FOUND));
    }
    server.stop().await;
}

/// The same port still serves JSON-RPC (HTTP POST to `/`), including the new methods.
#[tokio::test]
async fn json_rpc_on_the_same_port() {
    let (server, client) = serve().await;
    assert_eq!(client.health().await.expect("health"), "ok");
    let r = http(
        &server,
        "POST",
        "/",
        Some("application/json"),
        br#"{"jsonrpc":"2.0","id":1,"method":"maat_health","params":[]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["result"], json!("ok"));

    assert_eq!(
        client
            .get_audit_record(hex::encode(AUDIT_TX))
            .await
            .expect("record"),
        Some(audit_record())
    );
    assert_eq!(
        client
            .get_audit_record(hex::encode([0x99; 32]))
            .await
            .expect("none"),
        None
    );
    let page: AuditChainPage = client
        .get_audit_chain(AUDIT_AGENT.into(), Some(2), Some(1))
        .await
        .expect("chain");
    assert_eq!(
        (page.length, page.records.len(), page.next),
        (3, 1, Some(3))
    );
    assert_eq!(page.records[0].sequence, 2);
    let e = call_error(
        client
            .get_audit_chain(AUDIT_AGENT.into(), None, Some(1001))
            .await,
    );
    assert_eq!(e.code, codes::INVALID_PARAMS);
    assert_eq!(
        client
            .verify_audit_chain(AUDIT_AGENT.into(), Some(2))
            .await
            .expect("verify"),
        verification(2)
    );
    assert_eq!(
        client.get_attestation(8).await.expect("attestation"),
        Some(attestations()[1].clone())
    );
    assert_eq!(client.get_attestation(9).await.expect("none"), None);
    let raw: Value = client
        .request(
            "maat_getAttestationsBySubject",
            rpc_params![ATTESTED_SUBJECT, json!({"height": 7, "position": 0})],
        )
        .await
        .expect("page");
    assert_eq!(raw["attestations"][0]["log_index"], json!(8));
    let e = call_error(
        client
            .get_attestations_by_subject(ATTESTED_SUBJECT.into(), None, Some(0))
            .await,
    );
    assert_eq!(e.code, codes::INVALID_PARAMS);
    server.stop().await;
}

/// `GET /v1/openapi.json` serves `rpc/openapi.json`, and every operation it documents is served
/// (the unit test in `rest.rs` checks the other direction: every route is documented).
#[tokio::test]
async fn openapi_document_is_served_and_matches_the_router() {
    let (server, _client) = serve().await;
    let r = get(&server, "/v1/openapi.json").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, include_bytes!("../openapi.json"));
    let doc = r.json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );

    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    operations.sort();
    let mut expected = vec![
        ("GET".to_owned(), "/v1/attestations".to_owned()),
        ("GET".into(), "/v1/openapi.json".into()),
        ("GET".into(), "/v1/proof/verify/{tx_id}".into()),
        ("GET".into(), "/v1/proof/{tx_id}".into()),
        ("POST".into(), "/v1/proof/log".into()),
    ];
    expected.sort();
    assert_eq!(operations, expected);

    // Each documented operation, called with valid inputs, answers its documented 2xx.
    for (method, path) in &operations {
        let target = path.replace("{tx_id}", &hex::encode(AUDIT_TX));
        let target = if path == "/v1/attestations" {
            format!("{target}?subject={ATTESTED_SUBJECT}")
        } else {
            target
        };
        let body = json!({"tx": hex::encode(audit_record_tx(AUDIT_AGENT))}).to_string();
        let body = if method == "POST" {
            body.as_bytes()
        } else {
            b""
        };
        let r = http(&server, method, &target, Some("application/json"), body).await;
        let documented = doc["paths"][path][method.to_lowercase()]["responses"]
            .as_object()
            .expect("responses");
        let success: Vec<&String> = documented.keys().filter(|k| k.starts_with('2')).collect();
        assert_eq!(
            success,
            vec![&r.status.to_string()],
            "{method} {target}: {r:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let limits = RpcLimits {
        max_request_bytes: 1024,
        ..RpcLimits::default()
    };
    let (server, _client) = serve_with(FakeNode::new(1), limits).await;
    let big = json!({"tx": hex::encode([7u8; 1000])}).to_string();
    let r = http(
        &server,
        "POST",
        "/v1/proof/log",
        Some("application/json"),
        big.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.error_code(), i64::from(codes::OVERSIZED_REQUEST));

    // Chunked, with no content-length: refused once the chunks pass the limit.
    let chunk = "a".repeat(700);
    let request = format!(
        "POST /v1/proof/log HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n\
         {len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
        len = chunk.len()
    );
    let r = exchange(&server, request.as_bytes()).await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.error_code(), i64::from(codes::OVERSIZED_REQUEST));

    // Under the limit is fine.
    let r = post_log(
        &server,
        &json!({"tx": hex::encode(audit_record_tx(AUDIT_AGENT))}),
    )
    .await;
    assert_eq!(r.status, 202, "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_is_shared_with_json_rpc() {
    let limits = RpcLimits {
        rate_per_sec: 1,
        burst: 3,
        ..RpcLimits::default()
    };
    let (server, client) = serve_with(FakeNode::new(1), limits).await;
    let id = hex::encode(AUDIT_TX);
    for i in 0..2 {
        let r = get(&server, &format!("/v1/proof/{id}")).await;
        assert_eq!(r.status, 200, "request {i}: {r:?}");
    }
    client.health().await.expect("the third token");
    let r = get(&server, &format!("/v1/proof/{id}")).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.error_code(), i64::from(codes::RATE_LIMITED));
    // Unknown routes count too, and JSON-RPC sees the same empty bucket.
    let r = get(&server, "/v1/nothing").await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(call_error(client.health().await).code, codes::RATE_LIMITED);
    server.stop().await;
}

#[tokio::test]
async fn slow_calls_are_504() {
    let limits = RpcLimits {
        request_timeout: Duration::from_millis(200),
        ..RpcLimits::default()
    };
    let (server, _client) = serve_with(FakeNode::new(1), limits).await;
    for target in [
        format!("/v1/proof/{}", hex::encode(SLOW_AUDIT_TX)),
        format!("/v1/proof/verify/{}", hex::encode(SLOW_AUDIT_TX)),
    ] {
        let r = get(&server, &target).await;
        assert_eq!(r.status, 504, "{target}: {r:?}");
        assert_eq!(r.error_code(), i64::from(codes::TIMEOUT));
    }
    let r = post_log(
        &server,
        &json!({"tx": hex::encode(audit_record_tx("slow"))}),
    )
    .await;
    assert_eq!(r.status, 504, "{r:?}");
    assert_eq!(r.error_code(), i64::from(codes::TIMEOUT));
    // Others are unaffected.
    let r = get(&server, &format!("/v1/proof/{}", hex::encode(AUDIT_TX))).await;
    assert_eq!(r.status, 200, "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let limits = RpcLimits {
        max_response_bytes: 256,
        ..RpcLimits::default()
    };
    let (server, _client) = serve_with(FakeNode::new(1), limits).await;
    let r = get(&server, &format!("/v1/proof/{}", hex::encode(AUDIT_TX))).await;
    assert_eq!(r.status, 500, "{r:?}");
    assert_eq!(r.error_code(), i64::from(codes::OVERSIZED_RESPONSE));
    // A small one passes.
    let r = get(
        &server,
        &format!("/v1/proof/verify/{}", hex::encode(AUDIT_TX)),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn connection_limit_applies_to_rest() {
    let limits = RpcLimits {
        max_connections: 1,
        ..RpcLimits::default()
    };
    let (server, _client) = serve_with(FakeNode::new(1), limits).await;
    // One open keep-alive connection holds the only slot...
    let mut held = TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    let req = format!(
        "GET /v1/proof/{} HTTP/1.1\r\nhost: x\r\n\r\n",
        hex::encode(AUDIT_TX)
    );
    held.write_all(req.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(PATIENCE, held.read(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    // ...so another REST request is refused with 429.
    let r = get(&server, &format!("/v1/proof/{}", hex::encode(AUDIT_TX))).await;
    assert_eq!(r.status, 429, "{r:?}");
    drop(held);
    server.stop().await;
}
