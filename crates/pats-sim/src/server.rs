//! The HTTP server every simulator runs on: hyper (HTTP/1.1 and HTTP/2 without TLS, so
//! gRPC clients can connect too) on `127.0.0.1`, on a thread and runtime of its own, so a
//! test that blocks its own runtime (running the `pats` binary, say) is still answered.
//!
//! The server turns each HTTP request into a [`Request`], records it, hands it to the
//! simulator's handler and writes its answer back, including the answers no real
//! provider means to give: a delay, a connection reset, a truncated body.

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
use tokio::sync::watch;
use url::Url;

/// The largest request body a simulator reads (larger: 413).
pub const MAX_REQUEST_BODY: usize = 4 * 1024 * 1024;

/// How long a client may take to send a request's headers before its connection is closed.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How many requests a server remembers by default (older ones are forgotten first).
pub const DEFAULT_REQUEST_LOG: usize = 100_000;

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

    /// A copy that owns its header bytes: header values hyper parsed are slices of its
    /// read buffer, which a logged clone would keep alive (8 KiB per request).
    fn detached(&self) -> Self {
        let headers = self
            .headers
            .iter()
            .filter_map(|(name, value)| {
                http::HeaderValue::from_bytes(value.as_bytes())
                    .ok()
                    .map(|v| (name.clone(), v))
            })
            .collect();
        Self {
            method: self.method.clone(),
            url: self.url.clone(),
            headers,
            body: self.body.clone(),
        }
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

/// The requests a server received, oldest first, at most `cap` of them.
#[derive(Debug)]
pub(crate) struct RequestLog {
    cap: usize,
    requests: VecDeque<Request>,
}

impl RequestLog {
    fn push(&mut self, request: Request) {
        if self.cap == 0 {
            return;
        }
        if self.requests.len() == self.cap {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
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

impl HttpServer {
    /// Binds `127.0.0.1:<port>` and serves `handler` until dropped.
    pub(crate) fn start(options: ServerOptions, handler: Handler) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(RequestLog {
            cap: options.log,
            requests: VecDeque::new(),
        }));
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
        let served = log.clone();
        let thread = std::thread::Builder::new()
            .name(format!("pats-sim:{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, handler, served, stop));
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
    pub fn requests(&self) -> Vec<Request> {
        match self.log.lock() {
            Ok(log) => log.requests.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().requests.iter().cloned().collect(),
        }
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        match self.log.lock() {
            Ok(mut log) => log.requests.clear(),
            Err(poisoned) => poisoned.into_inner().requests.clear(),
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

async fn serve(
    listener: std::net::TcpListener,
    handler: Handler,
    log: Arc<Mutex<RequestLog>>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let base = Arc::new(format!(
        "http://{}",
        listener
            .local_addr()
            .map_or_else(|_| "127.0.0.1".to_owned(), |a| a.to_string())
    ));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let log = log.clone();
        let base = base.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handler = handler.clone();
                let log = log.clone();
                let base = base.clone();
                async move { answer(request, &base, &handler, &log).await }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // A client that never finishes its headers is dropped, not waited for.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            builder.http2().timer(TokioTimer::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = stop.changed() => {}
            }
        });
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
    base: &str,
    handler: &Handler,
    log: &Mutex<RequestLog>,
) -> Result<hyper::Response<Body>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(error) => {
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
    let Ok(url) = Url::parse(&format!("{base}{target}")) else {
        return Ok(plain(400, "malformed request target"));
    };
    let request = Request {
        method: parts.method,
        url,
        headers: parts.headers,
        body,
    };
    if let Ok(mut log) = log.lock() {
        log.push(request.detached());
    }
    let answer = handler(&request);
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    respond(answer)
}

/// 413, or for a gRPC call the gRPC way: 200 with `grpc-status: 8` (RESOURCE_EXHAUSTED)
/// and no body, which gRPC clients read as a status instead of an unknown error.
fn too_large_answer(headers: &http::HeaderMap) -> hyper::Response<Body> {
    let grpc = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"));
    if !grpc {
        return plain(413, "request body too large");
    }
    let mut response = hyper::Response::new(full(Bytes::new()));
    let headers = response.headers_mut();
    insert(headers, "content-type", "application/grpc");
    insert(headers, "grpc-status", "8");
    insert(
        headers,
        "grpc-message",
        "request body over the simulator's 4 MiB limit",
    );
    response
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
}
