//! The user service v2 (Connect JSON, and gRPC through `zitadel_grpc`):
//! `AddPersonalAccessToken`, `ListPersonalAccessTokens`, `RemovePersonalAccessToken` and
//! `ListUsers`.

use super::proto::*;
use super::state::*;
use super::v1::{owner_page, remove_pat, walk};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The organization of user `user_id`: where the v2 user service acts. Its resources are
/// addressed by id, so `x-zitadel-orgid` does not scope them (ZITADEL's command looks the
/// user up with no resource owner); the caller's permissions do, and every caller the
/// simulator authenticates has instance-wide rights (see [`ZitadelSim::restrict_user`]).
pub(super) fn org_of_user(state: &State, user_id: &str) -> Result<String, Fail> {
    if user_id.is_empty() {
        return Err(USER_ID_MISSING);
    }
    state
        .users
        .get(user_id)
        .map(|u| u.org.clone())
        .ok_or(USER_NOT_FOUND)
}

pub(super) fn v2_add(state: &mut State, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["userId", "expirationDate"])?;
    let user = str_field(body, "userId")?.to_owned();
    // `validate.rules` of AddPersonalAccessTokenRequest: `timestamp.required` (unlike v1,
    // where a missing expiration means never).
    if matches!(body.get("expirationDate"), None | Some(Value::Null)) {
        return Err(EXPIRATION_MISSING);
    }
    let org = org_of_user(state, &user)?;
    machine_user(state, &org, &user)?;
    let expiration = expiration_field(body.get("expirationDate"))?;
    let (pat, secret) = state.add_pat(&user, &org, expiration);
    Ok(json!({ "creationDate": ts(pat.created), "tokenId": pat.id, "token": secret }))
}

pub(super) fn v2_remove(state: &mut State, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["userId", "tokenId"])?;
    let user = str_field(body, "userId")?.to_owned();
    let token = str_field(body, "tokenId")?.to_owned();
    if user.is_empty() {
        return Err(USER_ID_MISSING);
    }
    if token.is_empty() {
        return Err(Fail(
            Code::InvalidArgument,
            "USER-SIMid02",
            "Errors.User.PAT.IDMissing",
        ));
    }
    // "The personal access token was either successfully removed or it was not found in
    // the first place" (user_service.proto): a token that is not there is OK too.
    let Some(org) = state.users.get(&user).map(|u| u.org.clone()) else {
        return Ok(json!({}));
    };
    // `remove_pat` fails only when the user has no such token.
    Ok(match remove_pat(state, &org, &user, &token) {
        Ok(_) => json!({ "deletionDate": ts(now()) }),
        Err(_) => json!({}),
    })
}

pub(super) fn compare(
    method: &str,
    value: OffsetDateTime,
    at: OffsetDateTime,
) -> Result<bool, Fail> {
    Ok(match method {
        "" | "TIMESTAMP_FILTER_METHOD_EQUALS" => value == at,
        "TIMESTAMP_FILTER_METHOD_AFTER" => value > at,
        "TIMESTAMP_FILTER_METHOD_AFTER_OR_EQUALS" => value >= at,
        "TIMESTAMP_FILTER_METHOD_BEFORE" => value < at,
        "TIMESTAMP_FILTER_METHOD_BEFORE_OR_EQUALS" => value <= at,
        _ => return Err(BAD_BODY),
    })
}

pub(super) type Predicate = Box<dyn Fn(&StoredPat) -> bool>;

pub(super) fn v2_filter(filter: &Value) -> Result<Predicate, Fail> {
    let obj = filter.as_object().ok_or(BAD_BODY)?;
    if obj.len() != 1 {
        return Err(BAD_BODY);
    }
    let (key, value) = obj.iter().next().ok_or(BAD_BODY)?;
    let id = || -> Result<String, Fail> {
        known_nested(Some(value), &["id"])?;
        value
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(BAD_BODY)
    };
    let timestamp = || -> Result<(String, OffsetDateTime), Fail> {
        known_nested(Some(value), &["timestamp", "method"])?;
        let at = value
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_ts)
            .ok_or(BAD_BODY)?;
        let method = value
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        compare(&method, at, at)?;
        Ok((method, at))
    };
    Ok(match key.as_str() {
        "tokenIdFilter" => {
            let id = id()?;
            Box::new(move |p| p.id == id)
        }
        "userIdFilter" => {
            let id = id()?;
            Box::new(move |p| p.user_id == id)
        }
        "organizationIdFilter" => {
            let id = id()?;
            Box::new(move |p| p.org_id == id)
        }
        "createdDateFilter" => {
            let (m, at) = timestamp()?;
            Box::new(move |p| compare(&m, p.created, at).unwrap_or(false))
        }
        "expirationDateFilter" => {
            let (m, at) = timestamp()?;
            Box::new(move |p| compare(&m, p.expiration, at).unwrap_or(false))
        }
        _ => return Err(BAD_BODY),
    })
}

/// `ListPersonalAccessTokens`: "by default all personal access tokens of the instance on
/// which the caller has permission to read the owning users" (user_service.proto), so not
/// scoped by `x-zitadel-orgid`; an `organizationIdFilter` narrows it to one organization.
pub(super) fn v2_list(state: &State, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["pagination", "sortingColumn", "filters"])?;
    known_nested(body.get("pagination"), &["offset", "limit", "asc"])?;
    let empty = Map::new();
    let pagination = match body.get("pagination") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(BAD_BODY),
    };
    let offset = u64_field(pagination.get("offset"))?;
    let limit = limit_field(pagination.get("limit"))?;
    let asc = matches!(pagination.get("asc"), Some(Value::Bool(true)));
    let filters = match body.get("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(f)) => f.iter().map(v2_filter).collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(BAD_BODY),
    };
    let column = match body.get("sortingColumn") {
        None | Some(Value::Null) => "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(BAD_BODY),
    };
    let key: fn(&StoredPat) -> String = match column {
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED"
        | "PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE" => |p| ts(p.created),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ID" => |p| format!("{:0>20}", p.id),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_USER_ID" => |p| p.user_id.clone(),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ORGANIZATION_ID" => |p| p.org_id.clone(),
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_EXPIRATION_DATE" => |p| ts(p.expiration),
        _ => return Err(BAD_BODY),
    };
    let (total, page) = match in_creation_order(state, body.get("filters"), column) {
        Some(Scope::Instance) => (
            state.pats.len(),
            walk(state.pats.values(), offset, limit, asc),
        ),
        Some(Scope::Owner(org, user)) => owner_page(state, &org, &user, offset, limit, asc),
        None => {
            let items: Vec<&StoredPat> = state
                .pats
                .values()
                .filter(|p| filters.iter().all(|f| f(p)))
                .collect();
            sorted_page(items, offset, limit, asc, key)
        }
    };
    let result = page.into_iter().map(v2_pat).collect();
    Ok(list_envelope(state, total, result, Some(limit)))
}

/// What a list that can be answered in creation order from the tables covers.
pub(super) enum Scope {
    /// Every token of the instance.
    Instance,
    /// The tokens of (organization, user).
    Owner(String, String),
}

/// The scope of a `ListPersonalAccessTokens` whose page is a walk in creation order, in
/// O(offset + page): no filter, or a `userIdFilter` (with at most an
/// `organizationIdFilter`), sorted by creation date or id (the order ids are made in).
/// `None` for any other list, which is filtered and sorted in full.
pub(super) fn in_creation_order(
    state: &State,
    filters: Option<&Value>,
    column: &str,
) -> Option<Scope> {
    if !matches!(
        column,
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED"
            | "PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE"
            | "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ID"
    ) {
        return None;
    }
    let filters = match filters {
        None | Some(Value::Null) => return Some(Scope::Instance),
        Some(Value::Array(f)) if f.is_empty() => return Some(Scope::Instance),
        Some(Value::Array(f)) => f,
        Some(_) => return None,
    };
    let (mut user, mut org) = (None, None);
    for filter in filters {
        let (kind, value) = filter.as_object()?.iter().next()?;
        let id = value.get("id")?.as_str()?.to_owned();
        let slot = match kind.as_str() {
            "userIdFilter" => &mut user,
            "organizationIdFilter" => &mut org,
            _ => return None,
        };
        if slot.replace(id).is_some() {
            return None;
        }
    }
    let user = user?;
    let org = match org {
        Some(org) => org,
        None => state.users.get(&user)?.org.clone(),
    };
    Some(Scope::Owner(org, user))
}

/// A user matcher of a `ListUsers` query.
pub(super) type UserPredicate = Box<dyn Fn(&str, &User) -> bool>;

pub(super) const QUERY_NOT_SIMULATED: Fail = Fail(
    Code::Unimplemented,
    "SIM-UNIMPL",
    "this user query is not simulated",
);

/// One `SearchQuery` (exactly one member set, as its `validate.required` oneof demands).
pub(super) fn v2_user_query(query: &Value) -> Result<UserPredicate, Fail> {
    let obj = query.as_object().ok_or(BAD_BODY)?;
    if obj.len() != 1 {
        return Err(BAD_BODY);
    }
    let (key, value) = obj.iter().next().ok_or(BAD_BODY)?;
    let sub_queries = |field: &str| -> Result<Vec<UserPredicate>, Fail> {
        known_nested(Some(value), &[field])?;
        match value.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(v2_user_query).collect(),
            Some(_) => Err(BAD_BODY),
        }
    };
    Ok(match key.as_str() {
        "userNameQuery" => {
            known_nested(Some(value), &["userName", "method"])?;
            let name = value
                .get("userName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && n.chars().count() <= 200)
                .ok_or(BAD_BODY)?
                .to_owned();
            let method = match value.get("method") {
                None | Some(Value::Null) => "TEXT_QUERY_METHOD_EQUALS",
                Some(Value::String(m)) => m.as_str(),
                Some(_) => return Err(BAD_BODY),
            };
            let ignore_case = method.ends_with("_IGNORE_CASE");
            let kind = method.trim_end_matches("_IGNORE_CASE").to_owned();
            if ![
                "TEXT_QUERY_METHOD_EQUALS",
                "TEXT_QUERY_METHOD_STARTS_WITH",
                "TEXT_QUERY_METHOD_CONTAINS",
                "TEXT_QUERY_METHOD_ENDS_WITH",
            ]
            .contains(&kind.as_str())
            {
                return Err(BAD_BODY);
            }
            Box::new(move |_, u| {
                let (have, want) = if ignore_case {
                    (u.username.to_lowercase(), name.to_lowercase())
                } else {
                    (u.username.clone(), name.clone())
                };
                match kind.as_str() {
                    "TEXT_QUERY_METHOD_STARTS_WITH" => have.starts_with(&want),
                    "TEXT_QUERY_METHOD_CONTAINS" => have.contains(&want),
                    "TEXT_QUERY_METHOD_ENDS_WITH" => have.ends_with(&want),
                    _ => have == want,
                }
            })
        }
        "typeQuery" => {
            known_nested(Some(value), &["type"])?;
            let machine = match value.get("type").and_then(Value::as_str) {
                Some("TYPE_MACHINE") => true,
                Some("TYPE_HUMAN") => false,
                _ => return Err(BAD_BODY),
            };
            Box::new(move |_, u| u.machine == machine)
        }
        "inUserIdsQuery" => {
            known_nested(Some(value), &["userIds"])?;
            let ids: Vec<String> = match value.get("userIds") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or(BAD_BODY))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(BAD_BODY),
            };
            Box::new(move |id, _| ids.iter().any(|i| i == id))
        }
        "organizationIdQuery" => {
            known_nested(Some(value), &["organizationId"])?;
            let org = value
                .get("organizationId")
                .and_then(Value::as_str)
                .filter(|o| !o.is_empty())
                .ok_or(BAD_BODY)?
                .to_owned();
            Box::new(move |_, u| u.org == org)
        }
        "stateQuery" => {
            known_nested(Some(value), &["state"])?;
            let active = match value.get("state").and_then(Value::as_str) {
                Some("USER_STATE_ACTIVE") => true,
                Some(s) if s.starts_with("USER_STATE_") => false,
                _ => return Err(BAD_BODY),
            };
            // Every simulated user is active.
            Box::new(move |_, _| active)
        }
        "andQuery" => {
            let all = sub_queries("queries")?;
            Box::new(move |id, u| all.iter().all(|q| q(id, u)))
        }
        "orQuery" => {
            let any = sub_queries("queries")?;
            Box::new(move |id, u| any.iter().any(|q| q(id, u)))
        }
        "notQuery" => {
            known_nested(Some(value), &["query"])?;
            let inner = v2_user_query(value.get("query").ok_or(BAD_BODY)?)?;
            Box::new(move |id, u| !inner(id, u))
        }
        "firstNameQuery" | "lastNameQuery" | "nickNameQuery" | "displayNameQuery"
        | "emailQuery" | "loginNameQuery" | "inUserEmailsQuery" | "phoneQuery" => {
            return Err(QUERY_NOT_SIMULATED);
        }
        _ => return Err(UNKNOWN_FIELD),
    })
}

/// A user as `zitadel.user.v2.User` (protojson: zero values left out).
pub(super) fn v2_user(id: &str, user: &User) -> Value {
    let mut details = Map::new();
    details.insert("resourceOwner".into(), json!(user.org));
    let login_name = format!("{}@{}.sim.zitadel.invalid", user.username, user.org);
    let mut out = json!({
        "userId": id,
        "details": details,
        "state": "USER_STATE_ACTIVE",
        "username": user.username,
        "loginNames": [login_name],
        "preferredLoginName": login_name,
    });
    if let Some(o) = out.as_object_mut() {
        if user.machine {
            o.insert("machine".into(), json!({"name": user.username}));
        } else {
            o.insert(
                "human".into(),
                json!({"userId": id, "state": "USER_STATE_ACTIVE", "username": user.username}),
            );
        }
    }
    out
}

/// `ListUsers`: the users of the call's organization matching every query. ZITADEL answers
/// for the whole instance ("by default, we will return all users of your instance that you
/// have permission to read", user_service.proto); the simulator keeps the narrower answer
/// (a recorded deviation, `contracts/deviations.json`), which pats does not rely on: a
/// client with an organization sends an `organizationIdQuery`.
pub(super) fn v2_list_users(state: &State, org: &str, body: &Map<String, Value>) -> Outcome {
    known_fields(body, &["query", "sortingColumn", "queries"])?;
    known_nested(body.get("query"), &["offset", "limit", "asc"])?;
    let empty = Map::new();
    let list = match body.get("query") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(q)) => q,
        Some(_) => return Err(BAD_BODY),
    };
    let offset = u64_field(list.get("offset"))?;
    let limit = limit_field(list.get("limit"))?;
    let asc = matches!(list.get("asc"), Some(Value::Bool(true)));
    let queries = match body.get("queries") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(q)) => q.iter().map(v2_user_query).collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(BAD_BODY),
    };
    let by_name = match body.get("sortingColumn") {
        None | Some(Value::Null) => false,
        Some(Value::String(c)) if c == "USER_FIELD_NAME_USER_NAME" => true,
        Some(Value::String(c)) if c.starts_with("USER_FIELD_NAME_") => false,
        Some(_) => return Err(BAD_BODY),
    };
    let mut users: Vec<(&String, &User)> = state
        .users
        .iter()
        .filter(|(_, u)| u.org == org)
        .filter(|(id, u)| queries.iter().all(|q| q(id, u)))
        .collect();
    if by_name {
        users.sort_by(|a, b| a.1.username.cmp(&b.1.username).then(a.0.cmp(b.0)));
    } else {
        users.sort_by(|a, b| format!("{:0>20}", a.0).cmp(&format!("{:0>20}", b.0)));
    }
    if !asc {
        users.reverse();
    }
    let total = users.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let result: Vec<Value> = users
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|(id, u)| v2_user(id, u))
        .collect();
    let mut details = Map::new();
    let total = u64::try_from(total).unwrap_or(u64::MAX);
    if total != 0 {
        details.insert("totalResult".into(), state.int64(total));
    }
    if state.sequence != 0 {
        details.insert("processedSequence".into(), state.int64(state.sequence));
    }
    details.insert("timestamp".into(), json!(ts(now())));
    let mut out = Map::new();
    out.insert("details".into(), Value::Object(details));
    if let Some(column) = body.get("sortingColumn").filter(|c| !c.is_null()) {
        out.insert("sortingColumn".into(), column.clone());
    }
    if !result.is_empty() {
        out.insert("result".into(), Value::Array(result));
    }
    Ok(Value::Object(out))
}

pub(super) fn v2_pat(pat: &StoredPat) -> Value {
    json!({
        "creationDate": ts(pat.created),
        "changeDate": ts(pat.created),
        "id": pat.id,
        "userId": pat.user_id,
        "organizationId": pat.org_id,
        "expirationDate": ts(pat.expiration),
    })
}
