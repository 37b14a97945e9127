//! ZITADEL's v2 user service and v1 management service over gRPC (and gRPC-Web), for
//! clients that speak gRPC: the official Go, Java and Node SDKs do.
//!
//! # Surface
//!
//! A request whose `content-type` is `application/grpc`, `application/grpc+proto`,
//! `application/grpc-web`, `application/grpc-web+proto` or `application/grpc-web-text`
//! (`…-text+proto`), sent as `POST /<service>/<Method>`, is served for the methods the
//! simulator serves over HTTP, with the same state and behaviour: it is *transcoded*.
//!
//! - `zitadel.user.v2.UserService`: `ListUsers`, `AddPersonalAccessToken`,
//!   `ListPersonalAccessTokens`, `RemovePersonalAccessToken`, handed to the Connect path
//!   (`POST /zitadel.user.v2.UserService/<Method>`, proto3 JSON).
//! - `zitadel.management.v1.ManagementService`: `AddPersonalAccessToken`,
//!   `ListPersonalAccessTokens`, `GetPersonalAccessTokenByIDs`, `RemovePersonalAccessToken`,
//!   handed to the REST path the method's `google.api.http` rule gives (read from
//!   `contracts/zitadel/openapi.json`): path-bound fields (`user_id`, `token_id`) go into the
//!   path (empty: `INVALID_ARGUMENT`, as the `validate` rules say), the rest into the body.
//!
//! The request message is decoded with the descriptors of the vendored protos
//! (`src/generated/zitadel_grpc.binpb`, made by `cargo xtask codegen`), written as proto3
//! JSON and handed to the simulator's HTTP handler with the same headers (gRPC metadata are
//! HTTP/2 headers: `authorization`, `x-zitadel-orgid`), faults and contract checks; its JSON
//! answer is encoded as the response message, and an error (Connect `code` name on v2, REST
//! `code` number on v1) becomes `grpc-status` (the standard code number) and `grpc-message`
//! (percent-encoded).
//!
//! - Success: HTTP 200, `content-type` as sent, one length-prefixed message, trailers
//!   `grpc-status: 0`. gRPC-Web puts the trailers in a last frame of the body (flag `0x80`);
//!   `-text` base64-encodes the body both ways.
//! - Errors: HTTP 200 with `grpc-status` and `grpc-message` in the headers and no body
//!   ("Trailers-Only"); on gRPC-Web as a trailer frame.
//! - Bad input, decided before the handler runs (never a panic):
//!   - a body that is not exactly one whole length-prefixed message (cut short, empty, two
//!     messages): `INVALID_ARGUMENT` (3);
//!   - the compressed flag set with no `grpc-encoding` (or `identity`): `INTERNAL` (13);
//!   - a `grpc-encoding` other than `identity` (no compression is simulated):
//!     `UNIMPLEMENTED` (12) with `grpc-accept-encoding: identity`, as the gRPC spec says;
//!   - a message longer than 4 MiB (gRPC's default receive limit), judged by its length
//!     prefix: `RESOURCE_EXHAUSTED` (8);
//!   - bytes that do not decode as the request message: `INVALID_ARGUMENT` (3);
//!   - a method or service the simulator does not serve: `UNIMPLEMENTED` (12);
//!   - another HTTP method than `POST`: 405.
//! - Answers that are not a Connect message or error (injected faults): an HTTP status is
//!   mapped as gRPC's HTTP-to-status table says (400 → 13, 401 → 16, 403 → 7, 404 → 12,
//!   429, 502, 503 and 504 → 14, others → 2), keeping `Retry-After`; a 200 whose body is not
//!   the response message (invalid JSON, oversized body) is framed as it is, so the client
//!   fails to decode it; delays, truncation and resets are kept.

use crate::answer::Answer;
use crate::server::Request;
use base64::Engine as _;
use prost_reflect::prost::Message as _;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, MethodDescriptor, SerializeOptions,
};
use serde_json::Value;
use std::sync::OnceLock;

/// The descriptor set of both services (generated; see its side file).
const DESCRIPTOR_SET: &[u8] = include_bytes!("generated/zitadel_grpc.binpb");

/// The v2 user service: its gRPC methods are its Connect methods.
const USER_SERVICE: &str = "zitadel.user.v2.UserService";

/// The v1 management service: its gRPC methods are its REST operations (grpc-gateway).
const MANAGEMENT_SERVICE: &str = "zitadel.management.v1.ManagementService";

/// The vendor contract, where the REST route of each management method is read.
const CONTRACT: &str = include_str!("generated/contracts/zitadel.openapi.json");

/// The longest request message (gRPC's default receive limit).
pub(crate) const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// gRPC status codes used here.
const INVALID_ARGUMENT: u32 = 3;
const RESOURCE_EXHAUSTED: u32 = 8;
const UNIMPLEMENTED: u32 = 12;
const INTERNAL: u32 = 13;
const UNAVAILABLE: u32 = 14;

/// Whether `request` speaks gRPC or gRPC-Web (by its content type).
pub(crate) fn is_grpc(request: &Request) -> bool {
    Protocol::of(request).is_some()
}

/// How a request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Grpc,
    Web,
    WebText,
}

impl Protocol {
    fn of(request: &Request) -> Option<Self> {
        let ct = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())?;
        let ct = ct.split(';').next().unwrap_or_default().trim();
        let ct = ct.to_ascii_lowercase();
        match ct.as_str() {
            "application/grpc" | "application/grpc+proto" => Some(Self::Grpc),
            "application/grpc-web" | "application/grpc-web+proto" => Some(Self::Web),
            "application/grpc-web-text" | "application/grpc-web-text+proto" => Some(Self::WebText),
            _ => None,
        }
    }
}

/// A gRPC error: code and message.
#[derive(Debug)]
struct Status(u32, String);

impl Status {
    fn new(code: u32, message: impl Into<String>) -> Self {
        Self(code, message.into())
    }
}

/// The pool with the user service, built once.
fn pool() -> Result<&'static DescriptorPool, Status> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = DescriptorPool::global();
        pool.decode_file_descriptor_set(DESCRIPTOR_SET)
            .map_err(|e| e.to_string())?;
        Ok(pool)
    })
    .as_ref()
    .map_err(|e| Status::new(INTERNAL, format!("descriptors: {e}")))
}

/// The method of `path` (`/<service>/<method>`).
fn method(path: &str) -> Result<MethodDescriptor, Status> {
    let pool = pool()?;
    let (service, name) = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .ok_or_else(|| Status::new(UNIMPLEMENTED, format!("unknown method {path}")))?;
    if service != USER_SERVICE && service != MANAGEMENT_SERVICE {
        return Err(Status::new(
            UNIMPLEMENTED,
            format!("unknown service {service}"),
        ));
    }
    pool.get_service_by_name(service)
        .and_then(|s| s.methods().find(|m| m.name() == name))
        .ok_or_else(|| {
            Status::new(
                UNIMPLEMENTED,
                format!("unknown method {name} for service {service}"),
            )
        })
}

/// Answers a gRPC `request` through `connect`, the simulator's Connect handler.
pub(crate) fn respond(request: &Request, connect: impl FnOnce(&Request) -> Answer) -> Answer {
    let Some(protocol) = Protocol::of(request) else {
        return Answer::new(415);
    };
    if request.method != http::Method::POST {
        return Answer::new(405).insert_header("allow", "POST");
    }
    match transcode(request, protocol, connect) {
        Ok(answer) => answer,
        Err(status) => error_answer(request, protocol, &status, Vec::new()),
    }
}

fn transcode(
    request: &Request,
    protocol: Protocol,
    connect: impl FnOnce(&Request) -> Answer,
) -> Result<Answer, Status> {
    let method = method(request.url.path())?;
    let body = match protocol {
        Protocol::WebText => decode_text(&request.body)?,
        Protocol::Grpc | Protocol::Web => request.body.clone(),
    };
    let encoding = request
        .headers
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"));
    if let Some(encoding) = encoding {
        return Err(Status::new(
            UNIMPLEMENTED,
            format!("grpc-encoding {encoding} is not supported (identity only)"),
        ));
    }
    let message = unary_message(&body)?;
    let input = DynamicMessage::decode(method.input(), message).map_err(|e| {
        Status::new(
            INVALID_ARGUMENT,
            format!("cannot decode {}: {e}", method.input().full_name()),
        )
    })?;
    let options = SerializeOptions::new()
        .skip_default_fields(true)
        .stringify_64_bit_integers(true);
    let json = input
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| Status::new(INTERNAL, format!("cannot transcode the request: {e}")))?;
    let mut inner = request.clone();
    inner.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    inner.headers.remove(http::header::CONTENT_LENGTH);
    if method.parent_service().full_name() == MANAGEMENT_SERVICE {
        rest_request(&mut inner, &method, json)?;
    } else {
        inner.body = serde_json::to_vec(&json).unwrap_or_default();
    }
    let answer = connect(&inner);
    Ok(from_connect(request, protocol, &method, answer))
}

/// Turns `inner` into the REST request of a management `method` (its route in the vendor
/// contract, from the `google.api.http` rule): the path-bound fields go into the path, the
/// others into the body when the route has one.
fn rest_request(inner: &mut Request, method: &MethodDescriptor, json: Value) -> Result<(), Status> {
    let id = format!("ManagementService_{}", method.name());
    let (verb, template, has_body) = rest_route(&id)
        .ok_or_else(|| Status::new(UNIMPLEMENTED, format!("no REST route for {id}")))?;
    let mut body = match json {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let mut path = String::new();
    let mut rest = template.as_str();
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        path.push_str(&rest[..open]);
        let var = rest.get(open + 1..close).unwrap_or_default();
        let json_name = method
            .input()
            .get_field_by_name(var)
            .map_or_else(|| var.to_owned(), |f| f.json_name().to_owned());
        let value = match body.remove(&json_name) {
            Some(Value::String(v)) if !v.is_empty() => v,
            _ => {
                return Err(Status::new(
                    INVALID_ARGUMENT,
                    format!(
                        "invalid {}.{json_name}: value length must be at least 1 runes",
                        method.input().name()
                    ),
                ));
            }
        };
        path.push_str(&path_segment(&value));
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    path.push_str(rest);
    inner.method = verb;
    inner.url.set_path(&path);
    inner.url.set_query(None);
    inner.body = if has_body {
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(())
}

/// The HTTP method, path template and whether there is a body, of the contract's operation
/// `id`.
fn rest_route(id: &str) -> Option<(http::Method, String, bool)> {
    static ROUTES: OnceLock<Vec<(String, http::Method, String, bool)>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let contract: Value = serde_json::from_str(CONTRACT).unwrap_or_default();
        let mut routes = Vec::new();
        for (path, item) in contract["paths"].as_object().into_iter().flatten() {
            for (verb, operation) in item.as_object().into_iter().flatten() {
                let (Some(op_id), Ok(verb)) = (
                    operation["operationId"].as_str(),
                    http::Method::from_bytes(verb.to_ascii_uppercase().as_bytes()),
                ) else {
                    continue;
                };
                let has_body = operation.get("requestBody").is_some();
                routes.push((op_id.to_owned(), verb, path.clone(), has_body));
            }
        }
        routes
    });
    routes
        .iter()
        .find(|(op_id, ..)| op_id == id)
        .map(|(_, verb, path, body)| (verb.clone(), path.clone(), *body))
}

/// `value` as one path segment: anything but unreserved characters percent-encoded.
fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The one message of a unary request body.
fn unary_message(body: &[u8]) -> Result<&[u8], Status> {
    let Some((&flag, rest)) = body.split_first() else {
        return Err(Status::new(
            INVALID_ARGUMENT,
            "protocol error: the request has no message",
        ));
    };
    let Some((prefix, rest)) = rest.split_first_chunk::<4>() else {
        return Err(Status::new(
            INVALID_ARGUMENT,
            "protocol error: incomplete message prefix",
        ));
    };
    let length = u32::from_be_bytes(*prefix);
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    if length > MAX_MESSAGE {
        return Err(Status::new(
            RESOURCE_EXHAUSTED,
            format!("message larger than max ({length} vs. {MAX_MESSAGE})"),
        ));
    }
    if flag & 1 == 1 {
        return Err(Status::new(
            INTERNAL,
            "protocol error: compressed flag set without grpc-encoding",
        ));
    }
    if flag != 0 {
        return Err(Status::new(
            INVALID_ARGUMENT,
            format!("protocol error: invalid message flags {flag:#04x}"),
        ));
    }
    match rest.len().cmp(&length) {
        std::cmp::Ordering::Less => Err(Status::new(
            INVALID_ARGUMENT,
            format!(
                "protocol error: promised {length} bytes in the message, got {}",
                rest.len()
            ),
        )),
        std::cmp::Ordering::Greater => Err(Status::new(
            INVALID_ARGUMENT,
            "protocol error: a unary request has more than one message",
        )),
        std::cmp::Ordering::Equal => Ok(rest),
    }
}

/// The gRPC answer for the Connect handler's `answer`.
fn from_connect(
    request: &Request,
    protocol: Protocol,
    method: &MethodDescriptor,
    answer: Answer,
) -> Answer {
    let delay = answer.delay.clone();
    let delivery = answer.delivery;
    let keep: Vec<(String, String)> = answer
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
        .cloned()
        .collect();
    let mut out = if answer.status == 200 {
        let body = answer.body.map(|(b, _)| b).unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|json| {
                let options = DeserializeOptions::new().deny_unknown_fields(true);
                DynamicMessage::deserialize_with_options(method.output(), json, &options).ok()
            })
            .map_or(body, |m| m.encode_to_vec());
        ok_answer(request, protocol, &message)
    } else {
        let status = connect_status(&answer);
        error_answer(request, protocol, &status, keep.clone())
    };
    for (name, value) in keep {
        out = out.insert_header(&name, &value);
    }
    if let Some(delay) = delay {
        out = out.set_delay(*delay);
    }
    out.set_delivery(delivery)
}

/// The gRPC status of a non-200 answer: its Connect error, else by its HTTP status.
fn connect_status(answer: &Answer) -> Status {
    let json = answer.json();
    // Connect errors (v2) name the code; REST errors (v1, grpc-gateway) give its number.
    let code = json.as_ref().and_then(|j| j.get("code")).and_then(|c| {
        c.as_str().and_then(code_number).or_else(|| {
            c.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=16).contains(n))
        })
    });
    let message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match (code, message) {
        (Some(code), message) => Status(code, message.unwrap_or_default()),
        (None, message) => {
            // gRPC's HTTP to gRPC status mapping (doc/http-grpc-status-mapping.md).
            let code = match answer.status {
                400 => INTERNAL,
                401 => 16,
                403 => 7,
                404 => UNIMPLEMENTED,
                429 | 502..=504 => UNAVAILABLE,
                _ => 2,
            };
            Status(
                code,
                message.unwrap_or_else(|| format!("HTTP status {}", answer.status)),
            )
        }
    }
}

/// The number of a Connect error code (the canonical gRPC codes).
fn code_number(code: &str) -> Option<u32> {
    const CODES: [&str; 16] = [
        "canceled",
        "unknown",
        "invalid_argument",
        "deadline_exceeded",
        "not_found",
        "already_exists",
        "permission_denied",
        "resource_exhausted",
        "failed_precondition",
        "aborted",
        "out_of_range",
        "unimplemented",
        "internal",
        "unavailable",
        "data_loss",
        "unauthenticated",
    ];
    let i = CODES.iter().position(|c| *c == code)?;
    u32::try_from(i + 1).ok()
}

/// The content type to answer with: the request's, when it is one of ours.
fn content_type(request: &Request, protocol: Protocol) -> String {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_owned())
        .filter(|ct| !ct.is_empty())
        .unwrap_or_else(|| {
            match protocol {
                Protocol::Grpc => "application/grpc",
                Protocol::Web => "application/grpc-web",
                Protocol::WebText => "application/grpc-web-text",
            }
            .to_owned()
        })
}

/// `message` with its 5-byte prefix (`flag`, big-endian length).
fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(flag);
    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// The gRPC-Web trailer frame.
fn trailer_frame(trailers: &[(String, String)]) -> Vec<u8> {
    let text: String = trailers
        .iter()
        .map(|(n, v)| format!("{n}:{v}\r\n"))
        .collect();
    frame(0x80, text.as_bytes())
}

fn web_body(protocol: Protocol, body: Vec<u8>) -> Vec<u8> {
    if protocol == Protocol::WebText {
        base64::engine::general_purpose::STANDARD
            .encode(body)
            .into_bytes()
    } else {
        body
    }
}

fn ok_answer(request: &Request, protocol: Protocol, message: &[u8]) -> Answer {
    let ct = content_type(request, protocol);
    let trailers = vec![("grpc-status".to_owned(), "0".to_owned())];
    let mut body = frame(0, message);
    if protocol == Protocol::Grpc {
        let mut answer = Answer::new(200).set_body_raw(body, &ct);
        answer.trailers = trailers;
        answer
    } else {
        body.extend(trailer_frame(&trailers));
        Answer::new(200).set_body_raw(web_body(protocol, body), &ct)
    }
}

fn error_answer(
    request: &Request,
    protocol: Protocol,
    status: &Status,
    extra: Vec<(String, String)>,
) -> Answer {
    let ct = content_type(request, protocol);
    let mut fields = vec![
        ("grpc-status".to_owned(), status.0.to_string()),
        ("grpc-message".to_owned(), percent_encode(&status.1)),
    ];
    if status.0 == UNIMPLEMENTED && request.headers.contains_key("grpc-encoding") {
        fields.push(("grpc-accept-encoding".to_owned(), "identity".to_owned()));
    }
    fields.extend(extra);
    if protocol == Protocol::Grpc {
        // Trailers-Only: everything in the headers, no body.
        let mut answer = Answer::new(200).insert_header("content-type", &ct);
        for (name, value) in &fields {
            answer = answer.insert_header(name, value);
        }
        answer
    } else {
        Answer::new(200).set_body_raw(web_body(protocol, trailer_frame(&fields)), &ct)
    }
}

/// `grpc-message` encoding: bytes outside printable ASCII, and `%`, as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A gRPC-Web-text body: base64, possibly several padded chunks one after the other.
fn decode_text(body: &[u8]) -> Result<Vec<u8>, Status> {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let mut out = Vec::new();
    for chunk in text.chunks(4) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(chunk)
            .map_err(|e| Status::new(INVALID_ARGUMENT, format!("invalid base64 body: {e}")))?;
        out.extend(decoded);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_descriptors_load_and_hold_every_simulated_method() {
        let pool = pool().unwrap();
        let service = pool.get_service_by_name(USER_SERVICE).unwrap();
        let mut names: Vec<_> = service.methods().map(|m| m.name().to_owned()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "AddPersonalAccessToken",
                "ListPersonalAccessTokens",
                "ListUsers",
                "RemovePersonalAccessToken"
            ]
        );
    }

    #[test]
    fn every_management_method_has_its_rest_route_in_the_contract() {
        let pool = pool().unwrap();
        let service = pool.get_service_by_name(MANAGEMENT_SERVICE).unwrap();
        let mut names: Vec<_> = service.methods().map(|m| m.name().to_owned()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "AddPersonalAccessToken",
                "GetPersonalAccessTokenByIDs",
                "ListPersonalAccessTokens",
                "RemovePersonalAccessToken"
            ]
        );
        for method in service.methods() {
            let id = format!("ManagementService_{}", method.name());
            assert!(rest_route(&id).is_some(), "{id}");
        }
        assert_eq!(
            rest_route("ManagementService_RemovePersonalAccessToken").unwrap(),
            (
                http::Method::DELETE,
                "/management/v1/users/{user_id}/pats/{token_id}".to_owned(),
                false
            )
        );
        assert_eq!(path_segment("a b/1"), "a%20b%2F1");
    }

    #[test]
    fn frames_are_refused_with_the_right_code() {
        assert_eq!(unary_message(&[]).unwrap_err().0, INVALID_ARGUMENT);
        assert_eq!(unary_message(&[0, 0, 0]).unwrap_err().0, INVALID_ARGUMENT);
        assert_eq!(
            unary_message(&[0, 0, 0, 0, 3, 1]).unwrap_err().0,
            INVALID_ARGUMENT
        );
        assert_eq!(
            unary_message(&[0, 0, 0, 0, 0, 0]).unwrap_err().0,
            INVALID_ARGUMENT
        );
        assert_eq!(unary_message(&[1, 0, 0, 0, 0]).unwrap_err().0, INTERNAL);
        assert_eq!(
            unary_message(&[0, 0xff, 0xff, 0xff, 0xff]).unwrap_err().0,
            RESOURCE_EXHAUSTED
        );
        assert_eq!(unary_message(&[0, 0, 0, 0, 1, 7]).unwrap(), [7]);
    }

    #[test]
    fn messages_and_codes_are_encoded_as_grpc_says() {
        assert_eq!(percent_encode("a b%é"), "a b%25%C3%A9");
        assert_eq!(code_number("not_found"), Some(5));
        assert_eq!(code_number("unauthenticated"), Some(16));
        assert_eq!(code_number("nope"), None);
        assert_eq!(decode_text(b"AAAA AQ==AAE=").unwrap(), [0, 0, 0, 1, 0, 1]);
    }
}
