//! What `cargo xtask test` needs besides cargo itself, installed when missing so that the
//! README's test command works on a machine with nothing but rustup: the `rustfmt` and
//! `clippy` components, the pinned nightly of the docs.rs-style doc build, and the pinned
//! cargo-deny. Each install says so in one line; nothing installed prints one line too.

use crate::Error;
use crate::tasks::{CARGO_DENY_VERSION, NIGHTLY_DOCS};
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

/// One thing to have, how to tell it is there, and how to install it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// What it is, for the one line printed.
    pub name: String,
    /// The command whose success (and, with `expect`, whose output) says it is installed.
    pub probe: Vec<String>,
    /// Text the probe's standard output must contain (a pinned version), if any.
    pub expect: Option<String>,
    /// The command that installs it.
    pub install: Vec<String>,
}

impl Tool {
    /// A cargo subcommand `cargo-<name>` at a pinned `version`, probed with
    /// `cargo <name> --version` and installed with `cargo install --locked`.
    pub fn cargo_install(name: &str, version: &str) -> Self {
        Tool {
            name: format!("cargo-{name} {version}"),
            probe: vec!["cargo".to_owned(), name.to_owned(), "--version".to_owned()],
            expect: Some(format!("cargo-{name} {version}")),
            install: vec![
                "cargo".to_owned(),
                "install".to_owned(),
                "--locked".to_owned(),
                "--quiet".to_owned(),
                format!("cargo-{name}@{version}"),
            ],
        }
    }
}

/// What `cargo xtask test` needs, in the order it is checked.
pub fn tools() -> Vec<Tool> {
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let nightly = NIGHTLY_DOCS.trim();
    vec![
        Tool {
            name: "clippy".to_owned(),
            probe: words(&["cargo", "clippy", "--version"]),
            expect: None,
            install: words(&["rustup", "component", "add", "clippy"]),
        },
        Tool {
            name: "rustfmt".to_owned(),
            probe: words(&["cargo", "fmt", "--version"]),
            expect: None,
            install: words(&["rustup", "component", "add", "rustfmt"]),
        },
        Tool {
            name: format!("toolchain {nightly} (the docs.rs-style doc build)"),
            probe: words(&["rustup", "run", nightly, "cargo", "--version"]),
            expect: None,
            install: words(&[
                "rustup",
                "toolchain",
                "install",
                nightly,
                "--profile",
                "minimal",
            ]),
        },
        Tool::cargo_install("deny", CARGO_DENY_VERSION),
    ]
}

/// Whether a probe's result says the tool is there: it succeeded and, when a version is
/// pinned, printed it.
pub fn present(succeeded: bool, stdout: &str, expect: Option<&str>) -> bool {
    succeeded && expect.is_none_or(|e| stdout.lines().any(|line| line.trim() == e))
}

/// A command of `argv` in `root`, `cargo` replaced by the cargo running xtask, and the
/// variables a parent cargo sets removed so that rustup picks each toolchain itself.
fn command(root: &Path, cargo: &OsStr, argv: &[String]) -> Option<Command> {
    let (program, args) = argv.split_first()?;
    let mut command = if program == "cargo" {
        Command::new(cargo)
    } else {
        Command::new(program)
    };
    command.args(args).current_dir(root).stdin(Stdio::null());
    if program == "rustup" {
        for var in ["RUSTC", "RUSTDOC"] {
            command.env_remove(var);
        }
    }
    Some(command)
}

fn probe(root: &Path, cargo: &OsStr, tool: &Tool) -> bool {
    let Some(mut command) = command(root, cargo, &tool.probe) else {
        return false;
    };
    match command.stderr(Stdio::null()).output() {
        Ok(output) => present(
            output.status.success(),
            &String::from_utf8_lossy(&output.stdout),
            tool.expect.as_deref(),
        ),
        Err(_) => false,
    }
}

/// Installs whatever of [`tools`] is missing, one line each, and checks it then works.
pub fn ensure(root: &Path, cargo: &OsStr) -> Result<(), Error> {
    ensure_tools(root, cargo, tools())
}

/// Installs whatever of `tools` is missing, one line each, and checks it then works.
pub fn ensure_tools(root: &Path, cargo: &OsStr, tools: Vec<Tool>) -> Result<(), Error> {
    let mut had = Vec::new();
    for tool in tools {
        if probe(root, cargo, &tool) {
            had.push(tool.name);
            continue;
        }
        println!(
            "setup: installing {} ({})",
            tool.name,
            tool.install.join(" ")
        );
        let status = command(root, cargo, &tool.install)
            .ok_or_else(|| Error::new("empty install command"))?
            .status()
            .map_err(|e| Error::new(format!("could not run `{}`: {e}", tool.install[0])))?;
        if !status.success() {
            return Err(Error::new(format!(
                "installing {} failed ({status}): `{}`",
                tool.name,
                tool.install.join(" ")
            )));
        }
        if !probe(root, cargo, &tool) {
            return Err(Error::new(format!(
                "{} was installed but `{}` still does not find it; is cargo's bin directory \
                 ($CARGO_HOME/bin) on PATH?",
                tool.name,
                tool.probe.join(" ")
            )));
        }
    }
    if !had.is_empty() {
        println!("setup: {} present", had.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_is_present_when_its_probe_succeeds_with_the_pinned_version() {
        assert!(present(true, "anything\n", None));
        assert!(!present(false, "anything\n", None));
        assert!(present(
            true,
            "cargo-deny 0.20.2\n",
            Some("cargo-deny 0.20.2")
        ));
        // Another version is not the pinned one; nor is a version that only starts alike.
        assert!(!present(
            true,
            "cargo-deny 0.19.0\n",
            Some("cargo-deny 0.20.2")
        ));
        assert!(!present(
            true,
            "cargo-deny 0.20.20\n",
            Some("cargo-deny 0.20.2")
        ));
        assert!(!present(
            false,
            "cargo-deny 0.20.2\n",
            Some("cargo-deny 0.20.2")
        ));
    }

    #[test]
    fn the_tools_are_the_components_the_pinned_nightly_and_the_pinned_cargo_deny() {
        let tools = tools();
        let installs: Vec<String> = tools.iter().map(|t| t.install.join(" ")).collect();
        assert_eq!(
            installs,
            [
                "rustup component add clippy".to_owned(),
                "rustup component add rustfmt".to_owned(),
                format!(
                    "rustup toolchain install {} --profile minimal",
                    NIGHTLY_DOCS.trim()
                ),
                format!("cargo install --locked --quiet cargo-deny@{CARGO_DENY_VERSION}"),
            ]
        );
        assert_eq!(
            tools[3].expect.as_deref(),
            Some(format!("cargo-deny {CARGO_DENY_VERSION}").as_str())
        );
    }

    fn tool(probe: &[&str], install: &[&str], expect: Option<&str>) -> Tool {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
        Tool {
            name: "the tool".to_owned(),
            probe: words(probe),
            expect: expect.map(str::to_owned),
            install: words(install),
        }
    }

    #[test]
    fn a_present_tool_is_not_installed_a_missing_one_is_and_must_then_work() {
        let root = Path::new("/");
        let cargo = OsStr::new("cargo");
        // Present: the install (which would fail) is never run.
        assert_eq!(
            ensure_tools(root, cargo, vec![tool(&["true"], &["false"], None)]),
            Ok(())
        );
        assert!(probe(
            root,
            cargo,
            &tool(&["sh", "-c", "echo v1"], &[], Some("v1"))
        ));
        assert!(!probe(
            root,
            cargo,
            &tool(&["sh", "-c", "echo v2"], &[], Some("v1"))
        ));
        assert!(!probe(root, cargo, &tool(&["/nonexistent/x"], &[], None)));
        // Missing, and the install fails: said, with the command.
        let failed = ensure_tools(root, cargo, vec![tool(&["false"], &["false"], None)]);
        assert!(
            failed.as_ref().is_err_and(|e| e
                .to_string()
                .starts_with("installing the tool failed (exit status: 1): `false`")),
            "{failed:?}"
        );
        // Missing, installed, still not found: said.
        let lost = ensure_tools(root, cargo, vec![tool(&["false"], &["true"], None)]);
        assert!(
            lost.as_ref()
                .is_err_and(|e| e.to_string().contains("was installed but `false` still")),
            "{lost:?}"
        );
    }

    #[test]
    fn rustup_runs_without_the_calling_cargos_compiler() {
        assert_eq!(
            command_envs_removed(&["rustup", "--version"]),
            ["RUSTC", "RUSTDOC"]
        );
        let cargo = command_envs_removed(&["cargo", "x"]);
        assert!(cargo.is_empty(), "{cargo:?}");
    }

    fn command_envs_removed(argv: &[&str]) -> Vec<String> {
        let argv: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
        command(Path::new("/"), OsStr::new("cargo"), &argv)
            .iter()
            .flat_map(|c| c.get_envs())
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| key.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn cargo_in_a_command_is_the_running_cargo() {
        let argv = vec!["cargo".to_owned(), "deny".to_owned()];
        let command = command(Path::new("/"), OsStr::new("/opt/cargo"), &argv);
        let command = command.map(|c| c.get_program().to_owned());
        assert_eq!(command.as_deref(), Some(OsStr::new("/opt/cargo")));
        assert!(super::command(Path::new("/"), OsStr::new("cargo"), &[]).is_none());
    }
}
