//! The whole life of a PAT against the simulator, typed and through the neutral trait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use pats_core::{
    CreateToken, ErrorKind, Expiration, Expiry, ListQuery, PersonalAccessTokens,
    PersonalAccessTokensExt, TokenId,
};
use pats_dfns::{DfnsClient, NewPat, Pat, PatKeyPair, PatKind, PatUpdate};
use pats_sim::{Fault, FaultRule};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn typed_create_list_get_update_deactivate_activate_delete() {
    let Env {
        sim, user, client, ..
    } = env().await;

    let created = client
        .create_pat(&NewPat::new("ci").days_valid(30).external_id("ext-1"))
        .await
        .unwrap();
    let pat = &created.pat;
    assert!(pat.token_id.starts_with("to-"));
    assert_eq!(pat.name, "ci");
    assert!(pat.is_active);
    assert_eq!(pat.kind, PatKind::Pat);
    assert_eq!(pat.linked_user_id.as_deref(), Some(user.user_id.as_str()));
    assert_eq!(pat.org_id.as_deref(), Some(sim.org_id().as_str()));
    let private_key = created.private_key.as_ref().expect("generated key pair");
    assert!(
        private_key
            .expose_secret()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let id = TokenId::new(pat.token_id.clone()).unwrap();

    let listed = client.list_pats().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].token_id, pat.token_id);
    let got = client.get_pat(&id).await.unwrap();
    assert_eq!(&got, pat);

    let updated = client
        .update_pat(&id, &PatUpdate::new().name("ci-2"))
        .await
        .unwrap();
    assert_eq!(updated.name, "ci-2");
    assert_eq!(client.get_pat(&id).await.unwrap().name, "ci-2");

    // The access token works as a bearer token until the PAT is deactivated.
    let token = created.secret.expose_secret().to_owned();
    assert!(sim.accepts_bearer(&token));
    assert!(!client.deactivate_pat(&id).await.unwrap().is_active);
    assert!(!client.get_pat(&id).await.unwrap().is_active);
    assert!(!sim.accepts_bearer(&token));
    assert!(client.activate_pat(&id).await.unwrap().is_active);
    assert!(sim.accepts_bearer(&token));

    client.delete_pat(&id).await.unwrap();
    assert!(client.list_pats().await.unwrap().is_empty());
    assert!(matches!(client.get_pat(&id).await, Err(ref e) if e.kind() == ErrorKind::NotFound));
    assert!(!sim.accepts_bearer(&token));
    assert_eq!(sim.pats()[0]["deleted"], true);
}

#[tokio::test]
async fn the_new_access_token_reads_but_cannot_create_pats() {
    let Env {
        sim,
        user,
        client,
        clock,
    } = env().await;
    let created = client.create_pat(&NewPat::new("reader")).await.unwrap();
    let as_pat = DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(created.secret)
        .signer(signer(&user))
        .options(options(&clock))
        .build()
        .unwrap();
    assert_eq!(as_pat.list_pats().await.unwrap().len(), 1);
    let err = as_pat.create_pat(&NewPat::new("nope")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");
    let e = err.api_error().unwrap().clone();
    assert_eq!(e.status, 403);
    assert!(
        e.message.contains("Personal Access Token not allowed"),
        "{e}"
    );
    assert_eq!(sim.pats().len(), 1);
}

#[tokio::test]
async fn trait_lifecycle_and_capabilities() {
    let Env { sim, client, .. } = env().await;
    let pats: &dyn PersonalAccessTokens = &client;
    assert_eq!(pats.provider(), "dfns");
    let caps = pats.capabilities();
    assert!(caps.rename && caps.set_active && caps.names() && caps.scopes);
    assert!(!caps.never_expires && !caps.pagination && !caps.create_for_owner);
    assert!(!caps.list_filters.owner);

    let request = CreateToken::builder()
        .name("deploy")
        .scope("pm-42")
        .expiry(Expiry::In(Duration::from_secs(7200)))
        .build()
        .unwrap();
    let created = pats.create(&request).await.unwrap();
    assert!(created.private_key.is_some());
    assert!(!created.secret.expose_secret().is_empty());
    let info = &created.info;
    assert_eq!(info.name.as_deref(), Some("deploy"));
    assert_eq!(info.active, Some(true));
    // The expiry is the access token's `exp` claim, which the simulator sets from
    // `secondsValid`; listed and fetched PATs do not say (Reported::WhenCreated).
    let expires = info.expires.at().expect("the created token's exp");
    let lifetime = (expires - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((7100..=7200).contains(&lifetime), "{lifetime}");
    assert_eq!(caps.expiry, pats_core::Reported::WhenCreated);
    assert!(!caps.reports_expiry());
    assert_eq!(info.scopes, ["pm-42"]);
    assert!(info.created.is_some());
    assert!(info.details.get::<Pat>().is_some());
    let sent = sim
        .received_requests()
        .await
        .into_iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/auth/pats")
        .unwrap();
    let body = body_json(&sent);
    assert_eq!(body["secondsValid"], 7200);
    assert_eq!(body["permissionId"], "pm-42");
    assert!(body.get("daysValid").is_none());

    let id = info.id.clone();
    let listed = pats.list(&ListQuery::new()).await.unwrap().items;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].expires, Expiration::Unknown);
    assert_eq!(pats.get(&id).await.unwrap().expires, Expiration::Unknown);
    assert_eq!(
        pats.find_by_name("deploy", &ListQuery::new())
            .await
            .unwrap()
            .len(),
        1
    );
    let renamed = pats.rename(&id, "deploy-2").await.unwrap();
    assert_eq!(renamed.name.as_deref(), Some("deploy-2"));
    assert_eq!(
        pats.set_active(&id, false).await.unwrap().active,
        Some(false)
    );
    assert_eq!(pats.set_active(&id, true).await.unwrap().active, Some(true));
    assert_eq!(
        pats.get(&id).await.unwrap().name.as_deref(),
        Some("deploy-2")
    );

    // Rotation: new token first, old one deleted.
    let pending = pats.rotate(&id, &request).await.unwrap();
    assert_eq!(pats.list_all(&ListQuery::new()).await.unwrap().len(), 2);
    let rotation = pending.finish(pats).await;
    rotation.revoked.unwrap();
    let all = pats.list_all(&ListQuery::new()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, rotation.new.id);
    pats.revoke(&all[0].id).await.unwrap();
    assert!(matches!(pats.revoke(&all[0].id).await, Err(ref e) if e.kind() == ErrorKind::NotFound));
}

#[tokio::test]
async fn policy_pending_202_is_its_own_outcome() {
    let Env { sim, client, .. } = env().await;
    let created = client.create_pat(&NewPat::new("a")).await.unwrap();
    let id = TokenId::new(created.pat.token_id).unwrap();
    sim.require_approval("PUT", "/deactivate", "ap-123", 1);
    let err = client.deactivate_pat(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PendingApproval, "{err:?}");
    assert_eq!(err.provider(), Some("dfns"));
    assert_eq!(err.approval_id(), Some("ap-123"));
    assert_eq!(err.details().unwrap()["status"], "Pending");
    assert!(client.get_pat(&id).await.unwrap().is_active);
    // Only that once: the next attempt goes through.
    assert!(!client.deactivate_pat(&id).await.unwrap().is_active);
}

#[tokio::test]
async fn duplicate_external_id_is_already_exists() {
    let Env {
        sim: _sim, client, ..
    } = env().await;
    client
        .create_pat(&NewPat::new("a").external_id("same"))
        .await
        .unwrap();
    let err = client
        .create_pat(&NewPat::new("b").external_id("same"))
        .await
        .unwrap_err();
    assert!(
        (err.kind(), err.status()) == (ErrorKind::AlreadyExists, Some(409)),
        "{err:?}"
    );
}

#[tokio::test]
async fn caller_supplied_public_key_is_sent_as_is() {
    let Env { sim, client, .. } = env().await;
    let pair = PatKeyPair::generate().unwrap();
    let created = client
        .create_pat(&NewPat::new("own-key").public_key_pem(pair.public_key_pem()))
        .await
        .unwrap();
    assert!(created.private_key.is_none());
    assert_eq!(
        sim.pats()[0]["publicKey"].as_str().unwrap(),
        pair.public_key_pem().trim()
    );
    // A create waiting for approval: nothing stored, and the caller still has the key.
    sim.require_approval("POST", "/auth/pats", "ap-9", 1);
    let err = client
        .create_pat(&NewPat::new("governed").public_key_pem(pair.public_key_pem()))
        .await
        .unwrap_err();
    assert_eq!(err.approval_id(), Some("ap-9"), "{err:?}");
    assert_eq!(sim.pats().len(), 1);
}

#[tokio::test]
async fn errors_keep_the_provider_id_message_and_retry_after() {
    let Env {
        sim, client, clock, ..
    } = env().await;
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 404,
            body: json!({ "error": { "id": "er-77", "status": 404, "message": "Token not found" } }),
        })
        .times(1),
    );
    let id = TokenId::new("to-abc").unwrap();
    let err = client.get_pat(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    let e = err.api_error().unwrap().clone();
    assert_eq!(e.code.as_deref(), Some("er-77"));
    assert_eq!(e.message, "Token not found");
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 500,
            body: json!({ "message": "flat message" }),
        })
        .times(1),
    );
    let err = client.list_pats().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err:?}");
    let pats_core::ApiError {
        status, message, ..
    } = err.api_error().unwrap().clone();
    assert_eq!(status, 500);
    assert_eq!(message, "flat message");
    // 429 on a read: retried after Retry-After, then succeeds.
    sim.faults().inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(2),
        })
        .times(1),
    );
    assert!(client.list_pats().await.unwrap().is_empty());
    assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
    // 429 on a create: never retried, typed.
    sim.faults().inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(3),
        })
        .method("POST")
        .path_contains("/auth/pats"),
    );
    let err = client.create_pat(&NewPat::new("x")).await.unwrap_err();
    assert!(
        (err.kind(), err.retry_after()) == (ErrorKind::RateLimited, Some(Duration::from_secs(3))),
        "{err:?}"
    );
    assert_eq!(sim.request_count("POST", "/auth/pats").await, 1);
    // Unauthenticated with a wrong auth token.
    let bad = DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(SecretString::from("wrong-token"))
        .build()
        .unwrap();
    assert!(matches!(bad.list_pats().await, Err(ref e) if e.kind() == ErrorKind::Unauthenticated));
}

#[tokio::test]
async fn a_create_is_never_sent_twice() {
    let Env { sim, client, .. } = env().await;
    sim.faults().inject(
        FaultRule::new(Fault::status(503))
            .method("POST")
            .path_contains("/auth/pats")
            .times(1),
    );
    let err = client.create_pat(&NewPat::new("x")).await.unwrap_err();
    assert!(
        (err.kind(), err.status()) == (ErrorKind::Api, Some(503)),
        "{err:?}"
    );
    assert_eq!(sim.request_count("POST", "/auth/pats").await, 1);
    assert!(sim.pats().is_empty());
}

#[tokio::test]
async fn injected_latency_past_the_timeout_is_a_timeout() {
    let sim = pats_sim::dfns::DfnsSim::start().await;
    let user = sim.register_user();
    let client = DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(SecretString::from(user.auth_token.clone()))
        .signer(signer(&user))
        .timeout(Duration::from_millis(300))
        .retry(pats_core::RetryPolicy::none())
        .build()
        .unwrap();
    sim.faults().inject(
        FaultRule::new(Fault::Delay(Duration::from_secs(3)))
            .method("POST")
            .path_contains("/auth/pats")
            .times(1),
    );
    let err = client.create_pat(&NewPat::new("slow")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert_eq!(sim.request_count("POST", "/auth/pats").await, 1);
}
