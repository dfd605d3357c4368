//! Everything the setup applies to a cluster, rendered by pure functions from the topology
//! and the pins: one typed [`Item`] per object or Helm values set, in apply order.
//!
//! Each submodule renders one kind of thing into a typed value; this module only decides
//! which items each cluster gets. Items stay typed until [`write_rendered`] turns them into
//! files. Version differences are decided by [`facts::VersionFacts`], nowhere else.

pub mod facts;
pub mod helm_values;
pub mod istio_gateway;
mod item;
pub mod kind;
pub mod metallb;
pub mod namespaces;
pub mod remote_secret;
mod resolve;
pub mod samples;
mod write;

use std::collections::BTreeMap;

use serde::Serialize;

pub use item::{HelmValues, Item, ItemBody, ItemKey, Object};
pub use resolve::{Resolved, Sources, StandIns, placeholder_cacerts, resolve};
pub use write::{MARKER_FILE, WriteError, write_rendered};

use crate::certs::{ClusterCaPem, cacerts_secret};
use crate::config::{ClusterConfig, ClusterName, ConfigError, Topology};
use crate::net::{DockerNetwork, Ipv4Range, NetError, metallb_ranges_for};
use crate::pins::{IstioRow, SamplePins};
use remote_secret::RemoteAccess;

/// The metadata of the custom resources we render (MetalLB, Istio): a name in a namespace,
/// nothing else, so a typo in a field the renderers add fails deserialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMetadata {
    pub name: String,
    pub namespace: String,
}

/// One cluster's items, in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedCluster {
    cluster: ClusterName,
    metallb_range: Ipv4Range,
    items: Vec<Item>,
}

impl RenderedCluster {
    pub fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    /// The MetalLB range the allocator gave this cluster.
    pub fn metallb_range(&self) -> Ipv4Range {
        self.metallb_range
    }

    /// Every item, in the order they are applied.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The item `key`, if this cluster has one (a cluster runs only its own helloworld
    /// versions, and has a remote secret for each peer only).
    pub fn item(&self, key: &ItemKey) -> Option<&Item> {
        self.items.iter().find(|item| item.key() == key)
    }
}

/// Everything rendering needs, borrowed: [`resolve`] builds it from what a run knows.
#[derive(Debug, Clone)]
pub struct MeshInputs<'a> {
    pub topology: &'a Topology,
    pub row: &'a IstioRow,
    pub samples: &'a SamplePins,
    /// The kind docker network the MetalLB ranges are carved from.
    pub network: DockerNetwork,
    /// Each cluster's CA files, for its `cacerts` Secret.
    pub cacerts: &'a BTreeMap<ClusterName, ClusterCaPem>,
    /// How peers reach each cluster's API server, for its remote secret.
    pub remote_access: &'a BTreeMap<ClusterName, RemoteAccess>,
}

/// Why the inputs cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Topology(#[from] ConfigError),
    #[error(transparent)]
    Network(#[from] NetError),
    #[error("no {what} for cluster `{cluster}`; {fix}")]
    MissingInput {
        what: &'static str,
        cluster: ClusterName,
        fix: &'static str,
    },
}

impl RenderError {
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            RenderError::Topology(e) => e.kind(),
            RenderError::Network(e) => e.kind(),
            RenderError::MissingInput { .. } => crate::error::ErrorKind::BadInput,
        }
    }
}

/// Renders every cluster's items, in topology order. Same inputs, same items.
pub fn render_mesh(inputs: &MeshInputs<'_>) -> Result<Vec<RenderedCluster>, RenderError> {
    let topology = inputs.topology;
    topology.validate()?;
    topology.check_docker_subnet(inputs.network.subnet)?;
    topology.check_sample_pins(inputs.samples)?;
    let ranges = metallb_ranges_for(&inputs.network, topology.cluster_names())?;
    topology
        .clusters
        .iter()
        .zip(ranges)
        .map(|(cluster, (_, range))| render_cluster(inputs, cluster, range))
        .collect()
}

fn render_cluster(
    inputs: &MeshInputs<'_>,
    cluster: &ClusterConfig,
    range: Ipv4Range,
) -> Result<RenderedCluster, RenderError> {
    let MeshInputs {
        topology,
        row,
        samples,
        ..
    } = *inputs;
    let missing = |what, fix| RenderError::MissingInput {
        what,
        cluster: cluster.name.clone(),
        fix,
    };
    let cacerts = inputs.cacerts.get(&cluster.name).ok_or_else(|| {
        missing(
            "CA certificates",
            "run `cargo xtask certs` for this topology",
        )
    })?;
    let mut items = vec![
        Item::new(ItemKey::KindConfig, kind::cluster_config(cluster, row)),
        Item::new(ItemKey::MetallbPool, metallb::address_pool(range)),
        Item::new(ItemKey::MetallbL2Advertisement, metallb::l2_advertisement()),
        Item::new(
            ItemKey::IstioSystemNamespace,
            namespaces::istio_system(&cluster.network),
        ),
        Item::new(ItemKey::Cacerts, cacerts_secret(cacerts)),
        Item::new(ItemKey::BaseValues, helm_values::base()),
        Item::new(
            ItemKey::IstiodValues,
            helm_values::istiod(&topology.mesh_id, cluster, row),
        ),
        Item::new(
            ItemKey::EastWestGatewayValues,
            helm_values::eastwest_gateway(cluster),
        ),
        Item::new(
            ItemKey::CrossNetworkGateway,
            istio_gateway::cross_network_gateway(),
        ),
    ];
    for peer in topology.clusters.iter().filter(|p| p.name != cluster.name) {
        let access = inputs.remote_access.get(&peer.name).ok_or_else(|| {
            missing(
                "API server access of a peer",
                "give every cluster's peer-facing address, CA and token",
            )
        })?;
        items.push(Item::new(
            ItemKey::RemoteSecret(peer.name.clone()),
            remote_secret::remote_secret(&peer.name, access),
        ));
    }
    items.push(Item::new(ItemKey::SampleNamespace, namespaces::sample()));
    items.push(Item::new(
        ItemKey::HelloworldService,
        samples::helloworld_service(),
    ));
    let mut versions: Vec<_> = cluster.helloworld.iter().collect();
    versions.sort(); // apply order, whatever order the topology lists them in
    for version in versions {
        let image = samples.helloworld.get(version.as_str()).ok_or_else(|| {
            missing(
                "helloworld image",
                "pin one under [samples.helloworld] in versions.toml",
            )
        })?;
        items.push(Item::new(
            ItemKey::HelloworldDeployment(version.clone()),
            samples::helloworld_deployment(version, image),
        ));
    }
    items.extend([
        Item::new(ItemKey::CurlServiceAccount, samples::curl_service_account()),
        Item::new(ItemKey::CurlService, samples::curl_service()),
        Item::new(
            ItemKey::CurlDeployment,
            samples::curl_deployment(&samples.curl),
        ),
    ]);

    Ok(RenderedCluster {
        cluster: cluster.name.clone(),
        metallb_range: range,
        items,
    })
}
