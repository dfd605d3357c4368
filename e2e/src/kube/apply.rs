//! Server-side apply: our rendered objects, and multi-document manifests of any kinds
//! (MetalLB's `metallb-native.yaml`).
//!
//! Every apply uses one field manager ([`names::FIELD_MANAGER`]), takes the fields over
//! (`force=true`: we are the only writer of what we apply) and asks for strict field
//! validation (`fieldValidation=Strict`), so a misspelt field is an error instead of
//! being dropped (kube-core@5.0.0:src/params.rs `PatchParams::apply`, `force`,
//! `validation_strict`). Server-side apply also never writes the
//! `last-applied-configuration` annotation, which large CRDs would overflow.
//!
//! An admission webhook that does not answer yet (MetalLB's, for the first seconds of
//! its controller) makes the API server fail the request with a 500 naming the webhook;
//! that failure, and only that one, is retried until [`super::Polling::webhook_timeout`].

use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::Status;
use kube::{Api, ResourceExt as _};
use serde_json::Value;

use super::{Cluster, KubeError};
use crate::names;
use crate::render::Object;
use crate::wait::{Probe, Wait, eventually};

/// Which object a document is: its kind and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    /// As the document says; cluster-scoped kinds have none.
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl ObjectKey {
    /// Reads the identity of a document, or says what it lacks.
    fn of(document: &Value) -> Result<Self, String> {
        if !document.is_object() {
            return Err("is not a mapping, so not a Kubernetes object".into());
        }
        let text = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let kind = text(&document["kind"]);
        let named = |what: &str| match &kind {
            Some(kind) => format!("the {kind} has no {what}"),
            None => format!("has no {what}"),
        };
        let api_version = text(&document["apiVersion"]).ok_or_else(|| named("apiVersion"))?;
        let Some(kind) = kind.clone() else {
            return Err(named("kind"));
        };
        let name = text(&document["metadata"]["name"]).ok_or_else(|| named("metadata.name"))?;
        Ok(Self {
            api_version,
            kind,
            namespace: text(&document["metadata"]["namespace"]),
            name,
        })
    }

    fn is_crd(&self) -> bool {
        self.api_version == "apiextensions.k8s.io/v1" && self.kind == "CustomResourceDefinition"
    }
}

/// The API server's answer when it could not call an admission webhook: 500
/// InternalError, `Internal error occurred: failed calling webhook "<name>": <cause>`
/// (kubernetes/kubernetes:staging/src/k8s.io/apiserver/pkg/util/webhook/error.go
/// `ErrCallingWebhook`, wrapped by `apierrors.NewInternalError` in
/// staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/validating/dispatcher.go).
/// A webhook that answered and refused is a different error (a 4xx with its message).
fn webhook_unavailable(status: &Status) -> bool {
    status.code == 500
        && status.reason == "InternalError"
        && status.message.contains("failed calling webhook \"")
}

/// Where a document came from, for messages.
struct Origin<'a> {
    manifest: &'a str,
    document: Option<usize>,
}

impl Origin<'_> {
    fn bad(&self, problem: String) -> KubeError {
        KubeError::Manifest {
            manifest: self.manifest.to_owned(),
            document: self.document,
            problem,
        }
    }
}

fn apply_params() -> PatchParams {
    PatchParams::apply(names::FIELD_MANAGER)
        .force()
        .validation_strict()
}

impl Cluster {
    /// Applies one of our rendered objects.
    pub async fn apply(&self, object: &Object) -> Result<DynamicObject, KubeError> {
        let document = object.to_json();
        let origin = Origin {
            manifest: "a rendered object",
            document: None,
        };
        let key = ObjectKey::of(&document).map_err(|problem| origin.bad(problem))?;
        self.apply_document(&key, &document, &origin).await
    }

    /// Applies every document of a multi-document YAML manifest: CustomResourceDefinitions
    /// first, each awaited until Established, then the others in file order. `source`
    /// names the manifest in messages (a file name, an upstream URL).
    ///
    /// Every document is checked before anything is applied: one without `apiVersion`,
    /// `kind` or `metadata.name` fails the whole manifest. (A namespaced document without a
    /// namespace is refused when its turn comes: only discovery, after the CRDs, says
    /// which kinds are namespaced.) Returns what was applied, in the order it was.
    pub async fn apply_manifest(
        &self,
        source: &str,
        text: &str,
    ) -> Result<Vec<ObjectKey>, KubeError> {
        let whole = Origin {
            manifest: source,
            document: None,
        };
        let documents = crate::yaml::documents(text).map_err(|e| whole.bad(e.to_string()))?;
        if documents.is_empty() {
            return Err(whole.bad("has no documents".into()));
        }
        let mut keyed = Vec::with_capacity(documents.len());
        for (i, document) in documents.into_iter().enumerate() {
            let origin = Origin {
                manifest: source,
                document: Some(i + 1),
            };
            let key = ObjectKey::of(&document).map_err(|problem| origin.bad(problem))?;
            keyed.push((origin, key, document));
        }
        let (crds, others): (Vec<_>, Vec<_>) =
            keyed.into_iter().partition(|(_, key, _)| key.is_crd());

        let mut applied = Vec::with_capacity(crds.len() + others.len());
        for (origin, key, document) in &crds {
            self.apply_document(key, document, origin).await?;
            applied.push(key.clone());
        }
        for (_, key, _) in &crds {
            self.wait_crd_established(&key.name).await?;
        }
        for (origin, key, document) in &others {
            self.apply_document(key, document, origin).await?;
            applied.push(key.clone());
        }
        Ok(applied)
    }

    /// Applies one document, retrying while an admission webhook cannot be called.
    async fn apply_document(
        &self,
        key: &ObjectKey,
        document: &Value,
        origin: &Origin<'_>,
    ) -> Result<DynamicObject, KubeError> {
        let served = self.served_kind(&key.api_version, &key.kind).await?;
        let api: Api<DynamicObject> = if served.namespaced {
            let namespace = key.namespace.as_deref().ok_or_else(|| {
                origin.bad(format!(
                    "the {} {} names no namespace, and its kind is namespaced",
                    key.kind, key.name
                ))
            })?;
            Api::namespaced_with(self.client().clone(), namespace, &served.resource)
        } else {
            Api::all_with(self.client().clone(), &served.resource)
        };
        let params = apply_params();
        let wait = Wait::new(
            format!(
                "cluster `{}`: admission webhooks to accept {key}",
                self.name()
            ),
            self.polling().webhook_timeout,
        )
        .every(self.polling().interval);
        eventually(&wait, || async {
            // The document goes as it is, not through `DynamicObject`, whose typed
            // metadata would drop a misspelt metadata field instead of letting the API
            // server refuse it.
            match api.patch(&key.name, &params, &Patch::Apply(document)).await {
                Ok(object) => Ok(Probe::Ready(object)),
                Err(kube::Error::Api(status)) if webhook_unavailable(&status) => {
                    Ok(Probe::NotYet(status.message))
                }
                Err(e) => Err(self.error(format!("applying {key}"), e)),
            }
        })
        .await
        .inspect(|_| tracing::debug!(cluster = %self.name(), "applied {key}"))
    }

    /// Waits until the CustomResourceDefinition `name` is Established: its kinds are
    /// served from then on.
    pub async fn wait_crd_established(&self, name: &str) -> Result<(), KubeError> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client().clone());
        let wait = Wait::new(
            format!(
                "cluster `{}`: CustomResourceDefinition {name} Established",
                self.name()
            ),
            self.polling().crd_timeout,
        )
        .every(self.polling().interval);
        eventually(&wait, || async {
            let crd = api
                .get(name)
                .await
                .map_err(|e| self.error(format!("getting CustomResourceDefinition {name}"), e))?;
            let conditions = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_deref())
                .unwrap_or_default();
            let established = conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            Ok(if established {
                Probe::Ready(())
            } else {
                let seen = conditions
                    .iter()
                    .map(|c| {
                        format!(
                            "{}={} ({})",
                            c.type_,
                            c.status,
                            c.reason.as_deref().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                Probe::NotYet(if seen.is_empty() {
                    format!("{} has no conditions yet", crd.name_any())
                } else {
                    seen
                })
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_names_what_it_lacks() {
        let cases = [
            (
                json!("text"),
                "is not a mapping, so not a Kubernetes object",
            ),
            (
                json!({"kind": "Service", "metadata": {"name": "x"}}),
                "the Service has no apiVersion",
            ),
            (
                json!({"apiVersion": "v1", "metadata": {"name": "x"}}),
                "has no kind",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {}}),
                "the Service has no metadata.name",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": ""}}),
                "the Service has no metadata.name",
            ),
        ];
        for (document, problem) in cases {
            assert_eq!(
                ObjectKey::of(&document),
                Err(problem.to_owned()),
                "{document}"
            );
        }
        let key = ObjectKey::of(
            &json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "pool", "namespace": "metallb-system"}}),
        )
        .unwrap();
        assert_eq!(key.to_string(), "IPAddressPool metallb-system/pool");
        assert!(!key.is_crd());
    }

    #[test]
    fn only_a_failed_webhook_call_is_retried() {
        let status = |code: u16, reason: &str, message: &str| Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Status::default()
        };
        assert!(webhook_unavailable(&status(
            500,
            "InternalError",
            "Internal error occurred: failed calling webhook \"ipaddresspoolvalidationwebhook.metallb.io\": failed to call webhook: Post \"https://metallb-webhook-service.metallb-system.svc:443/validate-metallb-io-v1beta1-ipaddresspool?timeout=10s\": dial tcp 10.96.12.7:443: connect: connection refused",
        )));
        assert!(!webhook_unavailable(&status(
            500,
            "InternalError",
            "Internal error occurred: etcdserver: request timed out"
        )));
        assert!(!webhook_unavailable(&status(
            400,
            "BadRequest",
            "admission webhook \"ipaddresspoolvalidationwebhook.metallb.io\" denied the request: overlapping pools",
        )));
    }
}
