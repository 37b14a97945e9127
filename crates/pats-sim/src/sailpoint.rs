//! A stateful simulator of SailPoint Identity Security Cloud personal access tokens.
//!
//! [`SailPointSim::start`] serves on loopback:
//!
//! - `POST /oauth/token` (`grant_type=client_credentials`, `client_id`, `client_secret`
//!   as a form-encoded body, a `multipart/form-data` body or query parameters, as the real
//!   endpoint takes them): bearer tokens for registered API clients and for PATs (a PAT's
//!   id is its client id), with a configurable lifetime; wrong credentials → 401
//!   `{"error": "invalid_client"}`. Using a PAT sets its `lastUsed`.
//! - `POST|GET /{v}/personal-access-tokens` and `PATCH|DELETE
//!   /{v}/personal-access-tokens/{id}` for `v3`, `beta`, `v2024`, `v2025`, `v2026`, and the
//!   same under `/personal-access-tokens/v1`: the operations of the vendored contract
//!   (`contracts/sailpoint/openapi.json`); and `PATCH|POST /personal-access-tokens/v1/bulk-update`
//!   (one JSON Patch of `/expirationDate` / `/userAwareTokenNeverExpires` for up to 25
//!   tokens; refused with 403 to an API client's client-credentials token, allowed to a
//!   PAT's). `X-SailPoint-Experimental: true` is required
//!   exactly on the operations the contract marks `x-sailpoint-experimental` (400
//!   otherwise), which no PAT operation is.
//!
//! Every date-time answered is UTC with exactly three fractional digits
//! (`2023-02-05T10:59:27.214Z`), as SailPoint documents them.
//!
//! Every API request needs a live bearer token (401 `{"error": …}` when missing, unknown or
//! expired) and is rate limited per token (default 100 requests / 10 s; 429
//! `{"message": …}` with `Retry-After`). Validation follows the reference: unique names
//! per owner, `accessTokenValiditySeconds` 15..=43200, expiration in the future and, on
//! v3/beta/v2024, at most six months ahead (the default), never-expiring tokens only on
//! v2025+/V1 with `userAwareTokenNeverExpires: true` (a field v3/beta/v2024 refuse).
//! Patches (`application/json-patch+json`, else 415) may only touch `/name`, `/scope`
//! (+ `/expirationDate`, `/userAwareTokenNeverExpires` on v2025+/V1); they are applied
//! with the `json-patch` crate to the stored JSON, then the result is validated. Errors
//! are ErrorResponseDto bodies with a `trackingId`.
//!
//! [`Faults`] are consulted first for every request (token endpoint included).

use crate::answer::Answer;
use crate::contract::{ContractGuard, Provider};
use crate::fault::Faults;
use crate::server::{HttpServer, Layer, Request, ServerOptions, layered};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ALL_SCOPES: &str = "sp:scopes:all";

/// The vendor contract the simulator plays (`contracts/sailpoint`, copied into this crate by
/// `cargo xtask codegen`).
const CONTRACT: &str = include_str!("generated/contracts/sailpoint.openapi.json");

/// `(method, path template)` of every operation `contract` marks
/// `x-sailpoint-experimental: true`.
fn experimental_in(contract: &str) -> HashSet<(String, String)> {
    let Ok(contract) = serde_json::from_str::<Value>(contract) else {
        return HashSet::new();
    };
    let mut out = HashSet::new();
    for (path, item) in contract
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, op) in item.as_object().into_iter().flatten() {
            if op.get("x-sailpoint-experimental") == Some(&Value::Bool(true)) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// The operations of the vendored contract that require `X-SailPoint-Experimental: true`
/// (none of the PAT operations at the pinned commit).
fn experimental_operations() -> &'static HashSet<(String, String)> {
    static OPERATIONS: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    OPERATIONS.get_or_init(|| experimental_in(CONTRACT))
}
const MIN_VALIDITY: i64 = 15;
/// The last segment of the V1 bulk update, `/personal-access-tokens/v1/bulk-update`.
const BULK_UPDATE: &str = "bulk-update";
/// The most tokens one bulk update may name.
const BULK_MAX_IDS: usize = 25;
/// The paths a bulk update may patch.
const BULK_PATCHABLE: &[&str] = &["/expirationDate", "/userAwareTokenNeverExpires"];
const MAX_VALIDITY: i64 = 43_200;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Version {
    V3,
    Beta,
    V2024,
    V2025,
    V2026,
    V1,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::Beta => "beta",
            Self::V2024 => "v2024",
            Self::V2025 => "v2025",
            Self::V2026 => "v2026",
            Self::V1 => "v1",
        }
    }

    fn never_expires(self) -> bool {
        matches!(self, Self::V2025 | Self::V2026 | Self::V1)
    }

    fn patchable(self) -> &'static [&'static str] {
        if self.never_expires() {
            &[
                "/name",
                "/scope",
                "/expirationDate",
                "/userAwareTokenNeverExpires",
            ]
        } else {
            &["/name", "/scope"]
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ApiClient {
    secret: String,
    identity_id: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AccessToken {
    identity_id: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    /// Issued to a registered API client for its client credentials: not associated with a
    /// user (SailPoint's `applicationAuth`), unlike a token of a PAT or a static bearer
    /// (`userAuth`). State files written before this field read as user tokens.
    #[serde(default)]
    api_client: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPat {
    /// The wire JSON, without `secret` (all fields, whatever the version).
    json: Value,
    secret: String,
}

impl StoredPat {
    fn id(&self) -> &str {
        self.json.get("id").and_then(Value::as_str).unwrap_or("")
    }

    fn owner_id(&self) -> &str {
        self.json
            .pointer("/owner/id")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn name(&self) -> &str {
        self.json.get("name").and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    identities: HashMap<String, String>,
    clients: HashMap<String, ApiClient>,
    access_tokens: HashMap<String, AccessToken>,
    pats: Vec<StoredPat>,
    token_lifetime: Duration,
    rate_limit: (usize, Duration),
    /// Recent requests per access token (not kept: rate windows restart with the server).
    #[serde(skip)]
    windows: HashMap<String, VecDeque<Instant>>,
}

/// The loopback SailPoint simulator. Cloning shares the server and its state.
#[derive(Clone)]
pub struct SailPointSim {
    server: Arc<HttpServer>,
    state: Arc<Mutex<State>>,
    faults: Faults,
    /// Fails the test whose exchanges were off the vendor contract, when the last clone drops.
    _contract: Arc<ContractGuard>,
}

impl std::fmt::Debug for SailPointSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SailPointSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(u32::from(t.millisecond()) * 1_000_000)
        .unwrap_or(t)
}

/// Every date-time the simulator answers: UTC, exactly three fractional digits and `Z`,
/// as SailPoint documents them (`2023-02-05T10:59:27.214Z`), whatever precision the client
/// sent.
fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Six calendar months after `t` (day clamped to the month's end).
fn six_months_after(t: OffsetDateTime) -> OffsetDateTime {
    let date = t.date();
    let months = i32::from(u8::from(date.month())) - 1 + 6;
    let year = date.year() + months / 12;
    let month = u8::try_from(months % 12 + 1)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .unwrap_or(time::Month::January);
    let day = date.day().min(time::util::days_in_month(month, year));
    time::Date::from_calendar_date(year, month, day)
        .map(|d| t.replace_date(d))
        .unwrap_or_else(|_| t + time::Duration::days(181))
}

/// An ErrorResponseDto answer.
fn dto(status: u16, detail_code: &str, text: &str) -> Answer {
    Answer::new(status).set_body_json(json!({
        "detailCode": detail_code,
        "trackingId": hex(32),
        "messages": [{ "locale": "en-US", "localeOrigin": "DEFAULT", "text": text }],
        "causes": [],
    }))
}

fn bad_request(text: &str) -> Answer {
    dto(400, "400.1 Bad Request Content", text)
}

fn not_found(text: &str) -> Answer {
    dto(404, "404 Not found", text)
}

fn unauthorized(error: &str) -> Answer {
    Answer::new(401).set_body_json(json!({ "error": error }))
}

impl SailPointSim {
    /// The client id of the API client registered at start.
    pub const CLIENT_ID: &'static str = "sim-client-2c91808a7f3b";
    /// Its client secret.
    pub const CLIENT_SECRET: &'static str = "sim-secret-7d1e0c4b9a8f4e6d";
    /// The identity that API client acts as.
    pub const IDENTITY_ID: &'static str = "2c9180867b50d088017b554662fb281e";
    /// That identity's display name.
    pub const IDENTITY_NAME: &'static str = "Sim Admin";

    /// Starts a simulator on loopback with one API client ([`Self::CLIENT_ID`] /
    /// [`Self::CLIENT_SECRET`] acting as [`Self::IDENTITY_ID`]), 12-hour access tokens and
    /// a rate limit of 100 requests per 10 s per token.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        match Self::serve(ServerOptions::default(), None) {
            Ok(sim) => sim,
            Err(e) => panic!("cannot start the SailPoint simulator on 127.0.0.1: {e}"),
        }
    }

    /// Creates a PAT named `name` for [`Self::IDENTITY_ID`] through `POST
    /// /v3/personal-access-tokens`, as a seeding administrator would; answers what that
    /// answers (the secret included), or `None` when it is refused (a taken name, say).
    pub fn seed_pat(&self, name: &str) -> Option<Value> {
        let bearer = self.issue_access_token(Self::IDENTITY_ID);
        let body = json!({ "name": name, "scope": [ALL_SCOPES] }).to_string();
        let url = url::Url::parse("http://127.0.0.1/v3/personal-access-tokens").ok()?;
        let mut request = Request::new("POST", url, body.into_bytes());
        let auth = http::HeaderValue::from_str(&format!("Bearer {bearer}")).ok()?;
        request.headers.insert(http::header::AUTHORIZATION, auth);
        request.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let answer = handle(&mut lock(&self.state), &request);
        lock(&self.state).access_tokens.remove(&bearer);
        (answer.status == 201 || answer.status == 200)
            .then(|| answer.json())
            .flatten()
    }

    /// Stores `n` more tokens of [`Self::IDENTITY_ID`] directly (named `bulk-<i>`), for
    /// benchmarks that need a large state quickly.
    pub fn seed_bulk(&self, n: usize) {
        let mut state = lock(&self.state);
        let owner_name = state
            .identities
            .get(Self::IDENTITY_ID)
            .cloned()
            .unwrap_or_default();
        let at = now();
        let (created, expires) = (format_time(at), format_time(six_months_after(at)));
        let start = state.pats.len();
        state.pats.reserve(n);
        for i in start..start + n {
            state.pats.push(StoredPat {
                json: json!({
                    "id": hex(32),
                    "name": format!("bulk-{i}"),
                    "scope": [ALL_SCOPES],
                    "owner": { "type": "IDENTITY", "id": Self::IDENTITY_ID, "name": owner_name },
                    "created": created,
                    "lastUsed": null,
                    "managed": false,
                    "accessTokenValiditySeconds": 43_200,
                    "expirationDate": expires,
                    "userAwareTokenNeverExpires": false,
                }),
                secret: hex(64),
            });
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

    // Used by the emulator, which needs all three providers.
    #[cfg_attr(
        not(all(feature = "dfns", feature = "zitadel", feature = "sailpoint")),
        allow(dead_code)
    )]
    /// The state, for a state file.
    pub(crate) fn snapshot(&self) -> serde_json::Result<Value> {
        serde_json::to_value(&*lock(&self.state))
    }

    // Used by the emulator, which needs all three providers.
    #[cfg_attr(
        not(all(feature = "dfns", feature = "zitadel", feature = "sailpoint")),
        allow(dead_code)
    )]
    /// Replaces the state with one from a state file.
    pub(crate) fn restore(&self, state: Value) -> serde_json::Result<()> {
        let restored: State = serde_json::from_value(state)?;
        *lock(&self.state) = restored;
        Ok(())
    }

    /// Starts a simulator with these server options, its handler wrapped in `layer`.
    pub(crate) fn serve(options: ServerOptions, layer: Option<Layer>) -> std::io::Result<Self> {
        let mut identities = HashMap::new();
        identities.insert(Self::IDENTITY_ID.to_owned(), Self::IDENTITY_NAME.to_owned());
        let mut clients = HashMap::new();
        clients.insert(
            Self::CLIENT_ID.to_owned(),
            ApiClient {
                secret: Self::CLIENT_SECRET.to_owned(),
                identity_id: Self::IDENTITY_ID.to_owned(),
            },
        );
        let state = Arc::new(Mutex::new(State {
            identities,
            clients,
            access_tokens: HashMap::new(),
            pats: Vec::new(),
            token_lifetime: Duration::from_secs(43_200),
            rate_limit: (100, Duration::from_secs(10)),
            windows: HashMap::new(),
        }));
        let faults = Faults::default();
        let contract = ContractGuard::new(Provider::SailPoint, &faults);
        // A server of its own: a request still in flight when a test ends (a stalled
        // answer, say) must never reach the next test's simulator.
        let (s, f) = (state.clone(), faults.clone());
        let server = HttpServer::start(options, layered(layer, move |r| respond(&s, &f, r)))?;
        Ok(Self {
            server: Arc::new(server),
            state,
            faults,
            _contract: contract,
        })
    }

    /// The base URL (`http://127.0.0.1:<port>`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The armed faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Adds (or renames) an identity, which API clients can then act as.
    pub fn add_identity(&self, identity_id: &str, name: &str) {
        lock(&self.state)
            .identities
            .insert(identity_id.to_owned(), name.to_owned());
    }

    /// The name of identity `identity_id`, if it is known.
    pub fn identity_name(&self, identity_id: &str) -> Option<String> {
        lock(&self.state).identities.get(identity_id).cloned()
    }

    /// Whether `identity_id` is a known identity.
    pub fn has_identity(&self, identity_id: &str) -> bool {
        lock(&self.state).identities.contains_key(identity_id)
    }

    /// Whether `client_id` is a registered API client.
    pub fn has_client(&self, client_id: &str) -> bool {
        lock(&self.state).clients.contains_key(client_id)
    }

    /// Registers an API client acting as a new (or known) identity.
    pub fn register_client(
        &self,
        client_id: &str,
        client_secret: &str,
        identity_id: &str,
        identity_name: &str,
    ) {
        let mut s = lock(&self.state);
        s.identities
            .insert(identity_id.to_owned(), identity_name.to_owned());
        s.clients.insert(
            client_id.to_owned(),
            ApiClient {
                secret: client_secret.to_owned(),
                identity_id: identity_id.to_owned(),
            },
        );
    }

    /// Issues an access token for `identity_id` directly (for static-bearer clients).
    pub fn issue_access_token(&self, identity_id: &str) -> String {
        let mut s = lock(&self.state);
        let lifetime = s.token_lifetime;
        issue(&mut s, identity_id, lifetime, false)
    }

    /// Sets the lifetime (`expires_in`) of access tokens issued to API clients from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.state).token_lifetime = lifetime;
    }

    /// Makes every access token issued so far expired (refused with 401 from now on).
    pub fn expire_access_tokens(&self) {
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        for t in lock(&self.state).access_tokens.values_mut() {
            t.expires_at = past;
        }
    }

    /// Sets the rate limit: at most `max` requests per `window` per access token.
    pub fn set_rate_limit(&self, max: usize, window: Duration) {
        let mut s = lock(&self.state);
        s.rate_limit = (max, window);
        s.windows.clear();
    }

    /// Every stored token, as wire JSON without the secret, in creation order.
    pub fn stored_tokens(&self) -> Vec<Value> {
        lock(&self.state)
            .pats
            .iter()
            .map(|p| p.json.clone())
            .collect()
    }

    /// One stored token, as wire JSON without the secret.
    pub fn stored_token(&self, id: &str) -> Option<Value> {
        lock(&self.state)
            .pats
            .iter()
            .find(|p| p.id() == id)
            .map(|p| p.json.clone())
    }

    /// Sets a token's `lastUsed`; false when there is no such token.
    pub fn set_last_used(&self, id: &str, last_used: Option<OffsetDateTime>) -> bool {
        let mut s = lock(&self.state);
        let Some(p) = s.pats.iter_mut().find(|p| p.id() == id) else {
            return false;
        };
        if let Value::Object(m) = &mut p.json {
            m.insert(
                "lastUsed".into(),
                last_used.map_or(Value::Null, |t| Value::String(format_time(t))),
            );
        }
        true
    }

    /// Every request received so far (token endpoint included).
    pub async fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// Requests received at `POST /oauth/token`.
    pub async fn token_requests(&self) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r.url.path() == "/oauth/token")
            .collect()
    }

    /// Requests received anywhere but the token endpoint.
    pub async fn api_requests(&self) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r.url.path() != "/oauth/token")
            .collect()
    }
}

fn issue(state: &mut State, identity_id: &str, lifetime: Duration, api_client: bool) -> String {
    let token = hex(40);
    let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
    state.access_tokens.insert(
        token.clone(),
        AccessToken {
            identity_id: identity_id.to_owned(),
            expires_at: OffsetDateTime::now_utc() + time::Duration::seconds(secs),
            api_client,
        },
    );
    token
}

fn respond(state: &Mutex<State>, faults: &Faults, request: &Request) -> Answer {
    faults.respond_checked(Provider::SailPoint, request, || {
        handle(&mut lock(state), request)
    })
}

fn handle(state: &mut State, request: &Request) -> Answer {
    let path = request.url.path();
    let method = request.method.as_str();
    if path == "/oauth/token" {
        return if method == "POST" {
            token_endpoint(state, request)
        } else {
            dto(405, "405 Method Not Allowed", "use POST")
        };
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (version, rest) = match segments.as_slice() {
        ["personal-access-tokens", "v1", rest @ ..] => (Version::V1, rest),
        [v, "personal-access-tokens", rest @ ..] => {
            let version = match *v {
                "v3" => Version::V3,
                "beta" => Version::Beta,
                "v2024" => Version::V2024,
                "v2025" => Version::V2025,
                "v2026" => Version::V2026,
                _ => return not_found("unknown API version"),
            };
            (version, rest)
        }
        _ => return not_found("no such endpoint"),
    };
    let bulk = version == Version::V1 && rest == [BULK_UPDATE];
    let id = match rest {
        [] => None,
        _ if bulk => None,
        [id] if !id.is_empty() => Some(*id),
        _ => return not_found("no such endpoint"),
    };
    let caller = match authenticate(state, request) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if let Some(answer) = rate_limit(state, &caller.token) {
        return answer;
    }
    let template = match (version, id) {
        (Version::V1, None) if bulk => format!("/personal-access-tokens/v1/{BULK_UPDATE}"),
        (Version::V1, None) => "/personal-access-tokens/v1".to_owned(),
        (Version::V1, Some(_)) => "/personal-access-tokens/v1/{id}".to_owned(),
        (v, None) => format!("/{}/personal-access-tokens", v.as_str()),
        (v, Some(_)) => format!("/{}/personal-access-tokens/{{id}}", v.as_str()),
    };
    if experimental_operations().contains(&(method.to_ascii_lowercase(), template)) {
        let ok = request
            .headers
            .get("x-sailpoint-experimental")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !ok {
            return bad_request(
                "This is an experimental endpoint: send the header X-SailPoint-Experimental: true",
            );
        }
    }
    if bulk {
        return match method {
            "PATCH" | "POST" => bulk_update(state, request, &caller),
            _ => dto(405, "405 Method Not Allowed", "use PATCH or POST"),
        };
    }
    match (method, id) {
        ("POST", None) => create(state, request, version, &caller.identity_id),
        ("GET", None) => list(state, request, version, &caller.identity_id),
        ("PATCH", Some(id)) => patch(state, request, version, id),
        ("DELETE", Some(id)) => delete(state, id),
        _ => dto(405, "405 Method Not Allowed", "method not allowed here"),
    }
}

struct Caller {
    token: String,
    identity_id: String,
    api_client: bool,
}

fn authenticate(state: &State, request: &Request) -> Result<Caller, Box<Answer>> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Box::new(unauthorized(
                "Full authentication is required to access this resource",
            ))
        })?;
    let token = header.strip_prefix("Bearer ").ok_or_else(|| {
        Box::new(unauthorized(
            "Full authentication is required to access this resource",
        ))
    })?;
    let known = state
        .access_tokens
        .get(token)
        .ok_or_else(|| Box::new(unauthorized("JWT validation failed: unknown token")))?;
    if known.expires_at <= OffsetDateTime::now_utc() {
        return Err(Box::new(unauthorized("JWT is expired")));
    }
    Ok(Caller {
        token: token.to_owned(),
        identity_id: known.identity_id.clone(),
        api_client: known.api_client,
    })
}

fn rate_limit(state: &mut State, token: &str) -> Option<Answer> {
    let (max, window) = state.rate_limit;
    let now = Instant::now();
    let hits = state.windows.entry(token.to_owned()).or_default();
    while hits
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        hits.pop_front();
    }
    if hits.len() >= max {
        let wait = hits
            .front()
            .map(|t| window.saturating_sub(now.duration_since(*t)))
            .unwrap_or(window);
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Some(
            Answer::new(429)
                .insert_header("Retry-After", secs.max(1).to_string().as_str())
                .set_body_json(json!({ "message": "Rate Limit Exceeded" })),
        );
    }
    hits.push_back(now);
    None
}

fn content_type(request: &Request) -> String {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The parameters of a token request: query parameters, then those of a form-encoded or
/// `multipart/form-data` body (a body parameter wins). `None` for a body of another type
/// or a malformed multipart body.
fn token_parameters(request: &Request) -> Option<HashMap<String, String>> {
    let mut params: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
    let body: Vec<(String, String)> = match content_type(request).as_str() {
        _ if request.body.is_empty() => Vec::new(),
        "application/x-www-form-urlencoded" => url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect(),
        "multipart/form-data" => multipart_fields(request)?,
        _ => return None,
    };
    params.extend(body);
    Some(params)
}

/// The text fields of a `multipart/form-data` body (RFC 7578).
fn multipart_fields(request: &Request) -> Option<Vec<(String, String)>> {
    let header = request.headers.get("content-type")?.to_str().ok()?;
    let boundary = header.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })?;
    let body = std::str::from_utf8(&request.body).ok()?;
    let delimiter = format!("--{boundary}");
    let mut parts = body.split(delimiter.as_str());
    // Before the first delimiter: the preamble.
    parts.next()?;
    let mut fields = Vec::new();
    for part in parts {
        if part.starts_with("--") {
            return Some(fields);
        }
        let part = part.strip_prefix("\r\n")?;
        let (head, value) = part.split_once("\r\n\r\n")?;
        let name = head.split("\r\n").find_map(|line| {
            let (key, rest) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            rest.split(';').find_map(|param| {
                let (k, v) = param.split_once('=')?;
                (k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
            })
        })?;
        fields.push((name, value.strip_suffix("\r\n")?.to_owned()));
    }
    // No closing delimiter.
    None
}

fn token_endpoint(state: &mut State, request: &Request) -> Answer {
    let oauth =
        |status: u16, error: &str| Answer::new(status).set_body_json(json!({ "error": error }));
    let Some(form) = token_parameters(request) else {
        return oauth(400, "invalid_request");
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth(400, "unsupported_grant_type");
    }
    let (Some(client_id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) else {
        return oauth(400, "invalid_request");
    };
    let (identity, lifetime, api_client) = if let Some(c) = state.clients.get(client_id) {
        if &c.secret != secret {
            return oauth(401, "invalid_client");
        }
        (c.identity_id.clone(), state.token_lifetime, true)
    } else {
        let at = now();
        let Some(pat) = state.pats.iter_mut().find(|p| p.id() == client_id) else {
            return oauth(401, "invalid_client");
        };
        let expired = pat
            .json
            .get("expirationDate")
            .and_then(Value::as_str)
            .and_then(parse_time)
            .is_some_and(|e| e <= at);
        if &pat.secret != secret || expired {
            return oauth(401, "invalid_client");
        }
        let validity = pat
            .json
            .get("accessTokenValiditySeconds")
            .and_then(Value::as_u64)
            .unwrap_or(43_200);
        if let Value::Object(m) = &mut pat.json {
            m.insert("lastUsed".into(), Value::String(format_time(at)));
        }
        (
            pat.owner_id().to_owned(),
            Duration::from_secs(validity),
            false,
        )
    };
    let token = issue(state, &identity, lifetime, api_client);
    Answer::new(200).set_body_json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
        "scope": ALL_SCOPES,
        "identity_id": identity,
        "jti": hex(32),
    }))
}

/// The token as `version` shows it.
/// Checks that every operation of `ops` writes (and, for `move`/`copy`, reads) only
/// `allowed` paths: the first other path is the error. Otherwise, whether the patch
/// acknowledges a never-expiring token (`userAwareTokenNeverExpires` set to `true`, the
/// last such operation winning).
fn patch_paths<'a>(ops: &'a json_patch::Patch, allowed: &[&str]) -> Result<bool, &'a str> {
    let mut acknowledged = false;
    for op in &ops.0 {
        let mut paths = vec![op.path().as_str()];
        match op {
            json_patch::PatchOperation::Move(m) => paths.push(m.from.as_str()),
            json_patch::PatchOperation::Copy(c) => paths.push(c.from.as_str()),
            json_patch::PatchOperation::Add(a)
                if a.path.as_str() == "/userAwareTokenNeverExpires" =>
            {
                acknowledged = a.value == Value::Bool(true);
            }
            json_patch::PatchOperation::Replace(r)
                if r.path.as_str() == "/userAwareTokenNeverExpires" =>
            {
                acknowledged = r.value == Value::Bool(true);
            }
            _ => {}
        }
        if let Some(p) = paths.into_iter().find(|p| !allowed.contains(p)) {
            return Err(p);
        }
    }
    Ok(acknowledged)
}

fn render(json: &Value, version: Version) -> Value {
    let mut json = json.clone();
    if !version.never_expires()
        && let Value::Object(m) = &mut json
    {
        m.remove("userAwareTokenNeverExpires");
    }
    json
}

fn check_scope(value: Option<&Value>) -> Result<Value, Box<Answer>> {
    match value {
        None | Some(Value::Null) => Ok(json!([ALL_SCOPES])),
        Some(Value::Array(items))
            if !items.is_empty()
                && items
                    .iter()
                    .all(|s| s.as_str().is_some_and(|s| !s.trim().is_empty())) =>
        {
            Ok(Value::Array(items.clone()))
        }
        Some(_) => Err(Box::new(bad_request(
            "scope must be null or a non-empty array of scope names",
        ))),
    }
}

fn name_taken(state: &State, owner: &str, name: &str, except: Option<&str>) -> bool {
    state
        .pats
        .iter()
        .any(|p| p.owner_id() == owner && p.name() == name && Some(p.id()) != except)
}

fn create(state: &mut State, request: &Request, version: Version, owner: &str) -> Answer {
    if content_type(request) != "application/json" {
        return dto(
            415,
            "415 Unsupported Media Type",
            "Content-Type must be application/json",
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
        return bad_request("The request body must be a JSON object");
    };
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        _ => return bad_request("name is required"),
    };
    if name_taken(state, owner, &name, None) {
        return bad_request(&format!(
            "A personal access token named '{name}' already exists for this owner"
        ));
    }
    let scope = match check_scope(body.get("scope")) {
        Ok(s) => s,
        Err(answer) => return *answer,
    };
    let validity = match body.get("accessTokenValiditySeconds") {
        None | Some(Value::Null) => MAX_VALIDITY,
        Some(v) => match v.as_i64() {
            Some(s) if (MIN_VALIDITY..=MAX_VALIDITY).contains(&s) => s,
            _ => {
                return bad_request(
                    "accessTokenValiditySeconds must be an integer between 15 and 43200",
                );
            }
        },
    };
    let at = now();
    let acknowledged = match body.get("userAwareTokenNeverExpires") {
        None | Some(Value::Null) => false,
        Some(_) if !version.never_expires() => {
            return bad_request("Unrecognized field userAwareTokenNeverExpires");
        }
        Some(Value::Bool(b)) => *b,
        Some(_) => return bad_request("userAwareTokenNeverExpires must be a boolean"),
    };
    let expiration = match body.get("expirationDate") {
        None | Some(Value::Null) if version.never_expires() => {
            if !acknowledged {
                return bad_request(
                    "expirationDate is null: userAwareTokenNeverExpires must be true",
                );
            }
            Value::Null
        }
        None | Some(Value::Null) => Value::String(format_time(six_months_after(at))),
        Some(Value::String(s)) => {
            let Some(t) = parse_time(s) else {
                return bad_request("expirationDate must be an ISO-8601 date-time");
            };
            if t <= at {
                return bad_request("expirationDate must be in the future");
            }
            if !version.never_expires() && t > six_months_after(at) {
                return bad_request("expirationDate must be at most six months from now");
            }
            Value::String(format_time(t))
        }
        Some(_) => return bad_request("expirationDate must be a date-time"),
    };
    let owner_name = state.identities.get(owner).cloned().unwrap_or_default();
    let mut json = Map::new();
    json.insert("id".into(), Value::String(hex(32)));
    json.insert("name".into(), Value::String(name));
    json.insert("scope".into(), scope);
    json.insert(
        "owner".into(),
        json!({ "type": "IDENTITY", "id": owner, "name": owner_name }),
    );
    json.insert("created".into(), Value::String(format_time(at)));
    json.insert("accessTokenValiditySeconds".into(), json!(validity));
    json.insert("expirationDate".into(), expiration);
    json.insert("lastUsed".into(), Value::Null);
    json.insert("managed".into(), Value::Bool(false));
    json.insert(
        "userAwareTokenNeverExpires".into(),
        Value::Bool(acknowledged),
    );
    let pat = StoredPat {
        json: Value::Object(json),
        secret: hex(64),
    };
    let mut answer = render(&pat.json, version);
    if let Value::Object(m) = &mut answer {
        m.insert("secret".into(), Value::String(pat.secret.clone()));
    }
    state.pats.push(pat);
    Answer::new(200).set_body_json(answer)
}

enum Filter {
    LastUsedLe(OffsetDateTime),
    LastUsedIsNull,
}

fn parse_filter(expr: &str) -> Option<Filter> {
    let words: Vec<&str> = expr.split_whitespace().collect();
    match words.as_slice() {
        ["lastUsed", "isnull"] => Some(Filter::LastUsedIsNull),
        ["lastUsed", "le", t] => parse_time(t).map(Filter::LastUsedLe),
        _ => None,
    }
}

fn list(state: &State, request: &Request, version: Version, caller: &str) -> Answer {
    let mut owner: Option<String> = None;
    let mut filter = None;
    for (k, v) in request.url.query_pairs() {
        match k.as_ref() {
            "owner-id" if v == "me" => owner = Some(caller.to_owned()),
            "owner-id" => owner = Some(v.into_owned()),
            "filters" => match parse_filter(&v) {
                Some(f) => filter = Some(f),
                None => {
                    return bad_request(&format!(
                        "Invalid filter '{v}': only 'lastUsed le <date-time>' and 'lastUsed isnull' are supported"
                    ));
                }
            },
            _ => {}
        }
    }
    let items: Vec<Rendered<'_>> = state
        .pats
        .iter()
        .filter(|p| owner.as_deref().is_none_or(|o| p.owner_id() == o))
        .filter(|p| {
            let last_used = p
                .json
                .get("lastUsed")
                .and_then(Value::as_str)
                .and_then(parse_time);
            match (&filter, last_used) {
                (None, _) => true,
                (Some(Filter::LastUsedIsNull), l) => l.is_none(),
                (Some(Filter::LastUsedLe(t)), Some(l)) => l <= *t,
                (Some(Filter::LastUsedLe(_)), None) => false,
            }
        })
        .map(|p| Rendered(&p.json, version))
        .collect();
    // Written straight from the stored tokens: no copy of each one (a list is the
    // emulator's hottest path).
    let body = serde_json::to_vec(&items).unwrap_or_default();
    Answer::new(200).set_body_raw(body, "application/json")
}

/// A stored token as `version` shows it, serialized without copying it (see [`render`]).
struct Rendered<'a>(&'a Value, Version);

impl serde::Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let Value::Object(fields) = self.0 else {
            return self.0.serialize(s);
        };
        let hidden = (!self.1.never_expires()).then_some("userAwareTokenNeverExpires");
        let mut map = s.serialize_map(None)?;
        for (k, v) in fields {
            if Some(k.as_str()) != hidden {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

fn patch(state: &mut State, request: &Request, version: Version, id: &str) -> Answer {
    let Some(index) = state.pats.iter().position(|p| p.id() == id) else {
        return not_found(&format!("personal access token '{id}' not found"));
    };
    if content_type(request) != "application/json-patch+json" {
        return dto(
            415,
            "415 Unsupported Media Type",
            "Content-Type must be application/json-patch+json",
        );
    }
    let Ok(ops) = serde_json::from_slice::<json_patch::Patch>(&request.body) else {
        return bad_request("The body must be a JSON Patch (RFC 6902) array");
    };
    let allowed = version.patchable();
    let touches_expiration = ops
        .0
        .iter()
        .any(|op| op.path().as_str() == "/expirationDate");
    let acknowledged = match patch_paths(&ops, allowed) {
        Ok(acknowledged) => acknowledged,
        Err(p) => return bad_request(&format!("The path '{p}' is not patchable")),
    };
    let pat = &state.pats[index];
    let owner = pat.owner_id().to_owned();
    let mut doc = pat.json.clone();
    if let Err(e) = json_patch::patch(&mut doc, &ops.0) {
        return bad_request(&format!("The patch could not be applied: {e}"));
    }
    let Value::Object(mut m) = doc else {
        return bad_request("The patch must leave an object");
    };
    let name = match m.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        _ => return bad_request("name must be a non-empty string"),
    };
    if name_taken(state, &owner, &name, Some(id)) {
        return bad_request(&format!(
            "A personal access token named '{name}' already exists for this owner"
        ));
    }
    match check_scope(m.get("scope")) {
        Ok(s) => {
            m.insert("scope".into(), s);
        }
        Err(answer) => return *answer,
    }
    if !matches!(m.get("userAwareTokenNeverExpires"), Some(Value::Bool(_))) {
        return bad_request("userAwareTokenNeverExpires must be a boolean");
    }
    match m.get("expirationDate") {
        None | Some(Value::Null) => {
            if touches_expiration && !acknowledged {
                return bad_request(
                    "expirationDate is null: the patch must set userAwareTokenNeverExpires to true",
                );
            }
            m.insert("expirationDate".into(), Value::Null);
        }
        Some(Value::String(s)) => {
            let changed = pat.json.get("expirationDate") != Some(&Value::String(s.clone()));
            match parse_time(s) {
                Some(t) if !changed || t > now() => {
                    // Stored and answered in the documented format, not as sent.
                    m.insert("expirationDate".into(), Value::String(format_time(t)));
                }
                _ => return bad_request("expirationDate must be a future date-time"),
            }
        }
        Some(_) => return bad_request("expirationDate must be a date-time"),
    }
    let json = Value::Object(m);
    let answer = render(&json, version);
    state.pats[index].json = json;
    Answer::new(200).set_body_json(answer)
}

/// `PATCH|POST /personal-access-tokens/v1/bulk-update`, as SailPoint's description of
/// `updateBulkPersonalAccessTokensV1` says: only user tokens (an API client's
/// client-credentials token gets 403), `application/json` (else 415), 1 to 25 distinct,
/// non-blank `ids` naming existing tokens of the tenant and a JSON Patch of at least one
/// operation touching only `/expirationDate` and `/userAwareTokenNeverExpires` (else 400;
/// the description lists no 404). Clearing the expiration needs `userAwareTokenNeverExpires:
/// true` in the same patch; a new expiration must lie in the future. All or nothing: one
/// token the patch cannot apply to fails the whole request. Answers the updated tokens
/// sorted by `id`, without `userAwareTokenNeverExpires` ("stored internally and is not
/// returned in the response").
fn bulk_update(state: &mut State, request: &Request, caller: &Caller) -> Answer {
    if caller.api_client {
        return dto(
            403,
            "403 Forbidden",
            "API OAuth client credentials are not permitted to call this endpoint: use a personal access token",
        );
    }
    if content_type(request) != "application/json" {
        return dto(
            415,
            "415 Unsupported Media Type",
            "Content-Type must be application/json",
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
        return bad_request("The request body must be a JSON object with ids and patch");
    };
    let Some(Value::Array(ids)) = body.get("ids") else {
        return bad_request("ids is required: an array of personal access token ids");
    };
    if ids.is_empty() || ids.len() > BULK_MAX_IDS {
        return bad_request(&format!(
            "ids must name between 1 and {BULK_MAX_IDS} personal access tokens, not {}",
            ids.len()
        ));
    }
    let mut wanted: Vec<&str> = Vec::with_capacity(ids.len());
    for id in ids {
        match id.as_str() {
            Some(id) if !id.trim().is_empty() => {
                if wanted.contains(&id) {
                    return bad_request(&format!("ids must not repeat '{id}'"));
                }
                wanted.push(id);
            }
            _ => return bad_request("ids must be non-blank strings"),
        }
    }
    let ops = match body.get("patch") {
        Some(Value::Array(items)) if !items.is_empty() => {
            match serde_json::from_value::<json_patch::Patch>(Value::Array(items.clone())) {
                Ok(ops) => ops,
                Err(_) => return bad_request("patch must be a JSON Patch (RFC 6902) array"),
            }
        }
        _ => return bad_request("patch is required: a JSON Patch of at least one operation"),
    };
    let acknowledged = match patch_paths(&ops, BULK_PATCHABLE) {
        Ok(acknowledged) => acknowledged,
        Err(p) => {
            return bad_request(&format!(
                "The path '{p}' cannot be patched in bulk: only /expirationDate and /userAwareTokenNeverExpires"
            ));
        }
    };
    let touches_expiration = ops
        .0
        .iter()
        .any(|op| op.path().as_str() == "/expirationDate");
    let unknown: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|id| !state.pats.iter().any(|p| p.id() == *id))
        .collect();
    if !unknown.is_empty() {
        return bad_request(&format!(
            "No personal access token with the id(s) {} in this tenant",
            unknown.join(", ")
        ));
    }
    let at = now();
    let mut updated: Vec<(usize, Value)> = Vec::with_capacity(wanted.len());
    for id in &wanted {
        let Some(index) = state.pats.iter().position(|p| p.id() == *id) else {
            continue;
        };
        let before = &state.pats[index].json;
        let mut doc = before.clone();
        if let Err(e) = json_patch::patch(&mut doc, &ops.0) {
            return bad_request(&format!("The patch could not be applied to '{id}': {e}"));
        }
        let Value::Object(mut m) = doc else {
            return bad_request("The patch must leave an object");
        };
        if !matches!(m.get("userAwareTokenNeverExpires"), Some(Value::Bool(_))) {
            return bad_request("userAwareTokenNeverExpires must be a boolean");
        }
        match m.get("expirationDate") {
            None | Some(Value::Null) => {
                if touches_expiration && !acknowledged {
                    return bad_request(
                        "Clearing expirationDate needs userAwareTokenNeverExpires set to true in the same patch",
                    );
                }
                m.insert("expirationDate".into(), Value::Null);
            }
            Some(Value::String(s)) => {
                let changed = before.get("expirationDate") != Some(&Value::String(s.clone()));
                match parse_time(s) {
                    Some(t) if !changed || t > at => {
                        m.insert("expirationDate".into(), Value::String(format_time(t)));
                    }
                    _ => return bad_request("expirationDate must be a future date-time"),
                }
            }
            Some(_) => return bad_request("expirationDate must be a date-time"),
        }
        updated.push((index, Value::Object(m)));
    }
    let mut answer: Vec<Value> = Vec::with_capacity(updated.len());
    for (index, json) in updated {
        let mut shown = render(&json, Version::V1);
        if let Value::Object(m) = &mut shown {
            m.remove("userAwareTokenNeverExpires");
        }
        answer.push(shown);
        state.pats[index].json = json;
    }
    answer.sort_by(|a, b| {
        let id = |v: &Value| v.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
        id(a).cmp(&id(b))
    });
    Answer::new(200).set_body_json(Value::Array(answer))
}

fn delete(state: &mut State, id: &str) -> Answer {
    let before = state.pats.len();
    state.pats.retain(|p| p.id() != id);
    if state.pats.len() == before {
        return not_found(&format!("personal access token '{id}' not found"));
    }
    Answer::new(204)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn experimental_operations_come_from_the_contract() {
        // api-specs marks no PAT operation experimental, on any version.
        assert!(experimental_operations().is_empty());
        let marked = r#"{"paths": {"/v2025/personal-access-tokens": {
            "get": {"x-sailpoint-experimental": true},
            "post": {"x-sailpoint-experimental": false}}}}"#;
        assert_eq!(
            experimental_in(marked),
            HashSet::from([("get".to_owned(), "/v2025/personal-access-tokens".to_owned())])
        );
        assert!(experimental_in("not json").is_empty());
    }

    #[test]
    fn timestamps_have_exactly_three_fractional_digits() {
        assert_eq!(
            format_time(datetime!(2026-02-05 10:00 UTC)),
            "2026-02-05T10:00:00.000Z"
        );
        assert_eq!(
            format_time(datetime!(2026-02-05 12:59:27.2149 +02:00)),
            "2026-02-05T10:59:27.214Z"
        );
    }

    #[test]
    fn six_months() {
        assert_eq!(
            six_months_after(datetime!(2026-08-31 10:00 UTC)),
            datetime!(2027-02-28 10:00 UTC)
        );
    }

    #[test]
    fn filters() {
        assert!(matches!(
            parse_filter("lastUsed isnull"),
            Some(Filter::LastUsedIsNull)
        ));
        assert!(matches!(
            parse_filter("lastUsed le 2023-02-05T10:59:27.214Z"),
            Some(Filter::LastUsedLe(t)) if t == datetime!(2023-02-05 10:59:27.214 UTC)
        ));
        assert!(parse_filter("lastUsed ge 2023-02-05T10:59:27.214Z").is_none());
        assert!(parse_filter("name eq x").is_none());
    }
}
