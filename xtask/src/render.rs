//! `cargo xtask render`: every file the setup would apply, with no cluster.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct RenderArgs {
    /// Output directory; default: rendered/ under the state directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<String>,
    /// Topology file; default: the built-in two-cluster topology.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The kind docker network's subnet, for use without Docker.
    #[arg(long, value_name = "CIDR", default_value = "172.18.0.0/16")]
    docker_subnet: String,
}

pub fn run(_args: RenderArgs) -> anyhow::Result<()> {
    Err(crate::output::not_built("render"))
}
