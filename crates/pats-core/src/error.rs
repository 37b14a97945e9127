//! The one error type of pats, its kinds, and the provider error details it carries.
//!
//! [`Error`] is opaque: match on [`Error::kind`], read the details through its accessors
//! ([`Error::status`], [`Error::api_error`], [`Error::field`], ...) and ask the predicates
//! ([`Error::is_retryable`], [`Error::is_outcome_unknown`]). New kinds and details can be
//! added without breaking a caller.
//!
//! # Printing
//!
//! `Display` prints one line about this error only; the underlying cause (a connection
//! failure, a TLS error, ...) is in [`source`](std::error::Error::source), one level per
//! cause, so `anyhow`'s `{:#}`, `eyre` or a loop over `source()` print each level once. The
//! causes are kept as their text, scrubbed of secrets when the error is made: no level,
//! and no `Debug` output, shows a token, a client secret or a credential in a URL.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used across pats.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a provider said when it refused a request, parsed from its error body.
///
/// Messages are scrubbed of secrets before they are stored here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// The provider's own error code or error id, if it sent one.
    pub code: Option<String>,
    /// The provider's message (scrubbed of anything that looks like a secret).
    pub message: String,
    /// A request or tracking id to quote to the provider's support, if it sent one.
    pub request_id: Option<String>,
}

impl ApiError {
    /// An error with a status and a message; add the rest with the `with_` methods.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            code: None,
            message: message.into(),
            request_id: None,
        }
    }

    /// Sets the provider's error code.
    #[must_use]
    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.code = code;
        self
    }

    /// Sets the provider's request or tracking id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Every error pats returns, whatever the provider.
///
/// Match on [`kind`](Self::kind); read the details with the accessors, each of which
/// answers `None` for the kinds it does not apply to; ask [`is_retryable`](Self::is_retryable)
/// and [`is_outcome_unknown`](Self::is_outcome_unknown) what to do next.
///
/// ```
/// use pats_core::{ApiError, Error, ErrorKind};
///
/// let err = Error::from_api(ApiError::new(404, "no such token"), None);
/// match err.kind() {
///     ErrorKind::NotFound => assert_eq!(err.status(), Some(404)),
///     _ => unreachable!(),
/// }
/// ```
///
/// No error holds a secret: provider messages, body snippets, reasons and the text of the
/// underlying causes are scrubbed when the error is made. `Display` prints this error's own
/// message once; the causes are its [`source`](std::error::Error::source) chain.
pub struct Error(Box<Inner>);

/// The whole of an [`Error`]; cloned by [`Error::replicate`].
#[derive(Debug, Clone)]
struct Inner {
    repr: Repr,
    /// What to do instead (shown after the message).
    hint: Option<&'static str>,
    /// The underlying causes, as scrubbed text.
    source: Option<Box<ReplayedSource>>,
}

/// The details of each kind.
#[derive(Debug, Clone)]
enum Repr {
    InvalidInput {
        field: Cow<'static, str>,
        reason: String,
    },
    /// Any error answer with a parsed body: [`ErrorKind::Unauthenticated`],
    /// [`ErrorKind::PermissionDenied`], [`ErrorKind::NotFound`],
    /// [`ErrorKind::AlreadyExists`], [`ErrorKind::RateLimited`] or [`ErrorKind::Api`].
    Api {
        kind: ErrorKind,
        error: ApiError,
        retry_after: Option<Duration>,
    },
    PendingApproval {
        provider: &'static str,
        approval_id: Option<String>,
        details: serde_json::Value,
    },
    Unsupported {
        provider: &'static str,
        operation: &'static str,
    },
    Timeout {
        timeout: Duration,
        attempts: u32,
    },
    Transport {
        message: String,
        /// Whether the request may have reached the server (false: the connection was
        /// never made).
        sent: bool,
    },
    Decode {
        status: u16,
        reason: String,
        snippet: String,
    },
    Signing {
        message: String,
    },
    LimitExceeded {
        provider: &'static str,
        limit: &'static str,
        max: u64,
        message: String,
    },
}

/// The message of a timeout: the timeout is per attempt, so with retries the message must
/// not read as the time the whole call took.
fn timeout_message(timeout: Duration, attempts: u32) -> String {
    let secs = timeout.as_secs_f64();
    if attempts > 1 {
        format!(
            "request timed out: no complete answer within {secs} s on the last of {attempts} \
             attempts (the timeout applies to each attempt)"
        )
    } else {
        format!("request timed out after {secs} s")
    }
}

/// The kind of an [`Error`]: what to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument or setting was rejected before any request was sent; see
    /// [`Error::field`] and [`Error::reason`].
    InvalidInput,
    /// The credentials were missing, wrong or expired (HTTP 401 or the provider's
    /// equivalent); see [`Error::api_error`].
    Unauthenticated,
    /// The credentials are valid but lack a permission (HTTP 403).
    PermissionDenied,
    /// The token (or its owner) does not exist (HTTP 404 or the provider's equivalent).
    NotFound,
    /// A token with the same unique attribute already exists (HTTP 409).
    AlreadyExists,
    /// The provider asked to slow down (HTTP 429); see [`Error::retry_after`].
    RateLimited,
    /// The change was accepted but waits for a policy approval; it has not happened yet.
    /// See [`Error::approval_id`] and [`Error::details`].
    PendingApproval,
    /// The provider does not offer this operation or option; see [`Error::operation`] and
    /// [`Error::hint`].
    Unsupported,
    /// Any other error answer from the provider, with its parsed error body
    /// ([`Error::api_error`]).
    Api,
    /// No complete answer arrived within the configured timeout
    /// ([`ClientOptions::timeout`](crate::ClientOptions::timeout)), which bounds each
    /// attempt; see [`Error::timeout`] and [`Error::attempts`].
    Timeout,
    /// The connection failed or broke (DNS, connect, reset, TLS, protocol); the cause is
    /// the [`source`](std::error::Error::source).
    Transport,
    /// The answer could not be understood: bad JSON, wrong content type, truncated or
    /// oversized; see [`Error::reason`] and [`Error::snippet`].
    Decode,
    /// Signing a request (for example a Dfns user action) failed.
    Signing,
    /// A bound set on the caller's side was reached, such as
    /// [`ListLimits`](crate::ListLimits) in a listing that follows pages: either the
    /// server misbehaves (it keeps sending more) or the data is larger than the bound. See
    /// [`Error::limit`] and [`Error::max`]; the message names the setting that raises it.
    LimitExceeded,
}

/// `text` without a copy of `below` at its end (`"cannot set up TLS: <below>"` gives
/// `"cannot set up TLS"`), so that each text of an error chain is printed once. Compared
/// before scrubbing, which may change the text around a secret.
fn own_part(text: String, below: &str) -> String {
    let quoted = format!(": {below}");
    match text.strip_suffix(quoted.as_str()) {
        Some(own) if !own.is_empty() => own.to_owned(),
        _ => text,
    }
}

/// Scrubs free text given to a constructor (a reason, a message) of secret-shaped values.
fn clean(text: String) -> String {
    let scrubbed = crate::redact::scrub(&text, &[]);
    if scrubbed == text { text } else { scrubbed }
}

impl Error {
    fn new(repr: Repr) -> Self {
        Self(Box::new(Inner {
            repr,
            hint: None,
            source: None,
        }))
    }

    /// Sets the cause, kept as scrubbed text.
    fn with_source(mut self, source: &(dyn std::error::Error + 'static)) -> Self {
        self.0.source = Some(ReplayedSource::of(source));
        self
    }

    /// An [`ErrorKind::InvalidInput`] error for `field`, which follows the vocabulary
    /// described at [`field`](Self::field).
    pub fn invalid(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self::new(Repr::InvalidInput {
            field: field.into(),
            reason: clean(reason.into()),
        })
    }

    /// This error with its [`field`](Self::field) renamed, when it is an
    /// [`InvalidInput`](ErrorKind::InvalidInput) error; any other error unchanged. For a
    /// value checked under one name and given under another (a base URL read from the
    /// environment variable `DFNS_BASE_URL`).
    #[must_use]
    pub fn with_field(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        if let Repr::InvalidInput { field, .. } = &mut self.0.repr {
            *field = name.into();
        }
        self
    }

    /// An [`ErrorKind::Unsupported`] error for `operation` on `provider`; add what to do
    /// instead with [`with_hint`](Self::with_hint).
    pub fn unsupported(provider: &'static str, operation: &'static str) -> Self {
        Self::new(Repr::Unsupported {
            provider,
            operation,
        })
    }

    /// Adds what to do instead, printed after the message (see [`hint`](Self::hint)).
    #[must_use]
    pub fn with_hint(mut self, hint: &'static str) -> Self {
        self.0.hint = Some(hint);
        self
    }

    /// An [`ErrorKind::Signing`] error with a message and no source.
    pub fn signing(message: impl Into<String>) -> Self {
        Self::new(Repr::Signing {
            message: clean(message.into()),
        })
    }

    /// An [`ErrorKind::Signing`] error caused by `source` (kept as scrubbed text).
    pub fn signing_with_source(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        Self::signing(own_part(message.into(), &source.to_string())).with_source(&*source)
    }

    /// An [`ErrorKind::Decode`] error; the snippet is cut to 512 bytes and scrubbed.
    pub fn decode(status: u16, reason: impl Into<String>, body: &[u8]) -> Self {
        Self::decode_with_snippet(status, reason, crate::redact::snippet(body, &[]))
    }

    /// An [`ErrorKind::Decode`] error with a snippet already cut and scrubbed.
    pub(crate) fn decode_with_snippet(
        status: u16,
        reason: impl Into<String>,
        snippet: String,
    ) -> Self {
        Self::new(Repr::Decode {
            status,
            reason: clean(reason.into()),
            snippet,
        })
    }

    /// An [`ErrorKind::Transport`] error after which the request may have reached the
    /// server (the connection broke, the answer was cut off):
    /// [`is_outcome_unknown`](Self::is_outcome_unknown) is true. `source` is kept as
    /// scrubbed text; `message` should not quote it (a copy at its end is dropped).
    pub fn transport(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        Self::new(Repr::Transport {
            message: clean(own_part(message.into(), &source.to_string())),
            sent: true,
        })
        .with_source(&*source)
    }

    /// An [`ErrorKind::Transport`] error where the connection was never made, so nothing
    /// was sent: [`is_connect`](Self::is_connect) is true and
    /// [`is_outcome_unknown`](Self::is_outcome_unknown) false.
    pub fn connect(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        Self::new(Repr::Transport {
            message: clean(own_part(message.into(), &source.to_string())),
            sent: false,
        })
        .with_source(&*source)
    }

    /// An [`ErrorKind::Timeout`] error: no complete answer within `timeout` on the last of
    /// `attempts` attempts (1 when the request was not retried).
    pub fn timed_out(timeout: Duration, attempts: u32) -> Self {
        Self::new(Repr::Timeout { timeout, attempts })
    }

    /// An [`ErrorKind::PendingApproval`] error. `details` is the provider's answer body,
    /// which the caller must have scrubbed of secrets (it is shown by `Debug`).
    pub fn pending_approval(
        provider: &'static str,
        approval_id: Option<String>,
        details: serde_json::Value,
    ) -> Self {
        Self::new(Repr::PendingApproval {
            provider,
            approval_id,
            details,
        })
    }

    /// An [`ErrorKind::LimitExceeded`] error: the bound held by the setting `limit` (for
    /// example `ListLimits::max_pages`), whose value is `max`, was reached. `message` says
    /// what went past it and how to raise it.
    pub fn limit_exceeded(
        provider: &'static str,
        limit: &'static str,
        max: u64,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Repr::LimitExceeded {
            provider,
            limit,
            max,
            message: clean(message.into()),
        })
    }

    fn api_kind(kind: ErrorKind, error: ApiError, retry_after: Option<Duration>) -> Self {
        Self::new(Repr::Api {
            kind,
            error,
            retry_after,
        })
    }

    /// An [`ErrorKind::Unauthenticated`] answer, whatever its status.
    pub fn unauthenticated(error: ApiError) -> Self {
        Self::api_kind(ErrorKind::Unauthenticated, error, None)
    }

    /// An [`ErrorKind::PermissionDenied`] answer, whatever its status.
    pub fn permission_denied(error: ApiError) -> Self {
        Self::api_kind(ErrorKind::PermissionDenied, error, None)
    }

    /// An [`ErrorKind::NotFound`] answer, whatever its status.
    pub fn not_found(error: ApiError) -> Self {
        Self::api_kind(ErrorKind::NotFound, error, None)
    }

    /// An [`ErrorKind::AlreadyExists`] answer, whatever its status.
    pub fn already_exists(error: ApiError) -> Self {
        Self::api_kind(ErrorKind::AlreadyExists, error, None)
    }

    /// An [`ErrorKind::RateLimited`] answer, whatever its status, with how long the
    /// provider asked to wait if it said.
    pub fn rate_limited(error: ApiError, retry_after: Option<Duration>) -> Self {
        Self::api_kind(ErrorKind::RateLimited, error, retry_after)
    }

    /// An [`ErrorKind::Api`] answer: an error answer of no more specific kind.
    pub fn api(error: ApiError) -> Self {
        Self::api_kind(ErrorKind::Api, error, None)
    }

    /// Maps a provider's error answer to the kind its HTTP status stands for: 401
    /// [`Unauthenticated`](ErrorKind::Unauthenticated), 403
    /// [`PermissionDenied`](ErrorKind::PermissionDenied), 404
    /// [`NotFound`](ErrorKind::NotFound), 409 [`AlreadyExists`](ErrorKind::AlreadyExists),
    /// 429 [`RateLimited`](ErrorKind::RateLimited) (keeping `retry_after`), otherwise
    /// [`Api`](ErrorKind::Api).
    ///
    /// Provider crates call this after parsing their error body; they may pick a kind
    /// themselves ([`Error::not_found`], ...) when the body's code says more than the status.
    pub fn from_api(error: ApiError, retry_after: Option<Duration>) -> Self {
        match error.status {
            401 => Self::unauthenticated(error),
            403 => Self::permission_denied(error),
            404 => Self::not_found(error),
            409 => Self::already_exists(error),
            429 => Self::rate_limited(error, retry_after),
            _ => Self::api(error),
        }
    }

    /// The kind of this error: what to match on.
    pub fn kind(&self) -> ErrorKind {
        match &self.0.repr {
            Repr::InvalidInput { .. } => ErrorKind::InvalidInput,
            Repr::Api { kind, .. } => *kind,
            Repr::PendingApproval { .. } => ErrorKind::PendingApproval,
            Repr::Unsupported { .. } => ErrorKind::Unsupported,
            Repr::Timeout { .. } => ErrorKind::Timeout,
            Repr::Transport { .. } => ErrorKind::Transport,
            Repr::Decode { .. } => ErrorKind::Decode,
            Repr::Signing { .. } => ErrorKind::Signing,
            Repr::LimitExceeded { .. } => ErrorKind::LimitExceeded,
        }
    }

    /// The HTTP status of the provider's answer, when the error came from one (202 for
    /// [`PendingApproval`](ErrorKind::PendingApproval)).
    pub fn status(&self) -> Option<u16> {
        match &self.0.repr {
            Repr::Api { error, .. } => Some(error.status),
            Repr::Decode { status, .. } => Some(*status),
            Repr::PendingApproval { .. } => Some(202),
            _ => None,
        }
    }

    /// The provider's parsed error body, when the error is an error answer
    /// ([`Unauthenticated`](ErrorKind::Unauthenticated),
    /// [`PermissionDenied`](ErrorKind::PermissionDenied), [`NotFound`](ErrorKind::NotFound),
    /// [`AlreadyExists`](ErrorKind::AlreadyExists), [`RateLimited`](ErrorKind::RateLimited)
    /// or [`Api`](ErrorKind::Api)).
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.0.repr {
            Repr::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// How long a [`RateLimited`](ErrorKind::RateLimited) answer asked to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.0.repr {
            Repr::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// For [`InvalidInput`](ErrorKind::InvalidInput): the name under which the caller gave
    /// the rejected value, so that it can be found and fixed. One rule, by where the value
    /// came from, and so one word without spaces:
    ///
    /// - **An environment variable**: its name (`DFNS_BASE_URL`, `ZITADEL_KEY_FILE`,
    ///   `SAIL_API_VERSION`, `PATS_PROVIDER`).
    /// - **A configuration file**: the key as written in the file (`private_key_file`,
    ///   `client_secret`, `pat`).
    /// - **A Rust argument**: the struct field, builder method or argument that took it, in
    ///   `snake_case`, without its type: `name`, `scopes`, `owner`, `expiry` (of
    ///   [`CreateToken`](crate::CreateToken)); `page`, `page_size` (of
    ///   [`ListQuery`](crate::ListQuery)); `token_id` (a [`TokenId`](crate::TokenId));
    ///   `base_url`, `auth_token`, `client_id`, `client_secret`, `key_file`,
    ///   `credential_id`, `signing_key`, `public_key`, `default_user`, `user_id` (of the
    ///   provider builders); `access_token` (from a [`TokenSource`](crate::credentials::TokenSource));
    ///   `patch`, `update`, `pending_change` (of provider requests); `segments`, `body`,
    ///   `operation` (of a [`Request`](crate::Request) pats could not build).
    /// - **A field of a provider's wire request** (the typed request structs mirror the
    ///   provider's JSON): its JSON name as the provider spells it (`daysValid`,
    ///   `secondsValid`, `externalId`, `expirationDate`, `accessTokenValiditySeconds`).
    ///
    /// A value checked under one name and given under another is renamed with
    /// [`with_field`](Self::with_field) (a base URL from `DFNS_BASE_URL` is reported as
    /// `DFNS_BASE_URL`, not `base_url`). `None` for every other kind.
    pub fn field(&self) -> Option<&str> {
        match &self.0.repr {
            Repr::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Why the input was rejected ([`InvalidInput`](ErrorKind::InvalidInput)) or the answer
    /// could not be understood ([`Decode`](ErrorKind::Decode)).
    pub fn reason(&self) -> Option<&str> {
        match &self.0.repr {
            Repr::InvalidInput { reason, .. } | Repr::Decode { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The provider of a [`PendingApproval`](ErrorKind::PendingApproval),
    /// [`Unsupported`](ErrorKind::Unsupported) or
    /// [`LimitExceeded`](ErrorKind::LimitExceeded) error.
    pub fn provider(&self) -> Option<&'static str> {
        match &self.0.repr {
            Repr::PendingApproval { provider, .. }
            | Repr::Unsupported { provider, .. }
            | Repr::LimitExceeded { provider, .. } => Some(provider),
            _ => None,
        }
    }

    /// The operation or option an [`Unsupported`](ErrorKind::Unsupported) error is about.
    pub fn operation(&self) -> Option<&'static str> {
        match &self.0.repr {
            Repr::Unsupported { operation, .. } => Some(operation),
            _ => None,
        }
    }

    /// What to do instead, when there is something (set with [`with_hint`](Self::with_hint)).
    pub fn hint(&self) -> Option<&'static str> {
        self.0.hint
    }

    /// The approval's identifier of a [`PendingApproval`](ErrorKind::PendingApproval), if
    /// the provider sent one.
    pub fn approval_id(&self) -> Option<&str> {
        match &self.0.repr {
            Repr::PendingApproval { approval_id, .. } => approval_id.as_deref(),
            _ => None,
        }
    }

    /// The provider's answer body of a [`PendingApproval`](ErrorKind::PendingApproval), as
    /// JSON (scrubbed of secrets; `null` when it was not JSON).
    pub fn details(&self) -> Option<&serde_json::Value> {
        match &self.0.repr {
            Repr::PendingApproval { details, .. } => Some(details),
            _ => None,
        }
    }

    /// The timeout of each attempt, which the last attempt of a
    /// [`Timeout`](ErrorKind::Timeout) ran into.
    pub fn timeout(&self) -> Option<Duration> {
        match &self.0.repr {
            Repr::Timeout { timeout, .. } => Some(*timeout),
            _ => None,
        }
    }

    /// How many attempts a [`Timeout`](ErrorKind::Timeout) error made, the last of which
    /// timed out (1 when the request was not retried).
    pub fn attempts(&self) -> Option<u32> {
        match &self.0.repr {
            Repr::Timeout { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// The setting holding the bound of a [`LimitExceeded`](ErrorKind::LimitExceeded)
    /// error, for example `ListLimits::max_pages`.
    pub fn limit(&self) -> Option<&'static str> {
        match &self.0.repr {
            Repr::LimitExceeded { limit, .. } => Some(limit),
            _ => None,
        }
    }

    /// The bound's value of a [`LimitExceeded`](ErrorKind::LimitExceeded) error.
    pub fn max(&self) -> Option<u64> {
        match &self.0.repr {
            Repr::LimitExceeded { max, .. } => Some(*max),
            _ => None,
        }
    }

    /// The start of the body of a [`Decode`](ErrorKind::Decode) error (at most 512 bytes,
    /// scrubbed of secrets; empty when none was kept).
    pub fn snippet(&self) -> Option<&str> {
        match &self.0.repr {
            Repr::Decode { snippet, .. } => Some(snippet),
            _ => None,
        }
    }

    /// Whether the request may have taken effect although no answer says so: the answer
    /// timed out, the connection broke after the request was sent, or a success answer
    /// could not be read. After a create this means the token may exist: look for it (by
    /// name) before creating it again. False when the connection was never made
    /// ([`is_connect`](Self::is_connect)) and for every error answer.
    pub fn is_outcome_unknown(&self) -> bool {
        match &self.0.repr {
            Repr::Timeout { .. } => true,
            Repr::Transport { sent, .. } => *sent,
            Repr::Decode { status, .. } => *status < 400,
            _ => false,
        }
    }

    /// Whether this is a [`Transport`](ErrorKind::Transport) error where the connection was
    /// never made (DNS, refused, TLS handshake): nothing was sent.
    pub fn is_connect(&self) -> bool {
        matches!(self.0.repr, Repr::Transport { sent: false, .. })
    }

    /// Whether trying the same request again later may succeed.
    ///
    /// True for rate limiting, timeouts, transport failures and the answers pats's own
    /// retry loop retries ([`retry::is_retryable_status`](crate::retry::is_retryable_status):
    /// 429, 502, 503 and 504). A 500 is not: it usually means the request itself broke
    /// something on the server, and sending it again tends to fail the same way.
    /// pats only retries idempotent requests by itself; this tells callers whether they may.
    pub fn is_retryable(&self) -> bool {
        match &self.0.repr {
            Repr::Timeout { .. } | Repr::Transport { .. } => true,
            Repr::Api { kind, error, .. } => match kind {
                ErrorKind::RateLimited => true,
                ErrorKind::Api => crate::retry::is_retryable_status(error.status),
                _ => false,
            },
            _ => false,
        }
    }

    /// Sets the attempts of a timeout (the retry loop counts them).
    pub(crate) fn set_attempts(&mut self, n: u32) {
        if let Repr::Timeout { attempts, .. } = &mut self.0.repr {
            *attempts = n;
        }
    }

    /// An error equal to this one, for handing one failure to several callers (a failed
    /// token fetch). The source is already kept as text, so nothing is lost.
    pub(crate) fn replicate(&self) -> Error {
        Error(self.0.clone())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.repr {
            Repr::InvalidInput { field, reason } => {
                write!(f, "invalid input for `{field}`: {reason}")?;
            }
            Repr::Api {
                kind,
                error,
                retry_after,
            } => {
                let what = match kind {
                    ErrorKind::Unauthenticated => "unauthenticated",
                    ErrorKind::PermissionDenied => "permission denied",
                    ErrorKind::NotFound => "not found",
                    ErrorKind::AlreadyExists => "already exists",
                    ErrorKind::RateLimited => "rate limited",
                    _ => "API error",
                };
                f.write_str(what)?;
                if let Some(d) = retry_after {
                    write!(f, " (retry after {} s)", d.as_secs_f64())?;
                }
                write!(f, ": {error}")?;
            }
            Repr::PendingApproval {
                provider,
                approval_id,
                ..
            } => {
                write!(f, "{provider}: change accepted, pending approval")?;
                if let Some(id) = approval_id {
                    write!(f, " (approval {id})")?;
                }
            }
            Repr::Unsupported {
                provider,
                operation,
            } => write!(f, "{provider} does not support {operation}")?,
            Repr::Timeout { timeout, attempts } => {
                f.write_str(&timeout_message(*timeout, *attempts))?;
            }
            Repr::Transport { message, .. } => write!(f, "transport error: {message}")?,
            Repr::Decode {
                status,
                reason,
                snippet,
            } => {
                write!(f, "could not decode the HTTP {status} answer: {reason}")?;
                if !snippet.is_empty() {
                    write!(f, " (body starts: {snippet})")?;
                }
            }
            Repr::Signing { message } => write!(f, "signing failed: {message}")?,
            Repr::LimitExceeded {
                provider,
                limit,
                max,
                message,
            } => write!(
                f,
                "{provider}: the limit `{limit}` ({max}) was reached: {message}"
            )?,
        }
        if let Some(hint) = self.0.hint {
            write!(f, ": {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind()).field("detail", &self.0.repr);
        if let Some(hint) = self.0.hint {
            d.field("hint", &hint);
        }
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// The text of an error source and of the sources under it, scrubbed of secrets: what an
/// [`Error`] keeps of its cause, so that it can be cloned and never shows a secret.
#[derive(Debug, Clone)]
struct ReplayedSource {
    message: String,
    source: Option<Box<ReplayedSource>>,
}

impl ReplayedSource {
    /// The chain under and including `e`. A level whose text merely repeats the level
    /// below it is left out, and a level that quotes the level below at its end
    /// (`"outer: inner"`) keeps only its own part, so each text is printed once.
    fn of(e: &(dyn std::error::Error + 'static)) -> Box<Self> {
        let mut text = e.to_string();
        if let Some(below) = e.source() {
            let below_text = below.to_string();
            text = own_part(text, &below_text);
            if text == below_text {
                return Self::of(below);
            }
        }
        Box::new(Self {
            message: crate::redact::scrub(&text, &[]),
            source: e.source().map(Self::of),
        })
    }
}

impl fmt::Display for ReplayedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReplayedSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn is_retryable_agrees_with_the_retry_loop_for_every_status() {
        for status in 100..=599 {
            let err = Error::from_api(ApiError::new(status, "x"), None);
            assert_eq!(
                err.is_retryable(),
                crate::retry::is_retryable_status(status),
                "HTTP {status}: {err}"
            );
        }
        assert!(!Error::from_api(ApiError::new(500, "x"), None).is_retryable());
        for status in [502, 503, 504] {
            assert!(Error::from_api(ApiError::new(status, "x"), None).is_retryable());
        }
        // Rate limiting is retryable whatever status the provider used for it.
        assert!(Error::rate_limited(ApiError::new(400, "slow down"), None).is_retryable());
        assert!(Error::timed_out(Duration::from_secs(1), 1).is_retryable());
        assert!(Error::transport("cut", "reset").is_retryable());
        assert!(Error::connect("connection failed", "refused").is_retryable());
        for other in [
            Error::invalid("name", "empty"),
            Error::not_found(ApiError::new(503, "gone")),
            Error::decode(503, "bad", b""),
            Error::signing("no"),
            Error::unsupported("p", "op"),
            Error::pending_approval("p", None, serde_json::Value::Null),
            Error::limit_exceeded("p", "ListLimits::max_pages", 1, "m"),
        ] {
            assert!(!other.is_retryable(), "{other}");
        }
    }

    #[test]
    fn from_api_picks_the_kind_of_the_status_and_status_reads_it_back() {
        for (status, kind) in [
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::AlreadyExists),
            (429, ErrorKind::RateLimited),
            (400, ErrorKind::Api),
            (500, ErrorKind::Api),
        ] {
            let err = Error::from_api(ApiError::new(status, "m"), Some(Duration::from_secs(2)));
            assert_eq!(err.kind(), kind, "HTTP {status}");
            assert_eq!(err.status(), Some(status));
            assert_eq!(err.api_error().map(|e| e.status), Some(status));
            // Only a rate limit keeps how long to wait.
            assert_eq!(
                err.retry_after(),
                (status == 429).then_some(Duration::from_secs(2)),
                "HTTP {status}"
            );
        }
        assert_eq!(Error::decode(502, "bad", b"x").status(), Some(502));
        let pending = Error::pending_approval("p", None, serde_json::Value::Null);
        assert_eq!(pending.status(), Some(202));
        assert_eq!(Error::invalid("f", "r").status(), None);
        assert_eq!(Error::invalid("f", "r").retry_after(), None);
    }

    #[test]
    fn the_kind_constructors_keep_the_kind_whatever_the_status() {
        let api = || ApiError::new(400, "m");
        for (err, kind) in [
            (Error::unauthenticated(api()), ErrorKind::Unauthenticated),
            (Error::permission_denied(api()), ErrorKind::PermissionDenied),
            (Error::not_found(api()), ErrorKind::NotFound),
            (Error::already_exists(api()), ErrorKind::AlreadyExists),
            (Error::rate_limited(api(), None), ErrorKind::RateLimited),
            (Error::api(api()), ErrorKind::Api),
        ] {
            assert_eq!(err.kind(), kind);
            assert_eq!(err.status(), Some(400));
            assert_eq!(err.api_error(), Some(&api()));
        }
    }

    #[test]
    fn api_wraps_the_api_error_and_displays_all_of_it() {
        let api = ApiError::new(418, "short and stout")
            .with_code(Some("TEAPOT".into()))
            .with_request_id(Some("req-7".into()));
        let err = Error::from_api(api.clone(), None);
        assert_eq!(err.kind(), ErrorKind::Api);
        assert_eq!(err.status(), Some(418));
        assert_eq!(err.api_error(), Some(&api));
        assert_eq!(
            err.to_string(),
            "API error: HTTP 418 [TEAPOT]: short and stout (request id req-7)"
        );
        assert_eq!(
            Error::from_api(ApiError::new(404, "gone"), None).api_error(),
            Some(&ApiError::new(404, "gone"))
        );
        assert_eq!(Error::invalid("x", "y").api_error(), None);
    }

    #[test]
    fn every_kind_displays_its_own_message_once() {
        let api = || ApiError::new(400, "m");
        for (err, text) in [
            (
                Error::invalid("name", "is empty"),
                "invalid input for `name`: is empty",
            ),
            (
                Error::unauthenticated(api()),
                "unauthenticated: HTTP 400: m",
            ),
            (
                Error::permission_denied(api()),
                "permission denied: HTTP 400: m",
            ),
            (Error::not_found(api()), "not found: HTTP 400: m"),
            (Error::already_exists(api()), "already exists: HTTP 400: m"),
            (
                Error::rate_limited(api(), None),
                "rate limited: HTTP 400: m",
            ),
            (
                Error::rate_limited(api(), Some(Duration::from_millis(1500))),
                "rate limited (retry after 1.5 s): HTTP 400: m",
            ),
            (
                Error::pending_approval("dfns", None, serde_json::Value::Null),
                "dfns: change accepted, pending approval",
            ),
            (
                Error::pending_approval("dfns", Some("ap-1".into()), serde_json::Value::Null),
                "dfns: change accepted, pending approval (approval ap-1)",
            ),
            (
                Error::unsupported("p", "renaming"),
                "p does not support renaming",
            ),
            (
                Error::unsupported("p", "renaming").with_hint("revoke and create"),
                "p does not support renaming: revoke and create",
            ),
            (
                Error::timed_out(Duration::from_secs(7), 1),
                "request timed out after 7 s",
            ),
            (
                Error::timed_out(Duration::from_secs(7), 3),
                "request timed out: no complete answer within 7 s on the last of 3 attempts \
                 (the timeout applies to each attempt)",
            ),
            (
                Error::transport("request failed", "reset by peer"),
                "transport error: request failed",
            ),
            (
                Error::decode(200, "bad JSON", b""),
                "could not decode the HTTP 200 answer: bad JSON",
            ),
            (
                Error::decode(200, "bad JSON", b"{x"),
                "could not decode the HTTP 200 answer: bad JSON (body starts: {x)",
            ),
            (Error::signing("no key"), "signing failed: no key"),
            (
                Error::limit_exceeded("p", "ListLimits::max_pages", 3, "too many pages"),
                "p: the limit `ListLimits::max_pages` (3) was reached: too many pages",
            ),
        ] {
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn accessors_answer_for_their_kind_only() {
        let invalid = Error::invalid("expiry", "too long");
        assert_eq!(invalid.kind(), ErrorKind::InvalidInput);
        assert_eq!(invalid.field(), Some("expiry"));
        assert_eq!(invalid.reason(), Some("too long"));
        let decode = Error::decode(200, "bad JSON", b"{\"a\":1");
        assert_eq!(decode.kind(), ErrorKind::Decode);
        assert_eq!(decode.reason(), Some("bad JSON"));
        assert_eq!(decode.snippet(), Some("{\"a\":1"));
        assert_eq!(decode.field(), None);
        let unsupported = Error::unsupported("zitadel", "scopes").with_hint("leave them out");
        assert_eq!(unsupported.kind(), ErrorKind::Unsupported);
        assert_eq!(unsupported.provider(), Some("zitadel"));
        assert_eq!(unsupported.operation(), Some("scopes"));
        assert_eq!(unsupported.hint(), Some("leave them out"));
        assert_eq!(Error::unsupported("p", "o").hint(), None);
        let pending =
            Error::pending_approval("dfns", Some("ap".into()), serde_json::json!({"a": 1}));
        assert_eq!(pending.kind(), ErrorKind::PendingApproval);
        assert_eq!(pending.provider(), Some("dfns"));
        assert_eq!(pending.approval_id(), Some("ap"));
        assert_eq!(pending.details(), Some(&serde_json::json!({"a": 1})));
        let timeout = Error::timed_out(Duration::from_secs(30), 2);
        assert_eq!(timeout.kind(), ErrorKind::Timeout);
        assert_eq!(timeout.timeout(), Some(Duration::from_secs(30)));
        assert_eq!(timeout.attempts(), Some(2));
        let limit = Error::limit_exceeded("sailpoint", "ListLimits::max_items", 9, "m");
        assert_eq!(limit.kind(), ErrorKind::LimitExceeded);
        assert_eq!(limit.provider(), Some("sailpoint"));
        assert_eq!(limit.limit(), Some("ListLimits::max_items"));
        assert_eq!(limit.max(), Some(9));
        assert_eq!(Error::signing("x").kind(), ErrorKind::Signing);
        assert_eq!(Error::transport("x", "y").kind(), ErrorKind::Transport);
        let none = Error::signing("x");
        assert_eq!(
            (
                none.field(),
                none.reason(),
                none.provider(),
                none.operation(),
                none.approval_id(),
                none.details(),
            ),
            (None, None, None, None, None, None)
        );
        assert_eq!(
            (
                none.timeout(),
                none.attempts(),
                none.limit(),
                none.max(),
                none.snippet()
            ),
            (None, None, None, None, None)
        );
    }

    #[test]
    fn with_field_renames_invalid_input_only() {
        let err = Error::invalid("base_url", "has no host").with_field("DFNS_BASE_URL");
        assert_eq!(err.field(), Some("DFNS_BASE_URL"));
        assert_eq!(err.reason(), Some("has no host"));
        assert_eq!(
            err.to_string(),
            "invalid input for `DFNS_BASE_URL`: has no host"
        );
        let err = Error::decode(200, "bad", b"").with_field("DFNS_BASE_URL");
        assert_eq!(err.field(), None);
        assert_eq!(err.reason(), Some("bad"));
    }

    /// Whether `field` follows the vocabulary of [`Error::field`]: one word, either an
    /// environment variable (`SAIL_API_VERSION`), a Rust or configuration name
    /// (`page_size`) or a provider's JSON name (`daysValid`).
    fn follows_the_field_vocabulary(field: &str) -> bool {
        let env = field
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        let snake = field
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let camel = field.bytes().all(|b| b.is_ascii_alphanumeric());
        field
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && (env || snake || camel)
    }

    #[test]
    fn the_field_vocabulary_rule() {
        for good in [
            "name",
            "page_size",
            "DFNS_BASE_URL",
            "daysValid",
            "key_file",
            "x1",
        ] {
            assert!(follows_the_field_vocabulary(good), "{good}");
        }
        for bad in [
            "base URL", "owner-id", "", "_x", "1a", "Base_Url", "token id", "a.b",
        ] {
            assert!(!follows_the_field_vocabulary(bad), "{bad}");
        }
    }

    /// Every field named by a literal anywhere in the workspace (`Error::invalid("…"`,
    /// `with_field("…"`, `check_id("…"`) follows the vocabulary.
    #[test]
    fn every_field_literal_in_the_workspace_follows_the_vocabulary() {
        fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                if path.is_dir() && name != "target" && name != "generated" {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // Run from the published package there is no workspace to read; in the workspace
        // (CI) there always is, and the count below fails if the scan finds too little.
        if !root.join("xtask/Cargo.toml").is_file() {
            return;
        }
        let mut files = Vec::new();
        for dir in ["crates", "conformance", "xtask"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 50, "the workspace was not found: {files:?}");
        let mut checked = 0;
        let mut wrong = Vec::new();
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for call in ["invalid(", "with_field(", "check_id("] {
                for (at, _) in text.match_indices(call) {
                    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    let before = &text[line_start..at];
                    // Comments, and the names of the calls in this test, are not calls.
                    if before.trim_start().starts_with("//") || before.ends_with('"') {
                        continue;
                    }
                    let rest = text[at + call.len()..].trim_start();
                    let Some(literal) = rest.strip_prefix('"') else {
                        continue;
                    };
                    let Some(end) = literal.find('"') else {
                        continue;
                    };
                    checked += 1;
                    let field = &literal[..end];
                    if !follows_the_field_vocabulary(field) {
                        wrong.push(format!("{}: {field:?}", file.display()));
                    }
                }
            }
        }
        assert!(checked > 50, "only {checked} field literals found");
        assert!(
            wrong.is_empty(),
            "fields outside the vocabulary: {wrong:#?}"
        );
    }

    #[test]
    fn set_attempts_changes_a_timeout_only() {
        let mut timeout = Error::timed_out(Duration::from_secs(1), 1);
        timeout.set_attempts(4);
        assert_eq!(timeout.attempts(), Some(4));
        let mut other = Error::signing("x");
        other.set_attempts(4);
        assert_eq!(other.attempts(), None);
    }

    #[test]
    fn the_outcome_is_unknown_only_when_the_request_may_have_been_sent() {
        assert!(Error::timed_out(Duration::from_secs(1), 1).is_outcome_unknown());
        let sent = Error::transport("the answer was cut off", "reset");
        assert!(sent.is_outcome_unknown());
        assert!(!sent.is_connect());
        let never = Error::connect("connection failed", "refused");
        assert!(!never.is_outcome_unknown());
        assert!(never.is_connect());
        // The flag, not the wording, decides.
        assert!(Error::transport("connection failed", "x").is_outcome_unknown());
        assert!(Error::decode(399, "bad", b"").is_outcome_unknown());
        assert!(!Error::decode(400, "bad", b"").is_outcome_unknown());
        assert!(!Error::api(ApiError::new(500, "boom")).is_outcome_unknown());
        assert!(!Error::invalid("name", "empty").is_outcome_unknown());
        assert!(!Error::timed_out(Duration::from_secs(1), 1).is_connect());
    }

    /// An error whose text holds a secret, under another one that quotes it (as many
    /// error types do).
    #[derive(Debug)]
    struct Leaky {
        text: &'static str,
        below: Option<Box<Leaky>>,
    }

    impl fmt::Display for Leaky {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.text)?;
            if let Some(below) = &self.below {
                write!(f, ": {below}")?;
            }
            Ok(())
        }
    }

    impl std::error::Error for Leaky {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.below.as_deref().map(|b| b as _)
        }
    }

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

    fn leaky() -> Leaky {
        Leaky {
            text: "error sending request for url \
                   (https://svc:pw-hunter2@h.example/pats?token=t0ps3cret&client_secret=cs-77x)",
            below: Some(Box::new(Leaky {
                text: "client error: Authorization: Bearer abcdef0123456789secret",
                below: Some(Box::new(Leaky {
                    text: concat!(
                        "body {\"client_secret\":\"s3cr3t-value\",\"access_token\":\"",
                        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
                        "\"}"
                    ),
                    below: None,
                })),
            })),
        }
    }

    fn chain(e: &dyn std::error::Error) -> Vec<String> {
        let mut texts = vec![e.to_string()];
        let mut next = e.source();
        while let Some(cause) = next {
            texts.push(cause.to_string());
            next = cause.source();
        }
        texts
    }

    fn joined_count(texts: &[String], needle: &str) -> usize {
        texts.join(": ").matches(needle).count()
    }

    fn assert_no_secret(text: &str) {
        for secret in [
            "abcdef0123456789secret",
            "s3cr3t-value",
            JWT,
            "pw-hunter2",
            "t0ps3cret",
            "cs-77x",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn the_source_chain_is_scrubbed_and_each_level_printed_once() {
        for err in [
            Error::transport("request failed", leaky()),
            Error::connect("connection failed", leaky()),
            Error::signing_with_source("cannot sign", leaky()),
        ] {
            let texts = chain(&err);
            assert_eq!(texts.len(), 4, "{texts:?}");
            assert_eq!(
                texts[1],
                "error sending request for url (https://[REDACTED]@h.example/pats?token=[REDACTED]\
                 &client_secret=[REDACTED])"
            );
            assert_eq!(joined_count(&texts, "client error"), 1, "{texts:?}");
            assert!(
                texts[2].starts_with("client error: Authorization: "),
                "{texts:?}"
            );
            for (i, text) in texts.iter().enumerate() {
                assert_no_secret(text);
                // No level repeats the text of a level below it.
                for below in &texts[i + 1..] {
                    assert!(!text.contains(below.as_str()), "{text:?} quotes {below:?}");
                }
            }
            assert_no_secret(&format!("{err:?}"));
            assert_no_secret(&format!("{err:#?}"));
            // What anyhow's `{:#}` prints: every level, joined.
            let joined = texts.join(": ");
            assert_no_secret(&joined);
            assert_eq!(
                joined.matches("error sending request").count(),
                1,
                "{joined}"
            );
            // A copy keeps all of it.
            assert_eq!(chain(&err.replicate()), texts);
            assert_eq!(format!("{:?}", err.replicate()), format!("{err:?}"));
        }
    }

    #[test]
    fn a_message_that_quotes_its_source_keeps_only_its_own_part() {
        let e = Leaky {
            text: "handshake failure",
            below: None,
        };
        let err = Error::transport("cannot set up TLS: handshake failure", e);
        assert_eq!(
            chain(&err),
            ["transport error: cannot set up TLS", "handshake failure"]
        );
        // A message that is only the source's text is kept as it is.
        let err = Error::transport(": x", "x");
        assert_eq!(chain(&err), ["transport error: : x", "x"]);
        let err = Error::signing_with_source("cannot sign: bad key", "bad key");
        assert_eq!(chain(&err), ["signing failed: cannot sign", "bad key"]);
        // Other kinds have no message to trim.
        let err = Error::invalid("name", "x: y").with_source(&Leaky {
            text: "y",
            below: None,
        });
        assert_eq!(err.reason(), Some("x: y"));
    }

    #[test]
    fn a_level_equal_to_the_one_below_is_left_out() {
        let e = Leaky {
            text: "same",
            below: Some(Box::new(Leaky {
                text: "same",
                below: None,
            })),
        };
        // "same: same" quotes the level below, so it keeps "same", which equals it.
        let err = Error::transport("m", e);
        assert_eq!(chain(&err), ["transport error: m", "same"]);
        let inner = Leaky {
            text: "inner",
            below: None,
        };
        #[derive(Debug)]
        struct Same(Leaky);
        impl fmt::Display for Same {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
        impl std::error::Error for Same {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Error::transport("m", Same(inner));
        assert_eq!(chain(&err), ["transport error: m", "inner"]);
    }

    #[test]
    fn reasons_and_messages_are_scrubbed_and_debug_shows_no_secret() {
        let bearer = "Bearer abcdef0123456789secret";
        for err in [
            Error::invalid("access_token", format!("bad value {bearer}")),
            Error::signing(format!("signing with {JWT} failed")),
            Error::transport(format!("sent {bearer}"), "x"),
            Error::decode(200, format!("got {JWT}"), JWT.as_bytes()),
            Error::limit_exceeded("p", "l", 1, format!("{bearer} too many")),
        ] {
            assert_no_secret(&err.to_string());
            assert_no_secret(&format!("{err:?}"));
        }
        // Ordinary text passes through untouched.
        assert_eq!(
            Error::invalid("name", "must not be empty").reason(),
            Some("must not be empty")
        );
    }

    #[test]
    fn debug_names_the_kind_and_the_details() {
        let err = Error::unsupported("p", "op").with_hint("h");
        let debug = format!("{err:?}");
        assert!(
            debug.starts_with("Error { kind: Unsupported, detail: Unsupported"),
            "{debug}"
        );
        assert!(debug.contains("hint: \"h\""), "{debug}");
        assert!(!debug.contains("source"), "{debug}");
        let debug = format!("{:?}", Error::transport("m", "cause"));
        assert!(
            debug.contains("source: ReplayedSource { message: \"cause\""),
            "{debug}"
        );
        assert!(!debug.contains("hint"), "{debug}");
    }

    #[test]
    fn error_is_send_sync_and_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn an_error_without_a_source_has_none() {
        assert!(Error::invalid("name", "x").source().is_none());
        assert!(Error::signing("x").source().is_none());
        assert!(Error::transport("m", "cause").source().is_some());
    }
}
