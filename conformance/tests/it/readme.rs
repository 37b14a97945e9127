//! README.md says what the code does: its example is `crates/pats/examples/basic.rs` (which
//! `cargo test` builds), and its provider table is rendered from `Capabilities`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pats_conformance::readme;
use std::path::Path;

fn readme_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

#[test]
fn the_readme_example_is_the_basic_example() {
    let readme = std::fs::read_to_string(readme_path()).unwrap();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/pats/examples/basic.rs"),
    )
    .unwrap();
    let section = example
        .split("// README: begin\n")
        .nth(1)
        .and_then(|rest| rest.split("// README: end\n").next())
        .expect("basic.rs marks the README example");
    assert!(
        readme.contains(&format!("```rust,no_run\n{section}```\n")),
        "README.md's Rust example differs from crates/pats/examples/basic.rs; \
         copy the marked section into README.md"
    );
}

#[tokio::test]
async fn the_provider_table_is_rendered_from_capabilities() {
    let path = readme_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let rendered = readme::render(&readme::columns().await);
    let current = readme::current(&text).expect("README.md has the capabilities markers");
    if current != rendered {
        if std::env::var_os("PATS_BLESS").is_some() {
            std::fs::write(&path, text.replace(current, &rendered)).unwrap();
        } else {
            panic!(
                "README.md's provider table is stale; rerun with PATS_BLESS=1 to rewrite it:\n{rendered}"
            );
        }
    }
}
