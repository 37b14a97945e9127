//! Ctrl-C and SIGTERM while a secret is on its way: `create` and `rotate` listen for them, so
//! that a secret already received is delivered before the process exits and an interrupted
//! request is reported with what to check, instead of the process dying mid-way.

use std::future::Future;

/// The signal that interrupted a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The exit code of a process ended by this signal, as shells report it (128 + n).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }

    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }
}

/// Listens for SIGINT and SIGTERM from its creation on: a signal that arrives while no
/// request is in flight (say, while the secret is written) is kept, and reported by the next
/// [`guard`](Self::guard).
pub struct Interrupts {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Starts listening. Where a listener cannot be installed, that signal keeps its
    /// default effect (ending the process).
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Runs `work` unless a signal comes first; `Err` names the signal (and `work` was
    /// dropped: a request in flight may or may not have reached the provider).
    pub async fn guard<F: Future>(&mut self, work: F) -> Result<F::Output, Signal> {
        #[cfg(unix)]
        {
            tokio::select! {
                biased;
                _ = next(&mut self.int) => Err(Signal::Interrupt),
                _ = next(&mut self.term) => Err(Signal::Terminate),
                out = work => Ok(out),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::select! {
                biased;
                _ = tokio::signal::ctrl_c() => Err(Signal::Interrupt),
                out = work => Ok(out),
            }
        }
    }
}

/// The next delivery of `signal`; never, where its listener could not be installed.
#[cfg(unix)]
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_what_shells_report() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::Interrupt.name(), "SIGINT");
        assert_eq!(Signal::Terminate.name(), "SIGTERM");
    }
}
