//! `cargo xtask tools`: fetch and verify the pinned tools into the shared cache.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct ToolsArgs {
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<String>,
    /// Fetch what every matrix row needs.
    #[arg(long, conflicts_with = "istio")]
    all: bool,
    /// Refuse artifacts whose checksum is not recorded; never write versions.toml.
    #[arg(long)]
    locked: bool,
    /// Use the cache only; say what is missing.
    #[arg(long)]
    offline: bool,
    /// One base URL that replaces every upstream host (laid out like the upstreams).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// The shared download cache.
    #[arg(long, value_name = "DIR", env = "MESH_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

pub fn run(_args: ToolsArgs) -> anyhow::Result<()> {
    Err(crate::output::not_built("tools"))
}
