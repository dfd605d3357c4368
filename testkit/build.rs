//! Sets `cfg(openssl_on_path)` when an `openssl` binary on `PATH` answers, and `OPENSSL_BIN` to
//! its path, so the openssl second opinion (tests/certs_openssl.rs) is reported as skipped,
//! with its reason, where it cannot run, instead of passing. With `E2E_REQUIRE_OPENSSL=1` (CI)
//! a missing openssl is a build error.
//!
//! Watches the openssl it found; only while none is found, `PATH` and its directories (so
//! installing openssl is noticed) and `E2E_REQUIRE_OPENSSL`. A changed `PATH`, as many
//! shells make, or switching between `.ci/run` and `cargo xtask test` must not rebuild this
//! crate and every test that uses it.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(openssl_on_path)");
    println!("cargo::rerun-if-changed=build.rs");
    match find_openssl() {
        Some(openssl) => {
            println!("cargo::rerun-if-changed={}", openssl.display());
            println!("cargo::rustc-env=OPENSSL_BIN={}", openssl.display());
            println!("cargo::rustc-cfg=openssl_on_path");
        }
        None => {
            println!("cargo::rerun-if-env-changed=E2E_REQUIRE_OPENSSL");
            println!("cargo::rerun-if-env-changed=PATH");
            let path = std::env::var_os("PATH").unwrap_or_default();
            for dir in std::env::split_paths(&path).filter(|d| d.is_dir()) {
                println!("cargo::rerun-if-changed={}", dir.display());
            }
            if std::env::var("E2E_REQUIRE_OPENSSL").as_deref() == Ok("1") {
                panic!(
                    "E2E_REQUIRE_OPENSSL=1 but `openssl` is not on PATH: install openssl (e.g. apt-get install openssl) for the certificate cross-check"
                );
            }
        }
    }
}

/// The first `openssl` on `PATH` that answers `openssl version`.
fn find_openssl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("openssl"))
        .filter(|candidate| candidate.is_file())
        .find(|candidate| {
            Command::new(candidate)
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}
