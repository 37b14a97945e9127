//! Who is calling: `POST /oauth/token` (client credentials, for API clients and PATs),
//! the bearer check and the per-token rate limit every API call passes first.

use super::*;

pub(super) fn issue(
    state: &mut State,
    identity_id: &str,
    lifetime: Duration,
    api_client: bool,
) -> String {
    let token = hex(40);
    let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
    state.access_tokens.insert(
        token.clone(),
        AccessToken {
            identity_id: identity_id.to_owned(),
            expires_at: OffsetDateTime::now_utc() + time::Duration::seconds(secs),
            api_client,
        },
    );
    token
}

pub(super) struct Caller {
    pub(super) token: String,
    pub(super) identity_id: String,
    pub(super) api_client: bool,
}

pub(super) fn authenticate(state: &State, request: &Request) -> Result<Caller, Box<Answer>> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Box::new(unauthorized(
                "Full authentication is required to access this resource",
            ))
        })?;
    let token = header.strip_prefix("Bearer ").ok_or_else(|| {
        Box::new(unauthorized(
            "Full authentication is required to access this resource",
        ))
    })?;
    let known = state
        .access_tokens
        .get(token)
        .ok_or_else(|| Box::new(unauthorized("JWT validation failed: unknown token")))?;
    if known.expires_at <= OffsetDateTime::now_utc() {
        return Err(Box::new(unauthorized("JWT is expired")));
    }
    Ok(Caller {
        token: token.to_owned(),
        identity_id: known.identity_id.clone(),
        api_client: known.api_client,
    })
}

pub(super) fn rate_limit(state: &mut State, token: &str) -> Option<Answer> {
    let (max, window) = state.rate_limit;
    let now = Instant::now();
    let hits = state.windows.entry(token.to_owned()).or_default();
    while hits
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        hits.pop_front();
    }
    if hits.len() >= max {
        let wait = hits
            .front()
            .map(|t| window.saturating_sub(now.duration_since(*t)))
            .unwrap_or(window);
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Some(
            Answer::new(429)
                .insert_header("Retry-After", secs.max(1).to_string().as_str())
                .set_body_json(json!({ "message": "Rate Limit Exceeded" })),
        );
    }
    hits.push_back(now);
    None
}

pub(super) fn content_type(request: &Request) -> String {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The parameters of a token request: query parameters, then those of a form-encoded or
/// `multipart/form-data` body (a body parameter wins). `None` for a body of another type
/// or a malformed multipart body.
pub(super) fn token_parameters(request: &Request) -> Option<HashMap<String, String>> {
    let mut params: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
    let body: Vec<(String, String)> = match content_type(request).as_str() {
        _ if request.body.is_empty() => Vec::new(),
        "application/x-www-form-urlencoded" => url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect(),
        "multipart/form-data" => multipart_fields(request)?,
        _ => return None,
    };
    params.extend(body);
    Some(params)
}

/// The text fields of a `multipart/form-data` body (RFC 7578).
pub(super) fn multipart_fields(request: &Request) -> Option<Vec<(String, String)>> {
    let header = request.headers.get("content-type")?.to_str().ok()?;
    let boundary = header.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })?;
    let body = std::str::from_utf8(&request.body).ok()?;
    let delimiter = format!("--{boundary}");
    let mut parts = body.split(delimiter.as_str());
    // Before the first delimiter: the preamble.
    parts.next()?;
    let mut fields = Vec::new();
    for part in parts {
        if part.starts_with("--") {
            return Some(fields);
        }
        let part = part.strip_prefix("\r\n")?;
        let (head, value) = part.split_once("\r\n\r\n")?;
        let name = head.split("\r\n").find_map(|line| {
            let (key, rest) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            rest.split(';').find_map(|param| {
                let (k, v) = param.split_once('=')?;
                (k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
            })
        })?;
        fields.push((name, value.strip_suffix("\r\n")?.to_owned()));
    }
    // No closing delimiter.
    None
}

pub(super) fn token_endpoint(state: &mut State, request: &Request) -> Answer {
    let oauth =
        |status: u16, error: &str| Answer::new(status).set_body_json(json!({ "error": error }));
    let Some(form) = token_parameters(request) else {
        return oauth(400, "invalid_request");
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth(400, "unsupported_grant_type");
    }
    let (Some(client_id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) else {
        return oauth(400, "invalid_request");
    };
    let (identity, lifetime, api_client) = if let Some(c) = state.clients.get(client_id) {
        if &c.secret != secret {
            return oauth(401, "invalid_client");
        }
        (c.identity_id.clone(), state.token_lifetime, true)
    } else {
        let at = now();
        let usable =
            |p: &StoredPat| p.secret_matches(secret) && p.expiration.is_none_or(|e| e > at);
        let Some(key) = parse_id(client_id).filter(|k| state.pats.get(k).is_some_and(usable))
        else {
            return oauth(401, "invalid_client");
        };
        let Some(pat) = state.pats.get_mut(&key) else {
            return oauth(401, "invalid_client");
        };
        pat.last_used = Some(at);
        (
            pat.owner.id.to_string(),
            Duration::from_secs(u64::from(pat.validity)),
            false,
        )
    };
    let token = issue(state, &identity, lifetime, api_client);
    Answer::new(200).set_body_json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
        "scope": ALL_SCOPES,
        "identity_id": identity,
        "jti": hex(32),
    }))
}
