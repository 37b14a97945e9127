//! The exact request GitLab receives for each typed operation, and the typed value back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{client, header, json, last, line, world};
use pats_gitlab::{ListTokens, NewToken, TokenFor, TokenSort, TokenState};
use secrecy::ExposeSecret;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

fn in_days(days: i64) -> time::Date {
    OffsetDateTime::now_utc().date() + Duration::days(days)
}

#[tokio::test]
async fn create_for_a_user_sends_the_documented_body_and_reads_the_token() {
    let w = world().await;
    let gl = client(&w.sim, &w.admin_token);
    let expires = in_days(30);
    let created = gl
        .create_token(
            TokenFor::User(w.alice),
            &NewToken::new("ci", ["read_api", "read_repository"])
                .description("deploys")
                .expires_at(expires),
        )
        .await
        .unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r),
        (
            "POST".into(),
            "/api/v4/users/2/personal_access_tokens".into(),
            None
        )
    );
    assert_eq!(
        header(&r, "authorization"),
        Some(format!("Bearer {}", w.admin_token).as_str())
    );
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    assert_eq!(
        json(&r),
        serde_json::json!({"name": "ci", "scopes": ["read_api", "read_repository"],
                           "description": "deploys", "expires_at": expires.to_string()})
    );
    let pat = &created.pat;
    assert_eq!((pat.name.as_str(), pat.user_id), ("ci", 2));
    assert_eq!(pat.scopes, ["read_api", "read_repository"]);
    assert_eq!(pat.description.as_deref(), Some("deploys"));
    assert_eq!(
        pat.expires_at.as_deref(),
        Some(expires.to_string().as_str())
    );
    assert!(pat.active && !pat.revoked);
    assert_eq!(pat.last_used_at, None);
    // The value is the one the simulator stored (it authenticates), and is not in Debug.
    let value = created.token.expose_secret().to_owned();
    assert_eq!(w.sim.token_id(&value), Some(pat.id as u64));
    assert!(!format!("{created:?}").contains(&value));
    let stored = w.sim.stored_token(pat.id as u64).unwrap();
    assert_eq!(stored.created_at, pat.created_at);
}

#[tokio::test]
async fn create_for_oneself_uses_the_user_endpoint() {
    let w = world().await;
    let gl = client(&w.sim, &w.alice_token);
    let created = gl
        .create_token(TokenFor::Me, &NewToken::new("rotator", ["self_rotate"]))
        .await
        .unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r),
        (
            "POST".into(),
            "/api/v4/user/personal_access_tokens".into(),
            None
        )
    );
    assert_eq!(
        json(&r),
        serde_json::json!({"name": "rotator", "scopes": ["self_rotate"]})
    );
    assert_eq!(created.pat.user_id as u64, w.alice);
    // GitLab limits these to k8s_proxy and self_rotate.
    let err = gl
        .create_token(TokenFor::Me, &NewToken::new("wide", ["api"]))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(
        err.api_error().unwrap().message,
        "scopes does not have a valid value"
    );
}

#[tokio::test]
async fn list_sends_every_filter_and_reads_the_page_headers() {
    let w = world().await;
    let gl = client(&w.sim, &w.admin_token);
    let list = ListTokens::new()
        .user_id(w.alice)
        .state(TokenState::Active)
        .revoked(false)
        .search("ali")
        .created_after(datetime!(2020-01-01 00:00 UTC))
        .created_before(datetime!(2999-01-01 00:00 UTC))
        .expires_after(date!(2020 - 01 - 01))
        .expires_before(date!(2999 - 01 - 01))
        .sort(TokenSort::NameAsc)
        .page(1)
        .per_page(5);
    let page = gl.list_tokens(&list).await.unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r),
        (
            "GET".into(),
            "/api/v4/personal_access_tokens".into(),
            Some(
                "created_after=2020-01-01T00%3A00%3A00Z&created_before=2999-01-01T00%3A00%3A00Z\
                 &expires_after=2020-01-01&expires_before=2999-01-01&revoked=false&search=ali\
                 &sort=name_asc&state=active&user_id=2&page=1&per_page=5"
                    .into()
            )
        )
    );
    // alice's token never expires, so the expires_* filters leave it out.
    assert!(page.tokens.is_empty(), "{page:?}");
    assert_eq!(
        (page.next_page, page.total, page.total_pages),
        (None, Some(0), Some(1))
    );

    let page = gl
        .list_tokens(&ListTokens::new().user_id(w.alice).search("ALI"))
        .await
        .unwrap();
    assert_eq!(page.tokens.len(), 1);
    let t = &page.tokens[0];
    assert_eq!((t.id, t.name.as_str(), t.user_id), (2, "alice", 2));
    assert_eq!(t.scopes, ["api"]);
    assert_eq!(t.expires_at, None);
    // Using a token sets last_used_at: alice's was used by nobody yet.
    assert_eq!(t.last_used_at, None);
}

#[tokio::test]
async fn pages_are_followed_to_the_end() {
    let w = world().await;
    for i in 0..5 {
        w.sim
            .seed_token(w.alice, &format!("bulk-{i}"), &["read_api"]);
    }
    let gl = client(&w.sim, &w.admin_token);
    let mut list = ListTokens::new().per_page(3);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = gl.list_tokens(&list).await.unwrap();
        pages += 1;
        assert_eq!(page.total, Some(7));
        assert_eq!(page.total_pages, Some(3));
        seen.extend(page.tokens.iter().map(|t| t.id));
        match page.next_page {
            Some(next) => list = list.page(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, [1, 2, 3, 4, 5, 6, 7]);
    let queries: Vec<Option<String>> = w
        .sim
        .requests()
        .await
        .iter()
        .map(|r| r.url.query().map(str::to_owned))
        .collect();
    assert_eq!(
        queries,
        [
            Some("per_page=3".to_owned()),
            Some("page=2&per_page=3".to_owned()),
            Some("page=3&per_page=3".to_owned())
        ]
    );
}

#[tokio::test]
async fn get_rotate_and_revoke_by_id_and_self() {
    let w = world().await;
    let gl = client(&w.sim, &w.admin_token);
    let t = gl.get_token(2).await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "GET".into(),
            "/api/v4/personal_access_tokens/2".into(),
            None
        )
    );
    assert_eq!((t.id, t.name.as_str()), (2, "alice"));

    let me = gl.get_self().await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "GET".into(),
            "/api/v4/personal_access_tokens/self".into(),
            None
        )
    );
    assert_eq!((me.id, me.name.as_str(), me.user_id), (1, "admin", 1));
    assert!(me.last_used_at.is_some(), "the simulator records the use");

    let expires = in_days(10);
    let rotated = gl.rotate_token(2, Some(expires)).await.unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r),
        (
            "POST".into(),
            "/api/v4/personal_access_tokens/2/rotate".into(),
            None
        )
    );
    assert_eq!(
        json(&r),
        serde_json::json!({"expires_at": expires.to_string()})
    );
    assert_eq!(
        (rotated.pat.name.as_str(), rotated.pat.user_id),
        ("alice", 2)
    );
    assert_eq!(
        rotated.pat.expires_at.as_deref(),
        Some(expires.to_string().as_str())
    );
    assert_ne!(rotated.pat.id, 2);
    assert_eq!(
        w.sim
            .stored_token(rotated.pat.id as u64)
            .unwrap()
            .rotated_from,
        Some(2)
    );

    // Without a date: an empty body, and GitLab's week.
    let again = gl.rotate_token(rotated.pat.id as u64, None).await.unwrap();
    assert_eq!(json(&last(&w.sim).await), serde_json::json!({}));
    assert_eq!(
        again.pat.expires_at.as_deref(),
        Some(in_days(7).to_string().as_str())
    );

    gl.revoke_token(again.pat.id as u64).await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "DELETE".into(),
            format!("/api/v4/personal_access_tokens/{}", again.pat.id),
            None
        )
    );
    assert!(w.sim.stored_token(again.pat.id as u64).unwrap().revoked);
}

#[tokio::test]
async fn self_rotation_and_self_revocation() {
    let w = world().await;
    let gl = client(&w.sim, &w.alice_token);
    let rotated = gl.rotate_self(None).await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "POST".into(),
            "/api/v4/personal_access_tokens/self/rotate".into(),
            None
        )
    );
    // The old value no longer works; the new one does.
    let err = gl.get_self().await.unwrap_err();
    assert_eq!(err.kind(), pats_core::ErrorKind::Unauthenticated, "{err}");
    let fresh = client(&w.sim, rotated.token.expose_secret());
    assert_eq!(fresh.get_self().await.unwrap().id, rotated.pat.id);
    fresh.revoke_self().await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "DELETE".into(),
            "/api/v4/personal_access_tokens/self".into(),
            None
        )
    );
    assert!(w.sim.stored_token(rotated.pat.id as u64).unwrap().revoked);
    assert_eq!(
        fresh.get_self().await.unwrap_err().kind(),
        pats_core::ErrorKind::Unauthenticated
    );
}

#[tokio::test]
async fn private_token_and_bearer_are_both_accepted_by_the_simulator() {
    let w = world().await;
    let gl = client(&w.sim, &w.admin_token);
    let via_client = gl
        .send(
            pats_core::Request::get("/api/v4/personal_access_tokens/self").segments([
                "api",
                "v4",
                "personal_access_tokens",
                "self",
            ]),
        )
        .await
        .unwrap();
    assert_eq!(via_client.status(), 200);
    // A raw PRIVATE-TOKEN request, as curl in GitLab's docs sends it.
    let raw = reqwest::Client::new()
        .get(format!(
            "{}/api/v4/personal_access_tokens/self",
            w.sim.uri()
        ))
        .header("PRIVATE-TOKEN", &w.alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&raw.bytes().await.unwrap()).unwrap();
    assert_eq!(body["name"], "alice");
}
