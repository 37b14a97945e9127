//! Core of `pats`: one API for Personal Access Tokens across identity providers.
//!
//! This crate holds what every provider shares:
//! - the [`PersonalAccessTokens`] trait (object-safe; `find_by_name` is a provided method a
//!   provider may answer its own way) and its helpers in [`PersonalAccessTokensExt`]
//!   (`list_all`, `expiring_within`, `audit_expiry`, `rotate`);
//! - [`Capabilities`]: what a provider (as configured) supports and how it differs, with
//!   [`Capabilities::check_create`], the refusals every client applies before sending;
//! - the domain types ([`TokenId`], [`TokenInfo`], [`CreateToken`], [`Expiry`],
//!   [`CreatedToken`], ...);
//! - one [`Error`] type whose kinds mean the same for every provider;
//! - the HTTP [`Transport`] (base URL checks, timeouts, body cap, tracing), the
//!   [`RetryPolicy`], and bearer-token [`credentials`];
//! - [`files::read_to_string`], the bounded reader of the secret, key and config files
//!   settings point at (regular files of at most 64 KiB, never blocking on a FIFO).
//!
//! Users normally depend on the `pats` facade crate, which re-exports all of this together
//! with the provider clients.
//!
//! TLS comes from the feature `rustls` (default: rustls on *ring*), `rustls-aws-lc` (rustls
//! on aws-lc, a C build) or `native-tls` (the system's stack; wins if enabled with a rustls
//! one). Without any, the HTTP client pats builds reaches only plain-http loopback URLs; the
//! provider crates (and so the facade with a provider) refuse to compile without one.
//!
//! pats never installs a process-wide rustls `CryptoProvider`; see [`tls`].
//!
//! The `reqwest::Client` pats builds is shared per process and tokio runtime by all clients
//! with the same timeouts (see [`ClientOptions::http_client`]): constructing a client costs
//! no TLS set-up, and clients of one base URL share their connections.
//!
//! ```
//! use pats_core::{CreateToken, Expiry, PersonalAccessTokens, PersonalAccessTokensExt, TokenId};
//! use std::time::Duration;
//!
//! async fn rotate_weekly(pats: &dyn PersonalAccessTokens, old: &TokenId) -> pats_core::Result<()> {
//!     let request = CreateToken::builder()
//!         .name("deploy-bot")
//!         .expiry(Expiry::In(Duration::from_secs(7 * 24 * 3600)))
//!         .build()?;
//!     let pending = pats.rotate(old, &request).await?;
//!     // Store the new secret first (`pending.secret()`): it is shown only once, and the
//!     // old token stays valid until `finish` revokes it.
//!     let rotation = pending.finish(pats).await;
//!     rotation.revoked?;
//!     Ok(())
//! }
//! ```
//!
//! # Features
//!
#![cfg_attr(feature = "document-features", doc = document_features::document_features!())]
#![cfg_attr(
    not(feature = "document-features"),
    doc = "Listed, with what each does, in this crate's `Cargo.toml` (and here on docs.rs)."
)]
// docs.rs (nightly, `--cfg docsrs`): mark feature-gated items with the feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api;
mod capabilities;
pub mod credentials;
mod env;
mod error;
pub mod files;
mod pages;
mod redact;
mod retry;
mod shared_http;
pub mod tls;
mod transport;
mod types;
mod wire;

pub use api::{PendingRotation, PersonalAccessTokens, PersonalAccessTokensExt, Renamed, Rotation};
pub use capabilities::{
    Capabilities, DefaultLifetime, ExpiryAudit, GetSupport, ListFilters, Naming, Reported,
};
pub use error::{ApiError, BoxError, Error, ErrorKind, Result};
pub use pages::Pages;
pub use retry::RetryPolicy;
/// Test seams: a clock the retry loop waits on, and one that does not wait.
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub use retry::{BoxFuture, Clock, TokioClock, VirtualClock};
pub use transport::{
    AttemptContext, ClientOptions, Operation, Request, RequestHook, Response, Transport, USER_AGENT,
};
pub use types::{
    CreateToken, CreateTokenBuilder, CreatedToken, Details, Expiration, Expiry, ListLimits,
    ListQuery, MAX_TOKEN_ID_LEN, NeverExpires, NoExpiry, Owner, PageToken, ProviderDetails,
    TokenId, TokenInfo, TokenPage,
};

/// What the provider crates of this workspace share and users do not need: wire-format
/// helpers for the generated models, secret scrubbing, base URL checks and the retry loop.
///
/// **Not part of the public API**: anything here may change or go away in any release,
/// without a semver bump. Use the items at the crate root instead.
#[doc(hidden)]
pub mod __private {
    /// Serde helpers for provider wire formats (see the generated models).
    pub mod wire {
        pub use crate::wire::*;
    }
    /// Scrubbing secrets out of text that ends up in errors and logs.
    pub mod redact {
        pub use crate::redact::*;
    }
    /// The HTTP transport's building blocks.
    pub mod transport {
        pub use crate::transport::*;
    }
    /// The retry loop and `Retry-After` parsing.
    pub mod retry {
        pub use crate::retry::*;
    }
    /// Each provider's environment variables, read for the facade and the clients alike.
    pub mod env {
        pub use crate::env::*;
    }
}

/// The builder shortcuts into `ClientOptions` that every provider client builder has
/// (`timeout`, `retry`, `http_client`), written once. The builder must have an `options:
/// ClientOptions` field; the attributes given (e.g. `#[must_use]`) go on each method.
#[doc(hidden)]
#[macro_export]
macro_rules! __client_options_shortcuts {
    ($(#[$attr:meta])*) => {
        /// The per-attempt timeout (a shortcut into [`options`](Self::options)).
        $(#[$attr])*
        pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.options = self.options.with_timeout(timeout);
            self
        }

        /// The retry policy of idempotent requests (reads, updates, deletion; a create is
        /// never retried), a shortcut into [`options`](Self::options).
        $(#[$attr])*
        pub fn retry(mut self, retry: $crate::RetryPolicy) -> Self {
            self.options = self.options.with_retry(retry);
            self
        }

        /// Your own `reqwest::Client` (proxies, custom roots), a shortcut into
        /// [`options`](Self::options).
        $(#[$attr])*
        pub fn http_client(mut self, client: $crate::reexports::reqwest::Client) -> Self {
            self.options = self.options.with_http_client(client);
            self
        }
    };
}

/// Re-exports of crates that appear in this crate's API.
pub mod reexports {
    pub use async_trait::async_trait;
    pub use bytes;
    pub use futures_core;
    pub use reqwest;
    pub use secrecy;
    pub use time;
    pub use url;
}
