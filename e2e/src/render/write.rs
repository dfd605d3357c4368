//! Writing rendered files: all or nothing, secrets 0600.
//!
//! The whole tree is written into a staging directory beside the target and swapped in,
//! so a failure leaves the previous output untouched and no half-written file behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::RenderedCluster;

/// Marks a directory as ours: only such a directory is ever replaced.
pub const MARKER_FILE: &str = ".rendered-by-cargo-xtask";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "{} exists, is not empty and was not written by `cargo xtask render`; refusing to replace it: pass an empty or new --out directory",
        .0.display()
    )]
    NotOurs(PathBuf),
    #[error("{} is not a directory; pass a directory as --out", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `<out>/<cluster>/<file>` for every cluster, replacing an earlier render.
pub fn write_rendered(out: &Path, clusters: &[RenderedCluster]) -> Result<(), WriteError> {
    if out.exists() {
        if !out.is_dir() {
            return Err(WriteError::NotADirectory(out.to_owned()));
        }
        let empty = fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty && !out.join(MARKER_FILE).is_file() {
            return Err(WriteError::NotOurs(out.to_owned()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let base = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rendered".into());
    let staging = parent.join(format!(".{base}.staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result =
        write_tree(&staging, clusters).and_then(|()| swap_in(&staging, out, &parent, &base));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn write_tree(dir: &Path, clusters: &[RenderedCluster]) -> Result<(), WriteError> {
    fs::create_dir(dir).map_err(io(dir))?;
    write_file(
        &dir.join(MARKER_FILE),
        b"written by `cargo xtask render`; replaced on every render\n",
        false,
    )?;
    for cluster in clusters {
        let cdir = dir.join(cluster.cluster.as_str());
        fs::create_dir(&cdir).map_err(io(&cdir))?;
        for file in &cluster.files {
            write_file(
                &cdir.join(&file.name),
                file.contents.as_bytes(),
                file.secret,
            )?;
        }
    }
    Ok(())
}

/// Creates the file with its final mode from the start: a secret is never readable by
/// others, not even for a moment.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), WriteError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    #[cfg(unix)]
    if !secret {
        // The same modes whatever the umask, so two renders are identical on disk.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(io(path))?;
    }
    file.sync_all().map_err(io(path))
}

fn swap_in(staging: &Path, out: &Path, parent: &Path, base: &str) -> Result<(), WriteError> {
    if out.exists() {
        let old = parent.join(format!(".{base}.old-{}", std::process::id()));
        let _ = fs::remove_dir_all(&old);
        fs::rename(out, &old).map_err(io(out))?;
        if let Err(source) = fs::rename(staging, out) {
            let _ = fs::rename(&old, out);
            return Err(WriteError::Io {
                path: out.to_owned(),
                source,
            });
        }
        fs::remove_dir_all(&old).map_err(io(&old))
    } else {
        fs::rename(staging, out).map_err(io(out))
    }
}
