//! The surface every provider client shares (issue 26): builder shortcuts into the
//! transport options, `transport()`, `send()` for calls without a typed method, and
//! `token_info` for the wire model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_core::{CreateToken, ErrorKind, Expiry, PersonalAccessTokens, Request, RetryPolicy};
use pats_sailpoint::{ApiVersion, SailPointClient};
use pats_sim::sailpoint::SailPointSim;
use pats_sim::{Fault, FaultRule};
use secrecy::SecretString;
use std::time::Duration;

fn client(sim: &SailPointSim) -> SailPointClient {
    SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials(
            SailPointSim::CLIENT_ID,
            SecretString::from(SailPointSim::CLIENT_SECRET),
        )
        .api_version(ApiVersion::V3)
        .timeout(Duration::from_secs(7))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn builder_shortcuts_set_the_transport_options() {
    let sim = SailPointSim::start().await;
    let client = client(&sim);
    let options = client.transport().options();
    assert_eq!(options.timeout, Duration::from_secs(7));
    assert_eq!(options.retry, RetryPolicy::none());
    assert_eq!(
        client.transport().base_url().as_str(),
        format!("{}/", sim.uri())
    );
}

#[tokio::test]
async fn send_authenticates_and_maps_error_answers() {
    let sim = SailPointSim::start().await;
    let client = client(&sim);
    let created = client
        .create(
            &CreateToken::builder()
                .name("raw")
                .expiry(Expiry::In(Duration::from_secs(3600)))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let list =
        || Request::get("/v3/personal-access-tokens").segments(["v3", "personal-access-tokens"]);
    let answer = client.send(list()).await.unwrap();
    assert_eq!(answer.status(), 200);
    let tokens: Vec<pats_sailpoint::GetPersonalAccessTokenResponse> = answer.json().unwrap();
    // The typed view of a listed token, as the trait makes it.
    let infos: Vec<_> = tokens
        .into_iter()
        .map(|t| client.token_info(t).unwrap())
        .collect();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].id, created.info.id);
    assert_eq!(infos[0].name.as_deref(), Some("raw"));
    let sent = sim.requests().await;
    let last = sent.last().unwrap();
    assert_eq!(last.url.path(), "/v3/personal-access-tokens");
    let auth = last.headers.get("authorization").unwrap().to_str().unwrap();
    assert!(auth.starts_with("Bearer "), "{auth}");

    sim.faults().inject(
        FaultRule::new(Fault::status(403))
            .path_contains("personal-access-tokens")
            .times(1),
    );
    let refused = client.send(list()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied, "{refused}");
}
