//! The typed layer over the wire models: what to create, what to update, what came back.

use crate::Pat;
use secrecy::SecretString;

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
    /// [`AlreadyExists`]: pats_core::Error::AlreadyExists
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
