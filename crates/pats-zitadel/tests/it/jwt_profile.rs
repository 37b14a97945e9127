//! JWT-profile authentication: the assertion, the exchange, caching and refresh.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::{BOT, api_requests, header, options, sim};
use pats_core::{ErrorKind, ListQuery, PersonalAccessTokens};
use pats_sim::zitadel::{TEST_KEY_ID, ZitadelSim, test_key_file};
use pats_zitadel::{KeyFile, ZitadelAuth, ZitadelClient};
use std::collections::HashMap;
use std::sync::Arc;

fn key_client(sim: &ZitadelSim, key_json: &str) -> ZitadelClient {
    ZitadelClient::builder()
        .base_url(sim.uri())
        .auth(ZitadelAuth::key_file_json(key_json).unwrap())
        .default_user(BOT)
        .options(options().0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn assertion_is_verified_and_the_access_token_is_used() {
    let sim = sim().await;
    let key_json = sim.register_test_key(BOT).unwrap();
    let client = key_client(&sim, &key_json);
    assert!(
        client
            .list(&ListQuery::new().owner(BOT))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(sim.token_exchanges(), 1);

    let claims = sim.last_assertion_claims().unwrap();
    assert_eq!(claims["iss"], BOT);
    assert_eq!(claims["sub"], BOT);
    assert_eq!(claims["aud"], sim.uri());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 3600);

    let requests = sim.requests().await;
    assert_eq!(requests.len(), 2);
    let exchange = &requests[0];
    assert_eq!(exchange.method.as_str(), "POST");
    assert_eq!(exchange.url.path(), "/oauth/v2/token");
    assert_eq!(header(exchange, "authorization"), None);
    assert_eq!(header(exchange, "x-zitadel-orgid"), None);
    assert_eq!(
        header(exchange, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form: HashMap<String, String> = url::form_urlencoded::parse(&exchange.body)
        .into_owned()
        .collect();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(
        form["scope"],
        "openid urn:zitadel:iam:org:project:id:zitadel:aud"
    );
    assert_eq!(form.len(), 3);
    let jwt_header = pats_sim::jwt::decode_header(&form["assertion"]).unwrap();
    assert_eq!(jwt_header.alg, "RS256");
    assert_eq!(jwt_header.kid.as_deref(), Some(TEST_KEY_ID));

    let bearer = header(&requests[1], "authorization").unwrap();
    assert!(
        bearer.starts_with("Bearer sim_at_"),
        "the issued access token"
    );
    let access_token = bearer.trim_start_matches("Bearer ");
    let debug = format!("{client:?}");
    assert!(!debug.contains(access_token), "{debug}");
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_cause_one_exchange() {
    let sim = sim().await;
    let key_json = sim.register_test_key(BOT).unwrap();
    let client = Arc::new(key_client(&sim, &key_json));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list(&ListQuery::new().owner(BOT)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(sim.token_exchanges(), 1);
    assert_eq!(sim.count("/oauth/v2/token").await, 1);
    assert_eq!(api_requests(&sim).await.len(), 50);
}

#[tokio::test]
async fn a_refused_access_token_is_exchanged_again_once() {
    let sim = sim().await;
    let key_json = sim.register_test_key(BOT).unwrap();
    let client = key_client(&sim, &key_json);
    client.list(&ListQuery::new().owner(BOT)).await.unwrap();
    sim.revoke_access_tokens();
    client.list(&ListQuery::new().owner(BOT)).await.unwrap();
    assert_eq!(sim.token_exchanges(), 2);
    // The in_org handle shares the cache.
    client
        .in_org(ZitadelSim::DEFAULT_ORG)
        .list(&ListQuery::new().owner(BOT))
        .await
        .unwrap();
    assert_eq!(sim.token_exchanges(), 2);
}

#[tokio::test]
async fn assertions_the_instance_refuses_are_unauthenticated() {
    let sim = sim().await;
    sim.add_machine_user(ZitadelSim::DEFAULT_ORG, "someone-else");
    // The key belongs to another user: iss/sub do not match the key's owner.
    sim.register_test_key("someone-else").unwrap();
    let client = key_client(&sim, &test_key_file(BOT));
    let err = client.list(&ListQuery::new().owner(BOT)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    // An unregistered key.
    let sim2 = common::sim().await;
    let err = key_client(&sim2, &test_key_file(BOT))
        .list(&ListQuery::new().owner(BOT))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(
        api_requests(&sim2).await.is_empty(),
        "no API call without a token"
    );
}

#[tokio::test]
async fn key_files_never_show_their_key() {
    let json = test_key_file(BOT);
    let key = KeyFile::from_json(&json).unwrap();
    assert_eq!(key.key_id, TEST_KEY_ID);
    assert_eq!(key.user_id, BOT);
    let pem_line = pats_sim::zitadel::TEST_PRIVATE_KEY_PEM
        .lines()
        .nth(1)
        .unwrap();
    for shown in [
        format!("{key:?}"),
        format!("{:?}", ZitadelAuth::KeyFile(key.clone())),
        format!(
            "{:?}",
            ZitadelAuth::pat("pat-secret-value-123".to_owned().into())
        ),
    ] {
        assert!(!shown.contains(pem_line), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(!shown.contains("pat-secret-value-123"), "{shown}");
    }
    let dir = std::env::temp_dir().join(format!("pats-zitadel-key-{}", std::process::id()));
    std::fs::write(&dir, &json).unwrap();
    assert!(ZitadelAuth::key_file_path(&dir).is_ok());
    std::fs::remove_file(&dir).unwrap();
    let missing = ZitadelAuth::key_file_path("/nonexistent/key.json").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn expires_in_is_honoured() {
    let sim = sim().await;
    let key_json = sim.register_test_key(BOT).unwrap();
    // Shorter than the 60 s refresh margin: reused for half its lifetime (15 s), not
    // exchanged anew on every call.
    sim.set_access_token_lifetime(30);
    let short = key_client(&sim, &key_json);
    short.list(&ListQuery::new().owner(BOT)).await.unwrap();
    short.list(&ListQuery::new().owner(BOT)).await.unwrap();
    assert_eq!(sim.token_exchanges(), 1);
    // An hour: the second call reuses the cached token.
    sim.set_access_token_lifetime(3600);
    let long = key_client(&sim, &key_json);
    long.list(&ListQuery::new().owner(BOT)).await.unwrap();
    long.list(&ListQuery::new().owner(BOT)).await.unwrap();
    assert_eq!(sim.token_exchanges(), 2);
}

#[tokio::test]
async fn a_huge_expires_in_is_clamped_not_a_panic() {
    for expires_in in [
        serde_json::json!(u64::MAX),
        serde_json::json!(i64::MAX),
        serde_json::json!(u64::MAX.to_string()),
    ] {
        let sim = sim().await;
        let key_json = sim.register_test_key(BOT).unwrap();
        // An access token the simulator accepts, with a lifetime that overflows any clock.
        sim.faults().inject(
            pats_sim::FaultRule::new(pats_sim::Fault::Status {
                status: 200,
                body: serde_json::json!({
                    "access_token": sim.admin_pat(),
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                }),
            })
            .path_contains("/oauth/v2/token")
            .times(1),
        );
        let client = key_client(&sim, &key_json);
        client.list(&ListQuery::new().owner(BOT)).await.unwrap();
        client.list(&ListQuery::new().owner(BOT)).await.unwrap();
        assert_eq!(sim.token_exchanges(), 0, "{expires_in}");
        let expected = format!("Bearer {}", sim.admin_pat());
        for r in api_requests(&sim).await {
            assert_eq!(header(&r, "authorization"), Some(expected.as_str()));
        }
    }
}

/// An access token a bearer header cannot carry is the token endpoint's fault: `Decode`,
/// before any API request, not the caller's `InvalidInput`.
#[tokio::test]
async fn an_unusable_access_token_is_decode_not_invalid_input() {
    for bad in ["", "two words", "line\nbreak", "caf\u{e9}"] {
        let sim = sim().await;
        let key_json = sim.register_test_key(BOT).unwrap();
        sim.faults().inject(
            pats_sim::FaultRule::new(pats_sim::Fault::Status {
                status: 200,
                body: serde_json::json!({"access_token": bad, "expires_in": 600}),
            })
            .path_contains("/oauth/v2/token")
            .times(1),
        );
        let client = key_client(&sim, &key_json);
        let err = client.list(&ListQuery::new().owner(BOT)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{bad:?}: {err}");
        assert!(err.to_string().contains("access_token"), "{err}");
        assert!(api_requests(&sim).await.is_empty(), "{bad:?}");
    }
}
