//! The namespaces the setup creates itself, with the labels Istio reads from them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::NetworkName;
use crate::names::{INJECTION_LABEL, ISTIO_SYSTEM, NETWORK_LABEL, SAMPLE_NAMESPACE};

fn namespace(name: &str, labels: [(&str, &str); 1]) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

/// `istio-system`, labelled with the cluster's network: istiod falls back to this label
/// for endpoints whose pods carry none (istio/istio@1.24.1:pilot/pkg/serviceregistry/kube/
/// controller/network.go `networkFromSystemNamespace`; step 1 of
/// https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/).
/// Created before `cacerts` and the Helm installs.
pub fn istio_system(network: &NetworkName) -> Namespace {
    namespace(ISTIO_SYSTEM, [(NETWORK_LABEL, network.as_str())])
}

/// The samples' namespace, with sidecar injection on: cross-network endpoints without
/// mTLS are dropped (istio/istio@1.24.1:pilot/pkg/xds/endpoints/ep_filters.go
/// `isMtlsEnabled`).
pub fn sample() -> Namespace {
    namespace(SAMPLE_NAMESPACE, [(INJECTION_LABEL, "enabled")])
}
