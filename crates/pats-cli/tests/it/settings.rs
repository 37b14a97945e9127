//! The `pats` binary and its settings: the messages about a missing config file, whole and
//! without runs of spaces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::time::{Duration, Instant};

/// Values written in the config files: none may appear in any output.
const SECRETS: [&str; 3] = ["12345678", "s3cr3t-in-a-huge-file", "inline-s3cr3t"];

/// Longer than any of these runs takes; a run that hangs is killed and fails its test.
const HANG: Duration = Duration::from_secs(60);

fn pats() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pats"));
    cmd.env_clear().timeout(HANG);
    cmd
}

/// Runs `cmd`: its exit code, stdout and stderr, after checking that it finished (was not
/// killed after [`HANG`]), that no secret is in its output and that no message has a run
/// of spaces (a string literal broken across lines without its `\`).
fn run(cmd: &mut Command) -> (i32, String, String) {
    let started = Instant::now();
    let output = cmd.output().unwrap();
    let code = output.status.code().unwrap_or_else(|| {
        panic!(
            "pats hung: killed after {:?} ({})",
            started.elapsed(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let (out, err) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    for secret in SECRETS {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "a secret in the output:\n{out}\n{err}"
        );
    }
    assert!(!err.contains("  "), "a run of spaces in:\n{err}");
    (code, out, err)
}

/// The one line `pats: error: MESSAGE` of `stderr`: MESSAGE.
fn error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0]
        .strip_prefix("pats: error: ")
        .unwrap_or_else(|| panic!("not an error line: {stderr}"))
}

#[test]
fn a_missing_config_file_is_said_in_one_clean_line() {
    // Neither HOME nor XDG_CONFIG_HOME.
    let (code, _, err) = run(pats().args(["--profile", "x", "list"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        error_line(&err),
        "no config file: neither XDG_CONFIG_HOME nor HOME is set; give --config FILE"
    );
    let home = tempfile::tempdir().unwrap();
    let (code, _, err) = run(pats().env("HOME", home.path()).args(["audit", "--all"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        error_line(&err),
        format!(
            "no config file at {}: create it with `[profiles.NAME]` tables, or give --config \
             FILE (see `pats --help`)",
            home.path().join(".config/pats/config.toml").display()
        )
    );
}
