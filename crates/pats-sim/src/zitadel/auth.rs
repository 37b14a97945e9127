//! Who is calling: the token endpoint (JWT profile and client credentials), OpenID
//! discovery, and the bearer check every API call passes first.

use super::proto::*;
use super::state::*;
use super::{API_AUDIENCE_SCOPE, CLIENT_CREDENTIALS, Caller, JWT_BEARER, Responder};
use crate::answer::Answer;
use crate::jwt;
use serde_json::{Value, json};
use std::collections::HashMap;

impl Responder {
    /// The OpenID Provider metadata (OpenID Connect Discovery 1.0 §3).
    pub(super) fn discovery(&self) -> Answer {
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

    pub(super) fn token_endpoint(&self, request: &crate::server::Request) -> Answer {
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
                Err(answer) => return *answer,
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
            .insert(token.clone(), Issued(user_id, expires));
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
pub(super) fn client_login(
    state: &State,
    request: &crate::server::Request,
    form: &HashMap<String, String>,
) -> Result<(String, &'static str), Box<Answer>> {
    use base64::Engine as _;
    let invalid_client = || {
        Box::new(
            oauth_error(401, "invalid_client", "client authentication failed")
                .insert_header("www-authenticate", "Basic realm=\"zitadel\""),
        )
    };
    let basic = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let in_form = form.contains_key("client_id") || form.contains_key("client_secret");
    let (id, secret, how) = match (basic, in_form) {
        (Some(_), true) => {
            return Err(Box::new(oauth_error(
                400,
                "invalid_request",
                "more than one client authentication method",
            )));
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

pub(super) fn verify_assertion(
    state: &State,
    assertion: &str,
) -> Result<(String, Value), &'static str> {
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

pub(super) fn authenticate(
    state: &State,
    request: &crate::server::Request,
) -> Result<Caller, Fail> {
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
    let user_id = if let Some(Issued(user, expires)) = state.access_tokens.get(token) {
        (*expires > t).then(|| user.clone())
    } else {
        state
            .pat_by_secret(token)
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
