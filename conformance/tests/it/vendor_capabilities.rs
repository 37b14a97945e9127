//! `Capabilities` against the vendors' own descriptions (`contracts/<provider>/openapi.json`,
//! extracted from the pinned upstream files): every field a portable program decides on
//! follows from what the vendor documents, so a client cannot claim what the API lacks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats::{Capabilities, Naming, Reported};
use pats_conformance::Harness;
use pats_conformance::harness::{DfnsHarness, GitLabHarness, ZitadelHarness};
use serde_json::Value;
use std::path::Path;

fn contract(provider: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts")
        .join(provider)
        .join("openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The schema `name` of `doc`.
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "no schema {name}");
    s
}

fn has(schema: &Value, property: &str) -> bool {
    schema["properties"].get(property).is_some()
}

fn required(schema: &Value, property: &str) -> bool {
    schema["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|p| p == property))
}

fn any_property(schema: &Value, pred: impl Fn(&str) -> bool) -> bool {
    schema["properties"]
        .as_object()
        .is_some_and(|m| m.keys().any(|k| pred(&k.to_ascii_lowercase())))
}

fn sailpoint(version: &str) -> Capabilities {
    let config = serde_json::from_value(serde_json::json!({
        "provider": "sailpoint",
        "base_url": "http://127.0.0.1:9",
        "client_id": "vendor",
        "client_secret": "vendor-secret",
        "api_version": version,
    }))
    .unwrap();
    pats::connect(&config).unwrap().capabilities()
}

#[tokio::test]
async fn dfns_capabilities_follow_the_description() {
    let doc = contract("dfns");
    let caps = DfnsHarness::start().await.portable_client().capabilities();
    let token = schema(&doc, "PersonalAccessToken");
    let create = schema(&doc, "CreatePersonalAccessTokenBody");
    // A PAT carries no expiry and no last use; only the created access token (a JWT) has
    // an `exp`.
    assert!(!any_property(token, |k| k.contains("expir")));
    assert!(has(
        schema(&doc, "CreatePersonalAccessTokenResponse"),
        "accessToken"
    ));
    assert_eq!(caps.expiry, Reported::WhenCreated);
    assert!(!any_property(token, |k| k.contains("lastused")));
    assert_eq!(caps.last_use, Reported::No);
    // A name of its own, required; one permission (a string, not a list).
    assert!(required(create, "name") && has(token, "name"));
    assert_eq!((caps.naming, caps.requires_name), (Naming::PerToken, true));
    assert_eq!(create["properties"]["permissionId"]["type"], "string");
    assert!(caps.scopes && caps.max_scopes == Some(1));
    // The token is the caller's; a lifetime, never "never".
    assert!(!any_property(create, |k| k.contains("user") || k.contains("owner")));
    assert!(!caps.create_for_owner);
    assert!(has(create, "secondsValid") && !any_property(create, |k| k.contains("never")));
    assert!(!caps.never_expires);
}

#[tokio::test]
async fn sailpoint_capabilities_follow_the_description() {
    let doc = contract("sailpoint");
    let upstream =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/sailpoint/upstream/idn");
    for (version, create, get, file) in [
        (
            "v3",
            "V3",
            "V3",
            "v3/schemas/CreatePersonalAccessTokenRequest.yaml",
        ),
        (
            "beta",
            "V3",
            "Beta",
            "beta/schemas/CreatePersonalAccessTokenRequest.yaml",
        ),
        (
            "v2024",
            "V3",
            "Beta",
            "v2024/schemas/CreatePersonalAccessTokenRequest.yaml",
        ),
        (
            "v2025",
            "V2025",
            "V2025",
            "v2025/schemas/CreatePersonalAccessTokenRequest.yaml",
        ),
        (
            "v2026",
            "V2025",
            "V2025",
            "v2026/schemas/CreatePersonalAccessTokenRequest.yaml",
        ),
        (
            "v1",
            "V1",
            "V2025",
            "apis/personal-access-tokens/schemas/createpersonalaccesstokenrequest.yaml",
        ),
    ] {
        let caps = sailpoint(version);
        let create = schema(&doc, &format!("CreatePersonalAccessTokenRequest{create}"));
        let get = schema(&doc, &format!("GetPersonalAccessTokenResponse{get}"));
        assert!(
            has(get, "expirationDate") && caps.expiry == Reported::Always,
            "{version}"
        );
        assert!(
            has(get, "lastUsed") && caps.last_use == Reported::Always,
            "{version}"
        );
        assert!(required(create, "name") && caps.requires_name, "{version}");
        assert_eq!(caps.naming, Naming::PerToken);
        // The subset keeps the first sentence of a description; the pinned upstream file
        // has the rest: "Cannot be the same as another PAT owned by the user ...".
        let text = std::fs::read_to_string(upstream.join(file)).unwrap();
        assert_eq!(
            caps.unique_names,
            text.contains("Cannot be the same"),
            "{version}"
        );
        assert_eq!(create["properties"]["scope"]["type"], "array");
        assert!(caps.scopes && caps.max_scopes.is_none(), "{version}");
        assert_eq!(
            caps.never_expires,
            has(create, "userAwareTokenNeverExpires"),
            "{version}"
        );
        assert!(!any_property(create, |k| k.contains("owner")) && !caps.create_for_owner);
    }
}

#[tokio::test]
async fn zitadel_capabilities_follow_the_description() {
    let doc = contract("zitadel");
    let caps = ZitadelHarness::start()
        .await
        .portable_client()
        .capabilities();
    let token = schema(&doc, "UserV2PersonalAccessToken");
    let add = schema(&doc, "UserV2AddPersonalAccessTokenRequest");
    assert!(has(token, "expirationDate") && caps.expiry == Reported::Always);
    assert!(!any_property(token, |k| k.contains("used")) && caps.last_use == Reported::No);
    // A PAT has no name or scopes of its own; it belongs to a user the request names.
    assert!(!has(token, "name") && !has(add, "name"));
    assert_ne!(caps.naming, Naming::PerToken);
    assert!(!any_property(add, |k| k.contains("scope")) && !caps.scopes);
    assert!(required(add, "userId") && caps.create_for_owner);
    // The description requires an expiration; "never" is the far-future date pats sends.
    assert!(required(add, "expirationDate") && caps.never_expires);
}

#[tokio::test]
async fn gitlab_capabilities_follow_the_description() {
    let doc = contract("gitlab");
    let harness = GitLabHarness::start().await;
    let caps = harness.portable_client().capabilities();
    let bare = harness.bare_client().capabilities();
    let token = schema(&doc, "PersonalAccessToken");
    let create = schema(&doc, "CreatePersonalAccessTokenBody");
    let rotate = schema(&doc, "RotatePersonalAccessTokenBody");
    let paths = &doc["paths"];
    // Expiry (a date) and last use are on every token.
    assert!(required(token, "expires_at") && caps.expiry == Reported::Always);
    assert_eq!(token["properties"]["expires_at"]["format"], "date");
    assert_eq!(
        caps.expiry_resolution,
        std::time::Duration::from_secs(86_400)
    );
    assert!(has(token, "last_used_at") && caps.last_use == Reported::Always);
    // A name of its own, required; scopes, a list of at least one, no documented limit.
    assert!(required(create, "name") && has(token, "name"));
    assert_eq!((caps.naming, caps.requires_name), (Naming::PerToken, true));
    assert!(!caps.unique_names);
    assert_eq!(create["properties"]["scopes"]["type"], "array");
    assert!(required(create, "scopes") && caps.scopes && caps.max_scopes.is_none());
    // Required: a client without default scopes says so; the suite's has `api`.
    assert!(bare.requires_scopes && !caps.requires_scopes);
    // Created for a user by id (administrators), or for oneself.
    assert!(paths["/api/v4/users/{user_id}/personal_access_tokens"]["post"].is_object());
    assert!(paths["/api/v4/user/personal_access_tokens"]["post"].is_object());
    assert!(caps.create_for_owner && !caps.requires_owner);
    // Nothing to ask for "never": an expiry is a date or left to the instance.
    assert!(!any_property(create, |k| k.contains("never")) && !caps.never_expires);
    // A rotate endpoint, whose body is only the new expiry (name and scopes are kept).
    assert!(paths["/api/v4/personal_access_tokens/{id}/rotate"]["post"].is_object());
    let kept: Vec<&String> = rotate["properties"].as_object().unwrap().keys().collect();
    assert_eq!(kept, ["expires_at"]);
    assert!(caps.native_rotate);
    // No rename or deactivation: only get, rotate and revoke on a token.
    let one: Vec<&String> = paths["/api/v4/personal_access_tokens/{id}"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert!(!one.iter().any(|m| *m == "patch" || *m == "put"), "{one:?}");
    assert!(!caps.rename && !caps.set_active);
    // A revoked token is kept: tokens say whether they are revoked.
    assert!(has(token, "revoked") && caps.revoked_readable);
    // The listing filters by user and last use, and pages.
    let params: Vec<&str> = paths["/api/v4/personal_access_tokens"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for (param, offered) in [
        ("user_id", caps.list_filters.owner),
        ("last_used_before", caps.list_filters.last_used_before),
        ("page", caps.pagination),
    ] {
        assert_eq!(params.contains(&param), offered, "{param}");
    }
    assert!(!caps.list_filters.never_used);
}
