//! Project access tokens: `/projects/:id/access_tokens`.
//!
//! Each token belongs to a bot user made for it, a member of the project at the token's
//! level. Administrators and members with at least the Maintainer role (40) manage a
//! project's tokens; others get 404 (not a member: the project is not visible) or 403. A
//! token is created with a personal access token only, at most at the creator's level.

use super::auth::{Caller, error, forbidden, message, not_found, require_scope};
use super::pats::{
    Filter, SCOPES, created, page_of, params, parse_new, path_id, revoke_stored, rotate_stored,
};
use super::state::{NewToken, Resource, State, Token};
use crate::answer::Answer;
use crate::server::Request;
use serde_json::Value;

/// The Maintainer role: what managing a project's tokens needs.
const MAINTAINER: u8 = 40;

/// The roles GitLab documents for a project access token.
pub(super) const LEVELS: &[u8] = &[10, 15, 20, 30, 40, 50];

/// The level `caller` has in `project` (an administrator counts as Owner), or the answer
/// for a caller who may not manage its tokens.
fn manager_level(state: &State, caller: &Caller, project: u64) -> Result<u8, Answer> {
    if caller.admin {
        return Ok(50);
    }
    let level = state
        .projects
        .get(&project)
        .and_then(|p| p.members.get(&caller.user_id))
        .copied()
        .ok_or_else(|| not_found("Project"))?;
    if level < MAINTAINER {
        return Err(forbidden());
    }
    Ok(level)
}

/// The project a segment names, or 404.
fn project(state: &State, segment: &str) -> Result<u64, Answer> {
    state
        .project_id(segment)
        .ok_or_else(|| not_found("Project"))
}

/// Token `id` of `project`, or 404.
fn token_of(state: &State, project: u64, id: u64) -> Result<Token, Answer> {
    state
        .tokens
        .get(&id)
        .filter(|t| t.resource.is_some_and(|r| r.project == project))
        .cloned()
        .ok_or_else(|| not_found("Token"))
}

/// What a request under `/projects/:id/access_tokens` asks for.
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

    pub(super) fn run(self, state: &mut State, request: &Request, caller: &Caller) -> Answer {
        if let Some(answer) = require_scope(state, caller, self.scopes()) {
            return answer;
        }
        let result = match self {
            Route::List(p) => list(state, request, caller, p),
            Route::Create(p) => create(state, request, caller, p),
            Route::Get(p, id) => with_token(state, caller, p, id)
                .map(|t| Answer::new(200).set_body_json(super::pats::wire(&t))),
            Route::Revoke(p, id) => {
                with_token(state, caller, p, id).map(|t| revoke_stored(state, t.id))
            }
            Route::Rotate(p, id) => {
                with_token(state, caller, p, id).map(|t| rotate_stored(state, request, t))
            }
            Route::RotateSelf(p) => rotate_self(state, request, caller, p),
        };
        result.unwrap_or_else(|answer| answer)
    }
}

/// The token a by-id route names, once the caller may manage the project's tokens.
fn with_token(
    state: &State,
    caller: &Caller,
    project_segment: &str,
    id: &str,
) -> Result<Token, Answer> {
    let project = project(state, project_segment)?;
    manager_level(state, caller, project)?;
    token_of(state, project, path_id(id)?)
}

fn list(
    state: &State,
    request: &Request,
    caller: &Caller,
    segment: &str,
) -> Result<Answer, Answer> {
    let project = project(state, segment)?;
    manager_level(state, caller, project)?;
    let params = params(request)?;
    let mut filter = Filter::parse(&params)?;
    filter.project = Some(project);
    Ok(page_of(state, request, &params, &filter))
}

fn create(
    state: &mut State,
    request: &Request,
    caller: &Caller,
    segment: &str,
) -> Result<Answer, Answer> {
    let project = project(state, segment)?;
    let level = manager_level(state, caller, project)?;
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
    let bot_name = format!("project_{project}_bot_{}", state.next_user);
    let bot = state.add_user(&bot_name, false);
    if let Some(p) = state.projects.get_mut(&project) {
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
            project,
            access_level,
        }),
    });
    Ok(created(state, id, &value))
}

/// A project access token rotating itself (a personal token has no project: 405, as
/// GitLab answers a token of the wrong kind).
fn rotate_self(
    state: &mut State,
    request: &Request,
    caller: &Caller,
    segment: &str,
) -> Result<Answer, Answer> {
    let project = project(state, segment)?;
    let own = state
        .tokens
        .get(&caller.token_id)
        .cloned()
        .ok_or_else(|| message(401, "401 Unauthorized"))?;
    match own.resource {
        Some(r) if r.project == project => Ok(rotate_stored(state, request, own)),
        Some(_) => Err(not_found("Token")),
        None => Err(message(405, "405 Method Not Allowed")),
    }
}
