//! `pats --provider gitlab` through the real binary, against the standalone `GitLabSim` in
//! this process: the lifecycle, GitLab's native rotation (the new secret delivered first,
//! the old token said to be revoked already, `--keep-old` refused before sending, a secret
//! that cannot be delivered naming the token to rotate again), profiles, `audit --all` in
//! SARIF, escaping, and no credential in any output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{json, run};
use assert_cmd::Command;
use pats_sim::gitlab::GitLabSim;
use time::{Date, Duration, OffsetDateTime};

/// A GitLab simulator with an administrator (whose token the CLI uses) and `ci-bot`, the
/// user whose tokens are managed.
struct GitLab {
    sim: GitLabSim,
    runtime: tokio::runtime::Runtime,
    admin_token: String,
    bot: u64,
}

impl GitLab {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime.block_on(GitLabSim::start());
        let admin = sim.seed_user("root", true);
        let bot = sim.seed_user("ci-bot", false);
        let admin_token = sim.seed_token(admin, "cli-admin", &["api"]);
        Self {
            sim,
            runtime,
            admin_token,
            bot,
        }
    }

    /// `pats` configured for the simulator through the environment.
    fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pats"));
        cmd.env_clear()
            .env("GITLAB_BASE_URL", self.sim.uri())
            .env("GITLAB_TOKEN", &self.admin_token)
            .env("GITLAB_USER_ID", self.bot.to_string())
            .env("GITLAB_SCOPES", "read_api")
            .args(["--provider", "gitlab"]);
        cmd
    }

    fn pats(&self, args: &[&str]) -> Command {
        let mut cmd = Command::from_std(self.command());
        cmd.args(args);
        cmd
    }

    /// Runs `args`; (exit code, stdout, stderr), checking that the administrator's token
    /// shows up in neither.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let (code, out, err) = run(&mut self.pats(args));
        assert!(
            !out.contains(&self.admin_token) && !err.contains(&self.admin_token),
            "the credential in the output:\n{out}\n{err}"
        );
        (code, out, err)
    }

    /// Creates `name` (30 days) with `pats create --json`: its id and secret.
    fn create(&self, name: &str) -> (String, String) {
        let (code, out, err) = self.run(&["create", name, "--expires-in", "30d", "--json"]);
        assert_eq!(code, 0, "{err}");
        let created = json(&out);
        assert_eq!(created["token"]["name"], name, "{out}");
        (
            created["token"]["id"].as_str().unwrap().to_owned(),
            created["secret"].as_str().unwrap().to_owned(),
        )
    }

    fn stored(&self, id: &str) -> pats_sim::gitlab::StoredToken {
        self.sim.stored_token(id.parse().unwrap()).unwrap()
    }

    /// How many POSTs (creates and rotations) reached the simulator.
    fn posts(&self) -> usize {
        self.runtime
            .block_on(self.sim.requests())
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count()
    }
}

#[test]
fn create_list_get_and_revoke_on_gitlab() {
    let gl = GitLab::start();
    let (id, secret) = gl.create("deploy");
    assert!(secret.starts_with("glpat-"), "a GitLab token");
    let stored = gl.stored(&id);
    assert_eq!(stored.user_id, gl.bot, "the configured user's token");
    assert_eq!(stored.scopes, ["read_api"], "the configured scopes");
    // 30 days from now, as a date GitLab keeps (the first midnight at or after it).
    let wanted = (OffsetDateTime::now_utc() + Duration::days(30)).date();
    let day = stored.expires_at.unwrap();
    assert!(day == wanted || Some(day) == wanted.next_day(), "{day}");

    let (code, out, err) = gl.run(&["create", "scoped", "--scope", "api", "--expires-in", "2d"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Created token"), "{out}");
    assert_eq!(gl.stored("3").scopes, ["api"], "--scope wins");

    let listed = |gl: &GitLab| -> Vec<(String, String)> {
        let (code, out, err) = gl.run(&["list", "--json"]);
        assert_eq!(code, 0, "{err}");
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["provider"], "gitlab");
                (
                    t["id"].as_str().unwrap().to_owned(),
                    t["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let names: Vec<String> = listed(&gl).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["deploy", "scoped"], "only the user's tokens");

    let (code, out, err) = gl.run(&["get", "@deploy", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["id"], id.as_str(), "{out}");
    assert!(!out.contains(&secret), "a secret is shown only once");

    let (code, _, err) = gl.run(&["revoke", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(gl.stored(&id).revoked);
    let ids: Vec<String> = listed(&gl).into_iter().map(|(i, _)| i).collect();
    assert!(!ids.contains(&id), "revoked: not listed: {ids:?}");
}

#[test]
fn rotate_delivers_the_new_secret_and_says_the_server_revoked_the_old_token() {
    let gl = GitLab::start();
    let (old, old_secret) = gl.create("deploy");
    let (code, out, err) = gl.run(&["rotate", "@deploy", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    let secret = doc["secret"].as_str().unwrap();
    assert!(secret.starts_with("glpat-") && secret != old_secret);
    let new = doc["token"]["id"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(doc["token"]["name"], "deploy");
    assert_eq!(doc["replaced"]["id"], old.as_str());
    assert_eq!(doc["replaced"]["revoked"], true, "{out}");
    assert_eq!(doc["replaced"]["kept"], false);
    // GitLab's own rotation: the old token revoked, the new one its successor with the same
    // scopes and about the same lifetime.
    assert!(gl.stored(&old).revoked);
    let stored = gl.stored(new);
    assert_eq!(stored.rotated_from, Some(old.parse().unwrap()));
    assert_eq!(stored.scopes, ["read_api"]);
    assert!(stored.expires_at > Some(Date::MIN));

    // In text: the secret first, then that the server revoked the old token.
    let (code, out, err) = gl.run(&["rotate", new]);
    assert_eq!(code, 0, "{err}");
    let at_secret = out
        .find("Secret (shown only this once")
        .expect("the secret");
    let at_revoked = out
        .find(&format!(
            "Old token {new} already revoked: gitlab revoked it when it rotated."
        ))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(at_secret < at_revoked, "{out}");
}

#[test]
fn keep_old_and_other_scopes_are_refused_before_anything_is_sent() {
    let gl = GitLab::start();
    let (old, _) = gl.create("deploy");
    let posts = gl.posts();
    let (code, out, err) = gl.run(&["rotate", &old, "--keep-old"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "--keep-old cannot be honoured: gitlab rotates in one call and revokes the old \
             token at once (nothing was rotated); rotate without --keep-old, or create a \
             second token"
        ),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
    let (code, _, err) = gl.run(&["rotate", &old, "--scope", "api"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("keeps the old token's scopes"), "{err}");
    let (code, _, err) = gl.run(&["rotate", &old, "--name", "other"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("keeps the old token's name"), "{err}");
    assert_eq!(gl.posts(), posts, "nothing was rotated");
    assert!(!gl.stored(&old).revoked);
}

#[cfg(unix)]
#[test]
fn a_rotated_secret_that_cannot_be_written_names_the_new_token_to_rotate_again() {
    let gl = GitLab::start();
    let (old, _) = gl.create("deploy");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = gl
        .command()
        .args(["rotate", &old])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    let new = gl
        .sim
        .stored_token(gl.sim.token_count() as u64)
        .expect("the rotated token");
    assert_eq!(new.rotated_from, Some(old.parse().unwrap()));
    let new = new.id;
    assert!(
        err.contains(&format!(
            "the new token {new} on gitlab holds that secret, and the old token {old} is \
             already revoked (gitlab revoked it when it rotated): rotate the new token with \
             `pats rotate {new}`"
        )),
        "{err}"
    );
    assert!(!err.contains("glpat-"), "{err}");
}

#[test]
fn a_rotation_whose_answer_is_lost_says_the_old_token_may_be_revoked_already() {
    let gl = GitLab::start();
    let (old, _) = gl.create("deploy");
    gl.sim.faults().inject(
        pats_sim::fault::FaultRule::new(pats_sim::fault::Fault::Truncated)
            .method("POST")
            .path_contains("/rotate")
            .times(1),
    );
    let (code, out, err) = gl.run(&["rotate", &old]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        err.contains(&format!(
            "may have been created on gitlab (if it rotated, gitlab also revoked the old token \
             {old}: check it with `pats get {old}`); check with `pats list`"
        )),
        "{err}"
    );
    assert!(gl.stored(&old).revoked, "the server did rotate");
}

#[test]
fn untrusted_names_are_escaped_and_unsupported_updates_are_usage_errors() {
    let gl = GitLab::start();
    gl.sim
        .seed_token(gl.bot, "evil\u{1b}]0;owned\u{7}\u{1b}[31m", &["read_api"]);
    let (code, out, err) = gl.run(&["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("evil"), "{out}");
    let (id, _) = gl.create("deploy");
    let (code, _, err) = gl.run(&["rename", &id, "other"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("gitlab"), "{err}");
}

#[test]
fn a_gitlab_profile_reads_its_token_from_a_variable_and_audits_in_sarif() {
    let gl = GitLab::start();
    // Expiring in 3 days: the audit finds it.
    let soon = (OffsetDateTime::now_utc() + Duration::days(3)).date();
    gl.sim
        .seed_token_expiring(gl.bot, "soon", &["read_api"], Some(soon));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("profiles.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.gl]\nprovider = \"gitlab\"\nbase_url = \"{}\"\ntoken_env = \"GL_ADMIN\"\n\
             user_id = {}\nscopes = [\"read_api\"]\n",
            gl.sim.uri(),
            gl.bot
        ),
    )
    .unwrap();
    let mut cmd = crate::common::pats();
    cmd.env("GL_ADMIN", &gl.admin_token)
        .arg("--config")
        .arg(&config)
        .args(["audit", "--all", "--format", "sarif"]);
    let (code, out, err) = run(&mut cmd);
    assert!(!out.contains(&gl.admin_token) && !err.contains(&gl.admin_token));
    assert_eq!(code, 3, "found: {err}");
    let log = json(&out);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{out}");
    assert_eq!(results[0]["ruleId"], "expiring");
    assert!(
        results[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("soon"),
        "{out}"
    );
    let mut cmd = crate::common::pats();
    cmd.arg("--config").arg(&config).args(["list"]);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("GL_ADMIN"), "the variable is named: {err}");
}

#[test]
fn gitlab_is_in_the_providers_table_with_its_native_rotation() {
    let (code, out, err) = run(crate::common::pats().args(["providers", "--json"]));
    assert_eq!(code, 0, "{err}");
    let list = json(&out);
    let gitlab = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gitlab")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(gitlab["native_rotate"], true);
    assert_eq!(gitlab["get"], "native");
    assert_eq!(gitlab["default_lifetime"], "refused");
    assert_eq!(gitlab["revoked_readable"], true);
    assert_eq!(gitlab["expiry_resolution_seconds"], 86_400);
    for p in list.as_array().unwrap() {
        let is_gitlab = p["name"] == "gitlab";
        assert_eq!(p["native_rotate"], is_gitlab, "{p}");
        assert_eq!(p["revoked_readable"], is_gitlab, "{p}");
        if !is_gitlab {
            assert_eq!(p["expiry_resolution_seconds"], 0, "{p}");
            assert_eq!(p["requires_scopes"], false, "{p}");
        }
    }
    let (code, out, _) = run(crate::common::pats().args(["providers"]));
    assert_eq!(code, 0);
    let row = out.lines().find(|l| l.starts_with("gitlab")).unwrap();
    assert!(row.ends_with("native"), "{row}");
}
