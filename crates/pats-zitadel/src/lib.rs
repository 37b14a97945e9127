//! ZITADEL personal access tokens for `pats`: the v2 user service (Connect JSON, the
//! default) and the v1 management REST API, organization scoping with `x-zitadel-orgid`,
//! and authentication with a machine user's PAT or a JWT-profile key file.
//!
//! - [`ZitadelClient`] implements [`pats_core::PersonalAccessTokens`] (owner = machine user
//!   id) and offers the typed calls of both APIs through [`ZitadelClient::v2`] and
//!   [`ZitadelClient::v1`].
//! - [`ZitadelClient::in_org`] gives a handle for another organization (same credentials,
//!   same token cache).
//! - With a key file ([`ZitadelAuth::key_file_json`]), the client signs an RS256 assertion
//!   and exchanges it at `/oauth/v2/token` (RFC 7523); with a machine user's client secret
//!   ([`ZitadelAuth::client_credentials`]) it logs in there with the client-credentials grant
//!   (RFC 6749 §4.4, HTTP Basic or form). The access token is cached and refreshed before it
//!   expires, with one exchange however many calls run at once.
//! - A token's name is the username of its machine user (one machine user per purpose);
//!   reading names costs one v2 `ListUsers` call per page, creating by name one lookup.
//!   Tokens have no scopes. See the trait implementation's docs.
//! - Errors of both formats (REST numeric `code`, Connect string `code`) map to the core
//!   kinds by their gRPC code; the error id of `details[]` is kept in `ApiError::code`.
//!
//! # Where the wire contract comes from
//!
//! The wire models (`generated.rs`) and the paths, methods and bodies the client sends
//! follow ZITADEL's own protobuf descriptions, pinned in the repository under
//! `contracts/zitadel/`: `upstream/` holds the protos of the user service v2 and the
//! management API v1 that define the PAT calls (`pat.proto`, `filter/v2/filter.proto`,
//! `object.proto` whole; `user_service.proto`, `management.proto`, `user.proto` as verbatim
//! excerpts), `manifest.json` their commits and SHA-256. `cargo xtask contracts` turns them
//! into `contracts/zitadel/openapi.json` (Connect operations for v2, the `google.api.http`
//! REST rules for v1, messages as strict proto3 JSON), and `cargo xtask codegen` generates
//! the models from it with this crate's `spec/overlay.json` (codegen annotations; the token
//! secret, client secret and access token are removed and read into `SecretString`s by
//! hand). Discovery, `/oauth/v2/token` and the error bodies are not in the protos: they are
//! described from OpenID Connect Discovery, RFC 6749 / 7523 and the Connect and
//! grpc-gateway formats, and listed in `contracts/deviations.json`.
//!
//! To update: copy the new upstream text into `contracts/zitadel/upstream/` (the same
//! blocks for the excerpts), put the commits and hashes into the manifest, run
//! `cargo xtask contracts` and `cargo xtask codegen`, then the tests; the test `contract`
//! checks every request the client sends against the new description.
//!
//! # Example
//!
//! ```no_run
//! use pats_core::{ListQuery, PersonalAccessTokens};
//! use pats_zitadel::ZitadelClient;
//!
//! # async fn run() -> pats_core::Result<()> {
//! // ZITADEL_URL=https://acme.zitadel.cloud ZITADEL_KEY_FILE=key.json ZITADEL_USER_ID=...
//! let client = ZitadelClient::from_env()?;
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
//! use pats_core::{CreateToken, Expiry, ListQuery, PersonalAccessTokens, PersonalAccessTokensExt};
//! use pats_sim::zitadel::ZitadelSim;
//! use pats_zitadel::{ZitadelAuth, ZitadelClient};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> pats_core::Result<()> {
//! let sim = ZitadelSim::start().await;
//! // One machine user per purpose: its username is the name of its tokens.
//! sim.add_named_machine_user(ZitadelSim::DEFAULT_ORG, "300000000000000001", "ci-deploy");
//!
//! let client = ZitadelClient::builder().base_url(sim.uri())
//!     .auth(ZitadelAuth::pat(sim.admin_pat().into()))
//!     .build()?;
//! let created = client
//!     .create(
//!         &CreateToken::builder()
//!             .name("ci-deploy")
//!             .expiry(Expiry::In(Duration::from_secs(30 * 24 * 3600)))
//!             .build()?,
//!     )
//!     .await?;
//! assert_eq!(created.info.name.as_deref(), Some("ci-deploy"));
//! let found = client.find_by_name("ci-deploy", &ListQuery::new()).await?;
//! assert_eq!(found.len(), 1);
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
    "pats-zitadel has no TLS backend and could not reach ZITADEL over https: enable the cargo \
     feature `rustls` (the default), `rustls-aws-lc` or `native-tls` of pats-zitadel, or of the facade: \
     pats = { default-features = false, features = [\"zitadel\", \"rustls\"] }"
);

mod auth;
mod client;
mod config;
mod error;
// Formatted by `cargo xtask codegen` (prettyplease), not by rustfmt.
#[rustfmt::skip]
mod generated;
mod pats;
mod rs256;

pub use auth::{
    ClientAuthMethod, ClientCredentials, ClientCredentialsFetcher, JwtProfileFetcher, KeyFile,
    ZitadelAuth,
};
pub use client::{
    AddedPatDetails, ApiVersion, CreatedPat, DEFAULT_PAGE_SIZE, ListPatsRequest, MAX_PAGE_SIZE,
    ManagementV1, NEVER_EXPIRES_AT, ORG_HEADER, PROVIDER, PatFilter, TokenExpiration,
    UserServiceV2, ZitadelClient, ZitadelClientBuilder,
};
pub use config::ZitadelConfig;
pub use error::GrpcCode;
// The wire models the typed calls return or take; the rest of the generated module is
// private. Their names are the vendor's (see `contracts/zitadel`); the short names below
// are the ones this crate has always exported.
pub use generated::{
    FilterV2PaginationResponse as V2PaginationResponse,
    FilterV2TimestampFilterMethod as V2TimestampFilterMethod,
    ManagementV1ListPersonalAccessTokensResponse as V1ListPatsResponse,
    ManagementV1RemovePersonalAccessTokenResponse as V1RemovePatResponse,
    UserV1PersonalAccessToken as V1Pat,
    UserV2ListPersonalAccessTokensResponse as V2ListPatsResponse,
    UserV2ListUsersRequest as V2ListUsersRequest, UserV2ListUsersResponse as V2ListUsersResponse,
    UserV2MachineUser as V2MachineUser, UserV2PersonalAccessToken as V2Pat,
    UserV2PersonalAccessTokenFieldName as V2PatFieldName,
    UserV2RemovePersonalAccessTokenResponse as V2RemovePatResponse, UserV2User as V2User,
    V1ListDetails as ListDetails, V1ObjectDetails as ObjectDetails,
};
pub use pats::expiration_of;
