//! The HTTP transport every provider client is built on.
//!
//! - Base URLs must be `https`; plain `http` is accepted only for loopback hosts.
//! - Paths are built from segments with `url`'s segment API, so an id can never change the
//!   path (`/`, `?`, `#`, `%` are encoded).
//! - Every attempt has a timeout (connect and total); bodies larger than the configured
//!   cap are refused while they stream in.
//! - Idempotent requests are retried by [`retry::run`]; a 401 with a
//!   refreshable [`TokenSource`] refreshes the token and replays the request once. An
//!   error in obtaining the token is returned as is, never retried: the token fetch has
//!   its own retries.
//! - Each attempt runs in a `tracing` span `pats.request` with provider, method, path
//!   template, attempt, status and latency, never headers or bodies.

use crate::credentials::TokenSource;
use crate::error::{ApiError, Error, Result};
use crate::redact;
use crate::retry::{self, Clock, RetryPolicy, TokioClock};
use crate::shared_http;
use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("pats/", env!("CARGO_PKG_VERSION"));

/// Options every provider client accepts.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Total time for one attempt, from connecting until the whole body is read.
    pub timeout: Duration,
    /// Time to establish a connection (only for the client pats builds itself).
    pub connect_timeout: Duration,
    /// Retries of idempotent requests.
    pub retry: RetryPolicy,
    /// Largest accepted response body, in bytes.
    pub max_response_bytes: usize,
    /// Your own `reqwest::Client` (proxies, custom roots). Otherwise pats uses one it
    /// builds and shares, per process, with every client of the same `connect_timeout`
    /// and `timeout` in the same tokio runtime: constructing a client then costs no TLS
    /// set-up, and clients of the same base URL share keep-alive connections.
    pub http_client: Option<reqwest::Client>,
    /// The clock the retry loop waits on (a test seam: see `with_clock`).
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .field("clock", &self.clock)
            .finish()
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_response_bytes: 4 * 1024 * 1024,
            http_client: None,
            clock: Arc::new(TokioClock::default()),
        }
    }
}

impl ClientOptions {
    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the response body cap.
    #[must_use]
    pub fn with_max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Uses your own `reqwest::Client`. Redirects are your client's business then; the
    /// client pats builds follows none.
    #[must_use]
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Sets the clock the retry loop waits on (tests use [`VirtualClock`](crate::VirtualClock)).
    /// A test seam: feature `test-util`.
    #[cfg(any(test, feature = "test-util"))]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Parses and checks a provider base URL: `https`, or `http` on a loopback host only; no
/// credentials, query or fragment.
///
/// Errors never quote the input: a mistyped URL can hold a password or a token (in its
/// userinfo or its query). They say what is wrong, quoting at most the host.
pub fn parse_base_url(input: &str) -> Result<Url> {
    let url = Url::parse(input.trim()).map_err(|e| {
        Error::invalid(
            "base_url",
            format!("is not a valid URL ({e}); expected https://host[:port][/path]"),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::invalid(
                "base_url",
                format!(
                    "plain http is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost); use https for `{}`",
                    url.host_str().unwrap_or_default()
                ),
            ));
        }
        other => {
            return Err(Error::invalid(
                "base_url",
                format!("scheme `{other}` is not supported; use https"),
            ));
        }
    }
    if url.host().is_none() {
        return Err(Error::invalid("base_url", "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "base_url",
            "must not contain credentials; configure them separately",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            "base_url",
            "must not have a query or fragment",
        ));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// What an attempt looks like, for a [`RequestHook`].
#[derive(Debug)]
#[non_exhaustive]
pub struct AttemptContext<'a> {
    /// Attempt number, from 1.
    pub attempt: u32,
    /// The method.
    pub method: &'a Method,
    /// The full URL.
    pub url: &'a Url,
    /// The body bytes, exactly as they will be sent.
    pub body: Option<&'a [u8]>,
}

/// Runs before every attempt of a request and may add headers (for example a Dfns user
/// action, which is single-use and so needed anew for each attempt).
#[async_trait]
pub trait RequestHook: Send + Sync {
    /// Called before each attempt.
    async fn before_attempt(&self, ctx: &AttemptContext<'_>, headers: &mut HeaderMap)
    -> Result<()>;
}

/// One API request, described once and sent by [`Transport::send`].
pub struct Request {
    method: Method,
    template: &'static str,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<(Bytes, HeaderValue)>,
    idempotent: bool,
    authenticate: bool,
    hook: Option<Arc<dyn RequestHook>>,
    secrets: Vec<SecretString>,
    max_response: Option<(usize, &'static str)>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("template", &self.template)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

/// One operation of a provider's vendor contract, as `cargo xtask codegen` generates it
/// from `contracts/<provider>/openapi.json` (each provider crate's `generated::operations`).
///
/// Clients build their requests with [`Request::operation`], so that a method or path the
/// provider's description does not define cannot be sent. A provider crate of your own
/// makes its operations with [`Operation::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The `operationId` in the contract.
    pub id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, e.g. `/v3/personal-access-tokens/{id}`.
    pub path: &'static str,
    /// Whether sending it twice has the effect of sending it once (so it may be retried).
    pub idempotent: bool,
}

impl Operation {
    /// An operation: its `operationId`, HTTP method (upper case), path template (with
    /// `{name}` placeholders for whole segments) and whether it may be retried.
    pub const fn new(
        id: &'static str,
        method: &'static str,
        path: &'static str,
        idempotent: bool,
    ) -> Self {
        Self {
            id,
            method,
            path,
            idempotent,
        }
    }
}

impl Request {
    /// The request for `operation`, with `params` filling the path template's `{…}`
    /// placeholders in order (each one encoded as a single segment). Retried only if the
    /// contract marks the operation idempotent.
    ///
    /// A wrong number of parameters, or an empty one, is [`InvalidInput`](crate::ErrorKind::InvalidInput): nothing
    /// is sent.
    pub fn operation(operation: &Operation, params: &[&str]) -> Result<Self> {
        let method = Method::from_bytes(operation.method.as_bytes()).map_err(|_| {
            Error::invalid("operation", format!("bad method {:?}", operation.method))
        })?;
        let mut params = params.iter();
        let mut segments = Vec::new();
        for part in operation.path.trim_start_matches('/').split('/') {
            if part.starts_with('{') && part.ends_with('}') {
                let value = params.next().ok_or_else(|| {
                    Error::invalid(
                        "operation",
                        format!("{} needs a value for {part}", operation.id),
                    )
                })?;
                if value.is_empty() {
                    return Err(Error::invalid(
                        "operation",
                        format!("{} got an empty {part}", operation.id),
                    ));
                }
                segments.push((*value).to_owned());
            } else {
                segments.push(part.to_owned());
            }
        }
        if params.next().is_some() {
            return Err(Error::invalid(
                "operation",
                format!(
                    "{} got more path parameters than {} has",
                    operation.id, operation.path
                ),
            ));
        }
        Ok(Self::new(method, operation.path)
            .segments(segments)
            .idempotent(operation.idempotent))
    }

    /// A request; `template` names the path for tracing (for example `/auth/pats/{id}`).
    ///
    /// GET, HEAD, PUT, DELETE and OPTIONS are idempotent; POST and PATCH are not, unless
    /// marked with [`idempotent`](Self::idempotent).
    pub fn new(method: Method, template: &'static str) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        Self {
            method,
            template,
            segments: Vec::new(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            authenticate: true,
            hook: None,
            secrets: Vec::new(),
            max_response: None,
        }
    }

    /// A GET request.
    pub fn get(template: &'static str) -> Self {
        Self::new(Method::GET, template)
    }

    /// A POST request.
    pub fn post(template: &'static str) -> Self {
        Self::new(Method::POST, template)
    }

    /// A PUT request.
    pub fn put(template: &'static str) -> Self {
        Self::new(Method::PUT, template)
    }

    /// A PATCH request.
    pub fn patch(template: &'static str) -> Self {
        Self::new(Method::PATCH, template)
    }

    /// A DELETE request.
    pub fn delete(template: &'static str) -> Self {
        Self::new(Method::DELETE, template)
    }

    /// Appends path segments (each encoded; `/` inside a segment stays inside it).
    #[must_use]
    pub fn segments<I, S>(mut self, segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.segments.extend(segments.into_iter().map(Into::into));
        self
    }

    /// Adds a query parameter (encoded).
    #[must_use]
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets a header.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Serializes `value` as the JSON body, once: the same bytes go out on every attempt.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::invalid("body", format!("cannot serialize: {e}")))?;
        Ok(self.body(bytes, HeaderValue::from_static("application/json")))
    }

    /// Sets the body and its content type.
    #[must_use]
    pub fn body(mut self, bytes: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        self.body = Some((bytes.into(), content_type));
        self
    }

    /// The body bytes, exactly as they will be sent.
    pub fn body_bytes(&self) -> Option<&Bytes> {
        self.body.as_ref().map(|(b, _)| b)
    }

    /// Marks the request as safe (or unsafe) to send more than once.
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Sends the request without the transport's bearer token (for token endpoints).
    #[must_use]
    pub fn without_auth(mut self) -> Self {
        self.authenticate = false;
        self
    }

    /// Runs `hook` before each attempt.
    #[must_use]
    pub fn hook(mut self, hook: Arc<dyn RequestHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Registers a secret this request carries (for example a client secret in a form
    /// body) so it is scrubbed from any error built from the answer.
    #[must_use]
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Caps this request's answer body at `max` bytes instead of
    /// [`ClientOptions::max_response_bytes`]; `setting` names the setting that raises it
    /// (for example `SailPointClientBuilder::list_response_limit`), quoted in the error.
    #[must_use]
    pub fn max_response_bytes(mut self, max: usize, setting: &'static str) -> Self {
        self.max_response = Some((max, setting));
        self
    }
}

/// A provider's answer, body fully read (and capped).
#[derive(Clone)]
pub struct Response {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    secrets: Arc<Vec<SecretString>>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("content_type", &self.headers.get(header::CONTENT_TYPE))
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// An answer, for tests (transports make the real ones). Feature `test-util`.
    #[cfg(any(test, feature = "test-util"))]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn new(status: u16, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
            secrets: Arc::default(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, mutable.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The raw body (may hold secrets: never log it).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// A header's value as text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Retry-After` header as a duration (seconds or HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header_str(header::RETRY_AFTER.as_str())?;
        retry::parse_retry_after(value, time::OffsetDateTime::now_utc())
    }

    /// Removes secrets known to this request and secret-shaped values from `text`.
    pub fn scrub(&self, text: &str) -> String {
        let known: Vec<&str> = self.secrets.iter().map(|s| s.expose_secret()).collect();
        redact::scrub(text, &known)
    }

    /// The start of the body, scrubbed, at most 512 bytes.
    pub fn snippet(&self) -> String {
        let known: Vec<&str> = self.secrets.iter().map(|s| s.expose_secret()).collect();
        redact::snippet(&self.body, &known)
    }

    /// A [`Decode`](crate::ErrorKind::Decode) for this answer.
    pub fn decode_error(&self, reason: impl Into<String>) -> Error {
        Error::decode_with_snippet(self.status, reason, self.snippet())
    }

    /// Checks an access token that a token endpoint sent in this answer before it is used:
    /// not empty, and only the visible ASCII characters a bearer token is made of
    /// (RFC 6750). A token that breaks either is the server's fault, so an
    /// [`Decode`](crate::ErrorKind::Decode) (its value is not quoted), not the caller's `InvalidInput`.
    pub fn check_access_token(&self, token: &str) -> Result<()> {
        if token.is_empty() {
            return Err(self.decode_error("the token endpoint sent an empty `access_token`"));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(self.decode_error(
                "the token endpoint sent an `access_token` with characters a bearer token \
                 cannot have (only visible ASCII)",
            ));
        }
        Ok(())
    }

    /// Whether the content type is JSON (`application/json` or `*/*+json`); a missing
    /// content type counts as JSON.
    pub fn is_json(&self) -> bool {
        match self.header_str(header::CONTENT_TYPE.as_str()) {
            None => true,
            Some(ct) => {
                let essence = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            }
        }
    }

    /// Decodes the JSON body. A non-JSON content type, an empty body or JSON that does not
    /// fit `T` is an [`Decode`](crate::ErrorKind::Decode) with a scrubbed snippet.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        if !self.is_json() {
            return Err(self.decode_error(format!(
                "expected JSON, got content type `{}`",
                self.header_str(header::CONTENT_TYPE.as_str())
                    .unwrap_or_default()
            )));
        }
        if self.body.is_empty() {
            return Err(self.decode_error("expected a JSON body, got an empty one"));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            // serde_json's message quotes no input beyond type names and positions.
            self.decode_error(format!("invalid JSON: {e}"))
        })
    }

    /// Builds the error for this (non-2xx) answer from what the provider's error body
    /// said; `message` is scrubbed, and `Retry-After` is kept for a 429.
    pub fn api_error(
        &self,
        code: Option<String>,
        message: Option<&str>,
        request_id: Option<String>,
    ) -> Error {
        let message = match message {
            Some(m) => self.scrub(m),
            None if self.body.is_empty() => String::new(),
            None => self.snippet(),
        };
        let error = ApiError::new(self.status, message)
            .with_code(code)
            .with_request_id(request_id);
        Error::from_api(error, self.retry_after())
    }
}

/// Sends requests to one provider: base URL, auth, timeouts, body cap, retries, tracing.
#[derive(Clone)]
pub struct Transport {
    provider: &'static str,
    http: reqwest::Client,
    base: Url,
    options: ClientOptions,
    auth: Option<Arc<dyn TokenSource>>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("provider", &self.provider)
            .field("base", &self.base.as_str())
            .field("options", &self.options)
            .field("auth", &self.auth)
            .finish()
    }
}

impl Transport {
    /// A transport for `provider` at `base_url` (checked with [`parse_base_url`]).
    pub fn new(provider: &'static str, base_url: &str, options: ClientOptions) -> Result<Self> {
        let base = parse_base_url(base_url)?;
        let http = match &options.http_client {
            Some(c) => c.clone(),
            None => shared_http::client(shared_http::Settings::current(
                options.connect_timeout,
                options.timeout,
            ))?,
        };
        Ok(Self {
            provider,
            http,
            base,
            options,
            auth: None,
        })
    }

    /// Sends a bearer token from `source` with every request (unless the request opts out).
    #[must_use]
    pub fn with_auth(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.auth = Some(source);
        self
    }

    /// The provider name.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The options.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The token source, if any.
    pub fn auth(&self) -> Option<&Arc<dyn TokenSource>> {
        self.auth.as_ref()
    }

    /// The URL for `segments` under the base URL, each segment percent-encoded (so `/`,
    /// `?`, `#` and `%` stay inside their segment).
    ///
    /// Empty, `.` and `..` segments are refused: URL rules would drop or collapse them and
    /// so change the path.
    pub fn url<S: AsRef<str>>(&self, segments: &[S]) -> Result<Url> {
        let mut url = self.base.clone();
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::invalid("base_url", "cannot have path segments"))?;
        path.pop_if_empty();
        for s in segments {
            let s = s.as_ref();
            if s.is_empty() || s == "." || s == ".." {
                return Err(Error::invalid(
                    "segments",
                    format!("`{s}` would change the request path"),
                ));
            }
            path.push(s);
        }
        drop(path);
        Ok(url)
    }

    /// Sends `request`, retrying it if it is idempotent, and returns the answer whatever
    /// its status (map non-2xx answers with [`Response::api_error`]).
    pub async fn send(&self, request: Request) -> Result<Response> {
        // Boxed, so that the callers' futures (the typed clients', the trait's) hold a
        // pointer rather than this state, which each of them would otherwise copy.
        Box::pin(self.send_unboxed(request)).await
    }

    async fn send_unboxed(&self, request: Request) -> Result<Response> {
        let mut url = self.url(&request.segments)?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        let request = &request;
        let url = &url;
        retry::run_attempts(
            &self.options.retry,
            self.options.clock.as_ref(),
            request.idempotent,
            |attempt| self.attempt(request, url, attempt),
        )
        .await
    }

    /// One attempt: a token, the exchange, and on a 401 from a refreshable source one
    /// refresh and one replay (a 401 means the server did nothing, so even a create).
    ///
    /// A failure to obtain the token is the outer `Err`: it ends the retry loop at once, as
    /// the token fetch has spent its own retry budget (retrying it here would multiply it).
    ///
    /// One state machine rather than nested ones: every enclosing future would carry and
    /// copy the states of nested ones, which showed as cache misses on small calls.
    async fn attempt(&self, req: &Request, url: &Url, attempt: u32) -> Result<Result<Response>> {
        let source = self.auth.as_ref().filter(|_| req.authenticate);
        let mut token = match source {
            Some(s) => Some(s.token().await?),
            None => None,
        };
        let mut may_replay = source.is_some_and(|s| s.can_refresh());
        loop {
            let span = tracing::debug_span!(
                "pats.request",
                provider = self.provider,
                method = %req.method,
                path = req.template,
                attempt,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let started = std::time::Instant::now();
            // Boxed: the exchange's state is the large one.
            let exchange = Box::pin(self.exchange(req, url, attempt, token.as_ref()));
            let result = if span.is_disabled() {
                exchange.await
            } else {
                tracing::Instrument::instrument(exchange, span.clone()).await
            };
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            span.record("latency_ms", latency_ms);
            span.in_scope(|| match &result {
                Ok(resp) => {
                    span.record("status", resp.status);
                    tracing::debug!(status = resp.status, latency_ms, "answer");
                }
                Err(e) => tracing::debug!(kind = ?e.kind(), latency_ms, "failed"),
            });
            let resp = match result {
                Ok(resp) => resp,
                Err(e) => return Ok(Err(e)),
            };
            match (source, token.as_ref()) {
                (Some(source), Some(refused)) if may_replay && resp.status == 401 => {
                    tracing::debug!(provider = self.provider, "401: refreshing the token once");
                    source.invalidate(refused);
                    token = Some(source.token().await?);
                    may_replay = false;
                }
                _ => return Ok(Ok(resp)),
            }
        }
    }

    /// One request and its answer. The headers are written straight into reqwest's
    /// request (no intermediate map).
    async fn exchange(
        &self,
        req: &Request,
        url: &Url,
        attempt: u32,
        token: Option<&SecretString>,
    ) -> Result<Response> {
        let mut builder = self
            .http
            .request(req.method.clone(), url.clone())
            .timeout(self.options.timeout);
        if let Some((body, _)) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut request = builder.build().map_err(|e| self.map_reqwest(e))?;
        let headers = request.headers_mut();
        headers.reserve(req.headers.len() + 4);
        for (name, value) in &req.headers {
            headers.append(name, value.clone());
        }
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        headers
            .entry(header::ACCEPT)
            .or_insert(HeaderValue::from_static("application/json"));
        if let Some(hook) = &req.hook {
            let ctx = AttemptContext {
                attempt,
                method: &req.method,
                url,
                body: req.body.as_ref().map(|(b, _)| b.as_ref()),
            };
            hook.before_attempt(&ctx, headers).await?;
        }
        if let Some(token) = token {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
                .map_err(|_| {
                    Error::invalid(
                        "access_token",
                        "contains characters not allowed in a header",
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        if let Some((_, content_type)) = &req.body {
            headers.insert(header::CONTENT_TYPE, content_type.clone());
        }
        let mut resp = self
            .http
            .execute(request)
            .await
            .map_err(|e| self.map_reqwest(e))?;
        let status = resp.status().as_u16();
        let (limit, setting) = req.max_response.unwrap_or((
            self.options.max_response_bytes,
            "ClientOptions::max_response_bytes",
        ));
        if let Some(len) = resp.content_length()
            && usize::try_from(len).map_or(true, |l| l > limit)
        {
            return Err(Error::decode(
                status,
                format!(
                    "the body of {len} bytes is larger than the {limit}-byte limit \
                     (raise it with `{setting}`)"
                ),
                b"",
            ));
        }
        // The answer's headers are taken, not cloned; the body buffer is sized once when
        // the length is announced (already checked against the cap).
        let headers = std::mem::take(resp.headers_mut());
        let mut body = Vec::with_capacity(
            resp.content_length()
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(0),
        );
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_reqwest(e))? {
            if body.len() + chunk.len() > limit {
                return Err(Error::decode(
                    status,
                    format!(
                        "the body is larger than the {limit}-byte limit (raise it with `{setting}`)"
                    ),
                    b"",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let mut secrets: Vec<SecretString> = req.secrets.clone();
        if let Some(t) = token {
            secrets.push(t.clone());
        }
        Ok(Response {
            status,
            headers,
            body: Bytes::from(body),
            secrets: Arc::new(secrets),
        })
    }

    fn map_reqwest(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            // One attempt; the retry loop counts the attempts it made.
            Error::timed_out(self.options.timeout, 1)
        } else if e.is_connect() {
            // Nothing was sent: the outcome is known.
            Error::connect("connection failed", e.without_url())
        } else {
            let what = if e.is_body() || e.is_decode() {
                "the answer was cut off or malformed"
            } else {
                "request failed"
            };
            transport_error(what, e)
        }
    }
}

/// A transport error after which the request may have been sent, caused by `e` (kept
/// without its URL, scrubbed, as the error's source).
pub(crate) fn transport_error(what: &str, e: reqwest::Error) -> Error {
    Error::transport(what, e.without_url())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_a_bearer_header_cannot_carry_are_decode_errors() {
        let body = Bytes::from_static(br#"{"access_token":"x"}"#);
        let response = Response::new(200, HeaderMap::new(), body);
        assert!(response.check_access_token("eyJhbGciOi.J9-_~+/=").is_ok());
        for bad in [
            "",
            "two words",
            "line\nbreak",
            "tab\there",
            "caf\u{e9}",
            "nul\0",
        ] {
            let err = response.check_access_token(bad).unwrap_err();
            assert_eq!(err.status(), Some(200), "{bad:?}: {err}");
            assert!(
                err.reason().is_some_and(|r| r.contains("`access_token`")),
                "{bad:?}: {err}"
            );
        }
    }
}

#[cfg(test)]
mod operation_tests {
    use super::{Method, Operation, Request};
    use crate::ErrorKind;

    const DELETE: Operation = Operation {
        id: "deleteThing",
        method: "DELETE",
        path: "/v3/things/{id}/keys/{key}",
        idempotent: true,
    };
    const LIST_BY_POST: Operation = Operation {
        id: "ListThings",
        method: "POST",
        path: "/zitadel.user.v2.UserService/ListThings",
        idempotent: true,
    };
    const CREATE: Operation = Operation {
        id: "createThing",
        method: "POST",
        path: "/v3/things",
        idempotent: false,
    };

    #[test]
    fn an_operation_fills_its_template_in_order_and_keeps_it_for_tracing() -> crate::Result<()> {
        let request = Request::operation(&DELETE, &["a/b", "k 1"])?;
        assert_eq!(request.method, Method::DELETE);
        assert_eq!(request.segments, ["v3", "things", "a/b", "keys", "k 1"]);
        assert_eq!(request.template, "/v3/things/{id}/keys/{key}");
        assert!(request.idempotent);
        Ok(())
    }

    #[test]
    fn idempotency_comes_from_the_contract_not_the_method() -> crate::Result<()> {
        assert!(Request::operation(&LIST_BY_POST, &[])?.idempotent);
        assert!(!Request::operation(&CREATE, &[])?.idempotent);
        assert_eq!(
            Request::operation(&LIST_BY_POST, &[])?.segments,
            ["zitadel.user.v2.UserService", "ListThings"]
        );
        Ok(())
    }

    #[test]
    fn wrong_or_empty_parameters_are_refused() {
        for params in [&["a"][..], &["a", "b", "c"], &["", "b"], &["a", ""]] {
            let result = Request::operation(&DELETE, params);
            assert!(
                matches!(result, Err(ref e) if e.kind() == ErrorKind::InvalidInput),
                "{params:?}: {result:?}"
            );
        }
        let bad = Operation {
            method: "GE T",
            ..CREATE
        };
        assert!(matches!(
            Request::operation(&bad, &[]),
            Err(ref e) if e.kind() == ErrorKind::InvalidInput
        ));
    }
}
