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

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) enum Principal {
    User(String),
    Pat { user_id: String, token_id: String },
}

impl Principal {
    pub(super) fn user_id(&self) -> &str {
        match self {
            Self::User(id) | Self::Pat { user_id: id, .. } => id,
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct StoredPat {
    pub(super) token_id: String,
    pub(super) cred_id: String,
    pub(super) name: String,
    pub(super) is_active: bool,
    pub(super) date_created: String,
    pub(super) linked_user_id: String,
    pub(super) public_key: String,
    pub(super) permission_id: Option<String>,
    pub(super) assignment_id: Option<String>,
    pub(super) external_id: Option<String>,
    pub(super) access_token: String,
    pub(super) deleted: bool,
    /// Its place in creation order (the order lists answer in). State files written before
    /// it existed number their tokens in the order they list them.
    #[serde(default)]
    pub(super) seq: u64,
}

impl Row for StoredPat {
    type Key = String;
    fn key(&self) -> Result<String, String> {
        Ok(self.token_id.clone())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Challenge {
    pub(super) user_id: String,
    pub(super) challenge: String,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) payload: String,
    pub(super) used: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct UserAction {
    pub(super) user_id: String,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) payload: String,
    pub(super) used: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct State {
    pub(super) org_id: String,
    pub(super) app_id: String,
    pub(super) users: Table<String, User>,
    pub(super) bearers: Table<String, Principal>,
    #[serde(with = "as_rows")]
    pub(super) pats: Table<String, StoredPat>,
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

/// Now, in milliseconds, as Dfns writes its dates (`2023-04-14T20:41:28.715Z`).
pub(super) fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}
