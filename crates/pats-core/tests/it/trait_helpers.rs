//! The trait is object-safe and its provided helpers behave, on an in-memory provider.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use pats_core::reexports::secrecy::{ExposeSecret, SecretString};
use pats_core::reexports::time::OffsetDateTime;
use pats_core::{
    ApiError, Capabilities, CreateToken, CreatedToken, Error, ErrorKind, Expiration, ListLimits,
    ListQuery, PageToken, PersonalAccessTokens, PersonalAccessTokensExt, Renamed, TokenId,
    TokenInfo, TokenPage,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Tokens in memory, listed two per page.
#[derive(Default)]
struct Memory {
    tokens: Mutex<Vec<TokenInfo>>,
    next: Mutex<u32>,
    fail_revoke: bool,
    broken_paging: bool,
    /// Names are unique, as on SailPoint; rename is offered.
    unique: bool,
    fail_rename: bool,
}

impl Memory {
    fn name_taken(&self, name: Option<&str>) -> bool {
        self.unique
            && self
                .tokens
                .lock()
                .unwrap()
                .iter()
                .any(|t| t.name.as_deref() == name)
    }
}

#[async_trait]
impl PersonalAccessTokens for Memory {
    fn provider(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.naming = pats_core::Naming::PerToken;
        c.pagination = true;
        c.unique_names = self.unique;
        c.rename = self.unique;
        c
    }

    async fn create(&self, request: &CreateToken) -> pats_core::Result<CreatedToken> {
        if self.name_taken(request.name()) {
            return Err(Error::api(ApiError::new(400, "name taken")));
        }
        let n = {
            let mut next = self.next.lock().unwrap();
            *next += 1;
            *next
        };
        let mut info = TokenInfo::new(TokenId::new(format!("t{n}"))?);
        info.name = request.name().map(str::to_owned);
        info.expires = match request.expiry().time_from(OffsetDateTime::now_utc()) {
            Some(t) => Expiration::At(t),
            None => Expiration::Never,
        };
        self.tokens.lock().unwrap().push(info.clone());
        Ok(CreatedToken::new(
            info,
            SecretString::from(format!("secret-{n}")),
        ))
    }

    async fn list(&self, query: &ListQuery) -> pats_core::Result<TokenPage> {
        let start: usize = query
            .page
            .as_ref()
            .map_or(0, |p| p.as_str().parse().unwrap());
        let all = self.tokens.lock().unwrap().clone();
        let items: Vec<_> = all.iter().skip(start).take(2).cloned().collect();
        let next = if self.broken_paging {
            Some(PageToken::new("0"))
        } else {
            (start + 2 < all.len()).then(|| PageToken::new((start + 2).to_string()))
        };
        Ok(TokenPage::new(items, next))
    }

    async fn get(&self, id: &TokenId) -> pats_core::Result<TokenInfo> {
        self.tokens
            .lock()
            .unwrap()
            .iter()
            .find(|t| &t.id == id)
            .cloned()
            .ok_or_else(|| Error::not_found(ApiError::new(404, "no such token")))
    }

    async fn revoke(&self, id: &TokenId) -> pats_core::Result<()> {
        if self.fail_revoke {
            return Err(Error::api(pats_core::ApiError::new(500, "revoke failed")));
        }
        self.tokens.lock().unwrap().retain(|t| &t.id != id);
        Ok(())
    }

    async fn rename(&self, id: &TokenId, name: &str) -> pats_core::Result<TokenInfo> {
        if !self.unique {
            return Err(Error::unsupported("memory", "rename"));
        }
        if self.fail_rename || self.name_taken(Some(name)) {
            return Err(Error::api(ApiError::new(400, "rename refused")));
        }
        let mut tokens = self.tokens.lock().unwrap();
        let token = tokens.iter_mut().find(|t| &t.id == id).unwrap();
        token.name = Some(name.to_owned());
        Ok(token.clone())
    }
}

fn assert_send_sync<T: Send + Sync + ?Sized>() {}

fn request(name: &str, expires_in_days: u64) -> CreateToken {
    CreateToken::builder()
        .name(name)
        .expiry(pats_core::Expiry::In(Duration::from_secs(
            expires_in_days * 86_400,
        )))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_trait_works_boxed_and_shared() {
    assert_send_sync::<dyn PersonalAccessTokens>();
    assert_send_sync::<Box<dyn PersonalAccessTokens>>();
    assert_send_sync::<Arc<dyn PersonalAccessTokens>>();
    let boxed: Box<dyn PersonalAccessTokens> = Box::new(Memory::default());
    boxed.create(&request("a", 1)).await.unwrap();
    let shared: Arc<dyn PersonalAccessTokens> = Arc::new(Memory::default());
    let task = {
        let shared = shared.clone();
        tokio::spawn(async move { shared.create(&request("b", 1)).await.map(|c| c.info.id) })
    };
    let id = task.await.unwrap().unwrap();
    assert_eq!(shared.get(&id).await.unwrap().name.as_deref(), Some("b"));
    // Optional operations say what is missing.
    let err = shared.rename(&id, "c").await.unwrap_err();
    assert_eq!(
        (err.kind(), err.provider(), err.operation()),
        (ErrorKind::Unsupported, Some("memory"), Some("rename")),
        "{err}"
    );
    assert_eq!(
        shared.set_active(&id, false).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn list_all_follows_pages_and_stops_on_a_repeated_position() {
    let pats = Memory::default();
    for i in 0..5 {
        pats.create(&request(&format!("n{i}"), 1)).await.unwrap();
    }
    let dyn_pats: &dyn PersonalAccessTokens = &pats;
    let all = dyn_pats.list_all(&ListQuery::new()).await.unwrap();
    let ids: Vec<_> = all.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(ids, ["t1", "t2", "t3", "t4", "t5"]);
    // The same listing page by page: one request per page asked for, none after the last.
    let mut pages = dyn_pats.pages(&ListQuery::new());
    let mut sizes = Vec::new();
    while let Some(page) = pages.next_page().await {
        sizes.push(page.unwrap().items.len());
    }
    assert_eq!(sizes, [2, 2, 1], "one page at a time, with its size");
    assert_eq!((pages.pages_fetched(), pages.items_fetched()), (3, 5));
    assert!(pages.next_page().await.is_none());
    assert_eq!(
        pages.pages_fetched(),
        3,
        "nothing is sent after the last page"
    );
    let shown = format!("{pages:?}");
    assert!(
        shown.contains("pages: 3") && shown.contains("items: 5") && shown.contains("done: true"),
        "{shown}"
    );
    // And as a stream.
    use futures_util::StreamExt;
    let streamed: Vec<usize> = dyn_pats
        .pages(&ListQuery::new())
        .into_stream()
        .map(|page| page.unwrap().items.len())
        .collect()
        .await;
    assert_eq!(streamed, [2, 2, 1]);

    let broken = Memory {
        broken_paging: true,
        ..Memory::default()
    };
    broken.create(&request("x", 1)).await.unwrap();
    let err = broken.list_all(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
}

/// A server that never ends its listing: every page has `per_page` new tokens and a new
/// position after it.
struct Endless {
    per_page: u32,
    calls: AtomicU32,
}

impl Endless {
    fn new(per_page: u32) -> Self {
        Self {
            per_page,
            calls: AtomicU32::new(0),
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PersonalAccessTokens for Endless {
    fn provider(&self) -> &'static str {
        "endless"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.naming = pats_core::Naming::PerToken;
        c.pagination = true;
        c
    }

    async fn create(&self, _: &CreateToken) -> pats_core::Result<CreatedToken> {
        Err(Error::unsupported("endless", "create"))
    }

    async fn list(&self, query: &ListQuery) -> pats_core::Result<TokenPage> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let expected = (n > 0).then(|| PageToken::new(format!("p{n}")));
        assert_eq!(
            query.page, expected,
            "list_all asks for the position it was given"
        );
        let items = (0..self.per_page)
            .map(|i| TokenInfo::new(TokenId::new(format!("t{n}-{i}")).unwrap()))
            .collect();
        Ok(TokenPage::new(
            items,
            Some(PageToken::new(format!("p{}", n + 1))),
        ))
    }

    async fn get(&self, _: &TokenId) -> pats_core::Result<TokenInfo> {
        Err(Error::not_found(ApiError::new(404, "no such token")))
    }

    async fn revoke(&self, _: &TokenId) -> pats_core::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn list_all_stops_an_endless_listing_at_the_default_page_limit() {
    let endless = Endless::new(0);
    let err = endless.list_all(&ListQuery::new()).await.unwrap_err();
    assert_eq!(endless.calls(), ListLimits::DEFAULT_MAX_PAGES);
    assert_eq!(ListLimits::DEFAULT_MAX_PAGES, 10_000);
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert!(err.status().is_none());
    assert!(!err.is_retryable());
    assert_eq!(err.provider(), Some("endless"));
    assert_eq!(err.limit(), Some("ListLimits::max_pages"));
    assert_eq!(err.max(), Some(10_000));
    assert!(
        err.to_string().contains("ListLimits::new().max_pages("),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "endless: the limit `ListLimits::max_pages` (10000) was reached: the listing has more \
         than 10000 pages; if the tenant has that many tokens, raise it with \
         `ListQuery::limits(ListLimits::new().max_pages(..))`, otherwise the server keeps \
         handing out new page positions"
    );
}

#[tokio::test]
async fn list_all_page_limit_is_configurable_and_exact() {
    let endless = Endless::new(1);
    let query = ListQuery::new().limits(ListLimits::new().max_pages(3));
    let mut pages = endless.pages(&query);
    let mut sizes = Vec::new();
    let err = loop {
        match pages.next_page().await.expect("an error ends the listing") {
            Ok(page) => sizes.push(page.items.len()),
            Err(e) => break e,
        }
    };
    // After the error the listing is over: nothing more is sent.
    assert!(pages.next_page().await.is_none());
    assert_eq!(
        (err.limit(), err.max()),
        (Some("ListLimits::max_pages"), Some(3)),
        "{err:?}"
    );
    assert_eq!(endless.calls(), 3, "exactly max_pages requests");
    assert_eq!(sizes, [1, 1, 1]);

    // A listing of exactly max_pages pages is complete, not an error.
    let pats = Memory::default();
    for i in 0..5 {
        pats.create(&request(&format!("n{i}"), 1)).await.unwrap();
    }
    let exact = ListQuery::new().limits(ListLimits::new().max_pages(3));
    assert_eq!(pats.list_all(&exact).await.unwrap().len(), 5);
    let short = ListQuery::new().limits(ListLimits::new().max_pages(2));
    assert_eq!(
        pats.list_all(&short).await.unwrap_err().kind(),
        ErrorKind::LimitExceeded
    );
}

#[tokio::test]
async fn list_all_item_limit_is_configurable_and_exact() {
    let endless = Endless::new(3);
    let query = ListQuery::new().limits(ListLimits::new().max_items(7));
    let err = endless.list_all(&query).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(err.limit(), Some("ListLimits::max_items"));
    assert_eq!(err.max(), Some(7));
    let message = err.to_string();
    assert!(
        message.contains("more than 7 tokens") && message.contains("ListLimits::new().max_items("),
        "{message}"
    );
    assert_eq!(
        endless.calls(),
        3,
        "stops on the page that goes past the limit"
    );
    assert_eq!(ListLimits::default().max_items, 1_000_000);

    // Exactly max_items tokens is complete; one fewer allowed is not.
    let pats = Memory::default();
    for i in 0..5 {
        pats.create(&request(&format!("n{i}"), 1)).await.unwrap();
    }
    let exact = ListQuery::new().limits(ListLimits::new().max_items(5));
    assert_eq!(pats.list_all(&exact).await.unwrap().len(), 5);
    let short = ListQuery::new().limits(ListLimits::new().max_items(4));
    assert_eq!(pats.list_all(&short).await.unwrap_err().max(), Some(4));
}

#[tokio::test]
async fn helpers_built_on_list_all_are_bounded_too() {
    let endless = Endless::new(2);
    let query = ListQuery::new().limits(ListLimits::new().max_pages(4));
    let err = endless.find_by_name("x", &query).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(endless.calls(), 4);
    let endless = Endless::new(2);
    let err = endless
        .expiring_within(Duration::from_secs(60), &query)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(endless.calls(), 4);
}

#[tokio::test]
async fn find_by_name_and_expiring_within() {
    let pats = Memory::default();
    pats.create(&request("soon", 3)).await.unwrap();
    pats.create(&request("later", 60)).await.unwrap();
    pats.create(&request("soon", 10)).await.unwrap();
    let found = pats.find_by_name("soon", &ListQuery::new()).await.unwrap();
    assert_eq!(found.len(), 2);
    let expiring = pats
        .expiring_within(Duration::from_secs(14 * 86_400), &ListQuery::new())
        .await
        .unwrap();
    let names: Vec<_> = expiring.iter().filter_map(|t| t.name.as_deref()).collect();
    assert_eq!(names, ["soon", "soon"]);
}

#[tokio::test]
async fn rotate_hands_over_the_secret_before_the_old_token_dies() {
    let pats = Memory::default();
    let old = pats.create(&request("ci", 1)).await.unwrap().info.id;
    let pending = pats.rotate(&old, &request("ci", 30)).await.unwrap();
    // Created, handed over, and nothing revoked yet.
    assert_eq!(pending.secret().expose_secret(), "secret-2");
    assert_eq!(pending.created().info.id, *pending.new_id());
    assert_eq!(pending.old_id(), &old);
    assert_eq!(pending.temporary_name(), None);
    assert_eq!(pending.final_name(), None);
    assert!(pats.get(&old).await.is_ok(), "the old token is still there");
    assert_eq!(pats.list_all(&ListQuery::new()).await.unwrap().len(), 2);
    let new_id = pending.new_id().clone();
    let shown = pending.to_string();
    assert_eq!(
        shown,
        format!(
            "memory: the new token {new_id} holds the new secret; the old token {old} is still \
             valid: finish the rotation to revoke it once the secret is stored, or undo it to \
             revoke the new token instead"
        )
    );
    assert!(!format!("{pending:?}").contains("secret-2"));

    let rotation = pending.finish(&pats).await;
    rotation.revoked.as_ref().unwrap();
    assert!(matches!(rotation.renamed, Renamed::NotNeeded));
    assert!(rotation.is_complete());
    assert_eq!(rotation.new.id, new_id);
    assert_eq!(rotation.old, old);
    assert!(pats.get(&old).await.is_err());
    assert!(pats.get(&new_id).await.is_ok());

    // Revoking fails: the new token stays, the outcome says so.
    let failing = Memory {
        fail_revoke: true,
        ..Memory::default()
    };
    let old = failing.create(&request("ci", 1)).await.unwrap().info.id;
    let pending = failing.rotate(&old, &request("ci", 30)).await.unwrap();
    assert_eq!(pending.secret().expose_secret(), "secret-2");
    let rotation = pending.finish(&failing).await;
    assert!(matches!(
        rotation.revoked,
        Err(ref e) if e.kind() == ErrorKind::Api && e.status() == Some(500)
    ));
    assert!(!rotation.is_complete());
    assert!(
        failing.get(&old).await.is_ok(),
        "the old token is still there"
    );
}

#[tokio::test]
async fn an_undone_rotation_keeps_the_old_token_and_removes_the_new() {
    let pats = Memory::default();
    let old = pats.create(&request("ci", 1)).await.unwrap().info.id;
    let pending = pats.rotate(&old, &request("ci", 30)).await.unwrap();
    let new_id = pending.new_id().clone();
    pending.undo(&pats).await.unwrap();
    assert!(pats.get(&old).await.is_ok());
    assert!(pats.get(&new_id).await.is_err());

    // Kept without finishing: both tokens stay.
    let pending = pats.rotate(&old, &request("ci", 30)).await.unwrap();
    let created = pending.into_created();
    assert!(pats.get(&old).await.is_ok());
    assert!(pats.get(&created.info.id).await.is_ok());

    // An undo that fails says so.
    let failing = Memory {
        fail_revoke: true,
        ..Memory::default()
    };
    let old = failing.create(&request("ci", 1)).await.unwrap().info.id;
    let pending = failing.rotate(&old, &request("ci", 30)).await.unwrap();
    let err = pending.undo(&failing).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Api, Some(500)));
}

#[tokio::test]
async fn rotate_under_unique_names_takes_the_name_last() {
    let pats = Memory {
        unique: true,
        ..Memory::default()
    };
    let old = pats.create(&request("ci", 1)).await.unwrap().info.id;
    // Creating under the taken name is what the provider refuses.
    assert!(pats.create(&request("ci", 30)).await.is_err());
    let pending = pats.rotate(&old, &request("ci", 30)).await.unwrap();
    let temporary = pending.temporary_name().unwrap().to_owned();
    assert!(temporary.starts_with("ci-rotating-"), "{temporary}");
    assert_eq!(pending.final_name(), Some("ci"));
    assert_eq!(
        pending.created().info.name.as_deref(),
        Some(temporary.as_str())
    );
    let shown = pending.to_string();
    assert!(
        shown.contains(&format!("(named `{temporary}` until it takes `ci`)")),
        "{shown}"
    );
    let rotation = pending.finish(&pats).await;
    rotation.revoked.as_ref().unwrap();
    assert!(matches!(rotation.renamed, Renamed::Done));
    assert!(rotation.is_complete());
    assert_eq!(rotation.new.name.as_deref(), Some("ci"));
    assert!(pats.get(&old).await.is_err());
    let all = pats.list_all(&ListQuery::new()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name.as_deref(), Some("ci"));
    assert_eq!(all[0].id, rotation.new.id);

    // The old token is not revoked: the new one keeps its temporary name, and says why.
    let failing = Memory {
        unique: true,
        fail_revoke: true,
        ..Memory::default()
    };
    let old = failing.create(&request("ci", 1)).await.unwrap().info.id;
    let rotation = failing
        .rotate(&old, &request("ci", 30))
        .await
        .unwrap()
        .finish(&failing)
        .await;
    assert!(rotation.revoked.is_err());
    let temporary = rotation.new.name.clone().unwrap();
    assert!(temporary.starts_with("ci-rotating-"), "{temporary}");
    assert!(matches!(rotation.renamed, Renamed::NotAttempted));
    assert!(!rotation.is_complete());
    assert_eq!(
        failing.get(&rotation.new.id).await.unwrap().name,
        Some(temporary)
    );

    // The rename fails: the token works under its temporary name, and the error is kept.
    let stuck = Memory {
        unique: true,
        fail_rename: true,
        ..Memory::default()
    };
    let old = stuck.create(&request("ci", 1)).await.unwrap().info.id;
    let rotation = stuck
        .rotate(&old, &request("ci", 30))
        .await
        .unwrap()
        .finish(&stuck)
        .await;
    rotation.revoked.as_ref().unwrap();
    assert!(
        matches!(rotation.renamed, Renamed::Failed(ref e) if e.kind() == ErrorKind::Api && e.status() == Some(400))
    );
    assert!(!rotation.is_complete());
    assert!(rotation.new.name.unwrap().starts_with("ci-rotating-"));

    // A request without a name needs no dance.
    let pats = Memory {
        unique: true,
        ..Memory::default()
    };
    let old = pats.create(&request("ci", 1)).await.unwrap().info.id;
    let unnamed = CreateToken::builder()
        .expiry(pats_core::Expiry::In(std::time::Duration::from_secs(3600)))
        .build()
        .unwrap();
    let pending = pats.rotate(&old, &unnamed).await.unwrap();
    assert_eq!(pending.temporary_name(), None);
    let rotation = pending.finish(&pats).await;
    assert!(matches!(rotation.renamed, Renamed::NotNeeded));
    assert_eq!(rotation.new.name, None);
}

#[test]
fn outcomes_are_unknown_only_when_the_request_may_have_landed() {
    use std::time::Duration;
    let timeout = Error::timed_out(Duration::from_secs(1), 1);
    assert!(timeout.is_outcome_unknown());
    let cut = Error::transport("the answer was cut off or malformed", "x");
    assert!(cut.is_outcome_unknown());
    let never_connected = Error::connect("connection failed", "refused");
    assert!(!never_connected.is_outcome_unknown());
    assert!(Error::decode(201, "bad JSON", b"{").is_outcome_unknown());
    assert!(Error::decode(399, "bad JSON", b"{").is_outcome_unknown());
    assert!(!Error::decode(400, "bad JSON", b"{").is_outcome_unknown());
    assert!(!Error::api(ApiError::new(500, "boom")).is_outcome_unknown());
    assert!(!Error::invalid("name", "empty").is_outcome_unknown());
}

#[tokio::test]
async fn rotate_refuses_unique_names_it_cannot_hand_over() {
    struct NoRename(Memory);
    #[async_trait]
    impl PersonalAccessTokens for NoRename {
        fn provider(&self) -> &'static str {
            "norename"
        }
        fn capabilities(&self) -> Capabilities {
            let mut c = self.0.capabilities();
            c.rename = false;
            c
        }
        async fn create(&self, r: &CreateToken) -> pats_core::Result<CreatedToken> {
            self.0.create(r).await
        }
        async fn list(&self, q: &ListQuery) -> pats_core::Result<TokenPage> {
            self.0.list(q).await
        }
        async fn get(&self, id: &TokenId) -> pats_core::Result<TokenInfo> {
            self.0.get(id).await
        }
        async fn revoke(&self, id: &TokenId) -> pats_core::Result<()> {
            self.0.revoke(id).await
        }
    }
    let pats = NoRename(Memory {
        unique: true,
        ..Memory::default()
    });
    let old = pats.create(&request("ci", 1)).await.unwrap().info.id;
    let err = pats.rotate(&old, &request("ci", 30)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert_eq!(
        pats.list_all(&ListQuery::new()).await.unwrap().len(),
        1,
        "nothing created"
    );
}

/// Rotates in one call, as GitLab does: the old token is gone when the new one comes back.
struct Native {
    inner: Memory,
    revokes: AtomicU32,
    rotates: AtomicU32,
}

#[async_trait]
impl PersonalAccessTokens for Native {
    fn provider(&self) -> &'static str {
        "native"
    }
    fn capabilities(&self) -> Capabilities {
        let mut c = self.inner.capabilities();
        c.native_rotate = true;
        c
    }
    async fn create(&self, r: &CreateToken) -> pats_core::Result<CreatedToken> {
        self.inner.create(r).await
    }
    async fn list(&self, q: &ListQuery) -> pats_core::Result<TokenPage> {
        self.inner.list(q).await
    }
    async fn get(&self, id: &TokenId) -> pats_core::Result<TokenInfo> {
        self.inner.get(id).await
    }
    async fn revoke(&self, id: &TokenId) -> pats_core::Result<()> {
        self.revokes.fetch_add(1, Ordering::SeqCst);
        self.inner.revoke(id).await
    }
    async fn rotate_native(
        &self,
        old: &TokenId,
        r: &CreateToken,
    ) -> pats_core::Result<CreatedToken> {
        self.rotates.fetch_add(1, Ordering::SeqCst);
        let created = self.inner.create(r).await?;
        self.inner.revoke(old).await?;
        Ok(created)
    }
}

#[tokio::test]
async fn a_native_rotation_revokes_nothing_more_and_cannot_be_undone() {
    let pats = Native {
        inner: Memory::default(),
        revokes: AtomicU32::new(0),
        rotates: AtomicU32::new(0),
    };
    let old = pats.create(&request("ci", 1)).await.unwrap().info.id;
    let pending = pats.rotate(&old, &request("ci", 30)).await.unwrap();
    assert_eq!(pats.rotates.load(Ordering::SeqCst), 1);
    assert!(pending.old_revoked());
    assert!(pats.get(&old).await.is_err(), "the server revoked it");
    let new_id = pending.new_id().clone();
    assert_eq!(
        pending.to_string(),
        format!(
            "native: the new token {new_id} holds the new secret; the server revoked the old \
             token {old} when it rotated: store the new secret"
        )
    );
    let rotation = pending.finish(&pats).await;
    rotation.revoked.as_ref().unwrap();
    assert!(rotation.is_complete());
    assert_eq!(
        pats.revokes.load(Ordering::SeqCst),
        0,
        "finish sent nothing"
    );

    let pending = pats.rotate(&new_id, &request("ci", 30)).await.unwrap();
    let newest = pending.new_id().clone();
    let err = pending.undo(&pats).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert_eq!(pats.revokes.load(Ordering::SeqCst), 0, "undo sent nothing");
    assert!(
        pats.get(&newest).await.is_ok(),
        "the only valid token stays"
    );

    // The default of the trait: no native rotation.
    let err = Memory::default()
        .rotate_native(&old, &request("ci", 30))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
