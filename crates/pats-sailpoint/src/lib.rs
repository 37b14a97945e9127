//! SailPoint Identity Security Cloud personal access tokens for `pats`.
//!
//! - [`SailPointClient`]: tenant base URL, [`Auth`] (OAuth2 client credentials, cached and
//!   refreshed, or a static bearer token), an [`ApiVersion`] (v3 by default, beta, v2024,
//!   v2025, v2026, V1 at `/personal-access-tokens/v1`) and the core `ClientOptions`;
//!   [`SailPointClient::from_env`] reads `SAIL_BASE_URL`, `SAIL_CLIENT_ID`,
//!   `SAIL_CLIENT_SECRET`.
//! - Every operation, typed: [`create_token`](SailPointClient::create_token) ([`NewToken`]),
//!   [`list_tokens`](SailPointClient::list_tokens) ([`ListTokens`], [`TokenFilter`]),
//!   [`patch_token`](SailPointClient::patch_token) ([`TokenPatch`]) or
//!   [`patch_token_raw`](SailPointClient::patch_token_raw) (`json_patch::Patch`),
//!   [`delete_token`](SailPointClient::delete_token). SailPoint has no get-by-id:
//!   [`get_token`](SailPointClient::get_token) lists and selects.
//! - SailPoint does not page the listing (its API description gives list-personal-access-tokens
//!   only `owner-id` and `filters`, on every version): the whole listing comes in one answer,
//!   and so does the listing behind `get`. It must fit the response-size cap, by default the
//!   [`ClientOptions`](pats_core::ClientOptions) body cap (4 MiB, some thousands of tokens);
//!   a larger tenant raises it for listings alone with
//!   [`SailPointClientBuilder::list_response_limit`], and a listing over it fails with
//!   [`Decode`](pats_core::ErrorKind::Decode) naming that setting.
//! - Checked before anything is sent ([`InvalidInput`](pats_core::ErrorKind::InvalidInput)): an empty name;
//!   `accessTokenValiditySeconds` outside 15..=43200; an expiration in the past or, on
//!   v3/beta/v2024, more than six months ahead; a never-expiring token on a version without
//!   them, or without the acknowledgement; patch paths and values the version does not allow.
//! - Errors: ErrorResponseDto `detailCode` → code, `trackingId` → request id (quote it to
//!   support); 401 `{error}`; 429 `{message}` with `Retry-After`.
//! - [`pats_core::PersonalAccessTokens`] is implemented: rename = `replace /name`, scopes,
//!   never-expiring tokens where the version has them; no activate/deactivate.
//!
//! # Contract
//!
//! What this crate sends and reads comes from SailPoint's own API description,
//! `sailpoint-oss/api-specs`, pinned in `contracts/sailpoint/manifest.json` (commit and
//! SHA-256 of every file under `contracts/sailpoint/upstream/`): the personal-access-token
//! paths of the v3, beta, v2024, v2025 and v2026 roots and of the per-API v1 description,
//! with the schemas and responses they reference. `cargo xtask contracts` extracts their
//! PAT subset into `contracts/sailpoint/openapi.json` (one operation per version, see
//! `xtask/src/contracts/sailpoint.rs`), and `cargo xtask codegen` generates the wire models
//! from it (`src/generated.rs`, with our annotations in `spec/overlay.json`: `secret` is
//! read into a `SecretString`, never into a model). [`OPERATIONS`] lists the operations;
//! a test checks it against the subset both ways.
//!
//! - `X-SailPoint-Experimental: true` goes exactly on the operations the description marks
//!   `x-sailpoint-experimental`: none of the PAT operations, on any version.
//! - Every version's token reads into one model, [`GetPersonalAccessTokenResponse`] (the
//!   v2025 schema, whose fields cover the other versions'; a test checks it).
//! - Date-times are sent as the description documents them: UTC with exactly three
//!   fractional digits (`lastUsed le 2023-02-05T10:59:27.214Z`).
//! - `/oauth/token` appears in the description only as the OAuth2 `tokenUrl`; its request
//!   and answers follow RFC 6749 (listed in `contracts/deviations.json` with every other
//!   deliberate difference).
//! - V1's bulk update (`PATCH /personal-access-tokens/v1/bulk-update`, vendored from
//!   SailPoint's developer site until `api-specs` has it) is in the contract, and
//!   `pats-sim` serves it for other SDKs; this client does not send it: it changes one
//!   token at a time.
//!
//! To move to a newer upstream: copy the changed files from the new commit into
//! `contracts/sailpoint/upstream/` (same paths), update their commit and SHA-256 in the
//! manifest, run `cargo xtask codegen` (which runs `cargo xtask contracts` first) and
//! commit `openapi.json` and `generated.rs`; `cargo xtask codegen --check` fails while
//! either is stale.
//!
//! # Example
//!
//! ```no_run
//! use pats_core::{ListQuery, PersonalAccessTokens};
//! use pats_sailpoint::SailPointClient;
//!
//! # async fn run() -> pats_core::Result<()> {
//! // SAIL_BASE_URL=https://acme.api.identitynow.com SAIL_CLIENT_ID=... SAIL_CLIENT_SECRET=...
//! let client = SailPointClient::from_env()?;
//! for token in client.list(&ListQuery::new()).await?.items {
//!     println!("{} {:?} expires {:?}", token.id, token.name, token.expires);
//! }
//! # Ok(()) }
//! ```
//!
//! # Testing
//!
//! Against the loopback simulator of `pats-sim` (a dev-dependency):
//!
//! ```
//! use pats_core::{CreateToken, Expiry, PersonalAccessTokens, ListQuery};
//! use pats_sailpoint::{ApiVersion, SailPointClient};
//! use pats_sim::sailpoint::SailPointSim;
//! use secrecy::SecretString;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = SailPointSim::start().await;
//! let client = SailPointClient::builder()
//!     .base_url(sim.uri())
//!     .client_credentials(SailPointSim::CLIENT_ID, SecretString::from(SailPointSim::CLIENT_SECRET))
//!     .api_version(ApiVersion::V2025)
//!     .build()?;
//! let request = CreateToken::builder()
//!     .name("ci")
//!     .expiry(Expiry::In(Duration::from_secs(30 * 24 * 3600)))
//!     .build()?;
//! let created = client.create(&request).await?;
//! // `created.secret` is shown only this once; `created.info.id` is its client id.
//! let renamed = client.rename(&created.info.id, "ci-deploy").await?;
//! assert_eq!(renamed.name.as_deref(), Some("ci-deploy"));
//! assert_eq!(client.list(&ListQuery::new()).await?.items.len(), 1);
//! client.revoke(&created.info.id).await?;
//! # Ok(())
//! # }
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

// Without a TLS backend every https call would fail at run time: refuse to build instead.
#[cfg(not(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls")))]
compile_error!(
    "pats-sailpoint has no TLS backend and could not reach SailPoint over https: enable the cargo \
     feature `rustls` (the default), `rustls-aws-lc` or `native-tls` of pats-sailpoint, or of the facade: \
     pats = { default-features = false, features = [\"sailpoint\", \"rustls\"] }"
);

mod auth;
mod client;
mod config;
mod error;
mod filter;
// Formatted by `cargo xtask codegen` (prettyplease), not by rustfmt.
#[rustfmt::skip]
mod generated;
mod operations;
mod patch;
mod provider;
mod version;

pub use auth::Auth;
pub use client::{
    CreatedPat, ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, MAX_ACCESS_TOKEN_VALIDITY_SECONDS,
    MIN_ACCESS_TOKEN_VALIDITY_SECONDS, NewToken, PROVIDER, SailPointClient, SailPointClientBuilder,
    TokenExpiration,
};
pub use config::SailPointConfig;
pub use filter::{ListTokens, TokenFilter};
pub use operations::{OPERATIONS, OperationInfo, PatOperation};
// The wire models the typed calls return; the rest of the generated module is private.
// Every version's token decodes into the v2025 model: its fields are a superset of the
// other versions' and none is stricter (a unit test checks that against the contract).
pub use generated::GetPersonalAccessTokenResponseV2025 as GetPersonalAccessTokenResponse;
pub use generated::{PatOwner, PatOwnerType};
pub use patch::{TokenPatch, validate_patch};
pub use version::{
    ApiVersion, PATH_EXPIRATION_DATE, PATH_NAME, PATH_NEVER_EXPIRES, PATH_SCOPE, six_months_after,
};

pub use json_patch;
