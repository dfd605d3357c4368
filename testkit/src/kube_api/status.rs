//! `metav1.Status` bodies in the shapes the API server builds them
//! (kubernetes/kubernetes@v1.33.0:staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go:
//! `NewNotFound`, `NewAlreadyExists`, `NewConflict`, `NewInvalid`, `NewBadRequest`,
//! `NewInternalError`, `NewMethodNotSupported`), for the stand-in's answers and for the
//! faults tests inject. The HTTP code of an answer is the body's `code`.

use serde_json::{Value, json};

/// A failure Status; an empty `reason` (`StatusReasonUnknown`) and `Null` details are
/// left out, as `omitempty` leaves them out.
pub fn failure(code: u16, reason: &str, message: &str, details: Value) -> Value {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "code": code,
    });
    if !reason.is_empty() {
        status["reason"] = json!(reason);
    }
    if !details.is_null() {
        status["details"] = details;
    }
    status
}

/// The `{group, kind: <resource>, name}` details of the per-object errors; the group is
/// left out for the core group (`omitempty`).
fn details(group: &str, resource: &str, name: &str) -> Value {
    let mut details = json!({"name": name, "kind": resource});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    details
}

/// `plural.group`, or `plural` in the core group (`schema.GroupResource.String()`).
fn group_resource(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

/// 404 `<resource> "<name>" not found`.
pub fn not_found(group: &str, resource: &str, name: &str) -> Value {
    failure(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", group_resource(group, resource)),
        details(group, resource, name),
    )
}

/// 404 for a path the server serves nothing at (an unknown group-version or resource):
/// what the API server's not-found handler answers.
pub fn no_such_path() -> Value {
    failure(
        404,
        "NotFound",
        "the server could not find the requested resource",
        json!({}),
    )
}

/// 409 `<resource> "<name>" already exists`.
pub fn already_exists(group: &str, resource: &str, name: &str) -> Value {
    failure(
        409,
        "AlreadyExists",
        &format!(
            "{} \"{name}\" already exists",
            group_resource(group, resource)
        ),
        details(group, resource, name),
    )
}

/// 409 for a write against an older resourceVersion.
pub fn conflict(group: &str, resource: &str, name: &str) -> Value {
    failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            group_resource(group, resource)
        ),
        details(group, resource, name),
    )
}

/// 422 `<Kind>.<group> "<name>" is invalid: <causes>`; each cause is `(field, message)`.
pub fn invalid(group: &str, kind: &str, name: &str, causes: &[(String, String)]) -> Value {
    let group_kind = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    let joined = causes
        .iter()
        .map(|(field, message)| format!("{field}: {message}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut details = json!({
        "name": name,
        "kind": kind,
        "causes": causes
            .iter()
            .map(|(field, message)| json!({"reason": "FieldValueInvalid", "message": message, "field": field}))
            .collect::<Vec<_>>(),
    });
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    failure(
        422,
        "Invalid",
        &format!("{group_kind} \"{name}\" is invalid: [{joined}]"),
        details,
    )
}

/// 400 with `message`.
pub fn bad_request(message: &str) -> Value {
    failure(400, "BadRequest", message, Value::Null)
}

/// 405 `<verb> is not supported on resources of kind "<resource>"`.
pub fn method_not_supported(group: &str, resource: &str, action: &str) -> Value {
    let mut details = json!({"kind": resource});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    failure(
        405,
        "MethodNotAllowed",
        &format!(
            "{action} is not supported on resources of kind \"{}\"",
            group_resource(group, resource)
        ),
        details,
    )
}

/// 415 for a patch type the stand-in does not implement.
pub fn unsupported_media_type(content_type: &str) -> Value {
    failure(
        415,
        "UnsupportedMediaType",
        &format!("the API stand-in does not implement {content_type} requests"),
        Value::Null,
    )
}

/// 500 `Internal error occurred: <message>`, with the message as the only cause.
pub fn internal_error(message: &str) -> Value {
    failure(
        500,
        "InternalError",
        &format!("Internal error occurred: {message}"),
        json!({"causes": [{"message": message}]}),
    )
}

/// What the API server answers when it cannot call a validating admission webhook (its
/// Service has no ready endpoint yet): a 500 InternalError whose message names the
/// webhook (kubernetes/kubernetes@v1.33.0:staging/src/k8s.io/apiserver/pkg/util/webhook/error.go
/// `ErrCallingWebhook`: `failed calling webhook %q: %v`, wrapped by `NewInternalError` in
/// staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/validating/dispatcher.go).
/// `cause` is what the call failed with, e.g. `connect: connection refused`; its exact
/// wording is modelled, not recorded.
pub fn webhook_unavailable(webhook: &str, cause: &str) -> Value {
    internal_error(&format!("failed calling webhook \"{webhook}\": {cause}"))
}
