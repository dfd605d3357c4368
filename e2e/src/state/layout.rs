//! Where a run keeps what it makes, under the state directory (`MESH_STATE_DIR`, default
//! `target/mesh/`). Named once here so `up`, `down`, `status` and the plan agree.

use std::path::{Path, PathBuf};

use crate::config::ClusterName;
use crate::runner::EnvPaths;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The record of what is up: `state.json`.
    pub fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// Held while `up` or `down` runs, so two never work on the same clusters at once.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(".state.lock")
    }

    pub fn kubeconfig_dir(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }

    /// What kind writes: the API server at `https://127.0.0.1:<port>`, for this machine.
    pub fn kubeconfig(&self, cluster: &ClusterName) -> PathBuf {
        self.kubeconfig_dir().join(format!("{cluster}.yaml"))
    }

    /// The same credentials with the API server at `https://<control-plane IP>:6443`, which
    /// other clusters (their istiod) can reach on the docker network.
    pub fn peer_kubeconfig(&self, cluster: &ClusterName) -> PathBuf {
        self.kubeconfig_dir().join(format!("{cluster}.peer.yaml"))
    }

    /// Everything rendered for the clusters, one folder each, as `cargo xtask render`
    /// writes it.
    pub fn rendered_dir(&self) -> PathBuf {
        self.root.join("rendered")
    }

    pub fn rendered(&self, cluster: &ClusterName) -> PathBuf {
        self.rendered_dir().join(cluster.as_str())
    }

    /// The CA files (`cargo xtask certs`); `down` keeps them.
    pub fn certs_dir(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// Where tools are pointed for their own caches and homes.
    pub fn env_paths(&self) -> EnvPaths {
        EnvPaths::under(&self.root)
    }
}
