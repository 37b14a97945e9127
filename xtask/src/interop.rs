//! `cargo xtask interop`: the official Python and Node SDKs of Dfns, ZITADEL, SailPoint and
//! GitLab, unchanged, against `pats-sim serve`.
//!
//! 1. Checks that `python3` (3.10 or newer), `node` (18 or newer) and `npm` are on `PATH`.
//! 2. Makes a fresh temporary directory (or uses `--work-dir DIR`, installing only what is
//!    missing there) and installs the pinned SDKs into it: a venv with
//!    `pip install -r interop/requirements.txt`, and `npm ci` of `interop/node/package.json`
//!    and its committed `package-lock.json` (install scripts off). Nothing is installed
//!    into the repository.
//! 3. Builds `pats-sim` from this workspace and starts `pats-sim serve --port N` on a free
//!    port N (Dfns at N, ZITADEL at N+1, SailPoint at N+2, GitLab at N+3), then reads the
//!    shell exports of `pats-sim env --port N`. With `--exports FILE` it uses an emulator
//!    already running instead, with the exports in FILE (`pats-sim env --port N > FILE`).
//! 4. Runs every lifecycle script (`interop/python/lifecycle_*.py`,
//!    `interop/node/lifecycle_*.mjs`) with those exports `eval`ed by `sh`, as a user would,
//!    each with a time limit. A script prints one JSON line per operation:
//!    `{"sdk", "op", "result": "pass"|"fail"|"unsupported"|"skipped", "detail"}`.
//! 5. Stops the server and prints a table SDK × operation, then the detail of every
//!    failure. A failure listed in `interop/known-sdk-bugs.json` (with its evidence) is
//!    shown as `sdk-bug` instead. The run fails if any other operation failed, a script
//!    exited non-zero or timed out, or a script reported nothing.
//!
//! The table (Markdown) and every result (JSON) are also written to
//! `<target>/interop/results.{md,json}`; the server's and the scripts' logs stay in the
//! work directory, which is kept when the run fails, with `--keep` or with `--work-dir`.
//! The server is stopped with SIGINT (its clean shutdown), and killed only if it does not
//! stop within five seconds.
//!
//! It needs Python, Node and the package registries, so it is not part of `cargo xtask test`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::Error;

/// How long one lifecycle script may run.
const SCRIPT_TIME_LIMIT: Duration = Duration::from_secs(180);
/// How long the server may take to accept connections on its four ports.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
/// The canonical column order; operations not named here follow in order of appearance.
const COLUMN_ORDER: &[&str] = &[
    "auth:pat",
    "auth:bearer",
    "auth:client-credentials",
    "auth:jwt-profile",
    "create",
    "list",
    "get",
    "get-self",
    "list-filter",
    "list-owner",
    "list-state",
    "list-page",
    "list-all",
    "update",
    "bulk-update",
    "rotate",
    "rotate-self",
    "deactivate",
    "activate",
    "delete",
    "list-gone",
    "list-revoked",
    "error-401",
    "error-404",
    "error-400",
];

/// The options of `cargo xtask interop`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Install into and run from this directory instead of a fresh temporary one; kept.
    pub work_dir: Option<PathBuf>,
    /// Keep the temporary directory (logs, installs) after the run.
    pub keep: bool,
    /// Run only the scripts whose file name contains one of these strings.
    pub only: Vec<String>,
    /// Run against an emulator already running, with the shell exports in this file
    /// (`pats-sim env --port N > FILE`), instead of building and starting one.
    pub exports: Option<PathBuf>,
}

/// Parses the arguments after `interop`.
pub fn parse_args(args: &[&str]) -> Result<Options, Error> {
    let mut options = Options::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--keep" => options.keep = true,
            "--work-dir" => {
                let dir = rest
                    .next()
                    .ok_or_else(|| Error::new("--work-dir needs a directory"))?;
                options.work_dir = Some(PathBuf::from(dir));
            }
            "--exports" => {
                let file = rest.next().ok_or_else(|| {
                    Error::new("--exports needs a file (pats-sim env --port N > FILE)")
                })?;
                options.exports = Some(PathBuf::from(file));
            }
            "--only" => {
                let name = rest
                    .next()
                    .ok_or_else(|| Error::new("--only needs a name (e.g. python, sailpoint)"))?;
                options.only.push((*name).to_owned());
            }
            other => return Err(Error::new(format!("unexpected argument `{other}`"))),
        }
    }
    Ok(options)
}

/// What a script reported for one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The SDK (and variant) that ran it, e.g. `python/sailpoint v1`.
    pub sdk: String,
    /// The operation, e.g. `create` or `auth:jwt-profile`.
    pub op: String,
    /// `pass`, `fail`, `unsupported`, `skipped`, or (after [`apply_known_bugs`]) `sdk-bug`.
    pub result: String,
    /// What happened, for failures the SDK's error.
    pub detail: String,
}

/// Reads one line of a script's standard output: a result line, or `None` for anything else.
pub fn parse_line(line: &str) -> Option<Outcome> {
    let value: Value = serde_json::from_str(line.trim()).ok()?;
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    Some(Outcome {
        sdk: field("sdk")?,
        op: field("op")?,
        result: field("result")?,
        detail: field("detail").unwrap_or_default(),
    })
}

/// A failure that is the SDK's own bug, with the evidence, from `interop/known-sdk-bugs.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBug {
    /// The SDK as the script names it.
    pub sdk: String,
    /// The operation.
    pub op: String,
    /// What is wrong in the SDK.
    pub summary: String,
}

/// Reads `known-sdk-bugs.json`: `{"bugs": [{"sdk", "op", "summary", "evidence": [..]}]}`.
/// Every entry must name its evidence.
pub fn parse_known_bugs(text: &str) -> Result<Vec<KnownBug>, Error> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::new(format!("interop/known-sdk-bugs.json is not JSON: {e}")))?;
    let bugs = value
        .get("bugs")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::new("interop/known-sdk-bugs.json needs an array `bugs`"))?;
    bugs.iter()
        .enumerate()
        .map(|(i, bug)| {
            let field = |name: &str| {
                bug.get(name)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        Error::new(format!(
                            "interop/known-sdk-bugs.json: bugs[{i}] needs a non-empty `{name}`"
                        ))
                    })
            };
            let evidence = bug
                .get("evidence")
                .and_then(Value::as_array)
                .is_some_and(|e| !e.is_empty());
            if !evidence {
                return Err(Error::new(format!(
                    "interop/known-sdk-bugs.json: bugs[{i}] needs its `evidence` (SDK file and line, spec)"
                )));
            }
            Ok(KnownBug {
                sdk: field("sdk")?,
                op: field("op")?,
                summary: field("summary")?,
            })
        })
        .collect()
}

/// Marks the failures that are known SDK bugs as `sdk-bug`; returns the known bugs that did
/// not fail this time (so their entries can be reviewed).
pub fn apply_known_bugs<'a>(outcomes: &mut [Outcome], bugs: &'a [KnownBug]) -> Vec<&'a KnownBug> {
    let mut unused = Vec::new();
    for bug in bugs {
        let mut hit = false;
        for outcome in outcomes
            .iter_mut()
            .filter(|o| o.sdk == bug.sdk && o.op == bug.op && o.result == "fail")
        {
            outcome.result = "sdk-bug".to_owned();
            outcome.detail = format!("{} (SDK bug: {})", outcome.detail, bug.summary);
            hit = true;
        }
        if !hit {
            unused.push(bug);
        }
    }
    unused
}

/// The table SDK × operation, in Markdown.
pub fn render_table(outcomes: &[Outcome]) -> String {
    let mut sdks: Vec<&str> = Vec::new();
    let mut ops: Vec<&str> = Vec::new();
    let mut cells: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for o in outcomes {
        if !sdks.contains(&o.sdk.as_str()) {
            sdks.push(&o.sdk);
        }
        if !ops.contains(&o.op.as_str()) {
            ops.push(&o.op);
        }
        cells.insert((&o.sdk, &o.op), &o.result);
    }
    let rank = |op: &str| {
        COLUMN_ORDER
            .iter()
            .position(|c| *c == op)
            .unwrap_or(COLUMN_ORDER.len())
    };
    ops.sort_by_key(|op| rank(op)); // stable: unknown operations keep their order
    let mut table = String::new();
    let _ = writeln!(table, "| SDK | {} |", ops.join(" | "));
    let _ = writeln!(table, "| --- |{}", " --- |".repeat(ops.len()));
    for sdk in &sdks {
        let row: Vec<&str> = ops
            .iter()
            .map(|op| match cells.get(&(*sdk, *op)) {
                Some(&"fail") => "**FAIL**",
                Some(result) => result,
                None => "-",
            })
            .collect();
        let _ = writeln!(table, "| {sdk} | {} |", row.join(" | "));
    }
    table
}

/// How one script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRun {
    /// The script's file name.
    pub name: String,
    /// Why it counts as broken (non-zero exit, time limit, no result line), if it does.
    pub broken: Option<String>,
}

/// The verdict: the failures that make the run fail, one line each.
pub fn failures(outcomes: &[Outcome], runs: &[ScriptRun]) -> Vec<String> {
    let mut lines: Vec<String> = outcomes
        .iter()
        .filter(|o| o.result == "fail")
        .map(|o| format!("{} {}: {}", o.sdk, o.op, o.detail))
        .collect();
    lines.extend(
        runs.iter()
            .filter_map(|r| r.broken.as_ref().map(|why| format!("{}: {why}", r.name))),
    );
    lines
}

/// Runs `cargo xtask interop` in the workspace at `root`.
pub fn run(root: &Path, args: &[&str]) -> Result<(), Error> {
    let options = parse_args(args)?;
    let interop = root.join("interop");
    let known = parse_known_bugs(&read(&interop.join("known-sdk-bugs.json"))?)?;
    let scripts = scripts(&interop, &options.only)?;
    check_tools(&scripts)?;

    let (work, temporary) = match &options.work_dir {
        Some(dir) => (dir.clone(), false),
        None => (fresh_temp_dir()?, true),
    };
    fs::create_dir_all(work.join("logs"))
        .map_err(|e| Error::new(format!("could not create {}: {e}", work.display())))?;
    println!("==> work directory {}", work.display());
    let result = run_in(
        root,
        &interop,
        &work,
        &scripts,
        &known,
        options.exports.as_deref(),
    );
    // A failed run keeps its directory: the logs are what explains it.
    if temporary && !options.keep && result.is_ok() {
        let _ = fs::remove_dir_all(&work);
    } else {
        println!("==> logs and installs kept in {}", work.display());
    }
    result
}

fn run_in(
    root: &Path,
    interop: &Path,
    work: &Path,
    scripts: &[Script],
    known: &[KnownBug],
    given_exports: Option<&Path>,
) -> Result<(), Error> {
    if scripts.iter().any(|s| s.kind == Kind::Python) {
        install_python(interop, work)?;
    }
    if scripts.iter().any(|s| s.kind == Kind::Node) {
        install_node(interop, work)?;
    }
    let (mut server, exports) = match given_exports {
        Some(file) => {
            println!("==> using the running emulator of {}", file.display());
            (None, read(file)?)
        }
        None => {
            let sim = build_sim(root)?;
            let server = Server::start(&sim, &work.join("logs").join("pats-sim.log"))?;
            let exports = server.exports.clone();
            (Some(server), exports)
        }
    };
    fs::write(work.join("exports.sh"), &exports)
        .map_err(|e| Error::new(format!("could not write exports.sh: {e}")))?;

    let mut outcomes = Vec::new();
    let mut runs = Vec::new();
    for script in scripts {
        let (mut found, run) = run_script(script, interop, work, &exports);
        outcomes.append(&mut found);
        runs.push(run);
    }
    if let Some(server) = server.as_mut() {
        server.stop();
    }

    let unused = apply_known_bugs(&mut outcomes, known);
    let table = render_table(&outcomes);
    println!("\n{table}");
    for o in outcomes.iter().filter(|o| o.result == "sdk-bug") {
        println!("sdk-bug  {} {}: {}", o.sdk, o.op, o.detail);
    }
    for bug in unused {
        println!(
            "note: the known SDK bug `{} {}` did not fail this run; review its entry in interop/known-sdk-bugs.json",
            bug.sdk, bug.op
        );
    }
    write_results(root, &table, &outcomes);
    let failed = failures(&outcomes, &runs);
    for line in &failed {
        println!("FAIL  {line}");
    }
    let passed = outcomes.iter().filter(|o| o.result == "pass").count();
    let counted = outcomes
        .iter()
        .filter(|o| o.result == "pass" || o.result == "fail")
        .count();
    println!(
        "interop: {passed} passed, {} failed ({} unsupported, {} sdk-bug, {} skipped)",
        counted - passed,
        count(&outcomes, "unsupported"),
        count(&outcomes, "sdk-bug"),
        count(&outcomes, "skipped"),
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "{} interop failure(s); logs in {}",
            failed.len(),
            work.join("logs").display()
        )))
    }
}

fn count(outcomes: &[Outcome], result: &str) -> usize {
    outcomes.iter().filter(|o| o.result == result).count()
}

fn read(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path)
        .map_err(|e| Error::new(format!("could not read {}: {e}", path.display())))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Python,
    Node,
}

#[derive(Debug, Clone)]
struct Script {
    kind: Kind,
    path: PathBuf,
    name: String,
}

/// The lifecycle scripts, Python first, each kind in file-name order.
fn scripts(interop: &Path, only: &[String]) -> Result<Vec<Script>, Error> {
    let mut found = Vec::new();
    for (kind, dir, ext) in [(Kind::Python, "python", "py"), (Kind::Node, "node", "mjs")] {
        let dir = interop.join(dir);
        let entries = fs::read_dir(&dir)
            .map_err(|e| Error::new(format!("could not read {}: {e}", dir.display())))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with("lifecycle_") && n.ends_with(&format!(".{ext}")))
            .collect();
        names.sort();
        for name in names {
            let label = format!(
                "{}/{name}",
                if kind == Kind::Python {
                    "python"
                } else {
                    "node"
                }
            );
            if only.is_empty() || only.iter().any(|o| label.contains(o.as_str())) {
                found.push(Script {
                    kind,
                    path: dir.join(&name),
                    name: label,
                });
            }
        }
    }
    if found.is_empty() {
        return Err(Error::new(
            "no lifecycle script matches (interop/{python,node}/lifecycle_*)",
        ));
    }
    Ok(found)
}

/// `(major, minor)` from a version string such as `Python 3.11.7` or `v20.1.0`.
fn version_of(text: &str) -> Option<(u32, u32)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let mut parts = text[start..].split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn tool_version(program: &str) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    output.status.success().then(|| text.trim().to_owned())
}

fn check_tools(scripts: &[Script]) -> Result<(), Error> {
    let mut needed: Vec<(&str, (u32, u32), &str)> = Vec::new();
    if scripts.iter().any(|s| s.kind == Kind::Python) {
        needed.push((
            "python3",
            (3, 10),
            "Python 3.10 or newer (with the venv module)",
        ));
    }
    if scripts.iter().any(|s| s.kind == Kind::Node) {
        needed.push(("node", (18, 0), "Node.js 18 or newer"));
        needed.push(("npm", (7, 0), "npm 7 or newer"));
    }
    let mut missing = Vec::new();
    for (program, minimum, what) in needed {
        match tool_version(program)
            .as_deref()
            .map(|v| (v.to_owned(), version_of(v)))
        {
            Some((_, Some(version))) if version >= minimum => {}
            Some((text, _)) => missing.push(format!("`{program}` is {text}; interop needs {what}")),
            None => missing.push(format!(
                "`{program}` was not found on PATH; interop needs {what}"
            )),
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "cargo xtask interop runs the official Python and Node SDKs:\n  {}",
            missing.join("\n  ")
        )))
    }
}

fn fresh_temp_dir() -> Result<PathBuf, Error> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("pats-interop-{}-{nanos}", std::process::id()));
    fs::create_dir(&dir)
        .map_err(|e| Error::new(format!("could not create {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Runs a command to completion with its output in `log`; fails with the log's tail.
fn run_logged(what: &str, command: &mut Command, log: &Path) -> Result<(), Error> {
    let file = fs::File::create(log)
        .map_err(|e| Error::new(format!("could not create {}: {e}", log.display())))?;
    let err = file
        .try_clone()
        .map_err(|e| Error::new(format!("could not open {}: {e}", log.display())))?;
    println!("==> {what}");
    let status = command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .status()
        .map_err(|e| Error::new(format!("{what}: could not start: {e}")))?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(20).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(Error::new(format!(
        "{what} failed ({status}); last lines of {}:\n{}",
        log.display(),
        tail.join("\n")
    )))
}

/// A stamp file holding what was installed, so `--work-dir` reinstalls only on a change.
fn installed(stamp: &Path, content: &str) -> bool {
    fs::read_to_string(stamp).is_ok_and(|s| s == content)
}

fn install_python(interop: &Path, work: &Path) -> Result<(), Error> {
    let requirements = interop.join("requirements.txt");
    let pins = read(&requirements)?;
    let venv = work.join("venv");
    let stamp = venv.join("pats-interop.stamp");
    if installed(&stamp, &pins) {
        println!("==> Python SDKs already installed in {}", venv.display());
        return Ok(());
    }
    let logs = work.join("logs");
    run_logged(
        "python3 -m venv (fresh)",
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        &logs.join("venv.log"),
    )?;
    run_logged(
        "pip install -r interop/requirements.txt",
        Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
            ])
            .arg(&requirements),
        &logs.join("pip.log"),
    )?;
    fs::write(&stamp, pins)
        .map_err(|e| Error::new(format!("could not write {}: {e}", stamp.display())))
}

fn install_node(interop: &Path, work: &Path) -> Result<(), Error> {
    let node = work.join("node");
    fs::create_dir_all(&node)
        .map_err(|e| Error::new(format!("could not create {}: {e}", node.display())))?;
    let lock = read(&interop.join("node").join("package-lock.json"))?;
    let manifest = read(&interop.join("node").join("package.json"))?;
    let stamp = node.join("pats-interop.stamp");
    let content = format!("{manifest}\n{lock}");
    if installed(&stamp, &content) {
        println!("==> Node SDKs already installed in {}", node.display());
        return Ok(());
    }
    fs::write(node.join("package.json"), &manifest)
        .and_then(|()| fs::write(node.join("package-lock.json"), &lock))
        .map_err(|e| Error::new(format!("could not copy the npm manifest: {e}")))?;
    run_logged(
        "npm ci (interop/node/package-lock.json)",
        Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&node),
        &work.join("logs").join("npm.log"),
    )?;
    fs::write(&stamp, content)
        .map_err(|e| Error::new(format!("could not write {}: {e}", stamp.display())))
}

/// Builds `pats-sim` and returns the path of its executable.
fn build_sim(root: &Path) -> Result<PathBuf, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    println!("==> cargo build -p pats-sim --bin pats-sim");
    let output = Command::new(cargo)
        .args([
            "build",
            "-p",
            "pats-sim",
            "--bin",
            "pats-sim",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::new(format!("could not run cargo build: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "cargo build -p pats-sim failed ({})",
            output.status
        )));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "pats-sim")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .ok_or_else(|| Error::new("cargo build -p pats-sim reported no pats-sim executable"))
}

/// A running `pats-sim serve --port 0 --json`: it binds four free ports itself (no race
/// for them) and says which, and the variables, on its first line.
struct Server {
    child: Child,
    /// The shell exports of the variables it printed.
    exports: String,
    /// Its stdout, kept open until it stops.
    _stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl Server {
    fn start(sim: &Path, log: &Path) -> Result<Self, Error> {
        let err = fs::File::create(log)
            .map_err(|e| Error::new(format!("could not create {}: {e}", log.display())))?;
        println!("==> pats-sim serve --port 0 --json");
        let mut child = Command::new(sim)
            .args(["serve", "--port", "0", "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| Error::new(format!("could not start {}: {e}", sim.display())))?;
        let stdout = child.stdout.take();
        let mut server = Server {
            child,
            exports: String::new(),
            _stdout: None,
        };
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = stdout.map(BufReader::new);
            let read = match reader.as_mut() {
                Some(r) => r.read_line(&mut line).map(|_| line),
                None => Err(std::io::Error::other("no stdout")),
            };
            let _ = sender.send((read, reader));
        });
        let fail = |server: &mut Server, what: String| {
            server.stop();
            Err(Error::new(format!(
                "pats-sim {what}; see {}",
                log.display()
            )))
        };
        let (line, reader) = match receiver.recv_timeout(STARTUP_LIMIT) {
            Ok((Ok(line), reader)) if !line.is_empty() => (line, reader),
            Ok(_) => return fail(&mut server, "exited before serving".to_owned()),
            Err(_) => {
                return fail(
                    &mut server,
                    format!("did not serve within {}s", STARTUP_LIMIT.as_secs()),
                );
            }
        };
        server._stdout = reader;
        let started: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => return fail(&mut server, format!("printed no JSON line ({e})")),
        };
        match shell_exports(&started["env"]) {
            Ok(exports) => server.exports = exports,
            Err(e) => return fail(&mut server, e),
        }
        println!(
            "==> pats-sim serves Dfns on {}, ZITADEL on {}, SailPoint on {}, GitLab on {}",
            started["dfns"], started["zitadel"], started["sailpoint"], started["gitlab"]
        );
        Ok(server)
    }

    /// Stops the server as Ctrl-C would (SIGINT, for its clean shutdown), then kills it if
    /// it is still running after five seconds.
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let interrupted = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        while interrupted && Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                if !status.success() {
                    eprintln!("warning: pats-sim exited with {status} on SIGINT");
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("warning: pats-sim did not stop on SIGINT within 5 s; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `env` (`{"NAME": "value"}`) as shell `export` lines, each value single-quoted.
fn shell_exports(env: &Value) -> Result<String, String> {
    let env = env.as_object().ok_or("printed no \"env\" object")?;
    let mut out = String::new();
    for (name, value) in env {
        let valid = name
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_uppercase() || (i > 0 && b.is_ascii_digit()));
        let value = value.as_str().filter(|v| !v.contains('\0'));
        match value {
            Some(v) if valid && !name.is_empty() => {
                let _ = writeln!(out, "export {name}='{}'", v.replace('\'', r"'\''"));
            }
            _ => return Err(format!("printed an unusable variable {name:?}")),
        }
    }
    Ok(out)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs one script with the exports `eval`ed by `sh`; returns its result lines and how it ended.
fn run_script(
    script: &Script,
    interop: &Path,
    work: &Path,
    exports: &str,
) -> (Vec<Outcome>, ScriptRun) {
    let mut run = ScriptRun {
        name: script.name.clone(),
        broken: None,
    };
    let (program, dir) = match script.kind {
        Kind::Python => (
            work.join("venv").join("bin").join("python"),
            interop.join("python"),
        ),
        Kind::Node => (PathBuf::from("node"), work.join("node")),
    };
    let target = match script.kind {
        Kind::Python => script.path.clone(),
        // ES modules resolve packages next to the importing file: run a copy beside node_modules.
        Kind::Node => {
            let file = script
                .path
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_default();
            let copies = ["common.mjs"]
                .iter()
                .map(|n| (interop.join("node").join(n), dir.join(n)))
                .chain(std::iter::once((script.path.clone(), dir.join(&file))));
            for (from, to) in copies {
                if let Err(e) = fs::copy(&from, &to) {
                    run.broken = Some(format!("could not copy {}: {e}", from.display()));
                    return (Vec::new(), run);
                }
            }
            dir.join(file)
        }
    };
    let log_name = script.name.replace('/', "-");
    let stderr_log = work.join("logs").join(format!("{log_name}.stderr.log"));
    let stderr = match fs::File::create(&stderr_log) {
        Ok(file) => file,
        Err(e) => {
            run.broken = Some(format!("could not create {}: {e}", stderr_log.display()));
            return (Vec::new(), run);
        }
    };
    println!("==> {}", script.name);
    let child = Command::new("sh")
        .args(["-c", "eval \"$PATS_INTEROP_EXPORTS\" && exec \"$@\"", "sh"])
        .arg(&program)
        .arg(&target)
        .env("PATS_INTEROP_EXPORTS", exports)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONWARNINGS", "ignore")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            run.broken = Some(format!("could not start: {e}"));
            return (Vec::new(), run);
        }
    };
    let Some(stdout) = child.stdout.take() else {
        run.broken = Some("no stdout".to_owned());
        return (Vec::new(), run);
    };
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match parse_line(&line) {
                Some(outcome) => {
                    println!("    {:<11} {} {}", outcome.result, outcome.sdk, outcome.op);
                    lines.push(outcome);
                }
                None => eprintln!("    | {line}"),
            }
        }
        lines
    });
    let deadline = Instant::now() + SCRIPT_TIME_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break None,
        }
    };
    let outcomes = reader.join().unwrap_or_default();
    match status {
        None => {
            run.broken = Some(format!(
                "did not finish within {}s (killed); see {}",
                SCRIPT_TIME_LIMIT.as_secs(),
                stderr_log.display()
            ));
        }
        Some(status) if !status.success() => {
            let mut tail = String::new();
            if let Ok(mut file) = fs::File::open(&stderr_log) {
                let _ = file.read_to_string(&mut tail);
            }
            let last: Vec<&str> = tail.lines().rev().take(3).collect();
            run.broken = Some(format!(
                "exited with {status}: {}",
                last.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
        }
        Some(_) if outcomes.is_empty() => run.broken = Some("reported no operation".to_owned()),
        Some(_) => {}
    }
    (outcomes, run)
}

fn write_results(root: &Path, table: &str, outcomes: &[Outcome]) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("interop");
    let json: Vec<Value> = outcomes
        .iter()
        .map(|o| serde_json::json!({"sdk": o.sdk, "op": o.op, "result": o.result, "detail": o.detail}))
        .collect();
    let written = fs::create_dir_all(&dir)
        .and_then(|()| fs::write(dir.join("results.md"), table))
        .and_then(|()| {
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            fs::write(dir.join("results.json"), text)
        });
    match written {
        Ok(()) => println!("==> results in {}", dir.display()),
        Err(e) => eprintln!("warning: could not write {}: {e}", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(sdk: &str, op: &str, result: &str) -> Outcome {
        Outcome {
            sdk: sdk.to_owned(),
            op: op.to_owned(),
            result: result.to_owned(),
            detail: String::new(),
        }
    }

    #[test]
    fn the_servers_variables_become_quoted_exports_and_odd_names_are_refused() {
        let env = serde_json::json!({"A_1": "it's $(x)", "B": "two\nlines"});
        assert_eq!(
            shell_exports(&env),
            Ok("export A_1='it'\\''s $(x)'\nexport B='two\nlines'\n".to_owned())
        );
        for bad in [
            serde_json::json!({"X;touch p": "1"}),
            serde_json::json!({"1A": "1"}),
            serde_json::json!({"": "1"}),
            serde_json::json!({"A": 1}),
            serde_json::json!({"A": "nul\u{0}"}),
            serde_json::json!("export A=1"),
        ] {
            assert!(shell_exports(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn result_lines_are_read_and_other_lines_ignored() {
        let line = r#"{"sdk":"python/sailpoint v1","op":"create","result":"pass","detail":"ok"}"#;
        assert_eq!(
            parse_line(line),
            Some(Outcome {
                sdk: "python/sailpoint v1".to_owned(),
                op: "create".to_owned(),
                result: "pass".to_owned(),
                detail: "ok".to_owned(),
            })
        );
        assert_eq!(parse_line("Unable to fetch access token."), None);
        assert_eq!(parse_line(r#"{"sdk":"x","op":"y"}"#), None);
    }

    #[test]
    fn the_table_orders_columns_and_marks_failures() {
        let outcomes = vec![
            outcome("node/a", "delete", "pass"),
            outcome("node/a", "create", "fail"),
            outcome("node/a", "custom", "pass"),
            outcome("python/b", "auth:pat", "pass"),
            outcome("python/b", "get", "unsupported"),
        ];
        let table = render_table(&outcomes);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| SDK | auth:pat | create | get | delete | custom |"
        );
        assert_eq!(lines[2], "| node/a | - | **FAIL** | - | pass | pass |");
        assert_eq!(lines[3], "| python/b | pass | - | unsupported | - | - |");
    }

    #[test]
    fn known_bugs_need_evidence_and_turn_failures_into_sdk_bugs() -> Result<(), Error> {
        let refused = parse_known_bugs(r#"{"bugs":[{"sdk":"a","op":"b","summary":"c"}]}"#);
        assert!(refused.is_err());
        let bugs = parse_known_bugs(
            r#"{"bugs":[{"sdk":"node/a","op":"create","summary":"signs other bytes","evidence":["x.js:1"]},
                        {"sdk":"node/a","op":"get","summary":"s","evidence":["y"]}]}"#,
        )?;
        let mut outcomes = vec![
            outcome("node/a", "create", "fail"),
            outcome("node/a", "list", "fail"),
        ];
        let unused = apply_known_bugs(&mut outcomes, &bugs);
        assert_eq!(outcomes[0].result, "sdk-bug");
        assert_eq!(unused.len(), 1);
        let runs = vec![
            ScriptRun {
                name: "node/x.mjs".to_owned(),
                broken: None,
            },
            ScriptRun {
                name: "python/y.py".to_owned(),
                broken: Some("timed out".to_owned()),
            },
        ];
        assert_eq!(
            failures(&outcomes, &runs),
            vec![
                "node/a list: ".to_owned(),
                "python/y.py: timed out".to_owned()
            ]
        );
        Ok(())
    }

    #[test]
    fn the_committed_pins_are_exact_and_the_known_bugs_readable() -> Result<(), Error> {
        let interop = crate::workspace_root()?.join("interop");
        parse_known_bugs(&read(&interop.join("known-sdk-bugs.json"))?)?;
        let requirements = read(&interop.join("requirements.txt"))?;
        for line in requirements.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            assert!(
                line.split_once("==")
                    .is_some_and(|(n, v)| !n.is_empty() && !v.is_empty()),
                "requirements.txt: `{line}` is not an exact pin"
            );
        }
        let manifest: Value = serde_json::from_str(&read(&interop.join("node/package.json"))?)
            .map_err(|e| Error::new(e.to_string()))?;
        let deps = manifest["dependencies"]
            .as_object()
            .ok_or_else(|| Error::new("package.json has no dependencies"))?;
        for (name, version) in deps {
            let version = version.as_str().unwrap_or_default();
            assert!(
                !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "package.json: {name} {version} is not an exact version"
            );
        }
        let lock: Value = serde_json::from_str(&read(&interop.join("node/package-lock.json"))?)
            .map_err(|e| Error::new(e.to_string()))?;
        for name in deps.keys() {
            let locked = &lock["packages"][format!("node_modules/{name}")]["version"];
            assert_eq!(
                locked, &deps[name],
                "package-lock.json does not lock {name} at its pin"
            );
        }
        Ok(())
    }

    #[test]
    fn arguments_and_versions() -> Result<(), Error> {
        let options = parse_args(&[
            "--keep",
            "--only",
            "node",
            "--work-dir",
            "/tmp/x",
            "--exports",
            "e.sh",
        ])?;
        assert_eq!(options.exports, Some(PathBuf::from("e.sh")));
        assert!(options.keep);
        assert_eq!(options.only, vec!["node".to_owned()]);
        assert_eq!(options.work_dir, Some(PathBuf::from("/tmp/x")));
        assert!(parse_args(&["--bogus"]).is_err());
        assert_eq!(version_of("Python 3.11.7"), Some((3, 11)));
        assert_eq!(version_of("v20.20.2"), Some((20, 20)));
        assert_eq!(version_of("11.19.1"), Some((11, 19)));
        assert_eq!(version_of("none"), None);
        Ok(())
    }
}
