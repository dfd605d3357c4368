//! Whether a Docker engine answers: kind runs every node as a container of it.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

use crate::error::ErrorKind;

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

/// Fails at once, saying why, when no Docker engine answers `docker info`.
pub fn check_engine() -> Result<(), DockerError> {
    check_engine_with(OsStr::new("docker"))
}

/// [`check_engine`] with another `docker` executable (tests pass stand-ins).
pub fn check_engine_with(docker: &OsStr) -> Result<(), DockerError> {
    let output = Command::new(docker)
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .output()
        .map_err(|_| DockerError::NotInstalled)?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect());
    Err(DockerError::NotRunning { said })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// An executable script standing in for `docker`.
    fn stand_in(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("docker");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn an_engine_that_answers_passes() {
        let dir = tempfile::tempdir().unwrap();
        let docker = stand_in(
            dir.path(),
            r#"[ "$1 $2 $3" = "info --format {{.ServerVersion}}" ] || exit 3; echo 28.1.1"#,
        );
        assert_eq!(check_engine_with(docker.as_os_str()), Ok(()));
    }

    #[test]
    fn a_daemon_that_is_down_is_named_with_what_docker_said() {
        let dir = tempfile::tempdir().unwrap();
        let docker = stand_in(
            dir.path(),
            "echo 'Client: Docker Engine' ; echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1",
        );
        let err = check_engine_with(docker.as_os_str()).unwrap_err();
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

    #[test]
    fn a_missing_docker_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("docker");
        assert_eq!(
            check_engine_with(missing.as_os_str()),
            Err(DockerError::NotInstalled)
        );
    }
}
