//! Shared test setup: a simulator, a registered user and a client signing as them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pats_core::{ClientOptions, RetryPolicy, VirtualClock};
use pats_dfns::{DfnsClient, P256Signer};
use pats_sim::dfns::{DfnsSim, RegisteredUser};
use secrecy::SecretString;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub struct Env {
    pub sim: DfnsSim,
    pub user: RegisteredUser,
    pub client: DfnsClient,
    pub clock: VirtualClock,
}

pub fn signer(user: &RegisteredUser) -> P256Signer {
    P256Signer::from_pkcs8_pem(
        user.credential_id.clone(),
        &SecretString::from(user.private_key_pem.clone()),
    )
    .unwrap()
}

pub fn options(clock: &VirtualClock) -> ClientOptions {
    ClientOptions::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy::default().with_jitter(0.0))
        .with_clock(Arc::new(clock.clone()))
}

pub fn client(sim: &DfnsSim, user: &RegisteredUser, clock: &VirtualClock) -> DfnsClient {
    DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(SecretString::from(user.auth_token.clone()))
        .signer(signer(user))
        .options(options(clock))
        .build()
        .unwrap()
}

pub async fn env() -> Env {
    let sim = DfnsSim::start().await;
    let user = sim.register_user();
    let clock = VirtualClock::new();
    let client = client(&sim, &user, &clock);
    Env {
        sim,
        user,
        client,
        clock,
    }
}

pub fn body_json(r: &pats_sim::Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

pub fn header<'a>(r: &'a pats_sim::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// `(method, path)` of every request received, in order.
pub async fn calls(sim: &DfnsSim) -> Vec<(String, String)> {
    sim.received_requests()
        .await
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect()
}

pub fn pair(m: &str, p: &str) -> (String, String) {
    (m.to_owned(), p.to_owned())
}

/// `request`, marked as sent off the contract on purpose (to see the simulator refuse it),
/// so that the contract checks do not count it as a pats violation.
pub fn off_contract(request: pats_core::Request) -> pats_core::Request {
    use pats_core::reexports::reqwest::header::{HeaderName, HeaderValue};
    request.header(
        HeaderName::from_static(pats_sim::OFF_CONTRACT_HEADER),
        HeaderValue::from_static("deliberate"),
    )
}
