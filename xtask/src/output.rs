//! What the user sees: results on stdout, errors, warnings and logs on stderr.
//!
//! Nothing here panics on a closed stream: `cargo xtask matrix | head -1` stops reading
//! early, and the rest of the report is dropped, not turned into a panic.

use std::error::Error as _;
use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use crate::error::{self, CliError};

/// Writes `text` to stdout. A reader that went away (`| head`, `| true`) is not an error:
/// it has what it wanted, and the work the report describes is done either way. Any
/// other write error is.
pub fn print(text: impl Display) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    match write!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Io {
            what: "write to stdout",
            source: e,
        }),
        _ => Ok(()),
    }
}

/// One line on stderr, for the user rather than the log: a note or a warning. If stderr
/// is gone there is nowhere left to say anything, so a failed write is dropped.
pub fn say(line: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Prints the error, each of its causes and the hint, and returns the exit code.
pub fn report(err: &CliError) -> ExitCode {
    let mut chain = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(c) = cause {
        chain.push(c.to_string());
        cause = c.source();
    }
    let hint = error::hint(err);
    let mut text = format!("error: {}\n", chain[0]);
    for cause in &chain[1..] {
        text.push_str(&format!("  caused by: {cause}\n"));
    }
    if let Some(hint) = &hint {
        text.push_str(&format!("hint: {hint}\n"));
    }
    let _ = io::stderr().lock().write_all(text.as_bytes());
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        // One line, as GitHub annotations need.
        let mut line = chain.join(": ");
        if let Some(hint) = &hint {
            line.push_str(&format!(" (hint: {hint})"));
        }
        let _ = print(format_args!("::error::{}\n", line.replace('\n', " ")));
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
