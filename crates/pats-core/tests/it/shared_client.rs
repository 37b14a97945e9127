//! Transports pats builds share one `reqwest::Client` (one connection pool) when their
//! transport settings are equal, and only then; and the TLS stack they use is the one the
//! features chose. Observed from a loopback server that counts the connections it accepts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_core::{ClientOptions, Request, Transport};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A keep-alive HTTP/1.1 server answering `{}` to every request; returns its URL and the
/// number of connections it accepted so far.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    // Requests without bodies: one per blank line.
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                      content-length: 2\r\n\r\n{}";
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, accepted)
}

async fn get(transport: &Transport) {
    let response = transport
        .send(Request::get("/ping").segments(["ping"]))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn two_clients_with_equal_options_share_one_connection() {
    let (url, accepted) = counting_server().await;
    let first = Transport::new("test", &url, ClientOptions::default()).unwrap();
    get(&first).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // Built after the first one's request: its first request reuses that keep-alive
    // connection.
    let second = Transport::new("test", &url, ClientOptions::default()).unwrap();
    get(&second).await;
    get(&first).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn clients_with_different_transport_options_do_not_share() {
    let (url, accepted) = counting_server().await;
    let first = Transport::new("test", &url, ClientOptions::default()).unwrap();
    get(&first).await;
    let slower_connect = ClientOptions::default().with_connect_timeout(Duration::from_secs(11));
    get(&Transport::new("test", &url, slower_connect).unwrap()).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    let longer = ClientOptions::default().with_timeout(Duration::from_secs(31));
    get(&Transport::new("test", &url, longer).unwrap()).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_client_of_your_own_is_used_as_is() {
    let (url, accepted) = counting_server().await;
    get(&Transport::new("test", &url, ClientOptions::default()).unwrap()).await;
    let own = ClientOptions::default().with_http_client(reqwest::Client::new());
    get(&Transport::new("test", &url, own).unwrap()).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn clients_in_different_runtimes_do_not_share_connections() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, accepted) = server.block_on(counting_server());
    for expected in 1..=2 {
        // A connection's I/O task lives in the runtime that opened it and dies with it.
        let rt = runtime();
        rt.block_on(async {
            get(&Transport::new("test", &url, ClientOptions::default()).unwrap()).await;
        });
        drop(rt);
        assert_eq!(accepted.load(Ordering::SeqCst), expected);
    }
}

/// With a TLS feature, an https URL gets a TLS ClientHello offering h2 and http/1.1 (the
/// configuration pats builds, or native-tls's with ALPN); the server here is no TLS
/// server, so the request fails as a transport error.
#[cfg(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls"))]
#[tokio::test]
async fn an_https_url_is_spoken_to_in_tls_with_alpn() {
    let (port, hello) = crate::common::client_hello_listener().await;
    let transport = Transport::new(
        "test",
        &format!("https://localhost:{port}"),
        ClientOptions::default().with_timeout(Duration::from_secs(5)),
    )
    .unwrap();
    let result = transport.send(Request::get("/").idempotent(false)).await;
    assert!(
        matches!(
            &result,
            Err(e) if matches!(e.kind(), pats_core::ErrorKind::Transport | pats_core::ErrorKind::Timeout)
        ),
        "{result:?}"
    );
    let hello = hello.await.unwrap();
    assert_eq!(hello[0], 0x16, "a TLS handshake record");
    assert_eq!(hello[5], 0x01, "a ClientHello");
    let contains = |needle: &[u8]| hello.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"\x02h2"), "ALPN offers h2");
    assert!(contains(b"\x08http/1.1"), "ALPN offers http/1.1");
    assert!(contains(b"localhost"), "SNI names the host");
}
