//! Writing rendered files: all or nothing, secrets 0600 in owner-only directories.
//!
//! The whole tree is written into a staging directory beside the target and swapped in,
//! so a failure leaves the previous output untouched and no half-written file behind.

use std::fs;
use std::path::{Path, PathBuf};

use super::RenderedCluster;
use crate::error::ErrorKind;
use crate::fsx::{self, FsError, StagedDir};

/// Marks a directory as ours: only such a directory is ever replaced.
pub const MARKER_FILE: &str = ".rendered-by-cargo-xtask";

/// Every cluster's folder holds its `cacerts` (an intermediate CA key) and its peers'
/// remote secrets (tokens), so the folders and the output directory are owner-only, as
/// the certificates directory is; files holding key material or credentials are 0600.
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o644;
const SECRET_MODE: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "{} exists, is not empty and was not written by `cargo xtask render`; refusing to replace it",
        .0.display()
    )]
    NotOurs(PathBuf),
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(transparent)]
    Fs(#[from] FsError),
}

impl WriteError {
    /// A wrong output directory is the user's to change; a failing disk is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WriteError::NotOurs(_) | WriteError::NotADirectory(_) => ErrorKind::BadInput,
            WriteError::Fs(_) => ErrorKind::Failed,
        }
    }
}

/// Writes `<out>/<cluster>/<file>` for every cluster, replacing an earlier render.
pub fn write_rendered(out: &Path, clusters: &[RenderedCluster]) -> Result<(), WriteError> {
    if let Some(file) = fsx::file_in_the_way(out) {
        return Err(WriteError::NotADirectory(file));
    }
    if out.exists() {
        let empty = fs::read_dir(out)
            .map_err(FsError::during("list", out))?
            .next()
            .is_none();
        if !empty && !out.join(MARKER_FILE).is_file() {
            return Err(WriteError::NotOurs(out.to_owned()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fsx::create_private_dir(&parent)?;
    let staged = StagedDir::beside(out, DIR_MODE)?;
    fsx::write_atomic(
        &staged.path().join(MARKER_FILE),
        b"written by `cargo xtask render`; replaced on every render\n",
        FILE_MODE,
    )?;
    for cluster in clusters {
        let dir = staged.path().join(cluster.cluster().as_str());
        fsx::create_dir(&dir, DIR_MODE)?;
        for item in cluster.items() {
            let key = item.key();
            let mode = if key.is_secret() {
                SECRET_MODE
            } else {
                FILE_MODE
            };
            fsx::write_atomic(&dir.join(key.file_name()), item.to_yaml().as_bytes(), mode)?;
        }
    }
    Ok(staged.commit(out)?)
}
