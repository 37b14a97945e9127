//! Error bodies of both formats, protojson decoding, malformed answers, retries, secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{BOT, api_requests, client, options, sim};
use pats_core::{ErrorKind, Expiration, ListQuery, NeverExpires, PersonalAccessTokens, TokenId};
use pats_sim::{Fault, FaultRule};
use pats_zitadel::{ApiVersion, ListPatsRequest, ZitadelAuth, ZitadelClient};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PAT: &str = "zitadel-test-pat-0123456789";

async fn raw(status: u16, body: Value) -> (MockServer, ZitadelClient) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(status)
                .set_body_json(body)
                .insert_header("Retry-After", "2"),
        )
        .mount(&server)
        .await;
    let client = ZitadelClient::builder()
        .base_url(server.uri())
        .auth(ZitadelAuth::pat(PAT.to_owned().into()))
        .default_user(BOT)
        .options(options().0)
        .build()
        .unwrap();
    (server, client)
}

fn rest(code: i64, id: &str) -> Value {
    json!({
        "code": code,
        "message": format!("Errors.Something ({id})"),
        "details": [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": id, "message": "Errors.Something" }]
    })
}

fn connect(code: &str, id: &str) -> Value {
    json!({
        "code": code,
        "message": format!("Errors.Something ({id})"),
        "details": [{ "type": "zitadel.v1.ErrorDetail", "value": "", "debug": { "id": id } }]
    })
}

#[tokio::test]
async fn both_error_formats_map_to_the_right_kinds() {
    let cases: [(i64, &str, u16, ErrorKind); 10] = [
        (3, "invalid_argument", 400, ErrorKind::Api),
        (5, "not_found", 404, ErrorKind::NotFound),
        (6, "already_exists", 409, ErrorKind::AlreadyExists),
        (7, "permission_denied", 403, ErrorKind::PermissionDenied),
        (8, "resource_exhausted", 429, ErrorKind::RateLimited),
        (9, "failed_precondition", 400, ErrorKind::Api),
        (10, "aborted", 409, ErrorKind::Api),
        (11, "out_of_range", 400, ErrorKind::Api),
        (14, "unavailable", 503, ErrorKind::Api),
        (16, "unauthenticated", 401, ErrorKind::Unauthenticated),
    ];
    for (number, name, status, kind) in cases {
        for (label, body, api) in [
            ("rest", rest(number, "COMMAND-r1"), ApiVersion::V1),
            ("connect", connect(name, "COMMAND-c1"), ApiVersion::V2),
        ] {
            let (server, client) = raw(status, body).await;
            let err = match api {
                ApiVersion::V1 => {
                    client
                        .v1()
                        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
                        .await
                }
                ApiVersion::V2 => {
                    client
                        .v2()
                        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
                        .await
                }
                other => panic!("no test for {other:?}"),
            }
            .unwrap_err();
            assert_eq!(err.kind(), kind, "{label} {name}: {err}");
            assert_eq!(err.status(), Some(status), "{label} {name}");
            let id = if label == "rest" {
                "COMMAND-r1"
            } else {
                "COMMAND-c1"
            };
            assert!(err.to_string().contains(id), "{label} {name}: {err}");
            if err.kind() == ErrorKind::RateLimited {
                assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
            }
            // A create is never sent twice.
            assert_eq!(server.received_requests().await.unwrap().len(), 1);
        }
    }
}

#[tokio::test]
async fn the_kind_follows_the_code_not_the_status_or_message() {
    // A not_found code served as HTTP 400 with a misleading message.
    let (_s, client) = raw(
        400,
        json!({ "code": "not_found", "message": "already exists; permission denied" }),
    )
    .await;
    let err = client.get(&TokenId::new("1").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        err.api_error().and_then(|api| api.code.as_deref()),
        Some("not_found")
    );
    // A code given as a numeric string, without details.
    let (_s, client) = raw(409, json!({ "code": "6", "message": "x" })).await;
    let err = client
        .v1()
        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    // No parsable code: the status decides.
    let (_s, client) = raw(403, json!({ "error": "nope" })).await;
    let err = client
        .v2()
        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
}

#[tokio::test]
async fn simulator_errors_carry_their_error_ids() {
    let sim = sim().await;
    sim.restrict_user(pats_sim::zitadel::ZitadelSim::ADMIN_USER);
    for api in [ApiVersion::V1, ApiVersion::V2] {
        let err = client(&sim, api).list(&ListQuery::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("AUTHZ-SIMperm"), "{err}");
    }
    let bad = ZitadelClient::builder()
        .base_url(sim.uri())
        .auth(ZitadelAuth::pat("not-a-valid-token".to_owned().into()))
        .default_user(BOT)
        .build()
        .unwrap();
    let err = bad.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
}

#[tokio::test]
async fn string_and_numeric_int64_fields_both_decode() {
    let sim = sim().await;
    sim.seed_pats(BOT, 3);
    for numbers in [false, true] {
        sim.set_int64_as_numbers(numbers);
        let client = client(&sim, ApiVersion::V1);
        let page = client
            .v1()
            .list_personal_access_tokens(BOT, 0, None, true)
            .await
            .unwrap();
        assert_eq!(page.details.as_ref().unwrap().total_result, 3);
        assert!(page.result[0].details.as_ref().unwrap().sequence > 0);
        let v2 = client
            .v2()
            .list_personal_access_tokens(&ListPatsRequest::new())
            .await
            .unwrap();
        assert_eq!(v2.pagination.as_ref().unwrap().total_result, 4);
        assert_eq!(v2.pagination.as_ref().unwrap().applied_limit, 100);
    }
    let raw = sim.requests().await;
    let last = raw.last().unwrap();
    assert_eq!(
        last.url.path(),
        "/zitadel.user.v2.UserService/ListPersonalAccessTokens"
    );

    // Mixed encodings, omitted zero values, fractions, unknown fields, missing expiration.
    let (_s, client) = raw_ok(json!({
        "details": { "totalResult": 2, "processedSequence": "18446744073709551615" },
        "result": [
            { "id": "1", "details": { "sequence": 3, "resourceOwner": "o" }, "expirationDate": "2030-01-01T00:00:00.123456789Z" },
            { "id": "2", "somethingNew": { "x": 1 } }
        ]
    }))
    .await;
    let page = client
        .v1()
        .list_personal_access_tokens(BOT, 0, None, true)
        .await
        .unwrap();
    assert_eq!(page.details.as_ref().unwrap().processed_sequence, u64::MAX);
    assert_eq!(page.result[1].details, None);
    assert!(page.result[1].scopes.is_empty());
    let listed = client.in_org("o").list(&ListQuery::new()).await.unwrap();
    assert_eq!(listed.items[1].expires, Expiration::Never);
    assert_eq!(
        listed.items[0].expires.at().unwrap().nanosecond(),
        123_456_789
    );
    // An empty answer (every field zero) is an empty page.
    let (_s, client) = raw_ok(json!({})).await;
    let page = client.list(&ListQuery::new()).await.unwrap();
    assert!(page.items.is_empty() && page.next_page.is_none());
}

async fn raw_ok(body: Value) -> (MockServer, ZitadelClient) {
    raw(200, body).await
}

#[tokio::test]
async fn malformed_answers_are_decode_errors() {
    let sim = sim().await;
    let client = client(&sim, ApiVersion::V2);
    for fault in [
        Fault::InvalidJson,
        Fault::Html(200),
        Fault::WrongContentType,
        Fault::Oversized(5 * 1024 * 1024),
    ] {
        sim.faults().clear();
        sim.faults().inject(FaultRule::new(fault.clone()));
        let err = client.list(&ListQuery::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{fault:?}: {err}");
    }
    sim.faults().clear();
    // A create answer without a token is an error, not a token-less success.
    let (_s, raw_client) = raw_ok(json!({ "tokenId": "1" })).await;
    let err = raw_client
        .v2()
        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
}

#[tokio::test]
async fn reads_are_retried_creates_are_not() {
    let sim = sim().await;
    let client = client(&sim, ApiVersion::V2);
    sim.faults().inject(
        FaultRule::new(Fault::status(503))
            .path_contains("ListPersonalAccessTokens")
            .times(2),
    );
    client.list(&ListQuery::new().owner(BOT)).await.unwrap();
    assert_eq!(api_requests(&sim).await.len(), 3);
    sim.faults().inject(
        FaultRule::new(Fault::status(503))
            .path_contains("AddPersonalAccessToken")
            .times(1),
    );
    let err = client
        .create(
            &pats_core::CreateToken::builder()
                .expiry(pats_core::Expiry::In(Duration::from_secs(86_400)))
                .build()
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    assert_eq!(sim.count("/AddPersonalAccessToken").await, 1);
    assert!(sim.pats_of(BOT).is_empty());
}

/// Answers with an error whose message echoes the request (headers and body).
struct Echo(u16);

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        if request.url.path() == "/oauth/v2/token" {
            return ResponseTemplate::new(self.0).set_body_json(json!({
                "error": "invalid_grant",
                "error_description": format!("bad request: {body}"),
            }));
        }
        ResponseTemplate::new(self.0).set_body_json(json!({
            "code": 3,
            "message": format!("echo {auth} {body}"),
            "details": []
        }))
    }
}

#[tokio::test]
async fn no_secret_in_debug_display_or_errors() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Echo(400))
        .mount(&server)
        .await;
    let pat_client = ZitadelClient::builder()
        .base_url(server.uri())
        .auth(ZitadelAuth::pat(PAT.to_owned().into()))
        .default_user(BOT)
        .build()
        .unwrap();
    let err = pat_client.list(&ListQuery::new()).await.unwrap_err();
    for shown in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{pat_client:?}"),
    ] {
        assert!(!shown.contains(PAT), "{shown}");
    }
    assert!(err.to_string().contains("echo"), "{err}");

    let key_client = ZitadelClient::builder()
        .base_url(server.uri())
        .auth(ZitadelAuth::key_file_json(&pats_sim::zitadel::test_key_file(BOT)).unwrap())
        .build()
        .unwrap();
    let err = key_client.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let sent = server.received_requests().await.unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&sent.last().unwrap().body)
            .into_owned()
            .collect();
    let assertion = &form["assertion"];
    let pem_line = pats_sim::zitadel::TEST_PRIVATE_KEY_PEM
        .lines()
        .nth(1)
        .unwrap();
    for shown in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{key_client:?}"),
    ] {
        assert!(!shown.contains(assertion.as_str()), "{shown}");
        assert!(!shown.contains(pem_line), "{shown}");
    }

    // A created token's secret stays out of Debug.
    let sim = sim().await;
    let client = client(&sim, ApiVersion::V2);
    let created = client
        .create(
            &pats_core::CreateToken::builder()
                .expiry(pats_core::Expiry::In(Duration::from_secs(86_400)))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let added = client
        .v1()
        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap();
    use secrecy::ExposeSecret;
    let secrets = [created.secret.expose_secret(), added.secret.expose_secret()];
    for shown in [format!("{created:?}"), format!("{added:?}")] {
        for s in secrets {
            assert!(!shown.contains(s), "{shown}");
        }
    }
}

/// An id the server sends that fails `TokenId`'s checks is the server's fault: `Decode`,
/// never the caller's `InvalidInput`, on every call that reads one (both APIs).
#[tokio::test]
async fn an_unusable_id_from_the_server_is_a_decode_error() {
    use pats_core::{CreateToken, Expiry};
    let good = TokenId::new("good-1").unwrap();
    let create = CreateToken::builder()
        .expiry(Expiry::In(Duration::from_secs(86_400)))
        .build()
        .unwrap();
    for bad in ["a/b", "", "..", "a b"] {
        let v2_list = json!({
            "pagination": { "totalResult": "1", "appliedLimit": "100" },
            "result": [{ "id": bad, "userId": BOT, "organizationId": "org-1" }]
        });
        let v1_list = json!({
            "details": { "totalResult": "1", "processedSequence": "1" },
            "result": [{ "id": bad }]
        });
        let added = json!({ "tokenId": bad, "token": "tok-value-1" });
        // The token's user, read to revoke without a default user.
        let bad_user = json!({
            "pagination": { "totalResult": "1", "appliedLimit": "1" },
            "result": [{ "id": "good-1", "userId": format!("u{bad} x"), "organizationId": "o" }]
        });
        let cases: Vec<(&str, ApiVersion, bool, Value)> = vec![
            ("v2 list", ApiVersion::V2, true, v2_list),
            ("v1 list", ApiVersion::V1, true, v1_list),
            (
                "v1 get",
                ApiVersion::V1,
                true,
                json!({ "token": { "id": bad } }),
            ),
            ("v2 create", ApiVersion::V2, true, added.clone()),
            ("v1 create", ApiVersion::V1, true, added),
            ("v2 revoke", ApiVersion::V2, false, bad_user),
        ];
        for (label, api, default_user, body) in cases {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
            let mut builder = ZitadelClient::builder()
                .base_url(server.uri())
                .auth(ZitadelAuth::pat(PAT.to_owned().into()))
                .api_version(api)
                .options(options().0);
            if default_user {
                builder = builder.default_user(BOT);
            }
            let client = builder.build().unwrap();
            let err = match label {
                "v2 list" | "v1 list" => client.list(&ListQuery::new()).await.map(|_| ()),
                "v1 get" => client.get(&good).await.map(|_| ()),
                "v2 create" | "v1 create" => client.create(&create).await.map(|_| ()),
                _ => client.revoke(&good).await,
            }
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Decode, "{label} {bad:?}: {err:?}");
            // (An empty `tokenId` in a create answer is caught earlier, as missing.)
            if !(bad.is_empty() && label.ends_with("create")) {
                assert!(
                    err.to_string().contains("ZITADEL sent an unusable"),
                    "{err}"
                );
            }
        }
    }
}
