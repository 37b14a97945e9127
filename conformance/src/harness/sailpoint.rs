//! SailPoint on [`SailPointSim`]: API v3 (`SailPointHarness`), or v2025
//! (`SailPointHarness<true>`: no default lifetime, never-expiring tokens offered).

use crate::{DefaultExpiry, Harness};
use async_trait::async_trait;
use pats::reexports::secrecy::{ExposeSecret, SecretString};
use pats::sailpoint::{ApiVersion, SailPointClient};
use pats::{ClientOptions, Config, CreatedToken, Expiration, PersonalAccessTokens, TokenId};
use pats_sim::sailpoint::SailPointSim;
use pats_sim::{Fault, FaultRule, Faults};
use std::time::Duration;

/// SailPoint v3 (or, with `V2025`, v2025) on its simulator, connected through
/// `pats::connect_with`.
pub struct SailPointHarness<const V2025: bool = false> {
    sim: SailPointSim,
}

impl<const V2025: bool> SailPointHarness<V2025> {
    const VERSION: ApiVersion = if V2025 {
        ApiVersion::V2025
    } else {
        ApiVersion::V3
    };

    fn config(base_url: &str, secret: &str) -> Config {
        let json = serde_json::json!({
            "provider": "sailpoint",
            "base_url": base_url,
            "client_id": SailPointSim::CLIENT_ID,
            "client_secret": secret,
            "api_version": if V2025 { "v2025" } else { "v3" },
        });
        serde_json::from_value(json).unwrap()
    }
}

impl<const V2025: bool> crate::harness::OnSim for SailPointHarness<V2025> {
    fn on_emulator(emulator: &pats_sim::Emulator) -> Self {
        Self {
            sim: emulator.sailpoint().clone(),
        }
    }
}

#[async_trait]
impl<const V2025: bool> Harness for SailPointHarness<V2025> {
    async fn start() -> Self {
        Self {
            sim: SailPointSim::start().await,
        }
    }

    fn client(&self, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        pats::connect_with(
            &Self::config(&self.sim.uri(), SailPointSim::CLIENT_SECRET),
            options,
        )
        .unwrap()
    }

    fn client_at(&self, base_url: &str, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        // A bearer token, so a raw fault server sees the API call and not a token request.
        Box::new(
            SailPointClient::builder()
                .base_url(base_url)
                .bearer_token(SecretString::from(
                    self.sim.issue_access_token(SailPointSim::IDENTITY_ID),
                ))
                .api_version(Self::VERSION)
                .options(options)
                .build()
                .unwrap(),
        )
    }

    fn client_with_bad_credentials(&self) -> Box<dyn PersonalAccessTokens> {
        pats::connect(&Self::config(&self.sim.uri(), "wrong-secret-0123456789")).unwrap()
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }

    fn unknown_id(&self) -> TokenId {
        TokenId::new("ef38f94347e94562b5bb8424a56397d8").unwrap()
    }

    async fn secret_works(&self, created: &CreatedToken) -> bool {
        // SailPoint PATs are client credentials: client id = token id.
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            created.info.id,
            created.secret.expose_secret()
        );
        let client = pats::reexports::reqwest::Client::new();
        let resp = client
            .post(format!("{}/oauth/token", self.sim.uri()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        matches!(resp, Ok(r) if r.status().is_success())
    }

    async fn creates_received(&self) -> usize {
        self.sim
            .api_requests()
            .await
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count()
    }

    async fn stored_expiry(&self, id: &TokenId) -> Expiration {
        let stored = self.sim.stored_token(id.as_str()).unwrap_or_default();
        super::expiration_from(stored.get("expirationDate"), Expiration::Never)
    }

    fn default_expiry(&self) -> DefaultExpiry {
        if V2025 {
            // The default would be a token that never expires.
            return DefaultExpiry::Refused;
        }
        // v3: six calendar months; `stored_expiry` is compared within seconds, so compute
        // it the way the provider does.
        let now = pats::reexports::time::OffsetDateTime::now_utc();
        let six = pats::sailpoint::six_months_after(now);
        DefaultExpiry::After(Duration::from_secs(
            u64::try_from((six - now).whole_seconds()).unwrap(),
        ))
    }

    fn revoke_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("DELETE")
            .path_contains("/personal-access-tokens")
    }

    fn create_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("POST")
            .path_contains("/personal-access-tokens")
    }

    fn list_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("GET")
            .path_contains("/personal-access-tokens")
    }

    fn known_secrets(&self) -> Vec<String> {
        vec![SailPointSim::CLIENT_SECRET.to_owned()]
    }
}
