//! The mesh's certificate authority: one shared root, one intermediate per cluster, in the
//! layout of Istio's plug-in CA, `cacerts`
//! (https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/).
//!
//! Multi-primary across networks needs every istiod to sign workload certificates with an
//! intermediate under one shared root, or mTLS through the east-west gateways fails.
//! [`ensure`] makes the files, [`load_cluster`] reads one cluster's set back, checked, and
//! [`cacerts_secret`] turns it into the Secret istiod mounts.

mod check;
mod ensure;
mod error;
mod files;
pub mod issue;
mod key_type;
mod layout;

use std::collections::BTreeMap;

pub use ensure::{ClusterOutcome, EnsureOptions, Outcome, Report, ensure, ensure_at, load_cluster};
pub use error::{CertsError, Fix};
pub use files::{CERT_MODE, DIR_MODE, KEY_MODE, LOCK_FILE, Warning};
pub use key_type::KeyType;
pub use layout::{CA_CERT, CA_KEY, CERT_CHAIN, CaLayout, ClusterFiles, ROOT_CERT, ROOT_KEY};

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
/// (istiod mounts it at `/etc/cacerts`, istio/istio@1.24.1:pilot/pkg/bootstrap/istio_ca.go;
/// key names from security/pkg/pki/ca/ca.go).
pub fn cacerts_secret(pem: &ClusterCaPem) -> Secret {
    let data = [
        (CA_CERT, &pem.ca_cert),
        (CA_KEY, &pem.ca_key),
        (ROOT_CERT, &pem.root_cert),
        (CERT_CHAIN, &pem.cert_chain),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    .collect::<BTreeMap<_, _>>();
    Secret {
        metadata: ObjectMeta {
            name: Some(crate::names::CACERTS.into()),
            namespace: Some(crate::names::ISTIO_SYSTEM.into()),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}
