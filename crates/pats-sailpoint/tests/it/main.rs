//! The integration tests of `pats-sailpoint`, in one test binary: linking one binary per test file
//! dominated the build (issue 24). Each module below was a file of `tests/` and its own
//! binary; `common` holds the helpers they share.

mod auth;
mod common;
mod lifecycle;
mod list_size;
mod rate_limit;
mod requests;
mod validation;
