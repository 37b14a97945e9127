//! Malformed, truncated or unexpected answers are `Decode` errors, never panics; unknown
//! fields are ignored and unknown kinds kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use pats_core::{ClientOptions, ErrorKind, RetryPolicy, TokenId};
use pats_dfns::{DfnsClient, NewPat, PatKind};
use pats_sim::{Fault, FaultRule};
use secrecy::SecretString;
use serde_json::json;

fn pat_json(kind: &str) -> serde_json::Value {
    json!({
        "tokenId": "to-1", "name": "n", "isActive": true, "kind": kind,
        "dateCreated": "2026-01-02T03:04:05.678Z", "orgId": "or-1",
        "somethingNew": { "nested": [1, 2] }, "permissionAssignments": []
    })
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_unknown_kinds_kept() {
    let Env { sim, client, .. } = env().await;
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 200,
            body: json!({ "items": [pat_json("Robot"), pat_json("Pat")], "extra": true }),
        })
        .times(1),
    );
    let items = client.list_pats().await.unwrap();
    assert_eq!(items[0].kind, PatKind::Other("Robot".to_owned()));
    assert_eq!(items[1].kind, PatKind::Pat);
    assert_eq!(
        items[0].date_created,
        time::macros::datetime!(2026-01-02 03:04:05.678 UTC)
    );
    // The provider-neutral view the trait makes of the same wire value.
    let info = client.token_info(items[1].clone()).unwrap();
    assert_eq!(info.id.as_str(), items[1].token_id);
    assert_eq!(info.name.as_deref(), Some(items[1].name.as_str()));
    assert_eq!(info.expires, pats_core::Expiration::Unknown);
    assert_eq!(info.details.get::<pats_dfns::Pat>(), Some(&items[1]));
}

#[tokio::test]
async fn malformed_answers_are_decode_errors() {
    let Env { sim, client, .. } = env().await;
    let id = TokenId::new("to-1").unwrap();
    let cases = [
        Fault::InvalidJson,
        Fault::WrongContentType,
        Fault::Status {
            status: 200,
            body: json!({ "items": [{ "name": "no id" }] }),
        },
        Fault::Status {
            status: 200,
            body: json!({ "tokenId": "to-1", "name": "n", "isActive": "yes", "kind": "Pat", "dateCreated": "x" }),
        },
        Fault::Status {
            status: 200,
            body: json!([1, 2]),
        },
    ];
    for fault in cases {
        sim.faults()
            .inject(FaultRule::new(fault.clone()).method("GET").times(2));
        let list = client.list_pats().await;
        let get = client.get_pat(&id).await;
        assert_eq!(list.unwrap_err().kind(), ErrorKind::Decode, "{fault:?}");
        assert_eq!(get.unwrap_err().kind(), ErrorKind::Decode, "{fault:?}");
    }
}

#[tokio::test]
async fn oversized_answers_are_decode_errors() {
    let sim = pats_sim::dfns::DfnsSim::start().await;
    let user = sim.register_user();
    let client = DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(SecretString::from(user.auth_token.clone()))
        .options(
            ClientOptions::default()
                .with_max_response_bytes(1024)
                .with_retry(RetryPolicy::none()),
        )
        .build()
        .unwrap();
    sim.faults()
        .inject(FaultRule::new(Fault::Oversized(10_000)));
    assert_eq!(
        client.list_pats().await.unwrap_err().kind(),
        ErrorKind::Decode
    );
}

#[tokio::test]
async fn a_bad_answer_during_signing_stops_the_change() {
    let Env {
        sim, client, user, ..
    } = env().await;
    let env_credential = |_: &DfnsClient| user.credential_id.clone();
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 200,
            body: json!({ "challenge": 5 }),
        })
        .path_contains("/auth/action/init")
        .times(1),
    );
    let err = client.create_pat(&NewPat::new("a")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    // Both signing steps answer a challenge-shaped body: init passes, the action answer
    // has no `userAction`.
    let credential = env_credential(&client);
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 200,
            body: json!({
                "challenge": "abc", "challengeIdentifier": "x.y.z",
                "allowCredentials": { "key": [{ "type": "public-key", "id": credential }] }
            }),
        })
        .method("POST")
        .path_contains("/auth/action")
        .times(2),
    );
    let err = client.create_pat(&NewPat::new("a")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    assert_eq!(sim.request_count("POST", "/auth/action").await, 1);
    assert_eq!(sim.request_count("POST", "/auth/pats").await, 0);
}

#[tokio::test]
async fn a_create_answer_without_access_token_is_a_decode_error() {
    let Env { sim, client, .. } = env().await;
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 200,
            body: pat_json("Pat"),
        })
        .method("POST")
        .path_contains("/auth/pats"),
    );
    let err = client.create_pat(&NewPat::new("a")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
}

#[tokio::test]
async fn html_error_pages_keep_the_status() {
    let Env { sim, client, .. } = env().await;
    sim.faults()
        .inject(FaultRule::new(Fault::Html(502)).times(4));
    let err = client.list_pats().await.unwrap_err();
    assert!(
        (err.kind(), err.status()) == (ErrorKind::Api, Some(502)),
        "{err:?}"
    );
}

/// An id the server sends that fails `TokenId`'s checks is the server's fault: `Decode`,
/// never the caller's `InvalidInput`, on every call that reads one.
#[tokio::test]
async fn an_unusable_token_id_from_the_server_is_a_decode_error() {
    use pats_core::{ListQuery, PersonalAccessTokens};
    let Env { sim, client, .. } = env().await;
    let good = TokenId::new("to-1").unwrap();
    for bad in ["to/1", "", "..", "to 1"] {
        let mut pat = pat_json("Pat");
        pat["tokenId"] = json!(bad);
        sim.faults().inject(
            FaultRule::new(Fault::Status {
                status: 200,
                body: json!({ "items": [pat.clone()] }),
            })
            .times(1),
        );
        let err = client.list(&ListQuery::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "list {bad:?}: {err:?}");
        sim.faults().inject(
            FaultRule::new(Fault::Status {
                status: 200,
                body: pat,
            })
            .times(1),
        );
        let err = client.get(&good).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "get {bad:?}: {err:?}");
        assert!(err.to_string().contains("tokenId"), "{err}");
    }
}
