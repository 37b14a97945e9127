//! The integration tests of `pats-dfns`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own;
//! `common` holds the helpers they share.

mod common;
mod decode;
mod delegated;
mod from_env;
mod lifecycle;
mod off_contract;
mod pending_approval;
mod secrets;
mod signing;
mod simulator;
mod validation;
mod vendor_contract;
mod wire;
