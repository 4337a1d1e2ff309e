//! The gRPC form of an [`ApiError`]: a [`Status`] whose code follows the JSON-RPC code, with the
//! JSON-RPC code itself in the metadata `maat-error-code` and the error's data (e.g. the
//! [`crate::RejectionData`]) as ASCII JSON in `maat-error-data`.

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

use crate::error::{ApiError, codes};

/// The metadata key of the JSON-RPC error code (decimal, e.g. `-32001`).
pub const ERROR_CODE_KEY: &str = "maat-error-code";
/// The metadata key of the error's data: JSON, non-ASCII characters escaped as `\uXXXX`.
pub const ERROR_DATA_KEY: &str = "maat-error-data";

/// The gRPC status code for a JSON-RPC error code (table in `docs/RPC.md`).
#[must_use]
pub fn grpc_code(code: i32) -> Code {
    match code {
        codes::TX_REJECTED => Code::FailedPrecondition,
        codes::UNAVAILABLE => Code::Unavailable,
        codes::TIMEOUT => Code::DeadlineExceeded,
        codes::SUBSCRIPTION_LAGGED
        | codes::RATE_LIMITED
        | codes::TOO_MANY_SUBSCRIPTIONS
        | codes::OVERSIZED_REQUEST
        | codes::OVERSIZED_RESPONSE => Code::ResourceExhausted,
        codes::INVALID_PARAMS | codes::INVALID_REQUEST | codes::PARSE_ERROR => {
            Code::InvalidArgument
        }
        codes::METHOD_NOT_FOUND => Code::Unimplemented,
        codes::INTERNAL => Code::Internal,
        _ => Code::Unknown,
    }
}

/// JSON text with every non-ASCII character escaped (`\uXXXX`, UTF-16 pairs above the BMP):
/// still the same JSON value, and a valid ASCII metadata value (serde_json already escapes
/// control characters).
fn ascii_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The status for `e`: [`grpc_code`], the message, and the metadata [`ERROR_CODE_KEY`] and
/// (when `e` has data) [`ERROR_DATA_KEY`].
#[must_use]
pub fn status_from_api_error(e: &ApiError) -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert(ERROR_CODE_KEY, MetadataValue::from(e.code));
    if let Some(data) = &e.data
        && let Ok(value) = ascii_json(data).parse()
    {
        metadata.insert(ERROR_DATA_KEY, value);
    }
    Status::with_metadata(grpc_code(e.code), e.message.clone(), metadata)
}

/// The [`ApiError`] a status carries, when it has a [`ERROR_CODE_KEY`] (that is, it comes
/// from the Maat service, not from the gRPC framework or the transport).
#[must_use]
pub fn api_error_from_status(s: &Status) -> Option<ApiError> {
    let code = s
        .metadata()
        .get(ERROR_CODE_KEY)?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    let data = s
        .metadata()
        .get(ERROR_DATA_KEY)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| serde_json::from_str(text).ok());
    Some(ApiError {
        code,
        message: s.message().to_owned(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_non_ascii_data() {
        let e = ApiError::tx_rejected(
            "rejected: é",
            "CERTIFICATE_REJECTED",
            1401,
            vec!["POLICY_MISSING:café/prod 🚀".into(), "X\"\n".into()],
        );
        let s = status_from_api_error(&e);
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(s.metadata().get(ERROR_CODE_KEY).expect("code"), "-32001");
        assert!(
            s.metadata()
                .get(ERROR_DATA_KEY)
                .expect("data")
                .to_str()
                .expect("ascii")
                .contains("\\u00e9")
        );
        assert_eq!(api_error_from_status(&s), Some(e));
        assert_eq!(api_error_from_status(&Status::unavailable("down")), None);
        assert_eq!(grpc_code(codes::RATE_LIMITED), Code::ResourceExhausted);
        assert_eq!(grpc_code(codes::INVALID_PARAMS), Code::InvalidArgument);
        assert_eq!(grpc_code(-1), Code::Unknown);
    }
}
