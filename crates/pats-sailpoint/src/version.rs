//! API versions and what each one allows.

use std::fmt;
use time::OffsetDateTime;

/// A SailPoint API version, which decides the path style and which token fields exist.
///
/// | version | path | never-expiring tokens | patchable paths | expiry cap |
/// | --- | --- | --- | --- | --- |
/// | `V3` (default) | `/v3/personal-access-tokens` | no | `/name`, `/scope` | 6 months |
/// | `Beta` | `/beta/personal-access-tokens` | no | `/name`, `/scope` | 6 months |
/// | `V2024` | `/v2024/personal-access-tokens` | no | `/name`, `/scope` | 6 months |
/// | `V2025` | `/v2025/personal-access-tokens` | yes | + `/expirationDate`, `/userAwareTokenNeverExpires` | none |
/// | `V2026` | `/v2026/personal-access-tokens` | yes | + `/expirationDate`, `/userAwareTokenNeverExpires` | none |
/// | `V1` | `/personal-access-tokens/v1` | yes | + `/expirationDate`, `/userAwareTokenNeverExpires` | none |
///
/// `V1` is the newer, per-API versioned path style. Whether a request carries
/// `X-SailPoint-Experimental: true` is not a property of the version but of the operation
/// (see [`ApiVersion::operation`]): the description marks no PAT operation experimental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `/v3` (the default).
    #[default]
    V3,
    /// `/beta`.
    Beta,
    /// `/v2024`.
    V2024,
    /// `/v2025` (never-expiring tokens).
    V2025,
    /// `/v2026` (never-expiring tokens).
    V2026,
    /// `/personal-access-tokens/v1` (never-expiring tokens).
    V1,
}

/// `/name`: patchable on every version.
pub const PATH_NAME: &str = "/name";
/// `/scope`: patchable on every version.
pub const PATH_SCOPE: &str = "/scope";
/// `/expirationDate`: patchable on v2025, v2026 and V1.
pub const PATH_EXPIRATION_DATE: &str = "/expirationDate";
/// `/userAwareTokenNeverExpires`: patchable on v2025, v2026 and V1.
pub const PATH_NEVER_EXPIRES: &str = "/userAwareTokenNeverExpires";

impl ApiVersion {
    /// Every version.
    pub const ALL: [ApiVersion; 6] = [
        Self::V3,
        Self::Beta,
        Self::V2024,
        Self::V2025,
        Self::V2026,
        Self::V1,
    ];

    /// The version as SailPoint names it (`v3`, `beta`, `v2024`, ..., `v1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::Beta => "beta",
            Self::V2024 => "v2024",
            Self::V2025 => "v2025",
            Self::V2026 => "v2026",
            Self::V1 => "v1",
        }
    }

    /// The path segments of the collection (`["v3", "personal-access-tokens"]`,
    /// `["personal-access-tokens", "v1"]`); a token's path appends its id.
    pub fn collection_segments(self) -> [&'static str; 2] {
        match self {
            Self::V1 => ["personal-access-tokens", "v1"],
            other => [other.as_str(), "personal-access-tokens"],
        }
    }

    /// The collection path, e.g. `/v3/personal-access-tokens`.
    pub fn collection_path(self) -> String {
        let [a, b] = self.collection_segments();
        format!("/{a}/{b}")
    }

    /// Whether tokens may never expire (`userAwareTokenNeverExpires`, a null
    /// `expirationDate`): v2025, v2026 and V1.
    pub fn supports_never_expires(self) -> bool {
        matches!(self, Self::V2025 | Self::V2026 | Self::V1)
    }

    /// Whether the expiration date may be at most six months ahead (v3, beta, v2024).
    pub fn caps_expiration_at_six_months(self) -> bool {
        !self.supports_never_expires()
    }

    /// The JSON Patch paths this version accepts.
    pub fn patchable_paths(self) -> &'static [&'static str] {
        if self.supports_never_expires() {
            &[
                PATH_NAME,
                PATH_SCOPE,
                PATH_EXPIRATION_DATE,
                PATH_NEVER_EXPIRES,
            ]
        } else {
            &[PATH_NAME, PATH_SCOPE]
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `t` plus six calendar months (the day clamped to the end of a shorter month), the
/// latest expiration v3, beta and v2024 accept.
pub fn six_months_after(t: OffsetDateTime) -> OffsetDateTime {
    let date = t.date();
    let months = i32::from(u8::from(date.month())) - 1 + 6;
    let year = date.year() + months / 12;
    let month = time::Month::try_from(u8::try_from(months % 12 + 1).unwrap_or(1))
        .unwrap_or(time::Month::January);
    let day = date.day().min(time::util::days_in_month(month, year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(d) => t.replace_date(d),
        // Past the last representable year: as late as can be said, never a panic.
        Err(_) => t.checked_add(time::Duration::days(181)).unwrap_or(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn paths_and_headers_per_version() {
        assert_eq!(
            ApiVersion::V3.collection_path(),
            "/v3/personal-access-tokens"
        );
        assert_eq!(
            ApiVersion::V1.collection_path(),
            "/personal-access-tokens/v1"
        );
        assert_eq!(ApiVersion::V2024.patchable_paths(), ["/name", "/scope"]);
        assert_eq!(ApiVersion::V1.patchable_paths().len(), 4);
    }

    #[test]
    fn six_months_clamps_the_day() {
        assert_eq!(
            six_months_after(datetime!(2026-08-31 10:00 UTC)),
            datetime!(2027-02-28 10:00 UTC)
        );
        assert_eq!(
            six_months_after(datetime!(2026-01-15 00:00 UTC)),
            datetime!(2026-07-15 00:00 UTC)
        );
        // The year after 9999 does not exist: no overflow.
        let last = datetime!(9999-12-31 23:59:59 UTC);
        assert_eq!(six_months_after(last), last);
        assert_eq!(
            six_months_after(datetime!(9999-07-01 00:00 UTC)),
            datetime!(9999-12-29 00:00 UTC)
        );
    }
}
