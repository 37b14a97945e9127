//! The subcommands.

use crate::audit::{self, AuditJson, Checks};
use crate::cli::{Cli, Command, FleetArgs, Format, TokenRef};
use crate::connect::{Session, connect, process_env, profiles_file, select};
use crate::error::{CliError, Exit};
use crate::fleet::{self, Entry, Job, Settings};
use crate::new_token;
use crate::output::{self, ProviderJson, TokenJson, out, outln};
use crate::profiles::{SecretSource, Target};
use crate::progress::Progress;
use pats::{ListQuery, PersonalAccessTokens, PersonalAccessTokensExt, TokenId, TokenInfo};
use serde::Serialize;

/// Runs the command line; the exit code on success (`Found` for an audit that found
/// something).
pub async fn run(cli: Cli) -> Result<Exit, CliError> {
    if let Command::Providers = cli.command {
        return providers(cli.json).await;
    }
    if let Command::Sim { action } = &cli.command {
        return sim(action, cli.provider, cli.json).await;
    }
    match &cli.command {
        Command::Completions { shell } => return crate::generate::completions(*shell),
        Command::Man { dir } => return crate::generate::man(dir.as_deref()),
        _ => {}
    }
    if let Command::Profiles = cli.command {
        return profiles(&cli);
    }
    let format = match &cli.command {
        Command::List { fleet, .. } | Command::Audit { fleet, .. } => report_format(&cli, fleet)?,
        _ if cli.json => Format::Json,
        _ => Format::Table,
    };
    if let Some(exit) = run_fleet(&cli, format).await? {
        return Ok(exit);
    }
    let session = connect(&cli).await?;
    let ctx = Ctx {
        client: session.client(),
        json: format == Format::Json,
        progress: Progress::allowed(cli.json),
        session: &session,
    };
    match cli.command {
        Command::List { owner, .. } => list(&ctx, owner).await,
        Command::Get { id } => get(&ctx, &id).await,
        Command::Create {
            name,
            expiry,
            scopes,
            owner,
            secret,
        } => {
            new_token::create(
                &ctx,
                name,
                &expiry,
                scopes,
                owner,
                secret.secret_file.as_deref(),
            )
            .await
        }
        Command::Revoke { ids } => revoke(&ctx, &ids).await,
        Command::Rotate {
            id,
            expiry,
            name,
            scopes,
            secret,
            keep_old,
        } => {
            new_token::rotate(
                &ctx,
                &id,
                &expiry,
                name,
                scopes,
                secret.secret_file.as_deref(),
                keep_old,
            )
            .await
        }
        Command::Rename { id, name } => rename(&ctx, &id, &name).await,
        Command::Audit {
            expiring_within,
            unused_for,
            never_expiring,
            owner,
            ..
        } => {
            let checks = Checks::new(expiring_within, unused_for, never_expiring)?;
            audit(&ctx, checks, owner).await
        }
        Command::Providers => providers(cli.json).await,
        Command::Profiles => profiles(&cli),
        Command::Sim { action } => sim(&action, cli.provider, cli.json).await,
        Command::Completions { shell } => crate::generate::completions(shell),
        Command::Man { dir } => crate::generate::man(dir.as_deref()),
    }
}

/// The report format: `--format`, or `--json`.
fn report_format(cli: &Cli, fleet: &FleetArgs) -> Result<Format, CliError> {
    let format = match (fleet.format, cli.json) {
        (None, false) => Format::Table,
        (None | Some(Format::Json), true) => Format::Json,
        (Some(f), false) => f,
        (Some(_), true) => {
            return Err(CliError::usage(
                "--json and --format disagree: give one of them",
            ));
        }
    };
    if format == Format::Sarif && matches!(cli.command, Command::List { .. }) {
        return Err(CliError::usage(
            "--format sarif is a report of findings: it applies to `pats audit`; use --json \
             for a listing",
        ));
    }
    Ok(format)
}

/// `list --all`, `audit --all`, and `audit --format sarif` (a report of one profile);
/// `None` for everything else.
async fn run_fleet(cli: &Cli, format: Format) -> Result<Option<Exit>, CliError> {
    let (fleet, job) = match &cli.command {
        Command::List { fleet, .. } => (fleet, Job::List),
        Command::Audit {
            expiring_within,
            unused_for,
            never_expiring,
            fleet,
            owner,
        } => {
            if !fleet.all && format != Format::Sarif {
                return Ok(None);
            }
            if owner.is_some() {
                return Err(CliError::usage(
                    "--owner cannot be given with --format sarif: owner ids are per tenant",
                ));
            }
            let checks = Checks::new(*expiring_within, *unused_for, *never_expiring)?;
            (fleet, Job::Audit(checks))
        }
        _ => return Ok(None),
    };
    let settings = Settings {
        format,
        concurrency: usize::from(fleet.concurrency),
        per_provider: usize::from(fleet.per_provider),
    };
    let entries = if fleet.all {
        let Some(file) = profiles_file(cli, true)? else {
            return Err(CliError::usage("--all needs a config file of profiles"));
        };
        file.profiles
            .values()
            .filter(|p| {
                cli.provider
                    .is_none_or(|w| p.provider.as_deref() == Some(w))
            })
            .map(|p| Entry {
                name: p.name.clone(),
                provider: p.provider.clone(),
                // The report names the profile already.
                target: p.resolve(&process_env).map_err(|e| CliError {
                    message: e
                        .message
                        .strip_prefix(&format!("profile `{}`: ", p.name))
                        .map(str::to_owned)
                        .unwrap_or(e.message),
                    ..e
                }),
            })
            .collect()
    } else if matches!(job, Job::Audit(_)) {
        let (name, target) = select(cli)?;
        let provider = match &target {
            Target::Config(c) => c.provider(),
            Target::Simulate(p) => p,
        };
        vec![Entry {
            name,
            provider: Some(provider.to_owned()),
            target: Ok(target),
        }]
    } else {
        return Ok(None);
    };
    fleet::run(entries, job, settings).await.map(Some)
}

/// `pats profiles`: every profile and where its secrets come from, never a secret.
fn profiles(cli: &Cli) -> Result<Exit, CliError> {
    let Some(file) = profiles_file(cli, true)? else {
        return Err(CliError::usage("no config file of profiles"));
    };
    #[derive(Serialize)]
    struct SecretJson {
        field: &'static str,
        #[serde(flatten)]
        source: SecretSource,
    }
    #[derive(Serialize)]
    struct ProfileJson {
        name: String,
        provider: Option<String>,
        base_url: Option<String>,
        simulate: bool,
        secrets: Vec<SecretJson>,
    }
    let list: Vec<ProfileJson> = file
        .profiles
        .values()
        .map(|p| ProfileJson {
            name: p.name.clone(),
            provider: p.provider.clone(),
            base_url: p.shown_base_url(),
            simulate: p.simulate,
            secrets: if p.simulate {
                Vec::new()
            } else {
                p.secrets()
                    .into_iter()
                    .map(|(field, source)| SecretJson { field, source })
                    .collect()
            },
        })
        .collect();
    if cli.json {
        print_json(&list)?;
        return Ok(Exit::Ok);
    }
    let path = file.path.display().to_string();
    let path = output::printable(&path);
    if list.is_empty() {
        outln!("No profiles in {path}.");
        return Ok(Exit::Ok);
    }
    let mut t = output::Table::new(&["PROFILE", "PROVIDER", "BASE URL", "SECRETS"]);
    for p in &list {
        let secrets = if p.simulate {
            "simulate".to_owned()
        } else if p.secrets.is_empty() {
            "-".to_owned()
        } else {
            p.secrets
                .iter()
                .map(|s| format!("{}: {}", s.field, s.source))
                .collect::<Vec<_>>()
                .join(", ")
        };
        t.row(vec![
            p.name.clone(),
            p.provider.clone().unwrap_or_else(|| "-".into()),
            p.base_url.clone().unwrap_or_else(|| "-".into()),
            secrets,
        ]);
    }
    out!("{}", t.render());
    let default = file.default.as_deref().map(str::to_owned).or_else(|| {
        (file.profiles.len() == 1)
            .then(|| file.profiles.keys().next().cloned())
            .flatten()
    });
    match default {
        Some(d) => outln!("({path}; default: {})", output::printable(&d)),
        None => outln!("({path})"),
    }
    Ok(Exit::Ok)
}

/// What a command runs with.
pub(crate) struct Ctx<'a> {
    pub(crate) client: &'a dyn PersonalAccessTokens,
    pub(crate) json: bool,
    pub(crate) progress: bool,
    pub(crate) session: &'a Session,
}

impl Ctx<'_> {
    pub(crate) fn provider(&self) -> &'static str {
        self.client.provider()
    }

    pub(crate) fn token(&self, info: &TokenInfo) -> TokenJson {
        TokenJson::new(self.provider(), info)
    }

    /// A provider error, with a reminder of what a `--simulate` run holds.
    fn error(&self, e: pats::Error) -> CliError {
        let not_found = e.kind() == pats::ErrorKind::NotFound;
        let mut err = CliError::from(e);
        if not_found && self.session.simulated() {
            err.message.push_str(
                " (every --simulate run starts a new simulation holding only the demo tokens: \
                 name them as @demo-ci-deploy, @demo-expiring, @demo-legacy)",
            );
        }
        err
    }

    /// A create error; a refused expiry says which options set one.
    pub(crate) fn create_error(&self, e: pats::Error) -> CliError {
        let about_expiry = e
            .field()
            .is_some_and(|field| field.to_ascii_lowercase().contains("expir"));
        let mut err = self.error(e);
        if about_expiry {
            err.message.push_str(
                " (pats: give --expires-in DURATION, --expires-at TIME or --never-expires \
                 --i-understand)",
            );
        }
        err
    }

    /// Every token matching `query`, page by page, with a progress indicator.
    async fn list_all(&self, query: ListQuery, what: &str) -> Result<Vec<TokenInfo>, CliError> {
        let progress = Progress::start(self.progress, what);
        let mut pages = self.client.pages(&query);
        let mut items = Vec::new();
        while let Some(page) = pages.next_page().await {
            let page = page.map_err(|e| self.error(e))?;
            progress.inc(page.items.len() as u64);
            items.extend(page.items);
        }
        Ok(items)
    }

    /// The token `r` names.
    pub(crate) async fn resolve(&self, r: &TokenRef) -> Result<TokenInfo, CliError> {
        match r {
            TokenRef::Id(id) => self.client.get(id).await.map_err(|e| self.error(e)),
            TokenRef::Name(name) if !self.client.capabilities().names() => {
                Err(CliError::usage(format!(
                    "{} tokens have no names, so `@{name}` names nothing; give the token's id \
                     (see `pats list`)",
                    self.provider()
                )))
            }
            TokenRef::Name(name) => {
                let progress = Progress::start(self.progress, "looking up the name");
                let mut found = self
                    .client
                    .find_by_name(name, &ListQuery::new())
                    .await
                    .map_err(|e| self.error(e))?;
                drop(progress);
                match found.len() {
                    1 => Ok(found.remove(0)),
                    0 => {
                        let mut e = CliError::failed(format!(
                            "no token is named `{name}` on {}; check the name with `pats list`",
                            self.provider()
                        ));
                        if self.session.simulated() {
                            e.message.push_str(
                                " (a --simulate run holds demo-ci-deploy, demo-expiring and \
                                 demo-legacy)",
                            );
                        }
                        Err(e)
                    }
                    n => Err(CliError::usage(format!(
                        "{n} tokens are named `{name}` on {}; name one by its id (see `pats list`)",
                        self.provider()
                    ))),
                }
            }
        }
    }

    /// The id `r` names, without a request when it is an id.
    async fn resolve_id(&self, r: &TokenRef) -> Result<TokenId, CliError> {
        match r {
            TokenRef::Id(id) => Ok(id.clone()),
            TokenRef::Name(_) => Ok(self.resolve(r).await?.id),
        }
    }
}

fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}

async fn list(ctx: &Ctx<'_>, owner: Option<String>) -> Result<Exit, CliError> {
    let mut query = ListQuery::new();
    if let Some(owner) = owner {
        query = query.owner(owner);
    }
    let tokens: Vec<TokenJson> = ctx
        .list_all(query, "listing tokens")
        .await?
        .iter()
        .map(|t| ctx.token(t))
        .collect();
    if ctx.json {
        print_json(&tokens)?;
    } else if tokens.is_empty() {
        outln!("No tokens on {}.", ctx.provider());
    } else {
        out!("{}", output::token_table(&tokens));
    }
    Ok(Exit::Ok)
}

async fn get(ctx: &Ctx<'_>, id: &TokenRef) -> Result<Exit, CliError> {
    let token = ctx.token(&ctx.resolve(id).await?);
    if ctx.json {
        print_json(&token)?;
    } else {
        out!("{}", output::token_details(&token));
    }
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct RevokedJson {
    id: String,
    revoked: bool,
    error: Option<String>,
}

async fn revoke(ctx: &Ctx<'_>, ids: &[TokenRef]) -> Result<Exit, CliError> {
    let mut results = Vec::new();
    let mut worst: Option<CliError> = None;
    for r in ids {
        let (label, outcome) = match ctx.resolve_id(r).await {
            Ok(id) => (
                id.to_string(),
                ctx.client.revoke(&id).await.map_err(|e| ctx.error(e)),
            ),
            Err(e) => (
                match r {
                    TokenRef::Id(id) => id.to_string(),
                    TokenRef::Name(n) => format!("@{n}"),
                },
                Err(e),
            ),
        };
        match outcome {
            Ok(()) => {
                if !ctx.json {
                    outln!(
                        "Revoked {} on {}.",
                        output::printable(&label),
                        ctx.provider()
                    );
                }
                results.push(RevokedJson {
                    id: label,
                    revoked: true,
                    error: None,
                });
            }
            Err(e) => {
                if !ctx.json && ids.len() > 1 {
                    eprintln!(
                        "pats: error: revoking {}: {}",
                        output::printable(&label),
                        output::printable(&e.message)
                    );
                }
                results.push(RevokedJson {
                    id: label,
                    revoked: false,
                    error: Some(e.message.clone()),
                });
                if worst
                    .as_ref()
                    .is_none_or(|w| e.exit == Exit::Failed && w.exit != Exit::Failed)
                {
                    worst = Some(e);
                }
            }
        }
    }
    if ctx.json {
        print_json(&results)?;
    }
    match worst {
        None => Ok(Exit::Ok),
        Some(e) if ids.len() == 1 => Err(e),
        Some(e) => {
            let failed = results.iter().filter(|r| !r.revoked).count();
            Err(CliError {
                exit: e.exit,
                message: format!("{failed} of {} token(s) not revoked", ids.len()),
            })
        }
    }
}

/// `pats rename`: gives a token a new name (where the provider can rename tokens).
async fn rename(ctx: &Ctx<'_>, id: &TokenRef, name: &str) -> Result<Exit, CliError> {
    let id = ctx.resolve_id(id).await?;
    let renamed = ctx
        .client
        .rename(&id, name)
        .await
        .map_err(|e| ctx.error(e))?;
    let token = ctx.token(&renamed);
    if ctx.json {
        print_json(&token)?;
    } else {
        outln!(
            "Renamed {} on {}.",
            output::printable(&token.id),
            ctx.provider()
        );
        out!("{}", output::token_details(&token));
    }
    Ok(Exit::Ok)
}

async fn audit(ctx: &Ctx<'_>, checks: Checks, owner: Option<String>) -> Result<Exit, CliError> {
    let plan = checks.plan(ctx.provider(), &ctx.client.capabilities(), true)?;
    let mut query = ListQuery::new();
    if let Some(owner) = owner {
        query = query.owner(owner);
    }
    // One page at a time: only the findings are kept.
    let progress = Progress::start(ctx.progress, "auditing tokens");
    let mut findings = Vec::new();
    let tokens_checked = fleet::each_page(ctx.client, &query, |page| {
        progress.inc(page.len() as u64);
        for t in &page {
            plan.evaluate(t, &mut findings);
        }
    })
    .await
    .map_err(|e| ctx.error(e))?;
    drop(progress);
    audit::sort_findings(&mut findings);
    let report = AuditJson {
        provider: ctx.provider(),
        tokens_checked,
        checks: plan.checks,
        findings,
    };
    if ctx.json {
        print_json(&report)?;
    } else {
        audit::print_audit(&report);
    }
    Ok(if report.findings.is_empty() {
        Exit::Ok
    } else {
        Exit::Found
    })
}

async fn providers(json: bool) -> Result<Exit, CliError> {
    // Capabilities with each provider's default settings, read from its simulator.
    let list: Vec<ProviderJson> = match crate::sim::start_all().await {
        Ok(simulations) => simulations
            .iter()
            .map(|s| ProviderJson::new(s.provider, &s.client.capabilities()))
            .collect(),
        // A provider the embedded simulators do not serve (yet: GitLab): each provider
        // alone, that one from a client that sends nothing.
        Err(e) => {
            let mut list = Vec::new();
            for provider in pats::PROVIDERS {
                let caps = match crate::sim::start(provider).await {
                    Ok(simulation) => simulation.client.capabilities(),
                    Err(_) => offline_capabilities(provider).ok_or_else(|| {
                        CliError::failed(format!("cannot start the simulators: {e}"))
                    })?,
                };
                list.push(ProviderJson::new(provider, &caps));
            }
            list
        }
    };
    if json {
        print_json(&list)?;
    } else {
        out!("{}", output::provider_table(&list));
        outln!(
            "(with each provider's default settings; SailPoint offers never-expiring tokens \
             from api_version v2025 on, without the 6-month cap)"
        );
    }
    Ok(Exit::Ok)
}

/// The capabilities of a provider whose answers do not change them (GitLab), from a client
/// that is built but never sends anything; `None` for the others.
fn offline_capabilities(provider: &str) -> Option<pats::Capabilities> {
    let config = match provider {
        "gitlab" => pats::Config::from(pats::GitLabConfig::from_token(
            "never-sent-offline".to_owned().into(),
        )),
        _ => return None,
    };
    pats::connect(&config).ok().map(|c| c.capabilities())
}

/// `pats sim serve|env`: the emulator's own commands (`pats_sim::cli`); `--json` makes
/// `serve` print one JSON line instead of the exports.
async fn sim(
    action: &crate::cli::SimAction,
    provider: Option<&str>,
    json: bool,
) -> Result<Exit, CliError> {
    use crate::cli::SimAction;
    use pats_sim::cli::Command as Sim;
    let provider = provider.map(str::to_owned);
    let command = match action {
        SimAction::Serve {
            port,
            state,
            seed,
            no_admin_token,
        } => Sim::Serve {
            port: *port,
            state: state.clone(),
            demo: seed.is_some(),
            provider,
            json,
            admin_token: !no_admin_token,
        },
        SimAction::Env { port } => Sim::Env {
            port: *port,
            provider,
        },
    };
    let mut stdout = std::io::stdout();
    pats_sim::cli::run(command, &mut stdout)
        .await
        .map(|()| Exit::Ok)
        .map_err(|e| CliError::failed(e.to_string()))
}
