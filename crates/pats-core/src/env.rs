//! Reading each provider's conventional environment variables, once for the whole
//! workspace: the `pats` facade (`Config::from_env`) and every provider client's
//! `from_env` go through these functions, so both read the same variables the same way.
//!
//! | provider | variables (required in bold) |
//! | --- | --- |
//! | dfns | **`DFNS_AUTH_TOKEN`**, **`DFNS_CRED_ID`**, **`DFNS_PRIVATE_KEY`** (PKCS#8 PEM) or **`DFNS_PRIVATE_KEY_FILE`**, `DFNS_BASE_URL` |
//! | zitadel | **`ZITADEL_URL`**, **`ZITADEL_PAT`** or **`ZITADEL_KEY_FILE`** or **`ZITADEL_CLIENT_ID`** + **`ZITADEL_CLIENT_SECRET`**, `ZITADEL_ORG_ID`, `ZITADEL_USER_ID`, `ZITADEL_API` |
//! | sailpoint | **`SAIL_BASE_URL`**, **`SAIL_CLIENT_ID`** + **`SAIL_CLIENT_SECRET`** or **`SAIL_ACCESS_TOKEN`**, `SAIL_API_VERSION`, `SAIL_OWNER_ID` |
//!
//! An empty or blank variable counts as unset. Errors are
//! [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the variable, never its value.

use crate::{Error, Result};
use secrecy::SecretString;
use std::path::PathBuf;

/// A variable name to its value (the process environment, or a map in tests).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A set, non-blank variable, else `InvalidInput` naming it.
pub fn required(lookup: Lookup<'_>, var: &'static str) -> Result<String> {
    lookup(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::invalid(var, "is not set"))
}

/// A set, non-blank variable.
pub fn optional(lookup: Lookup<'_>, var: &str) -> Option<String> {
    lookup(var).filter(|v| !v.trim().is_empty())
}

/// The Dfns variables.
#[derive(Debug)]
pub struct DfnsVars {
    /// `DFNS_BASE_URL`.
    pub base_url: Option<String>,
    /// `DFNS_AUTH_TOKEN`.
    pub auth_token: SecretString,
    /// `DFNS_CRED_ID`.
    pub credential_id: String,
    /// `DFNS_PRIVATE_KEY`.
    pub private_key: Option<SecretString>,
    /// `DFNS_PRIVATE_KEY_FILE`.
    pub private_key_file: Option<PathBuf>,
}

/// Reads the Dfns variables; one of the two key variables is required.
pub fn dfns(lookup: Lookup<'_>) -> Result<DfnsVars> {
    let private_key = optional(lookup, "DFNS_PRIVATE_KEY").map(SecretString::from);
    let private_key_file = optional(lookup, "DFNS_PRIVATE_KEY_FILE").map(PathBuf::from);
    if private_key.is_none() && private_key_file.is_none() {
        return Err(Error::invalid(
            "DFNS_PRIVATE_KEY",
            "is not set (nor DFNS_PRIVATE_KEY_FILE)",
        ));
    }
    Ok(DfnsVars {
        base_url: optional(lookup, "DFNS_BASE_URL"),
        auth_token: required(lookup, "DFNS_AUTH_TOKEN")?.into(),
        credential_id: required(lookup, "DFNS_CRED_ID")?,
        private_key,
        private_key_file,
    })
}

/// The ZITADEL variables.
#[derive(Debug)]
pub struct ZitadelVars {
    /// `ZITADEL_URL`.
    pub base_url: String,
    /// `ZITADEL_PAT`.
    pub pat: Option<SecretString>,
    /// `ZITADEL_KEY_FILE`.
    pub key_file: Option<PathBuf>,
    /// `ZITADEL_CLIENT_ID` (a machine user's client id).
    pub client_id: Option<String>,
    /// `ZITADEL_CLIENT_SECRET`.
    pub client_secret: Option<SecretString>,
    /// `ZITADEL_ORG_ID`.
    pub organization_id: Option<String>,
    /// `ZITADEL_USER_ID`.
    pub user_id: Option<String>,
    /// `ZITADEL_API`, as written.
    pub api: Option<String>,
}

/// Reads the ZITADEL variables; `ZITADEL_PAT` or `ZITADEL_KEY_FILE` is required.
pub fn zitadel(lookup: Lookup<'_>) -> Result<ZitadelVars> {
    let pat = optional(lookup, "ZITADEL_PAT").map(SecretString::from);
    let key_file = optional(lookup, "ZITADEL_KEY_FILE").map(PathBuf::from);
    let client_id = optional(lookup, "ZITADEL_CLIENT_ID");
    let client_secret = optional(lookup, "ZITADEL_CLIENT_SECRET").map(SecretString::from);
    if pat.is_none() && key_file.is_none() {
        match (&client_id, &client_secret) {
            (Some(_), Some(_)) => {}
            (Some(_), None) => return Err(Error::invalid("ZITADEL_CLIENT_SECRET", "is not set")),
            (None, Some(_)) => return Err(Error::invalid("ZITADEL_CLIENT_ID", "is not set")),
            (None, None) => {
                return Err(Error::invalid(
                    "ZITADEL_PAT",
                    "is not set (nor ZITADEL_KEY_FILE, nor ZITADEL_CLIENT_ID and \
                     ZITADEL_CLIENT_SECRET)",
                ));
            }
        }
    }
    Ok(ZitadelVars {
        base_url: required(lookup, "ZITADEL_URL")?,
        pat,
        key_file,
        client_id,
        client_secret,
        organization_id: optional(lookup, "ZITADEL_ORG_ID"),
        user_id: optional(lookup, "ZITADEL_USER_ID"),
        api: optional(lookup, "ZITADEL_API"),
    })
}

/// The SailPoint variables.
#[derive(Debug)]
pub struct SailPointVars {
    /// `SAIL_BASE_URL`.
    pub base_url: String,
    /// `SAIL_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `SAIL_CLIENT_SECRET`.
    pub client_secret: Option<SecretString>,
    /// `SAIL_ACCESS_TOKEN`.
    pub access_token: Option<SecretString>,
    /// `SAIL_API_VERSION`, as written.
    pub api_version: Option<String>,
    /// `SAIL_OWNER_ID`.
    pub owner_id: Option<String>,
}

/// Reads the SailPoint variables; without `SAIL_ACCESS_TOKEN`, `SAIL_CLIENT_ID` and
/// `SAIL_CLIENT_SECRET` are required.
pub fn sailpoint(lookup: Lookup<'_>) -> Result<SailPointVars> {
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
    Ok(SailPointVars {
        base_url: required(lookup, "SAIL_BASE_URL")?,
        client_id,
        client_secret,
        access_token,
        api_version: optional(lookup, "SAIL_API_VERSION"),
        owner_id: optional(lookup, "SAIL_OWNER_ID"),
    })
}
