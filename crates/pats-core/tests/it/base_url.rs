//! A rejected base URL is explained without quoting the secrets it may hold (userinfo,
//! query, fragment), in `Display`, in `Debug` and in TRACE logs.
//!
//! The TRACE logs are this test's thread's (`common::Captured::this_thread`): other tests
//! may run in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::Captured;

use pats_core::__private::transport::parse_base_url;
use pats_core::{ClientOptions, Transport};

/// Bad base URLs, each with a planted secret, and a word the error must say.
const CASES: &[(&str, &str)] = &[
    // Not parsable at all: the old message quoted the whole input.
    ("https://admin:pw-SECRET-1@exa mple.com/", "not a valid URL"),
    ("https://admin:pw-SECRET-2@[::1/", "not a valid URL"),
    (
        "https://host.example:99999/?token=q-SECRET-3",
        "not a valid URL",
    ),
    ("  https://u:pw-SECRET-4@ho\u{0}st/  ", "not a valid URL"),
    // Parsable but refused.
    ("http://admin:pw-SECRET-5@example.com/", "loopback"),
    ("https://admin:pw-SECRET-6@example.com/", "credentials"),
    ("https://pw-SECRET-7@example.com/", "credentials"),
    ("https://example.com/?api_key=q-SECRET-8", "query"),
    ("https://example.com/#f-SECRET-9", "fragment"),
    ("ftp://admin:pw-SECRET-10@example.com/", "scheme"),
];

#[test]
fn base_url_errors_never_quote_the_secret() {
    let captured = Captured::this_thread();

    for (input, says) in CASES {
        let secret = input
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .find(|w| w.contains("SECRET"))
            .unwrap();
        let errors = [
            parse_base_url(input).unwrap_err(),
            Transport::new("test", input, ClientOptions::default()).unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.field(), Some("base_url"), "{input}: {err:?}");
            let display = err.to_string();
            let debug = format!("{err:?}");
            assert!(display.contains(says), "{input}: {display}");
            // Neither the secret nor the input it came in.
            for text in [&display, &debug] {
                assert!(!text.contains(secret), "{input}: {text}");
                assert!(!text.contains("SECRET"), "{input}: {text}");
                assert!(!text.contains("admin"), "{input}: {text}");
            }
            tracing::trace!(error = %err, debug = ?err, "base URL refused");
        }
    }
    let log = captured.text();
    assert!(log.contains("base URL refused"), "{log}");
    assert!(!log.contains("SECRET"), "{log}");
}
