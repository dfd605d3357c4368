//! Sets `cfg(openssl_on_path)` when an `openssl` binary answers, so the certificate test
//! that asks openssl for a second opinion is reported as skipped (with its reason) where
//! it cannot run, instead of passing. With `E2E_REQUIRE_OPENSSL=1` (CI) a missing openssl
//! is a build error.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(openssl_on_path)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=E2E_REQUIRE_OPENSSL");
    let found = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        println!("cargo::rustc-cfg=openssl_on_path");
    } else if std::env::var("E2E_REQUIRE_OPENSSL").as_deref() == Ok("1") {
        panic!(
            "E2E_REQUIRE_OPENSSL=1 but `openssl` is not on PATH: install openssl (e.g. apt-get install openssl) for the certificate cross-check"
        );
    }
}
