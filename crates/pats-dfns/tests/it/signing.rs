//! User Action Signing failures: each rejected with the right typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::*;
use async_trait::async_trait;
use pats_core::reexports::reqwest::header::{HeaderName, HeaderValue};
use pats_core::{ErrorKind, Request, TokenId};
use pats_dfns::{DfnsClient, NewPat, P256Signer, USER_ACTION_HEADER, UserActionSigner};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn created(env: &Env) -> TokenId {
    let pat = env.client.create_pat(&NewPat::new("orig")).await.unwrap();
    TokenId::new(pat.pat.token_id).unwrap()
}

fn update_request(id: &TokenId, body: &serde_json::Value, token: &SecretString) -> Request {
    Request::put("/auth/pats/{tokenId}")
        .segments(["auth", "pats", id.as_str()])
        .json(body)
        .unwrap()
        .header(
            HeaderName::from_static(USER_ACTION_HEADER),
            HeaderValue::from_str(token.expose_secret()).unwrap(),
        )
}

#[tokio::test]
async fn a_body_tampered_after_signing_is_unauthenticated() {
    let env = env().await;
    let id = created(&env).await;
    let path = format!("/auth/pats/{id}");
    let signed = serde_json::to_vec(&json!({ "name": "signed" })).unwrap();
    let token = env.client.user_action("PUT", &path, &signed).await.unwrap();
    let tampered = json!({ "name": "tampered" });
    let err = env
        .client
        .send(update_request(&id, &tampered, &token))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err:?}");
    let e = err.api_error().unwrap();
    assert!(e.message.contains("payload"), "{e}");
    assert_eq!(env.client.get_pat(&id).await.unwrap().name, "orig");
}

#[tokio::test]
async fn a_user_action_is_single_use() {
    let env = env().await;
    let id = created(&env).await;
    let path = format!("/auth/pats/{id}");
    let body = json!({ "name": "once" });
    let token = env
        .client
        .user_action("PUT", &path, &serde_json::to_vec(&body).unwrap())
        .await
        .unwrap();
    env.client
        .send(update_request(&id, &body, &token))
        .await
        .unwrap();
    assert_eq!(env.client.get_pat(&id).await.unwrap().name, "once");
    let err = env
        .client
        .send(update_request(&id, &body, &token))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err:?}");
    let e = err.api_error().unwrap();
    assert!(e.message.contains("already used"), "{e}");
}

#[tokio::test]
async fn a_wrong_method_or_path_is_unauthenticated() {
    let env = env().await;
    let id = created(&env).await;
    let body = json!({ "name": "x" });
    let bytes = serde_json::to_vec(&body).unwrap();
    let token = env
        .client
        .user_action("PUT", "/auth/pats/to-other", &bytes)
        .await
        .unwrap();
    assert!(matches!(
        env.client.send(update_request(&id, &body, &token)).await,
        Err(ref e) if e.kind() == ErrorKind::Unauthenticated
    ));
    let token = env
        .client
        .user_action("POST", &format!("/auth/pats/{id}"), &bytes)
        .await
        .unwrap();
    assert!(matches!(
        env.client.send(update_request(&id, &body, &token)).await,
        Err(ref e) if e.kind() == ErrorKind::Unauthenticated
    ));
    // Without any user action.
    let unsigned = common::off_contract(Request::put("/auth/pats/{tokenId}").segments([
        "auth",
        "pats",
        id.as_str(),
    ]))
    .json(&body)
    .unwrap();
    assert!(
        matches!(env.client.send(unsigned).await, Err(ref e) if e.kind() == ErrorKind::Unauthenticated)
    );
}

#[tokio::test]
async fn a_credential_id_not_allowed_fails_before_auth_action() {
    let env = env().await;
    let wrong = P256Signer::from_pkcs8_pem(
        "cr-not-registered",
        &SecretString::from(env.user.private_key_pem.clone()),
    )
    .unwrap();
    let client = DfnsClient::builder()
        .base_url(env.sim.uri())
        .auth_token(SecretString::from(env.user.auth_token.clone()))
        .signer(wrong)
        .build()
        .unwrap();
    let err = client.create_pat(&NewPat::new("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signing, "{err:?}");
    let message = err.to_string();
    assert!(message.contains("cr-not-registered"), "{message}");
    assert!(message.contains(&env.user.credential_id), "{message}");
    assert_eq!(calls(&env.sim).await, [pair("POST", "/auth/action/init")]);
}

#[tokio::test]
async fn a_signature_by_another_key_is_unauthenticated() {
    let env = env().await;
    let other = env.sim.register_user();
    // The right credential id, but the other user's key.
    let forged = P256Signer::from_pkcs8_pem(
        env.user.credential_id.clone(),
        &SecretString::from(other.private_key_pem.clone()),
    )
    .unwrap();
    let client = DfnsClient::builder()
        .base_url(env.sim.uri())
        .auth_token(SecretString::from(env.user.auth_token.clone()))
        .signer(forged)
        .build()
        .unwrap();
    let err = client.create_pat(&NewPat::new("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err:?}");
    let e = err.api_error().unwrap();
    assert!(e.message.contains("invalid signature"), "{e}");
    assert_eq!(
        calls(&env.sim).await,
        [
            pair("POST", "/auth/action/init"),
            pair("POST", "/auth/action")
        ]
    );
}

/// A signer that could sit in front of an HSM: delegates, and counts.
#[derive(Debug)]
struct CountingSigner {
    inner: P256Signer,
    calls: AtomicUsize,
}

#[async_trait]
impl UserActionSigner for CountingSigner {
    fn credential_id(&self) -> &str {
        self.inner.credential_id()
    }

    async fn sign(&self, client_data: &[u8]) -> pats_core::Result<Vec<u8>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.sign(client_data).await
    }
}

#[tokio::test]
async fn a_custom_signer_is_used_for_every_change() {
    let env = env().await;
    let custom = Arc::new(CountingSigner {
        inner: signer(&env.user),
        calls: AtomicUsize::new(0),
    });
    let client = DfnsClient::builder()
        .base_url(env.sim.uri())
        .auth_token(SecretString::from(env.user.auth_token.clone()))
        .signer_arc(custom.clone())
        .build()
        .unwrap();
    let pat = client.create_pat(&NewPat::new("hsm")).await.unwrap();
    let id = TokenId::new(pat.pat.token_id).unwrap();
    client.deactivate_pat(&id).await.unwrap();
    client.delete_pat(&id).await.unwrap();
    assert_eq!(custom.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn without_a_signer_changes_fail_before_sending() {
    let env = env().await;
    let client = DfnsClient::builder()
        .base_url(env.sim.uri())
        .auth_token(SecretString::from(env.user.auth_token.clone()))
        .build()
        .unwrap();
    assert!(client.list_pats().await.unwrap().is_empty());
    let err = client.create_pat(&NewPat::new("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signing, "{err:?}");
    assert_eq!(calls(&env.sim).await, [pair("GET", "/auth/pats")]);
}

/// A user whose credential is the caller's own key (registered by its public key only, as
/// the emulator's `POST /_pats_sim/users` does for an official SDK's signer): a client
/// signing with that key creates a token, and one signing with another key is refused.
#[tokio::test]
async fn a_user_registered_with_its_own_public_key_signs_with_it() {
    let sim = pats_sim::dfns::DfnsSim::start().await;
    let pair = pats_dfns::PatKeyPair::generate().unwrap();
    let (private, public) = pair.into_parts();
    let (user_id, auth_token) = sim
        .register_user_with_credential("cr-own-key", &public)
        .unwrap();
    assert!(user_id.starts_with("us-"), "{user_id}");
    let clock = pats_core::VirtualClock::new();
    let own = DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(SecretString::from(auth_token.clone()))
        .signer(P256Signer::from_pkcs8_pem("cr-own-key", &private).unwrap())
        .options(options(&clock))
        .build()
        .unwrap();
    let created = own.create_pat(&NewPat::new("own-key")).await.unwrap();
    assert_eq!(created.pat.name, "own-key");

    let stranger = pats_dfns::PatKeyPair::generate().unwrap();
    let other = DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(SecretString::from(auth_token))
        .signer(P256Signer::from_pkcs8_pem("cr-own-key", stranger.private_key_pem()).unwrap())
        .options(options(&clock))
        .build()
        .unwrap();
    let err = other
        .create_pat(&NewPat::new("not-mine"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");

    assert!(sim.register_user_with_credential("", &public).is_none());
    assert!(
        sim.register_user_with_credential("cr-x", "not a key")
            .is_none()
    );
}
