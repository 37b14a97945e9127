//! Benchmarks of `pats`: what the SDK costs over hand-written HTTP, measured on loopback in
//! one run, as ratios to the physical floor. Run them with `cargo xtask bench`, which runs
//! the criterion benchmarks of sections 1 and 2 (`cargo bench -p pats-bench --bench calls`),
//! then this crate's runner (`cargo run --release -p pats-bench`) for sections 3 to 6, which
//! also reads criterion's medians; the figures go to `target/bench/results.md` and
//! `target/bench/results.json` (`results-partial.*` for a quick run or a run of some
//! sections).
//!
//! 1. **Overhead per call**: each provider's list and get (and ZITADEL create and remove;
//!    GitLab create, native rotate and revoke), typed and through `dyn PersonalAccessTokens`,
//!    against a hand-written `reqwest` request with the same bytes whose answer is parsed
//!    into `serde_json::Value`. The server records both requests and the run fails unless
//!    they are identical (method, target, credential header, body). Goal: `pats / raw ≤
//!    1.10` at the median. With `--peers` ([`peers`]), GitLab's calls also against the
//!    `gitlab` crate, built in a generated project outside the workspace.
//! 2. **Dfns signed change**: one update through `pats` against three raw round trips plus
//!    one P-256 signature (goal ≤ 1.15), and the signature alone.
//! 3. **SailPoint cold start**: 1,000 concurrent list calls on a fresh client; exactly one
//!    token request (asserted), p50 and p99 latency.
//! 4. **Large lists**: 10,000 and 100,000 tokens per provider (time, MB/s, peak heap from a
//!    counting allocator), and ZITADEL `list_all` over 100,000 tokens in pages of 1,000;
//!    and scrubbing secrets out of hostile 4 MiB bodies ([`scrub`]).
//! 5. **Build cost**: crates in the dependency tree per provider feature; clean release
//!    build times with `--build-cost`.
//! 6. **Emulator** ([`emulator`]): `pats-sim` answering a SailPoint list of 20 tokens under
//!    load (requests/s, target ≥ 20,000 on 2 cores; p50/p99) against a minimal hyper
//!    server answering the same bytes; heap per token with 1,000,000 tokens stored; startup
//!    to the first answer, in-process and as the release binary (target ≤ 50 ms).
//! 7. **Many tenants** ([`fleet`]): `pats audit --all` over 100 profiles × 1,000 tokens on
//!    the ZITADEL emulator against the same pages fetched with `reqwest` at the same
//!    concurrency, and the `pats` process's peak RSS at 1,000 and 100 tokens per profile.
//!
//! The server ([`server`]) answers from pre-built bytes on its own thread, so it is never
//! the bottleneck. Sections 1 and 2 are criterion benchmarks ([`calls`]); the runner's own
//! measurements (sections 3 and 4) warm up, then report medians and percentiles of sorted
//! samples, and count heap bytes with a counting allocator.
//!
//! [`run`] with [`Options::quick`] runs sections 3 to 6 once with small sizes; the crate's
//! test does that, so `cargo test --workspace` compiles and exercises them, and
//! `cargo test -p pats-bench --benches` runs every criterion benchmark once (both are steps
//! of `cargo xtask test`).

pub mod alloc;
pub mod build_cost;
pub mod calls;
pub mod cold_client;
pub mod cold_start;
pub mod emulator;
pub mod fixtures;
pub mod fleet;
pub mod large_lists;
pub mod measure;
pub mod peers;
pub mod raw;
pub mod report;
pub mod scrub;
pub mod server;

pub use measure::{BoxError, Result};
pub use report::{Report, Row};

use measure::Plan;
use std::path::{Path, PathBuf};

/// Every heap allocation of the benchmarks (and of their tests) is counted.
#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// One iteration of everything, small sizes (the test mode).
    pub quick: bool,
    /// Also time clean release builds (slow).
    pub build_times: bool,
    /// Also build the peer SDKs (the `gitlab` crate, from crates.io) and measure `pats`
    /// against them (section 1; slow the first time).
    pub peers: bool,
    /// The workspace root (for `cargo tree` and the builds).
    pub workspace: PathBuf,
    /// The target directory (results go to `<target>/bench/`).
    pub target: PathBuf,
    /// Only these sections (1 to 6); all when empty.
    pub sections: Vec<usize>,
    /// Criterion's output directory, where sections 1 and 2 are read from.
    pub criterion: PathBuf,
    /// Criterion results written before this are refused (from an earlier run).
    pub since: Option<std::time::SystemTime>,
}

impl Options {
    /// The full run, for this workspace.
    pub fn full() -> Self {
        let workspace = workspace_root();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let criterion = std::env::var_os("CRITERION_HOME")
            .map_or_else(|| target.join("criterion"), PathBuf::from);
        Self {
            quick: false,
            build_times: false,
            peers: false,
            workspace,
            target,
            sections: Vec::new(),
            criterion,
            since: None,
        }
    }

    /// The quick test-mode run.
    pub fn quick() -> Self {
        Self {
            quick: true,
            ..Self::full()
        }
    }
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

/// CPU model, cores, OS and the compiler, as far as they can be read.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    let rustc =
        std::process::Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| "rustc ?".to_owned());
    let profile = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    format!("{cpu}, {cores} cores, {os}, {rustc}, {profile}")
}

/// Runs every section and returns the figures.
pub fn run(options: &Options) -> Result<Report> {
    let mut report = Report {
        machine: machine(),
        quick: options.quick,
        ..Report::default()
    };
    if !alloc::active() {
        return Err("the counting allocator is not installed".into());
    }
    let q = options.quick;
    let (concurrency, rounds) = if q { (100, 1) } else { (1000, 5) };
    let sizes: &[usize] = if q { &[200, 1000] } else { &[10_000, 100_000] };
    let list_plans = if q {
        [Plan::new(0, 1), Plan::new(0, 1)]
    } else {
        [Plan::new(2, 15), Plan::new(1, 4)]
    };
    let (total, page) = if q { (500, 100) } else { (100_000, 1000) };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let wanted = |n: usize| options.sections.is_empty() || options.sections.contains(&n);
    if q {
        report.notes.push(
            "Sections 1 and 2 are criterion benchmarks: `cargo test -p pats-bench --benches` \
             runs each once."
                .to_owned(),
        );
    } else if wanted(1) || wanted(2) {
        eprintln!(
            "sections 1 and 2: criterion's medians from {}",
            options.criterion.display()
        );
        calls::import(
            &options.criterion,
            options.since,
            wanted(1),
            wanted(2),
            &mut report,
        )?;
    }
    if options.peers && wanted(1) {
        if q {
            report.notes.push(
                "The peer comparison (`--peers`) does not run in quick mode: it builds the \
                 `gitlab` crate from crates.io."
                    .to_owned(),
            );
        } else {
            eprintln!("section 1: pats against the gitlab crate ...");
            peers::section1_gitlab(&options.workspace, &options.target, &mut report)?;
        }
    }
    runtime.block_on(async {
        if wanted(3) {
            // First: its first client is the process's first, which pays the one-time
            // TLS and HTTP set-up.
            eprintln!("section 3: 1,000 SailPoint clients constructed ...");
            cold_client::section3_cold_client(1000, rounds, &mut report).await?;
            eprintln!("section 3: SailPoint cold start ...");
            cold_start::section3(concurrency, rounds, &mut report).await?;
        }
        if wanted(4) {
            eprintln!("section 4: large lists ...");
            large_lists::section4(sizes, &list_plans, total, page, &mut report).await?;
            scrub::section4_scrub(q, &mut report)?;
            report.notes.push(format!(
                "Large-list clients raise `ClientOptions::max_response_bytes` to {} MiB (the default, 4 MiB, is less than a list of 10,000 Dfns or SailPoint tokens).",
                large_lists::MAX_RESPONSE_BYTES / (1024 * 1024)
            ));
        }
        Ok::<(), BoxError>(())
    })?;
    drop(runtime);
    if wanted(6) {
        // Outside the runtime above: the section runs a load generator of its own, and
        // the emulators it starts are stopped (their threads joined) when dropped.
        let sizes = if q {
            emulator::Sizes::quick()
        } else {
            emulator::Sizes::full()
        };
        emulator::section6(sizes, &mut report)?;
    }
    if wanted(7) {
        eprintln!("section 7: pats audit --all over many profiles ...");
        fleet::section7(q, &options.workspace, &options.target, &mut report)?;
    }
    let missed: Vec<String> = report
        .failures()
        .iter()
        .filter(|r| r.goal.is_some())
        .map(|r| format!("{} ({:.3})", r.name, r.ratio().unwrap_or_default()))
        .collect();
    if !missed.is_empty() {
        report.notes.push(format!(
            "Goals missed: {}. Where the time goes: each row's note splits the overhead into \
             the transport, the client layer and the trait layer; the transport's CPU steps \
             are the \"transport anatomy\" rows; a cache profile is in crates/pats-bench/README.md, \
             \"Where the time goes on small calls\", followed by what would close the gap.",
            missed.join(", ")
        ));
    }
    if wanted(5) {
        eprintln!("section 5: build cost ...");
        build_cost::section5(
            &options.workspace,
            &options.target,
            options.build_times,
            &mut report,
        )?;
    }
    Ok(report)
}

/// Writes `<name>.md` and `<name>.json` under `<target>/bench/` and returns their paths.
pub fn write(report: &Report, target: &Path, name: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)?;
    let md = dir.join(format!("{name}.md"));
    let json = dir.join(format!("{name}.json"));
    std::fs::write(&md, report.markdown())?;
    std::fs::write(&json, serde_json::to_string_pretty(&report.json())?)?;
    Ok((md, json))
}
