//! The HTTP server every simulator runs on: hyper (HTTP/1.1 and HTTP/2 without TLS, so
//! gRPC clients can connect too) on `127.0.0.1`, on a thread and runtime of its own, so a
//! test that blocks its own runtime (running the `pats` binary, say) is still answered.
//!
//! The server turns each HTTP request into a [`Request`], records it, hands it to the
//! simulator's handler and writes its answer back, including the answers no real
//! provider means to give: a delay, a connection reset, a truncated body.
//!
//! It is meant for a developer's machine, where a web page or another local user may reach
//! it, so it keeps limits: it answers only requests addressed to itself (`Host`
//! `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>`, against DNS rebinding; 421
//! otherwise), closes connections that send nothing for 10 s or sit idle for 60 s with no
//! request in flight, drops a body that has not arrived 30 s after its headers (408),
//! refuses a declared body over [`MAX_REQUEST_BODY`] before reading it (413), serves 256
//! connections at a time, backs off when `accept` fails, and bounds its request log to
//! 32 MiB as well as to a count, keeping the first 64 KiB of each body.

use crate::answer::{Answer, Delivery};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use url::Url;

/// The largest request body a simulator reads (larger: 413).
pub const MAX_REQUEST_BODY: usize = 4 * 1024 * 1024;

/// How long a client may take to send a request's headers before its connection is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How many requests a server remembers by default (older ones are forgotten first).
pub const DEFAULT_REQUEST_LOG: usize = 100_000;

/// A connection that sends no byte within this long is closed (this also bounds the
/// HTTP version sniffing of the auto builder, which reads with no timeout of its own).
pub(crate) const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection with no request in flight for this long is closed (HTTP/1 keep-alive and
/// HTTP/2 alike). A request whose answer is delayed (a `Delay` or `Stall` fault) is in
/// flight: its connection stays open however long the delay.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A request's whole body must arrive within this long of its headers, or the answer is
/// 408 and the connection closes.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// A write that the peer does not read for this long fails and closes the connection (a
/// client that asks and never reads its answer would otherwise hold a connection, and a
/// place under [`MAX_CONNECTIONS`], for good).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many connections one server serves at once; one more is closed as soon as it is
/// accepted (a client sees the connection closed or reset, and may retry).
pub(crate) const MAX_CONNECTIONS: usize = 256;

/// How many bytes (bodies, headers and URLs) a server's request log keeps at most; the
/// oldest requests are forgotten first.
pub(crate) const LOG_BYTES: usize = 32 * 1024 * 1024;

/// How much of each body the request log keeps (the handler always gets the whole body).
pub(crate) const LOG_BODY: usize = 64 * 1024;

/// The header a logged request carries when the log kept only the first [`LOG_BODY`]
/// bytes of its body: the length of the body as sent.
const TRUNCATED_HEADER: &str = "x-pats-sim-body-truncated";

/// The first and the longest pause after a failed `accept` (out of file descriptors, say).
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// One request a simulator received: what a test checks its client sent.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: http::Method,
    /// The full URL (`http://127.0.0.1:<port>/path?query`).
    pub url: Url,
    /// The headers, as sent.
    pub headers: http::HeaderMap,
    /// The body, as sent.
    pub body: Vec<u8>,
}

impl Request {
    /// The body parsed as JSON.
    pub fn body_json<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }

    /// When this request comes from a server's request log and the log kept only the
    /// first 64 KiB of its body: the length of the body as sent. `None` when `body` is the
    /// whole body. (The log marks a cut body with the header `x-pats-sim-body-truncated`,
    /// which it removes from what clients send.)
    pub fn body_truncated(&self) -> Option<usize> {
        self.headers
            .get(TRUNCATED_HEADER)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    /// The copy the log keeps: it owns its header bytes (header values hyper parsed are
    /// slices of its read buffer, which a logged clone would keep alive, 8 KiB per
    /// request), and its body is cut to `max_body` bytes, marked with [`TRUNCATED_HEADER`].
    fn detached(&self, max_body: usize) -> Self {
        let mut headers: http::HeaderMap = self
            .headers
            .iter()
            .filter(|(name, _)| name.as_str() != TRUNCATED_HEADER)
            .filter_map(|(name, value)| {
                http::HeaderValue::from_bytes(value.as_bytes())
                    .ok()
                    .map(|v| (name.clone(), v))
            })
            .collect();
        let body = if self.body.len() > max_body {
            headers.insert(
                http::HeaderName::from_static(TRUNCATED_HEADER),
                http::HeaderValue::from(self.body.len()),
            );
            self.body[..max_body].to_vec()
        } else {
            self.body.clone()
        };
        Self {
            method: self.method.clone(),
            url: self.url.clone(),
            headers,
            body,
        }
    }

    /// What the request log counts for it: body, URL and headers.
    fn footprint(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        self.body.len() + self.url.as_str().len() + headers
    }

    /// A request built in memory (for handlers called without a server: benchmarks, the
    /// admin API, tests).
    pub fn new(method: &str, url: Url, body: Vec<u8>) -> Self {
        Self {
            method: http::Method::from_bytes(method.as_bytes()).unwrap_or(http::Method::GET),
            url,
            headers: http::HeaderMap::new(),
            body,
        }
    }
}

/// What answers a request.
pub(crate) type Handler = Arc<dyn Fn(&Request) -> Answer + Send + Sync>;

/// What wraps a simulator's handler (the emulator's admin API and state file): it gets each
/// request and the simulator's handler, and answers.
pub(crate) type Layer = Arc<dyn Fn(&Request, &dyn Fn(&Request) -> Answer) -> Answer + Send + Sync>;

/// `inner`, wrapped in `layer` when there is one.
pub(crate) fn layered(
    layer: Option<Layer>,
    inner: impl Fn(&Request) -> Answer + Send + Sync + 'static,
) -> Handler {
    match layer {
        Some(layer) => Arc::new(move |r| layer(r, &inner)),
        None => Arc::new(inner),
    }
}

/// The requests a server received, oldest first: at most `cap` of them, and at most
/// `max_bytes` of [`Request::footprint`] (the newest request is kept even when it alone is
/// over).
#[derive(Debug)]
pub(crate) struct RequestLog {
    cap: usize,
    max_bytes: usize,
    bytes: usize,
    requests: VecDeque<Request>,
}

impl RequestLog {
    fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            cap,
            max_bytes,
            bytes: 0,
            requests: VecDeque::new(),
        }
    }

    fn push(&mut self, request: Request) {
        if self.cap == 0 {
            return;
        }
        let size = request.footprint();
        while self.requests.len() >= self.cap
            || (!self.requests.is_empty() && self.bytes + size > self.max_bytes)
        {
            self.pop();
        }
        self.bytes += size;
        self.requests.push_back(request);
    }

    fn pop(&mut self) {
        if let Some(old) = self.requests.pop_front() {
            self.bytes = self.bytes.saturating_sub(old.footprint());
        }
    }

    fn clear(&mut self) {
        self.requests.clear();
        self.bytes = 0;
    }
}

/// A running server. Dropping it stops it: it stops accepting and drops every open
/// connection, so nothing in flight reaches a later test.
pub struct HttpServer {
    addr: SocketAddr,
    log: Arc<Mutex<RequestLog>>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// How to run a server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerOptions {
    /// The port on 127.0.0.1 (0: any free one).
    pub(crate) port: u16,
    /// Worker threads of its runtime (1: a current-thread runtime).
    pub(crate) threads: usize,
    /// How many requests to remember.
    pub(crate) log: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            port: 0,
            threads: 1,
            log: DEFAULT_REQUEST_LOG,
        }
    }
}

/// What a server refuses to wait for or to keep (see the module docs). Separate from
/// [`ServerOptions`], which callers build field by field; tests make these short.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// No byte within this long after the connection opens: it is closed.
    pub(crate) first_byte: Duration,
    /// No request in flight for this long: the connection is closed.
    pub(crate) idle: Duration,
    /// The whole body must arrive within this long, or 408 and the connection closes.
    pub(crate) body: Duration,
    /// A write the peer does not read within this long closes the connection.
    pub(crate) write: Duration,
    /// Connections served at once; more are closed as soon as they are accepted.
    pub(crate) connections: usize,
    /// Bytes the request log keeps (oldest forgotten first).
    pub(crate) log_bytes: usize,
    /// Bytes of each body the request log keeps.
    pub(crate) log_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            first_byte: FIRST_BYTE_TIMEOUT,
            idle: IDLE_TIMEOUT,
            body: BODY_TIMEOUT,
            write: WRITE_TIMEOUT,
            connections: MAX_CONNECTIONS,
            log_bytes: LOG_BYTES,
            log_body: LOG_BODY,
        }
    }
}

impl HttpServer {
    /// Binds `127.0.0.1:<port>` and serves `handler` until dropped, with the default
    /// [`Limits`].
    pub(crate) fn start(options: ServerOptions, handler: Handler) -> std::io::Result<Self> {
        Self::start_limited(options, Limits::default(), handler)
    }

    /// [`HttpServer::start`] with these limits.
    pub(crate) fn start_limited(
        options: ServerOptions,
        limits: Limits,
        handler: Handler,
    ) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(RequestLog::new(options.log, limits.log_bytes)));
        let (shutdown, stop) = watch::channel(false);
        let runtime = if options.threads <= 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(options.threads)
                .enable_all()
                .build()?
        };
        let shared = Arc::new(Shared {
            handler,
            log: log.clone(),
            base: format!("http://{addr}"),
            port: addr.port(),
            limits,
        });
        let thread = std::thread::Builder::new()
            .name(format!("pats-sim:{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, shared, stop));
                // In-flight connections end with the runtime.
                runtime.shutdown_background();
            })?;
        Ok(Self {
            addr,
            log,
            shutdown,
            thread: Some(thread),
        })
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received so far, oldest first.
    ///
    /// The log is bounded: besides its count, it keeps at most 32 MiB of requests
    /// (forgetting the oldest first), and of each body only the first 64 KiB; a request
    /// whose body was cut says so in [`Request::body_truncated`] (the handler always got the
    /// whole body). Requests the server refused before its handler (a foreign `Host`, a
    /// declared body over [`MAX_REQUEST_BODY`]) are not logged.
    pub fn requests(&self) -> Vec<Request> {
        match self.log.lock() {
            Ok(log) => log.requests.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().requests.iter().cloned().collect(),
        }
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        match self.log.lock() {
            Ok(mut log) => log.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            // Joining from inside a runtime would block it; the thread ends on its own.
            if tokio::runtime::Handle::try_current().is_err() {
                let _ = thread.join();
            }
        }
    }
}

/// What every connection of one server shares.
struct Shared {
    handler: Handler,
    log: Arc<Mutex<RequestLog>>,
    /// `http://127.0.0.1:<port>`.
    base: String,
    /// The port it is bound to, which a request's `Host` must name.
    port: u16,
    limits: Limits,
}

/// The pause after each failed `accept`: doubling from the first to the longest, and back
/// to the first after a success, so a server out of file descriptors does not spin.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: ACCEPT_BACKOFF.0,
        }
    }

    /// How long to pause after this failure.
    fn failed(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(ACCEPT_BACKOFF.1);
        pause
    }

    fn succeeded(&mut self) {
        self.next = ACCEPT_BACKOFF.0;
    }
}

/// Whether a connection has a request in flight, and since when it has had none.
struct Activity {
    /// Requests in flight, and when the last one ended (or the connection opened).
    state: Mutex<(usize, tokio::time::Instant)>,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new((0, tokio::time::Instant::now())),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (usize, tokio::time::Instant)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request starts; it is in flight until the guard (held by its answer's body) drops.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.state().0 += 1;
        InFlight(self.clone())
    }

    /// Resolves once no request has been in flight for `limit`.
    async fn idle(&self, limit: Duration) {
        loop {
            let (busy, since) = *self.state();
            if busy > 0 {
                tokio::time::sleep(limit).await;
                continue;
            }
            let end = since + limit;
            if tokio::time::Instant::now() >= end {
                return;
            }
            tokio::time::sleep_until(end).await;
        }
    }
}

/// One request in flight on a connection.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.0 = state.0.saturating_sub(1);
        state.1 = tokio::time::Instant::now();
    }
}

/// An answer's body that keeps its request in flight until it is dropped; the rest, size
/// included (a `Content-Length` instead of chunks), is the body's.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = Dropped;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Dropped>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let permits = Arc::new(Semaphore::new(shared.limits.connections));
    let mut backoff = Backoff::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff.succeeded();
                stream
            }
            Err(_) => {
                tokio::select! {
                    () = tokio::time::sleep(backoff.failed()) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        // Over the cap: closed at once (dropping it), not queued.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            connection(stream, shared, stop).await;
            drop(permit);
        });
    }
}

/// Serves one connection until it ends, goes silent or idle, or the server stops.
async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let limits = shared.limits;
    // The auto builder sniffs the HTTP version with no timeout: wait for a first byte here.
    let mut first = [0u8; 1];
    match tokio::time::timeout(limits.first_byte, stream.peek(&mut first)).await {
        Ok(Ok(n)) if n > 0 => {}
        _ => return,
    }
    let activity = Activity::new();
    let busy = activity.clone();
    let service = hyper::service::service_fn(move |request| {
        let in_flight = busy.begin();
        let shared = shared.clone();
        async move {
            let response = answer(request, &shared).await?;
            // The request stays in flight until its answer's body is sent (or dropped).
            Ok::<_, Dropped>(response.map(|body| {
                Tracked {
                    body,
                    _in_flight: in_flight,
                }
                .boxed_unsync()
            }))
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // A client that never finishes its headers is dropped, not waited for.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let stream = WriteDeadline::new(stream, limits.write);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = activity.idle(limits.idle) => {}
        _ = stop.changed() => {}
    }
}

/// A stream whose writes fail with `TimedOut` once one has waited `limit` for the peer to
/// read (reads are the other timeouts' business).
struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    /// Since the current write started waiting.
    waiting: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            waiting: None,
        }
    }

    /// What a write that is not ready answers: wait, or fail once it waited too long.
    fn stalled<T>(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<T>> {
        let limit = self.limit;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match waiting.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the peer does not read its answer",
            ))),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    /// A write that is ready (done or failed): the next one waits afresh.
    fn ready<T>(&mut self, done: std::io::Result<T>) -> std::task::Poll<std::io::Result<T>> {
        self.waiting = None;
        std::task::Poll::Ready(done)
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match std::pin::Pin::new(&mut self.inner).poll_write(cx, buf) {
            std::task::Poll::Ready(done) => self.ready(done),
            std::task::Poll::Pending => self.stalled(cx),
        }
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            std::task::Poll::Ready(done) => self.ready(done),
            std::task::Poll::Pending => self.stalled(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match std::pin::Pin::new(&mut self.inner).poll_flush(cx) {
            std::task::Poll::Ready(done) => self.ready(done),
            std::task::Poll::Pending => self.stalled(cx),
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match std::pin::Pin::new(&mut self.inner).poll_shutdown(cx) {
            std::task::Poll::Ready(done) => self.ready(done),
            std::task::Poll::Pending => self.stalled(cx),
        }
    }
}

/// Why a connection was dropped without (a whole) answer.
#[derive(Debug)]
struct Dropped(&'static str);

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Dropped {}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Dropped>;

async fn answer(
    request: hyper::Request<Incoming>,
    shared: &Shared,
) -> Result<hyper::Response<Body>, Dropped> {
    let (mut parts, body) = request.into_parts();
    if !addressed_to(&parts, shared.port) {
        // DNS rebinding: a web page's request names its own host. Neither handled nor logged.
        return Ok(closing(
            refusal(
                &parts.headers,
                421,
                "7",
                "this server answers only requests for 127.0.0.1, localhost or [::1] at its own port",
            ),
            parts.version,
        ));
    }
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY as u64) {
        // Refused before a byte of the body is read (none is kept): a client that sends
        // it anyway reads the 413 instead of a broken pipe.
        discard(body, shared.limits.body);
        return Ok(too_large_answer(&parts.headers));
    }
    let collected = tokio::time::timeout(
        shared.limits.body,
        Limited::new(body, MAX_REQUEST_BODY).collect(),
    )
    .await;
    let body = match collected {
        Err(_) => {
            return Ok(closing(
                plain(408, "request body not received in time"),
                parts.version,
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes().to_vec(),
        Ok(Err(error)) => {
            let too_large = error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            if !too_large {
                // The client went away mid-body.
                return Err(Dropped("request body not received"));
            }
            return Ok(too_large_answer(&parts.headers));
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let Ok(url) = Url::parse(&format!("{}{target}", shared.base)) else {
        return Ok(plain(400, "malformed request target"));
    };
    // Only the request log may say a body was cut.
    parts.headers.remove(TRUNCATED_HEADER);
    let request = Request {
        method: parts.method,
        url,
        headers: parts.headers,
        body,
    };
    if let Ok(mut log) = shared.log.lock() {
        log.push(request.detached(shared.limits.log_body));
    }
    let mut answer = (shared.handler)(&request);
    if let Some(durable) = answer.durable.take() {
        durable.wait().await;
    }
    if let Some(delay) = answer.delay.take() {
        tokio::time::sleep(*delay).await;
    }
    respond(answer)
}

/// Reads `body` and throws it away, in the background, for at most `limit`.
fn discard(mut body: Incoming, limit: Duration) {
    tokio::spawn(tokio::time::timeout(limit, async move {
        while let Some(Ok(_)) = body.frame().await {}
    }));
}

/// Whether the request names this server: its `Host` (HTTP/1) and its URI's authority
/// (HTTP/2's `:authority`, or an HTTP/1 absolute-form target), whichever it has, are each
/// `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>`; one of them is required, and
/// a second `Host` is refused.
fn addressed_to(parts: &http::request::Parts, port: u16) -> bool {
    let mut hosts = parts.headers.get_all(http::header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return false;
    }
    let host = match host.map(|v| v.to_str()) {
        Some(Ok(host)) => Some(host),
        Some(Err(_)) => return false,
        None => None,
    };
    let authority = parts.uri.authority().map(http::uri::Authority::as_str);
    (host.is_some() || authority.is_some())
        && host.is_none_or(|h| loopback(h, port))
        && authority.is_none_or(|a| loopback(a, port))
}

/// `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>` (any case), exactly.
fn loopback(authority: &str, port: u16) -> bool {
    let Some((host, given)) = authority.rsplit_once(':') else {
        return false;
    };
    given == port.to_string()
        && ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|h| host.eq_ignore_ascii_case(h))
}

/// Whether the request is a gRPC call.
fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// `status` with `text`, or for a gRPC call the gRPC way: 200 with `grpc-status` and
/// `grpc-message` and no body, which gRPC clients read as a status instead of an unknown
/// error.
fn refusal(
    headers: &http::HeaderMap,
    status: u16,
    grpc_status: &str,
    text: &'static str,
) -> hyper::Response<Body> {
    if !is_grpc(headers) {
        return plain(status, text);
    }
    let mut response = hyper::Response::new(full(Bytes::new()));
    let headers = response.headers_mut();
    insert(headers, "content-type", "application/grpc");
    insert(headers, "grpc-status", grpc_status);
    insert(headers, "grpc-message", text);
    response
}

/// The response, with `Connection: close` on HTTP/1 (a body left unread, or one that did
/// not arrive, leaves nothing to keep the connection for).
fn closing(mut response: hyper::Response<Body>, version: http::Version) -> hyper::Response<Body> {
    if version < http::Version::HTTP_2 {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// 413, or for a gRPC call `grpc-status: 8` (RESOURCE_EXHAUSTED).
fn too_large_answer(headers: &http::HeaderMap) -> hyper::Response<Body> {
    refusal(
        headers,
        413,
        "8",
        "request body over the simulator's 4 MiB limit",
    )
}

fn plain(status: u16, text: &'static str) -> hyper::Response<Body> {
    let mut response = hyper::Response::new(full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn respond(answer: Answer) -> Result<hyper::Response<Body>, Dropped> {
    let (bytes, mime) = answer
        .body
        .map_or((Vec::new(), None), |(b, m)| (b, Some(m)));
    let status = http::StatusCode::from_u16(answer.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = match answer.delivery {
        Delivery::Reset => return Err(Dropped("connection reset (fault)")),
        Delivery::Whole if answer.trailers.is_empty() => full(Bytes::from(bytes)),
        Delivery::Whole => {
            let mut trailers = http::HeaderMap::new();
            for (name, value) in &answer.trailers {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(value),
                ) {
                    trailers.append(n, v);
                }
            }
            let frames: Vec<Result<Frame<Bytes>, Dropped>> = vec![
                Ok(Frame::data(Bytes::from(bytes))),
                Ok(Frame::trailers(trailers)),
            ];
            StreamBody::new(futures_stream(frames)).boxed_unsync()
        }
        Delivery::Truncated => {
            // Announce the whole length, send half, let it reach the client, then drop the
            // connection.
            let half = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
            let mut response =
                hyper::Response::new(StreamBody::new(Truncate::Data(half)).boxed_unsync());
            *response.status_mut() = status;
            if let Some(mime) = &mime {
                insert(response.headers_mut(), "content-type", mime);
            }
            insert(
                response.headers_mut(),
                "content-length",
                &bytes.len().to_string(),
            );
            return Ok(response);
        }
    };
    let mut response = hyper::Response::new(body);
    *response.status_mut() = status;
    if let Some(mime) = &mime {
        insert(response.headers_mut(), "content-type", mime);
    }
    for (name, value) in &answer.headers {
        insert(response.headers_mut(), name, value);
    }
    Ok(response)
}

fn insert(headers: &mut http::HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        http::HeaderName::from_bytes(name.as_bytes()),
        http::HeaderValue::from_str(value),
    ) {
        headers.insert(n, v);
    }
}

/// Half a body, a pause (so it is flushed to the client), then an error.
enum Truncate {
    Data(Bytes),
    Pause(std::pin::Pin<Box<tokio::time::Sleep>>),
    Done,
}

impl futures_core::Stream for Truncate {
    type Item = Result<Frame<Bytes>, Dropped>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        match &mut *self {
            Self::Data(bytes) => {
                let data = std::mem::take(bytes);
                *self = Self::Pause(Box::pin(tokio::time::sleep(
                    std::time::Duration::from_millis(20),
                )));
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Self::Pause(sleep) => match sleep.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    *self = Self::Done;
                    Poll::Ready(Some(Err(Dropped("body truncated (fault)"))))
                }
            },
            Self::Done => Poll::Ready(None),
        }
    }
}

/// A stream of ready frames.
fn futures_stream<T: Unpin>(items: Vec<T>) -> Frames<T> {
    Frames(items.into_iter())
}

struct Frames<T>(std::vec::IntoIter<T>);

impl<T: Unpin> futures_core::Stream for Frames<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        std::task::Poll::Ready(self.0.next())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn debug_shows_where_it_listens() {
        let server = HttpServer::start(
            ServerOptions::default(),
            Arc::new(|_: &Request| Answer::new(204)),
        )
        .unwrap();
        let shown = format!("{server:?}");
        assert!(shown.contains(&server.addr().to_string()), "{shown}");
        assert_eq!(server.uri(), format!("http://{}", server.addr()));
    }

    /// Limits short enough for tests; the safety net of every read is far longer.
    fn short() -> Limits {
        Limits {
            first_byte: Duration::from_millis(200),
            idle: Duration::from_millis(300),
            body: Duration::from_millis(200),
            ..Limits::default()
        }
    }

    /// A server answering 204 that counts the requests its handler got.
    fn counting(limits: Limits) -> (HttpServer, Arc<AtomicUsize>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        let server = HttpServer::start_limited(
            ServerOptions::default(),
            limits,
            Arc::new(move |_: &Request| {
                count.fetch_add(1, Ordering::SeqCst);
                Answer::new(204)
            }),
        )
        .unwrap();
        (server, seen)
    }

    /// An HTTP/2 connection (prior knowledge) to `server`, and its task.
    async fn h2<B>(
        server: &HttpServer,
    ) -> (
        hyper::client::conn::http2::SendRequest<B>,
        tokio::task::JoinHandle<hyper::Result<()>>,
    )
    where
        B: hyper::body::Body + Unpin + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        (sender, tokio::spawn(connection))
    }

    /// A connection whose reads give up after 10 s, so a server that keeps it open fails
    /// the test instead of hanging it.
    fn connect(server: &HttpServer) -> std::net::TcpStream {
        let stream = std::net::TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    /// Everything until the server closes the connection; an error when it did not close
    /// it within the read timeout.
    fn until_closed(stream: &mut std::net::TcpStream) -> std::io::Result<String> {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(String::from_utf8_lossy(&all).into_owned()),
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Ok(String::from_utf8_lossy(&all).into_owned());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The head of one answer (up to its blank line), leaving the connection open.
    fn head(stream: &mut std::net::TcpStream) -> String {
        let mut all = Vec::new();
        let mut byte = [0u8; 1];
        while !all.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => all.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    }

    fn get(server: &HttpServer, host: &str) -> String {
        let mut stream = connect(server);
        let request = format!("GET /x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        until_closed(&mut stream).unwrap()
    }

    #[test]
    fn a_foreign_host_is_refused_before_the_handler_and_the_log() {
        let (server, seen) = counting(Limits::default());
        let port = server.addr().port();
        for host in [
            format!("evil.example:{port}"),
            format!("127.0.0.1:{}", port.wrapping_add(1)),
            format!("127.0.0.1:+{port}"),
            format!("localhost.:{port}"),
            format!("user@127.0.0.1:{port}"),
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
            String::new(),
        ] {
            let answer = get(&server, &host);
            assert!(answer.starts_with("HTTP/1.1 421"), "{host:?}: {answer}");
            assert!(answer.contains("only requests for 127.0.0.1"), "{answer}");
        }
        // No Host at all, two of them, an absolute-form target naming another host.
        for request in [
            "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n".to_owned(),
            format!(
                "GET /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n"
            ),
            format!(
                "GET http://evil.example:{port}/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            ),
        ] {
            let mut stream = connect(&server);
            stream.write_all(request.as_bytes()).unwrap();
            let answer = until_closed(&mut stream).unwrap();
            assert!(answer.starts_with("HTTP/1.1 421"), "{request:?}: {answer}");
        }
        assert_eq!(seen.load(Ordering::SeqCst), 0);
        assert!(server.requests().is_empty());
    }

    #[test]
    fn the_loopback_names_at_the_own_port_are_answered() {
        let (server, seen) = counting(Limits::default());
        let port = server.addr().port();
        let hosts = [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("LocalHost:{port}"),
            format!("[::1]:{port}"),
        ];
        for host in &hosts {
            let answer = get(&server, host);
            assert!(answer.starts_with("HTTP/1.1 204"), "{host}: {answer}");
        }
        assert_eq!(seen.load(Ordering::SeqCst), hosts.len());
        assert_eq!(server.requests().len(), hosts.len());
    }

    #[test]
    fn a_foreign_host_gets_a_grpc_status_on_a_grpc_call() {
        let (server, seen) = counting(Limits::default());
        let mut stream = connect(&server);
        stream
            .write_all(b"POST /x HTTP/1.1\r\nHost: evil.example\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
        let answer = until_closed(&mut stream).unwrap().to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 200"), "{answer}");
        assert!(answer.contains("grpc-status: 7"), "{answer}");
        assert_eq!(seen.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_foreign_authority_is_refused_over_h2() {
        let (server, seen) = counting(Limits::default());
        let port = server.addr().port();
        let (mut sender, _) = h2(&server).await;
        for (authority, status) in [
            (format!("evil.example:{port}"), 421),
            (format!("localhost:{port}"), 204),
            (format!("127.0.0.1:{port}"), 204),
        ] {
            let request = http::Request::get(format!("http://{authority}/x"))
                .body(http_body_util::Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{authority}");
        }
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        assert_eq!(server.requests().len(), 2);
    }

    #[test]
    fn a_connection_that_sends_nothing_is_closed() {
        let (server, _) = counting(short());
        let mut stream = connect(&server);
        assert_eq!(until_closed(&mut stream).unwrap(), "");
    }

    #[test]
    fn a_body_that_does_not_arrive_is_dropped() {
        let (server, seen) = counting(short());
        let port = server.addr().port();
        let mut stream = connect(&server);
        let request = format!(
            "POST /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 100\r\n\r\nabcde"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let answer = until_closed(&mut stream).unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert_eq!(seen.load(Ordering::SeqCst), 0);
        assert!(server.requests().is_empty());
    }

    #[test]
    fn an_idle_keep_alive_connection_is_closed() {
        let (server, seen) = counting(short());
        let port = server.addr().port();
        let mut stream = connect(&server);
        let request = format!("GET /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        assert!(head(&mut stream).starts_with("HTTP/1.1 204"));
        // Kept alive: a second request on it is answered.
        stream.write_all(request.as_bytes()).unwrap();
        assert!(head(&mut stream).starts_with("HTTP/1.1 204"));
        // Then nothing: closed after the idle timeout.
        assert_eq!(until_closed(&mut stream).unwrap(), "");
        assert_eq!(seen.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn headers_that_never_end_are_dropped() {
        let (server, seen) = counting(short());
        let mut stream = connect(&server);
        stream.write_all(b"GET /x HTTP/1.1\r\nHost: 127.0").unwrap();
        assert_eq!(until_closed(&mut stream).unwrap(), "");
        assert_eq!(seen.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_is_dropped_over_h2() {
        let (server, seen) = counting(short());
        let (mut sender, _) = h2(&server).await;
        /// Five bytes of the hundred declared, then nothing, never ending.
        struct Stalled(Option<Bytes>);
        impl hyper::body::Body for Stalled {
            type Data = Bytes;
            type Error = std::convert::Infallible;
            fn poll_frame(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>>
            {
                match self.0.take() {
                    Some(bytes) => {
                        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes))))
                    }
                    None => std::task::Poll::Pending,
                }
            }
        }
        let request = http::Request::post(format!("{}/x", server.uri()))
            .header(http::header::CONTENT_LENGTH, "100")
            .body(Stalled(Some(Bytes::from_static(b"abcde"))))
            .unwrap();
        let Ok(response) =
            tokio::time::timeout(Duration::from_secs(10), sender.send_request(request)).await
        else {
            panic!("no answer to a stalled h2 body");
        };
        let response = response.unwrap();
        assert_eq!(response.status().as_u16(), 408);
        assert_eq!(seen.load(Ordering::SeqCst), 0);
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn an_idle_h2_connection_is_closed() {
        let (server, seen) = counting(short());
        let (mut sender, connection) = h2(&server).await;
        let request = http::Request::get(format!("{}/x", server.uri()))
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        assert_eq!(sender.send_request(request).await.unwrap().status(), 204);
        // The client keeps it open; the server ends it once idle.
        let ended = tokio::time::timeout(Duration::from_secs(10), connection).await;
        assert!(ended.is_ok(), "the idle h2 connection is still open");
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_delayed_answer_outlives_the_idle_timeout() {
        let limits = short();
        let delay = limits.idle * 4;
        let server = HttpServer::start_limited(
            ServerOptions::default(),
            limits,
            Arc::new(move |_: &Request| {
                Answer::new(200)
                    .set_body_raw(b"late".to_vec(), "text/plain")
                    .set_delay(delay)
            }),
        )
        .unwrap();
        let port = server.addr().port();
        let answer = get(&server, &format!("127.0.0.1:{port}"));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("late"), "{answer}");
    }

    #[tokio::test]
    async fn a_delayed_answer_outlives_the_idle_timeout_over_h2() {
        let limits = short();
        let delay = limits.idle * 4;
        let server = HttpServer::start_limited(
            ServerOptions::default(),
            limits,
            Arc::new(move |_: &Request| Answer::new(200).set_delay(delay)),
        )
        .unwrap();
        let (mut sender, _) = h2(&server).await;
        let request = http::Request::get(format!("{}/x", server.uri()))
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[test]
    fn a_declared_oversize_body_is_refused_before_it_is_sent() {
        // A body timeout far longer than the read timeout: only an early 413 passes.
        let limits = Limits {
            body: Duration::from_secs(60),
            ..Limits::default()
        };
        let (server, seen) = counting(limits);
        let port = server.addr().port();
        for (content_type, expected) in [
            ("application/json", "http/1.1 413"),
            ("application/grpc", "grpc-status: 8"),
        ] {
            let mut stream = connect(&server);
            let request = format!(
                "POST /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\ncontent-type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                MAX_REQUEST_BODY + 1
            );
            stream.write_all(request.as_bytes()).unwrap();
            let answer = head(&mut stream).to_ascii_lowercase();
            assert!(answer.contains(expected), "{answer}");
        }
        assert_eq!(seen.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_client_that_does_not_read_its_answer_is_dropped() {
        let limits = Limits {
            write: Duration::from_millis(200),
            ..Limits::default()
        };
        let server = HttpServer::start_limited(
            ServerOptions::default(),
            limits,
            // Far more than the socket buffers hold.
            Arc::new(|_: &Request| {
                Answer::new(200).set_body_raw(vec![b'x'; 64 << 20], "text/plain")
            }),
        )
        .unwrap();
        let port = server.addr().port();
        let mut stream = connect(&server);
        let request = format!("GET /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        // Not reading: the server gives up on the write and closes the connection, so
        // that reading now ends (reset, or the end of what was sent) well before 64 MiB.
        std::thread::sleep(Duration::from_millis(1500));
        let mut got = 0_usize;
        let mut buf = vec![0_u8; 1 << 16];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("the connection stayed open: {e}"),
            }
        }
        assert!(got < 64 << 20, "the whole answer was sent: {got} bytes");
    }

    #[test]
    fn connections_over_the_cap_are_closed() {
        let limits = Limits {
            connections: 2,
            ..Limits::default()
        };
        let (server, seen) = counting(limits);
        let port = server.addr().port();
        let request = format!("GET /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        let mut first = connect(&server);
        first.write_all(request.as_bytes()).unwrap();
        assert!(head(&mut first).starts_with("HTTP/1.1 204"));
        let mut second = connect(&server);
        second.write_all(request.as_bytes()).unwrap();
        assert!(head(&mut second).starts_with("HTTP/1.1 204"));
        // The third is closed unanswered.
        let mut third = connect(&server);
        let _ = third.write_all(request.as_bytes());
        assert_eq!(until_closed(&mut third).unwrap(), "");
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        // Once one closes, a new one is served.
        drop(first);
        let served = (0..100).any(|_| {
            let mut next = connect(&server);
            let _ = next.write_all(request.as_bytes());
            if head(&mut next).starts_with("HTTP/1.1 204") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
            false
        });
        assert!(served);
    }

    #[test]
    fn the_log_truncates_bodies_and_forgets_the_oldest_past_its_bytes() {
        let limits = Limits {
            log_body: 1024,
            log_bytes: 4096,
            ..Limits::default()
        };
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let server = HttpServer::start_limited(
            ServerOptions::default(),
            limits,
            Arc::new(move |r: &Request| {
                seen.lock().unwrap().push(r.body.len());
                Answer::new(204)
            }),
        )
        .unwrap();
        let port = server.addr().port();
        for i in 0..6 {
            let mut stream = connect(&server);
            let body = vec![b'a' + i; 10_000];
            let head = format!(
                "POST /{i} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-pats-sim-body-truncated: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
            assert!(
                until_closed(&mut stream)
                    .unwrap()
                    .starts_with("HTTP/1.1 204")
            );
        }
        assert_eq!(*sizes.lock().unwrap(), vec![10_000; 6]);
        let logged = server.requests();
        let paths: Vec<&str> = logged.iter().map(|r| r.url.path()).collect();
        // About 1.1 KiB each: the last three fit in 4 KiB.
        assert_eq!(paths, ["/3", "/4", "/5"]);
        for (request, fill) in logged.iter().zip([b'd', b'e', b'f']) {
            assert_eq!(request.body, vec![fill; 1024]);
            assert_eq!(request.body_truncated(), Some(10_000));
        }
        server.clear_requests();
        assert!(server.requests().is_empty());
    }

    fn logged(path: &str, body: usize) -> Request {
        Request::new(
            "POST",
            Url::parse(&format!("http://h{path}")).unwrap(),
            vec![0; body],
        )
    }

    #[test]
    fn the_log_counts_bytes_and_entries() {
        let mut log = RequestLog::new(3, 100);
        let paths = |log: &RequestLog| -> Vec<String> {
            log.requests
                .iter()
                .map(|r| r.url.path().to_owned())
                .collect()
        };
        // "http://h/a" is 10 bytes: each entry is 10 + its body.
        log.push(logged("/a", 30));
        log.push(logged("/b", 30));
        assert_eq!(log.bytes, 80);
        log.push(logged("/c", 30)); // 120 > 100: /a goes
        assert_eq!(paths(&log), ["/b", "/c"]);
        assert_eq!(log.bytes, 80);
        log.push(logged("/d", 0));
        log.push(logged("/e", 0)); // a fourth entry: /b goes
        assert_eq!(paths(&log), ["/c", "/d", "/e"]);
        assert_eq!(log.bytes, 60);
        log.push(logged("/f", 200)); // alone over the cap: kept alone
        assert_eq!(paths(&log), ["/f"]);
        assert_eq!(log.bytes, 210);
        log.clear();
        assert_eq!(log.bytes, 0);
        // Exactly at the cap is within it.
        let mut full = RequestLog::new(10, 100);
        full.push(logged("/a", 40));
        full.push(logged("/b", 40));
        assert_eq!(full.bytes, 100);
        assert_eq!(paths(&full), ["/a", "/b"]);
        // Headers count by name and value length.
        let mut with_header = logged("/a", 0);
        with_header
            .headers
            .insert("abc", http::HeaderValue::from_static("12345"));
        assert_eq!(with_header.footprint(), 10 + 3 + 5);
        let mut none = RequestLog::new(0, 100);
        none.push(logged("/a", 1));
        assert!(none.requests.is_empty());
    }

    #[test]
    fn detached_copies_cut_the_body_and_say_so() {
        let mut request = logged("/a", 10);
        request
            .headers
            .insert(TRUNCATED_HEADER, http::HeaderValue::from_static("99"));
        assert_eq!(request.detached(10).body_truncated(), None);
        assert_eq!(request.detached(10).body.len(), 10);
        let cut = request.detached(4);
        assert_eq!(cut.body.len(), 4);
        assert_eq!(cut.body_truncated(), Some(10));
        assert_eq!(request.body.len(), 10);
    }

    #[test]
    fn accept_backoff_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::new();
        let pauses: Vec<u128> = (0..9).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(10));
    }

    #[test]
    fn loopback_authorities() {
        assert!(loopback("127.0.0.1:80", 80));
        assert!(loopback("LOCALHOST:80", 80));
        assert!(loopback("[::1]:80", 80));
        assert!(!loopback("[::1]:81", 80));
        assert!(!loopback("[::2]:80", 80));
        assert!(!loopback("127.0.0.1:080", 80));
        assert!(!loopback("127.0.0.1", 80));
        assert!(!loopback("x127.0.0.1:80", 80));
    }
}
