//! What the framework asks docker directly: whether an engine answers, the control-plane
//! container's address on the `kind` network, the network's subnet, and image pulls. The
//! command lines are plain functions, so the plan shows exactly what runs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::config::ClusterName;
use crate::error::ErrorKind;
use crate::runner::{Invocation, RunError, Runner, Tool};

/// The docker network kind puts every node on (kubernetes-sigs/kind@v0.31.0:
/// pkg/cluster/internal/providers/docker/network.go, `fixedNetworkName`).
pub const KIND_NETWORK: &str = "kind";

/// Why the live path cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    #[error(
        "`docker` is not installed: the live path creates kind clusters and needs a running Docker"
    )]
    NotInstalled,
    #[error(
        "no Docker engine answers `docker info`{}: the live path creates kind clusters and needs a running Docker (start it, and make sure your user may use it)",
        .said.as_deref().map(|s| format!(" (it said: {s})")).unwrap_or_default()
    )]
    NotRunning {
        /// The last line docker printed on stderr, if any.
        said: Option<String>,
    },
}

impl DockerError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DockerError::NotInstalled | DockerError::NotRunning { .. } => ErrorKind::Failed,
        }
    }
}

/// `docker info --format '{{.ServerVersion}}'`: exits 1 when no engine answers. Only the
/// exit code counts: with the daemon down the template still runs on an empty answer
/// (docker/cli@v29.7.2:cli/command/system/info.go).
pub fn info() -> Invocation {
    Invocation::new(Tool::Docker, ["info", "--format", "{{.ServerVersion}}"])
}

/// `docker inspect --type container <cluster>-control-plane`: the daemon's raw JSON
/// (docker/cli@v29.7.2:cli/command/inspect/inspector.go). kind names the first
/// control-plane node `<cluster>-control-plane`
/// (kubernetes-sigs/kind@v0.31.0:pkg/cluster/internal/providers/common/namer.go).
pub fn inspect_control_plane(cluster: &ClusterName) -> Invocation {
    Invocation::new(
        Tool::Docker,
        [
            "inspect".to_owned(),
            "--type".to_owned(),
            "container".to_owned(),
            control_plane_container(cluster),
        ],
    )
}

/// The control-plane node's container name.
pub fn control_plane_container(cluster: &ClusterName) -> String {
    format!("{cluster}-control-plane")
}

/// `docker network inspect kind`.
pub fn inspect_network() -> Invocation {
    Invocation::new(Tool::Docker, ["network", "inspect", KIND_NETWORK])
}

/// `docker pull -q <image>`: prints only the normalised reference
/// (docker/cli@v29.7.2:cli/command/image/pull.go).
pub fn pull(image: &str) -> Invocation {
    Invocation::new(Tool::Docker, ["pull", "-q", image])
        .timeout(std::time::Duration::from_secs(600))
}

/// Fails at once, saying why, when no Docker engine answers `docker info`.
pub async fn check_engine(runner: &Runner) -> Result<(), DockerError> {
    let output = match runner.output(&info()).await {
        Ok(output) => output,
        Err(RunError::NotAvailable { .. } | RunError::Spawn { .. }) => {
            return Err(DockerError::NotInstalled);
        }
        Err(other) => {
            return Err(DockerError::NotRunning {
                said: Some(other.to_string()),
            });
        }
    };
    if output.success() {
        return Ok(());
    }
    let said = output
        .stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect());
    Err(DockerError::NotRunning { said })
}

/// The part of `docker inspect` output we read. Unknown keys are ignored: the shape follows
/// the engine's version (moby/moby@docker-v29.7.2:api/types/container/network_settings.go
/// has only `Networks` there; Engine 28 also has empty top-level `IPAddress` keys).
#[derive(Deserialize)]
struct Container {
    #[serde(rename = "NetworkSettings")]
    network_settings: NetworkSettings,
}

#[derive(Deserialize)]
struct NetworkSettings {
    #[serde(rename = "Networks", default)]
    networks: BTreeMap<String, Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    /// `""` when unset (Engine 29 encodes an unset `netip.Addr` so).
    #[serde(rename = "IPAddress", default)]
    ip_address: String,
}

/// The container's IPv4 address on the `kind` network, from `docker inspect` output, or
/// why there is none.
pub fn parse_container_ip(json: &str) -> Result<Ipv4Addr, String> {
    let containers: Vec<Container> =
        serde_json::from_str(json).map_err(|e| format!("not the JSON docker prints: {e}"))?;
    let container = containers
        .first()
        .ok_or_else(|| "docker listed no container".to_owned())?;
    let networks = &container.network_settings.networks;
    let endpoint = networks.get(KIND_NETWORK).ok_or_else(|| {
        let on: Vec<&str> = networks.keys().map(String::as_str).collect();
        format!(
            "the container is not on the `{KIND_NETWORK}` network (it is on: {})",
            if on.is_empty() {
                "none".into()
            } else {
                on.join(", ")
            }
        )
    })?;
    if endpoint.ip_address.is_empty() {
        return Err(format!(
            "the container has no IPv4 address on the `{KIND_NETWORK}` network (is it running?)"
        ));
    }
    endpoint
        .ip_address
        .parse()
        .map_err(|_| format!("`{}` is not an IPv4 address", endpoint.ip_address))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Cancel, EnvPaths};
    use std::os::unix::fs::PermissionsExt;

    /// An executable script standing in for `docker`.
    fn stand_in(dir: &std::path::Path, body: &str) -> Runner {
        let path = dir.join("docker");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Runner::with_docker(EnvPaths::under(dir), Cancel::new(), Some(path))
    }

    #[tokio::test]
    async fn an_engine_that_answers_passes() {
        let dir = tempfile::tempdir().unwrap();
        let docker = stand_in(
            dir.path(),
            r#"[ "$1 $2 $3" = "info --format {{.ServerVersion}}" ] || exit 3; echo 28.1.1"#,
        );
        assert_eq!(check_engine(&docker).await, Ok(()));
    }

    #[tokio::test]
    async fn a_daemon_that_is_down_is_named_with_what_docker_said() {
        let dir = tempfile::tempdir().unwrap();
        let docker = stand_in(
            dir.path(),
            "echo 'Client: Docker Engine' ; echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1",
        );
        let err = check_engine(&docker).await.unwrap_err();
        assert_eq!(
            err,
            DockerError::NotRunning {
                said: Some("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?".into())
            }
        );
        assert!(
            err.to_string()
                .starts_with("no Docker engine answers `docker info` (it said: Cannot connect"),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Failed);
    }

    #[tokio::test]
    async fn a_missing_docker_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let none = Runner::with_docker(EnvPaths::under(dir.path()), Cancel::new(), None);
        assert_eq!(check_engine(&none).await, Err(DockerError::NotInstalled));
        let gone = Runner::with_docker(
            EnvPaths::under(dir.path()),
            Cancel::new(),
            Some(dir.path().join("docker")),
        );
        assert_eq!(check_engine(&gone).await, Err(DockerError::NotInstalled));
    }

    fn fixture(name: &str) -> String {
        let path = crate::dirs::workspace_root()
            .join("fixtures/docker")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        text.lines()
            .filter(|l| !l.starts_with("#| "))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn the_control_plane_address_comes_from_both_engine_shapes() {
        for engine in ["engine-29", "engine-28"] {
            let json = fixture(&format!("{engine}/inspect.cluster1-control-plane.json"));
            assert_eq!(
                parse_container_ip(&json),
                Ok(Ipv4Addr::new(172, 18, 0, 3)),
                "{engine}"
            );
        }
    }

    #[test]
    fn a_container_off_the_kind_network_or_without_an_address_is_explained() {
        let off = r#"[{"NetworkSettings":{"Networks":{"bridge":{"IPAddress":"172.17.0.2"}}}}]"#;
        assert_eq!(
            parse_container_ip(off).unwrap_err(),
            "the container is not on the `kind` network (it is on: bridge)"
        );
        let empty = r#"[{"NetworkSettings":{"Networks":{"kind":{"IPAddress":""}}}}]"#;
        assert!(
            parse_container_ip(empty)
                .unwrap_err()
                .contains("no IPv4 address")
        );
        assert!(
            parse_container_ip("[]")
                .unwrap_err()
                .contains("no container")
        );
        assert!(
            parse_container_ip("Error: x")
                .unwrap_err()
                .contains("not the JSON")
        );
    }
}
