//! What `up`, `down` and `status` share: the environment a run works in, built from the
//! process's environment.

use std::path::PathBuf;
use std::time::Duration;

use e2e::certs::KeyType;
use e2e::dirs::CACHE_DIR_ENV;
use e2e::executor::ToolSource;
use e2e::lifecycle::Env;
use e2e::pins::{Pins, Platform};
use e2e::runner::{Cancel, Runner};
use e2e::state::Layout;
use e2e::tools::FetchOptions;

use crate::error::CliError;

/// Overrides the pins file for `up`, `down` and `status` until the global `--pins` flag
/// lands; the offline tests point it at fixture pins.
pub const PINS_ENV: &str = "MESH_PINS_FILE";

pub fn pins_file() -> PathBuf {
    std::env::var_os(PINS_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(e2e::dirs::pins_file)
}

pub fn pins() -> Result<Pins, CliError> {
    Ok(Pins::load(&pins_file())?)
}

pub fn layout() -> Layout {
    Layout::new(e2e::dirs::state_dir())
}

/// The environment of a run: the state directory, a runner with `docker` from `PATH`,
/// the tools from the shared cache (fetched when missing).
pub fn env(cancel: Cancel) -> Result<Env, CliError> {
    let layout = layout();
    let platform = Platform::current().map_err(CliError::Usage)?;
    let cache_dir = e2e::dirs::default_cache_dir()
        .map_err(|e| CliError::Usage(format!("{e}; set {CACHE_DIR_ENV}")))?;
    let mut fetch = FetchOptions::new(cache_dir, pins_file(), platform);
    fetch.progress = true;
    Ok(Env {
        runner: Runner::new(layout.env_paths(), cancel),
        layout,
        tools: ToolSource::Fetch(fetch),
        key_type: KeyType::default(),
        read_proc: Env::real_proc(),
        poll_interval: Duration::from_secs(2),
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            what: "start the async runtime",
            source,
        })
}
