//! The completion marker of an install: `.install.json`, written last, once every file and
//! directory of the install is on disk (synced), listing each file with its size, mode and
//! sha256 and each link with its target. A directory without a valid marker is not an
//! install, whatever it holds.
//!
//! Two checks read it. [`Marker::check`], on every cache hit, is cheap: the marker is for
//! this download, and each listed file is there with its size and mode. [`Marker::verify`]
//! re-reads everything: each file's sha256, and nothing on disk that the marker does not
//! list.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::error::ToolsError;
use crate::fsx;
use crate::pins::Sha256;

pub(crate) const FILE_NAME: &str = ".install.json";
const FORMAT: u32 = 1;

/// A marker is a few kilobytes; a planted one must not make us read gigabytes.
const MARKER_LIMIT: u64 = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Marker {
    format: u32,
    /// The artifact's cache key (`kind-v0.33.0-linux-amd64`).
    artifact: String,
    /// The sha256 of the verified download this install was made from.
    sha256: String,
    #[serde(flatten)]
    contents: Contents,
}

/// What an install directory holds, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Contents {
    files: Vec<FileEntry>,
    links: Vec<LinkEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    /// Relative to the install directory, `/`-separated.
    path: String,
    size: u64,
    /// Permission bits (`0o755` is 493).
    mode: u32,
    sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkEntry {
    path: String,
    target: String,
}

impl Contents {
    /// Walks `dir` (the marker aside) and hashes every file.
    pub(crate) fn scan(dir: &Path) -> Result<Self, ToolsError> {
        let mut contents = Self::default();
        for (rel, path, kind) in walk(dir)? {
            if kind.is_symlink() {
                let target =
                    fs::read_link(&path).map_err(ToolsError::io("read the link", &path))?;
                contents.links.push(LinkEntry {
                    path: rel,
                    target: target.to_string_lossy().into_owned(),
                });
            } else if kind.is_file() {
                let (size, sha256) = hash_file(&path)?;
                contents.files.push(FileEntry {
                    path: rel,
                    size,
                    mode: mode_of(&path)?,
                    sha256: sha256.to_string(),
                });
            } else if !kind.is_dir() {
                return Err(ToolsError::io("install", &path)(io::Error::other(
                    "neither a file, a directory nor a link",
                )));
            }
        }
        Ok(contents)
    }

    /// One file whose sha256 is already known (a download installed as it is).
    pub(crate) fn single(dir: &Path, name: &str, sha256: Sha256) -> Result<Self, ToolsError> {
        let path = dir.join(name);
        let size = fs::metadata(&path)
            .map_err(ToolsError::io("read", &path))?
            .len();
        Ok(Self {
            files: vec![FileEntry {
                path: name.to_owned(),
                size,
                mode: mode_of(&path)?,
                sha256: sha256.to_string(),
            }],
            links: Vec::new(),
        })
    }
}

impl Marker {
    pub(crate) fn new(artifact: &str, sha256: Sha256, contents: Contents) -> Self {
        Self {
            format: FORMAT,
            artifact: artifact.to_owned(),
            sha256: sha256.to_string(),
            contents,
        }
    }

    /// Writes the marker into `dir`, after syncing every file and directory below it, so a
    /// marker on disk means the files it lists are on disk too.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), ToolsError> {
        sync_tree(dir)?;
        let json = serde_json::to_vec_pretty(self).expect("a marker serialises");
        fsx::write_atomic(&dir.join(FILE_NAME), &json, 0o644)?;
        Ok(())
    }

    /// The marker in `dir`, or why there is no usable one.
    pub(crate) fn read(dir: &Path) -> Result<Self, String> {
        let path = dir.join(FILE_NAME);
        let mut text = Vec::new();
        match fs::File::open(&path) {
            Ok(file) => file.take(MARKER_LIMIT).read_to_end(&mut text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!("it has no completion marker ({FILE_NAME})"));
            }
            Err(e) => Err(e),
        }
        .map_err(|e| format!("its completion marker cannot be read ({e})"))?;
        let marker: Self = serde_json::from_slice(&text)
            .map_err(|e| format!("its completion marker is not valid ({e})"))?;
        if marker.format != FORMAT {
            return Err(format!(
                "its completion marker has format {}, not {FORMAT}",
                marker.format
            ));
        }
        Ok(marker)
    }

    /// The cheap check: the marker is for `artifact` with content `sha256`, lists every
    /// path in `needed` (a file, or a directory with something in it), each listed path is
    /// safe, and each listed file is there with its size and mode. Returns why not.
    pub(crate) fn check(
        &self,
        dir: &Path,
        artifact: &str,
        sha256: Sha256,
        needed: &[&str],
    ) -> Result<(), String> {
        if self.artifact != artifact || self.sha256 != sha256.to_string() {
            return Err(format!(
                "its completion marker is for {} with sha256 {}",
                self.artifact, self.sha256
            ));
        }
        let paths = self.contents.files.iter().map(|f| f.path.as_str());
        let all: Vec<&str> = paths
            .chain(self.contents.links.iter().map(|l| l.path.as_str()))
            .collect();
        if let Some(unsafe_path) = all.iter().find(|p| !is_plain_relative(p)) {
            return Err(format!(
                "its completion marker lists `{unsafe_path}`, which is not inside it"
            ));
        }
        for need in needed {
            let inside = format!("{need}/");
            if !all.iter().any(|p| p == need || p.starts_with(&inside)) {
                return Err(format!("its completion marker does not list `{need}`"));
            }
        }
        for f in &self.contents.files {
            let path = dir.join(&f.path);
            match fs::symlink_metadata(&path) {
                Ok(m)
                    if m.is_file()
                        && m.len() == f.size
                        && m.permissions().mode() & 0o777 == f.mode => {}
                Ok(m) if m.is_file() && m.len() != f.size => {
                    return Err(format!(
                        "`{}` has {} bytes, the marker records {}",
                        f.path,
                        m.len(),
                        f.size
                    ));
                }
                Ok(m) if m.is_file() => {
                    return Err(format!(
                        "`{}` has mode {:o}, the marker records {:o}",
                        f.path,
                        m.permissions().mode() & 0o777,
                        f.mode
                    ));
                }
                Ok(_) => return Err(format!("`{}` is not a file", f.path)),
                Err(_) => return Err(format!("`{}` is missing", f.path)),
            }
        }
        for l in &self.contents.links {
            let path = dir.join(&l.path);
            if fs::read_link(&path).ok().as_deref() != Some(Path::new(&l.target)) {
                return Err(format!("`{}` is not the link to `{}`", l.path, l.target));
            }
        }
        Ok(())
    }

    /// The full check: `dir` holds exactly what the marker lists, every file with its
    /// sha256. Returns the first difference.
    pub(crate) fn verify(&self, dir: &Path) -> Result<(), String> {
        let found = Contents::scan(dir).map_err(|e| format!("it cannot be read ({e})"))?;
        let recorded = &self.contents;
        for f in &recorded.files {
            match found.files.iter().find(|g| g.path == f.path) {
                None => return Err(format!("`{}` is missing", f.path)),
                Some(g) if g.sha256 != f.sha256 => {
                    return Err(format!(
                        "`{}` has sha256 {}, the marker records {}",
                        f.path, g.sha256, f.sha256
                    ));
                }
                Some(g) if g != f => {
                    return Err(format!(
                        "`{}` has {} bytes and mode {:o}, the marker records {} and {:o}",
                        f.path, g.size, g.mode, f.size, f.mode
                    ));
                }
                Some(_) => {}
            }
        }
        for l in &recorded.links {
            if !found.links.contains(l) {
                return Err(format!("`{}` is not the link to `{}`", l.path, l.target));
            }
        }
        let listed = |p: &str| {
            recorded.files.iter().any(|f| f.path == p) || recorded.links.iter().any(|l| l.path == p)
        };
        let unlisted = found
            .files
            .iter()
            .map(|f| &f.path)
            .chain(found.links.iter().map(|l| &l.path))
            .find(|p| !listed(p));
        match unlisted {
            Some(extra) => Err(format!("`{extra}` is not listed in its completion marker")),
            None => Ok(()),
        }
    }
}

/// Every entry below `dir` but the marker: its `/`-separated relative path, its path and
/// its type (links not followed), sorted by relative path.
fn walk(dir: &Path) -> Result<Vec<(String, std::path::PathBuf, fs::FileType)>, ToolsError> {
    fn go(
        root: &Path,
        dir: &Path,
        out: &mut Vec<(String, std::path::PathBuf, fs::FileType)>,
    ) -> Result<(), ToolsError> {
        let entries = fs::read_dir(dir).map_err(ToolsError::io("list", dir))?;
        for entry in entries {
            let entry = entry.map_err(ToolsError::io("list", dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(ToolsError::io("read", &path))?;
            let rel = path
                .strip_prefix(root)
                .expect("below the root")
                .to_string_lossy()
                .into_owned();
            if rel == FILE_NAME {
                continue;
            }
            out.push((rel, path.clone(), kind));
            if kind.is_dir() {
                go(root, &path, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Syncs every file and directory below `dir`, and `dir` itself.
fn sync_tree(dir: &Path) -> Result<(), ToolsError> {
    for (_, path, kind) in walk(dir)? {
        if kind.is_file() || kind.is_dir() {
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(ToolsError::io("sync", &path))?;
        }
    }
    fsx::sync_dir(dir)?;
    Ok(())
}

fn hash_file(path: &Path) -> Result<(u64, Sha256), ToolsError> {
    let mut file = fs::File::open(path).map_err(ToolsError::io("open", path))?;
    let mut hasher = sha2::Sha256::new();
    let size = io::copy(&mut file, &mut hasher).map_err(ToolsError::io("read", path))?;
    Ok((size, Sha256(hasher.finalize().into())))
}

fn mode_of(path: &Path) -> Result<u32, ToolsError> {
    Ok(fs::symlink_metadata(path)
        .map_err(ToolsError::io("read", path))?
        .permissions()
        .mode()
        & 0o777)
}

/// Plain relative components only: a planted marker must not send the checks elsewhere.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_inside() {
        assert!(is_plain_relative("charts/base/Chart.yaml"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./a"] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }
}
