//! `cargo xtask msrv`: the declared minimum supported Rust version holds.
//!
//! Reads `rust-version` from the workspace's `Cargo.toml`, installs that toolchain with
//! rustup when it is missing (`--profile minimal`), then runs `cargo +<version> check
//! --locked` on every publishable crate (every package whose `publish` is not `false`) with
//! each of its feature sets (see [`feature_sets`]), in `target/msrv` so that the stable
//! build's artifacts are left alone. A dependency bump that needs a newer compiler fails
//! here, naming the crate and features. `.ci/run` calls it.

use crate::Error;
use crate::release::{Crate, workspace_crates};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

/// What the checks need of a publishable package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its features (`default` excluded), sorted.
    pub features: Vec<String>,
    /// Its `default` feature's members.
    pub default: Vec<String>,
}

impl Package {
    /// The view of a workspace crate.
    pub fn of(krate: &Crate) -> Self {
        Package {
            name: krate.name.clone(),
            features: krate
                .features
                .keys()
                .filter(|k| *k != "default")
                .cloned()
                .collect(),
            default: krate.features.get("default").cloned().unwrap_or_default(),
        }
    }
}

/// The features that pick a TLS backend: a provider crate refuses to build without one.
const TLS_PREFIXES: &[&str] = &["rustls", "native-tls"];

fn is_tls(feature: &str) -> bool {
    TLS_PREFIXES.iter().any(|p| feature.starts_with(p))
}

/// One `cargo check` of a package: `None` means `--all-features`, else
/// `--no-default-features --features <list>` (the list may be empty).
pub type FeatureSet = Option<Vec<String>>;

/// The feature sets checked for `package`: all features; the default set; and each feature
/// alone — with the first TLS feature added when the package has TLS features and this one
/// is not (a provider without TLS must not build, by design) — deduplicated.
pub fn feature_sets(package: &Package) -> Vec<FeatureSet> {
    // The default backend when the default set has one, else the first.
    let tls = package
        .default
        .iter()
        .chain(&package.features)
        .find(|f| is_tls(f))
        .cloned();
    let mut seen = BTreeSet::new();
    let mut sets = vec![None];
    let mut add = |set: Vec<String>| {
        let key: BTreeSet<String> = set.iter().cloned().collect();
        if seen.insert(key) {
            sets.push(Some(set));
        }
    };
    add(package.default.clone());
    for feature in &package.features {
        let mut set = vec![feature.clone()];
        if let Some(tls) = tls.as_ref().filter(|_| !is_tls(feature)) {
            set.push(tls.clone());
        }
        add(set);
    }
    sets
}

/// The `rust-version` of `[workspace.package]` in `root/Cargo.toml`.
pub fn rust_version(root: &Path) -> Result<String, Error> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    parse_rust_version(&text).ok_or_else(|| {
        Error::new(format!(
            "{}: no [workspace.package] rust-version",
            path.display()
        ))
    })
}

fn parse_rust_version(manifest: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(manifest).ok()?;
    let version = value
        .get("workspace")?
        .get("package")?
        .get("rust-version")?
        .as_str()?;
    // "1.88" or "1.88.0", nothing else: the name rustup installs.
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric.then(|| version.to_owned())
}

/// The publishable packages of the workspace at `root`, in the order cargo lists them.
pub fn publishable(root: &Path) -> Result<Vec<Package>, Error> {
    Ok(workspace_crates(root)?
        .iter()
        .filter(|c| c.publishable)
        .map(Package::of)
        .collect())
}

/// The `cargo` arguments (after `+toolchain`) checking `package` with `set`.
pub fn check_args(package: &str, set: &FeatureSet) -> Vec<String> {
    let mut args: Vec<String> = ["check", "--locked", "--quiet", "-p", package]
        .map(str::to_owned)
        .to_vec();
    match set {
        None => args.push("--all-features".to_owned()),
        Some(features) => {
            args.push("--no-default-features".to_owned());
            if !features.is_empty() {
                args.push("--features".to_owned());
                args.push(features.join(","));
            }
        }
    }
    args
}

fn installed(version: &str) -> bool {
    Command::new("rustup")
        .args(["run", version, "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo xtask msrv`.
pub fn run(root: &Path) -> Result<(), Error> {
    let version = rust_version(root)?;
    if !installed(&version) {
        println!("==> rustup toolchain install {version} --profile minimal");
        let status = Command::new("rustup")
            .args(["toolchain", "install", &version, "--profile", "minimal"])
            .status()
            .map_err(|e| Error::new(format!("could not run rustup: {e}")))?;
        if !status.success() {
            return Err(Error::new(format!(
                "rustup could not install Rust {version} ({status})"
            )));
        }
    }
    // rustup's `cargo` proxy, so that `+<version>` is understood.
    let cargo = OsString::from("cargo");
    let packages = publishable(root)?;
    if packages.is_empty() {
        return Err(Error::new("no publishable package in the workspace"));
    }
    let target = root.join("target").join("msrv");
    let mut checked = 0;
    for package in &packages {
        for set in feature_sets(package) {
            let args = check_args(&package.name, &set);
            println!("==> cargo +{version} {}", args.join(" "));
            let status = Command::new(&cargo)
                .arg(format!("+{version}"))
                .args(&args)
                .arg("--target-dir")
                .arg(&target)
                .current_dir(root)
                // The toolchain is chosen by `+version`, not by the one running xtask.
                .env_remove("RUSTC")
                .env_remove("RUSTUP_TOOLCHAIN")
                .status()
                .map_err(|e| Error::new(format!("could not run cargo +{version}: {e}")))?;
            if !status.success() {
                return Err(Error::new(format!(
                    "`{}` does not build with Rust {version}, the declared rust-version: raise \
                     it in Cargo.toml (and say so in CHANGELOG.md), or pin the dependency that \
                     needs a newer compiler",
                    args.join(" ")
                )));
            }
            checked += 1;
        }
    }
    println!(
        "MSRV {version}: {checked} checks of {} publishable crates passed",
        packages.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(features: &[&str], default: &[&str]) -> Package {
        Package {
            name: "p".to_owned(),
            features: features.iter().map(|&f| f.to_owned()).collect(),
            default: default.iter().map(|&f| f.to_owned()).collect(),
        }
    }

    fn set(features: &[&str]) -> FeatureSet {
        Some(features.iter().map(|&f| f.to_owned()).collect())
    }

    #[test]
    fn a_provider_feature_is_checked_with_a_tls_backend() {
        let p = package(
            &["native-tls", "rustls", "sailpoint"],
            &["sailpoint", "rustls"],
        );
        assert_eq!(
            feature_sets(&p),
            vec![
                None,
                set(&["sailpoint", "rustls"]),
                set(&["native-tls"]),
                set(&["rustls"]),
            ]
        );
    }

    #[test]
    fn without_tls_features_each_feature_is_checked_alone() {
        let p = package(&["contract", "dfns"], &["dfns"]);
        assert_eq!(
            feature_sets(&p),
            vec![None, set(&["dfns"]), set(&["contract"])]
        );
        let none = package(&[], &[]);
        assert_eq!(feature_sets(&none), vec![None, set(&[])]);
    }

    #[test]
    fn check_arguments_name_the_package_and_features() {
        assert_eq!(
            check_args("pats", &None).join(" "),
            "check --locked --quiet -p pats --all-features"
        );
        assert_eq!(
            check_args("pats", &set(&["dfns", "rustls"])).join(" "),
            "check --locked --quiet -p pats --no-default-features --features dfns,rustls"
        );
        assert_eq!(
            check_args("pats", &set(&[])).join(" "),
            "check --locked --quiet -p pats --no-default-features"
        );
    }

    #[test]
    fn the_rust_version_is_read_from_the_workspace_package() {
        let manifest = "[workspace]\nmembers = []\n[workspace.package]\nrust-version = \"1.88\"\n";
        assert_eq!(parse_rust_version(manifest).as_deref(), Some("1.88"));
        assert_eq!(
            parse_rust_version("[workspace.package]\nrust-version = \"1.88.1\"\n").as_deref(),
            Some("1.88.1")
        );
        for bad in [
            "[package]\nrust-version = \"1.88\"\n",
            "[workspace.package]\nrust-version = \"stable\"\n",
            "[workspace.package]\nrust-version = \"1\"\n",
            "[workspace.package]\nrust-version = \"1..2\"\n",
            "[workspace.package]\nrust-version = \"1.88; rm -rf\"\n",
            "not toml [",
        ] {
            assert_eq!(parse_rust_version(bad), None, "{bad}");
        }
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-msrv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn rust_version_reads_the_manifest_at_root() -> Result<(), Box<dyn std::error::Error>> {
        let root = temp_dir("version");
        std::fs::create_dir_all(&root)?;
        let missing = rust_version(&root).map_err(|e| e.to_string());
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace.package]\nrust-version = \"1.91\"\n",
        )?;
        let found = rust_version(&root);
        std::fs::remove_dir_all(&root)?;
        assert_eq!(found, Ok("1.91".to_owned()));
        assert!(missing.is_err_and(|e| e.contains("Cargo.toml")));
        Ok(())
    }

    #[test]
    fn publishable_asks_cargo_metadata() -> Result<(), Box<dyn std::error::Error>> {
        let root = temp_dir("metadata");
        for (name, publish) in [("shipped", ""), ("internal", "publish = false\n")] {
            std::fs::create_dir_all(root.join(name).join("src"))?;
            std::fs::write(
                root.join(name).join("Cargo.toml"),
                format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
                     {publish}[features]\ndefault = [\"a\"]\na = []\n"
                ),
            )?;
            std::fs::write(root.join(name).join("src").join("lib.rs"), "")?;
        }
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"shipped\", \"internal\"]\nresolver = \"2\"\n",
        )?;
        let found = publishable(&root);
        let empty = temp_dir("no-manifest");
        std::fs::create_dir_all(&empty)?;
        let outside = publishable(&empty);
        std::fs::remove_dir_all(&root)?;
        std::fs::remove_dir_all(&empty)?;
        assert_eq!(
            found?,
            [Package {
                name: "shipped".to_owned(),
                features: vec!["a".to_owned()],
                default: vec!["a".to_owned()],
            }]
        );
        // A directory without a manifest: cargo's failure, not an empty list.
        assert!(
            outside.is_err_and(|e| e.to_string().contains("cargo metadata")),
            "a directory without Cargo.toml"
        );
        Ok(())
    }
}
