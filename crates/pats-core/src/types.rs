//! Domain types shared by every provider.

use crate::error::{Error, Result};
use secrecy::SecretString;
use std::any::Any;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Longest accepted token id, in bytes.
pub const MAX_TOKEN_ID_LEN: usize = 256;

/// A token's identifier, as the provider assigns it.
///
/// Ids go into URL paths, so they are checked when made: not empty, at most
/// [`MAX_TOKEN_ID_LEN`] bytes, not `.` or `..`, and free of `/`, `\`, `?`, `#`, `%`,
/// whitespace and control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct TokenId(String);

impl TokenId {
    /// Checks and wraps an id.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("must not be empty".to_owned())
        } else if id.len() > MAX_TOKEN_ID_LEN {
            Some(format!("must be at most {MAX_TOKEN_ID_LEN} bytes"))
        } else if id == "." || id == ".." {
            Some("must not be `.` or `..`".to_owned())
        } else {
            id.chars()
                .find(|c| {
                    matches!(c, '/' | '\\' | '?' | '#' | '%') || c.is_whitespace() || c.is_control()
                })
                .map(|c| format!("must not contain {c:?}"))
        };
        match reason {
            Some(reason) => Err(Error::invalid("token_id", reason)),
            None => Ok(Self(id)),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TokenId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for TokenId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<String> for TokenId {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<&str> for TokenId {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for TokenId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Owner {
    /// The provider's id of the owner (a user, machine user or identity).
    pub id: String,
    /// A display name, if the provider sends one.
    pub name: Option<String>,
    /// The kind of owner, as the provider names it (for example `IDENTITY`).
    pub kind: Option<String>,
}

impl Owner {
    /// An owner known by id only.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            kind: None,
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_name(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    /// Sets the owner kind.
    #[must_use]
    pub fn with_kind(mut self, kind: Option<String>) -> Self {
        self.kind = kind;
        self
    }
}

/// When a stored token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Expiration {
    /// At this time.
    At(OffsetDateTime),
    /// Never.
    Never,
    /// The provider does not say.
    #[default]
    Unknown,
}

impl Expiration {
    /// The expiry time, if there is one.
    pub fn at(&self) -> Option<OffsetDateTime> {
        match self {
            Self::At(t) => Some(*t),
            _ => None,
        }
    }
}

/// A provider's own view of a token, reachable through [`TokenInfo::details`].
///
/// Implemented for every `'static` type that is `Debug + Send + Sync`; provider crates put
/// their typed wire model here.
pub trait Details: Any + fmt::Debug + Send + Sync {}

impl<T: Any + fmt::Debug + Send + Sync> Details for T {}

/// The provider-specific part of a [`TokenInfo`]; get at it with [`ProviderDetails::get`].
#[derive(Clone, Default)]
pub struct ProviderDetails(Option<Arc<dyn Details>>);

impl ProviderDetails {
    /// Wraps a provider's typed value.
    pub fn new<T: Details>(value: T) -> Self {
        Self(Some(Arc::new(value)))
    }

    /// The provider's value, if it is a `T`.
    ///
    /// ```
    /// # use pats_core::ProviderDetails;
    /// let details = ProviderDetails::new(42_u32);
    /// assert_eq!(details.get::<u32>(), Some(&42));
    /// assert_eq!(details.get::<String>(), None);
    /// ```
    pub fn get<T: Any>(&self) -> Option<&T> {
        let value: &dyn Any = self.0.as_deref()?;
        value.downcast_ref::<T>()
    }

    /// Whether there is no provider value.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for ProviderDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => fmt::Debug::fmt(&**v, f),
            None => f.write_str("None"),
        }
    }
}

/// What a provider tells about a token (never its secret).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The token's id.
    pub id: TokenId,
    /// Its name, where the provider has names.
    pub name: Option<String>,
    /// Its owner, where the provider says.
    pub owner: Option<Owner>,
    /// When it was created.
    pub created: Option<OffsetDateTime>,
    /// When it expires.
    pub expires: Expiration,
    /// When it was last used, where the provider tracks it.
    pub last_used: Option<OffsetDateTime>,
    /// Whether it is active, where the provider can deactivate tokens.
    pub active: Option<bool>,
    /// Its scopes or permissions, where the provider has them.
    pub scopes: Vec<String>,
    /// The provider's own typed view of the token.
    pub details: ProviderDetails,
}

impl TokenInfo {
    /// A token known by id only; provider crates fill in the rest.
    pub fn new(id: TokenId) -> Self {
        Self {
            id,
            name: None,
            owner: None,
            created: None,
            expires: Expiration::Unknown,
            last_used: None,
            active: None,
            scopes: Vec::new(),
            details: ProviderDetails::default(),
        }
    }
}

/// The acknowledgement that a never-expiring token is wanted on purpose.
///
/// The only value is [`NeverExpires::I_UNDERSTAND_THE_RISK`], so asking for an immortal
/// token always reads as such in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeverExpires {
    _acknowledged: (),
}

impl NeverExpires {
    /// "I understand that a token which never expires stays valid until it is revoked."
    pub const I_UNDERSTAND_THE_RISK: NeverExpires = NeverExpires { _acknowledged: () };
}

/// When a token to be created should expire. Every [`CreateToken`] names one: there is no
/// default, because the providers' defaults differ (six months, or never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// Whatever the provider does when no expiry is given, where that is a finite lifetime
    /// (Dfns; SailPoint v3/beta/v2024: six months). Where the provider's default is a token
    /// that never expires (ZITADEL; SailPoint v2025, v2026, V1) it is refused with
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) before anything is sent: a
    /// never-expiring token is only created when asked for with [`Expiry::Never`].
    /// Portable code names a lifetime ([`Expiry::In`] or [`Expiry::At`]) instead.
    ProviderDefault,
    /// At this time.
    At(OffsetDateTime),
    /// This long after creation.
    In(Duration),
    /// Never; needs the explicit acknowledgement.
    Never(NeverExpires),
}

impl Expiry {
    /// The lifetime in whole seconds counted from `now`, for `At` and `In`
    /// (rounded down, may be zero or negative for a time in the past).
    pub fn seconds_from(&self, now: OffsetDateTime) -> Option<i64> {
        match self {
            Self::At(t) => Some((*t - now).whole_seconds()),
            Self::In(d) => Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            _ => None,
        }
    }

    /// The absolute expiry time counted from `now`, for `At` and `In`.
    pub fn time_from(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Self::At(t) => Some(*t),
            Self::In(d) => now.checked_add(time::Duration::try_from(*d).ok()?),
            _ => None,
        }
    }
}

/// A request to create a token. Build it with [`CreateToken::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateToken {
    name: Option<String>,
    scopes: Vec<String>,
    owner: Option<String>,
    expiry: Expiry,
}

impl CreateToken {
    /// Starts a request.
    ///
    /// ```
    /// # use pats_core::{CreateToken, Expiry};
    /// # use std::time::Duration;
    /// let request = CreateToken::builder()
    ///     .name("ci-deploy")
    ///     .scope("sp:scopes:all")
    ///     .expiry(Expiry::In(Duration::from_secs(30 * 24 * 3600)))
    ///     .build()?;
    /// assert_eq!(request.name(), Some("ci-deploy"));
    /// # Ok::<(), pats_core::Error>(())
    /// ```
    ///
    /// The expiry is required: `build` exists only once one is chosen, so a request that
    /// would fall back to a provider's default without saying so does not compile.
    ///
    /// ```compile_fail
    /// # use pats_core::CreateToken;
    /// let request = CreateToken::builder().name("ci-deploy").build();
    /// ```
    pub fn builder() -> CreateTokenBuilder {
        CreateTokenBuilder {
            name: None,
            scopes: Vec::new(),
            owner: None,
            expiry: NoExpiry(()),
        }
    }

    /// The token name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Replaces the name (for a request derived from a checked one).
    pub(crate) fn set_name(&mut self, name: String) {
        self.name = Some(name);
    }

    /// The requested scopes (empty: the provider's default).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The owner id to create the token for (none: the caller or the client's default).
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The requested expiry.
    pub fn expiry(&self) -> Expiry {
        self.expiry
    }
}

/// Builder of [`CreateToken`]. [`build`](CreateTokenBuilder::build) is there once an
/// expiry is chosen with [`expiry`](CreateTokenBuilder::expiry).
#[derive(Debug, Clone)]
pub struct CreateTokenBuilder<E = NoExpiry> {
    name: Option<String>,
    scopes: Vec<String>,
    owner: Option<String>,
    expiry: E,
}

/// The state of a [`CreateTokenBuilder`] whose expiry is not chosen yet.
#[derive(Debug, Clone, Copy)]
pub struct NoExpiry(());

impl<E> CreateTokenBuilder<E> {
    /// Sets the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Replaces the scopes.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the owner id.
    #[must_use]
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Sets (or replaces) the expiry, which [`build`](CreateTokenBuilder::build) needs.
    #[must_use]
    pub fn expiry(self, expiry: Expiry) -> CreateTokenBuilder<Expiry> {
        CreateTokenBuilder {
            name: self.name,
            scopes: self.scopes,
            owner: self.owner,
            expiry,
        }
    }
}

impl CreateTokenBuilder<Expiry> {
    /// Checks what every provider would refuse and returns the request.
    ///
    /// Refused: an empty or blank name, an empty scope or owner, a zero lifetime.
    /// Provider clients check their own rules (lifetime limits, a time in the past) again
    /// when the request is sent.
    pub fn build(self) -> Result<CreateToken> {
        let r = CreateToken {
            name: self.name,
            scopes: self.scopes,
            owner: self.owner,
            expiry: self.expiry,
        };
        if r.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if r.scopes.iter().any(|s| s.trim().is_empty()) {
            return Err(Error::invalid("scopes", "a scope must not be empty"));
        }
        if r.owner.as_deref().is_some_and(|o| o.trim().is_empty()) {
            return Err(Error::invalid("owner", "must not be empty"));
        }
        if r.expiry == Expiry::In(Duration::ZERO) {
            return Err(Error::invalid("expiry", "the lifetime must be positive"));
        }
        Ok(r)
    }
}

/// A token that was just created: its description and its secret, shown only this once.
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedToken {
    /// The token's description.
    pub info: TokenInfo,
    /// The token itself (the value to send as a bearer token or client secret).
    pub secret: SecretString,
    /// Key material the client generated for the token (for example a Dfns PAT's private
    /// key, PKCS#8 PEM), when it made any.
    pub private_key: Option<SecretString>,
}

impl CreatedToken {
    /// A created token without client-generated key material.
    pub fn new(info: TokenInfo, secret: SecretString) -> Self {
        Self {
            info,
            secret,
            private_key: None,
        }
    }

    /// Adds client-generated key material.
    #[must_use]
    pub fn with_private_key(mut self, key: SecretString) -> Self {
        self.private_key = Some(key);
        self
    }
}

/// An opaque position in a paged listing, handed back by [`TokenPage::next_page`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageToken(String);

impl PageToken {
    /// Wraps a provider's page position (provider crates make these).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The position as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What to list. `ListQuery::default()` lists the caller's (or the client's default owner's)
/// tokens, first page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only tokens of this owner.
    pub owner: Option<String>,
    /// Only tokens last used before this time (see [`ListFilters::last_used_before`](crate::ListFilters::last_used_before)).
    pub last_used_before: Option<OffsetDateTime>,
    /// Only tokens never used (see [`ListFilters::never_used`](crate::ListFilters::never_used)).
    pub never_used: bool,
    /// Page size, where the provider pages.
    pub page_size: Option<u32>,
    /// The page to fetch (from a previous [`TokenPage::next_page`]).
    pub page: Option<PageToken>,
    /// How far [`list_all`](crate::PersonalAccessTokensExt::list_all) and the helpers built
    /// on it follow pages before giving up (ignored by a single [`list`](crate::PersonalAccessTokens::list)).
    pub limits: ListLimits,
}

impl ListQuery {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only tokens of `owner`.
    #[must_use]
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Only tokens last used before `time`.
    #[must_use]
    pub fn last_used_before(mut self, time: OffsetDateTime) -> Self {
        self.last_used_before = Some(time);
        self
    }

    /// Only tokens never used.
    #[must_use]
    pub fn never_used(mut self) -> Self {
        self.never_used = true;
        self
    }

    /// Page size.
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The page to fetch.
    #[must_use]
    pub fn page(mut self, page: Option<PageToken>) -> Self {
        self.page = page;
        self
    }

    /// Bounds for [`list_all`](crate::PersonalAccessTokensExt::list_all) (default
    /// [`ListLimits::default()`]).
    #[must_use]
    pub fn limits(mut self, limits: ListLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// How many pages and tokens [`list_all`](crate::PersonalAccessTokensExt::list_all) (and
/// [`find_by_name`](crate::PersonalAccessTokens::find_by_name),
/// [`expiring_within`](crate::PersonalAccessTokensExt::expiring_within)) collect at most.
///
/// A server that keeps handing out new page positions would otherwise be followed forever.
/// When a bound is reached the listing stops with [`LimitExceeded`](crate::ErrorKind::LimitExceeded); a tenant with
/// more tokens than the defaults needs larger bounds:
///
/// ```
/// use pats_core::{ListLimits, ListQuery};
///
/// let query = ListQuery::new().limits(ListLimits::new().max_pages(50_000).max_items(5_000_000));
/// assert_eq!(query.limits.max_pages, 50_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ListLimits {
    /// Most pages requested by one listing (default [`ListLimits::DEFAULT_MAX_PAGES`]).
    pub max_pages: u32,
    /// Most tokens collected by one listing (default [`ListLimits::DEFAULT_MAX_ITEMS`]).
    pub max_items: usize,
}

impl ListLimits {
    /// The default page bound: 10,000 pages.
    pub const DEFAULT_MAX_PAGES: u32 = 10_000;
    /// The default token bound: 1,000,000 tokens.
    pub const DEFAULT_MAX_ITEMS: usize = 1_000_000;

    /// The default bounds.
    pub const fn new() -> Self {
        Self {
            max_pages: Self::DEFAULT_MAX_PAGES,
            max_items: Self::DEFAULT_MAX_ITEMS,
        }
    }

    /// Sets the most pages requested by one listing.
    #[must_use]
    pub const fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages;
        self
    }

    /// Sets the most tokens collected by one listing.
    #[must_use]
    pub const fn max_items(mut self, items: usize) -> Self {
        self.max_items = items;
        self
    }
}

impl Default for ListLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TokenPage {
    /// The tokens on this page.
    pub items: Vec<TokenInfo>,
    /// Where the next page starts; `None` on the last page.
    pub next_page: Option<PageToken>,
}

impl TokenPage {
    /// A page.
    pub fn new(items: Vec<TokenInfo>, next_page: Option<PageToken>) -> Self {
        Self { items, next_page }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_that_could_change_a_path_are_rejected() {
        for bad in [
            "", ".", "..", "a/b", "../x", "a?b", "a#b", "a%2Fb", "a\nb", "a\u{0}b", "a b", "a\\b",
        ] {
            let err = TokenId::new(bad).unwrap_err();
            assert_eq!(err.field(), Some("token_id"), "{bad:?}: {err}");
        }
        assert!(TokenId::new("x".repeat(MAX_TOKEN_ID_LEN + 1)).is_err());
        for good in [
            "to-1a2b3c",
            "ef38f94347e94562b5bb8424a56397d8",
            "69629023906488334",
            "a.b_c~d",
        ] {
            assert_eq!(TokenId::new(good).unwrap().as_str(), good);
        }
        assert!(serde_json::from_str::<TokenId>(r#""a/b""#).is_err());
        assert_eq!(
            serde_json::from_str::<TokenId>(r#""to-1""#)
                .unwrap()
                .as_str(),
            "to-1"
        );
    }

    #[test]
    fn builder_rejects_what_no_provider_accepts() {
        let week = Expiry::In(Duration::from_secs(7 * 24 * 3600));
        let field = |b: CreateTokenBuilder<Expiry>| b.build().unwrap_err().to_string();
        assert!(field(CreateToken::builder().name("  ").expiry(week)).contains("`name`"));
        assert!(field(CreateToken::builder().scope("").expiry(week)).contains("`scopes`"));
        assert!(field(CreateToken::builder().owner("").expiry(week)).contains("`owner`"));
        // The expiry may be chosen first and replaced; the last one counts.
        let r = CreateToken::builder()
            .expiry(Expiry::ProviderDefault)
            .name("n")
            .expiry(week)
            .build()
            .unwrap();
        assert_eq!(r.expiry(), week);
        assert_eq!(r.name(), Some("n"));
        assert!(
            CreateToken::builder()
                .expiry(Expiry::In(Duration::ZERO))
                .build()
                .is_err()
        );
        let r = CreateToken::builder()
            .name("n")
            .scopes(["a", "b"])
            .owner("u")
            .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
            .build()
            .unwrap();
        assert_eq!(r.scopes(), ["a", "b"]);
        assert_eq!(r.owner(), Some("u"));
        assert!(matches!(r.expiry(), Expiry::Never(_)));
    }

    #[test]
    fn expiry_arithmetic() {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let at = Expiry::At(time::macros::datetime!(2026-01-02 00:00 UTC));
        assert_eq!(at.seconds_from(now), Some(86_400));
        assert_eq!(
            Expiry::In(Duration::from_secs(60)).seconds_from(now),
            Some(60)
        );
        assert_eq!(
            Expiry::In(Duration::from_secs(60)).time_from(now),
            Some(time::macros::datetime!(2026-01-01 00:01 UTC))
        );
        assert_eq!(Expiry::ProviderDefault.seconds_from(now), None);
    }

    #[test]
    fn provider_details_downcast() {
        #[derive(Debug, PartialEq)]
        struct Wire {
            kind: &'static str,
        }
        let mut info = TokenInfo::new(TokenId::new("t").unwrap());
        info.details = ProviderDetails::new(Wire { kind: "Pat" });
        assert_eq!(info.details.get::<Wire>(), Some(&Wire { kind: "Pat" }));
        assert!(format!("{info:?}").contains("Pat"));
    }

    #[test]
    fn created_token_debug_hides_secrets() {
        let info = TokenInfo::new(TokenId::new("t").unwrap());
        let created = CreatedToken::new(info, SecretString::from("super-secret-token"))
            .with_private_key(SecretString::from("-----BEGIN PRIVATE KEY-----abc"));
        let dbg = format!("{created:?}");
        assert!(!dbg.contains("super-secret-token"), "{dbg}");
        assert!(!dbg.contains("BEGIN PRIVATE KEY"), "{dbg}");
    }
}
