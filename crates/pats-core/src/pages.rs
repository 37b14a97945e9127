//! The one paging loop: [`Pages`], on which `list_all`, the audits and the `pats` command
//! are built.

use crate::api::PersonalAccessTokens;
use crate::error::{Error, Result};
use crate::types::{ListQuery, PageToken, TokenPage};
use futures_core::Stream;
use std::collections::HashSet;

/// The pages of one listing, fetched one at a time as they are asked for
/// ([`PersonalAccessTokensExt::pages`](crate::PersonalAccessTokensExt::pages)).
///
/// It owns the listing's bounds, [`ListQuery::limits`]: asking for more pages than
/// [`ListLimits::max_pages`](crate::ListLimits::max_pages) or collecting more tokens than
/// [`ListLimits::max_items`](crate::ListLimits::max_items) ends
/// the listing with [`LimitExceeded`](crate::ErrorKind::LimitExceeded), whose message names the bound to raise. A page
/// position the provider already handed out (a listing that would never end) ends it with
/// [`Decode`](crate::ErrorKind::Decode). After the last page or an error, [`next_page`](Self::next_page)
/// answers `None` and nothing more is sent.
///
/// ```no_run
/// # use pats_core::{ListQuery, PersonalAccessTokens, PersonalAccessTokensExt};
/// # async fn run(pats: &dyn PersonalAccessTokens) -> pats_core::Result<()> {
/// let mut pages = pats.pages(&ListQuery::new().page_size(100));
/// while let Some(page) = pages.next_page().await {
///     for token in page?.items {
///         println!("{} {:?}", token.id, token.name);
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "a listing sends nothing until its pages are asked for"]
pub struct Pages<'a, P: ?Sized> {
    pats: &'a P,
    query: ListQuery,
    seen: HashSet<PageToken>,
    pages: u32,
    items: usize,
    done: bool,
}

impl<P: ?Sized> std::fmt::Debug for Pages<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("query", &self.query)
            .field("pages", &self.pages)
            .field("items", &self.items)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a, P: PersonalAccessTokens + ?Sized> Pages<'a, P> {
    /// The listing of `query` (from its `page` on, if set) through `pats`.
    pub fn new(pats: &'a P, query: &ListQuery) -> Self {
        Self {
            pats,
            query: query.clone(),
            seen: HashSet::new(),
            pages: 0,
            items: 0,
            done: false,
        }
    }

    /// Fetches the next page: `None` once the last page was returned, or after an error.
    pub async fn next_page(&mut self) -> Option<Result<TokenPage>> {
        if self.done {
            return None;
        }
        let page = self.fetch().await;
        if !matches!(&page, Ok(p) if p.next_page.is_some()) {
            self.done = true;
        }
        Some(page)
    }

    async fn fetch(&mut self) -> Result<TokenPage> {
        let provider = self.pats.provider();
        if self.pages >= self.query.limits.max_pages {
            return Err(Error::limit_exceeded(
                provider,
                "ListLimits::max_pages",
                u64::from(self.query.limits.max_pages),
                format!(
                    "the listing has more than {} pages; if the tenant has that many \
                     tokens, raise it with `ListQuery::limits(ListLimits::new().max_pages(..))`, \
                     otherwise the server keeps handing out new page positions",
                    self.query.limits.max_pages
                ),
            ));
        }
        let page = self.pats.list(&self.query).await?;
        self.pages += 1;
        if page.items.len() > self.query.limits.max_items.saturating_sub(self.items) {
            return Err(Error::limit_exceeded(
                provider,
                "ListLimits::max_items",
                u64::try_from(self.query.limits.max_items).unwrap_or(u64::MAX),
                format!(
                    "the listing has more than {} tokens; if the tenant has that many, \
                     raise it with `ListQuery::limits(ListLimits::new().max_items(..))`",
                    self.query.limits.max_items
                ),
            ));
        }
        self.items += page.items.len();
        if let Some(next) = &page.next_page {
            if !self.seen.insert(next.clone()) {
                return Err(Error::decode(
                    200,
                    format!(
                        "{provider}: pagination repeated the position `{}`",
                        next.as_str()
                    ),
                    b"",
                ));
            }
            self.query.page = Some(next.clone());
        }
        Ok(page)
    }

    /// How many pages were fetched so far.
    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }

    /// How many tokens the pages fetched so far held.
    pub fn items_fetched(&self) -> usize {
        self.items
    }

    /// The pages as a [`Stream`], for stream combinators (`futures::TryStreamExt`, ...).
    pub fn into_stream(self) -> impl Stream<Item = Result<TokenPage>> + Send + 'a
    where
        P: Sync,
    {
        futures_util::stream::unfold(self, |mut pages| async move {
            let page = pages.next_page().await?;
            Some((page, pages))
        })
    }
}
