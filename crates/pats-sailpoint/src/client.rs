//! The SailPoint PAT client and its builder.

use crate::GetPersonalAccessTokenResponse;
use crate::auth::{Auth, client_credentials_fetcher};
use crate::error::map_error;
use crate::filter::ListTokens;
use crate::generated::CreatePersonalAccessTokenRequestV2025 as CreatePersonalAccessTokenRequest;
use crate::operations::PatOperation;
use crate::patch::{TokenPatch, validate_patch};
use crate::version::{ApiVersion, six_months_after};
use pats_core::credentials::{CachingTokenSource, StaticToken, TokenSource};
use pats_core::reexports::reqwest::header::{HeaderName, HeaderValue};
use pats_core::{
    ApiError, ClientOptions, Error, NeverExpires, Request, Response, Result, TokenId, Transport,
};
use secrecy::SecretString;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Provider name used in errors and tracing.
pub const PROVIDER: &str = "sailpoint";

/// Shortest `accessTokenValiditySeconds`.
pub const MIN_ACCESS_TOKEN_VALIDITY_SECONDS: u32 = 15;
/// Longest (and default) `accessTokenValiditySeconds`.
pub const MAX_ACCESS_TOKEN_VALIDITY_SECONDS: u32 = 43_200;

/// Environment variable with the tenant API base URL.
pub const ENV_BASE_URL: &str = "SAIL_BASE_URL";
/// Environment variable with the OAuth2 client id.
pub const ENV_CLIENT_ID: &str = "SAIL_CLIENT_ID";
/// Environment variable with the OAuth2 client secret.
pub const ENV_CLIENT_SECRET: &str = "SAIL_CLIENT_SECRET";

const PATCH_CONTENT_TYPE: &str = "application/json-patch+json";

/// When a new token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenExpiration {
    /// Omit `expirationDate`: six months on v3/beta/v2024. Refused on v2025/v2026/V1,
    /// where an omitted date means "never" and needs [`TokenExpiration::Never`].
    #[default]
    Default,
    /// At this time (in the future; on v3/beta/v2024 at most six months ahead).
    At(OffsetDateTime),
    /// Never (v2025, v2026, V1): sends `expirationDate: null` and
    /// `userAwareTokenNeverExpires: true`.
    Never(NeverExpires),
}

/// A typed create request (`CreatePersonalAccessTokenRequest`), checked before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    name: String,
    scope: Option<Vec<String>>,
    access_token_validity_seconds: Option<u32>,
    expiration: TokenExpiration,
}

impl NewToken {
    /// A token named `name` (unique per owner), all scopes, default lifetimes.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            scope: None,
            access_token_validity_seconds: None,
            expiration: TokenExpiration::Default,
        }
    }

    /// The scopes (default: `sp:scopes:all`).
    #[must_use]
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scope = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Lifetime of the access tokens obtained with this PAT, 15..=43200 seconds.
    #[must_use]
    pub fn access_token_validity_seconds(mut self, seconds: u32) -> Self {
        self.access_token_validity_seconds = Some(seconds);
        self
    }

    /// When the token expires.
    #[must_use]
    pub fn expiration(mut self, expiration: TokenExpiration) -> Self {
        self.expiration = expiration;
        self
    }

    /// Expires at `at`.
    #[must_use]
    pub fn expires_at(self, at: OffsetDateTime) -> Self {
        self.expiration(TokenExpiration::At(at))
    }

    /// Never expires (v2025, v2026, V1 only).
    #[must_use]
    pub fn never_expires(self, acknowledged: NeverExpires) -> Self {
        self.expiration(TokenExpiration::Never(acknowledged))
    }

    /// The JSON body for `version`, after checking every rule (see the crate docs).
    pub fn to_body(&self, version: ApiVersion, now: OffsetDateTime) -> Result<Value> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if let Some(scope) = &self.scope {
            if scope.is_empty() {
                return Err(Error::invalid(
                    "scope",
                    "give at least one scope, or none for the default",
                ));
            }
            if scope.iter().any(|s| s.trim().is_empty()) {
                return Err(Error::invalid("scope", "a scope must not be empty"));
            }
        }
        let validity = match self.access_token_validity_seconds {
            Some(s)
                if !(MIN_ACCESS_TOKEN_VALIDITY_SECONDS..=MAX_ACCESS_TOKEN_VALIDITY_SECONDS)
                    .contains(&s) =>
            {
                return Err(Error::invalid(
                    "accessTokenValiditySeconds",
                    format!(
                        "{s} is outside {MIN_ACCESS_TOKEN_VALIDITY_SECONDS}..={MAX_ACCESS_TOKEN_VALIDITY_SECONDS}"
                    ),
                ));
            }
            Some(s) => Some(i32::try_from(s).unwrap_or(i32::MAX)),
            None => None,
        };
        let mut wire = CreatePersonalAccessTokenRequest {
            access_token_validity_seconds: validity,
            expiration_date: None,
            name: self.name.clone(),
            scope: self.scope.clone(),
            user_aware_token_never_expires: None,
        };
        // A never-expiring token sends `"expirationDate": null` (the documented request); the
        // model omits a `None`, so that null is set on the JSON below. A date goes through
        // the model, which writes it down to the millisecond as the contract describes it.
        let mut explicit_null = false;
        match self.expiration {
            TokenExpiration::Default if version.supports_never_expires() => {
                return Err(Error::invalid(
                    "expirationDate",
                    format!(
                        "{version} has no default expiration (an omitted date means a token that \
                         never expires, which needs the explicit acknowledgement): give a date, \
                         or TokenExpiration::Never(NeverExpires::I_UNDERSTAND_THE_RISK)"
                    ),
                ));
            }
            TokenExpiration::Default => {}
            TokenExpiration::At(at) => {
                check_expiration(version, at, now)?;
                wire.expiration_date = Some(at);
            }
            TokenExpiration::Never(_) if !version.supports_never_expires() => {
                return Err(Error::invalid(
                    "expirationDate",
                    format!(
                        "{version} has no never-expiring tokens (use v2025, v2026 or V1); \
                         tokens expire at most six months ahead"
                    ),
                ));
            }
            TokenExpiration::Never(_) => {
                wire.user_aware_token_never_expires = Some(true);
                explicit_null = true;
            }
        }
        let mut body = serde_json::to_value(&wire)
            .map_err(|e| Error::invalid("body", format!("cannot serialize: {e}")))?;
        if explicit_null && let Value::Object(map) = &mut body {
            map.insert("expirationDate".into(), Value::Null);
        }
        Ok(body)
    }
}

fn check_expiration(version: ApiVersion, at: OffsetDateTime, now: OffsetDateTime) -> Result<()> {
    if at <= now {
        return Err(Error::invalid("expirationDate", "must be in the future"));
    }
    if version.caps_expiration_at_six_months() && at > six_months_after(now) {
        return Err(Error::invalid(
            "expirationDate",
            format!("{version} accepts at most six months ahead"),
        ));
    }
    Ok(())
}

/// A created token: its description and its secret, shown only this once.
///
/// The token's id is the client id to use with the secret at `/oauth/token`.
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedPat {
    /// The token as SailPoint describes it (the create answer without `secret`).
    pub pat: GetPersonalAccessTokenResponse,
    /// The secret.
    pub secret: SecretString,
}

/// The `secret` of a create answer (no `Debug`).
#[derive(serde::Deserialize)]
struct SecretField {
    secret: String,
}

/// The setting that raises the listing's body cap, as quoted in its error.
const LIST_RESPONSE_LIMIT_SETTING: &str = "SailPointClientBuilder::list_response_limit";

/// Builder of [`SailPointClient`].
#[derive(Clone, Default)]
pub struct SailPointClientBuilder {
    base_url: Option<String>,
    auth: Option<Auth>,
    version: ApiVersion,
    options: ClientOptions,
    refresh_margin: Option<Duration>,
    default_owner: Option<String>,
    list_response_limit: Option<usize>,
}

impl std::fmt::Debug for SailPointClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The base URL without userinfo or query: they can hold credentials.
        f.debug_struct("SailPointClientBuilder")
            .field(
                "base_url",
                &self
                    .base_url
                    .as_deref()
                    .map(pats_core::__private::redact::ShownUrl),
            )
            .field("auth", &self.auth)
            .field("version", &self.version)
            .field("options", &self.options)
            .field("refresh_margin", &self.refresh_margin)
            .field("default_owner", &self.default_owner)
            .field("list_response_limit", &self.list_response_limit)
            .finish()
    }
}

impl SailPointClientBuilder {
    /// The tenant API base URL, e.g. `https://acme.api.identitynow.com` (https, or http on
    /// loopback only).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// How to authenticate.
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// OAuth2 client credentials (an API client or a PAT).
    #[must_use]
    pub fn client_credentials(self, client_id: impl Into<String>, secret: SecretString) -> Self {
        self.auth(Auth::client_credentials(client_id, secret))
    }

    /// A static bearer token.
    #[must_use]
    pub fn bearer_token(self, token: SecretString) -> Self {
        self.auth(Auth::bearer(token))
    }

    /// The API version (default v3).
    #[must_use]
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self
    }

    /// Transport options (timeouts, retries, body cap, HTTP client, clock).
    #[must_use]
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    pats_core::__client_options_shortcuts!(#[must_use]);

    /// How long before expiry a client-credentials token is refreshed (default 60 s; at
    /// most half the token's lifetime, which counts as at most one day, see
    /// [`pats_core::credentials::CachingTokenSource`]).
    #[must_use]
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = Some(margin);
        self
    }

    /// The owner (identity id, or `me`) used when a listing names none, including the
    /// listing behind [`SailPointClient::get_token`].
    #[must_use]
    pub fn default_owner(mut self, owner_id: impl Into<String>) -> Self {
        self.default_owner = Some(owner_id.into());
        self
    }

    /// The largest accepted answer to a listing, in bytes (default: the body cap of the
    /// [`ClientOptions`], 4 MiB unless changed).
    ///
    /// SailPoint does not page its token listing: the whole listing (of the default owner,
    /// or of the whole tenant when no owner is set) comes in one answer, and
    /// [`get_token`](SailPointClient::get_token) lists too. A tenant whose listing is
    /// larger fails with [`Decode`](pats_core::ErrorKind::Decode) naming this setting; raise it here without
    /// raising the cap of every other call.
    #[must_use]
    pub fn list_response_limit(mut self, bytes: usize) -> Self {
        self.list_response_limit = Some(bytes);
        self
    }

    /// A builder filled from `lookup` (the environment for [`from_env`](Self::from_env)):
    /// the variables of [`SailPointConfig`](crate::SailPointConfig). A missing or malformed
    /// one is an [`InvalidInput`](pats_core::ErrorKind::InvalidInput) whose field is the
    /// variable's name.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        crate::SailPointConfig::from_lookup(lookup)?.env_builder()
    }

    /// A builder filled from the environment (see [`from_lookup`](Self::from_lookup)).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the client.
    pub fn build(self) -> Result<SailPointClient> {
        let base = self
            .base_url
            .ok_or_else(|| Error::invalid("base_url", "is required"))?;
        let auth = self
            .auth
            .ok_or_else(|| Error::invalid("auth", "give client credentials or a bearer token"))?;
        let transport = Transport::new(PROVIDER, &base, self.options)?;
        let source: Arc<dyn TokenSource> = match auth {
            Auth::Bearer(token) => Arc::new(StaticToken::new(token)),
            Auth::ClientCredentials {
                client_id,
                client_secret,
            } => {
                // The fetcher refuses an empty id or secret (pats-core's one check).
                let fetcher =
                    client_credentials_fetcher(transport.clone(), client_id, client_secret)?;
                let mut cache = CachingTokenSource::new(Arc::new(fetcher));
                if let Some(margin) = self.refresh_margin {
                    cache = cache.with_margin(margin);
                }
                Arc::new(cache)
            }
        };
        let list_response_limit = self
            .list_response_limit
            .unwrap_or(transport.options().max_response_bytes);
        Ok(SailPointClient {
            transport: transport.with_auth(source),
            version: self.version,
            default_owner: self.default_owner,
            list_response_limit,
        })
    }
}

/// Typed client of SailPoint's personal access token API.
///
/// Also implements [`pats_core::PersonalAccessTokens`].
#[derive(Debug, Clone)]
pub struct SailPointClient {
    transport: Transport,
    version: ApiVersion,
    default_owner: Option<String>,
    list_response_limit: usize,
}

impl SailPointClient {
    /// A builder.
    pub fn builder() -> SailPointClientBuilder {
        SailPointClientBuilder::default()
    }

    /// A client from `SAIL_BASE_URL`, `SAIL_CLIENT_ID`, `SAIL_CLIENT_SECRET` (v3).
    pub fn from_env() -> Result<Self> {
        SailPointClientBuilder::from_env()?.build()
    }

    /// The API version in use.
    pub fn api_version(&self) -> ApiVersion {
        self.version
    }

    /// The transport (base URL, options).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends any request (for calls pats has no typed method for) with this client's
    /// authentication; non-2xx answers become the matching [`Error`] kind.
    pub async fn send(&self, request: Request) -> Result<Response> {
        let response = self.transport.send(request).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(map_error(&response))
        }
    }

    /// The default owner, if one was set.
    pub fn default_owner(&self) -> Option<&str> {
        self.default_owner.as_deref()
    }

    /// The largest accepted listing answer, in bytes (see
    /// [`SailPointClientBuilder::list_response_limit`]).
    pub fn list_response_limit(&self) -> usize {
        self.list_response_limit
    }

    /// The request for `operation` on this client's version: the method and path template
    /// of the contract, and `X-SailPoint-Experimental: true` exactly when the contract marks
    /// the operation experimental (no PAT operation is, at the pinned commit).
    fn request(&self, operation: PatOperation, id: Option<&TokenId>) -> Result<Request> {
        let info = self.version.operation(operation);
        let params: Vec<&str> = id.map(TokenId::as_str).into_iter().collect();
        let mut request = Request::operation(&info.contract, &params)?;
        if info.experimental {
            request = request.header(
                HeaderName::from_static("x-sailpoint-experimental"),
                HeaderValue::from_static("true"),
            );
        }
        Ok(request)
    }

    /// `POST …/personal-access-tokens`. Never retried (a create is not idempotent), except
    /// the one replay after a 401, when the server did nothing.
    pub async fn create_token(&self, token: &NewToken) -> Result<CreatedPat> {
        let body = token.to_body(self.version, OffsetDateTime::now_utc())?;
        let request = self.request(PatOperation::Create, None)?.json(&body)?;
        let response = self.send(request).await?;
        let token: GetPersonalAccessTokenResponse = response.json()?;
        let secret: SecretField = response.json()?;
        if secret.secret.is_empty() {
            return Err(response.decode_error("the create answer has an empty `secret`"));
        }
        Ok(CreatedPat {
            pat: token,
            secret: SecretString::from(secret.secret),
        })
    }

    /// `GET …/personal-access-tokens?owner-id=…&filters=…` (the whole listing: SailPoint
    /// does not page it, so the answer must fit
    /// [`list_response_limit`](SailPointClientBuilder::list_response_limit)).
    pub async fn list_tokens(
        &self,
        list: &ListTokens,
    ) -> Result<Vec<GetPersonalAccessTokenResponse>> {
        let mut request = self
            .request(PatOperation::List, None)?
            .max_response_bytes(self.list_response_limit, LIST_RESPONSE_LIMIT_SETTING);
        if let Some(owner) = list.owner_id.as_ref().or(self.default_owner.as_ref()) {
            if owner.trim().is_empty() {
                return Err(Error::invalid("owner", "must not be empty"));
            }
            request = request.query("owner-id", owner);
        }
        if let Some(filter) = &list.filter {
            request = request.query("filters", filter.expression());
        }
        let response = self.send(request).await?;
        response.json()
    }

    /// One token by id. SailPoint has no get-by-id endpoint: this lists the default
    /// owner's tokens (or all tokens the caller may see) and picks the one with this id;
    /// [`NotFound`](pats_core::ErrorKind::NotFound) when it is not listed.
    pub async fn get_token(&self, id: &TokenId) -> Result<GetPersonalAccessTokenResponse> {
        let all = self.list_tokens(&ListTokens::new()).await?;
        all.into_iter()
            .find(|t| t.id == id.as_str())
            .ok_or_else(|| {
                Error::not_found(ApiError::new(
                    404,
                    format!("no personal access token with id `{id}` in the listing"),
                ))
            })
    }

    /// `PATCH …/personal-access-tokens/{id}` with a typed patch.
    pub async fn patch_token(
        &self,
        id: &TokenId,
        patch: &TokenPatch,
    ) -> Result<GetPersonalAccessTokenResponse> {
        let patch = patch.to_patch(self.version)?;
        self.patch_token_raw(id, &patch).await
    }

    /// `PATCH …/personal-access-tokens/{id}` with any RFC 6902 document, checked first
    /// against the version (see [`validate_patch`](crate::validate_patch)). Sent as
    /// `application/json-patch+json`; retried on 429/5xx only when it holds nothing but
    /// `replace` and `test` operations (which can be applied twice).
    pub async fn patch_token_raw(
        &self,
        id: &TokenId,
        patch: &json_patch::Patch,
    ) -> Result<GetPersonalAccessTokenResponse> {
        validate_patch(self.version, patch, OffsetDateTime::now_utc())?;
        let bytes = serde_json::to_vec(patch)
            .map_err(|e| Error::invalid("patch", format!("cannot serialize: {e}")))?;
        let idempotent = patch.0.iter().all(|op| {
            matches!(
                op,
                json_patch::PatchOperation::Replace(_) | json_patch::PatchOperation::Test(_)
            )
        });
        let request = self
            .request(PatOperation::Patch, Some(id))?
            .body(bytes, HeaderValue::from_static(PATCH_CONTENT_TYPE))
            .idempotent(idempotent);
        let response = self.send(request).await?;
        response.json()
    }

    /// `DELETE …/personal-access-tokens/{id}` (204).
    pub async fn delete_token(&self, id: &TokenId) -> Result<()> {
        let request = self.request(PatOperation::Delete, Some(id))?;
        self.send(request).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    #[test]
    fn bodies_per_version() {
        let t = NewToken::new("ci")
            .scope(["sp:scopes:all"])
            .access_token_validity_seconds(600)
            .expires_at(datetime!(2026-04-01 00:00:00.5 UTC));
        assert_eq!(
            t.to_body(ApiVersion::V3, NOW).unwrap(),
            json!({"name":"ci","scope":["sp:scopes:all"],"accessTokenValiditySeconds":600,
                   "expirationDate":"2026-04-01T00:00:00.500Z"})
        );
        assert_eq!(
            NewToken::new("n").to_body(ApiVersion::Beta, NOW).unwrap(),
            json!({"name":"n"})
        );
        let never = NewToken::new("n").never_expires(NeverExpires::I_UNDERSTAND_THE_RISK);
        for v in [ApiVersion::V2025, ApiVersion::V2026, ApiVersion::V1] {
            assert_eq!(
                never.to_body(v, NOW).unwrap(),
                json!({"name":"n","expirationDate":null,"userAwareTokenNeverExpires":true})
            );
        }
    }

    #[test]
    fn validation_rules() {
        let kind = |t: NewToken, v| t.to_body(v, NOW).unwrap_err().kind();
        assert_eq!(
            kind(NewToken::new(" "), ApiVersion::V3),
            ErrorKind::InvalidInput
        );
        for s in [0, 14, 43_201] {
            assert_eq!(
                kind(
                    NewToken::new("n").access_token_validity_seconds(s),
                    ApiVersion::V3
                ),
                ErrorKind::InvalidInput
            );
        }
        for s in [15, 43_200] {
            assert!(
                NewToken::new("n")
                    .access_token_validity_seconds(s)
                    .to_body(ApiVersion::V3, NOW)
                    .is_ok()
            );
        }
        assert_eq!(
            kind(
                NewToken::new("n").expires_at(datetime!(2026-03-01 11:59 UTC)),
                ApiVersion::V2025
            ),
            ErrorKind::InvalidInput
        );
        // Six months: 2026-09-01 12:00 is the last accepted instant on v3/beta/v2024.
        for v in [ApiVersion::V3, ApiVersion::Beta, ApiVersion::V2024] {
            assert!(
                NewToken::new("n")
                    .expires_at(datetime!(2026-09-01 12:00 UTC))
                    .to_body(v, NOW)
                    .is_ok()
            );
            assert_eq!(
                kind(
                    NewToken::new("n").expires_at(datetime!(2026-09-01 12:01 UTC)),
                    v
                ),
                ErrorKind::InvalidInput
            );
            assert_eq!(
                kind(
                    NewToken::new("n").never_expires(NeverExpires::I_UNDERSTAND_THE_RISK),
                    v
                ),
                ErrorKind::InvalidInput
            );
        }
        // No cap from v2025 on; but no silent never-expiring default either.
        assert!(
            NewToken::new("n")
                .expires_at(datetime!(2030-01-01 0:00 UTC))
                .to_body(ApiVersion::V2025, NOW)
                .is_ok()
        );
        assert_eq!(
            kind(NewToken::new("n"), ApiVersion::V1),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(
                NewToken::new("n").scope(Vec::<String>::new()),
                ApiVersion::V3
            ),
            ErrorKind::InvalidInput
        );
    }

    /// A variable lookup over fixed pairs, for `from_lookup`.
    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn from_lookup_names_the_missing_variable() {
        let err = SailPointClientBuilder::from_lookup(env(&[
            ("SAIL_BASE_URL", "https://acme.api.identitynow.com"),
            ("SAIL_CLIENT_ID", "cid"),
        ]))
        .unwrap_err();
        assert_eq!(err.field(), Some("SAIL_CLIENT_SECRET"), "{err}");
        let err = SailPointClientBuilder::from_lookup(env(&[
            ("SAIL_CLIENT_ID", "cid"),
            ("SAIL_CLIENT_SECRET", "s3cr3t-value"),
        ]))
        .unwrap_err();
        assert_eq!(err.field(), Some("SAIL_BASE_URL"));
        assert!(!format!("{err} {err:?}").contains("s3cr3t-value"));
        let builder = SailPointClientBuilder::from_lookup(env(&[
            ("SAIL_BASE_URL", "https://acme.api.identitynow.com"),
            ("SAIL_CLIENT_ID", "cid"),
            ("SAIL_CLIENT_SECRET", "s3cr3t-value"),
        ]))
        .unwrap();
        let client = builder.build().unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("acme.api.identitynow.com"), "{text}");
        let err = SailPointClient::builder()
            .base_url("http://acme.example.com")
            .bearer_token(SecretString::from("t"))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn from_lookup_reads_every_variable_the_facade_reads() {
        let client = SailPointClientBuilder::from_lookup(env(&[
            ("SAIL_BASE_URL", "https://acme.api.identitynow.com"),
            ("SAIL_ACCESS_TOKEN", "bearer-secret-value"),
            ("SAIL_API_VERSION", "V2025"),
            ("SAIL_OWNER_ID", "2c9180867b50d088017b554662fb281e"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(client.api_version(), ApiVersion::V2025);
        assert_eq!(
            client.default_owner(),
            Some("2c9180867b50d088017b554662fb281e")
        );
        assert!(!format!("{client:?}").contains("bearer-secret-value"));
        let err = SailPointClientBuilder::from_lookup(env(&[
            ("SAIL_BASE_URL", "https://acme.api.identitynow.com"),
            ("SAIL_ACCESS_TOKEN", "t"),
            ("SAIL_API_VERSION", "v4"),
        ]))
        .unwrap_err();
        assert_eq!(err.field(), Some("SAIL_API_VERSION"), "{err}");
    }
}
