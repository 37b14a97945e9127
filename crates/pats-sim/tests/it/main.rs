//! The integration tests of `pats-sim`, in one test binary: linking one binary per test file
//! dominated the build (issue 24). Each module below was a file of `tests/` and its own
//! binary; they share no helpers.

mod emulator;
#[cfg(feature = "zitadel")]
mod grpc;
mod sailpoint_bulk;
