//! The PAT operations of the vendor contract (`contracts/sailpoint/openapi.json`, extracted
//! from `sailpoint-oss/api-specs` by `cargo xtask contracts`), one per version.
//!
//! The client sends the generated operations (`generated::operations`: method, path
//! template, idempotency) and takes from here which one serves each version and whether to
//! send `X-SailPoint-Experimental: true`; a unit test checks this table against the
//! contract in both directions: every PAT operation of the contract is here with the same
//! method, path, `x-sailpoint-experimental` and `x-pats-idempotent`, and nothing else is.

use crate::generated::operations;
use crate::version::ApiVersion;
use pats_core::Operation;

/// A personal-access-token operation, as every version has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PatOperation {
    /// `GET` the collection.
    List,
    /// `POST` to the collection.
    Create,
    /// `PATCH` one token.
    Patch,
    /// `DELETE` one token.
    Delete,
}

/// One operation of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationInfo {
    /// The version it belongs to.
    pub version: ApiVersion,
    /// What it does.
    pub operation: PatOperation,
    /// Its `operationId` in the contract (`<version>.<upstream operationId>`).
    pub operation_id: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template.
    pub path: &'static str,
    /// Whether the description marks it `x-sailpoint-experimental` (then requests carry
    /// `X-SailPoint-Experimental: true`).
    pub experimental: bool,
    /// Whether it may be repeated (`x-pats-idempotent`).
    pub idempotent: bool,
    /// The generated operation the client sends.
    pub(crate) contract: Operation,
}

const fn info(
    version: ApiVersion,
    operation: PatOperation,
    contract: Operation,
    experimental: bool,
) -> OperationInfo {
    OperationInfo {
        version,
        operation,
        operation_id: contract.id,
        method: contract.method,
        path: contract.path,
        experimental,
        idempotent: contract.idempotent,
        contract,
    }
}

/// Every PAT operation of the contract, by version then operation: the generated
/// operations (method, path, idempotency), and whether each is experimental.
pub const OPERATIONS: &[OperationInfo] = &[
    info(
        ApiVersion::V3,
        PatOperation::List,
        operations::V3_LIST_PERSONAL_ACCESS_TOKENS,
        false,
    ),
    info(
        ApiVersion::V3,
        PatOperation::Create,
        operations::V3_CREATE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V3,
        PatOperation::Patch,
        operations::V3_PATCH_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V3,
        PatOperation::Delete,
        operations::V3_DELETE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::Beta,
        PatOperation::List,
        operations::BETA_LIST_PERSONAL_ACCESS_TOKENS,
        false,
    ),
    info(
        ApiVersion::Beta,
        PatOperation::Create,
        operations::BETA_CREATE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::Beta,
        PatOperation::Patch,
        operations::BETA_PATCH_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::Beta,
        PatOperation::Delete,
        operations::BETA_DELETE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2024,
        PatOperation::List,
        operations::V2024_LIST_PERSONAL_ACCESS_TOKENS,
        false,
    ),
    info(
        ApiVersion::V2024,
        PatOperation::Create,
        operations::V2024_CREATE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2024,
        PatOperation::Patch,
        operations::V2024_PATCH_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2024,
        PatOperation::Delete,
        operations::V2024_DELETE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2025,
        PatOperation::List,
        operations::V2025_LIST_PERSONAL_ACCESS_TOKENS,
        false,
    ),
    info(
        ApiVersion::V2025,
        PatOperation::Create,
        operations::V2025_CREATE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2025,
        PatOperation::Patch,
        operations::V2025_PATCH_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2025,
        PatOperation::Delete,
        operations::V2025_DELETE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2026,
        PatOperation::List,
        operations::V2026_LIST_PERSONAL_ACCESS_TOKENS,
        false,
    ),
    info(
        ApiVersion::V2026,
        PatOperation::Create,
        operations::V2026_CREATE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2026,
        PatOperation::Patch,
        operations::V2026_PATCH_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V2026,
        PatOperation::Delete,
        operations::V2026_DELETE_PERSONAL_ACCESS_TOKEN,
        false,
    ),
    info(
        ApiVersion::V1,
        PatOperation::List,
        operations::V1_LIST_PERSONAL_ACCESS_TOKENS_V1,
        false,
    ),
    info(
        ApiVersion::V1,
        PatOperation::Create,
        operations::V1_CREATE_PERSONAL_ACCESS_TOKEN_V1,
        false,
    ),
    info(
        ApiVersion::V1,
        PatOperation::Patch,
        operations::V1_PATCH_PERSONAL_ACCESS_TOKEN_V1,
        false,
    ),
    info(
        ApiVersion::V1,
        PatOperation::Delete,
        operations::V1_DELETE_PERSONAL_ACCESS_TOKEN_V1,
        false,
    ),
];

impl ApiVersion {
    /// `operation` on this version, as the contract describes it.
    pub fn operation(self, operation: PatOperation) -> &'static OperationInfo {
        OPERATIONS
            .iter()
            .find(|info| info.version == self && info.operation == operation)
            // Every version has the four operations: the table test checks it.
            .unwrap_or(&OPERATIONS[0])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    const CONTRACT: &str = include_str!("../../../contracts/sailpoint/openapi.json");

    /// Operations of the contract the client does not send: the V1 bulk update (one JSON
    /// Patch of the expiration for up to 25 tokens, users only), which pats-sim serves for
    /// other SDKs (the official Python SDK calls it); pats changes one token at a time.
    const NOT_SENT: &[&str] = &[
        "v1.updateBulkPersonalAccessTokensV1",
        "v1.updateBulkPersonalAccessTokensV1Post",
    ];

    #[test]
    fn the_table_is_the_contract() {
        let contract: Value = serde_json::from_str(CONTRACT).unwrap();
        let mut described = BTreeSet::new();
        for (path, item) in contract["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op["x-pats-api-version"] == "oauth"
                    || NOT_SENT.contains(&op["operationId"].as_str().unwrap())
                {
                    continue;
                }
                described.insert((
                    op["operationId"].as_str().unwrap().to_owned(),
                    method.to_ascii_uppercase(),
                    path.clone(),
                    op.get("x-sailpoint-experimental") == Some(&Value::Bool(true)),
                    op["x-pats-idempotent"].as_bool().unwrap(),
                ));
            }
        }
        let table: BTreeSet<_> = OPERATIONS
            .iter()
            .map(|o| {
                (
                    o.operation_id.to_owned(),
                    o.method.to_owned(),
                    o.path.to_owned(),
                    o.experimental,
                    o.idempotent,
                )
            })
            .collect();
        assert_eq!(table, described);
        for version in ApiVersion::ALL {
            for operation in [
                PatOperation::List,
                PatOperation::Create,
                PatOperation::Patch,
                PatOperation::Delete,
            ] {
                let info = version.operation(operation);
                assert_eq!((info.version, info.operation), (version, operation));
                let collection = version.collection_path();
                let expected = match operation {
                    PatOperation::List | PatOperation::Create => collection,
                    PatOperation::Patch | PatOperation::Delete => format!("{collection}/{{id}}"),
                };
                assert_eq!(info.path, expected, "{}", info.operation_id);
            }
        }
    }

    /// The client decodes every version's token (list, patch and create answers) into
    /// the v2025 model: each version's schema must have no property the model lacks or
    /// types differently, no nullable property the model does not allow null in, and
    /// require everything the model requires.
    #[test]
    fn every_versions_token_fits_the_v2025_model() {
        let contract: Value = serde_json::from_str(CONTRACT).unwrap();
        let schemas = &contract["components"]["schemas"];
        let model = &schemas["GetPersonalAccessTokenResponseV2025"];
        let mut checked = BTreeSet::new();
        for item in contract["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if op["x-pats-api-version"] == "oauth" {
                    continue;
                }
                let Some(schema) =
                    op["responses"]["200"]["content"]["application/json"].get("schema")
                else {
                    continue;
                };
                let reference = schema
                    .get("items")
                    .unwrap_or(schema)
                    .get("$ref")
                    .and_then(Value::as_str)
                    .unwrap();
                let name = reference.rsplit('/').next().unwrap();
                checked.insert(name.to_owned());
                let schema = &schemas[name];
                for (property, definition) in schema["properties"].as_object().unwrap() {
                    if property == "secret" {
                        continue; // read separately, into a SecretString
                    }
                    let ours = &model["properties"][property];
                    for key in ["type", "format", "$ref"] {
                        assert_eq!(ours.get(key), definition.get(key), "{name}.{property}");
                    }
                    if definition.get("nullable") == Some(&Value::Bool(true)) {
                        assert_eq!(ours["nullable"], true, "{name}.{property}");
                    }
                }
                let required: BTreeSet<&str> = schema["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                for needed in model["required"].as_array().unwrap() {
                    assert!(
                        required.contains(needed.as_str().unwrap()),
                        "{name}: {needed}"
                    );
                }
            }
        }
        assert!(checked.len() >= 4, "{checked:?}");
    }
}
