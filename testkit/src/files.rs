//! What a run left on disk.

use std::path::{Path, PathBuf};

/// Entries directly in `dir` (none if it does not exist).
pub fn list(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Every path below `dir`, relative to it, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in list(dir) {
            out.push(e.strip_prefix(root).unwrap().display().to_string());
            if std::fs::symlink_metadata(&e).unwrap().is_dir() {
                walk(root, &e, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
