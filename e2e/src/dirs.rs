//! Where the framework reads and writes: the checkout, the state directory, the tool cache.
//!
//! Nothing here touches `~/.kube/config`: every kubeconfig lives under the state directory.

use std::path::{Path, PathBuf};

/// The project's name, used for the shared download cache.
pub const PROJECT: &str = "istio-mc-kind";

/// Overrides the state directory (default `target/mesh/` in the checkout).
pub const STATE_DIR_ENV: &str = "MESH_STATE_DIR";
/// Overrides the tool cache (default `$XDG_CACHE_HOME/istio-mc-kind`).
pub const CACHE_DIR_ENV: &str = "MESH_CACHE_DIR";
/// Overrides the pins file (default `versions.toml` in the checkout): to try a new release
/// before committing it, or to point a run at fixture pins.
pub const PINS_ENV: &str = "MESH_PINS";

/// The top of the checkout, found from this crate's own location so that `cargo xtask`
/// works from any directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives one level below the workspace root")
        .to_owned()
}

/// The pins file checked in with this checkout.
pub fn checkout_pins_file() -> PathBuf {
    workspace_root().join(crate::pins::FILE_NAME)
}

/// The pins file a run reads, and writes recorded checksums back to: `explicit` (the
/// front end's choice), else `MESH_PINS`, else the checkout's.
pub fn pins_file(explicit: Option<&Path>) -> PathBuf {
    pins_file_from(
        explicit.map(Path::to_owned),
        std::env::var_os(PINS_ENV).map(PathBuf::from),
    )
}

fn pins_file_from(explicit: Option<PathBuf>, env: Option<PathBuf>) -> PathBuf {
    let given = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    given(explicit)
        .or_else(|| given(env))
        .unwrap_or_else(checkout_pins_file)
}

/// Everything a run writes: kubeconfigs, certificates, rendered files, `state.json`.
pub fn state_dir() -> PathBuf {
    state_dir_from(std::env::var_os(STATE_DIR_ENV).map(PathBuf::from))
}

/// The CA files: where `cargo xtask certs` writes them unless told otherwise, and where
/// rendering looks for them.
pub fn certs_dir() -> PathBuf {
    state_dir().join("certs")
}

/// Where `cargo xtask render` writes unless told otherwise.
pub fn rendered_dir() -> PathBuf {
    state_dir().join("rendered")
}

fn state_dir_from(env: Option<PathBuf>) -> PathBuf {
    env.filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| workspace_root().join("target").join("mesh"))
}

/// The shared download cache, so several checkouts reuse one download.
///
/// `MESH_CACHE_DIR`, else `$XDG_CACHE_HOME/istio-mc-kind`, else `~/.cache/istio-mc-kind`
/// (on macOS `~/Library/Caches/istio-mc-kind`).
pub fn default_cache_dir() -> Result<PathBuf, String> {
    cache_dir_from(
        std::env::var_os(CACHE_DIR_ENV).map(PathBuf::from),
        std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
        cfg!(target_os = "macos"),
    )
}

fn cache_dir_from(
    explicit: Option<PathBuf>,
    xdg: Option<PathBuf>,
    home: Option<PathBuf>,
    macos: bool,
) -> Result<PathBuf, String> {
    let nonempty = |p: Option<PathBuf>| p.filter(|p| p.is_absolute());
    if let Some(dir) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(dir);
    }
    if let Some(xdg) = nonempty(xdg) {
        return Ok(xdg.join(PROJECT));
    }
    let home = nonempty(home)
        .ok_or_else(|| "cannot find a cache directory: HOME is not set".to_owned())?;
    Ok(if macos {
        home.join("Library/Caches").join(PROJECT)
    } else {
        home.join(".cache").join(PROJECT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_precedence() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            cache_dir_from(p("/c"), p("/x"), p("/h"), false).unwrap(),
            PathBuf::from("/c")
        );
        assert_eq!(
            cache_dir_from(None, p("/x"), p("/h"), false).unwrap(),
            PathBuf::from("/x/istio-mc-kind")
        );
        assert_eq!(
            cache_dir_from(None, p("rel"), p("/h"), false).unwrap(),
            PathBuf::from("/h/.cache/istio-mc-kind")
        );
        assert_eq!(
            cache_dir_from(None, None, p("/h"), true).unwrap(),
            PathBuf::from("/h/Library/Caches/istio-mc-kind")
        );
        assert!(
            cache_dir_from(None, None, None, false)
                .unwrap_err()
                .contains("HOME is not set")
        );
    }

    #[test]
    fn pins_file_precedence() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            pins_file_from(p("/a.toml"), p("/b.toml")),
            PathBuf::from("/a.toml")
        );
        assert_eq!(pins_file_from(None, p("/b.toml")), PathBuf::from("/b.toml"));
        assert_eq!(
            pins_file_from(p(""), p("/b.toml")),
            PathBuf::from("/b.toml")
        );
        assert_eq!(pins_file_from(None, p("")), checkout_pins_file());
        assert_eq!(
            pins_file_from(None, None),
            workspace_root().join("versions.toml")
        );
    }

    #[test]
    fn state_dir_defaults_under_target() {
        assert_eq!(state_dir_from(None), workspace_root().join("target/mesh"));
        assert_eq!(
            state_dir_from(Some(PathBuf::from("/s"))),
            PathBuf::from("/s")
        );
    }
}
