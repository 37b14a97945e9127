//! Bad input is refused before anything is sent; the simulator validates like the service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::*;
use pats_core::{
    CreateToken, ErrorKind, Expiry, ListQuery, NeverExpires, PersonalAccessTokens, Request, TokenId,
};
use pats_dfns::{NewPat, PatUpdate};
use serde_json::json;
use std::time::Duration;
use time::OffsetDateTime;

fn assert_invalid(result: pats_core::Result<impl std::fmt::Debug>, field: &str) {
    match result {
        Err(e) if e.kind() == ErrorKind::InvalidInput => assert_eq!(e.field(), Some(field)),
        other => panic!("expected InvalidInput for {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn typed_validation_sends_nothing() {
    let Env { sim, client, .. } = env().await;
    assert_invalid(client.create_pat(&NewPat::new("")).await, "name");
    assert_invalid(client.create_pat(&NewPat::new("   ")).await, "name");
    assert_invalid(
        client.create_pat(&NewPat::new("a").days_valid(0)).await,
        "daysValid",
    );
    assert_invalid(
        client.create_pat(&NewPat::new("a").seconds_valid(-5)).await,
        "secondsValid",
    );
    for key in [
        "not a key",
        "-----BEGIN PUBLIC KEY-----\n%%%\n-----END PUBLIC KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
    ] {
        assert_invalid(
            client
                .create_pat(&NewPat::new("a").public_key_pem(key))
                .await,
            "public_key",
        );
    }
    assert_invalid(
        client.create_pat(&NewPat::new("a").external_id("")).await,
        "externalId",
    );

    let malformed = TokenId::new("us-1234").unwrap();
    assert_invalid(client.get_pat(&malformed).await, "token_id");
    assert_invalid(
        client
            .update_pat(&malformed, &PatUpdate::new().name("x"))
            .await,
        "token_id",
    );
    assert_invalid(client.activate_pat(&malformed).await, "token_id");
    assert_invalid(client.deactivate_pat(&malformed).await, "token_id");
    assert_invalid(client.delete_pat(&malformed).await, "token_id");
    let good = TokenId::new("to-abc").unwrap();
    assert_invalid(
        client.update_pat(&good, &PatUpdate::new().name("")).await,
        "name",
    );
    assert_invalid(client.update_pat(&good, &PatUpdate::new()).await, "update");

    assert!(sim.received_requests().await.is_empty());
}

#[tokio::test]
async fn trait_mapping_refuses_what_dfns_does_not_offer() {
    let Env { sim, client, .. } = env().await;
    let pats: &dyn PersonalAccessTokens = &client;
    let never = CreateToken::builder()
        .name("a")
        .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
        .build()
        .unwrap();
    let err = pats.create(&never).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err:?}");
    assert_eq!(err.provider(), Some("dfns"));
    assert!(err.hint().unwrap().contains("expire"));
    let past = CreateToken::builder()
        .name("a")
        .expiry(Expiry::At(
            OffsetDateTime::now_utc() - time::Duration::hours(1),
        ))
        .build()
        .unwrap();
    assert_invalid(pats.create(&past).await, "expiry");
    let tiny = CreateToken::builder()
        .name("a")
        .expiry(Expiry::In(Duration::from_millis(300)))
        .build()
        .unwrap();
    assert_invalid(pats.create(&tiny).await, "expiry");
    let unnamed = CreateToken::builder()
        .expiry(Expiry::ProviderDefault)
        .build()
        .unwrap();
    assert_invalid(pats.create(&unnamed).await, "name");
    let two_scopes = CreateToken::builder()
        .name("a")
        .scopes(["p1", "p2"])
        .expiry(Expiry::ProviderDefault)
        .build()
        .unwrap();
    assert_invalid(pats.create(&two_scopes).await, "scopes");
    let for_other = CreateToken::builder()
        .name("a")
        .owner("us-x")
        .expiry(Expiry::ProviderDefault)
        .build()
        .unwrap();
    assert_eq!(
        pats.create(&for_other).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    for query in [
        ListQuery::new().owner("us-x"),
        ListQuery::new().never_used(),
        ListQuery::new().last_used_before(OffsetDateTime::now_utc()),
    ] {
        assert_eq!(
            pats.list(&query).await.unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
    assert!(sim.received_requests().await.is_empty());
}

#[tokio::test]
async fn the_simulator_validates_bodies_like_the_service() {
    let Env {
        sim, user, client, ..
    } = env().await;
    let create = |body: serde_json::Value| {
        client
            .signed(
                common::off_contract(Request::post("/auth/pats").segments(["auth", "pats"]))
                    .json(&body)
                    .unwrap()
                    .idempotent(false),
            )
            .unwrap()
    };
    let pem = user.public_key_pem.clone();
    for (body, needle) in [
        (
            json!({ "name": "a", "publicKey": pem, "extra": 1 }),
            "\"extra\" is not allowed",
        ),
        (json!({ "publicKey": pem }), "\"name\" is required"),
        (json!({ "name": "", "publicKey": pem }), "at least 1"),
        (json!({ "name": "a" }), "\"publicKey\" is required"),
        (json!({ "name": "a", "publicKey": "xyz" }), "PEM"),
        (
            json!({ "name": "a", "publicKey": pem, "daysValid": 0 }),
            "daysValid",
        ),
        (
            json!({ "name": "a", "publicKey": pem, "secondsValid": -1 }),
            "secondsValid",
        ),
        (
            json!({ "name": "a", "publicKey": pem, "secondsValid": "60" }),
            "secondsValid",
        ),
    ] {
        let err = client.send(create(body.clone())).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.status()),
            (ErrorKind::Api, Some(400)),
            "{body}: {err:?}"
        );
        let message = &err.api_error().unwrap().message;
        assert!(message.contains(needle), "{body}: {message}");
    }
    assert!(sim.pats().is_empty());

    let unknown = TokenId::new("to-nope").unwrap();
    assert_eq!(
        client.get_pat(&unknown).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        client.delete_pat(&unknown).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let created = client.create_pat(&NewPat::new("a")).await.unwrap();
    let id = TokenId::new(created.pat.token_id).unwrap();
    let update = client
        .signed(
            common::off_contract(Request::put("/auth/pats/{tokenId}").segments([
                "auth",
                "pats",
                id.as_str(),
            ]))
            .json(&json!({ "isActive": false }))
            .unwrap(),
        )
        .unwrap();
    assert!(matches!(
        client.send(update).await,
        Err(ref e) if e.kind() == ErrorKind::Api && e.status() == Some(400)
    ));
}
