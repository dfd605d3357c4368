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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use e2e::pins::IstioVersion;

use crate::error::CliError;

/// Multi-primary, multi-network Istio on kind: set up, test, tear down.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_tracing();
    let result = match cli.command {
        Command::E2e(_) => e2e_cmd(),
        Command::Test(args) => test::run(args),
        Command::Tools(args) => tools::run(args),
        Command::Certs(args) => certs::run(args),
        Command::Render(args) => render::run(args),
        Command::Matrix => matrix::run(),
        Command::Up(args) => up::run(args),
        Command::Status(args) => status::run(args),
        Command::Diag(_) => Err(CliError::NotBuilt("diag")),
        Command::Down => down::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => output::report(&err),
    }
}

/// The live path needs Docker; say so at once rather than failing half-way.
fn e2e_cmd() -> Result<(), CliError> {
    let runner = e2e::runner::Runner::new(
        e2e::runner::EnvPaths::under(&e2e::dirs::state_dir()),
        e2e::runner::Cancel::new(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            what: "start the async runtime",
            source,
        })?;
    runtime.block_on(e2e::cluster::docker::check_engine(&runner))?;
    Err(CliError::NotBuilt("e2e"))
}
