//! One [`Harness`](crate::Harness) per provider, each on its `pats-sim` simulator.

mod dfns;
mod emulated;
mod gitlab;
mod sailpoint;
mod zitadel;

pub use emulated::{Emulated, OnSim};

pub use dfns::DfnsHarness;
pub use gitlab::GitLabHarness;
pub use sailpoint::SailPointHarness;
pub use zitadel::ZitadelHarness;

use pats::Expiration;
use pats::reexports::time::OffsetDateTime;

/// Reads a stored RFC 3339 expiry (`null` or missing → `missing`).
pub(crate) fn expiration_from(
    value: Option<&serde_json::Value>,
    missing: Expiration,
) -> Expiration {
    match value.and_then(|v| v.as_str()) {
        Some(text) => pats::__private::wire::parse_timestamp(text).map_or(
            Expiration::Unknown,
            |t: OffsetDateTime| {
                if t.year() >= 9999 {
                    Expiration::Never
                } else {
                    Expiration::At(t)
                }
            },
        ),
        None => missing,
    }
}
