//! Which resource serves a kind: asked of the cluster once per group-version, with one
//! GET (`kube::discovery::pinned_group`: `/api/v1` or `/apis/<group>/<version>`,
//! kube-client@5.0.0:src/discovery/oneshot.rs), and remembered.
//!
//! A kind that a group-version did not have is asked again once, because CRDs add kinds:
//! applying a CRD and then its first object must not fail on an old answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::core::GroupVersion;
use kube::discovery::{self, ApiCapabilities, ApiResource, Scope};

use super::{Cluster, KubeError};

type Resources = Arc<Vec<(ApiResource, ApiCapabilities)>>;

/// What discovery said per group-version (`apps/v1`, `v1`), shared by a cluster's clones.
#[derive(Clone, Default)]
pub(super) struct KindCache(Arc<Mutex<HashMap<String, Resources>>>);

impl KindCache {
    fn get(&self, api_version: &str) -> Option<Resources> {
        self.0
            .lock()
            .expect("the kind cache is never left poisoned")
            .get(api_version)
            .cloned()
    }

    fn put(&self, api_version: &str, resources: Resources) {
        self.0
            .lock()
            .expect("the kind cache is never left poisoned")
            .insert(api_version.to_owned(), resources);
    }
}

/// The resource serving a kind, and whether its objects live in namespaces.
#[derive(Debug, Clone)]
pub struct ServedKind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

fn find(resources: &[(ApiResource, ApiCapabilities)], kind: &str) -> Option<ServedKind> {
    resources
        .iter()
        .find(|(resource, _)| resource.kind == kind)
        .map(|(resource, caps)| ServedKind {
            resource: resource.clone(),
            namespaced: caps.scope == Scope::Namespaced,
        })
}

impl Cluster {
    /// The resource that serves `kind` of `api_version` here (`metallb.io/v1beta1`,
    /// `IPAddressPool`), or [`KubeError::UnknownKind`] if the cluster serves none.
    pub async fn served_kind(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<ServedKind, KubeError> {
        if let Some(found) = self.kinds.get(api_version).and_then(|r| find(&r, kind)) {
            return Ok(found);
        }
        let resources = self.discover(api_version, kind).await?;
        find(&resources, kind).ok_or_else(|| KubeError::UnknownKind {
            cluster: self.name().clone(),
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            doing: format!("looking up the resource of {kind}"),
        })
    }

    /// Asks the cluster what `api_version` serves; an unknown group-version serves nothing.
    async fn discover(&self, api_version: &str, kind: &str) -> Result<Resources, KubeError> {
        let unknown = || KubeError::UnknownKind {
            cluster: self.name().clone(),
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            doing: "not a group-version (`<group>/<version>` or `v1`)".to_owned(),
        };
        let gv: GroupVersion = api_version.parse().map_err(|_| unknown())?;
        let resources = match discovery::pinned_group(self.client(), &gv).await {
            Ok(group) => group.versioned_resources(&gv.version),
            Err(kube::Error::Api(status)) if status.is_not_found() => Vec::new(),
            Err(e) => return Err(self.error(format!("discovering {api_version}"), e)),
        };
        let resources = Arc::new(resources);
        self.kinds.put(api_version, resources.clone());
        Ok(resources)
    }
}
