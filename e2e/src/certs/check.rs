//! Trusting CA files already on disk: parse them, and check that each key belongs to its
//! certificate, that each intermediate is signed by the root, and that all are in date.

use std::path::{Path, PathBuf};

use rcgen::KeyPair;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;

use super::{CertsError, Fix};

/// Reads a file as text; a missing file is an I/O error here (callers check presence first).
pub(crate) fn read_text(path: &Path) -> Result<String, CertsError> {
    std::fs::read_to_string(path).map_err(CertsError::io("read", path))
}

/// The DER of every PEM `CERTIFICATE` block in `text`, in order; anything else is garbled.
pub(crate) fn parse_cert_blocks(
    path: &Path,
    text: &str,
    fix: &Fix,
) -> Result<Vec<Vec<u8>>, CertsError> {
    let garbled = |detail: String| CertsError::Garbled {
        path: path.to_owned(),
        expected: "PEM certificates",
        detail,
        fix: fix.clone(),
    };
    let mut blocks = Vec::new();
    for pem in Pem::iter_from_buffer(text.as_bytes()) {
        let pem = pem.map_err(|e| garbled(format!("bad PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(garbled(format!(
                "found a `{}` block where a CERTIFICATE was expected",
                pem.label
            )));
        }
        x509_parser::parse_x509_certificate(&pem.contents)
            .map_err(|e| garbled(format!("bad X.509 certificate: {e}")))?;
        blocks.push(pem.contents);
    }
    if blocks.is_empty() {
        return Err(garbled("no `-----BEGIN CERTIFICATE-----` block".into()));
    }
    Ok(blocks)
}

/// The single certificate in `text`.
pub(crate) fn parse_one_cert(path: &Path, text: &str, fix: &Fix) -> Result<Vec<u8>, CertsError> {
    let mut blocks = parse_cert_blocks(path, text, fix)?;
    if blocks.len() != 1 {
        return Err(CertsError::Garbled {
            path: path.to_owned(),
            expected: "exactly one PEM certificate",
            detail: format!("found {} certificates", blocks.len()),
            fix: fix.clone(),
        });
    }
    Ok(blocks.remove(0))
}

/// A PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`), RSA or ECDSA. The error never
/// quotes the file's contents.
pub(crate) fn parse_key(path: &Path, text: &str, fix: &Fix) -> Result<KeyPair, CertsError> {
    KeyPair::from_pem(text).map_err(|e| CertsError::Garbled {
        path: path.to_owned(),
        expected: "a PEM PKCS#8 private key (RSA or ECDSA P-256, `-----BEGIN PRIVATE KEY-----`)",
        detail: e.to_string(),
        fix: fix.clone(),
    })
}

/// Parses DER that `parse_cert_blocks` has already accepted.
pub(crate) fn x509(der: &[u8]) -> X509Certificate<'_> {
    x509_parser::parse_x509_certificate(der)
        .expect("certificate DER was validated when it was read")
        .1
}

/// The key's public key is the one in the certificate.
pub(crate) fn key_matches(
    cert: &X509Certificate<'_>,
    cert_path: &Path,
    key: &KeyPair,
    key_path: &Path,
    fix: &Fix,
) -> Result<(), CertsError> {
    if cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw() {
        Ok(())
    } else {
        Err(CertsError::KeyMismatch {
            key: key_path.to_owned(),
            cert: cert_path.to_owned(),
            fix: fix.clone(),
        })
    }
}

/// `now` lies inside the certificate's validity window.
pub(crate) fn in_date(
    cert: &X509Certificate<'_>,
    path: &Path,
    now: OffsetDateTime,
    fix: &Fix,
) -> Result<(), CertsError> {
    let validity = cert.validity();
    if now.unix_timestamp() > validity.not_after.timestamp() {
        return Err(CertsError::Expired {
            path: path.to_owned(),
            not_after: validity.not_after.to_string(),
            fix: fix.clone(),
        });
    }
    if now.unix_timestamp() < validity.not_before.timestamp() {
        return Err(CertsError::NotYetValid {
            path: path.to_owned(),
            not_before: validity.not_before.to_string(),
            fix: fix.clone(),
        });
    }
    Ok(())
}

/// basicConstraints says CA:true.
pub(crate) fn is_ca(cert: &X509Certificate<'_>, path: &Path, fix: &Fix) -> Result<(), CertsError> {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => Ok(()),
        _ => Err(CertsError::NotCa {
            path: path.to_owned(),
            fix: fix.clone(),
        }),
    }
}

/// `cert` names `root` as its issuer and `root`'s key verifies its signature.
pub(crate) fn signed_by(
    cert: &X509Certificate<'_>,
    cert_path: &Path,
    root: &X509Certificate<'_>,
    root_path: &Path,
    fix: &Fix,
) -> Result<(), CertsError> {
    let refuse = |detail: String| CertsError::NotSignedByRoot {
        cert: cert_path.to_owned(),
        root: root_path.to_owned(),
        detail,
        fix: fix.clone(),
    };
    if cert.issuer().as_raw() != root.subject().as_raw() {
        return Err(refuse(format!(
            "its issuer is `{}`, the root is `{}`",
            cert.issuer(),
            root.subject()
        )));
    }
    cert.verify_signature(Some(root.public_key())).map_err(|e| {
        refuse(format!(
            "the signature does not verify with the root's key ({e})"
        ))
    })
}

/// The paths of one certificate and key pair, for error messages.
pub(crate) struct PairPaths<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// A CA certificate and its key read from disk and checked on their own: parses, key
/// matches, CA:true, in date. Returns the cert's DER and the key.
pub(crate) fn load_ca_pair(
    paths: PairPaths<'_>,
    now: OffsetDateTime,
    fix: &Fix,
) -> Result<(String, Vec<u8>, KeyPair), CertsError> {
    let cert_pem = read_text(paths.cert)?;
    let der = parse_one_cert(paths.cert, &cert_pem, fix)?;
    super::files::check_key_mode(paths.key)?;
    let key = parse_key(paths.key, &read_text(paths.key)?, fix)?;
    let cert = x509(&der);
    key_matches(&cert, paths.cert, &key, paths.key, fix)?;
    is_ca(&cert, paths.cert, fix)?;
    in_date(&cert, paths.cert, now, fix)?;
    Ok((cert_pem, der, key))
}

/// Whether `path` exists. Unlike `Path::exists`, a path that cannot be looked at (no
/// permission, a symlink loop) is an error naming it, not "absent".
pub(crate) fn present(path: &Path) -> Result<bool, CertsError> {
    path.try_exists().map_err(CertsError::io("look for", path))
}

/// A path that exists, else the `Missing` error naming what made us expect it.
pub(crate) fn require(path: PathBuf, present: &Path, fix: &Fix) -> Result<PathBuf, CertsError> {
    if self::present(&path)? {
        Ok(path)
    } else {
        Err(CertsError::Missing {
            path,
            present: present.to_owned(),
            fix: fix.clone(),
        })
    }
}
