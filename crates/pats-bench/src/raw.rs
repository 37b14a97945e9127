//! The floor: hand-written `reqwest` requests (same client settings as `pats`, same bytes)
//! whose answers are parsed into `serde_json::Value`.

use crate::measure::Result;
use bytes::Bytes;
use pats::reexports::reqwest::{self, Method, header};
use serde_json::Value;
use std::time::Duration;

/// A `reqwest::Client` configured like the one `pats` builds: its user agent, connect and
/// total timeouts, no redirects, default connection pool (reused connections).
pub fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(pats::transport::USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// One hand-written request.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The method.
    pub method: Method,
    /// Path and query.
    pub target: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body and its content type.
    pub body: Option<(Bytes, &'static str)>,
}

impl RawRequest {
    /// A request without a body.
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets a JSON body.
    #[must_use]
    pub fn json(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some((body.into(), "application/json"));
        self
    }

    /// Sets a form body (`application/x-www-form-urlencoded`).
    #[must_use]
    pub fn form(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some((body.into(), "application/x-www-form-urlencoded"));
        self
    }
}

/// Raw calls against one base URL with one bearer token.
#[derive(Debug, Clone)]
pub struct Raw {
    http: reqwest::Client,
    base: String,
    authorization: Option<String>,
}

impl Raw {
    /// A raw caller of `base` sending `Authorization: Bearer <token>`.
    pub fn new(base: &str, token: &str) -> Result<Self> {
        Ok(Self {
            http: http_client()?,
            base: base.trim_end_matches('/').to_owned(),
            authorization: Some(format!("Bearer {token}")),
        })
    }

    /// A raw caller of `base` that sends no `Authorization` of its own.
    pub fn without_auth(base: &str) -> Result<Self> {
        Ok(Self {
            http: http_client()?,
            base: base.trim_end_matches('/').to_owned(),
            authorization: None,
        })
    }

    /// Sends `request` and returns the body bytes of a 2xx answer.
    pub async fn bytes(&self, request: &RawRequest) -> Result<Bytes> {
        let mut builder = self
            .http
            .request(
                request.method.clone(),
                format!("{}{}", self.base, request.target),
            )
            .timeout(Duration::from_secs(30))
            .header(header::ACCEPT, "application/json");
        if let Some(authorization) = &self.authorization {
            builder = builder.header(header::AUTHORIZATION, authorization);
        }
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some((body, content_type)) = &request.body {
            builder = builder
                .header(header::CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        let response = builder.send().await?;
        if !response.status().is_success() {
            return Err(format!(
                "raw {} {}: {}",
                request.method,
                request.target,
                response.status()
            )
            .into());
        }
        Ok(response.bytes().await?)
    }

    /// Sends `request` and parses the answer into a `Value` (`Null` for an empty body).
    pub async fn json(&self, request: &RawRequest) -> Result<Value> {
        let bytes = self.bytes(request).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes)?)
    }
}
