//! Dfns PAT client for pats, with User Action Signing (ECDSA P-256).
