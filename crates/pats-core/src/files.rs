//! Reading the small files settings point at: secrets, private keys, key files and
//! configuration.
//!
//! [`read_to_string`] is [`std::fs::read_to_string`] for such files, made safe to point at
//! anything:
//!
//! - **Regular files only.** A FIFO (named pipe), a device such as `/dev/zero` or a
//!   terminal, a directory or a socket is refused with [`FileError::NotRegular`], which
//!   says what the path is. The path is checked before it is opened (so a special file is
//!   never opened at all: opening some devices has effects), and the opened handle is
//!   checked again with `fstat`, so a file swapped in between is refused too.
//! - **Never blocks on opening.** On unix the file is opened with `O_NONBLOCK` (and
//!   `O_NOCTTY`), so even a FIFO that appears between the two checks, with no writer,
//!   fails at once instead of hanging the process.
//! - **At most [`MAX_LEN`] bytes** (64 KiB). A larger file is refused from its size before
//!   anything is read; the read itself stops after `MAX_LEN + 1` bytes, so a file whose
//!   reported size is wrong (as under `/proc`) is refused as well, never read whole.
//! - **UTF-8 text only** ([`FileError::NotUtf8`]).
//! - **Errors name the path, never the content**: the file may hold a secret.
//!
//! The read is synchronous and may be called from async code as it is: it reads at most
//! 64 KiB from a regular file and cannot wait on a pipe or a device, so it does not hold
//! up a runtime for longer than a local file read takes (a stalled network file system is
//! the exception, as for every file read).
//!
//! Every file pats reads for its settings goes through here: `DFNS_PRIVATE_KEY_FILE` and
//! `private_key_file`, ZITADEL's key file (`ZITADEL_KEY_FILE`, `key_file`), and the `pats`
//! command's config file and its `*_file` secret references.
//!
//! ```no_run
//! use pats_core::files::{self, FileError};
//!
//! match files::read_to_string("/run/secrets/client-secret") {
//!     Ok(secret) => println!("read {} bytes", secret.len()),
//!     Err(FileError::NotRegular { path, kind, .. }) => {
//!         eprintln!("{} is {kind}: write the secret to a file", path.display())
//!     }
//!     // The message names the path and what is wrong with it, never the content.
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest file [`read_to_string`] reads, in bytes: 64 KiB.
///
/// Far more than any secret, PEM key, ZITADEL key file or `pats` config file needs, and
/// small enough that a mistaken path (a log, a disk image) is refused rather than read
/// into memory and sent.
pub const MAX_LEN: u64 = 64 * 1024;

/// What a path that is not a regular file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A FIFO (named pipe): reading it would wait for a writer.
    Fifo,
    /// A character device, such as `/dev/zero` or a terminal.
    CharDevice,
    /// A block device, such as a disk.
    BlockDevice,
    /// A unix domain socket.
    Socket,
    /// Something else that is not a regular file.
    Other,
}

impl FileKind {
    /// What `file_type` is, or `None` for a regular file.
    fn of(file_type: std::fs::FileType) -> Option<Self> {
        if file_type.is_file() {
            return None;
        }
        if file_type.is_dir() {
            return Some(Self::Directory);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return Some(Self::Fifo);
            }
            if file_type.is_char_device() {
                return Some(Self::CharDevice);
            }
            if file_type.is_block_device() {
                return Some(Self::BlockDevice);
            }
            if file_type.is_socket() {
                return Some(Self::Socket);
            }
        }
        Some(Self::Other)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Directory => "a directory",
            Self::Fifo => "a FIFO (named pipe)",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Socket => "a socket",
            Self::Other => "a special file",
        })
    }
}

/// Why [`read_to_string`] refused or failed to read a file. The message names the path and
/// what is wrong, never any of the file's content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be opened or read: it does not exist, it may not be read, ...
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// The path is not a regular file.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        kind: FileKind,
    },
    /// The file holds more than [`MAX_LEN`] bytes.
    #[error(
        "{} {} the {max}-byte limit of a secret, key or config file",
        path.display(),
        size(*len)
    )]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The size the file system reported, or `None` when it reported less and the read
        /// went past the limit (as for files under `/proc`).
        len: Option<u64>,
        /// The limit, [`MAX_LEN`].
        max: u64,
    },
    /// The content is not UTF-8 text.
    #[error("{} is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
}

/// How a [`FileError::TooLarge`] compares with the limit.
fn size(len: Option<u64>) -> String {
    match len {
        Some(len) => format!("is {len} bytes, more than"),
        None => "holds more than".to_owned(),
    }
}

impl FileError {
    /// The path of the file.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::NotRegular { path, .. }
            | Self::TooLarge { path, .. }
            | Self::NotUtf8 { path } => path,
        }
    }
}

/// Reads a secret, key or config file as UTF-8 text: a regular file of at most [`MAX_LEN`]
/// bytes, opened without ever blocking (see the [module documentation](self)).
///
/// The content is returned as it is (trailing newlines included).
pub fn read_to_string(path: impl AsRef<Path>) -> Result<String, FileError> {
    let path = path.as_ref();
    let io_error = |error| FileError::Io {
        path: path.to_owned(),
        error,
    };
    // The path first, so that a special file is not even opened.
    regular(&std::fs::metadata(path).map_err(io_error)?, path)?;
    let file = open(path).map_err(io_error)?;
    // Then the handle: what was opened is what is read, whatever the path points at now.
    let metadata = file.metadata().map_err(io_error)?;
    regular(&metadata, path)?;
    let len = metadata.len();
    if len > MAX_LEN {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            len: Some(len),
            max: MAX_LEN,
        });
    }
    let bytes = read_at_most_max(file, len, path)?;
    // The error holds the bytes: dropped here, never shown.
    String::from_utf8(bytes).map_err(|_| FileError::NotUtf8 {
        path: path.to_owned(),
    })
}

/// `Ok` for a regular file, else what `path` is.
fn regular(metadata: &Metadata, path: &Path) -> Result<(), FileError> {
    match FileKind::of(metadata.file_type()) {
        None => Ok(()),
        Some(kind) => Err(FileError::NotRegular {
            path: path.to_owned(),
            kind,
        }),
    }
}

#[cfg(unix)]
fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO without a writer returns at once (and is then refused);
    // it changes nothing for reading a regular file. O_NOCTTY: a terminal never becomes the
    // process's controlling terminal. (std adds O_CLOEXEC.)
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Reads `reader` to its end, but no more than `MAX_LEN + 1` bytes: more is
/// [`FileError::TooLarge`]. `len` is the size the file system reported (a capacity hint).
fn read_at_most_max(reader: impl Read, len: u64, path: &Path) -> Result<Vec<u8>, FileError> {
    let capacity = usize::try_from(len.min(MAX_LEN)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    reader
        .take(MAX_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| FileError::Io {
            path: path.to_owned(),
            error,
        })?;
    if bytes.len() as u64 > MAX_LEN {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            len: None,
            max: MAX_LEN,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Looks like a secret: no message may contain it.
    const SECRET: &str = "s3cr3t-in-the-file";

    /// `f(path)` on a thread of its own, failing the test if it takes more than ten seconds
    /// (a hang would otherwise stall the whole test run).
    fn within_10_s<T: Send + 'static>(path: &Path, f: fn(&Path) -> T) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        let owned = path.to_owned();
        std::thread::spawn(move || tx.send(f(&owned)));
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{} hung", path.display()))
    }

    fn read(path: &Path) -> Result<String, FileError> {
        within_10_s(path, |p| read_to_string(p))
    }

    /// The error of reading `path`, after checking its message names the path and quotes
    /// no content.
    /// [`refused`], as not a regular file but a `kind`.
    fn refused_as(path: &Path, kind: FileKind) -> FileError {
        let err = refused(path);
        assert!(
            matches!(&err, FileError::NotRegular { kind: k, .. } if *k == kind),
            "{err:?}"
        );
        err
    }

    fn refused(path: &Path) -> FileError {
        let err = read(path).expect_err("refused");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(!msg.contains(SECRET) && !msg.contains("xxxx"), "{msg}");
        assert!(!format!("{err:?}").contains(SECRET), "{err:?}");
        assert_eq!(err.path(), path);
        err
    }

    #[test]
    fn a_regular_file_is_read_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, format!("{SECRET}\r\n")).unwrap();
        assert_eq!(read(&path).unwrap(), format!("{SECRET}\r\n"));
        std::fs::write(&path, "").unwrap();
        assert_eq!(read(&path).unwrap(), "");
    }

    #[test]
    fn a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        assert_eq!(MAX_LEN, 65_536);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, "x".repeat(65_536)).unwrap();
        assert_eq!(read(&path).unwrap().len(), 65_536);
        std::fs::write(&path, "x".repeat(65_537)).unwrap();
        let err = refused(&path);
        assert!(
            matches!(
                err,
                FileError::TooLarge {
                    len: Some(65_537),
                    max: 65_536,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{} is 65537 bytes, more than the 65536-byte limit of a secret, key or config \
                 file",
                path.display()
            )
        );
    }

    #[test]
    fn a_large_file_is_refused_from_its_size_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        // 400 MiB that take no disk space: refused from the size alone.
        let file = File::create(&path).unwrap();
        file.set_len(400 << 20).unwrap();
        let err = refused(&path);
        assert!(
            matches!(
                err,
                FileError::TooLarge {
                    len: Some(419_430_400),
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_file_that_holds_more_than_it_says_is_read_only_up_to_the_limit() {
        let path = Path::new("/proc/lying");
        // An endless reader that reports a size of 0, as files under /proc do.
        let err = read_at_most_max(io::repeat(b'x'), 0, path).unwrap_err();
        assert!(
            matches!(&err, FileError::TooLarge { len: None, max: 65_536, path: p } if p == path),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "/proc/lying holds more than the 65536-byte limit of a secret, key or config file"
        );
        // Exactly the limit is fine whatever size was reported.
        let exact = read_at_most_max(io::repeat(b'x').take(MAX_LEN), 0, path).unwrap();
        assert_eq!(exact.len(), 65_536);
        let short = read_at_most_max(&b"abc"[..], 10, path).unwrap();
        assert_eq!(short, b"abc");
    }

    #[test]
    fn a_failing_read_names_the_path() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let err = read_at_most_max(Broken, 3, Path::new("/k.pem")).unwrap_err();
        assert!(matches!(&err, FileError::Io { .. }), "{err:?}");
        assert_eq!(err.to_string(), "cannot read /k.pem: disk on fire");
    }

    #[test]
    fn non_utf8_content_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1");
        let mut bytes = SECRET.as_bytes().to_vec();
        bytes.push(0xe9);
        std::fs::write(&path, bytes).unwrap();
        let err = refused(&path);
        assert!(matches!(err, FileError::NotUtf8 { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("{} is not UTF-8 text", path.display())
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing");
        let err = refused(&path);
        assert!(
            matches!(&err, FileError::Io { error, .. } if error.kind() == io::ErrorKind::NotFound),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", path.display())),
            "{err}"
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = refused_as(dir.path(), FileKind::Directory);
        assert_eq!(
            err.to_string(),
            format!(
                "{} is a directory, not a regular file",
                dir.path().display()
            )
        );
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success(), "mkfifo {}", path.display());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        mkfifo(&path);
        let err = refused_as(&path, FileKind::Fifo);
        assert_eq!(
            err.to_string(),
            format!(
                "{} is a FIFO (named pipe), not a regular file",
                path.display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_fifo_is_refused_as_the_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let link = dir.path().join("secret");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        refused_as(&link, FileKind::Fifo);
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_is_refused_not_read() {
        let err = refused_as(Path::new("/dev/zero"), FileKind::CharDevice);
        assert_eq!(
            err.to_string(),
            "/dev/zero is a character device, not a regular file"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let err = refused_as(&path, FileKind::Socket);
        assert_eq!(
            err.to_string(),
            format!("{} is a socket, not a regular file", path.display())
        );
    }

    /// The check of the opened handle: whatever the path pointed at before, what was opened
    /// must be a regular file.
    #[cfg(unix)]
    #[test]
    fn the_opened_handle_is_checked_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        mkfifo(&path);
        let handle = within_10_s(&path, open).expect("with O_NONBLOCK, at once");
        let err = regular(&handle.metadata().unwrap(), &path).unwrap_err();
        assert!(
            matches!(
                err,
                FileError::NotRegular {
                    kind: FileKind::Fifo,
                    ..
                }
            ),
            "{err:?}"
        );
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(regular(&open(&file).unwrap().metadata().unwrap(), &file).is_ok());
    }

    #[test]
    fn every_kind_says_what_it_is() {
        for (kind, text) in [
            (FileKind::Directory, "a directory"),
            (FileKind::Fifo, "a FIFO (named pipe)"),
            (FileKind::CharDevice, "a character device"),
            (FileKind::BlockDevice, "a block device"),
            (FileKind::Socket, "a socket"),
            (FileKind::Other, "a special file"),
        ] {
            assert_eq!(kind.to_string(), text);
        }
    }

    #[test]
    fn every_error_has_its_path() {
        let p = || PathBuf::from("/p");
        for err in [
            FileError::Io {
                path: p(),
                error: io::Error::other("x"),
            },
            FileError::NotRegular {
                path: p(),
                kind: FileKind::Other,
            },
            FileError::TooLarge {
                path: p(),
                len: None,
                max: MAX_LEN,
            },
            FileError::NotUtf8 { path: p() },
        ] {
            assert_eq!(err.path(), Path::new("/p"), "{err:?}");
        }
    }
}
