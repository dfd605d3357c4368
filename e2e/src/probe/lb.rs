//! The address a LoadBalancer Service got, and whether it is the one MetalLB should give.
//!
//! The east-west gateway is reachable from peers only at its `status.loadBalancer.ingress`
//! IP, which MetalLB assigns from the cluster's pool; the mesh is not ready without it, and
//! peers must dial that IP, never an assumed one.

use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::core::v1::Service;

use super::ProbeError;
use crate::net::Ipv4Range;

/// What `status.loadBalancer.ingress` lists, by kind of entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancerIngress {
    pub ips: Vec<IpAddr>,
    /// Load balancers that hand out names (cloud providers; never MetalLB).
    pub hostnames: Vec<String>,
    /// `ip` fields that are not IP addresses, as written.
    pub invalid: Vec<String>,
}

/// The ingress entries of `service`, in order.
pub fn ingress(service: &Service) -> LoadBalancerIngress {
    let mut out = LoadBalancerIngress::default();
    let entries = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or_default();
    for entry in entries {
        if let Some(ip) = entry.ip.as_deref().filter(|ip| !ip.is_empty()) {
            match ip.parse() {
                Ok(ip) => out.ips.push(ip),
                Err(_) => out.invalid.push(ip.to_owned()),
            }
        }
        if let Some(hostname) = entry.hostname.as_deref().filter(|h| !h.is_empty()) {
            out.hostnames.push(hostname.to_owned());
        }
    }
    out
}

/// The first ingress IP of `service` inside `range`; otherwise an error that says what
/// the Service shows instead.
pub fn ingress_ip_in(service: &Service, range: Ipv4Range) -> Result<Ipv4Addr, ProbeError> {
    let found = ingress(service);
    let inside = found.ips.iter().find_map(|ip| match ip {
        IpAddr::V4(v4) if range.contains(*v4) => Some(*v4),
        _ => None,
    });
    inside.ok_or_else(|| ProbeError::NoIngressInRange {
        service: format!(
            "{}/{}",
            service.metadata.namespace.as_deref().unwrap_or("?"),
            service.metadata.name.as_deref().unwrap_or("?")
        ),
        range,
        shows: describe(service, &found),
    })
}

/// `type LoadBalancer, ingress 10.0.0.1 (outside the range)`, and so on: what a person
/// would look for in `kubectl get service -o yaml`.
fn describe(service: &Service, found: &LoadBalancerIngress) -> String {
    let spec = service.spec.as_ref();
    let kind = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
    let mut parts = vec![if kind == "LoadBalancer" {
        "type LoadBalancer".to_owned()
    } else {
        format!("type {kind}, which no load balancer serves")
    }];
    if let Some(class) = spec.and_then(|s| s.load_balancer_class.as_deref()) {
        parts.push(format!("loadBalancerClass {class}"));
    }
    let empty = found.ips.is_empty() && found.hostnames.is_empty() && found.invalid.is_empty();
    if empty {
        parts.push("no status.loadBalancer.ingress yet".into());
    }
    for ip in &found.ips {
        parts.push(format!("ingress {ip} (outside the range)"));
    }
    for hostname in &found.hostnames {
        parts.push(format!("ingress hostname {hostname} (not an IP)"));
    }
    for ip in &found.invalid {
        parts.push(format!("ingress ip `{ip}` (not an IP address)"));
    }
    let conditions = service
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    for condition in conditions {
        parts.push(format!(
            "condition {}={}{}",
            condition.type_,
            condition.status,
            if condition.message.is_empty() {
                String::new()
            } else {
                format!(" ({})", condition.message)
            }
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The east-west gateway Service as the API server returns it.
    fn service(spec: serde_json::Value, status: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "istio-eastwestgateway", "namespace": "istio-system"},
            "spec": spec,
            "status": status,
        }))
        .unwrap()
    }

    fn lb(ingress: serde_json::Value) -> Service {
        service(
            json!({"type": "LoadBalancer"}),
            json!({"loadBalancer": {"ingress": ingress}}),
        )
    }

    fn range() -> Ipv4Range {
        Ipv4Range::new(
            "172.18.255.224".parse().unwrap(),
            "172.18.255.239".parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn metallbs_address_inside_the_pool_is_the_gateway_ip() {
        let svc = lb(json!([{"ip": "172.18.255.224", "ipMode": "VIP"}]));
        assert_eq!(
            ingress_ip_in(&svc, range()),
            Ok("172.18.255.224".parse().unwrap())
        );
        assert_eq!(
            ingress(&svc),
            LoadBalancerIngress {
                ips: vec!["172.18.255.224".parse().unwrap()],
                ..LoadBalancerIngress::default()
            }
        );
        let second = lb(json!([{"ip": "10.0.0.1"}, {"ip": "172.18.255.230"}]));
        assert_eq!(
            ingress_ip_in(&second, range()),
            Ok("172.18.255.230".parse().unwrap())
        );
    }

    #[test]
    fn no_ingress_yet_says_so_with_the_metallb_hint() {
        let pending = service(json!({"type": "LoadBalancer"}), json!({"loadBalancer": {}}));
        let err = ingress_ip_in(&pending, range()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Service istio-system/istio-eastwestgateway has no LoadBalancer IP in 172.18.255.224-172.18.255.239; it shows type LoadBalancer, no status.loadBalancer.ingress yet. MetalLB assigns the address: check its controller and speaker pods and that its IPAddressPool holds 172.18.255.224-172.18.255.239"
        );
        assert_eq!(ingress(&pending), LoadBalancerIngress::default());
        let no_status: Service = serde_json::from_value(json!({
            "metadata": {"name": "istio-eastwestgateway", "namespace": "istio-system"},
            "spec": {"type": "LoadBalancer"}
        }))
        .unwrap();
        assert!(ingress_ip_in(&no_status, range()).is_err());
    }

    #[test]
    fn everything_the_service_shows_instead_is_listed() {
        let wrong = service(
            json!({"type": "LoadBalancer", "loadBalancerClass": "example.com/lb"}),
            json!({
                "loadBalancer": {"ingress": [
                    {"ip": "172.18.255.208"},
                    {"hostname": "gw.example.com"},
                    {"ip": "fd00::1"},
                    {"ip": "not-an-ip"}
                ]},
                "conditions": [{
                    "type": "LoadBalancerPending", "status": "True", "reason": "r",
                    "message": "pool exhausted", "lastTransitionTime": "2024-11-25T10:00:00Z"
                }]
            }),
        );
        let err = ingress_ip_in(&wrong, range()).unwrap_err();
        let ProbeError::NoIngressInRange { shows, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            shows,
            "type LoadBalancer, loadBalancerClass example.com/lb, ingress 172.18.255.208 (outside the range), ingress fd00::1 (outside the range), ingress hostname gw.example.com (not an IP), ingress ip `not-an-ip` (not an IP address), condition LoadBalancerPending=True (pool exhausted)"
        );
        assert_eq!(ingress(&wrong).hostnames, ["gw.example.com"]);
        assert_eq!(ingress(&wrong).invalid, ["not-an-ip"]);
    }

    #[test]
    fn a_service_of_another_type_is_named() {
        let cluster_ip = service(json!({"type": "ClusterIP"}), json!({}));
        let err = ingress_ip_in(&cluster_ip, range()).unwrap_err().to_string();
        assert!(
            err.contains("it shows type ClusterIP, which no load balancer serves, no status.loadBalancer.ingress yet"),
            "{err}"
        );
        let untyped = service(json!({}), json!({}));
        assert!(
            ingress_ip_in(&untyped, range())
                .unwrap_err()
                .to_string()
                .contains("type ClusterIP")
        );
    }
}
