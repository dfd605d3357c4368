//! The shared download cache: `<root>/<tool>/<version>/<sha256>/` holds one verified
//! install. An install is made in a staging directory, synced, given its completion marker
//! (`marker.rs`) and renamed into place; a directory counts as installed only if its
//! marker says so and the files it lists are there (every hit checks this; `verify`
//! re-hashes them). A damaged install is removed and fetched again. A symbolic link in
//! place of an install directory is refused: the cache trusts only what it made. A lock
//! file per artifact makes concurrent runs take turns, so one downloads and the others
//! reuse its install; staging left by a run that died is removed by the next run.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::artifact::{Artifact, Unpack};
use super::error::ToolsError;
use super::marker::{Contents, Marker};
use crate::fsx::{self, FileLock};
use crate::pins::Sha256;

/// Staging directories for downloads in progress, on the cache's filesystem so the final
/// rename is atomic.
const STAGING: &str = ".tmp";
const LOCKS: &str = ".locks";

#[derive(Debug, Clone)]
pub(crate) struct Cache {
    root: PathBuf,
}

impl Cache {
    pub(crate) fn new(root: &Path) -> Result<Self, ToolsError> {
        let root = std::path::absolute(root)
            .map_err(ToolsError::io("resolve the cache directory", root))?;
        Ok(Self { root })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where `artifact` with content `sha` is (or will be) installed.
    pub(crate) fn install_dir(&self, artifact: &Artifact, sha: Sha256) -> PathBuf {
        self.root
            .join(artifact.tool.name())
            .join(&artifact.version)
            .join(sha.to_string())
    }

    /// What the cache holds for `artifact` with content `sha`: checked cheaply (the
    /// marker, and each file's presence, size and mode), or fully with `verify` (every
    /// file re-hashed, nothing unlisted).
    pub(crate) fn lookup(
        &self,
        artifact: &Artifact,
        sha: Sha256,
        verify: bool,
    ) -> Result<Lookup, ToolsError> {
        let dir = self.install_dir(artifact, sha);
        let meta = match fs::symlink_metadata(&dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lookup::Missing),
            Err(e) => return Err(ToolsError::io("read", &dir)(e)),
        };
        if meta.file_type().is_symlink() {
            return Err(ToolsError::SymlinkedInstall { path: dir });
        }
        if !meta.is_dir() {
            let reason = "it is not a directory".to_owned();
            return Ok(Lookup::Damaged { dir, reason });
        }
        let needed = needed(artifact);
        let needed: Vec<&str> = needed.iter().map(String::as_str).collect();
        let checked = Marker::read(&dir).and_then(|marker| {
            marker.check(&dir, &artifact.key(), sha, &needed)?;
            if verify { marker.verify(&dir) } else { Ok(()) }
        });
        Ok(match checked {
            Ok(()) => Lookup::Installed(dir),
            Err(reason) => Lookup::Damaged { dir, reason },
        })
    }

    /// Removes a damaged install: renamed into the staging area first, so its path is free
    /// at once even if removing the files fails (the next run's clean-up retries that).
    pub(crate) fn remove(
        &self,
        artifact: &Artifact,
        dir: &Path,
        _lock: &FileLock,
    ) -> Result<(), ToolsError> {
        let staging = self.root.join(STAGING);
        fs::create_dir_all(&staging).map_err(ToolsError::io("create", &staging))?;
        let aside = tempfile::Builder::new()
            .prefix(&format!("{}-", artifact.key()))
            .tempdir_in(&staging)
            .map_err(ToolsError::io("create a staging directory in", &staging))?;
        fs::rename(dir, aside.path().join("damaged")).map_err(ToolsError::io("remove", dir))?;
        Ok(())
    }

    /// Removes every staging directory whose owner is gone: a run holds its artifact's lock
    /// for as long as its staging directory exists, so a free lock means a run that died.
    /// Never waits; a directory whose lock is held is left to its owner.
    pub(crate) fn clean_staging(&self) {
        let staging = self.root.join(STAGING);
        let Ok(entries) = fs::read_dir(&staging) else {
            return;
        };
        let locks = self.root.join(LOCKS);
        let owners: Vec<String> = fs::read_dir(&locks)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        name.strip_suffix(".lock").map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // `<key>-<random>`; keys can contain `-`, so the owner is the longest key that
            // prefixes the name.
            let owner = owners
                .iter()
                .filter(|key| name.starts_with(&format!("{key}-")))
                .max_by_key(|key| key.len());
            let lock = match owner {
                Some(key) => match fsx::lock_if_free(&locks.join(format!("{key}.lock"))) {
                    Ok(Some(lock)) => Some(lock),
                    Ok(None) | Err(_) => continue,
                },
                // Every run takes its lock before it stages; no lock file, no owner.
                None => None,
            };
            if let Err(e) = fs::remove_dir_all(entry.path()) {
                tracing::debug!("cannot remove {}: {e}", entry.path().display());
            }
            drop(lock);
        }
    }

    /// Waits for the artifact's lock (another run may hold it while downloading). Locks
    /// live under `.locks/` and die with their process, so a killed run never blocks the
    /// next one.
    pub(crate) async fn lock(&self, artifact: &Artifact) -> Result<FileLock, ToolsError> {
        self.lock_named(&artifact.key(), &artifact.to_string())
            .await
    }

    /// Waits for the lock that serialises writes to the pins file at `pins_file`, so two
    /// runs recording different checksums at once do not lose one.
    pub(crate) async fn lock_pins(&self, pins_file: &Path) -> Result<FileLock, ToolsError> {
        self.lock_named(&pins_lock_name(pins_file), &pins_file.display().to_string())
            .await
    }

    /// The pins file's lock if no one holds it (for tidying up, which never waits).
    pub(crate) fn lock_pins_if_free(&self, pins_file: &Path) -> Option<FileLock> {
        let dir = self.root.join(LOCKS);
        fs::create_dir_all(&dir).ok()?;
        fsx::lock_if_free(&dir.join(format!("{}.lock", pins_lock_name(pins_file))))
            .ok()
            .flatten()
    }

    async fn lock_named(&self, name: &str, what: &str) -> Result<FileLock, ToolsError> {
        let dir = self.root.join(LOCKS);
        fs::create_dir_all(&dir).map_err(ToolsError::io("create", &dir))?;
        let lock = fsx::lock_async(&dir.join(format!("{name}.lock")), || {
            tracing::info!("{what}: another run holds it; waiting for it to finish");
        })
        .await?;
        Ok(lock)
    }

    /// A fresh staging directory for `artifact`, removed when dropped. Call with the
    /// artifact's lock held: staging left behind by a run that died is removed first.
    pub(crate) fn staging(
        &self,
        artifact: &Artifact,
        _lock: &FileLock,
    ) -> Result<tempfile::TempDir, ToolsError> {
        let dir = self.root.join(STAGING);
        fs::create_dir_all(&dir).map_err(ToolsError::io("create", &dir))?;
        let prefix = format!("{}-", artifact.key());
        if let Ok(entries) = fs::read_dir(&dir) {
            for stale in entries.flatten() {
                if stale.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = fs::remove_dir_all(stale.path());
                }
            }
        }
        tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&dir)
            .map_err(ToolsError::io("create a staging directory in", &dir))
    }

    /// Gives a finished install its completion marker (syncing every file first) and moves
    /// it into place, replacing a damaged one.
    pub(crate) fn commit(
        &self,
        staged: &Path,
        artifact: &Artifact,
        sha: Sha256,
        contents: Contents,
    ) -> Result<PathBuf, ToolsError> {
        Marker::new(&artifact.key(), sha, contents).write(staged)?;
        let target = self.install_dir(artifact, sha);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(ToolsError::io("create", parent))?;
        }
        fsx::replace_dir(staged, &target)?;
        Ok(target)
    }
}

/// The lock of the pins file at `path`, named after the file it resolves to, so that a
/// link and its target share one.
fn pins_lock_name(path: &Path) -> String {
    let resolved = fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_owned());
    let digest = sha2::Sha256::digest(resolved.as_os_str().as_encoded_bytes());
    format!("pins-{}", hex::encode(&digest[..8]))
}

/// What the cache holds for one artifact.
#[derive(Debug)]
pub(crate) enum Lookup {
    Installed(PathBuf),
    Missing,
    /// A directory that is not a complete install, and why.
    Damaged {
        dir: PathBuf,
        reason: String,
    },
}

/// The paths the rest of the framework uses from an install, which its marker must list.
fn needed(artifact: &Artifact) -> Vec<String> {
    match &artifact.unpack {
        Unpack::Raw { name, .. } => vec![name.clone()],
        Unpack::TarGz { picks, .. } => picks.iter().map(|p| p.to.clone()).collect(),
    }
}
