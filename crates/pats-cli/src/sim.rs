//! The embedded simulators behind `--simulate` and `pats providers`: a provider's API
//! served on loopback by `pats-sim`, and a client connected to it through the variables a
//! real provider is configured with (`PATS_PROVIDER`, `SAIL_*`, …, read by
//! [`Config::from_lookup`]). Nothing leaves `127.0.0.1`.

use pats::{Config, PersonalAccessTokens};
use pats_sim::dfns::DfnsSim;
use pats_sim::gitlab::GitLabSim;
use pats_sim::sailpoint::SailPointSim;
use pats_sim::zitadel::ZitadelSim;

/// The machine user whose tokens a ZITADEL simulation manages.
const ZITADEL_MACHINE_USER: &str = "250000000000000001";

/// The organization of the ZITADEL demo: one of its own, so that a listing shows the demo
/// tokens only (the admin PAT the client authenticates with lives in the default one).
const DEMO_ZITADEL_ORG: &str = "300000000000000001";

/// The first id of the ZITADEL demo's machine users (one per demo token).
const DEMO_ZITADEL_FIRST_USER: u64 = 260_000_000_000_000_001;

/// A running simulator and a client connected to it.
pub struct Simulation {
    /// The provider's name.
    pub provider: &'static str,
    /// The client, connected to the simulator.
    pub client: Box<dyn PersonalAccessTokens>,
    /// The simulator: it serves until this is dropped.
    pub server: Server,
}

/// A running simulator, held only to keep it serving (dropping it stops it).
#[allow(dead_code)]
pub enum Server {
    Dfns(DfnsSim),
    Zitadel(ZitadelSim),
    SailPoint(SailPointSim),
    GitLab(GitLabSim),
}

/// Starts the simulator of `provider` (`dfns`, `zitadel`, `sailpoint` or `gitlab`) with
/// the provider's default settings.
pub async fn start(provider: &str) -> pats::Result<Simulation> {
    launch(provider, None).await
}

/// Starts every provider's simulator, in [`pats::PROVIDERS`] order.
pub async fn start_all() -> pats::Result<Vec<Simulation>> {
    let mut all = Vec::new();
    for provider in pats::PROVIDERS {
        all.push(start(provider).await?);
    }
    Ok(all)
}

/// Starts the `--simulate` demo of `provider`, ready for tokens named `names`: SailPoint on
/// API v2025, where tokens may never expire; ZITADEL, where a token's name is its machine
/// user's username (one machine user per purpose), in an organization of its own with a
/// machine user of each name; GitLab as a new instance (an administrator, `root`, whose
/// token the client uses).
pub async fn start_demo(provider: &str, names: &[&str]) -> pats::Result<Simulation> {
    launch(provider, Some(names)).await
}

async fn launch(provider: &str, demo: Option<&[&str]>) -> pats::Result<Simulation> {
    // What the environment of a real provider would hold.
    let mut vars: Vec<(&str, String)> = vec![("PATS_PROVIDER", provider.to_owned())];
    let (provider, server) = match provider {
        "dfns" => {
            let sim = DfnsSim::start().await;
            let user = sim.register_user();
            vars.extend([
                ("DFNS_BASE_URL", sim.uri()),
                ("DFNS_AUTH_TOKEN", user.auth_token.clone()),
                ("DFNS_CRED_ID", user.credential_id.clone()),
                ("DFNS_PRIVATE_KEY", user.private_key_pem.clone()),
            ]);
            ("dfns", Server::Dfns(sim))
        }
        "zitadel" => {
            let sim = ZitadelSim::start().await;
            let org = if demo.is_some() {
                sim.add_org(DEMO_ZITADEL_ORG);
                DEMO_ZITADEL_ORG
            } else {
                ZitadelSim::DEFAULT_ORG
            };
            sim.add_machine_user(org, ZITADEL_MACHINE_USER);
            for (user, name) in (DEMO_ZITADEL_FIRST_USER..).zip(demo.unwrap_or_default()) {
                sim.add_named_machine_user(org, &user.to_string(), name);
            }
            vars.extend([
                ("ZITADEL_URL", sim.uri()),
                ("ZITADEL_PAT", sim.admin_pat()),
                ("ZITADEL_ORG_ID", org.to_owned()),
                ("ZITADEL_USER_ID", ZITADEL_MACHINE_USER.to_owned()),
            ]);
            ("zitadel", Server::Zitadel(sim))
        }
        "sailpoint" => {
            let sim = SailPointSim::start().await;
            vars.extend([
                ("SAIL_BASE_URL", sim.uri()),
                ("SAIL_CLIENT_ID", SailPointSim::CLIENT_ID.to_owned()),
                ("SAIL_CLIENT_SECRET", SailPointSim::CLIENT_SECRET.to_owned()),
            ]);
            if demo.is_some() {
                vars.push(("SAIL_API_VERSION", "v2025".to_owned()));
            }
            ("sailpoint", Server::SailPoint(sim))
        }
        "gitlab" => {
            let sim = GitLabSim::start().await;
            let root = sim.seed_user("root", true);
            // The administrator's own token expires like any other (GitLab's default
            // maximum, a year), so `audit` finds no never-expiring token GitLab would not
            // let pats create.
            let (_, token) = sim.seed_pat(root, "pats").ok_or_else(|| {
                pats::Error::invalid("provider", "the GitLab simulator lost its administrator")
            })?;
            vars.extend([
                ("GITLAB_BASE_URL", sim.uri()),
                ("GITLAB_TOKEN", token),
                ("GITLAB_USER_ID", root.to_string()),
                ("GITLAB_SCOPES", "api".to_owned()),
            ]);
            ("gitlab", Server::GitLab(sim))
        }
        other => {
            return Err(pats::Error::invalid(
                "provider",
                format!(
                    "`{other}` has no simulator (available: {})",
                    pats::PROVIDERS.join(", ")
                ),
            ));
        }
    };
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    })?;
    Ok(Simulation {
        provider,
        client: pats::connect(&config)?,
        server,
    })
}
