//! The simulator's User Action Signing checks, driven with hand-made requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use pats_core::{ErrorKind, Request};
use pats_sim::dfns::RegisteredUser;
use serde_json::{Value, json};

async fn init(env: &Env, payload: &str) -> Value {
    let body = json!({
        "userActionPayload": payload,
        "userActionHttpMethod": "POST",
        "userActionHttpPath": "/auth/pats",
        "userActionServerKind": "Api",
    });
    let request = Request::post("/auth/action/init")
        .segments(["auth", "action", "init"])
        .json(&body)
        .unwrap();
    env.client.send(request).await.unwrap().json().unwrap()
}

fn sign(user: &RegisteredUser, client_data: &[u8]) -> Vec<u8> {
    let key = SigningKey::from_pkcs8_pem(&user.private_key_pem).unwrap();
    let signature: Signature = key.sign(client_data);
    signature.to_der().as_bytes().to_vec()
}

fn action_body(identifier: &str, cred: &str, client_data: &str, signature: &str) -> Value {
    json!({
        "challengeIdentifier": identifier,
        "firstFactor": {
            "kind": "Key",
            "credentialAssertion": { "credId": cred, "clientData": client_data, "signature": signature }
        }
    })
}

async fn action(env: &Env, body: &Value) -> pats_core::Result<Value> {
    let request = Request::post("/auth/action")
        .segments(["auth", "action"])
        .json(body)
        .unwrap();
    env.client.send(request).await?.json()
}

/// A correct action body for the challenge `c`, with `client_data` overridable.
fn good(env: &Env, c: &Value, client_data: &[u8]) -> Value {
    action_body(
        c["challengeIdentifier"].as_str().unwrap(),
        &env.user.credential_id,
        &URL_SAFE_NO_PAD.encode(client_data),
        &URL_SAFE_NO_PAD.encode(sign(&env.user, client_data)),
    )
}

fn client_data(kind: &str, challenge: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "type": kind, "challenge": challenge })).unwrap()
}

fn assert_unauthenticated(result: pats_core::Result<Value>, needle: &str) {
    match result {
        Err(e) if e.kind() == ErrorKind::Unauthenticated => {
            let e = e.api_error().unwrap();
            assert!(e.message.contains(needle), "{e}");
        }
        other => panic!("expected Unauthenticated ({needle}), got {other:?}"),
    }
}

#[tokio::test]
async fn init_issues_fresh_challenges_for_the_users_credentials() {
    let env = env().await;
    let a = init(&env, "{}").await;
    let b = init(&env, "{}").await;
    assert_ne!(a["challenge"], b["challenge"]);
    assert_ne!(a["challengeIdentifier"], b["challengeIdentifier"]);
    assert_eq!(
        a["allowCredentials"]["key"],
        json!([{ "type": "public-key", "id": env.user.credential_id }])
    );
    let bad = Request::post("/auth/action/init")
        .segments(["auth", "action", "init"])
        .json(
            &json!({ "userActionPayload": "", "userActionHttpMethod": "POST",
            "userActionHttpPath": "/auth/pats", "userActionServerKind": "Api", "x": 1 }),
        )
        .unwrap();
    assert!(matches!(
        env.client.send(bad).await,
        Err(ref e) if e.kind() == ErrorKind::Api && e.status() == Some(400)
    ));
}

#[tokio::test]
async fn a_valid_assertion_gets_a_user_action_once() {
    let env = env().await;
    let c = init(&env, "{}").await;
    // The Python SDK's longer client data is accepted too.
    let data = serde_json::to_vec(&json!({
        "type": "key.get",
        "challenge": c["challenge"],
        "origin": "https://app.dfns.io",
        "crossOrigin": false,
    }))
    .unwrap();
    let body = good(&env, &c, &data);
    let answer = action(&env, &body).await.unwrap();
    assert!(answer["userAction"].as_str().is_some_and(|t| !t.is_empty()));
    assert_unauthenticated(action(&env, &body).await, "already used");
}

#[tokio::test]
async fn the_simulator_rejects_every_bad_assertion() {
    let env = env().await;

    let c = init(&env, "").await;
    let data = client_data("webauthn.get", c["challenge"].as_str().unwrap());
    assert_unauthenticated(action(&env, &good(&env, &c, &data)).await, "key.get");

    let c = init(&env, "").await;
    let data = client_data("key.get", "not-the-challenge");
    assert_unauthenticated(action(&env, &good(&env, &c, &data)).await, "challenge");

    let c = init(&env, "").await;
    let data = client_data("key.get", c["challenge"].as_str().unwrap());
    let mut body = good(&env, &c, &data);
    body["firstFactor"]["credentialAssertion"]["signature"] =
        Value::String(URL_SAFE_NO_PAD.encode(sign(&env.user, b"other bytes")));
    assert_unauthenticated(action(&env, &body).await, "invalid signature");

    let c = init(&env, "").await;
    let data = client_data("key.get", c["challenge"].as_str().unwrap());
    let mut body = good(&env, &c, &data);
    body["firstFactor"]["credentialAssertion"]["clientData"] =
        Value::String(URL_SAFE.encode(&data) + "=");
    assert_unauthenticated(action(&env, &body).await, "base64url");

    let c = init(&env, "").await;
    let data = client_data("key.get", c["challenge"].as_str().unwrap());
    let mut body = good(&env, &c, &data);
    body["firstFactor"]["credentialAssertion"]["credId"] = Value::String("cr-unknown".into());
    assert_unauthenticated(action(&env, &body).await, "credential");

    assert_unauthenticated(
        action(&env, &action_body("x.y.z", "cr", "e30", "AA")).await,
        "unknown challenge",
    );

    // Another user's challenge.
    let other = env.sim.register_user();
    let other_client = client(&env.sim, &other, &env.clock);
    let foreign: Value = other_client
        .send(
            Request::post("/auth/action/init")
                .segments(["auth", "action", "init"])
                .json(
                    &json!({ "userActionPayload": "", "userActionHttpMethod": "POST",
                    "userActionHttpPath": "/auth/pats", "userActionServerKind": "Api" }),
                )
                .unwrap(),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    let data = client_data("key.get", foreign["challenge"].as_str().unwrap());
    assert_unauthenticated(
        action(&env, &good(&env, &foreign, &data)).await,
        "another user",
    );
}

#[tokio::test]
async fn bodiless_changes_also_accept_an_empty_object_signed_as_such() {
    let env = env().await;
    let pat = env
        .client
        .create_pat(&pats_dfns::NewPat::new("a"))
        .await
        .unwrap();
    let id = pat.pat.token_id;
    let deactivate = env
        .client
        .signed(
            Request::put("/auth/pats/{tokenId}/deactivate")
                .segments(["auth", "pats", id.as_str(), "deactivate"])
                .json(&json!({}))
                .unwrap(),
        )
        .unwrap();
    let answer: Value = env.client.send(deactivate).await.unwrap().json().unwrap();
    assert_eq!(answer["isActive"], false);
    let requests = env.sim.received_requests().await;
    let init = &requests[requests.len() - 3];
    assert_eq!(body_json(init)["userActionPayload"], "{}");
    assert_eq!(requests.last().unwrap().body, b"{}");
    // A body with fields is refused.
    let bad = env
        .client
        .signed(
            common::off_contract(Request::put("/auth/pats/{tokenId}/activate").segments([
                "auth",
                "pats",
                id.as_str(),
                "activate",
            ]))
            .json(&json!({ "force": true }))
            .unwrap(),
        )
        .unwrap();
    assert!(matches!(
        env.client.send(bad).await,
        Err(ref e) if e.kind() == ErrorKind::Api && e.status() == Some(400)
    ));
}
