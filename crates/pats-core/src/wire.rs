//! Serde helpers for provider wire formats, used by the generated models.
//!
//! - [`rfc3339`]: timestamps as RFC 3339 text, read leniently (with or without fractional
//!   seconds, `Z` or an offset, and a bare `YYYY-MM-DD` read as midnight UTC).
//! - [`int64`], [`uint64`]: 64-bit integers read from JSON numbers or decimal strings
//!   (protojson sends strings), written as numbers; [`int64_string`], [`uint64_string`]
//!   write them as strings.
//!
//! Each module has an `option` submodule for `Option<_>` fields.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp leniently (see the module docs).
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    // Some providers send a bare date.
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_format)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// Formats a timestamp as RFC 3339 in UTC.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `Some` written with `format`, `None` as `null`: the `option` serializers of both
/// timestamp formats.
fn serialize_option<S: serde::Serializer>(
    t: &Option<OffsetDateTime>,
    s: S,
    format: fn(OffsetDateTime) -> String,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format(*t)),
        None => s.serialize_none(),
    }
}

/// Timestamps as the provider documents them "down to the millisecond": written in UTC with
/// exactly three fractional digits and `Z` (`2023-02-05T10:59:27.214Z`; sub-millisecond
/// digits are dropped), read as leniently as [`rfc3339`].
pub mod rfc3339_millis {
    use super::*;
    use serde::Serializer;

    /// `2023-02-05T10:59:27.214Z`.
    pub fn format(t: OffsetDateTime) -> String {
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

    /// Serializes with exactly three fractional digits, in UTC.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    /// Deserializes RFC 3339 text leniently (as [`rfc3339`](super::rfc3339)).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        super::rfc3339::deserialize(d)
    }

    /// `Option<OffsetDateTime>`; `null` and an empty string read as `None`.
    pub mod option {
        use super::*;

        /// Serializes `Some` with three fractional digits, `None` as `null`.
        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            super::super::serialize_option(t, s, format)
        }

        /// Deserializes `null`, `""` or RFC 3339 text.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            super::super::rfc3339::option::deserialize(d)
        }
    }
}

/// `OffsetDateTime` as RFC 3339 text.
pub mod rfc3339 {
    use super::*;
    use serde::Serializer;

    /// Serializes as RFC 3339 in UTC.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(*t))
    }

    /// Deserializes RFC 3339 text leniently.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        parse_timestamp(&text)
            .ok_or_else(|| de::Error::custom(format_args!("invalid RFC 3339 timestamp `{text}`")))
    }

    /// `Option<OffsetDateTime>`; `null` and an empty string read as `None`.
    pub mod option {
        use super::*;

        /// Serializes `Some` as RFC 3339, `None` as `null`.
        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            super::super::serialize_option(t, s, format_timestamp)
        }

        /// Deserializes `null`, `""` or RFC 3339 text.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            let text: Option<std::borrow::Cow<'de, str>> = serde::Deserialize::deserialize(d)?;
            match text.as_deref() {
                None | Some("") => Ok(None),
                Some(text) => parse_timestamp(text).map(Some).ok_or_else(|| {
                    de::Error::custom(format_args!("invalid RFC 3339 timestamp `{text}`"))
                }),
            }
        }
    }
}

struct LenientInt<T>(std::marker::PhantomData<T>);

macro_rules! lenient_int {
    ($num:ident, $num_string:ident, $ty:ty, $visit:ident) => {
        impl<'de> Visitor<'de> for LenientInt<$ty> {
            type Value = $ty;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!("a ", stringify!($ty), " as a JSON number or decimal string"))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                <$ty>::try_from(v).map_err(|_| E::custom(format_args!("{v} is out of range")))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                <$ty>::try_from(v).map_err(|_| E::custom(format_args!("{v} is out of range")))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                if v.fract() == 0.0 && v >= <$ty>::MIN as f64 && v <= <$ty>::MAX as f64 {
                    Ok(v as $ty)
                } else {
                    Err(E::custom(format_args!("{v} is not a whole {}", stringify!($ty))))
                }
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                v.trim().parse::<$ty>().map_err(|_| {
                    E::custom(format_args!("`{v}` is not a decimal {}", stringify!($ty)))
                })
            }
        }

        #[doc = concat!("`", stringify!($ty), "` read from a JSON number or string, written as a number.")]
        pub mod $num {
            use super::*;
            use serde::Serializer;

            /// Serializes as a JSON number.
            pub fn serialize<S: Serializer>(v: &$ty, s: S) -> Result<S::Ok, S::Error> {
                s.$visit(*v)
            }

            /// Deserializes from a JSON number or decimal string.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                d.deserialize_any(LenientInt::<$ty>(std::marker::PhantomData))
            }

            /// The same for `Option<_>`; `null` reads as `None`.
            pub mod option {
                use super::*;

                /// Serializes `Some` as a JSON number, `None` as `null`.
                pub fn serialize<S: Serializer>(v: &Option<$ty>, s: S) -> Result<S::Ok, S::Error> {
                    match v {
                        Some(v) => s.$visit(*v),
                        None => s.serialize_none(),
                    }
                }

                /// Deserializes `null`, a JSON number or a decimal string.
                pub fn deserialize<'de, D: Deserializer<'de>>(
                    d: D,
                ) -> Result<Option<$ty>, D::Error> {
                    #[derive(serde::Deserialize)]
                    struct Wrap(#[serde(with = "super")] $ty);
                    let v: Option<Wrap> = serde::Deserialize::deserialize(d)?;
                    Ok(v.map(|w| w.0))
                }
            }
        }

        #[doc = concat!("`", stringify!($ty), "` read from a JSON number or string, written as a string (protojson).")]
        pub mod $num_string {
            use super::*;
            use serde::Serializer;

            /// Serializes as a decimal string.
            pub fn serialize<S: Serializer>(v: &$ty, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(v)
            }

            /// Deserializes from a JSON number or decimal string.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                d.deserialize_any(LenientInt::<$ty>(std::marker::PhantomData))
            }

            /// The same for `Option<_>`; `null` reads as `None`.
            pub mod option {
                use super::*;

                /// Serializes `Some` as a decimal string, `None` as `null`.
                pub fn serialize<S: Serializer>(v: &Option<$ty>, s: S) -> Result<S::Ok, S::Error> {
                    match v {
                        Some(v) => s.collect_str(v),
                        None => s.serialize_none(),
                    }
                }

                /// Deserializes `null`, a JSON number or a decimal string.
                pub fn deserialize<'de, D: Deserializer<'de>>(
                    d: D,
                ) -> Result<Option<$ty>, D::Error> {
                    #[derive(serde::Deserialize)]
                    struct Wrap(#[serde(with = "super")] $ty);
                    let v: Option<Wrap> = serde::Deserialize::deserialize(d)?;
                    Ok(v.map(|w| w.0))
                }
            }
        }
    };
}

lenient_int!(int64, int64_string, i64, serialize_i64);
lenient_int!(uint64, uint64_string, u64, serialize_u64);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct T {
        #[serde(with = "rfc3339")]
        at: OffsetDateTime,
        #[serde(default, with = "rfc3339::option")]
        maybe: Option<OffsetDateTime>,
        #[serde(with = "uint64_string")]
        seq: u64,
        #[serde(default, with = "int64::option")]
        n: Option<i64>,
    }

    #[test]
    fn lenient_numbers_and_timestamps() {
        let a: T = serde_json::from_str(
            r#"{"at":"2024-01-02T03:04:05Z","maybe":"2024-01-02T03:04:05.123456+02:00","seq":"18446744073709551615","n":"-5"}"#,
        )
        .unwrap();
        let b: T = serde_json::from_str(
            r#"{"at":"2024-01-02T03:04:05.000Z","seq":18446744073709551615,"n":-5}"#,
        )
        .unwrap();
        assert_eq!(a.at, b.at);
        assert_eq!(a.seq, u64::MAX);
        assert_eq!(a.n, Some(-5));
        assert_eq!(b.maybe, None);
        let never: T = serde_json::from_str(r#"{"at":"9999-12-31T23:59:59Z","seq":0}"#).unwrap();
        assert_eq!(never.at.year(), 9999);
        let day: T = serde_json::from_str(r#"{"at":"2023-05-10","seq":1}"#).unwrap();
        assert_eq!(day.at.unix_timestamp(), 1_683_676_800);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["seq"], "18446744073709551615");
        assert_eq!(json["n"], -5);
        assert_eq!(json["maybe"], "2024-01-02T01:04:05.123456Z");
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Millis {
        #[serde(with = "rfc3339_millis")]
        at: OffsetDateTime,
        #[serde(default, with = "rfc3339_millis::option")]
        maybe: Option<OffsetDateTime>,
    }

    #[test]
    fn millisecond_timestamps_have_exactly_three_digits_in_utc_and_read_leniently() {
        let m: Millis = serde_json::from_str(
            r#"{"at":"2030-07-08T07:10:11.987654+02:00","maybe":"2030-07-08T05:10:11Z"}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json["at"], "2030-07-08T05:10:11.987Z",
            "UTC, sub-millisecond dropped"
        );
        assert_eq!(
            json["maybe"], "2030-07-08T05:10:11.000Z",
            "always three digits"
        );
        let none: Millis =
            serde_json::from_str(r#"{"at":"2031-12-31T23:59:59Z","maybe":null}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&none).unwrap()["maybe"],
            serde_json::Value::Null
        );
        assert_eq!(none.maybe, None);
        assert!(serde_json::from_str::<Millis>(r#"{"at":"soon"}"#).is_err());
    }

    #[test]
    fn bad_values_are_errors() {
        for bad in [
            r#"{"at":"yesterday","seq":1}"#,
            r#"{"at":"2024-01-02T03:04:05Z","seq":"-1"}"#,
            r#"{"at":"2024-01-02T03:04:05Z","seq":1.5}"#,
            r#"{"at":"2024-01-02T03:04:05Z","seq":true}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
