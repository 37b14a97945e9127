//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pats_core::{ClientOptions, VirtualClock};
use pats_sim::zitadel::ZitadelSim;
use pats_zitadel::{ApiVersion, ZitadelAuth, ZitadelClient, ZitadelClientBuilder};
use serde_json::Value;
use std::sync::Arc;

/// The machine user the tests manage tokens of.
pub const BOT: &str = "250000000000000001";

/// Options with a virtual clock (retries do not wait).
pub fn options() -> (ClientOptions, VirtualClock) {
    let clock = VirtualClock::new();
    (
        ClientOptions::default().with_clock(Arc::new(clock.clone())),
        clock,
    )
}

/// A simulator with machine user [`BOT`] in the default organization.
pub async fn sim() -> ZitadelSim {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user(ZitadelSim::DEFAULT_ORG, BOT);
    sim
}

/// A builder authenticated with the simulator's admin PAT.
pub fn builder(sim: &ZitadelSim, api: ApiVersion) -> ZitadelClientBuilder {
    ZitadelClient::builder()
        .base_url(sim.uri())
        .auth(ZitadelAuth::pat(sim.admin_pat().into()))
        .api_version(api)
        .options(options().0)
}

/// A client with `default_user(BOT)`.
pub fn client(sim: &ZitadelSim, api: ApiVersion) -> ZitadelClient {
    builder(sim, api).default_user(BOT).build().unwrap()
}

/// The API requests received (token exchanges left out).
pub async fn api_requests(sim: &ZitadelSim) -> Vec<pats_sim::Request> {
    sim.requests()
        .await
        .into_iter()
        .filter(|r| r.url.path() != "/oauth/v2/token")
        .collect()
}

/// A header's value.
pub fn header<'a>(r: &'a pats_sim::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

/// The JSON body.
pub fn body(r: &pats_sim::Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}
