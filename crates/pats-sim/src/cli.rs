//! `serve` and `env`, shared by the `pats-sim` binary and `pats sim`.

use crate::emulator::{self, DEFAULT_PORT, Options, Seed, SimError};
use std::path::PathBuf;

/// A parsed `serve` or `env` command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Serve until Ctrl-C, `SIGTERM` or `SIGHUP`.
    Serve {
        /// Dfns' port (ZITADEL: +1, SailPoint: +2, GitLab: +3); 0: four free ports.
        port: u16,
        /// The state file.
        state: Option<PathBuf>,
        /// Seed a new state with demo data.
        demo: bool,
        /// `PATS_PROVIDER` in the printed exports.
        provider: Option<String>,
        /// Print one JSON line (the ports and the environment) instead of the exports.
        json: bool,
        /// Require the admin token on the admin API (`--no-admin-token`: `false`).
        admin_token: bool,
    },
    /// Print the exports of a running emulator.
    Env {
        /// Any of its ports (any of the four; with `serve --port 0`, as printed).
        port: u16,
        /// `PATS_PROVIDER` in the printed exports.
        provider: Option<String>,
    },
}

/// How many requests per provider `serve` keeps for `GET /_pats_sim/requests`.
const SERVE_REQUEST_LOG: usize = 10_000;

/// The usage text.
pub const USAGE: &str = "\
usage: pats-sim serve [--port N] [--state FILE] [--seed demo] [--provider P] [--json]
                      [--no-admin-token]
       pats-sim env   [--port N] [--provider P]

serve  runs Dfns on 127.0.0.1:N, ZITADEL on N+1, SailPoint on N+2 and GitLab on N+3
       (default N: 4600; 0: four free ports) and prints the shell exports a client needs;
       Ctrl-C, SIGTERM or SIGHUP stops it (the state saved, its key and token files removed).
env    prints those exports again, for eval \"$(pats-sim env)\": it asks the emulator on
       port N (any of its four) with the admin token that emulator wrote for the same
       user, checks the answer and quotes every value itself.
--state FILE   keep the state in FILE (written on every change, read at start; locked by
               one server at a time; a symbolic link is resolved once, at start, and the
               state written next to its target)
--seed demo    start a new state with a few tokens on every provider
--provider P   PATS_PROVIDER in the exports: dfns, zitadel, sailpoint (default) or gitlab
--json         print one JSON line instead of the exports, for launchers: {\"dfns\": PORT,
               \"zitadel\": PORT, \"sailpoint\": PORT, \"gitlab\": PORT, \"env\": {NAME: VALUE}}
--no-admin-token  leave the admin API open to anyone who can reach the ports (throwaway
               CI machines only); by default it needs PATS_SIM_ADMIN_TOKEN";

/// Parses `serve …` or `env …` (without the program name).
pub fn parse(args: &[String]) -> Result<Command, String> {
    let (verb, rest) = args.split_first().ok_or("a command is required")?;
    let mut port = DEFAULT_PORT;
    let mut state = None;
    let mut demo = false;
    let mut provider = None;
    let mut json = false;
    let mut admin_token = true;
    let serve = verb == "serve";
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
                let parsed: Option<u16> = v.parse().ok();
                port = if serve {
                    parsed
                        .filter(|p| *p <= u16::MAX - 3)
                        .ok_or_else(|| format!("--port {v}: not a port from 0 to 65532"))?
                } else {
                    parsed
                        .filter(|p| *p > 0)
                        .ok_or_else(|| format!("--port {v}: not a port from 1 to 65535"))?
                };
            }
            "--json" if serve => json = true,
            "--no-admin-token" if serve => admin_token = false,
            "--state" if serve => state = Some(PathBuf::from(value()?)),
            "--seed" if serve => match value()?.as_str() {
                "demo" => demo = true,
                other => return Err(format!("--seed {other}: the only seed is `demo`")),
            },
            "--provider" => {
                let v = value()?;
                if !matches!(v.as_str(), "dfns" | "zitadel" | "sailpoint" | "gitlab") {
                    return Err(format!(
                        "--provider {v}: must be dfns, zitadel, sailpoint or gitlab"
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
            json,
            admin_token,
        }),
        "env" => Ok(Command::Env { port, provider }),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Runs `command`: `serve` until Ctrl-C (or, on Unix, `SIGTERM` or `SIGHUP`), `env` once.
/// What it prints goes to `out`.
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
            json,
            admin_token,
        } => {
            let mut options = Options::default()
                .port(port)
                .threads(2)
                .request_log(SERVE_REQUEST_LOG)
                .log_unknown(true)
                .admin_token(admin_token);
            if let Some(state) = state {
                options = options.state_file(state);
            }
            if demo {
                options = options.seed(Seed::Demo);
            }
            // Listening before the first line is printed: a launcher may stop the server
            // as soon as it has read it.
            let stop = Stop::listen()?;
            let sim = emulator::start(options)?;
            eprintln!(
                "pats-sim: Dfns {} · ZITADEL {} · SailPoint {} · GitLab {} · admin under {} · Ctrl-C stops",
                sim.dfns().uri(),
                sim.zitadel().uri(),
                sim.sailpoint().uri(),
                sim.gitlab().uri(),
                emulator::ADMIN_PREFIX
            );
            let printed = if json {
                json_line(&sim, provider.as_deref())
            } else {
                sim.exports(provider.as_deref())
            };
            out.write_all(printed.as_bytes()).map_err(io)?;
            out.flush().map_err(io)?;
            stop.wait().await;
            let saved = sim.save().map_err(|e| SimError::Io {
                what: "cannot write the state file".to_owned(),
                source: e,
            });
            drop(sim);
            saved?;
            eprintln!("pats-sim: stopped");
            Ok(())
        }
    }
}

/// `serve --json`'s line: `{"dfns": port, "zitadel": port, "sailpoint": port, "gitlab":
/// port, "env": {…}}`.
fn json_line(sim: &emulator::Emulator, provider: Option<&str>) -> String {
    let [dfns, zitadel, sailpoint, gitlab] = sim.ports();
    let env: serde_json::Map<String, serde_json::Value> = sim
        .env(provider)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let line = serde_json::json!({
        "dfns": dfns,
        "zitadel": zitadel,
        "sailpoint": sailpoint,
        "gitlab": gitlab,
        "env": env,
    });
    format!("{line}\n")
}

/// The signals that stop `serve`: Ctrl-C, and on Unix `SIGTERM` and `SIGHUP` as well.
struct Stop {
    #[cfg(unix)]
    signals: [tokio::signal::unix::Signal; 3],
}

impl Stop {
    /// Installs the handlers (from now on, those signals no longer kill the process).
    fn listen() -> Result<Self, SimError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind| {
                signal(kind).map_err(|e| SimError::Io {
                    what: "cannot listen for signals".to_owned(),
                    source: e,
                })
            };
            Ok(Self {
                signals: [
                    listen(SignalKind::interrupt())?,
                    listen(SignalKind::terminate())?,
                    listen(SignalKind::hangup())?,
                ],
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for one of them.
    async fn wait(self) {
        #[cfg(unix)]
        {
            let [mut int, mut term, mut hup] = self.signals;
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
