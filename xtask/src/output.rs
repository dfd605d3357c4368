//! Errors, exit codes and logs as the user sees them.

use std::io::IsTerminal;
use std::process::ExitCode;

/// Bad usage or input: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Wraps a usage error for `?`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// A subcommand whose issue is not done yet: say so plainly, exit 2.
pub fn not_built(command: &str) -> anyhow::Error {
    usage(format!(
        "`cargo xtask {command}` is not built yet; the subcommands that work today are tools, certs, render, matrix and test"
    ))
}

/// Fails at once, with what to do, when no Docker engine answers.
pub fn require_docker() -> anyhow::Result<()> {
    let answered = std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if answered {
        Ok(())
    } else {
        anyhow::bail!(
            "no Docker engine answers `docker info`: the live path creates kind clusters and needs a running Docker \
             (install Docker, start it, and make sure your user may use it); the offline suite runs without it: cargo xtask test"
        )
    }
}

/// Prints the error with its causes and returns the exit code: 2 for bad usage or input,
/// 1 for a failure of what was asked.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let bad_input = err.chain().any(|c| {
        c.is::<Usage>()
            || c.is::<e2e::pins::PinsError>()
            || c.is::<e2e::pins::UnknownIstioVersion>()
            || c.is::<e2e::config::ConfigError>()
            || c.downcast_ref::<e2e::certs::CertsError>()
                .is_some_and(e2e::certs::CertsError::is_bad_input)
            || c.downcast_ref::<e2e::tools::ToolsError>()
                .is_some_and(|e| e.is_bad_input())
    });
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        // One line, as GitHub annotations need.
        let line = err
            .chain()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        println!("::error::{}", line.replace('\n', " "));
    }
    ExitCode::from(if bad_input { 2 } else { 1 })
}

/// Logs to stderr, filtered by `RUST_LOG` (default: info for our crates).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,e2e=info,xtask=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
