//! 429 handling: honoured on idempotent calls, surfaced on creates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::client_with_clock;
use pats_core::{CreateToken, ErrorKind, Expiry, VirtualClock};
use pats_core::{ListQuery, PersonalAccessTokens};
use pats_sailpoint::ApiVersion;
use pats_sim::sailpoint::SailPointSim;
use pats_sim::{Fault, FaultRule};
use std::time::Duration;

fn request(name: &str) -> CreateToken {
    CreateToken::builder()
        .name(name)
        .expiry(Expiry::In(Duration::from_secs(86_400)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn retry_after_is_honoured_on_list() {
    let sim = SailPointSim::start().await;
    let clock = VirtualClock::new();
    let client = client_with_clock(&sim, ApiVersion::V3, &clock);
    client.create(&request("a")).await.unwrap();
    sim.faults().inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(2),
        })
        .method("GET")
        .times(1),
    );
    let page = client.list(&ListQuery::new()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
    let gets = sim
        .api_requests()
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(gets, 2);
}

#[tokio::test]
async fn the_simulators_limiter_answers_429_with_retry_after() {
    let sim = SailPointSim::start().await;
    sim.set_rate_limit(2, Duration::from_secs(10));
    let clock = VirtualClock::new();
    let client = client_with_clock(&sim, ApiVersion::V3, &clock);
    client.create(&request("a")).await.unwrap();
    client.create(&request("b")).await.unwrap();
    let err = client.create(&request("c")).await.unwrap_err();
    match (err.kind(), err.retry_after(), err.api_error()) {
        (ErrorKind::RateLimited, Some(after), Some(error)) => {
            assert!(
                after > Duration::ZERO && after <= Duration::from_secs(10),
                "{after:?}"
            );
            assert_eq!(error.status, 429);
            assert_eq!(error.message, "Rate Limit Exceeded");
        }
        _ => panic!("{err:?}"),
    }
    // The create was sent once, not retried, and nothing was created.
    assert_eq!(sim.api_requests().await.len(), 3);
    assert_eq!(sim.stored_tokens().len(), 2);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_429_on_create_is_surfaced_as_rate_limited() {
    let sim = SailPointSim::start().await;
    let clock = VirtualClock::new();
    let client = client_with_clock(&sim, ApiVersion::V2025, &clock);
    sim.faults().inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(3),
        })
        .method("POST")
        .path_contains("personal-access-tokens")
        .times(1),
    );
    let err = client.create(&request("x")).await.unwrap_err();
    assert!(
        (err.kind(), err.retry_after()) == (ErrorKind::RateLimited, Some(Duration::from_secs(3))),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(sim.api_requests().await.len(), 1);
    assert!(clock.sleeps().is_empty());
    assert!(sim.stored_tokens().is_empty());
}
