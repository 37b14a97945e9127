//! The Dfns client: builder, typed PAT endpoints and signed raw calls.

use crate::Pat;
use crate::config::DfnsConfig;
use crate::error::{PROVIDER, check};
use crate::generated::operations as ops;
use crate::generated::{
    CreatePersonalAccessTokenBody, ListPersonalAccessTokensResponse, UpdatePersonalAccessTokenBody,
};
use crate::model::{CreatedPat, NewPat, PatPublicKey, PatUpdate};
use crate::signer::{PatKeyPair, UserActionSigner, check_public_key_pem};
use crate::user_action::{self, UserActionHook};
use pats_core::credentials::{StaticToken, TokenSource};
use pats_core::reexports::reqwest::header::{CONTENT_LENGTH, HeaderValue};
use pats_core::{ClientOptions, Error, Request, RequestHook, Response, Result, TokenId, Transport};
use secrecy::SecretString;
use std::fmt;
use std::sync::Arc;

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.dfns.io";

/// A Dfns API client for Personal Access Tokens.
///
/// Reads (`list_pats`, `get_pat`) need only the auth token; changes are signed with the
/// configured [`UserActionSigner`] (User Action Signing). Cheap to clone.
#[derive(Clone)]
pub struct DfnsClient {
    transport: Transport,
    signer: Option<Arc<dyn UserActionSigner>>,
}

impl fmt::Debug for DfnsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DfnsClient")
            .field("transport", &self.transport)
            .field("signer", &self.signer)
            .finish()
    }
}

/// Builder of [`DfnsClient`].
#[derive(Default)]
pub struct DfnsClientBuilder {
    base_url: Option<String>,
    auth: Option<Arc<dyn TokenSource>>,
    signer: Option<Arc<dyn UserActionSigner>>,
    options: ClientOptions,
}

impl fmt::Debug for DfnsClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DfnsClientBuilder")
            .field(
                "base_url",
                &self
                    .base_url
                    .as_deref()
                    .map(pats_core::__private::redact::ShownUrl),
            )
            .field("auth", &self.auth)
            .field("signer", &self.signer)
            .field("options", &self.options)
            .finish()
    }
}

impl DfnsClientBuilder {
    /// A builder filled from `lookup` (the environment for [`from_env`](Self::from_env)):
    /// the variables of [`DfnsConfig`], the key file read here. A missing or malformed one
    /// is an [`InvalidInput`](pats_core::ErrorKind::InvalidInput) whose field is the
    /// variable's name.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        DfnsConfig::from_lookup(lookup)?.env_builder()
    }

    /// A builder filled from the environment (see [`from_lookup`](Self::from_lookup)).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The API base URL (default [`DEFAULT_BASE_URL`]; `https`, or `http` on loopback).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The auth token (a user or service-account token) sent as `Authorization: Bearer`.
    #[must_use]
    pub fn auth_token(mut self, token: SecretString) -> Self {
        self.auth = Some(Arc::new(StaticToken::new(token)));
        self
    }

    /// Any token source instead of a fixed auth token.
    #[must_use]
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.auth = Some(source);
        self
    }

    /// The signer of user actions (needed for every change).
    #[must_use]
    pub fn signer(mut self, signer: impl UserActionSigner + 'static) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// The signer of user actions, shared.
    #[must_use]
    pub fn signer_arc(mut self, signer: Arc<dyn UserActionSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// All transport options at once.
    #[must_use]
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    pats_core::__client_options_shortcuts!(#[must_use]);

    /// Builds the client. [`InvalidInput`](pats_core::ErrorKind::InvalidInput) without an auth token or with a bad base URL.
    pub fn build(self) -> Result<DfnsClient> {
        let auth = self.auth.ok_or_else(|| {
            Error::invalid(
                "auth_token",
                "a Dfns auth token (or token source) is required",
            )
        })?;
        let base = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let transport = Transport::new(PROVIDER, base, self.options)?.with_auth(auth);
        Ok(DfnsClient {
            transport,
            signer: self.signer,
        })
    }
}

/// Checks a Dfns token id: `to-` followed by letters, digits and `-`.
pub(crate) fn check_token_id(id: &TokenId) -> Result<()> {
    let rest = id.as_str().strip_prefix("to-").unwrap_or_default();
    if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::invalid(
            "token_id",
            format!("`{id}` is not a Dfns token id (`to-` followed by letters, digits and `-`)"),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    Ok(())
}

fn check_optional_id(field: &'static str, value: Option<&String>) -> Result<()> {
    if value.is_some_and(|v| v.trim().is_empty()) {
        return Err(Error::invalid(field, "must not be empty when set"));
    }
    Ok(())
}

/// The `accessToken` of a create answer (no `Debug`: it is the secret).
#[derive(serde::Deserialize)]
struct AccessTokenOnly {
    #[serde(rename = "accessToken")]
    access_token: String,
}

/// The body of `POST /auth/pats` for `pat`, checked; with the generated private key when
/// the client makes the PAT's key pair (`generate`), else [`PatPublicKey::Generate`] is
/// refused.
pub(crate) fn create_body(
    pat: &NewPat,
    generate: bool,
) -> Result<(CreatePersonalAccessTokenBody, Option<SecretString>)> {
    let (public_key, private_key) = match &pat.public_key {
        PatPublicKey::Pem(pem) => (pem.trim().to_owned(), None),
        PatPublicKey::Generate if generate => {
            let (private, public) = PatKeyPair::generate()?.into_parts();
            (public, Some(private))
        }
        PatPublicKey::Generate => {
            return Err(Error::invalid(
                "public_key",
                "a pending change never carries a private key: generate the PAT's key pair \
                 yourself (PatKeyPair::generate) and pass its public key",
            ));
        }
    };
    let body = CreatePersonalAccessTokenBody {
        name: pat.name.clone(),
        public_key,
        permission_id: pat.permission_id.clone(),
        external_id: pat.external_id.clone(),
        days_valid: pat.days_valid,
        seconds_valid: pat.seconds_valid,
    };
    check_create_body(&body)?;
    Ok((body, private_key))
}

/// The checks of a create body, whoever built it.
pub(crate) fn check_create_body(body: &CreatePersonalAccessTokenBody) -> Result<()> {
    check_name(&body.name)?;
    if body.days_valid.is_some_and(|d| d <= 0) {
        return Err(Error::invalid("daysValid", "must be greater than 0"));
    }
    if body.seconds_valid.is_some_and(|s| s <= 0) {
        return Err(Error::invalid("secondsValid", "must be greater than 0"));
    }
    check_optional_id("permissionId", body.permission_id.as_ref())?;
    check_optional_id("externalId", body.external_id.as_ref())?;
    check_public_key_pem(&body.public_key)
}

/// The body of `PUT /auth/pats/{tokenId}` for `update`, checked.
pub(crate) fn update_body(update: &PatUpdate) -> Result<UpdatePersonalAccessTokenBody> {
    let body = UpdatePersonalAccessTokenBody {
        name: update.name.clone(),
        external_id: update.external_id.clone(),
    };
    check_update_body(&body)?;
    Ok(body)
}

/// The checks of an update body, whoever built it.
pub(crate) fn check_update_body(body: &UpdatePersonalAccessTokenBody) -> Result<()> {
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    check_optional_id("externalId", body.external_id.as_ref())?;
    if body.name.is_none() && body.external_id.is_none() {
        return Err(Error::invalid("update", "set a name and/or an external id"));
    }
    Ok(())
}

/// The changes without a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bodiless {
    Activate,
    Deactivate,
    Delete,
}

impl Bodiless {
    /// The request for token `id` (checked). A PUT says `Content-Length: 0`: HTTP clients
    /// should send a length where the method defines a meaning for content (RFC 9110,
    /// section 8.6), and front ends may answer 411 without one. The DELETE sends no
    /// length, as both official SDKs do.
    pub(crate) fn request(self, id: &TokenId) -> Result<Request> {
        check_token_id(id)?;
        let request = match self {
            Self::Activate => {
                Request::operation(&ops::ACTIVATE_PERSONAL_ACCESS_TOKEN, &[id.as_str()])?
            }
            Self::Deactivate => {
                Request::operation(&ops::DEACTIVATE_PERSONAL_ACCESS_TOKEN, &[id.as_str()])?
            }
            Self::Delete => {
                return Request::operation(&ops::DELETE_PERSONAL_ACCESS_TOKEN, &[id.as_str()]);
            }
        };
        Ok(request.header(CONTENT_LENGTH, HeaderValue::from_static("0")))
    }
}

/// The typed create answer: the PAT and its secret, read separately (no `Debug` on it).
pub(crate) fn created_pat(
    resp: &Response,
    private_key: Option<SecretString>,
) -> Result<CreatedPat> {
    let created: Pat = resp.json()?;
    let token: AccessTokenOnly = resp.json()?;
    if token.access_token.is_empty() {
        return Err(resp.decode_error("the create answer has an empty accessToken"));
    }
    Ok(CreatedPat {
        pat: created,
        secret: SecretString::from(token.access_token),
        private_key,
    })
}

impl DfnsClient {
    /// Starts a builder.
    pub fn builder() -> DfnsClientBuilder {
        DfnsClientBuilder::default()
    }

    /// A client configured from the environment (see [`DfnsClientBuilder::from_lookup`]).
    pub fn from_env() -> Result<Self> {
        DfnsClientBuilder::from_env()?.build()
    }

    /// The transport (base URL, options).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn signer(&self) -> Result<&Arc<dyn UserActionSigner>> {
        self.signer.as_ref().ok_or_else(|| {
            Error::signing(
                "this change needs User Action Signing, but the client has no signer; \
                 configure one with DfnsClientBuilder::signer",
            )
        })
    }

    /// Adds User Action Signing to `request`: before every attempt a fresh user action is
    /// obtained for its exact method, path and body, and sent as `X-DFNS-USERACTION`.
    pub fn signed(&self, request: Request) -> Result<Request> {
        let hook: Arc<dyn RequestHook> = Arc::new(UserActionHook {
            transport: self.transport.clone(),
            signer: self.signer()?.clone(),
        });
        Ok(request.hook(hook))
    }

    /// Obtains a single-use user action token for a call with `method`, `path` (no host, no
    /// query) and exactly `body` (empty for a call without a body). [`signed`](Self::signed)
    /// does this for you; this is for callers that send the call themselves.
    pub async fn user_action(&self, method: &str, path: &str, body: &[u8]) -> Result<SecretString> {
        user_action::obtain(&self.transport, self.signer()?.as_ref(), method, path, body).await
    }

    /// Sends any request and maps the answer: 2xx (but 202) is returned, 202 is
    /// [`PendingApproval`](pats_core::ErrorKind::PendingApproval), any other status the matching error kind.
    pub async fn send(&self, request: Request) -> Result<Response> {
        check(self.transport.send(request).await?)
    }

    /// Lists the caller's PATs (`GET /auth/pats`; Dfns does not paginate it).
    pub async fn list_pats(&self) -> Result<Vec<Pat>> {
        let request = Request::operation(&ops::LIST_PERSONAL_ACCESS_TOKENS, &[])?;
        let list: ListPersonalAccessTokensResponse = self.send(request).await?.json()?;
        Ok(list.items)
    }

    /// Fetches one PAT (`GET /auth/pats/{tokenId}`).
    pub async fn get_pat(&self, id: &TokenId) -> Result<Pat> {
        check_token_id(id)?;
        let request = Request::operation(&ops::GET_PERSONAL_ACCESS_TOKEN, &[id.as_str()])?;
        self.send(request).await?.json()
    }

    /// Creates a PAT (`POST /auth/pats`, signed; never retried).
    ///
    /// Checked before anything is sent: a non-empty name, positive lifetimes, a PEM public
    /// key. With [`PatPublicKey::Generate`] the client makes a P-256 key pair and returns
    /// its private key in [`CreatedPat::private_key`]; if the create then waits for a policy
    /// approval ([`PendingApproval`](pats_core::ErrorKind::PendingApproval)) that key is lost, so where PAT creation is
    /// governed by policies generate a [`PatKeyPair`] first and pass its public key.
    pub async fn create_pat(&self, pat: &NewPat) -> Result<CreatedPat> {
        let (body, private_key) = create_body(pat, true)?;
        let request =
            self.signed(Request::operation(&ops::CREATE_PERSONAL_ACCESS_TOKEN, &[])?.json(&body)?)?;
        let resp = self.send(request).await?;
        created_pat(&resp, private_key)
    }

    /// Changes a PAT's name and/or external id (`PUT /auth/pats/{tokenId}`, signed).
    pub async fn update_pat(&self, id: &TokenId, update: &PatUpdate) -> Result<Pat> {
        check_token_id(id)?;
        let body = update_body(update)?;
        let request = self.signed(
            Request::operation(&ops::UPDATE_PERSONAL_ACCESS_TOKEN, &[id.as_str()])?.json(&body)?,
        )?;
        self.send(request).await?.json()
    }

    /// Activates a PAT (`PUT /auth/pats/{tokenId}/activate`, signed, no body).
    pub async fn activate_pat(&self, id: &TokenId) -> Result<Pat> {
        self.bodiless_change(Bodiless::Activate, id).await
    }

    /// Deactivates a PAT (`PUT /auth/pats/{tokenId}/deactivate`, signed, no body).
    pub async fn deactivate_pat(&self, id: &TokenId) -> Result<Pat> {
        self.bodiless_change(Bodiless::Deactivate, id).await
    }

    /// Deletes (archives) a PAT (`DELETE /auth/pats/{tokenId}`, signed, no body).
    pub async fn delete_pat(&self, id: &TokenId) -> Result<Pat> {
        self.bodiless_change(Bodiless::Delete, id).await
    }

    async fn bodiless_change(&self, change: Bodiless, id: &TokenId) -> Result<Pat> {
        let request = self.signed(change.request(id)?)?;
        self.send(request).await?.json()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;

    #[test]
    fn token_ids() {
        for good in ["to-1", "to-6l2m3-vp9n4-9ugbse83hpdrpoh2"] {
            check_token_id(&TokenId::new(good).unwrap()).unwrap();
        }
        for bad in ["to-", "us-123", "abc", "to-a.b", "to-a_b"] {
            assert!(
                check_token_id(&TokenId::new(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn builder_needs_a_token_and_a_safe_url() {
        assert!(
            matches!(DfnsClient::builder().build(), Err(ref e) if e.kind() == ErrorKind::InvalidInput)
        );
        let err = DfnsClient::builder()
            .auth_token(SecretString::from("t"))
            .base_url("http://api.dfns.io")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let client = DfnsClient::builder()
            .auth_token(SecretString::from("t"))
            .build()
            .unwrap();
        assert_eq!(
            client.transport().base_url().as_str(),
            "https://api.dfns.io/"
        );
    }
}
