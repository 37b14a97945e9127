//! The integration tests of `pats-gitlab`, in one binary, against `pats-sim`'s
//! `GitLabSim`; `common` holds the helpers they share.

mod common;
mod errors;
mod groups;
mod lifecycle;
mod projects;
mod provider;
mod requests;
