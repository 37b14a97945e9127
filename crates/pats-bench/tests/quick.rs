//! Every benchmark section, once, in quick mode: `cargo test` (and so `cargo xtask test`)
//! compiles the benchmarks and runs them, so they never rot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pats_bench::report::SECTIONS;
use pats_bench::{Options, run};

#[test]
fn every_section_runs_once_in_quick_mode() {
    let report = run(&Options::quick()).expect("the quick run fails");
    for (index, title) in SECTIONS.iter().enumerate() {
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
    // Section 1 compares the typed and the dyn call of every case with the raw floor.
    let goals = report.rows.iter().filter(|r| r.goal.is_some()).count();
    assert_eq!(
        goals,
        8 * 2 + 1,
        "8 calls × (typed, dyn) + the signed change"
    );
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
    for title in SECTIONS {
        assert!(md.contains(title), "{title} missing from the table");
    }
    assert_eq!(
        report.json()["rows"].as_array().map(Vec::len),
        Some(report.rows.len())
    );
}
