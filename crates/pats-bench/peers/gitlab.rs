//! The `gitlab` crate against `pats` on the same GitLab calls (pats-bench, `--peers`).
//!
//! Not compiled in the workspace: `pats-bench` writes this file as `src/main.rs` of a
//! generated project under `<target>/bench/peers/gitlab/` (its own `Cargo.lock`, outside
//! the workspace; see `crates/pats-bench/src/peers.rs`), builds it in release and runs it
//! against its canned-bytes server.
//!
//! `gitlab-peer <base-url> [--rounds N] [--once]`: for each operation (list, get, create,
//! rotate, revoke), rounds that call `pats` (typed `GitLabClient`) and the `gitlab` crate
//! (`AsyncGitlab`, endpoints built once, answers decoded into the structs a user of the
//! crate writes) back to back, alternating which goes first; prints one JSON object with
//! each side's median per call and the median of the per-round ratios. `--once` calls
//! each operation once per side, `pats` first, so the server can record both requests.

use chrono::{DateTime, NaiveDate, Utc};
use gitlab::api::personal_access_tokens::{
    PersonalAccessToken, PersonalAccessTokenState, PersonalAccessTokens, RevokePersonalAccessToken,
    RotatePersonalAccessToken,
};
use gitlab::api::users::personal_access_tokens::{
    CreatePersonalAccessTokenForUser, PersonalAccessTokenScope,
};
use gitlab::api::{self, AsyncQuery as _};
use pats::gitlab::{GitLabClient, ListTokens, NewToken, TokenFor, TokenState};
use secrecy::SecretString;
use serde::Deserialize;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Outcome = Result<(), BoxError>;

/// The token the clients send (as the bench's other clients do).
const BEARER: &str = "bench-bearer-token-0123456789abcdef";
/// The token listed, read, rotated and revoked.
const TOKEN_ID: u64 = 4_001;
/// The user a token is created for.
const USER_ID: u64 = 7;

/// A GitLab personal access token as a user of the `gitlab` crate declares it (the crate
/// leaves the answer's type to its caller).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Pat {
    id: u64,
    name: String,
    revoked: bool,
    created_at: DateTime<Utc>,
    description: Option<String>,
    scopes: Vec<String>,
    user_id: u64,
    last_used_at: Option<DateTime<Utc>>,
    active: bool,
    expires_at: Option<NaiveDate>,
    #[serde(default)]
    last_used_ips: Option<Vec<String>>,
}

/// A create's or rotation's answer: the token and its value.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct NewPat {
    id: u64,
    name: String,
    revoked: bool,
    created_at: DateTime<Utc>,
    description: Option<String>,
    scopes: Vec<String>,
    user_id: u64,
    last_used_at: Option<DateTime<Utc>>,
    active: bool,
    expires_at: Option<NaiveDate>,
    #[serde(default)]
    last_used_ips: Option<Vec<String>>,
    token: String,
}

type Call<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Outcome> + 'a>> + 'a>;

/// One measured call, boxed so that the operations fit in one list.
fn call<'a, F, Fut>(f: F) -> Call<'a>
where
    F: Fn() -> Fut + 'a,
    Fut: Future<Output = Outcome> + 'a,
{
    Box::new(move || -> Pin<Box<dyn Future<Output = Outcome> + 'a>> { Box::pin(f()) })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

async fn timed(call: &Call<'_>) -> Result<Duration, BoxError> {
    let start = Instant::now();
    call().await?;
    Ok(start.elapsed())
}

async fn main_async() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .ok_or("usage: gitlab-peer <base-url> [--rounds N] [--once]")?;
    let (mut rounds, mut once) = (3000_usize, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().ok_or("--rounds needs a number")?.parse()?,
            "--once" => once = true,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let host = base
        .strip_prefix("http://")
        .ok_or("the base URL must be http://host:port (loopback)")?
        .trim_end_matches('/');

    let pats = GitLabClient::builder()
        .base_url(base.as_str())
        .token(SecretString::from(BEARER))
        .build()?;
    // `insecure`: plain http on loopback; `oauth2_token`: the token as
    // `Authorization: Bearer`, as pats sends it (the default is `PRIVATE-TOKEN`). Building
    // the client asks `GET /api/v4/user` once, to check the token.
    let crate_client = gitlab::GitlabBuilder::new(host, BEARER)
        .insecure()
        .oauth2_token()
        .build_async()
        .await?;
    let gl = &crate_client;
    let expires = NaiveDate::from_ymd_opt(2099, 1, 1).ok_or("date")?;
    let pats_expires = time::Date::from_calendar_date(2099, time::Month::January, 1)?;

    let pats = &pats;
    let active = &ListTokens::new().state(TokenState::Active);
    let new_token = &NewToken::new("ci-token", ["api", "read_repository"]).expires_at(pats_expires);
    let list = &PersonalAccessTokens::builder()
        .state(PersonalAccessTokenState::Active)
        .build()?;
    let get = &PersonalAccessToken::builder().id(TOKEN_ID).build()?;
    let create = &CreatePersonalAccessTokenForUser::builder()
        .user(USER_ID)
        .name("ci-token")
        .scope(PersonalAccessTokenScope::Api)
        .scope(PersonalAccessTokenScope::ReadRepository)
        .expires_at(expires)
        .build()?;
    let rotate = &RotatePersonalAccessToken::builder()
        .id(TOKEN_ID)
        .expires_at(expires)
        .build()?;
    let revoke = &api::ignore(RevokePersonalAccessToken::builder().id(TOKEN_ID).build()?);

    let ops: Vec<(&str, Call<'_>, Call<'_>)> = vec![
        (
            "list",
            call(move || async move {
                let page = pats.list_tokens(active).await?;
                if page.tokens.len() != 20 {
                    return Err("pats: not 20 tokens".into());
                }
                black_box(page);
                Ok(())
            }),
            call(move || async move {
                let tokens: Vec<Pat> = list.query_async(gl).await?;
                if tokens.len() != 20 {
                    return Err("gitlab: not 20 tokens".into());
                }
                black_box(tokens);
                Ok(())
            }),
        ),
        (
            "get",
            call(move || async move {
                black_box(pats.get_token(TOKEN_ID).await?);
                Ok(())
            }),
            call(move || async move {
                let token: Pat = get.query_async(gl).await?;
                black_box(token);
                Ok(())
            }),
        ),
        (
            "create",
            call(move || async move {
                let created = pats
                    .create_token(TokenFor::User(USER_ID), new_token)
                    .await?;
                black_box(created);
                Ok(())
            }),
            call(move || async move {
                let created: NewPat = create.query_async(gl).await?;
                if created.token.is_empty() {
                    return Err("gitlab: empty token".into());
                }
                black_box(created);
                Ok(())
            }),
        ),
        (
            "rotate",
            call(move || async move {
                black_box(pats.rotate_token(TOKEN_ID, Some(pats_expires)).await?);
                Ok(())
            }),
            call(move || async move {
                let rotated: NewPat = rotate.query_async(gl).await?;
                if rotated.token.is_empty() {
                    return Err("gitlab: empty token".into());
                }
                black_box(rotated);
                Ok(())
            }),
        ),
        (
            "revoke",
            call(move || async move {
                pats.revoke_token(TOKEN_ID).await?;
                Ok(())
            }),
            call(move || async move {
                revoke.query_async(gl).await?;
                Ok(())
            }),
        ),
    ];

    if once {
        for (_, p, g) in &ops {
            p().await?;
            g().await?;
        }
        println!("{{\"once\":true}}");
        return Ok(());
    }
    let warmup = (rounds / 10).max(1);
    let mut out = Vec::new();
    for (op, p, g) in &ops {
        let (mut ps, mut gs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..warmup + rounds {
            let (tp, tg) = if round % 2 == 0 {
                let tp = timed(p).await?;
                (tp, timed(g).await?)
            } else {
                let tg = timed(g).await?;
                (timed(p).await?, tg)
            };
            if round >= warmup {
                ps.push(tp.as_secs_f64() * 1e9);
                gs.push(tg.as_secs_f64() * 1e9);
                ratios.push(tp.as_secs_f64() / tg.as_secs_f64().max(f64::MIN_POSITIVE));
            }
        }
        out.push(serde_json::json!({
            "op": op,
            "pats_ns": median(&mut ps),
            "gitlab_ns": median(&mut gs),
            "paired_ratio": median(&mut ratios),
        }));
    }
    let report = serde_json::json!({
        "rounds": rounds,
        "warmup": warmup,
        "operations": out,
    });
    println!("{report}");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gitlab-peer: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main_async()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gitlab-peer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
