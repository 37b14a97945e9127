//! A new secret is never lost (issue 25), through the real binary: stdout that fails or
//! discards, Ctrl-C while a request is in flight, answers lost after a create was sent,
//! and `rotate --keep-old`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::Sim;
use pats_sim::fault::{Fault, FaultRule};
use pats_sim::sailpoint::SailPointSim;
use serde_json::Value;
use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The one `pats: error:` line of `stderr`.
fn error_line(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("pats: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0]
}

/// The id of the token that is not `old`.
fn other_than(sim: &Sim, old: &str) -> String {
    let tokens = sim.tokens();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    tokens.into_iter().find(|(id, _)| id != old).unwrap().0
}

#[test]
fn a_rotation_whose_secret_cannot_be_written_leaves_the_old_token() {
    for json in [false, true] {
        let sim = Sim::start();
        let old = sim.create("deploy");
        let mut cmd = sim.command();
        cmd.args(["rotate", &old]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.stdout(dev_full()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let new = other_than(&sim, &old);
        let stderr = stderr_of(&out);
        assert_eq!(
            error_line(&stderr),
            format!(
                "pats: error: writing the secret to standard output failed: No space left on \
                 device (os error 28): the new token {new} on sailpoint holds that secret; the \
                 old token {old} was not revoked and still works; revoke the new token with \
                 `pats revoke {new}` and rotate again"
            ),
            "json: {json}"
        );
        assert!(sim.sim.stored_token(&old).is_some(), "the old token stays");
    }
}

#[test]
fn a_create_whose_secret_cannot_be_written_names_the_token() {
    let sim = Sim::start();
    let out = sim
        .command()
        .args(["create", "ci", "--expires-in", "1d"])
        .stdout(dev_full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let tokens = sim.tokens();
    assert_eq!(tokens.len(), 1);
    let id = &tokens[0].0;
    assert!(
        error_line(&stderr_of(&out)).ends_with(&format!(
            ": the new token {id} on sailpoint holds that secret; revoke the new token with \
             `pats revoke {id}` and create it again"
        )),
        "{out:?}"
    );
}

/// Runs `cmd` with stdout a pipe whose reader goes away before anything is written.
fn with_the_reader_gone(cmd: &mut Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_is_a_failed_delivery() {
    let sim = Sim::start();
    let old = sim.create("deploy");
    let out = with_the_reader_gone(sim.command().args(["rotate", &old, "--json"]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = stderr_of(&out);
    assert!(error_line(&stderr).contains("Broken pipe"), "{stderr}");
    assert!(
        error_line(&stderr).contains(&format!("the old token {old} was not revoked")),
        "{stderr}"
    );
    assert!(sim.sim.stored_token(&old).is_some());
}

#[test]
fn a_stdout_that_discards_is_refused_before_anything_is_created() {
    let sim = Sim::start();
    // Closed (`>&-`: the Rust runtime reopens it on /dev/null) and /dev/null itself.
    for redirect in [">&-", ">/dev/null"] {
        let pats = env!("CARGO_BIN_EXE_pats");
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" create ci --expires-in 1d {redirect}"))
            .arg(pats)
            .env_clear()
            .env("PATS_PROVIDER", "sailpoint")
            .env("SAIL_BASE_URL", sim.sim.uri())
            .env("SAIL_CLIENT_ID", SailPointSim::CLIENT_ID)
            .env("SAIL_CLIENT_SECRET", SailPointSim::CLIENT_SECRET)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{redirect}: {out:?}");
        assert_eq!(
            error_line(&stderr_of(&out)),
            "pats: error: standard output is /dev/null (or was closed), so the secret would be \
             lost: send it somewhere else or give --secret-file PATH (nothing was created)"
        );
    }
    assert_eq!(sim.posts(), 0);
    // A secret file is fine whatever stdout is.
    let dir = tempfile::tempdir().unwrap();
    let out = sim
        .command()
        .args(["create", "ci", "--expires-in", "1d", "--secret-file"])
        .arg(dir.path().join("s"))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("s")).unwrap().len(),
        65
    );
    // A bare file name is in the current directory.
    let out = sim
        .command()
        .args([
            "create",
            "ci2",
            "--expires-in",
            "1d",
            "--secret-file",
            "bare",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("bare"))
            .unwrap()
            .len(),
        65
    );
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["bare", "s"], "no temporary file is left");
}

/// Collects a child's stdout on a thread; `wait_for` returns once it holds `needle`.
struct Collector {
    rx: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Collector {
    fn of(child: &mut Child) -> Self {
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !String::from_utf8_lossy(&self.seen).contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!(
                    "{needle:?} never came: {}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
    }

    fn rest(mut self) -> String {
        while let Ok(chunk) = self.rx.recv_timeout(Duration::from_secs(30)) {
            self.seen.extend(chunk);
        }
        String::from_utf8(self.seen).unwrap()
    }
}

fn interrupt(child: &Child) {
    signal(child, "-INT");
}

fn signal(child: &Child, which: &str) {
    let status = Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child, failing the test rather than hanging.
fn wait(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status.code(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pats did not end after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_while_the_old_token_is_revoked_still_delivers_the_new_secret() {
    for json in [false, true] {
        let sim = Sim::start();
        let old = sim.create("deploy");
        // The revoke is held for a minute (not carried out): Ctrl-C comes first.
        sim.sim
            .faults()
            .inject(FaultRule::new(Fault::Stall(Duration::from_secs(60))).method("DELETE"));
        let mut cmd = sim.command();
        cmd.args(["rotate", &old]);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = Collector::of(&mut child);
        out.wait_for(if json {
            "\"secret\": \""
        } else {
            "shown only this once"
        });
        interrupt(&child);
        let (code, stderr) = wait(child);
        let stdout = out.rest();
        assert_eq!(code, Some(130), "{stderr}");
        let new = other_than(&sim, &old);
        assert_eq!(
            error_line(&stderr),
            format!(
                "pats: error: interrupted (SIGINT) while revoking the old token {old}: the new \
                 token {new} and its secret were delivered, but the old token may still be \
                 valid: check with `pats get {old}` and revoke it with `pats revoke {old}`; \
                 then rename the new token with `pats rename {new} deploy`"
            )
        );
        let secret = if json {
            let doc: Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("one JSON document ({e}): {stdout}"));
            assert_eq!(doc["token"]["id"], new.as_str());
            assert_eq!(
                doc["replaced"],
                serde_json::json!({"id": old, "revoked": false, "kept": false,
                                   "error": "interrupted (SIGINT)"})
            );
            doc["secret"].as_str().unwrap().to_owned()
        } else {
            let lines: Vec<&str> = stdout.lines().collect();
            let at = lines
                .iter()
                .position(|l| l.starts_with("Secret (shown only this once"))
                .unwrap();
            lines[at + 1].to_owned()
        };
        assert_eq!(secret.len(), 64, "{stdout}");
        assert!(!stderr.contains(&secret));
        assert!(
            sim.sim.stored_token(&old).is_some(),
            "the revoke never happened"
        );
    }
}

#[test]
fn ctrl_c_during_a_create_with_a_secret_file_leaves_no_file_and_says_what_to_check() {
    for (kill, code, name) in [("-INT", 130, "SIGINT"), ("-TERM", 143, "SIGTERM")] {
        let sim = Sim::start();
        sim.sim.faults().inject(
            FaultRule::new(Fault::Stall(Duration::from_secs(60)))
                .method("POST")
                .path_contains("personal-access-tokens"),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let child = sim
            .command()
            .args(["create", "ci", "--expires-in", "1d", "--secret-file"])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while sim.posts() == 0 {
            assert!(Instant::now() < deadline, "the create never arrived");
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(&child, kill);
        let (exit, stderr) = wait(child);
        assert_eq!(exit, Some(code), "{stderr}");
        assert_eq!(
            error_line(&stderr),
            format!(
                "pats: error: interrupted ({name}) after the request was sent: the token `ci` may \
             have been created on sailpoint; check with `pats get @ci` before creating it again"
            )
        );
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "neither the secret file nor its temporary file is left"
        );
    }
}

#[test]
fn a_create_whose_answer_is_cut_off_may_have_happened() {
    let sim = Sim::start();
    sim.sim.faults().inject(
        FaultRule::new(Fault::Truncated)
            .method("POST")
            .path_contains("personal-access-tokens")
            .times(1),
    );
    let out = sim
        .command()
        .args(["create", "ci", "--expires-in", "1d"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = stderr_of(&out);
    let line = error_line(&stderr);
    assert!(
        line.ends_with(
            "after the request was sent: the token `ci` may have been created on sailpoint; \
             check with `pats get @ci` before creating it again"
        ),
        "{line}"
    );
    assert!(!line.contains("try again"), "{line}");
    // It was created indeed.
    assert_eq!(sim.tokens().len(), 1);

    // The same in JSON, on stdout.
    sim.sim.faults().inject(
        FaultRule::new(Fault::Truncated)
            .method("POST")
            .path_contains("personal-access-tokens")
            .times(1),
    );
    let out = sim
        .command()
        .args(["create", "other", "--expires-in", "1d", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "unknown");
    assert_eq!(doc["provider"], "sailpoint");
    assert_eq!(doc["name"], "other");
    assert_eq!(doc["check"], "pats get @other");
    assert!(doc["error"].as_str().unwrap().contains("cut off"), "{doc}");
}

#[test]
fn keep_old_leaves_both_tokens_and_says_how_to_finish() {
    let sim = Sim::start();
    let old = sim.create("deploy");
    let out = sim
        .command()
        .args(["rotate", &old, "--keep-old"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let new = other_than(&sim, &old);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with(&format!(
            "The old token {old} stays valid (--keep-old): revoke it with `pats revoke {old}` \
             once its users have the new secret; then rename the new token with \
             `pats rename {new} deploy`.\n"
        )),
        "{stdout}"
    );
    // Names are unique on SailPoint: the new token waits under a temporary name.
    let temporary = sim.sim.stored_token(&new).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(temporary.starts_with("deploy-rotating-"), "{temporary}");

    // Finishing by hand, as printed.
    let out = sim.command().args(["revoke", &old]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = sim
        .command()
        .args(["rename", &new, "deploy", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let renamed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(renamed["name"], "deploy");
    assert_eq!(sim.tokens(), [(new.clone(), "deploy".to_owned())]);

    // JSON says the old token was kept.
    let out = sim
        .command()
        .args(["rotate", &new, "--keep-old", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["replaced"],
        serde_json::json!({"id": new, "revoked": false, "kept": true, "error": null})
    );
    assert_eq!(sim.tokens().len(), 2);
}

#[test]
fn a_rotation_whose_create_answer_is_lost_may_have_created_and_revokes_nothing() {
    let sim = Sim::start();
    let old = sim.create("deploy");
    sim.sim.faults().inject(
        FaultRule::new(Fault::Truncated)
            .method("POST")
            .path_contains("personal-access-tokens")
            .times(1),
    );
    let out = sim.command().args(["rotate", &old]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = stderr_of(&out);
    // Names are unique on SailPoint: the new token has a temporary name, so the check is
    // a listing.
    assert!(
        error_line(&stderr).ends_with(&format!(
            "after the request was sent: the token `deploy` may have been created on \
             sailpoint (the old token {old} was not revoked); check with `pats list` before \
             creating it again"
        )),
        "{stderr}"
    );
    assert!(sim.sim.stored_token(&old).is_some());
    assert_eq!(sim.tokens().len(), 2, "it was created indeed");
}

#[test]
fn a_rotation_whose_create_is_refused_changes_nothing_and_says_so() {
    let sim = Sim::start();
    let old = sim.create("deploy");
    sim.sim.faults().inject(
        FaultRule::new(Fault::status(400))
            .method("POST")
            .path_contains("personal-access-tokens"),
    );
    let out = sim.command().args(["rotate", &old]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = stderr_of(&out);
    let line = error_line(&stderr);
    assert!(line.contains("HTTP 400"), "{line}");
    assert!(!line.contains("may have been created"), "{line}");
    assert_eq!(sim.tokens().len(), 1);
}

#[test]
fn rotate_takes_the_scopes_it_is_given() {
    let sim = Sim::start();
    let old = sim.create("deploy");
    let out = sim
        .command()
        .args(["rotate", &old, "--scope", "idn:all", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["token"]["scopes"], serde_json::json!(["idn:all"]));
    let new = doc["token"]["id"].as_str().unwrap();
    assert_eq!(
        sim.sim.stored_token(new).unwrap()["scope"],
        serde_json::json!(["idn:all"])
    );
}

#[test]
fn output_that_cannot_be_written_fails_except_into_a_closed_pipe() {
    let pats = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pats"));
        cmd.env_clear().args(["--simulate", "list"]);
        cmd
    };
    let out = pats().stdout(dev_full()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        error_line(&stderr_of(&out)),
        "pats: error: writing to standard output failed: No space left on device (os error 28)"
    );
    // `pats list | head -0`: the reader is gone, which is not an error for a listing.
    let out = with_the_reader_gone(&mut pats());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stderr_of(&out), "");
}
