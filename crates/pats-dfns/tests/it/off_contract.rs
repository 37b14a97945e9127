//! An off-contract request fails the test that sent it under plain `cargo test` (issue 24):
//! each simulator keeps the contract violations of its exchanges and panics with them when
//! it is dropped. The proof runs the sending test in a child process of this test binary
//! (without `PATS_CONTRACT_LOG`, so `cargo xtask test`'s totals do not count it) and checks
//! that the child failed, naming the request.
#![allow(clippy::expect_used)]

use crate::common;
use pats_core::Request;

/// Set in the child process only: the sending test does nothing in a normal run.
const CHILD: &str = "PATS_TEST_CONTRACT_CHILD";

/// A path Dfns does not define, sent from the pats transport without the off-contract mark:
/// the simulator refuses it (404), right for a simulator, but pats must never send it.
#[tokio::test]
async fn child_sends_a_request_off_the_contract() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let env = common::env().await;
    let request = Request::get("/auth/pats/not/a/described/path").segments([
        "auth",
        "pats",
        "not",
        "a",
        "described",
        "path",
    ]);
    let refused = env.client.send(request).await;
    assert!(refused.is_err(), "the simulator refuses it: {refused:?}");
    // `env` and its simulator are dropped here: the test fails.
}

#[test]
fn an_off_contract_request_fails_the_test_that_sent_it() {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let name = format!("{module}::child_sends_a_request_off_the_contract");
    let exe = std::env::current_exe().expect("the test binary");
    let output = std::process::Command::new(exe)
        .args(["--exact", &name, "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("PATS_CONTRACT_LOG")
        .output()
        .expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "the child passed:\n{text}");
    assert!(text.contains("1 failed"), "{text}");
    assert!(
        text.contains("1 exchange(s) with this dfns simulator were off the vendor contract"),
        "{text}"
    );
    assert!(
        text.contains("GET /auth/pats/not/a/described/path"),
        "{text}"
    );
    assert!(text.contains("unknown path"), "{text}");
}
