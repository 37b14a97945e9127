//! `serve` and `env`, shared by the `pats-sim` binary and `pats sim`.

use crate::emulator::{self, DEFAULT_PORT, Options, Seed, SimError};
use std::path::PathBuf;

/// A parsed `serve` or `env` command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Serve until Ctrl-C.
    Serve {
        /// Dfns' port (ZITADEL: +1, SailPoint: +2).
        port: u16,
        /// The state file.
        state: Option<PathBuf>,
        /// Seed a new state with demo data.
        demo: bool,
        /// `PATS_PROVIDER` in the printed exports.
        provider: Option<String>,
    },
    /// Print the exports of a running emulator.
    Env {
        /// Any of its ports.
        port: u16,
        /// `PATS_PROVIDER` in the printed exports.
        provider: Option<String>,
    },
}

/// How many requests per provider `serve` keeps for `GET /_pats_sim/requests`.
const SERVE_REQUEST_LOG: usize = 10_000;

/// The usage text.
pub const USAGE: &str = "\
usage: pats-sim serve [--port N] [--state FILE] [--seed demo] [--provider P]
       pats-sim env   [--port N] [--provider P]

serve  runs Dfns on 127.0.0.1:N, ZITADEL on N+1 and SailPoint on N+2 (default N: 4600)
       and prints the shell exports a client needs; Ctrl-C stops it.
env    prints those exports again, for eval \"$(pats-sim env)\".
--state FILE   keep the state in FILE (written on every change, read at start)
--seed demo    start a new state with a few tokens on every provider
--provider P   PATS_PROVIDER in the exports: dfns, zitadel or sailpoint (default)";

/// Parses `serve …` or `env …` (without the program name).
pub fn parse(args: &[String]) -> Result<Command, String> {
    let (verb, rest) = args.split_first().ok_or("a command is required")?;
    let mut port = DEFAULT_PORT;
    let mut state = None;
    let mut demo = false;
    let mut provider = None;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                port = v
                    .parse()
                    .ok()
                    .filter(|p| *p > 0 && *p <= u16::MAX - 2)
                    .ok_or_else(|| format!("--port {v}: not a port from 1 to 65533"))?;
            }
            "--state" if verb == "serve" => state = Some(PathBuf::from(value()?)),
            "--seed" if verb == "serve" => match value()?.as_str() {
                "demo" => demo = true,
                other => return Err(format!("--seed {other}: the only seed is `demo`")),
            },
            "--provider" => {
                let v = value()?;
                if !matches!(v.as_str(), "dfns" | "zitadel" | "sailpoint") {
                    return Err(format!(
                        "--provider {v}: must be dfns, zitadel or sailpoint"
                    ));
                }
                provider = Some(v);
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    match verb.as_str() {
        "serve" => Ok(Command::Serve {
            port,
            state,
            demo,
            provider,
        }),
        "env" => Ok(Command::Env { port, provider }),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Runs `command`: `serve` until Ctrl-C, `env` once. What it prints goes to `out`.
pub async fn run(command: Command, out: &mut dyn std::io::Write) -> Result<(), SimError> {
    let io = |e: std::io::Error| SimError::Io {
        what: "cannot write to stdout".to_owned(),
        source: e,
    };
    match command {
        Command::Env { port, provider } => {
            let exports = emulator::fetch_exports(port, provider.as_deref())?;
            out.write_all(exports.as_bytes()).map_err(io)
        }
        Command::Serve {
            port,
            state,
            demo,
            provider,
        } => {
            let mut options = Options::default()
                .port(port)
                .threads(2)
                .request_log(SERVE_REQUEST_LOG)
                .log_unknown(true);
            if let Some(state) = state {
                options = options.state_file(state);
            }
            if demo {
                options = options.seed(Seed::Demo);
            }
            let sim = emulator::start(options)?;
            eprintln!(
                "pats-sim: Dfns {} · ZITADEL {} · SailPoint {} · admin under {} · Ctrl-C stops",
                sim.dfns().uri(),
                sim.zitadel().uri(),
                sim.sailpoint().uri(),
                emulator::ADMIN_PREFIX
            );
            out.write_all(sim.exports(provider.as_deref()).as_bytes())
                .map_err(io)?;
            out.flush().map_err(io)?;
            tokio::signal::ctrl_c().await.map_err(|e| SimError::Io {
                what: "cannot wait for Ctrl-C".to_owned(),
                source: e,
            })?;
            sim.save().map_err(|e| SimError::Io {
                what: "cannot write the state file".to_owned(),
                source: e,
            })?;
            eprintln!("pats-sim: stopped");
            Ok(())
        }
    }
}
