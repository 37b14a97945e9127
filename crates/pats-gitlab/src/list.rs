//! The listing: its filters ([`ListTokens`]) and one page of the answer ([`TokenListPage`]).

use crate::client::format_date;
use crate::generated::PersonalAccessToken;
use pats_core::{Error, Response, Result};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// The most items GitLab returns per page (`per_page` above it is lowered by GitLab; pats
/// refuses it instead).
pub const MAX_PER_PAGE: u32 = 100;

/// `state`: active (neither revoked nor expired) or inactive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenState {
    /// Neither revoked nor expired.
    Active,
    /// Revoked or expired.
    Inactive,
}

impl TokenState {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

/// `sort`: the orders GitLab documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)] // the variant names are the wire values
pub enum TokenSort {
    CreatedAsc,
    CreatedDesc,
    ExpiresAsc,
    ExpiresDesc,
    LastUsedAsc,
    LastUsedDesc,
    NameAsc,
    NameDesc,
}

impl TokenSort {
    /// The wire value (`created_asc`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAsc => "created_asc",
            Self::CreatedDesc => "created_desc",
            Self::ExpiresAsc => "expires_asc",
            Self::ExpiresDesc => "expires_desc",
            Self::LastUsedAsc => "last_used_asc",
            Self::LastUsedDesc => "last_used_desc",
            Self::NameAsc => "name_asc",
            Self::NameDesc => "name_desc",
        }
    }
}

/// The filters and page of `GET /personal_access_tokens`, every one GitLab documents.
/// Nothing set lists the first page of every token the caller may see (all of the
/// instance's for an administrator, their own otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListTokens {
    /// `user_id`: tokens of this user (non-administrators: only themselves).
    pub user_id: Option<u64>,
    /// `state`.
    pub state: Option<TokenState>,
    /// `revoked`: `true` lists only revoked tokens.
    pub revoked: Option<bool>,
    /// `search`: tokens whose name contains this.
    pub search: Option<String>,
    /// `created_after`.
    pub created_after: Option<OffsetDateTime>,
    /// `created_before`.
    pub created_before: Option<OffsetDateTime>,
    /// `last_used_after`.
    pub last_used_after: Option<OffsetDateTime>,
    /// `last_used_before`.
    pub last_used_before: Option<OffsetDateTime>,
    /// `expires_after` (a date).
    pub expires_after: Option<Date>,
    /// `expires_before` (a date).
    pub expires_before: Option<Date>,
    /// `sort`.
    pub sort: Option<TokenSort>,
    /// `page` (from 1).
    pub page: Option<u32>,
    /// `per_page` (1..=100; GitLab's default is 20).
    pub per_page: Option<u32>,
}

impl ListTokens {
    /// No filter: the first page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tokens of this user.
    #[must_use]
    pub fn user_id(mut self, id: u64) -> Self {
        self.user_id = Some(id);
        self
    }

    /// Tokens in this state.
    #[must_use]
    pub fn state(mut self, state: TokenState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only revoked tokens (`true`) or only tokens not revoked (`false`).
    #[must_use]
    pub fn revoked(mut self, revoked: bool) -> Self {
        self.revoked = Some(revoked);
        self
    }

    /// Tokens whose name contains `text`.
    #[must_use]
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// Created after `time`.
    #[must_use]
    pub fn created_after(mut self, time: OffsetDateTime) -> Self {
        self.created_after = Some(time);
        self
    }

    /// Created before `time`.
    #[must_use]
    pub fn created_before(mut self, time: OffsetDateTime) -> Self {
        self.created_before = Some(time);
        self
    }

    /// Last used after `time`.
    #[must_use]
    pub fn last_used_after(mut self, time: OffsetDateTime) -> Self {
        self.last_used_after = Some(time);
        self
    }

    /// Last used before `time`.
    #[must_use]
    pub fn last_used_before(mut self, time: OffsetDateTime) -> Self {
        self.last_used_before = Some(time);
        self
    }

    /// Expiring after `date`.
    #[must_use]
    pub fn expires_after(mut self, date: Date) -> Self {
        self.expires_after = Some(date);
        self
    }

    /// Expiring before `date`.
    #[must_use]
    pub fn expires_before(mut self, date: Date) -> Self {
        self.expires_before = Some(date);
        self
    }

    /// In this order.
    #[must_use]
    pub fn sort(mut self, sort: TokenSort) -> Self {
        self.sort = Some(sort);
        self
    }

    /// This page (from 1).
    #[must_use]
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// This many per page (1..=100).
    #[must_use]
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page);
        self
    }

    /// The query, in the order GitLab's page lists the attributes (then `page`,
    /// `per_page`), after checking the values: ids and pages from 1, `per_page` at most
    /// 100, an empty search refused.
    pub fn query_pairs(&self) -> Result<Vec<(&'static str, String)>> {
        let mut out = Vec::new();
        let time = |field: &'static str, t: OffsetDateTime| {
            t.to_offset(time::UtcOffset::UTC)
                .format(&Rfc3339)
                .map_err(|e| Error::invalid(field, format!("cannot be written as RFC 3339: {e}")))
        };
        for (field, value) in [
            ("created_after", self.created_after),
            ("created_before", self.created_before),
        ] {
            if let Some(t) = value {
                out.push((field, time(field, t)?));
            }
        }
        for (field, value) in [
            ("expires_after", self.expires_after),
            ("expires_before", self.expires_before),
        ] {
            if let Some(d) = value {
                out.push((field, format_date(d)));
            }
        }
        for (field, value) in [
            ("last_used_after", self.last_used_after),
            ("last_used_before", self.last_used_before),
        ] {
            if let Some(t) = value {
                out.push((field, time(field, t)?));
            }
        }
        if let Some(revoked) = self.revoked {
            out.push(("revoked", revoked.to_string()));
        }
        if let Some(search) = &self.search {
            if search.is_empty() {
                return Err(Error::invalid("search", "must not be empty"));
            }
            out.push(("search", search.clone()));
        }
        if let Some(sort) = self.sort {
            out.push(("sort", sort.as_str().to_owned()));
        }
        if let Some(state) = self.state {
            out.push(("state", state.as_str().to_owned()));
        }
        if let Some(user) = self.user_id {
            out.push(("user_id", crate::client::user_id(user)?));
        }
        if let Some(page) = self.page {
            if page == 0 {
                return Err(Error::invalid("page", "pages start at 1"));
            }
            out.push(("page", page.to_string()));
        }
        if let Some(per_page) = self.per_page {
            if !(1..=MAX_PER_PAGE).contains(&per_page) {
                return Err(Error::invalid(
                    "per_page",
                    format!("{per_page} is outside 1..={MAX_PER_PAGE}"),
                ));
            }
            out.push(("per_page", per_page.to_string()));
        }
        Ok(out)
    }
}

/// One page of a listing, with GitLab's pagination headers: personal access tokens (the
/// default), or [`ResourceAccessToken`](crate::ResourceAccessToken)s of a project.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TokenListPage<T = PersonalAccessToken> {
    /// The tokens of this page.
    pub tokens: Vec<T>,
    /// The next page (`X-Next-Page`, else the `page` of the `Link` header's `rel="next"`);
    /// `None` on the last page.
    pub next_page: Option<u32>,
    /// `X-Total`: every matching token (GitLab omits it above 10,000).
    pub total: Option<u64>,
    /// `X-Total-Pages` (omitted with `X-Total`).
    pub total_pages: Option<u32>,
}

impl<T: serde::de::DeserializeOwned> TokenListPage<T> {
    /// Reads a listing answer. A header GitLab sends with a value that is not a number is
    /// a [`Decode`](pats_core::ErrorKind::Decode) error (it would otherwise end or loop the
    /// paging silently).
    pub fn from_response(response: &Response) -> Result<Self> {
        let tokens: Vec<T> = response.json()?;
        let number = |name: &str| -> Result<Option<u64>> {
            match response.header_str(name).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                    response.decode_error(format!("the `{name}` header is not a number"))
                }),
            }
        };
        let page = |name: &str| -> Result<Option<u32>> {
            number(name)?
                .map(|n| {
                    u32::try_from(n).map_err(|_| {
                        response.decode_error(format!("the `{name}` header is out of range"))
                    })
                })
                .transpose()
        };
        let next_page = match page("x-next-page")? {
            Some(next) => Some(next),
            None => match response.header_str("link") {
                Some(link) => {
                    next_from_link(link).map_err(|reason| response.decode_error(reason))?
                }
                None => None,
            },
        };
        if next_page == Some(0) {
            return Err(response.decode_error("the next page is 0"));
        }
        Ok(Self {
            tokens,
            next_page,
            total: number("x-total")?,
            total_pages: page("x-total-pages")?,
        })
    }
}

/// The `page` of the `rel="next"` link of an RFC 8288 `Link` header, if there is one.
fn next_from_link(header: &str) -> std::result::Result<Option<u32>, String> {
    for link in header.split(',') {
        let mut parts = link.split(';');
        let target = parts.next().unwrap_or_default().trim();
        let is_next = parts.any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        if !is_next {
            continue;
        }
        let url = target
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .ok_or("the `Link` header's next link is not in angle brackets")?;
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let page = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("page="))
            .ok_or("the `Link` header's next link has no `page`")?;
        return page
            .parse()
            .map(Some)
            .map_err(|_| "the `Link` header's next page is not a number".to_owned());
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;
    use pats_core::reexports::bytes::Bytes;
    use pats_core::reexports::reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    use time::macros::{date, datetime};

    #[test]
    fn every_filter_in_the_documented_order() {
        let list = ListTokens::new()
            .user_id(3)
            .state(TokenState::Inactive)
            .revoked(true)
            .search("ci")
            .created_after(datetime!(2022-01-01 00:00 UTC))
            .created_before(datetime!(2022-01-02 01:00 +01:00))
            .last_used_after(datetime!(2022-02-01 00:00:00.5 UTC))
            .last_used_before(datetime!(2022-03-01 00:00 UTC))
            .expires_after(date!(2026 - 01 - 01))
            .expires_before(date!(2026 - 12 - 31))
            .sort(TokenSort::LastUsedDesc)
            .page(2)
            .per_page(100);
        let pairs = list.query_pairs().unwrap();
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("created_after", "2022-01-01T00:00:00Z"),
                ("created_before", "2022-01-02T00:00:00Z"),
                ("expires_after", "2026-01-01"),
                ("expires_before", "2026-12-31"),
                ("last_used_after", "2022-02-01T00:00:00.5Z"),
                ("last_used_before", "2022-03-01T00:00:00Z"),
                ("revoked", "true"),
                ("search", "ci"),
                ("sort", "last_used_desc"),
                ("state", "inactive"),
                ("user_id", "3"),
                ("page", "2"),
                ("per_page", "100"),
            ]
        );
        assert!(ListTokens::new().query_pairs().unwrap().is_empty());
    }

    #[test]
    fn bad_values_are_refused_before_sending() {
        let field = |l: ListTokens| l.query_pairs().unwrap_err().field().unwrap().to_owned();
        assert_eq!(field(ListTokens::new().per_page(0)), "per_page");
        assert_eq!(field(ListTokens::new().per_page(101)), "per_page");
        assert_eq!(field(ListTokens::new().page(0)), "page");
        assert_eq!(field(ListTokens::new().user_id(0)), "user_id");
        assert_eq!(field(ListTokens::new().search("")), "search");
    }

    fn answer(headers: &[(&'static str, &str)], body: &str) -> Response {
        let mut map = HeaderMap::new();
        map.insert("content-type", HeaderValue::from_static("application/json"));
        for (k, v) in headers {
            map.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Response::new(200, map, Bytes::from(body.to_owned()))
    }

    #[test]
    fn pages_from_gitlab_headers_or_the_link_header() {
        let page = TokenListPage::<PersonalAccessToken>::from_response(&answer(
            &[
                ("x-next-page", "3"),
                ("x-total", "41"),
                ("x-total-pages", "5"),
            ],
            "[]",
        ))
        .unwrap();
        assert_eq!(
            (page.next_page, page.total, page.total_pages),
            (Some(3), Some(41), Some(5))
        );
        // The last page: X-Next-Page is empty.
        let page = TokenListPage::<PersonalAccessToken>::from_response(&answer(
            &[("x-next-page", "")],
            "[]",
        ))
        .unwrap();
        assert_eq!(page.next_page, None);
        // Only a Link header (as with keyset pagination, or a proxy that drops X-*).
        let link = "<https://gitlab.example.com/api/v4/personal_access_tokens?page=1&per_page=2>; \
                    rel=\"first\", <https://gitlab.example.com/api/v4/personal_access_tokens?per_page=2&page=7>; rel=\"next\"";
        let page =
            TokenListPage::<PersonalAccessToken>::from_response(&answer(&[("link", link)], "[]"))
                .unwrap();
        assert_eq!(page.next_page, Some(7));
        let page = TokenListPage::<PersonalAccessToken>::from_response(&answer(
            &[("link", "<https://x/?page=1>; rel=\"first\"")],
            "[]",
        ))
        .unwrap();
        assert_eq!(page.next_page, None);
    }

    #[test]
    fn hostile_headers_are_decode_errors() {
        for headers in [
            vec![("x-next-page", "two")],
            vec![("x-next-page", "0")],
            vec![("x-next-page", "99999999999")],
            vec![("x-total", "-1")],
            vec![("link", "https://x/?page=2; rel=\"next\"")],
            vec![("link", "<https://x/?per_page=2>; rel=\"next\"")],
            vec![("link", "<https://x/?page=z>; rel=\"next\"")],
        ] {
            let err = TokenListPage::<PersonalAccessToken>::from_response(&answer(&headers, "[]"))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Decode, "{headers:?}: {err}");
        }
        let err = TokenListPage::<PersonalAccessToken>::from_response(&answer(&[], "{\"id\": 1}"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
    }
}
