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
//! - listings page by offset, default limit 100, at most 1000 (more: `invalid_argument`).
//!   A user's tokens (v1 `_search`; v2 with a `userIdFilter`, and maybe an
//!   `organizationIdFilter`) and the unfiltered v2 list, sorted by creation date or id, are
//!   walked in creation order from an index: a page costs O(offset + page), whatever else
//!   is stored; other filters and sorting columns filter and sort every token;
//! - a PAT's secret is `sim_pat_<token id>_<24 random letters and digits>`: a call with
//!   it finds its token by that id (secrets of older state files, which do not name their
//!   token, through an index of them), and only the whole secret matches;
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
use crate::table::Table;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, MutexGuard};

/// The throwaway test RSA private key (PKCS#1 PEM) of `fixtures/zitadel/`.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../../fixtures/zitadel/test_key.pem");

/// The public half of [`TEST_PRIVATE_KEY_PEM`].
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../../fixtures/zitadel/test_key.pub.pem");

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

mod auth;
mod proto;
mod state;
mod v1;
mod v2;

use auth::authenticate;
use proto::*;
pub use state::StoredPat;
use state::*;
use v1::*;
use v2::*;

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

    /// The id of the user of `username` in `org_id`.
    pub fn user_id_of(&self, org_id: &str, username: &str) -> Option<String> {
        self.lock()
            .users
            .iter()
            .find(|(_, u)| u.org == org_id && u.username == username)
            .map(|(id, _)| id.clone())
    }

    /// Starts a simulator with these server options, its handler wrapped in `layer`.
    pub(crate) fn serve(options: ServerOptions, layer: Option<Layer>) -> std::io::Result<Self> {
        let mut state = State {
            base_url: String::new(),
            users: Table::new(),
            orgs: vec![Self::DEFAULT_ORG.to_owned()],
            pats: Table::new(),
            pat_secrets: Table::new(),
            index: std::cell::OnceCell::new(),
            access_tokens: Table::new(),
            next_id: 200_000_000_000_000_000,
            sequence: 0,
            access_token_lifetime: 3600,
            exchanges: 0,
            int64_as_numbers: false,
            last_assertion: None,
            restricted: Vec::new(),
            client_secrets: Table::new(),
            last_client_auth: None,
            journaled: Value::Null,
            replaced: false,
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
        self.push_key(user_id, public_pem, |_| key_id.to_owned())
            .is_some()
    }

    /// Registers an RSA public key (PEM) for machine user `user_id` under a new key id,
    /// which it returns (`None`: no such machine user, or not an RSA public key).
    pub fn add_key(&self, user_id: &str, public_pem: &str) -> Option<String> {
        self.push_key(user_id, public_pem, State::new_id)
    }

    /// Adds `public_pem` to machine user `user_id`'s keys under the id `key_id` gives (asked
    /// only once the key and the user are known good); the id, or `None`.
    fn push_key(
        &self,
        user_id: &str,
        public_pem: &str,
        key_id: impl FnOnce(&mut State) -> String,
    ) -> Option<String> {
        if !jwt::is_rsa_public_key(public_pem) {
            return None;
        }
        let mut state = self.lock();
        if !state.users.get(user_id).is_some_and(|u| u.machine) {
            return None;
        }
        let key_id = key_id(&mut state);
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
        self.lock().pats.values().cloned().collect()
    }

    /// The stored PATs of `user_id`.
    pub fn pats_of(&self, user_id: &str) -> Vec<StoredPat> {
        self.lock()
            .pats
            .values()
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
impl ZitadelSim {
    /// Its server (request log).
    pub(crate) fn server(&self) -> &HttpServer {
        &self.server
    }

    /// The state, for a state file.
    pub(crate) fn snapshot(&self) -> serde_json::Result<Value> {
        serde_json::to_value(&*self.lock())
    }

    /// Replaces the state with one from a state file.
    pub(crate) fn restore(&self, state: Value) -> serde_json::Result<()> {
        let mut restored: State = serde_json::from_value(state)?;
        restored.replaced = true;
        let mut state = self.lock();
        let base_url = std::mem::take(&mut state.base_url);
        *state = restored;
        state.base_url = base_url;
        Ok(())
    }

    /// What changed since the last call, for the emulator's journal.
    pub(crate) fn take_changes(&self) -> serde_json::Result<crate::table::Changes> {
        self.lock().take_changes()
    }

    /// Replays what [`take_changes`](Self::take_changes) returned.
    pub(crate) fn apply_changes(&self, change: &Value) -> Result<(), String> {
        let mut state = self.lock();
        state.index.take();
        state.apply_changes(change)
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
