//! Every request the client sends decodes strictly as the vendor describes it.
//!
//! The client's create / list / get / revoke (both APIs, the trait and the typed calls, every
//! v2 filter) and its logins (JWT profile, client credentials) run against the simulator;
//! then each request the simulator received is matched to an operation of
//! `contracts/zitadel/openapi.json` (extracted from ZITADEL's protos) and its body is checked
//! against the request schema the way ZITADEL decodes proto3 JSON: an unknown field, a
//! missing required one, a wrong type or enum name, two members of a oneof, all fail. This
//! is a small strict checker for the subset's keywords, not a general validator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crate::common;

use crate::common::{BOT, builder, sim};
use pats_core::{CreateToken, Expiry, ListQuery, NeverExpires, PersonalAccessTokens};
use pats_sim::zitadel::ZitadelSim;
use pats_zitadel::{
    ApiVersion, ClientAuthMethod, ClientCredentials, ListPatsRequest, PatFilter, V2PatFieldName,
    V2TimestampFilterMethod, ZitadelAuth, ZitadelClient,
};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use std::time::Duration;
use time::OffsetDateTime;

const CONTRACT: &str = include_str!("../../../../contracts/zitadel/openapi.json");

struct Contract {
    doc: Value,
}

impl Contract {
    fn load() -> Self {
        Self {
            doc: serde_json::from_str(CONTRACT).unwrap(),
        }
    }

    /// The operation for `method` `path` (template variables match one segment).
    fn operation(&self, method: &str, path: &str) -> Result<(&str, &Value), String> {
        let segments: Vec<&str> = path.split('/').collect();
        for (template, item) in self.doc["paths"].as_object().unwrap() {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(t, s)| {
                    (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                });
            if matches && let Some(op) = item.get(method.to_ascii_lowercase()) {
                return Ok((op["operationId"].as_str().unwrap(), op));
            }
        }
        Err(format!("no operation {method} {path} in the contract"))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                &self.doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    /// Checks `value` against `schema`; the error names the JSON path and the rule.
    fn check(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let ok = options
                .iter()
                .filter(|o| self.check(o, value, at).is_ok())
                .count();
            return if ok == 1 {
                Ok(())
            } else {
                Err(format!("{at}: matches {ok} of the oneOf schemas: {value}"))
            };
        }
        let fail = |rule: &str| Err(format!("{at}: {rule}: {value}"));
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => {
                let Value::Object(object) = value else {
                    return fail("not an object");
                };
                self.check_object(schema, object, at)
            }
            Some("array") => {
                let Value::Array(items) = value else {
                    return fail("not an array");
                };
                for (i, item) in items.iter().enumerate() {
                    self.check(&schema["items"], item, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            Some("string") => {
                let Value::String(s) = value else {
                    return fail("not a string");
                };
                if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
                    && !allowed.contains(value)
                {
                    return fail("not one of the enum's names");
                }
                let len = s.chars().count() as u64;
                if schema
                    .get("minLength")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| len < m)
                {
                    return fail("shorter than minLength");
                }
                if schema
                    .get("maxLength")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| len > m)
                {
                    return fail("longer than maxLength");
                }
                if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                    // The subset's patterns are digit strings.
                    let digits = s.strip_prefix('-').unwrap_or(s);
                    let signed = pattern.starts_with("^-?");
                    let ok = !digits.is_empty()
                        && digits.bytes().all(|b| b.is_ascii_digit())
                        && (signed || !s.starts_with('-'));
                    if !ok {
                        return fail("does not match the pattern");
                    }
                }
                if schema.get("format").and_then(Value::as_str) == Some("date-time")
                    && OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                        .is_err()
                {
                    return fail("not an RFC 3339 date-time");
                }
                Ok(())
            }
            Some("integer") => {
                let Some(n) = value.as_i64().or_else(|| value.as_u64().map(|_| 0)) else {
                    return fail("not an integer");
                };
                if schema
                    .get("minimum")
                    .and_then(Value::as_i64)
                    .is_some_and(|m| n < m)
                {
                    return fail("below minimum");
                }
                Ok(())
            }
            Some("boolean") if !value.is_boolean() => fail("not a boolean"),
            Some("number") if !value.is_number() => fail("not a number"),
            _ => Ok(()),
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        object: &Map<String, Value>,
        at: &str,
    ) -> Result<(), String> {
        let empty = Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (key, value) in object {
            match properties.get(key) {
                Some(property) => self.check(property, value, &format!("{at}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: unknown field `{key}`"));
                }
                None => {}
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                return Err(format!("{at}: required field `{key}` is missing"));
            }
        }
        let required_oneofs: Vec<&str> = schema
            .get("x-pats-oneof-required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if let Some(oneofs) = schema.get("x-pats-oneof").and_then(Value::as_object) {
            for (name, members) in oneofs {
                let set = members
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| object.contains_key(m.as_str().unwrap()))
                    .count();
                if set > 1 || (set == 0 && required_oneofs.contains(&name.as_str())) {
                    return Err(format!("{at}: oneof `{name}` has {set} members set"));
                }
            }
        }
        Ok(())
    }

    /// Checks an answer against the operation's response for its status (or `default`).
    fn check_answer(&self, op: &Value, status: u16, body: &[u8]) -> Result<(), String> {
        let responses = &op["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .ok_or_else(|| format!("status {status} is not described"))?;
        let Some(schema) = response
            .get("content")
            .and_then(|c| c.get("application/json"))
            .map(|c| &c["schema"])
        else {
            return Ok(());
        };
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("status {status}: not JSON: {e}"))?;
        self.check(schema, &value, "answer")
    }

    /// Checks one received request; returns its operation id.
    fn check_request(&self, request: &pats_sim::Request) -> Result<String, String> {
        let (id, op) = self.operation(request.method.as_str(), request.url.path())?;
        let fail = |why: String| format!("{id} ({} {}): {why}", request.method, request.url.path());
        for parameter in op["parameters"].as_array().unwrap() {
            if parameter["in"] == "header"
                && parameter["required"] == true
                && !request
                    .headers
                    .contains_key(parameter["name"].as_str().unwrap())
            {
                return Err(fail(format!("header {} missing", parameter["name"])));
            }
        }
        let Some(content) = op.get("requestBody").map(|b| &b["content"]) else {
            return if request.body.is_empty() {
                Ok(id.to_owned())
            } else {
                Err(fail("a body where the operation has none".into()))
            };
        };
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mime = content_type.split(';').next().unwrap_or_default().trim();
        let Some(schema) = content.get(mime).map(|c| &c["schema"]) else {
            return Err(fail(format!("content type `{content_type}` not described")));
        };
        let body = if mime == "application/x-www-form-urlencoded" {
            let mut form = Map::new();
            for (k, v) in url::form_urlencoded::parse(&request.body) {
                if form.insert(k.to_string(), json!(v)).is_some() {
                    return Err(fail(format!("form field `{k}` repeated")));
                }
            }
            Value::Object(form)
        } else {
            serde_json::from_slice(&request.body).map_err(|e| fail(format!("not JSON: {e}")))?
        };
        self.check(schema, &body, "body").map_err(fail)?;
        Ok(id.to_owned())
    }
}

fn in_days(days: u64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::from_secs(days * 24 * 3600)
}

/// Everything the client sends, on one API.
async fn drive(client: &ZitadelClient) {
    let at = CreateToken::builder()
        .expiry(Expiry::In(Duration::from_secs(7 * 24 * 3600)))
        .build()
        .unwrap();
    let never = CreateToken::builder()
        .expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
        .build()
        .unwrap();
    let a = client.create(&at).await.unwrap();
    let b = client.create(&never).await.unwrap();
    // By name: the machine user is looked up with ListUsers.
    let named = CreateToken::builder()
        .name(BOT)
        .expiry(Expiry::In(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let c = client.create(&named).await.unwrap();
    client.revoke(&c.info.id).await.unwrap();
    let page = client.list(&ListQuery::new().page_size(1)).await.unwrap();
    client
        .list(&ListQuery::new().page_size(1).page(page.next_page))
        .await
        .unwrap();
    client.get(&a.info.id).await.unwrap();
    client.revoke(&a.info.id).await.unwrap();
    client.revoke(&b.info.id).await.unwrap();
}

/// Runs every call the client makes (both APIs, typed and trait, both logins).
async fn drive_everything() -> ZitadelSim {
    let sim = sim().await;
    sim.register_test_key(BOT).unwrap();

    // The trait on both APIs, scoped to an organization.
    for api in [ApiVersion::V2, ApiVersion::V1] {
        let client = builder(&sim, api)
            .default_user(BOT)
            .organization(ZitadelSim::DEFAULT_ORG)
            .build()
            .unwrap();
        drive(&client).await;
    }
    // v2 without a default user: revoke looks the owner up first.
    let client = builder(&sim, ApiVersion::V2).build().unwrap();
    let created = client
        .v2()
        .add_personal_access_token(BOT, in_days(1))
        .await
        .unwrap();
    client
        .revoke(&pats_core::TokenId::new(created.token_id).unwrap())
        .await
        .unwrap();
    // The typed v2 listing with every filter and sort column.
    let v2 = client.v2();
    let now = OffsetDateTime::now_utc();
    let request = ListPatsRequest::new()
        .offset(1)
        .limit(10)
        .asc(true)
        .sort_by(V2PatFieldName::PersonalAccessTokenFieldNameExpirationDate)
        .filter(PatFilter::TokenId("1".into()))
        .filter(PatFilter::UserId(BOT.into()))
        .filter(PatFilter::OrganizationId(ZitadelSim::DEFAULT_ORG.into()))
        .filter(PatFilter::CreatedDate(
            V2TimestampFilterMethod::TimestampFilterMethodBefore,
            now,
        ))
        .filter(PatFilter::ExpirationDate(
            V2TimestampFilterMethod::TimestampFilterMethodAfterOrEquals,
            now,
        ));
    v2.list_personal_access_tokens(&request).await.unwrap();
    v2.list_personal_access_tokens(&ListPatsRequest::new())
        .await
        .unwrap();
    // The typed v1 calls.
    let v1 = client.v1();
    let added = v1
        .add_personal_access_token(BOT, NeverExpires::I_UNDERSTAND_THE_RISK)
        .await
        .unwrap();
    let id = pats_core::TokenId::new(added.token_id).unwrap();
    v1.list_personal_access_tokens(BOT, 0, None, false)
        .await
        .unwrap();
    v1.get_personal_access_token(BOT, &id).await.unwrap();
    v1.remove_personal_access_token(BOT, &id).await.unwrap();
    // Both logins.
    let key_client = ZitadelClient::builder()
        .base_url(sim.uri())
        .auth(ZitadelAuth::key_file_json(&pats_sim::zitadel::test_key_file(BOT)).unwrap())
        .default_user(BOT)
        .options(common::options().0)
        .build()
        .unwrap();
    key_client.list(&ListQuery::new()).await.unwrap();
    let (client_id, secret) = sim.add_client_secret(BOT).unwrap();
    for method in [ClientAuthMethod::Basic, ClientAuthMethod::Post] {
        let credentials =
            ClientCredentials::new(client_id.clone(), SecretString::from(secret.clone()))
                .method(method);
        let cc = ZitadelClient::builder()
            .base_url(sim.uri())
            .auth(ZitadelAuth::ClientCredentials(credentials))
            .default_user(BOT)
            .options(common::options().0)
            .build()
            .unwrap();
        cc.list(&ListQuery::new()).await.unwrap();
    }
    sim
}

#[tokio::test]
async fn every_request_decodes_strictly_as_its_message() {
    let contract = Contract::load();
    let sim = drive_everything().await;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for request in sim.requests().await {
        match contract.check_request(&request) {
            Ok(id) => *seen.entry(id).or_default() += 1,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Every PAT operation and the token endpoint were exercised.
    for id in [
        "UserService_AddPersonalAccessToken",
        "UserService_ListPersonalAccessTokens",
        "UserService_RemovePersonalAccessToken",
        "UserService_ListUsers",
        "ManagementService_AddPersonalAccessToken",
        "ManagementService_ListPersonalAccessTokens",
        "ManagementService_GetPersonalAccessTokenByIDs",
        "ManagementService_RemovePersonalAccessToken",
        "Token",
    ] {
        assert!(seen.contains_key(id), "{id} not exercised: {seen:?}");
    }
}

#[test]
fn the_checker_refuses_what_zitadel_refuses() {
    let contract = Contract::load();
    let (_, op) = contract
        .operation(
            "POST",
            "/zitadel.user.v2.UserService/AddPersonalAccessToken",
        )
        .unwrap();
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let ok = json!({"userId": "1", "expirationDate": "2030-01-01T00:00:00Z"});
    contract.check(schema, &ok, "body").unwrap();
    for bad in [
        json!({"userId": "1"}),
        json!({"userId": "1", "expirationDate": "2030-01-01T00:00:00Z", "name": "x"}),
        json!({"userId": "", "expirationDate": "2030-01-01T00:00:00Z"}),
        json!({"userId": 1, "expirationDate": "2030-01-01T00:00:00Z"}),
        json!({"userId": "1", "expirationDate": "tomorrow"}),
    ] {
        assert!(contract.check(schema, &bad, "body").is_err(), "{bad}");
    }
    let (_, op) = contract
        .operation(
            "POST",
            "/zitadel.user.v2.UserService/ListPersonalAccessTokens",
        )
        .unwrap();
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    for bad in [
        json!({"filters": [{"tokenIdFilter": {"id": "1"}, "userIdFilter": {"id": "2"}}]}),
        json!({"filters": [{}]}),
        json!({"sortingColumn": "NAME"}),
        json!({"pagination": {"offset": "x"}}),
    ] {
        assert!(contract.check(schema, &bad, "body").is_err(), "{bad}");
    }
    contract
        .check(
            schema,
            &json!({"pagination": {"offset": "5", "limit": 3}}),
            "body",
        )
        .unwrap();
    contract
        .check(schema, &json!({"pagination": {"offset": 5}}), "body")
        .unwrap();
    // Only the described methods: no PUT on a token, no GET on the v2 service.
    assert!(
        contract
            .operation("PUT", "/management/v1/users/1/pats/2")
            .is_err()
    );
    assert!(
        contract
            .operation(
                "GET",
                "/zitadel.user.v2.UserService/ListPersonalAccessTokens"
            )
            .is_err()
    );
}

#[tokio::test]
async fn every_simulator_answer_is_what_the_contract_describes() {
    // The same requests again, straight to the simulator (a repeat of a removal answers
    // not_found, which the error schema describes): each answer must match the response
    // schema of its operation and status.
    let contract = Contract::load();
    let sim = drive_everything().await;
    let http = pats_core::reexports::reqwest::Client::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for request in sim.requests().await {
        let (id, op) = contract
            .operation(request.method.as_str(), request.url.path())
            .unwrap();
        let mut replay = http.request(
            request.method.as_str().parse().unwrap(),
            format!("{}{}", sim.uri(), request.url.path()),
        );
        for (name, value) in &request.headers {
            if name != "host" && name != "content-length" {
                replay = replay.header(name.as_str(), value.as_bytes());
            }
        }
        let answer = replay.body(request.body.clone()).send().await.unwrap();
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await.unwrap();
        match contract.check_answer(op, status, &bytes) {
            Ok(()) => checked += 1,
            Err(e) => failures.push(format!("{id}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(checked > 20, "{checked}");
    // Discovery too.
    let (_, op) = contract
        .operation("GET", "/.well-known/openid-configuration")
        .unwrap();
    let answer = http
        .get(format!("{}/.well-known/openid-configuration", sim.uri()))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    contract
        .check_answer(op, status, &answer.bytes().await.unwrap())
        .unwrap();
}
