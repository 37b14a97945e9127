//! The integration tests of `xtask`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own.

mod codegen;
mod contracts;
