//! The lifecycle through `PersonalAccessTokens`, and how answers are mapped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::client;
use pats_core::{
    CreateToken, ErrorKind, Expiration, Expiry, GetSupport, ListQuery, NeverExpires,
    PersonalAccessTokens, PersonalAccessTokensExt, TokenId,
};
use pats_sailpoint::ApiVersion;
use pats_sailpoint::GetPersonalAccessTokenResponse;
use pats_sim::sailpoint::SailPointSim;
use pats_sim::{Fault, FaultRule};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

#[tokio::test]
async fn lifecycle_through_the_trait() {
    for version in [ApiVersion::V3, ApiVersion::V2025, ApiVersion::V1] {
        let sim = SailPointSim::start().await;
        let pats: Arc<dyn PersonalAccessTokens> = Arc::new(client(&sim, version));
        assert_eq!(pats.provider(), "sailpoint");
        let caps = pats.capabilities();
        assert_eq!(caps.get, GetSupport::Emulated);
        assert!(caps.rename && caps.scopes && caps.names() && !caps.set_active);
        assert!(caps.list_filters.owner && caps.list_filters.never_used);
        assert_eq!(
            caps.max_lifetime.is_some(),
            !version.supports_never_expires()
        );

        let request = CreateToken::builder()
            .name("deploy")
            .scopes(["sp:scopes:all"])
            .expiry(Expiry::In(Duration::from_secs(7 * 86_400)))
            .build()
            .unwrap();
        let created = pats.create(&request).await.unwrap();
        let id = created.info.id.clone();
        assert_eq!(created.info.name.as_deref(), Some("deploy"));
        assert_eq!(created.info.scopes, ["sp:scopes:all"]);
        let owner = created.info.owner.clone().unwrap();
        assert_eq!(owner.id, SailPointSim::IDENTITY_ID);
        assert_eq!(owner.kind.as_deref(), Some("IDENTITY"));
        assert_eq!(owner.name.as_deref(), Some(SailPointSim::IDENTITY_NAME));
        let expires = created.info.expires.at().unwrap();
        let expected = OffsetDateTime::now_utc() + time::Duration::days(7);
        assert!((expires - expected).abs() < time::Duration::minutes(1));

        let got = pats.get(&id).await.unwrap();
        assert_eq!(got.id, id);
        let wire = got.details.get::<GetPersonalAccessTokenResponse>().unwrap();
        assert_eq!(wire.access_token_validity_seconds, Some(43_200));
        assert_eq!(wire.managed, Some(false));

        // Duplicate names are refused by the service, with a tracking id.
        let err = pats.create(&request).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Api, "{err:?}");
        let api = err.api_error().unwrap();
        assert_eq!(api.status, 400);
        let (tracking, message) = (api.request_id.as_deref().unwrap(), &api.message);
        assert_eq!(tracking.len(), 32);
        assert!(message.contains("already exists"), "{message}");

        // Filters: never used, then used long ago.
        let never = pats.list(&ListQuery::new().never_used()).await.unwrap();
        assert_eq!(never.items.len(), 1);
        assert!(never.next_page.is_none());
        let long_ago = OffsetDateTime::now_utc() - time::Duration::days(90);
        assert!(sim.set_last_used(id.as_str(), Some(long_ago)));
        assert!(
            pats.list(&ListQuery::new().never_used())
                .await
                .unwrap()
                .items
                .is_empty()
        );
        let stale = pats
            .list(&ListQuery::new().last_used_before(long_ago + time::Duration::days(1)))
            .await
            .unwrap();
        assert_eq!(stale.items.len(), 1);
        assert_eq!(
            stale.items[0].last_used.unwrap().unix_timestamp(),
            long_ago.unix_timestamp()
        );
        assert!(
            pats.list(&ListQuery::new().last_used_before(long_ago - time::Duration::days(1)))
                .await
                .unwrap()
                .items
                .is_empty()
        );
        let other_owner = pats
            .list(&ListQuery::new().owner("2c91-nobody"))
            .await
            .unwrap();
        assert!(other_owner.items.is_empty());

        // Renaming onto another token's name is refused by the service.
        let other = pats
            .create(
                &CreateToken::builder()
                    .name("other")
                    .expiry(Expiry::In(Duration::from_secs(86_400)))
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let clash = pats.rename(&other.info.id, "deploy").await.unwrap_err();
        assert_eq!(clash.status(), Some(400), "{clash}");
        pats.revoke(&other.info.id).await.unwrap();

        let renamed = pats.rename(&id, "deploy-2").await.unwrap();
        assert_eq!(renamed.name.as_deref(), Some("deploy-2"));
        assert_eq!(sim.stored_token(id.as_str()).unwrap()["name"], "deploy-2");
        assert_eq!(
            pats.find_by_name("deploy-2", &ListQuery::new())
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            pats.set_active(&id, false).await.unwrap_err().kind(),
            ErrorKind::Unsupported
        );

        pats.revoke(&id).await.unwrap();
        assert_eq!(pats.get(&id).await.unwrap_err().kind(), ErrorKind::NotFound);
        let err = pats.revoke(&id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
        assert!(err.api_error().is_some_and(|e| e.request_id.is_some()));
    }
}

#[tokio::test]
async fn never_expiring_tokens_on_versions_that_have_them() {
    let sim = SailPointSim::start().await;
    let pats = client(&sim, ApiVersion::V2026);
    let request = CreateToken::builder()
        .name("forever")
        .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
        .build()
        .unwrap();
    let created = pats.create(&request).await.unwrap();
    assert_eq!(created.info.expires, Expiration::Never);
    let stored = sim.stored_token(created.info.id.as_str()).unwrap();
    assert_eq!(stored["expirationDate"], serde_json::Value::Null);
    assert_eq!(stored["userAwareTokenNeverExpires"], true);
    // Rotation keeps working through the Ext helpers.
    let rotated = pats
        .rotate(
            &created.info.id,
            &CreateToken::builder()
                .name("forever-2")
                .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        sim.stored_tokens().len(),
        2,
        "the old token stays until finish"
    );
    let rotated = rotated.finish(&pats).await;
    rotated.revoked.unwrap();
    assert_eq!(sim.stored_tokens().len(), 1);
}

#[tokio::test]
async fn the_simulator_refuses_what_the_service_refuses() {
    use pats_core::reexports::reqwest;
    let sim = SailPointSim::start().await;
    let token = sim.issue_access_token(SailPointSim::IDENTITY_ID);
    let http = reqwest::Client::new();
    let base = sim.uri();
    let created: serde_json::Value = http
        .post(format!("{base}/v3/personal-access-tokens"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name": "raw"}"#)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["secret"].as_str().unwrap().len(), 64);
    let patch = |path: &str, content_type: &'static str, body: &'static str| {
        http.patch(format!("{base}{path}"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let unpatchable = patch(
        &format!("/v3/personal-access-tokens/{id}"),
        "application/json-patch+json",
        r#"[{"op":"replace","path":"/owner/id","value":"x"}]"#,
    )
    .await
    .unwrap();
    assert_eq!(unpatchable.status(), 400);
    let body: serde_json::Value =
        serde_json::from_slice(&unpatchable.bytes().await.unwrap()).unwrap();
    assert_eq!(body["detailCode"], "400.1 Bad Request Content");
    assert!(
        body["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("not patchable")
    );
    // v3 cannot make a token never expire, even by patching the field.
    let never = patch(
        &format!("/v3/personal-access-tokens/{id}"),
        "application/json-patch+json",
        r#"[{"op":"replace","path":"/userAwareTokenNeverExpires","value":true}]"#,
    )
    .await
    .unwrap();
    assert_eq!(never.status(), 400);
    // The patched document is validated after applying: an empty name is refused.
    let emptied = patch(
        &format!("/v3/personal-access-tokens/{id}"),
        "application/json-patch+json",
        r#"[{"op":"replace","path":"/name","value":""}]"#,
    )
    .await
    .unwrap();
    assert_eq!(emptied.status(), 400);
    let failing_test_op = patch(
        &format!("/v3/personal-access-tokens/{id}"),
        "application/json-patch+json",
        r#"[{"op":"test","path":"/name","value":"other"},{"op":"replace","path":"/name","value":"x"}]"#,
    )
    .await
    .unwrap();
    assert_eq!(failing_test_op.status(), 400);
    assert_eq!(sim.stored_token(id).unwrap()["name"], "raw");
    let wrong_type = patch(
        &format!("/v3/personal-access-tokens/{id}"),
        "application/json",
        r#"[{"op":"replace","path":"/name","value":"x"}]"#,
    )
    .await
    .unwrap();
    assert_eq!(wrong_type.status(), 415);
    let garbage = patch(
        &format!("/v3/personal-access-tokens/{id}"),
        "application/json-patch+json",
        "{not json",
    )
    .await
    .unwrap();
    assert_eq!(garbage.status(), 400);
    // No PAT operation is experimental in the description: no header is needed.
    let no_header = http
        .get(format!("{base}/v2025/personal-access-tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), 200);
    let no_auth = http
        .get(format!("{base}/v3/personal-access-tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_auth.status(), 401);
    let bad_filter = http
        .get(format!(
            "{base}/v3/personal-access-tokens?filters=name%20eq%20x"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_filter.status(), 400);
    // %20 decodes like `+`.
    let ok_filter = http
        .get(format!(
            "{base}/v3/personal-access-tokens?filters=lastUsed%20isnull"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok_filter.status(), 200);
    let unknown_field = http
        .post(format!("{base}/v3/personal-access-tokens"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name": "n2", "userAwareTokenNeverExpires": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_field.status(), 400);
    let unacknowledged = http
        .post(format!("{base}/personal-access-tokens/v1"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name": "n3"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unacknowledged.status(), 400);
}

#[tokio::test]
async fn malformed_answers_are_errors() {
    let sim = SailPointSim::start().await;
    let pats = client(&sim, ApiVersion::V3);
    let list = ListQuery::new();
    for (fault, kind) in [
        (Fault::InvalidJson, ErrorKind::Decode),
        (Fault::WrongContentType, ErrorKind::Decode),
        (Fault::Html(403), ErrorKind::PermissionDenied),
        (Fault::status(500), ErrorKind::Api),
    ] {
        sim.faults().inject(
            FaultRule::new(fault.clone())
                .path_contains("personal-access-tokens")
                .times(1),
        );
        let err = pats.list(&list).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{fault:?}: {err}");
    }
    sim.faults().clear();
    sim.faults().inject(
        FaultRule::new(Fault::InvalidJson)
            .path_contains("/oauth/token")
            .times(1),
    );
    let cold = client(&sim, ApiVersion::V3);
    assert_eq!(
        cold.list(&list).await.unwrap_err().kind(),
        ErrorKind::Decode
    );
    let missing = TokenId::new("0123456789abcdef").unwrap();
    assert_eq!(
        pats.get(&missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// An id the server sends that fails `TokenId`'s checks is the server's fault: `Decode`,
/// never the caller's `InvalidInput`, on every call that reads one.
#[tokio::test]
async fn an_unusable_token_id_from_the_server_is_a_decode_error() {
    let sim = SailPointSim::start().await;
    let pats = client(&sim, ApiVersion::V3);
    let created = pats
        .create(
            &CreateToken::builder()
                .name("n")
                .expiry(Expiry::ProviderDefault)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let stored = sim.stored_token(created.info.id.as_str()).unwrap();
    for bad in ["a/b", "", "..", "a b"] {
        let mut token = stored.clone();
        token["id"] = serde_json::json!(bad);
        sim.faults().inject(
            FaultRule::new(Fault::Status {
                status: 200,
                body: serde_json::json!([token.clone()]),
            })
            .method("GET")
            .path_contains("personal-access-tokens")
            .times(1),
        );
        let err = pats.list(&ListQuery::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "list {bad:?}: {err:?}");
        assert!(err.to_string().contains("token id"), "{err}");
        sim.faults().inject(
            FaultRule::new(Fault::Status {
                status: 200,
                body: token,
            })
            .method("PATCH")
            .times(1),
        );
        let err = pats.rename(&created.info.id, "m").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "rename {bad:?}: {err:?}");
    }
}
