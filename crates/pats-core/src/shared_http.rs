//! The `reqwest::Client`s pats builds itself, shared per process.
//!
//! Building a `reqwest::Client` loads the platform's TLS roots and builds a TLS
//! configuration (about 1.6 ms); a provider client built per tenant paid that every time,
//! and each had its own connection pool. Now:
//!
//! - the rustls `ClientConfig` (crypto provider, platform verifier, ALPN) is built once per
//!   process, on first use, and handed to reqwest as a preconfigured backend;
//! - one `reqwest::Client` is kept per equal transport settings (connect timeout, timeout)
//!   *and* tokio runtime, so clients with the same settings share one connection pool
//!   (pools are per host, so clients of the same base URL share connections), clients with
//!   different settings never do, and a connection is never reused from a runtime other
//!   than the one that opened it (its I/O task dies with its runtime).
//!
//! At most [`MAX_SHARED`] clients are kept; past that the cache starts over (clients
//! already built keep theirs), so a program that creates runtimes in a loop does not grow.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// How many distinct shared clients are kept at most.
pub(crate) const MAX_SHARED: usize = 64;

/// What makes two pats-built `reqwest::Client`s interchangeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Settings {
    /// `ClientOptions::connect_timeout`.
    pub(crate) connect_timeout: Duration,
    /// `ClientOptions::timeout` (also set per request; kept so that a client's default
    /// is its own).
    pub(crate) timeout: Duration,
    /// The tokio runtime the client is built in, if any.
    pub(crate) runtime: Option<tokio::runtime::Id>,
}

impl Settings {
    /// The settings for these timeouts in the current runtime (if any).
    pub(crate) fn current(connect_timeout: Duration, timeout: Duration) -> Self {
        Self {
            connect_timeout,
            timeout,
            runtime: tokio::runtime::Handle::try_current().ok().map(|h| h.id()),
        }
    }
}

fn cache() -> &'static Mutex<HashMap<Settings, reqwest::Client>> {
    static CACHE: OnceLock<Mutex<HashMap<Settings, reqwest::Client>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The shared client for `settings`, built on first use.
pub(crate) fn client(settings: Settings) -> crate::Result<reqwest::Client> {
    // A panic while the lock was held cannot leave the map half-updated (one insert):
    // a poisoned lock is still usable.
    let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(client) = cache.get(&settings) {
        return Ok(client.clone());
    }
    let client = build(settings)?;
    if cache.len() >= MAX_SHARED {
        cache.clear();
    }
    cache.insert(settings, client.clone());
    Ok(client)
}

/// How many shared clients are cached (tests).
#[cfg(test)]
pub(crate) fn cached() -> usize {
    cache().lock().unwrap_or_else(PoisonError::into_inner).len()
}

fn build(settings: Settings) -> crate::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .user_agent(crate::transport::USER_AGENT)
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none());
    // native-tls wins when both kinds of backend are enabled (as in reqwest).
    #[cfg(all(
        any(feature = "rustls", feature = "rustls-aws-lc"),
        not(feature = "native-tls")
    ))]
    let builder = builder.tls_backend_preconfigured(tls::config()?);
    builder
        .build()
        // Nothing was sent: building the client is not an attempt (`is_outcome_unknown` is
        // false).
        .map_err(|e| crate::Error::connect("cannot build the HTTP client", e.without_url()))
}

/// The process-wide rustls configuration.
#[cfg(any(feature = "rustls", feature = "rustls-aws-lc"))]
// With `native-tls` too (e.g. `--all-features`), native-tls is used and this is only tested.
#[cfg_attr(feature = "native-tls", allow(dead_code))]
pub(crate) mod tls {
    use rustls::ClientConfig;
    use rustls::crypto::CryptoProvider;
    use std::sync::{Arc, OnceLock};

    /// The crypto provider pats uses: the process default if the application installed
    /// one before pats's first request (`CryptoProvider::install_default`), else its own
    /// (aws-lc with feature `rustls-aws-lc`, else *ring*). pats never installs a process
    /// default itself: see [`crate::tls::install_default_crypto_provider`] for
    /// applications that want one.
    pub(crate) fn provider() -> Arc<CryptoProvider> {
        CryptoProvider::get_default().map_or_else(|| Arc::new(ours()), Arc::clone)
    }

    /// The provider the enabled feature selects.
    pub(crate) fn ours() -> CryptoProvider {
        #[cfg(feature = "rustls-aws-lc")]
        return rustls::crypto::aws_lc_rs::default_provider();
        #[cfg(not(feature = "rustls-aws-lc"))]
        return rustls::crypto::ring::default_provider();
    }

    /// The client configuration, built once: the platform's verifier (its roots, as
    /// reqwest's own rustls backend uses), safe default protocol versions, ALPN h2 and
    /// http/1.1.
    pub(crate) fn config() -> crate::Result<ClientConfig> {
        static CONFIG: OnceLock<Result<ClientConfig, rustls::Error>> = OnceLock::new();
        CONFIG
            .get_or_init(build)
            .clone()
            .map_err(|e| crate::Error::connect("cannot set up TLS", e))
    }

    fn build() -> Result<ClientConfig, rustls::Error> {
        let provider = provider();
        let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))?;
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_outside_a_runtime_have_none_and_inside_one_have_its_id() {
        let outside = Settings::current(Duration::from_secs(1), Duration::from_secs(2));
        assert_eq!(outside.runtime, None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let inside = rt
            .block_on(async { Settings::current(Duration::from_secs(1), Duration::from_secs(2)) });
        assert_eq!(inside.runtime, Some(rt.handle().id()));
        assert_ne!(inside, outside);
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_serving_after_it_starts_over() {
        // Distinct timeouts no other test uses, so the count below is this test's doing.
        for i in 0..(MAX_SHARED as u64 + 5) {
            let settings = Settings {
                connect_timeout: Duration::from_millis(7_000_000 + i),
                timeout: Duration::from_secs(1),
                runtime: None,
            };
            client(settings).unwrap();
            assert!(cached() <= MAX_SHARED);
        }
    }

    #[cfg(any(feature = "rustls", feature = "rustls-aws-lc"))]
    #[test]
    fn the_tls_config_offers_h2_and_http1_on_the_chosen_provider() {
        let config = tls::config().unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let suites = &config.crypto_provider().cipher_suites;
        assert!(!suites.is_empty());
    }
}
