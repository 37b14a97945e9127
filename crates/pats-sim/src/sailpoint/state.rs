//! The simulator's state: identities, API clients, access tokens and PATs; the time
//! helpers every answer uses.

use super::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct ApiClient {
    pub(super) secret: String,
    pub(super) identity_id: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct AccessToken {
    pub(super) identity_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(super) expires_at: OffsetDateTime,
    /// Issued to a registered API client for its client credentials: not associated with a
    /// user (SailPoint's `applicationAuth`), unlike a token of a PAT or a static bearer
    /// (`userAuth`). State files written before this field read as user tokens.
    #[serde(default)]
    pub(super) api_client: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct StoredPat {
    /// The wire JSON, without `secret` (all fields, whatever the version).
    pub(super) json: Value,
    pub(super) secret: String,
}

impl StoredPat {
    pub(super) fn id(&self) -> &str {
        self.json.get("id").and_then(Value::as_str).unwrap_or("")
    }

    pub(super) fn owner_id(&self) -> &str {
        self.json
            .pointer("/owner/id")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub(super) fn name(&self) -> &str {
        self.json.get("name").and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct State {
    pub(super) identities: HashMap<String, String>,
    pub(super) clients: HashMap<String, ApiClient>,
    pub(super) access_tokens: HashMap<String, AccessToken>,
    pub(super) pats: Vec<StoredPat>,
    pub(super) token_lifetime: Duration,
    pub(super) rate_limit: (usize, Duration),
    /// Recent requests per access token (not kept: rate windows restart with the server).
    #[serde(skip)]
    pub(super) windows: HashMap<String, VecDeque<Instant>>,
}

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

pub(super) fn hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(super) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(u32::from(t.millisecond()) * 1_000_000)
        .unwrap_or(t)
}

/// Every date-time the simulator answers: UTC, exactly three fractional digits and `Z`,
/// as SailPoint documents them (`2023-02-05T10:59:27.214Z`), whatever precision the client
/// sent.
pub(super) fn format_time(t: OffsetDateTime) -> String {
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

pub(super) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Six calendar months after `t` (day clamped to the month's end).
pub(super) fn six_months_after(t: OffsetDateTime) -> OffsetDateTime {
    let date = t.date();
    let months = i32::from(u8::from(date.month())) - 1 + 6;
    let year = date.year() + months / 12;
    let month = u8::try_from(months % 12 + 1)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .unwrap_or(time::Month::January);
    let day = date.day().min(time::util::days_in_month(month, year));
    time::Date::from_calendar_date(year, month, day)
        .map(|d| t.replace_date(d))
        .unwrap_or_else(|_| t + time::Duration::days(181))
}
