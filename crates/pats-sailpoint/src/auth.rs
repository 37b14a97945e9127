//! Authentication: OAuth2 client credentials (cached, refreshed) or a static bearer token.

use pats_core::credentials::oauth2::{
    ClientAuthMethod, ClientCredentials, ClientCredentialsFetcher, TokenEndpoint,
};
use pats_core::{Result, Transport};
use secrecy::SecretString;
use std::fmt;

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

/// The client-credentials login at `POST {base}/oauth/token`, for
/// [`pats_core::credentials::CachingTokenSource`]: `grant_type=client_credentials` with the
/// client id and secret in the form body and no scope; errors are read as SailPoint's.
/// Retried as the contract says (idempotent: a login changes nothing on the server).
pub(crate) fn client_credentials_fetcher(
    transport: Transport,
    client_id: String,
    client_secret: SecretString,
) -> Result<ClientCredentialsFetcher> {
    let endpoint = TokenEndpoint::new(transport, &crate::generated::operations::OAUTH_TOKEN)
        .with_error_mapper(crate::error::map_error);
    let credentials =
        ClientCredentials::new(client_id, client_secret).method(ClientAuthMethod::Post);
    ClientCredentialsFetcher::new(endpoint, credentials)
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
