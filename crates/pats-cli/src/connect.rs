//! Building the client: `--simulate`, a profile of the config file, or the environment.

use crate::cli::Cli;
use crate::error::{CliError, full_text};
use crate::profiles::{self, ProfilesFile, Target};
use pats::simulate::Simulation;
use pats::{ClientOptions, Config, CreateToken, Expiry, NeverExpires, PersonalAccessTokens};
use pats_sim::zitadel::ZitadelSim;
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
    _zitadel: Option<ZitadelSim>,
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
        _simulation: None,
        _zitadel: None,
    })
}

/// Starts the simulator of `provider` and seeds the demo tokens. SailPoint is simulated
/// on API v2025, where tokens may never expire.
async fn simulate(provider: &'static str) -> Result<Session, CliError> {
    if provider == "zitadel" {
        return simulate_zitadel().await;
    }
    let simulation = pats::simulate::start(provider, ClientOptions::default()).await?;
    let mut config = simulation.config().clone();
    if let Config::SailPoint(c) = &mut config {
        c.api_version = Some(pats::sailpoint::ApiVersion::V2025);
    }
    let client = pats::connect(&config)?;
    seed(client.as_ref()).await?;
    Ok(Session {
        client,
        simulated: true,
        _simulation: Some(simulation),
        _zitadel: None,
    })
}

/// The organization of the ZITADEL demo.
const DEMO_ZITADEL_ORG: &str = "300000000000000001";

/// The ZITADEL simulation: on ZITADEL a token's name is its machine user's username (one
/// machine user per purpose), so each demo token gets a machine user of that username
/// before it is created by name. The client is configured as `pats::simulate` does it
/// (default user [`pats::simulate::ZITADEL_MACHINE_USER`]), in an organization of its own.
async fn simulate_zitadel() -> Result<Session, CliError> {
    let sim = ZitadelSim::start().await;
    // An organization of its own, so that a listing shows the demo tokens only (the admin
    // PAT the client authenticates with lives in the default organization).
    let org = DEMO_ZITADEL_ORG;
    sim.add_org(org);
    sim.add_machine_user(org, pats::simulate::ZITADEL_MACHINE_USER);
    for (n, (name, _)) in DEMO_TOKENS.iter().enumerate() {
        sim.add_named_machine_user(org, &format!("{}", 260_000_000_000_000_001 + n), name);
    }
    let config: Config = pats::ZitadelConfig::from_pat(sim.uri(), sim.admin_pat().into())
        .with_organization_id(org)
        .with_user_id(pats::simulate::ZITADEL_MACHINE_USER)
        .into();
    let client = pats::connect(&config)?;
    seed(client.as_ref()).await?;
    Ok(Session {
        client,
        simulated: true,
        _simulation: None,
        _zitadel: Some(sim),
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
