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
