//! Bearer tokens: where they come from and how they are cached.
//!
//! A [`TokenSource`] hands the transport a bearer token for each request. [`StaticToken`]
//! always hands the same one. [`CachingTokenSource`] asks a [`TokenFetcher`] (an OAuth2
//! client-credentials exchange, a JWT-profile exchange, ...) for a token, keeps it until
//! shortly before it expires, and makes exactly one fetch however many tasks ask at once
//! (a failed fetch too: every task that waited on it gets its error). [`oauth2`] is the
//! OAuth2 token exchange (client credentials, or any grant's form) the providers fetch with.

pub mod oauth2;

use crate::error::{Error, Result};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Gives out bearer tokens.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token to send now.
    async fn token(&self) -> Result<SecretString>;

    /// Tells the source that `token` was refused (HTTP 401), so the next
    /// [`token`](Self::token) fetches a new one. Does nothing for static tokens.
    fn invalidate(&self, token: &SecretString) {
        let _ = token;
    }

    /// Whether [`invalidate`](Self::invalidate) leads to a different token (so replaying a
    /// refused request can help).
    fn can_refresh(&self) -> bool {
        false
    }
}

/// The same token every time (a PAT, a service-account token).
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: SecretString) -> Self {
        Self(token)
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([REDACTED])")
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<SecretString> {
        Ok(self.0.clone())
    }
}

/// A token just obtained, and how long it is valid.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchedToken {
    /// The token.
    pub token: SecretString,
    /// Its lifetime from now, if the issuer said.
    pub expires_in: Option<Duration>,
}

impl FetchedToken {
    /// A token and its lifetime.
    pub fn new(token: SecretString, expires_in: Option<Duration>) -> Self {
        Self { token, expires_in }
    }
}

/// Obtains a new token (the provider-specific exchange).
#[async_trait]
pub trait TokenFetcher: Send + Sync + fmt::Debug {
    /// Fetches a fresh token.
    async fn fetch(&self) -> Result<FetchedToken>;
}

struct Cached {
    token: SecretString,
    refresh_at: Option<Instant>,
}

/// How the last fetch ended, kept for the callers that waited on it.
enum Outcome {
    Token(SecretString),
    Failed(Error),
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// Bumped each time a fetch ends, whether it succeeded or failed.
    generation: u64,
    /// What the fetch that ended last produced.
    last: Option<Outcome>,
}

/// The longest token lifetime believed: a longer `expires_in` (or default lifetime) counts
/// as one day, so that a token is always fetched anew at least once a day and no lifetime
/// a server sends can overflow the clock.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How long after it was fetched a token with `lifetime` is refreshed: `margin` before it
/// expires, but never before half its lifetime (clamped to [`MAX_TOKEN_LIFETIME`]) has
/// passed, so that a short-lived token is still reused rather than fetched on every call.
fn refresh_after(lifetime: Duration, margin: Duration) -> Duration {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    let half = lifetime / 2;
    match lifetime.checked_sub(margin) {
        Some(after) if after >= half => after,
        _ => half,
    }
}

/// Caches a fetched token and refreshes it `margin` before it expires.
///
/// - Concurrent callers share one fetch: the first fetches, the others wait for it and get
///   its outcome, the token or an equivalent error (same variant and fields). A failed fetch
///   is not repeated by each waiting caller; the next call after it fetches again.
/// - A token is refreshed `margin` (default 60 s) before it expires, but never before half
///   its lifetime has passed: a 30 s token is reused for 15 s rather than fetched anew on
///   every call.
/// - Lifetimes are clamped to [`MAX_TOKEN_LIFETIME`] (one day): whatever `expires_in` an
///   issuer sends, the token is fetched anew at least once a day.
pub struct CachingTokenSource {
    fetcher: Arc<dyn TokenFetcher>,
    margin: Duration,
    /// Used when the issuer gives no lifetime.
    default_lifetime: Option<Duration>,
    state: Mutex<State>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for CachingTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingTokenSource")
            .field("fetcher", &self.fetcher)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl CachingTokenSource {
    /// Caches tokens from `fetcher`, refreshing 60 s before they expire.
    pub fn new(fetcher: Arc<dyn TokenFetcher>) -> Self {
        Self {
            fetcher,
            margin: Duration::from_secs(60),
            default_lifetime: None,
            state: Mutex::new(State::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets how long before expiry a token is refreshed (at most half its lifetime is
    /// given up, see [`CachingTokenSource`]).
    #[must_use]
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Sets the lifetime assumed when the issuer gives none (default: kept until refused).
    /// Clamped to [`MAX_TOKEN_LIFETIME`].
    #[must_use]
    pub fn with_default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = Some(lifetime);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while the lock is held, and the state is valid at every step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached token if it is not due for a refresh, and the fetch generation seen.
    fn fresh(&self) -> (Option<SecretString>, u64) {
        let state = self.state();
        let token = state.cached.as_ref().and_then(|c| match c.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(c.token.clone()),
        });
        (token, state.generation)
    }
}

#[async_trait]
impl TokenSource for CachingTokenSource {
    async fn token(&self) -> Result<SecretString> {
        let (token, seen) = self.fresh();
        if let Some(t) = token {
            return Ok(t);
        }
        let _guard = self.fetch_lock.lock().await;
        {
            let state = self.state();
            if state.generation != seen {
                // A fetch ended while this call waited: its outcome is this call's too.
                match &state.last {
                    Some(Outcome::Token(t)) => return Ok(t.clone()),
                    Some(Outcome::Failed(e)) => return Err(e.replicate()),
                    None => {}
                }
            }
        }
        let fetched = self.fetcher.fetch().await;
        let mut state = self.state();
        state.generation = state.generation.wrapping_add(1);
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(fetcher = ?self.fetcher, kind = ?e.kind(), "fetching a token failed");
                state.cached = None;
                state.last = Some(Outcome::Failed(e.replicate()));
                return Err(e);
            }
        };
        let lifetime = fetched.expires_in.or(self.default_lifetime);
        let refresh_at = lifetime.map(|l| {
            let now = Instant::now();
            now.checked_add(refresh_after(l, self.margin))
                .unwrap_or(now)
        });
        state.cached = Some(Cached {
            token: fetched.token.clone(),
            refresh_at,
        });
        state.last = Some(Outcome::Token(fetched.token.clone()));
        drop(state);
        tracing::debug!(fetcher = ?self.fetcher, ?lifetime, "fetched a new token");
        Ok(fetched.token)
    }

    fn invalidate(&self, token: &SecretString) {
        let refused = |t: &SecretString| t.expose_secret() == token.expose_secret();
        let mut state = self.state();
        if state.cached.as_ref().is_some_and(|c| refused(&c.token)) {
            state.cached = None;
        }
        // Callers still waiting on the fetch that brought it fetch anew rather than take it.
        if matches!(&state.last, Some(Outcome::Token(t)) if refused(t)) {
            state.last = None;
        }
    }

    fn can_refresh(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl TokenFetcher for Counting {
        async fn fetch(&self) -> Result<FetchedToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(FetchedToken::new(
                SecretString::from(format!("token-{n}")),
                Some(Duration::from_secs(300)),
            ))
        }
    }

    /// `n` concurrent callers of `source.token()`, each answer in order.
    async fn concurrent_tokens(
        source: &Arc<CachingTokenSource>,
        n: usize,
    ) -> Vec<Result<SecretString>> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let s = source.clone();
                tokio::spawn(async move { s.token().await })
            })
            .collect();
        let mut answers = Vec::with_capacity(n);
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        answers
    }

    #[tokio::test(start_paused = true)]
    async fn hundred_concurrent_callers_cause_one_fetch() {
        let fetcher = Arc::new(Counting::default());
        let source = Arc::new(CachingTokenSource::new(fetcher.clone()));
        for answer in concurrent_tokens(&source, 100).await {
            assert_eq!(answer.unwrap().expose_secret(), "token-1");
        }
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_before_expiry_and_after_invalidate() {
        let fetcher = Arc::new(Counting::default());
        let source = CachingTokenSource::new(fetcher.clone()).with_margin(Duration::from_secs(30));
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-1");
        tokio::time::advance(Duration::from_secs(269)).await;
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-1");
        tokio::time::advance(Duration::from_secs(2)).await;
        let t2 = source.token().await.unwrap();
        assert_eq!(t2.expose_secret(), "token-2");
        // Invalidating a token that is no longer cached changes nothing.
        source.invalidate(&SecretString::from("token-1"));
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-2");
        source.invalidate(&t2);
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-3");
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 3);
    }

    /// Hands out tokens with a given lifetime, or fails with a transport error while
    /// `fail` is set; each fetch takes 50 ms.
    #[derive(Debug)]
    struct Scripted {
        calls: AtomicUsize,
        lifetime: Option<Duration>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl Scripted {
        fn new(lifetime: Option<Duration>) -> Self {
            Self {
                calls: AtomicUsize::new(0),
                lifetime,
                fail: false.into(),
            }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[derive(Debug)]
    struct Cause;

    impl fmt::Display for Cause {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connection refused")
        }
    }

    impl std::error::Error for Cause {}

    #[async_trait]
    impl TokenFetcher for Scripted {
        async fn fetch(&self) -> Result<FetchedToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(Error::connect(
                    format!("connection failed (fetch {n})"),
                    Cause,
                ));
            }
            Ok(FetchedToken::new(
                SecretString::from(format!("token-{n}")),
                self.lifetime,
            ))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_lifetime_is_clamped_to_a_day_without_overflow() {
        for secs in [u64::MAX, i64::MAX.cast_unsigned(), u64::MAX / 2 + 1] {
            let fetcher = Arc::new(Scripted::new(Some(Duration::from_secs(secs))));
            let source = CachingTokenSource::new(fetcher.clone());
            assert_eq!(source.token().await.unwrap().expose_secret(), "token-1");
            // Refreshed 60 s before a day (86,400 s, as documented) has passed, not never.
            tokio::time::advance(Duration::from_secs(86_400 - 61)).await;
            assert_eq!(source.token().await.unwrap().expose_secret(), "token-1");
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(source.token().await.unwrap().expose_secret(), "token-2");
            assert_eq!(fetcher.calls(), 2);
        }
        // A default lifetime of Duration::MAX too.
        let fetcher = Arc::new(Scripted::new(None));
        let source = CachingTokenSource::new(fetcher.clone())
            .with_default_lifetime(Duration::MAX)
            .with_margin(Duration::MAX);
        source.token().await.unwrap();
        tokio::time::advance(Duration::from_secs(43_199)).await;
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-1");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lifetime_shorter_than_the_margin_is_used_for_half_of_it() {
        let fetcher = Arc::new(Scripted::new(Some(Duration::from_secs(30))));
        let source = CachingTokenSource::new(fetcher.clone());
        source.token().await.unwrap();
        // Fetching took 50 ms; the token is reused until 15 s after it arrived.
        tokio::time::advance(Duration::from_millis(14_999)).await;
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-1");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-2");
        assert_eq!(fetcher.calls(), 2);
        // Between margin and twice the margin: still at least half the lifetime.
        assert_eq!(
            refresh_after(Duration::from_secs(100), Duration::from_secs(60)),
            Duration::from_secs(50)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(300), Duration::from_secs(60)),
            Duration::from_secs(240)
        );
        assert_eq!(
            refresh_after(Duration::ZERO, Duration::from_secs(60)),
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_is_shared_by_every_waiting_caller() {
        let fetcher = Arc::new(Scripted::new(Some(Duration::from_secs(300))));
        fetcher.fail.store(true, Ordering::SeqCst);
        let source = Arc::new(CachingTokenSource::new(fetcher.clone()));
        let started = Instant::now();
        for answer in concurrent_tokens(&source, 1000).await {
            let err = answer.unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Transport, "{err:?}");
            assert!(err.is_connect(), "{err:?}");
            assert_eq!(
                err.to_string(),
                "transport error: connection failed (fetch 1)"
            );
            assert_eq!(
                std::error::Error::source(&err)
                    .map(ToString::to_string)
                    .as_deref(),
                Some("connection refused")
            );
        }
        assert_eq!(fetcher.calls(), 1);
        // All of them waited for the one fetch, not for a thousand in a row.
        assert_eq!(started.elapsed(), Duration::from_millis(50));
        // The next call tries again, and a success is shared the same way.
        fetcher.fail.store(false, Ordering::SeqCst);
        for answer in concurrent_tokens(&source, 10).await {
            assert_eq!(answer.unwrap().expose_secret(), "token-2");
        }
        assert_eq!(fetcher.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_that_expires_at_once_still_serves_the_callers_that_waited() {
        let fetcher = Arc::new(Scripted::new(Some(Duration::ZERO)));
        let source = Arc::new(CachingTokenSource::new(fetcher.clone()));
        for answer in concurrent_tokens(&source, 100).await {
            assert_eq!(answer.unwrap().expose_secret(), "token-1");
        }
        assert_eq!(fetcher.calls(), 1);
        assert_eq!(source.token().await.unwrap().expose_secret(), "token-2");
    }

    #[test]
    fn replicated_errors_keep_variant_fields_and_source_text() {
        let cases = [
            Error::invalid("field", "reason"),
            Error::from_api(crate::ApiError::new(401, "no"), None),
            Error::from_api(crate::ApiError::new(403, "no"), None),
            Error::from_api(crate::ApiError::new(404, "no"), None),
            Error::from_api(crate::ApiError::new(409, "no"), None),
            Error::from_api(
                crate::ApiError::new(429, "slow").with_code(Some("c".into())),
                Some(Duration::from_secs(3)),
            ),
            Error::from_api(
                crate::ApiError::new(503, "down").with_request_id(Some("r".into())),
                None,
            ),
            Error::pending_approval("p", Some("a".into()), serde_json::json!({"x": 1})),
            Error::unsupported("p", "op"),
            Error::timed_out(Duration::from_secs(7), 1),
            Error::transport("m", Cause),
            Error::decode(200, "r", b"s"),
            Error::signing("sig"),
            Error::limit_exceeded("p", "ListLimits::max_pages", 3, "m"),
        ];
        for e in &cases {
            let r = e.replicate();
            assert_eq!(r.kind(), e.kind());
            assert_eq!(r.to_string(), e.to_string());
            assert_eq!(format!("{r:?}"), format!("{e:?}"));
            assert_eq!(
                std::error::Error::source(&r).map(ToString::to_string),
                std::error::Error::source(e).map(ToString::to_string)
            );
        }
    }

    #[test]
    fn debug_shows_no_token() {
        let s = StaticToken::new(SecretString::from("static-secret-value"));
        assert_eq!(format!("{s:?}"), "StaticToken([REDACTED])");
        let caching = CachingTokenSource::new(Arc::new(Scripted::new(None)))
            .with_margin(Duration::from_secs(30));
        let text = format!("{caching:?}");
        assert!(text.starts_with("CachingTokenSource {"), "{text}");
        assert!(text.contains("margin: 30s"), "{text}");
    }

    #[test]
    fn only_a_caching_source_can_refresh() {
        assert!(!StaticToken::new(SecretString::from("t")).can_refresh());
        assert!(CachingTokenSource::new(Arc::new(Scripted::new(None))).can_refresh());
    }

    #[tokio::test]
    async fn a_static_token_is_handed_out_unchanged_even_after_a_refusal() {
        let source = StaticToken::new(SecretString::from("pat-value"));
        assert_eq!(source.token().await.unwrap().expose_secret(), "pat-value");
        // Nothing to refresh: the same token again (and the caller knows not to replay).
        source.invalidate(&SecretString::from("pat-value"));
        assert_eq!(source.token().await.unwrap().expose_secret(), "pat-value");
        assert!(!source.can_refresh());
    }
}
