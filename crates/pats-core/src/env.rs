//! The building blocks every provider's configuration uses to read its environment
//! variables and to name its settings in errors. Each provider crate owns its variables
//! (`DfnsConfig::from_env`, `ZitadelConfig::from_env`, `SailPointConfig::from_env`); these
//! helpers make them read the same way: an empty or blank variable counts as unset, and
//! errors are [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the variable, never
//! its value.

use crate::{Error, ErrorKind, Result};
use std::borrow::Cow;
use std::str::FromStr;

/// A variable name to its value (the process environment, or a map in tests).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A set, non-blank variable, else `InvalidInput` naming it.
pub fn required(lookup: Lookup<'_>, var: &'static str) -> Result<String> {
    lookup(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::invalid(var, "is not set"))
}

/// A set, non-blank variable.
pub fn optional(lookup: Lookup<'_>, var: &str) -> Option<String> {
    lookup(var).filter(|v| !v.trim().is_empty())
}

/// How a configuration's settings are named in its errors: as the fields of its file and
/// code form ([`Names::FIELDS`]), or as the environment variables they were read from.
#[derive(Debug, Clone, Copy)]
pub struct Names(&'static [(&'static str, &'static str)]);

impl Names {
    /// Settings named as fields (`client_secret`).
    pub const FIELDS: Names = Names(&[]);

    /// Settings named by the variables of `table` (field, variable); a field missing from
    /// the table keeps its name.
    pub const fn env(table: &'static [(&'static str, &'static str)]) -> Names {
        Names(table)
    }

    /// The name of `field`.
    pub fn of(self, field: &'static str) -> &'static str {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(field, |(_, var)| var)
    }

    /// `err` with its field renamed, when it names one of these settings.
    pub fn rename(self, err: Error) -> Error {
        let var = err
            .field()
            .and_then(|field| self.0.iter().find(|(f, _)| *f == field))
            .map(|(_, var)| *var);
        match var {
            Some(var) => err.with_field(var),
            None => err,
        }
    }
}

/// Parses `text` case-insensitively as the one of `all` that `name` names, else
/// `InvalidInput` for `field` listing the names.
pub fn parse_name<T: Copy>(
    text: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    field: impl Into<Cow<'static, str>>,
) -> Result<T> {
    let text = text.trim();
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().map(|v| format!("`{}`", name(*v))).collect();
            Error::invalid(field, format!("must be one of {}", names.join(", ")))
        })
}

/// Deserializes a [`FromStr`] value from a string; an invalid one is a serde error with the
/// parse error's reason (serde adds which setting it was).
pub fn deserialize_str<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: FromStr<Err = Error>,
{
    let text = <Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    text.parse().map_err(|e: Error| match e.reason() {
        Some(reason) if e.kind() == ErrorKind::InvalidInput => serde::de::Error::custom(reason),
        _ => serde::de::Error::custom(e),
    })
}

/// A variable parsed with [`FromStr`], the error naming the variable.
pub fn parse_var<T: FromStr<Err = Error>>(
    lookup: Lookup<'_>,
    var: &'static str,
) -> Result<Option<T>> {
    optional(lookup, var)
        .map(|t| t.parse().map_err(|e: Error| e.with_field(var)))
        .transpose()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ENV: Names = Names::env(&[("client_secret", "X_CLIENT_SECRET")]);

    #[test]
    fn names_are_fields_or_variables() {
        assert_eq!(Names::FIELDS.of("client_secret"), "client_secret");
        assert_eq!(ENV.of("client_secret"), "X_CLIENT_SECRET");
        assert_eq!(ENV.of("pat"), "pat");
        let err = ENV.rename(Error::invalid("client_secret", "is not set"));
        assert_eq!(err.field(), Some("X_CLIENT_SECRET"));
        let err = ENV.rename(Error::invalid("pat", "is not set"));
        assert_eq!(err.field(), Some("pat"));
        assert_eq!(
            Names::FIELDS.rename(Error::invalid("a", "b")).field(),
            Some("a")
        );
    }

    #[test]
    fn blank_variables_are_unset() {
        let lookup = |k: &str| match k {
            "BLANK" => Some("  ".to_owned()),
            "SET" => Some("v".to_owned()),
            _ => None,
        };
        assert_eq!(optional(&lookup, "BLANK"), None);
        assert_eq!(optional(&lookup, "SET").as_deref(), Some("v"));
        assert_eq!(
            required(&lookup, "BLANK").unwrap_err().field(),
            Some("BLANK")
        );
        assert_eq!(required(&lookup, "SET").unwrap(), "v");
    }

    /// A setting parsed from text, for the generic readers.
    #[derive(Debug, PartialEq)]
    struct Level(u8);

    impl FromStr for Level {
        type Err = Error;
        fn from_str(s: &str) -> Result<Self> {
            match s {
                "low" => Ok(Level(1)),
                "odd" => Err(Error::decode(200, "not a level at all", b"")),
                _ => Err(Error::invalid("level", "must be `low`")),
            }
        }
    }

    #[test]
    fn the_process_environment_is_read() {
        // Cargo sets it for every test binary it runs.
        assert_eq!(
            process_env("CARGO_PKG_NAME").as_deref(),
            Some(env!("CARGO_PKG_NAME"))
        );
        assert_eq!(process_env("PATS_SURELY_UNSET_VARIABLE_1234"), None);
    }

    #[test]
    fn variables_and_strings_parse_with_their_errors() {
        let lookup = |k: &str| match k {
            "LEVEL" => Some("low".to_owned()),
            "BAD" => Some("high".to_owned()),
            _ => None,
        };
        assert_eq!(
            parse_var::<Level>(&lookup, "LEVEL").unwrap(),
            Some(Level(1))
        );
        assert_eq!(parse_var::<Level>(&lookup, "UNSET").unwrap(), None);
        let err = parse_var::<Level>(&lookup, "BAD").unwrap_err();
        assert_eq!(err.field(), Some("BAD"));
        let de = |text: &str| {
            deserialize_str::<_, Level>(
                serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text),
            )
        };
        assert_eq!(de("low").unwrap(), Level(1));
        // An invalid value says why without the field (serde names the setting); another
        // error is shown whole.
        assert_eq!(de("high").unwrap_err().to_string(), "must be `low`");
        let other = de("odd").unwrap_err().to_string();
        assert!(
            other.contains("not a level at all") && other != "not a level at all",
            "{other}"
        );
    }

    #[test]
    fn names_parse_in_any_case_and_errors_list_them() {
        let name = |v: u8| if v == 1 { "v1" } else { "v2" };
        assert_eq!(parse_name(" V2 ", &[1, 2], name, "api").unwrap(), 2);
        assert_eq!(parse_name("v1", &[1, 2], name, "api").unwrap(), 1);
        let err = parse_name("v3", &[1, 2], name, "api").unwrap_err();
        assert_eq!(err.field(), Some("api"));
        assert_eq!(err.reason(), Some("must be one of `v1`, `v2`"));
    }
}
