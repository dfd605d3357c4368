//! istiod's view of the mesh: which clusters it watches (`/debug/clusterz`) and which
//! network gateways it knows (`/debug/networkz`).
//!
//! Read by exec, `pilot-discovery request GET <path>` in istiod's `discovery` container:
//! it calls `127.0.0.1:15014`, a loopback caller istiod lets through, and prints the body
//! plus a newline (istio/istio@1.24.1:pilot/cmd/pilot-discovery/app/request.go,
//! pilot/pkg/request/command.go). A 404 is printed too and exits 0, so the body must be
//! JSON to count.

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

use super::{DISCOVERY_CONTAINER, ExecOutput, ExecRequest, PodSelector, ProbeError, json_stdout};
use crate::config::ClusterName;

/// An istiod debug endpoint this framework reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IstiodDebug {
    Clusterz,
    Networkz,
}

impl IstiodDebug {
    /// The path istiod registers it under (istio/istio@1.24.1:pilot/pkg/xds/debug.go).
    pub fn path(self) -> &'static str {
        match self {
            IstiodDebug::Clusterz => "/debug/clusterz",
            IstiodDebug::Networkz => "/debug/networkz",
        }
    }

    /// The exec that reads it from any Running istiod pod.
    pub fn request(self) -> ExecRequest {
        ExecRequest::new(
            PodSelector::istiod(),
            DISCOVERY_CONTAINER,
            &["pilot-discovery", "request", "GET", self.path()],
        )
    }

    fn command(self) -> String {
        format!("pilot-discovery request GET {}", self.path())
    }
}

/// How far istiod got with a cluster's informers: the strings of
/// istio/istio@1.24.1:pkg/kube/multicluster/secretcontroller.go `ListRemoteClusters`
/// (constants in release-1.31 pkg/kube/multicluster/cluster.go).
///
/// A status we do not know is kept, not refused: a newer istiod that adds one must not turn
/// the whole listing (and the peers that *are* synced) into a parse failure. Anything but
/// [`SyncStatus::Synced`] is not ready, and messages show the string istiod printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStatus {
    Synced,
    /// The first list of the cluster's objects is not done.
    Syncing,
    /// The first list did not finish within `PILOT_REMOTE_CLUSTER_TIMEOUT` (30s by
    /// default); istiod keeps trying, and reports `synced` once it does.
    Timeout,
    /// The cluster was stopped: its secret was removed or replaced.
    Closed,
    Other(String),
}

impl SyncStatus {
    fn parse(text: &str) -> Self {
        match text {
            "synced" => SyncStatus::Synced,
            "syncing" => SyncStatus::Syncing,
            "timeout" => SyncStatus::Timeout,
            "closed" => SyncStatus::Closed,
            other => SyncStatus::Other(other.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            SyncStatus::Synced => "synced",
            SyncStatus::Syncing => "syncing",
            SyncStatus::Timeout => "timeout",
            SyncStatus::Closed => "closed",
            SyncStatus::Other(other) => other,
        }
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cluster istiod lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterzEntry {
    /// The cluster id: the data key of its remote secret, or istiod's own `clusterName`.
    pub id: String,
    /// `<namespace>/<name>` of the remote secret it came from; `None` for istiod's own.
    pub secret_name: Option<String>,
    pub status: SyncStatus,
}

/// `cluster.DebugInfo`, json tags `id`, `secretName`, `syncStatus`
/// (istio/istio@1.24.1:pkg/cluster/debug.go; unchanged in release-1.31).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DebugInfo {
    id: String,
    secret_name: String,
    sync_status: String,
}

/// What `/debug/clusterz` lists: istiod's own cluster first, then one entry per cluster
/// of every remote secret, in Go map order (secretcontroller.go `ListRemoteClusters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clusterz {
    local: ClusterzEntry,
    remotes: Vec<ClusterzEntry>,
}

impl Clusterz {
    /// Reads the output of [`IstiodDebug::Clusterz`]'s request.
    pub fn parse(output: &ExecOutput) -> Result<Self, ProbeError> {
        let what = IstiodDebug::Clusterz;
        let command = what.command();
        let infos: Vec<DebugInfo> = json_stdout(
            &command,
            output,
            "istiod answers /debug/clusterz with an empty body only when it runs no cluster controller",
        )?;
        let shape = |detail: String| ProbeError::Shape {
            command: command.clone(),
            detail,
        };
        let mut entries = infos.into_iter().map(|info| ClusterzEntry {
            id: info.id,
            secret_name: Some(info.secret_name).filter(|s| !s.is_empty()),
            status: SyncStatus::parse(&info.sync_status),
        });
        let local = entries
            .next()
            .ok_or_else(|| shape("an empty list; istiod always lists its own cluster".into()))?;
        if let Some(secret) = &local.secret_name {
            return Err(shape(format!(
                "the first entry, `{}`, comes from secret {secret}; istiod lists its own cluster first",
                local.id
            )));
        }
        let remotes: Vec<_> = entries.collect();
        if let Some(entry) = remotes.iter().find(|e| e.secret_name.is_none()) {
            return Err(shape(format!(
                "remote cluster `{}` names no secret",
                entry.id
            )));
        }
        Ok(Self { local, remotes })
    }

    /// istiod's own cluster.
    pub fn local(&self) -> &ClusterzEntry {
        &self.local
    }

    /// The clusters of the remote secrets, in the order istiod listed them.
    pub fn remotes(&self) -> &[ClusterzEntry] {
        &self.remotes
    }

    /// The remote cluster `id`, if istiod watches it.
    pub fn remote(&self, id: &str) -> Option<&ClusterzEntry> {
        self.remotes.iter().find(|e| e.id == id)
    }

    /// What keeps istiod from watching every one of `peers` in sync, one line per peer;
    /// empty when all are synced. Remotes that are not peers are no concern here.
    pub fn unsynced<'a>(&self, peers: impl IntoIterator<Item = &'a ClusterName>) -> Vec<String> {
        let local = &self.local.id;
        peers
            .into_iter()
            .filter_map(|peer| match self.remote(peer.as_str()) {
                None => Some(format!(
                    "istiod of {local} does not list {peer}: it has read no remote secret with the data key `{peer}`"
                )),
                Some(entry) => match &entry.status {
                    SyncStatus::Synced => None,
                    status => Some(format!(
                        "istiod of {local} lists {peer} (from {}) as {status}",
                        entry.secret_name.as_deref().unwrap_or("?")
                    )),
                },
            })
            .collect()
    }
}

/// A network gateway istiod knows: `model.NetworkGateway`, which has no json tags, so the
/// keys are Go's field names (istio/istio@1.24.1:pilot/pkg/model/network.go; unchanged in
/// release-1.31).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkGateway {
    pub network: String,
    pub cluster: String,
    pub addr: String,
    pub port: u32,
    /// Non-zero only when the gateway Service exposes 15008; the east-west Service of the
    /// `gateway` chart does not.
    #[serde(rename = "HBONEPort", default)]
    pub hbone_port: u32,
    /// Zero for gateways found through the Service's network label.
    #[serde(default)]
    pub service_account: NamespacedName,
}

impl NetworkGateway {
    /// `Addr` as an IP; `None` for a hostname gateway.
    pub fn ip(&self) -> Option<IpAddr> {
        self.addr.parse().ok()
    }
}

/// `types.NamespacedName` (k8s.io/apimachinery), Go field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamespacedName {
    pub namespace: String,
    pub name: String,
}

/// Reads the output of [`IstiodDebug::Networkz`]'s request: every network's gateways, this
/// cluster's own included, sorted by address then port. `null` (no gateway at all) is an
/// empty list; an empty body means istiod runs no network manager.
pub fn parse_networkz(output: &ExecOutput) -> Result<Vec<NetworkGateway>, ProbeError> {
    let gateways: Option<Vec<NetworkGateway>> = json_stdout(
        &IstiodDebug::Networkz.command(),
        output,
        "istiod answers /debug/networkz with an empty body only when it runs no network manager",
    )?;
    Ok(gateways.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tests_support::fixture;

    fn clusterz(name: &str) -> Clusterz {
        Clusterz::parse(&ExecOutput::ok(fixture(name))).unwrap()
    }

    fn names(list: &[&str]) -> Vec<ClusterName> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn the_request_is_pilot_discovery_in_the_discovery_container() {
        let request = IstiodDebug::Clusterz.request();
        assert_eq!(
            request.argv,
            ["pilot-discovery", "request", "GET", "/debug/clusterz"]
        );
        assert_eq!(request.container, "discovery");
        assert_eq!(request.pod, PodSelector::istiod());
        assert_eq!(IstiodDebug::Networkz.request().argv[3], "/debug/networkz");
    }

    #[test]
    fn synced_peers_are_ready_in_both_istio_versions() {
        for name in [
            "clusterz-1.24.1-synced.json",
            "clusterz-1.31-synced.json",
            "clusterz-1.31-synced-pretty.json",
        ] {
            let z = clusterz(name);
            assert_eq!(
                z.local(),
                &ClusterzEntry {
                    id: "cluster1".into(),
                    secret_name: None,
                    status: SyncStatus::Synced
                },
                "{name}"
            );
            assert_eq!(
                z.remotes(),
                [ClusterzEntry {
                    id: "cluster2".into(),
                    secret_name: Some("istio-system/istio-remote-secret-cluster2".into()),
                    status: SyncStatus::Synced
                }],
                "{name}"
            );
            assert!(z.unsynced(&names(&["cluster2"])).is_empty(), "{name}");
        }
    }

    #[test]
    fn a_peer_that_is_not_synced_says_how_it_stands() {
        let timeout = clusterz("clusterz-timeout.json");
        assert_eq!(
            timeout.remote("cluster2").unwrap().status,
            SyncStatus::Timeout
        );
        assert_eq!(
            timeout.unsynced(&names(&["cluster2"])),
            [
                "istiod of cluster1 lists cluster2 (from istio-system/istio-remote-secret-cluster2) as timeout"
            ]
        );
        let syncing = clusterz("clusterz-syncing.json");
        assert_eq!(
            syncing.remote("cluster2").unwrap().status,
            SyncStatus::Syncing
        );
        assert!(syncing.unsynced(&names(&["cluster2"]))[0].ends_with("as syncing"));
    }

    #[test]
    fn after_label_removal_only_the_local_cluster_is_listed() {
        let z = clusterz("clusterz-local-only.json");
        assert!(z.remotes().is_empty());
        assert_eq!(z.remote("cluster2"), None);
        let problems = z.unsynced(&names(&["cluster2"]));
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("istiod of cluster1 does not list cluster2"),
            "{problems:?}"
        );
        assert!(z.unsynced(&names(&[])).is_empty());
    }

    #[test]
    fn an_unknown_status_is_kept_and_not_ready() {
        let out = ExecOutput::ok(
            r#"[{"id":"c1","secretName":"","syncStatus":"synced"},{"id":"c2","secretName":"istio-system/s2","syncStatus":"warming"},{"id":"c3","secretName":"istio-system/s3","syncStatus":"closed"}]"#,
        );
        let z = Clusterz::parse(&out).unwrap();
        assert_eq!(
            z.remote("c2").unwrap().status,
            SyncStatus::Other("warming".into())
        );
        assert_eq!(z.remote("c3").unwrap().status, SyncStatus::Closed);
        let problems = z.unsynced(&names(&["c2", "c3"]));
        assert_eq!(
            problems,
            [
                "istiod of c1 lists c2 (from istio-system/s2) as warming",
                "istiod of c1 lists c3 (from istio-system/s3) as closed"
            ]
        );
    }

    #[test]
    fn a_404_page_is_not_json_and_says_what_came_back() {
        let err = Clusterz::parse(&ExecOutput::ok(fixture(
            "pilot-discovery-request-404.stdout",
        )))
        .unwrap_err();
        assert!(matches!(err, ProbeError::NotJson { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("`pilot-discovery request GET /debug/clusterz` did not print JSON"),
            "{text}"
        );
        assert!(text.ends_with("it printed: 404 page not found"), "{text}");
    }

    #[test]
    fn empty_malformed_and_misshapen_listings_are_refused() {
        let empty = Clusterz::parse(&ExecOutput::ok("\n")).unwrap_err();
        assert!(matches!(empty, ProbeError::Empty { .. }), "{empty:?}");
        assert!(
            empty.to_string().contains("no cluster controller"),
            "{empty}"
        );

        let cut = Clusterz::parse(&ExecOutput::ok(r#"[{"id":"cluster1","secr"#)).unwrap_err();
        assert!(matches!(cut, ProbeError::NotJson { .. }), "{cut:?}");
        assert!(
            cut.to_string()
                .contains(r#"it printed: [{"id":"cluster1","secr"#),
            "{cut}"
        );

        let none = Clusterz::parse(&ExecOutput::ok("[]\n")).unwrap_err();
        assert!(none.to_string().contains("an empty list"), "{none}");

        let object = Clusterz::parse(&ExecOutput::ok(r#"{"id":"cluster1"}"#)).unwrap_err();
        assert!(matches!(object, ProbeError::Shape { .. }), "{object:?}");

        let no_status =
            Clusterz::parse(&ExecOutput::ok(r#"[{"id":"cluster1","secretName":""}]"#)).unwrap_err();
        assert!(no_status.to_string().contains("syncStatus"), "{no_status}");

        let remote_first = Clusterz::parse(&ExecOutput::ok(
            r#"[{"id":"cluster2","secretName":"istio-system/s","syncStatus":"synced"}]"#,
        ))
        .unwrap_err();
        assert!(
            remote_first
                .to_string()
                .contains("lists its own cluster first"),
            "{remote_first}"
        );
    }

    #[test]
    fn a_failed_request_is_an_error_with_its_output() {
        let out = ExecOutput {
            exit_code: 255,
            stdout: String::new(),
            stderr: "Error: received unsuccessful status code 400: \n".into(),
        };
        let err = Clusterz::parse(&out).unwrap_err();
        assert!(
            matches!(err, ProbeError::CommandFailed { exit_code: 255, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("status code 400"), "{err}");
    }

    #[test]
    fn networkz_lists_both_networks_gateways_by_go_field_names() {
        let gateways = parse_networkz(&ExecOutput::ok(fixture("networkz-cluster1.json"))).unwrap();
        assert_eq!(gateways.len(), 2);
        assert_eq!(
            gateways[0],
            NetworkGateway {
                network: "network2".into(),
                cluster: "cluster2".into(),
                addr: "172.18.255.208".into(),
                port: 15443,
                hbone_port: 0,
                service_account: NamespacedName::default(),
            }
        );
        assert_eq!(gateways[1].network, "network1");
        assert_eq!(gateways[1].ip(), Some("172.18.255.224".parse().unwrap()));
    }

    #[test]
    fn networkz_null_is_no_gateway_and_empty_is_an_error() {
        let none = parse_networkz(&ExecOutput::ok(fixture("networkz-no-gateways.json"))).unwrap();
        assert!(none.is_empty());
        let err = parse_networkz(&ExecOutput::ok(fixture(
            "networkz-no-network-manager.stdout",
        )))
        .unwrap_err();
        assert!(err.to_string().contains("no network manager"), "{err}");
        let snake =
            parse_networkz(&ExecOutput::ok(r#"[{"network":"n","addr":"1.2.3.4"}]"#)).unwrap_err();
        assert!(matches!(snake, ProbeError::Shape { .. }), "{snake:?}");
    }
}
