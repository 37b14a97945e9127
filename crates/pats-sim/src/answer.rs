//! What a simulator answers: status, headers and body stay readable, so that every answer
//! can be checked against the provider's contract (see [`crate::contract`]) on its way out;
//! the server ([`crate::server`]) writes it.

use std::time::Duration;

/// How the server delivers an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Headers and the whole body.
    Whole,
    /// Headers with the whole body's length, half the body, then the connection closes.
    Truncated,
    /// No answer: the connection closes.
    Reset,
}

/// A simulator's answer to one request.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    /// The body and its content type.
    pub(crate) body: Option<(Vec<u8>, String)>,
    /// HTTP/2 trailers (gRPC status).
    pub(crate) trailers: Vec<(String, String)>,
    /// Boxed: a delay is rare (faults), and the answer stays small.
    pub(crate) delay: Option<Box<Duration>>,
    pub(crate) delivery: Delivery,
    /// What must be on disk before the answer leaves (the emulator's journal).
    pub(crate) durable: Option<Box<Durable>>,
}

/// A ticket of the emulator's journal: the answer leaves once the journal's writer has
/// synced every ticket up to it (or has stopped).
#[derive(Debug, Clone)]
pub(crate) struct Durable {
    committed: tokio::sync::watch::Receiver<u64>,
    ticket: u64,
}

#[allow(dead_code)] // only the emulator journals
impl Durable {
    pub(crate) fn new(committed: tokio::sync::watch::Receiver<u64>, ticket: u64) -> Self {
        Durable { committed, ticket }
    }

    /// Waits for the ticket to be on disk, without holding a thread.
    pub(crate) async fn wait(mut self) {
        let ticket = self.ticket;
        let _ = self.committed.wait_for(|c| *c >= ticket).await;
    }
}

#[allow(dead_code)] // the full builder, whether or not every simulator uses each call
impl Answer {
    /// An answer with `status` and no body.
    pub(crate) fn new(status: u16) -> Self {
        Answer {
            status,
            headers: Vec::new(),
            body: None,
            trailers: Vec::new(),
            delay: None,
            delivery: Delivery::Whole,
            durable: None,
        }
    }

    /// A JSON body.
    pub(crate) fn set_body_json(mut self, body: impl serde::Serialize) -> Self {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        self.body = Some((bytes, "application/json".to_owned()));
        self
    }

    /// A body of any content type.
    pub(crate) fn set_body_raw(mut self, body: impl Into<Vec<u8>>, mime: &str) -> Self {
        self.body = Some((body.into(), mime.to_owned()));
        self
    }

    /// Adds (or replaces) a header.
    pub(crate) fn insert_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answers after `delay`.
    pub(crate) fn set_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(Box::new(delay));
        self
    }

    /// The body parsed as JSON, when it is JSON.
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        let (bytes, _) = self.body.as_ref()?;
        serde_json::from_slice(bytes).ok()
    }

    /// Delivered this way.
    pub(crate) fn set_delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }
}
