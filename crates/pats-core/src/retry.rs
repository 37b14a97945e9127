//! Retry policy and the retry loop.
//!
//! Only idempotent requests are retried: on a timeout, a transport failure, or an answer
//! of 429, 502, 503 or 504. A `Retry-After` header (seconds or HTTP date) replaces the
//! computed backoff. Retries stop at the attempt limit or when the next wait would go past
//! the time budget; the last answer or error is then returned as it was. An error in
//! obtaining the bearer token ends the loop at once: the token fetch is itself a request
//! with these retries, so retrying it again here would multiply them.
//!
//! Durations a server sends (`Retry-After`) meet the clock and the budget only through
//! checked or saturating arithmetic: with a policy of `Duration::MAX` and a `Retry-After` of
//! `u64::MAX` seconds, a wait that would take the elapsed time past what a `Duration` holds
//! counts as past the budget (never an overflow panic).

use crate::error::{ErrorKind, Result};
use crate::transport::Response;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
#[cfg(any(test, feature = "test-util"))]
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// When and how often idempotent requests are retried.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Most attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Longest computed wait between attempts.
    pub max_backoff: Duration,
    /// Growth of the wait per retry.
    pub multiplier: f64,
    /// Share of each wait that is random, 0.0 (none) to 1.0: the wait is drawn from
    /// `[w * (1 - jitter), w]`.
    pub jitter: f64,
    /// Longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
    /// Total time from the first attempt after which no retry starts.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(8),
            multiplier: 2.0,
            jitter: 0.5,
            max_retry_after: Duration::from_secs(60),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the attempt limit (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the initial and the longest computed wait.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the random share of each wait (clamped to 0.0..=1.0).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Sets the total time budget.
    #[must_use]
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Sets the longest `Retry-After` honoured.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The wait before retry number `retry` (1 = the first retry), jitter applied.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = self.initial_backoff.as_secs_f64() * self.multiplier.max(1.0).powi(exp);
        let capped = base.min(self.max_backoff.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 - jitter * fastrand::f64();
        Duration::try_from_secs_f64(capped * factor).unwrap_or(self.max_backoff)
    }
}

/// Time as the retry loop sees it: a monotonic reading and a way to wait.
///
/// The default, [`TokioClock`], is tokio's clock (so tests may pause it). `VirtualClock`
/// records waits and returns at once, for tests that talk to a real loopback server.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock whose waits return at once and advance its time by the amount waited.
///
/// Lets a test check exactly how long the retry loop waited, while requests go to a real
/// loopback server.
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[derive(Debug, Clone, Default)]
pub struct VirtualClock {
    slept: Arc<Mutex<Vec<Duration>>>,
}

#[cfg(any(test, feature = "test-util"))]
impl VirtualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every wait so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        // Saturating: waits as long as a server may ask for must not overflow the sum.
        self.sleeps()
            .iter()
            .fold(Duration::ZERO, |sum, d| sum.saturating_add(*d))
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        if let Ok(mut s) = self.slept.lock() {
            s.push(duration);
        }
        Box::pin(tokio::task::yield_now())
    }
}

/// Statuses worth retrying for an idempotent request.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Runs `attempt` (called with the attempt number, from 1) until it succeeds, fails for
/// good, or the policy says stop. Non-idempotent requests get exactly one attempt.
pub async fn run<F, Fut>(
    policy: &RetryPolicy,
    clock: &dyn Clock,
    idempotent: bool,
    mut attempt: F,
) -> Result<Response>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Response>>,
{
    run_attempts(policy, clock, idempotent, |n| {
        let fut = attempt(n);
        async move { Ok(fut.await) }
    })
    .await
}

/// [`run`], for attempts that may also fail in a way that must not be retried: an attempt's
/// `Err` ends the loop at once with that error, its `Ok` is an outcome as in [`run`].
///
/// The transport uses it for errors in obtaining the bearer token: the token fetch has
/// already spent its own retries, and retrying it again here would multiply them.
pub(crate) async fn run_attempts<F, Fut>(
    policy: &RetryPolicy,
    clock: &dyn Clock,
    idempotent: bool,
    mut attempt: F,
) -> Result<Response>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Result<Response>>>,
{
    let start = clock.now();
    let mut n = 1;
    loop {
        let outcome = attempt(n).await?;
        let wait = match &outcome {
            Ok(resp) if is_retryable_status(resp.status()) => match resp.retry_after() {
                Some(after) if after > policy.max_retry_after => None,
                Some(after) => Some(after),
                None => Some(policy.backoff(n)),
            },
            Ok(_) => None,
            Err(e) if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Transport) => {
                Some(policy.backoff(n))
            }
            Err(_) => None,
        };
        // A timeout is always worth a retry (`wait` is `Some`): the returns below count.
        let Some(wait) = wait else { return outcome };
        if !idempotent || n >= policy.max_attempts {
            return counted(outcome, n);
        }
        let elapsed = clock.now().saturating_sub(start);
        // A server-sent Retry-After may be near `Duration::MAX`: an overflow is past any budget.
        if elapsed
            .checked_add(wait)
            .is_none_or(|end| end > policy.budget)
        {
            tracing::debug!(attempt = n, ?wait, ?elapsed, "retry budget exhausted");
            return counted(outcome, n);
        }
        tracing::debug!(attempt = n, ?wait, "retrying");
        clock.sleep(wait).await;
        n += 1;
    }
}

/// `outcome`, with a timeout's [`attempts`](crate::Error::attempts) set to the number
/// made: the timeout bounds each attempt, so its message must say how many there were.
fn counted(mut outcome: Result<Response>, attempts: u32) -> Result<Response> {
    if let Err(e) = &mut outcome {
        e.set_attempts(attempts);
    }
    outcome
}

/// Parses a `Retry-After` value: whole seconds, or an HTTP date (counted from `now`) in
/// any of the three forms HTTP allows (IMF-fixdate, the obsolete RFC 850 and asctime forms).
///
/// A number of seconds too large for a `u64` counts as `u64::MAX` seconds (so it is past
/// any [`RetryPolicy::max_retry_after`] rather than ignored); a date in the past is zero.
pub fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = match at.duration_since(std::time::SystemTime::UNIX_EPOCH) {
        Ok(since) => i128::from(since.as_secs()),
        Err(before) => -i128::from(before.duration().as_secs()),
    };
    let secs = at.saturating_sub(i128::from(now.unix_timestamp())).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Error;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn resp(status: u16, retry_after: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        }
        Response::new(status, headers, bytes::Bytes::new())
    }

    fn exact() -> RetryPolicy {
        RetryPolicy::default()
            .with_jitter(0.0)
            .with_backoff(Duration::from_secs(1), Duration::from_secs(4))
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = time::macros::datetime!(2015-10-21 07:28:00 UTC);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("+1", now), None);
        assert_eq!(parse_retry_after("", now), None);
        // The obsolete forms HTTP recipients must accept (RFC 9110, section 5.6.7).
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed Oct 21 07:29:00 2015", now),
            Some(Duration::from_secs(60))
        );
        // Not a valid date: the 21st of October 2015 was a Wednesday.
        assert_eq!(
            parse_retry_after("Mon, 21 Oct 2015 07:28:30 GMT", now),
            None
        );
        assert_eq!(
            parse_retry_after("Wed, 32 Oct 2015 07:28:30 GMT", now),
            None
        );
    }

    #[test]
    fn huge_retry_after_values_saturate_instead_of_overflowing() {
        let now = time::macros::datetime!(2015-10-21 07:28:00 UTC);
        let max = Some(Duration::from_secs(u64::MAX));
        assert_eq!(parse_retry_after(&u64::MAX.to_string(), now), max);
        assert_eq!(parse_retry_after("99999999999999999999999999", now), max);
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(Duration::from_secs(253_402_300_799 - 1_445_412_480))
        );
        let far_past = time::macros::datetime!(1970-01-01 00:00:00 UTC);
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", far_past),
            Some(Duration::ZERO)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_under_an_unlimited_policy_does_not_overflow() {
        let policy = exact()
            .with_max_retry_after(Duration::MAX)
            .with_budget(Duration::MAX);
        let clock = VirtualClock::new();
        let mut calls = 0;
        let out = run(&policy, &clock, true, |n| {
            calls += 1;
            async move {
                Ok(if n < 3 {
                    resp(503, Some("18446744073709551615"))
                } else {
                    resp(200, None)
                })
            }
        })
        .await
        .unwrap();
        // The first wait of u64::MAX s fits the unlimited budget; after it, elapsed + wait
        // overflows, which is past any budget: the last answer is returned.
        assert_eq!((calls, out.status()), (2, 503));
        assert_eq!(clock.sleeps(), [Duration::from_secs(u64::MAX)]);
        assert_eq!(clock.now(), Duration::from_secs(u64::MAX));
        // With a finite budget the same answer ends the retries at once.
        let policy = exact().with_max_retry_after(Duration::MAX);
        let mut calls = 0;
        let out = run(&policy, &VirtualClock::new(), true, |_| {
            calls += 1;
            async { Ok(resp(429, Some("18446744073709551615"))) }
        })
        .await
        .unwrap();
        assert_eq!((calls, out.status()), (1, 429));
    }

    #[test]
    fn backoff_grows_is_capped_and_jitter_stays_in_range() {
        let p = exact();
        let waits: Vec<_> = (1..=5).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 4, 4]);
        let p = exact().with_jitter(0.5);
        for n in 1..50 {
            let w = p.backoff(n);
            let full = exact().backoff(n);
            assert!(w <= full && w >= full / 2, "{w:?} vs {full:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_on_paused_time() {
        let clock = TokioClock::default();
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        let out = run(&exact(), &clock, true, |n| {
            at.push(start.elapsed());
            async move {
                Ok(if n == 1 {
                    resp(429, Some("2"))
                } else {
                    resp(200, None)
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(out.status(), 200);
        assert_eq!(at, [Duration::ZERO, Duration::from_secs(2)]);
    }

    #[tokio::test(start_paused = true)]
    async fn non_idempotent_is_attempted_once() {
        let clock = TokioClock::default();
        let mut calls = 0;
        let out = run(&exact(), &clock, false, |_| {
            calls += 1;
            async { Ok(resp(503, None)) }
        })
        .await
        .unwrap();
        assert_eq!((calls, out.status()), (1, 503));
        let mut calls = 0;
        let out = run(&exact(), &clock, false, |_| {
            calls += 1;
            async { Err::<Response, _>(Error::timed_out(Duration::from_secs(1), 1)) }
        })
        .await;
        assert_eq!(calls, 1);
        assert_eq!(out.err().and_then(|e| e.attempts()), Some(1));
    }

    fn timeout(_: u32) -> std::future::Ready<Result<Response>> {
        std::future::ready(Err(Error::timed_out(Duration::from_secs(30), 1)))
    }

    /// The timeout bounds each attempt: a timeout after retries says how many attempts
    /// there were, so that "30 s" is not read as the time the whole call took.
    #[tokio::test(start_paused = true)]
    async fn a_timeout_after_retries_counts_the_attempts() {
        // Stopped by the attempt limit.
        let clock = VirtualClock::new();
        let out = run(&exact().with_max_attempts(3), &clock, true, timeout).await;
        let err = out.err().unwrap();
        assert_eq!(
            (err.kind(), err.attempts(), err.timeout()),
            (ErrorKind::Timeout, Some(3), Some(Duration::from_secs(30))),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "request timed out: no complete answer within 30 s on the last of 3 attempts (the \
             timeout applies to each attempt)"
        );
        // Stopped by the budget: the default policy (60 s) after two attempts of 30 s, as a
        // stalled server does it on tokio's clock.
        let clock = TokioClock::default();
        let policy = RetryPolicy::default().with_jitter(0.0);
        let out = run(&policy, &clock, true, |n| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            timeout(n).await
        })
        .await;
        assert_eq!(out.err().and_then(|e| e.attempts()), Some(2));
        assert_eq!(clock.now(), Duration::from_millis(60_200));
        // A request that is not retried says only the timeout.
        let out = run(&exact(), &VirtualClock::new(), false, timeout).await;
        let err = out.err().unwrap();
        assert_eq!(err.attempts(), Some(1), "{err:?}");
        assert_eq!(err.to_string(), "request timed out after 30 s");
        // A 503, then a timeout: the count is of attempts, whatever ended the earlier ones.
        let out = run(
            &exact().with_max_attempts(2),
            &VirtualClock::new(),
            true,
            |n| {
                std::future::ready(match n {
                    1 => Ok(resp(503, None)),
                    _ => Err(Error::timed_out(Duration::from_secs(30), 1)),
                })
            },
        )
        .await;
        assert_eq!(out.err().and_then(|e| e.attempts()), Some(2));
        // Other errors are returned as they were.
        let out = run(
            &exact().with_max_attempts(2),
            &VirtualClock::new(),
            true,
            |_| std::future::ready(Err(Error::invalid("f", "r"))),
        )
        .await;
        assert!(
            matches!(out, Err(ref e) if e.kind() == ErrorKind::InvalidInput),
            "{out:?}"
        );
    }

    /// Calls until the first non-429 answer, the first answering 429 with `retry_after`.
    async fn calls_with_retry_after(policy: &RetryPolicy, retry_after: &str) -> u32 {
        let clock = TokioClock::default();
        let mut calls = 0;
        let _ = run(policy, &clock, true, |n| {
            calls += 1;
            let first = n == 1;
            let retry_after = retry_after.to_owned();
            async move {
                Ok(if first {
                    resp(429, Some(&retry_after))
                } else {
                    resp(200, None)
                })
            }
        })
        .await;
        calls
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_up_to_the_limit_is_waited_for_and_past_it_is_not() {
        let policy = exact()
            .with_max_retry_after(Duration::from_secs(60))
            .with_budget(Duration::from_secs(7200));
        assert_eq!(calls_with_retry_after(&policy, "60").await, 2);
        assert_eq!(calls_with_retry_after(&policy, "61").await, 1);
        assert_eq!(calls_with_retry_after(&policy, "3600").await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_that_ends_exactly_at_the_budget_is_still_taken() {
        let policy = exact().with_budget(Duration::from_secs(10));
        assert_eq!(calls_with_retry_after(&policy, "10").await, 2);
        assert_eq!(calls_with_retry_after(&policy, "11").await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_budget_with_the_last_answer() {
        let clock = TokioClock::default();
        let policy = exact()
            .with_max_attempts(100)
            .with_budget(Duration::from_secs(10));
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        let out = run(&policy, &clock, true, |n| {
            at.push(start.elapsed().as_secs());
            async move {
                let mut r = resp(503, None);
                r.headers_mut().insert("x-attempt", HeaderValue::from(n));
                Ok(r)
            }
        })
        .await
        .unwrap();
        // waits 1, 2, 4 (total 7); the next wait of 4 would end at 11 > 10.
        assert_eq!(at, [0, 1, 3, 7]);
        assert_eq!(out.status(), 503);
        assert_eq!(out.headers()["x-attempt"], "4");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_max_attempts_and_on_errors_that_are_final() {
        let clock = TokioClock::default();
        let mut calls = 0;
        let _ = run(&exact().with_max_attempts(3), &clock, true, |_| {
            calls += 1;
            async { Ok(resp(502, None)) }
        })
        .await;
        assert_eq!(calls, 3);
        let mut calls = 0;
        let _ = run(&exact(), &clock, true, |_| {
            calls += 1;
            async { Ok(resp(500, None)) }
        })
        .await;
        assert_eq!(calls, 1, "500 is not retried");
        let mut calls = 0;
        let _ = run(&exact(), &clock, true, |_| {
            calls += 1;
            async { Ok(resp(429, Some("3600"))) }
        })
        .await;
        assert_eq!(calls, 1, "a Retry-After beyond the limit is not waited for");
    }
}
