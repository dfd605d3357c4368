//! `cargo xtask render`: every file the setup would apply, with no cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use e2e::certs::{CertsError, ClusterCaPem};
use e2e::config::{ClusterName, Topology};
use e2e::net::DockerNetwork;
use e2e::pins::{IstioVersion, Pins};
use e2e::render::remote_secret::RemoteAccess;
use e2e::render::{MeshInputs, placeholder_cacerts, render_mesh, write_rendered};

use crate::error::{CliError, Doing};

/// kind's usual network when docker picks it (reference: istio-multicluster.md §5).
const DEFAULT_DOCKER_SUBNET: &str = "172.18.0.0/16";

#[derive(Args)]
pub struct RenderArgs {
    /// Output directory; default: rendered/ under the state directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<IstioVersion>,
    /// Topology file; default: the built-in two-cluster topology.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The kind docker network's subnet, for use without Docker [default: 172.18.0.0/16].
    #[arg(long, value_name = "CIDR")]
    docker_subnet: Option<String>,
}

pub fn run(args: RenderArgs) -> Result<(), CliError> {
    let pins = Pins::load(&e2e::dirs::pins_file())?;
    let row = pins.select(args.istio.as_ref())?;
    let topology = Topology::load_or_default(args.config.as_deref())?;
    let subnet_text = args
        .docker_subnet
        .as_deref()
        .unwrap_or(DEFAULT_DOCKER_SUBNET);
    let subnet = subnet_text.parse().map_err(|_| {
        CliError::Usage(format!(
            "--docker-subnet `{subnet_text}` is not an IPv4 CIDR such as 172.18.0.0/16 (see `docker network inspect kind`)"
        ))
    })?;
    if args.docker_subnet.is_none() {
        eprintln!(
            "note: assuming the kind docker network is {DEFAULT_DOCKER_SUBNET} (kind's usual); pass --docker-subnet with the subnet of `docker network inspect kind` if yours differs"
        );
    }

    let state = e2e::dirs::state_dir();
    let certs_dir = state.join("certs");
    let mut cacerts = BTreeMap::new();
    let mut placeholder_certs = Vec::new();
    for name in topology.cluster_names() {
        match load_cluster_ca(&certs_dir, name)? {
            Some(pem) => cacerts.insert(name.clone(), pem),
            None => {
                placeholder_certs.push(name.to_string());
                cacerts.insert(name.clone(), placeholder_cacerts(name))
            }
        };
    }
    // The real peer-facing address, CA and reader token exist only once the clusters do.
    let remote_access: BTreeMap<ClusterName, RemoteAccess> = topology
        .cluster_names()
        .map(|name| (name.clone(), RemoteAccess::placeholder(name)))
        .collect();

    let rendered = render_mesh(&MeshInputs {
        topology: &topology,
        row,
        samples: pins.samples(),
        network: DockerNetwork::from_subnet(subnet),
        cacerts: &cacerts,
        remote_access: &remote_access,
    })?;

    let out = args.out.clone().unwrap_or_else(|| state.join("rendered"));
    write_rendered(&out, &rendered)
        .doing(|| format!("cannot write the rendered files to {}", out.display()))?;

    let files: usize = rendered.iter().map(|c| c.items().len()).sum();
    println!(
        "rendered Istio {} for {} clusters ({files} files) into {}",
        row.version,
        rendered.len(),
        out.display()
    );
    for cluster in &rendered {
        println!(
            "  {}/  MetalLB range {}",
            cluster.cluster(),
            cluster.metallb_range()
        );
    }
    if placeholder_certs.is_empty() {
        println!("cacerts: from {}", certs_dir.display());
    } else {
        println!(
            "cacerts: no certificates in {} for {}, so the cacerts Secrets hold PLACEHOLDER PEM; `cargo xtask certs` creates the real ones",
            certs_dir.display(),
            placeholder_certs.join(", ")
        );
    }
    println!(
        "remote secrets: server, CA and token are PLACEHOLDERs; `cargo xtask up` fills them in from the running clusters"
    );
    Ok(())
}

/// The cluster's CA files as `cargo xtask certs` wrote them, checked against the root, or
/// `None` when the certificates have not been made yet.
fn load_cluster_ca(
    certs_dir: &Path,
    cluster: &ClusterName,
) -> Result<Option<ClusterCaPem>, CertsError> {
    match e2e::certs::load_cluster(certs_dir, cluster) {
        Ok(pem) => Ok(Some(pem)),
        Err(CertsError::NotGenerated { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2e::certs::{EnsureOptions, KeyType, ensure};

    #[test]
    fn cluster_ca_is_none_before_certs_then_checked_files() {
        let certs = tempfile::tempdir().unwrap();
        let cluster: ClusterName = "cluster1".parse().unwrap();
        assert!(load_cluster_ca(certs.path(), &cluster).unwrap().is_none());

        let options = EnsureOptions {
            key_type: KeyType::EcdsaP256,
            force: false,
        };
        ensure(certs.path(), std::slice::from_ref(&cluster), options).unwrap();
        let pem = load_cluster_ca(certs.path(), &cluster).unwrap().unwrap();
        let on_disk = std::fs::read_to_string(certs.path().join("cluster1/ca-key.pem")).unwrap();
        assert_eq!(pem.ca_key, on_disk);

        std::fs::remove_file(certs.path().join("cluster1/cert-chain.pem")).unwrap();
        let err = load_cluster_ca(certs.path(), &cluster).unwrap_err();
        assert_eq!(
            err.kind(),
            e2e::ErrorKind::BadInput,
            "a half-deleted set is bad input: {err}"
        );
        assert!(err.to_string().contains("cert-chain.pem"), "{err}");
    }
}
