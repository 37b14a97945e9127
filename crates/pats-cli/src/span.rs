//! Durations on the command line: `30d`, `12h`, `90m`, `45s`, `2w`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration as the user wrote it, e.g. `14d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    amount: u64,
    unit: char,
}

impl Span {
    /// The syntax, for error messages and help.
    pub const SYNTAX: &'static str =
        "a positive whole number followed by s, m, h, d or w (e.g. 45s, 90m, 12h, 30d, 2w)";

    /// The duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.amount.saturating_mul(unit_seconds(self.unit)))
    }
}

fn unit_seconds(unit: char) -> u64 {
    match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 7 * 86_400,
    }
}

/// Longest accepted duration: 100 years.
const MAX_SECONDS: u64 = 100 * 366 * 86_400;

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a duration: use {}", Self::SYNTAX);
        let s_trim = s.trim();
        let unit = s_trim.chars().last().ok_or_else(bad)?;
        if !matches!(unit, 's' | 'm' | 'h' | 'd' | 'w') {
            return Err(bad());
        }
        let digits = &s_trim[..s_trim.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let amount: u64 = digits.parse().map_err(|_| bad())?;
        if amount == 0 {
            return Err(format!("`{s}`: the duration must be positive"));
        }
        if amount.saturating_mul(unit_seconds(unit)) > MAX_SECONDS {
            return Err(format!("`{s}`: the duration must be at most 100 years"));
        }
        Ok(Self { amount, unit })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit)
    }
}

/// A short human rendering of a duration: `3d 4h`, `5h 2m`, `40s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if days > 0 {
        if hours > 0 {
            format!("{days}d {hours}h")
        } else {
            format!("{days}d")
        }
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        for (text, secs) in [
            ("45s", 45),
            ("90m", 5400),
            ("12h", 43_200),
            ("30d", 2_592_000),
            ("2w", 1_209_600),
        ] {
            let span: Span = text.parse().unwrap();
            assert_eq!(span.duration(), Duration::from_secs(secs), "{text}");
            assert_eq!(span.to_string(), text);
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-3d",
            "3.5d",
            "0d",
            "1 d",
            "d30",
            "99999999w",
        ] {
            assert!(bad.parse::<Span>().is_err(), "{bad:?} was accepted");
        }
        assert!("30x".parse::<Span>().unwrap_err().contains("e.g. 45s"));
    }

    #[test]
    fn human_rendering() {
        assert_eq!(human(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3d 4h");
        assert_eq!(human(Duration::from_secs(5 * 3600 + 120)), "5h 2m");
        assert_eq!(human(Duration::from_secs(40)), "40s");
        assert_eq!(human(Duration::from_secs(14 * 86_400)), "14d");
    }
}
