//! The `pats` binary pointed at files that are not small regular files (a FIFO without a
//! writer, `/dev/zero`, a directory, a huge file) as its config file or as a secret or key
//! file, and at wrongly typed settings: each is refused at once with a message naming the
//! setting and the path, never a value, and with `--all` the other profiles still run.
//! Also the messages about a missing config file, whole and without runs of spaces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::json;
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Values written in the config files: none may appear in any output.
const SECRETS: [&str; 3] = ["12345678", "s3cr3t-in-a-huge-file", "inline-s3cr3t"];

/// Longer than any of these runs takes; a run that hangs is killed and fails its test.
const HANG: Duration = Duration::from_secs(60);

fn pats() -> Command {
    let mut cmd = crate::common::pats();
    cmd.timeout(HANG);
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

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A directory for a config file and the files it names.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Makes the FIFO `fifo` (no writer ever opens it).
    #[cfg(unix)]
    fn with_fifo() -> Self {
        let dir = Self::new();
        mkfifo(&dir.path("fifo"));
        dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `name` as a TOML string.
    fn toml_path(&self, name: &str) -> String {
        format!("{:?}", self.path(name).display().to_string())
    }

    /// Writes the config file (mode 600) and returns its path.
    fn config(&self, text: &str) -> PathBuf {
        let path = self.path("config.toml");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        path
    }
}

/// A SailPoint profile on a closed port (never reached: its settings fail first) whose
/// client secret is read from `secret_file`.
fn sailpoint_with_secret_file(name: &str, secret_file: &str) -> String {
    format!(
        "[profiles.{name}]\nprovider = \"sailpoint\"\nbase_url = \"http://127.0.0.1:9\"\n\
         client_id = \"id\"\nclient_secret_file = {secret_file}\n"
    )
}

#[cfg(unix)]
#[test]
fn a_fifo_as_a_secret_file_is_refused_at_once() {
    let dir = Dir::with_fifo();
    let config = dir.config(&sailpoint_with_secret_file("p", &dir.toml_path("fifo")));
    let (code, _, err) = run(pats().arg("--config").arg(&config).args(["list"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        error_line(&err),
        format!(
            "config file {}: profile `p`: `client_secret_file` {} is a FIFO (named pipe), not \
             a regular file",
            config.display(),
            dir.path("fifo").display()
        )
    );
}

/// One profile per file a setting can name, each a FIFO, and one on the embedded
/// simulator: the simulated one is audited, the others fail with their own setting named.
#[cfg(unix)]
#[test]
fn audit_all_reports_the_good_profile_and_each_fifo_profile_without_hanging() {
    let dir = Dir::with_fifo();
    let fifo = dir.toml_path("fifo");
    let config = dir.config(&format!(
        "[profiles.demo]\nprovider = \"sailpoint\"\nsimulate = true\n\
         {}\
         [profiles.dfnskey]\nprovider = \"dfns\"\nbase_url = \"http://127.0.0.1:9\"\n\
         auth_token = \"inline-s3cr3t\"\ncredential_id = \"cr-1\"\nprivate_key_file = {fifo}\n\
         [profiles.zitadelkey]\nprovider = \"zitadel\"\nbase_url = \"http://127.0.0.1:9\"\n\
         key_file = {fifo}\n",
        sailpoint_with_secret_file("secretfile", &fifo)
    ));
    let fifo = dir.path("fifo").display().to_string();
    let (code, out, err) = run(pats()
        .arg("--config")
        .arg(&config)
        .args(["audit", "--all", "--json"]));
    assert_eq!(code, 1, "{err}");
    let report = json(&out);
    let by_name = |name: &str| -> &Value {
        report["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["profile"] == name)
            .unwrap_or_else(|| panic!("no profile {name} in {report}"))
    };
    let demo = by_name("demo");
    assert_eq!(demo["status"], "ok", "{demo}");
    assert_eq!(demo["tokens"], 3);
    for (name, setting) in [
        ("secretfile", "`client_secret_file`"),
        ("dfnskey", "`private_key_file`"),
        ("zitadelkey", "`key_file`"),
    ] {
        let failed = by_name(name);
        assert_eq!(failed["status"], "failed", "{failed}");
        let error = failed["error"].as_str().unwrap();
        assert!(
            error.contains(&format!(
                "{setting} {fifo} is a FIFO (named pipe), not a regular file"
            )),
            "{name}: {error}"
        );
    }
    assert_eq!(report["summary"]["profiles"], 4);
    assert_eq!(report["summary"]["failed"], 3);
    assert_eq!(
        error_line(&err),
        "3 of 4 profile(s) failed: dfnskey, secretfile, zitadelkey (and the others have 2 \
         finding(s))"
    );

    // The listing too.
    let (code, out, err) = run(pats()
        .arg("--config")
        .arg(&config)
        .args(["list", "--all", "--json"]));
    assert_eq!(code, 1, "{err}");
    let report = json(&out);
    let listed = report["tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{report}");
    assert!(listed.iter().all(|t| t["profile"] == "demo"), "{report}");
}

#[test]
fn an_oversized_secret_file_is_refused_unread() {
    let dir = Dir::new();
    // One byte over the limit.
    let over = dir.path("over");
    std::fs::write(&over, "x".repeat(64 * 1024 + 1)).unwrap();
    // 400 MiB (sparse: no disk used), a secret at its start.
    let huge = dir.path("huge");
    std::fs::write(&huge, "s3cr3t-in-a-huge-file\n").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(400 << 20)
        .unwrap();
    for (file, size) in [("over", "65537"), ("huge", "419430400")] {
        let config = dir.config(&sailpoint_with_secret_file("p", &dir.toml_path(file)));
        let (code, _, err) = run(pats().arg("--config").arg(&config).args(["list"]));
        assert_eq!(code, 2, "{err}");
        assert_eq!(
            error_line(&err),
            format!(
                "config file {}: profile `p`: `client_secret_file` {} is {size} bytes, more \
                 than the 65536-byte limit of a secret, key or config file",
                config.display(),
                dir.path(file).display()
            )
        );
    }
    // Exactly the limit is a secret like any other (here, a wrong one: the port is closed).
    std::fs::write(&over, "x".repeat(64 * 1024)).unwrap();
    let config = dir.config(&sailpoint_with_secret_file("p", &dir.toml_path("over")));
    let (code, _, err) = run(pats().arg("--config").arg(&config).args(["list"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("check the base URL"), "{err}");
}

#[test]
fn a_config_file_that_is_not_a_regular_file_is_refused() {
    let dir = Dir::new();
    let advice = "give a regular TOML file of at most 64 KiB, or use the environment (see \
                  `pats --help`)";
    #[allow(unused_mut)]
    let mut cases = vec![(dir.path("sub"), "a directory")];
    std::fs::create_dir(dir.path("sub")).unwrap();
    #[cfg(unix)]
    {
        mkfifo(&dir.path("fifo"));
        cases.push((dir.path("fifo"), "a FIFO (named pipe)"));
        cases.push((PathBuf::from("/dev/zero"), "a character device"));
    }
    for (path, what) in cases {
        for args in [&["profiles"][..], &["audit", "--all"], &["list"]] {
            let (code, out, err) = run(pats().arg("--config").arg(&path).args(args));
            assert_eq!(code, 2, "{args:?}: {err}");
            assert_eq!(out, "");
            assert_eq!(
                error_line(&err),
                format!(
                    "the config file {} is {what}, not a regular file; {advice}",
                    path.display()
                ),
                "{args:?}"
            );
        }
    }
    let big = dir.path("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(70_000))).unwrap();
    let (code, _, err) = run(pats().arg("--config").arg(&big).args(["profiles"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        error_line(&err),
        format!(
            "the config file {} is 70003 bytes, more than the 65536-byte limit of a secret, key \
             or config file; {advice}",
            big.display()
        )
    );
}

#[test]
fn a_wrongly_typed_setting_is_named_with_its_type_never_its_value() {
    let dir = Dir::new();
    let cases = [
        (
            "client_id = \"id\"\nclient_secret = 12345678",
            "`client_secret` must be a string, not an integer",
        ),
        (
            "client_id = \"id\"\nclient_secret = [\"inline-s3cr3t\"]",
            "`client_secret` must be a string, not an array",
        ),
        (
            "client_id = 12345678\nclient_secret = \"inline-s3cr3t\"",
            "`client_id` must be a string, not an integer",
        ),
        (
            "access_token = \"inline-s3cr3t\"\napi_version = 12345678",
            "`api_version` must be a string, not an integer",
        ),
        (
            "access_token = \"inline-s3cr3t\"\napi_version = \"12345678\"",
            "`api_version` must be one of `v3`, `beta`, `v2024`, `v2025`, `v2026`, `v1`",
        ),
        (
            "access_token = \"inline-s3cr3t\"\nsimulate = \"yes\"",
            "`simulate` must be true or false (without quotes), not a string",
        ),
    ];
    for (settings, said) in cases {
        let config = dir.config(&format!(
            "[profiles.p]\nprovider = \"sailpoint\"\nbase_url = \"http://127.0.0.1:9\"\n\
             {settings}\n"
        ));
        let (code, _, err) = run(pats().arg("--config").arg(&config).args(["list"]));
        assert_eq!(code, 2, "{settings}: {err}");
        assert_eq!(
            error_line(&err),
            format!(
                "config file {}: profile `p`: {said}{}",
                config.display(),
                if said.starts_with("`simulate`") {
                    ""
                } else {
                    "; see `pats --help` for each provider's settings"
                }
            ),
            "{settings}"
        );
    }
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
