//! What the CLI prints: the stable JSON schema and the tables for people.

/// `print!` for what is not a secret (see [`emit`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::emit(format_args!($($arg)*))
    };
}

/// `println!` for what is not a secret (see [`emit`]).
macro_rules! outln {
    () => {
        $crate::output::emit(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::emit(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

use std::io::Write as _;
use std::sync::OnceLock;

/// The first failed write to stdout that was not a closed pipe.
static STDOUT_FAILED: OnceLock<String> = OnceLock::new();

fn remember(e: &std::io::Error) {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        let _ = STDOUT_FAILED.set(e.to_string());
    }
}

/// Writes what is not a secret to stdout. A closed pipe (`pats list | head -1`) is not an
/// error; any other failure (a full disk) is remembered, and [`stdout_result`] turns it into
/// exit code 1 when the command ends.
pub fn emit(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        remember(&e);
    }
}

/// Flushes stdout and reports the first write that failed, if any.
pub fn stdout_result() -> Result<(), crate::error::CliError> {
    if let Err(e) = std::io::stdout().lock().flush() {
        remember(&e);
    }
    match STDOUT_FAILED.get() {
        Some(e) => Err(crate::error::CliError::failed(format!(
            "writing to standard output failed: {e}"
        ))),
        None => Ok(()),
    }
}

/// Writes `text`, which holds a secret, to stdout and flushes it: every failure is an
/// error (a closed pipe too), for the caller to report before anything else happens.
pub fn deliver(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether stdout discards what is written to it: the null device, which is also what a
/// closed stdout is at this point (the Rust runtime reopens a closed stdout on `/dev/null`
/// before `main`). A secret printed there would be lost.
#[cfg(unix)]
pub fn stdout_discards() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return false;
    };
    let (Ok(out), Ok(null)) = (
        std::fs::File::from(fd).metadata(),
        std::fs::metadata("/dev/null"),
    ) else {
        return false;
    };
    out.file_type().is_char_device() && out.rdev() == null.rdev()
}

/// Whether stdout discards what is written to it (not detected here).
#[cfg(not(unix))]
pub fn stdout_discards() -> bool {
    false
}

use pats::{Capabilities, DefaultLifetime, Expiration, GetSupport, Naming, Reported, TokenInfo};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Whether `c` is escaped by [`printable`]: a control character (C0, DEL, C1) or a bidi
/// control (the embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069, and the
/// marks U+200E, U+200F and U+061C), which could move the cursor, retitle or recolour the
/// terminal, or make text read in another order than it is stored.
fn escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Whether a backslash followed by `next` must be doubled: where it would otherwise read as
/// the start of an escape (`\\`, `\n`, `\r`, `\t`, `\x`, `\u`, or an escaped character, whose
/// escape starts with a backslash itself).
fn doubled_before(next: Option<char>) -> bool {
    next.is_some_and(|n| matches!(n, '\\' | 'n' | 'r' | 't' | 'x' | 'u') || escaped(n))
}

/// `text` as it may be printed on a terminal for people: untrusted text (token names, ids,
/// owners, scopes, provider errors, profile names, paths) can neither drive the terminal
/// nor forge a line or a column of the output.
///
/// Escaped, as visible text:
/// - `\n`, `\r`, `\t` for line feed, carriage return and tab;
/// - `\xHH` (two lowercase hex digits) for the other C0 controls (ESC is `\x1b`) and DEL;
/// - `\u{H...}` (lowercase hex) for the C1 controls U+0080–U+009F and the bidi controls
///   U+202A–U+202E, U+2066–U+2069, U+200E, U+200F and U+061C.
///
/// A backslash is doubled (`\\`) only where it would otherwise read as the start of one of
/// these escapes: before `\`, `n`, `r`, `t`, `x`, `u` or an escaped character. So an
/// ordinary path (`C:\Users\me`) prints as it is, and every printed text still reads back to
/// exactly one original (a name spelled `a\x1b` prints as `a\\x1b`, a name with a real ESC
/// as `a\x1b`). Everything else, ordinary Unicode included, is left as it is; text with
/// nothing to escape is returned borrowed.
///
/// For text only: JSON and SARIF output keep the exact values (serde_json escapes control
/// characters itself).
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    let mut chars = text.char_indices().peekable();
    let first = loop {
        let Some((i, c)) = chars.next() else {
            return Cow::Borrowed(text);
        };
        if escaped(c) || (c == '\\' && doubled_before(chars.peek().map(|&(_, n)| n))) {
            break i;
        }
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    let mut chars = text[first..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' if doubled_before(chars.peek().copied()) => out.push_str("\\\\"),
            c if escaped(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if escaped(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A token, the same for every provider. Every field is always present (`null` when the
/// provider does not say).
#[derive(Debug, Serialize)]
pub struct TokenJson {
    /// The provider's name.
    pub provider: &'static str,
    /// The token id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its owner.
    pub owner: Option<OwnerJson>,
    /// Creation time, RFC 3339.
    pub created: Option<String>,
    /// Expiry: RFC 3339, `"never"`, or `null` when the provider does not say.
    pub expires: Option<String>,
    /// Last use, RFC 3339.
    pub last_used: Option<String>,
    /// Whether it is active, where the provider can deactivate tokens.
    pub active: Option<bool>,
    /// Scopes or permissions.
    pub scopes: Vec<String>,
}

/// A token's owner.
#[derive(Debug, Serialize)]
pub struct OwnerJson {
    /// The owner id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Kind, as the provider names it.
    pub kind: Option<String>,
}

/// A time as RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

impl TokenJson {
    /// The JSON view of `info` from `provider`.
    pub fn new(provider: &'static str, info: &TokenInfo) -> Self {
        Self {
            provider,
            id: info.id.to_string(),
            name: info.name.clone(),
            owner: info.owner.as_ref().map(|o| OwnerJson {
                id: o.id.clone(),
                name: o.name.clone(),
                kind: o.kind.clone(),
            }),
            created: info.created.map(rfc3339),
            expires: match info.expires {
                Expiration::At(t) => Some(rfc3339(t)),
                Expiration::Never => Some("never".into()),
                _ => None,
            },
            last_used: info.last_used.map(rfc3339),
            active: info.active,
            scopes: info.scopes.clone(),
        }
    }
}

/// What a provider supports, as `pats providers --json` prints it.
#[derive(Debug, Serialize)]
pub struct ProviderJson {
    /// The provider's name.
    pub name: &'static str,
    /// `native` or `emulated` (by listing).
    pub get: &'static str,
    /// Tokens can be renamed.
    pub rename: bool,
    /// Tokens can be deactivated and activated.
    pub set_active: bool,
    /// `create --scope` is honoured.
    pub scopes: bool,
    /// Tokens have names.
    pub names: bool,
    /// What a name is: `per_token`, `owner` (the owner's name: ZITADEL's machine user) or
    /// `none`.
    pub naming: &'static str,
    /// Names are unique per owner.
    pub unique_names: bool,
    /// `create` needs `--name`.
    pub requires_name: bool,
    /// `create` needs `--owner` (or a name that names one, or a configured default).
    pub requires_owner: bool,
    /// What a create without an expiry gets: `finite` or `refused`.
    pub default_lifetime: &'static str,
    /// The provider's default lifetime in seconds, where documented.
    pub default_lifetime_seconds: Option<u64>,
    /// Whether tokens say when they expire: `always`, `when_created` or `no`.
    pub expiry_reported: &'static str,
    /// `create --never-expires` is offered.
    pub never_expires: bool,
    /// `create --owner` is offered.
    pub create_for_owner: bool,
    /// `list --owner` is offered.
    pub owner_filter: bool,
    /// The provider reports last use (`audit --unused-for`).
    pub last_used: bool,
    /// Listings come in pages.
    pub pagination: bool,
    /// Longest lifetime, seconds.
    pub max_lifetime_seconds: Option<u64>,
    /// Shortest lifetime, seconds.
    pub min_lifetime_seconds: Option<u64>,
    /// `rotate` is one call to the provider, which revokes the old token at once (no
    /// `--keep-old`).
    pub native_rotate: bool,
    /// `create` needs at least one scope (`--scope`), the configuration giving none.
    pub requires_scopes: bool,
    /// How much later than asked a token may expire, seconds (86400 where expiries are
    /// dates).
    pub expiry_resolution_seconds: u64,
    /// A revoked token can still be shown (`show` says it is inactive).
    pub revoked_readable: bool,
}

/// Whether the provider reports when a token was last used.
pub fn tracks_last_use(c: &Capabilities) -> bool {
    c.last_use.when_listed()
}

fn reported(r: Reported) -> &'static str {
    match r {
        Reported::Always => "always",
        Reported::WhenCreated => "when_created",
        _ => "no",
    }
}

impl ProviderJson {
    /// The JSON view of `provider`'s capabilities.
    pub fn new(name: &'static str, c: &Capabilities) -> Self {
        Self {
            name,
            get: match c.get {
                GetSupport::Native => "native",
                GetSupport::Emulated => "emulated",
                _ => "unknown",
            },
            rename: c.rename,
            set_active: c.set_active,
            scopes: c.scopes,
            names: c.names(),
            naming: match c.naming {
                Naming::PerToken => "per_token",
                Naming::Owner => "owner",
                _ => "none",
            },
            unique_names: c.unique_names,
            requires_name: c.requires_name,
            requires_owner: c.requires_owner,
            default_lifetime: match c.default_lifetime {
                DefaultLifetime::Refused => "refused",
                _ => "finite",
            },
            default_lifetime_seconds: match c.default_lifetime {
                DefaultLifetime::Finite(d) => d.map(|d| d.as_secs()),
                _ => None,
            },
            expiry_reported: reported(c.expiry),
            never_expires: c.never_expires,
            create_for_owner: c.create_for_owner,
            owner_filter: c.list_filters.owner,
            last_used: tracks_last_use(c),
            pagination: c.pagination,
            max_lifetime_seconds: c.max_lifetime.map(|d| d.as_secs()),
            min_lifetime_seconds: c.min_lifetime.map(|d| d.as_secs()),
            native_rotate: c.native_rotate,
            requires_scopes: c.requires_scopes,
            expiry_resolution_seconds: c.expiry_resolution.as_secs(),
            revoked_readable: c.revoked_readable,
        }
    }
}

/// A plain text table with a header row.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, columns separated by two spaces, no trailing blanks. Every cell is
    /// [`printable`]: a cell is one line of one column whatever it holds, and the widths are
    /// those of the cells as printed.
    pub fn render(&self) -> String {
        let rows: Vec<Vec<Cow<'_, str>>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| printable(c)).collect())
            .collect();
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                rows.iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn or_dash(v: Option<String>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into())
}

/// The table of `tokens`.
pub fn token_table(tokens: &[TokenJson]) -> String {
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "OWNER",
        "CREATED",
        "EXPIRES",
        "LAST USED",
        "ACTIVE",
        "SCOPES",
    ]);
    for tok in tokens {
        t.row(token_cells(tok));
    }
    t.render()
}

/// The cells of `tok`'s row in [`token_table`].
pub fn token_cells(tok: &TokenJson) -> Vec<String> {
    vec![
        tok.id.clone(),
        or_dash(tok.name.clone()),
        or_dash(tok.owner.as_ref().map(|o| o.id.clone())),
        or_dash(tok.created.clone()),
        or_dash(tok.expires.clone()),
        or_dash(tok.last_used.clone()),
        or_dash(tok.active.map(|a| if a { "yes" } else { "no" }.to_owned())),
        or_dash(Some(tok.scopes.join(","))),
    ]
}

/// One token as `field  value` lines.
pub fn token_details(tok: &TokenJson) -> String {
    let mut t = Table::default();
    let cells = token_cells(tok);
    let titles = [
        "id",
        "name",
        "owner",
        "created",
        "expires",
        "last used",
        "active",
        "scopes",
    ];
    for (title, value) in titles.iter().zip(cells) {
        t.row(vec![(*title).to_owned(), value]);
    }
    t.row(vec!["provider".into(), tok.provider.into()]);
    if let Some(name) = tok.owner.as_ref().and_then(|o| o.name.as_ref()) {
        t.row(vec!["owner name".into(), name.clone()]);
    }
    t.render()
}

/// The table of providers.
pub fn provider_table(providers: &[ProviderJson]) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let mut t = Table::new(&[
        "PROVIDER",
        "GET",
        "RENAME",
        "DEACTIVATE",
        "SCOPES",
        "NAMES",
        "NEVER-EXPIRING",
        "FOR OWNER",
        "OWNER FILTER",
        "LAST USED",
        "PAGED",
        "MAX LIFETIME",
        "ROTATE",
    ]);
    for p in providers {
        t.row(vec![
            p.name.into(),
            p.get.into(),
            yes(p.rename),
            yes(p.set_active),
            yes(p.scopes),
            yes(p.names),
            yes(p.never_expires),
            yes(p.create_for_owner),
            yes(p.owner_filter),
            yes(p.last_used),
            yes(p.pagination),
            p.max_lifetime_seconds
                .map(|s| crate::span::human(std::time::Duration::from_secs(s)))
                .unwrap_or_else(|| "-".into()),
            if p.native_rotate {
                "native"
            } else {
                "create+revoke"
            }
            .into(),
        ]);
    }
    t.render()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_without_trailing_blanks() {
        let mut t = Table::new(&["A", "BB"]);
        t.row(vec!["long".into(), "x".into()]);
        assert_eq!(t.render(), "A     BB\nlong  x\n");
    }

    #[test]
    fn control_and_bidi_characters_are_escaped_visibly() {
        let cases = [
            ("esc\x1b[31mred", "esc\\x1b[31mred"),
            ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
            ("a\rb", "a\\rb"),
            ("a\nforged row", "a\\nforged row"),
            ("a\tb", "a\\tb"),
            ("nul\0", "nul\\x00"),
            ("us\x1f", "us\\x1f"),
            ("del\x7f", "del\\x7f"),
            ("csi\u{9b}31m", "csi\\u{9b}31m"),
            ("c1\u{80}\u{9f}", "c1\\u{80}\\u{9f}"),
            ("bidi\u{202e}gnp.exe", "bidi\\u{202e}gnp.exe"),
            ("\u{202a}\u{202d}", "\\u{202a}\\u{202d}"),
            ("\u{2066}\u{2069}", "\\u{2066}\\u{2069}"),
            ("\u{200e}\u{200f}\u{61c}", "\\u{200e}\\u{200f}\\u{61c}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(printable(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "",
            "demo-ci-deploy",
            "caf\u{e9} \u{65e5}\u{672c} \u{1f680} \u{a0}nbsp",
            // Next to the escaped ranges, but printable.
            "\u{7e}\u{a0}\u{200d}\u{2029}\u{202f}\u{2065}\u{206a}\u{61b}",
            "C:\\Users\\me\\config.toml",
            "trailing \\",
        ] {
            let shown = printable(text);
            assert!(matches!(shown, Cow::Borrowed(_)), "{text:?}");
            assert_eq!(shown, text);
        }
    }

    #[test]
    fn a_backslash_is_doubled_only_where_it_would_read_as_an_escape() {
        let cases = [
            ("a\\x1b", "a\\\\x1b"),
            ("\\n \\r \\t \\u{9b}", "\\\\n \\\\r \\\\t \\\\u{9b}"),
            ("\\\\", "\\\\\\"),
            ("\\\\a", "\\\\\\a"),
            // Before an escaped character, whose escape starts with a backslash.
            ("\\\x1b", "\\\\\\x1b"),
            ("\\\u{202e}", "\\\\\\u{202e}"),
            // Elsewhere it stays single, also in text that has escapes.
            ("C:\\Users\n", "C:\\Users\\n"),
            ("\\a\\N\\X\\U\\", "\\a\\N\\X\\U\\"),
        ];
        for (raw, shown) in cases {
            assert_eq!(printable(raw), shown, "{raw:?}");
            assert_eq!(unescape(&printable(raw)), raw, "{raw:?}");
        }
    }

    /// Reads [`printable`]'s output back, as its documentation says it reads.
    fn unescape(shown: &str) -> String {
        let mut out = String::new();
        let mut rest = shown;
        while let Some(at) = rest.find('\\') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (c, len) = match after.chars().next() {
                Some('\\') => ('\\', 1),
                Some('n') => ('\n', 1),
                Some('r') => ('\r', 1),
                Some('t') => ('\t', 1),
                Some('x') => (hex(&after[1..3]), 3),
                Some('u') => {
                    let end = after.find('}').unwrap();
                    (hex(&after[2..end]), end + 1)
                }
                _ => ('\\', 0),
            };
            out.push(c);
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }

    fn hex(digits: &str) -> char {
        char::from_u32(u32::from_str_radix(digits, 16).unwrap()).unwrap()
    }

    #[test]
    fn every_character_reads_back_after_a_backslash_or_alone() {
        // Every code point up to U+3000 (all the escaped ones, and ASCII after a backslash).
        for c in (0..0x3000).filter_map(char::from_u32) {
            for raw in [
                format!("{c}"),
                format!("\\{c}"),
                format!("{c}\\"),
                format!("\\\\{c}x"),
            ] {
                let shown = printable(&raw);
                assert!(!shown.chars().any(escaped), "{raw:?} -> {shown:?}");
                assert_eq!(unescape(&shown), raw, "{raw:?} -> {shown:?}");
            }
        }
    }

    #[test]
    fn table_cells_are_escaped_and_aligned_as_printed() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["t1".into(), "evil\nt2  forged\x1b]0;x\x07".into()]);
        t.row(vec!["t3\u{202e}".into(), "ok".into()]);
        assert_eq!(
            t.render(),
            "ID          NAME\n\
             t1          evil\\nt2  forged\\x1b]0;x\\x07\n\
             t3\\u{202e}  ok\n"
        );
    }

    #[test]
    fn times_are_utc_whole_seconds() {
        let t = time::macros::datetime!(2026-01-02 03:04:05.678 +02:00);
        assert_eq!(rfc3339(t), "2026-01-02T01:04:05Z");
    }
}
