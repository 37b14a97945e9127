//! ZITADEL (user service v2) on [`ZitadelSim`], for machine user [`BOT`].

use crate::{DefaultExpiry, Harness};
use async_trait::async_trait;
use pats::reexports::secrecy::ExposeSecret;
use pats::{ClientOptions, Config, CreatedToken, Expiration, PersonalAccessTokens, TokenId};
use pats_sim::zitadel::ZitadelSim;
use pats_sim::{Fault, FaultRule, Faults};
use std::time::Duration;

/// The machine user whose tokens the suite manages.
pub const BOT: &str = "250000000000000001";

/// ZITADEL v2 on its simulator, connected through `pats::connect_with`.
pub struct ZitadelHarness {
    sim: ZitadelSim,
}

/// The suite's configuration: the organization, and [`BOT`] as the default user.
fn config(base_url: &str, pat: &str) -> Config {
    let mut config = portable_config(base_url, pat);
    if let Config::Zitadel(z) = &mut config {
        *z = z.clone().with_user_id(BOT);
    }
    config
}

/// The configuration of a portable program: the organization, and no default user (a
/// token's name says whose it is).
fn portable_config(base_url: &str, pat: &str) -> Config {
    serde_json::from_value(serde_json::json!({
        "provider": "zitadel",
        "base_url": base_url,
        "pat": pat,
        "organization_id": ZitadelSim::DEFAULT_ORG,
    }))
    .unwrap()
}

impl crate::harness::OnSim for ZitadelHarness {
    fn on_emulator(emulator: &pats_sim::Emulator) -> Self {
        Self::on(emulator.zitadel().clone())
    }
}

impl ZitadelHarness {
    fn on(sim: ZitadelSim) -> Self {
        sim.add_machine_user(ZitadelSim::DEFAULT_ORG, BOT);
        Self { sim }
    }
}

#[async_trait]
impl Harness for ZitadelHarness {
    async fn start() -> Self {
        Self::on(ZitadelSim::start().await)
    }

    fn client(&self, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        pats::connect_with(&config(&self.sim.uri(), &self.sim.admin_pat()), options).unwrap()
    }

    fn client_at(&self, base_url: &str, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        pats::connect_with(&config(base_url, &self.sim.admin_pat()), options).unwrap()
    }

    fn client_with_bad_credentials(&self) -> Box<dyn PersonalAccessTokens> {
        pats::connect(&config(&self.sim.uri(), "not-a-valid-pat-0123456789")).unwrap()
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }

    fn provide_name(&self, name: &str) {
        if !self.sim.has_username(ZitadelSim::DEFAULT_ORG, name) {
            self.sim
                .add_named_machine_users(ZitadelSim::DEFAULT_ORG, &[name]);
        }
    }

    fn portable_client(&self) -> Box<dyn PersonalAccessTokens> {
        pats::connect_with(
            &portable_config(&self.sim.uri(), &self.sim.admin_pat()),
            crate::fast_options(),
        )
        .unwrap()
    }

    fn unknown_id(&self) -> TokenId {
        TokenId::new("299999999999999999").unwrap()
    }

    async fn secret_works(&self, created: &CreatedToken) -> bool {
        // A PAT is a bearer token of its machine user.
        let resp = pats::reexports::reqwest::Client::new()
            .post(format!(
                "{}/zitadel.user.v2.UserService/ListPersonalAccessTokens",
                self.sim.uri()
            ))
            .bearer_auth(created.secret.expose_secret())
            .header("content-type", "application/json")
            .body("{}")
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        matches!(resp, Ok(r) if r.status().is_success())
    }

    async fn creates_received(&self) -> usize {
        self.sim.count("/AddPersonalAccessToken").await
    }

    async fn stored_expiry(&self, id: &TokenId) -> Expiration {
        match self.sim.pats().into_iter().find(|p| p.id == id.as_str()) {
            Some(p) if p.expiration.year() >= 9999 => Expiration::Never,
            Some(p) => Expiration::At(p.expiration),
            None => Expiration::Unknown,
        }
    }

    fn default_expiry(&self) -> DefaultExpiry {
        DefaultExpiry::Refused
    }

    fn revoke_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500)).path_contains("/RemovePersonalAccessToken")
    }

    fn create_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500)).path_contains("/AddPersonalAccessToken")
    }

    fn list_rule(&self) -> FaultRule {
        FaultRule::new(Fault::status(500)).path_contains("/ListPersonalAccessTokens")
    }

    fn known_secrets(&self) -> Vec<String> {
        vec![self.sim.admin_pat()]
    }
}
