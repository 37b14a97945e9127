//! Every provider configuration can be built from code, and connects.

// Without a provider there is no configuration to build (the lib tests cover that build).
#![cfg(any(
    feature = "dfns",
    feature = "zitadel",
    feature = "sailpoint",
    feature = "gitlab"
))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Only `sailpoint`'s tests do not name `Config`.
#[allow(unused_imports)]
use pats::{Config, CreateToken, Expiry, ListQuery, PersonalAccessTokens};
use std::time::Duration;

fn request(name: &str) -> CreateToken {
    CreateToken::builder()
        .name(name)
        .expiry(Expiry::In(Duration::from_secs(7 * 24 * 3600)))
        .build()
        .unwrap()
}

async fn create_and_list(client: &dyn PersonalAccessTokens, name: &str) {
    let created = client.create(&request(name)).await.unwrap();
    let listed = client.list(&ListQuery::new()).await.unwrap();
    assert!(
        listed.items.iter().any(|t| t.id == created.info.id),
        "{listed:?}"
    );
}

#[cfg(feature = "dfns")]
#[tokio::test]
async fn dfns_config_from_code_connects() {
    use pats::DfnsConfig;
    let sim = pats_sim::dfns::DfnsSim::start().await;
    let user = sim.register_user();
    let config: Config = DfnsConfig::from_private_key(
        user.auth_token.clone().into(),
        user.credential_id.clone(),
        user.private_key_pem.clone().into(),
    )
    .with_base_url(sim.uri())
    .into();
    let client = pats::connect(&config).unwrap();
    assert_eq!(client.provider(), "dfns");
    create_and_list(client.as_ref(), "from-code-1").await;
    assert_eq!(sim.pats().len(), 1);

    // The key may also come from a file.
    let dir = std::env::temp_dir().join(format!("pats-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dfns.pem");
    std::fs::write(&path, &user.private_key_pem).unwrap();
    let config = DfnsConfig::from_private_key_file(
        user.auth_token.clone().into(),
        user.credential_id.clone(),
        &path,
    )
    .with_base_url(sim.uri());
    let client = pats::connect(&config.into()).unwrap();
    create_and_list(client.as_ref(), "from-code-2").await;
    assert_eq!(sim.pats().len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "zitadel")]
#[tokio::test]
async fn zitadel_config_from_code_connects_on_both_apis() {
    use pats::ZitadelConfig;
    use pats::zitadel::ApiVersion as ZitadelApi;
    use pats_sim::zitadel::ZitadelSim;
    let sim = ZitadelSim::start().await;
    let user = "250000000000000009";
    // A ZITADEL token's name is its machine user's username.
    sim.add_named_machine_user(ZitadelSim::DEFAULT_ORG, user, "from-code-3");
    for api in [ZitadelApi::V2, ZitadelApi::V1] {
        let config = ZitadelConfig::from_pat(sim.uri(), sim.admin_pat().into())
            .with_organization_id(ZitadelSim::DEFAULT_ORG)
            .with_user_id(user)
            .with_api(api);
        assert_eq!(config.api, Some(api));
        let client = pats::connect(&Config::from(config)).unwrap();
        create_and_list(client.as_ref(), "from-code-3").await;
    }
    assert_eq!(sim.pats_of(user).len(), 2);
    let v1_calls = sim
        .requests()
        .await
        .iter()
        .filter(|r| r.url.path().starts_with("/management/v1/"))
        .count();
    assert_eq!(v1_calls, 2, "the v1 client creates and lists on the v1 API");
}

/// ZITADEL client credentials, from code and from the environment's variables.
#[cfg(feature = "zitadel")]
#[tokio::test]
async fn zitadel_client_credentials_connect_from_code_and_from_the_environment() {
    use pats::ZitadelConfig;
    use pats_sim::zitadel::ZitadelSim;
    let sim = ZitadelSim::start().await;
    let user = "250000000000000008";
    sim.add_named_machine_user(ZitadelSim::DEFAULT_ORG, user, "from-code-cc");
    let (id, secret) = sim.add_client_secret(user).unwrap();
    let config =
        ZitadelConfig::from_client_credentials(sim.uri(), id.clone(), secret.clone().into())
            .with_organization_id(ZitadelSim::DEFAULT_ORG)
            .with_user_id(user);
    assert!(!format!("{config:?}").contains(&secret), "{config:?}");
    let client = pats::connect(&Config::from(config)).unwrap();
    create_and_list(client.as_ref(), "from-code-cc").await;
    assert_eq!(sim.token_exchanges(), 1);

    let uri = sim.uri();
    let vars = [
        ("PATS_PROVIDER", "zitadel"),
        ("ZITADEL_URL", uri.as_str()),
        ("ZITADEL_CLIENT_ID", id.as_str()),
        ("ZITADEL_CLIENT_SECRET", secret.as_str()),
        ("ZITADEL_ORG_ID", ZitadelSim::DEFAULT_ORG),
        ("ZITADEL_USER_ID", user),
    ];
    let config = Config::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let client = pats::connect(&config).unwrap();
    use pats::PersonalAccessTokensExt;
    let all = client.list_all(&pats::ListQuery::new()).await.unwrap();
    assert!(
        all.iter()
            .any(|t| t.name.as_deref() == Some("from-code-cc")),
        "{all:?}"
    );
    assert_eq!(sim.token_exchanges(), 2, "a second client, its own token");
}

#[cfg(feature = "sailpoint")]
#[tokio::test]
async fn sailpoint_config_from_code_connects() {
    use pats::SailPointConfig;
    use pats::sailpoint::ApiVersion as SailPointApiVersion;
    use pats_sim::sailpoint::SailPointSim;
    let sim = SailPointSim::start().await;
    let config = SailPointConfig::from_client_credentials(
        sim.uri(),
        SailPointSim::CLIENT_ID,
        SailPointSim::CLIENT_SECRET.into(),
    )
    .with_api_version(SailPointApiVersion::V2025)
    .with_owner_id(SailPointSim::IDENTITY_ID);
    let client = pats::connect(&config.into()).unwrap();
    create_and_list(client.as_ref(), "from-code-4").await;
    let paths: Vec<String> = sim
        .api_requests()
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(paths.iter().all(|p| p.starts_with("/v2025/")), "{paths:?}");

    let token = sim.issue_access_token(SailPointSim::IDENTITY_ID);
    let config = SailPointConfig::from_access_token(sim.uri(), token.into());
    let client = pats::connect(&config.into()).unwrap();
    create_and_list(client.as_ref(), "from-code-5").await;
    assert_eq!(sim.stored_tokens().len(), 2);

    // The typed client, from the same configuration.
    let config = SailPointConfig::from_access_token(
        sim.uri(),
        sim.issue_access_token(SailPointSim::IDENTITY_ID).into(),
    )
    .with_api_version(SailPointApiVersion::V1);
    let typed = pats::sailpoint::SailPointClient::from_config(&config).unwrap();
    assert_eq!(typed.api_version(), SailPointApiVersion::V1);
    let listed = typed.list_tokens(&Default::default()).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
}

/// A configuration read from a file gives the provider's typed client, with options.
#[cfg(feature = "zitadel")]
#[tokio::test]
async fn a_typed_client_from_a_file_configuration() {
    use pats_sim::zitadel::ZitadelSim;
    let sim = ZitadelSim::start().await;
    let user = "250000000000000007";
    sim.add_named_machine_user(ZitadelSim::DEFAULT_ORG, user, "typed");
    let config: Config = serde_json::from_value(serde_json::json!({
        "provider": "zitadel",
        "base_url": sim.uri(),
        "pat": sim.admin_pat(),
        "organization_id": ZitadelSim::DEFAULT_ORG,
        "user_id": user,
    }))
    .unwrap();
    #[allow(irrefutable_let_patterns)]
    let Config::Zitadel(settings) = &config else {
        panic!("{config:?}")
    };
    let typed = pats::zitadel::ZitadelClientBuilder::from_config(settings)
        .unwrap()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(typed.organization(), Some(ZitadelSim::DEFAULT_ORG));
    let created = typed.create(&request("typed")).await.unwrap();
    assert_eq!(sim.pats_of(user).len(), 1);
    assert_eq!(
        created.info.owner.as_ref().map(|o| o.id.as_str()),
        Some(user)
    );
}

#[cfg(all(feature = "zitadel", feature = "sailpoint"))]
#[test]
fn api_versions_read_from_files_and_environment_as_before() {
    use pats::sailpoint::ApiVersion as SailPointApiVersion;
    use pats::zitadel::ApiVersion as ZitadelApi;
    // Files: the same strings as before the enums, any case.
    let c: Config = serde_json::from_value(serde_json::json!({
        "provider": "zitadel", "base_url": "https://z.example", "pat": "p", "api": "V1"
    }))
    .unwrap();
    let Config::Zitadel(z) = &c else {
        panic!("{c:?}")
    };
    assert_eq!(z.api, Some(ZitadelApi::V1));
    for (text, want) in [
        ("v3", SailPointApiVersion::V3),
        ("beta", SailPointApiVersion::Beta),
        ("v2024", SailPointApiVersion::V2024),
        ("v2025", SailPointApiVersion::V2025),
        ("V2026", SailPointApiVersion::V2026),
        ("v1", SailPointApiVersion::V1),
    ] {
        let c: Config = serde_json::from_value(serde_json::json!({
            "provider": "sailpoint", "base_url": "https://s.example",
            "access_token": "t", "api_version": text
        }))
        .unwrap();
        let Config::SailPoint(s) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(s.api_version, Some(want), "{text}");
        assert_eq!(
            want.as_str().to_ascii_lowercase(),
            text.to_ascii_lowercase()
        );
    }
    let err = serde_json::from_value::<Config>(serde_json::json!({
        "provider": "sailpoint", "base_url": "https://s.example",
        "access_token": "t", "api_version": "v4"
    }))
    .unwrap_err();
    assert!(err.to_string().contains("must be one of"), "{err}");

    // Environment: a bad value names the variable.
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let c = Config::from_lookup(lookup(&[
        ("PATS_PROVIDER", "zitadel"),
        ("ZITADEL_URL", "https://z.example"),
        ("ZITADEL_PAT", "p"),
        ("ZITADEL_API", "v1"),
    ]))
    .unwrap();
    let Config::Zitadel(z) = &c else {
        panic!("{c:?}")
    };
    assert_eq!(z.api, Some(ZitadelApi::V1));
    let err = Config::from_lookup(lookup(&[
        ("PATS_PROVIDER", "zitadel"),
        ("ZITADEL_URL", "https://z.example"),
        ("ZITADEL_PAT", "p"),
        ("ZITADEL_API", "v3"),
    ]))
    .unwrap_err();
    assert_eq!(err.field(), Some("ZITADEL_API"), "{err}");
    let err = Config::from_lookup(lookup(&[
        ("PATS_PROVIDER", "sailpoint"),
        ("SAIL_BASE_URL", "https://s.example"),
        ("SAIL_ACCESS_TOKEN", "t"),
        ("SAIL_API_VERSION", "v9"),
    ]))
    .unwrap_err();
    assert_eq!(err.field(), Some("SAIL_API_VERSION"), "{err}");
}

/// A base URL can carry credentials (`user:pass@`, `?token=`): `Debug` of a configuration or
/// a builder shows it without them, and shows no secret field.
#[test]
fn debug_of_configs_and_builders_shows_no_url_credentials() {
    const URL: &str =
        "https://alice:url-pass-1234@tenant.example/api?token=url-query-5678#frag-9012";
    const PLANTED: &[&str] = &[
        "url-pass-1234",
        "url-query-5678",
        "frag-9012",
        "field-secret-3456",
    ];
    let secret = || pats::reexports::secrecy::SecretString::from("field-secret-3456");
    #[allow(unused_mut)]
    let mut shown: Vec<String> = Vec::new();
    #[cfg(feature = "dfns")]
    {
        let config =
            pats::DfnsConfig::from_private_key(secret(), "cr-1", secret()).with_base_url(URL);
        shown.push(format!("{config:?}"));
        shown.push(format!("{:?}", Config::from(config)));
        shown.push(format!(
            "{:?}",
            pats::dfns::DfnsClient::builder().base_url(URL)
        ));
    }
    #[cfg(feature = "zitadel")]
    {
        let config = pats::ZitadelConfig::from_pat(URL, secret());
        shown.push(format!("{config:?}"));
        shown.push(format!(
            "{:?}",
            pats::zitadel::ZitadelClient::builder().base_url(URL)
        ));
    }
    #[cfg(feature = "sailpoint")]
    {
        let config = pats::SailPointConfig::from_client_credentials(URL, "client-1", secret());
        shown.push(format!("{config:?}"));
        shown.push(format!(
            "{:?}",
            pats::sailpoint::SailPointClient::builder().base_url(URL)
        ));
    }
    for text in &shown {
        assert!(text.contains("https://tenant.example/api"), "{text}");
        for planted in PLANTED {
            assert!(!text.contains(planted), "{planted} in {text}");
        }
    }
}

/// The key files a configuration names are read with `pats::files`: a FIFO (with no
/// writer: reading it used to hang) is refused at once, naming the setting and the path.
#[cfg(all(unix, feature = "dfns", feature = "zitadel"))]
#[test]
fn a_key_file_that_is_a_fifo_is_refused_naming_the_setting() {
    use pats::{DfnsConfig, ZitadelConfig};
    let dir = std::env::temp_dir().join(format!("pats-config-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("key");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let refused = |config: Config| match pats::connect(&config) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected"),
    };
    let dfns = DfnsConfig::from_private_key_file("tok".to_owned().into(), "cr-1", &fifo);
    assert_eq!(
        refused(dfns.into()),
        format!(
            "invalid input for `private_key_file`: {} is a FIFO (named pipe), not a regular \
             file",
            fifo.display()
        )
    );
    let zitadel = ZitadelConfig::from_key_file("https://acme.zitadel.cloud", &fifo);
    assert_eq!(
        refused(zitadel.into()),
        format!(
            "invalid input for `key_file`: {} is a FIFO (named pipe), not a regular file",
            fifo.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "gitlab")]
#[tokio::test]
async fn gitlab_config_from_code_and_env_connects() {
    use pats::GitLabConfig;
    use pats_sim::gitlab::GitLabSim;
    let sim = GitLabSim::start().await;
    let admin = sim.seed_user("root", true);
    let alice = sim.seed_user("alice", false);
    let admin_token = sim.seed_token(admin, "admin", &["api"]);
    let config = GitLabConfig::from_token(admin_token.clone().into())
        .with_base_url(sim.uri())
        .with_user_id(alice)
        .with_scopes(["read_api"]);
    let client = pats::connect(&config.into()).unwrap();
    assert_eq!(client.provider(), "gitlab");
    create_and_list(client.as_ref(), "from-code-gitlab").await;
    // The token is the default user's, with the default scopes.
    let created = client.create(&request("from-code-gitlab-2")).await.unwrap();
    let id: u64 = created.info.id.as_str().parse().unwrap();
    let stored = sim.stored_token(id).unwrap();
    assert_eq!(stored.user_id, alice);
    assert_eq!(stored.scopes, ["read_api"]);
    assert!(!format!("{created:?}").contains("glpat-"));

    // The same through the environment, as `pats::from_env` reads it.
    let vars = [
        ("PATS_PROVIDER", "GitLab".to_owned()),
        ("GITLAB_TOKEN", admin_token.clone()),
        ("GITLAB_BASE_URL", sim.uri()),
        ("GITLAB_USER_ID", alice.to_string()),
        ("GITLAB_SCOPES", "read_api,read_repository".to_owned()),
    ];
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    assert_eq!(config.provider(), "gitlab");
    assert!(!format!("{config:?}").contains(&admin_token));
    let client = pats::connect(&config).unwrap();
    let created = client.create(&request("from-env-gitlab")).await.unwrap();
    let id: u64 = created.info.id.as_str().parse().unwrap();
    assert_eq!(
        sim.stored_token(id).unwrap().scopes,
        ["read_api", "read_repository"]
    );
    // A file's table, tagged by `provider`.
    let config: Config = serde_json::from_value(serde_json::json!({
        "provider": "gitlab", "token": admin_token, "base_url": sim.uri(), "user_id": alice,
        "scopes": ["api"]
    }))
    .unwrap();
    let client = pats::connect(&config).unwrap();
    assert!(client.capabilities().native_rotate);
}
