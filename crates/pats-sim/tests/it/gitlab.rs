//! GitLab as the emulator's fourth port: the exports a client needs, GitLab's own API with
//! its auth, pages, errors and throttle, the admin API (users, tokens, projects, members),
//! faults, the request log, and state documents with and without a GitLab section.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_sim::Options;
use serde_json::{Value, json};
use std::collections::HashMap;

fn env(sim: &pats_sim::Emulator) -> HashMap<String, String> {
    sim.env(None).into_iter().collect()
}

/// A request: `(status, headers, JSON body or null)`.
async fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A GitLab API call (`path` under `/api/v4/`) with `PRIVATE-TOKEN: token`.
async fn api(
    env: &HashMap<String, String>,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let url = format!("{}/api/v4/{path}", env["GITLAB_BASE_URL"]);
    call(method, &url, &[("private-token", token)], body).await
}

/// An admin API call on the GitLab port.
async fn admin(sim: &pats_sim::Emulator, method: &str, path: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/_pats_sim/{path}", sim.gitlab().uri());
    let bearer = format!("Bearer {}", sim.admin_token().unwrap());
    let (status, _, answer) = call(
        method,
        &url,
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        (method != "GET").then_some(body),
    )
    .await;
    (status, answer)
}

/// The day `days` from today, as GitLab writes days.
fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_exports_reach_gitlab_as_its_administrator() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    assert_eq!(env["GITLAB_BASE_URL"], sim.gitlab().uri());
    assert_eq!(
        sim.gitlab().uri(),
        format!("http://127.0.0.1:{}", sim.ports()[3])
    );
    let token = env["GITLAB_TOKEN"].clone();
    assert!(token.starts_with("glpat-"), "{token}");
    assert!(
        sim.exports(Some("gitlab"))
            .contains("export PATS_PROVIDER='gitlab'\n")
    );

    // The token is root's, an administrator's, with scope api, never expiring.
    let (status, _, me) = api(&env, &token, "GET", "personal_access_tokens/self", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["name"], "pats-sim");
    assert_eq!(me["scopes"], json!(["api"]));
    assert_eq!(me["expires_at"], Value::Null);
    assert_eq!(me["active"], true);
    let root = me["user_id"].as_u64().unwrap();
    assert_eq!(sim.gitlab().user_id("root"), Some(root));

    // As an administrator it creates for another user; Bearer works as PRIVATE-TOKEN does.
    let (status, user) = admin(&sim, "POST", "users", json!({"username": "alice"})).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        user,
        json!({"userId": root + 1, "username": "alice", "admin": false})
    );
    let url = format!(
        "{}/api/v4/users/{}/personal_access_tokens",
        env["GITLAB_BASE_URL"],
        root + 1
    );
    let bearer = format!("Bearer {token}");
    let (status, _, created) = call(
        "POST",
        &url,
        &[("authorization", &bearer)],
        Some(json!({"name": "ci", "scopes": ["read_api"], "expires_at": "2099-01-01"})),
    )
    .await;
    // Past the maximum lifetime (365 days) is a validation error, in GitLab's shape.
    assert_eq!(status, 400, "{created}");
    assert!(created["message"]["expires_at"].is_array(), "{created}");
    let (status, _, created) = call(
        "POST",
        &url,
        &[("authorization", &bearer)],
        Some(json!({"name": "ci", "scopes": ["read_api"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["user_id"], root + 1);
    assert!(created["token"].as_str().unwrap().starts_with("glpat-"));

    // Offset pages with GitLab's headers.
    let (status, headers, page) = api(
        &env,
        &token,
        "GET",
        "personal_access_tokens?per_page=1",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(header(&headers, "x-total"), "2");
    assert_eq!(header(&headers, "x-next-page"), "2");
    assert!(header(&headers, "link").contains("rel=\"next\""));

    // Unknown paths and tokens: GitLab's answers.
    let (status, _, body) = api(&env, &token, "GET", "nothing", None).await;
    assert_eq!((status, body), (404, json!({"message": "404 Not Found"})));
    let (status, _, body) = api(&env, "glpat-unknown", "GET", "personal_access_tokens", None).await;
    assert_eq!(
        (status, body),
        (401, json!({"message": "401 Unauthorized"}))
    );
}

#[tokio::test]
async fn the_admin_api_seeds_users_tokens_projects_and_members() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let root = sim.gitlab().token_user(&env["GITLAB_TOKEN"]).unwrap();

    // seed: users by name, tokens of GITLAB_TOKEN's user (scope api, a year).
    let (status, seeded) = admin(
        &sim,
        "POST",
        "seed",
        json!({"users": ["bob"], "tokens": ["one"]}),
    )
    .await;
    assert_eq!(status, 201, "{seeded}");
    let created = &seeded["created"][0];
    assert_eq!(created["userId"], root);
    let one = sim
        .gitlab()
        .stored_token(created["id"].as_u64().unwrap())
        .unwrap();
    assert_eq!(
        (one.name.as_str(), one.scopes.clone()),
        ("one", vec!["api".to_owned()])
    );
    let year = time::OffsetDateTime::now_utc().date() + time::Duration::days(365);
    assert_eq!(one.expires_at, Some(year));
    let bob = sim.gitlab().user_id("bob").unwrap();
    // A user seeded again is not made twice.
    let (status, _) = admin(&sim, "POST", "seed", json!({"users": ["bob"]})).await;
    assert_eq!(status, 201);
    assert_eq!(sim.gitlab().user_id("bob"), Some(bob));

    // users, users/{id}/tokens.
    let (status, carol) = admin(
        &sim,
        "POST",
        "users",
        json!({"username": "carol", "admin": true}),
    )
    .await;
    assert_eq!((status, carol["admin"].clone()), (201, json!(true)));
    for (body, expected) in [
        (json!({"username": "carol"}), 409),
        (json!({"username": ""}), 400),
        (json!({"username": "a b"}), 400),
        (json!({"username": "dave", "role": "x"}), 400),
    ] {
        assert_eq!(
            admin(&sim, "POST", "users", body.clone()).await.0,
            expected,
            "{body}"
        );
    }
    let path = format!("users/{bob}/tokens");
    let (status, token) = admin(
        &sim,
        "POST",
        &path,
        json!({"name": "bob-ci", "scopes": ["read_api", "self_rotate"], "expiresAt": "2030-01-31"}),
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let stored = sim
        .gitlab()
        .stored_token(token["id"].as_u64().unwrap())
        .unwrap();
    assert_eq!(stored.user_id, bob);
    assert_eq!(stored.expires_at, Some(time::macros::date!(2030 - 01 - 31)));
    assert_eq!(
        sim.gitlab().token_id(token["token"].as_str().unwrap()),
        Some(stored.id)
    );
    let (status, never) = admin(
        &sim,
        "POST",
        &path,
        json!({"name": "old", "expiresAt": null}),
    )
    .await;
    assert_eq!(status, 201);
    let never = sim
        .gitlab()
        .stored_token(never["id"].as_u64().unwrap())
        .unwrap();
    assert_eq!(
        (never.expires_at, never.scopes),
        (None, vec!["api".to_owned()])
    );
    for (path, body, expected) in [
        ("users/999/tokens", json!({"name": "x"}), 404),
        ("users/x/tokens", json!({"name": "x"}), 404),
        (path.as_str(), json!({"name": " "}), 400),
        (path.as_str(), json!({"name": "x", "scopes": []}), 400),
        (path.as_str(), json!({"name": "x", "scopes": ["root"]}), 400),
        (
            path.as_str(),
            json!({"name": "x", "expiresAt": "soon"}),
            400,
        ),
    ] {
        assert_eq!(
            admin(&sim, "POST", path, body.clone()).await.0,
            expected,
            "{path} {body}"
        );
    }

    // projects, projects/{id}/members: a Maintainer then makes a project access token.
    let (status, project) = admin(&sim, "POST", "projects", json!({"path": "acme/app"})).await;
    assert_eq!(status, 201, "{project}");
    let id = project["projectId"].as_u64().unwrap();
    assert_eq!(project, json!({"projectId": id, "path": "acme/app"}));
    assert_eq!(
        admin(&sim, "POST", "projects", json!({"path": "acme/app"}))
            .await
            .0,
        409
    );
    assert_eq!(
        admin(&sim, "POST", "projects", json!({"path": "app"}))
            .await
            .0,
        400
    );
    // A path has at most 255 characters.
    let longest = format!("a/{}", "b".repeat(253));
    assert_eq!(
        admin(&sim, "POST", "projects", json!({ "path": longest }))
            .await
            .0,
        201
    );
    let longer = format!("a/{}", "c".repeat(254));
    assert_eq!(
        admin(&sim, "POST", "projects", json!({ "path": longer }))
            .await
            .0,
        400
    );
    let members = format!("projects/{id}/members");
    for (body, expected) in [
        (json!({"userId": bob, "accessLevel": 35}), 400),
        (json!({"userId": 999, "accessLevel": 40}), 404),
    ] {
        assert_eq!(
            admin(&sim, "POST", &members, body.clone()).await.0,
            expected,
            "{body}"
        );
    }
    assert_eq!(
        admin(
            &sim,
            "POST",
            "projects/77/members",
            json!({"userId": bob, "accessLevel": 40})
        )
        .await
        .0,
        404
    );
    let (status, member) = admin(
        &sim,
        "POST",
        &members,
        json!({"userId": bob, "accessLevel": 40}),
    )
    .await;
    assert_eq!(status, 201, "{member}");
    let bob_token = token["token"].as_str().unwrap();
    let bot = json!({"name": "deploy", "scopes": ["read_api"], "access_level": 30, "expires_at": in_days(30)});
    let (status, _, refused) = api(
        &env,
        bob_token,
        "POST",
        &format!("projects/{id}/access_tokens"),
        Some(bot.clone()),
    )
    .await;
    assert_eq!(status, 403, "bob's token has no `api` scope: {refused}");
    let (_, bob_api) = admin(
        &sim,
        "POST",
        &format!("users/{bob}/tokens"),
        json!({"name": "bob-api"}),
    )
    .await;
    let (status, _, made) = api(
        &env,
        bob_api["token"].as_str().unwrap(),
        "POST",
        "projects/acme%2Fapp/access_tokens",
        Some(bot),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["access_level"], 30);
    assert_eq!(
        sim.gitlab()
            .stored_token(made["id"].as_u64().unwrap())
            .unwrap()
            .project_id,
        Some(id)
    );

    // groups, groups/{id}/members: a group's Owner makes a group access token.
    let (status, group) = admin(&sim, "POST", "groups", json!({"path": "acme"})).await;
    assert_eq!(status, 201, "{group}");
    let gid = group["groupId"].as_u64().unwrap();
    assert_eq!(group, json!({"groupId": gid, "path": "acme"}));
    assert_eq!(
        admin(&sim, "POST", "groups", json!({"path": "acme"}))
            .await
            .0,
        409
    );
    assert_eq!(
        admin(&sim, "POST", "groups", json!({"path": "a/"})).await.0,
        400
    );
    assert_eq!(sim.gitlab().group_id("acme"), Some(gid));
    let (status, member) = admin(
        &sim,
        "POST",
        &format!("groups/{gid}/members"),
        json!({"userId": bob, "accessLevel": 50}),
    )
    .await;
    assert_eq!(status, 201, "{member}");
    assert_eq!(member["groupId"], gid);
    assert_eq!(
        admin(
            &sim,
            "POST",
            "groups/99/members",
            json!({"userId": bob, "accessLevel": 50})
        )
        .await
        .0,
        404
    );
    let (status, _, made) = api(
        &env,
        bob_api["token"].as_str().unwrap(),
        "POST",
        "groups/acme/access_tokens",
        Some(json!({"name": "group-ci", "scopes": ["read_api"]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["access_level"], 40, "GitLab's default role");
    let stored = sim
        .gitlab()
        .stored_token(made["id"].as_u64().unwrap())
        .unwrap();
    assert_eq!((stored.group_id, stored.project_id), (Some(gid), None));
}

#[tokio::test]
async fn faults_the_request_log_and_the_throttle_on_the_gitlab_port() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let env = env(&sim);
    let token = env["GITLAB_TOKEN"].clone();
    let (status, _) = admin(
        &sim,
        "POST",
        "faults",
        json!({"fault": "status", "status": 503, "times": 1}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        api(&env, &token, "GET", "personal_access_tokens", None)
            .await
            .0,
        503
    );
    assert_eq!(
        api(&env, &token, "GET", "personal_access_tokens", None)
            .await
            .0,
        200
    );
    // Only this port's provider was armed.
    let sail = reqwest::get(format!("{}/_pats_sim/health", sim.sailpoint().uri()))
        .await
        .unwrap();
    assert_eq!(sail.status().as_u16(), 200);
    let (status, refused) = admin(&sim, "POST", "faults", json!({"fault": "expired_token"})).await;
    assert_eq!(status, 400);
    assert!(
        refused["error"].as_str().unwrap().contains("gitlab"),
        "{refused}"
    );

    let (status, log) = admin(&sim, "GET", "requests", Value::Null).await;
    assert_eq!(status, 200);
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/api/v4/personal_access_tokens"),
        "{paths:?}"
    );
    let url = format!("{}/_pats_sim/requests", sim.sailpoint().uri());
    let bearer = format!("Bearer {}", sim.admin_token().unwrap());
    let (_, _, sail_log) = call("GET", &url, &[("authorization", &bearer)], None).await;
    assert!(
        !sail_log.to_string().contains("/api/v4"),
        "GitLab's requests are in GitLab's log only: {sail_log}"
    );

    sim.gitlab()
        .set_rate_limit(1, std::time::Duration::from_secs(60));
    assert_eq!(
        api(&env, &token, "GET", "personal_access_tokens", None)
            .await
            .0,
        200
    );
    let (status, headers, _) = api(&env, &token, "GET", "personal_access_tokens", None).await;
    assert_eq!(status, 429);
    assert_eq!(header(&headers, "retry-after"), "60");
    assert_eq!(header(&headers, "ratelimit-limit"), "1");
}

#[tokio::test]
async fn gitlab_state_outlives_a_restart_and_older_documents_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    let first = env(&sim);
    let (status, _) = admin(&sim, "POST", "seed", json!({"tokens": ["kept"]})).await;
    assert_eq!(status, 201);
    let live = sim.state();
    assert_eq!(live["gitlab"]["tokens"][1]["name"], "kept");
    drop(sim);

    // A restart serves the same GitLab state, with the same GITLAB_TOKEN.
    let sim = pats_sim::start(Options::default().state_file(&file)).unwrap();
    assert_eq!(sim.state(), live);
    let again = env(&sim);
    assert_eq!(again["GITLAB_TOKEN"], first["GITLAB_TOKEN"]);
    let (status, _, me) = api(
        &again,
        &again["GITLAB_TOKEN"],
        "GET",
        "personal_access_tokens/self",
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    drop(sim);

    // A document from before GitLab was emulated (no section, no token) still loads, and
    // gets an administrator and a working GITLAB_TOKEN.
    let mut old: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    old.as_object_mut().unwrap().remove("gitlab");
    old.as_object_mut().unwrap().remove("journal");
    old["credentials"]
        .as_object_mut()
        .unwrap()
        .remove("gitlab_token");
    let older = dir.path().join("older.json");
    std::fs::write(&older, serde_json::to_vec(&old).unwrap()).unwrap();
    let sim = pats_sim::start(Options::default().state_file(&older)).unwrap();
    let fresh = env(&sim);
    assert_ne!(fresh["GITLAB_TOKEN"], first["GITLAB_TOKEN"]);
    assert_eq!(sim.gitlab().token_count(), 1);
    let (status, _, me) = api(
        &fresh,
        &fresh["GITLAB_TOKEN"],
        "GET",
        "personal_access_tokens/self",
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(sim.state()["sailpoint"], live["sailpoint"]);

    // PUT state takes one too, and one with a corrupt GitLab section is refused whole.
    let (status, loaded) = admin(&sim, "PUT", "state", old.clone()).await;
    assert_eq!(status, 200, "{loaded}");
    let before = sim.state();
    let mut corrupt = before.clone();
    corrupt["gitlab"]["tokens"][0]["digest"] = json!("not hex");
    let (status, refused) = admin(&sim, "PUT", "state", corrupt).await;
    assert_eq!(status, 400);
    assert!(
        refused["error"].as_str().unwrap().contains("gitlab"),
        "{refused}"
    );
    assert_eq!(sim.state(), before);
}
