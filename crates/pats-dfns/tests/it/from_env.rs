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
    match err.field() {
        Some(field) => field.to_owned(),
        None => panic!("not InvalidInput: {err}"),
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

/// A key file that is a FIFO (with no writer: reading it used to hang) or larger than
/// 64 KiB is refused at once, naming the variable and the path.
#[cfg(unix)]
#[test]
fn a_key_file_that_is_a_fifo_or_too_large_is_refused_naming_the_variable() {
    let dir = std::env::temp_dir().join(format!("pats-dfns-key-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo.pem");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let big = dir.join("big.pem");
    std::fs::write(&big, "x".repeat(64 * 1024 + 1)).unwrap();
    for (path, says) in [
        (&fifo, "is a FIFO (named pipe), not a regular file"),
        (
            &big,
            "is 65537 bytes, more than the 65536-byte limit of a secret, key or config file",
        ),
    ] {
        let err = DfnsClientBuilder::from_lookup(lookup(&[
            ("DFNS_AUTH_TOKEN", "tok"),
            ("DFNS_CRED_ID", "cr-1"),
            ("DFNS_PRIVATE_KEY_FILE", path.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid input for `DFNS_PRIVATE_KEY_FILE`: {} {says}",
                path.display()
            )
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
