//! What each built step does.

use std::net::Ipv4Addr;
use std::path::Path;

use super::{Context, ToolSource, taken};
use crate::Error;
use crate::certs::{self, EnsureOptions};
use crate::cluster::{CreateRequest, Provider, docker};
use crate::config::ClusterName;
use crate::fsx;
use crate::kube::{Cluster, Polling};
use crate::lifecycle::UpError;
use crate::plan::{Step, StepKind};
use crate::render::{Item, ItemKey, MARKER_FILE, Sources};
use crate::state::{ClusterRecord, Origin};

/// Below these, several kind clusters on one host fail with "too many open files"
/// (https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files).
pub const INOTIFY_INSTANCES: u64 = 512;
pub const INOTIFY_WATCHES: u64 = 524_288;

const SECRET_MODE: u32 = 0o600;
const FILE_MODE: u32 = 0o644;

/// A step's work, boxed: the Send check of the boxed future is made for these lifetimes,
/// which the spawn in `execute` cannot do through the provider's generic futures
/// (rust-lang/rust#100013).
pub(super) fn run<'a, P: Provider>(
    ctx: &'a Context<P>,
    step: &'a Step,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send + 'a>> {
    Box::pin(run_step(ctx, step))
}

async fn run_step<P: Provider>(ctx: &Context<P>, step: &Step) -> Result<(), Error> {
    match &step.kind {
        StepKind::CheckDocker => docker::check_engine(&ctx.runner).await?,
        StepKind::FetchTools => fetch_tools(ctx).await?,
        StepKind::CheckInotify => check_inotify(ctx),
        StepKind::Certs { dir, clusters } => make_certs(ctx, dir, clusters).await?,
        StepKind::CheckNames { clusters, reuse } => check_names(ctx, clusters, *reuse).await?,
        StepKind::WriteKindConfig { cluster, path } => write_kind_config(ctx, cluster, path)?,
        StepKind::CreateCluster { request, reuse: _ } => create(ctx, request).await?,
        StepKind::NodesReady {
            cluster,
            kubeconfig,
            deadline,
        } => {
            let cancel = ctx.runner.cancel().clone();
            tokio::select! {
                result = nodes_ready(ctx, cluster, kubeconfig, *deadline) => result?,
                () = cancel.cancelled() => return Err(UpError::Stopped { step: step.id.clone() }.into()),
            }
        }
        StepKind::ControlPlaneIp { cluster } => {
            let ip = ctx.provider.control_plane_ip(cluster).await?;
            record(ctx, cluster, |r| r.control_plane_ip = Some(ip))?;
        }
        StepKind::PeerKubeconfig { cluster, from, to } => peer_kubeconfig(ctx, cluster, from, to)?,
        StepKind::Network { cluster: _ } => {
            let network = ctx.provider.network().await?;
            let first = ctx
                .journal
                .update(|s| *s.docker_subnet.get_or_insert(network.subnet))?;
            if first != network.subnet {
                return Err(UpError::NetworkChanged {
                    first,
                    now: network.subnet,
                }
                .into());
            }
        }
        StepKind::Render { cluster, dir } => render(ctx, cluster, dir)?,
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
        | StepKind::GateEndpoints { .. } => {
            return Err(UpError::NotBuilt {
                step: step.id.clone(),
            }
            .into());
        }
    }
    Ok(())
}

async fn fetch_tools<P>(ctx: &Context<P>) -> Result<(), Error> {
    let toolbox = tools(&ctx.tools, &ctx.pins, &ctx.row).await?;
    ctx.runner.set_tools(&toolbox);
    Ok(())
}

/// The toolbox of `row`: fetched as `cargo xtask tools` does, or the given one, checked.
///
/// The fetch runs on a blocking thread of its own: `tools::ensure`'s future is not `Send`
/// for every lifetime the executor's spawned steps need (rust-lang/rust#100013), and
/// `block_on` there asks for no `Send` at all.
pub(crate) async fn tools(
    source: &ToolSource,
    pins: &crate::pins::Pins,
    row: &crate::pins::IstioRow,
) -> Result<crate::tools::Toolbox, Error> {
    match source {
        ToolSource::Fetch(options) => {
            let (options, pins, row) = (options.clone(), pins.clone(), row.clone());
            let handle = tokio::runtime::Handle::current();
            let fetched = tokio::task::spawn_blocking(move || {
                handle.block_on(crate::tools::ensure(&options, &pins, &row))
            })
            .await
            .map_err(|e| UpError::Task(e.to_string()))?;
            Ok(fetched?)
        }
        ToolSource::Given(toolbox) => {
            for path in [&toolbox.kind, &toolbox.helm, &toolbox.istioctl] {
                if !path.is_file() {
                    return Err(UpError::ToolMissing { path: path.clone() }.into());
                }
            }
            Ok(toolbox.clone())
        }
    }
}

/// The warnings for inotify limits below what several kind clusters need.
pub fn inotify_warnings(instances: u64, watches: u64) -> Vec<String> {
    let mut out = Vec::new();
    for (name, have, need) in [
        ("max_user_instances", instances, INOTIFY_INSTANCES),
        ("max_user_watches", watches, INOTIFY_WATCHES),
    ] {
        if have < need {
            out.push(format!(
                "fs.inotify.{name} is {have}, below the {need} several kind clusters need (pods fail with \"too many open files\"); raise it with: sudo sysctl fs.inotify.{name}={need}"
            ));
        }
    }
    out
}

fn check_inotify<P>(ctx: &Context<P>) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let read = |name: &str| -> Result<u64, String> {
        let path = Path::new("/proc/sys/fs/inotify").join(name);
        let text =
            (ctx.read_proc)(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        text.trim()
            .parse()
            .map_err(|_| format!("{} holds `{}`, not a number", path.display(), text.trim()))
    };
    match (read("max_user_instances"), read("max_user_watches")) {
        (Ok(instances), Ok(watches)) => {
            for warning in inotify_warnings(instances, watches) {
                ctx.warn(warning);
            }
        }
        (Err(e), _) | (_, Err(e)) => ctx.warn(format!("{e}; the inotify limits were not checked")),
    }
}

async fn make_certs<P>(
    ctx: &Context<P>,
    dir: &Path,
    clusters: &[ClusterName],
) -> Result<(), Error> {
    let (dir, clusters) = (dir.to_owned(), clusters.to_vec());
    let options = EnsureOptions {
        key_type: ctx.key_type,
        force: false,
    };
    tokio::task::spawn_blocking(move || certs::ensure(&dir, &clusters, options))
        .await
        .map_err(|e| UpError::Task(e.to_string()))??;
    Ok(())
}

async fn check_names<P: Provider>(
    ctx: &Context<P>,
    clusters: &[ClusterName],
    reuse: bool,
) -> Result<(), Error> {
    let existing = ctx.provider.list().await?;
    let recorded = ctx.journal.snapshot().clusters;
    let foreign: Vec<ClusterName> = taken(clusters, &existing)
        .into_iter()
        .filter(|c| !recorded.contains_key(*c))
        .cloned()
        .collect();
    *ctx.existing.lock().unwrap_or_else(|p| p.into_inner()) = existing;
    if !foreign.is_empty() && !reuse {
        return Err(UpError::NamesTaken { names: foreign }.into());
    }
    Ok(())
}

fn write_kind_config<P>(ctx: &Context<P>, cluster: &ClusterName, path: &Path) -> Result<(), Error> {
    let config = ctx
        .topology
        .cluster(cluster)
        .ok_or_else(|| UpError::Task(format!("{cluster} is not in the topology")))?;
    let item = Item::new(
        ItemKey::KindConfig,
        crate::render::kind::cluster_config(config, &ctx.row),
    );
    write_file(ctx, path, item.to_yaml().as_bytes(), FILE_MODE)
}

/// Writes a file under the state directory, making its directory (owner-only) first.
fn write_file<P>(ctx: &Context<P>, path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(ctx.layout().root());
    fsx::create_private_dir(dir).map_err(UpError::from)?;
    fsx::write_atomic(path, contents, mode).map_err(UpError::from)?;
    Ok(())
}

fn record<P>(
    ctx: &Context<P>,
    cluster: &ClusterName,
    change: impl FnOnce(&mut ClusterRecord),
) -> Result<(), Error> {
    ctx.journal.update(|s| {
        if let Some(r) = s.clusters.get_mut(cluster) {
            change(r);
        }
    })?;
    Ok(())
}

async fn create<P: Provider>(ctx: &Context<P>, request: &CreateRequest) -> Result<(), Error> {
    let name = &request.name;
    let exists = ctx
        .existing
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|e| e == name.as_str());
    let recorded = ctx.journal.snapshot().clusters.get(name).map(|r| r.origin);
    let origin = match (exists, recorded) {
        (true, Some(origin)) => origin,
        (true, None) => Origin::Reused,
        (false, _) => Origin::Created,
    };
    // Recorded before kind runs, so a create that fails half-way is still taken down.
    ctx.journal.update(|s| {
        s.clusters.insert(
            name.clone(),
            ClusterRecord {
                origin,
                kubeconfig: request.kubeconfig.clone(),
                peer_kubeconfig: None,
                control_plane_ip: None,
                metallb_range: None,
            },
        );
    })?;
    if exists {
        tracing::info!("{name} exists already ({origin:?}); using it");
        let text = ctx.provider.kubeconfig(name).await?;
        write_file(ctx, &request.kubeconfig, text.as_bytes(), SECRET_MODE)?;
    } else {
        fsx::create_private_dir(&ctx.layout().kubeconfig_dir()).map_err(UpError::from)?;
        ctx.provider.create(request).await?;
    }
    Ok(())
}

async fn nodes_ready<P>(
    ctx: &Context<P>,
    cluster: &ClusterName,
    kubeconfig: &Path,
    deadline: std::time::Duration,
) -> Result<(), Error> {
    let nodes = ctx.topology.cluster(cluster).map_or(1, |c| {
        crate::render::kind::cluster_config(c, &ctx.row).nodes.len()
    });
    let api = Cluster::connect(cluster, kubeconfig)
        .await?
        .with_polling(Polling {
            interval: ctx.poll_interval,
            ..Polling::default()
        });
    let report = api.wait_nodes_ready(nodes, deadline).await?;
    tracing::info!("{cluster}: {report}");
    Ok(())
}

fn peer_kubeconfig<P>(
    ctx: &Context<P>,
    cluster: &ClusterName,
    from: &Path,
    to: &Path,
) -> Result<(), Error> {
    let ip: Ipv4Addr = ctx
        .journal
        .snapshot()
        .clusters
        .get(cluster)
        .and_then(|r| r.control_plane_ip)
        .ok_or_else(|| UpError::Task(format!("{cluster}: no control-plane address recorded")))?;
    let text = peer_kubeconfig_text(cluster, from, ip)?;
    write_file(ctx, to, text.as_bytes(), SECRET_MODE)?;
    record(ctx, cluster, |r| r.peer_kubeconfig = Some(to.to_owned()))
}

/// kind's kubeconfig of `cluster` with its server moved to `https://<ip>:6443`: the API
/// server's port inside the docker network, and an address in its certificate (kubeadm
/// signs the node's address; kubernetes-sigs/kind#1021).
pub fn peer_kubeconfig_text(
    cluster: &ClusterName,
    from: &Path,
    ip: Ipv4Addr,
) -> Result<String, Error> {
    let bad = |reason: String| UpError::Kubeconfig {
        path: from.to_owned(),
        reason,
    };
    let mut config = kube::config::Kubeconfig::read_from(from).map_err(|e| bad(e.to_string()))?;
    let name = crate::names::kind_context(cluster);
    let entry = config
        .clusters
        .iter_mut()
        .find(|c| c.name == name)
        .and_then(|c| c.cluster.as_mut())
        .ok_or_else(|| bad(format!("it has no cluster named `{name}`")))?;
    entry.server = Some(format!("https://{ip}:6443"));
    Ok(crate::yaml::to_string(&config).map_err(|e| bad(e.to_string()))?)
}

fn render<P>(ctx: &Context<P>, cluster: &ClusterName, dir: &Path) -> Result<(), Error> {
    let subnet = ctx
        .journal
        .snapshot()
        .docker_subnet
        .ok_or_else(|| UpError::Task("the docker network was not read".into()))?;
    let certs_dir = ctx.layout().certs_dir();
    let resolved = crate::render::resolve(
        &ctx.pins,
        Sources {
            istio: Some(&ctx.row.version),
            config: ctx.config_path.as_deref(),
            network: Some(crate::net::DockerNetwork::from_subnet(subnet)),
            ..Sources::new(&certs_dir)
        },
    )?;
    let rendered = resolved.render()?;
    let ours = rendered
        .iter()
        .find(|c| c.cluster() == cluster)
        .ok_or_else(|| UpError::Task(format!("{cluster} was not rendered")))?;
    fsx::create_private_dir(dir).map_err(UpError::from)?;
    let marker = ctx.layout().rendered_dir().join(MARKER_FILE);
    if !marker.exists() {
        fsx::write_atomic(
            &marker,
            b"written by `cargo xtask up`; replaced by `cargo xtask render`\n",
            FILE_MODE,
        )
        .map_err(UpError::from)?;
    }
    for item in ours.items() {
        // Remote secrets need the peers' tokens: the exchange writes them.
        if matches!(item.key(), ItemKey::RemoteSecret(_)) {
            continue;
        }
        let mode = if item.key().is_secret() {
            SECRET_MODE
        } else {
            FILE_MODE
        };
        fsx::write_atomic(
            &dir.join(item.key().file_name()),
            item.to_yaml().as_bytes(),
            mode,
        )
        .map_err(UpError::from)?;
    }
    let range = ours.metallb_range().to_string();
    record(ctx, cluster, |r| r.metallb_range = Some(range))
}
