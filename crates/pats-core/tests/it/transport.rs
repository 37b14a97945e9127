//! The transport against loopback servers: URL rules, retries, timeouts, body caps, secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_core::credentials::{
    CachingTokenSource, FetchedToken, StaticToken, TokenFetcher, TokenSource,
};
use pats_core::reexports::secrecy::SecretString;
use pats_core::{ClientOptions, ErrorKind, Request, RetryPolicy, TokenId, Transport, VirtualClock};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-SECRET-0123456789";

fn exact_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_jitter(0.0)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(4))
        .with_max_attempts(10)
        .with_budget(Duration::from_secs(10))
}

fn transport(uri: &str, clock: &VirtualClock) -> Transport {
    let options = ClientOptions::default()
        .with_retry(exact_retries())
        .with_clock(Arc::new(clock.clone()))
        .with_timeout(Duration::from_secs(5));
    Transport::new("test", uri, options)
        .unwrap()
        .with_auth(Arc::new(StaticToken::new(SecretString::from(TOKEN))))
}

#[test]
fn plain_http_is_refused_for_non_loopback_hosts() {
    for url in [
        "http://api.dfns.io",
        "http://10.0.0.1",
        "http://[2001:db8::1]",
        "ftp://localhost",
    ] {
        let err = Transport::new("test", url, ClientOptions::default()).unwrap_err();
        assert_eq!(err.field(), Some("base_url"), "{url}: {err}");
    }
    let err = Transport::new("test", "http://api.dfns.io", ClientOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("only allowed for loopback"),
        "{err}"
    );
    for url in [
        "https://api.dfns.io",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://[::1]:9",
        "http://localhost:1",
    ] {
        Transport::new("test", url, ClientOptions::default()).unwrap();
    }
    for url in ["https://user:pw@x.io", "https://x.io/?a=b", "not a url"] {
        assert!(
            Transport::new("test", url, ClientOptions::default()).is_err(),
            "{url}"
        );
    }
}

#[tokio::test]
async fn path_segments_cannot_change_the_path() {
    let clock = VirtualClock::new();
    let t = transport("http://127.0.0.1:9/api/", &clock);
    let url = t.url(&["pats", "a/b", "x?y#z", "100%", "\u{1}"]).unwrap();
    assert_eq!(url.path(), "/api/pats/a%2Fb/x%3Fy%23z/100%25/%01");
    assert_eq!(url.query(), None);
    // URL rules would drop or collapse these, so they are refused.
    for bad in ["..", ".", ""] {
        let err = t.url(&["pats", bad]).unwrap_err();
        assert_eq!(err.field(), Some("segments"), "{bad:?}: {err}");
    }
    let err = t
        .send(Request::delete("/pats/{id}").segments(["pats", ".."]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "nothing sent: {err}");
    // And ids that would need such encoding are refused before any URL is built.
    for bad in ["a/b", "..", "x?y", "100%", "a\u{7}"] {
        assert!(TokenId::new(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn sends_user_agent_bearer_query_and_exact_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/things"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("user-agent", pats_core::USER_AGENT))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    let clock = VirtualClock::new();
    let t = transport(&server.uri(), &clock);
    let req = Request::post("/v1/things")
        .segments(["v1", "things"])
        .query("filter", "lastUsed le 2024-01-01T00:00:00Z")
        .json(&serde_json::json!({"name": "x"}))
        .unwrap();
    let sent = req.body_bytes().unwrap().clone();
    let resp = t.send(req).await.unwrap();
    assert_eq!(resp.json::<serde_json::Value>().unwrap()["ok"], true);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].body, sent);
    assert_eq!(
        received[0].url.query(),
        Some("filter=lastUsed+le+2024-01-01T00%3A00%3A00Z")
    );
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_for_a_get_and_never_for_a_create() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "2")
                .set_body_json(serde_json::json!({"message": "slow down"})),
        )
        .mount(&server)
        .await;
    let clock = VirtualClock::new();
    let t = transport(&server.uri(), &clock);

    let resp = t.send(Request::get("/x").segments(["x"])).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);

    let resp = t
        .send(Request::post("/x").segments(["x"]).json("{}").unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let err = resp.api_error(None, Some("slow down"), None);
    assert!(
        (err.kind(), err.retry_after()) == (ErrorKind::RateLimited, Some(Duration::from_secs(2))),
        "{err:?}"
    );
    assert_eq!(clock.sleeps().len(), 1, "the create was not retried");
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn a_503_is_backed_off_and_given_up_at_the_budget_with_the_last_answer() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(serde_json::json!({"message": "down"})),
        )
        .mount(&server)
        .await;
    let clock = VirtualClock::new();
    let t = transport(&server.uri(), &clock);
    let resp = t.send(Request::delete("/x").segments(["x"])).await.unwrap();
    assert_eq!(resp.status(), 503);
    // Waits of 1, 2 and 4 s fit the 10 s budget; the next 4 s would not.
    assert_eq!(clock.sleeps(), [1, 2, 4].map(Duration::from_secs).to_vec());
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    let err = resp.api_error(None, Some("down"), None);
    assert!((err.kind(), err.status()) == (ErrorKind::Api, Some(503)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_retried_only_when_idempotent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let clock = VirtualClock::new();
    let t = transport(&uri, &clock);
    let err = t
        .send(Request::get("/x").segments(["x"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert_eq!(clock.sleeps().len(), 3, "retried within the budget");
    let clock = VirtualClock::new();
    let t = transport(&uri, &clock);
    let err = t
        .send(Request::post("/x").segments(["x"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert!(!err.is_outcome_unknown(), "nothing was sent: {err}");
    assert!(err.is_connect(), "{err:?}");
    assert!(clock.sleeps().is_empty());
    // The message is printed once; the causes follow as `source()`, each level once and
    // without the request's URL.
    assert_eq!(err.to_string(), "transport error: connection failed");
    let mut levels = Vec::new();
    let mut next = std::error::Error::source(&err);
    while let Some(cause) = next {
        levels.push(cause.to_string());
        next = cause.source();
    }
    assert!(!levels.is_empty(), "{err:?}");
    for (i, level) in levels.iter().enumerate() {
        assert!(!level.contains(&uri), "{levels:?}");
        for below in &levels[i + 1..] {
            assert!(!level.contains(below.as_str()), "{levels:?}");
        }
    }
}

/// A server that accepts connections, reads the request and answers with `raw` (or never).
async fn raw_server(raw: Option<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0_u8; 4096];
            let _ = socket.read(&mut buf).await;
            match &raw {
                Some(bytes) => {
                    let _ = socket.write_all(bytes).await;
                    let _ = socket.shutdown().await;
                }
                None => held.push(socket),
            }
        }
    });
    format!("http://{addr}")
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out_at_the_configured_timeout() {
    let uri = raw_server(None).await;
    let options = ClientOptions::default()
        .with_timeout(Duration::from_secs(7))
        .with_retry(RetryPolicy::none());
    let t = Transport::new("test", &uri, options).unwrap();
    let start = tokio::time::Instant::now();
    let err = t
        .send(Request::get("/x").segments(["x"]))
        .await
        .unwrap_err();
    let waited = start.elapsed();
    assert!(
        (err.kind(), err.timeout(), err.attempts())
            == (ErrorKind::Timeout, Some(Duration::from_secs(7)), Some(1)),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "request timed out after 7 s");
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
}

/// The default options against a server that never answers: a read is retried once within
/// the 60 s budget, so the call takes two 30 s timeouts; the error says so rather than
/// "after 30 s". (tokio's paused clock: the times are exact, nothing waits for real.)
#[tokio::test(start_paused = true)]
async fn a_retried_timeout_says_the_timeout_is_per_attempt() {
    let uri = raw_server(None).await;
    let options = ClientOptions::default().with_retry(RetryPolicy::default().with_jitter(0.0));
    let t = Transport::new("test", &uri, options).unwrap();
    let start = tokio::time::Instant::now();
    let err = t
        .send(Request::get("/x").segments(["x"]))
        .await
        .unwrap_err();
    let waited = start.elapsed();
    assert!(
        (err.kind(), err.timeout(), err.attempts())
            == (ErrorKind::Timeout, Some(Duration::from_secs(30)), Some(2)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "request timed out: no complete answer within 30 s on the last of 2 attempts (the \
         timeout applies to each attempt)"
    );
    // Two timeouts and the 200 ms backoff between them.
    assert!(
        waited >= Duration::from_millis(60_200) && waited < Duration::from_secs(61),
        "{waited:?}"
    );
    // A create is sent once: its timeout is the whole wait.
    let err = t
        .send(Request::post("/x").segments(["x"]))
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), Some(1), "{err:?}");
    assert_eq!(err.to_string(), "request timed out after 30 s");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_or_without_content_length() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![b'x'; 2048], "application/json"))
        .mount(&server)
        .await;
    let options = ClientOptions::default().with_max_response_bytes(1024);
    let t = Transport::new("test", &server.uri(), options.clone()).unwrap();
    let err = t
        .send(Request::get("/x").segments(["x"]))
        .await
        .unwrap_err();
    assert!(
        err.reason()
            .is_some_and(|reason| reason.contains("1024-byte limit")),
        "{err:?}"
    );

    // Chunked: no Content-Length, so the cap must hold while the body streams in.
    let mut raw =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..8 {
        write!(raw, "{:x}\r\n{}\r\n", 512, "y".repeat(512)).unwrap();
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let uri = raw_server(Some(raw)).await;
    let t = Transport::new("test", &uri, options).unwrap();
    let err = t
        .send(Request::get("/x").segments(["x"]))
        .await
        .unwrap_err();
    assert!(
        err.reason().is_some_and(|reason| reason.contains("limit")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_truncated_body_is_a_transport_error_not_a_panic() {
    let raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"items\": [".to_vec();
    let uri = raw_server(Some(raw)).await;
    let options = ClientOptions::default().with_retry(RetryPolicy::none());
    let t = Transport::new("test", &uri, options).unwrap();
    let err = t
        .send(Request::get("/x").segments(["x"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert!(
        err.is_outcome_unknown(),
        "the answer was lost after the request: {err}"
    );
}

#[tokio::test]
async fn html_and_invalid_json_are_decode_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/html"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(b"<html>oops</html>".to_vec(), "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/bad"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(b"{\"a\":".to_vec(), "application/json"),
        )
        .mount(&server)
        .await;
    let clock = VirtualClock::new();
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send(Request::get("/html").segments(["html"]))
        .await
        .unwrap();
    let err = resp.json::<serde_json::Value>().unwrap_err();
    assert_eq!(err.status(), Some(200), "{err:?}");
    assert!(
        err.reason().is_some_and(|r| r.contains("text/html"))
            && err.snippet().is_some_and(|s| s.contains("oops")),
        "{err:?}"
    );
    let resp = t
        .send(Request::get("/bad").segments(["bad"]))
        .await
        .unwrap();
    assert!(
        matches!(resp.json::<serde_json::Value>(), Err(ref e) if e.kind() == ErrorKind::Decode)
    );
}

#[tokio::test]
async fn errors_from_answers_that_echo_secrets_show_none() {
    let server = MockServer::start().await;
    let echoed = format!(
        r#"{{"message":"token {TOKEN} is invalid","accessToken":"at-SECRET-999999","error":"Bearer {TOKEN}"}}"#
    );
    Mock::given(path("/echo"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(echoed.clone().into_bytes(), "application/json"),
        )
        .mount(&server)
        .await;
    // A create answer cut off in the middle of the secret.
    Mock::given(path("/cut"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            br#"{"tokenId":"to-1","accessToken":"at-SECRET-88"#.to_vec(),
            "application/json",
        ))
        .mount(&server)
        .await;
    let clock = VirtualClock::new();
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send(Request::get("/echo").segments(["echo"]))
        .await
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    let errors = [
        resp.api_error(None, parsed["message"].as_str(), None),
        resp.api_error(None, None, None),
        resp.decode_error("test"),
    ];
    let resp = t
        .send(Request::get("/cut").segments(["cut"]))
        .await
        .unwrap();
    let cut = resp.json::<serde_json::Value>().unwrap_err();
    for err in errors.iter().chain([&cut]) {
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("SECRET"), "{text}");
        }
    }
    assert_eq!(errors[0].kind(), ErrorKind::Unauthenticated);
    assert!(
        format!("{cut}").contains("to-1"),
        "the snippet keeps what is not secret"
    );
    for text in [format!("{t:?}"), format!("{resp:?}")] {
        assert!(!text.contains("SECRET"), "{text}");
    }
}

#[derive(Debug)]
struct Issuer {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenFetcher for Issuer {
    async fn fetch(&self) -> pats_core::Result<FetchedToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(FetchedToken::new(
            SecretString::from(format!("issued-{n}")),
            Some(Duration::from_secs(3600)),
        ))
    }
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_replays_even_a_create() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer issued-1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": "expired"})),
        )
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer issued-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let issuer = Arc::new(Issuer {
        calls: AtomicUsize::new(0),
    });
    let t = Transport::new("test", &server.uri(), ClientOptions::default())
        .unwrap()
        .with_auth(Arc::new(CachingTokenSource::new(issuer.clone())));
    let resp = t
        .send(Request::post("/x").segments(["x"]).json("{}").unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A client-credentials exchange as the providers do it: an idempotent POST to
/// `/oauth/token` through its own transport (so with its own retries), counted. Fetches
/// wait while the test holds `gate`.
#[derive(Debug)]
struct TokenEndpoint {
    transport: Transport,
    fetches: AtomicUsize,
    gate: tokio::sync::RwLock<()>,
}

#[async_trait::async_trait]
impl TokenFetcher for TokenEndpoint {
    async fn fetch(&self) -> pats_core::Result<FetchedToken> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        drop(self.gate.read().await);
        let response = self
            .transport
            .send(
                Request::post("/oauth/token")
                    .segments(["oauth", "token"])
                    .without_auth()
                    .idempotent(true),
            )
            .await?;
        if !response.is_success() {
            return Err(response.api_error(None, None, None));
        }
        Ok(FetchedToken::new(
            SecretString::from("issued-token-1"),
            Some(Duration::from_secs(3600)),
        ))
    }
}

/// A token source that counts the calls that asked it for a token.
#[derive(Debug)]
struct Entered {
    inner: CachingTokenSource,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenSource for Entered {
    async fn token(&self) -> pats_core::Result<SecretString> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.token().await
    }

    fn invalidate(&self, token: &SecretString) {
        self.inner.invalidate(token);
    }

    fn can_refresh(&self) -> bool {
        self.inner.can_refresh()
    }
}

/// A transport whose bearer tokens come from `/oauth/token` at `token_uri`, both sharing
/// `clock`; its fetcher; its counted token source.
fn oauth_transport(
    api_uri: &str,
    token_uri: &str,
    clock: &VirtualClock,
) -> (Transport, Arc<TokenEndpoint>, Arc<Entered>) {
    let options = ClientOptions::default()
        .with_retry(exact_retries())
        .with_clock(Arc::new(clock.clone()))
        .with_timeout(Duration::from_secs(5));
    let fetcher = Arc::new(TokenEndpoint {
        transport: Transport::new("test", token_uri, options.clone()).unwrap(),
        fetches: AtomicUsize::new(0),
        gate: tokio::sync::RwLock::new(()),
    });
    let source = Arc::new(Entered {
        inner: CachingTokenSource::new(fetcher.clone()),
        calls: AtomicUsize::new(0),
    });
    let t = Transport::new("test", api_uri, options)
        .unwrap()
        .with_auth(source.clone());
    (t, fetcher, source)
}

/// A thousand GETs at once: the token fetch is held until every call has asked for a
/// token (on this single-threaded runtime a call goes from asking to waiting on the fetch
/// without yielding), so all of them overlap the fetch, however fast it fails.
async fn thousand_calls(
    t: &Transport,
    fetcher: &TokenEndpoint,
    source: &Entered,
) -> Vec<pats_core::Result<u16>> {
    let held = fetcher.gate.write().await;
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                t.send(Request::get("/x").segments(["x"]))
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    while source.calls.load(Ordering::SeqCst) < 1000 {
        tokio::task::yield_now().await;
    }
    drop(held);
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_thousand_calls_on_a_cold_client_share_one_retried_token_fetch() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": "t"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/x"))
        .and(header("authorization", "Bearer issued-token-1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = VirtualClock::new();
    let (t, fetcher, source) = oauth_transport(&server.uri(), &server.uri(), &clock);
    for outcome in thousand_calls(&t, &fetcher, &source).await {
        assert_eq!(outcome.unwrap(), 200);
    }
    let received = server.received_requests().await.unwrap();
    let token_requests = received
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .count();
    // One fetch, retried once after the 503 (the policy's first backoff, 1 s).
    assert_eq!(token_requests, 2);
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(received.len() - token_requests, 1000);
    assert_eq!(clock.sleeps(), [Duration::from_secs(1)]);
}

#[tokio::test]
async fn with_the_token_endpoint_down_every_caller_gets_the_error_of_one_bounded_fetch() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let clock = VirtualClock::new();
    let (t, fetcher, source) = oauth_transport(&server.uri(), &server.uri(), &clock);
    for outcome in thousand_calls(&t, &fetcher, &source).await {
        let err = outcome.unwrap_err();
        assert_eq!(
            (err.kind(), err.status()),
            (pats_core::ErrorKind::Api, Some(503)),
            "{err:?}"
        );
    }
    let received = server.received_requests().await.unwrap();
    assert!(received.iter().all(|r| r.url.path() == "/oauth/token"));
    // The policy's attempts within its 10 s budget: waits of 1, 2 and 4 s, then a wait of
    // 4 s would end past the budget. Once, for all thousand callers.
    assert_eq!(received.len(), 4);
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(
        clock.sleeps(),
        [1, 2, 4].map(Duration::from_secs),
        "within the budget"
    );

    // Connection refused: a transport error, retried by the fetch only, not again by each
    // attempt of the call (which made up to 16 token requests per call).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let clock = VirtualClock::new();
    let (t, fetcher, source) = oauth_transport(&server.uri(), &closed, &clock);
    for outcome in thousand_calls(&t, &fetcher, &source).await {
        let err = outcome.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    }
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(clock.sleeps(), [1, 2, 4].map(Duration::from_secs));
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}
