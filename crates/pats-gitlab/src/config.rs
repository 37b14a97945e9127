//! [`GitLabConfig`]: the settings of a GitLab client, from a file, from code or from the
//! environment.

use crate::client::{ENV_BASE_URL, ENV_TOKEN, GitLabClient, GitLabClientBuilder};
use pats_core::__private::env::{self, Names};
use pats_core::__private::redact::ShownUrl;
use pats_core::{Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;

/// Environment variable with the user whose tokens are managed when a call names none.
pub const ENV_USER_ID: &str = "GITLAB_USER_ID";
/// Environment variable with the scopes of a create that names none (comma-separated).
pub const ENV_SCOPES: &str = "GITLAB_SCOPES";

/// GitLab settings: what [`GitLabClient::from_config`] needs, deserializable from a file
/// (the field names below), built in code, or read from the environment
/// ([`from_env`](Self::from_env)).
///
/// | field | variable | |
/// | --- | --- | --- |
/// | `token` | `GITLAB_TOKEN` | required: the access token to authenticate with |
/// | `base_url` | `GITLAB_BASE_URL` | the instance, default `https://gitlab.com` |
/// | `user_id` | `GITLAB_USER_ID` | the user whose tokens are managed when a call names none (creating for a user needs an administrator's token) |
/// | `scopes` | `GITLAB_SCOPES` | the scopes of a create that names none (the variable: comma-separated, `api,read_repository`) |
///
/// ```
/// use pats_gitlab::GitLabConfig;
/// use secrecy::SecretString;
///
/// let config = GitLabConfig::from_token(SecretString::from("glpat-example"))
///     .with_base_url("https://gitlab.example.com")
///     .with_user_id(42)
///     .with_scopes(["read_api"]);
/// # let _ = config;
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GitLabConfig {
    /// The access token (personal, project, group or OAuth) to authenticate with.
    pub token: SecretString,
    /// The instance, e.g. `https://gitlab.example.com` (default `https://gitlab.com`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The user whose tokens are managed when a call names no owner.
    #[serde(default)]
    pub user_id: Option<u64>,
    /// The scopes a create gets when its request names none.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// Each field's environment variable: what `from_lookup` reads, and how errors of the
/// environment path name a setting.
const ENV: Names = Names::env(&[
    ("token", ENV_TOKEN),
    ("base_url", ENV_BASE_URL),
    ("user_id", ENV_USER_ID),
    ("scopes", ENV_SCOPES),
]);

impl fmt::Debug for GitLabConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitLabConfig")
            .field("token", &self.token)
            .field("base_url", &self.base_url.as_deref().map(ShownUrl))
            .field("user_id", &self.user_id)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl GitLabConfig {
    /// The settings that hold secrets (shown as `[REDACTED]` in `Debug`).
    pub const SECRET_FIELDS: &'static [&'static str] = &["token"];

    /// The settings naming a file the client reads when it is built: none.
    pub const KEY_FILE_FIELDS: &'static [&'static str] = &[];

    /// Settings authenticating with `token` on GitLab.com.
    pub fn from_token(token: SecretString) -> Self {
        Self {
            token,
            base_url: None,
            user_id: None,
            scopes: None,
        }
    }

    /// The instance (default `https://gitlab.com`).
    #[must_use]
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The user whose tokens are managed when a call names no owner.
    #[must_use]
    pub fn with_user_id(mut self, id: u64) -> Self {
        self.user_id = Some(id);
        self
    }

    /// The scopes of a create that names none.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Reads the `GITLAB_*` variables of the process environment (see the table above).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env::process_env)
    }

    /// Reads the `GITLAB_*` variables from `lookup` (a variable name to its value). A
    /// missing or malformed variable is an
    /// [`InvalidInput`](pats_core::ErrorKind::InvalidInput) naming it, never its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let lookup: env::Lookup<'_> = &lookup;
        let mut config =
            Self::from_token(SecretString::from(env::required(lookup, ENV.of("token"))?));
        config.base_url = env::optional(lookup, ENV.of("base_url"));
        config.user_id = env::optional(lookup, ENV.of("user_id"))
            .map(|text| user_id(&text, ENV))
            .transpose()?;
        config.scopes = env::optional(lookup, ENV.of("scopes")).map(|text| {
            text.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        });
        Ok(config)
    }

    /// A builder with these settings, errors naming settings as `names` does.
    fn builder(&self, names: Names) -> Result<GitLabClientBuilder> {
        let mut builder = GitLabClient::builder().token(self.token.clone());
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(id) = self.user_id {
            if id == 0 {
                return Err(Error::invalid(
                    names.of("user_id"),
                    "a GitLab user id is a positive integer",
                ));
            }
            builder = builder.default_owner(id);
        }
        if let Some(scopes) = &self.scopes {
            if scopes.iter().any(|s| s.trim().is_empty()) {
                return Err(Error::invalid(
                    names.of("scopes"),
                    "a scope must not be empty",
                ));
            }
            builder = builder.default_scopes(scopes.iter().cloned());
        }
        Ok(builder)
    }

    /// The builder [`GitLabClientBuilder::from_lookup`] starts from.
    pub(crate) fn env_builder(&self) -> Result<GitLabClientBuilder> {
        self.builder(ENV)
    }
}

/// A user id as the variable gives it: a positive integer.
fn user_id(text: &str, names: Names) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Error::invalid(
            names.of("user_id"),
            "a GitLab user id is a positive integer",
        )),
    }
}

impl GitLabClientBuilder {
    /// A builder with the settings of `config`; add options before
    /// [`build`](Self::build).
    pub fn from_config(config: &GitLabConfig) -> Result<Self> {
        config.builder(Names::FIELDS)
    }
}

impl GitLabClient {
    /// A client with the settings of `config` and default options (see
    /// [`GitLabClientBuilder::from_config`] for more).
    pub fn from_config(config: &GitLabConfig) -> Result<Self> {
        GitLabClientBuilder::from_config(config)?.build()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_environment_gives_every_setting_and_errors_name_the_variable() {
        let config = GitLabConfig::from_lookup(lookup(&[
            ("GITLAB_TOKEN", "glpat-env-s3cret"),
            ("GITLAB_BASE_URL", "https://gitlab.example.com"),
            ("GITLAB_USER_ID", " 42 "),
            ("GITLAB_SCOPES", "api, read_repository,,"),
        ]))
        .unwrap();
        assert_eq!(config.user_id, Some(42));
        assert_eq!(
            config.scopes.as_deref(),
            Some(&["api".to_owned(), "read_repository".to_owned()][..])
        );
        let client = GitLabClientBuilder::from_lookup(lookup(&[
            ("GITLAB_TOKEN", "glpat-env-s3cret"),
            ("GITLAB_USER_ID", "7"),
            ("GITLAB_SCOPES", "read_api"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(client.default_owner(), Some(7));
        assert_eq!(client.default_scopes(), ["read_api"]);
        assert_eq!(client.transport().base_url().host_str(), Some("gitlab.com"));

        let err = GitLabConfig::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err.field(), Some("GITLAB_TOKEN"));
        for bad in ["0", "-1", "alice", "4.2"] {
            let err = GitLabConfig::from_lookup(lookup(&[
                ("GITLAB_TOKEN", "glpat-env-s3cret"),
                ("GITLAB_USER_ID", bad),
            ]))
            .unwrap_err();
            assert_eq!(err.field(), Some("GITLAB_USER_ID"), "{bad}");
            assert!(!format!("{err} {err:?}").contains("s3cret"));
        }
    }

    #[test]
    fn files_and_code_give_the_same_client_and_debug_shows_no_secret() {
        let parsed: GitLabConfig = serde_json::from_value(serde_json::json!({
            "token": "glpat-file-s3cret",
            "base_url": "https://u:url-s3cret@gitlab.example.com/?q=q-s3cret",
            "user_id": 3,
            "scopes": ["api"]
        }))
        .unwrap();
        for field in GitLabConfig::SECRET_FIELDS {
            assert_eq!(*field, "token");
        }
        let text = format!("{parsed:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("gitlab.example.com"), "{text}");
        // Credentials in the URL are refused, and the error shows none.
        let err = GitLabClient::from_config(&parsed).unwrap_err();
        assert_eq!(err.field(), Some("base_url"));
        assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
        let parsed = parsed.with_base_url("https://gitlab.example.com");
        let client = GitLabClient::from_config(&parsed).unwrap();
        assert_eq!(client.default_owner(), Some(3));
        assert_eq!(client.default_scopes(), ["api"]);

        let coded = GitLabConfig::from_token("glpat-x".into())
            .with_base_url("https://gitlab.example.com")
            .with_user_id(3)
            .with_scopes(["api"]);
        let client = GitLabClient::from_config(&coded).unwrap();
        assert_eq!(client.default_owner(), Some(3));

        let err = GitLabClient::from_config(&coded.clone().with_user_id(0)).unwrap_err();
        assert_eq!(err.field(), Some("user_id"));
        let err = GitLabClient::from_config(&coded.with_scopes(["api", " "])).unwrap_err();
        assert_eq!(err.field(), Some("scopes"));
        let err = serde_json::from_value::<GitLabConfig>(serde_json::json!({
            "token": "t", "private_token": "x"
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
