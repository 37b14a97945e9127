//! [`PersonalAccessTokens`] for ZITADEL.

use crate::client::{
    ApiVersion, ListPatsRequest, MAX_PAGE_SIZE, PROVIDER, PatFilter, TokenExpiration,
    ZitadelClient, check_id, check_username,
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
use pats_core::{DefaultLifetime, Naming, PersonalAccessTokensExt, Reported};
use std::collections::{BTreeMap, BTreeSet};
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
/// [`Decode`](pats_core::ErrorKind::Decode), never the caller's [`InvalidInput`](pats_core::ErrorKind::InvalidInput).
fn id_from_server(id: &str, what: &str) -> Result<TokenId> {
    TokenId::new(id).map_err(|e| unusable(what, &e))
}

fn unusable(what: &str, e: &Error) -> Error {
    let why = match e.reason() {
        Some(reason) => reason.to_owned(),
        None => e.to_string(),
    };
    Error::decode(
        200,
        format!("ZITADEL sent an unusable {what}: it {why}"),
        &[],
    )
}

impl ZitadelClient {
    /// The provider-neutral view of a v2 [`V2Pat`] (what [`UserServiceV2`](crate::UserServiceV2)
    /// lists), as the trait's `list` makes it but without the username lookup: `name` and
    /// the owner's name are `None` (the wire value stays reachable through
    /// `details.get::<V2Pat>()`).
    pub fn token_info(&self, pat: V2Pat) -> Result<TokenInfo> {
        info_from_v2(pat)
    }
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
    Error::not_found(
        ApiError::new(
            404,
            format!("no personal access token `{id}` visible in this organization"),
        )
        .with_code(Some("not_found".to_owned())),
    )
}

/// Sets each token's name (and its owner's name) to the username of its owner, where
/// `usernames` knows it; a token whose owner did not resolve keeps no name.
fn name_tokens(items: &mut [TokenInfo], usernames: &BTreeMap<String, String>) {
    for info in items {
        let username = info
            .owner
            .as_ref()
            .and_then(|o| usernames.get(&o.id))
            .cloned();
        if let Some(owner) = info.owner.as_mut() {
            owner.name.clone_from(&username);
        }
        info.name = username;
    }
}

impl ZitadelClient {
    /// The id and username of the machine user named exactly `name`: the token owner a
    /// name stands for. No such user, or more than one, is the caller's
    /// [`InvalidInput`](pats_core::ErrorKind::InvalidInput) (field `name`).
    async fn machine_user_named(&self, name: &str) -> Result<(String, String)> {
        let mut found = self.v2().machine_users_named(name).await?;
        match found.len() {
            0 => Err(Error::invalid(
                "name",
                format!(
                    "no machine user with the username `{name}`{}: on ZITADEL a token's name is \
                     its machine user's username (one machine user per purpose), so create the \
                     machine user `{name}` first",
                    self.organization()
                        .map(|org| format!(" in organization `{org}`"))
                        .unwrap_or_default()
                ),
            )),
            1 => {
                let user = found.remove(0);
                let id = user.user_id.unwrap_or_default();
                check_id("owner", &id).map_err(|e| unusable("user id", &e))?;
                Ok((id, name.to_owned()))
            }
            n => Err(Error::invalid(
                "name",
                format!(
                    "{n} machine users have the username `{name}`; scope the client to one \
                     organization"
                ),
            )),
        }
    }

    /// The usernames of these users (one `ListUsers` call for the distinct ids; none when
    /// there are none). A user that does not resolve is missing from the map.
    async fn usernames_of(&self, items: &[TokenInfo]) -> Result<BTreeMap<String, String>> {
        let ids: BTreeSet<String> = items
            .iter()
            .filter_map(|i| i.owner.as_ref().map(|o| o.id.clone()))
            .collect();
        let ids: Vec<String> = ids.into_iter().collect();
        let mut names = BTreeMap::new();
        for chunk in ids.chunks(MAX_PAGE_SIZE as usize) {
            for user in self.v2().users_by_ids(chunk).await? {
                if let (Some(id), Some(username)) = (user.user_id, user.username)
                    && chunk.contains(&id)
                    && !username.is_empty()
                {
                    names.insert(id, username);
                }
            }
        }
        Ok(names)
    }

    /// Fills the names of these tokens (see [`name_tokens`]).
    async fn with_names(&self, mut items: Vec<TokenInfo>) -> Result<Vec<TokenInfo>> {
        let names = self.usernames_of(&items).await?;
        name_tokens(&mut items, &names);
        Ok(items)
    }

    /// The tokens of the machine user whose username is `username` (what
    /// [`find_by_name`](pats_core::PersonalAccessTokens::find_by_name) finds, without
    /// listing every token of the organization): one `ListUsers` call for the user, then
    /// its tokens page by page. `query` may set `page_size`; its owner and page are
    /// replaced. No machine user of that name gives an empty list.
    pub async fn tokens_of_machine_user(
        &self,
        username: &str,
        query: &ListQuery,
    ) -> Result<Vec<TokenInfo>> {
        check_username(username)?;
        let users = self.v2().machine_users_named(username).await?;
        let mut out = Vec::new();
        for user in users {
            let Some(id) = user.user_id.filter(|id| !id.is_empty()) else {
                continue;
            };
            let mut page_query = query.clone();
            page_query.owner = Some(id.clone());
            page_query.page = None;
            // Paged like `list_all`, with its bounds (`query.limits`) and its check for a
            // page position handed out twice, without a username lookup per page.
            let mut items = PagesWithoutNames(self).list_all(&page_query).await?;
            let names = BTreeMap::from([(id.clone(), username.to_owned())]);
            name_tokens(&mut items, &names);
            out.extend(items);
        }
        Ok(out)
    }

    /// One page of tokens, without names.
    async fn list_page(&self, query: &ListQuery) -> Result<TokenPage> {
        if query.last_used_before.is_some() || query.never_used {
            return Err(Error::unsupported(PROVIDER, "listing by last use")
                .with_hint("ZITADEL does not record when a PAT was last used"));
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
                // Without an owner: every token of the organization, `default_user` or not
                // (tokens of every machine user are reachable by name).
                if let Some(owner) = query.owner.as_deref() {
                    check_id("owner", owner)?;
                    request = request.filter(PatFilter::UserId(owner.to_owned()));
                }
                request = self.in_organization(request)?;
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
        // `Capabilities::check_create` has refused `ProviderDefault` (no default lifetime)
        // and times in the past before this is reached.
        match expiry {
            Expiry::Never(ack) => Ok(TokenExpiration::Never(ack)),
            Expiry::At(_) | Expiry::In(_) => expiry
                .time_from(OffsetDateTime::now_utc())
                .map(TokenExpiration::At)
                .ok_or_else(|| Error::invalid("expiry", "the lifetime is too long")),
            _ => Err(Error::invalid("expiry", PROVIDER_DEFAULT_REFUSED)),
        }
    }

    /// `request` narrowed to the client's organization, when it has one.
    ///
    /// The v2 `ListPersonalAccessTokens` answers for every organization the caller may read
    /// (the proto's "by default all personal access tokens of the instance on which the
    /// caller has permission to read the owning users"); `x-zitadel-orgid` does not scope
    /// it. A client configured with an organization means that organization, so its
    /// listings carry an `organizationIdFilter`.
    fn in_organization(&self, request: ListPatsRequest) -> Result<ListPatsRequest> {
        match self.organization() {
            Some(org) => {
                check_id("organization", org)?;
                Ok(request.filter(PatFilter::OrganizationId(org.to_owned())))
            }
            None => Ok(request),
        }
    }

    /// Looks a token up with a v2 `tokenIdFilter` (one listing call).
    async fn find_v2(&self, id: &TokenId) -> Result<V2Pat> {
        let request = self.in_organization(
            ListPatsRequest::new()
                .limit(1)
                .filter(PatFilter::TokenId(id.as_str().to_owned())),
        )?;
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

/// The client's token pages without the username lookup, so that one user's tokens can be
/// paged with `list_all`'s bounds; everything else is the client's.
struct PagesWithoutNames<'a>(&'a ZitadelClient);

#[async_trait]
impl PersonalAccessTokens for PagesWithoutNames<'_> {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    async fn create(&self, request: &CreateToken) -> Result<CreatedToken> {
        self.0.create(request).await
    }

    async fn list(&self, query: &ListQuery) -> Result<TokenPage> {
        self.0.list_page(query).await
    }

    async fn get(&self, id: &TokenId) -> Result<TokenInfo> {
        self.0.get(id).await
    }

    async fn revoke(&self, id: &TokenId) -> Result<()> {
        self.0.revoke(id).await
    }
}

/// ZITADEL PATs through the provider-neutral trait.
///
/// - The owner is a **machine user id** (`CreateToken::owner`, `ListQuery::owner`, or the
///   client's `default_user`). Only machine users can have PATs.
/// - **A token's name is its machine user's username** ([`Naming::Owner`]; ZITADEL's
///   convention is one machine user per purpose, and a PAT itself has no name). `list` and
///   `get` fill `TokenInfo::name` and the owner's name with one `ListUsers` call per page
///   (an `inUserIdsQuery` for the page's distinct owners, never one call per token); a user
///   that no longer resolves leaves the name `None`. `create` with a name looks up the
///   machine user of exactly that username (one `ListUsers` call, `userNameQuery` EQUALS and
///   `typeQuery` MACHINE, plus `organizationIdQuery` for a client scoped to an organization)
///   and creates the token for it: no such user, several, or an explicit owner that is
///   another user is [`InvalidInput`](pats_core::ErrorKind::InvalidInput) (field `name`). `create` without a name makes
///   one `ListUsers` call to report the owner's username. So `find_by_name` finds the tokens
///   of that machine user; [`ZitadelClient::tokens_of_machine_user`] does the same without
///   listing the whole organization. Both APIs (v2 and v1) read usernames through the v2
///   `ListUsers`, so names need `user.read` on the v2 user service: without it `list` (and
///   so `list_all` and the audits) still answers, with every name `None` and a warning
///   logged, while `get`, `find_by_name` and `create` with a name fail with the error.
/// - Tokens have **no scopes**: non-empty scopes are refused with [`Unsupported`](pats_core::ErrorKind::Unsupported)
///   before any request (`Capabilities::check_create`). A PAT has the permissions of its
///   machine user.
/// - ZITADEL's default is a token that never expires, so `Expiry::ProviderDefault` is
///   refused with [`InvalidInput`](pats_core::ErrorKind::InvalidInput) (field `expiry`)
///   before sending: give `Expiry::In`/`Expiry::At`, or ask for a never-expiring token with
///   `Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK)`, which sends no expiration (stored
///   as `9999-12-31T23:59:59Z`, read back as [`Expiration::Never`]). A time in the past is
///   refused before sending.
/// - `get` uses v1 `GET` (needs `default_user`) or a v2 `tokenIdFilter` listing.
/// - `revoke` on v2 looks the token up first (a `tokenIdFilter` listing) and removes it for
///   its own machine user; an unknown token is [`NotFound`](pats_core::ErrorKind::NotFound). On v1 it needs
///   `default_user` and reaches only that user's tokens (v1 `get` and `list` likewise).
/// - On v2, listing without an owner lists every PAT of the client's organization: the v2
///   API is not scoped by `x-zitadel-orgid`, so the client adds an `organizationIdFilter`
///   (to `get`'s `tokenIdFilter` lookup too). A client without an organization lists every
///   PAT its caller may read, across organizations. `default_user` does not narrow it (it
///   is the owner of tokens created without a name or owner). On v1 an owner is required
///   (`default_user` when none is given).
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
        c.naming = Naming::Owner;
        c.requires_name = false;
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
        self.capabilities().check_create(request)?;
        let explicit = request.owner();
        if let Some(owner) = explicit {
            check_id("owner", owner)?;
        }
        if let Some(name) = request.name() {
            check_username(name)?;
        }
        let expiration = Self::expiration_for(request.expiry())?;
        let (user, username) = match request.name() {
            Some(name) => {
                let (id, username) = self.machine_user_named(name).await?;
                if let Some(owner) = explicit
                    && owner != id
                {
                    return Err(Error::invalid(
                        "name",
                        format!(
                            "`{name}` is the username of machine user `{id}`, not of the owner \
                             `{owner}`: on ZITADEL a token's name is its owner's username; give \
                             the name or the owner alone"
                        ),
                    ));
                }
                (id, Some(username))
            }
            None => (
                self.owner_for(explicit, "ZITADEL creates PATs for a machine user")?,
                None,
            ),
        };
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
        // Without a name, the token still has one: its owner's username (one more call).
        // The token exists now and its secret is shown once: a failed lookup leaves the
        // name out instead of losing the secret.
        let username = match username {
            Some(username) => Some(username),
            None => {
                let mut probe = TokenInfo::new(info.id.clone());
                probe.owner = Some(Owner::new(user.clone()));
                match self.usernames_of(&[probe]).await {
                    Ok(mut names) => names.remove(&user),
                    Err(e) => {
                        tracing::warn!(
                            provider = PROVIDER,
                            error = %e,
                            "the token was created; its owner's username could not be read"
                        );
                        None
                    }
                }
            }
        };
        info.owner = Some(Owner::new(user).with_name(username.clone()));
        info.name = username;
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
        let mut page = self.list_page(query).await?;
        // Names are best-effort here, so that credentials without `user.read` can still
        // list (and audit) tokens: the page stands, its names stay `None`.
        match self.usernames_of(&page.items).await {
            Ok(names) => name_tokens(&mut page.items, &names),
            Err(e) => tracing::warn!(
                provider = PROVIDER,
                error = %e,
                "the tokens were listed; their owners' usernames (the token names) could not \
                 be read, so the names are left empty (the credentials need `user.read`)"
            ),
        }
        Ok(page)
    }

    /// The tokens of the machine user whose username is `name`
    /// ([`tokens_of_machine_user`](ZitadelClient::tokens_of_machine_user)): one `ListUsers`
    /// lookup, then only that user's tokens, not the whole organization's.
    async fn find_by_name(&self, name: &str, query: &ListQuery) -> Result<Vec<TokenInfo>> {
        self.tokens_of_machine_user(name, query).await
    }

    async fn get(&self, id: &TokenId) -> Result<TokenInfo> {
        let info = match self.api_version() {
            ApiVersion::V2 => info_from_v2(self.find_v2(id).await?),
            ApiVersion::V1 => {
                let user = self.owner_for(None, "the v1 API reads a PAT of one machine user")?;
                let pat = self.v1().get_personal_access_token(&user, id).await?;
                info_from_v1(pat, &user)
            }
        }?;
        let mut named = self.with_names(vec![info]).await?;
        named.pop().ok_or_else(|| not_found(id))
    }

    async fn revoke(&self, id: &TokenId) -> Result<()> {
        match self.api_version() {
            ApiVersion::V2 => {
                // The token's own user, whatever `default_user` says: names make tokens of
                // other machine users ordinary. The lookup also keeps an unknown token
                // `NotFound`, which the remove call itself answers OK ("not found in the
                // first place", as its description says).
                let user = self.find_v2(id).await?.user_id;
                check_id("owner", &user).map_err(|e| unusable("user id", &e))?;
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
