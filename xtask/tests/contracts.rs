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
