//! [`ZitadelConfig`]: the settings of a ZITADEL client, from a file, from code or from the
//! environment.

use crate::auth::ZitadelAuth;
use crate::client::{ApiVersion, ZitadelClient, ZitadelClientBuilder};
use pats_core::__private::env::{self, Names};
use pats_core::__private::redact::ShownUrl;
use pats_core::{Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// ZITADEL settings: what [`ZitadelClient::from_config`] needs, deserializable from a file
/// (the field names below), built in code, or read from the environment
/// ([`from_env`](Self::from_env)).
///
/// | field | variable | |
/// | --- | --- | --- |
/// | `base_url` | `ZITADEL_URL` | required: the instance, `https://acme.zitadel.cloud` |
/// | `pat` | `ZITADEL_PAT` | a machine user's PAT |
/// | `key_file` | `ZITADEL_KEY_FILE` | or a JWT-profile key file (JSON), read when the client is built |
/// | `client_id`, `client_secret` | `ZITADEL_CLIENT_ID`, `ZITADEL_CLIENT_SECRET` | or a machine user's client credentials |
/// | `organization_id` | `ZITADEL_ORG_ID` | the organization every call is scoped to (`x-zitadel-orgid`) |
/// | `user_id` | `ZITADEL_USER_ID` | the machine user whose tokens are managed when a call names none |
/// | `api` | `ZITADEL_API` | `v2` (default) or `v1` |
///
/// One of the three credentials is required; when several are given the first in the
/// table is used. The key file must be a regular file of at most 64 KiB
/// ([`pats_core::files::read_to_string`]): a FIFO or a device is refused, never waited on.
///
/// ```
/// use pats_zitadel::{ApiVersion, ZitadelConfig};
///
/// let config = ZitadelConfig::from_key_file("https://acme.zitadel.cloud", "key.json")
///     .with_user_id("250000000000000001")
///     .with_api(ApiVersion::V1);
/// # let _ = config;
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ZitadelConfig {
    /// The instance URL, for example `https://acme.zitadel.cloud`.
    pub base_url: String,
    /// A machine user's PAT (or give `key_file`, or `client_id` and `client_secret`).
    #[serde(default)]
    pub pat: Option<SecretString>,
    /// A JWT-profile key file (JSON with `keyId`, `key`, `userId`), read when the client is
    /// built.
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
    /// Which API the client calls (`"v2"`, the default, or `"v1"`).
    #[serde(default)]
    pub api: Option<ApiVersion>,
}

/// Each field's environment variable: what `from_lookup` reads, and how errors of the
/// environment path name a setting.
const ENV: Names = Names::env(&[
    ("base_url", "ZITADEL_URL"),
    ("pat", "ZITADEL_PAT"),
    ("key_file", "ZITADEL_KEY_FILE"),
    ("client_id", "ZITADEL_CLIENT_ID"),
    ("client_secret", "ZITADEL_CLIENT_SECRET"),
    ("organization_id", "ZITADEL_ORG_ID"),
    ("user_id", "ZITADEL_USER_ID"),
    ("api", "ZITADEL_API"),
]);

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

/// The credential a configuration selects.
enum Credential<'a> {
    Pat(&'a SecretString),
    KeyFile(&'a Path),
    ClientCredentials(&'a str, &'a SecretString),
}

impl ZitadelConfig {
    /// The settings that hold secrets (shown as `[REDACTED]` in `Debug`). `key_file` names
    /// a file holding one.
    pub const SECRET_FIELDS: &'static [&'static str] = &["pat", "client_secret"];

    /// The settings naming a file the client reads when it is built (a key file).
    pub const KEY_FILE_FIELDS: &'static [&'static str] = &["key_file"];

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

    /// Settings authenticating with a JWT-profile key file, read when the client is built.
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
    pub fn with_api(mut self, api: ApiVersion) -> Self {
        self.api = Some(api);
        self
    }

    /// Reads the `ZITADEL_*` variables of the process environment (see the table above).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env::process_env)
    }

    /// Reads the `ZITADEL_*` variables from `lookup` (a variable name to its value). A
    /// missing or malformed variable is an
    /// [`InvalidInput`](pats_core::ErrorKind::InvalidInput) naming it, never its value;
    /// the key file is read later, when the client is built.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let lookup: env::Lookup<'_> = &lookup;
        // The credential is checked first: with nothing set, it is what to read about.
        let mut config = Self {
            pat: env::optional(lookup, ENV.of("pat")).map(SecretString::from),
            key_file: env::optional(lookup, ENV.of("key_file")).map(PathBuf::from),
            client_id: env::optional(lookup, ENV.of("client_id")),
            client_secret: env::optional(lookup, ENV.of("client_secret")).map(SecretString::from),
            ..Self::new(String::new())
        };
        config.credential(ENV)?;
        config.base_url = env::required(lookup, ENV.of("base_url"))?;
        config.organization_id = env::optional(lookup, ENV.of("organization_id"));
        config.user_id = env::optional(lookup, ENV.of("user_id"));
        config.api = env::parse_var(lookup, ENV.of("api"))?;
        Ok(config)
    }

    /// The one place the credential is chosen: `pat`, else `key_file`, else `client_id`
    /// with `client_secret`.
    fn credential(&self, names: Names) -> Result<Credential<'_>> {
        match (
            &self.pat,
            &self.key_file,
            &self.client_id,
            &self.client_secret,
        ) {
            (Some(pat), _, _, _) => Ok(Credential::Pat(pat)),
            (None, Some(path), _, _) => Ok(Credential::KeyFile(path)),
            (None, None, Some(id), Some(secret)) => Ok(Credential::ClientCredentials(id, secret)),
            (None, None, Some(_), None) => {
                Err(Error::invalid(names.of("client_secret"), "is not set"))
            }
            (None, None, None, Some(_)) => Err(Error::invalid(names.of("client_id"), "is not set")),
            (None, None, None, None) => Err(Error::invalid(
                names.of("pat"),
                format!(
                    "is not set (nor {}, nor {} and {})",
                    names.of("key_file"),
                    names.of("client_id"),
                    names.of("client_secret")
                ),
            )),
        }
    }

    /// A builder with these settings, errors naming settings as `names` does.
    fn builder(&self, names: Names) -> Result<ZitadelClientBuilder> {
        let auth = match self.credential(names)? {
            Credential::Pat(pat) => ZitadelAuth::pat(pat.clone()),
            Credential::KeyFile(path) => {
                ZitadelAuth::key_file_path(path).map_err(|e| e.with_field(names.of("key_file")))?
            }
            Credential::ClientCredentials(id, secret) => {
                ZitadelAuth::client_credentials(id, secret.clone())
            }
        };
        let mut builder = ZitadelClient::builder()
            .base_url(self.base_url.clone())
            .auth(auth)
            .api_version(self.api.unwrap_or_default());
        if let Some(org) = &self.organization_id {
            builder = builder.organization(org.clone());
        }
        if let Some(user) = &self.user_id {
            builder = builder.default_user(user.clone());
        }
        Ok(builder)
    }

    /// The builder [`ZitadelClientBuilder::from_lookup`] starts from.
    pub(crate) fn env_builder(&self) -> Result<ZitadelClientBuilder> {
        self.builder(ENV)
    }
}

impl ZitadelClientBuilder {
    /// A builder with the settings of `config` (reading its key file, if it names one);
    /// add options or another token source before [`build`](Self::build).
    pub fn from_config(config: &ZitadelConfig) -> Result<Self> {
        config.builder(Names::FIELDS)
    }
}

impl ZitadelClient {
    /// A client with the settings of `config` and default options (see
    /// [`ZitadelClientBuilder::from_config`] for more).
    pub fn from_config(config: &ZitadelConfig) -> Result<Self> {
        ZitadelClientBuilder::from_config(config)?.build()
    }
}

impl ApiVersion {
    /// Every API.
    pub const ALL: [ApiVersion; 2] = [Self::V2, Self::V1];

    /// The name used in files and in `ZITADEL_API`: `v2` or `v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V1 => "v1",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `v2` or `v1`, in any case.
impl FromStr for ApiVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        env::parse_name(s, &Self::ALL, Self::as_str, "api")
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
        let both = ZitadelConfig::from_pat("https://a.zitadel.cloud", "p".into());
        let mut all = ZitadelConfig {
            key_file: Some("k.json".into()),
            client_id: Some("id".into()),
            client_secret: Some("s".into()),
            ..both
        };
        assert!(matches!(
            all.credential(Names::FIELDS),
            Ok(Credential::Pat(_))
        ));
        all.pat = None;
        assert!(matches!(
            all.credential(Names::FIELDS),
            Ok(Credential::KeyFile(_))
        ));
        all.key_file = None;
        assert!(matches!(
            all.credential(Names::FIELDS),
            Ok(Credential::ClientCredentials("id", _))
        ));
        all.client_secret = None;
        assert_eq!(
            all.credential(ENV).err().unwrap().field(),
            Some("ZITADEL_CLIENT_SECRET")
        );
        assert_eq!(
            all.credential(Names::FIELDS).err().unwrap().field(),
            Some("client_secret")
        );
        all.client_id = None;
        all.client_secret = Some("s".into());
        assert_eq!(
            all.credential(ENV).err().unwrap().field(),
            Some("ZITADEL_CLIENT_ID")
        );
        all.client_secret = None;
        let err = all.credential(Names::FIELDS).err().unwrap();
        assert_eq!(err.field(), Some("pat"));
        assert_eq!(
            err.reason(),
            Some("is not set (nor key_file, nor client_id and client_secret)")
        );
        let err = all.credential(ENV).err().unwrap();
        assert_eq!(
            err.reason(),
            Some(
                "is not set (nor ZITADEL_KEY_FILE, nor ZITADEL_CLIENT_ID and ZITADEL_CLIENT_SECRET)"
            )
        );
    }

    #[test]
    fn debug_redacts_every_secret_field() {
        let config = ZitadelConfig {
            pat: Some("pat-s3cret".into()),
            ..ZitadelConfig::from_client_credentials(
                "https://u:url-s3cret@a.zitadel.cloud",
                "id",
                "client-s3cret".into(),
            )
        };
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret"), "{text}");
        let json = serde_json::json!({
            "base_url": "https://a.zitadel.cloud", "pat": "p", "client_secret": "s", "api": "V1"
        });
        for field in ZitadelConfig::SECRET_FIELDS {
            assert!(json.get(field).is_some(), "{field}");
        }
        let parsed: ZitadelConfig = serde_json::from_value(json).unwrap();
        assert_eq!(parsed.api, Some(ApiVersion::V1));
    }

    #[test]
    fn constructors_and_from_config_carry_every_setting() {
        let config = ZitadelConfig::from_client_credentials(
            "https://acme.zitadel.cloud",
            "client-1",
            "s".into(),
        )
        .with_organization_id("org-1")
        .with_user_id("250000000000000001")
        .with_api(ApiVersion::V1);
        assert_eq!(config.client_id.as_deref(), Some("client-1"));
        assert!(config.client_secret.is_some());
        let client = ZitadelClientBuilder::from_config(&config)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.organization(), Some("org-1"));
        assert_eq!(client.default_user(), Some("250000000000000001"));
        assert_eq!(client.api_version(), ApiVersion::V1);
        let text = format!("{config:?}");
        assert!(
            text.contains("acme.zitadel.cloud") && text.contains("client-1"),
            "{text}"
        );
        let config = ZitadelConfig::from_key_file("https://acme.zitadel.cloud", "k.json");
        assert_eq!(config.key_file.as_deref(), Some(Path::new("k.json")));
        let client = ZitadelClient::from_config(&ZitadelConfig::from_pat(
            "https://acme.zitadel.cloud",
            "p".into(),
        ))
        .unwrap();
        assert_eq!(client.api_version(), ApiVersion::V2);
        assert_eq!(client.organization(), None);
    }

    #[test]
    fn api_versions_are_named_in_any_case() {
        for api in ApiVersion::ALL {
            assert_eq!(
                api.as_str().to_uppercase().parse::<ApiVersion>().unwrap(),
                api
            );
            assert_eq!(api.to_string(), api.as_str());
        }
        let err = "v3".parse::<ApiVersion>().unwrap_err();
        assert_eq!(err.field(), Some("api"));
        assert_eq!(err.reason(), Some("must be one of `v2`, `v1`"));
        let err = serde_json::from_value::<ZitadelConfig>(serde_json::json!({
            "base_url": "https://a.zitadel.cloud", "api": "v3"
        }))
        .unwrap_err();
        assert!(
            err.to_string().contains("must be one of `v2`, `v1`"),
            "{err}"
        );
    }
}
