//! The kind clusters: creating, inspecting and deleting them, behind a [`Provider`] that
//! tests replace, and the check that a container engine answers at all, which the live
//! path makes before it starts anything.

pub mod docker;
pub mod kind;

use std::future::Future;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use docker::DockerError;
pub use kind::Kind;

use crate::config::ClusterName;
use crate::error::ErrorKind;
use crate::net::{DockerNetwork, NetError};
use crate::runner::RunError;

/// What creating one cluster takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub name: ClusterName,
    /// The kind cluster config (`rendered/<cluster>/00-kind.yaml`): nodes, node image,
    /// pod and service subnets.
    pub config: PathBuf,
    /// The kubeconfig file kind writes, one per cluster.
    pub kubeconfig: PathBuf,
    /// `--wait`: how long kind waits for the control plane (it never fails on it).
    pub wait: Duration,
}

/// Where clusters come from. The futures are `Send`, so the executor can run clusters'
/// steps on any worker.
pub trait Provider: Send + Sync + 'static {
    /// Creates the cluster and writes its kubeconfig to `req.kubeconfig`.
    fn create(&self, req: &CreateRequest) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// Deletes the cluster (nothing when it does not exist) and its entry in `kubeconfig`.
    fn delete(
        &self,
        name: &ClusterName,
        kubeconfig: &Path,
    ) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// The names of every cluster that exists, ours or not, sorted.
    fn list(&self) -> impl Future<Output = Result<Vec<String>, ClusterError>> + Send;
    /// The kubeconfig of a cluster that exists (for one made by an earlier run).
    fn kubeconfig(
        &self,
        name: &ClusterName,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send;
    /// The control-plane node's address on the shared docker network, which other
    /// clusters' istiod can reach.
    fn control_plane_ip(
        &self,
        name: &ClusterName,
    ) -> impl Future<Output = Result<Ipv4Addr, ClusterError>> + Send;
    /// The shared docker network the nodes (and MetalLB addresses) are on.
    fn network(&self) -> impl Future<Output = Result<DockerNetwork, ClusterError>> + Send;
    /// Copies images from the host into every node of the cluster.
    fn load_images(
        &self,
        name: &ClusterName,
        images: &[String],
    ) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// Writes the cluster's node logs under `dir`.
    fn export_logs(
        &self,
        name: &ClusterName,
        dir: &Path,
    ) -> impl Future<Output = Result<(), ClusterError>> + Send;
}

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// kind ran and said why it failed.
    #[error("kind could not {action} {}: {reason}", cluster.as_ref().map_or("clusters".to_owned(), |c| format!("cluster `{c}`")))]
    Kind {
        action: &'static str,
        cluster: Option<ClusterName>,
        /// kind's `ERROR:` line, or the exit status when it printed none.
        reason: String,
        #[source]
        source: Box<RunError>,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot read what `{command}` printed: {reason}")]
    Inspect { command: String, reason: String },
    #[error(transparent)]
    Network(#[from] NetError),
    #[error(transparent)]
    Docker(#[from] DockerError),
}

impl ClusterError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClusterError::Kind { source, .. } => source.kind(),
            ClusterError::Run(source) => source.kind(),
            ClusterError::Inspect { .. } => ErrorKind::Failed,
            ClusterError::Network(e) => e.kind(),
            ClusterError::Docker(e) => e.kind(),
        }
    }
}
