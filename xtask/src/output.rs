//! Errors and logs as the user sees them.

use std::error::Error as _;
use std::io::IsTerminal;
use std::process::ExitCode;

use crate::error::{self, CliError};

/// Prints the error, each of its causes and the hint, and returns the exit code.
pub fn report(err: &CliError) -> ExitCode {
    let mut chain = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(c) = cause {
        chain.push(c.to_string());
        cause = c.source();
    }
    let hint = error::hint(err);
    eprintln!("error: {}", chain[0]);
    for cause in &chain[1..] {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = &hint {
        eprintln!("hint: {hint}");
    }
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        // One line, as GitHub annotations need.
        let mut line = chain.join(": ");
        if let Some(hint) = &hint {
            line.push_str(&format!(" (hint: {hint})"));
        }
        println!("::error::{}", line.replace('\n', " "));
    }
    ExitCode::from(error::exit_code(err))
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
