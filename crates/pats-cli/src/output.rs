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
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

    /// The table as text, columns separated by two spaces, no trailing blanks.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
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
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_without_trailing_blanks() {
        let mut t = Table::new(&["A", "BB"]);
        t.row(vec!["long".into(), "x".into()]);
        assert_eq!(t.render(), "A     BB\nlong  x\n");
    }

    #[test]
    fn times_are_utc_whole_seconds() {
        let t = time::macros::datetime!(2026-01-02 03:04:05.678 +02:00);
        assert_eq!(rfc3339(t), "2026-01-02T01:04:05Z");
    }
}
