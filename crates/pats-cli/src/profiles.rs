//! The profiles file: `[profiles.NAME]` tables, each a provider and its settings, with
//! secrets referenced from the environment (`FIELD_env = "VAR"`) or a file
//! (`FIELD_file = "path"`) instead of written inline.
//!
//! The references are resolved here, in the CLI, and not in `pats::Config`: a library user
//! already builds a `Config` from code or from the environment, with the secret in hand; a
//! profiles file with indirections, a default location, a permission check and a listing
//! that must never read a secret is an operator's concern. The resolved table is then
//! deserialized into the provider's settings type of `pats::Config` unchanged, so every
//! setting the library knows is a profile setting.
//!
//! Files (the profiles file, `*_file` references) are read with `pats::files`: regular files
//! of at most 64 KiB, so that a FIFO, a device or a huge file named by mistake is refused at
//! once instead of hanging `pats` (and every other profile of `--all` with it). Errors name
//! the profile, the setting and the path, and never quote a value: a wrongly typed setting
//! is reported by its name and the type it takes.
//!
//! A file with a top-level `provider` (the single-provider `--config` file of earlier
//! versions) is one profile named `default`; the same secret references work in it.

use crate::error::{CliError, one_line};
use pats::Config;
use pats::files::{self, FileError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The name of the profile a single-provider file (top-level `provider`) is.
pub const UNNAMED: &str = "default";

/// A secret setting of a provider, and whether the library reads its `_file` setting
/// itself (a key file).
struct SecretField {
    field: &'static str,
    /// A `FIELD_file` the library reads itself when connecting (a key file).
    library_file: bool,
}

/// The secret settings of each provider, as its configuration type lists them.
fn secret_fields(provider: &str) -> Vec<SecretField> {
    let files = Config::key_file_fields(provider).unwrap_or_default();
    Config::secret_fields(provider)
        .unwrap_or_default()
        .iter()
        .map(|&field| SecretField {
            field,
            library_file: files.iter().any(|f| f.strip_suffix("_file") == Some(field)),
        })
        .collect()
}

/// The key files the library reads that hold no secret setting of their own (ZITADEL's
/// `key_file`), by the name of what they hold (`key`).
fn key_files(provider: &str) -> impl Iterator<Item = (&'static str, &'static str)> {
    let secrets = Config::secret_fields(provider).unwrap_or_default();
    Config::key_file_fields(provider)
        .unwrap_or_default()
        .iter()
        .filter_map(move |&file| {
            let held = file.strip_suffix("_file")?;
            (!secrets.contains(&held)).then_some((file, held))
        })
}

/// Where a secret comes from (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "from", rename_all = "lowercase")]
pub enum SecretSource {
    /// An environment variable, by name.
    Env(String),
    /// A file, by path.
    File(String),
    /// Written in the profiles file.
    Inline,
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(var) => write!(f, "env {var}"),
            Self::File(path) => write!(f, "file {path}"),
            Self::Inline => f.write_str("inline"),
        }
    }
}

/// One profile as written, secrets unresolved.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// The provider named in it, as written (checked when it is resolved).
    pub provider: Option<String>,
    /// `simulate = true`: the embedded emulator, seeded with the demo tokens.
    pub simulate: bool,
    table: Table,
}

/// What running a profile needs.
pub enum Target {
    /// A real provider.
    Config(Config),
    /// The embedded emulator of this provider.
    Simulate(&'static str),
}

impl Profile {
    /// The base URL as [`shown_url`] shows it: without userinfo, query or fragment (they
    /// can hold credentials), `(invalid URL)` when it does not parse.
    pub fn shown_base_url(&self) -> Option<String> {
        if self.simulate {
            return Some("(embedded simulator)".into());
        }
        match self.table.get("base_url") {
            Some(Value::String(url)) => Some(shown_url(url)),
            _ if self.provider.as_deref() == Some("dfns") => {
                Some("https://api.dfns.io (default)".into())
            }
            _ => None,
        }
    }

    /// Each secret setting and where it comes from, in the provider's order.
    pub fn secrets(&self) -> Vec<(&'static str, SecretSource)> {
        let mut out = Vec::new();
        let Some(provider) = self.provider.as_deref() else {
            return out;
        };
        for f in &secret_fields(provider) {
            let env = format!("{}_env", f.field);
            let file = format!("{}_file", f.field);
            if let Some(Value::String(var)) = self.table.get(&env) {
                out.push((f.field, SecretSource::Env(var.clone())));
            } else if let Some(Value::String(path)) = self.table.get(&file) {
                out.push((f.field, SecretSource::File(path.clone())));
            } else if self.table.contains_key(f.field) {
                out.push((f.field, SecretSource::Inline));
            }
        }
        for (file, held) in key_files(provider) {
            if let Some(Value::String(path)) = self.table.get(file) {
                out.push((held, SecretSource::File(path.clone())));
            }
        }
        out
    }

    /// The secret settings written inline.
    pub fn inline_secrets(&self) -> Vec<&'static str> {
        if self.simulate {
            return Vec::new();
        }
        self.secrets()
            .into_iter()
            .filter(|(_, s)| *s == SecretSource::Inline)
            .map(|(f, _)| f)
            .collect()
    }

    /// Resolves the secret references (`env` looks a variable up) and the settings into
    /// what running the profile needs. The errors name the profile and the setting or
    /// variable, never a value.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, CliError> {
        let name = &self.name;
        // The CLI's own settings, read in `Profile::new`: a wrong type is said, not ignored.
        if let Some(value) = self.table.get("simulate").filter(|v| !v.is_bool()) {
            return Err(CliError::usage(format!(
                "profile `{name}`: `simulate` must be true or false (without quotes), not {}",
                type_name(value)
            )));
        }
        if let Some(value) = self.table.get("provider").filter(|v| !v.is_str()) {
            return Err(CliError::usage(format!(
                "profile `{name}`: `provider` must be a string, \"dfns\", \"zitadel\", \
                 \"sailpoint\" or \"gitlab\", not {}",
                type_name(value)
            )));
        }
        let provider = match self.provider.as_deref() {
            Some(p) => parse_provider(p)
                .map_err(|e| CliError::usage(format!("profile `{name}`: provider {e}")))?,
            None => {
                return Err(CliError::usage(format!(
                    "profile `{name}` names no provider: add `provider = \"dfns\" | \"zitadel\" \
                     | \"sailpoint\" | \"gitlab\"`"
                )));
            }
        };
        if self.simulate {
            return Ok(Target::Simulate(provider));
        }
        let mut table = self.table.clone();
        table.remove("simulate");
        for f in &secret_fields(provider) {
            let env_key = format!("{}_env", f.field);
            let file_key = format!("{}_file", f.field);
            let given: Vec<&str> = [f.field, env_key.as_str(), file_key.as_str()]
                .into_iter()
                .filter(|k| table.contains_key(*k))
                .collect();
            if given.len() > 1 {
                return Err(CliError::usage(format!(
                    "profile `{name}`: give only one of {}",
                    given
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if let Some(value) = table.remove(&env_key) {
                let Value::String(var) = value else {
                    return Err(CliError::usage(format!(
                        "profile `{name}`: `{env_key}` must be the name of an environment \
                         variable"
                    )));
                };
                let secret = env(&var).filter(|v| !v.is_empty()).ok_or_else(|| {
                    CliError::usage(format!(
                        "profile `{name}`: `{env_key}` names {var}, which is not set; export \
                         it, or point `{file_key}` at a file holding the secret"
                    ))
                })?;
                table.insert(f.field.to_owned(), Value::String(secret));
            }
            if f.library_file {
                continue;
            }
            if let Some(value) = table.remove(&file_key) {
                let Value::String(path) = value else {
                    return Err(CliError::usage(format!(
                        "profile `{name}`: `{file_key}` must be a file path"
                    )));
                };
                let text = files::read_to_string(&path).map_err(|e| {
                    CliError::usage(match e {
                        FileError::Io { error, .. } => format!(
                            "profile `{name}`: cannot read `{file_key}` {path}: {}",
                            one_line(&error.to_string())
                        ),
                        other => format!(
                            "profile `{name}`: `{file_key}` {}",
                            one_line(&other.to_string())
                        ),
                    })
                })?;
                let secret = text.trim_end_matches(['\n', '\r']).to_owned();
                if secret.is_empty() {
                    return Err(CliError::usage(format!(
                        "profile `{name}`: `{file_key}` {path} is empty"
                    )));
                }
                table.insert(f.field.to_owned(), Value::String(secret));
            }
        }
        // Each provider's settings type directly rather than `Config`, which is tagged by
        // `provider`: through a tagged enum, serde's errors lose the setting's name.
        table.remove("provider");
        let config = match provider {
            "dfns" => settings::<pats::DfnsConfig>(&table),
            "zitadel" => settings::<pats::ZitadelConfig>(&table),
            "sailpoint" => settings::<pats::SailPointConfig>(&table),
            "gitlab" => settings::<pats::GitLabConfig>(&table),
            other => {
                let mut tagged = table.clone();
                tagged.insert("provider".into(), Value::String(other.into()));
                settings::<Config>(&tagged)
            }
        };
        let config = config.map_err(|e| {
            CliError::usage(format!(
                "profile `{name}`: {}; see `pats --help` for each provider's settings",
                settings_problem(&e, &table)
            ))
        })?;
        Ok(Target::Config(config))
    }
}

/// A provider's settings from a profile's resolved table.
fn settings<T: DeserializeOwned + Into<Config>>(table: &Table) -> Result<Config, toml::de::Error> {
    Value::Table(table.clone()).try_into::<T>().map(Into::into)
}

/// Why a profile's settings did not deserialize, naming the setting and what it takes but
/// never the value given: serde's messages quote it (``invalid type: integer `12345678`,
/// expected a string``), and it may be a secret written without quotes.
fn settings_problem(e: &toml::de::Error, table: &Table) -> String {
    let message = one_line(e.message());
    // toml names the setting on a last line ``in `KEY` `` of its rendering (the message
    // alone does not, and the keys are not public); the rendering holds no input here, as
    // the table was not parsed from text.
    let rendered = e.to_string();
    let setting = rendered
        .lines()
        .last()
        .and_then(|line| line.strip_prefix("in `")?.strip_suffix('`'))
        .and_then(|key| Some((key, table.get(key)?)));
    let quotes_value = ["invalid type: ", "invalid value: ", "unknown variant "]
        .iter()
        .any(|p| message.starts_with(p));
    if !quotes_value {
        // `missing field`, `unknown field` (names only) and pats's own messages, which
        // never quote a value.
        return match setting {
            Some((key, _)) => format!("`{key}` {message}"),
            None => message,
        };
    }
    let expected = message
        .rsplit_once(", expected ")
        .map(|(_, expected)| expected);
    match (setting, expected) {
        (Some((key, value)), Some(expected)) if message.starts_with("invalid type: ") => {
            format!("`{key}` must be {expected}, not {}", type_name(value))
        }
        (Some((key, _)), Some(expected)) => {
            format!("`{key}` has an invalid value; expected {expected}")
        }
        (Some((key, _)), None) => format!("`{key}` has an invalid value"),
        (None, Some(expected)) => {
            format!("a setting has a wrong type or value; expected {expected}")
        }
        (None, None) => "a setting has a wrong type or value".into(),
    }
}

/// The type of a TOML value, with its article ("an integer").
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn parse_provider(p: &str) -> Result<&'static str, String> {
    crate::cli::known_provider(p).ok_or_else(|| {
        format!(
            "`{p}` is unknown; this build has {}",
            pats::PROVIDERS.join(", ")
        )
    })
}

/// `url` as the core's redaction shows it (`pats::__private::redact::shown_url`): without
/// userinfo, query or fragment, which can hold credentials; `(invalid URL)` when it does
/// not parse (it may hold anything: `https://svc:PW?x@host` is not a URL with a password
/// but text with one).
pub fn shown_url(url: &str) -> String {
    pats::__private::redact::shown_url(url).unwrap_or_else(|| "(invalid URL)".into())
}

/// A profiles file, read.
#[derive(Debug)]
pub struct ProfilesFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its profiles, by name.
    pub profiles: BTreeMap<String, Profile>,
    /// `default_profile = "NAME"`.
    pub default: Option<String>,
    /// Whether group or others may read it (unix mode & 0o077).
    pub readable_by_others: Option<u32>,
}

/// The default location: `$XDG_CONFIG_HOME/pats/config.toml`, else
/// `$HOME/.config/pats/config.toml`.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".config"))
        })?;
    Some(base.join("pats").join("config.toml"))
}

#[cfg(unix)]
fn loose_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then_some(mode & 0o777)
}

#[cfg(not(unix))]
fn loose_mode(_: &Path) -> Option<u32> {
    None
}

impl ProfilesFile {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let source = path.display().to_string();
        let text = files::read_to_string(path).map_err(|e| {
            CliError::usage(match e {
                FileError::Io { error, .. } => format!(
                    "cannot read the config file {source}: {}; give an existing TOML file, or \
                     use the environment (see `pats --help`)",
                    one_line(&error.to_string())
                ),
                other => format!(
                    "the config file {}; give a regular TOML file of at most {} KiB, or use \
                     the environment (see `pats --help`)",
                    one_line(&other.to_string()),
                    files::MAX_LEN / 1024
                ),
            })
        })?;
        let mut file = Self::parse(&text, &source)?;
        file.path = path.to_owned();
        file.readable_by_others = loose_mode(path);
        Ok(file)
    }

    fn parse(text: &str, source: &str) -> Result<Self, CliError> {
        let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
            // The message only: the error's own rendering quotes the file's line, which may
            // hold a secret.
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            CliError::usage(format!(
                "config file {source}{}: {}",
                line.map(|l| format!(" line {l}")).unwrap_or_default(),
                one_line(e.message())
            ))
        })?;
        let mut profiles = BTreeMap::new();
        let single = table.contains_key("provider");
        let default = match table.remove("default_profile") {
            None => None,
            Some(Value::String(name)) => Some(name),
            Some(_) => {
                return Err(CliError::usage(format!(
                    "config file {source}: `default_profile` must be a profile name"
                )));
            }
        };
        if single {
            if table.contains_key("profiles") {
                return Err(CliError::usage(format!(
                    "config file {source}: either a top-level `provider` (one profile) or \
                     `[profiles.NAME]` tables, not both"
                )));
            }
            profiles.insert(UNNAMED.to_owned(), Profile::new(UNNAMED, table));
        } else {
            let section = match table.remove("profiles") {
                None => Table::new(),
                Some(Value::Table(t)) => t,
                Some(_) => {
                    return Err(CliError::usage(format!(
                        "config file {source}: `profiles` must be tables: `[profiles.NAME]`"
                    )));
                }
            };
            if let Some(key) = table.keys().next() {
                return Err(CliError::usage(format!(
                    "config file {source}: unknown top-level setting `{key}`; settings go in \
                     `[profiles.NAME]` tables (or give a top-level `provider` for one profile)"
                )));
            }
            for (name, value) in section {
                let Value::Table(t) = value else {
                    return Err(CliError::usage(format!(
                        "config file {source}: `profiles.{name}` must be a table"
                    )));
                };
                profiles.insert(name.clone(), Profile::new(&name, t));
            }
            if let Some(d) = &default
                && !profiles.contains_key(d)
            {
                return Err(CliError::usage(format!(
                    "config file {source}: default_profile `{d}` is not a profile; it has {}",
                    known(&profiles)
                )));
            }
        }
        Ok(Self {
            path: PathBuf::from(source),
            profiles,
            default,
            readable_by_others: None,
        })
    }

    /// The profile called `name`; an unknown name is a usage error listing the known ones.
    pub fn get(&self, name: &str) -> Result<&Profile, CliError> {
        self.profiles.get(name).ok_or_else(|| {
            CliError::usage(format!(
                "no profile `{name}` in {}; it has {}",
                self.path.display(),
                known(&self.profiles)
            ))
        })
    }

    /// The profile to use without `--all`: `wanted` (from `--profile` or `PATS_PROFILE`),
    /// else `default_profile`, else the only one.
    pub fn select(&self, wanted: Option<&str>) -> Result<&Profile, CliError> {
        if let Some(name) = wanted.or(self.default.as_deref()) {
            return self.get(name);
        }
        let mut all = self.profiles.values();
        match (all.next(), all.next()) {
            (Some(only), None) => Ok(only),
            (None, _) => Err(CliError::usage(format!(
                "{} has no profiles: add `[profiles.NAME]` tables (see `pats --help`)",
                self.path.display()
            ))),
            (Some(_), Some(_)) => Err(CliError::usage(format!(
                "{} has several profiles ({}): choose one with --profile NAME or PATS_PROFILE, \
                 set `default_profile`, or run over all of them with --all",
                self.path.display(),
                known(&self.profiles)
            ))),
        }
    }

    /// Warns on stderr about every profile with an inline secret when the file is readable
    /// by group or others.
    pub fn warn_inline_secrets(&self) {
        let Some(mode) = self.readable_by_others else {
            return;
        };
        for p in self.profiles.values() {
            let inline = p.inline_secrets();
            if inline.is_empty() {
                continue;
            }
            let fields = inline
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            eprintln!(
                "pats: warning: profile `{}` has {fields} inline in {}, which group or others \
                 can read (mode {mode:o}): chmod 600 it, or reference the secret with `{}_env` \
                 or `{}_file`",
                crate::output::printable(&p.name),
                crate::output::printable(&self.path.display().to_string()),
                inline[0],
                inline[0]
            );
        }
    }
}

fn known(profiles: &BTreeMap<String, Profile>) -> String {
    if profiles.is_empty() {
        return "no profiles".into();
    }
    profiles
        .keys()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Profile {
    fn new(name: &str, table: Table) -> Self {
        let provider = match table.get("provider") {
            Some(Value::String(p)) => Some(p.trim().to_ascii_lowercase()),
            _ => None,
        };
        let simulate = matches!(table.get("simulate"), Some(Value::Boolean(true)));
        Self {
            name: name.to_owned(),
            provider,
            simulate,
            table,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProfilesFile {
        ProfilesFile::parse(text, "test.toml").unwrap()
    }

    #[test]
    fn secrets_come_from_the_environment_a_file_or_inline() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("secret");
        std::fs::write(&key, "from-file\n").unwrap();
        let file = parse(&format!(
            "[profiles.a]\nprovider = \"sailpoint\"\nbase_url = \"https://u:p@acme.example/x?k=v\"\n\
             client_id = \"id\"\nclient_secret_env = \"A_SECRET\"\n\
             [profiles.b]\nprovider = \"SailPoint\"\nbase_url = \"https://b.example\"\n\
             access_token_file = {:?}\n\
             [profiles.c]\nprovider = \"zitadel\"\nbase_url = \"https://c.example\"\npat = \"inline\"\n",
            key.display().to_string()
        ));
        let a = file.get("a").unwrap();
        assert_eq!(
            a.secrets(),
            [("client_secret", SecretSource::Env("A_SECRET".into()))]
        );
        assert_eq!(a.shown_base_url().unwrap(), "https://acme.example/x");
        let env = |v: &str| (v == "A_SECRET").then(|| "from-env".to_owned());
        let Target::Config(Config::SailPoint(c)) = a.resolve(&env).unwrap() else {
            panic!("not sailpoint")
        };
        use pats::reexports::secrecy::ExposeSecret;
        assert_eq!(c.client_secret.unwrap().expose_secret(), "from-env");
        let Target::Config(Config::SailPoint(c)) = file.get("b").unwrap().resolve(&env).unwrap()
        else {
            panic!("not sailpoint")
        };
        assert_eq!(c.access_token.unwrap().expose_secret(), "from-file");
        let c = file.get("c").unwrap();
        assert_eq!(c.inline_secrets(), ["pat"]);
        // A missing variable names it, and what to do.
        let err = a.resolve(&|_| None).err().unwrap();
        assert!(err.message.contains("A_SECRET, which is not set"), "{err}");
    }

    #[test]
    fn an_unknown_profile_lists_the_known_ones() {
        let file = parse("[profiles.x]\nprovider = \"dfns\"\n[profiles.y]\nprovider = \"dfns\"\n");
        let err = file.get("z").err().unwrap();
        assert!(err.message.contains("it has `x`, `y`"), "{err}");
        let err = file.select(None).err().unwrap();
        assert!(err.message.contains("--profile"), "{err}");
        assert_eq!(file.select(Some("y")).unwrap().name, "y");
    }

    #[test]
    fn a_single_provider_file_is_the_default_profile() {
        let file =
            parse("provider = \"zitadel\"\nbase_url = \"https://z.example\"\npat_env = \"P\"\n");
        let p = file.select(None).unwrap();
        assert_eq!(p.name, UNNAMED);
        assert_eq!(p.secrets(), [("pat", SecretSource::Env("P".into()))]);
    }

    #[test]
    fn two_sources_for_one_secret_are_refused() {
        let file = parse(
            "[profiles.x]\nprovider = \"sailpoint\"\nbase_url = \"https://x\"\n\
             client_secret = \"s3cr3t\"\nclient_secret_env = \"V\"\n",
        );
        let err = file
            .get("x")
            .unwrap()
            .resolve(&|_| Some("v".into()))
            .err()
            .unwrap();
        assert!(err.message.contains("only one of"), "{err}");
        assert!(!err.message.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(shown_url("https://a:b@h:1/p?q=s#f"), "https://h:1/p");
        assert_eq!(shown_url("http://127.0.0.1:4600"), "http://127.0.0.1:4600/");
        // Not a URL: it may hold anything, a password included.
        for url in ["https://svc:PW?x@host", "https://svc:12/PW@host", "u@host"] {
            assert_eq!(shown_url(url), "(invalid URL)", "{url}");
        }
    }

    #[test]
    fn default_location_follows_xdg() {
        let env = |v: &str| match v {
            "XDG_CONFIG_HOME" => Some("/x".to_owned()),
            "HOME" => Some("/h".to_owned()),
            _ => None,
        };
        assert_eq!(
            default_path(&env).unwrap(),
            Path::new("/x/pats/config.toml")
        );
        let env = |v: &str| (v == "HOME").then(|| "/h".to_owned());
        assert_eq!(
            default_path(&env).unwrap(),
            Path::new("/h/.config/pats/config.toml")
        );
        assert!(default_path(&|_| None).is_none());
    }

    /// The usage error `result` holds, its message.
    fn usage<T>(result: Result<T, CliError>) -> String {
        match result {
            Err(e) => {
                assert_eq!(e.exit, crate::error::Exit::Usage, "{e}");
                e.message
            }
            Ok(_) => panic!("expected a usage error"),
        }
    }

    #[test]
    fn each_provider_lists_its_own_secret_settings() {
        let file = parse(
            "[profiles.d]\nprovider = \"dfns\"\nauth_token_env = \"T\"\n\
             private_key_file = \"/k.pem\"\n\
             [profiles.s]\nprovider = \"sailpoint\"\nclient_secret = \"x\"\n\
             access_token_env = \"A\"\n\
             [profiles.z]\nprovider = \"zitadel\"\npat_file = \"/p\"\nkey_file = \"/key.json\"\n\
             [profiles.zc]\nprovider = \"zitadel\"\nclient_id = \"c\"\nclient_secret_env = \"ZS\"\n\
             [profiles.n]\nprovider = \"dfns\"\nkey_file = \"/key.json\"\n\
             [profiles.u]\nprovider = \"other\"\npat = \"x\"\n",
        );
        assert_eq!(
            file.get("d").unwrap().secrets(),
            [
                ("auth_token", SecretSource::Env("T".into())),
                ("private_key", SecretSource::File("/k.pem".into())),
            ]
        );
        assert_eq!(
            file.get("s").unwrap().secrets(),
            [
                ("client_secret", SecretSource::Inline),
                ("access_token", SecretSource::Env("A".into())),
            ]
        );
        assert_eq!(file.get("s").unwrap().inline_secrets(), ["client_secret"]);
        assert_eq!(
            file.get("z").unwrap().secrets(),
            [
                ("pat", SecretSource::File("/p".into())),
                ("key", SecretSource::File("/key.json".into())),
            ]
        );
        // ZITADEL's client secret is a secret setting too, referenced like the others.
        assert_eq!(
            file.get("zc").unwrap().secrets(),
            [("client_secret", SecretSource::Env("ZS".into()))]
        );
        // `key_file` is ZITADEL's key, not a Dfns secret; an unknown provider has none.
        assert_eq!(file.get("n").unwrap().secrets(), []);
        assert_eq!(file.get("u").unwrap().secrets(), []);
        assert_eq!(SecretSource::Env("V".into()).to_string(), "env V");
        assert_eq!(SecretSource::File("/p".into()).to_string(), "file /p");
        assert_eq!(SecretSource::Inline.to_string(), "inline");
    }

    #[test]
    fn the_shown_base_url_says_where_the_calls_go() {
        let file = parse(
            "[profiles.sim]\nprovider = \"sailpoint\"\nsimulate = true\nclient_secret = \"x\"\n\
             [profiles.d]\nprovider = \"dfns\"\n\
             [profiles.z]\nprovider = \"zitadel\"\n\
             [profiles.u]\nprovider = \"zitadel\"\nbase_url = \"https://u:p@z.example/?a=b\"\n",
        );
        let sim = file.get("sim").unwrap();
        assert_eq!(
            sim.shown_base_url().as_deref(),
            Some("(embedded simulator)")
        );
        // A simulated profile's secrets are the emulator's: nothing inline to warn about.
        assert_eq!(sim.inline_secrets(), Vec::<&str>::new());
        assert!(matches!(
            sim.resolve(&|_| None),
            Ok(Target::Simulate("sailpoint"))
        ));
        assert_eq!(
            file.get("d").unwrap().shown_base_url().as_deref(),
            Some("https://api.dfns.io (default)")
        );
        assert_eq!(file.get("z").unwrap().shown_base_url(), None);
        assert_eq!(
            file.get("u").unwrap().shown_base_url().as_deref(),
            Some("https://z.example/")
        );
    }

    #[test]
    fn resolving_reads_references_and_leaves_the_library_its_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "tok-from-file\r\n").unwrap();
        let file = parse(&format!(
            "[profiles.d]\nprovider = \" DFNS \"\nauth_token_file = {:?}\n\
             credential_id = \"cr-1\"\nprivate_key_file = \"/keys/k.pem\"\n",
            token.display().to_string()
        ));
        let Target::Config(Config::Dfns(c)) = file.get("d").unwrap().resolve(&|_| None).unwrap()
        else {
            panic!("not dfns")
        };
        use pats::reexports::secrecy::ExposeSecret;
        assert_eq!(c.auth_token.expose_secret(), "tok-from-file");
        assert_eq!(c.credential_id, "cr-1");
        assert_eq!(
            c.private_key_file.as_deref(),
            Some(Path::new("/keys/k.pem"))
        );
        assert!(c.private_key.is_none());
    }

    #[test]
    fn bad_references_name_the_profile_and_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let file = parse(&format!(
            "[profiles.e]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat_env = \"P\"\n\
             [profiles.f]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat_file = {:?}\n\
             [profiles.m]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat_file = {:?}\n\
             [profiles.n]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat_env = 1\n\
             [profiles.p]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat_file = 1\n\
             [profiles.t]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat = \"a\"\n\
             pat_env = \"P\"\npat_file = \"/p\"\n\
             [profiles.x]\nprovider = \"vault\"\n\
             [profiles.y]\nbase_url = \"https://z\"\n",
            empty.display().to_string(),
            dir.path().join("missing").display().to_string(),
        ));
        let resolve = |name: &str, env: &dyn Fn(&str) -> Option<String>| {
            usage(file.get(name).unwrap().resolve(env))
        };
        // An empty variable is as good as none.
        let msg = resolve("e", &|_| Some(String::new()));
        assert!(
            msg.starts_with("profile `e`: `pat_env` names P, which is not set"),
            "{msg}"
        );
        let msg = resolve("f", &|_| None);
        assert!(
            msg.starts_with("profile `f`: `pat_file` ") && msg.ends_with(" is empty"),
            "{msg}"
        );
        let msg = resolve("m", &|_| None);
        assert!(
            msg.starts_with("profile `m`: cannot read `pat_file` "),
            "{msg}"
        );
        assert_eq!(
            resolve("n", &|_| None),
            "profile `n`: `pat_env` must be the name of an environment variable"
        );
        assert_eq!(
            resolve("p", &|_| None),
            "profile `p`: `pat_file` must be a file path"
        );
        assert_eq!(
            resolve("t", &|_| Some("v".into())),
            "profile `t`: give only one of `pat`, `pat_env`, `pat_file`"
        );
        let msg = resolve("x", &|_| None);
        assert!(
            msg.starts_with("profile `x`: provider `vault` is unknown; this build has "),
            "{msg}"
        );
        let msg = resolve("y", &|_| None);
        assert!(msg.starts_with("profile `y` names no provider"), "{msg}");
    }

    #[test]
    fn the_file_s_shape_is_checked() {
        let err = |text: &str| usage(ProfilesFile::parse(text, "t.toml"));
        assert_eq!(
            err("default_profile = \"b\"\n[profiles.a]\nprovider = \"dfns\"\n"),
            "config file t.toml: default_profile `b` is not a profile; it has `a`"
        );
        assert_eq!(
            err("default_profile = \"b\"\n"),
            "config file t.toml: default_profile `b` is not a profile; it has no profiles"
        );
        assert_eq!(
            err("default_profile = 1\n"),
            "config file t.toml: `default_profile` must be a profile name"
        );
        assert!(
            err("provider = \"dfns\"\n[profiles.a]\nprovider = \"dfns\"\n").contains("not both")
        );
        assert!(err("profiles = 1\n").contains("`profiles` must be tables"));
        assert!(err("[profiles]\na = 1\n").contains("`profiles.a` must be a table"));
        assert!(err("base_url = \"x\"\n").contains("unknown top-level setting `base_url`"));
        assert!(err("[profiles.a]\nx = \n").starts_with("config file t.toml line 2: "));
        // A default profile that exists is the one chosen; no profiles at all is an error.
        let file = parse(
            "default_profile = \"b\"\n[profiles.a]\nprovider = \"dfns\"\n\
             [profiles.b]\nprovider = \"dfns\"\n",
        );
        assert_eq!(file.select(None).unwrap().name, "b");
        assert_eq!(file.select(Some("a")).unwrap().name, "a");
        let msg = usage(parse("").select(None));
        assert_eq!(
            msg,
            "test.toml has no profiles: add `[profiles.NAME]` tables (see `pats --help`)"
        );
    }

    #[test]
    fn a_blank_home_gives_no_default_location() {
        let env = |v: &str| match v {
            "XDG_CONFIG_HOME" => Some("relative".to_owned()),
            "HOME" => Some(String::new()),
            _ => None,
        };
        assert!(default_path(&env).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn reading_a_file_notes_whether_others_may_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[profiles.a]\nprovider = \"dfns\"\n").unwrap();
        for (mode, loose) in [(0o600, None), (0o640, Some(0o640)), (0o604, Some(0o604))] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let file = ProfilesFile::read(&path).unwrap();
            assert_eq!(file.readable_by_others, loose, "{mode:o}");
            assert_eq!(file.path, path);
            assert_eq!(file.get("a").unwrap().provider.as_deref(), Some("dfns"));
        }
        let msg = usage(ProfilesFile::read(&dir.path().join("missing.toml")));
        assert!(msg.starts_with("cannot read the config file "), "{msg}");
    }

    /// The message of resolving profile `name` of `file`.
    fn resolved(file: &ProfilesFile, name: &str) -> String {
        usage(file.get(name).unwrap().resolve(&|_| None))
    }

    #[test]
    fn a_wrongly_typed_setting_is_named_with_the_type_it_takes_never_its_value() {
        let file = parse(
            "[profiles.num]\nprovider = \"sailpoint\"\nbase_url = \"https://s\"\n\
             client_id = \"id\"\nclient_secret = 12345678\n\
             [profiles.arr]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\n\
             pat = [\"p4t-s3cr3t\"]\n\
             [profiles.tbl]\nprovider = \"dfns\"\nauth_token = { v = \"t0k-s3cr3t\" }\n\
             credential_id = \"c\"\nprivate_key = \"k\"\n\
             [profiles.flt]\nprovider = \"dfns\"\nauth_token = \"t\"\ncredential_id = 1.5\n\
             private_key = \"k\"\n\
             [profiles.bool]\nprovider = \"zitadel\"\nbase_url = true\npat = \"p\"\n\
             [profiles.api]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat = \"p\"\n\
             api = \"v9-s3cr3t\"\n\
             [profiles.unknown]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat = \"p\"\n\
             colour = \"blue\"\n\
             [profiles.missing]\nprovider = \"zitadel\"\npat = \"p\"\n",
        );
        let help = "; see `pats --help` for each provider's settings";
        for (name, said) in [
            ("num", "`client_secret` must be a string, not an integer"),
            ("arr", "`pat` must be a string, not an array"),
            ("tbl", "`auth_token` must be a string, not a table"),
            ("flt", "`credential_id` must be a string, not a float"),
            ("bool", "`base_url` must be a string, not a boolean"),
            ("api", "`api` must be one of `v2`, `v1`"),
            (
                "unknown",
                "unknown field `colour`, expected one of `base_url`, `pat`, `key_file`, \
                 `client_id`, `client_secret`, `organization_id`, `user_id`, `api`",
            ),
            ("missing", "missing field `base_url`"),
        ] {
            assert_eq!(
                resolved(&file, name),
                format!("profile `{name}`: {said}{help}")
            );
        }
    }

    #[test]
    fn the_cli_s_own_settings_are_checked_for_their_type() {
        let file = parse(
            "[profiles.yes]\nprovider = \"sailpoint\"\nsimulate = \"yes\"\n\
             [profiles.one]\nprovider = \"sailpoint\"\nsimulate = 1\n\
             [profiles.day]\nprovider = \"sailpoint\"\nsimulate = 1979-05-27\n\
             [profiles.prov]\nprovider = 3\nsimulate = true\n\
             [profiles.off]\nprovider = \"sailpoint\"\nsimulate = false\n",
        );
        assert_eq!(
            resolved(&file, "yes"),
            "profile `yes`: `simulate` must be true or false (without quotes), not a string"
        );
        assert_eq!(
            resolved(&file, "one"),
            "profile `one`: `simulate` must be true or false (without quotes), not an integer"
        );
        assert_eq!(
            resolved(&file, "day"),
            "profile `day`: `simulate` must be true or false (without quotes), not a date-time"
        );
        assert_eq!(
            resolved(&file, "prov"),
            "profile `prov`: `provider` must be a string, \"dfns\", \"zitadel\", \
             \"sailpoint\" or \"gitlab\", not an integer"
        );
        // `simulate = false` is the real provider, whose settings are then missing.
        assert_eq!(
            resolved(&file, "off"),
            "profile `off`: missing field `base_url`; see `pats --help` for each provider's \
             settings"
        );
    }

    /// The renderings of serde's errors that `settings_problem` cannot tie to a setting of
    /// the table, or that carry no expectation: still no value.
    #[test]
    fn a_settings_error_without_a_setting_or_an_expectation_quotes_no_value() {
        #[derive(Debug, serde::Deserialize)]
        enum Never {}
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Small {
            n: u8,
            never: Option<Never>,
        }
        let table = |text: &str| text.parse::<Table>().unwrap();
        let problem = |text: &str| {
            let t = table(text);
            let e = Value::Table(t.clone()).try_into::<Small>().unwrap_err();
            settings_problem(&e, &t)
        };
        assert_eq!(problem("n = 300"), "`n` has an invalid value; expected u8");
        assert_eq!(
            problem("n = 1\nnever = \"s3cr3t\""),
            "`never` has an invalid value"
        );
        // Not a setting of the table (a value on its own): the expectation only.
        let e = Value::Integer(300).try_into::<u8>().unwrap_err();
        assert_eq!(
            settings_problem(&e, &Table::new()),
            "a setting has a wrong type or value; expected u8"
        );
        let e = Value::String("s3cr3t".into())
            .try_into::<Never>()
            .unwrap_err();
        assert_eq!(
            settings_problem(&e, &Table::new()),
            "a setting has a wrong type or value"
        );
        let e = Value::Integer(1).try_into::<String>().unwrap_err();
        assert_eq!(
            settings_problem(&e, &Table::new()),
            "a setting has a wrong type or value; expected a string"
        );
    }

    #[cfg(unix)]
    #[test]
    fn files_that_are_not_small_regular_files_are_refused_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let big = dir.path().join("big");
        std::fs::write(&big, "x".repeat(70_000)).unwrap();
        let file = parse(&format!(
            "[profiles.f]\nprovider = \"zitadel\"\nbase_url = \"https://z\"\npat_file = {:?}\n\
             [profiles.b]\nprovider = \"sailpoint\"\nbase_url = \"https://s\"\n\
             access_token_file = {:?}\n",
            fifo.display().to_string(),
            big.display().to_string(),
        ));
        assert_eq!(
            resolved(&file, "f"),
            format!(
                "profile `f`: `pat_file` {} is a FIFO (named pipe), not a regular file",
                fifo.display()
            )
        );
        assert_eq!(
            resolved(&file, "b"),
            format!(
                "profile `b`: `access_token_file` {} is 70000 bytes, more than the 65536-byte \
                 limit of a secret, key or config file",
                big.display()
            )
        );
        // The config file itself.
        for (path, what) in [
            (fifo.as_path(), "is a FIFO (named pipe), not a regular file"),
            (
                big.as_path(),
                "is 70000 bytes, more than the 65536-byte limit of a secret, key or config file",
            ),
        ] {
            assert_eq!(
                usage(ProfilesFile::read(path)),
                format!(
                    "the config file {} {what}; give a regular TOML file of at most 64 KiB, or \
                     use the environment (see `pats --help`)",
                    path.display()
                )
            );
        }
    }
}
