//! [`SailPointConfig`]: the settings of a SailPoint client, from a file, from code or from
//! the environment.

use crate::client::{
    ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, SailPointClient, SailPointClientBuilder,
};
use crate::version::ApiVersion;
use pats_core::__private::env::{self, Names};
use pats_core::__private::redact::ShownUrl;
use pats_core::{Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// SailPoint settings: what [`SailPointClient::from_config`] needs, deserializable from a
/// file (the field names below), built in code, or read from the environment
/// ([`from_env`](Self::from_env)).
///
/// | field | variable | |
/// | --- | --- | --- |
/// | `base_url` | `SAIL_BASE_URL` | required: the tenant API, `https://acme.api.identitynow.com` |
/// | `client_id`, `client_secret` | `SAIL_CLIENT_ID`, `SAIL_CLIENT_SECRET` | OAuth2 client credentials |
/// | `access_token` | `SAIL_ACCESS_TOKEN` | or a bearer token used as is (first if both are given) |
/// | `api_version` | `SAIL_API_VERSION` | `v3` (default), `beta`, `v2024`, `v2025`, `v2026`, `v1` |
/// | `owner_id` | `SAIL_OWNER_ID` | the identity whose tokens are managed when a call names none |
///
/// ```
/// use pats_sailpoint::{ApiVersion, SailPointConfig};
/// use secrecy::SecretString;
///
/// let config = SailPointConfig::from_client_credentials(
///     "https://acme.api.identitynow.com",
///     "client-id",
///     SecretString::from("client-secret"),
/// )
/// .with_api_version(ApiVersion::V2025);
/// # let _ = config;
/// ```
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
    /// `"v1"`).
    #[serde(default)]
    pub api_version: Option<ApiVersion>,
    /// The identity whose tokens are managed when a call names no owner.
    #[serde(default)]
    pub owner_id: Option<String>,
}

/// Each field's environment variable: what `from_lookup` reads, and how errors of the
/// environment path name a setting.
const ENV: Names = Names::env(&[
    ("base_url", ENV_BASE_URL),
    ("client_id", ENV_CLIENT_ID),
    ("client_secret", ENV_CLIENT_SECRET),
    ("access_token", "SAIL_ACCESS_TOKEN"),
    ("api_version", "SAIL_API_VERSION"),
    ("owner_id", "SAIL_OWNER_ID"),
]);

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

/// The credential a configuration selects.
enum Credential<'a> {
    Bearer(&'a SecretString),
    ClientCredentials(&'a str, &'a SecretString),
}

impl SailPointConfig {
    /// The settings that hold secrets (shown as `[REDACTED]` in `Debug`).
    pub const SECRET_FIELDS: &'static [&'static str] = &["client_secret", "access_token"];

    /// The settings naming a file the client reads when it is built: none.
    pub const KEY_FILE_FIELDS: &'static [&'static str] = &[];

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
    pub fn with_api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = Some(version);
        self
    }

    /// The identity whose tokens are managed when a call names no owner.
    #[must_use]
    pub fn with_owner_id(mut self, id: impl Into<String>) -> Self {
        self.owner_id = Some(id.into());
        self
    }

    /// Reads the `SAIL_*` variables of the process environment (see the table above).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env::process_env)
    }

    /// Reads the `SAIL_*` variables from `lookup` (a variable name to its value). A missing
    /// or malformed variable is an [`InvalidInput`](pats_core::ErrorKind::InvalidInput)
    /// naming it, never its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let lookup: env::Lookup<'_> = &lookup;
        // The credential is checked first: with nothing set, it is what to read about.
        let mut config = Self {
            client_id: env::optional(lookup, ENV.of("client_id")),
            client_secret: env::optional(lookup, ENV.of("client_secret")).map(SecretString::from),
            access_token: env::optional(lookup, ENV.of("access_token")).map(SecretString::from),
            ..Self::new(String::new())
        };
        config.credential(ENV)?;
        config.base_url = env::required(lookup, ENV.of("base_url"))?;
        config.api_version = env::parse_var(lookup, ENV.of("api_version"))?;
        config.owner_id = env::optional(lookup, ENV.of("owner_id"));
        Ok(config)
    }

    /// The one place the credential is chosen: `access_token`, else `client_id` with
    /// `client_secret`.
    fn credential(&self, names: Names) -> Result<Credential<'_>> {
        match (&self.access_token, &self.client_id, &self.client_secret) {
            (Some(token), _, _) => Ok(Credential::Bearer(token)),
            (None, Some(id), Some(secret)) => Ok(Credential::ClientCredentials(id, secret)),
            (None, Some(_), None) => Err(Error::invalid(names.of("client_secret"), "is not set")),
            (None, None, _) => Err(Error::invalid(
                names.of("client_id"),
                format!("is not set (nor {})", names.of("access_token")),
            )),
        }
    }

    /// A builder with these settings, errors naming settings as `names` does.
    fn builder(&self, names: Names) -> Result<SailPointClientBuilder> {
        let mut builder = SailPointClient::builder()
            .base_url(self.base_url.clone())
            .api_version(self.api_version.unwrap_or_default());
        builder = match self.credential(names)? {
            Credential::Bearer(token) => builder.bearer_token(token.clone()),
            Credential::ClientCredentials(id, secret) => {
                builder.client_credentials(id, secret.clone())
            }
        };
        if let Some(owner) = &self.owner_id {
            builder = builder.default_owner(owner.clone());
        }
        Ok(builder)
    }

    /// The builder [`SailPointClientBuilder::from_lookup`] starts from.
    pub(crate) fn env_builder(&self) -> Result<SailPointClientBuilder> {
        self.builder(ENV)
    }
}

impl SailPointClientBuilder {
    /// A builder with the settings of `config`; add options before
    /// [`build`](Self::build).
    pub fn from_config(config: &SailPointConfig) -> Result<Self> {
        config.builder(Names::FIELDS)
    }
}

impl SailPointClient {
    /// A client with the settings of `config` and default options (see
    /// [`SailPointClientBuilder::from_config`] for more).
    pub fn from_config(config: &SailPointConfig) -> Result<Self> {
        SailPointClientBuilder::from_config(config)?.build()
    }
}

/// A version as [`ApiVersion::as_str`] names it, in any case.
impl FromStr for ApiVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        env::parse_name(s, &Self::ALL, Self::as_str, "api_version")
    }
}

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        env::deserialize_str(d)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_chosen_in_one_order_and_a_missing_one_is_named() {
        let mut config = SailPointConfig {
            access_token: Some("t".into()),
            ..SailPointConfig::from_client_credentials("https://a.example.com", "id", "s".into())
        };
        assert!(matches!(
            config.credential(Names::FIELDS),
            Ok(Credential::Bearer(_))
        ));
        config.access_token = None;
        assert!(matches!(
            config.credential(Names::FIELDS),
            Ok(Credential::ClientCredentials("id", _))
        ));
        config.client_secret = None;
        assert_eq!(
            config.credential(ENV).err().unwrap().field(),
            Some("SAIL_CLIENT_SECRET")
        );
        config.client_id = None;
        let err = config.credential(Names::FIELDS).err().unwrap();
        assert_eq!(err.field(), Some("client_id"));
        assert_eq!(err.reason(), Some("is not set (nor access_token)"));
        let err = config.credential(ENV).err().unwrap();
        assert_eq!(err.field(), Some("SAIL_CLIENT_ID"));
        assert_eq!(err.reason(), Some("is not set (nor SAIL_ACCESS_TOKEN)"));
    }

    #[test]
    fn debug_redacts_every_secret_field() {
        let config = SailPointConfig {
            access_token: Some("bearer-s3cret".into()),
            ..SailPointConfig::from_client_credentials(
                "https://u:url-s3cret@acme.api.identitynow.com/?q=q-s3cret",
                "id",
                "client-s3cret".into(),
            )
        };
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret"), "{text}");
        let json = serde_json::json!({
            "base_url": "https://a.example.com", "client_secret": "s", "access_token": "t",
            "api_version": "V2025"
        });
        for field in SailPointConfig::SECRET_FIELDS {
            assert!(json.get(field).is_some(), "{field}");
        }
        let parsed: SailPointConfig = serde_json::from_value(json).unwrap();
        assert_eq!(parsed.api_version, Some(ApiVersion::V2025));
    }

    #[test]
    fn constructors_and_from_config_carry_every_setting() {
        let config = SailPointConfig::from_access_token("https://acme.example.com", "t".into())
            .with_api_version(ApiVersion::V2025)
            .with_owner_id("owner-1");
        assert!(config.access_token.is_some());
        let client = SailPointClientBuilder::from_config(&config)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.api_version(), ApiVersion::V2025);
        assert_eq!(client.default_owner(), Some("owner-1"));
        let client = SailPointClient::from_config(&SailPointConfig::from_client_credentials(
            "https://acme.example.com",
            "id",
            "s".into(),
        ))
        .unwrap();
        assert_eq!(client.api_version(), ApiVersion::V3);
        assert_eq!(client.default_owner(), None);
        let text = format!("{config:?}");
        assert!(
            text.contains("acme.example.com") && text.contains("owner-1"),
            "{text}"
        );
    }

    #[test]
    fn every_version_parses_from_its_name() {
        for version in ApiVersion::ALL {
            assert_eq!(version.as_str().parse::<ApiVersion>().unwrap(), version);
            assert_eq!(
                version
                    .as_str()
                    .to_uppercase()
                    .parse::<ApiVersion>()
                    .unwrap(),
                version
            );
        }
        let err = "v4".parse::<ApiVersion>().unwrap_err();
        assert_eq!(err.field(), Some("api_version"));
        assert_eq!(
            err.reason(),
            Some("must be one of `v3`, `beta`, `v2024`, `v2025`, `v2026`, `v1`")
        );
    }
}
