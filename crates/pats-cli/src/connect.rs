//! Building the client: `--simulate`, `--config FILE` or the environment.

use crate::cli::Cli;
use crate::error::{CliError, one_line};
use pats::simulate::Simulation;
use pats::{ClientOptions, Config, CreateToken, Expiry, NeverExpires, PersonalAccessTokens};
use std::time::Duration;

/// The provider `--simulate` uses without `--provider`.
pub const DEFAULT_SIMULATED: &str = "sailpoint";

/// The demo tokens a simulation is seeded with: name, lifetime in days (`None`: never
/// expires where the provider allows it, else 180 days).
pub const DEMO_TOKENS: [(&str, Option<u64>); 3] = [
    ("demo-ci-deploy", Some(90)),
    ("demo-expiring", Some(5)),
    ("demo-legacy", None),
];

/// A connected client (and the simulator behind it, with `--simulate`).
pub struct Session {
    client: Box<dyn PersonalAccessTokens>,
    simulated: bool,
    _simulation: Option<Simulation>,
}

impl Session {
    /// The client.
    pub fn client(&self) -> &dyn PersonalAccessTokens {
        self.client.as_ref()
    }

    /// Whether this is a `--simulate` run.
    pub fn simulated(&self) -> bool {
        self.simulated
    }
}

/// Connects as the global options say.
pub async fn connect(cli: &Cli) -> Result<Session, CliError> {
    if cli.simulate {
        return simulate(cli.provider.unwrap_or(DEFAULT_SIMULATED)).await;
    }
    let config = match &cli.config {
        Some(path) => {
            let source = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!(
                    "cannot read the config file {source}: {e}; give an existing TOML file, or \
                     use the environment (see `pats --help`)"
                ))
            })?;
            let config: Config = toml::from_str(&text).map_err(|e| {
                // The message only: the error's own rendering quotes the file's line,
                // which may hold a secret.
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
                CliError::usage(format!(
                    "config file {source}{}: {}; it needs `provider = \"dfns\" | \"zitadel\" | \
                     \"sailpoint\"` and that provider's settings",
                    line.map(|l| format!(" line {l}")).unwrap_or_default(),
                    one_line(e.message())
                ))
            })?;
            if let Some(wanted) = cli.provider
                && wanted != config.provider()
            {
                return Err(CliError::usage(format!(
                    "--provider {wanted} does not match provider = \"{}\" in {source}",
                    config.provider()
                )));
            }
            config
        }
        None => {
            let provider = cli.provider;
            Config::from_lookup(|name| match (name, provider) {
                ("PATS_PROVIDER", Some(p)) => Some(p.to_owned()),
                _ => std::env::var(name).ok(),
            })
            .map_err(|e| CliError::config(e, "environment"))?
        }
    };
    let client = pats::connect_with(&config, ClientOptions::default())
        .map_err(|e| CliError::config(e, config.provider()))?;
    Ok(Session {
        client,
        simulated: false,
        _simulation: None,
    })
}

/// Starts the simulator of `provider` and seeds the demo tokens. SailPoint is simulated
/// on API v2025, where tokens may never expire.
async fn simulate(provider: &'static str) -> Result<Session, CliError> {
    let simulation = pats::simulate::start(provider, ClientOptions::default()).await?;
    let mut config = simulation.config().clone();
    if let Config::SailPoint(c) = &mut config {
        c.api_version = Some(pats::SailPointApiVersion::V2025);
    }
    let client = pats::connect(&config)?;
    seed(client.as_ref()).await?;
    Ok(Session {
        client,
        simulated: true,
        _simulation: Some(simulation),
    })
}

async fn seed(client: &dyn PersonalAccessTokens) -> Result<(), CliError> {
    let never = client.capabilities().never_expires;
    for (name, days) in DEMO_TOKENS {
        let expiry = match days {
            Some(days) => Expiry::In(Duration::from_secs(days * 86_400)),
            None if never => Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK),
            None => Expiry::In(Duration::from_secs(180 * 86_400)),
        };
        let request = CreateToken::builder().name(name).expiry(expiry).build()?;
        // The demo secrets are dropped unseen.
        let _created = client.create(&request).await.map_err(|e| {
            CliError::failed(format!(
                "seeding the simulation failed: {}",
                one_line(&e.to_string())
            ))
        })?;
    }
    Ok(())
}
