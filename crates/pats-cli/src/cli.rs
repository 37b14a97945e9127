//! The command line, as clap parses it.

use crate::span::Span;
use clap::{Args, Parser, Subcommand};
use pats::TokenId;
use std::path::PathBuf;
use time::OffsetDateTime;

const AFTER_HELP: &str = "\
Configuration:
  profiles             $XDG_CONFIG_HOME/pats/config.toml (else ~/.config/pats/config.toml) or
                       --config FILE: [profiles.NAME] tables, each `provider = \"sailpoint\"`
                       (or dfns, zitadel, gitlab) and its settings (base_url, client_id, ...); a secret
                       is read from a variable (client_secret_env = \"VAR\") or a file
                       (client_secret_file = \"PATH\") or written inline (client_secret);
                       likewise auth_token, private_key, pat, access_token, token. `simulate = true`
                       runs a profile on the embedded simulator. --profile NAME or
                       PATS_PROFILE picks one (else default_profile, else the only one);
                       --all runs list/audit over all. A file with a top-level `provider` is
                       one profile, `default`. The config file and the files settings name
                       (*_file, private_key_file, key_file) must be regular files of at most
                       64 KiB: a FIFO, a device or a directory is refused.
  environment          PATS_PROVIDER and the provider's variables:
                         dfns:      DFNS_AUTH_TOKEN, DFNS_CRED_ID, DFNS_PRIVATE_KEY(_FILE),
                                    DFNS_BASE_URL
                         zitadel:   ZITADEL_URL, ZITADEL_PAT or ZITADEL_KEY_FILE or
                                    ZITADEL_CLIENT_ID + ZITADEL_CLIENT_SECRET,
                                    ZITADEL_ORG_ID, ZITADEL_USER_ID, ZITADEL_API
                         sailpoint: SAIL_BASE_URL, SAIL_CLIENT_ID + SAIL_CLIENT_SECRET or
                                    SAIL_ACCESS_TOKEN, SAIL_API_VERSION, SAIL_OWNER_ID
                         gitlab:    GITLAB_TOKEN, GITLAB_BASE_URL (default https://gitlab.com),
                                    GITLAB_USER_ID (whose tokens; an administrator's token
                                    creates for others), GITLAB_SCOPES (comma-separated, for
                                    a create without --scope)
  --simulate           no configuration: an embedded simulator on 127.0.0.1 of --provider
                       (default sailpoint, API v2025), seeded with 3 demo tokens
                       (demo-ci-deploy, demo-expiring, demo-legacy); every run starts afresh
                       (state that lasts: `pats sim serve --state FILE`, then
                       eval \"$(pats sim env)\")

Token ids: an id as `pats list` shows it, or @NAME for the one token with that name.

Exit codes:
  0  success (audit: nothing found)
  1  the operation failed: provider or network error, token not found, revoke failed, the
     output could not be written (a new secret that could not be delivered is named, and
     on rotate the old token is left valid; on GitLab, which rotates in one call, the
     server has already revoked it, so the new token is named to rotate again)
  2  usage or configuration error: bad argument or duration, unknown provider, missing
     variable or config file, something the provider does not support, secret file exists
  3  audit found tokens that need attention
  4  create or rotate: the request was sent but its answer timed out or was lost; the token
     may exist: check with `pats get @NAME` (or `pats list`) before creating it again
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM; a secret already received is
     delivered first, and what may be left to check is named
  With --all: 1 when any profile failed (even if others found something: the audit is
  incomplete), else 3 when anything was found, else 0; every profile is in the report.";

/// List, create, revoke, rotate and audit personal access tokens on Dfns, ZITADEL,
/// SailPoint and GitLab.
#[derive(Debug, Parser)]
#[command(name = "pats", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Read the provider configuration from this TOML file instead of the environment (a
    /// regular file of at most 64 KiB).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "simulate",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// The profile of the config file to use (overrides PATS_PROFILE).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        conflicts_with = "simulate",
        help_heading = "Global options"
    )]
    pub profile: Option<String>,
    /// The provider to use (overrides PATS_PROVIDER).
    #[arg(long, global = true, value_name = "NAME", value_parser = parse_provider, help_heading = "Global options")]
    pub provider: Option<&'static str>,
    /// Run against an embedded, seeded simulator (no account needed; see `pats --help`).
    #[arg(long, global = true, help_heading = "Global options")]
    pub simulate: bool,
    /// Print JSON (one stable schema for every provider) instead of a table.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List tokens.
    List {
        /// Only the tokens of this owner (user, machine user or identity id).
        #[arg(long, value_name = "ID", conflicts_with = "all")]
        owner: Option<String>,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Show one token.
    Get {
        /// The token's id, or @NAME.
        #[arg(value_parser = parse_token_ref)]
        id: TokenRef,
    },
    /// Create a token; its secret is printed once (or written with --secret-file).
    Create {
        /// The token's name (on ZITADEL: the username of the machine user it is for).
        name: String,
        #[command(flatten)]
        expiry: ExpiryArgs,
        /// A scope or permission (repeat for several).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// Create the token for this owner (where the provider allows it: ZITADEL, GitLab
        /// with an administrator's token).
        #[arg(long, value_name = "ID")]
        owner: Option<String>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Revoke (delete) one or more tokens.
    Revoke {
        /// The tokens' ids, or @NAME.
        #[arg(required = true, value_parser = parse_token_ref)]
        ids: Vec<TokenRef>,
    },
    /// Replace a token: create a new one like it, hand over its secret, then revoke the old
    /// one (unless --keep-old). On GitLab the server rotates in one call and revokes the old
    /// token at once (no --keep-old).
    Rotate {
        /// The token to replace: its id, or @NAME.
        #[arg(value_parser = parse_token_ref)]
        id: TokenRef,
        #[command(flatten)]
        expiry: ExpiryArgs,
        /// The new token's name (default: the old token's).
        #[arg(long)]
        name: Option<String>,
        /// The new token's scopes (default: the old token's).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        #[command(flatten)]
        secret: SecretArgs,
        /// Leave the old token valid, so that its users can switch to the new secret first;
        /// the command that revokes it later is printed.
        #[arg(long)]
        keep_old: bool,
    },
    /// Rename a token (where the provider can: Dfns, SailPoint).
    Rename {
        /// The token: its id, or @NAME.
        #[arg(value_parser = parse_token_ref)]
        id: TokenRef,
        /// Its new name.
        name: String,
    },
    /// Find tokens that expire soon, were not used for long, or never expire; exits with 3
    /// when something is found. Without options, all three checks run (14d, 90d).
    Audit {
        /// Find tokens expiring within this time, or already expired.
        #[arg(long, value_name = "DURATION")]
        expiring_within: Option<Span>,
        /// Find tokens not used for this long (providers that track last use: SailPoint).
        #[arg(long, value_name = "DURATION")]
        unused_for: Option<Span>,
        /// Find tokens that never expire.
        #[arg(long)]
        never_expiring: bool,
        /// Only the tokens of this owner.
        #[arg(long, value_name = "ID", conflicts_with = "all")]
        owner: Option<String>,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// List the profiles of the config file: name, provider, base URL and where each
    /// secret comes from (never a secret).
    Profiles,
    /// Show the providers compiled in and what each supports.
    Providers,
    /// Print the completion script of SHELL (bash, zsh, fish, powershell or elvish), e.g.
    /// `pats completions bash > ~/.local/share/bash-completion/completions/pats`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page pats(1), or write it and one page per subcommand into DIR
    /// (`pats man --dir ~/.local/share/man/man1`).
    Man {
        /// Write every page (pats.1, pats-list.1, …) into this directory, and print their
        /// paths.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The local emulator of every provider (`pats sim serve`, then `eval "$(pats sim env)"`).
    Sim {
        /// What to do with it.
        #[command(subcommand)]
        action: SimAction,
    },
}

/// `pats sim …`.
#[derive(Debug, Subcommand)]
pub enum SimAction {
    /// Serve Dfns on 127.0.0.1:PORT, ZITADEL on PORT+1, SailPoint on PORT+2 and GitLab on
    /// PORT+3 until
    /// Ctrl-C, SIGTERM or SIGHUP, and print the shell exports that point `pats` (or any
    /// SDK) at them; --provider sets PATS_PROVIDER in them (default sailpoint), --json
    /// prints one JSON line instead ({"dfns": PORT, "zitadel": PORT, "sailpoint": PORT,
    /// "gitlab": PORT, "env": {NAME: VALUE}}). The admin API needs the exported PATS_SIM_ADMIN_TOKEN.
    Serve {
        /// Dfns' port; ZITADEL, SailPoint and GitLab take the next three (0: four free
        /// ports).
        #[arg(long, default_value_t = pats_sim::emulator::DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(0..65533))]
        port: u16,
        /// Keep the state in FILE: written on every change, read at start, locked by one
        /// server at a time (a symbolic link is resolved once, at start).
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Start a new state with demo data (a few tokens on every provider).
        #[arg(long, value_name = "SEED", value_parser = ["demo"])]
        seed: Option<String>,
        /// Leave the admin API open to anyone who can reach the ports (throwaway CI
        /// machines only).
        #[arg(long)]
        no_admin_token: bool,
    },
    /// Print the shell exports of a running emulator of yours again:
    /// eval "$(pats sim env)" (checked against the admin token it wrote, values quoted).
    Env {
        /// Any of its ports.
        #[arg(long, default_value_t = pats_sim::emulator::DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
    },
}

/// `--all` and the report format of `list` and `audit`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Run over every profile of the config file (--provider keeps one provider's), at
    /// most --concurrency at a time; one report.
    #[arg(long, conflicts_with_all = ["profile", "simulate"])]
    pub all: bool,
    /// With --all: profiles in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "all",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// With --all: profiles of one provider in flight at once (each client still waits
    /// out 429 answers as the provider's Retry-After says).
    #[arg(long, value_name = "N", default_value_t = 4, requires = "all",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub per_provider: u16,
    /// The report: table, json (same as --json) or sarif (SARIF 2.1.0; audit only).
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub format: Option<Format>,
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON for scripts.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// When a new token expires.
#[derive(Debug, Args)]
pub struct ExpiryArgs {
    /// Expire this long after creation (e.g. 30d, 12h, 2w).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["expires_at", "never_expires"])]
    pub expires_in: Option<Span>,
    /// Expire at this time (RFC 3339, e.g. 2026-12-31T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "never_expires")]
    pub expires_at: Option<OffsetDateTime>,
    /// Never expire (needs --i-understand; not every provider offers it).
    #[arg(long, requires = "i_understand")]
    pub never_expires: bool,
    /// Acknowledge that a never-expiring token stays valid until it is revoked.
    #[arg(long, requires = "never_expires")]
    pub i_understand: bool,
}

/// Where a new secret goes.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Write the secret to this new file (mode 0600; never overwritten) instead of stdout.
    /// A private key the provider pairs with the token (Dfns) goes to PATH.key.
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
}

/// A token named on the command line.
#[derive(Debug, Clone)]
pub enum TokenRef {
    /// By id.
    Id(TokenId),
    /// By name (`@NAME`).
    Name(String),
}

fn parse_token_ref(s: &str) -> Result<TokenRef, String> {
    match s.strip_prefix('@') {
        Some("") => Err("`@` needs a token name after it".into()),
        Some(name) => Ok(TokenRef::Name(name.to_owned())),
        None => TokenId::new(s)
            .map(TokenRef::Id)
            .map_err(|e| match e.reason() {
                Some(reason) if e.kind() == pats::ErrorKind::InvalidInput => {
                    format!("not a token id: it {reason}")
                }
                _ => e.to_string(),
            }),
    }
}

/// The provider of this build named `s` (any case, surrounding spaces ignored).
pub fn known_provider(s: &str) -> Option<&'static str> {
    let wanted = s.trim().to_ascii_lowercase();
    pats::PROVIDERS.iter().copied().find(|p| *p == wanted)
}

fn parse_provider(s: &str) -> Result<&'static str, String> {
    known_provider(s).ok_or_else(|| {
        format!(
            "unknown provider `{s}`; this build has {}",
            pats::PROVIDERS.join(", ")
        )
    })
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("`{s}` is not an RFC 3339 time (e.g. 2026-12-31T00:00:00Z)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
