//! The workspace's dependency graph (every member, every feature, normal, build and dev
//! edges, this platform) has one crypto provider, aws-lc-rs: neither ring nor openssl-sys.
//! deny.toml bans the same for cargo-deny; this test needs nothing but cargo.

use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn neither_ring_nor_openssl_sys_is_a_dependency() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = Command::new(cargo)
        .current_dir(e2e::dirs::workspace_root())
        .args([
            "tree",
            "--workspace",
            "--all-features",
            "--edges",
            "normal,build,dev",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--locked",
            "--offline",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crates: BTreeSet<&str> = stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    // The listing is the real graph: the provider we use, and its users, are in it.
    for expected in ["aws-lc-rs", "rustls", "rcgen", "testkit"] {
        assert!(
            crates.contains(expected),
            "{expected} missing from {crates:?}"
        );
    }
    for banned in ["ring", "openssl-sys"] {
        assert!(
            !crates.contains(banned),
            "{banned} is in the dependency graph; see who pulls it in: cargo tree -i {banned} --workspace --all-features -e normal,build,dev"
        );
    }
}
