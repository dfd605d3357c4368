//! Recording a checksum taken from upstream in the pins file, the way Cargo writes
//! `Cargo.lock`: only that slot changes; every comment and the layout stay.
//!
//! The write is a compare-and-set: the run found the slot empty, so a slot that holds
//! another value now was changed by someone else meanwhile, and is left alone. A pins file
//! that is a symbolic link is written through to its target (a checkout may link it); a
//! read-only one is refused, never replaced. The new file is written beside the target
//! under a temp name (`.<name>.tmp-<random>`, git-ignored) and renamed over it; temp files
//! a killed run left are removed by the next run.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{FILE_NAME, IstioVersion, Platform, Sha256, ToolVersion};
use crate::error::ErrorKind;
use crate::fsx::{self, FsError};

/// Where in the pins file a checksum lives, for writing one back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumSlot {
    Kind {
        version: ToolVersion,
        platform: Platform,
    },
    Helm {
        platform: Platform,
    },
    Istio {
        version: IstioVersion,
        platform: Platform,
    },
}

impl fmt::Display for ChecksumSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumSlot::Kind { version, platform } => {
                write!(f, "kind.releases.\"{version}\".sha256.{platform}")
            }
            ChecksumSlot::Helm { platform } => write!(f, "helm.sha256.{platform}"),
            ChecksumSlot::Istio { version, platform } => {
                write!(f, "istio[version = \"{version}\"].sha256.{platform}")
            }
        }
    }
}

/// Why a checksum was not written back.
#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    #[error(
        "{}: `{slot}` changed since this run read it: it now records {now}, and this run took {ours} \
         from upstream. Nothing was written; check which value is right",
        path.display()
    )]
    Changed {
        path: PathBuf,
        slot: String,
        now: String,
        ours: Sha256,
    },
    #[error(
        "{} is read-only (mode {mode:o}): the sha256 {ours} taken from upstream for `{slot}` was not recorded",
        path.display()
    )]
    ReadOnly {
        path: PathBuf,
        mode: u32,
        slot: String,
        ours: Sha256,
    },
    #[error("cannot record the checksum in {}: {message}", path.display())]
    Edit { path: PathBuf, message: String },
    #[error(transparent)]
    Fs(#[from] FsError),
}

impl WriteBackError {
    /// The file is the user's: a conflict, a read-only mode or a slot that is gone is
    /// theirs to settle. Only the disk failing is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WriteBackError::Changed { .. }
            | WriteBackError::ReadOnly { .. }
            | WriteBackError::Edit { .. } => ErrorKind::BadInput,
            WriteBackError::Fs(_) => ErrorKind::Failed,
        }
    }
}

/// Records `sha` in `slot` of the pins file at `path`, which this run read with the slot
/// empty; true if it wrote, false if the slot already held `sha`. Call it holding the
/// lock that serialises writers of this file.
pub fn record_checksum(
    path: &Path,
    slot: &ChecksumSlot,
    sha: Sha256,
) -> Result<bool, WriteBackError> {
    // Through a symbolic link to the file itself, so the link stays a link.
    let target = fs::canonicalize(path).map_err(FsError::during("resolve", path))?;
    remove_stale_temps(&target);
    let mode = fs::metadata(&target)
        .map_err(FsError::during("read", &target))?
        .permissions()
        .mode()
        & 0o7777;
    let read_only = || WriteBackError::ReadOnly {
        path: path.to_owned(),
        mode,
        slot: slot.to_string(),
        ours: sha,
    };
    // The mode bit decides even for root, whom the open below would not stop.
    if mode & 0o200 == 0 {
        return Err(read_only());
    }
    match fs::OpenOptions::new().append(true).open(&target) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(read_only()),
        Err(e) => return Err(FsError::during("open", &target)(e).into()),
        Ok(_) => {}
    }
    let text = fs::read_to_string(&target).map_err(FsError::during("read", &target))?;
    let updated = match with_checksum(&text, slot, sha) {
        Ok(Some(updated)) => updated,
        Ok(None) => return Ok(false),
        Err(SlotConflict::Holds(now)) => {
            return Err(WriteBackError::Changed {
                path: path.to_owned(),
                slot: slot.to_string(),
                now,
                ours: sha,
            });
        }
        Err(SlotConflict::Unusable(message)) => {
            return Err(WriteBackError::Edit {
                path: path.to_owned(),
                message,
            });
        }
    };
    fsx::write_atomic_named(&target, updated.as_bytes(), mode, &temp_prefix(&target))?;
    Ok(true)
}

/// Removes the temp files a killed [`record_checksum`] left beside the pins file at
/// `path`. Call it holding the lock that serialises writers of this file, so no live
/// writer's temp file is taken.
pub fn remove_stale_temps(path: &Path) {
    let Ok(target) = fs::canonicalize(path) else {
        return;
    };
    let prefix = temp_prefix(&target);
    let dir = target.parent().unwrap_or(Path::new("."));
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `.versions.toml.tmp-`: the prefix of the temp files beside the pins file (git-ignored).
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map_or_else(|| FILE_NAME.into(), |n| n.to_string_lossy());
    format!(".{name}.tmp-")
}

/// Why `slot` cannot be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotConflict {
    /// It holds this other value.
    Holds(String),
    /// The text does not parse, or has no such slot.
    Unusable(String),
}

/// Returns `text` with the empty `slot` set to `sha`, keeping every comment and the
/// layout; `None` if the slot already holds `sha`.
pub fn with_checksum(
    text: &str,
    slot: &ChecksumSlot,
    sha: Sha256,
) -> Result<Option<String>, SlotConflict> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| SlotConflict::Unusable(e.to_string()))?;
    let missing = || {
        SlotConflict::Unusable(format!(
            "{FILE_NAME} has no `{slot}` to record the checksum in"
        ))
    };
    let table = match slot {
        ChecksumSlot::Kind { version, .. } => doc
            .get_mut("kind")
            .and_then(|k| k.get_mut("releases"))
            .and_then(|r| r.get_mut(version.as_str()))
            .and_then(|r| r.get_mut("sha256")),
        ChecksumSlot::Helm { .. } => doc.get_mut("helm").and_then(|h| h.get_mut("sha256")),
        ChecksumSlot::Istio { version, .. } => doc
            .get_mut("istio")
            .and_then(|i| i.as_array_of_tables_mut())
            .and_then(|rows| {
                rows.iter_mut().find(|row| {
                    row.get("version").and_then(|v| v.as_str()) == Some(&version.to_string())
                })
            })
            .and_then(|row| row.get_mut("sha256")),
    }
    .and_then(|item| item.as_table_like_mut())
    .ok_or_else(missing)?;
    let platform = match slot {
        ChecksumSlot::Kind { platform, .. }
        | ChecksumSlot::Helm { platform }
        | ChecksumSlot::Istio { platform, .. } => platform,
    };
    let key = platform.go_name();
    let ours = sha.to_string();
    match table.get_mut(key) {
        Some(item) => {
            match item.as_value().and_then(|v| v.as_str()) {
                Some("") => {}
                Some(now) if now == ours => return Ok(None),
                Some(now) => return Err(SlotConflict::Holds(now.to_owned())),
                None => return Err(SlotConflict::Holds(item.to_string().trim().to_owned())),
            }
            let decor = item.as_value().map(|v| v.decor().clone());
            let mut value = toml_edit::Value::from(ours);
            if let Some(decor) = decor {
                *value.decor_mut() = decor;
            }
            *item = toml_edit::Item::Value(value);
        }
        None => {
            table.insert(key, toml_edit::value(ours));
        }
    }
    Ok(Some(doc.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temp_files_are_git_ignored() {
        let ignore = include_str!("../../../.gitignore");
        let prefix = temp_prefix(Path::new("/checkout/versions.toml"));
        assert_eq!(prefix, ".versions.toml.tmp-");
        assert!(
            ignore.lines().any(|l| l == format!("{prefix}*")),
            "{prefix}* in .gitignore:\n{ignore}"
        );
    }

    #[test]
    fn a_slot_holding_another_value_is_a_conflict_and_the_same_value_is_nothing_to_do() {
        let slot = ChecksumSlot::Helm {
            platform: "linux-amd64".parse().unwrap(),
        };
        let text = "[helm.sha256]\nlinux-amd64 = \"\" # filled in by tools\n";
        let sha: Sha256 = "ab".repeat(32).parse().unwrap();
        let written = with_checksum(text, &slot, sha).unwrap().unwrap();
        assert_eq!(
            written,
            format!("[helm.sha256]\nlinux-amd64 = \"{sha}\" # filled in by tools\n")
        );
        assert_eq!(with_checksum(&written, &slot, sha), Ok(None));
        let other: Sha256 = "cd".repeat(32).parse().unwrap();
        assert_eq!(
            with_checksum(&written, &slot, other),
            Err(SlotConflict::Holds(sha.to_string()))
        );
        assert!(matches!(
            with_checksum("[helm]\n", &slot, sha),
            Err(SlotConflict::Unusable(m)) if m.contains("helm.sha256.linux-amd64")
        ));
    }
}
