//! The emulator as a client sees it: one process, four providers at the roots of their own
//! origins, the admin API, faults on demand and a state file that outlives the process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_sim::{Options, SimError};
use serde_json::{Value, json};
use std::collections::HashMap;

fn env(sim: &pats_sim::Emulator) -> HashMap<String, String> {
    sim.env(None).into_iter().collect()
}

async fn get(url: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A `GET` of the admin API, with the emulator's admin token.
async fn admin_get(sim: &pats_sim::Emulator, url: &str) -> (u16, Value) {
    get(url, sim.admin_token()).await
}

/// A `POST` of the admin API, with the emulator's admin token.
async fn admin_post(sim: &pats_sim::Emulator, url: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(sim.admin_token().unwrap())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A SailPoint bearer token from the client credentials the exports give.
async fn sailpoint_token(env: &HashMap<String, String>) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", env["SAIL_BASE_URL"]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            env["SAIL_CLIENT_ID"], env["SAIL_CLIENT_SECRET"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn sailpoint_names(env: &HashMap<String, String>) -> Vec<String> {
    let token = sailpoint_token(env).await;
    let (status, list) = get(
        &format!("{}/v3/personal-access-tokens", env["SAIL_BASE_URL"]),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn each_provider_is_at_the_root_of_its_own_origin_with_its_credentials() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    assert_eq!(env["DFNS_BASE_URL"], sim.dfns().uri());
    assert_eq!(env["ZITADEL_URL"], sim.zitadel().uri());
    assert_eq!(env["SAIL_BASE_URL"], sim.sailpoint().uri());
    assert_eq!(env["PATS_PROVIDER"], "sailpoint");
    let origins: std::collections::HashSet<_> = [
        &env["DFNS_BASE_URL"],
        &env["ZITADEL_URL"],
        &env["SAIL_BASE_URL"],
    ]
    .into_iter()
    .collect();
    assert_eq!(origins.len(), 3);
    // Each credential works where it belongs.
    assert!(sim.dfns().accepts_bearer(&env["DFNS_AUTH_TOKEN"]));
    assert!(env["DFNS_PRIVATE_KEY"].starts_with("-----BEGIN PRIVATE KEY-----"));
    let (status, _) = post(
        &format!(
            "{}/zitadel.user.v2.UserService/ListUsers",
            env["ZITADEL_URL"]
        ),
        json!({}),
    )
    .await;
    assert_eq!(status, 401, "ListUsers without the PAT");
    let response = reqwest::Client::new()
        .post(format!(
            "{}/zitadel.user.v2.UserService/ListPersonalAccessTokens",
            env["ZITADEL_URL"]
        ))
        .bearer_auth(&env["ZITADEL_PAT"])
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let key: Value =
        serde_json::from_str(&std::fs::read_to_string(&env["ZITADEL_KEY_FILE"]).unwrap()).unwrap();
    assert_eq!(key["type"], "serviceaccount");
    assert!(sailpoint_names(&env).await.is_empty());
    // The exports quote every value for a shell, the PEM's newlines included.
    let exports = sim.exports(Some("dfns"));
    assert!(exports.contains("export PATS_PROVIDER='dfns'\n"));
    assert!(exports.contains("export DFNS_PRIVATE_KEY='-----BEGIN PRIVATE KEY-----\n"));
}

#[tokio::test]
async fn the_state_file_outlives_the_process_and_keeps_the_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let first = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let before = env(&first);
    let token = sailpoint_token(&before).await;
    let created = reqwest::Client::new()
        .post(format!(
            "{}/v3/personal-access-tokens",
            before["SAIL_BASE_URL"]
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name":"ci","scope":["sp:scopes:all"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);
    // Written on the change (to the journal), not only at exit.
    let on_disk = crate::journal::on_disk(&file);
    assert_eq!(on_disk["format"], "pats-sim-state");
    assert_eq!(on_disk["sailpoint"]["pats"].as_array().unwrap().len(), 1);
    drop(first);

    let second = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let after = env(&second);
    assert_eq!(sailpoint_names(&after).await, ["ci"]);
    for key in [
        "DFNS_AUTH_TOKEN",
        "DFNS_CRED_ID",
        "DFNS_PRIVATE_KEY",
        "ZITADEL_PAT",
        "ZITADEL_USER_ID",
        "ZITADEL_CLIENT_SECRET",
    ] {
        assert_eq!(before[key], after[key], "{key} changed across a restart");
    }
    assert!(second.dfns().accepts_bearer(&after["DFNS_AUTH_TOKEN"]));
    // The old access token was kept as well.
    let (status, _) = get(
        &format!("{}/v3/personal-access-tokens", after["SAIL_BASE_URL"]),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the state file holds credentials");
    }
}

#[tokio::test]
async fn a_foreign_or_corrupt_state_file_is_an_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, says) in [
        (
            "foreign.json",
            r#"{"hello": "world"}"#,
            "not a pats-sim state file",
        ),
        (
            "truncated.json",
            r#"{"format": "pats-sim-state", "vers"#,
            "not JSON",
        ),
        (
            "future.json",
            r#"{"format": "pats-sim-state", "version": 99}"#,
            "version 99",
        ),
        (
            "corrupt.json",
            r#"{"format": "pats-sim-state", "version": 1, "credentials": {}}"#,
            "corrupt credentials",
        ),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let err = pats_sim::start(Options::default().state_file(&file)).unwrap_err();
        assert!(matches!(err, SimError::StateFile { .. }), "{name}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(says), "{name}: {message}");
        assert!(message.contains("left untouched"), "{name}: {message}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "{name} was changed"
        );
    }
}

#[tokio::test]
async fn the_admin_api_seeds_logs_and_resets() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let sail = &env["SAIL_BASE_URL"];
    assert_eq!(
        get(&format!("{sail}/_pats_sim/health"), None).await,
        (200, json!({"status": "ok"}))
    );

    let (status, seeded) = admin_post(
        &sim,
        &format!("{sail}/_pats_sim/seed"),
        json!({"tokens": ["a", "b"]}),
    )
    .await;
    assert_eq!(status, 201, "{seeded}");
    assert_eq!(seeded["created"].as_array().unwrap().len(), 2);
    assert_eq!(sailpoint_names(&env).await, ["a", "b"]);
    // SailPoint names are unique per owner: seeding a taken one is refused.
    let (status, _) = admin_post(
        &sim,
        &format!("{sail}/_pats_sim/seed"),
        json!({"tokens": ["a"]}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, refused) = admin_post(
        &sim,
        &format!("{sail}/_pats_sim/seed"),
        json!({"tokens": "a"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(refused["error"].as_str().unwrap().contains("array"));

    // ZITADEL seeding makes machine users of those names.
    let zitadel = &env["ZITADEL_URL"];
    let (status, _) = admin_post(
        &sim,
        &format!("{zitadel}/_pats_sim/seed"),
        json!({"users": ["ci"], "tokens": ["deploy"]}),
    )
    .await;
    assert_eq!(status, 201);
    assert!(sim.zitadel().has_username("100000000000000001", "ci"));
    assert!(sim.zitadel().has_username("100000000000000001", "deploy"));

    // The request log shows what was sent, per provider.
    let (_, log) = admin_get(&sim, &format!("{sail}/_pats_sim/requests")).await;
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/v3/personal-access-tokens"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("zitadel")), "{paths:?}");

    // Reset: back to the state at start, credentials unchanged.
    let (status, _) = admin_post(&sim, &format!("{sail}/_pats_sim/reset"), json!({})).await;
    assert_eq!(status, 200);
    assert!(sailpoint_names(&env).await.is_empty());
    assert!(!sim.zitadel().has_username("100000000000000001", "ci"));
    let again: HashMap<String, String> = sim.env(None).into_iter().collect();
    assert_eq!(again, env);

    // Unknown admin endpoints and methods.
    assert_eq!(
        admin_get(&sim, &format!("{sail}/_pats_sim/nope")).await.0,
        404
    );
    assert_eq!(
        admin_get(&sim, &format!("{sail}/_pats_sim/reset")).await.0,
        405
    );
}

#[tokio::test]
async fn faults_are_armed_over_http_and_hit_only_their_provider() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let sail = &env["SAIL_BASE_URL"];
    let token = sailpoint_token(&env).await;
    let list = format!("{sail}/v3/personal-access-tokens");
    let client = reqwest::Client::new();
    let faults = format!("{sail}/_pats_sim/faults");
    let arm = |fault: Value| admin_post(&sim, &faults, fault);

    // A 5xx burst of two, then normal answers.
    let (status, _) = arm(json!({
        "fault": "status", "status": 503, "times": 2, "path_contains": "/personal-access-tokens"
    }))
    .await;
    assert_eq!(status, 201);
    assert_eq!(get(&list, Some(&token)).await.0, 503);
    assert_eq!(get(&list, Some(&token)).await.0, 503);
    assert_eq!(get(&list, Some(&token)).await.0, 200);

    // 429 with Retry-After.
    arm(json!({"fault": "rate_limited", "retry_after": 7, "times": 1})).await;
    let response = client.get(&list).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");

    // A reset connection: no answer at all.
    arm(json!({"fault": "reset", "times": 1})).await;
    let reset = reqwest::Client::new()
        .get(&list)
        .bearer_auth(&token)
        .send()
        .await;
    assert!(reset.is_err(), "a reset must not answer: {reset:?}");

    // A truncated body: the announced length is not delivered.
    arm(json!({"fault": "truncated", "times": 1})).await;
    let response = reqwest::Client::new()
        .get(&list)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.bytes().await.is_err(),
        "a truncated body must fail to read"
    );

    // An HTML error page and invalid JSON.
    arm(json!({"fault": "html", "times": 1})).await;
    let response = client.get(&list).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 502);
    assert_eq!(response.headers()["content-type"], "text/html");
    arm(json!({"fault": "invalid_json", "times": 1})).await;
    let response = client.get(&list).bearer_auth(&token).send().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).is_err());

    // An expired token: every access token issued so far is refused.
    let (status, _) = arm(json!({"fault": "expired_token"})).await;
    assert_eq!(status, 201);
    assert_eq!(get(&list, Some(&token)).await.0, 401);
    let fresh = sailpoint_token(&env).await;
    assert_eq!(get(&list, Some(&fresh)).await.0, 200);

    // Faults of one provider leave the others alone; bad fault requests are refused.
    let dfns = &env["DFNS_BASE_URL"];
    arm(json!({"fault": "status", "status": 500})).await;
    let (status, _) = get(&format!("{dfns}/auth/pats"), Some(&env["DFNS_AUTH_TOKEN"])).await;
    assert_eq!(status, 200);
    let (status, body) = admin_post(
        &sim,
        &format!("{dfns}/_pats_sim/faults"),
        json!({"fault": "explode"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("explode"));
    let (status, _) = admin_post(
        &sim,
        &format!("{dfns}/_pats_sim/faults"),
        json!({"fault": "status", "status": 42}),
    )
    .await;
    assert_eq!(status, 400);
    let response = client
        .delete(format!("{sail}/_pats_sim/faults"))
        .bearer_auth(sim.admin_token().unwrap())
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(get(&list, Some(&fresh)).await.0, 200);
}

#[tokio::test]
async fn unknown_requests_get_each_providers_error_shape() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let (status, body) = get(&format!("{}/v3/no-such-thing", env["SAIL_BASE_URL"]), None).await;
    assert_eq!(status, 404);
    assert!(
        body["trackingId"].is_string() && body["messages"].is_array(),
        "{body}"
    );
    let (status, body) = get(
        &format!("{}/auth/nothing", env["DFNS_BASE_URL"]),
        Some(&env["DFNS_AUTH_TOKEN"]),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["status"], 404, "{body}");
    let response = reqwest::Client::new()
        .post(format!(
            "{}/zitadel.user.v2.UserService/NoSuchMethod",
            env["ZITADEL_URL"]
        ))
        .bearer_auth(&env["ZITADEL_PAT"])
        .header(pats_sim::OFF_CONTRACT_HEADER, "1")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "unimplemented", "{body}");
    // A body over the limit is refused without being read whole.
    let big = vec![b'x'; pats_sim::server::MAX_REQUEST_BODY + 1];
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v3/personal-access-tokens",
            env["SAIL_BASE_URL"]
        ))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn env_reads_the_exports_of_a_running_emulator() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let port: u16 = sim
        .zitadel()
        .uri()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let exports = tokio::task::spawn_blocking(move || {
        pats_sim::emulator::fetch_exports(port, Some("zitadel"))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(exports, sim.exports(Some("zitadel")));
    // Nothing listening: a clear error that says how to start one.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = pats_sim::emulator::fetch_exports(free, None).unwrap_err();
    assert!(matches!(err, SimError::NotRunning { .. }));
    assert!(err.to_string().contains("pats sim serve"), "{err}");
}

#[test]
fn the_command_line_is_checked() {
    use pats_sim::cli::{Command, parse};
    let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        parse(&args(
            "serve --port 5000 --state s.json --seed demo --provider dfns"
        )),
        Ok(Command::Serve {
            port: 5000,
            state: Some("s.json".into()),
            demo: true,
            provider: Some("dfns".to_owned()),
            json: false,
            admin_token: true,
        })
    );
    assert!(matches!(
        parse(&args("serve --port 0 --json --no-admin-token")),
        Ok(Command::Serve {
            port: 0,
            json: true,
            admin_token: false,
            ..
        })
    ));
    assert!(matches!(
        parse(&args("env --port 65535")),
        Ok(Command::Env { port: 65535, .. })
    ));
    assert!(matches!(
        parse(&args("serve --port 65532")),
        Ok(Command::Serve { port: 65532, .. })
    ));
    assert_eq!(
        parse(&args("env")),
        Ok(Command::Env {
            port: 4600,
            provider: None
        })
    );
    for (bad, says) in [
        ("env --port 0", "not a port"),
        ("env --json", "unexpected argument"),
        ("env --no-admin-token", "unexpected argument"),
        ("serve --port x", "not a port"),
        ("serve --port 65533", "not a port"),
        ("env --seed demo", "unexpected argument"),
        ("serve --port", "needs a value"),
        ("serve --seed big", "only seed"),
        ("env --state x", "unexpected argument"),
        ("serve --provider aws", "must be dfns"),
        ("launch", "unknown command"),
    ] {
        let err = parse(&args(bad)).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[tokio::test]
async fn garbage_on_the_wire_is_refused_and_the_server_keeps_answering() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let sim = pats_sim::start(Options::default()).unwrap();
    for base in [sim.dfns().uri(), sim.zitadel().uri(), sim.sailpoint().uri()] {
        let address = base.trim_start_matches("http://").to_owned();
        // The Host the server answers (any other is refused before the body is read).
        let cut_body = format!(
            "POST /v3/personal-access-tokens HTTP/1.1\r\nHost: {address}\r\nContent-Length: 10\r\n\r\n{{\"na"
        );
        for garbage in [
            &b"\x00\x01\x02 not http at all\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
            cut_body.as_bytes(),
            b"GET /\xff\xfe HTTP/1.1\r\n\r\n",
        ] {
            let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
            stream.write_all(garbage).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut answer = Vec::new();
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                stream.read_to_end(&mut answer),
            )
            .await;
            assert!(read.is_ok(), "{base}: no answer and no close within 5 s");
            let text = String::from_utf8_lossy(&answer);
            assert!(
                text.is_empty() || text.starts_with("HTTP/1.1 4"),
                "{base}: {text}"
            );
        }
        // Still serving.
        let (status, _) = get(&format!("{base}/_pats_sim/health"), None).await;
        assert_eq!(status, 200, "{base}");
    }
}

/// A base port whose next three ports are free too.
fn free_ports() -> u16 {
    for _ in 0..50 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base < 65_000
            && (0..4).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return base;
        }
    }
    panic!("no four consecutive free ports")
}

#[tokio::test]
async fn a_given_port_puts_the_providers_on_it_and_the_next_three() {
    let port = free_ports();
    let sim = pats_sim::start(Options::default().port(port).threads(2)).unwrap();
    assert_eq!(sim.dfns().uri(), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        sim.zitadel().uri(),
        format!("http://127.0.0.1:{}", port + 1)
    );
    assert_eq!(
        sim.sailpoint().uri(),
        format!("http://127.0.0.1:{}", port + 2)
    );
    assert_eq!(sim.gitlab().uri(), format!("http://127.0.0.1:{}", port + 3));
    assert_eq!(sim.ports(), [port, port + 1, port + 2, port + 3]);
    let shown = format!("{sim:?}");
    assert!(shown.contains(&sim.zitadel().uri()), "{shown}");
    assert!(!shown.contains(&env(&sim)["ZITADEL_PAT"]), "{shown}");
    assert!(shown.contains(&sim.gitlab().uri()), "{shown}");
    assert!(!shown.contains(&env(&sim)["GITLAB_TOKEN"]), "{shown}");
    // Taken ports are an error that names the provider.
    let err = pats_sim::start(Options::default().port(port)).unwrap_err();
    assert!(err.to_string().contains("cannot serve dfns"), "{err}");
}

#[tokio::test]
async fn the_demo_seed_fills_every_provider() {
    let sim = pats_sim::start(Options::default().seed(pats_sim::Seed::Demo)).unwrap();
    let env = env(&sim);
    assert_eq!(sailpoint_names(&env).await, ["backup", "deploy", "metrics"]);
    let dfns: Vec<String> = sim
        .dfns()
        .pats()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(dfns, ["deploy", "backup", "metrics"]);
    for name in ["deploy", "backup", "metrics"] {
        let user = sim
            .zitadel()
            .user_id_of("100000000000000001", name)
            .unwrap();
        assert_eq!(sim.zitadel().pats_of(&user).len(), 1, "{name}");
    }
    // GitLab: tokens of the administrator whose token GITLAB_TOKEN is (its own first).
    let root = sim.gitlab().token_user(&env["GITLAB_TOKEN"]).unwrap();
    let gitlab: Vec<(u64, String)> = (1..=4)
        .map(|id| {
            let t = sim.gitlab().stored_token(id).unwrap();
            (t.user_id, t.name)
        })
        .collect();
    assert_eq!(
        gitlab,
        [
            (root, "pats-sim".to_owned()),
            (root, "deploy".to_owned()),
            (root, "backup".to_owned()),
            (root, "metrics".to_owned())
        ]
    );
    assert_eq!(sim.gitlab().token_count(), 4);
    // Without the seed, nothing.
    let empty = pats_sim::start(Options::default()).unwrap();
    assert!(empty.sailpoint().stored_tokens().is_empty());
    assert!(empty.dfns().pats().is_empty());
    assert_eq!(empty.gitlab().token_count(), 1, "GITLAB_TOKEN's only");
}

#[tokio::test]
async fn the_state_is_readable_and_saved_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    // A change made through the Rust API (no request) reaches the file with `save`.
    sim.sailpoint().seed_pat("from-rust").unwrap();
    let state = sim.state();
    assert_eq!(state["format"], "pats-sim-state");
    assert_eq!(state["sailpoint"]["pats"][0]["json"]["name"], "from-rust");
    let before: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(before["sailpoint"]["pats"].as_array().unwrap().is_empty());
    sim.save().unwrap();
    let mut after: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    // The state file names the journal that follows it.
    assert!(after["journal"].is_u64(), "{}", after["journal"]);
    after.as_object_mut().unwrap().remove("journal");
    assert_eq!(after, sim.state());
    // The admin API serves the same state, and empties the request log on DELETE.
    let sail = sim.sailpoint().uri();
    let (status, served) = admin_get(&sim, &format!("{sail}/_pats_sim/state")).await;
    assert_eq!(status, 200);
    assert_eq!(served, sim.state());
    let (_, log) = admin_get(&sim, &format!("{sail}/_pats_sim/requests")).await;
    assert!(!log.as_array().unwrap().is_empty());
    let response = reqwest::Client::new()
        .delete(format!("{sail}/_pats_sim/requests"))
        .bearer_auth(sim.admin_token().unwrap())
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    // Only the GET that reads the log is in it now.
    let (_, log) = admin_get(&sim, &format!("{sail}/_pats_sim/requests")).await;
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
}

#[tokio::test]
async fn run_env_prints_what_a_running_emulator_says_and_fails_without_one() {
    use pats_sim::cli::{Command, run};
    let sim = pats_sim::start(Options::default()).unwrap();
    let port: u16 = sim
        .dfns()
        .uri()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut out = Vec::new();
    let command =
        pats_sim::cli::parse(&["env".to_owned(), "--port".to_owned(), port.to_string()]).unwrap();
    assert!(matches!(command, Command::Env { .. }));
    let printed = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run(command, &mut out)).map(|()| out)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(String::from_utf8(printed).unwrap(), sim.exports(None));
    let nobody = pats_sim::cli::parse(&[
        "env".to_owned(),
        "--port".to_owned(),
        free_ports().to_string(),
    ])
    .unwrap();
    let err = run(nobody, &mut Vec::new()).await.unwrap_err();
    assert!(matches!(err, SimError::NotRunning { .. }), "{err}");
}

#[test]
fn the_binary_logs_undescribed_requests_and_stops_on_sigint() {
    use std::io::{BufRead as _, BufReader, Read as _};
    let port = free_ports();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pats-sim"))
        .args(["serve", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut exports = String::new();
    while !exports.contains("SAIL_CLIENT_SECRET") {
        assert!(stdout.read_line(&mut exports).unwrap() > 0, "serve exited");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sail = format!("http://127.0.0.1:{}", port + 2);
        assert_eq!(get(&format!("{sail}/v3/nope"), None).await.0, 404);
        assert_eq!(get(&format!("{sail}/_pats_sim/health"), None).await.0, 200);
        let token = reqwest::Client::new()
            .post(format!(
                "{sail}/oauth/token?grant_type=client_credentials&client_id=x&client_secret=y"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(token.status().as_u16(), 401);
    });
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("pats-sim: sailpoint: GET /v3/nope answered 404"),
        "{stderr}"
    );
    // Only the undescribed request is logged, not the others.
    assert_eq!(stderr.matches("answered").count(), 1, "{stderr}");
    assert!(stderr.contains("pats-sim: stopped"), "{stderr}");
}

#[tokio::test]
async fn seeding_refuses_bad_names_and_too_many_and_persists_what_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let (dfns, sail) = (sim.dfns().uri(), sim.sailpoint().uri());
    let long = "x".repeat(201);
    for (base, body, says) in [
        (&sail, json!({"tokens": [""]}), "non-empty"),
        (&sail, json!({"tokens": [long]}), "non-empty"),
        (&sail, json!({"tokens": [7]}), "non-empty"),
        (&sail, json!({"users": ["ci"]}), "only be seeded on zitadel"),
        (&dfns, json!({"users": ["ci"]}), "only be seeded on zitadel"),
    ] {
        let (status, answer) =
            admin_post(&sim, &format!("{base}/_pats_sim/seed"), body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains(says), "{answer}");
    }
    // At most 10,000 names per call, tokens and users together.
    let users: Vec<String> = (0..10_000).map(|i| format!("u{i}")).collect();
    let zitadel = sim.zitadel().uri();
    let (status, answer) = admin_post(
        &sim,
        &format!("{zitadel}/_pats_sim/seed"),
        json!({"tokens": ["one"], "users": users}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(!sim.zitadel().has_username("100000000000000001", "one"));
    // A 200-character name is fine, and the seeded token is in the state file at once.
    let (status, _) = admin_post(
        &sim,
        &format!("{sail}/_pats_sim/seed"),
        json!({"tokens": ["y".repeat(200)]}),
    )
    .await;
    assert_eq!(status, 201);
    let on_disk = crate::journal::on_disk(&file);
    assert_eq!(on_disk["sailpoint"]["pats"].as_array().unwrap().len(), 1);
    // Seeding a ZITADEL user twice keeps one user of that name.
    for _ in 0..2 {
        let (status, _) = admin_post(
            &sim,
            &format!("{zitadel}/_pats_sim/seed"),
            json!({"users": ["twice"]}),
        )
        .await;
        assert_eq!(status, 201);
    }
    let state = sim.state();
    let twice = state["zitadel"]["users"]
        .as_object()
        .unwrap()
        .values()
        .filter(|u| u["username"] == "twice")
        .count();
    assert_eq!(twice, 1);
}

#[tokio::test]
async fn reset_disarms_faults() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let sail = &env["SAIL_BASE_URL"];
    for base in [&env["DFNS_BASE_URL"], sail] {
        let (status, _) = admin_post(
            &sim,
            &format!("{base}/_pats_sim/faults"),
            json!({"fault": "status", "status": 500, "path_contains": "/v3/"}),
        )
        .await;
        assert_eq!(status, 201);
    }
    let token = sailpoint_token(&env).await;
    let list = format!("{sail}/v3/personal-access-tokens");
    assert_eq!(get(&list, Some(&token)).await.0, 500);
    let (status, _) = admin_post(
        &sim,
        &format!("{}/_pats_sim/reset", env["DFNS_BASE_URL"]),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    // Reset from another provider's port disarms SailPoint's faults too.
    let token = sailpoint_token(&env).await;
    assert_eq!(get(&list, Some(&token)).await.0, 200);
}

#[tokio::test]
async fn a_state_path_that_cannot_be_read_is_an_io_error_not_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let err = pats_sim::start(Options::default().state_file(dir.path())).unwrap_err();
    assert!(matches!(err, SimError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[tokio::test]
async fn an_oversized_fault_sends_that_many_bytes() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let sail = &env["SAIL_BASE_URL"];
    let token = sailpoint_token(&env).await;
    admin_post(
        &sim,
        &format!("{sail}/_pats_sim/faults"),
        json!({"fault": "oversized", "bytes": 5000, "times": 1}),
    )
    .await;
    let body = reqwest::Client::new()
        .get(format!("{sail}/v3/personal-access-tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 5000 + r#"{"padding":""}"#.len());
}

#[tokio::test]
async fn a_fault_with_a_method_hits_only_that_method() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let sail = &env["SAIL_BASE_URL"];
    let token = sailpoint_token(&env).await;
    admin_post(
        &sim,
        &format!("{sail}/_pats_sim/faults"),
        json!({"fault": "status", "status": 503, "method": "post", "path_contains": "/v3/"}),
    )
    .await;
    let list = format!("{sail}/v3/personal-access-tokens");
    assert_eq!(get(&list, Some(&token)).await.0, 200, "GET is not POST");
    let created = reqwest::Client::new()
        .post(&list)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name":"x","scope":["sp:scopes:all"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 503);
}

#[tokio::test]
async fn a_body_under_the_limit_is_read() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    // 1 MiB of JSON: read whole and judged by the provider (a 400 in its shape), not 413.
    let name = "n".repeat(1024 * 1024);
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", env["SAIL_BASE_URL"]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={name}&client_secret=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn a_dropped_simulator_stops_listening() {
    let sim = pats_sim::sailpoint::SailPointSim::start().await;
    let address = sim.uri().trim_start_matches("http://").to_owned();
    drop(sim);
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        refused,
        "{address} still accepts connections after the drop"
    );
}

#[tokio::test]
async fn a_truncated_answer_sends_exactly_half_its_announced_length() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let sail = env["SAIL_BASE_URL"].clone();
    let token = sailpoint_token(&env).await;
    admin_post(
        &sim,
        &format!("{sail}/_pats_sim/seed"),
        json!({"tokens": ["a", "b", "c"]}),
    )
    .await;
    admin_post(
        &sim,
        &format!("{sail}/_pats_sim/faults"),
        json!({"fault": "truncated", "times": 1, "path_contains": "/v3/"}),
    )
    .await;
    let mut stream = tokio::net::TcpStream::connect(sail.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "GET /v3/personal-access-tokens HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
                sail.trim_start_matches("http://")
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(length > 100, "{head}");
    assert_eq!(body.len(), length / 2, "{head}");
}

#[tokio::test]
async fn bulk_seeding_adds_numbered_tokens_that_list_like_created_ones() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    sim.sailpoint().seed_bulk(3);
    sim.sailpoint().seed_bulk(2);
    assert_eq!(
        sailpoint_names(&env).await,
        ["bulk-0", "bulk-1", "bulk-2", "bulk-3", "bulk-4"]
    );
    let stored = sim.sailpoint().stored_tokens();
    assert!(
        stored.iter().all(|t| t["expirationDate"].is_string()),
        "{stored:?}"
    );
}

#[tokio::test]
async fn the_key_file_goes_with_the_emulator() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let key_file = env(&sim)["ZITADEL_KEY_FILE"].clone();
    assert!(std::path::Path::new(&key_file).is_file());
    drop(sim);
    assert!(
        !std::path::Path::new(&key_file).exists(),
        "{key_file} left behind"
    );
}
