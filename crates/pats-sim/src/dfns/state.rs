//! The simulator's state: users and their credentials, bearer tokens, PATs, open
//! challenges and user action tokens; ids and timestamps.

use super::*;
use crate::table::{Row, Table, as_rows};

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct User {
    #[serde(with = "spki_keys")]
    pub(super) credentials: Vec<(String, VerifyingKey)>,
    /// WebAuthn (Fido2, passkey) credentials.
    #[serde(with = "spki_keys")]
    pub(super) webauthn: Vec<(String, VerifyingKey)>,
}

/// Credentials in a state file: `[id, SPKI PEM]` pairs.
pub(super) mod spki_keys {
    use p256::ecdsa::VerifyingKey;
    use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _, LineEnding};
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(
        keys: &[(String, VerifyingKey)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(keys.iter().map(|(id, key)| {
            (
                id.as_str(),
                key.to_public_key_pem(LineEnding::LF).unwrap_or_default(),
            )
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, VerifyingKey)>, D::Error> {
        Vec::<(String, String)>::deserialize(d)?
            .into_iter()
            .map(|(id, pem)| {
                VerifyingKey::from_public_key_pem(pem.trim())
                    .map(|key| (id, key))
                    .map_err(|_| D::Error::custom("a credential is not a P-256 SPKI PEM key"))
            })
            .collect()
    }
}

/// Who a request comes from, resolved from its bearer token.
#[derive(Clone, Copy)]
pub(super) enum Principal {
    User(Id),
    Pat { user_id: Id },
}

impl Principal {
    pub(super) fn user_id(&self) -> Id {
        match self {
            Self::User(id) | Self::Pat { user_id: id, .. } => *id,
        }
    }
}

/// What a bearer token is, as kept (by the token's digest): a user's token, or a PAT's
/// access token. Written `{"User": id}` or `{"Pat": id}`; state files written before wrote
/// a PAT as `{"Pat": {"user_id", "token_id"}}`, which is still read.
#[derive(Clone, Copy, serde::Serialize)]
pub(super) enum Bearer {
    User(Id),
    Pat(Id),
}

impl<'de> serde::Deserialize<'de> for Bearer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum PatRef {
            Id(Id),
            Old { token_id: Id },
        }
        #[derive(serde::Deserialize)]
        enum Written {
            User(Id),
            Pat(PatRef),
        }
        Ok(match Written::deserialize(d)? {
            Written::User(id) => Self::User(id),
            Written::Pat(PatRef::Id(id) | PatRef::Old { token_id: id }) => Self::Pat(id),
        })
    }
}

/// A PAT as kept: compact (see [`super::compact`]); its access token is not kept (only its
/// digest, in `bearers`). State files write it as [`WirePat`].
pub(super) struct StoredPat {
    pub(super) token_id: Id,
    pub(super) cred_id: Id,
    pub(super) linked_user_id: Id,
    pub(super) name: Box<str>,
    /// Milliseconds since the epoch.
    pub(super) created_ms: i64,
    pub(super) public_key: PublicKey,
    /// What most tokens do not have.
    pub(super) extras: Option<Box<Extras>>,
    /// Its place in creation order (the order lists answer in).
    pub(super) seq: u64,
    pub(super) is_active: bool,
    pub(super) deleted: bool,
}

/// A PAT's optional fields.
#[derive(Default)]
pub(super) struct Extras {
    pub(super) permission_id: Option<Box<str>>,
    pub(super) assignment_id: Option<Id>,
    pub(super) external_id: Option<Box<str>>,
}

impl Extras {
    /// Boxed, or `None` when no field is set (most tokens).
    pub(super) fn boxed(self) -> Option<Box<Self>> {
        let any = self.permission_id.is_some()
            || self.assignment_id.is_some()
            || self.external_id.is_some();
        any.then(|| Box::new(self))
    }
}

impl StoredPat {
    pub(super) fn permission_id(&self) -> Option<&str> {
        self.extras.as_ref()?.permission_id.as_deref()
    }
    pub(super) fn assignment_id(&self) -> Option<Id> {
        self.extras.as_ref()?.assignment_id
    }
    pub(super) fn external_id(&self) -> Option<&str> {
        self.extras.as_ref()?.external_id.as_deref()
    }
}

/// A PAT in a state file (and the journal).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct WirePat {
    token_id: Id,
    cred_id: Id,
    name: String,
    is_active: bool,
    date_created: String,
    linked_user_id: Id,
    public_key: String,
    permission_id: Option<String>,
    assignment_id: Option<Id>,
    external_id: Option<String>,
    /// The access token, in state files written before only its digest was kept; read
    /// and dropped.
    #[serde(default, skip_serializing, rename = "access_token")]
    _access_token: Option<serde::de::IgnoredAny>,
    deleted: bool,
    /// State files written before it existed number their tokens in the order they list
    /// them.
    #[serde(default)]
    seq: u64,
}

impl serde::Serialize for StoredPat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WirePat {
            token_id: self.token_id,
            cred_id: self.cred_id,
            name: self.name.to_string(),
            is_active: self.is_active,
            date_created: rfc3339_ms(self.created_ms),
            linked_user_id: self.linked_user_id,
            public_key: self.public_key.pem().into_owned(),
            permission_id: self.permission_id().map(str::to_owned),
            assignment_id: self.assignment_id(),
            external_id: self.external_id().map(str::to_owned),
            _access_token: None,
            deleted: self.deleted,
            seq: self.seq,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for StoredPat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = WirePat::deserialize(d)?;
        let created_ms = parse_rfc3339_ms(&wire.date_created).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "date_created {:?} is not an RFC 3339 date",
                wire.date_created
            ))
        })?;
        let extras = Extras {
            permission_id: wire.permission_id.map(Into::into),
            assignment_id: wire.assignment_id,
            external_id: wire.external_id.map(Into::into),
        };
        Ok(Self {
            token_id: wire.token_id,
            cred_id: wire.cred_id,
            linked_user_id: wire.linked_user_id,
            name: wire.name.into(),
            created_ms,
            public_key: PublicKey::new(&wire.public_key),
            extras: extras.boxed(),
            seq: wire.seq,
            is_active: wire.is_active,
            deleted: wire.deleted,
        })
    }
}

impl StoredPat {
    /// Where it is kept.
    pub(super) fn key(&self) -> PatKey {
        PatKey {
            user: self.linked_user_id,
            token: self.token_id,
        }
    }
}

impl Row for StoredPat {
    type Key = PatKey;
    fn key(&self) -> Result<PatKey, String> {
        Ok(StoredPat::key(self))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Challenge {
    pub(super) user_id: Id,
    pub(super) challenge: String,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) payload: String,
    pub(super) used: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct UserAction {
    pub(super) user_id: Id,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) payload: String,
    pub(super) used: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct State {
    pub(super) org_id: String,
    pub(super) app_id: String,
    pub(super) users: Table<Id, User>,
    /// By the digest of the token.
    pub(super) bearers: Table<TokenDigest, Bearer>,
    /// By user, then id (a list is a range).
    #[serde(with = "as_rows")]
    pub(super) pats: Table<PatKey, StoredPat>,
    pub(super) challenges: Table<String, Challenge>,
    pub(super) user_actions: Table<String, UserAction>,
    /// The `seq` of the next token.
    #[serde(default)]
    pub(super) next_seq: u64,
    /// The small fields as the journal last wrote them.
    #[serde(skip)]
    pub(super) journaled: Value,
    /// Whether the whole state was replaced since the journal last asked.
    #[serde(skip)]
    pub(super) replaced: bool,
}

journaled!(State {
    scalars: [org_id, app_id, next_seq],
    tables: [users, bearers, pats, challenges, user_actions],
});

/// `len` random lowercase letters and digits (ids; not secret).
pub(super) fn id_part(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}-{}-{}", id_part(5), id_part(5), id_part(16))
}

/// `n` bytes from the operating system's random source, base64url without padding.
pub(super) fn random_b64(n: usize) -> String {
    let mut bytes = vec![0_u8; n];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
