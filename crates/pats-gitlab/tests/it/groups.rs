//! Group access tokens: the exact requests, the typed answers, the Owner role, rotation
//! and what is refused before sending.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{client, json, last, line, world};
use pats_core::ErrorKind;
use pats_gitlab::{AccessLevel, ListTokens, NewGroupToken, TokenState};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

fn in_days(days: i64) -> time::Date {
    OffsetDateTime::now_utc().date() + Duration::days(days)
}

#[tokio::test]
async fn owners_create_and_the_group_lists_gets_rotates_and_revokes() {
    let w = world().await;
    let group = w.sim.seed_group("acme/platform");
    let gl = client(&w.sim, &w.alice_token);
    let new = NewGroupToken::new("deploy", ["read_api"]).access_level(AccessLevel::Developer);
    // A Maintainer may not create a group's tokens; an Owner may.
    w.sim.seed_group_member(group, w.alice, 40);
    let err = gl
        .create_group_token("acme/platform", &new)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    w.sim.seed_group_member(group, w.alice, 50);
    let created = gl.create_group_token("acme/platform", &new).await.unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r),
        (
            "POST".into(),
            "/api/v4/groups/acme%2Fplatform/access_tokens".into(),
            None
        )
    );
    assert_eq!(
        json(&r),
        serde_json::json!({"name": "deploy", "scopes": ["read_api"], "access_level": 30})
    );
    let pat = &created.pat;
    assert_eq!((pat.name.as_str(), pat.access_level), ("deploy", 30));
    // No date sent: the maximum lifetime.
    assert_eq!(
        pat.expires_at.as_deref(),
        Some(in_days(365).to_string().as_str())
    );
    let stored = w.sim.stored_token(pat.id as u64).unwrap();
    assert_eq!((stored.group_id, stored.project_id), (Some(group), None));
    assert_ne!(stored.user_id, w.alice, "a bot user holds it");
    assert_eq!(
        w.sim.token_id(created.token.expose_secret()),
        Some(pat.id as u64)
    );

    let id = pat.id as u64;
    let page = gl
        .list_group_tokens(
            &group.to_string(),
            &ListTokens::new().state(TokenState::Active).per_page(5),
        )
        .await
        .unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "GET".into(),
            "/api/v4/groups/1/access_tokens".into(),
            Some("state=active&per_page=5".into())
        )
    );
    assert_eq!(
        page.tokens.iter().map(|t| t.id as u64).collect::<Vec<_>>(),
        [id]
    );
    let got = gl.get_group_token("1", id).await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await).1,
        format!("/api/v4/groups/1/access_tokens/{id}")
    );
    assert_eq!(got.id, pat.id);

    let rotated = gl
        .rotate_group_token("1", id, Some(in_days(5)))
        .await
        .unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r).1,
        format!("/api/v4/groups/1/access_tokens/{id}/rotate")
    );
    assert_eq!(
        json(&r),
        serde_json::json!({"expires_at": in_days(5).to_string()})
    );
    assert_eq!(rotated.pat.access_level, 30);
    assert!(gl.get_group_token("1", id).await.unwrap().revoked);

    // The new token rotates itself (its own scopes: read_api is not enough).
    let own = client(&w.sim, rotated.token.expose_secret());
    let err = own.rotate_group_token_self("1", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "POST".into(),
            "/api/v4/groups/1/access_tokens/self/rotate".into(),
            None
        )
    );

    gl.revoke_group_token("1", rotated.pat.id as u64)
        .await
        .unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "DELETE".into(),
            format!("/api/v4/groups/1/access_tokens/{}", rotated.pat.id),
            None
        )
    );
    assert!(w.sim.stored_token(rotated.pat.id as u64).unwrap().revoked);
}

#[tokio::test]
async fn a_group_token_rotates_itself_and_bad_requests_stay_home() {
    let w = world().await;
    w.sim.seed_group("acme");
    let created = client(&w.sim, &w.admin_token)
        .create_group_token(
            "acme",
            &NewGroupToken::new("bot", ["self_rotate"]).expires_at(in_days(3)),
        )
        .await
        .unwrap();
    assert_eq!(created.pat.access_level, 40, "GitLab's default role");
    let rotated = client(&w.sim, created.token.expose_secret())
        .rotate_group_token_self("acme", None)
        .await
        .unwrap();
    assert_eq!(
        rotated.pat.expires_at.as_deref(),
        Some(in_days(7).to_string().as_str())
    );
    assert_eq!(
        w.sim
            .stored_token(rotated.pat.id as u64)
            .unwrap()
            .rotated_from,
        Some(created.pat.id as u64)
    );

    let gl = client(&w.sim, &w.admin_token);
    let before = w.sim.requests().await.len();
    for (list, field) in [
        (ListTokens::new().user_id(2), "user_id"),
        (ListTokens::new().search("x"), "search"),
        (ListTokens::new().revoked(true), "revoked"),
    ] {
        let err = gl.list_group_tokens("acme", &list).await.unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
    assert_eq!(
        gl.get_group_token(" ", 1).await.unwrap_err().field(),
        Some("group")
    );
    assert_eq!(
        gl.revoke_group_token("acme", 0).await.unwrap_err().field(),
        Some("token_id")
    );
    let err = gl
        .create_group_token("acme", &NewGroupToken::new("t", Vec::<String>::new()))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("scopes"));
    assert_eq!(w.sim.requests().await.len(), before);
}
