//! ZITADEL PAT client for pats: v2 user service and v1 management API, organization scoping, JWT-profile auth.
