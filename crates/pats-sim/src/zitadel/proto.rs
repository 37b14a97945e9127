//! What the v1 REST and v2 Connect APIs share: error codes and bodies, protojson body
//! decoding, paging and the list envelope.

use super::state::{State, StoredPat, never, now, parse_ts, ts};
use crate::answer::Answer;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// gRPC codes the simulator answers with.
#[derive(Debug, Clone, Copy)]
pub(super) enum Code {
    InvalidArgument,
    NotFound,
    PermissionDenied,
    FailedPrecondition,
    Unauthenticated,
    Unimplemented,
}

impl Code {
    fn number(self) -> u16 {
        match self {
            Self::InvalidArgument => 3,
            Self::NotFound => 5,
            Self::PermissionDenied => 7,
            Self::FailedPrecondition => 9,
            Self::Unimplemented => 12,
            Self::Unauthenticated => 16,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::NotFound => "not_found",
            Self::PermissionDenied => "permission_denied",
            Self::FailedPrecondition => "failed_precondition",
            Self::Unimplemented => "unimplemented",
            Self::Unauthenticated => "unauthenticated",
        }
    }

    fn status(self) -> u16 {
        match self {
            Self::InvalidArgument | Self::FailedPrecondition => 400,
            Self::NotFound => 404,
            Self::PermissionDenied => 403,
            Self::Unimplemented => 501,
            Self::Unauthenticated => 401,
        }
    }
}

/// Which error body format an API speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    V1,
    V2,
}

/// An error answer: code, error id, message key.
pub(super) struct Fail(
    pub(super) Code,
    pub(super) &'static str,
    pub(super) &'static str,
);

pub(super) type Outcome = Result<Value, Fail>;

pub(super) fn error_response(api: Api, fail: &Fail) -> Answer {
    let Fail(code, id, message) = fail;
    let text = format!("{message} ({id})");
    let body = match api {
        Api::V1 => json!({
            "code": code.number(),
            "message": text,
            "details": [{
                "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
                "id": id,
                "message": message,
            }],
        }),
        Api::V2 => json!({
            "code": code.name(),
            "message": text,
            "details": [{
                "type": "zitadel.v1.ErrorDetail",
                "value": "",
                "debug": { "id": id, "message": message },
            }],
        }),
    };
    Answer::new(code.status()).set_body_json(body)
}

pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
    Answer::new(status).set_body_json(json!({ "error": error, "error_description": description }))
}

pub(super) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a protojson 64-bit number (string or number); absent is 0.
pub(super) fn u64_field(v: Option<&Value>) -> Result<u64, Fail> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_u64().ok_or(BAD_NUMBER),
        Some(Value::String(s)) => s.parse().map_err(|_| BAD_NUMBER),
        Some(_) => Err(BAD_NUMBER),
    }
}

pub(super) const BAD_NUMBER: Fail = Fail(
    Code::InvalidArgument,
    "SIM-PARSE-NUM",
    "Errors.Request.InvalidNumber",
);
pub(super) const BAD_BODY: Fail = Fail(
    Code::InvalidArgument,
    "SIM-PARSE-BODY",
    "Errors.Request.InvalidJSON",
);
pub(super) const USER_NOT_FOUND: Fail =
    Fail(Code::NotFound, "COMMAND-SIMu404", "Errors.User.NotFound");
pub(super) const PAT_NOT_FOUND: Fail = Fail(
    Code::NotFound,
    "COMMAND-SIMp404",
    "Errors.User.PAT.NotFound",
);
pub(super) const NOT_MACHINE: Fail = Fail(
    Code::FailedPrecondition,
    "COMMAND-SIMnm01",
    "Errors.User.NotMachine",
);
pub(super) const EXPIRED: Fail = Fail(
    Code::InvalidArgument,
    "COMMAND-SIMexp1",
    "Errors.User.PAT.ExpirationInPast",
);
pub(super) const BAD_EXPIRATION: Fail = Fail(
    Code::InvalidArgument,
    "COMMAND-SIMexp2",
    "Errors.User.PAT.InvalidExpiration",
);
pub(super) const UNKNOWN_FIELD: Fail = Fail(
    Code::InvalidArgument,
    "SIM-PARSE-FIELD",
    "Errors.Request.UnknownField",
);
pub(super) const EXPIRATION_MISSING: Fail = Fail(
    Code::InvalidArgument,
    "SIM-VALID-EXP",
    "invalid AddPersonalAccessTokenRequest.ExpirationDate: value is required",
);
pub(super) const LIMIT_EXCEEDED: Fail = Fail(
    Code::InvalidArgument,
    "QUERY-SIMlim1",
    "Errors.Query.LimitExceeded",
);
pub(super) const USER_ID_MISSING: Fail = Fail(
    Code::InvalidArgument,
    "USER-SIMid01",
    "Errors.User.IDMissing",
);

pub(super) fn body_object(body: &[u8]) -> Result<Map<String, Value>, Fail> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(BAD_BODY),
    }
}

/// proto3 JSON decoding as ZITADEL does it: a field the message does not have is an error.
pub(super) fn known_fields(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), Fail> {
    if object.keys().all(|k| allowed.contains(&k.as_str())) {
        Ok(())
    } else {
        Err(UNKNOWN_FIELD)
    }
}

/// [`known_fields`] for an optional nested message.
pub(super) fn known_nested(value: Option<&Value>, allowed: &[&str]) -> Result<(), Fail> {
    match value {
        Some(Value::Object(m)) => known_fields(m, allowed),
        _ => Ok(()),
    }
}

pub(super) fn expiration_field(v: Option<&Value>) -> Result<OffsetDateTime, Fail> {
    match v {
        None | Some(Value::Null) => Ok(never()),
        Some(Value::String(s)) => {
            let at = parse_ts(s).ok_or(BAD_EXPIRATION)?;
            if at <= now() { Err(EXPIRED) } else { Ok(at) }
        }
        Some(_) => Err(BAD_EXPIRATION),
    }
}

pub(super) fn limit_field(v: Option<&Value>) -> Result<usize, Fail> {
    let limit = u64_field(v)?;
    match limit {
        0 => Ok(100),
        n if n > 1000 => Err(LIMIT_EXCEEDED),
        n => Ok(usize::try_from(n).unwrap_or(1000)),
    }
}

pub(super) fn str_field<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a str, Fail> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(BAD_BODY),
    }
}

pub(super) fn sorted_page(
    mut items: Vec<&StoredPat>,
    offset: u64,
    limit: usize,
    asc: bool,
    key: impl Fn(&StoredPat) -> String,
) -> (usize, Vec<&StoredPat>) {
    items.sort_by(|a, b| key(a).cmp(&key(b)).then(a.sequence.cmp(&b.sequence)));
    if !asc {
        items.reverse();
    }
    let total = items.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let page = items.into_iter().skip(start).take(limit).collect();
    (total, page)
}

pub(super) fn list_envelope(
    state: &State,
    total: usize,
    result: Vec<Value>,
    v2_limit: Option<usize>,
) -> Value {
    let total = u64::try_from(total).unwrap_or(u64::MAX);
    let mut out = Map::new();
    let mut meta = Map::new();
    if total != 0 {
        meta.insert("totalResult".into(), state.int64(total));
    }
    match v2_limit {
        Some(limit) => {
            meta.insert(
                "appliedLimit".into(),
                state.int64(u64::try_from(limit).unwrap_or(u64::MAX)),
            );
            out.insert("pagination".into(), Value::Object(meta));
        }
        None => {
            if state.sequence != 0 {
                meta.insert("processedSequence".into(), state.int64(state.sequence));
            }
            meta.insert("viewTimestamp".into(), json!(ts(now())));
            out.insert("details".into(), Value::Object(meta));
        }
    }
    // protojson omits empty repeated fields.
    if !result.is_empty() {
        out.insert("result".into(), Value::Array(result));
    }
    Value::Object(out)
}
