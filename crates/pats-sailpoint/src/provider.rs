//! [`PersonalAccessTokens`] for [`SailPointClient`].

use crate::GetPersonalAccessTokenResponse;
use crate::client::{NewToken, PROVIDER, SailPointClient, TokenExpiration};
use crate::filter::{ListTokens, TokenFilter};
use crate::patch::TokenPatch;
use pats_core::{
    Capabilities, CreateToken, CreatedToken, Error, Expiration, Expiry, GetSupport, ListFilters,
    ListQuery, Owner, PersonalAccessTokens, ProviderDetails, Result, TokenId, TokenInfo, TokenPage,
};
use pats_core::{DefaultLifetime, Naming, Reported};
use std::time::Duration;
use time::OffsetDateTime;

impl SailPointClient {
    /// The provider-neutral view of a SailPoint token (the wire value stays reachable
    /// through `details.get::<GetPersonalAccessTokenResponse>()`).
    ///
    /// A null `expirationDate` reads as [`Expiration::Never`] on v2025, v2026 and V1 (or
    /// when `userAwareTokenNeverExpires` is true) and as [`Expiration::Unknown`] otherwise.
    pub fn token_info(&self, token: GetPersonalAccessTokenResponse) -> Result<TokenInfo> {
        let id = TokenId::new(token.id.clone()).map_err(|e| {
            Error::decode(
                200,
                format!("SailPoint sent an unusable token id: {e}"),
                b"",
            )
        })?;
        let mut info = TokenInfo::new(id);
        info.name = Some(token.name.clone());
        let o = &token.owner;
        info.owner = o.id.as_ref().map(|id| {
            Owner::new(id.clone())
                .with_name(o.name.clone())
                .with_kind(o.r#type.as_ref().map(|t| t.as_str().to_owned()))
        });
        info.created = Some(token.created);
        info.last_used = token.last_used;
        info.expires = match token.expiration_date {
            Some(at) => Expiration::At(at),
            None if self.api_version().supports_never_expires()
                || token.user_aware_token_never_expires == Some(true) =>
            {
                Expiration::Never
            }
            None => Expiration::Unknown,
        };
        info.scopes = token.scope.clone().unwrap_or_default();
        info.details = ProviderDetails::new(token);
        Ok(info)
    }

    /// The wire request for `request`, which `Capabilities::check_create` has already
    /// judged (no owner, a name, never-expiring only where the version offers it).
    fn new_token(&self, request: &CreateToken) -> Result<NewToken> {
        let name = request
            .name()
            .ok_or_else(|| Error::invalid("name", "SailPoint tokens need a name"))?;
        let mut token = NewToken::new(name);
        if !request.scopes().is_empty() {
            token = token.scope(request.scopes().iter().cloned());
        }
        let expiration = match request.expiry() {
            Expiry::ProviderDefault => TokenExpiration::Default,
            Expiry::Never(ack) => TokenExpiration::Never(ack),
            other => TokenExpiration::At(
                other
                    .time_from(OffsetDateTime::now_utc())
                    .ok_or_else(|| Error::invalid("expiry", "the lifetime is out of range"))?,
            ),
        };
        Ok(token.expiration(expiration))
    }
}

/// About six months: the shortest six-calendar-month span (v3, beta, v2024).
const SIX_MONTHS_MIN: Duration = Duration::from_secs(181 * 24 * 3600);

#[pats_core::reexports::async_trait]
impl PersonalAccessTokens for SailPointClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    /// get is emulated by a listing; rename is a `replace /name` patch; never-expiring
    /// tokens only on v2025, v2026 and V1; tokens are always created for the caller.
    fn capabilities(&self) -> Capabilities {
        let version = self.api_version();
        let mut c = Capabilities::default();
        c.provider = PROVIDER;
        c.get = GetSupport::Emulated;
        c.rename = true;
        c.set_active = false;
        c.scopes = true;
        c.naming = Naming::PerToken;
        c.requires_name = true;
        // "Cannot be the same as another PAT owned by the user" (the description's `name`).
        c.unique_names = true;
        c.create_for_owner = false;
        c.requires_owner = false;
        c.never_expires = version.supports_never_expires();
        // v3, beta and v2024 give six months; later versions' default is never.
        c.default_lifetime = if version.caps_expiration_at_six_months() {
            DefaultLifetime::Finite(Some(SIX_MONTHS_MIN))
        } else {
            DefaultLifetime::Refused
        };
        c.expiry = Reported::Always;
        c.last_use = Reported::Always;
        let mut filters = ListFilters::default();
        filters.owner = true;
        filters.last_used_before = true;
        filters.never_used = true;
        c.list_filters = filters;
        c.pagination = false;
        c.max_lifetime = version
            .caps_expiration_at_six_months()
            .then_some(SIX_MONTHS_MIN);
        c
    }

    async fn create(&self, request: &CreateToken) -> Result<CreatedToken> {
        self.capabilities().check_create(request)?;
        let token = self.new_token(request)?;
        let created = self.create_token(&token).await?;
        let info = self.token_info(created.pat)?;
        Ok(CreatedToken::new(info, created.secret))
    }

    /// `last_used_before` → `filters=lastUsed le <time>`, `never_used` →
    /// `filters=lastUsed isnull` (not both at once), owner → `owner-id`. One page only.
    async fn list(&self, query: &ListQuery) -> Result<TokenPage> {
        if query.page.is_some() {
            return Err(Error::invalid(
                "page",
                "SailPoint does not page this listing",
            ));
        }
        let mut list = ListTokens::new();
        if let Some(owner) = &query.owner {
            list = list.owner_id(owner.clone());
        }
        list.filter = match (query.last_used_before, query.never_used) {
            (Some(_), true) => {
                return Err(Error::invalid(
                    "filters",
                    "SailPoint takes one filter at a time: list `last_used_before` and \
                     `never_used` separately",
                ));
            }
            (Some(t), false) => Some(TokenFilter::LastUsedLe(t)),
            (None, true) => Some(TokenFilter::LastUsedIsNull),
            (None, false) => None,
        };
        let items = self
            .list_tokens(&list)
            .await?
            .into_iter()
            .map(|t| self.token_info(t))
            .collect::<Result<Vec<_>>>()?;
        Ok(TokenPage::new(items, None))
    }

    /// Emulated: lists and selects (see [`SailPointClient::get_token`]).
    async fn get(&self, id: &TokenId) -> Result<TokenInfo> {
        let token = self.get_token(id).await?;
        self.token_info(token)
    }

    async fn revoke(&self, id: &TokenId) -> Result<()> {
        self.delete_token(id).await
    }

    async fn rename(&self, id: &TokenId, name: &str) -> Result<TokenInfo> {
        let token = self.patch_token(id, &TokenPatch::new().name(name)).await?;
        self.token_info(token)
    }
}
