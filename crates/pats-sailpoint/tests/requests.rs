//! The exact requests the client sends, for every operation and version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{client, header, json};
use pats_core::{NeverExpires, TokenId};
use pats_sailpoint::{ApiVersion, ListTokens, NewToken, TokenFilter, TokenPatch};
use pats_testkit::sailpoint::SailPointSim;
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
        let experimental = version.sends_experimental_header().then_some("true");

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
