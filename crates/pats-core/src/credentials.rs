//! Bearer tokens: where they come from and how they are cached.
//!
//! A [`TokenSource`] hands the transport a bearer token for each request. [`StaticToken`]
//! always hands the same one. [`CachingTokenSource`] asks a [`TokenFetcher`] (an OAuth2
//! client-credentials exchange, a JWT-profile exchange, ...) for a token, keeps it until
//! shortly before it expires, and makes exactly one fetch however many tasks ask at once.

use crate::error::Result;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::{Arc, Mutex};
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

/// Caches a fetched token and refreshes it `margin` before it expires.
///
/// Concurrent callers share one fetch: the first fetches, the others wait for it.
pub struct CachingTokenSource {
    fetcher: Arc<dyn TokenFetcher>,
    margin: Duration,
    /// Used when the issuer gives no lifetime.
    default_lifetime: Option<Duration>,
    cached: Mutex<Option<Cached>>,
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
            cached: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets how long before expiry a token is refreshed.
    #[must_use]
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Sets the lifetime assumed when the issuer gives none (default: kept until refused).
    #[must_use]
    pub fn with_default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = Some(lifetime);
        self
    }

    fn fresh(&self) -> Option<SecretString> {
        let cached = self.cached.lock().ok()?;
        let c = cached.as_ref()?;
        match c.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(c.token.clone()),
        }
    }
}

#[async_trait]
impl TokenSource for CachingTokenSource {
    async fn token(&self) -> Result<SecretString> {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let _guard = self.fetch_lock.lock().await;
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let fetched = self.fetcher.fetch().await?;
        let lifetime = fetched.expires_in.or(self.default_lifetime);
        let refresh_at = lifetime.map(|l| Instant::now() + l.saturating_sub(self.margin));
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some(Cached {
                token: fetched.token.clone(),
                refresh_at,
            });
        }
        tracing::debug!(fetcher = ?self.fetcher, ?lifetime, "fetched a new token");
        Ok(fetched.token)
    }

    fn invalidate(&self, token: &SecretString) {
        if let Ok(mut cached) = self.cached.lock()
            && cached
                .as_ref()
                .is_some_and(|c| c.token.expose_secret() == token.expose_secret())
        {
            *cached = None;
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

    #[tokio::test(start_paused = true)]
    async fn hundred_concurrent_callers_cause_one_fetch() {
        let fetcher = Arc::new(Counting::default());
        let source = Arc::new(CachingTokenSource::new(fetcher.clone()));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let s = source.clone();
                tokio::spawn(async move { s.token().await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().expose_secret(), "token-1");
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

    #[test]
    fn debug_shows_no_token() {
        let s = StaticToken::new(SecretString::from("static-secret-value"));
        assert!(!format!("{s:?}").contains("static-secret-value"));
    }
}
