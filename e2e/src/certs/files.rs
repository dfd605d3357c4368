//! The modes of the CA files and the lock that serialises runs on one output directory;
//! the writing itself is [`crate::fsx`]'s.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::CertsError;
use crate::fsx::{self, FileLock};

/// Private keys: owner read/write only.
pub const KEY_MODE: u32 = 0o600;
/// Certificates are public.
pub const CERT_MODE: u32 = 0o644;
/// Directories we create: owner only, so key names are not listed to others either.
pub const DIR_MODE: u32 = 0o700;

/// The lock file that serialises runs on one output directory.
pub const LOCK_FILE: &str = ".certs.lock";

/// Takes an exclusive lock on `dir` (waiting for another run to finish); released when the
/// returned lock is dropped.
pub(crate) fn lock_dir(dir: &Path) -> Result<FileLock, CertsError> {
    let lock = fsx::lock(&dir.join(LOCK_FILE), || {
        tracing::info!(
            "{}: another run holds it; waiting for it to finish",
            dir.display()
        );
    })?;
    Ok(lock)
}

/// The permission bits of `path` (not the file type).
fn mode_of(path: &Path) -> Result<u32, CertsError> {
    let meta = std::fs::metadata(path).map_err(CertsError::io("read the mode of", path))?;
    Ok(meta.permissions().mode() & 0o7777)
}

/// A private key is refused, not used, when its group or others have any access: ssh
/// refuses its own keys the same way (`st_mode & 077`, `sshkey_perm_ok` in
/// openssh/openssh-portable:authfile.c). Reading it would bless a key that may already be
/// copied.
pub(crate) fn check_key_mode(path: &Path) -> Result<(), CertsError> {
    let mode = mode_of(path)?;
    if mode & 0o077 == 0 {
        Ok(())
    } else {
        Err(CertsError::KeyOpenToOthers {
            path: path.to_owned(),
            mode,
        })
    }
}

/// Something worth telling the user that does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The output directory existed with access for group or others: its keys are 0600,
    /// but others can list what is there (and, with write access, replace it).
    OpenDir { path: PathBuf, mode: u32 },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::OpenDir { path, mode } => write!(
                f,
                "{} is open to other users (mode {mode:o}): the keys in it are 0600, but others can \
                 list it{}; to keep it to yourself: chmod 700 {}",
                path.display(),
                if mode & 0o022 != 0 {
                    " and replace what is in it"
                } else {
                    ""
                },
                path.display()
            ),
        }
    }
}

/// The warning for an output directory that group or others can enter, if it is one.
pub(crate) fn open_dir_warning(dir: &Path) -> Result<Option<Warning>, CertsError> {
    let mode = mode_of(dir)?;
    Ok((mode & 0o077 != 0).then(|| Warning::OpenDir {
        path: dir.to_owned(),
        mode,
    }))
}
