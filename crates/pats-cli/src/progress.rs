//! A spinner on stderr for long operations, only on a terminal and never with `--json`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A progress indicator that may be switched off (then every call does nothing).
#[derive(Debug)]
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Whether progress may be shown: not JSON, and both stdout and stderr are terminals.
    pub fn allowed(json: bool) -> bool {
        !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
    }

    /// Starts a spinner with `message`, when `enabled`.
    pub fn start(enabled: bool, message: &str) -> Self {
        if !enabled {
            return Self(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({pos} so far, {elapsed})")
        {
            bar.set_style(style);
        }
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(Some(bar))
    }

    /// Adds `n` to the count.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
