//! `cargo xtask mutants [--file F]...`: mutation testing of the files where a missed bug
//! costs most, with each crate's own tests, by the pinned cargo-mutants (installed when
//! missing, see [`crate::setup`]).
//!
//! Without `--file`, every entry of [`CRITICAL`]; each entry is one `cargo mutants` run
//! (in a copy of the tree: your files are never touched), its results under
//! `target/mutants/<file>/mutants.out`. A summary line per entry and a total follow;
//! missed mutants are listed. The run fails when an entry catches less than
//! [`MIN_CAUGHT_PERCENT`] % of its viable mutants (a timeout counts as caught: the tests
//! noticed) or when cargo-mutants could not test the unmutated tree.

use crate::Error;
use crate::setup::Tool;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo-mutants release the counts in the notes were measured with.
pub const CARGO_MUTANTS_VERSION: &str = "27.1.0";

/// The share of viable mutants each critical file's own crate tests must catch.
pub const MIN_CAUGHT_PERCENT: u64 = 90;

/// A file to mutate, and optionally only the functions matching a regex (cargo-mutants
/// `--re`, matched against the mutant's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The file, relative to the workspace root.
    pub file: &'static str,
    /// Only mutants whose name matches this (`--re`).
    pub only: Option<&'static str>,
}

/// The project's critical files: secret handling, request signing, validation of what is
/// sent, and what the CLI reads and writes.
pub const CRITICAL: &[Target] = &[
    Target {
        file: "crates/pats-sailpoint/src/patch.rs",
        only: None,
    },
    Target {
        file: "crates/pats-dfns/src/user_action.rs",
        only: None,
    },
    Target {
        file: "crates/pats-dfns/src/delegated.rs",
        only: None,
    },
    Target {
        file: "crates/pats-core/src/credentials.rs",
        only: None,
    },
    Target {
        file: "crates/pats-cli/src/profiles.rs",
        only: None,
    },
    Target {
        file: "crates/pats-cli/src/secret_file.rs",
        only: None,
    },
    // The CLI's secret delivery (stdout or --secret-file) and what is printed after it.
    Target {
        file: "crates/pats-cli/src/new_token.rs",
        only: Some(r"\b(deliver|finish|json_head|text_head)\b"),
    },
    // Rotation: the secret is handed over before the old token is revoked.
    Target {
        file: "crates/pats-core/src/api.rs",
        only: Some(r"PendingRotation|Rotation::|\brotate\b"),
    },
];

/// Parses the arguments after `mutants`: `--file F` (repeatable; default: [`CRITICAL`]).
pub fn parse_args(args: &[&str]) -> Result<Vec<String>, Error> {
    let mut files = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--file" => match args.next() {
                Some(file) => files.push((*file).to_owned()),
                None => return Err(Error::new("--file needs a path")),
            },
            other => return Err(Error::new(format!("unexpected argument `{other}`"))),
        }
    }
    Ok(files)
}

/// The targets for `files`: the critical entries of those files (with their filter), a file
/// not in the list whole; no files: every critical entry.
pub fn targets(files: &[String]) -> Vec<(String, Option<&'static str>)> {
    if files.is_empty() {
        return CRITICAL
            .iter()
            .map(|t| (t.file.to_owned(), t.only))
            .collect();
    }
    files
        .iter()
        .flat_map(|file| {
            let listed: Vec<_> = CRITICAL
                .iter()
                .filter(|t| t.file == file)
                .map(|t| (file.clone(), t.only))
                .collect();
            if listed.is_empty() {
                vec![(file.clone(), None)]
            } else {
                listed
            }
        })
        .collect()
}

/// The counts of one cargo-mutants run (its `outcomes.json`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Mutants the tests failed on.
    pub caught: u64,
    /// Mutants every test passed with.
    pub missed: u64,
    /// Mutants that did not build.
    pub unviable: u64,
    /// Mutants whose tests did not finish in time (counted as caught).
    pub timeout: u64,
    /// The names of the missed mutants.
    pub missed_names: Vec<String>,
    /// Whether the unmutated tree failed its tests (then nothing was measured).
    pub baseline_failed: bool,
}

impl Counts {
    /// Reads cargo-mutants' `outcomes.json`.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::new(format!("outcomes.json is not JSON: {e}")))?;
        let count = |key: &str| value.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
        let outcomes = value
            .get("outcomes")
            .and_then(|v| v.as_array())
            .ok_or_else(|| Error::new("outcomes.json has no outcomes"))?;
        let mut counts = Counts {
            caught: count("caught"),
            missed: count("missed"),
            unviable: count("unviable"),
            timeout: count("timeout"),
            ..Counts::default()
        };
        for outcome in outcomes {
            let summary = outcome.get("summary").and_then(|v| v.as_str());
            let scenario = outcome.get("scenario");
            if scenario.and_then(|s| s.as_str()) == Some("Baseline") {
                counts.baseline_failed = summary != Some("Success");
            } else if summary == Some("MissedMutant") {
                let name = scenario
                    .and_then(|s| s.get("Mutant"))
                    .and_then(|m| m.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or("?");
                counts.missed_names.push(name.to_owned());
            }
        }
        Ok(counts)
    }

    /// Viable mutants: those that built.
    pub fn viable(&self) -> u64 {
        self.caught + self.missed + self.timeout
    }

    /// Whole percent of viable mutants caught (timeouts included); 100 with none viable.
    pub fn percent(&self) -> u64 {
        match self.viable() {
            0 => 100,
            viable => (self.caught + self.timeout) * 100 / viable,
        }
    }

    /// Adds another run's counts.
    pub fn add(&mut self, other: &Counts) {
        self.caught += other.caught;
        self.missed += other.missed;
        self.unviable += other.unviable;
        self.timeout += other.timeout;
        self.baseline_failed |= other.baseline_failed;
    }

    /// `33 caught, 2 missed, 1 unviable, 0 timeouts: 94 % of 35 viable caught`.
    pub fn summary(&self) -> String {
        format!(
            "{} caught, {} missed, {} unviable, {} timeouts: {} % of {} viable caught",
            self.caught,
            self.missed,
            self.unviable,
            self.timeout,
            self.percent(),
            self.viable()
        )
    }
}

/// Why the run of `label` fails the command, if it does: a failed baseline, or less than
/// [`MIN_CAUGHT_PERCENT`] % of viable mutants caught.
pub fn too_weak(label: &str, counts: &Counts) -> Option<String> {
    if counts.baseline_failed {
        Some(format!("{label}: the unmutated tree failed its tests"))
    } else if counts.percent() < MIN_CAUGHT_PERCENT {
        Some(format!("{label}: {} %", counts.percent()))
    } else {
        None
    }
}

/// The arguments of `cargo mutants` for one target, writing under `output`.
pub fn mutants_args(file: &str, only: Option<&str>, output: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["mutants", "--no-shuffle", "--timeout", "300", "--file"]
        .map(OsString::from)
        .to_vec();
    args.push(file.into());
    if let Some(re) = only {
        args.extend(["--re".into(), re.into()]);
    }
    args.extend(["--output".into(), output.as_os_str().to_owned()]);
    args
}

/// `target/mutants/<file with / as __>`.
fn output_dir(root: &Path, file: &str) -> PathBuf {
    crate::release::target_dir(root)
        .join("mutants")
        .join(file.replace('/', "__"))
}

/// Runs cargo-mutants on the targets (see the module docs).
pub fn run(root: &Path, args: &[&str]) -> Result<(), Error> {
    let files = parse_args(args)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    crate::setup::ensure_tools(
        root,
        &cargo,
        vec![Tool::cargo_install("mutants", CARGO_MUTANTS_VERSION)],
    )?;
    let mut total = Counts::default();
    let mut lines = Vec::new();
    let mut weak = Vec::new();
    for (file, only) in targets(&files) {
        let output = output_dir(root, &file);
        // cargo-mutants creates `mutants.out` but not the directories above it.
        std::fs::create_dir_all(&output)
            .map_err(|e| Error::new(format!("{}: {e}", output.display())))?;
        println!(
            "\n==> cargo mutants --file {file}{}",
            only.map(|r| format!(" --re '{r}'")).unwrap_or_default()
        );
        // cargo-mutants exits non-zero when a mutant is missed; the outcomes say what.
        Command::new(&cargo)
            .args(mutants_args(&file, only, &output))
            .current_dir(root)
            .status()
            .map_err(|e| Error::new(format!("could not run cargo mutants: {e}")))?;
        let outcomes = output.join("mutants.out").join("outcomes.json");
        let text = std::fs::read_to_string(&outcomes).map_err(|e| {
            Error::new(format!(
                "cargo mutants wrote no outcomes ({}: {e}); see its output above",
                outcomes.display()
            ))
        })?;
        let counts = Counts::parse(&text)?;
        let label = match only {
            Some(re) => format!("{file} (--re '{re}')"),
            None => file.clone(),
        };
        weak.extend(too_weak(&label, &counts));
        lines.push(format!("mutants: {label}: {}", counts.summary()));
        for name in &counts.missed_names {
            lines.push(format!("  missed: {name}"));
        }
        total.add(&counts);
    }
    println!();
    for line in &lines {
        println!("{line}");
    }
    println!("mutants: all: {}", total.summary());
    if weak.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "below {MIN_CAUGHT_PERCENT} % of viable mutants caught: {}",
            weak.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTCOMES: &str = r#"{
        "total_mutants": 6, "missed": 1, "caught": 2, "timeout": 1, "unviable": 2,
        "outcomes": [
            {"scenario": "Baseline", "summary": "Success"},
            {"scenario": {"Mutant": {"name": "a.rs:1:1: replace f -> bool with true"}}, "summary": "CaughtMutant"},
            {"scenario": {"Mutant": {"name": "a.rs:2:1: delete ! in g"}}, "summary": "MissedMutant"},
            {"scenario": {"Mutant": {"name": "a.rs:3:1: replace h with ()"}}, "summary": "CaughtMutant"},
            {"scenario": {"Mutant": {"name": "a.rs:4:1: replace == with !="}}, "summary": "Timeout"}
        ]
    }"#;

    #[test]
    fn outcomes_give_counts_and_the_missed_names() -> Result<(), Error> {
        let counts = Counts::parse(OUTCOMES)?;
        assert_eq!(
            counts,
            Counts {
                caught: 2,
                missed: 1,
                unviable: 2,
                timeout: 1,
                missed_names: vec!["a.rs:2:1: delete ! in g".to_owned()],
                baseline_failed: false,
            }
        );
        assert_eq!(counts.viable(), 4);
        assert_eq!(counts.percent(), 75);
        assert_eq!(
            counts.summary(),
            "2 caught, 1 missed, 2 unviable, 1 timeouts: 75 % of 4 viable caught"
        );
        Ok(())
    }

    #[test]
    fn a_failed_baseline_is_noticed_and_garbage_refused() -> Result<(), Error> {
        let failed = OUTCOMES.replace(
            r#""Baseline", "summary": "Success""#,
            r#""Baseline", "summary": "Failure""#,
        );
        assert!(Counts::parse(&failed)?.baseline_failed);
        assert!(Counts::parse("not json").is_err());
        assert!(Counts::parse("{}").is_err());
        Ok(())
    }

    #[test]
    fn percent_rounds_down_and_none_viable_is_full() {
        let counts = |caught, missed, timeout| Counts {
            caught,
            missed,
            timeout,
            ..Counts::default()
        };
        assert_eq!(counts(0, 0, 0).percent(), 100);
        assert_eq!(counts(8, 1, 0).percent(), 88);
        assert_eq!(counts(9, 1, 0).percent(), 90);
        assert_eq!(counts(8, 1, 1).percent(), 90);
        let mut total = counts(1, 2, 3);
        total.add(&Counts {
            unviable: 4,
            baseline_failed: true,
            ..counts(10, 20, 30)
        });
        assert_eq!(
            (total.caught, total.missed, total.timeout, total.unviable),
            (11, 22, 33, 4)
        );
        assert!(total.baseline_failed);
    }

    #[test]
    fn a_file_under_the_bar_or_with_a_failed_baseline_fails_the_command() {
        let counts = |caught, missed| Counts {
            caught,
            missed,
            ..Counts::default()
        };
        assert_eq!(too_weak("a.rs", &counts(9, 1)), None);
        assert_eq!(too_weak("a.rs", &counts(10, 0)), None);
        assert_eq!(
            too_weak("a.rs", &counts(8, 1)),
            Some("a.rs: 88 %".to_owned())
        );
        let failed = Counts {
            baseline_failed: true,
            ..counts(10, 0)
        };
        assert_eq!(
            too_weak("a.rs", &failed),
            Some("a.rs: the unmutated tree failed its tests".to_owned())
        );
    }

    #[test]
    fn results_go_under_the_target_directory_one_per_file() -> Result<(), Error> {
        let root = crate::workspace_root()?;
        let dir = output_dir(&root, "crates/pats-cli/src/profiles.rs");
        assert!(
            dir.ends_with("mutants/crates__pats-cli__src__profiles.rs"),
            "{dir:?}"
        );
        assert!(dir.starts_with(crate::release::target_dir(&root)));
        Ok(())
    }

    #[test]
    fn files_pick_their_critical_entries_or_the_whole_file() -> Result<(), Error> {
        assert_eq!(targets(&[]).len(), CRITICAL.len());
        let files = parse_args(&[
            "--file",
            "crates/pats-cli/src/new_token.rs",
            "--file",
            "x.rs",
        ])?;
        assert_eq!(
            targets(&files),
            [
                (
                    "crates/pats-cli/src/new_token.rs".to_owned(),
                    Some(r"\b(deliver|finish|json_head|text_head)\b")
                ),
                ("x.rs".to_owned(), None),
            ]
        );
        assert!(parse_args(&["--file"]).is_err());
        assert!(parse_args(&["--in-place"]).is_err());
        Ok(())
    }

    #[test]
    fn every_critical_file_exists() -> Result<(), Error> {
        let root = crate::workspace_root()?;
        for target in CRITICAL {
            assert!(root.join(target.file).is_file(), "{}", target.file);
        }
        Ok(())
    }

    #[test]
    fn the_arguments_name_the_file_the_filter_and_the_output() {
        let args = mutants_args("a.rs", Some("deliver"), Path::new("/t/out"));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "mutants",
                "--no-shuffle",
                "--timeout",
                "300",
                "--file",
                "a.rs",
                "--re",
                "deliver",
                "--output",
                "/t/out"
            ]
        );
    }
}
