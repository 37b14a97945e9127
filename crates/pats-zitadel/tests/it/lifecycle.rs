//! The token lifecycle through the provider-neutral trait, on the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{BOT, api_requests, body, builder, client, sim};
use pats_core::{
    CreateToken, ErrorKind, Expiration, Expiry, ListQuery, NeverExpires, PageToken,
    PersonalAccessTokens, PersonalAccessTokensExt, TokenId,
};
use pats_sim::zitadel::ZitadelSim;
use pats_zitadel::{AddedPatDetails, ApiVersion};
use secrecy::ExposeSecret;
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;

async fn lifecycle(api: ApiVersion) {
    let sim = sim().await;
    let client = client(&sim, api);
    let caps = client.capabilities();
    // A token's name is its machine user's username.
    assert!(caps.names() && caps.naming == pats_core::Naming::Owner && !caps.requires_name);
    assert!(!caps.scopes && !caps.rename && !caps.set_active);
    assert!(caps.never_expires && caps.pagination && caps.list_filters.owner);

    let week = CreateToken::builder()
        // The name is the machine user's username (by default the simulator's user id).
        .name(BOT)
        .expiry(Expiry::In(Duration::from_secs(7 * 24 * 3600)))
        .build()
        .unwrap();
    let before = OffsetDateTime::now_utc();
    let created = client.create(&week).await.unwrap();
    let stored = sim.pats_of(BOT);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, created.info.id.as_str());
    let expires = created.info.expires.at().unwrap();
    assert_eq!(expires, stored[0].expiration);
    assert!(expires >= before + time::Duration::days(7));
    assert_eq!(created.info.owner.as_ref().unwrap().id, BOT);
    assert_eq!(created.info.name.as_deref(), Some(BOT));
    assert_eq!(
        created.info.owner.as_ref().unwrap().name.as_deref(),
        Some(BOT)
    );
    assert_eq!(
        created
            .info
            .details
            .get::<AddedPatDetails>()
            .unwrap()
            .token_id,
        created.info.id.as_str()
    );
    // The new PAT works as a bearer token of its machine user.
    let as_bot = pats_zitadel::ZitadelClient::builder()
        .base_url(sim.uri())
        .auth(pats_zitadel::ZitadelAuth::pat(created.secret.clone()))
        .api_version(api)
        .default_user(BOT)
        .build()
        .unwrap();
    assert_eq!(
        as_bot
            .list(&ListQuery::new().owner(BOT))
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let forever = client
        .create(
            &CreateToken::builder()
                .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(forever.info.expires, Expiration::Never);
    // No silent never-expiring default: the provider default is refused.
    let provider_default = CreateToken::builder()
        .expiry(Expiry::ProviderDefault)
        .build()
        .unwrap();
    let refused = client.create(&provider_default).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    let default = client
        .create(
            &CreateToken::builder()
                .expiry(Expiry::In(Duration::from_secs(3600)))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(default.info.expires, Expiration::At(_)));
    assert_ne!(
        created.secret.expose_secret(),
        forever.secret.expose_secret()
    );

    let got = client.get(&forever.info.id).await.unwrap();
    assert_eq!(got.id, forever.info.id);
    assert_eq!(got.expires, Expiration::Never, "9999-12-31 reads as never");
    assert_eq!(got.owner.unwrap().id, BOT);
    assert!(got.created.is_some());
    let got = client.get(&created.info.id).await.unwrap();
    assert_eq!(got.expires, Expiration::At(expires));

    let all = client.list_all(&ListQuery::new().owner(BOT)).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            created.info.id.as_str(),
            forever.info.id.as_str(),
            default.info.id.as_str()
        ],
        "oldest first"
    );

    client.revoke(&created.info.id).await.unwrap();
    assert_eq!(sim.pats_of(BOT).len(), 2);
    let again = client.revoke(&created.info.id).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::NotFound, "{again}");
    let gone = client.get(&created.info.id).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
    // The revoked PAT no longer authenticates.
    let refused = as_bot.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthenticated, "{refused}");
}

#[tokio::test]
async fn lifecycle_v2() {
    lifecycle(ApiVersion::V2).await;
}

#[tokio::test]
async fn lifecycle_v1() {
    lifecycle(ApiVersion::V1).await;
}

/// ZITADEL's default is a token that never expires: `ProviderDefault` is refused before anything is sent, naming the fix; a
/// never-expiring token is created only when asked for.
async fn provider_default_is_refused(api: ApiVersion) {
    let sim = sim().await;
    let client = client(&sim, api);
    for request in [CreateToken::builder()
        .expiry(Expiry::ProviderDefault)
        .build()
        .unwrap()]
    {
        let err = client.create(&request).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
        let field = err.field().unwrap_or_default();
        let reason = err.reason().unwrap_or_default();
        assert_eq!(field, "expiry", "{api:?}");
        assert!(reason.contains("never expires"), "{reason}");
        assert!(reason.contains("Expiry::In"), "{reason}");
        assert!(reason.contains("Expiry::Never"), "{reason}");
    }
    assert!(api_requests(&sim).await.is_empty(), "nothing was sent");
    assert!(sim.pats_of(BOT).is_empty());
    // Asked for, it is created, and stored as never expiring.
    let never = client
        .create(
            &CreateToken::builder()
                .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(never.info.expires, Expiration::Never);
    assert_eq!(
        client.get(&never.info.id).await.unwrap().expires,
        Expiration::Never
    );
    let (users, sent): (Vec<_>, Vec<_>) = api_requests(&sim)
        .await
        .into_iter()
        .partition(|r| r.url.path().ends_with("/ListUsers"));
    assert_eq!(sent.len(), 2, "one create, one get");
    assert_eq!(users.len(), 2, "the owner's username, once for each");
    // v1 sends no expiration for never; v2 must send one (its AddPersonalAccessTokenRequest
    // requires `expirationDate`), so it sends ZITADEL's own "never".
    match api {
        ApiVersion::V1 => assert!(body(&sent[0]).get("expirationDate").is_none()),
        _ => assert_eq!(body(&sent[0])["expirationDate"], "9999-12-31T23:59:59Z"),
    }
}

#[tokio::test]
async fn provider_default_is_refused_v2() {
    provider_default_is_refused(ApiVersion::V2).await;
}

#[tokio::test]
async fn provider_default_is_refused_v1() {
    provider_default_is_refused(ApiVersion::V1).await;
}

async fn lists_2500(api: ApiVersion, page_size: Option<u32>, pages: usize) {
    let sim = sim().await;
    let seeded: HashSet<String> = sim.seed_pats(BOT, 2500).into_iter().collect();
    let client = client(&sim, api);
    let mut query = ListQuery::new().owner(BOT);
    query.page_size = page_size;
    let all = client.list_all(&query).await.unwrap();
    assert_eq!(all.len(), 2500);
    let got: HashSet<String> = all.iter().map(|t| t.id.as_str().to_owned()).collect();
    assert_eq!(got, seeded);
    let (users, requests): (Vec<_>, Vec<_>) = api_requests(&sim)
        .await
        .into_iter()
        .partition(|r| r.url.path().ends_with("/ListUsers"));
    assert_eq!(requests.len(), pages);
    // Names: one ListUsers call per page, never one per token.
    assert_eq!(users.len(), pages);
    let offsets: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| {
            let b = body(r);
            b.get("pagination")
                .or_else(|| b.get("query"))
                .and_then(|p| p.get("offset"))
                .cloned()
                .unwrap_or(serde_json::Value::Null)
        })
        .collect();
    assert_eq!(offsets.last().cloned(), {
        let last = (pages - 1) * usize::try_from(page_size.unwrap_or(100)).unwrap();
        Some(serde_json::json!(last.to_string()))
    });
}

#[tokio::test]
async fn listing_2500_tokens_returns_all_across_pages_v2() {
    lists_2500(ApiVersion::V2, Some(1000), 3).await;
    lists_2500(ApiVersion::V2, None, 25).await;
}

#[tokio::test]
async fn listing_2500_tokens_returns_all_across_pages_v1() {
    lists_2500(ApiVersion::V1, Some(1000), 3).await;
}

#[tokio::test]
async fn paging_by_hand_uses_the_offset_as_page_token() {
    let sim = sim().await;
    sim.seed_pats(BOT, 5);
    let client = client(&sim, ApiVersion::V2);
    let first = client
        .list(&ListQuery::new().owner(BOT).page_size(2))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.next_page, Some(PageToken::new("2")));
    let last = client
        .list(
            &ListQuery::new()
                .owner(BOT)
                .page_size(2)
                .page(Some(PageToken::new("4"))),
        )
        .await
        .unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.next_page, None);
}

#[tokio::test]
async fn invalid_input_is_rejected_before_sending() {
    let sim = sim().await;
    let v2 = client(&sim, ApiVersion::V2);
    let v1 = client(&sim, ApiVersion::V1);
    let no_default = builder(&sim, ApiVersion::V1).build().unwrap();
    let past = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let past_request = CreateToken::builder()
        .expiry(Expiry::At(past))
        .build()
        .unwrap();
    let id = TokenId::new("123").unwrap();

    let mut errors = vec![
        (
            "create past v2",
            v2.create(&past_request).await.unwrap_err(),
        ),
        (
            "create past v1",
            v1.create(&past_request).await.unwrap_err(),
        ),
        (
            "typed v2 past",
            v2.v2()
                .add_personal_access_token(BOT, past)
                .await
                .unwrap_err(),
        ),
        (
            "typed v1 past",
            v1.v1()
                .add_personal_access_token(BOT, past)
                .await
                .unwrap_err(),
        ),
        (
            "empty user v2",
            v2.v2()
                .add_personal_access_token("", NeverExpires::I_UNDERSTAND_THE_RISK)
                .await
                .unwrap_err(),
        ),
        (
            "empty user v1",
            v1.v1()
                .add_personal_access_token(" ", NeverExpires::I_UNDERSTAND_THE_RISK)
                .await
                .unwrap_err(),
        ),
        (
            "remove empty user",
            v2.v2()
                .remove_personal_access_token("", &id)
                .await
                .unwrap_err(),
        ),
        (
            "no owner",
            no_default
                .create(
                    &CreateToken::builder()
                        .expiry(Expiry::In(Duration::from_secs(3600)))
                        .build()
                        .unwrap(),
                )
                .await
                .unwrap_err(),
        ),
        (
            "v1 get without user",
            no_default.get(&id).await.unwrap_err(),
        ),
        (
            "v1 revoke without user",
            no_default.revoke(&id).await.unwrap_err(),
        ),
        (
            "v1 list without user",
            no_default.list(&ListQuery::new()).await.unwrap_err(),
        ),
        (
            "page size",
            v2.list(&ListQuery::new().page_size(1001))
                .await
                .unwrap_err(),
        ),
        (
            "bad page token",
            v2.list(&ListQuery::new().page(Some(PageToken::new("x"))))
                .await
                .unwrap_err(),
        ),
        (
            "org header",
            v2.in_org("bad org")
                .list(&ListQuery::new())
                .await
                .unwrap_err(),
        ),
    ];
    for (what, e) in errors.drain(..) {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
    }
    // An empty token id cannot even be made.
    assert_eq!(
        TokenId::new("").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // Names are ignored, scopes and last-use filters are not offered.
    let scoped = CreateToken::builder()
        .scope("openid")
        .expiry(Expiry::In(Duration::from_secs(3600)))
        .build()
        .unwrap();
    assert_eq!(
        v2.create(&scoped).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let by_use = ListQuery::new().never_used();
    assert_eq!(
        v2.list(&by_use).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert!(sim.requests().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn service_side_rules_map_to_kinds() {
    let sim = sim().await;
    sim.add_human_user(ZitadelSim::DEFAULT_ORG, "human-1");
    sim.add_machine_user("org-b", "bot-b");
    let day = Expiry::In(Duration::from_secs(86_400));
    for api in [ApiVersion::V2, ApiVersion::V1] {
        let client = client(&sim, api);
        // Only machine users can have PATs: failed_precondition (HTTP 400).
        let human = client
            .create(
                &CreateToken::builder()
                    .owner("human-1")
                    .expiry(day)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap_err();
        assert_eq!(human.kind(), ErrorKind::Api, "{api:?}: {human}");
        assert_eq!(human.status(), Some(400));
        assert!(human.to_string().contains("COMMAND-SIMnm01"), "{human}");
        // A user of another organization: v1 management calls are scoped by the
        // organization header, so it is not found from here; the v2 user service addresses
        // users by id, so the token is created in the user's own organization.
        let other = client
            .create(
                &CreateToken::builder()
                    .owner("bot-b")
                    .expiry(day)
                    .build()
                    .unwrap(),
            )
            .await;
        match api {
            ApiVersion::V1 => {
                let other = other.unwrap_err();
                assert_eq!(other.kind(), ErrorKind::NotFound, "{api:?}: {other}");
            }
            _ => {
                let created = other.unwrap();
                assert_eq!(sim.pats_of("bot-b")[0].id, created.info.id.as_str());
                assert_eq!(sim.pats_of("bot-b")[0].org_id, "org-b");
            }
        }
        // With the organization header both find it.
        client
            .in_org("org-b")
            .create(
                &CreateToken::builder()
                    .owner("bot-b")
                    .expiry(day)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
    }
    // A token of another organization, seen from a client scoped to the default one: an
    // empty listing, NotFound by id (the client narrows v2 listings to its organization).
    let b_token = TokenId::new(sim.pats_of("bot-b")[0].id.clone()).unwrap();
    let v2 = client(&sim, ApiVersion::V2).in_org(ZitadelSim::DEFAULT_ORG);
    assert_eq!(
        v2.get(&b_token).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(
        v2.list(&ListQuery::new().owner("bot-b"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(v2.in_org("org-b").get(&b_token).await.unwrap().id, b_token);
}

#[tokio::test]
async fn v2_revoke_without_default_user_looks_the_owner_up_first() {
    let sim = sim().await;
    let (id, _) = sim.issue_pat(BOT).unwrap();
    let client = builder(&sim, ApiVersion::V2).build().unwrap();
    client
        .revoke(&TokenId::new(id.clone()).unwrap())
        .await
        .unwrap();
    assert!(sim.pats_of(BOT).is_empty());
    let requests = api_requests(&sim).await;
    let paths: Vec<&str> = requests.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/zitadel.user.v2.UserService/ListPersonalAccessTokens",
            "/zitadel.user.v2.UserService/RemovePersonalAccessToken"
        ]
    );
    assert_eq!(
        body(&requests[0]),
        serde_json::json!({ "pagination": { "limit": 1 }, "filters": [{ "tokenIdFilter": { "id": id } }] })
    );
    assert_eq!(
        body(&requests[1]),
        serde_json::json!({ "userId": BOT, "tokenId": id })
    );
}

#[tokio::test]
async fn builder_checks_its_settings() {
    let sim = sim().await;
    let pat = || pats_zitadel::ZitadelAuth::pat(sim.admin_pat().into());
    let cases = [
        (
            "no auth",
            pats_zitadel::ZitadelClient::builder()
                .base_url(sim.uri())
                .build(),
        ),
        (
            "empty PAT",
            pats_zitadel::ZitadelClient::builder()
                .base_url(sim.uri())
                .auth(pats_zitadel::ZitadelAuth::pat(String::new().into()))
                .build(),
        ),
        (
            "plain http off loopback",
            pats_zitadel::ZitadelClient::builder()
                .base_url("http://zitadel.example.com")
                .auth(pat())
                .build(),
        ),
        (
            "empty organization",
            builder(&sim, ApiVersion::V2).organization("").build(),
        ),
        (
            "organization with a newline",
            builder(&sim, ApiVersion::V2).organization("a\nb").build(),
        ),
        (
            "empty default user",
            builder(&sim, ApiVersion::V2).default_user(" ").build(),
        ),
    ];
    for (what, result) in cases {
        assert_eq!(
            result.unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{what}"
        );
    }
    let ok = pats_zitadel::ZitadelClient::builder()
        .base_url("https://acme.zitadel.cloud")
        .auth(pat())
        .organization("42")
        .build()
        .unwrap();
    assert_eq!(ok.organization(), Some("42"));
    assert_eq!(ok.api_version(), ApiVersion::V2);
    assert_eq!(ok.provider(), "zitadel");
    assert!(sim.requests().await.is_empty());
}
