//! A stateful ZITADEL simulator: organizations, machine and human users, PATs, the v2 user
//! service (Connect JSON), the v1 management REST API, and the JWT-profile token endpoint.
//!
//! Behaves like the service as far as the pats reference describes it:
//! - every API call needs `Authorization: Bearer <token>`: a machine user's PAT or an
//!   access token issued by `POST /oauth/v2/token`; otherwise 401 `unauthenticated`;
//! - `x-zitadel-orgid` scopes a v1 management call to an organization (default: the
//!   caller's own); users and tokens of other organizations are `not_found` (or missing
//!   from listings). The v2 user service ignores it, as ZITADEL does: users and tokens are
//!   addressed by id, and `ListPersonalAccessTokens` answers for the whole instance unless an
//!   `organizationIdFilter` narrows it (`ListUsers` is still scoped by the header: a recorded
//!   deviation, ZITADEL answers for the instance there too). Every
//!   authenticated caller has instance-wide rights (one made powerless with
//!   [`ZitadelSim::restrict_user`] is `permission_denied`);
//! - only machine users can have PATs (others: `failed_precondition`); an expiration in the
//!   past is `invalid_argument`; on v1 a missing expiration is stored as
//!   `9999-12-31T23:59:59Z`, on v2 it is `invalid_argument` (the request message requires
//!   one);
//! - listings page by offset, default limit 100, at most 1000 (more: `invalid_argument`);
//! - users have usernames ([`ZitadelSim::add_named_machine_user`]; by default the id);
//!   v2 `ListUsers` lists the users of the call's organization matching every query
//!   (`userNameQuery` with each text method, `typeQuery`, `inUserIdsQuery`,
//!   `organizationIdQuery`, `stateQuery`, `and`/`or`/`notQuery`; the name, email and phone
//!   queries answer `unimplemented`), sorted by id or username, paged like the token
//!   listings;
//! - request bodies decode as proto3 JSON of their message: a field the message does not have
//!   is `invalid_argument` (as `contracts/zitadel/openapi.json` describes every message);
//! - answers are protojson: 64-bit numbers as strings (or numbers, see
//!   [`ZitadelSim::set_int64_as_numbers`]), zero values omitted, timestamps with fractions;
//! - errors: REST `{"code": 5, "message", "details": [{"@type", "id", "message"}]}` on v1,
//!   Connect `{"code": "not_found", "message", "details": [{"type", "debug": {"id"}}]}` on
//!   v2, OAuth `{"error", "error_description"}` on the token endpoint;
//! - gRPC and gRPC-Web (`content-type: application/grpc…`) on the same port: the v2 user
//!   service's methods and the v1 management service's PAT methods, transcoded to the paths
//!   above with descriptors of the vendored protos, so they share state, auth, org scoping,
//!   faults and contract checks; errors become `grpc-status`/`grpc-message`; malformed
//!   frames are gRPC errors, never a panic (see `zitadel_grpc.rs`);
//! - a user service procedure the vendored excerpt does not describe is 404 with a Connect
//!   error body `{"code": "unimplemented", …}`, as ZITADEL's HTTP mux answers a procedure it
//!   does not serve;
//! - `GET /.well-known/openid-configuration` serves the OpenID Provider metadata (issuer,
//!   token endpoint, JWKS URI, the grant types including `client_credentials` and
//!   `urn:ietf:params:oauth:grant-type:jwt-bearer`), so clients that discover the token
//!   endpoint can start;
//! - the token endpoint (`POST /oauth/v2/token`, form body) takes the JWT profile (RFC 7523)
//!   and client credentials (RFC 6749 §4.4). It verifies the RS256 assertion against the key
//!   registered for its `kid`, with `iss == sub == userId`, `aud` containing the instance
//!   URL, `exp` in the future and at most one hour after `iat`; client credentials come by
//!   HTTP Basic (`client_id:client_secret`, each form-urlencoded first, RFC 6749 §2.3.1) or
//!   in the form, never both, and must match a secret added with
//!   [`ZitadelSim::add_client_secret`] (else 401 `invalid_client`). Both grants need the
//!   API audience scope.
//!
//! Faults armed with [`ZitadelSim::faults`] are applied before any of this.

use crate::answer::Answer;
use crate::contract::{ContractGuard, Provider};
use crate::fault::Faults;
use crate::jwt;
use crate::server::{HttpServer, Layer, ServerOptions, layered};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The throwaway test RSA private key (PKCS#1 PEM) of `fixtures/zitadel/`.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/zitadel/test_key.pem");

/// The public half of [`TEST_PRIVATE_KEY_PEM`].
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../fixtures/zitadel/test_key.pub.pem");

/// The key id [`ZitadelSim::register_test_key`] registers.
pub const TEST_KEY_ID: &str = "300000000000000001";

/// What a stored token never expiring looks like.
pub const NEVER: &str = "9999-12-31T23:59:59Z";

const USER_SERVICE: &str = "/zitadel.user.v2.UserService/";
/// The user service procedures the simulator serves (those of the vendored excerpt).
const USER_SERVICE_METHODS: [&str; 4] = [
    "AddPersonalAccessToken",
    "ListPersonalAccessTokens",
    "RemovePersonalAccessToken",
    "ListUsers",
];
const API_AUDIENCE_SCOPE: &str = "urn:zitadel:iam:org:project:id:zitadel:aud";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_CREDENTIALS: &str = "client_credentials";
const DISCOVERY: &str = "/.well-known/openid-configuration";

/// A PAT as the simulator stores it (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct StoredPat {
    /// The token id.
    pub id: String,
    /// Its machine user.
    pub user_id: String,
    /// The user's organization.
    pub org_id: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it expires (`9999-12-31T23:59:59Z` for never).
    #[serde(with = "time::serde::rfc3339")]
    pub expiration: OffsetDateTime,
    /// The event sequence of its creation.
    pub sequence: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct User {
    org: String,
    machine: bool,
    /// The username (unique in the organization; defaults to the user id).
    username: String,
    keys: Vec<(String, String)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    /// Where it is served now (not kept: a restart may serve elsewhere).
    #[serde(skip)]
    base_url: String,
    users: BTreeMap<String, User>,
    orgs: Vec<String>,
    pats: Vec<StoredPat>,
    pat_secrets: HashMap<String, String>,
    #[serde(with = "access_tokens")]
    access_tokens: HashMap<String, (String, OffsetDateTime)>,
    next_id: u64,
    sequence: u64,
    access_token_lifetime: u64,
    exchanges: usize,
    int64_as_numbers: bool,
    #[serde(skip)]
    last_assertion: Option<Value>,
    restricted: Vec<String>,
    /// client id → (user id, client secret).
    client_secrets: HashMap<String, (String, String)>,
    /// How the last successful client-credentials login authenticated: `basic` or `post`.
    #[serde(skip)]
    last_client_auth: Option<&'static str>,
}

/// Access tokens in a state file: token → `[user id, expiry (RFC 3339)]`.
mod access_tokens {
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};
    use std::collections::HashMap;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(super) fn serialize<S: Serializer>(
        tokens: &HashMap<String, (String, OffsetDateTime)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(tokens.iter().map(|(token, (user, expiry))| {
            (token, (user, expiry.format(&Rfc3339).unwrap_or_default()))
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<HashMap<String, (String, OffsetDateTime)>, D::Error> {
        HashMap::<String, (String, String)>::deserialize(d)?
            .into_iter()
            .map(|(token, (user, expiry))| {
                OffsetDateTime::parse(&expiry, &Rfc3339)
                    .map(|t| (token, (user, t)))
                    .map_err(|_| D::Error::custom("an access token expiry is not RFC 3339"))
            })
            .collect()
    }
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn int64(&self, n: u64) -> Value {
        if self.int64_as_numbers {
            json!(n)
        } else {
            json!(n.to_string())
        }
    }

    fn add_pat(
        &mut self,
        user_id: &str,
        org_id: &str,
        expiration: OffsetDateTime,
    ) -> (StoredPat, String) {
        let id = self.new_id();
        let secret = format!("sim_pat_{}", fastrand_token(40));
        let pat = StoredPat {
            id: id.clone(),
            user_id: user_id.to_owned(),
            org_id: org_id.to_owned(),
            created: now(),
            expiration,
            sequence: self.next_sequence(),
        };
        self.pats.push(pat.clone());
        self.pat_secrets.insert(id, secret.clone());
        (pat, secret)
    }
}

fn fastrand_token(len: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(len)
        .collect()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn never() -> OffsetDateTime {
    time::macros::datetime!(9999-12-31 23:59:59 UTC)
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn parse_ts(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// gRPC codes the simulator answers with.
#[derive(Debug, Clone, Copy)]
enum Code {
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
enum Api {
    V1,
    V2,
}

/// An error answer: code, error id, message key.
struct Fail(Code, &'static str, &'static str);

type Outcome = Result<Value, Fail>;

fn error_response(api: Api, fail: &Fail) -> Answer {
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

fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
    Answer::new(status).set_body_json(json!({ "error": error, "error_description": description }))
}

fn percent_decode(segment: &str) -> String {
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
fn u64_field(v: Option<&Value>) -> Result<u64, Fail> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_u64().ok_or(BAD_NUMBER),
        Some(Value::String(s)) => s.parse().map_err(|_| BAD_NUMBER),
        Some(_) => Err(BAD_NUMBER),
    }
}

const BAD_NUMBER: Fail = Fail(
    Code::InvalidArgument,
    "SIM-PARSE-NUM",
    "Errors.Request.InvalidNumber",
);
const BAD_BODY: Fail = Fail(
    Code::InvalidArgument,
    "SIM-PARSE-BODY",
    "Errors.Request.InvalidJSON",
);
const USER_NOT_FOUND: Fail = Fail(Code::NotFound, "COMMAND-SIMu404", "Errors.User.NotFound");
const PAT_NOT_FOUND: Fail = Fail(
    Code::NotFound,
    "COMMAND-SIMp404",
    "Errors.User.PAT.NotFound",
);
const NOT_MACHINE: Fail = Fail(
    Code::FailedPrecondition,
    "COMMAND-SIMnm01",
    "Errors.User.NotMachine",
);
const EXPIRED: Fail = Fail(
    Code::InvalidArgument,
    "COMMAND-SIMexp1",
    "Errors.User.PAT.ExpirationInPast",
);
const BAD_EXPIRATION: Fail = Fail(
    Code::InvalidArgument,
    "COMMAND-SIMexp2",
    "Errors.User.PAT.InvalidExpiration",
);
const UNKNOWN_FIELD: Fail = Fail(
    Code::InvalidArgument,
    "SIM-PARSE-FIELD",
    "Errors.Request.UnknownField",
);
const EXPIRATION_MISSING: Fail = Fail(
    Code::InvalidArgument,
    "SIM-VALID-EXP",
    "invalid AddPersonalAccessTokenRequest.ExpirationDate: value is required",
);
const LIMIT_EXCEEDED: Fail = Fail(
    Code::InvalidArgument,
    "QUERY-SIMlim1",
    "Errors.Query.LimitExceeded",
);
const USER_ID_MISSING: Fail = Fail(
    Code::InvalidArgument,
    "USER-SIMid01",
    "Errors.User.IDMissing",
);

fn body_object(body: &[u8]) -> Result<Map<String, Value>, Fail> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(BAD_BODY),
    }
}

/// proto3 JSON decoding as ZITADEL does it: a field the message does not have is an error.
fn known_fields(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), Fail> {
    if object.keys().all(|k| allowed.contains(&k.as_str())) {
        Ok(())
    } else {
        Err(UNKNOWN_FIELD)
    }
}

/// [`known_fields`] for an optional nested message.
fn known_nested(value: Option<&Value>, allowed: &[&str]) -> Result<(), Fail> {
    match value {
        Some(Value::Object(m)) => known_fields(m, allowed),
        _ => Ok(()),
    }
}

fn expiration_field(v: Option<&Value>) -> Result<OffsetDateTime, Fail> {
    match v {
        None | Some(Value::Null) => Ok(never()),
        Some(Value::String(s)) => {
            let at = parse_ts(s).ok_or(BAD_EXPIRATION)?;
            if at <= now() { Err(EXPIRED) } else { Ok(at) }
        }
        Some(_) => Err(BAD_EXPIRATION),
    }
}

fn limit_field(v: Option<&Value>) -> Result<usize, Fail> {
    let limit = u64_field(v)?;
    match limit {
        0 => Ok(100),
        n if n > 1000 => Err(LIMIT_EXCEEDED),
        n => Ok(usize::try_from(n).unwrap_or(1000)),
    }
}

/// The authenticated caller: user id and organization.
struct Caller {
    org: String,
}

struct Responder {
    state: Arc<Mutex<State>>,
    faults: Faults,
}

impl Responder {
    fn respond(&self, request: &crate::server::Request) -> Answer {
        // gRPC and gRPC-Web: transcoded to the Connect path (see `crate::zitadel_grpc`).
        if crate::zitadel_grpc::is_grpc(request) {
            return crate::zitadel_grpc::respond(request, |connect| {
                self.faults
                    .respond_checked(Provider::Zitadel, connect, || self.handle(connect))
            });
        }
        self.faults
            .respond_checked(Provider::Zitadel, request, || self.handle(request))
    }
}

fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Responder {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_state(&self.state)
    }

    fn handle(&self, request: &crate::server::Request) -> Answer {
        let path = request.url.path().to_owned();
        let method = request.method.as_str();
        if path == DISCOVERY {
            return if method == "GET" {
                self.discovery()
            } else {
                Answer::new(405)
            };
        }
        if path == "/oauth/v2/token" {
            return if method == "POST" {
                self.token_endpoint(request)
            } else {
                Answer::new(405)
            };
        }
        let api = if path.starts_with(USER_SERVICE) {
            Api::V2
        } else if path.starts_with("/management/v1/") {
            Api::V1
        } else {
            return Answer::new(404).set_body_json(json!({
                "code": 5, "message": "Not Found", "details": []
            }));
        };
        let mut state = self.lock();
        let caller = match authenticate(&state, request) {
            Ok(c) => c,
            Err(fail) => return error_response(api, &fail),
        };
        let org = request
            .headers
            .get("x-zitadel-orgid")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map_or(caller.org, str::to_owned);
        let outcome = match api {
            Api::V2 => {
                if method != "POST" {
                    return Answer::new(405);
                }
                let json_ct = request
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|ct| ct.starts_with("application/json"));
                if !json_ct {
                    return Answer::new(415);
                }
                let name = &path[USER_SERVICE.len()..];
                if !USER_SERVICE_METHODS.contains(&name) {
                    // As ZITADEL's HTTP mux answers a procedure it does not serve; the body
                    // is a Connect error so Connect clients read `unimplemented`.
                    return Answer::new(404).set_body_json(json!({
                        "code": "unimplemented",
                        "message": format!("{USER_SERVICE}{name} is not a procedure of the vendored user service"),
                    }));
                }
                body_object(&request.body).and_then(|body| match name {
                    "AddPersonalAccessToken" => v2_add(&mut state, &body),
                    "ListPersonalAccessTokens" => v2_list(&state, &body),
                    "RemovePersonalAccessToken" => v2_remove(&mut state, &body),
                    "ListUsers" => v2_list_users(&state, &org, &body),
                    _ => Err(Fail(
                        Code::Unimplemented,
                        "SIM-UNIMPL",
                        "method not simulated",
                    )),
                })
            }
            Api::V1 => {
                let segments: Vec<String> = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(percent_decode)
                    .collect();
                let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
                match (method, segs.as_slice()) {
                    ("POST", ["management", "v1", "users", user, "pats"]) => {
                        body_object(&request.body).and_then(|b| v1_add(&mut state, &org, user, &b))
                    }
                    ("POST", ["management", "v1", "users", user, "pats", "_search"]) => {
                        body_object(&request.body).and_then(|b| v1_search(&state, &org, user, &b))
                    }
                    ("GET", ["management", "v1", "users", user, "pats", token]) => {
                        v1_get(&state, &org, user, token)
                    }
                    ("DELETE", ["management", "v1", "users", user, "pats", token]) => {
                        v1_delete(&mut state, &org, user, token)
                    }
                    _ => {
                        return Answer::new(404).set_body_json(json!({
                            "code": 5, "message": "Not Found", "details": []
                        }));
                    }
                }
            }
        };
        match outcome {
            Ok(body) => Answer::new(200).set_body_json(body),
            Err(fail) => error_response(api, &fail),
        }
    }

    /// The OpenID Provider metadata (OpenID Connect Discovery 1.0 §3).
    fn discovery(&self) -> Answer {
        let base = self.lock().base_url.clone();
        Answer::new(200).set_body_json(json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth/v2/authorize"),
            "token_endpoint": format!("{base}/oauth/v2/token"),
            "introspection_endpoint": format!("{base}/oauth/v2/introspect"),
            "userinfo_endpoint": format!("{base}/oidc/v1/userinfo"),
            "revocation_endpoint": format!("{base}/oauth/v2/revoke"),
            "end_session_endpoint": format!("{base}/oidc/v1/end_session"),
            "jwks_uri": format!("{base}/oauth/v2/keys"),
            "scopes_supported": ["openid", "profile", "email", "phone", "address", "offline_access"],
            "response_types_supported": ["code", "id_token", "id_token token"],
            "grant_types_supported": [
                "authorization_code", "implicit", "refresh_token", CLIENT_CREDENTIALS, JWT_BEARER
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "none", "client_secret_basic", "client_secret_post", "private_key_jwt"
            ],
        }))
    }

    fn token_endpoint(&self, request: &crate::server::Request) -> Answer {
        let is_form = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return oauth_error(400, "invalid_request", "the body must be form-urlencoded");
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let grant = form.get("grant_type").map(String::as_str);
        if grant != Some(JWT_BEARER) && grant != Some(CLIENT_CREDENTIALS) {
            return oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type must be jwt-bearer or client_credentials",
            );
        }
        let scope_ok = form
            .get("scope")
            .is_some_and(|s| s.split(' ').any(|x| x == API_AUDIENCE_SCOPE));
        if !scope_ok {
            return oauth_error(400, "invalid_scope", "the API audience scope is missing");
        }
        let mut state = self.lock();
        let user_id = if grant == Some(CLIENT_CREDENTIALS) {
            match client_login(&state, request, &form) {
                Ok((user_id, how)) => {
                    state.last_client_auth = Some(how);
                    user_id
                }
                Err(answer) => return answer,
            }
        } else {
            let Some(assertion) = form.get("assertion") else {
                return oauth_error(400, "invalid_request", "assertion missing");
            };
            match verify_assertion(&state, assertion) {
                Ok((user_id, claims)) => {
                    state.last_assertion = Some(claims);
                    user_id
                }
                Err(reason) => return oauth_error(400, "invalid_grant", reason),
            }
        };
        let token = format!("sim_at_{}", fastrand_token(48));
        let lifetime = state.access_token_lifetime;
        let lifetime_i64 = i64::try_from(lifetime).unwrap_or(i64::MAX);
        let expires = now() + time::Duration::seconds(lifetime_i64);
        state
            .access_tokens
            .insert(token.clone(), (user_id, expires));
        state.exchanges += 1;
        Answer::new(200).set_body_json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime,
        }))
    }
}

/// The client of a client-credentials login (RFC 6749 §2.3.1): HTTP Basic or the form, not
/// both; the answer is the user id and how the client authenticated (`basic` or `post`).
fn client_login(
    state: &State,
    request: &crate::server::Request,
    form: &HashMap<String, String>,
) -> Result<(String, &'static str), Answer> {
    use base64::Engine as _;
    let invalid_client = || {
        oauth_error(401, "invalid_client", "client authentication failed")
            .insert_header("www-authenticate", "Basic realm=\"zitadel\"")
    };
    let basic = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let in_form = form.contains_key("client_id") || form.contains_key("client_secret");
    let (id, secret, how) = match (basic, in_form) {
        (Some(_), true) => {
            return Err(oauth_error(
                400,
                "invalid_request",
                "more than one client authentication method",
            ));
        }
        (Some(encoded), false) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(invalid_client)?;
            let (id, secret) = decoded.split_once(':').ok_or_else(invalid_client)?;
            // Both halves are form-urlencoded before encoding (RFC 6749 §2.3.1).
            let decode = |s: &str| -> String {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (decode(id), decode(secret), "basic")
        }
        (None, true) => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
            "post",
        ),
        (None, false) => return Err(invalid_client()),
    };
    match state.client_secrets.get(&id) {
        Some((user, expected)) if *expected == secret && !secret.is_empty() => {
            Ok((user.clone(), how))
        }
        _ => Err(invalid_client()),
    }
}

fn verify_assertion(state: &State, assertion: &str) -> Result<(String, Value), &'static str> {
    let header = jwt::decode_header(assertion).map_err(|_| "malformed assertion")?;
    if header.alg != "RS256" {
        return Err("assertion must be signed with RS256");
    }
    let kid = header.kid.ok_or("assertion has no kid")?;
    let (user_id, pem) = state
        .users
        .iter()
        .find_map(|(id, u)| {
            u.keys
                .iter()
                .find(|(k, _)| *k == kid)
                .map(|(_, pem)| (id.clone(), pem.clone()))
        })
        .ok_or("unknown key id")?;
    let claims = jwt::verify_rs256(assertion, &pem).map_err(|e| match e {
        jwt::JwtError::BadKey => "registered key unusable",
        _ => "assertion signature or claims invalid",
    })?;
    // RFC 7523 §3: iss and sub are the machine user, aud names the instance, exp is
    // required and in the future (no leeway).
    let invalid = "assertion signature or claims invalid";
    if claims.get("iss").and_then(Value::as_str) != Some(user_id.as_str())
        || claims.get("sub").and_then(Value::as_str) != Some(user_id.as_str())
    {
        return Err(invalid);
    }
    let audience = state.base_url.as_str();
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid);
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now().unix_timestamp() => {}
        _ => return Err(invalid),
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("assertion has no iat")?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("assertion has no exp")?;
    if exp - iat > 3600 {
        return Err("assertion valid for more than one hour");
    }
    if iat > now().unix_timestamp() + 60 {
        return Err("assertion issued in the future");
    }
    Ok((user_id, claims))
}

fn authenticate(state: &State, request: &crate::server::Request) -> Result<Caller, Fail> {
    const UNAUTHENTICATED: Fail = Fail(
        Code::Unauthenticated,
        "AUTH-SIMtok1",
        "Errors.Token.Invalid",
    );
    let token = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(UNAUTHENTICATED)?;
    let t = now();
    let user_id = if let Some((user, expires)) = state.access_tokens.get(token) {
        (*expires > t).then(|| user.clone())
    } else {
        state
            .pat_secrets
            .iter()
            .find(|(_, secret)| secret.as_str() == token)
            .and_then(|(id, _)| state.pats.iter().find(|p| &p.id == id))
            .filter(|p| p.expiration > t)
            .map(|p| p.user_id.clone())
    }
    .ok_or(UNAUTHENTICATED)?;
    let user = state.users.get(&user_id).ok_or(UNAUTHENTICATED)?;
    if state.restricted.contains(&user_id) {
        return Err(Fail(
            Code::PermissionDenied,
            "AUTHZ-SIMperm",
            "Errors.Auth.NoPermission",
        ));
    }
    Ok(Caller {
        org: user.org.clone(),
    })
}

/// The machine user `user_id` in `org`, or the error the service gives.
fn machine_user(state: &State, org: &str, user_id: &str) -> Result<(), Fail> {
    if user_id.is_empty() {
        return Err(USER_ID_MISSING);
    }
    let user = state.users.get(user_id).ok_or(USER_NOT_FOUND)?;
    if user.org != org {
        return Err(USER_NOT_FOUND);
    }
    if !user.machine {
        return Err(NOT_MACHINE);
    }
    Ok(())
}

fn str_field<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a str, Fail> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(BAD_BODY),
    }
}

fn object_details(state: &State, pat: &StoredPat, sequence: u64) -> Value {
    let mut d = Map::new();
    if sequence != 0 {
        d.insert("sequence".into(), state.int64(sequence));
    }
    d.insert("creationDate".into(), json!(ts(pat.created)));
    d.insert("changeDate".into(), json!(ts(pat.created)));
    d.insert("resourceOwner".into(), json!(pat.org_id));
    Value::Object(d)
}

fn v1_pat(state: &State, pat: &StoredPat) -> Value {
    json!({
        "id": pat.id,
        "details": object_details(state, pat, pat.sequence),
        "expirationDate": ts(pat.expiration),
    })
}

fn v2_pat(pat: &StoredPat) -> Value {
    json!({
        "creationDate": ts(pat.created),
        "changeDate": ts(pat.created),
        "id": pat.id,
        "userId": pat.user_id,
        "organizationId": pat.org_id,
        "expirationDate": ts(pat.expiration),
    })
}

fn v1_add(state: &mut State, org: &str, user: &str, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["expirationDate"])?;
    machine_user(state, org, user)?;
    let expiration = expiration_field(body.get("expirationDate"))?;
    let (pat, secret) = state.add_pat(user, org, expiration);
    let details = object_details(state, &pat, pat.sequence);
    Ok(json!({ "tokenId": pat.id, "token": secret, "details": details }))
}

fn sorted_page(
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

fn list_envelope(
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

fn v1_search(state: &State, org: &str, user: &str, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["query"])?;
    known_nested(body.get("query"), &["offset", "limit", "asc"])?;
    let empty = Map::new();
    let query = match body.get("query") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(q)) => q,
        Some(_) => return Err(BAD_BODY),
    };
    let offset = u64_field(query.get("offset"))?;
    let limit = limit_field(query.get("limit"))?;
    let asc = matches!(query.get("asc"), Some(Value::Bool(true)));
    let items: Vec<&StoredPat> = state
        .pats
        .iter()
        .filter(|p| p.user_id == user && p.org_id == org)
        .collect();
    let (total, page) = sorted_page(items, offset, limit, asc, |_| String::new());
    let result = page.into_iter().map(|p| v1_pat(state, p)).collect();
    Ok(list_envelope(state, total, result, None))
}

fn find_pat<'a>(
    state: &'a State,
    org: &str,
    user: &str,
    token: &str,
) -> Result<&'a StoredPat, Fail> {
    state
        .pats
        .iter()
        .find(|p| p.id == token && p.user_id == user && p.org_id == org)
        .ok_or(PAT_NOT_FOUND)
}

fn v1_get(state: &State, org: &str, user: &str, token: &str) -> Outcome {
    let pat = find_pat(state, org, user, token)?;
    Ok(json!({ "token": v1_pat(state, pat) }))
}

fn remove_pat(state: &mut State, org: &str, user: &str, token: &str) -> Result<StoredPat, Fail> {
    let pat = find_pat(state, org, user, token)?.clone();
    state.pats.retain(|p| p.id != pat.id);
    state.pat_secrets.remove(&pat.id);
    Ok(pat)
}

fn v1_delete(state: &mut State, org: &str, user: &str, token: &str) -> Outcome {
    let pat = remove_pat(state, org, user, token)?;
    let sequence = state.next_sequence();
    let mut details = object_details(state, &pat, sequence);
    if let Some(d) = details.as_object_mut() {
        d.remove("creationDate");
        d.insert("changeDate".into(), json!(ts(now())));
    }
    Ok(json!({ "details": details }))
}

/// The organization of user `user_id`: where the v2 user service acts. Its resources are
/// addressed by id, so `x-zitadel-orgid` does not scope them (ZITADEL's command looks the
/// user up with no resource owner); the caller's permissions do, and every caller the
/// simulator authenticates has instance-wide rights (see [`ZitadelSim::restrict_user`]).
fn org_of_user(state: &State, user_id: &str) -> Result<String, Fail> {
    if user_id.is_empty() {
        return Err(USER_ID_MISSING);
    }
    state
        .users
        .get(user_id)
        .map(|u| u.org.clone())
        .ok_or(USER_NOT_FOUND)
}

fn v2_add(state: &mut State, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["userId", "expirationDate"])?;
    let user = str_field(body, "userId")?.to_owned();
    // `validate.rules` of AddPersonalAccessTokenRequest: `timestamp.required` (unlike v1,
    // where a missing expiration means never).
    if matches!(body.get("expirationDate"), None | Some(Value::Null)) {
        return Err(EXPIRATION_MISSING);
    }
    let org = org_of_user(state, &user)?;
    machine_user(state, &org, &user)?;
    let expiration = expiration_field(body.get("expirationDate"))?;
    let (pat, secret) = state.add_pat(&user, &org, expiration);
    Ok(json!({ "creationDate": ts(pat.created), "tokenId": pat.id, "token": secret }))
}

fn v2_remove(state: &mut State, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["userId", "tokenId"])?;
    let user = str_field(body, "userId")?.to_owned();
    let token = str_field(body, "tokenId")?.to_owned();
    if user.is_empty() {
        return Err(USER_ID_MISSING);
    }
    if token.is_empty() {
        return Err(Fail(
            Code::InvalidArgument,
            "USER-SIMid02",
            "Errors.User.PAT.IDMissing",
        ));
    }
    // "The personal access token was either successfully removed or it was not found in
    // the first place" (user_service.proto): a token that is not there is OK too.
    let Some(org) = state.users.get(&user).map(|u| u.org.clone()) else {
        return Ok(json!({}));
    };
    match remove_pat(state, &org, &user, &token) {
        Ok(_) => Ok(json!({ "deletionDate": ts(now()) })),
        Err(fail) if fail.1 == PAT_NOT_FOUND.1 => Ok(json!({})),
        Err(fail) => Err(fail),
    }
}

fn compare(method: &str, value: OffsetDateTime, at: OffsetDateTime) -> Result<bool, Fail> {
    Ok(match method {
        "" | "TIMESTAMP_FILTER_METHOD_EQUALS" => value == at,
        "TIMESTAMP_FILTER_METHOD_AFTER" => value > at,
        "TIMESTAMP_FILTER_METHOD_AFTER_OR_EQUALS" => value >= at,
        "TIMESTAMP_FILTER_METHOD_BEFORE" => value < at,
        "TIMESTAMP_FILTER_METHOD_BEFORE_OR_EQUALS" => value <= at,
        _ => return Err(BAD_BODY),
    })
}

type Predicate = Box<dyn Fn(&StoredPat) -> bool>;

fn v2_filter(filter: &Value) -> Result<Predicate, Fail> {
    let obj = filter.as_object().ok_or(BAD_BODY)?;
    if obj.len() != 1 {
        return Err(BAD_BODY);
    }
    let (key, value) = obj.iter().next().ok_or(BAD_BODY)?;
    let id = || -> Result<String, Fail> {
        known_nested(Some(value), &["id"])?;
        value
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(BAD_BODY)
    };
    let timestamp = || -> Result<(String, OffsetDateTime), Fail> {
        known_nested(Some(value), &["timestamp", "method"])?;
        let at = value
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_ts)
            .ok_or(BAD_BODY)?;
        let method = value
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        compare(&method, at, at)?;
        Ok((method, at))
    };
    Ok(match key.as_str() {
        "tokenIdFilter" => {
            let id = id()?;
            Box::new(move |p| p.id == id)
        }
        "userIdFilter" => {
            let id = id()?;
            Box::new(move |p| p.user_id == id)
        }
        "organizationIdFilter" => {
            let id = id()?;
            Box::new(move |p| p.org_id == id)
        }
        "createdDateFilter" => {
            let (m, at) = timestamp()?;
            Box::new(move |p| compare(&m, p.created, at).unwrap_or(false))
        }
        "expirationDateFilter" => {
            let (m, at) = timestamp()?;
            Box::new(move |p| compare(&m, p.expiration, at).unwrap_or(false))
        }
        _ => return Err(BAD_BODY),
    })
}

/// `ListPersonalAccessTokens`: "by default all personal access tokens of the instance on
/// which the caller has permission to read the owning users" (user_service.proto), so not
/// scoped by `x-zitadel-orgid`; an `organizationIdFilter` narrows it to one organization.
fn v2_list(state: &State, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["pagination", "sortingColumn", "filters"])?;
    known_nested(body.get("pagination"), &["offset", "limit", "asc"])?;
    let empty = Map::new();
    let pagination = match body.get("pagination") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(BAD_BODY),
    };
    let offset = u64_field(pagination.get("offset"))?;
    let limit = limit_field(pagination.get("limit"))?;
    let asc = matches!(pagination.get("asc"), Some(Value::Bool(true)));
    let filters = match body.get("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(f)) => f.iter().map(v2_filter).collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(BAD_BODY),
    };
    let column = match body.get("sortingColumn") {
        None | Some(Value::Null) => "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(BAD_BODY),
    };
    let key: fn(&StoredPat) -> String = match column {
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED"
        | "PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE" => |p| ts(p.created),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ID" => |p| format!("{:0>20}", p.id),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_USER_ID" => |p| p.user_id.clone(),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ORGANIZATION_ID" => |p| p.org_id.clone(),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_EXPIRATION_DATE" => |p| ts(p.expiration),
        _ => return Err(BAD_BODY),
    };
    let items: Vec<&StoredPat> = state
        .pats
        .iter()
        .filter(|p| filters.iter().all(|f| f(p)))
        .collect();
    let (total, page) = sorted_page(items, offset, limit, asc, key);
    let result = page.into_iter().map(v2_pat).collect();
    Ok(list_envelope(state, total, result, Some(limit)))
}

/// A user matcher of a `ListUsers` query.
type UserPredicate = Box<dyn Fn(&str, &User) -> bool>;

const QUERY_NOT_SIMULATED: Fail = Fail(
    Code::Unimplemented,
    "SIM-UNIMPL",
    "this user query is not simulated",
);

/// One `SearchQuery` (exactly one member set, as its `validate.required` oneof demands).
fn v2_user_query(query: &Value) -> Result<UserPredicate, Fail> {
    let obj = query.as_object().ok_or(BAD_BODY)?;
    if obj.len() != 1 {
        return Err(BAD_BODY);
    }
    let (key, value) = obj.iter().next().ok_or(BAD_BODY)?;
    let sub_queries = |field: &str| -> Result<Vec<UserPredicate>, Fail> {
        known_nested(Some(value), &[field])?;
        match value.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(v2_user_query).collect(),
            Some(_) => Err(BAD_BODY),
        }
    };
    Ok(match key.as_str() {
        "userNameQuery" => {
            known_nested(Some(value), &["userName", "method"])?;
            let name = value
                .get("userName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && n.chars().count() <= 200)
                .ok_or(BAD_BODY)?
                .to_owned();
            let method = match value.get("method") {
                None | Some(Value::Null) => "TEXT_QUERY_METHOD_EQUALS",
                Some(Value::String(m)) => m.as_str(),
                Some(_) => return Err(BAD_BODY),
            };
            let ignore_case = method.ends_with("_IGNORE_CASE");
            let kind = method.trim_end_matches("_IGNORE_CASE").to_owned();
            if ![
                "TEXT_QUERY_METHOD_EQUALS",
                "TEXT_QUERY_METHOD_STARTS_WITH",
                "TEXT_QUERY_METHOD_CONTAINS",
                "TEXT_QUERY_METHOD_ENDS_WITH",
            ]
            .contains(&kind.as_str())
            {
                return Err(BAD_BODY);
            }
            Box::new(move |_, u| {
                let (have, want) = if ignore_case {
                    (u.username.to_lowercase(), name.to_lowercase())
                } else {
                    (u.username.clone(), name.clone())
                };
                match kind.as_str() {
                    "TEXT_QUERY_METHOD_STARTS_WITH" => have.starts_with(&want),
                    "TEXT_QUERY_METHOD_CONTAINS" => have.contains(&want),
                    "TEXT_QUERY_METHOD_ENDS_WITH" => have.ends_with(&want),
                    _ => have == want,
                }
            })
        }
        "typeQuery" => {
            known_nested(Some(value), &["type"])?;
            let machine = match value.get("type").and_then(Value::as_str) {
                Some("TYPE_MACHINE") => true,
                Some("TYPE_HUMAN") => false,
                _ => return Err(BAD_BODY),
            };
            Box::new(move |_, u| u.machine == machine)
        }
        "inUserIdsQuery" => {
            known_nested(Some(value), &["userIds"])?;
            let ids: Vec<String> = match value.get("userIds") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or(BAD_BODY))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(BAD_BODY),
            };
            Box::new(move |id, _| ids.iter().any(|i| i == id))
        }
        "organizationIdQuery" => {
            known_nested(Some(value), &["organizationId"])?;
            let org = value
                .get("organizationId")
                .and_then(Value::as_str)
                .filter(|o| !o.is_empty())
                .ok_or(BAD_BODY)?
                .to_owned();
            Box::new(move |_, u| u.org == org)
        }
        "stateQuery" => {
            known_nested(Some(value), &["state"])?;
            let active = match value.get("state").and_then(Value::as_str) {
                Some("USER_STATE_ACTIVE") => true,
                Some(s) if s.starts_with("USER_STATE_") => false,
                _ => return Err(BAD_BODY),
            };
            // Every simulated user is active.
            Box::new(move |_, _| active)
        }
        "andQuery" => {
            let all = sub_queries("queries")?;
            Box::new(move |id, u| all.iter().all(|q| q(id, u)))
        }
        "orQuery" => {
            let any = sub_queries("queries")?;
            Box::new(move |id, u| any.iter().any(|q| q(id, u)))
        }
        "notQuery" => {
            known_nested(Some(value), &["query"])?;
            let inner = v2_user_query(value.get("query").ok_or(BAD_BODY)?)?;
            Box::new(move |id, u| !inner(id, u))
        }
        "firstNameQuery" | "lastNameQuery" | "nickNameQuery" | "displayNameQuery"
        | "emailQuery" | "loginNameQuery" | "inUserEmailsQuery" | "phoneQuery" => {
            return Err(QUERY_NOT_SIMULATED);
        }
        _ => return Err(UNKNOWN_FIELD),
    })
}

/// A user as `zitadel.user.v2.User` (protojson: zero values left out).
fn v2_user(id: &str, user: &User) -> Value {
    let mut details = Map::new();
    details.insert("resourceOwner".into(), json!(user.org));
    let login_name = format!("{}@{}.sim.zitadel.invalid", user.username, user.org);
    let mut out = json!({
        "userId": id,
        "details": details,
        "state": "USER_STATE_ACTIVE",
        "username": user.username,
        "loginNames": [login_name],
        "preferredLoginName": login_name,
    });
    if let Some(o) = out.as_object_mut() {
        if user.machine {
            o.insert("machine".into(), json!({"name": user.username}));
        } else {
            o.insert(
                "human".into(),
                json!({"userId": id, "state": "USER_STATE_ACTIVE", "username": user.username}),
            );
        }
    }
    out
}

/// `ListUsers`: the users of the call's organization matching every query. ZITADEL answers
/// for the whole instance ("by default, we will return all users of your instance that you
/// have permission to read", user_service.proto); the simulator keeps the narrower answer
/// (a recorded deviation, `contracts/deviations.json`), which pats does not rely on: a
/// client with an organization sends an `organizationIdQuery`.
fn v2_list_users(state: &State, org: &str, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["query", "sortingColumn", "queries"])?;
    known_nested(body.get("query"), &["offset", "limit", "asc"])?;
    let empty = Map::new();
    let list = match body.get("query") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(q)) => q,
        Some(_) => return Err(BAD_BODY),
    };
    let offset = u64_field(list.get("offset"))?;
    let limit = limit_field(list.get("limit"))?;
    let asc = matches!(list.get("asc"), Some(Value::Bool(true)));
    let queries = match body.get("queries") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(q)) => q.iter().map(v2_user_query).collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(BAD_BODY),
    };
    let by_name = match body.get("sortingColumn") {
        None | Some(Value::Null) => false,
        Some(Value::String(c)) if c == "USER_FIELD_NAME_USER_NAME" => true,
        Some(Value::String(c)) if c.starts_with("USER_FIELD_NAME_") => false,
        Some(_) => return Err(BAD_BODY),
    };
    let mut users: Vec<(&String, &User)> = state
        .users
        .iter()
        .filter(|(_, u)| u.org == org)
        .filter(|(id, u)| queries.iter().all(|q| q(id, u)))
        .collect();
    if by_name {
        users.sort_by(|a, b| a.1.username.cmp(&b.1.username).then(a.0.cmp(b.0)));
    } else {
        users.sort_by(|a, b| format!("{:0>20}", a.0).cmp(&format!("{:0>20}", b.0)));
    }
    if !asc {
        users.reverse();
    }
    let total = users.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let result: Vec<Value> = users
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|(id, u)| v2_user(id, u))
        .collect();
    let mut details = Map::new();
    let total = u64::try_from(total).unwrap_or(u64::MAX);
    if total != 0 {
        details.insert("totalResult".into(), state.int64(total));
    }
    if state.sequence != 0 {
        details.insert("processedSequence".into(), state.int64(state.sequence));
    }
    details.insert("timestamp".into(), json!(ts(now())));
    let mut out = Map::new();
    out.insert("details".into(), Value::Object(details));
    if let Some(column) = body.get("sortingColumn").filter(|c| !c.is_null()) {
        out.insert("sortingColumn".into(), column.clone());
    }
    if !result.is_empty() {
        out.insert("result".into(), Value::Array(result));
    }
    Ok(Value::Object(out))
}

/// A running ZITADEL simulator on `127.0.0.1`.
#[derive(Clone)]
pub struct ZitadelSim {
    server: Arc<HttpServer>,
    state: Arc<Mutex<State>>,
    faults: Faults,
    /// Fails the test whose exchanges were off the vendor contract, when the last clone drops.
    _contract: Arc<ContractGuard>,
    admin_pat: String,
}

impl std::fmt::Debug for ZitadelSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZitadelSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl ZitadelSim {
    /// The organization created at start.
    pub const DEFAULT_ORG: &'static str = "100000000000000001";

    /// The machine user created at start in [`DEFAULT_ORG`](Self::DEFAULT_ORG); its PAT is
    /// [`admin_pat`](Self::admin_pat).
    pub const ADMIN_USER: &'static str = "100000000000000002";

    /// Starts a simulator with one organization and an admin machine user.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        match Self::serve(ServerOptions::default(), None) {
            Ok(sim) => sim,
            Err(e) => panic!("cannot start the ZITADEL simulator on 127.0.0.1: {e}"),
        }
    }

    // Used by the emulator, which needs all three providers.
    #[cfg_attr(
        not(all(feature = "dfns", feature = "zitadel", feature = "sailpoint")),
        allow(dead_code)
    )]
    /// Its server (request log).
    pub(crate) fn server(&self) -> &HttpServer {
        &self.server
    }

    /// The id of the user of `username` in `org_id`.
    pub fn user_id_of(&self, org_id: &str, username: &str) -> Option<String> {
        self.lock()
            .users
            .iter()
            .find(|(_, u)| u.org == org_id && u.username == username)
            .map(|(id, _)| id.clone())
    }

    // Used by the emulator, which needs all three providers.
    #[cfg_attr(
        not(all(feature = "dfns", feature = "zitadel", feature = "sailpoint")),
        allow(dead_code)
    )]
    /// The state, for a state file.
    pub(crate) fn snapshot(&self) -> serde_json::Result<Value> {
        serde_json::to_value(&*self.lock())
    }

    // Used by the emulator, which needs all three providers.
    #[cfg_attr(
        not(all(feature = "dfns", feature = "zitadel", feature = "sailpoint")),
        allow(dead_code)
    )]
    /// Replaces the state with one from a state file.
    pub(crate) fn restore(&self, state: Value) -> serde_json::Result<()> {
        let restored: State = serde_json::from_value(state)?;
        let mut state = self.lock();
        let base_url = std::mem::take(&mut state.base_url);
        *state = restored;
        state.base_url = base_url;
        Ok(())
    }

    /// Starts a simulator with these server options, its handler wrapped in `layer`.
    pub(crate) fn serve(options: ServerOptions, layer: Option<Layer>) -> std::io::Result<Self> {
        let mut state = State {
            base_url: String::new(),
            users: BTreeMap::new(),
            orgs: vec![Self::DEFAULT_ORG.to_owned()],
            pats: Vec::new(),
            pat_secrets: HashMap::new(),
            access_tokens: HashMap::new(),
            next_id: 200_000_000_000_000_000,
            sequence: 0,
            access_token_lifetime: 3600,
            exchanges: 0,
            int64_as_numbers: false,
            last_assertion: None,
            restricted: Vec::new(),
            client_secrets: HashMap::new(),
            last_client_auth: None,
        };
        state.users.insert(
            Self::ADMIN_USER.to_owned(),
            User {
                org: Self::DEFAULT_ORG.to_owned(),
                machine: true,
                username: "zitadel-admin-sa".to_owned(),
                keys: Vec::new(),
            },
        );
        let (_, admin_pat) = state.add_pat(Self::ADMIN_USER, Self::DEFAULT_ORG, never());
        let state = Arc::new(Mutex::new(state));
        let faults = Faults::default();
        let contract = ContractGuard::new(Provider::Zitadel, &faults);
        let responder = Responder {
            state: state.clone(),
            faults: faults.clone(),
        };
        // A server of its own: a request still in flight when a test ends (a stalled
        // answer, say) must never reach the next test's simulator.
        let server = HttpServer::start(options, layered(layer, move |r| responder.respond(r)))?;
        lock_state(&state).base_url = server.uri();
        Ok(Self {
            server: Arc::new(server),
            state,
            faults,
            _contract: contract,
            admin_pat,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The instance base URL (`http://127.0.0.1:<port>`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The admin machine user's PAT (valid in every organization through the org header).
    pub fn admin_pat(&self) -> String {
        self.admin_pat.clone()
    }

    /// The armed faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Adds an organization.
    pub fn add_org(&self, org_id: &str) {
        let mut state = self.lock();
        if !state.orgs.iter().any(|o| o == org_id) {
            state.orgs.push(org_id.to_owned());
        }
    }

    fn add_user(&self, org_id: &str, user_id: &str, machine: bool, username: &str) {
        self.add_org(org_id);
        self.lock().users.insert(
            user_id.to_owned(),
            User {
                org: org_id.to_owned(),
                machine,
                username: username.to_owned(),
                keys: Vec::new(),
            },
        );
    }

    /// Creates a user named `username` in organization `org_id` (which must exist; see
    /// [`add_org`](Self::add_org)), a machine user or a human one, with a new id, which it
    /// returns. Refused (with the reason) when the organization is unknown or the username
    /// is empty, longer than 200 characters or taken in that organization.
    pub fn create_user(
        &self,
        org_id: &str,
        username: &str,
        machine: bool,
    ) -> Result<String, String> {
        let len = username.chars().count();
        if len == 0 || len > 200 {
            return Err("a username has 1 to 200 characters".to_owned());
        }
        let mut state = self.lock();
        if !state.orgs.iter().any(|o| o == org_id) {
            return Err(format!("no organization {org_id}"));
        }
        if state
            .users
            .values()
            .any(|u| u.org == org_id && u.username == username)
        {
            return Err(format!(
                "username {username} is taken in organization {org_id}"
            ));
        }
        let id = state.new_id();
        state.users.insert(
            id.clone(),
            User {
                org: org_id.to_owned(),
                machine,
                username: username.to_owned(),
                keys: Vec::new(),
            },
        );
        Ok(id)
    }

    /// Whether organization `org_id` exists.
    pub fn has_org(&self, org_id: &str) -> bool {
        self.lock().orgs.iter().any(|o| o == org_id)
    }

    /// Creates an organization with a new id, which it returns.
    pub fn create_org(&self) -> String {
        let mut state = self.lock();
        let id = state.new_id();
        state.orgs.push(id.clone());
        id
    }

    /// Adds a machine user (which can have PATs) to an organization; its username is its id.
    pub fn add_machine_user(&self, org_id: &str, user_id: &str) {
        self.add_user(org_id, user_id, true, user_id);
    }

    /// Adds a machine user with a username (what pats calls the name of its tokens).
    pub fn add_named_machine_user(&self, org_id: &str, user_id: &str, username: &str) {
        self.add_user(org_id, user_id, true, username);
    }

    /// Adds one machine user per username to an organization (ids chosen by the simulator,
    /// returned in order): the setup a portable program needs before it creates tokens by
    /// name, since a ZITADEL token's name is its machine user's username.
    pub fn add_named_machine_users(&self, org_id: &str, usernames: &[&str]) -> Vec<String> {
        usernames
            .iter()
            .map(|username| {
                let id = self.lock().new_id();
                self.add_user(org_id, &id, true, username);
                id
            })
            .collect()
    }

    /// Whether the organization has a user with this username.
    pub fn has_username(&self, org_id: &str, username: &str) -> bool {
        self.lock()
            .users
            .values()
            .any(|u| u.org == org_id && u.username == username)
    }

    /// Adds a human user (PATs for it are `failed_precondition`); its username is its id.
    pub fn add_human_user(&self, org_id: &str, user_id: &str) {
        self.add_user(org_id, user_id, false, user_id);
    }

    /// Removes a user (its tokens stay stored, as orphans a listing still shows).
    pub fn remove_user(&self, user_id: &str) {
        self.lock().users.remove(user_id);
    }

    /// Registers an RSA public key (PEM) with id `key_id` for machine user `user_id`.
    /// Returns false when the user is unknown or the key is not an RSA public key.
    pub fn register_key(&self, user_id: &str, key_id: &str, public_pem: &str) -> bool {
        if !jwt::is_rsa_public_key(public_pem) {
            return false;
        }
        let mut state = self.lock();
        match state.users.get_mut(user_id) {
            Some(user) if user.machine => {
                user.keys.push((key_id.to_owned(), public_pem.to_owned()));
                true
            }
            _ => false,
        }
    }

    /// Registers an RSA public key (PEM) for machine user `user_id` under a new key id,
    /// which it returns (`None`: no such machine user, or not an RSA public key).
    pub fn add_key(&self, user_id: &str, public_pem: &str) -> Option<String> {
        if !jwt::is_rsa_public_key(public_pem) {
            return None;
        }
        let mut state = self.lock();
        if !state.users.get(user_id).is_some_and(|u| u.machine) {
            return None;
        }
        let key_id = state.new_id();
        let user = state.users.get_mut(user_id)?;
        user.keys.push((key_id.clone(), public_pem.to_owned()));
        Some(key_id)
    }

    /// Registers the fixture test key ([`TEST_KEY_ID`]) for `user_id` and returns the key
    /// file JSON a client would use (`None` if the user is not a machine user).
    pub fn register_test_key(&self, user_id: &str) -> Option<String> {
        if !self.register_key(user_id, TEST_KEY_ID, TEST_PUBLIC_KEY_PEM) {
            return None;
        }
        Some(test_key_file(user_id))
    }

    /// Creates a never-expiring PAT for `user_id` directly; returns `(token id, token)`.
    pub fn issue_pat(&self, user_id: &str) -> Option<(String, String)> {
        let mut state = self.lock();
        let org = state.users.get(user_id).filter(|u| u.machine)?.org.clone();
        let (pat, secret) = state.add_pat(user_id, &org, never());
        Some((pat.id, secret))
    }

    /// Stores `n` PATs for machine user `user_id` directly (no requests); returns their ids.
    pub fn seed_pats(&self, user_id: &str, n: usize) -> Vec<String> {
        let mut state = self.lock();
        let Some(org) = state.users.get(user_id).map(|u| u.org.clone()) else {
            return Vec::new();
        };
        (0..n)
            .map(|_| state.add_pat(user_id, &org, never()).0.id)
            .collect()
    }

    /// Every stored PAT, in creation order (the admin's included).
    pub fn pats(&self) -> Vec<StoredPat> {
        self.lock().pats.clone()
    }

    /// The stored PATs of `user_id`.
    pub fn pats_of(&self, user_id: &str) -> Vec<StoredPat> {
        self.lock()
            .pats
            .iter()
            .filter(|p| p.user_id == user_id)
            .cloned()
            .collect()
    }

    /// How many JWT-profile exchanges succeeded.
    pub fn token_exchanges(&self) -> usize {
        self.lock().exchanges
    }

    /// The claims of the last assertion the token endpoint accepted.
    pub fn last_assertion_claims(&self) -> Option<Value> {
        self.lock().last_assertion.clone()
    }

    /// Sets `expires_in` of issued access tokens, in seconds (default 3600).
    pub fn set_access_token_lifetime(&self, seconds: u64) {
        self.lock().access_token_lifetime = seconds;
    }

    /// Forgets every issued access token (the next call with one is 401).
    pub fn revoke_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// Takes every permission from `user_id`: its calls are `permission_denied`.
    pub fn restrict_user(&self, user_id: &str) {
        self.lock().restricted.push(user_id.to_owned());
    }

    /// Sends 64-bit numbers as JSON numbers instead of protojson strings.
    pub fn set_int64_as_numbers(&self, numbers: bool) {
        self.lock().int64_as_numbers = numbers;
    }

    /// Every request received so far.
    pub async fn requests(&self) -> Vec<crate::server::Request> {
        self.server.requests()
    }

    /// Gives machine user `user_id` a client secret for the client-credentials login, as
    /// ZITADEL's `AddSecret` does; returns `(client_id, client_secret)` (`None`: no such
    /// machine user). The client id is the user's login name, here `machine-<user_id>`.
    pub fn add_client_secret(&self, user_id: &str) -> Option<(String, String)> {
        let mut state = self.lock();
        if !state.users.get(user_id).is_some_and(|u| u.machine) {
            return None;
        }
        let client_id = format!("machine-{user_id}");
        let secret = format!("sim_secret_{}", fastrand_token(40));
        state
            .client_secrets
            .insert(client_id.clone(), (user_id.to_owned(), secret.clone()));
        Some((client_id, secret))
    }

    /// How the last successful client-credentials login authenticated: `"basic"` (HTTP
    /// Basic) or `"post"` (in the form).
    pub fn last_client_auth(&self) -> Option<&'static str> {
        self.lock().last_client_auth
    }

    /// How many requests had a path ending in `suffix` (for example
    /// `"/AddPersonalAccessToken"` or `"/oauth/v2/token"`).
    pub async fn count(&self, suffix: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r.url.path().ends_with(suffix))
            .count()
    }
}

/// A key file JSON for `user_id` with the fixture test key.
pub fn test_key_file(user_id: &str) -> String {
    json!({
        "type": "serviceaccount",
        "keyId": TEST_KEY_ID,
        "key": TEST_PRIVATE_KEY_PEM,
        "userId": user_id,
    })
    .to_string()
}
