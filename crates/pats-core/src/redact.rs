//! Scrubbing secrets out of text that ends up in errors and logs.
//!
//! Servers sometimes echo what they were sent. Before a provider message or a body snippet is
//! stored in an [`Error`](crate::Error), it goes through [`scrub`], which removes:
//! - every secret the caller knows about (the bearer token in use, a client secret, ...);
//! - JSON string values under keys that name secrets (`token`, `accessToken`, `secret`,
//!   `client_secret`, `password`, `key`, `apiKey`, `privateKey`, `assertion`,
//!   `client_assertion`, `authorization`, `credential(s)`, `userAction`, ...; case and
//!   `_`/`-` do not matter), even when the body is cut off in the middle of the value;
//! - `key=value` values under the same keys, as in a URL's query or a form body
//!   (`?token=...`, `client_secret=...`), and the userinfo of a URL
//!   (`https://user:password@host`);
//! - anything shaped like a JWT, a `Bearer` credential or a PEM private key;
//! - GitLab tokens, which carry a prefix (`glpat-`, `gloas-`, `glrt-`, ...: `gl`, a few
//!   lowercase letters, `-`, then at least 16 token characters).
//!
//! Every step is one pass over the text: scrubbing a hostile body of megabytes costs time
//! proportional to its size.

/// What replaces a removed secret.
pub const REDACTED: &str = "[REDACTED]";

/// Longest snippet of a body kept in an error, in bytes.
pub const SNIPPET_LIMIT: usize = 512;

/// How much of a body is scrubbed before the snippet is cut (bounds the work on huge bodies).
const SCAN_LIMIT: usize = 64 * 1024;

/// Removes known secrets and secret-shaped values from `text`.
///
/// `known` holds secrets in use for the request; values shorter than 6 bytes are ignored
/// (they would match ordinary words).
pub fn scrub(text: &str, known: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in known {
        if secret.len() >= 6 && out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    let out = scrub_pem(&out);
    let out = scrub_bearer(&out);
    let out = scrub_jwt(&out);
    let out = scrub_gitlab(&out);
    let out = scrub_key_values(&out);
    let out = scrub_userinfo(&out);
    scrub_json_fields(&out)
}

/// The start of a body, scrubbed, at most [`SNIPPET_LIMIT`] bytes, cut on a character boundary.
pub fn snippet(body: &[u8], known: &[&str]) -> String {
    let head = &body[..body.len().min(SCAN_LIMIT)];
    let text = String::from_utf8_lossy(head);
    let scrubbed = scrub(&text, known);
    let mut end = scrubbed.len().min(SNIPPET_LIMIT);
    while !scrubbed.is_char_boundary(end) {
        end -= 1;
    }
    scrubbed[..end].to_owned()
}

/// `url` as it may be shown: scheme, host, port and path as the `url` crate normalizes
/// them, without the userinfo, query and fragment, which can hold credentials
/// (`https://user:pass@host/?token=...`). `None` when the text is not a URL, since it may
/// be anything (`https://svc:PW?x@host` does not parse: its "port" is `PW`), and when the
/// path holds an `@`: that is userinfo with a `/` in its password read as a path
/// (`https://svc:12/34@host` is port 12 and path `/34@host`), so the path is not shown
/// either.
pub fn shown_url(url: &str) -> Option<String> {
    let mut url = url::Url::parse(url).ok()?;
    // Neither fails on a URL with a host; a URL without one has no userinfo.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    (!url.path().contains('@')).then(|| url.into())
}

/// A URL as `Debug` output may show it: [`shown_url`], quoted, or `<not a URL>`.
pub struct ShownUrl<'a>(pub &'a str);

impl std::fmt::Debug for ShownUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match shown_url(self.0) {
            Some(url) => std::fmt::Debug::fmt(&url, f),
            None => f.write_str("<not a URL>"),
        }
    }
}

/// Key names whose values are secrets, compared without case, `_`, `-` or other
/// punctuation (so `client_secret`, `clientSecret` and `Client-Secret` are one key): any
/// key containing one of these...
const SECRET_KEY_PARTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "assertion",
    "useraction",
    "authorization",
    "credential",
    "cookie",
    "jwt",
    "mnemonic",
];

/// ...and any key ending in `key` (`key`, `apiKey`, `api_key`, `privateKey`, `x-api-key`,
/// `signingKey`, ...) except these, which are public.
const PUBLIC_KEY_SUFFIXES: &[&str] = &["publickey"];

fn is_sensitive_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if norm.ends_with("id") || norm.ends_with("ids") || norm == "tokentype" || norm == "expiresin" {
        return false;
    }
    (norm.ends_with("key") && !PUBLIC_KEY_SUFFIXES.iter().any(|s| norm.ends_with(s)))
        || SECRET_KEY_PARTS.iter().any(|s| norm.contains(s))
}

/// Index just past the closing quote of the JSON string starting at `start` (a `"`),
/// or `None` when the text ends first.
fn json_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn scrub_json_fields(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let Some(key_end) = json_string_end(bytes, i) else {
            break;
        };
        let key = &text[i + 1..key_end - 1];
        let mut j = key_end;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b':' && is_sensitive_key(key) {
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'"' {
                let value_end = json_string_end(bytes, j);
                out.push_str(&text[copied..=j]);
                out.push_str(REDACTED);
                match value_end {
                    Some(end) => {
                        out.push('"');
                        copied = end;
                        i = end;
                    }
                    None => {
                        copied = bytes.len();
                        i = bytes.len();
                    }
                }
                continue;
            }
        }
        i = key_end;
    }
    out.push_str(&text[copied..]);
    out
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'='
}

fn scrub_jwt(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(pos) = text[i..].find("eyJ") {
        let start = i + pos;
        let mut end = start;
        let mut dots = 0;
        while end < bytes.len() && (is_b64url(bytes[end]) || bytes[end] == b'.') {
            if bytes[end] == b'.' {
                dots += 1;
            }
            end += 1;
        }
        if dots >= 1 && end - start >= 16 {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        i = end.max(start + 3);
    }
    out.push_str(&text[copied..]);
    out
}

/// Removes GitLab's prefixed tokens (`glpat-…`, `glrt-…`, ...), in one pass over the text:
/// `gl` at the start of a word, 1 to 8 lowercase letters, `-`, and 16 or more of
/// `[A-Za-z0-9_.-]`.
fn scrub_gitlab(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(pos) = text[i..].find("gl") {
        let start = i + pos;
        i = start + 2;
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let mut end = start + 2;
        while end < bytes.len() && bytes[end].is_ascii_lowercase() && end - start < 10 {
            end += 1;
        }
        if end == start + 2 || end >= bytes.len() || bytes[end] != b'-' {
            continue;
        }
        let value_start = end + 1;
        let mut value_end = value_start;
        while value_end < bytes.len()
            && (bytes[value_end].is_ascii_alphanumeric()
                || matches!(bytes[value_end], b'_' | b'-' | b'.'))
        {
            value_end += 1;
        }
        if value_end - value_start >= 16 {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        i = value_end.max(i);
    }
    out.push_str(&text[copied..]);
    out
}

/// Removes the credential after every `bearer ` (any case), in one pass over the text.
fn scrub_bearer(text: &str) -> String {
    const WORD: &[u8] = b"bearer ";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + WORD.len() <= bytes.len() {
        if !bytes[i..i + WORD.len()].eq_ignore_ascii_case(WORD) {
            i += 1;
            continue;
        }
        // Just past an ASCII space: a character boundary.
        let value_start = i + WORD.len();
        let value_len = text[value_start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .unwrap_or(text.len() - value_start);
        if value_len > 0 {
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_start + value_len;
        }
        i = value_start + value_len;
    }
    out.push_str(&text[copied..]);
    out
}

fn scrub_pem(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN") {
        let header_end = rest[start + 10..]
            .find("-----")
            .map(|p| start + 10 + p + 5)
            .unwrap_or(rest.len());
        let header = &rest[start..header_end];
        if !header.contains("PRIVATE KEY") {
            out.push_str(&rest[..header_end]);
            rest = &rest[header_end..];
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str("[REDACTED PRIVATE KEY]");
        let after = &rest[header_end..];
        rest = match after.find("-----END") {
            Some(end) => {
                let tail = &after[end + 8..];
                match tail.find("-----") {
                    Some(close) => &tail[close + 5..],
                    None => "",
                }
            }
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Whether `b` may be part of a `key` in `key=value`.
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Whether `b` ends a value in `key=value` (query and form separators, quotes, brackets,
/// white space).
fn ends_value(b: u8) -> bool {
    matches!(
        b,
        b'&' | b';' | b',' | b'#' | b'"' | b'\'' | b')' | b']' | b'>' | b'<'
    ) || b.is_ascii_whitespace()
}

/// Replaces the value of every `key=value` whose key names a secret (`?token=...`,
/// `&client_secret=...`). One pass: each key is read back from its `=` to the previous
/// non-key byte.
fn scrub_key_values(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            i += 1;
            continue;
        }
        // Already scrubbed: the value is left as it is (`[REDACTED]` holds no `=`).
        if text[i + 1..].starts_with(REDACTED) {
            i += 1;
            continue;
        }
        let mut key_start = i;
        while key_start > 0 && is_key_byte(bytes[key_start - 1]) {
            key_start -= 1;
        }
        let end = bytes[i + 1..]
            .iter()
            .position(|&b| ends_value(b))
            .map_or(bytes.len(), |n| i + 1 + n);
        let value = &text[i + 1..end];
        // An empty key (`=x`) names no secret.
        if !value.is_empty() && is_sensitive_key(&text[key_start..i]) {
            out.push_str(&text[copied..=i]);
            out.push_str(REDACTED);
            copied = end;
        }
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Replaces the userinfo of every URL (`https://user:password@host` gives
/// `https://[REDACTED]@host`).
fn scrub_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | ')' | '>' | '"' | '\'') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(userinfo_end) if userinfo_end > 0 && &tail[..userinfo_end] != REDACTED => {
                out.push_str(REDACTED);
                rest = &tail[userinfo_end..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_queries_form_bodies_and_userinfo_lose_their_secrets() {
        let s = scrub(
            "error sending request for url (https://svc:hunter2@h.example/x?token=t0ps3cret&page=2&client_secret=abc%2F1#f)",
            &[],
        );
        assert_eq!(
            s,
            "error sending request for url (https://[REDACTED]@h.example/x?token=[REDACTED]&page=2&client_secret=[REDACTED]#f)"
        );
        assert_eq!(
            scrub(
                "grant_type=client_credentials&client_id=me&password=pw 'api-key=k1'",
                &[]
            ),
            "grant_type=client_credentials&client_id=me&password=[REDACTED] 'api-key=[REDACTED]'"
        );
        // Ordinary text, ids, empty values and URLs without userinfo are kept.
        for kept in [
            "a == b, x=1, token_id=to-1, token=, https://h.example/a@b, key:=",
            "mailto://@h, =token, token_type=Bearer, expires_in=3600",
            "see (https://h.example)@home, <https://h.example>@x",
            "https://h.example/a?b=c@d https://h.example#x@y",
        ] {
            assert_eq!(scrub(kept, &[]), kept);
        }
        // Scrubbing twice changes nothing more.
        assert_eq!(scrub(&s, &[]), s);
    }

    #[test]
    fn known_secrets_are_removed() {
        let s = scrub("bad token abcdef123456 here", &["abcdef123456"]);
        assert_eq!(s, "bad token [REDACTED] here");
    }

    #[test]
    fn json_secret_fields_are_removed_even_when_cut_off() {
        let s = scrub(
            r#"{"tokenId":"to-1","accessToken":"sekrit-value","secret": "x\"y", "token":"trunc"#,
            &[],
        );
        assert!(s.contains(r#""tokenId":"to-1""#), "{s}");
        assert!(!s.contains("sekrit"), "{s}");
        assert!(!s.contains("x\\\"y"), "{s}");
        assert!(!s.contains("trunc"), "{s}");
        assert!(s.contains(r#""accessToken":"[REDACTED]""#), "{s}");
    }

    #[test]
    fn gitlab_prefixed_tokens_are_removed() {
        let text = "old glpat-AbCdEfGhIjKlMnOpQrSt and glrt-t1_Ab.Cd-Ef_Gh12345678, \
                    not glpat-short, not xglpat-AbCdEfGhIjKlMnOpQrSt, gl-AbCdEfGhIjKlMnOpQrSt";
        assert_eq!(
            scrub(text, &[]),
            "old [REDACTED] and [REDACTED], not glpat-short, not xglpat-AbCdEfGhIjKlMnOpQrSt, \
             gl-AbCdEfGhIjKlMnOpQrSt"
        );
        assert_eq!(scrub("glpat-", &[]), "glpat-");
        assert_eq!(scrub("gl", &[]), "gl");
        assert_eq!(
            scrub("glé-AbCdEfGhIjKlMnOpQrSt", &[]),
            "glé-AbCdEfGhIjKlMnOpQrSt"
        );
    }

    #[test]
    fn jwt_bearer_and_pem_are_removed() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let s = scrub(&format!("token {jwt} rejected"), &[]);
        assert_eq!(s, "token [REDACTED] rejected");
        let s = scrub("Authorization: Bearer opaque-value-1, next", &[]);
        assert_eq!(s, "Authorization: Bearer [REDACTED], next");
        let pem = "a -----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY----- b";
        assert_eq!(scrub(pem, &[]), "a [REDACTED PRIVATE KEY] b");
        let cut = "x -----BEGIN EC PRIVATE KEY-----\nMIGH";
        assert_eq!(scrub(cut, &[]), "x [REDACTED PRIVATE KEY]");
        let public = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
        assert_eq!(scrub(public, &[]), public);
    }

    #[test]
    fn bearer_scrubbing_keeps_its_output_on_edge_cases() {
        assert_eq!(scrub_bearer("bearer "), "bearer ");
        assert_eq!(scrub_bearer("x BEARER y"), "x BEARER [REDACTED]");
        assert_eq!(
            scrub_bearer("Bearer Bearer x"),
            "Bearer [REDACTED] x",
            "the value after the first word is the credential"
        );
        assert_eq!(
            scrub_bearer("bearer\u{e9}t\u{e9} bearer 'q'"),
            "bearer\u{e9}t\u{e9} bearer 'q'"
        );
        assert_eq!(scrub_bearer("é bearer ü-value,x"), "é bearer [REDACTED],x");
        assert_eq!(scrub_bearer("bearerbearer  z"), "bearerbearer  z");
    }

    /// 4 MiB of what made the old scrubber quadratic (it lowercased the rest of the text
    /// after every hit): the output is checked exactly; the time is a benchmark figure
    /// (`cargo xtask bench`), not asserted here.
    #[test]
    fn a_hostile_4_mib_body_is_scrubbed_correctly() {
        const SIZE: usize = 4 * 1024 * 1024;
        let unit = "Bearer x ";
        let body = unit.repeat(SIZE / unit.len());
        let out = scrub(&body, &[]);
        assert_eq!(out, "Bearer [REDACTED] ".repeat(SIZE / unit.len()));

        let unit = "bearer ";
        let body = unit.repeat(SIZE / unit.len());
        // Each `bearer` is the value of the one before it.
        let out = scrub(&body, &[]);
        let pairs = SIZE / unit.len() / 2;
        let mut expected = "bearer [REDACTED] ".repeat(pairs);
        if (SIZE / unit.len()) % 2 == 1 {
            expected.push_str("bearer ");
        }
        assert_eq!(out, expected);

        // JWT starts, PEM headers and JSON keys, over and over.
        let body = "eyJ.".repeat(SIZE / 4);
        assert_eq!(scrub(&body, &[]), REDACTED);
        for unit in [
            "eyJ ",
            "-----BEGIN ",
            "\"a\":\"b\",",
            r#""a":"\""#,
            "bearer\u{e9}",
        ] {
            let body = unit.repeat(SIZE / unit.len());
            assert!(scrub(&body, &[]) == body, "{unit}");
        }
        // Each second `"token"` is the value of the one before it.
        let body = "\"token\":".repeat(SIZE / 8);
        assert_eq!(
            scrub(&body, &[]),
            "\"token\":\"[REDACTED]\":".repeat(SIZE / 16)
        );
        let body = "-----BEGIN PRIVATE KEY-----".repeat(SIZE / 27);
        assert_eq!(scrub(&body, &[]), "[REDACTED PRIVATE KEY]");
    }

    #[test]
    fn every_secret_key_is_scrubbed_from_errors_and_output() {
        let keys = [
            "token",
            "accessToken",
            "access_token",
            "refresh_token",
            "secret",
            "client_secret",
            "clientSecret",
            "password",
            "passphrase",
            "key",
            "apiKey",
            "api_key",
            "API-KEY",
            "x-api-key",
            "privateKey",
            "private_key",
            "signingKey",
            "authorization",
            "Authorization",
            "credential",
            "credentials",
            "clientCredentials",
            "assertion",
            "client_assertion",
            "clientAssertion",
            "userAction",
            "cookie",
            "Set-Cookie",
            "jwt",
            "mnemonic",
        ];
        for key in keys {
            let planted = format!("planted-{}-value", key.len());
            let body = format!(r#"{{"error":"denied","{key}": "{planted}","keyId":"kid-1"}}"#);
            let scrubbed = scrub(&body, &[]);
            assert!(!scrubbed.contains(&planted), "{key}: {scrubbed}");
            assert!(scrubbed.contains(r#""keyId":"kid-1""#), "{key}: {scrubbed}");
            let decode = crate::Error::decode(200, "bad", body.as_bytes());
            let response = crate::Response::new(
                400,
                reqwest::header::HeaderMap::new(),
                bytes::Bytes::from(body.clone()),
            );
            let api = response.api_error(None, Some(&body), None);
            let from_snippet = response.api_error(None, None, None);
            for e in [decode, api, from_snippet] {
                for text in [format!("{e}"), format!("{e:?}")] {
                    assert!(!text.contains(&planted), "{key}: {text}");
                    assert!(text.contains("denied"), "{key}: {text}");
                }
            }
        }
        // Public values stay.
        for key in [
            "publicKey",
            "public_key",
            "keyId",
            "tokenType",
            "expires_in",
            "name",
        ] {
            let body = format!(r#"{{"{key}":"visible-value"}}"#);
            assert_eq!(scrub(&body, &[]), body, "{key}");
        }
    }

    #[test]
    fn snippet_is_bounded_and_on_a_char_boundary() {
        let body = "é".repeat(1000);
        let s = snippet(body.as_bytes(), &[]);
        assert!(s.len() <= SNIPPET_LIMIT);
        assert!(s.chars().all(|c| c == 'é'));
        assert_eq!(snippet(b"\xff\xfe{", &[]), "\u{fffd}\u{fffd}{");
    }

    #[test]
    fn shown_urls_keep_no_userinfo_query_or_fragment() {
        let shown = |u: &str| format!("{:?}", ShownUrl(u));
        assert_eq!(
            shown("https://alice:hunter2-pass@acme.example:8443/api/?token=s3cr3t-q#frag-x"),
            r#""https://acme.example:8443/api/""#
        );
        assert_eq!(shown("https://acme.example"), r#""https://acme.example/""#);
        assert_eq!(shown("not a url with hunter2-pass"), "<not a URL>");
    }

    #[test]
    fn a_url_that_does_not_parse_or_hides_userinfo_in_its_path_is_not_shown() {
        assert_eq!(
            shown_url("https://alice:hunter2@acme.example:8443/api?token=q#f").as_deref(),
            Some("https://acme.example:8443/api")
        );
        assert_eq!(
            shown_url("http://127.0.0.1:4600").as_deref(),
            Some("http://127.0.0.1:4600/")
        );
        // The password ends the authority early: a "port" that is not one, or a path.
        for url in [
            "https://svc:PW?x@host",
            "https://svc:PW#x@host",
            "https://svc:P/W@host",
            "https://svc:12/34@host",
            "u@host",
            "",
        ] {
            assert_eq!(shown_url(url), None, "{url}");
        }
        // A `@` in the query or fragment goes with them; an encoded one is a path's.
        assert_eq!(
            shown_url("https://svc:12?34@host").as_deref(),
            Some("https://svc:12/")
        );
        assert_eq!(
            shown_url("https://h.example/%40scope/x").as_deref(),
            Some("https://h.example/%40scope/x")
        );
    }
}
