//! Which provider to use and how to reach it, from a file, from code or from the
//! environment.
//!
//! Every configuration type exists whatever features are enabled, so a configuration for
//! a provider whose feature is off still parses and [`connect`](crate::connect) can say
//! which feature to enable.
//!
//! # Environment
//!
//! `PATS_PROVIDER` names the provider (`dfns`, `zitadel` or `sailpoint`), then:
//!
//! | provider | variables (required in bold) |
//! | --- | --- |
//! | dfns | **`DFNS_AUTH_TOKEN`**, **`DFNS_CRED_ID`**, **`DFNS_PRIVATE_KEY`** (PKCS#8 PEM) or **`DFNS_PRIVATE_KEY_FILE`**, `DFNS_BASE_URL` (default `https://api.dfns.io`) |
//! | zitadel | **`ZITADEL_URL`**, **`ZITADEL_PAT`** or **`ZITADEL_KEY_FILE`** (JWT-profile key JSON) or **`ZITADEL_CLIENT_ID`** + **`ZITADEL_CLIENT_SECRET`** (a machine user's client secret), `ZITADEL_ORG_ID`, `ZITADEL_USER_ID` (the machine user whose tokens are managed), `ZITADEL_API` (`v2` default, or `v1`) |
//! | sailpoint | **`SAIL_BASE_URL`**, **`SAIL_CLIENT_ID`** + **`SAIL_CLIENT_SECRET`** or **`SAIL_ACCESS_TOKEN`**, `SAIL_API_VERSION` (`v3` default, `beta`, `v2024`, `v2025`, `v2026`, `v1`), `SAIL_OWNER_ID` |
//!
//! Errors name the variable that is missing or malformed, never its value. Each provider
//! client's own `from_env` (for example `pats::sailpoint::SailPointClient::from_env`)
//! reads the same variables.
//!
//! # Key files
//!
//! The files settings name (`DFNS_PRIVATE_KEY_FILE` and `private_key_file`,
//! `ZITADEL_KEY_FILE` and `key_file`) are read when connecting, with
//! [`files::read_to_string`](crate::files::read_to_string): each must be a regular file of
//! at most [`files::MAX_LEN`](crate::files::MAX_LEN) bytes (64 KiB) of UTF-8 text. A FIFO, a
//! device, a directory, a socket or a larger file is an [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the
//! setting and the path, returned at once (a FIFO is never waited on).
//!
//! # From code
//!
//! Each settings type has constructors for its ways to authenticate, and `with_*` setters
//! for the optional settings:
//!
//! ```
//! use pats::{Config, SailPointApiVersion, SailPointConfig, ZitadelConfig};
//! use secrecy::SecretString;
//!
//! let sailpoint: Config = SailPointConfig::from_client_credentials(
//!     "https://acme.api.identitynow.com",
//!     "client-id",
//!     SecretString::from("client-secret"),
//! )
//! .with_api_version(SailPointApiVersion::V2025)
//! .into();
//! let zitadel: Config = ZitadelConfig::from_key_file("https://acme.zitadel.cloud", "key.json")
//!     .with_user_id("250000000000000001")
//!     .into();
//! # let _ = (sailpoint, zitadel);
//! ```

use pats_core::__private::env;
use pats_core::__private::redact::ShownUrl;
use pats_core::{Error, ErrorKind, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The provider to connect to and its settings.
///
/// Deserializes from a table tagged by `provider`, for example (TOML):
///
/// ```toml
/// provider = "sailpoint"
/// base_url = "https://acme.api.identitynow.com"
/// client_id = "..."
/// client_secret = "..."
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Config {
    /// Dfns.
    Dfns(DfnsConfig),
    /// ZITADEL.
    Zitadel(ZitadelConfig),
    /// SailPoint Identity Security Cloud.
    #[serde(rename = "sailpoint")]
    SailPoint(SailPointConfig),
}

/// Dfns settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DfnsConfig {
    /// API base URL (default `https://api.dfns.io`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The user or service-account token (not a PAT: PATs cannot manage PATs).
    pub auth_token: SecretString,
    /// The signing credential's id, for User Action Signing.
    pub credential_id: String,
    /// The credential's private key, PKCS#8 PEM (or give `private_key_file`).
    #[serde(default)]
    pub private_key: Option<SecretString>,
    /// A file holding the credential's private key, PKCS#8 PEM (a regular file of at most
    /// 64 KiB, read when connecting; see [Key files](self#key-files)).
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
}

/// ZITADEL settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ZitadelConfig {
    /// The instance URL, for example `https://acme.zitadel.cloud`.
    pub base_url: String,
    /// A machine user's PAT (or give `key_file`, or `client_id` and `client_secret`).
    #[serde(default)]
    pub pat: Option<SecretString>,
    /// A JWT-profile key file (JSON with `keyId`, `key`, `userId`; a regular file of at
    /// most 64 KiB, read when connecting; see [Key files](self#key-files)).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// A machine user's client id, for the client-credentials grant (with
    /// `client_secret`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// That machine user's client secret.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// The organization every call is scoped to (`x-zitadel-orgid`).
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The machine user whose tokens are managed when a call names no owner.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Which API the client calls (`"v2"`, the default, or `"v1"` in files and
    /// `ZITADEL_API`).
    #[serde(default)]
    pub api: Option<ZitadelApi>,
}

/// SailPoint settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SailPointConfig {
    /// The tenant API URL, for example `https://acme.api.identitynow.com`.
    pub base_url: String,
    /// OAuth2 client id (with `client_secret`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// OAuth2 client secret.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// A bearer token to use as is, instead of client credentials.
    #[serde(default)]
    pub access_token: Option<SecretString>,
    /// The API version (`"v3"`, the default, `"beta"`, `"v2024"`, `"v2025"`, `"v2026"` or
    /// `"v1"` in files and `SAIL_API_VERSION`).
    #[serde(default)]
    pub api_version: Option<SailPointApiVersion>,
    /// The identity whose tokens are managed when a call names no owner.
    #[serde(default)]
    pub owner_id: Option<String>,
}

// The base URL is shown without userinfo or query (they can hold credentials); secrets
// show as secrecy's `[REDACTED]`.
impl fmt::Debug for DfnsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DfnsConfig")
            .field("base_url", &self.base_url.as_deref().map(ShownUrl))
            .field("auth_token", &self.auth_token)
            .field("credential_id", &self.credential_id)
            .field("private_key", &self.private_key)
            .field("private_key_file", &self.private_key_file)
            .finish()
    }
}

impl fmt::Debug for ZitadelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZitadelConfig")
            .field("base_url", &ShownUrl(&self.base_url))
            .field("pat", &self.pat)
            .field("key_file", &self.key_file)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("organization_id", &self.organization_id)
            .field("user_id", &self.user_id)
            .field("api", &self.api)
            .finish()
    }
}

impl fmt::Debug for SailPointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SailPointConfig")
            .field("base_url", &ShownUrl(&self.base_url))
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("access_token", &self.access_token)
            .field("api_version", &self.api_version)
            .field("owner_id", &self.owner_id)
            .finish()
    }
}

/// Parses a version name case-insensitively among `names`, else `InvalidInput` naming `field`.
fn parse_name<T: Copy>(text: &str, names: &[(&str, T)], field: &'static str) -> Result<T> {
    let text = text.trim();
    names
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let all: Vec<String> = names.iter().map(|(n, _)| format!("`{n}`")).collect();
            Error::invalid(field, format!("must be one of {}", all.join(", ")))
        })
}

/// Deserializes a [`FromStr`] value from a string, with the parse error's message.
fn deserialize_str<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: FromStr<Err = Error>,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(|e: Error| match e.reason() {
        Some(reason) if e.kind() == ErrorKind::InvalidInput => serde::de::Error::custom(reason),
        _ => serde::de::Error::custom(e),
    })
}

/// Which ZITADEL API the client calls.
///
/// In files and in `ZITADEL_API` it is written `v2` or `v1` (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ZitadelApi {
    /// The v2 user service (Connect JSON).
    #[default]
    V2,
    /// The v1 management REST API.
    V1,
}

impl ZitadelApi {
    const NAMES: &[(&str, Self)] = &[("v2", Self::V2), ("v1", Self::V1)];

    /// The name used in files and in the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V1 => "v1",
        }
    }
}

impl fmt::Display for ZitadelApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ZitadelApi {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::NAMES, "api")
    }
}

impl<'de> Deserialize<'de> for ZitadelApi {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        deserialize_str(d)
    }
}

/// Which SailPoint API version the client calls.
///
/// In files and in `SAIL_API_VERSION` it is written `v3`, `beta`, `v2024`, `v2025`,
/// `v2026` or `v1` (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SailPointApiVersion {
    /// `/v3` (the default).
    #[default]
    V3,
    /// `/beta`.
    Beta,
    /// `/v2024` (experimental).
    V2024,
    /// `/v2025` (experimental).
    V2025,
    /// `/v2026` (experimental).
    V2026,
    /// `/personal-access-tokens/v1`.
    V1,
}

impl SailPointApiVersion {
    const NAMES: &[(&str, Self)] = &[
        ("v3", Self::V3),
        ("beta", Self::Beta),
        ("v2024", Self::V2024),
        ("v2025", Self::V2025),
        ("v2026", Self::V2026),
        ("v1", Self::V1),
    ];

    /// The name used in files and in the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::Beta => "beta",
            Self::V2024 => "v2024",
            Self::V2025 => "v2025",
            Self::V2026 => "v2026",
            Self::V1 => "v1",
        }
    }
}

impl fmt::Display for SailPointApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SailPointApiVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::NAMES, "api_version")
    }
}

impl<'de> Deserialize<'de> for SailPointApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        deserialize_str(d)
    }
}

/// `parse` with the error naming the environment variable instead of the field.
fn parse_var<T: FromStr<Err = Error>>(
    text: Option<String>,
    var: &'static str,
) -> Result<Option<T>> {
    text.map(|t| t.parse().map_err(|e: Error| e.with_field(var)))
        .transpose()
}

impl DfnsConfig {
    /// Settings with the signing key given as PKCS#8 PEM text, and the default base URL.
    pub fn from_private_key(
        auth_token: SecretString,
        credential_id: impl Into<String>,
        private_key: SecretString,
    ) -> Self {
        Self {
            base_url: None,
            auth_token,
            credential_id: credential_id.into(),
            private_key: Some(private_key),
            private_key_file: None,
        }
    }

    /// Settings with the signing key read from a PKCS#8 PEM file when connecting.
    pub fn from_private_key_file(
        auth_token: SecretString,
        credential_id: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            base_url: None,
            auth_token,
            credential_id: credential_id.into(),
            private_key: None,
            private_key_file: Some(path.into()),
        }
    }

    /// Another API base URL than `https://api.dfns.io`.
    #[must_use]
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Reads the `DFNS_*` variables (see the module docs).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(&env::process_env)
    }

    fn from_lookup(lookup: env::Lookup<'_>) -> Result<Self> {
        let v = env::dfns(lookup)?;
        Ok(Self {
            base_url: v.base_url,
            auth_token: v.auth_token,
            credential_id: v.credential_id,
            private_key: v.private_key,
            private_key_file: v.private_key_file,
        })
    }
}

impl ZitadelConfig {
    fn new(base_url: String) -> Self {
        Self {
            base_url,
            pat: None,
            key_file: None,
            client_id: None,
            client_secret: None,
            organization_id: None,
            user_id: None,
            api: None,
        }
    }

    /// Settings authenticating with a machine user's PAT.
    pub fn from_pat(base_url: impl Into<String>, pat: SecretString) -> Self {
        Self {
            pat: Some(pat),
            ..Self::new(base_url.into())
        }
    }

    /// Settings authenticating with a JWT-profile key file, read when connecting.
    pub fn from_key_file(base_url: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            key_file: Some(path.into()),
            ..Self::new(base_url.into())
        }
    }

    /// Settings authenticating with a machine user's client id and secret (OAuth2 client
    /// credentials, exchanged for an access token when the first call is made).
    pub fn from_client_credentials(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self {
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret),
            ..Self::new(base_url.into())
        }
    }

    /// Scopes every call to this organization (`x-zitadel-orgid`).
    #[must_use]
    pub fn with_organization_id(mut self, id: impl Into<String>) -> Self {
        self.organization_id = Some(id.into());
        self
    }

    /// The machine user whose tokens are managed when a call names no owner.
    #[must_use]
    pub fn with_user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Which API to call (v2 by default).
    #[must_use]
    pub fn with_api(mut self, api: ZitadelApi) -> Self {
        self.api = Some(api);
        self
    }

    /// Reads the `ZITADEL_*` variables (see the module docs).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(&env::process_env)
    }

    fn from_lookup(lookup: env::Lookup<'_>) -> Result<Self> {
        let v = env::zitadel(lookup)?;
        Ok(Self {
            base_url: v.base_url,
            pat: v.pat,
            key_file: v.key_file,
            client_id: v.client_id,
            client_secret: v.client_secret,
            organization_id: v.organization_id,
            user_id: v.user_id,
            api: parse_var(v.api, "ZITADEL_API")?,
        })
    }
}

impl SailPointConfig {
    fn new(base_url: String) -> Self {
        Self {
            base_url,
            client_id: None,
            client_secret: None,
            access_token: None,
            api_version: None,
            owner_id: None,
        }
    }

    /// Settings authenticating with OAuth2 client credentials.
    pub fn from_client_credentials(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self {
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret),
            ..Self::new(base_url.into())
        }
    }

    /// Settings authenticating with a bearer token used as is.
    pub fn from_access_token(base_url: impl Into<String>, token: SecretString) -> Self {
        Self {
            access_token: Some(token),
            ..Self::new(base_url.into())
        }
    }

    /// Which API version to call (v3 by default).
    #[must_use]
    pub fn with_api_version(mut self, version: SailPointApiVersion) -> Self {
        self.api_version = Some(version);
        self
    }

    /// The identity whose tokens are managed when a call names no owner.
    #[must_use]
    pub fn with_owner_id(mut self, id: impl Into<String>) -> Self {
        self.owner_id = Some(id.into());
        self
    }

    /// Reads the `SAIL_*` variables (see the module docs).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(&env::process_env)
    }

    fn from_lookup(lookup: env::Lookup<'_>) -> Result<Self> {
        let v = env::sailpoint(lookup)?;
        Ok(Self {
            base_url: v.base_url,
            client_id: v.client_id,
            client_secret: v.client_secret,
            access_token: v.access_token,
            api_version: parse_var(v.api_version, "SAIL_API_VERSION")?,
            owner_id: v.owner_id,
        })
    }
}

impl From<DfnsConfig> for Config {
    fn from(c: DfnsConfig) -> Self {
        Self::Dfns(c)
    }
}

impl From<ZitadelConfig> for Config {
    fn from(c: ZitadelConfig) -> Self {
        Self::Zitadel(c)
    }
}

impl From<SailPointConfig> for Config {
    fn from(c: SailPointConfig) -> Self {
        Self::SailPoint(c)
    }
}

impl Config {
    /// Reads the configuration from the process environment (see the module docs).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env::process_env)
    }

    /// Reads the configuration from `lookup` (a variable name to its value), for tests and
    /// for sources other than the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let lookup: env::Lookup<'_> = &lookup;
        let provider = env::required(lookup, "PATS_PROVIDER")?;
        match provider.trim().to_ascii_lowercase().as_str() {
            "dfns" => Ok(Self::Dfns(DfnsConfig::from_lookup(lookup)?)),
            "zitadel" => Ok(Self::Zitadel(ZitadelConfig::from_lookup(lookup)?)),
            "sailpoint" => Ok(Self::SailPoint(SailPointConfig::from_lookup(lookup)?)),
            _ => Err(Error::invalid(
                "PATS_PROVIDER",
                "must be one of `dfns`, `zitadel`, `sailpoint`",
            )),
        }
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Dfns(_) => "dfns",
            Self::Zitadel(_) => "zitadel",
            Self::SailPoint(_) => "sailpoint",
        }
    }
}
