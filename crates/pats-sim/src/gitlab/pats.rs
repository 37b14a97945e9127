//! The personal access token endpoints: parameters, validation, answers, pagination.

use super::auth::{Caller, error, forbidden, invalid, message, not_found, unauthorized};
use super::state::{Kind, NewToken, State, Token, today};
use crate::answer::Answer;
use crate::server::Request;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime};

/// The scopes GitLab documents for personal access tokens.
pub(super) const SCOPES: &[&str] = &[
    "api",
    "read_user",
    "read_api",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "read_virtual_registry",
    "write_virtual_registry",
    "sudo",
    "admin_mode",
    "create_runner",
    "manage_runner",
    "ai_features",
    "k8s_proxy",
    "self_rotate",
    "read_service_ping",
];

/// The only scopes of `POST /user/personal_access_tokens`.
pub(super) const SELF_SCOPES: &[&str] = &["k8s_proxy", "self_rotate"];

/// Default and largest `per_page`.
const DEFAULT_PER_PAGE: usize = 20;
const MAX_PER_PAGE: usize = 100;

/// A rotated token's lifetime when none is given: one week.
const ROTATED_DAYS: i64 = 7;

/// A token as GitLab answers it (without its value); a project access token also has its
/// `access_level`.
pub(super) fn wire(token: &Token) -> Value {
    let mut body = json!({
        "id": token.id,
        "name": token.name,
        "revoked": token.revoked,
        "created_at": time_text(token.created_at),
        "description": token.description,
        "scopes": token.scopes,
        "user_id": token.user_id,
        "last_used_at": token.last_used_at.map(time_text),
        "last_used_ips": [],
        "active": token.active(today()),
        "expires_at": token.expires_at.map(date_text),
    });
    if let (Value::Object(map), Some(resource)) = (&mut body, token.resource) {
        map.insert("access_level".into(), json!(resource.access_level));
    }
    body
}

/// `2020-07-23T14:31:47.729Z`.
pub(super) fn time_text(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `2020-12-31`.
pub(super) fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `YYYY-MM-DD`.
pub(super) fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, format).ok()
}

/// An ISO 8601 date-time as GitLab's filters take it: RFC 3339, a date-time without offset
/// (UTC), or a date (its midnight, UTC).
pub(super) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(text, local) {
        return Some(t.assume_utc());
    }
    parse_date(text).map(|d| d.midnight().assume_utc())
}

/// The parameters of a request, as Grape merges them: the body (JSON, or a form with
/// `scopes[]`), then the query for what the body does not give.
pub(super) fn params(request: &Request) -> Result<Map<String, Value>, Answer> {
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut out = Map::new();
    if !request.body.is_empty() {
        if content_type.starts_with("application/x-www-form-urlencoded") {
            add_pairs(&mut out, url::form_urlencoded::parse(&request.body));
        } else {
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(Value::Object(map)) => out = map,
                _ => {
                    return Err(message(
                        400,
                        "400 Bad request - The request body is not a JSON object",
                    ));
                }
            }
        }
    }
    let mut query = Map::new();
    add_pairs(&mut query, request.url.query_pairs());
    for (k, v) in query {
        out.entry(k).or_insert(v);
    }
    Ok(out)
}

fn add_pairs<'a>(
    out: &mut Map<String, Value>,
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) {
    for (k, v) in pairs {
        if let Some(name) = k.strip_suffix("[]") {
            let entry = out
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = entry {
                items.push(Value::String(v.into_owned()));
            }
        } else {
            out.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
}

/// A string parameter (a number is taken as its text, as Grape coerces it).
fn text(params: &Map<String, Value>, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A positive integer parameter; `Err` answers 400 `<name> is invalid`.
fn positive(params: &Map<String, Value>, name: &str) -> Result<Option<u64>, Answer> {
    match text(params, name) {
        None if params.contains_key(name) => Err(error(400, &format!("{name} is invalid"))),
        None => Ok(None),
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| error(400, &format!("{name} is invalid"))),
    }
}

fn with_value(token: &Token, value: &str) -> Value {
    let mut body = wire(token);
    if let Value::Object(map) = &mut body {
        map.insert("token".into(), Value::String(value.to_owned()));
    }
    body
}

/// `GET /personal_access_tokens`: filters, order, offset pagination with GitLab's headers.
pub(super) fn list(state: &mut State, request: &Request, caller: &Caller) -> Answer {
    let params = match params(request) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let filter = match Filter::parse(&params).and_then(|f| f.for_caller(caller)) {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    page_of(state, request, &params, &filter)
}

/// One page of the tokens `filter` keeps, in id order or `sort`'s, with GitLab's headers.
/// With a user filter (every user's own list), it reads only that user's tokens.
pub(super) fn page_of(
    state: &mut State,
    request: &Request,
    params: &Map<String, Value>,
    filter: &Filter,
) -> Answer {
    let page = match positive(params, "page") {
        Ok(p) => usize::try_from(p.unwrap_or(1)).unwrap_or(usize::MAX),
        Err(answer) => return answer,
    };
    let per_page = match positive(params, "per_page") {
        Ok(p) => p.map_or(DEFAULT_PER_PAGE, |n| {
            usize::try_from(n).unwrap_or(MAX_PER_PAGE).min(MAX_PER_PAGE)
        }),
        Err(answer) => return answer,
    };
    let sort = text(params, "sort");
    let today = today();
    let candidates: Box<dyn Iterator<Item = &Token>> = match filter.user_id {
        Some(user_id) => Box::new(state.tokens_of(user_id)),
        None => Box::new(state.tokens.values()),
    };
    let matching = candidates.filter(|t| filter.keeps(t, today));
    let skip = (page - 1).saturating_mul(per_page);
    let (items, total): (Vec<&Token>, usize) = match sort.as_deref() {
        // Id order: the map's own order, one pass.
        None => {
            let mut total = 0;
            let mut items = Vec::new();
            for token in matching {
                if total >= skip && items.len() < per_page {
                    items.push(token);
                }
                total += 1;
            }
            (items, total)
        }
        Some(order) => {
            let mut all: Vec<&Token> = matching.collect();
            let key_ok = sort_tokens(&mut all, order);
            if !key_ok {
                return error(400, "sort does not have a valid value");
            }
            let total = all.len();
            (all.into_iter().skip(skip).take(per_page).collect(), total)
        }
    };
    let body: Vec<Value> = items.into_iter().map(wire).collect();
    let pages = total.div_ceil(per_page).max(1);
    let next = (page < pages).then(|| page + 1);
    let prev = (page > 1).then(|| page - 1);
    let link = |p: usize| {
        let mut url = request.url.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "page" && k != "private_token")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("page", &p.to_string());
        url.to_string()
    };
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(format!("<{}>; rel=\"prev\"", link(p)));
    }
    if let Some(p) = next {
        links.push(format!("<{}>; rel=\"next\"", link(p)));
    }
    links.push(format!("<{}>; rel=\"first\"", link(1)));
    links.push(format!("<{}>; rel=\"last\"", link(pages)));
    let opt = |p: Option<usize>| p.map(|p| p.to_string()).unwrap_or_default();
    Answer::new(200)
        .set_body_json(body)
        .insert_header("X-Page", &page.to_string())
        .insert_header("X-Per-Page", &per_page.to_string())
        .insert_header("X-Next-Page", &opt(next))
        .insert_header("X-Prev-Page", &opt(prev))
        .insert_header("X-Total", &total.to_string())
        .insert_header("X-Total-Pages", &pages.to_string())
        .insert_header("Link", &links.join(", "))
}

/// Sorts by a documented order; false for an order GitLab does not know. Ties by id.
/// A `Boolean` parameter as GitLab's API framework (Grape, through dry-types' `Params::Bool`)
/// reads it: python-gitlab sends `True`, others `true` or `1`.
fn boolean(value: &str) -> Option<bool> {
    const TRUE: [&str; 14] = [
        "1", "on", "On", "ON", "t", "true", "True", "TRUE", "T", "y", "yes", "Yes", "YES", "Y",
    ];
    const FALSE: [&str; 14] = [
        "0", "off", "Off", "OFF", "f", "false", "False", "FALSE", "F", "n", "no", "No", "NO", "N",
    ];
    if TRUE.contains(&value) {
        Some(true)
    } else if FALSE.contains(&value) {
        Some(false)
    } else {
        None
    }
}

fn sort_tokens(tokens: &mut [&Token], order: &str) -> bool {
    let far = Date::MAX;
    match order {
        "created_asc" => tokens.sort_by_key(|t| (t.created_at, t.id)),
        "created_desc" => tokens.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id))),
        "expires_asc" => tokens.sort_by_key(|t| (t.expires_at.unwrap_or(far), t.id)),
        "expires_desc" => {
            tokens.sort_by_key(|t| std::cmp::Reverse((t.expires_at.unwrap_or(far), t.id)));
        }
        "last_used_asc" => tokens.sort_by_key(|t| (t.last_used_at, t.id)),
        "last_used_desc" => tokens.sort_by_key(|t| std::cmp::Reverse((t.last_used_at, t.id))),
        "name_asc" => tokens.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id))),
        "name_desc" => tokens.sort_by(|a, b| (&b.name, b.id).cmp(&(&a.name, a.id))),
        _ => return false,
    }
    true
}

/// The filters of a listing.
#[derive(Debug, Default)]
pub(super) struct Filter {
    user_id: Option<u64>,
    active: Option<bool>,
    revoked: Option<bool>,
    search: Option<String>,
    created_after: Option<OffsetDateTime>,
    created_before: Option<OffsetDateTime>,
    last_used_after: Option<OffsetDateTime>,
    last_used_before: Option<OffsetDateTime>,
    expires_after: Option<Date>,
    expires_before: Option<Date>,
    /// Only this project's or group's access tokens.
    pub(super) resource: Option<(Kind, u64)>,
}

impl Filter {
    /// Reads and checks the filters of a listing's parameters.
    pub(super) fn parse(params: &Map<String, Value>) -> Result<Self, Answer> {
        let time = |name: &str| -> Result<Option<OffsetDateTime>, Answer> {
            text(params, name)
                .map(|t| parse_time(&t).ok_or_else(|| error(400, &format!("{name} is invalid"))))
                .transpose()
        };
        let date = |name: &str| -> Result<Option<Date>, Answer> {
            text(params, name)
                .map(|t| parse_date(&t).ok_or_else(|| error(400, &format!("{name} is invalid"))))
                .transpose()
        };
        let mut filter = Filter {
            user_id: positive(params, "user_id")?,
            created_after: time("created_after")?,
            created_before: time("created_before")?,
            last_used_after: time("last_used_after")?,
            last_used_before: time("last_used_before")?,
            expires_after: date("expires_after")?,
            expires_before: date("expires_before")?,
            search: text(params, "search").filter(|s| !s.is_empty()),
            ..Filter::default()
        };
        filter.active = match text(params, "state").as_deref() {
            None => None,
            Some("active") => Some(true),
            Some("inactive") => Some(false),
            Some(_) => return Err(error(400, "state does not have a valid value")),
        };
        filter.revoked = match text(params, "revoked").as_deref() {
            None => None,
            Some(value) => Some(boolean(value).ok_or_else(|| error(400, "revoked is invalid"))?),
        };
        Ok(filter)
    }

    /// A non-administrator sees only their own tokens, and asking for another user's is a
    /// 401 (as GitLab documents).
    pub(super) fn for_caller(mut self, caller: &Caller) -> Result<Self, Answer> {
        if !caller.admin {
            match self.user_id {
                Some(id) if id != caller.user_id => return Err(unauthorized()),
                _ => self.user_id = Some(caller.user_id),
            }
        }
        Ok(self)
    }

    /// Whether `token` passes every filter.
    pub(super) fn keeps(&self, token: &Token, today: Date) -> bool {
        let search = self
            .search
            .as_ref()
            .is_none_or(|s| token.name.to_lowercase().contains(&s.to_lowercase()));
        self.user_id.is_none_or(|u| token.user_id == u)
            && self.resource.is_none_or(|(kind, id)| {
                token.resource.is_some_and(|r| r.kind == kind && r.id == id)
            })
            && self.active.is_none_or(|a| token.active(today) == a)
            && self.revoked.is_none_or(|r| token.revoked == r)
            && search
            && self.created_after.is_none_or(|t| token.created_at > t)
            && self.created_before.is_none_or(|t| token.created_at < t)
            && self
                .last_used_after
                .is_none_or(|t| token.last_used_at.is_some_and(|u| u > t))
            && self
                .last_used_before
                .is_none_or(|t| token.last_used_at.is_some_and(|u| u < t))
            && self
                .expires_after
                .is_none_or(|d| token.expires_at.is_some_and(|e| e > d))
            && self
                .expires_before
                .is_none_or(|d| token.expires_at.is_some_and(|e| e < d))
    }
}

/// The token `id` as `caller` may see it: an administrator gets 404 for a missing one, a
/// user 401 for a missing one or another user's (as GitLab documents).
pub(super) fn visible<'a>(state: &'a State, caller: &Caller, id: u64) -> Result<&'a Token, Answer> {
    match state.tokens.get(&id) {
        Some(token) if caller.admin || token.user_id == caller.user_id => Ok(token),
        None if caller.admin => Err(not_found("Token")),
        _ => Err(unauthorized()),
    }
}

/// The `:id` of a path: a positive integer (`self` is routed before).
pub(super) fn path_id(segment: &str) -> Result<u64, Answer> {
    segment
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| error(400, "id is invalid"))
}

/// `GET /personal_access_tokens/:id`.
pub(super) fn get(state: &State, caller: &Caller, id: u64) -> Answer {
    match visible(state, caller, id) {
        Ok(token) => Answer::new(200).set_body_json(wire(token)),
        Err(answer) => answer,
    }
}

/// `DELETE /personal_access_tokens/:id` (204); a token already revoked is a 400.
pub(super) fn revoke(state: &mut State, caller: &Caller, id: u64) -> Answer {
    if let Err(answer) = visible(state, caller, id) {
        return answer;
    }
    revoke_stored(state, id)
}

/// Revokes a stored token (204), or 400 when it already is.
pub(super) fn revoke_stored(state: &mut State, id: u64) -> Answer {
    match state.tokens.get_mut(&id) {
        Some(token) if token.revoked => message(400, "400 Bad request - Token already revoked"),
        Some(token) => {
            token.revoked = true;
            Answer::new(204)
        }
        None => not_found("Token"),
    }
}

/// `POST /personal_access_tokens/:id/rotate`: the old token is revoked and a new one, with
/// its name, description and scopes, returned. Rotating a revoked token revokes its whole
/// family (reuse detection) and answers 401; an expired one is a 401.
pub(super) fn rotate(state: &mut State, request: &Request, caller: &Caller, id: u64) -> Answer {
    match visible(state, caller, id) {
        Ok(token) => {
            let old = token.clone();
            rotate_stored(state, request, old)
        }
        Err(answer) => answer,
    }
}

/// Rotates `old` (a stored token the caller may rotate): see [`rotate`].
pub(super) fn rotate_stored(state: &mut State, request: &Request, old: Token) -> Answer {
    let id = old.id;
    let params = match params(request) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let today = today();
    let expires_at = match text(&params, "expires_at") {
        None => match today.checked_add(Duration::days(ROTATED_DAYS)) {
            Some(d) => d,
            None => return message(400, "400 Bad request - expires_at is out of range"),
        },
        Some(t) => match check_expiry(state, &t, today) {
            Ok(d) => d,
            Err(answer) => return answer,
        },
    };
    if old.revoked {
        state.revoke_family(id);
        return unauthorized();
    }
    if !old.active(today) {
        return unauthorized();
    }
    if let Some(token) = state.tokens.get_mut(&id) {
        token.revoked = true;
    }
    let (new_id, value) = state.add_token(NewToken {
        user_id: old.user_id,
        name: old.name,
        description: old.description,
        scopes: old.scopes,
        expires_at: Some(expires_at),
        previous: Some(id),
        resource: old.resource,
    });
    match state.tokens.get(&new_id) {
        Some(token) => Answer::new(200).set_body_json(with_value(token, &value)),
        None => message(500, "500 Internal Server Error"),
    }
}

/// An `expires_at` parameter: a date, not in the past, within the maximum lifetime.
fn check_expiry(state: &State, text: &str, today: Date) -> Result<Date, Answer> {
    let date = parse_date(text).ok_or_else(|| error(400, "expires_at is invalid"))?;
    if date < today {
        return Err(invalid("expires_at", "must not be in the past"));
    }
    let max = today
        .checked_add(Duration::days(state.max_lifetime_days))
        .unwrap_or(Date::MAX);
    if date > max {
        return Err(invalid(
            "expires_at",
            &format!(
                "must be before {}",
                date_text(max.next_day().unwrap_or(Date::MAX))
            ),
        ));
    }
    Ok(date)
}

/// `POST /users/:user_id/personal_access_tokens` (`for_user`, administrators) and
/// `POST /user/personal_access_tokens` (`None`: the caller, scopes `k8s_proxy` and
/// `self_rotate` only). 201 with the token's value.
pub(super) fn create(
    state: &mut State,
    request: &Request,
    caller: &Caller,
    for_user: Option<u64>,
) -> Answer {
    let user_id = match for_user {
        Some(user) => {
            if !caller.admin {
                return forbidden();
            }
            if !state.users.contains_key(&user) {
                return not_found("User");
            }
            user
        }
        None => caller.user_id,
    };
    let params = match params(request) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let allowed = if for_user.is_some() {
        SCOPES
    } else {
        SELF_SCOPES
    };
    let new = match parse_new(state, &params, allowed) {
        Ok(new) => new,
        Err(answer) => return answer,
    };
    let (id, value) = state.add_token(NewToken {
        user_id,
        name: new.name,
        description: new.description,
        scopes: new.scopes,
        expires_at: new.expires_at,
        previous: None,
        resource: None,
    });
    created(state, id, &value)
}

/// 201 with the stored token `id` and its `value`.
pub(super) fn created(state: &State, id: u64, value: &str) -> Answer {
    match state.tokens.get(&id) {
        Some(token) => Answer::new(201).set_body_json(with_value(token, value)),
        None => message(500, "500 Internal Server Error"),
    }
}

/// What a create asks for, checked.
pub(super) struct Asked {
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) scopes: Vec<String>,
    pub(super) expires_at: Option<Date>,
}

/// Reads and checks a create's `name`, `scopes` (among `allowed`), `description` and
/// `expires_at` (the maximum lifetime when absent and required).
pub(super) fn parse_new(
    state: &State,
    params: &Map<String, Value>,
    allowed: &[&str],
) -> Result<Asked, Answer> {
    let Some(name) = text(params, "name") else {
        return Err(error(400, "name is missing"));
    };
    let scopes: Vec<String> = match params.get("scopes") {
        None => return Err(error(400, "scopes is missing")),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| error(400, "scopes is invalid"))?,
        Some(Value::String(s)) => vec![s.clone()],
        Some(_) => return Err(error(400, "scopes is invalid")),
    };
    if scopes.is_empty() || scopes.iter().any(|s| !allowed.contains(&s.as_str())) {
        return Err(error(400, "scopes does not have a valid value"));
    }
    if name.trim().is_empty() {
        return Err(invalid("name", "can't be blank"));
    }
    let description = text(params, "description");
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 255)
    {
        return Err(invalid(
            "description",
            "is too long (maximum is 255 characters)",
        ));
    }
    let today = today();
    let expires_at = match text(params, "expires_at") {
        Some(t) => Some(check_expiry(state, &t, today)?),
        None => state.default_expiry(),
    };
    Ok(Asked {
        name,
        description,
        scopes,
        expires_at,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn state_with(n: usize) -> (State, Caller, Caller) {
        let mut state = State::default();
        let admin = state.add_user("root", true);
        let alice = state.add_user("alice", false);
        for i in 0..n {
            let (id, _) = state.add_token(NewToken {
                expires_at: Some(date!(2099 - 06 - 01)),
                ..NewToken::plain(
                    if i % 2 == 0 { alice } else { admin },
                    &format!("token-{i}"),
                )
            });
            state.tokens.get_mut(&id).unwrap().created_at =
                datetime!(2026-01-01 00:00 UTC) + time::Duration::days(i as i64);
        }
        let admin = Caller {
            token_id: 1,
            user_id: admin,
            admin: true,
        };
        let alice = Caller {
            token_id: 2,
            user_id: alice,
            admin: false,
        };
        (state, admin, alice)
    }

    #[test]
    fn booleans_are_read_as_gitlab_reads_them() {
        for yes in [
            "true", "True", "TRUE", "1", "t", "T", "y", "yes", "on", "ON",
        ] {
            assert_eq!(boolean(yes), Some(true), "{yes}");
        }
        for no in [
            "false", "False", "FALSE", "0", "f", "F", "n", "no", "off", "NO",
        ] {
            assert_eq!(boolean(no), Some(false), "{no}");
        }
        for neither in ["", "2", "tru", "yess", " true", "null"] {
            assert_eq!(boolean(neither), None, "{neither}");
        }
        let (mut state, admin, _) = state_with(3);
        let ids = |answer: Answer| -> usize { answer.json().unwrap().as_array().unwrap().len() };
        assert_eq!(ids(get_list(&mut state, &admin, "?revoked=True")), 0);
        assert_eq!(ids(get_list(&mut state, &admin, "?revoked=0")), 3);
        assert_eq!(get_list(&mut state, &admin, "?revoked=maybe").status, 400);
    }

    fn get_list(state: &mut State, caller: &Caller, query: &str) -> Answer {
        let url = url::Url::parse(&format!(
            "http://127.0.0.1:9/api/v4/personal_access_tokens{query}"
        ))
        .unwrap();
        list(state, &Request::new("GET", url, Vec::new()), caller)
    }

    fn header(answer: &Answer, name: &str) -> String {
        answer
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    }

    fn ids(answer: &Answer) -> Vec<u64> {
        answer
            .json()
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn pages_in_id_order_with_every_header() {
        let (mut state, admin, _) = state_with(5);
        let first = get_list(&mut state, &admin, "?per_page=2&search=token");
        assert_eq!(ids(&first), [1, 2]);
        assert_eq!(header(&first, "X-Page"), "1");
        assert_eq!(header(&first, "X-Per-Page"), "2");
        assert_eq!(header(&first, "X-Next-Page"), "2");
        assert_eq!(header(&first, "X-Prev-Page"), "");
        assert_eq!(header(&first, "X-Total"), "5");
        assert_eq!(header(&first, "X-Total-Pages"), "3");
        assert_eq!(
            header(&first, "Link"),
            "<http://127.0.0.1:9/api/v4/personal_access_tokens?per_page=2&search=token&page=2>; rel=\"next\", \
             <http://127.0.0.1:9/api/v4/personal_access_tokens?per_page=2&search=token&page=1>; rel=\"first\", \
             <http://127.0.0.1:9/api/v4/personal_access_tokens?per_page=2&search=token&page=3>; rel=\"last\""
        );
        let last = get_list(&mut state, &admin, "?per_page=2&page=3");
        assert_eq!(ids(&last), [5]);
        assert_eq!(header(&last, "X-Next-Page"), "");
        assert_eq!(header(&last, "X-Prev-Page"), "2");
        assert!(header(&last, "Link").starts_with(
            "<http://127.0.0.1:9/api/v4/personal_access_tokens?per_page=2&page=2>; rel=\"prev\""
        ));
        // Past the end: empty, still the totals.
        let past = get_list(&mut state, &admin, "?per_page=2&page=9");
        assert!(ids(&past).is_empty());
        assert_eq!(header(&past, "X-Total"), "5");
        // per_page is capped at 100, defaults to 20.
        assert_eq!(
            header(&get_list(&mut state, &admin, "?per_page=500"), "X-Per-Page"),
            "100"
        );
        assert_eq!(
            header(&get_list(&mut state, &admin, ""), "X-Per-Page"),
            "20"
        );
        for bad in [
            "?page=0",
            "?per_page=x",
            "?page=-1",
            "?state=gone",
            "?revoked=maybe",
            "?created_after=yesterday",
            "?expires_before=2026-13-01",
            "?sort=random",
            "?user_id=0",
        ] {
            assert_eq!(get_list(&mut state, &admin, bad).status, 400, "{bad}");
        }
    }

    #[test]
    fn filters_and_orders() {
        let (mut state, admin, alice) = state_with(6);
        state.tokens.get_mut(&3).unwrap().revoked = true;
        state.tokens.get_mut(&5).unwrap().last_used_at = Some(datetime!(2026-02-01 00:00 UTC));
        state.tokens.get_mut(&4).unwrap().expires_at = Some(date!(2098 - 06 - 01));
        state.tokens.get_mut(&6).unwrap().name = "Deploy".into();
        assert_eq!(get_list(&mut state, &alice, "?user_id=1").status, 401);
        let q = |state: &mut State, c: &Caller, query: &str| ids(&get_list(state, c, query));
        assert_eq!(q(&mut state, &admin, "?user_id=2"), [1, 3, 5]);
        assert_eq!(
            q(&mut state, &alice, ""),
            [1, 3, 5],
            "a user sees only their own"
        );
        assert_eq!(q(&mut state, &admin, "?user_id=1"), [2, 4, 6]);
        assert!(q(&mut state, &admin, "?user_id=9").is_empty());
        let mut q = |c: &Caller, query: &str| ids(&get_list(&mut state, c, query));
        assert_eq!(q(&admin, "?revoked=true"), [3]);
        assert_eq!(q(&admin, "?state=inactive"), [3]);
        assert_eq!(q(&admin, "?state=active&revoked=false"), [1, 2, 4, 5, 6]);
        assert_eq!(q(&admin, "?search=DEP"), [6]);
        assert_eq!(q(&admin, "?created_after=2026-01-04T00:00:00Z"), [5, 6]);
        assert_eq!(q(&admin, "?created_before=2026-01-02"), [1]);
        assert_eq!(q(&admin, "?created_before=2026-01-02T00:00:00"), [1]);
        assert_eq!(q(&admin, "?last_used_after=2026-01-31T00:00:00Z"), [5]);
        assert_eq!(q(&admin, "?last_used_before=2026-02-02T00:00:00Z"), [5]);
        assert_eq!(q(&admin, "?expires_before=2099-01-01"), [4]);
        assert_eq!(q(&admin, "?expires_after=2099-01-01"), [1, 2, 3, 5, 6]);
        assert!(
            q(&admin, "?expires_after=2099-06-01").is_empty(),
            "after is strict"
        );
        assert_eq!(q(&admin, "?sort=created_desc&per_page=2"), [6, 5]);
        assert_eq!(
            q(&admin, "?sort=name_asc&per_page=1"),
            [6],
            "upper case first"
        );
        assert_eq!(q(&admin, "?sort=last_used_desc&per_page=1"), [5]);
        assert_eq!(q(&admin, "?sort=expires_asc&per_page=1"), [4]);
        let q2 = |state: &mut State, c: &Caller, query: &str| ids(&get_list(state, c, query));
        // A token added once the index exists is in its user's list; an index built
        // again from the tokens says the same.
        let (new, _) = state.add_token(NewToken::plain(alice.user_id, "later"));
        assert_eq!(q2(&mut state, &alice, ""), [1, 3, 5, new]);
        state.by_user = None;
        assert_eq!(q2(&mut state, &alice, "?per_page=2&page=2"), [5, new]);
        assert_eq!(q2(&mut state, &admin, "?user_id=1"), [2, 4, 6]);
    }

    #[test]
    fn times_and_dates_as_gitlab_writes_them() {
        assert_eq!(
            time_text(datetime!(2020-07-23 16:31:47.7291 +02:00)),
            "2020-07-23T14:31:47.729Z"
        );
        assert_eq!(date_text(date!(2020 - 12 - 31)), "2020-12-31");
        assert_eq!(
            parse_time("2022-01-01"),
            Some(datetime!(2022-01-01 00:00 UTC))
        );
        assert_eq!(
            parse_time("2022-01-01T10:00:00+02:00"),
            Some(datetime!(2022-01-01 08:00 UTC))
        );
        assert_eq!(parse_time("soon"), None);
    }
}
