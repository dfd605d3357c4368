//! The certificates themselves: the fields Istio's own CA tooling sets, as rcgen
//! parameters, signed.
//!
//! Every field comes from Istio's own CA tooling, `tools/certs/Makefile.selfsigned.mk` and
//! `tools/certs/common.mk` (the same from istio/istio@1.22.0 to 1.31; cited at 1.24.1
//! below). One deliberate difference: the key identifiers
//! are rcgen's truncated SHA-256 of the public key (RFC 7093) rather than openssl's SHA-1
//! (`subjectKeyIdentifier=hash`); verifiers only compare SKI with AKI, never recompute it.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use super::{CertsError, KeyType};
use crate::config::ClusterName;

/// `ROOTCA_DAYS` and `INTERMEDIATE_DAYS` (istio/istio@1.24.1:tools/certs/common.mk).
pub const VALIDITY_DAYS: i64 = 3650;
/// `ROOTCA_ORG` and `INTERMEDIATE_ORG` (istio/istio@1.24.1:tools/certs/common.mk).
pub const ORGANIZATION: &str = "Istio";
/// `ROOTCA_CN` (istio/istio@1.24.1:tools/certs/common.mk).
pub const ROOT_CN: &str = "Root CA";
/// `INTERMEDIATE_CN` (istio/istio@1.24.1:tools/certs/common.mk).
pub const INTERMEDIATE_CN: &str = "Intermediate CA";
/// `INTERMEDIATE_SAN_DNS` (istio/istio@1.24.1:tools/certs/common.mk).
pub const ISTIOD_SAN: &str = "istiod.istio-system.svc";

/// A newly issued CA: certificate and key as PEM. No `Debug`: it holds a private key.
pub(crate) struct IssuedCa {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The key usages of both CAs: `keyUsage=critical, digitalSignature, nonRepudiation,
/// keyEncipherment, keyCertSign`, in both CA configs of istio/istio@1.24.1:tools/certs/common.mk.
fn ca_key_usages() -> Vec<KeyUsagePurpose> {
    vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ]
}

/// Valid from `now` (to the second, as X.509 times are) for ten years.
fn validity(params: &mut CertificateParams, now: OffsetDateTime) {
    let start = now.replace_nanosecond(0).expect("0 is a valid nanosecond");
    params.not_before = start;
    params.not_after = start + Duration::days(VALIDITY_DAYS);
}

/// `O=Istio, CN=Root CA`, CA without a path length, no SAN, self-signed.
pub fn root_params(now: OffsetDateTime) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, ROOT_CN);
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = ca_key_usages();
    validity(&mut params, now);
    params
}

/// `O=Istio, CN=Intermediate CA, L=<cluster>` (the order of the `intermediate.conf` that
/// istio/istio@1.24.1:tools/certs/common.mk writes),
/// CA with pathlen 0, SAN `DNS:istiod.istio-system.svc`, AKI naming the root.
pub fn intermediate_params(
    cluster: &ClusterName,
    now: OffsetDateTime,
) -> Result<CertificateParams, CertsError> {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, INTERMEDIATE_CN);
    dn.push(DnType::LocalityName, cluster.as_str());
    let san = ISTIOD_SAN
        .try_into()
        .map_err(|source| CertsError::Generate {
            what: "intermediate's SAN",
            source,
        })?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = ca_key_usages();
    params.subject_alt_names = vec![SanType::DnsName(san)];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, now);
    Ok(params)
}

/// A new self-signed root with a fresh key.
pub(crate) fn issue_root(key_type: KeyType, now: OffsetDateTime) -> Result<IssuedCa, CertsError> {
    let key = key_type.generate()?;
    let cert = root_params(now)
        .self_signed(&key)
        .map_err(|source| CertsError::Generate {
            what: "root certificate",
            source,
        })?;
    Ok(IssuedCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A new intermediate for `cluster` with a fresh key, signed by the root as it is on disk
/// (its subject and key identifier are read from the certificate, so a root made by
/// Istio's Makefile works too).
pub(crate) fn issue_intermediate(
    root_cert_pem: &str,
    root_key: &KeyPair,
    cluster: &ClusterName,
    key_type: KeyType,
    now: OffsetDateTime,
) -> Result<IssuedCa, CertsError> {
    let issuer = Issuer::from_ca_cert_pem(root_cert_pem, root_key).map_err(|source| {
        CertsError::Generate {
            what: "issuer from the root certificate",
            source,
        }
    })?;
    let key = key_type.generate()?;
    let cert = intermediate_params(cluster, now)?
        .signed_by(&key, &issuer)
        .map_err(|source| CertsError::Generate {
            what: "intermediate certificate",
            source,
        })?;
    Ok(IssuedCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}
