//! The one place that runs external commands: kind, helm, istioctl and docker.
//!
//! Every call is an [`Invocation`] (which tool, its arguments, the kubeconfig it works on,
//! a timeout), run by [`Runner::run`]: the full command line is logged at info before it
//! starts, stdout and stderr are captured, the timeout is enforced (the child is killed
//! when it passes), and a failure names the tool, its arguments, its exit status and the
//! last lines of its stderr. The child's environment is decided by [`env::child_env`], so
//! nothing ever reads or writes `~/.kube/config`, `~/.helm` or `~/.istioctl`.
//!
//! The pinned tools come from the [`Toolbox`](crate::tools::Toolbox), never from `PATH`;
//! only `docker` is found on `PATH` (once), because it is the user's engine and kind itself
//! calls it from there.

mod cancel;
pub mod env;
mod error;
mod invocation;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use cancel::Cancel;
pub use env::EnvPaths;
pub use error::RunError;
pub use invocation::{Invocation, Tool, command_line};

use crate::tools::Toolbox;

/// How long a running tool call may go on after a cancel (Ctrl-C) before it is killed.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// What a finished command printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs invocations. Cheap to clone: clones share the programs, the cancel signal and the
/// environment.
#[derive(Debug, Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    /// `docker` as found on `PATH` when the runner was made.
    docker: Option<PathBuf>,
    /// kind, helm and istioctl, once the tools are fetched.
    tools: OnceLock<Toolbox>,
    paths: EnvPaths,
    cancel: Cancel,
    grace: Duration,
}

impl Runner {
    /// A runner whose children get the environment [`env::child_env`] makes from this
    /// process's environment and `paths`; `docker` is looked up on `PATH` now.
    pub fn new(paths: EnvPaths, cancel: Cancel) -> Self {
        let docker = std::env::var_os("PATH").and_then(|path| find_on_path("docker", &path));
        Self::with_docker(paths, cancel, docker)
    }

    /// [`Runner::new`] with `docker` given (`None`: not installed).
    pub fn with_docker(paths: EnvPaths, cancel: Cancel, docker: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                docker,
                tools: OnceLock::new(),
                paths,
                cancel,
                grace: DEFAULT_GRACE,
            }),
        }
    }

    /// The same runner with another grace period after a cancel.
    pub fn with_grace(self, grace: Duration) -> Self {
        let mut runner = self;
        Arc::make_mut(&mut runner.inner).grace = grace;
        runner
    }

    /// Makes kind, helm and istioctl runnable: the verified binaries of `tools`. The first
    /// toolbox given stays.
    pub fn set_tools(&self, tools: &Toolbox) {
        let _ = self.inner.tools.set(tools.clone());
    }

    /// The fetched tools, once [`Runner::set_tools`] has run.
    pub fn tools(&self) -> Option<&Toolbox> {
        self.inner.tools.get()
    }

    pub fn cancel(&self) -> &Cancel {
        &self.inner.cancel
    }

    pub fn paths(&self) -> &EnvPaths {
        &self.inner.paths
    }

    /// The executable for `tool`.
    pub fn program(&self, tool: Tool) -> Result<PathBuf, RunError> {
        let missing = |reason: &str| RunError::NotAvailable {
            tool,
            reason: reason.to_owned(),
        };
        match tool {
            Tool::Docker => self
                .inner
                .docker
                .clone()
                .ok_or_else(|| missing("no `docker` executable on PATH")),
            Tool::Kind | Tool::Helm | Tool::Istioctl => {
                let tools = self
                    .inner
                    .tools
                    .get()
                    .ok_or_else(|| missing("the pinned tools are not fetched yet"))?;
                Ok(match tool {
                    Tool::Kind => tools.kind.clone(),
                    Tool::Helm => tools.helm.clone(),
                    Tool::Istioctl => tools.istioctl.clone(),
                    Tool::Docker => unreachable!("matched above"),
                })
            }
        }
    }

    /// Runs `inv`; an exit status other than 0 is a [`RunError::Failed`].
    pub async fn run(&self, inv: &Invocation) -> Result<Output, RunError> {
        let output = self.output(inv).await?;
        if output.success() {
            Ok(output)
        } else {
            Err(RunError::failed(inv, &output))
        }
    }

    /// Runs `inv` and returns how it ended, whatever its exit status: for the callers that
    /// read a failure themselves (`docker info`, `docker inspect` of a missing container).
    pub async fn output(&self, inv: &Invocation) -> Result<Output, RunError> {
        let program = self.program(inv.tool)?;
        let line = inv.command_line();
        if self.inner.cancel.is_cancelled() {
            return Err(RunError::Cancelled { command: line });
        }
        let env = env::child_env(
            inv.tool,
            &self.inner.paths,
            inv.kubeconfig.as_deref(),
            std::env::vars_os(),
        );
        let mut command = tokio::process::Command::new(&program);
        command
            .args(&inv.args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C in the terminal reaches only us, and we
            // decide whether the tool finishes (a half-created cluster helps no one).
            .process_group(0);
        tracing::info!("running: {line}");
        let child = command.spawn().map_err(|source| RunError::Spawn {
            command: line.clone(),
            program: program.clone(),
            source,
        })?;
        let deadline = tokio::time::Instant::now() + inv.timeout;
        // Dropping this future drops the child, which kills it (kill_on_drop).
        let finished = child.wait_with_output();
        tokio::pin!(finished);
        let timed_out = || RunError::Timeout {
            command: line.clone(),
            timeout: inv.timeout,
        };
        let output = tokio::select! {
            output = &mut finished => output,
            () = tokio::time::sleep_until(deadline) => return Err(timed_out()),
            () = self.inner.cancel.cancelled() => {
                tracing::warn!("interrupted: letting `{line}` finish (at most {:?})", self.inner.grace);
                let grace_end = (tokio::time::Instant::now() + self.inner.grace).min(deadline);
                tokio::select! {
                    output = &mut finished => output,
                    () = tokio::time::sleep_until(grace_end) => {
                        tracing::warn!("stopping `{line}`: it did not finish in time");
                        return Err(RunError::Cancelled { command: line.clone() });
                    }
                }
            }
        };
        let output = output.map_err(|source| RunError::Spawn {
            command: line.clone(),
            program,
            source,
        })?;
        Ok(Output {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// The first executable file called `name` in the directories of `path` (a `PATH` value).
pub fn find_on_path(name: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests;
