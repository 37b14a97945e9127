#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pats_core::{ClientOptions, RetryPolicy, VirtualClock};
use pats_sailpoint::{ApiVersion, SailPointClient};
use pats_sim::sailpoint::SailPointSim;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

pub fn options(clock: &VirtualClock) -> ClientOptions {
    ClientOptions::default()
        .with_clock(Arc::new(clock.clone()))
        .with_retry(RetryPolicy::default().with_jitter(0.0))
        .with_timeout(Duration::from_secs(10))
}

pub fn client(sim: &SailPointSim, version: ApiVersion) -> SailPointClient {
    client_with_clock(sim, version, &VirtualClock::new())
}

pub fn client_with_clock(
    sim: &SailPointSim,
    version: ApiVersion,
    clock: &VirtualClock,
) -> SailPointClient {
    SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials(
            SailPointSim::CLIENT_ID,
            SecretString::from(SailPointSim::CLIENT_SECRET),
        )
        .api_version(version)
        .options(options(clock))
        .build()
        .unwrap()
}

pub fn header<'a>(r: &'a pats_sim::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn json(r: &pats_sim::Request) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}
