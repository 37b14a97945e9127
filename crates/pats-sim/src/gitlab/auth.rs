//! Authentication (`PRIVATE-TOKEN`, `Authorization: Bearer`, or `private_token` in the
//! query, as GitLab takes them), the per-token rate limit, and GitLab's error bodies.

use super::state::{State, now, today};
use crate::answer::Answer;
use crate::server::Request;
use serde_json::json;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Who sent a request: the token it authenticated with and that token's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Caller {
    pub(super) token_id: u64,
    pub(super) user_id: u64,
    pub(super) admin: bool,
}

/// `{"message": text}` with `status`.
pub(super) fn message(status: u16, text: &str) -> Answer {
    Answer::new(status).set_body_json(json!({ "message": text }))
}

/// `{"error": text}` with `status` (a missing or invalid parameter, a scope).
pub(super) fn error(status: u16, text: &str) -> Answer {
    Answer::new(status).set_body_json(json!({ "error": text }))
}

/// `{"message": {field: [text]}}` (400): a model's validation error.
pub(super) fn invalid(field: &str, text: &str) -> Answer {
    Answer::new(400).set_body_json(json!({ "message": { field: [text] } }))
}

pub(super) fn unauthorized() -> Answer {
    message(401, "401 Unauthorized")
}

pub(super) fn forbidden() -> Answer {
    message(403, "403 Forbidden")
}

pub(super) fn not_found(what: &str) -> Answer {
    message(404, &format!("404 {what} Not Found"))
}

/// The token value a request carries: `PRIVATE-TOKEN`, else `Authorization: Bearer`, else
/// the `private_token` query parameter.
fn presented(request: &Request) -> Option<String> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(token) = header("private-token") {
        return Some(token);
    }
    if let Some(auth) = header("authorization") {
        let (scheme, value) = auth.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| value.trim().to_owned());
    }
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "private_token")
        .map(|(_, v)| v.into_owned())
}

/// The caller, or 401 when the token is missing, unknown, revoked or expired (or its user
/// is gone). Using a token sets its `last_used_at`.
pub(super) fn authenticate(state: &mut State, request: &Request) -> Result<Caller, Answer> {
    let value = presented(request).ok_or_else(unauthorized)?;
    let today = today();
    let token = state
        .token_by_value(&value)
        .filter(|t| t.active(today))
        .ok_or_else(unauthorized)?;
    let (token_id, user_id) = (token.id, token.user_id);
    let user = state.users.get(&user_id).ok_or_else(unauthorized)?;
    let caller = Caller {
        token_id,
        user_id,
        admin: user.admin,
    };
    if let Some(token) = state.tokens.get_mut(&token_id) {
        token.last_used_at = Some(now());
    }
    Ok(caller)
}

/// 403 `insufficient_scope` unless the caller's token has one of `scopes`.
pub(super) fn require_scope(state: &State, caller: &Caller, scopes: &[&str]) -> Option<Answer> {
    let token = state.tokens.get(&caller.token_id)?;
    if scopes.iter().any(|s| token.has_scope(s)) {
        return None;
    }
    Some(Answer::new(403).set_body_json(json!({
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token.",
        "scope": scopes.join(" "),
    })))
}

/// GitLab's throttle: at most `max` requests per `window` per token; past it, 429
/// `Retry later` with `Retry-After` and the `RateLimit-*` headers.
pub(super) fn rate_limit(state: &mut State, token_id: u64) -> Option<Answer> {
    let (max, window) = state.rate_limit;
    let now = Instant::now();
    let seen = state.windows.entry(token_id).or_default();
    while seen
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        seen.pop_front();
    }
    if seen.len() < max {
        seen.push_back(now);
        return None;
    }
    let wait = seen.front().map_or(window, |first| {
        window.saturating_sub(now.duration_since(*first))
    });
    let retry_after = whole_seconds_up(wait);
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + retry_after;
    let reset_time = time::OffsetDateTime::from_unix_timestamp(i64::try_from(reset).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default();
    Some(
        Answer::new(429)
            .set_body_raw(b"Retry later\n".to_vec(), "text/plain")
            .insert_header("Retry-After", &retry_after.to_string())
            .insert_header("RateLimit-Name", "throttle_authenticated_api")
            .insert_header("RateLimit-Limit", &max.to_string())
            .insert_header("RateLimit-Observed", &(seen.len() + 1).to_string())
            .insert_header("RateLimit-Remaining", "0")
            .insert_header("RateLimit-Reset", &reset.to_string())
            .insert_header("RateLimit-ResetTime", &reset_time),
    )
}

/// `d` in whole seconds, rounded up (a client that waits `Retry-After` is then past the
/// window).
fn whole_seconds_up(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::gitlab::state::NewToken;
    use std::time::Duration;

    fn request(headers: &[(&'static str, &str)], query: &str) -> Request {
        let url = url::Url::parse(&format!("http://127.0.0.1/api/v4/x{query}")).unwrap();
        let mut r = Request::new("GET", url, Vec::new());
        for (k, v) in headers {
            r.headers
                .insert(*k, http::HeaderValue::from_str(v).unwrap());
        }
        r
    }

    fn seeded() -> (State, String) {
        let mut state = State::default();
        let user = state.add_user("alice", true);
        let (_, value) = state.add_token(NewToken {
            scopes: vec!["read_api".into()],
            ..NewToken::plain(user, "t")
        });
        (state, value)
    }

    #[test]
    fn each_way_of_presenting_a_token() {
        let (mut state, value) = seeded();
        let bearer = format!("Bearer {value}");
        for r in [
            request(&[("private-token", &value)], ""),
            request(&[("authorization", &bearer)], ""),
            request(&[], &format!("?private_token={value}")),
        ] {
            let caller = authenticate(&mut state, &r).unwrap();
            assert_eq!(
                (caller.token_id, caller.user_id, caller.admin),
                (1, 1, true)
            );
        }
        assert!(state.tokens.get(&1).unwrap().last_used_at.is_some());
        for r in [
            request(&[], ""),
            request(&[("private-token", "glpat-unknown")], ""),
            request(&[("authorization", &format!("Basic {value}"))], ""),
        ] {
            assert_eq!(authenticate(&mut state, &r).unwrap_err().status, 401);
        }
        state.tokens.get_mut(&1).unwrap().revoked = true;
        let r = request(&[("private-token", &value)], "");
        assert_eq!(authenticate(&mut state, &r).unwrap_err().status, 401);
    }

    #[test]
    fn scopes_are_required() {
        let (mut state, value) = seeded();
        let caller = authenticate(&mut state, &request(&[("private-token", &value)], "")).unwrap();
        assert!(require_scope(&state, &caller, &["api", "read_api"]).is_none());
        let refused = require_scope(&state, &caller, &["api"]).unwrap();
        assert_eq!(refused.status, 403);
        assert_eq!(refused.json().unwrap()["error"], "insufficient_scope");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds_up(Duration::from_secs(30)), 30);
        assert_eq!(whole_seconds_up(Duration::from_millis(29_001)), 30);
        assert_eq!(whole_seconds_up(Duration::from_nanos(1)), 1);
        assert_eq!(whole_seconds_up(Duration::ZERO), 0);
    }

    #[test]
    fn the_throttle_answers_429_with_its_headers() {
        let (mut state, _) = seeded();
        state.rate_limit = (2, Duration::from_secs(30));
        assert!(rate_limit(&mut state, 1).is_none());
        assert!(rate_limit(&mut state, 1).is_none());
        let answer = rate_limit(&mut state, 1).unwrap();
        assert_eq!(answer.status, 429);
        let header = |n: &str| {
            answer
                .headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header("Retry-After"), "30");
        assert_eq!(header("RateLimit-Limit"), "2");
        assert_eq!(header("RateLimit-Remaining"), "0");
        assert_eq!(header("RateLimit-Observed"), "3");
        // The reset is when the window ends, as a Unix time.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let reset: u64 = header("RateLimit-Reset").parse().unwrap();
        assert!((now + 29..=now + 31).contains(&reset), "{reset} vs {now}");
        let reset_time = header("RateLimit-ResetTime");
        assert!(reset_time.ends_with(" +0000"), "{reset_time}");
        // Another token has its own window.
        assert!(rate_limit(&mut state, 2).is_none());
    }
}
