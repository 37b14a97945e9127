//! Simulator of the zitadel PAT API (being written).
