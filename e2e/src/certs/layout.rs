//! Where the plug-in CA files live: the layout `make -f Makefile.selfsigned.mk <name>-cacerts`
//! leaves (istio/istio@1.24.1:tools/certs/Makefile.selfsigned.mk), which is also the set of
//! keys istiod reads from the `cacerts` Secret (security/pkg/pki/ca/ca.go `CACertFile`,
//! `CAPrivateKeyFile`, `CertChainFile`, `RootCertFile`).

use std::path::{Path, PathBuf};

use crate::config::ClusterName;

/// The shared root certificate, at the top and copied into every cluster's directory.
pub const ROOT_CERT: &str = "root-cert.pem";
/// The shared root's private key: only at the top, never in a cluster's directory.
pub const ROOT_KEY: &str = "root-key.pem";
/// A cluster's intermediate CA certificate.
pub const CA_CERT: &str = "ca-cert.pem";
/// A cluster's intermediate CA key.
pub const CA_KEY: &str = "ca-key.pem";
/// A cluster's intermediate, then the root.
pub const CERT_CHAIN: &str = "cert-chain.pem";

/// The output directory of `cargo xtask certs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaLayout {
    dir: PathBuf,
}

impl CaLayout {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn root_cert(&self) -> PathBuf {
        self.dir.join(ROOT_CERT)
    }

    pub fn root_key(&self) -> PathBuf {
        self.dir.join(ROOT_KEY)
    }

    /// One cluster's directory, named after the cluster (the intermediate's `L=` too).
    pub fn cluster(&self, name: &ClusterName) -> ClusterFiles {
        ClusterFiles {
            dir: self.dir.join(name.as_str()),
        }
    }
}

/// The four files of one cluster's `cacerts` Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFiles {
    dir: PathBuf,
}

impl ClusterFiles {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    pub fn ca_key(&self) -> PathBuf {
        self.dir.join(CA_KEY)
    }

    pub fn cert_chain(&self) -> PathBuf {
        self.dir.join(CERT_CHAIN)
    }

    pub fn root_cert(&self) -> PathBuf {
        self.dir.join(ROOT_CERT)
    }

    /// All four, in the order they are checked.
    pub fn all(&self) -> [PathBuf; 4] {
        [
            self.ca_cert(),
            self.ca_key(),
            self.cert_chain(),
            self.root_cert(),
        ]
    }
}
