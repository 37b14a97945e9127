//! A 202 policy-pending answer keeps its details, scrubbed: no secret it quotes shows in
//! `Debug`, `Display` or TRACE logs.
//!
//! The TRACE logs are this test's thread's (`Captured::this_thread`): other tests may run
//! in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use pats_core::{ErrorKind, TokenId};
use pats_dfns::NewPat;
use pats_sim::{Fault, FaultRule};
use serde_json::json;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

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

thread_local! {
    /// Where the events of this thread go: nowhere unless a test of this thread asked.
    static THIS_THREAD: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// The writer of the global subscriber: the capture of the thread the event is on, if any.
struct ToThisThread;

impl std::io::Write for ToThisThread {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        THIS_THREAD.with_borrow_mut(|captured| match captured {
            Some(captured) => std::io::Write::write(captured, buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures what this thread logs from now on, at TRACE level: one global subscriber
    /// (installed by the first caller) writes each event to the capture of the thread it is
    /// emitted on, so tests running beside this one in the process are not read. The test
    /// runs on one thread (`#[tokio::test]`'s current-thread runtime). A thread-local
    /// subscriber would not do: it misses events whose callsites other test threads
    /// registered first.
    fn this_thread() -> Self {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| ToThisThread)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        let captured = Self::default();
        THIS_THREAD.set(Some(captured.clone()));
        captured
    }
}

#[tokio::test]
async fn pending_approval_details_are_scrubbed() {
    let captured = Captured::this_thread();

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

    assert_eq!(err.kind(), ErrorKind::PendingApproval, "{err:?}");
    let approval_id = err.approval_id();
    let details = err.details().unwrap();
    // What is safe stays usable.
    assert_eq!(approval_id, Some("ap-7"));
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
