//! The GitLab PAT client and its builder.

use crate::error::map_error;
use crate::generated::operations;
use crate::generated::{
    CreatePersonalAccessTokenBody, PersonalAccessToken, RotatePersonalAccessTokenBody,
};
use crate::list::{ListTokens, TokenListPage};
use pats_core::credentials::StaticToken;
use pats_core::{ClientOptions, Error, Operation, Request, Response, Result, Transport};
use secrecy::SecretString;
use std::sync::Arc;
use time::{Date, OffsetDateTime};

/// Provider name used in errors and tracing.
pub const PROVIDER: &str = "gitlab";

/// Environment variable with the GitLab base URL (optional: `https://gitlab.com`).
pub const ENV_BASE_URL: &str = "GITLAB_BASE_URL";
/// Environment variable with the access token the client authenticates with.
pub const ENV_TOKEN: &str = "GITLAB_TOKEN";
/// The base URL when none is given: GitLab.com.
pub const DEFAULT_BASE_URL: &str = "https://gitlab.com";

/// The longest `description` GitLab accepts ("Maximum: 255 characters").
pub const MAX_DESCRIPTION_CHARS: usize = 255;

/// Whose token a create makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFor {
    /// The authenticated user: `POST /user/personal_access_tokens`, which GitLab limits to
    /// the scopes `k8s_proxy` and `self_rotate`.
    Me,
    /// A user by id: `POST /users/:user_id/personal_access_tokens` (administrators only).
    User(u64),
}

/// A typed create request, checked before sending ([`NewToken::to_body`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    name: String,
    scopes: Vec<String>,
    description: Option<String>,
    expires_at: Option<Date>,
}

impl NewToken {
    /// A token named `name` with `scopes` (at least one), GitLab's default expiry.
    pub fn new<I, S>(name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            description: None,
            expires_at: None,
        }
    }

    /// A description (at most 255 characters).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The date the token expires on (sent as `YYYY-MM-DD`; today or later).
    #[must_use]
    pub fn expires_at(mut self, date: Date) -> Self {
        self.expires_at = Some(date);
        self
    }

    /// The JSON body, after checking every rule: a name, at least one scope and no empty
    /// one, a description of at most 255 characters, an expiry not before `today`.
    pub fn to_body(&self, today: Date) -> Result<CreatePersonalAccessTokenBody> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if self.scopes.is_empty() {
            return Err(Error::invalid("scopes", "give at least one scope"));
        }
        if self.scopes.iter().any(|s| s.trim().is_empty()) {
            return Err(Error::invalid("scopes", "a scope must not be empty"));
        }
        if let Some(description) = &self.description
            && description.chars().count() > MAX_DESCRIPTION_CHARS
        {
            return Err(Error::invalid(
                "description",
                format!("GitLab accepts at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        let expires_at = self
            .expires_at
            .map(|date| wire_date("expires_at", date, today))
            .transpose()?;
        Ok(CreatePersonalAccessTokenBody {
            description: self.description.clone(),
            expires_at,
            name: self.name.clone(),
            scopes: self.scopes.clone(),
        })
    }
}

/// `date` as GitLab's `YYYY-MM-DD`, refused when it is before `today`.
pub(crate) fn wire_date(field: &'static str, date: Date, today: Date) -> Result<String> {
    if date < today {
        return Err(Error::invalid(
            field,
            format!("{date} is in the past (today is {today})"),
        ));
    }
    Ok(format_date(date))
}

/// `YYYY-MM-DD` (ISO 8601 calendar date; years 0..=9999 only, as GitLab's).
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A token GitLab has just created or rotated: its description and its value, shown only
/// this once.
#[derive(Debug)]
#[non_exhaustive]
pub struct NewPat {
    /// The token as GitLab describes it (the answer without `token`).
    pub pat: PersonalAccessToken,
    /// The token value.
    pub token: SecretString,
}

/// The `token` of a create or rotate answer (no `Debug`).
#[derive(serde::Deserialize)]
struct TokenField {
    token: String,
}

/// Builder of [`GitLabClient`].
#[derive(Clone, Default)]
pub struct GitLabClientBuilder {
    base_url: Option<String>,
    token: Option<SecretString>,
    options: ClientOptions,
    default_owner: Option<u64>,
    default_scopes: Vec<String>,
}

impl std::fmt::Debug for GitLabClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The base URL without userinfo or query: they can hold credentials.
        f.debug_struct("GitLabClientBuilder")
            .field(
                "base_url",
                &self
                    .base_url
                    .as_deref()
                    .map(pats_core::__private::redact::ShownUrl),
            )
            .field("token", &self.token)
            .field("options", &self.options)
            .field("default_owner", &self.default_owner)
            .field("default_scopes", &self.default_scopes)
            .finish()
    }
}

impl GitLabClientBuilder {
    /// The GitLab instance, e.g. `https://gitlab.example.com` (https, or http on loopback
    /// only); without it, [`DEFAULT_BASE_URL`]. Paths (`/api/v4/…`) are appended to it, so
    /// an instance under a relative URL is `https://example.com/gitlab`.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The access token to authenticate with (a personal, project, group or OAuth token),
    /// sent as `Authorization: Bearer`.
    #[must_use]
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Transport options (timeouts, retries, body cap, HTTP client, clock).
    #[must_use]
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    pats_core::__client_options_shortcuts!(#[must_use]);

    /// The user whose tokens the provider-neutral calls manage when they name no owner
    /// (`PersonalAccessTokens::create` and `list`): creates become an administrator's
    /// `POST /users/:id/personal_access_tokens` and listings filter on `user_id`. Without
    /// it a create makes a token of the caller (which GitLab limits to the scopes
    /// `k8s_proxy` and `self_rotate`) and a listing shows every token the caller may see.
    #[must_use]
    pub fn default_owner(mut self, user_id: u64) -> Self {
        self.default_owner = Some(user_id);
        self
    }

    /// The scopes a provider-neutral create gets when its request names none (GitLab
    /// needs at least one). Without them such a create is refused before sending.
    #[must_use]
    pub fn default_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.default_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A builder filled from `lookup` (the environment for [`from_env`](Self::from_env)):
    /// the variables of [`GitLabConfig`](crate::GitLabConfig), `GITLAB_TOKEN` (required),
    /// `GITLAB_BASE_URL` (default `https://gitlab.com`), `GITLAB_USER_ID` and
    /// `GITLAB_SCOPES`. A missing or malformed variable is an
    /// [`InvalidInput`](pats_core::ErrorKind::InvalidInput) naming it, never its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        crate::GitLabConfig::from_lookup(lookup)?.env_builder()
    }

    /// A builder filled from the process environment (see
    /// [`from_lookup`](Self::from_lookup)).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(pats_core::__private::env::process_env)
    }

    /// Builds the client. A token is required; an empty one is refused.
    pub fn build(self) -> Result<GitLabClient> {
        let base = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let token = self
            .token
            .ok_or_else(|| Error::invalid("token", "is required"))?;
        if secrecy::ExposeSecret::expose_secret(&token).is_empty() {
            return Err(Error::invalid("token", "must not be empty"));
        }
        if self.default_owner == Some(0) {
            return Err(Error::invalid(
                "user_id",
                "a GitLab user id is a positive integer",
            ));
        }
        if self.default_scopes.iter().any(|s| s.trim().is_empty()) {
            return Err(Error::invalid("scopes", "a scope must not be empty"));
        }
        let transport = Transport::new(PROVIDER, &base, self.options)?
            .with_auth(Arc::new(StaticToken::new(token)));
        Ok(GitLabClient {
            transport,
            default_owner: self.default_owner,
            default_scopes: self.default_scopes,
        })
    }
}

/// Typed client of GitLab's personal access token API (REST v4).
///
/// Also implements [`pats_core::PersonalAccessTokens`].
#[derive(Debug, Clone)]
pub struct GitLabClient {
    transport: Transport,
    pub(crate) default_owner: Option<u64>,
    pub(crate) default_scopes: Vec<String>,
}

impl GitLabClient {
    /// A builder.
    pub fn builder() -> GitLabClientBuilder {
        GitLabClientBuilder::default()
    }

    /// A client from `GITLAB_TOKEN` and `GITLAB_BASE_URL` (default `https://gitlab.com`).
    pub fn from_env() -> Result<Self> {
        GitLabClientBuilder::from_env()?.build()
    }

    /// The transport (base URL, options).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The user whose tokens the provider-neutral calls manage when they name no owner
    /// (see [`GitLabClientBuilder::default_owner`]).
    pub fn default_owner(&self) -> Option<u64> {
        self.default_owner
    }

    /// The scopes of a provider-neutral create that names none (see
    /// [`GitLabClientBuilder::default_scopes`]).
    pub fn default_scopes(&self) -> &[String] {
        &self.default_scopes
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

    async fn call(&self, operation: &Operation, params: &[&str]) -> Result<Response> {
        self.send(Request::operation(operation, params)?).await
    }

    /// `GET /personal_access_tokens` with `list`'s filters: one page, and where the next one
    /// is (`X-Next-Page`, else the `Link` header's `next`).
    pub async fn list_tokens(&self, list: &ListTokens) -> Result<TokenListPage> {
        let mut request = Request::operation(&operations::LIST_PERSONAL_ACCESS_TOKENS, &[])?;
        for (key, value) in list.query_pairs()? {
            request = request.query(key, value);
        }
        let response = self.send(request).await?;
        TokenListPage::from_response(&response)
    }

    /// `GET /personal_access_tokens/:id`. Non-administrators see only their own tokens:
    /// another user's is a 401 ([`Unauthenticated`](pats_core::ErrorKind::Unauthenticated)),
    /// as GitLab answers it.
    pub async fn get_token(&self, id: u64) -> Result<PersonalAccessToken> {
        let id = token_id(id)?;
        self.call(&operations::GET_PERSONAL_ACCESS_TOKEN, &[&id])
            .await?
            .json()
    }

    /// `GET /personal_access_tokens/self`: the token this client authenticates with.
    pub async fn get_self(&self) -> Result<PersonalAccessToken> {
        self.call(&operations::GET_PERSONAL_ACCESS_TOKEN_SELF, &[])
            .await?
            .json()
    }

    /// `POST /users/:user_id/personal_access_tokens` (administrators) or
    /// `POST /user/personal_access_tokens` ([`TokenFor::Me`]). Never retried (a create is not
    /// idempotent).
    pub async fn create_token(&self, owner: TokenFor, token: &NewToken) -> Result<NewPat> {
        let body = token.to_body(OffsetDateTime::now_utc().date())?;
        let request = match owner {
            TokenFor::Me => Request::operation(&operations::CREATE_PERSONAL_ACCESS_TOKEN, &[])?,
            TokenFor::User(user) => {
                let user = user_id(user)?;
                Request::operation(&operations::CREATE_PERSONAL_ACCESS_TOKEN_FOR_USER, &[&user])?
            }
        };
        self.new_pat(request.json(&body)?).await
    }

    /// `POST /personal_access_tokens/:id/rotate`: GitLab revokes the token at once and
    /// returns a new one with its name and scopes, expiring on `expires_at` (GitLab's default
    /// when `None`: one week, or the instance's maximum). Never retried: after the first
    /// attempt the old token is gone.
    pub async fn rotate_token(&self, id: u64, expires_at: Option<Date>) -> Result<NewPat> {
        let id = token_id(id)?;
        let body = rotate_body(expires_at)?;
        let request =
            Request::operation(&operations::ROTATE_PERSONAL_ACCESS_TOKEN, &[&id])?.json(&body)?;
        self.new_pat(request).await
    }

    /// `POST /personal_access_tokens/self/rotate`: rotates the token this client
    /// authenticates with. The client keeps sending the old one, which no longer works:
    /// build a new client with the returned token.
    pub async fn rotate_self(&self, expires_at: Option<Date>) -> Result<NewPat> {
        let body = rotate_body(expires_at)?;
        let request =
            Request::operation(&operations::ROTATE_PERSONAL_ACCESS_TOKEN_SELF, &[])?.json(&body)?;
        self.new_pat(request).await
    }

    /// `DELETE /personal_access_tokens/:id` (204).
    pub async fn revoke_token(&self, id: u64) -> Result<()> {
        let id = token_id(id)?;
        self.call(&operations::REVOKE_PERSONAL_ACCESS_TOKEN, &[&id])
            .await?;
        Ok(())
    }

    /// `DELETE /personal_access_tokens/self`: revokes the token this client authenticates
    /// with (the client cannot be used afterwards).
    pub async fn revoke_self(&self) -> Result<()> {
        self.call(&operations::REVOKE_PERSONAL_ACCESS_TOKEN_SELF, &[])
            .await?;
        Ok(())
    }

    /// Sends a create or rotate of a personal access token.
    async fn new_pat(&self, request: Request) -> Result<NewPat> {
        let (pat, token) = self.new_token(request).await?;
        Ok(NewPat { pat, token })
    }

    /// Sends a create or rotate and reads the new token (as `T`) and its value.
    pub(crate) async fn new_token<T: serde::de::DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<(T, SecretString)> {
        let response = self.send(request).await?;
        let pat: T = response.json()?;
        let token: TokenField = response.json()?;
        if token.token.is_empty() {
            return Err(response.decode_error("the answer has an empty `token`"));
        }
        Ok((pat, SecretString::from(token.token)))
    }
}

pub(crate) fn rotate_body(expires_at: Option<Date>) -> Result<RotatePersonalAccessTokenBody> {
    let today = OffsetDateTime::now_utc().date();
    Ok(RotatePersonalAccessTokenBody {
        expires_at: expires_at
            .map(|d| wire_date("expires_at", d, today))
            .transpose()?,
    })
}

/// A token id for a path: GitLab ids start at 1.
fn token_id(id: u64) -> Result<String> {
    if id == 0 {
        return Err(Error::invalid("id", "GitLab token ids start at 1"));
    }
    Ok(id.to_string())
}

/// A user id for a path: GitLab ids start at 1.
pub(crate) fn user_id(id: u64) -> Result<String> {
    if id == 0 {
        return Err(Error::invalid("user_id", "GitLab user ids start at 1"));
    }
    Ok(id.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 03 - 01);

    #[test]
    fn bodies_and_the_rules_checked_before_sending() {
        let body = NewToken::new("ci", ["api", "read_user"])
            .description("deploys")
            .expires_at(date!(2026 - 04 - 01))
            .to_body(TODAY)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "ci", "scopes": ["api", "read_user"],
                               "description": "deploys", "expires_at": "2026-04-01"})
        );
        let body = NewToken::new("ci", ["api"]).to_body(TODAY).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "ci", "scopes": ["api"]})
        );
        // Today is accepted, yesterday is not.
        assert!(
            NewToken::new("n", ["api"])
                .expires_at(TODAY)
                .to_body(TODAY)
                .is_ok()
        );
        let refused = |t: NewToken| {
            let e = t.to_body(TODAY).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            e.field().unwrap_or_default().to_owned()
        };
        assert_eq!(
            refused(NewToken::new("n", ["api"]).expires_at(date!(2026 - 02 - 28))),
            "expires_at"
        );
        assert_eq!(refused(NewToken::new(" ", ["api"])), "name");
        assert_eq!(refused(NewToken::new("n", Vec::<String>::new())), "scopes");
        assert_eq!(refused(NewToken::new("n", ["api", " "])), "scopes");
        assert_eq!(
            refused(NewToken::new("n", ["api"]).description("x".repeat(256))),
            "description"
        );
        assert!(
            NewToken::new("n", ["api"])
                .description("é".repeat(255))
                .to_body(TODAY)
                .is_ok()
        );
    }

    #[test]
    fn dates_are_iso_calendar_dates() {
        assert_eq!(format_date(date!(2027 - 01 - 09)), "2027-01-09");
        assert_eq!(format_date(date!(0999 - 12 - 31)), "0999-12-31");
    }

    #[test]
    fn ids_start_at_one() {
        assert_eq!(token_id(0).unwrap_err().field(), Some("id"));
        assert_eq!(user_id(0).unwrap_err().field(), Some("user_id"));
        assert_eq!(token_id(42).unwrap(), "42");
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn from_lookup_reads_the_token_and_defaults_the_url() {
        let err = GitLabClientBuilder::from_lookup(env(&[(
            "GITLAB_BASE_URL",
            "https://gitlab.example.com",
        )]))
        .unwrap_err();
        assert_eq!(err.field(), Some("GITLAB_TOKEN"), "{err}");
        let client =
            GitLabClientBuilder::from_lookup(env(&[("GITLAB_TOKEN", "glpat-s3cr3t-value")]))
                .unwrap()
                .build()
                .unwrap();
        assert_eq!(
            client.transport().base_url().as_str(),
            "https://gitlab.com/"
        );
        let text = format!("{client:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        let builder = GitLabClientBuilder::from_lookup(env(&[
            ("GITLAB_TOKEN", "glpat-s3cr3t-value"),
            (
                "GITLAB_BASE_URL",
                "https://u:url-s3cret@gitlab.example.com/",
            ),
        ]))
        .unwrap();
        let text = format!("{builder:?}");
        assert!(!text.contains("s3cr"), "{text}");
        assert!(text.contains("gitlab.example.com"), "{text}");
        // Credentials in the URL are refused, without quoting them.
        let err = builder.build().unwrap_err();
        assert_eq!(err.field(), Some("base_url"));
        assert!(!format!("{err} {err:?}").contains("s3cr"));
        let client = GitLabClientBuilder::from_lookup(env(&[
            ("GITLAB_TOKEN", "glpat-s3cr3t-value"),
            ("GITLAB_BASE_URL", "https://gitlab.example.com/gitlab"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(
            client.transport().base_url().host_str(),
            Some("gitlab.example.com")
        );
    }

    #[test]
    fn build_refuses_a_missing_or_empty_token_and_plain_http() {
        let err = GitLabClient::builder().build().unwrap_err();
        assert_eq!(err.field(), Some("token"));
        let err = GitLabClient::builder()
            .token(SecretString::from(""))
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some("token"));
        let err = GitLabClient::builder()
            .base_url("http://gitlab.example.com")
            .token(SecretString::from("t"))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
