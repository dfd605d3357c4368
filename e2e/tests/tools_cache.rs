//! What the cache trusts: an install counts only with its completion marker, each listed
//! file present with its size (and, with `verify`, its sha256); anything else is damaged,
//! reported, removed and fetched again. Staging left by a killed run is removed by the next
//! run, whatever it fetches, unless its owner still holds the artifact's lock.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use e2e::tools::{ToolsError, ensure};
use testkit::{Fixture, Recorded, sha256, tree};

/// The install directory of `tool` at `version` with content `bytes`.
fn install_dir(fx: &Fixture, tool: &str, version: &str, bytes: &[u8]) -> PathBuf {
    fx.cache_dir()
        .join(tool)
        .join(version)
        .join(sha256(bytes).to_string())
}

fn plant(dir: &Path, files: &[(&str, &[u8])]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[tokio::test]
async fn a_planted_binary_without_a_marker_is_not_trusted() {
    let fx = Fixture::new(Recorded::all);
    let dir = install_dir(&fx, "kind", testkit::KIND, &fx.artifacts.kind);
    plant(&dir, &[("kind", b"#!/bin/sh\necho owned\n")]);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert!(
        std::fs::read(&tb.kind).unwrap() == fx.artifacts.kind,
        "the real kind"
    );
    assert_eq!(fx.server.hits(&fx.paths.kind), 1, "fetched again");
}

#[tokio::test]
async fn an_empty_install_dir_is_not_reported_as_installed() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let dir = install_dir(&fx, "helm", testkit::HELM, &fx.artifacts.helm);
    std::fs::create_dir_all(&dir).unwrap();

    // Offline, it is missing, and the message says why.
    let mut offline = fx.opts();
    offline.offline = true;
    let err = ensure(&offline, &pins, pins.default_row())
        .await
        .unwrap_err();
    let ToolsError::Offline { missing, .. } = &err else {
        panic!("expected offline error, got {err}");
    };
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with(&format!("helm {}", testkit::HELM)) && m.contains("damaged")),
        "{missing:?}"
    );

    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert_eq!(tb.helm, dir.join("helm"));
    assert!(tb.helm.is_file());
    assert_eq!(fx.server.hits(&fx.paths.helm), 1);
}

#[tokio::test]
async fn a_file_cut_short_is_damaged_and_fetched_again() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    std::fs::write(&tb.istioctl, b"#!").unwrap();
    let again = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert_eq!(again, tb);
    assert_eq!(fx.server.hits(&fx.paths.istio), 2);
    assert!(
        std::fs::read_to_string(&tb.istioctl)
            .unwrap()
            .contains("istioctl")
    );
}

#[tokio::test]
async fn verify_rehashes_and_replaces_a_tampered_install() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    // Same size, other bytes: only a re-hash sees it.
    let chart = tb.charts.istiod.join("Chart.yaml");
    let original = std::fs::read(&chart).unwrap();
    let tampered: Vec<u8> = original
        .iter()
        .map(|b| if *b == b'i' { b'X' } else { *b })
        .collect();
    assert_ne!(tampered, original);
    std::fs::write(&chart, &tampered).unwrap();

    ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert_eq!(
        fx.server.hits(&fx.paths.istio),
        1,
        "the cheap check does not hash"
    );

    let mut verify = fx.opts();
    verify.verify = true;
    let again = ensure(&verify, &pins, pins.default_row()).await.unwrap();
    assert_eq!(again, tb);
    assert!(std::fs::read(&chart).unwrap() == original, "restored");
    assert_eq!(fx.server.hits(&fx.paths.istio), 2, "fetched again");
    assert_eq!(
        fx.server.hits(&fx.paths.kind),
        1,
        "the intact ones were not"
    );

    // Offline, a damaged install is removed and reported, never used.
    std::fs::write(&chart, &tampered).unwrap();
    verify.offline = true;
    let err = ensure(&verify, &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolsError::Offline { missing, .. } if missing.len() == 1 && missing[0].contains("Chart.yaml")),
        "{err}"
    );
    assert!(
        !tb.istioctl.exists(),
        "removed: {:?}",
        tree(&fx.cache_dir())
    );
}

#[tokio::test]
async fn an_extra_file_in_an_install_is_found_by_verify() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    // A template slipped into a chart would be installed with it.
    std::fs::write(tb.charts.base.join("templates/extra.yaml"), b"kind: Pod\n").unwrap();
    let mut verify = fx.opts();
    verify.verify = true;
    ensure(&verify, &pins, pins.default_row()).await.unwrap();
    assert!(!tb.charts.base.join("templates/extra.yaml").exists());
    assert_eq!(fx.server.hits(&fx.paths.istio), 2);
}

#[tokio::test]
async fn a_symlinked_install_dir_is_refused() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    let dir = tb.kind.parent().unwrap().to_owned();
    // A complete install, marker and all, moved elsewhere and linked back.
    let elsewhere = fx.dir.path().join("elsewhere");
    std::fs::rename(&dir, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    let hits = fx.server.total_hits();

    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolsError::SymlinkedInstall { path } if *path == dir),
        "{err}"
    );
    assert_eq!(err.kind(), e2e::ErrorKind::BadInput);
    assert!(err.to_string().contains("Remove the link"), "{err}");
    assert!(
        std::fs::symlink_metadata(&dir).unwrap().is_symlink(),
        "left alone"
    );
    assert_eq!(fx.server.total_hits(), hits);
}

#[tokio::test]
async fn the_marker_lists_every_installed_file_with_size_and_sha256() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    let dir = tb.istioctl.parent().unwrap();
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".install.json")).unwrap()).unwrap();
    assert_eq!(marker["sha256"], sha256(&fx.artifacts.istio).to_string());
    let files = marker["files"].as_array().unwrap();
    let listed: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    let on_disk: Vec<String> = tree(dir)
        .into_iter()
        .filter(|p| dir.join(p).is_file() && p != ".install.json")
        .collect();
    assert_eq!(listed, on_disk);
    for f in files {
        let bytes = std::fs::read(dir.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["size"], bytes.len() as u64);
        assert_eq!(f["sha256"], sha256(&bytes).to_string());
    }
}

#[tokio::test]
async fn staging_whose_owner_is_gone_is_removed_on_every_run() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();

    // Left by killed runs fetching something this run does not need, one of them still
    // running (it holds its artifact's lock).
    let staging = fx.cache_dir().join(".tmp");
    let gone = staging.join(format!("istio-1.30.4-{}-a1b2c3", fx.platform));
    let live = staging.join(format!("istio-1.29.1-{}-d4e5f6", fx.platform));
    for dir in [&gone, &live] {
        plant(&dir.join("install"), &[("istioctl", &[0u8; 4096])]);
    }
    let locks = fx.cache_dir().join(".locks");
    let _held = e2e::fsx::lock(
        &locks.join(format!("istio-1.29.1-{}.lock", fx.platform)),
        || {},
    )
    .unwrap();

    let hits = fx.server.total_hits();
    ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert_eq!(fx.server.total_hits(), hits, "all from the cache");
    assert!(!gone.exists(), "{:?}", fx.staging_leftovers());
    assert!(
        live.join("install/istioctl").is_file(),
        "its owner still runs"
    );
}
