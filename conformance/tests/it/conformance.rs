//! The conformance suite, once per provider. A new provider: one more line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_conformance::conformance_suite;
use pats_conformance::harness::{
    DfnsHarness, Emulated, GitLabHarness, SailPointHarness, ZitadelHarness,
};

conformance_suite!(dfns, DfnsHarness);
conformance_suite!(zitadel, ZitadelHarness);
conformance_suite!(sailpoint, SailPointHarness);
conformance_suite!(sailpoint_v2025, SailPointHarness<true>);
conformance_suite!(gitlab, GitLabHarness);
// The same suite against the emulator `pats sim serve` runs (admin API, state file).
conformance_suite!(emulated_dfns, Emulated<DfnsHarness>);
conformance_suite!(emulated_zitadel, Emulated<ZitadelHarness>);
conformance_suite!(emulated_sailpoint, Emulated<SailPointHarness>);
conformance_suite!(emulated_gitlab, Emulated<GitLabHarness>);

/// The audit program over every provider at once: every provider's token expiring
/// within 14 days is found, and the ones a provider cannot judge are reported as such.
#[tokio::test]
async fn portable_expiry_audit_across_providers() {
    use pats_conformance::Harness;
    use pats_conformance::programs::{Finding, expiry_audit};
    use std::time::Duration;
    let day = Duration::from_secs(86_400);
    let dfns = DfnsHarness::start().await;
    let zitadel = ZitadelHarness::start().await;
    let sailpoint = <SailPointHarness>::start().await;
    let gitlab = GitLabHarness::start().await;
    let clients = [
        dfns.portable_client(),
        zitadel.portable_client(),
        sailpoint.portable_client(),
        gitlab.portable_client(),
    ];
    zitadel.provide_name("audit-soon");
    let mut soon = Vec::new();
    for pats in &clients {
        let request = pats::CreateToken::builder()
            .name("audit-soon")
            .expiry(pats::Expiry::In(5 * day))
            .build()
            .unwrap();
        soon.push(pats.create(&request).await.unwrap().info.id);
    }
    let all: Vec<&dyn pats::PersonalAccessTokens> = clients.iter().map(|c| c.as_ref()).collect();
    let lines = expiry_audit(&all, 14 * day).await.unwrap();
    // Each provider's lines come in the order the providers were given.
    let order: Vec<_> = lines.iter().map(|l| l.provider).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|p| clients.iter().position(|c| c.provider() == *p));
    assert_eq!(order, sorted);
    for (pats, id) in clients.iter().zip(&soon) {
        let line = lines.iter().find(|l| &l.id == id).expect("reported");
        assert_eq!(line.provider, pats.provider());
        assert_eq!(line.name.as_deref(), Some("audit-soon"));
        if pats.capabilities().reports_expiry() {
            assert!(matches!(line.finding, Finding::Expiring(_)), "{line:?}");
        } else {
            assert_eq!(line.finding, Finding::CannotJudge, "{line:?}");
        }
    }
}
