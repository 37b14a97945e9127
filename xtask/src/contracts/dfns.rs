//! The dfns contract: extraction of the PAT subset from the pinned upstream files.

use serde_json::Value;

use super::Upstream;
use crate::Error;

/// The PAT subset of the upstream files; `None` while `openapi.json` is kept by hand.
pub fn extract(_upstream: &Upstream) -> Result<Option<Value>, Error> {
    Ok(None)
}
