//! The provider-neutral trait and its provided helpers.

use crate::capabilities::{Capabilities, ExpiryAudit};
use crate::error::{Error, Result};
use crate::pages::Pages;
use crate::types::{CreateToken, CreatedToken, ListQuery, TokenId, TokenInfo};
use async_trait::async_trait;
use secrecy::SecretString;
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;

/// Personal Access Token management, the same for every provider.
///
/// Object-safe: use it as `Box<dyn PersonalAccessTokens>` or `Arc<dyn PersonalAccessTokens>`.
/// Optional operations return [`Unsupported`](crate::ErrorKind::Unsupported) unless the provider offers them;
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

    /// Fetches one token. [`NotFound`](crate::ErrorKind::NotFound) when it does not exist.
    async fn get(&self, id: &TokenId) -> Result<TokenInfo>;

    /// Revokes (deletes) a token. [`NotFound`](crate::ErrorKind::NotFound) when it does not exist.
    async fn revoke(&self, id: &TokenId) -> Result<()>;

    /// Every token (matching `query`) whose name is exactly `name` (see
    /// [`Naming`](crate::Naming) for what a name is on each provider).
    ///
    /// [`Unsupported`](crate::ErrorKind::Unsupported), before any request, where tokens have no names. The default
    /// lists every token and keeps those named `name`; a provider whose names are owners'
    /// names ([`Naming::Owner`](crate::Naming::Owner)) looks the owner up and lists only
    /// its tokens.
    async fn find_by_name(&self, name: &str, query: &ListQuery) -> Result<Vec<TokenInfo>> {
        if !self.capabilities().names() {
            return Err(Error::unsupported(self.provider(), "find_by_name")
                .with_hint("tokens of this provider have no names"));
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

    /// Rotates `old` in one call where the provider has a rotate endpoint
    /// ([`Capabilities::native_rotate`]): the server revokes `old` at once and returns the
    /// new token, with its secret. `request` gives the new token's expiry; a provider whose
    /// rotation keeps the name and scopes refuses a request that asks for others, before
    /// sending.
    ///
    /// Never retried automatically (the old token is gone after the first attempt).
    /// [`PersonalAccessTokensExt::rotate`] calls it when the capability says so.
    async fn rotate_native(&self, old: &TokenId, request: &CreateToken) -> Result<CreatedToken> {
        let _ = (old, request);
        Err(Error::unsupported(self.provider(), "rotate_native"))
    }
}

/// A rotation half done: the new token exists and its secret is here, and the old token is
/// still valid. Returned by [`PersonalAccessTokensExt::rotate`].
///
/// Store the new secret first ([`secret`](Self::secret), [`created`](Self::created)); only
/// then call [`finish`](Self::finish), which revokes the old token (and gives the new one the
/// requested name where it had to wait for it). If storing fails, do not finish: the old
/// token keeps working, and [`undo`](Self::undo) revokes the new one. Dropping a pending
/// rotation leaves both tokens valid: nothing is lost, the old token is simply not revoked.
///
/// Its `Display` says which token holds the new secret and how to finish or undo, never the
/// secret.
#[derive(Debug)]
#[must_use = "store the new secret, then `finish` the rotation to revoke the old token"]
pub struct PendingRotation {
    provider: &'static str,
    created: CreatedToken,
    old: TokenId,
    /// The requested name, where the new token was created under a temporary one.
    final_name: Option<String>,
    /// The server revoked the old token when it rotated ([`Capabilities::native_rotate`]).
    old_revoked: bool,
}

impl PendingRotation {
    /// The new token, with its secret (shown only this once).
    pub fn created(&self) -> &CreatedToken {
        &self.created
    }

    /// The new token's secret (shown only this once).
    pub fn secret(&self) -> &SecretString {
        &self.created.secret
    }

    /// The id of the new token, which holds the new secret.
    pub fn new_id(&self) -> &TokenId {
        &self.created.info.id
    }

    /// The id of the old token, still valid until [`finish`](Self::finish) (unless
    /// [`old_revoked`](Self::old_revoked)).
    pub fn old_id(&self) -> &TokenId {
        &self.old
    }

    /// The server already revoked the old token: the provider rotated in one call
    /// ([`Capabilities::native_rotate`]). [`finish`](Self::finish) sends nothing more and
    /// [`undo`](Self::undo) is refused.
    pub fn old_revoked(&self) -> bool {
        self.old_revoked
    }

    /// The temporary name of the new token, where names are unique per owner
    /// ([`Capabilities::unique_names`]) and the old token still holds the requested one;
    /// [`finish`](Self::finish) renames it to [`final_name`](Self::final_name).
    pub fn temporary_name(&self) -> Option<&str> {
        self.final_name
            .as_ref()
            .and(self.created.info.name.as_deref())
    }

    /// The name the new token gets once the old one is revoked, where it was created under a
    /// [`temporary_name`](Self::temporary_name).
    pub fn final_name(&self) -> Option<&str> {
        self.final_name.as_deref()
    }

    /// The new token, without finishing: both tokens stay valid (an overlap in which
    /// consumers switch to the new secret). Revoke the old one later with
    /// [`PersonalAccessTokens::revoke`] on [`old_id`](Self::old_id), and, where there is a
    /// [`temporary_name`](Self::temporary_name), rename the new one then.
    pub fn into_created(self) -> CreatedToken {
        self.created
    }

    /// Revokes the old token, then gives the new one its requested name where it was created
    /// under a temporary one. Call it only once the new secret is stored.
    ///
    /// Never fails as a whole: the new token exists whatever happens, and [`Rotation`] says
    /// whether the old one was revoked and the new one renamed.
    pub async fn finish<P: PersonalAccessTokens + ?Sized>(self, pats: &P) -> Rotation {
        let Self {
            provider,
            created,
            old,
            final_name,
            old_revoked,
        } = self;
        let mut new = created.info;
        let revoked = if old_revoked {
            Ok(())
        } else {
            pats.revoke(&old).await
        };
        if let Err(e) = &revoked {
            tracing::warn!(provider, old = %old, new = %new.id, error = %e, "rotation: revoking the old token failed; it is still valid");
        }
        let renamed = match (final_name, &revoked) {
            (None, _) => Renamed::NotNeeded,
            (Some(_), Err(_)) => Renamed::NotAttempted,
            (Some(name), Ok(())) => match pats.rename(&new.id, &name).await {
                Ok(info) => {
                    new = info;
                    Renamed::Done
                }
                Err(e) => {
                    tracing::warn!(provider, new = %new.id, error = %e, "rotation: the new token kept its temporary name");
                    Renamed::Failed(e)
                }
            },
        };
        Rotation {
            new,
            old,
            revoked,
            renamed,
        }
    }

    /// Gives up the rotation: revokes the new token and leaves the old one valid (for when
    /// the new secret could not be stored). On `Err` the new token may still exist: its id
    /// is in the error's log line and was [`new_id`](Self::new_id).
    ///
    /// Refused ([`Unsupported`](crate::ErrorKind::Unsupported), nothing sent) after a native
    /// rotation: the old token is already revoked, and revoking the new one would leave none.
    pub async fn undo<P: PersonalAccessTokens + ?Sized>(self, pats: &P) -> Result<()> {
        if self.old_revoked {
            return Err(Error::unsupported(self.provider, "undo a native rotation")
                .with_hint("the server revoked the old token when it rotated; the new token is the only valid one"));
        }
        let result = pats.revoke(&self.created.info.id).await;
        if let Err(e) = &result {
            tracing::warn!(provider = self.provider, new = %self.created.info.id, error = %e, "rotation: revoking the new token failed");
        }
        result
    }
}

impl fmt::Display for PendingRotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the new token {} holds the new secret",
            self.provider, self.created.info.id
        )?;
        if let (Some(temporary), Some(name)) = (self.temporary_name(), &self.final_name) {
            write!(f, " (named `{temporary}` until it takes `{name}`)")?;
        }
        if self.old_revoked {
            return write!(
                f,
                "; the server revoked the old token {} when it rotated: store the new secret",
                self.old
            );
        }
        write!(
            f,
            "; the old token {} is still valid: finish the rotation to revoke it once the \
             secret is stored, or undo it to revoke the new token instead",
            self.old
        )
    }
}

/// What [`PendingRotation::finish`] did: the new token as it is now, whether the old one was
/// revoked, and whether the new one took the requested name.
#[derive(Debug)]
#[must_use = "the old token may still be valid: check `revoked`"]
#[non_exhaustive]
pub struct Rotation {
    /// The new token (renamed, where [`renamed`](Self::renamed) is [`Renamed::Done`]).
    pub new: TokenInfo,
    /// The old token's id.
    pub old: TokenId,
    /// The result of revoking the old token; on `Err` the old token may still be valid.
    pub revoked: Result<()>,
    /// Whether the new token took the requested name.
    pub renamed: Renamed,
}

impl Rotation {
    /// Whether everything was done: the old token revoked, the new one named as requested.
    pub fn is_complete(&self) -> bool {
        self.revoked.is_ok() && matches!(self.renamed, Renamed::NotNeeded | Renamed::Done)
    }
}

/// Whether a rotated token took its requested name ([`Rotation::renamed`]).
///
/// Where names are unique per owner ([`Capabilities::unique_names`]), the old token holds the
/// name until it is revoked, so the new one is created under a temporary name and renamed
/// last.
#[derive(Debug)]
#[non_exhaustive]
pub enum Renamed {
    /// The new token was created under its requested name (or none was requested).
    NotNeeded,
    /// The new token was renamed from its temporary name to the requested one.
    Done,
    /// Not tried: the old token was not revoked and still holds the name. The new token
    /// works under its temporary name.
    NotAttempted,
    /// The rename failed; the new token works under its temporary name.
    Failed(Error),
}

/// Helpers built on [`PersonalAccessTokens`], for every provider (including trait objects).
#[async_trait]
pub trait PersonalAccessTokensExt: PersonalAccessTokens {
    /// The pages of the listing of `query`, fetched as they are asked for: see [`Pages`]
    /// for its bounds. Every listing helper here (and the `pats` command) follows pages
    /// with it.
    fn pages<'a>(&'a self, query: &ListQuery) -> Pages<'a, Self> {
        Pages::new(self, query)
    }

    /// Lists every token matching `query`, following pages ([`pages`](Self::pages)).
    ///
    /// Bounded by [`ListQuery::limits`](crate::ListQuery::limits): more pages than
    /// [`ListLimits::max_pages`](crate::ListLimits::max_pages) or more tokens than
    /// [`ListLimits::max_items`](crate::ListLimits::max_items) stop the listing with
    /// [`LimitExceeded`](crate::ErrorKind::LimitExceeded), whose message names the bound to raise. Fails with
    /// [`Decode`](crate::ErrorKind::Decode) if the provider hands back a page position it already gave (a
    /// listing that would never end).
    async fn list_all(&self, query: &ListQuery) -> Result<Vec<TokenInfo>> {
        let mut pages = self.pages(query);
        let mut items = Vec::new();
        while let Some(page) = pages.next_page().await {
            items.extend(page?.items);
        }
        Ok(items)
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

    /// Starts replacing the token `old`: creates the new token and hands it over with its
    /// secret, leaving the old token valid. Store the secret, then
    /// [`finish`](PendingRotation::finish) to revoke the old token:
    ///
    /// ```no_run
    /// # use pats_core::{CreateToken, PersonalAccessTokens, PersonalAccessTokensExt, TokenId};
    /// # async fn store(_: &pats_core::CreatedToken) -> std::io::Result<()> { Ok(()) }
    /// # async fn run(pats: &dyn PersonalAccessTokens, old: &TokenId, request: &CreateToken)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// let pending = pats.rotate(old, request).await?; // the old token still works
    /// if let Err(e) = store(pending.created()).await {
    ///     // Not stored: give the rotation up; the old token stays valid.
    ///     pending.undo(pats).await?;
    ///     return Err(e.into());
    /// }
    /// let rotation = pending.finish(pats).await; // revokes the old token
    /// rotation.revoked?;
    /// # Ok(()) }
    /// ```
    ///
    /// If creating fails, nothing changed and the error is returned. A timeout or a lost
    /// answer ([`Error::is_outcome_unknown`]) means the new token may exist: look for it
    /// before trying again.
    ///
    /// Where names are unique per owner ([`Capabilities::unique_names`], SailPoint), the
    /// old token still holds the name while the new one is created, so the new one is
    /// created as `<name>-rotating-<n>` and renamed to `<name>` once the old one is revoked
    /// ([`Rotation::renamed`]); this needs `rename`, and without it the request is refused
    /// before anything is sent.
    ///
    /// Where the provider rotates in one call ([`Capabilities::native_rotate`], GitLab), this
    /// is [`rotate_native`](PersonalAccessTokens::rotate_native): the old token is revoked
    /// by the server at once, [`PendingRotation::old_revoked`] says so, `finish` sends
    /// nothing more and `undo` is refused.
    async fn rotate(&self, old: &TokenId, request: &CreateToken) -> Result<PendingRotation> {
        let caps = self.capabilities();
        if caps.native_rotate {
            let created = self.rotate_native(old, request).await?;
            return Ok(PendingRotation {
                provider: self.provider(),
                created,
                old: old.clone(),
                final_name: None,
                old_revoked: true,
            });
        }
        let final_name = request
            .name()
            .filter(|_| caps.unique_names)
            .map(str::to_owned);
        if final_name.is_some() && !caps.rename {
            return Err(
                Error::unsupported(self.provider(), "rotate keeping a unique name")
                    .with_hint("names are unique and cannot be changed: rotate to another name"),
            );
        }
        let created = match &final_name {
            Some(name) => {
                let mut temporary = request.clone();
                temporary.set_name(rotating_name(name));
                self.create(&temporary).await?
            }
            None => self.create(request).await?,
        };
        Ok(PendingRotation {
            provider: self.provider(),
            created,
            old: old.clone(),
            final_name,
            old_revoked: false,
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
