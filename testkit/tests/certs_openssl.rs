//! The mesh's CA files as openssl reads them: subjects, extensions, key sizes, validity,
//! chains, and that pathlen:0 stops a CA under an intermediate. Here rather than in e2e's
//! certs tests because only this crate's build script looks for openssl (see build.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::certs::issue::VALIDITY_DAYS;
use e2e::certs::{self, EnsureOptions};
use e2e::config::{ClusterName, Topology};
use testkit::certs::{leaf_from, sub_ca_from};

/// The openssl build.rs found; never used where it found none (the test is ignored there).
const OPENSSL: &str = match option_env!("OPENSSL_BIN") {
    Some(path) => path,
    None => "openssl",
};

fn default_clusters() -> Vec<ClusterName> {
    Topology::default().cluster_names().cloned().collect()
}

/// A fresh temp dir whose `certs/` does not exist yet (so `ensure` creates it).
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("certs");
    (tmp, out)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A second opinion from openssl. openssl is not a dependency of the framework: where it is
/// missing this test is ignored with the reason below (nextest counts it as skipped), and
/// with `E2E_REQUIRE_OPENSSL=1` (CI) a missing openssl is a build error (testkit/build.rs).
#[test]
#[cfg_attr(
    not(openssl_on_path),
    ignore = "openssl is not on PATH: install it to run the openssl second opinion"
)]
fn openssl_second_opinion() {
    let openssl = |args: &[&str], dir: &Path| {
        let o = Command::new(OPENSSL)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    // The default key type, as `cargo xtask certs` makes it.
    let (_tmp, out) = scratch();
    certs::ensure(&out, &default_clusters(), EnsureOptions::default()).unwrap();
    let root_text = openssl(&["x509", "-in", "root-cert.pem", "-noout", "-text"], &out).1;
    assert!(
        root_text.contains("Subject: O = Istio, CN = Root CA"),
        "{root_text}"
    );
    assert!(
        root_text.contains("Issuer: O = Istio, CN = Root CA"),
        "{root_text}"
    );
    assert!(root_text.contains("Public-Key: (4096 bit)"), "{root_text}");
    assert!(
        root_text.contains("Signature Algorithm: sha256WithRSAEncryption"),
        "{root_text}"
    );
    let ski_of = |text: &str| {
        let at = text.find("X509v3 Subject Key Identifier:").expect("SKI");
        text[at..].lines().nth(1).unwrap().trim().to_owned()
    };
    let root_ski = ski_of(&root_text);

    for cluster in default_clusters() {
        let dir = out.join(cluster.as_str());
        let (ok, verify) = openssl(
            &["verify", "-CAfile", "root-cert.pem", "cert-chain.pem"],
            &dir,
        );
        assert!(
            ok && verify.contains("cert-chain.pem: OK"),
            "{cluster}: {verify}"
        );
        let (ok, verify) = openssl(
            &["verify", "-CAfile", "../root-cert.pem", "ca-cert.pem"],
            &dir,
        );
        assert!(ok, "{cluster}: {verify}");

        let text = openssl(&["x509", "-in", "ca-cert.pem", "-noout", "-text"], &dir).1;
        for expected in [
            format!("Subject: O = Istio, CN = Intermediate CA, L = {cluster}"),
            "Issuer: O = Istio, CN = Root CA".to_owned(),
            "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0".to_owned(),
            "X509v3 Key Usage: critical\n                Digital Signature, Non Repudiation, Key Encipherment, Certificate Sign".to_owned(),
            "X509v3 Subject Alternative Name: \n                DNS:istiod.istio-system.svc\n".to_owned(),
            format!("X509v3 Authority Key Identifier: \n                {root_ski}"),
            "Public-Key: (4096 bit)".to_owned(),
        ] {
            assert!(text.contains(&expected), "{cluster}: expected {expected:?} in\n{text}");
        }
        // Ten years, in openssl's reading: valid an hour short of 3650 days from now, not an hour past.
        let checkend = |secs: i64| {
            openssl(
                &[
                    "x509",
                    "-in",
                    "ca-cert.pem",
                    "-noout",
                    "-checkend",
                    &secs.to_string(),
                ],
                &dir,
            )
            .0
        };
        let ten_years = VALIDITY_DAYS * 86_400;
        assert!(
            checkend(ten_years - 3600) && !checkend(ten_years + 3600),
            "{cluster}: not a ten-year certificate"
        );
        // The key belongs to the certificate, by openssl's reading of both.
        let from_key = openssl(&["pkey", "-in", "ca-key.pem", "-pubout"], &dir).1;
        let from_cert = openssl(&["x509", "-in", "ca-cert.pem", "-noout", "-pubkey"], &dir).1;
        assert_eq!(from_key, from_cert);
    }

    // pathlen:0 in openssl's reading: a CA under the intermediate cannot issue.
    let dir = out.join("cluster1");
    let (sub_cert, sub_key) = sub_ca_from(
        &read(&dir.join("ca-cert.pem")),
        &read(&dir.join("ca-key.pem")),
    );
    let leaf = leaf_from(&sub_cert, &sub_key);
    let scratch_dir = tempfile::tempdir().unwrap();
    std::fs::write(scratch_dir.path().join("leaf.pem"), leaf.pem()).unwrap();
    std::fs::write(
        scratch_dir.path().join("untrusted.pem"),
        sub_cert + &read(&dir.join("ca-cert.pem")),
    )
    .unwrap();
    std::fs::copy(
        out.join("root-cert.pem"),
        scratch_dir.path().join("root.pem"),
    )
    .unwrap();
    let (ok, verify) = openssl(
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "untrusted.pem",
            "leaf.pem",
        ],
        scratch_dir.path(),
    );
    assert!(!ok, "{verify}");
    assert!(
        verify.contains("path length constraint exceeded"),
        "{verify}"
    );
}
