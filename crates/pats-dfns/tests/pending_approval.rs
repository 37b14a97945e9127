//! A 202 policy-pending answer keeps its details, scrubbed: no secret it quotes shows in
//! `Debug`, `Display` or TRACE logs.
//!
//! In its own test binary because it installs a global subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pats_core::{Error, TokenId};
use pats_dfns::NewPat;
use pats_sim::{Fault, FaultRule};
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn pending_approval_details_are_scrubbed() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let Env {
        sim, user, client, ..
    } = env().await;
    let created = client.create_pat(&NewPat::new("a")).await.unwrap();
    let id = TokenId::new(created.pat.token_id).unwrap();
    let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJqd3QtU0VDUkVULTMifQ.c2lnLVNFQ1JFVC0z";
    let pem = "-----BEGIN PRIVATE KEY-----\nMIGHpem-SECRET-4\n-----END PRIVATE KEY-----";
    let echoed_json = r#"{"accessToken":"nested-SECRET-5","name":"x"}"#;
    // An approval that quotes the request it holds back, secrets included.
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 202,
            body: json!({
                "id": "ap-7",
                "status": "Pending",
                "activity": {
                    "kind": "Pats:Update",
                    "requestBody": {
                        "userAction": "ua-SECRET-1",
                        "accessToken": "tok-SECRET-2",
                        "assertion": jwt,
                        "privateKey": pem,
                    },
                    "headers": [format!("Authorization: Bearer {}", user.auth_token)],
                    "echo": echoed_json,
                    "note": format!("called with {}", user.auth_token),
                },
                "decisions": [],
            }),
        })
        .method("PUT")
        .path_contains("/deactivate")
        .times(1),
    );
    let err = client.deactivate_pat(&id).await.unwrap_err();
    tracing::trace!(error = %err, debug = ?err, "pending approval");

    let Error::PendingApproval {
        approval_id,
        details,
        ..
    } = &err
    else {
        panic!("expected PendingApproval, got {err:?}");
    };
    // What is safe stays usable.
    assert_eq!(approval_id.as_deref(), Some("ap-7"));
    assert_eq!(details["status"], "Pending");
    assert_eq!(details["activity"]["kind"], "Pats:Update");
    assert_eq!(
        details["activity"]["requestBody"]["userAction"],
        "[REDACTED]"
    );

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("pending approval"), "{log}");
    let secrets = [
        "SECRET",
        user.auth_token.as_str(),
        jwt,
        "MIGHpem",
        "eyJzdWIiOiJqd3Qt",
    ];
    for text in [
        err.to_string(),
        format!("{err:?}"),
        details.to_string(),
        log,
    ] {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}
