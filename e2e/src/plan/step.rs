//! What each step does ([`StepKind`]), and how it reads for a person ([`Action`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::{CreateRequest, docker, kind};
use crate::config::ClusterName;
use crate::names;
use crate::render::ItemKey;
use crate::runner::{Invocation, Tool};
use crate::tools::Toolbox;

/// Everything a step needs to run, by what it is. The cluster part (preflight, clusters)
/// is built; the mesh steps are planned here and built by the next issue.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    // ---- preflight
    /// `docker info`: fails at once, with docker's own reason, when no engine answers.
    CheckDocker,
    /// Fetch and verify the pinned tools, as `cargo xtask tools` does.
    FetchTools,
    /// Warn when inotify limits are too low for several clusters.
    CheckInotify,
    /// The CA files, as `cargo xtask certs` makes them (kept when they exist).
    Certs {
        dir: PathBuf,
        clusters: Vec<ClusterName>,
    },
    /// `kind get clusters`: refuse names taken by clusters we did not create.
    CheckNames {
        clusters: Vec<ClusterName>,
        reuse: bool,
    },

    // ---- clusters
    WriteKindConfig {
        cluster: ClusterName,
        path: PathBuf,
    },
    /// `kind create cluster`, or, with `reuse`, the existing cluster's kubeconfig.
    CreateCluster {
        request: CreateRequest,
        reuse: bool,
    },
    NodesReady {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        deadline: Duration,
    },
    ControlPlaneIp {
        cluster: ClusterName,
    },
    PeerKubeconfig {
        cluster: ClusterName,
        from: PathBuf,
        to: PathBuf,
    },
    Network {
        cluster: ClusterName,
    },
    Render {
        cluster: ClusterName,
        dir: PathBuf,
    },

    // ---- images (next issue)
    PullImage {
        image: String,
    },
    LoadImages {
        cluster: ClusterName,
        images: Vec<String>,
    },

    // ---- mesh (next issue)
    ApplyMetallb {
        cluster: ClusterName,
        kubeconfig: PathBuf,
    },
    MetallbReady {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        deadline: Duration,
    },
    /// Server-side apply of rendered items, in order; `retry_webhook` retries while
    /// MetalLB's webhook is not serving yet (that error only).
    Apply {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        items: Vec<ItemKey>,
        retry_webhook: bool,
    },
    HelmInstall {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        release: HelmRelease,
        values: PathBuf,
        skip_schema_validation: bool,
    },
    GatewayIp {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        deadline: Duration,
    },
    ReaderToken {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        deadline: Duration,
    },
    RemoteSecrets {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        peers: Vec<ClusterName>,
    },
    SamplesReady {
        cluster: ClusterName,
        kubeconfig: PathBuf,
        deadline: Duration,
    },
    GateSynced {
        cluster: ClusterName,
        peers: Vec<ClusterName>,
        deadline: Duration,
    },
    GateRootCert {
        cluster: ClusterName,
        deadline: Duration,
    },
    GateEndpoints {
        cluster: ClusterName,
        peers: Vec<ClusterName>,
        deadline: Duration,
    },
}

/// The three Helm releases, each from its chart in the fetched Istio archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelmRelease {
    Base,
    Istiod,
    EastWestGateway,
}

impl HelmRelease {
    pub fn name(self) -> &'static str {
        match self {
            HelmRelease::Base => names::BASE_RELEASE,
            HelmRelease::Istiod => names::ISTIOD_RELEASE,
            HelmRelease::EastWestGateway => names::EASTWEST_GATEWAY,
        }
    }

    /// The rendered values file it installs with.
    pub fn values(self) -> ItemKey {
        match self {
            HelmRelease::Base => ItemKey::BaseValues,
            HelmRelease::Istiod => ItemKey::IstiodValues,
            HelmRelease::EastWestGateway => ItemKey::EastWestGatewayValues,
        }
    }

    /// `helm --wait` only where it tells us something: istiod must be ready before
    /// anything is injected. base has no workload, and the gateway's `--wait` would block
    /// on its LoadBalancer address, which the next step waits for with a diagnosis instead
    /// of helm's `context deadline exceeded` (helm/helm@v3.21.4:pkg/kube/ready.go).
    fn waits(self) -> bool {
        self == HelmRelease::Istiod
    }
}

/// `helm upgrade --install`: a re-run upgrades in place. Flags from helm/helm@v3.21.4:
/// cmd/helm/upgrade.go (`--wait` is a plain bool; `--timeout` a Go duration).
pub fn helm_upgrade_install(
    tools: &Toolbox,
    release: HelmRelease,
    values: &std::path::Path,
    kubeconfig: &std::path::Path,
    skip_schema_validation: bool,
) -> Invocation {
    let chart = match release {
        HelmRelease::Base => &tools.charts.base,
        HelmRelease::Istiod => &tools.charts.istiod,
        HelmRelease::EastWestGateway => &tools.charts.gateway,
    };
    let mut args = vec![
        "upgrade".to_owned(),
        "--install".to_owned(),
        release.name().to_owned(),
        chart.display().to_string(),
        "--namespace".to_owned(),
        names::ISTIO_SYSTEM.to_owned(),
        "--values".to_owned(),
        values.display().to_string(),
        "--timeout".to_owned(),
        kind::go_duration(super::deadlines::HELM),
    ];
    if release.waits() {
        args.push("--wait".to_owned());
    }
    if skip_schema_validation {
        args.push("--skip-schema-validation".to_owned());
    }
    Invocation::new(Tool::Helm, args)
        .kubeconfig(kubeconfig)
        .timeout(super::deadlines::HELM + Duration::from_secs(60))
}

/// A step as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A command line, tool first.
    Command(Vec<String>),
    /// Files applied, relative to the rendered directory (or a fetched manifest's path).
    Apply(Vec<String>),
    /// A condition waited for, and for how long at most.
    Wait { what: String, deadline: Duration },
    /// Work the framework does itself.
    Task(String),
}

impl StepKind {
    /// The command the step runs, when it is one command.
    pub fn invocation(&self, tools: &Toolbox) -> Option<Invocation> {
        Some(match self {
            StepKind::CheckDocker => docker::info(),
            StepKind::CheckNames { .. } => kind::get_clusters(),
            StepKind::CreateCluster { request, .. } => kind::create(request),
            StepKind::ControlPlaneIp { cluster } => docker::inspect_control_plane(cluster),
            StepKind::Network { .. } => docker::inspect_network(),
            StepKind::PullImage { image } => docker::pull(image),
            StepKind::LoadImages { cluster, images } => kind::load_images(cluster, images),
            StepKind::HelmInstall {
                kubeconfig,
                release,
                values,
                skip_schema_validation,
                ..
            } => helm_upgrade_install(tools, *release, values, kubeconfig, *skip_schema_validation),
            _ => return None,
        })
    }

    /// The projection for people and for `--dry-run --json`.
    pub fn action(&self, tools: &Toolbox) -> Action {
        if let Some(inv) = self.invocation(tools) {
            return Action::Command(inv.argv());
        }
        let rel = |cluster: &ClusterName, item: &ItemKey| format!("{cluster}/{}", item.file_name());
        match self {
            StepKind::FetchTools => Action::Task(
                "fetch and verify the pinned tools into the shared cache (as `cargo xtask tools`)".into(),
            ),
            StepKind::CheckInotify => Action::Task(
                "read /proc/sys/fs/inotify/max_user_{instances,watches}; warn below 512 / 524288".into(),
            ),
            StepKind::Certs { dir, .. } => Action::Task(format!(
                "make the CA files in {} where missing (as `cargo xtask certs`)",
                dir.display()
            )),
            StepKind::WriteKindConfig { path, .. } => Action::Task(format!("write {}", path.display())),
            StepKind::NodesReady { cluster, deadline, .. } => Action::Wait {
                what: format!("every node of {cluster} Ready (listed through the API)"),
                deadline: *deadline,
            },
            StepKind::PeerKubeconfig { from, to, .. } => Action::Task(format!(
                "write {} from {}, with server https://<control-plane IP>:6443",
                to.display(),
                from.display()
            )),
            StepKind::Render { dir, .. } => Action::Task(format!(
                "render {} with the network's subnet (remote secrets come with the exchange)",
                dir.display()
            )),
            StepKind::ApplyMetallb { .. } => {
                Action::Apply(vec![tools.metallb_manifest.display().to_string()])
            }
            StepKind::MetallbReady { deadline, .. } => Action::Wait {
                what: "Deployment metallb-system/controller available; Service metallb-system/metallb-webhook-service has endpoints".into(),
                deadline: *deadline,
            },
            StepKind::Apply { cluster, items, .. } => {
                Action::Apply(items.iter().map(|item| rel(cluster, item)).collect())
            }
            StepKind::GatewayIp { cluster, deadline, .. } => Action::Wait {
                what: format!(
                    "Service {}/{} has a LoadBalancer IP in {cluster}'s MetalLB range",
                    names::ISTIO_SYSTEM,
                    names::EASTWEST_GATEWAY
                ),
                deadline: *deadline,
            },
            StepKind::ReaderToken { deadline, .. } => Action::Wait {
                what: format!(
                    "Secret {}/{}-istio-remote-secret-token (type kubernetes.io/service-account-token) created and its token filled in",
                    names::ISTIO_SYSTEM,
                    names::READER_SERVICE_ACCOUNT
                ),
                deadline: *deadline,
            },
            StepKind::RemoteSecrets { cluster, peers, .. } => Action::Apply(
                peers
                    .iter()
                    .map(|peer| rel(cluster, &ItemKey::RemoteSecret(peer.clone())))
                    .collect(),
            ),
            StepKind::SamplesReady { deadline, .. } => Action::Wait {
                what: "Deployments in `sample` rolled out; every pod has an istio-proxy container".into(),
                deadline: *deadline,
            },
            StepKind::GateSynced { peers, deadline, .. } => Action::Wait {
                what: format!("istiod's /debug/clusterz lists {} as synced", list(peers)),
                deadline: *deadline,
            },
            StepKind::GateRootCert { deadline, .. } => Action::Wait {
                what: "ConfigMap sample/istio-ca-root-cert holds the generated root certificate".into(),
                deadline: *deadline,
            },
            StepKind::GateEndpoints { peers, deadline, .. } => Action::Wait {
                what: format!(
                    "curl's proxy has outbound|{}||helloworld.sample.svc.cluster.local endpoints here and at the east-west gateway of {}",
                    names::HELLOWORLD_PORT,
                    list(peers)
                ),
                deadline: *deadline,
            },
            StepKind::CheckDocker
            | StepKind::CheckNames { .. }
            | StepKind::CreateCluster { .. }
            | StepKind::ControlPlaneIp { .. }
            | StepKind::Network { .. }
            | StepKind::PullImage { .. }
            | StepKind::LoadImages { .. }
            | StepKind::HelmInstall { .. } => unreachable!("commands are handled above"),
        }
    }

    /// Whether the executor can run this step yet. The mesh steps are planned, shown and
    /// checked now, and built by the next issue.
    pub fn built(&self) -> bool {
        match self {
            StepKind::CheckDocker
            | StepKind::FetchTools
            | StepKind::CheckInotify
            | StepKind::Certs { .. }
            | StepKind::CheckNames { .. }
            | StepKind::WriteKindConfig { .. }
            | StepKind::CreateCluster { .. }
            | StepKind::NodesReady { .. }
            | StepKind::ControlPlaneIp { .. }
            | StepKind::PeerKubeconfig { .. }
            | StepKind::Network { .. }
            | StepKind::Render { .. } => true,
            StepKind::PullImage { .. }
            | StepKind::LoadImages { .. }
            | StepKind::ApplyMetallb { .. }
            | StepKind::MetallbReady { .. }
            | StepKind::Apply { .. }
            | StepKind::HelmInstall { .. }
            | StepKind::GatewayIp { .. }
            | StepKind::ReaderToken { .. }
            | StepKind::RemoteSecrets { .. }
            | StepKind::SamplesReady { .. }
            | StepKind::GateSynced { .. }
            | StepKind::GateRootCert { .. }
            | StepKind::GateEndpoints { .. } => false,
        }
    }
}

fn list(peers: &[ClusterName]) -> String {
    peers
        .iter()
        .map(ClusterName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
