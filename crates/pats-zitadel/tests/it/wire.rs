//! Exact paths, headers and bodies of every call on both APIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{BOT, api_requests, body, builder, client, header, sim};
use pats_core::{NeverExpires, PersonalAccessTokens, TokenId};
use pats_sim::zitadel::ZitadelSim;
use pats_zitadel::{ApiVersion, ListPatsRequest, PatFilter};
use pats_zitadel::{V2PatFieldName, V2TimestampFilterMethod};
use secrecy::ExposeSecret;
use serde_json::json;
use time::macros::datetime;

#[tokio::test]
async fn v2_calls_send_exact_paths_headers_and_bodies() {
    let sim = sim().await;
    let client = client(&sim, ApiVersion::V2);
    let admin = format!("Bearer {}", sim.admin_pat());

    let added = client
        .v2()
        .add_personal_access_token(BOT, datetime!(2030-01-02 03:04:05 UTC))
        .await
        .unwrap();
    assert!(!added.secret.expose_secret().is_empty());
    assert!(added.creation_date.is_some());

    let listing = ListPatsRequest::new()
        .offset(5)
        .limit(20)
        .asc(true)
        .sort_by(V2PatFieldName::PersonalAccessTokenFieldNameExpirationDate)
        .filter(PatFilter::TokenId(added.token_id.clone()))
        .filter(PatFilter::UserId(BOT.into()))
        .filter(PatFilter::OrganizationId(ZitadelSim::DEFAULT_ORG.into()))
        .filter(PatFilter::CreatedDate(
            V2TimestampFilterMethod::TimestampFilterMethodAfterOrEquals,
            datetime!(2020-01-01 00:00 UTC),
        ))
        .filter(PatFilter::ExpirationDate(
            V2TimestampFilterMethod::TimestampFilterMethodBefore,
            datetime!(2031-01-01 00:00 UTC),
        ));
    let page = client
        .v2()
        .list_personal_access_tokens(&listing)
        .await
        .unwrap();
    // Offset 5 skips the only match; the total still counts it.
    assert!(page.result.is_empty());
    assert_eq!(page.pagination.as_ref().unwrap().total_result, 1);
    assert_eq!(page.pagination.as_ref().unwrap().applied_limit, 20);
    let all = client
        .v2()
        .list_personal_access_tokens(&ListPatsRequest::new())
        .await
        .unwrap();
    assert_eq!(all.result.len(), 2, "the admin's PAT and the new one");

    let id = TokenId::new(added.token_id.clone()).unwrap();
    let removed = client
        .v2()
        .remove_personal_access_token(BOT, &id)
        .await
        .unwrap();
    assert!(removed.deletion_date.is_some());

    let requests = api_requests(&sim).await;
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.method.as_str(), "POST");
        assert_eq!(header(r, "authorization"), Some(admin.as_str()));
        assert_eq!(header(r, "content-type"), Some("application/json"));
        assert_eq!(header(r, "connect-protocol-version"), Some("1"));
        assert_eq!(
            header(r, "x-zitadel-orgid"),
            None,
            "no organization configured"
        );
    }
    assert_eq!(
        requests[0].url.path(),
        "/zitadel.user.v2.UserService/AddPersonalAccessToken"
    );
    assert_eq!(
        body(&requests[0]),
        json!({ "userId": BOT, "expirationDate": "2030-01-02T03:04:05Z" })
    );
    assert_eq!(
        requests[1].url.path(),
        "/zitadel.user.v2.UserService/ListPersonalAccessTokens"
    );
    assert_eq!(
        body(&requests[1]),
        json!({
            "pagination": { "offset": "5", "limit": 20, "asc": true },
            "sortingColumn": "PERSONAL_ACCESS_TOKEN_FIELD_NAME_EXPIRATION_DATE",
            "filters": [
                { "tokenIdFilter": { "id": added.token_id } },
                { "userIdFilter": { "id": BOT } },
                { "organizationIdFilter": { "id": ZitadelSim::DEFAULT_ORG } },
                { "createdDateFilter": { "timestamp": "2020-01-01T00:00:00Z", "method": "TIMESTAMP_FILTER_METHOD_AFTER_OR_EQUALS" } },
                { "expirationDateFilter": { "timestamp": "2031-01-01T00:00:00Z", "method": "TIMESTAMP_FILTER_METHOD_BEFORE" } },
            ],
        })
    );
    assert_eq!(body(&requests[2]), json!({}));
    assert_eq!(
        requests[3].url.path(),
        "/zitadel.user.v2.UserService/RemovePersonalAccessToken"
    );
    assert_eq!(
        body(&requests[3]),
        json!({ "userId": BOT, "tokenId": added.token_id })
    );
}

#[tokio::test]
async fn v1_calls_send_exact_paths_headers_and_bodies() {
    let sim = sim().await;
    let client = builder(&sim, ApiVersion::V1)
        .organization(ZitadelSim::DEFAULT_ORG)
        .build()
        .unwrap();
    let v1 = client.v1();
    let forever = v1
        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap();
    let dated = v1
        .add_personal_access_token(BOT, datetime!(2030-06-01 12:00:00.25 UTC))
        .await
        .unwrap();
    assert_eq!(
        forever.details.as_ref().unwrap().resource_owner,
        ZitadelSim::DEFAULT_ORG
    );
    assert!(forever.details.as_ref().unwrap().sequence > 0);
    let page = v1
        .list_personal_access_tokens(BOT, 1, Some(1), true)
        .await
        .unwrap();
    assert_eq!(page.details.as_ref().unwrap().total_result, 2);
    assert_eq!(page.result.len(), 1);
    assert_eq!(page.result[0].id, dated.token_id);
    let forever_id = TokenId::new(forever.token_id.clone()).unwrap();
    let got = v1
        .get_personal_access_token(BOT, &forever_id)
        .await
        .unwrap();
    assert_eq!(got.id, forever.token_id);
    assert_eq!(
        pats_zitadel::expiration_of(got.expiration_date),
        pats_core::Expiration::Never
    );
    let removed = v1
        .remove_personal_access_token(BOT, &forever_id)
        .await
        .unwrap();
    assert!(removed.details.is_some());

    let requests = api_requests(&sim).await;
    let seen: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect();
    let pats = format!("/management/v1/users/{BOT}/pats");
    assert_eq!(
        seen,
        [
            ("POST".to_owned(), pats.clone()),
            ("POST".to_owned(), pats.clone()),
            ("POST".to_owned(), format!("{pats}/_search")),
            ("GET".to_owned(), format!("{pats}/{}", forever.token_id)),
            ("DELETE".to_owned(), format!("{pats}/{}", forever.token_id)),
        ]
    );
    let admin = format!("Bearer {}", sim.admin_pat());
    for r in &requests {
        assert_eq!(header(r, "authorization"), Some(admin.as_str()));
        assert_eq!(
            header(r, "x-zitadel-orgid"),
            Some(ZitadelSim::DEFAULT_ORG),
            "organization configured: every call carries it"
        );
        assert_eq!(header(r, "connect-protocol-version"), None);
    }
    assert_eq!(body(&requests[0]), json!({}));
    assert_eq!(
        body(&requests[1]),
        json!({ "expirationDate": "2030-06-01T12:00:00.25Z" })
    );
    assert_eq!(
        body(&requests[2]),
        json!({ "query": { "offset": "1", "limit": 1, "asc": true } })
    );
    assert!(requests[3].body.is_empty());
    assert!(requests[4].body.is_empty());
}

#[tokio::test]
async fn org_header_follows_configuration_and_per_call_override() {
    let sim = sim().await;
    sim.add_machine_user("org-b", "bot-b");
    let plain = client(&sim, ApiVersion::V2);
    let scoped = plain.in_org("org-b");
    assert_eq!(plain.organization(), None);
    assert_eq!(scoped.organization(), Some("org-b"));

    // The same client serves both organizations.
    scoped
        .v2()
        .add_personal_access_token("bot-b", NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap();
    plain
        .v2()
        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap();
    // The trait through a scoped handle sees only that organization's tokens.
    let in_b = scoped
        .list(&pats_core::ListQuery::new().owner("bot-b"))
        .await
        .unwrap();
    assert_eq!(in_b.items.len(), 1);
    // A client without an organization answers for every organization its caller may
    // read, as the v2 listing does: `bot-b`'s token shows there too.
    let from_instance = plain
        .list(&pats_core::ListQuery::new().owner("bot-b"))
        .await
        .unwrap();
    assert_eq!(from_instance.items.len(), 1);

    let configured = builder(&sim, ApiVersion::V2)
        .organization(ZitadelSim::DEFAULT_ORG)
        .build()
        .unwrap();
    configured
        .without_org()
        .v2()
        .list_personal_access_tokens(&ListPatsRequest::new())
        .await
        .unwrap();
    configured
        .v2()
        .list_personal_access_tokens(&ListPatsRequest::new())
        .await
        .unwrap();

    let orgs: Vec<Option<String>> = api_requests(&sim)
        .await
        .iter()
        .map(|r| header(r, "x-zitadel-orgid").map(str::to_owned))
        .collect();
    assert_eq!(
        orgs,
        [
            Some("org-b".to_owned()),
            None,
            Some("org-b".to_owned()),
            // The usernames of the listed tokens' owners, in the same organization.
            Some("org-b".to_owned()),
            None,
            None,
            None,
            Some(ZitadelSim::DEFAULT_ORG.to_owned()),
        ]
    );
}

/// The v2 listing answers for every organization the caller may read (`x-zitadel-orgid`
/// does not scope it), so a client scoped to an organization sends an
/// `organizationIdFilter` on `list` and on `get`'s lookup; one without lists them all.
#[tokio::test]
async fn v2_list_and_get_of_a_scoped_client_filter_by_its_organization() {
    const OTHER_ORG: &str = "700000000000000001";
    const OTHER_BOT: &str = "700000000000000002";
    let sim = sim().await;
    sim.add_org(OTHER_ORG);
    sim.add_machine_user(OTHER_ORG, OTHER_BOT);
    let (mine, _) = sim.issue_pat(BOT).unwrap();
    let (theirs, _) = sim.issue_pat(OTHER_BOT).unwrap();

    let scoped = builder(&sim, ApiVersion::V2)
        .organization(ZitadelSim::DEFAULT_ORG)
        .build()
        .unwrap();
    let listed = scoped.list(&pats_core::ListQuery::default()).await.unwrap();
    let ids: Vec<&str> = listed.items.iter().map(|t| t.id.as_str()).collect();
    assert!(ids.contains(&mine.as_str()), "{ids:?}");
    assert!(
        !ids.contains(&theirs.as_str()),
        "another organization's token: {ids:?}"
    );
    let list_call = api_requests(&sim)
        .await
        .into_iter()
        .find(|r| r.url.path().ends_with("/ListPersonalAccessTokens"))
        .unwrap();
    assert_eq!(
        body(&list_call)["filters"],
        json!([{"organizationIdFilter": {"id": ZitadelSim::DEFAULT_ORG}}])
    );
    let err = scoped
        .get(&TokenId::new(theirs.clone()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), pats_core::ErrorKind::NotFound, "{err}");
    assert_eq!(
        scoped
            .get(&TokenId::new(mine.clone()).unwrap())
            .await
            .unwrap()
            .id
            .as_str(),
        mine
    );

    let unscoped = builder(&sim, ApiVersion::V2).build().unwrap();
    let all = unscoped
        .list(&pats_core::ListQuery::default())
        .await
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|t| t.id.as_str()).collect();
    assert!(
        ids.contains(&mine.as_str()) && ids.contains(&theirs.as_str()),
        "{ids:?}"
    );
    let list_call = api_requests(&sim)
        .await
        .into_iter()
        .rev()
        .find(|r| r.url.path().ends_with("/ListPersonalAccessTokens"))
        .unwrap();
    assert_eq!(body(&list_call).get("filters"), None);
}
