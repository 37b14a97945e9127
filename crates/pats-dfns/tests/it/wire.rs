//! What Dfns receives for each endpoint: method, path, headers and body, and the three
//! requests of User Action Signing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use pats_core::TokenId;
use pats_dfns::{NewPat, PatUpdate};
use serde_json::{Value, json};

/// Checks the init → action → call triple ending at `index` and returns the call.
fn check_signed_triple(
    requests: &[pats_sim::Request],
    index: usize,
    user: &pats_sim::dfns::RegisteredUser,
    method: &str,
    path: &str,
) -> pats_sim::Request {
    let (init, action, call) = (&requests[index - 2], &requests[index - 1], &requests[index]);
    let bearer = format!("Bearer {}", user.auth_token);
    for r in [init, action, call] {
        assert_eq!(header(r, "authorization"), Some(bearer.as_str()));
    }

    assert_eq!(init.method.as_str(), "POST");
    assert_eq!(init.url.path(), "/auth/action/init");
    assert_eq!(header(init, "content-type"), Some("application/json"));
    assert!(header(init, "x-dfns-useraction").is_none());
    let init_body = body_json(init);
    let payload = std::str::from_utf8(&call.body).unwrap();
    assert_eq!(
        init_body,
        json!({
            "userActionPayload": payload,
            "userActionHttpMethod": method,
            "userActionHttpPath": path,
            "userActionServerKind": "Api",
        })
    );
    // The signed payload and the bytes sent are identical.
    assert_eq!(
        init_body["userActionPayload"].as_str().unwrap().as_bytes(),
        call.body.as_slice()
    );

    assert_eq!(action.method.as_str(), "POST");
    assert_eq!(action.url.path(), "/auth/action");
    let action_body = body_json(action);
    let keys: Vec<&String> = action_body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["challengeIdentifier", "firstFactor"]);
    assert_eq!(action_body["firstFactor"]["kind"], "Key");
    let assertion = &action_body["firstFactor"]["credentialAssertion"];
    assert_eq!(assertion["credId"], user.credential_id.as_str());
    let client_data_b64 = assertion["clientData"].as_str().unwrap();
    let signature_b64 = assertion["signature"].as_str().unwrap();
    for text in [client_data_b64, signature_b64] {
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not base64url without padding: {text}"
        );
    }
    let client_data = URL_SAFE_NO_PAD.decode(client_data_b64).unwrap();
    let parsed: Value = serde_json::from_slice(&client_data).unwrap();
    assert_eq!(parsed["type"], "key.get");
    assert!(parsed["challenge"].as_str().is_some_and(|c| c.len() >= 32));
    // Independent verification with p256 and the user's public key.
    let key = VerifyingKey::from_public_key_pem(&user.public_key_pem).unwrap();
    let der = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();
    let signature = Signature::from_der(&der).expect("a DER ECDSA signature");
    key.verify(&client_data, &signature)
        .expect("the signature verifies over the clientData bytes");
    let mut tampered = client_data.clone();
    tampered[0] ^= 1;
    assert!(key.verify(&tampered, &signature).is_err());

    assert_eq!(call.method.as_str(), method);
    assert_eq!(call.url.path(), path);
    assert!(call.url.query().is_none());
    let ua = header(call, "x-dfns-useraction").expect("X-DFNS-USERACTION");
    assert!(!ua.is_empty());
    call.clone()
}

#[tokio::test]
async fn every_endpoint_sends_the_documented_request() {
    let Env {
        sim, user, client, ..
    } = env().await;

    // create
    let created = client
        .create_pat(
            &NewPat::new("ci-deploy")
                .seconds_valid(3600)
                .external_id("ext-1")
                .permission_id("pm-1"),
        )
        .await
        .unwrap();
    let id = TokenId::new(created.pat.token_id.clone()).unwrap();
    let requests = sim.received_requests().await;
    assert_eq!(requests.len(), 3);
    let call = check_signed_triple(&requests, 2, &user, "POST", "/auth/pats");
    assert_eq!(header(&call, "content-type"), Some("application/json"));
    let body = body_json(&call);
    let public_key = body["publicKey"].as_str().unwrap().to_owned();
    assert!(public_key.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(
        body,
        json!({
            "name": "ci-deploy",
            "publicKey": public_key,
            "permissionId": "pm-1",
            "externalId": "ext-1",
            "secondsValid": 3600,
        })
    );
    assert_eq!(created.pat.public_key.as_deref(), Some(public_key.as_str()));

    // list and get: unsigned, no body
    client.list_pats().await.unwrap();
    client.get_pat(&id).await.unwrap();
    let requests = sim.received_requests().await;
    let bearer = format!("Bearer {}", user.auth_token);
    for (r, path) in requests[3..5]
        .iter()
        .zip(["/auth/pats".to_owned(), format!("/auth/pats/{id}")])
    {
        assert_eq!(r.method.as_str(), "GET");
        assert_eq!(r.url.path(), path);
        assert!(r.url.query().is_none());
        assert_eq!(header(r, "authorization"), Some(bearer.as_str()));
        assert_eq!(header(r, "accept"), Some("application/json"));
        assert!(header(r, "x-dfns-useraction").is_none());
        assert!(r.body.is_empty());
    }

    // update: PUT with {name, externalId}
    client
        .update_pat(&id, &PatUpdate::new().name("renamed").external_id("ext-2"))
        .await
        .unwrap();
    let requests = sim.received_requests().await;
    let call = check_signed_triple(&requests, 7, &user, "PUT", &format!("/auth/pats/{id}"));
    assert_eq!(
        body_json(&call),
        json!({ "name": "renamed", "externalId": "ext-2" })
    );

    // deactivate, activate, delete: no body, signed payload ""
    client.deactivate_pat(&id).await.unwrap();
    client.activate_pat(&id).await.unwrap();
    client.delete_pat(&id).await.unwrap();
    let requests = sim.received_requests().await;
    assert_eq!(requests.len(), 17);
    for (index, method, path) in [
        (10, "PUT", format!("/auth/pats/{id}/deactivate")),
        (13, "PUT", format!("/auth/pats/{id}/activate")),
        (16, "DELETE", format!("/auth/pats/{id}")),
    ] {
        let call = check_signed_triple(&requests, index, &user, method, &path);
        assert!(call.body.is_empty(), "{path}");
        assert!(header(&call, "content-type").is_none());
        assert_eq!(body_json(&requests[index - 2])["userActionPayload"], "");
    }
}

#[tokio::test]
async fn each_attempt_gets_a_fresh_user_action() {
    let Env { sim, client, .. } = env().await;
    let created = client.create_pat(&NewPat::new("a")).await.unwrap();
    let id = TokenId::new(created.pat.token_id).unwrap();
    sim.faults().inject(
        pats_sim::FaultRule::new(pats_sim::Fault::status(503))
            .method("PUT")
            .path_contains("/deactivate")
            .times(1),
    );
    let pat = client.deactivate_pat(&id).await.unwrap();
    assert!(!pat.is_active);
    let path = format!("/auth/pats/{id}/deactivate");
    let requests = sim.received_requests().await;
    let puts: Vec<&pats_sim::Request> = requests.iter().filter(|r| r.url.path() == path).collect();
    assert_eq!(puts.len(), 2);
    let first = header(puts[0], "x-dfns-useraction").unwrap();
    let second = header(puts[1], "x-dfns-useraction").unwrap();
    assert_ne!(first, second, "a user action token is single-use");
    assert_eq!(sim.request_count("POST", "/auth/action/init").await, 3);
    assert_eq!(sim.request_count("POST", "/auth/action").await, 3);
}
