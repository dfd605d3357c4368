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
    let pins = e2e::pins::Pins::load(&e2e::dirs::pins_file()).unwrap();
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

/// Lays out a cache as `tools` leaves it (`<tool>/<version>/<sha256>/...`, see
/// `e2e::tools`), so an offline run succeeds without any download.
#[test]
fn offline_with_a_full_cache_prints_where_each_tool_is() {
    let cache = tempfile::tempdir().unwrap();
    let pins = e2e::pins::Pins::load(&e2e::dirs::pins_file()).unwrap();
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
}
