//! A stateful simulator of the Dfns PAT API, including User Action Signing.
//!
//! [`DfnsSim::start`] serves on loopback:
//!
//! - `GET /auth/pats`, `GET /auth/pats/{id}`, and the signed changes `POST /auth/pats`,
//!   `PUT /auth/pats/{id}`, `PUT /auth/pats/{id}/activate`, `PUT /auth/pats/{id}/deactivate`,
//!   `DELETE /auth/pats/{id}`;
//! - `POST /auth/action/init` (`userActionServerKind` optional, `Api` or `Staff`; a fresh
//!   random challenge, a JWT challenge identifier, `supportedCredentialKinds` in the user
//!   action shape `[{kind, factor, requiresSecondFactor}]`) and `POST /auth/action`, which
//!   verifies the ECDSA P-256 signature over the client data against the user's registered
//!   credential (`type == "key.get"`) or a WebAuthn `Fido2` assertion of a credential from
//!   [`DfnsSim::add_webauthn_credential`], checks the challenge, that it is unused,
//!   and issues a single-use user action token bound to the signed method, path and body.
//!
//! The answers follow the Dfns contract (`contracts/dfns/`); what differs on purpose is in
//! `contracts/deviations.json`. Tokens are JWTs carrying `iss`, `aud`, `sub`, `iat`, `exp`
//! and `https://custom/app_metadata` with `orgId`, `userId` and `tokenKind`, as the official
//! TypeScript SDK reads them. A POST or PUT without `Content-Length` (or chunked encoding)
//! is answered 411.
//!
//! Every request needs `Authorization: Bearer` with a registered user's token or the access
//! token of an active PAT (PATs cannot create PATs). Bodies are validated as documented:
//! unknown fields are refused (400), `name` is required, lifetimes must be positive, a
//! duplicate `externalId` is 409 and an unknown token id 404. Errors use the body
//! `{"error": {"status": …, "message": …}}`; any user action mismatch answers 401.
//!
//! [`Faults`] inject 429, 5xx, 202 (policy approval) answers and latency.

use crate::answer::Answer;
use crate::contract::{ContractGuard, Provider};
use crate::fault::{Fault, FaultRule, Faults};
use crate::server::{HttpServer, Layer, Request, ServerOptions, layered};
use crate::table::Table;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rand_core::{OsRng, RngCore as _};
use serde_json::{Map, Value, json};
use sha2::Digest as _;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod auth;
mod compact;
mod pats;
mod state;
mod wire;

use auth::*;
use compact::*;
use state::*;
use wire::*;

/// The header carrying the user action token.
pub const USER_ACTION_HEADER: &str = "x-dfns-useraction";

/// A user registered with the simulator, with everything a client needs to act as them.
///
/// `Debug` hides the auth token and the private key.
#[derive(Clone)]
pub struct RegisteredUser {
    /// The user id (`us-…`).
    pub user_id: String,
    /// The bearer token to send as `Authorization: Bearer …`.
    pub auth_token: String,
    /// The id of the user's signing credential (`cr-…`).
    pub credential_id: String,
    /// The credential's private key, PKCS#8 PEM (P-256).
    pub private_key_pem: String,
    /// The credential's public key, SPKI PEM.
    pub public_key_pem: String,
}

impl fmt::Debug for RegisteredUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredUser")
            .field("user_id", &self.user_id)
            .field("auth_token", &"[REDACTED]")
            .field("credential_id", &self.credential_id)
            .field("private_key_pem", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// The relying party id of the simulator's WebAuthn challenges (`rp.id`): a passkey
/// assertion's authenticator data starts with its SHA-256.
pub const RP_ID: &str = "localhost";

/// The issuer of the simulator's tokens.
pub const TOKEN_ISSUER: &str = "auth.dfns.io";
/// The audience of the simulator's tokens.
pub const TOKEN_AUDIENCE: &str = "dfns:auth:user";
/// The claim that carries `{orgId, userId, tokenKind}` in Dfns tokens (`@dfns/sdk` reads
/// `orgId` from it, `utils/authToken.ts`).
pub const APP_METADATA_CLAIM: &str = "https://custom/app_metadata";

impl State {
    fn handle(&mut self, request: &Request) -> Answer {
        length_given(request)
            .and_then(|()| self.dispatch(request))
            .unwrap_or_else(Reject::into_answer)
    }

    fn principal(&self, request: &Request) -> Result<Principal, Reject> {
        let token = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| error(401, "Unauthorized: missing bearer token"))?;
        match self.bearers.get(&TokenDigest::of(token)) {
            None => Err(error(401, "Unauthorized: invalid or expired token")),
            Some(Bearer::User(id)) => Ok(Principal::User(*id)),
            Some(Bearer::Pat(token_id)) => self
                .usable_pat(token, *token_id)
                .map(|p| Principal::Pat {
                    user_id: p.linked_user_id,
                })
                .ok_or_else(|| error(401, "Unauthorized: token is deactivated or deleted")),
        }
    }

    /// The PAT `id` whose access token is `token` (the bearer table's answer for it), if
    /// it is active and not deleted. Its user is the one the token names (the token was
    /// found by its digest, so it is one the simulator minted): one lookup. A token that
    /// names none (not minted here) is looked for among every token.
    fn usable_pat(&self, token: &str, id: Id) -> Option<&StoredPat> {
        let pat = match claimed_user(token) {
            Some(user) => self.pats.get(&PatKey { user, token: id }),
            None => self.pats.values().find(|p| p.token_id == id),
        };
        pat.filter(|p| p.is_active && !p.deleted)
    }

    fn dispatch(&mut self, request: &Request) -> Outcome {
        let principal = self.principal(request)?;
        let path = request.url.path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["auth", "action", "init"]) => self.action_init(request, &principal),
            ("POST", ["auth", "action"]) => self.action(request, &principal),
            ("GET", ["auth", "pats"]) => Ok(self.list(&principal)),
            ("POST", ["auth", "pats"]) => {
                if matches!(principal, Principal::Pat { .. }) {
                    return Err(error(403, "Personal Access Token not allowed"));
                }
                self.consume_user_action(request, &principal)?;
                self.create(request, &principal)
            }
            ("GET", ["auth", "pats", id]) => self.get(&principal, id),
            ("PUT", ["auth", "pats", id]) => {
                self.consume_user_action(request, &principal)?;
                self.update(request, &principal, id)
            }
            ("DELETE", ["auth", "pats", id]) => {
                self.consume_user_action(request, &principal)?;
                no_body(request)?;
                let key = self.find(&principal, id)?;
                Ok(self.change(key, |pat| {
                    pat.deleted = true;
                    pat.is_active = false;
                }))
            }
            ("PUT", ["auth", "pats", id, verb @ ("activate" | "deactivate")]) => {
                self.consume_user_action(request, &principal)?;
                no_body(request)?;
                let active = *verb == "activate";
                let key = self.find(&principal, id)?;
                Ok(self.change(key, |pat| pat.is_active = active))
            }
            _ => Err(error(404, format!("{} {path} not found", request.method))),
        }
    }
}

fn respond(state: &Mutex<State>, faults: &Faults, request: &Request) -> Answer {
    faults.respond_checked(Provider::Dfns, request, || match state.lock() {
        Ok(mut state) => state.handle(request),
        Err(_) => error(500, "simulator state is poisoned").into_answer(),
    })
}

/// The Dfns simulator. Cloning shares it; dropping the last clone stops the server.
#[derive(Clone)]
pub struct DfnsSim {
    server: Arc<HttpServer>,
    state: Arc<Mutex<State>>,
    faults: Faults,
    /// Fails the test whose exchanges were off the vendor contract, when the last clone drops.
    _contract: Arc<ContractGuard>,
}

impl fmt::Debug for DfnsSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DfnsSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl DfnsSim {
    /// Starts a simulator on `127.0.0.1` (any free port) with one empty organization.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        match Self::serve(ServerOptions::default(), None) {
            Ok(sim) => sim,
            Err(e) => panic!("cannot start the Dfns simulator on 127.0.0.1: {e}"),
        }
    }

    /// Creates a PAT named `name` for `user_id` as an administrator would, without the
    /// user-action round trip; answers the token as `POST /auth/pats` does (access token
    /// included).
    pub fn seed_pat(&self, user_id: &str, name: &str) -> Option<Value> {
        let public_key = p256::SecretKey::random(&mut OsRng)
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .ok()?;
        let body = json!({ "name": name, "publicKey": public_key }).to_string();
        let url = url::Url::parse("http://127.0.0.1/auth/pats").ok()?;
        let request = Request::new("POST", url, body.into_bytes());
        let user_id = Id::parse(user_id)?;
        let mut state = self.state();
        if !state.users.contains_key(&user_id) {
            return None;
        }
        let answer = state.create(&request, &Principal::User(user_id)).ok()?;
        answer.json()
    }

    /// Starts a simulator with these server options, its handler wrapped in `layer`.
    pub(crate) fn serve(options: ServerOptions, layer: Option<Layer>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State {
            org_id: new_id("or"),
            app_id: new_id("ap"),
            users: Table::new(),
            bearers: Table::new(),
            pats: Table::new(),
            challenges: Table::new(),
            user_actions: Table::new(),
            next_seq: 0,
            journaled: Value::Null,
            replaced: false,
        }));
        let faults = Faults::default();
        let contract = ContractGuard::new(Provider::Dfns, &faults);
        // A server of its own: a request still in flight when a test ends must never reach
        // the next test's simulator.
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

    /// The faults armed on this simulator.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a test panicked while holding it; the data is fine.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the next `times` requests with `method` whose path contains `path_contains`
    /// wait for a policy approval: they answer 202 with an approval body whose `id` is
    /// `approval_id`, and change nothing.
    pub fn require_approval(
        &self,
        method: &str,
        path_contains: &str,
        approval_id: &str,
        times: usize,
    ) {
        self.faults.inject(
            FaultRule::new(Fault::Status {
                status: 202,
                body: json!({
                    "id": approval_id,
                    "status": "Pending",
                    "dateCreated": rfc3339_ms(now_ms()),
                    "decisions": [],
                }),
            })
            .method(method)
            .path_contains(path_contains)
            .times(times),
        );
    }

    /// The organization id.
    pub fn org_id(&self) -> String {
        self.state().org_id.clone()
    }

    /// Registers a user with a bearer token and a freshly generated P-256 signing credential.
    pub fn register_user(&self) -> RegisteredUser {
        let secret = p256::SecretKey::random(&mut OsRng);
        let private_key_pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.as_str().to_owned())
            .unwrap_or_default();
        let public_key_pem = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default();
        let credential_id = new_id("cr");
        let (user_id, auth_token) =
            self.insert_user(&credential_id, VerifyingKey::from(secret.public_key()));
        RegisteredUser {
            user_id,
            auth_token,
            credential_id,
            private_key_pem,
            public_key_pem,
        }
    }

    /// Registers a user whose signing credential is the caller's own: `credential_id` and
    /// its SPKI PEM P-256 public key (the private key stays with the caller, as with an
    /// official SDK's own signer). Returns the user id and its bearer token, or `None` when
    /// the key is not a P-256 public key or `credential_id` is empty.
    pub fn register_user_with_credential(
        &self,
        credential_id: &str,
        public_key_pem: &str,
    ) -> Option<(String, String)> {
        let key = VerifyingKey::from_public_key_pem(public_key_pem.trim()).ok()?;
        if credential_id.is_empty() {
            return None;
        }
        Some(self.insert_user(credential_id, key))
    }

    /// A new user whose one signing credential is `key`, with a bearer token of its own:
    /// `(user id, auth token)`.
    fn insert_user(&self, credential_id: &str, key: VerifyingKey) -> (String, String) {
        let user_id = Id::random(*b"us");
        let mut state = self.state();
        let auth_token = mint_token(&state.org_id, &user_id.to_string(), "Token", 86_400);
        state.users.insert(
            user_id,
            User {
                credentials: vec![(credential_id.to_owned(), key)],
                webauthn: Vec::new(),
            },
        );
        state
            .bearers
            .insert(TokenDigest::of(&auth_token), Bearer::User(user_id));
        (user_id.to_string(), auth_token)
    }

    /// Registers another signing credential (an SPKI PEM P-256 public key) for `user_id`.
    /// Returns `false` when the user is unknown or the key is not a P-256 public key.
    pub fn add_credential(&self, user_id: &str, credential_id: &str, public_key_pem: &str) -> bool {
        let Ok(key) = VerifyingKey::from_public_key_pem(public_key_pem.trim()) else {
            return false;
        };
        let mut state = self.state();
        match Id::parse(user_id).and_then(|id| state.users.get_mut(&id)) {
            Some(user) => {
                user.credentials.push((credential_id.to_owned(), key));
                true
            }
            None => false,
        }
    }

    /// Registers a WebAuthn (Fido2, passkey) credential, an SPKI PEM P-256 public key, for
    /// `user_id`: it is listed in `allowCredentials.webauthn`, and `Fido2` assertions by it
    /// are verified (client data `webauthn.get`, authenticator data for [`RP_ID`] with user
    /// presence and verification, ES256 over authenticator data and SHA-256 of the client
    /// data). Returns `false` when the user is unknown or the key is not a P-256 key.
    pub fn add_webauthn_credential(
        &self,
        user_id: &str,
        credential_id: &str,
        public_key_pem: &str,
    ) -> bool {
        let Ok(key) = VerifyingKey::from_public_key_pem(public_key_pem.trim()) else {
            return false;
        };
        let mut state = self.state();
        match Id::parse(user_id).and_then(|id| state.users.get_mut(&id)) {
            Some(user) => {
                user.webauthn.push((credential_id.to_owned(), key));
                true
            }
            None => false,
        }
    }

    /// Every stored PAT (deleted ones included) as the service would describe it, plus
    /// `"deleted": true|false`; never the access token.
    pub fn pats(&self) -> Vec<Value> {
        let state = self.state();
        let mut pats: Vec<&StoredPat> = state.pats.values().collect();
        pats.sort_by_key(|p| p.seq);
        pats.into_iter()
            .map(|p| {
                let mut v = p.to_json(&state.org_id, &state.app_id);
                if let Value::Object(map) = &mut v {
                    map.insert("deleted".to_owned(), Value::Bool(p.deleted));
                }
                v
            })
            .collect()
    }

    /// Whether `token` is currently accepted as a bearer token.
    pub fn accepts_bearer(&self, token: &str) -> bool {
        let state = self.state();
        match state.bearers.get(&TokenDigest::of(token)) {
            Some(Bearer::User(_)) => true,
            Some(Bearer::Pat(token_id)) => state.usable_pat(token, *token_id).is_some(),
            None => false,
        }
    }

    /// Every request received so far, in order.
    pub async fn received_requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// How many requests with `method` and exactly `path` were received.
    pub async fn request_count(&self, method: &str, path: &str) -> usize {
        self.received_requests()
            .await
            .iter()
            .filter(|r| r.method.as_str() == method && r.url.path() == path)
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
impl DfnsSim {
    /// Its server (request log).
    pub(crate) fn server(&self) -> &HttpServer {
        &self.server
    }

    /// The state, for a state file.
    pub(crate) fn snapshot(&self) -> serde_json::Result<Value> {
        serde_json::to_value(&*self.state())
    }

    /// Replaces the state with one from a state file.
    pub(crate) fn restore(&self, state: Value) -> serde_json::Result<()> {
        let mut state = state;
        crate::table::number_rows(&mut state, "pats");
        let mut restored: State = serde_json::from_value(state)?;
        let next = restored.pats.values().map(|p| p.seq + 1).max().unwrap_or(0);
        restored.next_seq = restored.next_seq.max(next);
        restored.replaced = true;
        *self.state() = restored;
        Ok(())
    }

    /// What changed since the last call, for the emulator's journal.
    pub(crate) fn take_changes(&self) -> serde_json::Result<crate::table::Changes> {
        self.state().take_changes()
    }

    /// Replays what [`take_changes`](Self::take_changes) returned.
    pub(crate) fn apply_changes(&self, change: &Value) -> Result<(), String> {
        self.state().apply_changes(change)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_names_its_user() {
        let user = Id::random(*b"us");
        let token = mint_token("or-1", &user.to_string(), "Pat", 60);
        assert!(claimed_user(&token) == Some(user));
        let parts: Vec<&str> = token.split('.').collect();
        for other in [
            String::new(),
            "not-a-jwt".to_owned(),
            format!("{}.!!.{}", parts[0], parts[2]),
            format!(
                "{}.{}.x",
                parts[0],
                URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#)
            ),
            format!(
                "{}.{}.x",
                parts[0],
                URL_SAFE_NO_PAD.encode(format!(r#"{{"{APP_METADATA_CLAIM}":{{"userId":"u-1"}}}}"#))
            ),
        ] {
            assert!(claimed_user(&other).is_none(), "{other}");
        }
    }

    #[tokio::test]
    async fn a_user_lists_and_finds_only_their_own_live_tokens_in_creation_order() {
        let sim = DfnsSim::start().await;
        let (a, b) = (sim.register_user(), sim.register_user());
        let mut made: Vec<(String, String)> = Vec::new();
        for i in 0..6 {
            let user = if i % 2 == 0 { &a } else { &b };
            let pat = sim.seed_pat(&user.user_id, &format!("t{i}")).unwrap();
            made.push((
                user.user_id.clone(),
                pat["tokenId"].as_str().unwrap().to_owned(),
            ));
        }
        let principal = |u: &RegisteredUser| Principal::User(Id::parse(&u.user_id).unwrap());
        let (pa, pb) = (principal(&a), principal(&b));
        let names = |p: &Principal| -> Vec<String> {
            let state = sim.state();
            let listed = state.list(p).json().unwrap();
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(names(&pa), ["t0", "t2", "t4"]);
        assert_eq!(names(&pb), ["t1", "t3", "t5"]);
        let (_, b_token) = &made[1];
        assert_eq!(sim.state().get(&pa, b_token).err().unwrap().status, 404);
        assert!(sim.state().get(&pb, b_token).is_ok());
        assert_eq!(sim.state().find(&pa, b_token).err().unwrap().status, 404);
        assert_eq!(
            sim.state().find(&pa, "not-an-id").err().unwrap().status,
            404
        );
        let key = sim.state().find(&pb, b_token).ok().unwrap();
        let answer = sim.state().change(key, |p| p.deleted = true);
        assert_eq!(answer.json().unwrap()["tokenId"], json!(b_token));
        assert_eq!(names(&pb), ["t3", "t5"]);
        assert_eq!(sim.state().get(&pb, b_token).err().unwrap().status, 404);
        assert_eq!(sim.state().find(&pb, b_token).err().unwrap().status, 404);
        // An update to an empty name is refused; to another name, answered.
        let update = |name: &str| {
            let body = json!({ "name": name }).to_string().into_bytes();
            let url =
                url::Url::parse(&format!("http://127.0.0.1/auth/pats/{}", made[3].1)).unwrap();
            sim.state()
                .update(&Request::new("PUT", url, body), &pb, &made[3].1)
                .map(|a| a.json().unwrap()["name"].clone())
                .map_err(|e| e.status)
        };
        assert_eq!(update(""), Err(400));
        assert_eq!(update("new"), Ok(json!("new")));
        assert_eq!(names(&pb), ["new", "t5"]);
        // A key no token has.
        let gone = PatKey {
            user: Id::parse(&a.user_id).unwrap(),
            token: Id::random(*b"to"),
        };
        let answer = sim.state().change(gone, |p| p.deleted = true);
        assert_eq!(answer.status, 404);
    }

    #[tokio::test]
    async fn a_pat_bearer_that_names_no_user_is_still_found() {
        let sim = DfnsSim::start().await;
        let user = sim.register_user();
        let pat = sim.seed_pat(&user.user_id, "t").unwrap();
        let token_id = pat["tokenId"].as_str().unwrap();
        let mut document = sim.snapshot().unwrap();
        // A state file that keyed this PAT's bearer by a token the simulator did not mint.
        document["bearers"]["not-a-jwt"] = json!({ "Pat": token_id });
        let copy = DfnsSim::start().await;
        copy.restore(document).unwrap();
        assert!(copy.accepts_bearer("not-a-jwt"));
        assert!(copy.accepts_bearer(pat["accessToken"].as_str().unwrap()));
        let key = PatKey {
            user: Id::parse(&user.user_id).unwrap(),
            token: Id::parse(token_id).unwrap(),
        };
        copy.state().pats.get_mut(&key).unwrap().is_active = false;
        assert!(!copy.accepts_bearer("not-a-jwt"));
    }

    #[test]
    fn ids_and_tokens_have_the_documented_shapes() {
        let id = new_id("to");
        assert!(id.starts_with("to-"));
        assert!(
            id[3..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        let token = mint_token("or-1", "us-1", "Pat", 60);
        assert_eq!(token.split('.').count(), 3);
        assert!(token.starts_with("eyJ"));
        assert_ne!(mint_token("or-1", "us-1", "Pat", 60), token);
    }

    #[test]
    fn pem_public_keys_are_recognised() {
        assert!(!is_pem_public_key("abc"));
        assert!(!is_pem_public_key(
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----"
        ));
        assert!(is_pem_public_key(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
        ));
    }

    #[tokio::test]
    async fn registered_users_have_working_credentials_and_hidden_secrets() {
        let sim = DfnsSim::start().await;
        assert!(sim.uri().starts_with("http://127.0.0.1:"));
        let user = sim.register_user();
        assert!(sim.accepts_bearer(&user.auth_token));
        assert!(!sim.accepts_bearer("nope"));
        let dbg = format!("{user:?}");
        assert!(!dbg.contains(&user.auth_token));
        assert!(!dbg.contains("PRIVATE KEY"));
        let other = sim.register_user();
        assert!(sim.add_credential(&user.user_id, "cr-extra", &other.public_key_pem));
        assert!(!sim.add_credential("us-unknown", "cr-x", &other.public_key_pem));
        assert!(!sim.add_credential(&user.user_id, "cr-x", "not a key"));
        assert!(sim.pats().is_empty());
    }

    /// Every field of a stored token survives the state document and the journal's rows,
    /// and a deleted or deactivated token's access token stops working.
    #[tokio::test]
    async fn tokens_survive_the_state_document_with_every_field() {
        let sim = DfnsSim::start().await;
        let user = sim.register_user();
        let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        let body = json!({
            "name": "everything",
            "publicKey": ed25519,
            "permissionId": "pm-1",
            "externalId": "ext-1",
            "secondsValid": 60,
        });
        let request = Request::new(
            "POST",
            url::Url::parse("http://127.0.0.1/auth/pats").unwrap(),
            body.to_string().into_bytes(),
        );
        let principal = Principal::User(Id::parse(&user.user_id).unwrap());
        let created = sim
            .state()
            .create(&request, &principal)
            .ok()
            .unwrap()
            .json()
            .unwrap();
        let plain = sim.seed_pat(&user.user_id, "plain").unwrap();
        // A token with one optional field only.
        let request = Request::new(
            "POST",
            url::Url::parse("http://127.0.0.1/auth/pats").unwrap(),
            json!({"name": "ext", "publicKey": ed25519, "externalId": "ext-2"})
                .to_string()
                .into_bytes(),
        );
        let only_external = sim.state().create(&request, &principal).ok().unwrap();
        assert_eq!(only_external.status, 200);
        // An external id is unique among live tokens.
        let again = sim.state().create(&request, &principal).err().unwrap();
        assert_eq!(again.status, 409);
        assert_eq!(created["publicKey"], json!(ed25519));
        assert_eq!(
            created["permissionAssignments"][0]["permissionId"],
            json!("pm-1")
        );
        let assignment = created["permissionAssignments"][0]["assignmentId"].clone();
        assert!(assignment.as_str().unwrap().starts_with("as-"));
        let token = created["accessToken"].as_str().unwrap().to_owned();
        assert!(sim.accepts_bearer(&token));
        assert!(sim.accepts_bearer(plain["accessToken"].as_str().unwrap()));

        let listed = sim.pats();
        let document = sim.snapshot().unwrap();
        let text = document.to_string();
        assert!(!text.contains(&token), "the document holds an access token");
        let mut external: Vec<(u64, &Value)> = document["pats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["seq"].as_u64().unwrap(), &p["external_id"]))
            .collect();
        external.sort_by_key(|(seq, _)| *seq);
        let external: Vec<&Value> = external.into_iter().map(|(_, e)| e).collect();
        assert_eq!(external, [&json!("ext-1"), &Value::Null, &json!("ext-2")]);
        let copy = DfnsSim::start().await;
        copy.restore(document.clone()).unwrap();
        assert_eq!(copy.pats(), listed);
        assert_eq!(copy.snapshot().unwrap(), document);
        assert!(copy.accepts_bearer(&token));
        assert!(copy.accepts_bearer(&user.auth_token));
        // The restored external ids are still taken.
        assert_eq!(
            copy.state()
                .create(&request, &principal)
                .err()
                .unwrap()
                .status,
            409
        );
        assert!(!copy.accepts_bearer("eyJ.other.token"));

        // Deactivated, then deleted: refused either way.
        let id = created["tokenId"].as_str().unwrap();
        let key = PatKey {
            user: Id::parse(&user.user_id).unwrap(),
            token: Id::parse(id).unwrap(),
        };
        copy.state().pats.get_mut(&key).unwrap().is_active = false;
        assert!(!copy.accepts_bearer(&token));
        let pat = copy.state().pats.remove(&key).unwrap();
        copy.state().pats.insert(
            key,
            StoredPat {
                is_active: true,
                deleted: true,
                ..pat
            },
        );
        assert!(!copy.accepts_bearer(&token));
        let refused = copy.restore(json!({"users": {"us-1": {"credentials": [], "webauthn": []}}}));
        assert!(refused.is_err());
    }
}
