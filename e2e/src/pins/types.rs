//! The values the pins are made of: versions, digests, platforms, image references.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::validated::{deserialize_from_str, validated_string};

/// A release version such as `1.31.1`, ordered numerically.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IstioVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl IstioVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// True for this version and every later one.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl FromStr for IstioVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not an Istio release version like 1.31.1");
        let mut parts = s.split('.').map(|p| p.parse::<u32>().map_err(|_| bad()));
        let version = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(major), Some(minor), Some(patch), None) => Self::new(major?, minor?, patch?),
            _ => return Err(bad()),
        };
        Ok(version)
    }
}

impl fmt::Display for IstioVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

validated_string!(
    /// A tool release tag such as `v0.33.0` (kind, helm, MetalLB tag their releases with `v`).
    pub struct ToolVersion, check = |s| {
        let parts: Vec<_> = s.strip_prefix('v').unwrap_or("").split('.').collect();
        if parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()) {
            Ok(())
        } else {
            Err(format!("`{s}` is not a release tag like v1.2.3"))
        }
    };
);

/// A sha256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl FromStr for Sha256 {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes)
            .map_err(|_| format!("`{s}` is not a sha256 (64 lowercase hex digits)"))?;
        if s.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("`{s}` is not a sha256 (64 lowercase hex digits)"));
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

/// Checksums of one artifact, per platform. A platform may be absent (not supported by the
/// pin) or present but not recorded yet.
pub type PlatformChecksums = BTreeMap<Platform, Option<Sha256>>;

/// Sizes in bytes of one artifact, per platform where recorded. A recorded size bounds the
/// download exactly; without one, a ceiling for the kind of file applies.
pub type PlatformSizes = BTreeMap<Platform, u64>;

/// Where a binary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub os: Os,
    pub arch: Arch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Os {
    Linux,
    Darwin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Platform {
    /// The platform this process runs on, if the tools are published for it.
    pub fn current() -> Result<Self, String> {
        Self::from_rust(std::env::consts::OS, std::env::consts::ARCH)
    }

    /// Maps Rust's `std::env::consts` names to a platform.
    pub fn from_rust(os: &str, arch: &str) -> Result<Self, String> {
        let os = match os {
            "linux" => Os::Linux,
            "macos" => Os::Darwin,
            other => {
                return Err(format!(
                    "kind, helm and istioctl are pinned for linux and macOS only, not {other}"
                ));
            }
        };
        let arch = match arch {
            "x86_64" => Arch::Amd64,
            "aarch64" => Arch::Arm64,
            other => {
                return Err(format!(
                    "kind, helm and istioctl are pinned for amd64 and arm64 only, not {other}"
                ));
            }
        };
        Ok(Self { os, arch })
    }

    /// `linux-amd64`, as kind and helm name their assets.
    pub fn go_name(self) -> &'static str {
        match (self.os, self.arch) {
            (Os::Linux, Arch::Amd64) => "linux-amd64",
            (Os::Linux, Arch::Arm64) => "linux-arm64",
            (Os::Darwin, Arch::Amd64) => "darwin-amd64",
            (Os::Darwin, Arch::Arm64) => "darwin-arm64",
        }
    }

    /// `osx-arm64` on macOS, as Istio names its release archives.
    pub fn istio_name(self) -> &'static str {
        match (self.os, self.arch) {
            (Os::Linux, Arch::Amd64) => "linux-amd64",
            (Os::Linux, Arch::Arm64) => "linux-arm64",
            (Os::Darwin, Arch::Amd64) => "osx-amd64",
            (Os::Darwin, Arch::Arm64) => "osx-arm64",
        }
    }

    pub const ALL: [Platform; 4] = [
        Platform {
            os: Os::Linux,
            arch: Arch::Amd64,
        },
        Platform {
            os: Os::Linux,
            arch: Arch::Arm64,
        },
        Platform {
            os: Os::Darwin,
            arch: Arch::Amd64,
        },
        Platform {
            os: Os::Darwin,
            arch: Arch::Arm64,
        },
    ];
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.go_name() == s)
            .ok_or_else(|| {
                format!("unknown platform `{s}`; expected one of linux-amd64, linux-arm64, darwin-amd64, darwin-arm64")
            })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.go_name())
    }
}

validated_string!(
    /// A container image reference pinned by tag or digest, as written in the pins.
    pub struct ImageRef, check = |s| {
        let name_ok = !s.is_empty() && !s.chars().any(char::is_whitespace);
        let last = s.rsplit('/').next().unwrap_or(s);
        if name_ok && (last.contains(':') || last.contains('@')) {
            Ok(())
        } else {
            Err(format!(
                "`{s}` is not a pinned image reference (name:tag or name@sha256:digest)"
            ))
        }
    };
);

validated_string!(
    /// An image registry path such as `docker.io/istio`: Istio's `global.hub`, to which
    /// each image name and the release tag are appended.
    pub struct Hub, check = |s| {
        if s.trim().is_empty() || s.contains(char::is_whitespace) {
            Err("hub must be an image registry path such as docker.io/istio".into())
        } else {
            Ok(())
        }
    };
);

/// A kind node image pinned by digest, e.g. `kindest/node:v1.36.4@sha256:...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImage {
    reference: String,
    kubernetes: (u32, u32, u32),
}

impl NodeImage {
    pub fn as_str(&self) -> &str {
        &self.reference
    }

    /// The Kubernetes version from the tag.
    pub fn kubernetes(&self) -> (u32, u32, u32) {
        self.kubernetes
    }
}

impl FromStr for NodeImage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            format!("node image `{s}` {why}; expected kindest/node:v1.X.Y@sha256:<64 hex>")
        };
        let (name_tag, digest) = s
            .split_once("@sha256:")
            .ok_or_else(|| bad("is not pinned by digest"))?;
        digest
            .parse::<Sha256>()
            .map_err(|_| bad("has a malformed digest"))?;
        let (_, tag) = name_tag.rsplit_once(':').ok_or_else(|| bad("has no tag"))?;
        let version: ToolVersion = tag
            .parse()
            .map_err(|_| bad("has a tag that is not vX.Y.Z"))?;
        let mut numbers = version.as_str()[1..]
            .split('.')
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let kubernetes = (
            numbers.next().unwrap_or(0),
            numbers.next().unwrap_or(0),
            numbers.next().unwrap_or(0),
        );
        Ok(Self {
            reference: s.to_owned(),
            kubernetes,
        })
    }
}

impl fmt::Display for NodeImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reference)
    }
}

deserialize_from_str!(IstioVersion, Sha256, Platform, NodeImage);
