//! `cargo xtask`: the command line of the framework.
//!
//! This crate parses arguments, prints results and maps failures to exit codes and hints
//! (`error.rs`); every decision lives in the `e2e` library.

mod certs;
mod down;
mod error;
mod live;
mod matrix;
mod output;
mod render;
mod status;
mod test;
mod tools;
mod up;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use e2e::pins::{IstioVersion, Pins};

use crate::error::CliError;

/// Multi-primary, multi-network Istio on kind: set up, test, tear down.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
struct Cli {
    /// Pins file to use instead of the checkout's versions.toml (also MESH_PINS);
    /// checksums taken from upstream are written back to it.
    #[arg(long, global = true, value_name = "FILE")]
    pins: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Subcommands whose issue is not done yet: `--help` marks them, and running one exits 2
/// after checking what it can. Take a name out when its subcommand lands.
const NOT_BUILT: &[&str] = &["e2e", "diag"];

/// The command line as clap parses it, with the [`NOT_BUILT`] subcommands marked.
fn command() -> clap::Command {
    NOT_BUILT.iter().fold(Cli::command(), |cli, name| {
        cli.mut_subcommand(name, |sub| {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            sub.about(format!("{about} [not built yet]"))
        })
    })
}

#[derive(Subcommand)]
enum Command {
    /// Everything: tools, certificates, clusters, mesh, samples, the live suite, teardown.
    E2e(E2eArgs),
    /// Run the offline test suite (cargo-nextest, default profile).
    Test(test::TestArgs),
    /// Fetch and verify the pinned kind, helm, Istio release and MetalLB manifest.
    Tools(tools::ToolsArgs),
    /// Generate the shared root CA and one intermediate CA per cluster.
    Certs(certs::CertsArgs),
    /// Write every manifest and values file the setup applies, without a cluster.
    Render(render::RenderArgs),
    /// Create the clusters and install the mesh (`--dry-run` prints the plan).
    Up(up::UpArgs),
    /// Show what is up, synced and reachable.
    Status(status::StatusArgs),
    /// Collect a diagnostics bundle from the running mesh.
    Diag(DiagArgs),
    /// Delete what `up` made, nothing else.
    Down,
    /// Print the Istio versions CI runs live, as JSON for a GitHub Actions matrix.
    Matrix,
}

#[derive(Args)]
struct E2eArgs {
    /// Leave the mesh up after the suite.
    #[arg(long)]
    keep: bool,
    /// Run the live suite again on the mesh that is up.
    #[arg(long)]
    reuse: bool,
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<IstioVersion>,
    /// Run a patched istiod image, e.g. localhost/pilot:dev.
    #[arg(long, value_name = "REF")]
    istiod_image: Option<String>,
}

#[derive(Args)]
struct DiagArgs {
    /// Output directory; default: diag/ under the state directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    output::init_tracing();
    let pins = e2e::dirs::pins_file(cli.pins.as_deref());
    let result = match cli.command {
        Command::E2e(args) => e2e_cmd(args, &pins),
        Command::Test(args) => test::run(args),
        Command::Tools(args) => tools::run(args, &pins),
        Command::Certs(args) => certs::run(args),
        Command::Render(args) => render::run(args, &pins),
        Command::Matrix => matrix::run(&pins),
        Command::Up(args) => up::run(args, &pins),
        Command::Status(args) => status::run(args, &pins),
        Command::Diag(_) => not_built("diag"),
        Command::Down => down::run(&pins),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => output::report(&err),
    }
}

fn not_built(name: &'static str) -> Result<(), CliError> {
    debug_assert!(NOT_BUILT.contains(&name), "{name} is marked built");
    Err(CliError::NotBuilt(name))
}

/// Checks the arguments, then that Docker answers (the live path needs it: say so at once
/// rather than half-way).
fn e2e_cmd(args: E2eArgs, pins_file: &Path) -> Result<(), CliError> {
    let pins = Pins::load(pins_file)?;
    pins.select(args.istio.as_ref())?;
    let runner = e2e::runner::Runner::new(
        e2e::state::Layout::new(e2e::dirs::state_dir()).env_paths(),
        e2e::runner::Cancel::new(),
    );
    live::runtime()?.block_on(e2e::cluster::docker::check_engine(&runner))?;
    not_built("e2e")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_describes_every_flag_and_marks_what_is_not_built() {
        let cli = command();
        cli.clone().debug_assert();
        let mut undescribed = Vec::new();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments() {
                if arg.get_help().is_none() && arg.get_id() != "help" {
                    undescribed.push(format!("{} --{}", sub.get_name(), arg.get_id()));
                }
            }
        }
        assert_eq!(
            undescribed,
            Vec::<String>::new(),
            "flags without a description"
        );
        for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            let marked = about.ends_with("[not built yet]");
            let name = sub.get_name();
            assert_eq!(marked, NOT_BUILT.contains(&name), "{name}: {about}");
        }
        for arg in cli.get_arguments() {
            assert!(arg.get_help().is_some(), "--{}", arg.get_id());
        }
    }
}
