//! [`KubeError`]: everything that can go wrong talking to a cluster's API server.

use std::path::PathBuf;

use kube::core::Status;

use crate::config::ClusterName;
use crate::error::ErrorKind;
use crate::wait::WaitError;

/// Why a Kubernetes call failed. Each message names the cluster and what was being done.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// One of our kubeconfig files cannot be read, or does not have the context we need.
    #[error("cannot use kubeconfig {} (context `{context}`): {source}", path.display())]
    Kubeconfig {
        path: PathBuf,
        context: String,
        #[source]
        source: Box<kube::config::KubeconfigError>,
    },
    /// A client could not be built from a kubeconfig that was read.
    #[error("cannot build a Kubernetes client for cluster `{cluster}` from {}: {source}", path.display())]
    Client {
        cluster: ClusterName,
        path: PathBuf,
        #[source]
        source: Box<kube::Error>,
    },
    /// The API server has no such object (HTTP 404).
    #[error("cluster `{cluster}`: {doing}: {}", status.message)]
    NotFound {
        cluster: ClusterName,
        doing: String,
        status: Box<Status>,
    },
    /// The API server refused or failed the request with a status other than 404.
    #[error("cluster `{cluster}`: {doing}: {} (HTTP {}{})", status.message, status.code, reason_suffix(&status.reason))]
    Api {
        cluster: ClusterName,
        doing: String,
        status: Box<Status>,
    },
    /// The request got no usable answer: connection refused or cut, a timeout, a body
    /// that is not what the API promises.
    #[error("cluster `{cluster}`: {doing}: {source}")]
    Request {
        cluster: ClusterName,
        doing: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// A document of a manifest we were given is not an object we can apply.
    #[error("{manifest}, document {index}: {problem}")]
    Manifest {
        /// Where the manifest came from (a file name, an upstream URL).
        manifest: String,
        /// 1-based, counting the documents that are not empty.
        index: usize,
        problem: String,
    },
    /// The cluster does not serve a kind we were asked to apply.
    #[error("cluster `{cluster}` serves no kind `{kind}` in `{api_version}`: {doing}")]
    UnknownKind {
        cluster: ClusterName,
        api_version: String,
        kind: String,
        doing: String,
    },
    /// An exec into a container ended without telling how the command exited.
    #[error("cluster `{cluster}`: {doing}: {problem}")]
    Exec {
        cluster: ClusterName,
        doing: String,
        problem: String,
    },
    /// Something awaited did not happen in time.
    #[error(transparent)]
    Wait(#[from] WaitError),
}

/// ` InternalError`, or nothing for the API server's unknown (empty) reason.
fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason}")
    }
}

impl KubeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            // Both are the files of an earlier run (or a manifest we pinned): running
            // again unchanged fails the same way.
            KubeError::Kubeconfig { .. } | KubeError::Manifest { .. } => ErrorKind::BadInput,
            KubeError::Client { .. }
            | KubeError::NotFound { .. }
            | KubeError::Api { .. }
            | KubeError::Request { .. }
            | KubeError::UnknownKind { .. }
            | KubeError::Exec { .. }
            | KubeError::Wait(_) => ErrorKind::Failed,
        }
    }

    /// The API server answered 404 for what was asked.
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::NotFound { .. })
    }

    /// The status the API server answered with, for a refused request.
    pub fn status(&self) -> Option<&Status> {
        match self {
            KubeError::NotFound { status, .. } | KubeError::Api { status, .. } => Some(status),
            _ => None,
        }
    }

    /// Sorts a kube-rs error into [`KubeError::NotFound`], [`KubeError::Api`] or
    /// [`KubeError::Request`].
    pub(crate) fn from_kube(cluster: &ClusterName, doing: String, error: kube::Error) -> Self {
        let cluster = cluster.clone();
        match error {
            kube::Error::Api(status) if status.is_not_found() => KubeError::NotFound {
                cluster,
                doing,
                status,
            },
            kube::Error::Api(status) => KubeError::Api {
                cluster,
                doing,
                status,
            },
            other => KubeError::Request {
                cluster,
                doing,
                source: Box::new(other),
            },
        }
    }
}
