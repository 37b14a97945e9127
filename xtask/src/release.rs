//! `cargo xtask release-check`: what `cargo publish` would publish, in order, and why it
//! could not.
//!
//! From `cargo metadata` (no network), every workspace crate is either publishable (no
//! `publish = false`) or internal ([`INTERNAL`]; the two must agree). For the publishable
//! ones it checks what crates.io and users need, and fails listing every problem:
//!
//! - `description`, `license`, `repository`, `documentation` and `readme` are set, the
//!   readme file exists, and `LICENSE-MIT` and `LICENSE-APACHE` are in the crate directory
//!   (symlinks to the root files; `cargo package` stores their content);
//! - the publishable crates have one version (they are released in lockstep);
//! - a dependency on a workspace crate names the version that crate has (`version = …` next
//!   to `path`), exactly (`=X.Y.Z`) unless it is a dev-dependency, because the crates use
//!   pats-core's `__private` items, which may change in any release; and is not an internal crate (a dev-dependency on one must carry no
//!   version, so that cargo strips it from the published manifest);
//! - `CHANGELOG.md` has a `## [Unreleased]` section or one for the version.
//!
//! Then it packages them and checks that the packages build together as users get them
//! ([`check_packages`], also a step of `cargo xtask test`), and prints, in publish order (every workspace
//! dependency, dev-dependencies included, before its dependents: crates.io refuses a crate
//! whose dependencies it does not have), each crate's name, version, file count and
//! compressed size. The repository URL cannot be checked offline; it is printed as not
//! verified while it is [`UNVERIFIED_REPOSITORY`].

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Error;

/// The workspace crates that are never published (`publish = false`): the step of
/// `cargo xtask test` that packages the others excludes exactly these.
pub const INTERNAL: &[&str] = &["xtask", "pats-bench", "pats-conformance"];

/// The repository URL in the manifests, not yet known to exist: the project has no public
/// home yet. Remove this once it does.
pub const UNVERIFIED_REPOSITORY: &str = "https://github.com/pats-rs/pats";

/// The licence files every package must carry (the crates are `MIT OR Apache-2.0`).
pub const LICENSE_FILES: &[&str] = &["LICENSE-MIT", "LICENSE-APACHE"];

/// The kind of a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

/// A dependency, as `cargo metadata` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The package name of the dependency.
    pub name: String,
    /// The version requirement (`*` for a path dependency without `version`).
    pub req: String,
    /// Which table it is in.
    pub kind: DepKind,
    /// A `path` dependency (a workspace crate, here).
    pub path: bool,
}

/// A workspace crate, as `cargo metadata` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Crate {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `false` with `publish = false`.
    pub publishable: bool,
    /// The directory of its `Cargo.toml`.
    pub dir: PathBuf,
    /// `description`.
    pub description: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `readme` (a path relative to `dir`).
    pub readme: Option<String>,
    /// `repository`.
    pub repository: Option<String>,
    /// `documentation`.
    pub documentation: Option<String>,
    /// Its dependencies.
    pub deps: Vec<Dep>,
    /// Its features and what each enables (`default` included, if declared).
    pub features: BTreeMap<String, Vec<String>>,
}

/// The workspace members of `cargo metadata --format-version 1 --no-deps` output.
pub fn crates_from_metadata(metadata: &Value) -> Result<Vec<Crate>, Error> {
    let bad = |what: &str| Error::new(format!("cargo metadata: {what}"));
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `packages` array"))?;
    let text = |package: &Value, key: &str| {
        package
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty())
    };
    let mut crates = Vec::new();
    for package in packages {
        let name = text(package, "name").ok_or_else(|| bad("a package without a name"))?;
        let version = text(package, "version")
            .ok_or_else(|| bad(&format!("package {name} has no version")))?;
        let manifest = text(package, "manifest_path")
            .ok_or_else(|| bad(&format!("package {name} has no manifest_path")))?;
        let dir = Path::new(&manifest)
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| bad(&format!("package {name}: manifest_path {manifest}")))?;
        // `publish`: null = anywhere; a list of registries; `[]` = `publish = false`.
        let publishable = match package.get("publish") {
            None | Some(Value::Null) => true,
            Some(Value::Array(registries)) => !registries.is_empty(),
            Some(other) => return Err(bad(&format!("package {name}: publish = {other}"))),
        };
        let mut deps = Vec::new();
        for dep in package
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let dep_name = text(dep, "name")
                .ok_or_else(|| bad(&format!("a dependency of {name} without a name")))?;
            let kind = match dep.get("kind").and_then(Value::as_str) {
                None => DepKind::Normal,
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                Some(other) => {
                    return Err(bad(&format!(
                        "{name} -> {dep_name}: dependency kind {other}"
                    )));
                }
            };
            deps.push(Dep {
                name: dep_name,
                req: text(dep, "req").unwrap_or_else(|| "*".to_owned()),
                kind,
                path: dep.get("path").and_then(Value::as_str).is_some(),
            });
        }
        let features = package
            .get("features")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(feature, enables)| {
                let enables = enables
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                (feature.clone(), enables)
            })
            .collect();
        crates.push(Crate {
            features,
            description: text(package, "description"),
            license: text(package, "license"),
            readme: text(package, "readme"),
            repository: text(package, "repository"),
            documentation: text(package, "documentation"),
            name,
            version,
            publishable,
            dir,
            deps,
        });
    }
    Ok(crates)
}

/// A version `MAJOR.MINOR.PATCH` (no pre-release or build part).
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().split('.');
    let mut next = || parts.next()?.parse::<u64>().ok();
    let version = (next()?, next()?, next()?);
    parts.next().is_none().then_some(version)
}

/// Whether `version` satisfies `req`, for the requirements a workspace path dependency
/// carries: `^X.Y.Z` (or bare `X.Y.Z`, which cargo metadata reports as `^X.Y.Z`), `=X.Y.Z`
/// and `~X.Y.Z`. `None` when `req` is none of these (the caller reports it).
pub fn version_matches(req: &str, version: &str) -> Option<bool> {
    let req = req.trim();
    let (op, rest) = match req.chars().next()? {
        '^' | '=' | '~' => (req.chars().next(), &req[1..]),
        _ => (None, req),
    };
    let (major, minor, patch) = parse_version(rest)?;
    let have = parse_version(version)?;
    let at_least = have >= (major, minor, patch);
    Some(match op {
        Some('=') => have == (major, minor, patch),
        Some('~') => at_least && have.0 == major && have.1 == minor,
        // Caret: the left-most non-zero part must not change.
        _ => {
            at_least
                && if major > 0 {
                    have.0 == major
                } else if minor > 0 {
                    have.0 == 0 && have.1 == minor
                } else {
                    have == (0, 0, patch)
                }
        }
    })
}

/// Whether `changelog` has a `## [Unreleased]` section or one for `version`
/// (`## [0.1.0]`, optionally followed by ` - date`).
pub fn changelog_covers(changelog: &str, version: &str) -> bool {
    changelog.lines().any(|line| {
        let Some(heading) = line.strip_prefix("## [") else {
            return false;
        };
        heading
            .split(']')
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case("unreleased") || name == version)
    })
}

/// Every problem that would stop or spoil a release of the workspace `crates`, each a
/// sentence naming the crate; `exists` says whether a file exists (relative paths are
/// joined to the crate directory by the caller).
pub fn problems(crates: &[Crate], changelog: &str, exists: &dyn Fn(&Path) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let members: BTreeMap<&str, &Crate> = crates.iter().map(|c| (c.name.as_str(), c)).collect();
    let versions: BTreeSet<&str> = crates
        .iter()
        .filter(|c| c.publishable)
        .map(|c| c.version.as_str())
        .collect();
    if versions.len() > 1 {
        out.push(format!(
            "the publishable crates have different versions ({}): they are released in \
             lockstep, with one version (`version.workspace = true`)",
            versions.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    for krate in crates {
        let listed_internal = INTERNAL.contains(&krate.name.as_str());
        if krate.publishable && listed_internal {
            out.push(format!(
                "{}: listed as internal (xtask::release::INTERNAL) but has no `publish = false`",
                krate.name
            ));
        }
        if !krate.publishable && !listed_internal {
            out.push(format!(
                "{}: `publish = false` but not listed in xtask::release::INTERNAL (the \
                 packaging step of `cargo xtask test` would try to package it)",
                krate.name
            ));
        }
        if !krate.publishable {
            continue;
        }
        let name = &krate.name;
        for (field, value) in [
            ("description", &krate.description),
            ("license", &krate.license),
            ("repository", &krate.repository),
            ("documentation", &krate.documentation),
            ("readme", &krate.readme),
        ] {
            if value.is_none() {
                out.push(format!("{name}: no `{field}` in its Cargo.toml"));
            }
        }
        if let Some(readme) = &krate.readme
            && !exists(&krate.dir.join(readme))
        {
            out.push(format!("{name}: its readme `{readme}` does not exist"));
        }
        for file in LICENSE_FILES {
            if !exists(&krate.dir.join(file)) {
                out.push(format!(
                    "{name}: no {file} in its directory (link it: ln -s ../../{file} {})",
                    krate.dir.join(file).display()
                ));
            }
        }
        for dep in krate.deps.iter().filter(|d| d.path) {
            let Some(target) = members.get(dep.name.as_str()) else {
                out.push(format!(
                    "{name}: path dependency `{}` is not a workspace member",
                    dep.name
                ));
                continue;
            };
            let stripped = dep.kind == DepKind::Dev && dep.req == "*";
            if stripped {
                // cargo drops a dev-dependency without a version from the published manifest.
                continue;
            }
            if !target.publishable {
                out.push(match dep.kind {
                    DepKind::Dev => format!(
                        "{name}: dev-dependency `{}` is not published (publish = false) but \
                         carries a version; drop the version so cargo strips it",
                        dep.name
                    ),
                    _ => format!(
                        "{name}: depends on `{}`, which is not published (publish = false)",
                        dep.name
                    ),
                });
                continue;
            }
            if dep.req == "*" {
                out.push(format!(
                    "{name}: dependency `{}` has a path but no version (add version = \"{}\")",
                    dep.name, target.version
                ));
                continue;
            }
            if dep.kind != DepKind::Dev && !dep.req.trim_start().starts_with('=') {
                out.push(format!(
                    "{name}: dependency `{}` must be pinned exactly (version = \"={}\"): the \
                     workspace crates are released in lockstep and use each other's \
                     `__private` items, which may change in any release",
                    dep.name, target.version
                ));
                continue;
            }
            match version_matches(&dep.req, &target.version) {
                Some(true) => {}
                Some(false) => out.push(format!(
                    "{name}: dependency `{}` asks for {} but the crate is at {}",
                    dep.name, dep.req, target.version
                )),
                None => out.push(format!(
                    "{name}: dependency `{}` has requirement `{}`, which release-check cannot \
                     compare (use \"X.Y.Z\")",
                    dep.name, dep.req
                )),
            }
        }
        if !changelog_covers(changelog, &krate.version) {
            out.push(format!(
                "{name}: CHANGELOG.md has neither `## [Unreleased]` nor `## [{}]`",
                krate.version
            ));
        }
    }
    out
}

/// The publishable crates in an order `cargo publish` can follow: each after every
/// publishable workspace crate it depends on (dev-dependencies with a version included);
/// ties keep workspace order. Fails on a cycle.
pub fn publish_order(crates: &[Crate]) -> Result<Vec<&Crate>, Error> {
    let publishable: Vec<&Crate> = crates.iter().filter(|c| c.publishable).collect();
    let names: BTreeSet<&str> = publishable.iter().map(|c| c.name.as_str()).collect();
    let needs = |krate: &Crate| -> BTreeSet<String> {
        krate
            .deps
            .iter()
            .filter(|d| names.contains(d.name.as_str()) && d.name != krate.name)
            .filter(|d| !(d.kind == DepKind::Dev && d.req == "*"))
            .map(|d| d.name.clone())
            .collect()
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < publishable.len() {
        let next = publishable
            .iter()
            .find(|c| !done.contains(&c.name) && needs(c).iter().all(|n| done.contains(n)));
        match next {
            Some(krate) => {
                done.insert(krate.name.clone());
                order.push(*krate);
            }
            None => {
                let left: Vec<&str> = publishable
                    .iter()
                    .filter(|c| !done.contains(&c.name))
                    .map(|c| c.name.as_str())
                    .collect();
                return Err(Error::new(format!(
                    "no publish order: these crates depend on each other in a cycle \
                     (dev-dependencies included): {}",
                    left.join(", ")
                )));
            }
        }
    }
    Ok(order)
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Files in the package (`cargo package --list`).
    pub files: usize,
    /// Size of the `.crate` file, in bytes.
    pub bytes: u64,
}

/// The report table, in the order given.
pub fn render(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(5);
    let mut out = format!(
        "{:>2}  {:<width$}  {:<8}  {:>5}  {:>9}\n",
        "#", "crate", "version", "files", "size"
    );
    for (index, row) in rows.iter().enumerate() {
        out.push_str(&format!(
            "{:>2}  {:<width$}  {:<8}  {:>5}  {:>5.1} KiB\n",
            index + 1,
            row.name,
            row.version,
            row.files,
            row.bytes as f64 / 1024.0
        ));
    }
    out
}

/// The workspace crates of the workspace at `root`, from `cargo metadata --no-deps` (no
/// network).
pub fn workspace_crates(root: &Path) -> Result<Vec<Crate>, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .map_err(|e| Error::new(format!("could not run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "cargo metadata failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::new(format!("cargo metadata: {e}")))?;
    crates_from_metadata(&metadata)
}

/// Runs `cargo xtask release-check` in the workspace at `root`.
pub fn run(root: &Path) -> Result<(), Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let crates = workspace_crates(root)?;
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md"))
        .map_err(|e| Error::new(format!("CHANGELOG.md: {e}")))?;
    let found = problems(&crates, &changelog, &|path| path.is_file());
    if !found.is_empty() {
        return Err(Error::new(format!(
            "not ready to publish ({} problems):\n  {}",
            found.len(),
            found.join("\n  ")
        )));
    }
    let order = publish_order(&crates)?;
    if order.is_empty() {
        return Err(Error::new("no publishable crate in the workspace"));
    }
    // Package them all, and check that the packages build together as users get them.
    check_packages(root)?;
    let package_dir = target_dir(root).join("package");
    let mut rows = Vec::new();
    for krate in &order {
        let list = Command::new(&cargo)
            .args(["package", "--list", "--allow-dirty", "-p", &krate.name])
            .current_dir(root)
            .output()
            .map_err(|e| Error::new(format!("could not run cargo package --list: {e}")))?;
        if !list.status.success() {
            return Err(Error::new(format!(
                "cargo package --list -p {} failed:\n{}",
                krate.name,
                String::from_utf8_lossy(&list.stderr)
            )));
        }
        let file = package_dir.join(format!("{}-{}.crate", krate.name, krate.version));
        let bytes = std::fs::metadata(&file)
            .map_err(|e| Error::new(format!("{}: {e}", file.display())))?
            .len();
        rows.push(Row {
            name: krate.name.clone(),
            version: krate.version.clone(),
            files: String::from_utf8_lossy(&list.stdout).lines().count(),
            bytes,
        });
    }
    println!(
        "\nwould publish, in this order ({} crates; internal, not published: {}):\n{}",
        rows.len(),
        INTERNAL.join(", "),
        render(&rows)
    );
    let repositories: BTreeSet<&str> = order
        .iter()
        .filter_map(|c| c.repository.as_deref())
        .collect();
    for repository in repositories {
        if repository == UNVERIFIED_REPOSITORY {
            println!(
                "warning: repository {repository} is NOT verified: the project has no public \
                 home yet; create it (or change [workspace.package]) before publishing"
            );
        }
    }
    println!("packages are in {}", package_dir.display());
    Ok(())
}

/// The packaged crates, checked together as users get them (see [`check_packages`]).
pub const PACKAGE_CHECK_DIR: &str = "package-check";

/// The manifest of the workspace in which the extracted packages `dirs` (directory names,
/// `<name>-<version>`, with the package `names`) are checked: each is a member, and each
/// replaces the crates.io crate of its name, so that they resolve each other as they will
/// once published.
pub fn package_check_manifest(members: &[(String, String)]) -> String {
    let mut out = String::from(
        "# Written by `cargo xtask test`: the packaged crates, extracted, checked together.\n\
         [workspace]\nresolver = \"3\"\nmembers = [\n",
    );
    for (_, dir) in members {
        out.push_str(&format!("    \"{dir}\",\n"));
    }
    out.push_str("]\n\n[patch.crates-io]\n");
    for (name, dir) in members {
        out.push_str(&format!("{name} = {{ path = \"{dir}\" }}\n"));
    }
    out
}

/// Packages every publishable crate (`cargo package --no-verify`), extracts the packages
/// into `target/package-check` and checks them there together, as one workspace whose
/// members replace their crates.io names (`cargo check --workspace --all-features`, the
/// workspace's lock file, the workspace's target directory). A file a crate reads at build
/// time from outside its package, or one its `include` list leaves out, fails here. This
/// is one check instead of cargo's per-package verification, which built every crate with
/// its own dependency graph (five builds of the TLS stack); that each crate builds and
/// tests on its own with its default features is what `cargo test -p <crate>` checks.
pub fn check_packages(root: &Path) -> Result<(), Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let crates = workspace_crates(root)?;
    let order = publish_order(&crates)?;
    let mut args: Vec<String> = ["package", "--no-verify", "--allow-dirty", "--quiet"]
        .map(str::to_owned)
        .to_vec();
    for krate in &order {
        args.extend(["-p".to_owned(), krate.name.clone()]);
    }
    println!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(&args)
        .current_dir(root)
        .status()
        .map_err(|e| Error::new(format!("could not run cargo package: {e}")))?;
    if !status.success() {
        return Err(Error::new(format!("cargo package failed ({status})")));
    }
    let target = target_dir(root);
    let dir = target.join(PACKAGE_CHECK_DIR);
    let io = |p: &Path, e: std::io::Error| Error::new(format!("{}: {e}", p.display()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let mut members = Vec::new();
    for krate in &order {
        let file = target
            .join("package")
            .join(format!("{}-{}.crate", krate.name, krate.version));
        // `-m`: the files get the time of extraction, not the fixed one cargo stores, so
        // that cargo's fingerprints never take a changed file for the one checked before.
        let status = Command::new("tar")
            .arg("-xmzf")
            .arg(&file)
            .arg("-C")
            .arg(&dir)
            .status()
            .map_err(|e| Error::new(format!("could not run tar: {e}")))?;
        if !status.success() {
            return Err(Error::new(format!(
                "tar could not extract {} ({status})",
                file.display()
            )));
        }
        members.push((
            krate.name.clone(),
            format!("{}-{}", krate.name, krate.version),
        ));
    }
    let manifest = dir.join("Cargo.toml");
    std::fs::write(&manifest, package_check_manifest(&members)).map_err(|e| io(&manifest, e))?;
    let lock = dir.join("Cargo.lock");
    std::fs::copy(root.join("Cargo.lock"), &lock).map_err(|e| io(&lock, e))?;
    let check = ["check", "--workspace", "--all-features", "--quiet"];
    println!(
        "$ cargo {} (in {}, the {} packages extracted)",
        check.join(" "),
        dir.display(),
        members.len()
    );
    let status = Command::new(&cargo)
        .args(check)
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .map_err(|e| Error::new(format!("could not run cargo check: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "the packaged crates do not build from their packages ({status}); see above"
        )))
    }
}

/// `CARGO_TARGET_DIR`, or `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_relative() => root.join(dir),
        Some(dir) => dir,
        None => root.join("target"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package(name: &str, publish: Value, deps: Value) -> Value {
        json!({
            "name": name,
            "version": "0.1.0",
            "manifest_path": format!("/ws/crates/{name}/Cargo.toml"),
            "publish": publish,
            "description": format!("{name} does things"),
            "license": "MIT OR Apache-2.0",
            "readme": "README.md",
            "repository": UNVERIFIED_REPOSITORY,
            "documentation": format!("https://docs.rs/{name}"),
            "dependencies": deps,
        })
    }

    fn path_dep(name: &str, req: &str, kind: Value) -> Value {
        json!({"name": name, "req": req, "kind": kind, "path": format!("/ws/crates/{name}")})
    }

    /// A workspace shaped like ours: core, sim, a provider, the facade, the CLI, internals.
    fn workspace() -> Vec<Crate> {
        let metadata = json!({"packages": [
            package("xtask", json!([]), json!([
                {"name": "serde_json", "req": "^1", "kind": null}
            ])),
            package("pats-cli", Value::Null, json!([
                path_dep("pats", "=0.1.0", Value::Null),
                path_dep("pats-sim", "^0.1.0", json!("dev")),
            ])),
            package("pats", Value::Null, json!([
                path_dep("pats-core", "=0.1.0", Value::Null),
                path_dep("pats-sailpoint", "=0.1.0", Value::Null),
            ])),
            package("pats-sailpoint", Value::Null, json!([
                path_dep("pats-core", "=0.1.0", Value::Null),
                path_dep("pats-sim", "^0.1.0", json!("dev")),
            ])),
            package("pats-core", Value::Null, json!([
                {"name": "serde", "req": "^1", "kind": null}
            ])),
            package("pats-sim", Value::Null, json!([])),
            package("pats-bench", json!([]), json!([
                path_dep("pats", "^0.1.0", Value::Null),
            ])),
            package("pats-conformance", json!([]), json!([
                path_dep("pats", "^0.1.0", Value::Null),
            ])),
        ]});
        crates_from_metadata(&metadata).unwrap()
    }

    const CHANGELOG: &str = "# Changelog\n\n## [Unreleased]\n\n### Added\n- x\n";

    fn all_files(_: &Path) -> bool {
        true
    }

    fn find<'a>(crates: &'a mut [Crate], name: &str) -> &'a mut Crate {
        crates.iter_mut().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn the_package_check_workspace_has_every_package_as_member_and_patch() {
        let manifest = package_check_manifest(&[
            ("pats-core".to_owned(), "pats-core-0.1.0".to_owned()),
            ("pats".to_owned(), "pats-0.1.0".to_owned()),
        ]);
        let parsed: toml::Table = toml::from_str(&manifest).unwrap();
        assert_eq!(
            parsed["workspace"]["members"],
            toml::Value::Array(vec!["pats-core-0.1.0".into(), "pats-0.1.0".into()])
        );
        assert_eq!(parsed["workspace"]["resolver"].as_str(), Some("3"));
        let patch = &parsed["patch"]["crates-io"];
        assert_eq!(patch["pats-core"]["path"].as_str(), Some("pats-core-0.1.0"));
        assert_eq!(patch["pats"]["path"].as_str(), Some("pats-0.1.0"));
    }

    #[test]
    fn metadata_is_read_with_publish_kinds_and_paths() {
        let crates = workspace();
        let cli = crates.iter().find(|c| c.name == "pats-cli").unwrap();
        assert!(cli.publishable);
        assert_eq!(cli.dir, Path::new("/ws/crates/pats-cli"));
        assert_eq!(
            cli.deps[1],
            Dep {
                name: "pats-sim".to_owned(),
                req: "^0.1.0".to_owned(),
                kind: DepKind::Dev,
                path: true
            }
        );
        let xtask = crates.iter().find(|c| c.name == "xtask").unwrap();
        assert!(!xtask.publishable);
        assert!(!xtask.deps[0].path);
        // `publish = ["my-registry"]` is publishable; a package without a name is an error.
        let registries = json!({"packages": [package("a", json!(["r"]), json!([]))]});
        assert!(crates_from_metadata(&registries).unwrap()[0].publishable);
        // Features, with what each enables.
        let mut featured = package("f", Value::Null, json!([]));
        featured["features"] = json!({"default": ["a"], "a": ["dep:x"], "b": []});
        let featured = crates_from_metadata(&json!({"packages": [featured]})).unwrap();
        assert_eq!(
            featured[0].features,
            BTreeMap::from([
                ("a".to_owned(), vec!["dep:x".to_owned()]),
                ("b".to_owned(), vec![]),
                ("default".to_owned(), vec!["a".to_owned()]),
            ])
        );
        assert!(xtask.features.is_empty());
        let nameless = json!({"packages": [{"version": "0.1.0"}]});
        assert_eq!(
            crates_from_metadata(&nameless).unwrap_err().to_string(),
            "cargo metadata: a package without a name"
        );
    }

    #[test]
    fn a_complete_workspace_has_no_problems_and_publishes_dependencies_first() {
        let crates = workspace();
        assert_eq!(
            problems(&crates, CHANGELOG, &all_files),
            Vec::<String>::new()
        );
        let order: Vec<&str> = publish_order(&crates)
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        // pats-sim before pats-sailpoint and pats-cli: crates.io needs dev-dependencies too.
        assert_eq!(
            order,
            [
                "pats-core",
                "pats-sim",
                "pats-sailpoint",
                "pats",
                "pats-cli"
            ]
        );
    }

    #[test]
    fn missing_metadata_readme_and_licence_files_are_named() {
        let mut crates = workspace();
        let core = find(&mut crates, "pats-core");
        core.description = None;
        core.documentation = None;
        let missing: Vec<PathBuf> = vec![
            PathBuf::from("/ws/crates/pats/LICENSE-APACHE"),
            PathBuf::from("/ws/crates/pats-sim/README.md"),
        ];
        let found = problems(&crates, CHANGELOG, &|p| !missing.iter().any(|m| m == p));
        assert_eq!(
            found,
            [
                "pats: no LICENSE-APACHE in its directory (link it: ln -s ../../LICENSE-APACHE /ws/crates/pats/LICENSE-APACHE)",
                "pats-core: no `description` in its Cargo.toml",
                "pats-core: no `documentation` in its Cargo.toml",
                "pats-sim: its readme `README.md` does not exist",
            ]
        );
    }

    #[test]
    fn dependencies_on_internal_crates_and_wrong_versions_are_refused() {
        let mut crates = workspace();
        find(&mut crates, "pats").deps.push(Dep {
            name: "pats-bench".to_owned(),
            req: "^0.1.0".to_owned(),
            kind: DepKind::Normal,
            path: true,
        });
        find(&mut crates, "pats-sailpoint").deps[0].req = "=0.2.0".to_owned();
        find(&mut crates, "pats-cli").deps[0].req = "*".to_owned();
        find(&mut crates, "pats-cli").deps.push(Dep {
            name: "pats-conformance".to_owned(),
            req: "^0.1.0".to_owned(),
            kind: DepKind::Dev,
            path: true,
        });
        // Without a version, a dev-dependency on an internal crate is stripped: fine.
        find(&mut crates, "pats-core").deps.push(Dep {
            name: "pats-bench".to_owned(),
            req: "*".to_owned(),
            kind: DepKind::Dev,
            path: true,
        });
        assert_eq!(
            problems(&crates, CHANGELOG, &all_files),
            [
                "pats-cli: dependency `pats` has a path but no version (add version = \"0.1.0\")",
                "pats-cli: dev-dependency `pats-conformance` is not published (publish = false) but carries a version; drop the version so cargo strips it",
                "pats: depends on `pats-bench`, which is not published (publish = false)",
                "pats-sailpoint: dependency `pats-core` asks for =0.2.0 but the crate is at 0.1.0",
            ]
        );
    }

    #[test]
    fn workspace_dependencies_are_pinned_exactly_and_versions_move_in_lockstep() {
        let mut crates = workspace();
        // A caret requirement lets `cargo update` pair this crate with a newer pats-core
        // whose `__private` items changed.
        find(&mut crates, "pats-sailpoint").deps[0].req = "^0.1.0".to_owned();
        assert_eq!(
            problems(&crates, CHANGELOG, &all_files),
            [
                "pats-sailpoint: dependency `pats-core` must be pinned exactly (version = \"=0.1.0\"): \
              the workspace crates are released in lockstep and use each other's `__private` \
              items, which may change in any release"
            ]
        );
        // Dev-dependencies are not part of a user's build: a caret one is fine (the
        // fixture's pats-sim ones are `^0.1.0`).
        let mut crates = workspace();
        find(&mut crates, "pats-sim").version = "0.1.1".to_owned();
        // Internal crates do not count.
        find(&mut crates, "xtask").version = "9.9.9".to_owned();
        let found = problems(&crates, CHANGELOG, &all_files);
        assert_eq!(
            found[0],
            "the publishable crates have different versions (0.1.0, 0.1.1): they are released \
             in lockstep, with one version (`version.workspace = true`)"
        );
    }

    #[test]
    fn the_internal_list_and_publish_false_must_agree() {
        let mut crates = workspace();
        find(&mut crates, "pats-bench").publishable = true;
        find(&mut crates, "pats-sim").publishable = false;
        let found = problems(&crates, CHANGELOG, &all_files);
        assert!(
            found.contains(
                &"pats-bench: listed as internal (xtask::release::INTERNAL) but has no `publish = false`"
                    .to_owned()
            ),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with(
                "pats-sim: `publish = false` but not listed in xtask::release::INTERNAL"
            )),
            "{found:?}"
        );
    }

    #[test]
    fn the_changelog_needs_unreleased_or_the_version() {
        assert!(changelog_covers("## [Unreleased]\n", "0.1.0"));
        assert!(changelog_covers(
            "# C\n\n## [0.1.0] - 2026-11-26\n",
            "0.1.0"
        ));
        assert!(!changelog_covers(
            "# C\n\n## [0.1.1] - 2026-11-26\n",
            "0.1.0"
        ));
        assert!(!changelog_covers(
            "# C\n\n### [Unreleased]\n## Unreleased\n",
            "0.1.0"
        ));
        let found = problems(&workspace(), "# Changelog\n\n## [0.0.9]\n", &all_files);
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(
            found[0],
            "pats-cli: CHANGELOG.md has neither `## [Unreleased]` nor `## [0.1.0]`"
        );
    }

    #[test]
    fn version_requirements_follow_cargo() {
        assert_eq!(version_matches("^0.1.0", "0.1.0"), Some(true));
        assert_eq!(version_matches("0.1.0", "0.1.3"), Some(true));
        assert_eq!(version_matches("^0.1.2", "0.1.1"), Some(false));
        assert_eq!(version_matches("^0.1.0", "0.2.0"), Some(false));
        assert_eq!(version_matches("^1.2.0", "1.9.0"), Some(true));
        assert_eq!(version_matches("^1.2.0", "2.0.0"), Some(false));
        assert_eq!(version_matches("^0.0.3", "0.0.4"), Some(false));
        assert_eq!(version_matches("^0.0.3", "0.0.3"), Some(true));
        assert_eq!(version_matches("=0.1.0", "0.1.1"), Some(false));
        assert_eq!(version_matches("=0.1.0", "0.1.0"), Some(true));
        assert_eq!(version_matches("~0.1.0", "0.1.5"), Some(true));
        assert_eq!(version_matches("~1.1.0", "1.2.0"), Some(false));
        assert_eq!(version_matches(">=0.1, <0.3", "0.2.0"), None);
        assert_eq!(version_matches("^0.1", "0.1.0"), None);
    }

    #[test]
    fn a_dependency_cycle_has_no_publish_order() {
        let mut crates = workspace();
        find(&mut crates, "pats-sim").deps.push(Dep {
            name: "pats-cli".to_owned(),
            req: "^0.1.0".to_owned(),
            kind: DepKind::Dev,
            path: true,
        });
        let error = publish_order(&crates).unwrap_err().to_string();
        assert!(
            error
                .ends_with("(dev-dependencies included): pats-cli, pats, pats-sailpoint, pats-sim"),
            "{error}"
        );
    }

    #[test]
    fn the_report_lists_crates_in_order_with_files_and_size() {
        let rows = [
            Row {
                name: "pats-core".to_owned(),
                version: "0.1.0".to_owned(),
                files: 24,
                bytes: 81_408,
            },
            Row {
                name: "pats".to_owned(),
                version: "0.1.0".to_owned(),
                files: 9,
                bytes: 512,
            },
        ];
        assert_eq!(
            render(&rows),
            [
                " #  crate      version   files       size",
                " 1  pats-core  0.1.0        24   79.5 KiB",
                " 2  pats       0.1.0         9    0.5 KiB",
                "",
            ]
            .join("\n")
        );
    }
}
