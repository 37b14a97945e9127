//! What a simulator answers, before it becomes a `wiremock::ResponseTemplate`: the same
//! builder calls, but the status and body stay readable, so that every answer can be
//! checked against the provider's contract (see [`crate::contract`]) on its way out.

use std::time::Duration;

use wiremock::ResponseTemplate;

/// A simulator's answer to one request.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    /// The body and its content type.
    pub(crate) body: Option<(Vec<u8>, String)>,
    delay: Option<Duration>,
}

#[allow(dead_code)] // the full builder, whether or not every simulator uses each call
impl Answer {
    /// An answer with `status` and no body.
    pub(crate) fn new(status: u16) -> Self {
        Answer {
            status,
            headers: Vec::new(),
            body: None,
            delay: None,
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
        self.delay = Some(delay);
        self
    }

    /// The body parsed as JSON, when it is JSON.
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        let (bytes, _) = self.body.as_ref()?;
        serde_json::from_slice(bytes).ok()
    }

    /// The `wiremock` answer.
    pub(crate) fn into_template(self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status);
        for (name, value) in &self.headers {
            template = template.insert_header(name.as_str(), value.as_str());
        }
        if let Some((bytes, mime)) = self.body {
            template = template.set_body_raw(bytes, &mime);
        }
        if let Some(delay) = self.delay {
            template = template.set_delay(delay);
        }
        template
    }
}
