//! Three ordinary token programs, each written once against `&dyn PersonalAccessTokens`.
//! They run unchanged on every provider: `main.rs` runs them on the embedded simulators or
//! on a real provider, and the conformance suite (`conformance/`, group "portable programs") runs
//! them on every provider's simulator. Where a provider cannot do something, the program
//! asks [`Capabilities`](pats::Capabilities) first instead of failing half-way.
//!
//! The first one is the rotation README.md links to.
#![allow(dead_code)]

use pats::reexports::secrecy::SecretString;
use pats::{
    BoxError, CreateToken, Expiry, ListQuery, PersonalAccessTokens, PersonalAccessTokensExt,
};
use std::time::Duration;

// `pats::from_env()?` or `pats::connect(&config)?` give a `Box<dyn PersonalAccessTokens>`;
// switching provider changes the feature and the configuration, not this code.
/// Replaces every token named `ci-deploy` with a new 30-day one.
pub async fn rotate_ci_token(pats: &dyn PersonalAccessTokens) -> Result<(), BoxError> {
    // 30 days, or the provider's maximum where that is shorter.
    let lifetime = pats
        .capabilities()
        .fit_lifetime(Duration::from_secs(30 * 24 * 3600));
    let request = CreateToken::builder()
        .name("ci-deploy")
        .expiry(Expiry::In(lifetime))
        .build()?;
    for old in pats.find_by_name("ci-deploy", &ListQuery::new()).await? {
        // Creates the new token; the old one keeps working until `finish`.
        let pending = pats.rotate(&old.id, &request).await?;
        // The new secret is shown only this once: store it before the old token dies.
        if let Err(e) = store(pending.secret()).await {
            pending.undo(pats).await?; // gives the rotation up: the old token stays valid
            return Err(e.into());
        }
        // Revokes the old token, then (where names are unique) renames the new one.
        let rotation = pending.finish(pats).await;
        rotation.revoked?;
    }
    Ok(())
}

/// Your secret store.
async fn store(_secret: &SecretString) -> std::io::Result<()> {
    Ok(())
}

use pats::reexports::time::OffsetDateTime;
use pats::{Renamed, TokenId, TokenInfo};

/// What [`ci_token_lifecycle`] did and saw.
#[derive(Debug)]
pub struct CiTokenRun {
    /// The token it created first.
    pub first: TokenId,
    /// The created token was in the listing.
    pub listed: bool,
    /// `find_by_name` found the created token.
    pub found: bool,
    /// The token that replaced it.
    pub current: TokenInfo,
}

/// Creates a 30-day CI token named `name` and stores its secret, lists the tokens and finds
/// it again by name, rotates it (storing the new secret) and revokes the old one.
pub async fn ci_token_lifecycle(
    pats: &dyn PersonalAccessTokens,
    name: &str,
    vault: &mut dyn FnMut(&TokenInfo, &SecretString),
) -> pats::Result<CiTokenRun> {
    let caps = pats.capabilities();
    let lifetime = caps.fit_lifetime(Duration::from_secs(30 * 24 * 3600));
    let request = CreateToken::builder()
        .name(name)
        .expiry(Expiry::In(lifetime))
        .build()?;
    let created = pats.create(&request).await?;
    vault(&created.info, &created.secret);
    let first = created.info.id.clone();

    let listed = pats
        .list_all(&ListQuery::new())
        .await?
        .iter()
        .any(|t| t.id == first);
    let found = pats
        .find_by_name(name, &ListQuery::new())
        .await?
        .iter()
        .any(|t| t.id == first);

    let pending = pats.rotate(&first, &request).await?;
    vault(&pending.created().info, pending.secret());
    let rotation = pending.finish(pats).await;
    rotation.revoked?;
    if let Renamed::Failed(e) = rotation.renamed {
        return Err(e);
    }
    Ok(CiTokenRun {
        first,
        listed,
        found,
        current: rotation.new,
    })
}

/// What the audit found about one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// It expires within the window (or has expired), at this time.
    Expiring(OffsetDateTime),
    /// It never expires.
    NeverExpires,
    /// Its provider does not say when it expires, so it could not be judged.
    CannotJudge,
}

/// One line of the audit.
#[derive(Debug, Clone)]
pub struct AuditLine {
    /// The provider holding the token.
    pub provider: &'static str,
    /// The token.
    pub id: TokenId,
    /// Its name, where it has one.
    pub name: Option<String>,
    /// What was found.
    pub finding: Finding,
}

/// Every token, across `providers`, that expires within `within` or never expires, and
/// every token whose provider cannot say (reported, not dropped).
pub async fn expiry_audit(
    providers: &[&dyn PersonalAccessTokens],
    within: Duration,
) -> pats::Result<Vec<AuditLine>> {
    let mut lines = Vec::new();
    for pats in providers {
        let audit = pats.audit_expiry(within, &ListQuery::new()).await?;
        let groups = [
            (audit.expiring, None),
            (audit.never_expires, Some(Finding::NeverExpires)),
            (audit.unknown, Some(Finding::CannotJudge)),
        ];
        for (tokens, finding) in groups {
            for token in tokens {
                let finding = match (&finding, token.expires.at()) {
                    (Some(f), _) => f.clone(),
                    (None, Some(at)) => Finding::Expiring(at),
                    (None, None) => Finding::CannotJudge,
                };
                lines.push(AuditLine {
                    provider: pats.provider(),
                    id: token.id,
                    name: token.name,
                    finding,
                });
            }
        }
    }
    Ok(lines)
}
