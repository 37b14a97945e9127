//! Simulator of the dfns PAT API (being written).
