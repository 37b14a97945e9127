//! `cargo xtask bench [--quick] [--build-cost] [--peers] [--section N]...`: the benchmarks of
//! `crates/pats-bench`, in release mode, in up to three steps:
//!
//! 1. `cargo bench -p pats-bench --bench calls`: criterion measures sections 1 and 2 (per-call
//!    overhead, the Dfns signed change) and writes its estimates under `target/criterion/`;
//! 2. `cargo build --release -p pats-sim --bin pats-sim`: the emulator's binary, whose
//!    startup section 6 measures (only when section 6 runs, not with `--quick`);
//! 3. `cargo run --release -p pats-bench`: runs sections 3 to 6, reads criterion's medians
//!    (only those written by step 1 of this run), prints the markdown table and writes
//!    `target/bench/results.md` and `target/bench/results.json`.
//!
//! - `--quick`: criterion's test mode (every benchmark once) and sections 3 to 6 once with
//!   small sizes (what `cargo xtask test` runs);
//! - `--build-cost`: also time a clean release build of `pats` per provider feature (slow:
//!   minutes per build on a small machine);
//! - `--peers`: also measure `pats` against the `gitlab` crate on GitLab's calls (section 1;
//!   the runner generates and builds a project outside the workspace that fetches the
//!   crate from crates.io; not with `--quick`);
//! - `--section N`: only section N (1 to 6); criterion runs only when 1 or 2 is named.

use crate::Error;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The cargo invocations of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `cargo bench` of the criterion sections, if any are wanted.
    pub criterion: Option<Vec<String>>,
    /// `cargo build` of the `pats-sim` binary, if section 6 runs in full.
    pub binary: Option<Vec<String>>,
    /// `cargo run` of the runner.
    pub runner: Vec<String>,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}

/// What `cargo xtask bench <args>` runs; `criterion_dir` is where criterion writes and the
/// runner reads, `since` the run's start (Unix seconds).
pub fn plan(args: &[&str], criterion_dir: &Path, since: u64) -> Result<Plan, Error> {
    let mut sections = Vec::new();
    let mut quick = false;
    let mut iter = args.iter();
    while let Some(&arg) = iter.next() {
        match arg {
            "--section" => match iter.next().and_then(|n| n.parse::<u8>().ok()) {
                Some(n @ 1..=6) => sections.push(n),
                _ => return Err(Error::new("--section needs a number from 1 to 6")),
            },
            "--quick" => quick = true,
            "--build-cost" | "--peers" => {}
            other => return Err(Error::new(format!("unknown bench argument `{other}`"))),
        }
    }
    let all = sections.is_empty();
    let filter = match (all || sections.contains(&1), all || sections.contains(&2)) {
        (true, true) => Some("^s[12]_"),
        (true, false) => Some("^s1_"),
        (false, true) => Some("^s2_"),
        (false, false) => None,
    };
    let criterion = filter.map(|filter| {
        let mut a = strings(&["bench", "-p", "pats-bench", "--bench", "calls", "--"]);
        if quick {
            a.push("--test".to_owned());
        }
        a.push(filter.to_owned());
        a
    });
    let binary = ((all || sections.contains(&6)) && !quick).then(|| {
        strings(&[
            "build",
            "--release",
            "--quiet",
            "-p",
            "pats-sim",
            "--bin",
            "pats-sim",
        ])
    });
    let mut runner = strings(&["run", "--release", "--quiet", "-p", "pats-bench", "--"]);
    runner.extend(args.iter().map(|&a| a.to_owned()));
    if criterion.is_some() && !quick {
        runner.push("--criterion".to_owned());
        runner.push(criterion_dir.display().to_string());
        runner.push("--since".to_owned());
        runner.push(since.to_string());
    }
    Ok(Plan {
        criterion,
        binary,
        runner,
    })
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Builds and runs the benchmarks in the workspace at `root`.
pub fn run(root: &Path, args: &[&str]) -> Result<(), Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let criterion_dir = target_dir(root).join("criterion");
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let plan = plan(args, &criterion_dir, since)?;
    let steps = plan
        .criterion
        .iter()
        .chain(plan.binary.iter())
        .chain(std::iter::once(&plan.runner));
    for step in steps {
        println!("==> $ cargo {}", step.join(" "));
        let status = Command::new(&cargo)
            .args(step)
            .env("CRITERION_HOME", &criterion_dir)
            .current_dir(root)
            .status()
            .map_err(|e| Error::new(format!("could not run the benchmarks: {e}")))?;
        if !status.success() {
            return Err(Error::new(format!(
                "the benchmarks failed ({status}): cargo {}",
                step.join(" ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from("/t/criterion")
    }

    #[test]
    fn a_full_run_is_criterion_then_the_runner_reading_this_runs_results() {
        let plan = plan(&["--build-cost"], &dir(), 1_700_000_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plan.criterion.as_deref(),
            Some(
                &strings(&[
                    "bench",
                    "-p",
                    "pats-bench",
                    "--bench",
                    "calls",
                    "--",
                    "^s[12]_"
                ])[..]
            )
        );
        assert_eq!(
            plan.binary
                .as_deref()
                .and_then(|a| a.last())
                .map(String::as_str),
            Some("pats-sim")
        );
        assert_eq!(
            plan.runner,
            strings(&[
                "run",
                "--release",
                "--quiet",
                "-p",
                "pats-bench",
                "--",
                "--build-cost",
                "--criterion",
                "/t/criterion",
                "--since",
                "1700000000"
            ])
        );
    }

    #[test]
    fn sections_pick_the_criterion_groups_and_quick_uses_its_test_mode() {
        let only = |args: &[&str]| plan(args, &dir(), 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            only(&["--section", "2"])
                .criterion
                .and_then(|a| a.last().cloned())
                .as_deref(),
            Some("^s2_")
        );
        assert_eq!(only(&["--section", "4"]).criterion, None);
        assert_eq!(only(&["--section", "4"]).binary, None);
        assert!(only(&["--section", "6"]).binary.is_some());
        assert_eq!(only(&["--section", "6"]).criterion, None);
        assert!(
            !only(&["--section", "4"])
                .runner
                .contains(&"--since".to_owned())
        );
        let quick = only(&["--quick"]);
        assert!(
            quick
                .criterion
                .is_some_and(|a| a.contains(&"--test".to_owned()))
        );
        assert_eq!(quick.runner.last().map(String::as_str), Some("--quick"));
        assert_eq!(quick.binary, None);
        assert!(plan(&["--section", "9"], &dir(), 0).is_err());
        assert!(plan(&["--fast"], &dir(), 0).is_err());
        // `--peers` goes to the runner, which builds and runs the peer itself.
        let peers = only(&["--section", "1", "--peers"]);
        assert_eq!(
            peers.criterion.and_then(|a| a.last().cloned()).as_deref(),
            Some("^s1_")
        );
        assert!(peers.runner.contains(&"--peers".to_owned()));
    }
}
