//! User Action Signing: `POST /auth/action/init` → sign → `POST /auth/action`.

use crate::error::check;
use crate::generated::{
    CredentialAssertion, FirstFactor, UserActionChallenge, UserActionInitRequest, UserActionRequest,
};
use crate::signer::UserActionSigner;
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pats_core::AttemptContext;
use pats_core::reexports::reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use pats_core::{Error, Request, RequestHook, Result, Transport};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;

/// The header that carries the user action token.
pub const USER_ACTION_HEADER: &str = "x-dfns-useraction";

/// The client data that is signed, serialized as `{"type":"key.get","challenge":"…"}`.
#[derive(serde::Serialize)]
struct ClientData<'a> {
    r#type: &'static str,
    challenge: &'a str,
}

/// The answer of `POST /auth/action` (no `Debug`: the token is a credential).
#[derive(serde::Deserialize)]
struct UserActionAnswer {
    #[serde(rename = "userAction")]
    user_action: String,
}

/// Obtains a single-use user action token for a call with `method`, `path` (no query) and
/// the exact `body` bytes it will send (empty for no body).
pub(crate) async fn obtain(
    transport: &Transport,
    signer: &dyn UserActionSigner,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<SecretString> {
    let payload = std::str::from_utf8(body)
        .map_err(|_| Error::signing("the request body to sign is not UTF-8"))?;
    let init = UserActionInitRequest {
        user_action_payload: payload.to_owned(),
        user_action_http_method: method.to_owned(),
        user_action_http_path: path.to_owned(),
        user_action_server_kind: "Api".to_owned(),
    };
    let request = Request::post("/auth/action/init")
        .segments(["auth", "action", "init"])
        .json(&init)?
        .idempotent(false);
    let challenge: UserActionChallenge = check(transport.send(request).await?)?.json()?;

    let credential_id = signer.credential_id();
    let allowed: Vec<&str> = challenge
        .allow_credentials
        .as_ref()
        .and_then(|a| a.key.as_ref())
        .map(|keys| keys.iter().map(|k| k.id.as_str()).collect())
        .unwrap_or_default();
    if !allowed.contains(&credential_id) {
        return Err(Error::signing(format!(
            "the signer's credential `{credential_id}` is not among the key credentials Dfns \
             allows for this user ({}); register the key with Dfns or use one of those",
            if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            }
        )));
    }

    let client_data = serde_json::to_vec(&ClientData {
        r#type: "key.get",
        challenge: &challenge.challenge,
    })
    .map_err(|e| Error::signing(format!("cannot serialize the client data: {e}")))?;
    let signature = signer.sign(&client_data).await?;
    if signature.is_empty() {
        return Err(Error::signing("the signer returned an empty signature"));
    }
    let action = UserActionRequest {
        challenge_identifier: challenge.challenge_identifier,
        first_factor: FirstFactor {
            kind: "Key".to_owned(),
            credential_assertion: CredentialAssertion {
                cred_id: credential_id.to_owned(),
                client_data: URL_SAFE_NO_PAD.encode(&client_data),
                signature: URL_SAFE_NO_PAD.encode(&signature),
            },
        },
    };
    let request = Request::post("/auth/action")
        .segments(["auth", "action"])
        .json(&action)?
        .idempotent(false);
    let answer: UserActionAnswer = check(transport.send(request).await?)?.json()?;
    if answer.user_action.is_empty() {
        return Err(Error::decode(200, "the user action token is empty", &[]));
    }
    Ok(SecretString::from(answer.user_action))
}

/// A [`RequestHook`] that signs every attempt of a change request anew (user action tokens
/// are single-use) and adds the `X-DFNS-USERACTION` header.
#[derive(Clone)]
pub(crate) struct UserActionHook {
    pub(crate) transport: Transport,
    pub(crate) signer: Arc<dyn UserActionSigner>,
}

impl fmt::Debug for UserActionHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserActionHook")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RequestHook for UserActionHook {
    async fn before_attempt(
        &self,
        ctx: &AttemptContext<'_>,
        headers: &mut HeaderMap,
    ) -> Result<()> {
        let token = obtain(
            &self.transport,
            self.signer.as_ref(),
            ctx.method.as_str(),
            api_path(&self.transport, ctx.url),
            ctx.body.unwrap_or_default(),
        )
        .await?;
        headers.insert(
            HeaderName::from_static(USER_ACTION_HEADER),
            header_value(&token)?,
        );
        Ok(())
    }
}

/// The path Dfns sees: the URL's path without the query and without the base URL's own
/// path (when the base URL points at a proxy under a prefix such as `/dfns`).
pub(crate) fn api_path<'a>(transport: &Transport, url: &'a url::Url) -> &'a str {
    let prefix = transport.base_url().path().trim_end_matches('/');
    let path = url.path();
    match path.strip_prefix(prefix) {
        Some(rest) if !prefix.is_empty() && rest.starts_with('/') => rest,
        _ => path,
    }
}

/// The token as a sensitive header value.
pub(crate) fn header_value(token: &SecretString) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
        Error::decode(
            200,
            "the user action token has characters not allowed in a header",
            &[],
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ClientOptions;

    #[test]
    fn signed_path_drops_query_and_base_prefix() {
        let root = Transport::new("dfns", "http://127.0.0.1:9", ClientOptions::default()).unwrap();
        let url = root.url(&["auth", "pats", "to-1"]).unwrap();
        assert_eq!(api_path(&root, &url), "/auth/pats/to-1");
        let mut with_query = url.clone();
        with_query.set_query(Some("a=b"));
        assert_eq!(api_path(&root, &with_query), "/auth/pats/to-1");

        let proxied =
            Transport::new("dfns", "http://127.0.0.1:9/dfns/", ClientOptions::default()).unwrap();
        let url = proxied.url(&["auth", "pats"]).unwrap();
        assert_eq!(url.path(), "/dfns/auth/pats");
        assert_eq!(api_path(&proxied, &url), "/auth/pats");
    }
}
