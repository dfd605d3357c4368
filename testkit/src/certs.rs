//! Certificates issued under the mesh's CAs, to prove what those CAs may sign.

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// A workload-like server certificate issued by a cluster's intermediate.
pub fn leaf_from(issuer_cert: &str, issuer_key: &str) -> rcgen::Certificate {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let issuer_key = KeyPair::from_pem(issuer_key).unwrap();
    let issuer = Issuer::from_ca_cert_pem(issuer_cert, issuer_key).unwrap();
    let mut params = CertificateParams::new(vec!["helloworld.sample.svc".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = OffsetDateTime::now_utc() - Duration::minutes(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(1);
    params.signed_by(&key, &issuer).unwrap()
}

/// A CA (no path length limit) issued by `issuer`, as (cert PEM, key PEM).
pub fn sub_ca_from(issuer_cert: &str, issuer_key: &str) -> (String, String) {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let issuer =
        Issuer::from_ca_cert_pem(issuer_cert, KeyPair::from_pem(issuer_key).unwrap()).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Sub CA");
    params.not_before = OffsetDateTime::now_utc() - Duration::minutes(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(1);
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}
