//! The mesh's CA files: chains verified in Rust (rustls-webpki, x509-parser), Istio's
//! reference fields, idempotence, tampered inputs and file modes. openssl's second opinion is
//! testkit/tests/certs_openssl.rs.
//!
//! Tests that are not about the key type use ECDSA P-256 (a key in about a millisecond);
//! the RSA 4096 default is exercised by `default_key_type_is_rsa4096_and_chains` and by the
//! openssl second opinion.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use e2e::ErrorKind;
use e2e::certs::issue::{self, ISTIOD_SAN, VALIDITY_DAYS};
use e2e::certs::{
    self, CaLayout, CertsError, ClusterOutcome, EnsureOptions, Fix, KeyType, LOCK_FILE, Outcome,
    Report, cacerts_secret,
};
use e2e::config::{ClusterName, Topology};
use rcgen::KeyPair;
use rustls_pki_types::{CertificateDer, UnixTime};
use testkit::certs::{leaf_from, sub_ca_from};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_X509_COMMON_NAME, OID_X509_LOCALITY_NAME,
    OID_X509_ORGANIZATION_NAME,
};
use x509_parser::pem::Pem;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Version;

// ---------------------------------------------------------------- helpers

fn name(s: &str) -> ClusterName {
    s.parse().expect("valid cluster name")
}

fn default_clusters() -> Vec<ClusterName> {
    Topology::default().cluster_names().cloned().collect()
}

const ECDSA: EnsureOptions = EnsureOptions {
    key_type: KeyType::EcdsaP256,
    force: false,
};

/// A fresh temp dir whose `certs/` does not exist yet (so `ensure` creates it).
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("certs");
    (tmp, out)
}

/// A full ECDSA set for the default topology.
fn ecdsa_set() -> (tempfile::TempDir, PathBuf, Report) {
    let (tmp, out) = scratch();
    let report = certs::ensure(&out, &default_clusters(), ECDSA).unwrap();
    (tmp, out, report)
}

/// Every file under `dir` but the lock file, by relative path, with its text.
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(base: &Path, dir: &Path, acc: &mut BTreeMap<PathBuf, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, acc);
            } else if !path.ends_with(LOCK_FILE) {
                let text = std::fs::read_to_string(&path).unwrap();
                acc.insert(path.strip_prefix(base).unwrap().to_owned(), text);
            }
        }
    }
    let mut acc = BTreeMap::new();
    walk(dir, dir, &mut acc);
    acc
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The DER of each certificate in a PEM file.
fn ders(path: &Path) -> Vec<Vec<u8>> {
    Pem::iter_from_buffer(read(path).as_bytes())
        .map(|p| p.unwrap().contents)
        .collect()
}

fn der(path: &Path) -> Vec<u8> {
    let mut all = ders(path);
    assert_eq!(all.len(), 1, "{} holds one certificate", path.display());
    all.remove(0)
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    x509_parser::parse_x509_certificate(der).unwrap().1
}

/// The subject as (attribute, value) pairs in order.
fn subject(cert: &X509Certificate<'_>) -> Vec<(&'static str, String)> {
    cert.subject()
        .iter_attributes()
        .map(|a| {
            let kind = match a.attr_type() {
                t if *t == OID_X509_ORGANIZATION_NAME => "O",
                t if *t == OID_X509_COMMON_NAME => "CN",
                t if *t == OID_X509_LOCALITY_NAME => "L",
                t => panic!("unexpected subject attribute {t}"),
            };
            (kind, a.as_str().unwrap().to_owned())
        })
        .collect()
}

fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .expect("a subject key identifier")
}

fn aki(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                Some(a.key_identifier.as_ref().expect("keyid").0.to_vec())
            }
            _ => None,
        })
}

/// rustls-webpki: does `leaf` chain to `root` through `intermediates`?
fn webpki_verify(root: &[u8], intermediates: &[Vec<u8>], leaf: &[u8]) -> Result<(), webpki::Error> {
    let root = CertificateDer::from(root.to_vec());
    let anchor = webpki::anchor_from_trusted_cert(&root)?;
    let leaf = CertificateDer::from(leaf.to_vec());
    let ee = webpki::EndEntityCert::try_from(&leaf)?;
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &intermediates,
        UnixTime::now(),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map(|_| ())
}

/// The error must name `path`, carry a fix, count as bad input, and quote no key.
fn assert_actionable(err: &CertsError, path: &Path, out: &Path) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "names {}: {msg}",
        path.display()
    );
    assert!(msg.contains("fix: "), "says what to do: {msg}");
    assert_eq!(err.kind(), ErrorKind::BadInput, "bad input (exit 2): {msg}");
    assert_no_key_material(&msg, out);
}

/// No line of any private key under `out` appears in `text`.
fn assert_no_key_material(text: &str, out: &Path) {
    for (path, pem) in tree(out) {
        if path.to_string_lossy().ends_with("key.pem") {
            for line in pem.lines().filter(|l| !l.starts_with("-----")) {
                assert!(
                    !text.contains(line),
                    "key material of {} in: {text}",
                    path.display()
                );
            }
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Makes `path` owner-only, as a key must be to be read at all.
fn private(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

// ---------------------------------------------------------------- chains

#[test]
fn every_cluster_chains_to_the_root_in_webpki() {
    let (_tmp, out, report) = ecdsa_set();
    let layout = CaLayout::new(&out);
    let root = der(&layout.root_cert());
    assert_eq!(report.clusters.len(), 2);
    for c in &report.clusters {
        let files = layout.cluster(&c.cluster);
        let leaf = leaf_from(&read(&files.ca_cert()), &read(&files.ca_key()));
        // The chain as istiod serves it: cert-chain.pem minus the root.
        let chain = ders(&files.cert_chain());
        webpki_verify(&root, &chain[..1], leaf.der())
            .unwrap_or_else(|e| panic!("{}: {e:?}", c.cluster));
        // And not without the intermediate, nor under another root.
        assert!(webpki_verify(&root, &[], leaf.der()).is_err());
        let (_other_tmp, other_out, _) = ecdsa_set();
        let foreign_root = der(&CaLayout::new(&other_out).root_cert());
        assert!(webpki_verify(&foreign_root, &chain[..1], leaf.der()).is_err());
    }
}

#[test]
fn pathlen_zero_forbids_a_ca_under_the_intermediate() {
    let (_tmp, out, _) = ecdsa_set();
    let layout = CaLayout::new(&out);
    let files = layout.cluster(&name("cluster1"));
    let root = der(&layout.root_cert());
    let intermediate = der(&files.ca_cert());

    let (sub_cert, sub_key) = sub_ca_from(&read(&files.ca_cert()), &read(&files.ca_key()));
    let leaf = leaf_from(&sub_cert, &sub_key);
    let sub = Pem::iter_from_buffer(sub_cert.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .contents;
    let err = webpki_verify(&root, &[sub, intermediate], leaf.der()).unwrap_err();
    assert_eq!(err, webpki::Error::PathLenConstraintViolated);

    // Control: the same construction under the root (no pathlen) verifies, so the failure
    // above is the intermediate's pathlen and nothing else.
    let (sub_cert, sub_key) = sub_ca_from(&read(&layout.root_cert()), &read(&layout.root_key()));
    let leaf = leaf_from(&sub_cert, &sub_key);
    let sub = Pem::iter_from_buffer(sub_cert.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .contents;
    webpki_verify(&root, &[sub], leaf.der()).unwrap();
}

// ---------------------------------------------------------------- fields

#[test]
fn fields_are_those_of_istios_reference() {
    let before = OffsetDateTime::now_utc().unix_timestamp();
    let (_tmp, out, _) = ecdsa_set();
    let after = OffsetDateTime::now_utc().unix_timestamp();
    let layout = CaLayout::new(&out);
    let ten_years = Duration::days(VALIDITY_DAYS).whole_seconds();

    let root_der = der(&layout.root_cert());
    let root = parse(&root_der);
    assert_eq!(root.version(), X509Version::V3);
    assert_eq!(
        subject(&root),
        [("O", "Istio".into()), ("CN", "Root CA".into())]
    );
    assert_eq!(
        root.issuer().as_raw(),
        root.subject().as_raw(),
        "self-signed"
    );
    root.verify_signature(None).unwrap();
    let bc = root.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && bc.value.ca);
    assert_eq!(
        bc.value.path_len_constraint, None,
        "the root has no pathlen"
    );
    let ku = root.key_usage().unwrap().unwrap();
    assert!(ku.critical);
    // digitalSignature, nonRepudiation, keyEncipherment, keyCertSign: bits 0, 1, 2, 5.
    assert_eq!(ku.value.flags, 0b10_0111, "{}", ku.value);
    assert!(
        root.subject_alternative_name().unwrap().is_none(),
        "the root has no SAN"
    );
    let root_ski = ski(&root);
    assert_eq!(
        root.signature_algorithm.algorithm,
        OID_SIG_ECDSA_WITH_SHA256
    );
    let nb = root.validity().not_before.timestamp();
    assert!(
        (before..=after).contains(&nb),
        "not before ≈ now: {nb} not in {before}..={after}"
    );
    assert_eq!(root.validity().not_after.timestamp() - nb, ten_years);

    for cluster in default_clusters() {
        let files = layout.cluster(&cluster);
        let ca_der = der(&files.ca_cert());
        let ca = parse(&ca_der);
        assert_eq!(ca.version(), X509Version::V3);
        assert_eq!(
            subject(&ca),
            [
                ("O", "Istio".into()),
                ("CN", "Intermediate CA".into()),
                ("L", cluster.to_string())
            ]
        );
        assert_eq!(ca.issuer().as_raw(), root.subject().as_raw());
        ca.verify_signature(Some(root.public_key())).unwrap();
        let bc = ca.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && bc.value.ca);
        assert_eq!(bc.value.path_len_constraint, Some(0));
        let ku = ca.key_usage().unwrap().unwrap();
        assert!(ku.critical);
        assert_eq!(ku.value.flags, 0b10_0111, "{}", ku.value);
        let san = ca.subject_alternative_name().unwrap().unwrap();
        assert_eq!(san.value.general_names, [GeneralName::DNSName(ISTIOD_SAN)]);
        assert_eq!(aki(&ca), Some(root_ski.clone()), "AKI names the root's SKI");
        assert_ne!(ski(&ca), root_ski);
        let nb = ca.validity().not_before.timestamp();
        assert!((before..=after).contains(&nb));
        assert_eq!(ca.validity().not_after.timestamp() - nb, ten_years);
        assert_eq!(ca.signature_algorithm.algorithm, OID_SIG_ECDSA_WITH_SHA256);
        assert_eq!(
            ca.public_key().algorithm.algorithm,
            OID_KEY_TYPE_EC_PUBLIC_KEY
        );

        // The root copy is the root; the chain is the intermediate then the root.
        assert_eq!(read(&files.root_cert()), read(&layout.root_cert()));
        assert_eq!(
            ders(&files.cert_chain()),
            [ca_der.clone(), root_der.clone()]
        );
        assert!(
            !files.dir().join("root-key.pem").exists(),
            "the root key stays at the top"
        );
    }
}

#[test]
fn default_key_type_is_rsa4096_and_chains() {
    assert_eq!(KeyType::default(), KeyType::Rsa4096);
    let (_tmp, out) = scratch();
    let started = Instant::now();
    certs::ensure(&out, &default_clusters(), EnsureOptions::default()).unwrap();
    eprintln!(
        "default set (3 x RSA 4096), this build: {:.2?}",
        started.elapsed()
    );
    let layout = CaLayout::new(&out);
    let root = der(&layout.root_cert());
    let mut certs = vec![root.clone()];
    for cluster in default_clusters() {
        let files = layout.cluster(&cluster);
        certs.push(der(&files.ca_cert()));
        let leaf = leaf_from(&read(&files.ca_cert()), &read(&files.ca_key()));
        webpki_verify(&root, &ders(&files.cert_chain())[..1], leaf.der()).unwrap();
    }
    for d in &certs {
        let cert = parse(d);
        assert_eq!(cert.signature_algorithm.algorithm, OID_PKCS1_SHA256WITHRSA);
        assert_eq!(
            cert.public_key().algorithm.algorithm,
            OID_PKCS1_RSAENCRYPTION
        );
        match cert.public_key().parsed().unwrap() {
            PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 4096),
            other => panic!("expected an RSA key, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- idempotence

#[test]
fn rerun_reuses_everything_byte_identical() {
    let (_tmp, out, first) = ecdsa_set();
    assert_eq!(first.root, Outcome::Created);
    assert!(first.clusters.iter().all(|c| c.outcome == Outcome::Created));
    let before = tree(&out);
    // Even with the other key type requested: existing keys keep theirs.
    let again = certs::ensure(&out, &default_clusters(), EnsureOptions::default()).unwrap();
    assert_eq!(again.root, Outcome::Reused);
    assert!(
        again.clusters.iter().all(|c| c.outcome == Outcome::Reused),
        "{again:?}"
    );
    assert_eq!(tree(&out), before);
}

#[test]
fn adding_a_cluster_adds_exactly_one_intermediate() {
    let (_tmp, out, _) = ecdsa_set();
    let before = tree(&out);
    let three = Topology::parse(
        include_str!("../../fixtures/topology/three-clusters.toml"),
        Path::new("three.toml"),
    )
    .unwrap();
    let clusters: Vec<_> = three.cluster_names().cloned().collect();
    let report = certs::ensure(&out, &clusters, ECDSA).unwrap();
    assert_eq!(report.root, Outcome::Reused);
    let outcomes: Vec<_> = report
        .clusters
        .iter()
        .map(|c| (c.cluster.as_str(), c.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("cluster1", Outcome::Reused),
            ("cluster2", Outcome::Reused),
            ("cluster3", Outcome::Created)
        ]
    );

    let after = tree(&out);
    let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(
        added,
        [
            "cluster3/ca-cert.pem",
            "cluster3/ca-key.pem",
            "cluster3/cert-chain.pem",
            "cluster3/root-cert.pem"
        ]
        .map(Path::new)
    );
    assert!(
        before.iter().all(|(k, v)| after.get(k) == Some(v)),
        "nothing else changed"
    );
    // The new intermediate hangs off the root the other clusters already trust: signed by
    // it, naming it as issuer and authority key, and shipping a copy of it.
    let root_der = der(&CaLayout::new(&out).root_cert());
    let (root, ca3) = (parse(&root_der), der(&out.join("cluster3/ca-cert.pem")));
    let ca3 = parse(&ca3);
    ca3.verify_signature(Some(root.public_key())).unwrap();
    assert_eq!(ca3.issuer(), root.subject());
    assert_eq!(aki(&ca3), Some(ski(&root)));
    assert_eq!(
        read(&out.join("cluster3/root-cert.pem")),
        before[Path::new("root-cert.pem")],
        "cluster3 ships the root that was there before"
    );
}

#[test]
fn force_regenerates_everything_and_says_so() {
    let (_tmp, out, _) = ecdsa_set();
    let before = tree(&out);
    let report = certs::ensure(
        &out,
        &default_clusters(),
        EnsureOptions {
            force: true,
            ..ECDSA
        },
    )
    .unwrap();
    assert_eq!(report.root, Outcome::Regenerated);
    assert!(
        report
            .clusters
            .iter()
            .all(|c| c.outcome == Outcome::Regenerated)
    );
    let after = tree(&out);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "same files, no leftovers"
    );
    for (path, text) in &after {
        assert_ne!(
            before.get(path),
            Some(text),
            "{} was regenerated",
            path.display()
        );
    }
    // The new set is consistent: a plain run now reuses it.
    let again = certs::ensure(&out, &default_clusters(), ECDSA).unwrap();
    assert_eq!(again.root, Outcome::Reused);
}

#[test]
fn force_repairs_a_tampered_set() {
    let (_tmp, out, _) = ecdsa_set();
    std::fs::write(out.join("cluster1/ca-cert.pem"), "garbage").unwrap();
    certs::ensure(&out, &default_clusters(), ECDSA).unwrap_err();
    certs::ensure(
        &out,
        &default_clusters(),
        EnsureOptions {
            force: true,
            ..ECDSA
        },
    )
    .unwrap();
    certs::load_cluster(&out, &name("cluster1")).unwrap();
}

#[test]
fn concurrent_runs_make_one_root() {
    let (_tmp, out) = scratch();
    let runs: Vec<Report> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| certs::ensure(&out, &default_clusters(), ECDSA).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = runs.iter().filter(|r| r.root == Outcome::Created).count();
    assert_eq!(created, 1, "exactly one run made the root: {runs:?}");
    for cluster in default_clusters() {
        certs::load_cluster(&out, &cluster).unwrap();
    }
}

// ---------------------------------------------------------------- tampered inputs

/// Runs `ensure` with a third cluster on a tampered set: it must fail with nothing written.
fn ensure_fails_unchanged(out: &Path) -> CertsError {
    let before = tree(out);
    let mut clusters = default_clusters();
    clusters.push(name("cluster3"));
    let err = certs::ensure(out, &clusters, ECDSA).unwrap_err();
    assert_eq!(tree(out), before, "a failed run changes nothing");
    assert!(!out.join("cluster3").exists());
    err
}

#[test]
fn mismatched_root_key_is_refused() {
    let (_tmp, out, _) = ecdsa_set();
    let layout = CaLayout::new(&out);
    let other = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    std::fs::write(layout.root_key(), other.serialize_pem()).unwrap();
    let err = ensure_fails_unchanged(&out);
    match &err {
        CertsError::KeyMismatch { key, cert, fix } => {
            assert_eq!(
                (key, cert, fix),
                (&layout.root_key(), &layout.root_cert(), &Fix::Root)
            );
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
    assert_actionable(&err, &layout.root_key(), &out);
    // How to regenerate (`--force`) is the CLI's hint: xtask/tests/cli_certs.rs.
    assert!(
        err.to_string().contains("or regenerate everything"),
        "{err}"
    );
}

#[test]
fn mismatched_intermediate_key_is_refused() {
    let (_tmp, out, _) = ecdsa_set();
    let files = CaLayout::new(&out).cluster(&name("cluster2"));
    std::fs::copy(out.join("cluster1/ca-key.pem"), files.ca_key()).unwrap();
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::KeyMismatch { key, .. } if *key == files.ca_key()),
        "{err:?}"
    );
    assert_actionable(&err, &files.ca_key(), &out);
    assert!(
        err.to_string()
            .contains(&format!("delete {}", files.dir().display())),
        "{err}"
    );
}

#[test]
fn foreign_intermediate_is_refused() {
    let (_tmp, out, _) = ecdsa_set();
    let (_other_tmp, other_out, _) = ecdsa_set();
    let files = CaLayout::new(&out).cluster(&name("cluster1"));
    // A whole, self-consistent cluster directory from another root.
    std::fs::remove_dir_all(files.dir()).unwrap();
    std::fs::create_dir(files.dir()).unwrap();
    for (path, text) in tree(&other_out.join("cluster1")) {
        std::fs::write(files.dir().join(path), text).unwrap();
    }
    private(&files.ca_key());
    let err = ensure_fails_unchanged(&out);
    match &err {
        CertsError::NotSignedByRoot {
            cert, root, fix, ..
        } => {
            assert_eq!(cert, &files.ca_cert());
            assert_eq!(root, &CaLayout::new(&out).root_cert());
            assert_eq!(fix, &Fix::Cluster(files.dir().to_owned()));
        }
        other => panic!("expected NotSignedByRoot, got {other:?}"),
    }
    assert_actionable(&err, &files.ca_cert(), &out);
    assert!(
        certs::load_cluster(&out, &name("cluster1")).is_err(),
        "the loader refuses it too"
    );
}

#[test]
fn expired_root_is_refused() {
    let (_tmp, out) = scratch();
    std::fs::create_dir(&out).unwrap();
    let layout = CaLayout::new(&out);
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let eleven_years_ago = OffsetDateTime::now_utc() - Duration::days(VALIDITY_DAYS + 365);
    let cert = issue::root_params(eleven_years_ago)
        .self_signed(&key)
        .unwrap();
    std::fs::write(layout.root_cert(), cert.pem()).unwrap();
    std::fs::write(layout.root_key(), key.serialize_pem()).unwrap();
    private(&layout.root_key());
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::Expired { path, .. } if *path == layout.root_cert()),
        "{err:?}"
    );
    assert_actionable(&err, &layout.root_cert(), &out);
    assert!(err.to_string().contains("expired on"), "{err}");
}

#[test]
fn root_from_the_future_is_refused() {
    let (_tmp, out) = scratch();
    let tomorrow = OffsetDateTime::now_utc() + Duration::days(1);
    certs::ensure_at(&out, &default_clusters(), ECDSA, tomorrow).unwrap();
    let err = ensure_fails_unchanged(&out);
    assert!(matches!(&err, CertsError::NotYetValid { .. }), "{err:?}");
    assert_actionable(&err, &CaLayout::new(&out).root_cert(), &out);
}

#[test]
fn garbled_pem_is_refused_naming_the_file() {
    for victim in [
        "root-cert.pem",
        "root-key.pem",
        "cluster2/ca-cert.pem",
        "cluster2/ca-key.pem",
        "cluster2/cert-chain.pem",
    ] {
        let (_tmp, out, _) = ecdsa_set();
        let path = out.join(victim);
        let original = read(&path);
        // Cut the file in half, as a bad copy would.
        std::fs::write(&path, &original[..original.len() / 2]).unwrap();
        let err = ensure_fails_unchanged(&out);
        assert!(
            matches!(&err, CertsError::Garbled { path: p, .. } if *p == path),
            "{victim}: {err:?}"
        );
        assert_actionable(&err, &path, &out);
    }
}

#[test]
fn a_certificate_where_a_key_belongs_is_refused() {
    let (_tmp, out, _) = ecdsa_set();
    let layout = CaLayout::new(&out);
    std::fs::copy(layout.root_cert(), layout.root_key()).unwrap();
    private(&layout.root_key());
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::Garbled { path, .. } if *path == layout.root_key()),
        "{err:?}"
    );
}

#[test]
fn half_written_sets_are_refused() {
    // A root key without its certificate.
    let (_tmp, out, _) = ecdsa_set();
    let layout = CaLayout::new(&out);
    std::fs::remove_file(layout.root_cert()).unwrap();
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::Missing { path, present, .. } if *path == layout.root_cert() && *present == layout.root_key()),
        "{err:?}"
    );
    assert_actionable(&err, &layout.root_cert(), &out);

    // Intermediates without any root.
    std::fs::remove_file(layout.root_key()).unwrap();
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::Missing { path, .. } if *path == layout.root_cert()),
        "{err:?}"
    );

    // A cluster directory missing one file.
    let (_tmp, out, _) = ecdsa_set();
    let files = CaLayout::new(&out).cluster(&name("cluster1"));
    std::fs::remove_file(files.cert_chain()).unwrap();
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::Missing { path, .. } if *path == files.cert_chain()),
        "{err:?}"
    );
    assert_actionable(&err, &files.cert_chain(), &out);
}

#[test]
fn stale_copies_of_the_root_are_refused() {
    let (_tmp, out, _) = ecdsa_set();
    let (_other_tmp, other_out, _) = ecdsa_set();
    let files = CaLayout::new(&out).cluster(&name("cluster2"));
    std::fs::copy(other_out.join("root-cert.pem"), files.root_cert()).unwrap();
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::CopyMismatch { path, .. } if *path == files.root_cert()),
        "{err:?}"
    );
    assert_actionable(&err, &files.root_cert(), &out);

    let (_tmp, out, _) = ecdsa_set();
    let files = CaLayout::new(&out).cluster(&name("cluster2"));
    // The chain in the wrong order.
    std::fs::write(
        files.cert_chain(),
        read(&files.root_cert()) + &read(&files.ca_cert()),
    )
    .unwrap();
    let err = ensure_fails_unchanged(&out);
    assert!(
        matches!(&err, CertsError::CopyMismatch { path, .. } if *path == files.cert_chain()),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- files

#[test]
fn keys_are_0600_certs_0644_created_dirs_0700() {
    let (tmp, out) = scratch();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = certs::ensure(&out, &default_clusters(), ECDSA).unwrap();
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("root-key.pem")), 0o600);
    assert_eq!(mode(&out.join("root-cert.pem")), 0o644);
    for ClusterOutcome { dir, .. } in &report.clusters {
        assert_eq!(mode(dir), 0o700);
        assert_eq!(mode(&dir.join("ca-key.pem")), 0o600);
        for cert in ["ca-cert.pem", "cert-chain.pem", "root-cert.pem"] {
            assert_eq!(mode(&dir.join(cert)), 0o644, "{cert}");
        }
    }
    // Regenerated files keep the same modes.
    certs::ensure(
        &out,
        &default_clusters(),
        EnsureOptions {
            force: true,
            ..ECDSA
        },
    )
    .unwrap();
    assert_eq!(mode(&out.join("root-key.pem")), 0o600);
    assert_eq!(mode(&out.join("cluster1/ca-key.pem")), 0o600);
    assert_eq!(mode(&out.join("cluster1")), 0o700);
    // No temp files or directories left behind, at any level.
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".certs.lock",
            "cluster1",
            "cluster2",
            "root-cert.pem",
            "root-key.pem"
        ]
    );
    assert!(
        tree(&out)
            .keys()
            .all(|p| !p.to_string_lossy().contains(".tmp"))
    );
    // The parent we did not create keeps its own mode.
    assert_eq!(
        mode(tmp.path()),
        0o755,
        "a parent we did not create is untouched"
    );
}

#[test]
fn an_existing_out_dir_keeps_its_mode() {
    let (_tmp, out) = scratch();
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o750)).unwrap();
    certs::ensure(&out, &default_clusters(), ECDSA).unwrap();
    assert_eq!(mode(&out), 0o750);
    assert_eq!(mode(&out.join("root-key.pem")), 0o600);
}

// ---------------------------------------------------------------- loader and Secret

#[test]
fn loader_returns_the_files_for_the_cacerts_secret() {
    let (_tmp, out, _) = ecdsa_set();
    for cluster in default_clusters() {
        let files = CaLayout::new(&out).cluster(&cluster);
        let pem = certs::load_cluster(&out, &cluster).unwrap();
        assert_eq!(pem.ca_cert, read(&files.ca_cert()));
        assert_eq!(pem.ca_key, read(&files.ca_key()));
        assert_eq!(pem.root_cert, read(&files.root_cert()));
        assert_eq!(pem.cert_chain, read(&files.cert_chain()));
        assert_no_key_material(&format!("{pem:?}"), &out);

        let secret = cacerts_secret(&pem);
        let data = secret.data.unwrap();
        for (key, path) in [
            ("ca-cert.pem", files.ca_cert()),
            ("ca-key.pem", files.ca_key()),
            ("root-cert.pem", files.root_cert()),
            ("cert-chain.pem", files.cert_chain()),
        ] {
            assert_eq!(data[key].0, std::fs::read(path).unwrap(), "{key}");
        }
        assert_eq!(data.len(), 4);
    }
    let err = certs::load_cluster(&out, &name("cluster9")).unwrap_err();
    assert!(
        matches!(&err, CertsError::NotGenerated { path } if *path == out.join("cluster9")),
        "{err:?}"
    );
    assert!(err.to_string().contains("have not been made yet"), "{err}");
    let (_empty_tmp, empty) = scratch();
    let err = certs::load_cluster(&empty, &name("cluster1")).unwrap_err();
    assert!(
        matches!(&err, CertsError::NotGenerated { path } if *path == empty.join("root-cert.pem")),
        "{err:?}"
    );
}

#[test]
fn reports_print_no_key_material() {
    let (_tmp, out, report) = ecdsa_set();
    assert_no_key_material(&format!("{report:?}"), &out);
}

// ---------------------------------------------------------------- hardening

#[test]
fn a_key_open_to_others_is_refused_not_reused() {
    for (key, cluster, mode_bits) in [
        ("root-key.pem", "cluster1", 0o644),
        ("cluster2/ca-key.pem", "cluster2", 0o640),
        ("cluster1/ca-key.pem", "cluster1", 0o604),
    ] {
        let (_tmp, out, _) = ecdsa_set();
        let key = out.join(key);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode_bits)).unwrap();
        let err = ensure_fails_unchanged(&out);
        assert!(
            matches!(&err, CertsError::KeyOpenToOthers { path, mode } if *path == key && *mode == mode_bits),
            "{err:?}"
        );
        assert_actionable(&err, &key, &out);
        assert!(
            err.to_string()
                .contains(&format!("fix: chmod 600 {}", key.display())),
            "{err}"
        );
        // Reading the set for a cacerts Secret refuses it too.
        let err = certs::load_cluster(&out, &name(cluster)).unwrap_err();
        assert!(matches!(err, CertsError::KeyOpenToOthers { .. }), "{err:?}");
    }
}

/// What `write_atomic` leaves behind when the process dies before its rename: the content
/// in a `.tmp-` file beside the target.
fn orphan(dir: &Path, suffix: &str, content: &str, mode_bits: u32) -> PathBuf {
    let path = dir.join(format!(".tmp-{suffix}"));
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode_bits)).unwrap();
    path
}

/// A directory as a killed run leaves it: the root key renamed into place, the root
/// certificate still in its temp file, a cluster's staging directory half-filled.
fn killed_between_the_root_renames() -> (tempfile::TempDir, PathBuf, String, String) {
    let (_done_tmp, done, _) = ecdsa_set();
    let (tmp, out) = scratch();
    std::fs::create_dir(&out).unwrap();
    let key = read(&done.join("root-key.pem"));
    let cert = read(&done.join("root-cert.pem"));
    std::fs::write(out.join("root-key.pem"), &key).unwrap();
    private(&out.join("root-key.pem"));
    orphan(&out, "a1B2c3", &cert, 0o644);
    // Another run's certificate, cut short too: not ours, never taken.
    orphan(
        &out,
        "x9Y8z7",
        &read(&done.join("cluster1/ca-cert.pem")),
        0o644,
    );
    orphan(&out, "k0Ey00", "-----BEGIN PRIVATE KEY-----\nhalf", 0o600);
    let staged = out.join(".cluster1.new-Q1w2E3");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("ca-key.pem"), "half a key").unwrap();
    (tmp, out, key, cert)
}

#[test]
fn a_run_killed_between_the_root_renames_is_completed_not_regenerated() {
    let (_tmp, out, key, cert) = killed_between_the_root_renames();
    let report = certs::ensure(&out, &default_clusters(), ECDSA).unwrap();
    assert_eq!(report.root, Outcome::Completed);
    assert_eq!(read(&out.join("root-key.pem")), key, "the key is kept");
    assert_eq!(
        read(&out.join("root-cert.pem")),
        cert,
        "the orphaned certificate is used"
    );
    assert_eq!(mode(&out.join("root-cert.pem")), 0o644);
    for c in &report.clusters {
        assert_eq!(c.outcome, Outcome::Created);
        assert_eq!(read(&c.dir.join("root-cert.pem")), cert);
    }
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".certs.lock",
            "cluster1",
            "cluster2",
            "root-cert.pem",
            "root-key.pem"
        ],
        "what the killed run left is cleaned up"
    );
    let again = certs::ensure(&out, &default_clusters(), ECDSA).unwrap();
    assert_eq!(again.root, Outcome::Reused);
}

#[test]
fn before_completion_reading_the_set_says_how_to_finish_it() {
    let (_tmp, out, _, _) = killed_between_the_root_renames();
    let before = tree(&out);
    let err = certs::load_cluster(&out, &name("cluster1")).unwrap_err();
    assert!(
        matches!(&err, CertsError::RootUnfinished { cert, orphan } if *cert == out.join("root-cert.pem") && *orphan == out.join(".tmp-a1B2c3")),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert_eq!(tree(&out), before, "reading changes nothing");
}

#[test]
fn a_root_key_without_a_certificate_names_the_file_to_remove() {
    let (_tmp, out, _, _) = killed_between_the_root_renames();
    std::fs::remove_file(out.join(".tmp-a1B2c3")).unwrap();
    let err = certs::ensure(&out, &default_clusters(), ECDSA).unwrap_err();
    let key = out.join("root-key.pem");
    assert!(
        matches!(&err, CertsError::Missing { fix: Fix::Remove(path), .. } if *path == key),
        "{err:?}"
    );
    assert_actionable(&err, &key, &out);
    assert!(
        err.to_string()
            .contains(&format!("fix: remove {}", key.display())),
        "{err}"
    );
    assert!(!out.join("cluster1").exists(), "nothing issued from it");
}

#[test]
fn the_lock_file_is_private() {
    let (_tmp, out, _) = ecdsa_set();
    assert_eq!(mode(&out.join(LOCK_FILE)), 0o600);
}

#[test]
fn an_out_dir_open_to_others_is_reported_and_kept() {
    let (_tmp, out, report) = ecdsa_set();
    assert_eq!(report.warnings, [], "a directory we create is private");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o751)).unwrap();
    let report = certs::ensure(&out, &default_clusters(), ECDSA).unwrap();
    assert_eq!(
        report.warnings,
        [certs::Warning::OpenDir {
            path: out.clone(),
            mode: 0o751
        }]
    );
    let text = report.warnings[0].to_string();
    assert!(
        text.contains(&format!("chmod 700 {}", out.display())),
        "{text}"
    );
    assert_eq!(mode(&out), 0o751);
}

#[test]
fn an_out_that_is_a_file_is_bad_input() {
    let (tmp, out) = scratch();
    std::fs::write(&out, "mine").unwrap();
    for asked in [out.clone(), out.join("deeper")] {
        let err = certs::ensure(&asked, &default_clusters(), ECDSA).unwrap_err();
        assert!(
            matches!(&err, CertsError::NotADirectory(path) if *path == out),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::BadInput);
    }
    assert_eq!(read(&out), "mine");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing written beside it"
    );
}

#[test]
fn an_unreadable_certs_dir_is_an_error_naming_it() {
    let (_tmp, out) = scratch();
    // Cannot be opened even by root: a symlink to itself.
    std::os::unix::fs::symlink(&out, &out).unwrap();
    let err = certs::load_cluster(&out, &name("cluster1")).unwrap_err();
    assert!(
        matches!(&err, CertsError::Io { path, .. } if *path == out),
        "not `not generated`: {err:?}"
    );
    assert!(
        err.to_string().contains(&out.display().to_string()),
        "{err}"
    );
}
