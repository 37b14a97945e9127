//! The portable programs of `programs.rs`, unchanged on every provider.
//!
//! ```sh
//! cargo run -p pats --example portable
//! ```
//!
//! Without `PATS_PROVIDER` it starts the `pats-sim` emulator (a dev-dependency; loopback
//! only), configures a client for each provider from the variables the emulator gives, and
//! runs all three programs on each: the rotate-by-name README.md links to, a 30-day CI
//! token's lifecycle, and an expiry audit across the providers. With `PATS_PROVIDER` and
//! that provider's variables set (see `pats::config`) it runs on the real provider: the
//! audit only, unless `--write` is given (the other two create, rotate and revoke tokens
//! named `ci-deploy` and `portable-ci`; on ZITADEL, machine users of those usernames must
//! exist). Secrets are never printed.

mod programs;

use pats::{CreateToken, Expiry, PersonalAccessTokens};
use programs::{Finding, ci_token_lifecycle, expiry_audit, rotate_ci_token};
use std::collections::HashMap;
use std::time::Duration;

/// The names the programs use.
const NAMES: [&str; 2] = ["ci-deploy", "portable-ci"];
const AUDIT_WINDOW: Duration = Duration::from_secs(14 * 24 * 3600);

async fn write_programs(pats: &dyn PersonalAccessTokens) -> Result<(), pats::BoxError> {
    let p = pats.provider();
    rotate_ci_token(pats).await?;
    println!("{p}: README rotate-by-name: done");
    let mut stored = 0;
    let run = ci_token_lifecycle(pats, "portable-ci", &mut |_, _| stored += 1).await?;
    println!(
        "{p}: CI token: created {}, listed {}, found by name {}, rotated to {}, {stored} secret(s) stored",
        run.first, run.listed, run.found, run.current.id
    );
    pats.revoke(&run.current.id).await?;
    Ok(())
}

fn print_audit(lines: &[programs::AuditLine]) {
    println!("audit (expiring within 14 days, never expiring, or not judgeable):");
    for l in lines {
        let finding = match &l.finding {
            Finding::Expiring(at) => format!("expires {}", at.date()),
            Finding::NeverExpires => "never expires".to_owned(),
            Finding::CannotJudge => "cannot judge: the provider does not report expiry".to_owned(),
        };
        println!(
            "  {:9}  {:34}  {:12}  {finding}",
            l.provider,
            l.id.as_str(),
            l.name.as_deref().unwrap_or("-")
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), pats::BoxError> {
    if std::env::var_os("PATS_PROVIDER").is_some() {
        let pats = pats::from_env()?;
        if std::env::args().any(|a| a == "--write") {
            write_programs(pats.as_ref()).await?;
        } else {
            println!("read-only: the audit (pass --write to run the programs that create tokens)");
        }
        print_audit(&expiry_audit(&[pats.as_ref()], AUDIT_WINDOW).await?);
        return Ok(());
    }
    let emulator = pats_sim::start(pats_sim::Options::default())?;
    // On ZITADEL a token's name is its machine user's username: machine users of the names
    // the programs use, as a provider's administrator would add them.
    let org = pats_sim::zitadel::ZitadelSim::DEFAULT_ORG;
    emulator
        .zitadel()
        .add_named_machine_users(org, &[NAMES[0], NAMES[1], "audit-soon"]);
    let mut clients = Vec::new();
    for provider in pats::PROVIDERS {
        // What `pats sim env --provider <provider>` prints, read as the environment is.
        let vars: HashMap<String, String> = emulator.env(Some(provider)).into_iter().collect();
        let config = pats::Config::from_lookup(|name| vars.get(name).cloned())?;
        clients.push(pats::connect(&config)?);
    }
    for pats in &clients {
        let pats = pats.as_ref();
        // Something to rotate, and something for the audit to find.
        let lifetime = |days: u64| Expiry::In(Duration::from_secs(days * 24 * 3600));
        let seed = |name: &str, days| {
            CreateToken::builder()
                .name(name)
                .expiry(lifetime(days))
                .build()
        };
        let _ = pats.create(&seed("ci-deploy", 30)?).await?;
        let _ = pats.create(&seed("audit-soon", 5)?).await?;
        write_programs(pats).await?;
    }
    let clients: Vec<&dyn PersonalAccessTokens> = clients.iter().map(AsRef::as_ref).collect();
    print_audit(&expiry_audit(&clients, AUDIT_WINDOW).await?);
    Ok(())
}
