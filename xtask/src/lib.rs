//! Workspace automation for `pats`, run as `cargo xtask <command>`:
//!
//! - `contracts [--check]`: check the pinned vendor files under `contracts/` and extract
//!   (or check) each provider's PAT subset (see [`contracts`]);
//! - `codegen [--check]`: the same, then regenerate (or check) `crates/*/src/generated.rs`
//!   from the subsets (see [`codegen`]);
//! - `test`: everything CI checks, in order, stopping at the first failure (see [`tasks`]),
//!   after installing what it needs (see [`setup`]);
//! - `fresh`: `.ci/run` in a clean clone with an empty `CARGO_HOME` (see [`fresh`]);
//! - `mutants`: cargo-mutants on the project's critical files (see [`mutants`]);
//! - `ci`: the same, with `--locked`;
//! - `bench`: the benchmarks of `crates/pats-bench`, in release mode (see [`mod@bench`]);
//! - `msrv`: the publishable crates build with the declared `rust-version` (see [`msrv`]);
//! - `interop`: the official Python and Node SDKs against `pats-sim serve` (see [`interop`]);
//! - `release-check`: what would be published, in order, and what stops it (see [`release`]);
//! - `api [--check]`: the public API of each library crate, checked in (see [`api`]).
//!
//! Its unit tests also check the repository as a whole (see [`repo`]): generated files are
//! marked in `.gitattributes`, and the markdown's relative links point at something.

pub mod api;
pub mod bench;
pub mod codegen;
pub mod contracts;
pub mod fresh;
pub mod interop;
pub mod msrv;
pub mod mutants;
pub mod release;
pub mod repo;
pub mod setup;
pub mod tasks;

use std::fmt;
use std::path::{Path, PathBuf};

/// A failed xtask command, with a message meant for the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<codegen::CodegenError> for Error {
    fn from(error: codegen::CodegenError) -> Self {
        Error::new(error.to_string())
    }
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> Result<PathBuf, Error> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::new("xtask must live in a subdirectory of the workspace root"))
}
