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

/// The two subnets of a cluster, and what kubeadm (which kind runs to make each node)
/// accepts for each, from `ValidateNetworking` in
/// kubernetes/kubernetes:cmd/kubeadm/app/apis/kubeadm/validation/validation.go:
///
/// - Pods: kube-controller-manager gives each node a /24 of the pod subnet
///   (`node-cidr-mask-size-ipv4` defaults to 24, `getClusterNodeMask`; kind sets no other,
///   kubernetes-sigs/kind@v0.31.0:pkg/cluster/internal/kubeadm/config.go), and kubeadm
///   refuses a pod subnet smaller than one node's range or more than 16 bits larger
///   (`ValidatePodSubnetNodeMask`, `PodSubnetNodeMaskMaxDiff`): /8 to /24. Our clusters
///   have one node, so a /24 is enough.
/// - Services: at least 10 addresses, since the cluster DNS Service takes the tenth
///   (`MinimumAddressesInServiceSubnet`), and at most 20 host bits
///   (`MaximumBitsForServiceSubnet`): /12 to /28.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subnet {
    Pod,
    Service,
}

impl Subnet {
    fn field(self) -> &'static str {
        match self {
            Subnet::Pod => "pod_subnet",
            Subnet::Service => "service_subnet",
        }
    }

    /// The longest and shortest prefix kubeadm accepts.
    fn prefix_range(self) -> (u8, u8) {
        match self {
            Subnet::Pod => (NODE_POD_PREFIX, NODE_POD_PREFIX - 16),
            Subnet::Service => (28, 12),
        }
    }

    /// Reads one subnet as the topology file writes it.
    fn parse(self, text: &str) -> Result<Ipv4Net, String> {
        let field = self.field();
        if text.contains(':') {
            return Err(format!(
                "{field} {text} is an IPv6 subnet; clusters here are IPv4 only (the kind \
                 network, the MetalLB pools and the east-west gateways' addresses are IPv4): \
                 use an IPv4 CIDR such as 10.10.0.0/16"
            ));
        }
        let net: Ipv4Net = text
            .parse()
            .map_err(|_| format!("{field} `{text}` is not an IPv4 CIDR such as 10.10.0.0/16"))?;
        self.check(net)?;
        Ok(net)
    }

    /// What a parsed subnet must also be: a network address, of a size kubeadm accepts.
    fn check(self, net: Ipv4Net) -> Result<(), String> {
        let field = self.field();
        if net.addr() != net.network() {
            return Err(format!(
                "{field} {net} has host bits set; the network is {}: write that",
                net.trunc()
            ));
        }
        let (longest, shortest) = self.prefix_range();
        let prefix = net.prefix_len();
        match self {
            Subnet::Pod if prefix > longest => Err(format!(
                "{field} {net} is smaller than the /{longest} the node's pods get from \
                 kube-controller-manager, which kubeadm refuses: use a /{longest} or larger \
                 (the default topology uses /16)"
            )),
            Subnet::Service if prefix > longest => Err(format!(
                "{field} {net} has {} addresses; kubeadm needs at least 10 (the cluster DNS \
                 Service takes the tenth): use a /{longest} or larger (the default topology \
                 uses /24)",
                1u64 << (32 - prefix)
            )),
            _ if prefix < shortest => Err(format!(
                "{field} {net} is larger than kubeadm accepts: use a /{shortest} or smaller"
            )),
            _ => Ok(()),
        }
    }
}

/// The prefix of the pod range kube-controller-manager gives each node by default
/// (`defaultNodeMaskCIDRIPv4` in kubeadm's validation, the flag's default in
/// kube-controller-manager).
const NODE_POD_PREFIX: u8 = 24;

fn pod_subnet<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Ipv4Net, D::Error> {
    Subnet::Pod
        .parse(&String::deserialize(d)?)
        .map_err(serde::de::Error::custom)
}

fn service_subnet<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Ipv4Net, D::Error> {
    Subnet::Service
        .parse(&String::deserialize(d)?)
        .map_err(serde::de::Error::custom)
}

/// One cluster of the topology.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub name: ClusterName,
    pub network: NetworkName,
    /// Checked as it is read ([`Subnet`]); [`Topology::validate`] checks it again for a
    /// topology built in code.
    #[serde(deserialize_with = "pod_subnet")]
    pub pod_subnet: Ipv4Net,
    #[serde(deserialize_with = "service_subnet")]
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
    #[error("cannot read topology file {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error(
        "{}invalid topology: {field}: {message}",
        path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default()
    )]
    Invalid {
        /// The file the topology came from; `None` for one built in code.
        path: Option<PathBuf>,
        field: String,
        message: String,
    },
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
            path: None,
            field: field.into(),
            message: message.into(),
        }
    }

    /// Names `file` as where the topology came from, for a rule that involves more than
    /// one value (a single bad value is already reported at its line).
    pub fn in_file(self, file: &Path) -> Self {
        match self {
            ConfigError::Invalid {
                path: None,
                field,
                message,
            } => ConfigError::Invalid {
                path: Some(file.to_owned()),
                field,
                message,
            },
            other => other,
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
        topology.validate().map_err(|e| e.in_file(path))?;
        Ok(topology)
    }

    /// Checks the rules that involve more than one field, and each subnet again (a
    /// topology built in code has not been through the file's checks).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for c in &self.clusters {
            for (kind, subnet) in [
                (Subnet::Pod, c.pod_subnet),
                (Subnet::Service, c.service_subnet),
            ] {
                kind.check(subnet).map_err(|message| {
                    ConfigError::invalid(format!("clusters[{}].{}", c.name, kind.field()), message)
                })?;
            }
        }
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
            "topology.toml: invalid topology: clusters: a multicluster mesh needs at least two clusters, found 1; add a [[clusters]] entry"
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
            "topology.toml: invalid topology: clusters.name: cluster name `cluster1` is used twice; give each cluster its own name"
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
        assert!(msg.starts_with("topology.toml: invalid topology: clusters.network: clusters `cluster1` and `cluster2` are both on network `network1`"), "{msg}");
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
            "topology.toml: invalid topology: clusters[cluster2].pod_subnet: 10.10.128.0/17 overlaps clusters[cluster1].pod_subnet (10.10.0.0/16); give every pod and service subnet its own range"
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
            "topology.toml: invalid topology: clusters.helloworld: no cluster runs a helloworld version; list at least one, e.g. helloworld = [\"v1\"]"
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

    #[test]
    fn rule_subnets_have_no_host_bits() {
        for (pod, svc, field, wanted) in [
            (
                "10.20.0.1/16",
                "10.255.20.0/24",
                "pod_subnet",
                "10.20.0.0/16",
            ),
            (
                "10.20.0.0/16",
                "10.255.20.7/24",
                "service_subnet",
                "10.255.20.0/24",
            ),
        ] {
            let msg = message(parse(&two_clusters(
                "cluster2", "network2", pod, svc, r#""v2""#,
            )));
            assert!(msg.starts_with("topology.toml:"), "names the file: {msg}");
            assert!(msg.contains(field), "names the field: {msg}");
            assert!(
                msg.contains(&format!("has host bits set; the network is {wanted}")),
                "{msg}"
            );
        }
    }

    #[test]
    fn rule_subnets_fit_what_kubeadm_accepts() {
        for (pod, svc, wanted) in [
            (
                "10.20.0.0/25",
                "10.255.20.0/24",
                "pod_subnet 10.20.0.0/25 is smaller than the /24 the node's pods get",
            ),
            (
                "10.0.0.0/7",
                "10.255.20.0/24",
                "pod_subnet 10.0.0.0/7 is larger than",
            ),
            (
                "10.20.0.0/16",
                "10.255.20.0/29",
                "service_subnet 10.255.20.0/29 has 8 addresses",
            ),
            (
                "10.20.0.0/16",
                "10.224.0.0/11",
                "service_subnet 10.224.0.0/11 is larger than",
            ),
        ] {
            let msg = message(parse(&two_clusters(
                "cluster2", "network2", pod, svc, r#""v2""#,
            )));
            assert!(msg.contains(wanted), "{wanted:?} in {msg}");
            assert!(msg.starts_with("topology.toml:"), "names the file: {msg}");
        }
        // The limits themselves are fine.
        for (pod, svc) in [
            ("10.20.0.0/24", "10.255.20.0/28"),
            ("20.0.0.0/8", "172.16.0.0/12"),
        ] {
            parse(&two_clusters("cluster2", "network2", pod, svc, r#""v2""#)).unwrap();
        }
    }

    #[test]
    fn rule_ipv6_is_refused_in_words() {
        let text = two_clusters(
            "cluster2",
            "network2",
            "fd00:10:244::/56",
            "10.255.20.0/24",
            r#""v2""#,
        );
        let msg = message(parse(&text));
        assert!(msg.contains("IPv4 only"), "{msg}");
        assert!(msg.contains("fd00:10:244::/56"), "{msg}");
        assert!(msg.starts_with("topology.toml:"), "{msg}");
    }

    #[test]
    fn rules_across_clusters_name_the_file() {
        let text = two_clusters(
            "cluster1",
            "network2",
            "10.20.0.0/16",
            "10.255.20.0/24",
            r#""v2""#,
        );
        let msg = message(parse(&text));
        assert!(
            msg.starts_with("topology.toml: invalid topology: clusters.name:"),
            "{msg}"
        );
        // Built in code, there is no file to name.
        let mut t = Topology::default();
        t.clusters[1].name = "cluster1".parse().unwrap();
        assert!(
            t.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid topology: clusters.name:")
        );
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
