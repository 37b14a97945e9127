//! Request bodies and error answers as Dfns shapes them (`{"error": {"status", "message"}}`).

use super::*;

/// A refusal: status and message, answered as `{"error": {"status", "message"}}`.
pub(super) struct Reject {
    pub(super) status: u16,
    pub(super) message: String,
}

impl Reject {
    pub(super) fn into_answer(self) -> Answer {
        Answer::new(self.status).set_body_json(json!({
            "error": { "status": self.status, "message": self.message }
        }))
    }
}

pub(super) type Outcome = Result<Answer, Reject>;

pub(super) fn error(status: u16, message: impl Into<String>) -> Reject {
    Reject {
        status,
        message: message.into(),
    }
}

pub(super) fn ok(body: Value) -> Answer {
    Answer::new(200).set_body_json(body)
}

pub(super) fn is_pem_public_key(pem: &str) -> bool {
    let text = pem.trim();
    let Some(body) = text
        .strip_prefix("-----BEGIN PUBLIC KEY-----")
        .and_then(|r| r.strip_suffix("-----END PUBLIC KEY-----"))
    else {
        return false;
    };
    let body: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).is_ok_and(|der| !der.is_empty())
}

/// Parses a JSON object body and refuses fields outside `allowed`.
pub(super) fn object_body(
    request: &Request,
    allowed: &[&str],
) -> Result<Map<String, Value>, Reject> {
    let value: Value = serde_json::from_slice(&request.body)
        .map_err(|_| error(400, "request body is not valid JSON"))?;
    let Value::Object(map) = value else {
        return Err(error(400, "request body must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(error(400, format!("\"{unknown}\" is not allowed")));
    }
    Ok(map)
}

pub(super) fn optional_string(
    map: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, Reject> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(error(400, format!("\"{field}\" must be a string"))),
    }
}

pub(super) fn required_string(map: &Map<String, Value>, field: &str) -> Result<String, Reject> {
    optional_string(map, field)?.ok_or_else(|| error(400, format!("\"{field}\" is required")))
}

pub(super) fn positive_integer(
    map: &Map<String, Value>,
    field: &str,
) -> Result<Option<i64>, Reject> {
    match map.get(field) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(error(
                400,
                format!("\"{field}\" must be an integer greater than 0"),
            )),
        },
    }
}

/// A POST or PUT must say how long its body is, even when it has none: `Content-Length`
/// (`0` without a body) or `Transfer-Encoding: chunked`. HTTP clients send a length where
/// the method defines a meaning for content (RFC 9110, section 8.6), and the front ends of
/// HTTP APIs answer 411 Length Required without one; the simulator plays such a front end.
pub(super) fn length_given(request: &Request) -> Result<(), Reject> {
    let needs_length = matches!(request.method.as_str(), "POST" | "PUT");
    let given = request.headers.contains_key("content-length")
        || request.headers.contains_key("transfer-encoding");
    if needs_length && !given {
        return Err(error(
            411,
            "Length Required: send Content-Length (0 without a body)",
        ));
    }
    Ok(())
}

/// Activate, deactivate and delete take no body (dfns-sdk-rust), or `{}` (@dfns/sdk).
pub(super) fn no_body(request: &Request) -> Result<(), Reject> {
    if request.body.is_empty() {
        return Ok(());
    }
    object_body(request, &[]).map(|_| ())
}
