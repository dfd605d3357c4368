//! `versions.toml`: every external version, checksum and image the framework uses.
//!
//! The file is parsed once into typed values ([`Pins`]); everything downstream picks what
//! it needs from there, so no other module spells a version or an image. Cross-references
//! (the default row, the matrix rows, each row's kind release) are resolved at load, so
//! no later lookup can miss.

mod error;
mod file;
mod types;
mod write_back;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use url::Url;

pub use error::{PinsError, UnknownIstioVersion};
pub use types::{
    Arch, Hub, ImageRef, IstioVersion, NodeImage, Os, Platform, PlatformChecksums, PlatformSizes,
    Sha256, ToolVersion,
};
pub use write_back::{
    ChecksumSlot, SlotConflict, WriteBackError, record_checksum, remove_stale_temps, with_checksum,
};

/// The name of the pins file at the top of the checkout.
pub const FILE_NAME: &str = "versions.toml";

/// The parsed pins file. Built only by [`Pins::load`] and [`Pins::parse`], which check
/// every cross-reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// Index into `istio` of the row a bare run uses.
    default: usize,
    /// Indexes into `istio` of the rows CI runs live, in the file's order.
    matrix: Vec<usize>,
    helm: HelmPin,
    metallb: MetallbPin,
    samples: SamplePins,
    /// One row per supported Istio version, in the file's order.
    istio: Vec<IstioRow>,
    /// The file these pins were read from, for messages.
    path: PathBuf,
}

/// A kind release and its binaries' checksums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindRelease {
    pub version: ToolVersion,
    pub sha256: PlatformChecksums,
    /// The binaries' sizes in bytes, where recorded.
    pub size: PlatformSizes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmPin {
    pub version: ToolVersion,
    pub sha256: PlatformChecksums,
    /// The archives' sizes in bytes, where recorded.
    pub size: PlatformSizes,
}

/// MetalLB publishes no checksum file, so its sha256 is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetallbPin {
    pub version: ToolVersion,
    /// The native manifest, always `https://`.
    pub url: Url,
    pub sha256: Sha256,
    /// The manifest's size in bytes, if recorded.
    pub size: Option<u64>,
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
    pub hub: Hub,
    /// The kind release whose node images this row runs on: the row's own when it names
    /// one, else the default.
    pub kind: KindRelease,
    pub node_image: NodeImage,
    /// sha256 of `istio-<version>-<os>-<arch>.tar.gz` per platform.
    pub sha256: PlatformChecksums,
    /// Size in bytes of that archive, per platform where recorded.
    pub size: PlatformSizes,
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
        file::parse(text, path)
    }

    /// Every row, in the file's order.
    pub fn rows(&self) -> &[IstioRow] {
        &self.istio
    }

    /// The row a bare run uses.
    pub fn default_row(&self) -> &IstioRow {
        &self.istio[self.default]
    }

    /// The rows CI runs live, in the file's order.
    pub fn matrix(&self) -> impl ExactSizeIterator<Item = &IstioRow> {
        self.matrix.iter().map(|&i| &self.istio[i])
    }

    /// The row for `version`, or an error listing the known ones.
    pub fn row(&self, version: &IstioVersion) -> Result<&IstioRow, UnknownIstioVersion> {
        self.istio
            .iter()
            .find(|row| &row.version == version)
            .ok_or_else(|| UnknownIstioVersion {
                pins_file: self.path.clone(),
                asked: version.clone(),
                known: self.istio.iter().map(|r| r.version.clone()).collect(),
            })
    }

    /// The row a run asked for (`--istio`), or the default row when it asked for none.
    pub fn select(&self, asked: Option<&IstioVersion>) -> Result<&IstioRow, UnknownIstioVersion> {
        match asked {
            Some(version) => self.row(version),
            None => Ok(self.default_row()),
        }
    }

    pub fn helm(&self) -> &HelmPin {
        &self.helm
    }

    pub fn metallb(&self) -> &MetallbPin {
        &self.metallb
    }

    pub fn samples(&self) -> &SamplePins {
        &self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit tests' pins: two rows, one on the default kind and one naming its own, with
    /// recorded and unrecorded checksums.
    const FIXTURE: &str = include_str!("../../../fixtures/pins/two-rows.toml");

    fn fixture() -> Pins {
        Pins::parse(FIXTURE, Path::new(FILE_NAME)).unwrap()
    }

    fn version(s: &str) -> IstioVersion {
        s.parse().unwrap()
    }

    #[test]
    fn the_checked_in_pins_parse_and_are_consistent() {
        let text = include_str!("../../../versions.toml");
        let pins = Pins::parse(text, Path::new(FILE_NAME)).unwrap();
        let doc: toml::Table = toml::from_str(text).unwrap();
        let versions = |key: &str| -> Vec<String> {
            doc[key]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_else(|| vec![doc[key].as_str().unwrap().to_owned()])
        };
        assert_eq!(
            versions("default"),
            [pins.default_row().version.to_string()]
        );
        assert_eq!(
            versions("matrix"),
            pins.matrix()
                .map(|r| r.version.to_string())
                .collect::<Vec<_>>()
        );
        assert!(
            pins.matrix().any(|r| r == pins.default_row()),
            "CI runs the default row"
        );
        let releases = doc["kind"]["releases"].as_table().unwrap();
        for row in pins.rows() {
            assert!(
                releases.contains_key(row.kind.version.as_str()),
                "Istio {}: kind {} is pinned",
                row.version,
                row.kind.version
            );
            assert_eq!(
                row.kind.sha256.keys().copied().collect::<Vec<_>>(),
                Platform::ALL,
                "Istio {}: kind has a slot per platform",
                row.version
            );
            assert_eq!(
                row.sha256.keys().copied().collect::<Vec<_>>(),
                Platform::ALL,
                "Istio {}: the archive has a slot per platform",
                row.version
            );
        }
    }

    #[test]
    fn rows_resolve_their_kind_release() {
        let pins = fixture();
        let default = pins.default_row();
        assert_eq!(default.version, version("1.31.1"));
        assert_eq!(default.kind.version.as_str(), "v0.33.0");
        let old = pins.row(&version("1.24.1")).unwrap();
        assert_eq!(old.kind.version.as_str(), "v0.31.0");
        assert_ne!(old.kind.sha256, default.kind.sha256);
        assert_eq!(
            pins.matrix()
                .map(|r| r.version.to_string())
                .collect::<Vec<_>>(),
            ["1.31.1", "1.24.1"]
        );
    }

    #[test]
    fn select_takes_the_asked_row_or_the_default() {
        let pins = fixture();
        assert_eq!(pins.select(None).unwrap(), pins.default_row());
        assert_eq!(
            pins.select(Some(&version("1.24.1"))).unwrap().version,
            version("1.24.1")
        );
        let err = pins.select(Some(&version("1.2.3"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Istio 1.2.3 has no row in versions.toml; known versions: 1.31.1, 1.24.1. Pick one of those, or add a row for 1.2.3"
        );
    }

    #[test]
    fn an_unknown_row_names_the_pins_file_it_was_looked_for_in() {
        let pins = Pins::parse(FIXTURE, Path::new("/tmp/trial/pins.toml")).unwrap();
        let err = pins.select(Some(&version("1.2.3"))).unwrap_err();
        assert!(
            err.to_string()
                .contains("has no row in /tmp/trial/pins.toml;"),
            "{err}"
        );
    }

    fn parse_err(text: &str) -> String {
        Pins::parse(text, Path::new(FILE_NAME))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = FIXTURE.replacen(
            "hub = \"docker.io/istio\"",
            "hub = \"docker.io/istio\"\nhbu = \"x\"",
            1,
        );
        let err = parse_err(&text);
        let line = text.lines().position(|l| l.starts_with("hbu")).unwrap() + 1;
        assert!(err.starts_with(&format!("versions.toml:{line}:")), "{err}");
        assert!(
            err.contains("key `hbu`") && err.contains("unknown field"),
            "{err}"
        );
    }

    #[test]
    fn bad_syntax_names_the_line() {
        let err = Pins::parse(
            "default = \"1.31.1\"\nmatrix = [\"1.31.1\"\n",
            Path::new("v.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("v.toml:"), "{err}");
    }

    #[test]
    fn malformed_checksum_is_reported_at_its_key() {
        let text = FIXTURE.replacen(
            "aee6151561422756b764a4ae28e7f44cda5af5a9eead3cc9985112b1de8d8e0d",
            "not-hex",
            1,
        );
        let err = parse_err(&text);
        assert!(
            err.contains("key `linux-amd64`") && err.contains("not a sha256"),
            "{err}"
        );
    }

    #[test]
    fn default_and_matrix_must_name_rows() {
        let text = FIXTURE.replacen("default = \"1.31.1\"", "default = \"1.99.0\"", 1);
        assert!(
            parse_err(&text).contains(
                "key `default`: default 1.99.0 has no [[istio]] row; known: 1.31.1, 1.24.1"
            ),
            "{}",
            parse_err(&text)
        );
        let text = FIXTURE.replacen(
            "matrix = [\"1.31.1\", \"1.24.1\"]",
            "matrix = [\"1.31.1\", \"1.2.0\"]",
            1,
        );
        assert!(parse_err(&text).contains("matrix entry 1.2.0 has no [[istio]] row"));
        let text = FIXTURE.replacen("matrix = [\"1.31.1\", \"1.24.1\"]", "matrix = []", 1);
        assert!(parse_err(&text).contains("matrix is empty"));
    }

    #[test]
    fn every_kind_a_row_runs_on_must_be_pinned() {
        let text = FIXTURE.replacen("kind = \"v0.31.0\"", "kind = \"v0.30.0\"", 1);
        assert!(
            parse_err(&text)
                .contains("key `kind`: kind v0.30.0 is not pinned under [kind.releases]"),
            "{}",
            parse_err(&text)
        );
        let text = FIXTURE.replacen("default = \"v0.33.0\"", "default = \"v0.34.0\"", 1);
        assert!(parse_err(&text).contains("kind default v0.34.0 is not pinned"));
    }

    #[test]
    fn rows_are_unique_and_their_hub_and_the_metallb_url_are_usable() {
        let text = FIXTURE.replacen("version = \"1.24.1\"", "version = \"1.31.1\"", 1);
        assert!(parse_err(&text).contains("Istio 1.31.1 has two rows"));
        let text = FIXTURE.replacen("hub = \"docker.io/istio\"", "hub = \"docker.io/ istio\"", 1);
        assert!(parse_err(&text).contains("key `hub`: hub must be an image registry path"));
        let text = FIXTURE.replacen("url = \"https://", "url = \"http://", 1);
        assert!(parse_err(&text).contains("key `url`: metallb url must be an https:// URL"));
    }

    #[test]
    fn recording_a_checksum_keeps_comments_and_fills_only_that_slot() {
        let sha: Sha256 = "ab".repeat(32).parse().unwrap();
        let slot = ChecksumSlot::Istio {
            version: version("1.24.1"),
            platform: "linux-arm64".parse().unwrap(),
        };
        let text = with_checksum(FIXTURE, &slot, sha).unwrap().unwrap();
        let pins = Pins::parse(&text, Path::new(FILE_NAME)).unwrap();
        let row = pins.row(&version("1.24.1")).unwrap();
        assert_eq!(row.sha256[&"linux-arm64".parse().unwrap()], Some(sha));
        assert_eq!(row.sha256[&"linux-amd64".parse().unwrap()], None);
        let before = fixture();
        assert_eq!(
            before.row(&version("1.31.1")).unwrap(),
            pins.row(&version("1.31.1")).unwrap()
        );
        let comments = |t: &str| t.lines().filter(|l| l.starts_with('#')).count();
        assert_eq!(comments(&text), comments(FIXTURE));
        assert_eq!(text.lines().count(), FIXTURE.lines().count());
    }

    /// The fixture with a size recorded for some artifacts, the way a maintainer adds one
    /// read from the upstream release page.
    fn with_sizes() -> String {
        FIXTURE
            .replacen(
                "[kind.releases.\"v0.31.0\".sha256]",
                "[kind.releases.\"v0.31.0\".size]\nlinux-amd64 = 111\n\n[kind.releases.\"v0.31.0\".sha256]",
                1,
            )
            .replacen(
                "[helm.sha256]",
                "[helm.size]\ndarwin-arm64 = 222\n\n[helm.sha256]",
                1,
            )
            .replacen(
                "sha256 = \"bf25feeb",
                "size = 333\nsha256 = \"bf25feeb",
                1,
            )
            .replacen(
                "kind = \"v0.31.0\"\n",
                "kind = \"v0.31.0\"\nsize = { linux-arm64 = 444 }\n",
                1,
            )
    }

    #[test]
    fn sizes_are_optional_and_read_where_recorded() {
        let linux: Platform = "linux-amd64".parse().unwrap();
        let pins = Pins::parse(&with_sizes(), Path::new(FILE_NAME)).unwrap();
        let old = pins.row(&version("1.24.1")).unwrap();
        assert_eq!(old.kind.size.get(&linux), Some(&111));
        assert_eq!(old.size.get(&"linux-arm64".parse().unwrap()), Some(&444));
        assert_eq!(old.size.get(&linux), None);
        assert_eq!(
            pins.helm().size.get(&"darwin-arm64".parse().unwrap()),
            Some(&222)
        );
        assert_eq!(pins.metallb().size, Some(333));
        // None recorded: every table is empty.
        let plain = fixture();
        assert!(plain.default_row().size.is_empty() && plain.default_row().kind.size.is_empty());
        assert_eq!(plain.metallb().size, None);
    }

    #[test]
    fn a_size_must_be_a_positive_number_of_bytes() {
        let text = with_sizes().replacen("size = 333", "size = 0", 1);
        let err = parse_err(&text);
        assert!(
            err.contains("key `size`") && err.contains("more than 0 bytes"),
            "{err}"
        );
        let text = with_sizes().replacen("darwin-arm64 = 222", "darwin-arm64 = -5", 1);
        assert!(
            parse_err(&text).contains("key `darwin-arm64`"),
            "{}",
            parse_err(&text)
        );
        let text = with_sizes().replacen("darwin-arm64 = 222", "darwin-arm64 = \"222\"", 1);
        assert!(parse_err(&text).contains("key `darwin-arm64`"));
    }

    #[test]
    fn versions_order_numerically() {
        let a = version("1.9.0");
        let b = version("1.10.0");
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
        assert_eq!(image.kubernetes(), (1, 36, 4));
    }
}
