//! The integration tests of `pats-sim`, in one binary: one link instead of one per
//! test file (issue 24). Each module was a file of `tests/` and a binary of its own.

mod admin;
mod emulator;
#[cfg(all(
    feature = "dfns",
    feature = "zitadel",
    feature = "sailpoint",
    feature = "gitlab"
))]
mod gitlab;
#[cfg(feature = "zitadel")]
mod grpc;
#[cfg(all(
    feature = "dfns",
    feature = "zitadel",
    feature = "sailpoint",
    feature = "gitlab"
))]
mod journal;
#[cfg(feature = "sailpoint")]
mod limits;
#[cfg(all(
    feature = "dfns",
    feature = "zitadel",
    feature = "sailpoint",
    feature = "gitlab"
))]
mod provision;
mod sailpoint_bulk;
#[cfg(feature = "zitadel")]
mod zitadel_v2;
