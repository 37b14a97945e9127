//! A ZITADEL token's name is its machine user's username: what is sent, what comes back,
//! and what is refused before anything is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{BOT, api_requests, body, builder, client, sim};
use pats_core::{
    CreateToken, ErrorKind, Expiry, ListQuery, PersonalAccessTokens, PersonalAccessTokensExt,
    TokenId,
};
use pats_sim::zitadel::ZitadelSim;
use pats_zitadel::ApiVersion;
use serde_json::json;
use std::time::Duration;

const ORG: &str = ZitadelSim::DEFAULT_ORG;
const CI: &str = "260000000000000001";
const OTHER: &str = "260000000000000002";

fn named(name: &str) -> CreateToken {
    CreateToken::builder()
        .name(name)
        .expiry(Expiry::In(Duration::from_secs(30 * 24 * 3600)))
        .build()
        .unwrap()
}

fn paths(requests: &[pats_sim::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.url.path().rsplit('/').next().unwrap().to_owned())
        .collect()
}

async fn named_sim() -> ZitadelSim {
    let sim = sim().await;
    sim.add_named_machine_user(ORG, CI, "ci-deploy");
    sim.add_named_machine_user(ORG, OTHER, "ci-deploy-old");
    // The same username in another organization is not this client's.
    sim.add_named_machine_user("other-org", "260000000000000009", "ci-deploy");
    sim
}

#[tokio::test]
async fn create_by_name_looks_up_the_machine_user_and_creates_for_it() {
    let sim = named_sim().await;
    let client = builder(&sim, ApiVersion::V2)
        .organization(ORG)
        .build()
        .unwrap();
    let created = client.create(&named("ci-deploy")).await.unwrap();
    assert_eq!(created.info.name.as_deref(), Some("ci-deploy"));
    let owner = created.info.owner.as_ref().unwrap();
    assert_eq!(owner.id, CI);
    assert_eq!(owner.name.as_deref(), Some("ci-deploy"));
    assert_eq!(sim.pats_of(CI).len(), 1);

    let sent = api_requests(&sim).await;
    assert_eq!(paths(&sent), ["ListUsers", "AddPersonalAccessToken"]);
    assert_eq!(
        body(&sent[0]),
        json!({
            "query": {"limit": 10},
            "queries": [
                {"userNameQuery": {"userName": "ci-deploy", "method": "TEXT_QUERY_METHOD_EQUALS"}},
                {"typeQuery": {"type": "TYPE_MACHINE"}},
                {"organizationIdQuery": {"organizationId": ORG}}
            ]
        })
    );
    assert_eq!(body(&sent[1])["userId"], CI);
}

#[tokio::test]
async fn an_unknown_name_says_to_create_the_machine_user_and_creates_nothing() {
    let sim = named_sim().await;
    let client = client(&sim, ApiVersion::V2);
    let err = client.create(&named("ci")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    let field = err.field().unwrap_or_default();
    let reason = err.reason().unwrap_or_default();
    assert_eq!(field, "name");
    assert!(reason.contains("create the machine user `ci`"), "{reason}");
    assert!(reason.contains("one machine user per purpose"), "{reason}");
    // A prefix is not a name: only the lookup was sent.
    assert_eq!(paths(&api_requests(&sim).await), ["ListUsers"]);
    assert!(sim.pats_of(CI).is_empty() && sim.pats_of(BOT).is_empty());
}

#[tokio::test]
async fn a_name_of_another_owner_is_refused_before_creating() {
    let sim = named_sim().await;
    let client = client(&sim, ApiVersion::V2);
    let request = CreateToken::builder()
        .name("ci-deploy")
        .owner(OTHER)
        .expiry(Expiry::In(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let err = client.create(&request).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    let field = err.field().unwrap_or_default();
    let reason = err.reason().unwrap_or_default();
    assert_eq!(field, "name");
    assert!(reason.contains(CI) && reason.contains(OTHER), "{reason}");
    assert_eq!(paths(&api_requests(&sim).await), ["ListUsers"]);
    // The matching owner is fine.
    let request = CreateToken::builder()
        .name("ci-deploy")
        .owner(CI)
        .expiry(Expiry::In(Duration::from_secs(3600)))
        .build()
        .unwrap();
    client.create(&request).await.unwrap();
    assert_eq!(sim.pats_of(CI).len(), 1);
}

#[tokio::test]
async fn refused_input_sends_nothing() {
    let sim = named_sim().await;
    let no_default = builder(&sim, ApiVersion::V2).build().unwrap();
    let cases = [
        (
            CreateToken::builder()
                .name("ci-deploy")
                .scopes(["openid"])
                .expiry(Expiry::In(Duration::from_secs(3600)))
                .build()
                .unwrap(),
            ErrorKind::Unsupported,
        ),
        (
            CreateToken::builder()
                .name("ci-deploy")
                .expiry(Expiry::ProviderDefault)
                .build()
                .unwrap(),
            ErrorKind::InvalidInput,
        ),
        (named(&"x".repeat(201)), ErrorKind::InvalidInput),
        (
            CreateToken::builder()
                .name("ci-deploy")
                .owner("bad owner")
                .expiry(Expiry::In(Duration::from_secs(3600)))
                .build()
                .unwrap(),
            ErrorKind::InvalidInput,
        ),
    ];
    for (request, kind) in cases {
        let err = no_default.create(&request).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
    }
    // Neither a name nor an owner, and no default user.
    let err = no_default
        .create(
            &CreateToken::builder()
                .expiry(Expiry::In(Duration::from_secs(3600)))
                .build()
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(api_requests(&sim).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn list_fills_names_with_one_lookup_per_page() {
    let sim = named_sim().await;
    sim.seed_pats(CI, 3);
    sim.seed_pats(OTHER, 2);
    sim.seed_pats(BOT, 1);
    let client = builder(&sim, ApiVersion::V2)
        .organization(ORG)
        .build()
        .unwrap();
    let all = client
        .list_all(&ListQuery::new().page_size(4))
        .await
        .unwrap();
    // The admin's own PAT is in the organization too.
    assert_eq!(all.len(), 7);
    for token in &all {
        let owner = token.owner.as_ref().unwrap();
        let expected = match owner.id.as_str() {
            CI => "ci-deploy",
            OTHER => "ci-deploy-old",
            BOT => BOT,
            ZitadelSim::ADMIN_USER => "zitadel-admin-sa",
            other => panic!("unexpected owner {other}"),
        };
        assert_eq!(token.name.as_deref(), Some(expected));
        assert_eq!(owner.name.as_deref(), Some(expected));
    }
    let sent = api_requests(&sim).await;
    assert_eq!(
        paths(&sent),
        [
            "ListPersonalAccessTokens",
            "ListUsers",
            "ListPersonalAccessTokens",
            "ListUsers"
        ]
    );
    // The distinct owners of the page, once each.
    let ids = |r: &pats_sim::Request| {
        let b = body(r);
        assert_eq!(b["queries"].as_array().unwrap().len(), 1);
        let mut ids: Vec<String> = b["queries"][0]["inUserIdsQuery"]["userIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "no id twice");
        assert_eq!(b["query"]["limit"], json!(n));
        ids
    };
    let first = ids(&sent[1]);
    let second = ids(&sent[3]);
    assert!(first.len() <= 4 && second.len() <= 4);
    let mut union = [first, second].concat();
    union.sort();
    union.dedup();
    assert_eq!(union.len(), 4);
}

#[tokio::test]
async fn a_user_that_no_longer_resolves_leaves_the_name_empty() {
    let sim = named_sim().await;
    sim.seed_pats(OTHER, 1);
    sim.remove_user(OTHER);
    let client = client(&sim, ApiVersion::V2);
    let page = client.list(&ListQuery::new().owner(OTHER)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].name, None);
    assert_eq!(page.items[0].owner.as_ref().unwrap().name, None);
    let got = client.get(&page.items[0].id).await.unwrap();
    assert_eq!(got.name, None);
}

#[tokio::test]
async fn find_by_name_and_the_typed_fast_path_find_the_machine_users_tokens() {
    let sim = named_sim().await;
    sim.seed_pats(CI, 2);
    sim.seed_pats(OTHER, 3);
    for api in [ApiVersion::V2] {
        let client = builder(&sim, api).organization(ORG).build().unwrap();
        let found = client
            .find_by_name("ci-deploy", &ListQuery::new())
            .await
            .unwrap();
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|t| t.owner.as_ref().unwrap().id == CI));
        let before = api_requests(&sim).await.len();
        let fast = client
            .tokens_of_machine_user("ci-deploy", &ListQuery::new())
            .await
            .unwrap();
        let mut a: Vec<_> = found.iter().map(|t| t.id.clone()).collect();
        let mut b: Vec<_> = fast.iter().map(|t| t.id.clone()).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert!(fast.iter().all(|t| t.name.as_deref() == Some("ci-deploy")));
        // One lookup, one listing of that user's tokens.
        let sent = api_requests(&sim).await.split_off(before);
        assert_eq!(paths(&sent), ["ListUsers", "ListPersonalAccessTokens"]);
        assert_eq!(
            body(&sent[1])["filters"],
            json!([{"userIdFilter": {"id": CI}}, {"organizationIdFilter": {"id": ORG}}])
        );
        assert!(
            client
                .tokens_of_machine_user("nobody", &ListQuery::new())
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn v1_reads_names_through_the_v2_user_service() {
    let sim = named_sim().await;
    sim.seed_pats(CI, 1);
    let client = builder(&sim, ApiVersion::V1)
        .default_user(CI)
        .build()
        .unwrap();
    let page = client.list(&ListQuery::new()).await.unwrap();
    assert_eq!(page.items[0].name.as_deref(), Some("ci-deploy"));
    let created = client.create(&named("ci-deploy")).await.unwrap();
    assert_eq!(created.info.name.as_deref(), Some("ci-deploy"));
    let sent = paths(&api_requests(&sim).await);
    assert_eq!(sent.iter().filter(|p| *p == "ListUsers").count(), 2);
}

#[tokio::test]
async fn revoke_finds_the_tokens_own_user_and_an_unknown_token_is_not_found() {
    let sim = named_sim().await;
    let ids = sim.seed_pats(CI, 1);
    // The default user is someone else: the token is removed for its own user.
    let client = client(&sim, ApiVersion::V2);
    client
        .revoke(&TokenId::new(&ids[0]).unwrap())
        .await
        .unwrap();
    assert!(sim.pats_of(CI).is_empty());
    let sent = api_requests(&sim).await;
    assert_eq!(
        paths(&sent),
        ["ListPersonalAccessTokens", "RemovePersonalAccessToken"]
    );
    assert_eq!(body(&sent[1])["userId"], CI);
    // The trait reports an absent token as NotFound ...
    let err = client
        .revoke(&TokenId::new(&ids[0]).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // ... while the call itself answers OK, as its description says.
    client
        .v2()
        .remove_personal_access_token(CI, &TokenId::new(&ids[0]).unwrap())
        .await
        .unwrap();
}

/// Least-privilege credentials (no `user.read`) can list: the page comes back with its
/// tokens, without names; reading one token by id still reports the missing permission.
#[tokio::test]
async fn list_without_user_read_answers_without_names() {
    use pats_sim::{Fault, FaultRule};
    let sim = named_sim().await;
    sim.seed_pats(CI, 2);
    let client = client(&sim, ApiVersion::V2);
    sim.faults()
        .inject(FaultRule::new(Fault::status(403)).path_contains("ListUsers"));
    let page = client.list(&ListQuery::new().owner(CI)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    for item in &page.items {
        assert_eq!(item.name, None);
        assert_eq!(item.owner.as_ref().unwrap().id, CI);
        assert_eq!(item.owner.as_ref().unwrap().name, None);
    }
    let all = client.list_all(&ListQuery::new().owner(CI)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        client.get(&page.items[0].id).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // With the permission back, the same listing has the names.
    sim.faults().clear();
    let page = client.list(&ListQuery::new().owner(CI)).await.unwrap();
    assert!(
        page.items
            .iter()
            .all(|i| i.name.as_deref() == Some("ci-deploy"))
    );
}

#[tokio::test]
async fn a_failed_username_lookup_after_create_keeps_the_secret() {
    use pats_sim::{Fault, FaultRule};
    let sim = named_sim().await;
    let client = client(&sim, ApiVersion::V2);
    sim.faults().inject(
        FaultRule::new(Fault::status(403))
            .path_contains("ListUsers")
            .times(1),
    );
    let created = client
        .create(
            &CreateToken::builder()
                .expiry(Expiry::In(Duration::from_secs(3600)))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.info.name, None);
    assert_eq!(created.info.owner.as_ref().unwrap().id, BOT);
    assert_eq!(sim.pats_of(BOT).len(), 1);
}

#[tokio::test]
async fn machine_users_added_by_name_take_tokens_by_name() {
    let sim = sim().await;
    let ids = sim.add_named_machine_users(ORG, &["one", "two"]);
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    let client = builder(&sim, ApiVersion::V2).build().unwrap();
    let created = client.create(&named("two")).await.unwrap();
    assert_eq!(created.info.owner.as_ref().unwrap().id, ids[1]);
    assert_eq!(sim.pats_of(&ids[1]).len(), 1);
}

#[tokio::test]
async fn bad_page_sizes_and_past_expiries_are_refused_before_sending() {
    let sim = named_sim().await;
    let client = client(&sim, ApiVersion::V2);
    for size in [0, 1001] {
        let err = client
            .list(&ListQuery::new().page_size(size))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{size}: {err}");
    }
    let past = CreateToken::builder()
        .name("ci-deploy")
        .expiry(Expiry::At(
            time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        ))
        .build()
        .unwrap();
    let err = client.create(&past).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(api_requests(&sim).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn find_by_name_asks_for_the_users_tokens_only_and_keeps_the_listing_bounds() {
    let sim = named_sim().await;
    sim.seed_pats(CI, 3);
    sim.seed_pats(OTHER, 3);
    let client = builder(&sim, ApiVersion::V2)
        .organization(ORG)
        .build()
        .unwrap();
    let pats: &dyn PersonalAccessTokens = &client;
    let before = api_requests(&sim).await.len();
    let found = pats
        .find_by_name("ci-deploy", &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|t| t.name.as_deref() == Some("ci-deploy")));
    // Through the trait too: one lookup, one listing of that user's tokens.
    let sent = api_requests(&sim).await.split_off(before);
    assert_eq!(paths(&sent), ["ListUsers", "ListPersonalAccessTokens"]);
    // A server paging one token at a time is followed only as far as the limits allow.
    let bounded = ListQuery::new()
        .page_size(1)
        .limits(pats_core::ListLimits::new().max_pages(2));
    let err = pats.find_by_name("ci-deploy", &bounded).await.unwrap_err();
    assert_eq!(err.limit(), Some("ListLimits::max_pages"), "{err:?}");
}
