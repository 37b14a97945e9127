//! What the modules of this test binary share: the `pats` binary with an empty environment,
//! running it, and a SailPoint simulator in this process to point it at.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use assert_cmd::Command;
use pats_sim::sailpoint::SailPointSim;
use serde_json::Value;

/// The binary, with an empty environment (no configuration leaks in from the host).
pub fn pats() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pats"));
    cmd.env_clear();
    cmd
}

/// Runs `cmd` and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `text` parsed as JSON, or a failure that shows it.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A SailPoint simulator in this process, for what a `--simulate` run cannot set up:
/// faults, last-use data, and state to inspect after the command.
pub struct Sim {
    pub sim: SailPointSim,
    pub runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime.block_on(SailPointSim::start());
        Self { sim, runtime }
    }

    /// `pats` configured for this simulator through the environment, as a std command
    /// (to spawn it, or give it any stdout).
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pats"));
        cmd.env_clear()
            .env("PATS_PROVIDER", "sailpoint")
            .env("SAIL_BASE_URL", self.sim.uri())
            .env("SAIL_CLIENT_ID", SailPointSim::CLIENT_ID)
            .env("SAIL_CLIENT_SECRET", SailPointSim::CLIENT_SECRET);
        cmd
    }

    /// [`command`](Self::command) as an `assert_cmd` command.
    pub fn pats(&self) -> Command {
        Command::from_std(self.command())
    }

    /// Creates a token named `name` expiring in 30 days through `pats create --json`; its id.
    pub fn create(&self, name: &str) -> String {
        let (code, out, err) =
            run(self
                .pats()
                .args(["create", name, "--expires-in", "30d", "--json"]));
        assert_eq!(code, 0, "{err}");
        let created = json(&out);
        assert_eq!(created["token"]["name"], name, "{out}");
        created["token"]["id"].as_str().unwrap().to_owned()
    }

    /// How many token creates (not token exchanges) reached the simulator.
    pub fn posts(&self) -> usize {
        self.runtime
            .block_on(self.sim.api_requests())
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count()
    }

    /// The stored tokens' (id, name), sorted.
    pub fn tokens(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self
            .sim
            .stored_tokens()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_owned(),
                    t["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        all.sort();
        all
    }
}
