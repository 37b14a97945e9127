//! `PersonalAccessTokens` for GitLab: the neutral calls, their requests, and rotation
//! through the native endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{client, json, last, line, world};
use pats_core::{
    CreateToken, ErrorKind, Expiration, Expiry, ListQuery, PersonalAccessTokens,
    PersonalAccessTokensExt, TokenId,
};
use secrecy::ExposeSecret;
use std::time::Duration;
use time::OffsetDateTime;

const DAY: Duration = Duration::from_secs(86_400);

fn request(name: &str, owner: Option<u64>) -> CreateToken {
    let mut b = CreateToken::builder()
        .name(name)
        .scopes(["read_api"])
        .expiry(Expiry::In(30 * DAY));
    if let Some(owner) = owner {
        b = b.owner(owner.to_string());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn capabilities_say_rotation_is_native() {
    let w = world().await;
    let caps = client(&w.sim, &w.admin_token).capabilities();
    assert!(caps.native_rotate);
    assert!(caps.pagination && caps.create_for_owner && caps.scopes && !caps.rename);
    assert!(caps.list_filters.owner && caps.list_filters.last_used_before);
    assert!(!caps.list_filters.never_used && !caps.never_expires);
    // Expiries are dates; revoked tokens are kept, inactive.
    assert_eq!(caps.expiry_resolution, DAY);
    assert!(caps.revoked_readable);
}

#[tokio::test]
async fn create_list_get_revoke_through_the_trait() {
    let w = world().await;
    let gl = client(&w.sim, &w.admin_token);
    let created = gl.create(&request("ci", Some(w.alice))).await.unwrap();
    let r = last(&w.sim).await;
    assert_eq!(line(&r).1, "/api/v4/users/2/personal_access_tokens");
    // 30 days from now, rounded up to a whole day.
    let expected = (OffsetDateTime::now_utc() + time::Duration::days(31)).date();
    let sent = json(&r)["expires_at"].as_str().unwrap().to_owned();
    assert!(
        sent == expected.to_string() || sent == expected.previous_day().unwrap().to_string(),
        "{sent}"
    );
    let info = &created.info;
    assert_eq!(info.name.as_deref(), Some("ci"));
    assert_eq!(info.owner.as_ref().unwrap().id, "2");
    assert_eq!(info.scopes, ["read_api"]);
    assert_eq!(info.active, Some(true));
    assert!(matches!(info.expires, Expiration::At(_)));
    assert!(created.secret.expose_secret().starts_with("glpat-"));

    let page = gl
        .list(&ListQuery::new().owner(w.alice.to_string()).page_size(1))
        .await
        .unwrap();
    assert_eq!(
        line(&last(&w.sim).await).2.as_deref(),
        Some("state=active&user_id=2&per_page=1")
    );
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_page.as_ref().map(|p| p.as_str()), Some("2"));
    let all = gl
        .list_all(&ListQuery::new().owner(w.alice.to_string()))
        .await
        .unwrap();
    let names: Vec<_> = all.iter().map(|t| t.name.clone().unwrap()).collect();
    assert_eq!(names, ["alice", "ci"]);

    let got = gl.get(&info.id).await.unwrap();
    assert_eq!(got.id, info.id);
    let me = gl.get(&TokenId::new("self").unwrap()).await.unwrap();
    assert_eq!(me.name.as_deref(), Some("admin"));

    gl.revoke(&info.id).await.unwrap();
    assert_eq!(gl.get(&info.id).await.unwrap().active, Some(false));
    // Revoked tokens are left out of the neutral listing.
    let all = gl
        .list_all(&ListQuery::new().owner(w.alice.to_string()))
        .await
        .unwrap();
    assert_eq!(all.len(), 1);

    let err = gl.list(&ListQuery::new().never_used()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let err = gl.get(&TokenId::new("abc").unwrap()).await.unwrap_err();
    assert_eq!(err.field(), Some("id"));
    let err = gl.create(&request("x", None).clone()).await.unwrap_err();
    // Without an owner the token is the caller's, limited by GitLab to two scopes.
    assert_eq!(err.status(), Some(400), "{err}");
}

#[tokio::test]
async fn rotate_uses_the_native_endpoint_and_finish_sends_nothing() {
    let w = world().await;
    let gl = client(&w.sim, &w.admin_token);
    let created = gl.create(&request("ci", Some(w.alice))).await.unwrap();
    let before = w.sim.requests().await.len();
    let rotate = CreateToken::builder()
        .name("ci")
        .expiry(Expiry::In(10 * DAY))
        .build()
        .unwrap();
    let pending = gl.rotate(&created.info.id, &rotate).await.unwrap();
    assert!(pending.old_revoked());
    let requests = w.sim.requests().await;
    let sent: Vec<_> = requests[before..].iter().map(line).collect();
    assert_eq!(
        sent,
        [
            (
                "GET".into(),
                format!("/api/v4/personal_access_tokens/{}", created.info.id),
                None
            ),
            (
                "POST".into(),
                format!("/api/v4/personal_access_tokens/{}/rotate", created.info.id),
                None
            ),
        ],
        "the name is checked, then one rotate"
    );
    let new_id = pending.new_id().clone();
    let rotation = pending.finish(&gl).await;
    rotation.revoked.unwrap();
    assert_eq!(
        w.sim.requests().await.len(),
        before + 2,
        "finish sent nothing"
    );
    assert_eq!(gl.get(&created.info.id).await.unwrap().active, Some(false));
    assert_eq!(gl.get(&new_id).await.unwrap().active, Some(true));

    // What GitLab's rotation cannot do is refused before sending.
    let before = w.sim.requests().await.len();
    let scoped = CreateToken::builder()
        .scopes(["api"])
        .expiry(Expiry::In(DAY))
        .build()
        .unwrap();
    assert_eq!(
        gl.rotate(&new_id, &scoped).await.unwrap_err().field(),
        Some("scopes")
    );
    let renamed = CreateToken::builder()
        .name("other")
        .expiry(Expiry::In(DAY))
        .build()
        .unwrap();
    assert_eq!(
        gl.rotate(&new_id, &renamed).await.unwrap_err().field(),
        Some("name")
    );
    assert_eq!(
        w.sim.requests().await.len(),
        before + 1,
        "only the name check's GET"
    );
}

#[tokio::test]
async fn the_default_owner_and_scopes_fill_what_a_neutral_request_leaves_out() {
    let w = world().await;
    let unscoped = CreateToken::builder()
        .name("ci")
        .expiry(Expiry::In(DAY))
        .build()
        .unwrap();
    // Without defaults: GitLab needs a scope, so nothing is sent.
    let plain = client(&w.sim, &w.admin_token);
    let before = w.sim.requests().await.len();
    assert!(plain.capabilities().requires_scopes);
    let err = plain.create(&unscoped).await.unwrap_err();
    assert_eq!(err.field(), Some("scopes"), "{err}");
    assert_eq!(w.sim.requests().await.len(), before, "nothing sent");

    let gl = pats_gitlab::GitLabClient::builder()
        .base_url(w.sim.uri())
        .token(secrecy::SecretString::from(w.admin_token.clone()))
        .default_owner(w.alice)
        .default_scopes(["read_api", "read_repository"])
        .build()
        .unwrap();
    assert!(!gl.capabilities().requires_scopes, "the defaults fill in");
    let created = gl.create(&unscoped).await.unwrap();
    let sent = last(&w.sim).await;
    assert_eq!(
        line(&sent).1,
        format!("/api/v4/users/{}/personal_access_tokens", w.alice)
    );
    assert_eq!(
        json(&sent)["scopes"],
        serde_json::json!(["read_api", "read_repository"])
    );
    assert_eq!(created.info.owner.unwrap().id, w.alice.to_string());
    // A request's own scopes and owner win.
    let scoped = request("ci-2", Some(w.admin));
    let created = gl.create(&scoped).await.unwrap();
    assert_eq!(
        json(&last(&w.sim).await)["scopes"],
        serde_json::json!(["read_api"])
    );
    assert_eq!(created.info.owner.unwrap().id, w.admin.to_string());
    // Listings without an owner are the default owner's.
    gl.list(&ListQuery::new()).await.unwrap();
    assert_eq!(
        line(&last(&w.sim).await).2.as_deref(),
        Some(format!("state=active&user_id={}", w.alice).as_str())
    );
    for bad in [
        pats_gitlab::GitLabClient::builder().default_owner(0),
        pats_gitlab::GitLabClient::builder().default_scopes([""]),
    ] {
        let err = bad
            .token(secrecy::SecretString::from("t".to_owned()))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
}
