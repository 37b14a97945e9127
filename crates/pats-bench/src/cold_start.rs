//! Section 3: many concurrent calls on a fresh SailPoint client (client credentials): one
//! token request for all of them, and their latencies, against a hand-written floor (a
//! fresh `reqwest` client and a `tokio::sync::OnceCell` holding the token).

use crate::fixtures;
use crate::measure::{Result, Samples, done};
use crate::raw::{Raw, RawRequest};
use crate::report::{Report, Row};
use crate::server::{self, Incoming, Server};
use pats::reexports::reqwest::Method;
use pats::sailpoint::{ListTokens, SailPointClient};
use secrecy::SecretString;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const CLIENT_ID: &str = "bench-client-id";
const CLIENT_SECRET: &str = "bench-client-secret-value";

/// Runs `n` calls made by `make` at once; returns each call's latency (spawn to end).
async fn concurrently<F, Fut>(n: usize, make: F) -> Result<Vec<Duration>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let mut set = JoinSet::new();
    for _ in 0..n {
        let call = make();
        let start = Instant::now();
        set.spawn(async move { call.await.map(|()| start.elapsed()) });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        out.push(joined??);
    }
    Ok(out)
}

/// Section 3: `rounds` rounds of `n` concurrent list calls, each on a fresh client.
pub async fn section3(n: usize, rounds: usize, report: &mut Report) -> Result<()> {
    let token_requests = Arc::new(AtomicUsize::new(0));
    let counter = token_requests.clone();
    let oauth = server::json(&fixtures::sailpoint_oauth());
    let list = server::json(&fixtures::sailpoint_list(5));
    let server = Server::start(Arc::new(move |req: &Incoming<'_>| {
        match (req.method, req.target.split('?').next().unwrap_or_default()) {
            ("POST", "/oauth/token") => {
                counter.fetch_add(1, Ordering::SeqCst);
                oauth.clone()
            }
            ("GET", "/v3/personal-access-tokens") => list.clone(),
            _ => server::not_found(),
        }
    }))?;
    let uri = server.uri();
    let mut pats_latencies = Vec::new();
    let mut raw_latencies = Vec::new();
    let (mut pats_connections, mut raw_connections) = (0, 0);
    // Alternate which variant goes first, so that neither always meets the other's
    // closing connections.
    for round in 0..rounds {
        for first in [round % 2 == 0, round % 2 == 1] {
            let before = server.connections();
            if first {
                pats_latencies.extend(pats_round(&uri, n, round, &token_requests).await?);
                pats_connections += server.connections() - before;
            } else {
                raw_latencies.extend(raw_round(&uri, n, &token_requests).await?);
                raw_connections += server.connections() - before;
            }
        }
    }
    let p = Samples::new(pats_latencies);
    let r = Samples::new(raw_latencies);
    let ms = |v: f64| v / 1e6;
    report.rows.push(
        Row::new(
            2,
            format!("{n} concurrent list calls, fresh client: token requests"),
            1.0,
            "requests",
        )
        .note(format!("asserted exactly 1 in each of {rounds} rounds")),
    );
    report.rows.push(
        Row::new(2, "latency p50 (spawn to answer)", ms(p.median()), "ms")
            .floor(ms(r.median()))
            .note(format!(
                "floor: raw reqwest + tokio OnceCell single-flight token; connections opened per round: pats {}, raw {}",
                pats_connections / rounds.max(1),
                raw_connections / rounds.max(1)
            )),
    );
    report.rows.push(
        Row::new(2, "latency p99", ms(p.p99()), "ms")
            .floor(ms(r.p99()))
            .note(format!("{} calls per variant", p.len())),
    );
    Ok(())
}

/// One round of `n` concurrent calls on a fresh `pats` client; exactly one token request.
async fn pats_round(
    uri: &str,
    n: usize,
    round: usize,
    token_requests: &AtomicUsize,
) -> Result<Vec<Duration>> {
    settle().await;
    token_requests.store(0, Ordering::SeqCst);
    let client = Arc::new(
        SailPointClient::builder()
            .base_url(uri)
            .client_credentials(CLIENT_ID, SecretString::from(CLIENT_SECRET))
            .build()?,
    );
    let latencies = concurrently(n, || {
        let client = client.clone();
        async move { done(client.list_tokens(&ListTokens::new()).await) }
    })
    .await?;
    let fetched = token_requests.load(Ordering::SeqCst);
    if fetched != 1 {
        return Err(format!(
            "round {round}: {n} concurrent calls on a fresh client made {fetched} token requests, not exactly 1"
        )
        .into());
    }
    Ok(latencies)
}

/// The floor: a fresh raw client; the first task that needs the token fetches it.
async fn raw_round(uri: &str, n: usize, token_requests: &AtomicUsize) -> Result<Vec<Duration>> {
    settle().await;
    token_requests.store(0, Ordering::SeqCst);
    let raw = Arc::new(Raw::without_auth(uri)?);
    let token = Arc::new(tokio::sync::OnceCell::<String>::new());
    let form = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    );
    let latencies = concurrently(n, || {
        let (raw, token, form) = (raw.clone(), token.clone(), form.clone());
        async move {
            let bearer = token
                .get_or_try_init(|| async {
                    let answer = raw
                        .json(&RawRequest::new(Method::POST, "/oauth/token").form(form.clone()))
                        .await?;
                    answer["access_token"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| crate::measure::BoxError::from("no access_token"))
                })
                .await?;
            raw.json(
                &RawRequest::new(Method::GET, "/v3/personal-access-tokens")
                    .header("authorization", format!("Bearer {bearer}")),
            )
            .await
            .map(drop)
        }
    })
    .await?;
    if token_requests.load(Ordering::SeqCst) != 1 {
        return Err("the raw floor made more than one token request".into());
    }
    Ok(latencies)
}

/// Lets connections of dropped clients close before the next measurement.
pub async fn settle() {
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
