//! The key algorithm of newly generated CA keys.
//!
//! RSA keys come from rcgen's aws-lc-rs backend. Measured on the 2-core build machine
//! (scratch crates, own target dirs, Nov 2026), against generating with the `rsa` crate
//! (0.10, pure Rust) and signing with rcgen on ring:
//!
//! | option | cold dev build (rcgen ring alone: 3.7 s) | RSA 4096 keygen, dev profile | release |
//! |---|---|---|---|
//! | rcgen + aws-lc-rs | 12.2 s | 0.60 s mean (n=20) | 0.49 s |
//! | rcgen ring + `rsa` | 6.5 s | 4.49 s mean (n=10) | 0.43 s |
//! | same, `rsa`/crypto-bigint/crypto-primes at opt-level 3 in dev | 19.1 s | 0.45 s | 0.43 s |
//!
//! `cargo xtask` runs the dev profile, so the plain `rsa` crate would cost about 13 s per
//! default set, and making it fast costs more build time than aws-lc-rs does. aws-lc-rs also
//! keeps us on rcgen's own RSA path (no key conversion glue between two crypto stacks).

use std::fmt;

use rcgen::KeyPair;

use super::CertsError;

/// The algorithm of the CA keys this run generates; keys already on disk keep theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// RSA 4096 with SHA-256 signatures, as Istio's own CA tooling makes them (`openssl
    /// genrsa 4096` in istio/istio@1.24.1:tools/certs/Makefile.selfsigned.mk,
    /// `default_md = sha256` in tools/certs/common.mk).
    #[default]
    Rsa4096,
    /// ECDSA on P-256 with SHA-256 signatures: smaller and generated in about a millisecond.
    EcdsaP256,
}

impl KeyType {
    /// A fresh private key of this type.
    pub fn generate(self) -> Result<KeyPair, CertsError> {
        let generated = match self {
            KeyType::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)
            }
            KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        };
        generated.map_err(|source| CertsError::Generate {
            what: "private key",
            source,
        })
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Rsa4096 => "RSA 4096",
            KeyType::EcdsaP256 => "ECDSA P-256",
        })
    }
}
