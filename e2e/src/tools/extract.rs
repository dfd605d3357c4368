//! Safe extraction of a release tarball: only the picked paths are written, and an archive
//! with an absolute path, a `..` component, or a link that leads outside is refused whole,
//! as is one whose picked files are larger, one by one or together, than the limits.

use std::fs;
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use super::artifact::{ExtractLimits, Pick, PickKind};
use super::error::ToolsError;

/// Extracts the `picks` of the gzip tarball `archive` into `dest` (an empty directory).
///
/// Every entry of the archive is checked, picked or not, so a tampered archive is refused
/// rather than half-used. Picked executables get the run bit; other files keep theirs.
pub fn extract_tar_gz(
    artifact: &str,
    archive: &Path,
    dest: &Path,
    picks: &[Pick],
    limits: ExtractLimits,
) -> Result<(), ToolsError> {
    let refuse = |entry: &str, reason: String| ToolsError::UnsafeArchive {
        artifact: artifact.to_owned(),
        entry: entry.to_owned(),
        reason,
    };
    let file = fs::File::open(archive).map_err(ToolsError::io("open", archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::with_capacity(
        1 << 16,
        file,
    )));
    let mut found = vec![false; picks.len()];
    // Bytes written so far; hard links add none.
    let mut written: u64 = 0;
    let mut links: Vec<(PathBuf, PathBuf)> = Vec::new();

    for entry in tar.entries().map_err(|e| read_error(archive, e))? {
        let mut entry = entry.map_err(|e| read_error(archive, e))?;
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            continue;
        }
        let raw = entry
            .path()
            .map_err(|e| read_error(archive, e))?
            .into_owned();
        let name = raw.display().to_string();
        let rel = safe_relative(&raw).map_err(|r| refuse(&name, r))?;
        let link_target = if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(|e| read_error(archive, e))?
                .ok_or_else(|| refuse(&name, "is a link without a target".into()))?
                .into_owned();
            if kind.is_symlink() {
                let parent = rel.parent().unwrap_or(Path::new(""));
                resolve_within(parent, &target).map_err(|r| refuse(&name, r))?;
            } else {
                safe_relative(&target)
                    .map_err(|r| refuse(&name, format!("is a hard link that {r}")))?;
            }
            Some(target)
        } else {
            None
        };

        let rel_str = rel
            .to_str()
            .ok_or_else(|| refuse(&name, "has a name that is not UTF-8".into()))?;
        let Some((index, to)) = map_pick(picks, rel_str) else {
            continue;
        };
        found[index] = true;
        let pick = &picks[index];
        let out = dest.join(&to);
        no_links_above(dest, Path::new(&to)).map_err(|r| refuse(&name, r))?;
        match fs::symlink_metadata(&out) {
            // A directory entry may follow files already created inside it.
            Ok(m) if m.is_dir() && kind == EntryType::Directory => continue,
            Ok(_) => return Err(refuse(&name, "appears twice in the archive".into())),
            Err(_) => {}
        }
        let create_parent = |out: &Path| {
            let parent = out.parent().expect("below dest");
            fs::create_dir_all(parent).map_err(ToolsError::io("create", parent))
        };

        match kind {
            EntryType::Directory if pick.kind == PickKind::Tree => {
                fs::create_dir_all(&out).map_err(ToolsError::io("create", &out))?;
            }
            EntryType::Regular | EntryType::Continuous => {
                // The header's size is what the entry yields (the tar reader stops there), so
                // it is checked before a byte is written.
                let size = entry.size();
                let too_large = |what, limit| ToolsError::ArchiveTooLarge {
                    artifact: artifact.to_owned(),
                    entry: name.clone(),
                    what,
                    limit,
                };
                if size > limits.file {
                    return Err(too_large("one file", limits.file));
                }
                written = written.saturating_add(size);
                if written > limits.total {
                    return Err(too_large("the extracted files together", limits.total));
                }
                create_parent(&out)?;
                let mut file =
                    fs::File::create_new(&out).map_err(ToolsError::io("create", &out))?;
                std::io::copy(&mut entry, &mut file).map_err(|e| read_error(archive, e))?;
                let executable = pick.kind == PickKind::Executable
                    || entry.header().mode().unwrap_or(0) & 0o111 != 0;
                let mode = if executable { 0o755 } else { 0o644 };
                fs::set_permissions(&out, fs::Permissions::from_mode(mode))
                    .map_err(ToolsError::io("set permissions of", &out))?;
            }
            EntryType::Symlink if pick.kind == PickKind::Tree => {
                // The link must stay inside its own tree, since only that tree is installed.
                let target = link_target.expect("read above");
                let within_tree = rel_str
                    .strip_prefix(pick.from.as_str())
                    .unwrap_or("")
                    .trim_start_matches('/');
                let parent = Path::new(within_tree).parent().unwrap_or(Path::new(""));
                resolve_within(parent, &target)
                    .map_err(|r| refuse(&name, format!("{r} of {}", pick.from)))?;
                create_parent(&out)?;
                std::os::unix::fs::symlink(&target, &out)
                    .map_err(ToolsError::io("create the link", &out))?;
                links.push((out, dest.join(&pick.to)));
            }
            EntryType::Link if pick.kind == PickKind::Tree => {
                let target = link_target.expect("read above");
                let target_str = safe_relative(&target)
                    .ok()
                    .and_then(|t| t.to_str().map(str::to_owned))
                    .unwrap_or_default();
                let source = match map_pick(picks, &target_str) {
                    Some((i, to)) if i == index => dest.join(to),
                    _ => {
                        return Err(refuse(
                            &name,
                            format!(
                                "is a hard link to `{}` outside {}",
                                target.display(),
                                pick.from
                            ),
                        ));
                    }
                };
                if !fs::symlink_metadata(&source).is_ok_and(|m| m.is_file()) {
                    return Err(refuse(
                        &name,
                        format!(
                            "is a hard link to `{}`, which is not a file before it",
                            target.display()
                        ),
                    ));
                }
                create_parent(&out)?;
                fs::hard_link(&source, &out).map_err(ToolsError::io("create the link", &out))?;
            }
            other => {
                return Err(refuse(
                    &name,
                    format!(
                        "is a {other:?} entry where {} expects {:?} content",
                        pick.from, pick.kind
                    ),
                ));
            }
        }
    }

    if let Some(missing) = picks.iter().zip(&found).find(|(_, found)| !**found) {
        return Err(ToolsError::MissingInArchive {
            artifact: artifact.to_owned(),
            path: missing.0.from.clone(),
        });
    }
    // Links checked one by one could still chain their way out; resolve each for real.
    for (link, tree) in links {
        let tree = fs::canonicalize(&tree).map_err(ToolsError::io("resolve", &tree))?;
        let inside = fs::canonicalize(&link).is_ok_and(|real| real.starts_with(&tree));
        if !inside {
            let entry = link
                .strip_prefix(dest)
                .unwrap_or(&link)
                .display()
                .to_string();
            return Err(refuse(
                &entry,
                "is a link that does not resolve to a file inside its tree".into(),
            ));
        }
    }
    Ok(())
}

fn read_error(archive: &Path, e: std::io::Error) -> ToolsError {
    ToolsError::io("read the archive", archive)(e)
}

/// `path` as plain relative components (a leading `./` dropped), or why it is unsafe.
fn safe_relative(path: &Path) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("has a `..` component".into()),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path".into()),
        }
    }
    if out.as_os_str().is_empty() {
        return Err("has an empty path".into());
    }
    Ok(out)
}

/// Resolves a link target written in directory `parent` (relative to a root) without
/// leaving the root; returns the resolved relative path.
fn resolve_within(parent: &Path, target: &Path) -> Result<PathBuf, String> {
    let mut stack: Vec<_> = parent.components().collect();
    for c in target.components() {
        match c {
            Component::Normal(_) => stack.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if stack.pop().is_none() {
                    return Err(format!(
                        "is a link to `{}`, which points outside",
                        target.display()
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "is a link to the absolute path `{}`",
                    target.display()
                ));
            }
        }
    }
    Ok(stack.iter().collect())
}

/// Which pick `rel` belongs to, and where it goes.
fn map_pick(picks: &[Pick], rel: &str) -> Option<(usize, String)> {
    picks.iter().enumerate().find_map(|(i, p)| {
        if rel == p.from {
            return Some((i, p.to.clone()));
        }
        let rest = rel.strip_prefix(p.from.as_str())?.strip_prefix('/')?;
        (p.kind == PickKind::Tree).then(|| (i, format!("{}/{rest}", p.to)))
    })
}

/// Refuses to write below a link created by an earlier entry: writing through it could
/// land anywhere.
fn no_links_above(dest: &Path, to: &Path) -> Result<(), String> {
    let mut at = dest.to_owned();
    let parents: Vec<_> = to
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    for c in parents {
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "would be written through the link `{}`",
                    at.strip_prefix(dest).unwrap_or(&at).display()
                ));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_named() {
        assert_eq!(
            safe_relative(Path::new("./a/b")).unwrap(),
            PathBuf::from("a/b")
        );
        assert!(
            safe_relative(Path::new("a/../../b"))
                .unwrap_err()
                .contains("..")
        );
        assert!(
            safe_relative(Path::new("/etc/passwd"))
                .unwrap_err()
                .contains("absolute")
        );
        assert!(safe_relative(Path::new("./")).is_err());
    }

    #[test]
    fn links_resolve_lexically_within_the_root() {
        assert_eq!(
            resolve_within(Path::new("a/b"), Path::new("../c")).unwrap(),
            PathBuf::from("a/c")
        );
        assert!(
            resolve_within(Path::new("a"), Path::new("../../x"))
                .unwrap_err()
                .contains("points outside")
        );
        assert!(
            resolve_within(Path::new("a"), Path::new("/bin/sh"))
                .unwrap_err()
                .contains("absolute")
        );
    }

    #[test]
    fn picks_map_files_and_trees() {
        let picks = [
            Pick {
                from: "r/bin/tool".into(),
                to: "tool".into(),
                kind: PickKind::Executable,
            },
            Pick {
                from: "r/charts/x".into(),
                to: "charts/x".into(),
                kind: PickKind::Tree,
            },
        ];
        assert_eq!(map_pick(&picks, "r/bin/tool"), Some((0, "tool".into())));
        assert_eq!(map_pick(&picks, "r/bin/tool/x"), None);
        assert_eq!(
            map_pick(&picks, "r/charts/x/a/b.yaml"),
            Some((1, "charts/x/a/b.yaml".into()))
        );
        assert_eq!(map_pick(&picks, "r/charts/xy/a"), None);
        assert_eq!(map_pick(&picks, "r/README"), None);
    }
}
