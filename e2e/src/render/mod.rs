//! Everything the setup applies to a cluster, rendered by pure functions from the topology
//! and the pins: one file per object or Helm values set, named in apply order.
//!
//! Each submodule renders one kind of thing into a typed value; this module only decides
//! which files each cluster gets and turns the values into YAML. Version differences are
//! decided by [`facts::VersionFacts`], nowhere else.

pub mod facts;
pub mod helm_values;
pub mod istio_gateway;
pub mod kind;
pub mod metallb;
pub mod namespaces;
pub mod remote_secret;
pub mod samples;
mod write;

use std::collections::BTreeMap;

use serde::Serialize;

pub use write::{MARKER_FILE, WriteError, write_rendered};

use crate::certs::{ClusterCaPem, cacerts_secret};
use crate::config::{ClusterConfig, ClusterName, ConfigError, Topology};
use crate::net::{DockerNetwork, Ipv4Range, NetError, metallb_ranges_for};
use crate::pins::{IstioRow, SamplePins};
use facts::VersionFacts;
use remote_secret::{PLACEHOLDER, RemoteAccess};

/// The metadata of the custom resources we render (MetalLB, Istio): a name in a namespace,
/// nothing else, so a typo in a field the renderers add fails deserialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMetadata {
    pub name: String,
    pub namespace: String,
}

/// One rendered file of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// `NN-what.yaml`: the number gives the apply order.
    pub name: String,
    pub contents: String,
    /// Holds key material or credentials: written 0600, redacted in snapshots.
    pub secret: bool,
}

/// The files for one cluster, in apply order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedCluster {
    pub cluster: ClusterName,
    /// The MetalLB range the allocator gave this cluster.
    pub metallb_range: Ipv4Range,
    pub files: Vec<RenderedFile>,
}

/// Everything rendering needs, resolved by the caller (the edge decides where the
/// certificates and API server credentials come from).
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

/// Renders every cluster's files. Same inputs, same bytes.
pub fn render_mesh(inputs: &MeshInputs<'_>) -> Result<Vec<RenderedCluster>, RenderError> {
    let topology = inputs.topology;
    topology.validate()?;
    topology.check_docker_subnet(inputs.network.subnet)?;
    topology.check_sample_pins(inputs.samples)?;
    let ranges = metallb_ranges_for(&inputs.network, topology.cluster_names())?;
    let facts = VersionFacts::of(&inputs.row.version);
    topology
        .clusters
        .iter()
        .zip(ranges)
        .map(|(cluster, (_, range))| render_cluster(inputs, facts, cluster, range))
        .collect()
}

fn render_cluster(
    inputs: &MeshInputs<'_>,
    facts: VersionFacts,
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
    let mut files = Files::default();

    files.add(
        "00-kind.yaml",
        "kind cluster config: `kind create cluster --config <this file>`",
        &kind::cluster_config(cluster, row),
        false,
    );
    files.add(
        "10-metallb-pool.yaml",
        "MetalLB: this cluster's slice of the kind docker network",
        &metallb::address_pool(range),
        false,
    );
    files.add(
        "11-metallb-l2advertisement.yaml",
        "MetalLB: answer ARP for the pool",
        &metallb::l2_advertisement(),
        false,
    );
    files.add(
        "20-istio-system-namespace.yaml",
        "istio-system, labelled with this cluster's network",
        &namespaces::istio_system(&cluster.network),
        false,
    );
    files.add(
        "21-cacerts-secret.yaml",
        "istiod's plug-in CA: this cluster's intermediate under the shared root",
        &cacerts_secret(cacerts),
        true,
    );
    files.add(
        "30-base-values.yaml",
        "Helm values: istio/base",
        &helm_values::base(),
        false,
    );
    files.add(
        "31-istiod-values.yaml",
        "Helm values: istio/istiod",
        &helm_values::istiod(&topology.mesh_id, cluster, row),
        false,
    );
    files.add(
        "32-eastwest-gateway-values.yaml",
        "Helm values: istio/gateway as the east-west gateway",
        &helm_values::eastwest_gateway(cluster, facts),
        false,
    );
    files.add(
        "40-cross-network-gateway.yaml",
        "Istio Gateway: expose this network's services to peers on 15443",
        &istio_gateway::cross_network_gateway(),
        false,
    );
    for peer in topology.clusters.iter().filter(|p| p.name != cluster.name) {
        let access = inputs.remote_access.get(&peer.name).ok_or_else(|| {
            missing(
                "API server access of a peer",
                "give every cluster's peer-facing address, CA and token",
            )
        })?;
        files.add(
            &format!("50-remote-secret-{}.yaml", peer.name),
            &format!("remote secret: lets istiod here watch {}", peer.name),
            &remote_secret::remote_secret(&peer.name, access),
            true,
        );
    }
    files.add(
        "60-sample-namespace.yaml",
        "samples namespace, sidecar injection on",
        &namespaces::sample(),
        false,
    );
    files.add(
        "61-helloworld-service.yaml",
        "helloworld Service (in every cluster, so the name resolves)",
        &samples::helloworld_service(),
        false,
    );
    let mut versions: Vec<_> = cluster.helloworld.iter().collect();
    versions.sort(); // file order, whatever order the topology lists them in
    for version in versions {
        let image = samples.helloworld.get(version.as_str()).ok_or_else(|| {
            missing(
                "helloworld image",
                "pin one under [samples.helloworld] in versions.toml",
            )
        })?;
        files.add(
            &format!("62-helloworld-{version}-deployment.yaml"),
            &format!("helloworld {version}"),
            &samples::helloworld_deployment(version, image),
            false,
        );
    }
    files.add(
        "63-curl-serviceaccount.yaml",
        "curl client: ServiceAccount",
        &samples::curl_service_account(),
        false,
    );
    files.add(
        "64-curl-service.yaml",
        "curl client: Service",
        &samples::curl_service(),
        false,
    );
    files.add(
        "65-curl-deployment.yaml",
        "curl client: Deployment",
        &samples::curl_deployment(&samples.curl),
        false,
    );

    Ok(RenderedCluster {
        cluster: cluster.name.clone(),
        metallb_range: range,
        files: files.0,
    })
}

#[derive(Default)]
struct Files(Vec<RenderedFile>);

impl Files {
    fn add(&mut self, name: &str, what: &str, value: &impl Serialize, secret: bool) {
        self.0.push(RenderedFile {
            name: name.to_owned(),
            contents: to_yaml(what, value),
            secret,
        });
    }
}

/// YAML with a one-line comment saying what the file is.
fn to_yaml(what: &str, value: &impl Serialize) -> String {
    let body = crate::yaml::to_string(value).expect("rendered values are plain data");
    format!("# {what}\n{body}")
}

/// Stand-in CA files for rendering before `cargo xtask certs` has run: valid PEM framing,
/// unmistakably not a certificate, so nothing can use them by accident.
pub fn placeholder_cacerts(cluster: &ClusterName) -> ClusterCaPem {
    let block = |label: &str, what: &str| {
        format!(
            "-----BEGIN {label}-----\n{PLACEHOLDER}-{cluster}-{what}-run-cargo-xtask-certs\n-----END {label}-----\n"
        )
    };
    let ca_cert = block("CERTIFICATE", "intermediate-ca");
    let root_cert = block("CERTIFICATE", "root-ca");
    ClusterCaPem {
        cert_chain: format!("{ca_cert}{root_cert}"),
        ca_key: block("PRIVATE KEY", "intermediate-ca-key"),
        ca_cert,
        root_cert,
    }
}
