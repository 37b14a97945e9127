//! `pats list --all` and `pats audit --all`: every profile, concurrently, one report.
//!
//! - At most `--concurrency` profiles are in flight, and at most `--per-provider` of one
//!   provider (a provider's rate limits are per tenant or per account; the cap keeps one
//!   run from bursting at one provider, and each client still waits out a 429 as its
//!   `Retry-After` says, with its own retry policy).
//! - Pages are streamed: a profile holds one page of tokens at a time. `audit` keeps the
//!   findings, not the tokens; `list` prints each page as it arrives (its table has fixed
//!   column widths for that reason; its JSON is one document written as it goes).
//! - A profile that fails (bad configuration, bad credentials, unreachable) is reported
//!   with its error; the others complete. Exit code: 1 when any profile failed (the run is
//!   incomplete, whatever the others found), else 3 when the audit found something,
//!   else 0.

use crate::audit::{self, CheckJson, Checks, FindingJson};
use crate::cli::Format;
use crate::connect::connect_target_with;
use crate::error::{CliError, Exit, one_line};
use crate::output::{TokenJson, out, outln, printable};
use crate::profiles::Target;
use pats::{ClientOptions, ListQuery, PersonalAccessTokens, TokenInfo};
use serde::Serialize;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use tokio::sync::Semaphore;

/// One profile to run.
pub struct Entry {
    /// The profile's name.
    pub name: String,
    /// Its provider as written (for the per-provider cap and the report).
    pub provider: Option<String>,
    /// What to connect to, or why the profile cannot run.
    pub target: Result<Target, CliError>,
}

/// What to do on each profile.
#[derive(Debug, Clone, Copy)]
pub enum Job {
    /// List every token.
    List,
    /// Audit every token with these checks.
    Audit(Checks),
}

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The report's format.
    pub format: Format,
    /// Profiles in flight at once.
    pub concurrency: usize,
    /// Profiles of one provider in flight at once.
    pub per_provider: usize,
}

/// One profile's outcome, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct ProfileReport {
    /// The profile's name.
    pub profile: String,
    /// Its provider.
    pub provider: Option<String>,
    /// `ok` or `failed`.
    pub status: &'static str,
    /// Why it failed (one line, no secret).
    pub error: Option<String>,
    /// Tokens looked at (listed, for `list`).
    pub tokens: usize,
    /// The audit checks on its provider (empty for `list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<CheckJson>>,
    /// What the audit found (absent for `list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<FindingJson>>,
}

/// Follows the pages of `query`, handing each to `on_page`; the number of tokens. Stops as
/// `list_all` does: at `query.limits.max_pages`, or when a page position repeats.
pub async fn each_page(
    client: &dyn PersonalAccessTokens,
    query: &ListQuery,
    mut on_page: impl FnMut(Vec<TokenInfo>),
) -> Result<usize, pats::Error> {
    let mut query = query.clone();
    let mut seen = HashSet::new();
    let mut pages: u32 = 0;
    let mut total = 0;
    loop {
        if pages >= query.limits.max_pages {
            return Err(pats::Error::limit_exceeded(
                client.provider(),
                "ListLimits::max_pages",
                u64::from(query.limits.max_pages),
                format!("the listing has more than {} pages", query.limits.max_pages),
            ));
        }
        let page = client.list(&query).await?;
        pages += 1;
        total += page.items.len();
        on_page(page.items);
        match page.next_page {
            None => return Ok(total),
            Some(next) => {
                if !seen.insert(next.clone()) {
                    return Err(pats::Error::decode(
                        200,
                        format!(
                            "{}: pagination repeated the position `{}`",
                            client.provider(),
                            next.as_str()
                        ),
                        b"",
                    ));
                }
                query.page = Some(next);
            }
        }
    }
}

/// Fixed widths of the streamed `list --all` table (a longer cell pushes the row on).
const LIST_COLUMNS: [(&str, usize); 8] = [
    ("ID", 32),
    ("NAME", 16),
    ("OWNER", 32),
    ("CREATED", 20),
    ("EXPIRES", 20),
    ("LAST USED", 20),
    ("ACTIVE", 6),
    ("SCOPES", 0),
];

/// Prints `list --all` as pages arrive.
struct ListPrinter {
    format: Format,
    profile_width: usize,
    printed: usize,
}

impl ListPrinter {
    fn start(format: Format, profile_width: usize) -> Self {
        let p = Self {
            format,
            profile_width,
            printed: 0,
        };
        match format {
            Format::Json => outln!("{{\n  \"tokens\": ["),
            _ => {
                let mut cells = vec!["PROFILE".to_owned()];
                cells.extend(LIST_COLUMNS.iter().map(|(t, _)| (*t).to_owned()));
                outln!("{}", p.line(&cells));
            }
        }
        p
    }

    /// One row, each cell [`printable`] and padded to its column's width.
    fn line(&self, cells: &[String]) -> String {
        let mut line = String::new();
        let widths = std::iter::once(self.profile_width).chain(LIST_COLUMNS.iter().map(|c| c.1));
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let cell = printable(cell);
            line.push_str(&cell);
            line.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.chars().count()),
            ));
        }
        line.trim_end().to_owned()
    }

    fn page(&mut self, profile: &str, provider: &'static str, items: &[TokenInfo]) {
        for t in items {
            let token = TokenJson::new(provider, t);
            match self.format {
                Format::Json => {
                    let entry = json!({ "profile": profile, "token": token });
                    let sep = if self.printed == 0 { "" } else { ",\n" };
                    out!("{sep}    {entry}");
                }
                _ => {
                    let mut cells = vec![profile.to_owned()];
                    cells.extend(crate::output::token_cells(&token));
                    outln!("{}", self.line(&cells));
                }
            }
            self.printed += 1;
        }
    }
}

/// Runs `job` over `entries` and prints one report; the exit code (an error after the
/// report when a profile failed).
pub async fn run(entries: Vec<Entry>, job: Job, settings: Settings) -> Result<Exit, CliError> {
    if entries.is_empty() {
        return Err(CliError::usage(
            "no profiles to run: add `[profiles.NAME]` tables to the config file (see `pats \
             --help`), or drop --provider",
        ));
    }
    let profile_width = entries
        .iter()
        .map(|e| printable(&e.name).chars().count())
        .max()
        .unwrap_or(0)
        .max("PROFILE".len());
    let printer = match job {
        Job::List => Some(Rc::new(RefCell::new(ListPrinter::start(
            settings.format,
            profile_width,
        )))),
        Job::Audit(_) => None,
    };
    let options = shared_options()?;
    let global = Rc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut per_provider: BTreeMap<String, Rc<Semaphore>> = BTreeMap::new();
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for entry in entries {
        let cap = per_provider
            .entry(entry.provider.clone().unwrap_or_default())
            .or_insert_with(|| Rc::new(Semaphore::new(settings.per_provider.max(1))))
            .clone();
        let global = global.clone();
        let printer = printer.clone();
        let options = options.clone();
        handles.push(local.spawn_local(async move {
            // The provider's cap first, so that a profile waiting for it holds no global
            // slot another provider's profile could use.
            let _cap = cap.acquire().await;
            let _slot = global.acquire().await;
            one(entry, job, printer, options).await
        }));
    }
    let mut reports = Vec::new();
    local
        .run_until(async {
            for h in handles {
                match h.await {
                    Ok(r) => reports.push(r),
                    Err(e) => reports.push(ProfileReport {
                        profile: "?".into(),
                        provider: None,
                        status: "failed",
                        error: Some(format!("internal error: {e}")),
                        tokens: 0,
                        checks: None,
                        findings: None,
                    }),
                }
            }
        })
        .await;
    reports.sort_by(|a, b| a.profile.cmp(&b.profile));
    match job {
        Job::List => finish_list(&reports, settings.format)?,
        Job::Audit(_) => match settings.format {
            Format::Json => print_json(&audit_json(&reports))?,
            Format::Sarif => print_json(&sarif(&reports))?,
            Format::Table => print_audit_table(&reports),
        },
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.profile.as_str())
        .collect();
    let found: usize = reports
        .iter()
        .filter_map(|r| r.findings.as_ref())
        .map(Vec::len)
        .sum();
    if !failed.is_empty() {
        return Err(CliError::failed(format!(
            "{} of {} profile(s) failed: {}{}",
            failed.len(),
            reports.len(),
            failed.join(", "),
            if found > 0 {
                format!(" (and the others have {found} finding(s))")
            } else {
                String::new()
            }
        )));
    }
    Ok(if found > 0 { Exit::Found } else { Exit::Ok })
}

/// The client options of every profile: the defaults. pats-core shares one
/// `reqwest::Client` per process among clients with equal timeouts in one runtime, so the TLS
/// configuration is loaded once and profiles on the same host share connections. (A
/// `reqwest::Client` built here would also lack a TLS crypto provider in a `pats` built
/// alone, where reqwest has only `rustls-no-provider`, and panic.)
fn shared_options() -> Result<ClientOptions, CliError> {
    Ok(ClientOptions::default())
}

/// One profile: connect, follow the pages.
async fn one(
    entry: Entry,
    job: Job,
    printer: Option<Rc<RefCell<ListPrinter>>>,
    options: ClientOptions,
) -> ProfileReport {
    let mut report = ProfileReport {
        profile: entry.name,
        provider: entry.provider,
        status: "ok",
        error: None,
        tokens: 0,
        checks: None,
        findings: None,
    };
    let result = async {
        let session = connect_target_with(entry.target?, options).await?;
        let client = session.client();
        let provider = client.provider();
        report.provider = Some(provider.to_owned());
        let query = ListQuery::new();
        match job {
            Job::List => {
                let name = report.profile.clone();
                report.tokens = each_page(client, &query, |page| {
                    if let Some(p) = &printer {
                        p.borrow_mut().page(&name, provider, &page);
                    }
                })
                .await?;
            }
            Job::Audit(checks) => {
                let plan = checks.plan(provider, &client.capabilities(), false)?;
                let mut findings = Vec::new();
                report.tokens = each_page(client, &query, |page| {
                    for t in &page {
                        plan.evaluate(t, &mut findings);
                    }
                })
                .await?;
                audit::sort_findings(&mut findings);
                report.checks = Some(plan.checks);
                report.findings = Some(findings);
            }
        }
        Ok::<(), CliError>(())
    }
    .await;
    if let Err(e) = result {
        report.status = "failed";
        report.error = Some(one_line(&e.message));
        report.findings = None;
    }
    report
}

fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}

fn status_table(reports: &[ProfileReport], audit: bool) -> String {
    let mut header = vec!["PROFILE", "PROVIDER", "STATUS", "TOKENS"];
    if audit {
        header.push("FINDINGS");
    }
    header.push("NOTE");
    let mut t = crate::output::Table::new(&header);
    for r in reports {
        let ok = r.error.is_none();
        let mut row = vec![
            r.profile.clone(),
            r.provider.clone().unwrap_or_else(|| "-".into()),
            r.status.to_owned(),
            if ok { r.tokens.to_string() } else { "-".into() },
        ];
        if audit {
            row.push(match &r.findings {
                Some(f) => f.len().to_string(),
                None => "-".into(),
            });
        }
        let note = match &r.error {
            Some(e) => e.clone(),
            None => r
                .checks
                .iter()
                .flatten()
                .filter_map(|c| c.note.as_ref().map(|n| format!("{}: {n}", c.check)))
                .collect::<Vec<_>>()
                .join("; "),
        };
        row.push(note);
        t.row(row);
    }
    t.render()
}

fn finish_list(reports: &[ProfileReport], format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        let profiles = serde_json::to_string_pretty(reports)
            .map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))?;
        let profiles = profiles.replace('\n', "\n  ");
        outln!("\n  ],\n  \"profiles\": {profiles}\n}}");
        return Ok(());
    }
    outln!();
    out!("{}", status_table(reports, false));
    Ok(())
}

/// `audit --all --json`.
fn audit_json(reports: &[ProfileReport]) -> Value {
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let findings: usize = reports
        .iter()
        .filter_map(|r| r.findings.as_ref())
        .map(Vec::len)
        .sum();
    let tokens: usize = reports.iter().map(|r| r.tokens).sum();
    json!({
        "profiles": reports,
        "summary": {
            "profiles": reports.len(),
            "failed": failed,
            "tokens_checked": tokens,
            "findings": findings,
        }
    })
}

fn print_audit_table(reports: &[ProfileReport]) {
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let tokens: usize = reports.iter().map(|r| r.tokens).sum();
    outln!(
        "Audited {} profile(s), {tokens} token(s): {} ok, {failed} failed.",
        reports.len(),
        reports.len() - failed
    );
    out!("{}", status_table(reports, true));
    let mut t = crate::output::Table::new(&["PROFILE", "CHECK", "ID", "NAME", "FINDING"]);
    let mut n: usize = 0;
    for r in reports {
        for f in r.findings.iter().flatten() {
            n += 1;
            t.row(vec![
                r.profile.clone(),
                f.check.to_owned(),
                f.token.id.clone(),
                f.token.name.clone().unwrap_or_else(|| "-".into()),
                f.reason.clone(),
            ]);
        }
    }
    outln!();
    if n == 0 {
        outln!("Nothing found.");
    } else {
        out!("{}", t.render());
        outln!("{n} finding(s).");
    }
}

/// The SARIF rules: id, short description, help, default level.
const RULES: [(&str, &str, &str, &str); 3] = [
    (
        "expiring",
        "Token expires soon or has expired",
        "The token expires within the audit's threshold (or already has). Rotate it before \
         it expires (`pats rotate ID`), or revoke it if it is no longer needed.",
        "warning",
    ),
    (
        "unused",
        "Token not used for a long time",
        "The token was not used within the audit's threshold (or never). Revoke it if \
         nothing needs it (`pats revoke ID`): an unused credential is only a risk.",
        "note",
    ),
    (
        "never_expiring",
        "Token never expires",
        "The token stays valid until it is revoked. Replace it with one that expires \
         (`pats rotate ID --expires-in 90d`).",
        "warning",
    ),
];

/// `audit --all --format sarif`: SARIF 2.1.0, one run, one result per finding; a failed
/// profile is a tool execution notification and makes the invocation unsuccessful.
pub fn sarif(reports: &[ProfileReport]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, short, help, level)| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": short },
                "fullDescription": { "text": help },
                "help": { "text": help },
                "defaultConfiguration": { "level": level },
            })
        })
        .collect();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for r in reports {
        if let Some(error) = &r.error {
            notifications.push(json!({
                "level": "error",
                "message": { "text": format!("profile {}: {error}", r.profile) },
            }));
        }
        for f in r.findings.iter().flatten() {
            let index = RULES
                .iter()
                .position(|(id, ..)| *id == f.check)
                .unwrap_or(0);
            let level = if f.expired { "error" } else { RULES[index].3 };
            let name = f.token.name.as_deref().unwrap_or("-");
            let qualified = format!("{}/{}", r.profile, f.token.id);
            results.push(json!({
                "ruleId": f.check,
                "ruleIndex": index,
                "level": level,
                "message": {
                    "text": format!(
                        "Profile {} ({}): token {} ({name}) {}",
                        r.profile, f.token.provider, f.token.id, f.reason
                    )
                },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": format!("pats-profiles/{}/tokens/{}", r.profile, f.token.id)
                        }
                    },
                    "logicalLocations": [{
                        "name": name,
                        "fullyQualifiedName": qualified,
                        "kind": "resource",
                    }],
                }],
                "partialFingerprints": { "patsToken/v1": format!("{qualified}/{}", f.check) },
                "properties": {
                    "profile": r.profile,
                    "provider": f.token.provider,
                    "token": f.token,
                },
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "pats",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats::{Capabilities, CreateToken, CreatedToken, PageToken, TokenId, TokenPage};
    use std::sync::Mutex;

    /// Answers pages of `sizes` tokens; each page's next position is `next(i)`.
    struct Paged {
        sizes: Vec<usize>,
        next: fn(usize) -> Option<String>,
        asked: Mutex<Vec<Option<String>>>,
    }

    #[async_trait::async_trait]
    impl PersonalAccessTokens for Paged {
        fn provider(&self) -> &'static str {
            "fake"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        async fn create(&self, _: &CreateToken) -> pats::Result<CreatedToken> {
            Err(pats::Error::unsupported("fake", "create"))
        }
        async fn list(&self, query: &ListQuery) -> pats::Result<TokenPage> {
            let mut asked = self.asked.lock().unwrap();
            let at = query.page.as_ref().map(|p| p.as_str().to_owned());
            asked.push(at);
            let i = asked.len() - 1;
            let size = self.sizes.get(i).copied().unwrap_or(1);
            let items = (0..size)
                .map(|n| TokenInfo::new(TokenId::new(format!("t{i}-{n}")).unwrap()))
                .collect();
            Ok(TokenPage::new(items, (self.next)(i).map(PageToken::new)))
        }
        async fn get(&self, _: &TokenId) -> pats::Result<TokenInfo> {
            Err(pats::Error::unsupported("fake", "get"))
        }
        async fn revoke(&self, _: &TokenId) -> pats::Result<()> {
            Err(pats::Error::unsupported("fake", "revoke"))
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn pages_are_handed_over_one_at_a_time_following_positions() {
        let client = Paged {
            sizes: vec![2, 3, 1],
            next: |i| (i < 2).then(|| format!("p{}", i + 1)),
            asked: Mutex::new(Vec::new()),
        };
        let mut seen = Vec::new();
        let total = rt()
            .block_on(each_page(&client, &ListQuery::new(), |page| {
                seen.push(page.len());
            }))
            .unwrap();
        assert_eq!((total, seen), (6, vec![2, 3, 1]));
        assert_eq!(
            *client.asked.lock().unwrap(),
            [None, Some("p1".into()), Some("p2".into())]
        );
    }

    #[test]
    fn a_repeated_position_or_too_many_pages_stop_the_listing() {
        let client = Paged {
            sizes: vec![1; 10],
            next: |_| Some("same".into()),
            asked: Mutex::new(Vec::new()),
        };
        let err = rt()
            .block_on(each_page(&client, &ListQuery::new(), |_| {}))
            .unwrap_err();
        assert!(
            err.to_string().contains("repeated the position `same`"),
            "{err}"
        );
        assert_eq!(client.asked.lock().unwrap().len(), 2);

        let client = Paged {
            sizes: vec![1; 10],
            next: |i| Some(format!("p{i}")),
            asked: Mutex::new(Vec::new()),
        };
        let query = ListQuery::new().limits(pats::ListLimits::new().max_pages(3));
        let err = rt()
            .block_on(each_page(&client, &query, |_| {}))
            .unwrap_err();
        assert_eq!(err.max(), Some(3), "{err}");
        assert_eq!(client.asked.lock().unwrap().len(), 3);
    }

    fn report(
        profile: &str,
        findings: Option<Vec<FindingJson>>,
        error: Option<&str>,
    ) -> ProfileReport {
        ProfileReport {
            profile: profile.into(),
            provider: Some("sailpoint".into()),
            status: if error.is_some() { "failed" } else { "ok" },
            error: error.map(str::to_owned),
            tokens: 1,
            checks: None,
            findings,
        }
    }

    #[test]
    fn sarif_levels_follow_the_finding() {
        let token = |id: &str| {
            let mut t = TokenInfo::new(TokenId::new(id).unwrap());
            t.name = Some("n".into());
            TokenJson::new("sailpoint", &t)
        };
        let finding = |check, expired, id| FindingJson {
            check,
            reason: "r".into(),
            expired,
            token: token(id),
        };
        let log = sarif(&[
            report(
                "a",
                Some(vec![
                    finding("expiring", true, "x1"),
                    finding("expiring", false, "x2"),
                    finding("unused", false, "x3"),
                    finding("never_expiring", false, "x4"),
                ]),
                None,
            ),
            report("b", None, Some("boom")),
        ]);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let levels: Vec<(&str, u64, &str)> = results
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap(),
                    r["ruleIndex"].as_u64().unwrap(),
                    r["level"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            levels,
            [
                ("expiring", 0, "error"),
                ("expiring", 0, "warning"),
                ("unused", 1, "note"),
                ("never_expiring", 2, "warning"),
            ]
        );
        assert_eq!(
            results[2]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "a/x3"
        );
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        assert_eq!(
            invocation["toolExecutionNotifications"][0]["message"]["text"],
            "profile b: boom"
        );
        let summary = audit_json(&[
            report("a", Some(Vec::new()), None),
            report("b", None, Some("x")),
        ]);
        assert_eq!(
            summary["summary"],
            json!({"profiles": 2, "failed": 1, "tokens_checked": 2, "findings": 0})
        );
    }
}
