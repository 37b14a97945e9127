//! [`PersonalAccessTokens`] for [`DfnsClient`].

use crate::Pat;
use crate::client::DfnsClient;
use crate::error::PROVIDER;
use crate::model::{NewPat, PatUpdate};
use async_trait::async_trait;
use pats_core::{
    Capabilities, CreateToken, CreatedToken, Error, Expiration, Expiry, GetSupport, ListQuery,
    Owner, PersonalAccessTokens, ProviderDetails, Result, TokenId, TokenInfo, TokenPage,
};
use pats_core::{DefaultLifetime, Naming, Reported};
use std::time::Duration;
use time::OffsetDateTime;

impl DfnsClient {
    /// The provider-neutral view of a Dfns [`Pat`] (details: the [`Pat`] itself).
    ///
    /// Dfns does not report when a PAT expires, so `expires` is [`Expiration::Unknown`];
    /// `scopes` holds the ids of the assigned permissions.
    pub fn token_info(&self, pat: Pat) -> Result<TokenInfo> {
        token_info(pat)
    }
}

/// See [`DfnsClient::token_info`].
pub(crate) fn token_info(pat: Pat) -> Result<TokenInfo> {
    let id = TokenId::new(pat.token_id.clone())
        .map_err(|e| Error::decode(200, format!("the answer's tokenId is unusable: {e}"), &[]))?;
    let mut info = TokenInfo::new(id);
    info.name = Some(pat.name.clone());
    info.owner = pat.linked_user_id.clone().map(Owner::new);
    info.created = Some(pat.date_created);
    info.active = Some(pat.is_active);
    info.expires = Expiration::Unknown;
    info.scopes = pat
        .permission_assignments
        .iter()
        .flatten()
        .filter_map(|a| a.permission_id.clone())
        .collect();
    info.details = ProviderDetails::new(pat);
    Ok(info)
}

impl DfnsClient {
    /// Maps a provider-neutral [`CreateToken`] to a [`NewPat`] (see the crate docs).
    pub fn new_pat_from(request: &CreateToken, now: OffsetDateTime) -> Result<NewPat> {
        let name = request.name().ok_or_else(|| {
            Error::invalid(
                "name",
                "Dfns requires a name for every personal access token",
            )
        })?;
        if request.owner().is_some() {
            return Err(Error::unsupported(PROVIDER, "create for another owner")
                .with_hint("a Dfns PAT always belongs to the user whose auth token creates it"));
        }
        let mut pat = NewPat::new(name);
        match request.scopes() {
            [] => {}
            [one] => pat = pat.permission_id(one.clone()),
            _ => {
                return Err(Error::invalid(
                    "scopes",
                    "Dfns assigns at most one permission to a PAT: pass one permission id",
                ));
            }
        }
        match request.expiry() {
            Expiry::ProviderDefault => {}
            Expiry::Never(_) => {
                return Err(
                    Error::unsupported(PROVIDER, "never-expiring tokens").with_hint(
                        "Dfns PATs always expire; give a lifetime (Expiry::In or Expiry::At)",
                    ),
                );
            }
            expiry @ (Expiry::In(_) | Expiry::At(_)) => {
                let seconds = expiry.seconds_from(now).unwrap_or_default();
                if seconds <= 0 {
                    return Err(Error::invalid(
                        "expiry",
                        "the lifetime must be at least one second from now",
                    ));
                }
                pat = pat.seconds_valid(seconds);
            }
            _ => {
                return Err(Error::invalid(
                    "expiry",
                    "this kind of expiry is not supported by Dfns",
                ));
            }
        }
        Ok(pat)
    }
}

#[async_trait]
impl PersonalAccessTokens for DfnsClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.provider = PROVIDER;
        c.get = GetSupport::Native;
        c.rename = true;
        c.set_active = true;
        // A scope is a permission id; a PAT has at most one.
        c.scopes = true;
        c.max_scopes = Some(1);
        c.naming = Naming::PerToken;
        c.requires_name = true;
        c.create_for_owner = false;
        c.requires_owner = false;
        c.never_expires = false;
        // Without `daysValid`/`secondsValid` Dfns picks a lifetime it does not document.
        c.default_lifetime = DefaultLifetime::Finite(None);
        c.min_lifetime = Some(Duration::from_secs(1));
        // Dfns does not say when a PAT expires; only the created access token's `exp` does.
        c.expiry = Reported::WhenCreated;
        c.last_use = Reported::No;
        c.pagination = false;
        c
    }

    async fn create(&self, request: &CreateToken) -> Result<CreatedToken> {
        let now = OffsetDateTime::now_utc();
        self.capabilities().check_create_at(request, now)?;
        let pat = Self::new_pat_from(request, now)?;
        let created = self.create_pat(&pat).await?;
        let expires = created.expires();
        let mut info = token_info(created.pat)?;
        if let Some(at) = expires {
            info.expires = Expiration::At(at);
        }
        let mut out = CreatedToken::new(info, created.secret);
        if let Some(key) = created.private_key {
            out = out.with_private_key(key);
        }
        Ok(out)
    }

    async fn list(&self, query: &ListQuery) -> Result<TokenPage> {
        let unsupported = |operation, hint| Error::unsupported(PROVIDER, operation).with_hint(hint);
        if query.owner.is_some() {
            return Err(unsupported(
                "list filter `owner`",
                "Dfns lists the caller's own PATs only",
            ));
        }
        if query.last_used_before.is_some() || query.never_used {
            return Err(unsupported(
                "list filters on last use",
                "Dfns does not report when a PAT was last used",
            ));
        }
        if query.page.is_some() {
            return Err(Error::invalid(
                "page",
                "Dfns does not paginate PAT listings; there is no next page",
            ));
        }
        let items = self
            .list_pats()
            .await?
            .into_iter()
            .map(token_info)
            .collect::<Result<Vec<_>>>()?;
        Ok(TokenPage::new(items, None))
    }

    async fn get(&self, id: &TokenId) -> Result<TokenInfo> {
        token_info(self.get_pat(id).await?)
    }

    async fn revoke(&self, id: &TokenId) -> Result<()> {
        self.delete_pat(id).await.map(|_| ())
    }

    async fn rename(&self, id: &TokenId, name: &str) -> Result<TokenInfo> {
        token_info(self.update_pat(id, &PatUpdate::new().name(name)).await?)
    }

    async fn set_active(&self, id: &TokenId, active: bool) -> Result<TokenInfo> {
        let pat = if active {
            self.activate_pat(id).await?
        } else {
            self.deactivate_pat(id).await?
        };
        token_info(pat)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::NeverExpires;

    /// `new_pat_from` is public: it refuses what Dfns cannot do on its own, not only
    /// through `create` (where `Capabilities::check_create` refuses it first).
    #[test]
    fn new_pat_from_refuses_never_expiring_tokens() {
        let request = CreateToken::builder()
            .name("ci")
            .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
            .build()
            .unwrap();
        let err = DfnsClient::new_pat_from(&request, OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(err.operation(), Some("never-expiring tokens"), "{err:?}");
    }
}
