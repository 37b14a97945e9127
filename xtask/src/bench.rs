//! `cargo xtask bench [--quick] [--build-cost] [--section N]...`: builds the benchmarks
//! (`crates/pats-bench`) in release mode and runs them. They print a markdown table and
//! write `target/bench/results.md` and `target/bench/results.json`.
//!
//! - `--quick`: one iteration of everything with small sizes (what `cargo test` runs);
//! - `--build-cost`: also time a clean release build of `pats` per provider feature (slow:
//!   minutes per build on a small machine);
//! - `--section N`: only section N (1 to 5).

use crate::Error;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// The cargo arguments that run the benchmarks with `args`.
pub fn cargo_args(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = ["run", "--release", "--quiet", "-p", "pats-bench", "--"]
        .iter()
        .map(|&a| a.to_owned())
        .collect();
    out.extend(args.iter().map(|&a| a.to_owned()));
    out
}

/// Builds and runs the benchmarks in the workspace at `root`.
pub fn run(root: &Path, args: &[&str]) -> Result<(), Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let args = cargo_args(args);
    println!("==> $ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(&args)
        .current_dir(root)
        .status()
        .map_err(|e| Error::new(format!("could not run the benchmarks: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!("the benchmarks failed ({status})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_the_bench_binary_in_release_with_the_arguments() {
        assert_eq!(
            cargo_args(&["--build-cost"]),
            [
                "run",
                "--release",
                "--quiet",
                "-p",
                "pats-bench",
                "--",
                "--build-cost"
            ]
        );
    }
}
