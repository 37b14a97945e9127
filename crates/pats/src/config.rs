//! Which provider to use and how to reach it, from a file, from code or from the
//! environment.
//!
//! Each provider crate owns its settings ([`DfnsConfig`], [`ZitadelConfig`],
//! [`SailPointConfig`], [`GitLabConfig`], re-exported at the root): their
//! fields, their environment variables, and the typed client they build
//! (`ZitadelClient::from_config`). [`Config`] is one of them, tagged by `provider`, for
//! code that chooses the provider at run time.
//!
//! # Environment
//!
//! `PATS_PROVIDER` names the provider (`dfns`, `zitadel`, `sailpoint` or `gitlab`), then:
//!
//! | provider | variables (required in bold) |
//! | --- | --- |
//! | dfns | **`DFNS_AUTH_TOKEN`**, **`DFNS_CRED_ID`**, **`DFNS_PRIVATE_KEY`** (PKCS#8 PEM) or **`DFNS_PRIVATE_KEY_FILE`**, `DFNS_BASE_URL` (default `https://api.dfns.io`) |
//! | zitadel | **`ZITADEL_URL`**, **`ZITADEL_PAT`** or **`ZITADEL_KEY_FILE`** (JWT-profile key JSON) or **`ZITADEL_CLIENT_ID`** + **`ZITADEL_CLIENT_SECRET`** (a machine user's client secret), `ZITADEL_ORG_ID`, `ZITADEL_USER_ID` (the machine user whose tokens are managed), `ZITADEL_API` (`v2` default, or `v1`) |
//! | sailpoint | **`SAIL_BASE_URL`**, **`SAIL_CLIENT_ID`** + **`SAIL_CLIENT_SECRET`** or **`SAIL_ACCESS_TOKEN`**, `SAIL_API_VERSION` (`v3` default, `beta`, `v2024`, `v2025`, `v2026`, `v1`), `SAIL_OWNER_ID` |
//! | gitlab | **`GITLAB_TOKEN`**, `GITLAB_BASE_URL` (default `https://gitlab.com`), `GITLAB_USER_ID` (the user whose tokens are managed when a call names none; creating for a user needs an administrator's token), `GITLAB_SCOPES` (comma-separated: the scopes of a create that names none) |
//!
//! Errors name the variable that is missing or malformed, never its value. Each provider's
//! own `from_env` (`SailPointConfig::from_env`, `SailPointClient::from_env`) reads the same
//! variables with the same code.
//!
//! # Files
//!
//! A [`Config`] deserializes from a table tagged by `provider`, with the provider's field
//! names:
//!
//! ```toml
//! provider = "zitadel"
//! base_url = "https://acme.zitadel.cloud"
//! key_file = "/run/secrets/zitadel-key.json"
//! user_id = "250000000000000001"
//! ```
//!
//! A provider whose cargo feature is off is refused by name when the configuration is
//! read, with the feature to enable. Key files (`private_key_file`, `key_file` and their
//! variables) are read when connecting, with
//! [`files::read_to_string`](crate::files::read_to_string): each must be a regular file of
//! at most [`files::MAX_LEN`](crate::files::MAX_LEN) bytes (64 KiB) of UTF-8 text. A FIFO, a
//! device, a directory, a socket or a larger file is an
//! [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the setting and the path,
//! returned at once (a FIFO is never waited on).
//!
//! # From code
//!
//! ```
//! # #[cfg(all(feature = "sailpoint", feature = "zitadel"))] {
//! use pats::sailpoint::ApiVersion;
//! use pats::{Config, SailPointConfig, ZitadelConfig};
//! use secrecy::SecretString;
//!
//! let sailpoint: Config = SailPointConfig::from_client_credentials(
//!     "https://acme.api.identitynow.com",
//!     "client-id",
//!     SecretString::from("client-secret"),
//! )
//! .with_api_version(ApiVersion::V2025)
//! .into();
//! let zitadel: Config = ZitadelConfig::from_key_file("https://acme.zitadel.cloud", "key.json")
//!     .with_user_id("250000000000000001")
//!     .into();
//! # let _ = (sailpoint, zitadel);
//! # }
//! ```

use pats_core::__private::env;
use pats_core::{Error, Result};
use serde::Deserialize;

#[cfg(feature = "dfns")]
use pats_dfns::DfnsConfig;
#[cfg(feature = "gitlab")]
use pats_gitlab::GitLabConfig;
#[cfg(feature = "sailpoint")]
use pats_sailpoint::SailPointConfig;
#[cfg(feature = "zitadel")]
use pats_zitadel::ZitadelConfig;

/// The provider to connect to and its settings: one provider crate's configuration.
///
/// Has a variant for each provider compiled in; reading a configuration (a file, the
/// environment) that names another one says which cargo feature to enable.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Config {
    /// Dfns.
    #[cfg(feature = "dfns")]
    Dfns(DfnsConfig),
    /// ZITADEL.
    #[cfg(feature = "zitadel")]
    Zitadel(ZitadelConfig),
    /// SailPoint Identity Security Cloud.
    #[cfg(feature = "sailpoint")]
    SailPoint(SailPointConfig),
    /// GitLab.
    #[cfg(feature = "gitlab")]
    GitLab(GitLabConfig),
}

/// Every provider name, compiled in or not.
const KNOWN: &[&str] = &["dfns", "zitadel", "sailpoint", "gitlab"];

/// The error for a provider name that this build cannot configure: one whose feature is
/// off, or none at all. Never quotes an unknown name (it may be a misplaced secret).
pub(crate) fn not_compiled_in(provider: &str, field: &'static str) -> Error {
    match KNOWN
        .iter()
        .find(|known| known.eq_ignore_ascii_case(provider.trim()))
    {
        Some(known) => Error::invalid(
            field,
            format!(
                "this build of pats does not include `{known}`; enable the cargo feature: \
                 pats = {{ features = [\"{known}\"] }}"
            ),
        ),
        None => Error::invalid(
            field,
            "must be one of `dfns`, `zitadel`, `sailpoint`, `gitlab`",
        ),
    }
}

#[cfg(feature = "dfns")]
impl From<DfnsConfig> for Config {
    fn from(c: DfnsConfig) -> Self {
        Self::Dfns(c)
    }
}

#[cfg(feature = "zitadel")]
impl From<ZitadelConfig> for Config {
    fn from(c: ZitadelConfig) -> Self {
        Self::Zitadel(c)
    }
}

#[cfg(feature = "sailpoint")]
impl From<SailPointConfig> for Config {
    fn from(c: SailPointConfig) -> Self {
        Self::SailPoint(c)
    }
}

#[cfg(feature = "gitlab")]
impl From<GitLabConfig> for Config {
    fn from(c: GitLabConfig) -> Self {
        Self::GitLab(c)
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
        let provider = env::required(&lookup, "PATS_PROVIDER")?;
        match provider.trim().to_ascii_lowercase().as_str() {
            #[cfg(feature = "dfns")]
            "dfns" => Ok(Self::Dfns(DfnsConfig::from_lookup(lookup)?)),
            #[cfg(feature = "zitadel")]
            "zitadel" => Ok(Self::Zitadel(ZitadelConfig::from_lookup(lookup)?)),
            #[cfg(feature = "sailpoint")]
            "sailpoint" => Ok(Self::SailPoint(SailPointConfig::from_lookup(lookup)?)),
            #[cfg(feature = "gitlab")]
            "gitlab" => Ok(Self::GitLab(GitLabConfig::from_lookup(lookup)?)),
            other => Err(not_compiled_in(other, "PATS_PROVIDER")),
        }
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        match *self {
            #[cfg(feature = "dfns")]
            Self::Dfns(_) => "dfns",
            #[cfg(feature = "zitadel")]
            Self::Zitadel(_) => "zitadel",
            #[cfg(feature = "sailpoint")]
            Self::SailPoint(_) => "sailpoint",
            #[cfg(feature = "gitlab")]
            Self::GitLab(_) => "gitlab",
        }
    }

    /// The settings of `provider` naming a file its client reads when connecting (a key
    /// file), or `None` for a provider that is not compiled in.
    pub fn key_file_fields(provider: &str) -> Option<&'static [&'static str]> {
        field_tables(provider).map(|(_, files)| files)
    }

    /// The settings of `provider` that hold secrets (a file's `client_secret`), or `None`
    /// for a provider that is not compiled in.
    pub fn secret_fields(provider: &str) -> Option<&'static [&'static str]> {
        field_tables(provider).map(|(secrets, _)| secrets)
    }
}

/// A provider's settings that hold secrets, and those naming a key file, as its
/// configuration type lists them.
fn field_tables(provider: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    match provider {
        #[cfg(feature = "dfns")]
        "dfns" => Some((DfnsConfig::SECRET_FIELDS, DfnsConfig::KEY_FILE_FIELDS)),
        #[cfg(feature = "zitadel")]
        "zitadel" => Some((ZitadelConfig::SECRET_FIELDS, ZitadelConfig::KEY_FILE_FIELDS)),
        #[cfg(feature = "sailpoint")]
        "sailpoint" => Some((
            SailPointConfig::SECRET_FIELDS,
            SailPointConfig::KEY_FILE_FIELDS,
        )),
        #[cfg(feature = "gitlab")]
        "gitlab" => Some((GitLabConfig::SECRET_FIELDS, GitLabConfig::KEY_FILE_FIELDS)),
        _ => None,
    }
}

/// A table tagged by `provider` (`"dfns"`, `"zitadel"`, `"sailpoint"` or `"gitlab"`, any case) with that
/// provider's settings.
impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        // The tag may come after the settings, so the table is read whole first.
        let mut table = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let provider = match table.remove("provider") {
            Some(serde_json::Value::String(p)) => p,
            Some(_) => return Err(D::Error::custom("`provider` must be a string")),
            None => return Err(D::Error::missing_field("provider")),
        };
        let settings = serde_json::Value::Object(table);
        let settings_error = |e: serde_json::Error| D::Error::custom(e);
        match provider.trim().to_ascii_lowercase().as_str() {
            #[cfg(feature = "dfns")]
            "dfns" => DfnsConfig::deserialize(settings)
                .map(Self::Dfns)
                .map_err(settings_error),
            #[cfg(feature = "zitadel")]
            "zitadel" => ZitadelConfig::deserialize(settings)
                .map(Self::Zitadel)
                .map_err(settings_error),
            #[cfg(feature = "sailpoint")]
            "sailpoint" => SailPointConfig::deserialize(settings)
                .map(Self::SailPoint)
                .map_err(settings_error),
            #[cfg(feature = "gitlab")]
            "gitlab" => GitLabConfig::deserialize(settings)
                .map(Self::GitLab)
                .map_err(settings_error),
            other => {
                let _ = (settings, settings_error);
                let err = not_compiled_in(other, "provider");
                Err(D::Error::custom(format_args!(
                    "`provider` {}",
                    err.reason().unwrap_or("is not known")
                )))
            }
        }
    }
}
