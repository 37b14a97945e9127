//! Section 5: what `pats` costs to build, per provider feature, against floors: crates in
//! the dependency tree (always; cheap) and, with `--build-cost`, clean release build times
//! (slow: each is a clean build into its own target directory under
//! `target/bench/build-cost/`), interleaved with the floors' and, for Dfns, with the
//! official Dfns SDK's (generated projects under `target/bench/build-cost/gen/`).

use crate::measure::Result;
use crate::report::{Report, Row};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The feature sets measured: one per provider, and all of them (each with `rustls`).
pub const FEATURE_SETS: [(&str, &str); 5] = [
    ("dfns", "dfns,rustls"),
    ("zitadel", "zitadel,rustls"),
    ("sailpoint", "sailpoint,rustls"),
    ("gitlab", "gitlab,rustls"),
    ("all providers", "dfns,zitadel,sailpoint,gitlab,rustls"),
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
    Ok(distinct(&String::from_utf8(output.stdout)?))
}

/// A project whose clean release build is measured next to `pats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The floor: an empty binary with the `reqwest` + `tokio` + `serde_json` features
    /// `pats` needs (reqwest with HTTP/2 and rustls without a provider, rustls on *ring*).
    Floor,
    /// The floor plus `p256` with the features `pats-dfns` uses.
    FloorP256,
    /// The official Dfns SDK `dfns-sdk-rust` 0.3.2 plus a P-256 signer (`p256`) and the
    /// tokio runtime a user needs to call it; fetched from crates.io when measured.
    DfnsPeer,
}

impl Baseline {
    /// The directory name (under `<target>/bench/build-cost/gen/`).
    pub fn dir_name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::FloorP256 => "floor-p256",
            Self::DfnsPeer => "dfns-sdk-rust-peer",
        }
    }

    /// The `[dependencies]` of the generated binary.
    pub fn dependencies(self) -> String {
        const FLOOR: &str = r#"reqwest = { version = "0.13", default-features = false, features = ["http2", "rustls-no-provider"] }
rustls = { version = "0.23.27", default-features = false, features = ["std", "tls12", "ring"] }
tokio = { version = "1", features = ["rt", "macros", "time", "sync"] }
serde_json = "1"
"#;
        const P256: &str = r#"p256 = { version = "0.13", features = ["ecdsa", "pem", "pkcs8"] }
"#;
        const PEER: &str = r#"dfns-sdk-rust = "=0.3.2"
tokio = { version = "1", features = ["rt", "macros"] }
"#;
        match self {
            Self::Floor => FLOOR.to_owned(),
            Self::FloorP256 => format!("{FLOOR}{P256}"),
            Self::DfnsPeer => format!("{PEER}{P256}"),
        }
    }

    /// Writes the project into `dir` (a fresh directory). Floors get the workspace's
    /// `Cargo.lock`, so that they build the very versions `pats` does; the peer resolves
    /// its own from crates.io.
    pub fn generate(self, workspace: &Path, dir: &Path) -> Result<()> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir.join("src"))?;
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"pats-bench-{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n# Not part of any enclosing workspace.\n[workspace]\n\n[dependencies]\n{}",
                self.dir_name(),
                self.dependencies()
            ),
        )?;
        std::fs::write(dir.join("src").join("main.rs"), "fn main() {}\n")?;
        if self != Self::DfnsPeer {
            std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))?;
        }
        Ok(())
    }
}

/// The distinct packages of a generated project's normal dependency tree (itself included).
pub fn project_crate_count(dir: &Path) -> Result<usize> {
    let output = Command::new(cargo())
        .args(["tree", "-e", "normal", "--prefix", "none"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("cargo tree in {} failed ({})", dir.display(), output.status).into());
    }
    Ok(distinct(&String::from_utf8(output.stdout)?))
}

fn distinct(tree: &str) -> usize {
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect::<BTreeSet<String>>()
        .len()
}

/// A clean release build with `args` (after `cargo build --release --quiet`) in `dir`,
/// into the fresh target directory `target`; its wall time in seconds. The target
/// directory is removed afterwards (hundreds of MB).
fn clean_build(dir: &Path, args: &[&str], target: &Path) -> Result<f64> {
    if target.exists() {
        std::fs::remove_dir_all(target)?;
    }
    let start = Instant::now();
    let status = Command::new(cargo())
        .args(["build", "--release", "--quiet"])
        .args(args)
        .arg("--target-dir")
        .arg(target)
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()?;
    let seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(target);
    if !status.success() {
        return Err(format!(
            "cargo build {} in {} failed ({status})",
            args.join(" "),
            dir.display()
        )
        .into());
    }
    Ok(seconds)
}

/// Whether `features` name exactly one provider (the goals are for those).
pub fn one_provider(features: &str) -> bool {
    features
        .split(',')
        .filter(|f| ["dfns", "zitadel", "sailpoint", "gitlab"].contains(f))
        .count()
        == 1
}

/// The floor each feature set is compared with.
pub fn floor_of(features: &str) -> Baseline {
    if features.split(',').any(|f| f == "dfns") {
        Baseline::FloorP256
    } else {
        Baseline::Floor
    }
}

/// The goal: a one-provider build takes at most this times its floor's time...
pub const TIME_GOAL: f64 = 1.10;
/// ...and has at most this many crates more than its floor.
pub const EXTRA_CRATES_GOAL: f64 = 20.0;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Section 5: crates per feature set against their floors (always), and with
/// `build_times` clean release build times, interleaved floor, `pats`, floor, `pats`...
/// so that load from elsewhere weighs on both alike, and the Dfns build against the
/// official Dfns SDK's.
pub fn section5(
    workspace: &Path,
    target: &Path,
    build_times: bool,
    report: &mut Report,
) -> Result<()> {
    let root = target.join("bench").join("build-cost");
    let generated = |b: Baseline| root.join("gen").join(b.dir_name());
    let mut floor_counts = Vec::new();
    for baseline in [Baseline::Floor, Baseline::FloorP256] {
        let dir = generated(baseline);
        baseline.generate(workspace, &dir)?;
        floor_counts.push((baseline, project_crate_count(&dir)?));
    }
    let floor_count = |b: Baseline| {
        floor_counts
            .iter()
            .find(|(f, _)| *f == b)
            .map_or(0.0, |(_, c)| *c as f64)
    };
    let mut pats_counts = Vec::new();
    for (name, features) in FEATURE_SETS {
        let count = crate_count(workspace, features)? as f64;
        pats_counts.push(count);
        let floor = floor_count(floor_of(features));
        let mut row = Row::new(
            4,
            format!("`pats` with {name}: crates in the tree"),
            count,
            "crates",
        )
        .floor(floor);
        // The goal is for one-provider builds.
        if one_provider(features) {
            row = row.at_most(floor + EXTRA_CRATES_GOAL);
        }
        report.rows.push(
            row
                .note(format!(
                    "{:+} crates over the floor ({}); cargo tree -p pats --no-default-features --features {features} -e normal",
                    count - floor,
                    floor_of(features).dir_name()
                )),
        );
    }
    if !build_times {
        report.notes.push(
            "Build times were not measured (slow: a clean release build per feature set and floor); run `cargo xtask bench --build-cost`.".to_owned(),
        );
        return Ok(());
    }
    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    let load_before = load_average();
    // Each floor is built once, just before the first feature set compared with it (the
    // machine may be shared: neighbours in time see the same load); the peer just after
    // `pats` with dfns.
    let mut floor_seconds: Vec<(Baseline, f64)> = Vec::new();
    for ((name, features), count) in FEATURE_SETS.into_iter().zip(&pats_counts) {
        let baseline = floor_of(features);
        let floor = match floor_seconds.iter().find(|(b, _)| *b == baseline) {
            Some((_, s)) => *s,
            None => {
                eprintln!(
                    "build cost: clean release build of {} ...",
                    baseline.dir_name()
                );
                let s = clean_build(
                    &generated(baseline),
                    &[],
                    &root.join(format!("target-{}", baseline.dir_name())),
                )?;
                eprintln!(
                    "build cost: {} {s:.1} s (load {})",
                    baseline.dir_name(),
                    load_average()
                );
                floor_seconds.push((baseline, s));
                s
            }
        };
        eprintln!("build cost: clean release build of pats with {features} ...");
        let seconds = clean_build(
            workspace,
            &[
                "-p",
                "pats",
                "--no-default-features",
                "--features",
                features,
            ],
            &root.join(name.replace(' ', "-")),
        )?;
        eprintln!(
            "build cost: pats with {features} {seconds:.1} s (load {})",
            load_average()
        );
        report.rows.push(
            Row::new(
                4,
                format!("`pats` with {name}: clean release build"),
                seconds,
                "s",
            )
            .floor(floor)
            .goal(TIME_GOAL)
            .note(format!(
                "floor: {} ({} crates; `pats` {count}); {jobs} parallel jobs, load average {}",
                baseline.dir_name(),
                floor_count(baseline),
                load_average()
            )),
        );
        if features == "dfns,rustls" {
            let peer = Baseline::DfnsPeer;
            let dir = generated(peer);
            peer.generate(workspace, &dir)?;
            eprintln!(
                "build cost: clean release build of the official Dfns SDK (dfns-sdk-rust 0.3.2 + p256) ..."
            );
            let peer_seconds = clean_build(&dir, &[], &root.join("target-peer"))?;
            eprintln!(
                "build cost: peer {peer_seconds:.1} s (load {})",
                load_average()
            );
            let peer_count = project_crate_count(&dir)? as f64;
            report.rows.push(
                Row::new(4, "`pats` with dfns against dfns-sdk-rust 0.3.2 + p256: clean release build", seconds, "s")
                    .floor(peer_seconds)
                    .goal(1.0)
                    .note(format!(
                        "the floor here is the peer (its own lock from crates.io; reqwest 0.12 with native-tls), built right after `pats` with dfns; load average {}",
                        load_average()
                    )),
            );
            report.rows.push(
                Row::new(
                    4,
                    "`pats` with dfns against dfns-sdk-rust 0.3.2 + p256: crates",
                    *count,
                    "crates",
                )
                .floor(peer_count)
                .note(format!("{:+} crates", count - peer_count)),
            );
        }
    }
    report.notes.push(format!(
        "Build cost: load average {load_before} before the clean builds, {} after (the machine may be shared; ratios are against floors built just before each subject).",
        load_average()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_alone_is_held_to_the_goals_and_all_of_them_are_not() {
        for (name, features) in FEATURE_SETS {
            assert_eq!(one_provider(features), name != "all providers", "{name}");
        }
        assert!(one_provider("gitlab,rustls"));
        assert!(!one_provider("dfns,gitlab,rustls"));
        assert_eq!(floor_of("dfns,rustls"), Baseline::FloorP256);
        assert_eq!(floor_of("gitlab,rustls"), Baseline::Floor);
        // The last set has every provider of the facade's default features.
        let all = FEATURE_SETS[FEATURE_SETS.len() - 1].1;
        for p in ["dfns", "zitadel", "sailpoint", "gitlab"] {
            assert!(all.split(',').any(|f| f == p), "{p}");
        }
    }
}
