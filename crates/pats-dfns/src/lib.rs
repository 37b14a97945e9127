//! Dfns Personal Access Tokens for `pats`, with User Action Signing (ECDSA P-256).
//!
//! [`DfnsClient`] covers every PAT endpoint of Dfns (`/auth/pats`): list, get, create,
//! update (name, external id), activate, deactivate and delete, with typed answers
//! ([`Pat`]; unknown fields are ignored and unknown `kind`s kept). It also
//! implements the provider-neutral [`pats_core::PersonalAccessTokens`].
//!
//! # Where the wire models come from
//!
//! Dfns publishes no OpenAPI description of `/auth/pats`, so the contract is our own
//! OpenAPI fragment (`contracts/dfns/upstream/dfns-pats.openapi.json` in the repository)
//! of facts from what Dfns generates its official SDKs from — `@dfns/sdk`'s generated auth
//! types and client, `dfns-sdk-rust`'s `src/auth` — and the Dfns API reference, each
//! operation and schema naming its source, each SDK file pinned by commit and SHA-256 in
//! `contracts/dfns/manifest.json`. `cargo xtask contracts` extracts the subset
//! (`contracts/dfns/openapi.json`) and `cargo xtask codegen` generates the models of this
//! crate from it, with the vendor's schema names ([`Pat`] is `PersonalAccessToken`);
//! `spec/overlay.json` keeps secrets (the access token, the user action token, the
//! challenge identifier) out of every `Debug` type. Deliberate differences are listed in
//! `contracts/deviations.json`.
//!
//! # User Action Signing
//!
//! Every change is signed: before each attempt the client calls `POST /auth/action/init`
//! with the exact body bytes it will send (serialized once), the method and the path; the
//! [`UserActionSigner`] signs `{"type":"key.get","challenge":…}` with ECDSA P-256 / SHA-256
//! (DER); `POST /auth/action` exchanges the signature for a single-use token, sent as
//! `X-DFNS-USERACTION`. A retried call signs again. Activate, deactivate and delete send no
//! body (the signed payload is `""`); the PUTs say `Content-Length: 0`. The init answer is
//! read in its user-action shape (`supportedCredentialKinds` as `[{kind, factor,
//! requiresSecondFactor}]`), and a key is only used where Dfns accepts one as the first
//! factor. [`P256Signer`] holds a PKCS#8 PEM key in memory;
//! implement [`UserActionSigner`] to keep keys in an HSM or KMS.
//!
//! # Delegated signing
//!
//! Like `@dfns/sdk`'s `DfnsDelegatedApiClient`, every change also comes in two steps, for
//! a challenge signed elsewhere (an end user's passkey, a key in another process or
//! service): `create_pat_init`, `update_pat_init`, `activate_pat_init`,
//! `deactivate_pat_init` and `delete_pat_init` check the input as the one-step call does,
//! send `POST /auth/action/init` for the exact method, path and body, and return a
//! [`PendingChange`] — serde-serializable, holding the [`UserActionChallenge`] and exactly
//! what will be sent, never a key or a token (`Debug` hides the challenge identifier).
//! The matching `*_complete` takes the pending change and a [`SignedAssertion`] (a key
//! signature, or a WebAuthn/Fido2 assertion from [`SignedAssertion::fido2`] or its JSON),
//! checks before sending anything that the change is the one initiated (method, path and
//! body bound by a SHA-256 at init; the body passes the one-step checks) and that the
//! assertion signs this challenge with a credential Dfns allows, then sends
//! `POST /auth/action` and the change with `X-DFNS-USERACTION`. A tampered pending change
//! is [`InvalidInput`](pats_core::ErrorKind::InvalidInput); a mismatched assertion is
//! [`Signing`](pats_core::ErrorKind::Signing). Neither step needs a configured signer.
//!
//! ```
//! use pats_dfns::{DfnsClient, NewPat, P256Signer, PatKeyPair, PendingChange, SignedAssertion};
//! use pats_sim::dfns::DfnsSim;
//! use secrecy::SecretString;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> pats_core::Result<()> {
//! let sim = DfnsSim::start().await;
//! let user = sim.register_user();
//! // The service: holds the auth token, not the user's key.
//! let service = DfnsClient::builder()
//!     .base_url(sim.uri())
//!     .auth_token(SecretString::from(user.auth_token.clone()))
//!     .build()?;
//! let pair = PatKeyPair::generate()?;
//! let pending = service
//!     .create_pat_init(&NewPat::new("ci").public_key_pem(pair.public_key_pem()))
//!     .await?;
//! let to_signer = serde_json::to_string(&pending).expect("serializable");
//!
//! // The signer, elsewhere: signs the challenge with the user's credential.
//! let pending: PendingChange = serde_json::from_str(&to_signer).expect("a pending change");
//! let key = P256Signer::from_pkcs8_pem(
//!     user.credential_id.clone(),
//!     &SecretString::from(user.private_key_pem.clone()),
//! )?;
//! let assertion = SignedAssertion::sign_with(&key, pending.challenge()).await?;
//!
//! // The service again: sends the change.
//! let created = service.create_pat_complete(&pending, &assertion).await?;
//! assert_eq!(created.pat.name, "ci");
//! # Ok(())
//! # }
//! ```
//!
//! # Checked before sending
//!
//! An empty name, `daysValid`/`secondsValid` ≤ 0, a public key that is not an SPKI PEM and
//! a token id that is not `to-` followed by letters, digits and `-` are
//! [`InvalidInput`](pats_core::ErrorKind::InvalidInput); nothing is sent. A signer whose
//! credential id is not among the challenge's `allowCredentials.key` fails with
//! [`Signing`](pats_core::ErrorKind::Signing) before `POST /auth/action`.
//!
//! # The PAT's own key pair
//!
//! A Dfns PAT is registered with a public key. [`NewPat`] either takes yours
//! ([`NewPat::public_key_pem`], for example from [`PatKeyPair::generate`]) or lets the
//! client generate a P-256 pair and hand back the private key (PKCS#8 PEM) in
//! [`CreatedPat::private_key`]. Where PAT creation may wait for a policy approval, generate
//! the pair yourself: a 202 answer carries no token and the generated key would be lost.
//!
//! # Mapping to `PersonalAccessTokens`
//!
//! - `create`: a name is required; the client generates the PAT's P-256 key pair and
//!   returns the private key in [`CreatedToken::private_key`](pats_core::CreatedToken);
//!   `Expiry::In`/`At` become `secondsValid`, `ProviderDefault` leaves Dfns's default, and
//!   `Expiry::Never` is [`Unsupported`](pats_core::ErrorKind::Unsupported) (Dfns PATs expire).
//!   One scope becomes `permissionId`; more than one is `InvalidInput`. An owner other than
//!   the caller is `Unsupported`.
//! - `list` returns one page with everything (no pagination); owner and last-use filters are
//!   `Unsupported`. `revoke` deletes, `rename` updates, `set_active` (de)activates.
//! - [`TokenInfo`](pats_core::TokenInfo): `owner` is `linkedUserId`, `created` is
//!   `dateCreated`, `active` is `isActive`, `scopes` are the assigned permission ids.
//!   `expires` is known only on the token `create` returns: the `exp` claim of its access
//!   token (a JWT; [`CreatedPat::expires`]). Listed and fetched PATs carry no expiry, so
//!   there it is `Unknown` and `Capabilities::expiry` is `Reported::WhenCreated`; an expiry
//!   audit reports Dfns tokens as not judgeable rather than leaving them out.
//! - A 202 (change waiting for a policy approval) is
//!   [`Error::PendingApproval`](pats_core::ErrorKind::PendingApproval).
//!
//! # Example
//!
//! ```no_run
//! use pats_dfns::DfnsClient;
//!
//! # async fn run() -> pats_core::Result<()> {
//! // DFNS_AUTH_TOKEN=... DFNS_CRED_ID=... DFNS_PRIVATE_KEY_FILE=key.pem
//! let client = DfnsClient::from_env()?;
//! for pat in client.list_pats().await? {
//!     println!("{} {} active: {}", pat.token_id, pat.name, pat.is_active);
//! }
//! # Ok(()) }
//! ```
//!
//! # Testing
//!
//! Against the loopback simulator of `pats-sim` (a dev-dependency):
//!
//! ```
//! use pats_dfns::{DfnsClient, NewPat, P256Signer, PatUpdate};
//! use pats_sim::dfns::DfnsSim;
//! use secrecy::{ExposeSecret, SecretString};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> pats_core::Result<()> {
//! let sim = DfnsSim::start().await;
//! let user = sim.register_user();
//!
//! let client = DfnsClient::builder()
//!     .base_url(sim.uri())
//!     .auth_token(SecretString::from(user.auth_token.clone()))
//!     .signer(P256Signer::from_pkcs8_pem(
//!         user.credential_id.clone(),
//!         &SecretString::from(user.private_key_pem.clone()),
//!     )?)
//!     .build()?;
//!
//! let created = client.create_pat(&NewPat::new("ci-deploy").seconds_valid(3600)).await?;
//! assert!(created.secret.expose_secret().len() > 10);
//! assert!(created.private_key.is_some()); // the PAT's own generated key pair
//! let id = pats_core::TokenId::new(created.pat.token_id.clone())?;
//!
//! let renamed = client.update_pat(&id, &PatUpdate::new().name("ci-release")).await?;
//! assert_eq!(renamed.name, "ci-release");
//! assert!(!client.deactivate_pat(&id).await?.is_active);
//! client.delete_pat(&id).await?;
//! assert!(client.list_pats().await?.is_empty());
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
    "pats-dfns has no TLS backend and could not reach Dfns over https: enable the cargo \
     feature `rustls` (the default), `rustls-aws-lc` or `native-tls` of pats-dfns, or of the facade: \
     pats = { default-features = false, features = [\"dfns\", \"rustls\"] }"
);

mod client;
mod config;
mod delegated;
mod error;
// Formatted by `cargo xtask codegen` (prettyplease), not by rustfmt.
#[rustfmt::skip]
mod generated;
mod model;
mod provider;
mod signer;
mod user_action;

pub use client::{DEFAULT_BASE_URL, DfnsClient, DfnsClientBuilder};
pub use config::DfnsConfig;
pub use delegated::{ChangeKind, PendingChange};
pub use generated::{
    AllowCredential, AllowCredentials, AssertionKind, AttestationConveyancePreference,
    AuthenticatorTransport, CreateUserActionChallengeResponse, CredentialFactor, CredentialKind,
    PasswordProtectedKeyCredential, PatKind, PermissionAssignment, PersonalAccessToken as Pat,
    PublicKeyCredentialType, RelyingParty, SupportedCredentialKind, UserVerificationRequirement,
};
pub use model::{CreatedPat, NewPat, PatPublicKey, PatUpdate};
pub use signer::{P256Signer, PatKeyPair, UserActionSigner};
pub use user_action::{SignedAssertion, USER_ACTION_HEADER, UserActionChallenge};
