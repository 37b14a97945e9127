//! `--secret-file`: a new file, mode 0600, never overwritten.

use crate::error::CliError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A secret file created (empty) before the token is, so that an existing file stops the
/// command before anything changes at the provider.
#[derive(Debug)]
pub struct SecretFile {
    path: PathBuf,
    file: Option<File>,
    written: bool,
}

fn create_new(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

impl SecretFile {
    /// Creates `path`; fails if it exists.
    pub fn create(path: &Path) -> Result<Self, CliError> {
        match create_new(path) {
            Ok(file) => Ok(Self {
                path: path.to_owned(),
                file: Some(file),
                written: false,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(CliError::usage(format!(
                    "{} already exists; pats never overwrites a secret file: choose a new path \
                     (nothing was created)",
                    path.display()
                )))
            }
            Err(e) => Err(CliError::usage(format!(
                "cannot create the secret file {}: {e} (nothing was created)",
                path.display()
            ))),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `secret` and a newline, and keeps the file.
    pub fn write(mut self, secret: &str) -> Result<(), CliError> {
        let result = match self.file.take() {
            Some(mut file) => file
                .write_all(secret.as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .and_then(|()| file.sync_all()),
            None => Ok(()),
        };
        self.written = true;
        result.map_err(|e| {
            CliError::failed(format!(
                "writing the secret to {} failed: {e}",
                self.path.display()
            ))
        })
    }
}

impl Drop for SecretFile {
    /// Removes the (empty) file when no secret was written, e.g. because the create failed.
    fn drop(&mut self) {
        if !self.written {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.path);
        }
    }
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
        // Created at once, empty, before anything is written.
        assert_eq!(std::fs::read_to_string(&path).expect("the empty file"), "");
        file.write("s3cr3t").expect("the secret written");
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

    #[test]
    fn an_unwritten_secret_file_is_removed() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("token");
        let file = SecretFile::create(&path).expect("a new secret file");
        assert!(path.exists());
        drop(file);
        assert!(!path.exists(), "the empty file was left behind");
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
