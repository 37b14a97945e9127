//! The management v1 REST API: `/management/v1/users/{user}/pats…`, scoped to the
//! organization of `x-zitadel-orgid`.

use super::proto::*;
use super::state::*;
use serde_json::{Map, Value, json};

pub(super) fn object_details(state: &State, pat: &StoredPat, sequence: u64) -> Value {
    let mut d = Map::new();
    if sequence != 0 {
        d.insert("sequence".into(), state.int64(sequence));
    }
    d.insert("creationDate".into(), json!(ts(pat.created)));
    d.insert("changeDate".into(), json!(ts(pat.created)));
    d.insert("resourceOwner".into(), json!(pat.org_id));
    Value::Object(d)
}

pub(super) fn v1_pat(state: &State, pat: &StoredPat) -> Value {
    json!({
        "id": pat.id,
        "details": object_details(state, pat, pat.sequence),
        "expirationDate": ts(pat.expiration),
    })
}

pub(super) fn v1_add(
    state: &mut State,
    org: &str,
    user: &str,
    body: &Map<String, Value>,
) -> Outcome {
    known_fields(body, &["expirationDate"])?;
    machine_user(state, org, user)?;
    let expiration = expiration_field(body.get("expirationDate"))?;
    let (pat, secret) = state.add_pat(user, org, expiration);
    let details = object_details(state, &pat, pat.sequence);
    Ok(json!({ "tokenId": pat.id, "token": secret, "details": details }))
}

pub(super) fn v1_search(
    state: &State,
    org: &str,
    user: &str,
    body: &Map<String, Value>,
) -> Outcome {
    known_fields(body, &["query"])?;
    known_nested(body.get("query"), &["offset", "limit", "asc"])?;
    let empty = Map::new();
    let query = match body.get("query") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(q)) => q,
        Some(_) => return Err(BAD_BODY),
    };
    let offset = u64_field(query.get("offset"))?;
    let limit = limit_field(query.get("limit"))?;
    let asc = matches!(query.get("asc"), Some(Value::Bool(true)));
    // The user's tokens from the index, in creation order: O(offset + page).
    let (total, page) = owner_page(state, org, user, offset, limit, asc);
    let result = page.into_iter().map(|p| v1_pat(state, p)).collect();
    Ok(list_envelope(state, total, result, None))
}

pub(super) fn find_pat<'a>(
    state: &'a State,
    org: &str,
    user: &str,
    token: &str,
) -> Result<&'a StoredPat, Fail> {
    token_key(token)
        .and_then(|key| state.pats.get(&key))
        .filter(|p| p.user_id == user && p.org_id == org)
        .ok_or(PAT_NOT_FOUND)
}

pub(super) fn v1_get(state: &State, org: &str, user: &str, token: &str) -> Outcome {
    let pat = find_pat(state, org, user, token)?;
    Ok(json!({ "token": v1_pat(state, pat) }))
}

pub(super) fn remove_pat(
    state: &mut State,
    org: &str,
    user: &str,
    token: &str,
) -> Result<StoredPat, Fail> {
    find_pat(state, org, user, token)?;
    token_key(token)
        .and_then(|key| state.remove_pat(key))
        .ok_or(PAT_NOT_FOUND)
}

pub(super) fn v1_delete(state: &mut State, org: &str, user: &str, token: &str) -> Outcome {
    let pat = remove_pat(state, org, user, token)?;
    let sequence = state.next_sequence();
    let mut details = object_details(state, &pat, sequence);
    if let Some(d) = details.as_object_mut() {
        d.remove("creationDate");
        d.insert("changeDate".into(), json!(ts(now())));
    }
    Ok(json!({ "details": details }))
}

/// A page of the tokens of `user` in `org`, in creation order (newest first unless `asc`),
/// and how many there are: from the index, in O(offset + page).
pub(super) fn owner_page<'a>(
    state: &'a State,
    org: &str,
    user: &str,
    offset: u64,
    limit: usize,
    asc: bool,
) -> (usize, Vec<&'a StoredPat>) {
    let Some(ids) = state
        .index()
        .by_owner
        .get(&(org.to_owned(), user.to_owned()))
    else {
        return (0, Vec::new());
    };
    let page = walk(ids.iter(), offset, limit, asc)
        .into_iter()
        .filter_map(|key| state.pats.get(key))
        .collect();
    (ids.len(), page)
}

/// The page at `offset` of `items` (in creation order), newest first unless `asc`.
pub(super) fn walk<T>(
    items: impl DoubleEndedIterator<Item = T>,
    offset: u64,
    limit: usize,
    asc: bool,
) -> Vec<T> {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    if asc {
        items.skip(skip).take(limit).collect()
    } else {
        items.rev().skip(skip).take(limit).collect()
    }
}
