//! Rotation against the simulator: the old token stops working at once, and reusing a
//! revoked token in a rotation revokes its family.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{client, world};
use pats_core::ErrorKind;
use pats_gitlab::{NewToken, TokenFor};
use secrecy::ExposeSecret;

#[tokio::test]
async fn the_old_token_gets_401_after_rotation() {
    let w = world().await;
    let admin = client(&w.sim, &w.admin_token);
    let created = admin
        .create_token(TokenFor::User(w.alice), &NewToken::new("ci", ["api"]))
        .await
        .unwrap();
    let old = client(&w.sim, created.token.expose_secret());
    assert_eq!(old.get_self().await.unwrap().id, created.pat.id);
    let rotated = admin
        .rotate_token(created.pat.id as u64, None)
        .await
        .unwrap();
    let err = old.get_self().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let old_view = admin.get_token(created.pat.id as u64).await.unwrap();
    assert!(old_view.revoked && !old_view.active);
    let new = client(&w.sim, rotated.token.expose_secret());
    let me = new.get_self().await.unwrap();
    assert_eq!(
        (me.id, me.name.as_str(), me.scopes.clone()),
        (rotated.pat.id, "ci", vec!["api".to_owned()])
    );
}

#[tokio::test]
async fn rotating_a_revoked_token_revokes_its_family() {
    let w = world().await;
    let admin = client(&w.sim, &w.admin_token);
    let created = admin
        .create_token(TokenFor::User(w.alice), &NewToken::new("ci", ["api"]))
        .await
        .unwrap();
    let first = created.pat.id as u64;
    let second = admin.rotate_token(first, None).await.unwrap();
    // The leaked first token is presented again for rotation: 401, and the live second
    // token is revoked too.
    let err = admin.rotate_token(first, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(w.sim.stored_token(second.pat.id as u64).unwrap().revoked);
    let err = client(&w.sim, second.token.expose_secret())
        .get_self()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
}
