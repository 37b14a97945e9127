//! The GitLab contract: the PAT subset from our own fragment, checked against the vendored
//! GitLab documentation pages.
//!
//! GitLab publishes `doc/api/openapi/openapi_v2.yaml` (Swagger 2.0, about 2 MB); no snapshot
//! of that file could be brought here whole, so the contract is, like Dfns', our own OpenAPI
//! 3.0 fragment (`upstream/gitlab-pats.openapi.json`), written from the REST documentation
//! pages vendored next to it ([`PAGES`], pinned in the manifest). Every operation and schema
//! names its page and section in `x-pats-source`. The YAML was read at a pinned commit and
//! compared with the fragment by hand: `contracts/gitlab/openapi_v2-comparison.md`.
//!
//! [`extract`] ties the fragment to the pages in both directions before building the subset
//! with [`super::dfns::subset_of`]:
//!
//! - every `METHOD path` line of a page's `plaintext` blocks that is in scope (a path with
//!   `personal_access_tokens` or `/access_tokens`, except `self/associations`) is an
//!   operation of the fragment, at `/api/v4` + the path with `:name` written `{name}`; and
//!   every operation of the fragment is such a line, or one with `self` in place of the
//!   path attribute whose description offers "the keyword `self`";
//! - the query parameters of a `GET` are exactly the non-path attributes of the page's
//!   table for it, plus `page` and `per_page` on a collection (offset pagination, from
//!   `doc/api/rest/_index.md`, recorded in `contracts/deviations.json`);
//! - the body properties of a `POST` (a create or a rotate) are exactly the non-path
//!   attributes of its table, with the same `required`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Upstream;
use crate::Error;

/// The fragment's path in the manifest (and under `upstream/`).
pub const FRAGMENT: &str = "gitlab-pats.openapi.json";

/// The vendored pages whose endpoints the fragment must describe.
pub const PAGES: &[&str] = &[
    "doc/api/personal_access_tokens.md",
    "doc/api/user_tokens.md",
    "doc/api/project_access_tokens.md",
    "doc/api/group_access_tokens.md",
];

/// The prefix GitLab's REST paths carry (its OpenAPI writes them the same way).
const PREFIX: &str = "/api/v4";

/// The PAT subset of the pinned fragment, checked against the pinned pages.
pub fn extract(upstream: &Upstream) -> Result<Value, Error> {
    let at = |e: String| Error::new(format!("contracts/gitlab/upstream/{FRAGMENT}: {e}"));
    let text = upstream.read(FRAGMENT)?;
    let fragment: Value = serde_json::from_str(&text).map_err(|e| at(e.to_string()))?;
    let mut pages = Vec::new();
    for page in PAGES {
        pages.push(Page::parse(&upstream.read(page)?));
    }
    check_against_pages(&fragment, &pages).map_err(at)?;
    super::dfns::subset_of(fragment, &format!("contracts/gitlab/upstream/{FRAGMENT}")).map_err(at)
}

/// One endpoint line of a page: `POST /personal_access_tokens/:id/rotate`, with the
/// attribute table that follows it (before the next endpoint block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Upper-case method.
    pub method: String,
    /// The path as the page writes it, without a query.
    pub path: String,
    /// `(attribute, required)` of the table after the block.
    pub attributes: Vec<(String, bool)>,
    /// The path attribute whose description says it takes "the keyword `self`".
    pub self_param: Option<String>,
}

/// What a page documents: its endpoints.
#[derive(Debug, Default)]
pub struct Page {
    /// In page order; the same method and path once (the first block that has it).
    pub endpoints: Vec<Endpoint>,
}

impl Page {
    /// Reads the `plaintext` blocks and the attribute tables of a page: a table belongs to
    /// the endpoints of the last `plaintext` block of its section.
    pub fn parse(text: &str) -> Page {
        let mut page = Page::default();
        // `Some(true)` in a `plaintext` block, `Some(false)` in another fenced block.
        let mut fence: Option<bool> = None;
        let mut open: Vec<usize> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(info) = trimmed.strip_prefix("```") {
                fence = match fence {
                    Some(_) => None,
                    None if info == "plaintext" => {
                        open.clear();
                        Some(true)
                    }
                    None => Some(false),
                };
                continue;
            }
            match fence {
                Some(true) => {
                    if let Some(endpoint) = endpoint_line(trimmed) {
                        let i =
                            match page.endpoints.iter().position(|e| {
                                e.method == endpoint.method && e.path == endpoint.path
                            }) {
                                Some(i) => i,
                                None => {
                                    page.endpoints.push(endpoint);
                                    page.endpoints.len() - 1
                                }
                            };
                        if !open.contains(&i) {
                            open.push(i);
                        }
                    }
                }
                Some(false) => {}
                None if trimmed.starts_with('#') => open.clear(),
                None => {
                    if let Some((name, required, takes_self)) = table_row(trimmed) {
                        for &i in &open {
                            let endpoint = &mut page.endpoints[i];
                            if takes_self {
                                endpoint.self_param = Some(name.clone());
                            }
                            if !endpoint.attributes.iter().any(|(n, _)| *n == name) {
                                endpoint.attributes.push((name.clone(), required));
                            }
                        }
                    }
                }
            }
        }
        page
    }
}

/// `GET /personal_access_tokens?revoked=true` → the endpoint `GET /personal_access_tokens`;
/// the pages write some paths without the leading `/` (`GET projects/:id/access_tokens`).
fn endpoint_line(line: &str) -> Option<Endpoint> {
    let (method, rest) = line.split_once(' ')?;
    let rest = rest.trim();
    if !matches!(method, "GET" | "POST" | "PUT" | "PATCH" | "DELETE")
        || rest.is_empty()
        || rest.contains(' ')
    {
        return None;
    }
    let path = rest.split('?').next().unwrap_or(rest);
    Some(Endpoint {
        method: method.to_owned(),
        path: format!("/{}", path.trim_start_matches('/')),
        attributes: Vec::new(),
        self_param: None,
    })
}

/// `| `name` | type | yes | … |` → `(name, true, takes_self)`, where `takes_self` says the
/// description offers "the keyword `self`"; other lines → `None`.
fn table_row(line: &str) -> Option<(String, bool, bool)> {
    let cells: Vec<&str> = line.strip_prefix('|')?.split('|').map(str::trim).collect();
    let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
    if name.is_empty() || name.contains('`') {
        return None;
    }
    let required = cells.get(2)?.eq_ignore_ascii_case("yes");
    let takes_self = cells.get(3).is_some_and(|d| d.contains("keyword `self`"));
    Some((name.to_owned(), required, takes_self))
}

/// `/personal_access_tokens/:id/rotate` → `/api/v4/personal_access_tokens/{id}/rotate`.
pub fn template(path: &str) -> String {
    let parts: Vec<String> = path
        .split('/')
        .map(|part| match part.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => part.to_owned(),
        })
        .collect();
    format!("{PREFIX}{}", parts.join("/"))
}

/// Whether a page's endpoint is one pats describes: personal, project and group access
/// tokens, not the token associations.
fn in_scope(endpoint: &Endpoint) -> bool {
    (endpoint.path.contains("personal_access_tokens") || endpoint.path.contains("/access_tokens"))
        && !endpoint.path.ends_with("/associations")
}

/// The checks of the module docs.
pub fn check_against_pages(fragment: &Value, pages: &[Page]) -> Result<(), String> {
    let paths = fragment
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("missing `paths`")?;
    let mut described = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
            described.insert((method.to_uppercase(), path.clone()));
        }
    }
    let endpoints: Vec<&Endpoint> = pages
        .iter()
        .flat_map(|p| &p.endpoints)
        .filter(|e| in_scope(e))
        .collect();
    if endpoints.is_empty() {
        return Err("the vendored pages document no personal access token endpoint".to_owned());
    }
    let mut documented = BTreeSet::new();
    for endpoint in &endpoints {
        let key = (endpoint.method.clone(), template(&endpoint.path));
        if !described.contains(&key) {
            return Err(format!(
                "the pages document `{} {}`, which the fragment does not describe (as `{} {}`)",
                endpoint.method, endpoint.path, key.0, key.1
            ));
        }
        // The documented `self` keyword in place of the attribute that takes it.
        if let Some(param) = &endpoint.self_param {
            documented.insert((
                key.0.clone(),
                key.1.replace(&format!("{{{param}}}"), "self"),
            ));
        }
        documented.insert(key);
    }
    if let Some((method, path)) = described.difference(&documented).next() {
        return Err(format!(
            "the fragment describes `{method} {path}`, which no vendored page documents"
        ));
    }
    for endpoint in &endpoints {
        check_attributes(fragment, endpoint)?;
    }
    Ok(())
}

/// The list's query parameters and a create's body properties are the page's attributes.
fn check_attributes(fragment: &Value, endpoint: &Endpoint) -> Result<(), String> {
    let path = template(&endpoint.path);
    let operation = &fragment["paths"][&path][endpoint.method.to_lowercase()];
    let at = format!("{} {path}", endpoint.method);
    let in_path: BTreeSet<String> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect();
    let table: BTreeSet<(String, bool)> = endpoint
        .attributes
        .iter()
        .filter(|(name, _)| !in_path.contains(name))
        .cloned()
        .collect();
    type Attributes = BTreeSet<(String, bool)>;
    let (described, expected): (Attributes, Attributes) = if endpoint.method == "GET" {
        let mut expected = table;
        // A collection (its path ends with a literal): offset pagination.
        if !path.ends_with('}') {
            expected.insert(("page".to_owned(), false));
            expected.insert(("per_page".to_owned(), false));
        }
        let query = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_owned(),
                    p["required"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        (query, expected)
    } else if endpoint.method == "POST" {
        let Some(reference) = operation
            .pointer("/requestBody/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
        else {
            return Err(format!("{at}: no JSON request body"));
        };
        let name = reference.rsplit('/').next().unwrap_or_default();
        let schema = &fragment["components"]["schemas"][name];
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let body = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| (name.clone(), required.contains(name.as_str())))
            .collect();
        (body, table)
    } else {
        return Ok(());
    };
    if described == expected {
        Ok(())
    } else {
        Err(format!(
            "{at}: the fragment has {described:?}, the page's attributes are {expected:?}"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn committed() -> (Value, Vec<Page>) {
        let upstream = Upstream::load(&root().join("contracts/gitlab")).unwrap();
        let fragment = serde_json::from_str(&upstream.read(FRAGMENT).unwrap()).unwrap();
        let pages = PAGES
            .iter()
            .map(|p| Page::parse(&upstream.read(p).unwrap()))
            .collect();
        (fragment, pages)
    }

    #[test]
    fn reads_endpoints_and_their_tables() {
        let page = Page::parse(
            "## List\n\n```plaintext\nGET /things\nGET /things?state=x\n```\n\n\
             | Attribute | Type | Required | Description |\n|---|---|---|---|\n\
             | `state` | string | No | s |\n| `id` | integer | yes | i |\n\n\
             ```json\n| `inside` | a | yes | json |\n```\n\n## Other\n\n| `late` | x | yes | y |\n",
        );
        assert_eq!(
            page.endpoints,
            [Endpoint {
                method: "GET".to_owned(),
                path: "/things".to_owned(),
                attributes: vec![("state".to_owned(), false), ("id".to_owned(), true)],
                self_param: None,
            }]
        );
        assert_eq!(template("/users/:user_id/x"), "/api/v4/users/{user_id}/x");
    }

    #[test]
    fn the_committed_fragment_matches_the_pages_and_extracts() {
        let upstream = Upstream::load(&root().join("contracts/gitlab")).unwrap();
        let out = extract(&upstream).unwrap();
        let ids: BTreeSet<&str> = out["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 21, "{ids:?}");
        assert!(ids.contains("rotateProjectAccessTokenSelf"), "{ids:?}");
        for group in [
            "listGroupAccessTokens",
            "getGroupAccessToken",
            "createGroupAccessToken",
            "rotateGroupAccessToken",
            "rotateGroupAccessTokenSelf",
            "revokeGroupAccessToken",
        ] {
            assert!(ids.contains(group), "{group}: {ids:?}");
        }
        assert_eq!(
            out.pointer(
                "/paths/~1api~1v4~1groups~1{id}~1access_tokens/post/requestBody/content/application~1json/schema/required"
            )
            .or_else(|| out.pointer("/components/schemas/CreateGroupAccessTokenBody/required")),
            Some(&serde_json::json!(["name", "scopes"])),
            "the group page leaves expires_at optional"
        );
        assert_eq!(
            out.pointer(
                "/paths/~1api~1v4~1personal_access_tokens~1{id}~1rotate/post/x-pats-idempotent"
            ),
            Some(&Value::Bool(false))
        );
        assert_eq!(
            out.pointer("/paths/~1api~1v4~1personal_access_tokens/get/x-pats-idempotent"),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn a_difference_either_way_is_refused() {
        let (fragment, pages) = committed();
        check_against_pages(&fragment, &pages).unwrap();

        let mut missing = fragment.clone();
        missing["paths"]
            .as_object_mut()
            .unwrap()
            .remove("/api/v4/user/personal_access_tokens");
        let err = check_against_pages(&missing, &pages).unwrap_err();
        assert!(err.contains("POST /user/personal_access_tokens"), "{err}");

        let mut extra = fragment.clone();
        extra["paths"]["/api/v4/personal_access_tokens/{id}"]["put"] =
            extra["paths"]["/api/v4/personal_access_tokens/{id}"]["get"].clone();
        let err = check_against_pages(&extra, &pages).unwrap_err();
        assert!(
            err.contains("PUT /api/v4/personal_access_tokens/{id}"),
            "{err}"
        );

        let mut query = fragment.clone();
        query["paths"]["/api/v4/personal_access_tokens"]["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["name"] != "expires_before");
        let err = check_against_pages(&query, &pages).unwrap_err();
        assert!(err.contains("expires_before"), "{err}");

        let mut body = fragment.clone();
        body["components"]["schemas"]["CreatePersonalAccessTokenBody"]["required"] =
            serde_json::json!(["name"]);
        let err = check_against_pages(&body, &pages).unwrap_err();
        assert!(err.contains("scopes"), "{err}");

        // A `self` form the page does not offer (project tokens: only rotate takes `self`).
        let mut project = fragment.clone();
        project["paths"]["/api/v4/projects/{id}/access_tokens/self"] = serde_json::json!({
            "delete": project["paths"]["/api/v4/projects/{id}/access_tokens/{token_id}"]["delete"].clone()
        });
        let err = check_against_pages(&project, &pages).unwrap_err();
        assert!(
            err.contains("DELETE /api/v4/projects/{id}/access_tokens/self"),
            "{err}"
        );

        let mut rotate = fragment;
        rotate["components"]["schemas"]["RotatePersonalAccessTokenBody"]["properties"]["ttl"] =
            serde_json::json!({"type": "integer"});
        let err = check_against_pages(&rotate, &pages).unwrap_err();
        assert!(err.contains("ttl"), "{err}");
    }
}
