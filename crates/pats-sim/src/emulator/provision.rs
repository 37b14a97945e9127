//! Admin endpoints that create what a user of an official SDK needs before its first call,
//! on a running emulator (no state-file editing, no restart): Dfns users with their own
//! signing credential, ZITADEL organizations, users, keys and client secrets, SailPoint
//! identities and API clients, GitLab users, their tokens, projects, groups and members;
//! and `PUT /_pats_sim/state`, which loads a whole state.
//!
//! Each endpoint acts on the provider of the port it is called on, takes a JSON object
//! (unknown fields are refused) and answers 201 with what was created, 400 for a bad
//! body, 404 for an unknown user or identity, 409 for a name or id already taken.

use super::{Inner, Which, admin_error, random_hex, restore_sims};
use crate::answer::Answer;
use crate::gitlab::GitLabSim;
use crate::sailpoint::SailPointSim;
use crate::server::Request;
use crate::zitadel::ZitadelSim;
use serde::Deserialize;
use serde_json::{Value, json};

/// The answer to a provisioning request, or `None` when `rest` (the path under the admin
/// prefix) is not one of these endpoints.
pub(super) fn route(
    inner: &Inner,
    which: Which,
    method: &str,
    rest: &str,
    request: &Request,
) -> Option<Answer> {
    let segments: Vec<&str> = rest.split('/').collect();
    let answer = match (which, method, segments.as_slice()) {
        (_, "PUT", ["state"]) => load_state(inner, request),
        (Which::Dfns, "POST", ["users"]) => body(request).map_or_else(bad, |b| dfns_user(inner, b)),
        (Which::Dfns, "POST", ["users", user, "credentials"]) => {
            body(request).map_or_else(bad, |b| dfns_credential(inner, user, b))
        }
        (Which::Zitadel, "POST", ["orgs"]) => {
            body(request).map_or_else(bad, |b| zitadel_org(inner, b))
        }
        (Which::Zitadel, "POST", ["users"]) => {
            body(request).map_or_else(bad, |b| zitadel_user(inner, b))
        }
        (Which::Zitadel, "POST", ["users", user, "keys"]) => {
            body(request).map_or_else(bad, |b| zitadel_key(inner, user, b))
        }
        (Which::Zitadel, "POST", ["users", user, "secrets"]) => {
            body::<Empty>(request).map_or_else(bad, |_| zitadel_secret(inner, user))
        }
        (Which::SailPoint, "POST", ["identities"]) => {
            body(request).map_or_else(bad, |b| sailpoint_identity(inner, b))
        }
        (Which::SailPoint, "POST", ["clients"]) => {
            body(request).map_or_else(bad, |b| sailpoint_client(inner, b))
        }
        (Which::GitLab, "POST", ["users"]) => {
            body(request).map_or_else(bad, |b| gitlab_user(inner, b))
        }
        (Which::GitLab, "POST", ["users", user, "tokens"]) => {
            body(request).map_or_else(bad, |b| gitlab_token(inner, user, b))
        }
        (Which::GitLab, "POST", [kind @ ("projects" | "groups")]) => {
            let group = *kind == "groups";
            body(request).map_or_else(bad, |b| gitlab_namespace(inner, group, b))
        }
        (Which::GitLab, "POST", [kind @ ("projects" | "groups"), id, "members"]) => {
            let group = *kind == "groups";
            body(request).map_or_else(bad, |b| gitlab_member(inner, group, id, b))
        }
        // Anything else (another provider's endpoint, another method) is the general admin
        // API's, which answers 404 or 405.
        _ => return None,
    };
    Some(answer)
}

/// The body as `T` (a JSON object; unknown fields refused).
fn body<T: for<'de> Deserialize<'de>>(request: &Request) -> Result<T, String> {
    let bytes = if request.body.is_empty() {
        b"{}".as_slice()
    } else {
        &request.body
    };
    serde_json::from_slice(bytes)
        .map_err(|e| format!("the body is not what this endpoint takes: {e}"))
}

fn bad(reason: String) -> Answer {
    admin_error(400, &reason)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// `POST /_pats_sim/users` on Dfns: a user, with the caller's own credential
/// (`credentialId` and an SPKI PEM P-256 `publicKey`) or a generated one (whose private key
/// is in the answer).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DfnsUser {
    credential_id: Option<String>,
    public_key: Option<String>,
}

fn dfns_user(inner: &Inner, body: DfnsUser) -> Answer {
    match (body.credential_id, body.public_key) {
        (Some(credential_id), Some(public_key)) => {
            match inner
                .dfns
                .register_user_with_credential(&credential_id, &public_key)
            {
                Some((user_id, auth_token)) => Answer::new(201).set_body_json(json!({
                    "userId": user_id,
                    "authToken": auth_token,
                    "credentialId": credential_id,
                })),
                None => admin_error(
                    400,
                    "publicKey must be an SPKI PEM P-256 public key and credentialId non-empty",
                ),
            }
        }
        (None, None) => {
            let user = inner.dfns.register_user();
            Answer::new(201).set_body_json(json!({
                "userId": user.user_id,
                "authToken": user.auth_token,
                "credentialId": user.credential_id,
                "privateKey": user.private_key_pem,
            }))
        }
        _ => admin_error(400, "give credentialId and publicKey together, or neither"),
    }
}

/// `POST /_pats_sim/users/{id}/credentials` on Dfns: another credential of the user, a
/// signing key (`"kind": "Key"`, the default) or a WebAuthn passkey (`"Fido2"`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DfnsCredential {
    credential_id: String,
    public_key: String,
    #[serde(default)]
    kind: Option<String>,
}

fn dfns_credential(inner: &Inner, user: &str, body: DfnsCredential) -> Answer {
    if body.credential_id.is_empty() {
        return admin_error(400, "credentialId must not be empty");
    }
    let added = match body.kind.as_deref() {
        None | Some("Key") => {
            inner
                .dfns
                .add_credential(user, &body.credential_id, &body.public_key)
        }
        Some("Fido2") => {
            inner
                .dfns
                .add_webauthn_credential(user, &body.credential_id, &body.public_key)
        }
        Some(_) => return admin_error(400, "kind must be Key or Fido2"),
    };
    if added {
        Answer::new(201).set_body_json(json!({
            "userId": user,
            "credentialId": body.credential_id,
        }))
    } else {
        admin_error(
            404,
            "no such user, or publicKey is not an SPKI PEM P-256 public key",
        )
    }
}

/// `POST /_pats_sim/orgs` on ZITADEL: an organization (a new id, or the `id` given).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZitadelOrg {
    id: Option<String>,
}

fn zitadel_org(inner: &Inner, body: ZitadelOrg) -> Answer {
    let id = match body.id {
        None => inner.zitadel.create_org(),
        Some(id) => {
            if id.is_empty() || id.len() > 30 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return admin_error(400, "id must be 1 to 30 digits, as ZITADEL's ids are");
            }
            if inner.zitadel.has_org(&id) {
                return admin_error(409, &format!("organization {id} exists"));
            }
            inner.zitadel.add_org(&id);
            id
        }
    };
    Answer::new(201).set_body_json(json!({ "orgId": id }))
}

/// `POST /_pats_sim/users` on ZITADEL: a machine (default) or human user named
/// `username` in organization `orgId` (default: the default organization).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ZitadelUser {
    org_id: Option<String>,
    username: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn zitadel_user(inner: &Inner, body: ZitadelUser) -> Answer {
    let machine = match body.kind.as_deref() {
        None | Some("machine") => true,
        Some("human") => false,
        Some(_) => return admin_error(400, "type must be machine or human"),
    };
    let org = body
        .org_id
        .unwrap_or_else(|| ZitadelSim::DEFAULT_ORG.to_owned());
    if !inner.zitadel.has_org(&org) {
        return admin_error(404, &format!("no organization {org}"));
    }
    match inner.zitadel.create_user(&org, &body.username, machine) {
        Ok(id) => Answer::new(201).set_body_json(json!({
            "userId": id,
            "orgId": org,
            "username": body.username,
            "type": if machine { "machine" } else { "human" },
        })),
        Err(reason) if reason.contains("taken") => admin_error(409, &reason),
        Err(reason) => admin_error(400, &reason),
    }
}

/// `POST /_pats_sim/users/{id}/keys` on ZITADEL: a key of a machine user for the JWT
/// profile: the caller's RSA `publicKey` (PEM; the answer has the new `keyId`), or without
/// one the fixture test key (the answer has the key file a client loads, `keyFile`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ZitadelKey {
    public_key: Option<String>,
}

fn zitadel_key(inner: &Inner, user: &str, body: ZitadelKey) -> Answer {
    match body.public_key {
        Some(pem) => match inner.zitadel.add_key(user, &pem) {
            Some(key_id) => {
                Answer::new(201).set_body_json(json!({ "userId": user, "keyId": key_id }))
            }
            None => admin_error(
                404,
                "no such machine user, or publicKey is not an RSA public key (PEM)",
            ),
        },
        None => match inner.zitadel.register_test_key(user) {
            Some(file) => {
                let key_file: Value = serde_json::from_str(&file).unwrap_or(Value::Null);
                Answer::new(201).set_body_json(json!({
                    "userId": user,
                    "keyId": crate::zitadel::TEST_KEY_ID,
                    "keyFile": key_file,
                }))
            }
            None => admin_error(404, "no such machine user"),
        },
    }
}

/// `POST /_pats_sim/users/{id}/secrets` on ZITADEL: a client secret of a machine user,
/// for the client-credentials login.
fn zitadel_secret(inner: &Inner, user: &str) -> Answer {
    match inner.zitadel.add_client_secret(user) {
        Some((client_id, client_secret)) => Answer::new(201).set_body_json(json!({
            "userId": user,
            "clientId": client_id,
            "clientSecret": client_secret,
        })),
        None => admin_error(404, "no such machine user"),
    }
}

/// `POST /_pats_sim/identities` on SailPoint: an identity named `name` (a new id, or the
/// `id` given).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SailPointIdentity {
    id: Option<String>,
    name: String,
}

fn sailpoint_identity(inner: &Inner, body: SailPointIdentity) -> Answer {
    if body.name.is_empty() || body.name.chars().count() > 128 {
        return admin_error(400, "name has 1 to 128 characters");
    }
    let id = match body.id {
        // 16 bytes: 32 hex digits, the shape of SailPoint ids.
        None => random_hex(16),
        Some(id) if is_sailpoint_id(&id) => id,
        Some(_) => return admin_error(400, "id must be 32 lowercase hex digits"),
    };
    if inner.sailpoint.has_identity(&id) {
        return admin_error(409, &format!("identity {id} exists"));
    }
    inner.sailpoint.add_identity(&id, &body.name);
    Answer::new(201).set_body_json(json!({ "identityId": id, "name": body.name }))
}

/// `POST /_pats_sim/clients` on SailPoint: an API client (client credentials) acting as
/// identity `identityId` (default: the emulator's admin identity), with the `clientId` and
/// `clientSecret` given or new ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SailPointClient {
    identity_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn sailpoint_client(inner: &Inner, body: SailPointClient) -> Answer {
    let identity = body
        .identity_id
        .unwrap_or_else(|| SailPointSim::IDENTITY_ID.to_owned());
    if !inner.sailpoint.has_identity(&identity) {
        return admin_error(404, &format!("no identity {identity}"));
    }
    let client_id = body
        .client_id
        .unwrap_or_else(|| format!("sim-client-{}", random_hex(6)));
    let client_secret = body.client_secret.unwrap_or_else(|| random_hex(20));
    let printable =
        |s: &str| !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_graphic());
    if !printable(&client_id) || !printable(&client_secret) {
        return admin_error(
            400,
            "clientId and clientSecret are 1 to 200 printable ASCII characters",
        );
    }
    if inner.sailpoint.has_client(&client_id) {
        return admin_error(409, &format!("client {client_id} exists"));
    }
    let name = inner.sailpoint.identity_name(&identity).unwrap_or_default();
    inner
        .sailpoint
        .register_client(&client_id, &client_secret, &identity, &name);
    Answer::new(201).set_body_json(json!({
        "clientId": client_id,
        "clientSecret": client_secret,
        "identityId": identity,
    }))
}

fn is_sailpoint_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `POST /_pats_sim/users` on GitLab: a user named `username` (an administrator with
/// `"admin": true`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GitLabUser {
    username: String,
    #[serde(default)]
    admin: bool,
}

fn gitlab_user(inner: &Inner, body: GitLabUser) -> Answer {
    let name = &body.username;
    let valid = (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid {
        return admin_error(
            400,
            "username is 1 to 255 letters, digits, '_', '-' or '.', as GitLab's are",
        );
    }
    if inner.gitlab.user_id(name).is_some() {
        return admin_error(409, &format!("user {name} exists"));
    }
    let id = inner.gitlab.seed_user(name, body.admin);
    Answer::new(201).set_body_json(json!({
        "userId": id,
        "username": name,
        "admin": body.admin,
    }))
}

/// `POST /_pats_sim/users/{id}/tokens` on GitLab: a personal access token of the user.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GitLabToken {
    name: String,
    scopes: Option<Vec<String>>,
    /// Absent: the maximum lifetime (when expiry is required); `null`: never expires.
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
}

/// A field that may be given as `null`: `Some(None)`, unlike an absent one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn gitlab_token(inner: &Inner, user: &str, body: GitLabToken) -> Answer {
    let Some(user) = user
        .parse::<u64>()
        .ok()
        .filter(|u| inner.gitlab.has_user(*u))
    else {
        return admin_error(404, &format!("no user {user}"));
    };
    if body.name.trim().is_empty() {
        return admin_error(400, "name must not be blank");
    }
    let scopes = body.scopes.unwrap_or_else(|| vec!["api".to_owned()]);
    if scopes.is_empty() || scopes.iter().any(|s| !GitLabSim::is_scope(s)) {
        return admin_error(400, "scopes must be GitLab personal access token scopes");
    }
    let expires_at = match body.expires_at {
        None => inner.gitlab.default_expiry(),
        Some(None) => None,
        Some(Some(day)) => match GitLabSim::parse_day(&day) {
            Some(d) => Some(d),
            None => return admin_error(400, "expiresAt must be a YYYY-MM-DD day"),
        },
    };
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let token = inner
        .gitlab
        .seed_token_expiring(user, &body.name, &scopes, expires_at);
    let id = inner.gitlab.token_id(&token);
    Answer::new(201).set_body_json(json!({ "id": id, "token": token, "userId": user }))
}

/// `POST /_pats_sim/projects` and `POST /_pats_sim/groups` on GitLab: a project at `path`
/// (`group/project`), a group at `path` (`group`, `group/subgroup`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GitLabNamespace {
    path: String,
}

fn gitlab_namespace(inner: &Inner, group: bool, body: GitLabNamespace) -> Answer {
    let path = &body.path;
    let segment = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    let (what, key) = if group {
        ("group", "groupId")
    } else {
        ("project", "projectId")
    };
    if path.len() > 255 || !(group || path.contains('/')) || !path.split('/').all(segment) {
        return admin_error(
            400,
            &format!(
                "path is a {} of letters, digits, '_', '-' or '.'",
                if group {
                    "group path (`group`, `group/subgroup`)"
                } else {
                    "namespace and a name (`group/project`)"
                }
            ),
        );
    }
    let taken = if group {
        inner.gitlab.group_id(path)
    } else {
        inner.gitlab.project_id(path)
    };
    if taken.is_some() {
        return admin_error(409, &format!("{what} {path} exists"));
    }
    let id = if group {
        inner.gitlab.seed_group(path)
    } else {
        inner.gitlab.seed_project(path)
    };
    Answer::new(201).set_body_json(json!({ key: id, "path": path }))
}

/// `POST /_pats_sim/projects/{id}/members` and `POST /_pats_sim/groups/{id}/members` on
/// GitLab: a user's role in the project or group.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GitLabMember {
    user_id: u64,
    access_level: u8,
}

fn gitlab_member(inner: &Inner, group: bool, id: &str, body: GitLabMember) -> Answer {
    if !GitLabSim::is_access_level(body.access_level) {
        return admin_error(400, "accessLevel must be 10, 15, 20, 30, 40 or 50");
    }
    if !inner.gitlab.has_user(body.user_id) {
        return admin_error(404, &format!("no user {}", body.user_id));
    }
    let (what, key) = if group {
        ("group", "groupId")
    } else {
        ("project", "projectId")
    };
    let added = id.parse::<u64>().ok().filter(|id| {
        let (user, level) = (body.user_id, body.access_level);
        if group {
            inner.gitlab.seed_group_member(*id, user, level)
        } else {
            inner.gitlab.seed_member(*id, user, level)
        }
    });
    match added {
        Some(id) => Answer::new(201).set_body_json(json!({
            key: id,
            "userId": body.user_id,
            "accessLevel": body.access_level,
        })),
        None => admin_error(404, &format!("no {what} {id}")),
    }
}

/// `PUT /_pats_sim/state`: replaces the whole state with the body, a state document as
/// `GET /_pats_sim/state` answers it (format and version checked). All or nothing: a
/// document one simulator refuses leaves the state as it was.
fn load_state(inner: &Inner, request: &Request) -> Answer {
    let Ok(document) = request.body_json::<Value>() else {
        return admin_error(400, "the body must be a JSON state document");
    };
    if let Err(reason) = super::check_state_document(&document) {
        return admin_error(400, &reason);
    }
    let before = inner.snapshot();
    match restore_sims(inner, &document) {
        Ok(()) => Answer::new(200).set_body_json(json!({ "loaded": true })),
        Err(reason) => {
            // Put back what the simulators restored before the one that refused.
            let _ = restore_sims(inner, &before);
            admin_error(400, &reason)
        }
    }
}
