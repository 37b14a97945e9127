//! Client-credentials caching and refresh, static bearer tokens, and secrets in output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::{client, header};
use pats_core::{
    CreateToken, ErrorKind, Expiry, ListQuery, PersonalAccessTokens, PersonalAccessTokensExt,
};
use pats_sailpoint::{ApiVersion, ListTokens, NewToken, SailPointClient};
use pats_sim::sailpoint::SailPointSim;
use pats_sim::{Fault, FaultRule};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_calls_on_a_cold_client_make_one_token_request() {
    let sim = SailPointSim::start().await;
    let clock = pats_core::VirtualClock::new();
    let client = common::client_with_clock(&sim, ApiVersion::V3, &clock);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list(&ListQuery::new()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(sim.token_requests().await.len(), 1);
    assert_eq!(sim.api_requests().await.len(), 100);
    // The default limit is 100 requests per 10 s per token: the 101st is refused, retried
    // after each Retry-After (at most 10 s) until the attempts run out, then surfaced.
    let err = client.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    assert!(
        sleeps
            .iter()
            .all(|d| *d > Duration::ZERO && *d <= Duration::from_secs(10)),
        "{sleeps:?}"
    );
    assert_eq!(sim.api_requests().await.len(), 104);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_without_the_caller_noticing() {
    let sim = SailPointSim::start().await;
    let client = client(&sim, ApiVersion::V3);
    client.list_tokens(&ListTokens::new()).await.unwrap();
    sim.expire_access_tokens();
    // A list (idempotent) and a create (not idempotent: a 401 means nothing happened).
    client.list_tokens(&ListTokens::new()).await.unwrap();
    sim.expire_access_tokens();
    let created = client
        .create_token(
            &NewToken::new("after-expiry")
                .expires_at(time::OffsetDateTime::now_utc() + time::Duration::days(1)),
        )
        .await
        .unwrap();
    assert_eq!(created.pat.name, "after-expiry");
    assert_eq!(sim.token_requests().await.len(), 3);
    let api = sim.api_requests().await;
    let methods: Vec<_> = api.iter().map(|r| r.method.as_str().to_owned()).collect();
    assert_eq!(methods, ["GET", "GET", "GET", "POST", "POST"]);
    // The replay used the new token.
    assert_ne!(
        header(&api[1], "authorization"),
        header(&api[2], "authorization")
    );
    assert_eq!(sim.stored_tokens().len(), 1);
}

#[tokio::test]
async fn a_short_lived_token_is_reused_for_half_its_lifetime() {
    let sim = SailPointSim::start().await;
    // 30 s tokens with the default 60 s margin: reused for 15 s, not fetched on every call.
    sim.set_token_lifetime(Duration::from_secs(30));
    let client = client(&sim, ApiVersion::V3);
    client.list_tokens(&ListTokens::new()).await.unwrap();
    client.list_tokens(&ListTokens::new()).await.unwrap();
    assert_eq!(sim.token_requests().await.len(), 1);
    // No request was ever refused.
    assert_eq!(sim.api_requests().await.len(), 2);
    // With a 10 s margin the 30 s token is reused too.
    let cached = SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials(
            SailPointSim::CLIENT_ID,
            SecretString::from(SailPointSim::CLIENT_SECRET),
        )
        .token_refresh_margin(Duration::from_secs(10))
        .build()
        .unwrap();
    cached.list_tokens(&ListTokens::new()).await.unwrap();
    cached.list_tokens(&ListTokens::new()).await.unwrap();
    assert_eq!(sim.token_requests().await.len(), 2);
}

#[tokio::test]
async fn a_huge_expires_in_is_clamped_not_a_panic() {
    for expires_in in [
        serde_json::json!(u64::MAX),
        serde_json::json!(i64::MAX),
        serde_json::json!(u64::MAX.to_string()),
    ] {
        let sim = SailPointSim::start().await;
        let token = sim.issue_access_token(SailPointSim::IDENTITY_ID);
        sim.faults().inject(
            FaultRule::new(Fault::Status {
                status: 200,
                body: serde_json::json!({
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": expires_in,
                }),
            })
            .path_contains("/oauth/token")
            .times(1),
        );
        let client = client(&sim, ApiVersion::V3);
        client.list_tokens(&ListTokens::new()).await.unwrap();
        client.list_tokens(&ListTokens::new()).await.unwrap();
        assert_eq!(sim.token_requests().await.len(), 1, "{expires_in}");
        let expected = format!("Bearer {token}");
        for r in sim.api_requests().await {
            assert_eq!(header(&r, "authorization"), Some(expected.as_str()));
        }
    }
}

/// An access token a bearer header cannot carry is the token endpoint's fault: `Decode`,
/// before any API request, not the caller's `InvalidInput`.
#[tokio::test]
async fn an_unusable_access_token_is_decode_not_invalid_input() {
    for bad in ["", "two words", "line\nbreak", "tab\there", "caf\u{e9}"] {
        let sim = SailPointSim::start().await;
        sim.faults().inject(
            FaultRule::new(Fault::Status {
                status: 200,
                body: serde_json::json!({"access_token": bad, "expires_in": 600}),
            })
            .path_contains("/oauth/token")
            .times(1),
        );
        let client = client(&sim, ApiVersion::V3);
        let err = client.list_tokens(&ListTokens::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{bad:?}: {err}");
        assert!(err.to_string().contains("access_token"), "{err}");
        assert!(sim.api_requests().await.is_empty(), "{bad:?}");
    }
}

#[tokio::test]
async fn with_the_token_endpoint_down_a_thousand_calls_share_one_bounded_fetch() {
    let sim = SailPointSim::start().await;
    sim.faults()
        .inject(FaultRule::new(Fault::status(503)).path_contains("/oauth/token"));
    let clock = pats_core::VirtualClock::new();
    let client = common::client_with_clock(&sim, ApiVersion::V3, &clock);
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list_tokens(&ListTokens::new()).await })
        })
        .collect();
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        assert_eq!(err.status(), Some(503), "{err:?}");
    }
    // Callers that came after a failed fetch start another one; on this single-threaded
    // runtime all thousand are waiting before the first fetch can end.
    // The default policy: 4 attempts (3 waits), once for all callers.
    assert_eq!(sim.token_requests().await.len(), 4);
    assert_eq!(clock.sleeps().len(), 3);
    assert!(pats_core::Clock::now(&clock) <= pats_core::RetryPolicy::default().budget);
    assert_eq!(sim.api_requests().await.len(), 0);
}

#[tokio::test]
async fn static_bearer_tokens_work_and_are_not_refreshed() {
    let sim = SailPointSim::start().await;
    let token = sim.issue_access_token(SailPointSim::IDENTITY_ID);
    let client = SailPointClient::builder()
        .base_url(sim.uri())
        .bearer_token(SecretString::from(token.clone()))
        .build()
        .unwrap();
    client.list_tokens(&ListTokens::new()).await.unwrap();
    let expected = format!("Bearer {token}");
    assert_eq!(
        header(&sim.api_requests().await[0], "authorization"),
        Some(expected.as_str())
    );
    sim.expire_access_tokens();
    let err = client.list_tokens(&ListTokens::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("JWT is expired"), "{err}");
    assert!(!format!("{err} {err:?} {client:?}").contains(&token));
    assert_eq!(sim.token_requests().await.len(), 0);
    assert_eq!(sim.api_requests().await.len(), 2);
}

#[tokio::test]
async fn a_pat_is_usable_as_client_credentials() {
    let sim = SailPointSim::start().await;
    let admin = client(&sim, ApiVersion::V3);
    let request = CreateToken::builder()
        .name("robot")
        .expiry(Expiry::In(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let created = admin.create(&request).await.unwrap();
    let as_pat = SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials(created.info.id.as_str(), created.secret)
        .build()
        .unwrap();
    let mine = as_pat.list(&ListQuery::new().owner("me")).await.unwrap();
    assert_eq!(mine.items.len(), 1);
    assert!(mine.items[0].last_used.is_some());
    let stale = admin
        .list_all(&ListQuery::new().never_used())
        .await
        .unwrap();
    assert!(stale.is_empty());
}

#[tokio::test]
async fn no_secret_or_token_in_debug_display_or_errors() {
    let sim = SailPointSim::start().await;
    let secret = "do-not-print-this-secret-1234";
    sim.register_client("cid-1", secret, "2c91-id-1", "One");
    let client = SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials("cid-1", SecretString::from(secret))
        .api_version(ApiVersion::V2025)
        .build()
        .unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(secret), "{debug}");
    assert!(debug.contains("cid-1"));
    client.list_tokens(&ListTokens::new()).await.unwrap();
    let bearer = header(&sim.api_requests().await[0], "authorization")
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_owned();
    assert_eq!(bearer.len(), 40);
    let debug = format!("{client:?}");
    assert!(!debug.contains(&bearer), "{debug}");

    let request = CreateToken::builder()
        .name("n")
        .expiry(Expiry::In(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let created = client.create(&request).await.unwrap();
    let pat_secret = created.secret.expose_secret().to_owned();
    assert_eq!(pat_secret.len(), 64);
    let shown = format!("{created:?} {:?}", created.info);
    assert!(!shown.contains(&pat_secret), "{shown}");
    assert!(!shown.contains(secret));
    let typed = client
        .create_token(
            &NewToken::new("typed")
                .expires_at(time::OffsetDateTime::now_utc() + time::Duration::days(1)),
        )
        .await
        .unwrap();
    let shown = format!("{typed:?}");
    assert!(!shown.contains(typed.secret.expose_secret()), "{shown}");

    // An issuer that echoes the secret: the error is scrubbed.
    let echo = SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials("cid-1", SecretString::from(secret))
        .build()
        .unwrap();
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 401,
            body: serde_json::json!({ "error": format!("invalid_client: bad secret {secret}") }),
        })
        .path_contains("/oauth/token")
        .times(1),
    );
    let err = echo.list_tokens(&ListTokens::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let text = format!("{err} {err:?}");
    assert!(!text.contains(secret), "{text}");

    // Wrong credentials.
    let wrong = SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials("cid-1", SecretString::from("wrong-secret-value-999"))
        .build()
        .unwrap();
    let err = wrong.list_tokens(&ListTokens::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-secret-value-999"));
}

#[test]
fn an_empty_secret_or_a_control_character_in_the_id_is_refused_at_build() {
    for (id, secret, field) in [
        ("cid-1", "", "client_secret"),
        ("cid\n1", "a-secret-value", "client_id"),
    ] {
        let err = SailPointClient::builder()
            .base_url("https://tenant.api.identitynow.com")
            .client_credentials(id, SecretString::from(secret))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.field(), Some(field), "{err:?}");
    }
}
