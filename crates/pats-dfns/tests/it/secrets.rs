//! The auth token, access tokens and private keys never show in Debug, Display or errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use pats_core::{CreateToken, PersonalAccessTokens};
use pats_dfns::{DfnsClient, NewPat, P256Signer};
use pats_sim::{Fault, FaultRule};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// The base64 body of a PEM, the part that is secret.
fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn assert_absent(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!s.is_empty());
        assert!(!text.contains(s), "secret leaked into: {text}");
    }
}

#[tokio::test]
async fn secrets_stay_out_of_debug_display_and_errors() {
    let Env {
        sim, user, client, ..
    } = env().await;
    let key_line = pem_body(&user.private_key_pem)[..40].to_owned();
    let secrets_of_user = [user.auth_token.as_str(), key_line.as_str()];

    assert_absent(&format!("{client:?}"), &secrets_of_user);
    assert_absent(&format!("{:?}", signer(&user)), &secrets_of_user);
    assert_absent(&format!("{user:?}"), &secrets_of_user);
    let builder = DfnsClient::builder()
        .auth_token(SecretString::from(user.auth_token.clone()))
        .signer(signer(&user));
    assert_absent(&format!("{builder:?}"), &secrets_of_user);

    let created = client.create_pat(&NewPat::new("typed")).await.unwrap();
    let access = created.secret.expose_secret().to_owned();
    let pat_key = pem_body(created.private_key.as_ref().unwrap().expose_secret());
    assert_absent(&format!("{created:?}"), &[&access, &pat_key[..40]]);

    let pats: &dyn PersonalAccessTokens = &client;
    let neutral = pats
        .create(
            &CreateToken::builder()
                .name("neutral")
                .expiry(pats_core::Expiry::ProviderDefault)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let access2 = neutral.secret.expose_secret().to_owned();
    let key2 = pem_body(neutral.private_key.as_ref().unwrap().expose_secret());
    assert_absent(&format!("{neutral:?}"), &[&access2, &key2[..40]]);

    let pair = pats_dfns::PatKeyPair::generate().unwrap();
    let pair_key = pem_body(pair.private_key_pem().expose_secret());
    assert_absent(&format!("{pair:?}"), &[&pair_key[..40]]);

    // A service error that echoes the auth token and an access token.
    sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 401,
            body: json!({ "error": { "id": "er-1", "message": format!("bad token {} / {}", user.auth_token, access) } }),
        })
        .times(1),
    );
    let err = client.list_pats().await.unwrap_err();
    assert_absent(&err.to_string(), &[&user.auth_token, &access]);
    assert_absent(&format!("{err:?}"), &[&user.auth_token, &access]);

    // Signing errors do not quote keys.
    let wrong =
        P256Signer::from_pkcs8_pem("cr-x", &SecretString::from(user.private_key_pem.clone()))
            .unwrap();
    let client2 = DfnsClient::builder()
        .base_url(sim.uri())
        .auth_token(SecretString::from(user.auth_token.clone()))
        .signer(wrong)
        .build()
        .unwrap();
    let err = client2.create_pat(&NewPat::new("x")).await.unwrap_err();
    assert_absent(&err.to_string(), &secrets_of_user);
    assert_absent(&format!("{err:?}"), &secrets_of_user);
    let err = P256Signer::from_pkcs8_pem(
        "cr-x",
        &SecretString::from(user.private_key_pem.replace('A', "!")),
    )
    .unwrap_err();
    assert_absent(&format!("{err:?} {err}"), &[&key_line[..20]]);
}
