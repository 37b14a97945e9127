//! The exact requests the client sends, for every operation and version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::{client, header, json};
use pats_core::{NeverExpires, TokenId};
use pats_sailpoint::{ApiVersion, ListTokens, NewToken, TokenFilter, TokenPatch};
use pats_sim::sailpoint::SailPointSim;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

#[tokio::test]
async fn token_request_is_form_encoded_client_credentials() {
    let sim = SailPointSim::start().await;
    let client = client(&sim, ApiVersion::V3);
    client.list_tokens(&ListTokens::new()).await.unwrap();
    let tokens = sim.token_requests().await;
    assert_eq!(tokens.len(), 1);
    let t = &tokens[0];
    assert_eq!(t.method.as_str(), "POST");
    assert_eq!(t.url.path(), "/oauth/token");
    assert_eq!(t.url.query(), None);
    assert_eq!(
        header(t, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(t, "authorization"), None);
    assert_eq!(
        std::str::from_utf8(&t.body).unwrap(),
        "grant_type=client_credentials&client_id=sim-client-2c91808a7f3b&client_secret=sim-secret-7d1e0c4b9a8f4e6d"
    );
    // Reserved characters in credentials are form-encoded.
    sim.register_client("id with space", "p&ss=w+rd/%", "2c91-other", "Other");
    let other = pats_sailpoint::SailPointClient::builder()
        .base_url(sim.uri())
        .client_credentials("id with space", "p&ss=w+rd/%".to_owned().into())
        .build()
        .unwrap();
    other.list_tokens(&ListTokens::new()).await.unwrap();
    let last = sim.token_requests().await.pop().unwrap();
    assert_eq!(
        std::str::from_utf8(&last.body).unwrap(),
        "grant_type=client_credentials&client_id=id+with+space&client_secret=p%26ss%3Dw%2Brd%2F%25"
    );
}

fn expiry_for(version: ApiVersion) -> NewToken {
    let at = OffsetDateTime::now_utc() + time::Duration::days(30);
    let base = NewToken::new("ci")
        .scope(["sp:scopes:all"])
        .access_token_validity_seconds(900);
    if version.supports_never_expires() {
        base.never_expires(NeverExpires::I_UNDERSTAND_THE_RISK)
    } else {
        base.expires_at(at)
    }
}

#[tokio::test]
async fn every_operation_on_every_version() {
    for version in ApiVersion::ALL {
        let sim = SailPointSim::start().await;
        let client = client(&sim, version);
        let prefix = version.collection_path();
        // api-specs marks no PAT operation `x-sailpoint-experimental`, on any version: the
        // header is never sent (the official SDKs, generated from it, do not send it either).
        let experimental: Option<&str> = None;

        // create
        let created = client.create_token(&expiry_for(version)).await.unwrap();
        let id = TokenId::new(created.pat.id.clone()).unwrap();
        // list with owner and a filter
        let stale = datetime!(2026-02-05 10:59:27.214 UTC);
        let listed = client
            .list_tokens(
                &ListTokens::new()
                    .owner_id(SailPointSim::IDENTITY_ID)
                    .filter(TokenFilter::last_used_is_null()),
            )
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{version}");
        client
            .list_tokens(&ListTokens::new().filter(TokenFilter::last_used_le(stale)))
            .await
            .unwrap();
        // patch
        let patched = client
            .patch_token(
                &id,
                &TokenPatch::new().name("renamed").scope(["idn:a", "idn:b"]),
            )
            .await
            .unwrap();
        assert_eq!(patched.name, "renamed");
        assert_eq!(
            patched.scope,
            Some(vec!["idn:a".to_owned(), "idn:b".to_owned()])
        );
        // delete
        client.delete_token(&id).await.unwrap();

        let reqs = sim.api_requests().await;
        assert_eq!(reqs.len(), 5, "{version}");
        for r in &reqs {
            assert_eq!(
                header(r, "x-sailpoint-experimental"),
                experimental,
                "{version}"
            );
            assert!(header(r, "authorization").unwrap().starts_with("Bearer "));
            assert_eq!(header(r, "accept"), Some("application/json"));
        }
        let (create, list1, list2, patch, delete) =
            (&reqs[0], &reqs[1], &reqs[2], &reqs[3], &reqs[4]);

        assert_eq!(create.method.as_str(), "POST");
        assert_eq!(create.url.path(), prefix);
        assert_eq!(header(create, "content-type"), Some("application/json"));
        let body = json(create);
        if version.supports_never_expires() {
            assert_eq!(
                body,
                json!({"name":"ci","scope":["sp:scopes:all"],"accessTokenValiditySeconds":900,
                       "expirationDate":null,"userAwareTokenNeverExpires":true}),
                "{version}"
            );
        } else {
            assert_eq!(body["name"], "ci");
            assert_eq!(body["accessTokenValiditySeconds"], 900);
            assert!(body["expirationDate"].as_str().unwrap().ends_with('Z'));
            assert!(
                body.get("userAwareTokenNeverExpires").is_none(),
                "{version}"
            );
            assert_eq!(body.as_object().unwrap().len(), 4);
        }

        assert_eq!(list1.method.as_str(), "GET");
        assert_eq!(list1.url.path(), prefix);
        assert_eq!(
            list1.url.query(),
            Some("owner-id=2c9180867b50d088017b554662fb281e&filters=lastUsed+isnull")
        );
        assert_eq!(
            list2.url.query(),
            Some("filters=lastUsed+le+2026-02-05T10%3A59%3A27.214Z")
        );
        let decoded: Vec<(String, String)> = list2.url.query_pairs().into_owned().collect();
        assert_eq!(
            decoded,
            [(
                "filters".to_owned(),
                "lastUsed le 2026-02-05T10:59:27.214Z".to_owned()
            )]
        );

        assert_eq!(patch.method.as_str(), "PATCH");
        assert_eq!(patch.url.path(), format!("{prefix}/{id}"));
        assert_eq!(
            header(patch, "content-type"),
            Some("application/json-patch+json")
        );
        assert_eq!(
            json(patch),
            json!([
                {"op":"replace","path":"/name","value":"renamed"},
                {"op":"replace","path":"/scope","value":["idn:a","idn:b"]}
            ])
        );

        assert_eq!(delete.method.as_str(), "DELETE");
        assert_eq!(delete.url.path(), format!("{prefix}/{id}"));
        assert!(delete.body.is_empty());
        assert!(sim.stored_tokens().is_empty());
    }
}

#[tokio::test]
async fn version_specific_patches_and_answers() {
    let sim = SailPointSim::start().await;
    let client = client(&sim, ApiVersion::V2026);
    let at = OffsetDateTime::now_utc() + time::Duration::days(400);
    let created = client
        .create_token(&NewToken::new("long").expires_at(at))
        .await
        .unwrap();
    assert_eq!(created.pat.user_aware_token_never_expires, Some(false));
    let id = TokenId::new(created.pat.id.clone()).unwrap();
    let patched = client
        .patch_token(
            &id,
            &TokenPatch::new().never_expires(NeverExpires::I_UNDERSTAND_THE_RISK),
        )
        .await
        .unwrap();
    assert_eq!(patched.expiration_date, None);
    assert_eq!(patched.user_aware_token_never_expires, Some(true));
    let later = datetime!(2035-06-30 23:59:59.999 UTC);
    let patched = client
        .patch_token(&id, &TokenPatch::new().expiration_date(later))
        .await
        .unwrap();
    assert_eq!(patched.expiration_date, Some(later));
    let reqs = sim.api_requests().await;
    assert_eq!(
        json(&reqs[1]),
        json!([
            {"op":"replace","path":"/expirationDate","value":null},
            {"op":"replace","path":"/userAwareTokenNeverExpires","value":true}
        ])
    );
    assert_eq!(
        json(&reqs[2]),
        json!([{"op":"replace","path":"/expirationDate","value":"2035-06-30T23:59:59.999Z"}])
    );
    // A raw json_patch::Patch goes out as given.
    let raw: json_patch::Patch = serde_json::from_value(json!([
        {"op":"test","path":"/name","value":"long"},
        {"op":"replace","path":"/name","value":"raw"}
    ]))
    .unwrap();
    let patched = client.patch_token_raw(&id, &raw).await.unwrap();
    assert_eq!(patched.name, "raw");
    let last = sim.api_requests().await.pop().unwrap();
    assert_eq!(json(&last), serde_json::to_value(&raw).unwrap());

    // v3 answers carry no userAwareTokenNeverExpires.
    let v3 = common::client(&sim, ApiVersion::V3);
    let listed = v3.list_tokens(&ListTokens::new()).await.unwrap();
    assert_eq!(listed[0].user_aware_token_never_expires, None);
}

/// The JSON body of a raw answer.
async fn answer_json(answer: pats_core::reexports::reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap()
}

/// An HTTP client for raw calls to the simulator.
fn raw() -> pats_core::reexports::reqwest::Client {
    pats_core::reexports::reqwest::Client::new()
}

#[tokio::test]
async fn the_token_endpoint_takes_form_multipart_and_query_parameters() {
    let sim = SailPointSim::start().await;
    let url = format!("{}/oauth/token", sim.uri());
    let (id, secret) = (SailPointSim::CLIENT_ID, SailPointSim::CLIENT_SECRET);
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    // application/x-www-form-urlencoded (what pats sends).
    let answer = raw()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // multipart/form-data (what the official TypeScript SDK sends).
    let boundary = "----pats-boundary-7d1e";
    let mut multipart = String::new();
    for (name, value) in [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ] {
        multipart.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    multipart.push_str(&format!("--{boundary}--\r\n"));
    let answer = raw()
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body = answer_json(answer).await;
    assert_eq!(body["token_type"], "bearer");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    // Query parameters and no body (as the real endpoint takes them).
    let answer = raw().post(format!("{url}?{form}")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    // Wrong credentials stay 401 invalid_client, however they come.
    let wrong = form.replace(secret, "wrong");
    for answer in [
        raw().post(format!("{url}?{wrong}")).send().await.unwrap(),
        raw()
            .post(&url)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(multipart.replace(secret, "wrong"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(answer.status(), 401);
        let body = answer_json(answer).await;
        assert_eq!(body, json!({"error": "invalid_client"}));
    }
    // A multipart body without its closing delimiter is malformed.
    let answer = raw()
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(
            multipart
                .trim_end_matches(&format!("--{boundary}--\r\n"))
                .to_owned(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
}

#[tokio::test]
async fn no_pat_operation_needs_the_experimental_header() {
    // The old simulator refused v2024+ calls without it; api-specs marks none of them.
    let sim = SailPointSim::start().await;
    let token = sim.issue_access_token(SailPointSim::IDENTITY_ID);
    for version in ApiVersion::ALL {
        let answer = raw()
            .get(format!("{}{}", sim.uri(), version.collection_path()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{version}");
        assert!(
            !version
                .operation(pats_sailpoint::PatOperation::List)
                .experimental
        );
    }
}

/// Whether `text` is a date-time in SailPoint's documented form: UTC, three fractional
/// digits (`2023-02-05T10:59:27.214Z`).
fn documented_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 24
        && OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
        && bytes[19] == b'.'
        && bytes[20..23].iter().all(u8::is_ascii_digit)
        && bytes[23] == b'Z'
}

#[tokio::test]
async fn date_times_on_the_wire_have_exactly_three_fractional_digits() {
    let sim = SailPointSim::start().await;
    let v3 = client(&sim, ApiVersion::V3);
    // A whole-second expiration goes out as `.000Z`, a finer one cut to milliseconds.
    let at = (OffsetDateTime::now_utc() + time::Duration::days(30))
        .replace_nanosecond(0)
        .unwrap();
    let created = v3
        .create_token(&NewToken::new("whole").expires_at(at))
        .await
        .unwrap();
    let fine = at.replace_nanosecond(123_456_789).unwrap();
    v3.create_token(&NewToken::new("fine").expires_at(fine))
        .await
        .unwrap();
    v3.list_tokens(
        &ListTokens::new().filter(TokenFilter::last_used_le(datetime!(
            2026-02-05 10:00 UTC
        ))),
    )
    .await
    .unwrap();
    let reqs = sim.api_requests().await;
    let expected = |t: OffsetDateTime, millis: &str| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    assert_eq!(json(&reqs[0])["expirationDate"], expected(at, "000"));
    assert_eq!(json(&reqs[1])["expirationDate"], expected(at, "123"));
    assert_eq!(
        reqs[2].url.query(),
        Some("filters=lastUsed+le+2026-02-05T10%3A00%3A00.000Z")
    );
    // A patched expiration too (v2025, where it is patchable).
    let v2025 = client(&sim, ApiVersion::V2025);
    let later = at + time::Duration::days(1);
    let id = TokenId::new(created.pat.id.clone()).unwrap();
    v2025
        .patch_token(&id, &TokenPatch::new().expiration_date(later))
        .await
        .unwrap();
    let patch = sim.api_requests().await.pop().unwrap();
    assert_eq!(
        json(&patch),
        json!([{"op": "replace", "path": "/expirationDate", "value": expected(later, "000")}])
    );

    // The simulator answers every date-time in that form, whatever the client sent.
    let token = sim.issue_access_token(SailPointSim::IDENTITY_ID);
    sim.set_last_used(&created.pat.id, Some(datetime!(2026-01-02 03:04:05 UTC)));
    let sent = raw()
        .post(format!("{}/v2025/personal-access-tokens", sim.uri()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(json!({"name": "precise", "expirationDate": expected(at, "5")}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let answered = answer_json(sent).await;
    assert_eq!(answered["expirationDate"], expected(at, "500"));
    let listed = answer_json(
        raw()
            .get(format!("{}/v2025/personal-access-tokens", sim.uri()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut seen = 0;
    for token in listed.as_array().unwrap() {
        for field in ["created", "expirationDate", "lastUsed"] {
            if let Some(text) = token[field].as_str() {
                assert!(documented_date_time(text), "{field}: {text}");
                seen += 1;
            }
        }
    }
    // created ×3, expirationDate ×3, lastUsed ×1.
    assert_eq!(seen, 7);
}
