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
use crate::table::Table;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod auth;
mod pats;
mod state;

use auth::*;
use pats::*;
use state::*;

const ALL_SCOPES: &str = "sp:scopes:all";

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
        let expires = six_months_after(at);
        let owner = state.owner(Self::IDENTITY_ID, &owner_name);
        let start = state.pats.len();
        for i in start..start + n {
            let pat = StoredPat {
                id: fastrand::u128(..),
                seq: state.next_seq,
                name: format!("bulk-{i}"),
                scope: Vec::new(),
                owner: Arc::clone(&owner),
                created: at,
                validity: 43_200,
                expiration: Some(expires),
                last_used: None,
                managed: false,
                never_expires: false,
                secret: StoredPat::new_secret(),
            };
            state.next_seq += 1;
            state.put_pat(pat);
        }
    }

    /// Starts a simulator with these server options, its handler wrapped in `layer`.
    pub(crate) fn serve(options: ServerOptions, layer: Option<Layer>) -> std::io::Result<Self> {
        let mut identities = Table::new();
        identities.insert(Self::IDENTITY_ID.to_owned(), Self::IDENTITY_NAME.to_owned());
        let mut clients = Table::new();
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
            access_tokens: Table::new(),
            pats: Table::new(),
            token_lifetime: Duration::from_secs(43_200),
            rate_limit: (100, Duration::from_secs(10)),
            windows: HashMap::new(),
            index: None,
            next_seq: 0,
            journaled: Value::Null,
            replaced: false,
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
        let mut state = lock(&self.state);
        let tokens: Vec<String> = state.access_tokens.keys().cloned().collect();
        for token in tokens {
            if let Some(t) = state.access_tokens.get_mut(&token) {
                t.expires_at = past;
            }
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
        let state = lock(&self.state);
        let mut pats: Vec<&StoredPat> = state.pats.values().collect();
        pats.sort_unstable_by_key(|p| p.seq);
        pats.into_iter().map(|p| p.to_json(Version::V1)).collect()
    }

    /// One stored token, as wire JSON without the secret.
    pub fn stored_token(&self, id: &str) -> Option<Value> {
        let key = parse_id(id)?;
        lock(&self.state)
            .pats
            .get(&key)
            .map(|p| p.to_json(Version::V1))
    }

    /// Sets a token's `lastUsed`; false when there is no such token.
    pub fn set_last_used(&self, id: &str, last_used: Option<OffsetDateTime>) -> bool {
        let mut s = lock(&self.state);
        let Some(p) = parse_id(id).and_then(|key| s.pats.get_mut(&key)) else {
            return false;
        };
        p.last_used = last_used;
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

/// What the emulator asks of the simulator.
#[cfg_attr(
    not(all(
        feature = "dfns",
        feature = "zitadel",
        feature = "sailpoint",
        feature = "gitlab"
    )),
    allow(dead_code)
)]
impl SailPointSim {
    /// Its server (request log).
    pub(crate) fn server(&self) -> &HttpServer {
        &self.server
    }

    /// The state, for a state file.
    pub(crate) fn snapshot(&self) -> serde_json::Result<Value> {
        serde_json::to_value(&*lock(&self.state))
    }

    /// Replaces the state with one from a state file.
    pub(crate) fn restore(&self, state: Value) -> serde_json::Result<()> {
        let mut state = state;
        crate::table::number_rows(&mut state, "pats");
        let mut restored: State = serde_json::from_value(state)?;
        let next = restored.pats.values().map(|p| p.seq + 1).max().unwrap_or(0);
        restored.next_seq = restored.next_seq.max(next);
        restored.share_owners();
        restored.replaced = true;
        *lock(&self.state) = restored;
        Ok(())
    }

    /// What changed since the last call, for the emulator's journal.
    pub(crate) fn take_changes(&self) -> serde_json::Result<crate::table::Changes> {
        lock(&self.state).take_changes()
    }

    /// Replays what [`take_changes`](Self::take_changes) returned.
    pub(crate) fn apply_changes(&self, change: &Value) -> Result<(), String> {
        let mut state = lock(&self.state);
        state.index = None;
        state.apply_changes(change)
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    fn stored(seq: u64) -> StoredPat {
        StoredPat {
            id: 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
            seq,
            name: "ci".into(),
            scope: vec!["idn:read".into()],
            owner: Arc::new(Owner {
                id: "owner".into(),
                name: "Owner Name".into(),
            }),
            created: datetime!(2026-02-05 10:00:00.123 UTC),
            validity: 900,
            expiration: None,
            last_used: Some(datetime!(2026-02-06 10:00 UTC)),
            managed: true,
            never_expires: true,
            secret: [0xab; 32],
        }
    }

    #[test]
    fn a_typed_token_shows_and_stores_what_the_wire_json_held() {
        let pat = stored(7);
        let shown = pat.to_json(Version::V2025);
        assert_eq!(
            shown,
            json!({
                "accessTokenValiditySeconds": 900,
                "created": "2026-02-05T10:00:00.123Z",
                "expirationDate": null,
                "id": "0123456789abcdef0123456789abcdef",
                "lastUsed": "2026-02-06T10:00:00.000Z",
                "managed": true,
                "name": "ci",
                "owner": {"id": "owner", "name": "Owner Name", "type": "IDENTITY"},
                "scope": ["idn:read"],
                "userAwareTokenNeverExpires": true,
            })
        );
        assert!(
            pat.to_json(Version::V3)
                .get("userAwareTokenNeverExpires")
                .is_none()
        );
        let file = serde_json::to_value(&pat).unwrap_or_default();
        assert_eq!(file["json"], shown);
        assert_eq!(file["secret"], "ab".repeat(32));
        assert_eq!(file["seq"], 7);
        let back: StoredPat =
            serde_json::from_value(file.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serde_json::to_value(&back).unwrap_or_default(), file);
        assert!(back.secret_matches(&"ab".repeat(32)));
        assert!(!back.secret_matches(&"AB".repeat(32)));
        // The default scope takes no heap, and shows as every scope.
        let mut all = stored(0);
        all.take_patched(
            json!({"scope": [ALL_SCOPES]})
                .as_object()
                .unwrap_or(&Map::new()),
        );
        assert!(all.scope.is_empty());
        assert_eq!(all.to_json(Version::V3)["scope"], json!([ALL_SCOPES]));
    }

    #[test]
    fn a_state_file_token_needs_an_id_and_secret_the_simulator_could_have_made() {
        let good = serde_json::to_value(stored(0)).unwrap_or_default();
        for (pointer, value, reason) in [
            (
                "/json/id",
                json!("0123456789ABCDEF0123456789ABCDEF"),
                "32 lowercase",
            ),
            ("/json/id", json!("0123"), "32 lowercase"),
            ("/secret", json!("ab"), "64 lowercase"),
            (
                "/json/created",
                json!("yesterday"),
                "created is not RFC 3339",
            ),
            ("/json/owner", json!({"name": "x"}), "owner has no id"),
        ] {
            let mut bad = good.clone();
            if let Some(slot) = bad.pointer_mut(pointer) {
                *slot = value;
            }
            let err = serde_json::from_value::<StoredPat>(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(reason), "{pointer}: {err}");
        }
        assert_eq!(parse_id("0123456789abcdef0123456789abcdeg"), None);
        assert_eq!(parse_id(&id_text(5)), Some(5));
    }

    #[tokio::test]
    async fn a_state_file_without_creation_numbers_lists_in_its_own_order() {
        let sim = SailPointSim::start().await;
        let mut tokens = Vec::new();
        for (i, name) in ["zeta", "alpha", "mid"].iter().enumerate() {
            let mut file = serde_json::to_value(stored(0)).unwrap_or_default();
            file["json"]["name"] = json!(name);
            file["json"]["id"] = json!(id_text(100 - i as u128));
            if let Value::Object(m) = &mut file {
                m.remove("seq");
            }
            tokens.push(file);
        }
        let mut state = sim.snapshot().unwrap_or_default();
        state["pats"] = Value::Array(tokens);
        sim.restore(state).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<Value> = sim
            .stored_tokens()
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(names, [json!("zeta"), json!("alpha"), json!("mid")]);
        assert!(sim.seed_pat("next").is_some());
        assert_eq!(
            sim.stored_tokens()[3]["name"],
            "next",
            "new tokens come after"
        );
    }

    /// Token `n` of `owner` (named `t<n>`), created `n`-th.
    fn owned(owner: &Arc<Owner>, n: u64) -> StoredPat {
        StoredPat {
            id: u128::from(n) * 0x1_0000_0001 + 7,
            name: format!("t{n}"),
            owner: Arc::clone(owner),
            ..stored(n)
        }
    }

    fn names(tokens: &[&StoredPat]) -> Vec<String> {
        tokens.iter().map(|p| p.name.clone()).collect()
    }

    #[tokio::test]
    async fn a_list_by_owner_reads_the_owners_tokens_in_creation_order() {
        let sim = SailPointSim::start().await;
        let mut state = lock(&sim.state);
        let (a, b) = (state.owner("a", "A"), state.owner("b", "B"));
        // Stored with no lookups built (as a state file leaves them), out of order.
        state.index = None;
        for n in [4_u64, 1, 2, 0, 3] {
            let owner = if n % 2 == 0 { &a } else { &b };
            let p = owned(owner, n);
            state.pats.insert(p.id, p);
        }
        assert_eq!(names(&state.owned_by("a")), ["t0", "t2", "t4"]);
        assert_eq!(names(&state.owned_by("b")), ["t1", "t3"]);
        assert!(state.owned_by("nobody").is_empty());
        // Kept up to date from then on.
        state.put_pat(owned(&b, 5));
        let mut renamed = owned(&b, 1);
        renamed.name = "renamed".into();
        state.put_pat(renamed);
        assert_eq!(names(&state.owned_by("b")), ["renamed", "t3", "t5"]);
        assert!(state.name_taken("b", "renamed", None));
        assert!(!state.name_taken("b", "t1", None));
        assert!(state.remove_pat(owned(&a, 2).id).is_some());
        assert_eq!(names(&state.owned_by("a")), ["t0", "t4"]);
        assert!(state.remove_pat(owned(&a, 0).id).is_some());
        assert!(state.remove_pat(owned(&a, 4).id).is_some());
        assert!(state.owned_by("a").is_empty());
        assert!(!state.name_taken("a", "t0", None));
        // A removed token put back (as a new one, created last) is listed once.
        let back = owned(&b, 3);
        assert!(state.remove_pat(back.id).is_some());
        state.put_pat(StoredPat { seq: 12, ..back });
        assert_eq!(names(&state.owned_by("b")), ["renamed", "t5", "t3"]);
        // Two tokens of one name (a state file may hold them): the name stays taken
        // until both are gone.
        let twin = |n| StoredPat {
            name: "twin".into(),
            ..owned(&b, n)
        };
        state.put_pat(twin(10));
        state.put_pat(twin(11));
        assert!(state.remove_pat(twin(10).id).is_some());
        assert!(state.name_taken("b", "twin", None));
        assert!(state.remove_pat(twin(11).id).is_some());
        assert!(!state.name_taken("b", "twin", None));
        // The lookups built again from the tokens say the same.
        state.index = None;
        assert_eq!(names(&state.owned_by("b")), ["renamed", "t5", "t3"]);
        assert!(state.owned_by("a").is_empty());
        drop(state);

        // Over HTTP: `owner-id` lists that owner's tokens only; without it, every token.
        let get = |query: &str| {
            let url = url::Url::parse(&format!(
                "http://127.0.0.1/v3/personal-access-tokens{query}"
            ))
            .unwrap();
            let request = Request::new("GET", url, Vec::new());
            list(&mut lock(&sim.state), &request, Version::V3, "b")
        };
        let listed = |query: &str| -> Vec<String> {
            let answer = get(query).json().unwrap();
            let names = answer.as_array().unwrap().iter();
            names
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(listed("?owner-id=b"), ["renamed", "t5", "t3"]);
        assert_eq!(listed("?owner-id=me"), ["renamed", "t5", "t3"]);
        assert!(listed("?owner-id=a").is_empty());
        assert_eq!(listed(""), ["renamed", "t5", "t3"]);
        // `filters` on top of the owner: never used, or last used at or before a time.
        lock(&sim.state)
            .pats
            .get_mut(&owned(&b, 3).id)
            .unwrap()
            .last_used = None;
        assert_eq!(listed("?owner-id=b&filters=lastUsed%20isnull"), ["t3"]);
        assert_eq!(
            listed("?owner-id=b&filters=lastUsed%20le%202026-02-06T10:00:00Z"),
            ["renamed", "t5"],
            "at the time is kept"
        );
        assert!(listed("?filters=lastUsed%20le%202026-02-06T09:59:59Z").is_empty());
        assert_eq!(get("?filters=name%20eq%20x").status, 400);
    }

    #[tokio::test]
    async fn an_owners_tokens_share_it_when_created_and_when_read_from_a_state_file() {
        let sim = SailPointSim::start().await;
        for name in ["x", "y"] {
            assert!(sim.seed_pat(name).is_some());
        }
        {
            let mut state = lock(&sim.state);
            let first = state.owner(SailPointSim::IDENTITY_ID, SailPointSim::IDENTITY_NAME);
            assert!(
                state
                    .pats
                    .values()
                    .filter(|p| &*p.owner.id == SailPointSim::IDENTITY_ID)
                    .all(|p| Arc::ptr_eq(&p.owner, &first))
            );
            // Another name of the same id is its own owner.
            let renamed = state.owner(SailPointSim::IDENTITY_ID, "Renamed");
            assert!(!Arc::ptr_eq(&renamed, &first));
            assert_eq!(&*renamed.name, "Renamed");
            let mut odd = owned(&renamed, 99);
            odd.name = "odd".into();
            state.put_pat(odd);
        }

        let copy = SailPointSim::start().await;
        copy.restore(sim.snapshot().unwrap()).unwrap();
        let state = lock(&copy.state);
        let mine: Vec<&StoredPat> = state
            .pats
            .values()
            .filter(|p| &*p.owner.name == SailPointSim::IDENTITY_NAME)
            .collect();
        assert_eq!(mine.len(), 2);
        assert!(
            Arc::ptr_eq(&mine[0].owner, &mine[1].owner),
            "shared after a restore"
        );
        let odd = state.pats.values().find(|p| p.name == "odd").unwrap();
        assert!(!Arc::ptr_eq(&odd.owner, &mine[0].owner));
        assert_eq!(&*odd.owner.name, "Renamed");
    }

    #[tokio::test]
    async fn a_name_is_taken_while_a_token_of_its_owner_has_it() {
        let sim = SailPointSim::start().await;
        assert!(sim.seed_pat("a").is_some());
        assert!(sim.seed_pat("a").is_none(), "the same name twice");
        let owner = SailPointSim::IDENTITY_ID;
        let mut state = lock(&sim.state);
        let Some(mut renamed) = state.pats.values().next().cloned() else {
            panic!("no token");
        };
        let id = renamed.id;
        renamed.name = "b".into();
        state.put_pat(renamed);
        assert!(!state.name_taken(owner, "a", None), "renamed away");
        assert!(state.name_taken(owner, "b", None));
        assert!(!state.name_taken(owner, "b", Some(id)), "its own name");
        assert!(!state.name_taken("someone-else", "b", None));
        assert!(state.remove_pat(id).is_some());
        assert!(!state.name_taken(owner, "b", None), "removed");
        assert!(state.remove_pat(id).is_none());
        drop(state);
        assert!(sim.seed_pat("b").is_some());
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
