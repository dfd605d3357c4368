//! `cargo xtask test`: the offline suite through cargo-nextest.

use std::process::Command;

use clap::Args;

use crate::error::CliError;

#[derive(Args)]
pub struct TestArgs {
    /// nextest profile: `default` (offline) or `ci` (offline + JUnit).
    #[arg(long, default_value = "default")]
    profile: String,
    /// Further arguments for `cargo nextest run` (a filter, `--no-fail-fast`, ...).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    nextest_args: Vec<String>,
}

pub fn run(args: TestArgs) -> Result<(), CliError> {
    if args.profile == "live" {
        return Err(CliError::Usage(
            "the live profile needs a running mesh; it is run by `cargo xtask e2e`".into(),
        ));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let has_nextest = Command::new(&cargo)
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_nextest {
        return Err(CliError::NextestMissing);
    }
    let status = Command::new(&cargo)
        .current_dir(e2e::dirs::workspace_root())
        .args(["nextest", "run", "--workspace", "--profile", &args.profile])
        .args(&args.nextest_args)
        .status()
        .map_err(|source| CliError::Io {
            what: "start cargo nextest",
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::SuiteFailed(status))
    }
}
