//! `cargo xtask fresh [--keep]`: proves the README's test command works on a fresh
//! machine. Clones the committed `HEAD` into a new temporary directory and gives it a new
//! `CARGO_HOME` as a fresh rustup install has it: no registry, no installed tools, only the
//! rustup proxies (`cargo`, `rustc`, ...) in its `bin` (rustup's toolchains are shared:
//! `RUSTUP_HOME` is left alone). `PATH` gets that `bin` instead of the directory the proxies
//! came from, so that no tool installed there (cargo-deny, cargo-mutants) is found. Then it
//! runs `bash .ci/run` there as CI does (`CI=true`, no standard input), so that every
//! download, install and build happens from nothing.
//! Prints the time it took; removes the directory afterwards unless `--keep`.
//!
//! It takes as long as a CI run plus the downloads and the cargo-deny build (see the
//! README); run it before resolving an issue that touches the build.

use crate::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Options of `cargo xtask fresh`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Keep the clone and its cargo home afterwards.
    pub keep: bool,
}

/// Parses the arguments after `fresh`.
pub fn parse_args(args: &[&str]) -> Result<Options, Error> {
    let mut options = Options::default();
    for arg in args {
        match *arg {
            "--keep" => options.keep = true,
            other => return Err(Error::new(format!("unexpected argument `{other}`"))),
        }
    }
    Ok(options)
}

/// Variables of the calling cargo (and of rustup's proxy) that must not reach the fresh
/// run: they would point it at this workspace's target, toolchain or tools.
pub const INHERITED: &[&str] = &[
    "CARGO",
    "CARGO_HOME",
    "CARGO_TARGET_DIR",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_NAME",
    "CARGO_PKG_VERSION",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTUP_TOOLCHAIN",
    "RUSTFLAGS",
    "PATS_CONTRACT_LOG",
];

/// The programs a rustup install puts in `$CARGO_HOME/bin` (each a proxy of rustup).
pub const RUSTUP_PROXIES: &[&str] = &[
    "rustup",
    "cargo",
    "rustc",
    "rustdoc",
    "rustfmt",
    "cargo-fmt",
    "cargo-clippy",
    "clippy-driver",
    "rust-gdb",
    "rust-gdbgui",
    "rust-lldb",
    "rust-analyzer",
    "cargo-miri",
];

/// `PATH` with `first` in front of `path`, without `drop` (the directory of the proxies,
/// where installed tools live too).
pub fn path_with(
    first: &Path,
    path: Option<&std::ffi::OsStr>,
    drop: Option<&Path>,
) -> Result<std::ffi::OsString, Error> {
    let mut dirs = vec![first.to_path_buf()];
    if let Some(path) = path {
        dirs.extend(std::env::split_paths(path).filter(|d| Some(d.as_path()) != drop));
    }
    std::env::join_paths(dirs).map_err(|e| Error::new(format!("PATH: {e}")))
}

/// The directory of the `rustup` found on `PATH`.
fn rustup_dir(path: Option<&std::ffi::OsStr>) -> Result<PathBuf, Error> {
    path.into_iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("rustup").is_file())
        .ok_or_else(|| Error::new("no rustup on PATH: a fresh machine has rustup"))
}

/// A `bin` of `cargo_home` holding links to the rustup proxies of `from`, as a fresh
/// rustup install has it.
fn link_proxies(from: &Path, cargo_home: &Path) -> Result<PathBuf, Error> {
    let bin = cargo_home.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| Error::new(format!("{}: {e}", bin.display())))?;
    for proxy in RUSTUP_PROXIES {
        let original = from.join(proxy);
        if original.is_file() {
            std::os::unix::fs::symlink(&original, bin.join(proxy))
                .map_err(|e| Error::new(format!("{}: {e}", bin.join(proxy).display())))?;
        }
    }
    Ok(bin)
}

/// A new directory under the system's temporary directory (created exclusively).
fn new_dir() -> Result<PathBuf, Error> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let dir = base.join(format!("pats-fresh-{}-{attempt}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::new(format!("{}: {e}", dir.display()))),
        }
    }
    Err(Error::new("no free temporary directory name"))
}

fn git(root: &Path, args: &[&str]) -> Result<String, Error> {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("could not run git: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs `.ci/run` in a clean clone with an empty cargo home (see the module docs).
pub fn run(root: &Path, args: &[&str]) -> Result<(), Error> {
    let options = parse_args(args)?;
    let commit = git(root, &["rev-parse", "--short", "HEAD"])?;
    if !git(root, &["status", "--porcelain"])?.is_empty() {
        println!("fresh: uncommitted changes are not part of the clone; testing {commit}");
    }
    let dir = new_dir()?;
    let outcome = run_in(root, &dir, &commit);
    if options.keep {
        println!("fresh: kept {}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        println!("fresh: could not remove {}: {e}", dir.display());
    }
    outcome
}

fn run_in(root: &Path, dir: &Path, commit: &str) -> Result<(), Error> {
    let clone = dir.join("pats");
    let cargo_home = dir.join("cargo-home");
    std::fs::create_dir(&cargo_home)
        .map_err(|e| Error::new(format!("{}: {e}", cargo_home.display())))?;
    let source = root.to_string_lossy().into_owned();
    let target = clone.to_string_lossy().into_owned();
    git(
        root,
        &["clone", "--quiet", "--no-hardlinks", &source, &target],
    )?;
    // CI has the steering repository's `shared/` beside the clone; so does this run.
    let shared = root.parent().map(|p| p.join("shared"));
    if let Some(shared) = shared.filter(|s| s.is_dir()) {
        copy_dir(&shared, &dir.join("shared"))?;
    }
    println!(
        "fresh: clean clone of {commit} in {}, CARGO_HOME={} (only rustup's proxies)",
        clone.display(),
        cargo_home.display()
    );
    let path = std::env::var_os("PATH");
    let proxies = rustup_dir(path.as_deref())?;
    let bin = link_proxies(&proxies, &cargo_home)?;
    let path = path_with(&bin, path.as_deref(), Some(&proxies))?;
    let mut command = Command::new("bash");
    command
        .arg(".ci/run")
        .current_dir(&clone)
        .stdin(Stdio::null())
        .env("CARGO_HOME", &cargo_home)
        .env("PATH", path)
        .env("CI", "true");
    for var in INHERITED.iter().filter(|v| **v != "CARGO_HOME") {
        command.env_remove(var);
    }
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| Error::new(format!("could not run bash .ci/run: {e}")))?;
    let took = crate::tasks::seconds(started.elapsed());
    if status.success() {
        println!("fresh: .ci/run passed in {took} (clean clone of {commit}, empty CARGO_HOME)");
        Ok(())
    } else {
        Err(Error::new(format!(
            "fresh: .ci/run failed ({status}) after {took} (clean clone of {commit}, empty \
             CARGO_HOME)"
        )))
    }
}

/// Copies a directory tree of regular files and directories (symlinks are skipped).
fn copy_dir(from: &Path, to: &Path) -> Result<(), Error> {
    let err = |p: &Path, e: std::io::Error| Error::new(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(to).map_err(|e| err(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| err(from, e))? {
        let entry = entry.map_err(|e| err(from, e))?;
        let kind = entry.file_type().map_err(|e| err(&entry.path(), e))?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &dest).map_err(|e| err(&dest, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keep_is_understood() {
        assert_eq!(parse_args(&[]), Ok(Options { keep: false }));
        assert_eq!(parse_args(&["--keep"]), Ok(Options { keep: true }));
        assert!(parse_args(&["--kept"]).is_err());
    }

    #[test]
    fn the_new_homes_bin_replaces_the_old_one_on_path() -> Result<(), Error> {
        let path = path_with(
            Path::new("/tmp/x/bin"),
            Some("/root/.cargo/bin:/usr/bin:/bin".as_ref()),
            Some(Path::new("/root/.cargo/bin")),
        )?;
        assert_eq!(path, "/tmp/x/bin:/usr/bin:/bin");
        assert_eq!(
            path_with(Path::new("/tmp/x/bin"), None, None)?,
            "/tmp/x/bin"
        );
        Ok(())
    }

    #[test]
    fn only_the_rustup_proxies_are_linked() -> Result<(), Box<dyn std::error::Error>> {
        let base = std::env::temp_dir().join(format!("xtask-proxies-{}", std::process::id()));
        let old = base.join("old-bin");
        std::fs::create_dir_all(&old)?;
        for name in ["rustup", "cargo", "cargo-deny", "cargo-mutants"] {
            std::fs::write(old.join(name), "")?;
        }
        let path = std::env::join_paths([old.clone(), PathBuf::from("/usr/bin")])?;
        let found = rustup_dir(Some(&path));
        let bin = link_proxies(&old, &base.join("home"));
        let mut names: Vec<String> = std::fs::read_dir(base.join("home/bin"))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        names.sort();
        std::fs::remove_dir_all(&base)?;
        assert_eq!(found?, old);
        assert_eq!(bin?, base.join("home/bin"));
        assert_eq!(names, ["cargo", "rustup"]);
        assert!(rustup_dir(Some("/nonexistent".as_ref())).is_err());
        Ok(())
    }

    #[test]
    fn a_new_directory_is_new_even_when_its_first_name_is_taken() -> Result<(), Error> {
        let first = new_dir()?;
        let second = new_dir()?;
        let distinct = first != second && first.is_dir() && second.is_dir();
        let named = first
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("pats-fresh-"));
        let _ = std::fs::remove_dir_all(&first);
        let _ = std::fs::remove_dir_all(&second);
        assert!(distinct, "{first:?} {second:?}");
        assert!(named, "{first:?}");
        Ok(())
    }

    #[test]
    fn git_answers_its_output_or_its_error() -> Result<(), Error> {
        let root = crate::workspace_root()?;
        let head = git(&root, &["rev-parse", "HEAD"])?;
        assert_eq!(head.len(), 40, "{head}");
        assert!(head.chars().all(|c| c.is_ascii_hexdigit()), "{head}");
        let bad = git(&root, &["rev-parse", "--verify", "no-such-revision-xyz"]);
        assert!(
            bad.as_ref()
                .is_err_and(|e| e.to_string().starts_with("git rev-parse --verify")),
            "{bad:?}"
        );
        Ok(())
    }

    #[test]
    fn the_calling_cargos_variables_are_not_inherited() {
        for var in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTUP_TOOLCHAIN",
        ] {
            assert!(INHERITED.contains(&var), "{var}");
        }
        // rustup's own home is shared (toolchains are not downloaded again).
        assert!(!INHERITED.contains(&"RUSTUP_HOME"));
    }

    #[test]
    fn a_tree_is_copied_without_its_symlinks() -> Result<(), Box<dyn std::error::Error>> {
        let base = std::env::temp_dir().join(format!("xtask-copy-{}", std::process::id()));
        let from = base.join("from");
        std::fs::create_dir_all(from.join("sub"))?;
        std::fs::write(from.join("sub/a.md"), "a")?;
        std::os::unix::fs::symlink("/etc/passwd", from.join("link"))?;
        copy_dir(&from, &base.join("to"))?;
        let copied = std::fs::read_to_string(base.join("to/sub/a.md"));
        let link = base.join("to/link").symlink_metadata().is_ok();
        std::fs::remove_dir_all(&base)?;
        assert_eq!(copied?, "a");
        assert!(!link);
        Ok(())
    }
}
