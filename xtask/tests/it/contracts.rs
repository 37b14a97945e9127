//! Tests of `cargo xtask contracts`: the manifest pins, the upstream directory and the
//! freshness of the committed subsets.

use std::path::{Path, PathBuf};

use xtask::contracts::{self, Upstream};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A provider directory with one vendored file and its manifest entry.
fn provider_dir(name: &str, content: &str, pinned_sha: Option<&str>) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("xtask-contracts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("upstream/idn/v3"))?;
    std::fs::write(dir.join("upstream/idn/v3/pats.yaml"), content)?;
    let sha = pinned_sha
        .map(str::to_owned)
        .unwrap_or_else(|| contracts::sha256_hex(content.as_bytes()));
    std::fs::write(
        dir.join("manifest.json"),
        format!(
            r#"{{ "provider": "x", "files": [
                {{ "repository": "o/r", "path": "idn/v3/pats.yaml", "commit": "abc", "sha256": "{sha}" }},
                {{ "repository": "o/sdk", "path": "src/auth.rs", "commit": "def", "sha256": "{sha}", "vendored": false }}
            ] }}"#
        ),
    )?;
    Ok(dir)
}

fn load_error(dir: &Path) -> String {
    Upstream::load(dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn sha256_is_lowercase_hex_of_the_bytes() {
    assert_eq!(
        contracts::sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn pinned_files_load_and_only_vendored_ones_can_be_read() -> TestResult {
    let dir = provider_dir("ok", "paths: {}\n", None)?;
    let upstream = Upstream::load(&dir)?;
    assert_eq!(upstream.files().len(), 2);
    assert!(!upstream.files()[1].vendored);
    assert_eq!(upstream.read("idn/v3/pats.yaml")?, "paths: {}\n");
    let error = upstream
        .read("src/auth.rs")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("is not a vendored file"), "{error}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn a_changed_file_fails_its_pin_naming_the_source() -> TestResult {
    let dir = provider_dir("sha", "paths: {}\n", Some(&"0".repeat(64)))?;
    let error = load_error(&dir);
    assert!(error.contains("pats.yaml: SHA-256 is"), "{error}");
    assert!(error.contains("o/r@abc"), "{error}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn an_unlisted_upstream_file_is_refused() -> TestResult {
    let dir = provider_dir("extra", "paths: {}\n", None)?;
    std::fs::write(dir.join("upstream/idn/v3/extra.yaml"), "x")?;
    let error = load_error(&dir);
    assert!(
        error.contains("extra.yaml is not listed in the manifest"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn malformed_manifests_are_refused() -> TestResult {
    let dir = provider_dir("bad", "x", None)?;
    for (manifest, expected) in [
        ("{", "manifest.json"),
        (r#"{ "files": {} }"#, "missing `files` array"),
        (
            r#"{ "files": [ { "repository": "o/r", "path": "a", "commit": "c" } ] }"#,
            "missing string `sha256`",
        ),
        (
            r#"{ "files": [ { "repository": "o/r", "path": "a", "commit": "c", "sha256": "ABC" } ] }"#,
            "64 lowercase hex",
        ),
        (
            &format!(
                r#"{{ "files": [ {{ "repository": "o/r", "path": "../a", "commit": "c", "sha256": "{}" }} ] }}"#,
                "a".repeat(64)
            ),
            "plain relative path",
        ),
    ] {
        std::fs::write(dir.join("manifest.json"), manifest)?;
        let error = load_error(&dir);
        assert!(error.contains(expected), "{manifest}: {error}");
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Every committed `contracts/*/openapi.json` is what extraction gives from the pinned files.
#[test]
fn committed_subsets_are_fresh() -> TestResult {
    let root = xtask::workspace_root()?;
    contracts::run(&root, true)?;
    Ok(())
}

#[test]
fn paths_with_dot_or_empty_segments_and_non_hex_pins_are_refused() -> TestResult {
    let dir = provider_dir("paths", "x", None)?;
    let sha = "a".repeat(64);
    for (path, sha, expected) in [
        ("./a", sha.as_str(), "plain relative path"),
        ("a//b", sha.as_str(), "plain relative path"),
        ("a/", sha.as_str(), "plain relative path"),
        ("a", &"G".repeat(64), "64 lowercase hex"),
    ] {
        std::fs::write(
            dir.join("manifest.json"),
            format!(
                r#"{{ "files": [ {{ "repository": "o/r", "path": "{path}", "commit": "c", "sha256": "{sha}" }} ] }}"#
            ),
        )?;
        let error = load_error(&dir);
        assert!(error.contains(expected), "{path}: {error}");
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn an_upstream_directory_is_optional_but_must_be_a_directory() -> TestResult {
    let dir = std::env::temp_dir().join(format!("xtask-contracts-noup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("manifest.json"),
        format!(
            r#"{{ "files": [ {{ "repository": "o/sdk", "path": "a.ts", "commit": "c", "sha256": "{}", "vendored": false }} ] }}"#,
            "a".repeat(64)
        ),
    )?;
    assert_eq!(Upstream::load(&dir)?.files().len(), 1);
    std::fs::write(dir.join("upstream"), "not a directory")?;
    assert!(!load_error(&dir).is_empty());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A copy of the real Dfns contract in a scratch root: `contracts --check` and
/// `codegen --check` fail on a stale subset, `contracts` rewrites it, and providers without
/// a directory are skipped.
#[test]
fn a_stale_subset_fails_the_check_and_is_rewritten() -> TestResult {
    let real = xtask::workspace_root()?.join("contracts").join("dfns");
    let root = std::env::temp_dir().join(format!("xtask-contracts-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dfns = root.join("contracts").join("dfns");
    std::fs::create_dir_all(dfns.join("upstream"))?;
    for file in [
        "manifest.json",
        "openapi.json",
        "upstream/dfns-pats.openapi.json",
    ] {
        std::fs::copy(real.join(file), dfns.join(file))?;
    }
    contracts::run(&root, true)?;
    let fresh = std::fs::read_to_string(dfns.join("openapi.json"))?;

    std::fs::write(dfns.join("openapi.json"), "{}\n")?;
    let error = contracts::run(&root, true)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("contracts/dfns/openapi.json"), "{error}");
    assert!(error.contains("run `cargo xtask contracts`"), "{error}");
    let error = xtask::codegen::run(&root, true)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("contracts/dfns/openapi.json"), "{error}");
    assert_eq!(
        std::fs::read_to_string(dfns.join("openapi.json"))?,
        "{}\n",
        "--check writes nothing"
    );

    contracts::run(&root, false)?;
    assert_eq!(std::fs::read_to_string(dfns.join("openapi.json"))?, fresh);
    contracts::run(&root, true)?;
    std::fs::remove_dir_all(&root)?;
    Ok(())
}
