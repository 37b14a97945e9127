//! The simulator's own rules, checked with hand-made requests (the client never sends these).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{BOT, sim};
use pats_core::reexports::reqwest;
use pats_sim::zitadel::{TEST_KEY_ID, TEST_PRIVATE_KEY_PEM, ZitadelSim};
use serde_json::{Value, json};

fn assertion(kid: &str, claims: &Value) -> String {
    pats_sim::jwt::sign_rs256(TEST_PRIVATE_KEY_PEM, kid, claims).unwrap()
}

async fn exchange(sim: &ZitadelSim, assertion: &str) -> (u16, Value) {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .append_pair("scope", "openid urn:zitadel:iam:org:project:id:zitadel:aud")
        .append_pair("assertion", assertion)
        .finish();
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/v2/token", sim.uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn token_endpoint_checks_signature_and_claims() {
    let sim = sim().await;
    sim.register_test_key(BOT).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = json!({ "iss": BOT, "sub": BOT, "aud": [sim.uri()], "iat": now, "exp": now + 600 });
    let (status, body) = exchange(&sim, &assertion(TEST_KEY_ID, &good)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(sim.token_exchanges(), 1);

    let mut bad_cases = vec![
        ("wrong kid", assertion("999", &good)),
        (
            "wrong audience",
            assertion(
                TEST_KEY_ID,
                &json!({ "iss": BOT, "sub": BOT, "aud": "https://elsewhere", "iat": now, "exp": now + 600 }),
            ),
        ),
        (
            "iss is not the key's user",
            assertion(
                TEST_KEY_ID,
                &json!({ "iss": "x", "sub": BOT, "aud": sim.uri(), "iat": now, "exp": now + 600 }),
            ),
        ),
        (
            "sub is not the key's user",
            assertion(
                TEST_KEY_ID,
                &json!({ "iss": BOT, "sub": "x", "aud": sim.uri(), "iat": now, "exp": now + 600 }),
            ),
        ),
        (
            "expired",
            assertion(
                TEST_KEY_ID,
                &json!({ "iss": BOT, "sub": BOT, "aud": sim.uri(), "iat": now - 900, "exp": now - 300 }),
            ),
        ),
        (
            "longer than an hour",
            assertion(
                TEST_KEY_ID,
                &json!({ "iss": BOT, "sub": BOT, "aud": sim.uri(), "iat": now, "exp": now + 7200 }),
            ),
        ),
        (
            "no iat",
            assertion(
                TEST_KEY_ID,
                &json!({ "iss": BOT, "sub": BOT, "aud": sim.uri(), "exp": now + 600 }),
            ),
        ),
        ("not a JWT", "abc".to_owned()),
    ];
    // A tampered payload: the signature no longer matches.
    let token = assertion(TEST_KEY_ID, &good);
    let parts: Vec<&str> = token.split('.').collect();
    let other = assertion(
        TEST_KEY_ID,
        &json!({ "iss": BOT, "sub": BOT, "aud": sim.uri(), "iat": now, "exp": now + 601 }),
    );
    let other_payload = other.split('.').nth(1).unwrap();
    bad_cases.push((
        "tampered",
        format!("{}.{}.{}", parts[0], other_payload, parts[2]),
    ));
    for (what, jwt) in bad_cases {
        let (status, body) = exchange(&sim, &jwt).await;
        assert_eq!(status, 400, "{what}");
        assert_eq!(body["error"], "invalid_grant", "{what}: {body}");
    }
    assert_eq!(sim.token_exchanges(), 1);
}

async fn call(sim: &ZitadelSim, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sim.uri()))
        .bearer_auth(sim.admin_pat())
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn api_validation_like_the_service() {
    let sim = sim().await;
    let list = "/zitadel.user.v2.UserService/ListPersonalAccessTokens";
    let (status, body) = call(
        &sim,
        list,
        "application/json",
        r#"{"pagination":{"limit":1001}}"#,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    let (status, body) = call(&sim, list, "application/json", "{not json").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    let (status, _) = call(&sim, list, "text/plain", "{}").await;
    assert_eq!(status, 415);
    let (status, body) = call(
        &sim,
        list,
        "application/json",
        r#"{"pagination":{"limit":"1000"}}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["pagination"]["appliedLimit"], "1000");

    let search = format!("/management/v1/users/{BOT}/pats/_search");
    let (status, body) = call(
        &sim,
        &search,
        "application/json",
        r#"{"query":{"limit":5000}}"#,
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(3)));
    assert_eq!(body["details"][0]["id"], "QUERY-SIMlim1");
    let add = format!("/management/v1/users/{BOT}/pats");
    let (status, body) = call(
        &sim,
        &add,
        "application/json",
        r#"{"expirationDate":"2001-01-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(3)));
    let (status, body) = call(&sim, &add, "application/json", "{}").await;
    assert_eq!(status, 200);
    assert!(body["token"].as_str().unwrap().len() > 20);
    let (status, body) = call(&sim, "/management/v1/nothing", "application/json", "{}").await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(5)));
    // Without credentials: unauthenticated in the API's own format.
    let resp = reqwest::Client::new()
        .post(format!("{}{list}", sim.uri()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "unauthenticated");
    // A never-expiring token is stored as 9999-12-31T23:59:59Z.
    let (_, listed) = call(&sim, list, "application/json", "{}").await;
    assert!(
        listed["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["expirationDate"] == pats_sim::zitadel::NEVER)
    );
}

#[tokio::test]
async fn v2_add_requires_an_expiration_v1_does_not() {
    // AddPersonalAccessTokenRequest (user v2) has `validate.rules` `timestamp.required` on
    // `expiration_date`; the management v1 request has no such rule.
    let sim = sim().await;
    let add = "/zitadel.user.v2.UserService/AddPersonalAccessToken";
    let (status, body) = call(
        &sim,
        add,
        "application/json",
        &json!({ "userId": BOT }).to_string(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument")),
        "{body}"
    );
    assert!(sim.pats_of(BOT).is_empty());
    let (status, body) = call(
        &sim,
        add,
        "application/json",
        &json!({ "userId": BOT, "expirationDate": "9999-12-31T23:59:59Z" }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        &sim,
        &format!("/management/v1/users/{BOT}/pats"),
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn discovery_names_the_token_endpoint_and_grants() {
    let sim = sim().await;
    let resp = reqwest::Client::new()
        .get(format!("{}/.well-known/openid-configuration", sim.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let doc: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    let base = sim.uri();
    assert_eq!(doc["issuer"], base.trim_end_matches('/'));
    assert_eq!(doc["token_endpoint"], format!("{base}/oauth/v2/token"));
    assert_eq!(doc["jwks_uri"], format!("{base}/oauth/v2/keys"));
    let grants: Vec<&str> = doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(grants.contains(&"client_credentials"), "{grants:?}");
    assert!(
        grants.contains(&"urn:ietf:params:oauth:grant-type:jwt-bearer"),
        "{grants:?}"
    );
    // Every member OpenID Connect Discovery 1.0 §3 requires.
    for member in [
        "issuer",
        "authorization_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(doc.get(member).is_some(), "{member} missing: {doc}");
    }
    // Discovery needs no credentials; other methods are refused.
    let resp = reqwest::Client::new()
        .post(format!("{}/.well-known/openid-configuration", sim.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
}

async fn token_request(
    sim: &ZitadelSim,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = reqwest::Client::new()
        .post(format!("{}/oauth/v2/token", sim.uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn client_credentials_by_basic_and_by_form() {
    const SCOPE: &str = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
    let sim = sim().await;
    let (id, secret) = sim.add_client_secret(BOT).unwrap();
    let grant = [("grant_type", "client_credentials"), ("scope", SCOPE)];

    let (status, body) = token_request(&sim, &grant, Some((&id, &secret))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(sim.last_client_auth(), Some("basic"));
    // The access token works on the API as the machine user.
    let token = body["access_token"].as_str().unwrap().to_owned();
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/zitadel.user.v2.UserService/ListPersonalAccessTokens",
            sim.uri()
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let mut in_form = grant.to_vec();
    in_form.extend([
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ]);
    let (status, body) = token_request(&sim, &in_form, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim.last_client_auth(), Some("post"));
    assert_eq!(sim.token_exchanges(), 2);

    // Wrong secret, unknown client, no client: 401 invalid_client. Both methods at once:
    // 400 invalid_request (RFC 6749 §2.3). No API scope: invalid_scope.
    for (what, form, basic) in [
        ("wrong secret", grant.to_vec(), Some((id.as_str(), "nope"))),
        (
            "unknown client",
            grant.to_vec(),
            Some(("someone", secret.as_str())),
        ),
        ("no client", grant.to_vec(), None),
    ] {
        let (status, body) = token_request(&sim, &form, basic).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{what}"
        );
    }
    let (status, body) = token_request(&sim, &in_form, Some((&id, &secret))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = token_request(
        &sim,
        &[("grant_type", "client_credentials"), ("scope", "openid")],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = token_request(
        &sim,
        &[("grant_type", "password"), ("scope", SCOPE)],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    assert_eq!(sim.token_exchanges(), 2);
}

#[tokio::test]
async fn unknown_fields_are_refused_like_proto3_json_decoding() {
    // Every message of contracts/zitadel/openapi.json has `additionalProperties: false`: a
    // field the message does not have fails to decode.
    let sim = sim().await;
    let v2 = "/zitadel.user.v2.UserService/";
    let future = "2099-01-01T00:00:00Z";
    for (method, body) in [
        (
            "AddPersonalAccessToken",
            json!({ "userId": BOT, "expirationDate": future, "name": "x" }),
        ),
        (
            "RemovePersonalAccessToken",
            json!({ "userId": BOT, "tokenId": "1", "force": true }),
        ),
        ("ListPersonalAccessTokens", json!({ "page": 1 })),
        (
            "ListPersonalAccessTokens",
            json!({ "pagination": { "offset": "0", "size": 1 } }),
        ),
        (
            "ListPersonalAccessTokens",
            json!({ "filters": [{ "userIdFilter": { "id": BOT, "method": "EQUALS" } }] }),
        ),
        (
            "ListPersonalAccessTokens",
            json!({ "filters": [{ "createdDateFilter": { "timestamp": future, "when": 1 } }] }),
        ),
    ] {
        let (status, answer) = call(
            &sim,
            &format!("{v2}{method}"),
            "application/json",
            &body.to_string(),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("invalid_argument")),
            "{method} {body}"
        );
    }
    for (path, body) in [
        (
            format!("/management/v1/users/{BOT}/pats"),
            json!({ "expiration": future }),
        ),
        (
            format!("/management/v1/users/{BOT}/pats/_search"),
            json!({ "query": { "offset": "0", "sort": "asc" } }),
        ),
        (
            format!("/management/v1/users/{BOT}/pats/_search"),
            json!({ "queries": [] }),
        ),
    ] {
        let (status, answer) = call(&sim, &path, "application/json", &body.to_string()).await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (400, Some(3)),
            "{path} {body}"
        );
    }
    assert!(sim.pats_of(BOT).is_empty());
    // The same calls with the message's own fields pass.
    let (status, _) = call(
        &sim,
        &format!("{v2}AddPersonalAccessToken"),
        "application/json",
        &json!({ "userId": BOT, "expirationDate": future }).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &sim,
        &format!("/management/v1/users/{BOT}/pats/_search"),
        "application/json",
        &json!({ "query": { "offset": "0", "limit": 5, "asc": true } }).to_string(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn list_users_queries_paging_and_errors() {
    let sim = sim().await;
    let org = ZitadelSim::DEFAULT_ORG;
    sim.add_named_machine_user(org, "300000000000000001", "ci-deploy");
    sim.add_named_machine_user(org, "300000000000000002", "ci-deploy-old");
    sim.add_named_machine_user("elsewhere", "300000000000000003", "ci-deploy");
    sim.add_human_user(org, "300000000000000004");
    let path = "/zitadel.user.v2.UserService/ListUsers";
    let list = |body: Value| {
        let sim = &sim;
        async move { call(sim, path, "application/json", &body.to_string()).await }
    };
    let names = |v: &Value| -> Vec<String> {
        v["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|u| u["username"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    // EQUALS is exact; other organizations are invisible.
    let (status, v) = list(json!({"queries": [
        {"userNameQuery": {"userName": "ci-deploy", "method": "TEXT_QUERY_METHOD_EQUALS"}},
        {"typeQuery": {"type": "TYPE_MACHINE"}}
    ]}))
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(names(&v), ["ci-deploy"]);
    assert_eq!(v["result"][0]["userId"], "300000000000000001");
    assert!(v["result"][0]["machine"].is_object());
    assert_eq!(v["details"]["totalResult"], "1");
    // Prefix, case-insensitive, or/not, sorted by username ascending, paged.
    let (_, v) = list(json!({
        "query": {"offset": "1", "limit": 1, "asc": true},
        "sortingColumn": "USER_FIELD_NAME_USER_NAME",
        "queries": [{"orQuery": {"queries": [
            {"userNameQuery": {"userName": "CI-", "method": "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE"}},
            {"notQuery": {"query": {"typeQuery": {"type": "TYPE_MACHINE"}}}}
        ]}}]
    }))
    .await;
    assert_eq!(v["details"]["totalResult"], "3", "{v}");
    // The human user's username is its id, which sorts first.
    assert_eq!(names(&v), ["ci-deploy"]);
    // By ids: unknown ids are simply missing.
    let (_, v) =
        list(json!({"queries": [{"inUserIdsQuery": {"userIds": ["300000000000000002", "nope"]}}]}))
            .await;
    assert_eq!(names(&v), ["ci-deploy-old"]);
    // Nothing found: no result, no total.
    let (status, v) =
        list(json!({"queries": [{"organizationIdQuery": {"organizationId": "elsewhere"}}]})).await;
    assert_eq!(status, 200);
    assert!(
        v.get("result").is_none() && v["details"].get("totalResult").is_none(),
        "{v}"
    );
    // Refused like the service: two members of the oneof, an unknown field, a limit over
    // 1000, an empty username; queries it does not simulate say so.
    for (body, code) in [
        (
            json!({"queries": [{"typeQuery": {"type": "TYPE_MACHINE"}, "inUserIdsQuery": {}}]}),
            "invalid_argument",
        ),
        (json!({"filters": []}), "invalid_argument"),
        (json!({"query": {"limit": 1001}}), "invalid_argument"),
        (
            json!({"queries": [{"userNameQuery": {"userName": ""}}]}),
            "invalid_argument",
        ),
        (
            json!({"queries": [{"emailQuery": {"emailAddress": "a@b"}}]}),
            "unimplemented",
        ),
    ] {
        let (status, v) = list(body.clone()).await;
        assert_ne!(status, 200, "{body}");
        assert_eq!(v["code"], code, "{body}: {v}");
    }
}
