//! How the client authenticates: a machine user's PAT, a JWT-profile key file, or a
//! machine user's client secret (client-credentials login).

use crate::error::map_oauth_error;
use crate::rs256::SigningKey;
use pats_core::Request;
use pats_core::credentials::oauth2::{self, TokenEndpoint};
use pats_core::credentials::{FetchedToken, TokenFetcher, TokenSource};
use pats_core::reexports::async_trait;
use pats_core::{Error, Result, Transport};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The OAuth grant type of the JWT-profile exchange.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub use pats_core::credentials::oauth2::{ClientAuthMethod, ClientCredentials};

/// The scope asked for in the JWT-profile exchange and the client-credentials login: an
/// access token valid for ZITADEL's APIs.
pub const API_SCOPE: &str = "openid urn:zitadel:iam:org:project:id:zitadel:aud";

/// How long a signed assertion is valid (ZITADEL accepts at most one hour).
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// A ZITADEL key file of a machine user (the JSON the console downloads).
///
/// Its `Debug` shows the ids but never the private key.
#[derive(Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyFile {
    /// `serviceaccount` for machine-user keys.
    #[serde(rename = "type", default)]
    pub key_type: String,
    /// The key's id, sent as the JWT `kid`.
    pub key_id: String,
    /// The machine user's id, sent as `iss` and `sub`.
    pub user_id: String,
    #[serde(deserialize_with = "secret_string")]
    key: SecretString,
}

fn secret_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<SecretString, D::Error> {
    let s: String = serde::Deserialize::deserialize(d)?;
    Ok(SecretString::from(s))
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("type", &self.key_type)
            .field("key_id", &self.key_id)
            .field("user_id", &self.user_id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl KeyFile {
    /// Parses a key file's JSON and checks it holds an RSA private key.
    ///
    /// Errors never quote the file's content.
    pub fn from_json(json: &str) -> Result<Self> {
        let file: KeyFile = serde_json::from_str(json).map_err(|e| {
            // serde_json's messages name fields and positions, never values.
            Error::invalid(
                "key_file",
                format!("not a ZITADEL key file ({})", json_problem(&e)),
            )
        })?;
        if file.key_id.trim().is_empty() {
            return Err(Error::invalid("key_file", "`keyId` is empty"));
        }
        if file.user_id.trim().is_empty() {
            return Err(Error::invalid("key_file", "`userId` is empty"));
        }
        file.encoding_key()?;
        Ok(file)
    }

    /// Reads and parses a key file: a regular file of at most
    /// [`MAX_LEN`](pats_core::files::MAX_LEN) bytes (64 KiB), read with
    /// [`pats_core::files::read_to_string`] (a FIFO or a device is refused, never waited on).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let json = pats_core::files::read_to_string(path)
            .map_err(|e| Error::invalid("key_file", e.to_string()))?;
        Self::from_json(&json)
    }

    /// The private key (PEM), for callers that sign themselves.
    pub fn private_key(&self) -> &SecretString {
        &self.key
    }

    fn encoding_key(&self) -> Result<SigningKey> {
        SigningKey::from_pem(self.key.expose_secret())
    }
}

/// Why a key file did not parse, without quoting any of it.
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "missing or mistyped `keyId`, `key` or `userId`",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

/// The client's credentials.
#[derive(Clone)]
#[non_exhaustive]
pub enum ZitadelAuth {
    /// A machine user's personal access token, sent as a bearer token.
    Pat(SecretString),
    /// A machine user's key file: the client signs a JWT assertion and exchanges it at
    /// `/oauth/v2/token` for an access token, cached and refreshed before it expires.
    KeyFile(KeyFile),
    /// A machine user's client id and secret (ZITADEL's `AddSecret`): the client logs in at
    /// `/oauth/v2/token` with the client-credentials grant; the access token is cached and
    /// refreshed before it expires.
    ClientCredentials(ClientCredentials),
    /// Any other source of bearer tokens.
    Source(Arc<dyn TokenSource>),
}

impl fmt::Debug for ZitadelAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pat(_) => f.write_str("Pat([REDACTED])"),
            Self::KeyFile(k) => f.debug_tuple("KeyFile").field(k).finish(),
            Self::ClientCredentials(c) => f.debug_tuple("ClientCredentials").field(c).finish(),
            Self::Source(s) => f.debug_tuple("Source").field(s).finish(),
        }
    }
}

impl ZitadelAuth {
    /// A machine user's PAT.
    pub fn pat(token: SecretString) -> Self {
        Self::Pat(token)
    }

    /// A key file's JSON (JWT profile).
    pub fn key_file_json(json: &str) -> Result<Self> {
        KeyFile::from_json(json).map(Self::KeyFile)
    }

    /// A key file on disk (JWT profile), read as [`KeyFile::from_path`] does.
    pub fn key_file_path(path: impl AsRef<Path>) -> Result<Self> {
        KeyFile::from_path(path).map(Self::KeyFile)
    }

    /// A machine user's client id and secret, sent by HTTP Basic (see
    /// [`ClientCredentials`]).
    pub fn client_credentials(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self::ClientCredentials(ClientCredentials::new(client_id, client_secret))
    }
}

/// Logs in with client credentials at `/oauth/v2/token` (RFC 6749 §4.4): `grant_type=
/// client_credentials` and the API scope in a form body, the client authenticated as
/// [`ClientAuthMethod`] says. No bearer token and no organization header are sent; the
/// secret (and the Basic header made from it) is registered as a secret of the request, so
/// it is scrubbed from any error built from the answer.
///
/// Wrap it in [`pats_core::credentials::CachingTokenSource`] (the client does).
pub struct ClientCredentialsFetcher(oauth2::ClientCredentialsFetcher);

impl fmt::Debug for ClientCredentialsFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ClientCredentialsFetcher {
    /// A fetcher for the instance behind `transport`. An empty client id or secret, or a
    /// client id with a control character, is [`InvalidInput`](pats_core::ErrorKind::InvalidInput).
    pub fn new(transport: Transport, credentials: ClientCredentials) -> Result<Self> {
        oauth2::ClientCredentialsFetcher::new(token_endpoint(transport), credentials)
            .map(|fetcher| Self(fetcher.scope(API_SCOPE)))
    }

    /// The token request, exactly as it is sent.
    pub fn request(&self) -> Result<Request> {
        self.0.request()
    }
}

#[async_trait]
impl TokenFetcher for ClientCredentialsFetcher {
    async fn fetch(&self) -> Result<FetchedToken> {
        self.0.fetch().await
    }
}

/// ZITADEL's token endpoint, `POST /oauth/v2/token`, whose errors are OAuth or gRPC bodies.
fn token_endpoint(transport: Transport) -> TokenEndpoint {
    TokenEndpoint::new(transport, &crate::generated::operations::TOKEN)
        .with_error_mapper(map_oauth_error)
}

#[derive(serde::Serialize)]
struct JwtHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// Signs JWT-profile assertions with a key file and exchanges them at `/oauth/v2/token`.
///
/// The exchange goes to the client's base URL without a bearer token and without the
/// organization header; the assertion is registered as a secret, so it is scrubbed from
/// any error built from the answer.
///
/// Wrap it in [`pats_core::credentials::CachingTokenSource`] (the client does) so that one exchange serves
/// every concurrent caller until shortly before the access token expires.
pub struct JwtProfileFetcher {
    endpoint: TokenEndpoint,
    key_file: KeyFile,
    key: SigningKey,
    audience: String,
}

impl fmt::Debug for JwtProfileFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtProfileFetcher")
            .field("key_id", &self.key_file.key_id)
            .field("user_id", &self.key_file.user_id)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl JwtProfileFetcher {
    /// A fetcher for the instance behind `transport` (its base URL is the audience).
    pub fn new(transport: Transport, key_file: KeyFile) -> Result<Self> {
        let key = key_file.encoding_key()?;
        let audience = instance_audience(transport.base_url());
        Ok(Self {
            endpoint: token_endpoint(transport),
            key_file,
            key,
            audience,
        })
    }

    /// Signs an assertion valid from `now` for five minutes (`ASSERTION_LIFETIME`).
    pub fn assertion(&self, now: time::OffsetDateTime) -> Result<SecretString> {
        let header = JwtHeader {
            alg: "RS256",
            typ: "JWT",
            kid: &self.key_file.key_id,
        };
        let iat = now.unix_timestamp();
        let claims = Claims {
            iss: &self.key_file.user_id,
            sub: &self.key_file.user_id,
            aud: &self.audience,
            iat,
            exp: iat + ASSERTION_LIFETIME.as_secs().cast_signed(),
        };
        self.key.sign_jwt(&header, &claims).map(SecretString::from)
    }
}

/// The audience ZITADEL expects: the instance URL without a trailing slash.
pub(crate) fn instance_audience(base: &url::Url) -> String {
    base.as_str().trim_end_matches('/').to_owned()
}

#[async_trait]
impl TokenFetcher for JwtProfileFetcher {
    async fn fetch(&self) -> Result<FetchedToken> {
        let assertion = self.assertion(time::OffsetDateTime::now_utc())?;
        let request = self
            .endpoint
            .request(&[
                ("grant_type", JWT_BEARER_GRANT),
                ("scope", API_SCOPE),
                ("assertion", assertion.expose_secret()),
            ])?
            .secret(assertion.clone());
        self.endpoint.exchange(request).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;

    #[test]
    fn bad_key_files_are_rejected_without_quoting_them() {
        for bad in [
            "not json at all secret-material",
            r#"{"keyId":"k","userId":"u"}"#,
            r#"{"keyId":"k","userId":"u","key":"not-a-pem-secret-material"}"#,
            r#"{"keyId":"","userId":"u","key":"x"}"#,
        ] {
            let err = KeyFile::from_json(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(!err.to_string().contains("secret-material"), "{err}");
        }
    }
}
