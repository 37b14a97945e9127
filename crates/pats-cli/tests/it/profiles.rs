//! The `pats` binary with a config file of several profiles: `pats profiles`, selecting one
//! with `--profile` / `PATS_PROFILE`, and `list --all` / `audit --all` in every format, with
//! profiles on the embedded simulator, on a SailPoint simulator on loopback, one with a bad
//! secret and one whose port is closed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{json, pats};
use assert_cmd::Command;
use pats_sim::sailpoint::SailPointSim;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Secrets written in the profiles or the environment: none may appear in any output.
const INLINE_SECRET: &str = "inline-s3cr3t-never-shown";
const WRONG_SECRET: &str = "wrong-s3cr3t-from-a-file";

fn run(cmd: &mut Command) -> (i32, String, String) {
    let output = cmd.output().unwrap();
    let (out, err) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    for secret in [INLINE_SECRET, WRONG_SECRET, SailPointSim::CLIENT_SECRET] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "a secret in the output:\n{out}\n{err}"
        );
    }
    (output.status.code().unwrap(), out, err)
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A SailPoint simulator holding one fresh token (nothing to find), and a profiles file:
/// `demo` (embedded simulator: 2 findings), `real` (the simulator, secret from the
/// environment), `badsecret` (the simulator, a wrong secret from a file) and `down` (a
/// closed port, secret inline).
struct Fleet {
    sim: SailPointSim,
    _runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Fleet {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime.block_on(SailPointSim::start());
        assert!(sim.seed_pat("fresh-token").is_some());
        let dir = tempfile::tempdir().unwrap();
        let wrong = dir.path().join("wrong-secret");
        std::fs::write(&wrong, format!("{WRONG_SECRET}\n")).unwrap();
        let config = dir.path().join("profiles.toml");
        let fleet = Self {
            sim,
            _runtime: runtime,
            dir,
            config,
        };
        fleet.write(&["demo", "real", "badsecret", "down"], 0o600);
        fleet
    }

    fn profile(&self, name: &str) -> String {
        let uri = self.sim.uri();
        let id = SailPointSim::CLIENT_ID;
        match name {
            "demo" => "[profiles.demo]\nprovider = \"sailpoint\"\nsimulate = true\n".into(),
            "real" => format!(
                "[profiles.real]\nprovider = \"sailpoint\"\nbase_url = \"{uri}\"\n\
                 client_id = \"{id}\"\nclient_secret_env = \"REAL_SECRET\"\n"
            ),
            "badsecret" => format!(
                "[profiles.badsecret]\nprovider = \"sailpoint\"\nbase_url = \"{uri}\"\n\
                 client_id = \"{id}\"\nclient_secret_file = {:?}\n",
                self.dir.path().join("wrong-secret").display().to_string()
            ),
            "down" => format!(
                "[profiles.down]\nprovider = \"sailpoint\"\n\
                 base_url = \"http://127.0.0.1:{}\"\nclient_id = \"{id}\"\n\
                 client_secret = \"{INLINE_SECRET}\"\n",
                closed_port()
            ),
            other => panic!("no profile {other}"),
        }
    }

    fn write(&self, names: &[&str], mode: u32) -> &Path {
        let text: Vec<String> = names.iter().map(|n| self.profile(n)).collect();
        std::fs::write(&self.config, text.join("\n")).unwrap();
        set_mode(&self.config, mode);
        &self.config
    }

    /// `pats --config FILE ARGS` with the `real` profile's secret in the environment.
    fn pats(&self, args: &[&str]) -> Command {
        let mut cmd = pats();
        cmd.env("REAL_SECRET", SailPointSim::CLIENT_SECRET)
            .arg("--config")
            .arg(&self.config)
            .args(args);
        cmd
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

fn by_profile<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["profile"] == name)
        .unwrap_or_else(|| panic!("no profile {name} in {report}"))
}

#[test]
fn audit_all_reports_every_profile_and_a_failure_wins_over_findings() {
    let fleet = Fleet::start();
    let (code, out, err) = run(&mut fleet.pats(&["audit", "--all", "--json"]));
    assert_eq!(code, 1, "{err}");
    let report = json(&out);
    let names: Vec<&str> = report["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["badsecret", "demo", "down", "real"]);
    let demo = by_profile(&report, "demo");
    assert_eq!(demo["status"], "ok");
    assert_eq!(demo["provider"], "sailpoint");
    assert_eq!(demo["tokens"], 3);
    let found: Vec<(&str, &str)> = demo["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap(),
                f["token"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("expiring", "demo-expiring"),
            ("never_expiring", "demo-legacy")
        ]
    );
    let real = by_profile(&report, "real");
    assert_eq!(real["status"], "ok");
    assert_eq!(real["tokens"], 1);
    assert_eq!(real["findings"].as_array().unwrap().len(), 0);
    assert_eq!(real["checks"].as_array().unwrap().len(), 3);
    let bad = by_profile(&report, "badsecret");
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("check the credentials"),
        "{bad}"
    );
    assert!(bad.get("findings").is_none(), "{bad}");
    let down = by_profile(&report, "down");
    assert_eq!(down["status"], "failed");
    assert!(
        down["error"]
            .as_str()
            .unwrap()
            .contains("check the base URL"),
        "{down}"
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"profiles": 4, "failed": 2, "tokens_checked": 4, "findings": 2})
    );
    // One line on stderr says which failed, and that the others found something.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "pats: error: 2 of 4 profile(s) failed: badsecret, down (and the others have 2 finding(s))"
        ]
    );

    // The table: every profile, and the findings with their profile.
    let (code, out, _) = run(&mut fleet.pats(&["audit", "--all"]));
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Audited 4 profile(s), 4 token(s): 2 ok, 2 failed.\n"),
        "{out}"
    );
    let row = |p: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{p} ")))
            .unwrap_or_else(|| panic!("no row {p}: {out}"))
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("real"), "real sailpoint ok 1");
    assert_eq!(row("down"), "down sailpoint failed -");
    assert!(out.contains("demo     expiring"), "{out}");
    assert!(out.ends_with("\n2 finding(s).\n"), "{out}");
}

#[test]
fn audit_all_exits_3_on_findings_and_0_on_nothing() {
    let fleet = Fleet::start();
    fleet.write(&["demo", "real"], 0o600);
    let (code, out, err) = run(&mut fleet.pats(&["audit", "--all", "--json"]));
    assert_eq!(code, 3, "{err}");
    assert_eq!(json(&out)["summary"]["failed"], 0);
    assert_eq!(err, "");
    fleet.write(&["real"], 0o600);
    let (code, out, err) = run(&mut fleet.pats(&["audit", "--all"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("Nothing found.\n"), "{out}");
    // --provider keeps that provider's profiles only: none here.
    let (code, _, err) = run(&mut fleet.pats(&["audit", "--all", "--provider", "dfns"]));
    assert_eq!(code, 2);
    assert!(err.contains("no profiles to run"), "{err}");
}

/// The fields SARIF 2.1.0 requires (sarifLog: version, runs; run: tool; tool: driver;
/// toolComponent: name; reportingDescriptor: id; result: message; message: text;
/// invocation: executionSuccessful; notification: message), and the ones code-scanning
/// dashboards read (rules' help, results' ruleId, level and locations).
fn assert_sarif_shape(log: &Value) {
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "pats");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["expiring", "unused", "never_expiring"]);
    for r in rules {
        assert!(!r["help"]["text"].as_str().unwrap().is_empty(), "{r}");
        assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
    }
    for result in run["results"].as_array().unwrap() {
        let id = result["ruleId"].as_str().unwrap();
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(ids[index], id, "{result}");
        assert!(
            ["none", "note", "warning", "error"].contains(&result["level"].as_str().unwrap()),
            "{result}"
        );
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = &result["locations"][0];
        assert!(
            location["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("pats-profiles/")
        );
        assert!(location["logicalLocations"][0]["fullyQualifiedName"].is_string());
    }
    for invocation in run["invocations"].as_array().unwrap() {
        assert!(invocation["executionSuccessful"].is_boolean());
        for n in invocation["toolExecutionNotifications"].as_array().unwrap() {
            assert!(n["message"]["text"].is_string());
        }
    }
}

#[test]
fn sarif_names_profile_and_token_and_reports_failed_profiles() {
    let fleet = Fleet::start();
    let (code, out, _) = run(&mut fleet.pats(&["audit", "--all", "--format", "sarif"]));
    assert_eq!(code, 1);
    let log = json(&out);
    assert_sarif_shape(&log);
    let run0 = &log["runs"][0];
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let expiring = &results[0];
    assert_eq!(expiring["ruleId"], "expiring");
    assert_eq!(expiring["level"], "warning");
    let token_id = expiring["properties"]["token"]["id"].as_str().unwrap();
    assert_eq!(
        expiring["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        format!("demo/{token_id}")
    );
    assert!(
        expiring["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "Profile demo (sailpoint): token {token_id} (demo-expiring) expires in"
            )),
        "{expiring}"
    );
    assert_eq!(results[1]["ruleId"], "never_expiring");
    let invocation = &run0["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes: Vec<&str> = invocation["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 2);
    assert!(notes[0].starts_with("profile badsecret: "), "{notes:?}");
    assert!(notes[1].starts_with("profile down: "), "{notes:?}");

    // One profile, without --all: still SARIF (for a CI job with one tenant).
    let (code, out, _) = run(&mut fleet.pats(&["--profile", "real", "audit", "--format", "sarif"]));
    assert_eq!(code, 0);
    let log = json(&out);
    assert_sarif_shape(&log);
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
    // SARIF is a report of findings: not for a listing.
    let (code, _, err) = run(&mut fleet.pats(&["list", "--all", "--format", "sarif"]));
    assert_eq!(code, 2);
    assert!(err.contains("applies to `pats audit`"), "{err}");
}

#[test]
fn list_all_streams_every_profile_s_tokens() {
    let fleet = Fleet::start();
    let (code, out, err) = run(&mut fleet.pats(&["list", "--all", "--json"]));
    assert_eq!(code, 1, "{err}");
    let report = json(&out);
    let tokens = report["tokens"].as_array().unwrap();
    let of = |p: &str| tokens.iter().filter(|t| t["profile"] == p).count();
    assert_eq!((of("demo"), of("real"), tokens.len()), (3, 1, 4));
    assert_eq!(
        tokens.iter().find(|t| t["profile"] == "real").unwrap()["token"]["name"],
        "fresh-token"
    );
    assert_eq!(by_profile(&report, "real")["tokens"], 1);
    assert_eq!(by_profile(&report, "down")["status"], "failed");
    assert!(by_profile(&report, "real").get("findings").is_none());

    fleet.write(&["demo", "real"], 0o600);
    let (code, out, err) = run(&mut fleet.pats(&["list", "--all"]));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("demo ") || l.starts_with("real "))
        .collect();
    // Three demo tokens and one real, then the two status rows.
    assert_eq!(rows.len(), 6, "{out}");
    assert!(out.starts_with("PROFILE  ID"), "{out}");
    assert!(out.contains("fresh-token"), "{out}");
}

#[test]
fn profiles_lists_where_secrets_come_from_never_a_secret() {
    let fleet = Fleet::start();
    let (code, out, err) = run(&mut fleet.pats(&["profiles"]));
    assert_eq!(code, 0, "{err}");
    let uri = fleet.sim.uri();
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let wrong = fleet.dir.path().join("wrong-secret");
    assert_eq!(lines[0], "PROFILE PROVIDER BASE URL SECRETS");
    assert_eq!(
        lines[1],
        format!(
            "badsecret sailpoint {uri}/ client_secret: file {}",
            wrong.display()
        )
    );
    assert_eq!(lines[2], "demo sailpoint (embedded simulator) simulate");
    assert!(
        lines[3].starts_with("down sailpoint http://127.0.0.1:"),
        "{out}"
    );
    assert!(lines[3].ends_with(" client_secret: inline"), "{out}");
    assert_eq!(
        lines[4],
        format!("real sailpoint {uri}/ client_secret: env REAL_SECRET")
    );

    let (code, out, _) = run(&mut fleet.pats(&["profiles", "--json"]));
    assert_eq!(code, 0);
    let list = json(&out);
    assert_eq!(list[3]["name"], "real");
    assert_eq!(
        list[3]["secrets"],
        serde_json::json!([{"field": "client_secret", "source": "env", "from": "REAL_SECRET"}])
    );
    assert_eq!(
        list[2]["secrets"],
        serde_json::json!([{"field": "client_secret", "source": "inline"}])
    );
    assert_eq!(list[1]["simulate"], true);
}

#[cfg(unix)]
#[test]
fn an_inline_secret_in_a_file_others_can_read_gets_a_warning() {
    let fleet = Fleet::start();
    let path = fleet.write(&["down", "real"], 0o644).to_owned();
    let (code, _, err) = run(&mut fleet.pats(&["profiles"]));
    assert_eq!(code, 0);
    assert_eq!(
        err,
        format!(
            "pats: warning: profile `down` has `client_secret` inline in {}, which group or \
             others can read (mode 644): chmod 600 it, or reference the secret with \
             `client_secret_env` or `client_secret_file`\n",
            path.display()
        )
    );
    // Private file: no warning; secrets only by reference: no warning either.
    fleet.write(&["down", "real"], 0o600);
    let (_, _, err) = run(&mut fleet.pats(&["profiles"]));
    assert_eq!(err, "");
    fleet.write(&["real", "badsecret"], 0o644);
    let (_, _, err) = run(&mut fleet.pats(&["profiles"]));
    assert_eq!(err, "");
}

#[test]
fn a_profile_is_chosen_by_flag_variable_default_or_being_the_only_one() {
    let fleet = Fleet::start();
    let (code, out, err) = run(&mut fleet.pats(&["--profile", "real", "list", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)[0]["name"], "fresh-token");
    let (code, out, err) = run(fleet.pats(&["audit", "--json"]).env("PATS_PROFILE", "demo"));
    assert_eq!(code, 3, "{err}");
    assert_eq!(json(&out)["findings"].as_array().unwrap().len(), 2);
    // --profile wins over PATS_PROFILE.
    let (code, _, err) = run(fleet
        .pats(&["--profile", "real", "audit"])
        .env("PATS_PROFILE", "demo"));
    assert_eq!(code, 0, "{err}");
    // An unknown name lists the known ones.
    let (code, _, err) = run(&mut fleet.pats(&["--profile", "nope", "list"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("no profile `nope`") && err.contains("`badsecret`, `demo`, `down`, `real`"),
        "{err}"
    );
    // Several and none chosen: say how to choose.
    let (code, _, err) = run(&mut fleet.pats(&["list"]));
    assert_eq!(code, 2);
    assert!(err.contains("--profile NAME or PATS_PROFILE"), "{err}");
    // A failing profile alone: exit 1, the provider's error.
    let (code, _, err) = run(&mut fleet.pats(&["--profile", "badsecret", "list"]));
    assert_eq!(code, 1, "{err}");
    // A missing variable is a configuration error naming it.
    let (code, _, err) =
        run(pats()
            .arg("--config")
            .arg(&fleet.config)
            .args(["--profile", "real", "list"]));
    assert_eq!(code, 2);
    assert!(err.contains("REAL_SECRET, which is not set"), "{err}");
}

#[test]
fn the_default_file_is_found_under_xdg_config_home_or_home() {
    let fleet = Fleet::start();
    // `default_profile` is a top-level key: it goes before the tables.
    let text = format!("default_profile = \"real\"\n{}", fleet.profile("real"));
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(xdg.path().join("pats")).unwrap();
    let file = xdg.path().join("pats/config.toml");
    std::fs::write(&file, &text).unwrap();
    set_mode(&file, 0o600);
    let (code, out, err) = run(pats()
        .env("XDG_CONFIG_HOME", xdg.path())
        .env("REAL_SECRET", SailPointSim::CLIENT_SECRET)
        .args(["list", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)[0]["name"], "fresh-token");
    let (code, out, _) = run(pats()
        .env("HOME", xdg.path().parent().unwrap())
        .env("XDG_CONFIG_HOME", xdg.path())
        .args(["profiles"]));
    assert_eq!(code, 0);
    assert!(out.contains("default: real"), "{out}");
    // HOME/.config when XDG_CONFIG_HOME is not set.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".config/pats")).unwrap();
    std::fs::copy(&file, home.path().join(".config/pats/config.toml")).unwrap();
    let (code, out, err) = run(pats().env("HOME", home.path()).args(["profiles", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)[0]["name"], "real");
    // --all without any file: a usage error naming where it looked.
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = run(pats().env("HOME", empty.path()).args(["audit", "--all"]));
    assert_eq!(code, 2);
    assert!(err.contains("no config file at"), "{err}");
}

#[test]
fn a_single_provider_file_still_works_with_secret_references() {
    let fleet = Fleet::start();
    let text = format!(
        "provider = \"sailpoint\"\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret_env = \"REAL_SECRET\"\n",
        fleet.sim.uri(),
        SailPointSim::CLIENT_ID
    );
    std::fs::write(&fleet.config, text).unwrap();
    let (code, out, err) = run(&mut fleet.pats(&["list", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)[0]["name"], "fresh-token");
    let (code, out, _) = run(&mut fleet.pats(&["audit", "--all", "--json"]));
    assert_eq!(code, 0);
    assert_eq!(json(&out)["profiles"][0]["profile"], "default");
}

#[test]
fn help_documents_profiles_all_and_the_exit_code_rule() {
    let (code, out, _) = run(pats().arg("--help"));
    assert_eq!(code, 0);
    for text in [
        "[profiles.NAME]",
        "client_secret_env",
        "client_secret_file",
        "PATS_PROFILE",
        "simulate = true",
        "--profile <NAME>",
        "With --all: 1 when any profile failed",
    ] {
        assert!(out.contains(text), "{text:?} not in --help:\n{out}");
    }
    let (code, out, _) = run(pats().args(["audit", "--help"]));
    assert_eq!(code, 0);
    for text in ["--all", "--concurrency <N>", "--per-provider <N>", "sarif"] {
        assert!(out.contains(text), "{text:?} not in audit --help:\n{out}");
    }
    // The options of --all need --all.
    let (code, _, err) = run(pats().args(["list", "--concurrency", "2"]));
    assert_eq!(code, 2);
    assert!(err.contains("--all"), "{err}");
    let (code, _, err) = run(pats().args(["audit", "--all", "--profile", "x"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn a_profile_that_cannot_be_resolved_fails_alone_and_is_named_once() {
    let fleet = Fleet::start();
    // REAL_SECRET is not set: the `real` profile cannot be resolved; the others still run.
    let (code, out, err) = run(pats()
        .arg("--config")
        .arg(&fleet.config)
        .args(["audit", "--all", "--json"]));
    assert_eq!(code, 1, "{err}");
    let report = json(&out);
    let real = by_profile(&report, "real");
    assert_eq!(real["status"], "failed", "{real}");
    let error = real["error"].as_str().unwrap();
    assert!(error.contains("REAL_SECRET, which is not set"), "{error}");
    // The report names the profile already; its error does not repeat it.
    assert!(!error.contains("profile `real`"), "{error}");
    assert_eq!(by_profile(&report, "demo")["status"], "ok", "{report}");
}
