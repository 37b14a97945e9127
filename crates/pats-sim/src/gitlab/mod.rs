//! A stateful simulator of GitLab's personal access token API (REST v4), standalone: not
//! yet part of the emulator ([`crate::start`]).
//!
//! [`GitLabSim::start`] serves on loopback, under `/api/v4`:
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
//!   JSON or form body; 201 with the token's value.
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
//! State is typed: users and tokens in `BTreeMap`s keyed by their integer ids (a page in id
//! order is a range), token values kept only as SHA-256 digests, indexed for the bearer
//! lookup. [`Faults`] are consulted first for every request.

use crate::answer::Answer;
use crate::fault::Faults;
use crate::server::{HttpServer, Request, ServerOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::{Date, OffsetDateTime};

mod auth;
mod pats;
mod state;

use auth::{Caller, authenticate, message, rate_limit, require_scope};
use state::{NewToken, State, lock};

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
}

/// The loopback GitLab simulator. Cloning shares the server and its state.
#[derive(Clone)]
pub struct GitLabSim {
    server: Arc<HttpServer>,
    state: Arc<Mutex<State>>,
    faults: Faults,
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
        match Self::serve(ServerOptions::default()) {
            Ok(sim) => sim,
            Err(e) => panic!("cannot start the GitLab simulator on 127.0.0.1: {e}"),
        }
    }

    /// Starts a simulator with these server options.
    pub(crate) fn serve(options: ServerOptions) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let faults = Faults::default();
        let (s, f) = (state.clone(), faults.clone());
        let server = HttpServer::start(
            options,
            Arc::new(move |r: &Request| f.respond(r, || handle(&mut lock(&s), r))),
        )?;
        Ok(Self {
            server: Arc::new(server),
            state,
            faults,
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
            })
            .1
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

    /// Every request received so far.
    pub async fn requests(&self) -> Vec<Request> {
        self.server.requests()
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
    let caller = match authenticate(state, request) {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    if let Some(answer) = rate_limit(state, caller.token_id) {
        return answer;
    }
    route.run(state, request, &caller)
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
