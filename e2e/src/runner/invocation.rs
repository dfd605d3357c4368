//! One command to run: which tool, its arguments, the kubeconfig it works on, how long it
//! may take. Plain data, so the plan can show exactly what the executor will run.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

/// The external tools the framework runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Kind,
    Helm,
    Istioctl,
    Docker,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kind => "kind",
            Tool::Helm => "helm",
            Tool::Istioctl => "istioctl",
            Tool::Docker => "docker",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A command line with the context it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub tool: Tool,
    /// The arguments, without the program.
    pub args: Vec<String>,
    /// The kubeconfig the call works on: passed as `--kubeconfig` (by
    /// [`Invocation::kubeconfig`]) and as `KUBECONFIG`, so no default is ever consulted.
    pub kubeconfig: Option<PathBuf>,
    pub timeout: Duration,
}

impl Invocation {
    /// How long a call may take unless the caller says otherwise: enough for any query.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    pub fn new<I, S>(tool: Tool, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tool,
            args: args.into_iter().map(Into::into).collect(),
            kubeconfig: None,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Appends `--kubeconfig <path>` and sets `KUBECONFIG` to the same file.
    pub fn kubeconfig(mut self, path: &Path) -> Self {
        self.args.push("--kubeconfig".into());
        self.args.push(path.display().to_string());
        self.kubeconfig = Some(path.to_owned());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The tool's name, then the arguments.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.tool.name().to_owned())
            .chain(self.args.iter().cloned())
            .collect()
    }

    /// The command line as a person would type it (shell-quoted).
    pub fn command_line(&self) -> String {
        command_line(&self.argv())
    }
}

/// `argv` joined into one shell-quoted line, which pastes back into a shell as the same
/// arguments.
pub fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            shlex::try_quote(arg)
                .map(|q| q.into_owned())
                .unwrap_or_else(|_| format!("{arg:?}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
