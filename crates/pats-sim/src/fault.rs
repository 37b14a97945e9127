//! Fault injection shared by every simulator.
//!
//! A simulator's responder asks its `Faults` before doing its normal work; when a
//! [`FaultRule`] matches the request, the fault decides the answer (and whether the normal
//! work happens at all).

use crate::answer::{Answer, Delivery};
use crate::server::Request;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A failure to inject.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and JSON body; the request is not processed.
    Status {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: serde_json::Value,
    },
    /// Answer 429 with an optional `Retry-After` (seconds); the request is not processed.
    RateLimited {
        /// `Retry-After` seconds, if any.
        retry_after: Option<u64>,
    },
    /// Process the request normally but answer after this delay.
    Delay(Duration),
    /// Do not process the request; answer 504 only after this long (longer than any
    /// client timeout under test).
    Stall(Duration),
    /// Answer 200 with a body that is not JSON.
    InvalidJson,
    /// Answer with this status and an HTML error page (`text/html`).
    Html(u16),
    /// Answer 200 with a JSON body but the content type `text/plain`.
    WrongContentType,
    /// Answer 200 with a JSON body of at least this many bytes.
    Oversized(usize),
    /// Close the connection without answering; the request is not processed.
    Reset,
    /// Process the request, announce its whole answer's length, send half, then close the
    /// connection.
    Truncated,
}

impl Fault {
    /// A 5xx (or any status) with a small JSON body.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            body: serde_json::json!({ "message": "simulated failure" }),
        }
    }
}

/// When to inject a [`Fault`].
#[derive(Debug, Clone)]
pub struct FaultRule {
    method: Option<String>,
    path_contains: Option<String>,
    remaining: Option<usize>,
    fault: Fault,
}

impl FaultRule {
    /// Injects `fault` into every request, until limited with [`times`](Self::times).
    pub fn new(fault: Fault) -> Self {
        Self {
            method: None,
            path_contains: None,
            remaining: None,
            fault,
        }
    }

    /// Only requests with this method (`GET`, `POST`, ...).
    #[must_use]
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose path contains `fragment`.
    #[must_use]
    pub fn path_contains(mut self, fragment: &str) -> Self {
        self.path_contains = Some(fragment.to_owned());
        self
    }

    /// The same rule with another fault (harnesses hand out rules that match a request;
    /// tests pick the fault).
    #[must_use]
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Only the next `n` matching requests.
    #[must_use]
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    fn matches(&self, request: &Request) -> bool {
        self.remaining != Some(0)
            && self
                .method
                .as_deref()
                .is_none_or(|m| request.method.as_str() == m)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| request.url.path().contains(p))
    }
}

/// The faults armed on one simulator. Cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<FaultRule>>>,
    /// The contract violations of this simulator's exchanges (feature `contract`), which
    /// its [`ContractGuard`](crate::contract::ContractGuard) reports when it is dropped.
    violations: Arc<Mutex<Vec<String>>>,
}

impl Faults {
    /// Arms a rule. Rules are tried in the order they were armed.
    pub fn inject(&self, rule: FaultRule) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(rule);
        }
    }

    /// Disarms every rule.
    pub fn clear(&self) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.clear();
        }
    }

    /// The fault for `request`, if a rule matches (using up one of its times).
    pub fn take(&self, request: &Request) -> Option<Fault> {
        let mut rules = self.rules.lock().ok()?;
        let rule = rules.iter_mut().find(|r| r.matches(request))?;
        if let Some(n) = &mut rule.remaining {
            *n -= 1;
        }
        Some(rule.fault.clone())
    }

    /// [`Faults::respond`] for a simulator: its normal answer is offered to the contract
    /// checker (fault answers are deliberately off-contract and are not).
    pub(crate) fn respond_checked(
        &self,
        provider: crate::contract::Provider,
        request: &Request,
        normal: impl FnOnce() -> Answer,
    ) -> Answer {
        self.respond(request, || {
            let answer = normal();
            let found = crate::contract::observe(provider, request, &answer);
            if !found.is_empty() {
                // A poisoned lock only means a thread panicked while pushing; keep counting.
                let mut violations = self.violations.lock().unwrap_or_else(|e| e.into_inner());
                violations.extend(found);
            }
            answer
        })
    }

    /// What the contract checks found wrong in this simulator's exchanges so far, shared
    /// with the guard that reports them (see [`crate::contract::ContractGuard`]).
    pub(crate) fn violations(&self) -> Arc<Mutex<Vec<String>>> {
        Arc::clone(&self.violations)
    }

    /// The answer to `request`: the matching fault's, or `normal()` (which does the real
    /// work) when no rule matches or the fault only delays or truncates.
    pub(crate) fn respond(&self, request: &Request, normal: impl FnOnce() -> Answer) -> Answer {
        let Some(fault) = self.take(request) else {
            return normal();
        };
        match fault {
            Fault::Status { status, body } => Answer::new(status).set_body_json(body),
            Fault::RateLimited { retry_after } => {
                let t = Answer::new(429)
                    .set_body_json(serde_json::json!({ "message": "Rate limit exceeded" }));
                match retry_after {
                    Some(s) => t.insert_header("Retry-After", s.to_string().as_str()),
                    None => t,
                }
            }
            Fault::Delay(d) => normal().set_delay(d),
            Fault::Stall(d) => Answer::new(504).set_delay(d),
            Fault::InvalidJson => Answer::new(200)
                .set_body_raw(b"{\"items\": [ {\"id\": ".to_vec(), "application/json"),
            Fault::Html(status) => Answer::new(status).set_body_raw(
                b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
                    .to_vec(),
                "text/html",
            ),
            Fault::WrongContentType => {
                Answer::new(200).set_body_raw(b"{\"items\": []}".to_vec(), "text/plain")
            }
            Fault::Oversized(n) => {
                let mut body = b"{\"padding\":\"".to_vec();
                body.resize(body.len() + n, b'x');
                body.extend_from_slice(b"\"}");
                Answer::new(200).set_body_raw(body, "application/json")
            }
            Fault::Reset => Answer::new(500).set_delivery(Delivery::Reset),
            Fault::Truncated => normal().set_delivery(Delivery::Truncated),
        }
    }
}
