//! Client-credentials login (RFC 6749 §4.4): the exact token request, both ways of sending
//! the client's credentials (§2.3.1), caching, errors and redaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{BOT, header, options, sim};
use base64::Engine as _;
use pats_core::{ErrorKind, ListQuery, PersonalAccessTokens};
use pats_sim::zitadel::ZitadelSim;
use pats_zitadel::{ClientAuthMethod, ClientCredentials, ZitadelAuth, ZitadelClient};
use secrecy::SecretString;

/// The form body RFC 6749 §4.4.2 asks for, with ZITADEL's API scope.
const TOKEN_FORM: &str = "grant_type=client_credentials&scope=openid+urn%3Azitadel%3Aiam%3Aorg%3Aproject%3Aid%3Azitadel%3Aaud";

fn client(sim: &ZitadelSim, auth: ZitadelAuth) -> ZitadelClient {
    ZitadelClient::builder()
        .base_url(sim.uri())
        .auth(auth)
        .default_user(BOT)
        .organization(ZitadelSim::DEFAULT_ORG)
        .options(options().0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn basic_login_sends_exactly_the_rfc_6749_request_and_uses_the_token() {
    let sim = sim().await;
    let (id, secret) = sim.add_client_secret(BOT).unwrap();
    let client = client(
        &sim,
        ZitadelAuth::client_credentials(id.clone(), SecretString::from(secret.clone())),
    );
    client.list(&ListQuery::new().owner(BOT)).await.unwrap();
    client.list(&ListQuery::new().owner(BOT)).await.unwrap();
    assert_eq!(sim.token_exchanges(), 1, "the access token is cached");
    assert_eq!(sim.last_client_auth(), Some("basic"));

    let requests = sim.requests().await;
    assert_eq!(requests.len(), 3);
    let login = &requests[0];
    assert_eq!(login.method.as_str(), "POST");
    assert_eq!(login.url.path(), "/oauth/v2/token");
    assert_eq!(login.url.query(), None);
    assert_eq!(
        header(login, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(std::str::from_utf8(&login.body).unwrap(), TOKEN_FORM);
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    assert_eq!(
        header(login, "authorization"),
        Some(format!("Basic {expected}").as_str())
    );
    assert_eq!(
        header(login, "x-zitadel-orgid"),
        None,
        "no org header on login"
    );
    for api in &requests[1..] {
        let auth = header(api, "authorization").unwrap();
        assert!(auth.starts_with("Bearer sim_at_"), "{auth}");
        assert_eq!(
            header(api, "x-zitadel-orgid"),
            Some(ZitadelSim::DEFAULT_ORG)
        );
    }
}

#[tokio::test]
async fn post_login_puts_the_credentials_in_the_form_only() {
    let sim = sim().await;
    let (id, secret) = sim.add_client_secret(BOT).unwrap();
    let credentials = ClientCredentials::new(id.clone(), SecretString::from(secret.clone()))
        .method(ClientAuthMethod::Post);
    assert_eq!(credentials.auth_method(), ClientAuthMethod::Post);
    let client = client(&sim, ZitadelAuth::ClientCredentials(credentials));
    client.list(&ListQuery::new().owner(BOT)).await.unwrap();
    assert_eq!(sim.last_client_auth(), Some("post"));
    let login = &sim.requests().await[0];
    assert_eq!(header(login, "authorization"), None);
    assert_eq!(
        std::str::from_utf8(&login.body).unwrap(),
        format!("{TOKEN_FORM}&client_id={id}&client_secret={secret}")
    );
}

#[tokio::test]
async fn basic_credentials_are_form_encoded_before_base64() {
    // RFC 6749 §2.3.1: client id and secret are application/x-www-form-urlencoded, then
    // joined with `:` and base64-encoded. A wiremock server records the header.
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/oauth/v2/token"))
        .respond_with(wiremock::ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"error": "invalid_client", "error_description": "no"}),
        ))
        .mount(&server)
        .await;
    let client = ZitadelClient::builder()
        .base_url(server.uri())
        .auth(ZitadelAuth::client_credentials(
            "bot user:1",
            SecretString::from("s3cr:et/+".to_owned()),
        ))
        .options(options().0)
        .build()
        .unwrap();
    let err = client.list(&ListQuery::new().owner(BOT)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let received = server.received_requests().await.unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode("bot+user%3A1:s3cr%3Aet%2F%2B");
    assert_eq!(
        received[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Basic {expected}").as_str())
    );
}

#[tokio::test]
async fn a_wrong_secret_is_unauthenticated_and_never_shown() {
    let sim = sim().await;
    let (id, _) = sim.add_client_secret(BOT).unwrap();
    let wrong = "wrong-secret-value-123";
    let client = client(
        &sim,
        ZitadelAuth::client_credentials(id, SecretString::from(wrong.to_owned())),
    );
    let err = client.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong));
    assert_eq!(sim.token_exchanges(), 0);
}

#[test]
fn debug_never_shows_the_secret_and_bad_settings_are_refused() {
    let secret = "top-secret-client-value";
    let auth = ZitadelAuth::client_credentials("client-1", SecretString::from(secret.to_owned()));
    let shown = format!("{auth:?}");
    assert!(
        shown.contains("client-1") && !shown.contains(secret),
        "{shown}"
    );
    let builder = ZitadelClient::builder()
        .base_url("https://example.zitadel.cloud")
        .auth(auth);
    let shown = format!("{builder:?}");
    assert!(!shown.contains(secret), "{shown}");
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(secret));

    for (id, secret, field) in [
        ("", "s", "client_id"),
        ("id\n", "s", "client_id"),
        ("id", "", "client_secret"),
    ] {
        let err = ZitadelClient::builder()
            .base_url("https://example.zitadel.cloud")
            .auth(ZitadelAuth::client_credentials(
                id,
                SecretString::from(secret.to_owned()),
            ))
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some(field), "{err:?}");
    }
}

#[tokio::test]
async fn an_oauth_error_code_that_echoes_the_secret_is_scrubbed() {
    let secret = "echoed-secret-value-77";
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/oauth/v2/token"))
        .respond_with(
            wiremock::ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": format!("invalid_request {secret}")})),
        )
        .mount(&server)
        .await;
    let client = ZitadelClient::builder()
        .base_url(server.uri())
        .auth(ZitadelAuth::client_credentials(
            "bot",
            SecretString::from(secret.to_owned()),
        ))
        .options(options().0)
        .build()
        .unwrap();
    let err = client.list(&ListQuery::new().owner(BOT)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    let api = err.api_error().unwrap();
    assert!(
        !api.code.as_deref().unwrap_or_default().contains(secret),
        "{api:?}"
    );
    assert!(!format!("{err} {err:?}").contains(secret), "{err:?}");
}
