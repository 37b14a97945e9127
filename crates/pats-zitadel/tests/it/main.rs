//! The integration tests of `pats-zitadel`, in one test binary: linking one binary per test file
//! dominated the build (issue 24). Each module below was a file of `tests/` and its own
//! binary; `common` holds the helpers they share.

mod client_credentials;
mod common;
mod contract;
mod errors;
mod from_env;
mod jwt_profile;
mod lifecycle;
mod names;
mod simulator;
mod wire;
