//! The simulator's state: organizations, users, PATs and their secrets, access tokens;
//! and the time helpers every API shares.

use super::proto::{Fail, NOT_MACHINE, USER_ID_MISSING, USER_NOT_FOUND};
use crate::table::{Row, Table, as_rows};
use serde_json::{Value, json};
use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap};
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
    type Key = u64;
    fn key(&self) -> Result<u64, String> {
        token_key(&self.id).ok_or_else(|| {
            "a ZITADEL token id must be a decimal number, as ZITADEL's are".to_owned()
        })
    }
}

/// The table key of token id `text`: its number, when it is written as ZITADEL writes ids
/// (decimal digits, no leading zero).
pub(super) fn token_key(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text.len() == 1 || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// What the simulator finds tokens by, besides their id; rebuilt from the tables when
/// first needed after they were replaced, and kept up to date by [`State::add_pat`] and
/// [`State::remove_pat`].
#[derive(Default)]
pub(super) struct Index {
    /// (organization, user) → the user's token ids, in creation order.
    pub(super) by_owner: HashMap<(String, String), BTreeSet<u64>>,
    /// Secrets that do not name their token (state files written before they did) → id.
    legacy: HashMap<String, u64>,
}

/// A PAT secret names its token: `sim_pat_<id>_<random>`.
fn secret_key(secret: &str) -> Option<u64> {
    let rest = secret.strip_prefix("sim_pat_")?;
    let (id, _) = rest.split_once('_')?;
    token_key(id)
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
    /// By id (a number): their order is creation order.
    #[serde(with = "as_rows")]
    pub(super) pats: Table<u64, StoredPat>,
    pub(super) pat_secrets: Table<u64, Box<str>>,
    /// Lookups by owner and by secret ([`State::index`]).
    #[serde(skip)]
    pub(super) index: OnceCell<Index>,
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
        let key = self.next_id;
        let secret = format!("sim_pat_{id}_{}", fastrand_token(24));
        let pat = StoredPat {
            id,
            user_id: user_id.to_owned(),
            org_id: org_id.to_owned(),
            created: now(),
            expiration,
            sequence: self.next_sequence(),
        };
        self.pats.insert(key, pat.clone());
        self.pat_secrets
            .insert(key, secret.clone().into_boxed_str());
        if let Some(index) = self.index.get_mut() {
            index
                .by_owner
                .entry((org_id.to_owned(), user_id.to_owned()))
                .or_default()
                .insert(key);
        }
        (pat, secret)
    }

    /// Removes token `key` and its secret.
    pub(super) fn remove_pat(&mut self, key: u64) -> Option<StoredPat> {
        let pat = self.pats.remove(&key)?;
        let secret = self.pat_secrets.remove(&key);
        if let Some(index) = self.index.get_mut() {
            let owner = (pat.org_id.clone(), pat.user_id.clone());
            if let Some(ids) = index.by_owner.get_mut(&owner) {
                ids.remove(&key);
                if ids.is_empty() {
                    index.by_owner.remove(&owner);
                }
            }
            if let Some(secret) = secret {
                index.legacy.remove(&*secret);
            }
        }
        Some(pat)
    }

    /// The lookups, built from the tables if they were replaced since.
    pub(super) fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut index = Index::default();
            for (key, pat) in self.pats.iter() {
                index
                    .by_owner
                    .entry((pat.org_id.clone(), pat.user_id.clone()))
                    .or_default()
                    .insert(*key);
            }
            for (key, secret) in self.pat_secrets.iter() {
                if secret_key(secret) != Some(*key) {
                    index.legacy.insert(secret.to_string(), *key);
                }
            }
            index
        })
    }

    /// The token whose secret is `secret`: found through the id the secret names, or the
    /// index of older secrets; never by comparing with every secret.
    pub(super) fn pat_by_secret(&self, secret: &str) -> Option<&StoredPat> {
        let key = match secret_key(secret) {
            Some(key) if self.pat_secrets.get(&key).is_some_and(|s| &**s == secret) => key,
            _ => *self.index().legacy.get(secret)?,
        };
        self.pats.get(&key)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_id_is_read_only_as_zitadel_writes_ids() {
        assert_eq!(
            token_key("200000000000000001"),
            Some(200_000_000_000_000_001)
        );
        assert_eq!(token_key("0"), Some(0));
        for bad in ["", "+200", "0200", "2x", "-1", " 2"] {
            assert_eq!(token_key(bad), None, "{bad:?}");
        }
        assert_eq!(secret_key("sim_pat_200_abc"), Some(200));
        assert_eq!(secret_key("sim_pat_+200_abc"), None);
    }
}
