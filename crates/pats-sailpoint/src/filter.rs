//! Typed list filters and list requests.

use crate::patch::format_time;
use time::OffsetDateTime;

/// A `filters` expression of the list endpoint; SailPoint supports exactly these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFilter {
    /// `lastUsed le <time>`: last used at or before `time`.
    LastUsedLe(OffsetDateTime),
    /// `lastUsed isnull`: never used.
    LastUsedIsNull,
}

impl TokenFilter {
    /// `lastUsed le <time>`.
    pub fn last_used_le(time: OffsetDateTime) -> Self {
        Self::LastUsedLe(time)
    }

    /// `lastUsed isnull`.
    pub fn last_used_is_null() -> Self {
        Self::LastUsedIsNull
    }

    /// The expression as SailPoint reads it, before URL encoding, e.g.
    /// `lastUsed le 2026-02-05T10:59:27.214Z` (UTC, exactly three fractional digits).
    pub fn expression(&self) -> String {
        match self {
            Self::LastUsedLe(t) => format!("lastUsed le {}", format_time(*t)),
            Self::LastUsedIsNull => "lastUsed isnull".to_owned(),
        }
    }
}

/// A list request: `owner-id` and `filters` query parameters.
///
/// Sent as `?owner-id=<id>&filters=<expression>`, form-encoded (a space becomes `+`,
/// `:` becomes `%3A`), which servers decode back to the expression.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListTokens {
    /// `owner-id`: an identity id, or `me`; none lists every token of the tenant (needs
    /// `idn:all-personal-access-tokens:read`).
    pub owner_id: Option<String>,
    /// `filters`.
    pub filter: Option<TokenFilter>,
}

impl ListTokens {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `owner-id`.
    #[must_use]
    pub fn owner_id(mut self, owner_id: impl Into<String>) -> Self {
        self.owner_id = Some(owner_id.into());
        self
    }

    /// Sets `filters`.
    #[must_use]
    pub fn filter(mut self, filter: TokenFilter) -> Self {
        self.filter = Some(filter);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expressions() {
        assert_eq!(
            TokenFilter::last_used_le(datetime!(2023-02-05 10:59:27.214567 UTC)).expression(),
            "lastUsed le 2023-02-05T10:59:27.214Z"
        );
        assert_eq!(
            TokenFilter::last_used_le(datetime!(2023-02-05 12:00 +02:00)).expression(),
            "lastUsed le 2023-02-05T10:00:00.000Z"
        );
        assert_eq!(
            TokenFilter::last_used_is_null().expression(),
            "lastUsed isnull"
        );
    }
}
