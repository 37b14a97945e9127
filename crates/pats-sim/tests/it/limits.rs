//! The server's limits as a client on the same machine meets them (issue 27): a request
//! addressed to another host (DNS rebinding) is refused before any simulator or the admin
//! API sees it, the loopback names are answered, a declared oversize body is refused
//! before it is sent, and the request log keeps only the start of a large body. The
//! timeouts and the connection cap, which need short limits, are tested in `src/server.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_sim::sailpoint::SailPointSim;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Sends `request` raw and reads the answer until the server closes the connection.
async fn exchange(addr: &str, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server closes the connection");
    if let Err(e) = read {
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn get(path: &str, host: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn a_foreign_host_never_reaches_a_simulator_or_its_log() {
    let sim = SailPointSim::start().await;
    let addr = sim.uri().trim_start_matches("http://").to_owned();
    let port = addr.rsplit_once(':').unwrap().1.to_owned();
    for host in [
        format!("rebound.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        "127.0.0.1".to_owned(),
    ] {
        let answer = exchange(&addr, &get("/v2025/personal-access-tokens", &host)).await;
        assert!(answer.starts_with("HTTP/1.1 421 "), "{host}: {answer}");
    }
    let missing = exchange(&addr, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert!(missing.starts_with("HTTP/1.1 421 "), "{missing}");
    assert!(sim.requests().await.is_empty());
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let answer = exchange(&addr, &get("/v2025/personal-access-tokens", &host)).await;
        // Answered by the simulator (no token: 401).
        assert!(answer.starts_with("HTTP/1.1 401 "), "{host}: {answer}");
    }
    assert_eq!(sim.requests().await.len(), 3);
}

#[tokio::test]
async fn the_admin_api_refuses_a_foreign_host() {
    let emulator = pats_sim::start(pats_sim::Options::default()).unwrap();
    let addr = emulator
        .sailpoint()
        .uri()
        .trim_start_matches("http://")
        .to_owned();
    let port = addr.rsplit_once(':').unwrap().1.to_owned();
    let refused = exchange(
        &addr,
        &get("/_pats_sim/state", &format!("evil.example:{port}")),
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 421 "), "{refused}");
    assert!(!refused.contains("tokens"), "{refused}");
    let answered = exchange(
        &addr,
        &get("/_pats_sim/health", &format!("localhost:{port}")),
    )
    .await;
    assert!(answered.starts_with("HTTP/1.1 200 "), "{answered}");
}

#[tokio::test]
async fn a_foreign_authority_is_refused_over_h2() {
    let sim = SailPointSim::start().await;
    let addr = sim.uri().trim_start_matches("http://").to_owned();
    let port = addr.rsplit_once(':').unwrap().1.to_owned();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    for (authority, status) in [
        (format!("rebound.example:{port}"), 421),
        (format!("[::1]:{port}"), 401),
    ] {
        let request =
            http::Request::get(format!("http://{authority}/v2025/personal-access-tokens"))
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{authority}");
    }
    assert_eq!(sim.requests().await.len(), 1);
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_before_it_is_sent() {
    let sim = SailPointSim::start().await;
    let addr = sim.uri().trim_start_matches("http://").to_owned();
    let request = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        pats_sim::server::MAX_REQUEST_BODY + 1
    );
    // Nothing of the body is sent: only an answer that does not wait for it arrives.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_u8())
            .await
            .expect("an answer without the body")
            .unwrap();
        head.push(byte);
    }
    let answer = String::from_utf8_lossy(&head);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(sim.requests().await.is_empty());
}

#[tokio::test]
async fn the_log_keeps_the_start_of_a_large_body() {
    let sim = SailPointSim::start().await;
    let body = "x".repeat(200_000);
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    // The simulator read the whole (invalid) form.
    assert_eq!(response.status().as_u16(), 400);
    let logged = sim.requests().await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].body_truncated(), Some(200_000));
    assert_eq!(logged[0].body, body.as_bytes()[..64 * 1024]);
}
