//! Exit codes and one-line error messages.

use pats::{Error, ErrorKind};
use std::fmt;
use std::process::ExitCode;

/// The documented exit codes (see `pats --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: the operation failed (provider or network error).
    Failed = 1,
    /// 2: usage or configuration error.
    Usage = 2,
    /// 3: audit found something.
    Found = 3,
    /// 4: a create was sent and its outcome is unknown (the answer timed out or was lost):
    /// the token may exist.
    Unknown = 4,
    /// 130: interrupted by SIGINT (Ctrl-C).
    Interrupted = 130,
    /// 143: ended by SIGTERM.
    Terminated = 143,
}

impl From<crate::interrupt::Signal> for Exit {
    fn from(s: crate::interrupt::Signal) -> Self {
        match s {
            crate::interrupt::Signal::Interrupt => Self::Interrupted,
            crate::interrupt::Signal::Terminate => Self::Terminated,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A failure the CLI reports: one line, and an exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// What went wrong and what to do.
    pub message: String,
}

impl CliError {
    /// A usage or configuration error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    /// An operation failure.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Failed,
            message: message.into(),
        }
    }

    /// A configuration error from the facade (names the variable or setting, never its
    /// value).
    pub fn config(e: Error, source: &str) -> Self {
        let message = match (e.field(), e.reason()) {
            (Some("PATS_PROVIDER"), Some(reason)) => format!(
                "PATS_PROVIDER {reason}: name a provider with --provider or PATS_PROVIDER and \
                 set its variables, give --config FILE, or try --simulate (see `pats --help`)"
            ),
            (Some(field), Some(reason)) => format!(
                "configuration ({source}): `{field}` {reason}; set it, or see `pats --help` for \
                 the settings each provider needs"
            ),
            _ => format!("configuration ({source}): {}", full_text(&e)),
        };
        Self::usage(message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `text` on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `e` and its causes on one line, each once: `Display` of a pats error prints only its
/// own message, and the causes (already scrubbed of secrets) are its `source()` chain.
pub fn full_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    one_line(&text)
}

/// The exit code for a provider error: usage for what the caller can fix by asking
/// differently, failure otherwise.
pub fn exit_for(e: &Error) -> Exit {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::Unsupported => Exit::Usage,
        _ => Exit::Failed,
    }
}

/// What to do about `e`, as a short clause.
fn advice(e: &Error) -> Option<&'static str> {
    Some(match e.kind() {
        ErrorKind::NotFound => "check the id with `pats list`",
        ErrorKind::Unauthenticated => "check the credentials in the configuration",
        ErrorKind::PermissionDenied => "the credentials lack a permission needed to manage tokens",
        ErrorKind::RateLimited => "wait and try again",
        ErrorKind::AlreadyExists => "choose another name",
        ErrorKind::PendingApproval => "approve it with the provider, then check with `pats list`",
        ErrorKind::Timeout | ErrorKind::Transport => {
            "check the base URL and the network, then try again"
        }
        ErrorKind::Decode => "the provider's answer was not understood; try again or report it",
        _ => return None,
    })
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let mut message = full_text(&e);
        if let Some(advice) = advice(&e) {
            message.push_str("; ");
            message.push_str(advice);
        }
        Self {
            exit: exit_for(&e),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_caller_can_fix_is_a_usage_error() {
        assert_eq!(exit_for(&Error::invalid("expiry", "too long")), Exit::Usage);
        assert_eq!(
            exit_for(&Error::unsupported("zitadel", "rename")),
            Exit::Usage
        );
        let not_found = Error::from_api(pats::ApiError::new(404, "gone"), None);
        assert_eq!(exit_for(&not_found), Exit::Failed);
        let err = CliError::from(not_found);
        assert_eq!(err.exit, Exit::Failed);
        assert!(
            err.message.ends_with("check the id with `pats list`"),
            "{err}"
        );
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        let err = CliError::config(Error::invalid("ZITADEL_URL", "is not set"), "environment");
        assert_eq!(err.exit, Exit::Usage);
        assert!(err.message.contains("`ZITADEL_URL` is not set"), "{err}");
        assert_eq!(one_line("a\n  b\tc"), "a b c");
    }
}
