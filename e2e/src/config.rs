//! The topology: which clusters exist, on which networks, running which sample versions.
//!
//! The built-in default is the original two-cluster layout; a TOML file (`--config`)
//! replaces any part of it. Each value is checked as it is read, into a type that cannot
//! hold a bad one (names, subnets, app versions). The rules across values are
//! [`Topology::validate`], which loading runs; the renderers run it again, because a
//! `Topology` can also be built in code (its fields are public).

use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::Deserialize;

use crate::validated::validated_string;

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

validated_string!(
    /// A cluster's name: the kind cluster name, Istio's `clusterName` (`CLUSTER_ID`) and the
    /// data key of its remote secret, which must all agree: istiod's `CLUSTER_ID` comes from
    /// `clusterName` (istio/istio@1.24.1:manifests/charts/istio-control/istio-discovery/
    /// templates/deployment.yaml) and each data key of a remote secret is the id of the
    /// cluster it reads (pkg/kube/multicluster/secretcontroller.go).
    pub struct ClusterName, check = |s| check_dns_label("cluster name", s);
);
validated_string!(
    /// An Istio network (`topology.istio.io/network`, `global.network`).
    pub struct NetworkName, check = |s| check_dns_label("network name", s);
);
validated_string!(
    /// The mesh id (`global.meshID`), the same in every cluster.
    pub struct MeshId, check = |s| check_dns_label("mesh id", s);
);
validated_string!(
    /// A helloworld version (`v1`, `v2`): the sample image and the `version` label.
    pub struct AppVersion, check = |s| {
        let digits = s.strip_prefix('v').unwrap_or("");
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format!("app version `{s}` must look like v1, v2, ..."))
        }
    };
);

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
    /// the same numbering: istio/istio@1.24.1:prow/config/topology/multicluster.json).
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
    /// The topology (or its file) is the user's to fix.
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            ConfigError::Read { .. } | ConfigError::Parse { .. } | ConfigError::Invalid { .. } => {
                crate::error::ErrorKind::BadInput
            }
        }
    }

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
    /// The topology a run asked for (`--config`), or the built-in default.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(path) => Self::load(path),
            None => Ok(Self::default()),
        }
    }

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

    /// Checks the pod and service subnets against the kind docker network, which holds the
    /// node and MetalLB addresses: an overlap would make pod traffic leave for a node.
    pub fn check_docker_subnet(&self, docker: Ipv4Net) -> Result<(), ConfigError> {
        for c in &self.clusters {
            for (what, subnet) in [
                ("pod_subnet", c.pod_subnet),
                ("service_subnet", c.service_subnet),
            ] {
                if overlaps(subnet, docker) {
                    return Err(ConfigError::invalid(
                        format!("clusters[{}].{what}", c.name),
                        format!(
                            "{subnet} overlaps the kind docker network {docker}, which holds the node and MetalLB addresses; pick a range outside it (the default uses 10.x.0.0/16 and 10.255.x.0/24)"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks the helloworld placement against the pinned sample images: every placed
    /// version needs an image, and every pinned version must run somewhere so the routing
    /// checks can see each one answer.
    pub fn check_sample_pins(&self, samples: &crate::pins::SamplePins) -> Result<(), ConfigError> {
        let pinned = &samples.helloworld;
        for c in &self.clusters {
            if let Some(v) = c
                .helloworld
                .iter()
                .find(|v| !pinned.contains_key(v.as_str()))
            {
                return Err(ConfigError::invalid(
                    format!("clusters[{}].helloworld", c.name),
                    format!(
                        "helloworld {v} has no image under [samples.helloworld] in versions.toml (pinned: {}); use one of those or pin an image for {v}",
                        pinned.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        let placed = self.app_versions();
        if let Some(v) = pinned
            .keys()
            .find(|v| !placed.iter().any(|p| p.as_str() == v.as_str()))
        {
            return Err(ConfigError::invalid(
                "clusters.helloworld",
                format!(
                    "helloworld {v} runs in no cluster; add \"{v}\" to the helloworld list of one cluster"
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
    fn load_or_default_reads_the_file_only_when_given_one() {
        assert_eq!(
            Topology::load_or_default(None).unwrap(),
            Topology::default()
        );
        let three = crate::dirs::workspace_root().join("fixtures/topology/three-clusters.toml");
        let loaded = Topology::load_or_default(Some(&three)).unwrap();
        assert_eq!(
            loaded
                .cluster_names()
                .map(ClusterName::as_str)
                .collect::<Vec<_>>(),
            ["cluster1", "cluster2", "cluster3"]
        );
        let missing = Path::new("/no/such/topology.toml");
        assert!(matches!(
            Topology::load_or_default(Some(missing)),
            Err(ConfigError::Read { path, .. }) if path == missing
        ));
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

    /// A two-cluster file with one line swapped in for cluster2's `extra`.
    fn two_clusters(name2: &str, network2: &str, pod2: &str, svc2: &str, apps2: &str) -> String {
        format!(
            r#"
mesh_id = "mesh1"
[[clusters]]
name = "cluster1"
network = "network1"
pod_subnet = "10.10.0.0/16"
service_subnet = "10.255.10.0/24"
helloworld = ["v1"]
[[clusters]]
name = "{name2}"
network = "{network2}"
pod_subnet = "{pod2}"
service_subnet = "{svc2}"
helloworld = [{apps2}]
"#
        )
    }

    fn ok_second() -> String {
        two_clusters(
            "cluster2",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v2""#,
        )
    }

    fn message(result: Result<Topology, ConfigError>) -> String {
        result
            .expect_err("the topology must be refused")
            .to_string()
    }

    #[test]
    fn a_valid_file_with_three_clusters_loads() {
        let text = ok_second()
            + "[[clusters]]\nname = \"c3\"\nnetwork = \"n3\"\npod_subnet = \"10.30.0.0/16\"\nservice_subnet = \"10.255.30.0/24\"\n";
        let t = parse(&text).unwrap();
        assert_eq!(t.clusters.len(), 3);
        assert!(t.clusters[2].helloworld.is_empty());
    }

    #[test]
    fn rule_at_least_two_clusters() {
        let text = "[[clusters]]\nname = \"a\"\nnetwork = \"n\"\npod_subnet = \"10.10.0.0/16\"\nservice_subnet = \"10.255.10.0/24\"\nhelloworld = [\"v1\"]\n";
        assert_eq!(
            message(parse(text)),
            "invalid topology: clusters: a multicluster mesh needs at least two clusters, found 1; add a [[clusters]] entry"
        );
    }

    #[test]
    fn rule_cluster_names_unique() {
        let text = two_clusters(
            "cluster1",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v2""#,
        );
        assert_eq!(
            message(parse(&text)),
            "invalid topology: clusters.name: cluster name `cluster1` is used twice; give each cluster its own name"
        );
    }

    #[test]
    fn rule_networks_unique() {
        let text = two_clusters(
            "cluster2",
            "network1",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v2""#,
        );
        let msg = message(parse(&text));
        assert!(msg.starts_with("invalid topology: clusters.network: clusters `cluster1` and `cluster2` are both on network `network1`"), "{msg}");
    }

    #[test]
    fn rule_cluster_name_is_a_dns_label() {
        let text = two_clusters(
            "Cluster_2",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v2""#,
        );
        let msg = message(parse(&text));
        assert!(
            msg.contains("cluster name `Cluster_2` is not a DNS-1123 label"),
            "{msg}"
        );
        assert!(msg.starts_with("topology.toml:"), "names the file: {msg}");
    }

    #[test]
    fn rule_network_name_is_a_dns_label() {
        let text = two_clusters(
            "cluster2",
            "net.2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v2""#,
        );
        assert!(message(parse(&text)).contains("network name `net.2` is not a DNS-1123 label"));
    }

    #[test]
    fn rule_mesh_id_is_a_dns_label() {
        let text = ok_second().replace("mesh_id = \"mesh1\"", "mesh_id = \"Mesh 1\"");
        assert!(message(parse(&text)).contains("mesh id `Mesh 1` is not a DNS-1123 label"));
    }

    #[test]
    fn rule_subnets_parse() {
        let text = two_clusters(
            "cluster2",
            "network2",
            "10.20.0.0/33",
            "10.255.20.0/24",
            r#""v2""#,
        );
        let msg = message(parse(&text));
        assert!(msg.contains("pod_subnet"), "names the field: {msg}");
        assert!(msg.contains("10.20.0.0/33"), "shows the value: {msg}");
    }

    #[test]
    fn rule_subnets_do_not_overlap_each_other() {
        let text = two_clusters(
            "cluster2",
            "network2",
            "10.10.128.0/17",
            "10.255.20.0/24",
            r#""v2""#,
        );
        assert_eq!(
            message(parse(&text)),
            "invalid topology: clusters[cluster2].pod_subnet: 10.10.128.0/17 overlaps clusters[cluster1].pod_subnet (10.10.0.0/16); give every pod and service subnet its own range"
        );
    }

    #[test]
    fn rule_subnets_do_not_overlap_the_docker_network() {
        let t = Topology::default();
        t.check_docker_subnet("172.18.0.0/16".parse().unwrap())
            .unwrap();
        let err = t
            .check_docker_subnet("10.0.0.0/8".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid topology: clusters[cluster1].pod_subnet: 10.10.0.0/16 overlaps the kind docker network 10.0.0.0/8, which holds the node and MetalLB addresses; pick a range outside it (the default uses 10.x.0.0/16 and 10.255.x.0/24)"
        );
        let err = t
            .check_docker_subnet("10.255.20.0/25".parse().unwrap())
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "invalid topology: clusters[cluster2].service_subnet: 10.255.20.0/24 overlaps"
            ),
            "{err}"
        );
    }

    #[test]
    fn rule_some_helloworld_runs() {
        let text = ok_second()
            .replace(r#"helloworld = ["v1"]"#, "helloworld = []")
            .replace(r#"helloworld = ["v2"]"#, "helloworld = []");
        assert_eq!(
            message(parse(&text)),
            "invalid topology: clusters.helloworld: no cluster runs a helloworld version; list at least one, e.g. helloworld = [\"v1\"]"
        );
    }

    #[test]
    fn rule_each_helloworld_version_in_one_cluster() {
        let text = two_clusters(
            "cluster2",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v1""#,
        );
        assert!(message(parse(&text)).contains("helloworld v1 is placed in more than one cluster"));
    }

    #[test]
    fn rule_app_versions_look_like_v_n() {
        let text = two_clusters(
            "cluster2",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""two""#,
        );
        assert!(message(parse(&text)).contains("app version `two` must look like v1, v2, ..."));
    }

    #[test]
    fn rule_unknown_keys_are_refused() {
        let text = ok_second().replace(
            "pod_subnet = \"10.20.0.0/16\"",
            "podSubnet = \"10.20.0.0/16\"",
        );
        let msg = message(parse(&text));
        assert!(msg.contains("unknown field `podSubnet`"), "{msg}");
    }

    fn pins() -> crate::pins::Pins {
        crate::pins::Pins::parse(
            include_str!("../../fixtures/pins/two-rows.toml"),
            Path::new("versions.toml"),
        )
        .unwrap()
    }

    #[test]
    fn rule_every_placed_version_has_a_pinned_image() {
        let t = parse(&two_clusters(
            "cluster2",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v2", "v9""#,
        ))
        .unwrap();
        let err = t.check_sample_pins(pins().samples()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid topology: clusters[cluster2].helloworld: helloworld v9 has no image under [samples.helloworld] in versions.toml (pinned: v1, v2); use one of those or pin an image for v9"
        );
    }

    #[test]
    fn rule_every_pinned_version_runs_somewhere() {
        Topology::default()
            .check_sample_pins(pins().samples())
            .unwrap();
        let t = parse(&two_clusters(
            "cluster2",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            "",
        ))
        .unwrap();
        let err = t.check_sample_pins(pins().samples()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid topology: clusters.helloworld: helloworld v2 runs in no cluster; add \"v2\" to the helloworld list of one cluster"
        );
    }
}
