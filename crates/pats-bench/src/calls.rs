//! Sections 1 and 2, measured by criterion (`benches/calls.rs`): the cost of a `pats` call
//! over a hand-written `reqwest` call that sends the same bytes and parses the answer into
//! `serde_json::Value`, on the same server in the same run; and the Dfns signed change
//! against three raw round trips plus one P-256 signature.
//!
//! Every case is one criterion group (`raw`, `typed`, `dyn`, and `transport`: the bare
//! `pats` transport with the raw request's bytes, for the breakdown). Before a group is
//! measured, the server records what each variant sends and the run fails unless they are
//! byte-identical. [`import`] turns criterion's medians (`<criterion>/<group>/<variant>/new/estimates.json`)
//! into the rows of the report.

use crate::fixtures::{self, BEARER, DFNS_CRED_ID, GITLAB_USER, ZITADEL_USER};
use crate::measure::{Result, done};
use crate::raw::{Raw, RawRequest};
use crate::report::{Report, Row};
use crate::server::{self, Incoming, Recorded, Router, Server};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use pats::credentials::StaticToken;
use pats::dfns::{DfnsClient, P256Signer, PatKeyPair, PatUpdate};
use pats::gitlab::{GitLabClient, NewToken, TokenFor, TokenState};
use pats::reexports::reqwest::Method;
use pats::reexports::reqwest::header::{HeaderName, HeaderValue};
use pats::sailpoint::{ListTokens, SailPointClient};
use pats::transport::{Request, Transport};
use pats::zitadel::V2PatFieldName;
use pats::zitadel::{ListPatsRequest, PatFilter, ZitadelAuth, ZitadelClient};
use pats::{
    ClientOptions, CreateToken, Expiry, ListQuery, NeverExpires, PersonalAccessTokens,
    PersonalAccessTokensExt as _, TokenId,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::future::Future;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// Tokens in the small listings of section 1.
pub const LIST_LEN: usize = 20;
/// The goal of section 1: `pats / raw` at the median.
pub const CALL_GOAL: f64 = 1.10;
/// The goal of section 2.
pub const SIGNED_GOAL: f64 = 1.15;

const ZITADEL_SERVICE: &str = "/zitadel.user.v2.UserService/";
/// GitLab's personal access tokens (REST v4).
pub const GITLAB_PATS: &str = "/api/v4/personal_access_tokens";
/// The expiry the GitLab creates and rotations of section 1 ask for (a date, as GitLab's).
pub const GITLAB_EXPIRES: &str = "2099-01-01";
/// The JSON body `pats` sends for the GitLab create of section 1.
pub const GITLAB_CREATE_BODY: &str =
    r#"{"expires_at":"2099-01-01","name":"ci-token","scopes":["api","read_repository"]}"#;
/// The JSON body `pats` sends for the GitLab rotation of section 1.
pub const GITLAB_ROTATE_BODY: &str = r#"{"expires_at":"2099-01-01"}"#;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The router of the small answers of every provider.
pub fn router() -> Router {
    let dfns_list = server::json(&fixtures::dfns_list(LIST_LEN));
    let dfns_one = server::json(&fixtures::dfns_single(1));
    let challenge = server::json(&fixtures::dfns_challenge());
    let action = server::json(&fixtures::dfns_user_action());
    let zitadel_list = server::json(&fixtures::zitadel_list(0..LIST_LEN, LIST_LEN));
    let zitadel_one = server::json(&fixtures::zitadel_list(1..2, 1));
    let zitadel_added = server::json(&fixtures::zitadel_added());
    let zitadel_removed = server::json(&fixtures::zitadel_removed());
    let zitadel_users = server::json(&fixtures::zitadel_users());
    let sailpoint_list = server::json(&fixtures::sailpoint_list(LIST_LEN));
    let oauth = server::json(&fixtures::sailpoint_oauth());
    let gitlab_list = server::json(&fixtures::gitlab_list(LIST_LEN));
    let gitlab_one = server::json(&fixtures::gitlab_single(1));
    let gitlab_new = server::json(&fixtures::gitlab_new_token(1));
    let gitlab_user = server::json(&fixtures::gitlab_current_user());
    let revoked = server::no_content();
    // `/api/v4/personal_access_tokens/<id>`, not `…/<id>/rotate`.
    let gitlab_token = |path: &str| {
        path.strip_prefix(GITLAB_PATS)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    Arc::new(move |req: &Incoming<'_>| {
        let path = req.target.split('?').next().unwrap_or_default();
        let answer = match (req.method, path) {
            ("GET", "/auth/pats") => &dfns_list,
            ("GET" | "PUT", p) if p.starts_with("/auth/pats/") => &dfns_one,
            ("POST", "/auth/action/init") => &challenge,
            ("POST", "/auth/action") => &action,
            ("POST", p) if p.starts_with(ZITADEL_SERVICE) => match &p[ZITADEL_SERVICE.len()..] {
                "ListPersonalAccessTokens" if contains(req.body, b"tokenIdFilter") => &zitadel_one,
                "ListPersonalAccessTokens" => &zitadel_list,
                "AddPersonalAccessToken" => &zitadel_added,
                "RemovePersonalAccessToken" => &zitadel_removed,
                "ListUsers" => &zitadel_users,
                _ => return server::not_found(),
            },
            ("GET", "/v3/personal-access-tokens") => &sailpoint_list,
            ("POST", "/oauth/token") => &oauth,
            ("GET", GITLAB_PATS) => &gitlab_list,
            ("GET", p) if gitlab_token(p) => &gitlab_one,
            ("DELETE", p) if gitlab_token(p) => &revoked,
            ("POST", p) if p.starts_with(GITLAB_PATS) && p.ends_with("/rotate") => &gitlab_new,
            ("POST", p)
                if p.starts_with("/api/v4/users/") && p.ends_with("/personal_access_tokens") =>
            {
                &gitlab_new
            }
            ("GET", "/api/v4/user") => &gitlab_user,
            _ => return server::not_found(),
        };
        answer.clone()
    })
}

fn show(log: &[Recorded]) -> String {
    log.iter()
        .map(|(m, t, a, b)| format!("{m} {t} [{a}] {}", String::from_utf8_lossy(b)))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Fails unless `pats` and the raw floor sent the same requests (method, target, credential
/// header, body).
fn same_requests(name: &str, pats: &[Recorded], raw: &[Recorded]) -> Result<()> {
    if pats.is_empty() || pats != raw {
        return Err(format!(
            "{name}: pats and the raw floor did not send the same requests:\n  pats: {}\n  raw:  {}",
            show(pats),
            show(raw)
        )
        .into());
    }
    Ok(())
}

/// Applies the settings of sections 1 and 2 (command-line arguments still win).
fn settings<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .without_plots()
}

/// The wall-time criterion of sections 1 and 2 (the raw floors, the signature, the
/// transport's CPU steps).
pub fn criterion() -> Criterion {
    settings(Criterion::default())
}

/// The criterion of the ratios (see [`Paired`]), configured from the command line like the
/// one `criterion_group!` builds.
pub fn paired_criterion() -> Criterion<Paired> {
    settings(Criterion::default().with_measurement(Paired)).configure_from_args()
}

/// A criterion measurement of ratios: each round runs a variant and its raw floor back to
/// back (alternating which goes first), and a sample's value per round is the variant's
/// total time divided by the floor's. Criterion's median over the samples is then the
/// ratio the goals are about, measured in the same rounds against the same server, so
/// that drift of the machine (a shared 2-core VM drifts by ±10 % between seconds) hits
/// both sides alike. Only `iter_custom` is meaningful with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paired;

impl Measurement for Paired {
    type Intermediate = ();
    type Value = f64;

    fn start(&self) {}

    fn end(&self, (): ()) -> f64 {
        0.0
    }

    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }

    fn zero(&self) -> f64 {
        0.0
    }

    fn to_f64(&self, value: &f64) -> f64 {
        *value
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &RatioFormatter
    }
}

/// Prints [`Paired`] values as plain ratios.
struct RatioFormatter;

impl ValueFormatter for RatioFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "× raw"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &criterion::Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "× raw"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ratio"
    }
}

/// `iters` paired rounds of `variant` and `raw`; returns `iters × Σvariant / Σraw`.
async fn rounds<A, D, FA, FD>(name: &str, iters: u64, variant: &A, raw: &D) -> f64
where
    A: Fn() -> FA,
    D: Fn() -> FD,
    FA: Future<Output = Result<()>>,
    FD: Future<Output = Result<()>>,
{
    let (mut v, mut r) = (Duration::ZERO, Duration::ZERO);
    for i in 0..iters {
        let timed = async |call: std::pin::Pin<&mut dyn Future<Output = Result<()>>>| {
            let start = Instant::now();
            must(name, call).await;
            start.elapsed()
        };
        if i % 2 == 0 {
            v += timed(std::pin::pin!(variant())).await;
            r += timed(std::pin::pin!(raw())).await;
        } else {
            r += timed(std::pin::pin!(raw())).await;
            v += timed(std::pin::pin!(variant())).await;
        }
    }
    // The counts are small (criterion's iterations), far from f64's exact-integer limit.
    #[allow(clippy::cast_precision_loss)]
    let iters = iters as f64;
    iters * v.as_secs_f64() / r.as_secs_f64().max(f64::MIN_POSITIVE)
}

fn runtime() -> Runtime {
    ok(
        "the client runtime",
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    )
}

/// A group of [`Paired`] benchmarks: flat sampling, so every sample has the same number
/// of rounds and their ratios weigh alike.
fn paired_group<'c>(paired: &'c mut Criterion<Paired>, name: &str) -> BenchmarkGroup<'c, Paired> {
    let mut group = paired.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// Awaits one measured call; a failed call ends the benchmark (its figure would be wrong).
async fn must<F: Future<Output = Result<()>>>(name: &str, call: F) {
    if let Err(e) = call.await {
        panic!("{name}: the call failed: {e}");
    }
}

/// The variants of a section-1 group measured against the raw floor, in order.
pub const VARIANTS: [&str; 3] = ["typed", "dyn", "transport"];

/// Measures one call as the criterion group `slug`: the raw floor in wall time (`raw`), and
/// each of [`VARIANTS`] as a [`Paired`] ratio to it; first checks that all four send the
/// same requests.
#[allow(clippy::too_many_arguments)]
fn case<A, B, C, D, FA, FB, FC, FD>(
    crit: &mut Criterion,
    paired: &mut Criterion<Paired>,
    rt: &Runtime,
    server: &Server,
    slug: &str,
    typed: A,
    dynamic: B,
    bare: C,
    raw: D,
) where
    A: Fn() -> FA,
    B: Fn() -> FB,
    C: Fn() -> FC,
    D: Fn() -> FD,
    FA: Future<Output = Result<()>>,
    FB: Future<Output = Result<()>>,
    FC: Future<Output = Result<()>>,
    FD: Future<Output = Result<()>>,
{
    case_floors(
        crit, paired, rt, server, slug, typed, dynamic, bare, &raw, &raw,
    );
}

/// [`case`] where the trait call sends more than the typed one (ZITADEL's username
/// lookups), so it is measured against a raw floor sending the same requests, `raw_dyn`.
#[allow(clippy::too_many_arguments)]
fn case_floors<A, B, C, D, E, FA, FB, FC, FD, FE>(
    crit: &mut Criterion,
    paired: &mut Criterion<Paired>,
    rt: &Runtime,
    server: &Server,
    slug: &str,
    typed: A,
    dynamic: B,
    bare: C,
    raw: D,
    raw_dyn: E,
) where
    A: Fn() -> FA,
    B: Fn() -> FB,
    C: Fn() -> FC,
    D: Fn() -> FD,
    E: Fn() -> FE,
    FA: Future<Output = Result<()>>,
    FB: Future<Output = Result<()>>,
    FC: Future<Output = Result<()>>,
    FD: Future<Output = Result<()>>,
    FE: Future<Output = Result<()>>,
{
    ok(
        "the requests",
        rt.block_on(async {
            let sent_typed = server.record(async || typed().await).await?;
            let sent_dyn = server.record(async || dynamic().await).await?;
            let sent_bare = server.record(async || bare().await).await?;
            let sent_raw = server.record(async || raw().await).await?;
            let sent_raw_dyn = server.record(async || raw_dyn().await).await?;
            same_requests(&format!("{slug} (typed)"), &sent_typed, &sent_raw)?;
            same_requests(&format!("{slug} (dyn)"), &sent_dyn, &sent_raw_dyn)?;
            same_requests(&format!("{slug} (transport)"), &sent_bare, &sent_raw)
        }),
    );
    let mut group = crit.benchmark_group(slug);
    group.bench_function("raw", |b| b.to_async(rt).iter(|| must(slug, raw())));
    group.finish();
    let mut group = paired_group(paired, slug);
    let [t, d, x] = VARIANTS;
    group.bench_function(t, |b| {
        b.to_async(rt)
            .iter_custom(|iters| rounds(slug, iters, &typed, &raw));
    });
    group.bench_function(d, |b| {
        b.to_async(rt)
            .iter_custom(|iters| rounds(slug, iters, &dynamic, &raw_dyn));
    });
    group.bench_function(x, |b| {
        b.to_async(rt)
            .iter_custom(|iters| rounds(slug, iters, &bare, &raw));
    });
    group.finish();
}

/// The bare `pats` transport: a request with pre-built bytes, the answer parsed into a
/// `Value` like the raw floor does.
struct Bare {
    transport: Transport,
}

impl Bare {
    fn new(provider: &'static str, uri: &str) -> Result<Self> {
        let transport = Transport::new(provider, uri, ClientOptions::default())?
            .with_auth(Arc::new(StaticToken::new(SecretString::from(BEARER))));
        Ok(Self { transport })
    }

    async fn json(&self, request: Request) -> Result<Value> {
        let response = self.transport.send(request).await?;
        if !response.is_success() {
            return Err(format!("transport: status {}", response.status()).into());
        }
        // An empty answer (GitLab's 204 to a revoke) is `Null`, as the raw floor reads it.
        if response.body().is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(response.body())?)
    }
}

fn connect_request(template: &'static str, method: &'static str, body: &str) -> Request {
    Request::post(template)
        .segments(["zitadel.user.v2.UserService", method])
        .header(
            HeaderName::from_static("connect-protocol-version"),
            HeaderValue::from_static("1"),
        )
        .body(
            Bytes::from(body.to_owned()),
            HeaderValue::from_static("application/json"),
        )
        .idempotent(true)
}

/// The clients of sections 1 and 2, all against one server.
struct Clients {
    dfns: DfnsClient,
    zitadel: ZitadelClient,
    sailpoint: SailPointClient,
    gitlab: GitLabClient,
    raw: Raw,
    key: SigningKey,
}

fn clients(uri: &str) -> Result<Clients> {
    let pair = PatKeyPair::generate()?;
    let key = SigningKey::from_pkcs8_pem(pair.private_key_pem().expose_secret())?;
    let dfns = DfnsClient::builder()
        .base_url(uri)
        .auth_token(SecretString::from(BEARER))
        .signer(P256Signer::from_pkcs8_pem(
            DFNS_CRED_ID,
            pair.private_key_pem(),
        )?)
        .build()?;
    let zitadel = ZitadelClient::builder()
        .base_url(uri)
        .auth(ZitadelAuth::pat(SecretString::from(BEARER)))
        .default_user(ZITADEL_USER)
        .build()?;
    let sailpoint = SailPointClient::builder()
        .base_url(uri)
        .bearer_token(SecretString::from(BEARER))
        .build()?;
    let gitlab = GitLabClient::builder()
        .base_url(uri)
        .token(SecretString::from(BEARER))
        .build()?;
    Ok(Clients {
        dfns,
        zitadel,
        sailpoint,
        gitlab,
        raw: Raw::new(uri, BEARER)?,
        key,
    })
}

fn connect(method: &str, body: &str) -> RawRequest {
    RawRequest::new(Method::POST, format!("{ZITADEL_SERVICE}{method}"))
        .header("connect-protocol-version", "1")
        .json(body.to_owned())
}

fn found(found: bool) -> Result<()> {
    if found {
        Ok(())
    } else {
        Err("not found".into())
    }
}

fn ok<T, E: std::fmt::Display>(what: &str, outcome: std::result::Result<T, E>) -> T {
    match outcome {
        Ok(value) => value,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// The criterion groups of section 1 and the names of their rows in the report.
pub const CASES: [(&str, &str); 13] = [
    ("s1_dfns_list", "Dfns list (20 tokens)"),
    ("s1_dfns_get", "Dfns get"),
    ("s1_zitadel_list", "ZITADEL list (20 tokens)"),
    ("s1_zitadel_get", "ZITADEL get (tokenIdFilter listing)"),
    ("s1_zitadel_create", "ZITADEL create"),
    ("s1_zitadel_remove", "ZITADEL remove"),
    ("s1_sailpoint_list", "SailPoint list (20 tokens)"),
    ("s1_sailpoint_get", "SailPoint get (listing, select)"),
    ("s1_gitlab_list", "GitLab list (20 tokens, state=active)"),
    ("s1_gitlab_get", "GitLab get"),
    ("s1_gitlab_create", "GitLab create (for a user)"),
    ("s1_gitlab_rotate", "GitLab rotate (native)"),
    ("s1_gitlab_revoke", "GitLab revoke"),
];

/// The A/A check (group, variant): the raw Dfns get from a second client, paired with
/// the first client's.
pub const AA: (&str, &str) = ("s1_aa_check", "raw_again");

/// Section 1: list and get of every provider, ZITADEL create and remove, GitLab create,
/// rotate and revoke.
///
/// # Panics
/// When the server cannot start, a variant sends other bytes than the raw floor, or a call
/// fails: the figures would be wrong.
#[allow(clippy::too_many_lines)]
pub fn section1(crit: &mut Criterion) {
    let mut paired = paired_criterion();
    let rt = runtime();
    let server = ok("the bench server", Server::start(router()));
    let uri = server.uri();
    let c = &ok("the clients", clients(&uri));
    let raw = &c.raw;
    let [
        dfns_list,
        dfns_get,
        zitadel_list,
        zitadel_get,
        zitadel_create,
        zitadel_remove,
        sailpoint_list,
        sailpoint_get,
        gitlab_list,
        gitlab_get,
        gitlab_create,
        gitlab_rotate,
        gitlab_revoke,
    ] = CASES.map(|(slug, _)| slug);

    // Dfns
    let dfns: &dyn PersonalAccessTokens = &c.dfns;
    let bare = &ok("transport", Bare::new("dfns", &uri));
    let dfns_id = &ok("token id", TokenId::new(fixtures::dfns_id(1)));
    let list_all = &RawRequest::new(Method::GET, "/auth/pats");
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        dfns_list,
        || async move { done(c.dfns.list_pats().await) },
        || async move { done(dfns.list(&ListQuery::new()).await) },
        || async move {
            done(
                bare.json(Request::get("/auth/pats").segments(["auth", "pats"]))
                    .await,
            )
        },
        || async move { done(raw.json(list_all).await) },
    );
    let get = &RawRequest::new(Method::GET, format!("/auth/pats/{dfns_id}"));
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        dfns_get,
        || async move { done(c.dfns.get_pat(dfns_id).await) },
        || async move { done(dfns.get(dfns_id).await) },
        || async move {
            done(
                bare.json(Request::get("/auth/pats/{tokenId}").segments([
                    "auth",
                    "pats",
                    dfns_id.as_str(),
                ]))
                .await,
            )
        },
        || async move { done(raw.json(get).await) },
    );
    // The method's own noise: the raw floor against itself, from a second client.
    let raw_b = &ok("raw client", Raw::new(&uri, BEARER));
    let (aa, again) = AA;
    let first = || async move { done(raw.json(get).await) };
    let second = || async move { done(raw_b.json(get).await) };
    let mut group = paired_group(&mut paired, aa);
    group.bench_function(again, |b| {
        b.to_async(&rt)
            .iter_custom(|iters| rounds(aa, iters, &second, &first));
    });
    group.finish();
    paired.final_summary();

    // ZITADEL (v2 user service, Connect JSON)
    let zitadel: &dyn PersonalAccessTokens = &c.zitadel;
    let bare = &ok("transport", Bare::new("zitadel", &uri));
    let v2 = &c.zitadel.v2();
    const LIST: &str = "/zitadel.user.v2.UserService/ListPersonalAccessTokens";
    const ADD: &str = "/zitadel.user.v2.UserService/AddPersonalAccessToken";
    const REMOVE: &str = "/zitadel.user.v2.UserService/RemovePersonalAccessToken";
    let list = &ListPatsRequest::new()
        .asc(true)
        .sort_by(V2PatFieldName::PersonalAccessTokenFieldNameCreatedDate)
        .filter(PatFilter::UserId(ZITADEL_USER.to_owned()));
    let list_body = &format!(
        r#"{{"filters":[{{"userIdFilter":{{"id":"{ZITADEL_USER}"}}}}],"pagination":{{"asc":true}},"sortingColumn":"PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE"}}"#
    );
    let raw_list = &connect("ListPersonalAccessTokens", list_body);
    // Through the trait a listing covers the organization and names each token after its
    // machine user: one `ListUsers` for the page's owners follows.
    let raw_list_org = &connect(
        "ListPersonalAccessTokens",
        r#"{"pagination":{"asc":true},"sortingColumn":"PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE"}"#,
    );
    let raw_users = &connect(
        "ListUsers",
        &format!(
            r#"{{"queries":[{{"inUserIdsQuery":{{"userIds":["{ZITADEL_USER}"]}}}}],"query":{{"limit":1}}}}"#
        ),
    );
    case_floors(
        crit,
        &mut paired,
        &rt,
        &server,
        zitadel_list,
        || async move { done(v2.list_personal_access_tokens(list).await) },
        || async move { done(zitadel.list(&ListQuery::new()).await) },
        || async move {
            done(
                bare.json(connect_request(LIST, "ListPersonalAccessTokens", list_body))
                    .await,
            )
        },
        || async move { done(raw.json(raw_list).await) },
        || async move {
            raw.json(raw_list_org).await?;
            done(raw.json(raw_users).await)
        },
    );
    let zitadel_id = &ok("token id", TokenId::new(fixtures::zitadel_id(1)));
    let by_id = &ListPatsRequest::new()
        .limit(1)
        .filter(PatFilter::TokenId(zitadel_id.to_string()));
    let get_body = &format!(
        r#"{{"filters":[{{"tokenIdFilter":{{"id":"{zitadel_id}"}}}}],"pagination":{{"limit":1}}}}"#
    );
    let raw_get = &connect("ListPersonalAccessTokens", get_body);
    let has_id = |page: &Value| {
        page["result"]
            .as_array()
            .is_some_and(|r| r.iter().any(|p| p["id"] == zitadel_id.as_str()))
    };
    let has_id = &has_id;
    case_floors(
        crit,
        &mut paired,
        &rt,
        &server,
        zitadel_get,
        || async move {
            let page = v2.list_personal_access_tokens(by_id).await?;
            found(page.result.iter().any(|p| p.id == zitadel_id.as_str()))
        },
        || async move { done(zitadel.get(zitadel_id).await) },
        || async move {
            let page = bare
                .json(connect_request(LIST, "ListPersonalAccessTokens", get_body))
                .await?;
            found(has_id(&page))
        },
        || async move { found(has_id(&raw.json(raw_get).await?)) },
        || async move {
            let page = raw.json(raw_get).await?;
            raw.json(raw_users).await?;
            found(has_id(&page))
        },
    );
    // No expiration on the wire for all three (ZITADEL refuses `ProviderDefault`, whose
    // wire form would be a token that never expires).
    let create = &ok(
        "create",
        CreateToken::builder()
            .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
            .build(),
    );
    // v2 requires an expiration; "never" is ZITADEL's own never (`NEVER_EXPIRES_AT`).
    let add_body =
        &format!(r#"{{"expirationDate":"9999-12-31T23:59:59Z","userId":"{ZITADEL_USER}"}}"#);
    let raw_add = &connect("AddPersonalAccessToken", add_body);
    let token_of = |added: &Value| -> Result<()> {
        let token = added["token"].as_str().ok_or("no token")?;
        drop(SecretString::from(token));
        Ok(())
    };
    let token_of = &token_of;
    case_floors(
        crit,
        &mut paired,
        &rt,
        &server,
        zitadel_create,
        || async move {
            done(
                v2.add_personal_access_token(ZITADEL_USER, NeverExpires::I_UNDERSTAND_THE_RISK)
                    .await,
            )
        },
        || async move { done(zitadel.create(create).await) },
        || async move {
            let request =
                connect_request(ADD, "AddPersonalAccessToken", add_body).idempotent(false);
            token_of(&bare.json(request).await?)
        },
        || async move { token_of(&raw.json(raw_add).await?) },
        || async move {
            token_of(&raw.json(raw_add).await?)?;
            done(raw.json(raw_users).await)
        },
    );
    let remove_body = &format!(r#"{{"tokenId":"{zitadel_id}","userId":"{ZITADEL_USER}"}}"#);
    let raw_remove = &connect("RemovePersonalAccessToken", remove_body);
    // Through the trait, the token's own user is looked up first.
    case_floors(
        crit,
        &mut paired,
        &rt,
        &server,
        zitadel_remove,
        || async move {
            done(
                v2.remove_personal_access_token(ZITADEL_USER, zitadel_id)
                    .await,
            )
        },
        || async move { done(zitadel.revoke(zitadel_id).await) },
        || async move {
            done(
                bare.json(connect_request(
                    REMOVE,
                    "RemovePersonalAccessToken",
                    remove_body,
                ))
                .await,
            )
        },
        || async move { done(raw.json(raw_remove).await) },
        || async move {
            raw.json(raw_get).await?;
            done(raw.json(raw_remove).await)
        },
    );

    // SailPoint (v3, static bearer token)
    let sailpoint: &dyn PersonalAccessTokens = &c.sailpoint;
    let bare = &ok("transport", Bare::new("sailpoint", &uri));
    let bare_list =
        || Request::get("/{v}/personal-access-tokens").segments(["v3", "personal-access-tokens"]);
    let raw_list = &RawRequest::new(Method::GET, "/v3/personal-access-tokens");
    let list_tokens = &ListTokens::new();
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        sailpoint_list,
        || async move { done(c.sailpoint.list_tokens(list_tokens).await) },
        || async move { done(sailpoint.list(&ListQuery::new()).await) },
        || async move { done(bare.json(bare_list()).await) },
        || async move { done(raw.json(raw_list).await) },
    );
    let sailpoint_id = &ok(
        "token id",
        TokenId::new(fixtures::sailpoint_id(LIST_LEN / 2)),
    );
    let has_id = |all: &Value| {
        all.as_array()
            .is_some_and(|a| a.iter().any(|t| t["id"] == sailpoint_id.as_str()))
    };
    let has_id = &has_id;
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        sailpoint_get,
        || async move { done(c.sailpoint.get_token(sailpoint_id).await) },
        || async move { done(sailpoint.get(sailpoint_id).await) },
        || async move { found(has_id(&bare.json(bare_list()).await?)) },
        || async move { found(has_id(&raw.json(raw_list).await?)) },
    );

    // GitLab (REST v4; the token goes as `Authorization: Bearer`, as pats-gitlab sends it)
    let gitlab: &dyn PersonalAccessTokens = &c.gitlab;
    let bare = &ok("transport", Bare::new("gitlab", &uri));
    let pat = fixtures::gitlab_id(1);
    let pat_text = &pat.to_string();
    let pat_id = &ok("token id", TokenId::new(pat_text.clone()));
    // The trait's listing asks for active tokens: the typed one does too, so both send the
    // same request.
    let active = &pats::gitlab::ListTokens::new().state(TokenState::Active);
    let raw_list = &RawRequest::new(Method::GET, format!("{GITLAB_PATS}?state=active"));
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        gitlab_list,
        || async move { done(c.gitlab.list_tokens(active).await) },
        || async move { done(gitlab.list(&ListQuery::new()).await) },
        || async move {
            done(
                bare.json(
                    Request::get("/api/v4/personal_access_tokens")
                        .segments(["api", "v4", "personal_access_tokens"])
                        .query("state", "active"),
                )
                .await,
            )
        },
        || async move { done(raw.json(raw_list).await) },
    );
    let token_path = || {
        Request::get("/api/v4/personal_access_tokens/{id}").segments([
            "api",
            "v4",
            "personal_access_tokens",
            pat_text.as_str(),
        ])
    };
    let raw_get = &RawRequest::new(Method::GET, format!("{GITLAB_PATS}/{pat}"));
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        gitlab_get,
        || async move { done(c.gitlab.get_token(pat).await) },
        || async move { done(gitlab.get(pat_id).await) },
        || async move { done(bare.json(token_path()).await) },
        || async move { done(raw.json(raw_get).await) },
    );
    // GITLAB_EXPIRES as a date.
    let expires = ok(
        "the expiry date",
        time::Date::from_calendar_date(2099, time::Month::January, 1),
    );
    let midnight = expires.with_time(time::Time::MIDNIGHT).assume_utc();
    let new_token = &NewToken::new("ci-token", ["api", "read_repository"]).expires_at(expires);
    let create = &ok(
        "create",
        CreateToken::builder()
            .name("ci-token")
            .scopes(["api", "read_repository"])
            .owner(GITLAB_USER.to_string())
            .expiry(Expiry::At(midnight))
            .build(),
    );
    let user_tokens = &format!("/api/v4/users/{GITLAB_USER}/personal_access_tokens");
    let user_text = &GITLAB_USER.to_string();
    let raw_create = &RawRequest::new(Method::POST, user_tokens.clone()).json(GITLAB_CREATE_BODY);
    let json = || HeaderValue::from_static("application/json");
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        gitlab_create,
        || async move {
            done(
                c.gitlab
                    .create_token(TokenFor::User(GITLAB_USER), new_token)
                    .await,
            )
        },
        || async move { done(gitlab.create(create).await) },
        || async move {
            let request = Request::post("/api/v4/users/{user_id}/personal_access_tokens")
                .segments([
                    "api",
                    "v4",
                    "users",
                    user_text.as_str(),
                    "personal_access_tokens",
                ])
                .body(Bytes::from_static(GITLAB_CREATE_BODY.as_bytes()), json());
            token_of(&bare.json(request).await?)
        },
        || async move { token_of(&raw.json(raw_create).await?) },
    );
    // A rotation keeps the name and scopes: the request gives only the expiry.
    let rotation = &ok(
        "rotation",
        CreateToken::builder().expiry(Expiry::At(midnight)).build(),
    );
    let raw_rotate = &RawRequest::new(Method::POST, format!("{GITLAB_PATS}/{pat}/rotate"))
        .json(GITLAB_ROTATE_BODY);
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        gitlab_rotate,
        || async move { done(c.gitlab.rotate_token(pat, Some(expires)).await) },
        || async move { done(gitlab.rotate(pat_id, rotation).await) },
        || async move {
            let request = Request::post("/api/v4/personal_access_tokens/{id}/rotate")
                .segments([
                    "api",
                    "v4",
                    "personal_access_tokens",
                    pat_text.as_str(),
                    "rotate",
                ])
                .body(Bytes::from_static(GITLAB_ROTATE_BODY.as_bytes()), json());
            token_of(&bare.json(request).await?)
        },
        || async move { token_of(&raw.json(raw_rotate).await?) },
    );
    let raw_revoke = &RawRequest::new(Method::DELETE, format!("{GITLAB_PATS}/{pat}"));
    case(
        crit,
        &mut paired,
        &rt,
        &server,
        gitlab_revoke,
        || async move { done(c.gitlab.revoke_token(pat).await) },
        || async move { done(gitlab.revoke(pat_id).await) },
        || async move {
            done(
                bare.json(
                    Request::delete("/api/v4/personal_access_tokens/{id}").segments([
                        "api",
                        "v4",
                        "personal_access_tokens",
                        pat_text.as_str(),
                    ]),
                )
                .await,
            )
        },
        || async move { done(raw.json(raw_revoke).await) },
    );
}

/// The criterion group of the transport's CPU steps, its variants and their row names.
pub const ANATOMY: (&str, [(&str, &str); 5]) = (
    "s1_transport_anatomy",
    [
        ("url", "build the URL from segments (`Transport::url`)"),
        (
            "request",
            "build the `Request` (segments, header, body copy)",
        ),
        (
            "authorization",
            "bearer token from the `TokenSource` + `Authorization` value",
        ),
        (
            "headers",
            "copy the request's headers into a map, add 4 headers",
        ),
        (
            "answer",
            "copy the body, clone the answer's headers and the secret list",
        ),
    ],
);

/// The CPU work of the `pats` transport per call that the raw floor does not do, step by
/// step and without I/O (a breakdown of the "transport" part of section 1).
///
/// # Panics
/// When the transport cannot be built.
pub fn anatomy(crit: &mut Criterion) {
    use pats::reexports::reqwest::header::{
        ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, USER_AGENT,
    };
    let rt = runtime();
    let transport = ok(
        "transport",
        Transport::new("zitadel", "http://127.0.0.1:9", ClientOptions::default()),
    );
    let segments = ["zitadel.user.v2.UserService", "RemovePersonalAccessToken"];
    let body = fixtures::zitadel_removed();
    let (slug, steps) = ANATOMY;
    let [url, request, authorization, headers_step, answer_step] = steps.map(|(f, _)| f);
    let mut group = crit.benchmark_group(slug);
    group.bench_function(url, |b| b.iter(|| black_box(transport.url(&segments))));
    group.bench_function(request, |b| {
        b.iter(|| {
            black_box(connect_request(
                "/zitadel.user.v2.UserService/RemovePersonalAccessToken",
                "RemovePersonalAccessToken",
                "{\"tokenId\":\"259242039378000001\",\"userId\":\"259242039378444290\"}",
            ))
        });
    });
    let source: &dyn pats::credentials::TokenSource = &StaticToken::new(SecretString::from(BEARER));
    group.bench_function(authorization, |b| {
        b.to_async(&rt).iter(|| async move {
            let token = source.token().await.ok()?;
            let mut value =
                HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).ok()?;
            value.set_sensitive(true);
            Some(black_box(value))
        });
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("connect-protocol-version"),
        HeaderValue::from_static("1"),
    );
    group.bench_function(headers_step, |b| {
        b.iter(|| {
            let mut h = HeaderMap::new();
            h.reserve(headers.len() + 4);
            for (name, value) in &headers {
                h.append(name, value.clone());
            }
            h.insert(USER_AGENT, HeaderValue::from_static("pats/0.1.0"));
            h.entry(ACCEPT)
                .or_insert(HeaderValue::from_static("application/json"));
            h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            black_box(h)
        });
    });
    let mut answer = HeaderMap::new();
    answer.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer.insert(CONTENT_LENGTH, HeaderValue::from_static("45"));
    let secrets = vec![SecretString::from(BEARER)];
    group.bench_function(answer_step, |b| {
        b.iter(|| {
            let mut copy = Vec::new();
            copy.extend_from_slice(black_box(&body));
            black_box(Bytes::from(copy));
            black_box(answer.clone());
            black_box(Arc::new(secrets.clone()))
        });
    });
    group.finish();
}

/// The raw signed change: init, sign, exchange, send; three round trips, one signature.
async fn raw_signed_update(raw: &Raw, key: &SigningKey, id: &TokenId, body: &Bytes) -> Result<()> {
    let path = format!("/auth/pats/{id}");
    let payload = std::str::from_utf8(body)?;
    let init = serde_json::to_vec(&json!({
        "userActionHttpMethod": "PUT",
        "userActionHttpPath": path,
        "userActionPayload": payload,
        "userActionServerKind": "Api",
    }))?;
    let challenge: Value = raw
        .json(&RawRequest::new(Method::POST, "/auth/action/init").json(init))
        .await?;
    let text = challenge["challenge"].as_str().ok_or("no challenge")?;
    let client_data = format!(r#"{{"type":"key.get","challenge":"{text}"}}"#);
    let signature: Signature = key.sign(client_data.as_bytes());
    let action = serde_json::to_vec(&json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": {
            "credentialAssertion": {
                "clientData": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "credId": DFNS_CRED_ID,
                "signature": URL_SAFE_NO_PAD.encode(signature.to_der().as_bytes()),
            },
            "kind": "Key",
        },
    }))?;
    let answer = raw
        .json(&RawRequest::new(Method::POST, "/auth/action").json(action))
        .await?;
    let user_action = answer["userAction"].as_str().ok_or("no userAction")?;
    raw.json(
        &RawRequest::new(Method::PUT, path)
            .header("x-dfns-useraction", user_action)
            .json(body.clone()),
    )
    .await
    .map(drop)
}

/// The criterion groups of section 2: the signed update (`raw` in wall time, `pats` as a
/// [`Paired`] ratio to it) and the signature.
pub const SIGNED: (&str, &str) = ("s2_dfns_signed_update", "s2_p256");

/// Section 2: one Dfns update through `pats` against its raw floor; the signature alone.
///
/// # Panics
/// When the server cannot start, `pats` sends other requests than the floor, or a call fails.
pub fn section2(crit: &mut Criterion) {
    let rt = runtime();
    let server = ok("the bench server", Server::start(router()));
    let c = &ok("the clients", clients(&server.uri()));
    let id = &ok("token id", TokenId::new(fixtures::dfns_id(1)));
    let update = &PatUpdate::new().name("ci-token-renamed");
    let body = &Bytes::from_static(br#"{"name":"ci-token-renamed"}"#);
    let pats = || async move { done(c.dfns.update_pat(id, update).await) };
    let raw = || async move { raw_signed_update(&c.raw, &c.key, id, body).await };
    ok(
        "the requests",
        rt.block_on(async {
            let sent_pats = server.record(async || pats().await).await?;
            let sent_raw = server.record(async || raw().await).await?;
            if sent_pats.len() != 3 {
                return Err(
                    format!("a signed change took {} requests, not 3", sent_pats.len()).into(),
                );
            }
            same_requests("Dfns signed update", &sent_pats, &sent_raw)
        }),
    );
    let (update_group, sign_group) = SIGNED;
    let mut group = crit.benchmark_group(update_group);
    group.bench_function("raw", |b| {
        b.to_async(&rt).iter(|| must(update_group, raw()))
    });
    group.finish();
    let mut paired = paired_criterion();
    let mut group = paired_group(&mut paired, update_group);
    group.bench_function("pats", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| rounds(update_group, iters, &pats, &raw));
    });
    group.finish();
    paired.final_summary();
    let message = fixtures::dfns_challenge();
    let mut group = crit.benchmark_group(sign_group);
    group.bench_function("sign", |b| {
        b.iter(|| {
            let signature: Signature = c.key.sign(black_box(&message[..60]));
            black_box(signature.to_der())
        });
    });
    group.finish();
}

/// Criterion's median for `group/variant` under `dir` (its output directory): nanoseconds
/// for wall-time benchmarks, the ratio for [`Paired`] ones.
///
/// With `since`, estimates written before it are refused: they are from an earlier run.
pub fn median(
    dir: &Path,
    group: &str,
    variant: &str,
    since: Option<std::time::SystemTime>,
) -> Result<f64> {
    let path = dir
        .join(group)
        .join(variant)
        .join("new")
        .join("estimates.json");
    let missing = |e: &dyn std::fmt::Display| {
        format!(
            "{}: {e} (criterion writes it; `cargo xtask bench` runs `cargo bench -p pats-bench --bench calls` first)",
            path.display()
        )
    };
    if let Some(since) = since {
        let written = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| missing(&e))?;
        if written < since {
            return Err(missing(&"written before this run").into());
        }
    }
    let text = std::fs::read_to_string(&path).map_err(|e| missing(&e))?;
    let estimates: Value = serde_json::from_str(&text).map_err(|e| missing(&e))?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| missing(&"no positive `median.point_estimate`").into())
}

/// Adds the rows of section 1 (`first`) and section 2 (`second`) from criterion's results
/// under `dir` to `report`. A row's value is its ratio times the floor's median, so the
/// table's ratio is criterion's paired ratio.
pub fn import(
    dir: &Path,
    since: Option<std::time::SystemTime>,
    first: bool,
    second: bool,
    report: &mut Report,
) -> Result<()> {
    let ratio = |group: &str, variant: &str| median(dir, group, variant, since);
    let micros = |group: &str, variant: &str| ratio(group, variant).map(|ns| ns / 1000.0);
    if first {
        for (slug, name) in CASES {
            let raw = micros(slug, "raw")?;
            let [typed, dynamic, bare] = [
                ratio(slug, VARIANTS[0])?,
                ratio(slug, VARIANTS[1])?,
                ratio(slug, VARIANTS[2])?,
            ];
            report.rows.push(
                Row::new(0, format!("{name}, typed"), typed * raw, "µs")
                    .floor(raw)
                    .goal(CALL_GOAL)
                    .note(format!(
                        "over raw: transport {:+.1} µs (bare transport ratio {bare:.3}), client layer {:+.1} µs",
                        (bare - 1.0) * raw,
                        (typed - bare) * raw
                    )),
            );
            report.rows.push(
                Row::new(
                    0,
                    format!("{name}, dyn PersonalAccessTokens"),
                    dynamic * raw,
                    "µs",
                )
                .floor(raw)
                .goal(CALL_GOAL)
                .note(format!(
                    "trait layer {:+.1} µs over typed",
                    (dynamic - typed) * raw
                )),
            );
        }
        let (aa, again) = AA;
        let floor = micros(CASES[1].0, "raw")?;
        report.rows.push(
            Row::new(
                0,
                "A/A check: raw Dfns get from a second raw client",
                ratio(aa, again)? * floor,
                "µs",
            )
            .floor(floor)
            .note("same code twice: how far from 1.000 noise alone moves a ratio"),
        );
        let (group, steps) = ANATOMY;
        let mut total = 0.0;
        for (variant, name) in steps {
            let value = micros(group, variant)?;
            total += value;
            report.rows.push(
                Row::new(0, format!("transport anatomy: {name}"), value, "µs")
                    .note("CPU only, no I/O; per call"),
            );
        }
        report.rows.push(
            Row::new(0, "transport anatomy: sum of the steps above", total, "µs").note(
                "compare with the transport overhead of the rows above; the remainder is \
                 not attributed by this breakdown",
            ),
        );
    }
    if second {
        let (update, sign) = SIGNED;
        let raw = micros(update, "raw")?;
        let pats = ratio(update, "pats")? * raw;
        report.rows.push(
            Row::new(
                1,
                "Dfns update (rename): init + sign + action + PUT",
                pats,
                "µs",
            )
            .floor(raw)
            .goal(SIGNED_GOAL)
            .note("floor: 3 raw round trips + 1 P-256 signature"),
        );
        let signature = micros(sign, "sign")?;
        report.rows.push(
            Row::new(
                1,
                "P-256 signature alone (ECDSA SHA-256, DER)",
                signature,
                "µs",
            )
            .note(format!(
                "p256 crate (RFC 6979); share of the update: {:.1} %",
                100.0 * signature / pats
            )),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(dir: &Path, group: &str, variant: &str, median: f64) {
        let path = dir.join(group).join(variant).join("new");
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
        let body =
            json!({"median": {"point_estimate": median}, "mean": {"point_estimate": median * 2.0}});
        std::fs::write(path.join("estimates.json"), body.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn rows_come_from_criterions_medians() {
        let dir = std::env::temp_dir().join(format!("pats-bench-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (slug, _) in CASES {
            estimate(&dir, slug, "raw", 100_000.0);
            for (variant, r) in VARIANTS.iter().zip([1.05, 1.11, 1.04]) {
                estimate(&dir, slug, variant, r);
            }
        }
        estimate(&dir, AA.0, AA.1, 1.002);
        for (variant, _) in ANATOMY.1 {
            estimate(&dir, ANATOMY.0, variant, 500.0);
        }
        let mut report = Report::default();
        // Section 2 is missing: its import fails and names the file.
        let err = import(&dir, None, false, true, &mut report)
            .map(drop)
            .map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(m) if m.contains("s2_dfns_signed_update") && m.contains("estimates.json")),
            "{err:?}"
        );
        estimate(&dir, SIGNED.0, "raw", 690_000.0);
        estimate(&dir, SIGNED.0, "pats", 1.05);
        estimate(&dir, SIGNED.1, "sign", 330_000.0);
        let mut report = Report::default();
        import(&dir, None, true, true, &mut report).unwrap_or_else(|e| panic!("{e}"));
        let row = |name: &str| {
            report
                .rows
                .iter()
                .find(|r| r.name == name)
                .unwrap_or_else(|| panic!("no row {name}"))
        };
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        let typed = row("Dfns get, typed");
        assert_eq!(typed.floor, Some(100.0));
        assert!(close(typed.ratio(), 1.05), "{typed:?}");
        assert_eq!(typed.pass(), Some(true));
        assert!(
            typed.note.contains("transport +4.0 µs") && typed.note.contains("client layer +1.0 µs"),
            "{}",
            typed.note
        );
        let dynamic = row("ZITADEL create, dyn PersonalAccessTokens");
        assert_eq!(dynamic.pass(), Some(false), "1.11 misses 1.10");
        assert!(close(
            row("A/A check: raw Dfns get from a second raw client").ratio(),
            1.002
        ));
        let signed = row("Dfns update (rename): init + sign + action + PUT");
        assert!(close(signed.ratio(), 1.05));
        assert_eq!(signed.floor, Some(690.0));
        assert_eq!(row("transport anatomy: sum of the steps above").value, 2.5);
        assert_eq!(
            report.failures().len(),
            CASES.len(),
            "every dyn row at 1.11"
        );
        let rotate = row("GitLab rotate (native), typed");
        assert!(close(rotate.ratio(), 1.05), "{rotate:?}");
        // Estimates older than the run are refused.
        let later = std::time::SystemTime::now() + Duration::from_secs(60);
        assert!(import(&dir, Some(later), true, false, &mut Report::default()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
