//! The emulator: the four simulators in one process, each at the root of a loopback
//! origin of its own (so any client, in any language, reaches it with nothing but a base
//! URL), with an admin API and, optionally, a state file that outlives the process.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pats_sim::SimError> {
//! let sim = pats_sim::start(pats_sim::Options::default())?;
//! println!("{}", sim.exports(None));
//! # Ok(()) }
//! ```
//!
//! # Ports
//!
//! With `port: N`, Dfns is served at `http://127.0.0.1:N`, ZITADEL at `N+1`, SailPoint at
//! `N+2` and GitLab at `N+3` (its API under `/api/v4`, as on any GitLab instance); with
//! `port: 0` (the default) each gets a free port (not necessarily consecutive: read them
//! from [`Emulator::ports`] or [`Emulator::env`]).
//!
//! # Admin API
//!
//! Under [`ADMIN_PREFIX`] on every port (no provider uses that prefix). Endpoints that act on
//! one provider act on the provider of the port they are called on.
//!
//! Every endpoint but `GET /_pats_sim/health` and `GET /_pats_sim/proof` needs
//! `Authorization: Bearer <token>`, the
//! run's admin token ([`Emulator::admin_token`], exported as [`ADMIN_TOKEN_VAR`]): a random
//! 256-bit value, 64 hex digits, new on every start; without it the answer is 401. Requests
//! that change something (`POST`, `PUT`, `DELETE`, body or not) must also say
//! `content-type: application/json` (415 otherwise), which a web page cannot send to
//! another origin without the browser asking first. [`Options::admin_token`]`(false)` (the
//! `--no-admin-token` of `pats-sim serve`) turns the token off, for throwaway CI machines
//! where nothing else runs; the content type is still checked.
//!
//! | request | what it does |
//! | --- | --- |
//! | `GET /_pats_sim/health` | `{"status": "ok"}` (no token needed) |
//! | `GET /_pats_sim/proof?nonce=N` | `{"proof": …}`: [`token_proof`] of the admin token and `N` (16 to 64 lowercase hex digits; no token needed, and none revealed), so that a client can check it talks to the emulator whose token it holds before sending the token (404 without an admin token) |
//! | `GET /_pats_sim/env[?provider=P]` | `{"env": {"NAME": "value", …}}`: [`Emulator::env`] |
//! | `GET /_pats_sim/state` | the whole state, as the state file holds it |
//! | `POST /_pats_sim/reset` | back to the state at start (credentials kept) |
//! | `POST /_pats_sim/seed` `{"tokens": ["name", …], "users": ["name", …]}` | creates tokens (and, on ZITADEL and GitLab, users) on this port's provider; GitLab's tokens belong to the user of `GITLAB_TOKEN` |
//! | `PUT /_pats_sim/state` (a state document) | loads it into the running emulator, all or nothing |
//! | Dfns: `POST /_pats_sim/users` `{"credentialId", "publicKey"}` or `{}` | a user with the caller's own P-256 credential, or a generated one (private key in the answer) |
//! | Dfns: `POST /_pats_sim/users/{id}/credentials` `{"credentialId", "publicKey", "kind"}` | another credential, `Key` (default) or `Fido2` |
//! | ZITADEL: `POST /_pats_sim/orgs` `{"id"?}` | an organization |
//! | ZITADEL: `POST /_pats_sim/users` `{"orgId"?, "username", "type"?}` | a `machine` (default) or `human` user |
//! | ZITADEL: `POST /_pats_sim/users/{id}/keys` `{"publicKey"?}` | a JWT-profile key: the caller's RSA key, or the fixture key and its key file |
//! | ZITADEL: `POST /_pats_sim/users/{id}/secrets` `{}` | a client secret (client credentials) |
//! | SailPoint: `POST /_pats_sim/identities` `{"id"?, "name"}` | an identity |
//! | SailPoint: `POST /_pats_sim/clients` `{"identityId"?, "clientId"?, "clientSecret"?}` | an API client acting as that identity |
//! | GitLab: `POST /_pats_sim/users` `{"username", "admin"?}` | a user (an administrator with `"admin": true`) |
//! | GitLab: `POST /_pats_sim/users/{id}/tokens` `{"name", "scopes"?, "expiresAt"?}` | a personal access token of that user (scopes default `["api"]`; `expiresAt` a `YYYY-MM-DD` day or `null` for none; absent: the maximum lifetime) |
//! | GitLab: `POST /_pats_sim/projects` `{"path"}` | a project at that full path (`group/project`) |
//! | GitLab: `POST /_pats_sim/projects/{id}/members` `{"userId", "accessLevel"}` | that user's role in the project (10, 15, 20, 30, 40 or 50) |
//! | GitLab: `POST /_pats_sim/groups` `{"path"}` | a group at that full path (`group`, `group/subgroup`) |
//! | GitLab: `POST /_pats_sim/groups/{id}/members` `{"userId", "accessLevel"}` | that user's role in the group |
//! | `GET /_pats_sim/requests` | this port's request log, oldest first |
//! | `DELETE /_pats_sim/requests` | empties it |
//! | `POST /_pats_sim/faults` `{"fault": …, "times": n, "method": …, "path_contains": …}` | arms a fault on this port's provider |
//! | `DELETE /_pats_sim/faults` | disarms them |
//!
//! Faults: `{"fault": "status", "status": 503}` (5xx burst with `times`), `"rate_limited"`
//! (`retry_after` seconds), `"stall"` (`seconds`), `"delay"` (`ms`), `"reset"`,
//! `"truncated"`, `"oversized"` (`bytes`), `"invalid_json"`, `"html"` (`status`),
//! `"wrong_content_type"`, and `"expired_token"` (every access token issued so far stops
//! working; ZITADEL and SailPoint: Dfns and GitLab authenticate with long-lived tokens).
//!
//! # State file
//!
//! The state document (the file, `GET` and `PUT /_pats_sim/state`) is versioned and described
//! by the JSON Schema `schema/state.v1.schema.json` of this crate.
//!
//! With [`Options::state`], the state (tokens, users, credentials) outlives the process.
//! What a request changed is on disk before its answer leaves, and a write costs what it
//! changed, not what the state holds:
//!
//! - Each simulator keeps its tokens, secrets, users and sessions in tables that record
//!   which rows changed. After a request that may change something (any method but `GET`,
//!   `HEAD` and `OPTIONS`, the admin API's included; on GitLab every request, as using a
//!   token sets its `last_used_at`), those rows, and the simulator's small fields, become
//!   one JSON line of the journal `<state>.journal.<n>`, appended and synced by a writer
//!   thread; the answer waits for it without holding a server thread.
//! - When the journal outgrows the state file (and 1 MiB), when a whole state was loaded
//!   (`PUT /_pats_sim/state`, `reset`), on [`Emulator::save`] and when the emulator stops,
//!   the writer writes the whole state file (atomically: a new file of a random name in the
//!   same directory, created exclusively and readable by its owner only, then a rename),
//!   naming the journal that follows it (`"journal": n`), and removes the older journal.
//!   A stopped emulator leaves the state file alone.
//! - At start, the state file is read, then its journals in order. A last line a crash cut
//!   short (it has no newline) was never answered and is dropped; any other line that is
//!   not a journal entry is an error naming the file and line.
//!
//! A file that is not a pats-sim state file, or is corrupt, is an error: it is never
//! replaced. A write that fails is reported on stderr, and the emulator goes on answering.
//! Changes made through the Rust API ([`Emulator::dfns`] and the others) are written with
//! the next request's line, or by [`Emulator::save`]. A state path that is a symbolic link is resolved once, at start: the
//! state is written next to the link's target, and the link keeps pointing at it (a link
//! whose target's directory does not exist is an error).
//!
//! One emulator at a time uses a state file: it holds an exclusive lock (`flock`) on
//! `<state>.lock`, which holds its pid; a second one fails, naming that pid. The lock file
//! is removed when the emulator stops.
//!
//! # Files
//!
//! The ZITADEL key file and one admin token file per port (`admin-token-<port>`, which
//! `pats-sim env --port <port>` reads) live in a private directory of the user:
//! `$XDG_RUNTIME_DIR/pats-sim` when that variable names a directory of the user, else
//! `<temp dir>/pats-sim-<uid>`. It is created with mode 0700, and checked on every start:
//! a symbolic link, a directory of another user or one with another mode than 0700 is an
//! error (pats-sim never changes a directory it did not create). Files are created
//! exclusively (`O_EXCL`, `O_NOFOLLOW`), with a random component in their name and mode
//! 0600, then written and synced. They are removed when the [`Emulator`] is dropped (the
//! `serve` command drops it on Ctrl-C, `SIGTERM` and `SIGHUP`) and when a start fails.

use crate::answer::Answer;
use crate::dfns::DfnsSim;
use crate::fault::{Fault, FaultRule};
use crate::gitlab::GitLabSim;
use crate::sailpoint::SailPointSim;
use crate::server::{Layer, Request, ServerOptions};
use crate::zitadel::ZitadelSim;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

mod journal;
mod provision;

/// Where the admin API lives on every port.
pub const ADMIN_PREFIX: &str = "/_pats_sim/";

/// The variable the admin token is exported as.
pub const ADMIN_TOKEN_VAR: &str = "PATS_SIM_ADMIN_TOKEN";

/// Every variable [`Emulator::env`] can give, in the order it gives them. [`fetch_env`]
/// accepts no other name from a server.
pub const ENV_NAMES: &[&str] = &[
    "PATS_SIM_URL",
    ADMIN_TOKEN_VAR,
    "PATS_PROVIDER",
    "DFNS_BASE_URL",
    "DFNS_ORG_ID",
    "DFNS_USER_ID",
    "DFNS_AUTH_TOKEN",
    "DFNS_CRED_ID",
    "DFNS_PRIVATE_KEY",
    "ZITADEL_URL",
    "ZITADEL_ORG_ID",
    "ZITADEL_USER_ID",
    "ZITADEL_PAT",
    "ZITADEL_CLIENT_ID",
    "ZITADEL_CLIENT_SECRET",
    "ZITADEL_KEY_FILE",
    "SAIL_BASE_URL",
    "SAIL_IDENTITY_ID",
    "SAIL_CLIENT_ID",
    "SAIL_CLIENT_SECRET",
    "GITLAB_BASE_URL",
    "GITLAB_USER_ID",
    "GITLAB_TOKEN",
    "GITLAB_SCOPES",
];

/// The admin token's length in random bytes (hex: twice as many characters).
const ADMIN_TOKEN_BYTES: usize = 32;

/// The most `fetch_env` reads of an answer.
const MAX_ENV_ANSWER: u64 = 64 * 1024;

/// The `format` of a state file.
const STATE_FORMAT: &str = "pats-sim-state";
/// The `version` of the state file format this build reads and writes.
const STATE_VERSION: u64 = 1;

/// The port `pats sim serve` uses when none is given (Dfns; ZITADEL, SailPoint and GitLab
/// follow).
pub const DEFAULT_PORT: u16 = 4600;

/// What a failed start or state file is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A port could not be bound, a file not read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The state file is not one pats-sim wrote, or is corrupt; it was left as it is.
    #[error("{path}: {reason}; the file was left untouched (move it away to start afresh)")]
    StateFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No emulator answered where one was expected.
    #[error("no pats-sim answers at {url}: {reason} (start one with `pats sim serve`)")]
    NotRunning {
        /// Where it was asked.
        url: String,
        /// Why it did not answer.
        reason: String,
    },
    /// Something answered, but not as the emulator of this user that wrote the admin token
    /// file for that port; nothing of its answer was used.
    #[error("{url} answered, but not as your pats-sim: {reason}; its answer was not used")]
    NotTheEmulator {
        /// Where it was asked.
        url: String,
        /// What was wrong with the answer (never a value it held).
        reason: String,
    },
    /// Another emulator is serving with this state file.
    #[error(
        "{path} is in use by another pats-sim (pid {}); stop it, or give another state file",
        holder.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
    )]
    StateInUse {
        /// The state file.
        path: PathBuf,
        /// The pid the lock file names, if it names one.
        holder: Option<u32>,
    },
    /// The private directory for the key and token files is not safe to use.
    #[error(
        "{path}: {reason}; pats-sim keeps credentials there and will not use it (remove it, and pats-sim creates it afresh)"
    )]
    PrivateDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Seed data to start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Seed {
    /// A few tokens and machine users on every provider, for demos.
    Demo,
}

/// How to run the emulator.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Dfns' port; ZITADEL gets the next, SailPoint and GitLab the two after (0: any free
    /// ports).
    pub port: u16,
    /// Where the state is kept across runs.
    pub state: Option<PathBuf>,
    /// Seed data, applied when the state is new (never on top of a state file's).
    pub seed: Option<Seed>,
    /// Worker threads per provider server (1: a current-thread runtime).
    pub threads: usize,
    /// How many requests each provider's log keeps.
    pub request_log: usize,
    /// Print a line to stderr for every request answered 404 or 405.
    pub log_unknown: bool,
    /// Require the run's admin token on the admin API (the default; see the
    /// [module documentation](self)).
    pub admin_token: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            port: 0,
            state: None,
            seed: None,
            threads: 1,
            request_log: crate::server::DEFAULT_REQUEST_LOG,
            log_unknown: false,
            admin_token: true,
        }
    }
}

impl Options {
    /// The default options with Dfns on `port` (0: any free ports).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Keeps the state in `path`.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = Some(path.into());
        self
    }

    /// Starts from `seed` when the state is new.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// `threads` worker threads per provider server.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Keeps the last `n` requests of each provider (0: none).
    pub fn request_log(mut self, n: usize) -> Self {
        self.request_log = n;
        self
    }

    /// Logs requests answered 404/405 to stderr.
    pub fn log_unknown(mut self, log: bool) -> Self {
        self.log_unknown = log;
        self
    }

    /// Requires an admin token on the admin API (`true`, the default), or leaves it open
    /// (`false`: for throwaway CI machines only; any local process, and any web page the
    /// user opens, can then read every credential).
    pub fn admin_token(mut self, required: bool) -> Self {
        self.admin_token = required;
        self
    }
}

/// What a client needs to act on each provider (kept in the state file).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Credentials {
    dfns_user_id: String,
    dfns_auth_token: String,
    dfns_credential_id: String,
    dfns_private_key_pem: String,
    zitadel_pat: String,
    zitadel_user_id: String,
    zitadel_client_id: String,
    zitadel_client_secret: String,
    /// An administrator's personal access token (`GITLAB_TOKEN`). State documents written
    /// before GitLab was emulated have none (and no `gitlab` section): a GitLab state is
    /// made for them, with a new token.
    #[serde(default)]
    gitlab_token: String,
}

/// Which provider a port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Dfns,
    Zitadel,
    SailPoint,
    GitLab,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Self::Dfns => "dfns",
            Self::Zitadel => "zitadel",
            Self::SailPoint => "sailpoint",
            Self::GitLab => "gitlab",
        }
    }
}

/// The providers `PATS_PROVIDER` may name in the exports.
const PROVIDER_NAMES: [&str; 4] = ["dfns", "zitadel", "sailpoint", "gitlab"];

struct Inner {
    dfns: DfnsSim,
    zitadel: ZitadelSim,
    sailpoint: SailPointSim,
    gitlab: GitLabSim,
    credentials: Mutex<Credentials>,
    /// The state right after start, for `reset`.
    initial: Value,
    state_file: Option<PathBuf>,
    key_file: PathBuf,
    /// The state file's journal, once started.
    journal: OnceLock<journal::Journal>,
    log_unknown: bool,
    /// The admin token, when the admin API needs one.
    admin_token: Option<String>,
    /// The files this run wrote and the state file's lock, released when it ends.
    written: Written,
}

/// The running emulator. Dropping it stops every server and removes the files it wrote
/// (the key file, the admin token files, the state file's lock).
pub struct Emulator {
    inner: Arc<Inner>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(journal) = self.inner.journal.get()
            && let Err(e) = journal.stop(&self.inner)
        {
            eprintln!("pats-sim: cannot write the state file: {e}");
        }
        self.inner.written.remove_all();
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("dfns", &self.inner.dfns.uri())
            .field("zitadel", &self.inner.zitadel.uri())
            .field("sailpoint", &self.inner.sailpoint.uri())
            .field("gitlab", &self.inner.gitlab.uri())
            .field("state_file", &self.inner.state_file)
            .finish_non_exhaustive()
    }
}

/// Starts the emulator: binds the four ports, loads (or creates) the state, writes the key
/// and admin token files, and serves until the [`Emulator`] is dropped. A failed start
/// removes whatever it wrote.
pub fn start(options: Options) -> Result<Emulator, SimError> {
    let written = Written::default();
    let dir = private_dir()?;
    let state_file = match &options.state {
        Some(path) => {
            let path = resolve_state(path)?;
            written.lock_state(&path)?;
            Some(path)
        }
        None => None,
    };
    // The journal generation the state was read up to.
    let mut generation = 0;
    let loaded = match &state_file {
        Some(path) => read_state(path)?,
        None => None,
    };
    let slot: Arc<OnceLock<Weak<Inner>>> = Arc::new(OnceLock::new());
    let server = |offset: u16| ServerOptions {
        port: if options.port == 0 {
            0
        } else {
            options.port.saturating_add(offset)
        },
        threads: options.threads,
        log: options.request_log,
    };
    let bind = |which: Which, e: std::io::Error| SimError::Io {
        what: format!("cannot serve {} on 127.0.0.1", which.name()),
        source: e,
    };
    let dfns = DfnsSim::serve(server(0), Some(layer(&slot, Which::Dfns)))
        .map_err(|e| bind(Which::Dfns, e))?;
    let zitadel = ZitadelSim::serve(server(1), Some(layer(&slot, Which::Zitadel)))
        .map_err(|e| bind(Which::Zitadel, e))?;
    let sailpoint = SailPointSim::serve(server(2), Some(layer(&slot, Which::SailPoint)))
        .map_err(|e| bind(Which::SailPoint, e))?;
    let gitlab = GitLabSim::serve(server(3), Some(layer(&slot, Which::GitLab)))
        .map_err(|e| bind(Which::GitLab, e))?;
    let ports = [
        port_of(&dfns.uri()),
        port_of(&zitadel.uri()),
        port_of(&sailpoint.uri()),
        port_of(&gitlab.uri()),
    ];

    let credentials = match loaded {
        Some(file) => {
            let path = state_file.clone().unwrap_or_default();
            let bad = |reason| SimError::StateFile {
                path: path.clone(),
                reason,
            };
            let credentials = restore(&file, &dfns, &zitadel, &sailpoint, &gitlab).map_err(bad)?;
            let (lines, last) = journal::read_journals(&path, journal_generation(&file))
                .map_err(|e| bad(format!("its journal: {e}")))?;
            for line in &lines {
                replay(line, &dfns, &zitadel, &sailpoint, &gitlab)
                    .map_err(|e| bad(format!("its journal: {e}")))?;
            }
            generation = last;
            credentials
        }
        None => {
            let credentials = bootstrap(&dfns, &zitadel, &gitlab);
            if options.seed == Some(Seed::Demo) {
                seed_demo(&dfns, &zitadel, &sailpoint, &gitlab, &credentials);
            }
            credentials
        }
    };
    // The key of the user the JWT profile authenticates as (the admin machine user, whose
    // key `bootstrap` registered), not of the user whose tokens are managed.
    let key_file = dir.join(format!("zitadel-key-{}-{}.json", ports[1], random_hex(8)));
    let key = crate::zitadel::test_key_file(ZitadelSim::ADMIN_USER);
    written.write_new(&key_file, key.as_bytes())?;
    let admin_token = options.admin_token.then(|| random_hex(ADMIN_TOKEN_BYTES));
    if let Some(token) = &admin_token {
        for port in ports {
            written.write_token(&dir, port, token)?;
        }
    }
    let mut inner = Inner {
        initial: Value::Null,
        dfns,
        zitadel,
        sailpoint,
        gitlab,
        credentials: Mutex::new(credentials),
        state_file,
        key_file,
        journal: OnceLock::new(),
        log_unknown: options.log_unknown,
        admin_token,
        written,
    };
    inner.initial = inner.snapshot();
    let inner = Arc::new(inner);
    let _ = slot.set(Arc::downgrade(&inner));
    let emulator = Emulator { inner };
    // On an error, dropping `emulator` removes what was written.
    if let Some(path) = emulator.inner.state_file.clone() {
        // What start did is in the first state file: the journal begins after it.
        let _ = emulator.inner.changes();
        let io = |e| SimError::Io {
            what: format!("cannot write the state file {}", path.display()),
            source: e,
        };
        let files = journal::Files::create(&path, generation + 1, &emulator.inner).map_err(io)?;
        let journal =
            journal::Journal::start(files, Arc::downgrade(&emulator.inner)).map_err(io)?;
        let _ = emulator.inner.journal.set(journal);
    }
    Ok(emulator)
}

/// The port of `http://127.0.0.1:<port>`.
fn port_of(uri: &str) -> u16 {
    uri.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

impl Emulator {
    /// The Dfns simulator.
    pub fn dfns(&self) -> &DfnsSim {
        &self.inner.dfns
    }

    /// The ZITADEL simulator.
    pub fn zitadel(&self) -> &ZitadelSim {
        &self.inner.zitadel
    }

    /// The SailPoint simulator.
    pub fn sailpoint(&self) -> &SailPointSim {
        &self.inner.sailpoint
    }

    /// The GitLab simulator.
    pub fn gitlab(&self) -> &GitLabSim {
        &self.inner.gitlab
    }

    /// The environment a client needs, as `(name, value)` pairs: every provider's base URL
    /// and credentials under the names `pats` reads (`DFNS_*`, `ZITADEL_*`, `SAIL_*`,
    /// `GITLAB_*`: python-gitlab's and glab's users set the same two), the
    /// admin URL as `PATS_SIM_URL`, and `PATS_PROVIDER` (`provider`, default `sailpoint`).
    pub fn env(&self, provider: Option<&str>) -> Vec<(String, String)> {
        self.inner.env(provider)
    }

    /// [`env`](Self::env) as shell `export` lines, for `eval "$(pats sim env)"`.
    pub fn exports(&self, provider: Option<&str>) -> String {
        exports(&self.inner.env(provider))
    }

    /// The whole state, as the state file holds it.
    pub fn state(&self) -> Value {
        self.inner.snapshot()
    }

    /// Writes the whole state file now, folding the journal into it (every change is on
    /// disk before its answer anyway, in the journal; see the module documentation).
    pub fn save(&self) -> std::io::Result<()> {
        match self.inner.journal.get() {
            Some(journal) => journal.save(&self.inner),
            None => Ok(()),
        }
    }

    /// The admin token the admin API needs (`Authorization: Bearer <token>`); `None` when
    /// it was started with [`Options::admin_token`]`(false)`.
    pub fn admin_token(&self) -> Option<&str> {
        self.inner.admin_token.as_deref()
    }

    /// The ports of Dfns, ZITADEL, SailPoint and GitLab, in that order.
    pub fn ports(&self) -> [u16; 4] {
        [
            port_of(&self.inner.dfns.uri()),
            port_of(&self.inner.zitadel.uri()),
            port_of(&self.inner.sailpoint.uri()),
            port_of(&self.inner.gitlab.uri()),
        ]
    }
}

/// `pairs` as shell `export` lines, each value single-quoted.
pub fn exports(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
        .collect()
}

/// The emulator, once `start` has finished: a request that arrives in the moment between a
/// port being bound and `start` returning waits for it (at most a second).
fn ready(slot: &OnceLock<Weak<Inner>>) -> Option<&Weak<Inner>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        if let Some(inner) = slot.get() {
            return Some(inner);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn layer(slot: &Arc<OnceLock<Weak<Inner>>>, which: Which) -> Layer {
    let slot = slot.clone();
    Arc::new(move |request, inner| {
        let emulator = ready(&slot).and_then(Weak::upgrade);
        if let Some(rest) = request.url.path().strip_prefix(ADMIN_PREFIX) {
            return match &emulator {
                Some(emulator) => emulator.admin(which, rest, request),
                None => admin_error(503, "the emulator is starting"),
            };
        }
        let mut answer = inner(request);
        if let Some(emulator) = emulator {
            if emulator.log_unknown && matches!(answer.status, 404 | 405) {
                eprintln!(
                    "pats-sim: {}: {} {} answered {}",
                    which.name(),
                    request.method,
                    request.url.path(),
                    answer.status
                );
            }
            // GitLab's reads change state too: using a token sets its `last_used_at`.
            if which == Which::GitLab
                || !matches!(request.method.as_str(), "GET" | "HEAD" | "OPTIONS")
            {
                answer.durable = emulator.record();
            }
        }
        answer
    })
}

impl Inner {
    fn env(&self, provider: Option<&str>) -> Vec<(String, String)> {
        let c = match self.credentials.lock() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let pairs = [
            ("PATS_SIM_URL", self.dfns.uri()),
            (
                ADMIN_TOKEN_VAR,
                self.admin_token.clone().unwrap_or_default(),
            ),
            ("PATS_PROVIDER", provider.unwrap_or("sailpoint").to_owned()),
            ("DFNS_BASE_URL", self.dfns.uri()),
            ("DFNS_ORG_ID", self.dfns.org_id()),
            ("DFNS_USER_ID", c.dfns_user_id),
            ("DFNS_AUTH_TOKEN", c.dfns_auth_token),
            ("DFNS_CRED_ID", c.dfns_credential_id),
            ("DFNS_PRIVATE_KEY", c.dfns_private_key_pem),
            ("ZITADEL_URL", self.zitadel.uri()),
            ("ZITADEL_ORG_ID", ZitadelSim::DEFAULT_ORG.to_owned()),
            ("ZITADEL_USER_ID", c.zitadel_user_id),
            ("ZITADEL_PAT", c.zitadel_pat),
            ("ZITADEL_CLIENT_ID", c.zitadel_client_id),
            ("ZITADEL_CLIENT_SECRET", c.zitadel_client_secret),
            ("ZITADEL_KEY_FILE", self.key_file.display().to_string()),
            ("SAIL_BASE_URL", self.sailpoint.uri()),
            ("SAIL_IDENTITY_ID", SailPointSim::IDENTITY_ID.to_owned()),
            ("SAIL_CLIENT_ID", SailPointSim::CLIENT_ID.to_owned()),
            ("SAIL_CLIENT_SECRET", SailPointSim::CLIENT_SECRET.to_owned()),
            ("GITLAB_BASE_URL", self.gitlab.uri()),
            (
                "GITLAB_USER_ID",
                self.gitlab
                    .token_user(&c.gitlab_token)
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
            ),
            ("GITLAB_TOKEN", c.gitlab_token),
            // What a create that names no scopes asks for (pats' `GitLabConfig::scopes`).
            ("GITLAB_SCOPES", "api".to_owned()),
        ];
        pairs
            .into_iter()
            .filter(|(k, _)| *k != ADMIN_TOKEN_VAR || self.admin_token.is_some())
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    fn snapshot(&self) -> Value {
        let credentials = match self.credentials.lock() {
            Ok(c) => serde_json::to_value(&*c),
            Err(p) => serde_json::to_value(&*p.into_inner()),
        };
        json!({
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "credentials": credentials.unwrap_or(Value::Null),
            "dfns": self.dfns.snapshot().unwrap_or(Value::Null),
            "zitadel": self.zitadel.snapshot().unwrap_or(Value::Null),
            "sailpoint": self.sailpoint.snapshot().unwrap_or(Value::Null),
            "gitlab": self.gitlab.snapshot().unwrap_or(Value::Null),
        })
    }

    /// The state document, naming the journal `generation` that follows it when given.
    fn document(&self, generation: Option<u64>) -> Value {
        let mut document = self.snapshot();
        if let (Some(generation), Value::Object(map)) = (generation, &mut document) {
            map.insert("journal".into(), json!(generation));
        }
        document
    }

    /// What the simulators changed since they were last asked, as a journal line, and
    /// whether one of them replaced its whole state.
    fn changes(&self) -> (Option<Vec<u8>>, bool) {
        let full = |e: serde_json::Error| {
            eprintln!("pats-sim: a change does not serialize ({e}); writing the whole state");
            crate::table::Changes::Everything
        };
        journal::entry([
            ("dfns", self.dfns.take_changes().unwrap_or_else(full)),
            ("zitadel", self.zitadel.take_changes().unwrap_or_else(full)),
            (
                "sailpoint",
                self.sailpoint.take_changes().unwrap_or_else(full),
            ),
            ("gitlab", self.gitlab.take_changes().unwrap_or_else(full)),
        ])
    }

    /// Hands what a request changed to the journal (when there is a state file); what its
    /// answer waits for.
    fn record(&self) -> Option<Box<crate::answer::Durable>> {
        self.journal.get()?.record(self)
    }

    fn admin(&self, which: Which, rest: &str, request: &Request) -> Answer {
        let method = request.method.as_str();
        if let Some(refused) = self.admin_refusal(method, rest, request) {
            return refused;
        }
        if let Some(answer) = provision::route(self, which, method, rest, request) {
            return self.persisted(method, answer);
        }
        let answer = match (method, rest) {
            ("GET", "health") => Answer::new(200).set_body_json(json!({ "status": "ok" })),
            ("GET", "proof") => {
                let nonce = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "nonce")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                match &self.admin_token {
                    None => admin_error(404, "this emulator runs without an admin token"),
                    Some(_) if !is_nonce(&nonce) => {
                        admin_error(400, "nonce must be 16 to 64 lowercase hexadecimal digits")
                    }
                    Some(token) => Answer::new(200)
                        .set_body_json(json!({ "proof": token_proof(token, &nonce) })),
                }
            }
            ("GET", "env") => {
                let provider = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "provider")
                    .map(|(_, v)| v.into_owned());
                if let Some(p) = &provider
                    && !PROVIDER_NAMES.contains(&p.as_str())
                {
                    return admin_error(400, "provider must be dfns, zitadel, sailpoint or gitlab");
                }
                let env: serde_json::Map<String, Value> = self
                    .env(provider.as_deref())
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                Answer::new(200).set_body_json(json!({ "env": env }))
            }
            ("GET", "state") => Answer::new(200).set_body_json(self.snapshot()),
            ("POST", "reset") => match restore_sims(self, &self.initial) {
                Ok(()) => {
                    self.clear_faults();
                    Answer::new(200).set_body_json(json!({ "reset": true }))
                }
                Err(e) => admin_error(500, &e),
            },
            ("POST", "seed") => self.seed(which, request),
            ("GET", "requests") => Answer::new(200).set_body_json(
                self.requests(which)
                    .iter()
                    .map(request_json)
                    .collect::<Vec<_>>(),
            ),
            ("DELETE", "requests") => {
                self.clear_requests(which);
                Answer::new(204)
            }
            ("POST", "faults") => match fault_rule(request) {
                Ok(FaultOrAction::Rule(rule)) => {
                    self.faults(which).inject(rule);
                    Answer::new(201).set_body_json(json!({ "armed": true }))
                }
                Ok(FaultOrAction::ExpireTokens) => match which {
                    Which::SailPoint => {
                        self.sailpoint.expire_access_tokens();
                        Answer::new(201).set_body_json(json!({ "expired": true }))
                    }
                    Which::Zitadel => {
                        self.zitadel.revoke_access_tokens();
                        Answer::new(201).set_body_json(json!({ "expired": true }))
                    }
                    Which::Dfns | Which::GitLab => admin_error(
                        400,
                        &format!(
                            "expired_token is not available for {} (its bearer tokens are long-lived)",
                            which.name()
                        ),
                    ),
                },
                Err(e) => admin_error(400, &e),
            },
            ("DELETE", "faults") => {
                self.faults(which).clear();
                Answer::new(204)
            }
            (
                _,
                "health" | "proof" | "env" | "state" | "reset" | "seed" | "requests" | "faults",
            ) => admin_error(405, "method not allowed here"),
            _ => admin_error(404, "no such admin endpoint"),
        };
        self.persisted(method, answer)
    }

    /// `answer`, made to wait until what an admin write changed is on disk.
    fn persisted(&self, method: &str, mut answer: Answer) -> Answer {
        if matches!(method, "POST" | "PUT" | "DELETE") {
            answer.durable = self.record();
        }
        answer
    }

    /// The answer to an admin request that lacks the admin token (401) or, when it changes
    /// something, the JSON content type (415); `None` when it may go on. `GET health` and
    /// `GET proof` are always open.
    fn admin_refusal(&self, method: &str, rest: &str, request: &Request) -> Option<Answer> {
        if method == "GET" && matches!(rest, "health" | "proof") {
            return None;
        }
        if let Some(token) = &self.admin_token {
            let given = request
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !same_secret(given.trim(), token) {
                return Some(
                    admin_error(
                        401,
                        "the admin API needs `Authorization: Bearer $PATS_SIM_ADMIN_TOKEN`",
                    )
                    .insert_header("www-authenticate", "Bearer"),
                );
            }
        }
        if !matches!(method, "GET" | "HEAD" | "OPTIONS") && !is_json(request) {
            return Some(admin_error(
                415,
                "admin requests that change something must say content-type: application/json (a body-less DELETE too)",
            ));
        }
        None
    }

    fn faults(&self, which: Which) -> &crate::Faults {
        match which {
            Which::Dfns => self.dfns.faults(),
            Which::Zitadel => self.zitadel.faults(),
            Which::SailPoint => self.sailpoint.faults(),
            Which::GitLab => self.gitlab.faults(),
        }
    }

    fn clear_faults(&self) {
        for which in [Which::Dfns, Which::Zitadel, Which::SailPoint, Which::GitLab] {
            self.faults(which).clear();
        }
    }

    fn requests(&self, which: Which) -> Vec<Request> {
        match which {
            Which::Dfns => self.dfns.server().requests(),
            Which::Zitadel => self.zitadel.server().requests(),
            Which::SailPoint => self.sailpoint.server().requests(),
            Which::GitLab => self.gitlab.server().requests(),
        }
    }

    fn clear_requests(&self, which: Which) {
        match which {
            Which::Dfns => self.dfns.server().clear_requests(),
            Which::Zitadel => self.zitadel.server().clear_requests(),
            Which::SailPoint => self.sailpoint.server().clear_requests(),
            Which::GitLab => self.gitlab.server().clear_requests(),
        }
    }

    fn seed(&self, which: Which, request: &Request) -> Answer {
        let Ok(body) = request.body_json::<Value>() else {
            return admin_error(400, "the body must be JSON");
        };
        let names = |key: &str| -> Result<Vec<String>, String> {
            match body.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .filter(|s| !s.is_empty() && s.len() <= 200)
                            .map(str::to_owned)
                            .ok_or_else(|| format!("{key} must be non-empty strings"))
                    })
                    .collect(),
                Some(_) => Err(format!("{key} must be an array of strings")),
            }
        };
        let (tokens, users) = match (names("tokens"), names("users")) {
            (Ok(t), Ok(u)) => (t, u),
            (Err(e), _) | (_, Err(e)) => return admin_error(400, &e),
        };
        if tokens.len() + users.len() > 10_000 {
            return admin_error(400, "at most 10000 tokens and users per call");
        }
        let credentials = match self.credentials.lock() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let mut created = Vec::new();
        match which {
            Which::Dfns => {
                if !users.is_empty() {
                    return admin_error(400, "users can only be seeded on zitadel and gitlab");
                }
                for name in &tokens {
                    match self.dfns.seed_pat(&credentials.dfns_user_id, name) {
                        Some(token) => created.push(token),
                        None => return admin_error(400, &format!("cannot create token {name}")),
                    }
                }
            }
            Which::SailPoint => {
                if !users.is_empty() {
                    return admin_error(400, "users can only be seeded on zitadel and gitlab");
                }
                for name in &tokens {
                    match self.sailpoint.seed_pat(name) {
                        Some(token) => created.push(token),
                        None => {
                            return admin_error(
                                409,
                                &format!("cannot create token {name} (is the name taken?)"),
                            );
                        }
                    }
                }
            }
            Which::Zitadel => {
                let org = ZitadelSim::DEFAULT_ORG;
                for name in users.iter().chain(&tokens) {
                    if !self.zitadel.has_username(org, name) {
                        self.zitadel.add_named_machine_users(org, &[name]);
                    }
                }
                for name in &tokens {
                    let Some(user) = self.zitadel.user_id_of(org, name) else {
                        return admin_error(500, "a seeded user is missing");
                    };
                    if let Some((id, secret)) = self.zitadel.issue_pat(&user) {
                        created.push(json!({ "tokenId": id, "token": secret, "userId": user }));
                    }
                }
            }
            Which::GitLab => {
                for name in &users {
                    if self.gitlab.user_id(name).is_none() {
                        self.gitlab.seed_user(name, false);
                    }
                }
                if tokens.is_empty() {
                    return Answer::new(201).set_body_json(json!({ "created": created }));
                }
                let Some(owner) = self.gitlab.token_user(&credentials.gitlab_token) else {
                    return admin_error(409, "the user of GITLAB_TOKEN is gone");
                };
                for name in &tokens {
                    if let Some((id, token)) = self.gitlab.seed_pat(owner, name) {
                        created.push(json!({ "id": id, "token": token, "userId": owner }));
                    }
                }
            }
        }
        Answer::new(201).set_body_json(json!({ "created": created }))
    }
}

enum FaultOrAction {
    Rule(FaultRule),
    ExpireTokens,
}

fn fault_rule(request: &Request) -> Result<FaultOrAction, String> {
    let body: Value = request
        .body_json()
        .map_err(|_| "the body must be JSON".to_owned())?;
    let kind = body
        .get("fault")
        .and_then(Value::as_str)
        .ok_or("\"fault\" is required")?;
    let number = |key: &str, default: u64| -> Result<u64, String> {
        match body.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| format!("\"{key}\" must be a non-negative integer")),
        }
    };
    let status = |default: u64| -> Result<u16, String> {
        let s = number("status", default)?;
        u16::try_from(s)
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| "\"status\" must be an HTTP status".to_owned())
    };
    let fault = match kind {
        "status" => Fault::status(status(503)?),
        "rate_limited" => Fault::RateLimited {
            retry_after: body.get("retry_after").and_then(Value::as_u64),
        },
        "stall" => Fault::Stall(Duration::from_secs(number("seconds", 300)?.min(3600))),
        "delay" => Fault::Delay(Duration::from_millis(number("ms", 1000)?.min(600_000))),
        "reset" => Fault::Reset,
        "truncated" => Fault::Truncated,
        "oversized" => Fault::Oversized(
            usize::try_from(number("bytes", 64 * 1024 * 1024)?.min(1 << 30)).unwrap_or(1 << 30),
        ),
        "invalid_json" => Fault::InvalidJson,
        "html" => Fault::Html(status(502)?),
        "wrong_content_type" => Fault::WrongContentType,
        "expired_token" => return Ok(FaultOrAction::ExpireTokens),
        other => return Err(format!("unknown fault {other:?}")),
    };
    let mut rule = FaultRule::new(fault);
    if let Some(times) = body.get("times") {
        let n = times
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("\"times\" must be a non-negative integer")?;
        rule = rule.times(n);
    }
    if let Some(m) = body.get("method") {
        rule = rule.method(m.as_str().ok_or("\"method\" must be a string")?);
    }
    if let Some(p) = body.get("path_contains") {
        rule = rule.path_contains(p.as_str().ok_or("\"path_contains\" must be a string")?);
    }
    Ok(FaultOrAction::Rule(rule))
}

fn request_json(r: &Request) -> Value {
    let headers: serde_json::Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    json!({
        "method": r.method.as_str(),
        "path": r.url.path(),
        "query": r.url.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&r.body),
    })
}

fn admin_error(status: u16, message: &str) -> Answer {
    Answer::new(status).set_body_json(json!({ "error": message }))
}

/// Reads a state file: `None` when there is none yet.
fn read_state(path: &Path) -> Result<Option<Value>, SimError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SimError::Io {
                what: format!("cannot read {}", path.display()),
                source: e,
            });
        }
    };
    let bad = |reason: String| SimError::StateFile {
        path: path.to_owned(),
        reason,
    };
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("not a pats-sim state file (not JSON: {e})")))?;
    check_state_document(&value).map_err(bad)?;
    Ok(Some(value))
}

/// Whether `value` is a state document this build reads: its `format` and `version`.
fn check_state_document(value: &Value) -> Result<(), String> {
    if value.get("format").and_then(Value::as_str) != Some(STATE_FORMAT) {
        return Err(format!(
            "not a pats-sim state file (no \"format\": \"{STATE_FORMAT}\")"
        ));
    }
    match value.get("version").and_then(Value::as_u64) {
        Some(STATE_VERSION) => Ok(()),
        other => Err(format!(
            "state file version {} is not the version this pats-sim reads ({STATE_VERSION})",
            other.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
        )),
    }
}

fn restore(
    file: &Value,
    dfns: &DfnsSim,
    zitadel: &ZitadelSim,
    sailpoint: &SailPointSim,
    gitlab: &GitLabSim,
) -> Result<Credentials, String> {
    let mut credentials: Credentials = serde_json::from_value(file["credentials"].clone())
        .map_err(|e| format!("corrupt credentials: {e}"))?;
    // A document written before GitLab was emulated has none: it gets a new GitLab state.
    match file.get("gitlab") {
        None | Some(Value::Null) => {
            gitlab.clear();
            credentials.gitlab_token = bootstrap_gitlab(gitlab);
        }
        Some(state) => gitlab
            .restore(state.clone())
            .map_err(|e| format!("corrupt gitlab state: {e}"))?,
    }
    dfns.restore(file["dfns"].clone())
        .map_err(|e| format!("corrupt dfns state: {e}"))?;
    zitadel
        .restore(file["zitadel"].clone())
        .map_err(|e| format!("corrupt zitadel state: {e}"))?;
    sailpoint
        .restore(file["sailpoint"].clone())
        .map_err(|e| format!("corrupt sailpoint state: {e}"))?;
    Ok(credentials)
}

/// The journal generation a state document is followed by (`0` for one without).
fn journal_generation(document: &Value) -> u64 {
    document.get("journal").and_then(Value::as_u64).unwrap_or(0)
}

/// Applies one journal line to the simulators.
fn replay(
    line: &Value,
    dfns: &DfnsSim,
    zitadel: &ZitadelSim,
    sailpoint: &SailPointSim,
    gitlab: &GitLabSim,
) -> Result<(), String> {
    for (name, change) in line.as_object().into_iter().flatten() {
        match name.as_str() {
            "dfns" => dfns.apply_changes(change),
            "zitadel" => zitadel.apply_changes(change),
            "sailpoint" => sailpoint.apply_changes(change),
            "gitlab" => gitlab.apply_changes(change),
            other => Err(format!("no simulator {other}")),
        }
        .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn restore_sims(inner: &Inner, file: &Value) -> Result<(), String> {
    let credentials = restore(
        file,
        &inner.dfns,
        &inner.zitadel,
        &inner.sailpoint,
        &inner.gitlab,
    )?;
    match inner.credentials.lock() {
        Ok(mut c) => *c = credentials,
        Err(p) => *p.into_inner() = credentials,
    }
    Ok(())
}

/// A fresh state's credentials: a Dfns user with a signing key, a ZITADEL machine user
/// (`pats-demo`) with the admin's PAT and a client secret, a GitLab administrator's token.
fn bootstrap(dfns: &DfnsSim, zitadel: &ZitadelSim, gitlab: &GitLabSim) -> Credentials {
    let user = dfns.register_user();
    let org = ZitadelSim::DEFAULT_ORG;
    let managed = zitadel
        .add_named_machine_users(org, &["pats-demo"])
        .into_iter()
        .next()
        .unwrap_or_default();
    zitadel.register_test_key(ZitadelSim::ADMIN_USER);
    let (client_id, client_secret) = zitadel
        .add_client_secret(ZitadelSim::ADMIN_USER)
        .unwrap_or_default();
    Credentials {
        dfns_user_id: user.user_id.clone(),
        dfns_auth_token: user.auth_token.clone(),
        dfns_credential_id: user.credential_id.clone(),
        dfns_private_key_pem: user.private_key_pem.clone(),
        zitadel_pat: zitadel.admin_pat(),
        zitadel_user_id: managed,
        zitadel_client_id: client_id,
        zitadel_client_secret: client_secret,
        gitlab_token: bootstrap_gitlab(gitlab),
    }
}

/// GitLab's administrator (`root`, as on a new instance) and its token (scope `api`, never
/// expiring, as one made before GitLab required expiry): answers the token.
fn bootstrap_gitlab(gitlab: &GitLabSim) -> String {
    let root = gitlab.seed_user("root", true);
    gitlab.seed_token(root, "pats-sim", &["api"])
}

/// The demo data: three tokens on each provider (on ZITADEL, machine users of those names
/// with a token each; on GitLab, tokens of the user of `GITLAB_TOKEN`).
fn seed_demo(
    dfns: &DfnsSim,
    zitadel: &ZitadelSim,
    sailpoint: &SailPointSim,
    gitlab: &GitLabSim,
    credentials: &Credentials,
) {
    const NAMES: [&str; 3] = ["deploy", "backup", "metrics"];
    let gitlab_user = gitlab.token_user(&credentials.gitlab_token);
    for name in NAMES {
        let _ = dfns.seed_pat(&credentials.dfns_user_id, name);
        let _ = sailpoint.seed_pat(name);
        if let Some(user) = gitlab_user {
            let _ = gitlab.seed_pat(user, name);
        }
    }
    for id in zitadel.add_named_machine_users(ZitadelSim::DEFAULT_ORG, &NAMES) {
        let _ = zitadel.issue_pat(&id);
    }
}

/// `n` random bytes from the operating system, in hex.
fn random_hex(n: usize) -> String {
    use rand_core::RngCore as _;
    let mut bytes = vec![0u8; n];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What `GET /_pats_sim/proof?nonce=<nonce>` answers: HMAC-SHA256, keyed with the admin
/// token's text, of `pats-sim admin token proof:` followed by the nonce, in lowercase hex.
/// Whoever computes it knows the token; the proof does not reveal it.
pub fn token_proof(token: &str, nonce: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, token.as_bytes());
    let mut message = b"pats-sim admin token proof:".to_vec();
    message.extend_from_slice(nonce.as_bytes());
    ring::hmac::sign(&key, &message)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A nonce `GET /_pats_sim/proof` accepts: 16 to 64 lowercase hex digits.
fn is_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether the request says `content-type: application/json` (parameters allowed).
fn is_json(request: &Request) -> bool {
    request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Creates `path`, which must not exist (not even as a symbolic link), readable and
/// writable by its owner only.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Writes `bytes` to a new file `path` ([`create_private`]), flushed and synced; a file it
/// could not finish is removed.
fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = create_private(path)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.flush())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// The admin token file of `port` in the private directory `dir`.
fn token_file(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("admin-token-{port}"))
}

/// The user's private directory for the key and token files (see the module
/// documentation), created if missing, and checked.
#[cfg(unix)]
fn private_dir() -> Result<PathBuf, SimError> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
    let uid = rustix::process::geteuid().as_raw();
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .filter(|d| std::fs::metadata(d).is_ok_and(|m| m.is_dir() && m.uid() == uid));
    let dir = match runtime {
        Some(runtime) => runtime.join("pats-sim"),
        None => std::env::temp_dir().join(format!("pats-sim-{uid}")),
    };
    let unsafe_dir = |reason: String| SimError::PrivateDir {
        path: dir.clone(),
        reason,
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        // Ours, just made: the umask may have taken bits away.
        Ok(()) => std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| unsafe_dir(format!("cannot set its mode to 0700: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(unsafe_dir(format!("cannot create it: {e}"))),
    }
    let meta =
        std::fs::symlink_metadata(&dir).map_err(|e| unsafe_dir(format!("cannot read it: {e}")))?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir("it is a symbolic link".to_owned()));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("it is not a directory".to_owned()));
    }
    if meta.uid() != uid {
        return Err(unsafe_dir(format!(
            "it belongs to uid {}, not to you (uid {uid})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode != 0o700 {
        return Err(unsafe_dir(format!("its mode is {mode:04o}, not 0700")));
    }
    Ok(dir)
}

/// The private directory where there are no owners and modes to check.
#[cfg(not(unix))]
fn private_dir() -> Result<PathBuf, SimError> {
    let dir = std::env::temp_dir().join("pats-sim");
    std::fs::create_dir_all(&dir).map_err(|e| SimError::PrivateDir {
        path: dir.clone(),
        reason: format!("cannot create it: {e}"),
    })?;
    Ok(dir)
}

/// The state file to use for `path`: `path`, or the target of the symbolic link it is.
fn resolve_state(path: &Path) -> Result<PathBuf, SimError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            // A link to a file yet to be created: resolve its directory.
            let target = std::fs::read_link(path).map_err(|e| SimError::Io {
                what: format!("cannot read the symbolic link {}", path.display()),
                source: e,
            })?;
            let target = match path.parent() {
                Some(parent) => parent.join(target),
                None => target,
            };
            match std::fs::canonicalize(&target) {
                Ok(resolved) => Ok(resolved),
                Err(_) => {
                    let name = target.file_name().ok_or_else(|| SimError::StateFile {
                        path: path.to_owned(),
                        reason: "a symbolic link to no file name".to_owned(),
                    })?;
                    let parent = target.parent().unwrap_or(Path::new("."));
                    let parent = std::fs::canonicalize(parent).map_err(|e| SimError::Io {
                        what: format!(
                            "cannot resolve the symbolic link {} (to {})",
                            path.display(),
                            target.display()
                        ),
                        source: e,
                    })?;
                    Ok(parent.join(name))
                }
            }
        }
        _ => Ok(path.to_owned()),
    }
}

/// The files a run wrote and the state file's lock: removed and released by
/// [`remove_all`](Self::remove_all), at the latest when dropped (a failed start drops it).
#[derive(Default)]
struct Written {
    files: Mutex<Vec<PathBuf>>,
    lock: Mutex<Option<StateLock>>,
}

impl Written {
    /// Writes a new private file, to be removed at the end.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), SimError> {
        write_new_private(path, bytes).map_err(|e| SimError::Io {
            what: format!("cannot write {}", path.display()),
            source: e,
        })?;
        self.remember(path.to_owned());
        Ok(())
    }

    /// Writes the admin token file of `port` (a new file of a random name, renamed over
    /// whatever a run that could not clean up left there).
    fn write_token(&self, dir: &Path, port: u16, token: &str) -> Result<(), SimError> {
        let file = token_file(dir, port);
        let temp = dir.join(format!(".admin-token-{port}-{}.tmp", random_hex(8)));
        let io = |e: std::io::Error| SimError::Io {
            what: format!("cannot write {}", file.display()),
            source: e,
        };
        write_new_private(&temp, token.as_bytes()).map_err(io)?;
        if let Err(e) = std::fs::rename(&temp, &file) {
            let _ = std::fs::remove_file(&temp);
            return Err(io(e));
        }
        self.remember(file);
        Ok(())
    }

    fn remember(&self, path: PathBuf) {
        match self.files.lock() {
            Ok(mut files) => files.push(path),
            Err(p) => p.into_inner().push(path),
        }
    }

    /// Takes the state file's lock, to be released at the end.
    fn lock_state(&self, state: &Path) -> Result<(), SimError> {
        let lock = StateLock::acquire(state)?;
        match self.lock.lock() {
            Ok(mut l) => *l = Some(lock),
            Err(p) => *p.into_inner() = Some(lock),
        }
        Ok(())
    }

    /// Removes every file and releases the lock (once; later calls do nothing).
    fn remove_all(&self) {
        let files = match self.files.lock() {
            Ok(mut f) => std::mem::take(&mut *f),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        for file in files {
            let _ = std::fs::remove_file(file);
        }
        let lock = match self.lock.lock() {
            Ok(mut l) => l.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(lock) = lock {
            lock.release();
        }
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// An exclusive lock on `<state>.lock`, which holds the holder's pid.
struct StateLock {
    path: PathBuf,
    #[cfg(unix)]
    _file: std::fs::File,
}

impl StateLock {
    /// The lock file of `state`.
    fn path(state: &Path) -> PathBuf {
        let mut name = state.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        state.with_file_name(name)
    }

    #[cfg(unix)]
    fn acquire(state: &Path) -> Result<Self, SimError> {
        use std::io::{Read as _, Write as _};
        use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
        let path = Self::path(state);
        let io = |e: std::io::Error| SimError::Io {
            what: format!("cannot lock {}", path.display()),
            source: e,
        };
        // A holder removes the file as it exits: one that was locked after its removal
        // is not the file at `path` any more, and is tried again.
        for _ in 0..20 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(io)?;
            let held = file.metadata().map_err(io)?;
            if !held.is_file() {
                return Err(io(std::io::Error::other("not a regular file")));
            }
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    let mut text = String::new();
                    let _ = (&mut file).take(32).read_to_string(&mut text);
                    return Err(SimError::StateInUse {
                        path: state.to_owned(),
                        holder: text.trim().parse().ok(),
                    });
                }
                Err(e) => return Err(io(e.into())),
            }
            let current = std::fs::symlink_metadata(&path);
            if current.is_ok_and(|c| c.dev() == held.dev() && c.ino() == held.ino()) {
                file.set_len(0).map_err(io)?;
                writeln!(file, "{}", std::process::id()).map_err(io)?;
                file.sync_all().map_err(io)?;
                return Ok(Self { path, _file: file });
            }
        }
        Err(io(std::io::Error::other(
            "the lock file kept being replaced",
        )))
    }

    /// Without `flock`: no lock.
    #[cfg(not(unix))]
    fn acquire(state: &Path) -> Result<Self, SimError> {
        let _ = state;
        Ok(Self {
            path: PathBuf::new(),
        })
    }

    /// Removes the lock file, then unlocks it (by closing it).
    fn release(self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads the admin token file of `port` (a regular file of this user, readable by this
/// user only, holding a token).
fn read_token_file(port: u16) -> Result<String, String> {
    use std::io::Read as _;
    let dir = private_dir().map_err(|e| e.to_string())?;
    let path = token_file(&dir, port);
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "no admin token file {} (a pats-sim of yours writes one for each of its ports; one started with --no-admin-token cannot be asked: use the exports `serve` printed)",
                path.display()
            )
        } else {
            format!("cannot read {}: {e}", path.display())
        }
    })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if meta.uid() != rustix::process::geteuid().as_raw() || meta.mode() & 0o077 != 0 {
            return Err(format!("{} is not a private file of yours", path.display()));
        }
    }
    let mut token = String::new();
    file.take(256)
        .read_to_string(&mut token)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let token = token.trim().to_owned();
    if token.len() != 2 * ADMIN_TOKEN_BYTES || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{} holds no admin token", path.display()));
    }
    Ok(token)
}

/// Asks the emulator on `127.0.0.1:port` (any of its ports) for its environment
/// ([`Emulator::env`]), as the same user that started it: the admin token comes from the
/// token file that emulator wrote for that port. The listener must first prove it holds
/// that token (`GET /_pats_sim/proof` with a random nonce, [`token_proof`]); only then is
/// the token sent, and the answer must carry that same token. Every name must be one of [`ENV_NAMES`], every value a string without control
/// characters other than newlines; anything else is [`SimError::NotTheEmulator`].
pub fn fetch_env(port: u16, provider: Option<&str>) -> Result<Vec<(String, String)>, SimError> {
    let url = format!("http://127.0.0.1:{port}{ADMIN_PREFIX}env");
    let not_running = |reason: String| SimError::NotRunning {
        url: url.clone(),
        reason,
    };
    let not_it = |reason: String| SimError::NotTheEmulator {
        url: url.clone(),
        reason,
    };
    if let Some(p) = provider
        && !PROVIDER_NAMES.contains(&p)
    {
        return Err(not_running(
            "the provider must be dfns, zitadel, sailpoint or gitlab".to_owned(),
        ));
    }
    let token = read_token_file(port).map_err(&not_running)?;
    // First the listener proves it holds the token (a stale token file names a port
    // anyone may have bound since): only then is the token sent.
    let nonce = random_hex(16);
    let failed = |e: AdminGet| match e {
        AdminGet::Io(reason) => not_running(reason),
        AdminGet::Malformed(reason) => not_it(reason),
    };
    let (status, body) = admin_get(port, &format!("proof?nonce={nonce}"), None).map_err(failed)?;
    let proof = (status == "200")
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
        .and_then(|v| v.get("proof").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    if !same_secret(&proof, &token_proof(&token, &nonce)) {
        return Err(not_it(
            "it cannot prove it holds the admin token of the token file (an emulator that is gone left it, and another program has its port?); the token was not sent".to_owned(),
        ));
    }
    let query = provider.map_or_else(String::new, |p| format!("?provider={p}"));
    let (status, body) = admin_get(port, &format!("env{query}"), Some(&token)).map_err(failed)?;
    match status.as_str() {
        "200" => {}
        "401" => {
            return Err(not_it(
                "it refused the admin token of the token file".to_owned(),
            ));
        }
        other => return Err(not_running(format!("it answered {other}"))),
    }
    let answer: Value =
        serde_json::from_slice(&body).map_err(|_| not_it("the answer is not JSON".to_owned()))?;
    let env = answer
        .get("env")
        .and_then(Value::as_object)
        .ok_or_else(|| not_it("the answer has no \"env\" object".to_owned()))?;
    for (name, value) in env {
        if !ENV_NAMES.contains(&name.as_str()) {
            let shown: String = name.chars().take(40).collect();
            return Err(not_it(format!("it sent an unknown variable {shown:?}")));
        }
        let Some(value) = value.as_str() else {
            return Err(not_it(format!("{name} is not a string")));
        };
        if value.chars().any(|c| c.is_control() && c != '\n') {
            return Err(not_it(format!("{name} holds control characters")));
        }
    }
    let answered = env
        .get(ADMIN_TOKEN_VAR)
        .and_then(Value::as_str)
        .unwrap_or("");
    if !same_secret(answered, &token) {
        return Err(not_it(format!(
            "its {ADMIN_TOKEN_VAR} is not the one of the token file"
        )));
    }
    Ok(ENV_NAMES
        .iter()
        .filter_map(|name| {
            env.get(*name)
                .and_then(Value::as_str)
                .map(|v| ((*name).to_owned(), v.to_owned()))
        })
        .collect())
}

/// Why [`admin_get`] has no answer.
enum AdminGet {
    /// Nothing answered (connection refused, a timeout).
    Io(String),
    /// Something answered that is not an HTTP answer of the emulator's size.
    Malformed(String),
}

/// `GET /_pats_sim/<target>` on `127.0.0.1:port` (with the admin token when given): the
/// status code and the body, at most [`MAX_ENV_ANSWER`] bytes, 5 s per step.
fn admin_get(port: u16, target: &str, token: Option<&str>) -> Result<(String, Vec<u8>), AdminGet> {
    use std::io::{Read as _, Write as _};
    let io = |e: std::io::Error| AdminGet::Io(e.to_string());
    let timeout = Duration::from_secs(5);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout).map_err(io)?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {ADMIN_PREFIX}{target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Accept: application/json\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut response = Vec::new();
    stream
        .take(MAX_ENV_ANSWER + 1)
        .read_to_end(&mut response)
        .map_err(io)?;
    if response.len() as u64 > MAX_ENV_ANSWER {
        return Err(AdminGet::Malformed(format!(
            "the answer is larger than {MAX_ENV_ANSWER} bytes"
        )));
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| AdminGet::Malformed("a malformed HTTP answer".to_owned()))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status: String = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .chars()
        .take(3)
        .filter(char::is_ascii_digit)
        .collect();
    let body = response[split + 4..].to_vec();
    Ok((status, body))
}

/// [`fetch_env`] as shell `export` lines ([`exports`]), for `eval "$(pats sim env)"`.
pub fn fetch_exports(port: u16, provider: Option<&str>) -> Result<String, SimError> {
    Ok(exports(&fetch_env(port, provider)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_during_start_waits_for_the_emulator() {
        // What `ready` waits on, set from elsewhere a moment later (as `start` does once
        // every port is bound); a `Weak` that never upgrades stands in for the emulator.
        let slot: Arc<OnceLock<Weak<Inner>>> = Arc::new(OnceLock::new());
        let setter = slot.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let _ = setter.set(Weak::new());
        });
        assert!(ready(&slot).is_some(), "gave up before start finished");
        let _ = thread.join();
    }
}
