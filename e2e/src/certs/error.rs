//! Why a set of CA files cannot be used, naming the file and the fix.

use std::fmt;
use std::path::PathBuf;

use crate::error::ErrorKind;

/// What the user can do about a CA file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The shared root: restore the pair, or regenerate everything (which breaks trust with
    /// clusters already running on the old root).
    Root,
    /// One cluster's intermediate, in this directory: delete it to have it issued again.
    Cluster(PathBuf),
    /// A root key whose certificate is lost before anything was issued from it: remove this
    /// file to have a new root made (no certificate can be made again for an existing key).
    Remove(PathBuf),
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::Root => f.write_str(
                "fix: restore the matching root-cert.pem and root-key.pem, or regenerate everything \
                 (clusters already running then need the new cacerts Secret and an istiod restart)",
            ),
            Fix::Cluster(dir) => write!(
                f,
                "fix: delete {} to have this cluster's intermediate issued again from the root, \
                 or regenerate everything",
                dir.display()
            ),
            Fix::Remove(path) => write!(
                f,
                "fix: remove {} to have a new root made (nothing was issued from this key yet), \
                 or restore the matching root-cert.pem",
                path.display()
            ),
        }
    }
}

/// A CA file that cannot be read, parsed or trusted, or a certificate that cannot be made.
///
/// Every message names the file; the variants about file contents also carry the fix.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// The cause is the `source`, printed after this message by whoever reports it.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "{} is a private key open to other users (mode {mode:03o}); a CA key must be its owner's alone, as ssh demands of its keys; fix: chmod 600 {}",
        path.display(),
        path.display()
    )]
    KeyOpenToOthers { path: PathBuf, mode: u32 },
    #[error(
        "{} is missing: a run making the root was cut short, and {} holds its certificate; making the certificates again puts it in place",
        cert.display(),
        orphan.display()
    )]
    RootUnfinished { cert: PathBuf, orphan: PathBuf },
    #[error("{} is not {expected}: {detail}; {fix}", path.display())]
    Garbled {
        path: PathBuf,
        expected: &'static str,
        detail: String,
        fix: Fix,
    },
    #[error("{} does not exist: the certificates have not been made yet", path.display())]
    NotGenerated { path: PathBuf },
    #[error("{} is missing but {} exists (a half-written or half-deleted set); {fix}", path.display(), present.display())]
    Missing {
        path: PathBuf,
        present: PathBuf,
        fix: Fix,
    },
    #[error("{} is not the key of {}: their public keys differ; {fix}", key.display(), cert.display())]
    KeyMismatch {
        key: PathBuf,
        cert: PathBuf,
        fix: Fix,
    },
    #[error("{} is not signed by the root {}: {detail}; {fix}", cert.display(), root.display())]
    NotSignedByRoot {
        cert: PathBuf,
        root: PathBuf,
        detail: String,
        fix: Fix,
    },
    #[error("{} expired on {not_after}; {fix}", path.display())]
    Expired {
        path: PathBuf,
        not_after: String,
        fix: Fix,
    },
    #[error("{} is not valid before {not_before} (is the system clock right?); {fix}", path.display())]
    NotYetValid {
        path: PathBuf,
        not_before: String,
        fix: Fix,
    },
    #[error("{} is not a CA certificate (basicConstraints CA:true is missing); {fix}", path.display())]
    NotCa { path: PathBuf, fix: Fix },
    #[error("{} does not match {}: {what}; {fix}", path.display(), expected.display())]
    CopyMismatch {
        path: PathBuf,
        expected: PathBuf,
        what: &'static str,
        fix: Fix,
    },
    #[error("cannot generate the {what}")]
    Generate {
        what: &'static str,
        source: rcgen::Error,
    },
}

impl From<crate::fsx::FsError> for CertsError {
    fn from(e: crate::fsx::FsError) -> Self {
        CertsError::Io {
            action: e.action,
            path: e.path,
            source: e.source,
        }
    }
}

impl CertsError {
    /// The files on disk are the user's to fix; I/O and the crypto library failing are not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CertsError::Io { .. } | CertsError::Generate { .. } => ErrorKind::Failed,
            CertsError::Garbled { .. }
            | CertsError::NotADirectory(_)
            | CertsError::KeyOpenToOthers { .. }
            | CertsError::RootUnfinished { .. }
            | CertsError::NotGenerated { .. }
            | CertsError::Missing { .. }
            | CertsError::KeyMismatch { .. }
            | CertsError::NotSignedByRoot { .. }
            | CertsError::Expired { .. }
            | CertsError::NotYetValid { .. }
            | CertsError::NotCa { .. }
            | CertsError::CopyMismatch { .. } => ErrorKind::BadInput,
        }
    }

    /// What the user can do about the files, when the files are the problem.
    pub fn fix(&self) -> Option<&Fix> {
        match self {
            CertsError::Garbled { fix, .. }
            | CertsError::Missing { fix, .. }
            | CertsError::KeyMismatch { fix, .. }
            | CertsError::NotSignedByRoot { fix, .. }
            | CertsError::Expired { fix, .. }
            | CertsError::NotYetValid { fix, .. }
            | CertsError::NotCa { fix, .. }
            | CertsError::CopyMismatch { fix, .. } => Some(fix),
            CertsError::Io { .. }
            | CertsError::Generate { .. }
            | CertsError::NotADirectory(_)
            | CertsError::KeyOpenToOthers { .. }
            | CertsError::RootUnfinished { .. }
            | CertsError::NotGenerated { .. } => None,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| CertsError::Io {
            action,
            path,
            source,
        }
    }
}
