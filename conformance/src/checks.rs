//! The checks, each written once for every provider. Each returns the secrets it was given
//! so the caller can prove none of them was logged.

use crate::{DefaultExpiry, Harness, assert_revoked, fast_options};
use pats::reexports::secrecy::ExposeSecret;
use pats::reexports::time::OffsetDateTime;
use pats::test_util::VirtualClock;
use pats::{
    ClientOptions, CreateToken, CreatedToken, Error, ErrorKind, Expiration, Expiry, ListQuery,
    NeverExpires, PersonalAccessTokens, PersonalAccessTokensExt, RetryPolicy,
};
use pats_sim::Fault;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DAY: u64 = 86_400;

fn secrets_of(created: &CreatedToken) -> Vec<String> {
    let mut out = vec![created.secret.expose_secret().to_owned()];
    if let Some(key) = &created.private_key {
        out.push(key.expose_secret().to_owned());
    }
    out
}

/// Asserts neither the error's `Display` nor its `Debug` holds one of `secrets`.
fn assert_clean(err: &Error, secrets: &[String]) {
    for text in [err.to_string(), format!("{err:?}")] {
        for s in secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret leaked into an error: {err}"
            );
        }
    }
}

/// `stored` is `expected`, within 5 seconds, or up to `resolution` later (see
/// [`Capabilities::expiry_resolution`](pats::Capabilities::expiry_resolution)).
fn assert_near(stored: Expiration, expected: OffsetDateTime, resolution: Duration, what: &str) {
    let late = i64::try_from(resolution.as_secs()).unwrap();
    match stored {
        Expiration::At(at) => assert!(
            (-5..=late + 5).contains(&(at - expected).whole_seconds()),
            "{what}: stored {at}, expected about {expected}"
        ),
        other => panic!("{what}: stored {other:?}, expected about {expected}"),
    }
}

/// create → the secret works → list → get → rename → deactivate/activate → revoke.
pub async fn lifecycle<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(fast_options());
    let caps = pats.capabilities();
    let request = h.create_request(
        "conformance-lifecycle",
        Expiry::In(Duration::from_secs(30 * DAY)),
    );
    let created = pats.create(&request).await.unwrap();
    let seen = secrets_of(&created);
    assert!(!created.secret.expose_secret().is_empty());
    for s in &seen {
        assert!(
            !format!("{created:?}").contains(s.as_str()),
            "Debug shows a secret"
        );
    }
    assert!(
        h.secret_works(&created).await,
        "the new secret is accepted by the provider"
    );
    let id = created.info.id.clone();

    let listed = pats.list_all(&ListQuery::new()).await.unwrap();
    assert!(
        listed.iter().any(|t| t.id == id),
        "list contains the new token"
    );

    let got = pats.get(&id).await.unwrap();
    assert_eq!(got.id, id);
    if caps.names() {
        assert_eq!(got.name.as_deref(), Some("conformance-lifecycle"));
    }

    if caps.rename {
        let renamed = pats.rename(&id, "conformance-renamed").await.unwrap();
        assert_eq!(renamed.name.as_deref(), Some("conformance-renamed"));
        let got = pats.get(&id).await.unwrap();
        assert_eq!(got.name.as_deref(), Some("conformance-renamed"));
    } else {
        let err = pats.rename(&id, "x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }

    if caps.set_active {
        let off = pats.set_active(&id, false).await.unwrap();
        assert_eq!(off.active, Some(false));
        assert_eq!(pats.get(&id).await.unwrap().active, Some(false));
        let on = pats.set_active(&id, true).await.unwrap();
        assert_eq!(on.active, Some(true));
    } else {
        let err = pats.set_active(&id, false).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }

    pats.revoke(&id).await.unwrap();
    if let Some(err) = assert_revoked(pats.as_ref(), &id, "lifecycle").await {
        assert_clean(&err, &seen);
    }
    let listed = pats.list_all(&ListQuery::new()).await.unwrap();
    assert!(!listed.iter().any(|t| t.id == id), "list no longer has it");
    seen
}

/// A time, a duration and the provider default each land as the provider stores them; the
/// provider default never lands as a token that never expires (where it would, it is refused
/// before sending).
pub async fn expiry_lands_as_stored<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(fast_options());
    let mut seen = Vec::new();
    let now = OffsetDateTime::now_utc();
    let at = now + pats::reexports::time::Duration::days(20);
    let cases = [
        ("expiry-at", Expiry::At(at), Some(at)),
        (
            "expiry-in",
            Expiry::In(Duration::from_secs(10 * DAY)),
            Some(now + pats::reexports::time::Duration::days(10)),
        ),
        ("expiry-default", Expiry::ProviderDefault, None),
    ];
    let resolution = pats.capabilities().expiry_resolution;
    for (name, expiry, expected) in cases {
        if expected.is_none() && h.default_expiry() == DefaultExpiry::Refused {
            let before = h.creates_received().await;
            let err = pats
                .create(&h.create_request(name, expiry))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}: {err}");
            assert_eq!(
                h.creates_received().await,
                before,
                "{name}: nothing was sent"
            );
            continue;
        }
        let created = pats.create(&h.create_request(name, expiry)).await.unwrap();
        seen.extend(secrets_of(&created));
        let stored = h.stored_expiry(&created.info.id).await;
        if expected.is_none() {
            assert_ne!(stored, Expiration::Never, "{name}: silently never expires");
        }
        match (expected, h.default_expiry()) {
            (Some(t), DefaultExpiry::NotReported) if stored == Expiration::Unknown => {
                let _ = t;
            }
            (Some(t), _) => assert_near(stored, t, resolution, name),
            (None, DefaultExpiry::Refused) => unreachable!("refused above"),
            (None, DefaultExpiry::After(d)) => assert_near(
                stored,
                now + pats::reexports::time::Duration::try_from(d).unwrap(),
                resolution,
                name,
            ),
            (None, DefaultExpiry::NotReported) => {}
        }
        // What the client reports agrees with what was stored, where it reports anything.
        let got = pats.get(&created.info.id).await.unwrap();
        if got.expires != Expiration::Unknown {
            match (got.expires, stored) {
                (Expiration::At(a), Expiration::At(b)) => {
                    assert!((a - b).whole_seconds().abs() <= 1, "{name}: {a} vs {b}")
                }
                (a, b) => assert_eq!(a, b, "{name}"),
            }
        }
    }
    seen
}

/// Never-expiring needs the acknowledgement (a type) and is `Unsupported` where the
/// provider has none, with nothing sent.
pub async fn never_expiring_needs_support<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(fast_options());
    let before = h.creates_received().await;
    let request = h.create_request("never", Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK));
    if pats.capabilities().never_expires {
        let created = pats.create(&request).await.unwrap();
        assert_eq!(h.stored_expiry(&created.info.id).await, Expiration::Never);
        secrets_of(&created)
    } else {
        let err = pats.create(&request).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert_eq!(h.creates_received().await, before, "nothing was sent");
        Vec::new()
    }
}

/// The request that replaces a token in the rotation checks: named `name` where the
/// rotation creates a token, without a name where the provider rotates in one call and the
/// new token keeps the old one's ([`Capabilities::native_rotate`](pats::Capabilities)).
fn rotation_request<H: Harness>(h: &H, pats: &dyn PersonalAccessTokens, name: &str) -> CreateToken {
    let expiry = Expiry::In(Duration::from_secs(DAY));
    if pats.capabilities().native_rotate {
        CreateToken::builder().expiry(expiry).build().unwrap()
    } else {
        h.create_request(name, expiry)
    }
}

/// `rotate` hands over the new secret while the old token still works; `finish` keeps the
/// new secret when revoking the old token fails. Where the provider rotates in one call,
/// the old token is revoked by then, `finish` sends nothing (a failing revoke is never
/// met) and the rotation is complete.
pub async fn rotate_keeps_the_new_secret<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(fast_options());
    let native = pats.capabilities().native_rotate;
    let old = pats
        .create(&h.create_request("rotate-old", Expiry::In(Duration::from_secs(DAY))))
        .await
        .unwrap();
    let mut seen = secrets_of(&old);
    h.faults()
        .inject(h.revoke_rule().times(1).with_fault(Fault::status(500)));
    let pending = pats
        .rotate(
            &old.info.id,
            &rotation_request(h, pats.as_ref(), "rotate-new"),
        )
        .await
        .unwrap();
    seen.extend(secrets_of(pending.created()));
    assert!(
        h.secret_works(pending.created()).await,
        "the new secret works"
    );
    assert_eq!(pending.old_revoked(), native);
    assert_eq!(
        h.secret_works(&old).await,
        !native,
        "the old one too, until finish (unless the server rotated)"
    );
    assert_eq!(pending.old_id(), &old.info.id);
    let new_id = pending.new_id().clone();
    let sent = h.creates_received().await;
    let rotation = pending.finish(pats.as_ref()).await;
    assert_eq!(rotation.new.id, new_id);
    assert_eq!(rotation.old, old.info.id);
    if native {
        assert!(rotation.is_complete(), "{rotation:?}");
        assert_eq!(h.creates_received().await, sent, "finish created nothing");
        assert_revoked(pats.as_ref(), &old.info.id, "rotated natively").await;
        // The armed revoke fault was never met: the next revoke meets it.
        let err = pats.revoke(&new_id).await.unwrap_err();
        assert_eq!(err.status(), Some(500), "{err}");
        return seen;
    }
    let err = rotation.revoked.as_ref().unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    assert!(!rotation.is_complete());
    assert_clean(err, &seen);
    pats.get(&old.info.id).await.unwrap();
    seen
}

/// A rotation given up with `undo` revokes the new token and leaves the old one working;
/// where the provider rotates in one call, `undo` is refused (`Unsupported`, nothing sent)
/// and the new token is the one that works.
pub async fn rotate_undo_keeps_the_old_token<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(fast_options());
    let old = pats
        .create(&h.create_request("undo-old", Expiry::In(Duration::from_secs(DAY))))
        .await
        .unwrap();
    let mut seen = secrets_of(&old);
    let pending = pats
        .rotate(
            &old.info.id,
            &rotation_request(h, pats.as_ref(), "undo-new"),
        )
        .await
        .unwrap();
    seen.extend(secrets_of(pending.created()));
    let new_id = pending.new_id().clone();
    let shown = pending.to_string();
    assert!(shown.contains(new_id.as_str()), "{shown}");
    assert!(shown.contains(old.info.id.as_str()), "{shown}");
    for secret in &seen {
        assert!(!shown.contains(secret.as_str()), "a secret in {shown}");
        assert!(!format!("{pending:?}").contains(secret.as_str()));
    }
    if pending.old_revoked() {
        assert!(shown.contains("revoked the old token"), "{shown}");
        let created = CreatedToken::new(pending.created().info.clone(), pending.secret().clone());
        let err = pending.undo(pats.as_ref()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        let new = pats.get(&new_id).await.unwrap();
        assert_ne!(new.active, Some(false), "undo revoked nothing: {new:?}");
        assert!(h.secret_works(&created).await, "the new token works");
        assert!(!h.secret_works(&old).await, "the old token was revoked");
        return seen;
    }
    pending.undo(pats.as_ref()).await.unwrap();
    assert_eq!(
        pats.get(&new_id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(h.secret_works(&old).await, "the old token still works");
    seen
}

/// An unknown id is `NotFound` for get and revoke.
pub async fn unknown_id_is_not_found<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(fast_options());
    let id = h.unknown_id();
    assert_eq!(pats.get(&id).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        pats.revoke(&id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    Vec::new()
}

/// Refused credentials are `Unauthenticated`, and the error shows no credential.
pub async fn bad_credentials_are_unauthenticated<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client_with_bad_credentials();
    let err = pats.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert_clean(&err, &h.known_secrets());
    Vec::new()
}

/// A 429 burst is retried (after `Retry-After`) for reads and is `RateLimited` for creates,
/// which are sent once.
pub async fn rate_limits_retry_reads_and_surface_on_create<H: Harness>(h: &H) -> Vec<String> {
    let clock = VirtualClock::new();
    let pats = h.client(fast_options().with_clock(Arc::new(clock.clone())));
    h.faults()
        .inject(h.list_rule().times(2).with_fault(Fault::RateLimited {
            retry_after: Some(2),
        }));
    pats.list(&ListQuery::new()).await.unwrap();
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(2), Duration::from_secs(2)]
    );

    let before = h.creates_received().await;
    h.faults()
        .inject(h.create_rule().times(1).with_fault(Fault::RateLimited {
            retry_after: Some(7),
        }));
    let err = pats
        .create(&h.create_request("limited", Expiry::In(Duration::from_secs(DAY))))
        .await
        .unwrap_err();
    assert!(
        (err.kind(), err.retry_after()) == (ErrorKind::RateLimited, Some(Duration::from_secs(7))),
        "{err:?}"
    );
    assert_eq!(
        h.creates_received().await,
        before + 1,
        "the create was sent once"
    );
    Vec::new()
}

/// 5xx bursts are ridden out on reads; a create answered 503 is not sent again.
pub async fn server_error_bursts<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(fast_options());
    h.faults()
        .inject(h.list_rule().times(3).with_fault(Fault::status(503)));
    pats.list(&ListQuery::new()).await.unwrap();

    let before = h.creates_received().await;
    h.faults()
        .inject(h.create_rule().times(1).with_fault(Fault::status(503)));
    let err = pats
        .create(&h.create_request("burst", Expiry::In(Duration::from_secs(DAY))))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert!(err.is_retryable());
    assert_eq!(
        h.creates_received().await,
        before + 1,
        "the create was sent once"
    );
    Vec::new()
}

/// A server that stalls gives `Timeout`, for reads and for creates (sent once).
pub async fn stalled_server_times_out<H: Harness>(h: &H) -> Vec<String> {
    let options = ClientOptions::default()
        .with_timeout(Duration::from_millis(300))
        .with_retry(RetryPolicy::none());
    let pats = h.client(options);
    h.faults().inject(
        h.list_rule()
            .times(1)
            .with_fault(Fault::Stall(Duration::from_secs(3))),
    );
    let err = pats.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");

    let before = h.creates_received().await;
    h.faults().inject(
        h.create_rule()
            .times(1)
            .with_fault(Fault::Stall(Duration::from_secs(3))),
    );
    let err = pats
        .create(&h.create_request("stalled", Expiry::In(Duration::from_secs(DAY))))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(
        h.creates_received().await,
        before + 1,
        "the create was sent once"
    );
    Vec::new()
}

/// Invalid JSON, HTML pages, a wrong content type and oversized bodies are typed errors.
pub async fn broken_answers_are_typed_errors<H: Harness>(h: &H) -> Vec<String> {
    let pats = h.client(
        fast_options()
            .with_max_response_bytes(64 * 1024)
            .with_retry(RetryPolicy::none()),
    );
    let cases = [
        (Fault::InvalidJson, &[ErrorKind::Decode][..]),
        (Fault::Html(502), &[ErrorKind::Api, ErrorKind::Decode][..]),
        (Fault::Html(200), &[ErrorKind::Decode][..]),
        (Fault::WrongContentType, &[ErrorKind::Decode][..]),
        (Fault::Oversized(128 * 1024), &[ErrorKind::Decode][..]),
    ];
    for (fault, kinds) in cases {
        h.faults()
            .inject(h.list_rule().times(1).with_fault(fault.clone()));
        let err = pats.list(&ListQuery::new()).await.unwrap_err();
        assert!(kinds.contains(&err.kind()), "{fault:?} gave {err:?}");
    }
    let before = h.creates_received().await;
    h.faults()
        .inject(h.create_rule().times(1).with_fault(Fault::InvalidJson));
    let err = pats
        .create(&h.create_request("garbled", Expiry::In(Duration::from_secs(DAY))))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert_eq!(
        h.creates_received().await,
        before + 1,
        "the create was sent once"
    );
    Vec::new()
}

/// A loopback server that answers every request with `raw` (or resets the connection when
/// `raw` is empty) and counts the requests.
async fn raw_server(raw: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0_u8; 64 * 1024];
            if matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            if raw.is_empty() {
                let _ = socket.set_zero_linger();
                drop(socket);
            } else {
                let _ = socket.write_all(raw).await;
                let _ = socket.shutdown().await;
            }
        }
    });
    (format!("http://{addr}"), count)
}

/// A reset connection and a truncated body are `Transport` errors; a create meeting them
/// is sent once.
pub async fn raw_transport_faults<H: Harness>(h: &H) -> Vec<String> {
    let truncated: &'static [u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"items\":[{\"id\":";
    for raw in [&b""[..], truncated] {
        let (url, count) = raw_server(raw).await;
        let options = fast_options().with_retry(RetryPolicy::none());
        let pats = h.client_at(&url, options);
        let err = pats.list(&ListQuery::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
        let before = count.load(Ordering::SeqCst);
        let err = pats
            .create(&h.create_request("raw", Expiry::In(Duration::from_secs(DAY))))
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Transport | ErrorKind::Signing),
            "{err:?}"
        );
        // A provider whose create starts with other calls (Dfns signing) fails on the
        // first of them; either way nothing is sent twice.
        assert_eq!(
            count.load(Ordering::SeqCst),
            before + 1,
            "one request, no replay"
        );
    }
    Vec::new()
}

pub use crate::portable::{
    capabilities_match_behaviour, ci_token_lifecycle_30_days, expiry_audit_reports_every_token,
    readme_rotate_by_name,
};
