//! The kind cluster config (`kind create cluster --config`).
//!
//! Field names are kind's `v1alpha4` API
//! (kubernetes-sigs/kind@v0.31.0:pkg/apis/config/v1alpha4/types.go); unknown
//! fields are refused on reading so a misspelt one fails a test instead of being ignored.

use serde::{Deserialize, Serialize};

use crate::config::ClusterConfig;
use crate::pins::IstioRow;

/// `kind.x-k8s.io/v1alpha4` `Cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindCluster {
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub nodes: Vec<KindNode>,
    pub networking: KindNetworking,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindNode {
    pub role: String,
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindNetworking {
    pub pod_subnet: String,
    pub service_subnet: String,
}

/// One control-plane node on the row's node image (pinned by digest), with the cluster's
/// own pod and service subnets so addresses never collide across clusters.
pub fn cluster_config(cluster: &ClusterConfig, row: &IstioRow) -> KindCluster {
    KindCluster {
        kind: "Cluster".into(),
        api_version: "kind.x-k8s.io/v1alpha4".into(),
        name: cluster.name.to_string(),
        nodes: vec![KindNode {
            role: "control-plane".into(),
            image: row.node_image.to_string(),
        }],
        networking: KindNetworking {
            pod_subnet: cluster.pod_subnet.to_string(),
            service_subnet: cluster.service_subnet.to_string(),
        },
    }
}
