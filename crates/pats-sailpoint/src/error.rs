//! Mapping SailPoint error answers to [`pats_core::Error`].

use crate::generated::{ErrorMessageDto, ErrorResponseDto};
use pats_core::{Error, Response};
use serde_json::Value;

/// Builds the error for a non-2xx answer.
///
/// - ErrorResponseDto (`detailCode`, `trackingId`, `messages`, `causes`): `detailCode`
///   becomes the code, `trackingId` the request id (quote it to SailPoint support), and
///   the message is the `en-US` (else the first) text, followed by the causes;
/// - a 401 `{"error": ...}` (and OAuth `error_description`);
/// - a 429 `{"message": ...}` with `Retry-After`;
/// - anything else: a scrubbed snippet of the body.
///
/// Codes and ids are scrubbed like messages. The kind follows the status (401 → Unauthenticated, 403 → PermissionDenied, 404 →
/// NotFound, 429 → RateLimited, other → Api).
pub(crate) fn map_error(response: &Response) -> Error {
    let value: Option<Value> = serde_json::from_slice(response.body()).ok();
    let Some(Value::Object(object)) = value else {
        return response.api_error(None, None, None);
    };
    let is_dto = ["detailCode", "trackingId", "messages", "causes"]
        .iter()
        .any(|k| object.contains_key(*k));
    if is_dto
        && let Ok(dto) = serde_json::from_value::<ErrorResponseDto>(Value::Object(object.clone()))
    {
        let mut message = pick_text(dto.messages.as_deref().unwrap_or_default());
        let causes: Vec<&str> = dto
            .causes
            .iter()
            .flatten()
            .filter_map(|c| c.text.as_deref())
            .collect();
        if !causes.is_empty() {
            let joined = causes.join("; ");
            message = Some(match message {
                Some(m) if !m.is_empty() => format!("{m} (causes: {joined})"),
                _ => joined,
            });
        }
        return response.api_error(
            dto.detail_code.map(|c| response.scrub(&c)),
            message.as_deref(),
            dto.tracking_id.map(|t| response.scrub(&t)),
        );
    }
    let text = |k: &str| object.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(error) = text("error") {
        let message = match text("error_description") {
            Some(d) => format!("{error}: {d}"),
            None => error.clone(),
        };
        return response.api_error(Some(response.scrub(&error)), Some(&message), None);
    }
    if let Some(message) = text("message") {
        return response.api_error(None, Some(&message), None);
    }
    response.api_error(None, None, None)
}

fn pick_text(messages: &[ErrorMessageDto]) -> Option<String> {
    messages
        .iter()
        .find(|m| m.locale.as_deref() == Some("en-US"))
        .or_else(|| messages.first())
        .and_then(|m| m.text.clone())
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
    fn error_response_dto_keeps_tracking_id() {
        let e = map_error(&resp(
            400,
            r#"{"detailCode":"400.1 Bad Request Content","trackingId":"e7eab60924f64aa284175b9fa3309599",
               "messages":[{"locale":"und","localeOrigin":"DEFAULT","text":"fallback"},
                           {"locale":"en-US","localeOrigin":"DEFAULT","text":"The request was syntactically correct but its content is semantically invalid."}],
               "causes":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"name is required"}]}"#,
            None,
        ));
        assert_eq!(e.kind(), ErrorKind::Api, "{e:?}");
        let pats_core::ApiError {
            status,
            code,
            message,
            request_id,
            ..
        } = e.api_error().unwrap().clone();
        assert_eq!(status, 400);
        assert_eq!(code.as_deref(), Some("400.1 Bad Request Content"));
        assert!(
            message.starts_with("The request was syntactically"),
            "{message}"
        );
        assert!(message.contains("name is required"), "{message}");
        assert_eq!(
            request_id.as_deref(),
            Some("e7eab60924f64aa284175b9fa3309599")
        );
        let e = map_error(&resp(
            404,
            r#"{"detailCode":"404 Not found","trackingId":"t1","messages":[]}"#,
            None,
        ));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("t1"), "{e}");
    }

    #[test]
    fn unauthorized_and_rate_limited_bodies() {
        let e = map_error(&resp(401, r#"{"error":"JWT is expired"}"#, None));
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert!(e.to_string().contains("JWT is expired"));
        let e = map_error(&resp(
            429,
            r#"{"message":"Rate Limit Exceeded"}"#,
            Some("7"),
        ));
        assert_eq!(e.kind(), ErrorKind::RateLimited, "{e:?}");
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
        assert_eq!(e.api_error().unwrap().message, "Rate Limit Exceeded");
        let e = map_error(&resp(502, "<html>bad gateway</html>", None));
        assert_eq!(e.kind(), ErrorKind::Api);
    }
}
