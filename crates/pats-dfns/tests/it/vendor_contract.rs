//! Where the simulator and the client disagreed with the Dfns descriptions (issue 15),
//! each pinned to the fact of `contracts/dfns/upstream/dfns-pats.openapi.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pats_core::{ErrorKind, Request, TokenId};
use pats_dfns::NewPat;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

/// The header and payload of a JWT, base64url-decoded as the official TypeScript SDK does.
fn jwt_parts(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "header.payload.signature");
    let decode = |p: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON")
    };
    assert!(!parts[2].is_empty());
    (decode(parts[0]), decode(parts[1]))
}

#[tokio::test]
async fn simulator_tokens_carry_the_claims_real_dfns_tokens_carry() {
    let env = env().await;
    let created = env
        .client
        .create_pat(&NewPat::new("ci").seconds_valid(3600))
        .await
        .unwrap();
    let org = env.sim.org_id();
    for (token, kind) in [
        (created.secret.expose_secret().to_owned(), "Pat"),
        (env.user.auth_token.clone(), "Token"),
    ] {
        let (header, claims) = jwt_parts(&token);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(
            claims["https://custom/app_metadata"],
            json!({ "orgId": org, "userId": env.user.user_id, "tokenKind": kind }),
        );
        assert_eq!(claims["iss"], "auth.dfns.io");
        assert_eq!(claims["aud"], "dfns:auth:user");
        assert_eq!(claims["sub"], org.as_str());
        let iat = claims["iat"].as_i64().unwrap();
        let exp = claims["exp"].as_i64().unwrap();
        assert!(exp > iat, "{claims}");
        if kind == "Pat" {
            assert_eq!(exp - iat, 3600, "secondsValid is the token's lifetime");
        }
    }
    assert_eq!(created.pat.org_id.as_deref(), Some(org.as_str()));
}

async fn init_raw(env: &Env, body: Value) -> pats_core::Result<Value> {
    let request = common::off_contract(
        Request::post("/auth/action/init").segments(["auth", "action", "init"]),
    )
    .json(&body)
    .unwrap();
    env.client.send(request).await?.json()
}

#[tokio::test]
async fn init_answers_the_user_action_challenge_shape() {
    let env = env().await;
    let answer = init_raw(
        &env,
        json!({ "userActionPayload": "", "userActionHttpMethod": "PUT",
                "userActionHttpPath": "/auth/pats/to-1/activate", "userActionServerKind": "Api" }),
    )
    .await
    .unwrap();
    assert_eq!(
        answer["supportedCredentialKinds"],
        json!([
            { "kind": "Key", "factor": "first", "requiresSecondFactor": false },
            { "kind": "Fido2", "factor": "first", "requiresSecondFactor": false },
        ])
    );
    assert_eq!(
        answer["rp"],
        json!({ "id": "localhost", "name": "pats-sim" })
    );
    assert_eq!(
        answer["allowCredentials"]["passwordProtectedKey"],
        json!([])
    );
    assert_eq!(answer["allowCredentials"]["webauthn"], json!([]));
    assert!(answer["externalAuthenticationUrl"].is_string());
}

#[tokio::test]
async fn user_action_server_kind_is_optional_and_api_or_staff() {
    let env = env().await;
    let base = json!({ "userActionPayload": "", "userActionHttpMethod": "DELETE",
                       "userActionHttpPath": "/auth/pats/to-1" });
    init_raw(&env, base.clone())
        .await
        .expect("without userActionServerKind");
    for kind in ["Api", "Staff"] {
        let mut body = base.clone();
        body["userActionServerKind"] = json!(kind);
        init_raw(&env, body).await.expect(kind);
    }
    let mut body = base;
    body["userActionServerKind"] = json!("Other");
    match init_raw(&env, body).await {
        Err(e) if e.kind() == ErrorKind::Api => {
            let e = e.api_error().unwrap();
            assert_eq!(e.status, 400);
        }
        other => panic!("expected 400, got {other:?}"),
    }
    // The client names the server kind it signs for, as both SDKs do.
    env.client.create_pat(&NewPat::new("a")).await.unwrap();
    let requests = env.sim.received_requests().await;
    let init = requests
        .iter()
        .rev()
        .find(|r| r.url.path() == "/auth/action/init")
        .unwrap();
    assert_eq!(body_json(init)["userActionServerKind"], "Api");
}

#[tokio::test]
async fn bodiless_puts_say_content_length_zero_and_deletes_send_no_length() {
    let env = env().await;
    let created = env.client.create_pat(&NewPat::new("a")).await.unwrap();
    let id = TokenId::new(created.pat.token_id).unwrap();
    env.client.deactivate_pat(&id).await.unwrap();
    env.client.activate_pat(&id).await.unwrap();
    env.client.delete_pat(&id).await.unwrap();
    let requests = env.sim.received_requests().await;
    let calls: Vec<&pats_sim::Request> = requests
        .iter()
        .filter(|r| r.url.path().starts_with(&format!("/auth/pats/{id}")))
        .collect();
    assert_eq!(calls.len(), 3);
    for put in &calls[..2] {
        assert_eq!(put.method.as_str(), "PUT");
        assert_eq!(header(put, "content-length"), Some("0"));
        assert!(header(put, "content-type").is_none());
        assert!(header(put, "transfer-encoding").is_none());
        assert!(put.body.is_empty());
    }
    assert_eq!(calls[2].method.as_str(), "DELETE");
    assert!(header(calls[2], "content-length").is_none());
    assert!(calls[2].body.is_empty());
}

#[tokio::test]
async fn the_simulator_answers_411_to_a_put_or_post_without_a_length() {
    let env = env().await;
    let http = pats_core::reexports::reqwest::Client::new();
    let bearer = format!("Bearer {}", env.user.auth_token);
    for (method, path) in [("PUT", "/auth/pats/to-1/activate"), ("POST", "/auth/pats")] {
        let method = pats_core::reexports::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let url = format!("{}{path}", env.sim.uri());
        // reqwest sends no Content-Length for a request without a body.
        let bare = http
            .request(method.clone(), &url)
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status().as_u16(), 411, "{method} {path}");
        let body: Value = serde_json::from_slice(&bare.bytes().await.unwrap()).unwrap();
        assert_eq!(body["error"]["status"], 411);
        // With a length the request gets through to the user action check.
        let with_length = http
            .request(method.clone(), &url)
            .header("authorization", &bearer)
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(with_length.status().as_u16(), 401, "{method} {path}");
    }
    // A DELETE needs no length.
    let delete = http
        .delete(format!("{}/auth/pats/to-1", env.sim.uri()))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status().as_u16(), 401);
}

#[tokio::test]
async fn answers_carry_no_field_the_description_lacks() {
    let env = env().await;
    let created = env
        .client
        .create_pat(&NewPat::new("a").external_id("ext-1"))
        .await
        .unwrap();
    let get = Request::get("/auth/pats/{tokenId}").segments([
        "auth",
        "pats",
        created.pat.token_id.as_str(),
    ]);
    let answer: Value = env.client.send(get).await.unwrap().json().unwrap();
    let mut keys: Vec<&str> = answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "credId",
            "dateCreated",
            "isActive",
            "kind",
            "linkedAppId",
            "linkedUserId",
            "name",
            "orgId",
            "permissionAssignments",
            "publicKey",
            "tokenId",
        ]
    );
}
