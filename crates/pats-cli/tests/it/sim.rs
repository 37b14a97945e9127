//! `pats sim serve` / `pats sim env`: the two-terminal session of the `pats-sim` README, as
//! processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn pats() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pats"));
    cmd.env_clear();
    cmd
}

/// A base port whose next two ports are free too.
fn free_ports() -> u16 {
    for _ in 0..50 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base > 65_000 {
            continue;
        }
        if (0..4).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no four consecutive free ports")
}

/// A running `pats sim serve` and the exports it printed.
struct Serve {
    child: Child,
    exports: String,
}

impl Serve {
    fn start(port: u16, state: &std::path::Path) -> Self {
        let mut child = pats()
            .args(["sim", "serve", "--port", &port.to_string(), "--state"])
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut exports = String::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        // The exports end with GitLab's default scopes.
        while !exports.contains("GITLAB_SCOPES") {
            let mut line = String::new();
            assert!(
                lines.read_line(&mut line).unwrap() > 0,
                "serve exited early"
            );
            exports.push_str(&line);
        }
        Self { child, exports }
    }

    fn stop(mut self) {
        // Ctrl-C as a terminal sends it; the state is already on disk either way.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "serve exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("serve did not stop on SIGINT");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The variables of `export K='V'` lines (values may span lines).
fn parse_exports(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    let mut rest = text;
    while let Some(start) = rest.find("export ") {
        rest = &rest[start + 7..];
        let (name, after) = rest.split_once("='").unwrap();
        let end = after.find("'\n").unwrap();
        vars.insert(name.to_owned(), after[..end].to_owned());
        rest = &after[end + 2..];
    }
    vars
}

fn pats_with(env: &HashMap<String, String>, args: &[&str]) -> (i32, String, String) {
    let out = pats().envs(env).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_readme_session_works_and_its_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo.json");
    let port = free_ports();
    let serve = Serve::start(port, &state);

    // `pats sim env` prints the same exports again.
    let out = pats()
        .args(["sim", "env", "--port", &port.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), serve.exports);
    let env = parse_exports(&serve.exports);
    assert_eq!(env["PATS_PROVIDER"], "sailpoint");
    assert_eq!(
        env["SAIL_BASE_URL"],
        format!("http://127.0.0.1:{}", port + 2)
    );

    let (code, out, err) = pats_with(&env, &["create", "ci", "--expires-in", "30d"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Created token"), "{out}");
    let (code, out, _) = pats_with(&env, &["--json", "list"]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = listed[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (code, out, err) = pats_with(&env, &["rotate", "@ci"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(&format!(
            "\nOld token {first} revoked; the new token took the name `ci`.\n"
        )),
        "{out}"
    );
    let (code, out, _) = pats_with(&env, &["audit"]);
    assert_eq!(code, 0, "{out}");
    serve.stop();

    // A new process on the same state file: the rotated token and the same credentials.
    let serve = Serve::start(port, &state);
    // The same credentials; the admin token and the key file's (random) name are new on
    // every start.
    let mut again = parse_exports(&serve.exports);
    let mut before = env.clone();
    for per_run in ["PATS_SIM_ADMIN_TOKEN", "ZITADEL_KEY_FILE"] {
        assert_ne!(again.remove(per_run), before.remove(per_run), "{per_run}");
    }
    assert_eq!(again, before);
    let (code, out, _) = pats_with(&env, &["--json", "list"]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tokens = listed.as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{out}");
    assert_eq!(tokens[0]["name"], "ci");
    assert_ne!(
        tokens[0]["id"],
        first.as_str(),
        "the rotated token, not the first"
    );
    serve.stop();
}

#[test]
fn env_without_a_running_emulator_says_how_to_start_one() {
    let port = free_ports();
    let out = pats()
        .args(["sim", "env", "--port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no pats-sim answers"), "{err}");
    assert!(err.contains("pats sim serve"), "{err}");
}

#[test]
fn serve_refuses_a_foreign_state_file_and_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("notes.json");
    std::fs::write(&state, "{\"mine\": true}").unwrap();
    let out = pats()
        .args([
            "sim",
            "serve",
            "--port",
            &free_ports().to_string(),
            "--state",
        ])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not a pats-sim state file"), "{err}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{\"mine\": true}");
}

#[test]
fn every_provider_and_login_in_the_exports_works() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports();
    let serve = Serve::start(port, &dir.path().join("state.json"));
    let env = parse_exports(&serve.exports);
    let mut cases: Vec<(&str, HashMap<String, String>)> = Vec::new();
    for provider in ["dfns", "zitadel", "sailpoint"] {
        let mut e = env.clone();
        e.insert("PATS_PROVIDER".to_owned(), provider.to_owned());
        cases.push((provider, e));
    }
    // ZITADEL with the JWT-profile key file instead of the PAT.
    let mut key = env.clone();
    key.insert("PATS_PROVIDER".to_owned(), "zitadel".to_owned());
    key.remove("ZITADEL_PAT");
    cases.push(("zitadel (key file)", key));
    for (what, e) in cases {
        let (code, out, err) = pats_with(&e, &["--json", "list"]);
        assert_eq!(code, 0, "{what}: {err}");
        assert!(out.trim_start().starts_with('['), "{what}: {out}");
    }
    // The key file goes with the emulator.
    let key_file = env["ZITADEL_KEY_FILE"].clone();
    assert!(std::path::Path::new(&key_file).exists());
    serve.stop();
    assert!(
        !std::path::Path::new(&key_file).exists(),
        "{key_file} left behind"
    );
}

#[test]
fn serve_on_port_0_prints_one_json_line_and_its_admin_api_needs_the_token() {
    let mut child = pats()
        .args(["sim", "serve", "--port", "0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // SIGTERM: a clean stop, which removes its token and key files.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    let printed: serde_json::Value = serde_json::from_str(&line).unwrap();
    let port = printed["sailpoint"].as_u64().unwrap();
    assert!(port > 0, "{line}");
    let env = &printed["env"];
    assert_eq!(env["SAIL_BASE_URL"], format!("http://127.0.0.1:{port}"));
    let token = env["PATS_SIM_ADMIN_TOKEN"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    for name in ["DFNS_USER_ID", "SAIL_IDENTITY_ID", "ZITADEL_ORG_ID"] {
        assert!(env[name].as_str().is_some_and(|v| !v.is_empty()), "{name}");
    }
}
