//! [`DfnsConfig`]: the settings of a Dfns client, from a file, from code or from the
//! environment.

use crate::client::{DfnsClient, DfnsClientBuilder};
use crate::signer::P256Signer;
use pats_core::__private::env::{self, Names};
use pats_core::__private::redact::ShownUrl;
use pats_core::{Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Dfns settings: what [`DfnsClient::from_config`] needs, deserializable from a file (the
/// field names below), built in code, or read from the environment
/// ([`from_env`](Self::from_env)).
///
/// | field | variable | |
/// | --- | --- | --- |
/// | `auth_token` | `DFNS_AUTH_TOKEN` | required |
/// | `credential_id` | `DFNS_CRED_ID` | required |
/// | `private_key` | `DFNS_PRIVATE_KEY` | PKCS#8 PEM; this or `private_key_file` |
/// | `private_key_file` | `DFNS_PRIVATE_KEY_FILE` | read when the client is built |
/// | `base_url` | `DFNS_BASE_URL` | default `https://api.dfns.io` |
///
/// The key file must be a regular file of at most 64 KiB of UTF-8 text
/// ([`pats_core::files::read_to_string`]): a FIFO or a device is refused, never waited on.
///
/// ```
/// use pats_dfns::DfnsConfig;
/// use secrecy::SecretString;
///
/// let config = DfnsConfig::from_private_key_file(
///     SecretString::from("service-account-token"),
///     "cr-6mer0-bmls9-8bp9ktifhhu1gafp",
///     "/run/secrets/dfns-credential.pem",
/// );
/// # let _ = config;
/// ```
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
    /// A file holding the credential's private key, PKCS#8 PEM, read when the client is
    /// built.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
}

/// Each field's environment variable: what `from_lookup` reads, and how errors of the
/// environment path name a setting.
const ENV: Names = Names::env(&[
    ("base_url", "DFNS_BASE_URL"),
    ("auth_token", "DFNS_AUTH_TOKEN"),
    ("credential_id", "DFNS_CRED_ID"),
    ("private_key", "DFNS_PRIVATE_KEY"),
    ("private_key_file", "DFNS_PRIVATE_KEY_FILE"),
]);

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

/// Where the signing key comes from.
enum Key<'a> {
    Pem(&'a SecretString),
    File(&'a Path),
}

/// The signing key's source, decided here only: `private_key` before `private_key_file`.
fn key<'a>(pem: Option<&'a SecretString>, file: Option<&'a Path>, names: Names) -> Result<Key<'a>> {
    match (pem, file) {
        (Some(pem), _) => Ok(Key::Pem(pem)),
        (None, Some(path)) => Ok(Key::File(path)),
        (None, None) => Err(Error::invalid(
            names.of("private_key"),
            format!("is not set (nor {})", names.of("private_key_file")),
        )),
    }
}

impl DfnsConfig {
    /// The settings that hold secrets (shown as `[REDACTED]` in `Debug`).
    pub const SECRET_FIELDS: &'static [&'static str] = &["auth_token", "private_key"];

    /// The settings naming a file the client reads when it is built (a key file).
    pub const KEY_FILE_FIELDS: &'static [&'static str] = &["private_key_file"];

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

    /// Settings with the signing key read from a PKCS#8 PEM file when the client is built.
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

    /// Reads the `DFNS_*` variables of the process environment (see the table above).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env::process_env)
    }

    /// Reads the `DFNS_*` variables from `lookup` (a variable name to its value). A missing
    /// variable is an [`InvalidInput`](pats_core::ErrorKind::InvalidInput) naming it, never
    /// its value; the key file is read later, when the client is built.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let lookup: env::Lookup<'_> = &lookup;
        // The key is checked first: with nothing set, it is what to read about.
        let private_key = env::optional(lookup, ENV.of("private_key")).map(SecretString::from);
        let private_key_file = env::optional(lookup, ENV.of("private_key_file")).map(PathBuf::from);
        key(private_key.as_ref(), private_key_file.as_deref(), ENV)?;
        Ok(Self {
            base_url: env::optional(lookup, ENV.of("base_url")),
            auth_token: env::required(lookup, ENV.of("auth_token"))?.into(),
            credential_id: env::required(lookup, ENV.of("credential_id"))?,
            private_key,
            private_key_file,
        })
    }

    /// A builder with these settings, errors naming settings as `names` does.
    pub(crate) fn builder(&self, names: Names) -> Result<DfnsClientBuilder> {
        let key = key(
            self.private_key.as_ref(),
            self.private_key_file.as_deref(),
            names,
        )?;
        let (pem, field) = match key {
            Key::Pem(pem) => (pem.clone(), "private_key"),
            Key::File(path) => {
                let pem = pats_core::files::read_to_string(path)
                    .map_err(|e| Error::invalid(names.of("private_key_file"), e.to_string()))?;
                (SecretString::from(pem), "private_key_file")
            }
        };
        let signer = P256Signer::from_pkcs8_pem(self.credential_id.clone(), &pem)
            .map_err(|e| e.with_field(names.of(field)))?;
        let mut builder = DfnsClient::builder()
            .auth_token(self.auth_token.clone())
            .signer(signer);
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url.clone());
        }
        Ok(builder)
    }

    /// The builder [`DfnsClientBuilder::from_lookup`] starts from.
    pub(crate) fn env_builder(&self) -> Result<DfnsClientBuilder> {
        self.builder(ENV)
    }
}

impl DfnsClientBuilder {
    /// A builder with the settings of `config` (reading its key file, if it names one);
    /// add options, hooks or another token source before [`build`](Self::build).
    pub fn from_config(config: &DfnsConfig) -> Result<Self> {
        config.builder(Names::FIELDS)
    }
}

impl DfnsClient {
    /// A client with the settings of `config` and default options (see
    /// [`DfnsClientBuilder::from_config`] for more).
    pub fn from_config(config: &DfnsConfig) -> Result<Self> {
        DfnsClientBuilder::from_config(config)?.build()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret_field() {
        let config = DfnsConfig::from_private_key(
            "auth-s3cret".into(),
            "cr-1",
            "-----BEGIN PRIVATE KEY-----key-s3cret".into(),
        )
        .with_base_url("https://user:url-s3cret@api.dfns.io/?k=q-s3cret");
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("cr-1"), "{text}");
        // Every field that holds a secret is listed, and deserializes from a file.
        let json: serde_json::Value = serde_json::json!({
            "auth_token": "a", "credential_id": "c", "private_key": "k"
        });
        for field in DfnsConfig::SECRET_FIELDS {
            assert!(json.get(field).is_some(), "{field}");
        }
        let parsed: DfnsConfig = serde_json::from_value(json).unwrap();
        assert!(parsed.private_key.is_some());
    }

    #[test]
    fn a_config_without_a_key_names_the_setting_its_form_uses() {
        let mut config = DfnsConfig::from_private_key("t".into(), "cr-1", "k".into());
        config.private_key = None;
        let err = DfnsClientBuilder::from_config(&config).unwrap_err();
        assert_eq!(err.field(), Some("private_key"));
        assert_eq!(err.reason(), Some("is not set (nor private_key_file)"));
        let err = config.env_builder().unwrap_err();
        assert_eq!(err.field(), Some("DFNS_PRIVATE_KEY"));
        assert_eq!(err.reason(), Some("is not set (nor DFNS_PRIVATE_KEY_FILE)"));
        // A bad key is named by the setting it came from.
        let config = DfnsConfig::from_private_key("t".into(), "cr-1", "not a key".into());
        let err = DfnsClientBuilder::from_config(&config).unwrap_err();
        assert_eq!(err.field(), Some("private_key"));
        let config = DfnsConfig::from_private_key_file("t".into(), "cr-1", "/nonexistent/k.pem");
        let err = DfnsClientBuilder::from_config(&config).unwrap_err();
        assert_eq!(err.field(), Some("private_key_file"));
        let err = config.env_builder().unwrap_err();
        assert_eq!(err.field(), Some("DFNS_PRIVATE_KEY_FILE"));
    }
}
