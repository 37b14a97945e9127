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
//! | zitadel | **`ZITADEL_URL`**, **`ZITADEL_PAT`** or **`ZITADEL_KEY_FILE`** (JWT-profile key JSON), `ZITADEL_ORG_ID`, `ZITADEL_USER_ID` (the machine user whose tokens are managed), `ZITADEL_API` (`v2` default, or `v1`) |
//! | sailpoint | **`SAIL_BASE_URL`**, **`SAIL_CLIENT_ID`** + **`SAIL_CLIENT_SECRET`** or **`SAIL_ACCESS_TOKEN`**, `SAIL_API_VERSION` (`v3` default, `beta`, `v2024`, `v2025`, `v2026`, `v1`), `SAIL_OWNER_ID` |
//!
//! Errors name the variable that is missing or malformed, never its value.

use pats_core::{Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;

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
#[derive(Debug, Clone, Deserialize)]
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
    /// A file holding the credential's private key, PKCS#8 PEM.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
}

/// ZITADEL settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ZitadelConfig {
    /// The instance URL, for example `https://acme.zitadel.cloud`.
    pub base_url: String,
    /// A machine user's PAT (or give `key_file`).
    #[serde(default)]
    pub pat: Option<SecretString>,
    /// A JWT-profile key file (JSON with `keyId`, `key`, `userId`).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The organization every call is scoped to (`x-zitadel-orgid`).
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The machine user whose tokens are managed when a call names no owner.
    #[serde(default)]
    pub user_id: Option<String>,
    /// `v2` (default) or `v1`.
    #[serde(default)]
    pub api: Option<String>,
}

/// SailPoint settings.
#[derive(Debug, Clone, Deserialize)]
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
    /// `v3` (default), `beta`, `v2024`, `v2025`, `v2026` or `v1`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// The identity whose tokens are managed when a call names no owner.
    #[serde(default)]
    pub owner_id: Option<String>,
}

fn missing(var: &'static str) -> Error {
    Error::invalid(var, "is not set")
}

fn required(lookup: &dyn Fn(&str) -> Option<String>, var: &'static str) -> Result<String> {
    lookup(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| missing(var))
}

fn optional(lookup: &dyn Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    lookup(var).filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the configuration from the process environment (see the module docs).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from `lookup` (a variable name to its value), for tests and
    /// for sources other than the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let lookup: &dyn Fn(&str) -> Option<String> = &lookup;
        let provider = required(lookup, "PATS_PROVIDER")?;
        match provider.trim().to_ascii_lowercase().as_str() {
            "dfns" => {
                let private_key = optional(lookup, "DFNS_PRIVATE_KEY").map(SecretString::from);
                let private_key_file = optional(lookup, "DFNS_PRIVATE_KEY_FILE").map(PathBuf::from);
                if private_key.is_none() && private_key_file.is_none() {
                    return Err(Error::invalid(
                        "DFNS_PRIVATE_KEY",
                        "is not set (nor DFNS_PRIVATE_KEY_FILE)",
                    ));
                }
                Ok(Self::Dfns(DfnsConfig {
                    base_url: optional(lookup, "DFNS_BASE_URL"),
                    auth_token: required(lookup, "DFNS_AUTH_TOKEN")?.into(),
                    credential_id: required(lookup, "DFNS_CRED_ID")?,
                    private_key,
                    private_key_file,
                }))
            }
            "zitadel" => {
                let pat = optional(lookup, "ZITADEL_PAT").map(SecretString::from);
                let key_file = optional(lookup, "ZITADEL_KEY_FILE").map(PathBuf::from);
                if pat.is_none() && key_file.is_none() {
                    return Err(Error::invalid(
                        "ZITADEL_PAT",
                        "is not set (nor ZITADEL_KEY_FILE)",
                    ));
                }
                Ok(Self::Zitadel(ZitadelConfig {
                    base_url: required(lookup, "ZITADEL_URL")?,
                    pat,
                    key_file,
                    organization_id: optional(lookup, "ZITADEL_ORG_ID"),
                    user_id: optional(lookup, "ZITADEL_USER_ID"),
                    api: optional(lookup, "ZITADEL_API"),
                }))
            }
            "sailpoint" => {
                let access_token = optional(lookup, "SAIL_ACCESS_TOKEN").map(SecretString::from);
                let (client_id, client_secret) = if access_token.is_some() {
                    (
                        optional(lookup, "SAIL_CLIENT_ID"),
                        optional(lookup, "SAIL_CLIENT_SECRET").map(SecretString::from),
                    )
                } else {
                    (
                        Some(required(lookup, "SAIL_CLIENT_ID")?),
                        Some(required(lookup, "SAIL_CLIENT_SECRET")?.into()),
                    )
                };
                Ok(Self::SailPoint(SailPointConfig {
                    base_url: required(lookup, "SAIL_BASE_URL")?,
                    client_id,
                    client_secret,
                    access_token,
                    api_version: optional(lookup, "SAIL_API_VERSION"),
                    owner_id: optional(lookup, "SAIL_OWNER_ID"),
                }))
            }
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
