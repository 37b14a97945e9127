//! Captures every `tracing` event of the suite so checks can prove no secret was logged.

use crate::Harness;
use std::sync::{Mutex, Once};

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INIT: Once = Once::new();

struct Sink;

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = LOG.lock() {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per test binary), at TRACE level for every
/// crate, the HTTP stack included.
pub fn capture() {
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| Sink)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Everything logged so far.
pub fn captured() -> String {
    LOG.lock()
        .map(|log| String::from_utf8_lossy(&log).into_owned())
        .unwrap_or_default()
}

/// Fails if the log holds a harness credential or any of `seen` (secrets a check got).
pub fn assert_no_secret<H: Harness>(harness: &H, seen: &[String]) {
    let log = captured();
    assert!(
        log.contains("pats.request"),
        "no request span was captured: is tracing captured?"
    );
    for secret in harness.known_secrets().iter().chain(seen) {
        if secret.len() >= 8 {
            assert!(
                !log.contains(secret.as_str()),
                "a secret ({} bytes) appears in the tracing output",
                secret.len()
            );
        }
    }
}
