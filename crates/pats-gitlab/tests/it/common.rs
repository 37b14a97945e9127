#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pats_core::{ClientOptions, RetryPolicy, VirtualClock};
use pats_gitlab::GitLabClient;
use pats_sim::gitlab::GitLabSim;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// A simulator with an administrator (`root`, id 1) and a user (`alice`, id 2), each with
/// an `api` token.
pub struct World {
    pub sim: GitLabSim,
    pub admin: u64,
    pub alice: u64,
    pub admin_token: String,
    pub alice_token: String,
}

pub async fn world() -> World {
    let sim = GitLabSim::start().await;
    let admin = sim.seed_user("root", true);
    let alice = sim.seed_user("alice", false);
    let admin_token = sim.seed_token(admin, "admin", &["api"]);
    let alice_token = sim.seed_token(alice, "alice", &["api"]);
    World {
        sim,
        admin,
        alice,
        admin_token,
        alice_token,
    }
}

pub fn options(clock: &VirtualClock) -> ClientOptions {
    ClientOptions::default()
        .with_clock(Arc::new(clock.clone()))
        .with_retry(RetryPolicy::default().with_jitter(0.0))
        .with_timeout(Duration::from_secs(10))
}

pub fn client(sim: &GitLabSim, token: &str) -> GitLabClient {
    client_with_clock(sim, token, &VirtualClock::new())
}

pub fn client_with_clock(sim: &GitLabSim, token: &str, clock: &VirtualClock) -> GitLabClient {
    GitLabClient::builder()
        .base_url(sim.uri())
        .token(SecretString::from(token.to_owned()))
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

/// `(method, path, query)` of a request.
pub fn line(r: &pats_sim::Request) -> (String, String, Option<String>) {
    (
        r.method.to_string(),
        r.url.path().to_owned(),
        r.url.query().map(str::to_owned),
    )
}

/// The last request the simulator received.
pub async fn last(sim: &GitLabSim) -> pats_sim::Request {
    sim.requests().await.pop().expect("a request")
}
