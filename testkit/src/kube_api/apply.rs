//! How the stand-in changes a stored object: server-side apply (approximated), JSON merge
//! patch, and the schema checks of CRD-backed kinds.
//!
//! Server-side apply here is a deep merge of the applied configuration into the stored
//! object: maps merge key by key, lists and scalars are replaced. The API server instead
//! tracks which field manager owns which field (structured-merge-diff), removes fields a
//! manager stops applying, merges lists by their keys (`x-kubernetes-list-map-keys`),
//! and answers 409 on a conflict with another manager unless `force=true`. None of that
//! is modelled: one manager (ours) applies here, so what is left is "create, or merge
//! onto what is there", which is what our callers rely on.

use serde_json::{Map, Value};

use super::discovery::ResourceType;
use super::status;
use crate::schema::{self, Problem};

/// Applies `src` onto `dst`: maps merge, everything else replaces.
pub(super) fn deep_merge(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(dst), Value::Object(src)) => {
            for (key, value) in src {
                deep_merge(dst.entry(key).or_insert(Value::Null), value);
            }
        }
        (dst, src) => *dst = src,
    }
}

/// RFC 7386 JSON merge patch: `null` removes a key. Strategic merge patches are applied
/// this way too (their list directives are not modelled).
pub(super) fn merge_patch(dst: &mut Value, patch: Value) {
    match patch {
        Value::Object(patch) => {
            if !dst.is_object() {
                *dst = Value::Object(Map::new());
            }
            let dst = dst.as_object_mut().expect("made an object above");
            for (key, value) in patch {
                if value.is_null() {
                    dst.remove(&key);
                } else {
                    merge_patch(dst.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        patch => *dst = patch,
    }
}

/// How a write reached the store, which decides how unknown fields are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// Server-side apply: the applied configuration is converted to a typed object
    /// against the schema, and a field the schema does not declare fails that
    /// conversion whatever `fieldValidation` says: a plain error the API server answers
    /// as 500 with no reason (kubernetes/kubernetes@v1.33.0:staging/src/k8s.io/apimachinery/pkg/util/managedfields/internal/structuredmerge.go
    /// "failed to create typed patch object (%v): %v"; internal/fieldmanager.go returns it
    /// as is; `fieldValidation=Strict` adds only YAML-level checks in
    /// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go `applyPatcher`).
    Apply,
    /// Create, update or merge patch: with `strict` (`fieldValidation=Strict`) an unknown
    /// field is a 400 BadRequest; without, it is kept (the API server would drop it).
    Other { strict: bool },
}

/// Checks a CRD-backed object against its `openAPIV3Schema`; built-ins carry no schema
/// here and pass. Unknown fields are answered as `write` says; a value of the wrong
/// type, outside an enum, or a missing required field is a 422 Invalid. The wording of
/// the messages is modelled on upstream: tests assert codes, reasons and field paths.
pub(super) fn check_schema(
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    object: &Value,
    write: Write,
) -> Result<(), Value> {
    let Some(schema) = &rt.schema else {
        return Ok(());
    };
    let violations = schema::violations(schema, schema, object);
    let unknown: Vec<String> = violations
        .iter()
        .filter_map(|v| match &v.problem {
            Problem::UnknownField(key) if v.path == "<root>" => Some(format!(".{key}")),
            Problem::UnknownField(key) => Some(format!("{}.{key}", v.path)),
            Problem::Invalid(_) => None,
        })
        .collect();
    if let Some(first) = unknown.first() {
        match write {
            Write::Apply => {
                return Err(status::failure(
                    500,
                    "",
                    &format!(
                        "failed to create typed patch object ({}/{name}; {}, Kind={}): {first}: field not declared in schema",
                        namespace.unwrap_or(""),
                        rt.api_version(),
                        rt.kind
                    ),
                    Value::Null,
                ));
            }
            Write::Other { strict: true } => {
                let fields: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field \"{}\"", f.trim_start_matches('.')))
                    .collect();
                return Err(status::bad_request(&format!(
                    "strict decoding error: {}",
                    fields.join(", ")
                )));
            }
            Write::Other { strict: false } => {}
        }
    }
    let invalid: Vec<(String, String)> = violations
        .iter()
        .filter_map(|v| match &v.problem {
            Problem::Invalid(what) => {
                Some((v.path.trim_start_matches('.').to_owned(), what.clone()))
            }
            Problem::UnknownField(_) => None,
        })
        .collect();
    if !invalid.is_empty() {
        return Err(status::invalid(&rt.group, &rt.kind, name, &invalid));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deep_merge_merges_maps_and_replaces_lists() {
        let mut stored =
            json!({"metadata": {"labels": {"a": "1"}}, "spec": {"ports": [1, 2], "x": 1}});
        deep_merge(
            &mut stored,
            json!({"metadata": {"labels": {"b": "2"}}, "spec": {"ports": [3]}}),
        );
        assert_eq!(
            stored,
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"ports": [3], "x": 1}})
        );
    }

    #[test]
    fn merge_patch_null_removes() {
        let mut stored = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        merge_patch(
            &mut stored,
            json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
        );
        assert_eq!(
            stored,
            json!({"metadata": {"labels": {"b": "2", "c": "3"}}})
        );
    }
}
