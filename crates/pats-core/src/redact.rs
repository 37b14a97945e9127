//! Scrubbing secrets out of text that ends up in errors and logs.
//!
//! Servers sometimes echo what they were sent. Before a provider message or a body snippet is
//! stored in an [`Error`](crate::Error), it goes through [`scrub`], which removes:
//! - every secret the caller knows about (the bearer token in use, a client secret, ...);
//! - JSON string values under keys that name secrets (`token`, `accessToken`, `secret`,
//!   `client_secret`, `password`, `key`, `assertion`, `userAction`, ...), even when the
//!   body is cut off in the middle of the value;
//! - anything shaped like a JWT, a `Bearer` credential or a PEM private key.

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

fn is_sensitive_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if norm.ends_with("id") || norm.ends_with("ids") || norm == "tokentype" || norm == "expiresin" {
        return false;
    }
    norm == "key"
        || norm.ends_with("privatekey")
        || ["token", "secret", "password", "assertion", "useraction"]
            .iter()
            .any(|s| norm.contains(s))
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

fn scrub_bearer(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(pos) = lower.find("bearer ") else {
            out.push_str(rest);
            return out;
        };
        let value_start = pos + "bearer ".len();
        let value_len = rest[value_start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .unwrap_or(rest.len() - value_start);
        out.push_str(&rest[..value_start]);
        if value_len > 0 {
            out.push_str(REDACTED);
        }
        rest = &rest[value_start + value_len..];
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn snippet_is_bounded_and_on_a_char_boundary() {
        let body = "é".repeat(1000);
        let s = snippet(body.as_bytes(), &[]);
        assert!(s.len() <= SNIPPET_LIMIT);
        assert!(s.chars().all(|c| c == 'é'));
        assert_eq!(snippet(b"\xff\xfe{", &[]), "\u{fffd}\u{fffd}{");
    }
}
