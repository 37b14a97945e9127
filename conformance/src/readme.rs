//! README.md's provider table, rendered from each provider's [`Capabilities`] so the two
//! cannot disagree (`conformance/tests/it/readme.rs` compares them; `PATS_BLESS=1` rewrites it).

use crate::Harness;
use crate::harness::{DfnsHarness, GitLabHarness, ZitadelHarness};
use pats::{Capabilities, DefaultLifetime, GetSupport, Naming, PersonalAccessTokens, Reported};
use std::time::Duration;

/// The marker lines around the generated table in README.md.
pub const BEGIN: &str =
    "<!-- capabilities: begin (generated from Capabilities by conformance/src/readme.rs) -->";
/// The end marker.
pub const END: &str = "<!-- capabilities: end -->";

/// A SailPoint client of `version` (nothing is sent while building it).
fn sailpoint(version: &str) -> Box<dyn PersonalAccessTokens> {
    let config = serde_json::from_value(serde_json::json!({
        "provider": "sailpoint",
        "base_url": "http://127.0.0.1:9",
        "client_id": "readme",
        "client_secret": "readme-secret",
        "api_version": version,
    }))
    .unwrap();
    pats::connect(&config).unwrap()
}

/// The columns: a title and the capabilities of every configuration it stands for (they
/// must all be equal, or the column would not be true).
pub async fn columns() -> Vec<(&'static str, Capabilities)> {
    let same = |title, clients: Vec<Box<dyn PersonalAccessTokens>>| {
        let first = clients[0].capabilities();
        for c in &clients[1..] {
            assert_eq!(c.capabilities(), first, "{title}: the versions differ");
        }
        (title, first)
    };
    let dfns = DfnsHarness::start().await;
    let zitadel = ZitadelHarness::start().await;
    let gitlab = GitLabHarness::start().await;
    vec![
        ("Dfns", dfns.portable_client().capabilities()),
        ("ZITADEL", zitadel.portable_client().capabilities()),
        same(
            "SailPoint v3, beta, v2024",
            ["v3", "beta", "v2024"].map(sailpoint).into(),
        ),
        same(
            "SailPoint v2025, v2026, v1",
            ["v2025", "v2026", "v1"].map(sailpoint).into(),
        ),
        ("GitLab", gitlab.bare_client().capabilities()),
    ]
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn days(d: Duration) -> String {
    format!("{} days", d.as_secs() / 86_400)
}

fn reported(r: Reported) -> String {
    match r {
        Reported::Always => "yes",
        Reported::WhenCreated => "only by `create`",
        _ => "no",
    }
    .to_owned()
}

/// A row: its label and how a cell is written from a column's capabilities.
type Row = (&'static str, fn(&Capabilities) -> String);

/// One row per field a portable program decides on.
fn rows() -> Vec<Row> {
    vec![
        ("a token's name (`naming`)", |c| {
            match (c.naming, c.unique_names) {
                (Naming::PerToken, true) => "its own, unique per owner",
                (Naming::PerToken, false) => "its own",
                (Naming::Owner, _) => "its owner's name (the machine user's username)",
                _ => "none",
            }
            .to_owned()
        }),
        ("name required", |c| yes(c.requires_name)),
        ("owner (`create_for_owner`, `requires_owner`)", |c| {
            match (c.create_for_owner, c.requires_owner) {
                (false, _) => "always the caller",
                (true, true) => "required: an owner, a name, or the client's default",
                (true, false) => "the client's default, or any",
            }
            .to_owned()
        }),
        ("scopes (`requires_scopes`)", |c| {
            let base = match (c.scopes, c.max_scopes) {
                (false, _) => return "no".to_owned(),
                (true, Some(n)) => format!("at most {n}"),
                (true, None) => "yes".to_owned(),
            };
            if c.requires_scopes {
                format!("{base}; at least one: given, or the client's default")
            } else {
                base
            }
        }),
        ("`Expiry::ProviderDefault`", |c| match c.default_lifetime {
            DefaultLifetime::Refused => "refused (the default never expires)".to_owned(),
            DefaultLifetime::Finite(Some(d)) => format!("about {}", days(d)),
            _ => "the provider's (length not documented)".to_owned(),
        }),
        ("longest lifetime", |c| {
            c.max_lifetime.map_or_else(|| "-".to_owned(), days)
        }),
        ("never-expiring tokens", |c| yes(c.never_expires)),
        ("expiry reported", |c| reported(c.expiry)),
        ("expiry kept (`expiry_resolution`)", |c| {
            match c.expiry_resolution.as_secs() {
                0 => "as asked",
                86_400 => "as a date: up to a day later than asked",
                _ => "rounded up",
            }
            .to_owned()
        }),
        ("last use reported", |c| reported(c.last_use)),
        ("get by id", |c| {
            match c.get {
                GetSupport::Native => "native",
                _ => "emulated by listing",
            }
            .to_owned()
        }),
        ("rename", |c| yes(c.rename)),
        ("deactivate / activate", |c| yes(c.set_active)),
        ("a revoked token (`revoked_readable`)", |c| {
            if c.revoked_readable {
                "still readable, inactive"
            } else {
                "gone (`NotFound`)"
            }
            .to_owned()
        }),
        ("list filters", |c| {
            let f = c.list_filters;
            let names: Vec<&str> = [
                (f.owner, "owner"),
                (f.last_used_before, "last used before"),
                (f.never_used, "never used"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        }),
        ("paged listing", |c| yes(c.pagination)),
        ("rotation (`native_rotate`)", |c| {
            if c.native_rotate {
                "one call: the server revokes the old token at once"
            } else {
                "a new token, then the old one revoked by `finish`"
            }
            .to_owned()
        }),
    ]
}

/// The markdown table, markers included.
pub fn render(columns: &[(&'static str, Capabilities)]) -> String {
    let mut out = format!("{BEGIN}\n|");
    for (title, _) in columns {
        out.push_str(&format!(" | {title}"));
    }
    out.push_str(" |\n| ---");
    out.push_str(&" | ---".repeat(columns.len()));
    out.push_str(" |\n");
    for (label, cell) in rows() {
        out.push_str(&format!("| {label}"));
        for (_, caps) in columns {
            out.push_str(&format!(" | {}", cell(caps)));
        }
        out.push_str(" |\n");
    }
    out.push_str(END);
    out
}

/// The table as it stands in `readme`, markers included.
pub fn current(readme: &str) -> Option<&str> {
    let start = readme.find(BEGIN)?;
    let end = readme[start..].find(END)? + start + END.len();
    Some(&readme[start..end])
}
