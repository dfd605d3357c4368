//! The shared download cache: `<root>/<tool>/<version>/<sha256>/` holds one verified
//! install. An install appears only by renaming a finished staging directory into place,
//! so a directory that exists is complete; a lock file per artifact makes concurrent runs
//! take turns, so one downloads and the others reuse its install.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::artifact::Artifact;
use super::error::ToolsError;
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

    /// The finished install of `artifact` with content `sha`, if there is one.
    pub(crate) fn installed(&self, artifact: &Artifact, sha: Sha256) -> Option<PathBuf> {
        let dir = self.install_dir(artifact, sha);
        dir.is_dir().then_some(dir)
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
        let absolute = std::path::absolute(pins_file).unwrap_or_else(|_| pins_file.to_owned());
        let digest = sha2::Sha256::digest(absolute.as_os_str().as_encoded_bytes());
        let name = format!("pins-{}", hex::encode(&digest[..8]));
        self.lock_named(&name, &pins_file.display().to_string())
            .await
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

    /// Moves a finished install into place.
    pub(crate) fn commit(
        &self,
        staged: &Path,
        artifact: &Artifact,
        sha: Sha256,
    ) -> Result<PathBuf, ToolsError> {
        let target = self.install_dir(artifact, sha);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(ToolsError::io("create", parent))?;
        }
        fsx::replace_dir(staged, &target)?;
        Ok(target)
    }
}
