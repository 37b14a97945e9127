//! The audit checks: which run on a provider, and what they find in a token. Shared by
//! `pats audit` and `pats audit --all`, which both look at one page of tokens at a time and
//! keep only the findings.

use crate::error::CliError;
use crate::output::{self, TokenJson, out, outln};
use crate::span::{Span, human};
use pats::{Capabilities, Expiration, TokenInfo};
use serde::Serialize;
use time::OffsetDateTime;

/// One audit check and whether it ran.
#[derive(Debug, Clone, Serialize)]
pub struct CheckJson {
    /// `expiring`, `unused` or `never_expiring`.
    pub check: &'static str,
    /// Its threshold (`14d`), if it has one.
    pub threshold: Option<String>,
    /// Whether the provider reports what the check needs.
    pub available: bool,
    /// Why it did not run.
    pub note: Option<String>,
}

/// A token a check found.
#[derive(Debug, Serialize)]
pub struct FindingJson {
    /// The check.
    pub check: &'static str,
    /// What it found, for people (`expires in 4d 23h`).
    pub reason: String,
    /// Whether the token has already expired (an `expiring` finding).
    #[serde(skip)]
    pub expired: bool,
    /// The token.
    pub token: TokenJson,
}

/// `pats audit --json`.
#[derive(Serialize)]
pub struct AuditJson {
    /// The provider.
    pub provider: &'static str,
    /// Tokens looked at.
    pub tokens_checked: usize,
    /// The checks.
    pub checks: Vec<CheckJson>,
    /// What they found.
    pub findings: Vec<FindingJson>,
}

const DEFAULT_EXPIRING: &str = "14d";
const DEFAULT_UNUSED: &str = "90d";

/// The checks asked for on the command line (all three with their defaults when none is).
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    expiring_within: Option<Span>,
    unused_for: Option<Span>,
    never_expiring: bool,
    all: bool,
}

/// The checks as they run on one provider, at one time.
#[derive(Debug)]
pub struct Plan {
    /// The checks and whether each runs.
    pub checks: Vec<CheckJson>,
    provider: &'static str,
    now: OffsetDateTime,
    /// `Some(None)`: expiring at any time (the horizon overflows).
    expiring: Option<Option<OffsetDateTime>>,
    unused: Option<Option<OffsetDateTime>>,
    never: bool,
}

impl Checks {
    /// The checks of `pats audit [--expiring-within D] [--unused-for D] [--never-expiring]`.
    pub fn new(
        expiring_within: Option<Span>,
        unused_for: Option<Span>,
        never_expiring: bool,
    ) -> Result<Self, CliError> {
        let all = expiring_within.is_none() && unused_for.is_none() && !never_expiring;
        let parse = |s: &str| s.parse::<Span>().map_err(CliError::usage);
        Ok(Self {
            expiring_within: match expiring_within {
                Some(s) => Some(s),
                None if all => Some(parse(DEFAULT_EXPIRING)?),
                None => None,
            },
            unused_for: match unused_for {
                Some(s) => Some(s),
                None if all => Some(parse(DEFAULT_UNUSED)?),
                None => None,
            },
            never_expiring: never_expiring || all,
            all,
        })
    }

    /// The checks on `provider`. With `strict`, a check asked for explicitly that the
    /// provider cannot support is a usage error; otherwise (the defaults, or `--all` over
    /// several providers) it is listed as not available.
    pub fn plan(
        &self,
        provider: &'static str,
        caps: &Capabilities,
        strict: bool,
    ) -> Result<Plan, CliError> {
        let strict = strict && !self.all;
        let tracks_last_use = output::tracks_last_use(caps);
        let unused_note = format!("{provider} does not report when a token was last used");
        if self.unused_for.is_some() && !tracks_last_use && strict {
            return Err(CliError::usage(format!(
                "--unused-for cannot be checked: {unused_note}; drop --unused-for for this \
                 provider"
            )));
        }
        let reports_expiry = caps.reports_expiry();
        let expiry_note = format!("{provider} does not report when a token expires");
        if self.expiring_within.is_some() && !reports_expiry && strict {
            return Err(CliError::usage(format!(
                "--expiring-within cannot be checked: {expiry_note}; drop --expiring-within \
                 for this provider"
            )));
        }
        // Where expiry is not reported, a token never expires only if the provider has such
        // tokens at all: without them the check still holds (nothing can be found).
        let sees_never_expiring = reports_expiry || !caps.never_expires;
        if self.never_expiring && !sees_never_expiring && strict {
            return Err(CliError::usage(format!(
                "--never-expiring cannot be checked: {expiry_note}; drop --never-expiring for \
                 this provider"
            )));
        }
        let now = OffsetDateTime::now_utc();
        let mut plan = Plan {
            checks: Vec::new(),
            provider,
            now,
            expiring: None,
            unused: None,
            never: false,
        };
        if let Some(span) = self.expiring_within {
            plan.checks.push(CheckJson {
                check: "expiring",
                threshold: Some(span.to_string()),
                available: reports_expiry,
                note: (!reports_expiry).then(|| format!("not available: {expiry_note}")),
            });
            plan.expiring = Some(
                time::Duration::try_from(span.duration())
                    .ok()
                    .and_then(|d| now.checked_add(d)),
            );
        }
        if let Some(span) = self.unused_for {
            plan.checks.push(CheckJson {
                check: "unused",
                threshold: Some(span.to_string()),
                available: tracks_last_use,
                note: (!tracks_last_use).then(|| format!("not available: {unused_note}")),
            });
            if tracks_last_use {
                plan.unused = Some(
                    time::Duration::try_from(span.duration())
                        .ok()
                        .and_then(|d| now.checked_sub(d)),
                );
            }
        }
        if self.never_expiring {
            plan.checks.push(CheckJson {
                check: "never_expiring",
                threshold: None,
                available: sees_never_expiring,
                note: (!sees_never_expiring).then(|| format!("not available: {expiry_note}")),
            });
            plan.never = true;
        }
        Ok(plan)
    }
}

fn unsigned(d: time::Duration) -> std::time::Duration {
    std::time::Duration::try_from(d).unwrap_or_default()
}

impl Plan {
    /// Adds what the checks find in `t` to `findings`, in check order.
    pub fn evaluate(&self, t: &TokenInfo, findings: &mut Vec<FindingJson>) {
        let now = self.now;
        let mut found = |check, reason, expired| {
            findings.push(FindingJson {
                check,
                reason,
                expired,
                token: TokenJson::new(self.provider, t),
            });
        };
        if let (Some(horizon), Expiration::At(at)) = (self.expiring, t.expires)
            && horizon.is_none_or(|h| at <= h)
        {
            if at <= now {
                let reason = format!("expired {} ago", human(unsigned(now - at)));
                found("expiring", reason, true);
            } else {
                let reason = format!("expires in {}", human(unsigned(at - now)));
                found("expiring", reason, false);
            }
        }
        if let Some(cutoff) = self.unused {
            let reason = match (t.last_used, t.created) {
                (Some(used), _) if cutoff.is_none_or(|c| used < c) => {
                    Some(format!("last used {} ago", human(unsigned(now - used))))
                }
                (None, Some(created)) if cutoff.is_none_or(|c| created < c) => Some(format!(
                    "never used, created {} ago",
                    human(unsigned(now - created))
                )),
                (None, None) => Some("never used (creation time unknown)".to_owned()),
                _ => None,
            };
            if let Some(reason) = reason {
                found("unused", reason, false);
            }
        }
        if self.never && t.expires == Expiration::Never {
            found("never_expiring", "never expires".into(), false);
        }
    }
}

/// Orders findings as the single-provider audit always printed them: by check, then as
/// listed.
pub fn sort_findings(findings: &mut [FindingJson]) {
    let rank = |c: &str| match c {
        "expiring" => 0,
        "unused" => 1,
        _ => 2,
    };
    findings.sort_by_key(|f| rank(f.check));
}

/// The names of the checks that ran, with thresholds (`expiring (14d)`).
pub fn ran(checks: &[CheckJson]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.available)
        .map(|c| match &c.threshold {
            Some(t) => format!("{} ({t})", c.check),
            None => c.check.to_owned(),
        })
        .collect()
}

/// Prints a single-provider audit for people.
pub fn print_audit(report: &AuditJson) {
    // Only the checks that could run are listed as audited; the others say why not.
    let checks = ran(&report.checks);
    if checks.is_empty() {
        outln!(
            "Audited {} token(s) on {}: no check could run.",
            report.tokens_checked,
            report.provider
        );
    } else {
        outln!(
            "Audited {} token(s) on {}: {}.",
            report.tokens_checked,
            report.provider,
            checks.join(", ")
        );
    }
    for c in &report.checks {
        if let Some(note) = &c.note {
            outln!("Skipped {}: {note}.", c.check);
        }
    }
    if report.findings.is_empty() {
        if checks.is_empty() {
            outln!("Nothing could be checked.");
        } else if checks.len() < report.checks.len() {
            outln!("Nothing found by the checks that ran.");
        } else {
            outln!("Nothing found.");
        }
        return;
    }
    let mut t = output::Table::new(&["CHECK", "ID", "NAME", "FINDING"]);
    for f in &report.findings {
        t.row(vec![
            f.check.to_owned(),
            f.token.id.clone(),
            f.token.name.clone().unwrap_or_else(|| "-".into()),
            f.reason.clone(),
        ]);
    }
    out!("{}", t.render());
    outln!("{} finding(s).", report.findings.len());
}
