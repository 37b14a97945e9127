//! The `pats` binary against the simulators: every command in table and JSON mode, the
//! secret file, the audit exit code, configuration and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Sim, json, pats, run};
use pats_sim::sailpoint::SailPointSim;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn time_of(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap()
}

fn days_from_now(v: &Value) -> f64 {
    (time_of(v) - OffsetDateTime::now_utc()).as_seconds_f64() / 86_400.0
}

/// An error is one line on stderr, prefixed `pats: error:`.
fn assert_one_line_error(stderr: &str, contains: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("pats: error: "), "{stderr}");
    assert!(lines[0].contains(contains), "{contains:?} not in {stderr}");
}

const TOKEN_FIELDS: [&str; 9] = [
    "active",
    "created",
    "expires",
    "id",
    "last_used",
    "name",
    "owner",
    "provider",
    "scopes",
];

fn assert_token_schema(token: &Value) {
    let mut keys: Vec<&str> = token
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, TOKEN_FIELDS, "{token}");
}

#[test]
fn help_documents_exit_codes_and_configuration() {
    let (code, out, _) = run(pats().arg("--help"));
    assert_eq!(code, 0);
    for text in [
        "Exit codes:",
        "0  success",
        "1  the operation failed",
        "2  usage or configuration error",
        "3  audit found tokens",
        "PATS_PROVIDER",
        "--simulate",
        "demo-expiring",
    ] {
        assert!(out.contains(text), "{text:?} not in --help:\n{out}");
    }
}

#[test]
fn providers_in_both_modes() {
    let (code, out, _) = run(pats().arg("providers"));
    assert_eq!(code, 0);
    assert!(out.starts_with("PROVIDER"), "{out}");
    for p in ["dfns", "zitadel", "sailpoint", "gitlab"] {
        assert!(out.lines().any(|l| l.starts_with(p)), "{p} missing:\n{out}");
    }
    let (code, out, _) = run(pats().args(["providers", "--json"]));
    assert_eq!(code, 0);
    let list = json(&out);
    let by_name = |n: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(by_name("sailpoint")["last_used"], true);
    assert_eq!(by_name("sailpoint")["get"], "emulated");
    assert_eq!(by_name("zitadel")["last_used"], false);
    assert_eq!(by_name("zitadel")["never_expires"], true);
    // A ZITADEL token's name is its machine user's username.
    assert_eq!(by_name("zitadel")["names"], true);
    assert_eq!(by_name("dfns")["never_expires"], false);
}

#[test]
fn list_in_both_modes_on_every_simulated_provider() {
    let (code, out, err) = run(pats().args(["--simulate", "list"]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("EXPIRES"),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    for name in ["demo-ci-deploy", "demo-expiring", "demo-legacy"] {
        assert!(out.contains(name), "{out}");
    }
    assert!(err.is_empty(), "no progress when piped: {err:?}");

    for provider in ["sailpoint", "zitadel", "dfns"] {
        let (code, out, err) =
            run(pats().args(["--simulate", "--provider", provider, "list", "--json"]));
        assert_eq!(code, 0, "{provider}: {err}");
        assert!(err.is_empty(), "{provider}: {err:?}");
        let tokens = json(&out);
        let tokens = tokens.as_array().unwrap();
        assert_eq!(tokens.len(), 3, "{provider}: {out}");
        for t in tokens {
            assert_token_schema(t);
            assert_eq!(t["provider"], provider);
        }
        if provider != "dfns" {
            // Dfns does not report expiry; the others do, and the seed has one of each.
            let expires: Vec<&Value> = tokens.iter().map(|t| &t["expires"]).collect();
            assert!(
                expires.contains(&&Value::from("never")),
                "{provider}: {out}"
            );
            let soon = expires
                .iter()
                .filter(|e| e.as_str() != Some("never"))
                .map(|e| days_from_now(e))
                .fold(f64::MAX, f64::min);
            assert!((4.9..=5.0).contains(&soon), "{provider}: {soon}");
        }
    }

    // GitLab lists the administrator's own token too. Nothing there never expires (GitLab
    // requires an expiry), and expiries are dates: the 5-day token ends at the first
    // midnight (UTC) after five days.
    let (code, out, err) =
        run(pats().args(["--simulate", "--provider", "gitlab", "list", "--json"]));
    assert_eq!(code, 0, "{err}");
    let tokens = json(&out);
    let tokens = tokens.as_array().unwrap();
    let mut names: Vec<&str> = tokens.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["demo-ci-deploy", "demo-expiring", "demo-legacy", "pats"]
    );
    for t in tokens {
        assert_token_schema(t);
        assert_ne!(t["expires"], "never", "{out}");
    }
    let soon = tokens
        .iter()
        .map(|t| days_from_now(&t["expires"]))
        .fold(f64::MAX, f64::min);
    assert!((4.9..=6.0).contains(&soon), "{soon}");
}

#[test]
fn get_in_both_modes() {
    let (code, out, err) = run(pats().args(["--simulate", "get", "@demo-expiring"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("name") && l.ends_with("demo-expiring")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("provider") && l.ends_with("sailpoint")),
        "{out}"
    );

    let (code, out, err) = run(pats().args(["--simulate", "get", "@demo-legacy", "--json"]));
    assert_eq!(code, 0, "{err}");
    let token = json(&out);
    assert_token_schema(&token);
    assert_eq!(token["name"], "demo-legacy");
    assert_eq!(token["expires"], "never");

    // ZITADEL ids are sequential in its simulator: the seeded tokens are known by id.
    let (code, out, err) = run(pats().args([
        "--simulate",
        "--provider",
        "zitadel",
        "get",
        "200000000000000003",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["id"], "200000000000000003");

    let (code, out, err) = run(pats().args(["--simulate", "get", "deadbeef"]));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_one_line_error(&err, "not found");
    assert!(err.contains("@demo-ci-deploy"), "{err}");
}

#[test]
fn create_in_both_modes() {
    let (code, out, err) =
        run(pats().args(["--simulate", "create", "ci-deploy", "--expires-in", "30d"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Created token "), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Secret (shown only this once"))
        .unwrap();
    let secret = lines[at + 1];
    assert_eq!(secret.len(), 64, "{out}");
    assert!(!err.contains(secret));

    let (code, out, err) = run(pats().args([
        "--simulate",
        "create",
        "ci-deploy",
        "--expires-at",
        "2027-01-31T00:00:00Z",
        "--scope",
        "sp:scopes:all",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    let created = json(&out);
    assert_token_schema(&created["token"]);
    assert_eq!(created["token"]["name"], "ci-deploy");
    assert_eq!(created["token"]["expires"], "2027-01-31T00:00:00Z");
    assert_eq!(
        created["token"]["scopes"],
        serde_json::json!(["sp:scopes:all"])
    );
    assert_eq!(created["secret"].as_str().unwrap().len(), 64);
    assert!(created.get("secret_file").is_none());

    let (code, out, err) = run(pats().args([
        "--simulate",
        "--provider",
        "zitadel",
        "create",
        "demo-legacy",
        "--never-expires",
        "--i-understand",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    let created = json(&out);
    assert_eq!(created["token"]["expires"], "never");
    // On ZITADEL the name picks the machine user of that username (seeded by --simulate).
    assert_eq!(created["token"]["name"], "demo-legacy");
    assert_eq!(created["token"]["owner"]["id"], "260000000000000003");
    assert!(created["secret"].as_str().unwrap().starts_with("sim_pat_"));
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn secret_file_is_private_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    let (code, out, err) = run(pats()
        .args([
            "--simulate",
            "create",
            "ci",
            "--expires-in",
            "7d",
            "--json",
            "--secret-file",
        ])
        .arg(&path));
    assert_eq!(code, 0, "{err}");
    let created = json(&out);
    assert!(created.get("secret").is_none(), "{out}");
    assert_eq!(created["secret_file"], path.display().to_string());
    let secret = std::fs::read_to_string(&path).unwrap();
    assert_eq!(secret.trim_end().len(), 64);
    assert!(!out.contains(secret.trim_end()) && !err.contains(secret.trim_end()));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    assert!(
        !dir.path().join("token.key").exists(),
        "no key file without a key"
    );

    // Table mode, then the refusal to overwrite.
    let other = dir.path().join("rotated");
    let (code, out, err) = run(pats()
        .args(["--simulate", "rotate", "@demo-ci-deploy", "--secret-file"])
        .arg(&other));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Secret written to"), "{out}");
    assert!(!out.contains("shown only this once"), "{out}");
    #[cfg(unix)]
    assert_eq!(mode(&other), 0o600);

    let (code, out, err) = run(pats()
        .args(["--simulate", "create", "again", "--secret-file"])
        .arg(&path));
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_one_line_error(&err, "already exists");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        secret,
        "overwritten"
    );

    // PATH.key only matters where the provider hands out a private key.
    let sp = dir.path().join("sp");
    std::fs::write(dir.path().join("sp.key"), "unrelated").unwrap();
    let (code, _, err) = run(pats()
        .args([
            "--simulate",
            "create",
            "ci",
            "--expires-in",
            "1d",
            "--secret-file",
        ])
        .arg(&sp));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sp.key")).unwrap(),
        "unrelated"
    );

    // Dfns pairs a private key with its tokens: it goes next to the secret.
    let dfns = dir.path().join("dfns");
    let (code, _, err) = run(pats()
        .args([
            "--simulate",
            "--provider",
            "dfns",
            "create",
            "ci",
            "--expires-in",
            "7d",
            "--secret-file",
        ])
        .arg(&dfns));
    assert_eq!(code, 0, "{err}");
    let key = dir.path().join("dfns.key");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY")
    );
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn a_dfns_private_key_printed_ends_its_line_once() {
    // The key is the last thing printed: one line end after it, never a blank line, and
    // never a key that runs into what the shell prints next.
    let (code, out, err) = run(pats().args([
        "--simulate",
        "--provider",
        "dfns",
        "create",
        "ci",
        "--expires-in",
        "7d",
    ]));
    assert_eq!(code, 0, "{err}");
    let (_, key) = out
        .split_once("Private key paired with the token:\n")
        .expect("the key follows its heading");
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
    assert!(key.ends_with("-----END PRIVATE KEY-----\n"), "{key:?}");
    assert!(!key.ends_with("\n\n"), "{key:?}");
}

#[test]
fn an_existing_secret_file_stops_before_anything_is_created() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken");
    std::fs::write(&path, "keep me").unwrap();
    let (code, _, err) = run(sim
        .pats()
        .args(["create", "ci", "--secret-file"])
        .arg(&path));
    assert_eq!(code, 2);
    assert_one_line_error(&err, "already exists");
    assert_eq!(sim.posts(), 0);
    assert!(sim.sim.stored_tokens().is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[test]
fn revoke_in_both_modes() {
    let (code, out, err) =
        run(pats().args(["--simulate", "revoke", "@demo-ci-deploy", "@demo-legacy"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("Revoked ")).count(),
        2,
        "{out}"
    );

    let (code, out, err) = run(pats().args([
        "--simulate",
        "--provider",
        "zitadel",
        "revoke",
        "200000000000000002",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&out),
        serde_json::json!([{"id": "200000000000000002", "revoked": true, "error": null}])
    );

    let (code, out, err) = run(pats().args([
        "--simulate",
        "revoke",
        "@demo-expiring",
        "deadbeef",
        "--json",
    ]));
    assert_eq!(code, 1);
    let results = json(&out);
    assert_eq!(results[0]["revoked"], true);
    assert_eq!(results[1]["revoked"], false);
    assert!(results[1]["error"].as_str().unwrap().contains("not found"));
    assert_one_line_error(&err, "1 of 2 token(s) not revoked");
    let (code, out, err) = run(pats().args(["--simulate", "revoke", "deadbeef"]));
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert_one_line_error(&err, "not found");

    // Against a simulator this test can inspect: the token is gone.
    let sim = Sim::start();
    let id = sim.create("to-revoke");
    let (code, out, err) = run(sim.pats().args(["revoke", &id]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("Revoked {id} on sailpoint.\n"));
    assert!(sim.sim.stored_token(&id).is_none());
}

#[test]
fn rotate_in_both_modes() {
    let (code, out, err) = run(pats().args(["--simulate", "rotate", "@demo-expiring", "--json"]));
    assert_eq!(code, 0, "{err}");
    let rotated = json(&out);
    assert_token_schema(&rotated["token"]);
    assert_eq!(
        rotated["token"]["name"], "demo-expiring",
        "the name is kept"
    );
    let days = days_from_now(&rotated["token"]["expires"]);
    assert!((4.9..=5.0).contains(&days), "the lifetime is kept: {days}");
    assert_eq!(rotated["replaced"]["revoked"], true);
    assert_ne!(rotated["replaced"]["id"], rotated["token"]["id"]);
    assert_eq!(rotated["secret"].as_str().unwrap().len(), 64);

    let (code, out, err) =
        run(pats().args(["--simulate", "rotate", "@demo-legacy", "--expires-in", "2w"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Rotated ")
            && out.ends_with(" revoked; the new token took the name `demo-legacy`.\n"),
        "{out}"
    );
    assert!(out.contains("Secret (shown only this once"), "{out}");

    let sim = Sim::start();
    let old = sim.create("deploy");
    let (code, out, err) = run(sim
        .pats()
        .args(["rotate", &old, "--expires-in", "10d", "--json"]));
    assert_eq!(code, 0, "{err}");
    let new = json(&out)["token"]["id"].as_str().unwrap().to_owned();
    assert!(sim.sim.stored_token(&old).is_none());
    assert_eq!(sim.sim.stored_token(&new).unwrap()["name"], "deploy");
}

#[test]
fn a_rotation_whose_revoke_fails_still_hands_over_the_new_secret() {
    use pats_sim::fault::{Fault, FaultRule};
    let sim = Sim::start();
    let old = sim.create("deploy");
    sim.sim
        .faults()
        .inject(FaultRule::new(Fault::status(403)).method("DELETE"));
    let (code, out, err) = run(sim.pats().args(["rotate", &old]));
    assert_eq!(code, 1, "{err}");
    assert!(
        out.ends_with(&format!(
            "\nOld token {old} NOT revoked: permission denied: HTTP 403: simulated failure\n"
        )),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Secret (shown only this once"))
        .unwrap();
    let secret = lines[at + 1];
    assert_eq!(secret.len(), 64, "{out}");
    assert_one_line_error(&err, &format!("revoke it with `pats revoke {old}`"));
    assert!(!err.contains(secret), "{err}");
    assert!(sim.sim.stored_token(&old).is_some());
    assert_eq!(sim.sim.stored_tokens().len(), 2);
}

#[test]
fn audit_exits_with_3_when_it_finds_something() {
    let (code, out, err) = run(pats().args(["--simulate", "audit"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        out.contains("demo-expiring") && out.contains("expires in 4d"),
        "{out}"
    );
    assert!(
        out.contains("demo-legacy") && out.contains("never expires"),
        "{out}"
    );
    assert!(!out.contains("demo-ci-deploy"), "{out}");

    let (code, out, _) = run(pats().args(["--simulate", "audit", "--json"]));
    assert_eq!(code, 3);
    let report = json(&out);
    assert_eq!(report["tokens_checked"], 3);
    let found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_token_schema(&f["token"]);
            (
                f["check"].as_str().unwrap().to_owned(),
                f["token"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("expiring".to_owned(), "demo-expiring".to_owned()),
            ("never_expiring".to_owned(), "demo-legacy".to_owned())
        ]
    );

    let (code, out, _) = run(pats().args(["--simulate", "audit", "--expiring-within", "1d"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Nothing found."), "{out}");
    let (code, out, _) =
        run(pats().args(["--simulate", "audit", "--expiring-within", "6d", "--json"]));
    assert_eq!(code, 3);
    assert_eq!(json(&out)["findings"].as_array().unwrap().len(), 1);

    // A provider that does not report last use: said, never silently skipped.
    let (code, out, _) =
        run(pats().args(["--simulate", "--provider", "zitadel", "audit", "--json"]));
    assert_eq!(code, 3);
    let unused = &json(&out)["checks"][1];
    assert_eq!(unused["check"], "unused");
    assert_eq!(unused["available"], false);
    assert!(
        unused["note"]
            .as_str()
            .unwrap()
            .contains("zitadel does not report")
    );
    let (code, _, err) = run(pats().args([
        "--simulate",
        "--provider",
        "zitadel",
        "audit",
        "--unused-for",
        "90d",
    ]));
    assert_eq!(code, 2);
    assert_one_line_error(&err, "zitadel does not report when a token was last used");
}

/// Dfns reports neither expiry nor last use: the checks that cannot see anything say so,
/// instead of listing them as run and reporting "Nothing found".
#[test]
fn audit_says_which_checks_cannot_see_anything() {
    let (code, out, err) = run(pats().args(["--simulate", "--provider", "dfns", "audit"]));
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap();
    assert_eq!(
        first, "Audited 3 token(s) on dfns: never_expiring.",
        "{out}"
    );
    assert!(!out.contains("expiring (14d)"), "{out}");
    assert!(
        out.contains("Skipped expiring: not available: dfns does not report when a token expires."),
        "{out}"
    );
    assert!(
        out.contains(
            "Skipped unused: not available: dfns does not report when a token was last used."
        ),
        "{out}"
    );
    assert!(
        out.contains("Nothing found by the checks that ran."),
        "{out}"
    );
    assert!(!out.contains("Nothing found.\n"), "{out}");

    let (code, out, _) = run(pats().args(["--simulate", "--provider", "dfns", "audit", "--json"]));
    assert_eq!(code, 0);
    let checks = json(&out)["checks"].as_array().unwrap().clone();
    let by_name = |name: &str| checks.iter().find(|c| c["check"] == name).unwrap().clone();
    assert_eq!(by_name("expiring")["available"], false);
    assert!(
        by_name("expiring")["note"]
            .as_str()
            .unwrap()
            .contains("dfns does not report when a token expires"),
        "{out}"
    );
    assert_eq!(by_name("unused")["available"], false);
    // Dfns tokens always expire: the never-expiring check holds without expiry dates.
    assert_eq!(by_name("never_expiring")["available"], true);

    // Asked for explicitly, a check that cannot run is a usage error.
    let (code, _, err) = run(pats().args([
        "--simulate",
        "--provider",
        "dfns",
        "audit",
        "--expiring-within",
        "14d",
    ]));
    assert_eq!(code, 2);
    assert_one_line_error(&err, "dfns does not report when a token expires");

    // Where expiry is reported, the check runs as before.
    let (_, out, _) = run(pats().args(["--simulate", "--provider", "zitadel", "audit"]));
    assert!(
        out.lines().next().unwrap().contains("expiring (14d)"),
        "{out}"
    );
    assert!(!out.contains("Skipped expiring"), "{out}");
}

#[test]
fn audit_finds_unused_tokens_from_last_use_data() {
    let sim = Sim::start();
    let stale = sim.create("stale");
    let fresh = sim.create("fresh");
    let now = OffsetDateTime::now_utc();
    assert!(
        sim.sim
            .set_last_used(&stale, Some(now - time::Duration::days(200)))
    );
    assert!(
        sim.sim
            .set_last_used(&fresh, Some(now - time::Duration::days(1)))
    );

    let (code, out, err) = run(sim.pats().args(["audit", "--unused-for", "90d", "--json"]));
    assert_eq!(code, 3, "{err}");
    let findings = json(&out)["findings"].clone();
    assert_eq!(findings.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(findings[0]["check"], "unused");
    assert_eq!(findings[0]["token"]["id"], stale.as_str());
    assert!(
        findings[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("last used 200d")
    );

    let (code, out, _) = run(sim.pats().args(["audit", "--unused-for", "90d"]));
    assert_eq!(code, 3);
    assert!(out.contains(&stale) && !out.contains(&fresh), "{out}");
    let (code, _, _) = run(sim.pats().args(["audit", "--unused-for", "300d"]));
    assert_eq!(code, 0);
}

#[test]
fn configuration_from_the_environment_and_a_file() {
    let sim = Sim::start();
    let id = sim.create("from-env");
    let (code, out, err) = run(sim.pats().args(["list", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)[0]["id"], id.as_str());
    let (code, out, err) = run(sim.pats().args(["get", &id]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from-env"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pats.toml");
    std::fs::write(
        &file,
        format!(
            "provider = \"sailpoint\"\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n",
            sim.sim.uri(),
            SailPointSim::CLIENT_ID,
            SailPointSim::CLIENT_SECRET
        ),
    )
    .unwrap();
    // Private, so that the inline secret draws no warning.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (code, out, err) = run(pats()
        .arg("--config")
        .arg(&file)
        .args(["get", &id, "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["name"], "from-env");

    let (code, _, err) =
        run(pats()
            .arg("--config")
            .arg(&file)
            .args(["--provider", "zitadel", "list"]));
    assert_eq!(code, 2);
    assert_one_line_error(&err, "does not match");

    // A malformed file: the message names the problem, never the file's secret.
    std::fs::write(
        &file,
        "provider = \"sailpoint\"\nbase_url = 5\nclient_secret = \"s3cr3t-value\"\n",
    )
    .unwrap();
    let (code, _, err) = run(pats().arg("--config").arg(&file).arg("list"));
    assert_eq!(code, 2);
    assert_one_line_error(&err, "config file");
    assert!(!err.contains("s3cr3t-value"), "{err}");
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code_2() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["--provider", "okta", "list"],
            &[],
            "unknown provider `okta`",
        ),
        (&["list"], &[("PATS_PROVIDER", "okta")], "PATS_PROVIDER"),
        (&["list"], &[], "PATS_PROVIDER is not set"),
        (
            &["list"],
            &[("PATS_PROVIDER", "sailpoint")],
            "`SAIL_CLIENT_ID` is not set",
        ),
        (
            &["--config", "/nonexistent/pats.toml", "list"],
            &[],
            "cannot read the config file",
        ),
        (
            &["--simulate", "create", "x", "--expires-in", "30x"],
            &[],
            "`30x` is not a duration",
        ),
        (
            &["--simulate", "audit", "--unused-for", "0d"],
            &[],
            "must be positive",
        ),
        (
            &["--simulate", "create", "x", "--expires-at", "tomorrow"],
            &[],
            "not an RFC 3339 time",
        ),
        (
            &["--simulate", "create", "x", "--never-expires"],
            &[],
            "--i-understand",
        ),
        (&["--simulate", "get", "a/b"], &[], "not a token id"),
        (
            // SailPoint v2025 (the simulation) has no default lifetime.
            &["--simulate", "create", "x"],
            &[],
            "give --expires-in DURATION",
        ),
        (
            &[
                "--simulate",
                "--provider",
                "zitadel",
                "create",
                "no-such-user",
                "--expires-in",
                "1w",
            ],
            &[],
            "create the machine user `no-such-user` first",
        ),
        (
            &[
                "--simulate",
                "--provider",
                "dfns",
                "create",
                "x",
                "--never-expires",
                "--i-understand",
            ],
            &[],
            "dfns does not support never-expiring tokens",
        ),
        (
            &[
                "--simulate",
                "create",
                "x",
                "--expires-in",
                "1w",
                "--owner",
                "someone",
            ],
            &[],
            "sailpoint does not support create for another owner",
        ),
    ];
    for (args, env, expected) in cases {
        let (code, out, err) = run(pats().args(*args).envs(env.iter().copied()));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_one_line_error(&err, expected);
    }
}

#[test]
fn progress_is_never_drawn_when_piped() {
    // stdout and stderr are pipes here: nothing but the error (none) on stderr.
    pats()
        .args(["--simulate", "audit", "--never-expiring"])
        .assert()
        .code(3)
        .stderr(predicate::str::is_empty());
}

#[test]
fn zitadel_names_are_machine_users_so_at_name_gets_and_rotates() {
    let (code, out, err) = run(pats().args([
        "--simulate",
        "--provider",
        "zitadel",
        "get",
        "@demo-ci-deploy",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    let token = json(&out);
    assert_token_schema(&token);
    assert_eq!(token["name"], "demo-ci-deploy");
    assert_eq!(token["owner"]["id"], "260000000000000001");
    assert_eq!(token["owner"]["name"], "demo-ci-deploy");

    let (code, out, err) = run(pats().args([
        "--simulate",
        "--provider",
        "zitadel",
        "rotate",
        "@demo-ci-deploy",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    let rotated = json(&out);
    // The new token belongs to the same machine user, so it has the same name.
    assert_eq!(rotated["token"]["name"], "demo-ci-deploy");
    assert_eq!(rotated["token"]["owner"]["id"], "260000000000000001");
    assert_ne!(rotated["token"]["id"], token["id"]);
    assert_eq!(rotated["replaced"]["id"], token["id"]);
    assert_eq!(rotated["replaced"]["revoked"], true, "{out}");
    let days = days_from_now(&rotated["token"]["expires"]);
    assert!(
        (89.0..=90.0).contains(&days),
        "same lifetime as the old token: {days}"
    );

    // Every demo token is listed under its machine user's name.
    let (code, out, err) =
        run(pats().args(["--simulate", "--provider", "zitadel", "list", "--json"]));
    assert_eq!(code, 0, "{err}");
    let mut names: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["demo-ci-deploy", "demo-expiring", "demo-legacy"]);
}

#[test]
fn at_name_gets_and_rotates_on_every_provider() {
    for provider in ["dfns", "zitadel", "sailpoint"] {
        let sim = ["--simulate", "--provider", provider];
        let (code, out, err) = run(pats().args(sim).args(["get", "@demo-ci-deploy", "--json"]));
        assert_eq!(code, 0, "{provider}: {err}");
        let token = json(&out);
        assert_eq!(token["name"], "demo-ci-deploy", "{provider}");

        // The new token takes the name (on SailPoint, where names are unique, once the old
        // one is revoked).
        let (code, out, err) = run(pats()
            .args(sim)
            .args(["rotate", "@demo-ci-deploy", "--json"]));
        assert_eq!(code, 0, "{provider}: {err}");
        let rotated = json(&out);
        assert_eq!(
            rotated["token"]["name"], "demo-ci-deploy",
            "{provider}: {out}"
        );
        assert_ne!(rotated["token"]["id"], token["id"], "{provider}");
        assert_eq!(rotated["replaced"]["revoked"], true, "{provider}: {out}");
        assert!(!err.contains("keeps the name"), "{provider}: {err}");

        // A name no token has is a clear error, before anything changes.
        let (code, _, err) = run(pats().args(sim).args(["get", "@no-such-token"]));
        assert_eq!(code, 1, "{provider}: {err}");
        assert!(err.contains("no-such-token"), "{provider}: {err}");
    }
}
