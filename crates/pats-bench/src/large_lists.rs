//! Section 4: decoding large listings (throughput and peak heap), and ZITADEL `list_all`
//! over many pages.

use crate::alloc;
use crate::fixtures::{self, BEARER, ZITADEL_USER};
use crate::measure::{Plan, Result, compare2, compare3, done, time_sync};
use crate::raw::{Raw, RawRequest};
use crate::report::{Report, Row};
use crate::server::{self, Incoming, Server};
use bytes::Bytes;
use pats::dfns::DfnsClient;
use pats::reexports::reqwest::Method;
use pats::sailpoint::{ListTokens, SailPointClient};
use pats::zitadel::{ListPatsRequest, ZitadelAuth, ZitadelClient};
use pats::{ClientOptions, ListQuery, PersonalAccessTokens, PersonalAccessTokensExt};
use secrecy::SecretString;
use serde_json::Value;
use std::sync::Arc;

/// The response cap the large-list clients use (the default is 4 MiB).
pub const MAX_RESPONSE_BYTES: usize = 512 * 1024 * 1024;

const MIB: f64 = 1024.0 * 1024.0;
const ZITADEL_LIST: &str = "/zitadel.user.v2.UserService/ListPersonalAccessTokens";
/// Where the trait's listings look up the owners' usernames (one call per page).
const ZITADEL_USERS: &str = "/zitadel.user.v2.UserService/ListUsers";

fn options() -> ClientOptions {
    ClientOptions::default().with_max_response_bytes(MAX_RESPONSE_BYTES)
}

/// The heap high-water mark of `f` above the heap size when it starts, in bytes.
pub async fn peak_heap<F: AsyncFnOnce() -> Result<()>>(f: F) -> Result<usize> {
    crate::cold_start::settle().await;
    alloc::reset_peak();
    let base = alloc::current();
    f().await?;
    Ok(alloc::peak().saturating_sub(base))
}

fn mb_per_s(bytes: usize, nanos: f64) -> f64 {
    bytes as f64 / (nanos / 1e9) / 1e6
}

/// One listing of one size: the typed call, `dyn`, and the raw floor.
#[allow(clippy::too_many_arguments)]
async fn one<A, B, C>(
    report: &mut Report,
    plan: Plan,
    name: &str,
    wire: &[u8],
    mut typed: A,
    mut dynamic: B,
    mut raw: C,
) -> Result<()>
where
    A: AsyncFnMut() -> Result<()>,
    B: AsyncFnMut() -> Result<()>,
    C: AsyncFnMut() -> Result<()>,
{
    let decode = time_sync(plan, || {
        std::hint::black_box(serde_json::from_slice::<Value>(wire)?);
        Ok(())
    })?;
    let decode_heap = peak_heap(async || {
        std::hint::black_box(serde_json::from_slice::<Value>(wire)?);
        Ok(())
    })
    .await?;
    let heap_typed = peak_heap(async || typed().await).await?;
    let heap_dyn = peak_heap(async || dynamic().await).await?;
    let heap_raw = peak_heap(async || raw().await).await?;
    let [t, d, r] = compare3(plan, typed, dynamic, raw).await?;
    let ms = |n: f64| n / 1e6;
    let mib = |b: usize| b as f64 / MIB;
    let len = wire.len();
    report.rows.push(
        Row::new(3, format!("{name}: typed call"), ms(t.median()), "ms")
            .floor(ms(r.median()))
            .note(format!(
                "{:.1} MB wire; pats {:.0} MB/s, raw {:.0} MB/s, dyn {:.1} ms ({:.0} MB/s); Value decode alone {:.0} MB/s",
                len as f64 / 1e6,
                mb_per_s(len, t.median()),
                mb_per_s(len, r.median()),
                ms(d.median()),
                mb_per_s(len, d.median()),
                mb_per_s(len, decode.median()),
            )),
    );
    report.rows.push(
        Row::new(3, format!("{name}: peak heap"), mib(heap_typed), "MiB")
            .floor(mib(heap_raw))
            .note(format!(
                "dyn {:.1} MiB; Value decode alone {:.1} MiB; wire {:.1} MiB",
                mib(heap_dyn),
                mib(decode_heap),
                mib(len)
            )),
    );
    Ok(())
}

/// Section 4, listings of each size in `sizes`, then `list_all` over `total` tokens in
/// pages of `page`.
pub async fn section4(
    sizes: &[usize],
    plans: &[Plan],
    total: usize,
    page: usize,
    report: &mut Report,
) -> Result<()> {
    for (&n, &plan) in sizes.iter().zip(plans) {
        let dfns_wire = fixtures::dfns_list(n);
        let zitadel_wire = fixtures::zitadel_list(0..n, n);
        let sailpoint_wire = fixtures::sailpoint_list(n);
        let (d, z, s) = (
            server::json(&dfns_wire),
            server::json(&zitadel_wire),
            server::json(&sailpoint_wire),
        );
        let users = server::json(&fixtures::zitadel_users());
        let server = Server::start(Arc::new(move |req: &Incoming<'_>| {
            match (req.method, req.target.split('?').next().unwrap_or_default()) {
                ("GET", "/auth/pats") => d.clone(),
                ("POST", ZITADEL_LIST) => z.clone(),
                ("POST", ZITADEL_USERS) => users.clone(),
                ("GET", "/v3/personal-access-tokens") => s.clone(),
                _ => server::not_found(),
            }
        }))?;
        let uri = server.uri();
        let raw = Raw::new(&uri, BEARER)?;

        let dfns = DfnsClient::builder()
            .base_url(&uri)
            .auth_token(SecretString::from(BEARER))
            .options(options())
            .build()?;
        let dfns_dyn: &dyn PersonalAccessTokens = &dfns;
        let get = RawRequest::new(Method::GET, "/auth/pats");
        one(
            report,
            plan,
            &format!("Dfns list of {n}"),
            &dfns_wire,
            async || done(dfns.list_pats().await),
            async || done(dfns_dyn.list(&ListQuery::new()).await),
            async || raw.json(&get).await.map(drop),
        )
        .await?;
        drop(dfns_wire);

        let zitadel = ZitadelClient::builder()
            .base_url(&uri)
            .auth(ZitadelAuth::pat(SecretString::from(BEARER)))
            .options(options())
            .build()?;
        let zitadel_dyn: &dyn PersonalAccessTokens = &zitadel;
        let v2 = zitadel.v2();
        let all = ListPatsRequest::new();
        let post = RawRequest::new(Method::POST, ZITADEL_LIST)
            .header("connect-protocol-version", "1")
            .json(Bytes::from_static(b"{}"));
        one(
            report,
            plan,
            &format!("ZITADEL list of {n} (one answer)"),
            &zitadel_wire,
            async || done(v2.list_personal_access_tokens(&all).await),
            async || done(zitadel_dyn.list(&ListQuery::new()).await),
            async || raw.json(&post).await.map(drop),
        )
        .await?;
        drop(zitadel_wire);

        let sailpoint = SailPointClient::builder()
            .base_url(&uri)
            .bearer_token(SecretString::from(BEARER))
            .options(options())
            .build()?;
        let sailpoint_dyn: &dyn PersonalAccessTokens = &sailpoint;
        let get = RawRequest::new(Method::GET, "/v3/personal-access-tokens");
        one(
            report,
            plan,
            &format!("SailPoint list of {n}"),
            &sailpoint_wire,
            async || done(sailpoint.list_tokens(&ListTokens::new()).await),
            async || done(sailpoint_dyn.list(&ListQuery::new()).await),
            async || raw.json(&get).await.map(drop),
        )
        .await?;
    }
    list_all(
        total,
        page,
        plans.last().copied().unwrap_or(Plan::new(0, 1)),
        report,
    )
    .await
}

fn offset_of(body: &[u8]) -> usize {
    let key = b"\"offset\":";
    let Some(at) = body.windows(key.len()).position(|w| w == key) else {
        return 0;
    };
    body[at + key.len()..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0usize, |n, b| n * 10 + usize::from(b - b'0'))
}

/// ZITADEL `list_all` over `total` tokens in pages of `page`.
async fn list_all(total: usize, page: usize, plan: Plan, report: &mut Report) -> Result<()> {
    let pages: Vec<Bytes> = (0..total.div_ceil(page))
        .map(|p| {
            server::json(&fixtures::zitadel_list(
                p * page..((p + 1) * page).min(total),
                total,
            ))
        })
        .collect();
    let page_wire = pages.first().map_or(0, Bytes::len);
    let empty = server::json(&fixtures::zitadel_list(0..0, total));
    let users = server::json(&fixtures::zitadel_users());
    let server = Server::start(Arc::new(move |req: &Incoming<'_>| {
        if req.target == ZITADEL_USERS {
            return users.clone();
        }
        if req.target != ZITADEL_LIST {
            return server::not_found();
        }
        pages
            .get(offset_of(req.body) / page)
            .unwrap_or(&empty)
            .clone()
    }))?;
    let uri = server.uri();
    let zitadel = ZitadelClient::builder()
        .base_url(&uri)
        .auth(ZitadelAuth::pat(SecretString::from(BEARER)))
        .default_user(ZITADEL_USER)
        .build()?;
    let query = ListQuery::new().page_size(u32::try_from(page)?);
    let raw = Raw::new(&uri, BEARER)?;

    // What list_all keeps (the result) and what it needs on top while it runs.
    crate::cold_start::settle().await;
    alloc::reset_peak();
    let base = alloc::current();
    let all = zitadel.list_all(&query).await?;
    let retained = alloc::current().saturating_sub(base);
    let peak = alloc::peak().saturating_sub(base);
    if all.len() != total {
        return Err(format!("list_all returned {} tokens, not {total}", all.len()).into());
    }
    drop(all);
    // A loop over the pages that keeps nothing: its peak is what one page costs.
    let streaming = peak_heap(async || {
        let mut query = query.clone();
        let mut seen = 0;
        loop {
            let p = zitadel.list(&query).await?;
            seen += p.items.len();
            match p.next_page {
                Some(next) => query = query.page(Some(next)),
                None => break,
            }
        }
        if seen == total {
            Ok(())
        } else {
            Err(format!("the paging loop saw {seen} tokens, not {total}").into())
        }
    })
    .await?;

    let [t, r] = compare2(
        plan,
        async || done(zitadel.list_all(&query).await),
        async || {
            let mut items: Vec<Value> = Vec::new();
            let mut offset = 0;
            loop {
                let body = format!(
                    r#"{{"filters":[{{"userIdFilter":{{"id":"{ZITADEL_USER}"}}}}],"pagination":{{"offset":{offset},"limit":{page},"asc":true}},"sortingColumn":"PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE"}}"#
                );
                let mut answer = raw
                    .json(
                        &RawRequest::new(Method::POST, ZITADEL_LIST)
                            .header("connect-protocol-version", "1")
                            .json(body),
                    )
                    .await?;
                let batch = match answer["result"].take() {
                    Value::Array(batch) => batch,
                    _ => Vec::new(),
                };
                if batch.is_empty() {
                    break;
                }
                offset += batch.len();
                items.extend(batch);
                if offset >= total {
                    break;
                }
            }
            std::hint::black_box(items);
            Ok(())
        },
    )
    .await?;
    let mib = |b: usize| b as f64 / MIB;
    let pages_n = total.div_ceil(page);
    report.rows.push(
        Row::new(
            3,
            format!("ZITADEL list_all of {total} in pages of {page}"),
            t.median() / 1e6,
            "ms",
        )
        .floor(r.median() / 1e6)
        .note(format!(
            "{pages_n} requests; {:.0} MB/s of wire; floor: raw pages into Vec<Value>",
            mb_per_s(page_wire * pages_n, t.median())
        )),
    );
    report.rows.push(
        Row::new(
            3,
            "ZITADEL list_all: heap on top of its result (peak − retained)",
            mib(peak.saturating_sub(retained)),
            "MiB",
        )
        .note(format!(
            "one page of wire = {:.2} MiB, all pages = {:.1} MiB; the result itself: {:.1} MiB",
            mib(page_wire),
            mib(page_wire * pages_n),
            mib(retained)
        )),
    );
    report.rows.push(
        Row::new(
            3,
            "ZITADEL paging loop keeping nothing: peak heap",
            mib(streaming),
            "MiB",
        )
        .note(format!(
            "≈ one page in flight: {:.2} MiB of wire per page",
            mib(page_wire)
        )),
    );
    Ok(())
}
