//! The kind provider: clusters as kind creates them, over the [`Runner`].
//!
//! kind's own behaviour shapes this code (kubernetes-sigs/kind@v0.31.0, unchanged in
//! v0.33.0 for everything used here):
//! - every log line, `ERROR: ...` included, goes to stderr, and kind exits 0 or 1 only
//!   (cmd/kind/app/main.go), so a failure's reason is read from its `ERROR:` line;
//! - `--wait` waits for control-plane nodes only and exits 0 when it times out
//!   (pkg/cluster/internal/create/actions/waitforready/waitforready.go): readiness is
//!   checked through the API afterwards, never taken from the exit code;
//! - the kubeconfig is locked per file while written (pkg/cluster/internal/kubeconfig/
//!   internal/kubeconfig/lock.go), so each cluster gets its own file and concurrent
//!   creates never wait on each other;
//! - `kind get clusters` prints `No kind clusters found.` on stderr and exits 0 when there
//!   are none (pkg/cmd/kind/get/clusters/clusters.go);
//! - `kind delete cluster` edits `$KUBECONFIG` or `~/.kube/config` unless `--kubeconfig`
//!   is given (pkg/cluster/internal/kubeconfig/internal/kubeconfig/remove.go), so it
//!   always is;
//! - never `-q`: it silences the `ERROR:` line too (cmd/kind/app/main.go `checkQuiet`).

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use super::docker;
use super::{ClusterError, CreateRequest, Provider};
use crate::config::ClusterName;
use crate::net::{DockerNetwork, parse_network_inspect};
use crate::runner::{Invocation, RunError, Runner, Tool};

/// Time a `kind create cluster` may take beyond its `--wait`: pulling the node image on a
/// cold machine and starting the control plane.
const CREATE_MARGIN: Duration = Duration::from_secs(600);

/// `kind create cluster --name N --config F --kubeconfig K --wait D`.
pub fn create(req: &CreateRequest) -> Invocation {
    Invocation::new(
        Tool::Kind,
        [
            "create".to_owned(),
            "cluster".to_owned(),
            "--name".to_owned(),
            req.name.to_string(),
            "--config".to_owned(),
            req.config.display().to_string(),
            "--wait".to_owned(),
            go_duration(req.wait),
        ],
    )
    .kubeconfig(&req.kubeconfig)
    .timeout(req.wait + CREATE_MARGIN)
}

/// `kind delete cluster --name N --kubeconfig K`: exits 0 when the cluster does not exist.
pub fn delete(name: &ClusterName, kubeconfig: &Path) -> Invocation {
    Invocation::new(
        Tool::Kind,
        [
            "delete".to_owned(),
            "cluster".to_owned(),
            "--name".to_owned(),
            name.to_string(),
        ],
    )
    .kubeconfig(kubeconfig)
    .timeout(Duration::from_secs(300))
}

/// `kind get clusters`.
pub fn get_clusters() -> Invocation {
    Invocation::new(Tool::Kind, ["get", "clusters"])
}

/// `kind get kubeconfig --name N`: the kubeconfig on stdout, no file written.
pub fn get_kubeconfig(name: &ClusterName) -> Invocation {
    Invocation::new(
        Tool::Kind,
        [
            "get".to_owned(),
            "kubeconfig".to_owned(),
            "--name".to_owned(),
            name.to_string(),
        ],
    )
}

/// `kind load docker-image --name N IMAGE...`: copies images from the host's docker into
/// every node (pkg/cmd/kind/load/docker-image/docker-image.go).
pub fn load_images(name: &ClusterName, images: &[String]) -> Invocation {
    let mut args = vec![
        "load".to_owned(),
        "docker-image".to_owned(),
        "--name".to_owned(),
        name.to_string(),
    ];
    args.extend(images.iter().cloned());
    Invocation::new(Tool::Kind, args).timeout(Duration::from_secs(600))
}

/// `kind export logs --name N DIR`.
pub fn export_logs(name: &ClusterName, dir: &Path) -> Invocation {
    Invocation::new(
        Tool::Kind,
        [
            "export".to_owned(),
            "logs".to_owned(),
            "--name".to_owned(),
            name.to_string(),
            dir.display().to_string(),
        ],
    )
    .timeout(Duration::from_secs(300))
}

/// A duration as Go's `time.Duration.String()` writes it (`5m0s`, `1h0m0s`, `30s`), which
/// is what `--wait` parses (pflag `DurationVar`; a bare number is refused).
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// kind's reason for a failure: its `ERROR:` line, without the prefix.
pub fn error_reason(stderr_tail: &[String]) -> Option<String> {
    stderr_tail
        .iter()
        .find_map(|line| line.strip_prefix("ERROR: "))
        .map(str::to_owned)
}

/// The cluster names in `kind get clusters` output (one per line on stdout; nothing on
/// stdout when there are none).
pub fn parse_clusters(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// kind clusters, made and inspected with the kind binary and docker.
#[derive(Debug, Clone)]
pub struct Kind {
    runner: Runner,
}

impl Kind {
    pub fn new(runner: Runner) -> Self {
        Self { runner }
    }

    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    async fn kind(
        &self,
        inv: &Invocation,
        action: &'static str,
        cluster: Option<&ClusterName>,
    ) -> Result<crate::runner::Output, ClusterError> {
        self.runner
            .run(inv)
            .await
            .map_err(|source| kind_error(action, cluster, source))
    }
}

/// A failed kind call as a [`ClusterError`], with kind's own reason when it gave one.
pub fn kind_error(
    action: &'static str,
    cluster: Option<&ClusterName>,
    source: RunError,
) -> ClusterError {
    match &source {
        RunError::Failed {
            stderr_tail,
            status,
            ..
        } => ClusterError::Kind {
            action,
            cluster: cluster.cloned(),
            reason: error_reason(stderr_tail).unwrap_or_else(|| status.clone()),
            source: Box::new(source),
        },
        _ => ClusterError::Run(source),
    }
}

impl Provider for Kind {
    async fn create(&self, req: &CreateRequest) -> Result<(), ClusterError> {
        self.kind(&create(req), "create", Some(&req.name))
            .await
            .map(drop)
    }

    async fn delete(&self, name: &ClusterName, kubeconfig: &Path) -> Result<(), ClusterError> {
        self.kind(&delete(name, kubeconfig), "delete", Some(name))
            .await
            .map(drop)
    }

    async fn list(&self) -> Result<Vec<String>, ClusterError> {
        let out = self.kind(&get_clusters(), "list", None).await?;
        Ok(parse_clusters(&out.stdout))
    }

    async fn kubeconfig(&self, name: &ClusterName) -> Result<String, ClusterError> {
        let out = self
            .kind(&get_kubeconfig(name), "read the kubeconfig of", Some(name))
            .await?;
        Ok(out.stdout)
    }

    async fn control_plane_ip(&self, name: &ClusterName) -> Result<Ipv4Addr, ClusterError> {
        let inv = docker::inspect_control_plane(name);
        let out = self.runner.run(&inv).await?;
        docker::parse_container_ip(&out.stdout).map_err(|reason| ClusterError::Inspect {
            command: inv.command_line(),
            reason,
        })
    }

    async fn network(&self) -> Result<DockerNetwork, ClusterError> {
        let out = self.runner.run(&docker::inspect_network()).await?;
        Ok(parse_network_inspect(&out.stdout)?)
    }

    async fn load_images(&self, name: &ClusterName, images: &[String]) -> Result<(), ClusterError> {
        self.kind(&load_images(name, images), "load images into", Some(name))
            .await
            .map(drop)
    }

    async fn export_logs(&self, name: &ClusterName, dir: &Path) -> Result<(), ClusterError> {
        self.kind(&export_logs(name, dir), "export the logs of", Some(name))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_go_does() {
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn the_reason_is_kinds_error_line() {
        let tail = vec![
            "Creating cluster \"c\" ...".to_owned(),
            "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"c\"".to_owned(),
        ];
        assert_eq!(
            error_reason(&tail).as_deref(),
            Some(
                "failed to create cluster: node(s) already exist for a cluster with the name \"c\""
            )
        );
        assert_eq!(error_reason(&[]), None);
    }

    #[test]
    fn cluster_lists_come_from_stdout_only() {
        assert_eq!(
            parse_clusters("cluster1\ncluster2\n"),
            ["cluster1", "cluster2"]
        );
        assert!(parse_clusters("").is_empty());
    }

    #[test]
    fn create_passes_our_kubeconfig_and_a_go_duration() {
        let req = CreateRequest {
            name: "cluster1".parse().unwrap(),
            config: "/s/rendered/cluster1/00-kind.yaml".into(),
            kubeconfig: "/s/kubeconfig/cluster1.yaml".into(),
            wait: Duration::from_secs(300),
        };
        let inv = create(&req);
        assert_eq!(
            inv.command_line(),
            "kind create cluster --name cluster1 --config /s/rendered/cluster1/00-kind.yaml --wait 5m0s --kubeconfig /s/kubeconfig/cluster1.yaml"
        );
        assert_eq!(inv.kubeconfig, Some(req.kubeconfig.clone()));
        assert!(inv.timeout > req.wait);
    }
}
