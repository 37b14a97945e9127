//! Section 1 against a peer SDK (`--peers`): `pats` against the `gitlab` crate
//! (crates.io, [`GITLAB_CRATE`]) on the same GitLab calls, on the same canned-bytes server.
//!
//! The `gitlab` crate is heavy and is no dependency of the workspace: like the official
//! Dfns SDK of section 5 ([`crate::build_cost`]), it lives in a small project generated
//! under `<target>/bench/peers/gitlab/` ([`generate`]: its own `Cargo.lock`, started from
//! the workspace's so that `pats` and its dependencies are the very versions the workspace
//! builds, and not part of any workspace), built in release into
//! `<target>/bench/peers/target/` only when asked. Its program (`peers/gitlab.rs` of this
//! crate) depends on `pats` by path and on the `gitlab` crate, and measures both in the
//! same process, in rounds that call one and then the other (alternating which goes
//! first), so that drift hits both alike; it prints each side's median per call as JSON
//! ([`parse`]).
//!
//! Before measuring, the runner records what each side sends for each operation (the
//! program's `--once`) and puts the differences in the rows' notes ([`differences`]): the
//! `gitlab` crate ends every URL without query parameters with `?`, and sends create and
//! rotate bodies form-encoded where `pats` sends JSON.

use crate::calls;
use crate::measure::Result;
use crate::report::{Report, Row};
use crate::server::{Recorded, Server};
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `gitlab` crate version compared with (pinned exactly).
pub const GITLAB_CRATE: &str = "0.1905.0";

/// The peer program, written as the generated project's `src/main.rs`.
pub const PROGRAM: &str = include_str!("../peers/gitlab.rs");

/// The package (and binary) name of the generated project.
pub const PACKAGE: &str = "pats-bench-gitlab-peer";

/// The operations the program measures, in its order, with the row name of each.
pub const OPERATIONS: [(&str, &str); 5] = [
    ("list", "GitLab list (20 tokens, state=active)"),
    ("get", "GitLab get"),
    ("create", "GitLab create (for a user)"),
    ("rotate", "GitLab rotate (native)"),
    ("revoke", "GitLab revoke"),
];

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// The generated project's `Cargo.toml`: `pats` (with `gitlab`) by path from `workspace`,
/// the `gitlab` crate pinned to [`GITLAB_CRATE`], and what the program uses.
pub fn manifest(workspace: &Path) -> String {
    let pats = workspace.join("crates").join("pats");
    // A TOML basic string: escape what it cannot hold as is.
    let pats = pats
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"[package]
name = "{PACKAGE}"
version = "0.0.0"
edition = "2024"
publish = false

# Not part of any enclosing workspace.
[workspace]

[dependencies]
gitlab = "={GITLAB_CRATE}"
pats = {{ path = "{pats}", default-features = false, features = ["gitlab", "rustls"] }}
chrono = {{ version = "0.4", default-features = false, features = ["std", "serde"] }}
secrecy = "0.10"
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
time = "0.3"
tokio = {{ version = "1", features = ["rt", "time"] }}
"#
    )
}

/// Writes the project into `dir` (emptied first): the manifest, the program, and the
/// workspace's `Cargo.lock` (cargo adds the `gitlab` crate's dependencies to it).
pub fn generate(workspace: &Path, dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), manifest(workspace))?;
    std::fs::write(dir.join("src").join("main.rs"), PROGRAM)?;
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    Ok(())
}

/// Builds the project in `dir` in release into `target`; returns the binary's path.
pub fn build(dir: &Path, target: &Path) -> Result<PathBuf> {
    let status = Command::new(cargo())
        .args(["build", "--release", "--quiet"])
        .arg("--target-dir")
        .arg(target)
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!(
            "cargo build --release in {} failed ({status})",
            dir.display()
        )
        .into());
    }
    Ok(target
        .join("release")
        .join(format!("{PACKAGE}{}", std::env::consts::EXE_SUFFIX)))
}

/// One operation's figures from the program.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The operation (`list`, `get`, ...).
    pub op: String,
    /// `pats`'s median per call, in nanoseconds.
    pub pats_ns: f64,
    /// The `gitlab` crate's median per call, in nanoseconds.
    pub gitlab_ns: f64,
    /// The median of the per-round ratios `pats / gitlab`.
    pub paired_ratio: f64,
}

/// Reads the program's JSON: `{"operations": [{"op", "pats_ns", "gitlab_ns",
/// "paired_ratio"}, ...], "rounds": n}`; every figure must be a positive number.
pub fn parse(text: &str) -> Result<(Vec<Measured>, u64)> {
    let value: Value = serde_json::from_str(text.trim())?;
    let rounds = value["rounds"]
        .as_u64()
        .ok_or("the peer's output has no `rounds`")?;
    let operations = value["operations"]
        .as_array()
        .ok_or("the peer's output has no `operations`")?;
    let number = |o: &Value, key: &str| -> Result<f64> {
        o[key]
            .as_f64()
            .filter(|x| x.is_finite() && *x > 0.0)
            .ok_or_else(|| format!("the peer's `{key}` is not a positive number").into())
    };
    let measured = operations
        .iter()
        .map(|o| {
            Ok(Measured {
                op: o["op"]
                    .as_str()
                    .ok_or("the peer's output has an operation without `op`")?
                    .to_owned(),
                pats_ns: number(o, "pats_ns")?,
                gitlab_ns: number(o, "gitlab_ns")?,
                paired_ratio: number(o, "paired_ratio")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((measured, rounds))
}

fn body(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "no body".to_owned()
    } else {
        format!("`{}`", String::from_utf8_lossy(bytes))
    }
}

/// What differs between the requests `pats` and the `gitlab` crate sent for each
/// operation, from the server's log of the program's `--once` run (each operation once,
/// `pats` first). The crate's `GET /api/v4/user` (it checks the token when its client is
/// built; sent as `/api/v4/user?`) is left out. One entry per operation of [`OPERATIONS`]: `None` when both sent
/// the same method, target, credentials and body.
pub fn differences(log: &[Recorded]) -> Result<Vec<Option<String>>> {
    let log: Vec<&Recorded> = log
        .iter()
        .filter(|(method, target, _, _)| {
            // The crate ends a URL without query parameters with `?` (`/api/v4/user?`).
            !(method == "GET" && target.trim_end_matches('?') == "/api/v4/user")
        })
        .collect();
    if log.len() != 2 * OPERATIONS.len() {
        let sent: Vec<String> = log.iter().map(|(m, t, _, _)| format!("{m} {t}")).collect();
        return Err(format!(
            "the peer sent {} requests for {} operations (expected one per side each): {}",
            log.len(),
            OPERATIONS.len(),
            sent.join(", ")
        )
        .into());
    }
    Ok(log
        .chunks(2)
        .map(|pair| {
            let (p, g) = (pair[0], pair[1]);
            let mut out = Vec::new();
            if (&p.0, &p.1) != (&g.0, &g.1) {
                out.push(format!(
                    "the gitlab crate sends `{} {}` where pats sends `{} {}`",
                    g.0, g.1, p.0, p.1
                ));
            }
            if p.2 != g.2 {
                out.push(format!(
                    "credentials differ (gitlab crate `{}`, pats `{}`)",
                    g.2, p.2
                ));
            }
            if p.3 != g.3 {
                out.push(format!(
                    "the gitlab crate sends {} where pats sends {}",
                    body(&g.3),
                    body(&p.3)
                ));
            }
            (!out.is_empty()).then(|| out.join("; "))
        })
        .collect())
}

fn run(binary: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "{} {} failed ({})",
            binary.display(),
            args.join(" "),
            output.status
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Generates, builds and runs the `gitlab` crate peer against the bench server, and adds
/// a row per operation: `pats`'s median per call, with the crate's as the floor (no goal:
/// a peer is not a floor `pats` must stay near, the rows say where it stands).
pub fn section1_gitlab(workspace: &Path, target: &Path, report: &mut Report) -> Result<()> {
    let root = target.join("bench").join("peers");
    let dir = root.join("gitlab");
    generate(workspace, &dir)?;
    eprintln!("peers: release build of the gitlab crate {GITLAB_CRATE} peer (with pats) ...");
    let binary = build(&dir, &root.join("target"))?;
    let server = Server::start(calls::router())?;
    let uri = server.uri();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let log =
        runtime.block_on(server.record(async || run(&binary, &[&uri, "--once"]).map(drop)))?;
    let notes = differences(&log)?;
    eprintln!("peers: pats against the gitlab crate {GITLAB_CRATE} ...");
    let (measured, rounds) = parse(&run(&binary, &[&uri])?)?;
    for ((op, name), note) in OPERATIONS.iter().zip(notes) {
        let m = measured
            .iter()
            .find(|m| m.op == *op)
            .ok_or_else(|| format!("the peer did not measure `{op}`"))?;
        let sent = note.unwrap_or_else(|| {
            "both send the same method, target, credentials and body".to_owned()
        });
        report.rows.push(
            Row::new(
                0,
                format!("`pats` against the gitlab crate {GITLAB_CRATE}: {name}"),
                m.pats_ns / 1000.0,
                "µs",
            )
            .floor(m.gitlab_ns / 1000.0)
            .note(format!(
                "floor: the gitlab crate (AsyncGitlab, endpoint built once, answer into a \
                 user's serde struct); medians of {rounds} alternating rounds in one process, \
                 median of the per-round ratios {:.3}; {sent}",
                m.paired_ratio
            )),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_pins_the_crate_and_stays_out_of_the_workspace() {
        let dir = std::env::temp_dir().join(format!("pats-bench-peer-{}", std::process::id()));
        let workspace = crate::workspace_root();
        generate(&workspace, &dir).unwrap_or_else(|e| panic!("{e}"));
        let manifest =
            std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert!(manifest.contains(&format!("gitlab = \"={GITLAB_CRATE}\"")));
        assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
        let pats = workspace.join("crates").join("pats");
        assert!(
            manifest.contains(&format!("path = \"{}\"", pats.display())),
            "{manifest}"
        );
        let main = std::fs::read_to_string(dir.join("src").join("main.rs"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(main, PROGRAM);
        assert!(dir.join("Cargo.lock").is_file());
        // The program measures the operations of the rows, in their order.
        let mut at = 0;
        for (op, _) in OPERATIONS {
            let found = PROGRAM[at..]
                .find(&format!("\"{op}\","))
                .unwrap_or_else(|| panic!("the program does not measure {op}"));
            at += found;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn output_and_request_differences_are_read() {
        let text = r#"{"rounds": 10, "warmup": 1, "operations": [
            {"op": "list", "pats_ns": 90000.0, "gitlab_ns": 120000.0, "paired_ratio": 0.75}]}"#;
        let (measured, rounds) = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rounds, 10);
        assert_eq!(measured[0].op, "list");
        assert!(parse(r#"{"rounds": 1, "operations": [{"op": "get", "pats_ns": 0}]}"#).is_err());

        let auth = "authorization: Bearer t".to_owned();
        let request = |m: &str, t: &str, b: &[u8]| -> Recorded {
            (m.to_owned(), t.to_owned(), auth.clone(), b.to_vec())
        };
        let mut log = vec![request("GET", "/api/v4/user?", b"")];
        for _ in 0..4 {
            log.push(request("GET", "/api/v4/personal_access_tokens/1", b""));
            log.push(request("GET", "/api/v4/personal_access_tokens/1", b""));
        }
        log.push(request(
            "POST",
            "/x/rotate",
            br#"{"expires_at":"2099-01-01"}"#,
        ));
        log.push(request("POST", "/x/rotate", b"expires_at=2099-01-01"));
        let found = differences(&log).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found[..4], [None, None, None, None]);
        assert_eq!(
            found[4].as_deref(),
            Some(
                "the gitlab crate sends `expires_at=2099-01-01` where pats sends \
                 `{\"expires_at\":\"2099-01-01\"}`"
            )
        );
        assert!(differences(&log[..3]).is_err());
    }
}
