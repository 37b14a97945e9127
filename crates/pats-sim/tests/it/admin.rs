//! The emulator on a developer's machine (issue 27): the admin API needs the run's token
//! (and JSON for writes), `env` trusts nothing a port answers, the files it writes are
//! private and never follow a planted link, one server per state file, `--port 0`, and a
//! clean stop on `SIGTERM`/`SIGHUP`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_sim::{Options, SimError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn env(sim: &pats_sim::Emulator) -> HashMap<String, String> {
    sim.env(None).into_iter().collect()
}

/// One raw HTTP/1.1 exchange with 127.0.0.1:`port`: the status and the body.
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A bounded wait: a server that never answers fails the test instead of hanging it.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The directory of the key and token files of an emulator started in this process.
fn private_dir(sim: &pats_sim::Emulator) -> PathBuf {
    Path::new(&env(sim)["ZITADEL_KEY_FILE"])
        .parent()
        .unwrap()
        .to_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn the_admin_api_needs_the_token_and_json_writes_but_health_is_open() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let token = sim.admin_token().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let bearer = format!("Bearer {token}");
    let [dfns, zitadel, sail, gitlab] = sim.ports();

    // Health is open; everything else is 401 without the token, or with another one.
    assert_eq!(exchange(sail, "GET", "/_pats_sim/health", &[], "").0, 200);
    assert_eq!(exchange(gitlab, "GET", "/_pats_sim/health", &[], "").0, 200);
    for port in [dfns, zitadel, sail, gitlab] {
        for path in [
            "/_pats_sim/env",
            "/_pats_sim/requests",
            "/_pats_sim/state",
            "/_pats_sim/nope",
        ] {
            let (status, body) = exchange(port, "GET", path, &[], "");
            assert_eq!(status, 401, "{path}");
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("PATS_SIM_ADMIN_TOKEN")
            );
            let wrong = format!("Bearer {}", "0".repeat(64));
            assert_eq!(
                exchange(port, "GET", path, &[("Authorization", &wrong)], "").0,
                401
            );
        }
    }
    // What a foreign web page can send without asking first: a text/plain POST.
    let (status, _) = exchange(
        sail,
        "POST",
        "/_pats_sim/faults",
        &[("Content-Type", "text/plain")],
        r#"{"fault": "status", "status": 500}"#,
    );
    assert_eq!(status, 401);
    // With the token, but not JSON: 415, for bodies and body-less DELETEs alike.
    for (method, path, body) in [
        (
            "POST",
            "/_pats_sim/faults",
            r#"{"fault": "status", "status": 500}"#,
        ),
        ("POST", "/_pats_sim/reset", "{}"),
        ("DELETE", "/_pats_sim/requests", ""),
        ("PUT", "/_pats_sim/faults", ""),
    ] {
        for content_type in [None, Some("text/plain"), Some("application/jsonx")] {
            let mut headers = vec![("Authorization", bearer.as_str())];
            if let Some(t) = content_type {
                headers.push(("Content-Type", t));
            }
            let (status, answer) = exchange(sail, method, path, &headers, body);
            assert_eq!(status, 415, "{method} {path} {content_type:?}: {answer}");
        }
    }
    // Nothing was armed: the provider answers as usual.
    let (status, _) = exchange(
        sail,
        "POST",
        "/oauth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "grant_type=client_credentials&client_id=x&client_secret=y",
    );
    assert_eq!(status, 401);
    // With both, it works; `application/json; charset=utf-8` is JSON too.
    let json_headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json; charset=utf-8"),
    ];
    assert_eq!(
        exchange(sail, "DELETE", "/_pats_sim/requests", &json_headers, "").0,
        204
    );
    let (status, answer) = exchange(sail, "GET", "/_pats_sim/env", &json_headers[..1], "");
    assert_eq!(status, 200);
    let served: HashMap<String, String> = serde_json::from_value(answer["env"].clone()).unwrap();
    assert_eq!(served, env(&sim));
    assert_eq!(served["PATS_SIM_ADMIN_TOKEN"], token);
    // The ids a test needs are exported, each a known name.
    assert!(!served["DFNS_USER_ID"].is_empty());
    assert_eq!(
        served["SAIL_IDENTITY_ID"],
        pats_sim::sailpoint::SailPointSim::IDENTITY_ID
    );
    assert!(!served["ZITADEL_ORG_ID"].is_empty());
    for name in served.keys() {
        assert!(
            pats_sim::emulator::ENV_NAMES.contains(&name.as_str()),
            "{name}"
        );
    }
    // The token is not in the Debug output.
    assert!(!format!("{sim:?}").contains(&token));
    // Proof that it holds the token, for anyone, without the token; a nonce of the
    // documented shape only.
    let nonce = "0123456789abcdef0123";
    let (status, answer) = exchange(
        sail,
        "GET",
        &format!("/_pats_sim/proof?nonce={nonce}"),
        &[],
        "",
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["proof"],
        json!(pats_sim::emulator::token_proof(&token, nonce))
    );
    assert!(!answer.to_string().contains(&token));
    for bad in [
        "",
        "?nonce=0123",
        "?nonce=0123456789ABCDEF",
        "?nonce=0123456789abcdeg",
    ] {
        let (status, _) = exchange(sail, "GET", &format!("/_pats_sim/proof{bad}"), &[], "");
        assert_eq!(status, 400, "{bad}");
    }
    assert_eq!(
        exchange(sail, "POST", "/_pats_sim/proof", &json_headers, "{}").0,
        405
    );
}

#[test]
fn without_an_admin_token_the_api_is_open_but_writes_still_need_json() {
    let sim = pats_sim::start(Options::default().admin_token(false)).unwrap();
    assert_eq!(sim.admin_token(), None);
    assert!(!env(&sim).contains_key("PATS_SIM_ADMIN_TOKEN"));
    let sail = sim.ports()[2];
    assert_eq!(exchange(sail, "GET", "/_pats_sim/requests", &[], "").0, 200);
    // No token to prove.
    assert_eq!(
        exchange(
            sail,
            "GET",
            "/_pats_sim/proof?nonce=0123456789abcdef",
            &[],
            ""
        )
        .0,
        404
    );
    let (status, _) = exchange(
        sail,
        "POST",
        "/_pats_sim/reset",
        &[("Content-Type", "text/plain")],
        "{}",
    );
    assert_eq!(status, 415);
    let (status, _) = exchange(
        sail,
        "POST",
        "/_pats_sim/reset",
        &[("Content-Type", "application/json")],
        "{}",
    );
    assert_eq!(status, 200);
    // No token file: `env` cannot check who answers, and says so.
    let err = pats_sim::emulator::fetch_env(sail, None).unwrap_err();
    assert!(matches!(err, SimError::NotRunning { .. }), "{err}");
    assert!(err.to_string().contains("--no-admin-token"), "{err}");
}

#[cfg(unix)]
#[test]
fn the_key_and_token_files_are_private_in_a_private_dir_and_go_with_the_emulator() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let dir = private_dir(&sim);
    assert!(
        !std::fs::symlink_metadata(&dir)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    let key = PathBuf::from(&env(&sim)["ZITADEL_KEY_FILE"]);
    assert_eq!(mode(&key), 0o600);
    let name = key.file_name().unwrap().to_string_lossy().into_owned();
    let port = sim.ports()[1];
    // A random part: no name an attacker could plant a link at in advance.
    let random = name
        .strip_prefix(&format!("zitadel-key-{port}-"))
        .and_then(|r| r.strip_suffix(".json"))
        .unwrap();
    assert_eq!(random.len(), 16, "{name}");
    let mut files = vec![key];
    for port in sim.ports() {
        let file = dir.join(format!("admin-token-{port}"));
        assert_eq!(mode(&file), 0o600);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            sim.admin_token().unwrap()
        );
        files.push(file);
    }
    drop(sim);
    for file in files {
        assert!(!file.exists(), "{} left behind", file.display());
    }
}

#[cfg(unix)]
#[test]
fn links_planted_at_the_old_predictable_paths_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let victim_mode = mode(&victim);
    // The key file's old name, for a port the emulator will take.
    let port = loop {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base < 65_000
            && (0..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            break base;
        }
    };
    let old_key = std::env::temp_dir().join(format!("pats-sim-{}-zitadel-key.json", port + 1));
    let _ = std::fs::remove_file(&old_key);
    std::os::unix::fs::symlink(&victim, &old_key).unwrap();
    // The state's old temporary file name.
    let state = dir.path().join("state.json");
    let old_temp = dir
        .path()
        .join(format!(".state.json.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&victim, &old_temp).unwrap();

    let sim = pats_sim::start(Options::default().port(port).state_file(&state)).unwrap();
    sim.sailpoint().seed_pat("x").unwrap();
    sim.save().unwrap();
    drop(sim);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(mode(&victim), victim_mode);
    assert!(
        std::fs::symlink_metadata(&old_key)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::symlink_metadata(&old_temp)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let _ = std::fs::remove_file(&old_key);
    // Nothing but the state, the planted link and the victim is left in the state's dir.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            format!(".state.json.{}.tmp", std::process::id()),
            "state.json".to_owned(),
            "victim".to_owned()
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_state_file_is_followed_and_the_link_kept() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("state.json");
    let link = dir.path().join("link.json");
    // A link to a state file yet to be made.
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let sim = pats_sim::start(Options::default().state_file(&link)).unwrap();
    sim.sailpoint().seed_pat("kept").unwrap();
    sim.save().unwrap();
    // The lock is next to the target, and holds our pid.
    let lock = real.join("state.json.lock");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        std::process::id().to_string()
    );
    drop(sim);
    assert!(!lock.exists(), "the lock file is removed at the end");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode(&target), 0o600);
    let saved: Value = serde_json::from_slice(&std::fs::read(&link).unwrap()).unwrap();
    assert_eq!(saved["sailpoint"]["pats"][0]["json"]["name"], "kept");
    // Read back through the link.
    let again = pats_sim::start(Options::default().state_file(&link)).unwrap();
    assert_eq!(again.sailpoint().stored_tokens().len(), 1);
    drop(again);
    // A link into a directory that does not exist is an error, and nothing is written.
    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("nowhere").join("s.json"), &dangling).unwrap();
    let err = pats_sim::start(Options::default().state_file(&dangling)).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(!dir.path().join("nowhere").exists());
}

#[cfg(unix)]
#[test]
fn a_second_server_on_one_state_fails_naming_the_first_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let first = pats_sim::start(Options::default().state_file(&state)).unwrap();
    let before = std::fs::read(&state).unwrap();
    let err = pats_sim::start(Options::default().state_file(&state)).unwrap_err();
    match &err {
        SimError::StateInUse { holder, .. } => assert_eq!(*holder, Some(std::process::id())),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert_eq!(std::fs::read(&state).unwrap(), before);
    drop(first);
    // Free again once the first is gone.
    let third = pats_sim::start(Options::default().state_file(&state)).unwrap();
    drop(third);
    // A start that fails on a bad state file leaves no lock and no temporary file.
    std::fs::write(&state, "{\"not\": \"ours\"}").unwrap();
    assert!(pats_sim::start(Options::default().state_file(&state)).is_err());
    assert_eq!(names(dir.path()), ["state.json"]);
}

// ---------------------------------------------------------------------------------------
// `env` against a listener that is not the emulator.

/// The head of the request on `stream`.
fn request_head(stream: &mut std::net::TcpStream) -> String {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
        request.push(byte[0]);
    }
    String::from_utf8_lossy(&request).into_owned()
}

/// The next connection to `listener`, or `None` after 10 s (so that a client that does not
/// come fails its test instead of hanging it).
fn accept_within(listener: &std::net::TcpListener) -> Option<std::net::TcpStream> {
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return Some(stream);
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    None
}

/// A listener on a free port. With `token`, it first answers the proof request as the
/// emulator holding that token would; then it answers one connection with `answer`. The
/// requests it received come back through the handle (fewer when a connection did not
/// come within 10 s).
fn fake(token: Option<&str>, answer: Vec<u8>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let token = token.map(str::to_owned);
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        if let Some(token) = token {
            let Some(mut stream) = accept_within(&listener) else {
                return requests;
            };
            let head = request_head(&mut stream);
            let nonce = head
                .split_once("nonce=")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("")
                .to_owned();
            let proof = pats_sim::emulator::token_proof(&token, &nonce);
            let _ = stream.write_all(&http(
                "200 OK",
                &serde_json::to_vec(&json!({ "proof": proof })).unwrap(),
            ));
            requests.push(head);
        }
        let Some(mut stream) = accept_within(&listener) else {
            return requests;
        };
        requests.push(request_head(&mut stream));
        let _ = stream.write_all(&answer);
        requests
    });
    (port, handle)
}

fn http(status: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// A token file for `port` in the private directory, as an emulator would have written it.
#[cfg(unix)]
fn plant_token(dir: &Path, port: u16, token: &str) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = dir.join(format!("admin-token-{port}"));
    let _ = std::fs::remove_file(&file);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    file
}

#[cfg(unix)]
#[test]
fn env_refuses_or_quotes_whatever_a_hostile_listener_answers() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let dir = private_dir(&sim);
    let token = "ab".repeat(32);
    let other = "cd".repeat(32);
    let with = |vars: Value| serde_json::to_vec(&json!({ "env": vars })).unwrap();
    let refused: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a name that is shell code",
            http(
                "200 OK",
                &with(json!({"PATS_SIM_ADMIN_TOKEN": token, "X;touch /tmp/pwned": "1"})),
            ),
            "unknown variable",
        ),
        (
            "a plain-text exports body",
            http("200 OK", b"export A=1; rm -rf ~\n"),
            "not JSON",
        ),
        (
            "another emulator's token",
            http(
                "200 OK",
                &with(json!({"PATS_SIM_ADMIN_TOKEN": other, "DFNS_BASE_URL": "x"})),
            ),
            "not the one of the token file",
        ),
        (
            "no token at all",
            http("200 OK", &with(json!({"DFNS_BASE_URL": "x"}))),
            "not the one of the token file",
        ),
        (
            "a terminal escape in a value",
            http(
                "200 OK",
                &with(json!({"PATS_SIM_ADMIN_TOKEN": token, "DFNS_BASE_URL": "\u{1b}]0;hi\u{7}"})),
            ),
            "control characters",
        ),
        (
            "a value that is not a string",
            http(
                "200 OK",
                &with(json!({"PATS_SIM_ADMIN_TOKEN": token, "DFNS_BASE_URL": ["x"]})),
            ),
            "not a string",
        ),
        (
            "no env object",
            http("200 OK", b"{\"exports\": \"export A=1\"}"),
            "no \"env\" object",
        ),
        (
            "a refused token",
            http("401 Unauthorized", b"{}"),
            "refused the admin token",
        ),
        (
            "an endless answer",
            http("200 OK", &vec![b' '; 70 * 1024]),
            "larger than",
        ),
        ("no HTTP at all", b"export A=1\n".to_vec(), "malformed"),
    ];
    for (what, answer, says) in refused {
        let (port, handle) = fake(Some(&token), answer);
        let file = plant_token(&dir, port, &token);
        let err = pats_sim::emulator::fetch_exports(port, None).unwrap_err();
        let requests = handle.join().unwrap();
        let request = requests.last().unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(
            matches!(err, SimError::NotTheEmulator { .. }),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains(says), "{what}: {err}");
        assert!(!err.to_string().contains(&token), "{what}: {err}");
        assert!(
            request.contains(&format!("Authorization: Bearer {token}")),
            "{what}: {request}"
        );
        assert!(
            !requests[0].contains(&token),
            "{what}: the proof request sent the token"
        );
    }

    // A listener that cannot prove it holds the token (a stale token file's port, bound by
    // another program) never gets the token.
    let unproven: Vec<(&str, Vec<u8>)> = vec![
        ("a wrong proof", http("200 OK", br#"{"proof": "00"}"#)),
        (
            "another token's proof",
            http(
                "200 OK",
                &serde_json::to_vec(&json!({
                    "proof": pats_sim::emulator::token_proof(&other, "0123456789abcdef0123456789abcdef")
                }))
                .unwrap(),
            ),
        ),
        ("no proof endpoint", http("404 Not Found", b"{}")),
        ("an echo of the request", http("200 OK", b"{\"proof\": null}")),
    ];
    for (what, answer) in unproven {
        let (port, handle) = fake(None, answer);
        let file = plant_token(&dir, port, &token);
        let err = pats_sim::emulator::fetch_exports(port, None).unwrap_err();
        let requests = handle.join().unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(
            matches!(err, SimError::NotTheEmulator { .. }),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains("cannot prove"), "{what}: {err}");
        assert_eq!(requests.len(), 1, "{what}");
        assert!(
            requests[0].starts_with("GET /_pats_sim/proof?nonce="),
            "{what}: {}",
            requests[0]
        );
        assert!(!requests[0].contains(&token), "{what}: the token was sent");
    }

    // Hostile values under known names are quoted: `eval` sets them and runs nothing.
    let work = tempfile::tempdir().unwrap();
    let hostile = json!({
        "PATS_SIM_ADMIN_TOKEN": token,
        "DFNS_BASE_URL": "$(touch pwned)",
        "ZITADEL_URL": "`touch pwned2`'; touch pwned3; '",
        "SAIL_BASE_URL": "two\nlines \\ \" $HOME",
    });
    let (port, handle) = fake(Some(&token), http("200 OK", &with(hostile.clone())));
    let file = plant_token(&dir, port, &token);
    let exports = pats_sim::emulator::fetch_exports(port, None).unwrap();
    handle.join().unwrap();
    let _ = std::fs::remove_file(&file);
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{exports}\nprintf '%s\\0%s\\0%s' \"$DFNS_BASE_URL\" \"$ZITADEL_URL\" \"$SAIL_BASE_URL\""
        ))
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let values: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .split('\0')
        .map(str::to_owned)
        .collect();
    assert_eq!(
        values,
        [
            hostile["DFNS_BASE_URL"].as_str().unwrap(),
            hostile["ZITADEL_URL"].as_str().unwrap(),
            hostile["SAIL_BASE_URL"].as_str().unwrap()
        ]
    );
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "something ran"
    );
    // An answer of exactly the most `env` reads (64 KiB, head included) is read.
    let most = 64 * 1024;
    let mut body = with(json!({ "PATS_SIM_ADMIN_TOKEN": token, "DFNS_BASE_URL": "x" }));
    let head = http("200 OK", &vec![b' '; most]).len() - most;
    body.resize(most - head, b' ');
    let answer = http("200 OK", &body);
    assert_eq!(answer.len(), most);
    let (port, handle) = fake(Some(&token), answer);
    let file = plant_token(&dir, port, &token);
    let read = pats_sim::emulator::fetch_env(port, None);
    handle.join().unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        read.unwrap()
            .contains(&("DFNS_BASE_URL".to_owned(), "x".to_owned()))
    );
    // The real one passes the same checks.
    let sail = sim.ports()[2];
    assert_eq!(
        pats_sim::emulator::fetch_exports(sail, Some("dfns")).unwrap(),
        sim.exports(Some("dfns"))
    );
}

// ---------------------------------------------------------------------------------------
// The binary: a private directory of a test's own (`XDG_RUNTIME_DIR`), `--port 0 --json`,
// signals.

fn serve(runtime: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pats-sim"));
    command
        .arg("serve")
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts `serve --port 0 --json …` and reads its line.
fn serve_json(runtime: &Path, args: &[&str]) -> (Child, Value) {
    let mut child = serve(runtime, &[&["--port", "0", "--json"], args].concat())
        .spawn()
        .unwrap();
    // Read on a thread, for a bounded wait: a server that prints no line fails the test
    // instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let Ok(line) = receiver.recv_timeout(std::time::Duration::from_secs(20)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve printed no line within 20 s");
    };
    let started: Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{e}: {line:?}");
        }
    };
    (child, started)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn sigterm_and_sighup_save_the_state_and_remove_every_file() {
    for signal_name in ["TERM", "HUP"] {
        let runtime = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let state = work.path().join("state.json");
        let (mut child, started) =
            serve_json(runtime.path(), &["--state", state.to_str().unwrap()]);
        let private = runtime.path().join("pats-sim");
        assert_eq!(mode(&private), 0o700);
        let ports: Vec<u16> = ["dfns", "zitadel", "sailpoint", "gitlab"]
            .iter()
            .map(|p| u16::try_from(started[p].as_u64().unwrap()).unwrap())
            .collect();
        let env = &started["env"];
        assert_eq!(
            env["SAIL_BASE_URL"],
            format!("http://127.0.0.1:{}", ports[2])
        );
        let token = env["PATS_SIM_ADMIN_TOKEN"].as_str().unwrap();
        let key = env["ZITADEL_KEY_FILE"].as_str().unwrap();
        let mut files = names(&private);
        let mut expected: Vec<String> = ports
            .iter()
            .map(|p| format!("admin-token-{p}"))
            .chain([Path::new(key)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()])
            .collect();
        expected.sort();
        files.sort();
        assert_eq!(files, expected);
        assert_eq!(
            std::fs::read_to_string(work.path().join("state.json.lock"))
                .unwrap()
                .trim(),
            child.id().to_string()
        );
        // `env` on any port, as the same user, prints what `serve` would have.
        let printed = Command::new(env!("CARGO_BIN_EXE_pats-sim"))
            .args(["env", "--port", &ports[1].to_string()])
            .env("XDG_RUNTIME_DIR", runtime.path())
            .output()
            .unwrap();
        assert!(printed.status.success(), "{printed:?}");
        let text = String::from_utf8(printed.stdout).unwrap();
        assert!(
            text.contains(&format!("export PATS_SIM_ADMIN_TOKEN='{token}'\n")),
            "{text}"
        );
        // A change through the admin API.
        let bearer = format!("Bearer {token}");
        let (status, _) = exchange(
            ports[2],
            "POST",
            "/_pats_sim/seed",
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            r#"{"tokens": ["kept"]}"#,
        );
        assert_eq!(status, 201);

        signal(&child, signal_name);
        let status = child.wait().unwrap();
        assert!(status.success(), "{signal_name}: {status}");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(
            stderr.contains("pats-sim: stopped"),
            "{signal_name}: {stderr}"
        );
        assert_eq!(names(&private), Vec::<String>::new(), "{signal_name}");
        assert_eq!(names(work.path()), ["state.json"], "{signal_name}");
        let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        assert_eq!(saved["sailpoint"]["pats"][0]["json"]["name"], "kept");
    }
}

#[cfg(unix)]
#[test]
fn a_failed_start_leaves_no_files_and_a_second_server_names_the_first() {
    let runtime = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state.json");
    let (mut first, started) = serve_json(runtime.path(), &["--state", state.to_str().unwrap()]);
    let private = runtime.path().join("pats-sim");
    let before = names(&private);
    // The same state: refused, naming the first's pid.
    let second = serve(
        runtime.path(),
        &["--port", "0", "--state", state.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    // A taken port: refused.
    let taken = started["dfns"].as_u64().unwrap().to_string();
    let third = serve(runtime.path(), &["--port", &taken]).output().unwrap();
    assert_eq!(third.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&third.stderr).contains("cannot serve dfns"));
    // Neither wrote anything that is left.
    assert_eq!(names(&private), before);
    assert_eq!(
        names(work.path()),
        ["state.json", "state.json.journal.1", "state.json.lock"]
    );
    signal(&first, "TERM");
    assert!(first.wait().unwrap().success());
    assert!(names(&private).is_empty());
}

#[cfg(unix)]
#[test]
fn a_private_dir_that_is_a_link_or_open_to_others_is_refused() {
    let runtime = tempfile::tempdir().unwrap();
    let private = runtime.path().join("pats-sim");
    // A link to a directory of ours, even a 0700 one.
    let elsewhere = runtime.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(
        &elsewhere,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::os::unix::fs::symlink(&elsewhere, &private).unwrap();
    let out = serve(runtime.path(), &["--port", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("symbolic link"), "{err}");
    assert!(names(&elsewhere).is_empty());
    // A directory others can read: refused, and its mode left as it is.
    std::fs::remove_file(&private).unwrap();
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = serve(runtime.path(), &["--port", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mode is 0755, not 0700"), "{err}");
    assert_eq!(mode(&private), 0o755);
    assert!(names(&private).is_empty());
    // `env` checks it too.
    let out = Command::new(env!("CARGO_BIN_EXE_pats-sim"))
        .args(["env", "--port", "4600"])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0755"));
}
