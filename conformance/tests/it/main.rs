//! The integration tests of `pats-conformance`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own.

mod checks;
mod conformance;
mod decoders;
mod readme;
mod vendor_capabilities;
