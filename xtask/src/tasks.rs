//! `cargo xtask test` and `cargo xtask ci`: every check CI runs, in order, stopping at the
//! first failure, with each step's time printed after it and all of them at the end.
//!
//! 0. set-up: the `rustfmt` and `clippy` components, the pinned nightly and the pinned
//!    cargo-deny are installed when missing, one line each (see [`crate::setup`]);
//! 1. `cargo fmt --all -- --check`
//! 2. `cargo clippy --workspace --all-targets --all-features -- -D warnings`
//! 3. `cargo xtask codegen --check` (in process), then `cargo fetch` (every target's
//!    dependencies, which cargo-deny reads even where a Linux build never downloads them)
//!    and `cargo deny --offline check licenses bans sources` (deny.toml: allowed licences,
//!    no duplicate versions, crates.io only);
//! 4. if `crates/pats` exists, `cargo test -p pats --no-default-features --lib` (no provider),
//!    `cargo check -p pats` with each of the `dfns`, `zitadel`, `sailpoint` and `gitlab`
//!    features alone (with `rustls`), a provider without a TLS backend that must fail to
//!    compile with its message, dependency-tree checks (one provider pulls in no other's crates;
//!    with every feature, no simulator: neither `pats-sim` nor `wiremock`), a `native-tls`
//!    build, and the README's quickstart (`cargo run -p pats --example quickstart`, on
//!    `pats-sim` as a dev-dependency); then
//!    the docs as docs.rs builds them (`cargo +<pinned nightly> doc --workspace
//!    --all-features --no-deps` with `RUSTDOCFLAGS="-D warnings --cfg docsrs"`; the
//!    toolchain is named in `xtask/nightly-docs`), and every publishable crate packaged,
//!    the packages extracted and checked together (see [`crate::release::check_packages`]);
//! 5. if `crates/pats-bench` exists, `cargo test -p pats-bench --benches`: every criterion
//!    benchmark once, in criterion's test mode;
//! 6. what users build: `cargo test -p <crate>` for every publishable crate alone, with its
//!    default features (so no other workspace member's features hide what that crate
//!    lacks), then the conformance suite alone (`cargo test -p pats-conformance`: pats with
//!    its default `rustls`);
//! 7. one more configuration: `cargo test --workspace --all-features` (unit, integration
//!    and doc tests, `native-tls` winning over `rustls`), and a closing `N passed, N
//!    failed` line with the totals of every test run;
//! 8. the contract report: every request the tests sent to a simulator and every answer a
//!    simulator gave (in steps 4 to 7) was checked against the vendor contracts under
//!    `contracts/` (see `pats-sim`'s `contract` feature; a violation also fails the test
//!    that caused it); the counts are printed and any violation fails the run, naming the
//!    operation and the rule.
//!
//! `ci` adds `--locked` to the commands that resolve dependencies. Cargo is run through the
//! `CARGO` environment variable (set by `cargo xtask`), falling back to `cargo`.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Error, codegen, setup};
use std::time::{Duration, Instant};

/// Which command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `cargo xtask test`: for developers.
    Test,
    /// `cargo xtask ci`: like [`Mode::Test`], but the lock file must be up to date.
    Ci,
}

/// One step of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `cargo` with these arguments, run in the workspace root.
    Cargo(Vec<String>),
    /// `cargo` with these arguments must fail, and its error output must contain `expect`
    /// (a build that must be refused, with the message users see).
    CargoMustFail {
        /// The arguments.
        args: Vec<String>,
        /// Text the error output must contain.
        expect: String,
    },
    /// `cargo` of another toolchain (`rustup run <toolchain> cargo ...`), with extra
    /// environment variables.
    Toolchain {
        /// The rustup toolchain name.
        toolchain: String,
        /// The arguments of cargo.
        args: Vec<String>,
        /// `(name, value)` set for the command.
        env: Vec<(String, String)>,
    },
    /// `cargo xtask codegen --check`, in process.
    CodegenCheck,
    /// `cargo xtask api --check`, in process: the checked-in public API of every library
    /// crate is current and uses only allowed external crates (see [`crate::api`]).
    ApiCheck,
    /// Every publishable crate packaged, the packages extracted and checked together
    /// (see [`crate::release::check_packages`]).
    PackageCheck,
    /// Nothing to run; print this note.
    Note(String),
    /// Sum up the contract checks the simulators logged during the run; fail on any
    /// violation, or when nothing was checked.
    ContractReport,
    /// `cargo tree` of `pats` with only these features must not contain these crates.
    ForbiddenDeps {
        /// The `--features` of `pats` (with `--no-default-features`).
        features: String,
        /// Crate names that must not be in the normal dependency tree.
        forbidden: Vec<String>,
    },
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::Cargo(args) => format!("cargo {}", args.join(" ")),
            Step::CargoMustFail { args, expect } => {
                format!("cargo {} (must fail with `{expect}`)", args.join(" "))
            }
            Step::Toolchain {
                toolchain,
                args,
                env,
            } => {
                let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
                format!("{}cargo +{toolchain} {}", env.concat(), args.join(" "))
            }
            Step::CodegenCheck => "cargo xtask codegen --check".to_owned(),
            Step::ApiCheck => "cargo xtask api --check".to_owned(),
            Step::PackageCheck => {
                "cargo package --no-verify (publishable crates), then cargo check --all-features \
                 of the extracted packages together"
                    .to_owned()
            }
            Step::ContractReport => {
                "contract report (requests and answers checked against contracts/)".to_owned()
            }
            Step::Note(note) => format!("note: {note}"),
            Step::ForbiddenDeps {
                features,
                forbidden,
            } => format!(
                "cargo tree -p pats --no-default-features --features {features} (without {})",
                forbidden.join(", ")
            ),
        }
    }
}

/// The nightly toolchain of the docs.rs-style doc build: docs.rs builds with nightly, and
/// `--cfg docsrs` turns on `feature(doc_cfg)` (the feature badges), which stable refuses.
/// Pinned, so that a new nightly's lints do not break CI; `.ci/run` installs it.
pub const NIGHTLY_DOCS: &str = include_str!("../nightly-docs");

/// The docs.rs-style doc build (see [`NIGHTLY_DOCS`]).
pub fn docs_step() -> Step {
    Step::Toolchain {
        toolchain: NIGHTLY_DOCS.trim().to_owned(),
        args: ["doc", "--workspace", "--all-features", "--no-deps"]
            .map(str::to_owned)
            .to_vec(),
        env: vec![(
            "RUSTDOCFLAGS".to_owned(),
            "-D warnings --cfg docsrs".to_owned(),
        )],
    }
}

/// The cargo-deny release the licence, ban and source checks are written for (`.ci/run`
/// installs it; `deny.toml` uses its configuration format).
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// The facade crate whose feature combinations are checked.
const FACADE_FEATURES: &[&str] = &["dfns", "zitadel", "sailpoint", "gitlab"];

/// Every feature of the facade (`crates/pats/Cargo.toml`), for the dependency-tree check
/// that the library, however configured, carries no simulator (tested against the
/// manifest).
const FACADE_ALL_FEATURES: &str =
    "dfns,zitadel,sailpoint,gitlab,rustls,rustls-aws-lc,native-tls,test-util,document-features";

/// What a provider crate built without a TLS backend says (its `compile_error!`).
pub const NO_TLS_MESSAGE: &str = "pats-sailpoint has no TLS backend";

/// The conformance crate, tested alone with its default features (pats on `rustls`).
pub const CONFORMANCE: &str = "pats-conformance";

/// The steps [`run`] executes for `mode` in the workspace at `root`, whose publishable
/// crates are `publishable` (each is tested alone).
pub fn plan(root: &Path, mode: Mode, publishable: &[String]) -> Vec<Step> {
    let locked = mode == Mode::Ci;
    let cargo = |args: &[&str], lockable: bool| {
        let mut args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        if locked && lockable {
            // Before any `--`, so that cargo (not the tool it runs) sees it.
            let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
            args.insert(at, "--locked".to_owned());
        }
        Step::Cargo(args)
    };
    let mut steps = vec![
        cargo(&["fmt", "--all", "--", "--check"], false),
        cargo(
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
            true,
        ),
        Step::CodegenCheck,
        // Every target's dependencies (Windows crates too): cargo-deny reads their
        // manifests, and a Linux build never downloads them.
        cargo(&["fetch"], true),
        // Licences, banned and duplicate crates, and sources of every dependency of the
        // published crates (deny.toml), from what was just fetched: no network.
        cargo(
            &["deny", "--offline", "check", "licenses", "bans", "sources"],
            false,
        ),
    ];
    if root
        .join("crates")
        .join("pats")
        .join("Cargo.toml")
        .is_file()
    {
        // No provider at all: must build, and say which feature to enable (tested).
        steps.push(cargo(
            &["test", "-p", "pats", "--no-default-features", "--lib"],
            true,
        ));
        for feature in FACADE_FEATURES {
            steps.push(cargo(
                &[
                    "check",
                    "-p",
                    "pats",
                    "--no-default-features",
                    "--features",
                    &format!("{feature},rustls"),
                ],
                true,
            ));
        }
        // A provider without a TLS backend could reach no https URL: it must not build,
        // and must say which feature to add.
        if let Step::Cargo(args) = cargo(
            &[
                "check",
                "-p",
                "pats",
                "--no-default-features",
                "--features",
                "sailpoint",
            ],
            true,
        ) {
            steps.push(Step::CargoMustFail {
                args,
                expect: NO_TLS_MESSAGE.to_owned(),
            });
        }
        // One provider pulls in only what it needs.
        steps.push(Step::ForbiddenDeps {
            features: "sailpoint,rustls".to_owned(),
            forbidden: [
                "p256",
                "jsonwebtoken",
                "rsa",
                "pats-dfns",
                "pats-zitadel",
                "wiremock",
            ]
            .map(str::to_owned)
            .to_vec(),
        });
        // The simulators are for tests and examples (pats-sim, a dev-dependency): with
        // every feature, the library pulls in no simulator and no mock server.
        steps.push(Step::ForbiddenDeps {
            features: FACADE_ALL_FEATURES.to_owned(),
            forbidden: ["pats-sim", "wiremock"].map(str::to_owned).to_vec(),
        });
        // The system TLS stack instead of rustls.
        steps.push(cargo(
            &[
                "check",
                "-p",
                "pats",
                "--no-default-features",
                "--features",
                "sailpoint,native-tls",
            ],
            true,
        ));
        // The README's quickstart: the lifecycle on every simulator must run.
        steps.push(cargo(
            &["run", "--quiet", "-p", "pats", "--example", "quickstart"],
            true,
        ));
        // Publishable: the docs as docs.rs renders them, and packages that build alone.
        steps.push(docs_step());
        // After the docs: the rustdoc JSON reuses that build's nightly dependencies.
        steps.push(Step::ApiCheck);
        steps.push(Step::PackageCheck);
    } else {
        steps.push(Step::Note(
            "crates/pats/Cargo.toml does not exist; skipping the `pats` feature matrix".to_owned(),
        ));
    }
    // The criterion benchmarks, each once in criterion's test mode, so they never rot
    // (`cargo test --workspace` does not run bench targets).
    if root.join("crates/pats-bench/Cargo.toml").is_file() {
        steps.push(cargo(&["test", "-p", "pats-bench", "--benches"], true));
    }
    // What users build: each publishable crate alone, with its default features, so that
    // no other member's features (a test crate's reqwest TLS, say) hide what it lacks.
    for krate in publishable {
        steps.push(cargo(&["test", "-p", krate], true));
    }
    // The conformance suite on the default TLS path (pats with `rustls`).
    if root.join("conformance/Cargo.toml").is_file() {
        steps.push(cargo(&["test", "-p", CONFORMANCE], true));
    }
    // One more configuration: every feature at once (`native-tls` wins over `rustls`).
    steps.push(cargo(&["test", "--workspace", "--all-features"], true));
    steps.push(Step::ContractReport);
    steps
}

/// Runs the [`plan`] for `mode`, printing each command before running it.
pub fn run(root: &Path, mode: Mode) -> Result<(), Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let started = Instant::now();
    setup::ensure(root, &cargo)?;
    let setup_time = started.elapsed();
    let publishable: Vec<String> = crate::release::workspace_crates(root)?
        .into_iter()
        .filter(|c| c.publishable)
        .map(|c| c.name)
        .collect();
    let steps = plan(root, mode, &publishable);
    let total = steps.len();
    let mut times = vec![("set-up".to_owned(), setup_time)];
    let mut counts = TestCounts::default();
    // Where the simulators log their contract checks (see `contract_report`); fresh per run.
    let contract_log = contract_log_dir(root);
    if contract_log.exists() {
        std::fs::remove_dir_all(&contract_log)
            .map_err(|e| Error::new(format!("{}: {e}", contract_log.display())))?;
    }
    for (index, step) in steps.iter().enumerate() {
        let description = step.describe();
        if let Step::Note(_) = step {
            println!("\n==> [{}/{total}] {description}", index + 1);
            continue;
        }
        println!("\n==> [{}/{total}] $ {description}", index + 1);
        let step_started = Instant::now();
        let outcome = run_step(&cargo, root, step, &contract_log, &mut counts);
        let took = step_started.elapsed();
        println!("<== [{}/{total}] {}", index + 1, seconds(took));
        times.push((description.clone(), took));
        if let Err(e) = outcome {
            print!("{}", render_times(&times, started.elapsed()));
            return Err(Error::new(format!(
                "step {}/{total} `{description}` failed: {e}",
                index + 1
            )));
        }
    }
    println!("\nall {total} steps passed");
    print!("{}", render_times(&times, started.elapsed()));
    if let Ok(report) = ContractReport::read(&contract_log) {
        println!("{}", report.summary());
    }
    // One plain closing line for whoever reads the log: the totals of every test binary.
    println!("{} passed, {} failed", counts.passed, counts.failed);
    Ok(())
}

/// `12.3 s`.
pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The time of each step, longest first, and the total.
pub fn render_times(times: &[(String, Duration)], total: Duration) -> String {
    let mut sorted: Vec<&(String, Duration)> = times.iter().collect();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.1));
    let mut out = String::from("\nstep times (longest first):\n");
    for (what, took) in sorted {
        let short: String = what.chars().take(90).collect();
        out.push_str(&format!("  {:>8}  {short}\n", seconds(*took)));
    }
    out.push_str(&format!("  {:>8}  total\n", seconds(total)));
    out
}

/// Runs one step; the error says what failed.
fn run_step(
    cargo: &OsString,
    root: &Path,
    step: &Step,
    contract_log: &Path,
    counts: &mut TestCounts,
) -> Result<(), Error> {
    match step {
        Step::Cargo(args) => {
            let status = if args.first().map(String::as_str) == Some("test") {
                run_counting_tests(cargo, args, root, contract_log, counts)
            } else {
                Command::new(cargo)
                    .args(args)
                    .current_dir(root)
                    .env(CONTRACT_LOG_VAR, contract_log)
                    .status()
            }
            .map_err(|e| Error::new(format!("could not run cargo: {e}")))?;
            if status.success() {
                Ok(())
            } else {
                Err(Error::new(status.to_string()))
            }
        }
        Step::CargoMustFail { args, expect } => check_must_fail(cargo, root, args, expect),
        Step::Toolchain {
            toolchain,
            args,
            env,
        } => run_toolchain(root, toolchain, args, env),
        Step::CodegenCheck => codegen::run(root, true),
        Step::ApiCheck => crate::api::run(root, true),
        Step::PackageCheck => crate::release::check_packages(root),
        Step::Note(_) => Ok(()),
        Step::ContractReport => {
            let report = ContractReport::read(contract_log)?;
            print!("{}", report.render());
            report.verdict()
        }
        Step::ForbiddenDeps {
            features,
            forbidden,
        } => check_forbidden_deps(cargo, root, features, forbidden),
    }
}

/// Runs `rustup run <toolchain> cargo <args>` with `env`; a toolchain that is not
/// installed is an error saying how to install it.
fn run_toolchain(
    root: &Path,
    toolchain: &str,
    args: &[String],
    env: &[(String, String)],
) -> Result<(), Error> {
    let rustup = |args: &[&str]| {
        let mut command = Command::new("rustup");
        command.args(args).current_dir(root);
        // The stable tools `cargo xtask` runs under must not leak into the other toolchain.
        for var in ["RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN"] {
            command.env_remove(var);
        }
        command
    };
    let installed = rustup(&["run", toolchain, "cargo", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if !installed {
        return Err(Error::new(format!(
            "toolchain {toolchain} is not installed (or rustup is missing); install it with \
             `rustup toolchain install {toolchain} --profile minimal`"
        )));
    }
    let mut command = rustup(&["run", toolchain, "cargo"]);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let status = command
        .status()
        .map_err(|e| Error::new(format!("could not run rustup: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!("exit status {status}")))
    }
}

/// Totals of the `test result:` lines cargo test printed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestCounts {
    /// Tests passed.
    pub passed: u64,
    /// Tests failed.
    pub failed: u64,
}

impl TestCounts {
    /// Adds the counts of one `test result: ok. 3 passed; 0 failed; ...` line.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match kind {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                _ => {}
            }
        }
    }
}

/// Runs `cargo test ...`, echoing its output while counting its `test result:` lines.
fn run_counting_tests(
    cargo: &OsString,
    args: &[String],
    root: &Path,
    contract_log: &Path,
    counts: &mut TestCounts,
) -> std::io::Result<std::process::ExitStatus> {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .env(CONTRACT_LOG_VAR, contract_log)
        .stdout(Stdio::piped())
        .spawn()?;
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::stdout().lock();
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            counts.add_line(&line);
            writeln!(out, "{line}")?;
        }
    }
    child.wait()
}

/// The environment variable through which the simulators learn where to log (see
/// `pats-sim`'s `contract` module).
pub const CONTRACT_LOG_VAR: &str = "PATS_CONTRACT_LOG";

/// `<target dir>/contract-log`.
fn contract_log_dir(root: &Path) -> std::path::PathBuf {
    crate::release::target_dir(root).join("contract-log")
}

/// What the simulators logged about the contract checks of one run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ContractReport {
    /// Exchanges checked, per provider: each is one request and one answer.
    pub checked: std::collections::BTreeMap<String, u64>,
    /// Off-contract requests from outside pats that a simulator refused, as it must.
    pub refused: u64,
    /// Findings allowed by `contracts/deviations.json`.
    pub deviations: u64,
    /// Violations: `provider operation side: rule` → (count, first detail).
    pub violations: std::collections::BTreeMap<String, (u64, String)>,
}

impl ContractReport {
    /// Reads every `*.jsonl` file under `dir` (none: an empty report).
    pub fn read(dir: &Path) -> Result<Self, Error> {
        let mut report = ContractReport::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
            Err(e) => return Err(Error::new(format!("{}: {e}", dir.display()))),
        };
        for entry in entries {
            let path = entry
                .map_err(|e| Error::new(format!("{}: {e}", dir.display())))?
                .path();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
            for line in text.lines() {
                report.add_line(line);
            }
        }
        Ok(report)
    }

    /// Adds one logged exchange; a line that is not JSON counts as a violation.
    pub fn add_line(&mut self, line: &str) {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
            self.violations
                .entry("unreadable log line".to_owned())
                .or_insert((0, line.chars().take(200).collect()))
                .0 += 1;
            return;
        };
        let text = |key: &str| entry.get(key).and_then(|v| v.as_str()).unwrap_or("?");
        *self.checked.entry(text("provider").to_owned()).or_default() += 1;
        if entry.get("refused").and_then(|v| v.as_bool()) == Some(true) {
            self.refused += 1;
        }
        let list = |key: &str| {
            entry
                .get(key)
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default()
        };
        self.deviations += list("deviations").len() as u64;
        for violation in list("violations") {
            let field = |key: &str| {
                violation
                    .get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
                    .to_owned()
            };
            let key = format!(
                "{} {} ({} {} -> {}) {}: {}",
                text("provider"),
                text("operation"),
                text("method"),
                text("path"),
                entry
                    .get("status")
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                field("side"),
                field("rule")
            );
            self.violations.entry(key).or_insert((0, field("detail"))).0 += 1;
        }
    }

    /// Exchanges checked, all providers.
    pub fn total(&self) -> u64 {
        self.checked.values().sum()
    }

    /// The one-line summary.
    pub fn summary(&self) -> String {
        let per_provider: Vec<String> = self
            .checked
            .iter()
            .map(|(provider, n)| format!("{provider} {n}"))
            .collect();
        format!(
            "contract: {n} requests and {n} answers checked against contracts/ ({}); {} \
             off-contract requests refused by the simulators; {} listed deviations; {} violations",
            per_provider.join(", "),
            self.refused,
            self.deviations,
            self.violations.values().map(|(n, _)| n).sum::<u64>(),
            n = self.total(),
        )
    }

    /// The summary and every distinct violation.
    pub fn render(&self) -> String {
        let mut out = format!("{}\n", self.summary());
        for (key, (count, detail)) in &self.violations {
            out.push_str(&format!("  VIOLATION x{count}: {key}\n      {detail}\n"));
        }
        out
    }

    /// Fails on any violation, or when nothing was checked at all.
    pub fn verdict(&self) -> Result<(), Error> {
        if self.total() == 0 {
            return Err(Error::new(format!(
                "no simulator exchange was checked against the contracts; is pats-sim's \
                 `contract` feature on, and does {CONTRACT_LOG_VAR} reach the tests?"
            )));
        }
        if !self.violations.is_empty() {
            return Err(Error::new(format!(
                "{} kinds of exchange are off the vendor contracts (listed above); fix the side \
                 that is wrong, or list a deliberate deviation with its reason in \
                 contracts/deviations.json",
                self.violations.len()
            )));
        }
        Ok(())
    }
}

/// Runs `cargo args`, which must fail with `expect` in its error output.
fn check_must_fail(
    cargo: &OsString,
    root: &Path,
    args: &[String],
    expect: &str,
) -> Result<(), Error> {
    let output = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("could not run cargo: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    must_fail_verdict(output.status.success(), &stderr, expect)
}

/// Whether a command that must fail did, with `expect` in its error output.
fn must_fail_verdict(succeeded: bool, stderr: &str, expect: &str) -> Result<(), Error> {
    if succeeded {
        Err(Error::new("it succeeded, but must fail".to_owned()))
    } else if stderr.contains(expect) {
        Ok(())
    } else {
        Err(Error::new(format!(
            "it failed without `{expect}` in its output:\n{stderr}"
        )))
    }
}

/// Lists the normal dependency tree of `pats` with `features` and fails if it contains a
/// crate in `forbidden`.
fn check_forbidden_deps(
    cargo: &OsString,
    root: &Path,
    features: &str,
    forbidden: &[String],
) -> Result<(), Error> {
    let output = Command::new(cargo)
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
            "--format",
            "{p}",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| Error::new(format!("could not run cargo tree: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    let found = forbidden_in(&tree, forbidden);
    if found.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "`pats` with features `{features}` depends on {}",
            found.join(", ")
        )))
    }
}

/// The crates of `forbidden` that name a line of a `cargo tree --format {p}` listing.
fn forbidden_in(tree: &str, forbidden: &[String]) -> Vec<String> {
    let mut found: Vec<String> = forbidden
        .iter()
        .filter(|name| {
            tree.lines()
                .any(|line| line.split_whitespace().next() == Some(name.as_str()))
        })
        .cloned()
        .collect();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(step: &Step) -> Vec<&str> {
        match step {
            Step::Cargo(args) | Step::CargoMustFail { args, .. } => {
                args.iter().map(String::as_str).collect()
            }
            _ => Vec::new(),
        }
    }

    #[test]
    fn a_must_fail_step_passes_only_on_a_failure_with_the_message() {
        let stderr = "error: pats-sailpoint has no TLS backend and could not reach SailPoint";
        assert!(must_fail_verdict(false, stderr, NO_TLS_MESSAGE).is_ok());
        assert!(must_fail_verdict(true, "", NO_TLS_MESSAGE).is_err());
        let Err(other) =
            must_fail_verdict(false, "error[E0432]: unresolved import", NO_TLS_MESSAGE)
        else {
            panic!("a failure for another reason must not pass");
        };
        assert!(other.to_string().contains("unresolved import"), "{other}");
    }

    #[test]
    fn the_feature_matrix_is_every_provider_of_the_facade() -> Result<(), Box<dyn std::error::Error>>
    {
        let manifest: toml::Table = include_str!("../../crates/pats/Cargo.toml").parse()?;
        let features = manifest
            .get("features")
            .and_then(toml::Value::as_table)
            .ok_or("no [features]")?;
        // A provider feature enables one provider crate and nothing else.
        let mut providers: Vec<&str> = features
            .iter()
            .filter(|(_, enables)| {
                enables.as_array().is_some_and(|list| {
                    list.len() == 1 && list[0].as_str().is_some_and(|f| f.starts_with("dep:pats-"))
                })
            })
            .map(|(name, _)| name.as_str())
            .collect();
        providers.sort_unstable();
        let mut listed = FACADE_FEATURES.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, providers);
        Ok(())
    }

    #[test]
    fn the_all_features_list_is_every_feature_of_the_facade()
    -> Result<(), Box<dyn std::error::Error>> {
        let manifest: toml::Table = include_str!("../../crates/pats/Cargo.toml").parse()?;
        let features = manifest
            .get("features")
            .and_then(toml::Value::as_table)
            .ok_or("no [features]")?;
        let mut expected: Vec<String> = features
            .keys()
            .filter(|name| name.as_str() != "default")
            .cloned()
            .collect();
        // An optional dependency no feature names with `dep:` is a feature of its own.
        let named = |dep: &str| {
            features.values().any(|v| {
                v.as_array().is_some_and(|list| {
                    list.iter()
                        .any(|f| f.as_str() == Some(format!("dep:{dep}").as_str()))
                })
            })
        };
        let deps = manifest
            .get("dependencies")
            .and_then(toml::Value::as_table)
            .ok_or("no [dependencies]")?;
        for (dep, spec) in deps {
            let optional = spec.get("optional").and_then(toml::Value::as_bool) == Some(true);
            if optional && !named(dep) {
                expected.push(dep.clone());
            }
        }
        expected.sort();
        let mut listed: Vec<&str> = FACADE_ALL_FEATURES.split(',').collect();
        listed.sort_unstable();
        assert_eq!(listed, expected);
        Ok(())
    }

    #[test]
    fn the_no_tls_message_is_the_one_the_provider_crate_gives() {
        let lib = include_str!("../../crates/pats-sailpoint/src/lib.rs");
        assert!(lib.contains(&format!("\"{NO_TLS_MESSAGE} ")));
    }

    #[test]
    fn forbidden_crates_are_found_by_name() {
        let tree = "pats v0.1.0 (/w/crates/pats)\np256 v0.13.2\np256-extra v1.0.0\nurl v2.5.0\n";
        let forbidden = ["p256".to_owned(), "jsonwebtoken".to_owned()];
        assert_eq!(forbidden_in(tree, &forbidden), ["p256"]);
        assert!(forbidden_in("url v2.5.0\n", &forbidden).is_empty());
    }

    #[test]
    fn the_contract_report_counts_exchanges_and_fails_on_violations() {
        let mut report = ContractReport::default();
        assert!(report.verdict().is_err(), "nothing checked must fail");
        report.add_line(r#"{"provider":"dfns","operation":"ListPersonalAccessTokens","method":"GET","path":"/auth/pats","status":200,"refused":false,"violations":[],"deviations":[]}"#);
        report.add_line(r#"{"provider":"sailpoint","operation":"?","method":"GET","path":"/x","status":400,"refused":true,"violations":[],"deviations":[{"side":"answer","rule":"r"}]}"#);
        assert_eq!(report.total(), 2);
        assert_eq!(report.refused, 1);
        assert_eq!(report.deviations, 1);
        assert_eq!(report.verdict(), Ok(()));
        assert!(
            report.summary().contains("2 requests and 2 answers"),
            "{}",
            report.summary()
        );
        assert!(
            report.summary().contains("dfns 1, sailpoint 1"),
            "{}",
            report.summary()
        );

        report.add_line(r#"{"provider":"zitadel","operation":"AddPersonalAccessToken","method":"POST","path":"/p","status":200,"refused":false,"violations":[{"side":"request","rule":"request body","detail":"at `/x`: extra"}],"deviations":[]}"#);
        report.add_line("not json");
        let error = report
            .verdict()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("2 kinds of exchange"), "{error}");
        let rendered = report.render();
        assert!(
            rendered
                .contains("zitadel AddPersonalAccessToken (POST /p -> 200) request: request body"),
            "{rendered}"
        );
        assert!(rendered.contains("at `/x`: extra"), "{rendered}");
        assert!(rendered.contains("unreadable log line"), "{rendered}");
    }

    #[test]
    fn the_contract_report_reads_every_log_file_of_a_run() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = std::env::temp_dir().join(format!("xtask-contract-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(ContractReport::read(&dir)?.total(), 0);
        std::fs::create_dir_all(&dir)?;
        let line =
            r#"{"provider":"dfns","operation":"o","status":200,"violations":[],"deviations":[]}"#;
        std::fs::write(dir.join("1.jsonl"), format!("{line}\n{line}\n"))?;
        std::fs::write(dir.join("2.jsonl"), format!("{line}\n"))?;
        assert_eq!(ContractReport::read(&dir)?.total(), 3);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn counts_test_result_lines() {
        let mut c = TestCounts::default();
        c.add_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.18s");
        c.add_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        c.add_line("running 3 tests");
        assert_eq!(
            c,
            TestCounts {
                passed: 15,
                failed: 2
            }
        );
    }

    #[test]
    fn ci_runs_the_readme_test_command_and_msrv_and_installs_nothing_itself() {
        let ci = include_str!("../../.ci/run");
        let commands: Vec<&str> = ci
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter(|l| l.starts_with("cargo ") || l.starts_with("rustup "))
            .collect();
        assert_eq!(
            commands,
            ["cargo --version", "cargo xtask test", "cargo xtask msrv"]
        );
        let readme = include_str!("../../README.md");
        assert!(readme.contains("```sh\ncargo xtask test\n```"), "README");
    }

    #[test]
    fn docs_build_like_docs_rs_with_the_pinned_nightly() {
        // One place names the toolchain; the set-up installs it.
        let pinned = NIGHTLY_DOCS.trim();
        assert!(pinned.starts_with("nightly-20"), "{pinned}");
        assert_eq!(pinned.len(), "nightly-2026-05-20".len(), "{pinned}");
        assert!(
            crate::setup::tools()
                .iter()
                .any(|t| t.install.iter().any(|w| w == pinned))
        );
        assert_eq!(
            docs_step(),
            Step::Toolchain {
                toolchain: pinned.to_owned(),
                args: vec![
                    "doc".to_owned(),
                    "--workspace".to_owned(),
                    "--all-features".to_owned(),
                    "--no-deps".to_owned()
                ],
                env: vec![(
                    "RUSTDOCFLAGS".to_owned(),
                    "-D warnings --cfg docsrs".to_owned()
                )],
            }
        );
        assert_eq!(
            docs_step().describe(),
            format!(
                "RUSTDOCFLAGS=\"-D warnings --cfg docsrs\" cargo +{pinned} doc --workspace --all-features --no-deps"
            )
        );
    }

    #[test]
    fn publishable_crates_are_packaged_and_checked_with_the_docs()
    -> Result<(), Box<dyn std::error::Error>> {
        let root = std::env::temp_dir().join(format!("xtask-package-plan-{}", std::process::id()));
        std::fs::create_dir_all(root.join("crates/pats"))?;
        std::fs::write(root.join("crates/pats/Cargo.toml"), "")?;
        let steps = plan(&root, Mode::Ci, &[]);
        std::fs::remove_dir_all(&root)?;
        assert!(steps.contains(&Step::PackageCheck));
        assert!(steps.contains(&docs_step()));
        let at = |step: &Step| steps.iter().position(|s| s == step);
        assert!(
            at(&docs_step()) < at(&Step::ApiCheck),
            "the API check reuses the docs build"
        );
        // Without the facade (no publishable crates), neither step.
        let bare = plan(Path::new("/nonexistent-workspace"), Mode::Ci, &[]);
        assert!(!bare.contains(&docs_step()));
        assert!(!bare.contains(&Step::PackageCheck));
        Ok(())
    }

    #[test]
    fn test_plan_without_facade() {
        let root = Path::new("/nonexistent-workspace");
        let steps = plan(root, Mode::Test, &[]);
        assert_eq!(steps.len(), 8);
        assert_eq!(args(&steps[0]), ["fmt", "--all", "--", "--check"]);
        assert_eq!(
            args(&steps[1]),
            [
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings"
            ]
        );
        assert_eq!(steps[2], Step::CodegenCheck);
        assert_eq!(args(&steps[3]), ["fetch"]);
        assert_eq!(
            args(&steps[4]),
            ["deny", "--offline", "check", "licenses", "bans", "sources"]
        );
        assert!(matches!(steps[5], Step::Note(_)));
        assert_eq!(args(&steps[6]), ["test", "--workspace", "--all-features"]);
        assert_eq!(steps[7], Step::ContractReport);
    }

    #[test]
    fn every_publishable_crate_is_tested_alone_then_conformance_then_all_features()
    -> Result<(), Box<dyn std::error::Error>> {
        let root = std::env::temp_dir().join(format!("xtask-alone-plan-{}", std::process::id()));
        std::fs::create_dir_all(root.join("conformance"))?;
        std::fs::write(root.join("conformance/Cargo.toml"), "")?;
        let publishable = ["pats-core".to_owned(), "pats-cli".to_owned()];
        let steps = plan(&root, Mode::Ci, &publishable);
        std::fs::remove_dir_all(&root)?;
        let tests: Vec<Vec<&str>> = steps
            .iter()
            .map(args)
            .filter(|a| a.first() == Some(&"test"))
            .collect();
        assert_eq!(
            tests,
            [
                vec!["test", "-p", "pats-core", "--locked"],
                vec!["test", "-p", "pats-cli", "--locked"],
                vec!["test", "-p", CONFORMANCE, "--locked"],
                vec!["test", "--workspace", "--all-features", "--locked"],
            ]
        );
        // Without the conformance crate, no step for it.
        let bare = plan(
            Path::new("/nonexistent-workspace"),
            Mode::Test,
            &publishable,
        );
        assert!(!bare.iter().any(|s| args(s).contains(&CONFORMANCE)));
        Ok(())
    }

    #[test]
    fn step_times_are_listed_longest_first_with_the_total() {
        let times = vec![
            ("fmt".to_owned(), Duration::from_millis(1_200)),
            ("test".to_owned(), Duration::from_millis(95_040)),
            ("clippy".to_owned(), Duration::from_millis(30_000)),
        ];
        assert_eq!(
            render_times(&times, Duration::from_secs(130)),
            "\nstep times (longest first):\n    95.0 s  test\n    30.0 s  clippy\n     1.2 s  fmt\n   \
             130.0 s  total\n"
        );
        assert_eq!(seconds(Duration::from_millis(61_449)), "61.4 s");
    }

    #[test]
    fn ci_plan_is_locked() {
        let steps = plan(Path::new("/nonexistent-workspace"), Mode::Ci, &[]);
        assert_eq!(args(&steps[0]), ["fmt", "--all", "--", "--check"]);
        assert_eq!(
            args(&steps[1]),
            [
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--locked",
                "--",
                "-D",
                "warnings"
            ]
        );
        assert_eq!(args(&steps[3]), ["fetch", "--locked"]);
        // cargo-deny reads the lock file; it takes no `--locked`.
        assert_eq!(
            args(&steps[4]),
            ["deny", "--offline", "check", "licenses", "bans", "sources"]
        );
        assert_eq!(
            args(&steps[6]),
            ["test", "--workspace", "--all-features", "--locked"]
        );
    }

    #[test]
    fn benchmarks_run_once_when_present() -> Result<(), Box<dyn std::error::Error>> {
        let root = std::env::temp_dir().join(format!("xtask-bench-plan-{}", std::process::id()));
        std::fs::create_dir_all(root.join("crates/pats-bench"))?;
        std::fs::write(root.join("crates/pats-bench/Cargo.toml"), "")?;
        let steps = plan(&root, Mode::Ci, &[]);
        std::fs::remove_dir_all(&root)?;
        let n = steps.len();
        assert_eq!(
            args(&steps[n - 3]),
            ["test", "-p", "pats-bench", "--benches", "--locked"]
        );
        assert_eq!(
            args(&steps[n - 2]),
            ["test", "--workspace", "--all-features", "--locked"]
        );
        assert_eq!(steps[n - 1], Step::ContractReport);
        Ok(())
    }

    #[test]
    fn facade_matrix_when_present() -> Result<(), Box<dyn std::error::Error>> {
        let root = std::env::temp_dir().join(format!("xtask-plan-{}", std::process::id()));
        std::fs::create_dir_all(root.join("crates/pats"))?;
        std::fs::write(root.join("crates/pats/Cargo.toml"), "")?;
        let steps = plan(&root, Mode::Test, &[]);
        std::fs::remove_dir_all(&root)?;
        let matrix: Vec<Vec<&str>> = steps[5..11].iter().map(args).collect();
        assert!(matches!(
            &steps[10],
            Step::CargoMustFail { expect, .. } if expect == NO_TLS_MESSAGE
        ));
        assert!(matches!(steps[11], Step::ForbiddenDeps { .. }));
        assert_eq!(
            matrix,
            [
                vec!["test", "-p", "pats", "--no-default-features", "--lib"],
                vec![
                    "check",
                    "-p",
                    "pats",
                    "--no-default-features",
                    "--features",
                    "dfns,rustls"
                ],
                vec![
                    "check",
                    "-p",
                    "pats",
                    "--no-default-features",
                    "--features",
                    "zitadel,rustls"
                ],
                vec![
                    "check",
                    "-p",
                    "pats",
                    "--no-default-features",
                    "--features",
                    "sailpoint,rustls"
                ],
                vec![
                    "check",
                    "-p",
                    "pats",
                    "--no-default-features",
                    "--features",
                    "gitlab,rustls"
                ],
                vec![
                    "check",
                    "-p",
                    "pats",
                    "--no-default-features",
                    "--features",
                    "sailpoint"
                ],
            ]
        );
        Ok(())
    }
}
