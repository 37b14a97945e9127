//! Dfns on [`DfnsSim`], as a registered user with a P-256 signing credential.

use crate::{DefaultExpiry, Harness};
use async_trait::async_trait;
use pats::reexports::secrecy::ExposeSecret;
use pats::{ClientOptions, Config, CreatedToken, Expiration, PersonalAccessTokens, TokenId};
use pats_sim::dfns::{DfnsSim, RegisteredUser};
use pats_sim::{Fault, FaultRule, Faults};
use std::time::Duration;

/// Dfns on its simulator, connected through `pats::connect_with`.
pub struct DfnsHarness {
    sim: DfnsSim,
    user: RegisteredUser,
}

fn config(base_url: &str, auth_token: &str, user: &RegisteredUser) -> Config {
    serde_json::from_value(serde_json::json!({
        "provider": "dfns",
        "base_url": base_url,
        "auth_token": auth_token,
        "credential_id": user.credential_id,
        "private_key": user.private_key_pem,
    }))
    .unwrap()
}

impl crate::harness::OnSim for DfnsHarness {
    fn on_emulator(emulator: &pats_sim::Emulator) -> Self {
        Self::on(emulator.dfns().clone())
    }
}

impl DfnsHarness {
    fn on(sim: DfnsSim) -> Self {
        let user = sim.register_user();
        Self { sim, user }
    }
}

#[async_trait]
impl Harness for DfnsHarness {
    async fn start() -> Self {
        Self::on(DfnsSim::start().await)
    }

    fn client(&self, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        let c = config(&self.sim.uri(), &self.user.auth_token, &self.user);
        pats::connect_with(&c, options).unwrap()
    }

    fn client_at(&self, base_url: &str, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        pats::connect_with(
            &config(base_url, &self.user.auth_token, &self.user),
            options,
        )
        .unwrap()
    }

    fn client_with_bad_credentials(&self) -> Box<dyn PersonalAccessTokens> {
        pats::connect(&config(
            &self.sim.uri(),
            "not-a-dfns-token-0123456789",
            &self.user,
        ))
        .unwrap()
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }

    fn unknown_id(&self) -> TokenId {
        TokenId::new("to-0000-0000-unknown").unwrap()
    }

    async fn secret_works(&self, created: &CreatedToken) -> bool {
        // A PAT authenticates reads (it may not manage PATs, like the real service).
        let resp = pats::reexports::reqwest::Client::new()
            .get(format!("{}/auth/pats", self.sim.uri()))
            .bearer_auth(created.secret.expose_secret())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        matches!(resp, Ok(r) if r.status().is_success())
    }

    async fn creates_received(&self) -> usize {
        self.sim.request_count("POST", "/auth/pats").await
    }

    async fn stored_expiry(&self, id: &TokenId) -> Expiration {
        // The Pat object carries no expiry; the simulator keeps what create asked for.
        let Some(pat) = self
            .sim
            .pats()
            .into_iter()
            .find(|p| p["tokenId"] == id.as_str())
        else {
            return Expiration::Unknown;
        };
        let created =
            pats::__private::wire::parse_timestamp(pat["dateCreated"].as_str().unwrap_or_default());
        let requests = self.sim.received_requests().await;
        let seconds = requests
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/auth/pats")
            .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .find(|b| b["name"] == pat["name"])
            .and_then(|b| b["secondsValid"].as_i64());
        match (created, seconds) {
            (Some(c), Some(s)) => Expiration::At(c + pats::reexports::time::Duration::seconds(s)),
            _ => Expiration::Unknown,
        }
    }

    fn default_expiry(&self) -> DefaultExpiry {
        DefaultExpiry::NotReported
    }

    fn revoke_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("DELETE")
            .path_contains("/auth/pats/")
    }

    fn create_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("POST")
            .path_contains("/auth/pats")
    }

    fn list_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("GET")
            .path_contains("/auth/pats")
    }

    fn known_secrets(&self) -> Vec<String> {
        vec![
            self.user.auth_token.clone(),
            self.user.private_key_pem.clone(),
        ]
    }
}
