//! A proxy's endpoints per cluster, from Envoy's admin `clusters?format=json`.
//!
//! Read by exec, `pilot-agent request GET clusters?format=json` in the `istio-proxy`
//! container: it calls Envoy's admin port 15000 on localhost and prints the body plus a
//! newline (istio/istio@1.24.1:pilot/cmd/pilot-agent/app/request.go), as Istio's own test
//! framework does (istio/istio@1.24.1:pkg/test/framework/components/echo/kube/sidecar.go).
//!
//! Envoy writes `envoy.admin.v3.Clusters` as proto3 JSON with the proto field names
//! (`{"cluster_statuses":[...]}`, envoyproxy/envoy:source/server/admin/clusters_handler.cc
//! `writeClustersAsJson`); `istioctl proxy-config endpoint -o json` prints a bare array of
//! `ClusterStatus` in camelCase (istio/istio@1.24.1:istioctl/pkg/writer/envoy/clusters/clusters.go
//! `PrintEndpoints`). Both are read. Proto3 JSON leaves out fields at their zero value, so
//! every field may be missing.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::Value;

use super::{ExecOutput, ExecRequest, PROXY_CONTAINER, PodSelector, ProbeError, json_value};
use crate::config::NetworkName;
use crate::names::CROSS_NETWORK_PORT;

const COMMAND: &str = "pilot-agent request GET clusters?format=json";

/// The exec that reads the clusters of the proxy in `pod`.
pub fn clusters_request(pod: PodSelector) -> ExecRequest {
    ExecRequest::new(
        pod,
        PROXY_CONTAINER,
        &["pilot-agent", "request", "GET", "clusters?format=json"],
    )
}

/// An endpoint's health as EDS reported it: `envoy.config.core.v3.HealthStatus`, by its
/// enum names (envoyproxy/envoy:api/envoy/config/core/v3/health_check.proto). Proto3 JSON
/// omits the zero value, so a missing field is [`HealthStatus::Unknown`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    #[default]
    Unknown,
    Healthy,
    Unhealthy,
    Draining,
    Timeout,
    Degraded,
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthStatus::Unknown => "UNKNOWN",
            HealthStatus::Healthy => "HEALTHY",
            HealthStatus::Unhealthy => "UNHEALTHY",
            HealthStatus::Draining => "DRAINING",
            HealthStatus::Timeout => "TIMEOUT",
            HealthStatus::Degraded => "DEGRADED",
        })
    }
}

/// `envoy.config.core.v3.Address`, a oneof of three
/// (envoyproxy/envoy:api/envoy/config/core/v3/address.proto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointAddress {
    /// `address` is an IP for EDS endpoints, a hostname for DNS clusters.
    Socket { address: String, port: SocketPort },
    /// A Unix domain socket (Istio's `xds-grpc` and `sds-grpc` bootstrap clusters).
    Pipe { path: String },
    /// An Envoy internal listener.
    EnvoyInternal {
        server_listener_name: String,
        endpoint_id: Option<String>,
    },
}

/// `SocketAddress.port_specifier`: a number, or a name only a custom resolver knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketPort {
    Number(u16),
    Named(String),
}

impl EndpointAddress {
    /// The IP of a socket address; `None` for a hostname, a pipe or an internal address.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            EndpointAddress::Socket { address, .. } => address.parse().ok(),
            EndpointAddress::Pipe { .. } | EndpointAddress::EnvoyInternal { .. } => None,
        }
    }

    /// The numeric port of a socket address.
    pub fn port(&self) -> Option<u16> {
        match self {
            EndpointAddress::Socket {
                port: SocketPort::Number(port),
                ..
            } => Some(*port),
            _ => None,
        }
    }
}

impl fmt::Display for EndpointAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointAddress::Socket { address, port } => {
                let port = match port {
                    SocketPort::Number(n) => n.to_string(),
                    SocketPort::Named(name) => name.clone(),
                };
                if address.contains(':') {
                    write!(f, "[{address}]:{port}")
                } else {
                    write!(f, "{address}:{port}")
                }
            }
            EndpointAddress::Pipe { path } => write!(f, "pipe:{path}"),
            EndpointAddress::EnvoyInternal {
                server_listener_name,
                endpoint_id,
            } => {
                write!(f, "envoy_internal:{server_listener_name}")?;
                match endpoint_id {
                    Some(id) => write!(f, "/{id}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Where an endpoint runs, as far as it is known; kind nodes carry no topology labels, so
/// all three are usually `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Locality {
    #[serde(deserialize_with = "non_empty")]
    pub region: Option<String>,
    #[serde(deserialize_with = "non_empty")]
    pub zone: Option<String>,
    #[serde(alias = "subZone", deserialize_with = "non_empty")]
    pub sub_zone: Option<String>,
}

fn non_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(String::deserialize(d)?).filter(|s| !s.is_empty()))
}

/// One host of a cluster (`envoy.admin.v3.HostStatus`, envoyproxy/envoy:api/envoy/admin/v3/clusters.proto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: EndpointAddress,
    /// `health_status.eds_health_status`.
    pub health: HealthStatus,
    /// The `HostHealthStatus` flags that are set (`failed_outlier_check`, ...): each takes
    /// the host out of load balancing whatever EDS says.
    pub failed_checks: Vec<&'static str>,
    pub weight: u32,
    pub priority: u32,
    pub hostname: Option<String>,
    pub locality: Locality,
}

impl Endpoint {
    /// EDS says healthy and no health check or outlier detection disagrees.
    pub fn is_healthy(&self) -> bool {
        self.health == HealthStatus::Healthy && self.failed_checks.is_empty()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.address, self.health)?;
        for check in &self.failed_checks {
            write!(f, " {check}")?;
        }
        Ok(())
    }
}

/// A cluster's name and its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyCluster {
    pub name: String,
    pub endpoints: Vec<Endpoint>,
}

/// Every cluster of one proxy, in the order Envoy printed them (unspecified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyClusters {
    clusters: Vec<EnvoyCluster>,
}

impl EnvoyClusters {
    /// Reads the output of [`clusters_request`].
    pub fn parse(output: &ExecOutput) -> Result<Self, ProbeError> {
        Self::from_json(output.success(COMMAND)?)
    }

    /// Reads Envoy's `{"cluster_statuses":[...]}` or istioctl's bare camelCase array.
    pub fn from_json(text: &str) -> Result<Self, ProbeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ProbeError::Empty {
                command: COMMAND.into(),
                why: "Envoy's admin API always answers with a JSON object",
            });
        }
        let value = json_value(COMMAND, text)?;
        let shape = |detail: String| ProbeError::Shape {
            command: COMMAND.into(),
            detail,
        };
        let statuses = match value {
            Value::Array(statuses) => statuses,
            Value::Object(mut object) => {
                let key = ["cluster_statuses", "clusterStatuses"]
                    .into_iter()
                    .find(|k| object.contains_key(*k));
                match key.and_then(|k| object.remove(k)) {
                    Some(Value::Array(statuses)) => statuses,
                    // proto3 JSON leaves an empty list out: a proxy without clusters.
                    None if object.is_empty() => Vec::new(),
                    _ => {
                        return Err(shape(format!(
                            "an object without a `cluster_statuses` list (keys: {})",
                            object.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
            }
            other => {
                return Err(shape(format!(
                    "neither {{\"cluster_statuses\":[...]}} nor an array, but {}",
                    super::shorten(&other.to_string(), 80)
                )));
            }
        };
        let clusters = statuses
            .into_iter()
            .enumerate()
            .map(|(i, status)| {
                let name = status
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("#{i}"), str::to_owned);
                let raw: RawCluster = serde_json::from_value(status)
                    .map_err(|e| shape(format!("cluster {name}: {e}")))?;
                raw.into_cluster()
                    .map_err(|e| shape(format!("cluster {name}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { clusters })
    }

    pub fn clusters(&self) -> &[EnvoyCluster] {
        &self.clusters
    }

    /// The endpoints of cluster `name`, such as
    /// `outbound|5000||helloworld.sample.svc.cluster.local`. A cluster without hosts has
    /// none; a cluster the proxy does not have is an error that lists the outbound ones.
    pub fn endpoints(&self, name: &str) -> Result<&[Endpoint], ProbeError> {
        if let Some(cluster) = self.clusters.iter().find(|c| c.name == name) {
            return Ok(&cluster.endpoints);
        }
        let mut outbound: Vec<&str> = self
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| n.starts_with("outbound|"))
            .collect();
        outbound.sort_unstable();
        Err(ProbeError::NoSuchCluster {
            name: name.into(),
            available: if outbound.is_empty() {
                format!("no outbound cluster ({} in all)", self.clusters.len())
            } else {
                outbound.join(", ")
            },
        })
    }
}

// ---------------------------------------------------------------- wire shapes

#[derive(Deserialize)]
struct RawCluster {
    name: String,
    #[serde(default, alias = "hostStatuses")]
    host_statuses: Vec<RawHost>,
}

#[derive(Deserialize)]
struct RawHost {
    #[serde(default)]
    address: RawAddress,
    #[serde(default, alias = "healthStatus")]
    health_status: RawHealth,
    #[serde(default)]
    weight: u32,
    #[serde(default)]
    priority: u32,
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    locality: Locality,
}

#[derive(Deserialize, Default)]
struct RawAddress {
    #[serde(alias = "socketAddress")]
    socket_address: Option<RawSocketAddress>,
    pipe: Option<RawPipe>,
    #[serde(alias = "envoyInternalAddress")]
    envoy_internal_address: Option<RawInternalAddress>,
}

#[derive(Deserialize)]
struct RawSocketAddress {
    #[serde(default)]
    address: String,
    #[serde(alias = "portValue")]
    port_value: Option<u16>,
    #[serde(alias = "namedPort")]
    named_port: Option<String>,
}

#[derive(Deserialize)]
struct RawPipe {
    path: String,
}

#[derive(Deserialize)]
struct RawInternalAddress {
    #[serde(default, alias = "serverListenerName")]
    server_listener_name: String,
    #[serde(default, alias = "endpointId")]
    endpoint_id: String,
}

/// `envoy.admin.v3.HostHealthStatus`: the EDS status and the flags of checks that failed.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawHealth {
    #[serde(alias = "edsHealthStatus")]
    eds_health_status: HealthStatus,
    #[serde(alias = "failedActiveHealthCheck")]
    failed_active_health_check: bool,
    #[serde(alias = "failedOutlierCheck")]
    failed_outlier_check: bool,
    #[serde(alias = "failedActiveDegradedCheck")]
    failed_active_degraded_check: bool,
    #[serde(alias = "pendingDynamicRemoval")]
    pending_dynamic_removal: bool,
    #[serde(alias = "pendingActiveHc")]
    pending_active_hc: bool,
    #[serde(alias = "excludedViaImmediateHcFail")]
    excluded_via_immediate_hc_fail: bool,
    #[serde(alias = "activeHcTimeout")]
    active_hc_timeout: bool,
}

impl RawHealth {
    fn failed_checks(&self) -> Vec<&'static str> {
        [
            (
                self.failed_active_health_check,
                "failed_active_health_check",
            ),
            (self.failed_outlier_check, "failed_outlier_check"),
            (
                self.failed_active_degraded_check,
                "failed_active_degraded_check",
            ),
            (self.pending_dynamic_removal, "pending_dynamic_removal"),
            (self.pending_active_hc, "pending_active_hc"),
            (
                self.excluded_via_immediate_hc_fail,
                "excluded_via_immediate_hc_fail",
            ),
            (self.active_hc_timeout, "active_hc_timeout"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }
}

impl RawCluster {
    fn into_cluster(self) -> Result<EnvoyCluster, String> {
        let endpoints = self
            .host_statuses
            .into_iter()
            .enumerate()
            .map(|(i, host)| host.into_endpoint().map_err(|e| format!("host #{i}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(EnvoyCluster {
            name: self.name,
            endpoints,
        })
    }
}

impl RawHost {
    fn into_endpoint(self) -> Result<Endpoint, String> {
        let failed_checks = self.health_status.failed_checks();
        Ok(Endpoint {
            address: self.address.into_address()?,
            health: self.health_status.eds_health_status,
            failed_checks,
            weight: self.weight,
            priority: self.priority,
            hostname: Some(self.hostname).filter(|h| !h.is_empty()),
            locality: self.locality,
        })
    }
}

impl RawAddress {
    fn into_address(self) -> Result<EndpointAddress, String> {
        match (self.socket_address, self.pipe, self.envoy_internal_address) {
            (Some(socket), None, None) => {
                let port = match (socket.port_value, socket.named_port) {
                    (Some(port), None) => SocketPort::Number(port),
                    (None, Some(name)) => SocketPort::Named(name),
                    // proto3 JSON omits a zero port only outside a oneof; this is one.
                    (None, None) => return Err("a socket address without a port".into()),
                    (Some(_), Some(_)) => {
                        return Err("a socket address with both port_value and named_port".into());
                    }
                };
                Ok(EndpointAddress::Socket {
                    address: socket.address,
                    port,
                })
            }
            (None, Some(pipe), None) => Ok(EndpointAddress::Pipe { path: pipe.path }),
            (None, None, Some(internal)) => Ok(EndpointAddress::EnvoyInternal {
                server_listener_name: internal.server_listener_name,
                endpoint_id: Some(internal.endpoint_id).filter(|id| !id.is_empty()),
            }),
            (None, None, None) => {
                Err("an address with none of socket_address, pipe, envoy_internal_address".into())
            }
            _ => Err("an address with more than one of its oneof fields".into()),
        }
    }
}

// ---------------------------------------------------------------- what a client should see

/// What a client's proxy should list for a service that runs in several networks: the
/// service's pods in the client's own network on their port, and, for every peer network
/// that runs the service, one endpoint at that network's east-west gateway on 15443
/// (Istio folds a remote network's endpoints into one per gateway:
/// istio/istio@1.24.1:pilot/pkg/xds/endpoints/ep_filters.go `EndpointsByNetworkFilter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedEndpoints {
    /// The service's port on its pods (helloworld: 5000).
    pub local_port: u16,
    /// How many of the service's pods run in the client's own cluster.
    pub local_pods: usize,
    /// The gateway address of every *peer* network that runs the service: the IP its
    /// east-west gateway Service got. The client's own network never appears here.
    pub peer_gateways: BTreeMap<NetworkName, IpAddr>,
}

/// A client's endpoints, sorted by what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointView<'a> {
    expected: &'a ExpectedEndpoints,
    local: Vec<&'a Endpoint>,
    at_gateway: BTreeMap<NetworkName, Vec<&'a Endpoint>>,
    unexpected: Vec<&'a Endpoint>,
}

/// Sorts `endpoints` into the client's local pods, peer gateways and anything else: an
/// endpoint at a peer gateway's IP on 15443 belongs to that peer; one on the local port at
/// any other address is a local pod.
pub fn classify<'a>(
    endpoints: &'a [Endpoint],
    expected: &'a ExpectedEndpoints,
) -> EndpointView<'a> {
    let mut view = EndpointView {
        expected,
        local: Vec::new(),
        at_gateway: expected
            .peer_gateways
            .keys()
            .map(|n| (n.clone(), Vec::new()))
            .collect(),
        unexpected: Vec::new(),
    };
    for endpoint in endpoints {
        let ip = endpoint.address.ip();
        let port = endpoint.address.port();
        let peer = expected
            .peer_gateways
            .iter()
            .find(|(_, gateway)| Some(**gateway) == ip);
        match (peer, port) {
            (Some((network, _)), Some(CROSS_NETWORK_PORT)) => view
                .at_gateway
                .get_mut(network)
                .expect("every peer network has an entry")
                .push(endpoint),
            (None, Some(port)) if ip.is_some() && port == expected.local_port => {
                view.local.push(endpoint);
            }
            _ => view.unexpected.push(endpoint),
        }
    }
    view
}

impl EndpointView<'_> {
    /// The client's own pods of the service.
    pub fn local(&self) -> &[&Endpoint] {
        &self.local
    }

    /// The endpoints at `network`'s gateway (empty for a network that is not a peer).
    pub fn at_gateway(&self, network: &NetworkName) -> &[&Endpoint] {
        self.at_gateway.get(network).map_or(&[], Vec::as_slice)
    }

    /// Neither a local pod nor a peer gateway: a gateway of a network that should not be
    /// there (a removed peer), or a wrong port.
    pub fn unexpected(&self) -> &[&Endpoint] {
        &self.unexpected
    }

    /// Everything that differs from [`ExpectedEndpoints`], one line each; empty when the
    /// client sees exactly the expected endpoints, all healthy.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let list = |endpoints: &[&Endpoint]| {
            endpoints
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.local.len() != self.expected.local_pods {
            problems.push(format!(
                "{} local endpoint(s) on port {}, expected {}{}",
                self.local.len(),
                self.expected.local_port,
                self.expected.local_pods,
                if self.local.is_empty() {
                    String::new()
                } else {
                    format!(": {}", list(&self.local))
                }
            ));
        }
        for (network, endpoints) in &self.at_gateway {
            let gateway = self.expected.peer_gateways[network];
            match endpoints.len() {
                1 => {}
                0 => problems.push(format!(
                    "no endpoint for {network} at its gateway {gateway}:{CROSS_NETWORK_PORT}"
                )),
                n => problems.push(format!(
                    "{n} endpoints for {network} at its gateway, expected one: {}",
                    list(endpoints)
                )),
            }
        }
        let expected = self.local.iter().chain(self.at_gateway.values().flatten());
        for endpoint in expected.filter(|e| !e.is_healthy()) {
            problems.push(format!("{endpoint} is not healthy"));
        }
        for endpoint in &self.unexpected {
            problems.push(format!(
                "unexpected endpoint {endpoint}: neither a local pod on port {} nor a peer gateway on {CROSS_NETWORK_PORT}",
                self.expected.local_port
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tests_support::fixture;

    const HELLOWORLD: &str = "outbound|5000||helloworld.sample.svc.cluster.local";

    fn clusters(name: &str) -> EnvoyClusters {
        EnvoyClusters::parse(&ExecOutput::ok(fixture(name))).unwrap()
    }

    fn socket(address: &str, port: u16) -> EndpointAddress {
        EndpointAddress::Socket {
            address: address.into(),
            port: SocketPort::Number(port),
        }
    }

    fn network(name: &str) -> NetworkName {
        name.parse().unwrap()
    }

    fn expected(local_pods: usize, peers: &[(&str, &str)]) -> ExpectedEndpoints {
        ExpectedEndpoints {
            local_port: 5000,
            local_pods,
            peer_gateways: peers
                .iter()
                .map(|(n, ip)| (network(n), ip.parse().unwrap()))
                .collect(),
        }
    }

    #[test]
    fn the_request_is_pilot_agent_in_the_proxy_container() {
        let request = clusters_request(PodSelector::curl());
        assert_eq!(
            request.argv,
            ["pilot-agent", "request", "GET", "clusters?format=json"]
        );
        assert_eq!(request.container, "istio-proxy");
        assert_eq!(request.pod, PodSelector::curl());
    }

    #[test]
    fn helloworld_has_the_local_pod_and_the_peer_gateway() {
        let all = clusters("envoy-clusters-helloworld.json");
        let endpoints = all.endpoints(HELLOWORLD).unwrap();
        let expected_endpoint = |address: EndpointAddress| Endpoint {
            address,
            health: HealthStatus::Healthy,
            failed_checks: vec![],
            weight: 1,
            priority: 0,
            hostname: None,
            locality: Locality::default(),
        };
        assert_eq!(
            endpoints,
            [
                expected_endpoint(socket("10.10.0.12", 5000)),
                expected_endpoint(socket("172.18.255.208", 15443)),
            ]
        );
        // Every cluster parsed, the bootstrap ones on pipes included.
        assert_eq!(all.clusters().len(), 13);
        assert_eq!(
            all.endpoints("xds-grpc").unwrap()[0].address,
            EndpointAddress::Pipe {
                path: "./etc/istio/proxy/XDS".into()
            }
        );
        assert!(all.endpoints("BlackHoleCluster").unwrap().is_empty());
    }

    #[test]
    fn istioctls_camel_case_array_reads_the_same() {
        let envoy = clusters("envoy-clusters-helloworld.json");
        let istioctl =
            EnvoyClusters::from_json(&fixture("istioctl-proxy-config-endpoint-helloworld.json"))
                .unwrap();
        assert_eq!(istioctl.clusters().len(), 1);
        assert_eq!(
            istioctl.endpoints(HELLOWORLD).unwrap(),
            envoy.endpoints(HELLOWORLD).unwrap()
        );
    }

    #[test]
    fn every_host_shape_health_and_locality_is_read() {
        let all = clusters("envoy-clusters-host-shapes.json");
        let hw = all.endpoints(HELLOWORLD).unwrap();
        assert_eq!(
            hw[0].locality,
            Locality {
                region: Some("eu-west".into()),
                zone: Some("eu-west-1a".into()),
                sub_zone: Some("rack7".into()),
            }
        );
        assert!(hw[0].is_healthy());
        assert_eq!(hw[1].locality.region.as_deref(), Some("eu-west"));
        assert_eq!(hw[1].locality.zone, None);
        assert_eq!(hw[1].health, HealthStatus::Healthy);
        assert_eq!(hw[1].failed_checks, ["failed_outlier_check"]);
        assert!(!hw[1].is_healthy(), "ejected by outlier detection");
        let healths: Vec<_> = hw.iter().map(|e| e.health).collect();
        assert_eq!(
            healths,
            [
                HealthStatus::Healthy,
                HealthStatus::Healthy,
                HealthStatus::Unhealthy,
                HealthStatus::Degraded,
                HealthStatus::Unknown,
                HealthStatus::Healthy,
                HealthStatus::Draining,
                HealthStatus::Timeout,
            ]
        );
        assert_eq!((hw[5].weight, hw[5].priority), (2, 1));
        assert_eq!(hw[6].address.ip(), Some("fd00:10:244::5".parse().unwrap()));
        assert_eq!(hw[6].address.to_string(), "[fd00:10:244::5]:5000");

        let dns = &all.endpoints("outbound|443||www.example.com").unwrap()[0];
        assert_eq!(dns.address, socket("www.example.com", 443));
        assert_eq!(dns.address.ip(), None);
        assert_eq!(dns.hostname.as_deref(), Some("www.example.com"));

        let internal = &all
            .endpoints("outbound_tunnel|5000||helloworld.sample.svc.cluster.local")
            .unwrap()[0];
        assert_eq!(
            internal.address,
            EndpointAddress::EnvoyInternal {
                server_listener_name: "connect_originate".into(),
                endpoint_id: Some("10.20.0.7:5000".into()),
            }
        );
        assert_eq!(internal.address.port(), None);
        assert_eq!(
            internal.address.to_string(),
            "envoy_internal:connect_originate/10.20.0.7:5000"
        );
        assert!(
            all.endpoints("outbound|80||empty.sample.svc.cluster.local")
                .unwrap()
                .is_empty(),
            "a cluster without hosts has no endpoints"
        );
    }

    #[test]
    fn a_named_port_is_kept_as_a_name() {
        let json = r#"{"cluster_statuses":[{"name":"c","host_statuses":[{"address":{"socket_address":{"address":"h","named_port":"https"}}}]}]}"#;
        let all = EnvoyClusters::from_json(json).unwrap();
        let endpoint = &all.endpoints("c").unwrap()[0];
        assert_eq!(
            endpoint.address,
            EndpointAddress::Socket {
                address: "h".into(),
                port: SocketPort::Named("https".into())
            }
        );
        assert_eq!(endpoint.health, HealthStatus::Unknown);
        assert_eq!(endpoint.weight, 0, "proto3 JSON leaves a zero weight out");
    }

    #[test]
    fn a_missing_cluster_lists_the_outbound_ones() {
        let all = clusters("envoy-clusters-helloworld.json");
        let err = all
            .endpoints("outbound|5000||helloworld.other.svc.cluster.local")
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("the proxy has no cluster `outbound|5000||helloworld.other.svc.cluster.local`; it has outbound|15012||istiod"),
            "{text}"
        );
        assert!(
            text.contains("outbound|5000||helloworld.sample.svc.cluster.local"),
            "{text}"
        );
        assert!(!text.contains("BlackHoleCluster"), "{text}");

        let none = EnvoyClusters::from_json("{}\n").unwrap();
        assert!(none.clusters().is_empty());
        assert!(
            none.endpoints(HELLOWORLD)
                .unwrap_err()
                .to_string()
                .ends_with("it has no outbound cluster (0 in all)")
        );
    }

    #[test]
    fn malformed_and_empty_outputs_are_refused_clearly() {
        let empty = EnvoyClusters::parse(&ExecOutput::ok("\n")).unwrap_err();
        assert!(matches!(empty, ProbeError::Empty { .. }), "{empty:?}");

        let html = EnvoyClusters::parse(&ExecOutput::ok("<html>admin</html>\n")).unwrap_err();
        assert!(matches!(html, ProbeError::NotJson { .. }), "{html:?}");
        assert!(
            html.to_string().contains("it printed: <html>admin</html>"),
            "{html}"
        );

        let other_object = EnvoyClusters::from_json(r#"{"configs":[]}"#).unwrap_err();
        assert!(
            other_object
                .to_string()
                .contains("without a `cluster_statuses` list (keys: configs)"),
            "{other_object}"
        );
        let scalar = EnvoyClusters::from_json("42").unwrap_err();
        assert!(
            scalar.to_string().contains("nor an array, but 42"),
            "{scalar}"
        );

        let no_address = EnvoyClusters::from_json(
            r#"{"cluster_statuses":[{"name":"c","host_statuses":[{"address":{}}]}]}"#,
        )
        .unwrap_err();
        assert!(
            no_address
                .to_string()
                .contains("cluster c: host #0: an address with none of"),
            "{no_address}"
        );
        let two = EnvoyClusters::from_json(
            r#"{"cluster_statuses":[{"name":"c","host_statuses":[{"address":{"pipe":{"path":"p"},"socket_address":{"address":"a","port_value":1}}}]}]}"#,
        )
        .unwrap_err();
        assert!(
            two.to_string()
                .contains("more than one of its oneof fields"),
            "{two}"
        );
        let bad_health = EnvoyClusters::from_json(
            r#"[{"name":"c","hostStatuses":[{"address":{"pipe":{"path":"p"}},"healthStatus":{"edsHealthStatus":"SICK"}}]}]"#,
        )
        .unwrap_err();
        assert!(
            bad_health
                .to_string()
                .contains("cluster c: unknown variant `SICK`"),
            "{bad_health}"
        );
        let no_port = EnvoyClusters::from_json(
            r#"[{"name":"c","hostStatuses":[{"address":{"socketAddress":{"address":"a"}}}]}]"#,
        )
        .unwrap_err();
        assert!(no_port.to_string().contains("without a port"), "{no_port}");

        let failed = EnvoyClusters::parse(&ExecOutput {
            exit_code: 255,
            stdout: String::new(),
            stderr: "Error: Get \"http://localhost:15000/clusters?format=json\": dial tcp [::1]:15000: connect: connection refused\n".into(),
        })
        .unwrap_err();
        assert!(
            failed.to_string().contains("connection refused"),
            "{failed}"
        );
    }

    #[test]
    fn a_converged_client_sees_its_pod_and_one_endpoint_per_peer_gateway() {
        let all = clusters("envoy-clusters-helloworld.json");
        let endpoints = all.endpoints(HELLOWORLD).unwrap();
        let expect = expected(1, &[("network2", "172.18.255.208")]);
        let view = classify(endpoints, &expect);
        assert_eq!(view.local().len(), 1);
        assert_eq!(view.local()[0].address, socket("10.10.0.12", 5000));
        assert_eq!(
            view.at_gateway(&network("network2"))[0].address,
            socket("172.18.255.208", 15443)
        );
        assert!(view.unexpected().is_empty());
        assert_eq!(view.problems(), Vec::<String>::new());
    }

    #[test]
    fn each_deviation_is_named() {
        let all = clusters("envoy-clusters-helloworld.json");
        let endpoints = all.endpoints(HELLOWORLD).unwrap();

        // The peer's gateway moved (or we read the wrong Service): nothing at the expected
        // IP, and the old one is unexpected.
        let moved = expected(1, &[("network2", "172.18.255.209")]);
        assert_eq!(
            classify(endpoints, &moved).problems(),
            [
                "no endpoint for network2 at its gateway 172.18.255.209:15443",
                "unexpected endpoint 172.18.255.208:15443 HEALTHY: neither a local pod on port 5000 nor a peer gateway on 15443",
            ]
        );
        // After the peer was removed: its gateway endpoint must be gone.
        let removed = expected(1, &[]);
        let view = classify(endpoints, &removed);
        assert_eq!(view.unexpected().len(), 1);
        assert_eq!(view.problems().len(), 1);
        // Two local pods expected (v1 and v2 both here).
        assert_eq!(
            classify(endpoints, &expected(2, &[("network2", "172.18.255.208")])).problems(),
            ["1 local endpoint(s) on port 5000, expected 2: 10.10.0.12:5000 HEALTHY"]
        );
        assert_eq!(
            classify(&[], &expected(1, &[("network2", "172.18.255.208")])).problems(),
            [
                "0 local endpoint(s) on port 5000, expected 1",
                "no endpoint for network2 at its gateway 172.18.255.208:15443",
            ]
        );
    }

    #[test]
    fn unhealthy_and_duplicate_endpoints_are_problems() {
        let all = clusters("envoy-clusters-host-shapes.json");
        let hw = all.endpoints(HELLOWORLD).unwrap();
        let expect = expected(6, &[("network2", "172.18.255.208")]);
        let view = classify(hw, &expect);
        assert_eq!(
            view.local().len(),
            7,
            "every IP on 5000 that is not a gateway"
        );
        assert_eq!(
            view.problems(),
            [
                "7 local endpoint(s) on port 5000, expected 6: 10.10.0.12:5000 HEALTHY, 10.10.0.13:5000 HEALTHY failed_outlier_check, 10.10.0.14:5000 UNHEALTHY, 10.10.0.15:5000 DEGRADED, 10.10.0.16:5000 UNKNOWN, [fd00:10:244::5]:5000 DRAINING, 10.10.0.17:5000 TIMEOUT",
                "10.10.0.13:5000 HEALTHY failed_outlier_check is not healthy",
                "10.10.0.14:5000 UNHEALTHY is not healthy",
                "10.10.0.15:5000 DEGRADED is not healthy",
                "10.10.0.16:5000 UNKNOWN is not healthy",
                "[fd00:10:244::5]:5000 DRAINING is not healthy",
                "10.10.0.17:5000 TIMEOUT is not healthy",
            ]
        );
        let twice = [hw[5].clone(), hw[5].clone()];
        assert_eq!(
            classify(&twice, &expected(0, &[("network2", "172.18.255.208")])).problems(),
            [
                "2 endpoints for network2 at its gateway, expected one: 172.18.255.208:15443 HEALTHY, 172.18.255.208:15443 HEALTHY"
            ]
        );
    }
}
