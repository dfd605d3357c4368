//! The resources the stand-in serves, and the discovery documents that list them:
//! `GET /api` (APIVersions), `/api/v1` and `/apis/<group>/<version>` (APIResourceList),
//! `/apis` (APIGroupList). These are the shapes kube-rs reads for `discovery::pinned_group`
//! and `Discovery::run` (kube-client@5.0.0:src/discovery/apigroup.rs, oneshot.rs); the
//! aggregated v2 discovery (`Discovery::run_aggregated`) is not served.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One served resource at one group-version.
#[derive(Debug, Clone)]
pub(super) struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    /// Subresources served (`status`, `exec`); `status` splits writes between the
    /// object and its status.
    pub subresources: &'static [&'static str],
    /// The `openAPIV3Schema` of a CRD-backed resource; built-ins carry none.
    pub schema: Option<Value>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural[.group]`: how tests name a resource, and the store's key for it.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }

    fn entries(&self) -> Vec<Value> {
        let mut entries = vec![json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update"],
        })];
        for sub in self.subresources {
            let verbs: &[&str] = match *sub {
                "exec" => &["create", "get"],
                _ => &["get", "patch", "update"],
            };
            let kind = if *sub == "exec" {
                "PodExecOptions"
            } else {
                &self.kind
            };
            entries.push(json!({
                "name": format!("{}/{sub}", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": kind,
                "verbs": verbs,
            }));
        }
        entries
    }
}

/// What a fresh API server serves (of what the framework touches): kind's clusters serve
/// far more, but a test that needs another built-in adds it here.
pub(super) fn builtins() -> Vec<ResourceType> {
    const STATUS: &[&str] = &["status"];
    const NONE: &[&str] = &[];
    let b = |gv: &str, plural: &str, kind: &str, namespaced, subresources| {
        let (group, version) = gv.split_once('/').unwrap_or(("", gv));
        ResourceType {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            namespaced,
            subresources,
            schema: None,
        }
    };
    vec![
        b("v1", "namespaces", "Namespace", false, STATUS),
        b("v1", "nodes", "Node", false, STATUS),
        b("v1", "configmaps", "ConfigMap", true, NONE),
        b("v1", "secrets", "Secret", true, NONE),
        b("v1", "serviceaccounts", "ServiceAccount", true, NONE),
        b("v1", "services", "Service", true, STATUS),
        b("v1", "endpoints", "Endpoints", true, NONE),
        b("v1", "pods", "Pod", true, &["status", "exec"]),
        b("apps/v1", "deployments", "Deployment", true, STATUS),
        b("apps/v1", "daemonsets", "DaemonSet", true, STATUS),
        b("apps/v1", "replicasets", "ReplicaSet", true, STATUS),
        b(
            "discovery.k8s.io/v1",
            "endpointslices",
            "EndpointSlice",
            true,
            NONE,
        ),
        b(
            "policy/v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            STATUS,
        ),
        b("rbac.authorization.k8s.io/v1", "roles", "Role", true, NONE),
        b(
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            "RoleBinding",
            true,
            NONE,
        ),
        b(
            "rbac.authorization.k8s.io/v1",
            "clusterroles",
            "ClusterRole",
            false,
            NONE,
        ),
        b(
            "rbac.authorization.k8s.io/v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            NONE,
        ),
        b(
            "admissionregistration.k8s.io/v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
            NONE,
        ),
        b(
            "admissionregistration.k8s.io/v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            false,
            NONE,
        ),
        b(
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            STATUS,
        ),
    ]
}

/// `GET /api`.
pub(super) fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    })
}

/// `GET /apis`: every named group, with its versions in the order first served.
pub(super) fn group_list(types: &[ResourceType]) -> Value {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        let versions = groups.entry(&t.group).or_default();
        if !versions.contains(&t.version.as_str()) {
            versions.push(&t.version);
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /api/v1` or `/apis/<group>/<version>`; `None` when nothing is served there.
pub(super) fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let served: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    let first = served.first()?;
    let resources: Vec<Value> = served.iter().flat_map(|t| t.entries()).collect();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": first.api_version(),
        "resources": resources,
    }))
}
