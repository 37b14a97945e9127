//! Section 5: what `pats` costs to build, per provider feature: crates in the dependency
//! tree (always; cheap) and, with `--build-cost`, clean release build times (slow: each is
//! a clean build into its own target directory under `target/bench/build-cost/`).

use crate::measure::Result;
use crate::report::{Report, Row};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The feature sets measured: one per provider, and all of them (each with `rustls`).
pub const FEATURE_SETS: [(&str, &str); 4] = [
    ("dfns", "dfns,rustls"),
    ("zitadel", "zitadel,rustls"),
    ("sailpoint", "sailpoint,rustls"),
    ("all providers", "dfns,zitadel,sailpoint,rustls"),
];

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// The distinct packages (`name version`) `cargo tree` prints for `pats` with `features`,
/// normal dependencies only, `pats` itself included.
pub fn crate_count(workspace: &Path, features: &str) -> Result<usize> {
    let output = Command::new(cargo())
        .args([
            "tree",
            "-p",
            "pats",
            "--no-default-features",
            "--features",
            features,
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(workspace)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("cargo tree failed ({})", output.status).into());
    }
    let text = String::from_utf8(output.stdout)?;
    let crates: BTreeSet<String> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect();
    Ok(crates.len())
}

/// Section 5. With `build_times`, also a clean release build per feature set.
pub fn section5(
    workspace: &Path,
    target: &Path,
    build_times: bool,
    report: &mut Report,
) -> Result<()> {
    for (name, features) in FEATURE_SETS {
        let count = crate_count(workspace, features)?;
        report.rows.push(
            Row::new(
                4,
                format!("`pats` with {name}: crates in the tree"),
                count as f64,
                "crates",
            )
            .note(format!(
                "cargo tree -p pats --no-default-features --features {features} -e normal"
            )),
        );
    }
    if !build_times {
        report.notes.push(
            "Build times were not measured (slow: a clean release build per feature set); run `cargo xtask bench --build-cost`.".to_owned(),
        );
        return Ok(());
    }
    for (name, features) in FEATURE_SETS {
        let dir = target
            .join("bench")
            .join("build-cost")
            .join(name.replace(' ', "-"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        eprintln!("build cost: clean release build of pats with {features} ...");
        let start = Instant::now();
        let status = Command::new(cargo())
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "pats",
                "--no-default-features",
                "--features",
                features,
                "--target-dir",
            ])
            .arg(&dir)
            .current_dir(workspace)
            .stdin(Stdio::null())
            .status()?;
        let seconds = start.elapsed().as_secs_f64();
        // Hundreds of MB each; only the time is kept.
        let _ = std::fs::remove_dir_all(&dir);
        if !status.success() {
            return Err(format!("cargo build with {features} failed ({status})").into());
        }
        report.rows.push(
            Row::new(
                4,
                format!("`pats` with {name}: clean release build"),
                seconds,
                "s",
            )
            .note(format!(
                "{} parallel jobs",
                std::thread::available_parallelism().map_or(1, usize::from)
            )),
        );
    }
    Ok(())
}
