//! The typed layer over the wire models: what to create, what to update, what came back.

use crate::Pat;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// Where the public key of a new PAT's own key pair comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PatPublicKey {
    /// The client generates a P-256 key pair and returns its private key (PKCS#8 PEM) in
    /// [`CreatedPat::private_key`].
    #[default]
    Generate,
    /// Your own key pair's public key, as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    Pem(String),
}

/// A PAT to create with [`DfnsClient::create_pat`](crate::DfnsClient::create_pat).
///
/// ```
/// use pats_dfns::NewPat;
/// let pat = NewPat::new("ci-deploy").seconds_valid(3600).external_id("deploy-1");
/// assert_eq!(pat.name(), "ci-deploy");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPat {
    pub(crate) name: String,
    pub(crate) public_key: PatPublicKey,
    pub(crate) permission_id: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) days_valid: Option<i64>,
    pub(crate) seconds_valid: Option<i64>,
}

impl NewPat {
    /// A PAT named `name`, with a generated key pair and Dfns's default lifetime.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            public_key: PatPublicKey::Generate,
            permission_id: None,
            external_id: None,
            days_valid: None,
            seconds_valid: None,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Uses your own public key (SPKI PEM) instead of generating a key pair.
    #[must_use]
    pub fn public_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.public_key = PatPublicKey::Pem(pem.into());
        self
    }

    /// Sets where the public key comes from.
    #[must_use]
    pub fn public_key(mut self, key: PatPublicKey) -> Self {
        self.public_key = key;
        self
    }

    /// Assigns a permission (`permissionId`).
    #[must_use]
    pub fn permission_id(mut self, id: impl Into<String>) -> Self {
        self.permission_id = Some(id.into());
        self
    }

    /// Sets a caller-chosen unique id (`externalId`; a duplicate is [`AlreadyExists`]).
    ///
    /// [`AlreadyExists`]: pats_core::ErrorKind::AlreadyExists
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }

    /// Lifetime in days (`daysValid`, > 0).
    #[must_use]
    pub fn days_valid(mut self, days: i64) -> Self {
        self.days_valid = Some(days);
        self
    }

    /// Lifetime in seconds (`secondsValid`, > 0; Dfns prefers it over `daysValid`).
    #[must_use]
    pub fn seconds_valid(mut self, seconds: i64) -> Self {
        self.seconds_valid = Some(seconds);
        self
    }
}

/// A change of a PAT's name and/or external id, for
/// [`DfnsClient::update_pat`](crate::DfnsClient::update_pat).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatUpdate {
    pub(crate) name: Option<String>,
    pub(crate) external_id: Option<String>,
}

impl PatUpdate {
    /// An empty update (set at least one field).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the new name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the new external id.
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }
}

/// A PAT just created, with its secrets (shown only this once; `Debug` redacts them).
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedPat {
    /// The token's description.
    pub pat: Pat,
    /// The secret: the access token (send it as `Authorization: Bearer …`).
    pub secret: SecretString,
    /// The PKCS#8 PEM private key of the PAT's key pair, when the client generated it.
    pub private_key: Option<SecretString>,
}

impl CreatedPat {
    /// When the access token stops being accepted: its JWT `exp` claim. Dfns reports a
    /// PAT's expiry nowhere else (listed and fetched PATs do not say), so this is only known
    /// right after creating it. `None` when the token is not a JWT with a numeric `exp`.
    pub fn expires(&self) -> Option<OffsetDateTime> {
        jwt_expiry(self.secret.expose_secret())
    }
}

/// Longest access token read for its claims; a longer one is not looked into.
const MAX_JWT_LEN: usize = 16 * 1024;

/// The `exp` claim (seconds since the epoch) of a JWT, read without verifying it: the
/// token came from Dfns over the authenticated connection, and only the time is used.
fn jwt_expiry(token: &str) -> Option<OffsetDateTime> {
    if token.len() > MAX_JWT_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let seconds = exp
        .as_i64()
        .or_else(|| exp.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))?;
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn expiry_is_the_jwt_exp_claim() {
        assert_eq!(
            jwt_expiry(&jwt(r#"{"exp":1893456000,"iat":1}"#)),
            Some(time::macros::datetime!(2030-01-01 00:00 UTC))
        );
        assert_eq!(
            jwt_expiry(&jwt(r#"{"exp":1893456000.9}"#)),
            Some(time::macros::datetime!(2030-01-01 00:00 UTC))
        );
        // Padded base64url is read too.
        let padded = format!("a.{}=.c", URL_SAFE_NO_PAD.encode(r#"{"exp":0}"#));
        assert_eq!(jwt_expiry(&padded), Some(OffsetDateTime::UNIX_EPOCH));
    }

    #[test]
    fn tokens_up_to_the_length_bound_are_read() {
        let base = jwt(r#"{"exp":1}"#);
        let at_bound = format!("{base}{}", "x".repeat(MAX_JWT_LEN - base.len()));
        assert_eq!(at_bound.len(), MAX_JWT_LEN);
        assert!(jwt_expiry(&at_bound).is_some());
        assert_eq!(jwt_expiry(&format!("{at_bound}x")), None);
        // The bound is 16 KiB: an 8 KiB token (large claims) is still read.
        let large = format!("{base}{}", "x".repeat(8 * 1024));
        assert!(jwt_expiry(&large).is_some());
    }

    #[test]
    fn tokens_without_a_usable_exp_have_no_expiry() {
        for token in [
            String::new(),
            "opaque-token".to_owned(),
            "a.b".to_owned(),
            jwt(r#"{"iat":1}"#),
            jwt(r#"{"exp":"tomorrow"}"#),
            jwt(r#"{"exp":1e300}"#),
            jwt(r#"{"exp":9223372036854775807}"#),
            format!("{}.x", jwt(r#"{"exp":1}"#)),
            "a.!!!.c".to_owned(),
            format!("a.{}.c", URL_SAFE_NO_PAD.encode("not json")),
            jwt(&format!(
                r#"{{"exp":1,"pad":"{}"}}"#,
                "x".repeat(MAX_JWT_LEN)
            )),
        ] {
            assert_eq!(jwt_expiry(&token), None, "{token:.60}");
        }
    }
}
