//! The topology: which clusters exist, on which networks, running which sample versions.
//!
//! The built-in default is the original two-cluster layout; a TOML file (`--config`)
//! replaces any part of it. Everything is validated once, at load, into types that cannot
//! hold a bad value, so the renderers and the plan never re-check.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::Deserialize;

/// A DNS-1123 label: lowercase alphanumerics and `-`, starting and ending alphanumeric,
/// at most 63 characters. Cluster names, network names and mesh ids all end up in
/// Kubernetes label values, Secret names and kind container names, which all accept this.
fn check_dns_label(what: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} `{s}` is not a DNS-1123 label: use 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit"
        ))
    }
}

macro_rules! dns_label_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                check_dns_label($what, s).map(|()| Self(s.to_owned()))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

dns_label_type!(
    /// A cluster's name: the kind cluster name, Istio's `clusterName` (`CLUSTER_ID`) and the
    /// data key of its remote secret, which must all agree (reference: istio-multicluster.md §10.9).
    ClusterName,
    "cluster name"
);
dns_label_type!(
    /// An Istio network (`topology.istio.io/network`, `global.network`).
    NetworkName,
    "network name"
);
dns_label_type!(
    /// The mesh id (`global.meshID`), the same in every cluster.
    MeshId,
    "mesh id"
);

/// A helloworld version (`v1`, `v2`): the sample image and the `version` label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct AppVersion(String);

impl AppVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AppVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix('v').unwrap_or("");
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("app version `{s}` must look like v1, v2, ..."))
        }
    }
}

impl<'de> Deserialize<'de> for AppVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for AppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One cluster of the topology.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub name: ClusterName,
    pub network: NetworkName,
    pub pod_subnet: Ipv4Net,
    pub service_subnet: Ipv4Net,
    /// helloworld versions deployed in this cluster (the Service and the curl client run
    /// in every cluster regardless).
    #[serde(default)]
    pub helloworld: Vec<AppVersion>,
}

/// The whole topology, validated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Topology {
    pub mesh_id: MeshId,
    pub clusters: Vec<ClusterConfig>,
}

impl Default for Topology {
    /// The original layout: `cluster1` on `network1` with helloworld v1, `cluster2` on
    /// `network2` with v2, disjoint pod and service subnets (Istio's own kind topology uses
    /// the same numbering: reference istio-multicluster.md §5).
    fn default() -> Self {
        let cluster = |n: u8, version: &str| ClusterConfig {
            name: format!("cluster{n}").parse().expect("valid label"),
            network: format!("network{n}").parse().expect("valid label"),
            pod_subnet: format!("10.{}.0.0/16", n * 10)
                .parse()
                .expect("valid subnet"),
            service_subnet: format!("10.255.{}.0/24", n * 10)
                .parse()
                .expect("valid subnet"),
            helloworld: vec![version.parse().expect("valid version")],
        };
        Topology {
            mesh_id: "mesh1".parse().expect("valid label"),
            clusters: vec![cluster(1, "v1"), cluster(2, "v2")],
        }
    }
}

/// A topology that cannot be used, with the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read topology file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("invalid topology: {field}: {message}")]
    Invalid { field: String, message: String },
}

impl ConfigError {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The file's shape: every field optional, falling back to the default topology.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopologyFile {
    mesh_id: Option<MeshId>,
    clusters: Option<Vec<ClusterConfig>>,
}

impl Topology {
    /// Loads a topology file; what it does not set comes from the default.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses topology text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: TopologyFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let default = Topology::default();
        let topology = Topology {
            mesh_id: file.mesh_id.unwrap_or(default.mesh_id),
            clusters: file.clusters.unwrap_or(default.clusters),
        };
        topology.validate()?;
        Ok(topology)
    }

    /// Checks the rules that involve more than one field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.clusters.len() < 2 {
            return Err(ConfigError::invalid(
                "clusters",
                format!(
                    "a multicluster mesh needs at least two clusters, found {}; add a [[clusters]] entry",
                    self.clusters.len()
                ),
            ));
        }
        for (i, a) in self.clusters.iter().enumerate() {
            for b in &self.clusters[i + 1..] {
                if a.name == b.name {
                    return Err(ConfigError::invalid(
                        "clusters.name",
                        format!(
                            "cluster name `{}` is used twice; give each cluster its own name",
                            a.name
                        ),
                    ));
                }
                if a.network == b.network {
                    return Err(ConfigError::invalid(
                        "clusters.network",
                        format!(
                            "clusters `{}` and `{}` are both on network `{}`; this framework tests multi-network meshes, so give each cluster its own network",
                            a.name, b.name, a.network
                        ),
                    ));
                }
            }
        }
        let subnets: Vec<(String, Ipv4Net)> = self
            .clusters
            .iter()
            .flat_map(|c| {
                [
                    (format!("clusters[{}].pod_subnet", c.name), c.pod_subnet),
                    (
                        format!("clusters[{}].service_subnet", c.name),
                        c.service_subnet,
                    ),
                ]
            })
            .collect();
        for (i, (field_a, a)) in subnets.iter().enumerate() {
            for (field_b, b) in &subnets[i + 1..] {
                if overlaps(*a, *b) {
                    return Err(ConfigError::invalid(
                        field_b.clone(),
                        format!(
                            "{b} overlaps {field_a} ({a}); give every pod and service subnet its own range"
                        ),
                    ));
                }
            }
        }
        let mut versions: Vec<&AppVersion> =
            self.clusters.iter().flat_map(|c| &c.helloworld).collect();
        versions.sort();
        if versions.is_empty() {
            return Err(ConfigError::invalid(
                "clusters.helloworld",
                "no cluster runs a helloworld version; list at least one, e.g. helloworld = [\"v1\"]",
            ));
        }
        if let Some(pair) = versions.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::invalid(
                "clusters.helloworld",
                format!(
                    "helloworld {} is placed in more than one cluster; the routing checks need each version in exactly one cluster",
                    pair[0]
                ),
            ));
        }
        Ok(())
    }

    pub fn cluster_names(&self) -> impl Iterator<Item = &ClusterName> {
        self.clusters.iter().map(|c| &c.name)
    }

    pub fn cluster(&self, name: &ClusterName) -> Option<&ClusterConfig> {
        self.clusters.iter().find(|c| &c.name == name)
    }

    /// Every helloworld version in the mesh, sorted.
    pub fn app_versions(&self) -> Vec<&AppVersion> {
        let mut versions: Vec<_> = self.clusters.iter().flat_map(|c| &c.helloworld).collect();
        versions.sort();
        versions
    }
}

/// True when the two networks share any address.
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Topology, ConfigError> {
        Topology::parse(text, Path::new("topology.toml"))
    }

    #[test]
    fn default_is_valid_and_has_two_clusters() {
        let t = Topology::default();
        t.validate().unwrap();
        assert_eq!(
            t.cluster_names()
                .map(ClusterName::as_str)
                .collect::<Vec<_>>(),
            ["cluster1", "cluster2"]
        );
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(parse("").unwrap(), Topology::default());
    }

    #[test]
    fn names_must_be_dns_labels() {
        let err = "Cluster_1".parse::<ClusterName>().unwrap_err();
        assert!(
            err.contains("cluster name `Cluster_1` is not a DNS-1123 label"),
            "{err}"
        );
        assert!("-a".parse::<NetworkName>().is_err());
        assert!("a".repeat(64).parse::<MeshId>().is_err());
    }
}
