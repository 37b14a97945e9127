//! The one error type of pats, its kinds, and the provider error details it carries.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// How a [`Error::Transport`] begins when the connection was never made (nothing was sent).
pub(crate) const CONNECT_FAILED: &str = "connection failed";

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

/// Every error pats returns. Match on the variant (or on [`Error::kind`]) whatever the provider.
///
/// No variant ever holds a secret: provider messages and body snippets are scrubbed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before any request was sent.
    #[error("invalid input for `{field}`: {reason}")]
    InvalidInput {
        /// The field, argument or setting that was rejected.
        field: Cow<'static, str>,
        /// Why it was rejected.
        reason: String,
    },
    /// The credentials were missing, wrong or expired (HTTP 401).
    #[error("unauthenticated: {0}")]
    Unauthenticated(ApiError),
    /// The credentials are valid but lack a permission (HTTP 403).
    #[error("permission denied: {0}")]
    PermissionDenied(ApiError),
    /// The token (or its owner) does not exist (HTTP 404 or the provider's equivalent).
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// A token with the same unique attribute already exists (HTTP 409).
    #[error("already exists: {0}")]
    AlreadyExists(ApiError),
    /// The provider asked to slow down (HTTP 429).
    #[error("rate limited{}: {error}", retry_after.map(|d| format!(" (retry after {} s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// How long the provider asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The provider's error body.
        error: ApiError,
    },
    /// The change was accepted but waits for a policy approval; it has not happened yet.
    #[error("{provider}: change accepted, pending approval{}", approval_id.as_deref().map(|id| format!(" (approval {id})")).unwrap_or_default())]
    PendingApproval {
        /// The provider name.
        provider: &'static str,
        /// The approval's identifier, if the provider sent one.
        approval_id: Option<String>,
        /// The provider's answer body, as JSON.
        details: serde_json::Value,
    },
    /// The provider does not offer this operation or option.
    #[error("{provider} does not support {operation}{}", hint.map(|h| format!(": {h}")).unwrap_or_default())]
    Unsupported {
        /// The provider name.
        provider: &'static str,
        /// The operation or option that is not offered.
        operation: &'static str,
        /// What to do instead, when there is something.
        hint: Option<&'static str>,
    },
    /// Any other error answer from the provider, with its parsed error body.
    #[error("API error: {0}")]
    Api(ApiError),
    /// No complete answer arrived within the configured timeout.
    ///
    /// The timeout ([`ClientOptions::timeout`](crate::ClientOptions::timeout)) bounds each
    /// attempt: an idempotent request that was retried took longer in all, and the message
    /// says how many attempts there were.
    #[error("{}", timeout_message(*timeout, *attempts))]
    Timeout {
        /// The timeout of each attempt, which the last attempt ran into.
        timeout: Duration,
        /// How many attempts were made, the last of which timed out (1 when the request
        /// was not retried).
        attempts: u32,
    },
    /// The connection failed or broke (DNS, connect, reset, TLS, protocol).
    #[error("transport error: {message}")]
    Transport {
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The answer could not be understood: bad JSON, wrong content type, truncated or oversized.
    #[error("could not decode the HTTP {status} answer: {reason}{}", if snippet.is_empty() { String::new() } else { format!(" (body starts: {snippet})") })]
    Decode {
        /// HTTP status code of the answer.
        status: u16,
        /// What was wrong with it.
        reason: String,
        /// The start of the body (at most 512 bytes, scrubbed of secrets).
        snippet: String,
    },
    /// Signing a request (for example a Dfns user action) failed.
    #[error("signing failed: {message}")]
    Signing {
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// A bound set on the caller's side was reached, such as
    /// [`ListLimits`](crate::ListLimits) in a listing that follows pages: either the
    /// server misbehaves (it keeps sending more) or the data is larger than the bound. The
    /// message names the setting that raises it.
    #[error("{provider}: the limit `{limit}` ({max}) was reached: {message}")]
    LimitExceeded {
        /// The provider name.
        provider: &'static str,
        /// The setting holding the bound, for example `ListLimits::max_pages`.
        limit: &'static str,
        /// The bound's value.
        max: u64,
        /// What went past it, and how to raise it.
        message: String,
    },
}

/// The message of [`Error::Timeout`]: the timeout is per attempt, so with retries the
/// message must not read as the time the whole call took.
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

/// The kind of an [`Error`], for matching without caring about the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::InvalidInput`].
    InvalidInput,
    /// See [`Error::Unauthenticated`].
    Unauthenticated,
    /// See [`Error::PermissionDenied`].
    PermissionDenied,
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::AlreadyExists`].
    AlreadyExists,
    /// See [`Error::RateLimited`].
    RateLimited,
    /// See [`Error::PendingApproval`].
    PendingApproval,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Api`].
    Api,
    /// See [`Error::Timeout`].
    Timeout,
    /// See [`Error::Transport`].
    Transport,
    /// See [`Error::Decode`].
    Decode,
    /// See [`Error::Signing`].
    Signing,
    /// See [`Error::LimitExceeded`].
    LimitExceeded,
}

impl Error {
    /// An [`Error::InvalidInput`] for `field`.
    pub fn invalid(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`Error::Unsupported`] for `operation` on `provider`.
    pub fn unsupported(provider: &'static str, operation: &'static str) -> Self {
        Self::Unsupported {
            provider,
            operation,
            hint: None,
        }
    }

    /// An [`Error::Signing`] with a message and no source.
    pub fn signing(message: impl Into<String>) -> Self {
        Self::Signing {
            message: message.into(),
            source: None,
        }
    }

    /// An [`Error::Decode`]; the snippet is cut to 512 bytes and scrubbed.
    pub fn decode(status: u16, reason: impl Into<String>, body: &[u8]) -> Self {
        Self::Decode {
            status,
            reason: reason.into(),
            snippet: crate::redact::snippet(body, &[]),
        }
    }

    /// Maps a provider's error answer to the kind its HTTP status stands for.
    ///
    /// Provider crates call this after parsing their error body; they may pick a kind
    /// themselves when the body's code says more than the status.
    pub fn from_api(error: ApiError, retry_after: Option<Duration>) -> Self {
        match error.status {
            401 => Self::Unauthenticated(error),
            403 => Self::PermissionDenied(error),
            404 => Self::NotFound(error),
            409 => Self::AlreadyExists(error),
            429 => Self::RateLimited { retry_after, error },
            _ => Self::Api(error),
        }
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput { .. } => ErrorKind::InvalidInput,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::PendingApproval { .. } => ErrorKind::PendingApproval,
            Self::Unsupported { .. } => ErrorKind::Unsupported,
            Self::Api(_) => ErrorKind::Api,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Decode { .. } => ErrorKind::Decode,
            Self::Signing { .. } => ErrorKind::Signing,
            Self::LimitExceeded { .. } => ErrorKind::LimitExceeded,
        }
    }

    /// The HTTP status of the provider's answer, when the error came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthenticated(e)
            | Self::PermissionDenied(e)
            | Self::NotFound(e)
            | Self::AlreadyExists(e)
            | Self::RateLimited { error: e, .. }
            | Self::Api(e) => Some(e.status),
            Self::Decode { status, .. } => Some(*status),
            Self::PendingApproval { .. } => Some(202),
            _ => None,
        }
    }

    /// The provider's parsed error body, when the error is an answer with one
    /// ([`Error::Unauthenticated`], [`Error::PermissionDenied`], [`Error::NotFound`],
    /// [`Error::AlreadyExists`], [`Error::RateLimited`] or [`Error::Api`]).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Unauthenticated(e)
            | Self::PermissionDenied(e)
            | Self::NotFound(e)
            | Self::AlreadyExists(e)
            | Self::RateLimited { error: e, .. }
            | Self::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the request may have taken effect although no answer says so: the answer
    /// timed out, the connection broke after the request was sent, or a success answer
    /// could not be read. After a create this means the token may exist: look for it (by
    /// name) before creating it again. False when the connection was never made and for
    /// every error answer.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::Timeout { .. } => true,
            Self::Transport { message, .. } => !message.starts_with(CONNECT_FAILED),
            Self::Decode { status, .. } => *status < 400,
            _ => false,
        }
    }

    /// Whether trying the same request again later may succeed.
    ///
    /// True for rate limiting, timeouts, transport failures and the answers pats's own
    /// retry loop retries ([`retry::is_retryable_status`](crate::retry::is_retryable_status):
    /// 429, 502, 503 and 504). A 500 is not: it usually means the request itself broke
    /// something on the server, and sending it again tends to fail the same way.
    /// pats only retries idempotent requests by itself; this tells callers whether they may.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Api(e) => crate::retry::is_retryable_status(e.status),
            _ => false,
        }
    }
}

/// The text of an error source and of the sources under it, kept when a failed fetch is
/// handed to several callers (the original source cannot be cloned).
#[derive(Debug)]
struct ReplayedSource {
    message: String,
    source: Option<Box<ReplayedSource>>,
}

impl ReplayedSource {
    fn of(e: &(dyn std::error::Error + 'static)) -> Box<Self> {
        Box::new(Self {
            message: e.to_string(),
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

fn replay_source(
    source: Option<&(dyn std::error::Error + Send + Sync + 'static)>,
) -> Option<BoxError> {
    source.map(|s| ReplayedSource::of(s) as BoxError)
}

impl Error {
    /// An error equal to this one in variant and fields, for handing one failure to several
    /// callers (a failed token fetch); a source is kept as its text (and the text of its
    /// own sources), since the original cannot be cloned.
    pub(crate) fn replicate(&self) -> Error {
        match self {
            Error::InvalidInput { field, reason } => Error::InvalidInput {
                field: field.clone(),
                reason: reason.clone(),
            },
            Error::Unauthenticated(a) => Error::Unauthenticated(a.clone()),
            Error::PermissionDenied(a) => Error::PermissionDenied(a.clone()),
            Error::NotFound(a) => Error::NotFound(a.clone()),
            Error::AlreadyExists(a) => Error::AlreadyExists(a.clone()),
            Error::RateLimited { retry_after, error } => Error::RateLimited {
                retry_after: *retry_after,
                error: error.clone(),
            },
            Error::PendingApproval {
                provider,
                approval_id,
                details,
            } => Error::PendingApproval {
                provider,
                approval_id: approval_id.clone(),
                details: details.clone(),
            },
            Error::Unsupported {
                provider,
                operation,
                hint,
            } => Error::Unsupported {
                provider,
                operation,
                hint: *hint,
            },
            Error::Api(a) => Error::Api(a.clone()),
            Error::Timeout { timeout, attempts } => Error::Timeout {
                timeout: *timeout,
                attempts: *attempts,
            },
            Error::Transport { message, source } => Error::Transport {
                message: message.clone(),
                source: replay_source(source.as_deref()),
            },
            Error::Decode {
                status,
                reason,
                snippet,
            } => Error::Decode {
                status: *status,
                reason: reason.clone(),
                snippet: snippet.clone(),
            },
            Error::Signing { message, source } => Error::Signing {
                message: message.clone(),
                source: replay_source(source.as_deref()),
            },
            Error::LimitExceeded {
                provider,
                limit,
                max,
                message,
            } => Error::LimitExceeded {
                provider,
                limit,
                max: *max,
                message: message.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let err = Error::from_api(ApiError::new(status, "m"), None);
            assert_eq!(err.kind(), kind, "HTTP {status}");
            assert_eq!(err.status(), Some(status));
            assert_eq!(err.api_error().map(|e| e.status), Some(status));
        }
        assert_eq!(Error::decode(502, "bad", b"x").status(), Some(502));
        let pending = Error::PendingApproval {
            provider: "p",
            approval_id: None,
            details: serde_json::Value::Null,
        };
        assert_eq!(pending.status(), Some(202));
        assert_eq!(Error::invalid("f", "r").status(), None);
    }

    #[test]
    fn api_wraps_the_api_error_and_displays_all_of_it() {
        let api = ApiError::new(418, "short and stout")
            .with_code(Some("TEAPOT".into()))
            .with_request_id(Some("req-7".into()));
        let err = Error::from_api(api.clone(), None);
        assert!(matches!(&err, Error::Api(e) if *e == api), "{err:?}");
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
    fn a_replicated_error_keeps_the_whole_source_chain_as_text() {
        #[derive(Debug)]
        struct Inner;
        impl fmt::Display for Inner {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("inner cause")
            }
        }
        impl std::error::Error for Inner {}
        #[derive(Debug)]
        struct Outer(Inner);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("outer cause")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        fn chain(e: &dyn std::error::Error) -> Vec<String> {
            let mut texts = Vec::new();
            let mut next = e.source();
            while let Some(cause) = next {
                texts.push(cause.to_string());
                next = cause.source();
            }
            texts
        }
        let e = Error::Transport {
            message: "connect failed".into(),
            source: Some(Box::new(Outer(Inner))),
        };
        assert_eq!(chain(&e.replicate()), ["outer cause", "inner cause"]);
        assert_eq!(chain(&e.replicate()), chain(&e));
    }
}
