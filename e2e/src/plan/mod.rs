//! The plan is data: every step `up` takes, as a DAG, computed from the topology, the Istio
//! row and the options with no I/O. `up --dry-run` prints it ([`text`], [`json`]); the
//! executor runs it.
//!
//! Each [`Step`] has a stable id (`cluster1/create`), the cluster it touches (or none),
//! the steps it `needs`, a one-line title and a typed [`StepKind`] carrying everything the
//! executor needs. [`Step::action`] projects the kind to what a person reads: a command
//! line, files applied, a wait with its deadline, or an internal task.
//!
//! Clusters are independent of each other until the remote-secret exchange: before
//! [`Stage::Exchange`], a cluster's steps need only its own steps and the global preflight
//! and image pulls, so one slow cluster never holds another back.
//!
//! The docker network's subnet is read per cluster (`<cluster>/network`, after that
//! cluster's create) rather than once after the first create: every cluster is on the
//! one `kind` network, so each read returns the same subnet, and the MetalLB allocator
//! carves every cluster's range from it deterministically over the whole topology, so
//! each cluster renders the same ranges whoever reads first. A single read would make
//! every cluster wait for the first create to finish (or, in a DAG, for all of them),
//! which is exactly the cross-cluster edge the plan avoids. The executor records the
//! first subnet read and fails if a later read differs (the network was recreated).

mod display;
mod step;

pub use display::{JsonPlan, json, text};
pub use step::{Action, HelmRelease, StepKind};

use crate::cluster::CreateRequest;
use crate::config::{ClusterName, Topology};
use crate::names;
use crate::pins::{IstioRow, IstioVersion, Pins};
use crate::render::ItemKey;
use crate::render::facts::VersionFacts;
use crate::state::Layout;
use crate::tools::{IstioCharts, Toolbox};

/// A step's stable id: `preflight/docker`, `images/pull/<image>`, `<cluster>/<name>`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StepId(String);

impl StepId {
    pub fn global(name: &str) -> Self {
        Self(name.to_owned())
    }

    pub fn of(cluster: &ClusterName, name: &str) -> Self {
        Self(format!("{cluster}/{name}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stages, in order. A step's stage says what it is part of; its `needs` say when it
/// may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Before anything is created: Docker, the tools, inotify, certificates, names.
    Preflight,
    /// The kind clusters, their kubeconfigs, the network, the rendered files.
    Clusters,
    /// Images pulled once on the host and loaded into every cluster.
    Images,
    Metallb,
    /// istio-system, cacerts, base, istiod, the east-west gateway, the reader token.
    Istio,
    /// Remote secrets: the first steps that need another cluster's.
    Exchange,
    Samples,
    /// The readiness gates: the mesh is up only when every one holds.
    Gates,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preflight => "preflight",
            Stage::Clusters => "clusters",
            Stage::Images => "images",
            Stage::Metallb => "metallb",
            Stage::Istio => "istio",
            Stage::Exchange => "exchange",
            Stage::Samples => "samples",
            Stage::Gates => "gates",
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: StepId,
    pub cluster: Option<ClusterName>,
    pub stage: Stage,
    pub needs: Vec<StepId>,
    pub title: String,
    pub kind: StepKind,
}

impl Step {
    /// What the step does, for people, with the tool paths of `tools`.
    pub fn action(&self, tools: &Toolbox) -> Action {
        self.kind.action(tools)
    }

    /// Whether the executor can run it yet (the mesh steps come with the next issue).
    pub fn built(&self) -> bool {
        self.kind.built()
    }
}

/// What a plan depends on besides the topology and the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    pub layout: Layout,
    /// Use clusters of our names that exist already instead of refusing them.
    pub reuse: bool,
    /// Pull each image once on the host and load it into every cluster.
    pub preload: bool,
}

/// Deadlines of the waits, generous for a 2-core CI runner.
pub mod deadlines {
    use std::time::Duration;
    /// kind's own `--wait` for the control plane.
    pub const KIND_WAIT: Duration = Duration::from_secs(300);
    pub const NODES_READY: Duration = Duration::from_secs(300);
    pub const METALLB_READY: Duration = Duration::from_secs(300);
    pub const HELM: Duration = Duration::from_secs(300);
    pub const GATEWAY_IP: Duration = Duration::from_secs(180);
    pub const READER_TOKEN: Duration = Duration::from_secs(60);
    pub const SAMPLES_READY: Duration = Duration::from_secs(300);
    pub const GATES: Duration = Duration::from_secs(180);
}

/// The whole plan: every step of `up`, the cluster part and the mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub istio: IstioVersion,
    pub clusters: Vec<ClusterName>,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn step(&self, id: &StepId) -> Option<&Step> {
        self.steps.iter().find(|s| &s.id == id)
    }
}

/// The images a cluster runs, by where they come from.
fn istio_images(row: &IstioRow) -> Vec<String> {
    // istiod runs `pilot`; sidecars and gateways run `proxyv2`
    // (istio/istio@1.24.1:manifests/charts/istio-control/istio-discovery/values.yaml
    // `pilot.image`, `global.proxy.image`).
    ["pilot", "proxyv2"]
        .iter()
        .map(|name| format!("{}/{name}:{}", row.hub, row.version))
        .collect()
}

/// MetalLB's controller and speaker, as the pinned native manifest names them
/// (metallb/metallb@v0.16.1:config/manifests/metallb-native.yaml).
fn metallb_images(pins: &Pins) -> Vec<String> {
    let version = &pins.metallb().version;
    ["controller", "speaker"]
        .iter()
        .map(|name| format!("quay.io/metallb/{name}:{version}"))
        .collect()
}

/// Every image `cluster` runs: Istio's, MetalLB's, the curl client and the helloworld
/// versions placed in it.
pub fn cluster_images(
    pins: &Pins,
    row: &IstioRow,
    topology: &Topology,
    cluster: &ClusterName,
) -> Vec<String> {
    let mut images = istio_images(row);
    images.extend(metallb_images(pins));
    images.push(pins.samples().curl.to_string());
    if let Some(config) = topology.cluster(cluster) {
        let mut versions: Vec<_> = config.helloworld.iter().collect();
        versions.sort();
        for v in versions {
            if let Some(image) = pins.samples().helloworld.get(v.as_str()) {
                images.push(image.to_string());
            }
        }
    }
    images
}

/// The tools as the plan shows them before they are fetched: names, not paths.
pub fn symbolic_tools(pins: &Pins, row: &IstioRow) -> Toolbox {
    let istio = format!("<istio-{}>", row.version);
    Toolbox {
        kind: "kind".into(),
        helm: "helm".into(),
        istioctl: "istioctl".into(),
        charts: IstioCharts {
            base: format!("{istio}/charts/base").into(),
            istiod: format!("{istio}/charts/istio-discovery").into(),
            gateway: format!("{istio}/charts/gateway").into(),
        },
        metallb_manifest: format!("<metallb-{}>/metallb-native.yaml", pins.metallb().version)
            .into(),
    }
}

/// Builds the plan. Pure: the same inputs give the same plan.
pub fn plan(pins: &Pins, topology: &Topology, row: &IstioRow, options: &PlanOptions) -> Plan {
    let mut b = Builder::default();
    let layout = &options.layout;
    let names: Vec<ClusterName> = topology.cluster_names().cloned().collect();

    // ---- preflight: nothing is created before all of these pass.
    let docker = b.global(
        Stage::Preflight,
        "preflight/docker",
        &[],
        "Docker answers",
        StepKind::CheckDocker,
    );
    let inotify = b.global(
        Stage::Preflight,
        "preflight/inotify",
        &[],
        "inotify limits are high enough for several clusters",
        StepKind::CheckInotify,
    );
    let tools = b.global(
        Stage::Preflight,
        "preflight/tools",
        &[&docker],
        "the pinned kind, helm, Istio release and MetalLB manifest are fetched and verified",
        StepKind::FetchTools,
    );
    let certs = b.global(
        Stage::Preflight,
        "preflight/certs",
        &[&docker],
        "the shared root CA and one intermediate per cluster exist",
        StepKind::Certs {
            dir: layout.certs_dir(),
            clusters: names.clone(),
        },
    );
    let clash = b.global(
        Stage::Preflight,
        "preflight/names",
        &[&tools],
        "no cluster we did not create has one of our names",
        StepKind::CheckNames {
            clusters: names.clone(),
            reuse: options.reuse,
        },
    );
    let preflight = [docker, inotify, tools, certs, clash];
    let preflight_refs: Vec<&StepId> = preflight.iter().collect();

    // ---- images: pulled once on the host, for every cluster.
    let mut pulls: Vec<(String, StepId)> = Vec::new();
    if options.preload {
        let mut all: Vec<String> = names
            .iter()
            .flat_map(|c| cluster_images(pins, row, topology, c))
            .collect();
        all.sort();
        all.dedup();
        for image in all {
            let id = b.global(
                Stage::Images,
                &format!("images/pull/{image}"),
                &preflight_refs,
                &format!("pull {image} once on the host"),
                StepKind::PullImage {
                    image: image.clone(),
                },
            );
            pulls.push((image, id));
        }
    }

    let facts = VersionFacts::of(&row.version);
    let mut per_cluster = Vec::new();
    for cluster in &names {
        per_cluster.push(cluster_steps(
            &mut b,
            pins,
            topology,
            row,
            options,
            cluster,
            &preflight_refs,
            &pulls,
            facts,
        ));
    }

    // ---- exchange: each cluster gets a remote secret of every peer.
    for (i, cluster) in names.iter().enumerate() {
        let own = &per_cluster[i];
        let peers: Vec<ClusterName> = names.iter().filter(|p| *p != cluster).cloned().collect();
        let mut needs = vec![own.istiod.clone()];
        for (j, _) in names.iter().enumerate().filter(|(j, _)| *j != i) {
            needs.push(per_cluster[j].reader_token.clone());
            needs.push(per_cluster[j].peer_kubeconfig.clone());
        }
        let id = b.step(
            Stage::Exchange,
            cluster,
            "remote-secrets",
            needs,
            &format!(
                "give istiod in {cluster} a remote secret for {}",
                peers
                    .iter()
                    .map(ClusterName::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            StepKind::RemoteSecrets {
                cluster: cluster.clone(),
                kubeconfig: layout.kubeconfig(cluster),
                peers: peers.clone(),
            },
        );
        per_cluster[i].remote_secrets = Some(id);
    }

    // ---- samples.
    for (i, cluster) in names.iter().enumerate() {
        let own = &per_cluster[i];
        let mut needs = vec![own.istiod.clone(), own.render.clone()];
        needs.extend(own.images.clone());
        let mut items = vec![ItemKey::SampleNamespace, ItemKey::HelloworldService];
        if let Some(config) = topology.cluster(cluster) {
            let mut versions: Vec<_> = config.helloworld.to_vec();
            versions.sort();
            items.extend(versions.into_iter().map(ItemKey::HelloworldDeployment));
        }
        items.extend([
            ItemKey::CurlServiceAccount,
            ItemKey::CurlService,
            ItemKey::CurlDeployment,
        ]);
        let samples = b.step(
            Stage::Samples,
            cluster,
            "samples",
            needs,
            "apply the sample namespace, helloworld and curl (after istiod, so sidecars are injected)",
            StepKind::Apply { cluster: cluster.clone(), kubeconfig: layout.kubeconfig(cluster), items, retry_webhook: false },
        );
        let ready = b.step(
            Stage::Samples,
            cluster,
            "samples-ready",
            vec![samples],
            "the sample Deployments are rolled out, each pod with an istio-proxy container",
            StepKind::SamplesReady {
                cluster: cluster.clone(),
                kubeconfig: layout.kubeconfig(cluster),
                deadline: deadlines::SAMPLES_READY,
            },
        );
        per_cluster[i].samples_ready = Some(ready);
    }

    // ---- gates: the mesh is up only when all of them hold.
    for (i, cluster) in names.iter().enumerate() {
        let own = &per_cluster[i];
        let remote = own.remote_secrets.clone().expect("made above");
        let ready = own.samples_ready.clone().expect("made above");
        let peers: Vec<ClusterName> = names.iter().filter(|p| *p != cluster).cloned().collect();
        let synced = b.step(
            Stage::Gates,
            cluster,
            "gate/synced",
            vec![remote],
            "istiod lists every peer cluster as synced (/debug/clusterz)",
            StepKind::GateSynced {
                cluster: cluster.clone(),
                peers: peers.clone(),
                deadline: deadlines::GATES,
            },
        );
        b.step(
            Stage::Gates,
            cluster,
            "gate/root-cert",
            vec![ready.clone()],
            "istio-ca-root-cert in `sample` holds the generated root",
            StepKind::GateRootCert {
                cluster: cluster.clone(),
                deadline: deadlines::GATES,
            },
        );
        let mut needs = vec![ready, synced, own.eastwest_ip.clone()];
        for (j, _) in names.iter().enumerate().filter(|(j, _)| *j != i) {
            needs.push(per_cluster[j].samples_ready.clone().expect("made above"));
            needs.push(per_cluster[j].eastwest_ip.clone());
            needs.push(per_cluster[j].expose.clone());
        }
        b.step(
            Stage::Gates,
            cluster,
            "gate/endpoints",
            needs,
            "curl's proxy has local helloworld endpoints and one per peer network at its east-west gateway",
            StepKind::GateEndpoints { cluster: cluster.clone(), peers, deadline: deadlines::GATES },
        );
    }

    Plan {
        istio: row.version.clone(),
        clusters: names,
        steps: b.steps,
    }
}

/// The ids later stages need from one cluster's chain.
struct ClusterChain {
    render: StepId,
    peer_kubeconfig: StepId,
    images: Option<StepId>,
    istiod: StepId,
    eastwest_ip: StepId,
    expose: StepId,
    reader_token: StepId,
    remote_secrets: Option<StepId>,
    samples_ready: Option<StepId>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the plan's inputs, spelt out"
)]
fn cluster_steps(
    b: &mut Builder,
    pins: &Pins,
    topology: &Topology,
    row: &IstioRow,
    options: &PlanOptions,
    cluster: &ClusterName,
    preflight: &[&StepId],
    pulls: &[(String, StepId)],
    facts: VersionFacts,
) -> ClusterChain {
    let layout = &options.layout;
    let kubeconfig = layout.kubeconfig(cluster);
    let c = cluster.clone();

    // ---- clusters
    let kind_config_path = layout
        .rendered(cluster)
        .join(ItemKey::KindConfig.file_name());
    let kind_config = b.step(
        Stage::Clusters,
        cluster,
        "kind-config",
        preflight.iter().map(|id| (*id).clone()).collect(),
        &format!("write {cluster}'s kind config ({})", row.node_image),
        StepKind::WriteKindConfig {
            cluster: c.clone(),
            path: kind_config_path.clone(),
        },
    );
    let create = b.step(
        Stage::Clusters,
        cluster,
        "create",
        vec![kind_config],
        &if options.reuse {
            format!("create kind cluster {cluster}, or use the one that exists (--reuse)")
        } else {
            format!("create kind cluster {cluster}")
        },
        StepKind::CreateCluster {
            request: CreateRequest {
                name: c.clone(),
                config: kind_config_path,
                kubeconfig: kubeconfig.clone(),
                wait: deadlines::KIND_WAIT,
            },
            reuse: options.reuse,
        },
    );
    let nodes_ready = b.step(
        Stage::Clusters,
        cluster,
        "nodes-ready",
        vec![create.clone()],
        "every node is Ready (kind's --wait covers control-plane nodes only and exits 0 on timeout)",
        StepKind::NodesReady { cluster: c.clone(), kubeconfig: kubeconfig.clone(), deadline: deadlines::NODES_READY },
    );
    let ip = b.step(
        Stage::Clusters,
        cluster,
        "control-plane-ip",
        vec![create.clone()],
        "find the control-plane container's address on the kind network",
        StepKind::ControlPlaneIp { cluster: c.clone() },
    );
    let peer_kubeconfig = b.step(
        Stage::Clusters,
        cluster,
        "peer-kubeconfig",
        vec![ip],
        "write the kubeconfig peers use: server https://<control-plane IP>:6443",
        StepKind::PeerKubeconfig {
            cluster: c.clone(),
            from: kubeconfig.clone(),
            to: layout.peer_kubeconfig(cluster),
        },
    );
    let network = b.step(
        Stage::Clusters,
        cluster,
        "network",
        vec![create.clone()],
        "read the kind docker network's subnet",
        StepKind::Network { cluster: c.clone() },
    );
    let render = b.step(
        Stage::Clusters,
        cluster,
        "render",
        vec![network],
        "render this cluster's files with the real subnet (its MetalLB range)",
        StepKind::Render {
            cluster: c.clone(),
            dir: layout.rendered(cluster),
        },
    );

    // ---- images
    let images = if options.preload {
        let wanted = cluster_images(pins, row, topology, cluster);
        let mut needs = vec![create.clone()];
        needs.extend(
            pulls
                .iter()
                .filter(|(image, _)| wanted.contains(image))
                .map(|(_, id)| id.clone()),
        );
        Some(b.step(
            Stage::Images,
            cluster,
            "images",
            needs,
            "load the pulled images into every node",
            StepKind::LoadImages {
                cluster: c.clone(),
                images: wanted,
            },
        ))
    } else {
        None
    };
    let with_images = |mut needs: Vec<StepId>| {
        needs.extend(images.clone());
        needs
    };

    // ---- metallb
    let metallb = b.step(
        Stage::Metallb,
        cluster,
        "metallb",
        with_images(vec![nodes_ready.clone()]),
        "server-side apply MetalLB's native manifest (CRDs first)",
        StepKind::ApplyMetallb {
            cluster: c.clone(),
            kubeconfig: kubeconfig.clone(),
        },
    );
    let metallb_ready = b.step(
        Stage::Metallb,
        cluster,
        "metallb-ready",
        vec![metallb],
        "MetalLB's controller is available and its webhook Service has endpoints",
        StepKind::MetallbReady {
            cluster: c.clone(),
            kubeconfig: kubeconfig.clone(),
            deadline: deadlines::METALLB_READY,
        },
    );
    let pool = b.step(
        Stage::Metallb,
        cluster,
        "metallb-pool",
        vec![metallb_ready, render.clone()],
        "apply this cluster's address pool and L2 advertisement (retrying while the webhook refuses)",
        StepKind::Apply {
            cluster: c.clone(),
            kubeconfig: kubeconfig.clone(),
            items: vec![ItemKey::MetallbPool, ItemKey::MetallbL2Advertisement],
            retry_webhook: true,
        },
    );

    // ---- istio
    let istio_system = b.step(
        Stage::Istio,
        cluster,
        "istio-system",
        vec![nodes_ready, render.clone()],
        "istio-system with its network label, then cacerts (istiod reads it once, at start)",
        StepKind::Apply {
            cluster: c.clone(),
            kubeconfig: kubeconfig.clone(),
            items: vec![ItemKey::IstioSystemNamespace, ItemKey::Cacerts],
            retry_webhook: false,
        },
    );
    let helm =
        |b: &mut Builder, name: &str, needs: Vec<StepId>, release: HelmRelease, title: &str| {
            let values = layout.rendered(cluster).join(release.values().file_name());
            b.step(
                Stage::Istio,
                cluster,
                name,
                needs,
                title,
                StepKind::HelmInstall {
                    cluster: c.clone(),
                    kubeconfig: kubeconfig.clone(),
                    release,
                    values,
                    skip_schema_validation: release == HelmRelease::EastWestGateway
                        && facts.gateway_chart_schema_rejected_by_new_helm,
                },
            )
        };
    let base = helm(
        b,
        "istio-base",
        with_images(vec![istio_system]),
        HelmRelease::Base,
        "helm: istio/base (CRDs, the reader service account)",
    );
    let istiod = helm(
        b,
        "istiod",
        vec![base],
        HelmRelease::Istiod,
        "helm: istiod, waiting until it is ready",
    );
    let eastwest = helm(
        b,
        "eastwest",
        vec![istiod.clone(), pool],
        HelmRelease::EastWestGateway,
        "helm: the east-west gateway (its LoadBalancer address is waited for next)",
    );
    let eastwest_ip = b.step(
        Stage::Istio,
        cluster,
        "eastwest-ip",
        vec![eastwest],
        "the east-west gateway Service has a LoadBalancer IP inside this cluster's MetalLB range",
        StepKind::GatewayIp {
            cluster: c.clone(),
            kubeconfig: kubeconfig.clone(),
            deadline: deadlines::GATEWAY_IP,
        },
    );
    let expose = b.step(
        Stage::Istio,
        cluster,
        "expose",
        vec![istiod.clone()],
        "apply the cross-network Gateway (port 15443, AUTO_PASSTHROUGH)",
        StepKind::Apply {
            cluster: c.clone(),
            kubeconfig: kubeconfig.clone(),
            items: vec![ItemKey::CrossNetworkGateway],
            retry_webhook: false,
        },
    );
    let reader_token = b.step(
        Stage::Istio,
        cluster,
        "reader-token",
        vec![istiod.clone()],
        &format!(
            "create the token Secret of {} and wait for its token",
            names::READER_SERVICE_ACCOUNT
        ),
        StepKind::ReaderToken {
            cluster: c.clone(),
            kubeconfig: kubeconfig.clone(),
            deadline: deadlines::READER_TOKEN,
        },
    );

    ClusterChain {
        render,
        peer_kubeconfig,
        images,
        istiod,
        eastwest_ip,
        expose,
        reader_token,
        remote_secrets: None,
        samples_ready: None,
    }
}

#[derive(Default)]
struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(&mut self, step: Step) -> StepId {
        let id = step.id.clone();
        self.steps.push(step);
        id
    }

    fn global(
        &mut self,
        stage: Stage,
        id: &str,
        needs: &[&StepId],
        title: &str,
        kind: StepKind,
    ) -> StepId {
        self.push(Step {
            id: StepId::global(id),
            cluster: None,
            stage,
            needs: needs.iter().map(|id| (*id).clone()).collect(),
            title: title.to_owned(),
            kind,
        })
    }

    fn step(
        &mut self,
        stage: Stage,
        cluster: &ClusterName,
        name: &str,
        needs: Vec<StepId>,
        title: &str,
        kind: StepKind,
    ) -> StepId {
        self.push(Step {
            id: StepId::of(cluster, name),
            cluster: Some(cluster.clone()),
            stage,
            needs,
            title: title.to_owned(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests;
