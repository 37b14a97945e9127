//! The simulator's state: users, projects, groups and tokens, typed, in [`Table`]s keyed by id
//! (so the emulator journals the rows a request changed, `crate::table`); secrets are kept
//! only as SHA-256 digests, indexed for the bearer lookup.
//!
//! In a state document (the emulator's `"gitlab"` section) users, projects and groups are objects
//! keyed by id, tokens a list in id order; times are RFC 3339, days `YYYY-MM-DD`, digests
//! 64 hexadecimal digits.

use crate::table::{Row, Table, as_rows};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use time::{Date, OffsetDateTime};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct User {
    pub(super) username: String,
    pub(super) admin: bool,
}

/// A project or a group, with its members' roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Namespace {
    /// The full path (`group/project`, `group/subgroup`).
    pub(super) path: String,
    /// User id → access level (10, 15, 20, 30, 40, 50).
    pub(super) members: BTreeMap<u64, u8>,
}

/// Which kind of resource an access token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Kind {
    Project,
    Group,
}

impl Kind {
    /// The word GitLab's messages use (`404 Project Not Found`).
    pub(super) fn title(self) -> &'static str {
        match self {
            Kind::Project => "Project",
            Kind::Group => "Group",
        }
    }
}

/// What a project or group access token belongs to, and its role there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Resource {
    pub(super) kind: Kind,
    pub(super) id: u64,
    pub(super) access_level: u8,
}

/// A personal (or project) access token, without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Token {
    pub(super) id: u64,
    pub(super) user_id: u64,
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub(super) created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(super) last_used_at: Option<OffsetDateTime>,
    #[serde(with = "day")]
    pub(super) expires_at: Option<Date>,
    pub(super) revoked: bool,
    /// The token this one was rotated from (its token family).
    pub(super) previous: Option<u64>,
    /// A project or group access token's resource and role (its user is the token's bot).
    pub(super) resource: Option<Resource>,
    #[serde(with = "hex_digest")]
    pub(super) digest: [u8; 32],
}

impl Row for Token {
    type Key = u64;
    fn key(&self) -> Result<u64, String> {
        Ok(self.id)
    }
}

impl Token {
    /// Neither revoked nor expired (a token stops working on its `expires_at` day).
    pub(super) fn active(&self, today: Date) -> bool {
        !self.revoked && self.expires_at.is_none_or(|d| d > today)
    }

    /// Whether it has `scope`.
    pub(super) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Everything the simulator knows.
#[derive(Serialize, Deserialize)]
pub(super) struct State {
    pub(super) users: Table<u64, User>,
    pub(super) projects: Table<u64, Namespace>,
    pub(super) groups: Table<u64, Namespace>,
    /// By id: a page in id order is a walk of this table.
    #[serde(with = "as_rows")]
    pub(super) tokens: Table<u64, Token>,
    pub(super) next_user: u64,
    pub(super) next_project: u64,
    pub(super) next_group: u64,
    pub(super) next_token: u64,
    /// Whether a new token without `expires_at` gets the maximum lifetime (GitLab's
    /// "require expiration" setting, on by default) or none.
    pub(super) require_expiry: bool,
    /// The longest lifetime, in days (GitLab's default maximum: 365).
    pub(super) max_lifetime_days: i64,
    /// At most this many API requests per window per token.
    pub(super) rate_limit: (usize, Duration),
    /// SHA-256 of a token's value → its id; built from the tokens when first needed, and
    /// dropped when rows are replaced from outside (a state document, a journal line).
    #[serde(skip)]
    pub(super) by_digest: Option<HashMap<[u8; 32], u64>>,
    /// (user id, token id) of every token, so that a user's tokens are one range; built
    /// and dropped like `by_digest`.
    #[serde(skip)]
    pub(super) by_user: Option<BTreeSet<(u64, u64)>>,
    /// Recent requests per token (rate windows; not kept: they restart with the server).
    #[serde(skip)]
    pub(super) windows: HashMap<u64, VecDeque<Instant>>,
    /// The small fields as the journal last wrote them.
    #[serde(skip)]
    pub(super) journaled: serde_json::Value,
    /// Whether the whole state was replaced since the journal last asked.
    #[serde(skip)]
    pub(super) replaced: bool,
}

journaled!(State {
    scalars: [
        next_user,
        next_project,
        next_group,
        next_token,
        require_expiry,
        max_lifetime_days,
        rate_limit
    ],
    tables: [users, projects, groups, tokens],
});

impl Default for State {
    fn default() -> Self {
        Self {
            users: Table::new(),
            projects: Table::new(),
            groups: Table::new(),
            tokens: Table::new(),
            next_user: 1,
            next_project: 1,
            next_group: 1,
            next_token: 1,
            require_expiry: true,
            max_lifetime_days: 365,
            rate_limit: (600, Duration::from_secs(60)),
            by_digest: None,
            by_user: None,
            windows: HashMap::new(),
            journaled: serde_json::Value::Null,
            replaced: false,
        }
    }
}

/// What a new token is made of (its id and digest are the state's to give).
pub(super) struct NewToken {
    pub(super) user_id: u64,
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) scopes: Vec<String>,
    pub(super) expires_at: Option<Date>,
    pub(super) previous: Option<u64>,
    pub(super) resource: Option<Resource>,
}

#[cfg(test)]
impl NewToken {
    /// A token of `user_id` named `name`: scope `api`, no expiry, no predecessor, no
    /// project or group.
    pub(super) fn plain(user_id: u64, name: &str) -> Self {
        Self {
            user_id,
            name: name.to_owned(),
            description: None,
            scopes: vec!["api".into()],
            expires_at: None,
            previous: None,
            resource: None,
        }
    }
}

impl State {
    /// The projects or the groups.
    pub(super) fn namespaces(&self, kind: Kind) -> &Table<u64, Namespace> {
        match kind {
            Kind::Project => &self.projects,
            Kind::Group => &self.groups,
        }
    }

    /// The projects or the groups, to change.
    pub(super) fn namespaces_mut(&mut self, kind: Kind) -> &mut Table<u64, Namespace> {
        match kind {
            Kind::Project => &mut self.projects,
            Kind::Group => &mut self.groups,
        }
    }

    /// Adds a project or group at `path`; answers its id.
    pub(super) fn add_namespace(&mut self, kind: Kind, path: &str) -> u64 {
        let next = match kind {
            Kind::Project => &mut self.next_project,
            Kind::Group => &mut self.next_group,
        };
        let id = *next;
        *next += 1;
        self.namespaces_mut(kind).insert(
            id,
            Namespace {
                path: path.to_owned(),
                members: BTreeMap::new(),
            },
        );
        id
    }

    /// The project or group a path segment names: its id, or its full path (URL-decoded).
    pub(super) fn namespace_id(&self, kind: Kind, segment: &str) -> Option<u64> {
        let namespaces = self.namespaces(kind);
        if let Ok(id) = segment.parse::<u64>() {
            return namespaces.contains_key(&id).then_some(id);
        }
        let path = url::form_urlencoded::parse(format!("p={segment}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
        namespaces
            .iter()
            .find(|(_, p)| p.path == path)
            .map(|(id, _)| *id)
    }

    /// Adds a user; answers its id.
    pub(super) fn add_user(&mut self, username: &str, admin: bool) -> u64 {
        let id = self.next_user;
        self.next_user += 1;
        self.users.insert(
            id,
            User {
                username: username.to_owned(),
                admin,
            },
        );
        id
    }

    /// Stores a new token with a fresh value; answers its id and value.
    pub(super) fn add_token(&mut self, new: NewToken) -> (u64, String) {
        let id = self.next_token;
        self.next_token += 1;
        let value = new_value();
        let digest = digest(&value);
        if let Some(index) = &mut self.by_digest {
            index.insert(digest, id);
        }
        if let Some(index) = &mut self.by_user {
            index.insert((new.user_id, id));
        }
        self.tokens.insert(
            id,
            Token {
                id,
                user_id: new.user_id,
                name: new.name,
                description: new.description,
                scopes: new.scopes,
                created_at: now(),
                last_used_at: None,
                expires_at: new.expires_at,
                revoked: false,
                previous: new.previous,
                resource: new.resource,
                digest,
            },
        );
        (id, value)
    }

    /// The expiry of a token created without `expires_at`: the maximum lifetime when
    /// expiry is required, else none.
    pub(super) fn default_expiry(&self) -> Option<Date> {
        if !self.require_expiry {
            return None;
        }
        today().checked_add(time::Duration::days(self.max_lifetime_days))
    }

    /// The tokens of user `user_id`, in id order: O(their tokens) once the index is built.
    pub(super) fn tokens_of(&mut self, user_id: u64) -> impl Iterator<Item = &Token> {
        let tokens = &self.tokens;
        let index = self
            .by_user
            .get_or_insert_with(|| tokens.values().map(|t| (t.user_id, t.id)).collect());
        index
            .range((user_id, 0)..=(user_id, u64::MAX))
            .filter_map(|(_, id)| tokens.get(id))
    }

    /// The token whose value is `value`: O(1) once the digest index is built.
    pub(super) fn token_by_value(&mut self, value: &str) -> Option<&Token> {
        let tokens = &self.tokens;
        let index = self
            .by_digest
            .get_or_insert_with(|| tokens.values().map(|t| (t.digest, t.id)).collect());
        let id = index.get(&digest(value))?;
        self.tokens.get(id)
    }

    /// Revokes every active token of the family of `id` (its predecessors and successors):
    /// GitLab's answer to the reuse of a revoked token in a rotation.
    pub(super) fn revoke_family(&mut self, id: u64) {
        let mut family = vec![id];
        // Predecessors.
        let mut at = id;
        while let Some(prev) = self.tokens.get(&at).and_then(|t| t.previous) {
            family.push(prev);
            at = prev;
        }
        // Successors, in id order (a successor always has a larger id).
        for (successor, token) in self.tokens.range(id + 1..) {
            if token.previous.is_some_and(|p| family.contains(&p)) {
                family.push(*successor);
            }
        }
        for member in family {
            if let Some(token) = self.tokens.get_mut(&member) {
                token.revoked = true;
            }
        }
    }
}

/// SHA-256 of a token value.
pub(super) fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// A token value as GitLab's look: `glpat-` and 20 characters.
fn new_value() -> String {
    let body: String = (0..20).map(|_| fastrand::alphanumeric()).collect();
    format!("glpat-{body}")
}

/// The state, even after a panic in another request.
pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Now, to the millisecond (as GitLab's answers are).
pub(super) fn now() -> OffsetDateTime {
    to_millis(OffsetDateTime::now_utc())
}

/// `t` without its digits below the millisecond.
fn to_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(u32::from(t.millisecond()) * 1_000_000)
        .unwrap_or(t)
}

/// Today (UTC).
pub(super) fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// `expires_at` as `YYYY-MM-DD` (or null).
mod day {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub(super) fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::super::pats::date_text(*d)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                super::super::pats::parse_date(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("{text:?} is not a YYYY-MM-DD date"))
                })
            })
            .transpose()
    }
}

/// A digest as 64 lowercase hexadecimal digits.
mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom("a token digest is 64 lowercase hexadecimal digits")
        })
    }

    pub(super) fn parse(text: &str) -> Option<[u8; 32]> {
        let lower = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if text.len() != 64 || !text.bytes().all(lower) {
            return None;
        }
        let mut out = [0_u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn token(state: &mut State, user: u64, previous: Option<u64>) -> u64 {
        state
            .add_token(NewToken {
                user_id: user,
                name: "t".into(),
                description: None,
                scopes: vec!["api".into()],
                expires_at: None,
                previous,
                resource: None,
            })
            .0
    }

    #[test]
    fn values_are_found_by_digest_only() {
        let mut state = State::default();
        let user = state.add_user("alice", false);
        let (id, value) = state.add_token(NewToken {
            user_id: user,
            name: "ci".into(),
            description: None,
            scopes: vec!["api".into()],
            expires_at: None,
            previous: None,
            resource: None,
        });
        assert!(value.starts_with("glpat-") && value.len() == 26, "{value}");
        assert_eq!(state.token_by_value(&value).map(|t| t.id), Some(id));
        assert!(state.token_by_value("glpat-other").is_none());
        assert_eq!(state.tokens.get(&id).unwrap().digest, digest(&value));
    }

    #[test]
    fn a_family_is_revoked_whole_and_nothing_else() {
        let mut state = State::default();
        let user = state.add_user("alice", false);
        let first = token(&mut state, user, None);
        let other = token(&mut state, user, None);
        let second = token(&mut state, user, Some(first));
        let third = token(&mut state, user, Some(second));
        state.revoke_family(second);
        for id in [first, second, third] {
            assert!(state.tokens.get(&id).unwrap().revoked, "{id}");
        }
        assert!(!state.tokens.get(&other).unwrap().revoked);
    }

    #[test]
    fn times_are_kept_to_the_millisecond() {
        assert_eq!(
            to_millis(time::macros::datetime!(2026-03-01 12:00:00.123_456_789 UTC)),
            time::macros::datetime!(2026-03-01 12:00:00.123 UTC)
        );
        assert_eq!(now().nanosecond() % 1_000_000, 0);
    }

    #[test]
    fn projects_are_named_by_id_or_encoded_path() {
        let mut state = State::default();
        let id = state.add_namespace(Kind::Project, "group/sub/app");
        let group = state.add_namespace(Kind::Group, "group/sub");
        assert_eq!((id, group), (1, 1), "each kind numbers its own");
        assert_eq!(state.namespace_id(Kind::Project, "1"), Some(id));
        assert_eq!(
            state.namespace_id(Kind::Project, "group%2Fsub%2Fapp"),
            Some(id)
        );
        assert_eq!(state.namespace_id(Kind::Project, "group%2Fsub"), None);
        assert_eq!(state.namespace_id(Kind::Group, "group%2Fsub"), Some(group));
        assert_eq!(state.namespace_id(Kind::Project, "group%2Fother"), None);
        assert_eq!(state.namespace_id(Kind::Project, "2"), None);
        assert_eq!(state.add_namespace(Kind::Group, "other"), 2);
    }

    #[test]
    fn a_token_stops_on_its_expiry_day() {
        let mut state = State::default();
        let user = state.add_user("alice", false);
        let id = token(&mut state, user, None);
        let day = time::macros::date!(2026 - 03 - 01);
        let t = state.tokens.get_mut(&id).unwrap();
        t.expires_at = Some(day);
        assert!(t.active(day.previous_day().unwrap()));
        assert!(!t.active(day));
        t.expires_at = None;
        assert!(t.active(day));
        t.revoked = true;
        assert!(!t.active(day));
    }

    #[test]
    fn a_state_document_round_trips_and_refuses_bad_digests_and_days() {
        let mut state = State::default();
        let user = state.add_user("alice", false);
        let id = token(&mut state, user, None);
        state.tokens.get_mut(&id).unwrap().expires_at = Some(time::macros::date!(2026 - 03 - 01));
        let group = state.add_namespace(Kind::Group, "acme");
        state
            .groups
            .get_mut(&group)
            .unwrap()
            .members
            .insert(user, 50);
        let document = serde_json::to_value(&state).unwrap();
        let token_json = &document["tokens"][0];
        assert_eq!(token_json["expires_at"], "2026-03-01");
        let digest_text = token_json["digest"].as_str().unwrap();
        assert_eq!(digest_text.len(), 64);
        assert_eq!(
            hex_digest::parse(digest_text),
            Some(state.tokens.get(&id).unwrap().digest)
        );
        assert_eq!(
            document["groups"]["1"],
            serde_json::json!({"path": "acme", "members": {"1": 50}})
        );
        let mut back: State = serde_json::from_value(document.clone()).unwrap();
        assert_eq!(back.tokens.get(&id), state.tokens.get(&id));
        assert_eq!(back.groups.get(&group), state.groups.get(&group));
        // The digest index is rebuilt from the rows.
        let (_, value) = back.add_token(NewToken::plain(user, "later"));
        assert!(back.token_by_value(&value).is_some());
        for (field, bad) in [
            ("digest", serde_json::json!("AB".repeat(32))),
            ("digest", serde_json::json!("ab")),
            ("expires_at", serde_json::json!("2026-02-30")),
        ] {
            let mut wrong = document.clone();
            wrong["tokens"][0][field] = bad.clone();
            assert!(
                serde_json::from_value::<State>(wrong).is_err(),
                "{field} {bad}"
            );
        }
        assert_eq!(hex_digest::parse(&"0g".repeat(32)), None);
    }
}
