//! `DfnsClient::from_env` reads the same `DFNS_*` variables as `pats::Config::from_env`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_core::Error;
use pats_dfns::{DfnsClientBuilder, NewPat};
use pats_sim::dfns::DfnsSim;
use std::collections::HashMap;

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
async fn a_client_from_the_dfns_variables_lists_and_signs() {
    let sim = DfnsSim::start().await;
    let user = sim.register_user();
    let uri = sim.uri();
    let client = DfnsClientBuilder::from_lookup(lookup(&[
        ("DFNS_BASE_URL", &uri),
        ("DFNS_AUTH_TOKEN", &user.auth_token),
        ("DFNS_CRED_ID", &user.credential_id),
        ("DFNS_PRIVATE_KEY", &user.private_key_pem),
    ]))
    .unwrap()
    .build()
    .unwrap();
    // A signed call works: the key and credential id were read.
    let created = client.create_pat(&NewPat::new("from-env")).await.unwrap();
    assert_eq!(created.pat.name, "from-env");
    assert_eq!(client.list_pats().await.unwrap().len(), 1);

    // The key may come from a file.
    let path = std::env::temp_dir().join(format!("pats-dfns-env-{}.pem", std::process::id()));
    std::fs::write(&path, &user.private_key_pem).unwrap();
    let path_text = path.to_string_lossy().into_owned();
    let client = DfnsClientBuilder::from_lookup(lookup(&[
        ("DFNS_BASE_URL", &uri),
        ("DFNS_AUTH_TOKEN", &user.auth_token),
        ("DFNS_CRED_ID", &user.credential_id),
        ("DFNS_PRIVATE_KEY_FILE", &path_text),
    ]))
    .unwrap()
    .build()
    .unwrap();
    client.create_pat(&NewPat::new("from-file")).await.unwrap();
    assert_eq!(sim.pats().len(), 2);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn errors_name_the_variable_never_its_value() {
    let err = DfnsClientBuilder::from_lookup(lookup(&[
        ("DFNS_AUTH_TOKEN", "tok-very-secret"),
        ("DFNS_CRED_ID", "cr-1"),
    ]))
    .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("tok-very-secret"));
    assert_eq!(field(err), "DFNS_PRIVATE_KEY");
    let err = DfnsClientBuilder::from_lookup(lookup(&[
        ("DFNS_AUTH_TOKEN", "tok-very-secret"),
        ("DFNS_PRIVATE_KEY", "not a key"),
    ]))
    .unwrap_err();
    assert_eq!(field(err), "DFNS_CRED_ID");
    let err = DfnsClientBuilder::from_lookup(lookup(&[
        ("DFNS_AUTH_TOKEN", "tok-very-secret"),
        ("DFNS_CRED_ID", "cr-1"),
        ("DFNS_PRIVATE_KEY", "not a key, secret-ish"),
    ]))
    .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret-ish"));
    assert_eq!(field(err), "DFNS_PRIVATE_KEY");
    let err = DfnsClientBuilder::from_lookup(lookup(&[
        ("DFNS_AUTH_TOKEN", "tok"),
        ("DFNS_CRED_ID", "cr-1"),
        ("DFNS_PRIVATE_KEY_FILE", "/nonexistent/pats/key.pem"),
    ]))
    .unwrap_err();
    assert_eq!(field(err), "DFNS_PRIVATE_KEY_FILE");
}
