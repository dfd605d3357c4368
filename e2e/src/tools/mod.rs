//! The pinned tools a run needs (kind, helm, istioctl with the Istio charts, the MetalLB
//! manifest): downloaded once, verified against `versions.toml`, installed atomically into
//! a cache shared by every checkout, and handed to the rest of the framework as a
//! [`Toolbox`] of absolute paths.

pub mod artifact;
mod cache;
pub mod checksum_file;
mod download;
mod error;
pub mod extract;
mod marker;

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::os::unix::fs::PermissionsExt as _;

use reqwest::Url;

pub use artifact::{Artifact, Checksum, ExtractLimits, Mirror, SizeLimit, Tool};
pub use download::HttpSettings;
pub use error::{ExpectedFrom, ToolsError};

use crate::fsx;
use crate::pins::{IstioRow, IstioVersion, Pins, Platform, Sha256};
use artifact::Unpack;
use cache::{Cache, Lookup};
use download::Http;
use marker::Contents;

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The shared cache (`--cache-dir`, `MESH_CACHE_DIR`, else `dirs::default_cache_dir`).
    pub cache_dir: PathBuf,
    /// The pins file, where checksums taken from upstream are recorded.
    pub pins_file: PathBuf,
    pub platform: Platform,
    /// Refuse artifacts whose checksum is not recorded; never write the pins file.
    pub locked: bool,
    /// Use the cache only.
    pub offline: bool,
    /// Re-hash every cached file against its install's marker, not only check that each
    /// is there with its size.
    pub verify: bool,
    pub mirror: Option<Mirror>,
    pub http: HttpSettings,
    /// Show a progress bar per download (only ever drawn when stderr is a terminal).
    pub progress: bool,
}

impl FetchOptions {
    pub fn new(cache_dir: PathBuf, pins_file: PathBuf, platform: Platform) -> Self {
        Self {
            cache_dir,
            pins_file,
            platform,
            locked: false,
            offline: false,
            verify: false,
            mirror: None,
            http: HttpSettings::default(),
            progress: false,
        }
    }

    /// Where `upstream` is actually fetched from.
    fn source(&self, upstream: &Url) -> Url {
        match &self.mirror {
            Some(m) => m.rewrite(upstream),
            None => upstream.clone(),
        }
    }
}

/// Absolute paths to everything one Istio row needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolbox {
    pub kind: PathBuf,
    pub helm: PathBuf,
    pub istioctl: PathBuf,
    pub charts: IstioCharts,
    pub metallb_manifest: PathBuf,
}

/// The row's Helm charts, from its release archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioCharts {
    pub base: PathBuf,
    /// `istio-control/istio-discovery` in the archive (the `istiod` chart).
    pub istiod: PathBuf,
    pub gateway: PathBuf,
}

/// Makes sure everything `row` needs is in the cache, fetching what is missing.
pub async fn ensure(
    opts: &FetchOptions,
    pins: &Pins,
    row: &IstioRow,
) -> Result<Toolbox, ToolsError> {
    let artifacts = artifact::for_row(pins, row, opts.platform)?;
    let dirs = fetch(opts, &artifacts.all()).await?;
    Ok(toolbox(&artifacts, &dirs))
}

/// [`ensure`] for every row of the matrix, fetching shared artifacts once.
pub async fn ensure_all(
    opts: &FetchOptions,
    pins: &Pins,
) -> Result<Vec<(IstioVersion, Toolbox)>, ToolsError> {
    let rows = pins
        .matrix()
        .map(|row| artifact::for_row(pins, row, opts.platform).map(|a| (row.version.clone(), a)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut unique: BTreeMap<String, &Artifact> = BTreeMap::new();
    for (_, a) in &rows {
        for artifact in a.all() {
            unique.entry(artifact.key()).or_insert(artifact);
        }
    }
    let list: Vec<&Artifact> = unique.values().copied().collect();
    let dirs = fetch(opts, &list).await?;
    let by_key: BTreeMap<String, PathBuf> = list.iter().map(|a| a.key()).zip(dirs).collect();
    Ok(rows
        .into_iter()
        .map(|(v, a)| {
            let dirs: Vec<PathBuf> = a.all().iter().map(|x| by_key[&x.key()].clone()).collect();
            let tb = toolbox(&a, &dirs);
            (v, tb)
        })
        .collect())
}

fn toolbox(a: &artifact::RowArtifacts, dirs: &[PathBuf]) -> Toolbox {
    let [kind, helm, istio, metallb] = dirs else {
        unreachable!("one install dir per artifact of the row")
    };
    let raw_name = |a: &Artifact| match &a.unpack {
        Unpack::Raw { name, .. } => name.clone(),
        Unpack::TarGz { .. } => unreachable!("kind and the MetalLB manifest are single files"),
    };
    Toolbox {
        kind: kind.join(raw_name(&a.kind)),
        helm: helm.join("helm"),
        istioctl: istio.join("istioctl"),
        charts: IstioCharts {
            base: istio.join("charts/base"),
            istiod: istio.join("charts/istio-discovery"),
            gateway: istio.join("charts/gateway"),
        },
        metallb_manifest: metallb.join(raw_name(&a.metallb)),
    }
}

/// Installs each artifact (a cache hit makes no request) and returns its install
/// directory, in order.
pub async fn fetch(
    opts: &FetchOptions,
    artifacts: &[&Artifact],
) -> Result<Vec<PathBuf>, ToolsError> {
    if opts.locked {
        let unrecorded: Vec<String> = artifacts
            .iter()
            .filter(|a| a.recorded().is_none())
            .map(|a| a.to_string())
            .collect();
        if !unrecorded.is_empty() {
            return Err(ToolsError::Unrecorded {
                artifacts: unrecorded,
            });
        }
    }
    let cache = Cache::new(&opts.cache_dir)?;
    cache.clean_staging();
    if let Some(_pins) = cache.lock_pins_if_free(&opts.pins_file) {
        crate::pins::remove_stale_temps(&opts.pins_file);
    }
    let mut found = Vec::with_capacity(artifacts.len());
    for a in artifacts {
        found.push(match a.recorded() {
            Some(sha) => cache.lookup(a, sha, opts.verify)?,
            None => Lookup::Missing,
        });
    }
    if opts.offline {
        return offline(opts, &cache, artifacts, found).await;
    }
    let mut http = None;
    let mut dirs = Vec::with_capacity(artifacts.len());
    for (a, found) in artifacts.iter().zip(found) {
        let dir = match found {
            Lookup::Installed(dir) => dir,
            Lookup::Missing | Lookup::Damaged { .. } => {
                if let Lookup::Damaged { dir, reason } = &found {
                    tracing::warn!(
                        "{a}: the cached install {} is damaged: {reason}; removing it and fetching it again",
                        dir.display()
                    );
                }
                let http = match &mut http {
                    Some(h) => h,
                    None => http.insert(Http::new(opts.http, opts.progress)?),
                };
                fetch_one(opts, &cache, http, a).await?
            }
        };
        dirs.push(dir);
    }
    Ok(dirs)
}

/// The install directories, if every artifact is installed; else the list of what is
/// missing. A damaged install is removed, so no later run takes it for a good one.
async fn offline(
    opts: &FetchOptions,
    cache: &Cache,
    artifacts: &[&Artifact],
    found: Vec<Lookup>,
) -> Result<Vec<PathBuf>, ToolsError> {
    let mut dirs = Vec::with_capacity(artifacts.len());
    let mut missing = Vec::new();
    for (a, found) in artifacts.iter().zip(found) {
        match (found, a.recorded()) {
            (Lookup::Installed(dir), _) => dirs.push(dir),
            (Lookup::Damaged { .. }, Some(sha)) => {
                let lock = cache.lock(a).await?;
                // Another run may have repaired it while we waited.
                match cache.lookup(a, sha, opts.verify)? {
                    Lookup::Installed(dir) => dirs.push(dir),
                    Lookup::Missing => missing.push(format!("{a} sha256 {sha}")),
                    Lookup::Damaged { dir, reason } => {
                        cache.remove(a, &dir, &lock)?;
                        missing.push(format!(
                            "{a} sha256 {sha} (the cached copy was damaged: {reason}; it was removed)"
                        ));
                    }
                }
            }
            (_, Some(sha)) => missing.push(format!("{a} sha256 {sha}")),
            (_, None) => missing.push(format!(
                "{a} (its sha256 is not recorded in {}, so no cached copy can be trusted)",
                crate::pins::FILE_NAME
            )),
        }
    }
    if missing.is_empty() {
        Ok(dirs)
    } else {
        Err(ToolsError::Offline {
            cache_dir: cache.root().to_owned(),
            missing,
        })
    }
}

/// Downloads, verifies and installs one artifact, under its lock.
async fn fetch_one(
    opts: &FetchOptions,
    cache: &Cache,
    http: &Http,
    a: &Artifact,
) -> Result<PathBuf, ToolsError> {
    let label = a.to_string();
    let lock = cache.lock(a).await?;
    let (expected, record) = match &a.checksum {
        Checksum::Recorded(sha) => (*sha, None),
        Checksum::Upstream { file_url, slot } => {
            let url = opts.source(file_url);
            let text = http.text(&label, &url).await?;
            let sha = checksum_file::parse(&text.body, a.file_name()).map_err(|reason| {
                ToolsError::BadChecksumFile {
                    artifact: label.clone(),
                    url: text.described.clone(),
                    reason,
                }
            })?;
            (sha, Some((slot, text.url)))
        }
    };
    let expected_from = match &record {
        None => ExpectedFrom::Pins,
        Some((_, url)) => ExpectedFrom::ChecksumFile(Box::new(url.clone())),
    };
    // Another run may have installed it while we waited for the lock.
    let dir = match cache.lookup(a, expected, opts.verify)? {
        Lookup::Installed(dir) => dir,
        found => {
            if let Lookup::Damaged { dir, .. } = &found {
                cache.remove(a, dir, &lock)?;
            }
            install(opts, cache, http, a, (expected, expected_from), &lock).await?
        }
    };
    if let Some((slot, from)) = record {
        let _pins = cache.lock_pins(&opts.pins_file).await?;
        if crate::pins::record_checksum(&opts.pins_file, slot, expected)? {
            tracing::warn!(
                "{label}: recorded sha256 {expected} in {} (from {from}; the installed copy matches it); commit this change",
                opts.pins_file.display()
            );
        }
    }
    Ok(dir)
}

/// Downloads `a` into a staging directory, checks it against `expected`, unpacks it and
/// commits the install with its marker.
async fn install(
    opts: &FetchOptions,
    cache: &Cache,
    http: &Http,
    a: &Artifact,
    (expected, expected_from): (Sha256, ExpectedFrom),
    lock: &fsx::FileLock,
) -> Result<PathBuf, ToolsError> {
    let label = a.to_string();
    let url = opts.source(&a.url);
    let staging = cache.staging(a, lock)?;
    let download = staging.path().join(a.file_name());
    tracing::info!("{label}: fetching {url}");
    let fetched = http.to_file(&label, &url, &download, a.size).await?;
    if fetched.body != expected {
        drop(staging);
        return Err(ToolsError::ChecksumMismatch {
            artifact: label,
            url: fetched.described,
            expected,
            actual: fetched.body,
            expected_from,
        });
    }
    let staged = staging.path().join("install");
    std::fs::create_dir(&staged).map_err(ToolsError::io("create", &staged))?;
    // Extraction, hashing for the marker and syncing are blocking work.
    let (cache, artifact) = (cache.clone(), a.clone());
    let dir = blocking("installing", move || {
        let contents = match &artifact.unpack {
            Unpack::Raw { name, executable } => {
                let to = staged.join(name);
                std::fs::rename(&download, &to)
                    .map_err(ToolsError::io("move the download to", &to))?;
                let mode = if *executable { 0o755 } else { 0o644 };
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))
                    .map_err(ToolsError::io("set permissions of", &to))?;
                Contents::single(&staged, name, expected)?
            }
            Unpack::TarGz { picks, limits } => {
                extract::extract_tar_gz(&label, &download, &staged, picks, *limits)?;
                std::fs::remove_file(&download).map_err(ToolsError::io("remove", &download))?;
                Contents::scan(&staged)?
            }
        };
        cache.commit(&staged, &artifact, expected, contents)
    })
    .await?;
    drop(staging);
    Ok(dir)
}

/// Runs `job` on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    job: impl FnOnce() -> Result<T, ToolsError> + Send + 'static,
) -> Result<T, ToolsError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|source| ToolsError::Task { what, source })?
}
