//! Values for the three Helm charts: `base`, `istiod` and the east-west `gateway`.
//!
//! Typed so a key cannot be misspelt here without the chart-values tests noticing: each
//! key is checked against the chart's own `values.yaml` / `values.schema.json` per version.

use std::collections::BTreeMap;

use serde::Serialize;

use super::facts::VersionFacts;
use crate::config::{ClusterConfig, MeshId};
use crate::names::{EASTWEST_GATEWAY, EASTWEST_SELECTOR, ISTIO_SYSTEM, NETWORK_LABEL};
use crate::pins::IstioRow;

/// `base` chart values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseValues {
    pub global: BaseGlobal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseGlobal {
    pub istio_namespace: String,
}

/// `istiod` chart values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IstiodValues {
    pub global: IstiodGlobal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IstiodGlobal {
    /// Image registry: set so no image depends on a chart default or a retired registry.
    pub hub: String,
    pub tag: String,
    #[serde(rename = "meshID")]
    pub mesh_id: String,
    pub multi_cluster: MultiCluster,
    pub network: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiCluster {
    pub cluster_name: String,
}

/// `gateway` chart values for the east-west gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayValues {
    pub name: String,
    pub network_gateway: String,
    pub labels: BTreeMap<String, String>,
}

/// Only `istio-system` is set: where istiod lives, which every other file assumes.
pub fn base() -> BaseValues {
    BaseValues {
        global: BaseGlobal {
            istio_namespace: ISTIO_SYSTEM.into(),
        },
    }
}

/// The multicluster identity of this control plane (reference: istio-multicluster.md
/// §1.1 step 3, §1.2): `clusterName` must equal the data key of this cluster's remote
/// secret in its peers; `network` makes the injector label pods with their network.
pub fn istiod(mesh_id: &MeshId, cluster: &ClusterConfig, row: &IstioRow) -> IstiodValues {
    IstiodValues {
        global: IstiodGlobal {
            hub: row.hub.to_string(),
            tag: row.version.to_string(),
            mesh_id: mesh_id.to_string(),
            multi_cluster: MultiCluster {
                cluster_name: cluster.name.to_string(),
            },
            network: cluster.network.to_string(),
        },
    }
}

/// The east-west gateway (reference: istio-multicluster.md §1.1 step 4, §1.3):
/// `networkGateway` labels its Service with the network and fixes the 15443 ports; the
/// `app`/`istio` labels make the selector `istio=eastwestgateway` whatever the chart's
/// name-trimming rule; before 1.26 the pod label is ours to add.
pub fn eastwest_gateway(cluster: &ClusterConfig, facts: VersionFacts) -> GatewayValues {
    let mut labels = BTreeMap::from([
        ("app".to_owned(), EASTWEST_GATEWAY.to_owned()),
        (
            EASTWEST_SELECTOR.0.to_owned(),
            EASTWEST_SELECTOR.1.to_owned(),
        ),
    ]);
    if facts.gateway_needs_pod_network_label {
        // `labels` is the only pod-label value the pre-1.26 chart has; it also lands on the
        // Service, which `networkGateway` labels the same way, so that Service carries the
        // key twice with one value (1.24.1 `templates/service.yaml`, `deployment.yaml`).
        labels.insert(NETWORK_LABEL.to_owned(), cluster.network.to_string());
    }
    GatewayValues {
        name: EASTWEST_GATEWAY.into(),
        network_gateway: cluster.network.to_string(),
        labels,
    }
}
