//! The SailPoint contract: the PAT subset of `sailpoint-oss/api-specs`.
//!
//! # Sources
//!
//! The five version roots `idn/sailpoint-api.{v3,beta,v2024,v2025,v2026}.yaml` and the
//! per-API root `idn/apis/personal-access-tokens/openapi.yaml` (v1), with the path,
//! response and schema files their personal-access-token paths reference. From each root
//! the extraction reads:
//!
//! - the path prefix: the path of its first `servers` URL (`/v3`, ..., none for v1);
//! - every `paths` entry whose key names `personal-access-tokens`, following its `$ref` to
//!   the path file;
//! - the `tokenUrl` of the `clientCredentials` flows of its `securitySchemes` (the five
//!   version roots; the v1 root has none). The descriptions say no more about
//!   `/oauth/token` than that URL: the operation written for it takes its request and
//!   answers from RFC 6749 (sections 2.3.1, 4.4, 5.1, 5.2) and SailPoint's authentication
//!   guide, as listed in `contracts/deviations.json`.
//!
//! Pages of SailPoint's developer site (`PAGES`) add operations `api-specs` does not have yet:
//! the V1 bulk update (`/personal-access-tokens/v1/bulk-update`, which the official Python SDK
//! `sailpoint` 2.1.72 calls; api-specs at 81ef79d lacks it). A page is the operation's
//! dereferenced OpenAPI document in a fenced `yaml` block; its inline schemas with a `title`
//! and `properties` or `enum` are treated as named schemas, so they merge with the files'
//! schemas they equal. Its description's "also accessible via `POST`" adds the POST twin.
//!
//! Relative `$ref`s (`file.yaml`, `file.yaml#/pointer`, `#/pointer`) are resolved against
//! the referring file; a reference to a file that is not vendored is an error naming the
//! referring file and the reference.
//!
//! # The subset
//!
//! - One operation per version and upstream operation, at `<prefix><upstream path>`.
//!   `operationId` is `<version>.<upstream operationId>` (`v3.listPersonalAccessTokens`,
//!   `v1.listPersonalAccessTokensV1`), unique because each version has its own prefix;
//!   `x-pats-api-version` names the version (`v3`, `beta`, `v2024`, `v2025`, `v2026`,
//!   `v1`; `oauth` for the token endpoint, whose operationId is `oauth.token`).
//! - `x-pats-idempotent` by HTTP semantics: GET and DELETE are idempotent (a repeated
//!   delete changes nothing more), POST is not (a second create makes a second token), and
//!   PATCH is not (a JSON Patch may `add` to an array or `move`; the client marks a patch
//!   made only of `replace` and `test` idempotent itself). The token request is idempotent:
//!   it creates nothing, a repeat only yields another access token.
//! - Kept from an operation: `operationId` (rewritten), `summary`, `deprecated` and
//!   `x-sailpoint-experimental` (the client sends `X-SailPoint-Experimental: true` exactly
//!   where it is `true`); parameters with `name`, `in`, `required` and `schema`; the
//!   request body's `required` and `content.<mime>.schema`; responses with the first sentence
//!   of their description, `content.<mime>.schema` and `headers`. A response whose
//!   description names `Retry-After` (the 429s) gets it as an integer header, as listed in
//!   `contracts/deviations.json`.
//! - Schemas: `example`, `examples` and `title` are dropped, descriptions cut to their first
//!   sentence. A schema file becomes `#/components/schemas/<Name>`, `<Name>` being its
//!   `title` without spaces (else its file name), matched across versions without regard
//!   to case (`LocaleOrigin.yaml` and v1's `localeorigin.yaml` are one schema). Where the
//!   versions' files agree (descriptions aside) there is one schema; where they differ, each
//!   variant is suffixed with the first version using it, in the order v3, beta, v2024,
//!   v2025, v2026, v1 (`GetPersonalAccessTokenResponseV3` for v3 and v2024,
//!   `GetPersonalAccessTokenResponseBeta`, `GetPersonalAccessTokenResponseV2025` for
//!   v2025, v2026 and v1).
//!
//! The same files always give the same bytes: maps are sorted, and versions and files are
//! visited in a fixed order.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::Upstream;
use crate::Error;

/// The repository the pinned files come from.
const REPOSITORY: &str = "sailpoint-oss/api-specs";

/// The supported versions and their root files, in suffix-priority order.
const ROOTS: &[(&str, &str)] = &[
    ("v3", "idn/sailpoint-api.v3.yaml"),
    ("beta", "idn/sailpoint-api.beta.yaml"),
    ("v2024", "idn/sailpoint-api.v2024.yaml"),
    ("v2025", "idn/sailpoint-api.v2025.yaml"),
    ("v2026", "idn/sailpoint-api.v2026.yaml"),
    ("v1", "idn/apis/personal-access-tokens/openapi.yaml"),
];

/// Operations SailPoint publishes on its developer site before `api-specs` has them: (version,
/// repository, path of the page). Each page is one operation's OpenAPI document, fully
/// dereferenced, in the page's first fenced `yaml` block. Its paths join the version's; a
/// path that `api-specs` also has is an error (the page is then no longer needed).
const PAGES: &[(&str, &str, &str)] = &[(
    "v1",
    "sailpoint-oss/developer.sailpoint.com",
    "docs/api/update-bulk-personal-access-tokens-v-1.md",
)];

/// The HTTP methods of a path item, in output order.
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// The PAT subset of the upstream files.
pub fn extract(upstream: &Upstream) -> Result<Value, Error> {
    let commits: BTreeSet<String> = upstream
        .files()
        .iter()
        .filter(|f| f.repository == REPOSITORY)
        .map(|f| f.commit.clone())
        .collect();
    let mut doc = extract_with(&|path| upstream.read(path), &commits, PAGES)?;
    let pages: Vec<Value> = PAGES
        .iter()
        .map(|(_, repository, path)| {
            let commit = upstream
                .files()
                .iter()
                .find(|f| f.repository == *repository && f.path == *path)
                .map(|f| f.commit.clone())
                .ok_or_else(|| {
                    Error::new(format!("the manifest does not pin {repository} {path}"))
                })?;
            Ok(json!({ "repository": repository, "path": path, "commit": commit }))
        })
        .collect::<Result<_, Error>>()?;
    if let Some(source) = doc
        .pointer_mut("/info/x-pats-source")
        .and_then(Value::as_object_mut)
    {
        source.insert("pages".into(), Value::Array(pages));
    }
    Ok(doc)
}

/// [`extract`] over any reader of repository paths (tests give an in-memory one).
pub(crate) fn extract_with(
    read: &dyn Fn(&str) -> Result<String, Error>,
    commits: &BTreeSet<String>,
    pages: &[(&'static str, &str, &str)],
) -> Result<Value, Error> {
    let mut ex = Extractor {
        read,
        files: BTreeMap::new(),
        schemas: BTreeMap::new(),
        resolved: BTreeMap::new(),
        stack: Vec::new(),
        version: "",
        page: false,
    };
    let mut paths = Map::new();
    let mut token_urls = BTreeSet::new();
    for (version, root_path) in ROOTS {
        ex.version = version;
        let root = ex.file(root_path)?;
        let prefix = server_prefix(&root, root_path)?;
        let root_paths = root
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::new(format!("{root_path}: no `paths`")))?;
        let mut found = false;
        for (key, item) in root_paths {
            if !key.contains("personal-access-tokens") {
                continue;
            }
            found = true;
            let (item, base) = ex.deref(item, root_path)?;
            let mut out = Map::new();
            let shared_params = item.get("parameters").cloned();
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let op = ex.operation(version, method, op, shared_params.as_ref(), &base)?;
                out.insert((*method).to_owned(), op);
            }
            let full = format!("{prefix}{key}");
            if paths.insert(full.clone(), Value::Object(out)).is_some() {
                return Err(Error::new(format!("{root_path}: path `{full}` seen twice")));
            }
        }
        if !found {
            return Err(Error::new(format!(
                "{root_path}: no `personal-access-tokens` path"
            )));
        }
        collect_token_urls(&root, &mut token_urls);
    }
    for (version, _, page_path) in pages {
        ex.version = version;
        ex.page = true;
        let root = ex.file(page_path)?;
        let prefix = server_prefix(&root, page_path)?;
        let page_paths = root
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::new(format!("{page_path}: no `paths`")))?;
        for (key, item) in page_paths {
            let mut out = Map::new();
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let kept = ex.operation(version, method, op, item.get("parameters"), page_path)?;
                out.insert((*method).to_owned(), kept);
                if let Some(post) = also_post(method, op, &out) {
                    out.insert("post".into(), post);
                }
            }
            let full = format!("{prefix}{key}");
            if paths.insert(full.clone(), Value::Object(out)).is_some() {
                return Err(Error::new(format!(
                    "{page_path}: path `{full}` is in api-specs too: drop the page"
                )));
            }
        }
        ex.page = false;
    }
    let token_path = match token_urls.len() {
        1 => token_urls.into_iter().next().unwrap_or_default(),
        0 => {
            return Err(Error::new(
                "no root names a clientCredentials `tokenUrl` in its securitySchemes",
            ));
        }
        _ => {
            return Err(Error::new(format!(
                "the roots name different clientCredentials token URLs: {token_urls:?}"
            )));
        }
    };
    paths.insert(token_path, json!({ "post": token_operation() }));

    let names = ex.final_names()?;
    let mut schemas = Map::new();
    for (key, variants) in &ex.schemas {
        for (index, variant) in variants.iter().enumerate() {
            let name = names
                .get(&(key.clone(), index))
                .ok_or_else(|| Error::new(format!("internal: no name for schema `{key}`")))?;
            schemas.insert(name.clone(), variant.schema.clone());
        }
    }
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "SailPoint Identity Security Cloud: personal access tokens (PAT subset)",
            "version": ROOTS.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(", "),
            "description": "Written by `cargo xtask contracts` from the files under \
                contracts/sailpoint/upstream (see xtask/src/contracts/sailpoint.rs); do not edit.",
            "x-pats-source": {
                "repository": REPOSITORY,
                "commits": commits.iter().collect::<Vec<_>>(),
                "roots": ROOTS.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
            },
        },
        "paths": paths,
        "components": { "schemas": schemas },
    });
    rename_refs(&mut doc, &names);
    Ok(doc)
}

/// One variant of a named schema.
struct Variant {
    /// The schema as written to the subset (references still placeholders).
    schema: Value,
    /// The comparison key: the schema without descriptions.
    key: String,
    /// The first version using it.
    version: &'static str,
    /// The name it was first seen under (title or file name).
    name: String,
}

struct Extractor<'a> {
    read: &'a dyn Fn(&str) -> Result<String, Error>,
    /// Parsed files by repository path.
    files: BTreeMap<String, Value>,
    /// Variants by lowercase schema name.
    schemas: BTreeMap<String, Vec<Variant>>,
    /// `file#pointer` → (lowercase name, variant index).
    resolved: BTreeMap<String, (String, usize)>,
    /// The named schemas being resolved (cycle detection).
    stack: Vec<String>,
    /// The version being extracted.
    version: &'static str,
    /// Whether a developer-site page is being read: its schemas are inline (dereferenced),
    /// so an inline schema with a `title` and `properties` or `enum` is a named schema.
    page: bool,
}

/// The placeholder `$ref` of a named schema variant, rewritten by [`rename_refs`].
fn placeholder(key: &str, index: usize) -> String {
    format!("\u{0}{key}\u{0}{index}")
}

impl Extractor<'_> {
    /// The parsed file at `path`.
    fn file(&mut self, path: &str) -> Result<Value, Error> {
        if let Some(value) = self.files.get(path) {
            return Ok(value.clone());
        }
        let mut text = (self.read)(path)?;
        if path.ends_with(".md") {
            text = fenced_yaml(&text)
                .ok_or_else(|| Error::new(format!("{path}: no fenced `yaml` block")))?
                .to_owned();
        }
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
            .map_err(|e| Error::new(format!("{path}: not YAML: {e}")))?;
        let value = yaml_to_json(yaml).map_err(|e| Error::new(format!("{path}: {e}")))?;
        self.files.insert(path.to_owned(), value.clone());
        Ok(value)
    }

    /// The target of a `$ref` written in `base`: (file, pointer).
    fn target(&self, reference: &str, base: &str) -> Result<(String, String), Error> {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file.is_empty() {
            base.to_owned()
        } else {
            join(base, file).ok_or_else(|| {
                Error::new(format!("{base}: `$ref: {reference}` leaves the repository"))
            })?
        };
        Ok((file, pointer.to_owned()))
    }

    /// Follows `$ref`s from `node` (written in `base`) to a node that is not a reference;
    /// returns it and the file it is in.
    fn deref(&mut self, node: &Value, base: &str) -> Result<(Value, String), Error> {
        let mut node = node.clone();
        let mut base = base.to_owned();
        for _ in 0..32 {
            let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
                return Ok((node, base));
            };
            let (file, pointer) = self.target(reference, &base)?;
            let doc = self.file(&file).map_err(|e| {
                Error::new(format!("{base}: `$ref: {reference}` cannot be read: {e}"))
            })?;
            node = doc.pointer(&pointer).cloned().ok_or_else(|| {
                Error::new(format!(
                    "{base}: `$ref: {reference}`: no `{pointer}` in {file}"
                ))
            })?;
            base = file;
        }
        Err(Error::new(format!("{base}: `$ref` chain too long")))
    }

    fn operation(
        &mut self,
        version: &'static str,
        method: &str,
        op: &Value,
        shared_params: Option<&Value>,
        base: &str,
    ) -> Result<Value, Error> {
        let upstream_id = op
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::new(format!("{base}: `{method}` has no operationId")))?;
        let mut out = Map::new();
        out.insert(
            "operationId".into(),
            Value::String(format!("{version}.{upstream_id}")),
        );
        out.insert("x-pats-api-version".into(), Value::String(version.into()));
        out.insert(
            "x-pats-idempotent".into(),
            Value::Bool(matches!(
                method,
                "get" | "put" | "delete" | "head" | "options"
            )),
        );
        for key in ["summary", "deprecated", "x-sailpoint-experimental"] {
            if let Some(value) = op.get(key) {
                out.insert(key.into(), value.clone());
            }
        }
        let mut parameters: Vec<Value> = Vec::new();
        let listed = shared_params
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        for parameter in listed.cloned().collect::<Vec<_>>() {
            let parameter = self.parameter(&parameter, base)?;
            // An operation's parameter replaces a path-level one of the same name and place.
            parameters.retain(|p| {
                p.get("name") != parameter.get("name") || p.get("in") != parameter.get("in")
            });
            parameters.push(parameter);
        }
        if !parameters.is_empty() {
            out.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(body) = op.get("requestBody") {
            let (body, body_base) = self.deref(body, base)?;
            let mut kept = Map::new();
            if let Some(required) = body.get("required") {
                kept.insert("required".into(), required.clone());
            }
            kept.insert("content".into(), self.content(&body, &body_base)?);
            out.insert("requestBody".into(), Value::Object(kept));
        }
        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::new(format!("{base}: `{upstream_id}` has no responses")))?;
        let mut kept = Map::new();
        for (status, response) in responses {
            kept.insert(status.clone(), self.response(response, base)?);
        }
        out.insert("responses".into(), Value::Object(kept));
        Ok(Value::Object(out))
    }

    fn parameter(&mut self, parameter: &Value, base: &str) -> Result<Value, Error> {
        let (parameter, base) = self.deref(parameter, base)?;
        let mut out = Map::new();
        for key in ["name", "in"] {
            let value = parameter
                .get(key)
                .ok_or_else(|| Error::new(format!("{base}: a parameter without `{key}`")))?;
            out.insert(key.into(), value.clone());
        }
        let required = parameter
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        out.insert("required".into(), Value::Bool(required));
        for key in ["style", "explode", "deprecated"] {
            if let Some(value) = parameter.get(key) {
                out.insert(key.into(), value.clone());
            }
        }
        if let Some(schema) = parameter.get("schema") {
            out.insert("schema".into(), self.schema(schema, &base)?);
        }
        Ok(Value::Object(out))
    }

    fn response(&mut self, response: &Value, base: &str) -> Result<Value, Error> {
        let (response, base) = self.deref(response, base)?;
        let mut out = Map::new();
        let description = response
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        out.insert(
            "description".into(),
            Value::String(first_paragraph(description)),
        );
        let mut headers = Map::new();
        if let Some(listed) = response.get("headers").and_then(Value::as_object) {
            for (name, header) in listed {
                let (header, header_base) = self.deref(header, &base)?;
                let mut kept = Map::new();
                if let Some(required) = header.get("required") {
                    kept.insert("required".into(), required.clone());
                }
                if let Some(schema) = header.get("schema") {
                    kept.insert("schema".into(), self.schema(schema, &header_base)?);
                }
                headers.insert(name.clone(), Value::Object(kept));
            }
        }
        if description.contains("Retry-After") && !headers.contains_key("Retry-After") {
            headers.insert(
                "Retry-After".into(),
                json!({ "schema": { "type": "integer", "minimum": 0 } }),
            );
        }
        if !headers.is_empty() {
            out.insert("headers".into(), Value::Object(headers));
        }
        if response.get("content").is_some() {
            out.insert("content".into(), self.content(&response, &base)?);
        }
        Ok(Value::Object(out))
    }

    /// `content.<mime>.schema` of a request body or response.
    fn content(&mut self, holder: &Value, base: &str) -> Result<Value, Error> {
        let content = holder
            .get("content")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::new(format!("{base}: `content` must be a map")))?;
        let mut out = Map::new();
        for (mime, media) in content {
            let mut kept = Map::new();
            if let Some(schema) = media.get("schema") {
                kept.insert("schema".into(), self.schema(schema, base)?);
            }
            out.insert(mime.clone(), Value::Object(kept));
        }
        Ok(Value::Object(out))
    }

    /// A schema written in `base`, with named (file) references replaced by placeholders.
    fn schema(&mut self, schema: &Value, base: &str) -> Result<Value, Error> {
        let Some(object) = schema.as_object() else {
            return Ok(schema.clone());
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            let (key, index) = self.named(reference, base)?;
            return Ok(json!({ "$ref": placeholder(&key, index) }));
        }
        if self.page
            && (object.contains_key("properties") || object.contains_key("enum"))
            && let Some(title) = object.get("title").and_then(Value::as_str)
        {
            let name: String = title.chars().filter(char::is_ascii_alphanumeric).collect();
            if !name.is_empty() {
                let mut untitled = object.clone();
                untitled.remove("title");
                let resolved = self.schema(&Value::Object(untitled), base)?;
                let (key, index) = self.register(name, resolved, base)?;
                return Ok(json!({ "$ref": placeholder(&key, index) }));
            }
        }
        let mut out = Map::new();
        for (key, value) in object {
            let value = match key.as_str() {
                "example" | "examples" | "title" => continue,
                "description" => Value::String(first_paragraph(value.as_str().unwrap_or(""))),
                "properties" => {
                    let mut properties = Map::new();
                    for (name, property) in value.as_object().into_iter().flatten() {
                        properties.insert(name.clone(), self.schema(property, base)?);
                    }
                    Value::Object(properties)
                }
                "items" | "not" => self.schema(value, base)?,
                "additionalProperties" if value.is_object() => self.schema(value, base)?,
                "allOf" | "oneOf" | "anyOf" => {
                    let mut all = Vec::new();
                    for member in value.as_array().into_iter().flatten() {
                        all.push(self.schema(member, base)?);
                    }
                    Value::Array(all)
                }
                _ => value.clone(),
            };
            out.insert(key.clone(), value);
        }
        Ok(Value::Object(out))
    }

    /// The named schema `reference` (in `base`) points to: resolved and registered.
    fn named(&mut self, reference: &str, base: &str) -> Result<(String, usize), Error> {
        let (file, pointer) = self.target(reference, base)?;
        let id = format!("{file}#{pointer}");
        if let Some(found) = self.resolved.get(&id) {
            return Ok(found.clone());
        }
        if self.stack.contains(&id) {
            return Err(Error::new(format!(
                "{base}: `$ref: {reference}` is recursive, which the subset cannot hold"
            )));
        }
        let doc = self
            .file(&file)
            .map_err(|e| Error::new(format!("{base}: `$ref: {reference}` cannot be read: {e}")))?;
        let target = doc.pointer(&pointer).cloned().ok_or_else(|| {
            Error::new(format!(
                "{base}: `$ref: {reference}`: no `{pointer}` in {file}"
            ))
        })?;
        let name = match target.get("title").and_then(Value::as_str) {
            Some(title) => title.chars().filter(char::is_ascii_alphanumeric).collect(),
            None if pointer.is_empty() => file_stem(&file),
            None => pointer.rsplit('/').next().unwrap_or_default().to_owned(),
        };
        if name.is_empty() {
            return Err(Error::new(format!(
                "{base}: `$ref: {reference}`: cannot name the schema"
            )));
        }
        self.stack.push(id.clone());
        let resolved = self.schema(&target, &file);
        self.stack.pop();
        let resolved = resolved?;
        let (key, index) = self.register(name, resolved, &file)?;
        self.resolved.insert(id, (key.clone(), index));
        Ok((key, index))
    }

    /// Registers a resolved schema under `name`: the variant it equals (descriptions aside),
    /// else a new one.
    fn register(
        &mut self,
        name: String,
        resolved: Value,
        file: &str,
    ) -> Result<(String, usize), Error> {
        let key = name.to_ascii_lowercase();
        let comparable = serde_json::to_string(&without_descriptions(&resolved))
            .map_err(|e| Error::new(format!("{file}: {e}")))?;
        let variants = self.schemas.entry(key.clone()).or_default();
        let index = match variants.iter().position(|v| v.key == comparable) {
            Some(index) => index,
            None => {
                variants.push(Variant {
                    schema: resolved,
                    key: comparable,
                    version: self.version,
                    name,
                });
                variants.len() - 1
            }
        };
        Ok((key, index))
    }

    /// The name of every variant: the first spelling seen, suffixed with the first version
    /// using it when the schema has several variants.
    fn final_names(&self) -> Result<BTreeMap<(String, usize), String>, Error> {
        let mut names = BTreeMap::new();
        let mut taken = BTreeSet::new();
        for (key, variants) in &self.schemas {
            let base = variants.first().map(|v| v.name.clone()).unwrap_or_default();
            for (index, variant) in variants.iter().enumerate() {
                let name = if variants.len() == 1 {
                    base.clone()
                } else {
                    format!("{base}{}", version_suffix(variant.version))
                };
                if !taken.insert(name.clone()) {
                    return Err(Error::new(format!(
                        "two variants of schema `{base}` would both be named `{name}` (one \
                         version uses two different files of that name)"
                    )));
                }
                names.insert((key.clone(), index), name);
            }
        }
        Ok(names)
    }
}

/// The body of the first fenced block whose info string starts with `yaml`.
fn fenced_yaml(markdown: &str) -> Option<&str> {
    let start = markdown.find("```yaml")?;
    let body = &markdown[start..];
    let body = &body[body.find('\n')? + 1..];
    let end = body.find("\n```")?;
    Some(&body[..=end])
}

/// The `POST` twin of a page's operation whose description says it is "also accessible via
/// `POST` to the same path" and that "both methods behave identically" (the bulk update of
/// V1 PATs): the same operation, `operationId` suffixed `Post`. The page's OpenAPI declares
/// only the first method; listed in `contracts/deviations.json`.
fn also_post(method: &str, op: &Value, kept: &Map<String, Value>) -> Option<Value> {
    let description = op.get("description").and_then(Value::as_str)?;
    if method == "post"
        || !description.contains("also accessible via `POST` to the same path")
        || !description.contains("both methods behave identically")
    {
        return None;
    }
    let mut post = kept.get(method)?.clone();
    let id = post.get("operationId").and_then(Value::as_str)?.to_owned();
    post["operationId"] = Value::String(format!("{id}Post"));
    Some(post)
}

/// `V3`, `Beta`, `V2024`, ...
fn version_suffix(version: &str) -> String {
    let mut chars = version.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Replaces the placeholder `$ref`s with `#/components/schemas/<name>`.
fn rename_refs(node: &mut Value, names: &BTreeMap<(String, usize), String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(reference) = value
                    && let Some(rest) = reference.strip_prefix('\u{0}')
                    && let Some((schema, index)) = rest.split_once('\u{0}')
                    && let Ok(index) = index.parse::<usize>()
                    && let Some(name) = names.get(&(schema.to_owned(), index))
                {
                    *reference = format!("#/components/schemas/{name}");
                } else {
                    rename_refs(value, names);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, names)),
        _ => {}
    }
}

/// `node` without `description`s, for comparing versions of a schema.
fn without_descriptions(node: &Value) -> Value {
    match node {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "description")
                .map(|(k, v)| (k.clone(), without_descriptions(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_descriptions).collect()),
        other => other.clone(),
    }
}

/// The first sentence of the first paragraph of `text`, on one line: a sentence ends at a
/// `.` followed by a space and a capital letter or `*`.
fn first_paragraph(text: &str) -> String {
    let paragraph = text.trim().split("\n\n").next().unwrap_or("");
    let line = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let bytes = line.as_bytes();
    for (i, window) in bytes.windows(3).enumerate() {
        if window[0] == b'.'
            && window[1] == b' '
            && (window[2].is_ascii_uppercase() || window[2] == b'*')
        {
            return line[..=i].to_owned();
        }
    }
    line
}

/// `dir(base)/relative`, normalised; `None` when it leaves the repository.
fn join(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// The file name of `path` without its extension.
fn file_stem(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.').next().unwrap_or(name).to_owned()
}

/// The path of the root's first server URL (`https://{tenant}.api.identitynow.com/v3` →
/// `/v3`).
fn server_prefix(root: &Value, root_path: &str) -> Result<String, Error> {
    let url = root
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::new(format!("{root_path}: no `servers[0].url`")))?;
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme
        .find('/')
        .map_or("", |slash| &after_scheme[slash..]);
    Ok(path.trim_end_matches('/').to_owned())
}

/// The URL paths of every `clientCredentials.tokenUrl` in the root's security schemes.
fn collect_token_urls(root: &Value, out: &mut BTreeSet<String>) {
    let Some(schemes) = root
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    else {
        return;
    };
    for scheme in schemes.values() {
        if let Some(url) = scheme
            .pointer("/flows/clientCredentials/tokenUrl")
            .and_then(Value::as_str)
        {
            let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
            if let Some(slash) = after_scheme.find('/') {
                out.insert(after_scheme[slash..].to_owned());
            }
        }
    }
}

/// `POST /oauth/token`, client-credentials grant: RFC 6749 sections 2.3.1 (credentials in
/// the body), 4.4.2 (the request), 5.1 (the answer) and 5.2 (errors), plus what SailPoint's
/// authentication guide adds (the parameters may come as query parameters; the official
/// SDKs send multipart bodies). Listed in `contracts/deviations.json`.
fn token_operation() -> Value {
    let form = json!({
        "type": "object",
        "required": ["grant_type", "client_id", "client_secret"],
        "properties": {
            "grant_type": { "type": "string", "enum": ["client_credentials"] },
            "client_id": { "type": "string" },
            "client_secret": { "type": "string" },
        },
    });
    let query = |name: &str| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } });
    let error = json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": { "type": "string" },
            "error_description": { "type": "string" },
        },
    });
    json!({
        "operationId": "oauth.token",
        "summary": "Access token by the OAuth2 client-credentials grant (RFC 6749 section 4.4)",
        "x-pats-api-version": "oauth",
        "x-pats-idempotent": true,
        "parameters": [query("grant_type"), query("client_id"), query("client_secret")],
        "requestBody": {
            "required": false,
            "content": {
                "application/x-www-form-urlencoded": { "schema": form.clone() },
                "multipart/form-data": { "schema": form },
            },
        },
        "responses": {
            "200": {
                "description": "The access token (RFC 6749 section 5.1).",
                "content": { "application/json": { "schema": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in"],
                    "properties": {
                        "access_token": { "type": "string" },
                        "token_type": { "type": "string" },
                        "expires_in": { "type": "integer", "minimum": 0 },
                        "scope": { "type": "string" },
                    },
                } } },
            },
            "400": {
                "description": "Malformed request, unsupported grant type (RFC 6749 section 5.2).",
                "content": { "application/json": { "schema": error.clone() } },
            },
            "401": {
                "description": "Unknown client or wrong secret: invalid_client (RFC 6749 section 5.2).",
                "content": { "application/json": { "schema": error } },
            },
        },
    })
}

/// A YAML value as JSON; mapping keys become strings (`200:` → `"200"`).
fn yaml_to_json(value: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the number {f} has no JSON form"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut out = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_owned(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(value)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A minimal upstream: the six roots, one path file per version, shared schemas.
    fn fixture() -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for (version, root) in ROOTS {
            let (server, path_key, path_file) = if *version == "v1" {
                (
                    "https://{tenant}.api.identitynow.com".to_owned(),
                    "/personal-access-tokens/v1",
                    "./paths/pats.yaml".to_owned(),
                )
            } else {
                (
                    format!("https://{{tenant}}.api.identitynow.com/{version}"),
                    "/personal-access-tokens",
                    format!("./{version}/paths/pats.yaml"),
                )
            };
            let security = if *version == "v1" {
                String::new()
            } else {
                "components:\n  securitySchemes:\n    app:\n      type: oauth2\n      flows:\n        clientCredentials:\n          tokenUrl: https://t.api.identitynow.com/oauth/token\n".to_owned()
            };
            files.insert(
                (*root).to_owned(),
                format!(
                    "openapi: 3.0.1\nservers:\n  - url: {server}\npaths:\n  {path_key}:\n    $ref: {path_file}\n  /other:\n    $ref: ./missing.yaml\n{security}"
                ),
            );
            let path_file = join(root, &path_file).unwrap();
            // v2025 and later carry one more property: a second variant.
            let schema = if matches!(*version, "v2025" | "v2026" | "v1") {
                "Token2"
            } else {
                "Token"
            };
            files.insert(
                path_file,
                format!(
                    "get:\n  operationId: listTokens\n  parameters:\n    - in: query\n      name: owner-id\n      schema:\n        type: string\n  responses:\n    '200':\n      description: ok\n      content:\n        application/json:\n          schema:\n            type: array\n            items:\n              $ref: '../../schemas/{schema}.yaml'\n    \"429\":\n      $ref: '../../responses/429.yaml'\n"
                ),
            );
        }
        // Path files are `idn/<version>/paths/pats.yaml` and
        // `idn/apis/personal-access-tokens/paths/pats.yaml`: shared files two levels up.
        let add = |files: &mut BTreeMap<String, String>, dir: &str| {
            files.insert(
                format!("{dir}/schemas/Token.yaml"),
                "type: object\ntitle: Token\ndescription: A token.\nproperties:\n  id:\n    type: string\n    example: abc\n  owner:\n    $ref: ./Owner.yaml\n".to_owned(),
            );
            files.insert(
                format!("{dir}/schemas/Token2.yaml"),
                "type: object\ntitle: Token\ndescription: Other words.\nproperties:\n  id:\n    type: string\n  owner:\n    $ref: ./owner.yaml\n  never:\n    type: boolean\n".to_owned(),
            );
            files.insert(
                format!("{dir}/schemas/Owner.yaml"),
                "type: object\nproperties:\n  id:\n    type: string\n".to_owned(),
            );
            files.insert(
                format!("{dir}/schemas/owner.yaml"),
                "type: object\ndescription: Lower-case file, same schema.\nproperties:\n  id:\n    type: string\n".to_owned(),
            );
            files.insert(
                format!("{dir}/responses/429.yaml"),
                "description: Too Many Requests. The Retry-After header says how long to wait.\ncontent:\n  application/json:\n    schema:\n      type: object\n      properties:\n        message:\n          description: what\n".to_owned(),
            );
        };
        add(&mut files, "idn");
        add(&mut files, "idn/apis");
        files
    }

    fn run(files: &BTreeMap<String, String>, skip: &[&str]) -> Result<Value, Error> {
        let read = |path: &str| -> Result<String, Error> {
            if skip.contains(&path) {
                return Err(Error::new(format!("`{path}` is not a vendored file")));
            }
            files
                .get(path)
                .cloned()
                .ok_or_else(|| Error::new(format!("`{path}` is not a vendored file")))
        };
        let commits = BTreeSet::from(["c0ffee".to_owned()]);
        extract_with(&read, &commits, &[])
    }

    #[test]
    fn a_page_adds_its_operation_with_inline_titled_schemas_named_and_its_post_twin() {
        let mut files = fixture();
        let page = "docs/page.md";
        files.insert(
            page.to_owned(),
            "## OpenAPI\n\n```yaml PATCH /personal-access-tokens/v1/bulk\nopenapi: 3.0.1\n\
             servers:\n  - url: https://{tenant}.api.identitynow.com\npaths:\n  \
             /personal-access-tokens/v1/bulk:\n    patch:\n      operationId: bulk\n      \
             description: Bulk. This operation is also accessible via `POST` to the same path; \
             both methods behave identically.\n      requestBody:\n        content:\n          \
             application/json:\n            schema:\n              type: object\n              \
             title: Bulk Request\n              properties:\n                ids:\n                  \
             type: array\n                  items:\n                    type: string\n      \
             responses:\n        '200':\n          description: Done.\n          content:\n            \
             application/json:\n              schema:\n                type: array\n                \
             items:\n                  type: object\n                  title: Token\n                  \
             description: Other words.\n                  properties:\n                    id:\n                      \
             type: string\n                    owner:\n                      type: object\n                      \
             title: Owner\n                      properties:\n                        id:\n                          type: string\n                    \
             never:\n                      type: boolean\n```\n"
                .to_owned(),
        );
        let read = |path: &str| -> Result<String, Error> {
            files
                .get(path)
                .cloned()
                .ok_or_else(|| Error::new(format!("`{path}` is not a vendored file")))
        };
        let commits = BTreeSet::from(["c0ffee".to_owned()]);
        let doc = extract_with(&read, &commits, &[("v1", "o/site", page)]).unwrap();
        let item = &doc["paths"]["/personal-access-tokens/v1/bulk"];
        assert_eq!(item["patch"]["operationId"], "v1.bulk");
        assert_eq!(item["post"]["operationId"], "v1.bulkPost");
        assert_eq!(
            item["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/BulkRequest"
        );
        // The inline `Token` equals the v1 file's (descriptions aside): one schema, no new name.
        assert_eq!(
            item["patch"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
            doc["paths"]["/personal-access-tokens/v1"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"]["items"]["$ref"]
        );
        // A path api-specs has too is an error.
        let mut twice = files.clone();
        twice.insert(
            page.to_owned(),
            files[page].replace(
                "/personal-access-tokens/v1/bulk:",
                "/personal-access-tokens/v1:",
            ),
        );
        let read = |path: &str| -> Result<String, Error> {
            twice
                .get(path)
                .cloned()
                .ok_or_else(|| Error::new("missing"))
        };
        let err = extract_with(&read, &commits, &[("v1", "o/site", page)]).unwrap_err();
        assert!(err.to_string().contains("drop the page"), "{err}");
    }

    #[test]
    fn resolves_refs_into_one_operation_per_version() {
        let files = fixture();
        let doc = run(&files, &[]).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let keys: Vec<&str> = paths.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "/beta/personal-access-tokens",
                "/oauth/token",
                "/personal-access-tokens/v1",
                "/v2024/personal-access-tokens",
                "/v2025/personal-access-tokens",
                "/v2026/personal-access-tokens",
                "/v3/personal-access-tokens",
            ]
        );
        let v3 = &paths["/v3/personal-access-tokens"]["get"];
        assert_eq!(v3["operationId"], "v3.listTokens");
        assert_eq!(v3["x-pats-api-version"], "v3");
        assert_eq!(v3["x-pats-idempotent"], true);
        assert_eq!(
            v3["parameters"],
            json!([{"in": "query", "name": "owner-id", "required": false, "schema": {"type": "string"}}])
        );
        assert_eq!(
            v3["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
            "#/components/schemas/TokenV3"
        );
        assert_eq!(
            paths["/personal-access-tokens/v1"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"]["items"]["$ref"],
            "#/components/schemas/TokenV2025"
        );
        // The response file is inlined, its Retry-After prose (past the first sentence) made
        // a header.
        let too_many = &v3["responses"]["429"];
        assert_eq!(too_many["description"], "Too Many Requests.");
        assert_eq!(
            too_many["headers"]["Retry-After"]["schema"]["type"],
            "integer"
        );
        assert_eq!(
            too_many["content"]["application/json"]["schema"]["properties"]["message"],
            json!({"description": "what"})
        );
        // Identical schemas (case-insensitive file names, descriptions aside) are one.
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let names: Vec<&str> = schemas.keys().map(String::as_str).collect();
        assert_eq!(names, ["Owner", "TokenV2025", "TokenV3"]);
        assert_eq!(
            schemas["TokenV3"],
            json!({"type": "object", "description": "A token.",
                   "properties": {"id": {"type": "string"},
                                  "owner": {"$ref": "#/components/schemas/Owner"}}})
        );
        assert_eq!(paths["/oauth/token"]["post"]["operationId"], "oauth.token");
        assert_eq!(doc["info"]["x-pats-source"]["commits"], json!(["c0ffee"]));
    }

    #[test]
    fn a_missing_ref_names_the_referring_file() {
        let files = fixture();
        let err = run(&files, &["idn/schemas/Owner.yaml"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("idn/schemas/Token.yaml"), "{err}");
        assert!(err.contains("./Owner.yaml"), "{err}");
        let err = run(&files, &["idn/v3/paths/pats.yaml"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("idn/sailpoint-api.v3.yaml"), "{err}");
    }

    #[test]
    fn the_token_endpoint_must_be_named_by_exactly_one_token_url() {
        let mut files = fixture();
        for (_, root) in ROOTS {
            if let Some(text) = files.get_mut(*root) {
                *text = text.replace(
                    "tokenUrl: https://t.api.identitynow.com/oauth/token",
                    "tokenUrl: ''",
                );
                if let Some(at) = text.find("components:") {
                    text.truncate(at);
                }
            }
        }
        let err = run(&files, &[]).unwrap_err().to_string();
        assert!(
            err.contains("no root names a clientCredentials `tokenUrl`"),
            "{err}"
        );

        let mut files = fixture();
        if let Some(text) = files.get_mut("idn/sailpoint-api.beta.yaml") {
            *text = text.replace(
                "t.api.identitynow.com/oauth/token",
                "t.api.identitynow.com/oauth/other",
            );
        }
        let err = run(&files, &[]).unwrap_err().to_string();
        assert!(
            err.contains("different clientCredentials token URLs"),
            "{err}"
        );
    }

    #[test]
    fn map_schemas_are_resolved_and_closed_objects_kept() {
        let mut files = fixture();
        for dir in ["idn", "idn/apis"] {
            let token = format!("{dir}/schemas/Token.yaml");
            if let Some(text) = files.get_mut(&token) {
                text.push_str("  meta:\n    type: object\n    additionalProperties:\n      $ref: ./Owner.yaml\n  flags:\n    type: object\n    additionalProperties: false\n");
            }
        }
        let doc = run(&files, &[]).unwrap();
        let token = &doc["components"]["schemas"]["TokenV3"]["properties"];
        assert_eq!(
            token["meta"]["additionalProperties"],
            json!({"$ref": "#/components/schemas/Owner"})
        );
        assert_eq!(token["flags"]["additionalProperties"], json!(false));
    }

    #[test]
    fn the_same_files_give_the_same_bytes() {
        let files = fixture();
        let a = super::super::render(&run(&files, &[]).unwrap()).unwrap();
        let b = super::super::render(&run(&files, &[]).unwrap()).unwrap();
        assert_eq!(a, b);
        assert!(!a.contains('\u{0}'), "a placeholder was left: {a}");
    }

    #[test]
    fn paths_and_prefixes() {
        assert_eq!(
            join("idn/v3/paths/a.yaml", "../../v3/schemas/B.yaml").as_deref(),
            Some("idn/v3/schemas/B.yaml")
        );
        assert_eq!(join("idn/a.yaml", "../../../x.yaml"), None);
        let root = json!({"servers": [{"url": "https://{tenant}.api.identitynow.com/v2025"}]});
        assert_eq!(server_prefix(&root, "r").unwrap(), "/v2025");
        let root = json!({"servers": [{"url": "https://{tenant}.api.identitynow.com"}]});
        assert_eq!(server_prefix(&root, "r").unwrap(), "");
        assert_eq!(first_paragraph("  One\n line.\n\nTwo."), "One line.");
        assert_eq!(
            first_paragraph("Locale (i.e., best match). Next one. **Bold**"),
            "Locale (i.e., best match)."
        );
    }
}
