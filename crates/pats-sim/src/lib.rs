//! `pats-sim`: a local emulator of the Dfns, ZITADEL, SailPoint and GitLab PAT APIs.
//!
//! Each provider module (behind the feature of the same name) has a simulator that keeps
//! state (users, tokens, credentials), validates requests the way the service does, and
//! answers in the provider's wire format, on a hyper server of its own ([`server`]:
//! HTTP/1.1 and HTTP/2 without TLS) on `127.0.0.1`. Every simulator accepts [`Faults`] to
//! inject failures, and remembers the [`Request`]s it received.
//!
//! With the features `dfns`, `zitadel`, `sailpoint` and `gitlab` (all default), [`start`]
//! runs the [`emulator`]: the four simulators in one process, each at the root of its own
//! port, with an admin API and a state file; the `pats-sim` binary ([`cli`]) and
//! `pats sim serve` run it until Ctrl-C:
//!
//! ```no_run
//! # fn demo() -> Result<(), pats_sim::SimError> {
//! let sim = pats_sim::start(pats_sim::Options::default())?;
//! let base_url = sim.sailpoint().uri(); // point any SailPoint client here
//! # let _ = base_url; Ok(()) }
//! ```
//!
//! Tests of a single provider start its simulator alone (`SailPointSim::start().await`).
//!
//! Feature `gitlab` (default) gives the GitLab simulator, [`gitlab`] (`GitLabSim`), also
//! without the emulator (as `pats-gitlab`'s tests use it). Nothing here listens anywhere
//! but `127.0.0.1`.
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
// Without any of the three other providers only the shared plumbing (server, faults,
// answers, contract checks) and maybe the GitLab simulator are compiled, and not all of it
// is used (a lone GitLab simulator needs no journal): that build exists for
// `cargo xtask msrv`'s feature matrix and for pats-gitlab's tests.
#![cfg_attr(
    not(any(feature = "dfns", feature = "zitadel", feature = "sailpoint")),
    allow(dead_code)
)]

mod answer;
#[macro_use]
mod table;
mod contract;
pub mod fault;
pub mod server;

#[cfg(all(
    feature = "dfns",
    feature = "zitadel",
    feature = "sailpoint",
    feature = "gitlab"
))]
pub mod cli;
#[cfg(all(
    feature = "dfns",
    feature = "zitadel",
    feature = "sailpoint",
    feature = "gitlab"
))]
pub mod emulator;
#[cfg(all(
    feature = "dfns",
    feature = "zitadel",
    feature = "sailpoint",
    feature = "gitlab"
))]
pub use emulator::{Emulator, Options, Seed, SimError, start};

#[cfg(feature = "dfns")]
pub mod dfns;
#[cfg(feature = "gitlab")]
pub mod gitlab;
#[cfg(feature = "zitadel")]
pub mod jwt;
#[cfg(feature = "sailpoint")]
pub mod sailpoint;
#[cfg(feature = "zitadel")]
pub mod zitadel;
#[cfg(feature = "zitadel")]
mod zitadel_grpc;

pub use fault::{Fault, FaultRule, Faults};
pub use server::{HttpServer, Request};

/// A header a test puts on a request it sends through the pats transport *on purpose* off
/// the provider's contract (to see the simulator refuse it). Without it, the contract
/// checks (feature `contract`) count any off-contract request from pats as a violation.
pub const OFF_CONTRACT_HEADER: &str = "x-pats-test-off-contract";

/// The crate README's examples (what crates.io shows), compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
