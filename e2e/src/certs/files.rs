//! Writing CA files so that no key is ever readable by others and no file is ever half
//! written: temp file in the same directory, mode set before any byte is written, rename.

use std::fs::{DirBuilder, File, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::CertsError;

/// Private keys: owner read/write only.
pub const KEY_MODE: u32 = 0o600;
/// Certificates are public.
pub const CERT_MODE: u32 = 0o644;
/// Directories we create: owner only, so key names are not listed to others either.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents with mode 0700; an existing directory keeps its
/// mode (it may be shared, e.g. `--out /tmp/x`'s parent).
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), CertsError> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(CertsError::io("create directory", dir))
}

/// The lock file that serialises runs on one output directory.
pub const LOCK_FILE: &str = ".certs.lock";

/// Takes an exclusive lock on `dir` (waiting for another run to finish); released when the
/// returned file is dropped.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, CertsError> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(CertsError::io("open lock file", &path))?;
    file.lock().map_err(CertsError::io("lock", &path))?;
    Ok(file)
}

/// Writes `contents` to `path` atomically with `mode`. The temp file is created 0600 by
/// `tempfile`, so a key is never readable by others, even for a moment.
pub(crate) fn write_atomic(path: &Path, contents: &str, mode: u32) -> Result<(), CertsError> {
    let dir = path.parent().expect("CA files live in a directory");
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(CertsError::io("create a temp file in", dir))?;
    let written = (|| {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))?;
        tmp.write_all(contents.as_bytes())?;
        tmp.as_file().sync_all()
    })();
    written.map_err(CertsError::io("write", tmp.path()))?;
    tmp.persist(path).map_err(|e| CertsError::Io {
        action: "rename into place",
        path: path.to_owned(),
        source: e.error,
    })?;
    sync_dir(dir)
}

/// A directory filled under a temp name, then moved into place in one rename, so a cluster's
/// four files appear together or not at all.
pub(crate) struct StagedDir {
    tmp: tempfile::TempDir,
}

impl StagedDir {
    /// A new 0700 temp directory beside `target`.
    pub(crate) fn beside(target: &Path) -> Result<Self, CertsError> {
        let parent = target.parent().expect("a cluster directory has a parent");
        let name = target
            .file_name()
            .expect("a cluster directory has a name")
            .to_string_lossy();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.new-"))
            .permissions(Permissions::from_mode(DIR_MODE))
            .tempdir_in(parent)
            .map_err(CertsError::io("create a temp directory in", parent))?;
        Ok(Self { tmp })
    }

    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.tmp.path().join(file)
    }

    /// Moves the directory to `target`, replacing what was there (the old directory is
    /// moved aside first, then deleted).
    pub(crate) fn commit(self, target: &Path) -> Result<(), CertsError> {
        let parent = target.parent().expect("a cluster directory has a parent");
        let old = if target.exists() {
            let aside = tempfile::Builder::new()
                .prefix(".old-")
                .tempdir_in(parent)
                .map_err(CertsError::io("create a temp directory in", parent))?;
            let moved = aside.path().join("previous");
            std::fs::rename(target, &moved).map_err(CertsError::io("move aside", target))?;
            Some(aside)
        } else {
            None
        };
        let staged = self.tmp.keep();
        if let Err(source) = std::fs::rename(&staged, target) {
            // Put the previous directory back rather than lose it with the temp dir.
            if let Some(aside) = &old {
                let _ = std::fs::rename(aside.path().join("previous"), target);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(CertsError::Io {
                action: "move into place",
                path: target.to_owned(),
                source,
            });
        }
        drop(old);
        sync_dir(parent)
    }
}

/// Makes a rename durable.
fn sync_dir(dir: &Path) -> Result<(), CertsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(CertsError::io("sync directory", dir))
}
