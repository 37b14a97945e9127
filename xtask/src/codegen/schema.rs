//! Reading `components.schemas` into a model of the Rust items to generate, rejecting
//! everything outside the supported subset (see the `codegen` module docs).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::CodegenError;
use super::names;

/// The only `$ref` prefix we resolve.
const REF_PREFIX: &str = "#/components/schemas/";

/// Keywords that only annotate or validate values; the generator ignores them.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "example",
    "examples",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
    "xml",
    "default",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// Keywords a struct (object) schema may use besides [`ANNOTATIONS`].
const STRUCT_KEYS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "x-pats-protojson",
    "x-pats-deny-unknown",
];

/// Keywords an enum (string) schema may use besides [`ANNOTATIONS`].
const ENUM_KEYS: &[&str] = &["type", "enum", "x-pats-open-enum", "x-pats-protojson"];

/// Keywords a property schema may use besides [`ANNOTATIONS`].
const PROPERTY_KEYS: &[&str] = &[
    "type",
    "format",
    "items",
    "$ref",
    "nullable",
    "additionalProperties",
    "x-pats-string",
];

/// Keywords array items and map values may use besides [`ANNOTATIONS`].
const NESTED_KEYS: &[&str] = &["type", "format", "items", "$ref", "additionalProperties"];

/// String formats that carry no type information for us: the value stays a `String`.
const PLAIN_STRING_FORMATS: &[&str] = &[
    "byte", "date", "duration", "email", "hostname", "password", "uri", "url", "uuid",
];

/// Type names that would shadow what generated code refers to.
const RESERVED_TYPE_NAMES: &[&str] = &["Box", "Option", "Result", "Self", "String", "Vec"];

/// A generated item.
#[derive(Debug)]
pub(crate) enum Item {
    /// From an object schema.
    Struct(StructDef),
    /// From a string schema with `enum`.
    Enum(EnumDef),
}

/// A struct to generate.
#[derive(Debug)]
pub(crate) struct StructDef {
    pub(crate) name: String,
    pub(crate) doc: String,
    pub(crate) protojson: bool,
    pub(crate) deny_unknown: bool,
    pub(crate) fields: Vec<FieldDef>,
}

/// A struct field to generate.
#[derive(Debug)]
pub(crate) struct FieldDef {
    pub(crate) ident: String,
    pub(crate) doc: String,
    pub(crate) ty: String,
    /// Arguments of the field's `#[serde(...)]` attribute, in order; empty for none.
    pub(crate) serde: Vec<String>,
}

/// An enum to generate.
#[derive(Debug)]
pub(crate) struct EnumDef {
    pub(crate) name: String,
    pub(crate) doc: String,
    pub(crate) open: bool,
    /// Index of the `#[default]` variant (protojson enums only).
    pub(crate) default: Option<usize>,
    pub(crate) variants: Vec<VariantDef>,
}

/// An enum variant to generate.
#[derive(Debug)]
pub(crate) struct VariantDef {
    pub(crate) value: String,
    pub(crate) ident: String,
}

/// What a date-time property's description says when the provider writes it with
/// exactly three fractional digits (SailPoint: "Date and time, down to the millisecond, ...").
const MILLIS_PHRASE: &str = "down to the millisecond";

/// The Rust type of a property, before optionality.
#[derive(Debug, Clone)]
enum Ty {
    String,
    /// `format: date-time`; `millis` when the description says it is given "down to the
    /// millisecond" (SailPoint's date-times): written with exactly three fractional digits.
    DateTime {
        millis: bool,
    },
    I32,
    I64,
    Int64 {
        string: bool,
    },
    Uint64 {
        string: bool,
    },
    Bool,
    F64,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    Ref {
        key: String,
        name: String,
    },
    Json,
}

impl Ty {
    fn rust(&self) -> String {
        match self {
            Ty::String => "String".to_owned(),
            Ty::DateTime { .. } => "time::OffsetDateTime".to_owned(),
            Ty::I32 => "i32".to_owned(),
            Ty::I64 | Ty::Int64 { .. } => "i64".to_owned(),
            Ty::Uint64 { .. } => "u64".to_owned(),
            Ty::Bool => "bool".to_owned(),
            Ty::F64 => "f64".to_owned(),
            Ty::Vec(inner) => format!("Vec<{}>", inner.rust()),
            Ty::Map(inner) => format!("std::collections::BTreeMap<String, {}>", inner.rust()),
            Ty::Ref { name, .. } => name.clone(),
            Ty::Json => "serde_json::Value".to_owned(),
        }
    }

    /// The `pats_core::__private::wire` module for `#[serde(with)]`, if the type needs one.
    fn helper(&self) -> Option<&'static str> {
        match self {
            Ty::DateTime { millis: false } => Some("pats_core::__private::wire::rfc3339"),
            Ty::DateTime { millis: true } => Some("pats_core::__private::wire::rfc3339_millis"),
            Ty::Int64 { string: false } => Some("pats_core::__private::wire::int64"),
            Ty::Int64 { string: true } => Some("pats_core::__private::wire::int64_string"),
            Ty::Uint64 { string: false } => Some("pats_core::__private::wire::uint64"),
            Ty::Uint64 { string: true } => Some("pats_core::__private::wire::uint64_string"),
            _ => None,
        }
    }

    /// Schemas referenced anywhere in this type.
    fn refs<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Ty::Vec(inner) | Ty::Map(inner) => inner.refs(out),
            Ty::Ref { key, .. } => out.push(key),
            _ => {}
        }
    }
}

/// Where a schema appears, for the rules that differ and for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Property,
    Items,
    MapValue,
}

impl Position {
    fn describe(self) -> &'static str {
        match self {
            Position::Property => "the property",
            Position::Items => "array items",
            Position::MapValue => "map values",
        }
    }
}

/// What pass one learns about every schema.
#[derive(Debug)]
struct SchemaInfo {
    name: String,
    is_enum: bool,
    protojson: bool,
}

/// Reads `components.schemas` of `spec` into items, in schema-key order.
pub(crate) fn parse(spec: &Value) -> Result<Vec<Item>, CodegenError> {
    let Some(root) = spec.as_object() else {
        return Err(CodegenError::new(
            None,
            None,
            "the spec must be a JSON object",
        ));
    };
    let schemas = root
        .get("components")
        .and_then(Value::as_object)
        .and_then(|components| components.get("schemas"));
    let Some(schemas) = schemas else {
        return Err(CodegenError::new(
            None,
            None,
            "the spec has no `components.schemas` object",
        ));
    };
    let Some(schemas) = schemas.as_object() else {
        return Err(CodegenError::new(
            None,
            None,
            "`components.schemas` must be an object",
        ));
    };
    // Sorted explicitly: `serde_json::Map` keeps insertion order when another crate in the
    // build enables `preserve_order`.
    let schemas: BTreeMap<&str, &Value> = schemas.iter().map(|(k, v)| (k.as_str(), v)).collect();

    let parser = Parser::new(&schemas)?;
    let mut items = Vec::with_capacity(schemas.len());
    let mut edges: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (&key, &schema) in &schemas {
        let object = parser.object(key, schema)?;
        if parser.info(key)?.is_enum {
            items.push(Item::Enum(parser.enum_def(key, object)?));
        } else {
            let (def, refs) = parser.struct_def(key, object)?;
            edges.insert(key, refs);
            items.push(Item::Struct(def));
        }
    }
    reject_cycles(&edges)?;
    Ok(items)
}

/// Pass two: schema bodies, with every schema's name and kind known.
struct Parser<'a> {
    schemas: &'a BTreeMap<&'a str, &'a Value>,
    infos: BTreeMap<&'a str, SchemaInfo>,
}

impl<'a> Parser<'a> {
    /// Pass one: names, kinds and collisions.
    fn new(schemas: &'a BTreeMap<&'a str, &'a Value>) -> Result<Self, CodegenError> {
        let mut infos = BTreeMap::new();
        let mut by_name: BTreeMap<String, &str> = BTreeMap::new();
        for (&key, &schema) in schemas {
            let error = |message: String| CodegenError::new(Some(key), None, message);
            let Some(name) = names::upper_camel(key) else {
                return Err(error(
                    "cannot derive a Rust type name from the schema key".to_owned(),
                ));
            };
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(error(format!(
                    "the type name `{name}` would start with a digit"
                )));
            }
            if RESERVED_TYPE_NAMES.contains(&name.as_str()) {
                return Err(error(format!(
                    "the type name `{name}` would shadow a Rust prelude type; rename the schema"
                )));
            }
            if let Some(other) = by_name.insert(name.clone(), key) {
                return Err(error(format!(
                    "the type name `{name}` is also derived from schema `{other}`; rename one of them"
                )));
            }
            let Some(object) = schema.as_object() else {
                return Err(error("the schema must be a JSON object".to_owned()));
            };
            let is_enum = match object.get("type") {
                Some(Value::String(t)) if t == "object" => false,
                Some(Value::String(t)) if t == "string" && object.contains_key("enum") => true,
                Some(Value::String(t)) => {
                    return Err(error(format!(
                        "unsupported top-level schema of type `{t}`: only objects (structs) and \
                         string enums are supported"
                    )));
                }
                Some(_) => {
                    return Err(error(
                        "`type` must be a string (OpenAPI 3.1 type arrays are not supported)"
                            .to_owned(),
                    ));
                }
                None => {
                    return Err(error(
                        "unsupported schema without `type`: only `type: object` (struct) and \
                         `type: string` with `enum` are supported (no allOf/oneOf/anyOf)"
                            .to_owned(),
                    ));
                }
            };
            let protojson = flag(object, "x-pats-protojson", key, None)?;
            infos.insert(
                key,
                SchemaInfo {
                    name,
                    is_enum,
                    protojson,
                },
            );
        }
        Ok(Parser { schemas, infos })
    }

    fn info(&self, key: &str) -> Result<&SchemaInfo, CodegenError> {
        self.infos
            .get(key)
            .ok_or_else(|| CodegenError::new(Some(key), None, "internal error: unknown schema"))
    }

    fn object(&self, key: &str, schema: &'a Value) -> Result<&'a Map<String, Value>, CodegenError> {
        schema
            .as_object()
            .ok_or_else(|| CodegenError::new(Some(key), None, "the schema must be a JSON object"))
    }

    /// An object schema → struct, plus `(property, referenced schema)` edges.
    fn struct_def(
        &self,
        key: &str,
        object: &Map<String, Value>,
    ) -> Result<(StructDef, Vec<(String, String)>), CodegenError> {
        let info = self.info(key)?;
        let error = |message: &str| CodegenError::new(Some(key), None, message);
        check_keys(object, STRUCT_KEYS, key, None)?;
        let empty = Map::new();
        let properties = match object.get("properties") {
            None => &empty,
            Some(Value::Object(properties)) => properties,
            Some(_) => return Err(error("`properties` must be an object")),
        };
        let deny_unknown = flag(object, "x-pats-deny-unknown", key, None)?;
        match object.get("additionalProperties") {
            None | Some(Value::Bool(true)) => {
                if deny_unknown {
                    return Err(error(
                        "`x-pats-deny-unknown: true` requires `additionalProperties: false`",
                    ));
                }
            }
            Some(Value::Bool(false)) => {}
            Some(_) if properties.is_empty() => {
                return Err(error(
                    "top-level map schemas (`additionalProperties: <schema>`) are not supported; \
                     declare the map as a property of the schema that uses it",
                ));
            }
            Some(_) => {
                return Err(error(
                    "`additionalProperties` with a schema cannot be combined with `properties`; \
                     only `false` (or `true`) is supported here",
                ));
            }
        }
        let mut required = BTreeSet::new();
        match object.get("required") {
            None => {}
            Some(Value::Array(names)) => {
                for name in names {
                    let Some(name) = name.as_str() else {
                        return Err(error("`required` must be an array of strings"));
                    };
                    if !properties.contains_key(name) {
                        return Err(CodegenError::new(
                            Some(key),
                            Some(name),
                            "listed in `required` but not declared in `properties`",
                        ));
                    }
                    required.insert(name);
                }
            }
            Some(_) => return Err(error("`required` must be an array of strings")),
        }

        let properties: BTreeMap<&str, &Value> =
            properties.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut fields = Vec::with_capacity(properties.len());
        let mut idents: BTreeMap<String, &str> = BTreeMap::new();
        let mut edges = Vec::new();
        for (&json_name, &schema) in &properties {
            let perror = |message: String| CodegenError::new(Some(key), Some(json_name), message);
            let Some(property) = schema.as_object() else {
                return Err(perror(
                    "the property schema must be a JSON object".to_owned(),
                ));
            };
            let ident = match names::snake(json_name) {
                Some(ident) if !ident.starts_with(|c: char| c.is_ascii_digit()) => {
                    names::escape_field(ident)
                }
                _ => {
                    return Err(perror(
                        "cannot derive a Rust field name from the JSON name".to_owned(),
                    ));
                }
            };
            if let Some(other) = idents.insert(ident.clone(), json_name) {
                return Err(perror(format!(
                    "the field name `{ident}` is also derived from property `{other}`"
                )));
            }
            let ty = self.property_type(key, json_name, property, Position::Property)?;
            let nullable = match property.get("nullable") {
                None => false,
                Some(Value::Bool(nullable)) => *nullable,
                Some(_) => return Err(perror("`nullable` must be a boolean".to_owned())),
            };
            let is_required = required.contains(json_name);
            let optional = !is_required || nullable;

            if info.protojson && !optional {
                self.check_default(key, json_name, &ty)?;
            }
            let mut refs = Vec::new();
            ty.refs(&mut refs);
            edges.extend(
                refs.into_iter()
                    .map(|r| (json_name.to_owned(), r.to_owned())),
            );

            let mut serde = Vec::new();
            let bare = ident.strip_prefix("r#").unwrap_or(&ident);
            if bare != json_name {
                serde.push(format!("rename = {}", names::string_literal(json_name)));
            }
            let rust = if optional {
                serde.push("default".to_owned());
                if let Some(helper) = ty.helper() {
                    serde.push(format!("with = \"{helper}::option\""));
                }
                if !is_required {
                    serde.push("skip_serializing_if = \"Option::is_none\"".to_owned());
                }
                format!("Option<{}>", ty.rust())
            } else {
                if info.protojson && matches!(ty, Ty::Vec(_) | Ty::Map(_)) {
                    serde.push("default".to_owned());
                }
                if let Some(helper) = ty.helper() {
                    serde.push(format!("with = \"{helper}\""));
                }
                ty.rust()
            };
            let doc = doc_line(property, key, Some(json_name))?
                .unwrap_or_else(|| format!("The `{json_name}` field."));
            fields.push(FieldDef {
                ident,
                doc,
                ty: rust,
                serde,
            });
        }
        let doc = doc_line(object, key, None)?.unwrap_or_else(|| format!("The `{key}` schema."));
        let def = StructDef {
            name: info.name.clone(),
            doc,
            protojson: info.protojson,
            deny_unknown,
            fields,
        };
        Ok((def, edges))
    }

    /// In a protojson struct every field must implement `Default`.
    fn check_default(&self, key: &str, property: &str, ty: &Ty) -> Result<(), CodegenError> {
        let message = match ty {
            Ty::DateTime { .. } => {
                "a required date-time has no default value, but `x-pats-protojson` schemas must \
                 default every field; make it optional (protojson omits unset timestamps)"
                    .to_owned()
            }
            Ty::Ref { key: target, name } if !self.info(target)?.protojson => format!(
                "`{name}` does not implement `Default`, but `x-pats-protojson` schemas must \
                 default every field; mark schema `{target}` with `x-pats-protojson: true` or \
                 make the property optional"
            ),
            _ => return Ok(()),
        };
        Err(CodegenError::new(Some(key), Some(property), message))
    }

    /// The type of a property, array items or map values.
    fn property_type(
        &self,
        key: &str,
        property: &str,
        schema: &Map<String, Value>,
        position: Position,
    ) -> Result<Ty, CodegenError> {
        let where_ = position.describe();
        let error = |message: String| CodegenError::new(Some(key), Some(property), message);
        for composition in ["allOf", "oneOf", "anyOf", "not"] {
            if schema.contains_key(composition) {
                return Err(error(format!(
                    "`{composition}` in {where_} is not supported; reference a schema with `$ref`"
                )));
            }
        }
        if schema.contains_key("properties") || schema.contains_key("required") {
            return Err(error(format!(
                "inline object schemas are not supported ({where_}); move the object to \
                 `components.schemas` and use `$ref`"
            )));
        }
        if schema.contains_key("enum") {
            return Err(error(format!(
                "inline enums are not supported ({where_}); move the enum to \
                 `components.schemas` and use `$ref`"
            )));
        }
        if position != Position::Property && schema.contains_key("nullable") {
            return Err(error(format!("`nullable` is not supported on {where_}")));
        }
        let allowed = if position == Position::Property {
            PROPERTY_KEYS
        } else {
            NESTED_KEYS
        };
        check_keys(schema, allowed, key, Some(property))?;
        let as_string = flag(schema, "x-pats-string", key, Some(property))?;

        if let Some(reference) = schema.get("$ref") {
            for other in ["type", "format", "items", "additionalProperties"] {
                if schema.contains_key(other) {
                    return Err(error(format!("`$ref` cannot be combined with `{other}`")));
                }
            }
            let Some(reference) = reference.as_str() else {
                return Err(error("`$ref` must be a string".to_owned()));
            };
            let target = reference
                .strip_prefix(REF_PREFIX)
                .filter(|t| !t.contains(['/', '~']));
            let Some(target) = target else {
                return Err(error(format!(
                    "bad `$ref` `{reference}`: only local `{REF_PREFIX}<name>` references are \
                     supported"
                )));
            };
            if !self.schemas.contains_key(target) {
                return Err(error(format!(
                    "bad `$ref` `{reference}`: there is no schema `{target}` in \
                     `components.schemas`"
                )));
            }
            let ty = Ty::Ref {
                key: target.to_owned(),
                name: self.info(target)?.name.clone(),
            };
            return self.finish(key, property, ty, as_string);
        }

        let format = match schema.get("format") {
            None => None,
            Some(Value::String(format)) => Some(format.as_str()),
            Some(_) => return Err(error("`format` must be a string".to_owned())),
        };
        let Some(type_) = schema.get("type") else {
            for other in ["format", "items", "additionalProperties"] {
                if schema.contains_key(other) {
                    return Err(error(format!("`{other}` is set but `type` is missing")));
                }
            }
            return self.finish(key, property, Ty::Json, as_string);
        };
        let Some(type_) = type_.as_str() else {
            return Err(error(
                "`type` must be a string (OpenAPI 3.1 type arrays are not supported; use \
                 `nullable: true`)"
                    .to_owned(),
            ));
        };
        let unsupported_format = |format: &str| {
            error(format!(
                "unsupported format `{format}` for type `{type_}` in {where_}"
            ))
        };
        let only_on_property = |format: &str| {
            error(format!(
                "format `{format}` is only supported directly on a property, not on {where_}"
            ))
        };
        if type_ != "array" && schema.contains_key("items") {
            return Err(error(format!(
                "`items` is only allowed with `type: array`, not `{type_}`"
            )));
        }
        if type_ != "object" && schema.contains_key("additionalProperties") {
            return Err(error(format!(
                "`additionalProperties` is only allowed with `type: object`, not `{type_}`"
            )));
        }
        let ty = match type_ {
            "string" => match format {
                None => Ty::String,
                Some("date-time") if position == Position::Property => Ty::DateTime {
                    millis: schema
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| d.to_ascii_lowercase().contains(MILLIS_PHRASE)),
                },
                Some("date-time") => return Err(only_on_property("date-time")),
                Some(format @ ("int64" | "uint64")) => {
                    return Err(error(format!(
                        "`type: string` with format `{format}` is not supported; use \
                         `type: integer`, `format: {format}` and `x-pats-string: true`"
                    )));
                }
                Some(format) if PLAIN_STRING_FORMATS.contains(&format) => Ty::String,
                Some(format) => return Err(unsupported_format(format)),
            },
            "integer" => match format {
                None => Ty::I64,
                Some("int32") => Ty::I32,
                Some(format @ ("int64" | "uint64")) if position != Position::Property => {
                    return Err(only_on_property(format));
                }
                Some("int64") => Ty::Int64 { string: as_string },
                Some("uint64") => Ty::Uint64 { string: as_string },
                Some(format) => return Err(unsupported_format(format)),
            },
            "boolean" => match format {
                None => Ty::Bool,
                Some(format) => return Err(unsupported_format(format)),
            },
            "number" => match format {
                None | Some("double" | "float") => Ty::F64,
                Some(format) => return Err(unsupported_format(format)),
            },
            "array" => {
                if let Some(format) = format {
                    return Err(unsupported_format(format));
                }
                let Some(items) = schema.get("items") else {
                    return Err(error(format!("`type: array` in {where_} needs `items`")));
                };
                let Some(items) = items.as_object() else {
                    return Err(error("`items` must be a schema object".to_owned()));
                };
                let inner = self.property_type(key, property, items, Position::Items)?;
                Ty::Vec(Box::new(inner))
            }
            "object" => {
                if let Some(format) = format {
                    return Err(unsupported_format(format));
                }
                match schema.get("additionalProperties") {
                    None | Some(Value::Bool(true)) => Ty::Map(Box::new(Ty::Json)),
                    Some(Value::Object(values)) => {
                        let inner =
                            self.property_type(key, property, values, Position::MapValue)?;
                        Ty::Map(Box::new(inner))
                    }
                    Some(Value::Bool(false)) => {
                        return Err(error(format!(
                            "inline object schemas are not supported ({where_}); move the object \
                             to `components.schemas` and use `$ref`"
                        )));
                    }
                    Some(_) => {
                        return Err(error(
                            "`additionalProperties` must be a boolean or a schema object"
                                .to_owned(),
                        ));
                    }
                }
            }
            other => {
                return Err(error(format!("unsupported type `{other}` in {where_}")));
            }
        };
        self.finish(key, property, ty, as_string)
    }

    /// Rejects `x-pats-string` on anything but 64-bit integers.
    fn finish(
        &self,
        key: &str,
        property: &str,
        ty: Ty,
        as_string: bool,
    ) -> Result<Ty, CodegenError> {
        if as_string && !matches!(ty, Ty::Int64 { .. } | Ty::Uint64 { .. }) {
            return Err(CodegenError::new(
                Some(key),
                Some(property),
                "`x-pats-string` is only supported on `type: integer` with format `int64` or \
                 `uint64`",
            ));
        }
        Ok(ty)
    }

    /// A string schema with `enum` → enum.
    fn enum_def(&self, key: &str, object: &Map<String, Value>) -> Result<EnumDef, CodegenError> {
        let info = self.info(key)?;
        let error = |message: String| CodegenError::new(Some(key), None, message);
        check_keys(object, ENUM_KEYS, key, None)?;
        let open = flag(object, "x-pats-open-enum", key, None)?;
        let Some(values) = object.get("enum").and_then(Value::as_array) else {
            return Err(error("`enum` must be an array of strings".to_owned()));
        };
        if values.is_empty() {
            return Err(error("`enum` must list at least one value".to_owned()));
        }
        let mut variants: Vec<VariantDef> = Vec::with_capacity(values.len());
        let mut idents: BTreeMap<String, &str> = BTreeMap::new();
        for value in values {
            let Some(value) = value.as_str() else {
                return Err(error(format!("enum value {value} is not a string")));
            };
            let Some(mut ident) = names::upper_camel(value) else {
                return Err(error(format!(
                    "cannot derive a Rust variant name from enum value {}",
                    names::string_literal(value)
                )));
            };
            if ident.starts_with(|c: char| c.is_ascii_digit()) {
                ident.insert_str(0, "Value");
            }
            if ident == "Self" || (open && ident == "Other") {
                return Err(error(format!(
                    "enum value {} would become the reserved variant name `{ident}`",
                    names::string_literal(value)
                )));
            }
            if let Some(other) = idents.insert(ident.clone(), value) {
                return Err(error(format!(
                    "enum values {} and {} both become the variant `{ident}`",
                    names::string_literal(other),
                    names::string_literal(value)
                )));
            }
            variants.push(VariantDef {
                value: value.to_owned(),
                ident,
            });
        }
        let default = if info.protojson {
            match object.get("default") {
                None => Some(0),
                Some(Value::String(value)) => {
                    let index = variants.iter().position(|v| &v.value == value);
                    if index.is_none() {
                        return Err(error(format!(
                            "`default` {} is not one of the enum values",
                            names::string_literal(value)
                        )));
                    }
                    index
                }
                Some(_) => return Err(error("`default` must be a string".to_owned())),
            }
        } else {
            None
        };
        let doc = doc_line(object, key, None)?.unwrap_or_else(|| format!("The `{key}` schema."));
        Ok(EnumDef {
            name: info.name.clone(),
            doc,
            open,
            default,
            variants,
        })
    }
}

/// Rejects keys outside `allowed` and [`ANNOTATIONS`]; other vendor extensions (`x-…`) are
/// ignored, but unknown `x-pats-…` ones are rejected so typos do not go unnoticed.
fn check_keys(
    object: &Map<String, Value>,
    allowed: &[&str],
    key: &str,
    property: Option<&str>,
) -> Result<(), CodegenError> {
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    for name in keys {
        if allowed.contains(&name.as_str()) || ANNOTATIONS.contains(&name.as_str()) {
            continue;
        }
        if name.starts_with("x-") && !name.starts_with("x-pats-") {
            continue;
        }
        let what = if name.starts_with("x-pats-") {
            "vendor extension"
        } else {
            "keyword"
        };
        return Err(CodegenError::new(
            Some(key),
            property,
            format!("unsupported {what} `{name}` here"),
        ));
    }
    Ok(())
}

/// A boolean vendor extension; absent means `false`.
fn flag(
    object: &Map<String, Value>,
    name: &str,
    key: &str,
    property: Option<&str>,
) -> Result<bool, CodegenError> {
    match object.get(name) {
        None => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(CodegenError::new(
            Some(key),
            property,
            format!("`{name}` must be a boolean"),
        )),
    }
}

/// The doc line for a schema: the first paragraph of `description` (or `title`) on one line.
fn doc_line(
    object: &Map<String, Value>,
    key: &str,
    property: Option<&str>,
) -> Result<Option<String>, CodegenError> {
    for field in ["description", "title"] {
        let text = match object.get(field) {
            None => continue,
            Some(Value::String(text)) => text,
            Some(_) => {
                return Err(CodegenError::new(
                    Some(key),
                    property,
                    format!("`{field}` must be a string"),
                ));
            }
        };
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut words = Vec::new();
        for line in text
            .lines()
            .map(str::trim)
            .skip_while(|line| line.is_empty())
        {
            if line.is_empty() {
                break;
            }
            words.push(line);
        }
        let mut line = words.join(" ");
        // A code fence would turn into a doc test; keep only the prose before it.
        if let Some(fence) = line.find("```") {
            line.truncate(fence);
        }
        let line: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let line = line.trim();
        if !line.is_empty() {
            return Ok(Some(line.to_owned()));
        }
    }
    Ok(None)
}

/// Rejects reference cycles between structs, naming the first property of the cycle.
fn reject_cycles(edges: &BTreeMap<&str, Vec<(String, String)>>) -> Result<(), CodegenError> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        Visiting,
        Done,
    }
    fn visit<'e>(
        node: &'e str,
        edges: &'e BTreeMap<&str, Vec<(String, String)>>,
        states: &mut BTreeMap<&'e str, State>,
        path: &mut Vec<(&'e str, &'e str)>,
    ) -> Result<(), CodegenError> {
        states.insert(node, State::Visiting);
        for (property, target) in edges.get(node).map(Vec::as_slice).unwrap_or_default() {
            path.push((node, property));
            match states.get(target.as_str()) {
                Some(State::Visiting) => {
                    let start = path
                        .iter()
                        .position(|(schema, _)| *schema == target)
                        .unwrap_or(0);
                    let cycle = &path[start..];
                    let chain: Vec<String> = cycle
                        .iter()
                        .map(|(schema, property)| format!("{schema}.{property}"))
                        .collect();
                    let (schema, property) = cycle[0];
                    return Err(CodegenError::new(
                        Some(schema),
                        Some(property),
                        format!(
                            "recursive schemas are not supported: {} -> {target}",
                            chain.join(" -> ")
                        ),
                    ));
                }
                Some(State::Done) => {}
                None => visit(target, edges, states, path)?,
            }
            path.pop();
        }
        states.insert(node, State::Done);
        Ok(())
    }

    let mut states = BTreeMap::new();
    for &node in edges.keys() {
        if !states.contains_key(node) {
            visit(node, edges, &mut states, &mut Vec::new())?;
        }
    }
    Ok(())
}
