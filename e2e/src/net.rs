//! The kind docker network: its IPv4 subnet, and one disjoint MetalLB range per cluster.
//!
//! Both clusters share one docker network, so their MetalLB pools must come from one
//! allocator that knows every cluster at once: per-cluster guesses hand two clusters the
//! same address (istio/istio#34945). Istio's own provisioner carves consecutive slices
//! from one list (istio/istio@1.24.1:common/scripts/kind_provisioner.sh).

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::Value;

use crate::config::ClusterName;
use crate::error::ErrorKind;

/// What the clusters' MetalLB pools are carved from: the network's IPv4 subnet and the
/// address docker took for the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DockerNetwork {
    pub subnet: Ipv4Net,
    /// The bridge address. Docker leaves it out of `inspect` on some setups; it is then
    /// the first host address, which the allocator never reaches anyway.
    pub gateway: Option<Ipv4Addr>,
}

impl DockerNetwork {
    /// The subnet the `kind` network usually gets: kind creates it without an IPv4 subnet
    /// (kubernetes-sigs/kind@v0.31.0:pkg/cluster/internal/providers/docker/network.go), so
    /// docker takes the first free /16 of its default pools 172.17-31.0.0/16, and docker0
    /// holds 172.17.0.0/16.
    pub const USUAL_SUBNET: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(172, 18, 0, 0), 16);

    /// The network assumed when it cannot be asked (no Docker, no clusters yet).
    pub fn assumed() -> Self {
        Self::from_subnet(Self::USUAL_SUBNET)
    }

    /// A network known only by its subnet (`--docker-subnet`, for use without Docker).
    pub fn from_subnet(subnet: Ipv4Net) -> Self {
        Self {
            subnet: subnet.trunc(),
            gateway: None,
        }
    }
}

/// A network known by its subnet, as `docker network inspect kind` shows it.
impl std::str::FromStr for DockerNetwork {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self::from_subnet).map_err(|_| {
            format!(
                "`{s}` is not an IPv4 CIDR such as 172.18.0.0/16 (see `docker network inspect kind`)"
            )
        })
    }
}

/// Why the docker network cannot give the clusters their MetalLB ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("`docker network inspect kind` output is not JSON: {0}")]
    NotJson(String),
    #[error(
        "`docker network inspect kind` listed no network; kind creates the `kind` network with its first cluster, so create the clusters first"
    )]
    NoNetwork,
    #[error(
        "`docker network inspect kind` output has neither docker's IPAM.Config nor podman's subnets; cannot find the network's subnet"
    )]
    UnknownShape,
    #[error(
        "the kind network has no IPv4 subnet (found: {found}); MetalLB pools here are IPv4, so recreate the network with an IPv4 subnet (docker network create kind --ipv6 --subnet ...)"
    )]
    NoIpv4Subnet { found: String },
    #[error("the kind network lists `{value}` as its {what}, which is not an IPv4 {what}")]
    BadAddress { what: &'static str, value: String },
    #[error(
        "the docker network {subnet} has room for {capacity} MetalLB range(s) of {ADDRESSES_PER_CLUSTER} addresses above the addresses docker gives to nodes, but the topology has {asked} clusters; use a wider network (a /24 fits 7, a /16 over two thousand)"
    )]
    SubnetTooSmall {
        subnet: Ipv4Net,
        capacity: usize,
        asked: usize,
    },
}

impl NetError {
    /// What docker printed is docker's problem; a network that cannot hold the topology,
    /// or that does not exist yet, is the user's to change.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NetError::NotJson(_) | NetError::UnknownShape | NetError::BadAddress { .. } => {
                ErrorKind::Failed
            }
            NetError::NoNetwork
            | NetError::NoIpv4Subnet { .. }
            | NetError::SubnetTooSmall { .. } => ErrorKind::BadInput,
        }
    }
}

/// Takes the IPv4 subnet of the network from `docker network inspect kind` output,
/// whichever order the IPv4 and IPv6 entries come in: kind makes the network dual-stack
/// (kubernetes-sigs/kind@v0.31.0:pkg/cluster/internal/providers/docker/network.go) and
/// docker does not always list IPv4 first (Kuadrant/kuadrant-operator#417).
///
/// Understands docker's shape (`[{"IPAM":{"Config":[{"Subnet","Gateway"}]}}]`) and
/// podman's (`[{"subnets":[{"subnet","gateway"}]}]`, kubernetes-sigs/kind#2882).
pub fn parse_network_inspect(json: &str) -> Result<DockerNetwork, NetError> {
    let value: Value = serde_json::from_str(json).map_err(|e| NetError::NotJson(e.to_string()))?;
    let network = match &value {
        Value::Array(items) => items.first().ok_or(NetError::NoNetwork)?,
        other => other,
    };
    let (entries, subnet_key, gateway_key) =
        if let Some(config) = network.pointer("/IPAM/Config").and_then(Value::as_array) {
            (config, "Subnet", "Gateway")
        } else if let Some(subnets) = network.get("subnets").and_then(Value::as_array) {
            (subnets, "subnet", "gateway")
        } else {
            return Err(NetError::UnknownShape);
        };
    let mut seen = Vec::new();
    for entry in entries {
        let Some(subnet) = entry.get(subnet_key).and_then(Value::as_str) else {
            continue;
        };
        seen.push(subnet.to_owned());
        if subnet.contains(':') {
            continue; // IPv6
        }
        let subnet: Ipv4Net = subnet.parse().map_err(|_| NetError::BadAddress {
            what: "subnet",
            value: subnet.to_owned(),
        })?;
        let gateway = match entry.get(gateway_key).and_then(Value::as_str) {
            None | Some("") => None,
            Some(g) => Some(g.parse::<Ipv4Addr>().map_err(|_| NetError::BadAddress {
                what: "gateway",
                value: g.to_owned(),
            })?),
        };
        return Ok(DockerNetwork {
            subnet: subnet.trunc(),
            gateway,
        });
    }
    Err(NetError::NoIpv4Subnet {
        found: if seen.is_empty() {
            "no subnet at all".into()
        } else {
            seen.join(", ")
        },
    })
}

/// An inclusive range of IPv4 addresses, never empty: MetalLB's `a.b.c.d-e.f.g.h` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Range {
    start: Ipv4Addr,
    end: Ipv4Addr,
}

impl Ipv4Range {
    /// `None` when `end` comes before `start`.
    pub fn new(start: Ipv4Addr, end: Ipv4Addr) -> Option<Self> {
        (start <= end).then_some(Self { start, end })
    }

    pub fn start(self) -> Ipv4Addr {
        self.start
    }

    pub fn end(self) -> Ipv4Addr {
        self.end
    }

    /// How many addresses the range holds.
    pub fn len(self) -> u64 {
        u64::from(u32::from(self.end)) - u64::from(u32::from(self.start)) + 1
    }

    /// Never true: a range holds at least one address. Here for clippy's `len` rule.
    pub fn is_empty(self) -> bool {
        false
    }

    pub fn contains(self, addr: Ipv4Addr) -> bool {
        self.start <= addr && addr <= self.end
    }

    pub fn overlaps(self, other: Ipv4Range) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

impl fmt::Display for Ipv4Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// Addresses each cluster's MetalLB pool holds: the east-west gateway needs one, the rest
/// leave room for more LoadBalancer Services.
pub const ADDRESSES_PER_CLUSTER: u32 = 16;

/// One MetalLB range per cluster, in the order given; the same input always gives the
/// same ranges.
///
/// Docker hands container addresses out from the bottom of the subnet (gateway, then
/// nodes), so the pools come from the top: the upper half of the subnet is cut into
/// aligned blocks of [`ADDRESSES_PER_CLUSTER`], and clusters take them from the top down,
/// skipping the block with the broadcast address and any block holding the gateway
/// (kubernetes-sigs/kind#3167). Istio's CI and kind's own guide also pool near the end of
/// the subnet (istio/istio@1.24.1:common/scripts/kind_provisioner.sh,
/// https://kind.sigs.k8s.io/docs/user/loadbalancer/).
pub fn allocate_metallb_ranges(
    network: &DockerNetwork,
    clusters: usize,
) -> Result<Vec<Ipv4Range>, NetError> {
    let blocks = free_blocks(network);
    if blocks.len() < clusters {
        return Err(NetError::SubnetTooSmall {
            subnet: network.subnet,
            capacity: blocks.len(),
            asked: clusters,
        });
    }
    Ok(blocks.into_iter().take(clusters).collect())
}

/// [`allocate_metallb_ranges`] keyed by cluster, in topology order.
pub fn metallb_ranges_for<'a>(
    network: &DockerNetwork,
    clusters: impl IntoIterator<Item = &'a ClusterName>,
) -> Result<Vec<(ClusterName, Ipv4Range)>, NetError> {
    let names: Vec<ClusterName> = clusters.into_iter().cloned().collect();
    let ranges = allocate_metallb_ranges(network, names.len())?;
    Ok(names.into_iter().zip(ranges).collect())
}

/// Every block the allocator may hand out, top first.
fn free_blocks(network: &DockerNetwork) -> Vec<Ipv4Range> {
    let subnet = network.subnet.trunc();
    let size = 1u64 << (32 - u32::from(subnet.prefix_len()));
    let block = u64::from(ADDRESSES_PER_CLUSTER);
    if size < 2 * block {
        return Vec::new();
    }
    let base = u64::from(u32::from(subnet.network()));
    let upper_half = base + size / 2;
    let broadcast = base + size - 1;
    let to_addr = |n: u64| Ipv4Addr::from(u32::try_from(n).expect("inside a valid IPv4 subnet"));
    // Blocks are aligned because the upper half starts on a multiple of `block`.
    let mut blocks = Vec::new();
    let mut start = broadcast + 1 - block;
    loop {
        let range = Ipv4Range::new(to_addr(start), to_addr(start + block - 1))
            .expect("start is before end");
        let holds_broadcast = range.contains(to_addr(broadcast));
        let holds_gateway = network.gateway.is_some_and(|g| range.contains(g));
        if !holds_broadcast && !holds_gateway {
            blocks.push(range);
        }
        if start < upper_half + block {
            break;
        }
        start -= block;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = crate::dirs::workspace_root()
            .join("fixtures/net")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn addr(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn docker_dual_stack_takes_ipv4_even_when_ipv6_comes_first() {
        let net = parse_network_inspect(&fixture("docker-kind-dualstack.json")).unwrap();
        assert_eq!(net.subnet, "172.18.0.0/16".parse::<Ipv4Net>().unwrap());
        assert_eq!(net.gateway, Some(addr("172.18.0.1")));
    }

    #[test]
    fn docker_ipv4_only() {
        let net = parse_network_inspect(&fixture("docker-kind-ipv4-only.json")).unwrap();
        assert_eq!(net.subnet.to_string(), "172.19.0.0/16");
        assert_eq!(net.gateway, Some(addr("172.19.0.1")));
    }

    #[test]
    fn podman_shape() {
        let net = parse_network_inspect(&fixture("podman-kind.json")).unwrap();
        assert_eq!(net.subnet.to_string(), "10.89.0.0/24");
        assert_eq!(net.gateway, Some(addr("10.89.0.1")));
    }

    #[test]
    fn missing_gateway_is_none() {
        let net = parse_network_inspect(&fixture("docker-kind-no-gateway.json")).unwrap();
        assert_eq!(net.subnet.to_string(), "192.168.200.0/24");
        assert_eq!(net.gateway, None);
    }

    #[test]
    fn ipv6_only_network_is_refused_with_what_was_found() {
        let err = parse_network_inspect(&fixture("docker-kind-ipv6-only.json")).unwrap_err();
        assert_eq!(
            err,
            NetError::NoIpv4Subnet {
                found: "fc00:f853:ccd:e793::/64".into()
            }
        );
        assert!(err.to_string().contains("has no IPv4 subnet"), "{err}");
    }

    #[test]
    fn no_network_says_to_create_the_clusters_first() {
        let err = parse_network_inspect(&fixture("docker-no-network.json")).unwrap_err();
        assert_eq!(err, NetError::NoNetwork);
        assert!(
            err.to_string().contains("create the clusters first"),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::BadInput);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            parse_network_inspect("Error: No such network: kind"),
            Err(NetError::NotJson(_))
        ));
        assert_eq!(
            parse_network_inspect(r#"[{"Name":"kind"}]"#),
            Err(NetError::UnknownShape)
        );
        assert_eq!(
            parse_network_inspect(r#"[{"IPAM":{"Config":[{"Subnet":"172.18.0.0/99"}]}}]"#),
            Err(NetError::BadAddress {
                what: "subnet",
                value: "172.18.0.0/99".into()
            })
        );
    }

    #[test]
    fn kinds_usual_network_gives_aligned_blocks_from_the_top() {
        let net = parse_network_inspect(&fixture("docker-kind-dualstack.json")).unwrap();
        let ranges = allocate_metallb_ranges(&net, 2).unwrap();
        // The top block holds the broadcast address, so the first range is the next one.
        assert_eq!(ranges[0].to_string(), "172.18.255.224-172.18.255.239");
        assert_eq!(ranges[1].to_string(), "172.18.255.208-172.18.255.223");
    }

    #[test]
    fn a_gateway_in_the_upper_half_is_skipped() {
        let net = DockerNetwork {
            subnet: "10.0.0.0/24".parse().unwrap(),
            gateway: Some(addr("10.0.0.230")),
        };
        let ranges = allocate_metallb_ranges(&net, 2).unwrap();
        assert_eq!(ranges[0].to_string(), "10.0.0.208-10.0.0.223");
        assert!(ranges.iter().all(|r| !r.contains(addr("10.0.0.230"))));
    }

    #[test]
    fn small_subnet_names_its_capacity() {
        let net = DockerNetwork::from_subnet("10.89.0.0/26".parse().unwrap());
        let err = allocate_metallb_ranges(&net, 2).unwrap_err();
        assert_eq!(
            err,
            NetError::SubnetTooSmall {
                subnet: net.subnet,
                capacity: 1,
                asked: 2
            }
        );
        assert!(
            err.to_string().contains("room for 1 MetalLB range(s)"),
            "{err}"
        );
        let tiny = DockerNetwork::from_subnet("10.89.0.0/30".parse().unwrap());
        assert!(matches!(
            allocate_metallb_ranges(&tiny, 1),
            Err(NetError::SubnetTooSmall { capacity: 0, .. })
        ));
    }

    #[test]
    fn ranges_follow_the_cluster_order() {
        let net = DockerNetwork::from_subnet("172.18.0.0/16".parse().unwrap());
        let names: Vec<ClusterName> = ["b", "a"].iter().map(|n| n.parse().unwrap()).collect();
        let ranges = metallb_ranges_for(&net, &names).unwrap();
        assert_eq!(ranges[0].0.as_str(), "b");
        assert_eq!(ranges[0].1, allocate_metallb_ranges(&net, 1).unwrap()[0]);
    }

    #[test]
    fn a_subnet_given_by_hand_is_an_ipv4_cidr() {
        let net: DockerNetwork = "172.19.3.7/16".parse().unwrap();
        assert_eq!(
            net.subnet.to_string(),
            "172.19.0.0/16",
            "truncated to the network"
        );
        assert_eq!(net.gateway, None);
        for bad in ["172.19.0.0", "fc00::/64", "172.19.0.0/33", "kind"] {
            let err = bad.parse::<DockerNetwork>().unwrap_err();
            assert!(err.contains("is not an IPv4 CIDR"), "{bad}: {err}");
        }
        assert_eq!(DockerNetwork::assumed().subnet.to_string(), "172.18.0.0/16");
    }

    #[test]
    fn range_rejects_reversed_bounds() {
        assert!(Ipv4Range::new(addr("10.0.0.2"), addr("10.0.0.1")).is_none());
        let one = Ipv4Range::new(addr("10.0.0.1"), addr("10.0.0.1")).unwrap();
        assert_eq!(one.len(), 1);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn network() -> impl Strategy<Value = DockerNetwork> {
            (any::<u32>(), 8u8..=30, any::<Option<u32>>()).prop_map(|(base, prefix, gw)| {
                let subnet = Ipv4Net::new(Ipv4Addr::from(base), prefix).unwrap().trunc();
                let size = 1u64 << (32 - u32::from(prefix));
                let gateway = gw.map(|g| {
                    let offset = u64::from(g) % size;
                    Ipv4Addr::from((u64::from(u32::from(subnet.network())) + offset) as u32)
                });
                DockerNetwork { subnet, gateway }
            })
        }

        proptest! {
            #[test]
            fn ranges_are_inside_disjoint_and_clear_of_gateway_and_nodes(net in network(), n in 1usize..12) {
                let Ok(ranges) = allocate_metallb_ranges(&net, n) else {
                    // Too small is only allowed when the free blocks really are too few.
                    prop_assert!(free_blocks(&net).len() < n);
                    return Ok(());
                };
                prop_assert_eq!(ranges.len(), n);
                let size = 1u64 << (32 - u32::from(net.subnet.prefix_len()));
                let lower_half_end = u64::from(u32::from(net.subnet.network())) + size / 2 - 1;
                for (i, r) in ranges.iter().enumerate() {
                    prop_assert!(net.subnet.contains(&r.start()) && net.subnet.contains(&r.end()));
                    prop_assert_eq!(r.len(), u64::from(ADDRESSES_PER_CLUSTER));
                    prop_assert!(!r.contains(net.subnet.network()));
                    prop_assert!(!r.contains(net.subnet.broadcast()));
                    if let Some(g) = net.gateway {
                        prop_assert!(!r.contains(g), "{r} holds the gateway {g}");
                    }
                    prop_assert!(u64::from(u32::from(r.start())) > lower_half_end, "{r} reaches the node addresses");
                    for other in &ranges[i + 1..] {
                        prop_assert!(!r.overlaps(*other), "{r} overlaps {other}");
                    }
                }
            }

            #[test]
            fn a_slash_24_or_wider_always_fits_six_clusters(net in network()) {
                // The top block (broadcast) and at most one gateway block are lost.
                prop_assume!(net.subnet.prefix_len() <= 24);
                prop_assert!(allocate_metallb_ranges(&net, 6).is_ok());
            }

            #[test]
            fn allocation_is_deterministic(net in network(), n in 1usize..12) {
                prop_assert_eq!(allocate_metallb_ranges(&net, n), allocate_metallb_ranges(&net, n));
            }

            #[test]
            fn fewer_clusters_get_a_prefix_of_the_same_ranges(net in network(), n in 2usize..12) {
                if let Ok(all) = allocate_metallb_ranges(&net, n) {
                    let fewer = allocate_metallb_ranges(&net, n - 1).unwrap();
                    prop_assert_eq!(&all[..n - 1], &fewer[..]);
                }
            }
        }
    }
}
