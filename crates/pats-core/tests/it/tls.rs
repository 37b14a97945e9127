//! pats leaves the process-wide rustls `CryptoProvider` alone (issue 26): building clients
//! and speaking TLS through them installs nothing, so an application's own later
//! `install_default` still works and decides for its own clients.
#![cfg(all(
    any(feature = "rustls", feature = "rustls-aws-lc"),
    not(feature = "native-tls")
))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_core::{ClientOptions, Request, Transport};
use rustls::crypto::CryptoProvider;
use std::time::Duration;

#[tokio::test]
async fn building_and_using_clients_installs_no_process_crypto_provider() {
    // No test in this binary installs one (the opt-in helper is tested in a child process).
    assert!(CryptoProvider::get_default().is_none());

    // A TLS handshake through pats's own configuration: the listener reads the ClientHello,
    // then drops the connection.
    let (port, hello) = crate::common::client_hello_listener().await;
    let transport = Transport::new(
        "test",
        &format!("https://localhost:{port}"),
        ClientOptions::default().with_timeout(Duration::from_secs(5)),
    )
    .unwrap();
    let result = transport.send(Request::get("/").idempotent(false)).await;
    assert!(result.is_err(), "no TLS server is listening: {result:?}");
    assert_eq!(hello.await.unwrap()[0], 0x16, "a TLS handshake was sent");

    assert!(
        CryptoProvider::get_default().is_none(),
        "pats installed a process-wide CryptoProvider"
    );
}

/// The opt-in helper installs the feature's provider once; a second call keeps it. Run in
/// a child process of this test binary, because the default is process-wide and the test
/// above needs it absent.
#[test]
fn the_opt_in_helper_installs_the_features_provider_once() {
    const CHILD: &str = "PATS_TEST_TLS_HELPER_CHILD";
    if std::env::var_os(CHILD).is_some() {
        assert!(CryptoProvider::get_default().is_none());
        assert!(pats_core::tls::install_default_crypto_provider());
        let installed = CryptoProvider::get_default().expect("installed");
        #[cfg(feature = "rustls-aws-lc")]
        let expected = rustls::crypto::aws_lc_rs::default_provider();
        #[cfg(not(feature = "rustls-aws-lc"))]
        let expected = rustls::crypto::ring::default_provider();
        let names = |p: &CryptoProvider| {
            // Key exchange groups tell ring and aws-lc apart (aws-lc offers ML-KEM).
            p.kx_groups
                .iter()
                .map(|g| format!("{:?}", g.name()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(installed), names(&expected));
        assert!(!pats_core::tls::install_default_crypto_provider());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tls::the_opt_in_helper_installs_the_features_provider_once",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test: {stdout}"
    );
}
