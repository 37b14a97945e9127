//! The simulator's state: organizations, users, PATs and their secrets, access tokens;
//! and the time helpers every API shares.

use super::proto::{Fail, NOT_MACHINE, USER_ID_MISSING, USER_NOT_FOUND};
use crate::table::{Row, Table, as_rows};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A PAT as the simulator stores it (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct StoredPat {
    /// The token id.
    pub id: String,
    /// Its machine user.
    pub user_id: String,
    /// The user's organization.
    pub org_id: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it expires (`9999-12-31T23:59:59Z` for never).
    #[serde(with = "time::serde::rfc3339")]
    pub expiration: OffsetDateTime,
    /// The event sequence of its creation.
    pub sequence: u64,
}

impl Row for StoredPat {
    type Key = String;
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// An issued access token: its user and when it expires (a state file writes it as
/// `[user id, expiry (RFC 3339)]`).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Issued(
    pub(super) String,
    #[serde(with = "time::serde::rfc3339")] pub(super) OffsetDateTime,
);

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct User {
    pub(super) org: String,
    pub(super) machine: bool,
    /// The username (unique in the organization; defaults to the user id).
    pub(super) username: String,
    pub(super) keys: Vec<(String, String)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct State {
    /// Where it is served now (not kept: a restart may serve elsewhere).
    #[serde(skip)]
    pub(super) base_url: String,
    pub(super) users: Table<String, User>,
    pub(super) orgs: Vec<String>,
    /// By id: ids are numbers of one length, so their order is creation order.
    #[serde(with = "as_rows")]
    pub(super) pats: Table<String, StoredPat>,
    pub(super) pat_secrets: Table<String, String>,
    pub(super) access_tokens: Table<String, Issued>,
    pub(super) next_id: u64,
    pub(super) sequence: u64,
    pub(super) access_token_lifetime: u64,
    pub(super) exchanges: usize,
    pub(super) int64_as_numbers: bool,
    #[serde(skip)]
    pub(super) last_assertion: Option<Value>,
    pub(super) restricted: Vec<String>,
    /// client id → (user id, client secret).
    pub(super) client_secrets: Table<String, (String, String)>,
    /// How the last successful client-credentials login authenticated: `basic` or `post`.
    #[serde(skip)]
    pub(super) last_client_auth: Option<&'static str>,
    /// The small fields as the journal last wrote them.
    #[serde(skip)]
    pub(super) journaled: Value,
    /// Whether the whole state was replaced since the journal last asked.
    #[serde(skip)]
    pub(super) replaced: bool,
}

journaled!(State {
    scalars: [
        orgs,
        next_id,
        sequence,
        access_token_lifetime,
        exchanges,
        int64_as_numbers,
        restricted
    ],
    tables: [users, pats, pat_secrets, access_tokens, client_secrets],
});

impl State {
    pub(super) fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    pub(super) fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    pub(super) fn int64(&self, n: u64) -> Value {
        if self.int64_as_numbers {
            json!(n)
        } else {
            json!(n.to_string())
        }
    }

    pub(super) fn add_pat(
        &mut self,
        user_id: &str,
        org_id: &str,
        expiration: OffsetDateTime,
    ) -> (StoredPat, String) {
        let id = self.new_id();
        let secret = format!("sim_pat_{}", fastrand_token(40));
        let pat = StoredPat {
            id: id.clone(),
            user_id: user_id.to_owned(),
            org_id: org_id.to_owned(),
            created: now(),
            expiration,
            sequence: self.next_sequence(),
        };
        self.pats.insert(id.clone(), pat.clone());
        self.pat_secrets.insert(id, secret.clone());
        (pat, secret)
    }
}

pub(super) fn fastrand_token(len: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(len)
        .collect()
}

pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(super) fn never() -> OffsetDateTime {
    time::macros::datetime!(9999-12-31 23:59:59 UTC)
}

pub(super) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub(super) fn parse_ts(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// The machine user `user_id` in `org`, or the error the service gives.
pub(super) fn machine_user(state: &State, org: &str, user_id: &str) -> Result<(), Fail> {
    if user_id.is_empty() {
        return Err(USER_ID_MISSING);
    }
    let user = state.users.get(user_id).ok_or(USER_NOT_FOUND)?;
    if user.org != org {
        return Err(USER_NOT_FOUND);
    }
    if !user.machine {
        return Err(NOT_MACHINE);
    }
    Ok(())
}
