//! The surface every provider client shares (issue 26): builder shortcuts into the
//! transport options, `transport()`, `send()` for calls without a typed method, and
//! `token_info` for the wire model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{BOT, builder, sim};
use pats_core::{ErrorKind, Request, RetryPolicy};
use pats_sim::zitadel::ZitadelSim;
use pats_sim::{Fault, FaultRule};
use pats_zitadel::{ApiVersion, ORG_HEADER, V2ListPatsResponse};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn send_carries_the_organization_and_maps_error_answers() {
    let sim = sim().await;
    sim.seed_pats(BOT, 2);
    let client = builder(&sim, ApiVersion::V2)
        .organization(ZitadelSim::DEFAULT_ORG)
        .timeout(Duration::from_secs(7))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let options = client.transport().options();
    assert_eq!(options.timeout, Duration::from_secs(7));
    assert_eq!(options.retry, RetryPolicy::none());

    let list = || {
        Request::post("/zitadel.user.v2.UserService/ListPersonalAccessTokens")
            .segments(["zitadel.user.v2.UserService", "ListPersonalAccessTokens"])
            .json(&json!({}))
            .unwrap()
    };
    let answer: V2ListPatsResponse = client.send(list()).await.unwrap().json().unwrap();
    let sent = sim.requests().await;
    let last = sent.last().unwrap();
    assert_eq!(
        last.headers.get(ORG_HEADER).unwrap().to_str().unwrap(),
        ZitadelSim::DEFAULT_ORG
    );
    // The typed view of a listed token, as the trait makes it (without the name lookup).
    let infos: Vec<_> = answer
        .result
        .into_iter()
        .map(|pat| client.token_info(pat).unwrap())
        .collect();
    // The two seeded for BOT, beside the admin's own.
    let bots = infos
        .iter()
        .filter(|i| i.owner.as_ref().unwrap().id == BOT)
        .count();
    assert_eq!(bots, 2, "{infos:?}");
    assert!(infos.iter().all(|i| i.name.is_none()));

    sim.faults().inject(
        FaultRule::new(Fault::status(403))
            .path_contains("ListPersonalAccessTokens")
            .times(1),
    );
    let refused = client.send(list()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied, "{refused}");
}
