//! # pats: Personal Access Tokens on every provider, with one API
//!
//! Add one dependency, pick providers with cargo features, and write the same code for
//! all of them against [`PersonalAccessTokens`]:
//!
//! ```toml
//! [dependencies]
//! pats = { version = "0.1", default-features = false, features = ["sailpoint", "rustls"] }
//! ```
//!
//! With `default-features = false`, name a TLS backend as well: `rustls` (in the defaults),
//! `rustls-aws-lc` or `native-tls` (see [Features](#features)). Every provider talks https,
//! so a provider feature without one is a compile error that says so, rather than a client
//! whose every call fails.
//!
//! Connect to the provider the environment names (see [`config`] for the variables, a
//! configuration file, or building a [`Config`] in code):
//!
//! ```no_run
//! use pats::{CreateToken, Expiry, PersonalAccessTokensExt};
//! use std::time::Duration;
//!
//! # async fn run() -> pats::Result<()> {
//! // PATS_PROVIDER=sailpoint SAIL_BASE_URL=... SAIL_CLIENT_ID=... SAIL_CLIENT_SECRET=...
//! let tokens = pats::from_env()?;
//! let created = tokens
//!     .create(
//!         &CreateToken::builder()
//!             .name("ci-deploy")
//!             .expiry(Expiry::In(Duration::from_secs(7 * 24 * 3600)))
//!             .build()?,
//!     )
//!     .await?;
//! println!("created {} on {}", created.info.id, tokens.provider());
//! let expiring = tokens
//!     .expiring_within(Duration::from_secs(14 * 24 * 3600), &Default::default())
//!     .await?;
//! println!("{} tokens expire within two weeks", expiring.len());
//! # Ok(()) }
//! ```
//!
//! Switching to ZITADEL, Dfns or GitLab changes only the feature and the configuration
//! (`PATS_PROVIDER=zitadel` and its variables, see [`config`]); the code stays the same.
//! GitLab needs the user and scopes of the tokens it makes when the code names none:
//! `GITLAB_USER_ID` and `GITLAB_SCOPES` (see [`config`]); without default scopes,
//! [`Capabilities::requires_scopes`] says a create must name them.
//!
//! # Portable code
//!
//! Where providers differ, [`PersonalAccessTokens::capabilities`] says so before anything
//! is sent, and [`Capabilities::check_create`] refuses exactly what `create` would:
//!
//! - **Names** mean one thing everywhere: the name given to `create` is the name a token
//!   shows and [`find_by_name`](PersonalAccessTokens::find_by_name) finds. On Dfns and
//!   SailPoint each token keeps its own ([`Naming::PerToken`]; unique per owner on
//!   SailPoint, which [`rotate`](PersonalAccessTokensExt::rotate) handles); on ZITADEL a
//!   token's name is its machine user's username ([`Naming::Owner`]: one machine user per
//!   purpose), so creating `ci-deploy` makes a token for the machine user `ci-deploy`.
//! - **Lifetimes**: `Expiry::In(..)` works everywhere up to [`Capabilities::max_lifetime`]
//!   ([`Capabilities::fit_lifetime`] shortens to it); `Expiry::ProviderDefault` is refused
//!   where the provider's default is a token that never expires
//!   ([`DefaultLifetime::Refused`]).
//! - **Expiry and last use** are reported per [`Reported`]: Dfns says when a token expires
//!   only when creating it, so an audit lists its tokens as not judgeable
//!   ([`PersonalAccessTokensExt::audit_expiry`]) rather than leaving them out.
//! - **Rotation**: [`rotate`](PersonalAccessTokensExt::rotate) creates the new token and
//!   leaves the old one valid until [`PendingRotation::finish`], except where the provider
//!   rotates in one call ([`Capabilities::native_rotate`], GitLab): there the server has
//!   already revoked the old token when `rotate` returns, so the new secret must be stored
//!   before anything else ([`PendingRotation::old_revoked`] says so; `undo` is refused).
//!
//! `cargo run -p pats --example portable` runs three such programs unchanged on every
//! provider; an operation a provider does not offer returns
//! [`Unsupported`](crate::ErrorKind::Unsupported).
//!
//! When you need a provider's own surface, its typed client is re-exported:
//! [`dfns`] (feature `dfns`), [`zitadel`] (feature `zitadel`), [`sailpoint`] (feature
//! `sailpoint`), [`gitlab`] (feature `gitlab`). Everything from `pats-core` is re-exported
//! at the root.
//!
//! # Testing
//!
//! Code written against `&dyn PersonalAccessTokens` can be tested without an account: the
//! [`pats-sim`](https://docs.rs/pats-sim) crate, as a dev-dependency, serves each
//! provider's API on loopback. Its emulator (`pats_sim::start`) gives the variables a
//! client needs (`Emulator::env`, what `pats sim env` prints), so a test connects through
//! the same [`Config::from_lookup`] path as a real provider; the `quickstart` and
//! `portable` examples do exactly that. For a process any client (the `pats` command, the
//! official SDKs) can reach, with a state file, an admin API and fault injection, run
//! `pats sim serve` or `pats-sim serve` from a shell.
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

pub mod config;

pub use config::Config;
#[cfg(feature = "dfns")]
pub use pats_dfns::DfnsConfig;
#[cfg(feature = "gitlab")]
pub use pats_gitlab::GitLabConfig;
#[cfg(feature = "sailpoint")]
pub use pats_sailpoint::SailPointConfig;
#[cfg(feature = "zitadel")]
pub use pats_zitadel::ZitadelConfig;
// The root is what token code is written against: the trait and its helpers, the domain
// types, the error, the options of `connect_with`. Building blocks are in modules.
pub use pats_core::{
    ApiError, BoxError, Capabilities, ClientOptions, CreateToken, CreateTokenBuilder, CreatedToken,
    DefaultLifetime, Details, Error, ErrorKind, Expiration, Expiry, ExpiryAudit, GetSupport,
    ListFilters, ListLimits, ListQuery, MAX_TOKEN_ID_LEN, Naming, NeverExpires, NoExpiry, Owner,
    PageToken, Pages, PendingRotation, PersonalAccessTokens, PersonalAccessTokensExt,
    ProviderDetails, Renamed, Reported, Result, RetryPolicy, Rotation, TokenId, TokenInfo,
    TokenPage,
};
pub use pats_core::{credentials, files, reexports, tls};

/// The HTTP transport provider clients are built on: for sending requests the typed
/// clients have no method for (`send` on each client) or writing a provider of your own.
pub mod transport {
    pub use pats_core::{
        AttemptContext, Operation, Request, RequestHook, Response, Transport, USER_AGENT,
    };
}

/// Test seams for your own tests (feature `test-util`): a clock for the retry loop that
/// does not wait and records how long it would have.
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util {
    pub use pats_core::{BoxFuture, Clock, TokioClock, VirtualClock};
}

#[doc(hidden)]
pub use pats_core::__private;

/// The Dfns client (`pats-dfns`).
#[cfg(feature = "dfns")]
pub use pats_dfns as dfns;
/// The GitLab client (`pats-gitlab`).
#[cfg(feature = "gitlab")]
pub use pats_gitlab as gitlab;
/// The SailPoint client (`pats-sailpoint`).
#[cfg(feature = "sailpoint")]
pub use pats_sailpoint as sailpoint;
/// The ZITADEL client (`pats-zitadel`).
#[cfg(feature = "zitadel")]
pub use pats_zitadel as zitadel;

/// The providers compiled into this build.
pub const PROVIDERS: &[&str] = &[
    #[cfg(feature = "dfns")]
    "dfns",
    #[cfg(feature = "zitadel")]
    "zitadel",
    #[cfg(feature = "sailpoint")]
    "sailpoint",
    #[cfg(feature = "gitlab")]
    "gitlab",
];

/// Connects to the provider named by the environment (see [`config`]).
pub fn from_env() -> Result<Box<dyn PersonalAccessTokens>> {
    connect(&Config::from_env()?)
}

/// Connects to the provider `config` names, with default [`ClientOptions`].
pub fn connect(config: &Config) -> Result<Box<dyn PersonalAccessTokens>> {
    connect_with(config, ClientOptions::default())
}

/// Connects to the provider `config` names, with `options` (timeouts, retries, your own
/// `reqwest::Client`).
///
/// For the provider's typed client instead, use its `from_config`
/// (`pats::zitadel::ZitadelClientBuilder::from_config(&c)?.options(options).build()`).
pub fn connect_with(
    config: &Config,
    options: ClientOptions,
) -> Result<Box<dyn PersonalAccessTokens>> {
    let _ = &options;
    match *config {
        #[cfg(feature = "dfns")]
        Config::Dfns(ref c) => Ok(Box::new(
            dfns::DfnsClientBuilder::from_config(c)?
                .options(options)
                .build()?,
        )),
        #[cfg(feature = "zitadel")]
        Config::Zitadel(ref c) => Ok(Box::new(
            zitadel::ZitadelClientBuilder::from_config(c)?
                .options(options)
                .build()?,
        )),
        #[cfg(feature = "sailpoint")]
        Config::SailPoint(ref c) => Ok(Box::new(
            sailpoint::SailPointClientBuilder::from_config(c)?
                .options(options)
                .build()?,
        )),
        #[cfg(feature = "gitlab")]
        Config::GitLab(ref c) => Ok(Box::new(
            gitlab::GitLabClientBuilder::from_config(c)?
                .options(options)
                .build()?,
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn field(err: Error) -> String {
        match err.field() {
            Some(field) => field.to_owned(),
            None => panic!("not InvalidInput: {err}"),
        }
    }

    #[test]
    fn errors_name_the_variable_never_its_value() {
        assert_eq!(
            field(Config::from_lookup(lookup(&[])).unwrap_err()),
            "PATS_PROVIDER"
        );
        let err = Config::from_lookup(lookup(&[("PATS_PROVIDER", "okta-secret-ish")])).unwrap_err();
        assert!(!err.to_string().contains("okta-secret-ish"), "{err}");
        assert_eq!(field(err), "PATS_PROVIDER");
    }

    #[cfg(all(feature = "dfns", feature = "zitadel", feature = "sailpoint"))]
    #[test]
    fn provider_errors_name_the_variable_never_its_value() {
        let err = Config::from_lookup(lookup(&[
            ("PATS_PROVIDER", "sailpoint"),
            ("SAIL_BASE_URL", "https://acme.api.identitynow.com"),
            ("SAIL_CLIENT_ID", "id"),
        ]))
        .unwrap_err();
        assert_eq!(field(err), "SAIL_CLIENT_SECRET");
        let err = Config::from_lookup(lookup(&[
            ("PATS_PROVIDER", "dfns"),
            ("DFNS_AUTH_TOKEN", "tok-very-secret"),
            ("DFNS_CRED_ID", "cr-1"),
        ]))
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("tok-very-secret"));
        assert_eq!(field(err), "DFNS_PRIVATE_KEY");
        let err = Config::from_lookup(lookup(&[
            ("PATS_PROVIDER", "zitadel"),
            ("ZITADEL_PAT", "p"),
        ]))
        .unwrap_err();
        assert_eq!(field(err), "ZITADEL_URL");
    }

    #[test]
    fn a_provider_whose_feature_is_off_is_refused_by_name_when_read() {
        let vars = [
            ("PATS_PROVIDER", "Dfns"),
            ("DFNS_AUTH_TOKEN", "tok"),
            ("DFNS_CRED_ID", "cr-1"),
            ("DFNS_PRIVATE_KEY", "not a key"),
        ];
        let from_env = Config::from_lookup(lookup(&vars));
        let from_file = serde_json::from_value::<Config>(serde_json::json!({
            "provider": "dfns", "auth_token": "tok", "credential_id": "cr-1"
        }));
        #[cfg(feature = "dfns")]
        {
            // Enabled: the configuration reaches the Dfns client, which refuses the key.
            let err = connect(&from_env.unwrap()).err().expect("not a key");
            assert_eq!(field(err), "private_key");
            // A file without a key reads, and connecting names the missing setting.
            let err = connect(&from_file.unwrap()).err().expect("no key");
            assert_eq!(err.reason(), Some("is not set (nor private_key_file)"));
            assert_eq!(field(err), "private_key");
        }
        #[cfg(not(feature = "dfns"))]
        {
            let err = from_env.unwrap_err();
            assert!(err.to_string().contains("features = [\"dfns\"]"), "{err}");
            assert_eq!(field(err), "PATS_PROVIDER");
            let err = from_file.unwrap_err().to_string();
            assert!(err.contains("features = [\"dfns\"]"), "{err}");
        }
        let err = serde_json::from_value::<Config>(serde_json::json!({
            "provider": "okta-secret-ish", "base_url": "https://a.example.com"
        }))
        .unwrap_err()
        .to_string();
        assert!(!err.contains("okta-secret-ish"), "{err}");
        assert!(
            err.contains("must be one of `dfns`, `zitadel`, `sailpoint`, `gitlab`"),
            "{err}"
        );
        for (json, said) in [
            (
                serde_json::json!({"base_url": "x"}),
                "missing field `provider`",
            ),
            (
                serde_json::json!({"provider": 3}),
                "`provider` must be a string",
            ),
        ] {
            let err = serde_json::from_value::<Config>(json)
                .unwrap_err()
                .to_string();
            assert!(err.contains(said), "{err}");
        }
    }

    #[cfg(all(feature = "dfns", feature = "zitadel", feature = "sailpoint"))]
    #[test]
    fn each_provider_names_its_secret_and_key_file_settings() {
        for (provider, secrets, files) in [
            (
                "dfns",
                &["auth_token", "private_key"][..],
                &["private_key_file"][..],
            ),
            ("zitadel", &["pat", "client_secret"][..], &["key_file"][..]),
            ("sailpoint", &["client_secret", "access_token"][..], &[][..]),
        ] {
            assert_eq!(Config::secret_fields(provider), Some(secrets), "{provider}");
            assert_eq!(Config::key_file_fields(provider), Some(files), "{provider}");
        }
    }

    #[test]
    fn gitlab_is_read_when_compiled_in_and_named_when_not() {
        let vars = [
            ("PATS_PROVIDER", "gitlab"),
            ("GITLAB_TOKEN", "glpat-facade-s3cret"),
            ("GITLAB_USER_ID", "12"),
        ];
        let read = Config::from_lookup(lookup(&vars));
        #[cfg(feature = "gitlab")]
        {
            let config = read.unwrap();
            assert_eq!(config.provider(), "gitlab");
            assert!(!format!("{config:?}").contains("s3cret"));
            let Config::GitLab(c) = &config else {
                panic!("{config:?}")
            };
            assert_eq!(c.user_id, Some(12));
            assert_eq!(Config::secret_fields("gitlab"), Some(&["token"][..]));
            assert_eq!(Config::key_file_fields("gitlab"), Some(&[][..]));
            let client = connect(&config).unwrap();
            assert_eq!(client.provider(), "gitlab");
            assert!(PROVIDERS.contains(&"gitlab"));
            let err = Config::from_lookup(lookup(&[("PATS_PROVIDER", "gitlab")])).unwrap_err();
            assert_eq!(field(err), "GITLAB_TOKEN");
        }
        #[cfg(not(feature = "gitlab"))]
        {
            let err = read.unwrap_err();
            assert!(err.to_string().contains("features = [\"gitlab\"]"), "{err}");
            assert_eq!(field(err), "PATS_PROVIDER");
            assert!(!PROVIDERS.contains(&"gitlab"));
        }
    }

    #[cfg(feature = "sailpoint")]
    #[test]
    fn env_and_files_give_the_same_config() {
        let from_env = Config::from_lookup(lookup(&[
            ("PATS_PROVIDER", "SailPoint"),
            ("SAIL_BASE_URL", "https://acme.api.identitynow.com"),
            ("SAIL_CLIENT_ID", "cid"),
            ("SAIL_CLIENT_SECRET", "client-secret-value"),
            ("SAIL_API_VERSION", "v2025"),
        ]))
        .unwrap();
        // The tag may come anywhere, in any case.
        let from_json: Config = serde_json::from_value(serde_json::json!({
            "base_url": "https://acme.api.identitynow.com",
            "client_id": "cid",
            "client_secret": "client-secret-value",
            "api_version": "v2025",
            "provider": "SailPoint"
        }))
        .unwrap();
        for c in [&from_env, &from_json] {
            #[allow(irrefutable_let_patterns)]
            let Config::SailPoint(s) = c else {
                panic!("{c:?}")
            };
            assert_eq!(s.client_id.as_deref(), Some("cid"));
            assert_eq!(s.api_version, Some(sailpoint::ApiVersion::V2025));
            assert!(!format!("{c:?}").contains("client-secret-value"));
        }
        assert_eq!(from_env.provider(), "sailpoint");
        assert_eq!(
            Config::secret_fields("sailpoint"),
            Some(SailPointConfig::SECRET_FIELDS)
        );
        assert_eq!(Config::secret_fields("okta"), None);
        assert_eq!(Config::key_file_fields("okta"), None);
        // A provider's own error keeps naming the setting.
        let err = serde_json::from_value::<Config>(serde_json::json!({
            "provider": "sailpoint", "base_url": "https://a.example.com", "api_version": "v4"
        }))
        .unwrap_err()
        .to_string();
        assert!(err.contains("must be one of `v3`"), "{err}");
    }
}

/// The README's Rust examples, compiled as doc tests so they stay true (its first one is
/// `examples/basic.rs`, which a conformance test keeps equal).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The crate README's examples (what crates.io shows), compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
