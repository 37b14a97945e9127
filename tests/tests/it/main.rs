//! The integration tests of `pats-conformance`, in one test binary: linking one binary per test file
//! dominated the build (issue 24). Each module below was a file of `tests/` and its own
//! binary; they share no helpers.

mod conformance;
mod decoders;
mod readme;
mod vendor_capabilities;
