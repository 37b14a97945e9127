//! Request tracing: one span per attempt with its fields, never headers or bodies.
//!
//! The TRACE logs are this test's thread's (`common::Captured::this_thread`): other tests
//! may run in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::Captured;
use std::sync::Arc;

use pats_core::credentials::StaticToken;
use pats_core::reexports::secrecy::SecretString;
use pats_core::{ClientOptions, Request, Transport};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn each_request_is_traced_without_headers_or_bodies() {
    let captured = Captured::this_thread();

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"secret": "body-SECRET-1"})),
        )
        .mount(&server)
        .await;
    let t = Transport::new("test", &server.uri(), ClientOptions::default())
        .unwrap()
        .with_auth(Arc::new(StaticToken::new(SecretString::from(
            "bearer-SECRET-3",
        ))));
    t.send(
        Request::post("/pats/{id}")
            .segments(["pats", "to-1"])
            .json(&serde_json::json!({"secret": "req-SECRET-2"}))
            .unwrap(),
    )
    .await
    .unwrap();
    let log = captured.text();
    assert!(log.contains("pats.request"), "{log}");
    assert!(log.contains("path=\"/pats/{id}\""), "{log}");
    assert!(log.contains("status=201"), "{log}");
    assert!(log.contains("attempt=1"), "{log}");
    assert!(!log.contains("SECRET"), "{log}");
}
