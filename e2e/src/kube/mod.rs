//! The Kubernetes API, as the setup and the probes use it: a [`Cluster`] built from one
//! of our kubeconfig files only, and the operations the steps compose (node readiness,
//! server-side apply, reads, waits, exec). Mesh logic stays out: this module knows
//! Kubernetes, not Istio.
//!
//! Every wait goes through [`crate::wait::eventually`]; kube-rs' own retries are off.

mod cluster;
mod discovery;
mod error;
mod nodes;
mod objects;

pub use cluster::{CONNECT_TIMEOUT, Cluster, Polling, READ_TIMEOUT};
pub use discovery::ServedKind;
pub use error::KubeError;
pub use nodes::{NodeReadiness, NodesReport};
pub use objects::Namespaced;
