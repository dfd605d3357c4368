//! MetalLB's address pool and L2 advertisement for one cluster (`metallb.io/v1beta1`,
//! field names from the CRDs of metallb/metallb@v0.16.1). kind has no LoadBalancer of its
//! own, so without MetalLB the east-west gateway never gets an address
//! (kubernetes-sigs/kind#2374).

use serde::{Deserialize, Serialize};

use super::ResourceMetadata;

use crate::names::{METALLB_L2_ADVERTISEMENT, METALLB_NAMESPACE, METALLB_POOL};
use crate::net::Ipv4Range;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpAddressPool {
    pub api_version: String,
    pub kind: String,
    pub metadata: ResourceMetadata,
    pub spec: IpAddressPoolSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpAddressPoolSpec {
    /// `a.b.c.d-e.f.g.h` ranges.
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct L2Advertisement {
    pub api_version: String,
    pub kind: String,
    pub metadata: ResourceMetadata,
    pub spec: L2AdvertisementSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct L2AdvertisementSpec {
    pub ip_address_pools: Vec<String>,
}

fn metadata(name: &str) -> ResourceMetadata {
    ResourceMetadata {
        name: name.into(),
        namespace: METALLB_NAMESPACE.into(),
    }
}

/// The cluster's slice of the shared docker network, from the one allocator in `net`.
pub fn address_pool(range: Ipv4Range) -> IpAddressPool {
    IpAddressPool {
        api_version: "metallb.io/v1beta1".into(),
        kind: "IPAddressPool".into(),
        metadata: metadata(METALLB_POOL),
        spec: IpAddressPoolSpec {
            addresses: vec![range.to_string()],
        },
    }
}

/// Answers ARP for the pool's addresses: without it the LoadBalancer IP is assigned but
/// unreachable (https://metallb.universe.tf/configuration/#layer-2-configuration).
pub fn l2_advertisement() -> L2Advertisement {
    L2Advertisement {
        api_version: "metallb.io/v1beta1".into(),
        kind: "L2Advertisement".into(),
        metadata: metadata(METALLB_L2_ADVERTISEMENT),
        spec: L2AdvertisementSpec {
            ip_address_pools: vec![METALLB_POOL.into()],
        },
    }
}
