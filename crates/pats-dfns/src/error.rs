//! Mapping Dfns answers to pats errors.

use crate::generated::ErrorBody;
use pats_core::{Error, Response, Result};

/// The provider name.
pub(crate) const PROVIDER: &str = "dfns";

/// Returns a 2xx answer other than 202; turns 202 into [`PendingApproval`](pats_core::ErrorKind::PendingApproval) and every
/// other status into the error its status stands for, keeping Dfns's error id and message.
pub(crate) fn check(resp: Response) -> Result<Response> {
    if resp.status() == 202 {
        return Err(pending(&resp));
    }
    if resp.is_success() {
        return Ok(resp);
    }
    Err(api_error(&resp))
}

fn api_error(resp: &Response) -> Error {
    let parsed: Option<ErrorBody> = if resp.is_json() {
        serde_json::from_slice(resp.body()).ok()
    } else {
        None
    };
    let (code, message) = match parsed {
        Some(ErrorBody {
            error: Some(detail),
            message,
            code,
        }) => (detail.id.or(code), detail.message.or(message)),
        Some(ErrorBody {
            error: None,
            message,
            code,
        }) => (code, message),
        None => (None, None),
    };
    let request_id = resp
        .header_str("x-request-id")
        .or_else(|| resp.header_str("x-dfns-request-id"))
        .map(str::to_owned);
    resp.api_error(code, message.as_deref(), request_id)
}

/// A 202 policy-pending answer: the change waits for an approval. The approval id is read
/// from `approvalId`, `approval.id` or `id`, whichever the body has (the body's exact shape
/// is not documented for this surface).
///
/// The body is kept as `details` only after scrubbing: a policy approval can quote the
/// request it holds back (and so a signed user action, a key or a token), and `details` is
/// visible through `Debug`.
fn pending(resp: &Response) -> Error {
    let details = scrubbed_details(resp);
    let approval_id = ["/approvalId", "/approval/id", "/id"]
        .iter()
        .find_map(|p| details.pointer(p).and_then(|v| v.as_str()))
        .map(str::to_owned);
    Error::pending_approval(PROVIDER, approval_id, details)
}

/// The JSON body with every secret removed: values under keys that name secrets, the secrets
/// of this request, and secret-shaped text (JWTs, bearer credentials, PEM private keys), also
/// inside string values that hold JSON of their own. A body that is not JSON is `null`.
fn scrubbed_details(resp: &Response) -> serde_json::Value {
    let Ok(raw) = serde_json::from_slice::<serde_json::Value>(resp.body()) else {
        return serde_json::Value::Null;
    };
    // Keys naming secrets, seen on the compact text of the whole document.
    let text = resp.scrub(&raw.to_string());
    let mut value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    scrub_strings(resp, &mut value);
    value
}

/// Scrubs every string in `value`, keys aside.
fn scrub_strings(resp: &Response, value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = resp.scrub(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| scrub_strings(resp, v)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| scrub_strings(resp, v)),
        _ => {}
    }
}
