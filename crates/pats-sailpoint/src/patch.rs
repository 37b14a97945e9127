//! Typed JSON Patch (RFC 6902) for personal access tokens, and the checks every patch
//! (typed or raw) goes through before it is sent.

use crate::version::{ApiVersion, PATH_EXPIRATION_DATE, PATH_NAME, PATH_NEVER_EXPIRES, PATH_SCOPE};
use json_patch::jsonptr::PointerBuf;
use json_patch::{Patch, PatchOperation, ReplaceOperation};
use pats_core::{Error, NeverExpires, Result};
use serde_json::Value;
use time::OffsetDateTime;

/// A typed patch: each setter adds one `replace` operation, so nobody hand-writes paths.
///
/// ```
/// use pats_sailpoint::{ApiVersion, TokenPatch};
/// let patch = TokenPatch::new().name("ci").scope(["sp:scopes:all"]);
/// let json = serde_json::to_value(patch.to_patch(ApiVersion::V3)?)?;
/// assert_eq!(json, serde_json::json!([
///     { "op": "replace", "path": "/name", "value": "ci" },
///     { "op": "replace", "path": "/scope", "value": ["sp:scopes:all"] },
/// ]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenPatch {
    ops: Vec<(&'static str, Value)>,
}

impl TokenPatch {
    /// An empty patch.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, path: &'static str, value: Value) -> Self {
        self.ops.retain(|(p, _)| *p != path);
        self.ops.push((path, value));
        self
    }

    /// `replace /name`.
    #[must_use]
    pub fn name(self, name: impl Into<String>) -> Self {
        self.push(PATH_NAME, Value::String(name.into()))
    }

    /// `replace /scope`.
    #[must_use]
    pub fn scope<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = scopes
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        self.push(PATH_SCOPE, Value::Array(scopes))
    }

    /// `replace /expirationDate` with a time (v2025, v2026, V1 only); sent with
    /// millisecond precision.
    #[must_use]
    pub fn expiration_date(self, at: OffsetDateTime) -> Self {
        self.push(PATH_EXPIRATION_DATE, Value::String(format_time(at)))
    }

    /// Makes the token never expire: `replace /expirationDate null` and `replace
    /// /userAwareTokenNeverExpires true` (v2025, v2026, V1 only).
    #[must_use]
    pub fn never_expires(self, acknowledged: NeverExpires) -> Self {
        let _ = acknowledged;
        self.push(PATH_EXPIRATION_DATE, Value::Null)
            .push(PATH_NEVER_EXPIRES, Value::Bool(true))
    }

    /// Whether no operation was added.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The RFC 6902 document, checked against `version` (see [`validate_patch`]).
    pub fn to_patch(&self, version: ApiVersion) -> Result<Patch> {
        let mut ops = Vec::with_capacity(self.ops.len());
        for (path, value) in &self.ops {
            let path = PointerBuf::parse(*path)
                .map_err(|e| Error::invalid("patch", format!("bad path `{path}`: {e}")))?;
            ops.push(PatchOperation::Replace(ReplaceOperation {
                path,
                value: value.clone(),
            }));
        }
        let patch = Patch(ops);
        validate_patch(version, &patch, OffsetDateTime::now_utc())?;
        Ok(patch)
    }
}

/// Formats a time as SailPoint documents it: UTC, exactly three fractional digits and `Z`
/// (`2023-02-05T10:59:27.214Z`, the filter example of api-specs; "down to the millisecond"
/// in every date-time field's description, which is also how the generated models write
/// them). Sub-millisecond digits are dropped.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    pats_core::__private::wire::rfc3339_millis::format(t)
}

fn op_name(op: &PatchOperation) -> &'static str {
    match op {
        PatchOperation::Add(_) => "add",
        PatchOperation::Remove(_) => "remove",
        PatchOperation::Replace(_) => "replace",
        PatchOperation::Move(_) => "move",
        PatchOperation::Copy(_) => "copy",
        PatchOperation::Test(_) => "test",
    }
}

/// Checks a patch against what `version` allows, as of `now`:
///
/// - not empty; every `path` (and `from`) is one of [`ApiVersion::patchable_paths`];
/// - `/name`: a non-blank string, never removed;
/// - `/scope`: a non-empty array of non-blank strings (or `null` / removed: all scopes);
/// - `/expirationDate`: a future RFC 3339 time, or `null` / removed only together with
///   `/userAwareTokenNeverExpires` set to `true` in the same patch;
/// - `/userAwareTokenNeverExpires`: a boolean.
///
/// `test` operations are checked for their path only. Errors are
/// [`InvalidInput`](pats_core::ErrorKind::InvalidInput) with field `patch`.
pub fn validate_patch(version: ApiVersion, patch: &Patch, now: OffsetDateTime) -> Result<()> {
    let bad = |reason: String| Error::invalid("patch", reason);
    if patch.0.is_empty() {
        return Err(bad("the patch has no operations".into()));
    }
    let allowed = version.patchable_paths();
    let mut clears_expiration = false;
    let mut acknowledges = false;
    for op in &patch.0 {
        let name = op_name(op);
        let path = op.path().as_str();
        if !allowed.contains(&path) {
            return Err(bad(format!(
                "`{name} {path}`: the path is not patchable on {version} (allowed: {})",
                allowed.join(", ")
            )));
        }
        let from = match op {
            PatchOperation::Move(m) => Some(m.from.as_str()),
            PatchOperation::Copy(c) => Some(c.from.as_str()),
            _ => None,
        };
        if let Some(from) = from
            && !allowed.contains(&from)
        {
            return Err(bad(format!(
                "`{name} {path}`: `from` {from} is not patchable on {version}"
            )));
        }
        let value = match op {
            PatchOperation::Add(a) => Some(&a.value),
            PatchOperation::Replace(r) => Some(&r.value),
            PatchOperation::Test(_) => continue,
            PatchOperation::Remove(_) => None,
            // The moved/copied value is another patchable field's, of another type.
            PatchOperation::Move(_) | PatchOperation::Copy(_) => {
                return Err(bad(format!(
                    "`{name} {path}`: move and copy between token fields are not meaningful"
                )));
            }
        };
        match (path, value) {
            (PATH_NAME, Some(Value::String(s))) if !s.trim().is_empty() => {}
            (PATH_NAME, Some(_)) => {
                return Err(bad("`/name` must be a non-empty string".into()));
            }
            (PATH_NAME, None) => return Err(bad("`/name` cannot be removed".into())),
            (PATH_SCOPE, None | Some(Value::Null)) => {}
            (PATH_SCOPE, Some(Value::Array(items))) => {
                if items.is_empty() {
                    return Err(bad("`/scope` needs at least one scope".into()));
                }
                if !items
                    .iter()
                    .all(|s| s.as_str().is_some_and(|s| !s.trim().is_empty()))
                {
                    return Err(bad("`/scope` must hold non-empty strings".into()));
                }
            }
            (PATH_SCOPE, Some(_)) => {
                return Err(bad("`/scope` must be an array of strings".into()));
            }
            (PATH_EXPIRATION_DATE, None | Some(Value::Null)) => clears_expiration = true,
            (PATH_EXPIRATION_DATE, Some(Value::String(s))) => {
                let at = pats_core::__private::wire::parse_timestamp(s).ok_or_else(|| {
                    bad(format!("`/expirationDate` `{s}` is not an RFC 3339 time"))
                })?;
                if at <= now {
                    return Err(bad("`/expirationDate` must be in the future".into()));
                }
            }
            (PATH_EXPIRATION_DATE, Some(_)) => {
                return Err(bad("`/expirationDate` must be a time or null".into()));
            }
            (PATH_NEVER_EXPIRES, Some(Value::Bool(b))) => acknowledges = *b,
            (PATH_NEVER_EXPIRES, _) => {
                return Err(bad("`/userAwareTokenNeverExpires` must be a boolean".into()));
            }
            _ => {}
        }
    }
    if clears_expiration && !acknowledges {
        return Err(bad(
            "clearing `/expirationDate` makes the token never expire: the same patch must set \
             `/userAwareTokenNeverExpires` to true (use TokenPatch::never_expires)"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn builder_output_is_rfc6902() {
        let patch = TokenPatch::new()
            .name("renamed")
            .scope(["sp:scopes:all", "idn:foo"])
            .expiration_date(datetime!(2030-01-02 03:04:05.123456 UTC))
            .to_patch(ApiVersion::V2025)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!([
                { "op": "replace", "path": "/name", "value": "renamed" },
                { "op": "replace", "path": "/scope", "value": ["sp:scopes:all", "idn:foo"] },
                { "op": "replace", "path": "/expirationDate", "value": "2030-01-02T03:04:05.123Z" },
            ])
        );
        let never = TokenPatch::new()
            .expiration_date(datetime!(2030-01-01 0:00 UTC))
            .never_expires(NeverExpires::I_UNDERSTAND_THE_RISK)
            .to_patch(ApiVersion::V1)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&never).unwrap(),
            json!([
                { "op": "replace", "path": "/expirationDate", "value": null },
                { "op": "replace", "path": "/userAwareTokenNeverExpires", "value": true },
            ])
        );
    }

    #[test]
    fn version_limits_paths() {
        for v in [ApiVersion::V3, ApiVersion::Beta, ApiVersion::V2024] {
            let err = TokenPatch::new()
                .expiration_date(datetime!(2030-01-01 0:00 UTC))
                .to_patch(v)
                .unwrap_err();
            assert!(err.to_string().contains("not patchable"), "{err}");
            assert!(
                TokenPatch::new()
                    .never_expires(NeverExpires::I_UNDERSTAND_THE_RISK)
                    .to_patch(v)
                    .is_err()
            );
        }
    }

    #[test]
    fn raw_patches_are_checked() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let check = |v: ApiVersion, doc: Value| {
            let patch: Patch = serde_json::from_value(doc).unwrap();
            validate_patch(v, &patch, now)
        };
        assert!(
            check(
                ApiVersion::V3,
                json!([{"op":"replace","path":"/name","value":"x"}])
            )
            .is_ok()
        );
        assert!(check(ApiVersion::V3, json!([])).is_err());
        assert!(
            check(
                ApiVersion::V3,
                json!([{"op":"replace","path":"/owner","value":"x"}])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V3,
                json!([{"op":"replace","path":"/name","value":""}])
            )
            .is_err()
        );
        assert!(check(ApiVersion::V3, json!([{"op":"remove","path":"/name"}])).is_err());
        assert!(
            check(
                ApiVersion::V3,
                json!([{"op":"replace","path":"/scope","value":[]}])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V3,
                json!([{"op":"replace","path":"/scope","value":[1]}])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V3,
                json!([{"op":"move","from":"/name","path":"/scope"}])
            )
            .is_err()
        );
        assert!(check(ApiVersion::V3, json!([{"op":"test","path":"/name","value":"a"},{"op":"replace","path":"/name","value":"b"}])).is_ok());
        // Never-expiring without the acknowledgement.
        assert!(
            check(
                ApiVersion::V2025,
                json!([{"op":"replace","path":"/expirationDate","value":null}])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V2025,
                json!([{"op":"remove","path":"/expirationDate"}])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V2025,
                json!([
                    {"op":"replace","path":"/expirationDate","value":null},
                    {"op":"replace","path":"/userAwareTokenNeverExpires","value":false}
                ])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V2025,
                json!([
                    {"op":"replace","path":"/expirationDate","value":null},
                    {"op":"replace","path":"/userAwareTokenNeverExpires","value":true}
                ])
            )
            .is_ok()
        );
        // Past and malformed dates.
        assert!(
            check(
                ApiVersion::V2026,
                json!([{"op":"replace","path":"/expirationDate","value":"2025-01-01T00:00:00Z"}])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V2026,
                json!([{"op":"replace","path":"/expirationDate","value":"soon"}])
            )
            .is_err()
        );
        assert!(
            check(
                ApiVersion::V2026,
                json!([{"op":"replace","path":"/expirationDate","value":"2027-01-01T00:00:00Z"}])
            )
            .is_ok()
        );
    }

    const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    /// Checks the raw patch `doc` against `version` as of [`NOW`].
    fn check_raw(version: ApiVersion, doc: Value) -> Result<()> {
        let patch: Patch = serde_json::from_value(doc).expect("a JSON Patch document");
        validate_patch(version, &patch, NOW)
    }

    /// The reason `doc` is refused, after checking it is refused as invalid field `patch`.
    fn refused(version: ApiVersion, doc: Value) -> String {
        match check_raw(version, doc.clone()) {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                assert_eq!(e.field(), Some("patch"), "{e}");
                e.reason().unwrap_or_default().to_owned()
            }
            other => panic!("{doc} on {version}: expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn is_empty_tells_whether_a_setter_was_called() {
        assert!(TokenPatch::new().is_empty());
        assert!(!TokenPatch::new().name("x").is_empty());
        assert!(
            !TokenPatch::new()
                .never_expires(NeverExpires::I_UNDERSTAND_THE_RISK)
                .is_empty()
        );
        let err = TokenPatch::new().to_patch(ApiVersion::V3).unwrap_err();
        assert_eq!(err.kind(), pats_core::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no operations"), "{err}");
    }

    #[test]
    fn a_setter_called_twice_sends_its_last_value_once() {
        let patch = TokenPatch::new()
            .name("first")
            .scope(["a"])
            .name("second")
            .to_patch(ApiVersion::V3)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!([
                { "op": "replace", "path": "/scope", "value": ["a"] },
                { "op": "replace", "path": "/name", "value": "second" },
            ])
        );
    }

    #[test]
    fn times_are_sent_in_utc_with_milliseconds() {
        let at = datetime!(2030-07-08 09:10:11.987654 +02:00);
        assert_eq!(format_time(at), "2030-07-08T07:10:11.987Z");
        assert_eq!(
            format_time(datetime!(2031-12-31 23:59:59 UTC)),
            "2031-12-31T23:59:59.000Z"
        );
    }

    #[test]
    fn move_and_copy_are_refused_and_their_from_is_checked() {
        for op in ["move", "copy"] {
            // Both paths patchable: refused all the same, naming the operation.
            let reason = refused(
                ApiVersion::V3,
                json!([{"op": op, "from": "/name", "path": "/scope"}]),
            );
            assert_eq!(
                reason,
                format!("`{op} /scope`: move and copy between token fields are not meaningful")
            );
            // From a field no version may patch: the `from` is named.
            let reason = refused(
                ApiVersion::V2025,
                json!([{"op": op, "from": "/owner", "path": "/name"}]),
            );
            assert_eq!(
                reason,
                format!(
                    "`{op} /name`: `from` /owner is not patchable on {}",
                    ApiVersion::V2025
                )
            );
            // From a field only newer versions may patch.
            let reason = refused(
                ApiVersion::V3,
                json!([{"op": op, "from": "/expirationDate", "path": "/name"}]),
            );
            assert!(reason.contains("`from` /expirationDate"), "{reason}");
        }
    }

    #[test]
    fn a_path_that_is_not_patchable_is_named_with_its_operation() {
        for (op, doc) in [
            (
                "add",
                json!([{"op": "add", "path": "/owner", "value": "x"}]),
            ),
            ("remove", json!([{"op": "remove", "path": "/owner"}])),
            (
                "replace",
                json!([{"op": "replace", "path": "/owner", "value": "x"}]),
            ),
            (
                "test",
                json!([{"op": "test", "path": "/owner", "value": "x"}]),
            ),
        ] {
            let reason = refused(ApiVersion::V3, doc);
            assert!(
                reason.starts_with(&format!(
                    "`{op} /owner`: the path is not patchable on {}",
                    ApiVersion::V3
                )),
                "{reason}"
            );
            assert!(reason.ends_with("(allowed: /name, /scope)"), "{reason}");
        }
        // A test of an allowed path is not checked for its value.
        assert!(
            check_raw(
                ApiVersion::V3,
                json!([{"op": "test", "path": "/scope", "value": 7}])
            )
            .is_ok()
        );
    }

    #[test]
    fn name_must_be_a_non_blank_string() {
        for value in [json!(""), json!("  \t"), json!(7), json!(null)] {
            assert_eq!(
                refused(
                    ApiVersion::V3,
                    json!([{"op": "replace", "path": "/name", "value": value}])
                ),
                "`/name` must be a non-empty string"
            );
        }
        assert_eq!(
            refused(ApiVersion::V3, json!([{"op": "remove", "path": "/name"}])),
            "`/name` cannot be removed"
        );
        assert!(
            check_raw(
                ApiVersion::V3,
                json!([{"op": "add", "path": "/name", "value": " ci "}])
            )
            .is_ok()
        );
    }

    #[test]
    fn scope_is_a_non_empty_array_of_non_blank_strings_or_all_scopes() {
        // `null` and removing it both mean all scopes.
        for doc in [
            json!([{"op": "replace", "path": "/scope", "value": null}]),
            json!([{"op": "remove", "path": "/scope"}]),
            json!([{"op": "add", "path": "/scope", "value": ["sp:scopes:all"]}]),
        ] {
            assert!(check_raw(ApiVersion::V3, doc.clone()).is_ok(), "{doc}");
        }
        assert_eq!(
            refused(
                ApiVersion::V3,
                json!([{"op": "replace", "path": "/scope", "value": []}])
            ),
            "`/scope` needs at least one scope"
        );
        for items in [
            json!(["a", " "]),
            json!(["a", ""]),
            json!([1]),
            json!([null]),
        ] {
            assert_eq!(
                refused(
                    ApiVersion::V3,
                    json!([{"op": "replace", "path": "/scope", "value": items}])
                ),
                "`/scope` must hold non-empty strings"
            );
        }
        for value in [json!("sp:scopes:all"), json!({"a": 1}), json!(true)] {
            assert_eq!(
                refused(
                    ApiVersion::V3,
                    json!([{"op": "replace", "path": "/scope", "value": value}])
                ),
                "`/scope` must be an array of strings"
            );
        }
    }

    #[test]
    fn expiration_date_is_a_future_time_or_an_acknowledged_null() {
        let at =
            |value: Value| json!([{"op": "replace", "path": "/expirationDate", "value": value}]);
        assert!(check_raw(ApiVersion::V2026, at(json!("2026-01-01T00:00:00.001Z"))).is_ok());
        for past in ["2026-01-01T00:00:00Z", "2025-12-31T23:59:59.999Z"] {
            assert_eq!(
                refused(ApiVersion::V2026, at(json!(past))),
                "`/expirationDate` must be in the future"
            );
        }
        assert_eq!(
            refused(ApiVersion::V1, at(json!("next week"))),
            "`/expirationDate` `next week` is not an RFC 3339 time"
        );
        for value in [
            json!(1_900_000_000),
            json!(true),
            json!(["2030-01-01T00:00:00Z"]),
        ] {
            assert_eq!(
                refused(ApiVersion::V2025, at(value)),
                "`/expirationDate` must be a time or null"
            );
        }
        // Clearing it needs the acknowledgement in the same patch, in either order.
        let reason = refused(ApiVersion::V2025, at(json!(null)));
        assert!(reason.starts_with("clearing `/expirationDate`"), "{reason}");
        let reason = refused(
            ApiVersion::V2025,
            json!([{"op": "remove", "path": "/expirationDate"}]),
        );
        assert!(reason.starts_with("clearing `/expirationDate`"), "{reason}");
        assert!(
            check_raw(
                ApiVersion::V2025,
                json!([
                    {"op": "replace", "path": "/userAwareTokenNeverExpires", "value": true},
                    {"op": "remove", "path": "/expirationDate"}
                ])
            )
            .is_ok()
        );
        // Acknowledging alone (a date set, or none touched) is fine.
        assert!(
            check_raw(
                ApiVersion::V2025,
                json!([{"op": "replace", "path": "/userAwareTokenNeverExpires", "value": true}])
            )
            .is_ok()
        );
        assert!(
            check_raw(
                ApiVersion::V2025,
                json!([{"op": "replace", "path": "/userAwareTokenNeverExpires", "value": false}])
            )
            .is_ok()
        );
    }

    #[test]
    fn never_expires_must_be_a_boolean() {
        for doc in [
            json!([{"op": "replace", "path": "/userAwareTokenNeverExpires", "value": "true"}]),
            json!([{"op": "replace", "path": "/userAwareTokenNeverExpires", "value": null}]),
            json!([{"op": "remove", "path": "/userAwareTokenNeverExpires"}]),
        ] {
            assert_eq!(
                refused(ApiVersion::V2026, doc),
                "`/userAwareTokenNeverExpires` must be a boolean"
            );
        }
    }
}
