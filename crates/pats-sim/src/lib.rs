//! Stateful simulators of the provider PAT APIs, each served on loopback by a hyper server
//! of its own.
//!
//! Each provider module (behind the feature of the same name) starts a simulator that keeps
//! state (users, tokens, credentials), validates requests the way the service does, and
//! answers in the provider's wire format. Tests, examples and benchmarks use them instead of
//! a real account. Every simulator also accepts [`Faults`] to inject failures.
//!
//! Nothing here listens anywhere but `127.0.0.1`.

mod answer;
mod contract;
pub mod fault;
pub mod server;

#[cfg(feature = "dfns")]
pub mod dfns;
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
