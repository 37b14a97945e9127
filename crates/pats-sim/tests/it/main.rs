//! The integration tests of `pats-sim`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own.

mod admin;
mod emulator;
#[cfg(feature = "zitadel")]
mod grpc;
mod sailpoint_bulk;
