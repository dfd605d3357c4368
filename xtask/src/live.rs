//! What `up`, `down` and `status` share: the environment a run works in, built from the
//! process's environment.

use std::path::Path;
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

pub fn pins(pins_file: &Path) -> Result<Pins, CliError> {
    Ok(Pins::load(pins_file)?)
}

pub fn layout() -> Layout {
    Layout::new(e2e::dirs::state_dir())
}

/// The environment of a run: the state directory, a runner with `docker` from `PATH`,
/// the tools from the shared cache (fetched when missing).
pub fn env(cancel: Cancel, pins_file: &Path) -> Result<Env, CliError> {
    let layout = layout();
    let platform = Platform::current().map_err(CliError::Usage)?;
    let cache_dir = e2e::dirs::default_cache_dir()
        .map_err(|e| CliError::Usage(format!("{e}; set {CACHE_DIR_ENV}")))?;
    let mut fetch = FetchOptions::new(cache_dir, pins_file.to_owned(), platform);
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
