//! The file as written, and the checks across its fields that turn it into [`Pins`]:
//! every error points at the line and key it is about.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::error::display_list;
use super::{
    HelmPin, Hub, ImageRef, IstioRow, IstioVersion, KindRelease, MetallbPin, NodeImage, Pins,
    PinsError, Platform, PlatformChecksums, PlatformSizes, SamplePins, Sha256, ToolVersion,
};

/// Parses and validates pins text; `path` only names the file in errors.
pub(super) fn parse(text: &str, path: &Path) -> Result<Pins, PinsError> {
    let raw: File = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        PinsError::at(path, text, offset, e.message().to_owned())
    })?;
    raw.validate(text, path)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
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
    releases: BTreeMap<Spanned<ToolVersion>, KindChecksums>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindChecksums {
    sha256: BTreeMap<Platform, MaybeSha256>,
    #[serde(default)]
    size: BTreeMap<Platform, ByteSize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Helm {
    version: ToolVersion,
    sha256: BTreeMap<Platform, MaybeSha256>,
    #[serde(default)]
    size: BTreeMap<Platform, ByteSize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metallb {
    version: ToolVersion,
    url: Spanned<String>,
    sha256: Sha256,
    size: Option<ByteSize>,
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
    hub: Hub,
    kind: Option<Spanned<ToolVersion>>,
    node_image: NodeImage,
    sha256: BTreeMap<Platform, MaybeSha256>,
    #[serde(default)]
    size: BTreeMap<Platform, ByteSize>,
}

/// A checksum slot: recorded, or `""` (to be taken from upstream and written back).
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct MaybeSha256(Option<Sha256>);

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

fn checksums(map: BTreeMap<Platform, MaybeSha256>) -> PlatformChecksums {
    map.into_iter().map(|(p, sha)| (p, sha.0)).collect()
}

/// A recorded artifact size: a whole number of bytes, more than 0.
#[derive(Deserialize)]
#[serde(try_from = "u64")]
struct ByteSize(u64);

impl TryFrom<u64> for ByteSize {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        if n == 0 {
            Err("a size must be more than 0 bytes".into())
        } else {
            Ok(Self(n))
        }
    }
}

fn sizes(map: BTreeMap<Platform, ByteSize>) -> PlatformSizes {
    map.into_iter().map(|(p, size)| (p, size.0)).collect()
}

impl File {
    fn validate(self, text: &str, path: &Path) -> Result<Pins, PinsError> {
        let at = |offset: usize, message: String| PinsError::at(path, text, offset, message);

        let releases: BTreeMap<ToolVersion, (PlatformChecksums, PlatformSizes)> = self
            .kind
            .releases
            .into_iter()
            .map(|(v, r)| (v.into_inner(), (checksums(r.sha256), sizes(r.size))))
            .collect();
        // Each row holds its kind release, resolved here, so no lookup can miss later.
        let kind_release = |version: &Spanned<ToolVersion>, what: &str| match releases
            .get_key_value(version.get_ref())
        {
            Some((version, (sha256, size))) => Ok(KindRelease {
                version: version.clone(),
                sha256: sha256.clone(),
                size: size.clone(),
            }),
            None => Err(at(
                version.span().start,
                format!(
                    "{what} {} is not pinned under [kind.releases]; add its checksums there",
                    version.get_ref()
                ),
            )),
        };
        let default_kind = kind_release(&self.kind.default, "kind default")?;

        let mut rows: Vec<IstioRow> = Vec::with_capacity(self.istio.len());
        for row in self.istio {
            if rows.iter().any(|r| &r.version == row.version.get_ref()) {
                return Err(at(
                    row.version.span().start,
                    format!("Istio {} has two rows; keep one", row.version.get_ref()),
                ));
            }
            let kind = match &row.kind {
                Some(kind) => kind_release(kind, "kind")?,
                None => default_kind.clone(),
            };
            rows.push(IstioRow {
                version: row.version.into_inner(),
                hub: row.hub,
                kind,
                node_image: row.node_image,
                sha256: checksums(row.sha256),
                size: sizes(row.size),
            });
        }

        let index_of = |v: &IstioVersion| rows.iter().position(|r| &r.version == v);
        let known = || display_list(&rows.iter().map(|r| r.version.clone()).collect::<Vec<_>>());
        let Some(default) = index_of(self.default.get_ref()) else {
            return Err(at(
                self.default.span().start,
                format!(
                    "default {} has no [[istio]] row; known: {}",
                    self.default.get_ref(),
                    known()
                ),
            ));
        };
        if self.matrix.get_ref().is_empty() {
            return Err(at(
                self.matrix.span().start,
                "matrix is empty; name at least one [[istio]] row for CI to run".into(),
            ));
        }
        let mut matrix = Vec::with_capacity(self.matrix.get_ref().len());
        for v in self.matrix.get_ref() {
            match index_of(v.get_ref()) {
                Some(i) => matrix.push(i),
                None => {
                    return Err(at(
                        v.span().start,
                        format!(
                            "matrix entry {} has no [[istio]] row; known: {}",
                            v.get_ref(),
                            known()
                        ),
                    ));
                }
            }
        }

        let url = match Url::parse(self.metallb.url.get_ref()) {
            Ok(url) if url.scheme() == "https" => url,
            _ => {
                return Err(at(
                    self.metallb.url.span().start,
                    "metallb url must be an https:// URL".into(),
                ));
            }
        };

        Ok(Pins {
            default,
            matrix,
            helm: HelmPin {
                version: self.helm.version,
                sha256: checksums(self.helm.sha256),
                size: sizes(self.helm.size),
            },
            metallb: MetallbPin {
                version: self.metallb.version,
                url,
                sha256: self.metallb.sha256,
                size: self.metallb.size.map(|s| s.0),
            },
            samples: SamplePins {
                curl: self.samples.curl,
                helloworld: self.samples.helloworld,
            },
            istio: rows,
            path: path.to_owned(),
        })
    }
}
