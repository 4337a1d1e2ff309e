//! [`ApiError`]: a JSON-RPC error with a stable code, and the [`codes`] the API uses.

use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use serde::{Deserialize, Serialize};

/// The JSON-RPC error codes of the API (stable; documented in `docs/RPC.md`).
pub mod codes {
    /// The transaction was not admitted (ledger or mempool rejection); `data` is a
    /// [`super::RejectionData`].
    pub const TX_REJECTED: i32 = -32001;
    /// The node cannot serve the request now (starting, shutting down); retry later.
    pub const UNAVAILABLE: i32 = -32002;
    /// The request took longer than the server's request timeout.
    pub const TIMEOUT: i32 = -32003;
    /// A subscriber fell behind the node's event buffer; its subscription is closed.
    pub const SUBSCRIPTION_LAGGED: i32 = -32004;
    /// The client (by remote IP address) sent more requests than the server's rate limit allows;
    /// retry later.
    pub const RATE_LIMITED: i32 = -32005;
    /// Too many subscriptions on one WebSocket connection (jsonrpsee's code).
    pub const TOO_MANY_SUBSCRIPTIONS: i32 = -32006;
    /// The request is larger than the server's limit (jsonrpsee's code; over HTTP with status
    /// 413).
    pub const OVERSIZED_REQUEST: i32 = -32007;
    /// The response would be larger than the server's limit (jsonrpsee's code).
    pub const OVERSIZED_RESPONSE: i32 = -32008;
    /// Invalid JSON was received (JSON-RPC standard).
    pub const PARSE_ERROR: i32 = -32700;
    /// The request is not a valid JSON-RPC request (JSON-RPC standard).
    pub const INVALID_REQUEST: i32 = -32600;
    /// No such method (JSON-RPC standard).
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Missing or malformed parameters, e.g. bad hex (JSON-RPC standard).
    pub const INVALID_PARAMS: i32 = -32602;
    /// The node failed internally (JSON-RPC standard).
    pub const INTERNAL: i32 = -32603;
}

/// The `data` of a [`codes::TX_REJECTED`] error:
/// `{"code": "CERTIFICATE_REJECTED", "numeric_code": 1401, "codes": ["...", ...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionData {
    /// The stable string code of the rejection (ledger `Rejection` or mempool error code).
    pub code: String,
    /// Its stable numeric code.
    pub numeric_code: u32,
    /// Detail codes: the maat-v1 checker's failure codes (certificate, policy); may be empty.
    #[serde(default)]
    pub codes: Vec<String>,
}

/// A typed API error: JSON-RPC `code` (see [`codes`]), a human `message`, optional `data`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct ApiError {
    /// The JSON-RPC error code.
    pub code: i32,
    /// A human sentence (may change; match on `code` and `data`).
    pub message: String,
    /// Structured details, e.g. a [`RejectionData`].
    pub data: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with no data.
    #[must_use]
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// [`codes::TX_REJECTED`] with a [`RejectionData`] built from the arguments.
    #[must_use]
    pub fn tx_rejected(
        message: impl Into<String>,
        code: impl Into<String>,
        numeric_code: u32,
        details: Vec<String>,
    ) -> Self {
        let data = RejectionData {
            code: code.into(),
            numeric_code,
            codes: details,
        };
        ApiError {
            code: codes::TX_REJECTED,
            message: message.into(),
            data: serde_json::to_value(data).ok(),
        }
    }

    /// [`codes::INVALID_PARAMS`].
    #[must_use]
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_PARAMS, message)
    }

    /// [`codes::INTERNAL`].
    #[must_use]
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL, message)
    }

    /// [`codes::UNAVAILABLE`].
    #[must_use]
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(codes::UNAVAILABLE, message)
    }

    /// [`codes::RATE_LIMITED`].
    #[must_use]
    pub fn rate_limited() -> Self {
        Self::new(
            codes::RATE_LIMITED,
            "rate limit exceeded: too many requests from this address; retry later",
        )
    }

    /// [`codes::TIMEOUT`].
    #[must_use]
    pub fn timeout(after: std::time::Duration) -> Self {
        Self::new(
            codes::TIMEOUT,
            format!("the request did not complete within {after:?}"),
        )
    }

    /// [`codes::SUBSCRIPTION_LAGGED`] after `missed` events were dropped.
    #[must_use]
    pub fn subscription_lagged(missed: u64) -> Self {
        Self::new(
            codes::SUBSCRIPTION_LAGGED,
            format!("the subscriber fell behind and missed {missed} events; subscription closed"),
        )
    }

    /// The rejection details, for a [`codes::TX_REJECTED`] error whose data has that shape.
    #[must_use]
    pub fn rejection(&self) -> Option<RejectionData> {
        if self.code != codes::TX_REJECTED {
            return None;
        }
        serde_json::from_value(self.data.clone()?).ok()
    }
}

impl From<ApiError> for ErrorObjectOwned {
    fn from(e: ApiError) -> Self {
        ErrorObject::owned(e.code, e.message, e.data)
    }
}

impl From<ErrorObjectOwned> for ApiError {
    fn from(e: ErrorObjectOwned) -> Self {
        ApiError {
            code: e.code(),
            message: e.message().to_owned(),
            data: e
                .data()
                .and_then(|raw| serde_json::from_str(raw.get()).ok()),
        }
    }
}
