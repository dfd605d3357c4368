//! How a command can fail.

use std::path::PathBuf;
use std::time::Duration;

use super::{Invocation, Output, Tool};
use crate::error::ErrorKind;

/// Lines of stderr a failure keeps: enough for kind's `ERROR:` line and its command output.
pub const STDERR_TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{tool} is not available: {reason}")]
    NotAvailable { tool: Tool, reason: String },
    #[error("cannot run `{command}` ({})", program.display())]
    Spawn {
        command: String,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}){}", tail(stderr_tail))]
    Failed {
        tool: Tool,
        command: String,
        /// `exit status 1`, or the signal that ended it.
        status: String,
        /// The last [`STDERR_TAIL_LINES`] lines of its stderr.
        stderr_tail: Vec<String>,
    },
    #[error("`{command}` did not finish within {timeout:?} and was stopped")]
    Timeout { command: String, timeout: Duration },
    #[error("`{command}` was stopped: the run was interrupted")]
    Cancelled { command: String },
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return "; it printed nothing on stderr".into();
    }
    let mut out = String::from("; the end of its stderr:");
    for line in lines {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

impl RunError {
    pub(super) fn failed(inv: &Invocation, output: &Output) -> Self {
        let status = match output.code {
            Some(code) => format!("exit status {code}"),
            None => "ended by a signal".into(),
        };
        RunError::Failed {
            tool: inv.tool,
            command: inv.command_line(),
            status,
            stderr_tail: stderr_tail(&output.stderr),
        }
    }

    /// The lines of stderr a failure kept (empty for other errors).
    pub fn stderr_tail(&self) -> &[String] {
        match self {
            RunError::Failed { stderr_tail, .. } => stderr_tail,
            _ => &[],
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            RunError::NotAvailable { .. }
            | RunError::Spawn { .. }
            | RunError::Failed { .. }
            | RunError::Timeout { .. } => ErrorKind::Failed,
            RunError::Cancelled { .. } => ErrorKind::Interrupted,
        }
    }
}

/// The last [`STDERR_TAIL_LINES`] non-empty-at-the-end lines of `stderr`.
pub fn stderr_tail(stderr: &str) -> Vec<String> {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    lines[start..].iter().map(|l| (*l).to_owned()).collect()
}
