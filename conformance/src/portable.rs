//! The "portable programs" group: the ordinary programs of
//! `crates/pats/examples/portable/programs.rs` (the rotation README.md links to among
//! them), run unchanged on every provider's simulator, and every
//! [`Capabilities`] field checked against what the provider then does.

use crate::programs::{Finding, ci_token_lifecycle, expiry_audit, rotate_ci_token};
use crate::{DefaultExpiry, Harness, assert_revoked};
use pats::reexports::secrecy::{ExposeSecret, SecretString};
use pats::reexports::time::{self, OffsetDateTime};
use pats::{
    Capabilities, CreateToken, CreatedToken, DefaultLifetime, Error, ErrorKind, Expiration, Expiry,
    ListQuery, Naming, NeverExpires, PersonalAccessTokensExt, Reported, TokenInfo,
};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

fn days(n: u32) -> Expiry {
    Expiry::In(n * DAY)
}

fn named(name: &str, expiry: Expiry) -> CreateToken {
    CreateToken::builder()
        .name(name)
        .expiry(expiry)
        .build()
        .unwrap()
}

fn secret_of(created: &CreatedToken) -> Vec<String> {
    let mut out = vec![created.secret.expose_secret().to_owned()];
    out.extend(
        created
            .private_key
            .iter()
            .map(|k| k.expose_secret().to_owned()),
    );
    out
}

/// `expires` is about `now + lifetime` (within a minute, or up to the provider's
/// [`expiry_resolution`](pats::Capabilities::expiry_resolution) later).
fn assert_expires_in(caps: &Capabilities, expires: Expiration, lifetime: Duration, what: &str) {
    let expected = OffsetDateTime::now_utc() + time::Duration::try_from(lifetime).unwrap();
    let late = i64::try_from(caps.expiry_resolution.as_secs()).unwrap();
    match expires {
        Expiration::At(at) => assert!(
            (-60..=late + 60).contains(&(at - expected).whole_seconds()),
            "{what}: expires {at}, expected about {expected}"
        ),
        other => panic!("{what}: expires {other:?}, expected about {expected}"),
    }
}

/// The rotation README.md links to (`rotate_ci_token`), on a provider holding one token
/// named `ci-deploy`: afterwards that name holds exactly one new token, about 30 days long, and the old one is gone.
pub async fn readme_rotate_by_name<H: Harness>(h: &H) -> Vec<String> {
    h.provide_name("ci-deploy");
    let pats = h.portable_client();
    let caps = pats.capabilities();
    let old = pats.create(&named("ci-deploy", days(10))).await.unwrap();
    let seen = secret_of(&old);
    let creates = h.creates_received().await;

    rotate_ci_token(pats.as_ref()).await.unwrap();

    assert_eq!(h.creates_received().await, creates + 1, "one new token");
    let now_named = pats
        .find_by_name("ci-deploy", &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(now_named.len(), 1, "{now_named:?}");
    let new = &now_named[0];
    assert_ne!(new.id, old.info.id);
    assert_eq!(new.name.as_deref(), Some("ci-deploy"));
    let lifetime = caps.fit_lifetime(30 * DAY);
    if caps.reports_expiry() {
        assert_expires_in(&caps, new.expires, lifetime, "the rotated token");
    }
    if h.default_expiry() != DefaultExpiry::NotReported {
        assert_expires_in(&caps, h.stored_expiry(&new.id).await, lifetime, "stored");
    }
    assert_revoked(pats.as_ref(), &old.info.id, "the rotated token").await;
    seen
}

/// "Create a 30-day CI token, store its secret, list, find it again, rotate it, revoke the
/// old one": the stored secrets are the created ones, the current one works and the first
/// one is gone.
pub async fn ci_token_lifecycle_30_days<H: Harness>(h: &H) -> Vec<String> {
    h.provide_name("ci");
    let pats = h.portable_client();
    let mut vault: Vec<(TokenInfo, SecretString)> = Vec::new();
    let run = ci_token_lifecycle(pats.as_ref(), "ci", &mut |info, secret| {
        vault.push((info.clone(), secret.clone()));
    })
    .await
    .unwrap();
    assert!(run.listed, "the created token is listed");
    assert!(run.found, "the created token is found by its name");
    assert_eq!(vault.len(), 2, "both secrets were stored");
    assert_eq!(vault[0].0.id, run.first);
    assert_eq!(vault[1].0.id, run.current.id);
    assert_eq!(run.current.name.as_deref(), Some("ci"));
    let seen: Vec<String> = vault
        .iter()
        .map(|(_, s)| s.expose_secret().to_owned())
        .collect();
    assert_ne!(seen[0], seen[1]);
    let current = CreatedToken::new(run.current.clone(), vault[1].1.clone());
    assert!(h.secret_works(&current).await, "the stored secret works");
    assert_revoked(pats.as_ref(), &run.first, "the old token").await;
    let caps = pats.capabilities();
    let lifetime = caps.fit_lifetime(30 * DAY);
    if h.default_expiry() != DefaultExpiry::NotReported {
        assert_expires_in(
            &caps,
            h.stored_expiry(&run.current.id).await,
            lifetime,
            "stored",
        );
    }
    seen
}

/// The audit finds the token expiring within 14 days and the never-expiring one, leaves the
/// 60-day one out, and reports as not judgeable every token whose provider does not say.
pub async fn expiry_audit_reports_every_token<H: Harness>(h: &H) -> Vec<String> {
    for name in ["audit-soon", "audit-later", "audit-forever"] {
        h.provide_name(name);
    }
    let pats = h.portable_client();
    let caps = pats.capabilities();
    let soon = pats.create(&named("audit-soon", days(5))).await.unwrap();
    let later = pats.create(&named("audit-later", days(60))).await.unwrap();
    let mut seen = secret_of(&soon);
    seen.extend(secret_of(&later));
    let forever = if caps.never_expires {
        let never = Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK);
        let created = pats.create(&named("audit-forever", never)).await.unwrap();
        seen.extend(secret_of(&created));
        Some(created)
    } else {
        None
    };
    // Where expiry is known at creation, the created token says so.
    if caps.expiry != Reported::No {
        assert_expires_in(&caps, soon.info.expires, 5 * DAY, "created");
    }

    let lines = expiry_audit(&[pats.as_ref()], 14 * DAY).await.unwrap();
    let finding = |id| lines.iter().find(|l| &l.id == id).map(|l| &l.finding);
    assert!(lines.iter().all(|l| l.provider == pats.provider()));
    if caps.reports_expiry() {
        match finding(&soon.info.id) {
            Some(Finding::Expiring(at)) => {
                assert_expires_in(&caps, Expiration::At(*at), 5 * DAY, "audit")
            }
            other => panic!("the 5-day token: {other:?}"),
        }
        assert_eq!(finding(&later.info.id), None, "the 60-day token is fine");
        if let Some(f) = &forever {
            assert_eq!(finding(&f.info.id), Some(&Finding::NeverExpires));
        }
    } else {
        // Nothing can be judged, and nothing is silently dropped.
        for t in [&soon, &later].into_iter().chain(&forever) {
            assert_eq!(finding(&t.info.id), Some(&Finding::CannotJudge));
        }
    }
    // Exactly the listed tokens that expire within 14 days, never, or cannot be judged
    // (other tokens of the tenant included, such as the caller's own never-expiring one).
    let horizon = OffsetDateTime::now_utc() + time::Duration::days(14);
    let mut expected: Vec<_> = pats
        .list_all(&ListQuery::new())
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.expires.at().is_none_or(|at| at <= horizon))
        .map(|t| t.id)
        .collect();
    let mut reported: Vec<_> = lines.iter().map(|l| l.id.clone()).collect();
    expected.sort();
    reported.sort();
    assert_eq!(reported, expected, "{lines:?}");
    seen
}

fn refused_field(err: &Error) -> String {
    match err.field() {
        Some(field) => field.to_owned(),
        None => panic!("expected InvalidInput, got {err:?}"),
    }
}

/// Every `Capabilities` field a portable program decides on agrees with what the provider
/// does: what it says is refused is refused before anything is sent, what it says works
/// works, and what it says is reported is reported.
pub async fn capabilities_match_behaviour<H: Harness>(h: &H) -> Vec<String> {
    for name in ["caps", "caps-default", "caps-fitted", "caps-90"] {
        h.provide_name(name);
    }
    let pats = h.portable_client();
    let caps = pats.capabilities();
    assert_eq!(caps.provider, pats.provider());
    let mut seen = Vec::new();

    // Each refused request is refused by check_create and by create alike, unsent.
    let refused = |request: CreateToken| {
        let pats = &pats;
        async move {
            let before = h.creates_received().await;
            let by_caps = pats.capabilities().check_create(&request).unwrap_err();
            let err = pats.create(&request).await.unwrap_err();
            assert_eq!(err.kind(), by_caps.kind(), "{err} / {by_caps}");
            assert_eq!(h.creates_received().await, before, "nothing sent: {err}");
            err
        }
    };
    let accepted = |request: CreateToken| {
        let pats = &pats;
        async move {
            pats.capabilities().check_create(&request).unwrap();
            pats.create(&request).await.unwrap()
        }
    };

    // Names.
    let created = match caps.naming {
        Naming::None => {
            let err = refused(named("caps", days(1))).await;
            assert_eq!(refused_field(&err), "name");
            None
        }
        _ => {
            let created = accepted(named("caps", days(1))).await;
            assert_eq!(created.info.name.as_deref(), Some("caps"));
            let got = pats.get(&created.info.id).await.unwrap();
            assert_eq!(got.name.as_deref(), Some("caps"), "the name is kept");
            Some(created)
        }
    };
    let created = created.expect("every provider keeps names");
    seen.extend(secret_of(&created));
    let again = pats.create(&named("caps", days(1))).await;
    if caps.unique_names {
        let err = again.unwrap_err();
        assert_eq!(
            err.status(),
            Some(400),
            "the provider refuses a taken name: {err}"
        );
    } else {
        seen.extend(secret_of(&again.unwrap()));
    }
    let unnamed = CreateToken::builder().expiry(days(1)).build().unwrap();
    if caps.requires_name {
        assert_eq!(refused_field(&refused(unnamed.clone()).await), "name");
    } else if caps.requires_owner {
        assert_eq!(refused_field(&refused(unnamed.clone()).await), "owner");
    } else {
        seen.extend(secret_of(&accepted(unnamed.clone()).await));
    }

    // Owners.
    if !caps.create_for_owner {
        let other = CreateToken::builder()
            .name("caps")
            .owner("someone-else")
            .expiry(days(1))
            .build()
            .unwrap();
        assert_eq!(refused(other).await.kind(), ErrorKind::Unsupported);
    }

    // Scopes.
    let scoped = |n: usize| {
        CreateToken::builder()
            .name("caps")
            .expiry(days(1))
            .scopes((0..n).map(|i| format!("scope-{i}")))
            .build()
            .unwrap()
    };
    if !caps.scopes {
        assert_eq!(refused(scoped(1)).await.kind(), ErrorKind::Unsupported);
    } else if let Some(max) = caps.max_scopes {
        assert_eq!(refused_field(&refused(scoped(max + 1)).await), "scopes");
    }

    // Lifetimes.
    let default = named("caps-default", Expiry::ProviderDefault);
    match caps.default_lifetime {
        DefaultLifetime::Refused => {
            assert_eq!(h.default_expiry(), DefaultExpiry::Refused);
            assert_eq!(refused_field(&refused(default).await), "expiry");
        }
        DefaultLifetime::Finite(length) => {
            assert_ne!(h.default_expiry(), DefaultExpiry::Refused);
            let created = accepted(default).await;
            seen.extend(secret_of(&created));
            let stored = h.stored_expiry(&created.info.id).await;
            assert_ne!(stored, Expiration::Never, "a finite default");
            if let (Some(length), DefaultExpiry::After(harness)) = (length, h.default_expiry()) {
                // Capabilities gives the shortest length (six months are 181 to 184 days).
                assert!(
                    length <= harness && harness - length <= 4 * DAY,
                    "{length:?}"
                );
            }
        }
        _ => panic!("a new DefaultLifetime: decide what the suite checks"),
    }
    if let Some(max) = caps.max_lifetime {
        let err = refused(named("caps", Expiry::In(max + DAY))).await;
        assert_eq!(refused_field(&err), "expiry");
        assert!(err.to_string().contains("at most"), "{err}");
        let fitted = caps.fit_lifetime(max + DAY);
        seen.extend(secret_of(
            &accepted(named("caps-fitted", Expiry::In(fitted))).await,
        ));
    }
    // The portable lifetime: 90 days works wherever the maximum allows it.
    let ninety = named("caps-90", days(90));
    if caps.max_lifetime.is_some_and(|max| max < 90 * DAY) {
        assert_eq!(refused_field(&refused(ninety).await), "expiry");
    } else {
        let created = accepted(ninety).await;
        seen.extend(secret_of(&created));
        if h.default_expiry() != DefaultExpiry::NotReported {
            assert_expires_in(
                &caps,
                h.stored_expiry(&created.info.id).await,
                90 * DAY,
                "90 days",
            );
        }
    }
    if !caps.never_expires {
        let never = named("caps", Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK));
        assert_eq!(refused(never).await.kind(), ErrorKind::Unsupported);
    }
    let past = OffsetDateTime::now_utc() - time::Duration::hours(1);
    assert_eq!(
        refused_field(&refused(named("caps", Expiry::At(past))).await),
        "expiry"
    );

    // What is reported.
    let listed = pats
        .list_all(&ListQuery::new())
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == created.info.id)
        .expect("listed");
    match caps.expiry {
        Reported::Always => {
            assert_expires_in(&caps, created.info.expires, DAY, "created");
            assert_expires_in(&caps, listed.expires, DAY, "listed");
        }
        Reported::WhenCreated => {
            assert_expires_in(&caps, created.info.expires, DAY, "created");
            assert_eq!(listed.expires, Expiration::Unknown);
        }
        _ => assert_eq!(listed.expires, Expiration::Unknown),
    }
    assert!(h.secret_works(&created).await);
    let used = pats.get(&created.info.id).await.unwrap();
    match caps.last_use {
        Reported::Always => assert!(used.last_used.is_some(), "used, and reported"),
        _ => assert_eq!(used.last_used, None),
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_days(days: i64, extra_seconds: i64) -> Expiration {
        Expiration::At(
            OffsetDateTime::now_utc()
                + time::Duration::days(days)
                + time::Duration::seconds(extra_seconds),
        )
    }

    fn fails(caps: &Capabilities, expires: Expiration) -> bool {
        std::panic::catch_unwind(|| assert_expires_in(caps, expires, 5 * DAY, "t")).is_err()
    }

    #[test]
    fn an_expiry_is_held_to_the_lifetime_and_the_providers_resolution() {
        let exact = Capabilities::default();
        let mut dates = Capabilities::default();
        dates.expiry_resolution = DAY;
        assert!(!fails(&exact, in_days(5, 0)));
        assert!(!fails(&exact, in_days(5, 50)));
        assert!(
            fails(&exact, in_days(5, 3_600)),
            "an hour late, asked to the second"
        );
        assert!(fails(&exact, in_days(4, 0)), "a day early");
        assert!(!fails(&dates, in_days(5, 3_600)), "rounded up to its date");
        assert!(fails(&dates, in_days(6, 3_600)), "more than a day late");
        assert!(fails(&exact, Expiration::Never));
        assert!(fails(&exact, Expiration::Unknown));
    }
}
