//! Embedded simulators (feature `simulate`): every enabled provider's API served on
//! loopback by `pats-sim`, with a client connected to it through the same
//! [`Config`] path real providers use. For trying pats, examples and demos without an
//! account; nothing leaves `127.0.0.1`.

use crate::{ClientOptions, Config, PersonalAccessTokens, Result};

/// A running simulator and a client connected to it.
pub struct Simulation {
    provider: &'static str,
    config: Config,
    client: Box<dyn PersonalAccessTokens>,
    _server: Server,
}

#[allow(dead_code)]
enum Server {
    #[cfg(feature = "dfns")]
    Dfns(pats_sim::dfns::DfnsSim),
    #[cfg(feature = "zitadel")]
    Zitadel(pats_sim::zitadel::ZitadelSim),
    #[cfg(feature = "sailpoint")]
    SailPoint(pats_sim::sailpoint::SailPointSim),
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("provider", &self.provider)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// The provider name.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The client, connected to the simulator.
    pub fn client(&self) -> &dyn PersonalAccessTokens {
        self.client.as_ref()
    }

    /// The configuration the client was built from (its secrets are the simulator's).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Makes `name` usable as a token name, as a provider's administrator would: on
    /// ZITADEL, where a token's name is its machine user's username
    /// ([`Naming::Owner`](crate::Naming::Owner)), it adds a machine user of that username
    /// (once); elsewhere any name is usable and nothing changes.
    pub fn provide_name(&self, name: &str) {
        match &self._server {
            #[cfg(feature = "zitadel")]
            Server::Zitadel(sim) => {
                use pats_sim::zitadel::ZitadelSim;
                if !sim.has_username(ZitadelSim::DEFAULT_ORG, name) {
                    sim.add_named_machine_users(ZitadelSim::DEFAULT_ORG, &[name]);
                }
            }
            _ => {}
        }
    }
}

/// The machine user whose tokens a ZITADEL simulation manages.
pub const ZITADEL_MACHINE_USER: &str = "250000000000000001";

/// Starts the simulator of `provider` (`dfns`, `zitadel` or `sailpoint`) and connects a
/// client with `options`.
pub async fn start(provider: &str, options: ClientOptions) -> Result<Simulation> {
    let (provider, config, server): (&'static str, Config, Server) = match provider {
        #[cfg(feature = "dfns")]
        "dfns" => {
            let sim = pats_sim::dfns::DfnsSim::start().await;
            let user = sim.register_user();
            let config = crate::DfnsConfig::from_private_key(
                user.auth_token.clone().into(),
                user.credential_id.clone(),
                user.private_key_pem.clone().into(),
            )
            .with_base_url(sim.uri())
            .into();
            ("dfns", config, Server::Dfns(sim))
        }
        #[cfg(feature = "zitadel")]
        "zitadel" => {
            use pats_sim::zitadel::ZitadelSim;
            let sim = ZitadelSim::start().await;
            sim.add_machine_user(ZitadelSim::DEFAULT_ORG, ZITADEL_MACHINE_USER);
            let config = crate::ZitadelConfig::from_pat(sim.uri(), sim.admin_pat().into())
                .with_organization_id(ZitadelSim::DEFAULT_ORG)
                .with_user_id(ZITADEL_MACHINE_USER)
                .into();
            ("zitadel", config, Server::Zitadel(sim))
        }
        #[cfg(feature = "sailpoint")]
        "sailpoint" => {
            use pats_sim::sailpoint::SailPointSim;
            let sim = SailPointSim::start().await;
            let config = crate::SailPointConfig::from_client_credentials(
                sim.uri(),
                SailPointSim::CLIENT_ID,
                SailPointSim::CLIENT_SECRET.into(),
            )
            .into();
            ("sailpoint", config, Server::SailPoint(sim))
        }
        other => {
            return Err(crate::Error::invalid(
                "provider",
                format!(
                    "`{other}` is not a provider compiled into this build (available: {})",
                    crate::PROVIDERS.join(", ")
                ),
            ));
        }
    };
    let client = crate::connect_with(&config, options)?;
    Ok(Simulation {
        provider,
        config,
        client,
        _server: server,
    })
}

/// Starts a simulation of every provider compiled in, in [`PROVIDERS`](crate::PROVIDERS)
/// order.
pub async fn start_all(options: ClientOptions) -> Result<Vec<Simulation>> {
    let mut all = Vec::new();
    for provider in crate::PROVIDERS {
        all.push(start(provider, options.clone()).await?);
    }
    Ok(all)
}
