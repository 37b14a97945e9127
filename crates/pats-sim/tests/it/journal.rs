//! The state file and its journal: every answered change is on disk before its answer, a
//! restart from what is on disk sees what the running emulator holds, a crash's torn last
//! line is dropped, and a stopped emulator leaves one state file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_sim::Options;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

/// The files an emulator keeps its state in (`state.json` and its journals), copied while
/// it runs, as a crash would leave them.
fn copy_state_files(file: &Path, to: &Path) {
    let dir = file.parent().unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let other = entry.file_name().to_string_lossy().into_owned();
        if other == name || other.starts_with(&format!("{name}.journal.")) {
            std::fs::copy(entry.path(), to.join(&other)).unwrap();
        }
    }
}

/// What an emulator started from a copy of `file` and its journals holds: what a restart
/// after a crash would see.
pub(crate) fn on_disk(file: &Path) -> Value {
    let copy = tempfile::tempdir().unwrap();
    copy_state_files(file, copy.path());
    let restarted =
        pats_sim::start(Options::default().state_file(copy.path().join(file.file_name().unwrap())))
            .unwrap();
    restarted.state()
}

fn env(sim: &pats_sim::Emulator) -> HashMap<String, String> {
    sim.env(None).into_iter().collect()
}

async fn send(
    method: &str,
    url: &str,
    bearer: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: String,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .bearer_auth(bearer)
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn admin(sim: &pats_sim::Emulator, base: &str, path: &str, body: Value) -> u16 {
    admin_answer(sim, base, path, body).await.0
}

/// An admin `POST`: its status and answer.
async fn admin_answer(
    sim: &pats_sim::Emulator,
    base: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let token = sim.admin_token().unwrap().to_owned();
    let url = format!("{base}/_pats_sim/{path}");
    send(
        "POST",
        &url,
        &token,
        &[],
        "application/json",
        body.to_string(),
    )
    .await
}

async fn sailpoint_login(env: &HashMap<String, String>) -> String {
    let (status, body) = send(
        "POST",
        &format!("{}/oauth/token", env["SAIL_BASE_URL"]),
        "",
        &[],
        "application/x-www-form-urlencoded",
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            env["SAIL_CLIENT_ID"], env["SAIL_CLIENT_SECRET"]
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The ids of `state`'s SailPoint tokens.
fn sailpoint_ids(state: &Value) -> Vec<String> {
    state["sailpoint"]["pats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["json"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `(user, token id)` of `state`'s ZITADEL tokens but the admin's.
fn zitadel_tokens(state: &Value) -> Vec<(String, String)> {
    state["zitadel"]["pats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_id"].as_str().unwrap().to_owned(),
                p["id"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(user, _)| user != "100000000000000002")
        .collect()
}

/// `(id, revoked)` of `state`'s GitLab tokens.
fn gitlab_tokens(state: &Value) -> Vec<(u64, bool)> {
    state["gitlab"]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_u64().unwrap(), t["revoked"].as_bool().unwrap()))
        .collect()
}

/// A GitLab API call with the token of `GITLAB_TOKEN`.
async fn gitlab(env: &HashMap<String, String>, method: &str, path: &str, body: Value) -> u16 {
    let token = env["GITLAB_TOKEN"].clone();
    let url = format!("{}/api/v4/{path}", env["GITLAB_BASE_URL"]);
    let (status, answer) = send(
        method,
        &url,
        "",
        &[("private-token", &token)],
        "application/json",
        if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    )
    .await;
    assert!(status < 300, "{method} {path}: {status} {answer}");
    status
}

/// Random changes on every provider, through their APIs and the admin API, with saves and
/// resets between them: after each answer, a restart from a copy of the files on disk
/// holds exactly what the running emulator holds. A mutation site a journal missed, a line
/// written after its answer, or a replay that differs from the live change fails here.
#[tokio::test]
async fn a_restart_from_disk_sees_every_answered_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let env = env(&sim);
    let seed = std::env::var("PATS_SIM_JOURNAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("PATS_SIM_JOURNAL_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let sail = env["SAIL_BASE_URL"].clone();
    let zitadel = env["ZITADEL_URL"].clone();
    let dfns = env["DFNS_BASE_URL"].clone();
    let org = env["ZITADEL_ORG_ID"].clone();
    let zitadel_pat = env["ZITADEL_PAT"].clone();
    let gitlab_base = env["GITLAB_BASE_URL"].clone();
    let credential = sim.gitlab().token_id(&env["GITLAB_TOKEN"]).unwrap();
    let root = sim.gitlab().token_user(&env["GITLAB_TOKEN"]).unwrap();
    let mut bearer = sailpoint_login(&env).await;
    for step in 0..60 {
        let state = sim.state();
        // GitLab's tokens but the one the calls authenticate with.
        let others: Vec<(u64, bool)> = gitlab_tokens(&state)
            .into_iter()
            .filter(|(id, _)| *id != credential)
            .collect();
        let what = rng.u8(0..17);
        match what {
            0 => {
                let name = format!("d{step}");
                assert_eq!(
                    admin(&sim, &dfns, "seed", json!({"tokens": [name]})).await,
                    201
                );
            }
            1 => assert_eq!(admin(&sim, &dfns, "users", json!({})).await, 201),
            2 => {
                let user = format!("u{step}");
                let status = admin(
                    &sim,
                    &zitadel,
                    "seed",
                    json!({"users": [user], "tokens": [format!("z{step}")]}),
                )
                .await;
                assert_eq!(status, 201);
            }
            3 => {
                let tokens = zitadel_tokens(&state);
                if let Some((user, id)) = tokens.get(rng.usize(..tokens.len().max(1))) {
                    let (status, body) = send(
                        "DELETE",
                        &format!("{zitadel}/management/v1/users/{user}/pats/{id}"),
                        &zitadel_pat,
                        &[("x-zitadel-orgid", &org)],
                        "application/json",
                        String::new(),
                    )
                    .await;
                    assert_eq!(status, 200, "{body}");
                }
            }
            4 => assert_eq!(admin(&sim, &zitadel, "orgs", json!({})).await, 201),
            5 => {
                let (status, body) = send(
                    "POST",
                    &format!("{sail}/v2025/personal-access-tokens"),
                    &bearer,
                    &[],
                    "application/json",
                    json!({"name": format!("s{step}"), "scope": ["sp:scopes:all"], "expirationDate": null, "userAwareTokenNeverExpires": true}).to_string(),
                )
                .await;
                assert_eq!(status, 200, "{body}");
            }
            6 | 7 => {
                let ids = sailpoint_ids(&state);
                if let Some(id) = ids.get(rng.usize(..ids.len().max(1))) {
                    let (method, body, content_type) = if what == 6 {
                        ("DELETE", String::new(), "application/json")
                    } else {
                        (
                            "PATCH",
                            json!([{"op": "replace", "path": "/name", "value": format!("p{step}")}])
                                .to_string(),
                            "application/json-patch+json",
                        )
                    };
                    let url = format!("{sail}/v2025/personal-access-tokens/{id}");
                    let (status, answer) =
                        send(method, &url, &bearer, &[], content_type, body).await;
                    assert!(matches!(status, 200 | 204), "{method} {status} {answer}");
                }
            }
            8 => bearer = sailpoint_login(&env).await,
            11 => {
                let body = json!({"tokens": [format!("g{step}")], "users": [format!("gu{step}")]});
                assert_eq!(admin(&sim, &gitlab_base, "seed", body).await, 201);
            }
            12 => {
                let body = json!({"name": format!("api{step}"), "scopes": ["read_api"]});
                let path = format!("users/{root}/personal_access_tokens");
                assert_eq!(gitlab(&env, "POST", &path, body).await, 201);
            }
            13 | 14 => {
                let active: Vec<u64> = others.iter().filter(|t| !t.1).map(|t| t.0).collect();
                if let Some(id) = active.get(rng.usize(..active.len().max(1))) {
                    if what == 13 {
                        let path = format!("personal_access_tokens/{id}/rotate");
                        gitlab(&env, "POST", &path, Value::Null).await;
                    } else {
                        let path = format!("personal_access_tokens/{id}");
                        gitlab(&env, "DELETE", &path, Value::Null).await;
                    }
                }
            }
            15 => {
                // A read sets the token's last_used_at: on disk before the answer too.
                gitlab(
                    &env,
                    "GET",
                    "personal_access_tokens?per_page=5",
                    Value::Null,
                )
                .await;
            }
            16 => {
                // A project or a group, and an access token of it.
                let (kind, path) = if step % 2 == 0 {
                    ("projects", format!("group/p{step}"))
                } else {
                    ("groups", format!("g{step}"))
                };
                let (status, made) =
                    admin_answer(&sim, &gitlab_base, kind, json!({ "path": path })).await;
                assert_eq!(status, 201, "{made}");
                let id = made["projectId"]
                    .as_u64()
                    .or(made["groupId"].as_u64())
                    .unwrap();
                let expires =
                    (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
                let body = json!({"name": format!("bot{step}"), "scopes": ["api"], "access_level": 30, "expires_at": expires});
                let path = format!("{kind}/{id}/access_tokens");
                assert_eq!(gitlab(&env, "POST", &path, body).await, 201);
            }
            9 => {
                let token = sim.admin_token().unwrap().to_owned();
                let url = format!("{sail}/_pats_sim/reset");
                let (status, _) =
                    send("POST", &url, &token, &[], "application/json", "{}".into()).await;
                assert_eq!(status, 200);
                bearer = sailpoint_login(&env).await;
            }
            _ => {
                // A change through the Rust API reaches the disk with the next write, or
                // with `save`.
                sim.sailpoint()
                    .add_identity(&format!("id-{step}"), "someone");
                sim.save().unwrap();
            }
        }
        assert_eq!(
            on_disk(&file),
            sim.state(),
            "after step {step} ({what}); PATS_SIM_JOURNAL_SEED={seed}"
        );
    }
}

/// A journal line cut short (a crash mid-write) is dropped; a line that is not a journal
/// entry anywhere else is an error naming the file and the line, and nothing is replaced.
#[tokio::test]
async fn a_torn_last_line_is_dropped_and_a_corrupt_line_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let sail = sim.sailpoint().uri();
    assert_eq!(
        admin(&sim, &sail, "seed", json!({"tokens": ["kept"]})).await,
        201
    );
    let live = sim.state();

    let crashed = tempfile::tempdir().unwrap();
    copy_state_files(&file, crashed.path());
    let journal = crashed.path().join("state.json.journal.1");
    let mut bytes = std::fs::read(&journal).unwrap();
    assert!(bytes.ends_with(b"\n"), "one whole line per change");
    bytes.extend_from_slice(br#"{"sailpoint": {"rows": {"pats""#);
    std::fs::write(&journal, &bytes).unwrap();
    let restarted =
        pats_sim::start(Options::default().state_file(crashed.path().join("state.json"))).unwrap();
    assert_eq!(restarted.state(), live);
    drop(restarted);

    // A whole entry without its newline was cut too (a line is written with its newline
    // in one write): dropped, not replayed.
    let unfinished = tempfile::tempdir().unwrap();
    copy_state_files(&file, unfinished.path());
    let journal = unfinished.path().join("state.json.journal.1");
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(br#"{"sailpoint": {"scalars": {"next_seq": 99}}}"#);
    std::fs::write(&journal, &bytes).unwrap();
    let restarted =
        pats_sim::start(Options::default().state_file(unfinished.path().join("state.json")))
            .unwrap();
    assert_eq!(restarted.state(), live);
    drop(restarted);

    let corrupt = tempfile::tempdir().unwrap();
    copy_state_files(&file, corrupt.path());
    let journal = corrupt.path().join("state.json.journal.1");
    let mut bytes = b"not json\n".to_vec();
    bytes.extend_from_slice(&std::fs::read(&journal).unwrap());
    std::fs::write(&journal, &bytes).unwrap();
    let state_before = std::fs::read(corrupt.path().join("state.json")).unwrap();
    let err = pats_sim::start(Options::default().state_file(corrupt.path().join("state.json")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("state.json.journal.1 line 1"), "{err}");
    assert_eq!(
        std::fs::read(corrupt.path().join("state.json")).unwrap(),
        state_before
    );
}

/// A write costs what it changed: a journal line holds the changed rows only, and a
/// journal that outgrows the state is folded into a new state file by the writer.
#[tokio::test]
async fn a_line_holds_what_changed_and_a_grown_journal_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let sail = sim.sailpoint().uri();
    let journal = |g: u32| dir.path().join(format!("state.json.journal.{g}"));
    assert_eq!(
        admin(&sim, &sail, "seed", json!({"tokens": ["one"]})).await,
        201
    );
    let text = std::fs::read_to_string(journal(1)).unwrap();
    // A journal under 1 MiB is not compacted, even when it outgrows the state file.
    for i in 0..30 {
        let body = json!({"tokens": [format!("small-{i}")]});
        assert_eq!(admin(&sim, &sail, "seed", body).await, 201);
    }
    let journal_bytes = std::fs::metadata(journal(1)).unwrap().len();
    assert!(
        journal_bytes > std::fs::metadata(&file).unwrap().len(),
        "{journal_bytes}"
    );
    assert!(!journal(2).exists());
    let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        line["sailpoint"]["rows"]["pats"].as_object().unwrap().len(),
        1
    );
    assert!(
        line.get("dfns").is_none() && line.get("zitadel").is_none(),
        "{line}"
    );

    // 4,000 tokens made in-process are one line of the next write: over 1 MiB, more than
    // the state file, so the writer compacts.
    sim.sailpoint().seed_bulk(4000);
    assert_eq!(
        admin(&sim, &sail, "seed", json!({"tokens": ["two"]})).await,
        201
    );
    for _ in 0..200 {
        if !journal(1).exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        !journal(1).exists(),
        "the old journal is removed after compaction"
    );
    assert!(journal(2).exists());
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written["journal"], 2);
    assert_eq!(written["sailpoint"]["pats"].as_array().unwrap().len(), 4032);
    assert_eq!(on_disk(&file), sim.state());
}

/// Stopping writes the whole state and removes the journal and the lock.
#[tokio::test]
async fn a_stopped_emulator_leaves_one_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let sail = sim.sailpoint().uri();
    assert_eq!(
        admin(&sim, &sail, "seed", json!({"tokens": ["kept"]})).await,
        201
    );
    // Made in-process, never journaled: the last write has it.
    sim.sailpoint().add_identity("late", "Late Identity");
    let live = sim.state();
    drop(sim);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["state.json"]);
    let mut written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    written.as_object_mut().unwrap().remove("journal");
    assert_eq!(written, live);
}

/// A state file written before PAT secrets named their token still works: its secrets are
/// found through an index of them, which forgets a removed token's secret.
#[tokio::test]
async fn older_zitadel_secrets_still_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let first = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let user = first
        .zitadel()
        .add_named_machine_users("100000000000000001", &["bot"])
        .remove(0);
    let (bot_token, _) = first.zitadel().issue_pat(&user).unwrap();
    drop(first);
    let mut state: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let old_admin = "sim_pat_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN".to_owned();
    let old_bot = "sim_pat_0123456789abcdefghijklmnopqrstuvwxyzAB".to_owned();
    let admin_pat = state["credentials"]["zitadel_pat"].clone();
    let secrets = state["zitadel"]["pat_secrets"].as_object_mut().unwrap();
    let admin_id = secrets
        .iter()
        .find(|(_, s)| **s == admin_pat)
        .map(|(id, _)| id.clone())
        .unwrap();
    secrets.insert(admin_id, json!(old_admin));
    secrets.insert(bot_token.clone(), json!(old_bot));
    state["credentials"]["zitadel_pat"] = json!(old_admin);
    std::fs::write(&file, serde_json::to_vec(&state).unwrap()).unwrap();

    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let env = env(&sim);
    let zitadel = env["ZITADEL_URL"].clone();
    let list = |bearer: String| {
        let url = format!("{zitadel}/zitadel.user.v2.UserService/ListPersonalAccessTokens");
        async move {
            send("POST", &url, &bearer, &[], "application/json", "{}".into())
                .await
                .0
        }
    };
    assert_eq!(list(old_admin.clone()).await, 200);
    assert_eq!(list(old_bot.clone()).await, 200);
    let url = format!("{zitadel}/management/v1/users/{user}/pats/{bot_token}");
    let (status, _) = send(
        "DELETE",
        &url,
        &old_admin,
        &[("x-zitadel-orgid", "100000000000000001")],
        "application/json",
        String::new(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        list(old_bot).await,
        401,
        "a removed token's secret is forgotten"
    );
    assert_eq!(list(old_admin).await, 200);
}

/// A state file written before Dfns bearer tokens were kept as digests (keyed by the token
/// itself, a PAT's bearer naming its user and token, each PAT holding its access token)
/// still loads: the user's and the PAT's tokens still authenticate, and what is written
/// next holds neither token.
#[tokio::test]
async fn older_dfns_state_files_load_and_keep_no_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let first = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let user = env(&first)["DFNS_USER_ID"].clone();
    let created = first.dfns().seed_pat(&user, "old").unwrap();
    let pat_token = created["accessToken"].as_str().unwrap().to_owned();
    let token_id = created["tokenId"].as_str().unwrap().to_owned();
    drop(first);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        !written.contains(&pat_token),
        "the state file holds the PAT's access token"
    );

    // The same state as the previous format wrote it.
    let mut state: Value = serde_json::from_str(&written).unwrap();
    let user_token = state["credentials"]["dfns_auth_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let dfns = &mut state["dfns"];
    let bearers = dfns["bearers"].as_object().unwrap().clone();
    assert_eq!(bearers.len(), 2, "{bearers:?}");
    assert!(
        bearers.keys().all(|k| k.len() == 32),
        "bearers are keyed by digest: {bearers:?}"
    );
    assert!(bearers.values().any(|b| b == &json!({ "Pat": token_id })));
    dfns["bearers"] = json!({
        user_token.clone(): { "User": user },
        pat_token.clone(): { "Pat": { "user_id": user, "token_id": token_id } },
    });
    let pat = dfns["pats"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["token_id"] == json!(token_id))
        .unwrap();
    pat["access_token"] = json!(pat_token);
    pat.as_object_mut().unwrap().remove("seq");
    #[cfg(feature = "contract")]
    {
        let schema: Value =
            serde_json::from_str(include_str!("../../schema/state.v1.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&state), "the older form is version 1");
    }
    std::fs::write(&file, serde_json::to_vec(&state).unwrap()).unwrap();

    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let base = env(&sim)["DFNS_BASE_URL"].clone();
    let url = format!("{base}/auth/pats");
    for bearer in [&user_token, &pat_token] {
        let (status, list) =
            send("GET", &url, bearer, &[], "application/json", String::new()).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["items"][0]["tokenId"], json!(token_id));
        assert_eq!(list["items"][0]["name"], json!("old"));
    }
    assert!(sim.dfns().accepts_bearer(&pat_token));
    assert!(!sim.dfns().accepts_bearer("eyJ.not.issued"));
    drop(sim);
    let rewritten = std::fs::read_to_string(&file).unwrap();
    assert!(!rewritten.contains(&pat_token));
    let state: Value = serde_json::from_str(&rewritten).unwrap();
    let pats = state["dfns"]["pats"].as_array().unwrap();
    assert!(pats.iter().all(|p| p.get("access_token").is_none()));
    assert!(
        state["dfns"]["bearers"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k.len() == 32 && k.chars().all(|c| c.is_ascii_hexdigit()))
    );
}

/// A Dfns token comes back from a state file exactly as it was answered: dates to the
/// millisecond, its public key as sent (a P-256 key kept as its coordinates, any other key
/// as its text), its optional fields.
#[tokio::test]
async fn dfns_tokens_come_back_from_the_state_file_as_answered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let first = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let user = env(&first)["DFNS_USER_ID"].clone();
    let _ = first.dfns().seed_pat(&user, "p256").unwrap();
    let before = first.dfns().pats();
    let live = first.state();
    drop(first);
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    assert_eq!(sim.dfns().pats(), before);
    assert_eq!(sim.state()["dfns"], live["dfns"]);
}
