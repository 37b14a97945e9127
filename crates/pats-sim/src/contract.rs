//! Every exchange a simulator answers (faults excepted) is offered here and, with the
//! `contract` feature, checked both ways against the provider's vendor contract, the PAT
//! subset in `contracts/<provider>/openapi.json` that `cargo xtask contracts` extracts from
//! the provider's own published description:
//!
//! - **the request**: an operation with this method and path exists; its required path,
//!   query and header parameters are present and valid; its content type is one the
//!   operation accepts; its body validates against the request schema;
//! - **the answer**: the operation describes this status; the body validates against the
//!   schema described for it (errors included).
//!
//! A request sent by a pats client (its `User-Agent` starts with `pats/`) must be on the
//! contract. A request from anything else (a test sending raw HTTP on purpose, another SDK)
//! may be off the contract only if the simulator refuses it with a 4xx; accepting it is a
//! violation of the simulator. A test that sends an off-contract request through the pats
//! transport on purpose (to see the simulator refuse it) marks it with the
//! [`OFF_CONTRACT_HEADER`](crate::OFF_CONTRACT_HEADER) header. Deliberate differences are listed, with their reason, in
//! `contracts/deviations.json`; a violation that one of them names is counted as such.
//!
//! Violations are printed to stderr at once and kept per simulator: when the simulator is
//! dropped (its last clone, normally at the end of the test that started it), its
//! [`ContractGuard`] panics with every violation, so the test that sent or received an
//! off-contract exchange fails under any runner (`cargo test -p <crate>`, nextest, an IDE),
//! as a `wiremock` `MockServer` verifies its expectations on drop. When `PATS_CONTRACT_LOG`
//! names a directory, every outcome is also appended to `<dir>/<pid>.jsonl`; `cargo xtask
//! test` sets it, sums the files up at the end and prints the totals (failing the run on
//! any violation too).

use crate::answer::Answer;

/// The provider a simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
pub(crate) enum Provider {
    Dfns,
    SailPoint,
    Zitadel,
    GitLab,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Dfns => "dfns",
            Provider::SailPoint => "sailpoint",
            Provider::Zitadel => "zitadel",
            Provider::GitLab => "gitlab",
        }
    }
}

/// Offers one request and the simulator's (non-fault) answer to the contract checker;
/// answers the violations found, one line each (none without the `contract` feature).
#[cfg(not(feature = "contract"))]
pub(crate) fn observe(
    _provider: Provider,
    _request: &crate::server::Request,
    _answer: &Answer,
) -> Vec<String> {
    Vec::new()
}

/// Offers one request and the simulator's (non-fault) answer to the contract checker;
/// answers the violations found, one line each (none without the `contract` feature).
#[cfg(feature = "contract")]
pub(crate) fn observe(
    provider: Provider,
    request: &crate::server::Request,
    answer: &Answer,
) -> Vec<String> {
    checker::observe(provider, request, answer)
}

/// Held by a simulator (all its clones share one): when the last clone is dropped, panics
/// with the contract violations its exchanges had, so the test that caused them fails.
/// Does nothing while the thread is already panicking (the test has failed anyway), or when
/// nothing was found.
pub(crate) struct ContractGuard {
    provider: Provider,
    violations: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ContractGuard {
    /// The guard of the simulator whose faults are `faults`.
    pub(crate) fn new(provider: Provider, faults: &crate::Faults) -> std::sync::Arc<Self> {
        std::sync::Arc::new(ContractGuard {
            provider,
            violations: faults.violations(),
        })
    }
}

impl Drop for ContractGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let violations = self.violations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(message) = verdict(self.provider, &violations) {
            panic!("{message}");
        }
    }
}

/// The message a dropped simulator with `violations` fails its test with, if any.
fn verdict(provider: Provider, violations: &[String]) -> Option<String> {
    if violations.is_empty() {
        return None;
    }
    Some(format!(
        "{} exchange(s) with this {} simulator were off the vendor contract (pats-sim \
         feature `contract`):\n  {}\nFix the side that is wrong, or list a deliberate deviation \
         with its reason in contracts/deviations.json",
        violations.len(),
        provider.name(),
        violations.join("\n  ")
    ))
}

#[cfg(feature = "contract")]
pub(crate) mod checker {
    use super::{Answer, Provider};
    use serde_json::{Map, Value, json};
    use std::collections::{BTreeMap, HashMap};
    use std::io::Write as _;
    use std::sync::{Arc, Mutex, OnceLock};

    const DFNS: &str = include_str!("generated/contracts/dfns.openapi.json");
    const SAILPOINT: &str = include_str!("generated/contracts/sailpoint.openapi.json");
    const ZITADEL: &str = include_str!("generated/contracts/zitadel.openapi.json");
    const GITLAB: &str = include_str!("generated/contracts/gitlab.openapi.json");
    const DEVIATIONS: &str = include_str!("generated/contracts/deviations.json");

    /// One way in which an exchange is off the contract.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Violation {
        /// `request` or `answer`.
        pub(crate) side: &'static str,
        /// The short, stable name of the rule (what `deviations.json` refers to).
        pub(crate) rule: String,
        /// What exactly was wrong.
        pub(crate) detail: String,
    }

    impl Violation {
        fn new(side: &'static str, rule: impl Into<String>, detail: impl Into<String>) -> Self {
            Violation {
                side,
                rule: rule.into(),
                detail: detail.into(),
            }
        }
    }

    /// What the checker concluded about one exchange.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Outcome {
        /// The operation matched, if any.
        pub(crate) operation: Option<String>,
        /// Off-contract findings that fail the run.
        pub(crate) violations: Vec<Violation>,
        /// Off-contract findings that `deviations.json` allows, with the rule they match.
        pub(crate) deviations: Vec<Violation>,
        /// Whether the request was off the contract but correctly refused (4xx).
        pub(crate) refused: bool,
    }

    /// A compiled operation of a contract.
    struct Operation {
        id: String,
        method: String,
        segments: Vec<Segment>,
        parameters: Vec<Parameter>,
        body_required: bool,
        /// Content type (lowercase, no parameters) → schema, if one is described.
        bodies: BTreeMap<String, Option<Value>>,
        /// Status (`200`, `4XX`, `default`) → schema of the JSON body, if one is described.
        responses: BTreeMap<String, Option<Value>>,
    }

    enum Segment {
        Literal(String),
        Param(String),
    }

    struct Parameter {
        name: String,
        location: String,
        required: bool,
        schema: Option<Value>,
    }

    /// One provider's operations and schemas, compiled once.
    pub(crate) struct Contract {
        operations: Vec<Operation>,
        /// `components.schemas`, turned into JSON Schema 2020-12 `$defs`.
        defs: Map<String, Value>,
        deviations: Vec<(String, String)>,
        /// Compiled validators, by the text of the schema they check.
        validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    }

    impl Contract {
        pub(crate) fn of(provider: Provider) -> &'static Contract {
            static CONTRACTS: [OnceLock<Contract>; 4] = [
                OnceLock::new(),
                OnceLock::new(),
                OnceLock::new(),
                OnceLock::new(),
            ];
            let (slot, text) = match provider {
                Provider::Dfns => (&CONTRACTS[0], DFNS),
                Provider::SailPoint => (&CONTRACTS[1], SAILPOINT),
                Provider::Zitadel => (&CONTRACTS[2], ZITADEL),
                Provider::GitLab => (&CONTRACTS[3], GITLAB),
            };
            slot.get_or_init(|| {
                let document: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                let deviations: Value = serde_json::from_str(DEVIATIONS).unwrap_or(Value::Null);
                Contract::compile(&document, &deviations[provider.name()])
            })
        }

        pub(crate) fn compile(document: &Value, deviations: &Value) -> Contract {
            let defs = document
                .pointer("/components/schemas")
                .and_then(Value::as_object)
                .map(|schemas| {
                    schemas
                        .iter()
                        .map(|(name, schema)| (name.clone(), to_json_schema(schema)))
                        .collect()
                })
                .unwrap_or_default();
            let mut operations = Vec::new();
            if let Some(paths) = document.get("paths").and_then(Value::as_object) {
                for (path, item) in paths {
                    let shared = item.get("parameters");
                    let Some(item) = item.as_object() else {
                        continue;
                    };
                    for (method, op) in item {
                        if !matches!(
                            method.as_str(),
                            "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
                        ) {
                            continue;
                        }
                        operations.push(Operation::compile(path, method, op, shared));
                    }
                }
            }
            let deviations = deviations
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|d| {
                            Some((
                                d.get("operation")?.as_str()?.to_owned(),
                                d.get("rule")?.as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Contract {
                operations,
                defs,
                deviations,
                validators: Mutex::new(HashMap::new()),
            }
        }

        /// Checks one exchange.
        pub(crate) fn check(&self, exchange: &Exchange<'_>) -> Outcome {
            let mut found = Vec::new();
            let operation = self.find(exchange.method, exchange.path, &mut found);
            if let Some(op) = operation {
                self.check_request(op, exchange, &mut found);
            }
            let request_off = !found.is_empty();
            let refused = request_off && (400..500).contains(&exchange.status);
            // A refused off-contract request is the simulator doing its job, unless a pats
            // client sent it: pats must never send what the provider does not define.
            if refused && !exchange.from_pats {
                found.clear();
            }
            if let Some(op) = operation {
                self.check_answer(op, exchange, &mut found);
            }
            let op_id = operation.map(|op| op.id.clone());
            let (deviations, violations) = found.into_iter().partition(|v| {
                self.deviations.iter().any(|(operation, rule)| {
                    // `*` is every operation; `UserService_*` every one with that prefix.
                    let applies = match operation.strip_suffix('*') {
                        Some(prefix) => op_id.as_deref().unwrap_or("").starts_with(prefix),
                        None => Some(operation) == op_id.as_ref(),
                    };
                    applies && v.rule.starts_with(rule.as_str())
                })
            });
            Outcome {
                operation: op_id,
                violations,
                deviations,
                refused: refused && !exchange.from_pats,
            }
        }

        fn find(&self, method: &str, path: &str, found: &mut Vec<Violation>) -> Option<&Operation> {
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let matching: Vec<&Operation> = self
                .operations
                .iter()
                .filter(|op| op.matches_path(&segments))
                .collect();
            if matching.is_empty() {
                found.push(Violation::new(
                    "request",
                    "unknown path",
                    format!("no operation is described for path {path}"),
                ));
                return None;
            }
            let op = matching
                .iter()
                .find(|op| op.method.eq_ignore_ascii_case(method))
                .copied();
            if op.is_none() {
                found.push(Violation::new(
                    "request",
                    "unknown method",
                    format!(
                        "{method} is not described for {path} (described: {})",
                        matching
                            .iter()
                            .map(|op| op.method.to_uppercase())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            op
        }

        fn check_request(
            &self,
            op: &Operation,
            exchange: &Exchange<'_>,
            found: &mut Vec<Violation>,
        ) {
            let segments: Vec<&str> = exchange.path.trim_start_matches('/').split('/').collect();
            for parameter in &op.parameters {
                let value = match parameter.location.as_str() {
                    "path" => op
                        .segments
                        .iter()
                        .zip(&segments)
                        .find(|(s, _)| matches!(s, Segment::Param(p) if *p == parameter.name))
                        .map(|(_, value)| percent_decode(value)),
                    "query" => exchange
                        .query
                        .iter()
                        .find(|(name, _)| *name == parameter.name)
                        .map(|(_, value)| value.clone()),
                    "header" => exchange
                        .headers
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(&parameter.name))
                        .map(|(_, value)| value.clone()),
                    _ => continue,
                };
                let Some(value) = value else {
                    if parameter.required {
                        found.push(Violation::new(
                            "request",
                            format!(
                                "missing {} parameter {}",
                                parameter.location, parameter.name
                            ),
                            format!(
                                "the required {} parameter `{}` is absent",
                                parameter.location, parameter.name
                            ),
                        ));
                    }
                    continue;
                };
                if let Some(schema) = &parameter.schema {
                    let instance = parameter_value(schema, &value);
                    if let Err(detail) = self.validate(schema, &instance) {
                        found.push(Violation::new(
                            "request",
                            format!(
                                "invalid {} parameter {}",
                                parameter.location, parameter.name
                            ),
                            detail,
                        ));
                    }
                }
            }
            let content_type = exchange
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .map(|(_, value)| media_type(value));
            if exchange.body.is_empty() {
                if op.body_required {
                    found.push(Violation::new(
                        "request",
                        "missing body",
                        "the operation requires a request body",
                    ));
                }
                return;
            }
            if op.bodies.is_empty() {
                found.push(Violation::new(
                    "request",
                    "unexpected body",
                    "the operation describes no request body",
                ));
                return;
            }
            let Some(content_type) = content_type else {
                found.push(Violation::new(
                    "request",
                    "missing content type",
                    "a body was sent without Content-Type",
                ));
                return;
            };
            let Some(schema) = op.bodies.get(&content_type) else {
                found.push(Violation::new(
                    "request",
                    "content type",
                    format!(
                        "Content-Type {content_type} is not described (described: {})",
                        op.bodies.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
                return;
            };
            let Some(schema) = schema else { return };
            let instance = match decode_body(&content_type, exchange.body, exchange.headers) {
                Ok(instance) => instance,
                Err(detail) => {
                    found.push(Violation::new("request", "body syntax", detail));
                    return;
                }
            };
            if let Err(detail) = self.validate(schema, &instance) {
                found.push(Violation::new("request", "request body", detail));
            }
        }

        fn check_answer(
            &self,
            op: &Operation,
            exchange: &Exchange<'_>,
            found: &mut Vec<Violation>,
        ) {
            let status = exchange.status.to_string();
            let class = format!("{}XX", status.chars().next().unwrap_or('0'));
            let described = op
                .responses
                .get(&status)
                .or_else(|| op.responses.get(&class))
                .or_else(|| op.responses.get("default"));
            let Some(schema) = described else {
                found.push(Violation::new(
                    "answer",
                    format!("status {status}"),
                    format!(
                        "status {status} is not described (described: {})",
                        op.responses.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
                return;
            };
            let body = exchange.answer_body.unwrap_or_default();
            match (schema, body.is_empty()) {
                (None, true) => {}
                (None, false) => found.push(Violation::new(
                    "answer",
                    format!("body of {status}"),
                    format!("status {status} is described without a JSON body, but one was sent"),
                )),
                (Some(_), true) => found.push(Violation::new(
                    "answer",
                    format!("body of {status}"),
                    format!("status {status} is described with a JSON body, but none was sent"),
                )),
                (Some(schema), false) => match serde_json::from_slice::<Value>(body) {
                    Err(e) => found.push(Violation::new(
                        "answer",
                        format!("body of {status}"),
                        format!("the body is not JSON: {e}"),
                    )),
                    Ok(instance) => {
                        if let Err(detail) = self.validate(schema, &instance) {
                            found.push(Violation::new(
                                "answer",
                                format!("body of {status}"),
                                detail,
                            ));
                        }
                    }
                },
            }
        }

        /// Validates `instance` against `schema` (OpenAPI 3.0, converted), with the
        /// contract's schemas as `$defs`.
        fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
            let key = schema.to_string();
            let cached = self
                .validators
                .lock()
                .ok()
                .and_then(|cache| cache.get(&key).cloned());
            let validator = match cached {
                Some(validator) => validator,
                None => {
                    let validator = Arc::new(self.compile_schema(schema)?);
                    if let Ok(mut cache) = self.validators.lock() {
                        cache.insert(key, Arc::clone(&validator));
                    }
                    validator
                }
            };
            let errors: Vec<String> = validator
                .iter_errors(instance)
                .take(3)
                .map(|e| format!("at `{}`: {e}", e.instance_path()))
                .collect();
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors.join("; "))
            }
        }

        fn compile_schema(&self, schema: &Value) -> Result<jsonschema::Validator, String> {
            let mut root = match to_json_schema(schema) {
                Value::Object(map) => map,
                other => {
                    let mut map = Map::new();
                    map.insert("allOf".to_owned(), json!([other]));
                    map
                }
            };
            root.insert(
                "$schema".to_owned(),
                json!("https://json-schema.org/draft/2020-12/schema"),
            );
            root.insert("$defs".to_owned(), Value::Object(self.defs.clone()));
            jsonschema::options()
                .should_validate_formats(true)
                .build(&Value::Object(root))
                .map_err(|e| format!("the contract's schema does not compile: {e}"))
        }
    }

    impl Operation {
        fn compile(path: &str, method: &str, op: &Value, shared: Option<&Value>) -> Operation {
            let segments = path
                .trim_start_matches('/')
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    },
                )
                .collect();
            let mut parameters = Vec::new();
            for list in [shared, op.get("parameters")].into_iter().flatten() {
                for p in list.as_array().into_iter().flatten() {
                    let (Some(name), Some(location)) = (
                        p.get("name").and_then(Value::as_str),
                        p.get("in").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    parameters.push(Parameter {
                        name: name.to_owned(),
                        location: location.to_owned(),
                        required: p.get("required").and_then(Value::as_bool) == Some(true)
                            || location == "path",
                        schema: p.get("schema").cloned(),
                    });
                }
            }
            let body = op.get("requestBody");
            let bodies = body
                .and_then(|b| b.get("content"))
                .and_then(Value::as_object)
                .map(|content| {
                    content
                        .iter()
                        .map(|(mime, media)| (media_type(mime), media.get("schema").cloned()))
                        .collect()
                })
                .unwrap_or_default();
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|responses| {
                    responses
                        .iter()
                        .map(|(status, response)| {
                            let schema = response
                                .get("content")
                                .and_then(Value::as_object)
                                .and_then(|content| {
                                    content
                                        .iter()
                                        .find(|(mime, _)| media_type(mime).ends_with("json"))
                                })
                                .and_then(|(_, media)| media.get("schema").cloned());
                            // `4xx` → `4XX`; `default` stays as it is.
                            let key = if status.eq_ignore_ascii_case("default") {
                                "default".to_owned()
                            } else {
                                status.to_uppercase()
                            };
                            (key, schema)
                        })
                        .collect()
                })
                .unwrap_or_default();
            Operation {
                id: op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{} {path}", method.to_uppercase())),
                method: method.to_owned(),
                segments,
                parameters,
                body_required: body
                    .and_then(|b| b.get("required"))
                    .and_then(Value::as_bool)
                    == Some(true),
                bodies,
                responses,
            }
        }

        fn matches_path(&self, segments: &[&str]) -> bool {
            self.segments.len() == segments.len()
                && self
                    .segments
                    .iter()
                    .zip(segments)
                    .all(|(s, actual)| match s {
                        Segment::Literal(l) => l == actual,
                        Segment::Param(_) => !actual.is_empty(),
                    })
        }
    }

    /// One request and its answer, as the checker sees them.
    pub(crate) struct Exchange<'a> {
        pub(crate) method: &'a str,
        pub(crate) path: &'a str,
        pub(crate) query: &'a [(String, String)],
        pub(crate) headers: &'a [(String, String)],
        pub(crate) body: &'a [u8],
        pub(crate) from_pats: bool,
        pub(crate) status: u16,
        pub(crate) answer_body: Option<&'a [u8]>,
    }

    /// `application/json; charset=utf-8` → `application/json`.
    fn media_type(value: &str) -> String {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    fn percent_decode(value: &str) -> String {
        url::form_urlencoded::parse(format!("x={}", value.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| value.to_owned())
    }

    /// A parameter's text as the JSON value its schema describes.
    fn parameter_value(schema: &Value, text: &str) -> Value {
        match schema.get("type").and_then(Value::as_str) {
            Some("integer" | "number") => serde_json::from_str(text).unwrap_or(json!(text)),
            Some("boolean") => match text {
                "true" => json!(true),
                "false" => json!(false),
                _ => json!(text),
            },
            _ => json!(text),
        }
    }

    /// The body as a JSON instance: JSON parsed, forms turned into objects of strings.
    fn decode_body(
        content_type: &str,
        body: &[u8],
        headers: &[(String, String)],
    ) -> Result<Value, String> {
        if content_type.ends_with("json") {
            return serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"));
        }
        if content_type == "application/x-www-form-urlencoded" {
            let map: Map<String, Value> = url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), json!(v.into_owned())))
                .collect();
            return Ok(Value::Object(map));
        }
        if content_type == "multipart/form-data" {
            let boundary = headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .and_then(|(_, value)| {
                    value.split(';').find_map(|p| {
                        p.trim()
                            .strip_prefix("boundary=")
                            .map(|b| b.trim_matches('"').to_owned())
                    })
                })
                .ok_or("multipart/form-data without a boundary")?;
            return multipart_fields(body, &boundary).map(Value::Object);
        }
        Ok(json!(String::from_utf8_lossy(body)))
    }

    /// The text fields of a multipart/form-data body.
    fn multipart_fields(body: &[u8], boundary: &str) -> Result<Map<String, Value>, String> {
        let text = String::from_utf8_lossy(body);
        let delimiter = format!("--{boundary}");
        let mut fields = Map::new();
        for part in text.split(delimiter.as_str()).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.trim_start_matches("\r\n");
            let Some((head, value)) = part.split_once("\r\n\r\n") else {
                return Err("a multipart part has no header/body separator".to_owned());
            };
            let name = head
                .split(';')
                .find_map(|p| p.trim().strip_prefix("name="))
                .map(|n| n.trim_matches('"').to_owned())
                .ok_or("a multipart part has no name")?;
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            fields.insert(name, json!(value));
        }
        Ok(fields)
    }

    /// An OpenAPI 3.0 schema as JSON Schema 2020-12: `$ref`s into `$defs`, `nullable`
    /// as a `null` alternative; other keywords are the same or annotations.
    pub(crate) fn to_json_schema(schema: &Value) -> Value {
        match schema {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, value) in map {
                    match key.as_str() {
                        "$ref" => {
                            let target = value
                                .as_str()
                                .unwrap_or_default()
                                .replace("#/components/schemas/", "#/$defs/");
                            out.insert(key.clone(), json!(target));
                        }
                        "nullable" | "example" | "discriminator" | "xml" | "externalDocs" => {}
                        "properties" | "patternProperties" => {
                            let converted = value
                                .as_object()
                                .map(|props| {
                                    props
                                        .iter()
                                        .map(|(k, v)| (k.clone(), to_json_schema(v)))
                                        .collect::<Map<_, _>>()
                                })
                                .unwrap_or_default();
                            out.insert(key.clone(), Value::Object(converted));
                        }
                        _ if key.starts_with("x-") => {}
                        _ => {
                            out.insert(key.clone(), to_json_schema(value));
                        }
                    }
                }
                if map.get("nullable") == Some(&Value::Bool(true)) {
                    if let Some(Value::String(t)) = out.get("type").cloned() {
                        out.insert("type".to_owned(), json!([t, "null"]));
                        if let Some(Value::Array(values)) = out.get_mut("enum") {
                            values.push(Value::Null);
                        }
                    } else {
                        let inner = Value::Object(out);
                        let mut wrapped = Map::new();
                        wrapped.insert("anyOf".to_owned(), json!([inner, { "type": "null" }]));
                        return Value::Object(wrapped);
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
            other => other.clone(),
        }
    }

    pub(super) fn observe(
        provider: Provider,
        request: &crate::server::Request,
        answer: &Answer,
    ) -> Vec<String> {
        let query: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let from_pats = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("user-agent") && v.starts_with("pats/"))
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(crate::OFF_CONTRACT_HEADER));
        let exchange = Exchange {
            method: request.method.as_str(),
            path: request.url.path(),
            query: &query,
            headers: &headers,
            body: &request.body,
            from_pats,
            status: answer.status,
            answer_body: answer.body.as_ref().map(|(bytes, _)| bytes.as_slice()),
        };
        let outcome = Contract::of(provider).check(&exchange);
        let lines = record(provider, &exchange, &outcome);
        if let Ok(mut recent) = RECENT.lock() {
            if recent.len() == RECENT_CAPACITY {
                recent.pop_front();
            }
            recent.push_back((provider.name(), outcome));
        }
        lines
    }

    const RECENT_CAPACITY: usize = 256;
    static RECENT: Mutex<std::collections::VecDeque<(&'static str, Outcome)>> =
        Mutex::new(std::collections::VecDeque::new());

    /// The last outcomes of this process (at most 256), oldest first, by provider name.
    #[cfg(test)]
    pub(crate) fn recent() -> Vec<(&'static str, Outcome)> {
        RECENT
            .lock()
            .map(|recent| recent.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Prints and logs one outcome; answers its violations, one line each.
    fn record(provider: Provider, exchange: &Exchange<'_>, outcome: &Outcome) -> Vec<String> {
        let operation = outcome.operation.as_deref().unwrap_or("?");
        let lines: Vec<String> = outcome
            .violations
            .iter()
            .map(|v| {
                format!(
                    "[{}] {} {} ({operation}) -> {}, {}: {}: {}",
                    provider.name(),
                    exchange.method,
                    exchange.path,
                    exchange.status,
                    v.side,
                    v.rule,
                    v.detail
                )
            })
            .collect();
        for line in &lines {
            eprintln!("CONTRACT VIOLATION {line}");
        }
        let Some(dir) = std::env::var_os("PATS_CONTRACT_LOG") else {
            return lines;
        };
        let line = json!({
            "provider": provider.name(),
            "operation": operation,
            "method": exchange.method,
            "path": exchange.path,
            "status": exchange.status,
            "from_pats": exchange.from_pats,
            "refused": outcome.refused,
            "violations": outcome.violations.iter().map(|v| json!({
                "side": v.side, "rule": v.rule, "detail": v.detail,
            })).collect::<Vec<_>>(),
            "deviations": outcome.deviations.iter().map(|v| json!({
                "side": v.side, "rule": v.rule,
            })).collect::<Vec<_>>(),
        });
        let path = std::path::Path::new(&dir).join(format!("{}.jsonl", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // One write per line: with O_APPEND, concurrent tests cannot interleave it.
            let _ = file.write_all(format!("{line}\n").as_bytes());
        }
        lines
    }
}

#[cfg(all(test, feature = "contract"))]
mod tests {
    use super::checker::{Contract, Exchange, Outcome, to_json_schema};
    use serde_json::{Value, json};

    fn contract(deviations: Value) -> Contract {
        let document = json!({
            "openapi": "3.0.3",
            "paths": {
                "/v3/things": {
                    "post": {
                        "operationId": "createThing",
                        "parameters": [
                            { "in": "header", "name": "X-Action", "required": true, "schema": { "type": "string" } },
                            { "in": "query", "name": "limit", "schema": { "type": "integer", "maximum": 10 } }
                        ],
                        "requestBody": { "required": true, "content": {
                            "application/json": { "schema": { "$ref": "#/components/schemas/NewThing" } },
                            "application/x-www-form-urlencoded": { "schema": { "$ref": "#/components/schemas/NewThing" } },
                            "multipart/form-data": { "schema": { "$ref": "#/components/schemas/NewThing" } }
                        } },
                        "responses": {
                            "200": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } },
                            "4xx": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                            "default": { "description": "anything else, without a body" }
                        }
                    }
                },
                "/v3/things/{id}": {
                    "delete": {
                        "operationId": "deleteThing",
                        "parameters": [ { "in": "path", "name": "id", "schema": { "type": "string", "pattern": "^[a-z]+$" } } ],
                        "responses": { "204": { "description": "gone" } }
                    }
                }
            },
            "components": { "schemas": {
                "NewThing": { "type": "object", "required": ["name"], "additionalProperties": false,
                    "properties": { "name": { "type": "string" } } },
                "Thing": { "type": "object", "required": ["id", "expires"], "properties": {
                    "id": { "type": "string" },
                    "expires": { "type": "string", "format": "date-time", "nullable": true } } },
                "Error": { "type": "object", "required": ["message"], "properties": { "message": { "type": "string" } } }
            } }
        });
        Contract::compile(&document, &deviations)
    }

    struct Ex {
        method: &'static str,
        path: &'static str,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        from_pats: bool,
        status: u16,
        answer: Vec<u8>,
    }

    impl Ex {
        fn create(body: Value, answer: Value) -> Ex {
            Ex {
                method: "POST",
                path: "/v3/things",
                query: vec![],
                headers: vec![
                    ("x-action".into(), "signed".into()),
                    ("content-type".into(), "application/json".into()),
                ],
                body: body.to_string().into_bytes(),
                from_pats: true,
                status: 200,
                answer: answer.to_string().into_bytes(),
            }
        }

        fn check(&self, contract: &Contract) -> Outcome {
            contract.check(&Exchange {
                method: self.method,
                path: self.path,
                query: &self.query,
                headers: &self.headers,
                body: &self.body,
                from_pats: self.from_pats,
                status: self.status,
                answer_body: (!self.answer.is_empty()).then_some(self.answer.as_slice()),
            })
        }
    }

    fn rules(outcome: &Outcome) -> Vec<String> {
        outcome
            .violations
            .iter()
            .map(|v| format!("{}: {}", v.side, v.rule))
            .collect()
    }

    fn thing() -> Value {
        json!({ "id": "a", "expires": null })
    }

    #[test]
    fn an_exchange_on_the_contract_passes_and_names_its_operation() {
        let outcome = Ex::create(json!({ "name": "ci" }), thing()).check(&contract(json!([])));
        assert_eq!(outcome.operation.as_deref(), Some("createThing"));
        assert_eq!(rules(&outcome), Vec::<String>::new());
    }

    #[test]
    fn unknown_paths_and_methods_are_violations() {
        let c = contract(json!([]));
        let mut ex = Ex::create(json!({ "name": "ci" }), thing());
        ex.path = "/v4/things";
        assert_eq!(rules(&ex.check(&c)), ["request: unknown path"]);
        ex.path = "/v3/things";
        ex.method = "PUT";
        let outcome = ex.check(&c);
        assert_eq!(rules(&outcome), ["request: unknown method"]);
        assert!(outcome.violations[0].detail.contains("described: POST"));
    }

    #[test]
    fn request_rules_each_name_what_is_wrong() {
        let c = contract(json!([]));
        let mut ex = Ex::create(json!({ "name": "ci", "extra": 1 }), thing());
        assert_eq!(rules(&ex.check(&c)), ["request: request body"]);
        ex.body = b"{\"name\": ".to_vec();
        assert_eq!(rules(&ex.check(&c)), ["request: body syntax"]);
        ex.body = br#"{"name":"ci"}"#.to_vec();
        ex.headers.retain(|(n, _)| n != "x-action");
        assert_eq!(
            rules(&ex.check(&c)),
            ["request: missing header parameter X-Action"]
        );
        ex.headers.push(("X-ACTION".into(), "signed".into()));
        ex.query = vec![("limit".into(), "11".into())];
        assert_eq!(
            rules(&ex.check(&c)),
            ["request: invalid query parameter limit"]
        );
        ex.query = vec![("limit".into(), "10".into())];
        ex.headers.retain(|(n, _)| n != "content-type");
        ex.headers
            .push(("content-type".into(), "text/plain".into()));
        assert_eq!(rules(&ex.check(&c)), ["request: content type"]);
        ex.body.clear();
        assert_eq!(rules(&ex.check(&c)), ["request: missing body"]);
    }

    #[test]
    fn forms_and_multipart_bodies_are_validated_as_objects() {
        let c = contract(json!([]));
        let mut ex = Ex::create(json!(null), thing());
        ex.headers[1].1 = "application/x-www-form-urlencoded".into();
        ex.body = b"name=ci".to_vec();
        assert_eq!(rules(&ex.check(&c)), Vec::<String>::new());
        ex.body = b"name=ci&other=1".to_vec();
        assert_eq!(rules(&ex.check(&c)), ["request: request body"]);
        ex.headers[1].1 = "multipart/form-data; boundary=XyZ".into();
        ex.body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nci\r\n--XyZ--\r\n"
                .to_vec();
        assert_eq!(rules(&ex.check(&c)), Vec::<String>::new());
        ex.headers[1].1 = "multipart/form-data".into();
        assert_eq!(rules(&ex.check(&c)), ["request: body syntax"]);
    }

    #[test]
    fn path_parameters_are_checked_against_their_schema() {
        let c = contract(json!([]));
        let mut ex = Ex::create(json!(null), json!(null));
        ex.method = "DELETE";
        ex.path = "/v3/things/abc";
        ex.body.clear();
        ex.answer.clear();
        ex.status = 204;
        assert_eq!(rules(&ex.check(&c)), Vec::<String>::new());
        ex.path = "/v3/things/ABC";
        assert_eq!(rules(&ex.check(&c)), ["request: invalid path parameter id"]);
        ex.path = "/v3/things/abc";
        ex.answer = b"{}".to_vec();
        assert_eq!(rules(&ex.check(&c)), ["answer: body of 204"]);
        ex.status = 500;
        let outcome = ex.check(&c);
        assert_eq!(rules(&outcome), ["answer: status 500"]);
        assert!(outcome.violations[0].detail.contains("described: 204"));
    }

    #[test]
    fn answers_must_be_described_and_valid() {
        let c = contract(json!([]));
        let mut ex = Ex::create(json!({ "name": "ci" }), json!({ "id": "a" }));
        assert_eq!(rules(&ex.check(&c)), ["answer: body of 200"]);
        ex.answer = json!({ "id": "a", "expires": "yesterday" })
            .to_string()
            .into_bytes();
        assert_eq!(rules(&ex.check(&c)), ["answer: body of 200"]);
        ex.answer = json!({ "id": "a", "expires": "2025-01-01T10:59:27.214Z" })
            .to_string()
            .into_bytes();
        assert_eq!(rules(&ex.check(&c)), Vec::<String>::new());
        ex.status = 500;
        assert_eq!(
            rules(&ex.check(&c)),
            ["answer: body of 500"],
            "`default` has no body"
        );
        ex.answer.clear();
        assert_eq!(rules(&ex.check(&c)), Vec::<String>::new());
        ex.answer = thing().to_string().into_bytes();
        ex.status = 409;
        assert_eq!(rules(&ex.check(&c)), ["answer: body of 409"]);
        ex.answer = json!({ "message": "taken" }).to_string().into_bytes();
        assert_eq!(rules(&ex.check(&c)), Vec::<String>::new());
    }

    #[test]
    fn off_contract_requests_may_only_come_from_elsewhere_and_be_refused() {
        let c = contract(json!([]));
        let mut ex = Ex::create(json!({}), json!({ "message": "name is required" }));
        ex.status = 400;
        // pats must never send it, refused or not.
        let outcome = ex.check(&c);
        assert_eq!(rules(&outcome), ["request: request body"]);
        assert!(!outcome.refused);
        // A raw test request the simulator refuses: fine, and counted as refused.
        ex.from_pats = false;
        let outcome = ex.check(&c);
        assert!(outcome.refused);
        assert_eq!(rules(&outcome), Vec::<String>::new());
        // Accepted by the simulator: the simulator is wrong.
        ex.status = 200;
        ex.answer = thing().to_string().into_bytes();
        let outcome = ex.check(&c);
        assert_eq!(rules(&outcome), ["request: request body"]);
        assert!(!outcome.refused);
    }

    #[test]
    fn listed_deviations_are_set_apart_by_operation_and_rule() {
        let c = contract(json!([
            { "operation": "createThing", "rule": "body of 5", "reason": "documented in prose" },
            { "operation": "deleteThing", "rule": "request body", "reason": "other op" }
        ]));
        let mut ex = Ex::create(json!({ "name": "ci", "extra": 1 }), thing());
        ex.status = 503;
        let outcome = ex.check(&c);
        assert_eq!(rules(&outcome), ["request: request body"]);
        assert_eq!(outcome.deviations.len(), 1);
        assert_eq!(outcome.deviations[0].rule, "body of 503");
        // A prefix pattern covers the operations it names, and only those.
        let c =
            contract(json!([{ "operation": "create*", "rule": "request body", "reason": "r" }]));
        let outcome = ex.check(&c);
        assert_eq!(rules(&outcome), ["answer: body of 503"]);
        assert_eq!(outcome.deviations[0].rule, "request body");
        let c =
            contract(json!([{ "operation": "delete*", "rule": "request body", "reason": "r" }]));
        assert_eq!(
            rules(&ex.check(&c)),
            ["request: request body", "answer: body of 503"]
        );
    }

    /// The whole path: a simulator offers its exchange, the checker records it under the
    /// provider's name.
    #[cfg(feature = "sailpoint")]
    #[test]
    fn a_simulator_exchange_reaches_the_checker() -> Result<(), Box<dyn std::error::Error>> {
        use std::io::{Read as _, Write as _};
        let runtime = tokio::runtime::Runtime::new()?;
        let sim = runtime.block_on(crate::sailpoint::SailPointSim::start());
        let address = sim.uri().trim_start_matches("http://").to_owned();
        let mut stream = std::net::TcpStream::connect(&address)?;
        stream.write_all(
            format!(
                "GET /contract-probe/nowhere HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
        let recent = super::checker::recent();
        let (provider, outcome) = recent
            .iter()
            .rev()
            .find(|(_, o)| o.operation.is_none() && o.refused)
            .ok_or("the exchange was not checked")?;
        assert_eq!(*provider, "sailpoint");
        assert!(outcome.violations.is_empty(), "{outcome:?}");
        drop(sim);
        Ok(())
    }

    #[test]
    fn openapi_nullable_becomes_a_null_alternative() {
        assert_eq!(
            to_json_schema(
                &json!({ "type": "string", "nullable": true, "enum": ["a"], "example": "a" })
            ),
            json!({ "type": ["string", "null"], "enum": ["a", null] })
        );
        assert_eq!(
            to_json_schema(&json!({ "$ref": "#/components/schemas/X", "nullable": true })),
            json!({ "anyOf": [{ "$ref": "#/$defs/X" }, { "type": "null" }] })
        );
        assert_eq!(
            to_json_schema(&json!({ "properties": { "type": { "type": "string", "x-y": 1 } } })),
            json!({ "properties": { "type": { "type": "string" } } })
        );
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod guard_tests {
    use super::{ContractGuard, Provider, verdict};

    #[test]
    fn no_violation_no_verdict() {
        assert_eq!(verdict(Provider::SailPoint, &[]), None);
    }

    #[test]
    fn the_verdict_names_the_provider_and_every_violation() {
        let message = verdict(
            Provider::Zitadel,
            &["first one".to_owned(), "second one".to_owned()],
        )
        .expect("violations give a verdict");
        assert!(
            message.starts_with(
                "2 exchange(s) with this zitadel simulator were off the vendor contract"
            ),
            "{message}"
        );
        assert!(
            message.contains("\n  first one\n  second one\n"),
            "{message}"
        );
        assert!(message.contains("contracts/deviations.json"), "{message}");
    }

    #[test]
    fn a_guard_with_violations_panics_when_dropped() {
        let faults = crate::Faults::default();
        let guard = ContractGuard::new(Provider::Dfns, &faults);
        faults
            .violations()
            .lock()
            .expect("not poisoned")
            .push("[dfns] GET /nowhere".to_owned());
        let dropped = std::panic::catch_unwind(move || drop(guard));
        let payload = dropped.expect_err("a guard with violations panics on drop");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("this dfns simulator"), "{message}");
        assert!(message.contains("[dfns] GET /nowhere"), "{message}");
    }

    #[test]
    fn a_clean_guard_drops_quietly() {
        let faults = crate::Faults::default();
        let guard = ContractGuard::new(Provider::Dfns, &faults);
        assert!(std::panic::catch_unwind(move || drop(guard)).is_ok());
    }
}
