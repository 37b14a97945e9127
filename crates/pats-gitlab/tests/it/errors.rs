//! GitLab's error answers as pats-core error kinds; retries only where they are safe;
//! bad arguments refused before anything is sent; secrets kept out of errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{client, client_with_clock, world};
use pats_core::{ErrorKind, VirtualClock};
use pats_gitlab::{GitLabClient, ListTokens, NewToken, TokenFor};
use pats_sim::{Fault, FaultRule};
use secrecy::SecretString;
use std::time::Duration;

#[tokio::test]
async fn statuses_map_to_kinds_with_gitlabs_messages() {
    let w = world().await;
    // 401: an unknown token.
    let stranger = client(&w.sim, "glpat-NotAKnownTokenValue01");
    let err = stranger.get_self().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.api_error().unwrap().message, "401 Unauthorized");
    assert!(!format!("{err} {err:?}").contains("NotAKnownTokenValue01"));

    // 401 for a user asking for another user's token; 404 for an administrator and a
    // missing one (as GitLab documents).
    let alice = client(&w.sim, &w.alice_token);
    assert_eq!(
        alice.get_token(1).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    let admin = client(&w.sim, &w.admin_token);
    let err = admin.get_token(999).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::NotFound, Some(404)));

    // 403: a user creating for another (administrators only) ...
    let err = alice
        .create_token(TokenFor::User(w.admin), &NewToken::new("x", ["api"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.api_error().unwrap().message, "403 Forbidden");
    // ... and a token without the scope.
    let reader = w.sim.seed_token(w.alice, "reader", &["read_api"]);
    let err = client(&w.sim, &reader).revoke_token(2).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.api_error().unwrap().message, "insufficient_scope");

    // 400: GitLab's validation.
    let err = admin
        .create_token(
            TokenFor::User(w.alice),
            &NewToken::new("x", ["no_such_scope"]),
        )
        .await
        .unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Api, Some(400)));
    assert_eq!(
        err.api_error().unwrap().message,
        "scopes does not have a valid value"
    );
    let far = time::OffsetDateTime::now_utc().date() + time::Duration::days(400);
    let err = admin
        .create_token(
            TokenFor::User(w.alice),
            &NewToken::new("x", ["api"]).expires_at(far),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.api_error()
            .unwrap()
            .message
            .starts_with("expires_at must be before "),
        "{err}"
    );
    // 404: no such user.
    let err = admin
        .create_token(TokenFor::User(99), &NewToken::new("x", ["api"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // Revoking twice: GitLab's 400.
    admin.revoke_token(2).await.unwrap();
    assert_eq!(admin.revoke_token(2).await.unwrap_err().status(), Some(400));
}

#[tokio::test]
async fn retry_after_is_honoured_on_a_read() {
    let w = world().await;
    let clock = VirtualClock::new();
    let gl = client_with_clock(&w.sim, &w.admin_token, &clock);
    w.sim.faults().inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(2),
        })
        .method("GET")
        .times(1),
    );
    let page = gl.list_tokens(&ListTokens::new()).await.unwrap();
    assert_eq!(page.tokens.len(), 2);
    assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
    assert_eq!(w.sim.requests().await.len(), 2);
}

#[tokio::test]
async fn a_create_or_rotate_is_never_sent_twice() {
    let w = world().await;
    let clock = VirtualClock::new();
    let gl = client_with_clock(&w.sim, &w.admin_token, &clock);
    w.sim.faults().inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(1),
        })
        .method("POST")
        .times(2),
    );
    let err = gl
        .create_token(TokenFor::User(w.alice), &NewToken::new("x", ["api"]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.retry_after()),
        (ErrorKind::RateLimited, Some(Duration::from_secs(1)))
    );
    let err = gl.rotate_token(2, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    w.sim
        .faults()
        .inject(FaultRule::new(Fault::status(502)).method("POST").times(1));
    let err = gl.rotate_token(2, None).await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(w.sim.requests().await.len(), 3, "one attempt each");
    assert!(clock.sleeps().is_empty());
    assert_eq!(w.sim.token_count(), 2, "nothing created or rotated");
    assert!(!w.sim.stored_token(2).unwrap().revoked);
}

#[tokio::test]
async fn the_simulators_throttle_answers_with_gitlabs_headers() {
    let w = world().await;
    w.sim.set_rate_limit(1, Duration::from_secs(60));
    let gl = client_with_clock(&w.sim, &w.alice_token, &VirtualClock::new());
    gl.get_self().await.unwrap();
    let err = gl
        .create_token(TokenFor::Me, &NewToken::new("x", ["k8s_proxy"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    let after = err.retry_after().unwrap();
    assert!(
        after > Duration::ZERO && after <= Duration::from_secs(60),
        "{after:?}"
    );
    assert_eq!(err.api_error().unwrap().message.trim(), "Retry later");
    let raw = reqwest::Client::new()
        .get(format!(
            "{}/api/v4/personal_access_tokens/self",
            w.sim.uri()
        ))
        .header("PRIVATE-TOKEN", &w.alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    for name in [
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    ] {
        assert!(raw.headers().contains_key(name), "{name}");
    }
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_request() {
    let w = world().await;
    let gl = client(&w.sim, &w.admin_token);
    let yesterday = time::OffsetDateTime::now_utc().date() - time::Duration::days(1);
    let cases: Vec<(&str, pats_core::Error)> = vec![
        (
            "name",
            gl.create_token(TokenFor::Me, &NewToken::new("", ["api"]))
                .await
                .unwrap_err(),
        ),
        (
            "scopes",
            gl.create_token(TokenFor::Me, &NewToken::new("n", Vec::<String>::new()))
                .await
                .unwrap_err(),
        ),
        (
            "expires_at",
            gl.create_token(
                TokenFor::Me,
                &NewToken::new("n", ["api"]).expires_at(yesterday),
            )
            .await
            .unwrap_err(),
        ),
        (
            "user_id",
            gl.create_token(TokenFor::User(0), &NewToken::new("n", ["api"]))
                .await
                .unwrap_err(),
        ),
        ("id", gl.get_token(0).await.unwrap_err()),
        ("id", gl.revoke_token(0).await.unwrap_err()),
        (
            "expires_at",
            gl.rotate_token(2, Some(yesterday)).await.unwrap_err(),
        ),
        (
            "expires_at",
            gl.rotate_self(Some(yesterday)).await.unwrap_err(),
        ),
        (
            "per_page",
            gl.list_tokens(&ListTokens::new().per_page(101))
                .await
                .unwrap_err(),
        ),
        (
            "page",
            gl.list_tokens(&ListTokens::new().page(0))
                .await
                .unwrap_err(),
        ),
    ];
    for (field, err) in cases {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{field}: {err}");
        assert_eq!(err.field(), Some(field), "{err}");
    }
    assert!(w.sim.requests().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_errors() {
    let w = world().await;
    let gl = GitLabClient::builder()
        .base_url(w.sim.uri())
        .token(SecretString::from(w.admin_token.clone()))
        .build()
        .unwrap();
    assert!(!format!("{gl:?}").contains(&w.admin_token));
    // A server that echoes a token value in an error: scrubbed from the message.
    w.sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 400,
            body: serde_json::json!({"message": format!("bad token {}", w.alice_token)}),
        })
        .times(1),
    );
    let err = gl.get_self().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&w.alice_token), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
    let created = gl
        .create_token(TokenFor::User(w.alice), &NewToken::new("n", ["api"]))
        .await
        .unwrap();
    let value = secrecy::ExposeSecret::expose_secret(&created.token).to_owned();
    assert!(!format!("{created:?} {:?}", created.pat).contains(&value));
}
