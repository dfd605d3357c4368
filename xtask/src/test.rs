//! `cargo xtask test`: the offline suite through cargo-nextest.

use std::process::Command;

use clap::Args;

use crate::error::CliError;

#[derive(Args)]
pub struct TestArgs {
    /// nextest profile: `default` (offline) or `ci` (offline + JUnit).
    #[arg(long, value_name = "NAME", default_value = "default")]
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
    match status.code() {
        Some(0) => Ok(()),
        Some(code) if nextest_refused(code) => Err(CliError::NextestRefused(status)),
        _ => Err(CliError::SuiteFailed(status)),
    }
}

/// The exit codes with which cargo-nextest refuses what it was asked before running a
/// test, so the fix is in the arguments or the nextest config: clap's usage error (2,
/// `USAGE_CODE` in clap-rs/clap:clap_builder/src/util/mod.rs), and from `NextestExitCode`
/// (nextest-rs/nextest@cargo-nextest-0.9.143:nextest-metadata/src/exit_codes.rs)
/// NO_TESTS_RUN (4, a filter that selects nothing), REQUIRED_VERSION_NOT_MET (92),
/// INVALID_FILTERSET (94), EXPERIMENTAL_FEATURE_NOT_ENABLED (95) and SETUP_ERROR (96, e.g.
/// an unknown `--profile`). Failing tests (TEST_RUN_FAILED, 100), a failing build (101) and
/// everything else are a failure of the suite.
fn nextest_refused(code: i32) -> bool {
    matches!(code, 2 | 4 | 92 | 94 | 95 | 96)
}

/// What `cargo run` (so `cargo xtask`) sets for xtask, which a nested cargo must not inherit:
/// a build script that reads one (ring 0.17's reads CARGO_MANIFEST_DIR and CARGO_PKG_NAME,
/// CARGO_PKG_VERSION_*) sees another value than under a plain cargo call and reruns, and
/// everything above it rebuilds, at every switch between `cargo xtask` and `cargo xtask test`.
fn set_by_cargo_run(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("CARGO_PKG_") || name == "CARGO_MANIFEST_DIR" || name == "CARGO_MANIFEST_PATH"
}
