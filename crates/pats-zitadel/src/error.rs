//! ZITADEL error bodies (REST numeric codes, Connect string codes, OAuth errors) → core kinds.
//!
//! The kind comes from the gRPC code, never from the message text; the error id of
//! `details[]` (for example `COMMAND-4m9s`) goes into [`ApiError::code`] when present,
//! otherwise the code's canonical name (`not_found`, ...).

use pats_core::Error;
use pats_core::Response;
use serde_json::Value;

/// A gRPC status code as ZITADEL sends it (a number in REST bodies, a name in Connect bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 1 `canceled`.
    Canceled,
    /// 2 `unknown`.
    Unknown,
    /// 3 `invalid_argument`.
    InvalidArgument,
    /// 4 `deadline_exceeded`.
    DeadlineExceeded,
    /// 5 `not_found`.
    NotFound,
    /// 6 `already_exists`.
    AlreadyExists,
    /// 7 `permission_denied`.
    PermissionDenied,
    /// 8 `resource_exhausted`.
    ResourceExhausted,
    /// 9 `failed_precondition`.
    FailedPrecondition,
    /// 10 `aborted`.
    Aborted,
    /// 11 `out_of_range`.
    OutOfRange,
    /// 12 `unimplemented`.
    Unimplemented,
    /// 13 `internal`.
    Internal,
    /// 14 `unavailable`.
    Unavailable,
    /// 15 `data_loss`.
    DataLoss,
    /// 16 `unauthenticated`.
    Unauthenticated,
}

const CODES: [(GrpcCode, u8, &str); 16] = [
    (GrpcCode::Canceled, 1, "canceled"),
    (GrpcCode::Unknown, 2, "unknown"),
    (GrpcCode::InvalidArgument, 3, "invalid_argument"),
    (GrpcCode::DeadlineExceeded, 4, "deadline_exceeded"),
    (GrpcCode::NotFound, 5, "not_found"),
    (GrpcCode::AlreadyExists, 6, "already_exists"),
    (GrpcCode::PermissionDenied, 7, "permission_denied"),
    (GrpcCode::ResourceExhausted, 8, "resource_exhausted"),
    (GrpcCode::FailedPrecondition, 9, "failed_precondition"),
    (GrpcCode::Aborted, 10, "aborted"),
    (GrpcCode::OutOfRange, 11, "out_of_range"),
    (GrpcCode::Unimplemented, 12, "unimplemented"),
    (GrpcCode::Internal, 13, "internal"),
    (GrpcCode::Unavailable, 14, "unavailable"),
    (GrpcCode::DataLoss, 15, "data_loss"),
    (GrpcCode::Unauthenticated, 16, "unauthenticated"),
];

impl GrpcCode {
    /// The code for a REST body's number.
    pub fn from_number(n: i64) -> Option<Self> {
        CODES
            .iter()
            .find(|(_, num, _)| i64::from(*num) == n)
            .map(|(c, _, _)| *c)
    }

    /// The code for a Connect body's name (`not_found`; `NOT_FOUND` is accepted too).
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.trim().to_ascii_lowercase();
        let lower = if lower == "cancelled" {
            "canceled".to_owned()
        } else {
            lower
        };
        CODES
            .iter()
            .find(|(_, _, n)| *n == lower)
            .map(|(c, _, _)| *c)
    }

    /// The canonical (Connect) name.
    pub fn name(self) -> &'static str {
        CODES
            .iter()
            .find(|(c, _, _)| *c == self)
            .map_or("unknown", |(_, _, n)| n)
    }

    /// The HTTP status ZITADEL answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument | Self::FailedPrecondition | Self::OutOfRange => 400,
            Self::Unauthenticated => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::AlreadyExists | Self::Aborted => 409,
            Self::ResourceExhausted => 429,
            Self::Canceled => 499,
            Self::Unimplemented => 501,
            Self::Unavailable => 503,
            Self::DeadlineExceeded => 504,
            Self::Unknown | Self::Internal | Self::DataLoss => 500,
        }
    }
}

/// What an error body said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedError {
    pub(crate) code: Option<GrpcCode>,
    pub(crate) error_id: Option<String>,
    pub(crate) message: Option<String>,
}

/// Parses a REST (`{"code": 5, ...}`) or Connect (`{"code": "not_found", ...}`) error body.
pub(crate) fn parse_error_body(body: &[u8]) -> ParsedError {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return ParsedError::default();
    };
    let code = match map.get("code") {
        Some(Value::Number(n)) => n.as_i64().and_then(GrpcCode::from_number),
        Some(Value::String(s)) => {
            GrpcCode::from_name(s).or_else(|| s.parse::<i64>().ok().and_then(GrpcCode::from_number))
        }
        _ => None,
    };
    let error_id = map
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|d| {
            d.get("id")
                .or_else(|| d.get("debug").and_then(|dbg| dbg.get("id")))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        });
    let message = map
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned);
    ParsedError {
        code,
        error_id,
        message,
    }
}

/// Maps a non-2xx API answer (either body format) to an [`Error`].
pub(crate) fn map_api_error(response: &Response) -> Error {
    let parsed = parse_error_body(response.body());
    let code_text = parsed
        .error_id
        .clone()
        .or_else(|| parsed.code.map(|c| c.name().to_owned()));
    let base = response.api_error(code_text, parsed.message.as_deref(), None);
    let Some(code) = parsed.code else {
        return base;
    };
    let Some(api) = base.api_error().cloned() else {
        return base;
    };
    match code {
        GrpcCode::Unauthenticated => Error::unauthenticated(api),
        GrpcCode::PermissionDenied => Error::permission_denied(api),
        GrpcCode::NotFound => Error::not_found(api),
        GrpcCode::AlreadyExists => Error::already_exists(api),
        GrpcCode::ResourceExhausted => Error::rate_limited(api, response.retry_after()),
        _ => Error::api(api),
    }
}

/// Maps a non-2xx answer of `/oauth/v2/token`: an OAuth error (`{"error",
/// "error_description"}`, read by pats-core), else a gRPC error body.
pub(crate) fn map_oauth_error(response: &Response) -> Error {
    pats_core::credentials::oauth2::oauth_error_or(response, map_api_error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn both_code_formats_parse() {
        let rest = parse_error_body(
            br#"{"code":5,"message":"Errors.User.NotFound (COMMAND-x1)","details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"COMMAND-x1","message":"Errors.User.NotFound"}]}"#,
        );
        assert_eq!(rest.code, Some(GrpcCode::NotFound));
        assert_eq!(rest.error_id.as_deref(), Some("COMMAND-x1"));
        let connect = parse_error_body(
            br#"{"code":"failed_precondition","message":"m","details":[{"type":"zitadel.v1.ErrorDetail","debug":{"id":"COMMAND-y2"}}]}"#,
        );
        assert_eq!(connect.code, Some(GrpcCode::FailedPrecondition));
        assert_eq!(connect.error_id.as_deref(), Some("COMMAND-y2"));
        assert_eq!(parse_error_body(b"<html>"), ParsedError::default());
        for (n, name) in [(3, "invalid_argument"), (16, "unauthenticated")] {
            assert_eq!(
                GrpcCode::from_number(n),
                GrpcCode::from_name(name),
                "{name}"
            );
        }
        assert_eq!(GrpcCode::from_name("NOT_FOUND"), Some(GrpcCode::NotFound));
        assert_eq!(GrpcCode::from_number(99), None);
    }
}
