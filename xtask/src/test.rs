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
    let mut nextest = Command::new(&cargo);
    for (name, _) in std::env::vars_os() {
        if set_by_cargo_run(&name) {
            nextest.env_remove(name);
        }
    }
    let status = nextest
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

/// What `cargo run` (so `cargo xtask`) sets for xtask, which a nested cargo must not inherit:
/// a build script that reads one (ring 0.17's reads CARGO_MANIFEST_DIR and CARGO_PKG_NAME,
/// CARGO_PKG_VERSION_*) sees another value than under a plain cargo call and reruns, and
/// everything above it rebuilds, at every switch between `cargo xtask` and `cargo xtask test`.
fn set_by_cargo_run(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("CARGO_PKG_") || name == "CARGO_MANIFEST_DIR" || name == "CARGO_MANIFEST_PATH"
}
