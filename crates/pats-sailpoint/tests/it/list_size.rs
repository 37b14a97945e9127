//! SailPoint does not page its token listing: a listing larger than the body cap fails
//! with an error naming the setting that raises it, and raising it makes it succeed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_core::{ClientOptions, ErrorKind, PersonalAccessTokens, TokenId};
use pats_sailpoint::{ListTokens, SailPointClient};
use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DEFAULT_CAP: usize = 4 * 1024 * 1024;

/// A listing of `n` tokens, as SailPoint sends it (a bare array).
fn listing(n: usize) -> Vec<u8> {
    let tokens: Vec<_> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("{i:032x}"),
                "name": format!("token number {i} of a large tenant"),
                "scope": ["sp:scopes:all"],
                "owner": {"type": "IDENTITY", "id": "2c9180a46faadee4016fb4e018c20639", "name": "Support"},
                "created": "2026-01-02T03:04:05.678Z",
                "lastUsed": "2026-02-02T03:04:05.678Z",
                "managed": false,
                "accessTokenValiditySeconds": 36000,
                "expirationDate": "2026-07-02T03:04:05.678Z",
                "userAwareTokenNeverExpires": false
            })
        })
        .collect();
    serde_json::to_vec(&tokens).unwrap()
}

async fn serve(body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/personal-access-tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}

fn builder(server: &MockServer) -> pats_sailpoint::SailPointClientBuilder {
    SailPointClient::builder()
        .base_url(server.uri())
        .bearer_token(SecretString::from("bearer-for-the-test"))
}

/// Enough tokens to go past the default 4 MiB cap.
fn big_listing() -> (usize, Vec<u8>) {
    let n = 16_000;
    let body = listing(n);
    assert!(body.len() > DEFAULT_CAP, "{} bytes", body.len());
    (n, body)
}

#[tokio::test]
async fn a_listing_over_the_default_cap_names_the_setting_and_a_raised_cap_reads_it() {
    let (n, body) = big_listing();
    let len = body.len();
    let server = serve(body).await;

    let client = builder(&server).build().unwrap();
    assert_eq!(client.list_response_limit(), DEFAULT_CAP);
    let err = client.list_tokens(&ListTokens::new()).await.unwrap_err();
    match (err.kind(), err.status(), err.reason()) {
        (ErrorKind::Decode, Some(status), Some(reason)) => {
            assert_eq!(status, 200);
            assert_eq!(
                reason,
                format!(
                    "the body of {len} bytes is larger than the {DEFAULT_CAP}-byte limit \
                     (raise it with `SailPointClientBuilder::list_response_limit`)"
                )
            );
        }
        _ => panic!("expected Decode, got {err:?}"),
    }
    // `get` lists too, through the trait as well.
    let id = TokenId::new(format!("{:032x}", 5)).unwrap();
    let err = client.get(&id).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("SailPointClientBuilder::list_response_limit"),
        "{err}"
    );

    let raised = builder(&server).list_response_limit(len).build().unwrap();
    let all = raised.list_tokens(&ListTokens::new()).await.unwrap();
    assert_eq!(all.len(), n);
    assert_eq!(raised.get(&id).await.unwrap().id, id);
}

#[tokio::test]
async fn the_list_cap_follows_the_client_options_unless_set() {
    let body = listing(10);
    let len = body.len();
    let server = serve(body).await;
    // A smaller general cap applies to the listing too, and the error still names the
    // listing's own setting.
    let small = builder(&server)
        .options(ClientOptions::default().with_max_response_bytes(len - 1))
        .build()
        .unwrap();
    assert_eq!(small.list_response_limit(), len - 1);
    let err = small.list_tokens(&ListTokens::new()).await.unwrap_err();
    assert!(
        err.reason()
            .is_some_and(|reason| reason.contains(&format!("{}-byte limit", len - 1))
                && reason.contains("`SailPointClientBuilder::list_response_limit`")),
        "{err}"
    );
    // The listing's own setting wins over the general cap, in both directions.
    let raised = builder(&server)
        .options(ClientOptions::default().with_max_response_bytes(len - 1))
        .list_response_limit(len)
        .build()
        .unwrap();
    assert_eq!(
        raised.list_tokens(&ListTokens::new()).await.unwrap().len(),
        10
    );
    let lowered = builder(&server)
        .list_response_limit(len - 1)
        .build()
        .unwrap();
    assert_eq!(
        lowered
            .list_tokens(&ListTokens::new())
            .await
            .unwrap_err()
            .kind(),
        pats_core::ErrorKind::Decode
    );
}
