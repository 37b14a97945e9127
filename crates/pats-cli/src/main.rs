//! `pats`: list, create, revoke, rotate and audit personal access tokens on Dfns, ZITADEL
//! and SailPoint from a shell. See `pats --help` and the crate README.
// docs.rs (nightly, `--cfg docsrs`): mark feature-gated items with the feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
mod cli;
mod commands;
mod connect;
mod error;
mod fleet;
mod generate;
mod interrupt;
mod new_token;
mod output;
mod profiles;
mod progress;
mod secret_file;
mod sim;
mod span;

use clap::Parser;
use clap::error::ErrorKind;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = e.to_string();
            eprintln!(
                "pats: error: cannot start the async runtime: {}",
                output::printable(&e)
            );
            return error::Exit::Failed.into();
        }
    };
    match runtime
        .block_on(commands::run(cli))
        .and_then(|exit| output::stdout_result().map(|()| exit))
    {
        Ok(exit) => exit.into(),
        Err(e) => {
            // The message can quote a provider, a profile or a name: escaped, it stays one
            // line that cannot drive the terminal.
            eprintln!("pats: error: {}", output::printable(&e.message));
            e.exit.into()
        }
    }
}

/// Prints a command-line error on one line (help and version as clap prints them).
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let text = e.render().to_string();
    let message = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" tip: ", "; tip: ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    eprintln!(
        "pats: error: {}; see `pats --help`",
        output::printable(message)
    );
    error::Exit::Usage.into()
}
