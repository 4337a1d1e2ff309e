//! REST beside JSON-RPC on the [`crate::RpcServer`] port: HTTP requests whose path starts with
//! `/v1/` are answered here, over the same [`NodeApi`] and within the same [`RpcLimits`] (one
//! rate-limit bucket per client IP shared with JSON-RPC, the request body limit, the response
//! limit, the request timeout; the connection limit is the accept loop's).
//!
//! Routes ([`ROUTES`], described by `rpc/openapi.json`, served at `GET /v1/openapi.json`):
//! `POST /v1/proof/log`, `GET /v1/proof/{tx_id}`, `GET /v1/proof/verify/{tx_id}`,
//! `GET /v1/attestations`. Errors are `{"error": {"code", "message", "data"?}}` with the codes of
//! [`crate::codes`] (plus [`NOT_FOUND`]) and an HTTP status following the code
//! ([`http_status`]). Reference: `docs/RPC.md` "REST".

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body as _, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::NodeApi;
use crate::error::{ApiError, codes};
use crate::hex_serde;
use crate::limits::{RateLimiter, RpcLimits};
use crate::server::{MAX_ATTESTATION_PAGE, page_limit};
use crate::types::{PageCursor, SubmitReceipt};

/// The OpenAPI 3.1 description of the routes (`GET /v1/openapi.json`).
pub(crate) const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// The error code of a REST `404` for a route that exists but names nothing (no committed audit
/// record with that id). REST only: JSON-RPC answers `null` instead.
pub(crate) const NOT_FOUND: i32 = -32020;

/// Paths under this prefix are REST requests.
const PREFIX: &str = "/v1/";

/// Whether an HTTP request path belongs to the REST API (the rest goes to JSON-RPC).
pub(crate) fn is_rest_path(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// What a route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    SubmitLog,
    Record,
    Verify,
    Attestations,
    OpenApi,
}

/// Every route the router serves: method, path template (`{name}` matches one non-empty
/// segment), handler. `rpc/openapi.json` must describe exactly these (a unit test checks).
const ROUTES: [(Method, &str, Route); 5] = [
    (Method::POST, "/v1/proof/log", Route::SubmitLog),
    (Method::GET, "/v1/proof/verify/{tx_id}", Route::Verify),
    (Method::GET, "/v1/proof/{tx_id}", Route::Record),
    (Method::GET, "/v1/attestations", Route::Attestations),
    (Method::GET, "/v1/openapi.json", Route::OpenApi),
];

/// The template's segments if `path` matches it: `Some((literal segments, captured values))`.
fn match_template<'p>(template: &str, path: &'p str) -> Option<(usize, Vec<&'p str>)> {
    let mut want = template.split('/');
    let mut have = path.split('/');
    let mut literals = 0;
    let mut captures = Vec::new();
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some((literals, captures)),
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return None;
                }
                captures.push(h);
            }
            (Some(w), Some(h)) if w == h => literals += 1,
            _ => return None,
        }
    }
}

/// How a request path and method resolve.
#[derive(Debug, PartialEq, Eq)]
enum Resolved<'p> {
    /// Serve `Route` with the captured path segments.
    Serve(Route, Vec<&'p str>),
    /// The path exists, not with this method: these are allowed.
    MethodNotAllowed(Vec<Method>),
    /// No such path.
    NotFound,
}

/// Resolves `method` and `path`. A literal segment wins over a `{name}` (as in OpenAPI), so
/// `GET /v1/proof/log` is `405`, not a lookup of the id `log`.
fn resolve<'p>(method: &Method, path: &'p str) -> Resolved<'p> {
    let matches: Vec<_> = ROUTES
        .iter()
        .filter_map(|(m, t, r)| match_template(t, path).map(|(lit, caps)| (m, *r, lit, caps)))
        .collect();
    let Some(best) = matches.iter().map(|(_, _, lit, _)| *lit).max() else {
        return Resolved::NotFound;
    };
    let mut allowed = Vec::new();
    for (m, route, lit, caps) in matches {
        if lit != best {
            continue;
        }
        if m == method {
            return Resolved::Serve(route, caps);
        }
        allowed.push(m.clone());
    }
    Resolved::MethodNotAllowed(allowed)
}

/// The HTTP status of an error with JSON-RPC `code`.
fn http_status(code: i32) -> StatusCode {
    match code {
        codes::TX_REJECTED => StatusCode::UNPROCESSABLE_ENTITY,
        codes::UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        codes::TIMEOUT => StatusCode::GATEWAY_TIMEOUT,
        codes::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        codes::OVERSIZED_REQUEST => StatusCode::PAYLOAD_TOO_LARGE,
        codes::INVALID_PARAMS | codes::INVALID_REQUEST | codes::PARSE_ERROR => {
            StatusCode::BAD_REQUEST
        }
        codes::METHOD_NOT_FOUND | NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A successful answer: its status, its JSON body and extra headers.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    location: Option<String>,
}

impl Reply {
    fn ok(value: &impl serde::Serialize) -> Result<Reply, ApiError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))?;
        Ok(Reply {
            status: StatusCode::OK,
            body,
            location: None,
        })
    }
}

fn with_json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `{"error": {"code", "message", "data"?}}` with the status of its code.
fn error_response(e: &ApiError) -> HttpResponse {
    let mut error = serde_json::json!({"code": e.code, "message": e.message});
    if let Some(data) = &e.data {
        error["data"] = data.clone();
    }
    let body = serde_json::json!({ "error": error }).to_string();
    with_json(http_status(e.code), body.into_bytes())
}

/// The REST handler of one [`crate::RpcServer`].
pub(crate) struct Rest {
    api: Arc<dyn NodeApi>,
    limiter: Arc<RateLimiter>,
    timeout: Duration,
    max_request_bytes: u32,
    max_response_bytes: u32,
}

impl Rest {
    /// A handler over `api` within `limits`, taking tokens from `limiter` (the JSON-RPC side's,
    /// so a client has one budget on the port).
    pub(crate) fn new(
        api: Arc<dyn NodeApi>,
        limiter: Arc<RateLimiter>,
        limits: &RpcLimits,
    ) -> Rest {
        Rest {
            api,
            limiter,
            timeout: limits.request_timeout,
            max_request_bytes: limits.max_request_bytes,
            max_response_bytes: limits.max_response_bytes,
        }
    }

    /// Answers one request from `ip` (never fails: every problem is an error response).
    pub(crate) async fn handle(&self, req: HttpRequest<Incoming>, ip: IpAddr) -> HttpResponse {
        if !self.limiter.try_acquire(ip, 1) {
            return error_response(&ApiError::rate_limited());
        }
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let (route, captures) = match resolve(&parts.method, path) {
            Resolved::Serve(route, captures) => (route, captures),
            Resolved::NotFound => {
                return error_response(&ApiError::new(
                    codes::METHOD_NOT_FOUND,
                    format!("no REST route {path} (see GET /v1/openapi.json)"),
                ));
            }
            Resolved::MethodNotAllowed(allowed) => {
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                let e = ApiError::new(
                    codes::METHOD_NOT_FOUND,
                    format!(
                        "{} is not allowed on {path}; allowed: {allow}",
                        parts.method
                    ),
                );
                let mut response = error_response(&e);
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                return response;
            }
        };
        let call = self.serve(route, &captures, parts.uri.query(), &parts.headers, body);
        let reply = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return error_response(&e),
            Err(_) => return error_response(&ApiError::timeout(self.timeout)),
        };
        if reply.body.len() > self.max_response_bytes as usize {
            return error_response(&ApiError::new(
                codes::OVERSIZED_RESPONSE,
                format!(
                    "the response ({} bytes) is larger than the limit of {} bytes",
                    reply.body.len(),
                    self.max_response_bytes
                ),
            ));
        }
        let mut response = with_json(reply.status, reply.body);
        if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }

    async fn serve(
        &self,
        route: Route,
        captures: &[&str],
        query: Option<&str>,
        headers: &HeaderMap,
        body: Incoming,
    ) -> Result<Reply, ApiError> {
        let tx_id = || {
            let raw = captures.first().copied().unwrap_or_default();
            hex_serde::decode32(raw)
                .map_err(|e| ApiError::invalid_params(format!("`tx_id` ({raw:?}): {e}")))
        };
        match route {
            Route::SubmitLog => {
                query_params(query, &[])?;
                self.submit_log(headers, body).await
            }
            Route::Record => {
                query_params(query, &[])?;
                let id = tx_id()?;
                let record = self.api.audit_record(id).await?;
                Reply::ok(&record.ok_or_else(|| no_record(&id))?)
            }
            Route::Verify => {
                query_params(query, &[])?;
                let id = tx_id()?;
                let record = self
                    .api
                    .audit_record(id)
                    .await?
                    .ok_or_else(|| no_record(&id))?;
                let verification = self
                    .api
                    .verify_audit_chain(record.agent_id, Some(record.sequence))
                    .await?;
                Reply::ok(&verification)
            }
            Route::Attestations => {
                let mut q = query_params(
                    query,
                    &["subject", "after_height", "after_position", "limit"],
                )?;
                let subject = q
                    .remove("subject")
                    .ok_or_else(|| ApiError::invalid_params("`subject` is required"))?;
                let height = q
                    .remove("after_height")
                    .map(|v| number::<u64>("after_height", &v));
                let position = q
                    .remove("after_position")
                    .map(|v| number::<u32>("after_position", &v));
                let after = match (height.transpose()?, position.transpose()?) {
                    (Some(height), Some(position)) => Some(PageCursor { height, position }),
                    (None, None) => None,
                    _ => {
                        return Err(ApiError::invalid_params(
                            "`after_height` and `after_position` go together (a page's `next`)",
                        ));
                    }
                };
                let limit = q.remove("limit").map(|v| number::<u32>("limit", &v));
                let limit = page_limit(limit.transpose()?, MAX_ATTESTATION_PAGE)?;
                let page = self
                    .api
                    .attestations_by_subject(subject, after, limit)
                    .await?;
                Reply::ok(&page)
            }
            Route::OpenApi => {
                query_params(query, &[])?;
                Ok(Reply {
                    status: StatusCode::OK,
                    body: OPENAPI_JSON.as_bytes().to_vec(),
                    location: None,
                })
            }
        }
    }

    /// `POST /v1/proof/log`: `{"tx": hex}` of an audit record transaction, submitted as
    /// `maat_submitTx` would; `202` with the receipt.
    async fn submit_log(&self, headers: &HeaderMap, body: Incoming) -> Result<Reply, ApiError> {
        if !is_json(headers) {
            return Err(ApiError::new(
                codes::INVALID_REQUEST,
                "the body must be JSON (content-type: application/json)",
            ));
        }
        let bytes = read_body(headers, body, self.max_request_bytes).await?;
        let request: SubmitLogRequest = serde_json::from_slice(&bytes).map_err(|e| {
            if e.is_data() {
                ApiError::invalid_params(format!("the body: {e}"))
            } else {
                ApiError::new(codes::PARSE_ERROR, format!("the body is not JSON: {e}"))
            }
        })?;
        let tx = hex_serde::decode(&request.tx)
            .map_err(|e| ApiError::invalid_params(format!("`tx`: {e}")))?;
        check_audit_record_tx(&tx)?;
        let receipt: SubmitReceipt = self.api.submit_tx(tx).await?;
        let mut reply = Reply::ok(&receipt)?;
        reply.status = StatusCode::ACCEPTED;
        reply.location = Some(format!("/v1/proof/{}", hex::encode(receipt.tx_id)));
        Ok(reply)
    }
}

/// The body of `POST /v1/proof/log`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitLogRequest {
    /// Canonical `Transaction` bytes, hex.
    tx: String,
}

fn no_record(id: &[u8; 32]) -> ApiError {
    ApiError::new(
        NOT_FOUND,
        format!(
            "no committed audit record has the transaction id {}",
            hex::encode(id)
        ),
    )
}

/// Whether the content type is `application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The body, at most `max` bytes (more: [`codes::OVERSIZED_REQUEST`], refused from the
/// `content-length` alone when it says so).
async fn read_body(headers: &HeaderMap, body: Incoming, max: u32) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            codes::OVERSIZED_REQUEST,
            format!("the request body is larger than the limit of {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::from(max)) {
        return Err(too_large());
    }
    let mut body = pin!(body);
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                codes::INVALID_REQUEST,
                format!("cannot read the request body: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max as usize {
                return Err(too_large());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Checks that `tx` decodes to a `Transaction` whose body is an audit record.
fn check_audit_record_tx(tx: &[u8]) -> Result<(), ApiError> {
    use maat_proto::Message as _;
    use maat_proto::v1::{Transaction, tx_body::Kind};
    let decoded = Transaction::decode(tx)
        .map_err(|e| ApiError::invalid_params(format!("`tx`: not a Transaction: {e}")))?;
    let kind = decoded
        .payload
        .as_ref()
        .and_then(|p| p.body.as_ref())
        .and_then(|b| b.kind.as_ref());
    let name = match kind {
        Some(Kind::AuditRecord(_)) => return Ok(()),
        Some(Kind::Certificate(_)) => "certificate",
        Some(Kind::IdentityOp(_)) => "identity_op",
        Some(Kind::PolicyOp(_)) => "policy_op",
        Some(Kind::Attestation(_)) => "attestation",
        None => "missing",
    };
    Err(ApiError::invalid_params(format!(
        "`tx`: the transaction's body is {name}, not an audit_record (use maat_submitTx)"
    )))
}

/// A decimal query parameter.
fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::invalid_params(format!("`{name}`: {value:?} is not a valid number")))
}

/// The query's parameters (percent-decoded); unknown or repeated names are invalid params.
fn query_params(
    query: Option<&str>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name)?;
        let value = percent_decode(value)?;
        if !allowed.contains(&name.as_str()) {
            let known = if allowed.is_empty() {
                "this route takes none".to_owned()
            } else {
                format!("known: {}", allowed.join(", "))
            };
            return Err(ApiError::invalid_params(format!(
                "unknown query parameter `{name}` ({known})"
            )));
        }
        if out.insert(name.clone(), value).is_some() {
            return Err(ApiError::invalid_params(format!(
                "query parameter `{name}` given twice"
            )));
        }
    }
    Ok(out)
}

/// `application/x-www-form-urlencoded` decoding of one name or value (`+` is a space).
fn percent_decode(s: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid_params(format!("bad percent-encoding in the query: {s:?}"));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits exactly (`from_str_radix` alone would take a sign: `%+f`).
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(bad());
                }
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn openapi_document_describes_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json");
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{}",
            doc["openapi"]
        );
        let paths = doc["paths"].as_object().expect("paths");
        let documented: BTreeSet<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                let item = item.as_object().expect("path item");
                item.keys()
                    .filter(|k| {
                        [
                            "get", "put", "post", "delete", "options", "head", "patch", "trace",
                        ]
                        .contains(&k.as_str())
                    })
                    .map(|m| (m.to_uppercase(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, t, _)| (m.as_str().to_owned(), (*t).to_owned()))
            .collect();
        assert_eq!(documented, served);
        // Every `$ref` resolves.
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        match (k.as_str(), v.as_str()) {
                            ("$ref", Some(r)) => out.push(r.to_owned()),
                            _ => refs(v, out),
                        }
                    }
                }
                serde_json::Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r.strip_prefix('#').expect("local ref");
            assert!(doc.pointer(pointer).is_some(), "dangling {r}");
        }
    }

    #[test]
    fn resolution_prefers_literal_segments() {
        let id = "ab".repeat(32);
        assert_eq!(
            resolve(&Method::GET, &format!("/v1/proof/{id}")),
            Resolved::Serve(Route::Record, vec![id.as_str()])
        );
        assert_eq!(
            resolve(&Method::GET, &format!("/v1/proof/verify/{id}")),
            Resolved::Serve(Route::Verify, vec![id.as_str()])
        );
        assert_eq!(
            resolve(&Method::POST, "/v1/proof/log"),
            Resolved::Serve(Route::SubmitLog, vec![])
        );
        assert_eq!(
            resolve(&Method::GET, "/v1/proof/log"),
            Resolved::MethodNotAllowed(vec![Method::POST])
        );
        assert_eq!(
            resolve(&Method::POST, &format!("/v1/proof/{id}")),
            Resolved::MethodNotAllowed(vec![Method::GET])
        );
        assert_eq!(resolve(&Method::GET, "/v1/proof/"), Resolved::NotFound);
        assert_eq!(resolve(&Method::GET, "/v1/nothing"), Resolved::NotFound);
        assert_eq!(
            resolve(&Method::GET, &format!("/v1/proof/{id}/extra")),
            Resolved::NotFound
        );
    }

    #[test]
    fn statuses_follow_codes() {
        assert_eq!(
            http_status(codes::TX_REJECTED),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            http_status(codes::RATE_LIMITED),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(codes::UNAVAILABLE),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(http_status(codes::TIMEOUT), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(http_status(codes::INVALID_PARAMS), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(codes::OVERSIZED_REQUEST),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(http_status(NOT_FOUND), StatusCode::NOT_FOUND);
        assert_eq!(
            http_status(codes::INTERNAL),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(http_status(-1), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn query_decoding() {
        let q = query_params(Some("subject=sha256%3Aab&limit=5"), &["subject", "limit"])
            .expect("query");
        assert_eq!(q["subject"], "sha256:ab");
        assert_eq!(q["limit"], "5");
        assert!(query_params(Some("subject=a&subject=b"), &["subject"]).is_err());
        assert!(query_params(Some("x=1"), &["subject"]).is_err());
        assert!(query_params(Some("subject=%zz"), &["subject"]).is_err());
        assert!(
            query_params(Some("subject=%e9"), &["subject"]).is_err(),
            "not UTF-8"
        );
        assert_eq!(percent_decode("a+b%20c").expect("decode"), "a b c");
        assert!(percent_decode("%+f").is_err(), "a sign is not a hex digit");
    }
}
