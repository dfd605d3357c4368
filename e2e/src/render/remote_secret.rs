//! The remote secret that lets istiod in *other* clusters watch this one: the shape
//! `istioctl create-remote-secret` prints (reference: istio-multicluster.md §2, §3).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::namespaces::ISTIO_SYSTEM;
use crate::config::ClusterName;

/// The label istiod's secret informer selects on (`istio/multiCluster=true`).
pub const MULTICLUSTER_LABEL: &str = "istio/multiCluster";
/// Written by istioctl for people; istiod reads the data key instead.
pub const CLUSTER_ANNOTATION: &str = "networking.istio.io/cluster";

/// A Kubernetes API server address another cluster's istiod can reach: `https://` and not
/// loopback, since `127.0.0.1` from kind's default kubeconfig leaves the remote cluster
/// `syncing` forever (reference: pitfalls.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServerUrl(String);

impl ApiServerUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ApiServerUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix("https://").ok_or_else(|| {
            format!("API server `{s}` must start with https:// (istiod refuses other schemes)")
        })?;
        let authority = rest.split('/').next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        if host.is_empty() {
            return Err(format!("API server `{s}` has no host"));
        }
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Err(format!(
                "API server `{s}` is a loopback address, which istiod in another cluster cannot reach; use the control-plane container's address on the docker network (https://<container IP>:6443)"
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for ApiServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    /// (in the API server certificate's SANs: pitfalls.md §5), and marked CA and token that
    /// `up` replaces with the real ones.
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
/// sanitiser accepts (no exec, no file paths: reference: istio-multicluster.md §2).
pub fn kubeconfig(cluster: &ClusterName, access: &RemoteAccess) -> Kubeconfig {
    let name = cluster.to_string();
    Kubeconfig {
        api_version: "v1".into(),
        kind: "Config".into(),
        clusters: vec![NamedCluster {
            name: name.clone(),
            cluster: KubeClusterFields {
                server: access.server.to_string(),
                certificate_authority_data: base64(access.ca_pem.as_bytes()),
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
/// The data key is the cluster id istiod registers (it must equal that cluster's
/// `clusterName`: reference: istio-multicluster.md §2 "Cluster ID", pitfalls.md §9).
pub fn remote_secret(cluster: &ClusterName, access: &RemoteAccess) -> Secret {
    let kubeconfig = serde_yaml::to_string(&kubeconfig(cluster, access))
        .expect("a kubeconfig of strings always serializes");
    Secret {
        metadata: ObjectMeta {
            name: Some(format!("istio-remote-secret-{cluster}")),
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

/// Standard base64 with padding, as kubeconfig `*-data` fields hold.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn api_server_must_be_https_and_reachable_from_peers() {
        assert!("https://172.18.0.3:6443".parse::<ApiServerUrl>().is_ok());
        assert!("https://[fc00::3]:6443".parse::<ApiServerUrl>().is_ok());
        let err = "172.18.0.3:6443".parse::<ApiServerUrl>().unwrap_err();
        assert!(err.contains("must start with https://"), "{err}");
        for loopback in [
            "https://127.0.0.1:35171",
            "https://localhost:6443",
            "https://[::1]:6443",
        ] {
            let err = loopback.parse::<ApiServerUrl>().unwrap_err();
            assert!(err.contains("loopback"), "{loopback}: {err}");
        }
        assert!("https://:6443".parse::<ApiServerUrl>().is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let access = RemoteAccess::placeholder(&"c1".parse().unwrap());
        assert!(!format!("{access:?}").contains("token"));
    }
}
