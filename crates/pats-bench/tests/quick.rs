//! Sections 3 to 6, once, in quick mode: `cargo test` (and so `cargo xtask test`) compiles
//! the runner and runs it, so it never rots. Sections 1 and 2 are criterion benchmarks,
//! which `cargo test -p pats-bench --benches` runs once each (another step of
//! `cargo xtask test`); `calls::tests` checks how their medians become rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_bench::report::SECTIONS;
use pats_bench::{Options, run};

#[test]
fn every_section_runs_once_in_quick_mode() {
    let report = run(&Options::quick()).expect("the quick run fails");
    for (index, title) in SECTIONS.iter().enumerate().skip(2) {
        assert!(
            report.rows.iter().any(|r| r.section == index),
            "no figures for {title}"
        );
    }
    for row in &report.rows {
        assert!(
            row.value.is_finite() && row.value >= 0.0,
            "{}: {}",
            row.name,
            row.value
        );
    }
    // The criterion sections are not read in quick mode (criterion's test mode writes no
    // estimates), and the report says where they ran.
    assert!(report.rows.iter().all(|r| r.section >= 2));
    assert!(report.notes.iter().any(|n| n.contains("--benches")));
    // Section 3 asserts exactly one token request (the run fails otherwise) and says so.
    let tokens = report
        .rows
        .iter()
        .find(|r| r.name.contains("token requests"))
        .expect("the token-request row");
    assert_eq!(tokens.value, 1.0);
    // Peak heap is counted (the counting allocator is installed).
    assert!(
        report
            .rows
            .iter()
            .filter(|r| r.unit == "MiB" && r.name.contains("peak heap"))
            .any(|r| r.value > 0.0)
    );
    let md = report.markdown();
    for title in &SECTIONS[2..] {
        assert!(md.contains(title), "{title} missing from the table");
    }
    // Section 4 also scrubs hostile bodies (the run fails if one is not scrubbed).
    assert_eq!(
        report
            .rows
            .iter()
            .filter(|r| r.section == 3 && r.name.starts_with("scrub a hostile"))
            .count(),
        pats_bench::scrub::UNITS.len()
    );
    assert_eq!(
        report.json()["rows"].as_array().map(Vec::len),
        Some(report.rows.len())
    );
}
