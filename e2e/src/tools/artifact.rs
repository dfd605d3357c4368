//! What to fetch and from where: one [`Artifact`] per tool, its upstream URL, its checksum
//! (recorded in the pins or to be taken from the upstream checksum file) and what to keep
//! from it. Everything here is pure.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;

use super::error::ToolsError;
use crate::pins::{ChecksumSlot, IstioRow, Pins, Platform, PlatformChecksums, Sha256};

/// The four things a run needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    Kind,
    Helm,
    Istio,
    Metallb,
}

impl Tool {
    /// The directory name in the cache and the name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kind => "kind",
            Tool::Helm => "helm",
            Tool::Istio => "istio",
            Tool::Metallb => "metallb",
        }
    }
}

/// Where the sha256 an artifact must match comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// Recorded in `versions.toml`.
    Recorded(Sha256),
    /// Not recorded yet: read it from the checksum file published beside the artifact,
    /// then record it in `slot`.
    Upstream { file_url: Url, slot: ChecksumSlot },
}

/// A path inside a release archive and where it goes in the install directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// Path in the archive, `/`-separated, without a leading `./`.
    pub from: String,
    /// Path relative to the install directory.
    pub to: String,
    pub kind: PickKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickKind {
    /// One file, installed with the run bit set.
    Executable,
    /// A directory and everything below it.
    Tree,
}

/// What the install directory holds once the download is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpack {
    /// The download itself is the file: `name` in the install directory.
    Raw { name: String, executable: bool },
    /// A gzip-compressed tarball of which only `picks` are extracted, within `limits`.
    TarGz {
        picks: Vec<Pick>,
        limits: ExtractLimits,
    },
}

/// How many bytes extraction may write: a small archive can inflate to any size (a gzip
/// bomb), and the download's checksum says nothing about what it inflates to until it
/// has been inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    /// The most one extracted file may have.
    pub file: u64,
    /// The most all extracted files together may have.
    pub total: u64,
}

impl ExtractLimits {
    /// For a release archive: istioctl or helm (one Go binary each) and a few charts. Bounds
    /// chosen generously for those, not measured from them, and far below what would fill
    /// a disk.
    pub const RELEASE: Self = Self {
        file: 512 << 20,
        total: 1 << 30,
    };
}

/// The most bytes a download may have.
///
/// The ceilings are bounds chosen generously for each kind of file, not measured from the
/// releases; a release that outgrows one needs its size recorded in the pins, which then
/// bounds it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeLimit {
    /// The artifact's size, recorded in the pins: the download must not be longer.
    Recorded(u64),
    /// No size is recorded: the ceiling for its kind of file.
    Ceiling(u64),
}

impl SizeLimit {
    /// A single executable (kind).
    pub const BINARY: Self = Self::Ceiling(256 << 20);
    /// A release archive (helm, Istio).
    pub const ARCHIVE: Self = Self::Ceiling(512 << 20);
    /// A YAML manifest (MetalLB).
    pub const MANIFEST: Self = Self::Ceiling(16 << 20);

    /// The recorded size, else `ceiling`.
    fn recorded_or(size: Option<u64>, ceiling: Self) -> Self {
        size.map_or(ceiling, Self::Recorded)
    }

    pub fn bytes(self) -> u64 {
        match self {
            Self::Recorded(n) | Self::Ceiling(n) => n,
        }
    }
}

impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Recorded(n) => write!(
                f,
                "its size recorded in {}, {n} bytes",
                crate::pins::FILE_NAME
            ),
            Self::Ceiling(n) => write!(
                f,
                "the ceiling of {n} bytes for a download whose size is not recorded in {}; \
                 if the real artifact is larger, record its size there",
                crate::pins::FILE_NAME
            ),
        }
    }
}

/// One download: what it is, where it comes from, what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub tool: Tool,
    /// The version as written in the pins (`v0.33.0`, `1.31.1`).
    pub version: String,
    /// `None` for platform-independent files (the MetalLB manifest).
    pub platform: Option<Platform>,
    /// The upstream URL, before any mirror rewriting.
    pub url: Url,
    pub checksum: Checksum,
    /// The most bytes the download may have.
    pub size: SizeLimit,
    pub unpack: Unpack,
}

impl Artifact {
    /// Identifies the artifact apart from its checksum: for lock files and temp dirs.
    pub fn key(&self) -> String {
        match self.platform {
            Some(p) => format!("{}-{}-{}", self.tool.name(), self.version, p),
            None => format!("{}-{}", self.tool.name(), self.version),
        }
    }

    /// The recorded sha256, if there is one.
    pub fn recorded(&self) -> Option<Sha256> {
        match &self.checksum {
            Checksum::Recorded(sha) => Some(*sha),
            Checksum::Upstream { .. } => None,
        }
    }

    /// The file name of the download (the last URL segment).
    pub fn file_name(&self) -> &str {
        last_segment(&self.url)
    }
}

impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tool.name(), self.version)?;
        if let Some(p) = self.platform {
            write!(f, " ({p})")?;
        }
        Ok(())
    }
}

fn last_segment(url: &Url) -> &str {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("")
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("upstream URL patterns are well-formed")
}

/// The artifacts one Istio row needs, in a fixed order: kind, helm, Istio, MetalLB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowArtifacts {
    pub kind: Artifact,
    pub helm: Artifact,
    pub istio: Artifact,
    pub metallb: Artifact,
}

impl RowArtifacts {
    pub fn all(&self) -> [&Artifact; 4] {
        [&self.kind, &self.helm, &self.istio, &self.metallb]
    }
}

/// Resolves what `row` needs on `platform` from the pins.
pub fn for_row(
    pins: &Pins,
    row: &IstioRow,
    platform: Platform,
) -> Result<RowArtifacts, ToolsError> {
    let kind_version = &row.kind.version;
    let kind_sha = pinned(&row.kind.sha256, platform, || {
        format!("[kind.releases.\"{kind_version}\".sha256]")
    })?;
    let helm_sha = pinned(&pins.helm().sha256, platform, || "[helm.sha256]".to_owned())?;
    let istio_sha = pinned(&row.sha256, platform, || {
        format!("the [istio.sha256] table of the {} row", row.version)
    })?;

    // kind: the raw binary, `<asset>.sha256sum` beside it (kubernetes-sigs/kind
    // hack/release/build/cross.sh: `shasum -a 256 "$f" > "$f".sha256sum`).
    let kind_url = url(&format!(
        "https://github.com/kubernetes-sigs/kind/releases/download/{kind_version}/kind-{}",
        platform.go_name()
    ));
    let kind = Artifact {
        tool: Tool::Kind,
        version: kind_version.to_string(),
        platform: Some(platform),
        checksum: checksum(
            kind_sha,
            &kind_url,
            ".sha256sum",
            ChecksumSlot::Kind {
                version: kind_version.clone(),
                platform,
            },
        ),
        url: kind_url,
        size: SizeLimit::recorded_or(row.kind.size.get(&platform).copied(), SizeLimit::BINARY),
        unpack: Unpack::Raw {
            name: "kind".into(),
            executable: true,
        },
    };

    // helm: a tar.gz holding `<os>-<arch>/helm`, `.sha256sum` beside it (helm/helm Makefile,
    // target `checksum`; https://helm.sh/docs/intro/install/).
    let helm_version = &pins.helm().version;
    let helm_url = url(&format!(
        "https://get.helm.sh/helm-{helm_version}-{}.tar.gz",
        platform.go_name()
    ));
    let helm = Artifact {
        tool: Tool::Helm,
        version: helm_version.to_string(),
        platform: Some(platform),
        checksum: checksum(
            helm_sha,
            &helm_url,
            ".sha256sum",
            ChecksumSlot::Helm { platform },
        ),
        url: helm_url,
        size: SizeLimit::recorded_or(pins.helm().size.get(&platform).copied(), SizeLimit::ARCHIVE),
        unpack: Unpack::TarGz {
            picks: vec![Pick {
                from: format!("{}/helm", platform.go_name()),
                to: "helm".into(),
                kind: PickKind::Executable,
            }],
            limits: ExtractLimits::RELEASE,
        },
    };

    // Istio: the full release archive, `<asset>.sha256` beside it (istio/release-builder
    // pkg/build/archive.go, pkg/util/files.go `CreateSha`), with istioctl in `bin/` and the
    // charts in `manifests/charts/`.
    let v = &row.version;
    let istio_url = url(&format!(
        "https://github.com/istio/istio/releases/download/{v}/istio-{v}-{}.tar.gz",
        platform.istio_name()
    ));
    let charts = |from: &str, to: &str| Pick {
        from: format!("istio-{v}/manifests/charts/{from}"),
        to: format!("charts/{to}"),
        kind: PickKind::Tree,
    };
    let istio = Artifact {
        tool: Tool::Istio,
        version: v.to_string(),
        platform: Some(platform),
        checksum: checksum(
            istio_sha,
            &istio_url,
            ".sha256",
            ChecksumSlot::Istio {
                version: v.clone(),
                platform,
            },
        ),
        url: istio_url,
        size: SizeLimit::recorded_or(row.size.get(&platform).copied(), SizeLimit::ARCHIVE),
        unpack: Unpack::TarGz {
            picks: vec![
                Pick {
                    from: format!("istio-{v}/bin/istioctl"),
                    to: "istioctl".into(),
                    kind: PickKind::Executable,
                },
                charts("base", "base"),
                charts("istio-control/istio-discovery", "istio-discovery"),
                charts("gateway", "gateway"),
            ],
            limits: ExtractLimits::RELEASE,
        },
    };

    // MetalLB publishes its manifest with no checksum file beside it
    // (https://metallb.universe.tf/installation/), so the pin is required.
    let metallb_pin = pins.metallb();
    let metallb_url = metallb_pin.url.clone();
    let metallb = Artifact {
        tool: Tool::Metallb,
        version: metallb_pin.version.to_string(),
        platform: None,
        checksum: Checksum::Recorded(metallb_pin.sha256),
        size: SizeLimit::recorded_or(metallb_pin.size, SizeLimit::MANIFEST),
        unpack: Unpack::Raw {
            name: last_segment(&metallb_url).to_owned(),
            executable: false,
        },
        url: metallb_url,
    };

    Ok(RowArtifacts {
        kind,
        helm,
        istio,
        metallb,
    })
}

/// The slot for `platform`: `Ok(None)` when present but not recorded yet.
fn pinned(
    checksums: &PlatformChecksums,
    platform: Platform,
    table: impl FnOnce() -> String,
) -> Result<Option<Sha256>, ToolsError> {
    checksums.get(&platform).copied().ok_or_else(|| ToolsError::BadPins {
        message: format!(
            "{} has no `{platform}` key in {}; add `{platform} = \"\"` and run `cargo xtask tools` to record its checksum",
            crate::pins::FILE_NAME,
            table()
        ),
    })
}

fn checksum(
    recorded: Option<Sha256>,
    artifact: &Url,
    suffix: &str,
    slot: ChecksumSlot,
) -> Checksum {
    match recorded {
        Some(sha) => Checksum::Recorded(sha),
        None => Checksum::Upstream {
            file_url: url(&format!("{artifact}{suffix}")),
            slot,
        },
    }
}

/// One base URL standing in for every upstream host (corporate mirror, air-gapped cache),
/// laid out like the upstreams: `<base>/<upstream path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror(Url);

impl Mirror {
    /// Accepts `https://` anywhere and plain `http://` only on a loopback address, so that
    /// a mirror never downgrades the transport outside this machine.
    pub fn parse(text: &str) -> Result<Self, ToolsError> {
        let bad = |reason: &str| ToolsError::BadMirror {
            url: text.to_owned(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(text).map_err(|e| bad(&format!("it is not a URL ({e})")))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a mirror base takes no query or fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(bad(
                    "plain http:// is accepted only for a mirror on this machine (127.0.0.0/8, ::1, localhost); use https://",
                ));
            }
            other => {
                return Err(bad(&format!(
                    "the scheme `{other}` is not supported; use https://"
                )));
            }
        }
        if url.host().is_none() {
            return Err(bad("it has no host"));
        }
        Ok(Self(url))
    }

    /// `upstream` with its scheme and host (and port) replaced by the mirror base, keeping
    /// the path.
    pub fn rewrite(&self, upstream: &Url) -> Url {
        let base = self.0.as_str().trim_end_matches('/');
        let mut rewritten = format!("{base}{}", upstream.path());
        if let Some(q) = upstream.query() {
            rewritten.push('?');
            rewritten.push_str(q);
        }
        Url::parse(&rewritten).expect("a valid base joined with a valid path is a valid URL")
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// Whether `url` names this machine: a loopback address or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINS: &str = include_str!("../../../fixtures/pins/two-rows.toml");

    fn pins() -> Pins {
        Pins::parse(PINS, std::path::Path::new("versions.toml")).unwrap()
    }

    #[test]
    fn urls_follow_the_upstream_layouts() {
        let pins = pins();
        let linux: Platform = "linux-amd64".parse().unwrap();
        let mac: Platform = "darwin-arm64".parse().unwrap();
        let row = pins.row(&"1.24.1".parse().unwrap()).unwrap();
        let a = for_row(&pins, row, mac).unwrap();
        assert_eq!(
            a.kind.url.as_str(),
            "https://github.com/kubernetes-sigs/kind/releases/download/v0.31.0/kind-darwin-arm64"
        );
        assert_eq!(
            a.helm.url.as_str(),
            format!(
                "https://get.helm.sh/helm-{}-darwin-arm64.tar.gz",
                pins.helm().version
            )
        );
        assert_eq!(
            a.istio.url.as_str(),
            "https://github.com/istio/istio/releases/download/1.24.1/istio-1.24.1-osx-arm64.tar.gz"
        );
        assert_eq!(a.metallb.url, pins.metallb().url);
        // 1.24.1 records no archive checksum yet: it comes from the `.sha256` beside it.
        match &a.istio.checksum {
            Checksum::Upstream { file_url, slot } => {
                assert_eq!(file_url.as_str(), format!("{}.sha256", a.istio.url));
                assert_eq!(
                    slot,
                    &ChecksumSlot::Istio {
                        version: "1.24.1".parse().unwrap(),
                        platform: mac
                    }
                );
            }
            other => panic!("expected an upstream checksum, got {other:?}"),
        }
        let default = for_row(&pins, pins.default_row(), linux).unwrap();
        assert_eq!(
            default.kind.recorded(),
            pins.default_row().kind.sha256[&linux]
        );
        let Unpack::TarGz { picks, .. } = &default.istio.unpack else {
            panic!()
        };
        let froms: Vec<_> = picks.iter().map(|p| p.from.as_str()).collect();
        let v = &pins.default_row().version;
        assert_eq!(
            froms,
            [
                format!("istio-{v}/bin/istioctl"),
                format!("istio-{v}/manifests/charts/base"),
                format!("istio-{v}/manifests/charts/istio-control/istio-discovery"),
                format!("istio-{v}/manifests/charts/gateway"),
            ]
        );
    }

    #[test]
    fn a_recorded_size_bounds_the_download_else_the_ceiling_for_its_kind() {
        let linux: Platform = "linux-amd64".parse().unwrap();
        let pins = pins();
        let a = for_row(&pins, pins.default_row(), linux).unwrap();
        assert_eq!(
            [a.kind.size, a.helm.size, a.istio.size, a.metallb.size],
            [
                SizeLimit::BINARY,
                SizeLimit::ARCHIVE,
                SizeLimit::ARCHIVE,
                SizeLimit::MANIFEST
            ]
        );
        let text = PINS
            .replacen(
                "[helm.sha256]",
                "[helm.size]\nlinux-amd64 = 1234\n\n[helm.sha256]",
                1,
            )
            .replacen("sha256 = \"bf25feeb", "size = 99\nsha256 = \"bf25feeb", 1);
        let pins = Pins::parse(&text, std::path::Path::new("versions.toml")).unwrap();
        let a = for_row(&pins, pins.default_row(), linux).unwrap();
        assert_eq!(a.helm.size, SizeLimit::Recorded(1234));
        assert_eq!(a.metallb.size, SizeLimit::Recorded(99));
        assert_eq!(a.istio.size, SizeLimit::ARCHIVE);
        // Another platform's recorded size does not apply.
        let mac = for_row(&pins, pins.default_row(), "darwin-arm64".parse().unwrap()).unwrap();
        assert_eq!(mac.helm.size, SizeLimit::ARCHIVE);
    }

    #[test]
    fn a_platform_missing_from_the_pins_is_named() {
        let text = PINS.replacen(
            "linux-arm64 = \"f14e804dfee240f55525b667488fe9adca349e63e00c9af634c0beb1421ac310\"\n",
            "",
            1,
        );
        let pins = Pins::parse(&text, std::path::Path::new("versions.toml")).unwrap();
        let err = for_row(&pins, pins.default_row(), "linux-arm64".parse().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("no `linux-arm64` key")
                && err.to_string().contains("[helm.sha256]"),
            "{err}"
        );
    }

    #[test]
    fn mirror_keeps_the_path_and_replaces_scheme_and_host() {
        let up = Url::parse("https://get.helm.sh/helm-v3.22.0-linux-amd64.tar.gz").unwrap();
        let m = Mirror::parse("https://mirror.example.com/tools/").unwrap();
        assert_eq!(
            m.rewrite(&up).as_str(),
            "https://mirror.example.com/tools/helm-v3.22.0-linux-amd64.tar.gz"
        );
        let m = Mirror::parse("http://127.0.0.1:8080").unwrap();
        let gh =
            Url::parse("https://github.com/istio/istio/releases/download/1.31.1/x.tar.gz.sha256")
                .unwrap();
        assert_eq!(
            m.rewrite(&gh).as_str(),
            "http://127.0.0.1:8080/istio/istio/releases/download/1.31.1/x.tar.gz.sha256"
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:1",
            "http://127.8.9.10/",
            "http://[::1]:80/m",
            "http://localhost:3000",
            "https://m.example",
        ] {
            assert!(Mirror::parse(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://10.0.0.1/", "only for a mirror on this machine"),
            (
                "http://mirror.example.com",
                "only for a mirror on this machine",
            ),
            ("ftp://127.0.0.1/", "scheme `ftp`"),
            ("mirror.example.com", "not a URL"),
            ("https://m.example/?x=1", "no query"),
        ] {
            let err = Mirror::parse(bad).unwrap_err();
            assert!(
                err.kind() == crate::error::ErrorKind::BadInput && err.to_string().contains(why),
                "{bad}: {err}"
            );
        }
    }
}
