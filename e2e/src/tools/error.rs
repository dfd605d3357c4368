//! Why fetching the tools failed.

use std::path::PathBuf;
use std::time::Duration;

use super::artifact::SizeLimit;
use crate::error::ErrorKind;
use crate::pins::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    #[error("mirror {url} cannot be used: {reason}")]
    BadMirror { url: String, reason: String },

    #[error("{message}")]
    BadPins { message: String },

    #[error(
        "{} records no sha256 for {}, and a locked run takes none from upstream",
        crate::pins::FILE_NAME, .artifacts.join(", ")
    )]
    Unrecorded { artifacts: Vec<String> },

    #[error(
        "not in the cache {}, and an offline run downloads nothing: {}",
        cache_dir.display(), missing.join("; ")
    )]
    Offline {
        cache_dir: PathBuf,
        missing: Vec<String>,
    },

    #[error(
        "{artifact}: {url} answered 404 Not Found; is the version in {} published for this platform?",
        crate::pins::FILE_NAME
    )]
    NotFound { artifact: String, url: String },

    #[error("{artifact}: {url} answered HTTP {status}{}", if *.attempts > 1 { format!(" (after {attempts} attempts)") } else { String::new() })]
    Http {
        artifact: String,
        url: String,
        status: u16,
        attempts: u32,
    },

    #[error("{artifact}: cannot reach {url} ({attempts} attempts)")]
    Unreachable {
        artifact: String,
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    #[error("{artifact}: {url} sent nothing for {}s ({attempts} attempts); the server stalled", stall.as_secs_f32())]
    Stalled {
        artifact: String,
        url: String,
        attempts: u32,
        stall: Duration,
    },

    /// The server announced or sent more than the artifact may have; it was stopped there
    /// and nothing was kept. Not retried.
    #[error("{artifact}: {url} {what}; the limit is {limit}")]
    TooLarge {
        artifact: String,
        url: String,
        /// What the server did: announced a length, or kept sending.
        what: String,
        limit: SizeLimit,
    },

    /// A redirect that breaks the transport rules, a loop, or too long a chain. Not retried:
    /// the server will answer the same way again.
    #[error("{artifact}: {url} redirected to {to}, which is not followed: {reason}")]
    Redirect {
        artifact: String,
        /// The URL that answered with the redirect.
        url: String,
        to: String,
        reason: String,
    },

    /// The download took longer than the deadline allows, all attempts together. Not retried.
    #[error(
        "{artifact}: {url} did not finish within {}s, the download deadline ({attempts} attempt{}); \
         the server is too slow, or the deadline setting too short for this network",
        deadline.as_secs_f32(), if *.attempts == 1 { "" } else { "s" }
    )]
    DeadlineExceeded {
        artifact: String,
        url: String,
        attempts: u32,
        deadline: Duration,
    },

    #[error("{artifact}: the download from {url} broke off ({attempts} attempts)")]
    Interrupted {
        artifact: String,
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    #[error(
        "{artifact}: checksum mismatch for {url}: {}",
        mismatch(expected, actual, expected_from)
    )]
    ChecksumMismatch {
        artifact: String,
        url: String,
        expected: Sha256,
        actual: Sha256,
        expected_from: ExpectedFrom,
    },

    #[error("{artifact}: the checksum file {url} cannot be used: {reason}")]
    BadChecksumFile {
        artifact: String,
        url: String,
        reason: String,
    },

    #[error("{artifact}: refusing the archive: entry `{entry}` {reason}; nothing was installed")]
    UnsafeArchive {
        artifact: String,
        entry: String,
        reason: String,
    },

    #[error(
        "{artifact}: refusing the archive: entry `{entry}` would make {what} more than {limit} bytes when extracted \
         (a limit built into this tool, against archives that inflate without end); nothing was installed"
    )]
    ArchiveTooLarge {
        artifact: String,
        entry: String,
        /// `one file` or `the extracted files together`.
        what: &'static str,
        limit: u64,
    },

    #[error(
        "{artifact}: the archive has no `{path}`; is {} pinning the right release?",
        crate::pins::FILE_NAME
    )]
    MissingInArchive { artifact: String, path: String },

    #[error(
        "{} is a symbolic link; the cache trusts only directories it made itself. Remove the link and run again",
        path.display()
    )]
    SymlinkedInstall { path: PathBuf },

    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A blocking task (extraction, waiting for a lock) panicked or was cancelled.
    #[error("{what} stopped unexpectedly")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },

    #[error("cannot set up the HTTP client")]
    HttpClient(#[source] reqwest::Error),

    #[error(transparent)]
    RecordChecksum(#[from] crate::pins::WriteBackError),
}

/// Where the sha256 a download must match came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedFrom {
    /// Recorded in the pins file.
    Pins,
    /// Read from the upstream checksum file at this URL (trust on first use). Boxed: it
    /// rides in every [`ToolsError`].
    ChecksumFile(Box<reqwest::Url>),
}

fn mismatch(expected: &Sha256, actual: &Sha256, from: &ExpectedFrom) -> String {
    let pins = crate::pins::FILE_NAME;
    match from {
        ExpectedFrom::Pins => format!(
            "expected sha256 {expected} (recorded in {pins}), got {actual}. The download was removed. \
             If {pins} is right, the server or mirror sent another file; if the upstream release changed, check it before updating the pin"
        ),
        ExpectedFrom::ChecksumFile(url) => format!(
            "expected sha256 {expected} from the upstream checksum file {url}, got {actual}. \
             The download was removed and nothing was recorded in {pins}: the artifact and its checksum file disagree, \
             so one of them is not what the upstream published"
        ),
    }
}

impl From<crate::fsx::FsError> for ToolsError {
    fn from(e: crate::fsx::FsError) -> Self {
        ToolsError::Io {
            action: e.action,
            path: e.path,
            source: e.source,
        }
    }
}

impl ToolsError {
    /// The user must change an argument or the pins; everything else is the network, the
    /// server or the disk.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ToolsError::BadMirror { .. }
            | ToolsError::BadPins { .. }
            | ToolsError::Unrecorded { .. }
            | ToolsError::SymlinkedInstall { .. } => ErrorKind::BadInput,
            ToolsError::Offline { .. }
            | ToolsError::NotFound { .. }
            | ToolsError::Http { .. }
            | ToolsError::Unreachable { .. }
            | ToolsError::Stalled { .. }
            | ToolsError::DeadlineExceeded { .. }
            | ToolsError::Interrupted { .. }
            | ToolsError::Redirect { .. }
            | ToolsError::TooLarge { .. }
            | ToolsError::ArchiveTooLarge { .. }
            | ToolsError::ChecksumMismatch { .. }
            | ToolsError::BadChecksumFile { .. }
            | ToolsError::UnsafeArchive { .. }
            | ToolsError::MissingInArchive { .. }
            | ToolsError::Io { .. }
            | ToolsError::Task { .. }
            | ToolsError::HttpClient(_) => ErrorKind::Failed,
            ToolsError::RecordChecksum(e) => e.kind(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ToolsError::Io {
            action,
            path,
            source,
        }
    }
}
