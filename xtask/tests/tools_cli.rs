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
        format!("kind {}", pins.kind_for(row)),
        format!("helm {}", pins.helm.version),
        format!("istio {}", row.version),
        format!("metallb {}", pins.metallb.version),
    ] {
        assert!(
            stderr.contains(&expected),
            "`{expected}` missing from: {stderr}"
        );
    }
}
