//! Project and group access tokens: `/projects/:id/access_tokens` and
//! `/groups/:id/access_tokens`, the same calls on two kinds of resource.
//!
//! Each token belongs to a bot user made for it, a member of the project or group at the
//! token's level. Administrators and members with at least the Maintainer role (40) manage
//! the tokens (a group's are created by its Owners, 50, as its page says); others get 404
//! (not a member: the resource is not visible) or 403. A token is created with a personal
//! access token only, at most at the creator's level.

use super::auth::{Caller, error, forbidden, message, not_found, require_scope};
use super::pats::{
    Filter, SCOPES, created, page_of, params, parse_new, path_id, revoke_stored, rotate_stored,
};
use super::state::{Kind, NewToken, Resource, State, Token};
use crate::answer::Answer;
use crate::server::Request;
use serde_json::Value;

/// The Maintainer role: what managing a resource's tokens needs.
const MAINTAINER: u8 = 40;
/// The Owner role: what creating a group's tokens needs.
const OWNER: u8 = 50;

/// The roles GitLab documents for a project access token.
pub(super) const LEVELS: &[u8] = &[10, 15, 20, 30, 40, 50];

/// The project or group a request names.
#[derive(Clone, Copy)]
struct Target {
    kind: Kind,
    id: u64,
}

impl Target {
    /// Whether `resource` is this project's or group's.
    fn owns(self, resource: Option<Resource>) -> bool {
        resource.is_some_and(|r| r.kind == self.kind && r.id == self.id)
    }
}

/// The level `caller` has in `target` (an administrator counts as Owner), or the answer
/// for a caller who may not manage its tokens (below `least`).
fn manager_level(state: &State, caller: &Caller, target: Target, least: u8) -> Result<u8, Answer> {
    if caller.admin {
        return Ok(OWNER);
    }
    let level = state
        .namespaces(target.kind)
        .get(&target.id)
        .and_then(|p| p.members.get(&caller.user_id))
        .copied()
        .ok_or_else(|| not_found(target.kind.title()))?;
    if level < least {
        return Err(forbidden());
    }
    Ok(level)
}

/// The project or group a segment names, or 404.
fn target(state: &State, kind: Kind, segment: &str) -> Result<Target, Answer> {
    state
        .namespace_id(kind, segment)
        .map(|id| Target { kind, id })
        .ok_or_else(|| not_found(kind.title()))
}

/// Token `id` of `target`, or 404.
fn token_of(state: &State, target: Target, id: u64) -> Result<Token, Answer> {
    state
        .tokens
        .get(&id)
        .filter(|t| target.owns(t.resource))
        .cloned()
        .ok_or_else(|| not_found("Token"))
}

/// What a request under `/projects/:id/access_tokens` or `/groups/:id/access_tokens` asks
/// for (the kind is the router's).
pub(super) enum Route<'a> {
    List(&'a str),
    Create(&'a str),
    Get(&'a str, &'a str),
    Revoke(&'a str, &'a str),
    Rotate(&'a str, &'a str),
    RotateSelf(&'a str),
}

impl Route<'_> {
    /// The scopes the caller's token needs.
    pub(super) fn scopes(&self) -> &'static [&'static str] {
        match self {
            Route::List(_) | Route::Get(..) => &["api", "read_api"],
            Route::RotateSelf(_) => &["api", "self_rotate"],
            _ => &["api"],
        }
    }

    pub(super) fn run(
        self,
        kind: Kind,
        state: &mut State,
        request: &Request,
        caller: &Caller,
    ) -> Answer {
        if let Some(answer) = require_scope(state, caller, self.scopes()) {
            return answer;
        }
        let result = match self {
            Route::List(p) => list(state, request, caller, kind, p),
            Route::Create(p) => create(state, request, caller, kind, p),
            Route::Get(p, id) => with_token(state, caller, kind, p, id)
                .map(|t| Answer::new(200).set_body_json(super::pats::wire(&t))),
            Route::Revoke(p, id) => {
                with_token(state, caller, kind, p, id).map(|t| revoke_stored(state, t.id))
            }
            Route::Rotate(p, id) => {
                with_token(state, caller, kind, p, id).map(|t| rotate_stored(state, request, t))
            }
            Route::RotateSelf(p) => rotate_self(state, request, caller, kind, p),
        };
        result.unwrap_or_else(|answer| answer)
    }
}

/// The token a by-id route names, once the caller may manage the resource's tokens.
fn with_token(
    state: &State,
    caller: &Caller,
    kind: Kind,
    segment: &str,
    id: &str,
) -> Result<Token, Answer> {
    let target = target(state, kind, segment)?;
    manager_level(state, caller, target, MAINTAINER)?;
    token_of(state, target, path_id(id)?)
}

fn list(
    state: &mut State,
    request: &Request,
    caller: &Caller,
    kind: Kind,
    segment: &str,
) -> Result<Answer, Answer> {
    let target = target(state, kind, segment)?;
    manager_level(state, caller, target, MAINTAINER)?;
    let params = params(request)?;
    let mut filter = Filter::parse(&params)?;
    filter.resource = Some((target.kind, target.id));
    Ok(page_of(state, request, &params, &filter))
}

fn create(
    state: &mut State,
    request: &Request,
    caller: &Caller,
    kind: Kind,
    segment: &str,
) -> Result<Answer, Answer> {
    let target = target(state, kind, segment)?;
    let least = match kind {
        Kind::Project => MAINTAINER,
        Kind::Group => OWNER,
    };
    let level = manager_level(state, caller, target, least)?;
    // "You must use a personal access token with this endpoint."
    if state
        .tokens
        .get(&caller.token_id)
        .is_some_and(|t| t.resource.is_some())
    {
        return Err(forbidden());
    }
    let params = params(request)?;
    let new = parse_new(state, &params, SCOPES)?;
    let access_level = match params.get("access_level") {
        None => MAINTAINER,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| LEVELS.contains(n))
            .ok_or_else(|| error(400, "access_level does not have a valid value"))?,
        Some(Value::String(s)) => s
            .parse::<u8>()
            .ok()
            .filter(|n| LEVELS.contains(n))
            .ok_or_else(|| error(400, "access_level does not have a valid value"))?,
        Some(_) => return Err(error(400, "access_level does not have a valid value")),
    };
    if access_level > level {
        return Err(message(
            400,
            "400 Bad request - Access level of the token can't be greater than the access \
             level of the user who created the token",
        ));
    }
    let prefix = match kind {
        Kind::Project => "project",
        Kind::Group => "group",
    };
    let bot_name = format!("{prefix}_{}_bot_{}", target.id, state.next_user);
    let bot = state.add_user(&bot_name, false);
    if let Some(p) = state.namespaces_mut(kind).get_mut(&target.id) {
        p.members.insert(bot, access_level);
    }
    let (id, value) = state.add_token(NewToken {
        user_id: bot,
        name: new.name,
        description: new.description,
        scopes: new.scopes,
        expires_at: new.expires_at,
        previous: None,
        resource: Some(Resource {
            kind,
            id: target.id,
            access_level,
        }),
    });
    Ok(created(state, id, &value))
}

/// A project or group access token rotating itself (a personal token has no resource: 405,
/// as GitLab answers a token of the wrong kind).
fn rotate_self(
    state: &mut State,
    request: &Request,
    caller: &Caller,
    kind: Kind,
    segment: &str,
) -> Result<Answer, Answer> {
    let target = target(state, kind, segment)?;
    let own = state
        .tokens
        .get(&caller.token_id)
        .cloned()
        .ok_or_else(|| message(401, "401 Unauthorized"))?;
    match own.resource {
        Some(r) if target.owns(Some(r)) => Ok(rotate_stored(state, request, own)),
        Some(_) => Err(not_found("Token")),
        None => Err(message(405, "405 Method Not Allowed")),
    }
}
