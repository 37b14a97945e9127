//! The suite's own checks fail a provider whose behaviour disagrees with its
//! `Capabilities`: a check that cannot fail proves nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use pats::{
    Capabilities, CreateToken, CreatedToken, Expiry, ListQuery, PersonalAccessTokens, TokenId,
    TokenInfo, TokenPage,
};
use pats_conformance::harness::{GitLabHarness, SailPointHarness};
use pats_conformance::{Harness, assert_revoked, fast_options};
use std::time::Duration;

/// A provider that claims `revoked_readable` as given, and otherwise is `inner`.
struct Claiming {
    inner: Box<dyn PersonalAccessTokens>,
    revoked_readable: bool,
}

#[async_trait]
impl PersonalAccessTokens for Claiming {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = self.inner.capabilities();
        caps.revoked_readable = self.revoked_readable;
        caps
    }
    async fn create(&self, request: &CreateToken) -> pats::Result<CreatedToken> {
        self.inner.create(request).await
    }
    async fn list(&self, query: &ListQuery) -> pats::Result<TokenPage> {
        self.inner.list(query).await
    }
    async fn get(&self, id: &TokenId) -> pats::Result<TokenInfo> {
        self.inner.get(id).await
    }
    async fn revoke(&self, id: &TokenId) -> pats::Result<()> {
        self.inner.revoke(id).await
    }
}

/// Creates and revokes a token on `h`, then runs `assert_revoked` through a client claiming
/// `revoked_readable`; whether it panicked.
async fn assert_revoked_panics<H: Harness + 'static>(h: H, revoked_readable: bool) -> bool {
    let pats = Claiming {
        inner: h.client(fast_options()),
        revoked_readable,
    };
    let request = h.create_request("revoked", Expiry::In(Duration::from_secs(86_400)));
    let id = pats.create(&request).await.unwrap().info.id.clone();
    pats.revoke(&id).await.unwrap();
    let checked = tokio::spawn(async move {
        let _ = assert_revoked(&pats, &id, "the token").await;
        drop(h);
    });
    checked.await.is_err()
}

#[tokio::test]
async fn assert_revoked_holds_a_provider_to_its_revoked_readable_claim() {
    // GitLab keeps a revoked token (inactive): right when claimed, wrong when denied.
    assert!(!assert_revoked_panics(GitLabHarness::start().await, true).await);
    assert!(assert_revoked_panics(GitLabHarness::start().await, false).await);
    // SailPoint answers NotFound: right when not claimed, wrong when claimed.
    assert!(!assert_revoked_panics(<SailPointHarness>::start().await, false).await);
    assert!(assert_revoked_panics(<SailPointHarness>::start().await, true).await);
}
