//! The zitadel contract: the PAT subset, extracted from ZITADEL's own protos.
//!
//! # Input
//!
//! The vendored `.proto` files (see `contracts/zitadel/README.md`; some are verbatim
//! excerpts). Each file is parsed on its own with `protox-parse` into a
//! `FileDescriptorProto`; imports are **not** resolved and options stay uninterpreted. Our own
//! name resolution (protobuf scoping: innermost scope first) then follows only the messages
//! reachable from the PAT methods, so a message that is not vendored is an error naming it.
//!
//! # Output: OpenAPI 3.0 (`contracts/zitadel/openapi.json`)
//!
//! - **v2 user service over Connect** (what pats calls): `POST
//!   /zitadel.user.v2.UserService/<Method>` for `ListUsers` (token names are machine user
//!   usernames), `AddPersonalAccessToken`, `ListPersonalAccessTokens` and
//!   `RemovePersonalAccessToken`; the JSON body is the request
//!   message, the 200 answer the response message (Connect unary JSON).
//! - **v1 management REST**: `GetPersonalAccessTokenByIDs`, `ListPersonalAccessTokens`,
//!   `AddPersonalAccessToken`, `RemovePersonalAccessToken` from their `google.api.http` rules,
//!   under the API's `base_path` (`/management/v1`, from the file's `openapiv2_swagger`
//!   option). Path template variables become path parameters (named as in the rule); with
//!   `body: "*"` the body is the request message without the path-bound fields
//!   (`ManagementV1<Method>Body`, as grpc-gateway names it); without a body the remaining
//!   fields would be query parameters (none here). `deprecated` and the documented
//!   `x-zitadel-orgid` header come from the `openapiv2_operation` option.
//! - **Messages as proto3 JSON**: property names are the JSON names (lowerCamelCase),
//!   every message schema has `additionalProperties: false` (ZITADEL decodes strictly: an
//!   unknown field is an error), enums are their value names, `oneof`s are listed in
//!   `x-pats-oneof` (at most one member may be set; `validate.required` ones need exactly
//!   one: `x-pats-oneof-required`). Nothing is `required` in a proto3 message, except what the
//!   `validate.rules` (`min_len >= 1`, `timestamp.required`, `message.required`) or
//!   `google.api.field_behavior = REQUIRED` demand; string lengths become
//!   `minLength`/`maxLength`. Well-known types: `Timestamp` → RFC 3339 string, `Duration` →
//!   `"<seconds>s"` string, `Struct` → object, `Value` → any, wrappers → their scalar,
//!   `Empty` → `{}`. 64-bit integers are JSON strings in proto3 JSON, and numbers are accepted
//!   too: `oneOf` string (digits) / integer. Schema names are the full proto name without
//!   `zitadel.`, in Pascal case (`zitadel.user.v2.PersonalAccessToken` →
//!   `UserV2PersonalAccessToken`).
//! - **Errors** (`default` answers): v1 gives `google.rpc.Status` as grpc-gateway renders it
//!   (`RpcStatus`, numeric `code`), v2 the Connect error JSON (`ConnectError`, string
//!   `code`). Neither is in the vendored protos: listed in `contracts/deviations.json`.
//! - **Auth**, not in the protos (listed in `contracts/deviations.json`):
//!   `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3/§4) and
//!   `POST /oauth/v2/token` with the JWT-profile grant (RFC 7523 §2.1) and the
//!   client-credentials grant (RFC 6749 §4.4, client authentication by HTTP Basic or form,
//!   §2.3.1). API operations use the bearer token; the security schemes follow the
//!   `security_definitions` of the management API's `openapiv2_swagger` option.
//!
//! # `x-pats-idempotent`
//!
//! Decided by the effect on the server (RFC 9110 §9.2.2), not by the answer: listing,
//! reading and the token exchange change nothing (true); adding creates a new token every
//! time (false); removing leaves the same state however often it is repeated (true; a repeat
//! may answer `NotFound` on v1, and the v2 description says the answer is OK "if it was not
//! found in the first place").

use std::collections::{BTreeMap, BTreeSet};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    UninterpretedOption,
};
use serde_json::{Map, Value, json};

use super::Upstream;
use crate::Error;

/// The vendored files, in the order they are parsed.
const FILES: &[&str] = &[
    "proto/zitadel/user/v2/user_service.proto",
    "proto/zitadel/user/v2/pat.proto",
    "proto/zitadel/filter/v2/filter.proto",
    "proto/zitadel/management.proto",
    "proto/zitadel/user.proto",
    "proto/zitadel/object.proto",
    "proto/zitadel/user/v2/query.proto",
    "proto/zitadel/user/v2/user.proto",
    "proto/zitadel/user/v2/email.proto",
    "proto/zitadel/user/v2/phone.proto",
    "proto/zitadel/object/v2/object.proto",
];

const USER_SERVICE: &str = "zitadel.user.v2.UserService";
const MANAGEMENT_SERVICE: &str = "zitadel.management.v1.ManagementService";

/// The v2 methods pats calls (Connect). `ListUsers` resolves token owners to machine users
/// (a token's name is its machine user's username).
const V2_METHODS: &[&str] = &[
    "ListUsers",
    "AddPersonalAccessToken",
    "ListPersonalAccessTokens",
    "RemovePersonalAccessToken",
];

/// The v1 methods pats calls (REST).
const V1_METHODS: &[&str] = &[
    "GetPersonalAccessTokenByIDs",
    "ListPersonalAccessTokens",
    "AddPersonalAccessToken",
    "RemovePersonalAccessToken",
];

/// The organization header ZITADEL reads on every API.
pub const ORG_HEADER: &str = "x-zitadel-orgid";

/// The PAT subset of the upstream files.
pub fn extract(upstream: &Upstream) -> Result<Value, Error> {
    let mut sources = Vec::new();
    for path in FILES {
        sources.push((path.to_string(), upstream.read(path)?));
    }
    let pinned: Vec<Value> = upstream
        .files()
        .iter()
        .map(|f| json!({"repository": f.repository, "path": f.path, "commit": f.commit}))
        .collect();
    build(&sources, pinned)
}

/// Builds the subset from `(path, text)` pairs; `sources` goes into `info.x-pats-source`.
pub fn build(files: &[(String, String)], sources: Vec<Value>) -> Result<Value, Error> {
    let index = Index::parse(files)?;
    let mut out = Builder {
        index: &index,
        schemas: BTreeMap::new(),
        pending: Vec::new(),
    };
    let mut paths = Map::new();

    let service = index.service(USER_SERVICE)?;
    for name in V2_METHODS {
        let method = service.method(name)?;
        let request = out.message_ref(&method.input, &service.package)?;
        let response = out.message_ref(&method.output, &service.package)?;
        let operation = json!({
            "operationId": format!("UserService_{name}"),
            "summary": method.summary,
            "x-pats-idempotent": idempotent(name),
            "security": [{"bearer": []}],
            "parameters": [
                org_header(false),
                {
                    "name": "Connect-Protocol-Version",
                    "in": "header",
                    "required": false,
                    "description": "Connect protocol version (Connect protocol specification).",
                    "schema": {"type": "string", "enum": ["1"]}
                }
            ],
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": request}}
            },
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": response}}
                },
                "default": {
                    "description": "Connect error",
                    "content": {"application/json": {"schema": schema_ref("ConnectError")}}
                }
            }
        });
        paths.insert(
            format!("/{USER_SERVICE}/{name}"),
            json!({ "post": operation }),
        );
    }

    let management = index.service(MANAGEMENT_SERVICE)?;
    let base_path = management
        .base_path
        .clone()
        .ok_or_else(|| Error::new("management.proto: no `base_path` in `openapiv2_swagger`"))?;
    for name in V1_METHODS {
        let method = management.method(name)?;
        let rule = method.http.as_ref().ok_or_else(|| {
            Error::new(format!("{MANAGEMENT_SERVICE}.{name}: no google.api.http"))
        })?;
        let input = index.resolve(&method.input, &management.package)?;
        let input_msg = index.message(&input)?;
        let template_vars = path_variables(&rule.path);
        let mut parameters = Vec::new();
        let mut bound = BTreeSet::new();
        for var in &template_vars {
            let field = input_msg
                .desc
                .field
                .iter()
                .find(|f| f.name() == var)
                .ok_or_else(|| {
                    Error::new(format!(
                        "{MANAGEMENT_SERVICE}.{name}: path variable `{var}` is no field of {input}"
                    ))
                })?;
            let mut schema = out.field_schema(field, &input)?;
            add_string_rules(&mut schema, field);
            parameters.push(json!({
                "name": var,
                "in": "path",
                "required": true,
                "schema": schema
            }));
            bound.insert(var.clone());
        }
        if method.org_header {
            parameters.push(org_header(true));
        }
        let mut operation = Map::new();
        operation.insert(
            "operationId".into(),
            json!(format!("ManagementService_{name}")),
        );
        operation.insert("summary".into(), json!(method.summary));
        operation.insert("x-pats-idempotent".into(), json!(idempotent(name)));
        operation.insert("security".into(), json!([{"bearer": []}]));
        if method.deprecated {
            operation.insert("deprecated".into(), json!(true));
        }
        match rule.body.as_deref() {
            Some("*") => {
                let body_name = format!("ManagementV1{name}Body");
                let schema = out.body_schema(&input, &bound, &body_name)?;
                out.schemas.insert(body_name.clone(), schema);
                operation.insert(
                    "requestBody".into(),
                    json!({
                        "required": true,
                        "content": {"application/json": {"schema": schema_ref(&body_name)}}
                    }),
                );
            }
            None => {
                for field in &input_msg.desc.field {
                    if bound.contains(field.name()) {
                        continue;
                    }
                    let schema = out.field_schema(field, &input)?;
                    parameters.push(json!({
                        "name": json_name(field.name()),
                        "in": "query",
                        "required": false,
                        "schema": schema
                    }));
                }
            }
            Some(other) => {
                return Err(Error::new(format!(
                    "{MANAGEMENT_SERVICE}.{name}: body `{other}` is not supported"
                )));
            }
        }
        operation.insert("parameters".into(), Value::Array(parameters));
        let response = out.message_ref(&method.output, &management.package)?;
        operation.insert(
            "responses".into(),
            json!({
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": response}}
                },
                "default": {
                    "description": "google.rpc.Status as grpc-gateway renders it",
                    "content": {"application/json": {"schema": schema_ref("RpcStatus")}}
                }
            }),
        );
        let path = format!("{}{}", base_path.trim_end_matches('/'), rule.path);
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        if let Some(entry) = entry.as_object_mut() {
            entry.insert(rule.method.clone(), Value::Object(operation));
        }
    }
    out.drain()?;

    let mut schemas: Map<String, Value> = out.schemas.into_iter().collect();
    for (name, schema) in error_schemas() {
        schemas.insert(name, schema);
    }
    for (name, schema) in auth_schemas() {
        schemas.insert(name, schema);
    }
    for (path, item) in auth_paths() {
        paths.insert(path, item);
    }
    Ok(json!({
        "openapi": "3.0.3",
        "info": {
            "title": "ZITADEL personal access tokens (v2 user service over Connect JSON, v1 management REST)",
            "version": "1.0.0",
            "description": "Extracted by `cargo xtask contracts` from ZITADEL's protos (contracts/zitadel/upstream); the auth endpoints from OpenID Connect Discovery, RFC 6749 and RFC 7523. Do not edit.",
            "x-pats-source": sources
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A PAT or an access token from /oauth/v2/token."},
                "clientBasic": {"type": "http", "scheme": "basic", "description": "client_id:client_secret (RFC 6749 §2.3.1)."}
            },
            "schemas": schemas
        }
    }))
}

fn idempotent(method: &str) -> bool {
    !method.starts_with("Add")
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn org_header(documented: bool) -> Value {
    let description = if documented {
        "The organization to act in (default: the caller's own)."
    } else {
        "The organization to act in (default: the caller's own); a ZITADEL convention the v2 protos do not declare."
    };
    json!({
        "name": ORG_HEADER,
        "in": "header",
        "required": false,
        "description": description,
        "schema": {"type": "string"}
    })
}

/// The variables of a `google.api.http` path template (`/users/{user_id}` → `user_id`).
fn path_variables(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 1..start + end];
        // `{name=pattern}`: the variable is before `=`.
        out.push(inner.split('=').next().unwrap_or(inner).to_owned());
        rest = &rest[start + end + 1..];
    }
    out
}

/// protoc's JSON name of a field: `user_id` → `userId`.
pub fn json_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The schema name of a full proto name: `zitadel.user.v2.X.Y` → `UserV2XY`.
pub fn schema_name(full: &str) -> String {
    full.trim_start_matches("zitadel.")
        .split('.')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The index of parsed files.

struct MessageEntry {
    desc: DescriptorProto,
    /// Where the message's comments are: file and source path.
    file: usize,
    path: Vec<i32>,
}

struct EnumEntry {
    desc: EnumDescriptorProto,
}

struct HttpRule {
    method: String,
    path: String,
    body: Option<String>,
}

struct Method {
    input: String,
    output: String,
    summary: String,
    http: Option<HttpRule>,
    deprecated: bool,
    org_header: bool,
}

struct Service {
    package: String,
    base_path: Option<String>,
    methods: BTreeMap<String, Method>,
    name: String,
}

impl Service {
    fn method(&self, name: &str) -> Result<&Method, Error> {
        self.methods
            .get(name)
            .ok_or_else(|| Error::new(format!("{}: no method `{name}`", self.name)))
    }
}

struct Index {
    messages: BTreeMap<String, MessageEntry>,
    enums: BTreeMap<String, EnumEntry>,
    services: BTreeMap<String, Service>,
    /// Per file: source path → leading comment.
    comments: Vec<BTreeMap<Vec<i32>, String>>,
}

impl Index {
    fn parse(files: &[(String, String)]) -> Result<Self, Error> {
        let mut index = Index {
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
            services: BTreeMap::new(),
            comments: Vec::new(),
        };
        for (file_no, (path, text)) in files.iter().enumerate() {
            let name = path.trim_start_matches("proto/");
            let file =
                protox_parse::parse(name, text).map_err(|e| Error::new(format!("{path}: {e}")))?;
            index.add_file(file_no, &file)?;
        }
        Ok(index)
    }

    fn add_file(&mut self, file_no: usize, file: &FileDescriptorProto) -> Result<(), Error> {
        let package = file.package().to_owned();
        let mut comments = BTreeMap::new();
        if let Some(info) = &file.source_code_info {
            for location in &info.location {
                if let Some(c) = location.leading_comments.as_deref() {
                    comments.insert(location.path.clone(), c.to_owned());
                }
            }
        }
        self.comments.push(comments);
        for (i, message) in file.message_type.iter().enumerate() {
            self.add_message(file_no, &package, message, vec![4, index_i32(i)]);
        }
        for e in &file.enum_type {
            let full = format!("{package}.{}", e.name());
            // Files of different commits may both define a type (upstream moved it): the
            // later one would silently win, so a second definition is an error.
            if self.enums.contains_key(&full) || self.messages.contains_key(&full) {
                return Err(Error::new(format!(
                    "`{full}` is defined twice in the vendored protos; leave one out of an excerpt"
                )));
            }
            self.enums.insert(full, EnumEntry { desc: e.clone() });
        }
        let base_path = file
            .options
            .as_ref()
            .and_then(|o| find_option(&o.uninterpreted_option, "openapiv2_swagger"))
            .and_then(|o| o.aggregate_value.as_deref())
            .map(TextValue::parse_message)
            .transpose()?
            .and_then(|m| m.get_str("base_path"));
        for (s, service) in file.service.iter().enumerate() {
            let full = format!("{package}.{}", service.name());
            let mut methods = BTreeMap::new();
            for (m, method) in service.method.iter().enumerate() {
                let options = method
                    .options
                    .as_ref()
                    .map(|o| o.uninterpreted_option.as_slice())
                    .unwrap_or_default();
                let http = match find_option(options, "google.api.http")
                    .and_then(|o| o.aggregate_value.as_deref())
                {
                    Some(text) => Some(HttpRule::parse(&TextValue::parse_message(text)?)?),
                    None => None,
                };
                let openapi = find_option(options, "openapiv2_operation")
                    .and_then(|o| o.aggregate_value.as_deref())
                    .map(TextValue::parse_message)
                    .transpose()?;
                let deprecated = openapi
                    .as_ref()
                    .and_then(|o| o.get_ident("deprecated"))
                    .is_some_and(|v| v == "true");
                let org_header = openapi.as_ref().is_some_and(|o| {
                    o.all("parameters")
                        .flat_map(|p| p.all("headers"))
                        .any(|h| h.get_str("name").as_deref() == Some(ORG_HEADER))
                });
                let comment = self.comments[file_no]
                    .get(&vec![6, index_i32(s), 2, index_i32(m)])
                    .map(|c| first_line(c))
                    .unwrap_or_default();
                methods.insert(
                    method.name().to_owned(),
                    Method {
                        input: method.input_type().to_owned(),
                        output: method.output_type().to_owned(),
                        summary: comment,
                        http,
                        deprecated,
                        org_header,
                    },
                );
            }
            self.services.insert(
                full.clone(),
                Service {
                    package: package.clone(),
                    base_path: base_path.clone(),
                    methods,
                    name: full,
                },
            );
        }
        Ok(())
    }

    fn add_message(
        &mut self,
        file_no: usize,
        scope: &str,
        message: &DescriptorProto,
        path: Vec<i32>,
    ) {
        let full = format!("{scope}.{}", message.name());
        for (i, nested) in message.nested_type.iter().enumerate() {
            let mut nested_path = path.clone();
            nested_path.extend([3, index_i32(i)]);
            self.add_message(file_no, &full, nested, nested_path);
        }
        for e in &message.enum_type {
            self.enums.insert(
                format!("{full}.{}", e.name()),
                EnumEntry { desc: e.clone() },
            );
        }
        self.messages.insert(
            full,
            MessageEntry {
                desc: message.clone(),
                file: file_no,
                path,
            },
        );
    }

    fn service(&self, name: &str) -> Result<&Service, Error> {
        self.services
            .get(name)
            .ok_or_else(|| Error::new(format!("service `{name}` is not in the vendored protos")))
    }

    fn message(&self, full: &str) -> Result<&MessageEntry, Error> {
        self.messages
            .get(full)
            .ok_or_else(|| Error::new(format!("message `{full}` is not in the vendored protos")))
    }

    fn known(&self, full: &str) -> bool {
        self.messages.contains_key(full) || self.enums.contains_key(full) || wkt(full).is_some()
    }

    /// Resolves `name` as written inside `scope` (a package or a message's full name), by
    /// protobuf's rule: the innermost scope first.
    fn resolve(&self, name: &str, scope: &str) -> Result<String, Error> {
        if let Some(full) = name.strip_prefix('.') {
            return if self.known(full) {
                Ok(full.to_owned())
            } else {
                Err(Error::new(format!(
                    "type `{name}` is not in the vendored protos"
                )))
            };
        }
        let mut scope = scope.to_owned();
        loop {
            let candidate = if scope.is_empty() {
                name.to_owned()
            } else {
                format!("{scope}.{name}")
            };
            if self.known(&candidate) {
                return Ok(candidate);
            }
            if scope.is_empty() {
                return Err(Error::new(format!(
                    "type `{name}` (used in `{scope}`) is not in the vendored protos; vendor the \
                     file that defines it"
                )));
            }
            scope = scope
                .rsplit_once('.')
                .map_or(String::new(), |(s, _)| s.to_owned());
        }
    }
}

fn index_i32(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

/// The marker line of an excerpt (see `contracts/zitadel/README.md`); never a description.
const OMITTED: &str = "[pats: upstream lines omitted]";

fn first_line(comment: &str) -> String {
    comment
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && *l != OMITTED)
        .unwrap_or_default()
        .to_owned()
}

/// The option whose name ends with `name` (`(google.api.http)` → `google.api.http`).
fn find_option<'a>(
    options: &'a [UninterpretedOption],
    name: &str,
) -> Option<&'a UninterpretedOption> {
    options.iter().find(|o| {
        o.name.len() == 1 && {
            let part = o.name[0]
                .name_part
                .trim_start_matches('(')
                .trim_end_matches(')');
            part == name || part.ends_with(&format!(".{name}"))
        }
    })
}

/// The option value at `path` (`["(validate.rules)", "string", "min_len"]` style, matched
/// on the name parts without parentheses); aggregate values are searched inside.
fn option_value(options: &[UninterpretedOption], path: &[&str]) -> Option<TextValue> {
    for option in options {
        let parts: Vec<String> = option
            .name
            .iter()
            .map(|p| {
                p.name_part
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .to_owned()
            })
            .collect();
        if parts.len() > path.len() || parts.iter().zip(path).any(|(a, b)| a != b) {
            continue;
        }
        let value = if let Some(text) = &option.aggregate_value {
            TextValue::parse_message(text).ok()?
        } else if let Some(ident) = &option.identifier_value {
            TextValue::Ident(ident.clone())
        } else if let Some(n) = option.positive_int_value {
            TextValue::Ident(n.to_string())
        } else if let Some(n) = option.negative_int_value {
            TextValue::Ident(n.to_string())
        } else if let Some(s) = &option.string_value {
            TextValue::Str(String::from_utf8_lossy(s).into_owned())
        } else {
            continue;
        };
        let mut current = value;
        for key in &path[parts.len()..] {
            current = current.get(key)?.clone();
        }
        return Some(current);
    }
    None
}

fn wkt(full: &str) -> Option<Value> {
    let scalar = |t: &str| json!({ "type": t });
    Some(match full {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"})
        }
        "google.protobuf.Struct" => json!({"type": "object", "additionalProperties": true}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array", "items": {}}),
        "google.protobuf.Empty" => json!({"type": "object", "additionalProperties": false}),
        "google.protobuf.StringValue" => scalar("string"),
        "google.protobuf.BoolValue" => scalar("boolean"),
        "google.protobuf.BytesValue" => json!({"type": "string", "format": "byte"}),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => scalar("integer"),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => scalar("number"),
        "google.protobuf.Int64Value" => int64("int64"),
        "google.protobuf.UInt64Value" => int64("uint64"),
        _ => return None,
    })
}

/// A 64-bit integer in proto3 JSON: a string of digits, or a number.
fn int64(format: &str) -> Value {
    let pattern = if format == "uint64" {
        "^[0-9]+$"
    } else {
        "^-?[0-9]+$"
    };
    json!({
        "oneOf": [
            {"type": "string", "format": format, "pattern": pattern},
            {"type": "integer", "format": format}
        ]
    })
}

// ---------------------------------------------------------------------------------------
// Schemas.

struct Builder<'a> {
    index: &'a Index,
    schemas: BTreeMap<String, Value>,
    /// Full names whose schema is still to be written.
    pending: Vec<String>,
}

impl Builder<'_> {
    /// `$ref` to the schema of message `name` (as written in `scope`), queued for writing.
    fn message_ref(&mut self, name: &str, scope: &str) -> Result<Value, Error> {
        let full = self.index.resolve(name, scope)?;
        if let Some(schema) = wkt(&full) {
            return Ok(schema);
        }
        let key = schema_name(&full);
        if !self.schemas.contains_key(&key) && !self.pending.contains(&full) {
            self.pending.push(full);
        }
        Ok(schema_ref(&key))
    }

    fn drain(&mut self) -> Result<(), Error> {
        while let Some(full) = self.pending.pop() {
            let key = schema_name(&full);
            if self.schemas.contains_key(&key) {
                continue;
            }
            let schema = if self.index.enums.contains_key(&full) {
                self.enum_schema(&full)
            } else {
                self.message_schema(&full, &BTreeSet::new())?
            };
            self.schemas.insert(key, schema);
        }
        Ok(())
    }

    fn enum_schema(&self, full: &str) -> Value {
        let values: Vec<&str> = self.index.enums[full]
            .desc
            .value
            .iter()
            .map(|v| v.name())
            .collect();
        json!({ "type": "string", "enum": values, "x-protobuf-message": full })
    }

    /// A request body: the message without the fields bound to the path.
    fn body_schema(
        &mut self,
        full: &str,
        bound: &BTreeSet<String>,
        name: &str,
    ) -> Result<Value, Error> {
        let mut schema = self.message_schema(full, bound)?;
        if let Some(o) = schema.as_object_mut() {
            o.insert(
                "description".into(),
                json!(format!("{full} without the fields of the path ({name})")),
            );
        }
        Ok(schema)
    }

    fn message_schema(&mut self, full: &str, skip: &BTreeSet<String>) -> Result<Value, Error> {
        let entry = self.index.message(full)?;
        let desc = entry.desc.clone();
        let (file, path) = (entry.file, entry.path.clone());
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut oneofs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, field) in desc.field.iter().enumerate() {
            if skip.contains(field.name()) {
                continue;
            }
            let json = field
                .json_name
                .clone()
                .unwrap_or_else(|| json_name(field.name()));
            let mut schema = self.field_schema(field, full)?;
            add_string_rules(&mut schema, field);
            let mut field_path = path.clone();
            field_path.extend([2, index_i32(i)]);
            if let Some(comment) = self.index.comments[file].get(&field_path)
                && let Some(o) = schema.as_object_mut()
            {
                o.insert("description".into(), json!(first_line(comment)));
            }
            if is_required(field) {
                required.push(json.clone());
            }
            if let Some(oneof) = field.oneof_index
                && !field.proto3_optional()
                && let Some(decl) = desc
                    .oneof_decl
                    .get(usize::try_from(oneof).unwrap_or(usize::MAX))
            {
                oneofs
                    .entry(decl.name().to_owned())
                    .or_default()
                    .push(json.clone());
            }
            properties.insert(json, schema);
        }
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("additionalProperties".into(), json!(false));
        schema.insert("x-protobuf-message".into(), json!(full));
        if let Some(comment) = self.index.comments[file].get(&path) {
            schema.insert("description".into(), json!(first_line(comment)));
        }
        schema.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), json!(required));
        }
        if !oneofs.is_empty() {
            let mut must = Vec::new();
            for decl in &desc.oneof_decl {
                let options = decl
                    .options
                    .as_ref()
                    .map(|o| o.uninterpreted_option.as_slice())
                    .unwrap_or_default();
                if option_value(options, &["validate.required"])
                    .is_some_and(|v| v.as_ident() == Some("true"))
                {
                    must.push(decl.name().to_owned());
                }
            }
            schema.insert("x-pats-oneof".into(), json!(oneofs));
            if !must.is_empty() {
                schema.insert("x-pats-oneof-required".into(), json!(must));
            }
        }
        Ok(Value::Object(schema))
    }

    /// The schema of one field's value (an array for `repeated`).
    fn field_schema(&mut self, field: &FieldDescriptorProto, scope: &str) -> Result<Value, Error> {
        let single = match field.type_name.as_deref() {
            Some(name) => self.message_ref(name, scope)?,
            None => scalar_schema(field.r#type())?,
        };
        if field.label() == Label::Repeated {
            Ok(json!({ "type": "array", "items": single }))
        } else {
            Ok(single)
        }
    }
}

fn scalar_schema(t: Type) -> Result<Value, Error> {
    Ok(match t {
        Type::String => json!({"type": "string"}),
        Type::Bool => json!({"type": "boolean"}),
        Type::Bytes => json!({"type": "string", "format": "byte"}),
        Type::Double | Type::Float => json!({"type": "number"}),
        // proto3 JSON: 32-bit integers are written as numbers, but "either numbers or
        // strings are accepted" when parsing.
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => json!({
            "oneOf": [
                {"type": "string", "pattern": "^-?[0-9]+$"},
                {"type": "integer", "format": "int32"}
            ]
        }),
        Type::Uint32 | Type::Fixed32 => json!({
            "oneOf": [
                {"type": "string", "pattern": "^[0-9]+$"},
                {"type": "integer", "minimum": 0, "maximum": 4_294_967_295_u64}
            ]
        }),
        Type::Int64 | Type::Sint64 | Type::Sfixed64 => int64("int64"),
        Type::Uint64 | Type::Fixed64 => int64("uint64"),
        Type::Message | Type::Group | Type::Enum => {
            return Err(Error::new(format!(
                "unexpected field type {t:?} without a type name"
            )));
        }
    })
}

fn field_options(field: &FieldDescriptorProto) -> &[UninterpretedOption] {
    field
        .options
        .as_ref()
        .map(|o| o.uninterpreted_option.as_slice())
        .unwrap_or_default()
}

/// Whether `validate.rules` or `google.api.field_behavior` make a field required.
fn is_required(field: &FieldDescriptorProto) -> bool {
    let options = field_options(field);
    let min_len = option_value(options, &["validate.rules", "string", "min_len"])
        .and_then(|v| v.as_ident().and_then(|n| n.parse::<u64>().ok()));
    let flag =
        |path: &[&str]| option_value(options, path).is_some_and(|v| v.as_ident() == Some("true"));
    let behavior = option_value(options, &["google.api.field_behavior"])
        .is_some_and(|v| v.as_ident() == Some("REQUIRED"));
    min_len.is_some_and(|n| n >= 1)
        || flag(&["validate.rules", "timestamp", "required"])
        || flag(&["validate.rules", "message", "required"])
        || behavior
}

/// `minLength`/`maxLength` from `validate.rules.string`.
fn add_string_rules(schema: &mut Value, field: &FieldDescriptorProto) {
    let options = field_options(field);
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    if o.get("type").and_then(Value::as_str) != Some("string") || o.contains_key("format") {
        return;
    }
    for (rule, keyword) in [("min_len", "minLength"), ("max_len", "maxLength")] {
        if let Some(n) = option_value(options, &["validate.rules", "string", rule])
            .and_then(|v| v.as_ident().and_then(|n| n.parse::<u64>().ok()))
        {
            o.insert(keyword.into(), json!(n));
        }
    }
}

impl HttpRule {
    fn parse(rule: &TextValue) -> Result<Self, Error> {
        for method in ["get", "put", "post", "delete", "patch"] {
            if let Some(path) = rule.get_str(method) {
                return Ok(HttpRule {
                    method: method.to_owned(),
                    path,
                    body: rule.get_str("body"),
                });
            }
        }
        Err(Error::new("google.api.http rule without a method"))
    }
}

// ---------------------------------------------------------------------------------------
// Protobuf text format, enough for option aggregates.

/// A value of an option aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum TextValue {
    /// A quoted string (adjacent strings joined).
    Str(String),
    /// An identifier or number.
    Ident(String),
    /// A message: its fields in order (a key may repeat).
    Message(Vec<(String, TextValue)>),
    /// A `[...]` list.
    List(Vec<TextValue>),
}

impl TextValue {
    /// Parses the inside of an aggregate (`post: "/x" body: "*"`).
    pub fn parse_message(text: &str) -> Result<TextValue, Error> {
        let tokens = tokenize(text)?;
        let mut pos = 0;
        let fields = parse_fields(&tokens, &mut pos, false)?;
        Ok(TextValue::Message(fields))
    }

    fn get(&self, key: &str) -> Option<&TextValue> {
        match self {
            TextValue::Message(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a TextValue> + 'a {
        let fields: &[(String, TextValue)] = match self {
            TextValue::Message(fields) => fields,
            _ => &[],
        };
        fields.iter().filter(move |(k, _)| k == key).map(|(_, v)| v)
    }

    fn get_str(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(TextValue::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn get_ident(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(TextValue::as_ident)
    }

    fn as_ident(&self) -> Option<&str> {
        match self {
            TextValue::Ident(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&ch) = chars.get(i) else {
                    return Err(Error::new("unterminated string in an option aggregate"));
                };
                i += 1;
                if ch == quote {
                    break;
                }
                if ch == '\\' {
                    let Some(&esc) = chars.get(i) else {
                        return Err(Error::new("unterminated escape in an option aggregate"));
                    };
                    i += 1;
                    s.push(match esc {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                } else {
                    s.push(ch);
                }
            }
            // Adjacent string literals are one string.
            if let Some(Token::Str(prev)) = tokens.last_mut() {
                prev.push_str(&s);
            } else {
                tokens.push(Token::Str(s));
            }
        } else if "{}[]:;,<>".contains(c) {
            tokens.push(Token::Punct(c));
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"{}[]:;,<>\"'".contains(chars[i])
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        }
    }
    Ok(tokens)
}

fn parse_fields(
    tokens: &[Token],
    pos: &mut usize,
    nested: bool,
) -> Result<Vec<(String, TextValue)>, Error> {
    let mut fields = Vec::new();
    loop {
        match tokens.get(*pos) {
            None if !nested => return Ok(fields),
            None => return Err(Error::new("unterminated message in an option aggregate")),
            Some(Token::Punct('}' | '>')) if nested => {
                *pos += 1;
                return Ok(fields);
            }
            Some(Token::Punct(';' | ',')) => *pos += 1,
            Some(Token::Ident(key)) => {
                *pos += 1;
                if tokens.get(*pos) == Some(&Token::Punct(':')) {
                    *pos += 1;
                }
                let value = parse_value(tokens, pos)?;
                fields.push((key.clone(), value));
            }
            Some(other) => {
                return Err(Error::new(format!(
                    "unexpected {other:?} in an option aggregate"
                )));
            }
        }
    }
}

fn parse_value(tokens: &[Token], pos: &mut usize) -> Result<TextValue, Error> {
    match tokens.get(*pos) {
        Some(Token::Str(s)) => {
            *pos += 1;
            Ok(TextValue::Str(s.clone()))
        }
        Some(Token::Ident(s)) => {
            *pos += 1;
            Ok(TextValue::Ident(s.clone()))
        }
        Some(Token::Punct('{' | '<')) => {
            *pos += 1;
            Ok(TextValue::Message(parse_fields(tokens, pos, true)?))
        }
        Some(Token::Punct('[')) => {
            *pos += 1;
            let mut items = Vec::new();
            loop {
                match tokens.get(*pos) {
                    Some(Token::Punct(']')) => {
                        *pos += 1;
                        return Ok(TextValue::List(items));
                    }
                    Some(Token::Punct(',')) => *pos += 1,
                    Some(_) => items.push(parse_value(tokens, pos)?),
                    None => return Err(Error::new("unterminated list in an option aggregate")),
                }
            }
        }
        other => Err(Error::new(format!(
            "expected a value in an option aggregate, found {other:?}"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// What the protos do not describe.

/// The error bodies: `google.rpc.Status` (grpc-gateway, v1) and the Connect error (v2).
fn error_schemas() -> Vec<(String, Value)> {
    vec![
        (
            "RpcStatus".into(),
            json!({
                "type": "object",
                "description": "google.rpc.Status as grpc-gateway writes it (v1 REST errors).",
                "additionalProperties": false,
                "properties": {
                    "code": {"type": "integer", "format": "int32", "description": "gRPC code number."},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"$ref": "#/components/schemas/ProtobufAny"}}
                }
            }),
        ),
        (
            "ProtobufAny".into(),
            json!({
                "type": "object",
                "description": "google.protobuf.Any in proto3 JSON: `@type` and the message's fields.",
                "additionalProperties": true,
                "properties": {"@type": {"type": "string"}}
            }),
        ),
        (
            "ConnectError".into(),
            json!({
                "type": "object",
                "description": "A Connect unary error (Connect protocol specification).",
                "additionalProperties": false,
                "required": ["code"],
                "properties": {
                    "code": {"$ref": "#/components/schemas/ConnectCode"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"$ref": "#/components/schemas/ConnectErrorDetail"}}
                }
            }),
        ),
        (
            "ConnectCode".into(),
            json!({
                "type": "string",
                "description": "Connect error codes.",
                "enum": [
                    "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
                    "already_exists", "permission_denied", "resource_exhausted",
                    "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal",
                    "unavailable", "data_loss", "unauthenticated"
                ]
            }),
        ),
        (
            "ConnectErrorDetail".into(),
            json!({
                "type": "object",
                "description": "One error detail: type name, base64 message, optional JSON debug form.",
                "additionalProperties": false,
                "required": ["type", "value"],
                "properties": {
                    "type": {"type": "string"},
                    "value": {"type": "string", "format": "byte"},
                    "debug": {"type": "object", "additionalProperties": true}
                }
            }),
        ),
    ]
}

/// Discovery and the token endpoint (OpenID Connect Discovery 1.0, RFC 6749, RFC 7523).
fn auth_schemas() -> Vec<(String, Value)> {
    vec![
        (
            "OpenIdConfiguration".into(),
            json!({
                "type": "object",
                "description": "OpenID Provider Metadata (OpenID Connect Discovery 1.0 §3); more members are allowed.",
                "additionalProperties": true,
                "required": [
                    "issuer", "authorization_endpoint", "jwks_uri", "response_types_supported",
                    "subject_types_supported", "id_token_signing_alg_values_supported"
                ],
                "properties": {
                    "issuer": {"type": "string", "format": "uri"},
                    "authorization_endpoint": {"type": "string", "format": "uri"},
                    "token_endpoint": {"type": "string", "format": "uri"},
                    "jwks_uri": {"type": "string", "format": "uri"},
                    "scopes_supported": {"type": "array", "items": {"type": "string"}},
                    "response_types_supported": {"type": "array", "items": {"type": "string"}},
                    "grant_types_supported": {"type": "array", "items": {"type": "string"}},
                    "subject_types_supported": {"type": "array", "items": {"type": "string"}},
                    "id_token_signing_alg_values_supported": {"type": "array", "items": {"type": "string"}},
                    "token_endpoint_auth_methods_supported": {"type": "array", "items": {"type": "string"}}
                }
            }),
        ),
        (
            "OAuthTokenRequest".into(),
            json!({
                "type": "object",
                "description": "Token request (RFC 6749 §4.4.2 client credentials, RFC 7523 §2.1 JWT bearer); client credentials in the body per RFC 6749 §2.3.1.",
                "additionalProperties": false,
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {"$ref": "#/components/schemas/OAuthGrantType"},
                    "scope": {"type": "string"},
                    "assertion": {"type": "string"},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"}
                }
            }),
        ),
        (
            "OAuthGrantType".into(),
            json!({
                "type": "string",
                "enum": ["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"]
            }),
        ),
        (
            "OAuthTokenResponse".into(),
            json!({
                "type": "object",
                "description": "Successful token response (RFC 6749 §5.1).",
                "additionalProperties": true,
                "required": ["access_token", "token_type"],
                "properties": {
                    "access_token": {"type": "string"},
                    "token_type": {"type": "string"},
                    "expires_in": {"type": "integer"},
                    "scope": {"type": "string"},
                    "id_token": {"type": "string"}
                }
            }),
        ),
        (
            "OAuthError".into(),
            json!({
                "type": "object",
                "description": "Error response (RFC 6749 §5.2).",
                "additionalProperties": true,
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "error_description": {"type": "string"},
                    "error_uri": {"type": "string"}
                }
            }),
        ),
    ]
}

fn auth_paths() -> Vec<(String, Value)> {
    vec![
        (
            "/.well-known/openid-configuration".into(),
            json!({"get": {
                "operationId": "OpenIdConfiguration",
                "summary": "OpenID Provider configuration (OpenID Connect Discovery 1.0 §4).",
                "x-pats-idempotent": true,
                "parameters": [],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {"schema": schema_ref("OpenIdConfiguration")}}
                    }
                }
            }}),
        ),
        (
            "/oauth/v2/token".into(),
            json!({"post": {
                "operationId": "Token",
                "summary": "Token endpoint: JWT-profile (RFC 7523) and client-credentials (RFC 6749 §4.4) grants.",
                "x-pats-idempotent": true,
                "security": [{}, {"clientBasic": []}],
                "parameters": [],
                "requestBody": {
                    "required": true,
                    "content": {"application/x-www-form-urlencoded": {"schema": schema_ref("OAuthTokenRequest")}}
                },
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {"schema": schema_ref("OAuthTokenResponse")}}
                    },
                    "400": {
                        "description": "Error",
                        "content": {"application/json": {"schema": schema_ref("OAuthError")}}
                    },
                    "401": {
                        "description": "Client authentication failed",
                        "content": {"application/json": {"schema": schema_ref("OAuthError")}}
                    }
                }
            }}),
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const SERVICE: &str = r#"syntax = "proto3";
package zitadel.user.v2;
import "zitadel/filter/v2/filter.proto";
service UserService {
  // Add one
  rpc AddPersonalAccessToken(AddPersonalAccessTokenRequest) returns (AddPersonalAccessTokenResponse) {
    option (google.api.http) = { post: "/v2/users/{user_id}/pats" body: "*" };
  }
  rpc ListPersonalAccessTokens(ListPersonalAccessTokensRequest) returns (ListPersonalAccessTokensResponse) {}
  rpc RemovePersonalAccessToken(RemovePersonalAccessTokenRequest) returns (RemovePersonalAccessTokenResponse) {}
  // Search Users
  rpc ListUsers(ListUsersRequest) returns (ListUsersResponse) {}
}
message ListUsersRequest { repeated Filter queries = 3; }
message ListUsersResponse { repeated Inner.Deep result = 3; }
message AddPersonalAccessTokenRequest {
  // The user.
  string user_id = 1 [(validate.rules).string = {min_len: 1, max_len: 200}];
  google.protobuf.Timestamp expiration_date = 2 [(validate.rules).timestamp.required = true];
}
message AddPersonalAccessTokenResponse { string token_id = 2; string token = 3; }
message ListPersonalAccessTokensRequest {
  optional zitadel.filter.v2.PaginationRequest pagination = 1;
  repeated Filter filters = 3;
}
message Filter {
  oneof filter {
    option (validate.required) = true;
    zitadel.filter.v2.IDFilter token_id_filter = 1;
    Inner.Deep other = 2;
  }
}
message Inner { message Deep { Kind kind = 1; } enum Kind { KIND_A = 0; KIND_B = 1; } }
message ListPersonalAccessTokensResponse { zitadel.filter.v2.PaginationResponse pagination = 1; }
message RemovePersonalAccessTokenRequest { string token_id = 2; }
message RemovePersonalAccessTokenResponse { google.protobuf.Timestamp deletion_date = 1; }
"#;

    const FILTER: &str = r#"syntax = "proto3";
package zitadel.filter.v2;
message PaginationRequest { uint64 offset = 1; uint32 limit = 2; bool asc = 3; }
message PaginationResponse { uint64 total_result = 1; }
message IDFilter { string id = 1; }
"#;

    const MANAGEMENT: &str = r#"syntax = "proto3";
package zitadel.management.v1;
option (grpc.gateway.protoc_gen_openapiv2.options.openapiv2_swagger) = { base_path: "/management/v1"; };
service ManagementService {
  rpc GetPersonalAccessTokenByIDs(GetReq) returns (GetResp) {
    option (google.api.http) = { get: "/users/{user_id}/pats/{token_id}" };
    option (grpc.gateway.protoc_gen_openapiv2.options.openapiv2_operation) = {
      deprecated: true;
      parameters: { headers: { name: "x-zitadel-orgid"; type: STRING, required: false; }; };
    };
  }
  rpc ListPersonalAccessTokens(ListReq) returns (GetResp) {
    option (google.api.http) = { post: "/users/{user_id}/pats/_search" body: "*" };
  }
  rpc AddPersonalAccessToken(ListReq) returns (GetResp) {
    option (google.api.http) = { post: "/users/{user_id}/pats" body: "*" };
  }
  rpc RemovePersonalAccessToken(GetReq) returns (GetResp) {
    option (google.api.http) = { delete: "/users/{user_id}/pats/{token_id}" };
  }
}
message GetReq { string user_id = 1; string token_id = 2; }
message ListReq { string user_id = 1; int64 offset = 2; }
message GetResp { zitadel.v1.Details details = 1; }
"#;

    const OBJECT: &str = r#"syntax = "proto3";
package zitadel.v1;
message Details { uint64 sequence = 1; }
"#;

    fn files(service: &str) -> Vec<(String, String)> {
        vec![
            (
                "proto/zitadel/user/v2/user_service.proto".into(),
                service.into(),
            ),
            ("proto/zitadel/filter/v2/filter.proto".into(), FILTER.into()),
            ("proto/zitadel/management.proto".into(), MANAGEMENT.into()),
            ("proto/zitadel/object.proto".into(), OBJECT.into()),
        ]
    }

    fn subset() -> Value {
        build(&files(SERVICE), vec![]).unwrap()
    }

    #[test]
    fn v2_methods_become_connect_operations() {
        let s = subset();
        let op = &s["paths"]["/zitadel.user.v2.UserService/AddPersonalAccessToken"]["post"];
        assert_eq!(op["operationId"], "UserService_AddPersonalAccessToken");
        assert_eq!(op["x-pats-idempotent"], false);
        assert_eq!(op["summary"], "Add one");
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/UserV2AddPersonalAccessTokenRequest"
        );
        let remove = &s["paths"]["/zitadel.user.v2.UserService/RemovePersonalAccessToken"]["post"];
        assert_eq!(remove["x-pats-idempotent"], true);
        assert_eq!(remove["parameters"][0]["name"], ORG_HEADER);
    }

    #[test]
    fn list_users_is_an_idempotent_connect_operation() {
        let s = subset();
        let op = &s["paths"]["/zitadel.user.v2.UserService/ListUsers"]["post"];
        assert_eq!(op["operationId"], "UserService_ListUsers");
        assert_eq!(op["x-pats-idempotent"], true);
        assert_eq!(op["summary"], "Search Users");
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/UserV2ListUsersResponse"
        );
    }

    #[test]
    fn a_type_defined_twice_is_an_error() {
        let mut twice = files(SERVICE);
        twice.push((
            "proto/zitadel/user/v2/query.proto".into(),
            "syntax = \"proto3\";\npackage zitadel.filter.v2;\nenum Kind { A = 0; }\nenum Kind2 { B = 0; }\n".into(),
        ));
        twice.push((
            "proto/zitadel/user/v2/more.proto".into(),
            "syntax = \"proto3\";\npackage zitadel.filter.v2;\nenum Kind { A = 0; }\n".into(),
        ));
        let err = build(&twice, vec![]).unwrap_err();
        assert!(
            err.to_string()
                .contains("zitadel.filter.v2.Kind` is defined twice"),
            "{err}"
        );
    }

    #[test]
    fn messages_are_strict_proto3_json() {
        let s = subset();
        let schemas = &s["components"]["schemas"];
        let add = &schemas["UserV2AddPersonalAccessTokenRequest"];
        assert_eq!(add["additionalProperties"], false);
        assert_eq!(add["required"], json!(["userId", "expirationDate"]));
        assert_eq!(add["properties"]["userId"]["minLength"], 1);
        assert_eq!(add["properties"]["userId"]["maxLength"], 200);
        assert_eq!(add["properties"]["userId"]["description"], "The user.");
        assert_eq!(add["properties"]["expirationDate"]["format"], "date-time");
        // Integers, 64-bit and 32-bit: a decimal string or a number (proto3 JSON parsing
        // accepts both); uint32 keeps its range.
        let page = &schemas["FilterV2PaginationRequest"]["properties"];
        assert_eq!(page["offset"]["oneOf"][0]["type"], "string");
        assert_eq!(page["offset"]["oneOf"][1]["type"], "integer");
        assert_eq!(page["limit"]["oneOf"][0]["pattern"], "^[0-9]+$");
        assert_eq!(page["limit"]["oneOf"][1]["type"], "integer");
        assert_eq!(page["limit"]["oneOf"][1]["maximum"], 4_294_967_295_u64);
        // Responses require nothing (proto3 JSON omits zero values).
        assert!(
            schemas["UserV2AddPersonalAccessTokenResponse"]
                .get("required")
                .is_none()
        );
    }

    #[test]
    fn names_resolve_by_scope_and_oneofs_are_listed() {
        let s = subset();
        let schemas = &s["components"]["schemas"];
        let filter = &schemas["UserV2Filter"];
        assert_eq!(
            filter["x-pats-oneof"],
            json!({"filter": ["tokenIdFilter", "other"]})
        );
        assert_eq!(filter["x-pats-oneof-required"], json!(["filter"]));
        assert_eq!(
            filter["properties"]["other"]["$ref"],
            "#/components/schemas/UserV2InnerDeep"
        );
        assert_eq!(
            schemas["UserV2InnerDeep"]["properties"]["kind"]["$ref"],
            "#/components/schemas/UserV2InnerKind"
        );
        assert_eq!(
            schemas["UserV2InnerKind"]["enum"],
            json!(["KIND_A", "KIND_B"])
        );
        assert_eq!(
            schemas["UserV2ListPersonalAccessTokensRequest"]["properties"]["filters"]["items"]["$ref"],
            "#/components/schemas/UserV2Filter"
        );
        // Unreached messages are not in the subset.
        assert!(schemas.get("UserV2Inner").is_none());
    }

    #[test]
    fn v1_rest_rules_become_paths_with_parameters_and_bodies() {
        let s = subset();
        let item = &s["paths"]["/management/v1/users/{user_id}/pats/{token_id}"];
        let get = &item["get"];
        assert_eq!(
            get["operationId"],
            "ManagementService_GetPersonalAccessTokenByIDs"
        );
        assert_eq!(get["deprecated"], true);
        assert_eq!(get["x-pats-idempotent"], true);
        let names: Vec<&str> = get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["user_id", "token_id", ORG_HEADER]);
        assert!(get.get("requestBody").is_none());
        assert_eq!(item["delete"]["x-pats-idempotent"], true);
        let add = &s["paths"]["/management/v1/users/{user_id}/pats"]["post"];
        assert_eq!(add["x-pats-idempotent"], false);
        assert_eq!(
            add["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ManagementV1AddPersonalAccessTokenBody"
        );
        let body = &s["components"]["schemas"]["ManagementV1AddPersonalAccessTokenBody"];
        assert!(body["properties"].get("userId").is_none());
        assert!(body["properties"].get("offset").is_some());
        assert_eq!(
            s["components"]["schemas"]["ManagementV1GetResp"]["properties"]["details"]["$ref"],
            "#/components/schemas/V1Details"
        );
    }

    #[test]
    fn a_missing_message_is_an_error_naming_it() {
        let broken = SERVICE.replace(
            "zitadel.filter.v2.PaginationResponse pagination",
            "zitadel.filter.v2.Missing pagination",
        );
        let err = build(&files(&broken), vec![]).unwrap_err().to_string();
        assert!(err.contains("zitadel.filter.v2.Missing"), "{err}");
    }

    #[test]
    fn excerpt_markers_are_never_descriptions() {
        let marked = SERVICE.replace(
            "  // Add one\n",
            "// [pats: upstream lines omitted]\n  // Add one\n",
        );
        let s = build(&files(&marked), vec![]).unwrap();
        let op = &s["paths"]["/zitadel.user.v2.UserService/AddPersonalAccessToken"]["post"];
        assert_eq!(op["summary"], "Add one");
    }

    /// The committed upstream files give the facts pats relies on.
    #[test]
    fn the_vendored_protos_give_the_pat_contract() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/zitadel");
        let upstream = Upstream::load(&dir).unwrap();
        let s = extract(&upstream).unwrap();
        let schemas = &s["components"]["schemas"];
        // v2: the expiration is required (validate.rules timestamp.required).
        assert_eq!(
            schemas["UserV2AddPersonalAccessTokenRequest"]["required"],
            json!(["userId", "expirationDate"])
        );
        assert_eq!(
            schemas["UserV2RemovePersonalAccessTokenRequest"]["required"],
            json!(["userId", "tokenId"])
        );
        assert_eq!(
            schemas["UserV2PersonalAccessTokensSearchFilter"]["x-pats-oneof"]["filter"],
            json!([
                "tokenIdFilter",
                "userIdFilter",
                "organizationIdFilter",
                "createdDateFilter",
                "expirationDateFilter"
            ])
        );
        // v1: the REST rules under the management base path.
        let paths = &s["paths"];
        for (path, method, id) in [
            (
                "/management/v1/users/{user_id}/pats",
                "post",
                "AddPersonalAccessToken",
            ),
            (
                "/management/v1/users/{user_id}/pats/_search",
                "post",
                "ListPersonalAccessTokens",
            ),
            (
                "/management/v1/users/{user_id}/pats/{token_id}",
                "get",
                "GetPersonalAccessTokenByIDs",
            ),
            (
                "/management/v1/users/{user_id}/pats/{token_id}",
                "delete",
                "RemovePersonalAccessToken",
            ),
        ] {
            let op = &paths[path][method];
            assert_eq!(
                op["operationId"],
                format!("ManagementService_{id}"),
                "{path}"
            );
            assert_eq!(op["deprecated"], true, "{path}");
        }
        assert_eq!(
            schemas["ManagementV1AddPersonalAccessTokenBody"]["properties"],
            json!({"expirationDate": {
                "type": "string",
                "format": "date-time",
            }})
        );
        assert_eq!(
            schemas["UserV1PersonalAccessToken"]["properties"]["scopes"]["type"],
            "array"
        );
        // Every operation says whether it is idempotent.
        for item in paths.as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                assert!(op["x-pats-idempotent"].is_boolean(), "{op}");
            }
        }
    }

    #[test]
    fn text_format_aggregates() {
        let v = TextValue::parse_message(
            "post: \"/a/{b}\" body: \"*\" additional: [\"x\", 'y'] nested { k: 1; s: \"a\" \"b\" }",
        )
        .unwrap();
        assert_eq!(v.get_str("post").as_deref(), Some("/a/{b}"));
        assert_eq!(v.get_str("body").as_deref(), Some("*"));
        assert_eq!(v.get("nested").unwrap().get_ident("k"), Some("1"));
        assert_eq!(v.get("nested").unwrap().get_str("s").as_deref(), Some("ab"));
        assert!(TextValue::parse_message("a: \"open").is_err());
        assert_eq!(
            path_variables("/u/{user_id}/p/{token_id=*}"),
            ["user_id", "token_id"]
        );
        assert_eq!(json_name("expiration_date"), "expirationDate");
        assert_eq!(
            schema_name("zitadel.user.v2.PersonalAccessToken"),
            "UserV2PersonalAccessToken"
        );
        assert_eq!(schema_name("zitadel.v1.ObjectDetails"), "V1ObjectDetails");
    }
}
