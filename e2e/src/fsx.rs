//! The one place that writes to the file system for the framework's outputs (CA files,
//! rendered manifests, the pins file, the tool cache, later `state.json`): every write is
//! all or nothing, modes are exactly what the caller asked whatever the umask, and a
//! finished write survives a crash (file and directory are synced).

use std::fs::{self, File, Permissions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Names of what the writers below stage beside their target: [`write_atomic`]'s temp
/// files, [`replace_dir`]'s set-aside directories, and [`StagedDir`]s (`.<target>.new-…`).
/// A run killed mid-write leaves them behind; [`remove_leftovers`] clears them.
pub const TEMP_FILE_PREFIX: &str = ".tmp-";
const ASIDE_PREFIX: &str = ".old-";
const STAGED_INFIX: &str = ".new-";

/// A file-system step that failed: what was being done, to which path, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct FsError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl FsError {
    /// For `map_err`: the step and the path it was about.
    pub fn during<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> Self + 'p {
        move |source| FsError {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// The directory a path is in; `.` for a bare file name.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `contents` to `path` with `mode`, atomically: a temp file in the same directory
/// (created 0600, so never readable by others), set to `mode`, written, synced, renamed
/// over `path`, and the directory synced. A reader sees the old file or the new one.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), FsError> {
    write_atomic_named(path, contents, mode, TEMP_FILE_PREFIX)
}

/// [`write_atomic`] with the temp file named `<temp_prefix><random>`, so that the caller
/// can recognise (git-ignore, clean up) the temp file a killed write leaves behind.
pub fn write_atomic_named(
    path: &Path,
    contents: &[u8],
    mode: u32,
    temp_prefix: &str,
) -> Result<(), FsError> {
    let dir = parent_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(temp_prefix)
        .tempfile_in(dir)
        .map_err(FsError::during("create a temp file in", dir))?;
    let written = (|| {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))?;
        tmp.write_all(contents)?;
        tmp.as_file().sync_all()
    })();
    written.map_err(FsError::during("write", tmp.path()))?;
    tmp.persist(path)
        .map_err(|e| FsError::during("rename into place", path)(e.error))?;
    sync_dir(dir)
}

/// Creates `dir` and its missing parents, each owner-only (0700) whatever the umask, so
/// the names of keys inside are not listed to others either. Directories that exist keep
/// their mode: they may be shared (`--out /tmp/x` puts us under `/tmp`).
pub fn create_private_dir(dir: &Path) -> Result<(), FsError> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
    for d in missing.into_iter().rev() {
        match create_dir(d, 0o700) {
            // Another run made it between our check and now: it is theirs to keep.
            Err(e) if e.source.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            other => other?,
        }
    }
    Ok(())
}

/// The first of `path` and its ancestors that exists, if it is not a directory: no
/// directory can be made at `path` then, and the caller can name the file in the way.
pub fn file_in_the_way(path: &Path) -> Option<PathBuf> {
    let existing = path
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.symlink_metadata().is_ok())?;
    (!existing.is_dir()).then(|| existing.to_owned())
}

/// What a killed [`write_atomic`], [`replace_dir`] or [`StagedDir`] left in `dir` (temp
/// files, set-aside and staged directories, by their names), removed; returns what was
/// removed. Only for a directory whose writers are serialised by a [`lock`] the caller
/// holds: anything staged there then belongs to a run that is gone.
pub fn remove_leftovers(dir: &Path) -> Result<Vec<PathBuf>, FsError> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir).map_err(FsError::during("list", dir))? {
        let entry = entry.map_err(FsError::during("list", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with(TEMP_FILE_PREFIX)
            || name.starts_with(ASIDE_PREFIX)
            || (name.starts_with('.') && name.contains(STAGED_INFIX));
        if !ours {
            continue;
        }
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(FsError::during("inspect", &path))?
            .is_dir();
        if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        }
        .map_err(FsError::during("remove", &path))?;
        removed.push(path);
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Creates the directory `dir` (its parent must exist) with `mode`, whatever the umask.
pub fn create_dir(dir: &Path, mode: u32) -> Result<(), FsError> {
    fs::create_dir(dir).map_err(FsError::during("create directory", dir))?;
    fs::set_permissions(dir, Permissions::from_mode(mode))
        .map_err(FsError::during("set the mode of", dir))
}

/// Makes the renames and creations in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(FsError::during("sync directory", dir))
}

/// A directory filled under a temp name beside its target, then swapped in with
/// [`StagedDir::commit`], so its files appear together or not at all. Dropped without a
/// commit, it is removed.
#[derive(Debug)]
pub struct StagedDir {
    tmp: tempfile::TempDir,
}

impl StagedDir {
    /// A new empty directory with `mode` (whatever the umask) in `target`'s parent, which
    /// must exist (the final rename must not cross file systems).
    pub fn beside(target: &Path, mode: u32) -> Result<Self, FsError> {
        let parent = parent_of(target);
        let name = target
            .file_name()
            .map_or_else(|| "dir".into(), |n| n.to_string_lossy());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}{STAGED_INFIX}"))
            .tempdir_in(parent)
            .map_err(FsError::during("create a temp directory in", parent))?;
        fs::set_permissions(tmp.path(), Permissions::from_mode(mode))
            .map_err(FsError::during("set the mode of", tmp.path()))?;
        Ok(Self { tmp })
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Puts the directory at `target`, replacing what was there ([`replace_dir`]).
    pub fn commit(self, target: &Path) -> Result<(), FsError> {
        let staged = self.tmp.keep();
        let result = replace_dir(&staged, target);
        if result.is_err() {
            let _ = fs::remove_dir_all(&staged);
        }
        result
    }
}

/// Moves the directory `staged` to `target` (same file system), replacing a directory
/// there: the old one is renamed aside first and removed once the new one is in place, or
/// put back if the new one cannot be. The parent is synced.
pub fn replace_dir(staged: &Path, target: &Path) -> Result<(), FsError> {
    let parent = parent_of(target);
    // The old directory goes inside a temp directory, so it is removed when that is dropped.
    let aside = if target.exists() {
        let aside = tempfile::Builder::new()
            .prefix(ASIDE_PREFIX)
            .tempdir_in(parent)
            .map_err(FsError::during("create a temp directory in", parent))?;
        fs::rename(target, aside.path().join("previous"))
            .map_err(FsError::during("move aside", target))?;
        Some(aside)
    } else {
        None
    };
    if let Err(e) = fs::rename(staged, target) {
        if let Some(aside) = &aside {
            let _ = fs::rename(aside.path().join("previous"), target);
        }
        return Err(FsError::during("move into place", target)(e));
    }
    drop(aside);
    sync_dir(parent)
}

/// An exclusive advisory lock on a lock file, held until dropped (or until the process
/// dies, so a killed run never blocks the next one).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    waited: bool,
}

impl FileLock {
    /// Whether another holder made us wait.
    pub fn waited(&self) -> bool {
        self.waited
    }
}

/// Opens the lock file, creating it owner-only (0600) whatever the umask. One that exists
/// keeps its mode: it may be another user's.
fn open_lock_file(path: &Path) -> Result<File, FsError> {
    let created = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(file) => {
            file.set_permissions(Permissions::from_mode(0o600))
                .map_err(FsError::during("set the mode of", path))?;
            Ok(file)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            File::options().write(true).open(path)
        }
        Err(e) => Err(e),
    }
    .map_err(FsError::during("open the lock file", path))
}

/// Takes the lock without waiting, if it is free.
fn try_lock(path: &Path) -> Result<Result<FileLock, File>, FsError> {
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Ok(FileLock {
            _file: file,
            waited: false,
        })),
        Err(TryLockError::WouldBlock) => Ok(Err(file)),
        Err(TryLockError::Error(e)) => Err(FsError::during("lock", path)(e)),
    }
}

/// Takes the lock at `path` (creating the file) if no one holds it; `None` if someone does.
pub fn lock_if_free(path: &Path) -> Result<Option<FileLock>, FsError> {
    Ok(try_lock(path)?.ok())
}

/// Takes the lock at `path` (creating the file), waiting for another holder to let go;
/// `on_wait` runs once, before waiting, so the caller can say why nothing happens.
pub fn lock(path: &Path, on_wait: impl FnOnce()) -> Result<FileLock, FsError> {
    let file = match try_lock(path)? {
        Ok(free) => return Ok(free),
        Err(held) => held,
    };
    on_wait();
    file.lock().map_err(FsError::during("lock", path))?;
    Ok(FileLock {
        _file: file,
        waited: true,
    })
}

/// [`lock`] for async callers: the wait runs on the blocking pool.
pub async fn lock_async(path: &Path, on_wait: impl FnOnce()) -> Result<FileLock, FsError> {
    let file = match try_lock(path)? {
        Ok(free) => return Ok(free),
        Err(held) => held,
    };
    on_wait();
    let waited = tokio::task::spawn_blocking(move || file.lock().map(|()| file)).await;
    let file = waited
        .map_err(|join| FsError::during("wait for the lock", path)(io::Error::other(join)))?
        .map_err(FsError::during("lock", path))?;
    Ok(FileLock {
        _file: file,
        waited: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_sets_the_exact_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // 0666 survives only if the mode is set explicitly: creation applies the umask.
        for wanted in [0o600, 0o644, 0o666, 0o640] {
            write_atomic(&path, format!("{wanted:o}").as_bytes(), wanted).unwrap();
            assert_eq!(mode(&path), wanted);
            assert_eq!(fs::read_to_string(&path).unwrap(), format!("{wanted:o}"));
        }
        assert_eq!(names(dir.path()), ["f"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"old", 0o644).unwrap();
        let err = write_atomic(&dir.path().join("no/such/dir/f"), b"new", 0o644).unwrap_err();
        assert_eq!(err.action, "create a temp file in");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn private_dirs_are_0700_and_existing_ones_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), Permissions::from_mode(0o751)).unwrap();
        let deep = dir.path().join("a/b/c");
        create_private_dir(&deep).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&dir.path().join(d)), 0o700, "{d}");
        }
        assert_eq!(mode(dir.path()), 0o751);
        create_private_dir(&deep).unwrap();
    }

    #[test]
    fn a_staged_dir_replaces_the_target_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        for (round, file) in ["first", "second"].into_iter().enumerate() {
            let staged = StagedDir::beside(&target, 0o755).unwrap();
            assert_eq!(mode(staged.path()), 0o755);
            write_atomic(&staged.path().join(file), b"x", 0o644).unwrap();
            staged.commit(&target).unwrap();
            assert_eq!(names(&target), [file], "round {round}");
            assert_eq!(names(dir.path()), ["out"], "nothing left beside it");
        }
    }

    #[test]
    fn a_failed_swap_puts_the_old_directory_back() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old"), "keep").unwrap();
        let err = replace_dir(&dir.path().join("never-staged"), &target).unwrap_err();
        assert_eq!(err.action, "move into place");
        assert_eq!(fs::read_to_string(target.join("old")).unwrap(), "keep");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn an_uncommitted_staged_dir_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let staged = StagedDir::beside(&dir.path().join("out"), 0o700).unwrap();
        fs::write(staged.path().join("f"), "x").unwrap();
        drop(staged);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_file_in_the_way_is_found_at_or_above_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        assert_eq!(file_in_the_way(&file), Some(file.clone()));
        assert_eq!(file_in_the_way(&file.join("a/b")), Some(file.clone()));
        assert_eq!(file_in_the_way(&dir.path().join("new/dir")), None);
        assert_eq!(file_in_the_way(dir.path()), None);
        assert_eq!(file_in_the_way(Path::new("relative/new")), None);
    }

    #[test]
    fn leftovers_of_the_writers_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let keep = ["out", ".lock", "notes.tmp-1", ".hidden"];
        for name in keep {
            fs::write(dir.path().join(name), "keep").unwrap();
        }
        fs::write(dir.path().join(".tmp-AbC123"), "half").unwrap();
        for staged in [".out.new-XyZ987", ".old-Qw3rty"] {
            fs::create_dir_all(dir.path().join(staged).join("inner")).unwrap();
        }
        let mut removed: Vec<_> = remove_leftovers(dir.path())
            .unwrap()
            .into_iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        removed.sort();
        assert_eq!(removed, [".old-Qw3rty", ".out.new-XyZ987", ".tmp-AbC123"]);
        let mut left = keep.to_vec();
        left.sort();
        assert_eq!(names(dir.path()), left);
    }

    #[test]
    fn a_new_lock_file_is_private_and_an_old_one_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        drop(lock(&path, || ()).unwrap());
        assert_eq!(mode(&path), 0o600);
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        drop(lock(&path, || ()).unwrap());
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn a_held_lock_makes_the_next_taker_wait_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let mut said = false;
        let first = lock(&path, || said = true).unwrap();
        assert!(!said && !first.waited(), "a free lock is taken at once");

        let (waiting_tx, waiting_rx) = mpsc::channel();
        let second = std::thread::spawn({
            let path = path.clone();
            move || lock(&path, || waiting_tx.send(()).unwrap()).unwrap()
        });
        waiting_rx.recv().unwrap(); // it found the lock held and said so
        drop(first);
        assert!(second.join().unwrap().waited());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_async_lock_waits_on_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let first = lock_async(&path, || panic!("free")).await.unwrap();
        let (waiting_tx, waiting_rx) = tokio::sync::oneshot::channel();
        let second = tokio::spawn({
            let path = path.clone();
            async move { lock_async(&path, || waiting_tx.send(()).unwrap()).await }
        });
        waiting_rx.await.unwrap();
        drop(first);
        assert!(second.await.unwrap().unwrap().waited());
    }
}
