//! `cargo xtask contracts [--check]`: the vendor API descriptions under `contracts/`.
//!
//! Layout, per provider (`dfns`, `gitlab`, `sailpoint`, `zitadel`):
//!
//! - `contracts/<provider>/upstream/…`: verbatim copies of the provider's published files
//!   (for Dfns, our own OpenAPI fragment of the facts its official SDKs are generated
//!   from, with a source note on every path and schema; for GitLab, our own fragment next
//!   to the vendored documentation pages it is checked against);
//! - `contracts/<provider>/manifest.json`: for every upstream file its source repository,
//!   path, commit and SHA-256. Files marked `"vendored": false` were read at that commit
//!   but are not committed (their facts are in our fragment); their hash cannot be checked
//!   offline and is kept for the record;
//! - `contracts/<provider>/openapi.json`: the PAT subset, written by this command from the
//!   upstream files (never by hand). It is self-contained OpenAPI 3.0: inline parameters and
//!   responses, `$ref`s only to `#/components/schemas/…`, every operation with an
//!   `operationId` and `x-pats-idempotent`.
//!
//! `contracts/deviations.json` lists, per provider, every deliberate deviation from the
//! descriptions, with its reason.
//!
//! The command runs offline: it checks every vendored file against its SHA-256 (and that no
//! unlisted file lies in `upstream/`), extracts the subset and writes it, or with `--check`
//! fails when a committed subset differs from what extraction produces.

mod dfns;
mod gitlab;
mod sailpoint;
mod zitadel;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Error;

/// The providers with a contract, in the order they are processed.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        name: "dfns",
        crate_name: "pats-dfns",
        extract: dfns::extract,
    },
    Provider {
        name: "gitlab",
        crate_name: "pats-gitlab",
        extract: gitlab::extract,
    },
    Provider {
        name: "sailpoint",
        crate_name: "pats-sailpoint",
        extract: sailpoint::extract,
    },
    Provider {
        name: "zitadel",
        crate_name: "pats-zitadel",
        extract: zitadel::extract,
    },
];

/// One provider's contract: where it lives and how its subset is extracted.
#[derive(Debug, Clone, Copy)]
pub struct Provider {
    /// Directory name under `contracts/`.
    pub name: &'static str,
    /// The crate whose wire models are generated from the subset.
    pub crate_name: &'static str,
    /// Builds the subset from the pinned upstream files.
    pub extract: fn(&Upstream) -> Result<Value, Error>,
}

impl Provider {
    /// `contracts/<provider>` under `root`.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join("contracts").join(self.name)
    }

    /// `contracts/<provider>/openapi.json` under `root`.
    pub fn subset(&self, root: &Path) -> PathBuf {
        self.dir(root).join("openapi.json")
    }
}

/// One entry of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// `owner/name` of the source repository (or `crates.io:<crate>@<version>`).
    pub repository: String,
    /// Path of the file in that repository.
    pub path: String,
    /// Commit (or release) the file was taken from.
    pub commit: String,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Whether a copy is committed under `upstream/<path>`.
    pub vendored: bool,
}

/// The pinned upstream files of one provider, checked against their manifest.
#[derive(Debug)]
pub struct Upstream {
    dir: PathBuf,
    files: Vec<Pinned>,
}

impl Upstream {
    /// Reads `contracts/<provider>/manifest.json` and checks every vendored file's SHA-256,
    /// and that `upstream/` holds no file the manifest does not list.
    pub fn load(provider_dir: &Path) -> Result<Self, Error> {
        let manifest_path = provider_dir.join("manifest.json");
        let context =
            |e: &dyn std::fmt::Display| Error::new(format!("{}: {e}", manifest_path.display()));
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| context(&e))?;
        let manifest: Value = serde_json::from_str(&text).map_err(|e| context(&e))?;
        let files = parse_manifest(&manifest).map_err(|e| context(&e))?;
        let upstream = Upstream {
            dir: provider_dir.join("upstream"),
            files,
        };
        upstream.verify()?;
        Ok(upstream)
    }

    /// The manifest entries.
    pub fn files(&self) -> &[Pinned] {
        &self.files
    }

    /// The text of the vendored file at `path` (its path in the source repository); only
    /// files listed in the manifest can be read.
    pub fn read(&self, path: &str) -> Result<String, Error> {
        if !self.files.iter().any(|f| f.vendored && f.path == path) {
            return Err(Error::new(format!(
                "{}: `{path}` is not a vendored file of the manifest",
                self.dir.display()
            )));
        }
        let file = self.dir.join(path);
        std::fs::read_to_string(&file).map_err(|e| Error::new(format!("{}: {e}", file.display())))
    }

    fn verify(&self) -> Result<(), Error> {
        let mut listed = BTreeSet::new();
        for pinned in self.files.iter().filter(|f| f.vendored) {
            let file = self.dir.join(&pinned.path);
            let bytes =
                std::fs::read(&file).map_err(|e| Error::new(format!("{}: {e}", file.display())))?;
            let actual = sha256_hex(&bytes);
            if actual != pinned.sha256 {
                return Err(Error::new(format!(
                    "{}: SHA-256 is {actual}, the manifest pins {} ({}@{}); re-vendor the file \
                     or update the manifest",
                    file.display(),
                    pinned.sha256,
                    pinned.repository,
                    pinned.commit
                )));
            }
            listed.insert(file);
        }
        let mut present = Vec::new();
        collect_files(&self.dir, &mut present)?;
        for file in present {
            if !listed.contains(&file) {
                return Err(Error::new(format!(
                    "{} is not listed in the manifest; add it (with repository, commit and \
                     SHA-256) or remove it",
                    file.display()
                )));
            }
        }
        Ok(())
    }
}

fn parse_manifest(manifest: &Value) -> Result<Vec<Pinned>, String> {
    let files = manifest
        .get("files")
        .and_then(Value::as_array)
        .ok_or("missing `files` array")?;
    let mut out = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let field = |name: &str| {
            file.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("files[{i}]: missing string `{name}`"))
        };
        let sha256 = field("sha256")?;
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(format!(
                "files[{i}]: `sha256` must be 64 lowercase hex digits"
            ));
        }
        let path = field("path")?;
        if path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(format!("files[{i}]: `path` must be a plain relative path"));
        }
        out.push(Pinned {
            repository: field("repository")?,
            path,
            commit: field("commit")?,
            sha256,
            vendored: file
                .get("vendored")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        });
    }
    Ok(out)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::new(format!("{}: {e}", dir.display()))),
    };
    for entry in entries {
        let path = entry
            .map_err(|e| Error::new(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bytes `openapi.json` must hold for `subset`: pretty JSON (keys sorted) and a newline.
pub fn render(subset: &Value) -> Result<String, Error> {
    let mut text = serde_json::to_string_pretty(subset)
        .map_err(|e| Error::new(format!("could not serialise the subset: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Runs `cargo xtask contracts` under `root`: extracts every provider's subset and writes
/// it, or with `check` fails when one is stale.
pub fn run(root: &Path, check: bool) -> Result<(), Error> {
    let mut stale = Vec::new();
    for provider in PROVIDERS {
        if !provider.dir(root).is_dir() {
            continue;
        }
        let upstream = Upstream::load(&provider.dir(root))?;
        let relative = format!("contracts/{}/openapi.json", provider.name);
        let subset = (provider.extract)(&upstream)?;
        let expected = render(&subset)?;
        let path = provider.subset(root);
        let current = std::fs::read_to_string(&path).ok();
        match (current.as_deref() == Some(expected.as_str()), check) {
            (true, _) => println!("contracts: {relative} is up to date"),
            (false, true) => stale.push(relative),
            (false, false) => {
                std::fs::write(&path, expected)
                    .map_err(|e| Error::new(format!("{relative}: {e}")))?;
                println!("contracts: wrote {relative}");
            }
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "the PAT subsets differ from what the pinned upstream files give:\n  {}\nrun \
             `cargo xtask contracts` and commit the result",
            stale.join("\n  ")
        )))
    }
}
