//! Turning JSON names (schema keys, property names, enum values) into Rust identifiers.
//!
//! Words are split on every non-alphanumeric ASCII character and on case changes:
//! `tokenId` → `token` `Id`, `PATList` → `PAT` `List`, `v1Personal` → `v1` `Personal`.
//! An acronym followed by a lone plural `s` stays one word (`tokenIDs` → `token` `IDs`,
//! `ListPATsResponse` → `List` `PATs` `Response`), so snake case gives `token_ids`.

/// Keywords that can be used as raw identifiers (`r#type`).
const RAW_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; a trailing `_` is appended instead.
const NON_RAW_KEYWORDS: &[&str] = &["crate", "self", "super"];

/// Splits `name` into words (see the module docs).
pub(crate) fn split_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (index, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(prev) = current.chars().last() {
            let next = chars.get(index + 1).copied();
            let after_next = chars.get(index + 2).copied();
            let split = if c.is_ascii_uppercase() {
                if prev.is_ascii_lowercase() || prev.is_ascii_digit() {
                    true
                } else if prev.is_ascii_uppercase() {
                    // `PATList`: the last capital of a run starts the next word, unless the
                    // run is a pluralised acronym (`IDs`, `PATsList`).
                    let plural =
                        next == Some('s') && !after_next.is_some_and(|ch| ch.is_ascii_lowercase());
                    next.is_some_and(|ch| ch.is_ascii_lowercase()) && !plural
                } else {
                    false
                }
            } else {
                false
            };
            if split {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `word` with its first letter upper-cased and the rest lower-cased.
fn capitalize(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for (index, c) in word.chars().enumerate() {
        if index == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// UpperCamelCase form of `name`, or `None` when it has no usable characters.
///
/// A name that is already camel case (ASCII alphanumerics only, starting with a letter and
/// containing a lower-case letter) keeps its spelling, with the first letter upper-cased:
/// `ServiceAccount`, `v1ListPATsResponse` → `V1ListPATsResponse`. Anything else is split
/// into words, each capitalised: `TIMESTAMP_FILTER_METHOD_BEFORE` →
/// `TimestampFilterMethodBefore`, `not_found` → `NotFound`, `PAT` → `Pat`.
pub(crate) fn upper_camel(name: &str) -> Option<String> {
    let camel_already = name.chars().all(|c| c.is_ascii_alphanumeric())
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().any(|c| c.is_ascii_lowercase());
    let out = if camel_already {
        let mut out = String::with_capacity(name.len());
        for (index, c) in name.chars().enumerate() {
            out.push(if index == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
        out
    } else {
        let joined: String = split_words(name)
            .iter()
            .map(|word| capitalize(word))
            .collect();
        // Single-letter words (`a_b`) would give `AB`, which clippy flags as an acronym.
        if joined.chars().any(|c| c.is_ascii_lowercase()) {
            joined
        } else {
            capitalize(&joined)
        }
    };
    (!out.is_empty()).then_some(out)
}

/// snake_case form of `name`, or `None` when it has no usable characters.
pub(crate) fn snake(name: &str) -> Option<String> {
    let out = split_words(name)
        .iter()
        .map(|word| word.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    (!out.is_empty()).then_some(out)
}

/// `ident` made usable as a field name: keywords become raw identifiers (`r#type`), and the
/// few keywords that cannot be raw (`self`, `super`, `crate`) get a trailing underscore.
pub(crate) fn escape_field(ident: String) -> String {
    if RAW_KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else if NON_RAW_KEYWORDS.contains(&ident.as_str()) {
        format!("{ident}_")
    } else {
        ident
    }
}

/// A Rust string literal (with quotes) whose value is `value`.
pub(crate) fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        let cases: &[(&str, &[&str])] = &[
            ("tokenId", &["token", "Id"]),
            ("PATList", &["PAT", "List"]),
            ("tokenIDs", &["token", "IDs"]),
            ("ListPATsResponse", &["List", "PATs", "Response"]),
            (
                "v1PersonalAccessToken",
                &["v1", "Personal", "Access", "Token"],
            ),
            ("int64Value", &["int64", "Value"]),
            ("@type", &["type"]),
            ("x-request-id", &["x", "request", "id"]),
            (
                "TIMESTAMP_FILTER_METHOD_BEFORE",
                &["TIMESTAMP", "FILTER", "METHOD", "BEFORE"],
            ),
            ("userIsActive", &["user", "Is", "Active"]),
            ("", &[]),
        ];
        for (input, expected) in cases {
            assert_eq!(&split_words(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn upper_camel_names() {
        let cases = [
            ("ServiceAccount", "ServiceAccount"),
            (
                "TIMESTAMP_FILTER_METHOD_BEFORE",
                "TimestampFilterMethodBefore",
            ),
            ("not_found", "NotFound"),
            ("PAT", "Pat"),
            ("Pat", "Pat"),
            ("v1ListPATsResponse", "V1ListPATsResponse"),
            ("in-progress", "InProgress"),
            ("Dfns.Pat", "DfnsPat"),
            ("OAuth2", "OAuth2"),
            ("a_b", "Ab"),
            ("V1", "V1"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                upper_camel(input).as_deref(),
                Some(expected),
                "input {input:?}"
            );
        }
        assert_eq!(upper_camel("@@"), None);
    }

    #[test]
    fn snake_names() {
        let cases = [
            ("tokenId", "token_id"),
            ("@type", "type"),
            ("owner_id", "owner_id"),
            ("max-uses", "max_uses"),
            ("relatedIDs", "related_ids"),
            ("HTTPStatus", "http_status"),
        ];
        for (input, expected) in cases {
            assert_eq!(snake(input).as_deref(), Some(expected), "input {input:?}");
        }
        assert_eq!(snake("--"), None);
    }

    #[test]
    fn escapes_keywords() {
        assert_eq!(escape_field("type".to_owned()), "r#type");
        assert_eq!(escape_field("gen".to_owned()), "r#gen");
        assert_eq!(escape_field("self".to_owned()), "self_");
        assert_eq!(escape_field("name".to_owned()), "name");
    }

    #[test]
    fn string_literals() {
        assert_eq!(string_literal("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string_literal("\u{1}"), r#""\u{1}""#);
    }
}
