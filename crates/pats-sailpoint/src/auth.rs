//! Authentication: OAuth2 client credentials (cached, refreshed) or a static bearer token.

use pats_core::Result;

use pats_core::credentials::{FetchedToken, TokenFetcher};
use pats_core::{Request, Transport};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

/// How the client authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum Auth {
    /// OAuth2 client credentials (an API client, or a PAT's client id and secret): tokens
    /// come from `POST {base}/oauth/token`, are cached, refreshed before they expire and
    /// once on a 401.
    ClientCredentials {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
    },
    /// A bearer token obtained elsewhere, sent as is (never refreshed).
    Bearer(SecretString),
}

impl Auth {
    /// Client credentials.
    pub fn client_credentials(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self::ClientCredentials {
            client_id: client_id.into(),
            client_secret,
        }
    }

    /// A static bearer token.
    pub fn bearer(token: SecretString) -> Self {
        Self::Bearer(token)
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer([REDACTED])"),
        }
    }
}

/// The client-credentials exchange, for [`pats_core::credentials::CachingTokenSource`].
pub(crate) struct ClientCredentialsFetcher {
    pub(crate) transport: Transport,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
}

impl fmt::Debug for ClientCredentialsFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SailPointClientCredentials")
            .field("base", &self.transport.base_url().as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The fields of the token answer pats reads (no `Debug`: it holds the token).
#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default, with = "pats_core::__private::wire::uint64::option")]
    expires_in: Option<u64>,
}

#[pats_core::reexports::async_trait]
impl TokenFetcher for ClientCredentialsFetcher {
    async fn fetch(&self) -> Result<FetchedToken> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose_secret())
            .finish();
        // Asking for a token changes nothing on the server: the contract marks it
        // idempotent, so it is retried.
        let request = Request::operation(&crate::generated::operations::OAUTH_TOKEN, &[])?
            .without_auth()
            .secret(self.client_secret.clone())
            .body(
                body.into_bytes(),
                pats_core::reexports::reqwest::header::HeaderValue::from_static(
                    "application/x-www-form-urlencoded",
                ),
            );
        let response = self.transport.send(request).await?;
        if !response.is_success() {
            return Err(crate::error::map_error(&response));
        }
        let answer: TokenAnswer = response.json()?;
        response.check_access_token(&answer.access_token)?;
        Ok(FetchedToken::new(
            SecretString::from(answer.access_token),
            answer.expires_in.map(Duration::from_secs),
        ))
    }
}

/// Checks that an error holds nothing of `secrets` (used in debug assertions of tests).
#[cfg(test)]
pub(crate) fn leaks(text: &str, secrets: &[&str]) -> bool {
    secrets.iter().any(|s| !s.is_empty() && text.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let a = Auth::client_credentials("cid", SecretString::from("very-secret-value"));
        let b = Auth::bearer(SecretString::from("bearer-token-value"));
        let text = format!("{a:?} {b:?}");
        assert!(
            !leaks(&text, &["very-secret-value", "bearer-token-value"]),
            "{text}"
        );
        assert!(text.contains("cid"));
    }
}
