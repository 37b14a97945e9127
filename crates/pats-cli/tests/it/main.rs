//! The integration tests of `pats-cli`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own.

mod cli;
mod common;
mod delivery;
mod generate;
mod gitlab;
mod profiles;
mod settings;
mod sim;
mod terminal;
