//! `ZitadelClient::from_env` reads the same `ZITADEL_*` variables as
//! `pats::Config::from_env`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_core::{CreateToken, Error, Expiry, ListQuery, PersonalAccessTokens};
use pats_sim::zitadel::ZitadelSim;
use pats_zitadel::{ApiVersion, ZitadelClientBuilder};
use std::collections::HashMap;
use std::time::Duration;

const BOT: &str = "250000000000000077";

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

fn field(err: Error) -> String {
    match err.field() {
        Some(field) => field.to_owned(),
        None => panic!("not InvalidInput: {err}"),
    }
}

#[tokio::test]
async fn a_client_from_the_zitadel_variables_manages_the_named_user() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user(ZitadelSim::DEFAULT_ORG, BOT);
    let uri = sim.uri();
    let pat = sim.admin_pat();
    for (api, want) in [("v2", ApiVersion::V2), ("V1", ApiVersion::V1)] {
        let client = ZitadelClientBuilder::from_lookup(lookup(&[
            ("ZITADEL_URL", &uri),
            ("ZITADEL_PAT", &pat),
            ("ZITADEL_ORG_ID", ZitadelSim::DEFAULT_ORG),
            ("ZITADEL_USER_ID", BOT),
            ("ZITADEL_API", api),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(client.api_version(), want);
        assert_eq!(client.organization(), Some(ZitadelSim::DEFAULT_ORG));
        assert_eq!(client.default_user(), Some(BOT));
        let request = CreateToken::builder()
            .expiry(Expiry::In(Duration::from_secs(24 * 3600)))
            .build()
            .unwrap();
        client.create(&request).await.unwrap();
        assert!(
            !client
                .list(&ListQuery::new())
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }
    assert_eq!(sim.pats_of(BOT).len(), 2);
}

/// `ZITADEL_CLIENT_ID` + `ZITADEL_CLIENT_SECRET` (what `pats sim env` exports beside the
/// PAT) authenticate with the client-credentials grant.
#[tokio::test]
async fn client_credentials_from_the_variables_are_exchanged_for_a_token() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user(ZitadelSim::DEFAULT_ORG, BOT);
    let (id, secret) = sim.add_client_secret(BOT).unwrap();
    let uri = sim.uri();
    let client = ZitadelClientBuilder::from_lookup(lookup(&[
        ("ZITADEL_URL", &uri),
        ("ZITADEL_CLIENT_ID", &id),
        ("ZITADEL_CLIENT_SECRET", &secret),
        ("ZITADEL_ORG_ID", ZitadelSim::DEFAULT_ORG),
        ("ZITADEL_USER_ID", BOT),
    ]))
    .unwrap()
    .build()
    .unwrap();
    client.list(&ListQuery::new().owner(BOT)).await.unwrap();
    assert_eq!(sim.token_exchanges(), 1);
    // Half a pair names the missing half, never the value given.
    for (given, missing) in [
        (("ZITADEL_CLIENT_ID", id.as_str()), "ZITADEL_CLIENT_SECRET"),
        (
            ("ZITADEL_CLIENT_SECRET", secret.as_str()),
            "ZITADEL_CLIENT_ID",
        ),
    ] {
        let err =
            ZitadelClientBuilder::from_lookup(lookup(&[("ZITADEL_URL", &uri), given])).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(&secret));
        assert_eq!(field(err), missing);
    }
}

#[test]
fn errors_name_the_variable_never_its_value() {
    let err = ZitadelClientBuilder::from_lookup(lookup(&[("ZITADEL_PAT", "pat-secret-value")]))
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("pat-secret-value"));
    assert_eq!(field(err), "ZITADEL_URL");
    let err = ZitadelClientBuilder::from_lookup(lookup(&[("ZITADEL_URL", "https://z.example")]))
        .unwrap_err();
    assert_eq!(field(err), "ZITADEL_PAT");
    let err = ZitadelClientBuilder::from_lookup(lookup(&[
        ("ZITADEL_URL", "https://z.example"),
        ("ZITADEL_PAT", "p"),
        ("ZITADEL_API", "v3"),
    ]))
    .unwrap_err();
    assert_eq!(field(err), "ZITADEL_API");
    let err = ZitadelClientBuilder::from_lookup(lookup(&[
        ("ZITADEL_URL", "https://z.example"),
        ("ZITADEL_KEY_FILE", "/nonexistent/pats/key.json"),
    ]))
    .unwrap_err();
    assert_eq!(field(err), "ZITADEL_KEY_FILE");
}

/// A key file that is a FIFO (with no writer: reading it used to hang) or larger than
/// 64 KiB is refused at once, naming the variable and the path.
#[cfg(unix)]
#[test]
fn a_key_file_that_is_a_fifo_or_too_large_is_refused_naming_the_variable() {
    let dir = std::env::temp_dir().join(format!("pats-zitadel-key-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo.json");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let big = dir.join("big.json");
    std::fs::write(&big, "x".repeat(64 * 1024 + 1)).unwrap();
    for (path, says) in [
        (&fifo, "is a FIFO (named pipe), not a regular file"),
        (
            &big,
            "is 65537 bytes, more than the 65536-byte limit of a secret, key or config file",
        ),
    ] {
        let err = ZitadelClientBuilder::from_lookup(lookup(&[
            ("ZITADEL_URL", "https://acme.zitadel.cloud"),
            ("ZITADEL_KEY_FILE", path.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid input for `ZITADEL_KEY_FILE`: {} {says}",
                path.display()
            )
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
