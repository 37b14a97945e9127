//! `--secret-file`: a new file, mode 0600, never overwritten, never empty or half-written.

use crate::error::CliError;
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// A secret file on its way: a temporary file (mode 0600) made beside `path` before the
/// token is created, so that a path that cannot be written stops the command before
/// anything changes at the provider. [`write`](Self::write) fills it, syncs it and links it
/// to `path` in one step, which fails if `path` exists; dropped unwritten (the create
/// failed, or was interrupted), the temporary file is removed and `path` never appears.
#[derive(Debug)]
pub struct SecretFile {
    path: PathBuf,
    temp: NamedTempFile,
}

impl SecretFile {
    /// Prepares `path`; fails if it exists (even as a dangling symlink) or its directory
    /// cannot take a new file.
    pub fn create(path: &Path) -> Result<Self, CliError> {
        let shown = path.display();
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(CliError::usage(format!(
                "{shown} already exists; pats never overwrites a secret file: choose a new path \
                 (nothing was created)"
            )));
        }
        let name = path.file_name().ok_or_else(|| {
            CliError::usage(format!(
                "the secret file {shown} names no file (nothing was created)"
            ))
        })?;
        let dir = parent_dir(path);
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        // `tempfile` creates it exclusively (O_EXCL), mode 0600 on unix.
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| {
                CliError::usage(format!(
                    "cannot create the secret file {shown}: {e} (nothing was created)"
                ))
            })?;
        Ok(Self {
            path: path.to_owned(),
            temp,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `secret` and a newline, syncs it, and puts the file at its path. On `Err` the
    /// path does not exist, unless the message says where the secret was kept.
    pub fn write(mut self, secret: &str) -> Result<(), String> {
        let shown = self.path.display().to_string();
        let file = self.temp.as_file_mut();
        file.write_all(secret.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("writing the secret to {shown} failed: {e}"))?;
        match self.temp.persist_noclobber(&self.path) {
            Ok(_) => {
                sync_dir(&self.path);
                Ok(())
            }
            Err(e) => {
                // Someone made the path meanwhile: keep the secret where it is.
                let error = e.error;
                match e.file.keep() {
                    Ok((_, kept)) => Err(format!(
                        "{shown} could not be created ({error}); the secret was kept in {}",
                        kept.display()
                    )),
                    Err(e) => Err(format!("{shown} could not be created ({error}, {e})")),
                }
            }
        }
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Syncs the directory of `path`, so the new name survives a crash (best effort; not
/// observable in a test).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(parent_dir(path)) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_written_secret_file_holds_the_secret_and_a_newline_and_stays() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("token");
        let file = SecretFile::create(&path).expect("a new secret file");
        assert_eq!(file.path(), path);
        // Nothing at the path until the secret is written: never an empty file.
        assert!(!path.exists());
        assert_eq!(entries(dir.path()).len(), 1, "the temporary file");
        file.write("s3cr3t").expect("the secret written");
        assert_eq!(entries(dir.path()), ["token"], "the temporary file is gone");
        assert_eq!(
            std::fs::read_to_string(&path).expect("the written file"),
            "s3cr3t\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("the directory")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_unwritten_secret_file_leaves_nothing() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("token");
        let file = SecretFile::create(&path).expect("a new secret file");
        let temp = entries(dir.path());
        assert_eq!(temp.len(), 1);
        assert!(
            temp[0].starts_with(".token.") && temp[0].ends_with(".tmp"),
            "{temp:?}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(&temp[0]))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        drop(file);
        assert!(entries(dir.path()).is_empty(), "something was left behind");
    }

    #[test]
    fn a_path_taken_meanwhile_keeps_both_secrets() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("token");
        let file = SecretFile::create(&path).expect("a new secret file");
        std::fs::write(&path, "someone else's\n").expect("a file made meanwhile");
        let err = file.write("s3cr3t").expect_err("never overwritten");
        assert_eq!(
            std::fs::read_to_string(&path).expect("the other file"),
            "someone else's\n"
        );
        let kept = err
            .split_once("the secret was kept in ")
            .map(|(_, p)| PathBuf::from(p))
            .unwrap_or_else(|| panic!("where is the secret? {err}"));
        assert_eq!(
            std::fs::read_to_string(kept).expect("the kept secret"),
            "s3cr3t\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_at_the_path_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("token");
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, &path).expect("a symlink");
        let err = SecretFile::create(&path).expect_err("refused");
        assert!(err.message.contains("already exists"), "{err}");
        assert!(!target.exists());
    }

    #[test]
    fn an_existing_file_is_never_overwritten_nor_removed() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("token");
        std::fs::write(&path, "old secret\n").expect("an existing file");
        let err = SecretFile::create(&path).expect_err("an existing file is refused");
        assert_eq!(err.exit, crate::error::Exit::Usage);
        assert!(
            err.message
                .contains("already exists; pats never overwrites a secret file"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("the old file"),
            "old secret\n"
        );
    }

    #[test]
    fn a_path_that_cannot_be_created_says_why() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("missing-dir").join("token");
        let err = SecretFile::create(&path).expect_err("no such directory");
        assert_eq!(err.exit, crate::error::Exit::Usage);
        assert!(
            err.message.starts_with(&format!(
                "cannot create the secret file {}: ",
                path.display()
            )),
            "{err}"
        );
        assert!(err.message.ends_with("(nothing was created)"), "{err}");
    }
}
