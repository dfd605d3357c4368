//! `cargo xtask tools` as a user runs it: exit codes and messages for bad input and for an
//! offline run with an empty cache. Nothing here touches the network.

use std::process::{Command, Output};

fn xtask(args: &[&str], cache: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("tools")
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .env("NO_COLOR", "1")
        .env_remove("MESH_PINS")
        .output()
        .unwrap()
}

#[test]
fn plain_http_mirror_off_this_machine_is_bad_usage() {
    let cache = tempfile::tempdir().unwrap();
    let out = xtask(&["--mirror", "http://mirror.example.com/"], cache.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("only for a mirror on this machine"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(cache.path()).unwrap().next().is_none(),
        "nothing written to the cache"
    );
}

#[test]
fn a_download_deadline_of_zero_is_bad_usage() {
    let cache = tempfile::tempdir().unwrap();
    for args in [
        &["--download-deadline", "0"][..],
        &["--download-deadline", "soon"],
    ] {
        let out = xtask(args, cache.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--download-deadline"), "{stderr}");
    }
}

#[test]
fn unknown_istio_version_is_bad_usage() {
    let cache = tempfile::tempdir().unwrap();
    let out = xtask(&["--istio", "9.9.9"], cache.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("9.9.9 has no row"), "{stderr}");
}

#[test]
fn offline_with_an_empty_cache_lists_every_missing_artifact() {
    let cache = tempfile::tempdir().unwrap();
    let out = xtask(&["--offline"], cache.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let pins = e2e::pins::Pins::load(&e2e::dirs::checkout_pins_file()).unwrap();
    let row = pins.default_row();
    for expected in [
        format!("kind {}", row.kind.version),
        format!("helm {}", pins.helm().version),
        format!("istio {}", row.version),
        format!("metallb {}", pins.metallb().version),
    ] {
        assert!(
            stderr.contains(&expected),
            "`{expected}` missing from: {stderr}"
        );
    }
    assert!(
        stderr.contains("\nhint: run once without --offline (or with --mirror URL)"),
        "says how to fill the cache: {stderr}"
    );
}

/// sha256 of no bytes: the planted files are empty.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lays out a cache as `tools` leaves it (`<tool>/<version>/<sha256>/...` with the
/// completion marker `.install.json` listing each file, see e2e/src/tools/marker.rs), so an
/// offline run succeeds without any download.
#[test]
fn offline_with_a_full_cache_prints_where_each_tool_is() {
    let cache = tempfile::tempdir().unwrap();
    let pins = e2e::pins::Pins::load(&e2e::dirs::checkout_pins_file()).unwrap();
    let platform = e2e::pins::Platform::current().unwrap();
    let a = e2e::tools::artifact::for_row(&pins, pins.default_row(), platform).unwrap();
    let unrecorded: Vec<String> = a
        .all()
        .iter()
        .filter(|x| x.recorded().is_none())
        .map(|x| x.to_string())
        .collect();
    let dir = |x: &e2e::tools::Artifact| {
        cache
            .path()
            .join(x.tool.name())
            .join(&x.version)
            .join(x.recorded().map(|s| s.to_string()).unwrap_or_default())
    };
    let out = xtask(&["--offline"], cache.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !unrecorded.is_empty() {
        // This platform's default row still waits for its checksums: offline must say so.
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            unrecorded.iter().all(|u| stderr.contains(u.as_str()))
                && stderr.contains("not recorded"),
            "{stderr}"
        );
        return;
    }
    let expected = [
        dir(&a.kind).join("kind"),
        dir(&a.helm).join("helm"),
        dir(&a.istio).join("istioctl"),
        dir(&a.istio).join("charts/base"),
        dir(&a.istio).join("charts/istio-discovery"),
        dir(&a.istio).join("charts/gateway"),
        dir(&a.metallb).join("metallb-native.yaml"),
    ];
    for path in &expected {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
    }
    for x in a.all() {
        let dir = dir(x);
        let files: Vec<serde_json::Value> = expected
            .iter()
            .filter_map(|p| p.strip_prefix(&dir).ok())
            .map(|rel| {
                serde_json::json!({
                    "path": rel.to_str().unwrap(),
                    "size": 0,
                    "mode": 0o644,
                    "sha256": EMPTY_SHA256,
                })
            })
            .collect();
        let marker = serde_json::json!({
            "format": 1,
            "artifact": x.key(),
            "sha256": x.recorded().unwrap().to_string(),
            "files": files,
            "links": [],
        });
        std::fs::write(dir.join(".install.json"), marker.to_string()).unwrap();
    }
    let out = xtask(&["--offline"], cache.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!(
            "Istio {} ({platform}):",
            pins.default_row().version
        )),
        "{stdout}"
    );
    for (path, name) in expected.iter().zip([
        "kind",
        "helm",
        "istioctl",
        "chart base",
        "chart istiod",
        "chart gateway",
        "metallb",
    ]) {
        let line = format!("{name:<14} {}", path.display());
        assert!(
            stdout.lines().any(|l| l.trim() == line),
            "`{line}` missing from:\n{stdout}"
        );
    }

    // --verify re-hashes every file: the planted (empty) files match their markers.
    let out = xtask(&["--offline", "--verify"], cache.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("verified"), "{stderr}");

    // A marker that records another sha256 for a file of the same size: the cheap check
    // passes, the re-hash does not, and the install is removed.
    let helm = dir(&a.helm);
    let marker = std::fs::read_to_string(helm.join(".install.json")).unwrap();
    std::fs::write(
        helm.join(".install.json"),
        marker.replace(EMPTY_SHA256, &"ab".repeat(32)),
    )
    .unwrap();
    assert!(xtask(&["--offline"], cache.path()).status.success());
    let out = xtask(&["--offline", "--verify"], cache.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("helm {}", pins.helm().version))
            && stderr.contains("`helm` has sha256")
            && stderr.contains("it was removed"),
        "{stderr}"
    );
    assert!(!helm.exists());
}
