//! The modes of the CA files and the lock that serialises runs on one output directory;
//! the writing itself is [`crate::fsx`]'s.

use std::path::Path;

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
