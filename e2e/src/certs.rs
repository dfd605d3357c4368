//! The mesh's certificate authority: one shared root, one intermediate per cluster, in the
//! layout of Istio's plug-in CA (`cacerts`): reference istio-multicluster.md §4.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The four PEM files istiod reads from the `cacerts` Secret for one cluster.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterCaPem {
    /// The cluster's intermediate CA certificate.
    pub ca_cert: String,
    /// The intermediate CA's private key.
    pub ca_key: String,
    /// The shared root certificate.
    pub root_cert: String,
    /// The intermediate, then the root.
    pub cert_chain: String,
}

impl std::fmt::Debug for ClusterCaPem {
    /// Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCaPem").finish_non_exhaustive()
    }
}

/// The `cacerts` Secret in `istio-system`, which must exist before istiod starts
/// (istiod mounts it at `/etc/cacerts`; key names from Istio's `security/pkg/pki/ca/ca.go`).
pub fn cacerts_secret(pem: &ClusterCaPem) -> Secret {
    let data = [
        ("ca-cert.pem", &pem.ca_cert),
        ("ca-key.pem", &pem.ca_key),
        ("root-cert.pem", &pem.root_cert),
        ("cert-chain.pem", &pem.cert_chain),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    .collect::<BTreeMap<_, _>>();
    Secret {
        metadata: ObjectMeta {
            name: Some("cacerts".into()),
            namespace: Some("istio-system".into()),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}
