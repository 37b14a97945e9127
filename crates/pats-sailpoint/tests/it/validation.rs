//! Every validation rule rejects before any request (token requests included).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::client;
use pats_core::{
    CreateToken, ErrorKind, Expiry, ListQuery, NeverExpires, PersonalAccessTokens, TokenId,
};
use pats_sailpoint::{ApiVersion, NewToken, TokenPatch};
use pats_sim::sailpoint::SailPointSim;
use serde_json::json;
use std::time::Duration;
use time::OffsetDateTime;

fn days(n: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(n)
}

fn assert_invalid(result: pats_core::Result<impl std::fmt::Debug>, field: &str) {
    match result {
        Err(e) if e.kind() == ErrorKind::InvalidInput => {
            assert_eq!(e.field(), Some(field), "{e}");
        }
        other => panic!("expected InvalidInput for {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn typed_create_rules() {
    let sim = SailPointSim::start().await;
    for version in ApiVersion::ALL {
        let c = client(&sim, version);
        let ok_expiry = |t: NewToken| {
            if version.supports_never_expires() {
                t.expires_at(days(30))
            } else {
                t
            }
        };
        assert_invalid(c.create_token(&ok_expiry(NewToken::new(""))).await, "name");
        assert_invalid(
            c.create_token(&ok_expiry(NewToken::new("  "))).await,
            "name",
        );
        for s in [0, 14, 43_201, u32::MAX] {
            assert_invalid(
                c.create_token(&ok_expiry(
                    NewToken::new("n").access_token_validity_seconds(s),
                ))
                .await,
                "accessTokenValiditySeconds",
            );
        }
        assert_invalid(
            c.create_token(&NewToken::new("n").expires_at(days(-1)))
                .await,
            "expirationDate",
        );
        let far = NewToken::new("n").expires_at(days(200));
        let never = NewToken::new("n").never_expires(NeverExpires::I_UNDERSTAND_THE_RISK);
        if version.supports_never_expires() {
            // No cap; but omitting the date would make a never-expiring token unacknowledged.
            assert_invalid(c.create_token(&NewToken::new("n")).await, "expirationDate");
        } else {
            assert_invalid(c.create_token(&far).await, "expirationDate");
            assert_invalid(c.create_token(&never).await, "expirationDate");
        }
    }
    assert!(sim.requests().await.is_empty());
}

#[tokio::test]
async fn trait_create_rules() {
    let sim = SailPointSim::start().await;
    let v3 = client(&sim, ApiVersion::V3);
    let v2025 = client(&sim, ApiVersion::V2025);
    let req = |e: Expiry| CreateToken::builder().name("n").expiry(e).build().unwrap();
    assert_invalid(
        v3.create(
            &CreateToken::builder()
                .expiry(Expiry::ProviderDefault)
                .build()
                .unwrap(),
        )
        .await,
        "name",
    );
    // Through the trait, a version without never-expiring tokens says so as Unsupported,
    // like every provider that lacks them (the typed client's NewToken says InvalidInput).
    let err = v3
        .create(&req(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK)))
        .await
        .unwrap_err();
    assert_eq!(err.operation(), Some("never-expiring tokens"), "{err:?}");
    assert!(!v3.capabilities().never_expires);
    assert!(v2025.capabilities().never_expires);
    // Through the trait the field is the request's (`expiry`), checked by Capabilities.
    assert_invalid(
        v3.create(&req(Expiry::In(Duration::from_secs(200 * 86_400))))
            .await,
        "expiry",
    );
    assert_invalid(v3.create(&req(Expiry::At(days(-2)))).await, "expiry");
    assert_invalid(v2025.create(&req(Expiry::ProviderDefault)).await, "expiry");
    let for_other = CreateToken::builder()
        .name("n")
        .owner("someone-else")
        .expiry(Expiry::ProviderDefault)
        .build()
        .unwrap();
    assert_eq!(
        v3.create(&for_other).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_invalid(
        v3.list(&ListQuery::new().never_used().last_used_before(days(-1)))
            .await,
        "filters",
    );
    assert!(sim.requests().await.is_empty());
}

#[tokio::test]
async fn patch_rules() {
    let sim = SailPointSim::start().await;
    let id = TokenId::new("ef38f94347e94562b5bb8424a56397d8").unwrap();
    for version in [ApiVersion::V3, ApiVersion::Beta, ApiVersion::V2024] {
        let c = client(&sim, version);
        assert_invalid(
            c.patch_token(&id, &TokenPatch::new().expiration_date(days(10)))
                .await,
            "patch",
        );
        assert_invalid(
            c.patch_token(
                &id,
                &TokenPatch::new().never_expires(NeverExpires::I_UNDERSTAND_THE_RISK),
            )
            .await,
            "patch",
        );
    }
    let c = client(&sim, ApiVersion::V2025);
    assert_invalid(c.patch_token(&id, &TokenPatch::new()).await, "patch");
    assert_invalid(
        c.patch_token(&id, &TokenPatch::new().name("")).await,
        "patch",
    );
    assert_invalid(
        c.patch_token(&id, &TokenPatch::new().scope(Vec::<String>::new()))
            .await,
        "patch",
    );
    assert_invalid(
        c.patch_token(&id, &TokenPatch::new().expiration_date(days(-1)))
            .await,
        "patch",
    );
    let raw = |doc| serde_json::from_value::<json_patch::Patch>(doc).unwrap();
    for doc in [
        // never-expiring without the acknowledgement
        json!([{"op":"replace","path":"/expirationDate","value":null}]),
        json!([{"op":"remove","path":"/expirationDate"}]),
        // not patchable
        json!([{"op":"replace","path":"/owner","value":{"id":"x"}}]),
        json!([{"op":"replace","path":"/accessTokenValiditySeconds","value":60}]),
        json!([{"op":"add","path":"/scope/-","value":"idn:x"}]),
        json!([{"op":"replace","path":"/userAwareTokenNeverExpires","value":"yes"}]),
    ] {
        assert_invalid(c.patch_token_raw(&id, &raw(doc)).await, "patch");
    }
    assert!(sim.requests().await.is_empty());
}
