//! Project access tokens: the exact requests, the typed answers, roles and rotation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{client, json, last, line, world};
use pats_core::ErrorKind;
use pats_gitlab::{AccessLevel, ListTokens, NewProjectToken, TokenState};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

fn in_days(days: i64) -> time::Date {
    OffsetDateTime::now_utc().date() + Duration::days(days)
}

#[tokio::test]
async fn create_list_get_rotate_revoke_by_path_and_id() {
    let w = world().await;
    let project = w.sim.seed_project("group/app");
    w.sim.seed_member(project, w.alice, 40);
    let gl = client(&w.sim, &w.alice_token);
    let expires = in_days(20);
    let created = gl
        .create_project_token(
            "group/app",
            &NewProjectToken::new("deploy", ["read_repository"], expires)
                .description("ci")
                .access_level(AccessLevel::Developer),
        )
        .await
        .unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r),
        (
            "POST".into(),
            "/api/v4/projects/group%2Fapp/access_tokens".into(),
            None
        )
    );
    assert_eq!(
        json(&r),
        serde_json::json!({"name": "deploy", "scopes": ["read_repository"], "description": "ci",
                           "expires_at": expires.to_string(), "access_level": 30})
    );
    let pat = &created.pat;
    assert_eq!((pat.name.as_str(), pat.access_level), ("deploy", 30));
    assert_eq!(
        pat.expires_at.as_deref(),
        Some(expires.to_string().as_str())
    );
    let stored = w.sim.stored_token(pat.id as u64).unwrap();
    assert_eq!(
        (stored.project_id, stored.access_level),
        (Some(project), Some(30))
    );
    assert_ne!(stored.user_id, w.alice, "a bot user holds it");
    assert_eq!(
        w.sim.token_id(created.token.expose_secret()),
        Some(pat.id as u64)
    );

    let id = pat.id as u64;
    let page = gl
        .list_project_tokens(
            &project.to_string(),
            &ListTokens::new().state(TokenState::Active).per_page(1),
        )
        .await
        .unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "GET".into(),
            "/api/v4/projects/1/access_tokens".into(),
            Some("state=active&per_page=1".into())
        )
    );
    assert_eq!(
        page.tokens.iter().map(|t| t.id as u64).collect::<Vec<_>>(),
        [id]
    );
    assert_eq!((page.total, page.next_page), (Some(1), None));

    let got = gl.get_project_token("1", id).await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await).1,
        format!("/api/v4/projects/1/access_tokens/{id}")
    );
    assert_eq!(got.id, pat.id);

    let rotated = gl
        .rotate_project_token("1", id, Some(in_days(5)))
        .await
        .unwrap();
    let r = last(&w.sim).await;
    assert_eq!(
        line(&r).1,
        format!("/api/v4/projects/1/access_tokens/{id}/rotate")
    );
    assert_eq!(
        json(&r),
        serde_json::json!({"expires_at": in_days(5).to_string()})
    );
    assert_eq!(
        (rotated.pat.name.as_str(), rotated.pat.access_level),
        ("deploy", 30)
    );
    // The old value no longer authenticates.
    let err = client(&w.sim, created.token.expose_secret())
        .get_self()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(gl.get_project_token("1", id).await.unwrap().revoked);

    gl.revoke_project_token("1", rotated.pat.id as u64)
        .await
        .unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "DELETE".into(),
            format!("/api/v4/projects/1/access_tokens/{}", rotated.pat.id),
            None
        )
    );
    assert!(w.sim.stored_token(rotated.pat.id as u64).unwrap().revoked);
}

#[tokio::test]
async fn a_project_token_rotates_itself() {
    let w = world().await;
    let project = w.sim.seed_project("app");
    let created = client(&w.sim, &w.admin_token)
        .create_project_token(
            "app",
            &NewProjectToken::new("bot", ["self_rotate"], in_days(3)),
        )
        .await
        .unwrap();
    assert_eq!(created.pat.access_level, 40, "GitLab's default role");
    let own = client(&w.sim, created.token.expose_secret());
    let rotated = own
        .rotate_project_token_self(&project.to_string(), None)
        .await
        .unwrap();
    assert_eq!(
        line(&last(&w.sim).await),
        (
            "POST".into(),
            "/api/v4/projects/1/access_tokens/self/rotate".into(),
            None
        )
    );
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
    // A personal token has no project to rotate itself in: 405, as GitLab answers.
    let err = client(&w.sim, &w.admin_token)
        .rotate_project_token_self("app", None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(405));
}

#[tokio::test]
async fn roles_decide_who_manages_a_projects_tokens() {
    let w = world().await;
    let project = w.sim.seed_project("app");
    let gl = client(&w.sim, &w.alice_token);
    let new = NewProjectToken::new("t", ["api"], in_days(3));
    // Not a member: the project is not visible.
    let err = gl.create_project_token("app", &new).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // A Developer may not manage tokens.
    w.sim.seed_member(project, w.alice, 30);
    let err = gl
        .list_project_tokens("app", &ListTokens::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    // A Maintainer may, up to their own role.
    w.sim.seed_member(project, w.alice, 40);
    let err = gl
        .create_project_token("app", &new.clone().access_level(AccessLevel::Owner))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    gl.create_project_token("app", &new.access_level(AccessLevel::Maintainer))
        .await
        .unwrap();
    // Refused before sending.
    let before = w.sim.requests().await.len();
    let err = gl
        .list_project_tokens("app", &ListTokens::new().user_id(2))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("user_id"));
    assert_eq!(
        gl.get_project_token(" ", 1).await.unwrap_err().field(),
        Some("project")
    );
    assert_eq!(
        gl.revoke_project_token("app", 0).await.unwrap_err().field(),
        Some("token_id")
    );
    assert_eq!(w.sim.requests().await.len(), before);
}
