//! `versions.toml`: every external version, checksum and image the framework uses.
//!
//! The file is parsed once into typed values ([`Pins`]); everything downstream picks what
//! it needs from there, so no other module spells a version or an image.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::validated::validated_string;

/// The name of the pins file at the top of the checkout.
pub const FILE_NAME: &str = "versions.toml";

/// The parsed pins file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// The row a bare `cargo xtask e2e` uses.
    pub default: IstioVersion,
    /// The rows CI runs live, in the file's order.
    pub matrix: Vec<IstioVersion>,
    pub kind: KindPins,
    pub helm: HelmPin,
    pub metallb: MetallbPin,
    pub samples: SamplePins,
    /// One row per supported Istio version, in the file's order.
    pub istio: Vec<IstioRow>,
}

/// kind releases by version, and the one rows use unless they name another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindPins {
    pub default: ToolVersion,
    pub releases: BTreeMap<ToolVersion, PlatformChecksums>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmPin {
    pub version: ToolVersion,
    pub sha256: PlatformChecksums,
}

/// MetalLB publishes no checksum file, so its sha256 is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetallbPin {
    pub version: ToolVersion,
    pub url: String,
    pub sha256: Sha256,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplePins {
    pub curl: ImageRef,
    /// helloworld image per app version (`v1`, `v2`, ...).
    pub helloworld: BTreeMap<String, ImageRef>,
}

/// Everything one Istio version needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioRow {
    pub version: IstioVersion,
    /// Image registry for every Istio image (`global.hub`); the tag is the version.
    pub hub: String,
    /// The kind release this row's node image needs, when not the default one.
    pub kind: Option<ToolVersion>,
    pub node_image: NodeImage,
    /// sha256 of `istio-<version>-<os>-<arch>.tar.gz` per platform.
    pub sha256: PlatformChecksums,
}

impl Pins {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, PinsError> {
        let text = std::fs::read_to_string(path).map_err(|source| PinsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates pins text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PinsError> {
        let raw: raw::File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            PinsError::at(path, text, offset, e.message().to_owned())
        })?;
        raw.validate(text, path)
    }

    /// The row for `version`, or an error listing the known ones.
    pub fn row(&self, version: &IstioVersion) -> Result<&IstioRow, UnknownIstioVersion> {
        self.istio
            .iter()
            .find(|row| &row.version == version)
            .ok_or_else(|| UnknownIstioVersion {
                asked: version.clone(),
                known: self.istio.iter().map(|r| r.version.clone()).collect(),
            })
    }

    /// The row a bare run uses.
    pub fn default_row(&self) -> &IstioRow {
        self.row(&self.default)
            .expect("validated at load: the default names a row")
    }

    /// The kind release `row` runs with.
    pub fn kind_for<'a>(&'a self, row: &'a IstioRow) -> &'a ToolVersion {
        row.kind.as_ref().unwrap_or(&self.kind.default)
    }

    /// The checksums of kind `version`.
    pub fn kind_checksums(&self, version: &ToolVersion) -> &PlatformChecksums {
        self.kind
            .releases
            .get(version)
            .expect("validated at load: every referenced kind release is pinned")
    }
}

/// An Istio version with no row in the pins file.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "Istio {asked} has no row in {FILE_NAME}; known versions: {}. Pick one of those, or add a row for {asked}",
    display_list(known)
)]
pub struct UnknownIstioVersion {
    pub asked: IstioVersion,
    pub known: Vec<IstioVersion>,
}

fn display_list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why the pins file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem at a place in the file.
    #[error("{}:{line}:{column}: {}{message}", path.display(), key.as_deref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The key on the offending line, when the line has one.
        key: Option<String>,
        message: String,
    },
}

impl PinsError {
    fn at(path: &Path, text: &str, offset: usize, message: String) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        let line_text = text[line_start..].lines().next().unwrap_or("");
        PinsError::Invalid {
            path: path.to_owned(),
            line,
            column,
            key: key_of_line(line_text),
            message,
        }
    }
}

/// The key of a `key = value` or `[table]` line, if it has one.
fn key_of_line(line: &str) -> Option<String> {
    let line = line.trim();
    if let Some(header) = line.strip_prefix('[') {
        return Some(
            header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned(),
        );
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_owned())
}

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

/// A checksum slot: recorded, or `""` (to be taken from upstream and written back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct MaybeSha256(pub Option<Sha256>);

impl TryFrom<String> for MaybeSha256 {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            Ok(Self(None))
        } else {
            s.parse().map(|sha| Self(Some(sha)))
        }
    }
}

/// Checksums of one artifact, per platform. A platform may be absent (not supported by the
/// pin) or present but not recorded yet.
pub type PlatformChecksums = BTreeMap<Platform, Option<Sha256>>;

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

/// A kind node image pinned by digest, e.g. `kindest/node:v1.36.4@sha256:...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImage {
    reference: String,
    /// The Kubernetes version from the tag.
    pub kubernetes: (u32, u32, u32),
}

impl NodeImage {
    pub fn as_str(&self) -> &str {
        &self.reference
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

/// Where in the pins file a checksum lives, for writing one back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumSlot {
    Kind {
        version: ToolVersion,
        platform: Platform,
    },
    Helm {
        platform: Platform,
    },
    Istio {
        version: IstioVersion,
        platform: Platform,
    },
}

impl fmt::Display for ChecksumSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumSlot::Kind { version, platform } => {
                write!(f, "kind.releases.\"{version}\".sha256.{platform}")
            }
            ChecksumSlot::Helm { platform } => write!(f, "helm.sha256.{platform}"),
            ChecksumSlot::Istio { version, platform } => {
                write!(f, "istio[version = \"{version}\"].sha256.{platform}")
            }
        }
    }
}

/// Returns `text` with `slot` set to `sha`, keeping every comment and the layout.
///
/// Used to record a checksum taken from upstream, the way Cargo writes `Cargo.lock`.
pub fn with_checksum(text: &str, slot: &ChecksumSlot, sha: Sha256) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    let missing = || format!("{FILE_NAME} has no `{slot}` to record the checksum in");
    let table = match slot {
        ChecksumSlot::Kind { version, .. } => doc
            .get_mut("kind")
            .and_then(|k| k.get_mut("releases"))
            .and_then(|r| r.get_mut(version.as_str()))
            .and_then(|r| r.get_mut("sha256")),
        ChecksumSlot::Helm { .. } => doc.get_mut("helm").and_then(|h| h.get_mut("sha256")),
        ChecksumSlot::Istio { version, .. } => doc
            .get_mut("istio")
            .and_then(|i| i.as_array_of_tables_mut())
            .and_then(|rows| {
                rows.iter_mut().find(|row| {
                    row.get("version").and_then(|v| v.as_str()) == Some(&version.to_string())
                })
            })
            .and_then(|row| row.get_mut("sha256")),
    }
    .and_then(|item| item.as_table_like_mut())
    .ok_or_else(missing)?;
    let platform = match slot {
        ChecksumSlot::Kind { platform, .. }
        | ChecksumSlot::Helm { platform }
        | ChecksumSlot::Istio { platform, .. } => platform,
    };
    let key = platform.go_name();
    match table.get_mut(key) {
        Some(item) => {
            let decor = item.as_value().map(|v| v.decor().clone());
            let mut value = toml_edit::Value::from(sha.to_string());
            if let Some(decor) = decor {
                *value.decor_mut() = decor;
            }
            *item = toml_edit::Item::Value(value);
        }
        None => {
            table.insert(key, toml_edit::value(sha.to_string()));
        }
    }
    Ok(doc.to_string())
}

/// The file as written, before cross-field validation.
mod raw {
    use super::*;
    use toml::Spanned;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct File {
        default: Spanned<IstioVersion>,
        matrix: Spanned<Vec<Spanned<IstioVersion>>>,
        kind: Kind,
        helm: Helm,
        metallb: Metallb,
        samples: Samples,
        istio: Vec<Istio>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Kind {
        default: Spanned<ToolVersion>,
        releases: BTreeMap<Spanned<ToolVersion>, KindRelease>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KindRelease {
        sha256: BTreeMap<Platform, MaybeSha256>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Helm {
        version: ToolVersion,
        sha256: BTreeMap<Platform, MaybeSha256>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Metallb {
        version: ToolVersion,
        url: Spanned<String>,
        sha256: Sha256,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Samples {
        curl: ImageRef,
        helloworld: BTreeMap<String, ImageRef>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Istio {
        version: Spanned<IstioVersion>,
        hub: Spanned<String>,
        kind: Option<Spanned<ToolVersion>>,
        node_image: NodeImage,
        sha256: BTreeMap<Platform, MaybeSha256>,
    }

    fn checksums(map: BTreeMap<Platform, MaybeSha256>) -> PlatformChecksums {
        map.into_iter().map(|(p, sha)| (p, sha.0)).collect()
    }

    impl File {
        pub(super) fn validate(self, text: &str, path: &Path) -> Result<Pins, PinsError> {
            let err =
                |offset: usize, message: String| Err(PinsError::at(path, text, offset, message));

            let mut rows: Vec<IstioRow> = Vec::with_capacity(self.istio.len());
            for row in self.istio {
                if rows.iter().any(|r| &r.version == row.version.get_ref()) {
                    return err(
                        row.version.span().start,
                        format!("Istio {} has two rows; keep one", row.version.get_ref()),
                    );
                }
                if row.hub.get_ref().trim().is_empty()
                    || row.hub.get_ref().contains(char::is_whitespace)
                {
                    return err(
                        row.hub.span().start,
                        "hub must be an image registry path such as docker.io/istio".into(),
                    );
                }
                if let Some(kind) = &row.kind
                    && !self
                        .kind
                        .releases
                        .keys()
                        .any(|k| k.get_ref() == kind.get_ref())
                {
                    return err(
                        kind.span().start,
                        format!(
                            "kind {} is not pinned under [kind.releases]; add its checksums there",
                            kind.get_ref()
                        ),
                    );
                }
                rows.push(IstioRow {
                    version: row.version.into_inner(),
                    hub: row.hub.into_inner(),
                    kind: row.kind.map(Spanned::into_inner),
                    node_image: row.node_image,
                    sha256: checksums(row.sha256),
                });
            }
            let known = |v: &IstioVersion| rows.iter().any(|r| &r.version == v);
            let known_list =
                || display_list(&rows.iter().map(|r| r.version.clone()).collect::<Vec<_>>());
            if !known(self.default.get_ref()) {
                return err(
                    self.default.span().start,
                    format!(
                        "default {} has no [[istio]] row; known: {}",
                        self.default.get_ref(),
                        known_list()
                    ),
                );
            }
            if self.matrix.get_ref().is_empty() {
                return err(
                    self.matrix.span().start,
                    "matrix is empty; name at least one [[istio]] row for CI to run".into(),
                );
            }
            for v in self.matrix.get_ref() {
                if !known(v.get_ref()) {
                    return err(
                        v.span().start,
                        format!(
                            "matrix entry {} has no [[istio]] row; known: {}",
                            v.get_ref(),
                            known_list()
                        ),
                    );
                }
            }
            if !self
                .kind
                .releases
                .keys()
                .any(|k| k.get_ref() == self.kind.default.get_ref())
            {
                return err(
                    self.kind.default.span().start,
                    format!(
                        "kind default {} is not pinned under [kind.releases]",
                        self.kind.default.get_ref()
                    ),
                );
            }
            if !self.metallb.url.get_ref().starts_with("https://") {
                return err(
                    self.metallb.url.span().start,
                    "metallb url must be an https:// URL".into(),
                );
            }
            Ok(Pins {
                default: self.default.into_inner(),
                matrix: self
                    .matrix
                    .into_inner()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                kind: KindPins {
                    default: self.kind.default.into_inner(),
                    releases: self
                        .kind
                        .releases
                        .into_iter()
                        .map(|(v, r)| (v.into_inner(), checksums(r.sha256)))
                        .collect(),
                },
                helm: HelmPin {
                    version: self.helm.version,
                    sha256: checksums(self.helm.sha256),
                },
                metallb: MetallbPin {
                    version: self.metallb.version,
                    url: self.metallb.url.into_inner(),
                    sha256: self.metallb.sha256,
                },
                samples: SamplePins {
                    curl: self.samples.curl,
                    helloworld: self.samples.helloworld,
                },
                istio: rows,
            })
        }
    }

    // The typed leaves parse through FromStr, so a bad value is reported at its own span.
    crate::validated::deserialize_from_str!(IstioVersion, Sha256, Platform, NodeImage);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_pins_text() -> &'static str {
        include_str!("../../versions.toml")
    }

    #[test]
    fn the_checked_in_pins_parse_and_default_is_a_matrix_row() {
        let pins = Pins::parse(repo_pins_text(), Path::new(FILE_NAME)).unwrap();
        assert!(pins.matrix.contains(&pins.default));
        assert_eq!(pins.default_row().version, pins.default);
        for row in &pins.istio {
            pins.kind_checksums(pins.kind_for(row));
        }
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = repo_pins_text().replacen(
            "hub = \"docker.io/istio\"",
            "hub = \"docker.io/istio\"\nhbu = \"x\"",
            1,
        );
        let err = Pins::parse(&text, Path::new("versions.toml"))
            .unwrap_err()
            .to_string();
        let line = text.lines().position(|l| l.starts_with("hbu")).unwrap() + 1;
        assert!(err.starts_with(&format!("versions.toml:{line}:")), "{err}");
        assert!(
            err.contains("key `hbu`") && err.contains("unknown field"),
            "{err}"
        );
    }

    #[test]
    fn bad_syntax_names_the_line() {
        let text = "default = \"1.31.1\"\nmatrix = [\"1.31.1\"\n";
        let err = Pins::parse(text, Path::new("v.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("v.toml:"), "{err}");
    }

    #[test]
    fn malformed_checksum_is_reported_at_its_key() {
        let text = repo_pins_text().replacen(
            "aee6151561422756b764a4ae28e7f44cda5af5a9eead3cc9985112b1de8d8e0d",
            "not-hex",
            1,
        );
        let err = Pins::parse(&text, Path::new(FILE_NAME))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key `linux-amd64`") && err.contains("not a sha256"),
            "{err}"
        );
    }

    #[test]
    fn default_must_name_a_row() {
        let text = repo_pins_text().replacen("default = \"1.31.1\"", "default = \"1.99.0\"", 1);
        let err = Pins::parse(&text, Path::new(FILE_NAME))
            .unwrap_err()
            .to_string();
        assert!(err.contains("default 1.99.0 has no [[istio]] row"), "{err}");
    }

    #[test]
    fn unknown_row_lists_known_versions() {
        let pins = Pins::parse(repo_pins_text(), Path::new(FILE_NAME)).unwrap();
        let err = pins.row(&"1.2.3".parse().unwrap()).unwrap_err().to_string();
        assert!(
            err.contains("Istio 1.2.3 has no row") && err.contains("1.31.1, 1.30.4"),
            "{err}"
        );
    }

    #[test]
    fn recording_a_checksum_keeps_comments_and_fills_only_that_slot() {
        let sha: Sha256 = "ab".repeat(32).parse().unwrap();
        let slot = ChecksumSlot::Istio {
            version: "1.24.1".parse().unwrap(),
            platform: "linux-arm64".parse().unwrap(),
        };
        let text = with_checksum(repo_pins_text(), &slot, sha).unwrap();
        let pins = Pins::parse(&text, Path::new(FILE_NAME)).unwrap();
        let row = pins.row(&"1.24.1".parse().unwrap()).unwrap();
        assert_eq!(row.sha256[&"linux-arm64".parse().unwrap()], Some(sha));
        assert_eq!(row.sha256[&"linux-amd64".parse().unwrap()], None);
        let before = Pins::parse(repo_pins_text(), Path::new(FILE_NAME)).unwrap();
        assert_eq!(
            before.row(&"1.31.1".parse().unwrap()).unwrap(),
            pins.row(&"1.31.1".parse().unwrap()).unwrap()
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with('#')).count(),
            repo_pins_text()
                .lines()
                .filter(|l| l.starts_with('#'))
                .count()
        );
        assert_eq!(text.lines().count(), repo_pins_text().lines().count());
    }

    #[test]
    fn versions_order_numerically() {
        let a: IstioVersion = "1.9.0".parse().unwrap();
        let b: IstioVersion = "1.10.0".parse().unwrap();
        assert!(a < b);
        assert!(b.at_least(1, 10) && !a.at_least(1, 10));
        assert!("1.2".parse::<IstioVersion>().is_err());
    }

    #[test]
    fn node_image_needs_a_digest() {
        assert!(
            "kindest/node:v1.36.4"
                .parse::<NodeImage>()
                .unwrap_err()
                .contains("not pinned by digest")
        );
        let image: NodeImage = format!("kindest/node:v1.36.4@sha256:{}", "0".repeat(64))
            .parse()
            .unwrap();
        assert_eq!(image.kubernetes, (1, 36, 4));
    }
}
