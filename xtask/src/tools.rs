//! `cargo xtask tools`: fetch and verify the pinned tools into the shared cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use e2e::dirs::CACHE_DIR_ENV;
use e2e::pins::{IstioVersion, Pins, Platform};
use e2e::tools::{FetchOptions, HttpSettings, Mirror, Toolbox};

use crate::error::CliError;

#[derive(Args)]
pub struct ToolsArgs {
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<IstioVersion>,
    /// Fetch what every matrix row needs.
    #[arg(long, conflicts_with = "istio")]
    all: bool,
    /// Refuse artifacts whose checksum is not recorded; never write the pins file.
    #[arg(long)]
    locked: bool,
    /// Use the cache only; say what is missing.
    #[arg(long)]
    offline: bool,
    /// Re-hash every cached file against its install's completion marker (a plain run
    /// checks only that each file is there with its size); a damaged install is removed and
    /// fetched again (with --offline: removed and reported).
    #[arg(long)]
    verify: bool,
    /// One base URL that replaces every upstream host (laid out like the upstreams).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// The shared download cache.
    #[arg(long, value_name = "DIR", env = "MESH_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// The most one download may take, every retry included, in seconds.
    #[arg(
        long,
        value_name = "SECS",
        env = "MESH_DOWNLOAD_DEADLINE",
        default_value_t = HttpSettings::default().deadline.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    download_deadline: u64,
}

pub fn run(args: ToolsArgs, pins_file: &Path) -> Result<(), CliError> {
    let pins = Pins::load(pins_file)?;
    let platform = Platform::current().map_err(CliError::Usage)?;
    let cache_dir = match args.cache_dir {
        Some(dir) => dir,
        None => e2e::dirs::default_cache_dir().map_err(|e| {
            CliError::Usage(format!("{e}; pass --cache-dir or set {CACHE_DIR_ENV}"))
        })?,
    };
    let mut opts = FetchOptions::new(cache_dir, pins_file.to_owned(), platform);
    opts.locked = args.locked;
    opts.offline = args.offline;
    opts.verify = args.verify;
    opts.mirror = args.mirror.as_deref().map(Mirror::parse).transpose()?;
    opts.progress = true;
    opts.http.deadline = Duration::from_secs(args.download_deadline);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            what: "start the async runtime",
            source,
        })?;
    let toolboxes = if args.all {
        runtime.block_on(e2e::tools::ensure_all(&opts, &pins))?
    } else {
        let row = pins.select(args.istio.as_ref())?;
        vec![(
            row.version.clone(),
            runtime.block_on(e2e::tools::ensure(&opts, &pins, row))?,
        )]
    };
    let report: String = toolboxes
        .iter()
        .map(|(version, toolbox)| describe(&version.to_string(), platform, toolbox))
        .collect();
    crate::output::print(report)?;
    if args.verify {
        eprintln!("verified: every file of these installs matches its sha256");
    }
    Ok(())
}

/// Where each tool of a row is, one per line.
fn describe(version: &str, platform: Platform, t: &Toolbox) -> String {
    let lines = [
        ("kind", &t.kind),
        ("helm", &t.helm),
        ("istioctl", &t.istioctl),
        ("chart base", &t.charts.base),
        ("chart istiod", &t.charts.istiod),
        ("chart gateway", &t.charts.gateway),
        ("metallb", &t.metallb_manifest),
    ];
    let mut out = format!("Istio {version} ({platform}):\n");
    for (name, path) in lines {
        out.push_str(&format!("  {name:<14} {}\n", path.display()));
    }
    out
}
