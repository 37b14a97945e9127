//! The simulator's state: identities, API clients, access tokens and PATs; the time
//! helpers every answer uses.

use super::*;
use crate::table::{Table, as_rows};

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct ApiClient {
    pub(super) secret: String,
    pub(super) identity_id: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct AccessToken {
    pub(super) identity_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(super) expires_at: OffsetDateTime,
    /// Issued to a registered API client for its client credentials: not associated with a
    /// user (SailPoint's `applicationAuth`), unlike a token of a PAT or a static bearer
    /// (`userAuth`). State files written before this field read as user tokens.
    #[serde(default)]
    pub(super) api_client: bool,
}

/// A PAT as the simulator keeps it: typed, about 360 bytes of heap with the lookups (the
/// bench's capacity row). A state file holds it as `{"json": <the token as the API shows it, every
/// version's fields>, "secret": …, "seq": …}` ([`WirePat`]).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "WirePat", into = "WirePat")]
pub(super) struct StoredPat {
    /// 32 hexadecimal digits, as the simulator makes ids.
    pub(super) id: u128,
    /// Its place in creation order (the order lists answer in).
    pub(super) seq: u64,
    pub(super) name: String,
    /// The scopes; empty for the default, every scope (`[ALL_SCOPES]`).
    pub(super) scope: Vec<String>,
    /// Shared by the owner's tokens ([`State::owner`]).
    pub(super) owner: Arc<Owner>,
    pub(super) created: OffsetDateTime,
    pub(super) validity: u32,
    /// `None`: never expires.
    pub(super) expiration: Option<OffsetDateTime>,
    pub(super) last_used: Option<OffsetDateTime>,
    pub(super) managed: bool,
    pub(super) never_expires: bool,
    /// 64 hexadecimal digits, as bytes.
    pub(super) secret: [u8; 32],
}

/// A token's owner: an identity's id and name.
#[derive(PartialEq, Eq)]
pub(super) struct Owner {
    pub(super) id: Box<str>,
    pub(super) name: Box<str>,
}

/// A token id as the API writes it.
pub(super) fn id_text(id: u128) -> String {
    format!("{id:032x}")
}

/// A token id from the API, when it is one the simulator could have made.
pub(super) fn parse_id(text: &str) -> Option<u128> {
    (text.len() == 32 && text.bytes().all(is_lower_hex))
        .then(|| u128::from_str_radix(text, 16).ok())
        .flatten()
}

/// A digit of lowercase hexadecimal, as the simulator writes ids and secrets.
fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn secret_text(secret: &[u8; 32]) -> String {
    secret.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_secret(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(is_lower_hex) {
        return None;
    }
    let mut out = [0_u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

impl StoredPat {
    /// A new token's secret: 64 random hexadecimal digits.
    pub(super) fn new_secret() -> [u8; 32] {
        std::array::from_fn(|_| fastrand::u8(..))
    }

    pub(super) fn secret_matches(&self, given: &str) -> bool {
        parse_secret(given).is_some_and(|s| s == self.secret)
    }

    pub(super) fn secret_text(&self) -> String {
        secret_text(&self.secret)
    }

    /// The token as `version` shows it (without the secret).
    pub(super) fn to_json(&self, version: Version) -> Value {
        serde_json::to_value(Rendered(self, version)).unwrap_or(Value::Null)
    }

    /// Takes what a JSON Patch may change (`name`, `scope`, `expirationDate`,
    /// `userAwareTokenNeverExpires`) from `doc`, which the caller validated.
    pub(super) fn take_patched(&mut self, doc: &Map<String, Value>) {
        if let Some(Value::String(name)) = doc.get("name") {
            self.name.clone_from(name);
        }
        if let Some(Value::Array(scope)) = doc.get("scope") {
            self.scope = scopes(scope);
        }
        self.expiration = doc
            .get("expirationDate")
            .and_then(Value::as_str)
            .and_then(parse_time);
        if let Some(Value::Bool(b)) = doc.get("userAwareTokenNeverExpires") {
            self.never_expires = *b;
        }
    }
}

/// Scope names as stored: the default, every scope, as nothing.
pub(super) fn scopes(items: &[Value]) -> Vec<String> {
    let names: Vec<String> = items
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if names == [ALL_SCOPES] {
        Vec::new()
    } else {
        names
    }
}

impl crate::table::Row for StoredPat {
    type Key = u128;
    fn key(&self) -> Result<u128, String> {
        Ok(self.id)
    }
}

/// A stored token as it is shown: the fields of `version`, in the order `serde_json` sorts
/// them, written straight from the stored token (a list is the emulator's hottest path).
pub(super) struct Rendered<'a>(pub(super) &'a StoredPat, pub(super) Version);

impl serde::Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let Rendered(p, version) = self;
        let time = |t: Option<OffsetDateTime>| t.map(format_time);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("accessTokenValiditySeconds", &p.validity)?;
        map.serialize_entry("created", &format_time(p.created))?;
        map.serialize_entry("expirationDate", &time(p.expiration))?;
        map.serialize_entry("id", &id_text(p.id))?;
        map.serialize_entry("lastUsed", &time(p.last_used))?;
        map.serialize_entry("managed", &p.managed)?;
        map.serialize_entry("name", &p.name)?;
        #[derive(serde::Serialize)]
        struct Owner<'a> {
            id: &'a str,
            name: &'a str,
            #[serde(rename = "type")]
            kind: &'a str,
        }
        map.serialize_entry(
            "owner",
            &Owner {
                id: &p.owner.id,
                name: &p.owner.name,
                kind: "IDENTITY",
            },
        )?;
        if p.scope.is_empty() {
            map.serialize_entry("scope", &[ALL_SCOPES])?;
        } else {
            map.serialize_entry("scope", &p.scope)?;
        }
        if version.never_expires() {
            map.serialize_entry("userAwareTokenNeverExpires", &p.never_expires)?;
        }
        map.end()
    }
}

/// A token in a state file.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct WirePat {
    /// The token as the API describes it (every version's fields), without its secret.
    json: Value,
    secret: String,
    /// Absent in files written before it: they list their tokens in creation order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
}

impl From<StoredPat> for WirePat {
    fn from(p: StoredPat) -> Self {
        WirePat {
            json: p.to_json(Version::V1),
            secret: p.secret_text(),
            seq: Some(p.seq),
        }
    }
}

impl TryFrom<WirePat> for StoredPat {
    type Error = String;

    fn try_from(w: WirePat) -> Result<Self, String> {
        let j = &w.json;
        let text = |field: &str| {
            j.get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("a SailPoint token has no {field}"))
        };
        let time = |field: &str| -> Result<Option<OffsetDateTime>, String> {
            match j.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(t)) => parse_time(t)
                    .map(Some)
                    .ok_or_else(|| format!("a SailPoint token's {field} is not RFC 3339")),
                Some(_) => Err(format!("a SailPoint token's {field} is not a date-time")),
            }
        };
        let id = parse_id(text("id")?).ok_or(
            "a SailPoint token id must be 32 lowercase hexadecimal digits, as the simulator makes them",
        )?;
        let secret = parse_secret(&w.secret).ok_or(
            "a SailPoint token secret must be 64 lowercase hexadecimal digits, as the simulator makes them",
        )?;
        let owner = j.get("owner").ok_or("a SailPoint token has no owner")?;
        let owner_text = |field: &str| {
            owner
                .get(field)
                .and_then(Value::as_str)
                .map(Box::from)
                .ok_or_else(|| format!("a SailPoint token's owner has no {field}"))
        };
        let flag = |field: &str| j.get(field).and_then(Value::as_bool).unwrap_or(false);
        Ok(StoredPat {
            id,
            seq: w.seq.unwrap_or(0),
            name: text("name")?.to_owned(),
            scope: match j.get("scope") {
                Some(Value::Array(items)) => scopes(items),
                _ => Vec::new(),
            },
            owner: Arc::new(Owner {
                id: owner_text("id")?,
                name: owner_text("name").unwrap_or_default(),
            }),
            created: time("created")?.ok_or("a SailPoint token has no created")?,
            validity: j
                .get("accessTokenValiditySeconds")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(43_200),
            expiration: time("expirationDate")?,
            last_used: time("lastUsed")?,
            managed: flag("managed"),
            never_expires: flag("userAwareTokenNeverExpires"),
            secret,
        })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct State {
    pub(super) identities: Table<String, String>,
    pub(super) clients: Table<String, ApiClient>,
    pub(super) access_tokens: Table<String, AccessToken>,
    #[serde(with = "as_rows")]
    pub(super) pats: Table<u128, StoredPat>,
    pub(super) token_lifetime: Duration,
    pub(super) rate_limit: (usize, Duration),
    /// Recent requests per access token (not kept: rate windows restart with the server).
    #[serde(skip)]
    pub(super) windows: HashMap<String, VecDeque<Instant>>,
    /// The `seq` of the next token.
    #[serde(default)]
    pub(super) next_seq: u64,
    /// Lookups of the tokens: built when first needed, dropped when the tokens are
    /// replaced wholesale.
    #[serde(skip)]
    pub(super) index: Option<Index>,
    /// The small fields as the journal last wrote them.
    #[serde(skip)]
    pub(super) journaled: Value,
    /// Whether the whole state was replaced since the journal last asked.
    #[serde(skip)]
    pub(super) replaced: bool,
}

/// The hash of a token's owner and name, for [`State::names`].
fn name_key(owner: &str, name: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::hash::DefaultHasher::new();
    (owner, name).hash(&mut h);
    h.finish()
}

/// What the lookups of the tokens hold.
#[derive(Default)]
pub(super) struct Index {
    /// How many tokens each (owner, name) hash has, so that a create checks a name in
    /// O(1) instead of against every token.
    names: HashMap<u64, u32>,
    /// Each owner's tokens, by owner id, so that a list by owner costs the owner's
    /// tokens, not every token.
    owners: HashMap<Box<str>, OwnerTokens>,
}

/// One owner's tokens.
struct OwnerTokens {
    /// The owner their new tokens share.
    owner: Arc<Owner>,
    /// Their ids, in creation order.
    ids: Vec<u128>,
}

impl Index {
    /// The lookups of `pats`, added in creation order.
    fn build(pats: &Table<u128, StoredPat>) -> Self {
        let mut ordered: Vec<&StoredPat> = pats.values().collect();
        ordered.sort_unstable_by_key(|p| p.seq);
        let mut index = Index {
            names: HashMap::with_capacity(ordered.len()),
            owners: HashMap::new(),
        };
        for p in ordered {
            index.add(&p.owner, p.id, &p.name);
        }
        index
    }

    fn count_name(&mut self, owner: &str, name: &str, up: bool) {
        let key = name_key(owner, name);
        let n = self.names.entry(key).or_insert(0);
        if up {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.names.remove(&key);
            }
        }
    }

    /// Adds a new token, owned by `owner`.
    fn add(&mut self, owner: &Arc<Owner>, id: u128, name: &str) {
        self.count_name(&owner.id, name, true);
        self.owners
            .entry(owner.id.clone())
            .or_insert_with(|| OwnerTokens {
                owner: Arc::clone(owner),
                ids: Vec::new(),
            })
            .ids
            .push(id);
    }

    /// Forgets a removed token. O(its owner's tokens).
    fn remove(&mut self, old: &StoredPat) {
        self.count_name(&old.owner.id, &old.name, false);
        if let Some(tokens) = self.owners.get_mut(&old.owner.id) {
            tokens.ids.retain(|&id| id != old.id);
            if tokens.ids.is_empty() {
                self.owners.remove(&old.owner.id);
            }
        }
    }
}

impl State {
    /// The lookups, built from the tokens (in creation order) when first needed.
    fn index(&mut self) -> &mut Index {
        let pats = &self.pats;
        self.index.get_or_insert_with(|| Index::build(pats))
    }

    /// The owner `id` named `name`, shared with their other tokens when they have the
    /// same name.
    pub(super) fn owner(&mut self, id: &str, name: &str) -> Arc<Owner> {
        match self.index().owners.get(id) {
            Some(tokens) if &*tokens.owner.name == name => Arc::clone(&tokens.owner),
            _ => Arc::new(Owner {
                id: id.into(),
                name: name.into(),
            }),
        }
    }

    /// Makes the tokens of one owner (same id and name) share it, as created tokens do:
    /// for tokens read from a state file, each of which came with its own.
    pub(super) fn share_owners(&mut self) {
        let pats = &self.pats;
        let index = self.index.get_or_insert_with(|| Index::build(pats));
        let unshared: Vec<(u128, Arc<Owner>)> = self
            .pats
            .values()
            .filter_map(|p| {
                let shared = &index.owners.get(&p.owner.id)?.owner;
                (!Arc::ptr_eq(shared, &p.owner) && shared == &p.owner)
                    .then(|| (p.id, Arc::clone(shared)))
            })
            .collect();
        for (id, owner) in unshared {
            if let Some(p) = self.pats.get_mut(&id) {
                p.owner = owner;
            }
        }
    }

    /// The tokens of `owner`, in creation order: O(their tokens).
    pub(super) fn owned_by(&mut self, owner: &str) -> Vec<&StoredPat> {
        let pats = &self.pats;
        let index = self.index.get_or_insert_with(|| Index::build(pats));
        index.owners.get(owner).map_or_else(Vec::new, |tokens| {
            tokens.ids.iter().filter_map(|id| pats.get(id)).collect()
        })
    }

    /// Whether `owner` has another token (not `except`) named `name`: O(1) unless a token
    /// of that owner and name hash exists, then O(the owner's tokens).
    pub(super) fn name_taken(&mut self, owner: &str, name: &str, except: Option<u128>) -> bool {
        if !self.index().names.contains_key(&name_key(owner, name)) {
            return false;
        }
        self.owned_by(owner)
            .iter()
            .any(|p| p.name == name && Some(p.id) != except)
    }

    /// Stores `pat` (a new token, or a new version of one: same owner).
    pub(super) fn put_pat(&mut self, pat: StoredPat) {
        let (owner, id, name) = (Arc::clone(&pat.owner), pat.id, pat.name.clone());
        let old = self.pats.insert(pat.id, pat);
        if let Some(index) = &mut self.index {
            match old {
                Some(old) => {
                    index.count_name(&old.owner.id, &old.name, false);
                    index.count_name(&owner.id, &name, true);
                }
                None => index.add(&owner, id, &name),
            }
        }
    }

    /// Removes token `id`.
    pub(super) fn remove_pat(&mut self, id: u128) -> Option<StoredPat> {
        let old = self.pats.remove(&id)?;
        if let Some(index) = &mut self.index {
            index.remove(&old);
        }
        Some(old)
    }
}

journaled!(State {
    scalars: [token_lifetime, rate_limit, next_seq],
    tables: [identities, clients, access_tokens, pats],
});

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

pub(super) fn hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(super) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(u32::from(t.millisecond()) * 1_000_000)
        .unwrap_or(t)
}

/// Every date-time the simulator answers: UTC, exactly three fractional digits and `Z`,
/// as SailPoint documents them (`2023-02-05T10:59:27.214Z`), whatever precision the client
/// sent.
pub(super) fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

pub(super) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Six calendar months after `t` (day clamped to the month's end).
pub(super) fn six_months_after(t: OffsetDateTime) -> OffsetDateTime {
    let date = t.date();
    let months = i32::from(u8::from(date.month())) - 1 + 6;
    let year = date.year() + months / 12;
    let month = u8::try_from(months % 12 + 1)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .unwrap_or(time::Month::January);
    let day = date.day().min(time::util::days_in_month(month, year));
    time::Date::from_calendar_date(year, month, day)
        .map(|d| t.replace_date(d))
        .unwrap_or_else(|_| t + time::Duration::days(181))
}
