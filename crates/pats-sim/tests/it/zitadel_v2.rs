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

/// `{"pagination": …, "filters": …}` for `ListPersonalAccessTokens`.
async fn list(sim: &ZitadelSim, filters: Value, offset: u64, limit: u64, asc: bool) -> Value {
    let (status, body) = connect(
        sim,
        "ListPersonalAccessTokens",
        json!({
            "pagination": {"offset": offset.to_string(), "limit": limit, "asc": asc},
            "filters": filters,
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Pages answered from the index (no filter, or a user's tokens) are the pages a full
/// filter-and-sort gives: same tokens, same order, same total, for every offset, limit
/// and direction, with tokens removed in between.
#[tokio::test]
async fn pages_walked_in_creation_order_match_a_full_sort() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user("900", "901");
    sim.add_machine_user("900", "902");
    sim.add_machine_user("903", "904");
    let mut made = Vec::new();
    for i in 0..12 {
        let user = ["901", "902", "904"][i % 3];
        made.push((user, sim.issue_pat(user).unwrap().0));
    }
    for (user, token) in [&made[3], &made[7]] {
        let (status, _) = connect(
            &sim,
            "RemovePersonalAccessToken",
            json!({"userId": user, "tokenId": token}),
        )
        .await;
        assert_eq!(status, 200);
    }
    // An expiration filter every token passes sends a list down the full path.
    let everything = json!({"expirationDateFilter": {"timestamp": "1971-01-01T00:00:00Z", "method": "TIMESTAMP_FILTER_METHOD_AFTER"}});
    let created: Vec<(String, String)> =
        sim.pats().into_iter().map(|p| (p.user_id, p.id)).collect();
    for (filters, user) in [
        (json!([]), None),
        (json!([{"userIdFilter": {"id": "901"}}]), Some("901")),
        (
            json!([{"userIdFilter": {"id": "904"}}, {"organizationIdFilter": {"id": "903"}}]),
            Some("904"),
        ),
    ] {
        let mut full = filters.as_array().unwrap().clone();
        full.push(everything.clone());
        let mine: Vec<String> = created
            .iter()
            .filter(|(u, _)| user.is_none_or(|user| u == user))
            .map(|(_, id)| id.clone())
            .collect();
        for asc in [true, false] {
            for (offset, limit) in [(0, 100), (0, 2), (1, 3), (3, 2), (50, 5)] {
                let fast = list(&sim, filters.clone(), offset, limit, asc).await;
                let slow = list(&sim, Value::Array(full.clone()), offset, limit, asc).await;
                assert_eq!(
                    fast["result"], slow["result"],
                    "{filters} {offset} {limit} {asc}"
                );
                assert_eq!(fast["pagination"]["totalResult"], mine.len().to_string());
                assert_eq!(fast["pagination"], slow["pagination"]);
                let mut expected = mine.clone();
                if !asc {
                    expected.reverse();
                }
                let expected: Vec<String> = expected
                    .into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect();
                assert_eq!(ids(&fast), expected, "{filters} {offset} {limit} {asc}");
            }
        }
    }
    // Another organization's filter on a user finds nothing.
    let none = list(
        &sim,
        json!([{"userIdFilter": {"id": "901"}}, {"organizationIdFilter": {"id": "903"}}]),
        0,
        10,
        true,
    )
    .await;
    assert_eq!(ids(&none), Vec::<String>::new());
}

/// The status of a v2 list with `bearer`.
async fn call(uri: &str, bearer: &str) -> u16 {
    reqwest::Client::new()
        .post(format!(
            "{uri}/zitadel.user.v2.UserService/ListPersonalAccessTokens"
        ))
        .bearer_auth(bearer)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A PAT is found by the id its secret names, and only with the whole secret.
#[tokio::test]
async fn a_pat_authenticates_only_with_its_whole_secret() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user("900", "901");
    let (id, secret) = sim.issue_pat("901").unwrap();
    assert!(secret.starts_with(&format!("sim_pat_{id}_")), "{secret}");
    let uri = sim.uri();
    assert_eq!(call(&uri, &secret).await, 200);
    let mut wrong = secret.clone();
    wrong.pop();
    wrong.push(if secret.ends_with('a') { 'b' } else { 'a' });
    assert_eq!(call(&uri, &wrong).await, 401);
    assert_eq!(call(&uri, &format!("sim_pat_{id}_")).await, 401);
    assert_eq!(call(&uri, &format!("sim_pat_0{id}_x")).await, 401);
}
