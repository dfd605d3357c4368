//! `cargo xtask render`: every file the setup would apply, with no cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use e2e::certs::ClusterCaPem;
use e2e::config::{ClusterName, Topology};
use e2e::net::DockerNetwork;
use e2e::pins::{IstioVersion, Pins};
use e2e::render::remote_secret::RemoteAccess;
use e2e::render::{MeshInputs, WriteError, placeholder_cacerts, render_mesh, write_rendered};

use crate::output::usage;

/// kind's usual network when docker picks it (reference: istio-multicluster.md §5).
const DEFAULT_DOCKER_SUBNET: &str = "172.18.0.0/16";

#[derive(Args)]
pub struct RenderArgs {
    /// Output directory; default: rendered/ under the state directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Istio version (a row of versions.toml); default: its `default`.
    #[arg(long, value_name = "VER")]
    istio: Option<String>,
    /// Topology file; default: the built-in two-cluster topology.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The kind docker network's subnet, for use without Docker [default: 172.18.0.0/16].
    #[arg(long, value_name = "CIDR")]
    docker_subnet: Option<String>,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let pins = Pins::load(&e2e::dirs::pins_file())?;
    let version = match &args.istio {
        Some(v) => v.parse::<IstioVersion>().map_err(usage)?,
        None => pins.default.clone(),
    };
    let row = pins.row(&version)?;
    let topology = match &args.config {
        Some(path) => Topology::load(path)?,
        None => Topology::default(),
    };
    let subnet_text = args
        .docker_subnet
        .as_deref()
        .unwrap_or(DEFAULT_DOCKER_SUBNET);
    let subnet = subnet_text.parse().map_err(|_| {
        usage(format!(
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
        samples: &pins.samples,
        network: DockerNetwork::from_subnet(subnet),
        cacerts: &cacerts,
        remote_access: &remote_access,
    })
    .map_err(|e| match e {
        e2e::render::RenderError::Topology(config) => anyhow::Error::new(config),
        other => usage(other.to_string()),
    })?;

    let out = args.out.clone().unwrap_or_else(|| state.join("rendered"));
    write_rendered(&out, &rendered).map_err(|e| match e {
        // A wrong --out is bad input (exit 2); a failing disk is not.
        WriteError::NotOurs(_) | WriteError::NotADirectory(_) => usage(e.to_string()),
        io => anyhow::Error::new(io)
            .context(format!("writing the rendered files to {}", out.display())),
    })?;

    let files: usize = rendered.iter().map(|c| c.files.len()).sum();
    println!(
        "rendered Istio {} for {} clusters ({files} files) into {}",
        row.version,
        rendered.len(),
        out.display()
    );
    for cluster in &rendered {
        println!(
            "  {}/  MetalLB range {}",
            cluster.cluster, cluster.metallb_range
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

/// The four PEM files `cargo xtask certs` writes per cluster (`<certs>/<cluster>/`), or
/// `None` when that cluster has none yet.
fn load_cluster_ca(
    certs_dir: &Path,
    cluster: &ClusterName,
) -> anyhow::Result<Option<ClusterCaPem>> {
    let dir = certs_dir.join(cluster.as_str());
    let names = [
        "ca-cert.pem",
        "ca-key.pem",
        "root-cert.pem",
        "cert-chain.pem",
    ];
    let present: Vec<bool> = names.iter().map(|n| dir.join(n).is_file()).collect();
    if present.iter().all(|p| !p) {
        return Ok(None);
    }
    if let Some(i) = present.iter().position(|p| !p) {
        return Err(usage(format!(
            "{} is missing from {}; run `cargo xtask certs` to complete the cluster's CA files",
            names[i],
            dir.display()
        )));
    }
    let read = |n: &str| {
        let path = dir.join(n);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    Ok(Some(ClusterCaPem {
        ca_cert: read("ca-cert.pem")?,
        ca_key: read("ca-key.pem")?,
        root_cert: read("root-cert.pem")?,
        cert_chain: read("cert-chain.pem")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("xtask-render-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn cluster_ca_files_are_all_or_nothing() {
        let certs = TempDir::new("ca");
        let cluster: ClusterName = "cluster1".parse().unwrap();
        assert!(
            load_cluster_ca(&certs.0, &cluster).unwrap().is_none(),
            "no files: placeholders"
        );

        let dir = certs.0.join("cluster1");
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["ca-cert.pem", "ca-key.pem", "root-cert.pem"] {
            std::fs::write(dir.join(name), format!("pem of {name}")).unwrap();
        }
        let err = load_cluster_ca(&certs.0, &cluster).unwrap_err();
        assert!(err.is::<crate::output::Usage>(), "bad input, exit 2");
        assert!(
            err.to_string()
                .starts_with("cert-chain.pem is missing from"),
            "{err}"
        );

        std::fs::write(dir.join("cert-chain.pem"), "pem of cert-chain.pem").unwrap();
        let pem = load_cluster_ca(&certs.0, &cluster).unwrap().unwrap();
        assert_eq!(pem.ca_cert, "pem of ca-cert.pem");
        assert_eq!(pem.ca_key, "pem of ca-key.pem");
        assert_eq!(pem.root_cert, "pem of root-cert.pem");
        assert_eq!(pem.cert_chain, "pem of cert-chain.pem");
    }
}
