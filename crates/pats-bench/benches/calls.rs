//! Sections 1 and 2 of the benchmarks, on criterion: the cost per call of `pats` (typed and
//! through `dyn PersonalAccessTokens`) against hand-written `reqwest` requests with the same
//! bytes, and the Dfns signed change against its raw floor. See `pats_bench::calls`.
//!
//! `cargo xtask bench` runs this, then reads criterion's medians into the report.
//! `cargo test -p pats-bench --benches` runs every benchmark once (criterion's test mode).

use criterion::{criterion_group, criterion_main};
use pats_bench::calls;

criterion_group! {
    name = section1;
    config = calls::criterion();
    targets = calls::section1, calls::anatomy
}
criterion_group! {
    name = section2;
    config = calls::criterion();
    targets = calls::section2
}
criterion_main!(section1, section2);
