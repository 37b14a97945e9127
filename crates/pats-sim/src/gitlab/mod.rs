//! A stateful simulator of GitLab's personal access token API (REST v4): alone
//! ([`GitLabSim::start`], for tests of one provider) or as the emulator's fourth port
//! ([`crate::start`], `pats-sim serve`).
//!
//! It serves on loopback, under `/api/v4`:
//!
//! - `GET /personal_access_tokens` with every documented filter (`user_id`, `state`,
//!   `revoked`, `search`, `created_after`/`_before`, `last_used_after`/`_before`,
//!   `expires_after`/`_before`, `sort`) and offset pagination (`page`, `per_page` up to
//!   100, default 20), answered with `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page`,
//!   `X-Total`, `X-Total-Pages` and a `Link` header (`prev`, `next`, `first`, `last`);
//! - `GET` and `DELETE /personal_access_tokens/:id` and `/personal_access_tokens/self`;
//! - `POST /personal_access_tokens/:id/rotate` and `/personal_access_tokens/self/rotate`:
//!   the old token is revoked and a new one (same name, description and scopes; expiring
//!   in a week unless `expires_at` says otherwise) returned with its `token`; rotating a
//!   revoked token revokes its whole token family and answers 401;
//! - `POST /users/:user_id/personal_access_tokens` (administrators) and
//!   `POST /user/personal_access_tokens` (scopes `k8s_proxy` and `self_rotate` only), with a
//!   JSON or form body; 201 with the token's value;
//! - project access tokens, `/projects/:id/access_tokens` (`:id` a number or the
//!   URL-encoded path): list (the same filters but `user_id`, and pages), create (a bot
//!   user per token, a role up to the creator's), get, revoke, rotate and `self/rotate`;
//!   administrators and Maintainers of the project manage them (seed projects and roles
//!   with [`GitLabSim::seed_project`] and [`GitLabSim::seed_member`]);
//! - group access tokens, `/groups/:id/access_tokens`, the same calls for a group (its
//!   Owners create them; seed groups with [`GitLabSim::seed_group`] and
//!   [`GitLabSim::seed_group_member`]).
//!
//! Requests authenticate with `PRIVATE-TOKEN`, `Authorization: Bearer` or the
//! `private_token` query parameter (401 `{"message": "401 Unauthorized"}` when missing,
//! unknown, revoked or expired). Reads need the scope `api` or `read_api`, changes `api`
//! (self-rotation also `self_rotate`; self-inform and self-revoke any scope): 403
//! `insufficient_scope` otherwise. Administrators see every token and get 404 for a missing
//! one; other users see their own and get 401 for a missing or foreign one, as GitLab
//! documents. Errors are `{"message": …}`, `{"message": {field: [..]}}` or `{"error": …}`.
//! Each token is throttled (default 600 requests a minute): 429 `Retry later` with
//! `Retry-After` and `RateLimit-*` headers.
//!
//! State is typed: users, projects and tokens in tables keyed by their integer ids (a page
//! in id order is a walk of the table; the emulator journals the rows a request changed),
//! token values kept only as SHA-256 digests, indexed for the bearer lookup. [`Faults`] are consulted first for every request. With feature `contract`, every
//! other exchange is checked against `contracts/gitlab/openapi.json` (see `crate::contract`).

use crate::answer::Answer;
use crate::contract::{ContractGuard, Provider};
use crate::fault::Faults;
use crate::server::{HttpServer, Layer, Request, ServerOptions, layered};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::{Date, OffsetDateTime};

mod auth;
mod pats;
mod resources;
mod state;

use auth::{Caller, authenticate, message, rate_limit, require_scope};
use state::{Kind, NewToken, State, lock};

/// The prefix of every path.
const PREFIX: &str = "/api/v4";

/// A token as the simulator stores it (without its value), for tests to check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredToken {
    /// Its id.
    pub id: u64,
    /// Its user.
    pub user_id: u64,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last used.
    pub last_used_at: Option<OffsetDateTime>,
    /// The day it stops working.
    pub expires_at: Option<Date>,
    /// Revoked.
    pub revoked: bool,
    /// The token it was rotated from.
    pub rotated_from: Option<u64>,
    /// A project access token's project.
    pub project_id: Option<u64>,
    /// A group access token's group.
    pub group_id: Option<u64>,
    /// A project access token's role.
    pub access_level: Option<u8>,
}

/// The loopback GitLab simulator. Cloning shares the server and its state.
#[derive(Clone)]
pub struct GitLabSim {
    server: Arc<HttpServer>,
    state: Arc<Mutex<State>>,
    faults: Faults,
    /// Fails the test whose exchanges were off the vendor contract, when the last clone drops.
    _contract: Arc<ContractGuard>,
}

impl std::fmt::Debug for GitLabSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLabSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl GitLabSim {
    /// Starts an empty simulator on loopback (seed users and tokens with
    /// [`seed_user`](Self::seed_user) and [`seed_token`](Self::seed_token)).
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        match Self::serve(ServerOptions::default(), None) {
            Ok(sim) => sim,
            Err(e) => panic!("cannot start the GitLab simulator on 127.0.0.1: {e}"),
        }
    }

    /// Starts a simulator with these server options, its handler wrapped in `layer`.
    pub(crate) fn serve(options: ServerOptions, layer: Option<Layer>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let faults = Faults::default();
        let contract = ContractGuard::new(Provider::GitLab, &faults);
        let (s, f) = (state.clone(), faults.clone());
        let server = HttpServer::start(
            options,
            layered(layer, move |r: &Request| {
                f.respond_checked(Provider::GitLab, r, || handle(&mut lock(&s), r))
            }),
        )?;
        Ok(Self {
            server: Arc::new(server),
            state,
            faults,
            _contract: contract,
        })
    }

    /// The base URL (`http://127.0.0.1:<port>`); paths are under `/api/v4`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The armed faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Adds a user (an administrator when `admin`); answers its id.
    pub fn seed_user(&self, username: &str, admin: bool) -> u64 {
        lock(&self.state).add_user(username, admin)
    }

    /// Adds a token of `user_id` named `name` with `scopes`, never expiring; answers its
    /// value (its id is [`token_id`](Self::token_id)).
    pub fn seed_token(&self, user_id: u64, name: &str, scopes: &[&str]) -> String {
        self.seed_token_expiring(user_id, name, scopes, None)
    }

    /// [`seed_token`](Self::seed_token) with an expiry day.
    pub fn seed_token_expiring(
        &self,
        user_id: u64,
        name: &str,
        scopes: &[&str],
        expires_at: Option<Date>,
    ) -> String {
        lock(&self.state)
            .add_token(NewToken {
                user_id,
                name: name.to_owned(),
                description: None,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                expires_at,
                previous: None,
                resource: None,
            })
            .1
    }

    /// Adds a project at `path` (`group/project`); answers its id.
    pub fn seed_project(&self, path: &str) -> u64 {
        lock(&self.state).add_namespace(Kind::Project, path)
    }

    /// Makes `user_id` a member of `project_id` at `access_level` (10 Guest, 15 Planner,
    /// 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner); false when there is no such
    /// project.
    pub fn seed_member(&self, project_id: u64, user_id: u64, access_level: u8) -> bool {
        self.add_member(Kind::Project, project_id, user_id, access_level)
    }

    /// Adds a group at `path` (`group`, `group/subgroup`); answers its id.
    pub fn seed_group(&self, path: &str) -> u64 {
        lock(&self.state).add_namespace(Kind::Group, path)
    }

    /// Makes `user_id` a member of `group_id` at `access_level` (as
    /// [`seed_member`](Self::seed_member)); false when there is no such group.
    pub fn seed_group_member(&self, group_id: u64, user_id: u64, access_level: u8) -> bool {
        self.add_member(Kind::Group, group_id, user_id, access_level)
    }

    fn add_member(&self, kind: Kind, id: u64, user_id: u64, access_level: u8) -> bool {
        match lock(&self.state).namespaces_mut(kind).get_mut(&id) {
            Some(namespace) => {
                namespace.members.insert(user_id, access_level);
                true
            }
            None => false,
        }
    }

    /// The id of the token whose value is `value`.
    pub fn token_id(&self, value: &str) -> Option<u64> {
        lock(&self.state).token_by_value(value).map(|t| t.id)
    }

    /// A stored token.
    pub fn stored_token(&self, id: u64) -> Option<StoredToken> {
        lock(&self.state).tokens.get(&id).map(|t| StoredToken {
            id: t.id,
            user_id: t.user_id,
            name: t.name.clone(),
            description: t.description.clone(),
            scopes: t.scopes.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked: t.revoked,
            rotated_from: t.previous,
            project_id: t.resource.filter(|r| r.kind == Kind::Project).map(|r| r.id),
            group_id: t.resource.filter(|r| r.kind == Kind::Group).map(|r| r.id),
            access_level: t.resource.map(|r| r.access_level),
        })
    }

    /// How many tokens are stored (revoked ones included).
    pub fn token_count(&self) -> usize {
        lock(&self.state).tokens.len()
    }

    /// Sets a token's `last_used_at`; false when there is no such token.
    pub fn set_last_used(&self, id: u64, at: Option<OffsetDateTime>) -> bool {
        match lock(&self.state).tokens.get_mut(&id) {
            Some(token) => {
                token.last_used_at = at;
                true
            }
            None => false,
        }
    }

    /// Sets the throttle: at most `max` requests per `window` per token.
    pub fn set_rate_limit(&self, max: usize, window: Duration) {
        let mut state = lock(&self.state);
        state.rate_limit = (max, window);
        state.windows.clear();
    }

    /// Whether a token created without `expires_at` gets the maximum lifetime (true, the
    /// default, as GitLab's "require expiration" setting) or never expires.
    pub fn set_require_expiry(&self, required: bool) {
        lock(&self.state).require_expiry = required;
    }

    /// The id of the user named `username`.
    pub fn user_id(&self, username: &str) -> Option<u64> {
        lock(&self.state)
            .users
            .iter()
            .find(|(_, u)| u.username == username)
            .map(|(id, _)| *id)
    }

    /// The id of the project at `path`.
    pub fn project_id(&self, path: &str) -> Option<u64> {
        self.namespace_id(Kind::Project, path)
    }

    /// The id of the group at `path`.
    pub fn group_id(&self, path: &str) -> Option<u64> {
        self.namespace_id(Kind::Group, path)
    }

    fn namespace_id(&self, kind: Kind, path: &str) -> Option<u64> {
        lock(&self.state)
            .namespaces(kind)
            .iter()
            .find(|(_, p)| p.path == path)
            .map(|(id, _)| *id)
    }

    /// Adds a token of `user_id` named `name` as `POST /users/:id/personal_access_tokens`
    /// without `expires_at` would (scope `api`, the maximum lifetime when expiry is
    /// required); answers its id and value, or `None` when there is no such user.
    pub fn seed_pat(&self, user_id: u64, name: &str) -> Option<(u64, String)> {
        let mut state = lock(&self.state);
        if !state.users.contains_key(&user_id) {
            return None;
        }
        let expires_at = state.default_expiry();
        Some(state.add_token(NewToken {
            user_id,
            name: name.to_owned(),
            description: None,
            scopes: vec!["api".to_owned()],
            expires_at,
            previous: None,
            resource: None,
        }))
    }

    /// Every request received so far.
    pub async fn requests(&self) -> Vec<Request> {
        self.server.requests()
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
impl GitLabSim {
    /// Its server (request log).
    pub(crate) fn server(&self) -> &HttpServer {
        &self.server
    }

    /// The state, for a state document.
    pub(crate) fn snapshot(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(&*lock(&self.state))
    }

    /// Replaces the state with one from a state document (rate windows start afresh).
    pub(crate) fn restore(&self, state: serde_json::Value) -> serde_json::Result<()> {
        let mut restored: State = serde_json::from_value(state)?;
        restored.replaced = true;
        *lock(&self.state) = restored;
        Ok(())
    }

    /// What changed since the last call, for the emulator's journal.
    pub(crate) fn take_changes(&self) -> serde_json::Result<crate::table::Changes> {
        lock(&self.state).take_changes()
    }

    /// Replays what [`take_changes`](Self::take_changes) returned.
    pub(crate) fn apply_changes(&self, change: &serde_json::Value) -> Result<(), String> {
        let mut state = lock(&self.state);
        // Replayed rows may carry digests the index does not know: rebuilt when needed.
        state.by_digest = None;
        state.by_user = None;
        state.apply_changes(change)
    }

    /// Replaces the state with an empty one (no users, no tokens).
    pub(crate) fn clear(&self) {
        let mut state = lock(&self.state);
        *state = State::default();
        state.replaced = true;
    }

    /// The user of the token whose value is `value` (revoked or not).
    pub fn token_user(&self, value: &str) -> Option<u64> {
        lock(&self.state).token_by_value(value).map(|t| t.user_id)
    }

    /// Whether user `id` exists.
    pub(crate) fn has_user(&self, id: u64) -> bool {
        lock(&self.state).users.contains_key(&id)
    }

    /// The expiry a token created without `expires_at` gets now.
    pub(crate) fn default_expiry(&self) -> Option<Date> {
        lock(&self.state).default_expiry()
    }

    /// Whether `scope` is one GitLab documents for personal access tokens.
    pub(crate) fn is_scope(scope: &str) -> bool {
        pats::SCOPES.contains(&scope)
    }

    /// Whether `level` is a role GitLab documents (10, 15, 20, 30, 40, 50).
    pub(crate) fn is_access_level(level: u8) -> bool {
        resources::LEVELS.contains(&level)
    }

    /// A `YYYY-MM-DD` day.
    pub(crate) fn parse_day(text: &str) -> Option<Date> {
        pats::parse_date(text)
    }
}

fn handle(state: &mut State, request: &Request) -> Answer {
    let path = request.url.path();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return message(404, "404 Not Found");
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let method = request.method.as_str();
    // Route first (an unknown path is a 404 whoever asks), then authenticate.
    if let [
        kind @ ("projects" | "groups"),
        resource,
        "access_tokens",
        rest @ ..,
    ] = segments.as_slice()
    {
        let kind = if *kind == "groups" {
            Kind::Group
        } else {
            Kind::Project
        };
        let route = match (method, rest) {
            ("GET", []) => resources::Route::List(resource),
            ("POST", []) => resources::Route::Create(resource),
            ("POST", ["self", "rotate"]) => resources::Route::RotateSelf(resource),
            ("GET", [id]) => resources::Route::Get(resource, id),
            ("DELETE", [id]) => resources::Route::Revoke(resource, id),
            ("POST", [id, "rotate"]) => resources::Route::Rotate(resource, id),
            (_, [] | [_] | [_, "rotate"]) => return message(405, "405 Method Not Allowed"),
            _ => return message(404, "404 Not Found"),
        };
        return match authenticated(state, request) {
            Ok(caller) => route.run(kind, state, request, &caller),
            Err(answer) => answer,
        };
    }
    let route = match (method, segments.as_slice()) {
        ("GET", ["personal_access_tokens"]) => Route::List,
        ("GET", ["personal_access_tokens", "self"]) => Route::GetSelf,
        ("DELETE", ["personal_access_tokens", "self"]) => Route::RevokeSelf,
        ("POST", ["personal_access_tokens", "self", "rotate"]) => Route::RotateSelf,
        ("GET", ["personal_access_tokens", id]) => Route::Get(id),
        ("DELETE", ["personal_access_tokens", id]) => Route::Revoke(id),
        ("POST", ["personal_access_tokens", id, "rotate"]) => Route::Rotate(id),
        ("POST", ["users", user, "personal_access_tokens"]) => Route::CreateFor(user),
        ("POST", ["user", "personal_access_tokens"]) => Route::CreateSelf,
        (
            _,
            ["personal_access_tokens", ..]
            | ["users", _, "personal_access_tokens"]
            | ["user", "personal_access_tokens"],
        ) => {
            return message(405, "405 Method Not Allowed");
        }
        _ => return message(404, "404 Not Found"),
    };
    match authenticated(state, request) {
        Ok(caller) => route.run(state, request, &caller),
        Err(answer) => answer,
    }
}

/// The caller, once authenticated and within the throttle.
fn authenticated(state: &mut State, request: &Request) -> Result<Caller, Answer> {
    let caller = authenticate(state, request)?;
    match rate_limit(state, caller.token_id) {
        Some(answer) => Err(answer),
        None => Ok(caller),
    }
}

/// What a request asks for.
enum Route<'a> {
    List,
    Get(&'a str),
    GetSelf,
    Revoke(&'a str),
    RevokeSelf,
    Rotate(&'a str),
    RotateSelf,
    CreateFor(&'a str),
    CreateSelf,
}

impl Route<'_> {
    fn run(self, state: &mut State, request: &Request, caller: &Caller) -> Answer {
        const READ: &[&str] = &["api", "read_api"];
        const WRITE: &[&str] = &["api"];
        let scopes: &[&str] = match self {
            Route::GetSelf | Route::RevokeSelf => &[],
            Route::List | Route::Get(_) => READ,
            Route::RotateSelf => &["api", "self_rotate"],
            _ => WRITE,
        };
        if !scopes.is_empty()
            && let Some(answer) = require_scope(state, caller, scopes)
        {
            return answer;
        }
        let id = |segment: &str| pats::path_id(segment);
        match self {
            Route::List => pats::list(state, request, caller),
            Route::GetSelf => pats::get(state, caller, caller.token_id),
            Route::RevokeSelf => pats::revoke(state, caller, caller.token_id),
            Route::RotateSelf => pats::rotate(state, request, caller, caller.token_id),
            Route::Get(segment) => match id(segment) {
                Ok(id) => pats::get(state, caller, id),
                Err(answer) => answer,
            },
            Route::Revoke(segment) => match id(segment) {
                Ok(id) => pats::revoke(state, caller, id),
                Err(answer) => answer,
            },
            Route::Rotate(segment) => match id(segment) {
                Ok(id) => pats::rotate(state, request, caller, id),
                Err(answer) => answer,
            },
            Route::CreateFor(segment) => match segment.parse::<u64>() {
                Ok(user) if user > 0 => pats::create(state, request, caller, Some(user)),
                _ => auth::error(400, "user_id is invalid"),
            },
            Route::CreateSelf => pats::create(state, request, caller, None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Setup {
        state: State,
        admin: String,
        alice: String,
    }

    fn setup() -> Setup {
        let mut state = State::default();
        let root = state.add_user("root", true);
        let alice = state.add_user("alice", false);
        let token = |state: &mut State, user, scopes: &[&str]| {
            state
                .add_token(NewToken {
                    user_id: user,
                    name: "t".into(),
                    description: None,
                    scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                    expires_at: None,
                    previous: None,
                    resource: None,
                })
                .1
        };
        let admin = token(&mut state, root, &["api"]);
        let alice = token(&mut state, alice, &["self_rotate"]);
        Setup {
            state,
            admin,
            alice,
        }
    }

    fn call(
        state: &mut State,
        token: &str,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
    ) -> Answer {
        let url = url::Url::parse(&format!("http://127.0.0.1{path}")).unwrap();
        let mut request = Request::new(method, url, Vec::new());
        request
            .headers
            .insert("private-token", http::HeaderValue::from_str(token).unwrap());
        if let Some((content_type, body)) = body {
            request.body = body.as_bytes().to_vec();
            request.headers.insert(
                "content-type",
                http::HeaderValue::from_str(content_type).unwrap(),
            );
        }
        handle(state, &request)
    }

    const JSON: &str = "application/json";
    const FORM: &str = "application/x-www-form-urlencoded";

    #[test]
    fn routes_are_gitlabs_and_unknown_ones_answer_before_authentication() {
        let Setup { mut state, .. } = setup();
        assert_eq!(
            call(&mut state, "x", "GET", "/api/v4/nothing", None).status,
            404
        );
        assert_eq!(
            call(&mut state, "x", "GET", "/personal_access_tokens", None).status,
            404
        );
        assert_eq!(
            call(
                &mut state,
                "x",
                "PUT",
                "/api/v4/personal_access_tokens/1",
                None
            )
            .status,
            405
        );
        let answer = call(
            &mut state,
            "glpat-nope",
            "GET",
            "/api/v4/personal_access_tokens",
            None,
        );
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.json().unwrap(),
            serde_json::json!({"message": "401 Unauthorized"})
        );
    }

    #[test]
    fn creates_validate_like_gitlab_and_take_json_or_forms() {
        let Setup {
            mut state, admin, ..
        } = setup();
        let path = "/api/v4/users/2/personal_access_tokens";
        let mut create =
            |body: &str, ct: &str| call(&mut state, &admin, "POST", path, Some((ct, body)));
        let cases = [
            (
                r#"{"scopes": ["api"]}"#,
                serde_json::json!({"error": "name is missing"}),
            ),
            (
                r#"{"name": "n"}"#,
                serde_json::json!({"error": "scopes is missing"}),
            ),
            (
                r#"{"name": "n", "scopes": []}"#,
                serde_json::json!({"error": "scopes does not have a valid value"}),
            ),
            (
                r#"{"name": "n", "scopes": ["nope"]}"#,
                serde_json::json!({"error": "scopes does not have a valid value"}),
            ),
            (
                r#"{"name": " ", "scopes": ["api"]}"#,
                serde_json::json!({"message": {"name": ["can't be blank"]}}),
            ),
            (
                r#"{"name": "n", "scopes": ["api"], "expires_at": "tomorrow"}"#,
                serde_json::json!({"error": "expires_at is invalid"}),
            ),
            (
                r#"{"name": "n", "scopes": ["api"], "expires_at": "2001-01-01"}"#,
                serde_json::json!({"message": {"expires_at": ["must not be in the past"]}}),
            ),
            (
                "[1]",
                serde_json::json!({"message": "400 Bad request - The request body is not a JSON object"}),
            ),
        ];
        for (body, expected) in cases {
            let answer = create(body, JSON);
            assert_eq!(
                (answer.status, answer.json().unwrap()),
                (400, expected),
                "{body}"
            );
        }
        let long = format!(
            r#"{{"name": "n", "scopes": ["api"], "description": "{}"}}"#,
            "x".repeat(256)
        );
        assert_eq!(create(&long, JSON).status, 400);
        let answer = create("name=form&scopes[]=read_api&scopes[]=read_user", FORM);
        assert_eq!(answer.status, 201);
        let body = answer.json().unwrap();
        assert_eq!(body["scopes"], serde_json::json!(["read_api", "read_user"]));
        assert_eq!(body["user_id"], 2);
        assert!(body["token"].as_str().unwrap().starts_with("glpat-"));
        // The maximum lifetime when no date is given.
        let max = date_after(365);
        assert_eq!(body["expires_at"], serde_json::json!(max));
        assert_eq!(
            call(
                &mut state,
                &admin,
                "POST",
                "/api/v4/users/9/personal_access_tokens",
                Some((JSON, r#"{"name": "n", "scopes": ["api"]}"#))
            )
            .status,
            404
        );
    }

    fn date_after(days: i64) -> String {
        pats::date_text(state::today() + time::Duration::days(days))
    }

    #[test]
    fn rotation_revokes_the_old_token_and_keeps_what_it_was() {
        let Setup {
            mut state,
            admin,
            alice,
        } = setup();
        // alice's token may only self-rotate.
        assert_eq!(
            call(
                &mut state,
                &alice,
                "GET",
                "/api/v4/personal_access_tokens",
                None
            )
            .status,
            403
        );
        assert_eq!(
            call(
                &mut state,
                &alice,
                "POST",
                "/api/v4/personal_access_tokens/2/rotate",
                None
            )
            .status,
            403
        );
        let answer = call(
            &mut state,
            &alice,
            "POST",
            "/api/v4/personal_access_tokens/self/rotate",
            Some((JSON, &format!(r#"{{"expires_at": "{}"}}"#, date_after(3)))),
        );
        assert_eq!(answer.status, 200);
        let body = answer.json().unwrap();
        assert_eq!(
            (body["id"].as_u64(), body["name"].as_str()),
            (Some(3), Some("t"))
        );
        assert_eq!(body["scopes"], serde_json::json!(["self_rotate"]));
        assert_eq!(body["expires_at"], serde_json::json!(date_after(3)));
        assert!(state.tokens.get(&2).unwrap().revoked);
        assert_eq!(state.tokens.get(&3).unwrap().previous, Some(2));
        assert_eq!(
            call(
                &mut state,
                &alice,
                "GET",
                "/api/v4/personal_access_tokens/self",
                None
            )
            .status,
            401
        );
        // By id, as an administrator: a week by default; a missing token is a 404.
        let answer = call(
            &mut state,
            &admin,
            "POST",
            "/api/v4/personal_access_tokens/3/rotate",
            None,
        );
        assert_eq!(
            answer.json().unwrap()["expires_at"],
            serde_json::json!(date_after(7))
        );
        assert_eq!(
            call(
                &mut state,
                &admin,
                "POST",
                "/api/v4/personal_access_tokens/99/rotate",
                None
            )
            .status,
            404
        );
        assert_eq!(
            call(
                &mut state,
                &admin,
                "POST",
                "/api/v4/personal_access_tokens/x/rotate",
                None
            )
            .status,
            400
        );
        // Reuse of a revoked token: the family (2, 3, 4) is revoked.
        assert_eq!(
            call(
                &mut state,
                &admin,
                "POST",
                "/api/v4/personal_access_tokens/2/rotate",
                None
            )
            .status,
            401
        );
        assert!(state.tokens.get(&4).unwrap().revoked);
        assert!(!state.tokens.get(&1).unwrap().revoked);
    }

    #[test]
    fn self_calls_need_no_scope_and_revoke_the_caller() {
        let Setup {
            mut state, alice, ..
        } = setup();
        let answer = call(
            &mut state,
            &alice,
            "GET",
            "/api/v4/personal_access_tokens/self",
            None,
        );
        assert_eq!(answer.status, 200);
        assert!(answer.json().unwrap()["last_used_at"].is_string());
        assert_eq!(
            call(
                &mut state,
                &alice,
                "DELETE",
                "/api/v4/personal_access_tokens/self",
                None
            )
            .status,
            204
        );
        assert!(state.tokens.get(&2).unwrap().revoked);
        assert_eq!(
            call(
                &mut state,
                &alice,
                "DELETE",
                "/api/v4/personal_access_tokens/self",
                None
            )
            .status,
            401
        );
    }

    #[test]
    fn group_access_tokens_are_made_by_owners_and_live_in_their_group() {
        let Setup {
            mut state, admin, ..
        } = setup();
        let group = state.add_namespace(Kind::Group, "acme");
        let other = state.add_namespace(Kind::Group, "other");
        let bob = state.add_user("bob", false);
        let bob_token = state
            .add_token(NewToken {
                user_id: bob,
                name: "bob".into(),
                description: None,
                scopes: vec!["api".into()],
                expires_at: None,
                previous: None,
                resource: None,
            })
            .1;
        let member = |state: &mut State, level| {
            state
                .groups
                .get_mut(&group)
                .unwrap()
                .members
                .insert(bob, level);
        };
        let create = r#"{"name": "ci", "scopes": ["read_api", "self_rotate"], "access_level": 30}"#;
        let base = "/api/v4/groups/acme/access_tokens";
        // Not a member: the group is not visible; a Maintainer may not create.
        let answer = call(&mut state, &bob_token, "POST", base, Some((JSON, create)));
        assert_eq!(
            (answer.status, answer.json().unwrap()),
            (404, serde_json::json!({"message": "404 Group Not Found"}))
        );
        member(&mut state, 40);
        assert_eq!(
            call(&mut state, &bob_token, "POST", base, Some((JSON, create))).status,
            403
        );
        member(&mut state, 50);
        let answer = call(&mut state, &bob_token, "POST", base, Some((JSON, create)));
        assert_eq!(answer.status, 201);
        let made = answer.json().unwrap();
        assert_eq!(made["access_level"], 30);
        // No expires_at: the maximum lifetime, as the page says.
        assert_eq!(made["expires_at"], serde_json::json!(date_after(365)));
        let id = made["id"].as_u64().unwrap();
        let bot = made["user_id"].as_u64().unwrap();
        assert_eq!(
            state.users.get(&bot).unwrap().username,
            format!("group_{group}_bot_{bot}")
        );
        assert_eq!(
            state.groups.get(&group).unwrap().members.get(&bot),
            Some(&30)
        );
        let resource = state.tokens.get(&id).unwrap().resource.unwrap();
        assert_eq!((resource.kind, resource.id), (Kind::Group, group));

        // Listed and found in its group only; a project of the same id is another thing.
        let list = call(
            &mut state,
            &admin,
            "GET",
            &format!("{base}?state=active"),
            None,
        );
        let ids: Vec<u64> = list
            .json()
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [id]);
        let url = |g: u64, rest: &str| format!("/api/v4/groups/{g}/access_tokens/{rest}");
        assert_eq!(
            call(
                &mut state,
                &admin,
                "GET",
                &url(group, &id.to_string()),
                None
            )
            .status,
            200
        );
        assert_eq!(
            call(
                &mut state,
                &admin,
                "GET",
                &url(other, &id.to_string()),
                None
            )
            .status,
            404
        );
        let project = format!("/api/v4/projects/{group}/access_tokens/{id}");
        assert_eq!(call(&mut state, &admin, "GET", &project, None).status, 404);

        // It rotates itself on its group (scope self_rotate), not on another.
        let value = made["token"].as_str().unwrap().to_owned();
        assert_eq!(
            call(&mut state, &value, "POST", &url(other, "self/rotate"), None).status,
            404
        );
        let answer = call(&mut state, &value, "POST", &url(group, "self/rotate"), None);
        assert_eq!(answer.status, 200);
        let rotated = answer.json().unwrap();
        assert_eq!(rotated["access_level"], 30);
        let new_id = rotated["id"].as_u64().unwrap();
        assert!(state.tokens.get(&id).unwrap().revoked);
        assert_eq!(state.tokens.get(&new_id).unwrap().resource, Some(resource));
        // A personal token has no group: 405.
        assert_eq!(
            call(&mut state, &admin, "POST", &url(group, "self/rotate"), None).status,
            405
        );
        // Revoked by its group's Owner; twice is a 400.
        let revoke = url(group, &new_id.to_string());
        assert_eq!(
            call(&mut state, &bob_token, "DELETE", &revoke, None).status,
            204
        );
        assert_eq!(
            call(&mut state, &bob_token, "DELETE", &revoke, None).status,
            400
        );
        assert_eq!(
            call(&mut state, &admin, "PUT", &url(group, "1"), None).status,
            405
        );
    }
}
