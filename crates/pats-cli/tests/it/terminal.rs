//! Nothing untrusted reaches the terminal raw (issue 25): token names, provider errors,
//! profile names and paths with control or bidi characters are printed escaped in tables,
//! details, reports and errors, one line and one cell each; `--json` keeps them exact. A
//! base URL is shown through the core's redaction: never its password, `(invalid URL)`
//! when it does not parse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Sim, json, pats, run};
use assert_cmd::Command;
use pats_sim::fault::{Fault, FaultRule};
use pats_sim::sailpoint::SailPointSim;
use std::path::{Path, PathBuf};

/// A name that forges a row of `pats list` (newline, two spaces, an id-like word), retitles
/// the terminal (OSC 0 ... BEL) and reverses what follows (RLO).
const EVIL_NAME: &str = "evil\nforged-id  forged-name\x1b]0;pwned\x07\u{202e}txt.exe";
/// [`EVIL_NAME`] as it is printed.
const EVIL_SHOWN: &str = r"evil\nforged-id  forged-name\x1b]0;pwned\x07\u{202e}txt.exe";

/// A provider's error text with a colour, a title, a carriage return and line feed, a C1
/// CSI and a bidi override.
const EVIL_ERROR: &str = "denied\x1b[31m red\x1b]0;pwned\x07\r\npats: forged line\u{9b}2J\u{202e}";

/// What no output for people may hold.
const RAW: [char; 7] = ['\x1b', '\x07', '\r', '\u{9b}', '\u{202e}', '\u{7f}', '\t'];

fn assert_no_raw(text: &str) {
    assert!(!text.contains(RAW), "a raw control character in:\n{text:?}");
}

/// Profiles on the simulator.
trait Profiles {
    fn profile(&self, name: &str) -> String;
}

impl Profiles for Sim {
    /// The profile `name` (a TOML key, quoted) on this simulator.
    fn profile(&self, name: &str) -> String {
        format!(
            "[profiles.{}]\nprovider = \"sailpoint\"\nbase_url = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_env = \"SIM_SECRET\"\n",
            toml_string(name),
            self.sim.uri(),
            SailPointSim::CLIENT_ID
        )
    }
}

/// `text` as a TOML basic string (control characters as `\uXXXX`).
fn toml_string(text: &str) -> String {
    // JSON's escapes of a string are valid TOML escapes.
    serde_json::to_string(text).unwrap()
}

/// Writes a profiles file and returns `pats --config FILE` with the simulators' secret.
fn with_config(dir: &Path, text: &str) -> (PathBuf, impl Fn() -> Command + use<>) {
    let path = dir.join("profiles.toml");
    std::fs::write(&path, text).unwrap();
    let config = path.clone();
    let cmd = move || {
        let mut cmd = pats();
        cmd.env("SIM_SECRET", SailPointSim::CLIENT_SECRET)
            .arg("--config")
            .arg(&config);
        cmd
    };
    (path, cmd)
}

/// The char offset of `needle` in `line`.
fn column_of(line: &str, needle: &str) -> Option<usize> {
    line.find(needle).map(|at| line[..at].chars().count())
}

#[test]
fn a_name_cannot_forge_a_row_or_drive_the_terminal() {
    let sim = Sim::start();
    let plain = sim.create("plain");
    let evil = sim.create(EVIL_NAME);

    // `pats list`: the header and exactly two rows, each starting with its id; the owner
    // column lines up, since the widths are those of the escaped cells.
    let (code, out, err) = run(sim.pats().arg("list"));
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("ID "), "{out}");
    let mut ids: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![plain.as_str(), evil.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "{out}");
    let evil_row = lines.iter().find(|l| l.starts_with(&evil)).unwrap();
    assert!(
        evil_row.contains(&format!("  {EVIL_SHOWN}  ")),
        "{evil_row}"
    );
    let owner_at = column_of(lines[0], "OWNER");
    for line in &lines[1..] {
        assert_eq!(
            column_of(line, SailPointSim::IDENTITY_ID),
            owner_at,
            "{out}"
        );
    }

    // `--json` keeps the exact name.
    let (code, out, err) = run(sim.pats().args(["list", "--json"]));
    assert_eq!(code, 0, "{err}");
    let list = json(&out);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&EVIL_NAME), "{out}");
    let (_, out, _) = run(sim.pats().args(["get", &evil, "--json"]));
    assert_eq!(json(&out)["name"], EVIL_NAME);

    // `pats get`: one `name` line, escaped.
    let (code, out, err) = run(sim.pats().args(["get", &evil]));
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    let name_lines: Vec<&str> = out.lines().filter(|l| l.contains("forged")).collect();
    assert_eq!(name_lines.len(), 1, "{out}");
    assert!(name_lines[0].starts_with("name "), "{out}");
    assert!(name_lines[0].ends_with(&format!(" {EVIL_SHOWN}")), "{out}");

    // `pats audit`: both expire within 60 days; two finding rows.
    let (code, out, err) = run(sim.pats().args(["audit", "--expiring-within", "60d"]));
    assert_eq!(code, 3, "{err}");
    assert_no_raw(&out);
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("expiring ")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows.iter()
            .any(|r| r.contains(&format!("{evil}  {EVIL_SHOWN}  expires in"))),
        "{out}"
    );
    assert!(out.ends_with("2 finding(s).\n"), "{out}");
}

#[test]
fn a_provider_error_is_printed_escaped_on_one_line() {
    let sim = Sim::start();
    sim.sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 403,
            body: serde_json::json!({ "message": EVIL_ERROR }),
        })
        .method("GET"),
    );
    let (code, out, err) = run(sim.pats().arg("list"));
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert_no_raw(&err);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err:?}");
    assert!(lines[0].starts_with("pats: error: "), "{err:?}");
    // The CR LF is a space (errors are one line); the rest is visible.
    assert!(
        lines[0].contains(r"denied\x1b[31m red\x1b]0;pwned\x07 pats: forged line\u{9b}2J\u{202e}"),
        "{err:?}"
    );

    // The same error in a report of profiles: in the status table, and in the final error.
    let dir = tempfile::tempdir().unwrap();
    let name = "bad\x1b]0;pwned\x07\nforged";
    let (_, config) = with_config(dir.path(), &sim.profile(name));
    let (code, out, err) = run(config().args(["audit", "--all"]));
    assert_eq!(code, 1, "{err}");
    assert_no_raw(&out);
    assert_no_raw(&err);
    let row = out
        .lines()
        .find(|l| l.starts_with(r"bad\x1b]0;pwned\x07\nforged  sailpoint  failed"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains(r"denied\x1b[31m red"), "{row}");
    assert_eq!(
        err,
        "pats: error: 1 of 1 profile(s) failed: bad\\x1b]0;pwned\\x07\\nforged\n"
    );
    // `--json` keeps both exact.
    let (_, out, _) = run(config().args(["audit", "--all", "--json"]));
    let report = json(&out);
    assert_eq!(report["profiles"][0]["profile"], name);
    assert!(
        report["profiles"][0]["error"]
            .as_str()
            .unwrap()
            .contains("denied\x1b[31m red\x1b]0;pwned\x07"),
        "{out}"
    );
}

#[test]
fn a_listing_of_every_profile_escapes_profile_names_and_token_names() {
    let sim = Sim::start();
    let evil = sim.create(EVIL_NAME);
    let dir = tempfile::tempdir().unwrap();
    let profile = "p\u{202e}1\x1b[2J";
    let (_, config) = with_config(dir.path(), &sim.profile(profile));
    let (code, out, err) = run(config().args(["list", "--all"]));
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    let lines: Vec<&str> = out.lines().collect();
    // Header, one token, a blank line, the status table's header and row.
    assert_eq!(lines.len(), 5, "{out}");
    let shown = r"p\u{202e}1\x1b[2J";
    assert!(lines[1].starts_with(&format!("{shown}  {evil}")), "{out}");
    assert!(lines[1].contains(EVIL_SHOWN), "{out}");
    // The profile column is as wide as the escaped name.
    assert_eq!(column_of(lines[0], "ID"), Some(shown.chars().count() + 2));
    assert!(
        lines[4].starts_with(&format!("{shown}  sailpoint  ok")),
        "{out}"
    );

    let (code, out, _) = run(config().args(["list", "--all", "--json"]));
    assert_eq!(code, 0);
    let report = json(&out);
    assert_eq!(report["tokens"][0]["profile"], profile);
    assert_eq!(report["tokens"][0]["token"]["name"], EVIL_NAME);
}

#[test]
fn profiles_shows_names_escaped_and_no_password_of_an_unparseable_url() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "evil\x1b]0;pwned\x07\nforged  row";
    let text = format!(
        "default_profile = {name}\n\
         [profiles.{name}]\nprovider = \"sailpoint\"\n\
         base_url = \"https://svc:hunter2PW?x@host.example\"\nclient_id = \"id\"\n\
         client_secret_env = \"S\"\n\
         [profiles.plain]\nprovider = \"sailpoint\"\n\
         base_url = \"https://svc:hunter3PW@acme.example/api?token=q-hunter4PW#f\"\n\
         client_id = \"id\"\nclient_secret_env = \"S\"\n",
        name = toml_string(evil)
    );
    let (path, config) = with_config(dir.path(), &text);
    let (code, out, err) = run(config().arg("profiles"));
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    assert!(!out.contains("hunter"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let shown = r"evil\x1b]0;pwned\x07\nforged  row";
    assert!(
        lines[1].starts_with(&format!("{shown}  sailpoint  (invalid URL)  ")),
        "{out}"
    );
    assert!(
        lines[2].starts_with("plain") && lines[2].contains("  https://acme.example/api  "),
        "{out}"
    );
    assert_eq!(lines[3], format!("({}; default: {shown})", path.display()));

    let (code, out, _) = run(config().args(["profiles", "--json"]));
    assert_eq!(code, 0);
    assert!(!out.contains("hunter"), "{out}");
    let list = json(&out);
    assert_eq!(list[0]["name"], evil);
    assert_eq!(list[0]["base_url"], "(invalid URL)");
    assert_eq!(list[1]["base_url"], "https://acme.example/api");

    // An error naming a profile that is not there, on one line.
    let (code, _, err) = run(config().args(["--profile", "nope\x1b]0;x\x07\n", "list"]));
    assert_eq!(code, 2, "{err}");
    assert_no_raw(&err);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(r"pats: error: no profile `nope\x1b]0;x\x07\n` in "),
        "{err}"
    );
}

#[test]
fn a_command_line_error_quoting_the_argument_is_escaped() {
    let (code, out, err) = run(pats().args(["--simulate", "get", "bad\x1b]0;x\x07\u{202e}id"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "");
    assert_no_raw(&err);
    assert_eq!(err.lines().count(), 1, "{err}");
    // clap drops the escape sequence from its message itself; what is left is escaped.
    assert!(err.contains(r"\u{202e}id"), "{err}");
    // Only the error: not clap's usage line or its pointer to --help.
    assert!(err.starts_with("pats: error: invalid value "), "{err}");
    assert!(
        !err.contains("Usage:") && !err.contains("For more"),
        "{err}"
    );
}

#[test]
fn the_profiles_footer_shows_the_path_and_the_default_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil\x1b]0;x\x07\n.toml");
    let shown_path = printable_path(&path);
    let config = |text: &str| {
        std::fs::write(&path, text).unwrap();
        let mut cmd = pats();
        cmd.arg("--config").arg(&path).arg("profiles");
        run(&mut cmd)
    };
    let (code, out, err) = config("");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("No profiles in {shown_path}.\n"));

    // The only profile is the default one.
    let (code, out, err) = config("[profiles.\"solo\\u001b[2J\"]\nprovider = \"dfns\"\n");
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].starts_with(r"solo\x1b[2J  dfns  "), "{out}");
    assert_eq!(lines[2], format!(r"({shown_path}; default: solo\x1b[2J)"));

    // Of two, neither is without `default_profile`.
    let (code, out, err) =
        config("[profiles.a]\nprovider = \"dfns\"\n[profiles.b]\nprovider = \"dfns\"\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().last(), Some(format!("({shown_path})").as_str()));
}

/// `path` as `pats` prints it: its control characters escaped.
fn printable_path(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\x1b', r"\x1b")
        .replace('\x07', r"\x07")
        .replace('\n', r"\n")
}

#[test]
fn create_rotate_and_revoke_print_names_and_errors_escaped() {
    let sim = Sim::start();
    let sim_env = |cmd: &mut Command| {
        cmd.env("PATS_PROVIDER", "sailpoint")
            .env("SAIL_BASE_URL", sim.sim.uri())
            .env("SAIL_CLIENT_ID", SailPointSim::CLIENT_ID)
            .env("SAIL_CLIENT_SECRET", SailPointSim::CLIENT_SECRET);
    };
    let mut cmd = pats();
    sim_env(&mut cmd);
    let (code, out, err) = run(cmd.args(["create", EVIL_NAME, "--expires-in", "1d"]));
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    assert!(
        out.contains(&format!("name        {EVIL_SHOWN}\n")),
        "{out}"
    );

    // Rotating it: the closing line names the new name escaped.
    let mut cmd = pats();
    sim_env(&mut cmd);
    let (code, out, err) = run(cmd.args(["rotate", &format!("@{EVIL_NAME}")]));
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    assert_no_raw(&err);
    assert!(
        out.ends_with(&format!("the new token took the name `{EVIL_SHOWN}`.\n")),
        "{out}"
    );

    // Revoking several, one of which fails with a hostile error: one escaped line each.
    sim.sim.faults().inject(
        FaultRule::new(Fault::Status {
            status: 403,
            body: serde_json::json!({ "message": EVIL_ERROR }),
        })
        .method("DELETE"),
    );
    let mut cmd = pats();
    sim_env(&mut cmd);
    let evil_ref = format!("@{EVIL_NAME}");
    let (code, out, err) = run(cmd.args(["revoke", &evil_ref, "@no\x1b[2Jsuch"]));
    assert_eq!(code, 1, "{err}");
    assert_no_raw(&out);
    assert_no_raw(&err);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with("pats: error: revoking ") && lines[0].contains(": permission denied"),
        "{err}"
    );
    assert!(
        lines[0].contains(r"denied\x1b[31m red\x1b]0;pwned\x07"),
        "{err}"
    );
    assert!(
        lines[1].starts_with(r"pats: error: revoking @no\x1b[2Jsuch: "),
        "{err}"
    );
}
