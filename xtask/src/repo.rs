//! Checks of the repository's files as a whole, run as unit tests of xtask (so by
//! `cargo xtask test`):
//!
//! - every file that carries an `@generated` header, and everything else the codegen writes,
//!   is marked `linguist-generated` in `.gitattributes` ([`unmarked_generated`]);
//! - every relative link in the tracked markdown points at a file or directory that exists,
//!   and a `#fragment` into markdown at one of its headings ([`broken_links`]).
//!
//! Both read the tracked files (`git ls-files`), so a stray untracked file cannot fail them.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::Error;

/// What marks a file as written by a tool, on its first line.
pub const GENERATED_MARK: &str = "@generated";

/// Files the codegen writes that cannot carry a header (JSON, a binary descriptor set):
/// path prefixes and suffixes, checked like the files with one.
const GENERATED_WITHOUT_HEADER: &[(&str, &str)] = &[
    ("crates/pats-sim/src/generated/", ""),
    ("contracts/", "/openapi.json"),
];

fn git(root: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, Error> {
    use std::io::Write as _;
    let mut child = Command::new("git")
        .args(args)
        .current_dir(root)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::new(format!("could not run git: {e}")))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input)
            .map_err(|e| Error::new(format!("could not write to git: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| Error::new(format!("git {}: {e}", args.join(" "))))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}

/// The tracked files under `root` that exist in the working tree, as `/`-separated paths.
pub fn tracked_files(root: &Path) -> Result<Vec<String>, Error> {
    let out = git(root, &["ls-files", "-z"], None)?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|p| root.join(p).is_file())
        .collect())
}

/// The files of `files` whose attribute `attribute` is `true` in `.gitattributes`, as git
/// itself matches the patterns (`git check-attr`).
pub fn with_attribute(
    root: &Path,
    attribute: &str,
    files: &[String],
) -> Result<BTreeSet<String>, Error> {
    let mut input = Vec::new();
    for f in files {
        input.extend_from_slice(f.as_bytes());
        input.push(0);
    }
    let out = git(
        root,
        &["check-attr", "-z", "--stdin", attribute],
        Some(&input),
    )?;
    // NUL-separated triples: path, attribute, value.
    let fields: Vec<String> = out
        .split(|b| *b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    Ok(fields
        .chunks(3)
        .filter(|t| t.len() == 3 && t[2] == "true")
        .map(|t| t[0].clone())
        .collect())
}

/// Whether `text`'s first line says it was generated.
pub fn has_generated_header(text: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|l| l.contains(GENERATED_MARK))
}

/// Tracked files that are generated (an `@generated` first line, or written by the codegen
/// without one) but not marked `linguist-generated=true` in `.gitattributes`.
pub fn unmarked_generated(root: &Path) -> Result<Vec<String>, Error> {
    let files = tracked_files(root)?;
    let generated: Vec<String> = files
        .into_iter()
        .filter(|f| {
            GENERATED_WITHOUT_HEADER
                .iter()
                .any(|(prefix, suffix)| f.starts_with(prefix) && f.ends_with(suffix))
                || std::fs::read(root.join(f)).is_ok_and(|bytes| {
                    has_generated_header(&String::from_utf8_lossy(&bytes[..bytes.len().min(512)]))
                })
        })
        .collect();
    let marked = with_attribute(root, "linguist-generated", &generated)?;
    Ok(generated
        .into_iter()
        .filter(|f| !marked.contains(f))
        .collect())
}

/// A link found in markdown: its 1-based line and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The line it is on.
    pub line: usize,
    /// What it points at, as written.
    pub target: String,
}

/// The inline links (`[text](target)`, images too) and reference definitions
/// (`[label]: target`) of `markdown`, outside fenced code blocks and code spans.
pub fn links(markdown: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        let line_no = i + 1;
        let text = without_code_spans(line);
        // A reference definition: `[label]: target`.
        if let Some(rest) = text.trim_start().strip_prefix('[')
            && let Some(end) = rest.find("]:")
            && !rest[..end].is_empty()
        {
            if let Some(target) = rest[end + 2..].split_whitespace().next() {
                out.push(Link {
                    line: line_no,
                    target: target.trim_matches(['<', '>']).to_owned(),
                });
            }
            continue;
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            // `[text](target "title")`: the target is the first word.
            let target = after[..end].split_whitespace().next().unwrap_or("");
            if !target.is_empty() {
                out.push(Link {
                    line: line_no,
                    target: target.trim_matches(['<', '>']).to_owned(),
                });
            }
            rest = &after[end..];
        }
    }
    out
}

/// `line` with its code spans (`` `...` ``) blanked out.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else if in_code {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The anchors GitHub gives the headings of `markdown`: lower case, punctuation dropped
/// (but `-` and `_`), spaces as `-`, a repeated one suffixed `-1`, `-2`, ...
pub fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut fence = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = !fence;
            continue;
        }
        if fence || !trimmed.starts_with('#') {
            continue;
        }
        let title = trimmed.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let slug = slug(&link_texts(title.trim()));
        let mut candidate = slug.clone();
        let mut n = 0;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{slug}-{n}");
        }
        seen.insert(candidate);
    }
    seen
}

/// `text` with each `[label](target)` replaced by its label.
fn link_texts(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let Some(end) = rest[at..].find(')') else {
            break;
        };
        out.push_str(&rest[..at]);
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

fn slug(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Whether `target` leaves the repository (a URL with a scheme, or an e-mail address).
fn is_external(target: &str) -> bool {
    target.starts_with("//")
        || target.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && !scheme.contains('/')
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
}

/// The relative links of the tracked markdown (vendored files excepted: their links are
/// their upstream's) that point at nothing: `file:line: target (why)`.
pub fn broken_links(root: &Path) -> Result<Vec<String>, Error> {
    let files = tracked_files(root)?;
    let markdown: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(".md"))
        .cloned()
        .collect();
    let vendored = with_attribute(root, "linguist-vendored", &markdown)?;
    let mut broken = Vec::new();
    for file in markdown.iter().filter(|f| !vendored.contains(*f)) {
        let text = std::fs::read_to_string(root.join(file))
            .map_err(|e| Error::new(format!("{file}: {e}")))?;
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        for link in links(&text) {
            if is_external(&link.target) {
                continue;
            }
            let (path, fragment) = match link.target.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (link.target.as_str(), None),
            };
            let (target_file, target_text) = if path.is_empty() {
                (file.clone(), Some(text.clone()))
            } else {
                let resolved = if let Some(absolute) = path.strip_prefix('/') {
                    root.join(absolute)
                } else {
                    root.join(dir).join(path)
                };
                if !resolved.exists() {
                    broken.push(format!(
                        "{file}:{}: {} (no such file)",
                        link.line, link.target
                    ));
                    continue;
                }
                let target_text = if path.ends_with(".md") {
                    std::fs::read_to_string(&resolved).ok()
                } else {
                    None
                };
                (path.to_owned(), target_text)
            };
            if let (Some(fragment), Some(target_text)) = (fragment, target_text)
                && !anchors(&target_text).contains(&fragment.to_lowercase())
            {
                broken.push(format!(
                    "{file}:{}: {} (no heading `#{fragment}` in {target_file})",
                    link.line, link.target
                ));
            }
        }
    }
    Ok(broken)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_outside_code() {
        let md = "See [a](docs/a.md) and ![img](x.png \"t\").\n\
                  `[not](code.md)` but [b](<b.md#x>)\n\
                  ```rust\n[inside](fence.md)\n```\n\
                  [ref]: ../ref.md\n\
                  [c](https://example.com) [d](#local)\n";
        let found: Vec<(usize, String)> =
            links(md).into_iter().map(|l| (l.line, l.target)).collect();
        let expected = [
            (1, "docs/a.md"),
            (1, "x.png"),
            (2, "b.md#x"),
            (6, "../ref.md"),
            (7, "https://example.com"),
            (7, "#local"),
        ]
        .map(|(n, t)| (n, t.to_owned()));
        assert_eq!(found, expected);
    }

    #[test]
    fn anchors_are_githubs() {
        let md = "# pats\n## TLS and crypto features\n### `Expiry::ProviderDefault`, [x](y.md)\n\
                  ## Testing\n## Testing\n```\n# not a heading\n```\n#tag\n";
        let got: Vec<String> = anchors(md).into_iter().collect();
        assert_eq!(
            got,
            [
                "expiryproviderdefault-x",
                "pats",
                "testing",
                "testing-1",
                "tls-and-crypto-features"
            ]
        );
    }

    #[test]
    fn external_targets_are_skipped() {
        assert!(is_external("https://docs.rs/pats"));
        assert!(is_external("mailto:a@b.c"));
        assert!(!is_external("docs/tls.md"));
        assert!(!is_external("#configuration"));
        assert!(!is_external("../crates/pats/README.md"));
    }

    #[test]
    fn a_header_is_the_first_line() {
        assert!(has_generated_header(
            "// @generated by `cargo xtask codegen`\nfn f() {}\n"
        ));
        assert!(!has_generated_header(
            "//! about\n// @generated in a comment below\n"
        ));
    }

    #[test]
    fn every_generated_file_is_marked_generated_in_gitattributes() {
        let root = crate::workspace_root().unwrap();
        let unmarked = unmarked_generated(&root).unwrap();
        assert!(
            unmarked.is_empty(),
            "generated files not marked `linguist-generated=true` in .gitattributes:\n  {}",
            unmarked.join("\n  ")
        );
        // The check sees the files it is about.
        let all = tracked_files(&root).unwrap();
        let generated = with_attribute(&root, "linguist-generated", &all).unwrap();
        assert!(generated.contains("crates/pats-sailpoint/src/generated.rs"));
        let vendored = with_attribute(&root, "linguist-vendored", &all).unwrap();
        assert!(
            vendored
                .iter()
                .any(|f| f.starts_with("contracts/zitadel/upstream/"))
        );
    }

    #[test]
    fn every_relative_link_in_the_markdown_points_at_something() {
        let root = crate::workspace_root().unwrap();
        let broken = broken_links(&root).unwrap();
        assert!(
            broken.is_empty(),
            "broken relative links:\n  {}",
            broken.join("\n  ")
        );
    }
}
