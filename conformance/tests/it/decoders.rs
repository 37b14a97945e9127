//! Property tests: arbitrary and mutated JSON (and error statuses) fed to every provider's
//! response decoders through the real client path, the token endpoints included (SailPoint
//! client credentials at `/oauth/token`, the ZITADEL JWT profile at `/oauth/v2/token`).
//! GitLab's page headers (`X-Next-Page`, `X-Total`, `X-Total-Pages`, `Link`) are fuzzed
//! too. Whatever comes back must be a value or a typed error: never a panic, never a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats::sailpoint::{ApiVersion, SailPointClient};
use pats::zitadel::{ZitadelAuth, ZitadelClient};
use pats::{ClientOptions, Expiry, ListQuery, PersonalAccessTokens, RetryPolicy, TokenId};
use pats_conformance::Harness;
use pats_conformance::harness::{DfnsHarness, GitLabHarness, SailPointHarness, ZitadelHarness};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Answer = (u16, Vec<u8>);

/// A loopback server answering every request with the current (status, body) and extra
/// header bytes; requests whose path starts with `/oauth/` get `token` instead, when it is
/// set.
struct Echo {
    url: String,
    answer: Arc<Mutex<Answer>>,
    /// Raw header lines (each ending in CRLF) sent with every answer.
    headers: Arc<Mutex<Vec<u8>>>,
    token: Arc<Mutex<Option<Answer>>>,
    token_requests: Arc<AtomicUsize>,
}

async fn echo_server() -> Echo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(Mutex::new((200, b"{}".to_vec())));
    let headers = Arc::new(Mutex::new(Vec::new()));
    let token: Arc<Mutex<Option<Answer>>> = Arc::new(Mutex::new(None));
    let token_requests = Arc::new(AtomicUsize::new(0));
    let (shared, shared_headers, shared_token, counter) = (
        answer.clone(),
        headers.clone(),
        token.clone(),
        token_requests.clone(),
    );
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (shared, extra, shared_token, counter) = (
                shared.clone(),
                shared_headers.lock().unwrap().clone(),
                shared_token.clone(),
                counter.clone(),
            );
            tokio::spawn(async move {
                let mut buf = vec![0_u8; 64 * 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let to_token = buf[..n]
                    .split(|&b| b == b' ')
                    .nth(1)
                    .is_some_and(|path| path.starts_with(b"/oauth/"));
                let token_answer = if to_token {
                    counter.fetch_add(1, Ordering::SeqCst);
                    shared_token.lock().unwrap().clone()
                } else {
                    None
                };
                let (status, body) = token_answer.unwrap_or_else(|| shared.lock().unwrap().clone());
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&extra).await;
                let _ = socket.write_all(b"\r\n").await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Echo {
        url,
        answer,
        headers,
        token,
        token_requests,
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-zA-Z0-9:. _-]{0,24}".prop_map(Value::String),
        Just(json!("9999-12-31T23:59:59Z")),
        Just(json!("2026-01-02T03:04:05.123Z")),
        Just(json!("18446744073709551615")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("tokenId".to_owned()),
                    Just("items".to_owned()),
                    Just("result".to_owned()),
                    Just("name".to_owned()),
                    Just("expirationDate".to_owned()),
                    Just("error".to_owned()),
                    Just("code".to_owned()),
                    Just("message".to_owned()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Well-formed answers of each provider, to be mutated.
fn samples() -> Vec<Value> {
    let dfns_pat = json!({
        "tokenId": "to-1a2b", "credId": "cr-1", "dateCreated": "2026-01-02T03:04:05.000Z",
        "isActive": true, "kind": "Pat", "linkedUserId": "us-1", "linkedAppId": "ap-1",
        "name": "n", "orgId": "or-1", "publicKey": "pk", "permissionAssignments": [],
        "accessToken": "secret"
    });
    let zitadel_pat = json!({
        "id": "1", "userId": "2", "organizationId": "3", "creationDate": "2026-01-02T03:04:05Z",
        "changeDate": "2026-01-02T03:04:05Z", "expirationDate": "2027-01-02T03:04:05Z"
    });
    let gitlab_pat = json!({
        "id": 7, "name": "n", "revoked": false, "created_at": "2026-01-02T03:04:05.123Z",
        "description": "d", "scopes": ["api"], "user_id": 2, "last_used_at": null,
        "active": true, "expires_at": "2027-01-02", "token": "glpat-abcdefghijklmnopqrst"
    });
    let sail_pat = json!({
        "id": "ef38f94347e94562b5bb8424a56397d8", "name": "n", "scope": ["sp:scopes:all"],
        "owner": {"type": "IDENTITY", "id": "2c91", "name": "Admin"},
        "created": "2026-01-02T03:04:05.000Z", "expirationDate": null, "lastUsed": null,
        "managed": false, "accessTokenValiditySeconds": 43200, "secret": "s"
    });
    vec![
        json!({"items": [dfns_pat.clone()]}),
        dfns_pat,
        json!({"challenge": "c", "challengeIdentifier": "i", "allowCredentials": {"key": [{"type": "public-key", "id": "cr-1"}], "webauthn": []}}),
        json!({"pagination": {"totalResult": "1", "appliedLimit": "100"}, "result": [zitadel_pat.clone()]}),
        json!({"tokenId": "1", "token": "t", "creationDate": "2026-01-02T03:04:05Z"}),
        json!({"token": zitadel_pat}),
        json!([sail_pat.clone()]),
        sail_pat,
        json!({"access_token": "a", "token_type": "bearer", "expires_in": 3600}),
        json!({"detailCode": "400.1", "trackingId": "t", "messages": [{"locale": "en-US", "text": "bad"}]}),
        json!({"code": 5, "message": "not found", "details": [{"@type": "x", "id": "QUERY-1"}]}),
        json!({"error": {"id": "e", "message": "m"}}),
        json!([gitlab_pat.clone()]),
        gitlab_pat,
        json!({"message": {"name": ["can't be blank"], "expires_at": ["is invalid"]}}),
        json!({"message": "404 Not found"}),
        json!({"error": "insufficient_scope", "error_description": "d", "scope": "api"}),
    ]
}

/// Replaces the value at a pseudo-random place in `v` (chosen by `pick`) with `with`.
fn mutate(v: &mut Value, pick: usize, with: Value) {
    let mut slot = v;
    let mut pick = pick;
    loop {
        let children: usize = match slot {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if children == 0 || pick.is_multiple_of(3) {
            *slot = with;
            return;
        }
        let i = (pick / 3) % children;
        pick /= 7;
        slot = match slot {
            Value::Object(m) => m.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
    }
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (0..samples().len(), any::<usize>(), json_value()).prop_map(|(s, pick, with)| {
            let mut v = samples()[s].clone();
            mutate(&mut v, pick, with);
            serde_json::to_vec(&v).unwrap()
        }),
        (0..samples().len(), any::<prop::sample::Index>()).prop_map(|(s, cut)| {
            let bytes = serde_json::to_vec(&samples()[s]).unwrap();
            bytes[..cut.index(bytes.len() + 1)].to_vec()
        }),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        6 => Just(200_u16),
        1 => Just(201),
        1 => Just(202),
        1 => Just(400),
        1 => Just(401),
        1 => Just(404),
        1 => Just(409),
        1 => Just(429),
        1 => Just(500),
    ]
}

fn run<H: Harness>(id: &str, list_sample: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (harness, echo) = rt.block_on(async { (H::start().await, echo_server().await) });
    let options = ClientOptions::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy::none());
    let client: Box<dyn PersonalAccessTokens> = harness.client_at(&echo.url, options);
    let id = TokenId::new(id).unwrap();
    let request = harness.create_request("prop", Expiry::In(Duration::from_secs(86_400)));
    // The wiring is real: a well-formed list answer decodes to one token.
    *echo.answer.lock().unwrap() = (200, serde_json::to_vec(&samples()[list_sample]).unwrap());
    let page = rt.block_on(client.list(&ListQuery::new())).unwrap();
    assert_eq!(page.items.len(), 1);
    let config = ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(status in status(), body in body())| {
        *echo.answer.lock().unwrap() = (status, body);
        rt.block_on(async {
            // Each must return (a value or a typed error) without panicking or hanging.
            let _ = tokio::time::timeout(Duration::from_secs(10), client.list(&ListQuery::new())).await.expect("list hung");
            let _ = tokio::time::timeout(Duration::from_secs(10), client.get(&id)).await.expect("get hung");
            let _ = tokio::time::timeout(Duration::from_secs(10), client.create(&request)).await.expect("create hung");
            // GitLab's rotation (elsewhere `Unsupported` at once).
            let _ = tokio::time::timeout(Duration::from_secs(10), client.rotate_native(&id, &request)).await.expect("rotate hung");
        });
    });
}

#[test]
fn dfns_decoders_never_panic() {
    run::<DfnsHarness>("to-1a2b", 0);
}

#[test]
fn zitadel_decoders_never_panic() {
    run::<ZitadelHarness>("1", 3);
}

#[test]
fn sailpoint_decoders_never_panic() {
    run::<SailPointHarness>("ef38f94347e94562b5bb8424a56397d8", 6);
}

#[test]
fn gitlab_decoders_never_panic() {
    run::<GitLabHarness>("7", 12);
}

/// A page header's value: numbers in and out of range, signs, words, links well and badly
/// formed, long, and bytes no header should hold.
fn page_header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "0",
            "1",
            "2",
            "-1",
            "+3",
            " 2",
            "2 ",
            "1.5",
            "1e3",
            "abc",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "<http://x/api/v4/personal_access_tokens?page=2>; rel=\"next\"",
            "<http://x/?page=2&per_page=20>; rel=\"first\", <http://x/?page=3>; rel=\"next\"",
            "<http://x/?page=>; rel=\"next\"",
            "<http://x/?page=-4>; rel=\"next\"",
            "<http://x/?page=99999999999999999999>; rel=\"next\"",
            "http://x/?page=2; rel=\"next\"",
            "<http://x/?page=2; rel=\"next\"",
            "<>; rel=next",
            "rel=\"next\"",
        ])
        .prop_map(|v| v.as_bytes().to_vec()),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..24),
        Just(format!("<http://x/?page={}>; rel=\"next\"", "9".repeat(5000)).into_bytes()),
    ]
}

/// GitLab's pages come from its headers: any values of them give a page or a typed error.
#[test]
fn gitlab_page_headers_never_panic() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (harness, echo) =
        rt.block_on(async { (GitLabHarness::start().await, echo_server().await) });
    let options = ClientOptions::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy::none());
    let client = harness.client_at(&echo.url, options);
    *echo.answer.lock().unwrap() = (200, serde_json::to_vec(&samples()[12]).unwrap());
    let list = |headers: Vec<u8>| {
        *echo.headers.lock().unwrap() = headers;
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), client.list(&ListQuery::new()))
                .await
                .expect("list hung")
        })
    };
    // The wiring is real: X-Next-Page is the next page, and Link's next link when it is
    // the only one.
    let page = list(b"x-next-page: 3\r\nx-total: 41\r\n".to_vec()).unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next_page.is_some(), "X-Next-Page: 3 gives a next page");
    let page = list(b"link: <http://x/?page=2>; rel=\"next\"\r\n".to_vec()).unwrap();
    assert!(page.next_page.is_some(), "a Link next gives a next page");
    let page = list(b"x-next-page: \r\n".to_vec()).unwrap();
    assert!(
        page.next_page.is_none(),
        "an empty X-Next-Page is the last page"
    );

    let names = prop::sample::select(vec![
        "x-next-page",
        "x-total",
        "x-total-pages",
        "x-page",
        "link",
    ]);
    let config = ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(headers in prop::collection::vec((names.clone(), page_header_value()), 0..4))| {
        let mut raw = Vec::new();
        for (name, value) in headers {
            raw.extend_from_slice(name.as_bytes());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(&value);
            raw.extend_from_slice(b"\r\n");
        }
        let _ = list(raw);
    });
}

/// `expires_in` values a token endpoint may send: out of any range, negative, fractional,
/// as strings, of other types.
fn odd_expires_in() -> Vec<Value> {
    vec![
        json!(18_446_744_073_709_551_615_u64),
        json!(9_223_372_036_854_775_807_i64),
        json!(9_223_372_036_854_775_808_u64),
        json!(4_294_967_296_u64),
        json!(315_360_000_000_u64),
        json!(-1),
        json!(i64::MIN),
        json!(0),
        json!(1),
        json!(59),
        json!(60),
        json!(61),
        json!(1e308),
        json!(-1e308),
        json!(3600.5),
        json!(0.0),
        json!("3600"),
        json!("18446744073709551615"),
        json!("18446744073709551616"),
        json!("9223372036854775807"),
        json!("-1"),
        json!(""),
        json!(" 3600"),
        json!(null),
        json!(true),
        json!([3600]),
        json!({"seconds": 3600}),
    ]
}

/// `access_token` values: empty, of other types, with characters no header may hold.
fn odd_access_token() -> Vec<Value> {
    vec![
        json!(""),
        json!(null),
        json!(42),
        json!(["a"]),
        json!({"a": "b"}),
        json!("a\nb"),
        json!("a\u{0}b"),
        json!("tok en"),
        json!("x".repeat(70_000)),
        json!("ünïcödé"),
    ]
}

/// A well-formed token answer.
fn token_sample() -> Value {
    json!({"access_token": "sim-access-token", "token_type": "Bearer", "expires_in": 3600, "scope": "openid"})
}

/// Every kind of answer a token endpoint can send.
fn token_body() -> impl Strategy<Value = Vec<u8>> {
    let with_field = |field: &'static str, values: Vec<Value>| {
        (0..values.len(), any::<bool>()).prop_map(move |(i, drop_other)| {
            let mut v = token_sample();
            v[field] = values[i].clone();
            if drop_other {
                let other = if field == "access_token" {
                    "expires_in"
                } else {
                    "token_type"
                };
                v.as_object_mut().unwrap().remove(other);
            }
            serde_json::to_vec(&v).unwrap()
        })
    };
    prop_oneof![
        // Arbitrary JSON.
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        // A valid answer with one place replaced.
        (any::<usize>(), json_value()).prop_map(|(pick, with)| {
            let mut v = token_sample();
            mutate(&mut v, pick, with);
            serde_json::to_vec(&v).unwrap()
        }),
        // Odd lifetimes, and any 64-bit number.
        with_field("expires_in", odd_expires_in()),
        any::<u64>()
            .prop_map(|n| format!(r#"{{"access_token":"t","expires_in":{n}}}"#).into_bytes()),
        any::<i64>()
            .prop_map(|n| format!(r#"{{"access_token":"t","expires_in":{n}}}"#).into_bytes()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| {
                serde_json::to_vec(&json!({"access_token": "t", "expires_in": f})).unwrap()
            }),
        // Odd or missing access tokens.
        with_field("access_token", odd_access_token()),
        Just(br#"{"token_type":"Bearer","expires_in":3600}"#.to_vec()),
        // Cut short, not JSON at all, empty.
        any::<prop::sample::Index>().prop_map(|cut| {
            let bytes = serde_json::to_vec(&token_sample()).unwrap();
            bytes[..cut.index(bytes.len() + 1)].to_vec()
        }),
        prop::collection::vec(any::<u8>(), 0..64),
        Just(b"<html><body>502 Bad Gateway</body></html>".to_vec()),
        Just(Vec::new()),
        // OAuth2 error bodies.
        Just(br#"{"error":"invalid_client","error_description":"bad secret"}"#.to_vec()),
        Just(br#"{"error":{"id":"e","message":"m"}}"#.to_vec()),
    ]
}

fn token_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => Just(200_u16),
        1 => Just(201),
        1 => Just(204),
        1 => Just(302),
        1 => Just(400),
        1 => Just(401),
        1 => Just(403),
        1 => Just(404),
        1 => Just(429),
        1 => Just(500),
        1 => Just(503),
    ]
}

/// A client of `provider` that logs in at the echo server's token endpoint.
fn credential_client(provider: &str, url: &str) -> Box<dyn PersonalAccessTokens> {
    let options = ClientOptions::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy::none());
    match provider {
        "sailpoint" => Box::new(
            SailPointClient::builder()
                .base_url(url)
                .client_credentials("prop-client-id", "prop-client-secret".to_owned().into())
                .api_version(ApiVersion::V3)
                .options(options)
                .build()
                .unwrap(),
        ),
        "zitadel" => Box::new(
            ZitadelClient::builder()
                .base_url(url)
                .auth(
                    ZitadelAuth::key_file_json(&pats_sim::zitadel::test_key_file(
                        "200000000000000001",
                    ))
                    .unwrap(),
                )
                .default_user("200000000000000001")
                .options(options)
                .build()
                .unwrap(),
        ),
        other => panic!("no credential flow for {other}"),
    }
}

/// Logs in with `token` as the token endpoint's answer on a fresh client, then lists twice
/// (the second call uses the cached token, if one was kept). Each call must return.
fn log_in_and_list(
    rt: &tokio::runtime::Runtime,
    echo: &Echo,
    provider: &str,
    token: Answer,
) -> Vec<pats::Result<usize>> {
    *echo.token.lock().unwrap() = Some(token);
    let client = credential_client(provider, &echo.url);
    rt.block_on(async {
        let mut results = Vec::new();
        for _ in 0..2 {
            let listed =
                tokio::time::timeout(Duration::from_secs(10), client.list(&ListQuery::new()))
                    .await
                    .expect("list hung");
            results.push(listed.map(|page| page.items.len()));
        }
        results
    })
}

/// Fuzzes the token endpoint of `provider`, whose well-formed list answer is `list_sample`.
fn run_token_endpoint(provider: &str, list_sample: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let echo = rt.block_on(echo_server());
    *echo.answer.lock().unwrap() = (200, serde_json::to_vec(&samples()[list_sample]).unwrap());

    // The wiring is real: a well-formed token answer logs in once, and the list decodes.
    let ok = log_in_and_list(
        &rt,
        &echo,
        provider,
        (200, serde_json::to_vec(&token_sample()).unwrap()),
    );
    assert_eq!(
        echo.token_requests.load(Ordering::SeqCst),
        1,
        "one login, then the cached token"
    );
    for r in ok {
        assert_eq!(r.unwrap(), 1);
    }
    // A refused login is a typed error, not a list.
    let refused = log_in_and_list(
        &rt,
        &echo,
        provider,
        (401, br#"{"error":"invalid_client"}"#.to_vec()),
    );
    assert_eq!(
        refused[0].as_ref().unwrap_err().kind(),
        pats::ErrorKind::Unauthenticated
    );

    // Every odd lifetime, each once: a value or a typed error, never a panic.
    for expires_in in odd_expires_in() {
        let mut body = token_sample();
        body["expires_in"] = expires_in.clone();
        let results = log_in_and_list(
            &rt,
            &echo,
            provider,
            (200, serde_json::to_vec(&body).unwrap()),
        );
        for n in results.into_iter().flatten() {
            assert_eq!(n, 1, "expires_in {expires_in}");
        }
    }
    // Every odd access token: an error, or (for the odd but usable ones) a listing.
    for access_token in odd_access_token() {
        let mut body = token_sample();
        body["access_token"] = access_token.clone();
        let results = log_in_and_list(
            &rt,
            &echo,
            provider,
            (200, serde_json::to_vec(&body).unwrap()),
        );
        if access_token == json!("") || !access_token.is_string() {
            assert!(
                results[0].is_err(),
                "access_token {access_token} was accepted"
            );
        }
    }

    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(status in token_status(), body in token_body())| {
        let _ = log_in_and_list(&rt, &echo, provider, (status, body));
    });
}

#[test]
fn sailpoint_token_endpoint_answers_never_panic() {
    run_token_endpoint("sailpoint", 6);
}

#[test]
fn zitadel_token_endpoint_answers_never_panic() {
    run_token_endpoint("zitadel", 3);
}
