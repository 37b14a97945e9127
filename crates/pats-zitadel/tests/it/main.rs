//! The integration tests of `pats-zitadel`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own;
//! `common` holds the helpers they share.

mod client_credentials;
mod common;
mod contract;
mod errors;
mod from_env;
mod jwt_profile;
mod lifecycle;
mod names;
mod raw;
mod simulator;
mod wire;
