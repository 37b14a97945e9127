//! The Dfns contract: extraction of the PAT subset from our own fragment.
//!
//! Dfns publishes no OpenAPI document with `/auth/pats` (the one in `dfns/dfns-api-docs`
//! predates it), so `upstream/dfns-pats.openapi.json` is written by us from facts of what
//! Dfns generates its official SDKs from: `@dfns/sdk` (`packages/sdk/generated/auth/types.ts`,
//! `client.ts`, the user-action fetch code) and `dfns-sdk-rust` (`src/auth/{mod,types}.rs`,
//! `src/signer.rs`, `src/client.rs`), plus the Dfns API reference pages. Each file is pinned
//! in the manifest (`vendored: false`: consulted, not committed). Every operation and every
//! schema of the fragment carries an `x-pats-source` naming where its facts come from.
//!
//! [`extract`] checks that the fragment is what the subset format needs (OpenAPI 3.0.x,
//! self-contained: only `#/components/schemas/<Name>` references, each resolving; every
//! operation with a unique `operationId`, `parameters`, `responses` and an `x-pats-source`;
//! every schema with an `x-pats-source`), keeps only the schemas reachable from the paths,
//! and then:
//!
//! - fills `x-pats-idempotent` from the method: `GET`, `PUT` and `DELETE` are idempotent
//!   (reads; a PUT of the same name/state, or deleting an archived token, leaves the token
//!   as it was), `POST` is not (each create makes a new token; each `/auth/action/init` and
//!   `/auth/action` mints a new single-use challenge or token). A value already in the
//!   fragment must agree;
//! - moves each schema's `x-pats-source` into `info.x-pats-source.schemas` (the codegen
//!   reads schemas and refuses unknown `x-pats-…` keys there), keeping the operations'
//!   sources where they are.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::Upstream;
use crate::Error;

/// The fragment's path in the manifest (and under `upstream/`).
pub const FRAGMENT: &str = "dfns-pats.openapi.json";

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];
const REF_PREFIX: &str = "#/components/schemas/";

/// The PAT subset of the pinned fragment.
pub fn extract(upstream: &Upstream) -> Result<Value, Error> {
    let text = upstream.read(FRAGMENT)?;
    let fragment: Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("contracts/dfns/upstream/{FRAGMENT}: {e}")))?;
    subset(fragment).map_err(|e| Error::new(format!("contracts/dfns/upstream/{FRAGMENT}: {e}")))
}

/// Checks the fragment and turns it into the subset (see the module docs).
pub fn subset(doc: Value) -> Result<Value, String> {
    subset_of(doc, &format!("contracts/dfns/upstream/{FRAGMENT}"))
}

/// [`subset`] for any provider's own fragment at `fragment` (its path from the root, named
/// in `info.x-pats-source.fragment`): the GitLab contract is built the same way.
pub fn subset_of(mut doc: Value, fragment: &str) -> Result<Value, String> {
    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !version.starts_with("3.0.") {
        return Err(format!("`openapi` must be 3.0.x, found `{version}`"));
    }
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .ok_or("missing `components.schemas`")?;
    for (name, schema) in &schemas {
        if !schema
            .get("x-pats-source")
            .is_some_and(|s| !s.is_null() && s != &json!([]) && s != &json!(""))
        {
            return Err(format!("schema `{name}` has no `x-pats-source`"));
        }
    }

    // Operations: ids, required parts, idempotency.
    let mut ids = BTreeSet::new();
    let mut roots = BTreeSet::new();
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or("missing `paths`")?;
    if paths.is_empty() {
        return Err("`paths` is empty".to_owned());
    }
    for (path, item) in paths.iter_mut() {
        let item = item
            .as_object_mut()
            .ok_or_else(|| format!("path `{path}` is not an object"))?;
        if let Some(other) = item.keys().find(|k| !METHODS.contains(&k.as_str())) {
            return Err(format!(
                "path `{path}`: `{other}` is not supported; put parameters on each operation"
            ));
        }
        for (method, operation) in item.iter_mut() {
            let at = format!("{} {path}", method.to_uppercase());
            let operation = operation
                .as_object_mut()
                .ok_or_else(|| format!("{at} is not an object"))?;
            let id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| format!("{at} has no `operationId`"))?;
            if !ids.insert(id.to_owned()) {
                return Err(format!("{at}: operationId `{id}` is used twice"));
            }
            for key in ["parameters", "responses", "x-pats-source"] {
                if !operation.contains_key(key) {
                    return Err(format!("{at} has no `{key}`"));
                }
            }
            check_parameters(&at, path, &operation["parameters"])?;
            let idempotent = method != "post";
            match operation.get("x-pats-idempotent") {
                None => {
                    operation.insert("x-pats-idempotent".to_owned(), Value::Bool(idempotent));
                }
                Some(Value::Bool(given)) if *given == idempotent => {}
                Some(other) => {
                    return Err(format!(
                        "{at}: `x-pats-idempotent` is {other}, but a {} is {}",
                        method.to_uppercase(),
                        if idempotent {
                            "idempotent"
                        } else {
                            "not idempotent"
                        }
                    ));
                }
            }
            collect_refs(&Value::Object(operation.clone()), &mut roots);
        }
    }

    // Every reference resolves; keep what the paths reach.
    let mut reachable = BTreeSet::new();
    let mut queue: Vec<String> = roots.into_iter().collect();
    while let Some(name) = queue.pop() {
        if !reachable.insert(name.clone()) {
            continue;
        }
        let schema = schemas
            .get(&name)
            .ok_or_else(|| format!("`{REF_PREFIX}{name}` does not resolve"))?;
        let mut refs = BTreeSet::new();
        collect_refs(schema, &mut refs);
        queue.extend(refs.into_iter().filter(|r| !reachable.contains(r)));
    }
    let mut kept = Map::new();
    let mut sources = BTreeMap::new();
    for (name, schema) in schemas {
        if !reachable.contains(&name) {
            continue;
        }
        let mut schema = schema;
        if let Some(object) = schema.as_object_mut()
            && let Some(source) = object.remove("x-pats-source")
        {
            sources.insert(name.clone(), source);
        }
        kept.insert(name, schema);
    }
    doc["components"]["schemas"] = Value::Object(kept);

    let info = doc
        .get_mut("info")
        .and_then(Value::as_object_mut)
        .ok_or("missing `info`")?;
    let fragment_source = info.remove("x-pats-source").unwrap_or(Value::Null);
    info.insert(
        "x-pats-source".to_owned(),
        json!({
            "fragment": fragment,
            "facts": fragment_source,
            "schemas": sources,
        }),
    );
    Ok(doc)
}

/// Path parameters match the template; every parameter says `in`, `required`, `schema`.
fn check_parameters(at: &str, path: &str, parameters: &Value) -> Result<(), String> {
    let parameters = parameters
        .as_array()
        .ok_or_else(|| format!("{at}: `parameters` is not an array"))?;
    let mut in_path = BTreeSet::new();
    for parameter in parameters {
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let location = parameter
            .get("in")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name.is_empty()
            || !matches!(location, "path" | "query" | "header")
            || !parameter.get("required").is_some_and(Value::is_boolean)
            || !parameter.get("schema").is_some_and(Value::is_object)
        {
            return Err(format!(
                "{at}: parameter `{name}` needs `in` (path, query or header), `required` and \
                 `schema`"
            ));
        }
        if location == "path" {
            in_path.insert(name.to_owned());
        }
    }
    let template: BTreeSet<String> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect();
    if template != in_path {
        return Err(format!(
            "{at}: path parameters {in_path:?} do not match the template {template:?}"
        ));
    }
    Ok(())
}

/// Every `$ref` under `value` as a schema name; a reference of another form is kept whole,
/// so that it fails to resolve with its own text.
fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    let text = v.as_str().unwrap_or_default();
                    let name = text
                        .strip_prefix(REF_PREFIX)
                        .filter(|n| !n.is_empty() && !n.contains('/'))
                        .map_or_else(|| format!("<bad $ref `{text}`>"), str::to_owned);
                    out.insert(name);
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn fragment() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1", "x-pats-source": ["dfns/dfns-sdk-ts@abc"]},
            "paths": {
                "/auth/pats": {
                    "get": {
                        "operationId": "listPersonalAccessTokens",
                        "x-pats-source": "client.ts",
                        "parameters": [{"name": "Authorization", "in": "header", "required": true, "schema": {"type": "string"}}],
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/List"}}}}}
                    },
                    "post": {
                        "operationId": "createPersonalAccessToken",
                        "x-pats-source": "client.ts",
                        "parameters": [],
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}},
                        "responses": {"200": {"description": "ok"}}
                    }
                },
                "/auth/pats/{tokenId}": {
                    "delete": {
                        "operationId": "deletePersonalAccessToken",
                        "x-pats-source": "mod.rs",
                        "parameters": [{"name": "tokenId", "in": "path", "required": true, "schema": {"type": "string"}}],
                        "responses": {"200": {"description": "ok"}}
                    }
                }
            },
            "components": {"schemas": {
                "List": {"type": "object", "x-pats-source": "types.ts", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Pat"}}}},
                "Pat": {"type": "object", "x-pats-source": ["types.ts", "types.rs"], "properties": {"tokenId": {"type": "string"}}},
                "Body": {"type": "object", "x-pats-source": "types.ts", "properties": {"kind": {"allOf": [{"$ref": "#/components/schemas/Kind"}]}}},
                "Kind": {"type": "string", "x-pats-source": "types.ts"},
                "Unused": {"type": "object", "x-pats-source": "types.ts"}
            }}
        })
    }

    #[test]
    fn fills_idempotency_by_method_and_keeps_reachable_schemas() {
        let out = subset(fragment()).unwrap();
        let idem = |p: &str| out.pointer(p).cloned().unwrap();
        assert_eq!(
            idem("/paths/~1auth~1pats/get/x-pats-idempotent"),
            json!(true)
        );
        assert_eq!(
            idem("/paths/~1auth~1pats/post/x-pats-idempotent"),
            json!(false)
        );
        assert_eq!(
            idem("/paths/~1auth~1pats~1{tokenId}/delete/x-pats-idempotent"),
            json!(true)
        );
        let schemas = out
            .pointer("/components/schemas")
            .unwrap()
            .as_object()
            .unwrap();
        let names: Vec<&str> = schemas.keys().map(String::as_str).collect();
        // `Kind` is reachable only through an array (`allOf`).
        assert_eq!(names, ["Body", "Kind", "List", "Pat"]);
        // An idempotency the fragment states, and that matches the method, is kept.
        let mut stated = fragment();
        stated["paths"]["/auth/pats"]["post"]["x-pats-idempotent"] = json!(false);
        let out = subset(stated).unwrap();
        assert_eq!(
            out.pointer("/paths/~1auth~1pats/post/x-pats-idempotent"),
            Some(&json!(false))
        );
        assert!(schemas.values().all(|s| s.get("x-pats-source").is_none()));
        assert_eq!(
            out.pointer("/info/x-pats-source/schemas/Pat").unwrap(),
            &json!(["types.ts", "types.rs"])
        );
        assert_eq!(
            out.pointer("/info/x-pats-source/facts").unwrap(),
            &json!(["dfns/dfns-sdk-ts@abc"])
        );
        // Operation sources stay.
        assert_eq!(
            idem("/paths/~1auth~1pats/get/x-pats-source"),
            json!("client.ts")
        );
    }

    #[test]
    fn refuses_what_the_subset_format_does_not_allow() {
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("3.0.x", Box::new(|d| d["openapi"] = json!("3.1.0"))),
            (
                "does not resolve",
                Box::new(|d| {
                    d["components"]["schemas"]
                        .as_object_mut()
                        .unwrap()
                        .remove("Pat");
                }),
            ),
            (
                "bad $ref",
                Box::new(|d| {
                    d["components"]["schemas"]["Pat"]["properties"]["x"] =
                        json!({"$ref": "other.json#/Pat"})
                }),
            ),
            (
                "bad $ref",
                Box::new(|d| {
                    d["components"]["schemas"]["Pat"]["properties"]["x"] =
                        json!({"$ref": "#/components/schemas/Pat/tokenId"})
                }),
            ),
            (
                "schema `Unused` has no `x-pats-source`",
                Box::new(|d| d["components"]["schemas"]["Unused"]["x-pats-source"] = json!([])),
            ),
            (
                "schema `Unused` has no `x-pats-source`",
                Box::new(|d| d["components"]["schemas"]["Unused"]["x-pats-source"] = json!("")),
            ),
            (
                "needs `in`",
                Box::new(|d| d["paths"]["/auth/pats"]["get"]["parameters"][0]["name"] = json!("")),
            ),
            (
                "needs `in`",
                Box::new(|d| {
                    d["paths"]["/auth/pats"]["get"]["parameters"][0]["in"] = json!("cookie")
                }),
            ),
            (
                "used twice",
                Box::new(|d| {
                    d["paths"]["/auth/pats"]["post"]["operationId"] =
                        json!("listPersonalAccessTokens")
                }),
            ),
            (
                "no `operationId`",
                Box::new(|d| {
                    d["paths"]["/auth/pats"]["get"]
                        .as_object_mut()
                        .unwrap()
                        .remove("operationId");
                }),
            ),
            (
                "no `x-pats-source`",
                Box::new(|d| {
                    d["paths"]["/auth/pats"]["get"]
                        .as_object_mut()
                        .unwrap()
                        .remove("x-pats-source");
                }),
            ),
            (
                "schema `Unused` has no `x-pats-source`",
                Box::new(|d| {
                    d["components"]["schemas"]["Unused"]
                        .as_object_mut()
                        .unwrap()
                        .remove("x-pats-source");
                }),
            ),
            (
                "do not match the template",
                Box::new(|d| {
                    d["paths"]["/auth/pats/{tokenId}"]["delete"]["parameters"] = json!([])
                }),
            ),
            (
                "needs `in`",
                Box::new(|d| {
                    d["paths"]["/auth/pats"]["get"]["parameters"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("required");
                }),
            ),
            (
                "not idempotent",
                Box::new(|d| d["paths"]["/auth/pats"]["post"]["x-pats-idempotent"] = json!(true)),
            ),
        ];
        for (expected, edit) in cases {
            let mut doc = fragment();
            edit(&mut doc);
            let err = subset(doc).unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn the_committed_fragment_extracts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let upstream = Upstream::load(&root.join("contracts/dfns")).unwrap();
        let out = extract(&upstream).unwrap();
        let paths = out["paths"].as_object().unwrap();
        for path in [
            "/auth/pats",
            "/auth/pats/{tokenId}",
            "/auth/pats/{tokenId}/activate",
            "/auth/pats/{tokenId}/deactivate",
            "/auth/action/init",
            "/auth/action",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        let kinds = out
            .pointer("/components/schemas/CreateUserActionChallengeResponse/properties/supportedCredentialKinds/items/$ref")
            .unwrap();
        assert_eq!(
            kinds,
            &json!("#/components/schemas/SupportedCredentialKind")
        );
        assert_eq!(
            out.pointer("/components/schemas/UserActionServerKind/enum")
                .unwrap(),
            &json!(["Api", "Staff"])
        );
        let required = out
            .pointer("/components/schemas/CreateUserActionChallengeBody/required")
            .unwrap();
        assert!(
            !required
                .as_array()
                .unwrap()
                .contains(&json!("userActionServerKind"))
        );
    }
}
