//! TLS set-up that stays out of the rest of the process.
//!
//! pats builds its own rustls configuration and hands it to reqwest, so it never installs
//! a process-wide rustls `CryptoProvider`: building and using pats clients leaves
//! `rustls::crypto::CryptoProvider::get_default()` as the application found it. If the
//! application installed a provider before pats's first request, pats uses that one.
//!
//! With the `rustls` or `rustls-aws-lc` feature, pats enables reqwest's
//! `rustls-no-provider`. Cargo unifies features, so an application that builds its own
//! `reqwest::Client` and gives reqwest no provider feature of its own (`rustls`) gets
//! reqwest's panic "No rustls crypto provider is configured". Such an application either
//! enables reqwest's `rustls` feature or calls [`install_default_crypto_provider`] once
//! at start-up.

/// Installs the provider that pats's TLS feature selects (aws-lc with `rustls-aws-lc`,
/// else *ring*) as the process-wide rustls default, for an application whose own rustls
/// or reqwest clients need one. pats itself never needs this.
///
/// Returns `true` if it was installed, `false` if a default was already installed (that
/// one stays, and pats uses it too).
///
/// ```
/// // At the start of `main`, before building any `reqwest::Client` of your own:
/// pats_core::tls::install_default_crypto_provider();
/// assert!(rustls::crypto::CryptoProvider::get_default().is_some());
/// ```
#[cfg(any(feature = "rustls", feature = "rustls-aws-lc"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "rustls-aws-lc"))))]
pub fn install_default_crypto_provider() -> bool {
    crate::shared_http::tls::ours().install_default().is_ok()
}
