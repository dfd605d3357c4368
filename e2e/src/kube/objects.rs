//! Reading and changing namespaced objects of the built-in (k8s-openapi) kinds: get,
//! list by label selector, delete, and a label on or off. Every error names the cluster,
//! the kind and the object.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Cluster, KubeError};

/// A namespaced kind of k8s-openapi (Secret, Service, Deployment, Pod, ...).
pub trait Namespaced:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
}

impl<K> Namespaced for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned
        + Serialize
        + Send
        + Sync
        + 'static
{
}

/// `Secret istio-system/cacerts`: how messages name an object.
pub(super) fn describe<K: Resource<DynamicType = ()>>(namespace: &str, name: &str) -> String {
    format!("{} {namespace}/{name}", K::kind(&()))
}

impl Cluster {
    fn api<K: Namespaced>(&self, namespace: &str) -> Api<K> {
        Api::namespaced(self.client().clone(), namespace)
    }

    /// The object, or [`KubeError::NotFound`].
    pub async fn get<K: Namespaced>(&self, namespace: &str, name: &str) -> Result<K, KubeError> {
        self.api::<K>(namespace)
            .get(name)
            .await
            .map_err(|e| self.error(format!("getting {}", describe::<K>(namespace, name)), e))
    }

    /// The object, or `None` if there is none.
    pub async fn get_opt<K: Namespaced>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<K>, KubeError> {
        match self.get::<K>(namespace, name).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The objects of `namespace` matching the label `selector` (`app=istiod`,
    /// `istio/multiCluster`, `app in (a,b)`; empty for all).
    pub async fn list<K: Namespaced>(
        &self,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<K>, KubeError> {
        let params = ListParams::default().labels(selector);
        self.api::<K>(namespace)
            .list(&params)
            .await
            .map(|list| list.items)
            .map_err(|e| {
                self.error(
                    format!("listing {} in {namespace} by `{selector}`", K::plural(&())),
                    e,
                )
            })
    }

    /// Deletes the object; `false` if there was none.
    pub async fn delete<K: Namespaced>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<bool, KubeError> {
        match self
            .api::<K>(namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(false),
            Err(e) => Err(self.error(format!("deleting {}", describe::<K>(namespace, name)), e)),
        }
    }

    /// Sets label `key` to `value` on the object, or removes it with `None`: a JSON merge
    /// patch, where `null` removes a key (RFC 7386), so nothing else of the object is
    /// touched. Returns the object as changed.
    pub async fn set_label<K: Namespaced>(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<K, KubeError> {
        let patch = json!({"metadata": {"labels": {key: value}}});
        let doing = match value {
            Some(value) => format!("labelling {} {key}={value}", describe::<K>(namespace, name)),
            None => format!(
                "removing label {key} from {}",
                describe::<K>(namespace, name)
            ),
        };
        self.api::<K>(namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| self.error(doing, e))
    }
}
