//! Values for the three Helm charts: `base`, `istiod` and the east-west `gateway`.
//!
//! Typed so a key cannot be misspelt here without the chart-values tests noticing: each
//! key is checked against the chart's own `values.yaml` / `values.schema.json` per version.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{ClusterConfig, MeshId};
use crate::names::{EASTWEST_GATEWAY, EASTWEST_SELECTOR, ISTIO_SYSTEM};
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

/// The multicluster identity of this control plane, the `--set`s of Istio's guide
/// (https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/):
/// `clusterName` must equal the data key of this cluster's remote secret in its peers;
/// `network` makes the injector label pods with their network
/// (istio/istio@1.24.1:pkg/kube/inject/webhook.go `applyMetadata`).
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

/// The east-west gateway: `networkGateway` labels its Service with the network
/// (istio/istio@1.24.1:manifests/charts/gateway/templates/service.yaml) and fixes the
/// 15443 ports; the `app`/`istio` labels make the selector `istio=eastwestgateway`
/// whatever the chart's name-trimming rule (`templates/_helpers.tpl`
/// `gateway.selectorLabels`).
///
/// The pods' `topology.istio.io/network` label is not ours to set, in any row: from 1.26
/// the chart adds it from `networkGateway` (`templates/deployment.yaml`), and before that
/// the sidecar injector adds it to every pod it injects, gateways included, from istiod's
/// `global.network` (istio/istio@1.24.1:pkg/kube/inject/inject.go `RunTemplate` puts it
/// in `ISTIO_META_NETWORK`, webhook.go `applyMetadata` copies that to the pod label),
/// which [`istiod`] sets to this same network.
pub fn eastwest_gateway(cluster: &ClusterConfig) -> GatewayValues {
    let labels = BTreeMap::from([
        ("app".to_owned(), EASTWEST_GATEWAY.to_owned()),
        (
            EASTWEST_SELECTOR.0.to_owned(),
            EASTWEST_SELECTOR.1.to_owned(),
        ),
    ]);
    GatewayValues {
        name: EASTWEST_GATEWAY.into(),
        network_gateway: cluster.network.to_string(),
        labels,
    }
}
