//! The integration tests of `pats-core`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own;
//! `common` holds the helpers they share.

mod base_url;
mod common;
mod shared_client;
mod tls;
mod tracing;
mod trait_helpers;
mod transport;
