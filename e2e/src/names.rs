//! Every name that more than one step must agree on: what `render` writes, `mesh` installs
//! and the probes look for. Spelt once, here.

use crate::config::ClusterName;

// ---------------------------------------------------------------- namespaces

/// Where istiod, the east-west gateway, `cacerts` and the remote secrets live.
pub const ISTIO_SYSTEM: &str = "istio-system";
/// Where the helloworld and curl samples run.
pub const SAMPLE_NAMESPACE: &str = "sample";
/// Where MetalLB runs: its native manifest installs into this namespace
/// (metallb/metallb@v0.16.1:config/manifests/metallb-native.yaml).
pub const METALLB_NAMESPACE: &str = "metallb-system";

// ---------------------------------------------------------------- labels and annotations

/// The label naming a workload's network, and, on the east-west gateway's Service, the
/// network it is the gateway of (istio/api `label.TopologyNetwork`).
pub const NETWORK_LABEL: &str = "topology.istio.io/network";
/// The label istiod's secret controller selects remote secrets by, with value `true`
/// (istio/istio@1.24.1:pkg/kube/multicluster/secretcontroller.go `MultiClusterSecretLabel`).
pub const MULTICLUSTER_LABEL: &str = "istio/multiCluster";
/// The annotation `istioctl create-remote-secret` writes with the cluster's name; for
/// people, istiod reads the data key instead
/// (istio/istio@1.24.1:istioctl/pkg/multicluster/options.go `clusterNameAnnotationKey`).
pub const CLUSTER_ANNOTATION: &str = "networking.istio.io/cluster";
/// The namespace label that turns sidecar injection on, with value `enabled`.
pub const INJECTION_LABEL: &str = "istio-injection";

// ---------------------------------------------------------------- the Kubernetes API

/// The field manager of every server-side apply we make: one owner for all our fields,
/// so re-applying after a change moves them, and nothing else takes them.
pub const FIELD_MANAGER: &str = "istio-mc-kind";

/// `kind-<cluster>`: the context (and cluster and user) name kind writes into a
/// kubeconfig for `cluster` (kubernetes-sigs/kind@v0.32.0:
/// pkg/cluster/internal/kubeconfig/internal/kubeconfig/helpers.go `KINDClusterKey`;
/// unchanged on main after v0.33.0).
pub fn kind_context(cluster: &ClusterName) -> String {
    format!("kind-{cluster}")
}

// ---------------------------------------------------------------- Helm releases

/// The `istio/base` release (CRDs, cluster roles).
pub const BASE_RELEASE: &str = "istio-base";
/// The `istio/istiod` release.
pub const ISTIOD_RELEASE: &str = "istiod";
/// The `istio/gateway` release of the east-west gateway; also its Deployment and Service.
pub const EASTWEST_GATEWAY: &str = "istio-eastwestgateway";

// ---------------------------------------------------------------- selectors and objects

/// The `istio` label of the east-west gateway's pods, which the cross-network Gateway
/// selects: `istio=eastwestgateway`.
pub const EASTWEST_SELECTOR: (&str, &str) = ("istio", "eastwestgateway");
/// The Istio `Gateway` that exposes this network's services to peers.
pub const CROSS_NETWORK_GATEWAY: &str = "cross-network-gateway";
/// istiod's plug-in CA Secret (istio/istio@1.24.1:security/pkg/pki/ca/ca.go `CACertsSecret`).
pub const CACERTS: &str = "cacerts";
/// The service account whose token a remote secret carries: `istioctl
/// create-remote-secret`'s default (istio/istio@1.24.1:pkg/config/constants/constants.go
/// `DefaultServiceAccountName`).
pub const READER_SERVICE_ACCOUNT: &str = "istio-reader-service-account";
/// The sample service every cluster calls, and its Deployments' `app` label.
pub const HELLOWORLD: &str = "helloworld";
/// The sample client: its ServiceAccount, Service and Deployment.
pub const CURL: &str = "curl";
/// MetalLB's address pool and the L2 advertisement that announces it.
pub const METALLB_POOL: &str = "default-pool";
pub const METALLB_L2_ADVERTISEMENT: &str = "default-l2";

/// `istio-remote-secret-<cluster>`: the name `istioctl create-remote-secret` gives the
/// Secret that lets other clusters' istiod read `cluster`.
pub fn remote_secret_name(cluster: &ClusterName) -> String {
    format!("istio-remote-secret-{cluster}")
}

// ---------------------------------------------------------------- ports

/// The port peers reach this network's services on through the east-west gateway
/// (istio/istio@1.24.1:pilot/pkg/serviceregistry/kube/controller/controller.go
/// `DefaultNetworkGatewayPort`).
pub const CROSS_NETWORK_PORT: u16 = 15443;
/// istiod's monitoring port, which also serves `/debug/clusterz`
/// (istio/istio@1.24.1:pilot/cmd/pilot-discovery/app/cmd.go `--monitoringAddr`).
pub const ISTIOD_MONITORING_PORT: u16 = 15014;
/// Envoy's admin port in every sidecar and gateway, serving `clusters?format=json`
/// (istio/istio@1.24.1:istioctl/pkg/proxyconfig/proxyconfig.go `defaultProxyAdminPort`).
pub const ENVOY_ADMIN_PORT: u16 = 15000;
/// helloworld's HTTP port, `GET /hello` (istio/istio@1.24.1:samples/helloworld/helloworld.yaml).
pub const HELLOWORLD_PORT: u16 = 5000;
/// The curl client's Service port (istio/istio@1.24.1:samples/curl/curl.yaml).
pub const CURL_PORT: u16 = 80;
