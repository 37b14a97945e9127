//! Building the client: `--simulate`, a profile of the config file, or the environment.

use crate::cli::Cli;
use crate::error::{CliError, full_text};
use crate::profiles::{self, ProfilesFile, Target};
use crate::sim;
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
    _simulator: Option<sim::Server>,
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

/// The process environment as a lookup.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The profile `--profile` or `PATS_PROFILE` names.
pub fn wanted_profile(cli: &Cli) -> Option<String> {
    cli.profile
        .clone()
        .or_else(|| process_env("PATS_PROFILE").filter(|p| !p.is_empty()))
}

/// The profiles file that applies: `--config FILE`; else the default location when a
/// profile is named or `required` (`--all`, `pats profiles`), or when it exists and neither
/// `--provider` nor `PATS_PROVIDER` asks for the environment. `None`: the environment.
/// Warns about inline secrets in a file others can read.
pub fn profiles_file(cli: &Cli, required: bool) -> Result<Option<ProfilesFile>, CliError> {
    let path = match &cli.config {
        Some(path) => path.clone(),
        None => {
            let Some(path) = profiles::default_path(&process_env) else {
                if required || wanted_profile(cli).is_some() {
                    return Err(CliError::usage(
                        "no config file: neither XDG_CONFIG_HOME nor HOME is set; give \
                         --config FILE",
                    ));
                }
                return Ok(None);
            };
            let env_asked = cli.provider.is_some() || process_env("PATS_PROVIDER").is_some();
            if !(required || wanted_profile(cli).is_some()) && (env_asked || !path.exists()) {
                return Ok(None);
            }
            if !path.exists() {
                return Err(CliError::usage(format!(
                    "no config file at {}: create it with `[profiles.NAME]` tables, or give \
                     --config FILE (see `pats --help`)",
                    path.display()
                )));
            }
            path
        }
    };
    let file = ProfilesFile::read(&path)?;
    file.warn_inline_secrets();
    Ok(Some(file))
}

/// Connects as the global options say.
pub async fn connect(cli: &Cli) -> Result<Session, CliError> {
    connect_target(select(cli)?.1).await
}

/// What the global options select: a name for reports (the profile's, `simulate` or
/// `environment`) and what to connect to.
pub fn select(cli: &Cli) -> Result<(String, Target), CliError> {
    if cli.simulate {
        let provider = cli.provider.unwrap_or(DEFAULT_SIMULATED);
        return Ok(("simulate".into(), Target::Simulate(provider)));
    }
    match profiles_file(cli, false)? {
        Some(file) => {
            let profile = file.select(wanted_profile(cli).as_deref())?;
            let target = profile.resolve(&process_env).map_err(|e| CliError {
                message: format!("config file {}: {}", file.path.display(), e.message),
                ..e
            })?;
            let provider = match &target {
                Target::Config(c) => c.provider(),
                Target::Simulate(p) => p,
            };
            if let Some(wanted) = cli.provider
                && wanted != provider
            {
                return Err(CliError::usage(format!(
                    "--provider {wanted} does not match provider = \"{provider}\" of profile \
                     `{}` in {}",
                    profile.name,
                    file.path.display()
                )));
            }
            Ok((profile.name.clone(), target))
        }
        None => {
            let provider = cli.provider;
            let config = Config::from_lookup(|name| match (name, provider) {
                ("PATS_PROVIDER", Some(p)) => Some(p.to_owned()),
                _ => std::env::var(name).ok(),
            })
            .map_err(|e| CliError::config(e, "environment"))?;
            Ok(("environment".into(), Target::Config(config)))
        }
    }
}

/// Connects to what a profile names.
pub async fn connect_target(target: Target) -> Result<Session, CliError> {
    connect_target_with(target, ClientOptions::default()).await
}

/// Connects to what a profile names, with `options` (a simulation ignores them).
pub async fn connect_target_with(
    target: Target,
    options: ClientOptions,
) -> Result<Session, CliError> {
    let config = match target {
        Target::Simulate(provider) => return simulate(provider).await,
        Target::Config(config) => config,
    };
    let client =
        pats::connect_with(&config, options).map_err(|e| CliError::config(e, config.provider()))?;
    Ok(Session {
        client,
        simulated: false,
        _simulator: None,
    })
}

/// Starts the simulator of `provider` and seeds the demo tokens (see
/// [`sim::start_demo`]).
async fn simulate(provider: &'static str) -> Result<Session, CliError> {
    let names = DEMO_TOKENS.map(|(name, _)| name);
    let simulation = sim::start_demo(provider, &names).await?;
    seed(simulation.client.as_ref()).await?;
    Ok(Session {
        client: simulation.client,
        simulated: true,
        _simulator: Some(simulation.server),
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
            CliError::failed(format!("seeding the simulation failed: {}", full_text(&e)))
        })?;
    }
    Ok(())
}
