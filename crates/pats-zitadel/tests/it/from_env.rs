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
    match err {
        Error::InvalidInput { field, .. } => field.into_owned(),
        other => panic!("not InvalidInput: {other}"),
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
