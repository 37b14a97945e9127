//! The PAT API of every version (`/{v}/personal-access-tokens…`, `/personal-access-tokens/v1…`,
//! bulk update): validation, JSON Patch, rendering per version, errors.

use super::*;

/// The vendor contract the simulator plays (`contracts/sailpoint`, copied into this crate by
/// `cargo xtask codegen`).
pub(super) const CONTRACT: &str = include_str!("../generated/contracts/sailpoint.openapi.json");

/// `(method, path template)` of every operation `contract` marks
/// `x-sailpoint-experimental: true`.
pub(super) fn experimental_in(contract: &str) -> HashSet<(String, String)> {
    let Ok(contract) = serde_json::from_str::<Value>(contract) else {
        return HashSet::new();
    };
    let mut out = HashSet::new();
    for (path, item) in contract
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, op) in item.as_object().into_iter().flatten() {
            if op.get("x-sailpoint-experimental") == Some(&Value::Bool(true)) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// The operations of the vendored contract that require `X-SailPoint-Experimental: true`
/// (none of the PAT operations at the pinned commit).
pub(super) fn experimental_operations() -> &'static HashSet<(String, String)> {
    static OPERATIONS: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    OPERATIONS.get_or_init(|| experimental_in(CONTRACT))
}
pub(super) const MIN_VALIDITY: i64 = 15;
/// The last segment of the V1 bulk update, `/personal-access-tokens/v1/bulk-update`.
pub(super) const BULK_UPDATE: &str = "bulk-update";
/// The most tokens one bulk update may name.
pub(super) const BULK_MAX_IDS: usize = 25;
/// The paths a bulk update may patch.
pub(super) const BULK_PATCHABLE: &[&str] = &["/expirationDate", "/userAwareTokenNeverExpires"];
pub(super) const MAX_VALIDITY: i64 = 43_200;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Version {
    V3,
    Beta,
    V2024,
    V2025,
    V2026,
    V1,
}

impl Version {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::Beta => "beta",
            Self::V2024 => "v2024",
            Self::V2025 => "v2025",
            Self::V2026 => "v2026",
            Self::V1 => "v1",
        }
    }

    pub(super) fn never_expires(self) -> bool {
        matches!(self, Self::V2025 | Self::V2026 | Self::V1)
    }

    pub(super) fn patchable(self) -> &'static [&'static str] {
        if self.never_expires() {
            &[
                "/name",
                "/scope",
                "/expirationDate",
                "/userAwareTokenNeverExpires",
            ]
        } else {
            &["/name", "/scope"]
        }
    }
}

/// An ErrorResponseDto answer.
pub(super) fn dto(status: u16, detail_code: &str, text: &str) -> Answer {
    Answer::new(status).set_body_json(json!({
        "detailCode": detail_code,
        "trackingId": hex(32),
        "messages": [{ "locale": "en-US", "localeOrigin": "DEFAULT", "text": text }],
        "causes": [],
    }))
}

pub(super) fn bad_request(text: &str) -> Answer {
    dto(400, "400.1 Bad Request Content", text)
}

pub(super) fn not_found(text: &str) -> Answer {
    dto(404, "404 Not found", text)
}

pub(super) fn unauthorized(error: &str) -> Answer {
    Answer::new(401).set_body_json(json!({ "error": error }))
}

/// The token as `version` shows it.
/// Checks that every operation of `ops` writes (and, for `move`/`copy`, reads) only
/// `allowed` paths: the first other path is the error. Otherwise, whether the patch
/// acknowledges a never-expiring token (`userAwareTokenNeverExpires` set to `true`, the
/// last such operation winning).
pub(super) fn patch_paths<'a>(
    ops: &'a json_patch::Patch,
    allowed: &[&str],
) -> Result<bool, &'a str> {
    let mut acknowledged = false;
    for op in &ops.0 {
        let mut paths = vec![op.path().as_str()];
        match op {
            json_patch::PatchOperation::Move(m) => paths.push(m.from.as_str()),
            json_patch::PatchOperation::Copy(c) => paths.push(c.from.as_str()),
            json_patch::PatchOperation::Add(a)
                if a.path.as_str() == "/userAwareTokenNeverExpires" =>
            {
                acknowledged = a.value == Value::Bool(true);
            }
            json_patch::PatchOperation::Replace(r)
                if r.path.as_str() == "/userAwareTokenNeverExpires" =>
            {
                acknowledged = r.value == Value::Bool(true);
            }
            _ => {}
        }
        if let Some(p) = paths.into_iter().find(|p| !allowed.contains(p)) {
            return Err(p);
        }
    }
    Ok(acknowledged)
}

pub(super) fn check_scope(value: Option<&Value>) -> Result<Value, Box<Answer>> {
    match value {
        None | Some(Value::Null) => Ok(json!([ALL_SCOPES])),
        Some(Value::Array(items))
            if !items.is_empty()
                && items
                    .iter()
                    .all(|s| s.as_str().is_some_and(|s| !s.trim().is_empty())) =>
        {
            Ok(Value::Array(items.clone()))
        }
        Some(_) => Err(Box::new(bad_request(
            "scope must be null or a non-empty array of scope names",
        ))),
    }
}

pub(super) fn create(
    state: &mut State,
    request: &Request,
    version: Version,
    owner: &str,
) -> Answer {
    if content_type(request) != "application/json" {
        return dto(
            415,
            "415 Unsupported Media Type",
            "Content-Type must be application/json",
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
        return bad_request("The request body must be a JSON object");
    };
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        _ => return bad_request("name is required"),
    };
    if state.name_taken(owner, &name, None) {
        return bad_request(&format!(
            "A personal access token named '{name}' already exists for this owner"
        ));
    }
    let scope = match check_scope(body.get("scope")) {
        Ok(s) => s,
        Err(answer) => return *answer,
    };
    let validity = match body.get("accessTokenValiditySeconds") {
        None | Some(Value::Null) => MAX_VALIDITY,
        Some(v) => match v.as_i64() {
            Some(s) if (MIN_VALIDITY..=MAX_VALIDITY).contains(&s) => s,
            _ => {
                return bad_request(
                    "accessTokenValiditySeconds must be an integer between 15 and 43200",
                );
            }
        },
    };
    let at = now();
    let acknowledged = match body.get("userAwareTokenNeverExpires") {
        None | Some(Value::Null) => false,
        Some(_) if !version.never_expires() => {
            return bad_request("Unrecognized field userAwareTokenNeverExpires");
        }
        Some(Value::Bool(b)) => *b,
        Some(_) => return bad_request("userAwareTokenNeverExpires must be a boolean"),
    };
    let expiration = match body.get("expirationDate") {
        None | Some(Value::Null) if version.never_expires() => {
            if !acknowledged {
                return bad_request(
                    "expirationDate is null: userAwareTokenNeverExpires must be true",
                );
            }
            None
        }
        None | Some(Value::Null) => Some(six_months_after(at)),
        Some(Value::String(s)) => {
            let Some(t) = parse_time(s) else {
                return bad_request("expirationDate must be an ISO-8601 date-time");
            };
            if t <= at {
                return bad_request("expirationDate must be in the future");
            }
            if !version.never_expires() && t > six_months_after(at) {
                return bad_request("expirationDate must be at most six months from now");
            }
            Some(t)
        }
        Some(_) => return bad_request("expirationDate must be a date-time"),
    };
    let owner_name = state.identities.get(owner).cloned().unwrap_or_default();
    let owner = state.owner(owner, &owner_name);
    let pat = StoredPat {
        id: fastrand::u128(..),
        seq: state.next_seq,
        name,
        scope: match &scope {
            Value::Array(items) => scopes(items),
            _ => Vec::new(),
        },
        owner,
        created: at,
        validity: u32::try_from(validity).unwrap_or(43_200),
        expiration,
        last_used: None,
        managed: false,
        never_expires: acknowledged,
        secret: StoredPat::new_secret(),
    };
    state.next_seq += 1;
    let mut answer = pat.to_json(version);
    if let Value::Object(m) = &mut answer {
        m.insert("secret".into(), Value::String(pat.secret_text()));
    }
    state.put_pat(pat);
    Answer::new(200).set_body_json(answer)
}

pub(super) enum Filter {
    LastUsedLe(OffsetDateTime),
    LastUsedIsNull,
}

pub(super) fn parse_filter(expr: &str) -> Option<Filter> {
    let words: Vec<&str> = expr.split_whitespace().collect();
    match words.as_slice() {
        ["lastUsed", "isnull"] => Some(Filter::LastUsedIsNull),
        ["lastUsed", "le", t] => parse_time(t).map(Filter::LastUsedLe),
        _ => None,
    }
}

/// O(the owner's tokens) with `owner-id`; every token without.
pub(super) fn list(state: &mut State, request: &Request, version: Version, caller: &str) -> Answer {
    let mut owner: Option<String> = None;
    let mut filter = None;
    for (k, v) in request.url.query_pairs() {
        match k.as_ref() {
            "owner-id" if v == "me" => owner = Some(caller.to_owned()),
            "owner-id" => owner = Some(v.into_owned()),
            "filters" => match parse_filter(&v) {
                Some(f) => filter = Some(f),
                None => {
                    return bad_request(&format!(
                        "Invalid filter '{v}': only 'lastUsed le <date-time>' and 'lastUsed isnull' are supported"
                    ));
                }
            },
            _ => {}
        }
    }
    let candidates = match &owner {
        // In creation order already.
        Some(owner) => state.owned_by(owner),
        None => {
            let mut all: Vec<&StoredPat> = state.pats.values().collect();
            all.sort_unstable_by_key(|p| p.seq);
            all
        }
    };
    let items: Vec<Rendered<'_>> = candidates
        .into_iter()
        .filter(|p| match (&filter, p.last_used) {
            (None, _) => true,
            (Some(Filter::LastUsedIsNull), l) => l.is_none(),
            (Some(Filter::LastUsedLe(t)), Some(l)) => l <= *t,
            (Some(Filter::LastUsedLe(_)), None) => false,
        })
        .map(|p| Rendered(p, version))
        .collect();
    // Written straight from the stored tokens: no copy of each one (a list is the
    // emulator's hottest path).
    let body = serde_json::to_vec(&items).unwrap_or_default();
    Answer::new(200).set_body_raw(body, "application/json")
}

pub(super) fn patch(state: &mut State, request: &Request, version: Version, id: &str) -> Answer {
    let Some(pat) = parse_id(id).and_then(|key| state.pats.get(&key)).cloned() else {
        return not_found(&format!("personal access token '{id}' not found"));
    };
    if content_type(request) != "application/json-patch+json" {
        return dto(
            415,
            "415 Unsupported Media Type",
            "Content-Type must be application/json-patch+json",
        );
    }
    let Ok(ops) = serde_json::from_slice::<json_patch::Patch>(&request.body) else {
        return bad_request("The body must be a JSON Patch (RFC 6902) array");
    };
    let allowed = version.patchable();
    let touches_expiration = ops
        .0
        .iter()
        .any(|op| op.path().as_str() == "/expirationDate");
    let acknowledged = match patch_paths(&ops, allowed) {
        Ok(acknowledged) => acknowledged,
        Err(p) => return bad_request(&format!("The path '{p}' is not patchable")),
    };
    let owner = pat.owner.id.to_string();
    let mut doc = pat.to_json(Version::V1);
    if let Err(e) = json_patch::patch(&mut doc, &ops.0) {
        return bad_request(&format!("The patch could not be applied: {e}"));
    }
    let Value::Object(mut m) = doc else {
        return bad_request("The patch must leave an object");
    };
    let name = match m.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        _ => return bad_request("name must be a non-empty string"),
    };
    if name != pat.name && state.name_taken(&owner, &name, Some(pat.id)) {
        return bad_request(&format!(
            "A personal access token named '{name}' already exists for this owner"
        ));
    }
    match check_scope(m.get("scope")) {
        Ok(s) => {
            m.insert("scope".into(), s);
        }
        Err(answer) => return *answer,
    }
    if !matches!(m.get("userAwareTokenNeverExpires"), Some(Value::Bool(_))) {
        return bad_request("userAwareTokenNeverExpires must be a boolean");
    }
    match m.get("expirationDate") {
        None | Some(Value::Null) => {
            if touches_expiration && !acknowledged {
                return bad_request(
                    "expirationDate is null: the patch must set userAwareTokenNeverExpires to true",
                );
            }
            m.insert("expirationDate".into(), Value::Null);
        }
        Some(Value::String(s)) => {
            let changed = pat.expiration.map(format_time).as_ref() != Some(s);
            match parse_time(s) {
                Some(t) if !changed || t > now() => {
                    // Stored and answered in the documented format, not as sent.
                    m.insert("expirationDate".into(), Value::String(format_time(t)));
                }
                _ => return bad_request("expirationDate must be a future date-time"),
            }
        }
        Some(_) => return bad_request("expirationDate must be a date-time"),
    }
    let mut updated = pat.clone();
    updated.take_patched(&m);
    let answer = updated.to_json(version);
    state.put_pat(updated);
    Answer::new(200).set_body_json(answer)
}

/// `PATCH|POST /personal-access-tokens/v1/bulk-update`, as SailPoint's description of
/// `updateBulkPersonalAccessTokensV1` says: only user tokens (an API client's
/// client-credentials token gets 403), `application/json` (else 415), 1 to 25 distinct,
/// non-blank `ids` naming existing tokens of the tenant and a JSON Patch of at least one
/// operation touching only `/expirationDate` and `/userAwareTokenNeverExpires` (else 400;
/// the description lists no 404). Clearing the expiration needs `userAwareTokenNeverExpires:
/// true` in the same patch; a new expiration must lie in the future. All or nothing: one
/// token the patch cannot apply to fails the whole request. Answers the updated tokens
/// sorted by `id`, without `userAwareTokenNeverExpires` ("stored internally and is not
/// returned in the response").
pub(super) fn bulk_update(state: &mut State, request: &Request, caller: &Caller) -> Answer {
    if caller.api_client {
        return dto(
            403,
            "403 Forbidden",
            "API OAuth client credentials are not permitted to call this endpoint: use a personal access token",
        );
    }
    if content_type(request) != "application/json" {
        return dto(
            415,
            "415 Unsupported Media Type",
            "Content-Type must be application/json",
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
        return bad_request("The request body must be a JSON object with ids and patch");
    };
    let Some(Value::Array(ids)) = body.get("ids") else {
        return bad_request("ids is required: an array of personal access token ids");
    };
    if ids.is_empty() || ids.len() > BULK_MAX_IDS {
        return bad_request(&format!(
            "ids must name between 1 and {BULK_MAX_IDS} personal access tokens, not {}",
            ids.len()
        ));
    }
    let mut wanted: Vec<&str> = Vec::with_capacity(ids.len());
    for id in ids {
        match id.as_str() {
            Some(id) if !id.trim().is_empty() => {
                if wanted.contains(&id) {
                    return bad_request(&format!("ids must not repeat '{id}'"));
                }
                wanted.push(id);
            }
            _ => return bad_request("ids must be non-blank strings"),
        }
    }
    let ops = match body.get("patch") {
        Some(Value::Array(items)) if !items.is_empty() => {
            match serde_json::from_value::<json_patch::Patch>(Value::Array(items.clone())) {
                Ok(ops) => ops,
                Err(_) => return bad_request("patch must be a JSON Patch (RFC 6902) array"),
            }
        }
        _ => return bad_request("patch is required: a JSON Patch of at least one operation"),
    };
    let acknowledged = match patch_paths(&ops, BULK_PATCHABLE) {
        Ok(acknowledged) => acknowledged,
        Err(p) => {
            return bad_request(&format!(
                "The path '{p}' cannot be patched in bulk: only /expirationDate and /userAwareTokenNeverExpires"
            ));
        }
    };
    let touches_expiration = ops
        .0
        .iter()
        .any(|op| op.path().as_str() == "/expirationDate");
    let unknown: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|id| !parse_id(id).is_some_and(|key| state.pats.contains_key(&key)))
        .collect();
    if !unknown.is_empty() {
        return bad_request(&format!(
            "No personal access token with the id(s) {} in this tenant",
            unknown.join(", ")
        ));
    }
    let at = now();
    let mut updated: Vec<StoredPat> = Vec::with_capacity(wanted.len());
    for id in &wanted {
        let Some(pat) = parse_id(id).and_then(|key| state.pats.get(&key)) else {
            continue;
        };
        let before = pat.to_json(Version::V1);
        let mut doc = before.clone();
        if let Err(e) = json_patch::patch(&mut doc, &ops.0) {
            return bad_request(&format!("The patch could not be applied to '{id}': {e}"));
        }
        let Value::Object(mut m) = doc else {
            return bad_request("The patch must leave an object");
        };
        if !matches!(m.get("userAwareTokenNeverExpires"), Some(Value::Bool(_))) {
            return bad_request("userAwareTokenNeverExpires must be a boolean");
        }
        match m.get("expirationDate") {
            None | Some(Value::Null) => {
                if touches_expiration && !acknowledged {
                    return bad_request(
                        "Clearing expirationDate needs userAwareTokenNeverExpires set to true in the same patch",
                    );
                }
                m.insert("expirationDate".into(), Value::Null);
            }
            Some(Value::String(s)) => {
                let changed = before.get("expirationDate") != Some(&Value::String(s.clone()));
                match parse_time(s) {
                    Some(t) if !changed || t > at => {
                        m.insert("expirationDate".into(), Value::String(format_time(t)));
                    }
                    _ => return bad_request("expirationDate must be a future date-time"),
                }
            }
            Some(_) => return bad_request("expirationDate must be a date-time"),
        }
        let mut pat = pat.clone();
        pat.take_patched(&m);
        updated.push(pat);
    }
    let mut answer: Vec<Value> = Vec::with_capacity(updated.len());
    for pat in updated {
        // "stored internally and is not returned in the response"
        answer.push(pat.to_json(Version::V3));
        state.put_pat(pat);
    }
    answer.sort_by(|a, b| {
        let id = |v: &Value| v.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
        id(a).cmp(&id(b))
    });
    Answer::new(200).set_body_json(Value::Array(answer))
}

pub(super) fn delete(state: &mut State, id: &str) -> Answer {
    if parse_id(id).and_then(|key| state.remove_pat(key)).is_none() {
        return not_found(&format!("personal access token '{id}' not found"));
    }
    Answer::new(204)
}
