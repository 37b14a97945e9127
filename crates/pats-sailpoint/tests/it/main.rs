//! The integration tests of `pats-sailpoint`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own;
//! `common` holds the helpers they share.

mod auth;
mod common;
mod lifecycle;
mod list_size;
mod rate_limit;
mod raw;
mod requests;
mod validation;
