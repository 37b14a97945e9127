//! The admin endpoints that create what an official SDK's user needs (users and their own
//! keys, organizations, client secrets, API clients, identities) and `PUT state`: what each
//! answers, and that what it created works on the provider's own API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_sim::{Emulator, Options};
use serde_json::{Value, json};

/// `method` `/_pats_sim/<path>` on `base` with a JSON body and the admin token, as an
/// admin client sends it.
async fn admin(sim: &Emulator, base: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let token = sim.admin_token().unwrap();
    send(method, &format!("{base}/_pats_sim/{path}"), token, body).await
}

/// A provider API call: `POST url` with a JSON body and a bearer token.
async fn call(url: &str, bearer: &str, body: Value) -> (u16, Value) {
    send("POST", url, bearer, body).await
}

/// `method url` with a bearer token and a JSON body: the status and the JSON answer
/// (`Null` when it is not JSON).
async fn send(method: &str, url: &str, bearer: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .bearer_auth(bearer)
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

/// A P-256 public key (SPKI PEM) whose private key nobody kept.
const P256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9lwvKXba8viCtF+xNoVY3rz5dKKw
v0BYBKw5yih0gmxztOHrZakfVyUVpBI+J6oCBd5LJR063/k3Iya1rk/61w==
-----END PUBLIC KEY-----
";

#[tokio::test]
async fn dfns_users_come_with_the_callers_own_credential_or_a_generated_one() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let dfns = sim.dfns().uri();
    let (status, own) = admin(
        &sim,
        &dfns,
        "POST",
        "users",
        json!({"credentialId": "cr-sdk-signer", "publicKey": P256_PUBLIC}),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    assert_eq!(own["credentialId"], "cr-sdk-signer");
    assert!(
        own.get("privateKey").is_none(),
        "the caller keeps its key: {own}"
    );
    let token = own["authToken"].as_str().unwrap();
    assert!(sim.dfns().accepts_bearer(token));
    let listed = reqwest::Client::new()
        .get(format!("{dfns}/auth/pats"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status().as_u16(), 200);

    let (status, generated) = admin(&sim, &dfns, "POST", "users", json!({})).await;
    assert_eq!(status, 201, "{generated}");
    assert!(
        generated["privateKey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let user = generated["userId"].as_str().unwrap();
    let (status, added) = admin(
        &sim,
        &dfns,
        "POST",
        &format!("users/{user}/credentials"),
        json!({"credentialId": "cr-passkey", "publicKey": P256_PUBLIC, "kind": "Fido2"}),
    )
    .await;
    assert_eq!(status, 201, "{added}");

    for (path, body, expected) in [
        ("users", json!({"credentialId": "cr-x"}), 400),
        (
            "users",
            json!({"credentialId": "cr-x", "publicKey": "nope"}),
            400,
        ),
        (
            "users",
            json!({"credentialId": "", "publicKey": P256_PUBLIC}),
            400,
        ),
        ("users", json!({"surprise": 1}), 400),
        (
            "users/us-nobody/credentials",
            json!({"credentialId": "c", "publicKey": P256_PUBLIC}),
            404,
        ),
        (
            &format!("users/{user}/credentials"),
            json!({"credentialId": "c", "publicKey": P256_PUBLIC, "kind": "Ed25519"}),
            400,
        ),
        ("orgs", json!({}), 404),
    ] {
        let (status, answer) = admin(&sim, &dfns, "POST", path, body.clone()).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
}

#[tokio::test]
async fn zitadel_organizations_users_keys_and_secrets_work_across_organizations() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let zitadel = sim.zitadel().uri();
    let (status, org) = admin(&sim, &zitadel, "POST", "orgs", json!({})).await;
    assert_eq!(status, 201, "{org}");
    let org_id = org["orgId"].as_str().unwrap().to_owned();
    assert!(sim.zitadel().has_org(&org_id));
    // The simulator's own call refuses an organization that does not exist.
    let unknown = sim.zitadel().create_user("999", "x", true).unwrap_err();
    assert!(unknown.contains("no organization 999"), "{unknown}");
    let (status, again) = admin(&sim, &zitadel, "POST", "orgs", json!({"id": org_id})).await;
    assert_eq!(status, 409, "{again}");

    let (status, bot) = admin(
        &sim,
        &zitadel,
        "POST",
        "users",
        json!({"orgId": org_id, "username": "ci-bot"}),
    )
    .await;
    assert_eq!(status, 201, "{bot}");
    assert_eq!(bot["type"], "machine");
    let bot_id = bot["userId"].as_str().unwrap().to_owned();
    assert_eq!(
        sim.zitadel().user_id_of(&org_id, "ci-bot").as_deref(),
        Some(bot_id.as_str())
    );
    let (status, taken) = admin(
        &sim,
        &zitadel,
        "POST",
        "users",
        json!({"orgId": org_id, "username": "ci-bot"}),
    )
    .await;
    assert_eq!(status, 409, "{taken}");
    let (status, human) = admin(
        &sim,
        &zitadel,
        "POST",
        "users",
        json!({"orgId": org_id, "username": "alice", "type": "human"}),
    )
    .await;
    assert_eq!(status, 201, "{human}");
    let human_id = human["userId"].as_str().unwrap();

    // A client secret: the client-credentials login works and acts in the new
    // organization; the v2 listing of the instance shows the token created there.
    let (status, secret) = admin(
        &sim,
        &zitadel,
        "POST",
        &format!("users/{bot_id}/secrets"),
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{secret}");
    let login = reqwest::Client::new()
        .post(format!("{zitadel}/oauth/v2/token"))
        .basic_auth(
            secret["clientId"].as_str().unwrap(),
            secret["clientSecret"].as_str(),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=openid%20urn%3Azitadel%3Aiam%3Aorg%3Aproject%3Aid%3Azitadel%3Aaud")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let login: Value = serde_json::from_slice(&login.bytes().await.unwrap()).unwrap();
    let access = login["access_token"].as_str().unwrap();
    let (status, added) = call(
        &format!("{zitadel}/zitadel.user.v2.UserService/AddPersonalAccessToken"),
        access,
        json!({"userId": bot_id, "expirationDate": "2099-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(sim.zitadel().pats_of(&bot_id)[0].org_id, org_id);

    // Keys: the caller's RSA public key, or the fixture key with its key file.
    let (status, key) = admin(
        &sim,
        &zitadel,
        "POST",
        &format!("users/{bot_id}/keys"),
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["keyFile"]["userId"], bot_id.as_str(), "{key}");
    let (status, own) = admin(
        &sim,
        &zitadel,
        "POST",
        &format!("users/{bot_id}/keys"),
        json!({"publicKey": pats_sim::zitadel::TEST_PUBLIC_KEY_PEM}),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    assert_ne!(own["keyId"], key["keyId"]);

    for (path, body, expected) in [
        ("orgs", json!({"id": "not-digits"}), 400),
        ("orgs", json!({"id": ""}), 400),
        ("orgs", json!({"id": "1".repeat(31)}), 400),
        ("orgs", json!({"id": "1".repeat(30)}), 201),
        ("users", json!({"orgId": "999", "username": "x"}), 404),
        ("users", json!({"username": ""}), 400),
        ("users", json!({"username": "u".repeat(201)}), 400),
        ("users", json!({"username": "u".repeat(200)}), 201),
        // A username is unique in its organization only.
        ("users", json!({"username": "ci-bot"}), 201),
        ("users", json!({"username": "x", "type": "robot"}), 400),
        (&format!("users/{human_id}/secrets"), json!({}), 404),
        (&format!("users/{human_id}/keys"), json!({}), 404),
        (
            &format!("users/{bot_id}/keys"),
            json!({"publicKey": "x"}),
            404,
        ),
        (
            &format!("users/{bot_id}/secrets"),
            json!({"extra": true}),
            400,
        ),
        ("identities", json!({"name": "n"}), 404),
    ] {
        let (status, answer) = admin(&sim, &zitadel, "POST", path, body.clone()).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
    }
}

#[tokio::test]
async fn sailpoint_identities_and_api_clients_log_in_as_themselves() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let sail = sim.sailpoint().uri();
    let (status, identity) = admin(
        &sim,
        &sail,
        "POST",
        "identities",
        json!({"name": "Release Bot"}),
    )
    .await;
    assert_eq!(status, 201, "{identity}");
    let identity_id = identity["identityId"].as_str().unwrap().to_owned();
    assert_eq!(identity_id.len(), 32);
    let (status, client) = admin(
        &sim,
        &sail,
        "POST",
        "clients",
        json!({"identityId": identity_id}),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    assert_eq!(
        sim.sailpoint().identity_name(&identity_id).as_deref(),
        Some("Release Bot")
    );
    let login = reqwest::Client::new()
        .post(format!("{sail}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            client["clientId"].as_str().unwrap(),
            client["clientSecret"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    // Tokens the client creates are owned by its identity, under the identity's name.
    let login: Value = serde_json::from_slice(&login.bytes().await.unwrap()).unwrap();
    let created = reqwest::Client::new()
        .post(format!("{sail}/v3/personal-access-tokens"))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(r#"{"name":"release","scope":["sp:scopes:all"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);
    let created: Value = serde_json::from_slice(&created.bytes().await.unwrap()).unwrap();
    assert_eq!(created["owner"]["id"], identity_id.as_str(), "{created}");
    assert_eq!(created["owner"]["name"], "Release Bot", "{created}");
    assert_eq!(sim.sailpoint().identity_name("0".repeat(32).as_str()), None);

    let (status, fixed) = admin(
        &sim,
        &sail,
        "POST",
        "clients",
        json!({"clientId": "my-client", "clientSecret": "my-secret"}),
    )
    .await;
    assert_eq!(status, 201, "{fixed}");
    assert_eq!(
        fixed["identityId"],
        pats_sim::sailpoint::SailPointSim::IDENTITY_ID
    );
    for (path, body, expected) in [
        ("clients", json!({"clientId": "my-client"}), 409),
        ("clients", json!({"identityId": "0".repeat(32)}), 404),
        ("clients", json!({"clientSecret": "has space"}), 400),
        ("identities", json!({"id": identity_id, "name": "dup"}), 409),
        ("identities", json!({"id": "UPPER", "name": "x"}), 400),
        (
            "identities",
            json!({"id": "A".repeat(32), "name": "x"}),
            400,
        ),
        (
            "identities",
            json!({"id": "a".repeat(31), "name": "x"}),
            400,
        ),
        ("identities", json!({"name": ""}), 400),
        ("identities", json!({"name": "n".repeat(129)}), 400),
        ("identities", json!({"name": "n".repeat(128)}), 201),
        ("users", json!({}), 404),
    ] {
        let (status, answer) = admin(&sim, &sail, "POST", path, body.clone()).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
    }
}

#[tokio::test]
async fn put_state_loads_a_state_into_a_running_emulator_or_refuses_it_whole() {
    let source = pats_sim::start(Options::default()).unwrap();
    let _ = source.sailpoint().seed_pat("carried-over").unwrap();
    let document = source.state();

    let target = pats_sim::start(Options::default()).unwrap();
    let base = target.dfns().uri();
    let (status, answer) = admin(&target, &base, "PUT", "state", document.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(target.state()["sailpoint"], document["sailpoint"]);
    assert_eq!(target.state()["credentials"], document["credentials"]);

    let before = target.state();
    let mut newer = document.clone();
    newer["version"] = json!(99);
    let (status, answer) = admin(&target, &base, "PUT", "state", newer).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("version 99"),
        "{answer}"
    );
    let mut corrupt = document.clone();
    corrupt["sailpoint"] = json!({"identities": 5});
    let (status, answer) = admin(&target, &base, "PUT", "state", corrupt).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("sailpoint"),
        "{answer}"
    );
    assert_eq!(target.state(), before, "a refused document changes nothing");
    let (status, _) = admin(&target, &base, "PUT", "state", json!("no")).await;
    assert_eq!(status, 400);
}

/// The state document is described by the JSON Schema in the repository: what a busy
/// emulator answers on `GET state` validates against it.
#[cfg(feature = "contract")]
#[tokio::test]
async fn the_state_document_follows_its_json_schema() {
    let sim = pats_sim::start(Options::default()).unwrap();
    let _ = sim.sailpoint().seed_pat("one").unwrap();
    let _ = sim
        .sailpoint()
        .issue_access_token(pats_sim::sailpoint::SailPointSim::IDENTITY_ID);
    let credentials = sim.state()["credentials"].clone();
    let _ = sim
        .dfns()
        .seed_pat(credentials["dfns_user_id"].as_str().unwrap(), "two")
        .unwrap();
    let bot = sim
        .zitadel()
        .add_named_machine_users(pats_sim::zitadel::ZitadelSim::DEFAULT_ORG, &["three"]);
    let _ = sim.zitadel().issue_pat(&bot[0]).unwrap();
    let _ = sim.zitadel().add_client_secret(&bot[0]).unwrap();
    // GitLab: a user, a project with a member, and a project access token made through the
    // API (its bot user, its resource; the caller's last_used_at), one rotated.
    let gitlab = sim.gitlab();
    let root = gitlab.user_id("root").unwrap();
    let project = gitlab.seed_project("acme/app");
    assert!(gitlab.seed_member(project, gitlab.seed_user("alice", false), 30));
    let (four, _) = gitlab.seed_pat(root, "four").unwrap();
    let client = reqwest::Client::new();
    let token = credentials["gitlab_token"].as_str().unwrap();
    for (path, body) in [
        (
            format!("projects/{project}/access_tokens"),
            json!({"name": "bot", "scopes": ["api"], "access_level": 40, "expires_at": (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string()}),
        ),
        (format!("personal_access_tokens/{four}/rotate"), json!({})),
    ] {
        let response = client
            .post(format!("{}/api/v4/{path}", gitlab.uri()))
            .header("private-token", token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    let schema: Value =
        serde_json::from_str(include_str!("../../schema/state.v1.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let state = sim.state();
    let errors: Vec<String> = validator
        .iter_errors(&state)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut wrong = state.clone();
    wrong["zitadel"]["orgs"] = json!("one");
    assert!(!validator.is_valid(&wrong));
    let mut wrong = state.clone();
    wrong["gitlab"]["tokens"][0]["digest"] = json!("glpat-in-the-clear");
    assert!(!validator.is_valid(&wrong));
    // A document from before GitLab was emulated is valid.
    let mut older = state.clone();
    older.as_object_mut().unwrap().remove("gitlab");
    older["credentials"]
        .as_object_mut()
        .unwrap()
        .remove("gitlab_token");
    let errors: Vec<String> = validator
        .iter_errors(&older)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
