//! Parameter coercion and validation: strings from the path, query, headers, cookies or a form
//! become a JSON object typed by the location's schema, which is then validated.
//!
//! Everything that depends only on the fixture (property list, types, defaults, the compiled
//! validator) is prepared once in [`ParamSet::new`]; a request only coerces and validates.

use std::borrow::Cow;
use std::path::Path;

use axum::http::{HeaderMap, HeaderName};
use serde_json::{Map, Number, Value};

use crate::error::BuildError;
use crate::problem::{FieldError, Location, schema_errors};

/// Compiles a handler's JSON Schema; the error names the fixture and pointer.
pub(crate) fn compile(
    file: &Path,
    pointer: &str,
    schema: &Value,
) -> Result<jsonschema::Validator, BuildError> {
    harness_fixture::schema::compile(schema)
        .map_err(|e| BuildError::handler(file, pointer, format!("invalid JSON Schema: {e}")))
}

/// The JSON types a string may be coerced to; a string that fits none stays a string, so the
/// validator reports the type error at the property's pointer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Types {
    pub integer: bool,
    pub number: bool,
    pub boolean: bool,
}

impl Types {
    /// The types named by a schema's `type` (a string or a list of strings).
    fn of(schema: Option<&Value>) -> Types {
        let mut types = Types::default();
        let mut add = |name: &str| match name {
            "integer" => types.integer = true,
            "number" => types.number = true,
            "boolean" => types.boolean = true,
            _ => {}
        };
        match schema.and_then(|s| s.get("type")) {
            Some(Value::String(name)) => add(name),
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).for_each(add),
            _ => {}
        }
        types
    }

    pub(crate) fn integer() -> Types {
        Types {
            integer: true,
            ..Types::default()
        }
    }

    pub(crate) fn number() -> Types {
        Types {
            number: true,
            ..Types::default()
        }
    }

    pub(crate) fn boolean() -> Types {
        Types {
            boolean: true,
            ..Types::default()
        }
    }

    /// Coerces one raw value.
    pub(crate) fn coerce(self, raw: &str) -> Value {
        if self.integer && is_integer(raw) {
            if let Ok(n) = raw.parse::<i64>() {
                return Value::from(n);
            }
            if let Ok(n) = raw.parse::<u64>() {
                return Value::from(n);
            }
            if let Some(n) = raw.parse::<f64>().ok().and_then(Number::from_f64) {
                return Value::Number(n);
            }
        }
        if self.number
            && looks_numeric(raw)
            && let Ok(n) = serde_json::from_str::<Number>(raw)
        {
            return Value::Number(n);
        }
        if self.boolean {
            match raw {
                "true" => return Value::Bool(true),
                "false" => return Value::Bool(false),
                _ => {}
            }
        }
        Value::String(raw.to_owned())
    }
}

/// `-?[0-9]+`.
fn is_integer(raw: &str) -> bool {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Starts with `-` or a digit and ends with a digit: rules out the whitespace serde_json would
/// skip; the JSON grammar itself is checked by the parser.
fn looks_numeric(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    matches!(bytes.first(), Some(b'-' | b'0'..=b'9')) && matches!(bytes.last(), Some(b'0'..=b'9'))
}

/// One declared property.
#[derive(Debug)]
pub(crate) struct Property {
    pub name: String,
    /// A repeated key collects every occurrence.
    pub array: bool,
    /// Scalar type, or the item type of an array.
    pub types: Types,
    pub default: Option<Value>,
    /// The header this property reads (headers location only).
    pub header: Option<HeaderName>,
}

impl Property {
    /// A property from its schema.
    pub(crate) fn from_schema(name: &str, schema: &Value) -> Property {
        let is_array = match schema.get("type") {
            Some(Value::String(t)) => t == "array",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "array"),
            _ => false,
        };
        let types = if is_array {
            Types::of(schema.get("items"))
        } else {
            Types::of(Some(schema))
        };
        Property {
            name: name.to_owned(),
            array: is_array,
            types,
            default: schema.get("default").cloned(),
            header: None,
        }
    }
}

/// The declared properties of one location and its compiled schema.
pub(crate) struct ParamSet {
    pub location: Location,
    pub properties: Vec<Property>,
    pub validator: Option<jsonschema::Validator>,
    /// Without declared properties (a form body whose schema lists none): keep every field as a
    /// string, first occurrence.
    pub keep_all: bool,
}

impl ParamSet {
    /// The properties of an object schema (`properties`), in their declared order.
    pub(crate) fn properties_of(schema: &Value) -> Vec<Property> {
        schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, s)| Property::from_schema(name, s))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn index_of(&self, key: &str) -> Option<usize> {
        self.properties.iter().position(|p| p.name == key)
    }

    /// Coerces key/value pairs (query string, form, cookies).
    pub(crate) fn collect_pairs<K, V>(&self, pairs: impl IntoIterator<Item = (K, V)>) -> Value
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if self.keep_all {
            let mut map = Map::new();
            for (key, value) in pairs {
                if !map.contains_key(key.as_ref()) {
                    map.insert(
                        key.as_ref().to_owned(),
                        Value::String(value.as_ref().into()),
                    );
                }
            }
            return Value::Object(map);
        }
        let mut slots = Slots::new(self);
        for (key, value) in pairs {
            if let Some(index) = self.index_of(key.as_ref()) {
                slots.push(index, value.as_ref());
            }
        }
        slots.finish()
    }

    /// Coerces the declared headers.
    pub(crate) fn collect_headers(&self, headers: &HeaderMap) -> Value {
        let mut slots = Slots::new(self);
        for (index, property) in self.properties.iter().enumerate() {
            let Some(name) = &property.header else {
                continue;
            };
            for value in headers.get_all(name) {
                slots.push(index, &String::from_utf8_lossy(value.as_bytes()));
            }
        }
        slots.finish()
    }

    /// Coerces the declared cookies of every `Cookie` header (`a=1; b=2`).
    pub(crate) fn collect_cookies(&self, headers: &HeaderMap) -> Value {
        let pairs = headers
            .get_all(axum::http::header::COOKIE)
            .into_iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                Some((name.trim(), value))
            });
        self.collect_pairs(pairs)
    }

    /// Validates a coerced object, adding one error per failing pointer.
    pub(crate) fn validate(&self, object: &Value, errors: &mut Vec<FieldError>) {
        if let Some(validator) = &self.validator {
            validate_into(validator, self.location, object, errors);
        }
    }
}

/// Validates `instance`, adding errors at `location`.
pub(crate) fn validate_into(
    validator: &jsonschema::Validator,
    location: Location,
    instance: &Value,
    errors: &mut Vec<FieldError>,
) {
    schema_errors(validator, instance, |pointer, message| {
        errors.push(FieldError {
            location,
            pointer,
            message,
        })
    });
}

/// Coerced values per declared property, while a request is read.
struct Slots<'a> {
    set: &'a ParamSet,
    values: Vec<Option<Value>>,
}

impl<'a> Slots<'a> {
    fn new(set: &'a ParamSet) -> Self {
        Slots {
            set,
            values: vec![None; set.properties.len()],
        }
    }

    fn push(&mut self, index: usize, raw: &str) {
        let property = &self.set.properties[index];
        let slot = &mut self.values[index];
        if property.array {
            let item = property.types.coerce(raw);
            match slot {
                Some(Value::Array(items)) => items.push(item),
                _ => *slot = Some(Value::Array(vec![item])),
            }
        } else if slot.is_none() {
            *slot = Some(property.types.coerce(raw));
        }
    }

    /// The object of present (or defaulted) properties, in declared order.
    fn finish(self) -> Value {
        let mut map = Map::new();
        for (property, value) in self.set.properties.iter().zip(self.values) {
            if let Some(value) = value.or_else(|| property.default.clone()) {
                map.insert(property.name.clone(), value);
            }
        }
        Value::Object(map)
    }
}

/// Percent-decodes a path capture (invalid UTF-8 replaced).
pub(crate) fn decode_capture(raw: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(schema: Value) -> ParamSet {
        ParamSet {
            location: Location::Query,
            properties: ParamSet::properties_of(&schema),
            validator: Some(harness_fixture::schema::compile(&schema).unwrap()),
            keep_all: false,
        }
    }

    #[test]
    fn coerces_by_type() {
        assert_eq!(Types::integer().coerce("-42"), json!(-42));
        assert_eq!(Types::integer().coerce("4.2"), json!("4.2"));
        assert_eq!(Types::integer().coerce(" 4"), json!(" 4"));
        assert_eq!(Types::number().coerce("4.5e1"), json!(45.0));
        assert_eq!(Types::number().coerce("7"), json!(7));
        assert_eq!(Types::number().coerce("NaN"), json!("NaN"));
        assert_eq!(Types::number().coerce("1 "), json!("1 "));
        assert_eq!(Types::boolean().coerce("true"), json!(true));
        assert_eq!(Types::boolean().coerce("True"), json!("True"));
        assert_eq!(Types::default().coerce("x"), json!("x"));
    }

    #[test]
    fn arrays_scalars_defaults_and_undeclared() {
        let set = set(json!({"type": "object", "properties": {
            "tag": {"type": "array", "items": {"type": "integer"}},
            "q": {"type": "string"},
            "limit": {"type": "integer", "default": 10},
            "flag": {"type": "boolean"}
        }}));
        let value = set.collect_pairs([
            ("tag", "1"),
            ("q", "a"),
            ("tag", "2"),
            ("q", "b"),
            ("x", "y"),
        ]);
        assert_eq!(value, json!({"tag": [1, 2], "q": "a", "limit": 10}));
        let mut errors = Vec::new();
        set.validate(&value, &mut errors);
        assert!(errors.is_empty());
        let value = set.collect_pairs([("tag", "1"), ("tag", "x")]);
        set.validate(&value, &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/tag/1");
    }
}
