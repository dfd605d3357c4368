//! Everything rendering needs, gathered in one step that `render` uses now and `up` and
//! `e2e` will use with real values: the Istio row, the topology, the kind docker network,
//! each cluster's CA and each peer's API server access. Whatever is not known yet is
//! stood in for, and [`StandIns`] says what, so the caller can say so (or refuse it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::certs::{self, CertsError, ClusterCaPem};
use crate::config::{ClusterName, Topology};
use crate::net::DockerNetwork;
use crate::pins::{IstioRow, IstioVersion, Pins};

use super::remote_secret::{PLACEHOLDER, RemoteAccess};
use super::{MeshInputs, RenderError, RenderedCluster, render_mesh};

/// What a run knows about the inputs, before anything is loaded.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    /// The Istio row asked for (`--istio`); the default row when `None`.
    pub istio: Option<&'a IstioVersion>,
    /// A topology file (`--config`); the built-in topology when `None`.
    pub config: Option<&'a Path>,
    /// The kind docker network, when known (inspected, or given); kind's usual one is
    /// assumed when `None`.
    pub network: Option<DockerNetwork>,
    /// Where `cargo xtask certs` wrote the CA files; a cluster without its files there gets
    /// placeholders.
    pub certs_dir: &'a Path,
    /// How peers reach each cluster's API server, once the clusters run; placeholders for
    /// every cluster when `None`.
    pub remote_access: Option<BTreeMap<ClusterName, RemoteAccess>>,
}

impl<'a> Sources<'a> {
    /// Only where the CA files are known: the default row and topology, everything else
    /// stood in for.
    pub fn new(certs_dir: &'a Path) -> Self {
        Self {
            istio: None,
            config: None,
            network: None,
            certs_dir,
            remote_access: None,
        }
    }
}

/// What rendering had to stand in for, for lack of the real thing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StandIns {
    /// The docker network was not known: [`DockerNetwork::assumed`] was used.
    pub network: bool,
    /// Clusters whose CA files do not exist yet: their `cacerts` Secret holds placeholders.
    pub cacerts: Vec<ClusterName>,
    /// No cluster runs yet: every remote secret holds a placeholder server, CA and token.
    pub remote_access: bool,
}

impl StandIns {
    /// Nothing was stood in for: the output can be applied as it is.
    pub fn is_empty(&self) -> bool {
        !self.network && self.cacerts.is_empty() && !self.remote_access
    }
}

/// The inputs, loaded and checked, with what was stood in for.
#[derive(Debug, Clone)]
pub struct Resolved<'p> {
    row: &'p IstioRow,
    pins: &'p Pins,
    topology: Topology,
    /// The file the topology came from, named in errors about how its clusters relate.
    config: Option<PathBuf>,
    network: DockerNetwork,
    cacerts: BTreeMap<ClusterName, ClusterCaPem>,
    remote_access: BTreeMap<ClusterName, RemoteAccess>,
    stand_ins: StandIns,
}

/// Picks the row, loads the topology, and finds each cluster's CA and access, standing in
/// for what does not exist yet. A CA set that exists but cannot be trusted is an error,
/// never replaced by placeholders.
pub fn resolve<'p>(pins: &'p Pins, sources: Sources<'_>) -> Result<Resolved<'p>, Error> {
    let row = pins.select(sources.istio)?;
    let topology = Topology::load_or_default(sources.config)?;
    let mut stand_ins = StandIns::default();

    let network = sources.network.unwrap_or_else(|| {
        stand_ins.network = true;
        DockerNetwork::assumed()
    });

    let mut cacerts = BTreeMap::new();
    for name in topology.cluster_names() {
        let pem = match certs::load_cluster(sources.certs_dir, name) {
            Ok(pem) => pem,
            Err(CertsError::NotGenerated { .. }) => {
                stand_ins.cacerts.push(name.clone());
                placeholder_cacerts(name)
            }
            Err(e) => return Err(e.into()),
        };
        cacerts.insert(name.clone(), pem);
    }

    let remote_access = match sources.remote_access {
        Some(access) => access,
        None => {
            stand_ins.remote_access = true;
            topology
                .cluster_names()
                .map(|name| (name.clone(), RemoteAccess::placeholder(name)))
                .collect()
        }
    };

    Ok(Resolved {
        row,
        pins,
        topology,
        config: sources.config.map(Path::to_owned),
        network,
        cacerts,
        remote_access,
        stand_ins,
    })
}

impl Resolved<'_> {
    pub fn row(&self) -> &IstioRow {
        self.row
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn network(&self) -> &DockerNetwork {
        &self.network
    }

    pub fn stand_ins(&self) -> &StandIns {
        &self.stand_ins
    }

    /// The inputs as [`render_mesh`] takes them.
    pub fn inputs(&self) -> MeshInputs<'_> {
        MeshInputs {
            topology: &self.topology,
            row: self.row,
            samples: self.pins.samples(),
            network: self.network,
            cacerts: &self.cacerts,
            remote_access: &self.remote_access,
        }
    }

    /// Renders every cluster's items.
    pub fn render(&self) -> Result<Vec<RenderedCluster>, RenderError> {
        render_mesh(&self.inputs()).map_err(|e| match (e, &self.config) {
            (RenderError::Topology(e), Some(file)) => RenderError::Topology(e.in_file(file)),
            (e, _) => e,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::certs::{EnsureOptions, KeyType};

    fn pins() -> Pins {
        Pins::parse(
            include_str!("../../../fixtures/pins/two-rows.toml"),
            Path::new("versions.toml"),
        )
        .unwrap()
    }

    fn names(list: &[&str]) -> Vec<ClusterName> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn nothing_known_stands_in_for_everything() {
        let pins = pins();
        let certs = tempfile::tempdir().unwrap();
        let resolved = resolve(&pins, Sources::new(certs.path())).unwrap();
        assert_eq!(resolved.row(), pins.default_row());
        assert_eq!(resolved.topology(), &Topology::default());
        assert_eq!(resolved.network(), &DockerNetwork::assumed());
        assert_eq!(
            resolved.stand_ins(),
            &StandIns {
                network: true,
                cacerts: names(&["cluster1", "cluster2"]),
                remote_access: true,
            }
        );
        let cluster1 = "cluster1".parse().unwrap();
        assert_eq!(
            resolved.inputs().cacerts[&cluster1],
            placeholder_cacerts(&cluster1)
        );
        assert_eq!(
            resolved.inputs().remote_access[&cluster1],
            RemoteAccess::placeholder(&cluster1)
        );
        assert_eq!(resolved.render().unwrap().len(), 2);
    }

    #[test]
    fn what_is_known_is_used() {
        let pins = pins();
        let certs = tempfile::tempdir().unwrap();
        let three = crate::dirs::workspace_root().join("fixtures/topology/three-clusters.toml");
        let network = DockerNetwork::from_subnet("10.89.0.0/24".parse().unwrap());
        let access: BTreeMap<_, _> = names(&["cluster1", "cluster2", "cluster3"])
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let access = RemoteAccess {
                    server: format!("https://172.18.0.{}:6443", i + 2).parse().unwrap(),
                    ca_pem: "ca".into(),
                    token: "token".into(),
                };
                (name, access)
            })
            .collect();
        let old = "1.24.1".parse().unwrap();
        let resolved = resolve(
            &pins,
            Sources {
                istio: Some(&old),
                config: Some(&three),
                network: Some(network),
                certs_dir: certs.path(),
                remote_access: Some(access.clone()),
            },
        )
        .unwrap();
        assert_eq!(resolved.row().version, old);
        assert_eq!(resolved.topology().clusters.len(), 3);
        assert_eq!(resolved.network(), &network);
        assert_eq!(resolved.inputs().remote_access, &access);
        assert!(!resolved.stand_ins().network && !resolved.stand_ins().remote_access);
    }

    #[test]
    fn cluster_ca_is_a_placeholder_before_certs_then_the_checked_files() {
        let pins = pins();
        let certs = tempfile::tempdir().unwrap();
        let sources = || Sources::new(certs.path());
        let cluster1: ClusterName = "cluster1".parse().unwrap();
        // Only cluster1 has its files: cluster2 still stands in.
        let options = EnsureOptions {
            key_type: KeyType::EcdsaP256,
            force: false,
        };
        certs::ensure(certs.path(), std::slice::from_ref(&cluster1), options).unwrap();
        let resolved = resolve(&pins, sources()).unwrap();
        assert_eq!(resolved.stand_ins().cacerts, names(&["cluster2"]));
        let on_disk = std::fs::read_to_string(certs.path().join("cluster1/ca-key.pem")).unwrap();
        assert_eq!(resolved.inputs().cacerts[&cluster1].ca_key, on_disk);

        // A half-deleted set is the user's to fix, never papered over with placeholders.
        std::fs::remove_file(certs.path().join("cluster1/cert-chain.pem")).unwrap();
        let err = resolve(&pins, sources()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
        assert!(err.to_string().contains("cert-chain.pem"), "{err}");
    }

    #[test]
    fn a_topology_that_does_not_fit_the_network_names_its_file() {
        let pins = pins();
        let certs = tempfile::tempdir().unwrap();
        let three = crate::dirs::workspace_root().join("fixtures/topology/three-clusters.toml");
        let resolved = resolve(
            &pins,
            Sources {
                config: Some(&three),
                network: Some(DockerNetwork::from_subnet("10.0.0.0/8".parse().unwrap())),
                ..Sources::new(certs.path())
            },
        )
        .unwrap();
        let err = resolved.render().unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: invalid topology:", three.display())),
            "{err}"
        );
        assert!(err.contains("overlaps the kind docker network"), "{err}");
    }

    #[test]
    fn an_unreadable_certs_directory_is_an_error_not_placeholders() {
        let pins = pins();
        let tmp = tempfile::tempdir().unwrap();
        let certs = tmp.path().join("certs");
        std::os::unix::fs::symlink(&certs, &certs).unwrap();
        let err = resolve(&pins, Sources::new(&certs)).unwrap_err();
        assert!(
            err.to_string().contains(&certs.display().to_string()),
            "{err}"
        );
        assert!(
            matches!(err, Error::Certs(CertsError::Io { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn an_unknown_row_or_a_bad_topology_is_refused() {
        let pins = pins();
        let certs = tempfile::tempdir().unwrap();
        let unknown = "1.2.3".parse().unwrap();
        let err = resolve(
            &pins,
            Sources {
                istio: Some(&unknown),
                ..Sources::new(certs.path())
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnknownIstioVersion(_)), "{err}");
        let missing = Path::new("/no/such/topology.toml");
        let err = resolve(
            &pins,
            Sources {
                config: Some(missing),
                ..Sources::new(certs.path())
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}
