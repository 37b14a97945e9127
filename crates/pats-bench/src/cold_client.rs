//! Section 3, cold client: constructing many SailPoint clients (one per tenant), time and
//! heap per client, against a floor in the same run: structs holding a clone of one
//! prebuilt `reqwest::Client` and the same configuration strings (what a client must hold
//! at least). The first pats client of the run is built before timing (it builds the
//! shared TLS configuration and HTTP client once per process, as any program's first does).

use crate::alloc;
use crate::measure::Result;
use crate::report::{Report, Row};
use pats::reexports::reqwest;
use pats::sailpoint::SailPointClient;
use secrecy::SecretString;
use std::hint::black_box;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "bench-client-id";
const CLIENT_SECRET: &str = "bench-client-secret-value";

/// The goal: constructing a client costs at most 0.1 ms.
pub const GOAL_US: f64 = 100.0;

/// What the floor holds per client: the HTTP client and the configuration.
struct Floor {
    http: reqwest::Client,
    base: url::Url,
    client_id: String,
    secret: SecretString,
}

fn tenant_url(base: &str, i: usize) -> String {
    // Every tenant its own base URL path: no sharing of anything but what pats shares.
    format!("{base}/tenant-{i}")
}

/// Builds `n` clients with `make` and keeps them; (time per client, heap bytes per client).
fn construct<T>(n: usize, mut make: impl FnMut(usize) -> Result<T>) -> Result<(Duration, f64)> {
    let mut kept = Vec::with_capacity(n);
    let heap_before = alloc::current();
    let start = Instant::now();
    for i in 0..n {
        kept.push(make(i)?);
    }
    let elapsed = start.elapsed();
    let heap = alloc::current().saturating_sub(heap_before);
    black_box(&kept);
    drop(kept);
    let n_f = n.max(1) as f64;
    Ok((elapsed / u32::try_from(n.max(1))?, heap as f64 / n_f))
}

/// Section 3's cold-client rows: `n` clients per variant, `rounds` alternating rounds
/// (best round kept for each, so that load from elsewhere weighs least).
pub async fn section3_cold_client(n: usize, rounds: usize, report: &mut Report) -> Result<()> {
    let base = "https://tenant.api.identitynow.com";
    // The process's first client pays the one-time set-up; it is reported on its own.
    let first = Instant::now();
    let warm = SailPointClient::builder()
        .base_url(base)
        .client_credentials(CLIENT_ID, SecretString::from(CLIENT_SECRET))
        .build()?;
    let first = first.elapsed();
    drop(warm);
    let shared_http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut pats_best: Option<(Duration, f64)> = None;
    let mut floor_best: Option<(Duration, f64)> = None;
    let keep_best = |best: &mut Option<(Duration, f64)>, got: (Duration, f64)| {
        if best.is_none_or(|b| got.0 < b.0) {
            *best = Some(got);
        }
    };
    for round in 0..rounds.max(1) {
        for pats_first in [round % 2 == 0, round % 2 == 1] {
            if pats_first {
                let got = construct(n, |i| {
                    Ok(SailPointClient::builder()
                        .base_url(tenant_url(base, i))
                        .client_credentials(CLIENT_ID, SecretString::from(CLIENT_SECRET))
                        .build()?)
                })?;
                keep_best(&mut pats_best, got);
            } else {
                let got = construct(n, |i| {
                    Ok(Floor {
                        http: shared_http.clone(),
                        base: url::Url::parse(&tenant_url(base, i))?,
                        client_id: CLIENT_ID.to_owned(),
                        secret: SecretString::from(CLIENT_SECRET),
                    })
                })?;
                keep_best(&mut floor_best, got);
            }
        }
        tokio::task::yield_now().await;
    }
    let (pats, floor) = match (pats_best, floor_best) {
        (Some(p), Some(f)) => (p, f),
        _ => return Err("no round ran".into()),
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    report.rows.push(
        Row::new(
            2,
            format!("{n} SailPoint clients constructed: time per client"),
            us(pats.0),
            "µs",
        )
        .floor(us(floor.0))
        .at_most(GOAL_US)
        .note(format!(
            "floor: a struct holding a clone of one prebuilt reqwest::Client, the parsed base URL and the credentials; best of {} alternating rounds; the process's first client (one-time TLS and HTTP set-up): {:.0} µs",
            rounds.max(1),
            us(first)
        )),
    );
    report.rows.push(
        Row::new(2, "heap per constructed client", pats.1, "bytes")
            .floor(floor.1)
            .note("live heap growth while all n clients are held, divided by n"),
    );
    // Fields the floor reads, so that it is what it claims to hold.
    let f = Floor {
        http: shared_http,
        base: url::Url::parse(base)?,
        client_id: CLIENT_ID.to_owned(),
        secret: SecretString::from(CLIENT_SECRET),
    };
    black_box((&f.http, f.base.as_str(), f.client_id.len(), &f.secret));
    Ok(())
}
