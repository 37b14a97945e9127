//! Compact forms of what the simulator keeps for every token, so that a million tokens fit
//! in memory (pats-bench section 6 holds it to 400 bytes a token): ids packed in 21 bytes,
//! bearer tokens kept only as a 128-bit digest, P-256 public keys as their 64 coordinate
//! bytes, dates as milliseconds. Each has the text form the API and state files use.

use super::*;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

/// A Dfns id, `xx-xxxxx-xxxxx-xxxxxxxxxxxxxxxx` (a two-letter kind, `us`, `to`, `cr`, …,
/// then 26 lowercase letters and digits in groups of 5, 5 and 16), as [`new_id`] makes
/// them: 28 symbols of 6 bits packed in 21 bytes. Ordered by the packed bytes, not the text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Id([u8; 21]);

/// The length of an id's text.
const ID_LEN: usize = 31;
/// Where an id's text has its dashes.
const DASHES: [usize; 3] = [2, 8, 14];
/// The letters and digits of an id.
const SYMBOLS: usize = ID_LEN - DASHES.len();

impl Id {
    /// The id `text` is, or `None` when it does not have the shape of a Dfns id.
    pub(super) fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != ID_LEN {
            return None;
        }
        let mut codes = [0_u8; SYMBOLS];
        let mut symbols = codes.iter_mut();
        for (i, &b) in bytes.iter().enumerate() {
            if DASHES.contains(&i) {
                if b != b'-' {
                    return None;
                }
                continue;
            }
            let code = match b {
                b'0'..=b'9' if i > 1 => b - b'0',
                b'a'..=b'z' => b - b'a' + 10,
                _ => return None,
            };
            *symbols.next()? = code;
        }
        Some(Self::pack(&codes))
    }

    /// A new random id of kind `kind` (two lowercase letters).
    pub(super) fn random(kind: [u8; 2]) -> Self {
        let mut codes = [0_u8; SYMBOLS];
        for (code, letter) in codes.iter_mut().zip(kind) {
            *code = letter.wrapping_sub(b'a').min(25) + 10;
        }
        for code in &mut codes[2..] {
            *code = fastrand::u8(..36);
        }
        Self::pack(&codes)
    }

    /// Symbol codes (0–35) packed six bits each.
    fn pack(codes: &[u8; SYMBOLS]) -> Self {
        let mut packed = [0_u8; 21];
        for (n, &code) in codes.iter().enumerate() {
            let bit = n * 6;
            let [low, high] = (u16::from(code) << (bit % 8)).to_le_bytes();
            packed[bit / 8] |= low;
            if let Some(next) = packed.get_mut(bit / 8 + 1) {
                *next |= high;
            }
        }
        Self(packed)
    }

    /// The code (0–35) of symbol `n`.
    fn symbol(&self, n: usize) -> u8 {
        let bit = n * 6;
        let low = self.0[bit / 8];
        let high = self.0.get(bit / 8 + 1).copied().unwrap_or(0);
        let both = u16::from_le_bytes([low, high]);
        // Six bits: always below 64.
        ((both >> (bit % 8)) & 0x3f) as u8
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0_u8; ID_LEN];
        let mut symbol = 0;
        for (i, out) in text.iter_mut().enumerate() {
            *out = if DASHES.contains(&i) {
                b'-'
            } else {
                let code = self.symbol(symbol);
                symbol += 1;
                if code < 10 {
                    b'0' + code
                } else {
                    b'a' + code - 10
                }
            };
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "{text:?} is not a Dfns id (xx-xxxxx-xxxxx-xxxxxxxxxxxxxxxx, lowercase letters and digits)"
            ))
        })
    }
}

/// A bearer token as the simulator keeps it: the first 16 bytes of its SHA-256, so neither
/// memory nor the state file holds the token. Written as 32 lowercase hex digits; state
/// files written before keyed bearers by the token itself, and such a key (anything that
/// is not 32 hex digits: the simulator's tokens are JWTs) is read as that token's digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TokenDigest([u8; 16]);

impl TokenDigest {
    /// The digest of `token`.
    pub(super) fn of(token: &str) -> Self {
        let hash = sha2::Sha256::digest(token.as_bytes());
        let mut digest = [0_u8; 16];
        digest.copy_from_slice(&hash[..16]);
        Self(digest)
    }

    /// The digest that 32 lowercase hex digits spell.
    fn from_hex(text: &str) -> Option<Self> {
        let text = text.as_bytes();
        if text.len() != 32 {
            return None;
        }
        let mut digest = [0_u8; 16];
        for (byte, pair) in digest.iter_mut().zip(text.chunks_exact(2)) {
            let nibble = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Some(Self(digest))
    }
}

impl fmt::Display for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Serialize for TokenDigest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TokenDigest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        Ok(Self::from_hex(&text).unwrap_or_else(|| Self::of(&text)))
    }
}

/// Where a PAT is kept: under its user, then its id, so that a user's tokens are one range
/// of the table (a list costs the caller's tokens, not every token) and a request's token
/// is found from its caller and id. Written `<user id>/<token id>` (a journal's row key;
/// state files list tokens, each naming both).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PatKey {
    pub(super) user: Id,
    pub(super) token: Id,
}

impl PatKey {
    /// Every key of `user`'s tokens.
    pub(super) fn of_user(user: Id) -> std::ops::RangeInclusive<Self> {
        Self {
            user,
            token: Id([0; 21]),
        }..=Self {
            user,
            token: Id([u8::MAX; 21]),
        }
    }
}

impl fmt::Display for PatKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.user, self.token)
    }
}

impl Serialize for PatKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PatKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        text.split_once('/')
            .and_then(|(user, token)| {
                Some(Self {
                    user: Id::parse(user)?,
                    token: Id::parse(token)?,
                })
            })
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "{text:?} is not a Dfns token key, <user id>/<token id> (journals of earlier development builds keyed tokens by id alone: stop that build cleanly, which folds its journal into the state file)"
                ))
            })
    }
}

/// A PAT's public key as it was sent: a P-256 key in the PEM form that `p256`, OpenSSL and
/// WebCrypto write (SPKI, 64-column lines, LF, final newline) as its two coordinates, any
/// other key as its text.
pub(super) enum PublicKey {
    /// The `x` and `y` of an uncompressed P-256 point.
    P256(Box<[u8; 64]>),
    /// The text as sent.
    Pem(Box<str>),
}

/// The DER of a P-256 SPKI up to the point's coordinates: the algorithm `id-ecPublicKey`,
/// the curve `prime256v1`, a 66-byte bit string and the uncompressed-point tag `04`.
const P256_SPKI_PREFIX: [u8; 27] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
];

impl PublicKey {
    /// `pem` as it will be kept: compact when rendering it again gives the same text.
    pub(super) fn new(pem: &str) -> Self {
        let body: String = pem
            .trim()
            .trim_start_matches("-----BEGIN PUBLIC KEY-----")
            .trim_end_matches("-----END PUBLIC KEY-----")
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let point = STANDARD
            .decode(body)
            .ok()
            .and_then(|der| der.strip_prefix(&P256_SPKI_PREFIX[..]).map(<[u8]>::to_vec))
            .and_then(|xy| <[u8; 64]>::try_from(xy).ok())
            .map(|xy| Self::P256(Box::new(xy)));
        match point {
            Some(key) if key.pem() == pem => key,
            _ => Self::Pem(pem.into()),
        }
    }

    /// The PEM text.
    pub(super) fn pem(&self) -> Cow<'_, str> {
        match self {
            Self::Pem(text) => Cow::Borrowed(text),
            Self::P256(xy) => {
                let mut der = P256_SPKI_PREFIX.to_vec();
                der.extend_from_slice(&xy[..]);
                let b64 = STANDARD.encode(der);
                let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
                for line in b64.as_bytes().chunks(64) {
                    pem.push_str(std::str::from_utf8(line).unwrap_or_default());
                    pem.push('\n');
                }
                pem.push_str("-----END PUBLIC KEY-----\n");
                Cow::Owned(pem)
            }
        }
    }
}

/// Now, in milliseconds since the epoch (Dfns writes dates to the millisecond).
pub(super) fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// `ms` as Dfns writes dates: RFC 3339 in UTC, `2023-04-14T20:41:28.715Z`.
pub(super) fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// An RFC 3339 date in milliseconds since the epoch (finer digits are dropped).
pub(super) fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_pack_and_print_back() {
        for prefix in ["us", "to", "cr", "as", "or", "ap"] {
            for _ in 0..200 {
                let text = new_id(prefix);
                let id = Id::parse(&text).unwrap();
                assert_eq!(id.to_string(), text);
                assert_eq!(format!("{id:?}"), text);
            }
        }
        let edges = [
            "zz-zzzzz-zzzzz-zzzzzzzzzzzzzzzz",
            "aa-00000-00000-0000000000000000",
        ];
        for text in edges {
            assert_eq!(Id::parse(text).unwrap().to_string(), text);
        }
        assert_ne!(Id::parse(edges[0]), Id::parse(edges[1]));
        assert_ne!(
            Id::parse("to-00000-00000-0000000000000001"),
            Id::parse("to-00000-00000-0000000000000000")
        );
    }

    #[test]
    fn a_users_tokens_are_one_range_and_keys_round_trip() {
        let id = |t: &str| Id::parse(t).unwrap();
        let users = [
            id("aa-00000-00000-0000000000000000"),
            id("us-abcde-fghij-klmnopqrstuvwxyz"),
            id("zz-zzzzz-zzzzz-zzzzzzzzzzzzzzzz"),
        ];
        let tokens = [
            id("aa-00000-00000-0000000000000000"),
            id("to-00000-00000-0000000000000001"),
            id("zz-zzzzz-zzzzz-zzzzzzzzzzzzzzzz"),
        ];
        let keys: std::collections::BTreeSet<PatKey> = users
            .iter()
            .flat_map(|&user| tokens.iter().map(move |&token| PatKey { user, token }))
            .collect();
        for user in users {
            let mut ranged: Vec<Id> = keys.range(PatKey::of_user(user)).map(|k| k.token).collect();
            ranged.sort_by_key(ToString::to_string);
            assert_eq!(ranged, tokens, "exactly the user's tokens, every one");
        }
        let key = PatKey {
            user: users[1],
            token: tokens[1],
        };
        let text = serde_json::to_value(key).unwrap();
        assert_eq!(
            text,
            json!("us-abcde-fghij-klmnopqrstuvwxyz/to-00000-00000-0000000000000001")
        );
        assert!(serde_json::from_value::<PatKey>(text).unwrap() == key);
        for bad in [
            "to-00000-00000-0000000000000001",
            "us-abcde-fghij-klmnopqrstuvwxyz/",
            "/to-00000-00000-0000000000000001",
            "us-abcde-fghij-klmnopqrstuvwxyz/to-1",
        ] {
            let e = serde_json::from_value::<PatKey>(json!(bad)).err().unwrap();
            assert!(e.to_string().contains("<user id>/<token id>"), "{e}");
        }
    }

    #[test]
    fn random_ids_have_their_kind_and_vary() {
        let a = Id::random(*b"to");
        let b = Id::random(*b"to");
        assert_ne!(a, b);
        for id in [a, b] {
            let text = id.to_string();
            assert!(text.starts_with("to-"), "{text}");
            assert_eq!(Id::parse(&text), Some(id));
        }
        assert!(Id::random(*b"us").to_string().starts_with("us-"));
        assert!(Id::random(*b"az").to_string().starts_with("az-"));
    }

    #[test]
    fn only_the_shape_of_a_dfns_id_parses() {
        for bad in [
            "",
            "to-abcde-fghij-klmnopqrstuvwxy",   // one short
            "to-abcde-fghij-klmnopqrstuvwxyz0", // one long
            "to_abcde-fghij-klmnopqrstuvwxyz",  // no dash
            "to-abcdefghij--klmnopqrstuvwxyz",  // dash moved
            "To-abcde-fghij-klmnopqrstuvwxyz",  // uppercase
            "t0-abcde-fghij-klmnopqrstuvwxyz",  // digit in the kind
            "to-abcde-fghij-klmnopqrstuvwxy!",  // punctuation
            "to-abcde-fghij-klmnopqrstuvwxé",   // not ASCII
        ] {
            assert_eq!(Id::parse(bad), None, "{bad:?}");
        }
        let refused = serde_json::from_value::<Id>(json!("us-1")).unwrap_err();
        assert!(refused.to_string().contains("\"us-1\" is not a Dfns id"));
    }

    #[test]
    fn digests_are_written_in_hex_and_old_raw_keys_are_digested() {
        let digest = TokenDigest::of("eyJ.token.sig");
        let hex = digest.to_string();
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        let sha = sha2::Sha256::digest(b"eyJ.token.sig");
        let expected: String = sha[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert!(TokenDigest::from_hex(&hex) == Some(digest));
        let read: TokenDigest = serde_json::from_value(json!(hex)).unwrap();
        assert!(read == digest);
        let old: TokenDigest = serde_json::from_value(json!("eyJ.token.sig")).unwrap();
        assert!(old == digest);
        assert!(TokenDigest::from_hex(&hex.to_uppercase()).is_none());
        assert!(TokenDigest::from_hex(&hex[..31]).is_none());
        assert!(TokenDigest::from_hex(&format!("{}g", &hex[..31])).is_none());
    }

    #[test]
    fn p256_keys_are_kept_as_coordinates_and_printed_as_sent() {
        let pem = p256::SecretKey::random(&mut OsRng)
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let key = PublicKey::new(&pem);
        assert!(matches!(key, PublicKey::P256(_)));
        assert_eq!(key.pem(), pem);
        // Any other text is kept as it came.
        let crlf = pem.replace('\n', "\r\n");
        let trimmed = pem.trim().to_owned();
        let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        for text in [crlf.as_str(), trimmed.as_str(), ed25519, "not a key"] {
            let key = PublicKey::new(text);
            assert!(matches!(key, PublicKey::Pem(_)), "{text:?}");
            assert_eq!(key.pem(), text);
        }
    }

    #[test]
    fn dates_keep_their_milliseconds() {
        for text in [
            "2023-04-14T20:41:28.715Z",
            "2023-04-14T20:41:28.7Z",
            "2023-04-14T20:41:28Z",
        ] {
            let ms = parse_rfc3339_ms(text).unwrap();
            assert_eq!(rfc3339_ms(ms), text);
        }
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59.9995Z"), Some(-1));
        assert_eq!(
            rfc3339_ms(parse_rfc3339_ms("2023-04-14T22:41:28.715+02:00").unwrap()),
            "2023-04-14T20:41:28.715Z"
        );
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
        let clock = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
        };
        let before = clock(std::time::SystemTime::now());
        let now = now_ms();
        assert!(
            (before..=before + 60_000).contains(&now),
            "{now} ms vs {before}"
        );
        let text = rfc3339_ms(now);
        assert_eq!(parse_rfc3339_ms(&text), Some(now));
    }
}
