//! Why the pins cannot be used, named by file, line, column and key.

use std::fmt;
use std::path::{Path, PathBuf};

use super::IstioVersion;
use crate::error::ErrorKind;

/// An Istio version with no row in the pins file.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "Istio {asked} has no row in {}; known versions: {}. Pick one of those, or add a row for {asked}",
    pins_file.display(),
    display_list(known)
)]
pub struct UnknownIstioVersion {
    /// The pins file that was searched.
    pub pins_file: PathBuf,
    pub asked: IstioVersion,
    pub known: Vec<IstioVersion>,
}

impl UnknownIstioVersion {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }
}

pub(super) fn display_list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why the pins file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem at a place in the file.
    #[error("{}:{line}:{column}: {}{message}", path.display(), key.as_deref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The key on the offending line, when the line has one.
        key: Option<String>,
        message: String,
    },
}

impl PinsError {
    /// Both are the user's: the pins file is theirs to fix or to put back.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PinsError::Read { .. } | PinsError::Invalid { .. } => ErrorKind::BadInput,
        }
    }

    pub(super) fn at(path: &Path, text: &str, offset: usize, message: String) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        let line_text = text[line_start..].lines().next().unwrap_or("");
        PinsError::Invalid {
            path: path.to_owned(),
            line,
            column,
            key: key_of_line(line_text),
            message,
        }
    }
}

/// The key of a `key = value` or `[table]` line, if it has one.
fn key_of_line(line: &str) -> Option<String> {
    let line = line.trim();
    if let Some(header) = line.strip_prefix('[') {
        return Some(
            header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned(),
        );
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_owned())
}
