//! Section 6: the emulator (`pats-sim`) as a server other programs use: how many PAT lists
//! it answers per second, how much memory a stored token costs, and how fast it starts.
//!
//! - **Throughput**: `GET /v3/personal-access-tokens` with 20 stored tokens (created
//!   through the real create path), on the emulator started in-process with 2 server
//!   threads, driven for a fixed time by a load generator: `N` keep-alive HTTP/1.1
//!   connections on raw Tokio sockets (one request in flight per connection, no
//!   pipelining), on one thread of its own. The floor is a minimal hyper server on the
//!   same stack (hyper-util's auto builder, 2 worker threads) answering the emulator's
//!   exact bytes, so `emulator / floor` is the emulator's own cost. A second emulator with
//!   its request log off shows what the log costs. Variants take turns in rounds.
//!   The per-token rate limit is lifted (`set_rate_limit(usize::MAX, 10 s)`: the limiter
//!   still runs); the `contract` feature of pats-sim is off in this crate.
//! - **Capacity**: heap bytes per stored token from the counting allocator, against the
//!   bytes of one token on the wire, for each provider: `SailPointSim::seed_bulk(n)`
//!   (1,000,000 tokens), ZITADEL's `seed_pats` and Dfns's `seed_pat` (a tenth of that: each
//!   Dfns token mints its signed access token). Target: at most 400 bytes.
//! - **Writes**: with a state file, the time of one SailPoint create (a journal line,
//!   synced, before the answer) when 10 tokens are stored, and when 10,000 are; the floor
//!   of the first is the same create on an emulator without a state file, the floor of the
//!   second is the first. Target: the second at most 5× the first. Sequential requests on
//!   one keep-alive connection; medians.
//! - **Startup**: from `pats_sim::start` to the first answered `GET /_pats_sim/health`,
//!   against the same for the minimal hyper server; and from spawning the release
//!   `pats-sim serve` binary to its first answer, against spawning `pats-sim --help` to
//!   its exit (the process's own cost). Medians; target ≤ 50 ms.

use crate::alloc;
use crate::measure::{BoxError, Result, Samples};
use crate::report::{Report, Row};
use bytes::Bytes;
use pats_sim::sailpoint::SailPointSim;
use pats_sim::zitadel::ZitadelSim;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The section's index in [`crate::report::SECTIONS`].
pub const SECTION: usize = 5;

/// The issue's targets.
pub const TARGET_REQUESTS_PER_SECOND: f64 = 20_000.0;
/// Startup to first answer, at most.
pub const TARGET_STARTUP_MS: f64 = 50.0;
/// Heap per stored token, at most.
pub const TARGET_BYTES_PER_TOKEN: f64 = 400.0;
/// A write at 10,000 tokens, at most this many times a write at 10.
pub const TARGET_WRITE_GROWTH: f64 = 5.0;

const LIST_PATH: &str = "/v3/personal-access-tokens";
const HEALTH_PATH: &str = "/_pats_sim/health";

/// How much to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Concurrent connections of the load generator.
    pub connections: usize,
    /// Measured time per variant and round.
    pub duration: Duration,
    /// Warm-up time per variant (not measured), before the rounds.
    pub warmup: Duration,
    /// Rounds (every variant once per round, in a rotating order).
    pub rounds: usize,
    /// Tokens stored for the capacity figure.
    pub bulk: usize,
    /// Creates timed per write-cost figure.
    pub writes: usize,
    /// Startups measured per variant.
    pub startups: usize,
    /// Whether to spawn the release binary.
    pub binary: bool,
}

impl Sizes {
    /// The full run.
    pub fn full() -> Self {
        Self {
            connections: 16,
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            rounds: 3,
            bulk: 1_000_000,
            writes: 201,
            startups: 21,
            binary: true,
        }
    }

    /// The quick test-mode run: tiny sizes, no binary.
    pub fn quick() -> Self {
        Self {
            connections: 2,
            duration: Duration::from_millis(50),
            warmup: Duration::ZERO,
            rounds: 1,
            bulk: 1000,
            writes: 5,
            startups: 1,
            binary: false,
        }
    }
}

/// Section 6. Runs its own load-generator runtime, so call it outside any runtime.
pub fn section6(sizes: Sizes, report: &mut Report) -> Result<()> {
    // Startup first and capacity last: a start right after an emulator holding 1,000,000
    // tokens was dropped in the same process took 1.4 s once (the allocator consolidating
    // millions of freed chunks on the next large request), which is not what startup means.
    eprintln!("section 6: emulator startup ...");
    startup(sizes, report)?;
    eprintln!("section 6: emulator throughput ...");
    throughput(sizes, report)?;
    eprintln!("section 6: emulator writes with a state file ...");
    writes(sizes.writes, report)?;
    eprintln!("section 6: emulator capacity ({} tokens) ...", sizes.bulk);
    capacity(sizes.bulk, report)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Throughput

/// One emulator answering the list, and how to reach it.
struct Target {
    _emulator: pats_sim::Emulator,
    addr: SocketAddr,
    request: Arc<[u8]>,
    key_file: Option<PathBuf>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(file) = self.key_file.take() {
            let _ = std::fs::remove_file(file);
        }
    }
}

fn addr_of(uri: &str) -> Result<SocketAddr> {
    Ok(uri
        .strip_prefix("http://")
        .ok_or("not an http:// URI")?
        .parse()?)
}

fn key_file(emulator: &pats_sim::Emulator) -> Option<PathBuf> {
    emulator
        .env(None)
        .into_iter()
        .find(|(k, _)| k == "ZITADEL_KEY_FILE")
        .map(|(_, v)| PathBuf::from(v))
}

/// An emulator with 2 server threads, 20 tokens created through the real create path, the
/// rate limit lifted, and a bearer; `request_log`: how many requests it remembers.
fn seeded_emulator(request_log: Option<usize>) -> Result<Target> {
    let mut options = pats_sim::Options::default().threads(2);
    if let Some(n) = request_log {
        options.request_log = n;
    }
    let emulator = pats_sim::start(options)?;
    let key_file = key_file(&emulator);
    let sailpoint = emulator.sailpoint();
    for i in 0..20 {
        sailpoint
            .seed_pat(&format!("bench-{i:02}"))
            .ok_or("the emulator refused to create a token")?;
    }
    sailpoint.set_rate_limit(usize::MAX, Duration::from_secs(10));
    let bearer = sailpoint.issue_access_token(SailPointSim::IDENTITY_ID);
    let addr = addr_of(&sailpoint.uri())?;
    let request = format!(
        "GET {LIST_PATH} HTTP/1.1\r\nhost: {addr}\r\naccept: application/json\r\nauthorization: Bearer {bearer}\r\n\r\n"
    );
    Ok(Target {
        _emulator: emulator,
        addr,
        request: request.into_bytes().into(),
        key_file,
    })
}

/// A minimal hyper server (the emulator's stack: hyper-util's auto builder) answering
/// `body` as JSON to every request, on its own thread and a runtime of `threads` workers.
pub struct Floor {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Floor {
    /// Binds a free loopback port and serves.
    pub fn start(body: Bytes, threads: usize) -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = if threads <= 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("bench-floor")
                .enable_all()
                .build()?
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-floor".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let accept = async {
                        while let Ok((stream, _)) = listener.accept().await {
                            tokio::spawn(serve_floor(stream, body.clone()));
                        }
                    };
                    tokio::select! {
                        () = accept => {}
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// One connection of the floor server: every request is answered `body`, as JSON.
async fn serve_floor(stream: tokio::net::TcpStream, body: Bytes) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |_: hyper::Request<hyper::body::Incoming>| {
        let mut response = hyper::Response::new(http_body_util::Full::new(body.clone()));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        std::future::ready(Ok::<_, std::convert::Infallible>(response))
    });
    let builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let _ = builder
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

impl Drop for Floor {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Status and `content-length` of a response head.
fn parse_head(head: &[u8]) -> Result<(u16, usize)> {
    let head = std::str::from_utf8(head)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status in the answer")?;
    let length = head
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .ok_or("no content-length in the answer")?;
    Ok((status, length))
}

/// Sends `request` on `stream` and reads the whole answer into `buf` (cleared first);
/// returns the status and where the body starts.
async fn exchange(
    stream: &mut tokio::net::TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(u16, usize)> {
    stream.write_all(request).await?;
    buf.clear();
    let head_end = loop {
        if let Some(at) = find(buf, b"\r\n\r\n") {
            break at + 4;
        }
        if stream.read_buf(buf).await? == 0 {
            return Err("the server closed the connection".into());
        }
    };
    let (status, length) = parse_head(&buf[..head_end])?;
    let end = head_end + length;
    while buf.len() < end {
        buf.reserve(end - buf.len());
        if stream.read_buf(buf).await? == 0 {
            return Err("the server closed the connection mid-body".into());
        }
    }
    if buf.len() > end {
        return Err("the server sent more than one answer".into());
    }
    Ok((status, head_end))
}

/// One answer to `request` on a fresh connection: its body.
async fn fetch_body(addr: SocketAddr, request: &[u8]) -> Result<Vec<u8>> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(64 * 1024);
    let (status, body) = exchange(&mut stream, request, &mut buf).await?;
    if status != 200 {
        return Err(format!(
            "the list was answered {status}: {}",
            String::from_utf8_lossy(&buf[body..])
        )
        .into());
    }
    Ok(buf[body..].to_vec())
}

/// What one load run gave.
struct Load {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// `connections` keep-alive connections sending `request` back to back for `duration`;
/// every answer must be a 200 whose body is `expected_len` bytes long.
async fn load(
    addr: SocketAddr,
    request: Arc<[u8]>,
    expected_len: usize,
    connections: usize,
    duration: Duration,
) -> Result<Load> {
    // Connect first, so that connection setup is not part of the timed window.
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let start = Instant::now();
    let until = start + duration;
    let mut set = tokio::task::JoinSet::new();
    for mut stream in streams {
        let request = request.clone();
        set.spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut latencies = Vec::with_capacity(64 * 1024);
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let (status, body) = exchange(&mut stream, &request, &mut buf).await?;
                if status != 200 || buf.len() - body != expected_len {
                    return Err::<_, BoxError>(
                        format!(
                            "unexpected answer under load: {status}, {} bytes",
                            buf.len() - body
                        )
                        .into(),
                    );
                }
                latencies.push(sent.elapsed());
            }
            Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = set.join_next().await {
        latencies.extend(joined??);
    }
    Ok(Load {
        requests: latencies.len(),
        elapsed: start.elapsed(),
        latencies,
    })
}

#[derive(Default)]
struct Totals {
    requests: usize,
    allocations: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    rates: Vec<f64>,
}

impl Totals {
    fn add(&mut self, run: Load, allocations: usize) {
        self.allocations += allocations;
        self.rates
            .push(run.requests as f64 / run.elapsed.as_secs_f64().max(1e-9));
        self.requests += run.requests;
        self.elapsed += run.elapsed;
        self.latencies.extend(run.latencies);
    }

    fn allocations_per_request(&self) -> f64 {
        self.allocations as f64 / self.requests.max(1) as f64
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn spread(&self) -> String {
        let low = self.rates.iter().copied().fold(f64::INFINITY, f64::min);
        let high = self.rates.iter().copied().fold(0.0, f64::max);
        format!("rounds {low:.0} to {high:.0} req/s")
    }
}

fn throughput(sizes: Sizes, report: &mut Report) -> Result<()> {
    let emulator = seeded_emulator(None)?;
    let unlogged = seeded_emulator(Some(0))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let body = runtime.block_on(fetch_body(emulator.addr, &emulator.request))?;
    let listed = serde_json::from_slice::<serde_json::Value>(&body)?
        .as_array()
        .map_or(0, Vec::len);
    if listed != 20 {
        return Err(format!("the emulator listed {listed} tokens, not 20").into());
    }
    let floor = Floor::start(Bytes::from(body.clone()), 2)?;
    let floor_request: Arc<[u8]> = emulator.request.clone();
    if runtime.block_on(fetch_body(floor.addr(), &floor_request))? != body {
        return Err("the floor does not answer the emulator's bytes".into());
    }
    let variants: [(SocketAddr, Arc<[u8]>); 3] = [
        (floor.addr(), floor_request),
        (emulator.addr, emulator.request.clone()),
        (unlogged.addr, unlogged.request.clone()),
    ];
    let mut totals: [Totals; 3] = Default::default();
    runtime.block_on(async {
        if !sizes.warmup.is_zero() {
            for (addr, request) in &variants {
                load(
                    *addr,
                    request.clone(),
                    body.len(),
                    sizes.connections,
                    sizes.warmup,
                )
                .await?;
            }
        }
        for round in 0..sizes.rounds {
            for k in 0..variants.len() {
                let i = (round + k) % variants.len();
                let (addr, request) = &variants[i];
                let allocations = alloc::allocations();
                let run = load(
                    *addr,
                    request.clone(),
                    body.len(),
                    sizes.connections,
                    sizes.duration,
                )
                .await?;
                totals[i].add(run, alloc::allocations() - allocations);
            }
        }
        Ok::<(), BoxError>(())
    })?;
    drop(runtime);
    // What the emulator holds after the run (its request log, mostly): the heap its drop
    // frees, against the one whose log is off.
    let held = |target: Target| {
        let before = alloc::current();
        drop(target);
        before.saturating_sub(alloc::current())
    };
    let (held_logged, held_unlogged) = (held(emulator), held(unlogged));
    drop(floor);
    let [floor_t, emulator_t, unlogged_t] = totals;
    let (f, e, u) = (floor_t.rate(), emulator_t.rate(), unlogged_t.rate());
    let how = format!(
        "{} keep-alive HTTP/1.1 connections, one request in flight each, {} rounds of {:.2} s per variant; load generator: 1 thread in the same process; body {} bytes",
        sizes.connections,
        sizes.rounds,
        sizes.duration.as_secs_f64(),
        body.len()
    );
    report.rows.push(
        Row::new(
            SECTION,
            "emulator: SailPoint list of 20 tokens, 2 server threads",
            e,
            "req/s",
        )
        .floor(f)
        .at_least(TARGET_REQUESTS_PER_SECOND)
        .note(format!(
            "floor: minimal hyper server (same stack, 2 threads) answering the same bytes, {}; emulator {}; {how}",
            floor_t.spread(),
            emulator_t.spread()
        )),
    );
    report.rows.push(
        Row::new(SECTION, "emulator with its request log off", u, "req/s")
            .floor(f)
            .at_least(TARGET_REQUESTS_PER_SECOND)
            .note(format!(
                "`Options::request_log = 0` (the default keeps 100,000 requests); {}",
                unlogged_t.spread()
            )),
    );
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    report.rows.push(
        Row::new(
            SECTION,
            "allocations per request: emulator",
            emulator_t.allocations_per_request(),
            "allocs",
        )
        .floor(floor_t.allocations_per_request())
        .note(format!(
            "the whole process (load generator included, the same for every variant); request log off: {:.0}; counted by the allocator",
            unlogged_t.allocations_per_request()
        )),
    );
    report.rows.push(
        Row::new(
            SECTION,
            "heap the emulator holds after the run",
            mib(held_logged),
            "MiB",
        )
        .floor(mib(held_unlogged))
        .note(format!(
            "freed when it stops, after {} requests; floor: the emulator with its request log off, after {}",
            emulator_t.requests, unlogged_t.requests
        )),
    );
    let ms = |v: f64| v / 1e6;
    for (name, t, floor_t) in [
        ("emulator latency", &emulator_t, &floor_t),
        ("emulator latency, request log off", &unlogged_t, &floor_t),
    ] {
        let s = Samples::new(t.latencies.iter().copied());
        let fl = Samples::new(floor_t.latencies.iter().copied());
        report.rows.push(
            Row::new(SECTION, format!("{name} p50"), ms(s.median()), "ms")
                .floor(ms(fl.median()))
                .note(format!(
                    "under load ({} connections), send to whole answer",
                    sizes.connections
                )),
        );
        report.rows.push(
            Row::new(SECTION, format!("{name} p99"), ms(s.p99()), "ms")
                .floor(ms(fl.p99()))
                .note(format!("{} requests", s.len())),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Capacity

fn capacity(n: usize, report: &mut Report) -> Result<()> {
    let before_start = alloc::current();
    let emulator = pats_sim::start(pats_sim::Options::default())?;
    let key = key_file(&emulator);
    let started = alloc::current().saturating_sub(before_start);
    let sailpoint = emulator.sailpoint();
    // One token as the list answers it: the wire bytes it stands for.
    sailpoint.seed_bulk(1);
    let wire = serde_json::to_vec(
        sailpoint
            .stored_tokens()
            .first()
            .ok_or("seed_bulk stored nothing")?,
    )?
    .len();
    let before = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    sailpoint.seed_bulk(n);
    let seeding = t.elapsed();
    let held = alloc::current().saturating_sub(before);
    let peak = alloc::peak().saturating_sub(before);
    let per_token = held as f64 / n as f64;
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    report.rows.push(
        Row::new(
            SECTION,
            format!("{n} SailPoint tokens held (seed_bulk): heap per token"),
            per_token,
            "bytes",
        )
        .floor(wire as f64)
        .at_most(TARGET_BYTES_PER_TOKEN)
        .note(format!(
            "the token and the lookups (name and owner indexes); floor: one token's JSON on the wire ({wire} bytes); {:.0} MiB in all (peak while seeding {:.0} MiB); an emulator at start holds {:.2} MiB",
            mib(held),
            mib(peak),
            mib(started)
        )),
    );
    report.rows.push(
        Row::new(
            SECTION,
            format!("time to seed {n} tokens"),
            seeding.as_secs_f64() * 1e3,
            "ms",
        )
        .note(format!(
            "{:.2} µs per token",
            seeding.as_secs_f64() * 1e6 / n as f64
        )),
    );
    let others = (n / 10).max(1);
    let zitadel = emulator.zitadel();
    let user = ZitadelSim::ADMIN_USER;
    // A list builds the lookups (by owner, and of older secrets) that the stored tokens
    // are then kept in.
    let pat = emulator
        .env(None)
        .into_iter()
        .find(|(k, _)| k == "ZITADEL_PAT")
        .map(|(_, v)| v)
        .ok_or("no ZITADEL PAT")?;
    let body = format!(r#"{{"filters":[{{"userIdFilter":{{"id":"{user}"}}}}]}}"#);
    let status = post_status(
        addr_of(&zitadel.uri())?,
        "/zitadel.user.v2.UserService/ListPersonalAccessTokens",
        &pat,
        &body,
    )?;
    if status != 200 {
        return Err(format!("the ZITADEL list answered {status}").into());
    }
    let before = alloc::current();
    drop(zitadel.seed_pats(user, others));
    let held = alloc::current().saturating_sub(before);
    let wire = zitadel
        .pats()
        .last()
        .map_or(0, |p| serde_json::to_vec(&p).map_or(0, |v| v.len()));
    report.rows.push(
        Row::new(
            SECTION,
            format!("{others} ZITADEL tokens held (seed_pats): heap per token"),
            held as f64 / others as f64,
            "bytes",
        )
        .floor(wire as f64)
        .at_most(TARGET_BYTES_PER_TOKEN)
        .note(format!(
            "the token, its secret and the lookups; floor: the stored token as JSON ({wire} bytes)"
        )),
    );
    let dfns = emulator.dfns();
    let user = emulator
        .env(None)
        .into_iter()
        .find(|(k, _)| k == "DFNS_USER_ID")
        .map(|(_, v)| v)
        .ok_or("no Dfns user")?;
    let before = alloc::current();
    for i in 0..others {
        drop(
            dfns.seed_pat(&user, &format!("bulk-{i}"))
                .ok_or("the Dfns simulator refused a token")?,
        );
    }
    let held = alloc::current().saturating_sub(before);
    let wire = dfns
        .pats()
        .last()
        .map_or(0, |p| serde_json::to_vec(p).map_or(0, |v| v.len()));
    report.rows.push(
        Row::new(
            SECTION,
            format!("{others} Dfns tokens held (seed_pat): heap per token"),
            held as f64 / others as f64,
            "bytes",
        )
        .floor(wire as f64)
        .at_most(TARGET_BYTES_PER_TOKEN)
        .note(format!(
            "the token (kept by user and id) and its bearer lookup; floor: the token as the API lists it ({wire} bytes)"
        )),
    );
    let t = Instant::now();
    drop(emulator);
    let freeing = t.elapsed();
    if let Some(key) = key {
        let _ = std::fs::remove_file(key);
    }
    report.rows.push(Row::new(
        SECTION,
        format!("time to stop an emulator holding {n} tokens"),
        freeing.as_secs_f64() * 1e3,
        "ms",
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Writes

/// An emulator (with a state file in `dir` when given) and what a create needs: the
/// SailPoint address and a bearer; the rate limit lifted.
fn writer(dir: Option<&Path>) -> Result<(pats_sim::Emulator, SocketAddr, String)> {
    let mut options = pats_sim::Options::default().threads(2);
    options.request_log = 0;
    if let Some(dir) = dir {
        options = options.state_file(dir.join("state.json"));
    }
    let emulator = pats_sim::start(options)?;
    let sailpoint = emulator.sailpoint();
    sailpoint.set_rate_limit(usize::MAX, Duration::from_secs(10));
    let bearer = sailpoint.issue_access_token(SailPointSim::IDENTITY_ID);
    let addr = addr_of(&sailpoint.uri())?;
    Ok((emulator, addr, bearer))
}

/// The median time of `n` creates, one after the other on one keep-alive connection, in
/// nanoseconds.
fn time_creates(addr: SocketAddr, bearer: &str, n: usize, tag: &str) -> Result<f64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let times = runtime.block_on(async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut buf = Vec::with_capacity(4096);
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let body = format!(r#"{{"name":"write-{tag}-{i}","scope":["sp:scopes:all"]}}"#);
            let request = format!(
                "POST {LIST_PATH} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {bearer}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let t = Instant::now();
            let (status, _) = exchange(&mut stream, request.as_bytes(), &mut buf).await?;
            times.push(t.elapsed());
            if status != 200 {
                return Err::<_, BoxError>(format!("a create was answered {status}").into());
            }
        }
        Ok(times)
    })?;
    Ok(Samples::new(times).median())
}

fn writes(n: usize, report: &mut Report) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (emulator, addr, bearer) = writer(Some(dir.path()))?;
    emulator.sailpoint().seed_bulk(10);
    emulator.save()?;
    let at_10 = time_creates(addr, &bearer, n, "a")?;
    emulator.sailpoint().seed_bulk(10_000 - 10 - n);
    emulator.save()?;
    let at_10k = time_creates(addr, &bearer, n, "b")?;
    let stored = emulator.sailpoint().stored_tokens().len();
    let state_bytes = std::fs::metadata(dir.path().join("state.json"))?.len();
    drop(emulator);
    let (unsaved, addr, bearer) = writer(None)?;
    unsaved.sailpoint().seed_bulk(10);
    let in_memory = time_creates(addr, &bearer, n, "c")?;
    drop(unsaved);
    let ms = |ns: f64| ns / 1e6;
    report.rows.push(
        Row::new(
            SECTION,
            "SailPoint create with a state file, 10 tokens stored",
            ms(at_10),
            "ms",
        )
        .floor(ms(in_memory))
        .note(format!(
            "median of {n} creates on one connection, the journal line synced before each answer; floor: the same create without a state file"
        )),
    );
    report.rows.push(
        Row::new(
            SECTION,
            "SailPoint create with a state file, 10,000 tokens stored",
            ms(at_10k),
            "ms",
        )
        .floor(ms(at_10))
        .goal(TARGET_WRITE_GROWTH)
        .note(format!(
            "{stored} tokens at the end, a state file of {:.1} MiB; floor: the create at 10 tokens (goal: at most {TARGET_WRITE_GROWTH}×)",
            state_bytes as f64 / (1024.0 * 1024.0)
        )),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Startup

/// `GET path` on a fresh blocking connection; the status.
fn get_status(addr: SocketAddr, path: &str) -> std::io::Result<u16> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(status_of(&answer))
}

/// The status of a whole HTTP/1.1 answer (0 when it has none).
fn status_of(answer: &[u8]) -> u16 {
    answer
        .split(|&b| b == b' ')
        .nth(1)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `POST path` with a bearer and a JSON body on a fresh blocking connection; the status.
fn post_status(addr: SocketAddr, path: &str, bearer: &str, body: &str) -> std::io::Result<u16> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {bearer}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(status_of(&answer))
}

fn startup(sizes: Sizes, report: &mut Report) -> Result<()> {
    let mut emulator = Vec::with_capacity(sizes.startups);
    let mut floor = Vec::with_capacity(sizes.startups);
    for _ in 0..sizes.startups {
        let t = Instant::now();
        let sim = pats_sim::start(pats_sim::Options::default())?;
        let addr = addr_of(&sim.dfns().uri())?;
        let status = get_status(addr, HEALTH_PATH)?;
        let took = t.elapsed();
        if status != 200 {
            return Err(format!("the emulator's health answered {status}").into());
        }
        let key = key_file(&sim);
        drop(sim);
        if let Some(key) = key {
            let _ = std::fs::remove_file(key);
        }
        emulator.push(took);

        let t = Instant::now();
        let server = Floor::start(Bytes::from_static(br#"{"status":"ok"}"#), 1)?;
        let status = get_status(server.addr(), HEALTH_PATH)?;
        let took = t.elapsed();
        if status != 200 {
            return Err(format!("the floor server answered {status}").into());
        }
        drop(server);
        floor.push(took);
    }
    eprintln!(
        "section 6: in-process startups (ms, in order): {}",
        emulator
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let first = emulator.first().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let e = Samples::new(emulator);
    let f = Samples::new(floor);
    report.rows.push(
        Row::new(
            SECTION,
            "startup in-process: pats_sim::start to first answered health request",
            e.median() / 1e6,
            "ms",
        )
        .floor(f.median() / 1e6)
        .at_most(TARGET_STARTUP_MS)
        .note(format!(
            "median of {} (first {first:.2} ms, max {:.2} ms); floor: one minimal hyper server bound and answering; the emulator binds three servers, creates the Dfns key pair and the ZITADEL users, writes the ZITADEL key file (with fsync)",
            e.len(),
            e.quantile(1.0) / 1e6
        )),
    );
    if !sizes.binary {
        report
            .notes
            .push("Section 6: the release `pats-sim` binary is not started in quick mode.".into());
        return Ok(());
    }
    match binary() {
        Some(binary) => binary_startup(&binary, sizes.startups, report)?,
        None => report.notes.push(
            "Section 6: no release `pats-sim` binary next to this one (`cargo build --release -p pats-sim`; `cargo xtask bench` builds it), so its startup was not measured."
                .into(),
        ),
    }
    Ok(())
}

/// The release `pats-sim` binary next to this one (`target/release/`).
fn binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // `cargo test` runs from target/release/deps.
    [dir.to_path_buf(), dir.parent()?.to_path_buf()]
        .into_iter()
        .map(|d| d.join(format!("pats-sim{}", std::env::consts::EXE_SUFFIX)))
        .find(|p| p.is_file())
}

/// Spawns `pats-sim serve --port 0 --json` (it binds three free ports itself and names
/// them on its first line), then polls `GET /_pats_sim/health` until it answers; stops it
/// with `SIGTERM`, on which it removes its key and token files.
fn spawn_to_answer(binary: &Path) -> Result<Duration> {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    let t = Instant::now();
    let mut child = Command::new(binary)
        .args(["serve", "--port", "0", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    let read = match child.stdout.take() {
        Some(stdout) => std::io::BufReader::new(stdout).read_line(&mut line),
        None => Ok(0),
    };
    let port = read
        .ok()
        .and_then(|_| serde_json::from_str::<serde_json::Value>(&line).ok())
        .and_then(|started| started["dfns"].as_u64())
        .and_then(|p| u16::try_from(p).ok());
    let outcome = match port {
        None => Err("the binary printed no JSON line with its ports".into()),
        Some(port) => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            loop {
                match get_status(addr, HEALTH_PATH) {
                    Ok(200) => break Ok(t.elapsed()),
                    // 503: listening, but `start` has not finished ("the emulator is starting").
                    Ok(status) if status != 503 => {
                        break Err(format!("the binary's health answered {status}").into());
                    }
                    _ if t.elapsed() > Duration::from_secs(10) => {
                        break Err("the binary did not answer within 10 s".into());
                    }
                    _ => std::thread::sleep(Duration::from_micros(200)),
                }
            }
        }
    };
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    if !terminated {
        let _ = child.kill();
    }
    let _ = child.wait();
    outcome
}

/// Spawns `pats-sim --help` and waits for it: what starting the process costs.
fn spawn_to_exit(binary: &Path) -> Result<Duration> {
    use std::process::{Command, Stdio};
    let t = Instant::now();
    let status = Command::new(binary)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("pats-sim --help: {status}").into());
    }
    Ok(t.elapsed())
}

fn binary_startup(binary: &Path, runs: usize, report: &mut Report) -> Result<()> {
    let mut served = Vec::with_capacity(runs);
    let mut exited = Vec::with_capacity(runs);
    for _ in 0..runs {
        served.push(spawn_to_answer(binary)?);
        exited.push(spawn_to_exit(binary)?);
    }
    let s = Samples::new(served);
    let x = Samples::new(exited);
    report.rows.push(
        Row::new(
            SECTION,
            "startup of the release binary: spawn `pats-sim serve` to first answered health request",
            s.median() / 1e6,
            "ms",
        )
        .floor(x.median() / 1e6)
        .at_most(TARGET_STARTUP_MS)
        .note(format!(
            "median of {} (max {:.2} ms); `serve --port 0 --json`, its line read, then health polled every 0.2 ms (503 while the emulator is starting, until a 200); floor: spawning `pats-sim --help` to its exit",
            s.len(),
            s.quantile(1.0) / 1e6
        )),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed() {
        let (status, len) = parse_head(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 12\r\n\r\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((status, len), (200, 12));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }
}
