//! A minimal loopback HTTP/1.1 server that answers from pre-built bytes, so that the
//! server is never what is measured.
//!
//! It runs on its own thread and runtime, reads a request head and its `Content-Length`
//! body, asks the [`Router`] for a complete pre-built answer (status line, headers, body)
//! and writes it; connections are kept alive. It can record what it received, so a bench
//! can check that `pats` and its raw floor sent the same method, target, credentials header
//! and body bytes.

use crate::measure::{BoxError, Result};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One received request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming<'a> {
    /// The method.
    pub method: &'a str,
    /// The request target: path and query.
    pub target: &'a str,
    /// The body bytes.
    pub body: &'a [u8],
}

/// A recorded request: method, target, credentials (the `Authorization` and
/// `PRIVATE-TOKEN` headers as `name: value`, `; `-separated; empty without them), body.
pub type Recorded = (String, String, String, Vec<u8>);

/// Picks the pre-built answer for a request.
pub type Router = Arc<dyn Fn(&Incoming<'_>) -> Bytes + Send + Sync>;

/// A complete HTTP/1.1 answer with a body.
pub fn response(status: u16, content_type: &str, body: &[u8]) -> Bytes {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        404 => "Not Found",
        _ => "Status",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// A `200 OK` JSON answer.
pub fn json(body: &[u8]) -> Bytes {
    response(200, "application/json", body)
}

/// A `204 No Content` answer.
pub fn no_content() -> Bytes {
    Bytes::from_static(b"HTTP/1.1 204 No Content\r\n\r\n")
}

/// A `404 Not Found` JSON answer.
pub fn not_found() -> Bytes {
    response(404, "application/json", br#"{"message":"not found"}"#)
}

#[derive(Default)]
struct Recorder {
    on: AtomicBool,
    log: Mutex<Vec<Recorded>>,
    connections: AtomicUsize,
}

/// The running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    recorder: Arc<Recorder>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Starts a server on `127.0.0.1`, on a port of the system's choice.
    pub fn start(router: Router) -> Result<Self> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let recorder = Arc::new(Recorder::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rec = recorder.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("bench-server".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let accept = async {
                        while let Ok((stream, _)) = listener.accept().await {
                            rec.connections.fetch_add(1, Ordering::Relaxed);
                            tokio::spawn(serve(stream, router.clone(), rec.clone()));
                        }
                    };
                    tokio::select! {
                        () = accept => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Self {
            addr,
            recorder,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.recorder.connections.load(Ordering::Relaxed)
    }

    /// Runs `f` while recording the requests the server receives, and returns them.
    pub async fn record<F: AsyncFnOnce() -> Result<()>>(&self, f: F) -> Result<Vec<Recorded>> {
        self.recorder.on.store(true, Ordering::SeqCst);
        let outcome = f().await;
        self.recorder.on.store(false, Ordering::SeqCst);
        let log = std::mem::take(&mut *self.recorder.log.lock().map_err(|_| poisoned())?);
        outcome.map(|()| log)
    }
}

fn poisoned() -> BoxError {
    "the server's request log is poisoned".into()
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &str) -> usize {
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

/// The credential headers of a request head (`authorization`, `private-token`), as
/// `name: value` with the name lowercased, in the order sent, `; `-separated.
pub fn credentials(head: &str) -> String {
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| {
            let name = name.trim();
            name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("private-token")
        })
        .map(|(name, value)| format!("{}: {}", name.trim().to_ascii_lowercase(), value.trim()))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn serve(mut stream: TcpStream, router: Router, recorder: Arc<Recorder>) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        let head_end = loop {
            if let Some(at) = find(&buf, b"\r\n\r\n") {
                break at + 4;
            }
            buf.reserve(16 * 1024);
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let Ok(head) = std::str::from_utf8(&buf[..head_end]) else {
            return;
        };
        let mut words = head.split(' ');
        let (Some(method), Some(target)) = (words.next(), words.next()) else {
            return;
        };
        let (method, target) = (method.to_owned(), target.to_owned());
        // Only while recording: the credentials are read from the head before the body.
        let auth = if recorder.on.load(Ordering::Relaxed) {
            credentials(head)
        } else {
            String::new()
        };
        let end = head_end + content_length(head);
        while buf.len() < end {
            buf.reserve(end - buf.len());
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let incoming = Incoming {
            method: &method,
            target: &target,
            body: &buf[head_end..end],
        };
        if recorder.on.load(Ordering::Relaxed)
            && let Ok(mut log) = recorder.log.lock()
        {
            log.push((method.clone(), target.clone(), auth, incoming.body.to_vec()));
        }
        let answer = router(&incoming);
        buf.drain(..end);
        if stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}
