//! Simulator of the sailpoint PAT API (being written).
