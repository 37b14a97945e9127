//! Delegated signing: init in one place, sign elsewhere, complete with the signed
//! assertion; the pending change crosses a process boundary as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use pats_core::{ErrorKind, TokenId, VirtualClock};
use pats_dfns::{
    ChangeKind, DfnsClient, NewPat, PatKeyPair, PatUpdate, PendingChange, SignedAssertion,
};
use pats_sim::dfns::RegisteredUser;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

/// A client with the user's auth token but no signer: it never holds the signing key.
fn delegating_client(env: &Env) -> DfnsClient {
    DfnsClient::builder()
        .base_url(env.sim.uri())
        .auth_token(SecretString::from(env.user.auth_token.clone()))
        .options(options(&VirtualClock::new()))
        .build()
        .unwrap()
}

/// The signer's side, in "another process": it gets the pending change as JSON and returns
/// the assertion as JSON.
async fn sign_elsewhere(user: &RegisteredUser, pending_json: &str) -> String {
    let pending: PendingChange = serde_json::from_str(pending_json).unwrap();
    let assertion = SignedAssertion::sign_with(&signer(user), pending.challenge())
        .await
        .unwrap();
    serde_json::to_string(&assertion).unwrap()
}

/// Round trip through JSON, as across a process boundary.
fn cross(pending: &PendingChange) -> (String, PendingChange) {
    let json = serde_json::to_string(pending).unwrap();
    let back: PendingChange = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, pending);
    (json, back)
}

#[tokio::test]
async fn every_change_round_trips_through_json_and_a_remote_signer() {
    let env = env().await;
    let client = delegating_client(&env);
    let pair = PatKeyPair::generate().unwrap();

    // create
    let pending = client
        .create_pat_init(
            &NewPat::new("delegated")
                .seconds_valid(600)
                .public_key_pem(pair.public_key_pem()),
        )
        .await
        .unwrap();
    assert_eq!(pending.kind(), ChangeKind::CreatePat);
    assert_eq!((pending.method(), pending.path()), ("POST", "/auth/pats"));
    let (json, back) = cross(&pending);
    let assertion: SignedAssertion =
        serde_json::from_str(&sign_elsewhere(&env.user, &json).await).unwrap();
    let created = client.create_pat_complete(&back, &assertion).await.unwrap();
    assert_eq!(created.pat.name, "delegated");
    assert!(created.private_key.is_none());
    assert!(env.sim.accepts_bearer(created.secret.expose_secret()));
    let requests = env.sim.received_requests().await;
    let (init, action, call) = (&requests[0], &requests[1], &requests[2]);
    assert_eq!(init.url.path(), "/auth/action/init");
    assert_eq!(action.url.path(), "/auth/action");
    assert_eq!(
        (call.method.as_str(), call.url.path()),
        ("POST", "/auth/pats")
    );
    // The bytes sent are the bytes signed at init, and the user action header is set.
    assert_eq!(
        body_json(init)["userActionPayload"]
            .as_str()
            .unwrap()
            .as_bytes(),
        call.body.as_slice()
    );
    assert_eq!(
        Some(std::str::from_utf8(&call.body).unwrap()),
        pending.body()
    );
    assert_eq!(header(call, "content-type"), Some("application/json"));
    assert!(header(call, "x-dfns-useraction").is_some_and(|v| !v.is_empty()));

    let id = TokenId::new(created.pat.token_id.clone()).unwrap();

    // update
    let pending = client
        .update_pat_init(&id, &PatUpdate::new().name("renamed"))
        .await
        .unwrap();
    let (json, back) = cross(&pending);
    let assertion = serde_json::from_str(&sign_elsewhere(&env.user, &json).await).unwrap();
    let pat = client.update_pat_complete(&back, &assertion).await.unwrap();
    assert_eq!(pat.name, "renamed");

    // deactivate, activate, delete
    let pending = client.deactivate_pat_init(&id).await.unwrap();
    assert_eq!(pending.body(), None);
    let (json, back) = cross(&pending);
    let assertion = serde_json::from_str(&sign_elsewhere(&env.user, &json).await).unwrap();
    assert!(
        !client
            .deactivate_pat_complete(&back, &assertion)
            .await
            .unwrap()
            .is_active
    );
    assert!(!env.sim.accepts_bearer(created.secret.expose_secret()));

    let pending = client.activate_pat_init(&id).await.unwrap();
    let (json, back) = cross(&pending);
    let assertion = serde_json::from_str(&sign_elsewhere(&env.user, &json).await).unwrap();
    assert!(
        client
            .activate_pat_complete(&back, &assertion)
            .await
            .unwrap()
            .is_active
    );

    let pending = client.delete_pat_init(&id).await.unwrap();
    let (json, back) = cross(&pending);
    let assertion = serde_json::from_str(&sign_elsewhere(&env.user, &json).await).unwrap();
    client.delete_pat_complete(&back, &assertion).await.unwrap();
    assert!(client.list_pats().await.unwrap().is_empty());

    let requests = env.sim.received_requests().await;
    let put = requests
        .iter()
        .find(|r| r.url.path().ends_with("/activate"))
        .unwrap();
    assert_eq!(header(put, "content-length"), Some("0"));
    let init = requests
        .iter()
        .rev()
        .find(|r| r.url.path() == "/auth/action/init")
        .unwrap();
    assert_eq!(body_json(init)["userActionPayload"], "");
    assert_eq!(body_json(init)["userActionHttpMethod"], "DELETE");
}

/// A create initiated and serialized; returns the JSON and how many requests the simulator
/// had received.
async fn initiated_create(env: &Env) -> (Value, usize) {
    let pair = PatKeyPair::generate().unwrap();
    let pending = delegating_client(env)
        .create_pat_init(&NewPat::new("original").public_key_pem(pair.public_key_pem()))
        .await
        .unwrap();
    let json = serde_json::to_value(&pending).unwrap();
    (json, env.sim.received_requests().await.len())
}

#[tokio::test]
async fn a_tampered_pending_change_is_refused_before_any_request() {
    let env = env().await;
    let client = delegating_client(&env);
    let (json, sent) = initiated_create(&env).await;
    let original: PendingChange = serde_json::from_value(json.clone()).unwrap();
    let assertion = SignedAssertion::sign_with(&signer(&env.user), original.challenge())
        .await
        .unwrap();

    let body = json["body"]
        .as_str()
        .unwrap()
        .replace("original", "attacker");
    let mut edits: Vec<(&str, Value)> = vec![
        ("body", Value::String(body)),
        ("path", Value::String("/auth/pats/to-1".into())),
        ("method", Value::String("PUT".into())),
        ("kind", Value::String("UpdatePat".into())),
    ];
    let mut other_challenge = json["challenge"].clone();
    other_challenge["challengeIdentifier"] = Value::String("eyJ.other.id".into());
    edits.push(("challenge", other_challenge));
    for (field, value) in edits {
        let mut tampered = json.clone();
        tampered[field] = value;
        let tampered: PendingChange = serde_json::from_value(tampered).unwrap();
        let err = client
            .create_pat_complete(&tampered, &assertion)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("pending_change"), "{field}: {err:?}");
    }
    // A pending change of another kind is refused by the other completions.
    let err = client
        .delete_pat_complete(&original, &assertion)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    assert_eq!(
        env.sim.received_requests().await.len(),
        sent,
        "nothing was sent"
    );
    assert!(env.sim.pats().is_empty());

    // Untouched, it goes through.
    client
        .create_pat_complete(&original, &assertion)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_assertion_for_another_challenge_or_credential_is_refused_before_sending() {
    let env = env().await;
    let client = delegating_client(&env);
    let (json, _) = initiated_create(&env).await;
    let pending: PendingChange = serde_json::from_value(json).unwrap();
    let (other, sent) = initiated_create(&env).await;
    let other: PendingChange = serde_json::from_value(other).unwrap();
    let for_other = SignedAssertion::sign_with(&signer(&env.user), other.challenge())
        .await
        .unwrap();
    let err = client
        .create_pat_complete(&pending, &for_other)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signing, "{err:?}");

    let data = pending.challenge().key_client_data();
    let unknown_credential = SignedAssertion::key("cr-unknown", &data, b"sig");
    let err = client
        .create_pat_complete(&pending, &unknown_credential)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signing, "{err:?}");
    assert_eq!(env.sim.received_requests().await.len(), sent);
}

#[tokio::test]
async fn a_wrong_signature_is_refused_by_the_simulator() {
    let env = env().await;
    let client = delegating_client(&env);
    let (json, _) = initiated_create(&env).await;
    let pending: PendingChange = serde_json::from_value(json).unwrap();
    // The right credential id and client data, signed with another key.
    let other = env.sim.register_user();
    let data = pending.challenge().key_client_data();
    let key = SigningKey::from_pkcs8_pem(&other.private_key_pem).unwrap();
    let signature: Signature = key.sign(&data);
    let forged = SignedAssertion::key(
        env.user.credential_id.clone(),
        &data,
        signature.to_der().as_bytes(),
    );
    match client.create_pat_complete(&pending, &forged).await {
        Err(e) if e.kind() == ErrorKind::Unauthenticated => {
            let e = e.api_error().unwrap();
            assert!(e.message.contains("invalid signature"), "{e}");
        }
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
    assert_eq!(env.sim.request_count("POST", "/auth/pats").await, 0);
    assert!(env.sim.pats().is_empty());
}

#[tokio::test]
async fn init_refuses_bad_input_and_a_generated_key_pair() {
    let env = env().await;
    let client = delegating_client(&env);
    for pat in [NewPat::new("no key"), NewPat::new("").public_key_pem("x")] {
        let err = client.create_pat_init(&pat).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    }
    let bad_id = TokenId::new("us-1").unwrap();
    assert!(client.delete_pat_init(&bad_id).await.is_err());
    assert!(
        client
            .update_pat_init(&TokenId::new("to-1").unwrap(), &PatUpdate::new())
            .await
            .is_err()
    );
    assert!(env.sim.received_requests().await.is_empty());
}

#[tokio::test]
async fn debug_shows_no_secret() {
    let env = env().await;
    let (json, _) = initiated_create(&env).await;
    let pending: PendingChange = serde_json::from_value(json.clone()).unwrap();
    let identifier = json["challenge"]["challengeIdentifier"].as_str().unwrap();
    assert!(identifier.len() > 20);
    let dbg = format!("{pending:?}");
    assert!(!dbg.contains(identifier), "{dbg}");
    assert!(dbg.contains("CreatePat"), "{dbg}");
    let assertion = SignedAssertion::sign_with(&signer(&env.user), pending.challenge())
        .await
        .unwrap();
    let signature = serde_json::to_value(&assertion).unwrap()["credentialAssertion"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let dbg = format!("{assertion:?}");
    assert!(!dbg.contains(&signature), "{dbg}");
}

/// A passkey's assertion of `challenge`, as `navigator.credentials.get` returns it:
/// clientDataJSON, authenticator data (SHA-256 of the rp id, flags, counter), and an ES256
/// signature over the authenticator data followed by SHA-256(clientDataJSON).
fn passkey_assertion(
    key: &SigningKey,
    credential_id: &str,
    rp_id: &str,
    challenge: &str,
) -> SignedAssertion {
    use sha2::Digest as _;
    let client_data = serde_json::to_vec(&serde_json::json!({
        "type": "webauthn.get",
        "challenge": challenge,
        "origin": "http://localhost",
        "crossOrigin": false,
    }))
    .unwrap();
    let mut authenticator_data = sha2::Sha256::digest(rp_id.as_bytes()).to_vec();
    authenticator_data.push(0x05); // user present, user verified
    authenticator_data.extend_from_slice(&7_u32.to_be_bytes());
    let mut signed = authenticator_data.clone();
    signed.extend_from_slice(&sha2::Sha256::digest(&client_data));
    let signature: Signature = key.sign(&signed);
    SignedAssertion::fido2(
        credential_id,
        &client_data,
        &authenticator_data,
        signature.to_der().as_bytes(),
        Some(b"user-handle"),
    )
}

#[tokio::test]
async fn a_passkey_assertion_completes_a_change() {
    let env = env().await;
    let client = delegating_client(&env);
    let passkey = p256::SecretKey::random(&mut rand_core::OsRng);
    let public_pem = {
        use p256::pkcs8::EncodePublicKey as _;
        passkey
            .public_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    };
    assert!(
        env.sim
            .add_webauthn_credential(&env.user.user_id, "cr-passkey", &public_pem)
    );
    let key = SigningKey::from(&passkey);
    let pair = PatKeyPair::generate().unwrap();

    let pending = client
        .create_pat_init(&NewPat::new("by-passkey").public_key_pem(pair.public_key_pem()))
        .await
        .unwrap();
    assert_eq!(
        pending.challenge().allowed_webauthn_credentials(),
        ["cr-passkey"]
    );
    let (_, pending) = cross(&pending);
    // The browser sends its assertion as the Dfns wire JSON.
    let assertion = passkey_assertion(
        &key,
        "cr-passkey",
        pats_sim::dfns::RP_ID,
        pending.challenge().challenge(),
    );
    let wire = serde_json::to_value(&assertion).unwrap();
    assert_eq!(wire["kind"], "Fido2");
    let assertion: SignedAssertion = serde_json::from_value(wire).unwrap();
    let created = client
        .create_pat_complete(&pending, &assertion)
        .await
        .unwrap();
    assert_eq!(created.pat.name, "by-passkey");
    let action = env
        .sim
        .received_requests()
        .await
        .into_iter()
        .find(|r| r.url.path() == "/auth/action")
        .unwrap();
    let factor = &body_json(&action)["firstFactor"];
    assert_eq!(factor["kind"], "Fido2");
    assert_eq!(factor["credentialAssertion"]["credId"], "cr-passkey");
    assert!(factor["credentialAssertion"]["authenticatorData"].is_string());

    // An assertion for another relying party is refused by the simulator.
    let id = TokenId::new(created.pat.token_id).unwrap();
    let pending = client.delete_pat_init(&id).await.unwrap();
    let wrong_rp = passkey_assertion(
        &key,
        "cr-passkey",
        "evil.example",
        pending.challenge().challenge(),
    );
    match client.delete_pat_complete(&pending, &wrong_rp).await {
        Err(e) if e.kind() == ErrorKind::Unauthenticated => {
            let e = e.api_error().unwrap();
            assert!(e.message.contains("another relying party"), "{e}");
        }
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
    assert_eq!(client.list_pats().await.unwrap().len(), 1);
}
