//! The V1 bulk update of SailPoint PATs (`PATCH|POST /personal-access-tokens/v1/bulk-update`)
//! over HTTP, as SailPoint's description of `updateBulkPersonalAccessTokensV1` has it: at most
//! 25 ids, only `/expirationDate` and `/userAwareTokenNeverExpires`, unknown ids a 400 (the
//! description lists no 404), and API OAuth client credentials refused (403) while a token a
//! PAT logged in with is a user's and may call it. With the `contract` feature every exchange
//! here is also checked against `contracts/sailpoint/openapi.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_sim::sailpoint::SailPointSim;
use serde_json::{Value, json};

const FUTURE: &str = "2099-01-02T03:04:05.678Z";

async fn login(sim: &SailPointSim, client_id: &str, client_secret: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A token of the API client the simulator registers (client credentials: no user).
async fn api_client_token(sim: &SailPointSim) -> String {
    login(sim, SailPointSim::CLIENT_ID, SailPointSim::CLIENT_SECRET).await
}

/// Creates V1 PATs named `names` (as the API client) and answers their create answers.
async fn create(sim: &SailPointSim, names: &[&str]) -> Vec<Value> {
    let token = api_client_token(sim).await;
    let mut out = Vec::new();
    for name in names {
        let response = reqwest::Client::new()
            .post(format!("{}/personal-access-tokens/v1", sim.uri()))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(json!({ "name": name, "expirationDate": "2098-01-01T00:00:00.000Z" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        out.push(serde_json::from_slice(&response.bytes().await.unwrap()).unwrap());
    }
    out
}

/// A user token: the first PAT's client id and secret at `/oauth/token`.
async fn user_token(sim: &SailPointSim, pat: &Value) -> String {
    login(
        sim,
        pat["id"].as_str().unwrap(),
        pat["secret"].as_str().unwrap(),
    )
    .await
}

async fn bulk(sim: &SailPointSim, method: &str, token: &str, body: &Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = reqwest::Client::new()
        .request(
            method,
            format!("{}/personal-access-tokens/v1/bulk-update", sim.uri()),
        )
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn ids(pats: &[Value]) -> Vec<String> {
    pats.iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

/// An ErrorResponseDto whose message says `needle`.
fn assert_dto(body: &Value, detail: &str, needle: &str) {
    assert_eq!(body["detailCode"], detail, "{body}");
    assert!(body["trackingId"].is_string(), "{body}");
    let text = body["messages"][0]["text"].as_str().unwrap();
    assert!(text.contains(needle), "{text}");
}

#[tokio::test]
async fn sets_and_clears_the_expiration_of_many_tokens_by_patch_or_post() {
    let sim = SailPointSim::start().await;
    let pats = create(&sim, &["a", "b", "c"]).await;
    let user = user_token(&sim, &pats[0]).await;
    let all = ids(&pats);

    let body = json!({
        "ids": all,
        "patch": [{ "op": "replace", "path": "/expirationDate", "value": "2099-01-02T04:04:05.678+01:00" }],
    });
    let (status, answer) = bulk(&sim, "PATCH", &user, &body).await;
    assert_eq!(status, 200, "{answer}");
    let answered = answer.as_array().unwrap();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(ids(answered), sorted, "sorted by id");
    for token in answered {
        assert_eq!(token["expirationDate"], FUTURE, "UTC, three digits");
        assert!(token.get("userAwareTokenNeverExpires").is_none(), "{token}");
        assert!(token.get("secret").is_none());
    }
    for id in &all {
        assert_eq!(sim.stored_token(id).unwrap()["expirationDate"], FUTURE);
    }

    // POST behaves identically: clearing needs the acknowledgement in the same patch.
    let clear =
        json!({ "ids": [all[1]], "patch": [{ "op": "remove", "path": "/expirationDate" }] });
    let (status, answer) = bulk(&sim, "POST", &user, &clear).await;
    assert_eq!(status, 400);
    assert_dto(
        &answer,
        "400.1 Bad Request Content",
        "userAwareTokenNeverExpires",
    );
    assert_eq!(sim.stored_token(&all[1]).unwrap()["expirationDate"], FUTURE);
    let clear = json!({
        "ids": [all[1]],
        "patch": [
            { "op": "remove", "path": "/expirationDate" },
            { "op": "replace", "path": "/userAwareTokenNeverExpires", "value": true },
        ],
    });
    let (status, answer) = bulk(&sim, "POST", &user, &clear).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer[0]["expirationDate"], Value::Null);
    let stored = sim.stored_token(&all[1]).unwrap();
    assert_eq!(stored["expirationDate"], Value::Null);
    assert_eq!(stored["userAwareTokenNeverExpires"], true);

    // Replacing it with null clears it too (the description allows it; the value schema has
    // no null: a recorded deviation).
    let clear = json!({
        "ids": [all[2]],
        "patch": [
            { "op": "replace", "path": "/expirationDate", "value": null },
            { "op": "replace", "path": "/userAwareTokenNeverExpires", "value": true },
        ],
    });
    let (status, answer) = bulk(&sim, "PATCH", &user, &clear).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        sim.stored_token(&all[2]).unwrap()["expirationDate"],
        Value::Null
    );

    // A past date is refused for every token, and nothing changes.
    let past = json!({
        "ids": all,
        "patch": [{ "op": "replace", "path": "/expirationDate", "value": "2001-01-01T00:00:00.000Z" }],
    });
    let (status, answer) = bulk(&sim, "PATCH", &user, &past).await;
    assert_eq!(status, 400);
    assert_dto(&answer, "400.1 Bad Request Content", "future");
    assert_eq!(sim.stored_token(&all[0]).unwrap()["expirationDate"], FUTURE);
}

#[tokio::test]
async fn one_to_twenty_five_distinct_non_blank_ids() {
    let sim = SailPointSim::start().await;
    let names: Vec<String> = (0..26).map(|i| format!("t{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let pats = create(&sim, &names).await;
    let user = user_token(&sim, &pats[0]).await;
    let all = ids(&pats);
    let patch = json!([{ "op": "replace", "path": "/expirationDate", "value": FUTURE }]);

    let (status, answer) = bulk(&sim, "PATCH", &user, &json!({ "ids": all, "patch": patch })).await;
    assert_eq!(status, 400);
    assert_dto(&answer, "400.1 Bad Request Content", "between 1 and 25");
    assert_ne!(sim.stored_token(&all[0]).unwrap()["expirationDate"], FUTURE);

    let (status, answer) = bulk(
        &sim,
        "PATCH",
        &user,
        &json!({ "ids": all[..25], "patch": patch }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer.as_array().unwrap().len(), 25);

    for (ids, needle) in [
        (json!([]), "between 1 and 25"),
        (json!([all[0], all[0]]), "repeat"),
        (json!([" "]), "non-blank"),
        (json!("one"), "ids is required"),
    ] {
        let (status, answer) =
            bulk(&sim, "PATCH", &user, &json!({ "ids": ids, "patch": patch })).await;
        assert_eq!(status, 400, "{ids}");
        assert_dto(&answer, "400.1 Bad Request Content", needle);
    }
    let (status, answer) = bulk(
        &sim,
        "PATCH",
        &user,
        &json!({ "ids": [all[0]], "patch": [] }),
    )
    .await;
    assert_eq!(status, 400);
    assert_dto(
        &answer,
        "400.1 Bad Request Content",
        "at least one operation",
    );
}

#[tokio::test]
async fn only_the_expiration_paths_may_be_patched() {
    let sim = SailPointSim::start().await;
    let pats = create(&sim, &["keep"]).await;
    let user = user_token(&sim, &pats[0]).await;
    let id = pats[0]["id"].as_str().unwrap();
    for op in [
        json!({ "op": "replace", "path": "/name", "value": "renamed" }),
        json!({ "op": "replace", "path": "/scope", "value": ["sp:scopes:all"] }),
        json!({ "op": "copy", "from": "/name", "path": "/expirationDate" }),
    ] {
        let body = json!({ "ids": [id], "patch": [
            { "op": "replace", "path": "/expirationDate", "value": FUTURE },
            op,
        ] });
        let (status, answer) = bulk(&sim, "PATCH", &user, &body).await;
        assert_eq!(status, 400, "{op}");
        assert_dto(
            &answer,
            "400.1 Bad Request Content",
            "cannot be patched in bulk",
        );
    }
    let stored = sim.stored_token(id).unwrap();
    assert_eq!(stored["name"], "keep");
    assert_ne!(stored["expirationDate"], FUTURE);

    // The single-token patch's content type is not this operation's.
    let response = reqwest::Client::new()
        .patch(format!(
            "{}/personal-access-tokens/v1/bulk-update",
            sim.uri()
        ))
        .bearer_auth(&user)
        .header("content-type", "application/json-patch+json")
        .body(json!({ "ids": [id], "patch": [] }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
}

#[tokio::test]
async fn unknown_ids_are_a_400_and_change_nothing() {
    let sim = SailPointSim::start().await;
    let pats = create(&sim, &["known"]).await;
    let user = user_token(&sim, &pats[0]).await;
    let id = pats[0]["id"].as_str().unwrap();
    let body = json!({
        "ids": [id, "00000000000000000000000000000000"],
        "patch": [{ "op": "replace", "path": "/expirationDate", "value": FUTURE }],
    });
    let (status, answer) = bulk(&sim, "PATCH", &user, &body).await;
    assert_eq!(status, 400);
    assert_dto(
        &answer,
        "400.1 Bad Request Content",
        "00000000000000000000000000000000",
    );
    assert_ne!(sim.stored_token(id).unwrap()["expirationDate"], FUTURE);
}

#[tokio::test]
async fn api_client_credentials_are_refused_and_a_pat_login_is_not() {
    let sim = SailPointSim::start().await;
    let pats = create(&sim, &["admin-pat"]).await;
    let body = json!({
        "ids": ids(&pats),
        "patch": [{ "op": "replace", "path": "/expirationDate", "value": FUTURE }],
    });
    let client = api_client_token(&sim).await;
    for method in ["PATCH", "POST"] {
        let (status, answer) = bulk(&sim, method, &client, &body).await;
        assert_eq!(status, 403, "{method}");
        assert_dto(&answer, "403 Forbidden", "client credentials");
    }
    assert_ne!(
        sim.stored_token(pats[0]["id"].as_str().unwrap()).unwrap()["expirationDate"],
        FUTURE
    );
    // The same identity logged in with a PAT is a user: allowed.
    let user = user_token(&sim, &pats[0]).await;
    let (status, answer) = bulk(&sim, "PATCH", &user, &body).await;
    assert_eq!(status, 200, "{answer}");
    // A static bearer for an identity (as a user's browser session has) too.
    let session = sim.issue_access_token(SailPointSim::IDENTITY_ID);
    let (status, _) = bulk(&sim, "POST", &session, &body).await;
    assert_eq!(status, 200);
    // No token: 401 in the description's shape.
    let (status, answer) = bulk(&sim, "PATCH", "nope", &body).await;
    assert_eq!(status, 401);
    assert!(answer["error"].is_string());
    // Other methods are not this path's.
    let response = reqwest::Client::new()
        .get(format!(
            "{}/personal-access-tokens/v1/bulk-update",
            sim.uri()
        ))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
}
