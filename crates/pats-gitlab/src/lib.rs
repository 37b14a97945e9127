//! GitLab personal access tokens for `pats`.
//!
//! - [`GitLabClient`]: an instance's base URL (default [`DEFAULT_BASE_URL`],
//!   `https://gitlab.com`), an access token sent as `Authorization: Bearer`, and the core
//!   `ClientOptions` (timeouts, retries, body cap); [`GitLabClient::from_env`] reads
//!   `GITLAB_TOKEN` (required) and `GITLAB_BASE_URL` (optional), and [`GitLabConfig`]
//!   holds the same settings for a file or code (with `GITLAB_USER_ID` and
//!   `GITLAB_SCOPES`: the user and scopes of provider-neutral calls that name none).
//! - Every personal access token operation of GitLab's REST API v4, typed:
//!   [`list_tokens`](GitLabClient::list_tokens) ([`ListTokens`]: every documented filter,
//!   `page`/`per_page`; [`TokenListPage`] reads `X-Next-Page`, `X-Total`, `X-Total-Pages`,
//!   or the `Link` header), [`get_token`](GitLabClient::get_token) and
//!   [`get_self`](GitLabClient::get_self), [`create_token`](GitLabClient::create_token)
//!   for a user (administrators) or for oneself ([`TokenFor`], [`NewToken`]),
//!   [`rotate_token`](GitLabClient::rotate_token) and
//!   [`rotate_self`](GitLabClient::rotate_self), [`revoke_token`](GitLabClient::revoke_token)
//!   and [`revoke_self`](GitLabClient::revoke_self).
//! - Rotation is GitLab's own: one `POST …/rotate` after which the server has revoked the
//!   old token and returned a new one (same name and scopes). It is never retried.
//!   [`pats_core::PersonalAccessTokens`] is implemented with
//!   [`Capabilities::native_rotate`](pats_core::Capabilities::native_rotate), so
//!   `PersonalAccessTokensExt::rotate` uses it (there is no overlap in which both tokens
//!   work).
//! - Checked before anything is sent ([`InvalidInput`](pats_core::ErrorKind::InvalidInput)):
//!   an empty name, no scope or an empty one, a description over 255 characters, an
//!   expiry date in the past, ids of 0, `per_page` outside 1..=100, a page of 0. Expiries
//!   are typed dates (`time::Date`), sent as `YYYY-MM-DD`.
//! - Errors: `{"message": "…"}`, `{"message": {"field": ["…"]}}` (validation) and
//!   `{"error": "…"}` become the message of a [`pats_core::Error`] whose kind follows the
//!   status; a 429 keeps `Retry-After`, which reads honour and creates and rotations never
//!   retry. Token values (`glpat-…`) are scrubbed from every message.
//!
//! - Project access tokens, typed calls only (they belong to a bot user with a role in the
//!   project, not to a person, so they are not in the neutral trait's view):
//!   [`list_project_tokens`](GitLabClient::list_project_tokens),
//!   [`get_project_token`](GitLabClient::get_project_token),
//!   [`create_project_token`](GitLabClient::create_project_token) ([`NewProjectToken`],
//!   [`AccessLevel`]), [`rotate_project_token`](GitLabClient::rotate_project_token) and
//!   [`rotate_project_token_self`](GitLabClient::rotate_project_token_self),
//!   [`revoke_project_token`](GitLabClient::revoke_project_token). A project is its id or
//!   its full path (sent URL-encoded).
//!
//! - Group access tokens, typed calls only, the same way:
//!   [`list_group_tokens`](GitLabClient::list_group_tokens) (GitLab documents `state` and
//!   pages for it; other filters are refused before sending),
//!   [`get_group_token`](GitLabClient::get_group_token),
//!   [`create_group_token`](GitLabClient::create_group_token) ([`NewGroupToken`]; without a
//!   date GitLab gives the maximum lifetime),
//!   [`rotate_group_token`](GitLabClient::rotate_group_token) and
//!   [`rotate_group_token_self`](GitLabClient::rotate_group_token_self),
//!   [`revoke_group_token`](GitLabClient::revoke_group_token).
//!
//! # Contract
//!
//! What this crate sends and reads comes from GitLab's REST API documentation
//! (`doc/api/personal_access_tokens.md`, `doc/api/user_tokens.md` and
//! `doc/api/project_access_tokens.md` and `doc/api/group_access_tokens.md` of the GitLab
//! repository, vendored at pinned commits under `contracts/gitlab/upstream/`), written down
//! as an OpenAPI fragment that `cargo xtask contracts` checks against the pages in both
//! directions and turns into `contracts/gitlab/openapi.json`; `cargo xtask codegen`
//! generates the wire models and the operations from it (`src/generated.rs`; `token` is
//! read into a `SecretString`, never into a model). Every rule that does not come from
//! those pages is listed in `contracts/deviations.json`.
//!
//! # Example
//!
//! ```no_run
//! use pats_gitlab::{GitLabClient, ListTokens, TokenState};
//!
//! # async fn run() -> pats_core::Result<()> {
//! // GITLAB_TOKEN=glpat-... (GITLAB_BASE_URL=https://gitlab.example.com)
//! let client = GitLabClient::from_env()?;
//! let page = client.list_tokens(&ListTokens::new().state(TokenState::Active)).await?;
//! for token in &page.tokens {
//!     println!("{} {} expires {:?}", token.id, token.name, token.expires_at);
//! }
//! let rotated = client.rotate_token(page.tokens[0].id as u64, None).await?;
//! // `rotated.token` is the new value, shown only this once; the old token is revoked.
//! # let _ = rotated; Ok(()) }
//! ```
//!
//! # Testing
//!
//! Against the loopback simulator of `pats-sim` (feature `gitlab`, a dev-dependency):
//!
//! ```
//! use pats_gitlab::{GitLabClient, NewToken, TokenFor};
//! use pats_sim::gitlab::GitLabSim;
//! use secrecy::SecretString;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = GitLabSim::start().await;
//! let admin = sim.seed_user("root", true);
//! let alice = sim.seed_user("alice", false);
//! let admin_token = sim.seed_token(admin, "admin", &["api"]);
//! let client = GitLabClient::builder()
//!     .base_url(sim.uri())
//!     .token(SecretString::from(admin_token))
//!     .build()?;
//! let created = client
//!     .create_token(TokenFor::User(alice), &NewToken::new("ci", ["read_api"]))
//!     .await?;
//! let rotated = client.rotate_token(created.pat.id as u64, None).await?;
//! assert!(client.get_token(created.pat.id as u64).await?.revoked);
//! assert!(rotated.pat.active);
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
    "pats-gitlab has no TLS backend and could not reach GitLab over https: enable the cargo \
     feature `rustls` (the default), `rustls-aws-lc` or `native-tls` of pats-gitlab"
);

mod client;
mod config;
mod error;
// Formatted by `cargo xtask codegen` (prettyplease), not by rustfmt.
#[rustfmt::skip]
mod generated;
mod group;
mod list;
mod project;
mod provider;

pub use client::{
    DEFAULT_BASE_URL, ENV_BASE_URL, ENV_TOKEN, GitLabClient, GitLabClientBuilder,
    MAX_DESCRIPTION_CHARS, NewPat, NewToken, PROVIDER, TokenFor,
};
pub use config::{ENV_SCOPES, ENV_USER_ID, GitLabConfig};
// The wire model the typed calls return; the rest of the generated module is private.
pub use generated::{PersonalAccessToken, ResourceAccessToken};
pub use group::NewGroupToken;
pub use list::{ListTokens, MAX_PER_PAGE, TokenListPage, TokenSort, TokenState};
pub use project::{AccessLevel, NewProjectPat, NewProjectToken};
pub use provider::SELF_ID;

/// The operations of the contract (method, path template, idempotency), generated from
/// `contracts/gitlab/openapi.json`: the only requests the client sends.
pub mod operations {
    pub use crate::generated::operations::*;
}
