//! SailPoint Identity Security Cloud PAT client for pats: client-credentials auth and typed JSON Patch.
