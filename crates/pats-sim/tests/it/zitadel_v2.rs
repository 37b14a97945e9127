//! The ZITADEL simulator's v2 user service over Connect JSON, as the vendored proto
//! describes it: removal of a token that is not there, sorting columns, and calls that
//! address users by id whatever `x-zitadel-orgid` says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_sim::zitadel::ZitadelSim;
use serde_json::{Value, json};

async fn connect(sim: &ZitadelSim, method: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/zitadel.user.v2.UserService/{method}",
            sim.uri()
        ))
        .bearer_auth(sim.admin_pat())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn ids(list: &Value) -> Vec<String> {
    list["result"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn removing_a_token_that_is_not_there_is_ok_and_removing_one_that_is_has_a_date() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user("900", "901");
    let (token, _) = sim.issue_pat("901").unwrap();
    let (status, gone) = connect(
        &sim,
        "RemovePersonalAccessToken",
        json!({"userId": "901", "tokenId": "123456"}),
    )
    .await;
    assert_eq!((status, gone), (200, json!({})));
    let (status, unknown_user) = connect(
        &sim,
        "RemovePersonalAccessToken",
        json!({"userId": "999", "tokenId": token}),
    )
    .await;
    assert_eq!((status, unknown_user), (200, json!({})));
    assert_eq!(sim.pats_of("901").len(), 1, "nothing was removed");
    let (status, removed) = connect(
        &sim,
        "RemovePersonalAccessToken",
        json!({"userId": "901", "tokenId": token}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(removed["deletionDate"].is_string(), "{removed}");
    assert!(sim.pats_of("901").is_empty());
}

#[tokio::test]
async fn every_sorting_column_orders_the_listing() {
    let sim = ZitadelSim::start().await;
    // Users whose ids, organizations and token ids sort differently from creation order.
    sim.add_machine_user("800", "830");
    sim.add_machine_user("700", "820");
    sim.add_machine_user("600", "810");
    let mut created = Vec::new();
    for user in ["830", "820", "810"] {
        created.push(sim.issue_pat(user).unwrap().0);
    }
    let list = |column: &'static str| {
        let sim = sim.clone();
        async move {
            let (status, answer) = connect(
                &sim,
                "ListPersonalAccessTokens",
                json!({
                    "sortingColumn": column,
                    "pagination": {"asc": true},
                    "filters": [{"expirationDateFilter": {
                        "timestamp": "9999-12-31T23:59:59Z",
                        "method": "TIMESTAMP_FILTER_METHOD_EQUALS"}}],
                }),
            )
            .await;
            assert_eq!(status, 200, "{column}: {answer}");
            ids(&answer)
        }
    };
    let by_created = list("PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE").await;
    let by_id = list("PERSONAL_ACCESS_TOKEN_FIELD_NAME_ID").await;
    let by_user = list("PERSONAL_ACCESS_TOKEN_FIELD_NAME_USER_ID").await;
    let by_org = list("PERSONAL_ACCESS_TOKEN_FIELD_NAME_ORGANIZATION_ID").await;
    let ours = |v: Vec<String>| -> Vec<String> {
        v.into_iter().filter(|id| created.contains(id)).collect()
    };
    let by_created = ours(by_created);
    assert_eq!(by_created, created, "creation order");
    let mut ids_sorted = created.clone();
    ids_sorted.sort_by_key(|id| format!("{id:0>20}"));
    assert_eq!(ours(by_id), ids_sorted);
    // Users 810 < 820 < 830, and so their organizations 600 < 700 < 800: the reverse of
    // creation.
    let reversed: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(ours(by_user), reversed);
    assert_eq!(ours(by_org), reversed);
    let (status, bad) = connect(
        &sim,
        "ListPersonalAccessTokens",
        json!({"sortingColumn": "PERSONAL_ACCESS_TOKEN_FIELD_NAME_COLOUR"}),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn the_expiration_column_sorts_by_expiry() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user("500", "501");
    let later = connect(
        &sim,
        "AddPersonalAccessToken",
        json!({"userId": "501", "expirationDate": "2099-01-01T00:00:00Z"}),
    )
    .await
    .1["tokenId"]
        .as_str()
        .unwrap()
        .to_owned();
    let sooner = connect(
        &sim,
        "AddPersonalAccessToken",
        json!({"userId": "501", "expirationDate": "2098-01-01T00:00:00Z"}),
    )
    .await
    .1["tokenId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, answer) = connect(
        &sim,
        "ListPersonalAccessTokens",
        json!({
            "sortingColumn": "PERSONAL_ACCESS_TOKEN_FIELD_NAME_EXPIRATION_DATE",
            "pagination": {"asc": true},
            "filters": [{"userIdFilter": {"id": "501"}}],
        }),
    )
    .await;
    assert_eq!(ids(&answer), [sooner, later]);
}
