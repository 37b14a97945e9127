//! The provider-neutral trait and its provided helpers.

use crate::capabilities::{Capabilities, ExpiryAudit};
use crate::error::{Error, Result};
use crate::types::{CreateToken, CreatedToken, ListQuery, TokenId, TokenInfo};
use async_trait::async_trait;
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;

/// Personal Access Token management, the same for every provider.
///
/// Object-safe: use it as `Box<dyn PersonalAccessTokens>` or `Arc<dyn PersonalAccessTokens>`.
/// Optional operations return [`Error::Unsupported`] unless the provider offers them;
/// [`capabilities`](Self::capabilities) says which do. Helpers built on these
/// calls live in [`PersonalAccessTokensExt`].
#[async_trait]
pub trait PersonalAccessTokens: Send + Sync {
    /// The provider's name (`"dfns"`, `"zitadel"`, `"sailpoint"`, ...).
    fn provider(&self) -> &'static str;

    /// What this provider (as configured) supports.
    fn capabilities(&self) -> Capabilities;

    /// Creates a token. The secret in the answer is shown only this once.
    ///
    /// Never retried automatically: if the outcome is unknown (a timeout, a dropped
    /// connection) the token may exist; list before creating again.
    async fn create(&self, request: &CreateToken) -> Result<CreatedToken>;

    /// Lists one page of tokens.
    async fn list(&self, query: &ListQuery) -> Result<crate::TokenPage>;

    /// Fetches one token. [`Error::NotFound`] when it does not exist.
    async fn get(&self, id: &TokenId) -> Result<TokenInfo>;

    /// Revokes (deletes) a token. [`Error::NotFound`] when it does not exist.
    async fn revoke(&self, id: &TokenId) -> Result<()>;

    /// Every token (matching `query`) whose name is exactly `name` (see
    /// [`Naming`](crate::Naming) for what a name is on each provider).
    ///
    /// [`Error::Unsupported`], before any request, where tokens have no names. The default
    /// lists every token and keeps those named `name`; a provider whose names are owners'
    /// names ([`Naming::Owner`](crate::Naming::Owner)) looks the owner up and lists only
    /// its tokens.
    async fn find_by_name(&self, name: &str, query: &ListQuery) -> Result<Vec<TokenInfo>> {
        if !self.capabilities().names() {
            return Err(Error::Unsupported {
                provider: self.provider(),
                operation: "find_by_name",
                hint: Some("tokens of this provider have no names"),
            });
        }
        let all = PersonalAccessTokensExt::list_all(self, query).await?;
        Ok(all
            .into_iter()
            .filter(|t| t.name.as_deref() == Some(name))
            .collect())
    }

    /// Renames a token.
    async fn rename(&self, id: &TokenId, name: &str) -> Result<TokenInfo> {
        let _ = (id, name);
        Err(Error::unsupported(self.provider(), "rename"))
    }

    /// Activates (`true`) or deactivates (`false`) a token without revoking it.
    async fn set_active(&self, id: &TokenId, active: bool) -> Result<TokenInfo> {
        let _ = (id, active);
        Err(Error::unsupported(self.provider(), "set_active"))
    }
}

/// The outcome of [`PersonalAccessTokensExt::rotate`]: the new token, always, whether the
/// old one was revoked, and whether the new one took its name.
#[derive(Debug)]
#[must_use = "the new token's secret is only shown once, and the old token may still be valid"]
#[non_exhaustive]
pub struct Rotation {
    /// The new token, with its secret.
    pub created: CreatedToken,
    /// The result of revoking the old token; on `Err` the old token may still be valid.
    pub revoked: Result<()>,
    /// Where names are unique per owner ([`Capabilities::unique_names`]), the new token is
    /// created under a temporary name and renamed to the requested one once the old token is
    /// revoked: this is the result of that rename (`Ok` where none was needed). On `Err`
    /// the new token works but is still called by its temporary name, shown in
    /// `created.info.name`.
    pub renamed: Result<()>,
}

/// Helpers built on [`PersonalAccessTokens`], for every provider (including trait objects).
#[async_trait]
pub trait PersonalAccessTokensExt: PersonalAccessTokens {
    /// Lists every token matching `query`, following pages.
    ///
    /// Bounded by [`ListQuery::limits`](crate::ListQuery::limits): more pages than
    /// [`ListLimits::max_pages`](crate::ListLimits::max_pages) or more tokens than
    /// [`ListLimits::max_items`](crate::ListLimits::max_items) stop the listing with
    /// [`Error::LimitExceeded`], whose message names the bound to raise. Fails with
    /// [`Error::Decode`] if the provider hands back a page position it already gave (a
    /// listing that would never end).
    async fn list_all(&self, query: &ListQuery) -> Result<Vec<TokenInfo>> {
        self.list_all_with(query, &|_| {}).await
    }

    /// [`list_all`](Self::list_all), calling `on_page` with the number of tokens of each
    /// page as it arrives (for a progress indicator).
    async fn list_all_with(
        &self,
        query: &ListQuery,
        on_page: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Vec<TokenInfo>> {
        let limits = query.limits;
        let mut query = query.clone();
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut pages: u32 = 0;
        loop {
            if pages >= limits.max_pages {
                return Err(Error::LimitExceeded {
                    provider: self.provider(),
                    limit: "ListLimits::max_pages",
                    max: u64::from(limits.max_pages),
                    message: format!(
                        "the listing has more than {} pages; if the tenant has that many \
                         tokens, raise it with `ListQuery::limits(ListLimits::new().max_pages(..))`, \
                         otherwise the server keeps handing out new page positions",
                        limits.max_pages
                    ),
                });
            }
            let page = self.list(&query).await?;
            pages += 1;
            on_page(page.items.len());
            if page.items.len() > limits.max_items.saturating_sub(items.len()) {
                return Err(Error::LimitExceeded {
                    provider: self.provider(),
                    limit: "ListLimits::max_items",
                    max: u64::try_from(limits.max_items).unwrap_or(u64::MAX),
                    message: format!(
                        "the listing has more than {} tokens; if the tenant has that many, \
                         raise it with `ListQuery::limits(ListLimits::new().max_items(..))`",
                        limits.max_items
                    ),
                });
            }
            items.extend(page.items);
            match page.next_page {
                None => return Ok(items),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(Error::Decode {
                            status: 200,
                            reason: format!(
                                "{}: pagination repeated the position `{}`",
                                self.provider(),
                                next.as_str()
                            ),
                            snippet: String::new(),
                        });
                    }
                    query.page = Some(next);
                }
            }
        }
    }

    /// Every token (matching `query`) that expires within `within` from now, including
    /// tokens already expired but still listed. Tokens that never expire, or whose expiry
    /// the provider does not report, are not included: use
    /// [`audit_expiry`](Self::audit_expiry) to see those too.
    async fn expiring_within(&self, within: Duration, query: &ListQuery) -> Result<Vec<TokenInfo>> {
        Ok(self.audit_expiry(within, query).await?.expiring)
    }

    /// Every token (matching `query`) sorted by its expiry: expiring within `within` from
    /// now (or already expired), never expiring, expiring later, or not judgeable because
    /// the provider does not report it (see [`Capabilities::expiry`]). One listing; no
    /// token is left out.
    async fn audit_expiry(&self, within: Duration, query: &ListQuery) -> Result<ExpiryAudit> {
        let horizon = time::Duration::try_from(within)
            .ok()
            .and_then(|d| OffsetDateTime::now_utc().checked_add(d));
        Ok(ExpiryAudit::of(self.list_all(query).await?, horizon))
    }

    /// Replaces a token: creates the new one first, then revokes `old`.
    ///
    /// If creating fails, nothing changed and the error is returned. If revoking fails,
    /// the new token is still returned, with the revoke error in [`Rotation::revoked`]:
    /// a rotation never loses a secret.
    ///
    /// Where names are unique per owner ([`Capabilities::unique_names`], SailPoint), the
    /// old token still holds the name while the new one is created, so the new one is
    /// created as `<name>-rotating-<n>` and renamed to `<name>` after the old one is
    /// revoked ([`Rotation::renamed`]); this needs `rename`, and without it the request is
    /// refused before anything is sent.
    async fn rotate(&self, old: &TokenId, request: &CreateToken) -> Result<Rotation> {
        let caps = self.capabilities();
        let name = request.name().filter(|_| caps.unique_names);
        if name.is_some() && !caps.rename {
            return Err(Error::Unsupported {
                provider: self.provider(),
                operation: "rotate keeping a unique name",
                hint: Some("names are unique and cannot be changed: rotate to another name"),
            });
        }
        let mut created = match name {
            Some(name) => {
                let mut temporary = request.clone();
                temporary.set_name(rotating_name(name));
                self.create(&temporary).await?
            }
            None => self.create(request).await?,
        };
        let revoked = self.revoke(old).await;
        if let Err(e) = &revoked {
            tracing::warn!(provider = self.provider(), old = %old, error = %e, "rotation: new token created, revoking the old one failed");
        }
        let renamed = match (name, &revoked) {
            (Some(name), Ok(())) => match self.rename(&created.info.id, name).await {
                Ok(info) => {
                    created.info = info;
                    Ok(())
                }
                Err(e) => {
                    tracing::warn!(provider = self.provider(), new = %created.info.id, error = %e, "rotation: the new token kept its temporary name");
                    Err(e)
                }
            },
            (Some(_), Err(_)) => Err(Error::invalid(
                "name",
                "the old token was not revoked and still holds the name; the new token kept                  its temporary name",
            )),
            (None, _) => Ok(()),
        };
        Ok(Rotation {
            created,
            revoked,
            renamed,
        })
    }
}

impl<T: PersonalAccessTokens + ?Sized> PersonalAccessTokensExt for T {}

/// The name a rotated token has until the old one is revoked: unique enough that two
/// rotations of the same name in one second do not collide.
fn rotating_name(name: &str) -> String {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!("{name}-rotating-{:x}", (nanos / 1_000) & 0xff_ffff_ffff)
}
