//! `cargo xtask certs`: the shared root CA and one intermediate CA per cluster.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct CertsArgs {
    /// Output directory; default: certs/ under the state directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Topology file; default: the built-in two-cluster topology.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Key type of the CAs: rsa4096 (as Istio's reference) or ecdsa-p256.
    #[arg(long, value_name = "TYPE", default_value = "rsa4096")]
    key_type: String,
    /// Regenerate everything, including the root (breaks trust with running clusters).
    #[arg(long)]
    force: bool,
}

pub fn run(_args: CertsArgs) -> anyhow::Result<()> {
    Err(crate::output::not_built("certs"))
}
