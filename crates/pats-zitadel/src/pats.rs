//! [`PersonalAccessTokens`] for ZITADEL.

use crate::client::{
    ApiVersion, ListPatsRequest, MAX_PAGE_SIZE, PROVIDER, PatFilter, TokenExpiration,
    ZitadelClient, check_id,
};
use crate::generated::{
    UserV1PersonalAccessToken as V1Pat, UserV2PersonalAccessToken as V2Pat,
    UserV2PersonalAccessTokenFieldName as V2PatFieldName,
};
use pats_core::reexports::async_trait;
use pats_core::{
    ApiError, Capabilities, CreateToken, CreatedToken, Error, Expiration, Expiry, GetSupport,
    ListFilters, ListQuery, Owner, PageToken, PersonalAccessTokens, ProviderDetails, Result,
    TokenId, TokenInfo, TokenPage,
};
use pats_core::{DefaultLifetime, Naming, Reported};
use time::OffsetDateTime;

/// Why `Expiry::ProviderDefault` is refused, and what to give instead.
const PROVIDER_DEFAULT_REFUSED: &str = "ZITADEL has no default lifetime: a PAT created without an \
    expiration never expires. Give one with Expiry::In or Expiry::At, or ask for a \
    never-expiring token with Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK)";

/// Reads a stored expiration: missing or in the year 9999 (`9999-12-31T23:59:59Z`) is never.
pub fn expiration_of(date: Option<OffsetDateTime>) -> Expiration {
    match date {
        Some(at) if at.year() < 9999 => Expiration::At(at),
        _ => Expiration::Never,
    }
}

/// An id ZITADEL sent, checked: one that fails the check is the server's fault, so it is a
/// [`Error::Decode`], never the caller's [`Error::InvalidInput`].
fn id_from_server(id: &str, what: &str) -> Result<TokenId> {
    TokenId::new(id).map_err(|e| unusable(what, &e))
}

fn unusable(what: &str, e: &Error) -> Error {
    let why = match e {
        Error::InvalidInput { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    Error::decode(
        200,
        format!("ZITADEL sent an unusable {what}: it {why}"),
        &[],
    )
}

fn info_from_v2(pat: V2Pat) -> Result<TokenInfo> {
    let mut info = TokenInfo::new(id_from_server(&pat.id, "token id")?);
    if !pat.user_id.is_empty() {
        info.owner = Some(Owner::new(pat.user_id.clone()));
    }
    info.created = pat.creation_date;
    info.expires = expiration_of(pat.expiration_date);
    info.details = ProviderDetails::new(pat);
    Ok(info)
}

fn info_from_v1(pat: V1Pat, user_id: &str) -> Result<TokenInfo> {
    let mut info = TokenInfo::new(id_from_server(&pat.id, "token id")?);
    info.owner = Some(Owner::new(user_id));
    info.created = pat.details.as_ref().and_then(|d| d.creation_date);
    info.expires = expiration_of(pat.expiration_date);
    info.scopes = pat.scopes.clone();
    info.details = ProviderDetails::new(pat);
    Ok(info)
}

fn not_found(id: &TokenId) -> Error {
    Error::NotFound(
        ApiError::new(
            404,
            format!("no personal access token `{id}` visible in this organization"),
        )
        .with_code(Some("not_found".to_owned())),
    )
}

impl ZitadelClient {
    fn owner_for(&self, explicit: Option<&str>, why: &str) -> Result<String> {
        match explicit.or(self.default_user()) {
            Some(user) => {
                check_id("owner", user)?;
                Ok(user.to_owned())
            }
            None => Err(Error::invalid(
                "owner",
                format!("{why}: name the machine user, or set `default_user` on the client"),
            )),
        }
    }

    /// The expiration to send.
    ///
    /// ZITADEL's own default is a token that never expires, so `ProviderDefault` is refused:
    /// a never-expiring token is only created when asked for with [`Expiry::Never`].
    fn expiration_for(expiry: Expiry) -> Result<TokenExpiration> {
        let now = OffsetDateTime::now_utc();
        match expiry {
            Expiry::ProviderDefault => Err(Error::invalid("expiry", PROVIDER_DEFAULT_REFUSED)),
            Expiry::Never(ack) => Ok(TokenExpiration::Never(ack)),
            Expiry::At(at) if at <= now => Err(Error::invalid(
                "expiry",
                "the expiration is in the past; ZITADEL refuses it",
            )),
            Expiry::At(_) | Expiry::In(_) => expiry
                .time_from(now)
                .map(TokenExpiration::At)
                .ok_or_else(|| Error::invalid("expiry", "the lifetime is too long")),
            _ => Err(Error::invalid(
                "expiry",
                "this kind of expiry is not supported by ZITADEL",
            )),
        }
    }

    /// Looks a token up with a v2 `tokenIdFilter` (one listing call).
    async fn find_v2(&self, id: &TokenId) -> Result<V2Pat> {
        let request = ListPatsRequest::new()
            .limit(1)
            .filter(PatFilter::TokenId(id.as_str().to_owned()));
        let page = self.v2().list_personal_access_tokens(&request).await?;
        page.result
            .into_iter()
            .find(|p| p.id == id.as_str())
            .ok_or_else(|| not_found(id))
    }
}

fn offset_of(query: &ListQuery) -> Result<u64> {
    match &query.page {
        None => Ok(0),
        Some(p) => p
            .as_str()
            .parse()
            .map_err(|_| Error::invalid("page", "not a page token of this client")),
    }
}

fn next_page(offset: u64, returned: usize, total: u64) -> Option<PageToken> {
    let next = offset.saturating_add(u64::try_from(returned).unwrap_or(u64::MAX));
    (returned > 0 && next < total).then(|| PageToken::new(next.to_string()))
}

/// ZITADEL PATs through the provider-neutral trait.
///
/// - The owner is a **machine user id** (`CreateToken::owner`, `ListQuery::owner`, or the
///   client's `default_user`). Only machine users can have PATs.
/// - ZITADEL tokens have **no name and no scopes**: a name is ignored (it is not sent
///   anywhere), and non-empty scopes are refused with [`Error::Unsupported`]. A PAT has the
///   permissions of its machine user.
/// - ZITADEL's default is a token that never expires, so `Expiry::ProviderDefault` (and so
///   `CreateToken::default()`) is refused with [`Error::InvalidInput`] (field `expiry`)
///   before sending: give `Expiry::In`/`Expiry::At`, or ask for a never-expiring token with
///   `Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK)`, which sends no expiration (stored
///   as `9999-12-31T23:59:59Z`, read back as [`Expiration::Never`]). A time in the past is
///   refused before sending.
/// - `get` uses v1 `GET` (needs `default_user`) or a v2 `tokenIdFilter` listing.
/// - `revoke` on v2 needs the token's user: the client's `default_user`, or, without one, a
///   `tokenIdFilter` listing first (one extra call). On v1 it needs `default_user`.
/// - On v2, listing without an owner (and without `default_user`) lists every PAT of the
///   organization; on v1 an owner is required.
/// - Listing pages by offset; the page token is the next offset. `page_size` is at most
///   1000 (ZITADEL's maximum; its default is 100). Results are oldest first.
#[async_trait]
impl PersonalAccessTokens for ZitadelClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.provider = PROVIDER;
        c.get = GetSupport::Native;
        c.rename = false;
        c.set_active = false;
        c.scopes = false;
        c.naming = Naming::None;
        c.create_for_owner = true;
        c.requires_owner = self.default_user().is_none();
        c.never_expires = true;
        c.default_lifetime = DefaultLifetime::Refused;
        c.expiry = Reported::Always;
        c.last_use = Reported::No;
        let mut filters = ListFilters::default();
        filters.owner = true;
        c.list_filters = filters;
        c.pagination = true;
        c
    }

    async fn create(&self, request: &CreateToken) -> Result<CreatedToken> {
        if !request.scopes().is_empty() {
            return Err(Error::Unsupported {
                provider: PROVIDER,
                operation: "token scopes",
                hint: Some("a ZITADEL PAT has its machine user's permissions; leave scopes empty"),
            });
        }
        let user = self.owner_for(request.owner(), "ZITADEL creates PATs for a machine user")?;
        let expiration = Self::expiration_for(request.expiry())?;
        if request.name().is_some() {
            tracing::debug!(
                provider = PROVIDER,
                "ZITADEL PATs have no name; the name is not sent"
            );
        }
        let added = match self.api_version() {
            ApiVersion::V2 => {
                self.v2()
                    .add_personal_access_token(&user, expiration)
                    .await?
            }
            ApiVersion::V1 => {
                self.v1()
                    .add_personal_access_token(&user, expiration)
                    .await?
            }
        };
        let mut info = TokenInfo::new(id_from_server(&added.token_id, "token id")?);
        info.owner = Some(Owner::new(user));
        info.created = added.creation_date;
        info.expires = match expiration {
            TokenExpiration::At(at) => expiration_of(Some(at)),
            TokenExpiration::Never(_) => Expiration::Never,
        };
        info.details = ProviderDetails::new(crate::client::AddedPatDetails {
            token_id: added.token_id.clone(),
            creation_date: added.creation_date,
            details: added.details.clone(),
        });
        Ok(CreatedToken::new(info, added.secret))
    }

    async fn list(&self, query: &ListQuery) -> Result<TokenPage> {
        if query.last_used_before.is_some() || query.never_used {
            return Err(Error::Unsupported {
                provider: PROVIDER,
                operation: "listing by last use",
                hint: Some("ZITADEL does not record when a PAT was last used"),
            });
        }
        if let Some(size) = query.page_size
            && (size == 0 || size > MAX_PAGE_SIZE)
        {
            return Err(Error::invalid(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let offset = offset_of(query)?;
        match self.api_version() {
            ApiVersion::V2 => {
                let mut request = ListPatsRequest::new()
                    .offset(offset)
                    .asc(true)
                    .sort_by(V2PatFieldName::PersonalAccessTokenFieldNameCreatedDate);
                request.limit = query.page_size;
                if let Some(owner) = query.owner.as_deref().or(self.default_user()) {
                    check_id("owner", owner)?;
                    request = request.filter(PatFilter::UserId(owner.to_owned()));
                }
                let page = self.v2().list_personal_access_tokens(&request).await?;
                let total = page.pagination.as_ref().map_or(0, |p| p.total_result);
                let returned = page.result.len();
                let items = page
                    .result
                    .into_iter()
                    .map(info_from_v2)
                    .collect::<Result<Vec<_>>>()?;
                Ok(TokenPage::new(items, next_page(offset, returned, total)))
            }
            ApiVersion::V1 => {
                let user = self.owner_for(
                    query.owner.as_deref(),
                    "the v1 API lists the PATs of one machine user",
                )?;
                let page = self
                    .v1()
                    .list_personal_access_tokens(&user, offset, query.page_size, true)
                    .await?;
                let total = page.details.as_ref().map_or(0, |d| d.total_result);
                let returned = page.result.len();
                let items = page
                    .result
                    .into_iter()
                    .map(|p| info_from_v1(p, &user))
                    .collect::<Result<Vec<_>>>()?;
                Ok(TokenPage::new(items, next_page(offset, returned, total)))
            }
        }
    }

    async fn get(&self, id: &TokenId) -> Result<TokenInfo> {
        match self.api_version() {
            ApiVersion::V2 => info_from_v2(self.find_v2(id).await?),
            ApiVersion::V1 => {
                let user = self.owner_for(None, "the v1 API reads a PAT of one machine user")?;
                let pat = self.v1().get_personal_access_token(&user, id).await?;
                info_from_v1(pat, &user)
            }
        }
    }

    async fn revoke(&self, id: &TokenId) -> Result<()> {
        match self.api_version() {
            ApiVersion::V2 => {
                let user = match self.default_user() {
                    Some(user) => {
                        check_id("owner", user)?;
                        user.to_owned()
                    }
                    None => {
                        let user = self.find_v2(id).await?.user_id;
                        check_id("owner", &user).map_err(|e| unusable("user id", &e))?;
                        user
                    }
                };
                self.v2().remove_personal_access_token(&user, id).await?;
            }
            ApiVersion::V1 => {
                let user = self.owner_for(None, "the v1 API deletes a PAT of one machine user")?;
                self.v1().remove_personal_access_token(&user, id).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn never_and_paging() {
        assert_eq!(expiration_of(None), Expiration::Never);
        let never = pats_core::__private::wire::parse_timestamp("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(expiration_of(Some(never)), Expiration::Never);
        let at = pats_core::__private::wire::parse_timestamp("2030-01-01T00:00:00.5Z").unwrap();
        assert_eq!(expiration_of(Some(at)), Expiration::At(at));
        assert_eq!(next_page(0, 1000, 2500), Some(PageToken::new("1000")));
        assert_eq!(next_page(2000, 500, 2500), None);
        assert_eq!(next_page(0, 0, 10), None);
    }
}
