//! GitLab on the standalone [`GitLabSim`]: an administrator's token manages the tokens of
//! the user [`GitLabHarness::owner_id`], with `api` as the scope of creates that name none
//! (the client's configuration, as `GITLAB_USER_ID` and `GITLAB_SCOPES` give it).

use crate::harness::OnSim;
use crate::{DefaultExpiry, Harness};
use async_trait::async_trait;
use pats::reexports::secrecy::ExposeSecret;
use pats::reexports::time::Time;
use pats::{ClientOptions, Config, CreatedToken, Expiration, PersonalAccessTokens, TokenId};
use pats_sim::gitlab::GitLabSim;
use pats_sim::{Fault, FaultRule, Faults};
use std::time::Duration;

/// GitLab on its simulator, connected through `pats::connect_with`.
pub struct GitLabHarness {
    sim: GitLabSim,
    admin_token: String,
    owner: u64,
}

impl GitLabHarness {
    /// The user whose tokens the suite manages.
    pub fn owner_id(&self) -> u64 {
        self.owner
    }

    /// A client of the administrator configured with only the URL and the token: no
    /// default owner or scopes, so its capabilities are GitLab's own (a create needs
    /// scopes).
    pub fn bare_client(&self) -> Box<dyn PersonalAccessTokens> {
        let config: Config = serde_json::from_value(serde_json::json!({
            "provider": "gitlab",
            "base_url": self.sim.uri(),
            "token": self.admin_token,
        }))
        .unwrap();
        pats::connect(&config).unwrap()
    }

    /// The suite's configuration: the administrator's token, the user whose tokens are
    /// managed and the scopes of a create that names none.
    fn config(&self, base_url: &str, token: &str) -> Config {
        serde_json::from_value(serde_json::json!({
            "provider": "gitlab",
            "base_url": base_url,
            "token": token,
            "user_id": self.owner,
            "scopes": ["api"],
        }))
        .unwrap()
    }
}

impl GitLabHarness {
    /// The suite's administrator (`admin`, with a token of scope `api`) and managed user
    /// on `sim`.
    fn on(sim: GitLabSim, admin: &str) -> Self {
        let admin = sim.seed_user(admin, true);
        let owner = sim.seed_user("ci-bot", false);
        let admin_token = sim.seed_token(admin, "conformance-admin", &["api"]);
        Self {
            sim,
            admin_token,
            owner,
        }
    }
}

impl OnSim for GitLabHarness {
    /// On the emulator's GitLab, beside its own administrator (`root`, whose token the
    /// emulator exports), another one for the suite.
    fn on_emulator(emulator: &pats_sim::Emulator) -> Self {
        Self::on(emulator.gitlab().clone(), "conformance-root")
    }
}

#[async_trait]
impl Harness for GitLabHarness {
    async fn start() -> Self {
        Self::on(GitLabSim::start().await, "root")
    }

    fn client(&self, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        pats::connect_with(&self.config(&self.sim.uri(), &self.admin_token), options).unwrap()
    }

    fn client_at(&self, base_url: &str, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        pats::connect_with(&self.config(base_url, &self.admin_token), options).unwrap()
    }

    fn client_with_bad_credentials(&self) -> Box<dyn PersonalAccessTokens> {
        pats::connect(&self.config(&self.sim.uri(), "glpat-wrongwrongwrongwrong0")).unwrap()
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }

    async fn secret_works(&self, created: &CreatedToken) -> bool {
        // A token of any scope may read itself.
        let resp = pats::reexports::reqwest::Client::new()
            .get(format!(
                "{}/api/v4/personal_access_tokens/self",
                self.sim.uri()
            ))
            .header("PRIVATE-TOKEN", created.secret.expose_secret())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        matches!(resp, Ok(r) if r.status().is_success())
    }

    fn unknown_id(&self) -> TokenId {
        TokenId::new("987654321").unwrap()
    }

    /// Creates and rotations: each makes a token.
    async fn creates_received(&self) -> usize {
        self.sim
            .requests()
            .await
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count()
    }

    async fn stored_expiry(&self, id: &TokenId) -> Expiration {
        let Some(stored) = id
            .as_str()
            .parse()
            .ok()
            .and_then(|id| self.sim.stored_token(id))
        else {
            return Expiration::Unknown;
        };
        match stored.expires_at {
            Some(day) => Expiration::At(day.with_time(Time::MIDNIGHT).assume_utc()),
            None => Expiration::Never,
        }
    }

    fn default_expiry(&self) -> DefaultExpiry {
        // On an instance that does not require an expiry, the default is a token that never
        // expires: refused before sending.
        DefaultExpiry::Refused
    }

    fn revoke_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("DELETE")
            .path_contains("/personal_access_tokens")
    }

    fn create_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("POST")
            .path_contains("/personal_access_tokens")
    }

    fn list_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500))
            .method("GET")
            .path_contains("/personal_access_tokens")
    }

    fn known_secrets(&self) -> Vec<String> {
        vec![self.admin_token.clone()]
    }
}
