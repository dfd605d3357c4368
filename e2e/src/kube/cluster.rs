//! [`Cluster`]: a client for one cluster, built from one of our kubeconfig files and
//! nothing else.
//!
//! kube-rs can also find a kubeconfig on its own (`KUBECONFIG`, `~/.kube/config`, the
//! in-cluster service account): we never let it, so a run can neither use nor change the
//! user's clusters. `clippy.toml` forbids those entry points; this is the one way in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::KubeError;
use super::discovery::KindCache;
use crate::config::ClusterName;
use crate::names;

/// How long a TCP connection to the API server may take. Our API servers are local
/// containers: when they do not answer in this time, they are not up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a response may go silent. kube-rs sets none by default, so that exec and
/// port-forward streams are not cut (kube-client@5.0.0:src/config/mod.rs `read_timeout`);
/// ours are short commands (a `curl`, a `pilot-discovery request` that gives up after
/// 60 s), so a limit above theirs still ends a request to a hung server.
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// How often and how long the waits inside this module's operations look (the waits a
/// step asks for take their deadline from the step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polling {
    /// Between two looks at anything awaited.
    pub interval: Duration,
    /// How long an apply is retried while an admission webhook does not answer yet
    /// (MetalLB's, right after its controller starts).
    pub webhook_timeout: Duration,
    /// How long a CustomResourceDefinition may take to become Established.
    pub crd_timeout: Duration,
    /// How long one exec may run, output included.
    pub exec_timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            interval: crate::wait::Wait::DEFAULT_INTERVAL,
            webhook_timeout: Duration::from_secs(120),
            crd_timeout: Duration::from_secs(60),
            exec_timeout: Duration::from_secs(90),
        }
    }
}

/// One cluster's API server, as reached from this machine: its name (for messages) and
/// a client. Cheap to clone; clones share connections and what discovery learnt.
#[derive(Clone)]
pub struct Cluster {
    name: ClusterName,
    client: Client,
    polling: Polling,
    pub(super) kinds: KindCache,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects to `cluster` through the kubeconfig file kind wrote for it, using the
    /// context kind names it by ([`names::kind_context`]).
    pub async fn connect(cluster: &ClusterName, kubeconfig: &Path) -> Result<Self, KubeError> {
        Self::connect_context(cluster, kubeconfig, &names::kind_context(cluster)).await
    }

    /// Connects to `cluster` through `context` of the kubeconfig file `kubeconfig`.
    ///
    /// Only that file is read (relative paths in it are taken from its directory,
    /// kube-client@5.0.0:src/config/file_config.rs `Kubeconfig::read_from`). A proxy is
    /// used only if the file names one: kube-rs would otherwise take `HTTPS_PROXY` from
    /// the environment (kube-client@5.0.0:src/config/file_loader.rs `proxy_url`), which
    /// cannot reach a cluster on this machine's docker network. kube-rs' own retries
    /// (of 429, 503 and 504, kube-client@5.0.0:src/client/retry.rs) are off: the waits
    /// of this crate ([`crate::wait::eventually`]) decide what is retried and for how long.
    pub async fn connect_context(
        cluster: &ClusterName,
        kubeconfig: &Path,
        context: &str,
    ) -> Result<Self, KubeError> {
        let bad_file = |source| KubeError::Kubeconfig {
            path: kubeconfig.to_owned(),
            context: context.to_owned(),
            source: Box::new(source),
        };
        let file = Kubeconfig::read_from(kubeconfig).map_err(bad_file)?;
        let proxy_in_file = proxy_url_of(&file, context);
        let options = KubeConfigOptions {
            context: Some(context.to_owned()),
            ..KubeConfigOptions::default()
        };
        let mut config = Config::from_custom_kubeconfig(file, &options)
            .await
            .map_err(bad_file)?;
        if !proxy_in_file {
            config.proxy_url = None;
        }
        config.default_retry = false;
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(READ_TIMEOUT);
        // Count the read timeout from the request, not from when a pooled connection
        // went idle (kube-client@5.0.0:src/config/mod.rs `reset_reader_on_write`).
        config.reset_reader_on_write = true;
        let client = Client::try_from(config).map_err(|source| KubeError::Client {
            cluster: cluster.clone(),
            path: PathBuf::from(kubeconfig),
            source: Box::new(source),
        })?;
        Ok(Self {
            name: cluster.clone(),
            client,
            polling: Polling::default(),
            kinds: KindCache::default(),
        })
    }

    /// The same cluster, waiting as `polling` says (tests look every few milliseconds).
    pub fn with_polling(mut self, polling: Polling) -> Self {
        self.polling = polling;
        self
    }

    pub fn name(&self) -> &ClusterName {
        &self.name
    }

    /// The kube-rs client, for what this module has no operation for.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn polling(&self) -> Polling {
        self.polling
    }

    /// Sorts a kube-rs error of something this cluster was doing.
    pub(super) fn error(&self, doing: impl Into<String>, error: kube::Error) -> KubeError {
        KubeError::from_kube(&self.name, doing.into(), error)
    }
}

/// Whether `context`'s cluster entry in the file names a `proxy-url` itself.
fn proxy_url_of(file: &Kubeconfig, context: &str) -> bool {
    let Some(cluster) = file
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.as_str())
    else {
        return false;
    };
    file.clusters
        .iter()
        .find(|c| c.name == cluster)
        .and_then(|c| c.cluster.as_ref())
        .is_some_and(|c| c.proxy_url.is_some())
}
