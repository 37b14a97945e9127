//! Property tests: arbitrary and mutated JSON (and error statuses) fed to every provider's
//! response decoders through the real client path. Whatever comes back must be a value or
//! a typed error: never a panic, never a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats::{ClientOptions, Expiry, ListQuery, PersonalAccessTokens, RetryPolicy, TokenId};
use pats_conformance::Harness;
use pats_conformance::harness::{DfnsHarness, SailPointHarness, ZitadelHarness};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback server answering every request with the current (status, body).
struct Echo {
    url: String,
    answer: Arc<Mutex<(u16, Vec<u8>)>>,
}

async fn echo_server() -> Echo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(Mutex::new((200, b"{}".to_vec())));
    let shared = answer.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut buf = vec![0_u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let (status, body) = shared.lock().unwrap().clone();
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Echo { url, answer }
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
