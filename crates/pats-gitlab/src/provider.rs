//! [`PersonalAccessTokens`] for [`GitLabClient`].

use crate::client::{GitLabClient, NewPat, NewToken, PROVIDER, TokenFor};
use crate::generated::PersonalAccessToken;
use crate::list::{ListTokens, MAX_PER_PAGE, TokenState};
use pats_core::{
    Capabilities, CreateToken, CreatedToken, DefaultLifetime, Error, Expiration, Expiry,
    GetSupport, ListFilters, ListQuery, Naming, Owner, PageToken, PersonalAccessTokens,
    ProviderDetails, Reported, Result, TokenId, TokenInfo, TokenPage,
};
use std::time::Duration;
use time::{Date, OffsetDateTime, Time};

/// The `self` keyword GitLab takes in place of a token id.
pub const SELF_ID: &str = "self";

impl GitLabClient {
    /// The provider-neutral view of a GitLab token (the wire value stays reachable through
    /// `details.get::<PersonalAccessToken>()`).
    ///
    /// `expires_at` is a date; the token stops working at the start of that day (UTC), which
    /// is what [`TokenInfo::expires`] says. A null `expires_at` is [`Expiration::Never`].
    /// `active` is false for revoked and expired tokens.
    pub fn token_info(&self, token: PersonalAccessToken) -> Result<TokenInfo> {
        let bad = |what: &str| Error::decode(200, format!("GitLab sent {what}"), b"");
        if token.id < 1 {
            return Err(bad("a token id below 1"));
        }
        let mut info = TokenInfo::new(TokenId::new(token.id.to_string())?);
        info.name = Some(token.name.clone());
        info.owner = Some(Owner::new(token.user_id.to_string()).with_kind(Some("user".into())));
        info.created = Some(token.created_at);
        info.last_used = token.last_used_at;
        info.expires = match &token.expires_at {
            None => Expiration::Never,
            Some(text) => Expiration::At(
                parse_date(text)
                    .ok_or_else(|| bad("an `expires_at` that is not a YYYY-MM-DD date"))?
                    .with_time(Time::MIDNIGHT)
                    .assume_utc(),
            ),
        };
        info.active = Some(token.active);
        info.scopes = token.scopes.clone();
        info.details = ProviderDetails::new(token);
        Ok(info)
    }

    fn created(&self, new: NewPat) -> Result<CreatedToken> {
        let info = self.token_info(new.pat)?;
        Ok(CreatedToken::new(info, new.token))
    }

    /// The date a token must expire on to live at least as long as `expiry` asks: GitLab
    /// ends a token at the start of its `expires_at` day, so a time that is not midnight
    /// rounds up to the next day.
    fn expiry_date(expiry: Expiry, now: OffsetDateTime) -> Result<Option<Date>> {
        match expiry {
            Expiry::ProviderDefault => Ok(None),
            Expiry::Never(_) => Err(Error::unsupported(PROVIDER, "tokens that never expire")
                .with_hint("GitLab instances may require an expiry; give a date")),
            other => {
                let at = other
                    .time_from(now)
                    .ok_or_else(|| Error::invalid("expiry", "the lifetime is out of range"))?
                    .to_offset(time::UtcOffset::UTC);
                let date = at.date();
                if at.time() == Time::MIDNIGHT {
                    Ok(Some(date))
                } else {
                    date.next_day()
                        .map(Some)
                        .ok_or_else(|| Error::invalid("expiry", "the lifetime is out of range"))
                }
            }
        }
    }
}

/// `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, format).ok()
}

/// A neutral token id as GitLab's: a positive integer, or `self`.
fn gitlab_id(id: &TokenId) -> Result<Option<u64>> {
    if id.as_str() == SELF_ID {
        return Ok(None);
    }
    match id.as_str().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(Error::invalid(
            "id",
            "a GitLab token id is a positive integer or `self`",
        )),
    }
}

/// A neutral owner as a GitLab user id.
fn owner_id(owner: &str) -> Result<u64> {
    match owner.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::invalid(
            "owner",
            "a GitLab owner is a numeric user id",
        )),
    }
}

#[pats_core::reexports::async_trait]
impl PersonalAccessTokens for GitLabClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    /// A native get and rotate (the server revokes the old token at once); tokens have
    /// per-token names (not unique) and scopes; creating for another user is an
    /// administrator's `POST /users/:id/personal_access_tokens`, and without an owner the
    /// token is the caller's (limited by GitLab to `k8s_proxy` and `self_rotate`); expiries
    /// are dates, so lifetimes count in days and a token may end up to a day later than
    /// asked; a provider default is refused (on instances that do not require an expiry it
    /// would be a token that never expires); every token needs a scope (unless the client
    /// has default scopes); a revoked token stays readable, inactive.
    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.provider = PROVIDER;
        c.get = GetSupport::Native;
        c.rename = false;
        c.set_active = false;
        c.scopes = true;
        c.requires_scopes = self.default_scopes.is_empty();
        c.naming = Naming::PerToken;
        c.requires_name = true;
        c.unique_names = false;
        c.requires_owner = false;
        c.create_for_owner = true;
        c.never_expires = false;
        c.default_lifetime = DefaultLifetime::Refused;
        c.min_lifetime = None;
        c.max_lifetime = None;
        c.expiry = Reported::Always;
        c.expiry_resolution = Duration::from_secs(86_400);
        c.last_use = Reported::Always;
        let mut filters = ListFilters::default();
        filters.owner = true;
        filters.last_used_before = true;
        filters.never_used = false;
        c.list_filters = filters;
        c.pagination = true;
        c.native_rotate = true;
        c.revoked_readable = true;
        c
    }

    /// With an owner (the request's, else the client's
    /// [`default_owner`](crate::GitLabClientBuilder::default_owner)):
    /// `POST /users/:owner/personal_access_tokens` (administrators); without:
    /// `POST /user/personal_access_tokens`. A request without scopes gets the client's
    /// [`default_scopes`](crate::GitLabClientBuilder::default_scopes), and is refused
    /// (`InvalidInput`, field `scopes`) before sending where there are none. Never retried.
    async fn create(&self, request: &CreateToken) -> Result<CreatedToken> {
        let now = OffsetDateTime::now_utc();
        self.capabilities().check_create_at(request, now)?;
        let name = request
            .name()
            .ok_or_else(|| Error::invalid("name", "GitLab tokens need a name"))?;
        let owner = match (request.owner(), self.default_owner) {
            (Some(owner), _) => TokenFor::User(owner_id(owner)?),
            (None, Some(id)) => TokenFor::User(id),
            (None, None) => TokenFor::Me,
        };
        // `check_create` refused a request without scopes where there are no defaults.
        let scopes = if request.scopes().is_empty() {
            &self.default_scopes[..]
        } else {
            request.scopes()
        };
        let mut token = NewToken::new(name, scopes.iter().cloned());
        if let Some(date) = Self::expiry_date(request.expiry(), now)? {
            token = token.expires_at(date);
        }
        let created = self.create_token(owner, &token).await?;
        self.created(created)
    }

    /// Active tokens only (`state=active`: revoked and expired ones are left out); owner (or
    /// the client's default owner) → `user_id`, `last_used_before`, `page_size` → `per_page` (at most 100), pages by
    /// number.
    async fn list(&self, query: &ListQuery) -> Result<TokenPage> {
        if query.never_used {
            return Err(Error::unsupported(PROVIDER, "the never_used filter")
                .with_hint("GitLab has no filter for tokens never used"));
        }
        let mut list = ListTokens::new().state(TokenState::Active);
        match (&query.owner, self.default_owner) {
            (Some(owner), _) => list = list.user_id(owner_id(owner)?),
            (None, Some(id)) => list = list.user_id(id),
            (None, None) => {}
        }
        list.last_used_before = query.last_used_before;
        if let Some(size) = query.page_size {
            list = list.per_page(size.min(MAX_PER_PAGE));
        }
        if let Some(page) = &query.page {
            let page = page
                .as_str()
                .parse::<u32>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| Error::invalid("page", "not a page token of this client"))?;
            list = list.page(page);
        }
        let page = self.list_tokens(&list).await?;
        let items = page
            .tokens
            .into_iter()
            .map(|t| self.token_info(t))
            .collect::<Result<Vec<_>>>()?;
        let next = page.next_page.map(|p| PageToken::new(p.to_string()));
        Ok(TokenPage::new(items, next))
    }

    /// `GET /personal_access_tokens/:id` (or `self`). A revoked token is still found, with
    /// `active: Some(false)`.
    async fn get(&self, id: &TokenId) -> Result<TokenInfo> {
        let token = match gitlab_id(id)? {
            Some(id) => self.get_token(id).await?,
            None => self.get_self().await?,
        };
        self.token_info(token)
    }

    /// `DELETE /personal_access_tokens/:id` (or `self`).
    async fn revoke(&self, id: &TokenId) -> Result<()> {
        match gitlab_id(id)? {
            Some(id) => self.revoke_token(id).await,
            None => self.revoke_self().await,
        }
    }

    /// `POST /personal_access_tokens/:id/rotate` (or `self`): the new token keeps the old
    /// one's name and scopes, so a request that gives scopes or an owner is refused before
    /// sending, and one that gives a name is checked against the old token first (a GET).
    /// The expiry becomes `expires_at`; the provider default is GitLab's (one week).
    async fn rotate_native(&self, old: &TokenId, request: &CreateToken) -> Result<CreatedToken> {
        let id = gitlab_id(old)?;
        if !request.scopes().is_empty() {
            return Err(Error::invalid(
                "scopes",
                "GitLab's rotation keeps the old token's scopes; give none",
            ));
        }
        if request.owner().is_some() {
            return Err(Error::invalid(
                "owner",
                "GitLab's rotation keeps the old token's owner; give none",
            ));
        }
        let expires_at = match request.expiry() {
            Expiry::ProviderDefault => None,
            other => Self::expiry_date(other, OffsetDateTime::now_utc())?,
        };
        if let Some(name) = request.name() {
            let current = self.get(old).await?;
            if current.name.as_deref() != Some(name) {
                return Err(Error::invalid(
                    "name",
                    "GitLab's rotation keeps the old token's name, which is another",
                ));
            }
        }
        let rotated = match id {
            Some(id) => self.rotate_token(id, expires_at).await?,
            None => self.rotate_self(expires_at).await?,
        };
        self.created(rotated)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;
    use time::macros::{date, datetime};

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn expiries_round_up_to_whole_days() {
        let now = datetime!(2026-03-01 10:00 UTC);
        let date_for = |e| GitLabClient::expiry_date(e, now).unwrap();
        assert_eq!(date_for(Expiry::ProviderDefault), None);
        assert_eq!(date_for(Expiry::In(DAY)), Some(date!(2026 - 03 - 03)));
        assert_eq!(
            date_for(Expiry::At(datetime!(2026-04-01 00:00 UTC))),
            Some(date!(2026 - 04 - 01))
        );
        assert_eq!(
            date_for(Expiry::At(datetime!(2026-04-01 00:30 +01:00))),
            Some(date!(2026 - 04 - 01)),
            "23:30 UTC on the 31st: the token must live until the 1st"
        );
        let err = GitLabClient::expiry_date(
            Expiry::Never(pats_core::NeverExpires::I_UNDERSTAND_THE_RISK),
            now,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn ids_and_owners_are_gitlab_numbers() {
        assert_eq!(gitlab_id(&TokenId::new("42").unwrap()).unwrap(), Some(42));
        assert_eq!(gitlab_id(&TokenId::new("self").unwrap()).unwrap(), None);
        for bad in ["0", "-1", "abc", "4.2"] {
            let err = gitlab_id(&TokenId::new(bad).unwrap()).unwrap_err();
            assert_eq!(err.field(), Some("id"), "{bad}");
        }
        assert_eq!(owner_id("7").unwrap(), 7);
        assert_eq!(owner_id("alice").unwrap_err().field(), Some("owner"));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-02-28"), Some(date!(2026 - 02 - 28)));
    }
}
