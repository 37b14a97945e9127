//! Mapping GitLab error answers to [`pats_core::Error`].

use crate::generated::ErrorBody;
use pats_core::{Error, Response};
use serde_json::Value;

/// Builds the error for a non-2xx answer. GitLab's bodies are:
///
/// - `{"message": "401 Unauthorized"}` (a string);
/// - `{"message": {"name": ["can't be blank"], ...}}` for a model's validation errors,
///   turned into `name can't be blank` (attributes sorted by name, `; ` between);
/// - `{"error": "scopes is missing"}` for a missing or invalid parameter;
/// - anything else: a scrubbed snippet of the body.
///
/// The kind follows the status (401 → Unauthenticated, 403 → PermissionDenied, 404 →
/// NotFound, 409 → AlreadyExists, 429 → RateLimited with `Retry-After`, other → Api).
pub(crate) fn map_error(response: &Response) -> Error {
    let Ok(body) = serde_json::from_slice::<ErrorBody>(response.body()) else {
        return response.api_error(None, None, None);
    };
    let message = match (&body.message, &body.error) {
        (Some(Value::String(m)), _) => Some(m.clone()),
        (Some(Value::Object(fields)), _) => Some(validation_message(fields)),
        (_, Some(error)) => Some(error.clone()),
        _ => None,
    };
    response.api_error(None, message.as_deref(), None)
}

/// `{"name": ["can't be blank"], "expires_at": ["is invalid", "x"]}` →
/// `expires_at is invalid, x; name can't be blank` (sorted by attribute).
fn validation_message(fields: &serde_json::Map<String, Value>) -> String {
    let mut parts = Vec::new();
    for (field, messages) in fields {
        let text = match messages {
            Value::Array(items) => items
                .iter()
                .map(|m| match m {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        parts.push(format!("{field} {text}"));
    }
    parts.join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;
    use pats_core::reexports::bytes::Bytes;
    use pats_core::reexports::reqwest::header::{HeaderMap, HeaderValue};

    fn resp(status: u16, body: &str, retry_after: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Some(r) = retry_after {
            headers.insert("retry-after", HeaderValue::from_str(r).unwrap());
        }
        Response::new(status, headers, Bytes::from(body.to_owned()))
    }

    #[test]
    fn each_body_shape_and_status() {
        let e = map_error(&resp(401, r#"{"message":"401 Unauthorized"}"#, None));
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(e.api_error().unwrap().message, "401 Unauthorized");
        let e = map_error(&resp(403, r#"{"message":"403 Forbidden"}"#, None));
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        let e = map_error(&resp(404, r#"{"message":"404 Not found"}"#, None));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = map_error(&resp(
            400,
            r#"{"message":{"name":["can't be blank"],"expires_at":["is invalid","must be later"]}}"#,
            None,
        ));
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(
            e.api_error().unwrap().message,
            "expires_at is invalid, must be later; name can't be blank"
        );
        let e = map_error(&resp(400, r#"{"error":"scopes is missing"}"#, None));
        assert_eq!((e.kind(), e.status()), (ErrorKind::Api, Some(400)));
        assert_eq!(e.api_error().unwrap().message, "scopes is missing");
        let e = map_error(&resp(429, r#"{"message":"Retry later"}"#, Some("7")));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
        let e = map_error(&resp(502, "<html>bad gateway</html>", None));
        assert_eq!(e.kind(), ErrorKind::Api);
        assert!(e.to_string().contains("bad gateway"), "{e}");
    }

    #[test]
    fn a_token_shaped_value_in_an_error_is_scrubbed() {
        let e = map_error(&resp(
            400,
            r#"{"message":"token glpat-AbCdEfGhIjKlMnOpQrSt1234 is invalid"}"#,
            None,
        ));
        assert!(!e.to_string().contains("AbCdEfGhIjKlMnOpQrSt1234"), "{e}");
    }
}
