//! The remote secret that lets istiod in *other* clusters watch this one: the shape
//! `istioctl create-remote-secret` prints
//! (istio/istio@1.24.1:istioctl/pkg/multicluster/remote_secret.go).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::config::ClusterName;
use crate::names::{self, CLUSTER_ANNOTATION, ISTIO_SYSTEM, MULTICLUSTER_LABEL};

/// A Kubernetes API server address another cluster's istiod can reach: `https://` and not
/// loopback, since `127.0.0.1` from kind's default kubeconfig leaves the remote cluster
/// `syncing` forever (istio/istio#58047; istioctl warns of it,
/// istio/istio@1.24.1:istioctl/pkg/multicluster/remote_secret.go).
///
/// Parsed by `url` (the WHATWG rules that HTTP clients apply), so every spelling of an
/// address is judged by what it resolves to: `https://127.1`, `https://0x7f.0.0.1` and
/// `https://LOCALHOST` are the loopback they look unlike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServerUrl(Url);

impl ApiServerUrl {
    /// The URL as a kubeconfig `server` holds it: no trailing `/`.
    pub fn as_str(&self) -> &str {
        let text = self.0.as_str();
        text.strip_suffix('/').unwrap_or(text)
    }
}

impl FromStr for ApiServerUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refuse = |why: &str| Err(format!("API server `{s}` {why}"));
        let url = match Url::parse(s) {
            Ok(url) => url,
            Err(e) => return refuse(&format!("is not a URL ({e})")),
        };
        if url.scheme() != "https" {
            return refuse("must start with https:// (istiod refuses other schemes)");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return refuse(
                "carries user credentials; the remote secret holds the token, the URL only the address",
            );
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return refuse("must be just https://host:port, without a path, query or fragment");
        }
        let Some(host) = url.host() else {
            return refuse("has no host");
        };
        if is_loopback(&host) {
            return refuse(
                "is a loopback address, which istiod in another cluster cannot reach; use the control-plane container's address on the docker network (https://<container IP>:6443)",
            );
        }
        if is_unspecified(&host) {
            return refuse(
                "is the unspecified address, which names no host; use the control-plane container's address on the docker network (https://<container IP>:6443)",
            );
        }
        Ok(Self(url))
    }
}

/// `localhost` and its subdomains (RFC 6761 §6.3), 127.0.0.0/8, `::1`, and IPv4-mapped
/// loopback (`::ffff:127.0.0.1`). `url` has already lowercased names and normalised
/// numeric spellings.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name == "localhost" || name.ends_with(".localhost")
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// `0.0.0.0` and `::` (and `::ffff:0.0.0.0`): listen-on-everything, not an address to dial.
fn is_unspecified(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(_) => false,
        Host::Ipv4(ip) => ip.is_unspecified(),
        Host::Ipv6(ip) => {
            ip.is_unspecified() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_unspecified())
        }
    }
}

impl fmt::Display for ApiServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a peer needs to read a cluster: where its API server is, the CA that signed it,
/// and a bearer token of the `istio-reader-service-account`.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteAccess {
    pub server: ApiServerUrl,
    pub ca_pem: String,
    pub token: String,
}

impl fmt::Debug for RemoteAccess {
    /// Never prints the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteAccess")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Marks every placeholder value so no one mistakes rendered output for a working secret.
pub const PLACEHOLDER: &str = "PLACEHOLDER";

impl RemoteAccess {
    /// Stand-in values for rendering without a cluster: kind's node name as the server
    /// (kubeadm puts it in the API server certificate's SANs, kubernetes-sigs/kind#1021),
    /// and a marked CA and token that `up` replaces with the real ones.
    pub fn placeholder(cluster: &ClusterName) -> Self {
        Self {
            server: format!("https://{cluster}-control-plane:6443")
                .parse()
                .expect("a DNS label makes a valid host"),
            ca_pem: format!(
                "-----BEGIN CERTIFICATE-----\n{PLACEHOLDER}-{cluster}-API-SERVER-CA\n-----END CERTIFICATE-----\n"
            ),
            token: format!("{PLACEHOLDER}-{cluster}-istio-reader-token"),
        }
    }
}

/// A kubeconfig (`clientcmd/api/v1` `Config`), just the fields a remote secret carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Kubeconfig {
    /// clientcmd's JSON name is `apiVersion`, unlike the kebab-case fields beside it.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub clusters: Vec<NamedCluster>,
    pub users: Vec<NamedUser>,
    pub contexts: Vec<NamedContext>,
    pub current_context: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedCluster {
    pub name: String,
    pub cluster: KubeClusterFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedUser {
    pub name: String,
    pub user: KubeUserFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedContext {
    pub name: String,
    pub context: KubeContextFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KubeClusterFields {
    pub server: String,
    /// Base64 of the CA's PEM.
    pub certificate_authority_data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeUserFields {
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeContextFields {
    pub cluster: String,
    pub user: String,
}

/// The kubeconfig istiod uses to watch `cluster`: an inline token and CA, which istiod's
/// sanitiser accepts (no exec, no file paths: istio/istio@1.24.1:pkg/kube/util.go
/// `NewUntrustedRestConfig`).
pub fn kubeconfig(cluster: &ClusterName, access: &RemoteAccess) -> Kubeconfig {
    let name = cluster.to_string();
    Kubeconfig {
        api_version: "v1".into(),
        kind: "Config".into(),
        clusters: vec![NamedCluster {
            name: name.clone(),
            cluster: KubeClusterFields {
                server: access.server.to_string(),
                certificate_authority_data: BASE64_STANDARD.encode(access.ca_pem.as_bytes()),
            },
        }],
        users: vec![NamedUser {
            name: name.clone(),
            user: KubeUserFields {
                token: access.token.clone(),
            },
        }],
        contexts: vec![NamedContext {
            name: name.clone(),
            context: KubeContextFields {
                cluster: name.clone(),
                user: name.clone(),
            },
        }],
        current_context: name,
    }
}

/// `istio-remote-secret-<cluster>`, applied in every *other* cluster's `istio-system`.
/// The data key is the cluster id istiod registers, which must equal that cluster's
/// `clusterName` (istio/istio@1.24.1:pkg/kube/multicluster/secretcontroller.go reads each
/// data key as a cluster id).
pub fn remote_secret(cluster: &ClusterName, access: &RemoteAccess) -> Secret {
    let kubeconfig = crate::yaml::to_string(&kubeconfig(cluster, access))
        .expect("a kubeconfig of strings always serializes");
    Secret {
        metadata: ObjectMeta {
            name: Some(names::remote_secret_name(cluster)),
            namespace: Some(ISTIO_SYSTEM.into()),
            labels: Some(BTreeMap::from([(
                MULTICLUSTER_LABEL.to_owned(),
                "true".to_owned(),
            )])),
            annotations: Some(BTreeMap::from([(
                CLUSTER_ANNOTATION.to_owned(),
                cluster.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            cluster.to_string(),
            ByteString(kubeconfig.into_bytes()),
        )])),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_standard_padded_base64() {
        let access = RemoteAccess {
            server: "https://172.18.0.3:6443".parse().unwrap(),
            ca_pem: "fooba".into(),
            token: "t".into(),
        };
        let config = kubeconfig(&"c1".parse().unwrap(), &access);
        assert_eq!(
            config.clusters[0].cluster.certificate_authority_data,
            "Zm9vYmE="
        );
    }

    fn refused(url: &str) -> String {
        url.parse::<ApiServerUrl>()
            .expect_err(&format!("{url} must be refused"))
    }

    #[test]
    fn api_server_must_be_https_and_reachable_from_peers() {
        for ok in [
            "https://172.18.0.3:6443",
            "https://[fc00::3]:6443",
            "https://cluster2-control-plane:6443/",
        ] {
            assert!(ok.parse::<ApiServerUrl>().is_ok(), "{ok}");
        }
        assert!(refused("172.18.0.3:6443").contains("is not a URL"));
        assert!(refused("http://172.18.0.3:6443").contains("must start with https://"));
        for loopback in [
            "https://127.0.0.1:35171",
            "https://localhost:6443",
            "https://[::1]:6443",
            // Spellings that a string comparison misses but every client resolves.
            "https://127.1:6443",
            "https://0x7f.0.0.1:6443",
            "https://2130706433:6443",
            "https://LOCALHOST:6443",
            "https://localhost.:6443",
            "https://api.localhost:6443",
            "https://[::ffff:127.0.0.1]:6443",
        ] {
            assert!(refused(loopback).contains("loopback"), "{loopback}");
        }
        for unspecified in [
            "https://0.0.0.0:6443",
            "https://[::]:6443",
            "https://0:6443",
        ] {
            assert!(
                refused(unspecified).contains("unspecified"),
                "{unspecified}"
            );
        }
        assert!(refused("https://user@127.0.0.1:6443").contains("credentials"));
        assert!(refused("https://user:pw@172.18.0.3:6443").contains("credentials"));
        for extra in [
            "https://172.18.0.3:6443/api",
            "https://172.18.0.3:6443/?x=1",
            "https://172.18.0.3:6443/#f",
        ] {
            assert!(refused(extra).contains("without a path"), "{extra}");
        }
        assert!("https://:6443".parse::<ApiServerUrl>().is_err());
    }

    #[test]
    fn the_server_is_written_without_a_trailing_slash() {
        let url: ApiServerUrl = "https://Cluster2-Control-Plane:6443/".parse().unwrap();
        assert_eq!(url.as_str(), "https://cluster2-control-plane:6443");
        assert_eq!(url.to_string(), url.as_str());
    }

    #[test]
    fn debug_hides_the_token() {
        let access = RemoteAccess::placeholder(&"c1".parse().unwrap());
        assert!(!format!("{access:?}").contains("token"));
    }
}
