//! Shared by the tests that read what pats logs.
#![allow(clippy::expect_used)]

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

/// Everything one test's thread logged at TRACE level, as text.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

thread_local! {
    /// Where the events of this thread go: nowhere unless a test of this thread asked.
    static THIS_THREAD: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// The writer of the global subscriber: the capture of the thread the event is on, if any.
struct ToThisThread;

impl std::io::Write for ToThisThread {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        THIS_THREAD.with_borrow_mut(|captured| match captured {
            Some(captured) => std::io::Write::write(captured, buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures what this thread logs from now on, at TRACE level.
    ///
    /// The tests share one process, so one global subscriber (installed by the first
    /// caller) writes each event to the capture of the thread it is emitted on: a test reads
    /// its own events, never those of the tests running beside it. Events on other threads
    /// are not captured, so a test using this runs everything on its own thread (`#[test]`,
    /// or `#[tokio::test]`'s current-thread runtime). A thread-local subscriber would not
    /// do: it misses events whose callsites other test threads registered first.
    pub fn this_thread() -> Self {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| ToThisThread)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber");
        });
        let captured = Self::default();
        THIS_THREAD.set(Some(captured.clone()));
        captured
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A loopback listener that accepts one connection and hands back the TLS ClientHello it
/// reads (then drops the connection: no TLS server answers). Its port, and the hello.
#[allow(clippy::unwrap_used, dead_code)]
pub async fn client_hello_listener() -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hello = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut len = 0;
        // The record header says how long the ClientHello is.
        while len < 5 || len < 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]])) {
            let n = socket.read(&mut buf[len..]).await.unwrap();
            assert!(n > 0, "closed before a whole ClientHello");
            len += n;
        }
        buf.truncate(len);
        buf
    });
    (port, hello)
}
