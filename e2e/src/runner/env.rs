//! The environment each tool runs with: this process's, minus what would make a tool read
//! or write the user's own configuration, plus our kubeconfig and state directories.
//!
//! The rules come from each tool's source at its pinned version:
//! - kind reads `KIND_CLUSTER_NAME` when `--name` is absent and picks another network from
//!   `KIND_EXPERIMENTAL_DOCKER_NETWORK` / `KIND_EXPERIMENTAL_PODMAN_NETWORK`
//!   (kubernetes-sigs/kind@v0.31.0:pkg/internal/cli/override.go,
//!   pkg/cluster/internal/providers/docker/network.go); we always pass `--name` and read
//!   the network called `kind`, so both are removed. `KIND_EXPERIMENTAL_PROVIDER` (podman)
//!   stays: it is the user's choice of engine (pkg/internal/runtime/runtime.go).
//! - helm takes its cache, config and data directories from `HELM_*_HOME`, else `XDG_*`,
//!   else the home directory (helm/helm@v3.21.4:pkg/helmpath/lazypath.go), writes its
//!   discovery cache to `KUBECACHEDIR`, else `~/.kube/cache`
//!   (kubernetes/cli-runtime@v0.36.2:pkg/genericclioptions/config_flags.go), and reads
//!   every other `HELM_*` variable as a flag default (pkg/cli/environment.go): ours go under
//!   the state directory, the rest are removed.
//! - istioctl reads `$HOME/.istioctl/config.yaml` (or `ISTIOCONFIG`), `ISTIOCTL_*` as flag
//!   defaults, and writes a discovery cache under `$HOME/.kube/cache` whatever
//!   `KUBECACHEDIR` says (istio/istio@1.24.1:istioctl/cmd/root.go,
//!   pkg/kube/client_factory.go): it gets a home of its own under the state directory.
//! - docker keeps everything: `DOCKER_HOST`, `DOCKER_CONTEXT`, `DOCKER_CONFIG` select the
//!   user's engine (docker/cli@v29.7.2:cli/config/config.go).
//!
//! Every tool gets `KUBECONFIG` set to the invocation's kubeconfig, or to a file under the
//! state directory that never exists, so a call that forgot `--kubeconfig` finds nothing
//! rather than the user's clusters.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::Tool;

/// The directories under the state directory that tools are pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPaths {
    pub helm_cache: PathBuf,
    pub helm_config: PathBuf,
    pub helm_data: PathBuf,
    pub kube_cache: PathBuf,
    pub istioctl_home: PathBuf,
    /// `KUBECONFIG` for calls that work on no cluster: never created.
    pub no_kubeconfig: PathBuf,
}

impl EnvPaths {
    pub fn under(state_dir: &Path) -> Self {
        Self {
            helm_cache: state_dir.join("helm/cache"),
            helm_config: state_dir.join("helm/config"),
            helm_data: state_dir.join("helm/data"),
            kube_cache: state_dir.join("kube-cache"),
            istioctl_home: state_dir.join("home/istioctl"),
            no_kubeconfig: state_dir.join("kubeconfig/none.yaml"),
        }
    }

    /// The directories a tool may write to; created before the first call.
    pub fn dirs(&self) -> [&Path; 5] {
        [
            &self.helm_cache,
            &self.helm_config,
            &self.helm_data,
            &self.kube_cache,
            &self.istioctl_home,
        ]
    }
}

/// The variables removed for `tool`, by exact name or by prefix.
fn removed(tool: Tool, name: &str) -> bool {
    match tool {
        Tool::Kind => matches!(
            name,
            "KIND_CLUSTER_NAME"
                | "KIND_EXPERIMENTAL_DOCKER_NETWORK"
                | "KIND_EXPERIMENTAL_PODMAN_NETWORK"
        ),
        Tool::Helm => {
            name.starts_with("HELM_")
                || matches!(name, "XDG_CACHE_HOME" | "XDG_CONFIG_HOME" | "XDG_DATA_HOME")
        }
        Tool::Istioctl => name.starts_with("ISTIOCTL_") || name == "ISTIOCONFIG",
        Tool::Docker => false,
    }
}

/// The full environment of a `tool` child, from the parent's variables.
pub fn child_env(
    tool: Tool,
    paths: &EnvPaths,
    kubeconfig: Option<&Path>,
    parent: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    let set: Vec<(&str, &OsStr)> = {
        let mut set = vec![(
            "KUBECONFIG",
            kubeconfig.unwrap_or(&paths.no_kubeconfig).as_os_str(),
        )];
        match tool {
            Tool::Helm => set.extend([
                ("HELM_CACHE_HOME", paths.helm_cache.as_os_str()),
                ("HELM_CONFIG_HOME", paths.helm_config.as_os_str()),
                ("HELM_DATA_HOME", paths.helm_data.as_os_str()),
                ("KUBECACHEDIR", paths.kube_cache.as_os_str()),
            ]),
            Tool::Istioctl => set.push(("HOME", paths.istioctl_home.as_os_str())),
            Tool::Kind | Tool::Docker => {}
        }
        set
    };
    let mut env: Vec<(OsString, OsString)> = parent
        .into_iter()
        .filter(|(name, _)| {
            let name = name.to_string_lossy();
            !removed(tool, &name) && !set.iter().any(|(ours, _)| *ours == name)
        })
        .collect();
    env.extend(
        set.into_iter()
            .map(|(name, value)| (OsString::from(name), value.to_owned())),
    );
    env.sort();
    env
}
