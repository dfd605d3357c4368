//! Just enough JSON Schema to check rendered objects against upstream schemas (CRD
//! `openAPIV3Schema`, Helm `values.schema.json`): `$ref` to local definitions, `type`,
//! `enum`, `required`, `properties`, `additionalProperties`, `items`.
//!
//! An object schema that lists `properties` is treated as closed unless it allows more
//! (`additionalProperties`, `x-kubernetes-preserve-unknown-fields`): that is how the API
//! server's strict field validation treats CRDs, and what the gateway chart intends with
//! `additionalProperties: false`. Combinators (`oneOf`, `anyOf`, `allOf`, `not`) are not
//! evaluated; they only add constraints, so a pass here is necessary, not sufficient.

use std::fmt;

use serde_json::Value;

/// Every way `value` breaks `schema` (`root` holds the `$ref` targets), as messages.
pub fn validate(root: &Value, schema: &Value, value: &Value) -> Vec<String> {
    violations(root, schema, value)
        .iter()
        .map(Violation::to_string)
        .collect()
}

/// Every way `value` breaks `schema`, sorted by what is wrong: the API stand-in answers
/// an unknown field differently (strict field validation) from a wrong value.
pub fn violations(root: &Value, schema: &Value, value: &Value) -> Vec<Violation> {
    let mut errors = Vec::new();
    check(root, schema, value, "", &mut errors);
    errors
}

/// One way a value breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: `.spec.addresses[0]`, or `<root>`.
    pub path: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A field the schema does not declare, in an object it closes.
    UnknownField(String),
    /// A wrong type, a value outside an enum, a missing required field.
    Invalid(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::UnknownField(key) => write!(f, "{}: unknown field `{key}`", self.path),
            Problem::Invalid(what) => write!(f, "{}: {what}", self.path),
        }
    }
}

fn invalid(here: &str, what: String) -> Violation {
    Violation {
        path: here.to_owned(),
        problem: Problem::Invalid(what),
    }
}

fn unknown(here: &str, key: &str) -> Violation {
    Violation {
        path: here.to_owned(),
        problem: Problem::UnknownField(key.to_owned()),
    }
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("only local $ref");
            let target = root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
            resolve(root, target)
        }
        None => schema,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        other => panic!("unknown schema type {other}"),
    }
}

fn check(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<Violation>) {
    let schema = resolve(root, schema);
    let here = if path.is_empty() { "<root>" } else { path };
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            errors.push(invalid(
                here,
                format!("expected int-or-string, found {value}"),
            ));
        }
        return;
    }
    if let Some(ty) = schema.get("type") {
        let ok = match ty {
            Value::String(name) => type_matches(name, value),
            Value::Array(names) => names
                .iter()
                .filter_map(Value::as_str)
                .any(|n| type_matches(n, value)),
            _ => true,
        };
        if !ok {
            errors.push(invalid(here, format!("expected type {ty}, found {value}")));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(invalid(
            here,
            format!("{value} is not one of {}", Value::Array(allowed.clone())),
        ));
    }
    if let Value::Object(map) = value {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    errors.push(invalid(here, format!("missing required field `{key}`")));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let preserve = schema
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true);
        let additional = schema.get("additionalProperties");
        for (key, child) in map {
            let child_path = format!("{path}.{key}");
            if let Some(sub) = properties.and_then(|p| p.get(key)) {
                check(root, sub, child, &child_path, errors);
                continue;
            }
            match additional {
                Some(Value::Bool(false)) => errors.push(unknown(here, key)),
                Some(Value::Bool(true)) => {}
                Some(sub @ Value::Object(_)) => check(root, sub, child, &child_path, errors),
                _ if properties.is_some() && !preserve => errors.push(unknown(here, key)),
                _ => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(root, item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
}

/// Paths of `ours` that the chart's default values do not have. A chart value that is an
/// empty map (`labels: {}`) or null takes any keys below it.
pub fn unknown_value_paths(ours: &Value, chart: &Value, path: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let (Value::Object(ours), Value::Object(chart)) = (ours, chart) else {
        return unknown;
    };
    for (key, value) in ours {
        let child_path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match chart.get(key) {
            None => unknown.push(child_path),
            Some(Value::Object(sub)) if !sub.is_empty() => {
                unknown.extend(unknown_value_paths(
                    value,
                    &Value::Object(sub.clone()),
                    &child_path,
                ));
            }
            Some(_) => {}
        }
    }
    unknown
}
