//! Sections 1 and 2: the cost of a `pats` call over a hand-written `reqwest` call that
//! sends the same bytes and parses the answer into `serde_json::Value`, on the same server
//! in the same run; and the Dfns signed change against three raw round trips plus one
//! P-256 signature.

use crate::fixtures::{self, BEARER, DFNS_CRED_ID, ZITADEL_USER};
use crate::measure::{Plan, Result, Samples, compare2, compare4, time_sync};
use crate::raw::{Raw, RawRequest};
use crate::report::{Report, Row};
use crate::server::{self, Incoming, Recorded, Router, Server};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use pats::dfns::{DfnsClient, P256Signer, PatKeyPair, PatUpdate};
use pats::reexports::reqwest::Method;
use pats::reexports::reqwest::header::{HeaderName, HeaderValue};
use pats::sailpoint::{ListTokens, SailPointClient};
use pats::zitadel::generated::V2PatFieldName;
use pats::zitadel::{ListPatsRequest, PatFilter, ZitadelAuth, ZitadelClient};
use pats::{
    ClientOptions, CreateToken, ListQuery, PersonalAccessTokens, Request, StaticToken, TokenId,
    Transport,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::sync::Arc;

/// Tokens in the small listings of section 1.
pub const LIST_LEN: usize = 20;
/// The goal of section 1: `pats / raw` at the median.
pub const CALL_GOAL: f64 = 1.10;
/// The goal of section 2.
pub const SIGNED_GOAL: f64 = 1.15;

const ZITADEL_SERVICE: &str = "/zitadel.user.v2.UserService/";

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
    let sailpoint_list = server::json(&fixtures::sailpoint_list(LIST_LEN));
    let oauth = server::json(&fixtures::sailpoint_oauth());
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
                _ => return server::not_found(),
            },
            ("GET", "/v3/personal-access-tokens") => &sailpoint_list,
            ("POST", "/oauth/token") => &oauth,
            _ => return server::not_found(),
        };
        answer.clone()
    })
}

fn show(log: &[Recorded]) -> String {
    log.iter()
        .map(|(m, t, b)| format!("{m} {t} {}", String::from_utf8_lossy(b)))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Fails unless `pats` and the raw floor sent the same requests (method, target, body).
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

fn micros(s: &Samples) -> (f64, f64) {
    (s.median() / 1000.0, s.p99() / 1000.0)
}

/// Measures one call four ways: typed, through `dyn PersonalAccessTokens`, the bare
/// `pats` transport with the raw request's bytes (for the breakdown), and the raw floor.
#[allow(clippy::too_many_arguments)]
async fn call4<A, B, C, D>(
    server: &Server,
    plan: Plan,
    report: &mut Report,
    name: &str,
    mut typed: A,
    mut dynamic: B,
    mut bare: C,
    mut raw: D,
) -> Result<()>
where
    A: AsyncFnMut() -> Result<()>,
    B: AsyncFnMut() -> Result<()>,
    C: AsyncFnMut() -> Result<()>,
    D: AsyncFnMut() -> Result<()>,
{
    let sent_typed = server.record(async || typed().await).await?;
    let sent_dyn = server.record(async || dynamic().await).await?;
    let sent_bare = server.record(async || bare().await).await?;
    let sent_raw = server.record(async || raw().await).await?;
    same_requests(&format!("{name} (typed)"), &sent_typed, &sent_raw)?;
    same_requests(&format!("{name} (dyn)"), &sent_dyn, &sent_raw)?;
    same_requests(&format!("{name} (transport)"), &sent_bare, &sent_raw)?;
    let [t, d, b, r] = compare4(plan, typed, dynamic, bare, raw).await?;
    let (rm, rp) = micros(&r);
    let (tm, tp) = micros(&t);
    let (dm, dp) = micros(&d);
    let (bm, _) = micros(&b);
    report.rows.push(
        Row::new(0, format!("{name}, typed"), tm, "µs")
            .floor(rm)
            .goal(CALL_GOAL)
            .note(format!(
                "p99 {tp:.1} vs raw {rp:.1} µs; over raw: transport {:+.1} µs, client layer {:+.1} µs",
                bm - rm,
                tm - bm
            )),
    );
    report.rows.push(
        Row::new(0, format!("{name}, dyn PersonalAccessTokens"), dm, "µs")
            .floor(rm)
            .goal(CALL_GOAL)
            .note(format!(
                "p99 {dp:.1} µs; trait layer {:+.1} µs over typed",
                dm - tm
            )),
    );
    Ok(())
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
    let zitadel = ZitadelClient::builder(uri)
        .auth(ZitadelAuth::pat(SecretString::from(BEARER)))
        .default_user(ZITADEL_USER)
        .build()?;
    let sailpoint = SailPointClient::builder()
        .base_url(uri)
        .bearer_token(SecretString::from(BEARER))
        .build()?;
    Ok(Clients {
        dfns,
        zitadel,
        sailpoint,
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

/// Section 1: list and get of every provider, and ZITADEL create and remove.
pub async fn section1(plan: Plan, report: &mut Report) -> Result<()> {
    let server = Server::start(router())?;
    let uri = server.uri();
    let c = clients(&uri)?;
    let raw = &c.raw;

    // Dfns
    let dfns: &dyn PersonalAccessTokens = &c.dfns;
    let bare = Bare::new("dfns", &uri)?;
    let dfns_id = TokenId::new(fixtures::dfns_id(1))?;
    let list_all = RawRequest::new(Method::GET, "/auth/pats");
    call4(
        &server,
        plan,
        report,
        "Dfns list (20 tokens)",
        async || c.dfns.list_pats().await.map(drop).map_err(Into::into),
        async || {
            dfns.list(&ListQuery::new())
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || {
            bare.json(Request::get("/auth/pats").segments(["auth", "pats"]))
                .await
                .map(drop)
        },
        async || raw.json(&list_all).await.map(drop),
    )
    .await?;
    let get = RawRequest::new(Method::GET, format!("/auth/pats/{dfns_id}"));
    call4(
        &server,
        plan,
        report,
        "Dfns get",
        async || c.dfns.get_pat(&dfns_id).await.map(drop).map_err(Into::into),
        async || dfns.get(&dfns_id).await.map(drop).map_err(Into::into),
        async || {
            bare.json(Request::get("/auth/pats/{tokenId}").segments([
                "auth",
                "pats",
                dfns_id.as_str(),
            ]))
            .await
            .map(drop)
        },
        async || raw.json(&get).await.map(drop),
    )
    .await?;

    // The method's own noise: the raw floor against an identical second raw client.
    let raw_b = Raw::new(&uri, BEARER)?;
    let [a, b] = compare2(
        plan,
        async || raw.json(&get).await.map(drop),
        async || raw_b.json(&get).await.map(drop),
    )
    .await?;
    let ((am, _), (bm, _)) = (micros(&a), micros(&b));
    report.rows.push(
        Row::new(
            0,
            "A/A check: raw Dfns get against a second raw client",
            bm,
            "µs",
        )
        .floor(am)
        .note("same code twice: how far from 1.000 noise alone moves a ratio"),
    );

    // ZITADEL (v2 user service, Connect JSON)
    let zitadel: &dyn PersonalAccessTokens = &c.zitadel;
    let bare = Bare::new("zitadel", &uri)?;
    let v2 = c.zitadel.v2();
    const LIST: &str = "/zitadel.user.v2.UserService/ListPersonalAccessTokens";
    const ADD: &str = "/zitadel.user.v2.UserService/AddPersonalAccessToken";
    const REMOVE: &str = "/zitadel.user.v2.UserService/RemovePersonalAccessToken";
    let list = ListPatsRequest::new()
        .asc(true)
        .sort_by(V2PatFieldName::PersonalAccessTokenFieldNameCreatedDate)
        .filter(PatFilter::UserId(ZITADEL_USER.to_owned()));
    let list_body = format!(
        r#"{{"filters":[{{"userIdFilter":{{"id":"{ZITADEL_USER}"}}}}],"pagination":{{"asc":true}},"sortingColumn":"PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE"}}"#
    );
    let raw_list = connect("ListPersonalAccessTokens", &list_body);
    call4(
        &server,
        plan,
        report,
        "ZITADEL list (20 tokens)",
        async || {
            v2.list_personal_access_tokens(&list)
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || {
            zitadel
                .list(&ListQuery::new())
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || {
            bare.json(connect_request(
                LIST,
                "ListPersonalAccessTokens",
                &list_body,
            ))
            .await
            .map(drop)
        },
        async || raw.json(&raw_list).await.map(drop),
    )
    .await?;
    let zitadel_id = TokenId::new(fixtures::zitadel_id(1))?;
    let by_id = ListPatsRequest::new()
        .limit(1)
        .filter(PatFilter::TokenId(zitadel_id.to_string()));
    let get_body = format!(
        r#"{{"filters":[{{"tokenIdFilter":{{"id":"{zitadel_id}"}}}}],"pagination":{{"limit":1}}}}"#
    );
    let raw_get = connect("ListPersonalAccessTokens", &get_body);
    let has_id = |page: &Value| {
        page["result"]
            .as_array()
            .is_some_and(|r| r.iter().any(|p| p["id"] == zitadel_id.as_str()))
    };
    call4(
        &server,
        plan,
        report,
        "ZITADEL get (tokenIdFilter listing)",
        async || {
            let page = v2.list_personal_access_tokens(&by_id).await?;
            found(page.result.iter().any(|p| p.id == zitadel_id.as_str()))
        },
        async || zitadel.get(&zitadel_id).await.map(drop).map_err(Into::into),
        async || {
            let page = bare
                .json(connect_request(LIST, "ListPersonalAccessTokens", &get_body))
                .await?;
            found(has_id(&page))
        },
        async || found(has_id(&raw.json(&raw_get).await?)),
    )
    .await?;
    let create = CreateToken::builder().build()?;
    let add_body = format!(r#"{{"userId":"{ZITADEL_USER}"}}"#);
    let raw_add = connect("AddPersonalAccessToken", &add_body);
    let token_of = |added: &Value| -> Result<()> {
        let token = added["token"].as_str().ok_or("no token")?;
        drop(SecretString::from(token));
        Ok(())
    };
    call4(
        &server,
        plan,
        report,
        "ZITADEL create",
        async || {
            v2.add_personal_access_token(ZITADEL_USER, None)
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || zitadel.create(&create).await.map(drop).map_err(Into::into),
        async || {
            let request =
                connect_request(ADD, "AddPersonalAccessToken", &add_body).idempotent(false);
            token_of(&bare.json(request).await?)
        },
        async || token_of(&raw.json(&raw_add).await?),
    )
    .await?;
    let remove_body = format!(r#"{{"tokenId":"{zitadel_id}","userId":"{ZITADEL_USER}"}}"#);
    let raw_remove = connect("RemovePersonalAccessToken", &remove_body);
    call4(
        &server,
        plan,
        report,
        "ZITADEL remove",
        async || {
            v2.remove_personal_access_token(ZITADEL_USER, &zitadel_id)
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || zitadel.revoke(&zitadel_id).await.map_err(Into::into),
        async || {
            bare.json(connect_request(
                REMOVE,
                "RemovePersonalAccessToken",
                &remove_body,
            ))
            .await
            .map(drop)
        },
        async || raw.json(&raw_remove).await.map(drop),
    )
    .await?;

    // SailPoint (v3, static bearer token)
    let sailpoint: &dyn PersonalAccessTokens = &c.sailpoint;
    let bare = Bare::new("sailpoint", &uri)?;
    let bare_list =
        || Request::get("/{v}/personal-access-tokens").segments(["v3", "personal-access-tokens"]);
    let raw_list = RawRequest::new(Method::GET, "/v3/personal-access-tokens");
    call4(
        &server,
        plan,
        report,
        "SailPoint list (20 tokens)",
        async || {
            c.sailpoint
                .list_tokens(&ListTokens::new())
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || {
            sailpoint
                .list(&ListQuery::new())
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || bare.json(bare_list()).await.map(drop),
        async || raw.json(&raw_list).await.map(drop),
    )
    .await?;
    let sailpoint_id = TokenId::new(fixtures::sailpoint_id(LIST_LEN / 2))?;
    let has_id = |all: &Value| {
        all.as_array()
            .is_some_and(|a| a.iter().any(|t| t["id"] == sailpoint_id.as_str()))
    };
    call4(
        &server,
        plan,
        report,
        "SailPoint get (listing, select)",
        async || {
            c.sailpoint
                .get_token(&sailpoint_id)
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || {
            sailpoint
                .get(&sailpoint_id)
                .await
                .map(drop)
                .map_err(Into::into)
        },
        async || found(has_id(&bare.json(bare_list()).await?)),
        async || found(has_id(&raw.json(&raw_list).await?)),
    )
    .await?;
    Ok(())
}

/// The CPU work of the `pats` transport per call that the raw floor does not do, step by
/// step and without I/O (a breakdown of the "transport" part of section 1).
pub async fn anatomy(plan: Plan, report: &mut Report) -> Result<()> {
    use pats::reexports::reqwest::header::{
        ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, USER_AGENT,
    };
    use std::hint::black_box;
    let plan = Plan::new(plan.warmup.max(1) * 10, plan.iterations.max(1) * 10);
    let transport = Transport::new("zitadel", "http://127.0.0.1:9", ClientOptions::default())?;
    let segments = ["zitadel.user.v2.UserService", "RemovePersonalAccessToken"];
    let body = fixtures::zitadel_removed();
    let mut rows: Vec<(&str, Samples)> = Vec::new();
    rows.push((
        "build the URL from segments (`Transport::url`)",
        time_sync(plan, || {
            black_box(transport.url(&segments)?);
            Ok(())
        })?,
    ));
    rows.push((
        "build the `Request` (segments, header, body copy)",
        time_sync(plan, || {
            black_box(connect_request(
                "/zitadel.user.v2.UserService/RemovePersonalAccessToken",
                "RemovePersonalAccessToken",
                "{\"tokenId\":\"259242039378000001\",\"userId\":\"259242039378444290\"}",
            ));
            Ok(())
        })?,
    ));
    let source: Arc<dyn pats::TokenSource> = Arc::new(StaticToken::new(SecretString::from(BEARER)));
    let mut samples = Vec::with_capacity(plan.iterations);
    for round in 0..plan.warmup + plan.iterations {
        let start = std::time::Instant::now();
        let token = source.token().await?;
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))?;
        value.set_sensitive(true);
        black_box(value);
        if round >= plan.warmup {
            samples.push(start.elapsed());
        }
    }
    rows.push((
        "bearer token from the `TokenSource` + `Authorization` value",
        Samples::new(samples),
    ));
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("connect-protocol-version"),
        HeaderValue::from_static("1"),
    );
    rows.push((
        "clone the request's header map, add 4 headers",
        time_sync(plan, || {
            let mut h = headers.clone();
            h.insert(USER_AGENT, HeaderValue::from_static("pats/0.1.0"));
            h.entry(ACCEPT)
                .or_insert(HeaderValue::from_static("application/json"));
            h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            black_box(h);
            Ok(())
        })?,
    ));
    let mut answer = HeaderMap::new();
    answer.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer.insert(CONTENT_LENGTH, HeaderValue::from_static("45"));
    let secrets = vec![SecretString::from(BEARER)];
    rows.push((
        "copy the body, clone the answer's headers and the secret list",
        time_sync(plan, || {
            let mut copy = Vec::new();
            copy.extend_from_slice(black_box(&body));
            black_box(Bytes::from(copy));
            black_box(answer.clone());
            black_box(Arc::new(secrets.clone()));
            Ok(())
        })?,
    ));
    let total: f64 = rows.iter().map(|(_, s)| s.median()).sum();
    for (name, s) in &rows {
        report.rows.push(
            Row::new(
                0,
                format!("transport anatomy: {name}"),
                s.median() / 1000.0,
                "µs",
            )
            .note("CPU only, no I/O; per call"),
        );
    }
    report.rows.push(
        Row::new(
            0,
            "transport anatomy: sum of the steps above",
            total / 1000.0,
            "µs",
        )
        .note(
            "compare with the transport overhead of section 1; the remainder is not attributed \
             (candidates: the retry loop, tracing instrumentation, boxed futures, the chunked \
             body read)",
        ),
    );
    Ok(())
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

/// Section 2: one Dfns update through `pats` against its raw floor; the signature alone.
pub async fn section2(plan: Plan, report: &mut Report) -> Result<()> {
    let server = Server::start(router())?;
    let c = clients(&server.uri())?;
    let id = TokenId::new(fixtures::dfns_id(1))?;
    let update = PatUpdate::new().name("ci-token-renamed");
    let body = Bytes::from_static(br#"{"name":"ci-token-renamed"}"#);
    let pats = async || {
        c.dfns
            .update_pat(&id, &update)
            .await
            .map(drop)
            .map_err(Into::into)
    };
    let raw = async || raw_signed_update(&c.raw, &c.key, &id, &body).await;
    let sent_pats = server.record(async || pats().await).await?;
    let sent_raw = server.record(async || raw().await).await?;
    if sent_pats.len() != 3 {
        return Err(format!("a signed change took {} requests, not 3", sent_pats.len()).into());
    }
    same_requests("Dfns signed update", &sent_pats, &sent_raw)?;
    let [p, r] = compare2(plan, pats, raw).await?;
    let (pm, pp) = micros(&p);
    let (rm, rp) = micros(&r);
    report.rows.push(
        Row::new(
            1,
            "Dfns update (rename): init + sign + action + PUT",
            pm,
            "µs",
        )
        .floor(rm)
        .goal(SIGNED_GOAL)
        .note(format!(
            "floor: 3 raw round trips + 1 P-256 signature; p99 {pp:.1} µs vs {rp:.1} µs"
        )),
    );
    let message = fixtures::dfns_challenge();
    let sign_plan = Plan::new(plan.warmup, plan.iterations.max(1));
    let s = time_sync(sign_plan, || {
        let signature: Signature = c.key.sign(std::hint::black_box(&message[..60]));
        std::hint::black_box(signature.to_der());
        Ok(())
    })?;
    let (sm, sp) = micros(&s);
    report.rows.push(
        Row::new(1, "P-256 signature alone (ECDSA SHA-256, DER)", sm, "µs").note(format!(
            "p256 crate (RFC 6979); p99 {sp:.1} µs; share of the update: {:.1} %",
            100.0 * sm / pm.max(f64::MIN_POSITIVE)
        )),
    );
    Ok(())
}
