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
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rand_core::{OsRng, RngCore as _};
use serde_json::{Map, Value, json};
use sha2::Digest as _;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

#[derive(serde::Serialize, serde::Deserialize)]
struct User {
    #[serde(with = "spki_keys")]
    credentials: Vec<(String, VerifyingKey)>,
    /// WebAuthn (Fido2, passkey) credentials.
    #[serde(with = "spki_keys")]
    webauthn: Vec<(String, VerifyingKey)>,
}

/// Credentials in a state file: `[id, SPKI PEM]` pairs.
mod spki_keys {
    use p256::ecdsa::VerifyingKey;
    use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _, LineEnding};
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(
        keys: &[(String, VerifyingKey)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(keys.iter().map(|(id, key)| {
            (
                id.as_str(),
                key.to_public_key_pem(LineEnding::LF).unwrap_or_default(),
            )
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, VerifyingKey)>, D::Error> {
        Vec::<(String, String)>::deserialize(d)?
            .into_iter()
            .map(|(id, pem)| {
                VerifyingKey::from_public_key_pem(pem.trim())
                    .map(|key| (id, key))
                    .map_err(|_| D::Error::custom("a credential is not a P-256 SPKI PEM key"))
            })
            .collect()
    }
}

/// The relying party id of the simulator's WebAuthn challenges (`rp.id`): a passkey
/// assertion's authenticator data starts with its SHA-256.
pub const RP_ID: &str = "localhost";

#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Principal {
    User(String),
    Pat { user_id: String, token_id: String },
}

impl Principal {
    fn user_id(&self) -> &str {
        match self {
            Self::User(id) | Self::Pat { user_id: id, .. } => id,
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPat {
    token_id: String,
    cred_id: String,
    name: String,
    is_active: bool,
    date_created: String,
    linked_user_id: String,
    public_key: String,
    permission_id: Option<String>,
    assignment_id: Option<String>,
    external_id: Option<String>,
    access_token: String,
    deleted: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Challenge {
    user_id: String,
    challenge: String,
    method: String,
    path: String,
    payload: String,
    used: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct UserAction {
    user_id: String,
    method: String,
    path: String,
    payload: String,
    used: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    org_id: String,
    app_id: String,
    users: HashMap<String, User>,
    bearers: HashMap<String, Principal>,
    pats: Vec<StoredPat>,
    challenges: HashMap<String, Challenge>,
    user_actions: HashMap<String, UserAction>,
}

/// A refusal: status and message, answered as `{"error": {"status", "message"}}`.
struct Reject {
    status: u16,
    message: String,
}

impl Reject {
    fn into_answer(self) -> Answer {
        Answer::new(self.status).set_body_json(json!({
            "error": { "status": self.status, "message": self.message }
        }))
    }
}

type Outcome = Result<Answer, Reject>;

fn error(status: u16, message: impl Into<String>) -> Reject {
    Reject {
        status,
        message: message.into(),
    }
}

fn ok(body: Value) -> Answer {
    Answer::new(200).set_body_json(body)
}

/// `len` random lowercase letters and digits (ids; not secret).
fn id_part(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}-{}-{}", id_part(5), id_part(5), id_part(16))
}

/// `n` bytes from the operating system's random source, base64url without padding.
fn random_b64(n: usize) -> String {
    let mut bytes = vec![0_u8; n];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The issuer of the simulator's tokens.
pub const TOKEN_ISSUER: &str = "auth.dfns.io";
/// The audience of the simulator's tokens.
pub const TOKEN_AUDIENCE: &str = "dfns:auth:user";
/// The claim that carries `{orgId, userId, tokenKind}` in Dfns tokens (`@dfns/sdk` reads
/// `orgId` from it, `utils/authToken.ts`).
pub const APP_METADATA_CLAIM: &str = "https://custom/app_metadata";

/// A token shaped like a Dfns one: a JWT (`header.payload.signature`, base64url) whose
/// payload has `iss`, `aud`, `sub` (the organization), `iat`, `exp`, `jti` and the
/// `https://custom/app_metadata` claim with `orgId`, `userId` and `tokenKind`. The signature
/// is random: the simulator recognises its tokens by value, not by verifying them.
fn mint_token(org_id: &str, user_id: &str, token_kind: &str, lifetime_secs: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": org_id,
        "iat": now,
        "exp": now.saturating_add(lifetime_secs),
        "jti": random_b64(18),
        APP_METADATA_CLAIM: {
            "orgId": org_id,
            "userId": user_id,
            "tokenKind": token_kind,
        },
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{}", random_b64(64))
}

/// A PAT's lifetime: `secondsValid`, else `daysValid`, else one year.
fn pat_lifetime(days: Option<i64>, seconds: Option<i64>) -> i64 {
    seconds.unwrap_or_else(|| days.unwrap_or(365).saturating_mul(86_400))
}

/// Now, in milliseconds, as Dfns writes its dates (`2023-04-14T20:41:28.715Z`).
fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

fn is_pem_public_key(pem: &str) -> bool {
    let text = pem.trim();
    let Some(body) = text
        .strip_prefix("-----BEGIN PUBLIC KEY-----")
        .and_then(|r| r.strip_suffix("-----END PUBLIC KEY-----"))
    else {
        return false;
    };
    let body: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).is_ok_and(|der| !der.is_empty())
}

/// Parses a JSON object body and refuses fields outside `allowed`.
fn object_body(request: &Request, allowed: &[&str]) -> Result<Map<String, Value>, Reject> {
    let value: Value = serde_json::from_slice(&request.body)
        .map_err(|_| error(400, "request body is not valid JSON"))?;
    let Value::Object(map) = value else {
        return Err(error(400, "request body must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(error(400, format!("\"{unknown}\" is not allowed")));
    }
    Ok(map)
}

fn optional_string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, Reject> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(error(400, format!("\"{field}\" must be a string"))),
    }
}

fn required_string(map: &Map<String, Value>, field: &str) -> Result<String, Reject> {
    optional_string(map, field)?.ok_or_else(|| error(400, format!("\"{field}\" is required")))
}

fn positive_integer(map: &Map<String, Value>, field: &str) -> Result<Option<i64>, Reject> {
    match map.get(field) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(error(
                400,
                format!("\"{field}\" must be an integer greater than 0"),
            )),
        },
    }
}

impl StoredPat {
    fn to_json(&self, org_id: &str, app_id: &str) -> Value {
        let assignments: Vec<Value> = match (&self.permission_id, &self.assignment_id) {
            (Some(pid), Some(aid)) => vec![json!({
                "permissionName": format!("Permission {pid}"),
                "permissionId": pid,
                "assignmentId": aid,
                "operations": ["Auth:Pats:Read"],
            })],
            _ => Vec::new(),
        };
        json!({
            "dateCreated": self.date_created,
            "credId": self.cred_id,
            "isActive": self.is_active && !self.deleted,
            "kind": "Pat",
            "linkedUserId": self.linked_user_id,
            "linkedAppId": app_id,
            "name": self.name,
            "orgId": org_id,
            "publicKey": self.public_key,
            "tokenId": self.token_id,
            "permissionAssignments": assignments,
        })
    }
}

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
        let principal = self
            .bearers
            .get(token)
            .cloned()
            .ok_or_else(|| error(401, "Unauthorized: invalid or expired token"))?;
        if let Principal::Pat { token_id, .. } = &principal {
            let usable = self
                .pats
                .iter()
                .any(|p| &p.token_id == token_id && p.is_active && !p.deleted);
            if !usable {
                return Err(error(401, "Unauthorized: token is deactivated or deleted"));
            }
        }
        Ok(principal)
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
                let pat = self.find_mut(&principal, id)?;
                pat.deleted = true;
                pat.is_active = false;
                Ok(ok(self.json_of(id)))
            }
            ("PUT", ["auth", "pats", id, verb @ ("activate" | "deactivate")]) => {
                self.consume_user_action(request, &principal)?;
                no_body(request)?;
                let active = *verb == "activate";
                self.find_mut(&principal, id)?.is_active = active;
                Ok(ok(self.json_of(id)))
            }
            _ => Err(error(404, format!("{} {path} not found", request.method))),
        }
    }

    fn action_init(&mut self, request: &Request, principal: &Principal) -> Outcome {
        let fields = [
            "userActionPayload",
            "userActionHttpMethod",
            "userActionHttpPath",
            "userActionServerKind",
        ];
        let body = object_body(request, &fields)?;
        let payload = required_string(&body, "userActionPayload")?;
        let method = required_string(&body, "userActionHttpMethod")?;
        let path = required_string(&body, "userActionHttpPath")?;
        let kind = optional_string(&body, "userActionServerKind")?;
        if !["POST", "PUT", "DELETE", "PATCH", "GET"].contains(&method.as_str()) {
            return Err(error(
                400,
                "\"userActionHttpMethod\" is not a valid HTTP method",
            ));
        }
        if !path.starts_with('/') || path.contains('?') || path.contains("://") {
            return Err(error(
                400,
                "\"userActionHttpPath\" must be a path starting with /",
            ));
        }
        if kind.is_some_and(|k| k != "Api" && k != "Staff") {
            return Err(error(
                400,
                "\"userActionServerKind\" must be one of [Api, Staff]",
            ));
        }
        let user_id = principal.user_id().to_owned();
        let listed = |pick: fn(&User) -> &Vec<(String, VerifyingKey)>| -> Vec<Value> {
            self.users
                .get(&user_id)
                .map(|u| {
                    pick(u)
                        .iter()
                        .map(|(id, _)| json!({ "type": "public-key", "id": id }))
                        .collect()
                })
                .unwrap_or_default()
        };
        let credentials = listed(|u| &u.credentials);
        let webauthn = listed(|u| &u.webauthn);
        let challenge = random_b64(32);
        let identifier = mint_token(&self.org_id, &user_id, "Temp", 300);
        self.challenges.insert(
            identifier.clone(),
            Challenge {
                user_id,
                challenge: challenge.clone(),
                method,
                path,
                payload,
                used: false,
            },
        );
        Ok(ok(json!({
            "challenge": challenge,
            "challengeIdentifier": identifier,
            "rp": { "id": RP_ID, "name": "pats-sim" },
            "supportedCredentialKinds": [
                { "kind": "Key", "factor": "first", "requiresSecondFactor": false },
                { "kind": "Fido2", "factor": "first", "requiresSecondFactor": false },
            ],
            "userVerification": "required",
            "attestation": "direct",
            "allowCredentials": { "key": credentials, "passwordProtectedKey": [], "webauthn": webauthn },
            "externalAuthenticationUrl": "",
        })))
    }

    fn action(&mut self, request: &Request, principal: &Principal) -> Outcome {
        let body = object_body(request, &["challengeIdentifier", "firstFactor"])?;
        let identifier = required_string(&body, "challengeIdentifier")?;
        let Some(Value::Object(factor)) = body.get("firstFactor") else {
            return Err(error(400, "\"firstFactor\" is required"));
        };
        if let Some(unknown) = factor
            .keys()
            .find(|k| !["kind", "credentialAssertion"].contains(&k.as_str()))
        {
            return Err(error(
                400,
                format!("\"firstFactor.{unknown}\" is not allowed"),
            ));
        }
        let fido2 = match factor.get("kind").and_then(Value::as_str) {
            Some("Key") => false,
            Some("Fido2") => true,
            _ => {
                return Err(error(
                    400,
                    "\"firstFactor.kind\" must be \"Key\" or \"Fido2\"",
                ));
            }
        };
        let Some(Value::Object(assertion)) = factor.get("credentialAssertion") else {
            return Err(error(
                400,
                "\"firstFactor.credentialAssertion\" is required",
            ));
        };
        let cred_id = required_string(assertion, "credId")?;
        let client_data_b64 = required_string(assertion, "clientData")?;
        let signature_b64 = required_string(assertion, "signature")?;
        let authenticator_data_b64 = if fido2 {
            Some(required_string(assertion, "authenticatorData")?)
        } else {
            None
        };

        let unauthorized = |why: &str| error(401, format!("Unauthorized: {why}"));
        let challenge = self
            .challenges
            .get_mut(&identifier)
            .ok_or_else(|| unauthorized("unknown challenge"))?;
        if challenge.user_id != principal.user_id() {
            return Err(unauthorized("the challenge belongs to another user"));
        }
        if challenge.used {
            return Err(unauthorized("the challenge was already used"));
        }
        challenge.used = true;
        let key = self
            .users
            .get(principal.user_id())
            .and_then(|u| {
                let list = if fido2 { &u.webauthn } else { &u.credentials };
                list.iter().find(|(id, _)| *id == cred_id)
            })
            .map(|(_, key)| *key)
            .ok_or_else(|| unauthorized("credential not found"))?;
        let client_data = URL_SAFE_NO_PAD
            .decode(client_data_b64.as_bytes())
            .map_err(|_| unauthorized("clientData is not base64url without padding"))?;
        let parsed: Value = serde_json::from_slice(&client_data)
            .map_err(|_| unauthorized("clientData is not JSON"))?;
        let expected_type = if fido2 { "webauthn.get" } else { "key.get" };
        if parsed.get("type").and_then(Value::as_str) != Some(expected_type) {
            return Err(unauthorized(&format!(
                "clientData.type must be \"{expected_type}\""
            )));
        }
        if parsed.get("challenge").and_then(Value::as_str) != Some(challenge.challenge.as_str()) {
            return Err(unauthorized("clientData.challenge does not match"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64.as_bytes())
            .ok()
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or_else(|| unauthorized("signature is not a base64url DER ECDSA signature"))?;
        // A key signs the client data; a WebAuthn authenticator signs its authenticator
        // data followed by SHA-256(clientDataJSON) (WebAuthn Level 2, section 7.2).
        let signed = match authenticator_data_b64 {
            None => client_data,
            Some(b64) => {
                let mut data = URL_SAFE_NO_PAD
                    .decode(b64.as_bytes())
                    .map_err(|_| unauthorized("authenticatorData is not base64url"))?;
                check_authenticator_data(&data).map_err(&unauthorized)?;
                data.extend_from_slice(&sha2::Sha256::digest(&client_data));
                data
            }
        };
        key.verify(&signed, &signature)
            .map_err(|_| unauthorized("invalid signature"))?;
        let token = mint_token(&self.org_id, &challenge.user_id, "Temp", 300);
        let action = UserAction {
            user_id: challenge.user_id.clone(),
            method: challenge.method.clone(),
            path: challenge.path.clone(),
            payload: challenge.payload.clone(),
            used: false,
        };
        self.user_actions.insert(token.clone(), action);
        Ok(ok(json!({ "userAction": token })))
    }

    fn consume_user_action(
        &mut self,
        request: &Request,
        principal: &Principal,
    ) -> Result<(), Reject> {
        let unauthorized = |why: &str| error(401, format!("Unauthorized: {why}"));
        let token = request
            .headers
            .get(USER_ACTION_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("missing user action signature (X-DFNS-USERACTION)"))?;
        let action = self
            .user_actions
            .get_mut(token)
            .ok_or_else(|| unauthorized("invalid user action"))?;
        if action.used {
            return Err(unauthorized("user action already used"));
        }
        action.used = true;
        let body = std::str::from_utf8(&request.body)
            .map_err(|_| unauthorized("the body does not match the signed payload"))?;
        if action.user_id != principal.user_id() {
            return Err(unauthorized("user action belongs to another user"));
        }
        if action.method != request.method.as_str() {
            return Err(unauthorized("the method does not match the signed method"));
        }
        if action.path != request.url.path() {
            return Err(unauthorized("the path does not match the signed path"));
        }
        if action.payload != body {
            return Err(unauthorized("the body does not match the signed payload"));
        }
        Ok(())
    }

    fn visible(&self, principal: &Principal) -> impl Iterator<Item = &StoredPat> {
        let user = principal.user_id().to_owned();
        self.pats
            .iter()
            .filter(move |p| !p.deleted && p.linked_user_id == user)
    }

    fn list(&self, principal: &Principal) -> Answer {
        let items: Vec<Value> = self
            .visible(principal)
            .map(|p| p.to_json(&self.org_id, &self.app_id))
            .collect();
        ok(json!({ "items": items }))
    }

    fn get(&self, principal: &Principal, id: &str) -> Outcome {
        self.visible(principal)
            .find(|p| p.token_id == id)
            .map(|p| ok(p.to_json(&self.org_id, &self.app_id)))
            .ok_or_else(|| error(404, format!("Personal access token {id} not found")))
    }

    fn find_mut(&mut self, principal: &Principal, id: &str) -> Result<&mut StoredPat, Reject> {
        let user = principal.user_id();
        self.pats
            .iter_mut()
            .find(|p| !p.deleted && p.token_id == id && p.linked_user_id == user)
            .ok_or_else(|| error(404, format!("Personal access token {id} not found")))
    }

    fn json_of(&self, id: &str) -> Value {
        self.pats
            .iter()
            .find(|p| p.token_id == id)
            .map(|p| p.to_json(&self.org_id, &self.app_id))
            .unwrap_or(Value::Null)
    }

    fn external_id_taken(&self, external_id: &str, except: Option<&str>) -> bool {
        self.pats.iter().any(|p| {
            !p.deleted
                && p.external_id.as_deref() == Some(external_id)
                && Some(p.token_id.as_str()) != except
        })
    }

    fn create(&mut self, request: &Request, principal: &Principal) -> Outcome {
        let body = object_body(
            request,
            &[
                "name",
                "publicKey",
                "permissionId",
                "externalId",
                "daysValid",
                "secondsValid",
            ],
        )?;
        let name = required_string(&body, "name")?;
        if name.is_empty() {
            return Err(error(400, "\"name\" must be at least 1 character long"));
        }
        let public_key = required_string(&body, "publicKey")?;
        if !is_pem_public_key(&public_key) {
            return Err(error(400, "\"publicKey\" must be a PEM public key"));
        }
        let permission_id = optional_string(&body, "permissionId")?;
        let external_id = optional_string(&body, "externalId")?;
        let days = positive_integer(&body, "daysValid")?;
        let seconds = positive_integer(&body, "secondsValid")?;
        if let Some(ext) = &external_id
            && self.external_id_taken(ext, None)
        {
            return Err(error(
                409,
                format!("a token with externalId {ext} already exists"),
            ));
        }
        let token_id = new_id("to");
        let mut pat = StoredPat {
            token_id: token_id.clone(),
            cred_id: new_id("cr"),
            name,
            is_active: true,
            date_created: now_rfc3339(),
            linked_user_id: principal.user_id().to_owned(),
            public_key,
            assignment_id: permission_id.as_ref().map(|_| new_id("as")),
            permission_id,
            external_id,
            access_token: String::new(),
            deleted: false,
        };
        pat.access_token = mint_token(
            &self.org_id,
            &pat.linked_user_id,
            "Pat",
            pat_lifetime(days, seconds),
        );
        self.bearers.insert(
            pat.access_token.clone(),
            Principal::Pat {
                user_id: pat.linked_user_id.clone(),
                token_id: pat.token_id.clone(),
            },
        );
        let mut answer = pat.to_json(&self.org_id, &self.app_id);
        if let Value::Object(map) = &mut answer {
            map.insert(
                "accessToken".to_owned(),
                Value::String(pat.access_token.clone()),
            );
        }
        self.pats.push(pat);
        Ok(ok(answer))
    }

    fn update(&mut self, request: &Request, principal: &Principal, id: &str) -> Outcome {
        let body = object_body(request, &["name", "externalId"])?;
        let name = optional_string(&body, "name")?;
        if name.as_deref() == Some("") {
            return Err(error(400, "\"name\" must be at least 1 character long"));
        }
        let external_id = optional_string(&body, "externalId")?;
        self.find_mut(principal, id)?;
        if let Some(ext) = &external_id
            && self.external_id_taken(ext, Some(id))
        {
            return Err(error(
                409,
                format!("a token with externalId {ext} already exists"),
            ));
        }
        let pat = self.find_mut(principal, id)?;
        if let Some(name) = name {
            pat.name = name;
        }
        if let Some(ext) = external_id {
            pat.external_id = Some(ext);
        }
        Ok(ok(self.json_of(id)))
    }
}

/// A POST or PUT must say how long its body is, even when it has none: `Content-Length`
/// (`0` without a body) or `Transfer-Encoding: chunked`. HTTP clients send a length where
/// the method defines a meaning for content (RFC 9110, section 8.6), and the front ends of
/// HTTP APIs answer 411 Length Required without one; the simulator plays such a front end.
fn length_given(request: &Request) -> Result<(), Reject> {
    let needs_length = matches!(request.method.as_str(), "POST" | "PUT");
    let given = request.headers.contains_key("content-length")
        || request.headers.contains_key("transfer-encoding");
    if needs_length && !given {
        return Err(error(
            411,
            "Length Required: send Content-Length (0 without a body)",
        ));
    }
    Ok(())
}

/// Authenticator data: SHA-256 of the relying party id, then flags with user presence (0x01)
/// and user verification (0x04, the challenge asks for it), then a 4-byte counter.
fn check_authenticator_data(data: &[u8]) -> Result<(), &'static str> {
    if data.len() < 37 {
        return Err("authenticatorData is shorter than 37 bytes");
    }
    if data[..32] != sha2::Sha256::digest(RP_ID.as_bytes())[..] {
        return Err("authenticatorData is for another relying party");
    }
    if data[32] & 0x05 != 0x05 {
        return Err("authenticatorData lacks user presence and verification");
    }
    Ok(())
}

/// Activate, deactivate and delete take no body (dfns-sdk-rust), or `{}` (@dfns/sdk).
fn no_body(request: &Request) -> Result<(), Reject> {
    if request.body.is_empty() {
        return Ok(());
    }
    object_body(request, &[]).map(|_| ())
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
        let mut state = self.state();
        if !state.users.contains_key(user_id) {
            return None;
        }
        let answer = state
            .create(&request, &Principal::User(user_id.to_owned()))
            .ok()?;
        answer.json()
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
        serde_json::to_value(&*self.state())
    }

    // Used by the emulator, which needs all three providers.
    #[cfg_attr(
        not(all(feature = "dfns", feature = "zitadel", feature = "sailpoint")),
        allow(dead_code)
    )]
    /// Replaces the state with one from a state file.
    pub(crate) fn restore(&self, state: Value) -> serde_json::Result<()> {
        let restored: State = serde_json::from_value(state)?;
        *self.state() = restored;
        Ok(())
    }

    /// Starts a simulator with these server options, its handler wrapped in `layer`.
    pub(crate) fn serve(options: ServerOptions, layer: Option<Layer>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State {
            org_id: new_id("or"),
            app_id: new_id("ap"),
            users: HashMap::new(),
            bearers: HashMap::new(),
            pats: Vec::new(),
            challenges: HashMap::new(),
            user_actions: HashMap::new(),
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
                    "dateCreated": now_rfc3339(),
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
        let user_id = new_id("us");
        let credential_id = new_id("cr");
        let mut state = self.state();
        let auth_token = mint_token(&state.org_id, &user_id, "Token", 86_400);
        state.users.insert(
            user_id.clone(),
            User {
                credentials: vec![(
                    credential_id.clone(),
                    VerifyingKey::from(secret.public_key()),
                )],
                webauthn: Vec::new(),
            },
        );
        state
            .bearers
            .insert(auth_token.clone(), Principal::User(user_id.clone()));
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
        let user_id = new_id("us");
        let mut state = self.state();
        let auth_token = mint_token(&state.org_id, &user_id, "Token", 86_400);
        state.users.insert(
            user_id.clone(),
            User {
                credentials: vec![(credential_id.to_owned(), key)],
                webauthn: Vec::new(),
            },
        );
        state
            .bearers
            .insert(auth_token.clone(), Principal::User(user_id.clone()));
        Some((user_id, auth_token))
    }

    /// Registers another signing credential (an SPKI PEM P-256 public key) for `user_id`.
    /// Returns `false` when the user is unknown or the key is not a P-256 public key.
    pub fn add_credential(&self, user_id: &str, credential_id: &str, public_key_pem: &str) -> bool {
        let Ok(key) = VerifyingKey::from_public_key_pem(public_key_pem.trim()) else {
            return false;
        };
        match self.state().users.get_mut(user_id) {
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
        match self.state().users.get_mut(user_id) {
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
        state
            .pats
            .iter()
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
        match state.bearers.get(token) {
            Some(Principal::User(_)) => true,
            Some(Principal::Pat { token_id, .. }) => state
                .pats
                .iter()
                .any(|p| &p.token_id == token_id && p.is_active && !p.deleted),
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
}
