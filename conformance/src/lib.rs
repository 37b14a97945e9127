//! The cross-provider conformance suite.
//!
//! Every check is written once against `&dyn PersonalAccessTokens` and runs against each
//! provider's simulator through a [`Harness`]. Checks consult
//! [`Capabilities`](pats::Capabilities) instead of knowing providers. A new provider gets
//! the whole suite with one line in `tests/it/conformance.rs`:
//!
//! ```ignore
//! pats_conformance::conformance_suite!(acme, harness::AcmeHarness);
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod checks;
pub mod harness;
pub mod logs;
pub mod portable;
#[path = "../../crates/pats/examples/portable/programs.rs"]
pub mod programs;
pub mod readme;

use async_trait::async_trait;
use pats::{
    ClientOptions, CreateToken, CreatedToken, Expiration, Expiry, PersonalAccessTokens, TokenId,
};
use pats_sim::{FaultRule, Faults};
use std::time::Duration;

/// What a provider stores when no expiry is requested.
///
/// Never "the token never expires": a never-expiring token must be asked for with
/// `Expiry::Never`, so a provider whose default is that refuses `Expiry::ProviderDefault`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultExpiry {
    /// The provider's own default would be a token that never expires, so
    /// `Expiry::ProviderDefault` is refused with `InvalidInput` before anything is sent.
    Refused,
    /// About this long after creation.
    After(Duration),
    /// The provider keeps no expiry the client can see.
    NotReported,
}

/// A provider simulator plus the ways to build clients on it.
#[async_trait]
pub trait Harness: Send + Sync + Sized + 'static {
    /// Starts a fresh simulator with a registered caller.
    async fn start() -> Self;
    /// A client on the simulator, built through the `pats` facade where it can be.
    fn client(&self, options: ClientOptions) -> Box<dyn PersonalAccessTokens>;
    /// The same client pointed at another base URL (a raw loopback fault server).
    fn client_at(&self, base_url: &str, options: ClientOptions) -> Box<dyn PersonalAccessTokens>;
    /// A client whose credentials the simulator refuses.
    fn client_with_bad_credentials(&self) -> Box<dyn PersonalAccessTokens>;
    /// The simulator's fault injection.
    fn faults(&self) -> &Faults;
    /// A create request this provider accepts, named `name` (made usable first, see
    /// [`provide_name`](Self::provide_name)), expiring as `expiry`.
    fn create_request(&self, name: &str, expiry: Expiry) -> CreateToken {
        self.provide_name(name);
        let mut b = CreateToken::builder().name(name).expiry(expiry);
        if let Some(owner) = self.owner() {
            b = b.owner(owner);
        }
        b.build().unwrap()
    }
    /// The owner to create tokens for, where the provider needs one.
    fn owner(&self) -> Option<String> {
        None
    }
    /// A client configured as a portable program would be: no provider-specific request
    /// fields, no default owner (the portable programs name their tokens instead).
    fn portable_client(&self) -> Box<dyn PersonalAccessTokens> {
        self.client(fast_options())
    }
    /// Makes `name` usable as a token name, as the provider's administrator would (on
    /// ZITADEL: a machine user of that username). Nothing to do where any name is usable.
    fn provide_name(&self, name: &str) {
        let _ = name;
    }
    /// Whether the simulator accepts the created token's secret as a credential.
    async fn secret_works(&self, created: &CreatedToken) -> bool;
    /// A well-formed id that names no token.
    fn unknown_id(&self) -> TokenId;
    /// How many create requests reached the simulator.
    async fn creates_received(&self) -> usize;
    /// The expiry the simulator stored for `id`.
    async fn stored_expiry(&self, id: &TokenId) -> Expiration;
    /// What the provider stores when no expiry is requested.
    fn default_expiry(&self) -> DefaultExpiry;
    /// A rule matching the request `revoke` sends.
    fn revoke_rule(&self) -> FaultRule;
    /// A rule matching the request `create` sends (not its signing steps).
    fn create_rule(&self) -> FaultRule;
    /// A rule matching the request `list` sends.
    fn list_rule(&self) -> FaultRule;
    /// The credentials in use, which must never show up in output.
    fn known_secrets(&self) -> Vec<String>;
}

/// Asserts that the revoked token `id` is gone as [`PersonalAccessTokens::get`] sees it:
/// `NotFound`, or, where the provider keeps revoked tokens readable
/// ([`Capabilities::revoked_readable`](pats::Capabilities::revoked_readable), GitLab),
/// found inactive. Returns the error, when there is one.
pub async fn assert_revoked(
    pats: &dyn PersonalAccessTokens,
    id: &TokenId,
    what: &str,
) -> Option<pats::Error> {
    match pats.get(id).await {
        Err(err) => {
            assert_eq!(err.kind(), pats::ErrorKind::NotFound, "{what}: {err}");
            assert!(
                !pats.capabilities().revoked_readable,
                "{what}: the capabilities say a revoked token stays readable, but get answered {err}"
            );
            Some(err)
        }
        Ok(found) => {
            assert!(
                pats.capabilities().revoked_readable && found.active == Some(false),
                "{what}: the revoked token {id} is still there: {found:?}"
            );
            None
        }
    }
}

/// Options for suite clients: short timeouts and exact, fast retries.
pub fn fast_options() -> ClientOptions {
    ClientOptions::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(
            pats::RetryPolicy::default()
                .with_jitter(0.0)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
                .with_max_attempts(4),
        )
}

/// Declares the whole suite for one provider: `conformance_suite!(name, HarnessType);`.
#[macro_export]
macro_rules! conformance_suite {
    ($name:ident, $harness:ty) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_tests!(
                $harness;
                lifecycle,
                expiry_lands_as_stored,
                never_expiring_needs_support,
                rotate_keeps_the_new_secret,
                rotate_undo_keeps_the_old_token,
                unknown_id_is_not_found,
                bad_credentials_are_unauthenticated,
                rate_limits_retry_reads_and_surface_on_create,
                server_error_bursts,
                stalled_server_times_out,
                broken_answers_are_typed_errors,
                raw_transport_faults
            );
            /// The "portable programs" group.
            mod portable {
                #[allow(unused_imports)]
                use super::*;
                $crate::conformance_tests!(
                    $harness;
                    readme_rotate_by_name,
                    ci_token_lifecycle_30_days,
                    expiry_audit_reports_every_token,
                    capabilities_match_behaviour
                );
            }
        }
    };
}

/// One `#[tokio::test]` per check (used by [`conformance_suite!`]).
#[macro_export]
#[doc(hidden)]
macro_rules! conformance_tests {
    ($harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::logs::capture();
                let harness = <$harness as $crate::Harness>::start().await;
                let seen = $crate::checks::$check(&harness).await;
                $crate::logs::assert_no_secret(&harness, &seen);
            }
        )*
    };
}
