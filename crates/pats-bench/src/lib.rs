//! Benchmarks of pats (being written).
